// SPDX-License-Identifier: MIT
/*
 * reliability_test - faults, permissions and a soak against bufbrokerd + libbufbroker on the guest's
 * real `dbus-daemon --system` (tests/guest/reliability.sh).  Runs as root; clients of other uids are
 * forked children ("agents") that drop to the uid and obey text commands from the parent over a
 * SOCK_SEQPACKET socketpair (fds come back by SCM_RIGHTS, so root can check pagemap).
 *
 *   reliability_test kills --iterations N [--seed S] [--parallel P] [--settle SECS]
 *            (--settle: how long to wait for Usage() zero / counters at the baseline at the end,
 *            when other clients, e.g. the soak, run at the same time)
 *   reliability_test restart --daemon-pid PID --daemon-log FILE --pid-file FILE
 *   reliability_test exhaust
 *   reliability_test unload --daemon-pid PID --module PATH
 *   reliability_test perms
 *   reliability_test tokens [--tokens N]
 *   reliability_test soak --daemon-pid PID --seconds N [--seed S]
 *   reliability_test baseline      prints "BYTES BUFFERS" of the module's counters; kills and soak
 *                                  use $REL_BASELINE (that output) as their baseline if set
 *
 * Output: `ok - reliability: <case>` / `not ok - reliability: <case>: <reason>` (harness.c) and
 * `# ` figure lines.  Expected policy: daemon/policy/qemu-board.conf + tests/guest/policy-test.conf.
 */
#include "bbutil.h"
#include "clientmsg.h"
#include "harness.h"

#include <bufbroker/bufbroker.h>
#include <systemd/sd-bus.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef DRM_FORMAT_NV12
#define DRM_FORMAT_NV12 0x3231564e
#endif

#define BUS_NAME "org.bufbroker.Broker1"
#define BUS_PATH "/org/bufbroker/Broker1"
#define BUS_IFACE "org.bufbroker.Broker1"
#define R_CAMERA "camera@78000000"
#define R_DEFAULT "default_cma_region"
#define MODULE_NAME "bufbroker_heap"

static pid_t daemon_pid;
static const char *daemon_log, *pid_file, *module_path;
static unsigned long opt_iterations = 200, opt_seconds = 60, opt_tokens = 1000;
static unsigned int opt_parallel = 8;
static unsigned long opt_settle = 10;
static uint64_t opt_seed;

/* ---- small helpers ------------------------------------------------------------------------ */

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void usleep_(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* xorshift64* */
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}
static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}
static void rnd_seed(uint64_t s)
{
	rng_state = s ? s : 0x9E3779B97F4A7C15ULL;
	for (int i = 0; i < 4; i++)
		rnd();
}



/* Totals over every region of the module. */
struct totals {
	uint64_t bytes, buffers;
};

static int totals_take(struct totals *t)
{
	struct bb_region rs[BB_MAX_REGIONS];
	int n = bb_regions(rs, BB_MAX_REGIONS);
	t->bytes = t->buffers = 0;
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

/* The baseline: $REL_BASELINE ("BYTES BUFFERS", from `reliability_test baseline` taken while the
 * system was quiet) when tests run side by side, else the totals now. */
static int totals_base(struct totals *t)
{
	const char *env = getenv("REL_BASELINE");
	unsigned long long b, n;
	if (env && sscanf(env, "%llu %llu", &b, &n) == 2) {
		t->bytes = b;
		t->buffers = n;
		return 0;
	}
	return totals_take(t);
}

/* Wait until the totals are back at @base; *now gets the last reading. */
static bool totals_wait(const struct totals *base, struct totals *now, unsigned int ms)
{
	for (unsigned int t = 0;; t += 50) {
		if (totals_take(now) == 0 && now->bytes == base->bytes && now->buffers == base->buffers)
			return true;
		if (t >= ms)
			return false;
		msleep(50);
	}
}

/* Map @fd and check every page is in @region (pagemap, root only). */
static int check_fd_in_region(int fd, uint64_t size, const char *region, char *why, size_t len)
{
	struct bb_region r;
	if (bb_region_find(region, &r) < 0) {
		snprintf(why, len, "no region %s", region);
		return -1;
	}
	void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(why, len, "mmap: %s", strerror(errno));
		return -1;
	}
	char msg[256] = "";
	int ret = bb_check_phys(p, size, r.bounds_known ? r.base : 0, r.bounds_known ? r.size : 0,
				true, msg, sizeof(msg));
	munmap(p, size);
	if (ret < 0)
		snprintf(why, len, "buffer of %" PRIu64 " bytes vs region %s: %s", size, region, msg);
	return ret < 0 ? -1 : 0;
}

/* Usage(): sum of bytes and buffers of every row (of @uid if != -1). */
static int usage_sum(uint32_t uid, uint64_t *bytes, uint64_t *bufs)
{
	struct bb_client *cl;
	struct bb_usage_info *u;
	size_t n;
	*bytes = *bufs = 0;
	if (bb_client_connect(&cl, 0) < 0)
		return -ENOTCONN;
	bb_client_set_timeout(cl, 10 * 1000 * 1000);
	int r = bb_client_usage(cl, &u, &n);
	if (r == 0) {
		for (size_t i = 0; i < n; i++)
			if (uid == (uint32_t)-1 || u[i].uid == uid) {
				*bytes += u[i].bytes;
				*bufs += u[i].buffers;
			}
		bb_usage_info_free(u, n);
	}
	bb_client_free(cl);
	return r;
}

static bool usage_wait_zero(unsigned int ms, uint64_t *bytes, uint64_t *bufs)
{
	for (unsigned int t = 0;; t += 50) {
		if (usage_sum((uint32_t)-1, bytes, bufs) == 0 && !*bytes && !*bufs)
			return true;
		if (t >= ms)
			return false;
		msleep(50);
	}
}

/* The Version property through a fresh system bus connection: 1 when the daemon answers. */
static int daemon_version(void)
{
	sd_bus *bus = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint32_t v = 0;
	int r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = sd_bus_get_property_trivial(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "Version", &e, 'u', &v);
	sd_bus_error_free(&e);
	sd_bus_flush_close_unref(bus);
	return r < 0 ? r : (int)v;
}

static bool daemon_wait_version(unsigned int ms)
{
	for (unsigned int t = 0;; t += 100) {
		if (daemon_version() == 1)
			return true;
		if (t >= ms)
			return false;
		msleep(100);
	}
}

static long vmrss_kib(pid_t pid)
{
	char p[64], buf[4096];
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	if (bb_read_file(p, buf, sizeof(buf)) < 0)
		return -1;
	char *s = strstr(buf, "VmRSS:");
	return s ? strtol(s + 6, NULL, 10) : -1;
}

/* Count the daemon's fds that point at @prefix (e.g. "/dev/dma_heap/" or "/dmabuf:"). */
static int count_fds(pid_t pid, const char *prefix)
{
	char dir[64], p[320], target[256];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		ssize_t l = readlink(p, target, sizeof(target) - 1);
		if (l <= 0)
			continue;
		target[l] = 0;
		if (!strncmp(target, prefix, strlen(prefix)))
			n++;
	}
	closedir(d);
	return n;
}

/* ---- messages between parent and agents ---------------------------------------------------- */



/* ---- agent: a client of another uid that obeys commands --------------------------------------- */

struct agent {
	pid_t pid;
	int sock;
	const char *user;
};

#define AGENT_MAX_BUFS 64

struct abuf {
	struct bb_buffer *b;
	struct bb_client *owner;
	void *map;
	uint64_t size;
};

static void agent_fill(void *p, uint64_t size, unsigned int seed)
{
	uint32_t *w = p;
	for (uint64_t i = 0; i < size / 4; i++)
		w[i] = (uint32_t)(i * 2654435761u) ^ seed;
}

static bool agent_verify(const void *p, uint64_t size, unsigned int seed, uint64_t *bad)
{
	const uint32_t *w = p;
	for (uint64_t i = 0; i < size / 4; i++)
		if (w[i] != ((uint32_t)(i * 2654435761u) ^ seed)) {
			*bad = i * 4;
			return false;
		}
	return true;
}

static int sd_call_err(sd_bus *bus, const char *method, sd_bus_error *e, sd_bus_message **reply,
		       const char *types, ...)
{
	sd_bus_message *m = NULL;
	int r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_IFACE, method);
	if (r >= 0 && types) {
		va_list ap;
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
	}
	if (r >= 0 && !strcmp(method, "Allocate")) {
		r = sd_bus_message_open_container(m, 'a', "{sv}");
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = sd_bus_call(bus, m, 10 * 1000 * 1000, e, reply);
	sd_bus_message_unref(m);
	return r;
}

/*
 * Commands (one message each; answers "OK ..." or "ERR <errno> <name>" or "FAIL <text>"):
 *   ALLOC role size        -> OK id heap   (+ fd)
 *   IMAGE role w h         -> OK id size   (+ fd)
 *   FILL id seed / VERIFY id seed   map and write / check the pattern (old mapping and a new one)
 *   SHARE id target        -> OK token
 *   IMPORT token           -> OK id        (+ fd)
 *   SDNAME                 -> OK :1.N      (unique name of the agent's raw sd-bus connection)
 *   SDIMPORT token         -> OK / ERR     (Import on that connection)
 *   RELEASEID id           -> OK / ERR     (Release(id) by number, through the library)
 *   LIST                   -> OK n id...
 *   RECONNECT              -> OK           (new bb_client; the old one and its buffers are kept)
 *   TOKENS n               -> "T hex" n times, then OK n
 *   EXIT
 */
