// SPDX-License-Identifier: MIT
/*
 * broker_test - guest integration tests of bufbrokerd + libbufbroker on a real
 * `dbus-daemon --system`, with bufbroker_heap.ko and its heaps (tests/guest/broker.sh).
 *
 *   broker_test as USER CMD [ARG...]     exec CMD as USER (initgroups, setgid, setuid)
 *   broker_test wait-heaps SECS [NAME]...  until Heaps() (through the library) succeeds and lists
 *                                        every NAME (region name or other name); exit 0/1
 *   broker_test suite --daemon-pid PID --daemon-log FILE --policy-dir DIR
 *
 * The suite runs as root.  Clients of other uids are forked children that drop to the uid and
 * talk to the parent over a SOCK_SEQPACKET socketpair (text messages, fds by SCM_RIGHTS), so the
 * parent can check what only root sees (pagemap, region base) on buffers another uid holds.
 * Every daemon call goes through libbufbroker.  Output: `ok - broker: <case>` lines (harness.c).
 *
 * Expected policy: daemon/policy/qemu-board.conf + tests/guest/policy-test.conf.
 */
#include "bbutil.h"
#include "clientmsg.h"
#include "harness.h"

#include <bufbroker/bufbroker.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef DRM_FORMAT_NV12
#define DRM_FORMAT_NV12 0x3231564e /* fourcc_code('N', 'V', '1', '2') */
#endif

#define R_CAMERA "camera@78000000"
#define R_VIDEO "video@7c000000"
#define R_DEFAULT "default_cma_region"

static pid_t daemon_pid;
static const char *daemon_log;
static const char *policy_dir;

/* ---- small helpers ------------------------------------------------------------------------ */

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}


/* Bytes and buffers of the region of heap @heap (sysfs). */
static int region_stats(const char *heap, struct bb_stats *s)
{
	struct bb_region r;
	int ret = bb_region_find(heap, &r);
	if (ret < 0)
		return ret;
	return bb_region_stats(&r, s);
}

struct snap {
	struct bb_stats cam, vid, def;
};

static int snap_take(struct snap *s)
{
	int r = region_stats(R_CAMERA, &s->cam);
	if (!r)
		r = region_stats(R_VIDEO, &s->vid);
	if (!r)
		r = region_stats(R_DEFAULT, &s->def);
	return r;
}

/* "" if @now == @base + the deltas, else a description. */
static const char *snap_diff(const struct snap *base, const struct snap *now, int64_t dcam,
			     int64_t dvid, int64_t ddef, char *buf, size_t len)
{
	int64_t c = (int64_t)(now->cam.bytes_allocated - base->cam.bytes_allocated);
	int64_t v = (int64_t)(now->vid.bytes_allocated - base->vid.bytes_allocated);
	int64_t d = (int64_t)(now->def.bytes_allocated - base->def.bytes_allocated);
	buf[0] = 0;
	if (c != dcam || v != dvid || d != ddef)
		snprintf(buf, len,
			 "bytes_allocated deltas camera %+" PRId64 " video %+" PRId64
			 " default %+" PRId64 ", want %+" PRId64 " %+" PRId64 " %+" PRId64,
			 c, v, d, dcam, dvid, ddef);
	return buf;
}

/* Poll until the regions are at @base + deltas (the daemon closes fds asynchronously). */
static const char *snap_wait(const struct snap *base, int64_t dcam, int64_t dvid, int64_t ddef,
			     unsigned int ms, char *buf, size_t len)
{
	struct snap now;
	for (unsigned int t = 0;; t += 50) {
		if (snap_take(&now) < 0) {
			snprintf(buf, len, "cannot read " BB_SYSFS_REGIONS);
			return buf;
		}
		if (!*snap_diff(base, &now, dcam, dvid, ddef, buf, len) || t >= ms)
			return buf;
		msleep(50);
	}
}

/* The name the kernel shows for a dma-buf fd (fdinfo "name:"), "" if none. */
static void fd_bufname(int fd, char *out, size_t len)
{
	char p[64], buf[1024];
	out[0] = 0;
	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
	if (bb_read_file(p, buf, sizeof(buf)) < 0)
		return;
	char *n = strstr(buf, "\nname:");
	if (!n)
		return;
	n += 6;
	n += strspn(n, " \t");
	size_t l = strcspn(n, "\n");
	snprintf(out, len, "%.*s", (int)l, n);
}

/* ---- messages between parent and child clients ---------------------------------------------- */



struct peer {
	pid_t pid;
	int sock;
	const char *user;
};

typedef void (*peer_fn)(int sock, void *arg);

static int peer_start(struct peer *p, const char *user, peer_fn fn, void *arg)
{
	int sv[2];
	p->pid = -1;
	p->sock = -1;
	p->user = user;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(sv[0]);
		close(sv[1]);
		return e;
	}
	if (pid == 0) {
		/* Keep only stdio and the socket (as fd 3): no other client's fds or sockets. */
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		sv[1] = 3;
		close_range(4, ~0U, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int r = drop_to(user);
		if (r < 0) {
			msg_send(sv[1], -1, "FAIL cannot become %s: %s", user, strerror(-r));
			_exit(1);
		}
		fn(sv[1], arg);
		_exit(0);
	}
	close(sv[1]);
	p->pid = pid;
	p->sock = sv[0];
	return 0;
}

