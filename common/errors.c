// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "errors.h"

static const struct {
	const char *name;
	int err;
} error_map[BB_N_ERRORS] = {
	{ BB_ERROR_ACCESS_DENIED, EACCES },
	{ BB_ERROR_QUOTA_EXCEEDED, EDQUOT },
	{ BB_ERROR_NO_SUCH_ROLE, ENOENT },
	{ BB_ERROR_NO_SUCH_HEAP, ENODEV },
	{ BB_ERROR_REGION_FULL, ENOMEM },
	{ BB_ERROR_INVALID_ARGUMENT, EINVAL },
	{ BB_ERROR_NO_SUCH_BUFFER, ESRCH },
	{ BB_ERROR_INVALID_TOKEN, EBADMSG },
	{ BB_ERROR_NOT_SUPPORTED, EOPNOTSUPP },
};

int bb_error_to_errno(const char *name)
{
	if (!name)
		return 0;
	for (size_t i = 0; i < BB_N_ERRORS; i++)
		if (!strcmp(error_map[i].name, name))
			return error_map[i].err;
	return 0;
}

const char *bb_errno_to_error(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < BB_N_ERRORS; i++)
		if (error_map[i].err == err)
			return error_map[i].name;
	return NULL;
}

const char *bb_error_name_at(unsigned int i)
{
	return i < BB_N_ERRORS ? error_map[i].name : NULL;
}
