/* SPDX-License-Identifier: MIT */
/* dbus.h - the org.bufbroker.Broker1 object. */
#ifndef BB_DBUS_H
#define BB_DBUS_H

#include <stdbool.h>

struct bb_broker;

/* Register the vtable at /org/bufbroker/Broker1 and the error map. 0 or -errno. */
int bb_dbus_register(struct bb_broker *b);

/* bb_heaps_cb: emit HeapAdded / HeapRemoved. @userdata is the broker. */
void bb_dbus_heap_changed(void *userdata, const char *name, bool added);

#endif