static void agent_main(int sock)
{
	struct bb_client *cl = NULL;
	sd_bus *bus = NULL;
	struct abuf bufs[AGENT_MAX_BUFS] = { 0 };
	char cmd[1024], a1[512], a2[128];
	int r;

	if ((r = bb_client_connect(&cl, 0)) < 0) {
		msg_send(sock, -1, "FAIL connect: %s", strerror(-r));
		_exit(1);
	}
	bb_client_set_timeout(cl, 10 * 1000 * 1000);
	msg_send(sock, -1, "OK ready");
	for (;;) {
		if (msg_recv(sock, cmd, sizeof(cmd), NULL, 120000) < 0 || !strcmp(cmd, "EXIT"))
			_exit(0);
		unsigned long long id = 0, n2 = 0, n3 = 0;
		struct bb_buffer *b = NULL;
		if (sscanf(cmd, "ALLOC %127s %llu", a2, &n2) == 2) {
			r = bb_client_alloc(cl, a2, n2, NULL, &b);
		} else if (sscanf(cmd, "IMAGE %127s %llu %llu", a2, &n2, &n3) == 3) {
			r = bb_client_alloc_image(cl, a2, DRM_FORMAT_NV12, (uint32_t)n2, (uint32_t)n3, 0,
						  NULL, &b, NULL);
		} else if (sscanf(cmd, "IMPORT %511s", a1) == 1) {
			r = bb_client_import(cl, a1, &b);
		} else if (sscanf(cmd, "SHARE %llu %511s", &id, a1) == 2) {
			char tok[BB_TOKEN_MAX];
			r = bb_client_share(cl, id, a1, tok, sizeof(tok));
			if (r < 0)
				msg_send(sock, -1, "ERR %d %s", r, bb_client_last_error_name(cl));
			else
				msg_send(sock, -1, "OK %s", tok);
			continue;
		} else if (sscanf(cmd, "FILL %llu %llu", &id, &n2) == 2 ||
			   sscanf(cmd, "VERIFY %llu %llu", &id, &n2) == 2) {
			struct abuf *ab = NULL;
			for (int i = 0; i < AGENT_MAX_BUFS; i++)
				if (bufs[i].b && bb_buffer_get_id(bufs[i].b) == id)
					ab = &bufs[i];
			if (!ab) {
				msg_send(sock, -1, "FAIL no buffer %llu", id);
				continue;
			}
			if (cmd[0] == 'F') {
				r = bb_buffer_map(ab->b, BB_ACCESS_READ_WRITE, &ab->map);
				if (r < 0) {
					msg_send(sock, -1, "FAIL map: %s", strerror(-r));
					continue;
				}
				bb_buffer_begin_cpu_access(ab->b, BB_ACCESS_WRITE);
				agent_fill(ab->map, ab->size, (unsigned int)n2);
				bb_buffer_end_cpu_access(ab->b, BB_ACCESS_WRITE);
				msg_send(sock, -1, "OK filled");
				continue;
			}
			uint64_t bad = 0;
			bb_buffer_begin_cpu_access(ab->b, BB_ACCESS_READ);
			bool good = ab->map && agent_verify(ab->map, ab->size, (unsigned int)n2, &bad);
			bb_buffer_end_cpu_access(ab->b, BB_ACCESS_READ);
			if (!good) {
				msg_send(sock, -1, "FAIL old mapping of buffer %llu differs at byte %" PRIu64, id, bad);
				continue;
			}
			void *p = mmap(NULL, ab->size, PROT_READ, MAP_SHARED, bb_buffer_get_fd(ab->b), 0);
			if (p == MAP_FAILED) {
				msg_send(sock, -1, "FAIL new mmap of buffer %llu: %s", id, strerror(errno));
				continue;
			}
			good = agent_verify(p, ab->size, (unsigned int)n2, &bad);
			munmap(p, ab->size);
			if (!good)
				msg_send(sock, -1, "FAIL new mapping of buffer %llu differs at %" PRIu64, id, bad);
			else
				msg_send(sock, -1, "OK verified");
			continue;
		} else if (!strcmp(cmd, "SDNAME") || sscanf(cmd, "SDIMPORT %511s", a1) == 1) {
			if (!bus && (r = sd_bus_open_system(&bus)) < 0) {
				msg_send(sock, -1, "FAIL sd_bus_open_system: %s", strerror(-r));
				continue;
			}
			if (cmd[2] == 'N') {
				const char *u = NULL;
				r = sd_bus_get_unique_name(bus, &u);
				msg_send(sock, -1, r < 0 ? "FAIL unique name" : "OK %s", u);
				continue;
			}
			sd_bus_error e = SD_BUS_ERROR_NULL;
			sd_bus_message *reply = NULL;
			r = sd_call_err(bus, "Import", &e, &reply, "s", a1);
			if (r < 0)
				msg_send(sock, -1, "ERR %d %s", r, e.name ? e.name : "-");
			else
				msg_send(sock, -1, "OK imported");
			sd_bus_error_free(&e);
			sd_bus_message_unref(reply); /* closes the fd */
			continue;
		} else if (sscanf(cmd, "RELEASEID %llu", &id) == 1) {
			r = bb_client_release_id(cl, id);
			if (r < 0)
				msg_send(sock, -1, "ERR %d %s", r, bb_client_last_error_name(cl));
			else
				msg_send(sock, -1, "OK released");
			continue;
		} else if (!strcmp(cmd, "LIST")) {
			struct bb_buffer_info *li;
			size_t n;
			r = bb_client_list_buffers(cl, &li, &n);
			if (r < 0) {
				msg_send(sock, -1, "ERR %d %s", r, bb_client_last_error_name(cl));
				continue;
			}
			char out[900];
			int used = snprintf(out, sizeof(out), "OK %zu", n);
			for (size_t i = 0; i < n && used < (int)sizeof(out) - 24; i++)
				used += snprintf(out + used, sizeof(out) - (size_t)used, " %" PRIu64, li[i].id);
			bb_buffer_info_free(li, n);
			msg_send(sock, -1, "%s", out);
			continue;
		} else if (!strcmp(cmd, "RECONNECT")) {
			struct bb_client *nc;
			r = bb_client_connect(&nc, 0);
			if (r < 0) {
				msg_send(sock, -1, "FAIL reconnect: %s", strerror(-r));
				continue;
			}
			bb_client_set_timeout(nc, 10 * 1000 * 1000);
			cl = nc; /* the old client (and its buffers) stays alive on purpose */
			msg_send(sock, -1, "OK reconnected");
			continue;
		} else if (sscanf(cmd, "TOKENS %llu", &n2) == 1) {
			/* Raw sd-bus, 50 Share calls in flight per buffer (pipelined: one round trip's
			 * latency per 50 tokens), then Release drops the unused tokens. */
			unsigned long long made = 0;
			char fail[300] = "";
			if (!bus && (r = sd_bus_open_system(&bus)) < 0) {
				msg_send(sock, -1, "FAIL sd_bus_open_system: %s", strerror(-r));
				continue;
			}
			while (made < n2 && !fail[0]) {
				sd_bus_error e = SD_BUS_ERROR_NULL;
				sd_bus_message *reply = NULL, *calls[50] = { 0 };
				uint64_t cookies[50] = { 0 };
				uint64_t tid = 0;
				int fdr;
				/* role camera's quota is shared with other clients (soak, kills): retry */
				for (int tries = 0; tries < 2400; tries++) {
					sd_bus_error_free(&e);
					reply = sd_bus_message_unref(reply);
					r = sd_call_err(bus, "Allocate", &e, &reply, "st", "camera", (uint64_t)4096);
					if (r >= 0 || !e.name || (strcmp(e.name, "org.bufbroker.Error.QuotaExceeded") &&
								  strcmp(e.name, "org.bufbroker.Error.RegionFull")))
						break;
					msleep(50);
				}
				if (r < 0 || sd_bus_message_read(reply, "ht", &fdr, &tid) < 0) {
					snprintf(fail, sizeof(fail), "Allocate: %s", e.name ? e.name : strerror(-r));
					sd_bus_error_free(&e);
					sd_bus_message_unref(reply);
					break;
				}
				sd_bus_error_free(&e);
				sd_bus_message_unref(reply); /* our fd goes; the daemon keeps the buffer */
				int k, nk = n2 - made < 50 ? (int)(n2 - made) : 50;
				for (k = 0; k < nk && !fail[0]; k++) {
					sd_bus_message *m = NULL;
					r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_IFACE, "Share");
					if (r >= 0)
						r = sd_bus_message_append(m, "ts", tid, "role:video");
					if (r >= 0) /* with a cookie pointer: a reply is expected */
						r = sd_bus_send(bus, m, &cookies[k]);
					calls[k] = m;
					if (r < 0)
						snprintf(fail, sizeof(fail), "send Share: %s", strerror(-r));
				}
				/* the replies, in order, matched by cookie */
				for (k = 0; k < nk && !fail[0]; k++) {
					uint64_t cookie = cookies[k];
					for (;;) {
						sd_bus_message *in = NULL;
						r = sd_bus_process(bus, &in);
						if (r < 0) {
							snprintf(fail, sizeof(fail), "sd_bus_process: %s", strerror(-r));
							break;
						}
						uint64_t rc = 0;
						if (in && sd_bus_message_get_reply_cookie(in, &rc) >= 0 && rc == cookie) {
							const char *tok;
							if (sd_bus_message_is_method_error(in, NULL))
								snprintf(fail, sizeof(fail), "Share: %s",
									 sd_bus_message_get_error(in)->name);
							else if (sd_bus_message_read(in, "s", &tok) >= 0) {
								msg_send(sock, -1, "T %s", tok);
								made++;
							}
							sd_bus_message_unref(in);
							break;
						}
						sd_bus_message_unref(in);
						if (r == 0)
							sd_bus_wait(bus, 1000000);
					}
				}
				for (k = 0; k < 50; k++)
					sd_bus_message_unref(calls[k]);
				sd_bus_error_free(&e);
				reply = NULL;
				r = sd_call_err(bus, "Release", &e, &reply, "t", tid); /* drops unused tokens */
				sd_bus_error_free(&e);
				sd_bus_message_unref(reply);
			}
			if (fail[0])
				msg_send(sock, -1, "FAIL after %llu tokens: %s", made, fail);
			else
				msg_send(sock, -1, "OK %llu", made);
			continue;
		} else {
			msg_send(sock, -1, "FAIL unknown command '%s'", cmd);
			continue;
		}
		/* ALLOC, IMAGE, IMPORT */
		if (r < 0) {
			msg_send(sock, -1, "ERR %d %s", r, bb_client_last_error_name(cl));
			continue;
		}
		int slot = -1;
		for (int i = 0; i < AGENT_MAX_BUFS && slot < 0; i++)
			if (!bufs[i].b)
				slot = i;
		if (slot < 0) {
			bb_client_release(cl, b);
			msg_send(sock, -1, "FAIL agent holds too many buffers");
			continue;
		}
		bufs[slot] = (struct abuf){ b, cl, NULL, bb_buffer_get_size(b) };
		struct bb_buffer_info *li;
		size_t n;
		char heap[96] = "-";
		if (bb_client_list_buffers(cl, &li, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				if (li[i].id == bb_buffer_get_id(b))
					snprintf(heap, sizeof(heap), "%s", li[i].heap);
			bb_buffer_info_free(li, n);
		}
		msg_send(sock, bb_buffer_get_fd(b), "OK %" PRIu64 " %s %" PRIu64, bb_buffer_get_id(b), heap,
			 bb_buffer_get_size(b));
	}
}

