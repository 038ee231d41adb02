/* SPDX-License-Identifier: MIT */
/* Named D-Bus errors of org.bufbroker.Broker1 (docs/contracts.md) and their errno values. */
#ifndef BB_ERRORS_H
#define BB_ERRORS_H

#include <systemd/sd-bus.h>

#define BB_ERROR_ACCESS_DENIED "org.bufbroker.Error.AccessDenied"
#define BB_ERROR_QUOTA_EXCEEDED "org.bufbroker.Error.QuotaExceeded"
#define BB_ERROR_NO_SUCH_ROLE "org.bufbroker.Error.NoSuchRole"
#define BB_ERROR_NO_SUCH_HEAP "org.bufbroker.Error.NoSuchHeap"
#define BB_ERROR_REGION_FULL "org.bufbroker.Error.RegionFull"
#define BB_ERROR_INVALID_ARGUMENT "org.bufbroker.Error.InvalidArgument"
#define BB_ERROR_NO_SUCH_BUFFER "org.bufbroker.Error.NoSuchBuffer"
#define BB_ERROR_INVALID_TOKEN "org.bufbroker.Error.InvalidToken"
#define BB_ERROR_NOT_SUPPORTED "org.bufbroker.Error.NotSupported"

/* For sd_bus_error_add_map(); terminated by SD_BUS_ERROR_MAP_END. */
extern const sd_bus_error_map bb_error_map[];

/* Error name for a positive errno, or NULL when the errno has no named error. */
const char *bb_error_name_from_errno(int err);

/* Positive errno for an error name, or 0 when the name is not one of ours. */
int bb_error_errno_from_name(const char *name);

/*
 * bb_error_set() - fill @e with the named error for @err and a formatted message.
 * @err: positive errno; errnos without a named error become org.freedesktop.DBus.Error.Failed.
 * Return: -@err, so a method handler can "return bb_error_set(...)".
 */
int bb_error_set(sd_bus_error *e, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
