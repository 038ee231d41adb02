// SPDX-License-Identifier: MIT
/*
 * heap_test: conformance suite for bufbroker_heap.ko, run as root inside the guest.
 *
 *   heap_test [--expect NAME]... [--heap NAME]
 *   heap_test --unload-test --module /lib/modules/bufbroker_heap.ko
 *
 * --heap NAME picks the heap for the region-independent cases (default: the first region's
 * first heap name, preferring a non-default region so the kernel's own CMA users are not starved).
 */
#include "bbutil.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define MODULE_NAME "bufbroker_heap"

static struct bb_region regions[BB_MAX_REGIONS];
static int n_regions;
static const char *expect_names[32];
static int n_expect;
static const char *opt_heap;
static const char *opt_module;
static int kmsg_fd = -1;     /* marked before each checked group */
static int kmsg_run_fd = -1; /* marked once at start */

/* ---------- small helpers ---------- */

static uint64_t buf_size(int fd)
{
	off_t end = lseek(fd, 0, SEEK_END);
	lseek(fd, 0, SEEK_SET);
	return end < 0 ? 0 : (uint64_t)end;
}

static uint64_t page_align(uint64_t v)
{
	uint64_t ps = bb_page_size();
	return (v + ps - 1) & ~(ps - 1);
}

static void fmt_size(uint64_t v, char *out, size_t len)
{
	if (v >= MiB && v % MiB == 0)
		snprintf(out, len, "%" PRIu64 "MiB", v / MiB);
	else if (v >= KiB && v % KiB == 0)
		snprintf(out, len, "%" PRIu64 "KiB", v / KiB);
	else
		snprintf(out, len, "%" PRIu64 "B", v);
}

/* Skip kernel log records written so far; later reads see only new records. */
static void kmsg_mark(int *fd)
{
	if (*fd < 0)
		*fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (*fd >= 0)
		lseek(*fd, 0, SEEK_END);
}

static bool has_word(const char *s, const char *w)
{
	size_t wl = strlen(w);
	for (const char *p = strstr(s, w); p; p = strstr(p + 1, w)) {
		bool left = p == s || !((p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= 'a' && p[-1] <= 'z'));
		char r = p[wl];
		bool right = !((r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z'));
		if (left && right)
			return true;
	}
	return false;
}

/* Read kernel log records since the last mark; fill bad with the first WARNING/BUG line. */
static int kmsg_scan(int kfd, char *bad, size_t badlen)
{
	if (kfd < 0)
		return -ENOENT;
	char rec[8192];
	int found = 0;
	for (;;) {
		ssize_t n = read(kfd, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EPIPE) /* overwritten records: keep reading */
				continue;
			if (errno == EINTR)
				continue;
			break; /* EAGAIN: no more */
		}
		rec[n] = '\0';
		char *msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		if (!found && (has_word(msg, "WARNING") || has_word(msg, "BUG") ||
			       strstr(msg, "Oops") || strstr(msg, "cut here"))) {
			char *nl = strchr(msg, '\n');
			if (nl)
				*nl = '\0';
			snprintf(bad, badlen, "%s", msg);
			found = 1;
		}
	}
	return found;
}

struct mapped {
	int fd;
	void *p;
	size_t len;
};

static int map_buf(int fd, size_t len, void **out)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

/* Placement check against a region: range (when its bounds are known) and contiguity. */
static int check_in_region(const void *p, size_t len, const struct bb_region *r, char *msg,
			   size_t msglen)
{
	return bb_check_phys(p, len, r->base, r->bounds_known ? r->size : 0, true, msg, msglen);
}

/* ---------- discovery ---------- */

static void case_discovery(struct h_case *c, void *arg)
{
	(void)arg;
	CHECK(c, n_regions > 0, "no regions under " BB_SYSFS_REGIONS " (%s)",
	      n_regions < 0 ? strerror(-n_regions) : "empty");
	for (int i = 0; i < n_regions; i++) {
		const struct bb_region *r = &regions[i];
		char names[512] = "";
		for (unsigned int j = 0; j < r->n_heaps; j++) {
			strncat(names, j ? " " : "", sizeof(names) - strlen(names) - 1);
			strncat(names, r->heaps[j], sizeof(names) - strlen(names) - 1);
		}
		h_note("region %s: size %" PRIu64 " base 0x%" PRIx64 "%s default %d heaps [%s]",
		       r->name, r->size, r->base, r->have_base ? "" : " (unreadable)",
		       r->is_default, names);
		EXPECT(c, r->size > 0 && r->size % bb_page_size() == 0,
		       "region %s: bad size %" PRIu64, r->name, r->size);
		EXPECT(c, r->have_base, "region %s: base unreadable (not root?)", r->name);
		if (r->have_base && !r->bounds_known)
			h_note("region %s: bounds unknown (default area not from DT): placement checks "
			       "cover contiguity only", r->name);
		EXPECT(c, r->n_heaps > 0, "region %s: empty heaps list", r->name);
		if (r->n_heaps)
			EXPECT(c, !strcmp(r->heaps[0], r->name),
			       "region %s: heaps list does not start with the primary name (%s)",
			       r->name, r->heaps[0]);
	}
	/* Exactly one region is the default CMA area, and it carries default_cma_region. */
	int n_def = 0;
	for (int i = 0; i < n_regions; i++)
		n_def += regions[i].is_default;
	EXPECT(c, n_def == 1, "%d regions claim default=1, want 1", n_def);
	const struct bb_region *d = bb_region_with_heap(regions, n_regions, "default_cma_region");
	EXPECT(c, d && d->is_default, "default_cma_region is %s",
	       d ? "not on the default region" : "in no region's heaps list");
out:;
}

static void case_region_nodes(struct h_case *c, void *arg)
{
	const struct bb_region *r = arg;
	for (unsigned int j = 0; j < r->n_heaps; j++) {
		char path[256];
		struct stat st;
		snprintf(path, sizeof(path), BB_HEAP_DIR "/%s", r->heaps[j]);
		CHECK(c, stat(path, &st) == 0, "%s: %s", path, strerror(errno));
		CHECK(c, S_ISCHR(st.st_mode), "%s is not a character device", path);
		char cls[512];
		snprintf(path, sizeof(path), "/sys/class/dma_heap/%s", r->heaps[j]);
		EXPECT(c, access(path, F_OK) == 0, "%s missing (class dma_heap)", path);
		(void)cls;
	}
	/* The aliases file lists names that are all in heaps. */
	char path[512], buf[1024];
	snprintf(path, sizeof(path), BB_SYSFS_REGIONS "/%s/aliases", r->name);
	CHECK(c, bb_read_file(path, buf, sizeof(buf)) >= 0, "%s: %s", path, strerror(errno));
	char *save = NULL;
	for (char *t = strtok_r(buf, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		const struct bb_region *o = bb_region_with_heap(regions, n_regions, t);
		EXPECT(c, o == r, "alias %s of %s is %s", t, r->name,
		       o ? "listed in another region" : "not in the heaps list");
	}
out:;
}

static void case_expected(struct h_case *c, void *arg)
{
	const char *name = arg;
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), BB_HEAP_DIR "/%s", name);
	CHECK(c, stat(path, &st) == 0 && S_ISCHR(st.st_mode), "%s: %s", path,
	      errno ? strerror(errno) : "not a char device");
	CHECK(c, bb_region_with_heap(regions, n_regions, name), "%s exists but no region lists it", name);
out:;
}

static void case_no_stray_nodes(struct h_case *c, void *arg)
{
	(void)arg;
	static char names[64][BB_NAME_LEN];
	int n = bb_heap_nodes(names, 64);
	CHECK(c, n >= 0, BB_HEAP_DIR ": %s", strerror(-n));
	for (int i = 0; i < n; i++)
		EXPECT(c, bb_region_with_heap(regions, n_regions, names[i]), BB_HEAP_DIR "/%s belongs to no region", names[i]);
out:;
}

/* ---------- per-region cases ---------- */

/* sysfs "uncached" says what the region's node in the live device tree says. */
static void case_uncached_from_dt(struct h_case *c, void *arg)
{
	const struct bb_region *r = arg;
	char b[1];
	bool in_dt = bb_region_dt_prop(r, "bufbroker,uncached", b, sizeof(b)) >= 0;
	CHECK(c, r->uncached == in_dt, "%s: sysfs uncached=%d, but the live DT %s bufbroker,uncached",
	      r->name, r->uncached, in_dt ? "has" : "has no");
	if (r->uncached)
		h_note("%s: uncached (write-combined CPU mappings, no cache maintenance)", r->name);
out:;
}

