// SPDX-License-Identifier: MIT
/* test_layout.c - common/image_layout.c: exact sizes, invariants, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <drm_fourcc.h>

#include "image_layout.h"

#define LIN DRM_FORMAT_MOD_LINEAR

static struct bb_image_layout layout_ok(uint32_t fourcc, uint32_t w, uint32_t h, uint32_t align)
{
	struct bb_image_layout l;

	assert_int_equal(bb_image_layout_compute_aligned(fourcc, w, h, LIN, align, &l), 0);
	return l;
}

static uint64_t layout_end(const struct bb_image_layout *l)
{
	const struct bb_plane_layout *p = &l->planes[l->n_planes - 1];

	return p->offset + (uint64_t)p->stride * p->height;
}

static void nv12_1280x720_is_1382400_bytes_rounded_to_pages(void **state)
{
	struct bb_image_layout l;

	(void)state;
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_NV12, 1280, 720, LIN, &l), 0);
	assert_int_equal(l.n_planes, 2);
	assert_int_equal(l.planes[0].offset, 0);
	assert_int_equal(l.planes[0].stride, 1280);
	assert_int_equal(l.planes[0].height, 720);
	assert_int_equal(l.planes[1].offset, 1280 * 720);
	assert_int_equal(l.planes[1].stride, 1280);
	assert_int_equal(l.planes[1].height, 360);
	assert_int_equal(layout_end(&l), 1382400);     /* 1280 * 720 * 3 / 2 */
	assert_int_equal(l.size, 338 * 4096);          /* 1382400 / 4096 = 337.5 */
	assert_int_equal(l.fourcc, DRM_FORMAT_NV12);
	assert_int_equal(l.width, 1280);
	assert_int_equal(l.height, 720);
	assert_true(l.modifier == LIN);
}

static void nv12_1920x1080(void **state)
{
	struct bb_image_layout l = layout_ok(DRM_FORMAT_NV12, 1920, 1080, 64);

	(void)state;
	assert_int_equal(l.planes[1].offset, 2073600);
	assert_int_equal(layout_end(&l), 3110400);
	assert_int_equal(l.size, 760 * 4096);
}

static void nv21_matches_nv12(void **state)
{
	struct bb_image_layout a = layout_ok(DRM_FORMAT_NV12, 640, 480, 64);
	struct bb_image_layout b = layout_ok(DRM_FORMAT_NV21, 640, 480, 64);

	(void)state;
	assert_int_equal(a.size, b.size);
	assert_memory_equal(a.planes, b.planes, sizeof(a.planes));
}

static void nv16_has_full_height_chroma(void **state)
{
	struct bb_image_layout l = layout_ok(DRM_FORMAT_NV16, 1280, 720, 64);

	(void)state;
	assert_int_equal(l.planes[1].height, 720);
	assert_int_equal(l.planes[1].stride, 1280);
	assert_int_equal(layout_end(&l), 1843200); /* 1280 * 720 * 2 */
	assert_int_equal(l.size, 1843200);         /* exactly 450 pages */
	/* 4:2:2: odd height is fine, odd width is not */
	layout_ok(DRM_FORMAT_NV16, 1280, 721, 64);
}

static void yuyv_640x480_tight_and_v4l2_stride(void **state)
{
	struct bb_image_layout l = layout_ok(DRM_FORMAT_YUYV, 640, 480, 64);

	(void)state;
	assert_int_equal(l.n_planes, 1);
	assert_int_equal(l.planes[0].stride, 1280);
	assert_int_equal(l.size, 614400);
	/* 642 wide: 1284 bytes per line; 64-byte alignment pads, alignment 1
	 * gives what vivid computes (width * 2) */
	l = layout_ok(DRM_FORMAT_YUYV, 642, 480, 64);
	assert_int_equal(l.planes[0].stride, 1344);
	l = layout_ok(DRM_FORMAT_YUYV, 642, 480, 1);
	assert_int_equal(l.planes[0].stride, 1284);
}

