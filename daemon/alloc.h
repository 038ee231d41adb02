/* SPDX-License-Identifier: MIT */
/* alloc.h - allocate from a dma-buf heap and name the buffer. */
#ifndef BB_ALLOC_H
#define BB_ALLOC_H

#include <stdint.h>

/*
 * bb_heap_alloc() - DMA_HEAP_IOCTL_ALLOC on <heap_dir>/<heap>.
 * @fd_flags: O_RDWR or O_RDONLY; O_CLOEXEC is always added.
 * Return: a new dma-buf fd the caller owns, or -errno (-ENOENT/-ENODEV: no such heap,
 * -ENOMEM: region full, -EACCES: the daemon may not open the heap).
 */
int bb_heap_alloc(const char *heap_dir, const char *heap, uint64_t size, int fd_flags);

/* DMA_BUF_SET_NAME; @name is cut to DMA_BUF_NAME_LEN - 1 bytes. 0 or -errno. */
int bb_dmabuf_set_name(int fd, const char *name);

#endif
