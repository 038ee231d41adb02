// SPDX-License-Identifier: MIT
/* calls.c - the D-Bus methods of org.bufbroker.Broker1, sync and async. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "image_layout.h"
#include "internal.h"

static const char *const cpu_access_names[] = {
	[BB_CPU_ACCESS_NONE] = "none",
	[BB_CPU_ACCESS_READ] = "read",
	[BB_CPU_ACCESS_WRITE] = "write",
	[BB_CPU_ACCESS_READ_WRITE] = "read-write",
};

/* The message is bound to the connection it goes out on (session or bus). */
static int new_call(struct bb_client *c, const char *method, sd_bus_message **out)
{
	const char *destination;
	sd_bus *bus;
	int r;

	r = client_call_target(c, &bus, &destination);
	if (r < 0)
		return client_set_errno(c, r, "bufbrokerd did not answer within the client timeout; check that it runs (systemctl status bufbrokerd)");
	r = sd_bus_message_new_method_call(bus, out, destination, BB_OBJECT_PATH, BB_INTERFACE,
					   method);
	return r < 0 ? client_set_errno(c, r, "cannot build D-Bus message") : 0;
}

static int check_options(const struct bb_alloc_options *o)
{
	if (!o)
		return 0;
	if (o->cpu_access > BB_CPU_ACCESS_READ_WRITE || o->reserved0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(o->reserved) / sizeof(o->reserved[0]); i++)
		if (o->reserved[i])
			return -EINVAL;
	return 0;
}

static int append_options(sd_bus_message *m, const struct bb_alloc_options *o)
{
	int r = sd_bus_message_open_container(m, 'a', "{sv}");

	if (r >= 0 && o && o->name)
		r = sd_bus_message_append(m, "{sv}", "name", "s", o->name);
	if (r >= 0 && o && o->cpu_access != BB_CPU_ACCESS_DEFAULT)
		r = sd_bus_message_append(m, "{sv}", "cpu-access", "s",
					  cpu_access_names[o->cpu_access]);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

static int call(struct bb_client *c, sd_bus_message *m, sd_bus_message **reply)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call(sd_bus_message_get_bus(m), m, c->timeout_usec, &e, reply);
	if (r < 0)
		r = client_set_bus_error(c, &e, r);
	else
		client_clear_error(c);
	sd_bus_error_free(&e);
	return r < 0 ? r : 0;
}

/* Size of a dma-buf from the kernel; @fallback if it cannot tell. */
static uint64_t dmabuf_size(int fd, uint64_t fallback)
{
	off_t end = lseek(fd, 0, SEEK_END);

	if (end <= 0)
		return fallback;
	lseek(fd, 0, SEEK_SET);
	return (uint64_t)end;
}

/* A new buffer of its own copy of @fd, which a reply message owns (and closes when freed). */
static int buffer_from_reply_fd(struct bb_client *c, int fd, uint64_t id, uint64_t size,
				struct bb_buffer **out)
{
	int r;

	fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return client_set_errno(c, errno, "cannot duplicate the buffer fd");
	r = buffer_new_take_fd(fd, id, dmabuf_size(fd, size), out);
	return r < 0 ? client_set_errno(c, r, NULL) : 0;
}

/* Read "h t" (+ "t size" when @with_size) into a new buffer. */
static int read_fd_reply(struct bb_client *c, sd_bus_message *reply, bool with_size,
			 uint64_t req_size, struct bb_buffer **out, uint64_t *reply_size)
{
	uint64_t id, size = req_size;
	int fd, r;

	r = sd_bus_message_read(reply, "ht", &fd, &id);
	if (r >= 0 && with_size)
		r = sd_bus_message_read(reply, "t", &size);
	if (r < 0)
		return client_set_errno(c, r, "malformed reply from bufbrokerd");
	if (reply_size)
		*reply_size = size;
	return buffer_from_reply_fd(c, fd, id, size, out);
}

static int read_planes(struct bb_client *c, sd_bus_message *reply, struct bb_image_layout *l)
{
	uint64_t offset;
	uint32_t stride;
	int r;

	l->n_planes = 0;
	r = sd_bus_message_enter_container(reply, 'a', "(tu)");
	if (r < 0)
		return client_set_errno(c, r, "malformed plane list from bufbrokerd");
	while ((r = sd_bus_message_read(reply, "(tu)", &offset, &stride)) > 0) {
		if (l->n_planes == BB_MAX_PLANES)
			return client_set_errno(c, EBADMSG, "bufbrokerd returned too many planes");
		l->planes[l->n_planes].offset = offset;
		l->planes[l->n_planes].stride = stride;
		l->n_planes++;
	}
	if (r < 0)
		return client_set_errno(c, r, "malformed plane list from bufbrokerd");
	return sd_bus_message_exit_container(reply);
}

