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
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct bb_reserve_slot {
	int fd;    /* the pool's own fd, -1: empty */
	bool used; /* handed out before: renew before the next client */
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
			fd = bb_dbus_allocate_from_role(b, r, p->size, O_RDWR, NULL, p->slot[k].heap,
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

/*
 * Renew a slot nobody holds any more: free the buffer and allocate the same size again from the
 * role's heaps. The CMA range just freed is the first fit, its pages are free, so nothing has to
 * migrate, and the heap clears the pages as for any new buffer: the next client never sees the
 * previous client's data. (Zeroing through a mapping instead - mmap, DMA_BUF_IOCTL_SYNC, memset,
 * munmap - measured 50-175 ms per 4 MiB under QEMU TCG, far more than the allocation.)
 */
static int renew_slot(struct bb_broker *b, struct bb_reserve *p, struct bb_reserve_slot *s)
{
	const struct bb_role *r = bb_policy_find_role(&b->policy, p->role);
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int fd;

	close(s->fd);
	s->fd = -1;
	s->used = false;
	if (!r)
		return -ENOENT;
	fd = bb_dbus_allocate_from_role(b, r, p->size, O_RDWR, NULL, s->heap, sizeof(s->heap), &e);
	if (fd < 0)
		log_debug("role %s: cannot renew a reserved buffer: %s", p->role,
			  e.message ? e.message : strerror(-fd));
	sd_bus_error_free(&e);
	if (fd < 0)
		return fd;
	s->fd = fd;
	return 0;
}

static void reserve_timer_cb(evutil_socket_t fd, short what, void *arg);

/* Renew, in the background, slots their clients let go of, and refill empty ones; poll every
 * 100 ms while a slot is out or empty. */
static void arm_timer(struct bb_broker *b)
{
	struct timeval tv = { 0, 100 * 1000 };

	if (!b->base)
		return;
	if (!b->reserve_timer)
		b->reserve_timer = evtimer_new(b->base, reserve_timer_cb, b);
	if (b->reserve_timer && !evtimer_pending(b->reserve_timer, NULL))
		evtimer_add(b->reserve_timer, &tv);
}

static void reserve_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bb_broker *b = arg;
	bool again = false;

	(void)fd;
	(void)what;
	for (struct bb_reserve *p = b->reserves; p; p = p->next) {
		for (unsigned int k = 0; k < p->want; k++) {
			struct bb_reserve_slot *s = &p->slot[k];

			if (s->fd >= 0 && s->used && bb_dmabuf_file_count(s->fd) == 1)
				renew_slot(b, p, s);
			if (s->fd < 0) {
				const struct bb_role *r = bb_policy_find_role(&b->policy, p->role);
				sd_bus_error e = SD_BUS_ERROR_NULL;
				int nfd = r ? bb_dbus_allocate_from_role(b, r, p->size, O_RDWR, NULL, s->heap,
									 sizeof(s->heap), &e)
					    : -ENOENT;

				sd_bus_error_free(&e);
				if (nfd >= 0) {
					s->fd = nfd;
					s->used = false;
				}
			}
			if (s->fd >= 0 && s->used)
				again = true; /* still held; an empty slot that failed waits for a heap event */
		}
	}
	if (again)
		arm_timer(b);
}

int bb_reserve_take(struct bb_broker *b, const struct bb_role *role, uint64_t size, int fd_flags,
		    char *heap, size_t heaplen)
{
	struct bb_reserve *p = pool_find(b, role->name);
	struct bb_reserve_slot *pick = NULL;

	if (!p || p->size != size || (fd_flags & O_ACCMODE) != O_RDWR)
		return -ENOENT;
	/* A renewed (or never used) slot first; else one nobody holds, renewed now. */
	for (unsigned int k = 0; k < p->want && !pick; k++)
		if (p->slot[k].fd >= 0 && !p->slot[k].used)
			pick = &p->slot[k];
	for (unsigned int k = 0; k < p->want && !pick; k++) {
		struct bb_reserve_slot *s = &p->slot[k];

		if (s->fd >= 0 && bb_dmabuf_file_count(s->fd) == 1 && renew_slot(b, p, s) == 0)
			pick = s;
	}
	if (!pick)
		return -EBUSY;
	int fd = fcntl(pick->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	pick->used = true;
	snprintf(heap, heaplen, "%s", pick->heap);
	arm_timer(b);
	return fd;
}

void bb_reserves_free(struct bb_broker *b)
{
	if (b->reserve_timer) {
		event_free(b->reserve_timer);
		b->reserve_timer = NULL;
	}
	while (b->reserves) {
		struct bb_reserve *p = b->reserves;

		b->reserves = p->next;
		pool_close(p);
		free(p);
	}
}
