// SPDX-License-Identifier: MIT
/*
 * heap_bench: allocation latency of the bufbroker heaps against the memset floor.
 *
 *   heap_bench [--heap NAME]... [--reps N] [--quick] [--csv FILE] [--interleave]
 *
 * For each heap (default: the primary name of every region) and each size from 4 KiB to
 * 32 MiB (--quick: 1, 4, 8, 16 MiB and 15 repetitions; sizes above the region are skipped): N x (DMA_HEAP_IOCTL_ALLOC + close),
 * median and p99; beside it N x memset of the same number of bytes into an already-mapped,
 * already-faulted buffer of that size (the floor), median and p99; and the ratio of the
 * medians. Every output line starts with "# " so the rig never mistakes it for a result.
 * --csv FILE appends one row per heap and size (tools/bench.sh reads it):
 *   heap,size_bytes,n,alloc_med_us,alloc_p99_us,memset_med_us,memset_p99_us
 * (a header line is written when the file is empty).
 * --interleave times the floor (memset 0: clearing) in the same loop, right after each alloc+free, into anonymous
 * pre-faulted memory of the same size (same RAM; the heap buffer cannot stay allocated while the
 * region is allocated again at full size): a burst of host noise then hits both sides alike.
 * --back-to-back (with --interleave) times a second alloc+free right after the first one of each
 * repetition, before the memset: the first then follows a pause (the memset) after the previous
 * free, the second none. A recycling region clears a kept buffer in the background after its free,
 * so the two differ by whether that clearing had time to finish. Two more CSV columns:
 *   ...,b2b_med_us,b2b_p99_us
 */
#include "bbutil.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const uint64_t full_sizes[] = { 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB,
				       4 * MiB, 8 * MiB,  16 * MiB, 32 * MiB };
static const uint64_t quick_sizes[] = { 1 * MiB, 4 * MiB, 8 * MiB, 16 * MiB };
static const uint64_t *sizes = full_sizes;
static size_t n_sizes = sizeof(full_sizes) / sizeof(full_sizes[0]);
static FILE *csv;
static bool interleave, back_to_back;

struct dist {
	double med_us, p99_us;
};

static struct dist summarize(uint64_t *ns, int n)
{
	qsort(ns, (size_t)n, sizeof(*ns), bb_cmp_u64);
	int i99 = (n * 99 + 99) / 100 - 1;
	if (i99 >= n)
		i99 = n - 1;
	if (i99 < 0)
		i99 = 0;
	struct dist d = { .med_us = (n % 2 ? (double)ns[n / 2] : (ns[n / 2 - 1] + ns[n / 2]) / 2.0) / 1e3,
			  .p99_us = (double)ns[i99] / 1e3 };
	return d;
}

static void fmt_size(uint64_t v, char *out, size_t len)
{
	if (v >= MiB)
		snprintf(out, len, "%" PRIu64 "M", v / MiB);
	else
		snprintf(out, len, "%" PRIu64 "K", v / KiB);
}

/* A heap name as a CSV field: "linux,cma" -> "linux;cma". */
static const char *csv_name(const char *h)
{
	static char buf[BB_NAME_LEN];
	snprintf(buf, sizeof(buf), "%s", h);
	for (char *p = buf; *p; p++)
		if (*p == ',')
			*p = ';';
	return buf;
}

/* One DMA_HEAP_IOCTL_ALLOC of @len and the close of the buffer. Returns 0 or -errno. */
static int alloc_free(int hfd, uint64_t len)
{
	int b = bb_heap_alloc(hfd, len);
	if (b < 0)
		return b;
	close(b);
	return 0;
}