/* Fill the layout parts the D-Bus reply does not carry (plane heights). */
static void layout_fill_heights(struct bb_image_layout *l)
{
	struct bb_image_layout local;

	if (bb_image_layout_compute_aligned(l->fourcc, l->width, l->height, l->modifier, 1,
					    &local) < 0 || local.n_planes != l->n_planes)
		return;
	for (unsigned int i = 0; i < l->n_planes; i++)
		l->planes[i].height = local.planes[i].height;
}

static int image_reply(struct bb_client *c, sd_bus_message *reply, uint32_t fourcc, uint32_t w,
		       uint32_t h, uint64_t modifier, struct bb_buffer **out,
		       struct bb_image_layout *layout)
{
	struct bb_image_layout l = { .fourcc = fourcc, .width = w, .height = h,
				     .modifier = modifier };
	struct bb_buffer *buf;
	int r;

	r = read_fd_reply(c, reply, true, 0, &buf, &l.size);
	if (r < 0)
		return r;
	r = read_planes(c, reply, &l);
	if (r < 0) {
		bb_buffer_free(buf);
		return r;
	}
	if (l.modifier == DRM_FORMAT_MOD_INVALID)
		l.modifier = DRM_FORMAT_MOD_LINEAR; /* the daemon allocated linear */
	layout_fill_heights(&l);
	if (layout)
		*layout = l;
	*out = buf;
	return 0;
}

