// SPDX-License-Identifier: MIT
/*
 * fuzz_policy.c - libFuzzer target for the bufbrokerd policy parser (daemon/policy.c).
 *
 * The input is one policy file, optionally followed by drop-ins: every line that is exactly "%%"
 * starts the next file (at most FUZZ_MAX_DROPINS, named 10-f.conf, 11-f.conf, ... in a drop-in
 * directory), so cross-file rules (a role defined twice, share-with naming a role from another
 * file, [client] overrides) are reached too. The files live in a private directory under
 * /dev/shm (or $TMPDIR) made once per process.
 *
 * Besides the sanitizers (ASan, UBSan, LeakSanitizer: everything must be freed), the target
 * aborts when the parser breaks its contract (policy.h):
 *   - the result is 0 or -EINVAL (the files always exist);
 *   - on -EINVAL the error text is non-empty, printable, and every line is "file:...: ...";
 *   - on 0 every role has a valid name and at least one heap entry, and can be found by name.
 * The queries (bb_policy_find_role, bb_role_allows, bb_role_may_share_with) run on every result.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

#define FUZZ_MAX_DROPINS 4

static char dir[PATH_MAX - 64];
static char main_path[PATH_MAX];
static char dropin_dir[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
	fprintf(stderr, "fuzz_policy: %s: %s\n", what, strerror(errno));
	abort();
}

static void rm_dir(void)
{
	char p[PATH_MAX + 32];

	for (int i = 0; i < FUZZ_MAX_DROPINS; i++) {
		snprintf(p, sizeof(p), "%s/%d-f.conf", dropin_dir, 10 + i);
		unlink(p);
	}
	rmdir(dropin_dir);
	unlink(main_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/fuzz_policy.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(main_path, sizeof(main_path), "%s/policy.conf", dir);
	snprintf(dropin_dir, sizeof(dropin_dir), "%s/policy.d", dir);
	if (mkdir(dropin_dir, 0700) < 0)
		die("mkdir");
	atexit(rm_dir);
	return 0;
}

static void put(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		die(path);
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n <= 0)
			die("write");
		data += n;
		len -= (size_t)n;
	}
	close(fd);
}

/* Next "%%" separator line at or after @from: returns the start of the line, or @size. */
static size_t next_sep(const uint8_t *data, size_t size, size_t from, size_t *after)
{
	for (size_t i = from; i + 2 <= size; i++) {
		if ((i == 0 || data[i - 1] == '\n') && data[i] == '%' && data[i + 1] == '%' &&
		    (i + 2 == size || data[i + 2] == '\n')) {
			*after = i + 2 < size ? i + 3 : size;
			return i;
		}
	}
	*after = size;
	return size;
}

static void check_err(const char *err, int r)
{
	if (!err[0]) {
		fprintf(stderr, "fuzz_policy: load returned %d without an error message\n", r);
		abort();
	}
	for (const char *line = err; *line;) {
		const char *nl = strchr(line, '\n');

		if (nl && strncmp(line, dir, strlen(dir)) != 0) {
			fprintf(stderr, "fuzz_policy: error line without file name: %.200s\n", line);
			abort();
		}
		for (const char *c = line; *c && c != nl; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) {
				fprintf(stderr, "fuzz_policy: unprintable byte 0x%02x in error text\n",
					(unsigned char)*c);
				abort();
			}
		if (!nl)
			break;
		line = nl + 1;
	}
}

static void exercise(const struct bb_policy *p)
{
	static const gid_t groups[] = { 0, 44, 1000, 65534 };

	for (size_t i = 0; i < p->n_roles; i++) {
		const struct bb_role *r = &p->roles[i];

		if (!bb_role_name_valid(r->name) || r->n_entries == 0 || !r->entries ||
		    bb_policy_find_role(p, r->name) != r) {
			fprintf(stderr, "fuzz_policy: accepted a broken role '%s'\n", r->name);
			abort();
		}
		for (size_t j = 0; j < r->n_entries; j++)
			if (!r->entries[j].value || !r->entries[j].value[0])
				abort();
		(void)bb_role_allows(r, 0, 0, NULL, 0, NULL);
		(void)bb_role_allows(r, 1000, 1000, groups, 4, "camera-client.service");
		(void)bb_role_allows(r, 65534, 65534, groups, 1, "x.scope");
		for (size_t j = 0; j < r->n_share_with; j++)
			if (!bb_role_may_share_with(r, r->share_with[j]))
				abort();
		(void)bb_role_may_share_with(r, "display");
	}
	(void)bb_policy_find_role(p, "camera");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bb_policy p;
	char err[4096];
	size_t after, end = next_sep(data, size, 0, &after);
	int n_dropins = 0, r;
	char path[PATH_MAX + 32];

	put(main_path, data, end);
	while (end < size && n_dropins < FUZZ_MAX_DROPINS) {
		size_t start = after;

		end = next_sep(data, size, start, &after);
		snprintf(path, sizeof(path), "%s/%d-f.conf", dropin_dir, 10 + n_dropins++);
		put(path, data + start, end - start);
	}
	for (int i = n_dropins; i < FUZZ_MAX_DROPINS; i++) {
		snprintf(path, sizeof(path), "%s/%d-f.conf", dropin_dir, 10 + i);
		unlink(path);
	}

	memset(&p, 0xa5, sizeof(p)); /* "untouched on failure": poison to catch half-filled output */
	r = bb_policy_load(main_path, n_dropins ? dropin_dir : NULL, &p, err, sizeof(err));
	if (r == 0) {
		exercise(&p);
		bb_policy_free(&p);
	} else if (r == -EINVAL) {
		check_err(err, r);
		for (size_t i = 0; i < sizeof(p); i++)
			if (((const uint8_t *)&p)[i] != 0xa5) {
				fprintf(stderr, "fuzz_policy: output changed although the load failed\n");
				abort();
			}
	} else {
		fprintf(stderr, "fuzz_policy: unexpected result %d: %s\n", r, err);
		abort();
	}

	/* A tiny error buffer must be truncated, not overrun. */
	if (size && (data[0] & 1)) {
		char small[8];

		memset(small, 'x', sizeof(small));
		r = bb_policy_load(main_path, n_dropins ? dropin_dir : NULL, &p, small, 5);
		if (small[5] != 'x' || small[6] != 'x' || small[7] != 'x' || (r && strlen(small) > 4))
			abort();
		if (r == 0)
			bb_policy_free(&p);
	}
	return 0;
}
