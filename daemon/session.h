/* SPDX-License-Identifier: MIT */
/*
 * session.h - private peer-to-peer connections (OpenSession, docs/dbus-api.md).
 *
 * Every call through dbus-daemon crosses two sockets and two message parsers each way; on the
 * small SoCs this broker runs on that round trip costs more than allocating a 1 MiB buffer. A
 * client may therefore ask for a socket of its own: the daemon serves the same Broker1 object on
 * it, peer to peer, under the identity the bus gave for the OpenSession call. The session is its
 * own client for accounting: its buffers and tokens go when the socket closes, or when the opener
 * leaves the bus.
 */
#ifndef BB_SESSION_H
#define BB_SESSION_H

#include <systemd/sd-bus.h>

struct bb_broker;
struct bb_client;

/* Live sessions one bus connection may hold, and in all. */
#define BB_SESSIONS_PER_OPENER 4
#define BB_SESSIONS_MAX 1024

/* sd_bus_message_handler_t for OpenSession; userdata is the broker. */
int bb_dbus_method_open_session(sd_bus_message *m, void *userdata, sd_bus_error *e);

/* The client behind session connection @bus (borrowed), or NULL when @bus is not a session. */
struct bb_client *bb_session_client(struct bb_broker *b, sd_bus *bus);

/* Live sessions @opener opened. */
unsigned int bb_sessions_of(const struct bb_broker *b, const struct bb_client *opener);

/* Close every session @opener opened, dropping their clients. */
void bb_sessions_drop_opener(struct bb_broker *b, const struct bb_client *opener);

/* Close all sessions (daemon exit). */
void bb_sessions_drop_all(struct bb_broker *b);

#endif
