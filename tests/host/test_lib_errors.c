// SPDX-License-Identifier: MIT
/*
 * test_lib_errors.c - org.bufbroker.Error.* <-> errno (docs/contracts.md) in
 * common/errors.c, and the library path that turns a D-Bus error reply into
 * -errno plus the daemon's message (libclient/client.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "internal.h"

/* The contract, written out independently of common/errors.c. */
static const struct {
	const char *name;
	int err;
} contract[] = {
	{ "org.bufbroker.Error.AccessDenied", EACCES },
	{ "org.bufbroker.Error.QuotaExceeded", EDQUOT },
	{ "org.bufbroker.Error.NoSuchRole", ENOENT },
	{ "org.bufbroker.Error.NoSuchHeap", ENODEV },
	{ "org.bufbroker.Error.RegionFull", ENOMEM },
	{ "org.bufbroker.Error.InvalidArgument", EINVAL },
	{ "org.bufbroker.Error.NoSuchBuffer", ESRCH },
	{ "org.bufbroker.Error.InvalidToken", EBADMSG },
	{ "org.bufbroker.Error.NotSupported", EOPNOTSUPP },
};
#define N_CONTRACT (sizeof(contract) / sizeof(contract[0]))

static void every_error_name_maps_to_its_errno(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_CONTRACT; i++)
		assert_int_equal(bb_error_to_errno(contract[i].name), contract[i].err);
}

static void every_errno_maps_back_to_its_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_CONTRACT; i++) {
		assert_string_equal(bb_errno_to_error(contract[i].err), contract[i].name);
		assert_string_equal(bb_errno_to_error(-contract[i].err), contract[i].name);
	}
}

static void the_table_is_exactly_the_contract(void **state)
{
	(void)state;
	assert_int_equal(BB_N_ERRORS, N_CONTRACT);
	for (unsigned int i = 0; i < BB_N_ERRORS; i++) {
		const char *name = bb_error_name_at(i);
		size_t k;

		assert_non_null(name);
		for (k = 0; k < N_CONTRACT; k++)
			if (!strcmp(contract[k].name, name))
				break;
		assert_true(k < N_CONTRACT);
	}
	assert_null(bb_error_name_at(BB_N_ERRORS));
}

static void errnos_are_distinct(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_CONTRACT; i++)
		for (size_t k = i + 1; k < N_CONTRACT; k++)
			assert_int_not_equal(contract[i].err, contract[k].err);
}

static void unknown_names_and_errnos_map_to_nothing(void **state)
{
	(void)state;
	assert_int_equal(bb_error_to_errno(NULL), 0);
	assert_int_equal(bb_error_to_errno("org.bufbroker.Error.Bogus"), 0);
	assert_int_equal(bb_error_to_errno("org.freedesktop.DBus.Error.AccessDenied"), 0);
	assert_null(bb_errno_to_error(EIO));
	assert_null(bb_errno_to_error(0));
}

static int reply_error(struct bb_client *c, const char *name, const char *msg)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	sd_bus_error_set(&e, name, msg);
	r = client_set_bus_error(c, &e, -EIO);
	sd_bus_error_free(&e);
	return r;
}

static void library_maps_daemon_errors_and_keeps_the_message(void **state)
{
	struct bb_client c = { 0 };

	(void)state;
	for (size_t i = 0; i < N_CONTRACT; i++) {
		assert_int_equal(reply_error(&c, contract[i].name, "what to change"),
				 -contract[i].err);
		assert_string_equal(bb_client_last_error_message(&c), "what to change");
		assert_string_equal(bb_client_last_error_name(&c), contract[i].name);
		assert_non_null(bb_strerror(-contract[i].err));
	}
	client_clear_error(&c);
	assert_string_equal(bb_client_last_error_message(&c), "");
	assert_string_equal(bb_client_last_error_name(&c), "");
}

static void library_maps_bus_errors_for_an_absent_daemon(void **state)
{
	struct bb_client c = { 0 };

	(void)state;
	assert_int_equal(reply_error(&c, "org.freedesktop.DBus.Error.ServiceUnknown", "no"),
			 -EHOSTUNREACH);
	assert_int_equal(reply_error(&c, "org.freedesktop.DBus.Error.NameHasNoOwner", "no"),
			 -ENXIO);
	assert_int_equal(reply_error(&c, "org.freedesktop.DBus.Error.NoReply", "late"),
			 -ETIMEDOUT);
	assert_int_equal(reply_error(&c, "org.freedesktop.DBus.Error.AccessDenied", "bus policy"),
			 -EACCES);
	/* an unknown error name falls back to the call's own errno */
	assert_int_equal(reply_error(&c, "com.example.Weird", "?"), -EIO);
	assert_string_equal(bb_client_last_error_name(&c), "com.example.Weird");
	client_clear_error(&c);
}

static void local_errors_get_a_message(void **state)
{
	struct bb_client c = { 0 };

	(void)state;
	assert_int_equal(client_set_errno(&c, ENOMEM, NULL), -ENOMEM);
	assert_string_equal(bb_client_last_error_message(&c), strerror(ENOMEM));
	assert_int_equal(client_set_errno(&c, -EINVAL, "bad role"), -EINVAL);
	assert_string_equal(bb_client_last_error_message(&c), "bad role");
	client_clear_error(&c);
	assert_string_equal(bb_client_last_error_message(NULL), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_error_name_maps_to_its_errno),
		cmocka_unit_test(every_errno_maps_back_to_its_name),
		cmocka_unit_test(the_table_is_exactly_the_contract),
		cmocka_unit_test(errnos_are_distinct),
		cmocka_unit_test(unknown_names_and_errnos_map_to_nothing),
		cmocka_unit_test(library_maps_daemon_errors_and_keeps_the_message),
		cmocka_unit_test(library_maps_bus_errors_for_an_absent_daemon),
		cmocka_unit_test(local_errors_get_a_message),
	};

	return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
