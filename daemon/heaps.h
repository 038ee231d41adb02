/* SPDX-License-Identifier: MIT */
/*
 * heaps.h - which heaps exist in /dev/dma_heap, kept up to date with inotify on the directory and
 * on its parent (the directory appears when the module loads after the daemon started).
 */
#ifndef BB_HEAPS_H
#define BB_HEAPS_H

#include <stdbool.h>
#include <stddef.h>

typedef void (*bb_heaps_cb)(void *userdata, const char *name, bool added);

struct bb_heaps {
	char *dir;     /* e.g. /dev/dma_heap */
	char *parent;  /* e.g. /dev */
	char *base;    /* e.g. dma_heap */
	int ino_fd;    /* inotify fd, owned */
	int wd_dir;    /* -1 while the directory does not exist */
	int wd_parent;
	char **names;  /* sorted */
	size_t n;
	bb_heaps_cb cb;
	void *userdata;
};

/* Start watching; the first scan reports nothing (call bb_heaps_rescan to get callbacks). */
int bb_heaps_init(struct bb_heaps *h, const char *dir, bb_heaps_cb cb, void *userdata);
void bb_heaps_fini(struct bb_heaps *h);

/* The inotify fd to poll for reading. */
int bb_heaps_fd(const struct bb_heaps *h);

/* Read pending inotify events and rescan; calls cb for every heap added or removed. */
int bb_heaps_process(struct bb_heaps *h);

/* Rescan the directory; calls cb for changes. */
int bb_heaps_rescan(struct bb_heaps *h);

bool bb_heaps_has(const struct bb_heaps *h, const char *name);

#endif
