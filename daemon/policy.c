// SPDX-License-Identifier: MIT
/*
 * policy.c - parse and validate bufbrokerd policy files (daemon/policy.md).
 *
 * libinih splits "key = value" lines, trims them and strips inline comments. It does not tell the
 * handler the line number, and it never calls the handler for a section header, so the lines are fed
 * to it through our own reader (policy_read_line), which counts lines, handles section headers
 * and rejects what inih would only report by number (over-long lines, NUL bytes, lines that are
 * neither a section nor a key). Every error is "file:line: what is wrong; what to do".
 */
#include "policy.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* inih's line buffer is INI_MAX_LINE (200) bytes; longer lines are refused, not split. */
#define POLICY_MAX_LINE 198

enum role_key {
	KEY_HEAPS,
	KEY_DEVICE,
	KEY_ALLOW_USERS,
	KEY_ALLOW_GROUPS,
	KEY_ALLOW_UNITS,
	KEY_MAX_BYTES,
	KEY_MAX_BUFFERS,
	KEY_MAX_BUFFER_SIZE,
	KEY_SHARE_WITH,
	KEY_RESERVE,
	N_KEYS,
};

static const char *const key_names[N_KEYS] = {
	[KEY_HEAPS] = "heaps",
	[KEY_DEVICE] = "device",
	[KEY_ALLOW_USERS] = "allow-users",
	[KEY_ALLOW_GROUPS] = "allow-groups",
	[KEY_ALLOW_UNITS] = "allow-units",
	[KEY_MAX_BYTES] = "max-bytes",
	[KEY_MAX_BUFFERS] = "max-buffers",
	[KEY_MAX_BUFFER_SIZE] = "max-buffer-size",
	[KEY_SHARE_WITH] = "share-with",
	[KEY_RESERVE] = "reserve",
};

/* Per-role parse state that is not part of the result. */
struct role_extra {
	int key_line[N_KEYS];            /* 0: key not set */
	struct bb_heap_entry *device;    /* from "device =" */
	struct bb_heap_entry *heaps;     /* from "heaps =" */
	size_t n_heaps;
	int share_with_line;
	const char *share_with_file;
};

struct parser {
	struct bb_policy *p;
	struct role_extra *extra; /* parallel to p->roles */
	size_t extra_cap;
	/* current file */
	const char *file;
	FILE *fp;
	int line;
	char *buf;
	size_t bufcap;
	/* current section */
	enum { SEC_NONE, SEC_BAD, SEC_CLIENT, SEC_ROLE } sec;
	size_t role_idx;
	int client_key_line[N_KEYS]; /* in this file */
	int section_line;
	bool section_has_keys;
	/* errors */
	char *err;
	size_t errlen, errused;
	unsigned int n_errors;
	size_t warnlen;
};

static void add_msg(struct parser *ps, bool warning, const char *file, int line, const char *fmt,
		    ...) __attribute__((format(printf, 5, 6)));

static void add_msg(struct parser *ps, bool warning, const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	char full[700];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Values from a hostile file are echoed: keep the message printable. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	if (line > 0)
		n = snprintf(full, sizeof(full), "%s:%d: %s%s\n", file, line, warning ? "warning: " : "", msg);
	else
		n = snprintf(full, sizeof(full), "%s: %s%s\n", file, warning ? "warning: " : "", msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(full))
		n = sizeof(full) - 1;

	if (warning) {
		char *w = realloc(ps->p->warnings, ps->warnlen + (size_t)n + 1);

		if (!w)
			return;
		memcpy(w + ps->warnlen, full, (size_t)n + 1);
		ps->p->warnings = w;
		ps->warnlen += (size_t)n;
		return;
	}
	ps->n_errors++;
	if (ps->err && ps->errlen > ps->errused + 1) {
		size_t room = ps->errlen - ps->errused - 1;
		size_t take = (size_t)n < room ? (size_t)n : room;

		memcpy(ps->err + ps->errused, full, take);
		ps->errused += take;
		ps->err[ps->errused] = '\0';
	}
}

#define perr(ps, ...) add_msg((ps), false, (ps)->file, (ps)->line, __VA_ARGS__)
#define pwarn(ps, ...) add_msg((ps), true, (ps)->file, (ps)->line, __VA_ARGS__)

