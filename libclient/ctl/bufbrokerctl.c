// SPDX-License-Identifier: MIT
/*
 * bufbrokerctl - command-line client of bufbrokerd, built on libbufbroker.
 * Run "bufbrokerctl --help" for commands and exit codes (also libclient/README.md).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bufbroker/bufbroker.h>

#ifdef BB_HAVE_POLICY
#include "policy.h"
#endif

enum exit_code {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,     /* the operation failed */
	EXIT_USAGE = 2,       /* bad command line */
	EXIT_UNREACHABLE = 3, /* no bus, bufbrokerd not running or not answering */
	EXIT_POLICY = 4,      /* policy check: the file is invalid */
	EXIT_DENIED = 5,      /* refused: access denied or quota exceeded */
};

#define EXIT_CODES_HELP                                                                   \
	"Exit status:\n"                                                                  \
	"  0  success\n"                                                                  \
	"  1  runtime error (the daemon or the kernel refused the request)\n"             \
	"  2  usage error (bad command line)\n"                                          \
	"  3  bufbrokerd unreachable (no bus, not running, no answer in time)\n"         \
	"  4  policy check: the policy file is invalid (errors as FILE:LINE: message)\n" \
	"  5  access denied or quota exceeded\n"

static bool opt_json;
static const char *prog = "bufbrokerctl";

/* ---- helpers ------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static const char *human_size(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;
	double d = (double)v;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", v);
	else
		snprintf(buf, len, "%.1f %s", d, units[u]);
	return buf;
}

/* "4096", "64K", "16M", "1G", "2T", optional "B"/"iB"; binary units. */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	uint64_t mul = 1;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (*end) {
	case 'k': case 'K': mul = 1ULL << 10; end++; break;
	case 'm': case 'M': mul = 1ULL << 20; end++; break;
	case 'g': case 'G': mul = 1ULL << 30; end++; break;
	case 't': case 'T': mul = 1ULL << 40; end++; break;
	default: break;
	}
	if (mul > 1 && *end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v == 0)
		return -EINVAL;
	if (__builtin_mul_overflow((uint64_t)v, mul, out))
		return -ERANGE;
	return 0;
}

/* "NV12:1280x720" */
static int parse_image(const char *s, uint32_t *fourcc, uint32_t *w, uint32_t *h)
{
	char name[32], *end;
	const char *colon = strchr(s, ':');
	unsigned long v;

	if (!colon || (size_t)(colon - s) >= sizeof(name))
		return -EINVAL;
	memcpy(name, s, (size_t)(colon - s));
	name[colon - s] = '\0';
	if (bb_fourcc_from_name(name, fourcc) < 0)
		return -EOPNOTSUPP;
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || (*end != 'x' && *end != 'X') || v > UINT32_MAX)
		return -EINVAL;
	*w = (uint32_t)v;
	s = end + 1;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT32_MAX)
		return -EINVAL;
	*h = (uint32_t)v;
	return 0;
}

static bool is_unreachable(int r)
{
	switch (-r) {
	case EHOSTUNREACH: case ENXIO: case ETIMEDOUT: case ECONNREFUSED: case ECONNRESET:
	case ENOTCONN: case EPIPE:
		return true;
	default:
		return false;
	}
}

/* Print the error of a failed call and return the exit code for it. */
static int fail(struct bb_client *c, const char *what, int r)
{
	const char *msg = c ? bb_client_last_error_message(c) : "";

	if (msg && msg[0])
		fprintf(stderr, "%s: %s: %s (%s)\n", prog, what, msg, strerror(-r));
	else
		fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(-r));
	if (is_unreachable(r))
		return EXIT_UNREACHABLE;
	if (r == -EACCES || r == -EDQUOT || r == -EPERM)
		return EXIT_DENIED;
	return EXIT_RUNTIME;
}

static int connect_or_fail(struct bb_client **c)
{
	int r = bb_client_connect(c, 0);

	if (r < 0) {
		fprintf(stderr, "%s: cannot connect to the bus: %s\n", prog, strerror(-r));
		return EXIT_UNREACHABLE;
	}
	return EXIT_OK;
}

