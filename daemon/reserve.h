/* SPDX-License-Identifier: MIT */
/*
 * reserve.h - per-role reservations (policy key `reserve = N x SIZE`): N buffers of SIZE
 * allocated from the role's heaps when the daemon starts, when a heap appears and after a reload,
 * and handed out again and again, so a client of the role does not wait for CMA migration.
 *
 * The pool keeps its own fd of every reserved dma-buf. Allocate of exactly SIZE (read-write) takes
 * a fresh slot; the client gets a duplicate of the pool's fd in the buffer table as usual:
 * accounting, naming, Share/Import and Release are unchanged. No slot: the normal path.
 * A slot that was handed out is renewed once nobody holds it - the dma-buf's file count
 * (/proc/self/fdinfo "count:") is 1, only the pool's fd: the owner, its importers, every mapping
 * and device let go - by freeing it and allocating the same size again: the range just freed is
 * the first fit and its pages are free (no migration), and the heap clears them, so no client sees
 * another's data. A 100 ms timer renews in the background while slots are out; Allocate renews
 * synchronously only when no fresh slot is left. A kernel whose dma-buf fdinfo has no "count:"
 * line never renews a slot (each serves once).
 */
#ifndef BB_RESERVE_H
#define BB_RESERVE_H

#include <stddef.h>
#include <stdint.h>

struct bb_broker;
struct bb_role;

/* Match the pools to the policy's roles and fill them up; cheap when nothing is missing. */
void bb_reserves_sync(struct bb_broker *b);

/*
 * bb_reserve_take() - a reserved buffer for @role of exactly @size bytes (already rounded).
 * @heap: receives the heap it came from.
 * Return: a new fd (the caller owns it) or -errno (-ENOENT: no reservation fits; -EBUSY: every
 * slot is in use) - then allocate normally.
 */
int bb_reserve_take(struct bb_broker *b, const struct bb_role *role, uint64_t size, int fd_flags,
		    char *heap, size_t heaplen);

/* Close every pool (shutdown). */
void bb_reserves_free(struct bb_broker *b);

/* The dma-buf's file count from /proc/self/fdinfo (count: line), or -errno. */
long bb_dmabuf_file_count(int fd);

#endif
