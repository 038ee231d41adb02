// SPDX-License-Identifier: MIT
/*
 * vivid_test: import heap buffers into a real contiguous importer, vivid with vb2-dma-contig
 * (modprobe vivid allocators=1 n_devs=1), capture frames, check the 75% colour bar pattern.
 *
 *   vivid_test [--heap NAME] [--frames N] [--mmap]
 *
 * --heap: heap to allocate from (default "camera", falling back to default_cma_region).
 * --mmap: use V4L2_MEMORY_MMAP instead of DMABUF (diagnostics, no heap needed).
 *
 * The capture node is the first vivid capture node whose instance uses dma-contig
 * (/sys/module/vivid/parameters/allocators, instance from bus_info "platform:vivid-NNN").
 *
 * Negative case: a non-contiguous dma-buf must be refused by the dma-contig importer. The only
 * non-contiguous exporter on 6.1 is a second vivid instance with the vmalloc allocator
 * (modprobe vivid n_devs=2 allocators=1,0); 6.12+ also have udmabuf. The buffer is proven
 * non-contiguous through pagemap before the import is tried. Without one the case is skipped.
 */
#include "bbutil.h"
#include "ftrace.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <linux/udmabuf.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NBUF 4
#define MAX_NODES 64

static const char *opt_heap;
static int opt_frames = 10;
static bool opt_mmap;

static char cap_path[64];   /* the dma-contig capture node under test */
static char other_caps[8][64]; /* further vivid capture nodes (possible vmalloc exporters) */
static int n_other;

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r;
}

/* ---------- colour bars ---------- */

/*
 * v4l2-tpg's 75% colour bar (tpg_get_color, v4l2-tpg-colors.c), left to right: white,
 * yellow, cyan, green, magenta, red, blue at R'G'B' 191/255 = 75%, then 100% black. vivid's
 * webcam input is sRGB with Rec.601 Y'CbCr, limited range, so the nominal values are the
 * classic 75% bars below. The guest measured 1-2 codes lower (tpg's fixed-point CSC):
 * 179/128/128 160/44/141 130/156/44 111/72/58 83/183/197 64/99/211 34/211/114 16/128/128.
 */
static const struct {
	const char *name;
	int y, u, v;
} bars[8] = {
	{ "white", 180, 128, 128 }, { "yellow", 162, 44, 142 }, { "cyan", 131, 156, 44 },
	{ "green", 112, 72, 58 },   { "magenta", 84, 184, 198 }, { "red", 65, 100, 212 },
	{ "blue", 35, 212, 114 },   { "black", 16, 128, 128 },
};
#define TOL 6

struct fmt {
	unsigned int width, height, stride, sizeimage;
};

/* Mean Y/U/V over the middle half of each bar on one row; fails on non-uniform bars. */
static int check_row(const uint8_t *row, const struct fmt *f, int means[8][3], char *msg,
		     size_t msglen)
{
	unsigned int bw = f->width / 8;
	for (int b = 0; b < 8; b++) {
		unsigned int x0 = b * bw + bw / 4, x1 = b * bw + bw * 3 / 4;
		x0 &= ~1u;
		x1 &= ~1u;
		long sy = 0, su = 0, sv = 0, n = 0;
		int ymin = 255, ymax = 0;
		for (unsigned int x = x0; x < x1; x += 2) {
			const uint8_t *p = row + x * 2;
			sy += p[0] + p[2];
			su += p[1];
			sv += p[3];
			n++;
			for (int k = 0; k < 3; k += 2) {
				if (p[k] < ymin)
					ymin = p[k];
				if (p[k] > ymax)
					ymax = p[k];
			}
		}
		if (!n) {
			snprintf(msg, msglen, "image too narrow");
			return -1;
		}
		means[b][0] = (int)(sy / (2 * n));
		means[b][1] = (int)(su / n);
		means[b][2] = (int)(sv / n);
		if (ymax - ymin > 2 * TOL) {
			snprintf(msg, msglen, "bar %d (%s) not uniform: Y %d..%d", b, bars[b].name, ymin,
				 ymax);
			return -1;
		}
	}
	for (int b = 0; b < 8; b++) {
		if (abs(means[b][0] - bars[b].y) > TOL || abs(means[b][1] - bars[b].u) > TOL ||
		    abs(means[b][2] - bars[b].v) > TOL) {
			snprintf(msg, msglen, "bar %d (%s): YUV %d/%d/%d, want %d/%d/%d +-%d", b,
				 bars[b].name, means[b][0], means[b][1], means[b][2], bars[b].y,
				 bars[b].u, bars[b].v, TOL);
			return -1;
		}
		/* Structural: luma falls from left to right. */
		if (b && means[b][0] >= means[b - 1][0]) {
			snprintf(msg, msglen, "luma does not fall from bar %d to %d", b - 1, b);
			return -1;
		}
	}
	return 0;
}

