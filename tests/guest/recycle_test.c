// SPDX-License-Identifier: MIT
/*
 * recycle_test: the module's opt-in reuse of freed buffers (kernel/bufbroker_recycle.c), run as
 * root inside the guest on a region that no other test uses at the time.
 *
 *   recycle_test [--heap NAME]             the suite; leaves recycling off
 *   recycle_test [--heap NAME] --keep-one  leaves one freed 1 MiB buffer kept, for the unload
 *                                          test that follows (rmmod must give it back)
 */
#include "bbutil.h"
#include "ftrace.h"
#include "harness.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct bb_region region;
static const char *heap = "camera";

/* Allocate len from the test heap. Returns the dma-buf fd (caller closes) or -errno. */
static int alloc_buf(uint64_t len)
{
	int h = bb_heap_open(heap);
	if (h < 0)
		return -errno;
	int fd = bb_heap_alloc(h, len);
	close(h);
	return fd;
}

/* Allocate len from the test heap and free it at once. Returns 0 or -errno. */
static int alloc_free(uint64_t len)
{
	int fd = alloc_buf(len);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* Map fd, report the physical address of its first page, and fill it with @fill (if >= 0) or
 * count its non-zero bytes into *nonzero. Returns 0 or -errno. */
static int touch_buf(int fd, uint64_t len, int fill, uint64_t *phys0, uint64_t *nonzero)
{
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	uint64_t *phys = calloc(len / bb_page_size(), sizeof(*phys));
	int r = phys ? bb_phys_pages(p, len, phys) : -ENOMEM;
	if (r == 0) {
		*phys0 = phys[0];
		bb_sync(fd, true, fill >= 0 ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ);
		if (fill >= 0) {
			memset(p, fill, len);
		} else {
			*nonzero = 0;
			for (uint64_t i = 0; i < len; i++)
				*nonzero += p[i] != 0;
		}
		bb_sync(fd, false, fill >= 0 ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ);
	}
	free(phys);
	munmap(p, len);
	return r;
}

/* The region's bufbroker,recycle-ms in the live device tree, or 0 without one. */
static uint64_t dt_recycle_ms(const struct bb_region *r)
{
	unsigned char b[4];
	int n = bb_region_dt_prop(r, "bufbroker,recycle-ms", b, sizeof(b));
	return n == 4 ? (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3] : 0;
}

static void case_off_by_default(struct h_case *c, void *arg)
{
	(void)arg;
	static struct bb_region all[BB_MAX_REGIONS];
	struct bb_recycle_stats s0, s;
	int n = bb_regions(all, BB_MAX_REGIONS), r, from_dt = 0;
	CHECK(c, n > 0, "no regions: %s", strerror(-n));
	for (int i = 0; i < n; i++) {
		uint64_t want = dt_recycle_ms(&all[i]);
		from_dt += want != 0;
		CHECK(c, bb_region_recycle_stats(&all[i], &s) == 0, "%s: recycle files: %s",
		      all[i].name, strerror(errno));
		CHECK(c, s.recycle_ms == want,
		      "%s: recycle_ms %" PRIu64 " after load; want %" PRIu64
		      " (the DT's bufbroker,recycle-ms, else off)",
		      all[i].name, s.recycle_ms, want);
		/* A region that recycles may hold what earlier tests freed; one that does not, never. */
		CHECK(c, want || s.recycled_bytes == 0, "%s: recycling off, yet %" PRIu64 " bytes kept",
		      all[i].name, s.recycled_bytes);
	}
	h_note("%d region(s) recycle from the DT's bufbroker,recycle-ms", from_dt);
	CHECK(c, bb_region_recycle_stats(&region, &s0) == 0, "stats");
	CHECK(c, (r = alloc_free(MiB)) == 0, "alloc 1 MiB: %s", strerror(-r));
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	CHECK(c, s.recycled_bytes == 0 && s.recycle_hits == s0.recycle_hits,
	      "recycling off, yet %" PRIu64 " bytes kept, hits %" PRIu64 " -> %" PRIu64,
	      s.recycled_bytes, s0.recycle_hits, s.recycle_hits);
out:;
}

static void case_reuse_cleared(struct h_case *c, void *arg)
{
	(void)arg;
	struct bb_recycle_stats s0, s;
	struct bb_stats st0, st;
	uint64_t phys_a = 0, phys_b = 0, nonzero = 1;
	int fd = -1, other = -1;
	CHECK(c, bb_region_set_recycle_ms(&region, "5000") == 0, "set recycle_ms: %s", strerror(errno));
	CHECK(c, bb_region_recycle_stats(&region, &s0) == 0 && bb_region_stats(&region, &st0) == 0,
	      "stats");
	fd = alloc_buf(MiB);
	CHECK(c, fd >= 0, "alloc: %s", strerror(-fd));
	CHECK(c, touch_buf(fd, MiB, 0xa5, &phys_a, NULL) == 0, "fill: %s", strerror(errno));
	close(fd);
	fd = -1;
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0 && bb_region_stats(&region, &st) == 0,
	      "stats");
	CHECK(c, s.recycled_bytes == MiB, "after free: recycled_bytes %" PRIu64 ", want %" PRIu64,
	      s.recycled_bytes, MiB);
	CHECK(c, st.bytes_allocated == st0.bytes_allocated,
	      "a kept buffer counts as allocated: %" PRIu64 " -> %" PRIu64, st0.bytes_allocated,
	      st.bytes_allocated);
	/* Another size does not take it. */
	other = alloc_buf(2 * MiB);
	CHECK(c, other >= 0, "alloc 2 MiB: %s", strerror(-other));
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	CHECK(c, s.recycle_hits == s0.recycle_hits && s.recycled_bytes == MiB,
	      "a 2 MiB request took the kept 1 MiB (hits %" PRIu64 ", kept %" PRIu64 ")",
	      s.recycle_hits, s.recycled_bytes);
	fd = alloc_buf(MiB);
	CHECK(c, fd >= 0, "alloc again: %s", strerror(-fd));
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	CHECK(c, s.recycle_hits == s0.recycle_hits + 1 && s.recycled_bytes == 0,
	      "second 1 MiB not served from the kept buffer (hits %" PRIu64 " -> %" PRIu64
	      ", kept %" PRIu64 ")",
	      s0.recycle_hits, s.recycle_hits, s.recycled_bytes);
	CHECK(c, touch_buf(fd, MiB, -1, &phys_b, &nonzero) == 0, "read: %s", strerror(errno));
	CHECK(c, phys_b == phys_a, "reused buffer at 0x%" PRIx64 ", the freed one was at 0x%" PRIx64,
	      phys_b, phys_a);
	CHECK(c, nonzero == 0, "%" PRIu64 " bytes of the previous owner's data survived reuse",
	      nonzero);
out:
	if (fd >= 0)
		close(fd);
	if (other >= 0)
		close(other);
	bb_region_set_recycle_ms(&region, "0");
}

