// SPDX-License-Identifier: MIT
/*
 * test_daemon_dbus.c - the real bufbrokerd on a private dbus-daemon.
 *
 * No heaps are faked: the heap directory is empty, so every test here is about the D-Bus surface:
 * named errors with useful messages, the introspection matching daemon/org.bufbroker.Broker1.xml,
 * heap discovery signals, policy reload, client cleanup, and a clean SIGTERM exit. Allocation
 * itself is tested in the guest against the real module.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <systemd/sd-bus.h>

#include "dbus_errors.h"
#include "rawsession.h" /* tests/guest */

#define DEST "org.bufbroker.Broker1"
#define PATH "/org/bufbroker/Broker1"
#define IFACE "org.bufbroker.Broker1"

static char dir[PATH_MAX];
static char address[512];
static pid_t bus_pid = -1, daemon_pid = -1;
static sd_bus *bus;

static const char bus_conf[] =
	"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
	" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	"<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>\n"
	"<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
	"<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n";

static const char policy_v1[] =
	"[client]\n"
	"max-buffer-size = 1M\n"
	"[role cam]\n"
	"heaps = nosuch-heap\n"
	"allow-users = *\n"
	"max-buffer-size = 64K\n"
	"share-with = view\n"
	"[role view]\n"
	"heaps = nosuch-heap\n"
	"allow-users = *\n"
	"[role locked]\n"
	"heaps = nosuch-heap\n"
	"allow-users = 4294967294\n"
	"[role dev]\n"
	"device = /no/such/node\n"
	"allow-users = *\n";

static void put(const char *name, const char *text)
{
	char p[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int start_bus(void)
{
	int pfd[2];
	char conf[PATH_MAX + 32], fdarg[32];
	ssize_t n;
	size_t got = 0;

	snprintf(conf, sizeof(conf), "%s/bus.conf", dir);
	if (pipe(pfd) < 0)
		return -errno;
	bus_pid = fork();
	if (bus_pid == 0) {
		close(pfd[0]);
		snprintf(fdarg, sizeof(fdarg), "--print-address=%d", pfd[1]);
		execlp("dbus-daemon", "dbus-daemon", "--nofork", "--config-file", conf, fdarg, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (got < sizeof(address) - 1 && (n = read(pfd[0], address + got, sizeof(address) - 1 - got)) > 0) {
		got += (size_t)n;
		if (memchr(address, '\n', got))
			break;
	}
	close(pfd[0]);
	address[got] = '\0';
	if (!strchr(address, '\n'))
		return -EIO;
	*strchr(address, '\n') = '\0';
	return 0;
}

static int connect_bus(sd_bus **out)
{
	sd_bus *b = NULL;
	int r = sd_bus_new(&b);

	if (r >= 0)
		r = sd_bus_set_address(b, address);
	if (r >= 0)
		r = sd_bus_set_bus_client(b, 1);
	if (r >= 0)
		r = sd_bus_start(b);
	if (r < 0) {
		sd_bus_unref(b);
		return r;
	}
	*out = b;
	return 0;
}

static bool name_has_owner(void)
{
	sd_bus_message *reply = NULL;
	int has = 0;

	if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			       "NameHasOwner", NULL, &reply, "s", DEST) < 0)
		return false;
	sd_bus_message_read(reply, "b", &has);
	sd_bus_message_unref(reply);
	return has;
}

static int start_daemon(void)
{
	const char *exe = getenv("BUFBROKERD");
	char policy[PATH_MAX + 32], heaps[PATH_MAX + 32], stats[PATH_MAX + 32], dtb[PATH_MAX + 32];
	char logf[PATH_MAX + 32];
	uint64_t deadline;

	if (!exe)
		exe = BB_BUILD "/daemon/bufbrokerd";
	snprintf(policy, sizeof(policy), "%s/policy.conf", dir);
	snprintf(heaps, sizeof(heaps), "%s/dma_heap", dir);
	snprintf(stats, sizeof(stats), "%s/stats", dir);
	snprintf(dtb, sizeof(dtb), "%s/dt", dir);
	snprintf(logf, sizeof(logf), "%s/daemon.log", dir);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		setenv("BUFBROKER_BUS_ADDRESS", address, 1);
		execl(exe, exe, "--policy", policy, "--heap-dir", heaps, "--stats-dir", stats, "--dt-base", dtb,
		      "-v", (char *)NULL);
		_exit(127);
	}
	deadline = now_ms() + 10000;
	while (now_ms() < deadline) {
		if (name_has_owner())
			return 0;
		if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
			daemon_pid = -1;
			return -ECHILD;
		}
		usleep(20000);
	}
	return -ETIMEDOUT;
}