/* Rows checked: the first, one in the middle third, and the last (vivid's OSD text lives
 * near the top-left from row 16 on, and the first/last rows are clear of it). */
static int check_frame(const uint8_t *img, const struct fmt *f, char *msg, size_t msglen,
		       bool dump)
{
	unsigned int rows[3] = { 0, f->height * 2 / 3, f->height - 1 };
	for (int i = 0; i < 3; i++) {
		int means[8][3];
		int r = check_row(img + (size_t)rows[i] * f->stride, f, means, msg, msglen);
		if (dump || r) {
			char line[512];
			int n = snprintf(line, sizeof(line), "row %u bars Y/U/V:", rows[i]);
			for (int b = 0; b < 8 && n > 0 && (size_t)n < sizeof(line); b++)
				n += snprintf(line + n, sizeof(line) - (size_t)n, " %d/%d/%d",
					      means[b][0], means[b][1], means[b][2]);
			h_note("%s", line);
		}
		if (r) {
			size_t l = strlen(msg);
			snprintf(msg + l, msglen - l, " (row %u)", rows[i]);
			return r;
		}
	}
	return 0;
}

/* ---------- device discovery ---------- */

/* vivid instance number from bus_info "platform:vivid-NNN", or -1. */
static int vivid_capture_instance(const char *path, bool *capture)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct v4l2_capability cap;
	memset(&cap, 0, sizeof(cap));
	bool ok = xioctl(fd, VIDIOC_QUERYCAP, &cap) == 0;
	close(fd);
	if (!ok || strcmp((const char *)cap.driver, "vivid"))
		return -1;
	uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
	*capture = (caps & V4L2_CAP_VIDEO_CAPTURE) && (caps & V4L2_CAP_STREAMING);
	const char *dash = strrchr((const char *)cap.bus_info, '-');
	return dash ? atoi(dash + 1) : 0;
}

