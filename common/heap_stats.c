// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap_stats.h"

#define STATS_FILE_MAX 4096

/* Read a whole small file below dirfd into buf (NUL-terminated). */
static int read_small_file(int dirfd, const char *file, char *buf, size_t len)
{
	size_t got = 0;
	int fd, r = 0;

	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return r;
}

static int read_u64(int dirfd, const char *file, uint64_t *out, bool required)
{
	char buf[64], *end;
	unsigned long long v;
	int r;

	r = read_small_file(dirfd, file, buf, sizeof(buf));
	if (r == -ENOENT && !required) {
		*out = 0;
		return 0;
	}
	if (r < 0)
		return r;
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(buf, &end, 0);
	if (errno)
		return -EINVAL;
	while (*end == '\n' || *end == ' ' || *end == '\t')
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parse a one-name-per-line file into names[]. */
static int read_names(int dirfd, const char *file, char names[][BB_HEAP_NAME_MAX],
		      unsigned int *n_out, bool required)
{
	char buf[STATS_FILE_MAX], *line, *save = NULL;
	unsigned int n = 0;
	int r;

	*n_out = 0;
	r = read_small_file(dirfd, file, buf, sizeof(buf));
	if (r == -ENOENT && !required)
		return 0;
	if (r < 0)
		return r;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);

		while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len)
			continue;
		if (len >= BB_HEAP_NAME_MAX)
			return -ENAMETOOLONG;
		if (n == BB_REGION_MAX_NAMES)
			return -E2BIG;
		memcpy(names[n++], line, len + 1);
	}
	*n_out = n;
	return 0;
}

static int region_read_at(int dirfd, const char *region, struct bb_region_stats *out)
{
	uint64_t def;
	int rfd, r;

	if (!region[0] || strchr(region, '/') || !strcmp(region, ".") || !strcmp(region, ".."))
		return -EINVAL;
	if (strlen(region) >= BB_HEAP_NAME_MAX)
		return -ENAMETOOLONG;
	rfd = openat(dirfd, region, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;

	memset(out, 0, sizeof(*out));
	strcpy(out->name, region);
	r = read_names(rfd, "heaps", out->heaps, &out->n_heaps, true);
	if (r >= 0)
		r = read_names(rfd, "aliases", out->aliases, &out->n_aliases, false);
	if (r >= 0)
		r = read_u64(rfd, "default", &def, false);
	if (r >= 0) {
		out->is_default = def != 0;
		r = read_u64(rfd, "size", &out->size, true);
	}
	if (r >= 0)
		r = read_u64(rfd, "bytes_allocated", &out->bytes_allocated, false);
	if (r >= 0)
		r = read_u64(rfd, "buffers_allocated", &out->buffers_allocated, false);
	if (r >= 0)
		r = read_u64(rfd, "peak_bytes", &out->peak_bytes, false);
	if (r >= 0)
		r = read_u64(rfd, "failures", &out->failures, false);
	close(rfd);
	return r < 0 ? r : 0;
}

int bb_region_stats_read(const char *stats_dir, const char *region, struct bb_region_stats *out)
{
	int dirfd, r;

	if (!stats_dir || !region || !out)
		return -EINVAL;
	dirfd = open(stats_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	r = region_read_at(dirfd, region, out);
	close(dirfd);
	return r;
}

static int cmp_region(const void *a, const void *b)
{
	return strcmp(((const struct bb_region_stats *)a)->name,
		      ((const struct bb_region_stats *)b)->name);
}

int bb_region_stats_read_all(const char *stats_dir, struct bb_region_stats **out, size_t *n_out)
{
	struct bb_region_stats *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;
	int r = 0;

	if (!stats_dir || !out || !n_out)
		return -EINVAL;
	*out = NULL;
	*n_out = 0;
	dir = opendir(stats_dir);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct bb_region_stats *nl = reallocarray(list, ncap, sizeof(*list));

			if (!nl) {
				r = -ENOMEM;
				break;
			}
			list = nl;
			cap = ncap;
		}
		r = region_read_at(dirfd(dir), de->d_name, &list[n]);
		if (r == -ENOTDIR) { /* DT_UNKNOWN that was not a directory */
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		n++;
	}
	closedir(dir);
	if (r < 0) {
		free(list);
		return r;
	}
	if (n)
		qsort(list, n, sizeof(*list), cmp_region);
	else {
		free(list);
		list = NULL;
	}
	*out = list;
	*n_out = n;
	return 0;
}

bool bb_region_stats_has_name(const struct bb_region_stats *rs, const char *name)
{
	if (!rs || !name)
		return false;
	if (!strcmp(rs->name, name))
		return true;
	for (unsigned int i = 0; i < rs->n_heaps; i++)
		if (!strcmp(rs->heaps[i], name))
			return true;
	for (unsigned int i = 0; i < rs->n_aliases; i++)
		if (!strcmp(rs->aliases[i], name))
			return true;
	return false;
}
