// SPDX-License-Identifier: MIT
/*
 * bb-copy-pipeline - the copy-based baseline of bb-camera + bb-video, without dma-buf sharing:
 * V4L2_MEMORY_MMAP capture buffers, each frame memcpy'd into the consumer's own malloc'd
 * memory, verified there, then memcpy'd into an MMAP buffer of vivid's video output (the
 * consumer's memory is not device memory: a copy-based consumer has to copy into the device's
 * buffer). One process, two threads (camera thread, consumer thread) with an in-process queue
 * instead of the socket: the per-frame work is the same as in the zero-copy pipeline plus the
 * two copies, and no socket or second process is charged to either side.
 *
 *   bb-copy-pipeline [--frames N] [--buffers N] [--width W] [--height H] [--fps F]
 *                    [--out DIR] [--png-every N] [--png-max N] [--no-output]
 *
 * Prints "PIPELINE mode=copy frames=... verified=... failed=... fps=... cpu_ms_per_frame=...".
 */
#include "pl_common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned int o_frames = 300, o_buffers = 4, o_width = 1280, o_height = 720, o_fps = 30;
static unsigned int o_png_every = 30, o_png_max = 3;
static const char *o_out;
static bool o_no_output;

struct slot {
	uint8_t *mem; /* consumer's own memory */
	uint32_t sequence, bytesused;
};

struct queue {
	unsigned int items[PL_MAX_BUFFERS + 1], head, tail;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct queue full, free;
	bool cam_done, cons_abort;
	unsigned int cam_frames, cam_errors, gaps;
} sh = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static struct slot slots[PL_MAX_BUFFERS];
static struct pl_fmt f, of;
static int cap = -1, out = -1;
static unsigned int nbuf;
static uint8_t *cap_map[PL_MAX_BUFFERS], *out_map[PL_MAX_BUFFERS];
static size_t cap_len[PL_MAX_BUFFERS], out_len[PL_MAX_BUFFERS];

static void q_push(struct queue *q, unsigned int v)
{
	q->items[q->tail] = v;
	q->tail = (q->tail + 1) % (PL_MAX_BUFFERS + 1);
}

static bool q_pop(struct queue *q, unsigned int *v)
{
	if (q->head == q->tail)
		return false;
	*v = q->items[q->head];
	q->head = (q->head + 1) % (PL_MAX_BUFFERS + 1);
	return true;
}

static void *camera_thread(void *arg)
{
	long last_seq = -1;

	(void)arg;
	while (sh.cam_frames < o_frames) {
		struct pollfd p = { .fd = cap, .events = POLLIN };
		int r = poll(&p, 1, 10000);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			pl_log("capture stalled after %u frames", sh.cam_frames);
			break;
		}
		struct v4l2_buffer b;
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		b.memory = V4L2_MEMORY_MMAP;
		if (pl_xioctl(cap, VIDIOC_DQBUF, &b) < 0) {
			if (errno == EAGAIN)
				continue;
			pl_log("DQBUF: %s", strerror(errno));
			break;
		}
		if (b.index >= nbuf)
			break;
		/* A repeated sequence is vivid's metadata; freshness is judged by content. */
		bool bad = (b.flags & V4L2_BUF_FLAG_ERROR) || b.bytesused != f.sizeimage;
		if (last_seq >= 0 && (long)b.sequence > last_seq + 1)
			sh.gaps += (unsigned int)((long)b.sequence - last_seq - 1);
		if ((long)b.sequence > last_seq)
			last_seq = b.sequence;

		unsigned int s;
		pthread_mutex_lock(&sh.lock);
		while (!q_pop(&sh.free, &s) && !sh.cons_abort)
			pthread_cond_wait(&sh.cond, &sh.lock);
		bool abort_now = sh.cons_abort;
		pthread_mutex_unlock(&sh.lock);
		if (abort_now)
			break;
		/* The copy: device memory -> the consumer's own memory. */
		memcpy(slots[s].mem, cap_map[b.index], f.sizeimage);
		slots[s].sequence = b.sequence;
		slots[s].bytesused = b.bytesused;
		pl_poison(cap_map[b.index], &f); /* stale/torn detection, as in zero-copy */
		if (pl_xioctl(cap, VIDIOC_QBUF, &b) < 0) {
			pl_log("re-QBUF: %s", strerror(errno));
			break;
		}
		pthread_mutex_lock(&sh.lock);
		if (bad)
			sh.cam_errors++;
		sh.cam_frames++;
		q_push(&sh.full, s);
		pthread_cond_broadcast(&sh.cond);
		pthread_mutex_unlock(&sh.lock);
	}
	pthread_mutex_lock(&sh.lock);
	sh.cam_done = true;
	pthread_cond_broadcast(&sh.cond);
	pthread_mutex_unlock(&sh.lock);
	return NULL;
}

