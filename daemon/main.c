// SPDX-License-Identifier: MIT
/*
 * main.c - bufbrokerd: command line, setup, teardown.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "broker.h"
#include "clients.h"
#include "dbus.h"
#include "heap_names.h"
#include "heap_stats.h"
#include "log.h"
#include "loop.h"
#include "reserve.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bufbrokerd [OPTIONS]\n"
		"Hand out dma-buf heap buffers over D-Bus according to a policy.\n\n"
		"  --policy PATH       policy file (default " BB_POLICY_DEFAULT_FILE " and " BB_POLICY_DEFAULT_DIR "/*.conf;\n"
		"                      with --policy, PATH.d/*.conf is read if it exists)\n"
		"  --bus system|session  bus to serve on (default system); BUFBROKER_BUS_ADDRESS overrides\n"
		"  --heap-dir DIR      dma-buf heaps (default " BB_HEAP_DIR_DEFAULT ")\n"
		"  --stats-dir DIR     module statistics (default " BB_STATS_DIR_DEFAULT ")\n"
		"  --dt-base DIR       live device tree (default /sys/firmware/devicetree/base)\n"
		"  --v4l2-class DIR    V4L2 class directory (default /sys/class/video4linux)\n"
		"  --check-policy      load the policy, print errors and warnings, exit\n"
		"  -v, --verbose       log requests (same as --log-level debug)\n"
		"  --log-level LEVEL   err, warning, notice, info (default) or debug\n"
		"  -h, --help          this text\n");
}

static int open_bus(const char *which, sd_bus **out)
{
	const char *addr = getenv("BUFBROKER_BUS_ADDRESS");
	sd_bus *bus = NULL;
	int r;

	if (addr && *addr) {
		r = sd_bus_new(&bus);
		if (r >= 0)
			r = sd_bus_set_address(bus, addr);
		if (r >= 0)
			r = sd_bus_set_bus_client(bus, 1);
		if (r >= 0)
			r = sd_bus_start(bus);
		if (r < 0) {
			sd_bus_unref(bus);
			return r;
		}
	} else if (strcmp(which, "system") == 0) {
		r = sd_bus_open_system(&bus);
	} else if (strcmp(which, "session") == 0) {
		r = sd_bus_open_user(&bus);
	} else {
		return -EINVAL;
	}
	if (r < 0)
		return r;
	*out = bus;
	return 0;
}

/*
 * The daemon keeps one fd per live buffer (buffers.h). The soft RLIMIT_NOFILE is 1024 (systemd's
 * default for services, and the kernel's), which capped the whole board at about 1,010 live
 * buffers: the next Allocate failed with EMFILE. Raise the soft limit to the hard one
 * (systemd: 524288); the daemon uses epoll/poll, never select(), so high fds are fine.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the fd limit: %s", strerror(errno));
	}
}

int main(int argc, char **argv)
{
	enum { OPT_POLICY = 1000, OPT_BUS, OPT_HEAP_DIR, OPT_STATS_DIR, OPT_DT_BASE, OPT_V4L2, OPT_LEVEL, OPT_CHECK };
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "heap-dir", required_argument, NULL, OPT_HEAP_DIR },
		{ "stats-dir", required_argument, NULL, OPT_STATS_DIR },
		{ "dt-base", required_argument, NULL, OPT_DT_BASE },
		{ "v4l2-class", required_argument, NULL, OPT_V4L2 },
		{ "log-level", required_argument, NULL, OPT_LEVEL },
		{ "check-policy", no_argument, NULL, OPT_CHECK },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct bb_broker b = {
		.policy_file = BB_POLICY_DEFAULT_FILE,
		.policy_dir = BB_POLICY_DEFAULT_DIR,
		.paths = {
			.heap_dir = BB_HEAP_DIR_DEFAULT,
			.stats_dir = BB_STATS_DIR_DEFAULT,
			.dt_base = "/sys/firmware/devicetree/base",
			.v4l2_class = "/sys/class/video4linux",
		},
	};
	const char *bus_kind = "system";
	char *dropin = NULL;
	bool check_only = false;
	int c, r, lvl;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_POLICY:
			b.policy_file = optarg;
			free(dropin);
			if (asprintf(&dropin, "%s.d", optarg) < 0)
				return 1;
			b.policy_dir = dropin;
			break;
		case OPT_BUS:
			bus_kind = optarg;
			break;
		case OPT_HEAP_DIR:
			b.paths.heap_dir = optarg;
			break;
		case OPT_STATS_DIR:
			b.paths.stats_dir = optarg;
			break;
		case OPT_DT_BASE:
			b.paths.dt_base = optarg;
			break;
		case OPT_V4L2:
			b.paths.v4l2_class = optarg;
			break;
		case OPT_LEVEL:
			lvl = bb_log_parse_level(optarg);
			if (lvl < 0) {
				fprintf(stderr, "bufbrokerd: log level '%s' is not one of err, warning, notice, info, debug\n", optarg);
				return 2;
			}
			bb_log_max_level = lvl;
			break;
		case OPT_CHECK:
			check_only = true;
			break;
		case 'v':
			bb_log_max_level = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bufbrokerd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (strcmp(bus_kind, "system") && strcmp(bus_kind, "session")) {
		fprintf(stderr, "bufbrokerd: --bus takes system or session; for another bus set BUFBROKER_BUS_ADDRESS\n");
		return 2;
	}

	r = bb_broker_reload(&b);
	if (r < 0 || check_only) {
		bb_policy_free(&b.policy);
		free(dropin);
		return r < 0 ? 1 : 0;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	bb_buffers_init(&b.buffers);
	b.base = event_base_new();
	if (!b.base) {
		log_err("cannot create the event loop");
		r = -ENOMEM;
		goto out;
	}
	r = open_bus(bus_kind, &b.bus);
	if (r < 0) {
		log_err("cannot connect to the %s bus: %s", getenv("BUFBROKER_BUS_ADDRESS") ? "BUFBROKER_BUS_ADDRESS" : bus_kind,
			strerror(-r));
		goto out;
	}
	r = bb_dbus_register(&b);
	if (r < 0) {
		log_err("cannot register %s: %s", BB_OBJECT_PATH, strerror(-r));
		goto out;
	}
	r = bb_heaps_init(&b.heaps, b.paths.heap_dir, bb_dbus_heap_changed, &b);
	if (r < 0)
		log_warn("cannot watch %s: %s; heap signals are disabled", b.paths.heap_dir, strerror(-r));
	else
		bb_heaps_rescan(&b.heaps);
	bb_reserves_sync(&b);
	r = sd_bus_request_name(b.bus, BB_BUS_NAME, 0);
	if (r < 0) {
		log_err("cannot own %s: %s; is another bufbrokerd running, or does the bus policy not allow this user?",
			BB_BUS_NAME, strerror(-r));
		goto out;
	}
	log_info("serving %s; %zu heaps present in %s", BB_BUS_NAME, b.heaps.n, b.paths.heap_dir);
	r = bb_loop_run(&b);
	if (r == 0)
		log_info("clean exit");
out:
	bb_clients_drop_all(&b);
	bb_tokens_clear(&b.tokens);
	bb_buffers_clear(&b.buffers);
	bb_reserves_free(&b);
	bb_heaps_fini(&b.heaps);
	sd_bus_slot_unref(b.vtable_slot);
	if (b.bus)
		sd_bus_flush_close_unref(b.bus);
	if (b.base)
		event_base_free(b.base);
	bb_policy_free(&b.policy);
	free(dropin);
	return r < 0 ? 1 : 0;
}
