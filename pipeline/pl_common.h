/* SPDX-License-Identifier: MIT */
/*
 * pl_common.h - shared code of the camera pipeline (bb-camera, bb-video, bb-copy-pipeline,
 * bb-region-check): the hand-off protocol, vivid discovery and set-up, test-pattern
 * verification, PNG output, CPU accounting and the physical-range check.
 * The protocol is documented in docs/pipeline.md.
 */
#ifndef PL_COMMON_H
#define PL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bufbroker/bufbroker.h>

#define PL_MAX_BUFFERS 8
#define PL_DEFAULT_SOCKET "/run/bufbroker-pipeline/frames.sock"
#define PL_DEFAULT_CHECK_SOCKET "@bufbroker-region-check"
#define PL_MAGIC 0x42424650u /* "PFBB" */
#define PL_VERSION 1

/* ---- hand-off protocol (SOCK_SEQPACKET, one struct pl_msg per packet) ---- */

enum pl_msg_type {
	PL_HELLO = 1, /* camera -> video: stream description */
	PL_TOKEN = 2, /* camera -> video: one buffer (broker token, or SCM_RIGHTS fd in direct mode) */
	PL_FRAME = 3, /* camera -> video: buffer @index holds a new frame */
	PL_DONE = 4,  /* video -> camera: buffer @index may be re-queued to the capture device */
	PL_BYE = 5,   /* camera -> video: no more frames; camera's CPU time */
};

#define PL_HELLO_DIRECT_FDS 1u /* buffers come as SCM_RIGHTS fds, not broker tokens */
#define PL_FRAME_LAST 1u       /* the last FRAME: the consumer flushes its sink, then DONEs all */

struct pl_msg {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t index;
	uint32_t pad;
	union {
		struct {
			uint32_t n_buffers, width, height, fourcc, stride, sizeimage, flags, pad;
			uint64_t buf_size;
		} hello;
		struct {
			uint64_t size;
			char token[BB_TOKEN_MAX];
		} token;
		struct {
			uint32_t sequence, bytesused;
			uint32_t flags, pad; /* PL_FRAME_LAST: no FRAME follows */
			uint64_t timestamp_us;
		} frame;
		struct {
			uint64_t cpu_us;      /* camera CPU time while streaming (user + system) */
			uint32_t frames;      /* FRAME messages sent */
			uint32_t seq_gaps;    /* frames vivid dropped because no buffer was free */
			uint32_t cam_errors;  /* capture-side failures (ERROR flag, bad sequence...) */
			uint32_t region_ok;   /* 1 checked inside the region, 0 failed, 2 not checked */
			uint64_t cpu_sys_us;  /* the system (kernel) part of cpu_us */
		} bye;
	} u;
};

int pl_send(int sock, struct pl_msg *m, int fd);
/* Receive one message; *fd gets a passed fd or -1 (fd may be NULL: passed fds are closed).
 * Returns 1, 0 on EOF, or -errno (-EPROTO for a malformed message). */
int pl_recv(int sock, struct pl_msg *m, int *fd);
/* pl_recv without waiting: -EAGAIN when no message is queued. */
int pl_recv_nowait(int sock, struct pl_msg *m, int *fd);
/* Every message waiting, up to @max (and PL_MAX_BUFFERS), in one recvmmsg() without blocking:
 * the count (fewer than @max: the socket is drained), 0 at end of file before any message,
 * -EAGAIN when none is waiting, -EPROTO for a malformed one. The messages carry no fd. */
int pl_recv_batch_nowait(int sock, struct pl_msg *m, unsigned int max);
void pl_msg_init(struct pl_msg *m, enum pl_msg_type type, uint32_t index);

/* "@name" = abstract socket, else a path. For a path, a stale socket is replaced, and the new
 * one appears under its name (rename) only once it has @mode and group @gid ((gid_t)-1: keep),
 * so a client can never hit it with the wrong permissions. */
int pl_listen(const char *name, mode_t mode, gid_t gid);
int pl_connect(const char *name, int timeout_ms);

/* ---- misc ---- */

extern const char *pl_prog;
void pl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int pl_xioctl(int fd, unsigned long req, void *arg);
uint64_t pl_now_us(void);
uint64_t pl_cpu_us(int who); /* RUSAGE_SELF / RUSAGE_THREAD, user + system */
uint64_t pl_cpu_sys_us(int who); /* system part only */

/* ---- V4L2 ---- */

struct pl_fmt {
	uint32_t width, height, stride, sizeimage;
};

/* First vivid node with the capability (V4L2_CAP_VIDEO_CAPTURE / _OUTPUT) and streaming. */
int pl_find_vivid(uint32_t cap, char *path, size_t len);
/* Open capture, input 0 (webcam), YUYV, try @fps. Returns an fd the caller owns (O_NONBLOCK)
 * or -errno. */
