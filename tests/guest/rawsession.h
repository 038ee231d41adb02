/* SPDX-License-Identifier: MIT */
/*
 * rawsession.h - a private session (OpenSession) on a raw sd-bus connection, for the programs that
 * talk to bufbrokerd without libbufbroker: the D-Bus fuzzer, the broker benchmark, the host D-Bus
 * test. libbufbroker has its own (libclient/session.c), with liveness and fallback.
 */
#ifndef BB_RAWSESSION_H
#define BB_RAWSESSION_H

#include <systemd/sd-bus.h>

/*
 * bb_raw_session_open() - call OpenSession on @bus and connect to the socket it returns, peer to
 * peer (ANONYMOUS, fd passing on, no Hello). Return: 0 and a new connection in *@out the caller
 * owns (sd_bus_close_unref), or -errno; with @e (may be NULL) set when the daemon refused.
 */
int bb_raw_session_open(sd_bus *bus, sd_bus **out, sd_bus_error *e);

#endif
