// SPDX-License-Identifier: MIT
/*
 * ioctl_fuzz - random ioctls on every /dev/dma_heap node of bufbroker_heap.ko.
 *
 *   ioctl_fuzz [--iterations N] [--seed S] [--max-seconds T]
 *
 * Each iteration picks a heap node and sends it one ioctl: the real DMA_HEAP_IOCTL_ALLOC, the 'H'
 * type with a random direction and struct size 0..256 (nr 0 and random nr), or another type
 * (skipping the types the VFS itself handles on any file: FIFREEZE and friends would act on
 * devtmpfs). The struct has random len (0, 1, unaligned, page +-1, region size +-1 page,
 * overflowing), fd_flags, heap_flags, fd and tail bytes, and the argument pointer is sometimes
 * NULL, straddles a PROT_NONE page, or points into a read-only page (the kernel then installs the
 * fd but cannot report it, as mainline dma-heap does). Returned dma-bufs get a few random 'b'
 * ioctls (SYNC, SET_NAME, ...). Every fd the iteration produced is closed (close_range), so
 * nothing survives an iteration.
 *
 * The loop runs in a child process, so a crash of the program is counted, not fatal. Then:
 *   - a call with invalid arguments must never succeed, and a buffer must have PAGE_ALIGN(len)
 *     bytes; the region's counters must show it while it lives;
 *   - the counters (/sys/kernel/bufbroker/regions/(...)/bytes_allocated, buffers_allocated) are
 *     back at their baseline;
 *   - the kernel log has no WARNING/BUG/Oops/leak report (and kmemleak, when present, is clean).
 * Prints "# ioctl_fuzz: N calls, M allocations succeeded, K rejected, C crashes".
 */
#include "bbutil.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_NODES 32
#define N_ERRNO 140

struct node {
	char name[BB_NAME_LEN];
	int fd;
	int region; /* index into regions[], -1 if unknown */
};

/* Shared with the child that runs the loop. */
struct shared {
	uint64_t calls, allocs, rejected, orphan_fds, buf_ioctls, large_allocs, accmode3;
	uint64_t errnos[N_ERRNO];
	uint64_t bad_accepts, bad_sizes, bad_counters;
	char first_problem[384];
	bool done;
};

static struct bb_region regions[BB_MAX_REGIONS];
static int n_regions;
static struct node nodes[MAX_NODES];
static int n_nodes;
static struct bb_stats baseline[BB_MAX_REGIONS];
static struct shared *sh;
static uint64_t opt_iterations = 20000, opt_seed;
static unsigned int opt_max_seconds = 240;
static bool have_seed;
static int kmsg_fd = -1;
static int child_status;
static bool child_crashed;
static int max_fd = 2;

/* ---- PRNG: xorshift64*, seeded and printed so a run can be repeated ---- */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int percent)
{
	return rnd_below(100) < percent;
}

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
	va_list ap;

	if (sh->first_problem[0])
		return;
	va_start(ap, fmt);
	vsnprintf(sh->first_problem, sizeof(sh->first_problem), fmt, ap);
	va_end(ap);
}

/* ---- argument generators ---- */

static uint64_t gen_len(const struct node *n)
{
	uint64_t ps = bb_page_size();
	uint64_t rs = n->region >= 0 ? regions[n->region].size : 64 * MiB;

	switch (rnd_below(16)) {
	case 0:
		return 0;
	case 1:
		return 1 + rnd_below(ps - 1);           /* sub-page */
	case 2:
		return ps - 1 + rnd_below(3);           /* page - 1 .. page + 1 */
	case 3:
		return (1 + rnd_below(16)) * ps + rnd_below(3) - 1; /* pages +- 1 */
	case 4:
		return 1 + rnd_below(MiB);              /* unaligned up to 1 MiB */
	case 5:
		/* Region size +- 1 page and +- 1 byte: mostly refused; rarely, to keep the run short. */
		if (!chance(10))
			return rs + ps + rnd_below(ps);
		switch (rnd_below(4)) {
		case 0: return rs - ps;
		case 1: return rs;
		case 2: return rs + 1;
		default: return rs + ps;
		}
	case 6:
		return rs * (2 + rnd_below(8));          /* larger than the region */
	case 7:
		return UINT64_MAX - rnd_below(2 * ps);   /* PAGE_ALIGN wraps to 0 */
	case 8:
		return (uint64_t)1 << (32 + rnd_below(32)); /* huge powers of two */
	case 9:
		return rnd();                            /* anything */
	case 10:
		return (uint64_t)UINT32_MAX + 1 - rnd_below(2); /* 32-bit truncation edge */
	default:
		return (1 + rnd_below(64)) * ps;         /* ordinary sizes */
	}
}

