/* SPDX-License-Identifier: MIT */
/* alloc.h - allocate from a dma-buf heap and name the buffer. */
#ifndef BB_ALLOC_H
#define BB_ALLOC_H

#include <stdint.h>

/*
 * A heap node kept open across the allocations of one AllocateSet. Never longer: an open node
 * holds the module, and rmmod must work while the daemon is idle (docs/dbus-api.md).
 */
struct bb_heap_node {
	int fd;		/* -1: none open; owned */
	char name[64];
};

/*
 * bb_heap_alloc() - DMA_HEAP_IOCTL_ALLOC on <heap_dir>/<heap>.
 * @fd_flags: O_RDWR or O_RDONLY; O_CLOEXEC is always added.
 * @node: NULL (the node is opened and closed here), or where the node stays open for the next
 * call on the same heap; close it with bb_heap_node_close().
 * Return: a new dma-buf fd the caller owns, or -errno (-ENOENT/-ENODEV: no such heap,
 * -ENOMEM: region full, -EACCES: the daemon may not open the heap).
 */
int bb_heap_alloc(const char *heap_dir, const char *heap, uint64_t size, int fd_flags,
		  struct bb_heap_node *node);

/* Close what bb_heap_alloc() kept open in @node. */
void bb_heap_node_close(struct bb_heap_node *node);

/* DMA_BUF_SET_NAME; @name is cut to DMA_BUF_NAME_LEN - 1 bytes. 0 or -errno. */
int bb_dmabuf_set_name(int fd, const char *name);

#endif
