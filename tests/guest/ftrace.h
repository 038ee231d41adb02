/* SPDX-License-Identifier: MIT */
/*
 * Counting kernel function calls of this process with the function tracer (tracefs, root):
 * facts such as "no cache maintenance happened" are then asserted as counts, not timed.
 */
#ifndef BB_FTRACE_H
#define BB_FTRACE_H

#include <stddef.h>

/* arm64's per-range cache maintenance for non-coherent DMA (arch/arm64/mm/dma-mapping.c):
 * what to trace, and what its trace lines contain. */
#define BB_CACHE_MAINT_FUNCS "arch_sync_dma_for_cpu arch_sync_dma_for_device"
#define BB_CACHE_MAINT_LINE "arch_sync_dma_for_"

/* Trace calls of @funcs (space-separated) made by this process, from now on. Mounts tracefs
 * if needed. Returns 0, -EINVAL when a function is not traceable on this kernel, or -errno. */
int bb_ftrace_start(const char *funcs);
/* The same for calls made by any task (kernel workers included). */
int bb_ftrace_start_all(const char *funcs);
/* Stop, and count the traced calls whose line contains @needle; the first such line goes to
 * @first (may be NULL). Resets the tracer either way. Returns the count or -errno. */
int bb_ftrace_stop_count(const char *needle, char *first, size_t first_len);
/* Tracer off, no filter, empty buffer. */
void bb_ftrace_reset(void);

#endif
