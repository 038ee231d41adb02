// SPDX-License-Identifier: MIT
/*
 * test_policy.c - the bufbrokerd policy parser (daemon/policy.c): valid files, malformed and
 * hostile ones. Every error must carry file:line.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"

static char tmpdir[PATH_MAX];

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void write_str(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

/* Write @text to tmpdir/@name and return the path (static buffer). */
static const char *put(const char *name, const char *text)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	write_file(path, text, strlen(text));
	return path;
}

/* Load @text as a file; expect failure and an error that contains "file:LINE:" and @needle. */
static void expect_error(const char *text, int line, const char *needle)
{
	struct bb_policy p;
	char err[4096], where[2 * PATH_MAX + 200];
	const char *path = put("bad.conf", text);
	int r = bb_policy_load_file(path, &p, err, sizeof(err));

	if (r != -EINVAL)
		print_error("expected -EINVAL, got %d for:\n%s\n", r, text);
	assert_int_equal(r, -EINVAL);
	snprintf(where, sizeof(where), "%s:%d: ", path, line);
	if (!strstr(err, where) || !strstr(err, needle))
		print_error("wanted '%s' and '%s' in:\n%s\n", where, needle, err);
	assert_non_null(strstr(err, where));
	assert_non_null(strstr(err, needle));
}

static struct bb_policy load_ok(const char *text)
{
	struct bb_policy p;
	char err[4096];
	int r = bb_policy_load_file(put("good.conf", text), &p, err, sizeof(err));

