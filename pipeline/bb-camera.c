// SPDX-License-Identifier: MIT
/*
 * bb-camera - the camera client: vivid capture into broker dma-bufs (role "camera"),
 * frames handed to bb-video over a SOCK_SEQPACKET socket (docs/pipeline.md).
 *
 *   bb-camera [--frames N] [--buffers N] [--width W] [--height H] [--fps F]
 *             [--socket PATH|@abstract] [--socket-group GROUP] [--role camera]
 *             [--share-target role:video] [--direct HEAP] [--region HEAP]
 *             [--region-check PATH|@abstract]
 *
 * --direct HEAP   test mode without bufbrokerd: allocate from /dev/dma_heap/HEAP and pass the
 *                 fds to bb-video with SCM_RIGHTS instead of broker tokens.
 * --region HEAP   heap/alias naming the region every buffer must lie in (default "camera").
 *                 As root, bb-camera checks it itself through /proc/self/pagemap.
 * --region-check  send every buffer fd to a root bb-region-check listening there, which checks
 *                 the physical placement (for the unprivileged systemd service).
 * --inject-stale N  fault injection for the verifier's own test: after the N-th DONE, announce
 *                 that buffer again as a new frame without letting vivid fill it (a stale frame;
 *                 bb-video must fail exactly that frame and exit non-zero).
 * Exit 0 when N frames went through and every check passed.
 */
#include "pl_common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DRM_FORMAT_YUYV
#define DRM_FORMAT_YUYV 0x56595559u /* fourcc_code('Y', 'U', 'Y', 'V') */
#endif
#define DRM_FORMAT_MOD_LINEAR_ 0ull

/* Capture buffers queued to vivid below which a DONE from bb-video wakes us at once. */
#define CAM_MIN_QUEUED 2

/*
 * Five buffers: bb-video holds two (the one on display, the one just queued behind it, as a
 * display does), vivid fills one and has one queued, and one is on its way back. With four,
 * every returned buffer has to wake the camera to keep vivid supplied.
 */
static unsigned int o_frames = 300, o_buffers = 5, o_width = 1280, o_height = 720, o_fps = 30;
static unsigned int o_inject_stale; /* test: after this many DONEs, resend a buffer uncaptured */
static const char *o_socket = PL_DEFAULT_SOCKET, *o_group, *o_role = "camera",
		  *o_target = "role:video", *o_direct, *o_region = "camera", *o_check;