static int setup(void **state)
{
	int r;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_daemon_dbus.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	put("bus.conf", bus_conf);
	put("policy.conf", policy_v1);
	r = start_bus();
	if (r < 0) {
		fprintf(stderr, "cannot start dbus-daemon: %s\n", strerror(-r));
		return -1;
	}
	if (connect_bus(&bus) < 0)
		return -1;
	sd_bus_error_add_map(bb_dbus_error_map);
	r = start_daemon();
	if (r < 0) {
		fprintf(stderr, "bufbrokerd did not come up: %s (log in %s/daemon.log)\n", strerror(-r), dir);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 32];

	(void)state;
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	sd_bus_flush_close_unref(bus);
	if (bus_pid > 0) {
		kill(bus_pid, SIGTERM);
		waitpid(bus_pid, NULL, 0);
	}
	/* A failed run leaves the daemon's log for reading: BB_KEEP_TEST_DIR=1. */
	if (getenv("BB_KEEP_TEST_DIR")) {
		fprintf(stderr, "kept %s (daemon.log)\n", dir);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Call @member and expect the named error @name whose message contains @needle. */
static void expect_error_on(sd_bus *b, const char *name, const char *needle, const char *member,
			    const char *types, ...)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	va_list ap;
	int r;

	va_start(ap, types);
	r = sd_bus_call_methodv(b, DEST, PATH, IFACE, member, &e, &reply, types, ap);
	va_end(ap);
	if (r >= 0 || !e.name || strcmp(e.name, name) != 0 || !e.message || !strstr(e.message, needle))
		print_error("%s: wanted %s '...%s...', got r=%d %s: %s\n", member, name, needle, r,
			    e.name ? e.name : "(none)", e.message ? e.message : "");
	assert_true(r < 0);
	assert_string_equal(e.name, name);
	assert_non_null(strstr(e.message, needle));
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
}

#define expect_error(...) expect_error_on(bus, __VA_ARGS__)

static void daemon_alive(void)
{
	assert_int_equal(waitpid(daemon_pid, NULL, WNOHANG), 0);
}

static void version_property_is_1(void **state)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint32_t v = 0;

	(void)state;
	assert_int_equal(sd_bus_get_property_trivial(bus, DEST, PATH, IFACE, "Version", &e, 'u', &v), 0);
	assert_int_equal(v, 1);
}

/* Members, args and their order of our interface in an introspection document. */
static char *interface_outline(const char *xml)
{
	const char *start = strstr(xml, "<interface name=\"" IFACE "\"");
	const char *end = start ? strstr(start, "</interface>") : NULL;
	size_t cap = 8192, used = 0;
	char *out = calloc(1, cap);
	static const char *const tags[] = { "<method ", "<signal ", "<property ", "<arg " };
	static const char *const attrs[] = { "name=\"", "type=\"", "direction=\"", "access=\"" };

	assert_non_null(start);
	assert_non_null(end);
	for (const char *p = start; p && p < end; p = strchr(p + 1, '<')) {
		const char *close = strchr(p, '>');

		for (size_t t = 0; t < 4; t++) {
			if (strncmp(p, tags[t], strlen(tags[t])) != 0)
				continue;
			used += (size_t)snprintf(out + used, cap - used, "%.*s", (int)strlen(tags[t]) - 2, p + 1);
			for (size_t a = 0; a < 4; a++) {
				const char *v = strstr(p, attrs[a]);
				const char *q = v ? strchr(v + strlen(attrs[a]), '"') : NULL;

				if (v && q && v < close)
					used += (size_t)snprintf(out + used, cap - used, " %.*s", (int)(q - v + 1), v);
			}
			used += (size_t)snprintf(out + used, cap - used, "\n");
		}
	}
	return out;
}

