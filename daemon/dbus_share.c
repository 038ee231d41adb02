// SPDX-License-Identifier: MIT
/*
 * dbus_share.c - Release, ReleaseSet, List, Share and Import: a client reaches only its own
 * buffers; sharing goes through single-use tokens scoped to a role, a uid or a bus peer (share.h),
 * as the policy's share-with allows.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "clients.h"
#include "dbus_errors.h"
#include "dbus_internal.h"
#include "log.h"
#include <time.h>

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* The caller's own entry (owned or imported), or NoSuchBuffer. */
static int own_buffer(struct bb_broker *b, struct bb_client *c, uint64_t id, struct bb_buffer **out,
		      sd_bus_error *e)
{
	struct bb_buffer *buf = bb_buffers_find(&b->buffers, id);

	if (!buf || buf->client != c)
		return bb_error_set(e, ESRCH, "you hold no buffer with id %" PRIu64 "; List shows the ids of your buffers", id);
	*out = buf;
	return 0;
}

int bb_dbus_method_release(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct bb_broker *b = userdata;
	struct bb_client *c;
	struct bb_buffer *buf = NULL;
	uint64_t id;
	int r;

	r = sd_bus_message_read(m, "t", &id);
	if (r < 0)
		return r;
	r = bb_client_from_message(b, m, &c, e);
	if (r < 0)
		return r;
	log_debug("Release(%" PRIu64 ") from %s", id, c->bus_name);
	r = own_buffer(b, c, id, &buf, e);
	if (r < 0)
		return r;
	if (!buf->imported)
		bb_tokens_remove_matching(&b->tokens, NULL, buf->id);
	bb_buffers_remove(&b->buffers, buf);
	return sd_bus_reply_method_return(m, "");
}

/* The most ids one ReleaseSet takes. */
#define BB_RELEASE_SET_MAX 256

int bb_dbus_method_release_set(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct bb_broker *b = userdata;
	struct bb_buffer **bufs = NULL;
	struct bb_client *c;
	const uint64_t *ids;
	size_t len, n;
	int r;

	r = sd_bus_message_read_array(m, 't', (const void **)&ids, &len);
	if (r < 0)
		return r;
	n = len / sizeof(*ids);
	r = bb_client_from_message(b, m, &c, e);
	if (r < 0)
		return r;
	log_debug("ReleaseSet(%zu ids) from %s", n, c->bus_name);
	if (!n)
		return bb_error_set(e, EINVAL, "the set of ids is empty; give the ids of the buffers to release");
	/* The checks below are quadratic, and the daemon serves everyone from one thread. */
	if (n > BB_RELEASE_SET_MAX)
		return bb_error_set(e, EINVAL, "a set of %zu ids is too many; release at most %d per call", n,
				    BB_RELEASE_SET_MAX);
	bufs = calloc(n, sizeof(*bufs));
	if (!bufs)
		return bb_error_set(e, ENOMEM, "out of memory");
	/* All ids first: a set is released whole or not at all. */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++)
			if (ids[j] == ids[i]) {
				r = bb_error_set(e, EINVAL, "id %" PRIu64 " is in the set twice; nothing was released", ids[i]);
				goto out;
			}
		r = own_buffer(b, c, ids[i], &bufs[i], e);
		if (r < 0) {
			sd_bus_error_free(e);
			r = bb_error_set(e, ESRCH, "you hold no buffer with id %" PRIu64 "; nothing was released; List shows the ids of your buffers",
					 ids[i]);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!bufs[i]->imported)
			bb_tokens_remove_matching(&b->tokens, NULL, bufs[i]->id);
		bb_buffers_remove(&b->buffers, bufs[i]);
	}
	r = sd_bus_reply_method_return(m, "");
out:
	free(bufs);
	return r;
}

