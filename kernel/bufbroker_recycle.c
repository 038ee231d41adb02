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
 *
 * A kept range is cleared in the background right after it is freed, on an
 * unbound worker, so the request that reuses it pays for a new dma-buf only:
 * the clearing runs while the pipeline does something else, typically on
 * another CPU. A request that comes before the worker got to its range
 * clears it itself, or waits for the worker if it is busy with exactly that
 * range; either way it never gets a range that was not cleared.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
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
 * @clean:	cleared (and for an uncached region, out of the CPU caches)
 *		since it was freed
 */
struct bb_recycled {
	struct list_head list;
	struct bb_chunk chunk;
	size_t len;
	unsigned long expires;
	bool clean;
};

/* Take @e off the region's list; the caller holds recycle_lock. */
static void bb_recycled_unlink(struct bb_region *r, struct bb_recycled *e)
{
	list_del(&e->list);
	r->recycled_bytes -= e->len;
	if (e->clean)
		r->recycled_clean_bytes -= e->len;
}

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
		bb_recycled_unlink(r, e);
		list_add_tail(&e->list, out);
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

/* The most recently freed range not cleared yet; the caller holds recycle_lock. */
static struct bb_recycled *bb_recycle_newest_dirty(struct bb_region *r)
{
	struct bb_recycled *e;

	list_for_each_entry_reverse(e, &r->recycled, list)
		if (!e->clean)
			return e;
	return NULL;
}

/* Put @e back in the order freed; the caller holds recycle_lock. */
static void bb_recycled_insert(struct bb_region *r, struct bb_recycled *e)
{
	struct bb_recycled *it;

	list_for_each_entry(it, &r->recycled, list) {
		if (time_after(it->expires, e->expires)) {
			list_add_tail(&e->list, &it->list);
			return;
		}
	}
	list_add_tail(&e->list, &r->recycled);
}

/*
 * Clear kept ranges, newest first (the likeliest to be asked for again).
 * The range being cleared is off the list, so expiry cannot give it back
 * meanwhile; it returns to the list cleared, unless recycling was turned
 * off or a newer free needed its room (bb_recycle_put()), in which case it
 * goes back to the region.
 */
static void bb_recycle_clear_work(struct work_struct *work)
{
	struct bb_region *r = container_of(work, struct bb_region, clear_work);
	struct bb_recycled *e;
	bool keep;
	int ret;

	for (;;) {
		spin_lock(&r->recycle_lock);
		/* What is about to be given back needs no clearing. */
		e = r->recycle_ms && !r->draining ? bb_recycle_newest_dirty(r) : NULL;
		if (e) {
			list_del(&e->list);
			r->clearing = e;
		}
		spin_unlock(&r->recycle_lock);
		if (!e)
			break;

		ret = bb_clear_for_reuse(r, &e->chunk);

		spin_lock(&r->recycle_lock);
		r->clearing = NULL;
		r->clear_seq++;
		keep = !ret && r->recycle_ms && !r->clearing_dropped;
		if (keep) {
			e->clean = true;
			r->recycled_clean_bytes += e->len;
			bb_recycled_insert(r, e);
		} else if (!r->clearing_dropped) {
			r->recycled_bytes -= e->len;
		}
		r->clearing_dropped = false;
		spin_unlock(&r->recycle_lock);
		wake_up_all(&r->clear_wait);
		if (!keep) {
			bb_mem_free(r, &e->chunk);
			kfree(e);
		}
	}
	/* A range that came back may be the next to expire. */
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
	INIT_WORK(&r->clear_work, bb_recycle_clear_work);
	init_waitqueue_head(&r->clear_wait);
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

	/* The range being cleared goes back onto the list first. */
	spin_lock(&r->recycle_lock);
	r->draining++;
	spin_unlock(&r->recycle_lock);
	cancel_work_sync(&r->clear_work);
	n = bb_recycle_detach(r, true, &all);
	spin_lock(&r->recycle_lock);
	r->draining--;
	spin_unlock(&r->recycle_lock);
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
	/* The clearing worker re-arms the expiry: stop it first. */
	cancel_work_sync(&r->clear_work);
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

/* A kept range of @len, a cleared one if there is; the caller holds recycle_lock. */
static struct bb_recycled *bb_recycle_find(struct bb_region *r, size_t len)
{
	struct bb_recycled *e, *dirty = NULL;

	list_for_each_entry(e, &r->recycled, list) {
		if (e->len != len)
			continue;
		if (e->clean)
			return e;
		dirty = dirty ?: e;
	}
	return dirty;
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
	bool wait = false, waited = false;
	struct bb_recycled *e;
	unsigned long seq = 0;
	bool clean;

again:
	spin_lock(&r->recycle_lock);
	e = bb_recycle_find(r, len);
	if (e) {
		bb_recycled_unlink(r, e);
		r->recycle_hits++;
		if (e->clean)
			r->recycle_precleared++;
	} else if (!waited && r->clearing && r->clearing->len == len) {
		seq = r->clear_seq;
		wait = true;
	}
	spin_unlock(&r->recycle_lock);
	if (wait) {
		/* For the rest of a clearing already under way, not a whole one here. */
		wait_event(r->clear_wait, READ_ONCE(r->clear_seq) != seq);
		wait = false;
		waited = true;
		goto again;
	}
	if (!e)
		return false;
	*c = e->chunk;
	clean = e->clean;
	kfree(e);
	/* The range may have belonged to another process: clear all of it. */
	if (!clean && bb_clear_for_reuse(r, c)) {
		bb_mem_free(r, c);
		return false;
	}
	return true;
}

/* Would keeping @len more bytes as range @n + 1 go over the limits? */
static bool bb_recycle_over(const struct bb_region *r, unsigned int n, size_t len)
{
	return n >= BB_RECYCLE_MAX_CHUNKS || r->recycled_bytes + len > r->size / 2;
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
	e->clean = false;

	spin_lock(&r->recycle_lock);
	hold = msecs_to_jiffies(r->recycle_ms);
	if (hold) {
		list_for_each_entry(it, &r->recycled, list)
			n++;
		if (r->clearing && !r->clearing_dropped)
			n++;
		/* The latest free is the likeliest to be asked for again: make room. */
		list_for_each_entry_safe(it, tmp, &r->recycled, list) {
			if (!bb_recycle_over(r, n, len))
				break;
			bb_recycled_unlink(r, it);
			list_add_tail(&it->list, &evicted);
			n--;
		}
		/* The range being cleared is the newest before this one: it goes last. */
		if (bb_recycle_over(r, n, len) && r->clearing && !r->clearing_dropped) {
			r->clearing_dropped = true;
			r->recycled_bytes -= r->clearing->len;
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
	queue_work(system_unbound_wq, &r->clear_work);
	/* recycle_ms may have been lowered: the new range can expire first. */
	bb_recycle_rearm(r);
	return true;
}