static void introspection_matches_the_xml_in_the_repo(void **state)
{
	sd_bus_message *reply = NULL;
	const char *live;
	char *file_text, *a, *b;
	FILE *f;
	long len;

	(void)state;
	assert_int_equal(sd_bus_call_method(bus, DEST, PATH, "org.freedesktop.DBus.Introspectable", "Introspect",
					    NULL, &reply, ""), 1);
	assert_int_equal(sd_bus_message_read(reply, "s", &live), 1);
	f = fopen(BB_TOP "/daemon/org.bufbroker.Broker1.xml", "re");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	file_text = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(file_text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	a = interface_outline(live);
	b = interface_outline(file_text);
	if (strcmp(a, b) != 0)
		print_error("live:\n%s\nrepo:\n%s\n", a, b);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "method name=\"AllocateImage\""));
	free(a);
	free(b);
	free(file_text);
	sd_bus_message_unref(reply);
}

static void allocate_errors_are_named_and_say_what_to_change(void **state)
{
	(void)state;
	expect_error(BB_ERROR_NO_SUCH_ROLE, "no role 'nope'", "Allocate", "sta{sv}", "nope", (uint64_t)4096, 0);
	expect_error(BB_ERROR_INVALID_ARGUMENT, "not a role name", "Allocate", "sta{sv}", "../x", (uint64_t)4096, 0);
	expect_error(BB_ERROR_ACCESS_DENIED, "allow-users", "Allocate", "sta{sv}", "locked", (uint64_t)4096, 0);
	expect_error(BB_ERROR_INVALID_ARGUMENT, "size 0", "Allocate", "sta{sv}", "cam", (uint64_t)0, 0);
	expect_error(BB_ERROR_INVALID_ARGUMENT, "too large", "Allocate", "sta{sv}", "cam", UINT64_MAX, 0);
	expect_error(BB_ERROR_QUOTA_EXCEEDED, "max-buffer-size", "Allocate", "sta{sv}", "cam", (uint64_t)(1 << 20), 0);
	expect_error(BB_ERROR_QUOTA_EXCEEDED, "[client]", "Allocate", "sta{sv}", "view", (uint64_t)(2 << 20), 0);
	expect_error(BB_ERROR_NO_SUCH_HEAP, "nosuch-heap", "Allocate", "sta{sv}", "cam", (uint64_t)4096, 0);
	expect_error(BB_ERROR_NO_SUCH_HEAP, "/no/such/node", "Allocate", "sta{sv}", "dev", (uint64_t)4096, 0);
	expect_error(BB_ERROR_INVALID_ARGUMENT, "unknown option 'colour'", "Allocate", "sta{sv}", "cam",
		     (uint64_t)4096, 1, "colour", "s", "red");
	expect_error(BB_ERROR_INVALID_ARGUMENT, "must be a string", "Allocate", "sta{sv}", "cam", (uint64_t)4096, 1,
		     "name", "u", 5);
	expect_error(BB_ERROR_INVALID_ARGUMENT, "cpu-access 'sometimes'", "Allocate", "sta{sv}", "cam",
		     (uint64_t)4096, 1, "cpu-access", "s", "sometimes");
	expect_error(BB_ERROR_INVALID_ARGUMENT, "too long", "Allocate", "sta{sv}", "cam", (uint64_t)4096, 1, "name",
		     "s", "a-name-that-is-thirty-chars-xx");
	expect_error(BB_ERROR_INVALID_ARGUMENT, "is not valid", "Allocate", "sta{sv}", "cam", (uint64_t)4096, 1, "name",
		     "s", "bad\nname");
	expect_error(BB_ERROR_INVALID_ARGUMENT, "given twice", "Allocate", "sta{sv}", "cam", (uint64_t)4096, 2, "name",
		     "s", "a", "name", "s", "b");
	daemon_alive();
}

