// SPDX-License-Identifier: GPL-2.0
/*
 * bufbroker_heap: version-dependent memory source and heap registration.
 *
 * Two memory sources exist:
 *  - 7.1 and later export cma_alloc()/cma_release(): allocate from the
 *    region's struct cma directly and zero the pages here.
 *  - Older kernels (Debian 6.1, 6.12) export neither cma_alloc() nor the
 *    bounds of the default area. There dma_alloc_pages() on a private,
 *    never registered device whose cma_area is the region does the work,
 *    and we check that the pages really came from the region.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cma.h>
#include <linux/ctype.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/of.h>
#include <linux/of_reserved_mem.h>
#include <linux/sizes.h>
#include <linux/string.h>

#include "bufbroker.h"
#include "bufbroker_compat.h"

#include <linux/namei.h>
#include <linux/slab.h>
#if BB_HAVE_DMA_HEAP_API
#include <linux/dma-heap.h>
#endif

/*
 * Size of the default area when it does not come from the device tree:
 * the last "cma=" of the command line (which arm64 firmware and the EFI
 * stub pass in /chosen/bootargs), else the Kconfig default. The base is
 * chosen by memblock at boot and cannot be learned from a module here.
 */
static phys_addr_t bb_cmdline_cma_size(bool *found)
{
	struct device_node *chosen;
	const char *args, *p, *last = NULL;
	phys_addr_t size = 0;

	*found = false;
	chosen = of_find_node_by_path("/chosen");
	if (!chosen)
		return 0;
	if (!of_property_read_string(chosen, "bootargs", &args)) {
		for (p = strstr(args, "cma="); p; p = strstr(p + 4, "cma=")) {
			if (p == args || isspace(p[-1]))
				last = p + 4;
		}
		if (last) {
			size = memparse(last, NULL);
			*found = true;
		}
	}
	of_node_put(chosen);
	return size;
}

/**
 * bb_default_area_bounds() - fill in what is known of a non-DT default area
 * @r: the default_cma_region region
 *
 * Sets @r->size from the command line or Kconfig; the bounds stay unknown.
 */
void bb_default_area_bounds(struct bb_region *r)
{
	bool found;
	phys_addr_t size = bb_cmdline_cma_size(&found);

#ifdef CONFIG_CMA_SIZE_SEL_MBYTES
	if (!found)
		size = (phys_addr_t)CONFIG_CMA_SIZE_MBYTES * SZ_1M;
#endif
	r->size = size;
	r->base = 0;
	r->bounds_known = false;
}

#if BB_HAVE_CMA_ALLOC

/**
 * bb_mem_init() - bind a region to its struct cma
 * @r: the region
 *
 * Return: 0, or -ENODEV if the region has no CMA area behind it.
 */
int bb_mem_init(struct bb_region *r)
{
	if (r->rmem) {
		/* ops is NULL when the node was bypassed (cma= given) */
		if (!r->rmem->ops || !r->rmem->priv)
			return -ENODEV;
		r->cma = r->rmem->priv;
	} else {
		r->cma = dev_get_cma_area(NULL);
		if (!r->cma)
			return -ENODEV;
	}
	dev_dbg(r->dev, "using CMA area %s\n", cma_get_name(r->cma));
	return 0;
}

/**
 * bb_mem_fini() - undo bb_mem_init()
 * @r: the region
 */
void bb_mem_fini(struct bb_region *r)
{
	r->cma = NULL;
}

/**
 * bb_mem_alloc() - take zeroed, contiguous pages from a region
 * @r: the region
 * @len: page-aligned length
 * @c: filled with the allocation
 *
 * Return: 0, or -ENOMEM if the region cannot satisfy the request.
 */
int bb_mem_alloc(struct bb_region *r, size_t len, struct bb_chunk *c)
{
	unsigned long count = len >> PAGE_SHIFT;
	unsigned int align = min_t(unsigned int, get_order(len), CONFIG_CMA_ALIGNMENT);
	struct page *page;

	page = cma_alloc(r->cma, count, align, true);
	if (!page)
		return -ENOMEM;
	/* Zeroed exactly once: by the page allocator or here. */
	if (!bb_cma_pages_zeroed())
		bb_clear_pages(page, count);
	c->page = page;
	c->size = len;
	c->dma = 0;
	return 0;
}

