// SPDX-License-Identifier: MIT
/* session.c - private peer-to-peer connections; see session.h for why. */
#include "session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "broker.h"
#include "buswatch.h"
#include "clients.h"
#include "dbus.h"
#include "dbus_errors.h"
#include "log.h"

/* sd_bus_process() steps per wake-up of one session: one call and its reply, then the next session. */
#define BB_SESSION_BUDGET 2

struct bb_session {
	struct bb_broker *broker;
	sd_bus *bus; /* owned */
	sd_bus_slot *vtable_slot;
	struct bb_buswatch watch;
	struct bb_client *client; /* owned: the session's accounting identity */
	const struct bb_client *opener; /* borrowed: dropping it drops this session */
	struct bb_session *next;
};

static void session_free(struct bb_session *s)
{
	struct bb_broker *b = s->broker;

	for (struct bb_session **pp = &b->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			b->n_sessions--;
			break;
		}
	}
	bb_buswatch_stop(&s->watch);
	sd_bus_slot_unref(s->vtable_slot);
	/* No flush: a peer that stopped reading must not stall the daemon. */
	if (s->bus) {
		sd_bus_close(s->bus);
		sd_bus_unref(s->bus);
	}
	if (s->client)
		bb_client_drop(s->client);
	free(s);
}

static void session_failed(void *userdata, int err)
{
	struct bb_session *s = userdata;

	log_debug("session of %s closed: %s", s->client->bus_name, strerror(-err));
	session_free(s);
}

unsigned int bb_sessions_of(const struct bb_broker *b, const struct bb_client *opener)
{
	unsigned int n = 0;

	for (const struct bb_session *s = b->sessions; s; s = s->next)
		n += s->opener == opener;
	return n;
}

/* Serve the Broker1 object on our end of the socketpair. Takes @fd. */
static int session_start(struct bb_session *s, int fd)
{
	sd_id128_t id;
	int r;

	r = sd_bus_new(&s->bus);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = sd_bus_set_fd(s->bus, fd, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = sd_id128_randomize(&id);
	if (r >= 0)
		r = sd_bus_set_server(s->bus, 1, id);
	/* Our own socketpair: SO_PEERCRED names the daemon, so EXTERNAL cannot identify the peer.
	 * The identity is the OpenSession caller's, taken from the bus. */
	if (r >= 0)
		r = sd_bus_set_anonymous(s->bus, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(s->bus, 1);
	if (r >= 0)
		r = sd_bus_start(s->bus);
	if (r >= 0)
		r = bb_dbus_add_vtable(s->broker, s->bus, &s->vtable_slot);
	if (r >= 0)
		r = bb_buswatch_start(&s->watch, s->broker->base, s->bus, BB_SESSION_BUDGET, session_failed, s);
	return r;
}

int bb_dbus_method_open_session(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct bb_broker *b = userdata;
	struct bb_client *opener;
	struct bb_session *s;
	int sv[2], r;

	if (sd_bus_message_get_bus(m) != b->bus)
		return bb_error_set(e, EOPNOTSUPP, "OpenSession is a bus method; call it through the bus, not on a session");
	r = bb_client_from_message(b, m, &opener, e);
	if (r < 0)
		return r;
	if (bb_sessions_of(b, opener) >= BB_SESSIONS_PER_OPENER)
		return bb_error_set(e, EDQUOT, "%s already has %d sessions; close one (or use the bus) before opening another",
				    opener->bus_name, BB_SESSIONS_PER_OPENER);
	if (b->n_sessions >= BB_SESSIONS_MAX)
		return bb_error_set(e, EDQUOT, "bufbrokerd serves %d sessions already; use the bus", BB_SESSIONS_MAX);
	s = calloc(1, sizeof(*s));
	if (!s)
		return bb_error_set(e, ENOMEM, "out of memory");
	s->broker = b;
	s->opener = opener;
	s->client = bb_client_new_session(opener);
	if (!s->client) {
		free(s);
		return bb_error_set(e, ENOMEM, "out of memory");
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
		r = -errno;
		bb_client_drop(s->client);
		free(s);
		return bb_error_set(e, -r, "cannot create the session socket: %s", strerror(-r));
	}
	s->next = b->sessions;
	b->sessions = s;
	b->n_sessions++;
	r = session_start(s, sv[0]);
	if (r >= 0)
		r = sd_bus_reply_method_return(m, "h", sv[1]);
	/* The reply holds its own duplicate of the client's end. */
	close(sv[1]);
	if (r < 0) {
		session_free(s);
		return bb_error_set(e, -r, "cannot start the session: %s", strerror(-r));
	}
	log_debug("session opened for %s (uid %u)", opener->bus_name, (unsigned int)opener->uid);
	/* Arms the session's events; on failure it frees @s, which is not used after this. */
	bb_buswatch_dispatch(&s->watch);
	return 1;
}

struct bb_client *bb_session_client(struct bb_broker *b, sd_bus *bus)
{
	for (struct bb_session *s = b->sessions; s; s = s->next)
		if (s->bus == bus)
			return s->client;
	return NULL;
}

void bb_sessions_drop_opener(struct bb_broker *b, const struct bb_client *opener)
{
	struct bb_session *s = b->sessions;

	while (s) {
		struct bb_session *next = s->next;

		if (s->opener == opener)
			session_free(s);
		s = next;
	}
}

void bb_sessions_drop_all(struct bb_broker *b)
{
	while (b->sessions)
		session_free(b->sessions);
}
