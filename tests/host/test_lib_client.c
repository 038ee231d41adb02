// SPDX-License-Identifier: MIT
/*
 * test_lib_client.c - libbufbroker end to end over D-Bus: a private
 * dbus-daemon, a fake org.bufbroker.Broker1 in a thread (memfds stand in for
 * dma-bufs) and the public API found through BUFBROKER_BUS_ADDRESS.
 * Checks the wire signatures of docs/contracts.md, fd ownership and
 * CLOEXEC, error mapping with messages, async calls driven through
 * get_fd/get_events/get_timeout/dispatch, timeouts, an absent daemon, and
 * direct-mode resolution.
 * The fake answers OpenSession like an older daemon (UnknownMethod) unless a
 * test asks for sessions: then it serves its vtable peer to peer on one end
 * of a socketpair, as bufbrokerd does, and counts on which connection each
 * call arrived.  The main tests run over both paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <drm_fourcc.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include <bufbroker/bufbroker.h>

#define BUS_NAME "org.bufbroker.Broker1"
#define OBJ_PATH "/org/bufbroker/Broker1"
#define ERR(x) "org.bufbroker.Error." x

/* ---- the fake broker ------------------------------------------------------ */

#define MAX_BUFS 64
#define MAX_SESSIONS 8

/* How the fake answers OpenSession. */
enum open_mode {
	OPEN_UNKNOWN_METHOD, /* an older daemon (default) */
	OPEN_SESSION,        /* a session socket */
	OPEN_NOT_SUPPORTED,  /* org.bufbroker.Error.NotSupported */
	OPEN_QUOTA,          /* org.bufbroker.Error.QuotaExceeded: worth retrying */
	OPEN_NO_ANONYMOUS,   /* a socket whose server rejects ANONYMOUS auth */
	OPEN_SILENT,         /* never answered (a hung daemon) */
};

static struct {
	char address[PATH_MAX];
	pid_t bus_pid;
	char dir[PATH_MAX / 2];
	pthread_t thread;
	atomic_bool ready, stop, slow, release_name, request_name;
	int fds[MAX_BUFS]; /* index = id; -1 free */
	uint64_t sizes[MAX_BUFS];
	char last_name[64];
	char last_cpu_access[32];
	sd_bus_message *held; /* a call left unanswered (timeout test) */
	sd_bus_message *held_alloc; /* Allocate of role "hold", never answered */
	atomic_int open_mode;
	atomic_bool drop_sessions; /* close every session socket */
	sd_bus *sessions[MAX_SESSIONS]; /* fake thread only */
	atomic_int n_sessions;
	/* calls seen, by connection; OpenSession counted in both */
	atomic_int on_bus, on_session, open_calls, held_allocs;
} fake;

/* Count where @m arrived: a peer-to-peer session has no sender. */
static void note_call(sd_bus_message *m)
{
	if (sd_bus_message_get_sender(m))
		atomic_fetch_add(&fake.on_bus, 1);
	else
		atomic_fetch_add(&fake.on_session, 1);
}

static int fake_new_buffer(uint64_t size, uint64_t *id)
{
	for (uint64_t i = 1; i < MAX_BUFS; i++) {
		if (fake.fds[i] >= 0)
			continue;
		fake.fds[i] = memfd_create("bb-fake", MFD_CLOEXEC);
		if (fake.fds[i] < 0)
			return -errno;
		if (ftruncate(fake.fds[i], (off_t)size) < 0)
			return -errno;
		fake.sizes[i] = size;
		*id = i;
		return 0;
	}
	return -ENOMEM;
}

static int read_options(sd_bus_message *m)
{
	const char *key, *val;
	int r;

	fake.last_name[0] = fake.last_cpu_access[0] = '\0';
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		r = sd_bus_message_read(m, "s", &key);
		if (r >= 0)
			r = sd_bus_message_read(m, "v", "s", &val);
		if (r >= 0 && !strcmp(key, "name"))
			snprintf(fake.last_name, sizeof(fake.last_name), "%s", val);
		if (r >= 0 && !strcmp(key, "cpu-access"))
			snprintf(fake.last_cpu_access, sizeof(fake.last_cpu_access), "%s", val);
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_exit_container(m);
	return r;
}

static int role_error(const char *role, sd_bus_error *e)
{
	if (!strcmp(role, "denied"))
		return sd_bus_error_setf(e, ERR("AccessDenied"), "uid %u may not use role '%s'",
					 getuid(), role);
	if (!strcmp(role, "quota"))
		return sd_bus_error_set(e, ERR("QuotaExceeded"), "role quota: 64M in use");
	if (!strcmp(role, "full"))
		return sd_bus_error_set(e, ERR("RegionFull"), "region camera@7c000000 is full");
	if (!strcmp(role, "nope"))
		return sd_bus_error_set(e, ERR("NoSuchRole"), "no role 'nope' in policy");
	return 0;
}

static int m_allocate(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	const char *role;
	uint64_t size, id;
	int r;

	(void)ud;
	note_call(m);
	r = sd_bus_message_read(m, "st", &role, &size);
	if (r < 0 || (r = read_options(m)) < 0)
		return r;
	if ((r = role_error(role, e)) < 0)
		return r;
	if (!strcmp(role, "hold")) {
		sd_bus_message_unref(fake.held_alloc);
		fake.held_alloc = sd_bus_message_ref(m);
		atomic_fetch_add(&fake.held_allocs, 1);
		return 1;
	}
	if (!size)
		return sd_bus_error_set(e, ERR("InvalidArgument"), "size must be > 0");
	r = fake_new_buffer(size, &id);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, "ht", fake.fds[id], id);
}

static int m_allocate_image(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct bb_image_layout l;
	sd_bus_message *reply = NULL;
	const char *role;
	uint32_t fourcc, w, h;
	uint64_t mod, id;
	int r;

	(void)ud;
	note_call(m);
	r = sd_bus_message_read(m, "suuut", &role, &fourcc, &w, &h, &mod);
	if (r < 0 || (r = read_options(m)) < 0)
		return r;
	r = bb_image_layout_compute(fourcc, w, h, mod, &l);
	if (r == -EOPNOTSUPP)
		return sd_bus_error_set(e, ERR("NotSupported"), "fourcc not supported");
	if (r < 0)
		return sd_bus_error_set(e, ERR("InvalidArgument"), "bad dimensions");
	r = fake_new_buffer(l.size, &id);
	if (r >= 0)
		r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "htt", fake.fds[id], id, l.size);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(tu)");
	for (unsigned int i = 0; r >= 0 && i < l.n_planes; i++)
		r = sd_bus_message_append(reply, "(tu)", l.planes[i].offset, l.planes[i].stride);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

static bool valid_id(uint64_t id)
{
	return id > 0 && id < MAX_BUFS && fake.fds[id] >= 0;
}

static int m_release(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	uint64_t id;
	int r;

	(void)ud;
	note_call(m);
	r = sd_bus_message_read(m, "t", &id);
	if (r < 0)
		return r;
	if (!valid_id(id))
		return sd_bus_error_setf(e, ERR("NoSuchBuffer"), "no buffer %" PRIu64, id);
	close(fake.fds[id]);
	fake.fds[id] = -1;
	return sd_bus_reply_method_return(m, "");
}

