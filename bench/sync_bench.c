// SPDX-License-Identifier: MIT
/*
 * sync_bench: CPU cost of DMA_BUF_IOCTL_SYNC on a heap buffer imported by vivid (vb2-dma-contig).
 *
 *   sync_bench [--heap NAME] [--video /dev/videoN] [--size BYTES] [--iters N]
 *
 * Allocates one buffer (default 1843200 bytes = 1280x720 YUYV, heap "camera"), imports it into
 * vivid's capture queue as DMABUF and queues it (vb2 maps the attachment at QBUF and keeps it
 * mapped), then times N x (SYNC START RW + END RW) with CLOCK_THREAD_CPUTIME_ID. Three cases:
 *   "0 attachments": the buffer not imported at all (ioctl floor);
 *   "1 attachment":  queued on buffer index 0;
 *   "2 attachments": the same dma-buf also queued on index 1 (two attachments of one device, as
 *                    when the pipeline's capture and output queues both import it).
 * Output lines: "SYNC-BENCH attachments=K iters=N start_us=... end_us=... pair_us=..." (medians).
 * Needs vivid loaded with allocators=1 (dma-contig); no streaming, vivid never touches the buffer.
 */
#include "bbutil.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/dma-buf.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static uint64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int run(int buf_fd, int n_att, unsigned int iters)
{
	uint64_t *s = calloc(iters, sizeof(*s)), *e = calloc(iters, sizeof(*e));
	uint64_t *p = calloc(iters, sizeof(*p));
	unsigned int i;

	if (!s || !e || !p)
		return -1;
	for (i = 0; i < iters; i++) {
		uint64_t t0 = thread_ns(), t1, t2;

		if (bb_sync(buf_fd, true, DMA_BUF_SYNC_RW) < 0)
			return -1;
		t1 = thread_ns();
		if (bb_sync(buf_fd, false, DMA_BUF_SYNC_RW) < 0)
			return -1;
		t2 = thread_ns();
		s[i] = t1 - t0;
		e[i] = t2 - t1;
		p[i] = t2 - t0;
	}
	qsort(s, iters, sizeof(*s), bb_cmp_u64);
	qsort(e, iters, sizeof(*e), bb_cmp_u64);
	qsort(p, iters, sizeof(*p), bb_cmp_u64);
	printf("SYNC-BENCH attachments=%d iters=%u start_us=%.1f end_us=%.1f pair_us=%.1f\n", n_att,
	       iters, s[iters / 2] / 1e3, e[iters / 2] / 1e3, p[iters / 2] / 1e3);
	free(s);
	free(e);
	free(p);
	return 0;
}

static int queue(int vfd, unsigned int index, int buf_fd, uint64_t size)
{
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
		.index = index,
		.m.fd = buf_fd,
		.length = (uint32_t)size,
	};

	if (ioctl(vfd, VIDIOC_QBUF, &b) < 0) {
		fprintf(stderr, "sync_bench: QBUF %u: %s\n", index, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "heap", required_argument, NULL, 'h' },
		{ "video", required_argument, NULL, 'v' },
		{ "size", required_argument, NULL, 's' },
		{ "iters", required_argument, NULL, 'n' },
		{ 0 }
	};
	const char *heap = "camera", *video = "/dev/video0";
	uint64_t size = 1280 * 720 * 2;
	unsigned int iters = 200;
	struct v4l2_requestbuffers rb = {
		.count = 2,
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	int c, hfd, bfd, vfd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h': heap = optarg; break;
		case 'v': video = optarg; break;
		case 's': size = strtoull(optarg, NULL, 0); break;
		case 'n': iters = (unsigned int)strtoul(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (!iters)
		return 2;
	hfd = bb_heap_open(heap);
	if (hfd < 0) {
		fprintf(stderr, "sync_bench: heap %s: %s\n", heap, strerror(errno));
		return 1;
	}
	bfd = bb_heap_alloc(hfd, size);
	if (bfd < 0) {
		fprintf(stderr, "sync_bench: alloc %llu: %s\n", (unsigned long long)size,
			strerror(errno));
		return 1;
	}
	vfd = open(video, O_RDWR);
	if (vfd < 0 || ioctl(vfd, VIDIOC_G_FMT, &fmt) < 0) {
		fprintf(stderr, "sync_bench: %s: %s\n", video, strerror(errno));
		return 1;
	}
	if (fmt.fmt.pix.sizeimage > size) {
		fprintf(stderr, "sync_bench: %s needs %u bytes, buffer has %llu\n", video,
			fmt.fmt.pix.sizeimage, (unsigned long long)size);
		return 1;
	}
	if (ioctl(vfd, VIDIOC_REQBUFS, &rb) < 0 || rb.count < 2) {
		fprintf(stderr, "sync_bench: REQBUFS DMABUF: %s\n", strerror(errno));
		return 1;
	}
	if (run(bfd, 0, iters) || queue(vfd, 0, bfd, size) || run(bfd, 1, iters) ||
	    queue(vfd, 1, bfd, size) || run(bfd, 2, iters))
		return 1;
	close(vfd);
	close(bfd);
	close(hfd);
	return 0;
}
