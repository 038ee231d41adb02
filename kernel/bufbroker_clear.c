// SPDX-License-Identifier: GPL-2.0
/*
 * bufbroker_heap: clearing ranges, readying them for the region's CPU
 * mappings, and mapping them into the kernel.
 *
 * A cached region's range only needs to be zero. An uncached region's range
 * must also hold no CPU cache line of its own: the CPU sees its buffers only
 * write-combined and devices get them without cache maintenance, so a dirty
 * line written through the kernel's cacheable linear map could later be
 * written back over a frame. Fresh pages were cleared through that linear
 * map (init_on_alloc or bb_clear_pages()), so their lines are written back
 * and dropped, as dma_alloc_coherent() does. A reused range of an uncached
 * region has been touched only through write-combined mappings since then,
 * so it is cleared through one as well (from 16 pages up), which leaves the
 * caches out of it and saves two cache-maintenance passes over the range on
 * every reuse.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#ifdef CONFIG_ARM64
#include <asm/cpufeature.h>
#include <asm/sysreg.h>
#endif

#include "bufbroker.h"

/* Pages cleared between two chances to reschedule (2 MiB with 4 KiB pages). */
#define BB_CLEAR_BATCH	512UL
/*
 * Below this many pages, clearing through the linear map and flushing (two
 * passes over at most 1024 cache lines) costs less than setting up and
 * tearing down a write-combined kernel mapping.
 */
#define BB_WC_CLEAR_MIN_PAGES	16UL

/**
 * bb_cma_pages_zeroed() - are pages fresh from CMA already zero?
 *
 * alloc_contig_range(), behind cma_alloc() and dma_alloc_pages() too, takes
 * the free pages of the range off the buddy lists and gives every chunk to
 * post_alloc_hook() (6.1, 6.12 and 7.x alike). post_alloc_hook() clears the
 * pages when want_init_on_alloc() and not want_init_on_free(); with
 * init_on_free the buddy allocator keeps free pages zeroed (its own
 * __GFP_ZERO relies on that). Either way they are zero; otherwise nobody
 * cleared them. Debian's kernels have init_on_alloc on, most board kernels
 * do not. make check boots each kernel both ways (tests/guest/zeroing.sh).
 *
 * Return: true if the caller must not clear them again.
 */
bool bb_cma_pages_zeroed(void)
{
	return want_init_on_free() || want_init_on_alloc(GFP_KERNEL);
}

/**
 * bb_clear_pages() - zero @count pages from @page on, through the linear map
 * @page: first page
 * @count: number of pages
 */
void bb_clear_pages(struct page *page, unsigned long count)
{
	unsigned long i;

	for (i = 0; i < count; i++) {
		clear_highpage(page + i);
		if (!((i + 1) % BB_CLEAR_BATCH))
			cond_resched();
	}
}

/* flushed_bytes: cache maintenance is otherwise invisible from outside. */
static void bb_count_flushed(struct bb_region *r, size_t bytes)
{
	spin_lock(&r->stat_lock);
	r->flushed_bytes += bytes;
	spin_unlock(&r->stat_lock);
}

#ifdef CONFIG_ARM64
/* bufbroker_cache.S */
void bb_dcache_clean_inval_poc(unsigned long start, unsigned long end,
			       unsigned long line_size);

/* CTR_EL0.DminLine: log2 of the smallest data cache line, in words. */
#define BB_CTR_DMINLINE_SHIFT	16

static unsigned long bb_dcache_line_size(void)
{
	u64 ctr = read_sanitised_ftr_reg(SYS_CTR_EL0);

	return 4UL << ((ctr >> BB_CTR_DMINLINE_SHIFT) & 0xf);
}

/**
 * bb_flush_for_uncached() - write back and drop the CPU cache lines of a range
 * @r: the region
 * @c: the range
 *
 * One pass over the range's linear-map alias, as dma_alloc_coherent() makes,
 * in batches so that a large range does not hold the CPU.
 *
 * Return: 0.
 */
int bb_flush_for_uncached(struct bb_region *r, const struct bb_chunk *c)
{
	unsigned long start = (unsigned long)page_address(c->page);
	unsigned long end = start + c->size;
	unsigned long step = BB_CLEAR_BATCH << PAGE_SHIFT;
	unsigned long line_size = bb_dcache_line_size();

	for (; start < end; start += step) {
		bb_dcache_clean_inval_poc(start, min(end, start + step), line_size);
		cond_resched();
	}
	bb_count_flushed(r, c->size);
	return 0;
}
#else
/**
 * bb_flush_for_uncached() - write back and drop the CPU cache lines of a range
 * @r: the region (its device carries the DMA context)
 * @c: the range
 *
 * The DMA API's map (clean) and unmap (invalidate): two passes.
 *
 * Return: 0, or -ENOMEM if the range cannot be mapped for the region's device.
 */
int bb_flush_for_uncached(struct bb_region *r, const struct bb_chunk *c)
{
	dma_addr_t dma = dma_map_page(r->dev, c->page, 0, c->size, DMA_BIDIRECTIONAL);

	if (dma_mapping_error(r->dev, dma))
		return -ENOMEM;
	dma_unmap_page(r->dev, dma, c->size, DMA_BIDIRECTIONAL);
	bb_count_flushed(r, c->size);
	return 0;
}
#endif

/**
 * bb_vmap_range() - map contiguous pages into the kernel, as the region's CPU sees them
 * @page: first page
 * @count: number of pages
 * @uncached: map write-combined (an uncached region), else cacheable
 *
 * Return: the address (vunmap() it), or NULL.
 */
void *bb_vmap_range(struct page *page, unsigned long count, bool uncached)
{
	struct page **pages;
	unsigned long i;
	void *vaddr;

	pages = kvmalloc_array(count, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for (i = 0; i < count; i++)
		pages[i] = page + i;
	vaddr = vmap(pages, count, VM_MAP,
		     uncached ? pgprot_writecombine(PAGE_KERNEL) : PAGE_KERNEL);
	kvfree(pages);
	return vaddr;
}

/* Zero a range through a temporary write-combined kernel mapping. */
static int bb_clear_pages_wc(struct page *page, unsigned long count)
{
	unsigned long i;
	void *vaddr = bb_vmap_range(page, count, true);

	if (!vaddr)
		return -ENOMEM;
	for (i = 0; i < count; i += BB_CLEAR_BATCH) {
		memset(vaddr + (i << PAGE_SHIFT), 0,
		       min(count - i, BB_CLEAR_BATCH) << PAGE_SHIFT);
		cond_resched();
	}
	vunmap(vaddr);
	return 0;
}

/**
 * bb_clear_for_reuse() - clear a kept range for its next owner
 * @r: the region
 * @c: the range
 *
 * Return: 0, or -ENOMEM if an uncached region's range could be neither
 * mapped write-combined nor flushed.
 */
int bb_clear_for_reuse(struct bb_region *r, const struct bb_chunk *c)
{
	unsigned long count = c->size >> PAGE_SHIFT;

	if (!r->uncached) {
		bb_clear_pages(c->page, count);
		return 0;
	}
	if (count >= BB_WC_CLEAR_MIN_PAGES && !bb_clear_pages_wc(c->page, count))
		return 0;
	/* Small, or no room for the mapping: as for fresh pages. */
	bb_clear_pages(c->page, count);
	return bb_flush_for_uncached(r, c);
}
