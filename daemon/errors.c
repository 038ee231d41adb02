// SPDX-License-Identifier: MIT
/*
 * errors.c - the named errors of org.bufbroker.Broker1 and the errno each one stands for.
 *
 * The table is the one in docs/contracts.md; the client library maps the names back to the same
 * errno values.
 */
#include "errors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const sd_bus_error_map bb_error_map[] = {
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

const char *bb_error_name_from_errno(int err)
{
	for (const sd_bus_error_map *m = bb_error_map; m->name; m++)
		if (m->code == err)
			return m->name;
	return NULL;
}

int bb_error_errno_from_name(const char *name)
{
	if (!name)
		return 0;
	for (const sd_bus_error_map *m = bb_error_map; m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m->code;
	return 0;
}

int bb_error_set(sd_bus_error *e, int err, const char *fmt, ...)
{
	const char *name = bb_error_name_from_errno(err);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!name)
		name = SD_BUS_ERROR_FAILED;
	sd_bus_error_set(e, name, msg);
	return -err;
}
