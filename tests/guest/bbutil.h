/* SPDX-License-Identifier: MIT */
/* Helpers shared by the in-guest tests and the benchmark: dma-heap, sysfs stats, pagemap. */
#ifndef BB_UTIL_H
#define BB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BB_HEAP_DIR "/dev/dma_heap"
#define BB_SYSFS_REGIONS "/sys/kernel/bufbroker/regions"
#define BB_MAX_REGIONS 16
#define BB_MAX_NAMES 8
#define BB_NAME_LEN 96

#define KiB ((uint64_t)1024)
#define MiB ((uint64_t)1024 * 1024)

struct bb_region {
	char name[BB_NAME_LEN];           /* primary name (sysfs directory) */
	char heaps[BB_MAX_NAMES][BB_NAME_LEN]; /* from the "heaps" file, primary first */
	unsigned int n_heaps;
	uint64_t size;
	uint64_t base;                    /* 0 if unreadable */
	bool have_base;
	/* base/size describe the physical range. False for a default area that does not come
	 * from DT (cma= or Kconfig): 6.1 cannot tell the module where it is, so base reads 0x0. */
	bool bounds_known;
	bool is_default;
	bool uncached;                    /* the region's "uncached" file reads 1 */
};

struct bb_stats {
	uint64_t bytes_allocated, buffers_allocated, peak_bytes, failures, flushed_bytes, held_bytes;
};

/* The region's opt-in reuse of freed buffers (kernel/bufbroker_recycle.c). */
struct bb_recycle_stats {
	uint64_t recycle_ms, recycled_bytes, recycled_clean_bytes, recycle_hits, recycle_precleared;
};

uint64_t bb_now_ns(void);
size_t bb_page_size(void);

/* Read a whole small file into buf (NUL-terminated). Returns length or -errno. */
int bb_read_file(const char *path, char *buf, size_t len);
/* Field @field of /proc/meminfo (e.g. "CmaFree") in KiB, or -1 if it cannot be read. */
long bb_meminfo_kib(const char *field);
/* Parse a decimal or 0x-hex unsigned file. Returns 0 or -errno. */
int bb_read_u64(const char *path, uint64_t *out);
/* Write @value to a sysfs or tracefs file as `echo -n value > path` does (O_TRUNC; a partial
 * write goes on with the rest: tracefs takes one word of a list per write()). Returns 0 or
 * -errno, the kernel's answer to the write. */
int bb_write_file(const char *path, const char *value);

/* Regions from sysfs. Returns count (>= 0) or -errno. */
int bb_regions(struct bb_region *r, int max);
int bb_region_stats(const struct bb_region *r, struct bb_stats *s);
int bb_region_recycle_stats(const struct bb_region *r, struct bb_recycle_stats *s);
/* Property @prop of the region's node in the live device tree (/reserved-memory/<name>): up to
 * @len bytes into @buf. Returns the bytes read (0 for a boolean property), -ENOENT without it. */
int bb_region_dt_prop(const struct bb_region *r, const char *prop, void *buf, size_t len);
/* Write the region's recycle_ms. Returns 0 or -errno (the kernel's answer to the write). */
int bb_region_set_recycle_ms(const struct bb_region *r, const char *value);
/* The region of @regs[0..n) that has heap node @heap (borrowed), or NULL. */
const struct bb_region *bb_region_with_heap(const struct bb_region *regs, int n, const char *heap);
/* Read the regions and copy the one that has heap node @name, or is named @name, to *out.
 * Returns 0 or -ENOENT (-errno when sysfs cannot be read). */
int bb_region_find(const char *name, struct bb_region *out);
/* Is @name a heap node or the name of the region that has heap node (or is named) @heap? */
bool bb_same_region(const char *name, const char *heap);
/* Names present in /dev/dma_heap. Returns count or -errno. */
int bb_heap_nodes(char names[][BB_NAME_LEN], int max);

/* Open /dev/dma_heap/<name> O_RDONLY|O_CLOEXEC. Returns fd or -1/errno. */
int bb_heap_open(const char *name);
/* DMA_HEAP_IOCTL_ALLOC with O_RDWR|O_CLOEXEC. Returns dma-buf fd, or -errno. */
int bb_heap_alloc(int heap_fd, uint64_t len);

/* DMA_BUF_IOCTL_SYNC: start/end with DMA_BUF_SYNC_{READ,WRITE,RW}. Returns 0 or -errno. */
int bb_sync(int buf_fd, bool start, uint64_t rw_flags);

/*
 * Physical address of every page of [addr, addr+len) through /proc/self/pagemap. Touches (reads)
 * each page first. phys[] gets len/page entries. Returns 0, or -errno (-ENOENT: page not present,
 * -EPERM: PFN hidden, i.e. not root).
 */
int bb_phys_pages(const void *addr, size_t len, uint64_t *phys);

/* Check a mapped buffer: every page inside [base, base+size) (skipped when size is 0) and
 * physically contiguous. Returns 0 or a negative code (-ERANGE: outside, -EFAULT: not
 * contiguous); msg gets a reason. */
int bb_check_phys(const void *addr, size_t len, uint64_t base, uint64_t size, bool need_contig,
		  char *msg, size_t msglen);

int bb_cmp_u64(const void *a, const void *b);

#endif
