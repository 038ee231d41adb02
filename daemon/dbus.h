/* SPDX-License-Identifier: MIT */
/* dbus.h - the org.bufbroker.Broker1 object. */
#ifndef BB_DBUS_H
#define BB_DBUS_H

#include <stdbool.h>
#include <systemd/sd-bus.h>

struct bb_broker;

/* Register the vtable at /org/bufbroker/Broker1 and the error map. 0 or -errno. */
int bb_dbus_register(struct bb_broker *b);

/* Serve the Broker1 object on @bus too (a private session). 0 or -errno. */
int bb_dbus_add_vtable(struct bb_broker *b, sd_bus *bus, sd_bus_slot **slot);

/* The sender's unique name for log lines; sessions have none. Never NULL. */
const char *bb_dbus_caller_name(sd_bus_message *m);

/* bb_heaps_cb: emit HeapAdded / HeapRemoved. @userdata is the broker. */
void bb_dbus_heap_changed(void *userdata, const char *name, bool added);

#endif
