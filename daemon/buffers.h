/* SPDX-License-Identifier: MIT */
/*
 * buffers.h - the buffer table: id -> fd, owner, role, heap, size, name.
 *
 * fd policy: an owned buffer keeps the daemon's own dma-buf fd from Allocate until Release or the
 * owner's disconnect, because Share/Import need it and the owner never hands an fd back. It is
 * closed there, so once the owner and every importer have closed theirs the memory is freed.
 * Imported entries hold no fd: the importer has its own, and the entry is bookkeeping only.
 *
 * Accounting is derived from this table (bb_buffers_usage), so it cannot drift from it.
 * No D-Bus in here: the table is unit-tested on the host.
 */
#ifndef BB_BUFFERS_H
#define BB_BUFFERS_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

struct bb_client;

struct bb_buffer {
	uint64_t id;
	struct bb_client *client; /* owner, or importer for an imported entry (borrowed) */
	char role[BB_ROLE_NAME_MAX + 1];
	char heap[BB_POLICY_HEAP_NAME_MAX + 1];
	char name[32];
	uint64_t size;
	int fd;        /* owned: the daemon's fd (owned by the table); imported: -1 */
	bool imported; /* false: charged to @client; true: imported, not charged */
	uint64_t origin; /* imported: id of the owner's buffer it came from */
	struct bb_buffer *next;
};

struct bb_usage {
	uint64_t bytes;
	uint64_t buffers;
};

struct bb_buffers {
	struct bb_buffer *head;
	uint64_t next_id;
	uint64_t n;
};

void bb_buffers_init(struct bb_buffers *t);

/* Insert; takes ownership of @fd (may be -1). Ids are never reused. NULL on ENOMEM (fd closed). */
struct bb_buffer *bb_buffers_add(struct bb_buffers *t, struct bb_client *client, const char *role,
				 const char *heap, const char *name, uint64_t size, int fd,
				 bool imported, uint64_t origin);

/* Borrowed, or NULL. */
struct bb_buffer *bb_buffers_find(struct bb_buffers *t, uint64_t id);

/* Unlink, close the fd, free. */
void bb_buffers_remove(struct bb_buffers *t, struct bb_buffer *b);

/* Remove every entry of @client; returns how many. */
unsigned int bb_buffers_remove_client(struct bb_buffers *t, const struct bb_client *client);

void bb_buffers_clear(struct bb_buffers *t);

/* Sum of owned (not imported) buffers, filtered by @client and/or @role when not NULL. */
struct bb_usage bb_buffers_usage(const struct bb_buffers *t, const struct bb_client *client,
				 const char *role);

#endif
