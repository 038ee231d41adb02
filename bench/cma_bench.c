// SPDX-License-Identifier: MIT
/*
 * cma_bench: a CMA region under pressure, and fragmentation churn (static, root).
 *
 *   cma_bench fill --fill-dir DIR [--headroom-mb M] --out DIR
 *       Fill the CMA regions with page-cache pages (4 MiB files in DIR, a tmpfs: shmem pages are
 *       movable and cannot be dropped, only migrated) and leave M MiB of normal memory free (see
 *       cmd_fill). The files stay; the caller removes them. DIR/fill.csv
 *       memfree_kb_before,cmafree_kb_before,memfree_kb_after,cmafree_kb_after,fill_mb
 *   cma_bench hold --heap H [--size BYTES] [--reps N] [--phase NAME] --out DIR
 *       Up to N allocations of SIZE, kept (each needs a fresh range of the region), each timed,
 *       with /proc/vmstat pgmigrate_success per allocation; then all freed. Appends to
 *       DIR/pressure.csv phase,heap,size_bytes,n,failures,med_us,p99_us,max_us,migrated_pages_med
 *   cma_bench churn --heap H [--ops N] [--seed S] --out DIR
 *       A random mix of allocations (64 KiB .. 8 MiB) and frees, then the largest buffer that can
 *       still be allocated (binary search, 4 KiB steps) against the region's free bytes.
 *       DIR/churn.csv heap,ops,allocs,frees,alloc_failures,live_buffers,live_bytes,region_bytes,
 *                     free_bytes,largest_bytes,fraction,search_s
 * Progress and figures on stdout as "# " lines.
 */
#include "bbutil.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *heap = "camera", *out, *fill_dir;
static uint64_t size = 4 * MiB;
static int reps = 30, ops = 300, headroom_mb = 48;
static unsigned int seed = 42;
static const char *phase = "idle";

#define CHUNK (4 * MiB)

static long long vmstat(const char *key)
{
	static char buf[16384];
	if (bb_read_file("/proc/vmstat", buf, sizeof(buf)) < 0)
		return -1;
	char k[64];
	snprintf(k, sizeof(k), "\n%s ", key);
	char *s = strstr(buf, k);
	return s ? strtoll(s + strlen(k), NULL, 10) : -1;
}

static FILE *open_out(const char *name, const char *header)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", out, name);
	FILE *f = fopen(p, "a");
	if (!f) {
		printf("# %s: %s\n", p, strerror(errno));
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	if (ftell(f) == 0)
		fprintf(f, "%s\n", header);
	return f;
}

struct dist {
	double med, p99, max;
};

static struct dist summarize(uint64_t *ns, int n)
{
	struct dist d = { 0, 0, 0 };
	if (n <= 0)
		return d;
	qsort(ns, (size_t)n, sizeof(*ns), bb_cmp_u64);
	int i99 = (n * 99 + 99) / 100 - 1;
	if (i99 >= n)
		i99 = n - 1;
	d.med = (n % 2 ? (double)ns[n / 2] : (ns[n / 2 - 1] + ns[n / 2]) / 2.0) / 1e3;
	d.p99 = (double)ns[i99 < 0 ? 0 : i99] / 1e3;
	d.max = (double)ns[n - 1] / 1e3;
	return d;
}

static char *chunk_buf;
static int n_files, first_file;

static int write_chunk(void)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/f%06d", fill_dir, n_files);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	chunk_buf[0] = (char)n_files; /* not all-same pages */
	ssize_t w = write(fd, chunk_buf, CHUNK);
	int e = errno;
	close(fd);
	if (w != (ssize_t)CHUNK) {
		unlink(p);
		return w < 0 ? -e : -ENOSPC;
	}
	n_files++;
	return 0;
}

static void drop_oldest(void)
{
	char p[512];
	if (first_file >= n_files)
		return;
	snprintf(p, sizeof(p), "%s/f%06d", fill_dir, first_file++);
	unlink(p);
}

/* The fill. Movable allocations are served from CMA pageblocks only once the zone's free CMA
 * pages exceed half its free pages, so a plain fill would leave normal and CMA memory equally
 * free - and kernel (unmovable) allocations starve before the regions are full. Instead:
 * 1. ballast files until normal free memory is down to the CMA free memory (mostly normal pages);
 * 2. fill files until CmaFree < 16 MiB (half of them land in CMA pageblocks);
 * 3. delete the oldest ballast until MemFree - CmaFree >= headroom: normal memory comes back, the
 *    regions stay full of page-cache pages, and migration has somewhere to go. */
static long normal_free_kb(void)
{
	return bb_meminfo_kib("MemFree") - bb_meminfo_kib("CmaFree");
}

