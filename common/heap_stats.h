/* SPDX-License-Identifier: MIT */
/*
 * heap_stats.h - read the module's per-region statistics from
 * /sys/kernel/bufbroker/regions/<region>/ (docs/contracts.md, "Statistics").
 * The directory is a parameter so tests can point it at a temporary tree.
 */
#ifndef BB_COMMON_HEAP_STATS_H
#define BB_COMMON_HEAP_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Default statistics directory (one subdirectory per region). */
#define BB_STATS_DIR_DEFAULT "/sys/kernel/bufbroker/regions"
/** Longest heap/region name plus the NUL; longer names give -ENAMETOOLONG. */
#define BB_HEAP_NAME_MAX 64
/** Most heap names (or aliases) one region may have; more give -E2BIG. */
#define BB_REGION_MAX_NAMES 16

/**
 * struct bb_region_stats - one region's statistics
 * @name: the region's directory name (its primary name)
 * @heaps: the `heaps` file: every /dev/dma_heap name, primary first
 * @aliases: the `aliases` file (may be empty)
 * @is_default: the `default` file is 1
 * @size, @bytes_allocated, @buffers_allocated, @peak_bytes, @failures: the
 *   counters of the same name.  A missing `aliases`, `default`,
 *   `buffers_allocated`, `peak_bytes` or `failures` file reads as empty/0;
 *   `heaps` and `size` are required.
 */
struct bb_region_stats {
	char name[BB_HEAP_NAME_MAX];
	unsigned int n_heaps;
	char heaps[BB_REGION_MAX_NAMES][BB_HEAP_NAME_MAX];
	unsigned int n_aliases;
	char aliases[BB_REGION_MAX_NAMES][BB_HEAP_NAME_MAX];
	bool is_default;
	uint64_t size;
	uint64_t bytes_allocated;
	uint64_t buffers_allocated;
	uint64_t peak_bytes;
	uint64_t failures;
};

/**
 * bb_region_stats_read() - read one region
 * @stats_dir: e.g. BB_STATS_DIR_DEFAULT
 * @region: subdirectory name
 * @out: filled on success
 * Return: 0; -ENOENT (no such region or required file); -EINVAL (a file
 * does not parse, or @region contains '/'); -ENAMETOOLONG; -E2BIG; other
 * -errno from open/read.
 */
int bb_region_stats_read(const char *stats_dir, const char *region, struct bb_region_stats *out);

/**
 * bb_region_stats_read_all() - read every region, sorted by name
 * @out: set to a malloc()ed array the caller frees with free(); NULL if none
 * @n_out: number of entries
 * Return: 0 (possibly with zero regions), -ENOENT if @stats_dir does not
 * exist (module not loaded), or the first error of bb_region_stats_read().
 */
int bb_region_stats_read_all(const char *stats_dir, struct bb_region_stats **out, size_t *n_out);

/**
 * bb_region_stats_has_name() - whether @name is the region's name, one of
 * its heaps or one of its aliases.
 */
bool bb_region_stats_has_name(const struct bb_region_stats *rs, const char *name);

#endif /* BB_COMMON_HEAP_STATS_H */
