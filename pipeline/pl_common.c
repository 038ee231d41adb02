// SPDX-License-Identifier: MIT
/* pl_common.c - see pl_common.h. */
#include "pl_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/v4l2-dv-timings.h>
#include <linux/videodev2.h>
#include <png.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

const char *pl_prog = "pipeline";

void pl_log(const char *fmt, ...)
{
	va_list ap;
	char line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", pl_prog, line);
}

int pl_xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r;
}

uint64_t pl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t pl_cpu_us(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) < 0)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

uint64_t pl_cpu_sys_us(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) < 0)
		return 0;
	return (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

/* ---------------- protocol ---------------- */

void pl_msg_init(struct pl_msg *m, enum pl_msg_type type, uint32_t index)
{
	memset(m, 0, sizeof(*m));
	m->magic = PL_MAGIC;
	m->version = PL_VERSION;
	m->type = (uint16_t)type;
	m->index = index;
}

int pl_send(int sock, struct pl_msg *m, int fd)
{
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*m) ? 0 : -EIO;
}

/* The fds passed with @mh: the first one when @keep_first (-1 if none), the others closed. */
static int take_passed_fds(struct msghdr *mh, bool keep_first)
{
	int got = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < 0 && keep_first)
				got = f;
			else
				close(f);
		}
	}
	return got;
}

static int pl_recv_flags(int sock, struct pl_msg *m, int *fd, int flags)
{
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;
	int got;

	if (fd)
		*fd = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	got = take_passed_fds(&mh, fd != NULL);
	if (n == 0) {
		if (got >= 0)
			close(got);
		return 0;
	}
	if (n != (ssize_t)sizeof(*m) || m->magic != PL_MAGIC || m->version != PL_VERSION ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (got >= 0)
			close(got);
		return -EPROTO;
	}
	if (fd)
		*fd = got;
	return 1;
}

int pl_recv(int sock, struct pl_msg *m, int *fd)
{
	return pl_recv_flags(sock, m, fd, 0);
}

int pl_recv_nowait(int sock, struct pl_msg *m, int *fd)
{
	return pl_recv_flags(sock, m, fd, MSG_DONTWAIT);
}

int pl_recv_batch_nowait(int sock, struct pl_msg *m, unsigned int max)
{
	struct mmsghdr mm[PL_MAX_BUFFERS];
	struct iovec iov[PL_MAX_BUFFERS];
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl[PL_MAX_BUFFERS];
	int n, bad = 0;

	if (max > PL_MAX_BUFFERS)
		max = PL_MAX_BUFFERS;
	memset(mm, 0, sizeof(mm));
	for (unsigned int i = 0; i < max; i++) {
		iov[i] = (struct iovec){ .iov_base = &m[i], .iov_len = sizeof(m[i]) };
		mm[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1,
						 .msg_control = ctl[i].buf,
						 .msg_controllen = sizeof(ctl[i].buf) };
	}
	do
		n = recvmmsg(sock, mm, max, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &mm[i].msg_hdr;

		take_passed_fds(mh, false); /* these messages carry no fd: close any that came */
		if (bad)
			continue;
		if (mm[i].msg_len == 0) /* end of file: what came before it still counts */
			return i;
		if (mm[i].msg_len != sizeof(m[i]) || m[i].magic != PL_MAGIC || m[i].version != PL_VERSION ||
		    (mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
			bad = 1;
	}
	return bad ? -EPROTO : n;
}

static socklen_t pl_addr(const char *name, struct sockaddr_un *sa)
{
	size_t l = strlen(name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (l >= sizeof(sa->sun_path))
		return 0;
	memcpy(sa->sun_path, name, l);
	if (name[0] == '@') {
		sa->sun_path[0] = '\0';
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l);
	}
	return (socklen_t)sizeof(*sa);
}

int pl_listen(const char *name, mode_t mode, gid_t gid)
{
	struct sockaddr_un sa;
	char tmp[sizeof(sa.sun_path) + 8];
	socklen_t sl;
	int s;

	if (name[0] == '@') {
		snprintf(tmp, sizeof(tmp), "%s", name);
	} else {
		snprintf(tmp, sizeof(tmp), "%s.new", name);
		unlink(tmp);
	}
	sl = pl_addr(tmp, &sa);
	if (!sl)
		return -ENAMETOOLONG;
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sa, sl) < 0)
		goto fail;
	if (name[0] != '@') {
		if ((gid != (gid_t)-1 && chown(tmp, (uid_t)-1, gid) < 0) || chmod(tmp, mode) < 0 ||
		    rename(tmp, name) < 0) {
			int e = -errno;
			unlink(tmp);
			close(s);
			return e;
		}
	}
	if (listen(s, 4) < 0)
		goto fail;
	return s;
fail:;
	int e = -errno;
	close(s);
	return e;
}

