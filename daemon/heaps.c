// SPDX-License-Identifier: MIT
/*
 * heaps.c - heap discovery.
 *
 * Every inotify event leads to a full rescan and a diff against the previous list, so lost or
 * coalesced events (IN_Q_OVERFLOW) cannot leave the list wrong.
 */
#include "heaps.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "log.h"

#define DIR_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB)
#define PARENT_MASK (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM)

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void watch_dir(struct bb_heaps *h)
{
	if (h->wd_dir >= 0)
		return;
	h->wd_dir = inotify_add_watch(h->ino_fd, h->dir, DIR_MASK | IN_ONLYDIR);
	if (h->wd_dir < 0 && errno != ENOENT)
		log_warn("cannot watch %s: %s", h->dir, strerror(errno));
}

int bb_heaps_init(struct bb_heaps *h, const char *dir, bb_heaps_cb cb, void *userdata)
{
	char *tmp;

	memset(h, 0, sizeof(*h));
	h->ino_fd = h->wd_dir = h->wd_parent = -1;
	h->cb = cb;
	h->userdata = userdata;
	h->dir = strdup(dir);
	tmp = strdup(dir);
	if (!h->dir || !tmp) {
		free(tmp);
		return -ENOMEM;
	}
	h->parent = strdup(dirname(tmp));
	free(tmp);
	tmp = strdup(dir);
	h->base = tmp ? strdup(basename(tmp)) : NULL;
	free(tmp);
	if (!h->parent || !h->base)
		return -ENOMEM;
	h->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (h->ino_fd < 0)
		return -errno;
	h->wd_parent = inotify_add_watch(h->ino_fd, h->parent, PARENT_MASK | IN_ONLYDIR);
	if (h->wd_parent < 0)
		log_warn("cannot watch %s: %s; heaps that appear later are not noticed", h->parent,
			 strerror(errno));
	watch_dir(h);
	return 0;
}

void bb_heaps_fini(struct bb_heaps *h)
{
	if (h->ino_fd >= 0)
		close(h->ino_fd);
	for (size_t i = 0; i < h->n; i++)
		free(h->names[i]);
	free(h->names);
	free(h->dir);
	free(h->parent);
	free(h->base);
	memset(h, 0, sizeof(*h));
	h->ino_fd = -1;
}

int bb_heaps_fd(const struct bb_heaps *h)
{
	return h->ino_fd;
}

bool bb_heaps_has(const struct bb_heaps *h, const char *name)
{
	return h->n && bsearch(&name, h->names, h->n, sizeof(char *), cmp_str) != NULL;
}

static int scan(const char *dir, char ***out, size_t *n_out)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *d;
	DIR *dp = opendir(dir);

	*out = NULL;
	*n_out = 0;
	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	while ((d = readdir(dp))) {
		char **nn;

		if (d->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(char *));
		if (!nn || !(nn[n] = strdup(d->d_name))) {
			names = nn ? nn : names;
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			free(names);
			closedir(dp);
			return -ENOMEM;
		}
		names = nn;
		n++;
	}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	*out = names;
	*n_out = n;
	return 0;
}

int bb_heaps_rescan(struct bb_heaps *h)
{
	char **names;
	size_t n, i = 0, j = 0;
	int r;

	watch_dir(h);
	r = scan(h->dir, &names, &n);
	if (r < 0)
		return r;
	/* merge-diff two sorted lists */
	while (i < h->n || j < n) {
		int c = i == h->n ? 1 : j == n ? -1 : strcmp(h->names[i], names[j]);

		if (c < 0) {
			log_info("heap %s disappeared", h->names[i]);
			if (h->cb)
				h->cb(h->userdata, h->names[i], false);
			i++;
		} else if (c > 0) {
			log_info("heap %s appeared", names[j]);
			if (h->cb)
				h->cb(h->userdata, names[j], true);
			j++;
		} else {
			i++;
			j++;
		}
	}
	for (i = 0; i < h->n; i++)
		free(h->names[i]);
	free(h->names);
	h->names = names;
	h->n = n;
	return 0;
}

int bb_heaps_process(struct bb_heaps *h)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;

	for (;;) {
		ssize_t len = read(h->ino_fd, buf, sizeof(buf));

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		if (len == 0)
			break;
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->wd == h->wd_dir && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))) {
				if (!(ev->mask & IN_IGNORED))
					inotify_rm_watch(h->ino_fd, h->wd_dir);
				h->wd_dir = -1;
			}
			if (ev->wd != h->wd_parent || (ev->len && strcmp(ev->name, h->base) == 0) ||
			    (ev->mask & IN_Q_OVERFLOW))
				changed = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return changed ? bb_heaps_rescan(h) : 0;
}