/* Role "short" answers with one fd fewer than asked for: a reply the library must refuse. */
static int m_allocate_set(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	sd_bus_message *reply = NULL;
	uint64_t size, ids[8] = { 0 };
	const char *role;
	uint32_t count, n;
	int r;

	(void)ud;
	note_call(m);
	r = sd_bus_message_read(m, "stu", &role, &size, &count);
	if (r < 0 || (r = read_options(m)) < 0)
		return r;
	if ((r = role_error(role, e)) < 0)
		return r;
	if (!count || count > 8)
		return sd_bus_error_set(e, ERR("InvalidArgument"), "count");
	n = strcmp(role, "short") ? count : count - 1;
	for (uint32_t i = 0; i < n; i++)
		if ((r = fake_new_buffer(size, &ids[i])) < 0)
			return r;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "h");
	for (uint32_t i = 0; r >= 0 && i < n; i++)
		r = sd_bus_message_append(reply, "h", fake.fds[ids[i]]);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_append_array(reply, 't', ids, count * sizeof(ids[0]));
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

static int m_release_set(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	const uint64_t *ids;
	size_t len;
	int r;

	(void)ud;
	note_call(m);
	r = sd_bus_message_read_array(m, 't', (const void **)&ids, &len);
	if (r < 0)
		return r;
	for (size_t i = 0; i < len / sizeof(*ids); i++)
		if (!valid_id(ids[i]))
			return sd_bus_error_setf(e, ERR("NoSuchBuffer"), "no buffer %" PRIu64, ids[i]);
	for (size_t i = 0; i < len / sizeof(*ids); i++) {
		close(fake.fds[ids[i]]);
		fake.fds[ids[i]] = -1;
	}
	return sd_bus_reply_method_return(m, "");
}

static int m_share(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	const char *target;
	char token[64];
	uint64_t id;
	int r;

	(void)ud;
	note_call(m);
	r = sd_bus_message_read(m, "ts", &id, &target);
	if (r < 0)
		return r;
	if (!valid_id(id))
		return sd_bus_error_setf(e, ERR("NoSuchBuffer"), "no buffer %" PRIu64, id);
	if (!strcmp(target, "role:forbidden"))
		return sd_bus_error_set(e, ERR("AccessDenied"), "camera may not share with forbidden");
	snprintf(token, sizeof(token), "tok-%" PRIu64 "-0123456789abcdef0123456789abcdef", id);
	return sd_bus_reply_method_return(m, "s", token);
}

static int m_import(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	const char *token;
	uint64_t id, new_id;
	int r;

	(void)ud;
	note_call(m);
	r = sd_bus_message_read(m, "s", &token);
	if (r < 0)
		return r;
	if (sscanf(token, "tok-%" SCNu64 "-", &id) != 1 || !valid_id(id))
		return sd_bus_error_set(e, ERR("InvalidToken"), "token unknown or already used");
	/* the importer gets its own id for the same memory */
	for (new_id = 1; new_id < MAX_BUFS && fake.fds[new_id] >= 0; new_id++)
		;
	if (new_id == MAX_BUFS)
		return -ENOMEM;
	fake.fds[new_id] = fcntl(fake.fds[id], F_DUPFD_CLOEXEC, 3);
	fake.sizes[new_id] = fake.sizes[id];
	return sd_bus_reply_method_return(m, "htt", fake.fds[new_id], new_id, fake.sizes[id]);
}

static int m_heaps(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	sd_bus_message *reply = NULL;
	int r;

	(void)ud;
	note_call(m);
	(void)e;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "a(sasttttt)", 2,
					  "camera@7c000000", 2, "camera", "cam", (uint64_t)64 << 20,
					  (uint64_t)4096, (uint64_t)8192, (uint64_t)1, (uint64_t)1,
					  "default_cma_region", 0, (uint64_t)256 << 20, (uint64_t)0,
					  (uint64_t)0, (uint64_t)0, (uint64_t)0);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

static int m_usage(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)ud;
	note_call(m);
	(void)e;
	if (atomic_load(&fake.slow)) {
		sd_bus_message_unref(fake.held);
		fake.held = sd_bus_message_ref(m); /* never answered */
		return 1;
	}
	return sd_bus_reply_method_return(m, "a(susstu)", 2, ":1.7", 1000, "cam.service", "camera",
					  (uint64_t)65536, 2, ":1.8", 1001, "", "video",
					  (uint64_t)4096, 1);
}

static int m_list(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)ud;
	note_call(m);
	(void)e;
	return sd_bus_reply_method_return(m, "a(tsstss)", 1, (uint64_t)3, "camera",
					  "camera@7c000000", (uint64_t)4096, "cam0", "owned");
}

static int m_open_session(sd_bus_message *m, void *ud, sd_bus_error *e);

static const sd_bus_vtable fake_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("OpenSession", "", "h", m_open_session, 0),
	SD_BUS_METHOD("Allocate", "sta{sv}", "ht", m_allocate, 0),
	SD_BUS_METHOD("AllocateImage", "suuuta{sv}", "htta(tu)", m_allocate_image, 0),
	SD_BUS_METHOD("Release", "t", "", m_release, 0),
	SD_BUS_METHOD("AllocateSet", "stua{sv}", "ahat", m_allocate_set, 0),
	SD_BUS_METHOD("ReleaseSet", "at", "", m_release_set, 0),
	SD_BUS_METHOD("Share", "ts", "s", m_share, 0),
	SD_BUS_METHOD("Import", "s", "htt", m_import, 0),
	SD_BUS_METHOD("Heaps", "", "a(sasttttt)", m_heaps, 0),
	SD_BUS_METHOD("Usage", "", "a(susstu)", m_usage, 0),
	SD_BUS_METHOD("List", "", "a(tsstss)", m_list, 0),
	SD_BUS_VTABLE_END,
};

/* Serve fake_vtable peer to peer on @fd (taken), as bufbrokerd does. */
static int fake_serve_session(int fd, bool anonymous, sd_bus **out)
{
	sd_bus *s = NULL;
	sd_id128_t id;
	int r;

	r = sd_id128_randomize(&id);
	if (r >= 0)
		r = sd_bus_new(&s);
	if (r >= 0)
		r = sd_bus_set_fd(s, fd, fd);
	if (r < 0) {
		close(fd);
		sd_bus_unref(s);
		return r;
	}
	r = sd_bus_set_server(s, 1, id);
	if (r >= 0)
		r = sd_bus_set_anonymous(s, anonymous);
	if (r >= 0)
		r = sd_bus_negotiate_fds(s, 1);
	if (r >= 0)
		r = sd_bus_start(s);
	if (r >= 0)
		r = sd_bus_add_object_vtable(s, NULL, OBJ_PATH, BUS_NAME, fake_vtable, NULL);
	if (r < 0) {
		sd_bus_close_unref(s);
		return r;
	}
	*out = s;
	return 0;
}

static int m_open_session(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	int n = atomic_load(&fake.n_sessions), mode = atomic_load(&fake.open_mode), sv[2], r;

	(void)ud;
	note_call(m);
	atomic_fetch_add(&fake.open_calls, 1);
	switch (mode) {
	case OPEN_UNKNOWN_METHOD:
		return sd_bus_error_setf(e, SD_BUS_ERROR_UNKNOWN_METHOD,
					 "Unknown method OpenSession or interface %s.", BUS_NAME);
	case OPEN_NOT_SUPPORTED:
		return sd_bus_error_set(e, ERR("NotSupported"), "sessions are disabled");
	case OPEN_QUOTA:
		return sd_bus_error_set(e, ERR("QuotaExceeded"), "too many sessions");
	case OPEN_SILENT:
		sd_bus_message_unref(fake.held);
		fake.held = sd_bus_message_ref(m); /* never answered */
		return 1;
	default:
		break;
	}
	if (!sd_bus_message_get_sender(m))
		return sd_bus_error_set(e, ERR("NotSupported"), "OpenSession over a session");
	if (n == MAX_SESSIONS)
		return sd_bus_error_set(e, ERR("QuotaExceeded"), "too many sessions");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	r = fake_serve_session(sv[0], mode != OPEN_NO_ANONYMOUS, &fake.sessions[n]);
	if (r >= 0) {
		atomic_store(&fake.n_sessions, n + 1);
		r = sd_bus_reply_method_return(m, "h", sv[1]); /* sends a dup */
	}
	close(sv[1]);
	return r;
}