struct placement_arg {
	const struct bb_region *r;
	uint64_t len;
	bool whole;
};

static void case_placement(struct h_case *c, void *arg)
{
	const struct placement_arg *a = arg;
	const struct bb_region *r = a->r;
	int hfd = -1, bfd = -1;
	void *p = MAP_FAILED;
	char msg[256];
	if (a->whole) {
		struct bb_stats s;
		CHECK(c, bb_region_stats(r, &s) == 0, "stats: %s", strerror(errno));
		if (s.bytes_allocated) {
			h_skip(c, "region not free (%" PRIu64 " bytes allocated)", s.bytes_allocated);
			goto out;
		}
	}
	hfd = bb_heap_open(r->heaps[0]);
	CHECK(c, hfd >= 0, "open %s: %s", r->heaps[0], strerror(errno));
	uint64_t t0 = bb_now_ns();
	bfd = bb_heap_alloc(hfd, a->len);
	uint64_t t1 = bb_now_ns();
	if (bfd == -ENOMEM && a->whole && r->is_default) {
		h_skip(c, "ENOMEM: the default CMA area is shared with the kernel");
		goto out;
	}
	CHECK(c, bfd >= 0, "alloc %" PRIu64 ": %s", a->len, strerror(-bfd));
	CHECK(c, buf_size(bfd) == a->len, "dma-buf size %" PRIu64 ", want %" PRIu64,
	      buf_size(bfd), a->len);
	int e = map_buf(bfd, a->len, &p);
	CHECK(c, e == 0, "mmap: %s", strerror(-e));
	CHECK(c, check_in_region(p, a->len, r, msg, sizeof(msg)) == 0, "%s",
	      msg);
	if (a->len >= MiB)
		h_note("%s: %" PRIu64 " MiB allocated in %.3f ms, contiguous inside the region",
		       r->name, a->len / MiB, (double)(t1 - t0) / 1e6);
out:
	if (p != MAP_FAILED)
		munmap(p, a->len);
	if (bfd >= 0)
		close(bfd);
	if (hfd >= 0)
		close(hfd);
}

/* Every name of a region allocates from that region and moves its (shared) counters. */
static void case_all_names(struct h_case *c, void *arg)
{
	const struct bb_region *r = arg;
	int fds[BB_MAX_NAMES];
	unsigned int n = 0;
	char msg[256];
	struct bb_stats s0, s1;
	CHECK(c, bb_region_stats(r, &s0) == 0, "stats: %s", strerror(errno));
	for (unsigned int j = 0; j < r->n_heaps; j++) {
		int hfd = bb_heap_open(r->heaps[j]);
		CHECK(c, hfd >= 0, "open %s: %s", r->heaps[j], strerror(errno));
		int b = bb_heap_alloc(hfd, 64 * KiB);
		close(hfd);
		CHECK(c, b >= 0, "alloc via %s: %s", r->heaps[j], strerror(-b));
		fds[n++] = b;
		void *p = NULL;
		int e = map_buf(b, 64 * KiB, &p);
		CHECK(c, e == 0, "mmap: %s", strerror(-e));
		e = check_in_region(p, 64 * KiB, r, msg, sizeof(msg));
		munmap(p, 64 * KiB);
		CHECK(c, e == 0, "via %s: %s", r->heaps[j], msg);
	}
	CHECK(c, bb_region_stats(r, &s1) == 0, "stats: %s", strerror(errno));
	CHECK(c, s1.buffers_allocated == s0.buffers_allocated + n,
	      "buffers_allocated %" PRIu64 " -> %" PRIu64 " after %u allocations via all names",
	      s0.buffers_allocated, s1.buffers_allocated, n);
	CHECK(c, s1.bytes_allocated == s0.bytes_allocated + n * 64 * KiB,
	      "bytes_allocated %" PRIu64 " -> %" PRIu64, s0.bytes_allocated, s1.bytes_allocated);
out:
	while (n)
		close(fds[--n]);
}

static void case_counters(struct h_case *c, void *arg)
{
	const struct bb_region *r = arg;
	static const uint64_t sizes[] = { 64 * KiB, 1 * MiB, 5000 /* rounds to pages */ };
	int fds[3] = { -1, -1, -1 }, dupfd = -1, hfd = -1;
	struct bb_stats s0, s;
	uint64_t want = 0, maxseen;
	CHECK(c, bb_region_stats(r, &s0) == 0, "stats: %s", strerror(errno));
	CHECK(c, s0.peak_bytes >= s0.bytes_allocated, "peak %" PRIu64 " < bytes %" PRIu64,
	      s0.peak_bytes, s0.bytes_allocated);
	maxseen = s0.bytes_allocated;
	hfd = bb_heap_open(r->heaps[0]);
	CHECK(c, hfd >= 0, "open: %s", strerror(errno));
	for (int i = 0; i < 3; i++) {
		fds[i] = bb_heap_alloc(hfd, sizes[i]);
		CHECK(c, fds[i] >= 0, "alloc %" PRIu64 ": %s", sizes[i], strerror(-fds[i]));
		want += page_align(sizes[i]);
		CHECK(c, bb_region_stats(r, &s) == 0, "stats: %s", strerror(errno));
		CHECK(c, s.bytes_allocated == s0.bytes_allocated + want,
		      "after alloc %d: bytes_allocated %" PRIu64 ", want %" PRIu64, i,
		      s.bytes_allocated, s0.bytes_allocated + want);
		CHECK(c, s.buffers_allocated == s0.buffers_allocated + (uint64_t)i + 1,
		      "after alloc %d: buffers_allocated %" PRIu64 ", want %" PRIu64, i,
		      s.buffers_allocated, s0.buffers_allocated + (uint64_t)i + 1);
		if (s.bytes_allocated > maxseen)
			maxseen = s.bytes_allocated;
		CHECK(c, s.peak_bytes >= maxseen, "peak_bytes %" PRIu64 " < max seen %" PRIu64,
		      s.peak_bytes, maxseen);
	}
	CHECK(c, buf_size(fds[2]) == page_align(sizes[2]), "5000-byte request gave %" PRIu64,
	      buf_size(fds[2]));
	/* The buffer lives while any fd lives: dup, close the original, still counted. */
	dupfd = dup(fds[1]);
	CHECK_SYS(c, dupfd);
	close(fds[1]);
	fds[1] = -1;
	CHECK(c, bb_region_stats(r, &s) == 0, "stats: %s", strerror(errno));
	CHECK(c, s.buffers_allocated == s0.buffers_allocated + 3,
	      "buffer freed while a dup of its fd is open");
	close(dupfd);
	dupfd = -1;
	CHECK(c, bb_region_stats(r, &s) == 0, "stats: %s", strerror(errno));
	CHECK(c, s.bytes_allocated == s0.bytes_allocated + want - MiB,
	      "after closing 1 MiB: bytes_allocated %" PRIu64 ", want %" PRIu64, s.bytes_allocated,
	      s0.bytes_allocated + want - MiB);
	CHECK(c, s.buffers_allocated == s0.buffers_allocated + 2, "after closing one: buffers %" PRIu64,
	      s.buffers_allocated);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
	CHECK(c, bb_region_stats(r, &s) == 0, "stats: %s", strerror(errno));
	CHECK(c, s.bytes_allocated == s0.bytes_allocated && s.buffers_allocated == s0.buffers_allocated,
	      "after closing all: bytes %" PRIu64 " buffers %" PRIu64 ", baseline %" PRIu64
	      " / %" PRIu64,
	      s.bytes_allocated, s.buffers_allocated, s0.bytes_allocated, s0.buffers_allocated);
	CHECK(c, s.peak_bytes >= maxseen, "peak_bytes %" PRIu64 " dropped below %" PRIu64,
	      s.peak_bytes, maxseen);
	CHECK(c, s.failures == s0.failures, "failures moved %" PRIu64 " -> %" PRIu64, s0.failures,
	      s.failures);
out:
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (dupfd >= 0)
		close(dupfd);
	if (hfd >= 0)
		close(hfd);
}

struct fdvec {
	int *v;
	size_t n, cap;
};

static int fdvec_push(struct fdvec *f, int fd)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		int *v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n++] = fd;
	return 0;
}

