// SPDX-License-Identifier: MIT
/*
 * dbus_errors.c - errno -> org.bufbroker.Error.* for method replies.
 */
#include "dbus_errors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

const sd_bus_error_map bb_dbus_error_map[] = {
	SD_BUS_ERROR_MAP(BB_ERROR_ACCESS_DENIED, EACCES),
	SD_BUS_ERROR_MAP(BB_ERROR_QUOTA_EXCEEDED, EDQUOT),
	SD_BUS_ERROR_MAP(BB_ERROR_NO_SUCH_ROLE, ENOENT),
	SD_BUS_ERROR_MAP(BB_ERROR_NO_SUCH_HEAP, ENODEV),
	SD_BUS_ERROR_MAP(BB_ERROR_REGION_FULL, ENOMEM),
	SD_BUS_ERROR_MAP(BB_ERROR_INVALID_ARGUMENT, EINVAL),
	SD_BUS_ERROR_MAP(BB_ERROR_NO_SUCH_BUFFER, ESRCH),
	SD_BUS_ERROR_MAP(BB_ERROR_INVALID_TOKEN, EBADMSG),
	SD_BUS_ERROR_MAP(BB_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
	SD_BUS_ERROR_MAP_END
};

int bb_error_set(sd_bus_error *e, int err, const char *fmt, ...)
{
	const char *name = bb_errno_to_error(err);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages echo client strings; cut to ASCII so a split UTF-8 sequence cannot break the reply. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	sd_bus_error_set(e, name ? name : SD_BUS_ERROR_FAILED, msg);
	return -err;
}
