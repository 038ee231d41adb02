/* SPDX-License-Identifier: MIT */
/*
 * heap_names.h - resolve a heap name to a /dev/dma_heap node, the same way
 * in bufbrokerd, libbufbroker's direct mode and bufbrokerctl.
 *
 * Order (first match wins):
 *  1. exact: <heap_dir>/<name> exists;
 *  2. alias: a region under <stats_dir> whose directory name, `heaps` or
 *     `aliases` lists <name>; the result is the first name of that region's
 *     `heaps` file that exists in <heap_dir> (primary first);
 *  3. only when <name> asks for "the default CMA area" - NULL, "", "default",
 *     BB_DEFAULT_HEAP_NAME or one of the legacy names below:
 *     a. the mainline default name `default_cma_region`;
 *     b. the first existing heap of the region whose `default` file is 1;
 *     c. the legacy names applications probe today, in this order:
 *        `linux,cma`, `reserved`, `default-pool`.
 * A specific name that matches nothing ("camera" on a board without such a
 * region) gives -ENOENT and never falls back to the default area: silently
 * handing a camera pipeline the general CMA pool would hide a broken DT.
 *
 * Both directories are parameters (tests use a temporary tree); callers
 * normally pass BB_HEAP_DIR_DEFAULT and BB_STATS_DIR_DEFAULT.  A missing
 * stats directory (module not loaded) only skips steps 2 and 3b.
 */
#ifndef BB_COMMON_HEAP_NAMES_H
#define BB_COMMON_HEAP_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "heap_stats.h"

#define BB_HEAP_DIR_DEFAULT "/dev/dma_heap"
/** The mainline (6.17+) name of the default CMA area. */
#define BB_DEFAULT_HEAP_NAME "default_cma_region"

/**
 * bb_heap_name_valid() - non-empty, shorter than BB_HEAP_NAME_MAX, no '/',
 * not "." or "..".
 */
bool bb_heap_name_valid(const char *name);

/**
 * bb_heap_name_is_default_request() - whether @name asks for the default
 * CMA area (NULL, "", "default", "default_cma_region", a legacy name).
 */
bool bb_heap_name_is_default_request(const char *name);

/**
 * bb_heap_resolve() - resolve @name to an existing heap node name
 * @heap_dir: e.g. BB_HEAP_DIR_DEFAULT
 * @stats_dir: e.g. BB_STATS_DIR_DEFAULT (may be NULL: no alias lookup)
 * @name: requested name; NULL or "" asks for the default area
 * @out: receives the node name (not the path)
 * @outlen: size of @out; BB_HEAP_NAME_MAX is always enough
 * Return: 0; -EINVAL (invalid name or arguments); -ENOENT (nothing matches);
 * -ERANGE (@outlen too small); -errno opening @heap_dir.
 */
int bb_heap_resolve(const char *heap_dir, const char *stats_dir, const char *name, char *out,
		    size_t outlen);

/**
 * bb_heap_open() - resolve @name and open the heap node
 * @resolved: optional, receives the resolved name (size BB_HEAP_NAME_MAX)
 * Return: a new fd the caller owns (O_RDONLY | O_CLOEXEC | O_NOFOLLOW), or
 * the -errno of bb_heap_resolve() or of open (-EACCES without permission).
 */
int bb_heap_open(const char *heap_dir, const char *stats_dir, const char *name, char *resolved,
		 size_t resolved_len);

#endif /* BB_COMMON_HEAP_NAMES_H */
