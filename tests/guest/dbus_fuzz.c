// SPDX-License-Identifier: MIT
/*
 * dbus_fuzz - hostile D-Bus input for bufbrokerd (tests/guest/reliability.sh).
 *
 *   dbus_fuzz --daemon-pid PID [--iterations N] [--max-seconds S] [--seed S] [--user USER|-]
 *             [--concurrent 1]
 *
 * Runs as root: takes the module's counters and the daemon's state as a baseline, then forks a
 * fuzzer that drops to USER (default camera-client) and sends every method of org.bufbroker.Broker1
 * random and hostile arguments over two raw sd-bus connections (A and B, so "another client's ids
 * and tokens" are real) and a private session S that A opened (OpenSession, peer to peer): huge, zero and unaligned sizes, width*height overflows, unknown fourccs,
 * modifiers and roles, forged, reused, foreign-peer and released tokens, ids of the other connection,
 * random a{sv} options (unknown keys, wrong variant types, duplicates, long names), over-long
 * strings, and wrong signatures (missing, extra and mistyped arguments, fds where none belong,
 * unknown methods).  Every reply must be a method return or a named error:
 * org.bufbroker.Error.*, or org.freedesktop.DBus.Error.InvalidArgs for a wrong signature
 * (UnknownMethod for a method that does not exist).  A timeout, NoReply or any other error counts
 * as a failure.  Afterwards the daemon must still answer, Usage() must be empty and the module's
 * counters back at the baseline.  With --concurrent 1 (make check: it runs next to the soak) only the
 * fuzzer's own connections must be gone from Usage(); the soak's final check covers the counters.
 *
 * The same program runs on the host under ASan/UBSan against the ASan/UBSan bufbrokerd on a private
 * bus (tests/host/dbus-fuzz-host.sh, DBUS_SYSTEM_BUS_ADDRESS, --user -): no heaps there, so every
 * Allocate ends in NoSuchHeap, but every argument check runs thousands of times under the sanitizers.
 *
 * Output: `ok - dbus_fuzz: ...` / `not ok - dbus_fuzz: ...` and `# N calls, errors by name: ...`.
 */
#include "bbutil.h"
#include "harness.h"
#include "rawsession.h"

#include <systemd/sd-bus.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUS_NAME "org.bufbroker.Broker1"
#define BUS_PATH "/org/bufbroker/Broker1"
#define BUS_IFACE "org.bufbroker.Broker1"

static pid_t daemon_pid;
static unsigned long opt_iterations = 5000, opt_seconds = 60;
static uint64_t opt_seed;
static const char *opt_user = "camera-client";

static uint64_t rng;
static uint64_t rnd(void)
{
	uint64_t x = rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}
static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- results shared with the parent ---------------------------------------------------------- */

#define MAX_NAMES 32
struct results {
	atomic_ulong calls, replies_ok, timeouts, send_errors, bad;
	atomic_ulong count[MAX_NAMES];
	char names[MAX_NAMES][96];
	atomic_int n_names;
	char first_bad[512];
	unsigned long per_method[16];
	char conns[64][40]; /* unique names of the fuzzer's connections */
	int n_conns;
};
static struct results *res;

static void count_name(const char *name)
{
	int n = atomic_load(&res->n_names);
	for (int i = 0; i < n; i++)
		if (!strcmp(res->names[i], name)) {
			atomic_fetch_add(&res->count[i], 1);
			return;
		}
	if (n < MAX_NAMES) {
		snprintf(res->names[n], sizeof(res->names[n]), "%s", name);
		atomic_fetch_add(&res->count[n], 1);
		atomic_store(&res->n_names, n + 1);
	}
}

/* ---- value generators -------------------------------------------------------------------------- */

static char bigstr[1 << 17];