static int build_alloc(struct bb_client *c, const char *role, uint64_t size,
		       const struct bb_alloc_options *opts, sd_bus_message **m)
{
	int r;

	if (!role || !size || check_options(opts) < 0)
		return client_set_errno(c, EINVAL, "invalid argument");
	r = new_call(c, "Allocate", m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(*m, "st", role, size);
	if (r >= 0)
		r = append_options(*m, opts);
	if (r < 0) {
		*m = sd_bus_message_unref(*m);
		return client_set_errno(c, r, "cannot build D-Bus message");
	}
	return 0;
}

static int build_alloc_image(struct bb_client *c, const char *role, uint32_t fourcc,
			     uint32_t width, uint32_t height, uint64_t modifier,
			     const struct bb_alloc_options *opts, sd_bus_message **m)
{
	int r;

	if (!role || check_options(opts) < 0)
		return client_set_errno(c, EINVAL, "invalid argument");
	r = new_call(c, "AllocateImage", m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(*m, "suuut", role, fourcc, width, height, modifier);
	if (r >= 0)
		r = append_options(*m, opts);
	if (r < 0) {
		*m = sd_bus_message_unref(*m);
		return client_set_errno(c, r, "cannot build D-Bus message");
	}
	return 0;
}

int bb_client_alloc(struct bb_client *c, const char *role, uint64_t size,
		    const struct bb_alloc_options *opts, struct bb_buffer **out)
{
	sd_bus_message *m = NULL, *reply = NULL;
	int r;

	if (!c || !out)
		return -EINVAL;
	r = build_alloc(c, role, size, opts, &m);
	if (r >= 0)
		r = call(c, m, &reply);
	if (r >= 0)
		r = read_fd_reply(c, reply, false, size, out, NULL);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r;
}

int bb_client_alloc_set(struct bb_client *c, const char *role, uint64_t size, unsigned int count,
			const struct bb_alloc_options *opts, struct bb_buffer **out)
{
	struct bb_buffer *bufs[BB_ALLOC_SET_MAX];
	sd_bus_message *m = NULL, *reply = NULL;
	const uint64_t *ids = NULL;
	size_t n_ids = 0;
	unsigned int n = 0;
	int r, fd;

	if (!c || !out)
		return -EINVAL;
	if (!role || !size || !count || count > BB_ALLOC_SET_MAX || check_options(opts) < 0)
		return client_set_errno(c, EINVAL, "invalid argument");
	r = new_call(c, "AllocateSet", &m);
	if (r >= 0) {
		r = sd_bus_message_append(m, "stu", role, size, (uint32_t)count);
		if (r >= 0)
			r = append_options(m, opts);
		if (r < 0)
			r = client_set_errno(c, r, "cannot build D-Bus message");
	}
	if (r >= 0)
		r = call(c, m, &reply);
	if (r >= 0) {
		r = sd_bus_message_enter_container(reply, 'a', "h");
		while (r >= 0 && (r = sd_bus_message_read(reply, "h", &fd)) > 0) {
			if (n == count) {
				r = -EBADMSG;
				break;
			}
			r = buffer_from_reply_fd(c, fd, 0, size, &bufs[n]);
			if (r < 0)
				goto fail; /* it said why */
			n++;
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r >= 0)
			r = sd_bus_message_read_array(reply, 't', (const void **)&ids, &n_ids);
		if (r >= 0 && (n != count || n_ids != count * sizeof(*ids)))
			r = -EBADMSG;
		if (r < 0)
			r = client_set_errno(c, r, "malformed reply from bufbrokerd");
	}
fail:
	if (r >= 0) {
		for (unsigned int i = 0; i < count; i++) {
			bufs[i]->id = ids[i];
			out[i] = bufs[i];
		}
	} else {
		while (n > 0)
			bb_buffer_free(bufs[--n]);
	}
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r < 0 ? r : 0;
}

int bb_client_alloc_image(struct bb_client *c, const char *role, uint32_t fourcc,
			  uint32_t width, uint32_t height, uint64_t modifier,
			  const struct bb_alloc_options *opts, struct bb_buffer **out,
			  struct bb_image_layout *layout)
{
	sd_bus_message *m = NULL, *reply = NULL;
	int r;

	if (!c || !out)
		return -EINVAL;
	r = build_alloc_image(c, role, fourcc, width, height, modifier, opts, &m);
	if (r >= 0)
		r = call(c, m, &reply);
	if (r >= 0)
		r = image_reply(c, reply, fourcc, width, height, modifier, out, layout);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r;
}

int bb_client_share(struct bb_client *c, uint64_t id, const char *target, char *token,
		    size_t token_len)
{
	sd_bus_message *m = NULL, *reply = NULL;
	const char *t;
	size_t len;
	int r;

	if (!c)
		return -EINVAL;
	if (!target || !token || !token_len)
		return client_set_errno(c, EINVAL, "invalid argument");
	r = new_call(c, "Share", &m);
	if (r >= 0) {
		r = sd_bus_message_append(m, "ts", id, target);
		if (r < 0)
			r = client_set_errno(c, r, "cannot build D-Bus message");
	}
	if (r >= 0)
		r = call(c, m, &reply);
	if (r >= 0) {
		r = sd_bus_message_read(reply, "s", &t);
		if (r < 0)
			r = client_set_errno(c, r, "malformed reply from bufbrokerd");
	}
	if (r >= 0) {
		len = strlen(t);
		if (len >= token_len || len > INT32_MAX)
			r = client_set_errno(c, ERANGE, "token buffer too small");
		else {
			memcpy(token, t, len + 1);
			r = (int)len;
		}
	}
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r;
}

int bb_client_import(struct bb_client *c, const char *token, struct bb_buffer **out)
{
	sd_bus_message *m = NULL, *reply = NULL;
	int r;

	if (!c || !out)
		return -EINVAL;
	if (!token)
		return client_set_errno(c, EINVAL, "invalid argument");
	r = new_call(c, "Import", &m);
	if (r >= 0) {
		r = sd_bus_message_append(m, "s", token);
		if (r < 0)
			r = client_set_errno(c, r, "cannot build D-Bus message");
	}
	if (r >= 0)
		r = call(c, m, &reply);
	if (r >= 0)
		r = read_fd_reply(c, reply, true, 0, out, NULL);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r;
}

int bb_client_release_id(struct bb_client *c, uint64_t id)
{
	sd_bus_message *m = NULL;
	int r;

	if (!c)
		return -EINVAL;
	r = new_call(c, "Release", &m);
	if (r >= 0) {
		r = sd_bus_message_append(m, "t", id);
		if (r < 0)
			r = client_set_errno(c, r, "cannot build D-Bus message");
	}
	if (r >= 0)
		r = call(c, m, NULL);
	sd_bus_message_unref(m);
	return r;
}

int bb_client_release(struct bb_client *c, struct bb_buffer *buf)
{
	if (!buf)
		return 0;
	if (buf->id) {
		/* Close our fd first: the daemon then frees at once if we were the
		 * last holder. */
		uint64_t id = buf->id;

		bb_buffer_free(buf);
		return c ? bb_client_release_id(c, id) : -EINVAL;
	}
	bb_buffer_free(buf);
	return 0;
}

/* The most ids bufbrokerd takes in one ReleaseSet; bb_client_release_set() sends more in parts. */
#define RELEASE_SET_CHUNK 256

int bb_client_release_set(struct bb_client *c, struct bb_buffer **bufs, unsigned int count)
{
	uint64_t *ids = NULL;
	unsigned int n_ids = 0;
	int r = 0;

	if (!bufs)
		return count ? -EINVAL : 0;
	for (unsigned int i = 0; i < count; i++)
		if (bufs[i] && bufs[i]->id)
			n_ids++;
	if (n_ids) {
		ids = calloc(n_ids, sizeof(*ids));
		n_ids = 0;
		for (unsigned int i = 0; ids && i < count; i++)
			if (bufs[i] && bufs[i]->id)
				ids[n_ids++] = bufs[i]->id;
		if (!ids)
			r = c ? client_set_errno(c, ENOMEM, "out of memory") : -ENOMEM;
		else if (!c)
			r = -EINVAL;
	}
	/* Close our fds first: the daemon then frees at once where we were the last holder. */
	for (unsigned int i = 0; i < count; i++)
		bb_buffer_free(bufs[i]);
	for (unsigned int done = 0; ids && r >= 0 && done < n_ids; done += RELEASE_SET_CHUNK) {
		unsigned int n = n_ids - done < RELEASE_SET_CHUNK ? n_ids - done : RELEASE_SET_CHUNK;
		sd_bus_message *m = NULL;

		r = new_call(c, "ReleaseSet", &m);
		if (r >= 0) {
			r = sd_bus_message_append_array(m, 't', ids + done, n * sizeof(*ids));
			if (r < 0)
				r = client_set_errno(c, r, "cannot build D-Bus message");
		}
		if (r >= 0)
			r = call(c, m, NULL);
		sd_bus_message_unref(m);
	}
	free(ids);
	return r;
}

/* ---- lists --------------------------------------------------------------- */

static int simple_call(struct bb_client *c, const char *method, sd_bus_message **reply)
{
	sd_bus_message *m = NULL;
	int r;

	r = new_call(c, method, &m);
	if (r >= 0)
		r = call(c, m, reply);
	sd_bus_message_unref(m);
	return r;
}

static char *xstrdup(const char *s, int *r)
{
	char *d = strdup(s ? s : "");

	if (!d)
		*r = -ENOMEM;
	return d;
}

void bb_heap_info_free(struct bb_heap_info *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		if (list[i].aliases)
			for (char **a = list[i].aliases; *a; a++)
				free(*a);
		free(list[i].aliases);
	}
	free(list);
}

/* Grow *list (of elem bytes) to hold n + 1 entries. */
static int grow(void **list, size_t *cap, size_t n, size_t elem)
{
	void *nl;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	nl = reallocarray(*list, ncap, elem);
	if (!nl)
		return -ENOMEM;
	memset((char *)nl + *cap * elem, 0, (ncap - *cap) * elem);
	*list = nl;
	*cap = ncap;
	return 0;
}

/*
 * Reads one row of a reply array into @elem (zeroed). Return: > 0 for a row, 0 at the end of the
 * array, -errno; on error @elem may hold what was read so far (the list's free function frees it).
 */
typedef int (*row_reader_fn)(sd_bus_message *reply, void *elem);

/*
 * Call @method (no arguments) and read its reply, an array of @row_sig, into a new array of
 * @elem_size byte elements: *@out (NULL when empty) and *@n_out. On error, what was read is freed
 * with @free_list and the error is recorded as a malformed reply.
 */
static int call_list(struct bb_client *c, const char *method, const char *row_sig, size_t elem_size,
		     row_reader_fn read_row, void (*free_list)(void *list, size_t n), void **out,
		     size_t *n_out)
{
	sd_bus_message *reply = NULL;
	char *list = NULL;
	size_t n = 0, cap = 0;
	int r;

	r = simple_call(c, method, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', row_sig);
	while (r >= 0) {
		r = grow((void **)&list, &cap, n, elem_size);
		if (r < 0)
			break;
		r = read_row(reply, list + n * elem_size);
		if (r < 0)
			n++; /* a partly read row is freed with the rest */
		if (r <= 0)
			break;
		n++;
	}
	sd_bus_message_unref(reply);
	if (r < 0) {
		char msg[64];

		free_list(list, n);
		snprintf(msg, sizeof(msg), "malformed %s reply from bufbrokerd", method);
		return client_set_errno(c, r, msg);
	}
	if (!n) {
		free(list);
		list = NULL;
	}
	*out = list;
	*n_out = n;
	return 0;
}

static int read_heap_row(sd_bus_message *reply, void *elem)
{
	struct bb_heap_info *h = elem;
	const char *name;
	int r;

	r = sd_bus_message_enter_container(reply, 'r', "sasttttt");
	if (r <= 0)
		return r;
	r = sd_bus_message_read(reply, "s", &name);
	if (r < 0)
		return r;
	h->name = xstrdup(name, &r);
	if (r < 0)
		return r;
	r = sd_bus_message_read_strv(reply, &h->aliases);
	if (r >= 0 && !h->aliases) { /* sd-bus gives NULL for an empty array */
		h->aliases = calloc(1, sizeof(char *));
		if (!h->aliases)
			r = -ENOMEM;
	}
	if (r >= 0)
		r = sd_bus_message_read(reply, "ttttt", &h->size, &h->bytes_used, &h->peak, &h->failures,
					&h->buffers);
	if (r >= 0)
		r = sd_bus_message_exit_container(reply);
	return r < 0 ? r : 1;
}

static void free_heap_list(void *list, size_t n)
{
	bb_heap_info_free(list, n);
}

int bb_client_list_heaps(struct bb_client *c, struct bb_heap_info **out, size_t *n_out)
{
	if (!c || !out || !n_out)
		return -EINVAL;
	return call_list(c, "Heaps", "(sasttttt)", sizeof(**out), read_heap_row, free_heap_list,
			 (void **)out, n_out);
}

void bb_usage_info_free(struct bb_usage_info *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++) {
		free(list[i].client);
		free(list[i].unit);
		free(list[i].role);
	}
	free(list);
}

static int read_usage_row(sd_bus_message *reply, void *elem)
{
	struct bb_usage_info *u = elem;
	const char *client, *unit, *role;
	int r;

	r = sd_bus_message_read(reply, "(susstu)", &client, &u->uid, &unit, &role, &u->bytes,
				&u->buffers);
	if (r <= 0)
		return r;
	u->client = xstrdup(client, &r);
	u->unit = xstrdup(unit, &r);
	u->role = xstrdup(role, &r);
	return r;
}

static void free_usage_list(void *list, size_t n)
{
	bb_usage_info_free(list, n);
}

int bb_client_usage(struct bb_client *c, struct bb_usage_info **out, size_t *n_out)
{
	if (!c || !out || !n_out)
		return -EINVAL;
	return call_list(c, "Usage", "(susstu)", sizeof(**out), read_usage_row, free_usage_list,
			 (void **)out, n_out);
}

void bb_buffer_info_free(struct bb_buffer_info *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++) {
		free(list[i].role);
		free(list[i].heap);
		free(list[i].name);
		free(list[i].state);
	}
	free(list);
}

