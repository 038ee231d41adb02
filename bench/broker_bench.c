// SPDX-License-Identifier: MIT
/*
 * broker_bench: what bufbrokerd costs, measured against the alternatives in the same run.
 * Dynamic, linked with libbufbroker (+ libsystemd for the plain D-Bus round trip). Root, with
 * bufbrokerd running and a role that root may use (tests/guest/policy-bench.conf: role bench).
 *
 *   broker_bench latency --role R --heap H [--reps N] [--max-size BYTES] --out DIR
 *       DIR/rtt.csv     op,n,med_us,p99_us,max_us: Properties.Get Version and Peer.Ping to the
 *                       daemon (sd-bus, own connection) = one plain D-Bus method round trip,
 *                       through dbus-daemon (dbus_*) and on a private session (session_*)
 *       DIR/broker.csv  size_bytes,n,direct_med_us,direct_p99_us,broker_med_us,broker_p99_us,
 *                       bus_med_us,bus_p99_us:
 *                       direct = DMA_HEAP_IOCTL_ALLOC on /dev/dma_heap/H + close;
 *                       broker = bb_client_alloc(R) + bb_client_release (Allocate + Release),
 *                       the library's default (private session); bus = the same with
 *                       BB_CONNECT_NO_SESSION (through dbus-daemon);
 *                       interleaved rep by rep so all three see the same noise; from 1 to
 *                       8 MiB also set_* (per buffer): a queue of 4 held together, direct
 *                       (4 ioctls + 4 closes) against one AllocateSet + one ReleaseSet;
 *                       then direct_alloc_* and broker_alloc_*: the ioctl and the Allocate
 *                       alone, out of the same repetitions
 *       DIR/share.csv   op,n,med_us,p99_us,max_us: Share(role:R) on one connection + Import on a
 *                       second connection (the token's round trip), 64 KiB buffer; share_import
 *                       on sessions, share_import_bus through dbus-daemon
 *       DIR/split.csv   size_bytes,op,n,med_us,p99_us,max_us: each call of the broker path
 *                       alone (Allocate, Release) next to the direct ioctl and close, List and
 *                       Properties.Get, at 4 KiB and 16 MiB
 *   broker_bench scale --role R --clients N [--ops M] [--size BYTES] [--transport session|bus] --out FILE
 *       N processes, one connection each, start together (pipe barrier), M x (Allocate +
 *       Release) each, on private sessions (default) or through dbus-daemon. Appends
 *       clients,ops,failures,wall_s,ops_per_s,p50_us,p99_us,max_us,transport.
 *   broker_bench rss --role R --daemon-pid PID [--count K] [--size BYTES] --out FILE
 *       The daemon's VmRSS idle (client connected) and with K live buffers (the client closes
 *       its own fds; the daemon keeps its own). Appends
 *       count,size_bytes,failures,rss_idle_kb,rss_live_kb,hwm_kb,per_buffer_bytes,daemon_fds.
 *   broker_bench hold --role R [--reps N] [--rounds K] [--pause-ms MS] [--size BYTES] [--phase NAME] --out FILE
 *       K rounds of: up to N Allocate calls, buffers kept, each timed; then all released, and
 *       MS ms of pause before the next round.
 *       Every buffer is checked to arrive zeroed, then dirtied (untimed).
 *       Appends phase,role,size_bytes,n,failures,med_us,p99_us,max_us,recycled,not_zeroed
 *       (recycled: the module's live-buffer count did not grow, i.e. a reserved buffer; bench.sh:
 *       idle and under pressure, for a role with `reserve =` and one without).
 * Progress and figures on stdout as "# " lines.
 */
#include "bbutil.h"
#include "rawsession.h"

#include <bufbroker/bufbroker.h>
#include <systemd/sd-bus.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/dma-buf.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEST "org.bufbroker.Broker1"
#define PATH "/org/bufbroker/Broker1"

struct dist {
	double med, p99, max;
	int n;
};

static struct dist summarize(uint64_t *ns, int n)
{
	struct dist d = { 0, 0, 0, n };
	if (n <= 0)
		return d;
	qsort(ns, (size_t)n, sizeof(*ns), bb_cmp_u64);
	int i99 = (n * 99 + 99) / 100 - 1;
	if (i99 >= n)
		i99 = n - 1;
	if (i99 < 0)
		i99 = 0;
	d.med = (n % 2 ? (double)ns[n / 2] : (ns[n / 2 - 1] + ns[n / 2]) / 2.0) / 1e3;
	d.p99 = (double)ns[i99] / 1e3;
	d.max = (double)ns[n - 1] / 1e3;
	return d;
}

static const char *role = "bench", *heap = "camera", *out;
static int reps = 50, clients = 1, ops = 0, count = 1000;
static uint64_t max_size = 32 * MiB, buf_size = 64 * KiB;
static pid_t daemon_pid;

