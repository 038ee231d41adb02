/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bufbroker_heap: private declarations shared by the module's files.
 */
#ifndef BUFBROKER_H
#define BUFBROKER_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#define BB_DEFAULT_HEAP_NAME	"default_cma_region"
#define BB_ALIAS_PROP		"bufbroker,heap-aliases"
#define BB_ALIAS_MAX_LEN	63
#define BB_RECYCLE_PROP		"bufbroker,recycle-ms"
#define BB_UNCACHED_PROP	"bufbroker,uncached"
#define BB_RECYCLE_MAX_MS	60000
#define BB_MAX_HEAPS		64

struct bb_contig;
struct cma;
struct reserved_mem;
struct bb_heap;
struct bb_recycled;

/**
 * struct bb_region - one CMA region and everything that allocates from it
 * @list:	entry in the module's region list
 * @kobj:	/sys/kernel/bufbroker/regions/<name>; owns the structure
 * @name:	primary name (DT node name, or default_cma_region)
 * @aliases:	names from the bufbroker,heap-aliases property
 * @n_aliases:	number of entries in @aliases
 * @heaps:	the heap nodes created for this region, primary first
 * @is_default:	this is the default CMA area
 * @uncached:	buffers are mapped write-combined for the CPU and need no cache
 *		maintenance (bufbroker,uncached)
 * @bounds_known: @base and @size describe the region exactly
 * @base:	physical base address (when @bounds_known)
 * @size:	size in bytes (0 if unknown)
 * @dev:	private device used as the allocation context
 * @rmem:	the reserved-memory entry, NULL for a default area not from DT
 * @cma:	the CMA area when the kernel exports cma_alloc
 * @contig:	own page bookkeeping when allocating with alloc_contig_range()
 * @stat_lock:	protects the counters below
 * @bytes:	bytes in live buffers
 * @buffers:	live buffers
 * @peak:	highest @bytes since load
 * @failures:	failed allocations (not counting bad arguments)
 * @flushed_bytes: bytes written back from and dropped out of the CPU caches
 *		for the region's CPU mappings (uncached regions)
 * @recycle_lock: protects @recycled, @recycled_bytes, @recycled_clean_bytes,
 *		@recycle_hits, @recycle_precleared, @recycle_ms, @clearing,
 *		@clearing_dropped, @clear_seq and @draining
 * @recycled:	freed ranges kept for reuse (bufbroker_recycle.c)
 * @recycled_bytes: bytes kept, in @recycled and @clearing (unless dropped)
 * @recycled_clean_bytes: bytes in @recycled already cleared for reuse
 * @recycle_hits: allocations served from @recycled since load
 * @recycle_precleared: those of @recycle_hits that found the range cleared
 * @recycle_ms:	how long a freed range is kept; 0 = recycling off
 * @recycle_work: gives expired ranges back to the region
 * @clear_work:	clears kept ranges in the background
 * @clearing:	the kept range @clear_work is clearing (off @recycled), or NULL
 * @clearing_dropped: @clearing is no longer kept (and not in @recycled_bytes):
 *		it goes back to the region when cleared
 * @clear_seq:	incremented each time @clear_work is done with a range
 * @clear_wait:	woken when @clear_seq changes
 * @draining:	callers of bb_recycle_drain() at work; @clear_work stops early
 * @held_lock:	protects @held and @held_bytes
 * @held:	freed ranges with a page still held elsewhere (bufbroker_held.c)
 * @held_bytes: bytes in @held, and being given back from it
 * @held_work:	gives @held ranges back once they are ours alone
 */