static uint32_t gen_fd_flags(void)
{
	static const uint32_t valid[] = { O_RDWR | O_CLOEXEC, O_RDWR, O_RDONLY, O_WRONLY,
					  O_RDONLY | O_CLOEXEC, O_WRONLY | O_CLOEXEC };
	static const uint32_t invalid[] = { O_NONBLOCK, O_APPEND, O_CREAT, O_TRUNC, O_SYNC, O_DIRECT,
					    O_PATH, O_RDWR | O_WRONLY, 3, 0x80000000u, 0xffffffffu };

	if (chance(70))
		return valid[rnd_below(sizeof(valid) / sizeof(valid[0]))];
	if (chance(50))
		return valid[rnd_below(sizeof(valid) / sizeof(valid[0]))] |
		       invalid[rnd_below(sizeof(invalid) / sizeof(invalid[0]))];
	return (uint32_t)rnd();
}

static uint64_t gen_heap_flags(void)
{
	if (chance(80))
		return 0;
	if (chance(50))
		return (uint64_t)1 << rnd_below(64);
	return rnd();
}

static uint32_t gen_fd_field(void)
{
	if (chance(85))
		return 0;
	if (chance(50))
		return (uint32_t)rnd_below(64);
	return (uint32_t)rnd();
}

/* Types the VFS handles for every file before the driver sees them (do_vfs_ioctl): freeze/thaw,
 * fileattr, clone/dedupe, FIO*, FIBMAP. On a device node they would act on devtmpfs. */
static bool vfs_type(unsigned int type)
{
	return type == 0x00 || type == 'T' || type == 'X' || type == 'f' || type == 0x94 ||
	       type == 0x15;
}

