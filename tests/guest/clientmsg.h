/* SPDX-License-Identifier: MIT */
/*
 * Messages between a guest test and the client processes it forks under other uids:
 * one text line per datagram, optionally carrying one fd (SCM_RIGHTS).
 */
#ifndef BB_GUEST_CLIENTMSG_H
#define BB_GUEST_CLIENTMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Send printf-formatted text and, if @fd >= 0, a copy of @fd. 0 or -errno. */
int msg_send(int s, int fd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Receive one message into @text (NUL-terminated). *@fd gets the passed fd (the caller owns it,
 * close-on-exec) or -1; with @fd NULL a passed fd is closed. 0, -ETIMEDOUT, -EPIPE or -errno.
 */
int msg_recv(int s, char *text, size_t len, int *fd, int timeout_ms);
/* Become @user (its groups, gid, uid) for good. 0 or -errno (-ENOENT: no such user). */
int drop_to(const char *user);
/*
 * Stop a forked client: ask it to exit (message "EXIT" on @sock), wait up to 5 s, then SIGKILL
 * and reap it. Closes @sock; sets *@pid and *@sock to -1.
 */
void child_stop(pid_t *pid, int *sock);
/* The uid of @user, or (uint32_t)-1. */
uint32_t uid_of(const char *user);

#endif