int pl_connect(const char *name, int timeout_ms)
{
	struct sockaddr_un sa;
	socklen_t sl = pl_addr(name, &sa);
	uint64_t end = pl_now_us() + (uint64_t)timeout_ms * 1000u;

	if (!sl)
		return -ENAMETOOLONG;
	for (;;) {
		int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (s < 0)
			return -errno;
		if (connect(s, (struct sockaddr *)&sa, sl) == 0)
			return s;
		int e = errno;
		close(s);
		if ((e != ENOENT && e != ECONNREFUSED) || pl_now_us() >= end)
			return -e;
		usleep(100 * 1000);
	}
}

/* ---------------- V4L2 ---------------- */

int pl_find_vivid(uint32_t want, char *path, size_t len)
{
	for (int i = 0; i < 64; i++) {
		char p[32];
		struct v4l2_capability cap;
		snprintf(p, sizeof(p), "/dev/video%d", i);
		int fd = open(p, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		int r = pl_xioctl(fd, VIDIOC_QUERYCAP, &cap);
		close(fd);
		if (r < 0 || strcmp((const char *)cap.driver, "vivid"))
			continue;
		uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps
									 : cap.capabilities;
		if ((caps & want) && (caps & V4L2_CAP_STREAMING)) {
			snprintf(path, len, "%s", p);
			return 0;
		}
	}
	return -ENODEV;
}

int pl_capture_open(const char *path, uint32_t w, uint32_t h, unsigned int fps, struct pl_fmt *f,
		    double *real_fps)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	int input = 0, ret = -EINVAL;
	struct v4l2_format fmt;

	if (fd < 0) {
		ret = -errno;
		pl_log("%s: %s", path, strerror(errno));
		return ret;
	}
	if (pl_xioctl(fd, VIDIOC_S_INPUT, &input) < 0)
		pl_log("%s: VIDIOC_S_INPUT 0: %s (continuing)", path, strerror(errno));
	memset(&fmt, 0, sizeof(fmt));
	fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	fmt.fmt.pix.width = w;
	fmt.fmt.pix.height = h;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	if (pl_xioctl(fd, VIDIOC_S_FMT, &fmt) < 0) {
		ret = -errno;
		pl_log("%s: VIDIOC_S_FMT: %s", path, strerror(errno));
		goto fail;
	}
	if (fmt.fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV || fmt.fmt.pix.width < 64 ||
	    fmt.fmt.pix.bytesperline < fmt.fmt.pix.width * 2 ||
	    fmt.fmt.pix.sizeimage < fmt.fmt.pix.bytesperline * fmt.fmt.pix.height) {
		pl_log("%s: driver gave %.4s %ux%u stride %u size %u", path,
		       (const char *)&fmt.fmt.pix.pixelformat, fmt.fmt.pix.width,
		       fmt.fmt.pix.height, fmt.fmt.pix.bytesperline, fmt.fmt.pix.sizeimage);
		goto fail;
	}
	if (fmt.fmt.pix.width != w || fmt.fmt.pix.height != h)
		pl_log("%s: asked %ux%u, driver chose %ux%u", path, w, h, fmt.fmt.pix.width,
		       fmt.fmt.pix.height);
	f->width = fmt.fmt.pix.width;
	f->height = fmt.fmt.pix.height;
	f->stride = fmt.fmt.pix.bytesperline;
	f->sizeimage = fmt.fmt.pix.sizeimage;

	struct v4l2_streamparm parm;
	memset(&parm, 0, sizeof(parm));
	parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	parm.parm.capture.timeperframe.numerator = 1;
	parm.parm.capture.timeperframe.denominator = fps ? fps : 30;
	if (pl_xioctl(fd, VIDIOC_S_PARM, &parm) < 0)
		pl_log("%s: VIDIOC_S_PARM: %s (continuing)", path, strerror(errno));
	memset(&parm, 0, sizeof(parm));
	parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	*real_fps = 0;
	if (pl_xioctl(fd, VIDIOC_G_PARM, &parm) == 0 && parm.parm.capture.timeperframe.numerator)
		*real_fps = (double)parm.parm.capture.timeperframe.denominator /
			    parm.parm.capture.timeperframe.numerator;
	return fd;
fail:
	close(fd);
	return ret;
}