static bool bb_policy_path_valid(const char *s, size_t max);
static int bb_policy_parse_count(const char *s, uint64_t *out);
static void bb_policy_free_entries(struct bb_heap_entry *e, size_t n);

/* Grow *arr (of *n elements of size sz) by one zeroed element; return it or NULL. */
static void *grow(void *arrp, size_t *n, size_t sz)
{
	void **arr = arrp;
	void *na;

	if (*n >= SIZE_MAX / sz - 1)
		return NULL;
	na = realloc(*arr, (*n + 1) * sz);
	if (!na)
		return NULL;
	*arr = na;
	memset((char *)na + *n * sz, 0, sz);
	return (char *)na + (*n)++ * sz;
}

/*
 * Split a comma-separated list in place; calls @cb for each trimmed item. Reports empty items.
 * Returns false if the callback failed or an item was empty.
 */
static bool for_each_item(struct parser *ps, const char *key, char *value,
			  bool (*cb)(struct parser *, void *, char *), void *ctx)
{
	bool ok = true;
	char *save = NULL;
	char *copy = value;

	if (!*value) {
		perr(ps, "'%s' is empty; give at least one value or remove the line", key);
		return false;
	}
	if (value[strlen(value) - 1] == ',' || value[0] == ',' || strstr(value, ",,")) {
		perr(ps, "'%s' has an empty entry; remove the extra comma", key);
		return false;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;

		while (isspace((unsigned char)*tok))
			tok++;
		end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*tok) {
			perr(ps, "'%s' has an empty entry; remove the extra comma", key);
			ok = false;
			continue;
		}
		if (!cb(ps, ctx, tok))
			ok = false;
	}
	return ok;
}

static bool parse_entry(struct parser *ps, struct bb_heap_entry *e, const char *v)
{
	if (strncmp(v, "/dev/", 5) == 0) {
		const char *n = v + strlen("/dev/video");

		if (strncmp(v, "/dev/video", 10) != 0 || !*n || strlen(n) > 5 ||
		    strspn(n, "0123456789") != strlen(n)) {
			perr(ps, "'%s' is not a V4L2 device; use /dev/videoN, a device-tree path such as /camera@0, or a heap name", v);
			return false;
		}
		e->kind = BB_ENTRY_V4L2;
	} else if (v[0] == '/') {
		if (!bb_policy_path_valid(v, 255)) {
			perr(ps, "'%s' is not a device-tree node path; use an absolute path such as /soc/camera@7c000000 without '..' or spaces", v);
			return false;
		}
		e->kind = BB_ENTRY_DT_NODE;
	} else {
		if (!bb_policy_heap_name_valid(v)) {
			perr(ps, "'%s' is not a heap name; use a name from /dev/dma_heap (letters, digits and ,._@+- only, at most %d)",
			     v, BB_POLICY_HEAP_NAME_MAX);
			return false;
		}
		e->kind = BB_ENTRY_HEAP;
	}
	e->value = strdup(v);
	return e->value != NULL;
}

static bool heap_item(struct parser *ps, void *ctx, char *v)
{
	struct role_extra *x = ctx;
	struct bb_heap_entry *e;

	for (size_t i = 0; i < x->n_heaps; i++)
		if (strcmp(x->heaps[i].value, v) == 0) {
			perr(ps, "'%s' is listed twice in 'heaps'; list each heap once", v);
			return false;
		}
	e = grow(&x->heaps, &x->n_heaps, sizeof(*e));
	if (!e)
		return false;
	if (!parse_entry(ps, e, v)) {
		x->n_heaps--;
		return false;
	}
	return true;
}