static int agent_start(struct agent *a, const char *user)
{
	int sv[2];
	char text[256];
	a->pid = -1;
	a->sock = -1;
	a->user = user;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		close_range(4, ~0U, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int r = drop_to(user);
		if (r < 0) {
			msg_send(3, -1, "FAIL cannot become %s: %s", user, strerror(-r));
			_exit(1);
		}
		agent_main(3);
		_exit(0);
	}
	close(sv[1]);
	a->pid = pid;
	a->sock = sv[0];
	if (msg_recv(a->sock, text, sizeof(text), NULL, 15000) < 0 || strncmp(text, "OK", 2))
		return -EIO;
	return 0;
}

/* Send a command and wait for the answer; returns 0 for "OK...", 1 for "ERR...", -1 otherwise. */
static int agent_cmd(struct agent *a, char *ans, size_t len, int *fd, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int agent_cmd(struct agent *a, char *ans, size_t len, int *fd, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (fd)
		*fd = -1;
	if (msg_send(a->sock, -1, "%s", cmd) < 0) {
		snprintf(ans, len, "agent %s gone", a->user);
		return -1;
	}
	int r = msg_recv(a->sock, ans, len, fd, 30000);
	if (r < 0) {
		snprintf(ans, len, "agent %s: no answer to '%s': %s", a->user, cmd, strerror(-r));
		return -1;
	}
	return !strncmp(ans, "OK", 2) ? 0 : !strncmp(ans, "ERR", 3) ? 1 : -1;
}

static void agent_stop(struct agent *a)
{
	child_stop(&a->pid, &a->sock);
}

/* ---- killed clients ---------------------------------------------------------------------------- */

enum { OP_CONNECT, OP_ALLOC, OP_IMAGE, OP_SHARE, OP_IMPORT, OP_RELEASE, OP_MAP, OP_N };
static const char *const op_names[OP_N] = { "connect", "alloc", "image", "share", "import", "release", "map" };

struct kill_shared {
	atomic_ulong connect_us, connects;
	atomic_ulong started[OP_N];
	atomic_ulong done[OP_N];
};
static struct kill_shared *ks;

/* A child that does random steps until it is killed. */
static void kill_child(uint64_t seed, const char *user)
{
	const bool cam = !strcmp(user, "camera-client");
	const char *role = cam ? "camera" : "video";
	const char *target = cam ? "role:video" : "role:display";
	struct bb_buffer *held[8] = { 0 };
	char tokens[4][BB_TOKEN_MAX];
	int n_tok = 0;
	struct bb_client *cl;

	rnd_seed(seed);
	if (drop_to(user) < 0)
		_exit(1);
	atomic_fetch_add(&ks->started[OP_CONNECT], 1);
	uint64_t t0 = bb_now_ns();
	if (bb_client_connect(&cl, 0) < 0)
		_exit(1);
	/* the first call really connects (Hello + the daemon's credentials lookup) */
	struct bb_buffer_info *li;
	size_t nli;
	if (bb_client_list_buffers(cl, &li, &nli) == 0)
		bb_buffer_info_free(li, nli);
	atomic_fetch_add(&ks->connect_us, (bb_now_ns() - t0) / 1000);
	atomic_fetch_add(&ks->connects, 1);
	atomic_fetch_add(&ks->done[OP_CONNECT], 1);
	for (;;) {
		int slot = (int)rnd_below(8), op = 1 + (int)rnd_below(OP_N - 1), r = -1;
		atomic_fetch_add(&ks->started[op], 1);
		switch (op) {
		case OP_ALLOC:
			if (held[slot])
				bb_client_release(cl, held[slot]), held[slot] = NULL;
			r = bb_client_alloc(cl, role, 4096 * (1 + rnd_below(512)), NULL, &held[slot]);
			break;
		case OP_IMAGE:
			if (held[slot])
				bb_client_release(cl, held[slot]), held[slot] = NULL;
			r = bb_client_alloc_image(cl, role, DRM_FORMAT_NV12, 2 * (1 + (uint32_t)rnd_below(640)),
						  2 * (1 + (uint32_t)rnd_below(360)), 0, NULL, &held[slot], NULL);
			break;
		case OP_SHARE:
			if (held[slot])
				r = bb_client_share(cl, bb_buffer_get_id(held[slot]), target, tokens[n_tok % 4],
						    BB_TOKEN_MAX);
			if (r >= 0)
				n_tok++;
			break;
		case OP_IMPORT:
			if (n_tok) {
				if (held[slot])
					bb_client_release(cl, held[slot]), held[slot] = NULL;
				r = bb_client_import(cl, tokens[(n_tok - 1) % 4], &held[slot]);
				n_tok--;
			}
			break;
		case OP_RELEASE:
			if (held[slot])
				r = bb_client_release(cl, held[slot]);
			held[slot] = NULL;
			break;
		case OP_MAP:
			if (held[slot]) {
				void *p;
				r = bb_buffer_map(held[slot], BB_ACCESS_READ_WRITE, &p);
				if (r == 0)
					memset(p, 0x5a, 4096);
			}
			break;
		}
		if (r >= 0)
			atomic_fetch_add(&ks->done[op], 1);
	}
}

static void case_kills(struct h_case *c, void *v)
{
	(void)v;
	struct totals base, now;
	uint64_t ubytes, ubufs, seed = opt_seed;
	unsigned long kills = 0, exited = 0;
	static const char *const users[] = { "camera-client", "video-client" };
	uint64_t max_delay_us = 150000;
	const uint64_t t_start = bb_now_ns();

	ks = mmap(NULL, sizeof(*ks), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(c, ks != MAP_FAILED, "mmap");
	memset(ks, 0, sizeof(*ks));
	CHECK(c, totals_base(&base) == 0, "cannot read " BB_SYSFS_REGIONS);
	h_note("kills: seed %" PRIu64 " (rerun with --seed %" PRIu64 "), %lu iterations, %u at a time, delay "
	       "0..4 x the mean connect time (150..2500 ms)",
	       seed, seed, opt_iterations, opt_parallel);
	rnd_seed(seed);
	for (unsigned long it = 0; it < opt_iterations;) {
		pid_t pids[16];
		uint64_t delay[16];
		unsigned int n = opt_parallel;
		if (n > 16)
			n = 16;
		if (n > opt_iterations - it)
			n = (unsigned int)(opt_iterations - it);
		/* Kill in the first steps and after them: the delay range follows the connect time
		 * measured so far (connecting dominates under TCG). */
		if (ks->connects) {
			uint64_t m = ks->connect_us / ks->connects * 4;
			max_delay_us = m < 150000 ? 150000 : m > 2500000 ? 2500000 : m;
		} else if (it && max_delay_us < 2500000) {
			max_delay_us *= 2; /* nobody got connected yet: the machine is busy */
		}
		/* delays ascending, so one pass kills them in order */
		for (unsigned int k = 0; k < n; k++)
			delay[k] = rnd_below(max_delay_us);
		qsort(delay, n, sizeof(delay[0]), bb_cmp_u64);
		fflush(stdout);
		uint64_t t0 = bb_now_ns() / 1000;
		for (unsigned int k = 0; k < n; k++) {
			uint64_t cs = rnd();
			const char *u = users[(it + k) % 2];
			pids[k] = fork();
			CHECK(c, pids[k] >= 0, "fork: %s", strerror(errno));
			if (pids[k] == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				kill_child(cs, u);
			}
		}
		for (unsigned int k = 0; k < n; k++) {
			uint64_t now_us = bb_now_ns() / 1000;
			if (t0 + delay[k] > now_us)
				usleep_(t0 + delay[k] - now_us);
			kill(pids[k], SIGKILL);
		}
		for (unsigned int k = 0; k < n; k++) {
			int st;
			waitpid(pids[k], &st, 0);
			if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
				kills++;
			else
				exited++;
		}
		it += n;
	}
	{
		char ops[512];
		int used = 0;
		for (int k = 0; k < OP_N; k++)
			used += snprintf(ops + used, sizeof(ops) - (size_t)used, "%s%s %lu/%lu", k ? ", " : "",
					 op_names[k], (unsigned long)ks->done[k], (unsigned long)ks->started[k]);
		h_note("kills: steps done/started before the kills: %s; mean connect %lu ms, last delay range 0..%" PRIu64
		       " ms; %" PRIu64 " s",
		       ops, ks->connects ? (unsigned long)(ks->connect_us / ks->connects / 1000) : 0UL,
		       max_delay_us / 1000, (uint64_t)((bb_now_ns() - t_start) / 1000000000ULL));
	}
	CHECK(c, daemon_wait_version(5000), "the daemon does not answer Version after the kills");
	/* --settle: other clients (the soak) may still run; wait for them to finish too */
	bool uz = usage_wait_zero((unsigned int)opt_settle * 1000, &ubytes, &ubufs);
	bool tz = totals_wait(&base, &now, (unsigned int)opt_settle * 1000);
	h_note("%lu kills (%lu exited before the kill), %" PRId64 " leaked buffers, %" PRId64
	       " bytes leaked (module counters); Usage() %" PRIu64 " bytes in %" PRIu64 " buffers; daemon alive",
	       kills, exited, (int64_t)(now.buffers - base.buffers), (int64_t)(now.bytes - base.bytes),
	       ubytes, ubufs);
	CHECK(c, uz, "Usage() still charges %" PRIu64 " bytes in %" PRIu64 " buffers", ubytes, ubufs);
	CHECK(c, tz, "module counters %" PRIu64 " bytes / %" PRIu64 " buffers, baseline %" PRIu64 " / %" PRIu64,
	      now.bytes, now.buffers, base.bytes, base.buffers);
	CHECK(c, kills + exited == opt_iterations && kills >= opt_iterations * 9 / 10,
	      "only %lu of %lu children were killed by SIGKILL", kills, opt_iterations);
out:
	if (ks && ks != MAP_FAILED)
		munmap(ks, sizeof(*ks));
	ks = NULL;
}

/* ---- daemon restart ------------------------------------------------------------------------ */

static char proc_state(pid_t pid)
{
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	if (bb_read_file(p, buf, sizeof(buf)) < 0)
		return 0;
	char *s = strrchr(buf, ')');
	return s && s[1] ? s[2] : 0;
}

/* kill -9 the daemon and start it again with the same command line, as user bufbroker, its output
 * appended to the log; the new pid goes to pid_file. */
static int restart_daemon(pid_t *newpid, char *why, size_t len)
{
	char p[64], cmdline[4096];
	char *argv[64];
	int argc = 0;
	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)daemon_pid);
	int n = bb_read_file(p, cmdline, sizeof(cmdline));
	if (n <= 0) {
		snprintf(why, len, "cannot read %s", p);
		return -1;
	}
	for (int i = 0; i < n && argc < 63; i += (int)strlen(cmdline + i) + 1)
		argv[argc++] = cmdline + i;
	argv[argc] = NULL;
	if (kill(daemon_pid, SIGKILL) < 0) {
		snprintf(why, len, "kill -9 %d: %s", (int)daemon_pid, strerror(errno));
		return -1;
	}
	for (int i = 0; i < 100; i++) { /* gone, or a zombie of the shell that started it */
		char st = proc_state(daemon_pid);
		if (!st || st == 'Z')
			break;
		msleep(20);
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int lfd = open(daemon_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		setsid();
		if (lfd < 0 || nfd < 0 || dup2(nfd, 0) < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		if (drop_to("bufbroker") < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	*newpid = pid;
	FILE *f = fopen(pid_file, "w");
	if (f) {
		fprintf(f, "%d\n", (int)pid);
		fclose(f);
	}
	return 0;
}

static void case_restart(struct h_case *c, void *v)
{
	(void)v;
	struct agent a = { .pid = -1, .sock = -1 };
	struct totals base, held, now;
	char ans[1024];
	unsigned long long id1 = 0, id2 = 0, id3 = 0, sz2 = 0;
	uint64_t ub, un;
	int fd = -1;
	pid_t newpid = -1;
	long rss0;

	CHECK(c, totals_take(&base) == 0, "sysfs");
	CHECK(c, agent_start(&a, "camera-client") == 0, "agent camera-client did not start");
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), &fd, "ALLOC camera %" PRIu64, 2 * MiB) == 0, "%s", ans);
	sscanf(ans, "OK %llu", &id1);
	close(fd);
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), &fd, "IMAGE camera 640 480") == 0, "%s", ans);
	sscanf(ans, "OK %llu %*s %llu", &id2, &sz2);
	close(fd);
	fd = -1;
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), NULL, "FILL %llu 11", id1) == 0, "%s", ans);
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), NULL, "FILL %llu 22", id2) == 0, "%s", ans);
	CHECK(c, totals_take(&held) == 0, "sysfs");
	rss0 = vmrss_kib(daemon_pid);

	uint64_t t0 = bb_now_ns();
	CHECK(c, restart_daemon(&newpid, ans, sizeof(ans)) == 0, "%s", ans);
	CHECK(c, daemon_wait_version(20000), "the restarted daemon (pid %d) does not answer within 20 s",
	      (int)newpid);
	h_note("restart: kill -9 of pid %d, new pid %d answers after %" PRIu64 " ms; old VmRSS %ld KiB, new %ld KiB",
	       (int)daemon_pid, (int)newpid, (bb_now_ns() - t0) / 1000000, rss0, vmrss_kib(newpid));
	daemon_pid = newpid;
	/* The held buffers: still mapped, contents unchanged, a new mapping reads the same. */
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), NULL, "VERIFY %llu 11", id1) == 0, "%s", ans);
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), NULL, "VERIFY %llu 22", id2) == 0, "%s", ans);
	CHECK(c, totals_take(&now) == 0 && now.bytes == held.bytes && now.buffers == held.buffers,
	      "module counters changed across the restart: %" PRIu64 " -> %" PRIu64 " bytes", held.bytes,
	      now.bytes);
	/* The new daemon knows none of them and charges nobody. */
	CHECK(c, usage_sum((uint32_t)-1, &ub, &un) == 0 && ub == 0 && un == 0,
	      "Usage() after the restart: %" PRIu64 " bytes, %" PRIu64 " buffers, want 0", ub, un);
	/* Reconnect and carry on. */
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), NULL, "RECONNECT") == 0, "%s", ans);
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), &fd, "ALLOC camera %" PRIu64, MiB) == 0,
	      "Allocate after reconnecting: %s", ans);
	sscanf(ans, "OK %llu", &id3);
	close(fd);
	fd = -1;
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), NULL, "FILL %llu 33", id3) == 0, "%s", ans);
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), NULL, "LIST") == 0, "%s", ans);
	char want[64];
	snprintf(want, sizeof(want), "OK 1 %llu", id3);
	CHECK(c, !strcmp(ans, want), "List() after the restart: '%s', want '%s' (only the new buffer)", ans,
	      want);
	CHECK(c, usage_sum(uid_of("camera-client"), &ub, &un) == 0 && ub == MiB && un == 1,
	      "Usage() of camera-client: %" PRIu64 " bytes in %" PRIu64 " buffers, want 1 MiB in 1", ub, un);
	CHECK(c, totals_take(&now) == 0 && now.bytes == held.bytes + MiB,
	      "module counters %" PRIu64 " bytes, want %" PRIu64, now.bytes, held.bytes + MiB);
	/* A pre-restart id is unknown to the new daemon (unless ids collide, see docs). */
	if (id1 != id3) {
		CHECK(c, agent_cmd(&a, ans, sizeof(ans), NULL, "RELEASEID %llu", id1) == 1 &&
				 strstr(ans, "NoSuchBuffer"),
		      "Release(%llu) of a pre-restart buffer: '%s', want NoSuchBuffer", id1, ans);
	}
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), NULL, "VERIFY %llu 11", id1) == 0, "%s", ans);
	agent_stop(&a);
	CHECK(c, totals_wait(&base, &now, 5000),
	      "after the client exited: %" PRIu64 " bytes, baseline %" PRIu64, now.bytes, base.bytes);
	CHECK(c, usage_wait_zero(5000, &ub, &un), "Usage() %" PRIu64 " bytes after the client exited", ub);
	h_note("restart: 2 buffers (%" PRIu64 " bytes) held across kill -9, contents intact; new daemon charged "
	       "only the 1 MiB allocated after it, counters back at baseline",
	       2 * MiB + (uint64_t)sz2);
