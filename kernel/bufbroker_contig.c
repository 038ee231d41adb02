// SPDX-License-Identifier: GPL-2.0
/*
 * bufbroker_heap: allocation straight from a region's page range, for
 * kernels that export alloc_contig_range() but not cma_alloc() (6.1, 6.12).
 *
 * Why not dma_alloc_pages(): on those kernels it runs cma_alloc(), whose
 * alloc_contig_range() hands every page to post_alloc_hook(); with
 * init_on_alloc (Debian: CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y) that clears the
 * pages, and then dma_direct_alloc_pages() clears the buffer a second time.
 * Here the pages come from alloc_contig_range() directly and are cleared
 * exactly once: by post_alloc_hook() when the kernel does it, else by us.
 *
 * The region keeps its struct cma, whose bitmap does not see the pages we
 * take. That is safe:
 *  - pages we hold are neither free nor movable (no LRU, no movable ops).
 *    A kernel cma_alloc() over them isolates the pageblocks, cannot migrate
 *    our pages, fails test_pages_isolated() with -EBUSY, restores the
 *    pageblocks and retries at its next candidate offset. Our pages are
 *    never touched; the kernel only learns the range was busy.
 *  - likewise kernel allocations are unknown to our bitmap: our
 *    alloc_contig_range() over them returns -EBUSY and we move on.
 *  - we only ever free ranges that we allocated (our bitmap), so neither
 *    side releases the other's pages.
 * mm/cma.c serialises all alloc_contig_range() calls with a global mutex
 * that modules cannot take. Two isolations of the same pageblock at once
 * make one of them fail with -EBUSY; both sides then retry elsewhere, so a
 * race costs a retry, never correctness. Within a region our own
 * allocations are serialised by a per-region mutex.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/mutex.h>
#include <linux/of_reserved_mem.h>
#include <linux/page_ref.h>
#include <linux/pageblock-flags.h>
#include <linux/pfn.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "bufbroker.h"
#include "bufbroker_compat.h"

#ifndef BB_HAVE_CMA_ALLOC
#error "bufbroker_compat.h must say whether cma_alloc() is exported"
#endif

/* 7.1 and later use cma_alloc() (bufbroker_compat.c); nothing to build. */
#if !BB_HAVE_CMA_ALLOC

/**
 * struct bb_contig - our view of a region's pages
 * @alloc_lock:	serialises our allocations in the region (bitmap search
 *		and alloc_contig_range())
 * @bitmap_lock: protects @bitmap
 * @base_pfn:	first page frame of the region
 * @count:	pages in the region
 * @bitmap:	one bit per page, set while we hold the page
 */
struct bb_contig {
	struct mutex alloc_lock;	/* serialises our allocations */
	spinlock_t bitmap_lock;	/* protects bitmap */
	unsigned long base_pfn;
	unsigned long count;
	unsigned long *bitmap;
};

/**
 * bb_contig_init() - use alloc_contig_range() for a region, if suitable
 * @r: the region, with its reserved-memory entry already set up as CMA
 *
 * Only DT regions that are not the default area qualify (their bounds are
 * known from the reserved-memory entry). The default area is shared with
 * every dma_alloc_coherent() user of the system, whose cma_alloc() would
 * probe our buffers one failing isolation at a time, and race with us
 * outside the kernel's cma_mutex; it keeps the dma-direct path.
 *
 * Return: 0 when @r->contig is set up, -EOPNOTSUPP when the region keeps
 * the dma-direct path, -ENOMEM.
 */
int bb_contig_init(struct bb_region *r)
{
	struct bb_contig *ctg;
	unsigned long base_pfn, count;

	if (!r->rmem || !r->bounds_known || r->is_default)
		return -EOPNOTSUPP;
	if (!PAGE_ALIGNED(r->base) || !PAGE_ALIGNED(r->size) || !r->size)
		return -EOPNOTSUPP;
	base_pfn = PHYS_PFN(r->base);
	count = r->size >> PAGE_SHIFT;
	/* alloc_contig_range() works within one zone (as does CMA itself). */
	if (!pfn_valid(base_pfn) || !pfn_valid(base_pfn + count - 1) ||
	    page_zone(pfn_to_page(base_pfn)) != page_zone(pfn_to_page(base_pfn + count - 1)))
		return -EOPNOTSUPP;

	ctg = kzalloc(sizeof(*ctg), GFP_KERNEL);
	if (!ctg)
		return -ENOMEM;
	ctg->bitmap = kvcalloc(BITS_TO_LONGS(count), sizeof(unsigned long), GFP_KERNEL);
	if (!ctg->bitmap) {
		kfree(ctg);
		return -ENOMEM;
	}
	mutex_init(&ctg->alloc_lock);
	spin_lock_init(&ctg->bitmap_lock);
	ctg->base_pfn = base_pfn;
	ctg->count = count;
	r->contig = ctg;
	dev_dbg(r->dev, "allocating with alloc_contig_range(), pages %s zeroed by the kernel\n",
		bb_cma_pages_zeroed() ? "are" : "are not");
	return 0;
}

/**
 * bb_contig_fini() - undo bb_contig_init()
 * @r: the region; none of its buffers may be alive
 */
void bb_contig_fini(struct bb_region *r)
{
	struct bb_contig *ctg = r->contig;

	if (!ctg)
		return;
	WARN_ON(!bitmap_empty(ctg->bitmap, ctg->count));
	mutex_destroy(&ctg->alloc_lock);
	kvfree(ctg->bitmap);
	kfree(ctg);
	r->contig = NULL;
}