int pl_output_open(const char *path, uint32_t w, uint32_t h, struct pl_fmt *f)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	struct v4l2_output out;
	struct v4l2_format fmt;
	int chosen = -1, ret;

	if (fd < 0) {
		ret = -errno;
		pl_log("%s: %s", path, strerror(errno));
		return ret;
	}
	for (uint32_t i = 0; i < 16; i++) {
		memset(&out, 0, sizeof(out));
		out.index = i;
		if (pl_xioctl(fd, VIDIOC_ENUMOUTPUT, &out) < 0)
			break;
		if (out.capabilities & V4L2_OUT_CAP_DV_TIMINGS) {
			chosen = (int)i;
			break;
		}
	}
	if (chosen >= 0) {
		if (pl_xioctl(fd, VIDIOC_S_OUTPUT, &chosen) < 0) {
			pl_log("%s: S_OUTPUT %d: %s", path, chosen, strerror(errno));
		} else if (w == 1280 && h == 720) {
			struct v4l2_dv_timings t = V4L2_DV_BT_CEA_1280X720P60;
			if (pl_xioctl(fd, VIDIOC_S_DV_TIMINGS, &t) < 0)
				pl_log("%s: S_DV_TIMINGS 720p60: %s", path, strerror(errno));
		}
	}
	memset(&fmt, 0, sizeof(fmt));
	fmt.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	fmt.fmt.pix.width = w;
	fmt.fmt.pix.height = h;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	if (pl_xioctl(fd, VIDIOC_S_FMT, &fmt) < 0) {
		ret = -errno;
		pl_log("%s: output VIDIOC_S_FMT: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	if (fmt.fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV) {
		pl_log("%s: output refused YUYV", path);
		close(fd);
		return -EINVAL;
	}
	f->width = fmt.fmt.pix.width;
	f->height = fmt.fmt.pix.height;
	f->stride = fmt.fmt.pix.bytesperline;
	f->sizeimage = fmt.fmt.pix.sizeimage;
	pl_log("output %s: output %d, YUYV %ux%u stride %u size %u", path, chosen, f->width,
	       f->height, f->stride, f->sizeimage);
	return fd;
}

int pl_streamon(int fd, uint32_t type)
{
	int t = (int)type;

	return pl_xioctl(fd, VIDIOC_STREAMON, &t) < 0 ? -errno : 0;
}

void pl_streamoff_free(int fd, uint32_t type, uint32_t memory)
{
	int t = (int)type;
	struct v4l2_requestbuffers z;

	if (fd < 0)
		return;
	pl_xioctl(fd, VIDIOC_STREAMOFF, &t);
	memset(&z, 0, sizeof(z));
	z.type = type;
	z.memory = memory;
	pl_xioctl(fd, VIDIOC_REQBUFS, &z);
}

/* ---------------- test pattern ---------------- */

/*
 * v4l2-tpg's 75% colour bars (vivid's default pattern), left to right: white, yellow, cyan,
 * green, magenta, red, blue, black; sRGB -> Rec.601 limited-range Y'CbCr. Same table and
 * tolerance as tests/guest/vivid_test.c (tpg's fixed-point CSC lands 1-2 codes lower).
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

/* Row 0, two thirds down and the last row: vivid's OSD text (frame counter, time, controls)
 * is drawn at the top left from row 16 on, so these rows are clear of it. */
