// SPDX-License-Identifier: MIT
/*
 * bb-region-check - root-side proof that the camera's buffers lie inside the camera region.
 *
 * An unprivileged process cannot see physical addresses (/proc/self/pagemap shows PFN 0) nor
 * the region's base (sysfs "base" is 0400). So the root scenario runs this helper; bb-camera
 * (--region-check SOCK) sends it every dma-buf fd it got from the broker over a Unix socket
 * (SCM_RIGHTS). The helper maps each one read-only, resolves its pages through pagemap and
 * checks them against /sys/kernel/bufbroker/regions/<region>/{base,size}. These are the very
 * buffers vivid captures into, not a re-allocation.
 *
 *   bb-region-check [--listen PATH|@abstract] [--region HEAP] [--timeout S]
 *
 * Serves one camera connection, prints "REGION-CHECK buffer=... inside|outside ..." per buffer
 * and "REGION-CHECK SUMMARY buffers=N inside=M region=..." at the end; exit 0 iff all inside.
 */
#include "pl_common.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "region", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 },
	};
	const char *sock_name = PL_DEFAULT_CHECK_SOCKET, *heap = "camera";
	int timeout = 120, o, ls, s;
	unsigned int n = 0, inside = 0;
	struct pl_region reg;

	pl_prog = "bb-region-check";
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'l': sock_name = optarg; break;
		case 'r': heap = optarg; break;
		case 't': timeout = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: bb-region-check [--listen SOCK] [--region HEAP] "
					"[--timeout S]\n");
			return 2;
		}
	}
	int r = pl_region_lookup(heap, &reg);
	if (r < 0) {
		pl_log("region of heap %s: %s (root needed for base)", heap, strerror(-r));
		return 1;
	}
	ls = pl_listen(sock_name, 0666, (gid_t)-1);
	if (ls < 0) {
		pl_log("listen %s: %s", sock_name, strerror(-ls));
		return 1;
	}
	pl_log("checking against %s [0x%llx, 0x%llx) on %s", reg.name,
	       (unsigned long long)reg.base, (unsigned long long)(reg.base + reg.size), sock_name);
	struct pollfd p = { .fd = ls, .events = POLLIN };
	if (poll(&p, 1, timeout * 1000) <= 0 || (s = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		pl_log("no client within %d s", timeout);
		return 1;
	}
	struct ucred uc = { 0 };
	socklen_t ul = sizeof(uc);
	getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &ul);
	for (;;) {
		struct pl_msg m;
		int fd;
		r = pl_recv(s, &m, &fd);
		if (r <= 0)
			break;
		if (m.type != PL_TOKEN || fd < 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		off_t end = lseek(fd, 0, SEEK_END);
		size_t len = end > 0 ? (size_t)end : 0;
		char msg[200] = "not mappable";
		int res = -EINVAL;
		void *map = len ? mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
		if (map != MAP_FAILED) {
			res = pl_region_check_map(map, len, &reg, NULL, msg, sizeof(msg));
			munmap(map, len);
		}
		close(fd);
		n++;
		if (!res)
			inside++;
		printf("REGION-CHECK buffer=%u pid=%d uid=%u size=%zu %s %s\n", m.index, uc.pid,
		       uc.uid, len, res ? "outside" : "inside", msg);
		pl_msg_init(&m, PL_DONE, m.index);
		m.u.token.size = res ? 0 : 1;
		snprintf(m.u.token.token, sizeof(m.u.token.token), "%s", msg);
		if (pl_send(s, &m, -1) < 0)
			break;
	}
	close(s);
	close(ls);
	if (sock_name[0] != '@')
		unlink(sock_name);
	printf("REGION-CHECK SUMMARY buffers=%u inside=%u region=%s base=0x%llx size=%llu\n", n,
	       inside, reg.name, (unsigned long long)reg.base, (unsigned long long)reg.size);
	return n && n == inside ? 0 : 1;
}