static int read_buffer_row(sd_bus_message *reply, void *elem)
{
	struct bb_buffer_info *b = elem;
	const char *role, *heap, *name, *state;
	int r;

	r = sd_bus_message_read(reply, "(tsstss)", &b->id, &role, &heap, &b->size, &name, &state);
	if (r <= 0)
		return r;
	b->role = xstrdup(role, &r);
	b->heap = xstrdup(heap, &r);
	b->name = xstrdup(name, &r);
	b->state = xstrdup(state, &r);
	return r;
}

static void free_buffer_list(void *list, size_t n)
{
	bb_buffer_info_free(list, n);
}

int bb_client_list_buffers(struct bb_client *c, struct bb_buffer_info **out, size_t *n_out)
{
	if (!c || !out || !n_out)
		return -EINVAL;
	return call_list(c, "List", "(tsstss)", sizeof(**out), read_buffer_row, free_buffer_list,
			 (void **)out, n_out);
}

/* ---- async --------------------------------------------------------------- */

enum pending_kind { PENDING_ALLOC, PENDING_IMAGE, PENDING_IMPORT };

struct pending {
	struct bb_client *c;
	enum pending_kind kind;
	bb_alloc_callback cb;
	void *userdata;
	uint64_t size;
	uint32_t fourcc, width, height;
	uint64_t modifier;
};

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	struct pending *p = userdata;
	struct bb_image_layout layout;
	struct bb_buffer *buf = NULL;
	int r;

	(void)ret_error;
	if (sd_bus_message_is_method_error(reply, NULL)) {
		r = client_set_bus_error(p->c, sd_bus_message_get_error(reply),
					 -sd_bus_message_get_errno(reply));
		p->cb(p->c, r, NULL, NULL, p->userdata);
		return 0;
	}
	client_clear_error(p->c);
	switch (p->kind) {
	case PENDING_ALLOC:
		r = read_fd_reply(p->c, reply, false, p->size, &buf, NULL);
		break;
	case PENDING_IMPORT:
		r = read_fd_reply(p->c, reply, true, 0, &buf, NULL);
		break;
	default:
		r = image_reply(p->c, reply, p->fourcc, p->width, p->height, p->modifier, &buf,
				&layout);
		break;
	}
	p->cb(p->c, r, r < 0 ? NULL : buf, (r >= 0 && p->kind == PENDING_IMAGE) ? &layout : NULL,
	      p->userdata);
	return 0;
}