static int cmd_fill(void)
{
	if (!fill_dir)
		return 2;
	chunk_buf = malloc(CHUNK);
	if (!chunk_buf)
		return 1;
	memset(chunk_buf, 0x5a, CHUNK);
	mkdir(fill_dir, 0700);
	long mf0 = bb_meminfo_kib("MemFree"), cf0 = bb_meminfo_kib("CmaFree");
	uint64_t t0 = bb_now_ns();
	int r = 0;
	while (r == 0 && normal_free_kb() > bb_meminfo_kib("CmaFree") + 8 * 1024)
		r = write_chunk();
	int ballast = n_files;
	while (r == 0 && bb_meminfo_kib("CmaFree") > 16 * 1024 && normal_free_kb() > 24 * 1024)
		r = write_chunk();
	long cf_full = bb_meminfo_kib("CmaFree");
	while (first_file < ballast && normal_free_kb() < headroom_mb * 1024L)
		drop_oldest();
	long mf1 = bb_meminfo_kib("MemFree"), cf1 = bb_meminfo_kib("CmaFree");
	printf("# fill: %d MiB of tmpfs (%d MiB ballast written, %d MiB of it deleted) in %.1f s; MemFree "
	       "%ld -> %ld kB, CmaFree %ld -> %ld kB (lowest %ld kB)%s\n",
	       (n_files - first_file) * 4, ballast * 4, first_file * 4,
	       (double)(bb_now_ns() - t0) / 1e9, mf0, mf1, cf0, cf1, cf_full, r ? " (write failed)" : "");
	FILE *ff = open_out("fill.csv", "memfree_kb_before,cmafree_kb_before,memfree_kb_after,"
					"cmafree_kb_after,fill_mb");
	fprintf(ff, "%ld,%ld,%ld,%ld,%d\n", mf0, cf0, mf1, cf1, (n_files - first_file) * 4);
	fclose(ff);
	return 0;
}

/* Allocate SIZE buffers and keep them, up to --reps or the first failure, each allocation timed:
 * each one needs a range of the region nobody has allocated yet, so under the fill each one
 * must migrate. Then free them all. */