/* Process @bus until idle: 1 if it did something, 0 if not, <0 broken. */
static int fake_process(sd_bus *bus)
{
	int r, did = 0;

	while ((r = sd_bus_process(bus, NULL)) > 0)
		did = 1;
	return r < 0 ? r : did;
}

static void fake_drop_session(int i)
{
	int n = atomic_load(&fake.n_sessions);

	sd_bus_flush_close_unref(fake.sessions[i]);
	fake.sessions[i] = fake.sessions[n - 1];
	fake.sessions[n - 1] = NULL;
	atomic_store(&fake.n_sessions, n - 1);
}

/* Wait up to 20 ms for any connection to become ready. */
static void fake_wait(sd_bus *bus)
{
	struct pollfd p[1 + MAX_SESSIONS];
	int n = atomic_load(&fake.n_sessions);

	for (int i = 0; i <= n; i++) {
		sd_bus *b = i ? fake.sessions[i - 1] : bus;
		int ev = sd_bus_get_events(b);

		p[i].fd = sd_bus_get_fd(b);
		p[i].events = (short)(ev < 0 ? 0 : ev);
	}
	poll(p, (nfds_t)n + 1, 20);
}

static void *fake_thread(void *arg)
{
	sd_bus *bus = NULL;
	int r;

	(void)arg;
	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, fake.address);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r >= 0)
		r = sd_bus_add_object_vtable(bus, NULL, OBJ_PATH, BUS_NAME, fake_vtable, NULL);
	if (r >= 0)
		r = sd_bus_request_name(bus, BUS_NAME, 0);
	if (r < 0) {
		fprintf(stderr, "fake broker: %s\n", strerror(-r));
		exit(2);
	}
	atomic_store(&fake.ready, true);
	while (!atomic_load(&fake.stop)) {
		int did;

		if (atomic_exchange(&fake.release_name, false))
			sd_bus_release_name(bus, BUS_NAME);
		if (atomic_exchange(&fake.request_name, false))
			sd_bus_request_name(bus, BUS_NAME, 0);
		if (atomic_exchange(&fake.drop_sessions, false))
			while (atomic_load(&fake.n_sessions))
				fake_drop_session(0);
		did = r = fake_process(bus);
		if (r < 0)
			break;
		for (int i = atomic_load(&fake.n_sessions) - 1; i >= 0; i--) {
			r = fake_process(fake.sessions[i]);
			if (r < 0) /* the client closed it */
				fake_drop_session(i);
			else
				did |= r;
		}
		if (!did)
			fake_wait(bus);
	}
	while (atomic_load(&fake.n_sessions))
		fake_drop_session(0);
	sd_bus_message_unref(fake.held);
	sd_bus_message_unref(fake.held_alloc);
	sd_bus_flush_close_unref(bus);
	return NULL;
}