static FILE *open_csv(const char *path, const char *header)
{
	FILE *f = fopen(path, "a");
	if (!f) {
		printf("# %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	if (ftell(f) == 0)
		fprintf(f, "%s\n", header);
	return f;
}

static FILE *open_in_dir(const char *name, const char *header)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", out, name);
	return open_csv(p, header);
}

static int connect_or_die_flags(struct bb_client **c, unsigned int flags)
{
	int r = bb_client_connect(c, flags);
	if (r < 0) {
		printf("# connect: %s\n", strerror(-r));
		exit(1);
	}
	return 0;
}

#define connect_or_die(c) connect_or_die_flags((c), 0)

/* Destination of plain calls: NULL on a peer-to-peer session (no bus names there). */
static const char *dest_of(sd_bus *bus)
{
	return sd_bus_is_bus_client(bus) > 0 ? DEST : NULL;
}

static int dbus_get_version(sd_bus *bus)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint32_t v = 0;
	int r = sd_bus_get_property_trivial(bus, dest_of(bus), PATH, DEST, "Version", &e, 'u', &v);
	sd_bus_error_free(&e);
	return r < 0 ? r : (int)v;
}

static int dbus_ping(sd_bus *bus)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r = sd_bus_call_method(bus, dest_of(bus), PATH, "org.freedesktop.DBus.Peer", "Ping", &e,
				   &reply, "");
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return r;
}

static void rtt_row(FILE *f, const char *op, uint64_t *ns, int n)
{
	struct dist d = summarize(ns, n);
	fprintf(f, "%s,%d,%.1f,%.1f,%.1f\n", op, d.n, d.med, d.p99, d.max);
	printf("# %-24s n=%d med %.1f us p99 %.1f us max %.1f us\n", op, d.n, d.med, d.p99, d.max);
}

/*
 * One Allocate + Release of @len on @c, timed into *@ns, the Allocate alone into *@alloc_ns. On
 * failure prints the error, prefixed with @label (NULL: silent). Return: 0 or -errno.
 */
static int alloc_release_timed(struct bb_client *c, uint64_t len, const char *label, uint64_t *ns,
			       uint64_t *alloc_ns)
{
	struct bb_buffer *buf = NULL;
	uint64_t t0 = bb_now_ns();
	int r = bb_client_alloc(c, role, len, NULL, &buf);
	uint64_t t1 = bb_now_ns();
	int r2 = r < 0 ? 0 : bb_client_release(c, buf);

	*ns = bb_now_ns() - t0;
	*alloc_ns = t1 - t0;
	if (r < 0 || r2 < 0) {
		if (label)
			printf("# %s %" PRIu64 ": %s: %s\n", label, len, bb_strerror(r < 0 ? r : r2),
			       bb_client_last_error_message(c));
		return r < 0 ? r : r2;
	}
	return 0;
}

/* The buffer queue of the set benchmark: as many buffers as a camera typically queues. */
#define SET_N 4

/*
 * A queue of SET_N buffers of @len: held together, then all freed. Direct (@hfd: SET_N ioctls,
 * SET_N closes) or through the broker (@c: one AllocateSet, one ReleaseSet). The time of the whole
 * in *@ns. 0 or -errno.
 */