static const char *rnd_role(void)
{
	static const char *const roles[] = { "camera", "video", "display", "camfull", "quota", "nosuch", "",
					     "camera ", "../camera", "CAMERA", "camera\n", "-", "a.b", "💥",
					     "camera;video", "\xff\xfe" };
	uint64_t k = below(20);
	if (k < 16)
		return roles[k];
	if (k < 18) { /* long */
		size_t l = 32 + below(k == 17 ? sizeof(bigstr) - 33 : 200); /* < sizeof(bigstr) */
		memset(bigstr, 'r', l);
		bigstr[l] = 0;
		return bigstr;
	}
	/* random printable */
	size_t l = below(40);
	for (size_t i = 0; i < l; i++)
		bigstr[i] = (char)(0x20 + below(95));
	bigstr[l] = 0;
	return bigstr;
}

static uint64_t rnd_size(void)
{
	static const uint64_t sizes[] = { 0, 1, 4095, 4096, 4097, 65536, 1 << 20, 16ULL << 20, (16ULL << 20) + 1,
					  64ULL << 20, 1ULL << 32, (1ULL << 63), UINT64_MAX, UINT64_MAX - 4095,
					  UINT64_MAX - 4096, 0x7fffffffffffffffULL };
	return below(3) ? sizes[below(16)] : rnd() >> below(64);
}

static uint32_t rnd_u32(void)
{
	static const uint32_t v[] = { 0, 1, 2, 3, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe,
				      1920, 1080, 4096, 65535, 46341, 46340 };
	return below(2) ? v[below(16)] : (uint32_t)rnd();
}

static uint32_t rnd_fourcc(void)
{
	static const uint32_t f[] = { 0x3231564e /* NV12 */, 0x36314752 /* RG16 */, 0x34325258 /* XR24 */,
				      0x56595559 /* YUYV */, 0x30313050 /* P010 */, 0x20203852 /* R8 */,
				      0, 0xffffffff, 0x3231564f, 0x34325241 /* AR24 */ };
	return below(3) ? f[below(10)] : (uint32_t)rnd();
}

static uint64_t rnd_modifier(void)
{
	static const uint64_t m[] = { 0, 0x00ffffffffffffffULL /* INVALID */, 1, 0x0100000000000001ULL,
				      UINT64_MAX, 0x0300000000000004ULL };
	return below(2) ? m[below(6)] : rnd();
}

/* ---- state -------------------------------------------------------------------------------------- */

#define MAX_IDS 64
#define MAX_TOKS 64
struct conn {
	sd_bus *bus;
	const char *unique;
	uint64_t ids[MAX_IDS];
	int n_ids;
	char toks[MAX_TOKS][40];
	int n_toks;
};
/* S: a private session opened by A (OpenSession); it dies and is reopened with A. */
static struct conn A, B, S;

static void remember_id(struct conn *c, uint64_t id)
{
	if (c->n_ids < MAX_IDS)
		c->ids[c->n_ids++] = id;
	else
		c->ids[below(MAX_IDS)] = id;
}

static uint64_t rnd_id(struct conn *self)
{
	struct conn *other = self == &A ? &B : &A;
	switch (below(6)) {
	case 0:
		return self->n_ids ? self->ids[below((uint64_t)self->n_ids)] : 1;
	case 1:
	case 2:
		return other->n_ids ? other->ids[below((uint64_t)other->n_ids)] : 2; /* another client's */
	case 3:
		return 0;
	case 4:
		return UINT64_MAX - below(3);
	default:
		return below(100000);
	}
}

static const char *rnd_token(struct conn *self)
{
	static char t[256];
	struct conn *other = self == &A ? &B : &A;
	switch (below(8)) {
	case 0:
	case 1: /* a real token of ours (maybe used already) */
		if (self->n_toks)
			return self->toks[below((uint64_t)self->n_toks)];
		break;
	case 2:
	case 3: /* another connection's token (maybe scoped elsewhere) */
		if (other->n_toks)
			return other->toks[below((uint64_t)other->n_toks)];
		break;
	case 4: /* forged: well-formed, random */
		for (int i = 0; i < 32; i++)
			t[i] = "0123456789abcdef"[below(16)];
		t[32] = 0;
		return t;
	case 5: /* a real one with one digit changed, or upper-cased */
		if (self->n_toks) {
			snprintf(t, sizeof(t), "%s", self->toks[below((uint64_t)self->n_toks)]);
			t[below(32)] = below(2) ? 'G' : 'A';
			return t;
		}
		break;
	case 6: { /* wrong length */
		size_t l = below(80);
		for (size_t i = 0; i < l; i++)
			t[i] = "0123456789abcdef"[below(16)];
		t[l] = 0;
		return t;
	}
	default:
		break;
	}
	return below(2) ? "" : "not-a-token";
}

