// SPDX-License-Identifier: MIT
/*
 * bb-video - the video client: imports the camera's buffers through the broker (tokens), checks
 * every frame against vivid's test pattern zero-copy (DMA_BUF_IOCTL_SYNC around CPU reads),
 * queues it to vivid's video output (DMABUF import of the same dma-buf) as a stand-in
 * encoder/display, and hands it back with DONE. Protocol: docs/pipeline.md.
 *
 *   bb-video [--socket PATH|@abstract] [--out DIR] [--png-every N] [--png-max N]
 *            [--no-output] [--connect-timeout S]
 *
 * Prints "PIPELINE mode=zero-copy frames=... verified=... failed=... fps=...
 * cpu_ms_per_frame=..." and exits 0 only if every frame announced by the camera arrived and
 * was verified.
 */
#include "pl_common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *o_socket = PL_DEFAULT_SOCKET, *o_out;
static unsigned int o_png_every = 30, o_png_max = 3, o_timeout = 30;
static bool o_no_output;

static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "png-every", required_argument, NULL, 'e' },
		{ "png-max", required_argument, NULL, 'm' },
		{ "no-output", no_argument, NULL, 'N' },
		{ "connect-timeout", required_argument, NULL, 't' },
		{ 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': o_socket = optarg; break;
		case 'o': o_out = optarg; break;
		case 'e': o_png_every = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'm': o_png_max = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'N': o_no_output = true; break;
		case 't': o_timeout = (unsigned int)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: bb-video [--socket PATH] [--out DIR] [--png-every N] "
					"[--png-max N] [--no-output] [--connect-timeout S]\n");
			exit(2);
		}
	}
}

/* Buffers the camera should keep for capture while we hold the rest (see the main loop). */
#define VIDEO_CAMERA_SPARE 3

struct state {
	int sock, out;
	unsigned int nbuf;
	struct pl_fmt f, of;
	struct pl_buf bufs[PL_MAX_BUFFERS];
	bool at_output[PL_MAX_BUFFERS];
	unsigned int frames, verified, failed, out_frames, stale, osd_checked, seq_repeats;
	long last_seq;
	uint64_t osd_last;
	uint64_t t_first, t_last;
	struct pl_png_keeper png;
};

/* Frame consumed by the "display": hand it back to the camera. */
static int give_back(struct state *s, unsigned int idx)
{
	struct pl_msg m;

	pl_msg_init(&m, PL_DONE, idx);
	return pl_send(s->sock, &m, -1);
}