static void allocate_image_errors_are_named(void **state)
{
	const uint32_t nv12 = 0x3231564e, yuyv = 0x56595559;

	(void)state;
	expect_error(BB_ERROR_NOT_SUPPORTED, "not supported", "AllocateImage", "suuuta{sv}", "cam", 0x12345678u,
		     64u, 64u, (uint64_t)0, 0);
	expect_error(BB_ERROR_NOT_SUPPORTED, "modifier", "AllocateImage", "suuuta{sv}", "cam", nv12, 64u, 64u,
		     (uint64_t)0x0100000000000001ULL, 0);
	expect_error(BB_ERROR_INVALID_ARGUMENT, "not valid for NV12", "AllocateImage", "suuuta{sv}", "cam", nv12, 0u,
		     64u, (uint64_t)0, 0);
	expect_error(BB_ERROR_INVALID_ARGUMENT, "not valid for NV12", "AllocateImage", "suuuta{sv}", "cam", nv12, 63u,
		     64u, (uint64_t)0, 0);
	expect_error(BB_ERROR_INVALID_ARGUMENT, "too large", "AllocateImage", "suuuta{sv}", "cam", yuyv,
		     0xfffffffeu, 0xfffffffeu, (uint64_t)0, 0);
	/* a valid layout reaches the quota check of the role */
	expect_error(BB_ERROR_QUOTA_EXCEEDED, "max-buffer-size", "AllocateImage", "suuuta{sv}", "cam", nv12, 1920u,
		     1080u, (uint64_t)0, 0);
	daemon_alive();
}

static void set_errors_are_named_and_say_nothing_was_kept(void **state)
{
	(void)state;
	expect_error(BB_ERROR_INVALID_ARGUMENT, "a set of 0 buffers", "AllocateSet", "stua{sv}", "cam",
		     (uint64_t)4096, 0u, 0);
	expect_error(BB_ERROR_INVALID_ARGUMENT, "ask for 1 to 32", "AllocateSet", "stua{sv}", "cam",
		     (uint64_t)4096, 33u, 0);
	expect_error(BB_ERROR_NO_SUCH_ROLE, "buffer 1 of 2: the policy has no role 'nope'", "AllocateSet",
		     "stua{sv}", "nope", (uint64_t)4096, 2u, 0);
	expect_error(BB_ERROR_QUOTA_EXCEEDED, "max-buffer-size", "AllocateSet", "stua{sv}", "cam",
		     (uint64_t)(1 << 20), 4u, 0);
	expect_error(BB_ERROR_NO_SUCH_HEAP, "none of the set was kept", "AllocateSet", "stua{sv}", "cam",
		     (uint64_t)4096, 3u, 0);
	expect_error(BB_ERROR_INVALID_ARGUMENT, "unknown option 'colour'", "AllocateSet", "stua{sv}", "cam",
		     (uint64_t)4096, 2u, 1, "colour", "s", "red");
	expect_error(BB_ERROR_INVALID_ARGUMENT, "the set of ids is empty", "ReleaseSet", "at", 0);
	{
		uint64_t many[257];
		sd_bus_message *m = NULL, *reply = NULL;
		sd_bus_error e = SD_BUS_ERROR_NULL;

		for (size_t i = 0; i < 257; i++)
			many[i] = i + 1;
		assert_int_equal(sd_bus_message_new_method_call(bus, &m, DEST, PATH, IFACE,
								"ReleaseSet"), 0);
		assert_int_equal(sd_bus_message_append_array(m, 't', many, sizeof(many)), 0);
		assert_true(sd_bus_call(bus, m, 0, &e, &reply) < 0);
		assert_string_equal(e.name, BB_ERROR_INVALID_ARGUMENT);
		assert_non_null(strstr(e.message, "release at most 256 per call"));
		sd_bus_error_free(&e);
		sd_bus_message_unref(m);
	}
	expect_error(BB_ERROR_NO_SUCH_BUFFER, "no buffer with id 12345; nothing was released", "ReleaseSet", "at", 2,
		     (uint64_t)12345, (uint64_t)12346);
	daemon_alive();
}