/* vivid's "allocators" module parameter: 0 vmalloc, 1 dma-contig, per instance. -1: unknown. */
static int vivid_allocator(int inst)
{
	char buf[512];
	if (inst < 0 || bb_read_file("/sys/module/vivid/parameters/allocators", buf, sizeof(buf)) <= 0)
		return -1;
	char *p = buf;
	for (int i = 0; i < inst && p; i++) {
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return p && *p >= '0' && *p <= '9' ? atoi(p) : 0 /* unset entries default to vmalloc */;
}

static void case_find(struct h_case *c, void *arg)
{
	(void)arg;
	char first[64] = "";
	int first_alloc = -1;
	for (int i = 0; i < MAX_NODES; i++) {
		char path[64];
		bool capture = false;
		snprintf(path, sizeof(path), "/dev/video%d", i);
		int inst = vivid_capture_instance(path, &capture);
		if (inst < 0 || !capture)
			continue;
		int alloc = vivid_allocator(inst);
		h_note("%s: vivid instance %d, allocator %s", path, inst,
		       alloc == 1 ? "dma-contig" : alloc == 0 ? "vmalloc" : "unknown");
		if (!first[0]) {
			snprintf(first, sizeof(first), "%s", path);
			first_alloc = alloc;
		}
		if (!cap_path[0] && alloc == 1)
			snprintf(cap_path, sizeof(cap_path), "%s", path);
		else if (alloc != 1 && n_other < 8)
			snprintf(other_caps[n_other++], sizeof(other_caps[0]), "%s", path);
	}
	CHECK(c, first[0], "no vivid video capture node in /dev/video0..%d", MAX_NODES - 1);
	if (!cap_path[0] && first_alloc < 0) {
		/* Parameter unreadable: trust the rig and take the first node. */
		snprintf(cap_path, sizeof(cap_path), "%s", first);
		h_note("vivid allocators parameter unreadable; assuming %s is dma-contig", first);
	}
	CHECK(c, cap_path[0], "no vivid instance uses dma-contig: load vivid with allocators=1");
	h_note("dma-contig capture node %s (%d other vivid capture nodes)", cap_path, n_other);
out:;
}

/* Input 0 (webcam), YUYV at 640x360 or the nearest size the driver picks. */
static int setup_format(struct h_case *c, int fd, struct fmt *f)
{
	int input = 0;
	if (xioctl(fd, VIDIOC_S_INPUT, &input) < 0) {
		H_FAIL(c, "VIDIOC_S_INPUT 0: %s", strerror(errno));
		return -1;
	}
	struct v4l2_format fmt;
	memset(&fmt, 0, sizeof(fmt));
	fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	fmt.fmt.pix.width = 640;
	fmt.fmt.pix.height = 360;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	if (xioctl(fd, VIDIOC_S_FMT, &fmt) < 0) {
		H_FAIL(c, "VIDIOC_S_FMT: %s", strerror(errno));
		return -1;
	}
	if (fmt.fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV) {
		H_FAIL(c, "driver refused YUYV (got 0x%08x)", fmt.fmt.pix.pixelformat);
		return -1;
	}
	f->width = fmt.fmt.pix.width;
	f->height = fmt.fmt.pix.height;
	f->stride = fmt.fmt.pix.bytesperline;
	f->sizeimage = fmt.fmt.pix.sizeimage;
	if (f->stride < f->width * 2 || f->sizeimage < f->stride * f->height || f->width < 64) {
		H_FAIL(c, "odd format %ux%u stride %u size %u", f->width, f->height, f->stride,
		       f->sizeimage);
		return -1;
	}
	return 0;
}

static int wait_frame(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, ms);
	return r > 0 ? 0 : (r == 0 ? -ETIMEDOUT : -errno);
}

static const char *choose_heap(void)
{
	if (opt_heap)
		return opt_heap;
	return access(BB_HEAP_DIR "/camera", F_OK) == 0 ? "camera" : "default_cma_region";
}

