// SPDX-License-Identifier: MIT
#include "ftrace.h"

#include "bbutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define TRACEFS "/sys/kernel/tracing"

static int trace_set(const char *file, const char *val)
{
	char path[128];
	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	return bb_write_file(path, val);
}

void bb_ftrace_reset(void)
{
	trace_set("tracing_on", "0");
	trace_set("current_tracer", "nop");
	trace_set("set_ftrace_filter", "");
	trace_set("set_ftrace_pid", "");
	trace_set("trace", "");
}

/* Trace @funcs called by process @pid, or by any task when @pid is 0. */
static int ftrace_start(const char *funcs, pid_t pid)
{
	char pid_str[16] = "";
	int e;

	if (access(TRACEFS "/trace", F_OK) != 0 && mount("nodev", TRACEFS, "tracefs", 0, NULL) != 0)
		return -errno;
	bb_ftrace_reset();
	e = trace_set("set_ftrace_filter", funcs);
	if (e < 0)
		return e;
	if (pid)
		snprintf(pid_str, sizeof(pid_str), "%d", (int)pid);
	if ((e = trace_set("set_ftrace_pid", pid_str)) < 0 ||
	    (e = trace_set("current_tracer", "function")) < 0 || (e = trace_set("tracing_on", "1")) < 0)
		bb_ftrace_reset();
	return e;
}

int bb_ftrace_start(const char *funcs)
{
	return ftrace_start(funcs, getpid());
}

int bb_ftrace_start_all(const char *funcs)
{
	return ftrace_start(funcs, 0);
}

int bb_ftrace_stop_count(const char *needle, char *first, size_t first_len)
{
	char line[512];
	int n = 0;

	trace_set("tracing_on", "0");
	FILE *f = fopen(TRACEFS "/trace", "re");
	if (!f) {
		n = -errno;
		bb_ftrace_reset();
		return n;
	}
	if (first && first_len)
		first[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !strstr(line, needle))
			continue;
		if (!n++ && first && first_len)
			snprintf(first, first_len, "%.*s", (int)strcspn(line, "\n"), line);
	}
	fclose(f);
	bb_ftrace_reset();
	return n;
}