static unsigned long gen_cmd(unsigned int *size_out)
{
	unsigned int dir = (unsigned int)rnd_below(4), size = (unsigned int)rnd_below(257), type, nr;

	switch (rnd_below(10)) {
	case 0:
	case 1:
	case 2:
	case 3:
		*size_out = sizeof(struct dma_heap_allocation_data);
		return DMA_HEAP_IOCTL_ALLOC;
	case 4:
	case 5:
		*size_out = size;
		return _IOC(dir, DMA_HEAP_IOC_MAGIC, 0, size);
	case 6:
	case 7:
		nr = chance(50) ? 1 + (unsigned int)rnd_below(8) : (unsigned int)rnd_below(256);
		*size_out = size;
		return _IOC(dir, DMA_HEAP_IOC_MAGIC, nr, size);
	case 8:
		do
			type = (unsigned int)rnd_below(256);
		while (vfs_type(type) || type == DMA_HEAP_IOC_MAGIC);
		nr = chance(50) ? 0 : (unsigned int)rnd_below(256);
		*size_out = size;
		return _IOC(dir, type, nr, size);
	default: {
		/* Raw 32-bit numbers (size field up to 16 KiB): keep within our buffer. */
		unsigned long cmd;

		do
			cmd = (unsigned long)(uint32_t)rnd();
		while (vfs_type(_IOC_TYPE(cmd)));
		cmd = (cmd & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
		      ((unsigned long)size << _IOC_SIZESHIFT);
		*size_out = size;
		return cmd;
	}
	}
}

/* ---- the loop (child) ---- */

/* Three pages: read-write, read-only, none. */
static uint8_t *arena;

static void *gen_arg(unsigned int size, int *kind)
{
	size_t ps = bb_page_size();
	unsigned int r = (unsigned int)rnd_below(100);

	if (r < 4) {
		*kind = 1;
		return NULL;
	}
	if (r < 9 && size) {
		/* Straddles the read-only page: copy_from_user works, copy_to_user fails. */
		*kind = 2;
		return arena + ps - 1 - rnd_below(size < 16 ? size : 16);
	}
	if (r < 13 && size >= 2) {
		/* Straddles the PROT_NONE page (at least one byte on each side): copy_from_user
		 * fails part way. */
		*kind = 3;
		return arena + 2 * ps - 1 - rnd_below(size - 1);
	}
	*kind = 0;
	return arena + rnd_below(ps - 512 - 8);
}

static void fill_struct(uint8_t *p, unsigned int size, const struct node *n, bool ro_page)
{
	struct dma_heap_allocation_data d = {
		.len = gen_len(n),
		.fd = gen_fd_field(),
		.fd_flags = gen_fd_flags(),
		.heap_flags = gen_heap_flags(),
	};
	uint8_t tmp[512];

	for (size_t i = 0; i < sizeof(tmp); i += 8) {
		uint64_t v = chance(70) ? 0 : rnd();

		memcpy(tmp + i, &v, 8);
	}
	memcpy(tmp, &d, sizeof(d));
	if (ro_page) {
		/* The read-only page cannot be written directly: flip it writable for the fill. */
		size_t ps = bb_page_size();

		mprotect(arena + ps, ps, PROT_READ | PROT_WRITE);
		memcpy(p, tmp, size);
		mprotect(arena + ps, ps, PROT_READ);
	} else {
		memcpy(p, tmp, size);
	}
}

static bool args_valid(const struct dma_heap_allocation_data *d, const struct node *n)
{
	uint64_t rs = n->region >= 0 ? regions[n->region].size : UINT64_MAX;

	/* Mainline's rules (DMA_HEAP_VALID_FD_FLAGS = O_CLOEXEC | O_ACCMODE, so the access mode 3
	 * is accepted as mainline accepts it), plus: no more than the region holds. */
	return d->fd == 0 && !(d->fd_flags & ~(uint32_t)(O_ACCMODE | O_CLOEXEC)) &&
	       d->heap_flags == 0 && d->len && d->len <= rs;
}

static void count_errno(int e)
{
	sh->errnos[e >= 0 && e < N_ERRNO ? e : 0]++;
}

/* A few random dma-buf ioctls on a buffer we got back. */
static void poke_buffer(int bfd)
{
	unsigned int k = (unsigned int)rnd_below(3);
	uint8_t buf[64];

	for (unsigned int i = 0; i < k; i++) {
		unsigned long cmd;
		void *arg = buf;

		for (size_t j = 0; j < sizeof(buf); j++)
			buf[j] = chance(50) ? 0 : (uint8_t)rnd();
		switch (rnd_below(4)) {
		case 0: {
			/* A valid begin (then the matching end) most of the time, else any flags. */
			struct dma_buf_sync s = { .flags = chance(70) ? DMA_BUF_SYNC_START | (1 + rnd_below(3))
								      : rnd() };

			if (ioctl(bfd, DMA_BUF_IOCTL_SYNC, &s) == 0 && !(s.flags & DMA_BUF_SYNC_END)) {
				s.flags |= DMA_BUF_SYNC_END;
				ioctl(bfd, DMA_BUF_IOCTL_SYNC, &s);
				sh->buf_ioctls++;
			}
			sh->buf_ioctls++;
			continue;
		}
		case 1:
			buf[rnd_below(sizeof(buf))] = 0;
			cmd = DMA_BUF_SET_NAME_B;
			arg = chance(80) ? buf : NULL;
			/* DMA_BUF_SET_NAME takes the string pointer itself. */
			break;
		case 2:
			cmd = _IOC(rnd_below(4), DMA_BUF_BASE, rnd_below(8), rnd_below(sizeof(buf) + 1));
			break;
		default:
			cmd = DMA_BUF_IOCTL_SYNC;
			break;
		}
		ioctl(bfd, cmd, arg);
		sh->buf_ioctls++;
	}
}

static void check_live_counters(const struct node *n, uint64_t len)
{
	struct bb_stats s;
	const struct bb_stats *b;

	if (n->region < 0 || bb_region_stats(&regions[n->region], &s) < 0)
		return;
	b = &baseline[n->region];
	if (s.buffers_allocated != b->buffers_allocated + 1 ||
	    s.bytes_allocated != b->bytes_allocated + len) {
		sh->bad_counters++;
		problem("%s: one live buffer of %" PRIu64 " bytes, counters say %" PRIu64
			" buffers / %" PRIu64 " bytes over baseline",
			n->name, len, s.buffers_allocated - b->buffers_allocated,
			s.bytes_allocated - b->bytes_allocated);
	}
}

static void run_loop(uint64_t seed)
{
	size_t ps = bb_page_size();
	int lowfd;
	time_t t0 = time(NULL);

	rng_state = seed ? seed : 1;
	arena = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED)
		_exit(3);
	mprotect(arena + ps, ps, PROT_READ);
	mprotect(arena + 2 * ps, ps, PROT_NONE);
	/* The kernel installs new fds at the lowest free number: make every number below our
	 * highest fd busy, so everything from lowfd up is what this loop produced. */
	for (int i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0 && open("/dev/null", O_RDWR) != i)
			_exit(3);
	for (;;) {
		lowfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (lowfd < 0)
			_exit(3);
		if (lowfd > max_fd)
			break;
	}
	close(lowfd);

	for (uint64_t it = 0; it < opt_iterations; it++) {
		const struct node *n = &nodes[rnd_below((uint64_t)n_nodes)];
		unsigned int size;
		unsigned long cmd = gen_cmd(&size);
		int kind, rc, e;
		void *arg = gen_arg(size, &kind);
		struct dma_heap_allocation_data in = { 0 }, out = { 0 };
		bool reported = false;

		if ((it & 255) == 0 && time(NULL) - t0 >= (time_t)opt_max_seconds)
			break;
		if (arg && kind == 3)
			fill_struct(arg, (unsigned int)(arena + 2 * ps - (uint8_t *)arg), n, true);
		else if (arg)
			fill_struct(arg, size, n, kind == 2);
		/* What the kernel will see as the allocation request: the first bytes it copies in
		 * (zero-extended), for the 'H' nr 0 command with the write (in) direction. */
		if (arg && kind != 3 && _IOC_TYPE(cmd) == DMA_HEAP_IOC_MAGIC && _IOC_NR(cmd) == 0 &&
		    (_IOC_DIR(cmd) & _IOC_WRITE))
			memcpy(&in, arg, _IOC_SIZE(cmd) < sizeof(in) ? _IOC_SIZE(cmd) : sizeof(in));

		errno = 0;
		rc = ioctl(n->fd, cmd, arg);
		e = errno;
		sh->calls++;
		if (rc == 0 && arg && _IOC_TYPE(cmd) == DMA_HEAP_IOC_MAGIC && _IOC_NR(cmd) == 0 &&
		    (_IOC_DIR(cmd) & _IOC_READ) && _IOC_SIZE(cmd) >= 12)
			memcpy(&out, arg, _IOC_SIZE(cmd) < sizeof(out) ? _IOC_SIZE(cmd) : sizeof(out));

		if (rc == 0) {
			int bfd = -1;

			if (_IOC_TYPE(cmd) != DMA_HEAP_IOC_MAGIC || _IOC_NR(cmd) != 0) {
				sh->bad_accepts++;
				problem("%s: ioctl 0x%lx (not an allocation) succeeded", n->name, cmd);
			} else if (!args_valid(&in, n)) {
				sh->bad_accepts++;
				problem("%s: ioctl 0x%lx accepted len %" PRIu64 " fd %u fd_flags 0x%x heap_flags 0x%" PRIx64,
					n->name, cmd, (uint64_t)in.len, in.fd, in.fd_flags, (uint64_t)in.heap_flags);
			}
			if (out.fd >= (uint32_t)lowfd && fcntl((int)out.fd, F_GETFD) >= 0) {
				bfd = (int)out.fd;
				reported = true;
			} else if (fcntl(lowfd, F_GETFD) >= 0) {
				bfd = lowfd; /* installed, not reported (no read direction) */
			}
			if (bfd >= 0) {
				off_t sz = lseek(bfd, 0, SEEK_END);
				uint64_t want = (in.len + ps - 1) & ~(uint64_t)(ps - 1);

				sh->allocs++;
				if ((in.fd_flags & O_ACCMODE) == O_ACCMODE)
					sh->accmode3++;
				if (in.len >= 16 * MiB)
					sh->large_allocs++;
				if (sz < 0 || (uint64_t)sz != want) {
					sh->bad_sizes++;
					problem("%s: asked %" PRIu64 " bytes, dma-buf has %lld", n->name,
						(uint64_t)in.len, (long long)sz);
				}
				check_live_counters(n, want);
				if (reported)
					poke_buffer(bfd);
			}
		} else {
			sh->rejected++;
			count_errno(e);
		}
		/* Any fd still there was produced by this call (installed but not reported after an
		 * EFAULT on the way out, or not copied back at all): count, then close them all. */
		for (int fd = lowfd; fd < lowfd + 4; fd++)
			if (fcntl(fd, F_GETFD) >= 0 && !(reported && fd == (int)out.fd))
				sh->orphan_fds++;
		close_range((unsigned int)lowfd, ~0U, 0);
	}
	sh->done = true;
}