static void fdvec_close(struct fdvec *f)
{
	for (size_t i = 0; i < f->n; i++)
		close(f->v[i]);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

/* Allocate chunk-sized buffers until failure. Every one must lie inside the region. */
static int fill(struct h_case *c, const struct bb_region *r, int hfd, uint64_t chunk,
		uint64_t limit, struct fdvec *f, size_t *count, int *err)
{
	char msg[256];
	*count = 0;
	for (;;) {
		int b = bb_heap_alloc(hfd, chunk);
		if (b < 0) {
			*err = -b;
			return 0;
		}
		if (fdvec_push(f, b) < 0) {
			close(b);
			H_FAIL(c, "out of memory for fd vector");
			return -1;
		}
		++*count;
		if (*count > limit) {
			H_FAIL(c, "%zu buffers of %" PRIu64 " bytes: more than the region holds (%" PRIu64
			       " bytes): memory from outside",
			       *count, chunk, r->size);
			return -1;
		}
		void *p = NULL;
		int e = map_buf(b, chunk, &p);
		if (e) {
			H_FAIL(c, "mmap %" PRIu64 " #%zu: %s", chunk, *count, strerror(-e));
			return -1;
		}
		e = check_in_region(p, chunk, r, msg, sizeof(msg));
		munmap(p, chunk);
		if (e) {
			H_FAIL(c, "%" PRIu64 "-byte buffer #%zu: %s", chunk, *count, msg);
			return -1;
		}
	}
}

static void case_exhaustion(struct h_case *c, void *arg)
{
	const struct bb_region *r = arg;
	struct fdvec f = { 0 };
	struct bb_stats s0, s;
	int hfd = bb_heap_open(r->heaps[0]);
	size_t n_big = 0, n_small = 0;
	int err = 0;
	CHECK(c, hfd >= 0, "open: %s", strerror(errno));
	CHECK(c, bb_region_stats(r, &s0) == 0, "stats: %s", strerror(errno));
	uint64_t t0 = bb_now_ns();
	if (fill(c, r, hfd, MiB, (r->size - s0.bytes_allocated) / MiB, &f, &n_big, &err) < 0)
		goto out;
	CHECK(c, err == ENOMEM, "1 MiB allocation #%zu failed with %s, want ENOMEM", n_big + 1,
	      strerrorname_np(err));
	uint64_t left = r->size - s0.bytes_allocated - n_big * MiB;
	if (fill(c, r, hfd, 4 * KiB, left / (4 * KiB), &f, &n_small, &err) < 0)
		goto out;
	CHECK(c, err == ENOMEM, "4 KiB allocation #%zu failed with %s, want ENOMEM", n_small + 1,
	      strerrorname_np(err));
	uint64_t t1 = bb_now_ns();
	h_note("%s: exhausted after %zu x 1 MiB + %zu x 4 KiB (%.1f of %.1f MiB; %.0f ms), all inside",
	       r->name, n_big, n_small, (double)(n_big * MiB + n_small * 4 * KiB) / MiB,
	       (double)r->size / MiB, (double)(t1 - t0) / 1e6);
	if (!r->is_default)
		EXPECT(c, n_big >= (r->size - s0.bytes_allocated) / MiB / 2,
		       "only %zu MiB of a %" PRIu64 " MiB region could be allocated", n_big,
		       r->size / MiB);
	CHECK(c, bb_region_stats(r, &s) == 0, "stats: %s", strerror(errno));
	CHECK(c, s.bytes_allocated == s0.bytes_allocated + n_big * MiB + n_small * 4 * KiB,
	      "full: bytes_allocated %" PRIu64 ", want %" PRIu64, s.bytes_allocated,
	      s0.bytes_allocated + n_big * MiB + n_small * 4 * KiB);
	CHECK(c, s.buffers_allocated == s0.buffers_allocated + n_big + n_small,
	      "full: buffers_allocated %" PRIu64 ", want %" PRIu64, s.buffers_allocated,
	      s0.buffers_allocated + n_big + n_small);
	CHECK(c, s.failures == s0.failures + 2, "failures %" PRIu64 " -> %" PRIu64 ", want +2",
	      s0.failures, s.failures);
	CHECK(c, s.peak_bytes >= s.bytes_allocated, "peak_bytes %" PRIu64 " < %" PRIu64,
	      s.peak_bytes, s.bytes_allocated);
	fdvec_close(&f);
	CHECK(c, bb_region_stats(r, &s) == 0, "stats: %s", strerror(errno));
	CHECK(c, s.bytes_allocated == s0.bytes_allocated && s.buffers_allocated == s0.buffers_allocated,
	      "after freeing all: bytes %" PRIu64 " buffers %" PRIu64 ", baseline %" PRIu64 " / %" PRIu64,
	      s.bytes_allocated, s.buffers_allocated, s0.bytes_allocated, s0.buffers_allocated);
	/* And the region is usable again. */
	int b = bb_heap_alloc(hfd, MiB);
	CHECK(c, b >= 0, "1 MiB after freeing everything: %s", strerror(-b));
	close(b);
out:
	fdvec_close(&f);
	if (hfd >= 0)
		close(hfd);
}

static void case_oversize(struct h_case *c, void *arg)
{
	const struct bb_region *r = arg;
	const uint64_t lens[] = { r->size + MiB, r->size * 2, 1ULL << 40 };
	struct bb_stats s0, s;
	int hfd = bb_heap_open(r->heaps[0]);
	CHECK(c, hfd >= 0, "open: %s", strerror(errno));
	CHECK(c, bb_region_stats(r, &s0) == 0, "stats: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint64_t t0 = bb_now_ns();
		int b = bb_heap_alloc(hfd, lens[i]);
		uint64_t dt = bb_now_ns() - t0;
		if (b >= 0)
			close(b);
		CHECK(c, b == -ENOMEM, "len %" PRIu64 " (region %" PRIu64 "): got %s, want ENOMEM",
		      lens[i], r->size, b >= 0 ? "a buffer" : strerrorname_np(-b));
		h_note("%s: len %" PRIu64 " MiB > region refused in %.3f ms", r->name, lens[i] / MiB,
		       (double)dt / 1e6);
		CHECK(c, dt < 100 * 1000000ULL, "refusal took %.1f ms (> 100 ms)", (double)dt / 1e6);
	}
	CHECK(c, bb_region_stats(r, &s) == 0, "stats: %s", strerror(errno));
	CHECK(c, s.buffers_allocated == s0.buffers_allocated && s.bytes_allocated == s0.bytes_allocated,
	      "counters moved on refused allocations");
out:
	if (hfd >= 0)
		close(hfd);
}

static void case_zeroing(struct h_case *c, void *arg)
{
	const struct bb_region *r = arg;
	static const uint64_t sizes[] = { 4 * KiB, 64 * KiB, 1 * MiB, 4 * MiB, 64 * KiB, 1 * MiB };
	int hfd = bb_heap_open(r->heaps[0]), b = -1;
	void *p = MAP_FAILED;
	size_t plen = 0;
	unsigned int reused = 0, tried = 0;
	CHECK(c, hfd >= 0, "open: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t len = sizes[i], phys0 = 0, phys1 = 1;
		if (len > r->size / 2)
			continue;
		b = bb_heap_alloc(hfd, len);
		CHECK(c, b >= 0, "alloc %" PRIu64 ": %s", len, strerror(-b));
		int e = map_buf(b, len, &p);
		CHECK(c, e == 0, "mmap: %s", strerror(-e));
		plen = len;
		CHECK(c, bb_sync(b, true, DMA_BUF_SYNC_WRITE) == 0, "sync start: %s", strerror(errno));
		memset(p, 0xA5, len);
		CHECK(c, bb_sync(b, false, DMA_BUF_SYNC_WRITE) == 0, "sync end: %s", strerror(errno));
		bb_phys_pages(p, bb_page_size(), &phys0);
		munmap(p, len);
		p = MAP_FAILED;
		close(b);
		b = bb_heap_alloc(hfd, len);
		CHECK(c, b >= 0, "realloc %" PRIu64 ": %s", len, strerror(-b));
		e = map_buf(b, len, &p);
		CHECK(c, e == 0, "mmap: %s", strerror(-e));
		CHECK(c, bb_sync(b, true, DMA_BUF_SYNC_READ) == 0, "sync start: %s", strerror(errno));
		const unsigned char *q = p;
		for (uint64_t k = 0; k < len; k++)
			CHECK(c, q[k] == 0, "%" PRIu64 "-byte buffer: byte %" PRIu64 " is 0x%02x", len, k,
			      q[k]);
		CHECK(c, bb_sync(b, false, DMA_BUF_SYNC_READ) == 0, "sync end: %s", strerror(errno));
		bb_phys_pages(p, bb_page_size(), &phys1);
		tried++;
		reused += phys0 == phys1;
		munmap(p, len);
		p = MAP_FAILED;
		close(b);
		b = -1;
	}
	h_note("%s: zeroing: %u of %u reallocations reused the dirtied physical range", r->name,
	       reused, tried);
out:
	if (p != MAP_FAILED)
		munmap(p, plen);
	if (b >= 0)
		close(b);
	if (hfd >= 0)
		close(hfd);
}

/*
 * A freed buffer is free CMA memory again when close() returns, all of it: the pages go back to
 * the buddy lists, not to a per-CPU list where they would stay out of CmaFree (and out of reach of
 * a contiguous allocation until the next drain). The allocation drains the per-CPU lists itself,
 * so CmaFree right after it is the baseline. Up to 64 pages may come and go with the rest of the
 * guest meanwhile. A recycling region would keep the buffer: recycling is off for the case.
 */
static void case_free_returns(struct h_case *c, void *arg)
{
	const struct bb_region *r = arg;
	const uint64_t len = 8 * MiB, slack = 64 * bb_page_size();
	struct bb_recycle_stats rs = { 0 };
	int hfd = -1, b = -1;
	if (r->size < 2 * len) {
		h_skip(c, "region smaller than %" PRIu64 " MiB", 2 * len / MiB);
		return;
	}
	CHECK(c, bb_region_recycle_stats(r, &rs) == 0, "recycle stats: %s", strerror(errno));
	if (rs.recycle_ms) {
		int e = bb_region_set_recycle_ms(r, "0");
		CHECK(c, e == 0, "recycle_ms 0: %s", strerror(-e));
	}
	hfd = bb_heap_open(r->heaps[0]);
	CHECK(c, hfd >= 0, "open: %s", strerror(errno));
	b = bb_heap_alloc(hfd, len);
	CHECK(c, b >= 0, "alloc: %s", strerror(-b));
	long held = bb_meminfo_kib("CmaFree");
	CHECK(c, held >= 0, "no CmaFree in /proc/meminfo");
	close(b);
	b = -1;
	long freed = bb_meminfo_kib("CmaFree");
	int64_t back = (int64_t)(freed - held) * 1024;
	h_note("%s: closing a %" PRIu64 " MiB buffer gave %" PRId64 " KiB back to CmaFree", r->name,
	       len / MiB, back / 1024);
	CHECK(c, back + (int64_t)slack >= (int64_t)len,
	      "CmaFree grew by %" PRId64 " KiB when a %" PRIu64 " KiB buffer was freed", back / 1024,
	      len / KiB);
out:
	if (b >= 0)
		close(b);
	if (hfd >= 0)
		close(hfd);
	if (rs.recycle_ms) {
		char ms[32];
		snprintf(ms, sizeof(ms), "%" PRIu64, rs.recycle_ms);
		EXPECT(c, bb_region_set_recycle_ms(r, ms) == 0, "recycle_ms back to %s failed", ms);
	}
}

/*
 * A page that something else still holds when its buffer is freed: here a pipe, which vmsplice()
 * gave a reference to the second page of the mapping. Whoever holds a buffer's fd can do this. The
 * free must not make the kernel warn, and the range must not go to the next buffer while the pipe
 * can still read it: the pipe must read what the first owner wrote, never the next owner's data.
 * Meanwhile the region's held_bytes counts the range. Once the pipe lets go, the range comes back
 * (the module checks held ranges once a second): held_bytes drops back, which the module does only
 * once the range is given back, so a per-device region can then be allocated whole at once.
 */
static void case_page_held_past_free(struct h_case *c, void *arg)
{
	const struct bb_region *r = arg;
	const size_t len = 64 * KiB, ps = bb_page_size();
	int hfd = -1, b = -1, b2 = -1, pfd[2] = { -1, -1 }, kfd = -1;
	void *p = MAP_FAILED, *p2 = MAP_FAILED;
	char bad[512];
	unsigned char page[4096];
	struct bb_stats s0, s;
	CHECK(c, bb_region_stats(r, &s0) == 0, "stats: %s", strerror(errno));
	hfd = bb_heap_open(r->heaps[0]);
	CHECK(c, hfd >= 0, "open: %s", strerror(errno));
	CHECK(c, ps <= sizeof(page), "page size %zu", ps);
	b = bb_heap_alloc(hfd, len);
	CHECK(c, b >= 0, "alloc: %s", strerror(-b));
	int e = map_buf(b, len, &p);
	CHECK(c, e == 0, "mmap: %s", strerror(-e));
	memset(p, 0x5a, len);
	CHECK(c, pipe2(pfd, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
	struct iovec iov = { .iov_base = (char *)p + ps, .iov_len = ps };
	ssize_t n = vmsplice(pfd[1], &iov, 1, 0);
	CHECK(c, n == (ssize_t)ps, "vmsplice: %zd (%s)", n, strerror(errno));
	kmsg_mark(&kfd);
	munmap(p, len);
	p = MAP_FAILED;
	close(b);
	b = -1;
	/* The next buffers of the same size: recycling would hand out the freed range first. */
	for (int i = 0; i < 2 && b2 < 0; i++) {
		b2 = bb_heap_alloc(hfd, len);
		CHECK(c, b2 >= 0, "alloc after the free: %s", strerror(-b2));
		e = map_buf(b2, len, &p2);
		CHECK(c, e == 0, "mmap: %s", strerror(-e));
		memset(p2, 0x77, len);
	}
	n = read(pfd[0], page, ps);
	CHECK(c, n == (ssize_t)ps, "read from the pipe: %zd (%s)", n, strerror(errno));
	for (size_t k = 0; k < ps; k++)
		CHECK(c, page[k] == 0x5a, "the pipe reads 0x%02x at byte %zu of the freed page, want the first owner's 0x5a%s",
		      page[k], k, page[k] == 0x77 ? ": the next buffer's data" : "");
	int kw = kmsg_scan(kfd, bad, sizeof(bad));
	CHECK(c, kw <= 0, "kernel log after the free: %s", bad);
	CHECK(c, bb_region_stats(r, &s) == 0, "stats: %s", strerror(errno));
	CHECK(c, s.held_bytes >= s0.held_bytes + len,
	      "held_bytes %" PRIu64 " -> %" PRIu64 " while the pipe holds a page of the freed %zu bytes",
	      s0.held_bytes, s.held_bytes, len);
	munmap(p2, len);
	p2 = MAP_FAILED;
	close(b2);
	b2 = -1;
	close(pfd[0]);
	close(pfd[1]);
	pfd[0] = pfd[1] = -1;
	s.held_bytes = UINT64_MAX;
	for (int i = 0; i < 30; i++) {
		CHECK(c, bb_region_stats(r, &s) == 0, "stats: %s", strerror(errno));
		if (s.held_bytes == s0.held_bytes)
			break;
		usleep(100 * 1000);
	}
	CHECK(c, s.held_bytes == s0.held_bytes,
	      "held_bytes is %" PRIu64 " 3 s after the pipe let go, was %" PRIu64 " before the case",
	      s.held_bytes, s0.held_bytes);
	if (!r->is_default) {
		int whole = bb_heap_alloc(hfd, r->size);
		CHECK(c, whole >= 0, "the whole region once held_bytes is back: %s", strerror(-whole));
		close(whole);
	}
out:
	if (p != MAP_FAILED)
		munmap(p, len);
	if (p2 != MAP_FAILED)
		munmap(p2, len);
	if (b >= 0)
		close(b);
	if (b2 >= 0)
		close(b2);
	for (int i = 0; i < 2; i++)
		if (pfd[i] >= 0)
			close(pfd[i]);
	if (kfd >= 0)
		close(kfd);
	if (hfd >= 0)
		close(hfd);
}

/* The placement checker itself must see a buffer of one region as outside another. */
static void case_checker_selftest(struct h_case *c, void *arg)
{
	(void)arg;
	const struct bb_region *a = NULL, *b = NULL;
	for (int i = 0; i < n_regions; i++) {
		if (!regions[i].bounds_known)
			continue;
		if (!a)
			a = &regions[i];
		else if (!b)
			b = &regions[i];
	}
	int hfd = -1, bfd = -1;
	void *p = MAP_FAILED;
	char msg[256];
	if (!a || !b) {
		h_skip(c, "needs two regions");
		return;
	}
	hfd = bb_heap_open(a->heaps[0]);
	CHECK(c, hfd >= 0, "open: %s", strerror(errno));
	bfd = bb_heap_alloc(hfd, 64 * KiB);
	CHECK(c, bfd >= 0, "alloc: %s", strerror(-bfd));
	int e = map_buf(bfd, 64 * KiB, &p);
	CHECK(c, e == 0, "mmap: %s", strerror(-e));
	CHECK(c, check_in_region(p, 64 * KiB, a, msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(c, bb_check_phys(p, 64 * KiB, b->base, b->size, true, msg, sizeof(msg)) == -ERANGE,
	      "a %s buffer passed as inside %s", a->name, b->name);
out:
	if (p != MAP_FAILED)
		munmap(p, 64 * KiB);
	if (bfd >= 0)
		close(bfd);
	if (hfd >= 0)
		close(hfd);
}

/* ---------- heap-level cases on one chosen heap ---------- */

static const char *test_heap;
static const struct bb_region *test_region;

static void case_invalid_ioctls(struct h_case *c, void *arg)
{
	(void)arg;
	int hfd = bb_heap_open(test_heap), b = -1;
	struct bb_stats s0, s;
	CHECK(c, hfd >= 0, "open %s: %s", test_heap, strerror(errno));
	CHECK(c, bb_region_stats(test_region, &s0) == 0, "stats: %s", strerror(errno));
	struct dma_heap_allocation_data d;
#define TRY(field_setup, want)                                                               \
	do {                                                                                 \
		d = (struct dma_heap_allocation_data){ .len = 64 * KiB,                      \
						       .fd_flags = O_RDWR | O_CLOEXEC };     \
		field_setup;                                                                 \
		CHECK_ERRNO(c, ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, &d), want);                  \
	} while (0)
	TRY(d.fd_flags |= O_NONBLOCK, EINVAL);
	TRY(d.fd_flags = 0x40000000u, EINVAL);
	TRY(d.heap_flags = 1, EINVAL);
	TRY(d.heap_flags = 1ULL << 63, EINVAL);
	TRY(d.fd = 5, EINVAL);
	TRY(d.len = 0, EINVAL);
#undef TRY
	/* Unknown commands: mainline dma_heap_ioctl returns EINVAL for nr >= its table; ENOTTY
	 * is the generic answer. Accept either, report which. */
	/* The foreign-type one would allocate through mainline's nr-only dispatch; a heap must
	 * not hand out buffers for another driver's command. */
	unsigned long unknown[] = { _IOWR('H', 1, struct dma_heap_allocation_data), _IO('H', 0x7f),
				    _IOWR('X', 0, struct dma_heap_allocation_data) };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		d = (struct dma_heap_allocation_data){ .len = 64 * KiB, .fd_flags = O_RDWR };
		errno = 0;
		int rc = ioctl(hfd, unknown[i], &d);
		int e = errno;
		if (rc >= 0 && d.fd > 0)
			close((int)d.fd);
		CHECK(c, rc == -1 && (e == ENOTTY || e == EINVAL),
		      "ioctl 0x%lx: want ENOTTY/EINVAL, got %d/%s", unknown[i], rc,
		      e ? strerrorname_np(e) : "0");
		h_note("unknown ioctl 0x%lx -> %s", unknown[i], strerrorname_np(e));
	}
	/* The fd is ignored on input but must be set on output: a valid fd flag combination. */
	d = (struct dma_heap_allocation_data){ .len = 4 * KiB, .fd_flags = O_RDONLY };
	CHECK_SYS(c, ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, &d));
	b = (int)d.fd;
	CHECK(c, fcntl(b, F_GETFD) == 0, "O_CLOEXEC set although fd_flags lacked it");
	CHECK(c, (fcntl(b, F_GETFL) & O_ACCMODE) == O_RDONLY, "access mode not O_RDONLY");
	close(b);
	b = -1;
	CHECK(c, bb_region_stats(test_region, &s) == 0, "stats: %s", strerror(errno));
	CHECK(c, s.buffers_allocated == s0.buffers_allocated && s.bytes_allocated == s0.bytes_allocated,
	      "counters moved: buffers %" PRIu64 " -> %" PRIu64, s0.buffers_allocated,
	      s.buffers_allocated);
	CHECK(c, s.failures == s0.failures, "bad arguments counted as failures (%" PRIu64 " -> %" PRIu64 ")",
	      s0.failures, s.failures);
out:
	if (b >= 0)
		close(b);
	if (hfd >= 0)
		close(hfd);
}

/* Short and long argument structs, as mainline dma_heap_ioctl handles them: the kernel copies
 * min(user, kernel) bytes in, zero-fills the rest, and copies the user's size back out. */
static void case_struct_sizes(struct h_case *c, void *arg)
{
	(void)arg;
	int hfd = bb_heap_open(test_heap), b = -1;
	CHECK(c, hfd >= 0, "open %s: %s", test_heap, strerror(errno));
	struct {
		uint64_t len;
		uint32_t fd, fd_flags;
		uint64_t canary[3];
	} u;
	/* 16 bytes: len, fd, fd_flags; heap_flags implied 0. */
	memset(&u, 0, sizeof(u));
	u.len = 64 * KiB;
	u.fd_flags = O_RDWR | O_CLOEXEC;
	u.canary[0] = u.canary[1] = 0x5a5a5a5a5a5a5a5aULL;
	unsigned long cmd16 = _IOC(_IOC_READ | _IOC_WRITE, 'H', 0, 16);
	CHECK(c, ioctl(hfd, cmd16, &u) == 0, "16-byte struct: %s", strerror(errno));
	b = (int)u.fd;
	CHECK(c, b > 0 && buf_size(b) == 64 * KiB, "16-byte struct: fd %d size %" PRIu64, b,
	      b > 0 ? buf_size(b) : 0);
	CHECK(c, u.canary[0] == 0x5a5a5a5a5a5a5a5aULL,
	      "16-byte struct: kernel wrote past the user's size (0x%" PRIx64 ")", u.canary[0]);
	close(b);
	b = -1;
	/* 32 bytes, zero tail. */
	memset(&u, 0, sizeof(u));
	u.len = 64 * KiB;
	u.fd_flags = O_RDWR | O_CLOEXEC;
	u.canary[2] = 0x77;
	unsigned long cmd32 = _IOC(_IOC_READ | _IOC_WRITE, 'H', 0, 32);
	CHECK(c, ioctl(hfd, cmd32, &u) == 0, "32-byte struct: %s", strerror(errno));
	b = (int)u.fd;
	CHECK(c, b > 0 && buf_size(b) == 64 * KiB, "32-byte struct: fd %d size %" PRIu64, b,
	      b > 0 ? buf_size(b) : 0);
	CHECK(c, u.canary[0] == 0 && u.canary[1] == 0, "32-byte struct: tail changed");
	CHECK(c, u.canary[2] == 0x77, "32-byte struct: kernel wrote past 32 bytes");
	close(b);
	b = -1;
	/* 16 bytes with a bad fd_flags is still rejected. */
	memset(&u, 0, sizeof(u));
	u.len = 64 * KiB;
	u.fd_flags = O_NONBLOCK;
	CHECK_ERRNO(c, ioctl(hfd, cmd16, &u), EINVAL);
out:
	if (b >= 0)
		close(b);
	if (hfd >= 0)
		close(hfd);
}

static void case_kmsg_clean(struct h_case *c, void *arg)
{
	char bad[512];
	int r = kmsg_scan(*(int *)arg, bad, sizeof(bad));
	if (r == -ENOENT) {
		h_skip(c, "/dev/kmsg unreadable");
		return;
	}
	CHECK(c, r == 0, "kernel log: %s", bad);
out:;
}

static void case_mmap_sync(struct h_case *c, void *arg)
{
	(void)arg;
	const size_t len = MiB, ps = bb_page_size();
	int hfd = bb_heap_open(test_heap), b = -1;
	void *p = MAP_FAILED, *q = MAP_FAILED, *o = MAP_FAILED;
	CHECK(c, hfd >= 0, "open %s: %s", test_heap, strerror(errno));
	b = bb_heap_alloc(hfd, len);
	CHECK(c, b >= 0, "alloc: %s", strerror(-b));
	int e = map_buf(b, len, &p);
	CHECK(c, e == 0, "mmap: %s", strerror(-e));
	uint32_t seed = (uint32_t)bb_now_ns() | 1;
	uint32_t *w = p;
	CHECK(c, bb_sync(b, true, DMA_BUF_SYNC_WRITE) == 0, "sync start write: %s", strerror(errno));
	for (size_t i = 0; i < len / 4; i++)
		w[i] = (uint32_t)i * 2654435761u ^ seed;
	CHECK(c, bb_sync(b, false, DMA_BUF_SYNC_WRITE) == 0, "sync end write: %s", strerror(errno));
	/* A second shared mapping sees the same bytes. */
	q = mmap(NULL, len, PROT_READ, MAP_SHARED, b, 0);
	CHECK(c, q != MAP_FAILED, "second mmap: %s", strerror(errno));
	CHECK(c, bb_sync(b, true, DMA_BUF_SYNC_READ) == 0, "sync start read: %s", strerror(errno));
	const uint32_t *r = q;
	for (size_t i = 0; i < len / 4; i++)
		CHECK(c, r[i] == ((uint32_t)i * 2654435761u ^ seed), "word %zu: 0x%08x", i, r[i]);
	/* A mapping at a page offset maps the matching part. */
	o = mmap(NULL, 2 * ps, PROT_READ, MAP_SHARED, b, (off_t)(3 * ps));
	CHECK(c, o != MAP_FAILED, "mmap at offset %zu: %s", 3 * ps, strerror(errno));
	const uint32_t *ro = o;
	size_t base = 3 * ps / 4;
	for (size_t i = 0; i < 2 * ps / 4; i++)
		CHECK(c, ro[i] == ((uint32_t)(base + i) * 2654435761u ^ seed),
		      "offset mapping word %zu: 0x%08x", i, ro[i]);
	CHECK(c, bb_sync(b, false, DMA_BUF_SYNC_READ) == 0, "sync end read: %s", strerror(errno));
	/* Read-write sync and an invalid sync flag. */
	CHECK(c, bb_sync(b, true, DMA_BUF_SYNC_RW) == 0, "sync start rw: %s", strerror(errno));
	CHECK(c, bb_sync(b, false, DMA_BUF_SYNC_RW) == 0, "sync end rw: %s", strerror(errno));
	struct dma_buf_sync bad = { .flags = 0x100 };
	CHECK_ERRNO(c, ioctl(b, DMA_BUF_IOCTL_SYNC, &bad), EINVAL);
out:
	if (o != MAP_FAILED)
		munmap(o, 2 * ps);
	if (q != MAP_FAILED)
		munmap(q, len);
	if (p != MAP_FAILED)
		munmap(p, len);
	if (b >= 0)
		close(b);
	if (hfd >= 0)
		close(hfd);
}

static void case_mmap_refused(struct h_case *c, void *arg)
{
	(void)arg;
	const size_t len = 64 * KiB, ps = bb_page_size();
	int hfd = bb_heap_open(test_heap), b = -1;
	void *p = MAP_FAILED;
	CHECK(c, hfd >= 0, "open %s: %s", test_heap, strerror(errno));
	b = bb_heap_alloc(hfd, len);
	CHECK(c, b >= 0, "alloc: %s", strerror(-b));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, b, 0);
	CHECK(c, p == MAP_FAILED, "MAP_PRIVATE mapping accepted");
	h_note("MAP_PRIVATE refused with %s", strerrorname_np(errno));
	p = mmap(NULL, len + ps, PROT_READ, MAP_SHARED, b, 0);
	CHECK(c, p == MAP_FAILED, "mapping longer than the buffer accepted");
	p = mmap(NULL, ps, PROT_READ, MAP_SHARED, b, (off_t)len);
	CHECK(c, p == MAP_FAILED, "mapping past the end accepted");
out:
	if (p != MAP_FAILED)
		munmap(p, len);
	if (b >= 0)
		close(b);
	if (hfd >= 0)
		close(hfd);
}

static void case_set_name(struct h_case *c, void *arg)
{
	(void)arg;
	int hfd = bb_heap_open(test_heap), b = -1;
	CHECK(c, hfd >= 0, "open %s: %s", test_heap, strerror(errno));
	b = bb_heap_alloc(hfd, 64 * KiB);
	CHECK(c, b >= 0, "alloc: %s", strerror(-b));
	char name[32];
	snprintf(name, sizeof(name), "bbtest-%d", (int)getpid());
	CHECK_SYS(c, ioctl(b, DMA_BUF_SET_NAME, name));
	char path[64], info[2048], want[64];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", b);
	CHECK(c, bb_read_file(path, info, sizeof(info)) > 0, "%s: %s", path, strerror(errno));
	snprintf(want, sizeof(want), "\nname:\t%s\n", name);
	CHECK(c, strstr(info, want), "fdinfo lacks \"name:\\t%s\"", name);
	CHECK(c, strstr(info, "\nsize:\t65536\n") || !strncmp(info, "size:\t65536\n", 12),
	      "fdinfo size is not 65536");
	char *exp = strstr(info, "exp_name:\t");
	if (exp) {
		char *nl = strchr(exp, '\n');
		if (nl)
			*nl = '\0';
		h_note("fdinfo %s", exp);
	}
	char longname[64];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_ERRNO(c, ioctl(b, DMA_BUF_SET_NAME, longname), EINVAL);
out:
	if (b >= 0)
		close(b);
	if (hfd >= 0)
		close(hfd);
}

#define CONC_LIVE 6

struct conc {
	int hfd;
	const struct bb_region *r;
	unsigned int seed;
	atomic_uint ok, enomem, other, outside, checked;
	atomic_int first_err;
};

static void *conc_thread(void *arg)
{
	struct conc *k = arg;
	unsigned int seed = k->seed + (unsigned int)(uintptr_t)pthread_self();
	int live[CONC_LIVE];
	char msg[256];
	for (int i = 0; i < CONC_LIVE; i++)
		live[i] = -1;
	for (int it = 0; it < 200; it++) {
		uint64_t len = ((uint64_t)(rand_r(&seed) % 512) + 1) * 4 * KiB;
		int b = bb_heap_alloc(k->hfd, len);
		if (b < 0) {
			if (b == -ENOMEM) {
				atomic_fetch_add(&k->enomem, 1);
			} else {
				atomic_fetch_add(&k->other, 1);
				int z = 0;
				atomic_compare_exchange_strong(&k->first_err, &z, -b);
			}
		} else {
			atomic_fetch_add(&k->ok, 1);
			if (it % 8 == 0) {
				void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
				if (p != MAP_FAILED) {
					((volatile char *)p)[len - 1] = 1;
					if (check_in_region(p, len, k->r, msg, sizeof(msg)))
						atomic_fetch_add(&k->outside, 1);
					atomic_fetch_add(&k->checked, 1);
					munmap(p, len);
				} else {
					int e = errno, z = 0;
					atomic_fetch_add(&k->other, 1);
					atomic_compare_exchange_strong(&k->first_err, &z, e);
				}
			}
		}
		int slot = it % CONC_LIVE;
		if (live[slot] >= 0)
			close(live[slot]);
		live[slot] = b;
	}
	for (int i = 0; i < CONC_LIVE; i++)
		if (live[i] >= 0)
			close(live[i]);
	return NULL;
}

static void case_concurrency(struct h_case *c, void *arg)
{
	const struct bb_region *r = arg;
	struct conc k = { .seed = (unsigned int)bb_now_ns(), .r = r };
	struct bb_stats s0, s;
	pthread_t th[4];
	int started = 0;
	k.hfd = bb_heap_open(r->heaps[0]);
	CHECK(c, k.hfd >= 0, "open %s: %s", r->heaps[0], strerror(errno));
	CHECK(c, bb_region_stats(r, &s0) == 0, "stats: %s", strerror(errno));
	uint64_t t0 = bb_now_ns();
	for (; started < 4; started++)
		CHECK(c, pthread_create(&th[started], NULL, conc_thread, &k) == 0, "pthread_create");
out:
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (started == 4) {
		h_note("concurrency on %s: %u allocations, %u ENOMEM, %u other errors, %u of %u "
		       "checked buffers outside, %.0f ms",
		       r->name, atomic_load(&k.ok), atomic_load(&k.enomem), atomic_load(&k.other),
		       atomic_load(&k.outside), atomic_load(&k.checked),
		       (double)(bb_now_ns() - t0) / 1e6);
		EXPECT(c, atomic_load(&k.outside) == 0, "%u buffers outside the region",
		       atomic_load(&k.outside));
		EXPECT(c, atomic_load(&k.other) == 0, "%u errors (allocation other than ENOMEM, or mmap), first %s",
		       atomic_load(&k.other), strerrorname_np(atomic_load(&k.first_err)));
		EXPECT(c, atomic_load(&k.ok) > 0, "no allocation succeeded");
		if (bb_region_stats(r, &s) == 0)
			EXPECT(c, s.bytes_allocated == s0.bytes_allocated &&
					  s.buffers_allocated == s0.buffers_allocated,
			       "counters not back: bytes %" PRIu64 "/%" PRIu64 " buffers %" PRIu64
			       "/%" PRIu64,
			       s.bytes_allocated, s0.bytes_allocated, s.buffers_allocated,
			       s0.buffers_allocated);
	}
	if (k.hfd >= 0)
		close(k.hfd);
}

static void case_outlives_creator(struct h_case *c, void *arg)
{
	(void)arg;
	const size_t len = 256 * KiB;
	int sv[2] = { -1, -1 }, b = -1;
	void *p = MAP_FAILED;
	struct bb_stats s0, s;
	pid_t pid = -1;
	CHECK(c, bb_region_stats(test_region, &s0) == 0, "stats: %s", strerror(errno));
	CHECK_SYS(c, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	CHECK_SYS(c, pid);
	if (pid == 0) {
		close(sv[0]);
		int h = bb_heap_open(test_heap);
		if (h < 0)
			_exit(2);
		int fd = bb_heap_alloc(h, len);
		if (fd < 0)
			_exit(3);
		uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			_exit(4);
		bb_sync(fd, true, DMA_BUF_SYNC_WRITE);
		for (size_t i = 0; i < len; i++)
			m[i] = (uint8_t)(i * 7 + 3);
		bb_sync(fd, false, DMA_BUF_SYNC_WRITE);
		munmap(m, len);
		char byte = 'B';
		struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} cm;
		memset(&cm, 0, sizeof(cm));
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				     .msg_controllen = sizeof(cm.buf) };
		struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(ch), &fd, sizeof(int));
		if (sendmsg(sv[1], &mh, 0) != 1)
			_exit(5);
		_exit(0);
	}
	close(sv[1]);
	sv[1] = -1;
	int st = 0;
	CHECK(c, waitpid(pid, &st, 0) == pid, "waitpid: %s", strerror(errno));
	pid = -1;
	CHECK(c, WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed (status 0x%x)", st);
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	CHECK(c, recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC) == 1, "recvmsg: %s", strerror(errno));
	struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
	CHECK(c, ch && ch->cmsg_type == SCM_RIGHTS, "no fd received");
	memcpy(&b, CMSG_DATA(ch), sizeof(int));
	CHECK(c, bb_region_stats(test_region, &s) == 0, "stats: %s", strerror(errno));
	CHECK(c, s.buffers_allocated == s0.buffers_allocated + 1,
	      "creator exited: buffers_allocated %" PRIu64 ", want %" PRIu64, s.buffers_allocated,
	      s0.buffers_allocated + 1);
	int e = map_buf(b, len, &p);
	CHECK(c, e == 0, "mmap: %s", strerror(-e));
	uint8_t *m = p;
	CHECK(c, bb_sync(b, true, DMA_BUF_SYNC_RW) == 0, "sync: %s", strerror(errno));
	for (size_t i = 0; i < len; i++)
		CHECK(c, m[i] == (uint8_t)(i * 7 + 3), "byte %zu: 0x%02x", i, m[i]);
	for (size_t i = 0; i < len; i++)
		m[i] = (uint8_t)~m[i];
	for (size_t i = 0; i < len; i++)
		CHECK(c, m[i] == (uint8_t) ~(uint8_t)(i * 7 + 3), "rewrite byte %zu", i);
	CHECK(c, bb_sync(b, false, DMA_BUF_SYNC_RW) == 0, "sync: %s", strerror(errno));
	munmap(p, len);
	p = MAP_FAILED;
	close(b);
	b = -1;
	CHECK(c, bb_region_stats(test_region, &s) == 0, "stats: %s", strerror(errno));
	CHECK(c, s.buffers_allocated == s0.buffers_allocated && s.bytes_allocated == s0.bytes_allocated,
	      "counters not back after the last fd closed");