static int group_setup(void **state)
{
	char conf[PATH_MAX], sock[PATH_MAX / 2 + 16];
	FILE *f;

	(void)state;
	for (int i = 0; i < MAX_BUFS; i++)
		fake.fds[i] = -1;
	snprintf(fake.dir, sizeof(fake.dir), "/tmp/bb-libtest-XXXXXX");
	if (!mkdtemp(fake.dir))
		return -1;
	snprintf(conf, sizeof(conf), "%s/bus.conf", fake.dir);
	snprintf(sock, sizeof(sock), "%s/bus", fake.dir);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f, "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
		   " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		   "<busconfig><type>session</type><listen>unix:path=%s</listen>"
		   "<auth>EXTERNAL</auth><policy context=\"default\">"
		   "<allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>"
		   "<allow own=\"*\"/></policy></busconfig>\n", sock);
	fclose(f);
	fake.bus_pid = fork();
	if (fake.bus_pid < 0)
		return -1;
	if (fake.bus_pid == 0) {
		char arg[PATH_MAX + 32];

		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* die with the test, and do not hold its stdout pipe open */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		snprintf(arg, sizeof(arg), "--config-file=%s", conf);
		execlp("dbus-daemon", "dbus-daemon", arg, "--nofork", "--nopidfile", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && access(sock, F_OK); i++)
		usleep(20 * 1000);
	if (access(sock, F_OK)) {
		fprintf(stderr, "dbus-daemon did not start\n");
		return -1;
	}
	snprintf(fake.address, sizeof(fake.address), "unix:path=%s", sock);
	setenv("BUFBROKER_BUS_ADDRESS", fake.address, 1);
	if (pthread_create(&fake.thread, NULL, fake_thread, NULL))
		return -1;
	for (int i = 0; i < 500 && !atomic_load(&fake.ready); i++)
		usleep(10 * 1000);
	return atomic_load(&fake.ready) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[PATH_MAX];

	(void)state;
	atomic_store(&fake.stop, true);
	pthread_join(fake.thread, NULL);
	for (int i = 0; i < MAX_BUFS; i++)
		if (fake.fds[i] >= 0)
			close(fake.fds[i]);
	kill(fake.bus_pid, SIGTERM);
	waitpid(fake.bus_pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Calls the fake saw since mark(). */
static struct {
	int bus, session, open;
} base;

/* Wait until the fake has dropped every session: it then has processed all
 * that the clients of earlier tests sent on them. */
static bool sessions_gone(void)
{
	for (int i = 0; i < 500 && atomic_load(&fake.n_sessions); i++)
		usleep(10 * 1000);
	return atomic_load(&fake.n_sessions) == 0;
}

static void mark(void)
{
	base.bus = atomic_load(&fake.on_bus);
	base.session = atomic_load(&fake.on_session);
	base.open = atomic_load(&fake.open_calls);
}

static int bus_calls(void)
{
	return atomic_load(&fake.on_bus) - base.bus;
}

static int session_calls(void)
{
	return atomic_load(&fake.on_session) - base.session;
}

static int open_calls(void)
{
	return atomic_load(&fake.open_calls) - base.open;
}

static int reset_mode(void **state)
{
	(void)state;
	atomic_store(&fake.open_mode, OPEN_UNKNOWN_METHOD);
	return 0;
}

/* A client against a daemon without sessions: every call uses the bus. */
static int client_setup(void **state)
{
	struct bb_client *c;

	reset_mode(state);
	if (!sessions_gone())
		return -1;
	mark();
	if (bb_client_connect(&c, 0) < 0)
		return -1;
	*state = c;
	return 0;
}

static int client_teardown(void **state)
{
	bb_client_free(*state);
	if (session_calls()) {
		fprintf(stderr, "fallback: %d calls arrived on a session\n", session_calls());
		return -1;
	}
	return 0;
}

/* A new client once the last test's sessions are gone, the fake answering OpenSession as
 * @mode, the call counters marked. */
static struct bb_client *connect_in_mode(enum open_mode mode)
{
	struct bb_client *c = NULL;

	assert_true(sessions_gone());
	atomic_store(&fake.open_mode, mode);
	mark();
	assert_int_equal(bb_client_connect(&c, 0), 0);
	return c;
}

/* A client against a daemon with sessions: only OpenSession uses the bus. */
static int session_setup(void **state)
{
	struct bb_client *c;

	atomic_store(&fake.open_mode, OPEN_SESSION);
	if (!sessions_gone())
		return -1;
	mark();
	if (bb_client_connect(&c, 0) < 0)
		return -1;
	*state = c;
	return 0;
}

/* For tests that check the connections themselves. */
static int session_client_teardown(void **state)
{
	bb_client_free(*state);
	return reset_mode(state);
}

static int session_teardown(void **state)
{
	bb_client_free(*state);
	reset_mode(state);
	if (open_calls() < 1 || bus_calls() != open_calls()) {
		fprintf(stderr, "session: %d OpenSession, %d calls on the bus\n", open_calls(),
			bus_calls());
		return -1;
	}
	return 0;
}

static bool is_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags >= 0 && (flags & FD_CLOEXEC);
}

/* ---- tests --------------------------------------------------------------- */

static void alloc_returns_owned_cloexec_fd_and_sends_options(void **state)
{
	struct bb_client *c = *state;
	struct bb_alloc_options o = { .name = "cam0", .cpu_access = BB_CPU_ACCESS_READ_WRITE };
	struct bb_buffer *buf;
	void *p;
	int dup;

	assert_int_equal(bb_client_alloc(c, "camera", 65536, &o, &buf), 0);
	assert_true(bb_buffer_get_fd(buf) >= 0);
	assert_true(is_cloexec(bb_buffer_get_fd(buf)));
	assert_int_equal(bb_buffer_get_size(buf), 65536);
	assert_true(bb_buffer_get_id(buf) > 0);
	assert_string_equal(fake.last_name, "cam0");
	assert_string_equal(fake.last_cpu_access, "read-write");
	assert_string_equal(bb_client_last_error_message(c), "");

	dup = bb_buffer_dup_fd(buf);
	assert_true(dup >= 0 && dup != bb_buffer_get_fd(buf));
	assert_true(is_cloexec(dup));
	close(dup);

	assert_int_equal(bb_buffer_map(buf, BB_ACCESS_READ_WRITE, &p), 0);
	memset(p, 0x5a, 65536);
	assert_int_equal(bb_buffer_map(buf, BB_ACCESS_READ, &p), 0); /* same mapping */
	assert_int_equal(bb_buffer_unmap(buf), 0);
	assert_int_equal(bb_buffer_unmap(buf), -EINVAL);
	/* memfd is not a dma-buf: the ioctl error comes back, no endless retry */
	assert_int_equal(bb_buffer_begin_cpu_access(buf, BB_ACCESS_READ), -ENOTTY);
	assert_int_equal(bb_buffer_begin_cpu_access(buf, 0), -EINVAL);
	assert_int_equal(bb_buffer_set_name(buf, "0123456789012345678901234567890123"),
			 -ENAMETOOLONG);
	assert_int_equal(bb_client_release(c, buf), 0);

	/* no options at all */
	assert_int_equal(bb_client_alloc(c, "camera", 4096, NULL, &buf), 0);
	assert_string_equal(fake.last_name, "");
	assert_string_equal(fake.last_cpu_access, "");
	assert_int_equal(bb_client_release(c, buf), 0);
}

static void alloc_rejects_bad_arguments_locally(void **state)
{
	struct bb_client *c = *state;
	struct bb_alloc_options o = { .reserved = { 1 } };
	struct bb_buffer *buf;

	assert_int_equal(bb_client_alloc(c, NULL, 4096, NULL, &buf), -EINVAL);
	assert_int_equal(bb_client_alloc(c, "camera", 0, NULL, &buf), -EINVAL);
	assert_int_equal(bb_client_alloc(c, "camera", 4096, &o, &buf), -EINVAL);
	assert_int_equal(bb_client_alloc(NULL, "camera", 4096, NULL, &buf), -EINVAL);
}

static void a_set_is_allocated_and_released_in_one_call_each(void **state)
{
	struct bb_client *c = *state;
	struct bb_alloc_options o = { .name = "queue" };
	struct bb_buffer *set[3] = { NULL }, *none[2] = { NULL };
	uint64_t ids[3];

	assert_int_equal(bb_client_alloc_set(c, "camera", 8192, 3, &o, set), 0);
	assert_string_equal(fake.last_name, "queue");
	for (int i = 0; i < 3; i++) {
		assert_non_null(set[i]);
		assert_true(is_cloexec(bb_buffer_get_fd(set[i])));
		assert_int_equal(bb_buffer_get_size(set[i]), 8192);
		ids[i] = bb_buffer_get_id(set[i]);
		assert_true(valid_id(ids[i]));
		for (int j = 0; j < i; j++) {
			assert_true(ids[j] != ids[i]);
			assert_true(bb_buffer_get_fd(set[j]) != bb_buffer_get_fd(set[i]));
		}
	}
	assert_int_equal(bb_client_release_set(c, set, 3), 0);
	for (int i = 0; i < 3; i++)
		assert_false(valid_id(ids[i]));

	/* a reply with fewer fds than asked for is refused, and nothing is handed out */
	assert_int_equal(bb_client_alloc_set(c, "short", 4096, 2, NULL, none), -EBADMSG);
	assert_non_null(strstr(bb_client_last_error_message(c), "malformed reply"));
	assert_null(none[0]);
	assert_null(none[1]);
	/* the daemon's errors come back as for one buffer */
	assert_int_equal(bb_client_alloc_set(c, "denied", 4096, 2, NULL, none), -EACCES);
	assert_null(none[0]);
	/* bad arguments never reach the daemon */
	assert_int_equal(bb_client_alloc_set(c, "camera", 4096, 0, NULL, none), -EINVAL);
	assert_int_equal(bb_client_alloc_set(c, "camera", 4096, BB_ALLOC_SET_MAX + 1, NULL, none), -EINVAL);
	assert_int_equal(bb_client_alloc_set(c, "camera", 0, 2, NULL, none), -EINVAL);
	assert_int_equal(bb_client_release_set(c, NULL, 2), -EINVAL);
	assert_int_equal(bb_client_release_set(c, none, 2), 0); /* NULL entries: nothing to do */
}

static void daemon_errors_become_errno_and_message(void **state)
{
	struct bb_client *c = *state;
	struct bb_buffer *buf = NULL;

	assert_int_equal(bb_client_alloc(c, "denied", 4096, NULL, &buf), -EACCES);
	assert_non_null(strstr(bb_client_last_error_message(c), "may not use role 'denied'"));
	assert_string_equal(bb_client_last_error_name(c), ERR("AccessDenied"));
	assert_int_equal(bb_client_alloc(c, "quota", 4096, NULL, &buf), -EDQUOT);
	assert_string_equal(bb_client_last_error_message(c), "role quota: 64M in use");
	assert_int_equal(bb_client_alloc(c, "full", 4096, NULL, &buf), -ENOMEM);
	assert_int_equal(bb_client_alloc(c, "nope", 4096, NULL, &buf), -ENOENT);
	assert_null(buf);
	/* a success clears the message */
	assert_int_equal(bb_client_alloc(c, "camera", 4096, NULL, &buf), 0);
	assert_string_equal(bb_client_last_error_message(c), "");
	assert_int_equal(bb_client_release(c, buf), 0);
}

static void alloc_image_returns_the_daemon_layout(void **state)
{
	struct bb_client *c = *state;
	struct bb_image_layout l, expect;
	struct bb_buffer *buf;

	assert_int_equal(bb_client_alloc_image(c, "camera", DRM_FORMAT_NV12, 1280, 720,
					       DRM_FORMAT_MOD_LINEAR, NULL, &buf, &l), 0);
	assert_int_equal(bb_image_layout_compute(DRM_FORMAT_NV12, 1280, 720, 0, &expect), 0);
	assert_int_equal(l.size, expect.size);
	assert_int_equal(l.n_planes, 2);
	assert_memory_equal(l.planes, expect.planes, sizeof(l.planes));
	assert_int_equal(l.fourcc, DRM_FORMAT_NV12);
	assert_int_equal(bb_buffer_get_size(buf), expect.size);
	assert_int_equal(bb_client_release(c, buf), 0);

	assert_int_equal(bb_client_alloc_image(c, "camera", DRM_FORMAT_C8, 64, 64, 0, NULL, &buf,
					       &l), -EOPNOTSUPP);
	assert_int_equal(bb_client_alloc_image(c, "camera", DRM_FORMAT_NV12, 63, 64, 0, NULL, &buf,
					       &l), -EINVAL);
}

static void share_and_import_give_the_same_memory(void **state)
{
	struct bb_client *c = *state, *c2;
	struct bb_buffer *buf, *imp;
	char token[BB_TOKEN_MAX], tiny[4];
	uint8_t *p, *q;
	int len;

	assert_int_equal(bb_client_connect(&c2, 0), 0);
	assert_int_equal(bb_client_alloc(c, "camera", 8192, NULL, &buf), 0);
	assert_int_equal(bb_buffer_map(buf, BB_ACCESS_WRITE, (void **)&p), 0);
	for (int i = 0; i < 8192; i++)
		p[i] = (uint8_t)(i * 13);
	len = bb_client_share(c, bb_buffer_get_id(buf), "role:video", token, sizeof(token));
	assert_true(len > 0);
	assert_int_equal((size_t)len, strlen(token));
	assert_int_equal(bb_client_share(c, bb_buffer_get_id(buf), "role:video", tiny,
					 sizeof(tiny)), -ERANGE);
	assert_int_equal(bb_client_share(c, 9999, "role:video", token, sizeof(token)), -ESRCH);
	assert_int_equal(bb_client_share(c, bb_buffer_get_id(buf), "role:forbidden", token,
					 sizeof(token)), -EACCES);
	len = bb_client_share(c, bb_buffer_get_id(buf), "role:video", token, sizeof(token));
	assert_true(len > 0);

	assert_int_equal(bb_client_import(c2, token, &imp), 0);
	assert_true(is_cloexec(bb_buffer_get_fd(imp)));
	assert_int_not_equal(bb_buffer_get_id(imp), bb_buffer_get_id(buf));
	assert_int_equal(bb_buffer_get_size(imp), 8192);
	assert_int_equal(bb_buffer_map(imp, BB_ACCESS_READ, (void **)&q), 0);
	assert_memory_equal(p, q, 8192);
	assert_int_equal(bb_client_import(c2, "garbage", &imp), -EBADMSG);
	assert_string_equal(bb_client_last_error_message(c2), "token unknown or already used");

	assert_int_equal(bb_client_release(c2, imp), 0);
	assert_int_equal(bb_client_release(c, buf), 0);
	bb_client_free(c2);
}

static void release_of_unknown_id_is_esrch(void **state)
{
	struct bb_client *c = *state;

	assert_int_equal(bb_client_release_id(c, 4242), -ESRCH);
	assert_non_null(strstr(bb_client_last_error_message(c), "4242"));
	assert_int_equal(bb_client_release(c, NULL), 0);
}

static void heaps_usage_and_list_are_parsed(void **state)
{
	struct bb_client *c = *state;
	struct bb_heap_info *h;
	struct bb_usage_info *u;
	struct bb_buffer_info *b;
	size_t n;

	assert_int_equal(bb_client_list_heaps(c, &h, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].name, "camera@7c000000");
	assert_string_equal(h[0].aliases[0], "camera");
	assert_string_equal(h[0].aliases[1], "cam");
	assert_null(h[0].aliases[2]);
	assert_int_equal(h[0].size, 64 << 20);
	assert_int_equal(h[0].bytes_used, 4096);
	assert_int_equal(h[0].peak, 8192);
	assert_int_equal(h[0].failures, 1);
	assert_int_equal(h[0].buffers, 1);
	assert_null(h[1].aliases[0]);
	bb_heap_info_free(h, n);

	assert_int_equal(bb_client_usage(c, &u, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(u[0].client, ":1.7");
	assert_int_equal(u[0].uid, 1000);
	assert_string_equal(u[0].unit, "cam.service");
	assert_string_equal(u[0].role, "camera");
	assert_int_equal(u[0].bytes, 65536);
	assert_int_equal(u[0].buffers, 2);
	assert_string_equal(u[1].unit, "");
	bb_usage_info_free(u, n);

	assert_int_equal(bb_client_list_buffers(c, &b, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(b[0].id, 3);
	assert_string_equal(b[0].heap, "camera@7c000000");
	assert_string_equal(b[0].state, "owned");
	bb_buffer_info_free(b, n);
}

struct async_result {
	int calls;
	int result;
	struct bb_buffer *buf;
	bool had_layout;
	struct bb_image_layout layout;
	char msg[128];
};

static void on_alloc(struct bb_client *c, int result, struct bb_buffer *buf,
		     const struct bb_image_layout *layout, void *userdata)
{
	struct async_result *ar = userdata;

	ar->calls++;
	ar->result = result;
	ar->buf = buf;
	ar->had_layout = layout != NULL;
	if (layout)
		ar->layout = *layout;
	snprintf(ar->msg, sizeof(ar->msg), "%s", bb_client_last_error_message(c));
}

/* The loop an application would run: poll fd/events/timeout, then dispatch. */
static void run_until(struct bb_client *c, const int *calls, int want)
{
	for (int i = 0; i < 500 && *calls < want; i++) {
		struct pollfd pfd = { .fd = bb_client_get_fd(c), .events = (short)bb_client_get_events(c) };

		assert_true(pfd.fd >= 0);
		int ms = bb_client_get_timeout_ms(c);

		assert_true(poll(&pfd, 1, ms < 0 || ms > 100 ? 100 : ms) >= 0);
		assert_true(bb_client_dispatch(c) >= 0);
	}
}

static void async_alloc_completes_from_the_event_loop(void **state)
{
	struct bb_client *c = *state;
	struct async_result ok = { 0 }, denied = { 0 }, img = { 0 };
	uint64_t t;

	assert_int_equal(bb_client_alloc_async(c, "camera", 16384, NULL, on_alloc, &ok), 0);
	assert_int_equal(bb_client_alloc_async(c, "denied", 16384, NULL, on_alloc, &denied), 0);
	assert_int_equal(bb_client_alloc_image_async(c, "camera", DRM_FORMAT_YUYV, 640, 480, 0,
						     NULL, on_alloc, &img), 0);
	assert_int_equal(ok.calls, 0); /* nothing runs before dispatch */
	assert_int_equal(bb_client_get_timeout(c, &t), 0);
	assert_true(t != UINT64_MAX); /* pending calls have a deadline */
	run_until(c, &img.calls, 1);
	run_until(c, &ok.calls, 1);
	run_until(c, &denied.calls, 1);

	assert_int_equal(ok.calls, 1);
	assert_int_equal(ok.result, 0);
	assert_non_null(ok.buf);
	assert_false(ok.had_layout);
	assert_int_equal(bb_buffer_get_size(ok.buf), 16384);
	assert_true(is_cloexec(bb_buffer_get_fd(ok.buf)));

	assert_int_equal(denied.calls, 1);
	assert_int_equal(denied.result, -EACCES);
	assert_null(denied.buf);
	assert_non_null(strstr(denied.msg, "may not use role"));

	assert_int_equal(img.result, 0);
	assert_true(img.had_layout);
	assert_int_equal(img.layout.planes[0].stride, 1280);
	assert_int_equal(img.layout.size, 614400);

	/* import_async through the same loop */
	{
		char token[BB_TOKEN_MAX];
		struct async_result imp = { 0 };

		assert_true(bb_client_share(c, bb_buffer_get_id(ok.buf), "role:video", token,
					    sizeof(token)) > 0);
		assert_int_equal(bb_client_import_async(c, token, on_alloc, &imp), 0);
		run_until(c, &imp.calls, 1);
		assert_int_equal(imp.result, 0);
		assert_int_equal(bb_buffer_get_size(imp.buf), 16384);
		assert_int_equal(bb_client_release(c, imp.buf), 0);
	}
	assert_int_equal(bb_client_release(c, ok.buf), 0);
	assert_int_equal(bb_client_release(c, img.buf), 0);
}

static void freeing_a_client_cancels_pending_calls(void **state)
{
	struct async_result ar = { 0 };
	struct bb_client *c;

	(void)state;
	assert_int_equal(bb_client_connect(&c, 0), 0);
	assert_int_equal(bb_client_alloc_async(c, "camera", 4096, NULL, on_alloc, &ar), 0);
	bb_client_free(c); /* ASan: the pending context must not leak */
	assert_int_equal(ar.calls, 0);
}

static void a_silent_daemon_times_out(void **state)
{
	struct bb_client *c = *state;
	struct bb_usage_info *u;
	size_t n;

	assert_int_equal(bb_client_set_timeout(c, 200 * 1000), 0);
	atomic_store(&fake.slow, true);
	assert_int_equal(bb_client_usage(c, &u, &n), -ETIMEDOUT);
	atomic_store(&fake.slow, false);
	assert_int_equal(bb_client_set_timeout(c, 0), 0);
}

static void an_absent_daemon_is_ehostunreach(void **state)
{
	struct bb_client *c = *state;
	struct bb_heap_info *h;
	size_t n;
	int r = 0;

	atomic_store(&fake.release_name, true);
	for (int i = 0; i < 100; i++) { /* until the name is gone */
		r = bb_client_list_heaps(c, &h, &n);
		if (r < 0)
			break;
		bb_heap_info_free(h, n);
		usleep(10 * 1000);
	}
	assert_int_equal(r, -EHOSTUNREACH);
	assert_non_null(strstr(bb_client_last_error_name(c), "ServiceUnknown"));
	atomic_store(&fake.request_name, true);
	for (int i = 0; i < 100; i++) {
		r = bb_client_list_heaps(c, &h, &n);
		if (r >= 0) {
			bb_heap_info_free(h, n);
			break;
		}
		usleep(10 * 1000);
	}
	assert_int_equal(r, 0);
}

/* ---- the private connection (OpenSession) ------------------------------- */

/* open[fd] = whether fd is open, for fd < n */
static void open_fds(bool *open, int n)
{
	for (int fd = 0; fd < n; fd++)
		open[fd] = fcntl(fd, F_GETFD) >= 0;
}

static void calls_use_the_session_when_the_daemon_offers_one(void **state)
{
	struct bb_client *c = *state;
	struct bb_heap_info *h;
	struct bb_buffer *buf;
	bool before[1024], after[1024];
	size_t n;

	open_fds(before, 1024);
	assert_int_equal(bb_client_alloc(c, "camera", 4096, NULL, &buf), 0);
	assert_int_equal(open_calls(), 1);
	assert_int_equal(bus_calls(), 1);     /* OpenSession */
	assert_int_equal(session_calls(), 1); /* Allocate */
	assert_int_equal(bb_buffer_get_size(buf), 4096);
	open_fds(after, 1024);
	for (int fd = 0; fd < 1024; fd++)
		if (after[fd] && !before[fd])
			assert_true(is_cloexec(fd));

	assert_int_equal(bb_client_release(c, buf), 0);
	assert_int_equal(bb_client_list_heaps(c, &h, &n), 0);
	bb_heap_info_free(h, n);
	assert_int_equal(open_calls(), 1); /* one session, kept */
	assert_int_equal(session_calls(), 3);
	/* daemon errors come back unchanged */
	assert_int_equal(bb_client_alloc(c, "quota", 4096, NULL, &buf), -EDQUOT);
	assert_string_equal(bb_client_last_error_name(c), ERR("QuotaExceeded"));
	assert_string_equal(bb_client_last_error_message(c), "role quota: 64M in use");
	assert_int_equal(bus_calls(), 1);
}

static void no_session_flag_keeps_calls_on_the_bus(void **state)
{
	struct bb_client *c;
	struct bb_buffer *buf;

	(void)state;
	assert_true(sessions_gone());
	atomic_store(&fake.open_mode, OPEN_SESSION);
	mark();
	/* combines with the other flag (ignored here: BUFBROKER_BUS_ADDRESS wins) */
	assert_int_equal(bb_client_connect(&c, BB_CONNECT_NO_SESSION | BB_CONNECT_USER_BUS), 0);
	assert_int_equal(bb_client_alloc(c, "camera", 4096, NULL, &buf), 0);
	assert_int_equal(bb_client_release(c, buf), 0);
	assert_int_equal(open_calls(), 0);
	assert_int_equal(bus_calls(), 2);
	assert_int_equal(session_calls(), 0);
	bb_client_free(c);
}

/* An older daemon is asked once per client; NotSupported is final too. */
static void without_sessions_the_daemon_is_asked_once(void **state)
{
	static const int modes[] = { OPEN_UNKNOWN_METHOD, OPEN_NOT_SUPPORTED };
	struct bb_client *c;
	struct bb_buffer *buf;

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		c = connect_in_mode(modes[i]);
		assert_int_equal(bb_client_alloc(c, "camera", 4096, NULL, &buf), 0);
		/* the failed OpenSession leaves no error behind */
		assert_string_equal(bb_client_last_error_name(c), "");
		assert_int_equal(bb_client_release(c, buf), 0);
		assert_int_equal(bb_client_alloc(c, "denied", 4096, NULL, &buf), -EACCES);
		assert_string_equal(bb_client_last_error_name(c), ERR("AccessDenied"));
		assert_int_equal(open_calls(), 1);
		assert_int_equal(bus_calls(), 4);
		assert_int_equal(session_calls(), 0);
		bb_client_free(c);
	}
}

/* Any other failure (here QuotaExceeded) is worth another try next call. */
static void a_refused_session_is_asked_for_again(void **state)
{
	struct bb_client *c;
	struct bb_buffer *buf;

	(void)state;
	c = connect_in_mode(OPEN_QUOTA);
	assert_int_equal(bb_client_alloc(c, "camera", 4096, NULL, &buf), 0);
	assert_int_equal(bb_client_release(c, buf), 0);
	assert_int_equal(open_calls(), 2);
	assert_int_equal(bus_calls(), 4);
	atomic_store(&fake.open_mode, OPEN_SESSION);
	assert_int_equal(bb_client_alloc(c, "camera", 4096, NULL, &buf), 0);
	assert_int_equal(open_calls(), 3);
	assert_int_equal(session_calls(), 1);
	assert_int_equal(bb_client_release(c, buf), 0);
	assert_int_equal(session_calls(), 2);
	bb_client_free(c);
}

/* A session that never authenticates carries no call; the next call retries. */
static void a_session_that_rejects_us_is_not_used(void **state)
{
	struct bb_client *c;
	struct bb_buffer *buf;

	(void)state;
	c = connect_in_mode(OPEN_NO_ANONYMOUS);
	assert_int_equal(bb_client_alloc(c, "camera", 4096, NULL, &buf), 0);
	assert_string_equal(bb_client_last_error_name(c), "");
	assert_int_equal(bb_client_release(c, buf), 0);
	assert_int_equal(open_calls(), 2);
	assert_int_equal(bus_calls(), 4);
	assert_int_equal(session_calls(), 0);
	bb_client_free(c);
}

/* A daemon that does not answer OpenSession costs the caller one timeout, not a
 * second one on the bus; once it answers again, the next call gets a session. */
static void a_silent_open_session_times_out_once(void **state)
{
	struct bb_client *c;
	struct bb_buffer *buf = NULL;

	(void)state;
	c = connect_in_mode(OPEN_SILENT);
	assert_int_equal(bb_client_set_timeout(c, 200 * 1000), 0);
	assert_int_equal(bb_client_alloc(c, "camera", 4096, NULL, &buf), -ETIMEDOUT);
	assert_null(buf);
	assert_non_null(strstr(bb_client_last_error_message(c), "did not answer"));
	assert_int_equal(open_calls(), 1);
	assert_int_equal(bus_calls(), 1); /* OpenSession only: no Allocate on the bus */
	atomic_store(&fake.open_mode, OPEN_SESSION);
	assert_int_equal(bb_client_alloc(c, "camera", 4096, NULL, &buf), 0);
	assert_int_equal(open_calls(), 2);
	assert_int_equal(session_calls(), 1);
	assert_int_equal(bb_client_release(c, buf), 0);
	bb_client_free(c);
}

static void drop_all_sessions(void)
{
	atomic_store(&fake.drop_sessions, true);
	assert_true(sessions_gone());
}

static void a_dropped_session_is_reopened_by_the_next_call(void **state)
{
	struct bb_client *c = *state;
	struct bb_buffer *buf, *buf2;

	assert_int_equal(bb_client_alloc(c, "camera", 4096, NULL, &buf), 0);
	assert_int_equal(open_calls(), 1);
	drop_all_sessions(); /* as when bufbrokerd restarts */
	assert_int_equal(bb_client_alloc(c, "camera", 8192, NULL, &buf2), 0);
	assert_int_equal(bb_buffer_get_size(buf2), 8192);
	assert_int_equal(open_calls(), 2);
	assert_int_equal(session_calls(), 2);
	assert_int_equal(bb_client_release(c, buf2), 0);
	assert_int_equal(bb_client_release(c, buf), 0);
	assert_int_equal(open_calls(), 2);
}

static void async_alloc_over_the_session_completes_from_the_event_loop(void **state)
{
	struct bb_client *c = *state;
	struct async_result ok = { 0 };
	int fd = bb_client_get_fd(c);

	assert_true(fd >= 0);
	assert_true(is_cloexec(fd));
	assert_int_equal(bb_client_alloc_async(c, "camera", 16384, NULL, on_alloc, &ok), 0);
	assert_int_equal(open_calls(), 1); /* opened before the call was sent */
	assert_int_equal(ok.calls, 0);
	run_until(c, &ok.calls, 1);
	assert_int_equal(ok.calls, 1);
	assert_int_equal(ok.result, 0);
	assert_int_equal(bb_buffer_get_size(ok.buf), 16384);
	assert_int_equal(session_calls(), 1);
	assert_int_equal(bus_calls(), 1);
	assert_int_equal(bb_client_get_fd(c), fd); /* stable across the session */
	assert_int_equal(bb_client_release(c, ok.buf), 0);
}

/* Calls pending on a session that breaks fail through dispatch, once, and
 * the client carries on with a new session behind the same fd. */
static void calls_pending_on_a_dropped_session_fail_through_dispatch(void **state)
{
	struct bb_client *c = *state;
	struct async_result held = { 0 }, ok = { 0 };
	struct bb_heap_info *h;
	int fd = bb_client_get_fd(c), seen = atomic_load(&fake.held_allocs);
	size_t n;

	assert_int_equal(bb_client_alloc_async(c, "hold", 4096, NULL, on_alloc, &held), 0);
	for (int i = 0; i < 500 && atomic_load(&fake.held_allocs) == seen; i++) {
		struct pollfd p = { .fd = fd, .events = (short)bb_client_get_events(c) };

		poll(&p, 1, 10);
		assert_true(bb_client_dispatch(c) >= 0);
	}
	assert_int_equal(atomic_load(&fake.held_allocs), seen + 1);
	drop_all_sessions();

	/* meanwhile a call takes the bus: the dead session still owes a reply */
	assert_int_equal(bb_client_list_heaps(c, &h, &n), 0);
	bb_heap_info_free(h, n);
	assert_int_equal(bus_calls(), 2); /* OpenSession, Heaps */
	assert_int_equal(held.calls, 0);  /* callbacks only run from dispatch */

	run_until(c, &held.calls, 1);
	assert_int_equal(held.calls, 1);
	assert_true(held.result < 0);
	assert_null(held.buf);
	assert_true(held.msg[0] != '\0');

	assert_int_equal(bb_client_alloc_async(c, "camera", 4096, NULL, on_alloc, &ok), 0);
	run_until(c, &ok.calls, 1);
	assert_int_equal(ok.result, 0);
	assert_int_equal(open_calls(), 2);
	assert_int_equal(session_calls(), 2); /* the held Allocate, then this one */
	assert_int_equal(bb_client_get_fd(c), fd);
	assert_int_equal(held.calls, 1);
	assert_int_equal(bb_client_release(c, ok.buf), 0);
}

/* With the daemon gone OpenSession fails; the call still says ServiceUnknown. */
static void an_absent_daemon_is_ehostunreach_with_sessions(void **state)
{
	struct bb_client *c = *state, *probe;
	struct bb_heap_info *h;
	size_t n;
	int r = 0;

	assert_int_equal(bb_client_connect(&probe, BB_CONNECT_NO_SESSION), 0);
	atomic_store(&fake.release_name, true);
	for (int i = 0; i < 100 && (r = bb_client_list_heaps(probe, &h, &n)) >= 0; i++) {
		bb_heap_info_free(h, n);
		usleep(10 * 1000);
	}
	assert_int_equal(r, -EHOSTUNREACH);
	mark();
	assert_int_equal(bb_client_list_heaps(c, &h, &n), -EHOSTUNREACH);
	assert_non_null(strstr(bb_client_last_error_name(c), "ServiceUnknown"));
	assert_int_equal(open_calls(), 0);

	atomic_store(&fake.request_name, true);
	for (int i = 0; i < 100 && (r = bb_client_list_heaps(probe, &h, &n)) < 0; i++)
		usleep(10 * 1000);
	assert_int_equal(r, 0);
	bb_heap_info_free(h, n);
	bb_client_free(probe);
	mark();
	assert_int_equal(bb_client_list_heaps(c, &h, &n), 0);
	bb_heap_info_free(h, n);
	assert_int_equal(open_calls(), 1);
	assert_int_equal(session_calls(), 1);
}

static void connect_to_a_bad_address_fails(void **state)
{
	struct bb_client *c = NULL;
	char *saved = strdup(getenv("BUFBROKER_BUS_ADDRESS"));

	(void)state;
	setenv("BUFBROKER_BUS_ADDRESS", "unix:path=/nonexistent/bb-bus", 1);
	assert_true(bb_client_connect(&c, 0) < 0);
	assert_null(c);
	assert_int_equal(bb_client_connect(&c, 0x100), -EINVAL);
	setenv("BUFBROKER_BUS_ADDRESS", saved, 1);
	free(saved);
}

static void direct_mode_resolves_names_and_reports_errors(void **state)
{
	char heaps[PATH_MAX], stats[PATH_MAX], path[PATH_MAX + 32], name[64];
	struct bb_buffer *buf = NULL;
	FILE *f;

	(void)state;
	snprintf(heaps, sizeof(heaps), "%s/dma_heap", fake.dir);
	snprintf(stats, sizeof(stats), "%s/regions", fake.dir);
	assert_int_equal(mkdir(heaps, 0755), 0);
	assert_int_equal(mkdir(stats, 0755), 0);
	snprintf(path, sizeof(path), "%s/default_cma_region", heaps);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	setenv("BUFBROKER_HEAP_DIR", heaps, 1);
	setenv("BUFBROKER_STATS_DIR", stats, 1);

	assert_int_equal(bb_direct_resolve_heap("linux,cma", name, sizeof(name)), 0);
	assert_string_equal(name, "default_cma_region");
	assert_int_equal(bb_direct_alloc("camera", 4096, &buf), -ENOENT);
	assert_int_equal(bb_direct_alloc(NULL, 0, &buf), -EINVAL);
	/* a regular file is found and opened, but is no heap: the ioctl fails */
	assert_int_equal(bb_direct_alloc(NULL, 4096, &buf), -ENOTTY);
	assert_int_equal(bb_direct_alloc_image(NULL, DRM_FORMAT_NV12, 3, 3, 0, &buf, NULL),
			 -EINVAL);
	assert_null(buf);
	unsetenv("BUFBROKER_HEAP_DIR");
	unsetenv("BUFBROKER_STATS_DIR");
}

/* bufbrokerctl against the fake broker (BB_TEST_CTL = path of the binary). */
static void run_ctl(const char *args, char *out, size_t len, int *status)
{
	char cmd[PATH_MAX + 256];
	size_t got;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", getenv("BB_TEST_CTL"), args);
	p = popen(cmd, "r");
	assert_non_null(p);
	got = fread(out, 1, len - 1, p);
	out[got] = '\0';
	*status = pclose(p);
}

static void ctl_talks_to_the_daemon(void **state)
{
	char out[8192];
	int st;

	(void)state;
	if (!getenv("BB_TEST_CTL"))
		skip();
	run_ctl("heaps", out, sizeof(out), &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "camera@7c000000"));
	assert_non_null(strstr(out, "camera,cam"));
	run_ctl("--json heaps", out, sizeof(out), &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "{\"name\":\"camera@7c000000\",\"aliases\":[\"camera\",\"cam\"],"
				    "\"size\":67108864,\"used\":4096,\"peak\":8192,\"failures\":1"));
	run_ctl("usage --json", out, sizeof(out), &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "\"roles\":[{\"role\":\"camera\",\"clients\":1,\"bytes\":65536"));
	run_ctl("alloc camera 64K", out, sizeof(out), &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "size 65536 id "));
	run_ctl("alloc --json camera NV12:1280x720", out, sizeof(out), &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "\"size\":1384448"));
	assert_non_null(strstr(out, "{\"offset\":921600,\"stride\":1280,\"height\":360}"));
	run_ctl("alloc denied 4K", out, sizeof(out), &st);
	assert_int_equal(WEXITSTATUS(st), 5);
	assert_non_null(strstr(out, "may not use role"));
	run_ctl("alloc full 4K", out, sizeof(out), &st);
	assert_int_equal(WEXITSTATUS(st), 1);
	run_ctl("monitor --count 2 --interval 0.05 --json", out, sizeof(out), &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "{\"heaps\":["));
	assert_non_null(strchr(strchr(out, '\n') + 1, '\n')); /* two lines */
}