static void uyvy_1920x1080(void **state)
{
	struct bb_image_layout l = layout_ok(DRM_FORMAT_UYVY, 1920, 1080, 64);

	(void)state;
	assert_int_equal(l.planes[0].stride, 3840);
	assert_int_equal(layout_end(&l), 4147200);
	assert_int_equal(l.size, 1013 * 4096);
}

static void rgb_formats(void **state)
{
	struct bb_image_layout l;

	(void)state;
	l = layout_ok(DRM_FORMAT_XRGB8888, 1920, 1080, 64);
	assert_int_equal(l.planes[0].stride, 7680);
	assert_int_equal(l.size, 8294400);
	l = layout_ok(DRM_FORMAT_ARGB8888, 1, 1, 64);
	assert_int_equal(l.planes[0].stride, 64);
	assert_int_equal(l.size, 4096);
	l = layout_ok(DRM_FORMAT_ARGB8888, 1, 1, 1);
	assert_int_equal(l.planes[0].stride, 4);
	l = layout_ok(DRM_FORMAT_RGB565, 100, 100, 64);
	assert_int_equal(l.planes[0].stride, 256);
	assert_int_equal(l.size, 7 * 4096); /* 25600 bytes */
	l = layout_ok(DRM_FORMAT_RGB565, 100, 100, 1);
	assert_int_equal(l.planes[0].stride, 200);
	l = layout_ok(DRM_FORMAT_ABGR8888, 33, 7, 64);
	assert_int_equal(l.planes[0].stride, 192);
	l = layout_ok(DRM_FORMAT_XBGR8888, 33, 7, 1);
	assert_int_equal(l.planes[0].stride, 132);
}

static void p010_uses_16_bit_samples(void **state)
{
	struct bb_image_layout l = layout_ok(DRM_FORMAT_P010, 1280, 720, 64);

	(void)state;
	assert_int_equal(l.planes[0].stride, 2560);
	assert_int_equal(l.planes[1].offset, 1843200);
	assert_int_equal(l.planes[1].stride, 2560);
	assert_int_equal(l.planes[1].height, 360);
	assert_int_equal(l.size, 2764800); /* 675 pages */
}

static void yuv420_has_three_planes_with_half_strides(void **state)
{
	struct bb_image_layout l = layout_ok(DRM_FORMAT_YUV420, 320, 240, 64);

	(void)state;
	assert_int_equal(l.n_planes, 3);
	assert_int_equal(l.planes[0].stride, 320);
	assert_int_equal(l.planes[1].stride, 160);
	assert_int_equal(l.planes[2].stride, 160);
	assert_int_equal(l.planes[1].offset, 76800);
	assert_int_equal(l.planes[2].offset, 76800 + 19200);
	assert_int_equal(layout_end(&l), 115200);
	assert_int_equal(l.size, 29 * 4096);
	/* a 100-wide line pads the luma to 128, chroma gets 64 */
	l = layout_ok(DRM_FORMAT_YVU420, 100, 2, 64);
	assert_int_equal(l.planes[0].stride, 128);
	assert_int_equal(l.planes[1].stride, 64);
}

