/* SPDX-License-Identifier: MIT */
/* internal.h - private structures of libbufbroker. */
#ifndef BB_LIBCLIENT_INTERNAL_H
#define BB_LIBCLIENT_INTERNAL_H

#include <stdint.h>
#include <systemd/sd-bus.h>

#include <bufbroker/bufbroker.h>

#define BB_BUS_NAME "org.bufbroker.Broker1"
#define BB_OBJECT_PATH "/org/bufbroker/Broker1"
#define BB_INTERFACE "org.bufbroker.Broker1"

struct bb_client {
	sd_bus *bus;
	uint64_t timeout_usec;
	char *err_name; /* NULL when the last call succeeded */
	char *err_msg;
};

struct bb_buffer {
	int fd;          /* owned */
	uint64_t id;     /* 0 for direct-mode buffers */
	uint64_t size;
	void *map;       /* NULL when not mapped */
	unsigned int map_flags;
};

/* client.c */
void client_clear_error(struct bb_client *c);
/* Record a local error and return it (negative). */
int client_set_errno(struct bb_client *c, int err, const char *msg);
/* Record a D-Bus error; return the mapped -errno (fallback: @r). */
int client_set_bus_error(struct bb_client *c, const sd_bus_error *e, int r);

/* buffer.c */
/* Take ownership of @fd (must be CLOEXEC) and wrap it; closes @fd on error. */
int buffer_new_take_fd(int fd, uint64_t id, uint64_t size, struct bb_buffer **out);

#endif