void pl_check_rows(const struct pl_fmt *f, unsigned int rows[PL_CHECK_ROWS])
{
	rows[0] = 0;
	rows[1] = f->height * 2 / 3;
	rows[2] = f->height - 1;
}

static int check_row(const uint8_t *row, const struct pl_fmt *f, char *msg, size_t msglen)
{
	unsigned int bw = f->width / 8;
	int means[8][3];

	for (int b = 0; b < 8; b++) {
		unsigned int x0 = (b * bw + bw / 4) & ~1u, x1 = (b * bw + bw * 3 / 4) & ~1u;
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
			return -EBADMSG;
		}
		means[b][0] = (int)(sy / (2 * n));
		means[b][1] = (int)(su / n);
		means[b][2] = (int)(sv / n);
		if (ymax - ymin > 2 * TOL) {
			snprintf(msg, msglen, "bar %d (%s) not uniform: Y %d..%d", b, bars[b].name,
				 ymin, ymax);
			return -EBADMSG;
		}
		if (abs(means[b][0] - bars[b].y) > TOL || abs(means[b][1] - bars[b].u) > TOL ||
		    abs(means[b][2] - bars[b].v) > TOL) {
			snprintf(msg, msglen, "bar %d (%s): YUV %d/%d/%d, want %d/%d/%d +-%d", b,
				 bars[b].name, means[b][0], means[b][1], means[b][2], bars[b].y,
				 bars[b].u, bars[b].v, TOL);
			return -EBADMSG;
		}
		if (b && means[b][0] >= means[b - 1][0]) {
			snprintf(msg, msglen, "luma does not fall from bar %d to %d", b - 1, b);
			return -EBADMSG;
		}
	}
	return 0;
}

int pl_verify_frame(const uint8_t *img, const struct pl_fmt *f, char *msg, size_t msglen)
{
	unsigned int rows[PL_CHECK_ROWS];

	pl_check_rows(f, rows);
	for (int i = 0; i < PL_CHECK_ROWS; i++) {
		if (check_row(img + (size_t)rows[i] * f->stride, f, msg, msglen) < 0) {
			size_t l = strlen(msg);
			snprintf(msg + l, msglen - l, " (row %u)", rows[i]);
			return -EBADMSG;
		}
	}
	return 0;
}

enum pl_osd_verdict pl_osd_verdict(bool have_last, uint64_t last, uint64_t sig, bool seq_repeated)
{
	if (!have_last || sig != last)
		return PL_OSD_NEW;
	return seq_repeated ? PL_OSD_REPEAT : PL_OSD_STALE;
}

int pl_osd_signature(const uint8_t *img, const struct pl_fmt *f, uint64_t *sig)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	unsigned int x1 = 16 + 8 * 24, ymin = 255, ymax = 0;

	if (f->height < 32 || f->width < x1)
		return -EBADMSG;
	for (unsigned int y = 16; y < 32; y++) {
		const uint8_t *row = img + (size_t)y * f->stride;
		for (unsigned int x = 16; x < x1; x++) {
			uint8_t v = row[x * 2];
			ymin = v < ymin ? v : ymin;
			ymax = v > ymax ? v : ymax;
			h = (h ^ v) * 1099511628211ull;
		}
	}
	if (ymin > 40 || ymax < 150) /* text: 75% white on black */
		return -EBADMSG;
	*sig = h;
	return 0;
}

void pl_poison(uint8_t *img, const struct pl_fmt *f)
{
	unsigned int rows[PL_CHECK_ROWS];

	pl_check_rows(f, rows);
	for (int i = 0; i < PL_CHECK_ROWS; i++)
		memset(img + (size_t)rows[i] * f->stride, 0, (size_t)f->width * 2);
}

/* ---------------- PNG ---------------- */

