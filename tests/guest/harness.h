/* SPDX-License-Identifier: MIT */
/*
 * Tiny test harness for the in-guest test programs.
 *
 * Output protocol (parsed by the rig from the serial console):
 *   ok - <program>: <case>
 *   not ok - <program>: <case>: <reason>
 *   # <figure or note>
 * A case that cannot run prints "# SKIP <program>: <case>: <reason>" and no ok/not ok line.
 * Every line is emitted with a single write(2) so kernel messages do not split it.
 */
#ifndef BB_HARNESS_H
#define BB_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct h_case {
	const char *name;
	bool failed;
	bool skipped;
	char reason[384];
};

typedef void (*h_case_fn)(struct h_case *c, void *arg);

void h_init(const char *prog);
const char *h_prog(void);
/* Run one case; prints exactly one result line. Returns true if it passed (or skipped). */
bool h_run(const char *name, h_case_fn fn, void *arg);
/* Per-case watchdog in seconds (0: none). A case that overruns prints not ok and exits 1. */
void h_set_timeout(unsigned int seconds);
/* Exit status for main(): 0 if every case passed, 1 otherwise. */
int h_exit_status(void);
unsigned int h_failed_count(void);

void h_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void h_fail_(struct h_case *c, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void h_skip(struct h_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define H_FAIL(c, ...) h_fail_((c), __FILE__, __LINE__, __VA_ARGS__)

/* CHECK: on failure record the reason and jump to the case's "out:" cleanup label. */
#define CHECK(c, cond, ...)                                                            \
	do {                                                                           \
		if (!(cond)) {                                                         \
			H_FAIL((c), __VA_ARGS__);                                      \
			goto out;                                                      \
		}                                                                      \
	} while (0)

/* EXPECT: on failure record the reason (first one wins) and carry on. */
#define EXPECT(c, cond, ...)                                                           \
	do {                                                                           \
		if (!(cond))                                                           \
			H_FAIL((c), __VA_ARGS__);                                      \
	} while (0)

/* The expression must succeed (>= 0); reason carries errno. */
#define CHECK_SYS(c, expr)                                                             \
	do {                                                                           \
		if ((expr) < 0) {                                                      \
			H_FAIL((c), "%s: %s", #expr, strerror(errno));                 \
			goto out;                                                      \
		}                                                                      \
	} while (0)

/* The expression must fail (-1) with errno == e. */
#define CHECK_ERRNO(c, expr, e)                                                        \
	do {                                                                           \
		errno = 0;                                                             \
		long h_r_ = (long)(expr);                                              \
		int h_e_ = errno;                                                      \
		if (h_r_ != -1 || h_e_ != (e)) {                                       \
			H_FAIL((c), "%s: want -1/%s, got %ld/%s", #expr, strerrorname_np(e), \
			       h_r_, h_e_ ? strerrorname_np(h_e_) : "0");              \
			goto out;                                                      \
		}                                                                      \
	} while (0)

#endif