	if (r)
		print_error("unexpected errors:\n%s\n", err);
	assert_int_equal(r, 0);
	return p;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_policy.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void valid_file_gives_roles_heaps_and_limits(void **state)
{
	struct bb_policy p;
	const struct bb_role *r;

	(void)state;
	p = load_ok("# comment\n"
		    "[client]\n"
		    "max-bytes = 128M   ; per client\n"
		    "[role camera]\n"
		    "heaps = camera, default_cma_region\n"
		    "allow-users = 0, 1000\n"
		    "allow-groups = 44\n"
		    "allow-units = camera-client.service\n"
		    "max-bytes = 64M\n"
		    "max-buffers = 16\n"
		    "max-buffer-size = 16M\n"
		    "share-with = video\n"
		    "[role video]\n"
		    "device = /dev/video0\n"
		    "heaps = video@7c000000, /soc/codec@1000\n"
		    "allow-users = *\n");
	assert_int_equal(p.n_roles, 2);
	assert_int_equal(p.client.max_bytes, 128ULL << 20);
	assert_int_equal(p.client.max_buffers, BB_UNLIMITED);
	r = bb_policy_find_role(&p, "camera");
	assert_non_null(r);
	assert_int_equal(r->line, 4);
	assert_int_equal(r->n_entries, 2);
	assert_string_equal(r->entries[0].value, "camera");
	assert_int_equal(r->entries[0].kind, BB_ENTRY_HEAP);
	assert_string_equal(r->entries[1].value, "default_cma_region");
	assert_int_equal(r->limits.max_bytes, 64ULL << 20);
	assert_int_equal(r->limits.max_buffers, 16);
	assert_int_equal(r->limits.max_buffer_size, 16ULL << 20);
	assert_true(bb_role_may_share_with(r, "video"));
	assert_false(bb_role_may_share_with(r, "camera"));

	r = bb_policy_find_role(&p, "video");
	assert_non_null(r);
	assert_int_equal(r->n_entries, 3);
	assert_int_equal(r->entries[0].kind, BB_ENTRY_V4L2); /* device first */
	assert_int_equal(r->entries[1].kind, BB_ENTRY_HEAP);
	assert_int_equal(r->entries[2].kind, BB_ENTRY_DT_NODE);
	assert_null(bb_policy_find_role(&p, "nope"));
	bb_policy_free(&p);
}

static void role_grants_by_uid_group_or_unit_only(void **state)
{
	struct bb_policy p;
	const struct bb_role *r;
	gid_t groups[] = { 5, 44 };

	(void)state;
	p = load_ok("[role a]\nheaps = x\nallow-users = 1000\nallow-groups = 44\nallow-units = a.service\n");
	r = bb_policy_find_role(&p, "a");
	assert_true(bb_role_allows(r, 1000, 1000, NULL, 0, NULL));
	assert_false(bb_role_allows(r, 1001, 1001, NULL, 0, NULL));
	assert_true(bb_role_allows(r, 1001, 44, NULL, 0, NULL));        /* primary group */
	assert_true(bb_role_allows(r, 1001, 1001, groups, 2, NULL));    /* supplementary group */
	assert_true(bb_role_allows(r, 1001, 1001, NULL, 0, "a.service"));
	assert_false(bb_role_allows(r, 1001, 1001, NULL, 0, "b.service"));
	bb_policy_free(&p);
}

static void sizes_parse_with_binary_suffixes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(bb_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(bb_parse_size("16K", &v), 0);
	assert_int_equal(v, 16384);
	assert_int_equal(bb_parse_size("64M", &v), 0);
	assert_int_equal(v, 64ULL << 20);
	assert_int_equal(bb_parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(bb_parse_size("2t", &v), 0);
	assert_int_equal(v, 2ULL << 40);
	assert_int_equal(bb_parse_size("16777215T", &v), 0);
	assert_int_equal(bb_parse_size("16777216T", &v), -ERANGE);
	assert_int_equal(bb_parse_size("18446744073709551615", &v), 0);
	assert_int_equal(bb_parse_size("18446744073709551616", &v), -ERANGE);
	assert_int_equal(bb_parse_size("99999999999999999999G", &v), -ERANGE);
	assert_int_equal(bb_parse_size("0", &v), -EINVAL);
	assert_int_equal(bb_parse_size("-1", &v), -EINVAL);
	assert_int_equal(bb_parse_size("1.5M", &v), -EINVAL);
	assert_int_equal(bb_parse_size("12X", &v), -EINVAL);
	assert_int_equal(bb_parse_size("", &v), -EINVAL);
	assert_int_equal(bb_parse_size("M", &v), -EINVAL);
	assert_int_equal(bb_parse_size("1MM", &v), -EINVAL);
}

static void overflowing_size_is_reported_at_its_line(void **state)
{
	(void)state;
	expect_error("[role a]\nheaps = x\nallow-users = 0\nmax-bytes = 99999999999999999999G\n", 4,
		     "too large");
	expect_error("[client]\nmax-buffer-size = 18446744073709551616\n", 2, "too large");
}

static void bad_sizes_and_counts_are_reported(void **state)
{
	(void)state;
	expect_error("[role a]\nheaps = x\nmax-bytes = lots\n", 3, "is not a size");
	expect_error("[role a]\nheaps = x\nmax-buffer-size = 0\n", 3, "is not a size");
	expect_error("[role a]\nheaps = x\nmax-buffers = 0\n", 3, "is not a count");
	expect_error("[role a]\nheaps = x\nmax-buffers = 16M\n", 3, "is not a count");
	expect_error("[client]\nmax-buffers = 4294967296\n", 2, "is not a count");
}

static void reserve_key_parses_count_and_size(void **state)
{
	struct bb_policy p;
	const struct bb_role *r;

	(void)state;
	p = load_ok("[role a]\nheaps = x\nallow-users = 0\nreserve = 4 x 8M\n"
		    "[role b]\nheaps = x\nallow-users = 0\nreserve = 2x5000\n"
		    "[role c]\nheaps = x\nallow-users = 0\n");
	r = bb_policy_find_role(&p, "a");
	assert_non_null(r);
	assert_int_equal(r->reserve_count, 4);
	assert_int_equal(r->reserve_size, 8 << 20);
	r = bb_policy_find_role(&p, "b");
	assert_int_equal(r->reserve_count, 2);
	assert_int_equal(r->reserve_size, 8192); /* rounded up to 4 KiB */
	r = bb_policy_find_role(&p, "c");
	assert_int_equal(r->reserve_count, 0);
	bb_policy_free(&p);
	expect_error("[role a]\nheaps = x\nreserve = 8M\n", 3, "write 'reserve = N x SIZE'");
	expect_error("[role a]\nheaps = x\nreserve = 0 x 8M\n", 3, "write 'reserve = N x SIZE'");
	expect_error("[role a]\nheaps = x\nreserve = 65 x 8M\n", 3, "with N from 1 to 64");
	expect_error("[role a]\nheaps = x\nreserve = 4 x lots\n", 3, "is not a size");
	expect_error("[role a]\nheaps = x\nreserve = 4 x 8M extra\n", 3, "write 'reserve = N x SIZE'");
	expect_error("[client]\nreserve = 4 x 8M\n", 2, "unknown key 'reserve' in [client]");
}

static void missing_and_unknown_sections_are_reported(void **state)
{
	(void)state;
	expect_error("heaps = x\n", 1, "outside any section");
	expect_error("[roles a]\nheaps = x\n", 1, "unknown section [roles a]");
	expect_error("\n[role]\nheaps = x\n", 2, "needs a name");
	expect_error("[role a b]\nheaps = x\n", 1, "is not valid");
	expect_error("[role this-name-is-far-too-long]\nheaps = x\n", 1, "is not valid");
	expect_error("[role a\nheaps = x\n", 1, "no closing ']'");
	expect_error("[role a]\nallow-users = 0\n", 1, "has no heaps");
}

static void unknown_keys_and_junk_lines_are_reported(void **state)
{
	(void)state;
	expect_error("[role a]\nheaps = x\nheap = y\n", 3, "unknown key 'heap'");
	expect_error("[client]\nheaps = y\n", 2, "unknown key 'heaps' in [client]");
	expect_error("[role a]\nheaps = x\njust some words\n", 3, "expected 'key = value'");
	expect_error("[role a]\nheaps = x\n= value\n", 3, "key name is missing");
	expect_error("[role a]\nheaps = x\nallow-users =\n", 3, "is empty");
	expect_error("[role a]\nheaps = x,,y\n", 2, "empty entry");
	expect_error("[role a]\nheaps = x,\n", 2, "empty entry");
}

static void duplicate_roles_and_keys_are_reported_with_both_places(void **state)
{
	(void)state;
	expect_error("[role a]\nheaps = x\n\n[role a]\nheaps = y\n", 4, "already defined at");
	expect_error("[role a]\nheaps = x\nheaps = y\n", 3, "already set for role 'a' on line 2");
	expect_error("[client]\nmax-bytes = 1M\nmax-bytes = 2M\n", 3, "already set on line 2");
	expect_error("[role a]\nheaps = x, x\n", 2, "listed twice");
}

static void bad_heap_device_user_and_unit_values_are_reported(void **state)
{
	(void)state;
	expect_error("[role a]\nheaps = ../../etc/passwd\n", 2, "is not a heap name");
	expect_error("[role a]\nheaps = /soc/../x\n", 2, "not a device-tree node path");
	expect_error("[role a]\ndevice = /dev/sda\n", 2, "is not a V4L2 device");
	expect_error("[role a]\ndevice = camera\n", 2, "is a heap name");
	expect_error("[role a]\nheaps = x\nallow-users = root;rm\n", 3, "is not a user name");
	expect_error("[role a]\nheaps = x\nallow-users = 4294967295\n", 3, "out of range");
	expect_error("[role a]\nheaps = x\nallow-units = sshd\n", 3, "is not a systemd unit name");
	expect_error("[role a]\nheaps = x\nshare-with = b\n", 3, "role 'b', which is not defined");
}

static void hostile_bytes_are_refused_without_crashing(void **state)
{
	static const char nul[] = "[role a]\nheaps = x\x00y\n";
	char longline[1024];
	struct bb_policy p;
	char err[4096], where[2 * PATH_MAX + 200];
	char path[PATH_MAX + 32];

	(void)state;
	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	write_file(path, nul, sizeof(nul) - 1);
	assert_int_equal(bb_policy_load_file(path, &p, err, sizeof(err)), -EINVAL);
	snprintf(where, sizeof(where), "%s:2: ", path);
	assert_non_null(strstr(err, where));
	assert_non_null(strstr(err, "NUL"));

	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "[role a]\nheaps = ", 17);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	expect_error(longline, 2, "longer than");

	/* A tiny error buffer truncates but stays a C string. */
	put("small.conf", "x = 1\ny = 2\n");
	snprintf(path, sizeof(path), "%s/small.conf", tmpdir);
	assert_int_equal(bb_policy_load_file(path, &p, err, 8), -EINVAL);
	assert_true(strlen(err) < 8);
	/* And none at all is fine too. */
	assert_int_equal(bb_policy_load_file(path, &p, NULL, 0), -EINVAL);
}

static void all_errors_are_reported_not_just_the_first(void **state)
{
	struct bb_policy p;
	char err[4096];
	char where[2 * PATH_MAX + 200];
	const char *path = put("many.conf", "[role a]\nheaps = x\nbogus = 1\nmax-bytes = huge\n");

	(void)state;
	assert_int_equal(bb_policy_load_file(path, &p, err, sizeof(err)), -EINVAL);
	snprintf(where, sizeof(where), "%s:3: ", path);
	assert_non_null(strstr(err, where));
	snprintf(where, sizeof(where), "%s:4: ", path);
	assert_non_null(strstr(err, where));
}

static void missing_file_is_an_error_naming_it(void **state)
{
	struct bb_policy p;
	char err[512];

	(void)state;
	assert_int_equal(bb_policy_load_file("/nonexistent/policy.conf", &p, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/policy.conf"));
}

static void unknown_user_is_a_warning_that_matches_nobody(void **state)
{
	struct bb_policy p;
	const struct bb_role *r;

	(void)state;
	p = load_ok("[role a]\nheaps = x\nallow-users = no-such-user-bb\n");
	assert_non_null(p.warnings);
	assert_non_null(strstr(p.warnings, ":3: warning: user 'no-such-user-bb'"));
	r = bb_policy_find_role(&p, "a");
	assert_false(bb_role_allows(r, 0, 0, NULL, 0, NULL));
	bb_policy_free(&p);
}

static void dropins_load_in_byte_order_and_override_client_limits(void **state)
{
	char main_path[PATH_MAX + 32], dir[PATH_MAX + 32], path[PATH_MAX + 64];
	struct bb_policy p;
	char err[4096];

	(void)state;
	snprintf(main_path, sizeof(main_path), "%s/main.conf", tmpdir);
	snprintf(dir, sizeof(dir), "%s/policy.d", tmpdir);
	mkdir(dir, 0755);
	write_str(main_path, "[client]\nmax-bytes = 1M\n[role a]\nheaps = x\nallow-users = 0\n");
	snprintf(path, sizeof(path), "%s/20-b.conf", dir);
	write_str(path, "[client]\nmax-bytes = 3M\n[role b]\nheaps = y\nallow-users = 0\n");
	snprintf(path, sizeof(path), "%s/10-a.conf", dir);
	write_str(path, "[client]\nmax-bytes = 2M\n[role c]\nheaps = z\nallow-users = 0\nshare-with = b\n");
	snprintf(path, sizeof(path), "%s/ignored.txt", dir);
	write_str(path, "garbage");
	snprintf(path, sizeof(path), "%s/.hidden.conf", dir);
	write_str(path, "garbage");

	assert_int_equal(bb_policy_load(main_path, dir, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n_files, 3);
	assert_non_null(strstr(p.files[1], "10-a.conf"));
	assert_non_null(strstr(p.files[2], "20-b.conf"));
	assert_int_equal(p.n_roles, 3);
	assert_string_equal(p.roles[0].name, "a");
	assert_string_equal(p.roles[1].name, "c"); /* 10-a before 20-b */
	assert_string_equal(p.roles[2].name, "b");
	assert_int_equal(p.client.max_bytes, 3ULL << 20); /* the last file wins */
	bb_policy_free(&p);

	/* A role defined twice across files names both places. */
	snprintf(path, sizeof(path), "%s/30-dup.conf", dir);
	write_str(path, "\n[role a]\nheaps = x\n");
	assert_int_equal(bb_policy_load(main_path, dir, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "30-dup.conf:2: role 'a' is already defined at"));
	assert_non_null(strstr(err, "main.conf:3"));
	unlink(path);

	/* A missing drop-in directory is fine. */
	assert_int_equal(bb_policy_load(main_path, "/nonexistent.d", &p, err, sizeof(err)), 0);
	bb_policy_free(&p);
}

static void shipped_qemu_board_policy_is_valid(void **state)
{
	struct bb_policy p;
	char err[4096];
	const struct bb_role *cam;

	(void)state;
	int r = bb_policy_load_file(BB_TOP "/daemon/policy/qemu-board.conf", &p, err, sizeof(err));

	if (r)
		print_error("%s\n", err);
	assert_int_equal(r, 0);
	cam = bb_policy_find_role(&p, "camera");
	assert_non_null(cam);
	assert_true(cam->n_entries >= 2);
	assert_non_null(bb_policy_find_role(&p, "video"));
	bb_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_file_gives_roles_heaps_and_limits),
		cmocka_unit_test(role_grants_by_uid_group_or_unit_only),
		cmocka_unit_test(sizes_parse_with_binary_suffixes),
		cmocka_unit_test(overflowing_size_is_reported_at_its_line),
		cmocka_unit_test(bad_sizes_and_counts_are_reported),
		cmocka_unit_test(reserve_key_parses_count_and_size),
		cmocka_unit_test(missing_and_unknown_sections_are_reported),
		cmocka_unit_test(unknown_keys_and_junk_lines_are_reported),
		cmocka_unit_test(duplicate_roles_and_keys_are_reported_with_both_places),
		cmocka_unit_test(bad_heap_device_user_and_unit_values_are_reported),
		cmocka_unit_test(hostile_bytes_are_refused_without_crashing),
		cmocka_unit_test(all_errors_are_reported_not_just_the_first),
		cmocka_unit_test(missing_file_is_an_error_naming_it),
		cmocka_unit_test(unknown_user_is_a_warning_that_matches_nobody),
		cmocka_unit_test(dropins_load_in_byte_order_and_override_client_limits),
		cmocka_unit_test(shipped_qemu_board_policy_is_valid),
	};

	return cmocka_run_group_tests_name("policy", tests, setup, teardown);
}
