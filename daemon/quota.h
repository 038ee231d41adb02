/* SPDX-License-Identifier: MIT */
/* quota.h - may one more buffer of @size be charged? Pure logic, unit-tested on the host. */
#ifndef BB_QUOTA_H
#define BB_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "buffers.h"
#include "policy.h"

/*
 * bb_quota_check() - check a new buffer of @size against the role's and the client's limits.
 * @role_name: for the message.
 * @why, @len: on -EDQUOT, a message saying which limit, the numbers, and what to change.
 * Return: 0, -EDQUOT, or -EOVERFLOW when a sum would not fit in 64 bits (also a quota error).
 */
int bb_quota_check(const char *role_name, const struct bb_limits *role, struct bb_usage role_use,
		   const struct bb_limits *client, struct bb_usage client_use, uint64_t size,
		   char *why, size_t len);

#endif