static void buffer_and_token_errors_are_named(void **state)
{
	(void)state;
	expect_error(BB_ERROR_NO_SUCH_BUFFER, "no buffer with id 12345", "Release", "t", (uint64_t)12345);
	expect_error(BB_ERROR_NO_SUCH_BUFFER, "no buffer with id 1", "Share", "ts", (uint64_t)1, "role:view");
	expect_error(BB_ERROR_INVALID_ARGUMENT, "not valid", "Share", "ts", (uint64_t)1, "everyone");
	expect_error(BB_ERROR_INVALID_TOKEN, "not a share token", "Import", "s", "hello");
	expect_error(BB_ERROR_INVALID_TOKEN, "unknown, used or expired", "Import", "s",
		     "00112233445566778899aabbccddeeff");
	daemon_alive();
}

static void wrong_signatures_are_refused_and_the_daemon_stays_up(void **state)
{
	(void)state;
	expect_error("org.freedesktop.DBus.Error.InvalidArgs", "", "Allocate", "s", "cam");
	expect_error("org.freedesktop.DBus.Error.InvalidArgs", "", "Release", "s", "1");
	expect_error("org.freedesktop.DBus.Error.InvalidArgs", "", "AllocateSet", "sta{sv}", "cam", (uint64_t)4096, 0);
	expect_error("org.freedesktop.DBus.Error.InvalidArgs", "", "ReleaseSet", "t", (uint64_t)1);
	expect_error("org.freedesktop.DBus.Error.UnknownMethod", "", "Explode", "");
	daemon_alive();
}

static void list_heaps_and_usage_answer_for_a_fresh_client(void **state)
{
	sd_bus_message *reply = NULL;
	const char *name, *me = NULL;
	bool found = false;

	(void)state;
	assert_true(sd_bus_call_method(bus, DEST, PATH, IFACE, "List", NULL, &reply, "") >= 0);
	assert_int_equal(sd_bus_message_enter_container(reply, 'a', "(tsstss)"), 1);
	assert_int_equal(sd_bus_message_at_end(reply, 0), 1); /* no buffers */
	reply = sd_bus_message_unref(reply);

	assert_true(sd_bus_call_method(bus, DEST, PATH, IFACE, "Heaps", NULL, &reply, "") >= 0);
	assert_string_equal(sd_bus_message_get_signature(reply, 1), "a(sasttttt)");
	reply = sd_bus_message_unref(reply);

	assert_true(sd_bus_get_unique_name(bus, &me) >= 0);
	assert_true(sd_bus_call_method(bus, DEST, PATH, IFACE, "Usage", NULL, &reply, "") >= 0);
	assert_int_equal(sd_bus_message_enter_container(reply, 'a', "(susstu)"), 1);
	while (sd_bus_message_enter_container(reply, 'r', "susstu") > 0) {
		uint32_t uid, n;
		const char *unit, *role;
		uint64_t bytes;

		assert_true(sd_bus_message_read(reply, "susstu", &name, &uid, &unit, &role, &bytes, &n) > 0);
		if (strcmp(name, me) == 0) {
			found = true;
			assert_int_equal(uid, getuid());
			assert_int_equal(bytes, 0);
		}
		sd_bus_message_exit_container(reply);
	}
	assert_true(found);
	sd_bus_message_unref(reply);
}

static bool usage_lists(const char *who)
{
	sd_bus_message *reply = NULL;
	bool found = false;
	const char *name, *unit, *role;
	uint32_t uid, n;
	uint64_t bytes;

	if (sd_bus_call_method(bus, DEST, PATH, IFACE, "Usage", NULL, &reply, "") < 0)
		return false;
	sd_bus_message_enter_container(reply, 'a', "(susstu)");
	while (sd_bus_message_read(reply, "(susstu)", &name, &uid, &unit, &role, &bytes, &n) > 0)
		found = found || strcmp(name, who) == 0;
	sd_bus_message_unref(reply);
	return found;
}

