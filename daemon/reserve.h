/* SPDX-License-Identifier: MIT */
/*
 * reserve.h - per-role reservations (policy key `reserve = N x SIZE`): N buffers of SIZE
 * allocated from the role's heaps when the daemon starts, when a heap appears and after a reload,
 * and handed out again and again, so a client of the role does not wait for CMA migration.
 *
 * The pool keeps its own fd of every reserved dma-buf. Allocate of exactly SIZE (read-write) takes
 * a slot nobody else holds: the dma-buf's file count (/proc/self/fdinfo "count:") is 1, i.e. only
 * the pool's fd: the previous owner, its importers and every device and mapping let go of it.
 * A slot that was handed out before is zeroed (mmap + DMA_BUF_IOCTL_SYNC + memset) before it goes
 * out again. The client gets a duplicate of the pool's fd in the buffer table as usual:
 * accounting, naming, Share/Import and Release are unchanged. No free slot: the normal path.
 * A kernel whose dma-buf fdinfo has no "count:" line never reuses a slot (each serves once).
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
