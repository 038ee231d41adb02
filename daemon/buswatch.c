// SPDX-License-Identifier: MIT
/* buswatch.c - libevent glue for one sd-bus connection (see buswatch.h). */
#include "buswatch.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <string.h>
#include <time.h>

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bb_buswatch_dispatch(arg);
}

static void fail(struct bb_buswatch *w, int err)
{
	bb_buswatch_failed_fn failed = w->failed;
	void *userdata = w->userdata;

	event_del(w->io);
	event_del(w->timer);
	failed(userdata, err);
}

void bb_buswatch_dispatch(struct bb_buswatch *w)
{
	uint64_t until;
	short flags;
	int r, ev;

	for (unsigned int n = 0;; n++) {
		if (w->budget && n == w->budget) {
			r = 0; /* more may be queued: sd_bus_get_timeout() says "now" below */
			break;
		}
		r = sd_bus_process(w->bus, NULL);
		if (r <= 0)
			break;
	}
	if (r < 0) {
		fail(w, r);
		return;
	}
	ev = sd_bus_get_events(w->bus);
	if (ev < 0) {
		fail(w, ev);
		return;
	}
	flags = EV_PERSIST | ((ev & POLLIN) ? EV_READ : 0) | ((ev & POLLOUT) ? EV_WRITE : 0);
	if (flags != w->flags) {
		event_del(w->io);
		event_assign(w->io, w->base, w->fd, flags, watch_cb, w);
		event_add(w->io, NULL);
		w->flags = flags;
	}
	event_del(w->timer);
	r = sd_bus_get_timeout(w->bus, &until);
	if (r > 0 && until != UINT64_MAX) {
		uint64_t now = now_usec(), rel = until > now ? until - now : 0;
		struct timeval tv = { .tv_sec = (time_t)(rel / 1000000), .tv_usec = (suseconds_t)(rel % 1000000) };

		event_add(w->timer, &tv);
	}
}

int bb_buswatch_start(struct bb_buswatch *w, struct event_base *base, sd_bus *bus, unsigned int budget,
		      bb_buswatch_failed_fn failed, void *userdata)
{
	memset(w, 0, sizeof(*w));
	w->base = base;
	w->bus = bus;
	w->failed = failed;
	w->userdata = userdata;
	w->flags = -1;
	w->budget = budget;
	w->fd = sd_bus_get_fd(bus);
	if (w->fd < 0)
		return w->fd;
	w->io = event_new(base, w->fd, EV_READ | EV_PERSIST, watch_cb, w);
	w->timer = evtimer_new(base, watch_cb, w);
	if (!w->io || !w->timer) {
		bb_buswatch_stop(w);
		return -ENOMEM;
	}
	return 0;
}

void bb_buswatch_stop(struct bb_buswatch *w)
{
	if (w->io)
		event_free(w->io);
	if (w->timer)
		event_free(w->timer);
	w->io = NULL;
	w->timer = NULL;
}