/* ---- cases (parent) ---- */

static void case_fuzz(struct h_case *c, void *arg)
{
	(void)arg;
	pid_t pid;
	char errs[512] = "";
	size_t off = 0;

	fflush(stdout);
	pid = fork();
	CHECK(c, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		run_loop(opt_seed);
		_exit(0);
	}
	CHECK(c, waitpid(pid, &child_status, 0) == pid, "waitpid: %s", strerror(errno));
	child_crashed = !WIFEXITED(child_status) || WEXITSTATUS(child_status) != 0 || !sh->done;

	for (int i = 0; i < N_ERRNO; i++)
		if (sh->errnos[i] && off < sizeof(errs) - 40)
			off += (size_t)snprintf(errs + off, sizeof(errs) - off, "%s%s %" PRIu64,
						off ? ", " : "", i ? strerrorname_np(i) : "other",
						sh->errnos[i]);
	h_note("ioctl_fuzz: rejections by errno: %s", errs[0] ? errs : "none");
	h_note("ioctl_fuzz: %" PRIu64 " allocations of 16 MiB or more, %" PRIu64
	       " dma-buf ioctls on returned buffers, %" PRIu64
	       " fds installed but not reported to the caller (closed), %" PRIu64
	       " buffers with fd_flags access mode 3 (accepted, as mainline)",
	       sh->large_allocs, sh->buf_ioctls, sh->orphan_fds, sh->accmode3);
	CHECK(c, !child_crashed, "the fuzz process died (%s %d) after %" PRIu64 " calls; seed %" PRIu64,
	      WIFSIGNALED(child_status) ? "signal" : "exit",
	      WIFSIGNALED(child_status) ? WTERMSIG(child_status) : WEXITSTATUS(child_status),
	      sh->calls, opt_seed);
	CHECK(c, sh->calls > 0, "no calls made");
	CHECK(c, !sh->bad_accepts && !sh->bad_sizes && !sh->bad_counters,
	      "%" PRIu64 " invalid requests accepted, %" PRIu64 " wrong sizes, %" PRIu64
	      " counter mismatches; first: %s",
	      sh->bad_accepts, sh->bad_sizes, sh->bad_counters, sh->first_problem);
out:;
}

