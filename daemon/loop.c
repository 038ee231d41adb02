// SPDX-License-Identifier: MIT
/*
 * loop.c - libevent + sd-bus glue.
 *
 * After every callback that may have touched the bus (bus I/O, bus timeout, heap changes that emit
 * signals, reload), bus_dispatch() runs sd_bus_process() until it returns 0 and then re-arms the
 * I/O event with the flags from sd_bus_get_events() and the timer with sd_bus_get_timeout().
 */
#include "loop.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "broker.h"
#include "log.h"
#include "reserve.h"

struct loop {
	struct bb_broker *b;
	struct event *bus_io;
	struct event *bus_timer;
	struct event *heaps_io;
	struct event *sig_term, *sig_int, *sig_hup;
	struct event *watchdog;
	int bus_fd;
	short bus_flags;
	int result;
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void bus_io_cb(evutil_socket_t fd, short what, void *arg);

static void fatal(struct loop *l, int r, const char *what)
{
	log_err("%s: %s; exiting", what, strerror(-r));
	l->result = r;
	event_base_loopbreak(l->b->base);
}

/* Process everything sd-bus has, then re-arm I/O and timeout. */
static void bus_dispatch(struct loop *l)
{
	sd_bus *bus = l->b->bus;
	uint64_t until;
	short flags;
	int r, ev;

	do {
		r = sd_bus_process(bus, NULL);
	} while (r > 0);
	if (r < 0) {
		fatal(l, r, "bus connection failed");
		return;
	}
	ev = sd_bus_get_events(bus);
	if (ev < 0) {
		fatal(l, ev, "bus connection lost");
		return;
	}
	flags = EV_PERSIST | ((ev & POLLIN) ? EV_READ : 0) | ((ev & POLLOUT) ? EV_WRITE : 0);
	if (flags != l->bus_flags) {
		event_del(l->bus_io);
		event_assign(l->bus_io, l->b->base, l->bus_fd, flags, bus_io_cb, l);
		event_add(l->bus_io, NULL);
		l->bus_flags = flags;
	}
	event_del(l->bus_timer);
	r = sd_bus_get_timeout(bus, &until);
	if (r > 0 && until != UINT64_MAX) {
		uint64_t now = now_usec(), rel = until > now ? until - now : 0;
		struct timeval tv = { .tv_sec = (time_t)(rel / 1000000), .tv_usec = (suseconds_t)(rel % 1000000) };

		event_add(l->bus_timer, &tv);
	}
}

static void bus_io_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bus_dispatch(arg);
}

static void bus_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bus_dispatch(arg);
}

static void heaps_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	int r;

	(void)fd;
	(void)what;
	r = bb_heaps_process(&l->b->heaps);
	if (r < 0)
		log_warn("heap watch: %s", strerror(-r));
	bus_dispatch(l);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct loop *l = arg;

	(void)what;
	if (sig == SIGHUP) {
		sd_notify(0, "RELOADING=1\nSTATUS=Reloading the policy");
		if (bb_broker_reload(l->b) == 0) {
			bb_reserves_sync(l->b);
			sd_notify(0, "READY=1\nSTATUS=Policy reloaded; serving");
		} else
			sd_notify(0, "READY=1\nSTATUS=Policy reload failed, kept the old policy; serving");
		bus_dispatch(l);
		return;
	}
	log_info("signal %d: exiting", (int)sig);
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
	event_base_loopbreak(l->b->base);
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

static void loop_free(struct loop *l)
{
	struct event *evs[] = { l->bus_io, l->bus_timer, l->heaps_io, l->sig_term, l->sig_int, l->sig_hup, l->watchdog };

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
}

int bb_loop_run(struct bb_broker *b)
{
	struct loop l = { .b = b, .bus_flags = -1 };
	uint64_t wd_usec = 0;
	int r;

	l.bus_fd = sd_bus_get_fd(b->bus);
	if (l.bus_fd < 0)
		return l.bus_fd;
	l.bus_io = event_new(b->base, l.bus_fd, EV_READ | EV_PERSIST, bus_io_cb, &l);
	l.bus_timer = evtimer_new(b->base, bus_timer_cb, &l);
	l.sig_term = evsignal_new(b->base, SIGTERM, signal_cb, &l);
	l.sig_int = evsignal_new(b->base, SIGINT, signal_cb, &l);
	l.sig_hup = evsignal_new(b->base, SIGHUP, signal_cb, &l);
	if (!l.bus_io || !l.bus_timer || !l.sig_term || !l.sig_int || !l.sig_hup) {
		loop_free(&l);
		return -ENOMEM;
	}
	if (bb_heaps_fd(&b->heaps) >= 0) {
		l.heaps_io = event_new(b->base, bb_heaps_fd(&b->heaps), EV_READ | EV_PERSIST, heaps_cb, &l);
		if (l.heaps_io)
			event_add(l.heaps_io, NULL);
	}
	event_add(l.sig_term, NULL);
	event_add(l.sig_int, NULL);
	event_add(l.sig_hup, NULL);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		struct timeval tv = { .tv_sec = (time_t)(wd_usec / 2 / 1000000),
				      .tv_usec = (suseconds_t)(wd_usec / 2 % 1000000) };

		l.watchdog = event_new(b->base, -1, EV_PERSIST, watchdog_cb, &l);
		if (l.watchdog)
			event_add(l.watchdog, &tv);
		log_debug("watchdog every %llu us", (unsigned long long)(wd_usec / 2));
	}
	bus_dispatch(&l);
	sd_notify(0, "READY=1\nSTATUS=Serving " BB_BUS_NAME);
	r = event_base_dispatch(b->base);
	if (r < 0 && l.result == 0)
		l.result = -EIO;
	loop_free(&l);
	return l.result;
}
