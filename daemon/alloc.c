// SPDX-License-Identifier: MIT
/*
 * alloc.c - the only code that talks to /dev/dma_heap.
 */
#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void bb_heap_node_close(struct bb_heap_node *node)
{
	if (node && node->fd >= 0) {
		close(node->fd);
		node->fd = -1;
	}
}

int bb_heap_alloc(const char *heap_dir, const char *heap, uint64_t size, int fd_flags,
		  struct bb_heap_node *node)
{
	struct dma_heap_allocation_data data = {
		.len = size,
		.fd_flags = (uint32_t)((fd_flags & O_ACCMODE) | O_CLOEXEC),
	};
	char path[PATH_MAX];
	int hfd, r;

	if (node && node->fd >= 0 && !strcmp(node->name, heap)) {
		hfd = node->fd;
	} else {
		bb_heap_node_close(node);
		if (snprintf(path, sizeof(path), "%s/%s", heap_dir, heap) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		hfd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (hfd < 0)
			return errno == ENOENT ? -ENODEV : -errno;
	}
	do {
		r = ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, &data);
	} while (r < 0 && errno == EINTR);
	r = r < 0 ? -errno : (int)data.fd;
	if (node && node->fd != hfd && strlen(heap) < sizeof(node->name)) {
		node->fd = hfd;
		strcpy(node->name, heap);
	} else if (!node || node->fd != hfd) {
		close(hfd);
	}
	return r;
}

int bb_dmabuf_set_name(int fd, const char *name)
{
	char buf[DMA_BUF_NAME_LEN];

	snprintf(buf, sizeof(buf), "%s", name);
	return ioctl(fd, DMA_BUF_SET_NAME, buf) < 0 ? -errno : 0;
}