/**
 * bb_mem_free() - return pages taken by bb_mem_alloc()
 * @r: the region
 * @c: the allocation
 */
void bb_mem_free(struct bb_region *r, struct bb_chunk *c)
{
	cma_release(r->cma, c->page, c->size >> PAGE_SHIFT);
}

#else /* !BB_HAVE_CMA_ALLOC */

/*
 * Did these pages come from CMA rather than from the buddy allocator?
 *
 * When the region is full, dma_alloc_pages() silently falls back to
 * alloc_pages() for requests up to MAX_ORDER pages. For a region with
 * known bounds the physical range answers the question. For the default
 * area without DT bounds (cma= or Kconfig) 6.1 exports no way to learn
 * them (dma_contiguous_default_area and cma_get_base() are not exported),
 * so the page reference counts decide: alloc_contig_range(), used by
 * cma_alloc(), hands out every page with a reference count of 1, while a
 * non-compound high-order buddy allocation leaves the tail pages at 0.
 * Callers make such requests at least two pages long so that a tail page
 * exists.
 */
static bool bb_mem_from_region(struct bb_region *r, struct page *page, size_t size)
{
	if (r->bounds_known)
		return bb_region_contains(r, page, size);
	return page_count(page + (size >> PAGE_SHIFT) - 1) == 1;
}

#define BB_DMA_ATTRS	(DMA_ATTR_NO_KERNEL_MAPPING | DMA_ATTR_NO_WARN)

static size_t bb_mem_alloc_size(struct bb_region *r, size_t len)
{
	/* Without cma_area, dma-direct only uses the default area above a page. */
	if (!r->rmem && len < 2 * PAGE_SIZE)
		return 2 * PAGE_SIZE;
	return len;
}

/**
 * bb_mem_alloc() - take zeroed, contiguous pages from a region
 * @r: the region
 * @len: page-aligned length
 * @c: filled with the allocation (its size may exceed @len)
 *
 * Return: 0, or -ENOMEM if the region cannot satisfy the request.
 */
int bb_mem_alloc(struct bb_region *r, size_t len, struct bb_chunk *c)
{
	size_t size = bb_mem_alloc_size(r, len);
	struct page *page;
	dma_addr_t dma;

	/* Regions we manage ourselves: zeroed once (bufbroker_contig.c). */
	if (r->contig)
		return bb_contig_alloc(r, len, c);

	/*
	 * Zeroed exactly once: dma_alloc_pages() would memset pages that CMA
	 * already cleared (init_on_alloc, on in Debian). Without a kernel
	 * mapping, dma-direct hands back the CMA pages as they are (its
	 * cookie is the struct page) after cleaning their cache lines, and we
	 * clear them only when the page allocator did not.
	 */
	page = dma_alloc_attrs(r->dev, size, &dma, GFP_KERNEL | __GFP_NOWARN,
			       BB_DMA_ATTRS);
	if (!page)
		return -ENOMEM;
	if (!bb_mem_from_region(r, page, size)) {
		dma_free_attrs(r->dev, size, page, dma, BB_DMA_ATTRS);
		return -ENOMEM;
	}
	if (!bb_cma_pages_zeroed())
		bb_clear_pages(page, size >> PAGE_SHIFT);
	c->page = page;
	c->size = size;
	c->dma = dma;
	return 0;
}

/**
 * bb_mem_free() - return pages taken by bb_mem_alloc()
 * @r: the region
 * @c: the allocation
 */
void bb_mem_free(struct bb_region *r, struct bb_chunk *c)
{
	if (r->contig)
		bb_contig_free(r, c);
	else
		dma_free_attrs(r->dev, c->size, c->page, c->dma, BB_DMA_ATTRS);
}