out:
	if (fd >= 0)
		close(fd);
	agent_stop(&a);
}

/* ---- region exhaustion and fragmentation ----------------------------------------------------- */

#define MAXB 64
static struct bb_buffer *fb[MAXB];
static int n_fb;

static void fb_free(struct bb_client *cl)
{
	for (int i = 0; i < n_fb; i++)
		if (fb[i])
			bb_client_release(cl, fb[i]);
	n_fb = 0;
}

static void case_exhaust(struct h_case *c, void *v)
{
	(void)v;
	struct bb_client *cl = NULL;
	struct agent a = { .pid = -1, .sock = -1 };
	struct totals base, now;
	struct bb_region cam;
	char why[512], ans[512];
	int r, fd = -1;
	CHECK(c, totals_take(&base) == 0, "sysfs");
	CHECK(c, bb_region_find(R_CAMERA, &cam) == 0, "no region " R_CAMERA);
	CHECK(c, bb_client_connect(&cl, 0) == 0, "connect");
	bb_client_set_timeout(cl, 10 * 1000 * 1000);
	/* Fill the camera region through role camfull: 2 MiB, then 1 MiB, then 64 KiB chunks. */
	static const uint64_t chunks[] = { 2 * MiB, MiB, 64 * KiB };
	uint64_t filled = 0;
	int err_full = 0;
	for (size_t i = 0; i < 3; i++) {
		for (;;) {
			CHECK(c, n_fb < MAXB, "region %s never full after %d buffers", R_CAMERA, n_fb);
			uint64_t t0 = bb_now_ns();
			r = bb_client_alloc(cl, "camfull", chunks[i], NULL, &fb[n_fb]);
			uint64_t ms = (bb_now_ns() - t0) / 1000000;
			if (r == -ENOMEM) {
				CHECK(c, !strcmp(bb_client_last_error_name(cl), "org.bufbroker.Error.RegionFull"),
				      "full region: error %s, want RegionFull", bb_client_last_error_name(cl));
				CHECK(c, ms < 5000, "RegionFull took %" PRIu64 " ms", ms);
				err_full++;
				break;
			}
			CHECK(c, r == 0, "Allocate(camfull, %" PRIu64 "): %d %s", chunks[i], r,
			      bb_client_last_error_message(cl));
			filled += chunks[i];
			n_fb++;
		}
	}
	h_note("exhaust: role camfull filled %s with %" PRIu64 " KiB in %d buffers (region %" PRIu64
	       " KiB); RegionFull (ENOMEM) %d times: '%s'",
	       R_CAMERA, filled / KiB, n_fb, cam.size / KiB, err_full, bb_client_last_error_message(cl));
	for (int i = 0; i < n_fb; i++)
		CHECK(c, check_fd_in_region(bb_buffer_get_fd(fb[i]), bb_buffer_get_size(fb[i]), R_CAMERA, why,
					    sizeof(why)) == 0,
		      "buffer %d: %s", i, why);
	/* Role camera (camera-client) may fall back to the default area; camfull may not. */
	CHECK(c, agent_start(&a, "camera-client") == 0, "agent");
	CHECK(c, agent_cmd(&a, ans, sizeof(ans), &fd, "ALLOC camera %" PRIu64, MiB) == 0,
	      "role camera with its region full: %s", ans);
	char heap[96] = "";
	sscanf(ans, "OK %*u %95s", heap);
	CHECK(c, bb_same_region(heap, R_DEFAULT), "role camera fell back to '%s', want %s", heap, R_DEFAULT);
	CHECK(c, check_fd_in_region(fd, MiB, R_DEFAULT, why, sizeof(why)) == 0, "fallback: %s", why);
	close(fd);
	fd = -1;
	agent_stop(&a);
	fb_free(cl);
	CHECK(c, totals_wait(&base, &now, 3000), "after freeing the fill: %" PRIu64 " bytes, baseline %" PRIu64,
	      now.bytes, base.bytes);

	/* Fragmentation: 2 MiB chunks to the brim, free every other, ask for 4 MiB. */
	for (;;) {
		CHECK(c, n_fb < MAXB, "never full");
		r = bb_client_alloc(cl, "camfull", 2 * MiB, NULL, &fb[n_fb]);
		if (r == -ENOMEM)
			break;
		CHECK(c, r == 0, "fragmentation fill: %d %s", r, bb_client_last_error_message(cl));
		n_fb++;
	}
	int holes = 0;
	for (int i = 0; i < n_fb; i += 2) {
		bb_client_release(cl, fb[i]);
		fb[i] = NULL;
		holes++;
	}
	struct bb_buffer *big = NULL;
	uint64_t t0 = bb_now_ns();
	r = bb_client_alloc(cl, "camfull", 4 * MiB, NULL, &big);
	uint64_t ms = (bb_now_ns() - t0) / 1000000;
	if (r == 0) {
		/* The allocator found room (e.g. a tail): still must be in the region. */
		EXPECT(c, check_fd_in_region(bb_buffer_get_fd(big), 4 * MiB, R_CAMERA, why, sizeof(why)) == 0,
		       "4 MiB in the fragmented region: %s", why);
		h_note("fragmentation: 4 MiB fit despite %d holes of 2 MiB (in region)", holes);
		bb_client_release(cl, big);
	} else {
		CHECK(c, r == -ENOMEM && !strcmp(bb_client_last_error_name(cl), "org.bufbroker.Error.RegionFull"),
		      "4 MiB in a fragmented region: %d %s, want RegionFull", r, bb_client_last_error_name(cl));
	}
	CHECK(c, ms < 5000, "the 4 MiB request took %" PRIu64 " ms", ms);
	struct bb_buffer *small = NULL;
	r = bb_client_alloc(cl, "camfull", 2 * MiB, NULL, &small);
	CHECK(c, r == 0, "2 MiB into a hole: %d %s", r, bb_client_last_error_message(cl));
	CHECK(c, check_fd_in_region(bb_buffer_get_fd(small), 2 * MiB, R_CAMERA, why, sizeof(why)) == 0,
	      "2 MiB in a hole: %s", why);
	bb_client_release(cl, small);
	h_note("fragmentation: %d x 2 MiB allocated, %d freed (every other: %d MiB free in 2 MiB holes); "
	       "4 MiB -> %s in %" PRIu64 " ms; 2 MiB -> a hole inside %s",
	       n_fb, holes, holes * 2, r == 0 ? "RegionFull" : "?", ms, R_CAMERA);
	fb_free(cl);
	CHECK(c, totals_wait(&base, &now, 3000), "after the test: %" PRIu64 " bytes, baseline %" PRIu64,
	      now.bytes, base.bytes);
out:
	if (fd >= 0)
		close(fd);
	agent_stop(&a);
	fb_free(cl);
	bb_client_free(cl);
}

