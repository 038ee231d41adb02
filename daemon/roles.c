// SPDX-License-Identifier: MIT
/*
 * roles.c - map a role's entries to heap names.
 *
 * The board's DTS is the single source of truth for which device uses which region: a device node
 * has "memory-region = <&phandle>", and the region node's full name is the heap name the module
 * registers (docs/contracts.md). We read that from the live tree under /sys/firmware/devicetree/base.
 */
#include "roles.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read a DT property of at least 4 bytes; the first cell, big-endian. */
static int read_cell(const char *dir, const char *prop, uint32_t *out)
{
	char path[PATH_MAX];
	unsigned char b[4];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, prop) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, b, sizeof(b));
	close(fd);
	if (n != (ssize_t)sizeof(b))
		return -EINVAL;
	*out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

static int copy_name(const char *name, char *heap, size_t len)
{
	if (!bb_policy_heap_name_valid(name))
		return -EINVAL;
	if (strlen(name) >= len)
		return -ENAMETOOLONG;
	strcpy(heap, name);
	return 0;
}

static int find_region(const char *dt_base, uint32_t phandle, char *heap, size_t len)
{
	char rmem[PATH_MAX];
	struct dirent *d;
	DIR *dir;
	int r = -ENOENT;

	if (snprintf(rmem, sizeof(rmem), "%s/reserved-memory", dt_base) >= (int)sizeof(rmem))
		return -ENAMETOOLONG;
	dir = opendir(rmem);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		char node[PATH_MAX];
		uint32_t ph;

		if (d->d_name[0] == '.')
			continue;
		if (snprintf(node, sizeof(node), "%s/%s", rmem, d->d_name) >= (int)sizeof(node))
			continue;
		if ((read_cell(node, "phandle", &ph) == 0 || read_cell(node, "linux,phandle", &ph) == 0) &&
		    ph == phandle) {
			r = copy_name(d->d_name, heap, len);
			break;
		}
	}
	closedir(dir);
	return r;
}

/* @node: a directory in the live tree; @name: its base name. */
static int resolve_node(const char *dt_base, const char *node, char *heap, size_t len)
{
	char real_base[PATH_MAX], real_node[PATH_MAX], rmem[PATH_MAX + 20];
	uint32_t phandle;
	int r;

	if (!realpath(node, real_node))
		return errno == ENOENT ? -ENODEV : -errno;
	if (!realpath(dt_base, real_base))
		return -errno;
	/* A /reserved-memory child names itself. */
	snprintf(rmem, sizeof(rmem), "%s/reserved-memory/", real_base);
	if (strncmp(real_node, rmem, strlen(rmem)) == 0 && !strchr(real_node + strlen(rmem), '/'))
		return copy_name(real_node + strlen(rmem), heap, len);

	r = read_cell(real_node, "memory-region", &phandle);
	if (r == -ENOENT)
		return -ENODEV;
	if (r < 0)
		return r;
	return find_region(real_base, phandle, heap, len);
}

int bb_role_resolve_entry(const struct bb_heap_entry *e, const struct bb_sysfs_paths *paths,
			  char *heap, size_t len)
{
	char node[PATH_MAX];

	switch (e->kind) {
	case BB_ENTRY_HEAP:
		return copy_name(e->value, heap, len);
	case BB_ENTRY_DT_NODE:
		if (snprintf(node, sizeof(node), "%s%s", paths->dt_base, e->value) >= (int)sizeof(node))
			return -ENAMETOOLONG;
		return resolve_node(paths->dt_base, node, heap, len);
	case BB_ENTRY_V4L2:
		if (snprintf(node, sizeof(node), "%s/%s/device/of_node", paths->v4l2_class,
			     e->value + strlen("/dev/")) >= (int)sizeof(node))
			return -ENAMETOOLONG;
		return resolve_node(paths->dt_base, node, heap, len);
	}
	return -EINVAL;
}