static bool principal_item(struct parser *ps, void *ctx, char *v, bool is_group)
{
	struct bb_role *r = ctx;
	struct bb_principal **arr = is_group ? &r->groups : &r->users;
	size_t *n = is_group ? &r->n_groups : &r->n_users;
	struct bb_principal *pr;
	const char *what = is_group ? "group" : "user";

	if (!is_group && strcmp(v, "*") == 0) {
		r->any_user = true;
		return true;
	}
	if (strlen(v) > 64 || (!isalnum((unsigned char)v[0]) && v[0] != '_') ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.$") != strlen(v)) {
		perr(ps, "'%s' is not a %s name or number; use a name from /etc/%s or a numeric id%s", v, what,
		     is_group ? "group" : "passwd", is_group ? "" : " (or * for everybody)");
		return false;
	}
	pr = grow(arr, n, sizeof(*pr));
	if (!pr || !(pr->name = strdup(v)))
		return false;
	if (strspn(v, "0123456789") == strlen(v)) {
		uint64_t id;

		if (bb_policy_parse_count(v, &id) < 0 && strcmp(v, "0") != 0) {
			perr(ps, "%s id '%s' is out of range; use a number below 4294967295", what, v);
			return false;
		}
		if (strcmp(v, "0") == 0)
			id = 0;
		if (id == UINT32_MAX) {
			perr(ps, "%s id '%s' is out of range; use a number below 4294967295", what, v);
			return false;
		}
		pr->id = (uint32_t)id;
		pr->resolved = true;
	} else if (is_group) {
		struct group *g = getgrnam(v);

		if (g) {
			pr->id = g->gr_gid;
			pr->resolved = true;
		} else {
			pwarn(ps, "group '%s' does not exist on this system; it matches nobody until it is created", v);
		}
	} else {
		struct passwd *pw = getpwnam(v);

		if (pw) {
			pr->id = pw->pw_uid;
			pr->resolved = true;
		} else {
			pwarn(ps, "user '%s' does not exist on this system; it matches nobody until it is created", v);
		}
	}
	return true;
}

static bool user_item(struct parser *ps, void *ctx, char *v)
{
	return principal_item(ps, ctx, v, false);
}

static bool group_item(struct parser *ps, void *ctx, char *v)
{
	return principal_item(ps, ctx, v, true);
}

static bool strv_add(char ***arr, size_t *n, const char *v)
{
	char **slot = grow(arr, n, sizeof(char *));

	if (!slot)
		return false;
	*slot = strdup(v);
	if (!*slot) {
		(*n)--;
		return false;
	}
	return true;
}

static bool unit_item(struct parser *ps, void *ctx, char *v)
{
	struct bb_role *r = ctx;
	size_t n = strlen(v);
	bool suffix_ok = (n > 8 && strcmp(v + n - 8, ".service") == 0) ||
			 (n > 6 && strcmp(v + n - 6, ".scope") == 0);

	if (n > 255 || !suffix_ok ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\@") != n) {
		perr(ps, "'%s' is not a systemd unit name; use a name such as camera-client.service", v);
		return false;
	}
	return strv_add(&r->units, &r->n_units, v);
}

static bool share_item(struct parser *ps, void *ctx, char *v)
{
	struct bb_role *r = ctx;

	if (!bb_role_name_valid(v)) {
		perr(ps, "'%s' is not a role name; 'share-with' takes role names defined with [role NAME]", v);
		return false;
	}
	for (size_t i = 0; i < r->n_share_with; i++)
		if (strcmp(r->share_with[i], v) == 0) {
			perr(ps, "role '%s' is listed twice in 'share-with'; list it once", v);
			return false;
		}
	return strv_add(&r->share_with, &r->n_share_with, v);
}

static int find_key(const char *name)
{
	for (int k = 0; k < N_KEYS; k++)
		if (strcmp(key_names[k], name) == 0)
			return k;
	return -1;
}

static void set_limit(struct parser *ps, int key, const char *value, struct bb_limits *l)
{
	uint64_t v;
	int r;

	if (key == KEY_MAX_BUFFERS) {
		r = bb_policy_parse_count(value, &v);
		if (r < 0) {
			perr(ps, "max-buffers = '%s' is not a count; use a whole number from 1 to 4294967295", value);
			return;
		}
		l->max_buffers = v;
		return;
	}
	r = bb_parse_size(value, &v);
	if (r == -ERANGE) {
		perr(ps, "%s = '%s' is too large; sizes must fit in 64 bits, e.g. 64M or 1G", key_names[key], value);
		return;
	}
	if (r < 0) {
		perr(ps, "%s = '%s' is not a size; use a positive number with an optional K, M, G or T suffix, e.g. 64M",
		     key_names[key], value);
		return;
	}
	if (key == KEY_MAX_BYTES)
		l->max_bytes = v;
	else
		l->max_buffer_size = v;
}