/* ---- module unload with the daemon running ---------------------------------------------------- */

struct sigwatch {
	sd_bus *bus;
	char seen[32][96];
	int n;
};

static int on_heap_signal(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	(void)e;
	struct sigwatch *w = userdata;
	const char *name;
	if (sd_bus_message_read(m, "s", &name) >= 0 && w->n < 32)
		snprintf(w->seen[w->n++], sizeof(w->seen[0]), "%s", name);
	return 0;
}

static int sigwatch_start(struct sigwatch *w, const char *member)
{
	char match[256];
	memset(w, 0, sizeof(*w));
	int r = sd_bus_open_system(&w->bus);
	if (r < 0)
		return r;
	snprintf(match, sizeof(match), "type='signal',interface='" BUS_IFACE "',member='%s'", member);
	r = sd_bus_add_match(w->bus, NULL, match, on_heap_signal, w);
	return r < 0 ? r : 0;
}

/* Process signals until every heap of the module was seen or @ms passed. */
static bool sigwatch_wait(struct sigwatch *w, unsigned int ms)
{
	static const char *const all[] = { "default_cma_region", "linux,cma", "camera@78000000", "camera",
					   "video@7c000000", "video" };
	uint64_t end = bb_now_ns() + (uint64_t)ms * 1000000;
	for (;;) {
		while (sd_bus_process(w->bus, NULL) > 0)
			;
		int missing = 0;
		for (size_t i = 0; i < 6; i++) {
			int found = 0;
			for (int k = 0; k < w->n; k++)
				found |= !strcmp(w->seen[k], all[i]);
			missing += !found;
		}
		if (!missing)
			return true;
		if (bb_now_ns() >= end)
			return false;
		sd_bus_wait(w->bus, 100000);
	}
}

static void sigwatch_stop(struct sigwatch *w)
{
	sd_bus_flush_close_unref(w->bus);
	w->bus = NULL;
}

static int heaps_count(int *n_out)
{
	struct bb_client *cl;
	struct bb_heap_info *h;
	size_t n;
	if (bb_client_connect(&cl, 0) < 0)
		return -ENOTCONN;
	int r = bb_client_list_heaps(cl, &h, &n);
	if (r == 0) {
		*n_out = (int)n;
		bb_heap_info_free(h, n);
	}
	bb_client_free(cl);
	return r;
}

static void udev_equiv(void)
{
	struct group *g = getgrnam("bufbroker");
	DIR *d = opendir(BB_HEAP_DIR);
	struct dirent *de;
	char p[320];
	if (!d || !g) {
		if (d)
			closedir(d);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), BB_HEAP_DIR "/%s", de->d_name);
		if (chown(p, 0, g->gr_gid) < 0 || chmod(p, 0660) < 0)
			fprintf(stderr, "chown/chmod %s: %s\n", p, strerror(errno));
	}
	closedir(d);
}

