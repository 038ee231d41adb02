// SPDX-License-Identifier: GPL-2.0
/*
 * bufbroker_heap: opt-in reuse of freed buffers within a region.
 *
 * A fresh contiguous range costs alloc_contig_range(): page isolation, an
 * expedited RCU grace period (lru_cache_disable()), migration of whatever
 * movable pages sit in the range, and per-page bookkeeping. Camera and
 * codec pipelines free and allocate the same buffer sizes over and over
 * (stream restarts, resolution switches back and forth), so a freed range
 * can be kept for a short while and handed to the next request of exactly
 * the same size. It is cleared again before reuse, like a fresh one: the
 * next owner may be another process.
 *
 * Kept ranges are taken from every other user of the region, including
 * drivers that share it through dma_alloc_coherent(), which cannot ask us
 * for them back. Hence: off unless asked for (recycle_ms, per region in
 * sysfs), at most half of the region kept (the oldest range makes room for
 * the newest), every range given back after
 * recycle_ms, and all of them given back as soon as one of our own
 * allocations finds the region full.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "bufbroker.h"
#include "bufbroker_compat.h"

#define BB_RECYCLE_MAX_CHUNKS	16

static unsigned int recycle_ms;

static int bb_recycle_ms_param_set(const char *val, const struct kernel_param *kp)
{
	unsigned int ms;
	int ret;

	ret = kstrtouint(val, 0, &ms);
	if (ret)
		return ret;
	if (ms > BB_RECYCLE_MAX_MS)
		return -ERANGE;
	*(unsigned int *)kp->arg = ms;
	return 0;
}

static const struct kernel_param_ops bb_recycle_ms_param_ops = {
	.set = bb_recycle_ms_param_set,
	.get = param_get_uint,
};

module_param_cb(recycle_ms, &bb_recycle_ms_param_ops, &recycle_ms, 0444);
MODULE_PARM_DESC(recycle_ms,
		 "Keep freed buffers this long for reuse by a request of the same size (0 = off; a region's bufbroker,recycle-ms in the DT and its recycle_ms in sysfs override it)");

/**
 * struct bb_recycled - a freed range waiting for reuse
 * @list:	entry in the region's recycled list, in the order freed
 * @chunk:	the range, as bb_mem_alloc() returned it
 * @len:	the buffer length it was allocated for
 * @expires:	jiffies after which it goes back to the region
 */
struct bb_recycled {
	struct list_head list;
	struct bb_chunk chunk;
	size_t len;
	unsigned long expires;
};

static void bb_recycled_free(struct bb_region *r, struct list_head *list)
{
	struct bb_recycled *e, *tmp;

	list_for_each_entry_safe(e, tmp, list, list) {
		list_del(&e->list);
		bb_mem_free(r, &e->chunk);
		kfree(e);
	}
}

/* Move the expired entries (all when @all) from the region to @out; returns how many. */
static unsigned int bb_recycle_detach(struct bb_region *r, bool all, struct list_head *out)
{
	struct bb_recycled *e, *tmp;
	unsigned int n = 0;

	spin_lock(&r->recycle_lock);
	list_for_each_entry_safe(e, tmp, &r->recycled, list) {
		if (!all && time_before(jiffies, e->expires))
			continue;
		list_move_tail(&e->list, out);
		r->recycled_bytes -= e->len;
		n++;
	}
	spin_unlock(&r->recycle_lock);
	return n;
}

/* When the next kept range expires; the caller holds recycle_lock. */
static bool bb_recycle_next_expiry(struct bb_region *r, unsigned long *next)
{
	struct bb_recycled *e;
	bool any = false;

	list_for_each_entry(e, &r->recycled, list) {
		if (!any || time_before(e->expires, *next))
			*next = e->expires;
		any = true;
	}
	return any;
}

/* Run the expiry work when the earliest kept range expires (or now). */
static void bb_recycle_rearm(struct bb_region *r)
{
	unsigned long next = 0;
	bool any;

	spin_lock(&r->recycle_lock);
	any = bb_recycle_next_expiry(r, &next);
	spin_unlock(&r->recycle_lock);
	if (any)
		mod_delayed_work(system_wq, &r->recycle_work,
				 time_after(next, jiffies) ? next - jiffies : 0);
}

static void bb_recycle_expire(struct work_struct *work)
{
	struct bb_region *r = container_of(to_delayed_work(work), struct bb_region,
					   recycle_work);
	LIST_HEAD(expired);

	bb_recycle_detach(r, false, &expired);
	bb_recycled_free(r, &expired);
	bb_recycle_rearm(r);
}