/* Take up to @max buffers back from the output (fewer when it has no more to give). */
static int output_dequeue(struct state *s, unsigned int max)
{
	struct v4l2_buffer b;

	for (unsigned int n = 0; n < max; n++) {
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
		b.memory = V4L2_MEMORY_DMABUF;
		if (pl_xioctl(s->out, VIDIOC_DQBUF, &b) < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (b.index >= s->nbuf || !s->at_output[b.index])
			return -EPROTO;
		s->at_output[b.index] = false;
		s->out_frames++;
		int r = give_back(s, b.index);
		if (r < 0)
			return r;
	}
	return 0;
}

static int on_frame(struct state *s, const struct pl_msg *m)
{
	struct pl_buf *b = &s->bufs[m->index];
	char msg[256] = "";
	bool ok = true;

	s->frames++;
	s->t_last = pl_now_us();
	if (s->frames == 1)
		s->t_first = s->t_last;
	/*
	 * A sequence number that does not advance is the driver's metadata (vivid repeats one now
	 * and then, at stream start and under load); bb-camera logs it. Whether the frame is fresh
	 * is decided from its content below: vivid's OSD counter line must change, and the rows
	 * blanked after the previous use of this buffer must hold the pattern again.
	 */
	bool seq_repeated = (long)m->u.frame.sequence <= s->last_seq;
	if (seq_repeated)
		s->seq_repeats++;
	else
		s->last_seq = m->u.frame.sequence;
	if (m->u.frame.bytesused != s->f.sizeimage) {
		snprintf(msg, sizeof(msg), "bytesused %u, want %u", m->u.frame.bytesused,
			 s->f.sizeimage);
		ok = false;
	}
	/* One CPU-access bracket per frame: read (verify, keep for PNG), then blank the checked
	 * rows so a buffer the camera does not fill again (stale) or only partly (torn) fails
	 * next time. The display stand-in thus shows the frame with rows 0, 2h/3, h-1 black. */
	unsigned int acc = b->writable ? BB_ACCESS_READ_WRITE : BB_ACCESS_READ;
	int r = pl_buf_sync(b, true, acc);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "DMA_BUF_IOCTL_SYNC start: %s", strerror(-r));
		ok = false;
	} else {
		if (ok && pl_verify_frame(b->map, &s->f, msg, sizeof(msg)) < 0)
			ok = false;
		uint64_t sig;
		if (ok && pl_osd_signature(b->map, &s->f, &sig) == 0) {
			enum pl_osd_verdict osd = pl_osd_verdict(s->osd_checked, s->osd_last, sig,
								 seq_repeated);
			if (osd == PL_OSD_STALE) {
				snprintf(msg, sizeof(msg), "OSD counter line unchanged (stale frame)");
				s->stale++;
				ok = false;
			} else if (osd == PL_OSD_REPEAT) {
				pl_log("frame %u (buffer %u, seq %u): the driver repeated the previous frame "
				       "(same sequence number and counter line); its checked rows were "
				       "written again", s->frames, m->index, m->u.frame.sequence);
			}
			s->osd_last = sig;
			s->osd_checked++;
		}
		if (o_out)
			pl_png_keep(&s->png, s->frames, m->u.frame.sequence, b->map, &s->f);
		if (b->writable)
			pl_poison(b->map, &s->f);
		pl_buf_sync(b, false, acc);
	}
	if (ok) {
		s->verified++;
	} else {
		s->failed++;
		pl_log("frame %u (buffer %u, seq %u) FAILED: %s", s->frames, m->index,
		       m->u.frame.sequence, msg);
	}

	if (s->out < 0)
		return give_back(s, m->index);
	struct v4l2_buffer ob;
	memset(&ob, 0, sizeof(ob));
	ob.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	ob.memory = V4L2_MEMORY_DMABUF;
	ob.index = m->index;
	ob.m.fd = b->fd;
	ob.length = (uint32_t)b->size;
	ob.bytesused = s->of.sizeimage;
	ob.field = V4L2_FIELD_NONE;
	if (pl_xioctl(s->out, VIDIOC_QBUF, &ob) < 0) {
		int e = -errno;
		pl_log("output QBUF %u: %s", m->index, strerror(-e));
		return e;
	}
	s->at_output[m->index] = true;
	return 0;
}