out:
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (p != MAP_FAILED)
		munmap(p, len);
	if (b >= 0)
		close(b);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
}

/* ---------- unload mode ---------- */

static int delete_module(const char *name, unsigned int flags)
{
	return (int)syscall(SYS_delete_module, name, flags);
}

static int finit_module(int fd, const char *params, int flags)
{
	return (int)syscall(SYS_finit_module, fd, params, flags);
}

static bool module_loaded(void)
{
	return access("/sys/module/" MODULE_NAME, F_OK) == 0;
}

static void case_unload_busy_buffer(struct h_case *c, void *arg)
{
	(void)arg;
	int hfd = bb_heap_open(test_heap), b = -1;
	void *p = MAP_FAILED;
	CHECK(c, hfd >= 0, "open %s: %s", test_heap, strerror(errno));
	b = bb_heap_alloc(hfd, 64 * KiB);
	CHECK(c, b >= 0, "alloc: %s", strerror(-b));
	close(hfd);
	hfd = -1;
	errno = 0;
	int r = delete_module(MODULE_NAME, O_NONBLOCK);
	int e = errno;
	CHECK(c, r == -1 && (e == EBUSY || e == EWOULDBLOCK),
	      "delete_module with a live dma-buf fd: %d/%s, want EBUSY or EWOULDBLOCK", r,
	      e ? strerrorname_np(e) : "0");
	h_note("unload with a live buffer fd refused: %s", strerrorname_np(e));
	/* Only a mapping left: still busy. */
	int m = map_buf(b, 64 * KiB, &p);
	CHECK(c, m == 0, "mmap: %s", strerror(-m));
	close(b);
	b = -1;
	errno = 0;
	r = delete_module(MODULE_NAME, O_NONBLOCK);
	e = errno;
	CHECK(c, r == -1 && (e == EBUSY || e == EWOULDBLOCK),
	      "delete_module with only a mapping alive: %d/%s", r, e ? strerrorname_np(e) : "0");
	CHECK(c, module_loaded(), "module gone");
	((volatile char *)p)[0] = 1;
out:
	if (p != MAP_FAILED)
		munmap(p, 64 * KiB);
	if (b >= 0)
		close(b);
	if (hfd >= 0)
		close(hfd);
}