static int bench_heap(const char *heap, uint64_t region_size, int reps)
{
	int hfd = bb_heap_open(heap);
	if (hfd < 0) {
		printf("# %s: open: %s\n", heap, strerror(errno));
		return 1;
	}
	uint64_t *ns = calloc((size_t)reps, sizeof(*ns));
	if (!ns) {
		close(hfd);
		return 1;
	}
	printf("# heap %s (region %" PRIu64 " MiB), %d repetitions\n", heap, region_size / MiB, reps);
	printf("# %-6s %12s %12s %12s %12s %8s %10s%s\n", "size", "alloc_med_us", "alloc_p99_us",
	       "memset_med_us", "memset_p99_us", "ratio", "GB/s_memset",
	       back_to_back ? "   b2b_med_us   b2b_p99_us" : "");
	int rc = 0;
	for (size_t s = 0; s < n_sizes; s++) {
		uint64_t len = sizes[s];
		char sz[16];
		fmt_size(len, sz, sizeof(sz));
		if (region_size && len > region_size) {
			printf("# %-6s skipped: larger than the region\n", sz);
			continue;
		}
		/* Warm-up, and fail fast when the size does not fit now. */
		int b = bb_heap_alloc(hfd, len);
		if (b < 0) {
			printf("# %-6s alloc: %s\n", sz, strerror(-b));
			rc = 1;
			continue;
		}
		close(b);
		if (interleave) {
			uint64_t *fl = calloc((size_t)reps, sizeof(*fl));
			uint64_t *b2b_ns = calloc((size_t)reps, sizeof(*b2b_ns));
			void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
			if (!fl || !b2b_ns || p == MAP_FAILED) {
				printf("# %-6s floor buffer: %s\n", sz, strerror(errno));
				free(fl);
				free(b2b_ns);
				if (p != MAP_FAILED)
					munmap(p, len);
				rc = 1;
				continue;
			}
			memset(p, 0xff, len);
			int n = 0;
			for (int i = 0; i < reps; i++) {
				uint64_t t0 = bb_now_ns();
				b = alloc_free(hfd, len);
				uint64_t t1 = bb_now_ns();
				if (back_to_back && b >= 0) {
					b = alloc_free(hfd, len);
					b2b_ns[n] = bb_now_ns() - t1;
				}
				uint64_t t2 = bb_now_ns();
				memset(p, 0, len); /* clearing, as the heap clears its pages */
				__asm__ volatile("" ::"r"(p) : "memory");
				uint64_t t3 = bb_now_ns();
				if (b < 0) {
					printf("# %-6s alloc #%d: %s\n", sz, i, strerror(-b));
					rc = 1;
					break;
				}
				ns[n] = t1 - t0;
				fl[n++] = t3 - t2;
			}
			munmap(p, len);
			if (!n) {
				free(fl);
				free(b2b_ns);
				continue;
			}
			struct dist a = summarize(ns, n), f = summarize(fl, n), b2b = summarize(b2b_ns, n);
			free(fl);
			free(b2b_ns);
			printf("# %-6s %12.1f %12.1f %12.1f %12.1f %8.2f %10.2f", sz, a.med_us, a.p99_us,
			       f.med_us, f.p99_us, f.med_us > 0 ? a.med_us / f.med_us : 0.0,
			       f.med_us > 0 ? (double)len / (f.med_us * 1e3) : 0.0);
			if (back_to_back)
				printf(" %12.1f %12.1f", b2b.med_us, b2b.p99_us);
			printf("\n");
			if (csv) {
				fprintf(csv, "%s,%" PRIu64 ",%d,%.1f,%.1f,%.1f,%.1f", csv_name(heap), len, n,
					a.med_us, a.p99_us, f.med_us, f.p99_us);
				if (back_to_back)
					fprintf(csv, ",%.1f,%.1f", b2b.med_us, b2b.p99_us);
				fprintf(csv, "\n");
				fflush(csv);
			}
			continue;
		}
		int n = 0;
		for (int i = 0; i < reps; i++) {
			uint64_t t0 = bb_now_ns();
			b = alloc_free(hfd, len);
			uint64_t t1 = bb_now_ns();
			if (b < 0) {
				printf("# %-6s alloc #%d: %s\n", sz, i, strerror(-b));
				rc = 1;
				break;
			}
			ns[n++] = t1 - t0;
		}
		if (!n)
			continue;
		struct dist a = summarize(ns, n);
		/* The floor: memset into a mapped, pre-faulted buffer of the same size. */
		b = bb_heap_alloc(hfd, len);
		if (b < 0) {
			printf("# %-6s floor alloc: %s\n", sz, strerror(-b));
			rc = 1;
			continue;
		}
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
		if (p == MAP_FAILED) {
			printf("# %-6s mmap: %s\n", sz, strerror(errno));
			close(b);
			rc = 1;
			continue;
		}
		memset(p, 0xff, len); /* fault everything in */
		int m = 0;
		for (int i = 0; i < reps; i++) {
			uint64_t t0 = bb_now_ns();
			memset(p, i & 0xff, len);
			__asm__ volatile("" ::"r"(p) : "memory");
			ns[m++] = bb_now_ns() - t0;
		}
		struct dist f = summarize(ns, m);
		munmap(p, len);
		close(b);
		printf("# %-6s %12.1f %12.1f %12.1f %12.1f %8.2f %10.2f\n", sz, a.med_us, a.p99_us,
		       f.med_us, f.p99_us, f.med_us > 0 ? a.med_us / f.med_us : 0.0,
		       f.med_us > 0 ? (double)len / (f.med_us * 1e3) : 0.0);
		if (csv) {
			fprintf(csv, "%s,%" PRIu64 ",%d,%.1f,%.1f,%.1f,%.1f\n", csv_name(heap), len, n, a.med_us,
				a.p99_us, f.med_us, f.p99_us);
			fflush(csv);
		}
	}
	free(ns);
	close(hfd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "heap", required_argument, NULL, 'H' },
		{ "reps", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "csv", required_argument, NULL, 'c' },
		{ "interleave", no_argument, NULL, 'i' },
		{ "back-to-back", no_argument, NULL, 'b' },
		{ 0 },
	};
	static const char usage[] = "usage: heap_bench [--heap NAME]... [--reps N] [--quick] "
				    "[--csv FILE] [--interleave [--back-to-back]]\n";
	const char *heaps[16], *csv_path = NULL;
	int n_heaps = 0, reps = 0, o;
	bool quick = false;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'H':
			if (n_heaps == 16) {
				fprintf(stderr, "heap_bench: at most 16 --heap options\n");
				return 2;
			}
			heaps[n_heaps++] = optarg;
			break;
		case 'r': {
			char *end;
			long v;
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > 100000) {
				fprintf(stderr, "heap_bench: --reps '%s': want a whole number from 1 to 100000\n",
					optarg);
				return 2;
			}
			reps = (int)v;
			break;
		}
		case 'q':
			quick = true;
			break;
		case 'i':
			interleave = true;
			break;
		case 'b':
			back_to_back = true;
			break;
		case 'c':
			csv_path = optarg;
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc || (back_to_back && !interleave)) {
		fprintf(stderr, "heap_bench: %s\n%s",
			optind < argc ? "unexpected argument" : "--back-to-back needs --interleave", usage);
		return 2;
	}
	if (csv_path) {
		csv = fopen(csv_path, "ae");
		if (!csv) {
			fprintf(stderr, "heap_bench: %s: %s\n", csv_path, strerror(errno));
			return 2;
		}
		fseek(csv, 0, SEEK_END);
		if (ftell(csv) == 0)
			fprintf(csv, "heap,size_bytes,n,alloc_med_us,alloc_p99_us,memset_med_us,"
				     "memset_p99_us%s\n", back_to_back ? ",b2b_med_us,b2b_p99_us" : "");
	}
	if (quick) {
		sizes = quick_sizes;
		n_sizes = sizeof(quick_sizes) / sizeof(quick_sizes[0]);
	}
	if (reps < 1)
		reps = quick ? 15 : 50;
	setvbuf(stdout, NULL, _IOLBF, 0);
	static struct bb_region regs[BB_MAX_REGIONS];
	int nr = bb_regions(regs, BB_MAX_REGIONS);
	if (nr < 0)
		nr = 0;
	if (!n_heaps)
		for (int i = 0; i < nr && n_heaps < 16; i++)
			heaps[n_heaps++] = regs[i].heaps[0];
	if (!n_heaps) {
		printf("# heap_bench: no heaps (no %s)\n", BB_SYSFS_REGIONS);
		return 1;
	}
	int rc = 0;
	for (int h = 0; h < n_heaps; h++) {
		uint64_t size = 0;
		for (int i = 0; i < nr; i++)
			for (unsigned int j = 0; j < regs[i].n_heaps; j++)
				if (!strcmp(regs[i].heaps[j], heaps[h]))
					size = regs[i].size;
		rc |= bench_heap(heaps[h], size, reps);
	}
	return rc;
}