static void case_capture(struct h_case *c, void *arg)
{
	(void)arg;
	const bool dmabuf = !opt_mmap;
	const char *heap = choose_heap();
	int fd = -1, hfd = -1, bfd[NBUF] = { -1, -1, -1, -1 };
	void *map[NBUF] = { 0 };
	size_t maplen[NBUF] = { 0 };
	unsigned int nbuf = 0;
	bool streaming = false;
	struct fmt f;
	static struct bb_region regs[BB_MAX_REGIONS];
	const struct bb_region *reg = NULL;
	struct bb_stats s0 = { 0 }, s;
	char msg[256];

	if (!cap_path[0]) {
		H_FAIL(c, "no capture node");
		return;
	}
	fd = open(cap_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	CHECK(c, fd >= 0, "%s: %s", cap_path, strerror(errno));
	if (setup_format(c, fd, &f) < 0)
		goto out;
	h_note("format %ux%u YUYV stride %u sizeimage %u, memory %s%s%s", f.width, f.height,
	       f.stride, f.sizeimage, dmabuf ? "DMABUF from heap " : "MMAP", dmabuf ? heap : "", "");

	if (dmabuf) {
		int n = bb_regions(regs, BB_MAX_REGIONS);
		reg = n > 0 ? bb_region_with_heap(regs, n, heap) : NULL;
		if (reg)
			bb_region_stats(reg, &s0);
		hfd = bb_heap_open(heap);
		CHECK(c, hfd >= 0, "open heap %s: %s", heap, strerror(errno));
	}

	struct v4l2_requestbuffers rb;
	memset(&rb, 0, sizeof(rb));
	rb.count = NBUF;
	rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	rb.memory = dmabuf ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP;
	CHECK(c, xioctl(fd, VIDIOC_REQBUFS, &rb) == 0, "VIDIOC_REQBUFS: %s", strerror(errno));
	CHECK(c, rb.count >= 2 && rb.count <= NBUF, "REQBUFS gave %u buffers", rb.count);
	nbuf = rb.count;

	size_t len = (size_t)((f.sizeimage + bb_page_size() - 1) & ~(bb_page_size() - 1));
	for (unsigned int i = 0; i < nbuf; i++) {
		struct v4l2_buffer b;
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		b.index = i;
		if (dmabuf) {
			bfd[i] = bb_heap_alloc(hfd, len);
			CHECK(c, bfd[i] >= 0, "heap alloc %zu: %s", len, strerror(-bfd[i]));
			maplen[i] = len;
			map[i] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bfd[i], 0);
			CHECK(c, map[i] != MAP_FAILED, "mmap dma-buf: %s", strerror(errno));
			if (reg && reg->bounds_known) {
				int e = bb_check_phys(map[i], len, reg->base, reg->size, true, msg,
						      sizeof(msg));
				CHECK(c, e == 0, "buffer %u: %s", i, msg);
			}
			/* Poison, so a frame the device never wrote cannot pass. */
			bb_sync(bfd[i], true, DMA_BUF_SYNC_WRITE);
			memset(map[i], 0x00, len);
			bb_sync(bfd[i], false, DMA_BUF_SYNC_WRITE);
			b.memory = V4L2_MEMORY_DMABUF;
			b.m.fd = bfd[i];
			b.length = (uint32_t)len;
		} else {
			b.memory = V4L2_MEMORY_MMAP;
			CHECK(c, xioctl(fd, VIDIOC_QUERYBUF, &b) == 0, "QUERYBUF: %s", strerror(errno));
			maplen[i] = b.length;
			map[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
				      b.m.offset);
			CHECK(c, map[i] != MAP_FAILED, "mmap: %s", strerror(errno));
			memset(map[i], 0, b.length);
		}
		CHECK(c, xioctl(fd, VIDIOC_QBUF, &b) == 0, "VIDIOC_QBUF %u: %s", i, strerror(errno));
	}
	if (dmabuf && reg) {
		CHECK(c, bb_region_stats(reg, &s) == 0, "stats");
		CHECK(c, s.buffers_allocated == s0.buffers_allocated + nbuf,
		      "region %s counts %" PRIu64 " buffers, want %" PRIu64, reg->name,
		      s.buffers_allocated, s0.buffers_allocated + nbuf);
	}

	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	CHECK(c, xioctl(fd, VIDIOC_STREAMON, &type) == 0, "STREAMON: %s", strerror(errno));
	streaming = true;
	uint64_t t0 = bb_now_ns();
	int got = 0;
	long last_seq = -1;
	uint64_t last_ts = 0;
	while (got < opt_frames) {
		int w = wait_frame(fd, 10000);
		CHECK(c, w == 0, "waiting for frame %d: %s", got, strerror(-w));
		struct v4l2_buffer b;
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		b.memory = dmabuf ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP;
		if (xioctl(fd, VIDIOC_DQBUF, &b) < 0) {
			CHECK(c, errno == EAGAIN, "DQBUF: %s", strerror(errno));
			continue;
		}
		CHECK(c, b.index < nbuf, "DQBUF index %u", b.index);
		CHECK(c, !(b.flags & V4L2_BUF_FLAG_ERROR), "frame %d flagged ERROR", got);
		CHECK(c, b.bytesused == f.sizeimage, "frame %d bytesused %u, want %u", got,
		      b.bytesused, f.sizeimage);
		CHECK(c, (long)b.sequence > last_seq, "sequence %u after %ld", b.sequence, last_seq);
		if (dmabuf)
			CHECK(c, b.m.fd == bfd[b.index], "DQBUF fd %d for index %u, queued %d", b.m.fd,
			      b.index, bfd[b.index]);
		last_seq = b.sequence;
		uint64_t ts = (uint64_t)b.timestamp.tv_sec * 1000000ULL + (uint64_t)b.timestamp.tv_usec;
		CHECK(c, ts > last_ts, "frame %d timestamp %" PRIu64 " us not after %" PRIu64, got, ts,
		      last_ts);
		last_ts = ts;
		if (dmabuf)
			CHECK(c, bb_sync(bfd[b.index], true, DMA_BUF_SYNC_READ) == 0, "sync start: %s",
			      strerror(errno));
		int r = check_frame(map[b.index], &f, msg, sizeof(msg), got == 0);
		if (dmabuf)
			bb_sync(bfd[b.index], false, DMA_BUF_SYNC_READ);
		CHECK(c, r == 0, "frame %d (seq %u): %s", got, b.sequence, msg);
		got++;
		/* Poison again before handing it back. */
		if (dmabuf) {
			bb_sync(bfd[b.index], true, DMA_BUF_SYNC_WRITE);
			memset(map[b.index], 0, f.sizeimage);
			bb_sync(bfd[b.index], false, DMA_BUF_SYNC_WRITE);
		} else {
			memset(map[b.index], 0, f.sizeimage);
		}
		CHECK(c, xioctl(fd, VIDIOC_QBUF, &b) == 0, "re-QBUF: %s", strerror(errno));
	}
	uint64_t t1 = bb_now_ns();
	h_note("captured %d frames in %.0f ms (last sequence %ld)", got, (double)(t1 - t0) / 1e6,
	       last_seq);
out:
	if (streaming) {
		int t = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		xioctl(fd, VIDIOC_STREAMOFF, &t);
	}
	if (fd >= 0 && nbuf) {
		struct v4l2_requestbuffers z = { .count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
						 .memory = dmabuf ? V4L2_MEMORY_DMABUF
								  : V4L2_MEMORY_MMAP };
		xioctl(fd, VIDIOC_REQBUFS, &z);
	}
	for (unsigned int i = 0; i < NBUF; i++) {
		if (map[i] && map[i] != MAP_FAILED)
			munmap(map[i], maplen[i]);
		if (bfd[i] >= 0)
			close(bfd[i]);
	}
	if (fd >= 0)
		close(fd);
	if (hfd >= 0)
		close(hfd);
	if (dmabuf && reg && !c->failed && bb_region_stats(reg, &s) == 0)
		EXPECT(c, s.buffers_allocated == s0.buffers_allocated &&
				  s.bytes_allocated == s0.bytes_allocated,
		       "after REQBUFS 0 and close: %" PRIu64 " buffers / %" PRIu64
		       " bytes, baseline %" PRIu64 " / %" PRIu64,
		       s.buffers_allocated, s.bytes_allocated, s0.buffers_allocated,
		       s0.bytes_allocated);
}