#define T(f) cmocka_unit_test_setup_teardown(f, client_setup, client_teardown)
/* the same test over a session; the teardown checks only OpenSession used the bus */
#define TS(f) { #f "_over_a_session", f, session_setup, session_teardown, NULL }
/* a client against a daemon with sessions, for the tests of sessions */
#define TC(f) cmocka_unit_test_setup_teardown(f, session_setup, session_client_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(alloc_returns_owned_cloexec_fd_and_sends_options),
		T(alloc_rejects_bad_arguments_locally),
		T(a_set_is_allocated_and_released_in_one_call_each),
		T(daemon_errors_become_errno_and_message),
		T(alloc_image_returns_the_daemon_layout),
		T(share_and_import_give_the_same_memory),
		T(release_of_unknown_id_is_esrch),
		T(heaps_usage_and_list_are_parsed),
		T(async_alloc_completes_from_the_event_loop),
		cmocka_unit_test(freeing_a_client_cancels_pending_calls),
		T(a_silent_daemon_times_out),
		T(an_absent_daemon_is_ehostunreach),
		cmocka_unit_test(connect_to_a_bad_address_fails),
		cmocka_unit_test(direct_mode_resolves_names_and_reports_errors),
		cmocka_unit_test(ctl_talks_to_the_daemon),

		TS(alloc_returns_owned_cloexec_fd_and_sends_options),
		TS(a_set_is_allocated_and_released_in_one_call_each),
		TS(daemon_errors_become_errno_and_message),
		TS(alloc_image_returns_the_daemon_layout),
		TS(share_and_import_give_the_same_memory),
		TS(release_of_unknown_id_is_esrch),
		TS(heaps_usage_and_list_are_parsed),
		TS(async_alloc_completes_from_the_event_loop),
		TS(freeing_a_client_cancels_pending_calls),
		TS(a_silent_daemon_times_out),
		cmocka_unit_test_teardown(no_session_flag_keeps_calls_on_the_bus, reset_mode),
		cmocka_unit_test_teardown(without_sessions_the_daemon_is_asked_once, reset_mode),
		cmocka_unit_test_teardown(a_refused_session_is_asked_for_again, reset_mode),
		cmocka_unit_test_teardown(a_session_that_rejects_us_is_not_used, reset_mode),
		cmocka_unit_test_teardown(a_silent_open_session_times_out_once, reset_mode),
		TC(calls_use_the_session_when_the_daemon_offers_one),
		TC(a_dropped_session_is_reopened_by_the_next_call),
		TC(async_alloc_over_the_session_completes_from_the_event_loop),
		TC(calls_pending_on_a_dropped_session_fail_through_dispatch),
		TC(an_absent_daemon_is_ehostunreach_with_sessions),
	};

	return cmocka_run_group_tests_name("libbufbroker", tests, group_setup, group_teardown);
}
