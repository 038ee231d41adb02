// SPDX-License-Identifier: MIT
/*
 * image_layout.c - plane layout of linear DRM-fourcc images.
 * See image_layout.h for the rules.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <strings.h>

#include <drm_fourcc.h>

#include "image_layout.h"

/*
 * One supported format.  cpp[] is bytes per pixel of each plane counted
 * in that plane's own (subsampled) pixels; for packed 4:2:2 (YUYV) it is 2
 * bytes per image pixel and hsub = 2 only forbids odd widths.
 */
struct format_info {
	const char *name;
	uint32_t fourcc;
	uint8_t n_planes;
	uint8_t cpp[3];
	uint8_t hsub, vsub;
};

static const struct format_info formats[] = {
	/* 4:2:0 semi-planar and planar */
	{ "NV12", DRM_FORMAT_NV12, 2, { 1, 2, 0 }, 2, 2 },
	{ "NV21", DRM_FORMAT_NV21, 2, { 1, 2, 0 }, 2, 2 },
	{ "P010", DRM_FORMAT_P010, 2, { 2, 4, 0 }, 2, 2 },
	{ "YUV420", DRM_FORMAT_YUV420, 3, { 1, 1, 1 }, 2, 2 },
	{ "YVU420", DRM_FORMAT_YVU420, 3, { 1, 1, 1 }, 2, 2 },
	/* 4:2:2 semi-planar and planar */
	{ "NV16", DRM_FORMAT_NV16, 2, { 1, 2, 0 }, 2, 1 },
	{ "NV61", DRM_FORMAT_NV61, 2, { 1, 2, 0 }, 2, 1 },
	{ "YUV422", DRM_FORMAT_YUV422, 3, { 1, 1, 1 }, 2, 1 },
	/* packed 4:2:2 */
	{ "YUYV", DRM_FORMAT_YUYV, 1, { 2, 0, 0 }, 2, 1 },
	{ "YVYU", DRM_FORMAT_YVYU, 1, { 2, 0, 0 }, 2, 1 },
	{ "UYVY", DRM_FORMAT_UYVY, 1, { 2, 0, 0 }, 2, 1 },
	{ "VYUY", DRM_FORMAT_VYUY, 1, { 2, 0, 0 }, 2, 1 },
	/* RGB */
	{ "RGB565", DRM_FORMAT_RGB565, 1, { 2, 0, 0 }, 1, 1 },
	{ "BGR565", DRM_FORMAT_BGR565, 1, { 2, 0, 0 }, 1, 1 },
	{ "RGB888", DRM_FORMAT_RGB888, 1, { 3, 0, 0 }, 1, 1 },
	{ "BGR888", DRM_FORMAT_BGR888, 1, { 3, 0, 0 }, 1, 1 },
	{ "XRGB8888", DRM_FORMAT_XRGB8888, 1, { 4, 0, 0 }, 1, 1 },
	{ "ARGB8888", DRM_FORMAT_ARGB8888, 1, { 4, 0, 0 }, 1, 1 },
	{ "XBGR8888", DRM_FORMAT_XBGR8888, 1, { 4, 0, 0 }, 1, 1 },
	{ "ABGR8888", DRM_FORMAT_ABGR8888, 1, { 4, 0, 0 }, 1, 1 },
	{ "RGBX8888", DRM_FORMAT_RGBX8888, 1, { 4, 0, 0 }, 1, 1 },
	{ "RGBA8888", DRM_FORMAT_RGBA8888, 1, { 4, 0, 0 }, 1, 1 },
	{ "BGRX8888", DRM_FORMAT_BGRX8888, 1, { 4, 0, 0 }, 1, 1 },
	{ "BGRA8888", DRM_FORMAT_BGRA8888, 1, { 4, 0, 0 }, 1, 1 },
	{ "XRGB2101010", DRM_FORMAT_XRGB2101010, 1, { 4, 0, 0 }, 1, 1 },
	{ "ARGB2101010", DRM_FORMAT_ARGB2101010, 1, { 4, 0, 0 }, 1, 1 },
};

/* Other spellings accepted by bb_fourcc_from_name(). */
static const struct {
	const char *name;
	uint32_t fourcc;
} format_aliases[] = {
	{ "I420", DRM_FORMAT_YUV420 }, { "YU12", DRM_FORMAT_YUV420 },
	{ "YV12", DRM_FORMAT_YVU420 }, { "YUY2", DRM_FORMAT_YUYV },
};

