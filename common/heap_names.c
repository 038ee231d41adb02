// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heap_names.h"

static const char *const legacy_names[] = { "linux,cma", "reserved", "default-pool" };

bool bb_heap_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	return len > 0 && len < BB_HEAP_NAME_MAX && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..");
}

bool bb_heap_name_is_default_request(const char *name)
{
	if (!name || !name[0] || !strcmp(name, "default") || !strcmp(name, BB_DEFAULT_HEAP_NAME))
		return true;
	for (size_t i = 0; i < sizeof(legacy_names) / sizeof(legacy_names[0]); i++)
		if (!strcmp(name, legacy_names[i]))
			return true;
	return false;
}

/* A heap node exists: anything but a directory (tests use regular files). */
static bool node_exists(int dirfd, const char *name)
{
	struct stat st;

	if (!bb_heap_name_valid(name))
		return false;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return !S_ISDIR(st.st_mode);
}

static int copy_name(const char *name, char *out, size_t outlen)
{
	size_t len = strlen(name);

	if (len >= outlen)
		return -ERANGE;
	memcpy(out, name, len + 1);
	return 0;
}

/* First existing heap of rs, primary first. */
static const char *region_first_node(int dirfd, const struct bb_region_stats *rs)
{
	for (unsigned int i = 0; i < rs->n_heaps; i++)
		if (node_exists(dirfd, rs->heaps[i]))
			return rs->heaps[i];
	for (unsigned int i = 0; i < rs->n_aliases; i++)
		if (node_exists(dirfd, rs->aliases[i]))
			return rs->aliases[i];
	return NULL;
}

static int resolve_at(int dirfd, const char *stats_dir, const char *name, char *out, size_t outlen)
{
	struct bb_region_stats *regions = NULL;
	size_t n_regions = 0;
	const char *found = NULL;
	bool want_default = bb_heap_name_is_default_request(name);
	int r;

	/* 1. exact */
	if (name && name[0] && node_exists(dirfd, name))
		return copy_name(name, out, outlen);

	/* 2. alias, via the module's statistics */
	if (stats_dir && bb_region_stats_read_all(stats_dir, &regions, &n_regions) < 0) {
		regions = NULL;
		n_regions = 0;
	}
	if (name && name[0]) {
		for (size_t i = 0; i < n_regions && !found; i++)
			if (bb_region_stats_has_name(&regions[i], name))
				found = region_first_node(dirfd, &regions[i]);
	}

	/* 3. the default area: mainline name, default region, legacy names */
	if (!found && want_default) {
		if (node_exists(dirfd, BB_DEFAULT_HEAP_NAME))
			found = BB_DEFAULT_HEAP_NAME;
		for (size_t i = 0; i < n_regions && !found; i++)
			if (regions[i].is_default)
				found = region_first_node(dirfd, &regions[i]);
		for (size_t i = 0; i < sizeof(legacy_names) / sizeof(legacy_names[0]) && !found; i++)
			if (node_exists(dirfd, legacy_names[i]))
				found = legacy_names[i];
	}

	r = found ? copy_name(found, out, outlen) : -ENOENT;
	free(regions);
	return r;
}

int bb_heap_resolve(const char *heap_dir, const char *stats_dir, const char *name, char *out,
		    size_t outlen)
{
	int dirfd, r;

	if (!heap_dir || !out || !outlen)
		return -EINVAL;
	if (name && name[0] && !bb_heap_name_valid(name))
		return -EINVAL;
	dirfd = open(heap_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	r = resolve_at(dirfd, stats_dir, name, out, outlen);
	close(dirfd);
	return r;
}

int bb_heap_open(const char *heap_dir, const char *stats_dir, const char *name, char *resolved,
		 size_t resolved_len)
{
	char buf[BB_HEAP_NAME_MAX];
	int dirfd, fd, r;

	if (!heap_dir)
		return -EINVAL;
	if (name && name[0] && !bb_heap_name_valid(name))
		return -EINVAL;
	dirfd = open(heap_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	r = resolve_at(dirfd, stats_dir, name, buf, sizeof(buf));
	if (r < 0) {
		close(dirfd);
		return r;
	}
	fd = openat(dirfd, buf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	r = fd < 0 ? -errno : fd;
	close(dirfd);
	if (r >= 0 && resolved) {
		int c = copy_name(buf, resolved, resolved_len);

		if (c < 0) {
			close(fd);
			return c;
		}
	}
	return r;
}