static void case_unload_busy_heapfd(struct h_case *c, void *arg)
{
	(void)arg;
	int hfd = bb_heap_open(test_heap);
	CHECK(c, hfd >= 0, "open %s: %s", test_heap, strerror(errno));
	errno = 0;
	int r = delete_module(MODULE_NAME, O_NONBLOCK);
	int e = errno;
	CHECK(c, r == -1 && (e == EBUSY || e == EWOULDBLOCK),
	      "delete_module with an open heap node: %d/%s", r, e ? strerrorname_np(e) : "0");
out:
	if (hfd >= 0)
		close(hfd);
}

static void case_unload_idle(struct h_case *c, void *arg)
{
	(void)arg;
	static char names[64][BB_NAME_LEN];
	int r = -1;
	for (int tries = 0; tries < 50; tries++) { /* a just-closed fd may still be in flight */
		r = delete_module(MODULE_NAME, O_NONBLOCK);
		if (r == 0 || (errno != EBUSY && errno != EWOULDBLOCK))
			break;
		usleep(100000);
	}
	CHECK(c, r == 0, "delete_module: %s", strerror(errno));
	CHECK(c, !module_loaded(), "/sys/module/" MODULE_NAME " still present");
	int n = bb_heap_nodes(names, 64);
	CHECK(c, n <= 0, BB_HEAP_DIR " still has %d nodes (first %s)", n, names[0]);
	CHECK(c, access("/sys/kernel/bufbroker", F_OK) != 0, "/sys/kernel/bufbroker still present");
	CHECK(c, access("/sys/class/dma_heap", F_OK) != 0 ||
			 bb_heap_nodes(names, 64) <= 0,
	      "dma_heap class still populated");
out:;
}

