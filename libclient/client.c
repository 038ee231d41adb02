// SPDX-License-Identifier: MIT
/* client.c - connection, errors and event-loop integration. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "internal.h"

uint64_t client_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void client_clear_error(struct bb_client *c)
{
	free(c->err_name);
	free(c->err_msg);
	c->err_name = NULL;
	c->err_msg = NULL;
}

int client_set_errno(struct bb_client *c, int err, const char *msg)
{
	if (err > 0)
		err = -err;
	client_clear_error(c);
	c->err_msg = strdup(msg ? msg : strerror(-err));
	return err;
}

int client_set_bus_error(struct bb_client *c, const sd_bus_error *e, int r)
{
	int err = 0;

	client_clear_error(c);
	if (e && sd_bus_error_is_set(e)) {
		err = bb_error_to_errno(e->name);
		if (!err)
			err = sd_bus_error_get_errno(e);
		c->err_name = strdup(e->name);
		c->err_msg = strdup(e->message ? e->message : e->name);
	}
	if (!err)
		err = r < 0 ? -r : EIO;
	if (!c->err_msg)
		c->err_msg = strdup(strerror(err));
	return -err;
}

static int open_bus(sd_bus **out, unsigned int flags)
{
	const char *address = secure_getenv(BB_ENV_BUS_ADDRESS);
	sd_bus *bus = NULL;
	int r;

	if (!address || !address[0])
		return (flags & BB_CONNECT_USER_BUS) ? sd_bus_open_user(out) : sd_bus_open_system(out);

	r = sd_bus_new(&bus);
	if (r < 0)
		return r;
	r = sd_bus_set_address(bus, address);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0) {
		sd_bus_unref(bus);
		return r;
	}
	*out = bus;
	return 0;
}

int bb_client_connect(struct bb_client **out, unsigned int flags)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct bb_client *c;
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (flags & ~(unsigned int)(BB_CONNECT_USER_BUS | BB_CONNECT_NO_SESSION))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->timeout_usec = BB_DEFAULT_TIMEOUT_USEC;
	c->session_fd = -1;
	c->no_session = flags & BB_CONNECT_NO_SESSION;
	/* One fd for the application's loop, whichever connection a call uses. */
	c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epoll_fd < 0) {
		r = -errno;
		free(c);
		return r;
	}
	r = open_bus(&c->bus, flags);
	if (r >= 0 && epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, sd_bus_get_fd(c->bus), &ev) < 0)
		r = -errno;
	if (r < 0) {
		sd_bus_flush_close_unref(c->bus);
		close(c->epoll_fd);
		free(c);
		return r;
	}
	*out = c;
	return 0;
}

void bb_client_free(struct bb_client *c)
{
	if (!c)
		return;
	/* Frees the floating slots of pending async calls (their destroy
	 * callbacks free the call contexts; reply callbacks do not run). */
	session_close(c);
	sd_bus_flush_close_unref(c->bus);
	close(c->epoll_fd);
	client_clear_error(c);
	free(c);
}

int bb_client_set_timeout(struct bb_client *c, uint64_t usec)
{
	if (!c)
		return -EINVAL;
	c->timeout_usec = usec ? usec : BB_DEFAULT_TIMEOUT_USEC;
	return 0;
}

const char *bb_client_last_error_message(const struct bb_client *c)
{
	return c && c->err_msg ? c->err_msg : "";
}

const char *bb_client_last_error_name(const struct bb_client *c)
{
	return c && c->err_name ? c->err_name : "";
}

int bb_client_get_fd(struct bb_client *c)
{
	return c ? c->epoll_fd : -EINVAL;
}

/* Make @fd's registration in the epoll set wait for what @bus wants. */
static int watch_events(struct bb_client *c, sd_bus *bus, int fd)
{
	struct epoll_event ev = { 0 };
	int events = sd_bus_get_events(bus);

	if (events < 0)
		return events;
	if (events & POLLIN)
		ev.events |= EPOLLIN;
	if (events & POLLOUT)
		ev.events |= EPOLLOUT;
	return epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int bb_client_get_events(struct bb_client *c)
{
	int r;

	if (!c)
		return -EINVAL;
	r = watch_events(c, c->bus, sd_bus_get_fd(c->bus));
	if (r < 0)
		return r;
	/* A session that fails here is broken: its fd hangs up (EPOLLHUP is
	 * always reported) and get_timeout says "now", so dispatch drops it. */
	if (c->session)
		watch_events(c, c->session, c->session_fd);
	/* The epoll fd is readable when either connection is ready. */
	return POLLIN;
}

int bb_client_get_timeout(struct bb_client *c, uint64_t *usec)
{
	uint64_t s;
	int r;

	if (!c || !usec)
		return -EINVAL;
	r = sd_bus_get_timeout(c->bus, usec);
	if (r < 0)
		return r;
	if (c->session) {
		/* a broken session: dispatch now, which drops it */
		if (sd_bus_get_timeout(c->session, &s) < 0)
			s = 0;
		if (s < *usec)
			*usec = s;
	}
	return 0;
}

int bb_client_get_timeout_ms(struct bb_client *c)
{
	uint64_t until, now;

	if (bb_client_get_timeout(c, &until) < 0)
		return 0;
	if (until == UINT64_MAX)
		return -1;
	now = client_now_usec();
	if (until <= now)
		return 0;
	/* round up so poll() does not wake up just before the deadline */
	until = (until - now + 999) / 1000;
	return until > INT32_MAX ? INT32_MAX : (int)until;
}

/* sd_bus_process() until idle; adds the messages processed to *n. */
static int process(sd_bus *bus, int *n)
{
	int r;

	while ((r = sd_bus_process(bus, NULL)) > 0)
		if (*n < INT_MAX)
			(*n)++;
	return r;
}

int bb_client_dispatch(struct bb_client *c)
{
	int n = 0, r;

	if (!c)
		return -EINVAL;
	/* A broken session is no error of the client: sd-bus has failed the
	 * calls pending on it by now, and the next call opens a new one (or
	 * uses the bus). */
	if (c->session && process(c->session, &n) < 0)
		session_close(c);
	r = process(c->bus, &n);
	return r < 0 ? r : n;
}

const char *bb_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0: return "success";
	case EACCES: return "access denied (AccessDenied)";
	case EDQUOT: return "quota exceeded (QuotaExceeded)";
	case ENOENT: return "no such role (NoSuchRole), or no such heap in direct mode";
	case ENODEV: return "no such heap (NoSuchHeap)";
	case ENOMEM: return "region full or out of memory (RegionFull)";
	case EINVAL: return "invalid argument (InvalidArgument)";
	case ESRCH: return "no such buffer (NoSuchBuffer)";
	case EBADMSG: return "invalid or expired token (InvalidToken)";
	case EOPNOTSUPP: return "not supported (NotSupported)";
	case EOVERFLOW: return "size overflows";
	case EHOSTUNREACH: return "bufbrokerd is not running (ServiceUnknown)";
	case ENXIO: return "bufbrokerd is not running (NameHasNoOwner)";
	case ETIMEDOUT: return "bufbrokerd did not answer in time";
	case ECONNREFUSED: return "D-Bus refused the connection";
	case ERANGE: return "output buffer too small";
	default: return "error";
	}
}
