// SPDX-License-Identifier: MIT
/* rawsession.c - see rawsession.h. */
#include "rawsession.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int bb_raw_session_open(sd_bus *bus, sd_bus **out, sd_bus_error *e)
{
	static const char name[] = "org.bufbroker.Broker1";
	sd_bus_message *reply = NULL;
	sd_bus *s = NULL;
	int fd = -1, r;

	r = sd_bus_call_method(bus, name, "/org/bufbroker/Broker1", name, "OpenSession", e, &reply, "");
	if (r >= 0)
		r = sd_bus_message_read(reply, "h", &fd);
	if (r >= 0) {
		/* The reply owns its fd. */
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		r = fd < 0 ? -errno : 0;
	}
	sd_bus_message_unref(reply);
	if (r < 0)
		return r;
	r = sd_bus_new(&s);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = sd_bus_set_fd(s, fd, fd);
	if (r < 0)
		close(fd);
	if (r >= 0)
		r = sd_bus_set_anonymous(s, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(s, 1);
	if (r >= 0)
		r = sd_bus_start(s);
	if (r < 0) {
		sd_bus_close_unref(s);
		return r;
	}
	*out = s;
	return 0;
}