static const char *rnd_target(struct conn *self)
{
	static char t[256];
	struct conn *other = self == &A ? &B : &A;
	switch (below(12)) {
	case 0:
		return "role:video";
	case 1:
		return "role:display";
	case 2:
		return "role:camera";
	case 3:
		return "role:nosuch";
	case 4:
		return "uid:1002";
	case 5:
		snprintf(t, sizeof(t), "uid:%" PRIu64, (uint64_t)(rnd() % 5000000000ULL));
		return t;
	case 6:
		return other->unique;
	case 7:
		return self->unique;
	case 8:
		return ":1.99999";
	case 9:
		return below(2) ? "" : "role:";
	case 10:
		snprintf(t, sizeof(t), "%s%s", below(2) ? "uid:" : ":", rnd_role());
		return t;
	default:
		return rnd_role();
	}
}

/* a{sv} options: mostly valid, often hostile */
static int append_options(sd_bus_message *m)
{
	static const char *const keys[] = { "name", "cpu-access", "bogus", "", "name", "cpu-access" };
	static const char *const access[] = { "none", "read", "write", "read-write", "rw", "" };
	int r = sd_bus_message_open_container(m, 'a', "{sv}");
	int n = (int)below(4);
	for (int i = 0; r >= 0 && i < n; i++) {
		const char *k = below(8) ? keys[below(6)] : rnd_role();
		r = sd_bus_message_open_container(m, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append(m, "s", k);
		if (r < 0)
			break;
		switch (below(7)) {
		case 0:
			r = sd_bus_message_append(m, "v", "u", (uint32_t)rnd());
			break;
		case 1:
			r = sd_bus_message_append(m, "v", "as", 2, "a", "b");
			break;
		case 2:
			r = sd_bus_message_append(m, "v", "s", access[below(6)]);
			break;
		case 3:
			r = sd_bus_message_append(m, "v", "s", rnd_role());
			break;
		case 4:
			r = sd_bus_message_open_container(m, 'v', "v");
			if (r >= 0)
				r = sd_bus_message_append(m, "v", "s", "name");
			if (r >= 0)
				r = sd_bus_message_close_container(m);
			break;
		case 5:
			r = sd_bus_message_append(m, "v", "a{sv}", 1, "name", "s", "x");
			break;
		default:
			r = sd_bus_message_append(m, "v", "s", below(2) ? "cam0" : "frame-buffer-with-a-long-name");
			break;
		}
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

enum { M_ALLOC, M_IMAGE, M_RELEASE, M_LIST, M_SHARE, M_IMPORT, M_HEAPS, M_USAGE, M_VERSION, M_WRONGSIG,
       M_UNKNOWN, M_SESSION, M_ALLOCSET, M_RELSET, M_N };
static const char *const m_names[M_N] = { "Allocate", "AllocateImage", "Release", "List", "Share", "Import",
					  "Heaps", "Usage", "Get(Version)", "wrong signature", "unknown method",
					  "OpenSession", "AllocateSet", "ReleaseSet" };

/* One call; returns 0 when the outcome is acceptable. */
static int fuzz_one(struct conn *c)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int kind = (int)below(M_N + 3);
	int r;
	if (kind >= M_N)
		kind = below(2) ? M_ALLOC : M_SHARE; /* weight the interesting ones */
	const char *method = kind <= M_USAGE || kind >= M_SESSION ? m_names[kind] : "x";
	res->per_method[kind]++;
	if (kind == M_VERSION)
		r = sd_bus_message_new_method_call(c->bus, &m, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties",
						   "Get");
	else if (kind == M_UNKNOWN)
		r = sd_bus_message_new_method_call(c->bus, &m, BUS_NAME, BUS_PATH, BUS_IFACE,
						   below(2) ? "Allocat" : "DeleteEverything");
	else if (kind == M_WRONGSIG) {
		static const char *const ms[] = { "Allocate", "AllocateImage", "Release", "List", "Share", "Import",
						  "Heaps", "Usage", "OpenSession", "AllocateSet", "ReleaseSet" };
		method = ms[below(11)];
		r = sd_bus_message_new_method_call(c->bus, &m, BUS_NAME, BUS_PATH, BUS_IFACE, method);
	} else
		r = sd_bus_message_new_method_call(c->bus, &m, BUS_NAME, BUS_PATH, BUS_IFACE, method);
	if (r < 0)
		goto send_err;
	switch (kind) {
	case M_ALLOC:
		r = sd_bus_message_append(m, "st", rnd_role(), rnd_size());
		if (r >= 0)
			r = append_options(m);
		break;
	case M_IMAGE:
		r = sd_bus_message_append(m, "suuut", rnd_role(), rnd_fourcc(), rnd_u32(), rnd_u32(), rnd_modifier());
		if (r >= 0)
			r = append_options(m);
		break;
	case M_RELEASE:
		r = sd_bus_message_append(m, "t", rnd_id(c));
		break;
	case M_ALLOCSET:
		r = sd_bus_message_append(m, "stu", rnd_role(), rnd_size(),
					  below(4) ? (uint32_t)(1 + below(4)) : (uint32_t)rnd());
		if (r >= 0)
			r = append_options(m);
		break;
	case M_RELSET: {
		unsigned int n = (unsigned int)below(5); /* 0: empty; ids repeat now and then */

		r = sd_bus_message_open_container(m, 'a', "t");
		for (unsigned int i = 0; r >= 0 && i < n; i++)
			r = sd_bus_message_append(m, "t", rnd_id(c));
		if (r >= 0)
			r = sd_bus_message_close_container(m);
		break;
	}
	case M_SHARE:
		r = sd_bus_message_append(m, "ts", rnd_id(c), rnd_target(c));
		break;
	case M_IMPORT:
		r = sd_bus_message_append(m, "s", rnd_token(c));
		break;
	case M_VERSION:
		r = sd_bus_message_append(m, "ss", below(4) ? BUS_IFACE : "org.nosuch", below(4) ? "Version" : "Nope");
		break;
	case M_WRONGSIG:
		switch (below(8)) {
		case 0:
			break; /* no arguments */
		case 1:
			r = sd_bus_message_append(m, "s", "camera");
			break;
		case 2:
			r = sd_bus_message_append(m, "tt", rnd(), rnd());
			break;
		case 3:
			r = sd_bus_message_append(m, "sta{ss}", "camera", (uint64_t)4096, 1, "name", "x");
			break;
		case 4:
			r = sd_bus_message_append(m, "h", 1); /* stdout as a unix fd */
			break;
		case 5:
			r = sd_bus_message_append(m, "stas", "camera", (uint64_t)4096, 0);
			break;
		case 6:
			r = sd_bus_message_append(m, "ustt", 7u, "x", rnd(), rnd());
			break;
		default:
			r = sd_bus_message_append(m, "suuuta{sv}s", "camera", 0x3231564eu, 64u, 64u, (uint64_t)0, 0,
						  "extra");
			break;
		}
		break;
	default:
		break;
	}
	if (r < 0) /* sd-bus refused to build it (e.g. invalid UTF-8): not sent */
		goto send_err;
	atomic_fetch_add(&res->calls, 1);
	r = sd_bus_call(c->bus, m, 10 * 1000 * 1000, &e, &reply);
	if (r >= 0) {
		atomic_fetch_add(&res->replies_ok, 1);
		count_name("(method return)");
		if (kind == M_ALLOC || kind == M_IMAGE || kind == M_IMPORT) {
			int fd;
			uint64_t id;
			if (sd_bus_message_read(reply, "ht", &fd, &id) >= 0) {
				remember_id(c, id);
				/* often keep only the id and drop our fd at once (unref below) */
			}
		} else if (kind == M_ALLOCSET) {
			const uint64_t *ids;
			size_t len;
			if (sd_bus_message_skip(reply, "ah") >= 0 &&
			    sd_bus_message_read_array(reply, 't', (const void **)&ids, &len) >= 0)
				for (size_t i = 0; i < len / sizeof(*ids); i++)
					remember_id(c, ids[i]);
		} else if (kind == M_SESSION) {
			/* unused: the reply's unref closes our end, so the daemon sees a hang-up */
		} else if (kind == M_SHARE) {
			const char *t;
			if (sd_bus_message_read(reply, "s", &t) >= 0) {
				int k = c->n_toks < MAX_TOKS ? c->n_toks++ : (int)below(MAX_TOKS);
				snprintf(c->toks[k], sizeof(c->toks[k]), "%s", t);
			}
		}
		goto done;
	}
	if (sd_bus_error_is_set(&e)) {
		count_name(e.name);
		bool ok = !strncmp(e.name, "org.bufbroker.Error.", 20) ||
			  (!strcmp(e.name, "org.freedesktop.DBus.Error.InvalidArgs") &&
			   (kind == M_WRONGSIG || kind == M_VERSION)) ||
			  (!strcmp(e.name, "org.freedesktop.DBus.Error.UnknownMethod") && kind == M_UNKNOWN) ||
			  (kind == M_VERSION && (!strcmp(e.name, "org.freedesktop.DBus.Error.UnknownInterface") ||
						 !strcmp(e.name, "org.freedesktop.DBus.Error.UnknownProperty")));
		if (!strcmp(e.name, "org.freedesktop.DBus.Error.NoReply") ||
		    !strcmp(e.name, "org.freedesktop.DBus.Error.Timeout") || r == -ETIMEDOUT) {
			atomic_fetch_add(&res->timeouts, 1);
			ok = false;
		}
		if (!ok) {
			if (!atomic_fetch_add(&res->bad, 1))
				snprintf(res->first_bad, sizeof(res->first_bad), "%s (%s): %s: %s", m_names[kind], method,
					 e.name, e.message ? e.message : "");
		}
		goto done;
	}
	atomic_fetch_add(&res->timeouts, r == -ETIMEDOUT);
	if (!atomic_fetch_add(&res->bad, 1))
		snprintf(res->first_bad, sizeof(res->first_bad), "%s: unnamed failure %s", m_names[kind],
			 strerror(-r));
	goto done;
send_err:
	atomic_fetch_add(&res->send_errors, 1);
done:
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return 0;
}

static int drop_to(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return -ENOENT;
	if (initgroups(user, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return -errno;
	return 0;
}

static void note_conn(const char *u)
{
	if (res->n_conns < 64)
		snprintf(res->conns[res->n_conns++], sizeof(res->conns[0]), "%s", u);
}

/* (Re)open S on A. */
static void open_s(void)
{
	sd_bus_close_unref(S.bus);
	S.bus = NULL;
	S.n_ids = S.n_toks = 0;
	if (bb_raw_session_open(A.bus, &S.bus, NULL) < 0)
		_exit(5);
	S.unique = A.unique;
}

static void fuzzer(void)
{
	uint64_t end = bb_now_ns() + (uint64_t)opt_seconds * 1000000000ULL;
	if ((strcmp(opt_user, "-") && drop_to(opt_user) < 0) || sd_bus_open_system(&A.bus) < 0 || sd_bus_open_system(&B.bus) < 0 ||
	    sd_bus_get_unique_name(A.bus, &A.unique) < 0 || sd_bus_get_unique_name(B.bus, &B.unique) < 0)
		_exit(3);
	note_conn(A.unique);
	note_conn(B.unique);
	open_s();
	rng = opt_seed ? opt_seed : 1;
	for (unsigned long i = 0; i < opt_iterations && bb_now_ns() < end; i++) {
		uint64_t k = below(4);
		fuzz_one(k == 0 ? &S : k == 1 ? &B : &A);
		/* now and then drop a connection: the daemon must clean up its buffers and tokens */
		if (below(1000) == 0) {
			struct conn *c = below(2) ? &A : &B;
			sd_bus_flush_close_unref(c->bus);
			c->bus = NULL;
			c->n_ids = c->n_toks = 0;
			if (sd_bus_open_system(&c->bus) < 0 || sd_bus_get_unique_name(c->bus, &c->unique) < 0)
				_exit(4);
			note_conn(c->unique);
			if (c == &A) /* the daemon closed A's session with A */
				open_s();
		} else if (below(1000) == 0) {
			open_s(); /* close S alone: its buffers go, A's stay */
		}
	}
	sd_bus_close_unref(S.bus);
	sd_bus_flush_close_unref(A.bus);
	sd_bus_flush_close_unref(B.bus);
	_exit(0);
}

struct totals {
	uint64_t bytes, buffers;
};

static int totals_take(struct totals *t)
{
	struct bb_region rs[BB_MAX_REGIONS];
	int n = bb_regions(rs, BB_MAX_REGIONS);
	t->bytes = t->buffers = 0;
	if (n == -ENOENT) /* no module (the host run): nothing to count */
		return 0;
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct bb_stats s;
		if (bb_region_stats(&rs[i], &s) < 0)
			return -EIO;
		t->bytes += s.bytes_allocated;
		t->buffers += s.buffers_allocated;
	}
	return 0;
}

static bool opt_concurrent;

static bool ours(const char *name)
{
	for (int i = 0; i < res->n_conns; i++)
		if (!strcmp(res->conns[i], name))
			return true;
	return false;
}

/* Usage() rows with bytes or buffers (all clients; with --concurrent only the fuzzer's
 * connections). -1 on error. */
static long usage_nonzero(sd_bus *bus)
{
	sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	long n = 0;
	int r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "Usage", &e, &reply, "");
	if (r >= 0)
		r = sd_bus_message_enter_container(reply, 'a', "(susstu)");
	while (r >= 0) {
		const char *name, *unit, *role;
		uint32_t uid, bufs;
		uint64_t bytes;
		r = sd_bus_message_read(reply, "(susstu)", &name, &uid, &unit, &role, &bytes, &bufs);
		if (r <= 0)
			break;
		if (!opt_concurrent || ours(name))
			n += bytes || bufs;
	}
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	return r < 0 ? -1 : n;
}

static void case_fuzz(struct h_case *c, void *v)
{
	(void)v;
	struct totals base, now;
	sd_bus *bus = NULL;
	uint32_t ver = 0;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(c, res != MAP_FAILED, "mmap");
	memset(res, 0, sizeof(*res));
	CHECK(c, totals_take(&base) == 0, "sysfs");
	if (!opt_concurrent) {
		CHECK(c, sd_bus_open_system(&bus) >= 0, "system bus");
		CHECK(c, usage_nonzero(bus) == 0, "Usage() is not empty before the fuzzing");
		/* not kept open across the run: an idle connection is dropped by the bus */
		bus = sd_bus_flush_close_unref(bus);
	}
	h_note("dbus_fuzz: seed %" PRIu64 ", up to %lu calls or %lu s, as %s", opt_seed, opt_iterations, opt_seconds,
	       opt_user);
	uint64_t t0 = bb_now_ns();
	fflush(stdout);
	pid_t pid = fork();
	CHECK(c, pid >= 0, "fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fuzzer();
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK(c, sd_bus_open_system(&bus) >= 0, "system bus");
	double secs = (double)(bb_now_ns() - t0) / 1e9;
	int alive = kill(daemon_pid, 0) == 0;
	int r = sd_bus_get_property_trivial(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "Version", &e, 'u', &ver);
	long nz = -1;
	bool tz = false;
	for (int i = 0; i < 100; i++) {
		nz = usage_nonzero(bus);
		tz = totals_take(&now) == 0 && now.bytes == base.bytes && now.buffers == base.buffers;
		if (opt_concurrent) /* other clients run: the soak's final check covers the counters */
			tz = true;
		if (nz == 0 && tz)
			break;
		msleep(50);
	}
	char byname[1500];
	int used = 0;
	for (int i = 0; i < res->n_names; i++)
		used += snprintf(byname + used, sizeof(byname) - (size_t)used, "%s%s %lu", i ? ", " : "",
				 res->names[i], (unsigned long)res->count[i]);
	h_note("%lu calls in %.1f s, errors by name: %s", (unsigned long)res->calls, secs, byname);
	char pm[600];
	used = 0;
	for (int i = 0; i < M_N; i++)
		used += snprintf(pm + used, sizeof(pm) - (size_t)used, "%s%s %lu", i ? ", " : "", m_names[i],
				 res->per_method[i]);
	h_note("dbus_fuzz: per method: %s; %lu not sent (sd-bus refused to build them)", pm,
	       (unsigned long)res->send_errors);
	if (opt_concurrent)
		h_note("dbus_fuzz: %d crashes, %lu timeouts, %lu unexpected replies; afterwards Usage() rows of the "
		       "fuzzer's %d connections with buffers: %ld (ran next to the soak: its final check covers "
		       "the module counters)",
		       alive && r >= 0 ? 0 : 1, (unsigned long)res->timeouts, (unsigned long)res->bad, res->n_conns, nz);
	else
		h_note("dbus_fuzz: %d crashes, %lu timeouts, %lu unexpected replies; afterwards Usage() rows with buffers "
		       "%ld, module counters %+" PRId64 " bytes / %+" PRId64 " buffers vs baseline",
		       alive && r >= 0 ? 0 : 1, (unsigned long)res->timeouts, (unsigned long)res->bad, nz,
		       (int64_t)(now.bytes - base.bytes), (int64_t)(now.buffers - base.buffers));
	CHECK(c, WIFEXITED(st) && WEXITSTATUS(st) == 0, "the fuzzer did not finish (status 0x%x)", st);
	CHECK(c, alive && r >= 0 && ver == 1, "bufbrokerd died or does not answer Version: %s",
	      r < 0 ? strerror(-r) : "gone");
	CHECK(c, res->timeouts == 0, "%lu calls timed out or got NoReply", (unsigned long)res->timeouts);
	CHECK(c, res->bad == 0, "%lu replies without an acceptable named error, first: %s", (unsigned long)res->bad,
	      res->first_bad);
	CHECK(c, nz == 0, "Usage() still lists %ld clients with buffers", nz);
	CHECK(c, tz, "module counters %" PRIu64 " bytes / %" PRIu64 " buffers, baseline %" PRIu64 " / %" PRIu64,
	      now.bytes, now.buffers, base.bytes, base.buffers);
out:
	sd_bus_error_free(&e);
	sd_bus_flush_close_unref(bus);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	opt_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--daemon-pid"))
			daemon_pid = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--iterations"))
			opt_iterations = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--max-seconds"))
			opt_seconds = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--seed"))
			opt_seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--user"))
			opt_user = argv[i + 1];
		else if (!strcmp(argv[i], "--concurrent"))
			opt_concurrent = strcmp(argv[i + 1], "0") != 0;
		else {
			fprintf(stderr, "usage: dbus_fuzz --daemon-pid PID [--iterations N] [--max-seconds S] [--seed S] [--user U]\n");
			return 2;
		}
	}
	if (daemon_pid <= 0) {
		fprintf(stderr, "dbus_fuzz: --daemon-pid is required\n");
		return 2;
	}
	h_init("dbus_fuzz");
	h_set_timeout((unsigned int)opt_seconds + 180);
	char name[128];
	snprintf(name, sizeof(name), "hostile arguments to every method (up to %lu calls): named errors, daemon up, accounting kept",
		 opt_iterations);
	h_run(name, case_fuzz, NULL);
	return h_exit_status();
}
