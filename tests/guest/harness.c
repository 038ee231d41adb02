// SPDX-License-Identifier: MIT
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "?";
static unsigned int n_failed;
static unsigned int timeout_s = 300;
static const char *volatile current_case;

static void emit(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(STDOUT_FILENO, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void emitf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emitf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	/* Keep one line: newlines inside a reason would break the protocol. */
	for (int i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	buf[n++] = '\n';
	emit(buf, (size_t)n);
}

static void on_alarm(int sig)
{
	(void)sig;
	/* Async-signal-safe enough: emitf uses vsnprintf + write only. */
	emitf("not ok - %s: %s: timeout after %u s", prog,
	      current_case ? current_case : "?", timeout_s);
	_exit(1);
}

void h_init(const char *p)
{
	const char *slash = strrchr(p, '/');
	prog = slash ? slash + 1 : p;
	/* stdio is not used for results, but flush anything else before forks. */
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGALRM, on_alarm);
}

const char *h_prog(void)
{
	return prog;
}

void h_set_timeout(unsigned int s)
{
	timeout_s = s;
}

void h_note(const char *fmt, ...)
{
	char buf[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emitf("# %s", buf);
}

void h_fail_(struct h_case *c, const char *file, int line, const char *fmt, ...)
{
	if (c->failed)
		return; /* first reason wins */
	c->failed = true;
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	int n = snprintf(c->reason, sizeof(c->reason), "%s:%d: ", base, line);
	if (n < 0 || (size_t)n >= sizeof(c->reason))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->reason + n, sizeof(c->reason) - (size_t)n, fmt, ap);
	va_end(ap);
}

void h_skip(struct h_case *c, const char *fmt, ...)
{
	c->skipped = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

bool h_run(const char *name, h_case_fn fn, void *arg)
{
	struct h_case c = { .name = name };
	current_case = name;
	alarm(timeout_s);
	fn(&c, arg);
	alarm(0);
	current_case = NULL;
	if (c.failed) {
		n_failed++;
		emitf("not ok - %s: %s: %s", prog, name, c.reason);
		return false;
	}
	if (c.skipped) {
		emitf("# SKIP %s: %s: %s", prog, name, c.reason);
		return true;
	}
	emitf("ok - %s: %s", prog, name);
	return true;
}

unsigned int h_failed_count(void)
{
	return n_failed;
}

int h_exit_status(void)
{
	return n_failed ? 1 : 0;
}
