// SPDX-License-Identifier: MIT
/*
 * test_names.c - heap-name resolution (common/heap_names.c) and the sysfs
 * statistics reader (common/heap_stats.c) against a temporary tree that
 * mimics /dev/dma_heap and /sys/kernel/bufbroker/regions.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "heap_names.h"
#include "heap_stats.h"

struct tree {
	char root[PATH_MAX / 2];
	char heaps[PATH_MAX];
	char stats[PATH_MAX];
};

static void write_file(const char *dir, const char *rel, const char *content)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static void add_node(struct tree *t, const char *name)
{
	write_file(t->heaps, name, "");
}

static void add_region(struct tree *t, const char *region, const char *heaps, const char *aliases,
		       int is_default)
{
	char dir[PATH_MAX * 2];

	snprintf(dir, sizeof(dir), "%s/%s", t->stats, region);
	assert_int_equal(mkdir(dir, 0755), 0);
	write_file(dir, "heaps", heaps);
	write_file(dir, "aliases", aliases);
	write_file(dir, "default", is_default ? "1\n" : "0\n");
	write_file(dir, "size", "16777216\n");
	write_file(dir, "bytes_allocated", "4096\n");
	write_file(dir, "buffers_allocated", "1\n");
	write_file(dir, "peak_bytes", "8192\n");
	write_file(dir, "failures", "3\n");
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->root, sizeof(t->root), "%s/bb-names-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(t->root))
		return -1;
	snprintf(t->heaps, sizeof(t->heaps), "%s/dma_heap", t->root);
	snprintf(t->stats, sizeof(t->stats), "%s/regions", t->root);
	if (mkdir(t->heaps, 0755) || mkdir(t->stats, 0755))
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

static const char *resolve(struct tree *t, const char *name, int expect)
{
	static char out[BB_HEAP_NAME_MAX];

	out[0] = '\0';
	assert_int_equal(bb_heap_resolve(t->heaps, t->stats, name, out, sizeof(out)), expect);
	return out;
}

static void exact_name_wins(void **state)
{
	struct tree *t = *state;

	add_node(t, "camera@7c000000");
	add_node(t, "default_cma_region");
	assert_string_equal(resolve(t, "camera@7c000000", 0), "camera@7c000000");
	assert_string_equal(resolve(t, "default_cma_region", 0), "default_cma_region");
}

static void alias_resolves_to_primary_node(void **state)
{
	struct tree *t = *state;

	/* the alias node itself is missing (e.g. udev not done): use the primary */
	add_node(t, "camera@7c000000");
	add_region(t, "camera@7c000000", "camera@7c000000\ncamera\n", "camera\n", 0);
	assert_string_equal(resolve(t, "camera", 0), "camera@7c000000");
	/* a region's directory name resolves too */
	add_node(t, "video-cma");
	add_region(t, "vregion", "video-cma\n", "", 0);
	assert_string_equal(resolve(t, "vregion", 0), "video-cma");
}

static void alias_of_region_without_nodes_is_enoent(void **state)
{
	struct tree *t = *state;

	add_region(t, "ghost@0", "ghost@0\n", "ghost\n", 0);
	add_node(t, "default_cma_region");
	resolve(t, "ghost", -ENOENT);
}

static void specific_unknown_name_never_falls_back_to_default(void **state)
{
	struct tree *t = *state;

	add_node(t, "default_cma_region");
	add_node(t, "linux,cma");
	resolve(t, "camera", -ENOENT);
	resolve(t, "video-cma", -ENOENT);
}

static void default_request_prefers_mainline_name(void **state)
{
	struct tree *t = *state;

	add_node(t, "default_cma_region");
	add_node(t, "reserved");
	assert_string_equal(resolve(t, NULL, 0), "default_cma_region");
	assert_string_equal(resolve(t, "", 0), "default_cma_region");
	assert_string_equal(resolve(t, "default", 0), "default_cma_region");
}

static void legacy_linux_cma_maps_to_mainline_default(void **state)
{
	struct tree *t = *state;

	/* a 6.17+ kernel: only the new name exists; old apps probe linux,cma */
	add_node(t, "default_cma_region");
	assert_string_equal(resolve(t, "linux,cma", 0), "default_cma_region");
	assert_string_equal(resolve(t, "default-pool", 0), "default_cma_region");
}