/* Wait for the child's next message; 0 if it starts with "OK", else the reason in @why. */
static int peer_wait(struct peer *p, char *text, size_t len, int *fd, char *why, size_t whylen)
{
	int r = msg_recv(p->sock, text, len, fd, 15000);
	if (r < 0) {
		snprintf(why, whylen, "client %s: no answer: %s", p->user, strerror(-r));
		return -1;
	}
	if (strncmp(text, "OK", 2)) {
		snprintf(why, whylen, "client %s: %s", p->user, text);
		if (fd && *fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		return -1;
	}
	return 0;
}

static void peer_stop(struct peer *p)
{
	child_stop(&p->pid, &p->sock);
}

/* Child side: wait for a command from the parent (EXIT and a closed socket end the child). */
static void child_cmd(int sock, char *cmd, size_t len)
{
	int r = msg_recv(sock, cmd, len, NULL, 30000);
	if (r < 0 || !strcmp(cmd, "EXIT"))
		_exit(0);
}

#define CHILD_FAIL(sock, ...)                                                                  \
	do {                                                                                   \
		msg_send((sock), -1, "FAIL " __VA_ARGS__);                                    \
		_exit(1);                                                                      \
	} while (0)

static struct bb_client *child_connect(int sock)
{
	struct bb_client *c;
	int r = bb_client_connect(&c, 0);
	if (r < 0)
		CHILD_FAIL(sock, "bb_client_connect: %s", strerror(-r));
	bb_client_set_timeout(c, 10 * 1000 * 1000);
	return c;
}

/* ---- child programs --------------------------------------------------------------------------- */

struct alloc_arg {
	const char *role;
	uint64_t size;
	int count;
};

/* Allocate arg->count buffers of the role; send each fd ("OK id size heap"), then hold them until
 * EXIT and release them. */
static void child_alloc_hold(int sock, void *v)
{
	struct alloc_arg *a = v;
	struct bb_client *c = child_connect(sock);
	struct bb_buffer *b[8];
	struct bb_alloc_options o = { .name = "t" };
	for (int i = 0; i < a->count && i < 8; i++) {
		int r = bb_client_alloc(c, a->role, a->size, &o, &b[i]);
		if (r < 0)
			CHILD_FAIL(sock, "Allocate(%s, %" PRIu64 "): %s: %s", a->role, a->size,
				   strerror(-r), bb_client_last_error_message(c));
		struct bb_buffer_info *l;
		size_t n;
		const char *heap = "?";
		if (bb_client_list_buffers(c, &l, &n) == 0) {
			for (size_t k = 0; k < n; k++)
				if (l[k].id == bb_buffer_get_id(b[i]))
					heap = l[k].heap;
			msg_send(sock, bb_buffer_get_fd(b[i]), "OK %" PRIu64 " %" PRIu64 " %s",
				 bb_buffer_get_id(b[i]), bb_buffer_get_size(b[i]), heap);
			bb_buffer_info_free(l, n);
		} else {
			CHILD_FAIL(sock, "List failed");
		}
	}
	char cmd[64];
	child_cmd(sock, cmd, sizeof(cmd));
	for (int i = 0; i < a->count && i < 8; i++)
		bb_client_release(c, b[i]);
	bb_client_free(c);
}

struct call_arg {
	const char *role;
	uint64_t size;
	int want; /* expected return of bb_client_alloc */
	const char *want_error; /* expected D-Bus error name or NULL */
};

/* One Allocate with an expected outcome; "OK" or "FAIL ...". */
static void child_alloc_expect(int sock, void *v)
{
	struct call_arg *a = v;
	struct bb_client *c = child_connect(sock);
	struct bb_buffer *b = NULL;
	int r = bb_client_alloc(c, a->role, a->size, NULL, &b);
	if (r != a->want)
		CHILD_FAIL(sock, "Allocate(%s) returned %d (%s), want %d; daemon said '%s'", a->role,
			   r, strerror(-r), a->want, bb_client_last_error_message(c));
	if (a->want_error && strcmp(bb_client_last_error_name(c), a->want_error))
		CHILD_FAIL(sock, "error name '%s', want '%s'", bb_client_last_error_name(c),
			   a->want_error);
	if (r < 0 && !*bb_client_last_error_message(c))
		CHILD_FAIL(sock, "no error message");
	/* Heaps and Usage are open to everyone. */
	struct bb_heap_info *h;
	size_t n;
	r = bb_client_list_heaps(c, &h, &n);
	if (r < 0 || n < 3)
		CHILD_FAIL(sock, "Heaps() as uid %u: %d entries, %s", getuid(), r < 0 ? 0 : (int)n,
			   strerror(r < 0 ? -r : 0));
	bb_heap_info_free(h, n);
	msg_send(sock, -1, "OK %s", bb_client_last_error_message(c));
	if (b)
		bb_client_release(c, b);
	bb_client_free(c);
}

static void child_direct_expect(int sock, void *v)
{
	struct call_arg *a = v;
	struct bb_buffer *b = NULL;
	int r = bb_direct_alloc(a->role, a->size, &b);
	if (r != a->want)
		CHILD_FAIL(sock, "bb_direct_alloc(%s) as uid %u returned %d (%s), want %d", a->role,
			   getuid(), r, strerror(-r), a->want);
	bb_buffer_free(b);
	msg_send(sock, -1, "OK");
}

static void child_image(int sock, void *v)
{
	(void)v;
	struct bb_client *c = child_connect(sock);
	struct bb_buffer *b;
	struct bb_image_layout l, ref;
	int r = bb_client_alloc_image(c, "camera", DRM_FORMAT_NV12, 1280, 720, 0, NULL, &b, &l);
	if (r < 0)
		CHILD_FAIL(sock, "AllocateImage NV12 1280x720: %s: %s", strerror(-r),
			   bb_client_last_error_message(c));
	if (bb_image_layout_compute(DRM_FORMAT_NV12, 1280, 720, 0, &ref) < 0)
		CHILD_FAIL(sock, "bb_image_layout_compute failed");
	/* Y 1280x720 at 0, CbCr 1280x360 after it: 1382400 bytes, page-rounded 1384448. */
	if (l.n_planes != 2 || l.planes[0].offset != 0 || l.planes[0].stride != 1280 ||
	    l.planes[1].offset != 1280 * 720 || l.planes[1].stride != 1280 || l.size != 1384448)
		CHILD_FAIL(sock,
			   "layout planes %u (%" PRIu64 "/%u, %" PRIu64 "/%u) size %" PRIu64
			   ", want 2 (0/1280, 921600/1280) 1384448",
			   l.n_planes, l.planes[0].offset, l.planes[0].stride, l.planes[1].offset,
			   l.planes[1].stride, l.size);
	if (ref.size != l.size || ref.planes[1].offset != l.planes[1].offset)
		CHILD_FAIL(sock, "daemon layout differs from bb_image_layout_compute");
	if (bb_buffer_get_size(b) != l.size)
		CHILD_FAIL(sock, "buffer size %" PRIu64 " != layout size %" PRIu64,
			   bb_buffer_get_size(b), l.size);
	struct stat st;
	off_t end = lseek(bb_buffer_get_fd(b), 0, SEEK_END);
	if (fstat(bb_buffer_get_fd(b), &st) < 0 || end != (off_t)l.size)
		CHILD_FAIL(sock, "dma-buf size (lseek END) %lld, want %" PRIu64, (long long)end,
			   l.size);
	/* An unsupported fourcc is NotSupported. */
	struct bb_buffer *b2 = NULL;
	r = bb_client_alloc_image(c, "camera", 0x20203859 /* 'Y8  ' */, 64, 64, 0, NULL, &b2, NULL);
	if (r != -EOPNOTSUPP)
		CHILD_FAIL(sock, "AllocateImage of fourcc 'Y8  ' returned %d, want -EOPNOTSUPP", r);
	bb_client_release(c, b);
	msg_send(sock, -1, "OK");
	bb_client_free(c);
}

/* Share/import, the owner: allocate, fill 0xa5, share with role:video, send fd + token, then on
 * "CHECK" verify the importer's 0x5a at offset 4096. */
static void child_owner(int sock, void *v)
{
	const char *target = v;
	struct bb_client *c = child_connect(sock);
	struct bb_buffer *b, *b2;
	void *p;
	char tok[BB_TOKEN_MAX];
	int r = bb_client_alloc(c, "camera", MiB, NULL, &b);
	if (r < 0)
		CHILD_FAIL(sock, "Allocate camera: %s", bb_client_last_error_message(c));
	if ((r = bb_buffer_map(b, BB_ACCESS_READ_WRITE, &p)) < 0)
		CHILD_FAIL(sock, "map: %s", strerror(-r));
	bb_buffer_begin_cpu_access(b, BB_ACCESS_WRITE);
	memset(p, 0xa5, MiB);
	bb_buffer_end_cpu_access(b, BB_ACCESS_WRITE);
	/* share-with of camera is "video, display": role:quota is refused. */
	r = bb_client_share(c, bb_buffer_get_id(b), "role:quota", tok, sizeof(tok));
	if (r != -EACCES)
		CHILD_FAIL(sock, "Share with role:quota returned %d, want -EACCES", r);
	r = bb_client_share(c, bb_buffer_get_id(b), target, tok, sizeof(tok));
	if (r < 0)
		CHILD_FAIL(sock, "Share(%s): %s: %s", target, strerror(-r),
			   bb_client_last_error_message(c));
	/* A second buffer, held but not shared (for the SIGKILL case). */
	if (bb_client_alloc(c, "camera", MiB, NULL, &b2) < 0)
		CHILD_FAIL(sock, "second Allocate: %s", bb_client_last_error_message(c));
	msg_send(sock, bb_buffer_get_fd(b), "OK %s", tok);
	char cmd[64];
	for (;;) {
		child_cmd(sock, cmd, sizeof(cmd));
		if (!strcmp(cmd, "CHECK")) {
			bb_buffer_begin_cpu_access(b, BB_ACCESS_READ);
			unsigned char *q = p;
			int good = q[0] == 0xa5 && q[4096] == 0x5a && q[MiB - 1] == 0xa5;
			bb_buffer_end_cpu_access(b, BB_ACCESS_READ);
			if (!good)
				CHILD_FAIL(sock, "owner sees %02x %02x %02x, want a5 5a a5", q[0],
					   q[4096], q[MiB - 1]);
			msg_send(sock, -1, "OK");
		}
	}
}

/* Share/import, the importer: import the token from the parent, check 0xa5, write 0x5a at 4096,
 * send its fd; "AGAIN" imports the same token again and reports the errno. */
static void child_importer(int sock, void *v)
{
	(void)v;
	char tok[BB_TOKEN_MAX + 16];
	struct bb_client *c = child_connect(sock);
	struct bb_buffer *b;
	void *p;
	child_cmd(sock, tok, sizeof(tok));
	int r = bb_client_import(c, tok, &b);
	if (r < 0) {
		msg_send(sock, -1, "FAIL Import: %d %s: %s", r, bb_client_last_error_name(c),
			 bb_client_last_error_message(c));
		child_cmd(sock, tok, sizeof(tok));
		_exit(1);
	}
	if ((r = bb_buffer_map(b, BB_ACCESS_READ_WRITE, &p)) < 0)
		CHILD_FAIL(sock, "map imported: %s", strerror(-r));
	bb_buffer_begin_cpu_access(b, BB_ACCESS_READ_WRITE);
	unsigned char *q = p;
	int good = bb_buffer_get_size(b) == MiB && q[0] == 0xa5 && q[MiB - 1] == 0xa5;
	q[4096] = 0x5a;
	bb_buffer_end_cpu_access(b, BB_ACCESS_READ_WRITE);
	if (!good)
		CHILD_FAIL(sock, "importer sees size %" PRIu64 " bytes %02x %02x, want 1MiB a5 a5",
			   bb_buffer_get_size(b), q[0], q[MiB - 1]);
	struct bb_buffer_info *l;
	size_t n;
	if (bb_client_list_buffers(c, &l, &n) < 0 || n != 1 || strcmp(l[0].state, "imported") ||
	    strcmp(l[0].role, "video"))
		CHILD_FAIL(sock, "List() of the importer: %zu entries, want 1 imported of role video",
			   n);
	bb_buffer_info_free(l, n);
	msg_send(sock, bb_buffer_get_fd(b), "OK");
	char cmd[64];
	for (;;) {
		child_cmd(sock, cmd, sizeof(cmd));
		if (!strcmp(cmd, "AGAIN")) {
			struct bb_buffer *b2 = NULL;
			r = bb_client_import(c, tok, &b2);
			bb_buffer_free(b2);
			msg_send(sock, -1, "OK %d %s", r, bb_client_last_error_name(c));
		}
	}
}

/* ---- cases ------------------------------------------------------------------------------------ */

struct role_case {
	const char *role, *user, *region;
};

/* Allocate through a role as its allowed user; the parent checks where the memory is. */
static void case_role(struct h_case *c, void *v)
{
	const struct role_case *rc = v;
	struct peer p = { .pid = -1, .sock = -1 };
	struct alloc_arg a = { rc->role, MiB, 1 };
	struct snap base, now;
	struct bb_region reg;
	char text[256], why[384], d[256], name[64];
	int fd = -1;
	void *m = MAP_FAILED;
	CHECK(c, bb_region_find(rc->region, &reg) == 0, "no region %s in sysfs", rc->region);
	CHECK(c, snap_take(&base) == 0, "cannot read sysfs stats");
	CHECK(c, peer_start(&p, rc->user, child_alloc_hold, &a) == 0, "fork");
	CHECK(c, peer_wait(&p, text, sizeof(text), &fd, why, sizeof(why)) == 0, "%s", why);
	CHECK(c, fd >= 0, "no fd from the client");
	char heap[96] = "";
	sscanf(text, "OK %*u %*u %95s", heap);
	EXPECT(c, bb_same_region(heap, rc->region), "List() says heap '%s', want one of region %s",
	       heap, rc->region);
	CHECK(c, lseek(fd, 0, SEEK_END) == (off_t)MiB, "dma-buf size is not 1 MiB");
	CHECK(c, snap_take(&now) == 0, "sysfs");
	snap_diff(&base, &now, !strcmp(rc->region, R_CAMERA) ? (int64_t)MiB : 0,
		  !strcmp(rc->region, R_VIDEO) ? (int64_t)MiB : 0,
		  !strcmp(rc->region, R_DEFAULT) ? (int64_t)MiB : 0, d, sizeof(d));
	CHECK(c, !*d, "%s", d);
	/* Pages inside the region and contiguous (pagemap needs root: the parent checks). */
	m = mmap(NULL, MiB, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(c, m != MAP_FAILED, "mmap: %s", strerror(errno));
	CHECK(c, reg.bounds_known, "region %s has no known base", rc->region);
	CHECK(c, bb_check_phys(m, MiB, reg.base, reg.size, true, why, sizeof(why)) == 0, "%s", why);
	/* The dma-buf carries the owner: ROLE:UID:NAME. */
	struct passwd *pw = getpwnam(rc->user);
	char want[64];
	snprintf(want, sizeof(want), "%s:%u:t", rc->role, pw ? pw->pw_uid : 0);
	fd_bufname(fd, name, sizeof(name));
	EXPECT(c, !strcmp(name, want), "dma-buf name '%s', want '%s'", name, want);
	munmap(m, MiB);
	m = MAP_FAILED;
	close(fd);
	fd = -1;
	peer_stop(&p);
	snap_wait(&base, 0, 0, 0, 3000, d, sizeof(d));
	CHECK(c, !*d, "after release: %s", d);
out:
	if (m != MAP_FAILED)
		munmap(m, MiB);
	if (fd >= 0)
		close(fd);
	peer_stop(&p);
}

static void case_image(struct h_case *c, void *v)
{
	(void)v;
	struct peer p;
	char text[256], why[384];
	CHECK(c, peer_start(&p, "camera-client", child_image, NULL) == 0, "fork");
	CHECK(c, peer_wait(&p, text, sizeof(text), NULL, why, sizeof(why)) == 0, "%s", why);
out:
	peer_stop(&p);
}

/* Run one expectation as a user in a child. */
static void expect_as(struct h_case *c, const char *user, peer_fn fn, struct call_arg *a)
{
	struct peer p;
	char text[512], why[600];
	if (peer_start(&p, user, fn, a) < 0) {
		H_FAIL(c, "fork");
		return;
	}
	if (peer_wait(&p, text, sizeof(text), NULL, why, sizeof(why)) < 0)
		H_FAIL(c, "%s", why);
	peer_stop(&p);
}

static struct bb_buffer *fill[256];
static int n_fill;

static void fill_free(void)
{
	while (n_fill > 0)
		bb_buffer_free(fill[--n_fill]);
}

/* Fill the camera region directly (as root) until 1 MiB no longer fits. */
static int fill_camera(char *why, size_t len)
{
	static const uint64_t chunks[] = { 8 * MiB, MiB };
	for (size_t i = 0; i < 2; i++) {
		for (;;) {
			if (n_fill == 256) {
				snprintf(why, len, "region never full");
				return -1;
			}
			int r = bb_direct_alloc(R_CAMERA, chunks[i], &fill[n_fill]);
			if (r == -ENOMEM)
				break;
			if (r < 0) {
				snprintf(why, len, "direct alloc while filling: %s", strerror(-r));
				return -1;
			}
			n_fill++;
		}
	}
	return 0;
}

static void case_fallback(struct h_case *c, void *v)
{
	(void)v;
	struct peer p = { .pid = -1, .sock = -1 };
	struct alloc_arg a = { "camera", MiB, 1 };
	struct snap base;
	char text[256], why[384], d[256];
	int fd = -1;
	CHECK(c, fill_camera(why, sizeof(why)) == 0, "%s", why);
	CHECK(c, snap_take(&base) == 0, "sysfs");
	CHECK(c, peer_start(&p, "camera-client", child_alloc_hold, &a) == 0, "fork");
	CHECK(c, peer_wait(&p, text, sizeof(text), &fd, why, sizeof(why)) == 0,
	      "with camera@78000000 full: %s", why);
	char heap[96] = "";
	sscanf(text, "OK %*u %*u %95s", heap);
	EXPECT(c, bb_same_region(heap, R_DEFAULT), "List() says heap '%s', want the fallback %s",
	       heap, R_DEFAULT);
	snap_wait(&base, 0, 0, (int64_t)MiB, 1000, d, sizeof(d));
	CHECK(c, !*d, "%s", d);
out:
	if (fd >= 0)
		close(fd);
	peer_stop(&p);
	/* fill stays for the next cases (region full), freed by case_full_nofallback */
}

static void case_full_nofallback(struct h_case *c, void *v)
{
	(void)v;
	struct bb_client *cl = NULL;
	struct bb_buffer *b = NULL;
	CHECK(c, n_fill > 0, "camera region was not filled");
	CHECK(c, bb_client_connect(&cl, 0) == 0, "connect");
	int r = bb_client_alloc(cl, "camfull", MiB, NULL, &b);
	CHECK(c, r == -ENOMEM, "Allocate(camfull) with its only heap full returned %d (%s), want -ENOMEM", r,
	      bb_client_last_error_message(cl));
	CHECK(c, !strcmp(bb_client_last_error_name(cl), "org.bufbroker.Error.RegionFull"),
	      "error %s, want RegionFull", bb_client_last_error_name(cl));
	fill_free();
	r = bb_client_alloc(cl, "camfull", MiB, NULL, &b);
	CHECK(c, r == 0, "after freeing the region, Allocate(camfull) returned %d: %s", r,
	      bb_client_last_error_message(cl));
	bb_client_release(cl, b);
out:
	fill_free();
	bb_client_free(cl);
}

static void case_direct_full(struct h_case *c, void *v)
{
	(void)v;
	struct bb_buffer *b = NULL;
	char why[256];
	CHECK(c, fill_camera(why, sizeof(why)) == 0, "%s", why);
	int r = bb_direct_alloc("camera", MiB, &b);
	CHECK(c, r == -ENOMEM, "bb_direct_alloc(camera) of a full region returned %d, want -ENOMEM", r);
out:
	bb_buffer_free(b);
	/* keep the fill for the fallback cases */
}

/* The refused call's error must be QuotaExceeded and name the policy key. */
static int quota_refused(struct bb_client *cl, const char *key, char *why, size_t len)
{
	if (strcmp(bb_client_last_error_name(cl), "org.bufbroker.Error.QuotaExceeded")) {
		snprintf(why, len, "error %s, want QuotaExceeded", bb_client_last_error_name(cl));
		return -1;
	}
	if (!strstr(bb_client_last_error_message(cl), key)) {
		snprintf(why, len, "message '%s' does not name %s", bb_client_last_error_message(cl),
			 key);
		return -1;
	}
	return 0;
}

/* Role quota (tests/guest/policy-test.conf): max-bytes 256K, max-buffers 3,
 * max-buffer-size 128K. */
static void case_quota(struct h_case *c, void *v)
{
	const char *which = v;
	struct bb_client *cl = NULL;
	struct bb_buffer *b[4] = { 0 };
	char why[384];
	int r;
	CHECK(c, bb_client_connect(&cl, 0) == 0, "connect");
	if (!strcmp(which, "max-buffer-size")) {
		r = bb_client_alloc(cl, "quota", 132 * KiB, NULL, &b[0]);
		CHECK(c, r == -EDQUOT, "132K with max-buffer-size 128K returned %d, want -EDQUOT", r);
		CHECK(c, quota_refused(cl, which, why, sizeof(why)) == 0, "%s", why);
		r = bb_client_alloc(cl, "quota", 128 * KiB, NULL, &b[0]);
		CHECK(c, r == 0, "128K returned %d: %s", r, bb_client_last_error_message(cl));
	} else if (!strcmp(which, "max-buffers")) {
		for (int i = 0; i < 3; i++) {
			r = bb_client_alloc(cl, "quota", 4 * KiB, NULL, &b[i]);
			CHECK(c, r == 0, "buffer %d returned %d: %s", i + 1, r,
			      bb_client_last_error_message(cl));
		}
		r = bb_client_alloc(cl, "quota", 4 * KiB, NULL, &b[3]);
		CHECK(c, r == -EDQUOT, "4th buffer with max-buffers 3 returned %d, want -EDQUOT", r);
		CHECK(c, quota_refused(cl, which, why, sizeof(why)) == 0, "%s", why);
	} else {
		for (int i = 0; i < 2; i++) {
			r = bb_client_alloc(cl, "quota", 128 * KiB, NULL, &b[i]);
			CHECK(c, r == 0, "128K #%d returned %d: %s", i + 1, r,
			      bb_client_last_error_message(cl));
		}
		r = bb_client_alloc(cl, "quota", 4 * KiB, NULL, &b[2]);
		CHECK(c, r == -EDQUOT, "4K over max-bytes 256K returned %d, want -EDQUOT", r);
		CHECK(c, quota_refused(cl, which, why, sizeof(why)) == 0, "%s", why);
	}
	/* Releasing gives the quota back. */
	for (int i = 0; i < 4; i++) {
		bb_client_release(cl, b[i]);
		b[i] = NULL;
	}
	r = bb_client_alloc(cl, "quota", 128 * KiB, NULL, &b[0]);
	CHECK(c, r == 0, "after release, 128K returned %d: %s", r, bb_client_last_error_message(cl));
out:
	for (int i = 0; i < 4; i++)
		bb_client_release(cl, b[i]);
	bb_client_free(cl);
}

/* How many buffers the daemon lists for @cl, or -1. */
static int listed(struct bb_client *cl)
{
	struct bb_buffer_info *li = NULL;
	size_t n = 0;

	if (bb_client_list_buffers(cl, &li, &n) < 0)
		return -1;
	bb_buffer_info_free(li, n);
	return (int)n;
}

/* AllocateSet and ReleaseSet: one call each for a set, and a set is all or nothing. */
static void case_set(struct h_case *c, void *v)
{
	struct bb_client *cl = NULL, *other = NULL;
	struct bb_buffer *set[4] = { 0 }, *q[4] = { 0 }, *mixed[2] = { 0 };
	uint64_t keep_id = 0, other_id = 0;
	struct snap base;
	char why[384];
	int r;

	(void)v;
	CHECK(c, bb_client_connect(&cl, 0) == 0 && bb_client_connect(&other, 0) == 0, "connect");
	CHECK(c, snap_take(&base) == 0, "cannot read " BB_SYSFS_REGIONS);

	r = bb_client_alloc_set(cl, "camfull", MiB, 4, NULL, set);
	CHECK(c, r == 0, "AllocateSet 4 x 1 MiB returned %d: %s", r, bb_client_last_error_message(cl));
	for (int i = 0; i < 4; i++) {
		struct stat st[2];

		CHECK(c, bb_buffer_get_size(set[i]) == MiB, "buffer %d is %" PRIu64 " bytes", i,
		      bb_buffer_get_size(set[i]));
		CHECK_SYS(c, fstat(bb_buffer_get_fd(set[i]), &st[0]));
		for (int j = 0; j < i; j++) {
			CHECK_SYS(c, fstat(bb_buffer_get_fd(set[j]), &st[1]));
			CHECK(c, st[0].st_ino != st[1].st_ino, "buffers %d and %d are the same dma-buf", j, i);
		}
	}
	CHECK(c, listed(cl) == 4, "List shows %d buffers, want 4", listed(cl));
	CHECK(c, !*snap_wait(&base, 4 * MiB, 0, 0, 2000, why, sizeof(why)), "after AllocateSet: %s", why);

	/* Over the role's max-buffers (3): refused, and nothing of the set is kept. */
	r = bb_client_alloc_set(cl, "quota", 4 * KiB, 4, NULL, q);
	CHECK(c, r == -EDQUOT, "a set of 4 with max-buffers 3 returned %d, want -EDQUOT", r);
	CHECK(c, strstr(bb_client_last_error_message(cl), "buffer 4 of 4") &&
		 strstr(bb_client_last_error_message(cl), "none of the set was kept"),
	      "message '%s' does not say which buffer failed and that none was kept",
	      bb_client_last_error_message(cl));
	CHECK(c, !q[0] && !q[3], "a refused set filled the output array");
	CHECK(c, listed(cl) == 4, "after the refused set List shows %d buffers, want 4", listed(cl));
	CHECK(c, !*snap_wait(&base, 4 * MiB, 0, 0, 2000, why, sizeof(why)), "after the refused set: %s", why);

	/* A ReleaseSet with an id this client does not hold releases nothing. */
	r = bb_client_alloc(other, "camfull", MiB, NULL, &mixed[1]);
	CHECK(c, r == 0, "the other client's buffer: %d", r);
	other_id = bb_buffer_get_id(mixed[1]);
	r = bb_client_alloc(cl, "camfull", MiB, NULL, &mixed[0]);
	CHECK(c, r == 0, "one more buffer: %d", r);
	keep_id = bb_buffer_get_id(mixed[0]);
	r = bb_client_release_set(cl, mixed, 2);
	mixed[0] = mixed[1] = NULL; /* freed locally either way */
	CHECK(c, r == -ESRCH, "ReleaseSet with another client's id returned %d, want -ESRCH", r);
	CHECK(c, strstr(bb_client_last_error_message(cl), "nothing was released"), "message '%s'",
	      bb_client_last_error_message(cl));
	CHECK(c, listed(cl) == 5, "after the refused ReleaseSet List shows %d buffers, want 5", listed(cl));
	CHECK(c, bb_client_release_id(cl, keep_id) == 0 && bb_client_release_id(other, other_id) == 0,
	      "Release of the two single buffers");
	keep_id = other_id = 0;

	/* The set back in one call: the region is where it was. */
	r = bb_client_release_set(cl, set, 4);
	memset(set, 0, sizeof(set));
	CHECK(c, r == 0, "ReleaseSet returned %d: %s", r, bb_client_last_error_message(cl));
	CHECK(c, listed(cl) == 0, "after ReleaseSet List shows %d buffers, want 0", listed(cl));
	CHECK(c, !*snap_wait(&base, 0, 0, 0, 2000, why, sizeof(why)), "after ReleaseSet: %s", why);
out:
	bb_client_release_set(cl, set, 4);
	bb_client_release_set(cl, mixed, 2);
	if (keep_id)
		bb_client_release_id(cl, keep_id);
	if (other_id)
		bb_client_release_id(other, other_id);
	bb_client_free(cl);
	bb_client_free(other);
}

static void case_denied(struct h_case *c, void *v)
{
	(void)v;
	struct call_arg a = { "camera", MiB, -EACCES, "org.bufbroker.Error.AccessDenied" };
	expect_as(c, "nobody", child_alloc_expect, &a);
	if (c->failed)
		return;
	struct call_arg b = { "quota", 4096, -EACCES, "org.bufbroker.Error.AccessDenied" };
	expect_as(c, "video-client", child_alloc_expect, &b);
	if (c->failed)
		return;
	struct call_arg n = { "nosuchrole", 4096, -ENOENT, "org.bufbroker.Error.NoSuchRole" };
	expect_as(c, "video-client", child_alloc_expect, &n);
}

static void case_direct_noperm(struct h_case *c, void *v)
{
	(void)v;
	struct stat st;
	CHECK(c, stat(BB_HEAP_DIR "/camera", &st) == 0 && (st.st_mode & 07777) == 0660,
	      "/dev/dma_heap/camera is not 0660 (the udev-equivalent step did not run)");
	struct call_arg a = { "camera", 4096, -EACCES, NULL };
	expect_as(c, "video-client", child_direct_expect, &a);
	if (c->failed)
		return;
	/* The group the udev rule names may: that is how bufbrokerd opens them. */
	struct call_arg b = { "camera", 4096, 0, NULL };
	expect_as(c, "bufbroker", child_direct_expect, &b);
out:;
}

static void case_direct_nosuch(struct h_case *c, void *v)
{
	(void)v;
	struct bb_buffer *b = NULL;
	char name[64];
	int r = bb_direct_alloc("no-such-heap", 4096, &b);
	CHECK(c, r == -ENOENT, "bb_direct_alloc(no-such-heap) returned %d, want -ENOENT", r);
	r = bb_direct_resolve_heap("no-such-heap", name, sizeof(name));
	CHECK(c, r == -ENOENT, "bb_direct_resolve_heap(no-such-heap) returned %d, want -ENOENT", r);
out:
	bb_buffer_free(b);
}

struct direct_case {
	const char *name, *region;
};

static void case_direct_alloc(struct h_case *c, void *v)
{
	const struct direct_case *dc = v;
	struct bb_buffer *b = NULL;
	struct snap base;
	char d[256];
	CHECK(c, snap_take(&base) == 0, "sysfs");
	int r = bb_direct_alloc(dc->name, 2 * MiB, &b);
	CHECK(c, r == 0, "bb_direct_alloc(%s): %s", dc->name ? dc->name : "NULL", strerror(-r));
	CHECK(c, bb_buffer_get_id(b) == 0 && bb_buffer_get_size(b) == 2 * MiB, "id/size");
	snap_wait(&base, !strcmp(dc->region, R_CAMERA) ? (int64_t)(2 * MiB) : 0,
		  !strcmp(dc->region, R_VIDEO) ? (int64_t)(2 * MiB) : 0,
		  !strcmp(dc->region, R_DEFAULT) ? (int64_t)(2 * MiB) : 0, 0, d, sizeof(d));
	CHECK(c, !*d, "%s", d);
	bb_buffer_free(b);
	b = NULL;
	snap_wait(&base, 0, 0, 0, 1000, d, sizeof(d));
	CHECK(c, !*d, "after free: %s", d);
out:
	bb_buffer_free(b);
}

static int usage_bytes_of_uid(uint32_t uid, uint64_t *bytes, char *why, size_t len)
{
	struct bb_client *cl;
	struct bb_usage_info *u;
	size_t n;
	*bytes = 0;
	if (bb_client_connect(&cl, 0) < 0)
		return -1;
	int r = bb_client_usage(cl, &u, &n);
	if (r < 0) {
		snprintf(why, len, "Usage: %s", bb_client_last_error_message(cl));
		bb_client_free(cl);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (u[i].uid == uid)
			*bytes += u[i].bytes;
	bb_usage_info_free(u, n);
	bb_client_free(cl);
	return 0;
}

static void case_sigkill(struct h_case *c, void *v)
{
	(void)v;
	struct peer own = { .pid = -1, .sock = -1 }, imp = { .pid = -1, .sock = -1 };
	struct snap base;
	char text[256], tok[BB_TOKEN_MAX], why[384], d[256];
	int fd = -1;
	uint64_t bytes;
	CHECK(c, snap_take(&base) == 0, "sysfs");
	CHECK(c, peer_start(&own, "camera-client", child_owner, "role:video") == 0, "fork");
	CHECK(c, peer_wait(&own, text, sizeof(text), &fd, why, sizeof(why)) == 0, "%s", why);
	close(fd);
	fd = -1;
	snprintf(tok, sizeof(tok), "%s", text + 3);
	CHECK(c, peer_start(&imp, "video-client", child_importer, NULL) == 0, "fork");
	msg_send(imp.sock, -1, "%s", tok);
	CHECK(c, peer_wait(&imp, text, sizeof(text), &fd, why, sizeof(why)) == 0, "%s", why);
	close(fd);
	fd = -1;
	CHECK(c, usage_bytes_of_uid(1001, &bytes, why, sizeof(why)) == 0, "%s", why);
	CHECK(c, bytes == 2 * MiB, "Usage() charges uid 1001 %" PRIu64 " bytes, want 2 MiB", bytes);
	snap_wait(&base, (int64_t)(2 * MiB), 0, 0, 0, d, sizeof(d));
	CHECK(c, !*d, "while held: %s", d);
	/* SIGKILL the owner: its usage drops to zero, the importer's buffer stays. */
	kill(own.pid, SIGKILL);
	waitpid(own.pid, NULL, 0);
	own.pid = -1;
	for (int i = 0; i < 60; i++) {
		CHECK(c, usage_bytes_of_uid(1001, &bytes, why, sizeof(why)) == 0, "%s", why);
		if (!bytes)
			break;
		msleep(50);
	}
	CHECK(c, bytes == 0, "Usage() still charges the killed client %" PRIu64 " bytes", bytes);
	snap_wait(&base, (int64_t)MiB, 0, 0, 3000, d, sizeof(d));
	CHECK(c, !*d, "killed owner, importer holds one: %s", d);
	/* The importer closes: back to the baseline. */
	peer_stop(&imp);
	snap_wait(&base, 0, 0, 0, 3000, d, sizeof(d));
	CHECK(c, !*d, "all closed: %s", d);
	struct snap now;
	snap_take(&now);
	CHECK(c, now.cam.buffers_allocated == base.cam.buffers_allocated,
	      "buffers_allocated %" PRIu64 ", baseline %" PRIu64, now.cam.buffers_allocated,
	      base.cam.buffers_allocated);
out:
	if (fd >= 0)
		close(fd);
	peer_stop(&own);
	peer_stop(&imp);
}

static void case_share(struct h_case *c, void *v)
{
	(void)v;
	struct peer own = { .pid = -1, .sock = -1 }, imp = { .pid = -1, .sock = -1 },
		    other = { .pid = -1, .sock = -1 };
	char text[256], tok[BB_TOKEN_MAX], why[384];
	int fo = -1, fi = -1;
	struct stat so, si;
	CHECK(c, peer_start(&own, "camera-client", child_owner, "role:video") == 0, "fork");
	CHECK(c, peer_wait(&own, text, sizeof(text), &fo, why, sizeof(why)) == 0, "%s", why);
	snprintf(tok, sizeof(tok), "%s", text + 3);
	CHECK(c, strlen(tok) == 32 && strspn(tok, "0123456789abcdef") == 32,
	      "token '%s' is not 32 hex digits", tok);
	/* A third uid may not use role video: AccessDenied, and the token stays valid. */
	CHECK(c, peer_start(&other, "nobody", child_importer, NULL) == 0, "fork");
	msg_send(other.sock, -1, "%s", tok);
	CHECK(c, msg_recv(other.sock, text, sizeof(text), NULL, 15000) > 0, "no answer from nobody");
	CHECK(c, strstr(text, "Import: -13 org.bufbroker.Error.AccessDenied"),
	      "import by uid nobody: '%s', want -EACCES AccessDenied", text);
	peer_stop(&other);
	CHECK(c, peer_start(&imp, "video-client", child_importer, NULL) == 0, "fork");
	msg_send(imp.sock, -1, "%s", tok);
	CHECK(c, peer_wait(&imp, text, sizeof(text), &fi, why, sizeof(why)) == 0, "%s", why);
	CHECK(c, fstat(fo, &so) == 0 && fstat(fi, &si) == 0 && so.st_ino == si.st_ino &&
		 so.st_dev == si.st_dev,
	      "owner's and importer's fds are different dma-bufs");
	msg_send(own.sock, -1, "CHECK");
	CHECK(c, peer_wait(&own, text, sizeof(text), NULL, why, sizeof(why)) == 0, "%s", why);
	/* Single use. */
	msg_send(imp.sock, -1, "AGAIN");
	CHECK(c, peer_wait(&imp, text, sizeof(text), NULL, why, sizeof(why)) == 0, "%s", why);
	CHECK(c, !strcmp(text, "OK -74 org.bufbroker.Error.InvalidToken"),
	      "second Import of the token: '%s', want -EBADMSG InvalidToken", text + 3);
out:
	if (fo >= 0)
		close(fo);
	if (fi >= 0)
		close(fi);
	peer_stop(&own);
	peer_stop(&imp);
	peer_stop(&other);
}

static int write_file(const char *path, const char *text)
{
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f) != 0)
		return -errno;
	return rename(tmp, path) < 0 ? -errno : 0;
}

/* Allocate 4K of @role as root; returns bb_client_alloc's result. */
static int try_role(const char *role)
{
	struct bb_client *cl;
	struct bb_buffer *b = NULL;
	if (bb_client_connect(&cl, 0) < 0)
		return -ENOTCONN;
	int r = bb_client_alloc(cl, role, 4096, NULL, &b);
	bb_client_release(cl, b);
	bb_client_free(cl);
	return r;
}

static int wait_role(const char *role, int want, unsigned int ms)
{
	int r;
	for (unsigned int t = 0;; t += 50) {
		r = try_role(role);
		if (r == want || t >= ms)
			return r;
		msleep(50);
	}
}

static int log_has(const char *needle)
{
	char *buf = malloc(1 << 20);
	if (!buf)
		return 0;
	int r = bb_read_file(daemon_log, buf, 1 << 20);
	int found = r > 0 && strstr(buf, needle);
	free(buf);
	return found;
}

static char reload_file[300];

static void case_reload_good(struct h_case *c, void *v)
{
	(void)v;
	int r;
	snprintf(reload_file, sizeof(reload_file), "%s/60-reload.conf", policy_dir);
	CHECK(c, (r = try_role("hup")) == -ENOENT, "role hup before the reload: %d, want -ENOENT",
	      r);
	CHECK(c, write_file(reload_file, "[role hup]\nheaps = default_cma_region\n"
					 "allow-users = root\n") == 0,
	      "write %s", reload_file);
	CHECK(c, kill(daemon_pid, SIGHUP) == 0, "kill -HUP %d: %s", daemon_pid, strerror(errno));
	r = wait_role("hup", 0, 3000);
	CHECK(c, r == 0, "role hup 3 s after SIGHUP: %d, want 0", r);
out:;
}

static void case_reload_bad(struct h_case *c, void *v)
{
	(void)v;
	int r;
	/* Drops role hup and has an error on line 3: must be refused as a whole. */
	CHECK(c, write_file(reload_file, "[role hup2]\nheaps = default_cma_region\n"
					 "allow-userz = root\n") == 0,
	      "write %s", reload_file);
	CHECK(c, kill(daemon_pid, SIGHUP) == 0, "kill -HUP: %s", strerror(errno));
	int seen = 0;
	for (int i = 0; i < 60 && !seen; i++) {
		seen = log_has("60-reload.conf:3:");
		if (!seen)
			msleep(50);
	}
	CHECK(c, seen, "the daemon log has no '60-reload.conf:3:' error");
	msleep(100);
	CHECK(c, (r = try_role("hup")) == 0, "role hup after a refused reload: %d, want 0 (old policy kept)", r);
	CHECK(c, (r = try_role("hup2")) == -ENOENT, "role hup2 of the bad file: %d, want -ENOENT", r);
	/* Restore: remove the drop-in, reload, hup is gone. */
	unlink(reload_file);
	CHECK(c, kill(daemon_pid, SIGHUP) == 0, "kill -HUP: %s", strerror(errno));
	r = wait_role("hup", -ENOENT, 3000);
	CHECK(c, r == -ENOENT, "role hup after removing the drop-in: %d, want -ENOENT", r);
out:
	unlink(reload_file);
}

static int suite(void)
{
	static const struct role_case roles[] = {
		{ "camera", "camera-client", R_CAMERA },
		{ "video", "video-client", R_VIDEO },
		{ "display", "video-client", R_DEFAULT },
	};
	char name[96];
	h_init("broker");
	h_set_timeout(60);
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		snprintf(name, sizeof(name), "allocate role %s as %s lands in %s", roles[i].role,
			 roles[i].user, roles[i].region);
		h_run(name, case_role, (void *)&roles[i]);
	}
	h_run("AllocateImage NV12 1280x720: planes and size", case_image, NULL);
	h_run("direct: a full region is ENOMEM", case_direct_full, NULL);
	h_run("fallback: camera full, role camera gets default_cma_region", case_fallback, NULL);
	h_run("no fallback: RegionFull is ENOMEM", case_full_nofallback, NULL);
	fill_free();
	h_run("quota max-buffer-size is EDQUOT", case_quota, "max-buffer-size");
	h_run("quota max-buffers is EDQUOT", case_quota, "max-buffers");
	h_run("quota max-bytes is EDQUOT", case_quota, "max-bytes");
	h_run("AllocateSet/ReleaseSet: one call for a set, all or nothing", case_set, NULL);
	h_run("uid not in the policy is AccessDenied (EACCES)", case_denied, NULL);
	h_run("direct: no permission without group bufbroker (EACCES)", case_direct_noperm, NULL);
	h_run("direct: a heap that does not exist is ENOENT", case_direct_nosuch, NULL);
	static const struct direct_case dcs[] = {
		{ "camera", R_CAMERA },	      /* alias */
		{ "video@7c000000", R_VIDEO }, /* exact */
		{ NULL, R_DEFAULT },	      /* default */
		{ "default", R_DEFAULT },
		{ "linux,cma", R_DEFAULT }, /* legacy / DT node name */
	};
	for (size_t i = 0; i < sizeof(dcs) / sizeof(dcs[0]); i++) {
		snprintf(name, sizeof(name), "direct: alloc by '%s' lands in %s",
			 dcs[i].name ? dcs[i].name : "NULL", dcs[i].region);
		h_run(name, case_direct_alloc, (void *)&dcs[i]);
	}
	h_run("share role:video, import as another uid, same bytes, single use", case_share, NULL);
	h_run("SIGKILL of a client: usage to zero, counters to baseline", case_sigkill, NULL);
	h_run("SIGHUP: a good policy change takes effect", case_reload_good, NULL);
	h_run("SIGHUP: a bad policy is refused, the old one kept", case_reload_bad, NULL);
	return h_exit_status();
}