int main(int argc, char **argv)
{
	struct bb_client *cl = NULL;
	struct state s;
	struct pl_msg m;
	char out_path[64];
	int r, rc = 1, fd;
	struct pl_msg bye;
	bool got_bye = false;

	pl_prog = "bb-video";
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv);
	memset(&s, 0, sizeof(s));
	memset(&bye, 0, sizeof(bye));
	s.out = -1;
	s.last_seq = -1;
	s.png.every = o_png_every;
	s.png.max = o_png_max;
	for (unsigned int i = 0; i < PL_MAX_BUFFERS; i++)
		s.bufs[i].fd = -1;
	if (o_out && mkdir(o_out, 0755) < 0 && errno != EEXIST)
		pl_log("mkdir %s: %s", o_out, strerror(errno));

	s.sock = pl_connect(o_socket, (int)o_timeout * 1000);
	if (s.sock < 0) {
		pl_log("connect %s: %s", o_socket, strerror(-s.sock));
		return 1;
	}
	r = pl_recv(s.sock, &m, NULL);
	if (r <= 0 || m.type != PL_HELLO || m.u.hello.n_buffers < 1 ||
	    m.u.hello.n_buffers > PL_MAX_BUFFERS || m.u.hello.fourcc != V4L2_PIX_FMT_YUYV ||
	    m.u.hello.stride < m.u.hello.width * 2 ||
	    (uint64_t)m.u.hello.stride * m.u.hello.height > m.u.hello.buf_size) {
		pl_log("bad HELLO");
		goto out;
	}
	bool direct = m.u.hello.flags & PL_HELLO_DIRECT_FDS;
	s.nbuf = m.u.hello.n_buffers;
	s.f.width = m.u.hello.width;
	s.f.height = m.u.hello.height;
	s.f.stride = m.u.hello.stride;
	s.f.sizeimage = m.u.hello.sizeimage;
	pl_log("stream: %u buffers, YUYV %ux%u stride %u, %s", s.nbuf, s.f.width, s.f.height,
	       s.f.stride, direct ? "direct mode (SCM_RIGHTS fds)" : "broker tokens");
	if (!direct && (r = bb_client_connect(&cl, 0)) < 0) {
		pl_log("connect to bufbrokerd: %s", bb_strerror(r));
		goto out;
	}
	for (unsigned int i = 0; i < s.nbuf; i++) {
		r = pl_recv(s.sock, &m, &fd);
		if (r <= 0 || m.type != PL_TOKEN || m.index != i || (direct && fd < 0)) {
			pl_log("bad TOKEN %u", i);
			if (fd >= 0)
				close(fd);
			goto out;
		}
		struct pl_buf *b = &s.bufs[i];
		if (direct) {
			b->fd = fd;
			off_t end = lseek(fd, 0, SEEK_END);
			b->size = end > 0 ? (size_t)end : (size_t)m.u.token.size;
		} else {
			m.u.token.token[BB_TOKEN_MAX - 1] = '\0';
			r = bb_client_import(cl, m.u.token.token, &b->bb);
			if (r < 0) {
				pl_log("import token of buffer %u: %s: %s", i, bb_strerror(r),
				       bb_client_last_error_message(cl));
				goto out;
			}
			b->fd = bb_buffer_get_fd(b->bb);
			b->size = (size_t)bb_buffer_get_size(b->bb);
			pl_log("buffer %u imported: own id %llu, fd %d, %zu bytes", i,
			       (unsigned long long)bb_buffer_get_id(b->bb), b->fd, b->size);
		}
		if (b->size < (size_t)s.f.stride * s.f.height || (r = pl_buf_map(b)) < 0) {
			pl_log("buffer %u: size %zu, map failed", i, b->size);
			goto out;
		}
		if (!b->writable)
			pl_log("buffer %u is read-only here: stale-frame poisoning disabled", i);
	}

	if (!o_no_output && pl_find_vivid(V4L2_CAP_VIDEO_OUTPUT, out_path, sizeof(out_path)) == 0)
		s.out = pl_output_open(out_path, s.f.width, s.f.height, &s.of);
	if (s.out >= 0) {
		struct v4l2_requestbuffers rb;
		memset(&rb, 0, sizeof(rb));
		rb.count = s.nbuf;
		rb.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
		rb.memory = V4L2_MEMORY_DMABUF;
		if (s.of.sizeimage > s.bufs[0].size || pl_xioctl(s.out, VIDIOC_REQBUFS, &rb) < 0 ||
		    rb.count < s.nbuf || pl_streamon(s.out, V4L2_BUF_TYPE_VIDEO_OUTPUT) < 0) {
			pl_log("output device unusable (size %u, REQBUFS %u): %s", s.of.sizeimage,
			       rb.count, strerror(errno));
			goto out;
		}
	} else if (!o_no_output) {
		pl_log("no vivid output device; run with --no-output to skip it");
		goto out;
	}

	uint64_t cpu0 = pl_cpu_us(RUSAGE_SELF), sys0 = pl_cpu_sys_us(RUSAGE_SELF);
	bool flushing = false;
	for (;;) {
		struct pollfd p[2] = { { .fd = s.sock, .events = POLLIN },
				       { .fd = s.out, .events = POLLOUT } };
		unsigned int n_out = 0;
		for (unsigned int i = 0; i < s.nbuf; i++)
			n_out += s.at_output[i];
		/*
		 * vivid's output, like a display, keeps the last queued buffer until the next one
		 * arrives. After the last frame, once only that one is left, STREAMOFF returns it.
		 */
		if (flushing && n_out <= 1 && s.out >= 0) {
			int t = V4L2_BUF_TYPE_VIDEO_OUTPUT;
			pl_xioctl(s.out, VIDIOC_STREAMOFF, &t);
			for (unsigned int i = 0; i < s.nbuf; i++) {
				if (!s.at_output[i])
					continue;
				s.at_output[i] = false;
				s.out_frames++;
				if ((r = give_back(&s, i)) < 0)
					goto out;
			}
			flushing = false;
			n_out = 0;
		}
		bool outstanding = n_out > 0;
		if (got_bye && !outstanding)
			break;
		/*
		 * Like a display, the output hands a buffer back one frame later. Those are
		 * dequeued when the next FRAME arrives, without a wake-up of their own (a
		 * context switch), as long as the camera keeps VIDEO_CAMERA_SPARE buffers;
		 * holding more, or at the end of the stream, the output wakes us too.
		 */
		bool poll_out = s.out >= 0 && outstanding &&
				(flushing || n_out + VIDEO_CAMERA_SPARE > s.nbuf);
		r = poll(p, poll_out ? 2 : 1, 10000);
		if (r == 0) {
			pl_log("stalled after %u frames", s.frames);
			goto out;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (p[1].revents & (POLLOUT | POLLERR)) {
			if ((r = output_dequeue(&s, s.nbuf)) < 0) {
				pl_log("output DQBUF: %s", strerror(-r));
				goto out;
			}
		}
		if (!got_bye && p[0].revents) {
			r = pl_recv(s.sock, &m, NULL);
			if (r <= 0) {
				pl_log("camera went away: %s", r ? strerror(-r) : "EOF");
				goto out;
			}
			if (m.type == PL_BYE) {
				bye = m;
				got_bye = true;
			} else if (m.type == PL_FRAME && m.index < s.nbuf && !s.at_output[m.index]) {
				/* One frame in, one back: the output returns the buffer it showed
				 * before. Asking once spares the call that would only say "no more". */
				if (s.out >= 0 && (r = output_dequeue(&s, 1)) < 0) {
					pl_log("output DQBUF: %s", strerror(-r));
					goto out;
				}
				if ((r = on_frame(&s, &m)) < 0)
					goto out;
				if (m.u.frame.flags & PL_FRAME_LAST)
					flushing = true;
			} else {
				pl_log("unexpected message %u index %u", m.type, m.index);
				goto out;
			}
		}
	}
	uint64_t cpu = pl_cpu_us(RUSAGE_SELF) - cpu0, sys = pl_cpu_sys_us(RUSAGE_SELF) - sys0;
	unsigned int pngs = pl_png_flush(&s.png, o_out, "zero-copy", &s.f);
	double secs = (s.t_last - s.t_first) / 1e6;
	double fps = s.frames > 1 && secs > 0 ? (s.frames - 1) / secs : 0;
	uint64_t total = cpu + bye.u.bye.cpu_us;
	printf("PIPELINE mode=zero-copy frames=%u verified=%u failed=%u expected=%u output=%u "
	       "seq_gaps=%u seq_repeats=%u stale=%u osd_checked=%u fps=%.2f cpu_ms_per_frame=%.3f "
	       "sys_ms_per_frame=%.3f camera_cpu_ms=%.1f video_cpu_ms=%.1f pngs=%u "
	       "copies_per_frame=0\n",
	       s.frames, s.verified, s.failed, bye.u.bye.frames, s.out_frames, bye.u.bye.seq_gaps,
	       s.seq_repeats, s.stale, s.osd_checked, fps, s.frames ? total / 1000.0 / s.frames : 0.0,
	       s.frames ? (sys + bye.u.bye.cpu_sys_us) / 1000.0 / s.frames : 0.0,
	       bye.u.bye.cpu_us / 1000.0, cpu / 1000.0, pngs);
	rc = s.failed || !s.frames || (s.out >= 0 && s.out_frames != s.frames) || s.frames != bye.u.bye.frames || s.verified != s.frames ||
	     bye.u.bye.cam_errors || bye.u.bye.region_ok == 0;
out:
	if (s.out >= 0) {
		pl_streamoff_free(s.out, V4L2_BUF_TYPE_VIDEO_OUTPUT, V4L2_MEMORY_DMABUF);
		close(s.out);
	}
	close(s.sock);
	for (unsigned int i = 0; i < s.nbuf; i++) {
		if (s.bufs[i].bb) {
			bb_client_release(cl, s.bufs[i].bb);
		} else if (s.bufs[i].fd >= 0) {
			if (s.bufs[i].map)
				munmap(s.bufs[i].map, s.bufs[i].size);
			close(s.bufs[i].fd);
		}
	}
	bb_client_free(cl);
	return rc;
}
