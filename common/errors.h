/* SPDX-License-Identifier: MIT */
/*
 * errors.h - org.bufbroker.Error.* names and the errno each maps to
 * (docs/contracts.md, "Errors").  Used by bufbrokerd (errno -> error name
 * when replying) and by libbufbroker (error name -> errno).
 */
#ifndef BB_COMMON_ERRORS_H
#define BB_COMMON_ERRORS_H

#define BB_ERROR_PREFIX "org.bufbroker.Error."

#define BB_ERROR_ACCESS_DENIED    BB_ERROR_PREFIX "AccessDenied"
#define BB_ERROR_QUOTA_EXCEEDED   BB_ERROR_PREFIX "QuotaExceeded"
#define BB_ERROR_NO_SUCH_ROLE     BB_ERROR_PREFIX "NoSuchRole"
#define BB_ERROR_NO_SUCH_HEAP     BB_ERROR_PREFIX "NoSuchHeap"
#define BB_ERROR_REGION_FULL      BB_ERROR_PREFIX "RegionFull"
#define BB_ERROR_INVALID_ARGUMENT BB_ERROR_PREFIX "InvalidArgument"
#define BB_ERROR_NO_SUCH_BUFFER   BB_ERROR_PREFIX "NoSuchBuffer"
#define BB_ERROR_INVALID_TOKEN    BB_ERROR_PREFIX "InvalidToken"
#define BB_ERROR_NOT_SUPPORTED    BB_ERROR_PREFIX "NotSupported"

/** Number of org.bufbroker.Error.* names. */
#define BB_N_ERRORS 9

/**
 * bb_error_to_errno() - positive errno for a full D-Bus error name
 * Return: e.g. EDQUOT for "org.bufbroker.Error.QuotaExceeded", 0 when @name
 * is NULL or not one of ours.
 */
int bb_error_to_errno(const char *name);

/**
 * bb_errno_to_error() - full D-Bus error name for an errno (sign ignored)
 * Return: a static string, or NULL when no org.bufbroker.Error maps to it
 * (the daemon then uses a generic org.freedesktop.DBus.Error).
 */
const char *bb_errno_to_error(int err);

/**
 * bb_error_name_at() - the i-th error name, 0 <= i < BB_N_ERRORS (for tests
 * and documentation); NULL past the end.
 */
const char *bb_error_name_at(unsigned int i);

#endif /* BB_COMMON_ERRORS_H */
