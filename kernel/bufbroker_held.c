// SPDX-License-Identifier: GPL-2.0
/*
 * bufbroker_heap: freed ranges that someone else still holds a page of.
 *
 * A buffer's CPU mapping is made of its pages (vm_insert_page()), so a
 * process that holds the buffer can take a reference to one of them, for
 * example by vmsplice() into a pipe, and keep it past the buffer's free. Such
 * a range must not go to the next buffer, kept for reuse or allocated anew:
 * the pipe still reads that memory, so it would read the next owner's data.
 * Nor can it go back to CMA, whose free warns about pages still in use. It is
 * held back instead and given back once every page is ours alone again,
 * checked once a second. Each held range pins the module.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "bufbroker.h"
#include "bufbroker_compat.h"

/**
 * struct bb_held - a freed range with a page held elsewhere
 * @list:	entry in the region's held list
 * @chunk:	the range, as bb_mem_alloc() returned it
 */
struct bb_held {
	struct list_head list;
	struct bb_chunk chunk;
};

/* Does anyone but us hold a page of @c? */
static bool bb_range_shared(const struct bb_chunk *c)
{
	unsigned long i, count = c->size >> PAGE_SHIFT;

	for (i = 0; i < count; i++)
		if (page_count(c->page + i) > 1)
			return true;
	return false;
}

static void bb_held_work(struct work_struct *work)
{
	struct bb_region *r = container_of(to_delayed_work(work), struct bb_region,
					   held_work);
	struct bb_held *h, *tmp;
	unsigned int released = 0;
	u64 freed = 0;
	LIST_HEAD(done);

	spin_lock(&r->held_lock);
	list_for_each_entry_safe(h, tmp, &r->held, list) {
		if (!bb_range_shared(&h->chunk))
			list_move(&h->list, &done);
	}
	if (!list_empty(&r->held))
		schedule_delayed_work(&r->held_work, HZ);
	spin_unlock(&r->held_lock);

	list_for_each_entry_safe(h, tmp, &done, list) {
		dev_dbg(r->dev, "a held range of %zu KiB is ours alone again, given back\n",
			h->chunk.size >> 10);
		bb_mem_free(r, &h->chunk);
		freed += h->chunk.size;
		kfree(h);
		released++;
	}
	/* Only now: held_bytes back at 0 means the region has the ranges again. */
	if (freed) {
		spin_lock(&r->held_lock);
		r->held_bytes -= freed;
		spin_unlock(&r->held_lock);
	}
	while (released--)
		module_put(THIS_MODULE);
}

/**
 * bb_held_init() - set up a region's held list
 * @r: the region
 */
void bb_held_init(struct bb_region *r)
{
	spin_lock_init(&r->held_lock);
	INIT_LIST_HEAD(&r->held);
	INIT_DELAYED_WORK(&r->held_work, bb_held_work);
}

/**
 * bb_held_fini() - stop the held list's work
 * @r: the region; nothing can be held, since held ranges pin the module
 */
void bb_held_fini(struct bb_region *r)
{
	cancel_delayed_work_sync(&r->held_work);
	WARN_ON(!list_empty(&r->held));
}

/**
 * bb_held_put() - hold a freed range back if someone else holds a page of it
 * @r: the region
 * @c: the freed range
 *
 * Return: false if the range is ours alone; true if it was taken care of
 * (the caller must neither keep nor free it).
 */
bool bb_held_put(struct bb_region *r, struct bb_chunk *c)
{
	struct bb_held *h;

	if (!bb_range_shared(c))
		return false;
	h = kmalloc(sizeof(*h), GFP_KERNEL);
	if (!h || !try_module_get(THIS_MODULE)) {
		/*
		 * Cannot wait for it. Never keep it for reuse; given back, the
		 * held page cannot be allocated again, though the kernel warns.
		 */
		kfree(h);
		bb_mem_free(r, c);
		return true;
	}
	h->chunk = *c;
	dev_info_ratelimited(r->dev,
			     "a freed buffer's page is still held elsewhere (pinned through its mapping); its %zu KiB come back when released\n",
			     c->size >> 10);
	spin_lock(&r->held_lock);
	list_add_tail(&h->list, &r->held);
	r->held_bytes += c->size;
	schedule_delayed_work(&r->held_work, HZ);
	spin_unlock(&r->held_lock);
	return true;
}