/* Invariants over every supported format and a few sizes and alignments. */
static void every_format_keeps_invariants(void **state)
{
	static const char *const names[] = {
		"NV12", "NV21", "NV16", "NV61", "YUV420", "YVU420", "YUV422", "YUYV", "YVYU",
		"UYVY", "VYUY", "P010", "RGB565", "BGR565", "RGB888", "BGR888", "XRGB8888",
		"ARGB8888", "XBGR8888", "ABGR8888", "RGBX8888", "RGBA8888", "BGRX8888",
		"BGRA8888", "XRGB2101010", "ARGB2101010",
	};
	static const uint32_t dims[][2] = { { 2, 2 }, { 640, 480 }, { 1366, 768 }, { 4096, 2160 } };
	static const uint32_t aligns[] = { 1, 64, 256 };

	(void)state;
	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		uint32_t fourcc;

		assert_int_equal(bb_fourcc_from_name(names[f], &fourcc), 0);
		assert_string_equal(bb_fourcc_name(fourcc), names[f]);
		for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++) {
			for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
				struct bb_image_layout l = layout_ok(fourcc, dims[d][0], dims[d][1],
								     aligns[a]);

				assert_in_range(l.n_planes, 1, 3);
				assert_int_equal(l.planes[0].offset, 0);
				assert_int_equal(l.planes[0].stride % aligns[a], 0);
				assert_true(l.planes[0].stride >= dims[d][0]);
				assert_int_equal(l.planes[0].height, dims[d][1]);
				for (unsigned int i = 1; i < l.n_planes; i++)
					assert_int_equal(l.planes[i].offset,
							 l.planes[i - 1].offset +
							 (uint64_t)l.planes[i - 1].stride *
							 l.planes[i - 1].height);
				assert_int_equal(l.size % 4096, 0);
				assert_true(l.size >= layout_end(&l));
				assert_true(l.size - layout_end(&l) < 4096);
			}
		}
	}
}

static void zero_and_odd_dimensions_are_einval(void **state)
{
	struct bb_image_layout l;

	(void)state;
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_XRGB8888, 0, 10, LIN, &l), -EINVAL);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_XRGB8888, 10, 0, LIN, &l), -EINVAL);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_NV12, 1281, 720, LIN, &l), -EINVAL);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_NV12, 1280, 721, LIN, &l), -EINVAL);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_YUV420, 3, 2, LIN, &l), -EINVAL);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_P010, 2, 3, LIN, &l), -EINVAL);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_YUYV, 641, 480, LIN, &l), -EINVAL);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_UYVY, 1, 1, LIN, &l), -EINVAL);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_NV16, 1281, 720, LIN, &l), -EINVAL);
	/* odd sizes are fine for RGB */
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_RGB565, 1, 1, LIN, &l), 0);
	/* the oddness check wins over overflow */
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_NV12, 0xFFFFFFFF, 0xFFFFFFFF, LIN, &l),
			 -EINVAL);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_NV12, 640, 480, LIN, NULL), -EINVAL);
}

static void huge_dimensions_are_eoverflow(void **state)
{
	struct bb_image_layout l;

	(void)state;
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_XRGB8888, 0xFFFFFFFF, 0xFFFFFFFF, LIN,
						 &l), -EOVERFLOW);
	/* width * 4 = 2^32 */
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_XRGB8888, 0x40000000, 1, LIN, &l),
			 -EOVERFLOW);
	/* width * 2 fits, rounding up to 64 does not */
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_RGB565, 0x7FFFFFFF, 1, LIN, &l),
			 -EOVERFLOW);
	assert_int_equal(bb_image_layout_compute_aligned(DRM_FORMAT_RGB565, 0x7FFFFFFF, 1, LIN, 1,
							 &l), 0);
	assert_int_equal(l.planes[0].stride, 0xFFFFFFFE);
	/* largest stride that still fits */
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_XRGB8888, 0x3FFFFFF0, 1, LIN, &l), 0);
	assert_int_equal(l.planes[0].stride, 0xFFFFFFC0);
	/* the luma plane fits in 64 bits, luma + chroma does not */
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_P010, 0x7FFFFFE0, 0xFFFFFFFE, LIN, &l),
			 -EOVERFLOW);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_YUYV, 0xFFFFFFFE, 0xFFFFFFFF, LIN, &l),
			 -EOVERFLOW);
}