/* True if the dma-buf's pages are not physically consecutive (mmap + pagemap). */
static bool dmabuf_scattered(int dfd, size_t len)
{
	bool scattered = false;
	size_t ps = bb_page_size(), n = len / ps;
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	uint64_t *phys = malloc((n + 1) * sizeof(*phys));
	if (p != MAP_FAILED && phys && bb_phys_pages(p, len, phys) == 0)
		for (size_t k = 1; k < n; k++)
			if (phys[k] != phys[0] + k * ps)
				scattered = true;
	free(phys);
	if (p != MAP_FAILED)
		munmap(p, len);
	return scattered;
}

/* udmabuf (6.12+ kernels): a dma-buf over memfd pages. Returns fd or -1. */
static int udmabuf_export(size_t len)
{
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -1;
	int mfd = memfd_create("bb-noncontig", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	int fd = -1;
	if (mfd >= 0 && ftruncate(mfd, (off_t)len) == 0 && fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0) {
		/* Fault the pages in back to front so they are unlikely to be consecutive. */
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
		if (m != MAP_FAILED) {
			for (size_t off = len; off >= bb_page_size(); off -= bb_page_size())
				m[off - bb_page_size()] = 1;
			munmap(m, len);
		}
		struct udmabuf_create u = { .memfd = (uint32_t)mfd, .flags = UDMABUF_FLAGS_CLOEXEC,
					    .offset = 0, .size = len };
		fd = ioctl(dev, UDMABUF_CREATE, &u);
	}
	if (mfd >= 0)
		close(mfd);
	close(dev);
	return fd;
}

/* A non-contiguous dma-buf is refused by the dma-contig capture node. Exporters tried: udmabuf
 * (6.12+), then vivid instances with the vmalloc allocator. The buffer is proven scattered
 * through pagemap before the import is tried. */
static void case_noncontig_refused(struct h_case *c, void *arg)
{
	(void)arg;
	int cap = -1, exp = -1, dfd = -1;
	size_t plen = 0;
	struct fmt f;
	bool exp_reqbufs = false, cap_reqbufs = false;
	const char *exporter = NULL;
	if (!cap_path[0]) {
		h_skip(c, "no dma-contig capture node");
		return;
	}
	cap = open(cap_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	CHECK(c, cap >= 0, "%s: %s", cap_path, strerror(errno));
	if (setup_format(c, cap, &f) < 0)
		goto out;
	plen = (f.sizeimage + bb_page_size() - 1) & ~(bb_page_size() - 1);
	dfd = udmabuf_export(plen);
	if (dfd >= 0) {
		if (dmabuf_scattered(dfd, plen)) {
			exporter = "udmabuf";
		} else {
			close(dfd);
			dfd = -1;
		}
	}
	for (int i = 0; i < n_other && dfd < 0; i++) {
		exp = open(other_caps[i], O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (exp < 0)
			continue;
		struct fmt ef;
		struct h_case scratch = { .name = "exporter" };
		struct v4l2_requestbuffers rb = { .count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
						  .memory = V4L2_MEMORY_MMAP };
		struct v4l2_exportbuffer eb = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .index = 0,
						.flags = O_RDWR | O_CLOEXEC };
		if (setup_format(&scratch, exp, &ef) < 0 || xioctl(exp, VIDIOC_REQBUFS, &rb) < 0 ||
		    !rb.count) {
			close(exp);
			exp = -1;
			continue;
		}
		exp_reqbufs = true;
		if (xioctl(exp, VIDIOC_EXPBUF, &eb) == 0) {
			size_t elen = (size_t)lseek(eb.fd, 0, SEEK_END);
			if (elen >= f.sizeimage && dmabuf_scattered(eb.fd, elen)) {
				dfd = eb.fd;
				plen = elen;
				exporter = other_caps[i];
				break;
			}
			close(eb.fd);
		}
		struct v4l2_requestbuffers z = { .count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
						 .memory = V4L2_MEMORY_MMAP };
		xioctl(exp, VIDIOC_REQBUFS, &z);
		exp_reqbufs = false;
		close(exp);
		exp = -1;
	}
	if (dfd < 0) {
		h_skip(c, "no non-contiguous exporter (6.1 has no udmabuf): load vivid with "
			  "n_devs=2 allocators=1,0 to enable");
		goto out;
	}
	h_note("non-contiguous dma-buf of %zu bytes exported by %s", plen, exporter);
	struct v4l2_requestbuffers rb = { .count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					  .memory = V4L2_MEMORY_DMABUF };
	CHECK(c, xioctl(cap, VIDIOC_REQBUFS, &rb) == 0, "REQBUFS DMABUF: %s", strerror(errno));
	cap_reqbufs = true;
	struct v4l2_buffer b;
	memset(&b, 0, sizeof(b));
	b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	b.memory = V4L2_MEMORY_DMABUF;
	b.index = 0;
	b.m.fd = dfd;
	b.length = (uint32_t)plen;
	errno = 0;
	int r = xioctl(cap, VIDIOC_QBUF, &b);
	int e = errno;
	CHECK(c, r < 0, "dma-contig node accepted a non-contiguous dma-buf");
	h_note("non-contiguous import refused at QBUF with %s", strerrorname_np(e));
out:
	if (cap >= 0 && cap_reqbufs) {
		struct v4l2_requestbuffers z = { .count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
						 .memory = V4L2_MEMORY_DMABUF };
		xioctl(cap, VIDIOC_REQBUFS, &z);
	}
	if (dfd >= 0)
		close(dfd);
	if (exp >= 0) {
		if (exp_reqbufs) {
			struct v4l2_requestbuffers z = { .count = 0,
							 .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
							 .memory = V4L2_MEMORY_MMAP };
			xioctl(exp, VIDIOC_REQBUFS, &z);
		}
		close(exp);
	}
	if (cap >= 0)
		close(cap);
}

/* ---------- cache maintenance of a hand-off, counted with the function tracer ---------- */

/*
 * One hand-off of a buffer from @heap, traced: import into the capture queue (vb2 maps the
 * attachment) and a CPU access bracket (DMA_BUF_IOCTL_SYNC start and end, read-write), as
 * bb-video does per frame. Returns the number of cache-maintenance calls this process made, or
 * -1 after H_FAIL / h_skip.
 */
static int traced_handoff(struct h_case *c, const char *heap)
{
	int fd = -1, hfd = -1, b = -1, n = -1;
	struct fmt f;

	fd = open(cap_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	CHECK(c, fd >= 0, "%s: %s", cap_path, strerror(errno));
	if (setup_format(c, fd, &f) < 0)
		goto out;
	struct v4l2_requestbuffers rb = { .count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					  .memory = V4L2_MEMORY_DMABUF };
	CHECK(c, xioctl(fd, VIDIOC_REQBUFS, &rb) == 0 && rb.count >= 1, "REQBUFS: %s",
	      strerror(errno));
	hfd = bb_heap_open(heap);
	CHECK(c, hfd >= 0, "open heap %s: %s", heap, strerror(errno));
	size_t len = (size_t)((f.sizeimage + bb_page_size() - 1) & ~(bb_page_size() - 1));
	b = bb_heap_alloc(hfd, len);
	CHECK(c, b >= 0, "alloc %zu from %s: %s", len, heap, strerror(-b));

	int e = bb_ftrace_start(BB_CACHE_MAINT_FUNCS);
	if (e == -EINVAL) {
		h_skip(c, "cannot trace %s on this kernel", BB_CACHE_MAINT_FUNCS);
		goto out;
	}
	CHECK(c, e == 0, "cannot start the function tracer: %s", strerror(-e));
	struct v4l2_buffer vb = { .index = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				  .memory = V4L2_MEMORY_DMABUF, .length = (uint32_t)len };
	vb.m.fd = b;
	CHECK(c, xioctl(fd, VIDIOC_QBUF, &vb) == 0, "QBUF %s buffer: %s", heap, strerror(errno));
	CHECK(c, bb_sync(b, true, DMA_BUF_SYNC_RW) == 0, "sync start: %s", strerror(errno));
	CHECK(c, bb_sync(b, false, DMA_BUF_SYNC_RW) == 0, "sync end: %s", strerror(errno));
	char first[256];
	n = bb_ftrace_stop_count(BB_CACHE_MAINT_LINE, first, sizeof(first));
	CHECK(c, n >= 0, "read the trace: %s", strerror(-n));
	if (n > 0)
		h_note("first traced call: %s", first);
out:
	bb_ftrace_reset();
	if (fd >= 0) {
		struct v4l2_requestbuffers z = { .count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
						 .memory = V4L2_MEMORY_DMABUF };
		xioctl(fd, VIDIOC_REQBUFS, &z);
		close(fd);
	}
	if (b >= 0)
		close(b);
	if (hfd >= 0)
		close(hfd);
	return c->failed || c->skipped ? -1 : n;
}

/*
 * A region marked bufbroker,uncached hands buffers to a non-coherent device and to the CPU with
 * no cache maintenance at all; a cached region's buffer gets it on the import and on both ends
 * of the CPU bracket. Counted, not timed: the calls either happen or they do not.
 */
static void case_uncached_no_maintenance(struct h_case *c, void *arg)
{
	(void)arg;
	static struct bb_region regs[BB_MAX_REGIONS];
	const struct bb_region *unc = NULL, *cached = NULL;
	int n = bb_regions(regs, BB_MAX_REGIONS);
	CHECK(c, n > 0, "no regions: %s", strerror(-n));
	for (int i = 0; i < n; i++) {
		if (!regs[i].n_heaps)
			continue;
		if (regs[i].uncached && !unc)
			unc = &regs[i];
		else if (!regs[i].uncached && !cached)
			cached = &regs[i];
	}
	if (!unc || !cached) {
		h_skip(c, "needs an uncached and a cached region (the board's camera and video)");
		return;
	}
	int nc = traced_handoff(c, cached->heaps[0]);
	if (nc < 0)
		return;
	int nu = traced_handoff(c, unc->heaps[0]);
	if (nu < 0)
		return;
	h_note("cache-maintenance calls for import + SYNC start/end: %s (cached) %d, %s (uncached) %d",
	       cached->name, nc, unc->name, nu);
	CHECK(c, nc >= 3, "%s: only %d maintenance calls for a cached buffer (want map + 2 syncs); "
	      "is the vivid device DMA-coherent?", cached->name, nc);
	CHECK(c, nu == 0, "%s is uncached, yet its hand-off made %d cache-maintenance calls",
	      unc->name, nu);
out:;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "heap", required_argument, NULL, 'H' },
		{ "frames", required_argument, NULL, 'n' },
		{ "mmap", no_argument, NULL, 'M' },
		{ 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'H':
			opt_heap = optarg;
			break;
		case 'n':
			opt_frames = atoi(optarg);
			break;
		case 'M':
			opt_mmap = true;
			break;
		default:
			fprintf(stderr, "usage: vivid_test [--heap NAME] [--frames N] [--mmap]\n");
			return 2;
		}
	}
	if (opt_frames < 1)
		opt_frames = 1;
	h_init(argv[0]);
	h_set_timeout(120);
	if (!h_run("find the vivid capture node", case_find, NULL))
		return h_exit_status();
	h_run(opt_mmap ? "capture colour bars into MMAP buffers"
		       : "capture colour bars into heap dma-bufs",
	      case_capture, NULL);
	h_run("non-contiguous dma-buf refused by dma-contig", case_noncontig_refused, NULL);
	h_run("uncached region: hand-off without cache maintenance, cached region: with",
	      case_uncached_no_maintenance, NULL);
	return h_exit_status();
}
