// SPDX-License-Identifier: MIT
/*
 * reserve.c - per-role reservations: see reserve.h.
 */
#include "reserve.h"

#include "broker.h"
#include "dbus_internal.h"
#include "heap_stats.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

struct bb_reserve_slot {
	int fd;    /* the pool's own fd, -1: empty */
	bool used; /* handed out before: zero before the next client */
	char heap[BB_HEAP_NAME_MAX];
};

struct bb_reserve {
	char role[BB_ROLE_NAME_MAX + 1];
	uint64_t size;
	unsigned int want;
	struct bb_reserve_slot slot[BB_RESERVE_MAX];
	struct bb_reserve *next;
};

long bb_dmabuf_file_count(int fd)
{
	char path[64], buf[512];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	const char *c = strstr(buf, "\ncount:");
	if (!c)
		return -ENOTSUP;
	return strtol(c + 7, NULL, 10);
}

static void pool_close(struct bb_reserve *p)
{
	for (unsigned int i = 0; i < BB_RESERVE_MAX; i++) {
		if (p->slot[i].fd >= 0)
			close(p->slot[i].fd);
		p->slot[i].fd = -1;
	}
}

static struct bb_reserve *pool_find(struct bb_broker *b, const char *role)
{
	for (struct bb_reserve *p = b->reserves; p; p = p->next)
		if (strcmp(p->role, role) == 0)
			return p;
	return NULL;
}

void bb_reserves_sync(struct bb_broker *b)
{
	/* Drop pools whose role is gone or changed. */
	for (struct bb_reserve **pp = &b->reserves; *pp;) {
		struct bb_reserve *p = *pp;
		const struct bb_role *r = bb_policy_find_role(&b->policy, p->role);

		if (r && r->reserve_count && r->reserve_size == p->size) {
			p->want = r->reserve_count;
			for (unsigned int i = p->want; i < BB_RESERVE_MAX; i++) {
				if (p->slot[i].fd >= 0)
					close(p->slot[i].fd);
				p->slot[i].fd = -1;
			}
			pp = &p->next;
			continue;
		}
		log_info("role %s: reservation of %" PRIu64 " bytes dropped", p->role, p->size);
		*pp = p->next;
		pool_close(p);
		free(p);
	}
	for (size_t i = 0; i < b->policy.n_roles; i++) {
		const struct bb_role *r = &b->policy.roles[i];
		struct bb_reserve *p;
		unsigned int have = 0, got = 0;

		if (!r->reserve_count)
			continue;
		p = pool_find(b, r->name);
		if (!p) {
			p = calloc(1, sizeof(*p));
			if (!p)
				return;
			snprintf(p->role, sizeof(p->role), "%s", r->name);
			p->size = r->reserve_size;
			p->want = r->reserve_count;
			for (unsigned int k = 0; k < BB_RESERVE_MAX; k++)
				p->slot[k].fd = -1;
			p->next = b->reserves;
			b->reserves = p;
		}
		for (unsigned int k = 0; k < p->want; k++) {
			sd_bus_error e = SD_BUS_ERROR_NULL;
			int fd;

			if (p->slot[k].fd >= 0) {
				have++;
				continue;
			}
			fd = bb_dbus_allocate_from_role(b, r, p->size, O_RDWR, p->slot[k].heap,
							sizeof(p->slot[k].heap), &e);
			if (fd < 0) {
				log_debug("role %s: cannot reserve %" PRIu64 " bytes yet: %s", r->name, p->size,
					  e.message ? e.message : strerror(-fd));
				sd_bus_error_free(&e);
				break;
			}
			sd_bus_error_free(&e);
			p->slot[k].fd = fd;
			p->slot[k].used = false;
			have++;
			got++;
		}
		if (got)
			log_info("role %s: %u of %u buffers of %" PRIu64 " bytes reserved", r->name, have,
				 p->want, p->size);
	}
}

static int zero_buffer(int fd, uint64_t size)
{
	struct dma_buf_sync s = { DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE };
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int r = 0;

	if (m == MAP_FAILED)
		return -errno;
	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0)
		r = -errno;
	memset(m, 0, size);
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0 && !r)
		r = -errno;
	munmap(m, size);
	return r;
}

int bb_reserve_take(struct bb_broker *b, const struct bb_role *role, uint64_t size, int fd_flags,
		    char *heap, size_t heaplen)
{
	struct bb_reserve *p = pool_find(b, role->name);

	if (!p || p->size != size || (fd_flags & O_ACCMODE) != O_RDWR)
		return -ENOENT;
	for (unsigned int k = 0; k < p->want; k++) {
		struct bb_reserve_slot *s = &p->slot[k];
		int fd, r;

		if (s->fd < 0)
			continue;
		if (s->used) {
			if (bb_dmabuf_file_count(s->fd) != 1)
				continue; /* someone still holds it (or the kernel cannot say) */
			r = zero_buffer(s->fd, p->size);
			if (r < 0) {
				log_warn("role %s: cannot zero a reserved buffer (%s); dropping it", p->role,
					 strerror(-r));
				close(s->fd);
				s->fd = -1;
				continue;
			}
		}
		fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return -errno;
		s->used = true;
		snprintf(heap, heaplen, "%s", s->heap);
		return fd;
	}
	return -EBUSY;
}

void bb_reserves_free(struct bb_broker *b)
{
	while (b->reserves) {
		struct bb_reserve *p = b->reserves;

		b->reserves = p->next;
		pool_close(p);
		free(p);
	}
}