static void default_region_from_stats_before_legacy_names(void **state)
{
	struct tree *t = *state;

	add_node(t, "reserved");
	add_node(t, "cma-pool@80000000");
	add_region(t, "cma-pool@80000000", "cma-pool@80000000\n", "", 1);
	assert_string_equal(resolve(t, NULL, 0), "cma-pool@80000000");
}

static void legacy_names_in_order(void **state)
{
	struct tree *t = *state;

	add_node(t, "default-pool");
	assert_string_equal(resolve(t, "default", 0), "default-pool");
	add_node(t, "reserved");
	assert_string_equal(resolve(t, "default", 0), "reserved");
	add_node(t, "linux,cma");
	assert_string_equal(resolve(t, "default", 0), "linux,cma");
	/* asking for one legacy name returns that node when it exists */
	assert_string_equal(resolve(t, "reserved", 0), "reserved");
}

static void nothing_at_all_is_enoent(void **state)
{
	struct tree *t = *state;

	resolve(t, NULL, -ENOENT);
	resolve(t, "linux,cma", -ENOENT);
}

static void missing_stats_dir_still_resolves(void **state)
{
	struct tree *t = *state;
	char out[BB_HEAP_NAME_MAX];

	add_node(t, "default_cma_region");
	assert_int_equal(bb_heap_resolve(t->heaps, "/nonexistent/bb-stats", "linux,cma", out,
					 sizeof(out)), 0);
	assert_string_equal(out, "default_cma_region");
	assert_int_equal(bb_heap_resolve(t->heaps, NULL, NULL, out, sizeof(out)), 0);
}

static void invalid_names_are_einval(void **state)
{
	struct tree *t = *state;
	char longname[BB_HEAP_NAME_MAX + 1];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	resolve(t, "../etc", -EINVAL);
	resolve(t, "a/b", -EINVAL);
	resolve(t, ".", -EINVAL);
	resolve(t, "..", -EINVAL);
	resolve(t, longname, -EINVAL);
	assert_false(bb_heap_name_valid(NULL));
	assert_true(bb_heap_name_valid("camera@7c000000"));
}

static void directories_are_not_heaps(void **state)
{
	struct tree *t = *state;
	char dir[PATH_MAX * 2];

	snprintf(dir, sizeof(dir), "%s/camera", t->heaps);
	assert_int_equal(mkdir(dir, 0755), 0);
	resolve(t, "camera", -ENOENT);
}

static void small_output_is_erange(void **state)
{
	struct tree *t = *state;
	char out[4];

	add_node(t, "default_cma_region");
	assert_int_equal(bb_heap_resolve(t->heaps, t->stats, NULL, out, sizeof(out)), -ERANGE);
}

static void missing_heap_dir_is_enoent(void **state)
{
	struct tree *t = *state;
	char out[BB_HEAP_NAME_MAX];

	(void)t;
	assert_int_equal(bb_heap_resolve("/nonexistent/dma_heap", NULL, "x", out, sizeof(out)),
			 -ENOENT);
}

static void open_returns_cloexec_fd_and_name(void **state)
{
	struct tree *t = *state;
	char name[BB_HEAP_NAME_MAX];
	int fd;

	add_node(t, "camera@7c000000");
	add_region(t, "camera@7c000000", "camera@7c000000\n", "camera\n", 0);
	fd = bb_heap_open(t->heaps, t->stats, "camera", name, sizeof(name));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_string_equal(name, "camera@7c000000");
	close(fd);
	assert_int_equal(bb_heap_open(t->heaps, t->stats, "nope", NULL, 0), -ENOENT);
}

static void stats_are_read(void **state)
{
	struct tree *t = *state;
	struct bb_region_stats rs;

	add_region(t, "camera@7c000000", "camera@7c000000\ncamera\n", "camera\n", 0);
	assert_int_equal(bb_region_stats_read(t->stats, "camera@7c000000", &rs), 0);
	assert_string_equal(rs.name, "camera@7c000000");
	assert_int_equal(rs.n_heaps, 2);
	assert_string_equal(rs.heaps[0], "camera@7c000000");
	assert_string_equal(rs.heaps[1], "camera");
	assert_int_equal(rs.n_aliases, 1);
	assert_false(rs.is_default);
	assert_int_equal(rs.size, 16777216);
	assert_int_equal(rs.bytes_allocated, 4096);
	assert_int_equal(rs.buffers_allocated, 1);
	assert_int_equal(rs.peak_bytes, 8192);
	assert_int_equal(rs.failures, 3);
	assert_true(bb_region_stats_has_name(&rs, "camera"));
	assert_false(bb_region_stats_has_name(&rs, "video"));
	assert_int_equal(bb_region_stats_read(t->stats, "nope", &rs), -ENOENT);
	assert_int_equal(bb_region_stats_read(t->stats, "../x", &rs), -EINVAL);
}

