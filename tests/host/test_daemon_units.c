// SPDX-License-Identifier: MIT
/*
 * test_daemon_units.c - bufbrokerd logic that needs no bus and no kernel: quotas, the buffer
 * table's accounting, share tokens, the errno <-> D-Bus error mapping, DT memory-region lookup
 * (on a directory tree laid out like /sys/firmware/devicetree/base) and heap discovery.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "buffers.h"
#include "dbus_errors.h"
#include "heaps.h"
#include "quota.h"
#include "roles.h"
#include "share.h"

static const struct bb_limits unlimited = { BB_UNLIMITED, BB_UNLIMITED, BB_UNLIMITED };

/* ---- quotas ---- */

static void quota_allows_up_to_the_limit_and_refuses_one_more(void **state)
{
	struct bb_limits role = { .max_bytes = 64 << 20, .max_buffers = 2, .max_buffer_size = 16 << 20 };
	char why[256];

	(void)state;
	assert_int_equal(bb_quota_check("cam", &role, (struct bb_usage){ 0, 0 }, &unlimited,
				       (struct bb_usage){ 0, 0 }, 16 << 20, why, sizeof(why)), 0);
	/* single buffer too large */
	assert_int_equal(bb_quota_check("cam", &role, (struct bb_usage){ 0, 0 }, &unlimited,
				       (struct bb_usage){ 0, 0 }, (16 << 20) + 4096, why, sizeof(why)), -EDQUOT);
	assert_non_null(strstr(why, "max-buffer-size"));
	assert_non_null(strstr(why, "[role cam]"));
	/* bytes: exactly full is fine, one page more is not */
	assert_int_equal(bb_quota_check("cam", &role, (struct bb_usage){ 48 << 20, 1 }, &unlimited,
				       (struct bb_usage){ 0, 0 }, 16 << 20, why, sizeof(why)), 0);
	assert_int_equal(bb_quota_check("cam", &role, (struct bb_usage){ (48 << 20) + 4096, 1 }, &unlimited,
				       (struct bb_usage){ 0, 0 }, 16 << 20, why, sizeof(why)), -EDQUOT);
	assert_non_null(strstr(why, "max-bytes"));
	/* count */
	assert_int_equal(bb_quota_check("cam", &role, (struct bb_usage){ 4096, 2 }, &unlimited,
				       (struct bb_usage){ 0, 0 }, 4096, why, sizeof(why)), -EDQUOT);
	assert_non_null(strstr(why, "max-buffers"));
}

static void client_quota_applies_after_role_quota(void **state)
{
	struct bb_limits client = { .max_bytes = 1 << 20, .max_buffers = BB_UNLIMITED,
				    .max_buffer_size = BB_UNLIMITED };
	char why[256];

	(void)state;
	assert_int_equal(bb_quota_check("cam", &unlimited, (struct bb_usage){ 0, 0 }, &client,
				       (struct bb_usage){ 1 << 19, 1 }, 1 << 19, why, sizeof(why)), 0);
	assert_int_equal(bb_quota_check("cam", &unlimited, (struct bb_usage){ 0, 0 }, &client,
				       (struct bb_usage){ 1 << 19, 1 }, (1 << 19) + 1, why, sizeof(why)), -EDQUOT);
	assert_non_null(strstr(why, "[client]"));
}

static void quota_sums_that_overflow_are_refused(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(bb_quota_check("cam", &unlimited, (struct bb_usage){ UINT64_MAX - 10, 1 }, &unlimited,
				       (struct bb_usage){ 0, 0 }, 4096, why, sizeof(why)), -EOVERFLOW);
	assert_int_equal(bb_quota_check("cam", &unlimited, (struct bb_usage){ 0, 0 }, &unlimited,
				       (struct bb_usage){ UINT64_MAX, 1 }, 1, why, sizeof(why)), -EOVERFLOW);
}

/* ---- buffer table ---- */