/* The cache maintenance of one step: the DMA API's per-range syncs (traced calls) and the bytes
 * the module flushed itself (its flushed_bytes counter; assembly has no tracer entry). */
struct maint {
	int dma_syncs;
	uint64_t flushed;
};

static int read_flushed(uint64_t *out)
{
	struct bb_stats s;
	int e = bb_region_stats(&region, &s);
	if (e == 0)
		*out = s.flushed_bytes;
	return e;
}

/* Count the cache maintenance of the region from now on, in this process only or (@all_tasks) in
 * any task. Returns 0, -EINVAL when the kernel cannot trace, or -errno. */
static int maint_start(bool all_tasks, uint64_t *flushed0)
{
	int e = read_flushed(flushed0);
	if (e < 0)
		return e;
	return all_tasks ? bb_ftrace_start_all(BB_CACHE_MAINT_FUNCS) : bb_ftrace_start(BB_CACHE_MAINT_FUNCS);
}

static int maint_stop(uint64_t flushed0, struct maint *m)
{
	uint64_t flushed1 = 0;
	m->dma_syncs = bb_ftrace_stop_count(BB_CACHE_MAINT_LINE, NULL, 0);
	int e = read_flushed(&flushed1);
	if (m->dma_syncs < 0)
		return m->dma_syncs;
	m->flushed = flushed1 - flushed0;
	return e;
}

/* Allocate @len with its cache maintenance counted. Returns 0 (*fd is the buffer) or -errno. */
static int counted_alloc(int *fd, uint64_t len, struct maint *m)
{
	uint64_t flushed0 = 0;
	int e = maint_start(false, &flushed0);
	if (e < 0)
		return e;
	*fd = alloc_buf(len);
	e = maint_stop(flushed0, m);
	return *fd < 0 ? *fd : e;
}