/**
 * bb_contig_alloc() - take zeroed, contiguous pages from the region
 * @r: a region set up by bb_contig_init()
 * @len: page-aligned, non-zero length
 * @c: filled with the allocation
 *
 * Like cma_alloc(): the buffer is aligned to its order, capped at
 * CONFIG_CMA_ALIGNMENT, and a busy candidate range (-EBUSY: pages held by
 * someone else, or a concurrent isolation) makes us try the next one.
 *
 * Return: 0, or -ENOMEM when no candidate range could be taken.
 */
int bb_contig_alloc(struct bb_region *r, size_t len, struct bb_chunk *c)
{
	struct bb_contig *ctg = r->contig;
	unsigned long count = len >> PAGE_SHIFT;
	unsigned int order = min_t(unsigned int, get_order(len), CONFIG_CMA_ALIGNMENT);
	unsigned long mask = (1UL << order) - 1;
	unsigned long offset = ctg->base_pfn & mask;
	unsigned long start = 0, bitno, pfn;
	int ret = -ENOMEM;

	if (!count || count > ctg->count)
		return -ENOMEM;

	mutex_lock(&ctg->alloc_lock);
	for (;;) {
		spin_lock(&ctg->bitmap_lock);
		bitno = bitmap_find_next_zero_area_off(ctg->bitmap, ctg->count, start,
						       count, mask, offset);
		if (bitno >= ctg->count) {
			spin_unlock(&ctg->bitmap_lock);
			ret = -ENOMEM;
			break;
		}
		bitmap_set(ctg->bitmap, bitno, count);
		spin_unlock(&ctg->bitmap_lock);

		pfn = ctg->base_pfn + bitno;
		ret = alloc_contig_range(pfn, pfn + count, MIGRATE_CMA,
					 GFP_KERNEL | __GFP_NOWARN);
		if (!ret)
			break;

		spin_lock(&ctg->bitmap_lock);
		bitmap_clear(ctg->bitmap, bitno, count);
		spin_unlock(&ctg->bitmap_lock);
		if (ret != -EBUSY)
			break;
		dev_dbg(r->dev, "pfn %#lx+%lu busy, retrying\n", pfn, count);
		start = bitno + mask + 1;
	}
	mutex_unlock(&ctg->alloc_lock);
	if (ret)
		return -ENOMEM;

	c->page = pfn_to_page(pfn);
	/* Zero exactly once: only when post_alloc_hook() did not. */
	if (!bb_cma_pages_zeroed())
		bb_clear_pages(c->page, count);
	c->size = len;
	c->dma = 0;
	return 0;
}

/*
 * Order of the largest piece bb_free_range() gives back in one call. Below
 * a pageblock, so a piece never spans two of them: 6.1 files a freed piece
 * under its first pageblock's migrate type, and a concurrent cma_alloc() may
 * have isolated the second. Pieces above PAGE_ALLOC_COSTLY_ORDER that are not
 * a whole pageblock go straight to the buddy lists, not to a per-CPU list
 * that the next alloc_contig_range() would have to drain from every CPU;
 * with 4 KiB pages that is every piece of 64 KiB or more.
 */
#define BB_FREE_ORDER	(pageblock_order - 1)

/*
 * Drop our reference on every page of @head's piece but the head, so that
 * __free_pages(@head, order) frees the whole piece. All or nothing: a page
 * that someone else holds too (a speculative reference) is left alone.
 */
static bool bb_freeze_tails(struct page *head, unsigned long nr)
{
	unsigned long i;

	for (i = 1; i < nr; i++) {
		if (!page_ref_freeze(head + i, 1)) {
			while (--i)
				page_ref_unfreeze(head + i, 1);
			return false;
		}
	}
	return true;
}

/*
 * bb_free_range() - free_contig_range() in naturally aligned pieces
 * @pfn: first page frame
 * @count: pages, each with a reference count of one
 *
 * free_contig_range() on 6.1 and 6.12 frees page by page: every page goes
 * through the per-CPU lists, which costs about a microsecond a page under
 * emulation and leaves them for the next allocation's drain. 7.x frees
 * contiguous ranges in pieces too (free_contig_frozen_range()). A piece with a
 * page that someone else still holds falls back to free_contig_range(), which
 * warns about it. With allocation profiling, split_page() gave every page a
 * tag of its own that only a page-by-page free clears.
 */
static void bb_free_range(unsigned long pfn, unsigned long count)
{
	if (IS_ENABLED(CONFIG_MEM_ALLOC_PROFILING)) {
		free_contig_range(pfn, count);
		return;
	}
	while (count) {
		unsigned int order = pfn ? min_t(unsigned int, __ffs(pfn), BB_FREE_ORDER) : 0;
		unsigned long nr;

		order = min_t(unsigned int, order, ilog2(count));
		nr = 1UL << order;
		if (order && bb_freeze_tails(pfn_to_page(pfn), nr))
			__free_pages(pfn_to_page(pfn), order);
		else
			free_contig_range(pfn, nr);
		pfn += nr;
		count -= nr;
	}
}

/**
 * bb_contig_free() - give back pages taken by bb_contig_alloc()
 * @r: the region
 * @c: the allocation
 */
void bb_contig_free(struct bb_region *r, struct bb_chunk *c)
{
	struct bb_contig *ctg = r->contig;
	unsigned long pfn = page_to_pfn(c->page);
	unsigned long count = c->size >> PAGE_SHIFT;

	bb_free_range(pfn, count);
	spin_lock(&ctg->bitmap_lock);
	bitmap_clear(ctg->bitmap, pfn - ctg->base_pfn, count);
	spin_unlock(&ctg->bitmap_lock);
}

#endif /* !BB_HAVE_CMA_ALLOC */
