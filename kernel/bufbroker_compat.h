/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bufbroker_heap: everything that depends on the kernel version or on
 * which symbols the running kernel exports. Nothing outside this header
 * and bufbroker_compat.c depends on them.
 *
 * There are no version comparisons: kernel/Kbuild detects each feature at
 * build time (exports in Module.symvers, the kernel configuration, API
 * shapes in the headers) and passes BUFBROKER_* flags, so backports and
 * distribution kernels get what they really provide.
 */
#ifndef BUFBROKER_COMPAT_H
#define BUFBROKER_COMPAT_H

#include <linux/device.h>
#include <linux/module.h>

#include "bufbroker.h"

/*
 * cma_alloc(), cma_release(), cma_get_name() and dev_get_cma_area() are
 * exported to modules from 7.1 on. Without them, memory comes from
 * dma_alloc_pages() on a private device bound to the region.
 */
#ifdef BUFBROKER_HAVE_CMA_ALLOC
#define BB_HAVE_CMA_ALLOC	1
#else
#define BB_HAVE_CMA_ALLOC	0
#endif

/*
 * When the kernel has the dma-heap framework and exports dma_heap_add()
 * (6.18+, namespace DMA_BUF_HEAP), the heaps are registered there instead
 * of in a class of our own: the kernel already owns the "dma_heap" class.
 */
#if defined(BUFBROKER_HAVE_DMA_HEAP_ADD) && IS_ENABLED(CONFIG_DMABUF_HEAPS)
#define BB_HAVE_DMA_HEAP_API	1
#else
#define BB_HAVE_DMA_HEAP_API	0
#endif

/* Namespaces became string literals in 6.13. */
#ifdef BUFBROKER_NS_IS_STRING
#define BB_IMPORT_NS(ns)	MODULE_IMPORT_NS(#ns)
#else
#define BB_IMPORT_NS(ns)	MODULE_IMPORT_NS(ns)
#endif

/* class_create() lost its owner argument in 6.4. */
#ifdef BUFBROKER_CLASS_CREATE_OWNER
#define bb_class_create(name)	class_create(THIS_MODULE, name)
#else
#define bb_class_create(name)	class_create(name)
#endif

/* The devnode callback takes a const device from 6.2 on. */
#ifdef BUFBROKER_DEVNODE_CONST
#define BB_DEVNODE_CONST	const
#else
#define BB_DEVNODE_CONST
#endif

int bb_mem_init(struct bb_region *r);
void bb_mem_fini(struct bb_region *r);
int bb_mem_alloc(struct bb_region *r, size_t len, struct bb_chunk *c);
void bb_mem_free(struct bb_region *r, struct bb_chunk *c);
void bb_default_area_bounds(struct bb_region *r);
bool bb_kernel_heap_exists(const char *name);

#if BB_HAVE_DMA_HEAP_API
int bb_kheap_add(struct bb_heap *heap);
#else
static inline int bb_kheap_add(struct bb_heap *heap)
{
	return -EOPNOTSUPP;
}
#endif

#endif /* BUFBROKER_COMPAT_H */
