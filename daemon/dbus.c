// SPDX-License-Identifier: MIT
/*
 * dbus.c - the org.bufbroker.Broker1 interface (docs/dbus-api.md).
 *
 * Every handler has the same shape: read and validate arguments (InvalidArgument naming the bad
 * value), find the client and authorize it against the policy (NoSuchRole, AccessDenied), check
 * quotas (QuotaExceeded), act, map errno to a named error, reply.
 */
#include "dbus.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "broker.h"
#include "clients.h"
#include "dbus_errors.h"
#include "heap_names.h"
#include "heap_stats.h"
#include "image_layout.h"
#include "log.h"
#include "quota.h"

#define PAGE 4096ULL

struct alloc_opts {
	char name[32];
	int fd_flags;
	bool have_name, have_access;
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static bool name_text_valid(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* Read the a{sv} options. */
static int read_options(sd_bus_message *m, struct alloc_opts *o, sd_bus_error *e)
{
	int r;

	memset(o, 0, sizeof(*o));
	o->fd_flags = O_RDWR;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key, *contents, *v;
		char type;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		r = sd_bus_message_peek_type(m, &type, &contents);
		if (r < 0)
			return r;
		if (strcmp(key, "name") != 0 && strcmp(key, "cpu-access") != 0)
			return bb_error_set(e, EINVAL, "unknown option '%.64s'; the options are 'name' and 'cpu-access'", key);
		if (strcmp(contents, "s") != 0)
			return bb_error_set(e, EINVAL, "option '%s' must be a string (variant type s), not '%.16s'", key,
					    contents);
		r = sd_bus_message_read(m, "v", "s", &v);
		if (r < 0)
			return r;
		if (strcmp(key, "name") == 0) {
			if (o->have_name)
				return bb_error_set(e, EINVAL, "option 'name' is given twice; give it once");
			if (strlen(v) >= sizeof(o->name) || !name_text_valid(v))
				return bb_error_set(e, EINVAL, "buffer name '%.40s' is not valid; use at most 31 printable ASCII characters", v);
			strcpy(o->name, v);
			o->have_name = true;
		} else {
			if (o->have_access)
				return bb_error_set(e, EINVAL, "option 'cpu-access' is given twice; give it once");
			if (strcmp(v, "none") == 0 || strcmp(v, "read") == 0)
				o->fd_flags = O_RDONLY;
			else if (strcmp(v, "write") == 0 || strcmp(v, "read-write") == 0)
				o->fd_flags = O_RDWR;
			else
				return bb_error_set(e, EINVAL, "cpu-access '%.32s' is not valid; use none, read, write or read-write", v);
			o->have_access = true;
		}
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static void allowed_roles(struct bb_broker *b, const struct bb_client *c, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < b->policy.n_roles; i++) {
		const struct bb_role *r = &b->policy.roles[i];
		int n;

		if (!bb_role_allows(r, c->uid, c->gid, c->groups, c->n_groups, c->unit))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", r->name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		snprintf(buf, len, "none");
}

/* Look up a role the client may use. */
static int authorize_role(struct bb_broker *b, const struct bb_client *c, const char *role,
			  const struct bb_role **out, sd_bus_error *e)
{
	const struct bb_role *r;
	char roles[256];

	if (!bb_role_name_valid(role))
		return bb_error_set(e, EINVAL, "'%.32s' is not a role name; role names are 1 to %d letters, digits, '_' or '-'",
				    role, BB_ROLE_NAME_MAX);
	r = bb_policy_find_role(&b->policy, role);
	if (!r) {
		allowed_roles(b, c, roles, sizeof(roles));
		log_info("denied %s (uid %u): no role '%s'", c->bus_name, (unsigned int)c->uid, role);
		return bb_error_set(e, ENOENT, "the policy has no role '%s'; roles you may use: %s", role, roles);
	}
	if (!bb_role_allows(r, c->uid, c->gid, c->groups, c->n_groups, c->unit)) {
		log_info("denied %s (uid %u, unit %s): role '%s' not granted", c->bus_name,
			 (unsigned int)c->uid, c->unit ? c->unit : "-", role);
		return bb_error_set(e, EACCES, "uid %u (unit %s) may not use role '%s'; add the user, a group or the unit to allow-users, allow-groups or allow-units of [role %s]",
				    (unsigned int)c->uid, c->unit ? c->unit : "none", role, role);
	}
	*out = r;
	return 0;
}

/* Allocate from the role's heaps, in order, moving on only when a heap is full. Returns the fd. */
static int allocate_from_role(struct bb_broker *b, const struct bb_role *role, uint64_t size,
			      int fd_flags, char *heap, size_t heaplen, sd_bus_error *e)
{
	char tried[256] = "";
	size_t used = 0;

	for (size_t i = 0; i < role->n_entries; i++) {
		const struct bb_heap_entry *ent = &role->entries[i];
		char name[BB_POLICY_HEAP_NAME_MAX + 1];
		int fd, r;

		r = bb_role_resolve_entry(ent, &b->paths, name, sizeof(name));
		if (r < 0)
			return bb_error_set(e, ENODEV, "role '%s': cannot find the memory region of device %s (%s); check the device tree's memory-region or change the role's device",
					    role->name, ent->value, strerror(-r));
		r = bb_heap_resolve(b->paths.heap_dir, b->paths.stats_dir, name, heap, heaplen);
		if (r < 0)
			return bb_error_set(e, ENODEV, "role '%s': heap '%s' is not in %s (%s); load the bufbroker module or fix 'heaps' of [role %s]",
					    role->name, name, b->paths.heap_dir, strerror(-r), role->name);
		fd = bb_heap_alloc(b->paths.heap_dir, heap, size, fd_flags);
		if (fd >= 0)
			return fd;
		if (fd == -ENOMEM) {
			int n = snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? ", " : "", heap);

			if (n > 0 && (size_t)n < sizeof(tried) - used)
				used += (size_t)n;
			log_debug("heap %s is full for %" PRIu64 " bytes, trying the next heap of role %s", heap,
				  size, role->name);
			continue;
		}
		if (fd == -EACCES || fd == -EPERM || fd == -ENODEV)
			return bb_error_set(e, ENODEV, "bufbrokerd cannot use heap '%s' (%s); check that /dev/dma_heap/%s is group bufbroker, mode 0660",
					    heap, strerror(-fd), heap);
		if (fd == -EINVAL)
			return bb_error_set(e, EINVAL, "heap '%s' refused %" PRIu64 " bytes as invalid; ask for a smaller buffer",
					    heap, size);
		return bb_error_set(e, -fd, "allocation from heap '%s' failed: %s", heap, strerror(-fd));
	}
	return bb_error_set(e, ENOMEM, "no room for %" PRIu64 " bytes in %s (role '%s'); release buffers, wait, or add a fallback heap to the role",
			    size, used ? tried : "any heap", role->name);
}

/* Validate, authorize, allocate and register. On success *out is the new buffer. */
static int do_allocate(struct bb_broker *b, struct bb_client *c, const char *role_name, uint64_t size,
		       const struct alloc_opts *o, struct bb_buffer **out, sd_bus_error *e)
{
	const struct bb_role *role = NULL;
	char dmaname[32], heap[BB_HEAP_NAME_MAX], why[320];
	struct bb_buffer *buf = NULL;
	int fd, r;

	if (size == 0)
		return bb_error_set(e, EINVAL, "size 0 is not valid; ask for at least 1 byte");
	if (size > UINT64_MAX - (PAGE - 1))
		return bb_error_set(e, EINVAL, "size %" PRIu64 " is too large", size);
	size = (size + PAGE - 1) & ~(PAGE - 1);
	r = authorize_role(b, c, role_name, &role, e);
	if (r < 0)
		return r;
	r = snprintf(dmaname, sizeof(dmaname), "%s:%u%s%s", role->name, (unsigned int)c->uid,
		     o->have_name ? ":" : "", o->name);
	if (r < 0 || (size_t)r >= sizeof(dmaname))
		return bb_error_set(e, EINVAL, "buffer name '%s' is too long: '%s:%u:' plus the name must fit in 31 bytes; shorten it to %d",
				    o->name, role->name, (unsigned int)c->uid,
				    (int)(sizeof(dmaname) - 1) - (r - (int)strlen(o->name)));
	r = bb_quota_check(role->name, &role->limits, bb_buffers_usage(&b->buffers, NULL, role->name),
			   &b->policy.client, bb_buffers_usage(&b->buffers, c, NULL), size, why, sizeof(why));
	if (r < 0) {
		log_info("denied %s (uid %u): %s", c->bus_name, (unsigned int)c->uid, why);
		return bb_error_set(e, EDQUOT, "%s", why);
	}
	fd = allocate_from_role(b, role, size, o->fd_flags, heap, sizeof(heap), e);
	if (fd < 0)
		return fd;
	r = bb_dmabuf_set_name(fd, dmaname);
	if (r < 0)
		log_warn("cannot name buffer '%s': %s", dmaname, strerror(-r));
	buf = bb_buffers_add(&b->buffers, c, role->name, heap, o->name, size, fd, false, 0);
	if (!buf)
		return bb_error_set(e, ENOMEM, "out of memory");
	log_debug("%s (uid %u): %" PRIu64 " bytes from %s for role %s: buffer %" PRIu64, c->bus_name,
		  (unsigned int)c->uid, size, heap, role->name, buf->id);
	*out = buf;
	return 0;
}

static int method_allocate(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct bb_broker *b = userdata;
	struct bb_client *c;
	struct bb_buffer *buf = NULL;
	struct alloc_opts o;
	const char *role;
	uint64_t size;
	int r;

	r = sd_bus_message_read(m, "st", &role, &size);
	if (r < 0)
		return r;
	r = read_options(m, &o, e);
	if (r < 0)
		return r;
	r = bb_client_from_message(b, m, &c, e);
	if (r < 0)
		return r;
	log_debug("Allocate(%s, %" PRIu64 ") from %s", role, size, c->bus_name);
	r = do_allocate(b, c, role, size, &o, &buf, e);
	if (r < 0)
		return r;
	r = sd_bus_reply_method_return(m, "ht", buf->fd, buf->id);
	if (r < 0)
		bb_buffers_remove(&b->buffers, buf);
	return r;
}

static int reply_image(sd_bus_message *m, const struct bb_buffer *buf, const struct bb_image_layout *l)
{
	sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "htt", buf->fd, buf->id, buf->size);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(tu)");
	for (unsigned int i = 0; r >= 0 && i < l->n_planes; i++)
		r = sd_bus_message_append(reply, "(tu)", l->planes[i].offset, l->planes[i].stride);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

static int method_allocate_image(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct bb_broker *b = userdata;
	struct bb_image_layout l;
	struct bb_client *c;
	struct bb_buffer *buf = NULL;
	struct alloc_opts o;
	const char *role;
	uint32_t fourcc, width, height;
	uint64_t modifier;
	char fcc[5];
	int r;

	r = sd_bus_message_read(m, "suuut", &role, &fourcc, &width, &height, &modifier);
	if (r < 0)
		return r;
	r = read_options(m, &o, e);
	if (r < 0)
		return r;
	r = bb_client_from_message(b, m, &c, e);
	if (r < 0)
		return r;
	for (int i = 0; i < 4; i++) {
		char ch = (char)((fourcc >> (8 * i)) & 0xff);

		fcc[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	fcc[4] = '\0';
	log_debug("AllocateImage(%s, %s, %ux%u, 0x%" PRIx64 ") from %s", role, fcc, width, height,
		  modifier, c->bus_name);
	r = bb_image_layout_compute(fourcc, width, height, modifier, &l);
	if (r == -EOPNOTSUPP) {
		if (!bb_fourcc_name(fourcc))
			return bb_error_set(e, EOPNOTSUPP, "format 0x%08x ('%s') is not supported; use e.g. NV12, NV16, YUYV, UYVY, P010, RGB565, XRGB8888 or ARGB8888",
					    fourcc, fcc);
		return bb_error_set(e, EOPNOTSUPP, "modifier 0x%" PRIx64 " is not supported; use DRM_FORMAT_MOD_LINEAR (0)", modifier);
	}
	if (r == -EOVERFLOW)
		return bb_error_set(e, EINVAL, "%ux%u %s is too large: a stride or the size overflows; use smaller dimensions",
				    width, height, fcc);
	if (r < 0)
		return bb_error_set(e, EINVAL, "%ux%u is not valid for %s: dimensions must be non-zero and even where the format subsamples",
				    width, height, fcc);
	r = do_allocate(b, c, role, l.size, &o, &buf, e);
	if (r < 0)
		return r;
	r = reply_image(m, buf, &l);
	if (r < 0)
		bb_buffers_remove(&b->buffers, buf);
	return r;
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

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *e)
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

static int method_list(sd_bus_message *m, void *userdata, sd_bus_error *e)
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

static int method_share(sd_bus_message *m, void *userdata, sd_bus_error *e)
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
			log_info("denied %s: role %s may not share with %s", c->bus_name, role->name, t.role);
			return bb_error_set(e, EACCES, "role '%s' may not share with role '%s'; add it to share-with of [role %s]",
					    role->name, t.role, role->name);
		}
	} else if (role->n_share_with == 0) {
		log_info("denied %s: role %s shares with no role", c->bus_name, role->name);
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
	log_info("denied import by %s (uid %u): no role of share-with of %s granted", c->bus_name,
		 (unsigned int)c->uid, owner_role->name);
	bb_error_set(e, EACCES, "uid %u may not use %s%s, which role '%s' shares with; ask for the role to be granted",
		     (unsigned int)c->uid, t->scope == BB_SCOPE_ROLE ? "role " : "any role",
		     t->scope == BB_SCOPE_ROLE ? t->role : "", owner_role->name);
	return NULL;
}

static int method_import(sd_bus_message *m, void *userdata, sd_bus_error *e)
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
		log_info("denied import by %s (uid %u): unknown token", c->bus_name, (unsigned int)c->uid);
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

static int append_region(sd_bus_message *reply, const struct bb_region_stats *rs)
{
	int r = sd_bus_message_open_container(reply, 'r', "sasttttt");

	if (r >= 0)
		r = sd_bus_message_append(reply, "s", rs->name);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "s");
	for (unsigned int i = 0; r >= 0 && i < rs->n_heaps; i++)
		if (strcmp(rs->heaps[i], rs->name) != 0)
			r = sd_bus_message_append(reply, "s", rs->heaps[i]);
	for (unsigned int i = 0; r >= 0 && i < rs->n_aliases; i++) {
		bool dup = strcmp(rs->aliases[i], rs->name) == 0;

		for (unsigned int j = 0; j < rs->n_heaps; j++)
			dup = dup || strcmp(rs->heaps[j], rs->aliases[i]) == 0;
		if (!dup)
			r = sd_bus_message_append(reply, "s", rs->aliases[i]);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "ttttt", rs->size, rs->bytes_allocated, rs->peak_bytes,
					  rs->failures, rs->buffers_allocated);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

static int method_heaps(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct bb_broker *b = userdata;
	struct bb_region_stats *regions = NULL;
	sd_bus_message *reply = NULL;
	size_t n = 0;
	int r;

	(void)e;
	log_debug("Heaps() from %s", sd_bus_message_get_sender(m));
	r = bb_region_stats_read_all(b->paths.stats_dir, &regions, &n);
	if (r < 0 && r != -ENOENT)
		log_warn("cannot read %s: %s", b->paths.stats_dir, strerror(-r));
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(sasttttt)");
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = append_region(reply, &regions[i]);
	/* Heaps that no region of the module claims (e.g. mainline "system"): no statistics. */
	for (size_t i = 0; r >= 0 && i < b->heaps.n; i++) {
		const char *name = b->heaps.names[i];
		bool claimed = false;

		for (size_t j = 0; j < n && !claimed; j++)
			claimed = bb_region_stats_has_name(&regions[j], name);
		if (!claimed)
			r = sd_bus_message_append(reply, "(sasttttt)", name, 0, (uint64_t)0, (uint64_t)0,
						  (uint64_t)0, (uint64_t)0, (uint64_t)0);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	free(regions);
	return r;
}

static int append_usage_rows(sd_bus_message *reply, struct bb_broker *b, const struct bb_client *c)
{
	const char *unit = c->unit ? c->unit : "";
	bool any = false;
	int r = 0;

	/* One row per role the client holds buffers of; roles in policy order, then unknown roles. */
	for (struct bb_buffer *buf = b->buffers.head; r >= 0 && buf; buf = buf->next) {
		struct bb_usage u;
		bool seen = false;

		if (buf->client != c || buf->imported)
			continue;
		for (struct bb_buffer *prev = b->buffers.head; prev != buf; prev = prev->next)
			seen = seen || (prev->client == c && !prev->imported && strcmp(prev->role, buf->role) == 0);
		if (seen)
			continue;
		u = bb_buffers_usage(&b->buffers, c, buf->role);
		r = sd_bus_message_append(reply, "(susstu)", c->bus_name, (uint32_t)c->uid, unit, buf->role,
					  u.bytes, (uint32_t)(u.buffers > UINT32_MAX ? UINT32_MAX : u.buffers));
		any = true;
	}
	if (r >= 0 && !any)
		r = sd_bus_message_append(reply, "(susstu)", c->bus_name, (uint32_t)c->uid, unit, "",
					  (uint64_t)0, (uint32_t)0);
	return r;
}

static int method_usage(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct bb_broker *b = userdata;
	sd_bus_message *reply = NULL;
	int r;

	(void)e;
	log_debug("Usage() from %s", sd_bus_message_get_sender(m));
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(susstu)");
	for (struct bb_client *c = b->clients; r >= 0 && c; c = c->next)
		r = append_usage_rows(reply, b, c);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

static int prop_version(sd_bus *bus, const char *path, const char *interface, const char *property,
			sd_bus_message *reply, void *userdata, sd_bus_error *e)
{
	(void)bus;
	(void)path;
	(void)interface;
	(void)property;
	(void)userdata;
	(void)e;
	return sd_bus_message_append(reply, "u", BB_API_VERSION);
}

static const sd_bus_vtable broker_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "u", prop_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD_WITH_ARGS("Allocate",
				SD_BUS_ARGS("s", role, "t", size, "a{sv}", options),
				SD_BUS_RESULT("h", fd, "t", id),
				method_allocate, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("AllocateImage",
				SD_BUS_ARGS("s", role, "u", fourcc, "u", width, "u", height, "t", modifier,
					    "a{sv}", options),
				SD_BUS_RESULT("h", fd, "t", id, "t", size, "a(tu)", planes),
				method_allocate_image, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_ARGS("t", id), SD_BUS_NO_RESULT, method_release,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("List", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(tsstss)", buffers), method_list,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Share", SD_BUS_ARGS("t", id, "s", target), SD_BUS_RESULT("s", token),
				method_share, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Import", SD_BUS_ARGS("s", token),
				SD_BUS_RESULT("h", fd, "t", id, "t", size), method_import,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Heaps", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sasttttt)", heaps), method_heaps,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Usage", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(susstu)", usage), method_usage,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("HeapAdded", SD_BUS_ARGS("s", name), 0),
	SD_BUS_SIGNAL_WITH_ARGS("HeapRemoved", SD_BUS_ARGS("s", name), 0),
	SD_BUS_VTABLE_END
};

int bb_dbus_register(struct bb_broker *b)
{
	int r = sd_bus_error_add_map(bb_dbus_error_map);

	if (r < 0)
		return r;
	return sd_bus_add_object_vtable(b->bus, &b->vtable_slot, BB_OBJECT_PATH, BB_INTERFACE,
					broker_vtable, b);
}

void bb_dbus_heap_changed(void *userdata, const char *name, bool added)
{
	struct bb_broker *b = userdata;
	int r;

	if (!b->bus)
		return;
	r = sd_bus_emit_signal(b->bus, BB_OBJECT_PATH, BB_INTERFACE, added ? "HeapAdded" : "HeapRemoved",
			       "s", name);
	if (r < 0)
		log_warn("cannot emit %s(%s): %s", added ? "HeapAdded" : "HeapRemoved", name, strerror(-r));
}