/* reserve = N x SIZE: N buffers of SIZE (rounded up to 4 KiB) pre-allocated for the role. */
static void set_reserve(struct parser *ps, const char *value, struct bb_role *r)
{
	char count[32], size[64], extra[2];
	uint64_t n, sz;

	if (sscanf(value, "%31[0-9] x %63s %1s", count, size, extra) != 2 ||
	    bb_policy_parse_count(count, &n) < 0 || n > BB_RESERVE_MAX) {
		perr(ps, "reserve = '%s' is not valid; write 'reserve = N x SIZE' with N from 1 to %d, e.g. reserve = 4 x 8M",
		     value, BB_RESERVE_MAX);
		return;
	}
	if (bb_parse_size(size, &sz) < 0 || sz > (UINT64_C(1) << 40)) {
		perr(ps, "reserve = '%s': '%s' is not a size; use e.g. 8M", value, size);
		return;
	}
	r->reserve_count = (unsigned int)n;
	r->reserve_size = (sz + 4095) & ~UINT64_C(4095);
}

static int client_key(struct parser *ps, const char *name, const char *value)
{
	int k = find_key(name);

	if (k != KEY_MAX_BYTES && k != KEY_MAX_BUFFERS && k != KEY_MAX_BUFFER_SIZE) {
		perr(ps, "unknown key '%s' in [client]; the keys there are max-bytes, max-buffers and max-buffer-size",
		     name);
		return 1;
	}
	if (ps->client_key_line[k]) {
		perr(ps, "'%s' is already set on line %d of this file; remove one of them", name,
		     ps->client_key_line[k]);
		return 1;
	}
	ps->client_key_line[k] = ps->line;
	set_limit(ps, k, value, &ps->p->client);
	return 1;
}

static int role_key(struct parser *ps, const char *name, char *value)
{
	struct bb_role *r = &ps->p->roles[ps->role_idx];
	struct role_extra *x = &ps->extra[ps->role_idx];
	int k = find_key(name);

	if (k < 0) {
		perr(ps, "unknown key '%s' in [role %s]; the keys are heaps, device, allow-users, allow-groups, allow-units, max-bytes, max-buffers, max-buffer-size, share-with and reserve",
		     name, r->name);
		return 1;
	}
	if (x->key_line[k]) {
		perr(ps, "'%s' is already set for role '%s' on line %d; remove one of them", name, r->name,
		     x->key_line[k]);
		return 1;
	}
	x->key_line[k] = ps->line;
	switch (k) {
	case KEY_HEAPS:
		for_each_item(ps, name, value, heap_item, x);
		break;
	case KEY_DEVICE:
		if (!*value) {
			perr(ps, "'device' is empty; give /dev/videoN or a device-tree node path");
			break;
		}
		x->device = calloc(1, sizeof(*x->device));
		if (x->device && !parse_entry(ps, x->device, value)) {
			free(x->device);
			x->device = NULL;
		} else if (x->device && x->device->kind == BB_ENTRY_HEAP) {
			perr(ps, "device = '%s' is a heap name; put heap names in 'heaps', and /dev/videoN or a device-tree path in 'device'",
			     value);
		}
		break;
	case KEY_ALLOW_USERS:
		for_each_item(ps, name, value, user_item, r);
		break;
	case KEY_ALLOW_GROUPS:
		for_each_item(ps, name, value, group_item, r);
		break;
	case KEY_ALLOW_UNITS:
		for_each_item(ps, name, value, unit_item, r);
		break;
	case KEY_RESERVE:
		set_reserve(ps, value, r);
		break;
	case KEY_SHARE_WITH:
		x->share_with_line = ps->line;
		x->share_with_file = ps->file;
		for_each_item(ps, name, value, share_item, r);
		break;
	default:
		set_limit(ps, k, value, &r->limits);
		break;
	}
	return 1;
}

static int policy_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parser *ps = user;
	char *v;
	int ret;

	(void)section; /* sections are tracked by policy_read_line() */
	ps->section_has_keys = true;
	switch (ps->sec) {
	case SEC_NONE:
		perr(ps, "'%s' is outside any section; put it under [client] or [role NAME]", name);
		return 1;
	case SEC_BAD:
		return 1; /* the header was already reported */
	case SEC_CLIENT:
		return client_key(ps, name, value);
	case SEC_ROLE:
		v = strdup(value);
		if (!v)
			return 0;
		ret = role_key(ps, name, v);
		free(v);
		return ret;
	}
	return 1;
}