/* Common option parsing of subcommands: --help, --json plus @extra. */
static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}

/* ---- heaps --------------------------------------------------------------- */

static void print_heaps(const struct bb_heap_info *h, size_t n)
{
	char b1[32], b2[32], b3[32];

	if (opt_json) {
		printf("[");
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, h[i].name);
			printf(",\"aliases\":[");
			for (size_t a = 0; h[i].aliases && h[i].aliases[a]; a++) {
				printf("%s", a ? "," : "");
				json_str(stdout, h[i].aliases[a]);
			}
			printf("],\"size\":%" PRIu64 ",\"used\":%" PRIu64 ",\"peak\":%" PRIu64
			       ",\"failures\":%" PRIu64 ",\"buffers\":%" PRIu64 "}",
			       h[i].size, h[i].bytes_used, h[i].peak, h[i].failures, h[i].buffers);
		}
		printf("]");
		return;
	}
	printf("%-24s %-24s %12s %12s %12s %8s %7s\n", "NAME", "ALIASES", "SIZE", "USED", "PEAK",
	       "FAILURES", "BUFFERS");
	for (size_t i = 0; i < n; i++) {
		char aliases[256] = "-";
		size_t off = 0;

		for (size_t a = 0; h[i].aliases && h[i].aliases[a]; a++) {
			int k = snprintf(aliases + off, sizeof(aliases) - off, "%s%s", a ? "," : "",
					 h[i].aliases[a]);
			if (k < 0 || (size_t)k >= sizeof(aliases) - off)
				break;
			off += (size_t)k;
		}
		printf("%-24s %-24s %12s %12s %12s %8" PRIu64 " %7" PRIu64 "\n", h[i].name, aliases,
		       human_size(h[i].size, b1, sizeof(b1)),
		       human_size(h[i].bytes_used, b2, sizeof(b2)),
		       human_size(h[i].peak, b3, sizeof(b3)), h[i].failures, h[i].buffers);
	}
}

static const char heaps_help[] =
	"Usage: bufbrokerctl heaps [--json]\n"
	"List the heaps bufbrokerd manages: name, aliases, region size, bytes used,\n"
	"peak bytes, failed allocations and live buffers (D-Bus Heaps).\n";

static int cmd_heaps(struct bb_client *c, int argc, char **argv)
{
	struct bb_heap_info *h;
	size_t n;
	int r;

	(void)argc;
	(void)argv;
	r = bb_client_list_heaps(c, &h, &n);
	if (r < 0)
		return fail(c, "heaps", r);
	print_heaps(h, n);
	if (opt_json)
		printf("\n");
	bb_heap_info_free(h, n);
	return EXIT_OK;
}

/* ---- usage --------------------------------------------------------------- */

struct role_sum {
	const char *role;
	uint64_t bytes, buffers;
	unsigned int clients;
};

