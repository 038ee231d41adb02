/* SPDX-License-Identifier: MIT */
/*
 * image_layout.h - plane layout of linear DRM-fourcc images in one dma-buf.
 *
 * Shared by bufbrokerd (AllocateImage), libbufbroker (direct mode) and
 * bufbrokerctl.  Build image_layout.c with `$(PKG_CONFIG) --cflags libdrm`
 * (it includes libdrm's <drm_fourcc.h>); this header needs only -I$(TOP)/include.
 *
 * Rules (see docs/contracts.md, "Image layout"):
 * - Supported fourccs: NV12, NV21, NV16, NV61, YUV420, YVU420, YUV422,
 *   YUYV, YVYU, UYVY, VYUY, P010, RGB565, BGR565, RGB888, BGR888,
 *   XRGB8888, ARGB8888, XBGR8888, ABGR8888, RGBX8888, RGBA8888, BGRX8888,
 *   BGRA8888, XRGB2101010, ARGB2101010.  Anything else: -EOPNOTSUPP.
 * - Modifiers: DRM_FORMAT_MOD_LINEAR.  DRM_FORMAT_MOD_INVALID ("no explicit
 *   modifier", what V4L2 and legacy DRM users mean) is accepted and treated
 *   as linear; the result's modifier is then DRM_FORMAT_MOD_LINEAR.  Any
 *   other modifier: -EOPNOTSUPP.
 * - Width or height 0: -EINVAL.  A width not divisible by the format's
 *   horizontal subsampling (NV12, YUYV, ... need an even width) or a height
 *   not divisible by its vertical subsampling (4:2:0 formats need an even
 *   height): -EINVAL.
 * - Stride: the luma (first) plane's stride is width * bytes-per-pixel
 *   rounded up to the stride alignment.  Chroma strides are derived from
 *   it the way V4L2 single-buffer formats do (NV12: same stride as luma,
 *   YUV420: half of it), so a V4L2 driver given bytesperline = planes[0].stride
 *   finds every plane where we put it.  The alignment applies to the luma
 *   stride only: YUV420 chroma strides are half of it (32-byte aligned by
 *   default).
 * - Planes follow each other without padding: planes[i + 1].offset =
 *   planes[i].offset + planes[i].stride * planes[i].height.
 * - size is the end of the last plane rounded up to 4096 bytes.
 * - Every multiplication and addition is overflow-checked: -EOVERFLOW when
 *   a stride does not fit in 32 bits or the size in 64 bits.
 * Checks happen in this order: fourcc, modifier, alignment argument,
 * zero/odd dimensions, overflow.  On error *out is left unspecified.
 */
#ifndef BB_COMMON_IMAGE_LAYOUT_H
#define BB_COMMON_IMAGE_LAYOUT_H

#include <stdint.h>

#include <bufbroker/bufbroker-layout.h>

/**
 * BB_IMAGE_LAYOUT_STRIDE_ALIGN - default stride alignment in bytes.
 * 64 bytes suits DRM scanout and GPU import and equals the tight stride
 * for the usual widths (multiples of 32 or 64 pixels).  Use
 * bb_image_layout_compute_aligned() with 1 when a V4L2 driver computes
 * bytesperline itself (vivid: width * 2 for YUYV) for odd widths.
 */
#define BB_IMAGE_LAYOUT_STRIDE_ALIGN 64u
/** BB_IMAGE_LAYOUT_PAGE_SIZE - the total size is rounded up to this. */
#define BB_IMAGE_LAYOUT_PAGE_SIZE 4096u
/** BB_IMAGE_LAYOUT_MAX_ALIGN - largest accepted stride alignment. */
#define BB_IMAGE_LAYOUT_MAX_ALIGN 4096u

/**
 * bb_image_layout_compute() - layout with the default 64-byte stride alignment
 * @fourcc: DRM fourcc
 * @width: width in pixels, > 0
 * @height: height in pixels, > 0
 * @modifier: DRM_FORMAT_MOD_LINEAR or DRM_FORMAT_MOD_INVALID
 * @out: filled on success
 *
 * Return: 0, -EINVAL (zero or odd dims where subsampling forbids, NULL out),
 * -EOVERFLOW, -EOPNOTSUPP (fourcc/modifier).
 */
int bb_image_layout_compute(uint32_t fourcc, uint32_t width, uint32_t height, uint64_t modifier,
			    struct bb_image_layout *out);

/**
 * bb_image_layout_compute_aligned() - layout with an explicit stride alignment
 * @stride_align: power of two from 1 to BB_IMAGE_LAYOUT_MAX_ALIGN; 1 gives the
 *                tight stride (width * bytes per pixel)
 *
 * Other arguments and return values as bb_image_layout_compute(); a bad
 * @stride_align gives -EINVAL.
 */
int bb_image_layout_compute_aligned(uint32_t fourcc, uint32_t width, uint32_t height,
				    uint64_t modifier, uint32_t stride_align,
				    struct bb_image_layout *out);

/**
 * bb_fourcc_from_name() - parse a format name ("NV12", "XRGB8888", case
 * insensitive) or a 4-character code ("NV12" is both)
 * Return: 0 and *fourcc set, or -EINVAL for an unknown name.
 */
int bb_fourcc_from_name(const char *name, uint32_t *fourcc);

/**
 * bb_fourcc_name() - the name of a supported fourcc, e.g. "NV12"
 * Return: a static string, or NULL for an unsupported fourcc.
 */
const char *bb_fourcc_name(uint32_t fourcc);

#endif /* BB_COMMON_IMAGE_LAYOUT_H */
