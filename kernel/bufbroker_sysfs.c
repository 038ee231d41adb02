// SPDX-License-Identifier: GPL-2.0
/*
 * bufbroker_heap: statistics under /sys/kernel/bufbroker/regions/<region>/.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
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

static u64 bb_read_stat(struct bb_region *r, const u64 *stat)
{
	return bb_read_locked(&r->stat_lock, stat);
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

static ssize_t size_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", (unsigned long long)to_region(kobj)->size);
}

static ssize_t base_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x%llx\n", (unsigned long long)to_region(kobj)->base);
}

static ssize_t bytes_allocated_show(struct kobject *kobj, struct kobj_attribute *attr,
				    char *buf)
{
	struct bb_region *r = to_region(kobj);

	return sysfs_emit(buf, "%llu\n", bb_read_stat(r, &r->bytes));
}

static ssize_t buffers_allocated_show(struct kobject *kobj, struct kobj_attribute *attr,
				      char *buf)
{
	struct bb_region *r = to_region(kobj);

	return sysfs_emit(buf, "%llu\n", bb_read_stat(r, &r->buffers));
}

static ssize_t peak_bytes_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct bb_region *r = to_region(kobj);

	return sysfs_emit(buf, "%llu\n", bb_read_stat(r, &r->peak));
}

static ssize_t failures_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct bb_region *r = to_region(kobj);

	return sysfs_emit(buf, "%llu\n", bb_read_stat(r, &r->failures));
}

static u64 bb_read_recycle_stat(struct bb_region *r, const u64 *stat)
{
	return bb_read_locked(&r->recycle_lock, stat);
}

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

static ssize_t recycled_bytes_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct bb_region *r = to_region(kobj);

	return sysfs_emit(buf, "%llu\n", bb_read_recycle_stat(r, &r->recycled_bytes));
}

static ssize_t recycle_hits_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct bb_region *r = to_region(kobj);

	return sysfs_emit(buf, "%llu\n", bb_read_recycle_stat(r, &r->recycle_hits));
}

static struct kobj_attribute heaps_attr = __ATTR_RO(heaps);
static struct kobj_attribute aliases_attr = __ATTR_RO(aliases);
static struct kobj_attribute default_attr = __ATTR_RO(default);
static struct kobj_attribute size_attr = __ATTR_RO(size);
static struct kobj_attribute bytes_allocated_attr = __ATTR_RO(bytes_allocated);
static struct kobj_attribute buffers_allocated_attr = __ATTR_RO(buffers_allocated);
static struct kobj_attribute peak_bytes_attr = __ATTR_RO(peak_bytes);
static struct kobj_attribute failures_attr = __ATTR_RO(failures);
static struct kobj_attribute base_attr = __ATTR(base, 0400, base_show, NULL);
static struct kobj_attribute recycle_ms_attr = __ATTR_RW(recycle_ms);
static struct kobj_attribute recycled_bytes_attr = __ATTR_RO(recycled_bytes);
static struct kobj_attribute recycle_hits_attr = __ATTR_RO(recycle_hits);

static struct attribute *bb_region_attrs[] = {
	&heaps_attr.attr,
	&aliases_attr.attr,
	&default_attr.attr,
	&size_attr.attr,
	&bytes_allocated_attr.attr,
	&buffers_allocated_attr.attr,
	&peak_bytes_attr.attr,
	&failures_attr.attr,
	&base_attr.attr,
	&recycle_ms_attr.attr,
	&recycled_bytes_attr.attr,
	&recycle_hits_attr.attr,
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