static void buffer_table_charges_owners_not_importers_and_drops_per_client(void **state)
{
	struct bb_buffers t;
	struct bb_client *a = (struct bb_client *)0x1, *b = (struct bb_client *)0x2;
	struct bb_buffer *x, *y, *imp;
	struct bb_usage u;
	uint64_t x_id;
	int fds[2];

	(void)state;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	bb_buffers_init(&t);
	x = bb_buffers_add(&t, a, "cam", "camera", "", 4096, fds[0], false, 0);
	y = bb_buffers_add(&t, a, "vid", "video", "n", 8192, fds[1], false, 0);
	imp = bb_buffers_add(&t, b, "vid", "camera", "", 4096, -1, true, x->id);
	assert_non_null(x);
	assert_non_null(y);
	assert_non_null(imp);
	assert_true(x->id != y->id && y->id != imp->id);
	u = bb_buffers_usage(&t, a, NULL);
	assert_int_equal(u.bytes, 12288);
	assert_int_equal(u.buffers, 2);
	u = bb_buffers_usage(&t, b, NULL);
	assert_int_equal(u.bytes, 0); /* importers are not charged */
	u = bb_buffers_usage(&t, NULL, "vid");
	assert_int_equal(u.bytes, 8192);
	assert_ptr_equal(bb_buffers_find(&t, y->id), y);

	/* the owner dies: its buffers go, their fds are closed, the importer's entry stays */
	x_id = x->id;
	assert_int_equal(bb_buffers_remove_client(&t, a), 2);
	assert_int_equal(fcntl(fds[0], F_GETFD), -1);
	assert_int_equal(fcntl(fds[1], F_GETFD), -1);
	u = bb_buffers_usage(&t, a, NULL);
	assert_int_equal(u.bytes, 0);
	assert_int_equal(u.buffers, 0);
	assert_int_equal(t.n, 1);
	assert_null(bb_buffers_find(&t, x_id));
	assert_ptr_equal(bb_buffers_find(&t, imp->id), imp);

	/* ids are never reused */
	x = bb_buffers_add(&t, a, "cam", "camera", "", 4096, -1, false, 0);
	assert_true(x->id > imp->id);
	bb_buffers_clear(&t);
	assert_int_equal(t.n, 0);
	assert_null(t.head);
}

/* ---- tokens ---- */

static void share_targets_parse_and_reject_garbage(void **state)
{
	struct bb_share_target t;

	(void)state;
	assert_int_equal(bb_share_parse_target("role:video", &t), 0);
	assert_int_equal(t.scope, BB_SCOPE_ROLE);
	assert_string_equal(t.role, "video");
	assert_int_equal(bb_share_parse_target("uid:1000", &t), 0);
	assert_int_equal(t.scope, BB_SCOPE_UID);
	assert_int_equal(t.uid, 1000);
	assert_int_equal(bb_share_parse_target(":1.42", &t), 0);
	assert_int_equal(t.scope, BB_SCOPE_PEER);
	assert_string_equal(t.peer, ":1.42");
	assert_int_equal(bb_share_parse_target("role:", &t), -EINVAL);
	assert_int_equal(bb_share_parse_target("role:a b", &t), -EINVAL);
	assert_int_equal(bb_share_parse_target("uid:", &t), -EINVAL);
	assert_int_equal(bb_share_parse_target("uid:-1", &t), -EINVAL);
	assert_int_equal(bb_share_parse_target("uid:4294967295", &t), -EINVAL);
	assert_int_equal(bb_share_parse_target("uid:99999999999", &t), -EINVAL);
	assert_int_equal(bb_share_parse_target("org.example.Name", &t), -EINVAL);
	assert_int_equal(bb_share_parse_target(":", &t), -EINVAL);
	assert_int_equal(bb_share_parse_target("", &t), -EINVAL);
}

