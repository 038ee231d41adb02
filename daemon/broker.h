/* SPDX-License-Identifier: MIT */
/* broker.h - the daemon's state, shared by the D-Bus handlers, the loop and main. */
#ifndef BB_BROKER_H
#define BB_BROKER_H

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "buffers.h"
#include "heaps.h"
#include "policy.h"
#include "roles.h"
#include "share.h"

#define BB_BUS_NAME "org.bufbroker.Broker1"
#define BB_OBJECT_PATH "/org/bufbroker/Broker1"
#define BB_INTERFACE "org.bufbroker.Broker1"
#define BB_API_VERSION 1u

struct event_base;
struct event;
struct bb_client;
struct bb_session;
struct bb_reserve;

struct bb_broker {
	struct event_base *base;
	sd_bus *bus;
	struct bb_session *sessions; /* session.c */
	unsigned int n_sessions;
	struct bb_policy policy;
	const char *policy_file; /* NULL: none */
	const char *policy_dir;  /* NULL: none */
	struct bb_sysfs_paths paths;
	struct bb_buffers buffers;
	struct bb_tokens tokens;
	struct bb_client *clients;
	struct bb_heaps heaps;
	sd_bus_slot *vtable_slot;
	struct bb_reserve *reserves; /* reserve.c: per-role pre-allocated buffers */
	struct event *reserve_timer; /* reserve.c: renews released reserved buffers */
};

/* Reload the policy from the same files; keeps the old one on error. 0 or -errno. */
int bb_broker_reload(struct bb_broker *b);

#endif