struct bb_region {
	struct list_head list;
	struct kobject kobj;
	const char *name;
	char **aliases;
	unsigned int n_aliases;
	struct list_head heaps;
	bool is_default;
	bool uncached;
	bool bounds_known;
	phys_addr_t base;
	phys_addr_t size;
	struct device *dev;
	struct reserved_mem *rmem;
	struct cma *cma;
	struct bb_contig *contig;
	spinlock_t stat_lock;	/* protects the five counters below */
	u64 bytes;
	u64 buffers;
	u64 peak;
	u64 failures;
	u64 flushed_bytes;
	spinlock_t recycle_lock;	/* protects the recycle fields below */
	struct list_head recycled;
	u64 recycled_bytes;
	u64 recycled_clean_bytes;
	u64 recycle_hits;
	u64 recycle_precleared;
	unsigned int recycle_ms;
	struct delayed_work recycle_work;
	struct work_struct clear_work;
	struct bb_recycled *clearing;
	bool clearing_dropped;
	unsigned long clear_seq;
	wait_queue_head_t clear_wait;
	unsigned int draining;
	spinlock_t held_lock;	/* protects held, held_bytes */
	struct list_head held;
	u64 held_bytes;
	struct delayed_work held_work;
};

/**
 * struct bb_chunk - one contiguous allocation
 * @page:	first page
 * @size:	bytes actually taken from the region (page multiple)
 * @dma:	handle from dma_alloc_pages(), when that was used
 */
struct bb_chunk {
	struct page *page;
	size_t size;
	dma_addr_t dma;
};

/**
 * struct bb_heap - one heap name (one /dev/dma_heap node)
 * @list:	entry in the region's heap list
 * @region:	the region this name allocates from
 * @name:	the node name
 * @devt:	device number (own class only)
 * @cdev:	character device (own class only)
 * @dev:	the class device (own class only)
 * @kheap:	the kernel's heap when registered through dma_heap_add
 */
struct bb_heap {
	struct list_head list;
	struct bb_region *region;
	const char *name;
	dev_t devt;
	struct cdev cdev;
	struct device *dev;
	void *kheap;
};

/* bufbroker_region.c */
struct bb_region *bb_region_create(const char *name, struct reserved_mem *rmem, bool is_default);
void bb_region_destroy(struct bb_region *r);
void bb_region_release(struct bb_region *r);
bool bb_region_contains(const struct bb_region *r, struct page *page, size_t len);
int bb_region_alloc(struct bb_region *r, size_t len, struct bb_chunk *c);
void bb_region_free(struct bb_region *r, struct bb_chunk *c, size_t len);
bool bb_region_has_name(const struct bb_region *r, const char *name);

/* bufbroker_buffer.c */
struct dma_buf *bb_buffer_allocate(struct bb_region *r, const char *name, size_t len,
				   u32 fd_flags);

/* bufbroker_chardev.c */
int bb_chardev_init(void);
void bb_chardev_exit(void);
int bb_heap_add(struct bb_region *r, const char *name);
void bb_heaps_remove(struct bb_region *r);

/* bufbroker_contig.c (kernels without an exported cma_alloc) */
int bb_contig_init(struct bb_region *r);
void bb_contig_fini(struct bb_region *r);
int bb_contig_alloc(struct bb_region *r, size_t len, struct bb_chunk *c);
void bb_contig_free(struct bb_region *r, struct bb_chunk *c);

/* bufbroker_clear.c */
bool bb_cma_pages_zeroed(void);
void bb_clear_pages(struct page *page, unsigned long count);
int bb_flush_for_uncached(struct bb_region *r, const struct bb_chunk *c);
int bb_clear_for_reuse(struct bb_region *r, const struct bb_chunk *c);
void *bb_vmap_range(struct page *page, unsigned long count, bool uncached);

/* bufbroker_recycle.c */
void bb_recycle_init(struct bb_region *r);
void bb_recycle_fini(struct bb_region *r);
int bb_recycle_set_ms(struct bb_region *r, unsigned int ms);
unsigned int bb_recycle_drain(struct bb_region *r);
bool bb_recycle_take(struct bb_region *r, size_t len, struct bb_chunk *c);
bool bb_recycle_put(struct bb_region *r, struct bb_chunk *c, size_t len);

/* bufbroker_held.c */
void bb_held_init(struct bb_region *r);
void bb_held_fini(struct bb_region *r);
bool bb_held_put(struct bb_region *r, struct bb_chunk *c);

/* bufbroker_sysfs.c */
int bb_sysfs_init(void);
void bb_sysfs_exit(void);
int bb_sysfs_add_region(struct bb_region *r);

#endif /* BUFBROKER_H */