static void end_section(struct parser *ps)
{
	if ((ps->sec == SEC_ROLE || ps->sec == SEC_CLIENT) && !ps->section_has_keys)
		add_msg(ps, true, ps->file, ps->section_line, "section is empty");
	ps->sec = SEC_NONE;
}

static void begin_section(struct parser *ps, char *name)
{
	struct bb_role *r;
	struct role_extra *x;
	char *rn;

	end_section(ps);
	ps->section_line = ps->line;
	ps->section_has_keys = false;
	ps->sec = SEC_BAD;
	if (strcmp(name, "client") == 0) {
		ps->sec = SEC_CLIENT;
		return;
	}
	if (strncmp(name, "role", 4) != 0 || (name[4] && !isspace((unsigned char)name[4]))) {
		perr(ps, "unknown section [%s]; use [client] or [role NAME]", name);
		return;
	}
	rn = name + 4;
	while (isspace((unsigned char)*rn))
		rn++;
	if (!*rn) {
		perr(ps, "section [role] needs a name; write [role NAME], e.g. [role camera]");
		return;
	}
	if (!bb_role_name_valid(rn)) {
		perr(ps, "role name '%s' is not valid; use 1 to %d letters, digits, '_' or '-'", rn,
		     BB_ROLE_NAME_MAX);
		return;
	}
	for (size_t i = 0; i < ps->p->n_roles; i++) {
		if (strcmp(ps->p->roles[i].name, rn) == 0) {
			perr(ps, "role '%s' is already defined at %s:%d; define each role once", rn,
			     ps->p->roles[i].file, ps->p->roles[i].line);
			return;
		}
	}
	if (ps->extra_cap < ps->p->n_roles + 1) {
		struct role_extra *nx = realloc(ps->extra, (ps->p->n_roles + 1) * sizeof(*nx));

		if (!nx)
			return;
		ps->extra = nx;
		ps->extra_cap = ps->p->n_roles + 1;
	}
	r = grow(&ps->p->roles, &ps->p->n_roles, sizeof(*r));
	if (!r)
		return;
	x = &ps->extra[ps->p->n_roles - 1];
	memset(x, 0, sizeof(*x));
	r->name = strdup(rn);
	r->file = ps->file;
	r->line = ps->line;
	r->limits = (struct bb_limits){ BB_UNLIMITED, BB_UNLIMITED, BB_UNLIMITED };
	ps->role_idx = ps->p->n_roles - 1;
	ps->sec = r->name ? SEC_ROLE : SEC_BAD;
}

/*
 * fgets-like reader for ini_parse_stream(). Counts lines and pre-checks each one; a line that is
 * refused is reported here and handed to inih as an empty comment.
 */