static void unsupported_fourcc_and_modifier_are_eopnotsupp(void **state)
{
	struct bb_image_layout l;

	(void)state;
	assert_int_equal(bb_image_layout_compute(fourcc_code('A', 'B', 'C', 'D'), 64, 64, LIN, &l),
			 -EOPNOTSUPP);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_C8, 64, 64, LIN, &l), -EOPNOTSUPP);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_NV12, 64, 64,
						 I915_FORMAT_MOD_X_TILED, &l), -EOPNOTSUPP);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_NV12, 64, 64,
						 DRM_FORMAT_MOD_BROADCOM_VC4_T_TILED, &l),
			 -EOPNOTSUPP);
	/* the fourcc is checked before the dimensions */
	assert_int_equal(bb_image_layout_compute(0, 0, 0, LIN, &l), -EOPNOTSUPP);
}

static void invalid_modifier_means_linear(void **state)
{
	struct bb_image_layout l;

	(void)state;
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_NV12, 64, 64, DRM_FORMAT_MOD_INVALID,
						 &l), 0);
	assert_true(l.modifier == DRM_FORMAT_MOD_LINEAR);
}

static void bad_alignment_is_einval(void **state)
{
	struct bb_image_layout l;

	(void)state;
	assert_int_equal(bb_image_layout_compute_aligned(DRM_FORMAT_NV12, 64, 64, LIN, 0, &l),
			 -EINVAL);
	assert_int_equal(bb_image_layout_compute_aligned(DRM_FORMAT_NV12, 64, 64, LIN, 48, &l),
			 -EINVAL);
	assert_int_equal(bb_image_layout_compute_aligned(DRM_FORMAT_NV12, 64, 64, LIN, 8192, &l),
			 -EINVAL);
	assert_int_equal(bb_image_layout_compute_aligned(DRM_FORMAT_NV12, 64, 64, LIN, 4096, &l),
			 0);
	assert_int_equal(l.planes[0].stride, 4096);
}

static void fourcc_names_parse(void **state)
{
	uint32_t f;

	(void)state;
	assert_int_equal(bb_fourcc_from_name("nv12", &f), 0);
	assert_int_equal(f, DRM_FORMAT_NV12);
	assert_int_equal(bb_fourcc_from_name("XR24", &f), 0);
	assert_int_equal(f, DRM_FORMAT_XRGB8888);
	assert_int_equal(bb_fourcc_from_name("I420", &f), 0);
	assert_int_equal(f, DRM_FORMAT_YUV420);
	assert_int_equal(bb_fourcc_from_name("YV12", &f), 0);
	assert_int_equal(f, DRM_FORMAT_YVU420);
	assert_int_equal(bb_fourcc_from_name("C8  ", &f), -EINVAL); /* real code, unsupported */
	assert_int_equal(bb_fourcc_from_name("FOO", &f), -EINVAL);
	assert_int_equal(bb_fourcc_from_name("", &f), -EINVAL);
	assert_null(bb_fourcc_name(DRM_FORMAT_C8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nv12_1280x720_is_1382400_bytes_rounded_to_pages),
		cmocka_unit_test(nv12_1920x1080),
		cmocka_unit_test(nv21_matches_nv12),
		cmocka_unit_test(nv16_has_full_height_chroma),
		cmocka_unit_test(yuyv_640x480_tight_and_v4l2_stride),
		cmocka_unit_test(uyvy_1920x1080),
		cmocka_unit_test(rgb_formats),
		cmocka_unit_test(p010_uses_16_bit_samples),
		cmocka_unit_test(yuv420_has_three_planes_with_half_strides),
		cmocka_unit_test(every_format_keeps_invariants),
		cmocka_unit_test(zero_and_odd_dimensions_are_einval),
		cmocka_unit_test(huge_dimensions_are_eoverflow),
		cmocka_unit_test(unsupported_fourcc_and_modifier_are_eopnotsupp),
		cmocka_unit_test(invalid_modifier_means_linear),
		cmocka_unit_test(bad_alignment_is_einval),
		cmocka_unit_test(fourcc_names_parse),
	};

	return cmocka_run_group_tests_name("image_layout", tests, NULL, NULL);
}