static uint8_t clamp8(int v)
{
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

int pl_write_png(const char *path, const uint8_t *yuyv, const struct pl_fmt *f)
{
	FILE *fp = fopen(path, "wb");
	png_structp png = NULL;
	png_infop info = NULL;
	uint8_t *rgb = malloc((size_t)f->width * 3);
	int ret = -EIO;

	if (!fp || !rgb)
		goto out;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (!png)
		goto out;
	info = png_create_info_struct(png);
	if (!info)
		goto out;
	if (setjmp(png_jmpbuf(png)))
		goto out;
	png_init_io(png, fp);
	png_set_compression_level(png, 1);
	png_set_IHDR(png, info, f->width, f->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (uint32_t y = 0; y < f->height; y++) {
		const uint8_t *s = yuyv + (size_t)y * f->stride;
		for (uint32_t x = 0; x + 1 < f->width; x += 2, s += 4) {
			int u = s[1] - 128, v = s[3] - 128;
			for (int k = 0; k < 2; k++) {
				int c = 298 * (s[k * 2] - 16);
				uint8_t *d = rgb + (size_t)(x + (uint32_t)k) * 3;
				d[0] = clamp8((c + 409 * v + 128) >> 8);
				d[1] = clamp8((c - 100 * u - 208 * v + 128) >> 8);
				d[2] = clamp8((c + 516 * u + 128) >> 8);
			}
		}
		png_write_row(png, rgb);
	}
	png_write_end(png, NULL);
	ret = 0;
out:
	if (png)
		png_destroy_write_struct(&png, info ? &info : NULL);
	free(rgb);
	if (fp && fclose(fp) != 0)
		ret = -EIO;
	if (ret < 0)
		pl_log("writing %s failed", path);
	return ret;
}

bool pl_want_png(unsigned int frame_no, unsigned int every, unsigned int written,
		 unsigned int max)
{
	if (written >= max)
		return false;
	return frame_no == 1 || (every && frame_no % every == 0);
}

void pl_png_keep(struct pl_png_keeper *k, unsigned int frame_no, unsigned int seq,
		 const uint8_t *img, const struct pl_fmt *f)
{
	unsigned int max = k->max < PL_PNG_MAX ? k->max : PL_PNG_MAX;
	size_t len = (size_t)f->stride * f->height;

	if (!pl_want_png(frame_no, k->every, k->n, max))
		return;
	k->img[k->n] = malloc(len);
	if (!k->img[k->n])
		return;
	memcpy(k->img[k->n], img, len);
	k->frame_no[k->n] = frame_no;
	k->seq[k->n] = seq;
	k->n++;
}

unsigned int pl_png_flush(struct pl_png_keeper *k, const char *dir, const char *prefix,
			  const struct pl_fmt *f)
{
	unsigned int written = 0;

	for (unsigned int i = 0; i < k->n; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s-frame-%04u-seq%u.png", dir, prefix,
			 k->frame_no[i], k->seq[i]);
		if (dir && pl_write_png(path, k->img[i], f) == 0) {
			printf("PNG %s\n", path);
			written++;
		}
		free(k->img[i]);
		k->img[i] = NULL;
	}
	k->n = 0;
	return written;
}

/* ---------------- physical placement ---------------- */

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	return (int)n;
}

static bool list_has(const char *list, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = list; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == l && !strncmp(p, name, l))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

int pl_region_lookup(const char *heap, struct pl_region *r)
{
	const char *top = "/sys/kernel/bufbroker/regions";
	DIR *d = opendir(top);
	struct dirent *de;
	int ret = -ENOENT;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char p[512], buf[1024];
		if (de->d_name[0] == '.')
			continue;
		bool hit = !strcmp(de->d_name, heap);
		snprintf(p, sizeof(p), "%s/%s/heaps", top, de->d_name);
		if (!hit && read_text(p, buf, sizeof(buf)) > 0)
			hit = list_has(buf, heap);
		snprintf(p, sizeof(p), "%s/%s/aliases", top, de->d_name);
		if (!hit && read_text(p, buf, sizeof(buf)) > 0)
			hit = list_has(buf, heap);
		if (!hit)
			continue;
		snprintf(r->name, sizeof(r->name), "%s", de->d_name);
		snprintf(p, sizeof(p), "%s/%s/size", top, de->d_name);
		int e1 = read_text(p, buf, sizeof(buf));
		r->size = e1 > 0 ? strtoull(buf, NULL, 0) : 0;
		snprintf(p, sizeof(p), "%s/%s/base", top, de->d_name);
		int e2 = read_text(p, buf, sizeof(buf));
		r->base = e2 > 0 ? strtoull(buf, NULL, 0) : 0;
		ret = e1 < 0 ? e1 : e2 < 0 ? e2 : 0;
		if (!ret && (!r->base || !r->size))
			ret = -ERANGE; /* a default area not from DT: bounds unknown on 6.1 */
		break;
	}
	closedir(d);
	return ret;
}

