// SPDX-License-Identifier: MIT
/*
 * quota.c - per-role and per-client limits: total bytes, buffer count, largest single buffer.
 * Role limits count every client's buffers of that role; client limits count one client's buffers
 * of every role.
 */
#include "quota.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

static int check_one(const char *who, const char *fix, const struct bb_limits *l, struct bb_usage use,
		     uint64_t size, char *why, size_t len)
{
	if (l->max_buffer_size != BB_UNLIMITED && size > l->max_buffer_size) {
		snprintf(why, len, "%" PRIu64 " bytes is larger than max-buffer-size %" PRIu64 " of %s; ask for less or raise max-buffer-size in %s",
			 size, l->max_buffer_size, who, fix);
		return -EDQUOT;
	}
	if (use.bytes > UINT64_MAX - size) {
		snprintf(why, len, "the byte count of %s would overflow; release buffers", who);
		return -EOVERFLOW;
	}
	if (l->max_bytes != BB_UNLIMITED && use.bytes + size > l->max_bytes) {
		snprintf(why, len, "%s uses %" PRIu64 " of max-bytes %" PRIu64 " and %" PRIu64 " more do not fit; release buffers or raise max-bytes in %s",
			 who, use.bytes, l->max_bytes, size, fix);
		return -EDQUOT;
	}
	if (l->max_buffers != BB_UNLIMITED && use.buffers + 1 > l->max_buffers) {
		snprintf(why, len, "%s already holds max-buffers %" PRIu64 " buffers; release one or raise max-buffers in %s",
			 who, l->max_buffers, fix);
		return -EDQUOT;
	}
	return 0;
}

int bb_quota_check(const char *role_name, const struct bb_limits *role, struct bb_usage role_use,
		   const struct bb_limits *client, struct bb_usage client_use, uint64_t size,
		   char *why, size_t len)
{
	char who[64], fix[64];
	int r;

	snprintf(who, sizeof(who), "role '%s'", role_name);
	snprintf(fix, sizeof(fix), "[role %s]", role_name);
	r = check_one(who, fix, role, role_use, size, why, len);
	if (r < 0)
		return r;
	return check_one("this client", "[client]", client, client_use, size, why, len);
}