static void print_usage_tables(const struct bb_usage_info *u, size_t n)
{
	struct role_sum *roles = calloc(n ? n : 1, sizeof(*roles));
	size_t n_roles = 0;
	char b[32];

	for (size_t i = 0; roles && i < n; i++) {
		size_t k;

		for (k = 0; k < n_roles; k++)
			if (!strcmp(roles[k].role, u[i].role))
				break;
		if (k == n_roles)
			roles[n_roles++].role = u[i].role;
		roles[k].bytes += u[i].bytes;
		roles[k].buffers += u[i].buffers;
		roles[k].clients++;
	}
	if (opt_json) {
		printf("{\"clients\":[");
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"client\":", i ? "," : "");
			json_str(stdout, u[i].client);
			printf(",\"uid\":%" PRIu32 ",\"unit\":", u[i].uid);
			json_str(stdout, u[i].unit);
			printf(",\"role\":");
			json_str(stdout, u[i].role);
			printf(",\"bytes\":%" PRIu64 ",\"buffers\":%" PRIu32 "}", u[i].bytes,
			       u[i].buffers);
		}
		printf("],\"roles\":[");
		for (size_t k = 0; roles && k < n_roles; k++) {
			printf("%s{\"role\":", k ? "," : "");
			json_str(stdout, roles[k].role);
			printf(",\"clients\":%u,\"bytes\":%" PRIu64 ",\"buffers\":%" PRIu64 "}",
			       roles[k].clients, roles[k].bytes, roles[k].buffers);
		}
		printf("]}");
		free(roles);
		return;
	}
	printf("%-12s %8s %-28s %-12s %12s %7s\n", "CLIENT", "UID", "UNIT", "ROLE", "BYTES",
	       "BUFFERS");
	for (size_t i = 0; i < n; i++)
		printf("%-12s %8" PRIu32 " %-28s %-12s %12s %7" PRIu32 "\n", u[i].client, u[i].uid,
		       u[i].unit[0] ? u[i].unit : "-", u[i].role,
		       human_size(u[i].bytes, b, sizeof(b)), u[i].buffers);
	printf("\n%-12s %7s %12s %7s\n", "ROLE", "CLIENTS", "BYTES", "BUFFERS");
	for (size_t k = 0; roles && k < n_roles; k++)
		printf("%-12s %7u %12s %7" PRIu64 "\n", roles[k].role, roles[k].clients,
		       human_size(roles[k].bytes, b, sizeof(b)), roles[k].buffers);
	free(roles);
}

static const char usage_help[] =
	"Usage: bufbrokerctl usage [--json]\n"
	"Show bytes and buffers charged per client (bus name, uid, unit, role) and the\n"
	"totals per role (D-Bus Usage).\n";

static int cmd_usage(struct bb_client *c, int argc, char **argv)
{
	struct bb_usage_info *u;
	size_t n;
	int r;

	(void)argc;
	(void)argv;
	r = bb_client_usage(c, &u, &n);
	if (r < 0)
		return fail(c, "usage", r);
	print_usage_tables(u, n);
	if (opt_json)
		printf("\n");
	bb_usage_info_free(u, n);
	return EXIT_OK;
}

/* ---- alloc --------------------------------------------------------------- */

static const char alloc_help[] =
	"Usage: bufbrokerctl alloc [OPTIONS] ROLE SIZE|FOURCC:WxH\n"
	"Allocate a test buffer through bufbrokerd, print what was returned\n"
	"(fd, size, id and for images the planes), then release it.\n"
	"  SIZE       bytes with an optional K, M, G or T suffix (binary): 4096, 64K, 16M\n"
	"  FOURCC:WxH an image: NV12:1280x720, YUYV:640x480, XRGB8888:1920x1080, P010:...\n"
	"Options:\n"
	"  --name NAME      buffer name (DMA_BUF_SET_NAME)\n"
	"  --hold SECONDS   keep the buffer this long before releasing it\n"
	"  --direct         ROLE is a heap name: allocate from /dev/dma_heap without the\n"
	"                   daemon (name, alias, default_cma_region, legacy names)\n"
	"  --json           JSON output\n";

static void print_alloc(const struct bb_buffer *buf, const struct bb_image_layout *l,
			const char *heap)
{
	if (opt_json) {
		printf("{\"fd\":%d,\"size\":%" PRIu64 ",\"id\":%" PRIu64, bb_buffer_get_fd(buf),
		       bb_buffer_get_size(buf), bb_buffer_get_id(buf));
		if (heap) {
			printf(",\"heap\":");
			json_str(stdout, heap);
		}
		if (l) {
			printf(",\"fourcc\":");
			json_str(stdout, bb_fourcc_name(l->fourcc));
			printf(",\"width\":%" PRIu32 ",\"height\":%" PRIu32 ",\"layout_size\":%" PRIu64
			       ",\"planes\":[", l->width, l->height, l->size);
			for (unsigned int i = 0; i < l->n_planes; i++)
				printf("%s{\"offset\":%" PRIu64 ",\"stride\":%" PRIu32
				       ",\"height\":%" PRIu32 "}", i ? "," : "", l->planes[i].offset,
				       l->planes[i].stride, l->planes[i].height);
			printf("]");
		}
		printf("}\n");
		return;
	}
	printf("fd %d size %" PRIu64 " id %" PRIu64, bb_buffer_get_fd(buf), bb_buffer_get_size(buf),
	       bb_buffer_get_id(buf));
	if (heap)
		printf(" heap %s", heap);
	if (l) {
		printf(" planes %u\n", l->n_planes);
		for (unsigned int i = 0; i < l->n_planes; i++)
			printf("  plane %u offset %" PRIu64 " stride %" PRIu32 " height %" PRIu32 "\n",
			       i, l->planes[i].offset, l->planes[i].stride, l->planes[i].height);
	} else
		printf("\n");
	fflush(stdout);
}

