// SPDX-License-Identifier: MIT
#include "bbutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

uint64_t bb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

size_t bb_page_size(void)
{
	static size_t ps;
	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

int bb_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off + 1 < len) {
		ssize_t n = read(fd, buf + off, len - 1 - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			return e;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	close(fd);
	return (int)off;
}

long bb_meminfo_kib(const char *field)
{
	char buf[8192], key[64];
	if (bb_read_file("/proc/meminfo", buf, sizeof(buf)) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s:", field);
	size_t kl = strlen(key);
	for (const char *line = buf; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, kl))
			return strtol(line + kl, NULL, 10);
	}
	return -1;
}

int bb_read_u64(const char *path, uint64_t *out)
{
	char buf[64];
	int n = bb_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 0);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EINVAL;
	*out = v;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct bb_region *)a)->name, ((const struct bb_region *)b)->name);
}

int bb_regions(struct bb_region *r, int max)
{
	DIR *d = opendir(BB_SYSFS_REGIONS);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		struct bb_region *x = &r[n];
		memset(x, 0, sizeof(*x));
		snprintf(x->name, sizeof(x->name), "%s", de->d_name);
		char path[512], buf[1024];
		snprintf(path, sizeof(path), BB_SYSFS_REGIONS "/%s/size", de->d_name);
		if (bb_read_u64(path, &x->size) < 0)
			continue;
		snprintf(path, sizeof(path), BB_SYSFS_REGIONS "/%s/base", de->d_name);
		x->have_base = bb_read_u64(path, &x->base) == 0;
		uint64_t def = 0;
		snprintf(path, sizeof(path), BB_SYSFS_REGIONS "/%s/default", de->d_name);
		if (bb_read_u64(path, &def) == 0)
			x->is_default = def == 1;
		uint64_t uc = 0;
		snprintf(path, sizeof(path), BB_SYSFS_REGIONS "/%s/uncached", de->d_name);
		if (bb_read_u64(path, &uc) == 0)
			x->uncached = uc == 1;
		x->bounds_known = x->have_base &&
				  !(x->base == 0 && !strcmp(x->name, "default_cma_region"));
		snprintf(path, sizeof(path), BB_SYSFS_REGIONS "/%s/heaps", de->d_name);
		if (bb_read_file(path, buf, sizeof(buf)) >= 0) {
			char *save = NULL;
			for (char *t = strtok_r(buf, "\n", &save); t && x->n_heaps < BB_MAX_NAMES;
			     t = strtok_r(NULL, "\n", &save))
				if (*t)
					snprintf(x->heaps[x->n_heaps++], BB_NAME_LEN, "%s", t);
		}
		n++;
	}
	closedir(d);
	qsort(r, (size_t)n, sizeof(*r), by_name);
	return n;
}

const struct bb_region *bb_region_with_heap(const struct bb_region *regs, int n, const char *heap)
{
	for (int i = 0; i < n; i++)
		for (unsigned int j = 0; j < regs[i].n_heaps; j++)
			if (!strcmp(regs[i].heaps[j], heap))
				return &regs[i];
	return NULL;
}

int bb_region_find(const char *name, struct bb_region *out)
{
	struct bb_region rs[BB_MAX_REGIONS];
	int n = bb_regions(rs, BB_MAX_REGIONS);
	const struct bb_region *r;

	if (n < 0)
		return n;
	r = bb_region_with_heap(rs, n, name);
	for (int i = 0; i < n && !r; i++)
		if (!strcmp(rs[i].name, name))
			r = &rs[i];
	if (!r)
		return -ENOENT;
	*out = *r;
	return 0;
}

bool bb_same_region(const char *name, const char *heap)
{
	struct bb_region r;

	if (bb_region_find(heap, &r) < 0)
		return false;
	return bb_region_with_heap(&r, 1, name) || !strcmp(r.name, name);
}

/* Read n decimal files of the region's sysfs directory. Returns 0 or -errno. */
static int region_read_files(const struct bb_region *r, const char *const *files, uint64_t **dst,
			     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof(path), BB_SYSFS_REGIONS "/%s/%s", r->name, files[i]);
		int e = bb_read_u64(path, dst[i]);
		if (e < 0)
			return e;
	}
	return 0;
}

int bb_region_stats(const struct bb_region *r, struct bb_stats *s)
{
	static const char *const f[] = { "bytes_allocated", "buffers_allocated", "peak_bytes",
					  "failures", "flushed_bytes", "held_bytes" };
	uint64_t *dst[] = { &s->bytes_allocated, &s->buffers_allocated, &s->peak_bytes,
			    &s->failures, &s->flushed_bytes, &s->held_bytes };
	_Static_assert(sizeof(f) / sizeof(f[0]) == sizeof(dst) / sizeof(dst[0]), "one file per field");
	return region_read_files(r, f, dst, sizeof(f) / sizeof(f[0]));
}