static void a_client_that_disconnects_is_forgotten(void **state)
{
	sd_bus *other = NULL;
	const char *u;
	char name[256];
	uint64_t deadline;

	(void)state;
	assert_int_equal(connect_bus(&other), 0);
	assert_true(sd_bus_get_unique_name(other, &u) >= 0);
	snprintf(name, sizeof(name), "%s", u);
	expect_error_on(other, BB_ERROR_NO_SUCH_HEAP, "nosuch-heap", "Allocate", "sta{sv}", "cam", (uint64_t)4096, 0);
	assert_true(usage_lists(name));
	sd_bus_flush_close_unref(other);
	deadline = now_ms() + 5000;
	while (usage_lists(name) && now_ms() < deadline)
		usleep(20000);
	assert_false(usage_lists(name));
}

/* Poll @s until the daemon hangs up on it, at most @ms. */
static bool hung_up(sd_bus *s, uint64_t ms)
{
	struct pollfd p = { .fd = sd_bus_get_fd(s), .events = POLLIN };
	uint64_t deadline = now_ms() + ms;

	while (now_ms() < deadline) {
		if (poll(&p, 1, 100) > 0 && (p.revents & (POLLHUP | POLLERR)))
			return true;
		if (p.revents & POLLIN)
			while (sd_bus_process(s, NULL) > 0)
				;
	}
	return false;
}

static void a_session_serves_the_same_object_under_the_callers_identity(void **state)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus *s = NULL;
	const char *me;
	uint32_t v = 0;

	(void)state;
	assert_int_equal(bb_raw_session_open(bus, &s, NULL), 0);
	assert_int_equal(sd_bus_get_property_trivial(s, NULL, PATH, IFACE, "Version", &e, 'u', &v), 0);
	assert_int_equal(v, 1);
	/* The policy applies as on the bus: the same named errors, the same quota. */
	expect_error_on(s, BB_ERROR_NO_SUCH_HEAP, "nosuch-heap", "Allocate", "sta{sv}", "cam", (uint64_t)4096, 0);
	expect_error_on(s, BB_ERROR_QUOTA_EXCEEDED, "max-buffer-size", "Allocate", "sta{sv}", "cam",
			(uint64_t)(1 << 20), 0);
	expect_error_on(s, BB_ERROR_ACCESS_DENIED, "allow-users", "Allocate", "sta{sv}", "locked", (uint64_t)4096, 0);
	expect_error_on(s, BB_ERROR_NOT_SUPPORTED, "through the bus", "OpenSession", "");
	/* Usage names the session by its opener's unique name. */
	assert_true(sd_bus_get_unique_name(bus, &me) >= 0);
	assert_true(usage_lists(me));
	sd_bus_flush_close_unref(s);
	daemon_alive();
}

