/* SPDX-License-Identifier: MIT */
/* Levelled logging to stderr with <N> syslog prefixes, so journald keeps the level. */
#ifndef BB_LOG_H
#define BB_LOG_H

#include <syslog.h>

/* Messages above this level (LOG_ERR..LOG_DEBUG) are dropped. Default LOG_INFO. */
extern int bb_log_max_level;

/* Parse "err", "warning", "notice", "info", "debug" or a digit 0-7. Returns level or -EINVAL. */
int bb_log_parse_level(const char *s);

/* One line; control characters in the formatted text become '?'. */
void bb_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log each line of a multi-line @text (e.g. policy errors) as its own record. */
void bb_log_lines(int level, const char *text);

/* Like bb_log(LOG_INFO, ...) for denials, but at most 20 lines per 5 s; the rest are counted and
 * reported with the next line that gets through. Clients trigger these, so they are rate-limited. */
void bb_log_denied(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_err(...) bb_log(LOG_ERR, __VA_ARGS__)
#define log_warn(...) bb_log(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) bb_log(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) bb_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) bb_log(LOG_DEBUG, __VA_ARGS__)

#endif