int bb_region_recycle_stats(const struct bb_region *r, struct bb_recycle_stats *s)
{
	static const char *const f[] = { "recycle_ms", "recycled_bytes", "recycled_clean_bytes",
					  "recycle_hits", "recycle_precleared" };
	uint64_t *dst[] = { &s->recycle_ms, &s->recycled_bytes, &s->recycled_clean_bytes,
			    &s->recycle_hits, &s->recycle_precleared };
	_Static_assert(sizeof(f) / sizeof(f[0]) == sizeof(dst) / sizeof(dst[0]), "one file per field");
	return region_read_files(r, f, dst, sizeof(f) / sizeof(f[0]));
}

int bb_write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t done = 0, len = strlen(value);
	int e = 0;
	while (done < len && !e) {
		ssize_t n = write(fd, value + done, len - done);
		if (n > 0)
			done += (size_t)n;
		else
			e = n < 0 ? -errno : -EIO;
	}
	close(fd);
	return e;
}

int bb_region_dt_prop(const struct bb_region *r, const char *prop, void *buf, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "/sys/firmware/devicetree/base/reserved-memory/%s/%s", r->name,
		 prop);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len);
	int e = n < 0 ? -errno : (int)n;
	close(fd);
	return e;
}

int bb_region_set_recycle_ms(const struct bb_region *r, const char *value)
{
	char path[512];
	snprintf(path, sizeof(path), BB_SYSFS_REGIONS "/%s/recycle_ms", r->name);
	return bb_write_file(path, value);
}

int bb_heap_nodes(char names[][BB_NAME_LEN], int max)
{
	DIR *d = opendir(BB_HEAP_DIR);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(names[n++], BB_NAME_LEN, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

int bb_heap_open(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), BB_HEAP_DIR "/%s", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int bb_heap_alloc(int heap_fd, uint64_t len)
{
	struct dma_heap_allocation_data d = {
		.len = len,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};
	if (ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &d) < 0)
		return -errno;
	return (int)d.fd;
}

int bb_sync(int buf_fd, bool start, uint64_t rw_flags)
{
	struct dma_buf_sync s = { .flags = (start ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) | rw_flags };
	while (ioctl(buf_fd, DMA_BUF_IOCTL_SYNC, &s) < 0) {
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
	return 0;
}

#define PM_PRESENT (1ULL << 63)
#define PM_PFN_MASK ((1ULL << 55) - 1)

int bb_phys_pages(const void *addr, size_t len, uint64_t *phys)
{
	size_t ps = bb_page_size();
	size_t n = len / ps;
	const volatile unsigned char *p = addr;
	for (size_t i = 0; i < n; i++)
		(void)p[i * ps];
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t first = (uintptr_t)addr / ps;
	int ret = 0;
	/* Read in chunks to keep the syscall count low. */
	uint64_t ent[512];
	for (size_t i = 0; i < n;) {
		size_t chunk = n - i < 512 ? n - i : 512;
		ssize_t r = pread(fd, ent, chunk * 8, (off_t)((first + i) * 8));
		if (r != (ssize_t)(chunk * 8)) {
			ret = r < 0 ? -errno : -EIO;
			break;
		}
		for (size_t j = 0; j < chunk; j++) {
			if (!(ent[j] & PM_PRESENT)) {
				ret = -ENOENT;
				goto done;
			}
			uint64_t pfn = ent[j] & PM_PFN_MASK;
			if (!pfn) {
				ret = -EPERM;
				goto done;
			}
			phys[i + j] = pfn * ps;
		}
		i += chunk;
	}
done:
	close(fd);
	return ret;
}

int bb_check_phys(const void *addr, size_t len, uint64_t base, uint64_t size, bool need_contig,
		  char *msg, size_t msglen)
{
	size_t ps = bb_page_size();
	size_t n = len / ps;
	uint64_t *phys = malloc(n * sizeof(*phys));
	if (!phys) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	int ret = bb_phys_pages(addr, len, phys);
	if (ret < 0) {
		snprintf(msg, msglen, "pagemap: %s", strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (size && (phys[i] < base || phys[i] + ps > base + size)) {
			snprintf(msg, msglen,
				 "page %zu of %zu at phys 0x%" PRIx64 " outside region [0x%" PRIx64
				 ", 0x%" PRIx64 ")",
				 i, n, phys[i], base, base + size);
			ret = -ERANGE;
			goto out;
		}
		if (need_contig && phys[i] != phys[0] + i * ps) {
			snprintf(msg, msglen,
				 "not contiguous: page %zu at 0x%" PRIx64 ", page 0 at 0x%" PRIx64, i,
				 phys[i], phys[0]);
			ret = -EFAULT;
			goto out;
		}
	}
out:
	free(phys);
	return ret;
}

int bb_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}