static int cmd_hold(void)
{
	int hfd = bb_heap_open(heap);
	if (hfd < 0) {
		printf("# hold: open %s: %s\n", heap, strerror(errno));
		return 1;
	}
	uint64_t *ns = calloc((size_t)reps, sizeof(*ns)), *mig = calloc((size_t)reps, sizeof(*mig));
	int *fds = calloc((size_t)reps, sizeof(*fds));
	int n = 0, failures = 0;
	long long mg0 = vmstat("pgmigrate_success"), mgf0 = vmstat("pgmigrate_fail");
	for (int i = 0; i < reps; i++) {
		long long m0 = vmstat("pgmigrate_success");
		uint64_t t0 = bb_now_ns();
		int fd = bb_heap_alloc(hfd, size);
		uint64_t t1 = bb_now_ns();
		long long m1 = vmstat("pgmigrate_success");
		if (fd < 0) {
			failures++;
			printf("# %s: alloc #%d of %" PRIu64 " from %s: %s (stopping)\n", phase, i, size, heap,
			       strerror(-fd));
			break;
		}
		fds[n] = fd;
		mig[n] = (uint64_t)(m1 - m0) * 1000; /* summarize() divides by 1e3 */
		ns[n++] = t1 - t0;
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	struct dist d = summarize(ns, n), m = summarize(mig, n);
	FILE *f = open_out("pressure.csv", "phase,heap,size_bytes,n,failures,med_us,p99_us,max_us,"
					   "migrated_pages_med");
	fprintf(f, "%s,%s,%" PRIu64 ",%d,%d,%.1f,%.1f,%.1f,%.0f\n", phase, heap, size, n, failures,
		d.med, d.p99, d.max, m.med);
	fclose(f);
	printf("# %-9s %s %" PRIu64 " bytes held n=%d failures=%d med %.1f us p99 %.1f us max %.1f us, "
	       "pages migrated per alloc: median %.0f, max %.0f; pgmigrate_success +%lld fail +%lld\n",
	       phase, heap, size, n, failures, d.med, d.p99, d.max, m.med, m.max,
	       vmstat("pgmigrate_success") - mg0, vmstat("pgmigrate_fail") - mgf0);
	free(ns);
	free(mig);
	free(fds);
	close(hfd);
	return 0;
}

/* ---- churn ------------------------------------------------------------------------------- */

static const uint64_t churn_sizes[] = { 64 * KiB, 256 * KiB, 1 * MiB, 1 * MiB, 2 * MiB,
					4 * MiB, 4 * MiB, 8 * MiB };

static int cmd_churn(void)
{
	struct bb_region reg;
	int hfd = bb_heap_open(heap);
	if (hfd < 0 || bb_region_find(heap, &reg) < 0) {
		printf("# churn: heap %s: not found\n", heap);
		return 1;
	}
	srand(seed);
	int fds[256];
	uint64_t lens[256];
	int live = 0, allocs = 0, frees = 0, fails = 0;
	for (int i = 0; i < ops; i++) {
		int do_alloc = live == 0 || (live < 256 && rand() % 100 < 55);
		if (do_alloc) {
			uint64_t len = churn_sizes[(size_t)rand() % (sizeof(churn_sizes) / sizeof(churn_sizes[0]))];
			int fd = bb_heap_alloc(hfd, len);
			if (fd < 0) {
				fails++;
				/* Full: free one instead, so the mix keeps moving. */
				if (live) {
					int k = rand() % live;
					close(fds[k]);
					fds[k] = fds[--live];
					lens[k] = lens[live];
					frees++;
				}
				continue;
			}
			fds[live] = fd;
			lens[live++] = len;
			allocs++;
		} else {
			int k = rand() % live;
			close(fds[k]);
			fds[k] = fds[--live];
			lens[k] = lens[live];
			frees++;
		}
	}
	uint64_t live_bytes = 0;
	for (int i = 0; i < live; i++)
		live_bytes += lens[i];
	struct bb_stats st;
	uint64_t used = live_bytes;
	if (bb_region_stats(&reg, &st) == 0)
		used = st.bytes_allocated;
	uint64_t free_bytes = reg.size > used ? reg.size - used : 0;
	/* Largest allocatable: binary search in pages. */
	uint64_t lo = 0, hi = free_bytes / (4 * KiB);
	uint64_t t0 = bb_now_ns();
	while (lo < hi) {
		uint64_t mid = (lo + hi + 1) / 2;
		int fd = bb_heap_alloc(hfd, mid * 4 * KiB);
		if (fd >= 0) {
			close(fd);
			lo = mid;
		} else {
			hi = mid - 1;
		}
	}
	double search_s = (double)(bb_now_ns() - t0) / 1e9;
	uint64_t largest = lo * 4 * KiB;
	double frac = free_bytes ? (double)largest / (double)free_bytes : 0;
	FILE *f = open_out("churn.csv", "heap,ops,allocs,frees,alloc_failures,live_buffers,live_bytes,"
					"region_bytes,free_bytes,largest_bytes,fraction,search_s");
	fprintf(f, "%s,%d,%d,%d,%d,%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%.1f\n",
		heap, ops, allocs, frees, fails, live, live_bytes, reg.size, free_bytes, largest, frac,
		search_s);
	fclose(f);
	printf("# churn %s: %d ops (%d allocs, %d frees, %d ENOMEM), %d live buffers = %" PRIu64
	       " KiB; region %" PRIu64 " KiB, free %" PRIu64 " KiB, largest allocatable %" PRIu64
	       " KiB = %.1f%% of free (search %.1f s)\n",
	       heap, ops, allocs, frees, fails, live, live_bytes / KiB, reg.size / KiB,
	       free_bytes / KiB, largest / KiB, 100 * frac, search_s);
	for (int i = 0; i < live; i++)
		close(fds[i]);
	close(hfd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "heap", required_argument, NULL, 'H' },     { "size", required_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },     { "fill-dir", required_argument, NULL, 'f' },
		{ "headroom-mb", required_argument, NULL, 'm' }, { "out", required_argument, NULL, 'o' },
		{ "ops", required_argument, NULL, 'n' },      { "seed", required_argument, NULL, 'S' },
		{ "phase", required_argument, NULL, 'P' },
		{ 0 },
	};
	int o;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: cma_bench fill|hold|churn [options] (see the source)\n");
		return 2;
	}
	const char *cmd = argv[1];
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'H': heap = optarg; break;
		case 's': size = strtoull(optarg, NULL, 0); break;
		case 'r': reps = atoi(optarg); break;
		case 'f': fill_dir = optarg; break;
		case 'm': headroom_mb = atoi(optarg); break;
		case 'o': out = optarg; break;
		case 'n': ops = atoi(optarg); break;
		case 'P': phase = optarg; break;
		case 'S': seed = (unsigned int)strtoul(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (!out || reps < 1) {
		fprintf(stderr, "cma_bench: --out DIR is required\n");
		return 2;
	}
	if (!strcmp(cmd, "fill"))
		return cmd_fill();
	if (!strcmp(cmd, "hold"))
		return cmd_hold();
	if (!strcmp(cmd, "churn"))
		return cmd_churn();
	fprintf(stderr, "cma_bench: unknown command %s\n", cmd);
	return 2;
}
