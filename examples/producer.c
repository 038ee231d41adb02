// SPDX-License-Identifier: MIT
/*
 * producer - allocate buffers for role "camera", fill them with a pattern and
 * share each with role "video" through bufbrokerd.
 *
 *   producer [--role R] [--target role:video] [--size BYTES] [--count N] [--socket PATH]
 *
 * Without --socket it prints one "TOKEN SEQ" line per buffer and keeps the
 * buffers until stdin is closed; run "consumer TOKEN SEQ" meanwhile.
 * With --socket it listens on a unix socket, sends "TOKEN SEQ\n" lines to the
 * first consumer that connects and waits for its "ok"/"bad" answer per buffer.
 * Exit: 0 ok, 1 error, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <bufbroker/bufbroker.h>

static uint8_t pattern(uint64_t offset, unsigned int seq)
{
	return (uint8_t)(offset * 31 + seq * 7 + (offset >> 12));
}

static int fill(struct bb_buffer *buf, unsigned int seq)
{
	uint8_t *p;
	void *addr;
	int r;

	r = bb_buffer_map(buf, BB_ACCESS_WRITE, &addr);
	if (r < 0)
		return r;
	p = addr;
	r = bb_buffer_begin_cpu_access(buf, BB_ACCESS_WRITE);
	if (r < 0)
		goto unmap;
	for (uint64_t i = 0; i < bb_buffer_get_size(buf); i++)
		p[i] = pattern(i, seq);
	r = bb_buffer_end_cpu_access(buf, BB_ACCESS_WRITE);
unmap:
	bb_buffer_unmap(buf);
	return r;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, cfd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	fprintf(stderr, "producer: waiting for a consumer on %s\n", path);
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	cfd = cfd < 0 ? -errno : cfd;
	close(fd);
	unlink(path);
	return cfd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },  { "target", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },  { "count", required_argument, NULL, 'n' },
		{ "socket", required_argument, NULL, 'S' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *role = "camera", *target = "role:video", *sock = NULL;
	uint64_t size = 1 << 20;
	unsigned int count = 1;
	struct bb_buffer *bufs[64] = { 0 };
	struct bb_client *c = NULL;
	FILE *peer = stdout, *peer_in = NULL;
	int o, r, ret = 1, cfd = -1;

	while ((o = getopt_long(argc, argv, "r:t:s:n:S:h", opts, NULL)) != -1) {
		switch (o) {
		case 'r': role = optarg; break;
		case 't': target = optarg; break;
		case 's': size = strtoull(optarg, NULL, 0); break;
		case 'n': count = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'S': sock = optarg; break;
		default:
			fprintf(o == 'h' ? stdout : stderr,
				"usage: producer [--role R] [--target role:video] [--size BYTES] "
				"[--count N<=64] [--socket PATH]\n");
			return o == 'h' ? 0 : 2;
		}
	}
	if (!size || !count || count > 64)
		return 2;

	r = bb_client_connect(&c, 0);
	if (r < 0) {
		fprintf(stderr, "producer: connect: %s\n", strerror(-r));
		return 1;
	}
	if (sock) {
		cfd = listen_on(sock);
		/* separate streams: stdio must not switch direction on a socket */
		if (cfd < 0 || !(peer_in = fdopen(cfd, "r")) || !(peer = fdopen(dup(cfd), "w"))) {
			fprintf(stderr, "producer: socket %s: %s\n", sock, strerror(cfd < 0 ? -cfd : errno));
			goto out;
		}
	}
	for (unsigned int seq = 0; seq < count; seq++) {
		char token[BB_TOKEN_MAX], answer[16];
		struct bb_alloc_options ao = { .name = "producer" };

		r = bb_client_alloc(c, role, size, &ao, &bufs[seq]);
		if (r < 0) {
			fprintf(stderr, "producer: alloc: %s\n", bb_client_last_error_message(c));
			goto out;
		}
		r = fill(bufs[seq], seq);
		if (r < 0) {
			fprintf(stderr, "producer: fill: %s\n", strerror(-r));
			goto out;
		}
		r = bb_client_share(c, bb_buffer_get_id(bufs[seq]), target, token, sizeof(token));
		if (r < 0) {
			fprintf(stderr, "producer: share: %s\n", bb_client_last_error_message(c));
			goto out;
		}
		fprintf(peer, "%s %u\n", token, seq);
		fflush(peer);
		if (sock) {
			if (!fgets(answer, sizeof(answer), peer_in) || strncmp(answer, "ok", 2)) {
				fprintf(stderr, "producer: consumer reported a mismatch for buffer %u\n", seq);
				goto out;
			}
		}
	}
	if (!sock) {
		char line[64];

		/* keep the buffers alive until stdin closes */
		while (fgets(line, sizeof(line), stdin))
			;
	}
	ret = 0;
out:
	for (unsigned int i = 0; i < count; i++)
		bb_client_release(c, bufs[i]);
	if (peer && peer != stdout)
		fclose(peer);
	if (peer_in)
		fclose(peer_in);
	bb_client_free(c);
	return ret;
}