static void stats_optional_files_read_as_zero(void **state)
{
	struct tree *t = *state;
	struct bb_region_stats rs;
	char dir[PATH_MAX * 2];

	snprintf(dir, sizeof(dir), "%s/minimal", t->stats);
	assert_int_equal(mkdir(dir, 0755), 0);
	write_file(dir, "heaps", "minimal\n");
	write_file(dir, "size", "4096");
	assert_int_equal(bb_region_stats_read(t->stats, "minimal", &rs), 0);
	assert_int_equal(rs.n_aliases, 0);
	assert_int_equal(rs.failures, 0);
	/* size is required */
	unlink(strcat(dir, "/size"));
	assert_int_equal(bb_region_stats_read(t->stats, "minimal", &rs), -ENOENT);
}

static void stats_garbage_is_einval(void **state)
{
	struct tree *t = *state;
	struct bb_region_stats rs;
	char dir[PATH_MAX * 2];

	add_region(t, "bad", "bad\n", "", 0);
	snprintf(dir, sizeof(dir), "%s/bad", t->stats);
	write_file(dir, "size", "12abc\n");
	assert_int_equal(bb_region_stats_read(t->stats, "bad", &rs), -EINVAL);
	write_file(dir, "size", "-1\n");
	assert_int_equal(bb_region_stats_read(t->stats, "bad", &rs), -EINVAL);
	write_file(dir, "size", "99999999999999999999999\n");
	assert_int_equal(bb_region_stats_read(t->stats, "bad", &rs), -EINVAL);
}

static void stats_too_many_names_is_e2big(void **state)
{
	struct tree *t = *state;
	struct bb_region_stats rs;
	char names[BB_REGION_MAX_NAMES * 8 + 16] = "";

	for (int i = 0; i <= BB_REGION_MAX_NAMES; i++)
		sprintf(names + strlen(names), "h%d\n", i);
	add_region(t, "many", names, "", 0);
	assert_int_equal(bb_region_stats_read(t->stats, "many", &rs), -E2BIG);
}

static void stats_read_all_sorted(void **state)
{
	struct tree *t = *state;
	struct bb_region_stats *list;
	size_t n;

	assert_int_equal(bb_region_stats_read_all(t->stats, &list, &n), 0);
	assert_int_equal(n, 0);
	assert_null(list);
	add_region(t, "zeta", "zeta\n", "", 0);
	add_region(t, "alpha", "alpha\n", "", 1);
	write_file(t->stats, "stray-file", "x");
	assert_int_equal(bb_region_stats_read_all(t->stats, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "alpha");
	assert_true(list[0].is_default);
	assert_string_equal(list[1].name, "zeta");
	free(list);
	assert_int_equal(bb_region_stats_read_all("/nonexistent/bb", &list, &n), -ENOENT);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(exact_name_wins),
		T(alias_resolves_to_primary_node),
		T(alias_of_region_without_nodes_is_enoent),
		T(specific_unknown_name_never_falls_back_to_default),
		T(default_request_prefers_mainline_name),
		T(legacy_linux_cma_maps_to_mainline_default),
		T(default_region_from_stats_before_legacy_names),
		T(legacy_names_in_order),
		T(nothing_at_all_is_enoent),
		T(missing_stats_dir_still_resolves),
		T(invalid_names_are_einval),
		T(directories_are_not_heaps),
		T(small_output_is_erange),
		T(missing_heap_dir_is_enoent),
		T(open_returns_cloexec_fd_and_name),
		T(stats_are_read),
		T(stats_optional_files_read_as_zero),
		T(stats_garbage_is_einval),
		T(stats_too_many_names_is_e2big),
		T(stats_read_all_sorted),
	};

	return cmocka_run_group_tests_name("heap_names", tests, NULL, NULL);
}