static const struct format_info *format_lookup(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].fourcc == fourcc)
			return &formats[i];
	return NULL;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* Round v up to a multiple of align (a power of two) without overflow. */
static int align_up_u32(uint32_t v, uint32_t align, uint32_t *out)
{
	uint32_t t;

	if (__builtin_add_overflow(v, align - 1, &t))
		return -EOVERFLOW;
	*out = t & ~(align - 1);
	return 0;
}

static int align_up_u64(uint64_t v, uint64_t align, uint64_t *out)
{
	uint64_t t;

	if (__builtin_add_overflow(v, align - 1, &t))
		return -EOVERFLOW;
	*out = t & ~(align - 1);
	return 0;
}

int bb_image_layout_compute_aligned(uint32_t fourcc, uint32_t width, uint32_t height,
				    uint64_t modifier, uint32_t stride_align,
				    struct bb_image_layout *out)
{
	const struct format_info *fi = format_lookup(fourcc);
	uint32_t luma_align, row0, stride0;
	uint64_t offset = 0;
	int r;

	if (!fi)
		return -EOPNOTSUPP;
	if (modifier != DRM_FORMAT_MOD_LINEAR && modifier != DRM_FORMAT_MOD_INVALID)
		return -EOPNOTSUPP;
	if (!out || !is_pow2(stride_align) || stride_align > BB_IMAGE_LAYOUT_MAX_ALIGN)
		return -EINVAL;
	if (width == 0 || height == 0 || width % fi->hsub || height % fi->vsub)
		return -EINVAL;

	/* Chroma strides are derived from the luma stride, which must divide
	 * exactly: planar 4:2:x formats need an even luma stride. */
	luma_align = stride_align;
	if (fi->n_planes > 1 && luma_align < 2)
		luma_align = 2;
	if (__builtin_mul_overflow(width, (uint32_t)fi->cpp[0], &row0))
		return -EOVERFLOW;
	r = align_up_u32(row0, luma_align, &stride0);
	if (r < 0)
		return r;

	*out = (struct bb_image_layout){
		.fourcc = fourcc,
		.width = width,
		.height = height,
		.modifier = DRM_FORMAT_MOD_LINEAR,
		.n_planes = fi->n_planes,
	};
	for (unsigned int i = 0; i < fi->n_planes; i++) {
		struct bb_plane_layout *p = &out->planes[i];
		uint64_t stride, plane_size;

		if (i == 0) {
			stride = stride0;
			p->height = height;
		} else {
			uint32_t div = (uint32_t)fi->cpp[0] * fi->hsub;

			/* stride0 * cpp fits: stride0 < 2^32, cpp < 2^8 */
			stride = (uint64_t)stride0 * fi->cpp[i];
			if (stride % div)
				return -EINVAL; /* cannot happen with the table above */
			stride /= div;
			p->height = height / fi->vsub;
		}
		if (stride > UINT32_MAX)
			return -EOVERFLOW;
		p->stride = (uint32_t)stride;
		p->offset = offset;
		if (__builtin_mul_overflow(stride, (uint64_t)p->height, &plane_size))
			return -EOVERFLOW;
		if (__builtin_add_overflow(offset, plane_size, &offset))
			return -EOVERFLOW;
	}
	return align_up_u64(offset, BB_IMAGE_LAYOUT_PAGE_SIZE, &out->size);
}

int bb_image_layout_compute(uint32_t fourcc, uint32_t width, uint32_t height, uint64_t modifier,
			    struct bb_image_layout *out)
{
	return bb_image_layout_compute_aligned(fourcc, width, height, modifier,
					       BB_IMAGE_LAYOUT_STRIDE_ALIGN, out);
}

int bb_fourcc_from_name(const char *name, uint32_t *fourcc)
{
	if (!name || !fourcc)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (!strcasecmp(formats[i].name, name)) {
			*fourcc = formats[i].fourcc;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(format_aliases) / sizeof(format_aliases[0]); i++) {
		if (!strcasecmp(format_aliases[i].name, name)) {
			*fourcc = format_aliases[i].fourcc;
			return 0;
		}
	}
	/* A raw 4-character code of a supported format, e.g. "XR24". */
	if (name[0] && name[1] && name[2] && name[3] && !name[4]) {
		uint32_t code = fourcc_code(name[0], name[1], name[2], name[3]);

		if (format_lookup(code)) {
			*fourcc = code;
			return 0;
		}
	}
	return -EINVAL;
}

const char *bb_fourcc_name(uint32_t fourcc)
{
	const struct format_info *fi = format_lookup(fourcc);

	return fi ? fi->name : NULL;
}