static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "frames", required_argument, NULL, 'n' },
		{ "buffers", required_argument, NULL, 'b' },
		{ "width", required_argument, NULL, 'W' },
		{ "height", required_argument, NULL, 'H' },
		{ "fps", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "png-every", required_argument, NULL, 'e' },
		{ "png-max", required_argument, NULL, 'm' },
		{ "no-output", no_argument, NULL, 'N' },
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
		case 'o': o_out = optarg; break;
		case 'e': o_png_every = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'm': o_png_max = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'N': o_no_output = true; break;
		default:
			fprintf(stderr, "usage: bb-copy-pipeline [--frames N] [--buffers N] [--width W] "
					"[--height H] [--fps F] [--out DIR] [--png-every N] "
					"[--png-max N] [--no-output]\n");
			exit(2);
		}
	}
	if (o_frames < 1 || o_buffers < 2 || o_buffers > PL_MAX_BUFFERS)
		exit(2);
}

static int mmap_queue(int fd, uint32_t type, unsigned int n, uint8_t **maps, size_t *lens,
		      bool queue)
{
	struct v4l2_requestbuffers rb;

	memset(&rb, 0, sizeof(rb));
	rb.count = n;
	rb.type = type;
	rb.memory = V4L2_MEMORY_MMAP;
	if (pl_xioctl(fd, VIDIOC_REQBUFS, &rb) < 0 || rb.count < n) {
		pl_log("REQBUFS MMAP %u: %s (got %u)", n, strerror(errno), rb.count);
		return -ENOBUFS;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct v4l2_buffer b;
		memset(&b, 0, sizeof(b));
		b.type = type;
		b.memory = V4L2_MEMORY_MMAP;
		b.index = i;
		if (pl_xioctl(fd, VIDIOC_QUERYBUF, &b) < 0)
			return -errno;
		void *p = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.m.offset);
		if (p == MAP_FAILED)
			return -errno;
		maps[i] = p;
		lens[i] = b.length;
		if (queue) {
			pl_poison(maps[i], &f);
			if (pl_xioctl(fd, VIDIOC_QBUF, &b) < 0)
				return -errno;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[64];
	double fps_set = 0;
	int rc = 1, r;
	pthread_t cam;
	bool cam_started = false;
	unsigned int frames = 0, verified = 0, failed = 0, out_frames = 0, stale = 0, seq_repeats = 0;
	struct pl_png_keeper png = { 0 };
	unsigned int out_next = 0;
	long last_seq = -1;
	uint64_t t_first = 0, t_last = 0, cpu0 = 0, sys0 = 0, osd_last = 0;
	unsigned int osd_checked = 0;

	pl_prog = "bb-copy-pipeline";
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv);
	nbuf = o_buffers;
	png.every = o_png_every;
	png.max = o_png_max;
	if (o_out && mkdir(o_out, 0755) < 0 && errno != EEXIST)
		pl_log("mkdir %s: %s", o_out, strerror(errno));
	if (pl_find_vivid(V4L2_CAP_VIDEO_CAPTURE, path, sizeof(path)) < 0) {
		pl_log("no vivid capture device");
		return 1;
	}
	cap = pl_capture_open(path, o_width, o_height, o_fps, &f, &fps_set);
	if (cap < 0)
		return 1;
	pl_log("capture %s: YUYV %ux%u stride %u sizeimage %u, %.2f fps, MMAP", path, f.width,
	       f.height, f.stride, f.sizeimage, fps_set);
	if (!o_no_output) {
		if (pl_find_vivid(V4L2_CAP_VIDEO_OUTPUT, path, sizeof(path)) < 0 ||
		    (out = pl_output_open(path, f.width, f.height, &of)) < 0) {
			pl_log("no usable vivid output device; run with --no-output to skip it");
			goto out;
		}
		if (mmap_queue(out, V4L2_BUF_TYPE_VIDEO_OUTPUT, nbuf, out_map, out_len, false) < 0 ||
		    pl_streamon(out, V4L2_BUF_TYPE_VIDEO_OUTPUT) < 0)
			goto out;
	}
	for (unsigned int i = 0; i < nbuf; i++) {
		slots[i].mem = malloc(f.sizeimage);
		if (!slots[i].mem)
			goto out;
		memset(slots[i].mem, 0, f.sizeimage);
		q_push(&sh.free, i);
	}
	if (mmap_queue(cap, V4L2_BUF_TYPE_VIDEO_CAPTURE, nbuf, cap_map, cap_len, true) < 0)
		goto out;
	cpu0 = pl_cpu_us(RUSAGE_SELF);
	sys0 = pl_cpu_sys_us(RUSAGE_SELF);
	if ((r = pl_streamon(cap, V4L2_BUF_TYPE_VIDEO_CAPTURE)) < 0) {
		pl_log("STREAMON: %s", strerror(-r));
		goto out;
	}
	if (pthread_create(&cam, NULL, camera_thread, NULL) != 0)
		goto out;
	cam_started = true;

	for (;;) {
		unsigned int s;
		pthread_mutex_lock(&sh.lock);
		bool have;
		while (!(have = q_pop(&sh.full, &s)) && !sh.cam_done)
			pthread_cond_wait(&sh.cond, &sh.lock);
		pthread_mutex_unlock(&sh.lock);
		if (!have)
			break;
		char msg[256] = "";
		bool ok = true;
		frames++;
		t_last = pl_now_us();
		if (frames == 1)
			t_first = t_last;
		/* Same rule as bb-video: the OSD counter and the pattern decide freshness. */
		bool seq_repeated = (long)slots[s].sequence <= last_seq;
		if (seq_repeated)
			seq_repeats++;
		else
			last_seq = slots[s].sequence;
		if (ok && pl_verify_frame(slots[s].mem, &f, msg, sizeof(msg)) < 0)
			ok = false;
		uint64_t sig;
		if (ok && pl_osd_signature(slots[s].mem, &f, &sig) == 0) {
			enum pl_osd_verdict osd = pl_osd_verdict(osd_checked, osd_last, sig, seq_repeated);
			if (osd == PL_OSD_STALE) {
				snprintf(msg, sizeof(msg), "OSD counter line unchanged (stale frame)");
				stale++;
				ok = false;
			} else if (osd == PL_OSD_REPEAT) {
				pl_log("frame %u (seq %u): the driver repeated the previous frame (same "
				       "sequence number and counter line); its checked rows were written "
				       "again", frames, slots[s].sequence);
			}
			osd_last = sig;
			osd_checked++;
		}
		if (ok) {
			verified++;
		} else {
			failed++;
			pl_log("frame %u (seq %u) FAILED: %s", frames, slots[s].sequence, msg);
		}
		if (o_out)
			pl_png_keep(&png, frames, slots[s].sequence, slots[s].mem, &f);
		if (out >= 0) {
			struct v4l2_buffer b;
			memset(&b, 0, sizeof(b));
			b.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
			b.memory = V4L2_MEMORY_MMAP;
			if (out_next < nbuf) {
				b.index = out_next++;
			} else {
				struct pollfd p = { .fd = out, .events = POLLOUT };
				while (pl_xioctl(out, VIDIOC_DQBUF, &b) < 0) {
					if (errno != EAGAIN || poll(&p, 1, 10000) <= 0) {
						pl_log("output DQBUF: %s", strerror(errno));
						goto abort;
					}
				}
				out_frames++;
			}
			/* Second copy: the consumer's memory -> the output device's buffer. */
			size_t n = of.sizeimage < f.sizeimage ? of.sizeimage : f.sizeimage;
			memcpy(out_map[b.index], slots[s].mem, n);
			b.bytesused = of.sizeimage;
			b.field = V4L2_FIELD_NONE;
			if (pl_xioctl(out, VIDIOC_QBUF, &b) < 0) {
				pl_log("output QBUF: %s", strerror(errno));
				goto abort;
			}
		}
		pthread_mutex_lock(&sh.lock);
		q_push(&sh.free, s);
		pthread_cond_broadcast(&sh.cond);
		pthread_mutex_unlock(&sh.lock);
	}
	/* Drain the output queue so every frame was "displayed". vivid's output, like a display,
	 * keeps the last buffer until the next arrives: STREAMOFF returns that one. */
	while (out >= 0 && out_frames + 1 < frames) {
		struct v4l2_buffer b;
		struct pollfd p = { .fd = out, .events = POLLOUT };
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
		b.memory = V4L2_MEMORY_MMAP;
		if (pl_xioctl(out, VIDIOC_DQBUF, &b) == 0)
			out_frames++;
		else if (errno != EAGAIN || poll(&p, 1, 10000) <= 0)
			break;
	}
	if (out >= 0 && out_frames + 1 == frames) {
		int t = V4L2_BUF_TYPE_VIDEO_OUTPUT;
		if (pl_xioctl(out, VIDIOC_STREAMOFF, &t) == 0)
			out_frames++;
	}
	pthread_join(cam, NULL);
	cam_started = false;
	uint64_t cpu = pl_cpu_us(RUSAGE_SELF) - cpu0, sys = pl_cpu_sys_us(RUSAGE_SELF) - sys0;
	unsigned int pngs = pl_png_flush(&png, o_out, "copy", &f);
	double secs = (t_last - t_first) / 1e6;
	double fps = frames > 1 && secs > 0 ? (frames - 1) / secs : 0;
	printf("PIPELINE mode=copy frames=%u verified=%u failed=%u expected=%u output=%u "
	       "seq_gaps=%u seq_repeats=%u stale=%u osd_checked=%u fps=%.2f cpu_ms_per_frame=%.3f "
	       "sys_ms_per_frame=%.3f cpu_ms=%.1f pngs=%u copies_per_frame=%d\n",
	       frames, verified, failed, o_frames, out_frames, sh.gaps, seq_repeats, stale, osd_checked, fps,
	       frames ? cpu / 1000.0 / frames : 0.0, frames ? sys / 1000.0 / frames : 0.0,
	       cpu / 1000.0, pngs,
	       out >= 0 ? 2 : 1);
	rc = failed || frames != o_frames || (out >= 0 && out_frames != frames) || sh.cam_errors || verified != frames ? 1 : 0;
	goto out;
abort:
	pthread_mutex_lock(&sh.lock);
	sh.cons_abort = true;
	pthread_cond_broadcast(&sh.cond);
	pthread_mutex_unlock(&sh.lock);
out:
	if (cam_started) {
		pl_streamoff_free(-1, 0, 0);
		pthread_join(cam, NULL);
	}
	if (out >= 0) {
		for (unsigned int i = 0; i < nbuf; i++)
			if (out_map[i])
				munmap(out_map[i], out_len[i]);
		pl_streamoff_free(out, V4L2_BUF_TYPE_VIDEO_OUTPUT, V4L2_MEMORY_MMAP);
		close(out);
	}
	if (cap >= 0) {
		for (unsigned int i = 0; i < nbuf; i++)
			if (cap_map[i])
				munmap(cap_map[i], cap_len[i]);
		pl_streamoff_free(cap, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP);
		close(cap);
	}
	for (unsigned int i = 0; i < nbuf; i++)
		free(slots[i].mem);
	return rc;
}
