// SPDX-License-Identifier: MIT
/*
 * consumer - import buffers shared by "producer" and check their pattern.
 *
 *   consumer TOKEN SEQ            import one token (printed by producer)
 *   consumer --socket PATH        read "TOKEN SEQ" lines from a producer socket,
 *                                 answer "ok" or "bad" for each
 * Exit: 0 every buffer matched, 1 error or mismatch, 2 usage.
 */
#include <errno.h>
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

/* 0 when the buffer holds the pattern of @seq, else -errno or -EBADMSG. */
static int check(struct bb_client *c, const char *token, unsigned int seq)
{
	struct bb_buffer *buf;
	const uint8_t *p;
	void *addr;
	int r;

	r = bb_client_import(c, token, &buf);
	if (r < 0) {
		fprintf(stderr, "consumer: import: %s\n", bb_client_last_error_message(c));
		return r;
	}
	r = bb_buffer_map(buf, BB_ACCESS_READ, &addr);
	if (r >= 0) {
		p = addr;
		r = bb_buffer_begin_cpu_access(buf, BB_ACCESS_READ);
		for (uint64_t i = 0; r >= 0 && i < bb_buffer_get_size(buf); i++) {
			if (p[i] != pattern(i, seq)) {
				fprintf(stderr, "consumer: buffer %u: byte %" PRIu64 " is %u, expected %u\n",
					seq, i, p[i], pattern(i, seq));
				r = -EBADMSG;
			}
		}
		bb_buffer_end_cpu_access(buf, BB_ACCESS_READ);
	}
	if (r >= 0)
		printf("consumer: buffer %u (%" PRIu64 " bytes, id %" PRIu64 ") ok\n", seq,
		       bb_buffer_get_size(buf), bb_buffer_get_id(buf));
	bb_client_release(c, buf);
	return r;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (int tries = 0; connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0; tries++) {
		if ((errno != ENOENT && errno != ECONNREFUSED) || tries == 50) {
			int r = -errno;

			close(fd);
			return r;
		}
		usleep(100 * 1000);
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct bb_client *c;
	int r, ret = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: consumer TOKEN SEQ | consumer --socket PATH\n");
		return 2;
	}
	r = bb_client_connect(&c, 0);
	if (r < 0) {
		fprintf(stderr, "consumer: connect: %s\n", strerror(-r));
		return 1;
	}
	if (strcmp(argv[1], "--socket")) {
		ret = check(c, argv[1], (unsigned int)strtoul(argv[2], NULL, 0)) < 0;
	} else {
		char line[BB_TOKEN_MAX + 32], token[BB_TOKEN_MAX];
		unsigned int seq, n = 0;
		int fd = connect_to(argv[2]);
		FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
		FILE *out = f ? fdopen(dup(fd), "w") : NULL;

		if (!f || !out) {
			fprintf(stderr, "consumer: %s: %s\n", argv[2], strerror(fd < 0 ? -fd : errno));
			bb_client_free(c);
			return 1;
		}
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%127s %u", token, &seq) != 2)
				break;
			r = check(c, token, seq);
			fprintf(out, "%s\n", r < 0 ? "bad" : "ok");
			fflush(out);
			n++;
			if (r < 0)
				ret = 1;
		}
		fclose(out);
		fclose(f);
		if (!n)
			ret = 1;
	}
	bb_client_free(c);
	return ret;
}
