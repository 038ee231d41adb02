/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the libevent main loop: it drives sd-bus through sd_bus_get_fd/_get_events/_get_timeout,
 * watches heaps, handles SIGTERM/SIGINT (clean exit) and SIGHUP (policy reload), and pets the
 * systemd watchdog.
 */
#ifndef BB_LOOP_H
#define BB_LOOP_H

struct bb_broker;

/* Run until SIGTERM/SIGINT or a fatal bus error. Return: 0 for a clean exit, or -errno. */
int bb_loop_run(struct bb_broker *b);

#endif
