// SPDX-License-Identifier: MIT
/*
 * bb-runas - run a command as another user with that user's groups (initgroups), for the
 * busybox test initramfs, whose busybox has neither chpst nor su nor a full setpriv.
 * Test tool only; on the systemd board the units' User=/Group= do this.
 *
 *   bb-runas USER CMD [ARG...]
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct passwd *pw;

	if (argc < 3) {
		fprintf(stderr, "usage: bb-runas USER CMD [ARG...]\n");
		return 2;
	}
	pw = getpwnam(argv[1]);
	if (!pw) {
		fprintf(stderr, "bb-runas: no user %s\n", argv[1]);
		return 2;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "bb-runas: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "bb-runas: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