/* ---- other modes ------------------------------------------------------------------------------- */

static int wait_heaps(int secs, char **names, int n)
{
	for (int t = 0;; t += 100) {
		struct bb_client *cl;
		struct bb_heap_info *h;
		size_t nh;
		int missing = -1;
		if (bb_client_connect(&cl, 0) == 0) {
			bb_client_set_timeout(cl, 2 * 1000 * 1000);
			if (bb_client_list_heaps(cl, &h, &nh) == 0) {
				missing = 0;
				for (int i = 0; i < n; i++) {
					int found = 0;
					for (size_t k = 0; k < nh && !found; k++) {
						found = !strcmp(h[k].name, names[i]);
						for (char **a = h[k].aliases; a && *a && !found; a++)
							found = !strcmp(*a, names[i]);
					}
					missing += !found;
				}
				bb_heap_info_free(h, nh);
			}
			bb_client_free(cl);
		}
		if (missing == 0)
			return 0;
		if (t >= secs * 1000) {
			fprintf(stderr, "broker_test: wait-heaps: %s after %d s\n",
				missing < 0 ? "no answer from bufbrokerd" : "heaps missing", secs);
			return 1;
		}
		msleep(100);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "as")) {
		int r = drop_to(argv[2]);
		if (r < 0) {
			fprintf(stderr, "broker_test as: %s: %s\n", argv[2], strerror(-r));
			return 127;
		}
		execvp(argv[3], argv + 3);
		fprintf(stderr, "broker_test as: %s: %s\n", argv[3], strerror(errno));
		return 127;
	}
	if (argc >= 3 && !strcmp(argv[1], "wait-heaps"))
		return wait_heaps(atoi(argv[2]), argv + 3, argc - 3);
	if (argc >= 2 && !strcmp(argv[1], "suite")) {
		for (int i = 2; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--daemon-pid"))
				daemon_pid = atoi(argv[i + 1]);
			else if (!strcmp(argv[i], "--daemon-log"))
				daemon_log = argv[i + 1];
			else if (!strcmp(argv[i], "--policy-dir"))
				policy_dir = argv[i + 1];
		}
		if (daemon_pid <= 0 || !daemon_log || !policy_dir) {
			fprintf(stderr, "broker_test suite: --daemon-pid, --daemon-log, --policy-dir\n");
			return 2;
		}
		signal(SIGPIPE, SIG_IGN);
		return suite();
	}
	fprintf(stderr, "usage: broker_test as USER CMD... | wait-heaps SECS [NAME]... | suite "
			"--daemon-pid PID --daemon-log FILE --policy-dir DIR\n");
	return 2;
}
