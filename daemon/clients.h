/* SPDX-License-Identifier: MIT */
/*
 * clients.h - bus clients, keyed by unique bus name, with credentials from the bus
 * (sd_bus_query_sender_creds: never a PID or uid the caller passes) and cleanup on disconnect
 * through sd_bus_track.
 */
#ifndef BB_CLIENTS_H
#define BB_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

struct bb_broker;

struct bb_client {
	struct bb_broker *broker;
	char *bus_name;
	uid_t uid;
	gid_t gid; /* (gid_t)-1 when the bus did not say */
	gid_t *groups;
	size_t n_groups;
	char *unit; /* systemd unit, or NULL */
	bool is_session; /* a private session's client (session.c); bus_name is its opener's */
	sd_bus_track *track;
	struct bb_client *next;
};

/*
 * bb_client_from_message() - the client that sent @m: on the bus, by unique name, created on
 * first contact; on a private session, the session's client.
 * Return: 0 and a borrowed *@out, or a negative errno with @e set (AccessDenied when the bus
 * gives no uid).
 */
int bb_client_from_message(struct bb_broker *b, sd_bus_message *m, struct bb_client **out,
			   sd_bus_error *e);

/* The bus client (never a session's) with unique name @bus_name: borrowed, or NULL. */
struct bb_client *bb_client_find(struct bb_broker *b, const char *bus_name);

/*
 * bb_client_new_session() - a new client with @opener's identity, for a private session: not
 * tracked on the bus (session.c drops it when the session closes). Return: borrowed, or NULL.
 */
struct bb_client *bb_client_new_session(const struct bb_client *opener);

/* Drop a client: its buffers (closing the daemon's fds), its tokens, its tracking, its sessions. */
void bb_client_drop(struct bb_client *c);

void bb_clients_drop_all(struct bb_broker *b);

#endif