/* Wait until the module has cleared every kept range in the background (recycled_clean_bytes
 * reaches recycled_bytes). Returns 0 and the wait in *ms, -ETIMEDOUT after 10 s, or -errno. */
static int wait_precleared(double *ms)
{
	struct bb_recycle_stats s;
	uint64_t t0 = bb_now_ns();
	for (;;) {
		if (bb_region_recycle_stats(&region, &s) < 0)
			return -errno;
		*ms = (double)(bb_now_ns() - t0) / 1e6;
		if (s.recycled_bytes && s.recycled_clean_bytes == s.recycled_bytes)
			return 0;
		if (*ms > 10000)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/*
 * One fresh allocation of @len from the uncached region, dirtied and freed (kept), then its
 * reuse once the background clearing is done. The cache maintenance of the three steps is
 * counted: the allocations in this process, the free and the clearing in any task (the module's
 * worker). The reuse must get the same range, zeroed, counted as precleared.
 * Returns 0, or -1 after H_FAIL / h_skip.
 */
static int uncached_reuse_round(struct h_case *c, uint64_t len, struct maint *fresh,
				struct maint *background, struct maint *reused)
{
	struct bb_recycle_stats s0, s;
	uint64_t phys_a = 0, phys_b = 0, nonzero = 1, flushed0 = 0;
	double ms = 0;
	int fd = -1, e;
	/* Off and on again: nothing kept from before, so the first allocation is fresh. */
	CHECK(c, bb_region_set_recycle_ms(&region, "0") == 0 &&
			 bb_region_set_recycle_ms(&region, "5000") == 0,
	      "set recycle_ms: %s", strerror(errno));
	CHECK(c, bb_region_recycle_stats(&region, &s0) == 0, "stats");
	e = counted_alloc(&fd, len, fresh);
	if (e == -EINVAL) {
		h_skip(c, "cannot trace %s on this kernel", BB_CACHE_MAINT_FUNCS);
		goto out;
	}
	CHECK(c, e == 0, "counted fresh alloc of %" PRIu64 ": %s", len, strerror(-e));
	CHECK(c, touch_buf(fd, len, 0x5a, &phys_a, NULL) == 0, "fill: %s", strerror(errno));
	CHECK(c, (e = maint_start(true, &flushed0)) == 0, "trace: %s", strerror(-e));
	close(fd);
	fd = -1;
	e = wait_precleared(&ms);
	int e2 = maint_stop(flushed0, background);
	CHECK(c, e == 0, "the freed %" PRIu64 " bytes were not cleared in the background: %s", len,
	      strerror(-e));
	CHECK(c, e2 == 0, "trace: %s", strerror(-e2));
	h_note("%" PRIu64 " bytes cleared in the background within %.1f ms of the free", len, ms);
	CHECK(c, (e = counted_alloc(&fd, len, reused)) == 0, "counted reuse of %" PRIu64 ": %s", len,
	      strerror(-e));
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	CHECK(c, s.recycle_hits == s0.recycle_hits + 1 &&
			 s.recycle_precleared == s0.recycle_precleared + 1,
	      "the second %" PRIu64 " bytes were not the precleared kept buffer (hits %" PRIu64
	      " -> %" PRIu64 ", precleared %" PRIu64 " -> %" PRIu64 ")",
	      len, s0.recycle_hits, s.recycle_hits, s0.recycle_precleared, s.recycle_precleared);
	CHECK(c, touch_buf(fd, len, -1, &phys_b, &nonzero) == 0, "read: %s", strerror(errno));
	CHECK(c, phys_b == phys_a && nonzero == 0,
	      "reused buffer at 0x%" PRIx64 " (kept one at 0x%" PRIx64 "), %" PRIu64
	      " bytes of the previous owner's data left", phys_b, phys_a, nonzero);
out:
	if (fd >= 0)
		close(fd);
	bb_ftrace_reset();
	bb_region_set_recycle_ms(&region, "0");
	return c->failed || c->skipped ? -1 : 0;
}

static void note_round(const char *size, const struct maint *fresh, const struct maint *background,
		       const struct maint *reused)
{
	h_note("%s: bytes flushed by the module / DMA API sync calls: fresh %" PRIu64 " / %d, free + "
	       "background clear %" PRIu64 " / %d, reused %" PRIu64 " / %d", size, fresh->flushed,
	       fresh->dma_syncs, background->flushed, background->dma_syncs, reused->flushed,
	       reused->dma_syncs);
}

/*
 * An uncached region's buffer must hold no line in the CPU caches. A fresh range was cleared
 * through the kernel's cacheable linear map, so it is flushed: one clean-and-invalidate pass of
 * the module's own, not the DMA API's clean then invalidate. A kept range is cleared again in the
 * background after its free: from 64 KiB up through a write-combined mapping, with no cache
 * maintenance; a smaller one through the linear map, then flushed like a fresh one (cheaper than
 * a mapping). Its reuse then costs none at all. Counted, not timed.
 */
static void case_uncached_reuse(struct h_case *c, void *arg)
{
	(void)arg;
	struct maint fresh, background, reused;
	if (!region.uncached) {
		h_skip(c, "region %s is cached (no bufbroker,uncached)", region.name);
		return;
	}
	if (uncached_reuse_round(c, MiB, &fresh, &background, &reused) < 0)
		return;
	note_round("1 MiB", &fresh, &background, &reused);
	CHECK(c, fresh.flushed >= MiB, "a fresh 1 MiB buffer of uncached %s was flushed for %" PRIu64
	      " bytes; lines written by its clearing could later be written back over device data",
	      region.name, fresh.flushed);
	CHECK(c, fresh.dma_syncs == 0, "a fresh buffer of uncached %s made %d DMA API sync calls: "
	      "two passes (clean, then invalidate) where the module's one does", region.name,
	      fresh.dma_syncs);
	CHECK(c, background.flushed == 0 && background.dma_syncs == 0 && reused.flushed == 0 &&
			 reused.dma_syncs == 0,
	      "clearing a kept 1 MiB of uncached %s flushed %" PRIu64 " bytes (%d sync calls) in the "
	      "background and %" PRIu64 " (%d) at reuse; it should be cleared write-combined",
	      region.name, background.flushed, background.dma_syncs, reused.flushed, reused.dma_syncs);
	if (uncached_reuse_round(c, 16 * KiB, &fresh, &background, &reused) < 0)
		return;
	note_round("16 KiB", &fresh, &background, &reused);
	CHECK(c, fresh.flushed >= 16 * KiB && background.flushed >= 16 * KiB,
	      "16 KiB of uncached %s: %" PRIu64 " bytes flushed fresh, %" PRIu64 " in the background "
	      "clearing; both are cleared through the linear map and must be flushed", region.name,
	      fresh.flushed, background.flushed);
	CHECK(c, reused.flushed == 0 && reused.dma_syncs == 0,
	      "reusing a precleared 16 KiB of uncached %s flushed %" PRIu64 " bytes (%d sync calls)",
	      region.name, reused.flushed, reused.dma_syncs);
out:;
}

/*
 * Reuse right after the free races the background clearing: the allocation finds its range not
 * cleared yet (and clears it itself), being cleared (and waits), or cleared. Whichever it is,
 * the buffer is the kept one and holds nothing of the previous owner.
 */
static void case_reuse_races_clearing(struct h_case *c, void *arg)
{
	(void)arg;
	enum { ROUNDS = 60 };
	struct bb_recycle_stats s0, s;
	uint64_t phys_a = 0, phys_b = 0, nonzero = 0;
	int fd = -1, h = -1, round = 0;
	CHECK(c, bb_region_set_recycle_ms(&region, "0") == 0 &&
			 bb_region_set_recycle_ms(&region, "5000") == 0,
	      "set recycle_ms: %s", strerror(errno));
	CHECK(c, bb_region_recycle_stats(&region, &s0) == 0, "stats");
	/* Held open: the next ioctl follows the free by microseconds. */
	h = bb_heap_open(heap);
	CHECK(c, h >= 0, "open heap %s: %s", heap, strerror(errno));
	fd = bb_heap_alloc(h, MiB);
	CHECK(c, fd >= 0, "alloc: %s", strerror(-fd));
	for (round = 0; round < ROUNDS; round++) {
		CHECK(c, touch_buf(fd, MiB, round & 1 ? 0xa5 : 0x5a, &phys_a, NULL) == 0,
		      "round %d fill: %s", round, strerror(errno));
		close(fd);
		fd = bb_heap_alloc(h, MiB);
		CHECK(c, fd >= 0, "round %d alloc: %s", round, strerror(-fd));
		CHECK(c, touch_buf(fd, MiB, -1, &phys_b, &nonzero) == 0, "round %d read: %s", round,
		      strerror(errno));
		CHECK(c, phys_b == phys_a && nonzero == 0,
		      "round %d: buffer at 0x%" PRIx64 " (kept one at 0x%" PRIx64 "), %" PRIu64
		      " bytes of the previous owner's data left", round, phys_b, phys_a, nonzero);
	}
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	CHECK(c, s.recycle_hits - s0.recycle_hits == ROUNDS,
	      "%" PRIu64 " of %d reuses right after the free found the kept buffer",
	      s.recycle_hits - s0.recycle_hits, ROUNDS);
	h_note("%d reuses right after the free: %" PRIu64 " found the buffer precleared", ROUNDS,
	       s.recycle_precleared - s0.recycle_precleared);
out:
	if (fd >= 0)
		close(fd);
	if (h >= 0)
		close(h);
	bb_region_set_recycle_ms(&region, "0");
}

static void case_expiry(struct h_case *c, void *arg)
{
	(void)arg;
	struct bb_recycle_stats s;
	int r;
	CHECK(c, bb_region_set_recycle_ms(&region, "2000") == 0, "set: %s", strerror(errno));
	CHECK(c, (r = alloc_free(MiB)) == 0, "alloc: %s", strerror(-r));
	uint64_t t0 = bb_now_ns();
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	CHECK(c, s.recycled_bytes == MiB, "not kept after free: %" PRIu64, s.recycled_bytes);
	while (s.recycled_bytes && bb_now_ns() - t0 < 20000000000ULL) {
		usleep(100000);
		CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	}
	CHECK(c, s.recycled_bytes == 0, "still %" PRIu64 " bytes kept 20 s after a 2 s recycle_ms",
	      s.recycled_bytes);
	h_note("kept buffer given back after %.1f s (recycle_ms 2000)",
	       (double)(bb_now_ns() - t0) / 1e9);
out:
	bb_region_set_recycle_ms(&region, "0");
}

static void case_off_drains(struct h_case *c, void *arg)
{
	(void)arg;
	struct bb_recycle_stats s;
	int r;
	CHECK(c, bb_region_set_recycle_ms(&region, "60000") == 0, "set: %s", strerror(errno));
	CHECK(c, (r = alloc_free(64 * KiB)) == 0, "alloc: %s", strerror(-r));
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0 && s.recycled_bytes == 64 * KiB,
	      "not kept after free: %" PRIu64, s.recycled_bytes);
	CHECK(c, bb_region_set_recycle_ms(&region, "0") == 0, "set 0: %s", strerror(errno));
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	CHECK(c, s.recycled_bytes == 0 && s.recycle_ms == 0,
	      "recycle_ms 0 left %" PRIu64 " bytes kept (recycle_ms reads %" PRIu64 ")",
	      s.recycled_bytes, s.recycle_ms);
out:
	bb_region_set_recycle_ms(&region, "0");
}

/* Half the region kept must not make a whole-region allocation fail. */
static void case_full_region_drains(struct h_case *c, void *arg)
{
	(void)arg;
	struct bb_recycle_stats s;
	uint64_t half = region.size / 2 / bb_page_size() * bb_page_size();
	int a = -1, b = -1, whole = -1;
	CHECK(c, bb_region_set_recycle_ms(&region, "60000") == 0, "set: %s", strerror(errno));
	a = alloc_buf(half);
	b = alloc_buf(half);
	CHECK(c, a >= 0 && b >= 0, "two halves of %s: %s", region.name, strerror(-(a < 0 ? a : b)));
	close(a);
	close(b);
	a = b = -1;
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	CHECK(c, s.recycled_bytes == half,
	      "kept %" PRIu64 " bytes of two freed halves; want one half (%" PRIu64 ", the cap)",
	      s.recycled_bytes, half);
	whole = alloc_buf(region.size);
	CHECK(c, whole >= 0, "whole region with half of it kept: %s", strerror(-whole));
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	CHECK(c, s.recycled_bytes == 0, "%" PRIu64 " bytes still kept after the region ran full",
	      s.recycled_bytes);
out:
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	if (whole >= 0)
		close(whole);
	bb_region_set_recycle_ms(&region, "0");
}

/* The latest free is kept: the older one makes room when both do not fit. */
static void case_newest_makes_room(struct h_case *c, void *arg)
{
	(void)arg;
	struct bb_recycle_stats s0, s;
	uint64_t half = region.size / 2 / bb_page_size() * bb_page_size();
	int fd = -1, r;
	CHECK(c, bb_region_set_recycle_ms(&region, "60000") == 0, "set: %s", strerror(errno));
	CHECK(c, bb_region_recycle_stats(&region, &s0) == 0, "stats");
	fd = alloc_buf(half);
	CHECK(c, fd >= 0, "alloc half: %s", strerror(-fd));
	close(fd);
	CHECK(c, (r = alloc_free(MiB)) == 0, "alloc 1 MiB: %s", strerror(-r));
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	CHECK(c, s.recycled_bytes == MiB,
	      "kept %" PRIu64 " bytes after freeing half the region, then 1 MiB; want the 1 MiB only",
	      s.recycled_bytes);
	fd = alloc_buf(MiB);
	CHECK(c, fd >= 0, "alloc 1 MiB again: %s", strerror(-fd));
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0, "stats");
	CHECK(c, s.recycle_hits == s0.recycle_hits + 1 && s.recycled_bytes == 0,
	      "the newest free was not reused (hits %" PRIu64 " -> %" PRIu64 ", kept %" PRIu64 ")",
	      s0.recycle_hits, s.recycle_hits, s.recycled_bytes);
out:
	if (fd >= 0)
		close(fd);
	bb_region_set_recycle_ms(&region, "0");
}

