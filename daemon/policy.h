/* SPDX-License-Identifier: MIT */
/*
 * policy.h - the bufbrokerd policy: INI files parsed with libinih, validated, with file:line errors.
 *
 * Also linked into bufbrokerctl for "bufbrokerctl policy check FILE". The format is in
 * daemon/policy.md.
 */
#ifndef BB_POLICY_H
#define BB_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BB_POLICY_DEFAULT_FILE "/etc/bufbroker/policy.conf"
#define BB_POLICY_DEFAULT_DIR "/etc/bufbroker/policy.d"

/* Role names are short so "<role>:<uid>:<name>" fits DMA_BUF_NAME_LEN (32, with the NUL). */
#define BB_ROLE_NAME_MAX 15
#define BB_POLICY_HEAP_NAME_MAX 63
#define BB_UNLIMITED UINT64_MAX
/* Most buffers one role may reserve (reserve = N x SIZE). */
#define BB_RESERVE_MAX 64

enum bb_entry_kind {
	BB_ENTRY_HEAP,    /* a /dev/dma_heap name or alias */
	BB_ENTRY_DT_NODE, /* a device-tree node path, e.g. /camera@0 */
	BB_ENTRY_V4L2,    /* a V4L2 device node, /dev/videoN */
};

struct bb_heap_entry {
	enum bb_entry_kind kind;
	char *value;
};

struct bb_limits {
	uint64_t max_bytes;       /* BB_UNLIMITED when not set */
	uint64_t max_buffers;     /* BB_UNLIMITED when not set */
	uint64_t max_buffer_size; /* BB_UNLIMITED when not set */
};

struct bb_principal {
	char *name;    /* as written in the file */
	uint32_t id;   /* uid or gid */
	bool resolved; /* false: unknown name, never matches (a warning was recorded) */
};

struct bb_role {
	char *name;
	const char *file; /* borrowed from bb_policy.files */
	int line;         /* line of the [role NAME] header */
	struct bb_heap_entry *entries; /* "device" first, then "heaps", in order */
	size_t n_entries;
	bool any_user; /* allow-users = * */
	struct bb_principal *users;
	size_t n_users;
	struct bb_principal *groups;
	size_t n_groups;
	char **units;
	size_t n_units;
	char **share_with;
	size_t n_share_with;
	struct bb_limits limits; /* totals over all clients of this role */
	unsigned int reserve_count; /* reserve = N x SIZE: pre-allocated buffers; 0: none */
	uint64_t reserve_size;      /* bytes, a multiple of 4096 */
};

struct bb_policy {
	struct bb_role *roles; /* in file order */
	size_t n_roles;
	struct bb_limits client; /* per client, over all its roles */
	char **files;            /* files that were read, in order */
	size_t n_files;
	char *warnings; /* "file:line: ..." lines, or NULL */
};

/*
 * bb_policy_load_file() - parse and validate one policy file.
 * @path: the file.
 * @out: filled on success; free with bb_policy_free(). Untouched on failure.
 * @err, @errlen: on failure, receives every error as "file:line: message\n" (truncated to fit).
 * Return: 0, -EINVAL for errors in the file, or -errno when the file cannot be read.
 */
int bb_policy_load_file(const char *path, struct bb_policy *out, char *err, size_t errlen);

/*
 * bb_policy_load() - parse @main_path, then every *.conf in @dropin_dir sorted by name (bytewise).
 * Either may be NULL; a missing @dropin_dir is not an error, a missing @main_path is.
 * Drop-ins add roles (a role may be defined only once overall) and override [client] keys.
 * Return and @err as for bb_policy_load_file().
 */
int bb_policy_load(const char *main_path, const char *dropin_dir, struct bb_policy *out, char *err,
		   size_t errlen);

void bb_policy_free(struct bb_policy *p);

/* Borrowed pointer into @p, or NULL. */
const struct bb_role *bb_policy_find_role(const struct bb_policy *p, const char *name);

/* True when a caller with these credentials may use @r. @unit may be NULL. */
bool bb_role_allows(const struct bb_role *r, uid_t uid, gid_t gid, const gid_t *groups,
		    size_t n_groups, const char *unit);

/* True when buffers of role @r may be imported by clients of role @target. */
bool bb_role_may_share_with(const struct bb_role *r, const char *target);

/* "64M", "16K", "4096", "1G", "2T" (binary units). 0, -EINVAL (syntax, zero) or -ERANGE. */
int bb_parse_size(const char *s, uint64_t *out);

/* True for a valid role name: 1..BB_ROLE_NAME_MAX of [A-Za-z0-9_-]. */
bool bb_role_name_valid(const char *s);

/* True for a valid heap name: 1..BB_POLICY_HEAP_NAME_MAX of [A-Za-z0-9,._@+-], not "." or "..". */
bool bb_policy_heap_name_valid(const char *s);

#endif
