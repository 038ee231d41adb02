// SPDX-License-Identifier: MIT
/*
 * dbus_alloc.c - Allocate, AllocateSet and AllocateImage: validate the arguments and options,
 * authorize the role, check quotas, allocate down the role's heap list (moving on only when a heap
 * is full), name the buffer, register it and reply with the fd.
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
#include "alloc.h"
#include "heap_names.h"
#include "image_layout.h"
#include "quota.h"
#include "reserve.h"

#define PAGE 4096ULL

struct alloc_opts {
	char name[32];
	int fd_flags;
	bool have_name, have_access;
};

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

/* The options that end every allocating method's arguments, then the caller. */
static int read_options_and_caller(struct bb_broker *b, sd_bus_message *m, struct alloc_opts *o,
				   struct bb_client **c, sd_bus_error *e)
{
	int r = read_options(m, o, e);

	return r < 0 ? r : bb_client_from_message(b, m, c, e);
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
int bb_dbus_authorize_role(struct bb_broker *b, const struct bb_client *c, const char *role,
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
		bb_log_denied("denied %s (uid %u): no role '%s'", c->bus_name, (unsigned int)c->uid, role);
		return bb_error_set(e, ENOENT, "the policy has no role '%s'; roles you may use: %s", role, roles);
	}
	if (!bb_role_allows(r, c->uid, c->gid, c->groups, c->n_groups, c->unit)) {
		bb_log_denied("denied %s (uid %u, unit %s): role '%s' not granted", c->bus_name,
			 (unsigned int)c->uid, c->unit ? c->unit : "-", role);
		return bb_error_set(e, EACCES, "uid %u (unit %s) may not use role '%s'; add the user, a group or the unit to allow-users, allow-groups or allow-units of [role %s]",
				    (unsigned int)c->uid, c->unit ? c->unit : "none", role, role);
	}
	*out = r;
	return 0;
}

/* Allocate from the role's heaps, in order, moving on only when a heap is full. Returns the fd. */
int bb_dbus_allocate_from_role(struct bb_broker *b, const struct bb_role *role, uint64_t size,
			       int fd_flags, struct bb_heap_node *node, char *heap, size_t heaplen,
			       sd_bus_error *e)
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
		/* A name the inotify-kept list has needs no lookup in /dev and sysfs; should the
		 * node be gone before the list hears of it, the full lookup below says so. */
		fd = -ENODEV;
		if (bb_heaps_has(&b->heaps, name) && strlen(name) < heaplen) {
			strcpy(heap, name);
			fd = bb_heap_alloc(b->paths.heap_dir, heap, size, fd_flags, node);
		}
		if (fd == -ENODEV) {
			r = bb_heap_resolve(b->paths.heap_dir, b->paths.stats_dir, name, heap, heaplen);
			if (r < 0)
				return bb_error_set(e, ENODEV, "role '%s': heap '%s' is not in %s (%s); load the bufbroker module or fix 'heaps' of [role %s]",
						    role->name, name, b->paths.heap_dir, strerror(-r), role->name);
			fd = bb_heap_alloc(b->paths.heap_dir, heap, size, fd_flags, node);
		}
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
		       const struct alloc_opts *o, struct bb_heap_node *node, struct bb_buffer **out,
		       sd_bus_error *e)
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
	r = bb_dbus_authorize_role(b, c, role_name, &role, e);
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
		bb_log_denied("denied %s (uid %u): %s", c->bus_name, (unsigned int)c->uid, why);
		return bb_error_set(e, EDQUOT, "%s", why);
	}
	fd = bb_reserve_take(b, role, size, o->fd_flags, heap, sizeof(heap));
	if (fd < 0)
		fd = bb_dbus_allocate_from_role(b, role, size, o->fd_flags, node, heap, sizeof(heap), e);
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

int bb_dbus_method_allocate(sd_bus_message *m, void *userdata, sd_bus_error *e)
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
	r = read_options_and_caller(b, m, &o, &c, e);
	if (r < 0)
		return r;
	log_debug("Allocate(%s, %" PRIu64 ") from %s", role, size, c->bus_name);
	r = do_allocate(b, c, role, size, &o, NULL, &buf, e);
	if (r < 0)
		return r;
	r = sd_bus_reply_method_return(m, "ht", buf->fd, buf->id);
	if (r < 0)
		bb_buffers_remove(&b->buffers, buf);
	return r;
}

/* The most buffers one AllocateSet hands out; libbufbroker's BB_ALLOC_SET_MAX is the same. */
#define BB_ALLOC_SET_MAX 32

/*
 * Put "buffer K of N" in front of the message of @e, and say that nothing was kept. The error name
 * (QuotaExceeded, RegionFull, ...) stays.
 */
static void set_error(sd_bus_error *e, unsigned int k, unsigned int n, int r)
{
	sd_bus_error ne = SD_BUS_ERROR_NULL;

	if (!sd_bus_error_is_set(e))
		return;
	sd_bus_error_setf(&ne, e->name, "buffer %u of %u: %s; none of the set was kept (a set is all or nothing)",
			  k, n, e->message ? e->message : strerror(-r));
	sd_bus_error_free(e);
	*e = ne;
}

int bb_dbus_method_allocate_set(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct bb_broker *b = userdata;
	struct bb_buffer *bufs[BB_ALLOC_SET_MAX];
	struct bb_heap_node node = { .fd = -1 };
	sd_bus_message *reply = NULL;
	struct bb_client *c;
	struct alloc_opts o;
	const char *role;
	uint64_t size;
	uint32_t count, n = 0;
	int r;

	r = sd_bus_message_read(m, "stu", &role, &size, &count);
	if (r < 0)
		return r;
	r = read_options_and_caller(b, m, &o, &c, e);
	if (r < 0)
		return r;
	log_debug("AllocateSet(%s, %" PRIu64 ", %" PRIu32 ") from %s", role, size, count, c->bus_name);
	if (count < 1 || count > BB_ALLOC_SET_MAX)
		return bb_error_set(e, EINVAL, "a set of %" PRIu32 " buffers is not valid; ask for 1 to %d", count,
				    BB_ALLOC_SET_MAX);
	/* One at a time, so that each sees the quota the ones before it use; the heap node is
	 * opened once for the set. */
	for (; n < count; n++) {
		r = do_allocate(b, c, role, size, &o, &node, &bufs[n], e);
		if (r < 0)
			break;
	}
	bb_heap_node_close(&node);
	if (r < 0) {
		set_error(e, n + 1, count, r);
		goto undo;
	}
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "h");
	for (uint32_t i = 0; r >= 0 && i < n; i++)
		r = sd_bus_message_append(reply, "h", bufs[i]->fd);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "t");
	for (uint32_t i = 0; r >= 0 && i < n; i++)
		r = sd_bus_message_append(reply, "t", bufs[i]->id);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	if (r >= 0)
		return r;
undo:
	while (n > 0)
		bb_buffers_remove(&b->buffers, bufs[--n]);
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

int bb_dbus_method_allocate_image(sd_bus_message *m, void *userdata, sd_bus_error *e)
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
	r = read_options_and_caller(b, m, &o, &c, e);
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
	r = do_allocate(b, c, role, l.size, &o, NULL, &buf, e);
	if (r < 0)
		return r;
	r = reply_image(m, buf, &l);
	if (r < 0)
		bb_buffers_remove(&b->buffers, buf);
	return r;
}
