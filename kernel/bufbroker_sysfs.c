// SPDX-License-Identifier: GPL-2.0
/*
 * bufbroker_heap: statistics under /sys/kernel/bufbroker/regions/<region>/.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/stddef.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>

#include "bufbroker.h"

static struct kobject *bb_root_kobj;
static struct kobject *bb_regions_kobj;

static struct bb_region *to_region(struct kobject *kobj)
{
	return container_of(kobj, struct bb_region, kobj);
}

static u64 bb_read_locked(spinlock_t *lock, const u64 *val)
{
	u64 v;

	spin_lock(lock);
	v = *val;
	spin_unlock(lock);
	return v;
}

/**
 * struct bb_counter_attr - a read-only file showing one u64 counter of a region
 * @attr:	the sysfs attribute
 * @lock:	offset in struct bb_region of the spinlock protecting the counter
 * @val:	offset in struct bb_region of the counter
 */
struct bb_counter_attr {
	struct kobj_attribute attr;
	size_t lock;
	size_t val;
};

static ssize_t bb_counter_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	const struct bb_counter_attr *ca = container_of(attr, struct bb_counter_attr, attr);
	char *r = (char *)to_region(kobj);

	return sysfs_emit(buf, "%llu\n",
			  bb_read_locked((spinlock_t *)(r + ca->lock), (const u64 *)(r + ca->val)));
}

#define BB_COUNTER_ATTR(_name, _lock, _val) \
	struct bb_counter_attr _name##_attr = { \
		.attr = __ATTR(_name, 0444, bb_counter_show, NULL), \
		.lock = offsetof(struct bb_region, _lock), \
		.val = offsetof(struct bb_region, _val), \
	}

static ssize_t heaps_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct bb_region *r = to_region(kobj);
	struct bb_heap *heap;
	int len = 0;

	list_for_each_entry(heap, &r->heaps, list)
		len += sysfs_emit_at(buf, len, "%s\n", heap->name);
	return len;
}

static ssize_t aliases_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct bb_region *r = to_region(kobj);
	unsigned int i;
	int len = 0;

	for (i = 0; i < r->n_aliases; i++)
		len += sysfs_emit_at(buf, len, "%s\n", r->aliases[i]);
	return len;
}

static ssize_t default_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", to_region(kobj)->is_default);
}

static ssize_t uncached_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", to_region(kobj)->uncached);
}

static ssize_t size_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", (unsigned long long)to_region(kobj)->size);
}

static ssize_t base_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x%llx\n", (unsigned long long)to_region(kobj)->base);
}

static BB_COUNTER_ATTR(bytes_allocated, stat_lock, bytes);
static BB_COUNTER_ATTR(buffers_allocated, stat_lock, buffers);
static BB_COUNTER_ATTR(peak_bytes, stat_lock, peak);
static BB_COUNTER_ATTR(failures, stat_lock, failures);
static BB_COUNTER_ATTR(flushed_bytes, stat_lock, flushed_bytes);
static BB_COUNTER_ATTR(held_bytes, held_lock, held_bytes);
static BB_COUNTER_ATTR(recycled_bytes, recycle_lock, recycled_bytes);
static BB_COUNTER_ATTR(recycled_clean_bytes, recycle_lock, recycled_clean_bytes);
static BB_COUNTER_ATTR(recycle_hits, recycle_lock, recycle_hits);
static BB_COUNTER_ATTR(recycle_precleared, recycle_lock, recycle_precleared);

static ssize_t recycle_ms_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_region(kobj)->recycle_ms));
}

static ssize_t recycle_ms_store(struct kobject *kobj, struct kobj_attribute *attr,
				const char *buf, size_t count)
{
	unsigned int ms;
	int ret;

	ret = kstrtouint(buf, 0, &ms);
	if (ret)
		return ret;
	ret = bb_recycle_set_ms(to_region(kobj), ms);
	return ret ? ret : count;
}

static struct kobj_attribute heaps_attr = __ATTR_RO(heaps);
static struct kobj_attribute aliases_attr = __ATTR_RO(aliases);
static struct kobj_attribute default_attr = __ATTR_RO(default);
static struct kobj_attribute size_attr = __ATTR_RO(size);
static struct kobj_attribute uncached_attr = __ATTR_RO(uncached);
static struct kobj_attribute base_attr = __ATTR(base, 0400, base_show, NULL);
static struct kobj_attribute recycle_ms_attr = __ATTR_RW(recycle_ms);

static struct attribute *bb_region_attrs[] = {
	&heaps_attr.attr,
	&aliases_attr.attr,
	&default_attr.attr,
	&size_attr.attr,
	&uncached_attr.attr,
	&bytes_allocated_attr.attr.attr,
	&buffers_allocated_attr.attr.attr,
	&peak_bytes_attr.attr.attr,
	&failures_attr.attr.attr,
	&flushed_bytes_attr.attr.attr,
	&held_bytes_attr.attr.attr,
	&base_attr.attr,
	&recycle_ms_attr.attr,
	&recycled_bytes_attr.attr.attr,
	&recycled_clean_bytes_attr.attr.attr,
	&recycle_hits_attr.attr.attr,
	&recycle_precleared_attr.attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(bb_region);

static void bb_region_kobj_release(struct kobject *kobj)
{
	bb_region_release(to_region(kobj));
}

static const struct kobj_type bb_region_ktype = {
	.release = bb_region_kobj_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = bb_region_groups,
};

/**
 * bb_sysfs_add_region() - publish a region's statistics directory
 * @r: the region, with its heaps already added
 *
 * From here on the region is freed through its kobject, also when this
 * fails: the caller then still uses bb_region_destroy().
 *
 * Return: 0 or a negative errno.
 */
int bb_sysfs_add_region(struct bb_region *r)
{
	return kobject_init_and_add(&r->kobj, &bb_region_ktype, bb_regions_kobj, "%s", r->name);
}

/**
 * bb_sysfs_init() - create /sys/kernel/bufbroker/regions
 *
 * Return: 0 or -ENOMEM.
 */
int bb_sysfs_init(void)
{
	bb_root_kobj = kobject_create_and_add("bufbroker", kernel_kobj);
	if (!bb_root_kobj)
		return -ENOMEM;
	bb_regions_kobj = kobject_create_and_add("regions", bb_root_kobj);
	if (!bb_regions_kobj) {
		kobject_put(bb_root_kobj);
		return -ENOMEM;
	}
	return 0;
}

/**
 * bb_sysfs_exit() - remove /sys/kernel/bufbroker; all regions must be gone
 */
void bb_sysfs_exit(void)
{
	kobject_put(bb_regions_kobj);
	kobject_put(bb_root_kobj);
}