static void pending_destroy(void *userdata)
{
	struct pending *p = userdata;

	p->c->n_async--;
	free(p);
}

/* Send @m; @p is freed by the slot (or here on failure). */
static int send_async(struct bb_client *c, sd_bus_message *m, struct pending *p)
{
	sd_bus_slot *slot = NULL;
	int r;

	r = sd_bus_call_async(sd_bus_message_get_bus(m), &slot, m, on_reply, p, c->timeout_usec);
	if (r < 0) {
		free(p);
		return client_set_errno(c, r, "cannot send D-Bus call");
	}
	c->n_async++;
	sd_bus_slot_set_destroy_callback(slot, pending_destroy);
	sd_bus_slot_set_floating(slot, 1);
	sd_bus_slot_unref(slot);
	client_clear_error(c);
	return 0;
}

static struct pending *pending_new(struct bb_client *c, enum pending_kind kind,
				   bb_alloc_callback cb, void *userdata)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (p) {
		p->c = c;
		p->kind = kind;
		p->cb = cb;
		p->userdata = userdata;
	}
	return p;
}

int bb_client_alloc_async(struct bb_client *c, const char *role, uint64_t size,
			  const struct bb_alloc_options *opts, bb_alloc_callback cb,
			  void *userdata)
{
	sd_bus_message *m = NULL;
	struct pending *p;
	int r;

	if (!c || !cb)
		return -EINVAL;
	r = build_alloc(c, role, size, opts, &m);
	if (r < 0)
		return r;
	p = pending_new(c, PENDING_ALLOC, cb, userdata);
	if (!p)
		r = client_set_errno(c, ENOMEM, NULL);
	else {
		p->size = size;
		r = send_async(c, m, p);
	}
	sd_bus_message_unref(m);
	return r;
}