static char *policy_read_line(char *str, int num, void *stream)
{
	struct parser *ps = stream;
	ssize_t n = getline(&ps->buf, &ps->bufcap, ps->fp);
	char *s, *end;

	if (n < 0)
		return NULL;
	ps->line++;
	if (strlen(ps->buf) != (size_t)n) {
		perr(ps, "line contains a NUL byte; policy files are text");
		goto refuse;
	}
	if (n > POLICY_MAX_LINE || n >= num - 2) {
		perr(ps, "line is longer than %d characters; shorten it (split long lists over roles or drop-ins)",
		     POLICY_MAX_LINE);
		goto refuse;
	}
	s = ps->buf;
	if (ps->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (s == end || *s == ';' || *s == '#') {
		/* blank or comment */
	} else if (*s == '[') {
		char *close = memchr(s, ']', (size_t)(end - s));
		char name[POLICY_MAX_LINE + 1];
		char *a, *b;

		if (!close) {
			perr(ps, "section header has no closing ']'; write [client] or [role NAME]");
			ps->sec = SEC_BAD;
			goto refuse;
		}
		a = s + 1;
		b = close;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		memcpy(name, a, (size_t)(b - a));
		name[b - a] = '\0';
		begin_section(ps, name);
	} else if (!memchr(s, '=', (size_t)(end - s))) {
		perr(ps, "expected 'key = value' or a [section] header");
		goto refuse;
	} else if (*s == '=') {
		perr(ps, "a key name is missing before '='");
		goto refuse;
	}
	memcpy(str, ps->buf, (size_t)n + 1);
	return str;
refuse:
	strcpy(str, ";\n");
	return str;
}

static int parse_one_file(struct parser *ps, const char *path)
{
	char **slot;
	int r;

	slot = grow(&ps->p->files, &ps->p->n_files, sizeof(char *));
	if (!slot || !(*slot = strdup(path)))
		return -ENOMEM;
	ps->file = *slot;
	ps->fp = fopen(path, "re");
	if (!ps->fp) {
		r = -errno;
		add_msg(ps, false, path, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	ps->line = 0;
	ps->sec = SEC_NONE;
	memset(ps->client_key_line, 0, sizeof(ps->client_key_line));
	ini_allow_multiline = false; /* an indented line is its own key, not a continuation */
	r = ini_parse_stream(policy_read_line, ps, policy_handler, ps);
	end_section(ps);
	fclose(ps->fp);
	ps->fp = NULL;
	if (r > 0 && ps->n_errors == 0)
		add_msg(ps, false, path, r, "cannot parse this line");
	else if (r < 0)
		return -ENOMEM;
	return 0;
}

/* Merge "device" and "heaps" into entries and check references between roles. */
static void finish(struct parser *ps)
{
	struct bb_policy *p = ps->p;

	for (size_t i = 0; i < p->n_roles; i++) {
		struct bb_role *r = &p->roles[i];
		struct role_extra *x = &ps->extra[i];
		size_t n = x->n_heaps + (x->device ? 1 : 0);

		if (n == 0) {
			add_msg(ps, false, r->file, r->line,
				"role '%s' has no heaps; add 'heaps = NAME[, FALLBACK...]' or 'device = /dev/videoN'",
				r->name);
		} else {
			r->entries = calloc(n, sizeof(*r->entries));
			if (r->entries) {
				if (x->device)
					r->entries[r->n_entries++] = *x->device;
				else
					(void)0;
				for (size_t j = 0; j < x->n_heaps; j++)
					r->entries[r->n_entries++] = x->heaps[j];
				free(x->device);
				free(x->heaps);
				x->device = NULL;
				x->heaps = NULL;
				x->n_heaps = 0;
			}
		}
		if (!r->any_user && !r->n_users && !r->n_groups && !r->n_units)
			add_msg(ps, true, r->file, r->line,
				"role '%s' has no allow-users, allow-groups or allow-units; nobody may use it", r->name);
		for (size_t j = 0; j < r->n_share_with; j++)
			if (!bb_policy_find_role(p, r->share_with[j]))
				add_msg(ps, false, x->share_with_file, x->share_with_line,
					"share-with names role '%s', which is not defined; define [role %s] or remove it",
					r->share_with[j], r->share_with[j]);
		if (r->limits.max_buffer_size != BB_UNLIMITED && r->limits.max_bytes != BB_UNLIMITED &&
		    r->limits.max_buffer_size > r->limits.max_bytes)
			add_msg(ps, true, r->file, x->key_line[KEY_MAX_BUFFER_SIZE],
				"max-buffer-size is larger than max-bytes; buffers are limited by max-bytes");
	}
}

static int dropin_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

static int bytewise_sort(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int bb_policy_load(const char *main_path, const char *dropin_dir, struct bb_policy *out, char *err,
		   size_t errlen)
{
	struct bb_policy p = { .client = { BB_UNLIMITED, BB_UNLIMITED, BB_UNLIMITED } };
	struct parser ps = { .p = &p, .err = err, .errlen = errlen };
	int r = 0;

	if (err && errlen)
		err[0] = '\0';
	if (main_path)
		r = parse_one_file(&ps, main_path);
	if (r >= 0 && dropin_dir) {
		struct dirent **list = NULL;
		int n = scandir(dropin_dir, &list, dropin_filter, bytewise_sort);

		if (n < 0 && errno != ENOENT) {
			r = -errno;
			add_msg(&ps, false, dropin_dir, 0, "cannot read directory: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			char path[PATH_MAX];

			if (r >= 0 && snprintf(path, sizeof(path), "%s/%s", dropin_dir, list[i]->d_name) <
					      (int)sizeof(path))
				r = parse_one_file(&ps, path);
			free(list[i]);
		}
		free(list);
	}
	if (r >= 0)
		finish(&ps);
	for (size_t i = 0; i < ps.extra_cap && i < p.n_roles; i++) {
		bb_policy_free_entries(ps.extra[i].heaps, ps.extra[i].n_heaps);
		if (ps.extra[i].device) {
			free(ps.extra[i].device->value);
			free(ps.extra[i].device);
		}
	}
	free(ps.extra);
	free(ps.buf);
	if (r >= 0 && ps.n_errors)
		r = -EINVAL;
	if (r < 0) {
		bb_policy_free(&p);
		return r;
	}
	*out = p;
	return 0;
}

int bb_policy_load_file(const char *path, struct bb_policy *out, char *err, size_t errlen)
{
	return bb_policy_load(path, NULL, out, err, errlen);
}

/* ---- value syntax, freeing and queries ---- */

bool bb_role_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > BB_ROLE_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

bool bb_policy_heap_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > BB_POLICY_HEAP_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(",._@+-", *s))
			return false;
	return true;
}

static bool bb_policy_path_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n < 2 || n > max || s[0] != '/' || strstr(s, "//") || strstr(s, "/../") ||
	    strstr(s, "/./"))
		return false;
	if (n >= 3 && strcmp(s + n - 3, "/..") == 0)
		return false;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s))
			return false;
	return true;
}