int pl_capture_open(const char *path, uint32_t w, uint32_t h, unsigned int fps, struct pl_fmt *f,
		    double *real_fps);
/* Open vivid's output, prefer an HDMI (DV timings) output, YUYV at w x h if possible.
 * Returns an fd the caller owns (O_NONBLOCK) or -errno. */
int pl_output_open(const char *path, uint32_t w, uint32_t h, struct pl_fmt *f);
int pl_streamon(int fd, uint32_t type);
void pl_streamoff_free(int fd, uint32_t type, uint32_t memory);

/* ---- test pattern ---- */

/* Rows that are checked (and poisoned before a buffer goes back to the device). */
#define PL_CHECK_ROWS 3
void pl_check_rows(const struct pl_fmt *f, unsigned int rows[PL_CHECK_ROWS]);
/* vivid 75% colour bars on every checked row. 0 or -EBADMSG with a reason in msg. */
int pl_verify_frame(const uint8_t *img, const struct pl_fmt *f, char *msg, size_t msglen);
/* vivid's OSD counter line (row 16..31, from x=16: " hh:mm:ss:mmm <sequence>", 75% white on black).
 * Returns 0 and a hash of that band when text is there, -ENODATA if there is no OSD text; compare
 * it with the previous frame's with pl_osd_verdict(). */
int pl_osd_signature(const uint8_t *img, const struct pl_fmt *f, uint64_t *sig);
enum pl_osd_verdict {
	PL_OSD_NEW,    /* the counter line changed: a new frame */
	PL_OSD_REPEAT, /* unchanged, and so was the driver's sequence number: a repeated frame */
	PL_OSD_STALE,  /* unchanged although the sequence number advanced: a stale frame */
};
/* Judge a frame whose checked rows verified by its counter line @sig against the previous frame's
 * (@last, when @have_last). With a repeated sequence number the driver itself says it delivered
 * that frame again (vivid does, at stream start, counter line included); the checked rows, blanked
 * after this buffer's previous use, already prove that the device wrote it. */
enum pl_osd_verdict pl_osd_verdict(bool have_last, uint64_t last, uint64_t sig, bool seq_repeated);
/* Overwrite the checked rows with 0: a buffer the device does not fill again (stale) or only
 * partly (torn) fails the next verification. */
void pl_poison(uint8_t *img, const struct pl_fmt *f);

/* ---- PNG ---- */

/* YUYV (BT.601 limited range) -> RGB PNG, zlib level 1. Returns 0 or -EIO. */
int pl_write_png(const char *path, const uint8_t *yuyv, const struct pl_fmt *f);
/* Frame numbering for PNGs: frame 1, then every @every-th, at most @max. */
bool pl_want_png(unsigned int frame_no, unsigned int every, unsigned int written,
		 unsigned int max);

/* PNGs are written after the stream, so zlib never sits in the timed per-frame path: during the
 * stream a wanted frame is only copied (memcpy, counted in the CPU figures) into a keeper. */
#define PL_PNG_MAX 8
struct pl_png_keeper {
	unsigned int every, max, n;
	uint8_t *img[PL_PNG_MAX];
	unsigned int frame_no[PL_PNG_MAX], seq[PL_PNG_MAX];
};
void pl_png_keep(struct pl_png_keeper *k, unsigned int frame_no, unsigned int seq,
		 const uint8_t *img, const struct pl_fmt *f);
/* Write <dir>/<prefix>-frame-NNNN-seqS.png for each kept frame ("PNG path" on stdout), free
 * them. Returns the number written. */
unsigned int pl_png_flush(struct pl_png_keeper *k, const char *dir, const char *prefix,
			  const struct pl_fmt *f);

/* ---- physical placement (root only: /proc/self/pagemap and the region's base) ---- */

struct pl_region {
	char name[96];
	uint64_t base, size;
};
/* Region (sysfs /sys/kernel/bufbroker/regions/<r>) listing @heap in heaps or aliases.
 * Needs root for "base". Returns 0 or -errno. */
int pl_region_lookup(const char *heap, struct pl_region *r);
/* Every page of the mapping [addr, addr+len) inside r and physically contiguous.
 * 0 or -errno (-ERANGE outside, -EFAULT not contiguous, -EPERM no PFNs); msg: detail. */
int pl_region_check_map(const void *addr, size_t len, const struct pl_region *r, uint64_t *phys0,
			char *msg, size_t msglen);

/* A dma-buf as the pipeline sees it: from the broker/library (bb set) or a raw fd. */
struct pl_buf {
	struct bb_buffer *bb;
	int fd;
	size_t size;
	uint8_t *map;
	bool writable;
};
int pl_buf_map(struct pl_buf *b);
/* DMA_BUF_IOCTL_SYNC START/END with BB_ACCESS_READ and/or BB_ACCESS_WRITE. */
int pl_buf_sync(struct pl_buf *b, bool start, unsigned int access);

#endif