static void sessions_per_connection_are_limited_and_closed_ones_are_freed(void **state)
{
	sd_bus *other = NULL, *s[5] = { NULL };
	uint64_t deadline;
	int r;

	(void)state;
	assert_int_equal(connect_bus(&other), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(bb_raw_session_open(other, &s[i], NULL), 0);
	expect_error_on(other, BB_ERROR_QUOTA_EXCEEDED, "already has 4 sessions", "OpenSession", "");
	/* Closing one gives its place back once the daemon has seen the hang-up. */
	sd_bus_flush_close_unref(s[0]);
	deadline = now_ms() + 5000;
	while ((r = bb_raw_session_open(other, &s[4], NULL)) < 0 && now_ms() < deadline)
		usleep(20000);
	assert_int_equal(r, 0);
	for (int i = 1; i < 5; i++)
		sd_bus_flush_close_unref(s[i]);
	sd_bus_flush_close_unref(other);
	daemon_alive();
}

static void a_session_ends_when_its_opener_leaves_the_bus(void **state)
{
	sd_bus *other = NULL, *s = NULL;

	(void)state;
	assert_int_equal(connect_bus(&other), 0);
	assert_int_equal(bb_raw_session_open(other, &s, NULL), 0);
	expect_error_on(s, BB_ERROR_NO_SUCH_HEAP, "nosuch-heap", "Allocate", "sta{sv}", "cam", (uint64_t)4096, 0);
	assert_false(hung_up(s, 300));
	sd_bus_flush_close_unref(other);
	assert_true(hung_up(s, 5000));
	sd_bus_unref(s);
	daemon_alive();
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	char *got = userdata;
	const char *name;

	(void)e;
	if (sd_bus_message_read(m, "s", &name) > 0)
		snprintf(got, 128, "%s:%s", sd_bus_message_get_member(m), name);
	return 0;
}

static void wait_signal(char *got, const char *want)
{
	uint64_t deadline = now_ms() + 5000;

	while (strcmp(got, want) != 0 && now_ms() < deadline) {
		if (sd_bus_process(bus, NULL) > 0)
			continue;
		sd_bus_wait(bus, 100000);
	}
	assert_string_equal(got, want);
}

static void heaps_appearing_and_disappearing_are_signalled(void **state)
{
	char got[128] = "";
	char heapdir[PATH_MAX + 32], node[PATH_MAX + 64];
	sd_bus_slot *slot = NULL;

	(void)state;
	assert_true(sd_bus_match_signal(bus, &slot, DEST, PATH, IFACE, NULL, on_signal, got) >= 0);
	/* The directory does not exist yet: it appears "when the module loads". */
	snprintf(heapdir, sizeof(heapdir), "%s/dma_heap", dir);
	snprintf(node, sizeof(node), "%s/newheap", heapdir);
	assert_int_equal(mkdir(heapdir, 0755), 0);
	close(open(node, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	wait_signal(got, "HeapAdded:newheap");
	unlink(node);
	wait_signal(got, "HeapRemoved:newheap");
	rmdir(heapdir);
	sd_bus_slot_unref(slot);
	daemon_alive();
}

static void sighup_keeps_the_old_policy_when_the_new_one_is_bad(void **state)
{
	(void)state;
	put("policy.conf", "[role cam]\nheaps = x\nbogus-key = 1\n");
	assert_int_equal(kill(daemon_pid, SIGHUP), 0);
	usleep(300000);
	daemon_alive();
	/* "view" still exists */
	expect_error(BB_ERROR_NO_SUCH_HEAP, "nosuch-heap", "Allocate", "sta{sv}", "view", (uint64_t)4096, 0);

	put("policy.conf", "[role fresh]\nheaps = other-heap\nallow-users = *\n");
	assert_int_equal(kill(daemon_pid, SIGHUP), 0);
	usleep(300000);
	daemon_alive();
	expect_error(BB_ERROR_NO_SUCH_ROLE, "no role 'view'", "Allocate", "sta{sv}", "view", (uint64_t)4096, 0);
	expect_error(BB_ERROR_NO_SUCH_HEAP, "other-heap", "Allocate", "sta{sv}", "fresh", (uint64_t)4096, 0);
	put("policy.conf", policy_v1);
	kill(daemon_pid, SIGHUP);
	usleep(300000);
}

static void sigterm_exits_cleanly(void **state)
{
	int status = -1;

	(void)state;
	assert_int_equal(kill(daemon_pid, SIGTERM), 0);
	assert_int_equal(waitpid(daemon_pid, &status, 0), daemon_pid);
	daemon_pid = -1;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(version_property_is_1),
		cmocka_unit_test(introspection_matches_the_xml_in_the_repo),
		cmocka_unit_test(allocate_errors_are_named_and_say_what_to_change),
		cmocka_unit_test(allocate_image_errors_are_named),
		cmocka_unit_test(set_errors_are_named_and_say_nothing_was_kept),
		cmocka_unit_test(buffer_and_token_errors_are_named),
		cmocka_unit_test(wrong_signatures_are_refused_and_the_daemon_stays_up),
		cmocka_unit_test(list_heaps_and_usage_answer_for_a_fresh_client),
		cmocka_unit_test(a_client_that_disconnects_is_forgotten),
		cmocka_unit_test(a_session_serves_the_same_object_under_the_callers_identity),
		cmocka_unit_test(sessions_per_connection_are_limited_and_closed_ones_are_freed),
		cmocka_unit_test(a_session_ends_when_its_opener_leaves_the_bus),
		cmocka_unit_test(heaps_appearing_and_disappearing_are_signalled),
		cmocka_unit_test(sighup_keeps_the_old_policy_when_the_new_one_is_bad),
		cmocka_unit_test(sigterm_exits_cleanly),
	};

	return cmocka_run_group_tests_name("daemon over D-Bus", tests, setup, teardown);
}