int bb_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	switch (toupper((unsigned char)*p)) {
	case '\0':
		break;
	case 'K':
		mult = 1ULL << 10;
		break;
	case 'M':
		mult = 1ULL << 20;
		break;
	case 'G':
		mult = 1ULL << 30;
		break;
	case 'T':
		mult = 1ULL << 40;
		break;
	default:
		return -EINVAL;
	}
	if (*p) {
		p++;
		if (strcmp(p, "iB") == 0 || strcmp(p, "B") == 0)
			p += strlen(p);
		if (*p)
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

static int bb_policy_parse_count(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		if (v > (UINT32_MAX - (unsigned int)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned int)(*p - '0');
	}
	if (v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static void bb_policy_free_entries(struct bb_heap_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].value);
	free(e);
}

static void free_principals(struct bb_principal *pr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(pr[i].name);
	free(pr);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void bb_policy_free(struct bb_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_roles; i++) {
		struct bb_role *r = &p->roles[i];

		free(r->name);
		bb_policy_free_entries(r->entries, r->n_entries);
		free_principals(r->users, r->n_users);
		free_principals(r->groups, r->n_groups);
		free_strv(r->units, r->n_units);
		free_strv(r->share_with, r->n_share_with);
	}
	free(p->roles);
	free_strv(p->files, p->n_files);
	free(p->warnings);
	memset(p, 0, sizeof(*p));
}

const struct bb_role *bb_policy_find_role(const struct bb_policy *p, const char *name)
{
	for (size_t i = 0; p && i < p->n_roles; i++)
		if (strcmp(p->roles[i].name, name) == 0)
			return &p->roles[i];
	return NULL;
}

static bool principal_match(const struct bb_principal *pr, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (pr[i].resolved && pr[i].id == id)
			return true;
	return false;
}

bool bb_role_allows(const struct bb_role *r, uid_t uid, gid_t gid, const gid_t *groups,
		    size_t n_groups, const char *unit)
{
	if (r->any_user || principal_match(r->users, r->n_users, uid))
		return true;
	if (principal_match(r->groups, r->n_groups, gid))
		return true;
	for (size_t i = 0; i < n_groups; i++)
		if (principal_match(r->groups, r->n_groups, groups[i]))
			return true;
	for (size_t i = 0; unit && i < r->n_units; i++)
		if (strcmp(r->units[i], unit) == 0)
			return true;
	return false;
}

bool bb_role_may_share_with(const struct bb_role *r, const char *target)
{
	for (size_t i = 0; i < r->n_share_with; i++)
		if (strcmp(r->share_with[i], target) == 0)
			return true;
	return false;
}