static void case_bad_values(struct h_case *c, void *arg)
{
	(void)arg;
	static const struct {
		const char *value;
		int err;
	} bad[] = { { "abc", -EINVAL }, { "-1", -EINVAL }, { "60001", -ERANGE },
		    { "99999999999", -ERANGE }, { "\n", -EINVAL } };
	struct bb_recycle_stats s;
	CHECK(c, bb_region_set_recycle_ms(&region, "250") == 0, "set 250: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = bb_region_set_recycle_ms(&region, bad[i].value);
		CHECK(c, r == bad[i].err, "recycle_ms '%s': got %s, want %s", bad[i].value,
		      r ? strerror(-r) : "success", strerror(-bad[i].err));
	}
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0 && s.recycle_ms == 250,
	      "recycle_ms %" PRIu64 " after refused writes, want 250", s.recycle_ms);
out:
	bb_region_set_recycle_ms(&region, "0");
}

static void case_keep_one(struct h_case *c, void *arg)
{
	(void)arg;
	struct bb_recycle_stats s;
	int r;
	CHECK(c, bb_region_set_recycle_ms(&region, "60000") == 0, "set: %s", strerror(errno));
	CHECK(c, (r = alloc_free(MiB)) == 0, "alloc: %s", strerror(-r));
	CHECK(c, bb_region_recycle_stats(&region, &s) == 0 && s.recycled_bytes == MiB,
	      "not kept: %" PRIu64, s.recycled_bytes);
out:;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "heap", required_argument, NULL, 'H' },
		{ "keep-one", no_argument, NULL, 'k' },
		{ 0 },
	};
	bool keep_one = false;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'H':
			heap = optarg;
			break;
		case 'k':
			keep_one = true;
			break;
		default:
			fprintf(stderr, "usage: recycle_test [--heap NAME] [--keep-one]\n");
			return 2;
		}
	}
	h_init(argv[0]);
	if (bb_region_find(heap, &region) < 0 || region.is_default || !region.size) {
		printf("not ok - %s: heap %s: no DT region of known size behind it\n", h_prog(), heap);
		return 1;
	}
	h_note("region %s, %" PRIu64 " MiB", region.name, region.size / MiB);
	if (keep_one) {
		h_run("a freed 1 MiB buffer is kept for the unload test", case_keep_one, NULL);
		return h_exit_status();
	}
	h_run("after load: recycle_ms from the DT, else off", case_off_by_default, NULL);
	h_run("a freed buffer is reused by the same size only, cleared", case_reuse_cleared, NULL);
	h_run("uncached region: a kept buffer is cleared in the background, from 64 KiB up "
	      "without cache maintenance", case_uncached_reuse, NULL);
	h_run("a reuse right after the free gets the kept buffer, cleared", case_reuse_races_clearing,
	      NULL);
	h_run("a kept buffer goes back after recycle_ms", case_expiry, NULL);
	h_run("recycle_ms 0 gives kept buffers back", case_off_drains, NULL);
	h_run("a full region takes kept buffers back", case_full_region_drains, NULL);
	h_run("the newest free makes room when both do not fit", case_newest_makes_room, NULL);
	h_run("bad recycle_ms values are refused", case_bad_values, NULL);
	return h_exit_status();
}