static void case_unload(struct h_case *c, void *v)
{
	(void)v;
	struct bb_client *cl = NULL;
	struct bb_buffer *b = NULL;
	struct sigwatch w = { 0 };
	struct totals base, now;
	int r, e, n, mfd = -1;
	bool loaded = true;

	CHECK(c, totals_take(&base) == 0, "sysfs");
	CHECK(c, bb_client_connect(&cl, 0) == 0, "connect");
	bb_client_set_timeout(cl, 10 * 1000 * 1000);
	/* Idle daemon: no heap fds (alloc.c opens the heap per allocation and closes it). */
	n = count_fds(daemon_pid, BB_HEAP_DIR "/");
	CHECK(c, n == 0, "idle bufbrokerd holds %d fds of " BB_HEAP_DIR, n);
	/* A client holds a buffer: unload refused. */
	r = bb_client_alloc(cl, "camfull", MiB, NULL, &b);
	CHECK(c, r == 0, "Allocate(camfull): %s", bb_client_last_error_message(cl));
	n = count_fds(daemon_pid, BB_HEAP_DIR "/");
	CHECK(c, n == 0, "bufbrokerd holding a buffer also holds %d heap fds", n);
	errno = 0;
	r = (int)syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK);
	e = errno;
	CHECK(c, r == -1 && (e == EBUSY || e == EWOULDBLOCK),
	      "delete_module while a client holds a buffer: %d/%s, want EBUSY/EWOULDBLOCK", r,
	      e ? strerrorname_np(e) : "0");
	h_note("unload: refused with %s while a client holds a buffer (bufbrokerd holds its dma-buf, no heap fd)",
	       strerrorname_np(e));
	bb_client_release(cl, b);
	b = NULL;
	CHECK(c, totals_wait(&base, &now, 3000), "after release: %" PRIu64 " bytes", now.bytes);
	/* All buffers gone: unload succeeds with the daemon running. */
	CHECK(c, sigwatch_start(&w, "HeapRemoved") == 0, "sd-bus match");
	r = (int)syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK);
	CHECK(c, r == 0, "delete_module with the daemon idle: %s", strerror(errno));
	loaded = false;
	CHECK(c, sigwatch_wait(&w, 5000), "HeapRemoved not seen for every heap (%d signals)", w.n);
	h_note("unload: HeapRemoved x%d", w.n);
	sigwatch_stop(&w);
	CHECK(c, daemon_version() == 1, "the daemon does not answer after the unload");
	CHECK(c, heaps_count(&n) == 0 && n == 0, "Heaps() after the unload lists %d heaps", n);
	r = bb_client_alloc(cl, "camfull", MiB, NULL, &b);
	CHECK(c, r == -ENODEV && !strcmp(bb_client_last_error_name(cl), "org.bufbroker.Error.NoSuchHeap"),
	      "Allocate without the module: %d %s, want -ENODEV NoSuchHeap", r, bb_client_last_error_name(cl));
	r = bb_client_alloc(cl, "quota", 4096, NULL, &b);
	CHECK(c, r == -ENODEV, "Allocate(quota) without the module: %d, want -ENODEV", r);
	/* Reload: HeapAdded, allocation works again. */
	CHECK(c, sigwatch_start(&w, "HeapAdded") == 0, "sd-bus match");
	mfd = open(module_path, O_RDONLY | O_CLOEXEC);
	CHECK(c, mfd >= 0, "open %s: %s", module_path, strerror(errno));
	r = (int)syscall(SYS_finit_module, mfd, "", 0);
	CHECK(c, r == 0, "finit_module: %s", strerror(errno));
	loaded = true;
	CHECK(c, sigwatch_wait(&w, 5000), "HeapAdded not seen for every heap (%d signals)", w.n);
	udev_equiv();
	CHECK(c, heaps_count(&n) == 0 && n >= 3, "Heaps() after the reload lists %d heaps", n);
	r = bb_client_alloc(cl, "camfull", MiB, NULL, &b);
	CHECK(c, r == 0, "Allocate after the reload: %d %s", r, bb_client_last_error_message(cl));
	bb_client_release(cl, b);
	b = NULL;
	CHECK(c, count_fds(daemon_pid, BB_HEAP_DIR "/") == 0, "heap fds left in the daemon");
	h_note("unload: HeapAdded x%d after the reload, %d heaps in Heaps(), Allocate works; daemon survived",
	       w.n, n);
out:
	sigwatch_stop(&w);
	if (!loaded && mfd < 0) {
		mfd = open(module_path, O_RDONLY | O_CLOEXEC);
		if (mfd >= 0 && syscall(SYS_finit_module, mfd, "", 0) == 0) {
			msleep(500);
			udev_equiv();
		}
	}
	if (mfd >= 0)
		close(mfd);
	bb_client_release(cl, b);
	bb_client_free(cl);
}

/* ---- permissions ----------------------------------------------------------------------------- */

