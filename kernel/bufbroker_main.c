// SPDX-License-Identifier: GPL-2.0
/*
 * bufbroker_heap: dma-buf heaps for the CMA regions of the device tree.
 *
 * At load, every reusable "shared-dma-pool" child of /reserved-memory
 * becomes a region with a heap named after its node, plus the aliases of
 * its bufbroker,heap-aliases property. The default CMA area is also the
 * heap "default_cma_region", wherever it comes from.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_reserved_mem.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "bufbroker.h"
#include "bufbroker_compat.h"

static LIST_HEAD(bb_regions);

static bool bb_name_taken(const char *name)
{
	struct bb_region *r;

	list_for_each_entry(r, &bb_regions, list)
		if (bb_region_has_name(r, name))
			return true;
	return false;
}

static void bb_try_add_heap(struct bb_region *r, const char *name)
{
	int ret;

	if (bb_name_taken(name) || bb_region_has_name(r, name)) {
		dev_warn(r->dev, "heap name %s is already used, skipped\n", name);
		return;
	}
	ret = bb_heap_add(r, name);
	if (ret == -EEXIST)
		dev_info(r->dev, "kernel already provides /dev/dma_heap/%s, skipped\n", name);
	else if (ret)
		dev_err(r->dev, "cannot create heap %s: %d\n", name, ret);
}

/*
 * An alias becomes a /dev/dma_heap node and a name in bufbrokerd's policy:
 * the binding's pattern, and no longer than the policy takes.
 */
static bool bb_alias_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (!len || len > BB_ALIAS_MAX_LEN || !isalnum(name[0]))
		return false;
	for (i = 1; i < len; i++)
		if (!isalnum(name[i]) && !strchr("_.,+-", name[i]))
			return false;
	return true;
}

static int bb_read_aliases(struct bb_region *r, struct device_node *np)
{
	const char *alias;
	int i, n;

	n = of_property_count_strings(np, BB_ALIAS_PROP);
	if (n <= 0)
		return 0;
	r->aliases = kcalloc(n, sizeof(*r->aliases), GFP_KERNEL);
	if (!r->aliases)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (of_property_read_string_index(np, BB_ALIAS_PROP, i, &alias))
			continue;
		if (!bb_alias_valid(alias)) {
			dev_warn(r->dev, "%s: \"%.*s\" is not a heap name (1 to %d of A-Z a-z 0-9 _ . , + -, starting with a letter or digit), skipped\n",
				 BB_ALIAS_PROP, BB_ALIAS_MAX_LEN + 1, alias, BB_ALIAS_MAX_LEN);
			continue;
		}
		r->aliases[r->n_aliases] = kstrdup(alias, GFP_KERNEL);
		if (!r->aliases[r->n_aliases])
			return -ENOMEM;
		r->n_aliases++;
	}
	return 0;
}

/*
 * The board knows which regions only go through our heaps (a codec's pool)
 * and may keep freed buffers there; the DT value wins over the module
 * parameter, and sysfs can still change it at run time.
 */
static void bb_read_recycle_ms(struct bb_region *r, struct device_node *np)
{
	int len;
	u32 ms;

	if (!of_find_property(np, BB_RECYCLE_PROP, &len))
		return;
	/* of_property_read_u32() would take the first 4 bytes of anything longer. */
	if (len != sizeof(ms) || of_property_read_u32(np, BB_RECYCLE_PROP, &ms)) {
		dev_warn(r->dev, "%s must be one 32-bit cell, e.g. <1000>; ignored\n",
			 BB_RECYCLE_PROP);
		return;
	}
	if (bb_recycle_set_ms(r, ms))
		dev_warn(r->dev, "%s = <%u> is above %u ms, ignored\n", BB_RECYCLE_PROP, ms,
			 BB_RECYCLE_MAX_MS);
}

static void bb_setup_region(const char *name, struct reserved_mem *rmem, bool is_default,
			    struct device_node *np)
{
	struct bb_region *r;
	unsigned int i;
	int ret;

