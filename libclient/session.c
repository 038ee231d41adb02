// SPDX-License-Identifier: MIT
/*
 * session.c - the private connection to bufbrokerd.
 *
 * Through dbus-daemon every call costs two extra socket hops and two wake-ups
 * of the bus daemon.  OpenSession hands us one end of a socketpair on which
 * bufbrokerd serves the same object peer to peer, so calls go straight to it.
 * The session is opened lazily, checked before every call (bufbrokerd may
 * have restarted: then a new one is opened) and, when the daemon cannot give
 * one, calls keep going through the bus exactly as before sessions existed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "errors.h"
#include "internal.h"

/* An older daemon (UnknownMethod) or one that gives no sessions (NotSupported):
 * asking again is useless. */
static bool never_has_sessions(const sd_bus_error *e)
{
	return sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_METHOD) ||
	       sd_bus_error_has_name(e, BB_ERROR_NOT_SUPPORTED);
}

/* OpenSession over the bus; returns the session socket (caller owns it) or -errno. */
static int request_session_fd(struct bb_client *c)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	int fd = -1, r;

	r = sd_bus_message_new_method_call(c->bus, &m, BB_BUS_NAME, BB_OBJECT_PATH, BB_INTERFACE,
					   "OpenSession");
	if (r >= 0)
		r = sd_bus_call(c->bus, m, c->timeout_usec, &e, &reply);
	if (r < 0 && never_has_sessions(&e))
		c->no_session = true;
	if (r >= 0)
		r = sd_bus_message_read(reply, "h", &fd);
	if (r >= 0) {
		/* The reply owns fd and closes it with the message. */
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		r = fd < 0 ? -errno : fd;
	}
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r;
}

/*
 * Finish the authentication before the session carries a call: a daemon
 * that rejects us would otherwise leave it half open, failing every call
 * without ever hanging up.  Nothing else is queued yet, so no callback runs.
 */
static int wait_ready(sd_bus *s, uint64_t timeout_usec)
{
	uint64_t deadline = client_now_usec() + timeout_usec, now;
	int r;

	while ((r = sd_bus_is_ready(s)) == 0) {
		r = sd_bus_process(s, NULL);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		now = client_now_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		r = sd_bus_wait(s, deadline - now);
		if (r < 0)
			return r;
	}
	return r < 0 ? r : 0;
}

/* A peer-to-peer sd-bus connection over the session socket @fd (always taken). */
static int connect_session(int fd, uint64_t timeout_usec, sd_bus **out)
{
	sd_bus *s = NULL;
	int r;

	r = sd_bus_new(&s);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = sd_bus_set_fd(s, fd, fd);
	if (r < 0) {
		close(fd);
		sd_bus_unref(s);
		return r;
	}
	/* From here on s owns fd.  The daemon cannot use SO_PEERCRED on a
	 * socketpair it created itself (it would see itself): it took our
	 * identity from the OpenSession call, so we authenticate ANONYMOUS.
	 * No sd_bus_set_bus_client(): there is no Hello and there are no names
	 * on a peer-to-peer connection. */
	r = sd_bus_set_anonymous(s, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(s, 1);
	if (r >= 0)
		r = sd_bus_set_description(s, "bufbroker-session");
	if (r >= 0)
		r = sd_bus_start(s);
	if (r >= 0)
		r = wait_ready(s, timeout_usec);
	if (r < 0) {
		sd_bus_close_unref(s);
		return r;
	}
	*out = s;
	return 0;
}

/* Returns 0 or -errno; the caller falls back to the bus on any error but a timeout. */
static int session_open(struct bb_client *c)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sd_bus *s;
	int fd, watch, r;

	fd = request_session_fd(c);
	if (fd < 0)
		return fd;
	r = connect_session(fd, c->timeout_usec, &s);
	if (r < 0)
		return r;
	/* epoll watches a dup we own: sd-bus closes its fd by itself when the
	 * connection breaks, and a closed fd can no longer be removed from an
	 * epoll set (a copy in a forked child would keep it firing). */
	watch = fcntl(sd_bus_get_fd(s), F_DUPFD_CLOEXEC, 3);
	if (watch < 0 || epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, watch, &ev) < 0) {
		r = -errno;
		if (watch >= 0)
			close(watch);
		sd_bus_close_unref(s);
		return r;
	}
	c->session = s;
	c->session_fd = watch;
	return 0;
}

/* The daemon died or dropped us.  poll() only: no I/O, no callbacks. */
static bool session_broken(const struct bb_client *c)
{
	struct pollfd p = { .fd = c->session_fd };

	if (sd_bus_is_open(c->session) <= 0)
		return true;
	/* A failed poll (EINTR) says nothing: the call itself will tell. */
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

void session_close(struct bb_client *c)
{
	if (!c->session)
		return;
	epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, c->session_fd, NULL);
	close(c->session_fd);
	c->session_fd = -1;
	c->session = sd_bus_flush_close_unref(c->session);
}

int client_call_target(struct bb_client *c, sd_bus **bus, const char **destination)
{
	if (c->session && session_broken(c)) {
		/* Async calls may still wait on it: bb_client_dispatch() fails
		 * them and then drops the session.  Closing it here would free
		 * them without ever calling their callbacks. */
		if (c->n_async)
			goto use_bus;
		session_close(c);
	}
	/* A daemon that does not answer OpenSession in time would not answer the
	 * call on the bus either: fail now instead of waiting a second timeout. */
	if (!c->session && !c->no_session && session_open(c) == -ETIMEDOUT)
		return -ETIMEDOUT;
	if (c->session) {
		*bus = c->session;
		*destination = NULL;
		return 0;
	}
use_bus:
	*bus = c->bus;
	*destination = BB_BUS_NAME;
	return 0;
}
