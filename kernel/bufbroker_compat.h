/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bufbroker_heap: everything that depends on the kernel version or on
 * which symbols the running kernel exports. Nothing outside this header
 * and bufbroker_compat.c tests LINUX_VERSION_CODE.
 */
#ifndef BUFBROKER_COMPAT_H
#define BUFBROKER_COMPAT_H

#include <linux/device.h>
#include <linux/module.h>
#include <linux/version.h>

#include "bufbroker.h"

/* The only comparison with the running kernel's version in the module. */
#define BB_KERNEL_AT_LEAST(a, b, c)	(LINUX_VERSION_CODE >= KERNEL_VERSION(a, b, c))

/*
 * cma_alloc(), cma_release(), cma_get_name() and dev_get_cma_area() are
 * exported to modules from 7.1 on. Before that, memory comes from
 * dma_alloc_pages() on a private device bound to the region.
 */
#if BB_KERNEL_AT_LEAST(7, 1, 0)
#define BB_HAVE_CMA_ALLOC	1
#else
#define BB_HAVE_CMA_ALLOC	0
#endif

/*
 * When the kernel has the dma-heap framework and exports dma_heap_add()
 * (6.18+, namespace DMA_BUF_HEAP), the heaps are registered there instead
 * of in a class of our own: the kernel already owns the "dma_heap" class.
 */
#if IS_ENABLED(CONFIG_DMABUF_HEAPS) && BB_KERNEL_AT_LEAST(6, 18, 0)
#define BB_HAVE_DMA_HEAP_API	1
#else
#define BB_HAVE_DMA_HEAP_API	0
#endif

/* Namespaces became string literals in 6.13. */
#if BB_KERNEL_AT_LEAST(6, 13, 0)
#define BB_IMPORT_NS(ns)	MODULE_IMPORT_NS(#ns)
#else
#define BB_IMPORT_NS(ns)	MODULE_IMPORT_NS(ns)
#endif

/* class_create() lost its owner argument in 6.4. */
#if BB_KERNEL_AT_LEAST(6, 4, 0)
#define bb_class_create(name)	class_create(name)
#else
#define bb_class_create(name)	class_create(THIS_MODULE, name)
#endif

/* The devnode callback takes a const device from 6.2 on. */
#if BB_KERNEL_AT_LEAST(6, 2, 0)
#define BB_DEVNODE_CONST	const
#else
#define BB_DEVNODE_CONST
#endif

int bb_mem_init(struct bb_region *r);
void bb_mem_fini(struct bb_region *r);
int bb_mem_alloc(struct bb_region *r, size_t len, struct bb_chunk *c);
void bb_mem_free(struct bb_region *r, struct bb_chunk *c);
void bb_default_area_bounds(struct bb_region *r);

#if BB_HAVE_DMA_HEAP_API
int bb_kheap_add(struct bb_heap *heap);
#else
static inline int bb_kheap_add(struct bb_heap *heap)
{
	return -EOPNOTSUPP;
}
#endif

#endif /* BUFBROKER_COMPAT_H */