static void tokens_are_random_single_use_and_expire(void **state)
{
	struct bb_tokens t = { 0 };
	struct bb_share_target tgt;
	struct bb_token *a, *b, *f;
	const struct bb_client *issuer = (const struct bb_client *)0x10;
	char copy[BB_TOKEN_HEX + 1];

	(void)state;
	assert_int_equal(bb_share_parse_target("role:video", &tgt), 0);
	assert_int_equal(bb_tokens_issue(&t, issuer, 7, &tgt, 1000, &a), 0);
	assert_int_equal(bb_tokens_issue(&t, issuer, 7, &tgt, 1000, &b), 0);
	assert_int_equal(strlen(a->hex), 32); /* 128 bits */
	assert_true(bb_token_syntax_valid(a->hex));
	assert_string_not_equal(a->hex, b->hex);

	/* found, then removed by the caller: a second use fails */
	strcpy(copy, a->hex);
	f = bb_tokens_find(&t, copy, 2000);
	assert_ptr_equal(f, a);
	assert_int_equal(f->buffer_id, 7);
	bb_tokens_remove(&t, f);
	assert_null(bb_tokens_find(&t, copy, 2000));

	/* one character off is not found */
	strcpy(copy, b->hex);
	copy[31] = copy[31] == '0' ? '1' : '0';
	assert_null(bb_tokens_find(&t, copy, 2000));
	assert_false(bb_token_syntax_valid("ABCDEF0123456789abcdef0123456789"));
	assert_false(bb_token_syntax_valid("abc"));

	/* expiry */
	strcpy(copy, b->hex);
	assert_non_null(bb_tokens_find(&t, copy, 1000 + BB_TOKEN_LIFETIME_USEC - 1));
	assert_null(bb_tokens_find(&t, copy, 1000 + BB_TOKEN_LIFETIME_USEC));
	assert_null(t.head);
	bb_tokens_clear(&t);
}

static void tokens_per_client_are_limited_and_dropped_with_the_client(void **state)
{
	struct bb_tokens t = { 0 };
	struct bb_share_target tgt;
	struct bb_token *tok;
	const struct bb_client *c1 = (const struct bb_client *)0x10, *c2 = (const struct bb_client *)0x20;

	(void)state;
	assert_int_equal(bb_share_parse_target("uid:5", &tgt), 0);
	for (int i = 0; i < BB_TOKENS_PER_CLIENT; i++)
		assert_int_equal(bb_tokens_issue(&t, c1, 1, &tgt, 0, &tok), 0);
	assert_int_equal(bb_tokens_issue(&t, c1, 1, &tgt, 0, &tok), -EDQUOT);
	assert_int_equal(bb_tokens_issue(&t, c2, 2, &tgt, 0, &tok), 0);
	bb_tokens_remove_matching(&t, c1, 0);
	assert_ptr_equal(t.head, tok);
	assert_null(t.head->next);
	bb_tokens_remove_matching(&t, NULL, 2); /* by buffer id */
	assert_null(t.head);
}

/* ---- error mapping ---- */

static void every_errno_maps_to_its_named_error_and_back(void **state)
{
	static const struct {
		int err;
		const char *name;
	} want[] = {
		{ EACCES, "org.bufbroker.Error.AccessDenied" },
		{ EDQUOT, "org.bufbroker.Error.QuotaExceeded" },
		{ ENOENT, "org.bufbroker.Error.NoSuchRole" },
		{ ENODEV, "org.bufbroker.Error.NoSuchHeap" },
		{ ENOMEM, "org.bufbroker.Error.RegionFull" },
		{ EINVAL, "org.bufbroker.Error.InvalidArgument" },
		{ ESRCH, "org.bufbroker.Error.NoSuchBuffer" },
		{ EBADMSG, "org.bufbroker.Error.InvalidToken" },
		{ EOPNOTSUPP, "org.bufbroker.Error.NotSupported" },
	};

	(void)state;
	assert_int_equal(sd_bus_error_add_map(bb_dbus_error_map), 1);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		sd_bus_error e = SD_BUS_ERROR_NULL;

		assert_int_equal(bb_error_set(&e, want[i].err, "value %d is wrong; use %d", 1, 2), -want[i].err);
		assert_string_equal(e.name, want[i].name);
		assert_string_equal(e.message, "value 1 is wrong; use 2");
		/* sd-bus maps the name back to the same errno (what a client sees) */
		assert_int_equal(sd_bus_error_get_errno(&e), want[i].err);
		assert_int_equal(bb_error_to_errno(e.name), want[i].err);
		sd_bus_error_free(&e);
	}
}

