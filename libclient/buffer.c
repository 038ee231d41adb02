// SPDX-License-Identifier: MIT
/* buffer.c - per-buffer helpers: fd, map, CPU access, name. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include "internal.h"

int buffer_new_take_fd(int fd, uint64_t id, uint64_t size, struct bb_buffer **out)
{
	struct bb_buffer *buf = calloc(1, sizeof(*buf));

	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	buf->fd = fd;
	buf->id = id;
	buf->size = size;
	*out = buf;
	return 0;
}

int bb_buffer_get_fd(const struct bb_buffer *buf)
{
	return buf ? buf->fd : -EINVAL;
}

int bb_buffer_dup_fd(const struct bb_buffer *buf)
{
	int fd;

	if (!buf)
		return -EINVAL;
	fd = fcntl(buf->fd, F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? -errno : fd;
}

uint64_t bb_buffer_get_size(const struct bb_buffer *buf)
{
	return buf ? buf->size : 0;
}

uint64_t bb_buffer_get_id(const struct bb_buffer *buf)
{
	return buf ? buf->id : 0;
}

int bb_buffer_map(struct bb_buffer *buf, unsigned int flags, void **addr)
{
	int prot = 0;
	void *p;

	if (!buf || !addr || !flags || (flags & ~(unsigned int)BB_ACCESS_READ_WRITE))
		return -EINVAL;
	if (buf->map) {
		if ((buf->map_flags & flags) != flags)
			return -EBUSY;
		*addr = buf->map;
		return 0;
	}
	if (buf->size == 0 || buf->size > SIZE_MAX)
		return -EINVAL;
	if (flags & BB_ACCESS_READ)
		prot |= PROT_READ;
	if (flags & BB_ACCESS_WRITE)
		prot |= PROT_WRITE;
	p = mmap(NULL, (size_t)buf->size, prot, MAP_SHARED, buf->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	buf->map = p;
	buf->map_flags = flags;
	*addr = p;
	return 0;
}

int bb_buffer_unmap(struct bb_buffer *buf)
{
	if (!buf || !buf->map)
		return -EINVAL;
	munmap(buf->map, (size_t)buf->size);
	buf->map = NULL;
	buf->map_flags = 0;
	return 0;
}

static int sync_ioctl(struct bb_buffer *buf, unsigned int flags, uint64_t start_end)
{
	struct dma_buf_sync sync = { .flags = start_end };

	if (!buf || !flags || (flags & ~(unsigned int)BB_ACCESS_READ_WRITE))
		return -EINVAL;
	if (flags & BB_ACCESS_READ)
		sync.flags |= DMA_BUF_SYNC_READ;
	if (flags & BB_ACCESS_WRITE)
		sync.flags |= DMA_BUF_SYNC_WRITE;
	while (ioctl(buf->fd, DMA_BUF_IOCTL_SYNC, &sync) < 0) {
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
	return 0;
}

int bb_buffer_begin_cpu_access(struct bb_buffer *buf, unsigned int flags)
{
	return sync_ioctl(buf, flags, DMA_BUF_SYNC_START);
}

int bb_buffer_end_cpu_access(struct bb_buffer *buf, unsigned int flags)
{
	return sync_ioctl(buf, flags, DMA_BUF_SYNC_END);
}

int bb_buffer_set_name(struct bb_buffer *buf, const char *name)
{
	if (!buf || !name)
		return -EINVAL;
	if (strlen(name) >= DMA_BUF_NAME_LEN)
		return -ENAMETOOLONG;
	if (ioctl(buf->fd, DMA_BUF_SET_NAME, name) < 0)
		return -errno;
	return 0;
}

void bb_buffer_free(struct bb_buffer *buf)
{
	if (!buf)
		return;
	if (buf->map)
		munmap(buf->map, (size_t)buf->size);
	if (buf->fd >= 0)
		close(buf->fd);
	free(buf);
}