static void case_counters(struct h_case *c, void *arg)
{
	(void)arg;
	uint64_t leaked_bytes = 0, leaked_bufs = 0;
	char first[256] = "";

	for (int i = 0; i < n_regions; i++) {
		struct bb_stats s;

		CHECK(c, bb_region_stats(&regions[i], &s) == 0, "stats of %s: %s", regions[i].name,
		      strerror(errno));
		h_note("ioctl_fuzz: %s: %" PRIu64 " failures counted during the run, peak %" PRIu64
		       " of %" PRIu64 " bytes",
		       regions[i].name, s.failures - baseline[i].failures, s.peak_bytes, regions[i].size);
		if (s.bytes_allocated != baseline[i].bytes_allocated ||
		    s.buffers_allocated != baseline[i].buffers_allocated) {
			leaked_bytes += s.bytes_allocated - baseline[i].bytes_allocated;
			leaked_bufs += s.buffers_allocated - baseline[i].buffers_allocated;
			if (!first[0])
				snprintf(first, sizeof(first), "%s: %" PRIu64 "/%" PRIu64 " -> %" PRIu64 "/%" PRIu64,
					 regions[i].name, baseline[i].buffers_allocated,
					 baseline[i].bytes_allocated, s.buffers_allocated, s.bytes_allocated);
		}
		EXPECT(c, s.peak_bytes <= regions[i].size, "%s: peak %" PRIu64 " > size %" PRIu64,
		       regions[i].name, s.peak_bytes, regions[i].size);
	}
	h_note("ioctl_fuzz: %" PRIu64 " leaked buffers, %" PRIu64 " bytes leaked", leaked_bufs,
	       leaked_bytes);
	CHECK(c, !leaked_bufs && !leaked_bytes, "counters not back at baseline (buffers/bytes): %s",
	      first);
out:;
}