static int set_timed(struct bb_client *c, int hfd, uint64_t len, uint64_t *ns)
{
	struct bb_buffer *bufs[SET_N] = { NULL };
	int fds[SET_N], r = 0, n = 0;
	uint64_t t0 = bb_now_ns();

	if (c) {
		r = bb_client_alloc_set(c, role, len, SET_N, NULL, bufs);
		if (r >= 0)
			r = bb_client_release_set(c, bufs, SET_N);
	} else {
		for (; n < SET_N && r >= 0; n++)
			r = fds[n] = bb_heap_alloc(hfd, len);
		for (int i = 0; i < n; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	*ns = bb_now_ns() - t0;
	if (r < 0)
		printf("# set of %d x %" PRIu64 " (%s): %s%s%s\n", SET_N, len, c ? "broker" : "direct", bb_strerror(r),
		       c ? ": " : "", c ? bb_client_last_error_message(c) : "");
	return r < 0 ? r : 0;
}

/* A raw private session (OpenSession) for plain round trips without dbus-daemon; NULL if none. */
static sd_bus *open_raw_session(sd_bus *bus)
{
	sd_bus *s = NULL;

	return bb_raw_session_open(bus, &s, NULL) < 0 ? NULL : s;
}

/* n timed calls of @fn on @bus into @ns; returns how many succeeded. */
static int time_calls(int (*fn)(sd_bus *), sd_bus *bus, int want, uint64_t *ns, int reps_n)
{
	int n = 0;

	for (int i = 0; i < 5; i++)
		fn(bus);
	for (int i = 0; i < reps_n; i++) {
		uint64_t t0 = bb_now_ns();
		int r = fn(bus);
		uint64_t t1 = bb_now_ns();
		if (r < 0 || (want >= 0 && r != want))
			continue;
		ns[n++] = t1 - t0;
	}
	return n;
}

/*
 * Share @buf of @owner with @target, import the token on @importer, release the import. Times the
 * pair into *@pair_ns and the Share alone into *@share_ns (if not NULL). 0 or -errno.
 */
static int share_import_once(struct bb_client *owner, struct bb_buffer *buf, struct bb_client *importer,
			     const char *target, uint64_t *pair_ns, uint64_t *share_ns)
{
	char tok[BB_TOKEN_MAX];
	struct bb_buffer *imp = NULL;
	uint64_t t0 = bb_now_ns();
	int r = bb_client_share(owner, bb_buffer_get_id(buf), target, tok, sizeof(tok));
	uint64_t t1 = bb_now_ns();
	int r2 = r < 0 ? r : bb_client_import(importer, tok, &imp);
	uint64_t t2 = bb_now_ns();

	if (r < 0 || r2 < 0) {
		printf("# share/import: %s / %s\n", bb_client_last_error_message(owner),
		       bb_client_last_error_message(importer));
		return r < 0 ? r : r2;
	}
	bb_client_release(importer, imp);
	*pair_ns = t2 - t0;
	if (share_ns)
		*share_ns = t1 - t0;
	return 0;
}

/* The calls split_calls() times, in the order they run. */
enum { SPLIT_DIRECT_ALLOC, SPLIT_DIRECT_CLOSE, SPLIT_ALLOCATE, SPLIT_RELEASE, SPLIT_LIST, SPLIT_GET, SPLIT_N };

/*
 * Time each call of an Allocate + Release of @len alone, next to the direct ioctl and close of the
 * same size on @hfd and two plain round trips (List on the same connection, Properties.Get through
 * dbus-daemon), reps times interleaved. Appends one split.csv row per call. 0, or -errno when no
 * repetition succeeded.
 */
static int split_calls(FILE *sp, struct bb_client *c, sd_bus *bus, int hfd, uint64_t len)
{
	static const char *const names[SPLIT_N] = {
		"direct ioctl alloc", "direct close", "Allocate (bb_client_alloc)",
		"Release (bb_client_release)", "List (bb_client_list_buffers)", "Properties.Get Version (sd-bus)",
	};
	uint64_t *t[SPLIT_N] = { NULL };
	int n = 0, r = 0;

	for (int k = 0; k < SPLIT_N; k++) {
		t[k] = calloc((size_t)reps, sizeof(uint64_t));
		if (!t[k])
			r = -ENOMEM;
	}
	for (int i = 0; i < reps && r == 0; i++) {
		struct bb_buffer *buf = NULL;
		struct bb_buffer_info *li = NULL;
		size_t nli = 0;
		uint64_t ts[SPLIT_N + 1];

		ts[0] = bb_now_ns();
		int fd = bb_heap_alloc(hfd, len);
		ts[1] = bb_now_ns();
		if (fd >= 0)
			close(fd);
		ts[2] = bb_now_ns();
		int r1 = bb_client_alloc(c, role, len, NULL, &buf);
		ts[3] = bb_now_ns();
		int r2 = r1 < 0 ? r1 : bb_client_release(c, buf);
		ts[4] = bb_now_ns();
		int r3 = bb_client_list_buffers(c, &li, &nli);
		ts[5] = bb_now_ns();
		bb_buffer_info_free(li, nli);
		int r4 = dbus_get_version(bus);
		ts[6] = bb_now_ns();
		if (fd < 0 || r1 < 0 || r2 < 0 || r3 < 0 || r4 != 1) {
			printf("# split %" PRIu64 ": direct %s, broker %s\n", len, fd < 0 ? strerror(-fd) : "ok",
			       bb_client_last_error_message(c));
			continue;
		}
		for (int k = 0; k < SPLIT_N; k++)
			t[k][n] = ts[k + 1] - ts[k];
		n++;
	}
	for (int k = 0; k < SPLIT_N && r == 0; k++) {
		struct dist d = summarize(t[k], n);

		fprintf(sp, "%" PRIu64 ",%s,%d,%.1f,%.1f,%.1f\n", len, names[k], d.n, d.med, d.p99, d.max);
		printf("# split %" PRIu64 " %-32s n=%d med %.1f us p99 %.1f us\n", len, names[k], d.n, d.med, d.p99);
	}
	for (int k = 0; k < SPLIT_N; k++)
		free(t[k]);
	return r < 0 ? r : (n ? 0 : -EIO);
}

static int cmd_latency(void)
{
	static const uint64_t sizes[] = { 4 * KiB,  64 * KiB, 256 * KiB, 1 * MiB,
					  4 * MiB, 8 * MiB,  16 * MiB,  32 * MiB };
	uint64_t *a = calloc((size_t)reps * 4, sizeof(*a)), *b = calloc((size_t)reps * 4, sizeof(*b));
	struct bb_client *c;
	sd_bus *bus = NULL;
	int rc = 0;

	if (!a || !b)
		return 1;
	connect_or_die(&c);
	if (sd_bus_open_system(&bus) < 0) {
		printf("# sd_bus_open_system failed\n");
		return 1;
	}

	/* One plain D-Bus method round trip to the daemon: through dbus-daemon, and on a private
	 * session (what the library uses by default). */
	FILE *rtt = open_in_dir("rtt.csv", "op,n,med_us,p99_us,max_us");
	sd_bus *sess = open_raw_session(bus);
	int n = time_calls(dbus_get_version, bus, 1, a, reps * 4);
	if (n < reps * 4)
		rc = 1;
	rtt_row(rtt, "dbus_get_version", a, n);
	n = time_calls(dbus_ping, bus, -1, a, reps * 4);
	rtt_row(rtt, "dbus_ping", a, n);
	if (sess) {
		n = time_calls(dbus_get_version, sess, 1, a, reps * 4);
		rtt_row(rtt, "session_get_version", a, n);
		n = time_calls(dbus_ping, sess, -1, a, reps * 4);
		rtt_row(rtt, "session_ping", a, n);
	} else {
		printf("# OpenSession failed: no session round trips\n");
		rc = 1;
	}
	fclose(rtt);

	/* Broker vs direct, per size, interleaved. */
	FILE *bf = open_in_dir("broker.csv", "size_bytes,n,direct_med_us,direct_p99_us,broker_med_us,"
					     "broker_p99_us,bus_med_us,bus_p99_us,set_direct_med_us,set_direct_p99_us,"
					     "set_broker_med_us,set_broker_p99_us,direct_alloc_med_us,"
					     "direct_alloc_p99_us,broker_alloc_med_us,broker_alloc_p99_us");
	struct bb_client *cb_client;
	uint64_t *cb = calloc((size_t)reps * 4, sizeof(*cb)), *set_d = calloc((size_t)reps * 4, sizeof(*set_d)),
		 *set_b = calloc((size_t)reps * 4, sizeof(*set_b));
	/* The allocating call alone, out of the rows above: the ioctl, the Allocate. */
	uint64_t *a_alloc = calloc((size_t)reps * 4, sizeof(*a_alloc)),
		 *b_alloc = calloc((size_t)reps * 4, sizeof(*b_alloc));

	connect_or_die_flags(&cb_client, BB_CONNECT_NO_SESSION);
	if (!cb || !set_d || !set_b || !a_alloc || !b_alloc)
		return 1;
	int hfd = bb_heap_open(heap);
	if (hfd < 0) {
		printf("# open heap %s: %s\n", heap, strerror(errno));
		return 1;
	}
	printf("# broker (role %s) vs direct (heap %s), %d reps: size direct_med direct_p99 "
	       "broker_med broker_p99 ratio\n", role, heap, reps);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint64_t len = sizes[s];
		if (len > max_size)
			continue;
		int na = 0, nb = 0, nc = 0, nsd = 0, nsb = 0;
		/* Buffer queues from 1 MiB up, as long as SET_N of them fit in the camera region twice. */
		bool sets = len >= MiB && len <= 8 * MiB;
		for (int i = -2; i < reps; i++) { /* two warm-up rounds */
			uint64_t t0 = bb_now_ns();
			int fd = bb_heap_alloc(hfd, len);
			uint64_t t_alloc = bb_now_ns();
			if (fd >= 0)
				close(fd);
			uint64_t t1 = bb_now_ns();
			if (fd < 0) {
				printf("# direct %" PRIu64 ": %s\n", len, strerror(-fd));
				rc = 1;
			} else if (i >= 0) {
				a_alloc[na] = t_alloc - t0;
				a[na++] = t1 - t0;
			}
			uint64_t ns, alloc_ns;
			if (alloc_release_timed(c, len, "broker", &ns, &alloc_ns) < 0)
				rc = 1;
			else if (i >= 0) {
				b_alloc[nb] = alloc_ns;
				b[nb++] = ns;
			}
			/* The same through dbus-daemon (BB_CONNECT_NO_SESSION). */
			if (alloc_release_timed(cb_client, len, "bus", &ns, &alloc_ns) < 0)
				rc = 1;
			else if (i >= 0)
				cb[nc++] = ns;
			if (!sets)
				continue;
			/* A queue of SET_N: the direct ioctls against one AllocateSet + ReleaseSet. */
			if (set_timed(NULL, hfd, len, &ns) < 0)
				rc = 1;
			else if (i >= 0)
				set_d[nsd++] = ns / SET_N;
			if (set_timed(c, -1, len, &ns) < 0)
				rc = 1;
			else if (i >= 0)
				set_b[nsb++] = ns / SET_N;
		}
		struct dist d = summarize(a, na), br = summarize(b, nb), bu = summarize(cb, nc);
		int nmin = nb < na ? nb : na;

		fprintf(bf, "%" PRIu64 ",%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f", len, nc < nmin ? nc : nmin, d.med,
			d.p99, br.med, br.p99, bu.med, bu.p99);
		if (sets && nsd && nsb) {
			struct dist ds = summarize(set_d, nsd), bs = summarize(set_b, nsb);

			fprintf(bf, ",%.1f,%.1f,%.1f,%.1f", ds.med, ds.p99, bs.med, bs.p99);
			printf("# set of %d x %" PRIu64 ", per buffer: direct %.1f us, broker %.1f us, %.2f\n", SET_N, len,
			       ds.med, bs.med, ds.med > 0 ? bs.med / ds.med : 0.0);
		} else {
			fprintf(bf, ",,,,");
		}
		struct dist da = summarize(a_alloc, na), ba = summarize(b_alloc, nb);
		fprintf(bf, ",%.1f,%.1f,%.1f,%.1f\n", da.med, da.p99, ba.med, ba.p99);
		fflush(bf);
		printf("# %10" PRIu64 " %10.1f %10.1f %10.1f %10.1f %6.2f (bus %10.1f %6.2f)\n", len, d.med, d.p99,
		       br.med, br.p99, d.med > 0 ? br.med / d.med : 0.0, bu.med, d.med > 0 ? bu.med / d.med : 0.0);
	}
	fclose(bf);
	free(cb);
	free(set_d);
	free(set_b);
	free(a_alloc);
	free(b_alloc);
	bb_client_free(cb_client);

	/* Where the broker's time goes: each call alone, at 4 KiB and at 16 MiB. */
	FILE *sp = open_in_dir("split.csv", "size_bytes,op,n,med_us,p99_us,max_us");
	if (split_calls(sp, c, bus, hfd, 4 * KiB) < 0 ||
	    (16 * MiB <= max_size && split_calls(sp, c, bus, hfd, 16 * MiB) < 0))
		rc = 1;
	fclose(sp);
	close(hfd);

	/* Share + Import (64 KiB buffer) against one round trip, on sessions (the default) and
	 * through dbus-daemon (BB_CONNECT_NO_SESSION). The importers connect now: an idle, never-used
	 * bus connection is dropped by dbus-daemon (auth_timeout). */
	struct bb_client *cbus, *c2, *cbus2;
	connect_or_die(&c2);
	connect_or_die_flags(&cbus, BB_CONNECT_NO_SESSION);
	connect_or_die_flags(&cbus2, BB_CONNECT_NO_SESSION);
	FILE *sf = open_in_dir("share.csv", "op,n,med_us,p99_us,max_us");
	struct bb_buffer *owner = NULL, *owner_bus = NULL;
	if (bb_client_alloc(c, role, 64 * KiB, NULL, &owner) < 0 ||
	    bb_client_alloc(cbus, role, 64 * KiB, NULL, &owner_bus) < 0) {
		printf("# share: alloc: %s / %s\n", bb_client_last_error_message(c),
		       bb_client_last_error_message(cbus));
		return 1;
	}
	{
		struct bb_buffer_info *li = NULL;
		size_t nli = 0;
		if (bb_client_list_buffers(c2, &li, &nli) == 0)
			bb_buffer_info_free(li, nli);
		if (bb_client_list_buffers(cbus2, &li, &nli) == 0)
			bb_buffer_info_free(li, nli);
	}
	char target[64];
	snprintf(target, sizeof(target), "role:%s", role);
	uint64_t *g = calloc((size_t)reps * 2, sizeof(*g)), *gs = calloc((size_t)reps * 2, sizeof(*gs)),
		 *sb = calloc((size_t)reps * 2, sizeof(*sb));
	int ns = 0, ng = 0, ngs = 0, nsb = 0, fails = 0;
	n = 0;
	for (int i = -2; i < reps * 2 && g && gs && sb && fails < 5; i++) {
		uint64_t t_pair, t_share, t_bus;
		uint64_t tg = bb_now_ns();
		int rg = dbus_get_version(bus);
		tg = bb_now_ns() - tg;
		if (rg == 1 && i >= 0)
			g[ng++] = tg;
		if (sess) {
			tg = bb_now_ns();
			rg = dbus_get_version(sess);
			tg = bb_now_ns() - tg;
			if (rg == 1 && i >= 0)
				gs[ngs++] = tg;
		}
		if (share_import_once(c, owner, c2, target, &t_pair, &t_share) < 0 ||
		    share_import_once(cbus, owner_bus, cbus2, target, &t_bus, NULL) < 0) {
			rc = 1;
			fails++; /* broken: do not pile up tokens */
			continue;
		}
		if (i >= 0) {
			a[n++] = t_pair;
			b[ns++] = t_share;
			sb[nsb++] = t_bus;
		}
	}
	rtt_row(sf, "share_import", a, n);
	rtt_row(sf, "share_only", b, ns);
	rtt_row(sf, "share_import_bus", sb, nsb);
	rtt_row(sf, "get_version_interleaved", g, ng);
	rtt_row(sf, "session_get_version_interleaved", gs, ngs);
	free(g);
	free(gs);
	free(sb);
	fclose(sf);
	bb_client_release(c, owner);
	bb_client_release(cbus, owner_bus);
	bb_client_free(c);
	bb_client_free(c2);
	bb_client_free(cbus);
	bb_client_free(cbus2);
	if (sess)
		sd_bus_close_unref(sess);
	sd_bus_unref(bus);
	free(a);
	free(b);
	return rc;
}

/* ---- scale ------------------------------------------------------------------------------- */

struct child_hdr {
	uint64_t t_start, t_end;
	int n, failures;
};

static bool transport_bus; /* scale: BB_CONNECT_NO_SESSION */

static void scale_child(int idx, int ready_w, int start_r)
{
	struct bb_client *c;
	char path[64];
	snprintf(path, sizeof(path), "/tmp/bb-scale.%d", idx);
	FILE *f = fopen(path, "w");
	uint64_t *ns = calloc((size_t)ops, sizeof(*ns));
	struct child_hdr h = { 0, 0, 0, 0 };
	if (!f || !ns)
		_exit(2);
	if (bb_client_connect(&c, transport_bus ? BB_CONNECT_NO_SESSION : 0) < 0)
		_exit(3);
	/* Warm-up: the daemon registers the client (and the library opens its session). */
	char label[32];
	uint64_t t, t_alloc;
	alloc_release_timed(c, buf_size, NULL, &t, &t_alloc);
	snprintf(label, sizeof(label), "client %d", idx);
	char x = 'r';
	if (write(ready_w, &x, 1) != 1)
		_exit(4);
	close(ready_w);
	if (read(start_r, &x, 1) < 0) /* EOF when the parent closes: start */
		_exit(5);
	h.t_start = bb_now_ns();
	for (int i = 0; i < ops; i++) {
		if (alloc_release_timed(c, buf_size, h.failures < 3 ? label : NULL, &t, &t_alloc) < 0) {
			h.failures++;
			continue;
		}
		ns[h.n++] = t;
	}
	h.t_end = bb_now_ns();
	fwrite(&h, sizeof(h), 1, f);
	fwrite(ns, sizeof(*ns), (size_t)h.n, f);
	fclose(f);
	bb_client_free(c);
	_exit(0);
}

static int cmd_scale(void)
{
	int ready[2], start[2];
	if (!ops)
		ops = clients >= 16 ? 20 : (clients >= 4 ? 40 : 100);
	if (pipe(ready) < 0 || pipe(start) < 0)
		return 1;
	pid_t *pids = calloc((size_t)clients, sizeof(*pids));
	for (int i = 0; i < clients; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			printf("# fork: %s\n", strerror(errno));
			return 1;
		}
		if (pids[i] == 0) {
			close(ready[0]);
			close(start[1]);
			scale_child(i, ready[1], start[0]);
		}
	}
	close(ready[1]);
	close(start[0]);
	int got = 0;
	char x;
	while (got < clients && read(ready[0], &x, 1) == 1)
		got++;
	close(start[1]); /* go */
	int failures = 0, total = 0, crashed = 0;
	for (int i = 0; i < clients; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			crashed++;
	}
	uint64_t *all = calloc((size_t)clients * (size_t)ops, sizeof(*all));
	uint64_t t_start = UINT64_MAX, t_end = 0;
	for (int i = 0; i < clients; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/tmp/bb-scale.%d", i);
		FILE *f = fopen(path, "r");
		struct child_hdr h;
		if (!f || fread(&h, sizeof(h), 1, f) != 1) {
			failures += ops;
			if (f)
				fclose(f);
			continue;
		}
		if (h.n > ops)
			h.n = ops;
		total += (int)fread(all + total, sizeof(*all), (size_t)h.n, f);
		failures += h.failures;
		if (h.t_start < t_start)
			t_start = h.t_start;
		if (h.t_end > t_end)
			t_end = h.t_end;
		fclose(f);
		unlink(path);
	}
	double wall = t_end > t_start ? (double)(t_end - t_start) / 1e9 : 0;
	struct dist d = summarize(all, total);
	FILE *f = open_csv(out, "clients,ops,failures,wall_s,ops_per_s,p50_us,p99_us,max_us,transport");
	fprintf(f, "%d,%d,%d,%.3f,%.1f,%.1f,%.1f,%.1f,%s\n", clients, total, failures + crashed, wall,
		wall > 0 ? total / wall : 0, d.med, d.p99, d.max, transport_bus ? "bus" : "session");
	fclose(f);
	printf("# scale clients=%d ops=%d failures=%d crashed=%d wall=%.2f s %.1f ops/s p50 %.1f us "
	       "p99 %.1f us max %.1f us\n", clients, total, failures, crashed, wall,
	       wall > 0 ? total / wall : 0, d.med, d.p99, d.max);
	free(all);
	free(pids);
	return failures || crashed;
}