/* A bad module parameter is refused with the kernel's answer, and nothing stays loaded. */
static void case_bad_param(struct h_case *c, void *arg)
{
	(void)arg;
	static const struct {
		const char *params;
		int err;
	} bad[] = { { "recycle_ms=60001", ERANGE }, { "recycle_ms=abc", EINVAL },
		    { "recycle_ms=-5", EINVAL } };
	int fd = -1;
	if (!opt_module) {
		h_skip(c, "no --module PATH given");
		return;
	}
	fd = open(opt_module, O_RDONLY | O_CLOEXEC);
	CHECK(c, fd >= 0, "%s: %s", opt_module, strerror(errno));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		int r = finit_module(fd, bad[i].params, 0);
		int e = errno;
		if (r == 0)
			delete_module(MODULE_NAME, O_NONBLOCK);
		CHECK(c, r != 0 && e == bad[i].err, "finit_module '%s': %s, want %s", bad[i].params,
		      r == 0 ? "loaded" : strerror(e), strerror(bad[i].err));
		CHECK(c, !module_loaded(), "'%s' left the module loaded", bad[i].params);
	}
out:
	if (fd >= 0)
		close(fd);
}

static void case_reload(struct h_case *c, void *arg)
{
	(void)arg;
	int fd = -1, b = -1, h = -1;
	if (!opt_module) {
		h_skip(c, "no --module PATH given");
		return;
	}
	fd = open(opt_module, O_RDONLY | O_CLOEXEC);
	CHECK(c, fd >= 0, "%s: %s", opt_module, strerror(errno));
	CHECK(c, finit_module(fd, "", 0) == 0, "finit_module %s: %s", opt_module, strerror(errno));
	static struct bb_region now[BB_MAX_REGIONS];
	int n = bb_regions(now, BB_MAX_REGIONS);
	CHECK(c, n == n_regions, "%d regions after reload, %d before", n, n_regions);
	for (int i = 0; i < n; i++) {
		CHECK(c, !strcmp(now[i].name, regions[i].name) && now[i].size == regions[i].size &&
				 now[i].n_heaps == regions[i].n_heaps,
		      "region %d differs after reload (%s)", i, now[i].name);
		for (unsigned int j = 0; j < now[i].n_heaps; j++) {
			char path[256];
			snprintf(path, sizeof(path), BB_HEAP_DIR "/%s", now[i].heaps[j]);
			CHECK(c, access(path, F_OK) == 0, "%s missing after reload", path);
		}
		struct bb_stats s;
		CHECK(c, bb_region_stats(&now[i], &s) == 0, "stats");
		CHECK(c, s.bytes_allocated == 0 && s.buffers_allocated == 0 && s.failures == 0,
		      "%s: counters not fresh after reload", now[i].name);
	}
	h = bb_heap_open(test_heap);
	CHECK(c, h >= 0, "open %s: %s", test_heap, strerror(errno));
	b = bb_heap_alloc(h, MiB);
	CHECK(c, b >= 0, "alloc after reload: %s", strerror(-b));
out:
	if (b >= 0)
		close(b);
	if (h >= 0)
		close(h);
	if (fd >= 0)
		close(fd);
}

