// SPDX-License-Identifier: MIT
/* Messages between a guest test and its forked clients: see clientmsg.h. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clientmsg.h"

int msg_send(int s, int fd, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	struct iovec iov = { text, strlen(text) + 1 };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		m.msg_control = cm.b;
		m.msg_controllen = sizeof(cm.b);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(s, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int msg_recv(int s, char *text, size_t len, int *fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	int r = poll(&pfd, 1, timeout_ms);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { text, len - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			    .msg_controllen = sizeof(cm.b) };
	ssize_t n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	text[n] = 0;
	int got = -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&got, CMSG_DATA(c), sizeof(int));
	if (fd)
		*fd = got;
	else if (got >= 0)
		close(got);
	return (int)n;
}

int drop_to(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return -ENOENT;
	if (initgroups(user, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return -errno;
	return 0;
}

uint32_t uid_of(const char *user)
{
	struct passwd *pw = getpwnam(user);
	return pw ? pw->pw_uid : (uint32_t)-1;
}

void child_stop(pid_t *pid, int *sock)
{
	if (*pid > 0) {
		int st;

		msg_send(*sock, -1, "EXIT");
		for (int i = 0; i < 100 && *pid > 0; i++) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			if (waitpid(*pid, &st, WNOHANG) == *pid)
				*pid = -1;
			else
				nanosleep(&ts, NULL);
		}
		if (*pid > 0) {
			kill(*pid, SIGKILL);
			waitpid(*pid, &st, 0);
		}
	}
	if (*sock >= 0)
		close(*sock);
	*pid = -1;
	*sock = -1;
}