/* ---- hold: allocations under pressure, with and without a reservation ---------------------- */

static const char *phase = "idle";
static int rounds = 1, pause_ms;

/* Buffers the module has live in all regions (sysfs): unchanged across an Allocate means the
 * daemon handed out a reserved buffer instead of allocating. */
static uint64_t module_buffers(void)
{
	static struct bb_region rs[BB_MAX_REGIONS];
	int n = bb_regions(rs, BB_MAX_REGIONS);
	uint64_t t = 0;
	for (int i = 0; i < n; i++) {
		struct bb_stats st;
		if (bb_region_stats(&rs[i], &st) == 0)
			t += st.buffers_allocated;
	}
	return t;
}

/* What the daemon does to recycle a reserved buffer: mmap, SYNC START, memset 0, SYNC END,
 * munmap. Median of 5, in µs. */
static double zero_cost_us(int fd, uint64_t len)
{
	uint64_t ns[5];
	for (int i = 0; i < 5; i++) {
		uint64_t t0 = bb_now_ns();
		void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			return -1;
		bb_sync(fd, true, DMA_BUF_SYNC_WRITE);
		memset(m, 0, len);
		bb_sync(fd, false, DMA_BUF_SYNC_WRITE);
		munmap(m, len);
		ns[i] = bb_now_ns() - t0;
	}
	qsort(ns, 5, sizeof(ns[0]), bb_cmp_u64);
	return (double)ns[2] / 1e3;
}

