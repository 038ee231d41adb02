// SPDX-License-Identifier: MIT
/*
 * log.c - levelled logging to stderr.
 *
 * Each line starts with "<N>" (sd-daemon(3) prefix) so that journald records the syslog level
 * when stderr is connected to the journal, as it is under systemd.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int bb_log_max_level = LOG_INFO;

int bb_log_parse_level(const char *s)
{
	static const char *const names[] = { "emerg", "alert", "crit", "err",
					     "warning", "notice", "info", "debug" };

	if (!s || !*s)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	for (int i = 0; i < 8; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	if (strcasecmp(s, "warn") == 0)
		return LOG_WARNING;
	return -EINVAL;
}

void bb_log(int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int saved_errno = errno;

	if (level > bb_log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One record per call: control characters (from client strings too) cannot forge lines. */
	for (char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	fprintf(stderr, "<%d>%s\n", level, line);
	errno = saved_errno;
}

void bb_log_lines(int level, const char *text)
{
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		int len = nl ? (int)(nl - text) : (int)strlen(text);

		if (len > 0)
			bb_log(level, "%.*s", len, text);
		text += len + (nl ? 1 : 0);
	}
}

void bb_log_denied(const char *fmt, ...)
{
	static time_t window;
	static unsigned int in_window, suppressed;
	struct timespec ts;
	char line[900];
	va_list ap;

	if (LOG_INFO > bb_log_max_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec - window >= 5) {
		window = ts.tv_sec;
		in_window = 0;
	}
	if (++in_window > 20) {
		suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (suppressed) {
		bb_log(LOG_INFO, "%s (and %u more denials not logged)", line, suppressed);
		suppressed = 0;
	} else {
		bb_log(LOG_INFO, "%s", line);
	}
}
