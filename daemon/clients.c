// SPDX-License-Identifier: MIT
/*
 * clients.c - per-client state and cleanup when a client disconnects or crashes.
 */
#include "clients.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "dbus_errors.h"
#include "log.h"
#include "session.h"

struct bb_client *bb_client_find(struct bb_broker *b, const char *bus_name)
{
	for (struct bb_client *c = b->clients; c; c = c->next)
		if (!c->is_session && strcmp(c->bus_name, bus_name) == 0)
			return c;
	return NULL;
}

/* The client's own memory; it must be out of the broker's list. */
static void client_free(struct bb_client *c)
{
	sd_bus_track_unref(c->track);
	free(c->bus_name);
	free(c->groups);
	free(c->unit);
	free(c);
}

void bb_client_drop(struct bb_client *c)
{
	struct bb_broker *b = c->broker;
	struct bb_usage u = bb_buffers_usage(&b->buffers, c, NULL);
	unsigned int n;

	if (!c->is_session)
		bb_sessions_drop_opener(b, c);
	bb_tokens_remove_matching(&b->tokens, c, 0);
	n = bb_buffers_remove_client(&b->buffers, c);
	bb_log(n ? LOG_INFO : LOG_DEBUG, "client %s (uid %u) is gone: dropped %u buffers (%llu bytes charged)",
	       c->bus_name, (unsigned int)c->uid, n, (unsigned long long)u.bytes);
	for (struct bb_client **pp = &b->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	client_free(c);
}

void bb_clients_drop_all(struct bb_broker *b)
{
	bb_sessions_drop_all(b);
	while (b->clients)
		bb_client_drop(b->clients);
}

static int on_client_gone(sd_bus_track *track, void *userdata)
{
	(void)track;
	bb_client_drop(userdata);
	return 0;
}

static int client_creds(struct bb_client *c, sd_bus_message *m)
{
	sd_bus_creds *creds = NULL;
	const gid_t *gids = NULL;
	const char *unit = NULL;
	uint64_t mask = SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_GID | SD_BUS_CREDS_EGID |
			SD_BUS_CREDS_SUPPLEMENTARY_GIDS | SD_BUS_CREDS_UNIT | SD_BUS_CREDS_AUGMENT;
	int n, r;

	r = sd_bus_query_sender_creds(m, mask, &creds);
	if (r < 0) {
		/* The unit comes from the caller's cgroup; without a cgroup hierarchy (no cgroupfs
		 * mounted: -ENOMEDIUM) sd-bus fails the whole query. Identify the caller without
		 * a unit then (allow-units matches nobody), rather than refusing everyone. */
		r = sd_bus_query_sender_creds(m, mask & ~SD_BUS_CREDS_UNIT, &creds);
		if (r < 0)
			return r;
	}
	r = sd_bus_creds_get_euid(creds, &c->uid);
	if (r < 0)
		r = sd_bus_creds_get_uid(creds, &c->uid);
	if (r < 0)
		goto out;
	if (sd_bus_creds_get_egid(creds, &c->gid) < 0 && sd_bus_creds_get_gid(creds, &c->gid) < 0)
		c->gid = (gid_t)-1;
	n = sd_bus_creds_get_supplementary_gids(creds, &gids);
	if (n > 0) {
		c->groups = calloc((size_t)n, sizeof(gid_t));
		if (!c->groups) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(c->groups, gids, (size_t)n * sizeof(gid_t));
		c->n_groups = (size_t)n;
	}
	if (sd_bus_creds_get_unit(creds, &unit) >= 0 && unit) {
		c->unit = strdup(unit);
		if (!c->unit) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = 0;
out:
	sd_bus_creds_unref(creds);
	return r;
}

struct bb_client *bb_client_new_session(const struct bb_client *opener)
{
	struct bb_broker *b = opener->broker;
	struct bb_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->broker = b;
	c->is_session = true;
	c->uid = opener->uid;
	c->gid = opener->gid;
	c->bus_name = strdup(opener->bus_name);
	c->unit = opener->unit ? strdup(opener->unit) : NULL;
	if (opener->n_groups) {
		c->groups = calloc(opener->n_groups, sizeof(gid_t));
		if (c->groups)
			memcpy(c->groups, opener->groups, opener->n_groups * sizeof(gid_t));
		c->n_groups = opener->n_groups;
	}
	if (!c->bus_name || (opener->unit && !c->unit) || (opener->n_groups && !c->groups)) {
		client_free(c);
		return NULL;
	}
	c->next = b->clients;
	b->clients = c;
	return c;
}

int bb_client_from_message(struct bb_broker *b, sd_bus_message *m, struct bb_client **out,
			   sd_bus_error *e)
{
	const char *sender = sd_bus_message_get_sender(m);
	struct bb_client *c;
	int r;

	if (sd_bus_message_get_bus(m) != b->bus) {
		c = bb_session_client(b, sd_bus_message_get_bus(m));
		if (!c)
			return bb_error_set(e, EACCES, "this connection is not a session of bufbrokerd; call OpenSession on the bus");
		*out = c;
		return 0;
	}
	if (!sender)
		return bb_error_set(e, EACCES, "the bus did not name the sender; connect through the bus");
	c = bb_client_find(b, sender);
	if (c) {
		*out = c;
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->bus_name = strdup(sender))) {
		free(c);
		return bb_error_set(e, ENOMEM, "out of memory");
	}
	c->broker = b;
	r = client_creds(c, m);
	if (r < 0) {
		client_free(c);
		return bb_error_set(e, EACCES, "cannot read the credentials of %s from the bus: %s", sender,
				    strerror(-r));
	}
	r = sd_bus_track_new(b->bus, &c->track, on_client_gone, c);
	if (r >= 0)
		r = sd_bus_track_add_name(c->track, sender);
	if (r < 0) {
		client_free(c);
		return bb_error_set(e, -r, "cannot track %s: %s", sender, strerror(-r));
	}
	c->next = b->clients;
	b->clients = c;
	log_debug("new client %s uid %u gid %d unit %s", sender, (unsigned int)c->uid, (int)c->gid,
		  c->unit ? c->unit : "-");
	*out = c;
	return 0;
}