static int cmd_hold(void)
{
	struct bb_client *c;
	connect_or_die(&c);
	struct bb_buffer **held = calloc((size_t)reps, sizeof(*held));
	uint64_t *ns = calloc((size_t)(reps * rounds), sizeof(*ns));
	int n = 0, failures = 0, not_zeroed = 0, map_failed = 0, recycled = 0;
	if (!held || !ns)
		return 1;
	{
		/* Warm-up: the daemon registers a client (bus credentials, tracking) on first contact. */
		struct bb_buffer_info *li = NULL;
		size_t nli = 0;
		if (bb_client_list_buffers(c, &li, &nli) == 0)
			bb_buffer_info_free(li, nli);
	}
	for (int k = 0; k < rounds; k++) {
		int h = 0;
		for (int i = 0; i < reps; i++) {
			uint64_t nb0 = module_buffers();
			uint64_t t0 = bb_now_ns();
			int r = bb_client_alloc(c, role, buf_size, NULL, &held[h]);
			uint64_t t1 = bb_now_ns();
			if (r >= 0 && module_buffers() == nb0)
				recycled++;
			if (r < 0) {
				failures++;
				printf("# hold %s round %d alloc #%d: %s: %s (stopping the round)\n", role, k, i,
				       bb_strerror(r), bb_client_last_error_message(c));
				break;
			}
			ns[n++] = t1 - t0;
			/* Untimed: every buffer must arrive zeroed (a recycled reserved one too); then
			 * dirty it for the next client. */
			void *m = NULL;
			if (bb_buffer_map(held[h], BB_ACCESS_READ_WRITE, &m) == 0) {
				const unsigned char *b = m;
				bb_buffer_begin_cpu_access(held[h], BB_ACCESS_READ_WRITE);
				for (uint64_t q = 0; q < buf_size; q++)
					if (b[q]) {
						not_zeroed++;
						break;
					}
				memset(m, 0xa5, buf_size);
				bb_buffer_end_cpu_access(held[h], BB_ACCESS_READ_WRITE);
				bb_buffer_unmap(held[h]);
			} else {
				map_failed++;
			}
			h++;
		}
		if (k == 0 && h > 0) {
			int zfd = bb_buffer_dup_fd(held[0]);
			if (zfd >= 0) {
				printf("# hold %s %s: zeroing one %" PRIu64 "-byte buffer the daemon's way "
				       "(mmap, sync, memset, sync, munmap): median %.0f us\n", phase, role,
				       buf_size, zero_cost_us(zfd, buf_size));
				close(zfd);
			}
		}
		for (int i = 0; i < h; i++)
			bb_client_release(c, held[i]);
		if (pause_ms > 0 && k + 1 < rounds)
			usleep((useconds_t)pause_ms * 1000); /* e.g. a camera stopping and restarting */
	}
	printf("# hold %s %s: %d buffers not zeroed on arrival, %d not mappable, %d of %d from the "
	       "reservation (no new module buffer)\n", phase, role, not_zeroed, map_failed, recycled, n);
	printf("# hold %s %s times (ms, in order):", phase, role);
	for (int i = 0; i < n; i++)
		printf(" %.1f", (double)ns[i] / 1e6);
	printf("\n");
	struct dist d = summarize(ns, n);
	FILE *f = open_csv(out, "phase,role,size_bytes,n,failures,med_us,p99_us,max_us,recycled,not_zeroed");
	fprintf(f, "%s,%s,%" PRIu64 ",%d,%d,%.1f,%.1f,%.1f,%d,%d\n", phase, role, buf_size, n, failures,
		d.med, d.p99, d.max, recycled, not_zeroed);
	fclose(f);
	printf("# hold %-9s role %s %" PRIu64 " bytes x %d, %d rounds: n=%d failures=%d med %.1f us p99 "
	       "%.1f us max %.1f us\n", phase, role, buf_size, reps, rounds, n, failures, d.med, d.p99,
	       d.max);
	bb_client_free(c);
	free(held);
	free(ns);
	return not_zeroed || map_failed ? 1 : 0;
}