static void case_perms_buffers(struct h_case *c, void *v)
{
	(void)v;
	struct agent own = { .pid = -1, .sock = -1 }, oth = { .pid = -1, .sock = -1 };
	char ans[1024], tok[256], want[64];
	unsigned long long id = 0, oid = 0;
	int fd = -1;
	CHECK(c, agent_start(&own, "camera-client") == 0, "agent camera-client");
	CHECK(c, agent_start(&oth, "video-client") == 0, "agent video-client");
	CHECK(c, agent_cmd(&own, ans, sizeof(ans), &fd, "ALLOC camera %" PRIu64, MiB) == 0, "%s", ans);
	sscanf(ans, "OK %llu", &id);
	close(fd);
	CHECK(c, agent_cmd(&oth, ans, sizeof(ans), &fd, "ALLOC video 4096") == 0, "%s", ans);
	sscanf(ans, "OK %llu", &oid);
	close(fd);
	fd = -1;
	/* Release of another client's id: NoSuchBuffer, and the buffer lives on. */
	CHECK(c, agent_cmd(&oth, ans, sizeof(ans), NULL, "RELEASEID %llu", id) == 1 && strstr(ans, "NoSuchBuffer"),
	      "video-client Release(camera-client's %llu): '%s', want NoSuchBuffer", id, ans);
	CHECK(c, agent_cmd(&own, ans, sizeof(ans), NULL, "LIST") == 0, "%s", ans);
	snprintf(want, sizeof(want), "OK 1 %llu", id);
	CHECK(c, !strcmp(ans, want), "owner's List after the foreign Release: '%s', want '%s'", ans, want);
	/* List shows only one's own. */
	CHECK(c, agent_cmd(&oth, ans, sizeof(ans), NULL, "LIST") == 0, "%s", ans);
	snprintf(want, sizeof(want), "OK 1 %llu", oid);
	CHECK(c, !strcmp(ans, want), "video-client's List: '%s', want only its own '%s'", ans, want);
	/* A token for uid:1002 (video-client) used by another camera-client connection: AccessDenied,
	 * not consumed; then video-client redeems it. */
	CHECK(c, agent_cmd(&own, ans, sizeof(ans), NULL, "SHARE %llu uid:%u", id, uid_of("video-client")) == 0,
	      "%s", ans);
	snprintf(tok, sizeof(tok), "%s", ans + 3);
	CHECK(c, agent_cmd(&own, ans, sizeof(ans), NULL, "SDIMPORT %s", tok) == 1 && strstr(ans, "AccessDenied"),
	      "Import of a uid:1002 token by uid 1001: '%s', want AccessDenied", ans);
	CHECK(c, agent_cmd(&oth, ans, sizeof(ans), &fd, "IMPORT %s", tok) == 0,
	      "the right client's Import after a refused one: '%s' (token consumed?)", ans);
	close(fd);
	fd = -1;
	/* Peer scope: a token for video-client's sd-bus connection; its bb_client connection (same uid,
	 * other peer) is refused, the named peer gets it. */
	CHECK(c, agent_cmd(&oth, ans, sizeof(ans), NULL, "SDNAME") == 0, "%s", ans);
	char peer[128];
	snprintf(peer, sizeof(peer), "%s", ans + 3);
	CHECK(c, agent_cmd(&own, ans, sizeof(ans), NULL, "SHARE %llu %s", id, peer) == 0, "%s", ans);
	snprintf(tok, sizeof(tok), "%s", ans + 3);
	CHECK(c, agent_cmd(&oth, ans, sizeof(ans), &fd, "IMPORT %s", tok) == 1 && strstr(ans, "AccessDenied"),
	      "Import of a token for peer %s by another connection of the same uid: '%s', want AccessDenied",
	      peer, ans);
	CHECK(c, agent_cmd(&oth, ans, sizeof(ans), NULL, "SDIMPORT %s", tok) == 0,
	      "Import by the named peer %s after a refused one: '%s'", peer, ans);
	CHECK(c, agent_cmd(&oth, ans, sizeof(ans), NULL, "SDIMPORT %s", tok) == 1 && strstr(ans, "InvalidToken"),
	      "second Import of a peer token: '%s', want InvalidToken", ans);
	/* A role the policy does not grant. */
	CHECK(c, agent_cmd(&oth, ans, sizeof(ans), &fd, "ALLOC camfull 4096") == 1 && strstr(ans, "AccessDenied"),
	      "video-client Allocate(camfull): '%s', want AccessDenied", ans);
	h_note("perms: foreign Release -> NoSuchBuffer, List own only, uid- and peer-scoped tokens refused to "
	       "others (AccessDenied) and not consumed, ungranted role -> AccessDenied");
out:
	if (fd >= 0)
		close(fd);
	agent_stop(&own);
	agent_stop(&oth);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void case_tokens(struct h_case *c, void *v)
{
	(void)v;
	struct agent a = { .pid = -1, .sock = -1 };
	char ans[256];
	unsigned long n = 0, ones = 0, dup = 0, minpos = ~0UL, maxpos = 0;
	unsigned long pos1[128] = { 0 };
	char (*toks)[40] = calloc(opt_tokens, 40);
	size_t minlen = ~(size_t)0;
	CHECK(c, toks, "calloc");
	const uint64_t t_start = bb_now_ns();
	CHECK(c, agent_start(&a, "camera-client") == 0, "agent");
	CHECK(c, msg_send(a.sock, -1, "TOKENS %lu", opt_tokens) == 0, "send");
	for (;;) {
		CHECK(c, msg_recv(a.sock, ans, sizeof(ans), NULL, 60000) > 0, "no answer after %lu tokens", n);
		if (strncmp(ans, "T ", 2))
			break;
		const char *t = ans + 2;
		size_t l = strlen(t);
		CHECK(c, l >= 32 && strspn(t, "0123456789abcdef") == l && l < 40, "token '%s' is not >= 32 lowercase hex", t);
		if (l < minlen)
			minlen = l;
		CHECK(c, n < opt_tokens, "too many tokens");
		snprintf(toks[n++], 40, "%s", t);
		for (size_t i = 0; i < 32; i++) {
			unsigned int d = (unsigned int)(t[i] <= '9' ? t[i] - '0' : t[i] - 'a' + 10);
			for (int bit = 0; bit < 4; bit++)
				if (d & (1u << bit)) {
					ones++;
					pos1[i * 4 + (size_t)bit]++;
				}
		}
	}
	CHECK(c, !strncmp(ans, "OK", 2), "%s", ans);
	CHECK(c, n == opt_tokens, "%lu tokens, want %lu", n, opt_tokens);
	qsort(toks, n, 40, cmp_str);
	for (unsigned long i = 1; i < n; i++)
		dup += !strcmp(toks[i], toks[i - 1]);
	for (int i = 0; i < 128; i++) {
		if (pos1[i] < minpos)
			minpos = pos1[i];
		if (pos1[i] > maxpos)
			maxpos = pos1[i];
	}
	/* 128 bits per token: ones ~ n*64, sd sqrt(n*32); per bit position ~ n/2, sd sqrt(n)/2. */
	double exp1 = (double)n * 64, frac = (double)ones / (double)(n * 128);
	h_note("tokens: %lu tokens, %lu duplicates, hex length >= %zu (%zu bits), one-bits %.4f of all "
	       "(expect 0.5), per-position one-count %lu..%lu of %lu; %" PRIu64 " s",
	       n, dup, minlen, minlen * 4, frac, minpos, maxpos, n,
	       (uint64_t)((bb_now_ns() - t_start) / 1000000000ULL));
	CHECK(c, dup == 0, "%lu duplicate tokens", dup);
	CHECK(c, (double)ones > exp1 - 6 * 0.5 * __builtin_sqrt((double)n * 128) &&
			 (double)ones < exp1 + 6 * 0.5 * __builtin_sqrt((double)n * 128),
	      "one-bits %lu of %lu: not random-looking", ones, n * 128);
	CHECK(c, (double)minpos > (double)n / 2 - 6 * __builtin_sqrt((double)n) / 2 &&
			 (double)maxpos < (double)n / 2 + 6 * __builtin_sqrt((double)n) / 2,
	      "a bit position is stuck: one-counts %lu..%lu of %lu", minpos, maxpos, n);
out:
	free(toks);
	agent_stop(&a);
}

/* ---- soak ------------------------------------------------------------------------------------ */

enum { E_OK, E_QUOTA, E_FULL, E_TOKEN, E_OTHER, E_N };
static const char *const err_names[E_N] = { "ok", "QuotaExceeded", "RegionFull",
					    "InvalidToken (owner released first)", "unexpected" };
enum { S_ALLOC, S_IMAGE, S_SHARE, S_IMPORT, S_RELEASE, S_LIST, S_USAGE, S_MAP, S_N };
static const char *const s_names[S_N] = { "alloc", "image", "share", "import", "release", "list", "usage", "map" };

struct soak_shared {
	atomic_ulong calls[S_N];
	atomic_ulong errs[E_N];
	atomic_ulong bad_verify;
	atomic_int slot_used; /* camera-client -> video-client token handoff */
	char slot[BB_TOKEN_MAX];
	atomic_int n_unexpected_logged;
	char unexpected[4][256];
};
static struct soak_shared *ss;

static void soak_err(struct bb_client *cl, int r, int op, bool cross)
{
	const char *n = bb_client_last_error_name(cl);
	int e;
	if (r >= 0)
		e = E_OK;
	else if (!strcmp(n, "org.bufbroker.Error.QuotaExceeded") && (op == S_ALLOC || op == S_IMAGE || op == S_SHARE))
		e = E_QUOTA;
	else if (!strcmp(n, "org.bufbroker.Error.RegionFull") && (op == S_ALLOC || op == S_IMAGE))
		e = E_FULL;
	else if (!strcmp(n, "org.bufbroker.Error.InvalidToken") && cross && op == S_IMPORT)
		e = E_TOKEN;
	else
		e = E_OTHER;
	atomic_fetch_add(&ss->errs[e], 1);
	if (e == E_OTHER) {
		int k = atomic_fetch_add(&ss->n_unexpected_logged, 1);
		if (k < 4)
			snprintf(ss->unexpected[k], sizeof(ss->unexpected[k]), "%s: %d %s: %s", s_names[op], r, n,
				 bb_client_last_error_message(cl));
	}
}

struct soak_role {
	const char *user, *role, *share_target;
	uint64_t max_size;
	bool publishes, consumes;
};

static void soak_worker(const struct soak_role *sr, uint64_t seed, uint64_t end_ns)
{
	struct bb_client *cl;
	struct bb_buffer *held[12] = { 0 };
	unsigned int pattern[12] = { 0 };
	bool imported[12] = { 0 }, shared[12] = { 0 };
	rnd_seed(seed);
	if (drop_to(sr->user) < 0 || bb_client_connect(&cl, 0) < 0)
		_exit(1);
	bb_client_set_timeout(cl, 10 * 1000 * 1000);
	while (bb_now_ns() < end_ns) {
		int slot = (int)rnd_below(12), op = (int)rnd_below(S_N), r = 0;
		bool cross = false;
		if (op == S_ALLOC || op == S_IMAGE || op == S_IMPORT) {
			if (held[slot])
				soak_err(cl, bb_client_release(cl, held[slot]), S_RELEASE, false);
			held[slot] = NULL;
			atomic_fetch_add(&ss->calls[S_RELEASE], 1);
		}
		atomic_fetch_add(&ss->calls[op], 1);
		imported[slot] &= op != S_ALLOC && op != S_IMAGE && op != S_IMPORT;
		shared[slot] &= op != S_ALLOC && op != S_IMAGE && op != S_IMPORT;
		switch (op) {
		case S_ALLOC:
			r = bb_client_alloc(cl, sr->role, 4096 * (1 + rnd_below(sr->max_size / 4096)), NULL, &held[slot]);
			pattern[slot] = 0;
			break;
		case S_IMAGE:
			r = bb_client_alloc_image(cl, sr->role, DRM_FORMAT_NV12, 2 * (1 + (uint32_t)rnd_below(960)),
						  2 * (1 + (uint32_t)rnd_below(540)), 0, NULL, &held[slot], NULL);
			pattern[slot] = 0;
			break;
		case S_SHARE:
			if (!held[slot] || !sr->share_target || imported[slot])
				break; /* only owners share (Share of an import is NotSupported) */
			char tok[BB_TOKEN_MAX];
			r = bb_client_share(cl, bb_buffer_get_id(held[slot]), sr->share_target, tok, sizeof(tok));
			shared[slot] |= r >= 0; /* an importer may write it from now on */
			if (r >= 0 && sr->publishes) {
				if (!atomic_load(&ss->slot_used)) {
					memcpy(ss->slot, tok, sizeof(tok));
					atomic_store(&ss->slot_used, 1);
				}
			} else if (r >= 0) {
				/* import our own token into a free slot */
				for (int k = 0; k < 12; k++)
					if (!held[k]) {
						int r2 = bb_client_import(cl, tok, &held[k]);
						atomic_fetch_add(&ss->calls[S_IMPORT], 1);
						soak_err(cl, r2, S_IMPORT, false);
						pattern[k] = 0;
						imported[k] = true;
						break;
					}
			}
			break;
		case S_IMPORT:
			if (sr->consumes && atomic_load(&ss->slot_used)) {
				char t[BB_TOKEN_MAX];
				memcpy(t, ss->slot, sizeof(t));
				atomic_store(&ss->slot_used, 0);
				cross = true;
				r = bb_client_import(cl, t, &held[slot]);
				pattern[slot] = 0;
				imported[slot] = true;
			}
			break;
		case S_RELEASE:
			if (held[slot])
				r = bb_client_release(cl, held[slot]);
			held[slot] = NULL;
			break;
		case S_LIST: {
			struct bb_buffer_info *li;
			size_t n;
			r = bb_client_list_buffers(cl, &li, &n);
			if (r == 0)
				bb_buffer_info_free(li, n);
			break;
		}
		case S_USAGE: {
			struct bb_usage_info *u;
			size_t n;
			r = bb_client_usage(cl, &u, &n);
			if (r == 0)
				bb_usage_info_free(u, n);
			break;
		}
		case S_MAP:
			if (held[slot]) {
				void *p;
				uint64_t sz = bb_buffer_get_size(held[slot]);
				r = bb_buffer_map(held[slot], BB_ACCESS_READ_WRITE, &p);
				if (r == 0) {
					uint32_t *w = p;
					/* content check only where nobody else writes: not shared, not imported */
					if (pattern[slot] && !shared[slot] && !imported[slot] &&
					    (w[0] != pattern[slot] || w[sz / 4 - 1] != pattern[slot]))
						atomic_fetch_add(&ss->bad_verify, 1);
					pattern[slot] = (uint32_t)rnd() | 1;
					w[0] = w[sz / 4 - 1] = pattern[slot];
				} else {
					r = 0; /* a read-only import cannot be mapped RW: not a daemon error */
				}
			}
			break;
		}
		soak_err(cl, r, op, cross);
	}
	for (int k = 0; k < 12; k++)
		if (held[k])
			bb_client_release(cl, held[k]);
	bb_client_free(cl);
	_exit(0);
}

static void case_soak(struct h_case *c, void *v)
{
	(void)v;
	static const struct soak_role roles[] = {
		{ "camera-client", "camera", "role:video", 4 * MiB, true, false },
		{ "video-client", "video", "role:display", 4 * MiB, false, true },
		{ "video-client", "display", NULL, 2 * MiB, false, false },
		{ "root", "quota", NULL, 128 * KiB, false, false },
		{ "root", "camfull", NULL, 8 * MiB, false, false },
	};
	const int nw = 5;
	pid_t pids[8];
	struct totals base, now;
	uint64_t ub, un;
	long rss0, rss1 = -1, rss2;
	ss = mmap(NULL, sizeof(*ss), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(c, ss != MAP_FAILED, "mmap");
	memset(ss, 0, sizeof(*ss));
	CHECK(c, totals_base(&base) == 0, "sysfs");
	rss0 = vmrss_kib(daemon_pid);
	uint64_t start = bb_now_ns(), end = start + (uint64_t)opt_seconds * 1000000000ULL;
	h_note("soak: %lu s, %d clients (camera-client/camera, video-client/video, video-client/display, "
	       "root/quota, root/camfull), seed %" PRIu64,
	       opt_seconds, nw, opt_seed);
	rnd_seed(opt_seed);
	fflush(stdout);
	for (int i = 0; i < nw; i++) {
		uint64_t s = rnd();
		pids[i] = fork();
		CHECK(c, pids[i] >= 0, "fork");
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			soak_worker(&roles[i], s, end);
		}
	}
	/* RSS after a warm-up of 25% of the run (all clients connected and at their working sets) */
	usleep_((end - start) / 4000);
	rss1 = vmrss_kib(daemon_pid);
	int failed_workers = 0;
	for (int i = 0; i < nw; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		failed_workers += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	uint64_t took = (bb_now_ns() - start) / 1000000000ULL;
	CHECK(c, daemon_version() == 1, "the daemon does not answer after the soak");
	bool uz = usage_wait_zero(10000, &ub, &un);
	bool tz = totals_wait(&base, &now, 10000);
	rss2 = vmrss_kib(daemon_pid);
	unsigned long total = 0;
	char calls[512], errs[512];
	int used = 0;
	for (int k = 0; k < S_N; k++) {
		total += ss->calls[k];
		used += snprintf(calls + used, sizeof(calls) - (size_t)used, "%s%s %lu", k ? ", " : "", s_names[k],
				 (unsigned long)ss->calls[k]);
	}
	used = 0;
	for (int k = 1; k < E_N; k++)
		used += snprintf(errs + used, sizeof(errs) - (size_t)used, "%s%s %lu", k > 1 ? ", " : "", err_names[k],
				 (unsigned long)ss->errs[k]);
	h_note("soak: %" PRIu64 " s, %lu calls (%s), %lu ok", took, total, calls, (unsigned long)ss->errs[E_OK]);
	h_note("soak: errors: %s; content checks failed %lu", errs, (unsigned long)ss->bad_verify);
	h_note("soak: daemon VmRSS %ld KiB before, %ld KiB after a 25%% warm-up, %ld KiB after (growth %+ld KiB, %+ld KiB "
	       "since the warm-up)",
	       rss0, rss1, rss2, rss2 - rss0, rss2 - rss1);
	h_note("soak: afterwards Usage() %" PRIu64 " bytes / %" PRIu64 " buffers; module counters %+" PRId64
	       " bytes / %+" PRId64 " buffers vs baseline",
	       ub, un, (int64_t)(now.bytes - base.bytes), (int64_t)(now.buffers - base.buffers));
	for (int k = 0; k < 4 && k < ss->n_unexpected_logged; k++)
		h_note("soak: unexpected: %s", ss->unexpected[k]);
	CHECK(c, failed_workers == 0, "%d soak clients failed to start or crashed", failed_workers);
	CHECK(c, ss->errs[E_OTHER] == 0, "%lu unexplained errors, first: %s", (unsigned long)ss->errs[E_OTHER],
	      ss->unexpected[0]);
	CHECK(c, ss->bad_verify == 0, "%lu content checks failed", (unsigned long)ss->bad_verify);
	CHECK(c, uz, "Usage() not back to zero: %" PRIu64 " bytes", ub);
	CHECK(c, tz, "module counters not back at baseline");
	CHECK(c, rss2 - rss1 < 2048, "daemon VmRSS grew %ld KiB after the warm-up", rss2 - rss1);
out:
	if (ss && ss != MAP_FAILED)
		munmap(ss, sizeof(*ss));
	ss = NULL;
}

/* ---- main -------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		fprintf(stderr, "usage: reliability_test kills|restart|exhaust|unload|perms|tokens|soak [options]\n");
		return 2;
	}
	const char *mode = argv[1];
	if (!strcmp(mode, "baseline")) {
		struct totals t;
		if (totals_take(&t) < 0)
			return 1;
		printf("%" PRIu64 " %" PRIu64 "\n", t.bytes, t.buffers);
		return 0;
	}
	opt_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *k = argv[i], *val = argv[i + 1];
		if (!strcmp(k, "--daemon-pid"))
			daemon_pid = atoi(val);
		else if (!strcmp(k, "--daemon-log"))
			daemon_log = val;
		else if (!strcmp(k, "--pid-file"))
			pid_file = val;
		else if (!strcmp(k, "--module"))
			module_path = val;
		else if (!strcmp(k, "--iterations"))
			opt_iterations = strtoul(val, NULL, 0);
		else if (!strcmp(k, "--seconds"))
			opt_seconds = strtoul(val, NULL, 0);
		else if (!strcmp(k, "--tokens"))
			opt_tokens = strtoul(val, NULL, 0);
		else if (!strcmp(k, "--settle"))
			opt_settle = strtoul(val, NULL, 0);
		else if (!strcmp(k, "--parallel"))
			opt_parallel = (unsigned int)strtoul(val, NULL, 0);
		else if (!strcmp(k, "--seed"))
			opt_seed = strtoull(val, NULL, 0);
		else {
			fprintf(stderr, "reliability_test: unknown option %s\n", k);
			return 2;
		}
	}
	h_init("reliability");
	char name[160];
	if (!strcmp(mode, "kills")) {
		h_set_timeout(600 + (unsigned int)(opt_iterations / 4) + (unsigned int)opt_settle);
		snprintf(name, sizeof(name), "killed clients (%lu SIGKILLs at random points): daemon alive, usage zero, counters at baseline",
			 opt_iterations);
		h_run(name, case_kills, NULL);
	} else if (!strcmp(mode, "restart")) {
		if (daemon_pid <= 0 || !daemon_log || !pid_file)
			return 2;
		h_set_timeout(120);
		h_run("daemon restart (kill -9, same command line): held buffers intact, clients reconnect, accounting consistent",
		      case_restart, NULL);
	} else if (!strcmp(mode, "exhaust")) {
		h_set_timeout(120);
		h_run("region exhaustion: RegionFull, fallback only where the policy allows, fragmentation, all in region",
		      case_exhaust, NULL);
	} else if (!strcmp(mode, "unload")) {
		if (daemon_pid <= 0 || !module_path)
			return 2;
		h_set_timeout(120);
		h_run("module unload with the daemon running: refused while held, HeapRemoved, NoSuchHeap, HeapAdded",
		      case_unload, NULL);
	} else if (!strcmp(mode, "perms")) {
		h_set_timeout(300);
		h_run("permissions: other clients' buffers, scoped tokens, ungranted role", case_perms_buffers, NULL);
	} else if (!strcmp(mode, "tokens")) {
		h_set_timeout(600);
		snprintf(name, sizeof(name), "tokens: %lu unique, >= 128 random bits", opt_tokens);
		h_run(name, case_tokens, NULL);
	} else if (!strcmp(mode, "soak")) {
		if (daemon_pid <= 0)
			return 2;
		h_set_timeout((unsigned int)opt_seconds + 120);
		snprintf(name, sizeof(name), "soak %lu s: usage back at baseline, RSS stable, every error explained",
			 opt_seconds);
		h_run(name, case_soak, NULL);
	} else {
		fprintf(stderr, "reliability_test: unknown mode %s\n", mode);
		return 2;
	}
	return h_exit_status();
}
