/* SPDX-License-Identifier: MIT */
/*
 * bufbroker-layout.h - image layout structures shared by libbufbroker,
 * bufbrokerd and common/image_layout.c.
 *
 * These structures are part of the libbufbroker ABI (BUFBROKER_1): never
 * reorder or resize them.  They are fixed by docs/contracts.md.
 */
#ifndef BUFBROKER_LAYOUT_H
#define BUFBROKER_LAYOUT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Maximum number of planes of one image (DRM allows 4). */
#define BB_MAX_PLANES 4

/**
 * struct bb_plane_layout - one plane inside a single dma-buf
 * @offset: byte offset of the plane's first row from the start of the buffer
 * @stride: bytes from one row to the next (V4L2 bytesperline, DRM pitch)
 * @height: number of rows of this plane (the image height divided by the
 *          vertical subsampling for chroma planes)
 */
struct bb_plane_layout {
	uint64_t offset;
	uint32_t stride;
	uint32_t height;
};

/**
 * struct bb_image_layout - layout of an image stored in one dma-buf
 * @fourcc: DRM fourcc (DRM_FORMAT_* from libdrm's drm_fourcc.h)
 * @width: width in pixels
 * @height: height in pixels
 * @modifier: DRM format modifier actually used (always DRM_FORMAT_MOD_LINEAR)
 * @size: total bytes to allocate, rounded up to BB_IMAGE_LAYOUT_PAGE_SIZE
 * @n_planes: number of valid entries in @planes
 * @planes: per-plane offset, stride and height; planes are contiguous
 */
struct bb_image_layout {
	uint32_t fourcc, width, height;
	uint64_t modifier;
	uint64_t size;
	unsigned int n_planes;
	struct bb_plane_layout planes[BB_MAX_PLANES];
};

#ifdef __cplusplus
}
#endif

#endif /* BUFBROKER_LAYOUT_H */
