// SPDX-License-Identifier: GPL-2.0
/*
 * bufbroker_heap: one CMA region, its allocation context and its counters.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/minmax.h>
#include <linux/of_reserved_mem.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "bufbroker.h"
#include "bufbroker_compat.h"

static void bb_region_dev_release(struct device *dev)
{
	kfree(dev);
}

static int bb_region_dev_create(struct bb_region *r)
{
	struct device *dev;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	/* Never registered: it only carries the DMA context of the region. */
	device_initialize(dev);
	dev->release = bb_region_dev_release;
	r->dev = dev;
	ret = dev_set_name(dev, "bufbroker:%s", r->name);
	if (ret)
		return ret;
	dev->dma_mask = &dev->coherent_dma_mask;
	return dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
}

/**
 * bb_region_create() - set up a region and its memory source
 * @name: primary name
 * @rmem: reserved-memory entry, or NULL for a default area not from DT
 * @is_default: the region is the default CMA area
 *
 * Return: the region, ERR_PTR(-ENODEV) if there is no CMA memory behind
 * it, or another ERR_PTR.
 */
struct bb_region *bb_region_create(const char *name, struct reserved_mem *rmem, bool is_default)
{
	struct bb_region *r;
	int ret;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&r->list);
	INIT_LIST_HEAD(&r->heaps);
	spin_lock_init(&r->stat_lock);
	bb_recycle_init(r);
	bb_held_init(r);
	r->rmem = rmem;
	r->is_default = is_default;
	r->name = kstrdup(name, GFP_KERNEL);
	if (!r->name) {
		ret = -ENOMEM;
		goto free_region;
	}
	ret = bb_region_dev_create(r);
	if (ret)
		goto put_dev;

	if (rmem) {
		r->base = rmem->base;
		r->size = rmem->size;
		r->bounds_known = true;
	} else {
		bb_default_area_bounds(r);
	}

	ret = bb_mem_init(r);
	if (ret)
		goto put_dev;
	return r;

put_dev:
	if (r->dev)
		put_device(r->dev);
	kfree(r->name);
free_region:
	kfree(r);
	return ERR_PTR(ret);
}

/**
 * bb_region_release() - free a region once nothing refers to it
 * @r: the region, with no heaps left
 *
 * Called from the region kobject's release, or directly before the
 * kobject was initialised.
 */
void bb_region_release(struct bb_region *r)
{
	unsigned int i;

	bb_recycle_fini(r);
	bb_held_fini(r);
	bb_mem_fini(r);
	put_device(r->dev);
	for (i = 0; i < r->n_aliases; i++)
		kfree(r->aliases[i]);
	kfree(r->aliases);
	kfree(r->name);
	kfree(r);
}

/**
 * bb_region_destroy() - remove a region's heaps and sysfs entry and free it
 * @r: the region; no buffer of it may be alive
 */
void bb_region_destroy(struct bb_region *r)
{
	struct bb_heap *heap;

	/* The kernel keeps heaps given to dma_heap_add() (module is pinned). */
	list_for_each_entry(heap, &r->heaps, list) {
		if (heap->kheap) {
			dev_warn(r->dev, "heap %s is registered with the kernel, kept\n",
				 heap->name);
			return;
		}
	}

	if (r->kobj.state_in_sysfs)
		kobject_del(&r->kobj);
	bb_heaps_remove(r);
	if (r->kobj.state_initialized)
		kobject_put(&r->kobj);
	else
		bb_region_release(r);
}

/**
 * bb_region_contains() - do pages lie inside the region?
 * @r: a region with known bounds
 * @page: first page
 * @len: length in bytes
 *
 * Return: true if [page, page + len) is inside [base, base + size).
 */
bool bb_region_contains(const struct bb_region *r, struct page *page, size_t len)
{
	phys_addr_t phys = page_to_phys(page);

	return phys >= r->base && len <= r->size && phys - r->base <= r->size - len;
}

/**
 * bb_region_has_name() - is a heap name already used by this region?
 * @r: the region
 * @name: heap name
 *
 * Return: true if one of the region's heaps has that name.
 */
bool bb_region_has_name(const struct bb_region *r, const char *name)
{
	struct bb_heap *heap;

	list_for_each_entry(heap, &r->heaps, list)
		if (!strcmp(heap->name, name))
			return true;
	return false;
}

/**
 * bb_region_alloc() - allocate from a region and account for it
 * @r: the region
 * @len: page-aligned, non-zero length
 * @c: filled with the allocation: zeroed, and for an uncached region with no
 *     line of it left in the CPU caches
 *
 * Return: 0 or -ENOMEM; failures are counted.
 */
int bb_region_alloc(struct bb_region *r, size_t len, struct bb_chunk *c)
{
	int ret;

	if (r->size && len > r->size) {
		ret = -ENOMEM;
	} else if (bb_recycle_take(r, len, c)) {
		ret = 0;
	} else {
		ret = bb_mem_alloc(r, len, c);
		/* Ranges we keep must never make our own allocation fail. */
		if (ret == -ENOMEM && bb_recycle_drain(r))
			ret = bb_mem_alloc(r, len, c);
		if (!ret && r->uncached) {
			ret = bb_flush_for_uncached(r, c);
			if (ret)
				bb_mem_free(r, c);
		}
	}

	spin_lock(&r->stat_lock);
	if (ret) {
		r->failures++;
	} else {
		r->bytes += len;
		r->buffers++;
		r->peak = max(r->peak, r->bytes);
	}
	spin_unlock(&r->stat_lock);

	if (ret)
		dev_notice_ratelimited(r->dev, "cannot allocate %zu bytes\n", len);
	return ret;
}

/**
 * bb_region_free() - give an allocation back and account for it
 * @r: the region
 * @c: the allocation
 * @len: the length passed to bb_region_alloc()
 */
void bb_region_free(struct bb_region *r, struct bb_chunk *c, size_t len)
{
	if (!bb_held_put(r, c) && !bb_recycle_put(r, c, len))
		bb_mem_free(r, c);

	spin_lock(&r->stat_lock);
	r->bytes -= len;
	r->buffers--;
	spin_unlock(&r->stat_lock);
}