int bb_client_alloc_image_async(struct bb_client *c, const char *role, uint32_t fourcc,
				uint32_t width, uint32_t height, uint64_t modifier,
				const struct bb_alloc_options *opts, bb_alloc_callback cb,
				void *userdata)
{
	sd_bus_message *m = NULL;
	struct pending *p;
	int r;

	if (!c || !cb)
		return -EINVAL;
	r = build_alloc_image(c, role, fourcc, width, height, modifier, opts, &m);
	if (r < 0)
		return r;
	p = pending_new(c, PENDING_IMAGE, cb, userdata);
	if (!p)
		r = client_set_errno(c, ENOMEM, NULL);
	else {
		p->fourcc = fourcc;
		p->width = width;
		p->height = height;
		p->modifier = modifier;
		r = send_async(c, m, p);
	}
	sd_bus_message_unref(m);
	return r;
}

int bb_client_import_async(struct bb_client *c, const char *token, bb_alloc_callback cb,
			   void *userdata)
{
	sd_bus_message *m = NULL;
	struct pending *p;
	int r;

	if (!c || !cb)
		return -EINVAL;
	if (!token)
		return client_set_errno(c, EINVAL, "invalid argument");
	r = new_call(c, "Import", &m);
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "s", token);
	if (r < 0) {
		sd_bus_message_unref(m);
		return client_set_errno(c, r, "cannot build D-Bus message");
	}
	p = pending_new(c, PENDING_IMPORT, cb, userdata);
	if (!p)
		r = client_set_errno(c, ENOMEM, NULL);
	else
		r = send_async(c, m, p);
	sd_bus_message_unref(m);
	return r;
}