static void errno_without_a_named_error_becomes_failed(void **state)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;

	(void)state;
	assert_int_equal(bb_error_set(&e, EIO, "io"), -EIO);
	assert_string_equal(e.name, SD_BUS_ERROR_FAILED);
	sd_bus_error_free(&e);
}

/* ---- DT memory-region lookup ---- */

static char dt[PATH_MAX];

static void mkpath(const char *rel)
{
	char p[PATH_MAX + 256], *s;

	snprintf(p, sizeof(p), "%s/%s", dt, rel);
	for (s = p + strlen(dt) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void prop(const char *rel, const void *data, size_t len)
{
	char p[PATH_MAX + 256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dt, rel);
	f = fopen(p, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static int dt_setup(void **state)
{
	static const unsigned char ph1[4] = { 0, 0, 0, 0x21 }, ph2[4] = { 0, 0, 0, 0x22 };
	char link[PATH_MAX + 256], target[PATH_MAX + 256];

	(void)state;
	snprintf(dt, sizeof(dt), "/tmp/test_daemon_dt.XXXXXX");
	assert_non_null(mkdtemp(dt));
	/* like /sys/firmware/devicetree/base */
	mkpath("base/reserved-memory/camera@78000000");
	mkpath("base/reserved-memory/video@7c000000");
	mkpath("base/reserved-memory/linux,cma");
	prop("base/reserved-memory/camera@78000000/phandle", ph1, 4);
	prop("base/reserved-memory/video@7c000000/phandle", ph2, 4);
	mkpath("base/camera-sensor");
	prop("base/camera-sensor/memory-region", ph1, 4);
	mkpath("base/soc/codec@1000");
	prop("base/soc/codec@1000/memory-region", ph2, 4);
	mkpath("base/soc/nomem@2000");
	mkpath("base/soc/dangling@3000");
	prop("base/soc/dangling@3000/memory-region", (const unsigned char[4]){ 0, 0, 0, 0x99 }, 4);
	/* like /sys/class/video4linux/video0/device/of_node -> a DT node */
	mkpath("class/video0/device");
	snprintf(link, sizeof(link), "%s/class/video0/device/of_node", dt);
	snprintf(target, sizeof(target), "%s/base/soc/codec@1000", dt);
	assert_int_equal(symlink(target, link), 0);
	return 0;
}

static int dt_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dt);
	return system(cmd) == 0 ? 0 : -1;
}

static int resolve(enum bb_entry_kind kind, const char *value, char *out)
{
	char base[PATH_MAX + 8], cls[PATH_MAX + 8];
	struct bb_sysfs_paths paths = { .dt_base = base, .v4l2_class = cls };
	struct bb_heap_entry e = { .kind = kind, .value = (char *)value };

	snprintf(base, sizeof(base), "%s/base", dt);
	snprintf(cls, sizeof(cls), "%s/class", dt);
	return bb_role_resolve_entry(&e, &paths, out, 64);
}

static void dt_device_resolves_through_memory_region_to_the_region_name(void **state)
{
	char heap[64];

	(void)state;
	assert_int_equal(resolve(BB_ENTRY_DT_NODE, "/camera-sensor", heap), 0);
	assert_string_equal(heap, "camera@78000000");
	assert_int_equal(resolve(BB_ENTRY_DT_NODE, "/soc/codec@1000", heap), 0);
	assert_string_equal(heap, "video@7c000000");
	assert_int_equal(resolve(BB_ENTRY_V4L2, "/dev/video0", heap), 0);
	assert_string_equal(heap, "video@7c000000");
	/* a reserved-memory node names itself */
	assert_int_equal(resolve(BB_ENTRY_DT_NODE, "/reserved-memory/linux,cma", heap), 0);
	assert_string_equal(heap, "linux,cma");
	/* heap names pass through */
	assert_int_equal(resolve(BB_ENTRY_HEAP, "camera", heap), 0);
	assert_string_equal(heap, "camera");
}

static void dt_devices_without_a_region_give_clear_errors(void **state)
{
	char heap[64];

	(void)state;
	assert_int_equal(resolve(BB_ENTRY_DT_NODE, "/soc/nomem@2000", heap), -ENODEV);
	assert_int_equal(resolve(BB_ENTRY_DT_NODE, "/soc/missing", heap), -ENODEV);
	assert_int_equal(resolve(BB_ENTRY_DT_NODE, "/soc/dangling@3000", heap), -ENOENT);
	assert_int_equal(resolve(BB_ENTRY_V4L2, "/dev/video7", heap), -ENODEV);
}

/* ---- heap discovery ---- */

struct seen {
	char last[64];
	int added, removed;
};

static void on_heap(void *ud, const char *name, bool added)
{
	struct seen *s = ud;

	snprintf(s->last, sizeof(s->last), "%s", name);
	if (added)
		s->added++;
	else
		s->removed++;
}

static void heap_dir_appearing_later_is_noticed(void **state)
{
	char dir[PATH_MAX + 32], node[PATH_MAX + 64];
	struct bb_heaps h;
	struct seen s = { "", 0, 0 };

	(void)state;
	snprintf(dir, sizeof(dir), "%s/dma_heap", dt);
	assert_int_equal(bb_heaps_init(&h, dir, on_heap, &s), 0);
	assert_int_equal(bb_heaps_rescan(&h), 0);
	assert_int_equal(h.n, 0);
	/* the module loads: the directory and a node appear */
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(bb_heaps_process(&h), 0);
	snprintf(node, sizeof(node), "%s/camera", dir);
	close(open(node, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_int_equal(bb_heaps_process(&h), 0);
	assert_int_equal(s.added, 1);
	assert_string_equal(s.last, "camera");
	assert_true(bb_heaps_has(&h, "camera"));
	/* and goes away */
	unlink(node);
	rmdir(dir);
	assert_int_equal(bb_heaps_process(&h), 0);
	assert_int_equal(s.removed, 1);
	assert_false(bb_heaps_has(&h, "camera"));
	/* and comes back */
	assert_int_equal(mkdir(dir, 0755), 0);
	close(open(node, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_int_equal(bb_heaps_process(&h), 0);
	assert_int_equal(s.added, 2);
	bb_heaps_fini(&h);
	unlink(node);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quota_allows_up_to_the_limit_and_refuses_one_more),
		cmocka_unit_test(client_quota_applies_after_role_quota),
		cmocka_unit_test(quota_sums_that_overflow_are_refused),
		cmocka_unit_test(buffer_table_charges_owners_not_importers_and_drops_per_client),
		cmocka_unit_test(share_targets_parse_and_reject_garbage),
		cmocka_unit_test(tokens_are_random_single_use_and_expire),
		cmocka_unit_test(tokens_per_client_are_limited_and_dropped_with_the_client),
		cmocka_unit_test(every_errno_maps_to_its_named_error_and_back),
		cmocka_unit_test(errno_without_a_named_error_becomes_failed),
		cmocka_unit_test(dt_device_resolves_through_memory_region_to_the_region_name),
		cmocka_unit_test(dt_devices_without_a_region_give_clear_errors),
		cmocka_unit_test(heap_dir_appearing_later_is_noticed),
	};

	return cmocka_run_group_tests_name("daemon units", tests, dt_setup, dt_teardown);
}
