/* SPDX-License-Identifier: MIT */
/* Resolving a role's heap list: heap names pass through, devices are looked up in the live DT. */
#ifndef BB_ROLES_H
#define BB_ROLES_H

#include <stddef.h>

#include "policy.h"

struct bb_sysfs_paths {
	const char *heap_dir;   /* /dev/dma_heap */
	const char *stats_dir;  /* /sys/kernel/bufbroker/regions */
	const char *dt_base;    /* /sys/firmware/devicetree/base */
	const char *v4l2_class; /* /sys/class/video4linux */
};

/*
 * bb_role_resolve_entry() - the heap name behind one entry of a role's heap list.
 * A heap entry is copied. A device-tree node path (or the of_node of /dev/videoN) is followed
 * through its first memory-region phandle to the /reserved-memory child with that phandle; the heap
 * name is that node's full name (e.g. camera@7c000000). A node under /reserved-memory is its own heap.
 * Return: 0, -ENODEV (no such device or node has no memory-region), -ENOENT (phandle not found
 * under /reserved-memory), -ENAMETOOLONG, or -errno from reading the tree.
 */
int bb_role_resolve_entry(const struct bb_heap_entry *e, const struct bb_sysfs_paths *paths,
			  char *heap, size_t len);

#endif
