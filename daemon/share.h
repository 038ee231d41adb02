/* SPDX-License-Identifier: MIT */
/*
 * share.h - share tokens: 128 random bits from getrandom(), as 32 hex digits, scoped to a target
 * (a role, a uid, or one bus peer), single use, expiring after BB_TOKEN_LIFETIME_USEC.
 * No D-Bus in here.
 */
#ifndef BB_SHARE_H
#define BB_SHARE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

#define BB_TOKEN_BYTES 16
#define BB_TOKEN_HEX (2 * BB_TOKEN_BYTES)
#define BB_TOKEN_LIFETIME_USEC (60ULL * 1000000ULL)
#define BB_TOKENS_PER_CLIENT 64

enum bb_share_scope {
	BB_SCOPE_ROLE, /* "role:NAME": any client allowed to use role NAME */
	BB_SCOPE_UID,  /* "uid:N": any client running as uid N */
	BB_SCOPE_PEER, /* ":1.42": that bus connection only */
};

struct bb_share_target {
	enum bb_share_scope scope;
	char role[BB_ROLE_NAME_MAX + 1];
	uint32_t uid;
	char peer[256];
};

struct bb_client;

struct bb_token {
	char hex[BB_TOKEN_HEX + 1];
	uint64_t buffer_id;
	const struct bb_client *issuer; /* borrowed, for cleanup and per-client limits */
	struct bb_share_target target;
	uint64_t expires; /* CLOCK_MONOTONIC, usec */
	struct bb_token *next;
};

struct bb_tokens {
	struct bb_token *head;
};

/* Parse "role:NAME", "uid:N" or a unique bus name ":1.42". 0 or -EINVAL. */
int bb_share_parse_target(const char *s, struct bb_share_target *out);

/* A new token, inserted into @t. -EDQUOT when @issuer has BB_TOKENS_PER_CLIENT live tokens. */
int bb_tokens_issue(struct bb_tokens *t, const struct bb_client *issuer, uint64_t buffer_id,
		    const struct bb_share_target *target, uint64_t now, struct bb_token **out);

/*
 * Look a token up by its text (constant-time comparison). Expired tokens are purged first.
 * Return: borrowed token or NULL. The caller removes it with bb_tokens_remove() once used.
 */
struct bb_token *bb_tokens_find(struct bb_tokens *t, const char *hex, uint64_t now);

/* True when @hex has the token syntax (BB_TOKEN_HEX lowercase hex digits). */
bool bb_token_syntax_valid(const char *hex);

void bb_tokens_remove(struct bb_tokens *t, struct bb_token *tok);
/* Remove tokens issued by @issuer, or for @buffer_id when @issuer is NULL. */
void bb_tokens_remove_matching(struct bb_tokens *t, const struct bb_client *issuer, uint64_t buffer_id);
void bb_tokens_purge_expired(struct bb_tokens *t, uint64_t now);
void bb_tokens_clear(struct bb_tokens *t);

#endif
