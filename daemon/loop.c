// SPDX-License-Identifier: MIT
/*
 * loop.c - the main loop: the bus (through buswatch.c), heap changes, signals, the watchdog.
 *
 * After every callback that may have touched the bus (heap changes that emit signals, reload),
 * bus_dispatch() processes and re-arms the bus watch.
 */
#include "loop.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "broker.h"
#include "buswatch.h"
#include "log.h"
#include "reserve.h"
#include "session.h"

struct loop {
	struct bb_broker *b;
	struct bb_buswatch bus_watch;
	struct event *heaps_io;
	struct event *sig_term, *sig_int, *sig_hup;
	struct event *watchdog;
	int result;
};

static void bus_failed(void *arg, int err)
{
	struct loop *l = arg;

	log_err("bus connection failed: %s; exiting", strerror(-err));
	l->result = err;
	event_base_loopbreak(l->b->base);
}

static void bus_dispatch(struct loop *l)
{
	bb_buswatch_dispatch(&l->bus_watch);
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
	struct event *evs[] = { l->heaps_io, l->sig_term, l->sig_int, l->sig_hup, l->watchdog };

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
}

int bb_loop_run(struct bb_broker *b)
{
	struct loop l = { .b = b };
	uint64_t wd_usec = 0;
	int r;

	r = bb_buswatch_start(&l.bus_watch, b->base, b->bus, 0, bus_failed, &l);
	if (r < 0)
		return r;
	l.sig_term = evsignal_new(b->base, SIGTERM, signal_cb, &l);
	l.sig_int = evsignal_new(b->base, SIGINT, signal_cb, &l);
	l.sig_hup = evsignal_new(b->base, SIGHUP, signal_cb, &l);
	if (!l.sig_term || !l.sig_int || !l.sig_hup) {
		loop_free(&l);
		bb_buswatch_stop(&l.bus_watch);
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
	bb_sessions_drop_all(b);
	bb_buswatch_stop(&l.bus_watch);
	return l.result;
}