static void usage(void)
{
	fprintf(stderr, "usage: bb-camera [--frames N] [--buffers N] [--width W] [--height H] "
			"[--fps F] [--socket PATH] [--socket-group G] [--role R] "
			"[--share-target T] [--direct HEAP] [--region HEAP] "
			"[--region-check SOCK]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "frames", required_argument, NULL, 'n' },
		{ "buffers", required_argument, NULL, 'b' },
		{ "width", required_argument, NULL, 'W' },
		{ "height", required_argument, NULL, 'H' },
		{ "fps", required_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "role", required_argument, NULL, 'r' },
		{ "share-target", required_argument, NULL, 't' },
		{ "direct", required_argument, NULL, 'd' },
		{ "region", required_argument, NULL, 'R' },
		{ "region-check", required_argument, NULL, 'c' },
		{ "inject-stale", required_argument, NULL, 'S' },
		{ 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'n': o_frames = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'b': o_buffers = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'W': o_width = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'H': o_height = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'f': o_fps = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 's': o_socket = optarg; break;
		case 'g': o_group = optarg; break;
		case 'r': o_role = optarg; break;
		case 't': o_target = optarg; break;
		case 'd': o_direct = optarg; break;
		case 'R': o_region = optarg; break;
		case 'c': o_check = optarg; break;
		case 'S': o_inject_stale = (unsigned int)strtoul(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (optind != argc || o_frames < 1 || o_buffers < 2 || o_buffers > PL_MAX_BUFFERS)
		usage();
}

/* Ask a root bb-region-check to check each buffer; returns 1 all inside, 0 a failure,
 * 2 nobody listening (not checked). */
static int remote_region_check(struct pl_buf *bufs, unsigned int n)
{
	int s = pl_connect(o_check, 2000), ok = 1;

	if (s < 0) {
		pl_log("region check: no bb-region-check on %s (%s): placement NOT checked", o_check,
		       strerror(-s));
		return 2;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct pl_msg m;
		pl_msg_init(&m, PL_TOKEN, i);
		m.u.token.size = bufs[i].size;
		snprintf(m.u.token.token, sizeof(m.u.token.token), "%s", o_region);
		int r = pl_send(s, &m, bufs[i].fd);
		if (r == 0)
			r = pl_recv(s, &m, NULL);
		if (r <= 0 || m.type != PL_DONE) {
			pl_log("region check: no answer for buffer %u", i);
			ok = 0;
			break;
		}
		pl_log("region check buffer %u: %s: %s", i, m.u.token.size ? "inside" : "FAILED",
		       m.u.token.token);
		if (!m.u.token.size)
			ok = 0;
	}
	close(s);
	return ok;
}

int main(int argc, char **argv)
{
	struct bb_client *cl = NULL;
	struct pl_buf bufs[PL_MAX_BUFFERS];
	struct pl_fmt f;
	char cap_path[64];
	double fps_set = 0;
	int cap = -1, lsock = -1, sock = -1, rc = 1, r;
	unsigned int nbuf = o_buffers, errors = 0, gaps = 0, sent = 0, done = 0, seq_repeats = 0;
	uint32_t region_ok = 2;
	bool in_flight[PL_MAX_BUFFERS] = { false };
	long last_seq = -1;
	uint32_t seq_shift = 0;

	pl_prog = "bb-camera";
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv);
	nbuf = o_buffers;
	memset(bufs, 0, sizeof(bufs));
	for (unsigned int i = 0; i < PL_MAX_BUFFERS; i++)
		bufs[i].fd = -1;

	if (pl_find_vivid(V4L2_CAP_VIDEO_CAPTURE, cap_path, sizeof(cap_path)) < 0) {
		pl_log("no vivid capture device (modprobe vivid allocators=1 n_devs=1)");
		return 1;
	}
	cap = pl_capture_open(cap_path, o_width, o_height, o_fps, &f, &fps_set);
	if (cap < 0)
		return 1;
	pl_log("capture %s: YUYV %ux%u stride %u sizeimage %u, %.2f fps", cap_path, f.width,
	       f.height, f.stride, f.sizeimage, fps_set);

	/* Buffers: an image from the broker when its layout matches the driver's, else bytes. */
	if (!o_direct) {
		r = bb_client_connect(&cl, 0);
		if (r < 0) {
			pl_log("connect to bufbrokerd: %s", bb_strerror(r));
			goto out;
		}
	}
	for (unsigned int i = 0; i < nbuf; i++) {
		struct bb_image_layout lay;
		struct bb_buffer *bb = NULL;
		char name[24];
		struct bb_alloc_options ao = { .name = name, .cpu_access = BB_CPU_ACCESS_READ_WRITE };
		bool image_ok = false;

		snprintf(name, sizeof(name), "cam%u", i);
		memset(&lay, 0, sizeof(lay));
		r = o_direct ? bb_direct_alloc_image(o_direct, DRM_FORMAT_YUYV, f.width, f.height,
						     DRM_FORMAT_MOD_LINEAR_, &bb, &lay)
			     : bb_client_alloc_image(cl, o_role, DRM_FORMAT_YUYV, f.width, f.height,
						     DRM_FORMAT_MOD_LINEAR_, &ao, &bb, &lay);
		if (r == 0 && lay.n_planes == 1 && lay.planes[0].offset == 0 &&
		    lay.planes[0].stride == f.stride && bb_buffer_get_size(bb) >= f.sizeimage) {
			image_ok = true;
		} else if (r == 0) {
			if (i == 0)
				pl_log("broker layout stride %u / size %llu does not match the driver "
				       "(bytesperline %u, sizeimage %u): allocating sizeimage bytes",
				       lay.planes[0].stride, (unsigned long long)bb_buffer_get_size(bb),
				       f.stride, f.sizeimage);
			o_direct ? bb_buffer_free(bb) : (void)bb_client_release(cl, bb);
			bb = NULL;
		} else if (r != -EOPNOTSUPP && r != -EINVAL) {
			pl_log("allocate image %u (%s %s): %s%s%s", i, o_direct ? "heap" : "role",
			       o_direct ? o_direct : o_role, bb_strerror(r), cl ? ": " : "",
			       cl ? bb_client_last_error_message(cl) : "");
			goto out;
		}
		if (!image_ok) {
			r = o_direct ? bb_direct_alloc(o_direct, f.sizeimage, &bb)
				     : bb_client_alloc(cl, o_role, f.sizeimage, &ao, &bb);
			if (r < 0) {
				pl_log("allocate %u bytes: %s", f.sizeimage, bb_strerror(r));
				goto out;
			}
		}
		bufs[i].bb = bb;
		bufs[i].fd = bb_buffer_get_fd(bb);
		bufs[i].size = (size_t)bb_buffer_get_size(bb);
		pl_log("buffer %u: id %llu, %zu bytes (%s)", i,
		       (unsigned long long)bb_buffer_get_id(bb), bufs[i].size,
		       image_ok ? "AllocateImage, stride matches bytesperline" : "Allocate");
	}

	/* Placement: as root check pagemap here; unprivileged, a root helper does it. */
	if (geteuid() == 0) {
		struct pl_region reg;
		r = pl_region_lookup(o_region, &reg);
		if (r < 0) {
			pl_log("region %s: %s", o_region, strerror(-r));
			region_ok = 0;
		} else {
			region_ok = 1;
			for (unsigned int i = 0; i < nbuf; i++) {
				char msg[256];
				if (pl_buf_map(&bufs[i]) < 0) {
					region_ok = 0;
					continue;
				}
				r = pl_region_check_map(bufs[i].map, bufs[i].size, &reg, NULL, msg,
							sizeof(msg));
				printf("REGION-CHECK buffer=%u id=%llu %s %s\n", i,
				       (unsigned long long)bb_buffer_get_id(bufs[i].bb),
				       r ? "outside" : "inside", msg);
				if (r)
					region_ok = 0;
			}
		}
	} else if (o_check) {
		region_ok = (uint32_t)remote_region_check(bufs, nbuf);
	}
	if (region_ok == 0)
		pl_log("region check FAILED");

	/* Wait for the video client. */
	{
		mode_t mode = 0666;
		gid_t gid = (gid_t)-1;
		if (o_group) {
			struct group *g = getgrnam(o_group);
			if (!g) {
				pl_log("socket group %s: unknown group", o_group);
				goto out;
			}
			gid = g->gr_gid;
			mode = 0660;
		}
		lsock = pl_listen(o_socket, mode, gid);
	}
	if (lsock < 0) {
		pl_log("listen on %s: %s", o_socket, strerror(-lsock));
		goto out;
	}
	pl_log("waiting for the video client on %s", o_socket);
	struct pollfd lp = { .fd = lsock, .events = POLLIN };
	if (poll(&lp, 1, 60000) <= 0 || (sock = accept4(lsock, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		pl_log("no video client within 60 s");
		goto out;
	}
	{
		struct ucred uc;
		socklen_t ul = sizeof(uc);
		if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0)
			pl_log("video client connected: pid %d uid %u", uc.pid, uc.uid);
	}

	struct pl_msg m;
	pl_msg_init(&m, PL_HELLO, 0);
	m.u.hello.n_buffers = nbuf;
	m.u.hello.width = f.width;
	m.u.hello.height = f.height;
	m.u.hello.fourcc = V4L2_PIX_FMT_YUYV;
	m.u.hello.stride = f.stride;
	m.u.hello.sizeimage = f.sizeimage;
	m.u.hello.buf_size = bufs[0].size;
	m.u.hello.flags = o_direct ? PL_HELLO_DIRECT_FDS : 0;
	if ((r = pl_send(sock, &m, -1)) < 0)
		goto sockfail;
	for (unsigned int i = 0; i < nbuf; i++) {
		pl_msg_init(&m, PL_TOKEN, i);
		m.u.token.size = bufs[i].size;
		if (!o_direct) {
			r = bb_client_share(cl, bb_buffer_get_id(bufs[i].bb), o_target,
					    m.u.token.token, sizeof(m.u.token.token));
			if (r < 0) {
				pl_log("share buffer %u with %s: %s: %s", i, o_target, bb_strerror(r),
				       bb_client_last_error_message(cl));
				goto out;
			}
		}
		if ((r = pl_send(sock, &m, o_direct ? bufs[i].fd : -1)) < 0)
			goto sockfail;
	}

	/* Capture. */
	struct v4l2_requestbuffers rb;
	memset(&rb, 0, sizeof(rb));
	rb.count = nbuf;
	rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	rb.memory = V4L2_MEMORY_DMABUF;
	if (pl_xioctl(cap, VIDIOC_REQBUFS, &rb) < 0 || rb.count < nbuf) {
		pl_log("REQBUFS DMABUF %u: %s (got %u)", nbuf, strerror(errno), rb.count);
		goto out;
	}
	for (unsigned int i = 0; i < nbuf; i++) {
		struct v4l2_buffer b;
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		b.memory = V4L2_MEMORY_DMABUF;
		b.index = i;
		b.m.fd = bufs[i].fd;
		b.length = (uint32_t)bufs[i].size;
		if (pl_xioctl(cap, VIDIOC_QBUF, &b) < 0) {
			pl_log("QBUF %u (dma-buf fd %d): %s", i, bufs[i].fd, strerror(errno));
			goto out;
		}
	}
	uint64_t cpu0 = pl_cpu_us(RUSAGE_SELF), sys0 = pl_cpu_sys_us(RUSAGE_SELF), t0 = pl_now_us();
	if ((r = pl_streamon(cap, V4L2_BUF_TYPE_VIDEO_CAPTURE)) < 0) {
		pl_log("STREAMON: %s", strerror(-r));
		goto out;
	}
	while (done < o_frames) {
		struct pollfd p[2] = { { .fd = cap, .events = POLLIN }, { .fd = sock, .events = POLLIN } };
		unsigned int n_flight = 0;

		for (unsigned int i = 0; i < nbuf; i++)
			n_flight += in_flight[i];
		/*
		 * While vivid has buffers to spare, a DONE gets no wake-up of its own: it is
		 * picked up at the next frame's wake-up (a wake-up is a context switch, the largest
		 * CPU cost per frame after the cache maintenance). Short of buffers, or once every
		 * frame is sent, the socket wakes us too.
		 */
		bool wait_done = sent >= o_frames || nbuf - n_flight < CAM_MIN_QUEUED;
		nfds_t np = (sent < o_frames ? 1 : 0) + (wait_done ? 1 : 0);
		struct pollfd *pp = sent < o_frames ? p : p + 1;
		r = poll(pp, np, 10000);
		if (r == 0) {
			pl_log("stalled: %u frames sent, %u done", sent, done);
			goto out;
		}
		if (r < 0 && errno != EINTR)
			goto out;
		if (sent < o_frames && (p[0].revents & (POLLIN | POLLERR))) {
			struct v4l2_buffer b;
			memset(&b, 0, sizeof(b));
			b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
			b.memory = V4L2_MEMORY_DMABUF;
			if (pl_xioctl(cap, VIDIOC_DQBUF, &b) == 0) {
				if (b.index >= nbuf || in_flight[b.index] || b.m.fd != bufs[b.index].fd) {
					pl_log("DQBUF returned bad index %u / fd %d", b.index, b.m.fd);
					errors++;
					goto out;
				}
				/*
				 * vivid sometimes stamps two buffers with the same sequence
				 * (seen at stream start, and under host load). That is the
				 * driver's metadata; whether the frame itself is fresh is
				 * what bb-video's content checks decide, so count it only.
				 */
				if ((long)b.sequence <= last_seq) {
					pl_log("driver repeated sequence %u (after %ld)", b.sequence,
					       last_seq);
					seq_repeats++;
				}
				if ((b.flags & V4L2_BUF_FLAG_ERROR) || b.bytesused != f.sizeimage) {
					pl_log("frame seq %u after %ld, flags 0x%x, bytesused %u",
					       b.sequence, last_seq, b.flags, b.bytesused);
					errors++;
				}
				if (last_seq >= 0 && (long)b.sequence > last_seq + 1)
					gaps += (unsigned int)((long)b.sequence - last_seq - 1);
				if ((long)b.sequence > last_seq)
					last_seq = b.sequence;
				pl_msg_init(&m, PL_FRAME, b.index);
				m.u.frame.sequence = b.sequence + seq_shift;
				m.u.frame.bytesused = b.bytesused;
				m.u.frame.flags = sent + 1 == o_frames ? PL_FRAME_LAST : 0;
				m.u.frame.timestamp_us = (uint64_t)b.timestamp.tv_sec * 1000000u +
							 (uint64_t)b.timestamp.tv_usec;
				in_flight[b.index] = true;
				if ((r = pl_send(sock, &m, -1)) < 0)
					goto sockfail;
				sent++;
			} else if (errno != EAGAIN) {
				pl_log("DQBUF: %s", strerror(errno));
				goto out;
			}
		}
		/* Every DONE waiting, in one call: a short batch means none is left, so no
		 * further receive is needed to find that out. */
		for (int nm = (int)nbuf; nm == (int)nbuf;) {
			struct pl_msg got[PL_MAX_BUFFERS];

			nm = pl_recv_batch_nowait(sock, got, nbuf);
			if (nm == -EAGAIN)
				break;
			if (nm <= 0) {
				pl_log("video client went away (%s) after %u frames", nm ? strerror(-nm) : "EOF",
				       done);
				goto out;
			}
			for (int k = 0; k < nm; k++) {
				m = got[k];
				if (m.type != PL_DONE || m.index >= nbuf || !in_flight[m.index]) {
					pl_log("unexpected message type %u index %u", m.type, m.index);
					goto out;
				}
				in_flight[m.index] = false;
				done++;
				if (o_inject_stale && done == o_inject_stale && sent < o_frames) {
					pl_log("injecting a stale frame: buffer %u again, not re-captured", m.index);
					uint32_t idx = m.index;
					pl_msg_init(&m, PL_FRAME, idx);
					/* Sequence numbers stay increasing (all later ones shifted by one), so
					 * only the pixels (blanked rows, OSD counter) can give it away. */
					m.u.frame.sequence = (uint32_t)last_seq + seq_shift + 1;
					seq_shift++;
					m.u.frame.bytesused = f.sizeimage;
					m.u.frame.flags = sent + 1 == o_frames ? PL_FRAME_LAST : 0;
					in_flight[idx] = true;
					if ((r = pl_send(sock, &m, -1)) < 0)
						goto sockfail;
					sent++;
					continue;
				}
				if (sent < o_frames) {
					struct v4l2_buffer b;
					memset(&b, 0, sizeof(b));
					b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
					b.memory = V4L2_MEMORY_DMABUF;
					b.index = m.index;
					b.m.fd = bufs[m.index].fd;
					b.length = (uint32_t)bufs[m.index].size;
					if (pl_xioctl(cap, VIDIOC_QBUF, &b) < 0) {
						pl_log("re-QBUF %u: %s", m.index, strerror(errno));
						goto out;
					}
				}
			}
		}
	}
	uint64_t cpu = pl_cpu_us(RUSAGE_SELF) - cpu0, wall = pl_now_us() - t0;
	uint64_t sys = pl_cpu_sys_us(RUSAGE_SELF) - sys0;
	pl_streamoff_free(cap, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_DMABUF);
	pl_msg_init(&m, PL_BYE, 0);
	m.u.bye.cpu_us = cpu;
	m.u.bye.frames = sent;
	m.u.bye.seq_gaps = gaps;
	m.u.bye.cam_errors = errors;
	m.u.bye.region_ok = region_ok;
	m.u.bye.cpu_sys_us = sys;
	if ((r = pl_send(sock, &m, -1)) < 0)
		goto sockfail;
	/* Wait until the video client has closed its side (it has printed the summary). */
	struct pollfd ep = { .fd = sock, .events = POLLIN };
	if (poll(&ep, 1, 10000) > 0)
		(void)pl_recv(sock, &m, NULL);
	printf("CAMERA frames=%u seq_gaps=%u seq_repeats=%u errors=%u cpu_ms=%.1f sys_ms=%.1f cpu_ms_per_frame=%.3f "
	       "wall_s=%.2f region_check=%s\n",
	       sent, gaps, seq_repeats, errors, cpu / 1000.0, sys / 1000.0, sent ? cpu / 1000.0 / sent : 0.0,
	       wall / 1e6,
	       region_ok == 1 ? "inside" : region_ok == 0 ? "FAILED" : "not-run");
	rc = errors || region_ok == 0 ? 1 : 0;
	goto out;
sockfail:
	pl_log("socket: %s", strerror(-r));
out:
	if (sock >= 0)
		close(sock);
	if (lsock >= 0) {
		close(lsock);
		if (o_socket[0] != '@')
			unlink(o_socket);
	}
	if (cap >= 0) {
		pl_streamoff_free(cap, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_DMABUF);
		close(cap);
	}
	for (unsigned int i = 0; i < nbuf; i++) {
		if (!bufs[i].bb)
			continue;
		if (cl)
			bb_client_release(cl, bufs[i].bb);
		else
			bb_buffer_free(bufs[i].bb);
	}
	bb_client_free(cl);
	return rc;
}
