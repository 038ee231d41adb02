/* SPDX-License-Identifier: MIT */
/* dbus_internal.h - method handlers shared between dbus.c (vtable) and dbus_alloc.c/dbus_share.c. */
#ifndef BB_DBUS_INTERNAL_H
#define BB_DBUS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

struct bb_broker;
struct bb_client;
struct bb_role;

/*
 * bb_dbus_authorize_role() - the role @role if it exists and @c may use it.
 * Return: 0 with a borrowed *@out, or -errno with @e set (InvalidArgument, NoSuchRole, AccessDenied).
 */
int bb_dbus_authorize_role(struct bb_broker *b, const struct bb_client *c, const char *role,
			   const struct bb_role **out, sd_bus_error *e);

/*
 * bb_dbus_allocate_from_role() - allocate @size from the role's heaps in order (next one only when
 * a heap is full). @node: NULL, or where the heap node stays open for the next allocation of the
 * same call (bb_heap_alloc()). @heap receives the heap used. Return: a dma-buf fd, or -errno with
 * @e set.
 */
struct bb_heap_node;
int bb_dbus_allocate_from_role(struct bb_broker *b, const struct bb_role *role, uint64_t size,
			       int fd_flags, struct bb_heap_node *node, char *heap, size_t heaplen,
			       sd_bus_error *e);

/* sd_bus_message_handler_t for the vtable; userdata is the broker. */
int bb_dbus_method_allocate(sd_bus_message *m, void *userdata, sd_bus_error *e);
int bb_dbus_method_allocate_image(sd_bus_message *m, void *userdata, sd_bus_error *e);
int bb_dbus_method_allocate_set(sd_bus_message *m, void *userdata, sd_bus_error *e);
int bb_dbus_method_release(sd_bus_message *m, void *userdata, sd_bus_error *e);
int bb_dbus_method_release_set(sd_bus_message *m, void *userdata, sd_bus_error *e);
int bb_dbus_method_list(sd_bus_message *m, void *userdata, sd_bus_error *e);
int bb_dbus_method_share(sd_bus_message *m, void *userdata, sd_bus_error *e);
int bb_dbus_method_import(sd_bus_message *m, void *userdata, sd_bus_error *e);

#endif