	r = bb_region_create(name, rmem, is_default);
	if (IS_ERR(r)) {
		if (PTR_ERR(r) == -ENODEV)
			pr_info("%s: no CMA area behind it, skipped\n", name);
		else
			pr_err("%s: cannot set up region: %ld\n", name, PTR_ERR(r));
		return;
	}
	if (np) {
		ret = bb_read_aliases(r, np);
		if (ret)
			goto destroy_region;
		bb_read_recycle_ms(r, np);
		r->uncached = of_property_read_bool(np, BB_UNCACHED_PROP);
	}

	bb_try_add_heap(r, r->name);
	if (is_default && strcmp(r->name, BB_DEFAULT_HEAP_NAME))
		bb_try_add_heap(r, BB_DEFAULT_HEAP_NAME);
	for (i = 0; i < r->n_aliases; i++)
		bb_try_add_heap(r, r->aliases[i]);
	if (list_empty(&r->heaps)) {
		ret = -ENOENT;
		goto destroy_region;
	}

	ret = bb_sysfs_add_region(r);
	if (ret)
		goto destroy_region;

	list_add_tail(&r->list, &bb_regions);
	dev_info(r->dev, "region %s: %llu bytes%s%s, %u alias(es)\n", r->name,
		 (unsigned long long)r->size, is_default ? ", default CMA area" : "",
		 r->uncached ? ", uncached" : "", r->n_aliases);
	return;

destroy_region:
	dev_err(r->dev, "region %s not added: %d\n", name, ret);
	bb_region_destroy(r);
}

/* Returns true if the DT provided the default CMA area. */
static bool bb_scan_reserved_memory(void)
{
	struct device_node *parent, *np;
	struct reserved_mem *rmem;
	bool have_default = false;
	bool is_default;
	char *name;

	parent = of_find_node_by_path("/reserved-memory");
	if (!parent)
		return false;

	for_each_available_child_of_node(parent, np) {
		if (!of_device_is_compatible(np, "shared-dma-pool") ||
		    !of_property_read_bool(np, "reusable") ||
		    of_property_read_bool(np, "no-map"))
			continue;

		is_default = of_property_read_bool(np, "linux,cma-default");
		rmem = of_reserved_mem_lookup(np);
		/* No ops: the kernel did not set the node up (e.g. cma= bypassed it). */
		if (!rmem || !rmem->ops) {
			pr_info("%pOF: not a CMA area in this boot, skipped\n", np);
			continue;
		}

		name = kasprintf(GFP_KERNEL, "%pOFP", np);
		if (!name)
			continue;
		bb_setup_region(name, rmem, is_default, np);
		kfree(name);
		if (is_default)
			have_default = true;
	}
	of_node_put(parent);
	return have_default;
}

static void bb_remove_regions(void)
{
	struct bb_region *r, *tmp;

	list_for_each_entry_safe_reverse(r, tmp, &bb_regions, list) {
		list_del(&r->list);
		bb_region_destroy(r);
	}
}

static int __init bb_init(void)
{
	int ret;

	ret = bb_sysfs_init();
	if (ret)
		return ret;
	ret = bb_chardev_init();
	if (ret)
		goto remove_sysfs;

	if (!bb_scan_reserved_memory())
		bb_setup_region(BB_DEFAULT_HEAP_NAME, NULL, true, NULL);

	if (list_empty(&bb_regions)) {
		pr_err("no CMA region found\n");
		ret = -ENODEV;
		goto remove_chardev;
	}
	return 0;

remove_chardev:
	bb_chardev_exit();
remove_sysfs:
	bb_sysfs_exit();
	return ret;
}

static void __exit bb_exit(void)
{
	bb_remove_regions();
	bb_chardev_exit();
	bb_sysfs_exit();
}

module_init(bb_init);
module_exit(bb_exit);

MODULE_DESCRIPTION("dma-buf heaps for device-tree CMA regions");
MODULE_AUTHOR("bufbroker project");
MODULE_LICENSE("GPL");
BB_IMPORT_NS(DMA_BUF);
