// SPDX-License-Identifier: MIT
/*
 * buffers.c - the buffer table (see buffers.h for who owns which fd).
 */
#include "buffers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bb_buffers_init(struct bb_buffers *t)
{
	memset(t, 0, sizeof(*t));
	t->next_id = 1;
}

struct bb_buffer *bb_buffers_add(struct bb_buffers *t, struct bb_client *client, const char *role,
				 const char *heap, const char *name, uint64_t size, int fd,
				 bool imported, uint64_t origin)
{
	struct bb_buffer *b = calloc(1, sizeof(*b));

	if (!b) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	b->id = t->next_id++;
	b->client = client;
	snprintf(b->role, sizeof(b->role), "%s", role ? role : "");
	snprintf(b->heap, sizeof(b->heap), "%s", heap ? heap : "");
	snprintf(b->name, sizeof(b->name), "%s", name ? name : "");
	b->size = size;
	b->fd = fd;
	b->imported = imported;
	b->origin = origin;
	b->next = t->head;
	t->head = b;
	t->n++;
	return b;
}

struct bb_buffer *bb_buffers_find(struct bb_buffers *t, uint64_t id)
{
	for (struct bb_buffer *b = t->head; b; b = b->next)
		if (b->id == id)
			return b;
	return NULL;
}

void bb_buffers_remove(struct bb_buffers *t, struct bb_buffer *b)
{
	for (struct bb_buffer **pp = &t->head; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			if (b->fd >= 0)
				close(b->fd);
			free(b);
			t->n--;
			return;
		}
	}
}

unsigned int bb_buffers_remove_client(struct bb_buffers *t, const struct bb_client *client)
{
	unsigned int n = 0;

	for (struct bb_buffer **pp = &t->head; *pp;) {
		struct bb_buffer *b = *pp;

		if (b->client != client) {
			pp = &b->next;
			continue;
		}
		*pp = b->next;
		if (b->fd >= 0)
			close(b->fd);
		free(b);
		t->n--;
		n++;
	}
	return n;
}

void bb_buffers_clear(struct bb_buffers *t)
{
	while (t->head)
		bb_buffers_remove(t, t->head);
}

struct bb_usage bb_buffers_usage(const struct bb_buffers *t, const struct bb_client *client,
				 const char *role)
{
	struct bb_usage u = { 0, 0 };

	for (const struct bb_buffer *b = t->head; b; b = b->next) {
		if (b->imported || (client && b->client != client) || (role && strcmp(b->role, role)))
			continue;
		/* Cannot wrap: every buffer passed bb_quota_check() against these sums. */
		u.bytes += b->size;
		u.buffers++;
	}
	return u;
}
