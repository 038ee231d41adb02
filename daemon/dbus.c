// SPDX-License-Identifier: MIT
/*
 * dbus.c - the org.bufbroker.Broker1 object (docs/dbus-api.md): the vtable, Heaps, Usage, Version,
 * and the HeapAdded/HeapRemoved signals. The buffer methods are in dbus_alloc.c and dbus_share.c.
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
#include <unistd.h>

#include "broker.h"
#include "clients.h"
#include "dbus_errors.h"
#include "dbus_internal.h"
#include "log.h"
#include "reserve.h"
#include "heap_stats.h"
#include "session.h"

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
	log_debug("Heaps() from %s", bb_dbus_caller_name(m));
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
	/* A bus client that opened sessions shows up through them, not as an empty row too. */
	bool shown_by_sessions = !c->is_session && bb_sessions_of(b, c) > 0;

	if (r >= 0 && !any && !shown_by_sessions)
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
	log_debug("Usage() from %s", bb_dbus_caller_name(m));
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
				bb_dbus_method_allocate, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("AllocateImage",
				SD_BUS_ARGS("s", role, "u", fourcc, "u", width, "u", height, "t", modifier,
					    "a{sv}", options),
				SD_BUS_RESULT("h", fd, "t", id, "t", size, "a(tu)", planes),
				bb_dbus_method_allocate_image, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("AllocateSet",
				SD_BUS_ARGS("s", role, "t", size, "u", count, "a{sv}", options),
				SD_BUS_RESULT("ah", fds, "at", ids),
				bb_dbus_method_allocate_set, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_ARGS("t", id), SD_BUS_NO_RESULT, bb_dbus_method_release,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ReleaseSet", SD_BUS_ARGS("at", ids), SD_BUS_NO_RESULT,
				bb_dbus_method_release_set, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("List", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(tsstss)", buffers), bb_dbus_method_list,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Share", SD_BUS_ARGS("t", id, "s", target), SD_BUS_RESULT("s", token),
				bb_dbus_method_share, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Import", SD_BUS_ARGS("s", token),
				SD_BUS_RESULT("h", fd, "t", id, "t", size), bb_dbus_method_import,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Heaps", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sasttttt)", heaps), method_heaps,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Usage", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(susstu)", usage), method_usage,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("OpenSession", SD_BUS_NO_ARGS, SD_BUS_RESULT("h", session),
				bb_dbus_method_open_session, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("HeapAdded", SD_BUS_ARGS("s", name), 0),
	SD_BUS_SIGNAL_WITH_ARGS("HeapRemoved", SD_BUS_ARGS("s", name), 0),
	SD_BUS_VTABLE_END
};

const char *bb_dbus_caller_name(sd_bus_message *m)
{
	const char *sender = sd_bus_message_get_sender(m);

	return sender ? sender : "a session";
}

int bb_dbus_add_vtable(struct bb_broker *b, sd_bus *bus, sd_bus_slot **slot)
{
	return sd_bus_add_object_vtable(bus, slot, BB_OBJECT_PATH, BB_INTERFACE, broker_vtable, b);
}

int bb_dbus_register(struct bb_broker *b)
{
	int r = sd_bus_error_add_map(bb_dbus_error_map);

	if (r < 0)
		return r;
	return bb_dbus_add_vtable(b, b->bus, &b->vtable_slot);
}

void bb_dbus_heap_changed(void *userdata, const char *name, bool added)
{
	struct bb_broker *b = userdata;
	int r;

	if (added)
		bb_reserves_sync(b);
	if (!b->bus)
		return;
	r = sd_bus_emit_signal(b->bus, BB_OBJECT_PATH, BB_INTERFACE, added ? "HeapAdded" : "HeapRemoved",
			       "s", name);
	if (r < 0)
		log_warn("cannot emit %s(%s): %s", added ? "HeapAdded" : "HeapRemoved", name, strerror(-r));
}