/**
 * bb_mem_init() - bind the region's private device to its CMA area
 * @r: the region
 *
 * A DT region is attached through its reserved_mem ops, exactly as
 * of_reserved_mem_device_init_by_idx() would do for a consumer node
 * (the region node itself has no memory-region phandle to follow).
 * The default area needs no binding; a probe allocation tells whether
 * the kernel has one at all.
 *
 * Return: 0, or -ENODEV if the region has no CMA area behind it.
 */
int bb_mem_init(struct bb_region *r)
{
	struct bb_chunk probe;
	int ret;

	if (r->rmem) {
		/* ops is NULL when the node was bypassed (cma= given) */
		if (!r->rmem->ops || !r->rmem->ops->device_init)
			return -ENODEV;
		ret = r->rmem->ops->device_init(r->rmem, r->dev);
		if (ret)
			return ret;
		/* Per-device regions: alloc_contig_range() instead, if it fits. */
		ret = bb_contig_init(r);
		return ret == -EOPNOTSUPP ? 0 : ret;
	}
	if (!bb_mem_alloc(r, PAGE_SIZE, &probe)) {
		bb_mem_free(r, &probe);
		return 0;
	}
	if (!r->size)
		return -ENODEV;
	dev_warn(r->dev, "default CMA area did not answer a probe allocation\n");
	return 0;
}

/**
 * bb_mem_fini() - undo bb_mem_init()
 * @r: the region
 */
void bb_mem_fini(struct bb_region *r)
{
	bb_contig_fini(r);
	if (r->rmem && r->rmem->ops && r->rmem->ops->device_release)
		r->rmem->ops->device_release(r->rmem, r->dev);
}

#endif /* BB_HAVE_CMA_ALLOC */

/**
 * bb_kernel_heap_exists() - does the kernel's own dma-heap framework have @name?
 * @name: heap name
 *
 * The framework exports no lookup by name, but its class devices are in
 * sysfs. dma_heap_add() also creates the class device before it checks the
 * name, so a duplicate would first trip sysfs' duplicate-name warning:
 * asking first avoids that too.
 *
 * Return: true if /sys/class/dma_heap/@name exists and belongs to the kernel.
 */
bool bb_kernel_heap_exists(const char *name)
{
	struct path path;
	bool found;
	char *p;

	if (!IS_ENABLED(CONFIG_DMABUF_HEAPS))
		return false;
	p = kasprintf(GFP_KERNEL, "/sys/class/dma_heap/%s", name);
	if (!p)
		return false;
	found = !kern_path(p, LOOKUP_FOLLOW, &path);
	if (found)
		path_put(&path);
	kfree(p);
	return found;
}

#if BB_HAVE_DMA_HEAP_API

static struct dma_buf *bb_kheap_allocate(struct dma_heap *kheap, unsigned long len,
					 u32 fd_flags, u64 heap_flags)
{
	struct bb_heap *heap = dma_heap_get_drvdata(kheap);

	return bb_buffer_allocate(heap->region, heap->name, len, fd_flags);
}

static const struct dma_heap_ops bb_kheap_ops = {
	.allocate = bb_kheap_allocate,
};

/**
 * bb_kheap_add() - register a heap name with the kernel's dma-heap framework
 * @heap: the heap
 *
 * Kernel heaps cannot be removed, so a successful registration pins the
 * module for the rest of the boot.
 *
 * Return: 0, -EEXIST if the kernel already has a heap of that name, or
 * another negative errno.
 */
int bb_kheap_add(struct bb_heap *heap)
{
	struct dma_heap_export_info info = {
		.name = heap->name,
		.ops = &bb_kheap_ops,
		.priv = heap,
	};
	struct dma_heap *kheap;

	if (bb_kernel_heap_exists(heap->name))
		return -EEXIST;
	kheap = dma_heap_add(&info);
	if (IS_ERR(kheap))
		return PTR_ERR(kheap) == -EINVAL ? -EEXIST : PTR_ERR(kheap);
	heap->kheap = kheap;
	__module_get(THIS_MODULE);
	return 0;
}

BB_IMPORT_NS(DMA_BUF_HEAP);

#endif /* BB_HAVE_DMA_HEAP_API */
