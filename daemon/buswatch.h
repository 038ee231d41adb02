/* SPDX-License-Identifier: MIT */
/*
 * buswatch.h - drive one sd-bus connection from the libevent loop: the bus itself and every
 * private session (session.c) use the same glue. After each wake-up sd_bus_process() runs until it
 * has nothing left, then the I/O event is re-armed with sd_bus_get_events() and the timer with
 * sd_bus_get_timeout().
 */
#ifndef BB_BUSWATCH_H
#define BB_BUSWATCH_H

#include <systemd/sd-bus.h>

struct event_base;
struct event;

/*
 * Called when the connection fails (sd_bus_process or sd_bus_get_events < 0), after the watch has
 * stopped its events. It may free the watch (bb_buswatch_stop) and the bus.
 */
typedef void (*bb_buswatch_failed_fn)(void *userdata, int err);

struct bb_buswatch {
	struct event_base *base;
	sd_bus *bus; /* borrowed */
	struct event *io, *timer;
	int fd;
	short flags;
	unsigned int budget;
	bb_buswatch_failed_fn failed;
	void *userdata;
};

/*
 * Start watching @bus (borrowed: the caller keeps its reference). @budget: at most this many
 * sd_bus_process() steps per wake-up, 0 for no limit. A private session needs one: its client
 * answers each reply with its next call at once, and processing "until idle" would serve that one
 * client for as long as it keeps sending while every other session waits (measured: p99 180x p50
 * with 64 clients). Return: 0 or -errno.
 */
int bb_buswatch_start(struct bb_buswatch *w, struct event_base *base, sd_bus *bus, unsigned int budget,
		      bb_buswatch_failed_fn failed, void *userdata);

/* Process what is pending now and re-arm. */
void bb_buswatch_dispatch(struct bb_buswatch *w);

/* Free the events; the bus is untouched. Safe on a zeroed or stopped watch. */
void bb_buswatch_stop(struct bb_buswatch *w);

#endif
