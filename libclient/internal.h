/* SPDX-License-Identifier: MIT */
/* internal.h - private structures of libbufbroker. */
#ifndef BB_LIBCLIENT_INTERNAL_H
#define BB_LIBCLIENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include <bufbroker/bufbroker.h>

#define BB_BUS_NAME "org.bufbroker.Broker1"
#define BB_OBJECT_PATH "/org/bufbroker/Broker1"
#define BB_INTERFACE "org.bufbroker.Broker1"

struct bb_client {
	sd_bus *bus;     /* owned; the system/user bus or $BUFBROKER_BUS_ADDRESS */
	/* owned; private connection to bufbrokerd (session.c), NULL while calls
	 * go through dbus-daemon */
	sd_bus *session;
	int session_fd;  /* owned dup of the session socket, in epoll_fd; -1 if none */
	/* Do not ask for a session: BB_CONNECT_NO_SESSION, or the daemon
	 * answered UnknownMethod/NotSupported. */
	bool no_session;
	/* Async calls waiting for their reply: while any may be pending on a
	 * broken session, only dispatch may drop it (it owes them a callback). */
	unsigned int n_async;
	int epoll_fd;    /* owned; bb_client_get_fd(), covers bus and session */
	uint64_t timeout_usec;
	char *err_name; /* NULL when the last call succeeded */
	char *err_msg;
};

struct bb_buffer {
	int fd;          /* owned */
	uint64_t id;     /* 0 for direct-mode buffers */
	uint64_t size;
	void *map;       /* NULL when not mapped */
	unsigned int map_flags;
};

/* client.c */
/* CLOCK_MONOTONIC in microseconds, the clock of sd_bus_get_timeout(). */
uint64_t client_now_usec(void);
void client_clear_error(struct bb_client *c);
/* Record a local error and return it (negative). */
int client_set_errno(struct bb_client *c, int err, const char *msg);
/* Record a D-Bus error; return the mapped -errno (fallback: @r). */
int client_set_bus_error(struct bb_client *c, const sd_bus_error *e, int r);

/* session.c */
/*
 * The connection and destination of the next method call: the session
 * (destination NULL, peer to peer) when there is a live one or one can be
 * opened now, else the bus (destination BB_BUS_NAME).  Trouble with the
 * session falls back to the bus, except a daemon that did not answer
 * OpenSession within the client's timeout: -ETIMEDOUT.  Does not touch the
 * client's error state.
 */
int client_call_target(struct bb_client *c, sd_bus **bus, const char **destination);
/* Unregister and close the session (pending async calls on it are freed
 * without their callbacks); the next call opens a new one.  No-op if none. */
void session_close(struct bb_client *c);

/* buffer.c */
/* Take ownership of @fd (must be CLOEXEC) and wrap it; closes @fd on error. */
int buffer_new_take_fd(int fd, uint64_t id, uint64_t size, struct bb_buffer **out);

#endif