int bb_dbus_method_list(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct bb_broker *b = userdata;
	sd_bus_message *reply = NULL;
	struct bb_client *c;
	int r;

	r = bb_client_from_message(b, m, &c, e);
	if (r < 0)
		return r;
	log_debug("List() from %s", c->bus_name);
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(tsstss)");
	for (struct bb_buffer *buf = b->buffers.head; r >= 0 && buf; buf = buf->next)
		if (buf->client == c)
			r = sd_bus_message_append(reply, "(tsstss)", buf->id, buf->role, buf->heap,
						  buf->size, buf->name, buf->imported ? "imported" : "owned");
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

int bb_dbus_method_share(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct bb_broker *b = userdata;
	struct bb_share_target t;
	const struct bb_role *role = NULL;
	struct bb_token *tok;
	struct bb_client *c;
	struct bb_buffer *buf = NULL;
	const char *target;
	uint64_t id;
	int r;

	r = sd_bus_message_read(m, "ts", &id, &target);
	if (r < 0)
		return r;
	r = bb_client_from_message(b, m, &c, e);
	if (r < 0)
		return r;
	log_debug("Share(%" PRIu64 ", %s) from %s", id, target, c->bus_name);
	if (bb_share_parse_target(target, &t) < 0)
		return bb_error_set(e, EINVAL, "target '%.64s' is not valid; use role:NAME, uid:N or a unique bus name such as :1.42",
				    target);
	r = own_buffer(b, c, id, &buf, e);
	if (r < 0)
		return r;
	if (buf->imported)
		return bb_error_set(e, EOPNOTSUPP, "buffer %" PRIu64 " was imported; only its owner may share it", id);
	role = bb_policy_find_role(&b->policy, buf->role);
	if (!role)
		return bb_error_set(e, EACCES, "role '%s' of buffer %" PRIu64 " is no longer in the policy; it cannot be shared",
				    buf->role, id);
	if (t.scope == BB_SCOPE_ROLE) {
		if (!bb_policy_find_role(&b->policy, t.role))
			return bb_error_set(e, ENOENT, "the policy has no role '%s' to share with", t.role);
		if (!bb_role_may_share_with(role, t.role)) {
			bb_log_denied("denied %s: role %s may not share with %s", c->bus_name, role->name, t.role);
			return bb_error_set(e, EACCES, "role '%s' may not share with role '%s'; add it to share-with of [role %s]",
					    role->name, t.role, role->name);
		}
	} else if (role->n_share_with == 0) {
		bb_log_denied("denied %s: role %s shares with no role", c->bus_name, role->name);
		return bb_error_set(e, EACCES, "role '%s' may not share buffers; list the roles of importers in share-with of [role %s]",
				    role->name, role->name);
	}
	r = bb_tokens_issue(&b->tokens, c, buf->id, &t, now_usec(), &tok);
	if (r == -EDQUOT)
		return bb_error_set(e, EDQUOT, "you have %d unused share tokens; wait for them to be imported or to expire (60 s)",
				    BB_TOKENS_PER_CLIENT);
	if (r < 0)
		return bb_error_set(e, -r, "cannot make a token: %s", strerror(-r));
	return sd_bus_reply_method_return(m, "s", tok->hex);
}

/* The role the importer gets the buffer under, or NULL (AccessDenied set). */
static const struct bb_role *import_role(struct bb_broker *b, const struct bb_client *c,
					 const struct bb_token *tok, const struct bb_role *owner_role,
					 sd_bus_error *e)
{
	const struct bb_share_target *t = &tok->target;

	if (t->scope == BB_SCOPE_PEER && strcmp(t->peer, c->bus_name) != 0) {
		bb_error_set(e, EACCES, "this token was granted to another bus peer; ask the owner to share with %s",
			     c->bus_name);
		return NULL;
	}
	if (t->scope == BB_SCOPE_UID && t->uid != c->uid) {
		bb_error_set(e, EACCES, "this token was granted to another uid; ask the owner to share with uid:%u",
			     (unsigned int)c->uid);
		return NULL;
	}
	for (size_t i = 0; i < owner_role->n_share_with; i++) {
		const char *name = owner_role->share_with[i];
		const struct bb_role *r = bb_policy_find_role(&b->policy, name);

		if (t->scope == BB_SCOPE_ROLE && strcmp(name, t->role) != 0)
			continue;
		if (r && bb_role_allows(r, c->uid, c->gid, c->groups, c->n_groups, c->unit))
			return r;
	}
	bb_log_denied("denied import by %s (uid %u): no role of share-with of %s granted", c->bus_name,
		 (unsigned int)c->uid, owner_role->name);
	bb_error_set(e, EACCES, "uid %u may not use %s%s, which role '%s' shares with; ask for the role to be granted",
		     (unsigned int)c->uid, t->scope == BB_SCOPE_ROLE ? "role " : "any role",
		     t->scope == BB_SCOPE_ROLE ? t->role : "", owner_role->name);
	return NULL;
}

int bb_dbus_method_import(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct bb_broker *b = userdata;
	const struct bb_role *owner_role, *role;
	struct bb_buffer *src, *buf;
	struct bb_token *tok;
	struct bb_client *c;
	const char *token;
	int r;

	r = sd_bus_message_read(m, "s", &token);
	if (r < 0)
		return r;
	r = bb_client_from_message(b, m, &c, e);
	if (r < 0)
		return r;
	log_debug("Import() from %s", c->bus_name);
	if (!bb_token_syntax_valid(token))
		return bb_error_set(e, EBADMSG, "this is not a share token; a token is %d lowercase hex digits returned by Share",
				    BB_TOKEN_HEX);
	tok = bb_tokens_find(&b->tokens, token, now_usec());
	if (!tok) {
		bb_log_denied("denied import by %s (uid %u): unknown token", c->bus_name, (unsigned int)c->uid);
		return bb_error_set(e, EBADMSG, "unknown, used or expired token; tokens are single use and expire after 60 s, ask the owner to Share again");
	}
	src = bb_buffers_find(&b->buffers, tok->buffer_id);
	owner_role = src ? bb_policy_find_role(&b->policy, src->role) : NULL;
	if (!src || src->fd < 0 || !owner_role) {
		bb_tokens_remove(&b->tokens, tok);
		return bb_error_set(e, EBADMSG, "the shared buffer was released by its owner; ask the owner to share a live buffer");
	}
	role = import_role(b, c, tok, owner_role, e);
	if (!role)
		return -EACCES;
	buf = bb_buffers_add(&b->buffers, c, role->name, src->heap, src->name, src->size, -1, true, src->id);
	if (!buf)
		return bb_error_set(e, ENOMEM, "out of memory");
	bb_tokens_remove(&b->tokens, tok);
	r = sd_bus_reply_method_return(m, "htt", src->fd, buf->id, buf->size);
	if (r < 0)
		bb_buffers_remove(&b->buffers, buf);
	return r;
}