/* ---- rss --------------------------------------------------------------------------------- */

/* VmRSS in /proc/PID/status lags (per-thread counters synced every 64 faults); smaps_rollup
 * walks the page tables: exact. */
static long status_kb_in(const char *file, const char *key)
{
	char p[64], buf[4096];
	snprintf(p, sizeof(p), "/proc/%d/%s", (int)daemon_pid, file);
	if (bb_read_file(p, buf, sizeof(buf)) < 0)
		return -1;
	char *s = strstr(buf, key);
	return s ? strtol(s + strlen(key) + 1, NULL, 10) : -1;
}

static long status_kb(const char *key)
{
	return status_kb_in("status", key);
}

static long rss_exact_kb(void)
{
	long v = status_kb_in("smaps_rollup", "\nRss:");
	return v >= 0 ? v : status_kb("VmRSS:");
}

static int daemon_fds(void)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/fd", (int)daemon_pid);
	DIR *d = opendir(p);
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2;
}

static int cmd_rss(void)
{
	struct bb_client *c;
	connect_or_die(&c);
	struct bb_buffer *buf = NULL;
	if (bb_client_alloc(c, role, buf_size, NULL, &buf) == 0)
		bb_client_release(c, buf);
	usleep(200000);
	long idle = rss_exact_kb();
	int fds_idle = daemon_fds();
	int failures = 0, first_err = 0;
	uint64_t t0 = bb_now_ns();
	for (int i = 0; i < count; i++) {
		buf = NULL;
		int r = bb_client_alloc(c, role, buf_size, NULL, &buf);
		if (r < 0) {
			if (!failures++) {
				first_err = i;
				printf("# rss: buffer %d: %s: %s\n", i, bb_strerror(r),
				       bb_client_last_error_message(c));
			}
			continue;
		}
		bb_buffer_free(buf); /* our fd only; the daemon keeps the buffer */
	}
	double secs = (double)(bb_now_ns() - t0) / 1e9;
	usleep(200000);
	long live = rss_exact_kb(), hwm = status_kb("VmHWM:");
	int fds = daemon_fds();
	int held = count - failures;
	double per = held > 0 ? (double)(live - idle) * 1024.0 / held : 0;
	FILE *f = open_csv(out, "count,size_bytes,failures,rss_idle_kb,rss_live_kb,hwm_kb,"
				"per_buffer_bytes,daemon_fds_idle,daemon_fds_live,alloc_s");
	fprintf(f, "%d,%" PRIu64 ",%d,%ld,%ld,%ld,%.0f,%d,%d,%.2f\n", count, buf_size, failures, idle,
		live, hwm, per, fds_idle, fds, secs);
	fclose(f);
	printf("# rss: %d buffers of %" PRIu64 " (failures %d, first at %d): Rss idle %ld kB, live "
	       "%ld kB, HWM %ld kB, %.0f bytes/buffer, daemon fds %d -> %d, %.2f s\n", held, buf_size,
	       failures, failures ? first_err : -1, idle, live, hwm, per, fds_idle, fds, secs);
	bb_client_free(c); /* disconnect: the daemon drops them all */
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'R' },   { "heap", required_argument, NULL, 'H' },
		{ "reps", required_argument, NULL, 'r' },   { "max-size", required_argument, NULL, 'm' },
		{ "out", required_argument, NULL, 'o' },    { "clients", required_argument, NULL, 'c' },
		{ "ops", required_argument, NULL, 'n' },    { "size", required_argument, NULL, 's' },
		{ "daemon-pid", required_argument, NULL, 'p' }, { "count", required_argument, NULL, 'k' },
		{ "phase", required_argument, NULL, 'P' }, { "rounds", required_argument, NULL, 'N' },
		{ "pause-ms", required_argument, NULL, 'w' }, { "transport", required_argument, NULL, 'T' },
		{ 0 },
	};
	int o;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: broker_bench latency|scale|rss|hold [options] (see the source)\n");
		return 2;
	}
	const char *cmd = argv[1];
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'R': role = optarg; break;
		case 'H': heap = optarg; break;
		case 'r': reps = atoi(optarg); break;
		case 'm': max_size = strtoull(optarg, NULL, 0); break;
		case 'o': out = optarg; break;
		case 'c': clients = atoi(optarg); break;
		case 'n': ops = atoi(optarg); break;
		case 's': buf_size = strtoull(optarg, NULL, 0); break;
		case 'p': daemon_pid = (pid_t)atoi(optarg); break;
		case 'k': count = atoi(optarg); break;
		case 'P': phase = optarg; break;
		case 'N': rounds = atoi(optarg); break;
		case 'w': pause_ms = atoi(optarg); break;
		case 'T':
			if (strcmp(optarg, "session") && strcmp(optarg, "bus")) {
				fprintf(stderr, "broker_bench: --transport takes session or bus, not '%s'\n", optarg);
				return 2;
			}
			transport_bus = !strcmp(optarg, "bus");
			break;
		default: return 2;
		}
	}
	if (!out || reps < 1 || clients < 1) {
		fprintf(stderr, "broker_bench: --out is required\n");
		return 2;
	}
	/* 1,000 live buffers: the client closes its fds, but allow for more anyway. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!strcmp(cmd, "latency"))
		return cmd_latency();
	if (!strcmp(cmd, "scale"))
		return cmd_scale();
	if (!strcmp(cmd, "rss"))
		return cmd_rss();
	if (!strcmp(cmd, "hold"))
		return cmd_hold();
	fprintf(stderr, "broker_bench: unknown command %s\n", cmd);
	return 2;
}