/**
 * bb_recycle_init() - set up a region's recycled list
 * @r: the region
 */
void bb_recycle_init(struct bb_region *r)
{
	spin_lock_init(&r->recycle_lock);
	INIT_LIST_HEAD(&r->recycled);
	INIT_DELAYED_WORK(&r->recycle_work, bb_recycle_expire);
	r->recycle_ms = recycle_ms;
}

/**
 * bb_recycle_drain() - give every kept range back to the region
 * @r: the region
 *
 * Return: the number of ranges given back.
 */
unsigned int bb_recycle_drain(struct bb_region *r)
{
	unsigned int n;
	LIST_HEAD(all);

	n = bb_recycle_detach(r, true, &all);
	bb_recycled_free(r, &all);
	return n;
}

/**
 * bb_recycle_fini() - stop recycling and give everything back
 * @r: the region; no buffer of it may be alive
 */
void bb_recycle_fini(struct bb_region *r)
{
	spin_lock(&r->recycle_lock);
	r->recycle_ms = 0;
	spin_unlock(&r->recycle_lock);
	cancel_delayed_work_sync(&r->recycle_work);
	bb_recycle_drain(r);
}

/**
 * bb_recycle_set_ms() - change how long a region keeps freed ranges
 * @r: the region
 * @ms: 0 turns recycling off and gives back what is kept
 *
 * Return: 0, or -ERANGE above 60 s.
 */
int bb_recycle_set_ms(struct bb_region *r, unsigned int ms)
{
	if (ms > BB_RECYCLE_MAX_MS)
		return -ERANGE;
	spin_lock(&r->recycle_lock);
	r->recycle_ms = ms;
	spin_unlock(&r->recycle_lock);
	if (!ms)
		bb_recycle_drain(r);
	return 0;
}

/**
 * bb_recycle_take() - reuse a kept range of exactly @len bytes
 * @r: the region
 * @len: page-aligned buffer length
 * @c: filled with the range, cleared (and for an uncached region, out of the
 *     CPU caches)
 *
 * Return: true if @c was filled.
 */
bool bb_recycle_take(struct bb_region *r, size_t len, struct bb_chunk *c)
{
	struct bb_recycled *e, *found = NULL;

	spin_lock(&r->recycle_lock);
	list_for_each_entry(e, &r->recycled, list) {
		if (e->len == len) {
			found = e;
			list_del(&e->list);
			r->recycled_bytes -= len;
			r->recycle_hits++;
			break;
		}
	}
	spin_unlock(&r->recycle_lock);
	if (!found)
		return false;
	*c = found->chunk;
	kfree(found);
	/* The range may have belonged to another process: clear all of it. */
	if (bb_clear_for_reuse(r, c)) {
		bb_mem_free(r, c);
		return false;
	}
	return true;
}

/**
 * bb_recycle_put() - keep a freed range for reuse, if the region wants it
 * @r: the region
 * @c: the range
 * @len: the buffer length it was allocated for
 *
 * Return: true if the range is kept (the caller must not free it).
 */
bool bb_recycle_put(struct bb_region *r, struct bb_chunk *c, size_t len)
{
	struct bb_recycled *e, *it, *tmp;
	unsigned int n = 0;
	bool kept = false;
	unsigned long hold;
	LIST_HEAD(evicted);

	if (!READ_ONCE(r->recycle_ms) || !r->size || len > r->size / 2)
		return false;
	e = kmalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return false;
	e->chunk = *c;
	e->len = len;

	spin_lock(&r->recycle_lock);
	hold = msecs_to_jiffies(r->recycle_ms);
	if (hold) {
		list_for_each_entry(it, &r->recycled, list)
			n++;
		/* The latest free is the likeliest to be asked for again: make room. */
		list_for_each_entry_safe(it, tmp, &r->recycled, list) {
			if (n < BB_RECYCLE_MAX_CHUNKS && r->recycled_bytes + len <= r->size / 2)
				break;
			list_move_tail(&it->list, &evicted);
			r->recycled_bytes -= it->len;
			n--;
		}
		e->expires = jiffies + hold;
		list_add_tail(&e->list, &r->recycled);
		r->recycled_bytes += len;
		kept = true;
	}
	spin_unlock(&r->recycle_lock);
	bb_recycled_free(r, &evicted);
	if (!kept) {
		kfree(e);
		return false;
	}
	/* recycle_ms may have been lowered: the new range can expire first. */
	bb_recycle_rearm(r);
	return true;
}