static bool has_word(const char *s, const char *w)
{
	size_t wl = strlen(w);

	for (const char *p = strstr(s, w); p; p = strstr(p + 1, w)) {
		bool left = p == s || !((p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= 'a' && p[-1] <= 'z'));
		char r = p[wl];
		bool right = !((r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z'));

		if (left && right)
			return true;
	}
	return false;
}

static void case_kmsg(struct h_case *c, void *arg)
{
	(void)arg;
	char rec[8192], bad[384] = "";
	unsigned int n_bad = 0;

	if (kmsg_fd < 0) {
		h_skip(c, "/dev/kmsg unreadable");
		return;
	}
	for (;;) {
		ssize_t n = read(kmsg_fd, rec, sizeof(rec) - 1);
		char *msg;

		if (n < 0) {
			if (errno == EPIPE || errno == EINTR)
				continue;
			break;
		}
		rec[n] = '\0';
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		if (has_word(msg, "WARNING") || has_word(msg, "BUG") || strstr(msg, "Oops") ||
		    strstr(msg, "cut here") || strstr(msg, "Call trace") || strstr(msg, "kmemleak") ||
		    strstr(msg, "memory leak") || strstr(msg, "refcount_t") ||
		    strstr(msg, "Bad page") || strstr(msg, "corruption")) {
			char *nl = strchr(msg, '\n');

			if (nl)
				*nl = '\0';
			if (!n_bad++)
				snprintf(bad, sizeof(bad), "%s", msg);
		}
	}
	/* kmemleak, when the kernel has it (Debian's do not): scan and read the report. */
	if (access("/sys/kernel/debug/kmemleak", W_OK) == 0) {
		int fd = open("/sys/kernel/debug/kmemleak", O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			ssize_t n;

			if (write(fd, "scan", 4) == 4) {
				lseek(fd, 0, SEEK_SET);
				n = read(fd, rec, sizeof(rec) - 1);
				if (n > 0 && strstr(rec, "bufbroker")) {
					rec[n] = '\0';
					n_bad++;
					if (!bad[0])
						snprintf(bad, sizeof(bad), "kmemleak: %.300s", rec);
				}
			}
			close(fd);
		}
		h_note("ioctl_fuzz: kmemleak scanned");
	} else {
		h_note("ioctl_fuzz: no kmemleak in this kernel; leaks are judged by the module's counters");
	}
	CHECK(c, n_bad == 0, "%u suspicious kernel log lines; first: %s", n_bad, bad);
out:;
}

static void usage(void)
{
	fprintf(stderr, "usage: ioctl_fuzz [--iterations N] [--seed S] [--max-seconds T]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iterations", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "max-seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char names[MAX_NODES][BB_NAME_LEN];
	struct rlimit rl = { 65536, 65536 };
	int o, n;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			opt_iterations = strtoull(optarg, NULL, 0);
			break;
		case 's':
			opt_seed = strtoull(optarg, NULL, 0);
			have_seed = true;
			break;
		case 't':
			opt_max_seconds = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	h_init("ioctl_fuzz");
	setrlimit(RLIMIT_NOFILE, &rl);
	if (!have_seed)
		opt_seed = bb_now_ns() ^ ((uint64_t)getpid() << 32);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0) {
		lseek(kmsg_fd, 0, SEEK_END);
		max_fd = kmsg_fd;
	}

	n_regions = bb_regions(regions, BB_MAX_REGIONS);
	n = bb_heap_nodes(names, MAX_NODES);
	for (int i = 0; i < n && n_nodes < MAX_NODES; i++) {
		struct node *nd = &nodes[n_nodes];

		snprintf(nd->name, sizeof(nd->name), "%s", names[i]);
		nd->region = -1;
		for (int r = 0; r < n_regions; r++)
			for (unsigned int k = 0; k < regions[r].n_heaps; k++)
				if (strcmp(regions[r].heaps[k], nd->name) == 0)
					nd->region = r;
		/* Some nodes read-only, some read-write: the module ignores the open mode. */
		char path[BB_NAME_LEN + 32];

		snprintf(path, sizeof(path), BB_HEAP_DIR "/%s", nd->name);
		nd->fd = open(path, ((i & 1) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (nd->fd >= 0) {
			if (nd->fd > max_fd)
				max_fd = nd->fd;
			n_nodes++;
		}
	}
	if (n_nodes == 0 || n_regions <= 0) {
		printf("not ok - ioctl_fuzz: setup: %d heap nodes, %d regions\n", n_nodes, n_regions);
		return 1;
	}
	for (int r = 0; r < n_regions; r++)
		if (bb_region_stats(&regions[r], &baseline[r]) < 0) {
			printf("not ok - ioctl_fuzz: setup: stats of %s: %s\n", regions[r].name,
			       strerror(errno));
			return 1;
		}
	h_note("ioctl_fuzz: seed %" PRIu64 ", %" PRIu64 " iterations (at most %u s), %d heap nodes, %d regions",
	       opt_seed, opt_iterations, opt_max_seconds, n_nodes, n_regions);

	h_set_timeout(opt_max_seconds + 120);
	uint64_t t0 = bb_now_ns();
	h_run("random ioctls on every heap node: invalid ones refused, sizes and live counters right",
	      case_fuzz, NULL);
	double secs = (double)(bb_now_ns() - t0) / 1e9;
	h_note("ioctl_fuzz: %" PRIu64 " calls, %" PRIu64 " allocations succeeded, %" PRIu64
	       " rejected, %d crashes (%.1f s, %.0f calls/s, seed %" PRIu64 ")",
	       sh->calls, sh->allocs, sh->rejected, child_crashed ? 1 : 0, secs,
	       secs > 0 ? (double)sh->calls / secs : 0.0, opt_seed);
	if (sh->calls < opt_iterations && !child_crashed)
		h_note("ioctl_fuzz: stopped at the %u s cap before %" PRIu64 " iterations", opt_max_seconds,
		       opt_iterations);
	h_set_timeout(120);
	h_run("module counters back at baseline after the fuzz", case_counters, NULL);
	h_run("kernel log free of WARN/BUG/Oops/leak after the fuzz", case_kmsg, NULL);
	return h_exit_status();
}