static int cmd_alloc(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' }, { "hold", required_argument, NULL, 'H' },
		{ "direct", no_argument, NULL, 'd' },     { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },       { 0 },
	};
	struct bb_alloc_options ao = { 0 };
	struct bb_image_layout layout;
	struct bb_client *c = NULL;
	struct bb_buffer *buf = NULL;
	bool direct = false, image;
	char heap[64] = "";
	unsigned long hold = 0;
	uint32_t fourcc = 0, w = 0, h = 0;
	uint64_t size = 0;
	int o, r, ret;

	while ((o = getopt_long(argc, argv, "+n:H:djh", opts, NULL)) != -1) {
		switch (o) {
		case 'n': ao.name = optarg; break;
		case 'H': {
			char *end;

			hold = strtoul(optarg, &end, 10);
			if (*end || !optarg[0]) {
				fprintf(stderr, "%s: alloc: bad --hold '%s'\n", prog, optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'd': direct = true; break;
		case 'j': opt_json = true; break;
		case 'h': fputs(alloc_help, stdout); return EXIT_OK;
		default: fputs(alloc_help, stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fputs(alloc_help, stderr);
		return EXIT_USAGE;
	}
	image = strchr(argv[optind + 1], ':') != NULL;
	r = image ? parse_image(argv[optind + 1], &fourcc, &w, &h)
		  : parse_size(argv[optind + 1], &size);
	if (r < 0) {
		fprintf(stderr, "%s: alloc: bad %s '%s'%s\n", prog, image ? "image" : "size",
			argv[optind + 1],
			r == -EOPNOTSUPP ? ": unknown format (try NV12, YUYV, XRGB8888, P010)" : "");
		return EXIT_USAGE;
	}

	if (direct) {
		r = bb_direct_resolve_heap(argv[optind], heap, sizeof(heap));
		if (r >= 0)
			r = image ? bb_direct_alloc_image(argv[optind], fourcc, w, h, 0, &buf, &layout)
				  : bb_direct_alloc(argv[optind], size, &buf);
		if (r < 0)
			return fail(NULL, argv[optind], r);
		if (ao.name)
			bb_buffer_set_name(buf, ao.name);
	} else {
		ret = connect_or_fail(&c);
		if (ret)
			return ret;
		r = image ? bb_client_alloc_image(c, argv[optind], fourcc, w, h, 0, &ao, &buf,
						  &layout)
			  : bb_client_alloc(c, argv[optind], size, &ao, &buf);
		if (r < 0) {
			ret = fail(c, "alloc", r);
			bb_client_free(c);
			return ret;
		}
	}
	print_alloc(buf, image ? &layout : NULL, direct ? heap : NULL);
	if (hold)
		sleep((unsigned int)hold);
	ret = EXIT_OK;
	if (c) {
		r = bb_client_release(c, buf);
		if (r < 0)
			ret = fail(c, "release", r);
		bb_client_free(c);
	} else
		bb_buffer_free(buf);
	return ret;
}

/* ---- policy check -------------------------------------------------------- */

static const char policy_help[] =
	"Usage: bufbrokerctl policy check [--json] FILE...\n"
	"Parse and validate bufbrokerd policy files (daemon/policy.md) without the daemon.\n"
	"Errors are printed as FILE:LINE: message; exit status 4 when a file is invalid,\n"
	"1 when it cannot be read.\n";

static int cmd_policy(int argc, char **argv)
{
	int ret = EXIT_OK;

	if (argc < 2 || want_help(argc, argv)) {
		fputs(policy_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "check")) {
		fprintf(stderr, "%s: policy: unknown command '%s'\n%s", prog, argv[1], policy_help);
		return EXIT_USAGE;
	}
	int first = 2;

	while (first < argc && !strcmp(argv[first], "--json")) {
		opt_json = true;
		first++;
	}
	if (first < argc && !strcmp(argv[first], "--"))
		first++;
	if (first >= argc) {
		fputs(policy_help, stderr);
		return EXIT_USAGE;
	}
#ifdef BB_HAVE_POLICY
	if (opt_json)
		printf("[");
	for (int i = first; i < argc; i++) {
		struct bb_policy p;
		char err[8192] = "";
		int r = bb_policy_load_file(argv[i], &p, err, sizeof(err));
		int code = r >= 0 ? EXIT_OK : r == -EINVAL ? EXIT_POLICY : EXIT_RUNTIME;

		if (r < 0 && r != -EINVAL && !err[0])
			snprintf(err, sizeof(err), "%s: %s\n", argv[i], strerror(-r));
		if (opt_json) {
			printf("%s{\"file\":", i > first ? "," : "");
			json_str(stdout, argv[i]);
			printf(",\"valid\":%s,\"errors\":", r >= 0 ? "true" : "false");
			json_str(stdout, err);
			printf(",\"warnings\":");
			json_str(stdout, r >= 0 && p.warnings ? p.warnings : "");
			printf(",\"roles\":%zu}", r >= 0 ? p.n_roles : (size_t)0);
		} else if (r < 0) {
			fputs(err, stderr);
			if (err[0] && err[strlen(err) - 1] != '\n')
				fputc('\n', stderr);
		} else {
			if (p.warnings)
				fputs(p.warnings, stderr);
			printf("%s: OK (%zu roles)\n", argv[i], p.n_roles);
		}
		if (r >= 0)
			bb_policy_free(&p);
		if (code > ret || (ret == EXIT_RUNTIME && code == EXIT_POLICY))
			ret = code;
	}
	if (opt_json)
		printf("]\n");
	return ret;
#else
	fprintf(stderr, "%s: policy check: built without the daemon's policy parser\n", prog);
	return EXIT_RUNTIME;
#endif
}

/* ---- monitor ------------------------------------------------------------- */

static const char monitor_help[] =
	"Usage: bufbrokerctl monitor [--interval SECONDS] [--count N] [--json]\n"
	"Show heaps and usage, refreshed every --interval seconds (default 1, decimals\n"
	"allowed) until interrupted, or --count N times.  With --json one JSON object\n"
	"{\"heaps\":[...],\"usage\":{...}} per line and refresh.\n";

static int cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' }, { "count", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },           { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bb_client *c = NULL;
	double interval = 1.0;
	unsigned long count = 0;
	bool tty = isatty(STDOUT_FILENO);
	char *end;
	int o, ret;

	while ((o = getopt_long(argc, argv, "+i:c:jh", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || !(interval > 0) || interval > 86400) {
				fprintf(stderr, "%s: monitor: bad --interval '%s'\n", prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			count = strtoul(optarg, &end, 10);
			if (*end || !optarg[0] || optarg[0] == '-') {
				fprintf(stderr, "%s: monitor: bad --count '%s'\n", prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j': opt_json = true; break;
		case 'h': fputs(monitor_help, stdout); return EXIT_OK;
		default: fputs(monitor_help, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(monitor_help, stderr);
		return EXIT_USAGE;
	}
	ret = connect_or_fail(&c);
	if (ret)
		return ret;
	for (unsigned long i = 0; !count || i < count; i++) {
		struct bb_heap_info *h;
		struct bb_usage_info *u;
		size_t nh, nu;
		int r;

		if (i) {
			struct timespec ts = { .tv_sec = (time_t)interval,
					       .tv_nsec = (long)((interval - (double)(time_t)interval) * 1e9) };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		r = bb_client_list_heaps(c, &h, &nh);
		if (r < 0) {
			ret = fail(c, "heaps", r);
			break;
		}
		r = bb_client_usage(c, &u, &nu);
		if (r < 0) {
			bb_heap_info_free(h, nh);
			ret = fail(c, "usage", r);
			break;
		}
		if (opt_json) {
			printf("{\"heaps\":");
			print_heaps(h, nh);
			printf(",\"usage\":");
			print_usage_tables(u, nu);
			printf("}\n");
		} else {
			time_t now = time(NULL);
			char ts[64];

			strftime(ts, sizeof(ts), "%F %T", localtime(&now));
			if (tty)
				printf("\033[H\033[2J");
			printf("bufbroker monitor - %s\n\n", ts);
			print_heaps(h, nh);
			printf("\n");
			print_usage_tables(u, nu);
			printf("\n");
		}
		fflush(stdout);
		bb_heap_info_free(h, nh);
		bb_usage_info_free(u, nu);
	}
	bb_client_free(c);
	return ret;
}

/* ---- main ---------------------------------------------------------------- */

static void main_help(FILE *f)
{
	fprintf(f,
		"Usage: bufbrokerctl [--json] COMMAND [ARGS]\n"
		"Query and test bufbrokerd, the dma-buf heap broker.\n\n"
		"Commands:\n"
		"  heaps                     heaps: name, aliases, size, used, peak, failures\n"
		"  usage                     usage per client and per role\n"
		"  alloc ROLE SIZE|FOURCC:WxH  test allocation; prints fd, size, id, planes\n"
		"  policy check FILE...      validate policy files (FILE:LINE: errors)\n"
		"  monitor                   refreshing view of heaps and usage\n\n"
		"Options:\n"
		"  --json      JSON output (also accepted after the command)\n"
		"  -h, --help  this help; COMMAND --help for a command's help\n\n"
		"Environment:\n"
		"  BUFBROKER_BUS_ADDRESS  D-Bus address to use instead of the system bus\n\n"
		EXIT_CODES_HELP);
}

static void strip_json(int *argc, char **argv)
{
	int j = 1;

	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--json"))
			opt_json = true;
		else
			argv[j++] = argv[i];
	}
	*argc = j;
	argv[j] = NULL;
}

int main(int argc, char **argv)
{
	struct bb_client *c = NULL;
	const char *cmd;
	int i = 1, ret;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json"))
			opt_json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			main_help(stdout);
			return EXIT_OK;
		} else {
			fprintf(stderr, "%s: unknown option '%s'\n", prog, argv[i]);
			main_help(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		main_help(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[i];
	argc -= i;
	argv += i;

	if (!strcmp(cmd, "alloc"))
		return cmd_alloc(argc, argv);
	if (!strcmp(cmd, "monitor"))
		return cmd_monitor(argc, argv);
	if (!strcmp(cmd, "policy"))
		return cmd_policy(argc, argv);
	if (!strcmp(cmd, "help")) {
		main_help(stdout);
		return EXIT_OK;
	}

	const char *help = !strcmp(cmd, "heaps") ? heaps_help
			   : !strcmp(cmd, "usage") ? usage_help : NULL;
	int (*fn)(struct bb_client *, int, char **) = !strcmp(cmd, "heaps") ? cmd_heaps
						      : !strcmp(cmd, "usage") ? cmd_usage : NULL;

	if (!fn) {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
		main_help(stderr);
		return EXIT_USAGE;
	}
	if (want_help(argc, argv)) {
		fputs(help, stdout);
		return EXIT_OK;
	}
	strip_json(&argc, argv);
	if (argc != 1) {
		fprintf(stderr, "%s: %s: unexpected argument '%s'\n%s", prog, cmd, argv[1], help);
		return EXIT_USAGE;
	}
	ret = connect_or_fail(&c);
	if (ret)
		return ret;
	ret = fn(c, argc, argv);
	bb_client_free(c);
	return ret;
}
