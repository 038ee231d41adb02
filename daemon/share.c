// SPDX-License-Identifier: MIT
/*
 * share.c - share tokens (see share.h).
 */
#include "share.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int bb_share_parse_target(const char *s, struct bb_share_target *out)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(s, "role:", 5) == 0) {
		if (!bb_role_name_valid(s + 5))
			return -EINVAL;
		out->scope = BB_SCOPE_ROLE;
		strcpy(out->role, s + 5);
		return 0;
	}
	if (strncmp(s, "uid:", 4) == 0) {
		uint64_t v = 0;
		const char *p = s + 4;

		if (!*p || strlen(p) > 10)
			return -EINVAL;
		for (; *p; p++) {
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			v = v * 10 + (uint64_t)(*p - '0');
		}
		if (v >= UINT32_MAX)
			return -EINVAL;
		out->scope = BB_SCOPE_UID;
		out->uid = (uint32_t)v;
		return 0;
	}
	if (s[0] == ':' && strlen(s) < sizeof(out->peer) && strlen(s) > 1) {
		for (const char *p = s + 1; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
				return -EINVAL;
		out->scope = BB_SCOPE_PEER;
		strcpy(out->peer, s);
		return 0;
	}
	return -EINVAL;
}

bool bb_token_syntax_valid(const char *hex)
{
	if (strlen(hex) != BB_TOKEN_HEX)
		return false;
	for (; *hex; hex++)
		if (!isdigit((unsigned char)*hex) && !(*hex >= 'a' && *hex <= 'f'))
			return false;
	return true;
}

static int random_bytes(unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

int bb_tokens_issue(struct bb_tokens *t, const struct bb_client *issuer, uint64_t buffer_id,
		    const struct bb_share_target *target, uint64_t now, struct bb_token **out)
{
	unsigned char raw[BB_TOKEN_BYTES];
	struct bb_token *tok;
	unsigned int n = 0;
	int r;

	bb_tokens_purge_expired(t, now);
	for (tok = t->head; tok; tok = tok->next)
		if (tok->issuer == issuer)
			n++;
	if (n >= BB_TOKENS_PER_CLIENT)
		return -EDQUOT;
	r = random_bytes(raw, sizeof(raw));
	if (r < 0)
		return r;
	tok = calloc(1, sizeof(*tok));
	if (!tok)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(tok->hex + 2 * i, 3, "%02x", raw[i]);
	tok->buffer_id = buffer_id;
	tok->issuer = issuer;
	tok->target = *target;
	tok->expires = now + BB_TOKEN_LIFETIME_USEC;
	tok->next = t->head;
	t->head = tok;
	*out = tok;
	return 0;
}

static bool const_time_eq(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

struct bb_token *bb_tokens_find(struct bb_tokens *t, const char *hex, uint64_t now)
{
	struct bb_token *found = NULL;

	bb_tokens_purge_expired(t, now);
	if (!bb_token_syntax_valid(hex))
		return NULL;
	for (struct bb_token *tok = t->head; tok; tok = tok->next)
		if (const_time_eq(tok->hex, hex, BB_TOKEN_HEX) && !found)
			found = tok;
	return found;
}

void bb_tokens_remove(struct bb_tokens *t, struct bb_token *tok)
{
	for (struct bb_token **pp = &t->head; *pp; pp = &(*pp)->next) {
		if (*pp == tok) {
			*pp = tok->next;
			explicit_bzero(tok->hex, sizeof(tok->hex));
			free(tok);
			return;
		}
	}
}

static void remove_if(struct bb_tokens *t, bool (*pred)(const struct bb_token *, const void *, uint64_t),
		      const void *a, uint64_t b)
{
	for (struct bb_token **pp = &t->head; *pp;) {
		struct bb_token *tok = *pp;

		if (!pred(tok, a, b)) {
			pp = &tok->next;
			continue;
		}
		*pp = tok->next;
		explicit_bzero(tok->hex, sizeof(tok->hex));
		free(tok);
	}
}

static bool match_issuer_or_buffer(const struct bb_token *tok, const void *issuer, uint64_t id)
{
	return issuer ? tok->issuer == issuer : tok->buffer_id == id;
}

static bool match_expired(const struct bb_token *tok, const void *unused, uint64_t now)
{
	(void)unused;
	return tok->expires <= now;
}

static bool match_all(const struct bb_token *tok, const void *unused, uint64_t unused2)
{
	(void)tok;
	(void)unused;
	(void)unused2;
	return true;
}

void bb_tokens_remove_matching(struct bb_tokens *t, const struct bb_client *issuer, uint64_t buffer_id)
{
	remove_if(t, match_issuer_or_buffer, issuer, buffer_id);
}

void bb_tokens_purge_expired(struct bb_tokens *t, uint64_t now)
{
	remove_if(t, match_expired, NULL, now);
}

void bb_tokens_clear(struct bb_tokens *t)
{
	remove_if(t, match_all, NULL, 0);
}