/* ---------- main ---------- */

static void usage(void)
{
	fprintf(stderr, "usage: heap_test [--expect NAME]... [--heap NAME]\n"
			"       heap_test --unload-test --module PATH [--heap NAME]\n");
	exit(2);
}

static void pick_test_heap(void)
{
	test_heap = NULL;
	if (opt_heap) {
		test_heap = opt_heap;
	} else {
		for (int i = 0; i < n_regions && !test_heap; i++)
			if (!regions[i].is_default && regions[i].n_heaps)
				test_heap = regions[i].heaps[0];
		if (!test_heap && n_regions && regions[0].n_heaps)
			test_heap = regions[0].heaps[0];
	}
	test_region = test_heap ? bb_region_with_heap(regions, n_regions, test_heap) : NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "expect", required_argument, NULL, 'e' },
		{ "heap", required_argument, NULL, 'H' },
		{ "unload-test", no_argument, NULL, 'u' },
		{ "module", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool unload = false;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'e':
			if (n_expect < 32)
				expect_names[n_expect++] = optarg;
			break;
		case 'H':
			opt_heap = optarg;
			break;
		case 'u':
			unload = true;
			break;
		case 'm':
			opt_module = optarg;
			break;
		default:
			usage();
		}
	}
	h_init(argv[0]);
	struct rlimit rl = { 65536, 65536 };
	setrlimit(RLIMIT_NOFILE, &rl);
	kmsg_mark(&kmsg_run_fd);
	n_regions = bb_regions(regions, BB_MAX_REGIONS);
	pick_test_heap();

	if (unload) {
		if (!test_region) {
			h_run("discovery", case_discovery, NULL);
			printf("not ok - %s: unload: no heap to test\n", h_prog());
			return 1;
		}
		h_run("unload refused while an open heap node exists", case_unload_busy_heapfd, NULL);
		h_run("unload refused while a buffer or mapping lives", case_unload_busy_buffer, NULL);
		h_run("unload succeeds when idle, nodes gone", case_unload_idle, NULL);
		h_run("bad module parameters refused, nothing loaded", case_bad_param, NULL);
		h_run("reload with finit_module, heaps back", case_reload, NULL);
		h_run("kernel log clean (no WARNING/BUG)", case_kmsg_clean, &kmsg_run_fd);
		return h_exit_status();
	}

	h_run("discovery", case_discovery, NULL);
	h_run("every /dev/dma_heap node belongs to a region", case_no_stray_nodes, NULL);
	for (int i = 0; i < n_expect; i++) {
		char name[160];
		snprintf(name, sizeof(name), "expected heap %s exists", expect_names[i]);
		h_run(name, case_expected, (void *)expect_names[i]);
	}
	h_run("pagemap placement checker tells regions apart", case_checker_selftest, NULL);
	for (int i = 0; i < n_regions; i++) {
		const struct bb_region *r = &regions[i];
		char name[192];
		snprintf(name, sizeof(name), "%s: nodes for every name", r->name);
		h_run(name, case_region_nodes, (void *)r);
		if (!r->have_base)
			continue; /* discovery already failed */
		static const uint64_t sizes[] = { 4 * KiB, 64 * KiB, 1 * MiB, 4 * MiB };
		for (size_t k = 0; k < 5; k++) {
			struct placement_arg a = { .r = r, .whole = k == 4,
						   .len = k == 4 ? r->size : sizes[k] };
			if (a.len > r->size)
				continue;
			char sz[32];
			fmt_size(a.len, sz, sizeof(sz));
			snprintf(name, sizeof(name), "%s: %s%s inside the region and contiguous",
				 r->name, a.whole ? "whole region " : "", sz);
			h_run(name, case_placement, &a);
		}
		snprintf(name, sizeof(name), "%s: every name allocates here, shared counters", r->name);
		h_run(name, case_all_names, (void *)r);
		snprintf(name, sizeof(name), "%s: counters track live buffers", r->name);
		h_run(name, case_counters, (void *)r);
		snprintf(name, sizeof(name), "%s: exhaustion gives ENOMEM, never memory outside",
			 r->name);
		h_run(name, case_exhaustion, (void *)r);
		snprintf(name, sizeof(name), "%s: larger than the region is ENOMEM, fast", r->name);
		h_run(name, case_oversize, (void *)r);
		snprintf(name, sizeof(name), "%s: new buffers are zeroed", r->name);
		h_run(name, case_zeroing, (void *)r);
		snprintf(name, sizeof(name), "%s: uncached exactly when the DT says so", r->name);
		h_run(name, case_uncached_from_dt, (void *)r);
		if (!r->is_default) {
			snprintf(name, sizeof(name), "%s: a freed buffer is free CMA memory at once",
				 r->name);
			h_run(name, case_free_returns, (void *)r);
		}
		snprintf(name, sizeof(name), "%s: a page held past the free (vmsplice) stays the first owner's",
			 r->name);
		h_run(name, case_page_held_past_free, (void *)r);
	}
	if (!test_region) {
		printf("not ok - %s: heap %s: not found in any region\n", h_prog(),
		       test_heap ? test_heap : "(none)");
		return 1;
	}
	h_note("heap-level cases use %s (region %s)", test_heap, test_region->name);
	kmsg_mark(&kmsg_fd);
	h_run("invalid ioctl arguments are refused", case_invalid_ioctls, NULL);
	h_run("short and long ioctl structs as mainline dma-heap", case_struct_sizes, NULL);
	h_run("no WARNING/BUG in the kernel log after invalid ioctls", case_kmsg_clean, &kmsg_fd);
	h_run("mmap read/write with DMA_BUF_IOCTL_SYNC", case_mmap_sync, NULL);
	h_run("MAP_PRIVATE and out-of-range mmaps refused", case_mmap_refused, NULL);
	h_run("DMA_BUF_SET_NAME shows in fdinfo", case_set_name, NULL);
	h_run("4 threads x 200 alloc/free", case_concurrency, (void *)test_region);
	/* Again on the smallest region, where the threads run it full and hit ENOMEM. */
	const struct bb_region *small = NULL;
	for (int i = 0; i < n_regions; i++)
		if (!regions[i].is_default && (!small || regions[i].size < small->size))
			small = &regions[i];
	if (small && small != test_region) {
		char name[192];
		snprintf(name, sizeof(name), "%s: 4 threads x 200 alloc/free", small->name);
		h_run(name, case_concurrency, (void *)small);
	}
	h_run("buffer outlives its creator (SCM_RIGHTS)", case_outlives_creator, NULL);
	/* Whole run: nothing in the log since start. */
	h_run("no WARNING/BUG in the kernel log during the run", case_kmsg_clean, &kmsg_run_fd);
	return h_exit_status();
}
