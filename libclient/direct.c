// SPDX-License-Identifier: MIT
/* direct.c - allocation straight from /dev/dma_heap, without the daemon. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/dma-heap.h>

#include "heap_names.h"
#include "image_layout.h"
#include "internal.h"

static const char *heap_dir(void)
{
	const char *d = secure_getenv(BB_ENV_HEAP_DIR);

	return d && d[0] ? d : BB_HEAP_DIR_DEFAULT;
}

static const char *stats_dir(void)
{
	const char *d = secure_getenv(BB_ENV_STATS_DIR);

	return d && d[0] ? d : BB_STATS_DIR_DEFAULT;
}

int bb_direct_resolve_heap(const char *heap_name, char *out, size_t out_len)
{
	return bb_heap_resolve(heap_dir(), stats_dir(), heap_name, out, out_len);
}

int bb_direct_alloc(const char *heap_name, uint64_t size, struct bb_buffer **out)
{
	struct dma_heap_allocation_data data = {
		.len = size,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};
	int heap_fd, r;
	off_t end;

	if (!out || !size)
		return -EINVAL;
	heap_fd = bb_heap_open(heap_dir(), stats_dir(), heap_name, NULL, 0);
	if (heap_fd < 0)
		return heap_fd;
	while ((r = ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &data)) < 0 && errno == EINTR)
		;
	r = r < 0 ? -errno : 0;
	close(heap_fd);
	if (r < 0)
		return r;
	/* the kernel rounds up to pages: report what it really allocated */
	end = lseek((int)data.fd, 0, SEEK_END);
	if (end > 0) {
		size = (uint64_t)end;
		lseek((int)data.fd, 0, SEEK_SET);
	}
	return buffer_new_take_fd((int)data.fd, 0, size, out);
}

int bb_direct_alloc_image(const char *heap_name, uint32_t fourcc, uint32_t width,
			  uint32_t height, uint64_t modifier, struct bb_buffer **out,
			  struct bb_image_layout *layout)
{
	struct bb_image_layout l;
	int r;

	if (!out)
		return -EINVAL;
	r = bb_image_layout_compute(fourcc, width, height, modifier, &l);
	if (r < 0)
		return r;
	r = bb_direct_alloc(heap_name, l.size, out);
	if (r >= 0 && layout)
		*layout = l;
	return r;
}
