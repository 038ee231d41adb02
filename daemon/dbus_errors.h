/* SPDX-License-Identifier: MIT */
/*
 * dbus_errors.h - reply with the named org.bufbroker.Error.* errors of docs/contracts.md.
 * The names and the errno table are in common/errors.h, shared with libbufbroker.
 */
#ifndef BB_DBUS_ERRORS_H
#define BB_DBUS_ERRORS_H

#include <systemd/sd-bus.h>

#include "errors.h" /* common/errors.h */

/* For sd_bus_error_add_map(); terminated by SD_BUS_ERROR_MAP_END. */
extern const sd_bus_error_map bb_dbus_error_map[];

/*
 * bb_error_set() - fill @e with the named error for @err and a formatted message.
 * @err: positive errno; errnos without a named error become org.freedesktop.DBus.Error.Failed.
 * The message should say what was wrong and what to change.
 * Return: -@err, so a method handler can "return bb_error_set(...)".
 */
int bb_error_set(sd_bus_error *e, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