int pl_region_check_map(const void *addr, size_t len, const struct pl_region *r, uint64_t *phys0,
			char *msg, size_t msglen)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE), n = (len + ps - 1) / ps;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t first = 0;
	int ret = 0;

	if (fd < 0) {
		snprintf(msg, msglen, "pagemap: %s", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < n; i++)
		(void)((volatile const uint8_t *)addr)[i * ps]; /* fault every page in */
	/* A block of entries per read: one read per page is set-up CPU the pipeline measures. */
	uint64_t ents[512];
	for (size_t i = 0; i < n; i++) {
		size_t k = i % 512;
		if (k == 0) {
			size_t want = n - i < 512 ? n - i : 512;
			off_t off = (off_t)(((uintptr_t)addr / ps + i) * sizeof(ents[0]));
			if (pread(fd, ents, want * sizeof(ents[0]), off) != (ssize_t)(want * sizeof(ents[0]))) {
				snprintf(msg, msglen, "pagemap read: %s", strerror(errno));
				ret = -EIO;
				break;
			}
		}
		uint64_t ent = ents[k];
		if (!(ent & (1ULL << 63))) {
			snprintf(msg, msglen, "page %zu not present", i);
			ret = -ENOENT;
			break;
		}
		uint64_t pfn = ent & ((1ULL << 55) - 1);
		if (!pfn) {
			snprintf(msg, msglen, "PFNs hidden (not root)");
			ret = -EPERM;
			break;
		}
		uint64_t phys = pfn * ps;
		if (i == 0)
			first = phys;
		if (phys != first + i * ps) {
			snprintf(msg, msglen, "page %zu at 0x%llx: not contiguous", i,
				 (unsigned long long)phys);
			ret = -EFAULT;
			break;
		}
		if (phys < r->base || phys + ps > r->base + r->size) {
			snprintf(msg, msglen, "page %zu at 0x%llx outside %s [0x%llx, 0x%llx)", i,
				 (unsigned long long)phys, r->name, (unsigned long long)r->base,
				 (unsigned long long)(r->base + r->size));
			ret = -ERANGE;
			break;
		}
	}
	close(fd);
	if (!ret)
		snprintf(msg, msglen, "[0x%llx, 0x%llx) inside %s [0x%llx, 0x%llx)",
			 (unsigned long long)first, (unsigned long long)(first + n * ps), r->name,
			 (unsigned long long)r->base, (unsigned long long)(r->base + r->size));
	if (phys0)
		*phys0 = first;
	return ret;
}

/* ---------------- buffers ---------------- */

int pl_buf_map(struct pl_buf *b)
{
	void *p;

	if (b->bb) {
		int r = bb_buffer_map(b->bb, BB_ACCESS_READ_WRITE, &p);
		b->writable = r == 0;
		if (r < 0)
			r = bb_buffer_map(b->bb, BB_ACCESS_READ, &p);
		if (r < 0)
			return r;
	} else {
		p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
		b->writable = p != MAP_FAILED;
		if (p == MAP_FAILED)
			p = mmap(NULL, b->size, PROT_READ, MAP_SHARED, b->fd, 0);
		if (p == MAP_FAILED)
			return -errno;
	}
	b->map = p;
	return 0;
}

int pl_buf_sync(struct pl_buf *b, bool start, unsigned int access)
{
	if (b->bb)
		return start ? bb_buffer_begin_cpu_access(b->bb, access)
			     : bb_buffer_end_cpu_access(b->bb, access);
	struct dma_buf_sync s = { .flags = start ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END };
	if (access & BB_ACCESS_READ)
		s.flags |= DMA_BUF_SYNC_READ;
	if (access & BB_ACCESS_WRITE)
		s.flags |= DMA_BUF_SYNC_WRITE;
	while (ioctl(b->fd, DMA_BUF_IOCTL_SYNC, &s) < 0)
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	return 0;
}
