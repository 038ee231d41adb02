# daemon/tests.mk - host tests of bufbrokerd (cmocka, ASan/UBSan).
# Included by daemon/Makefile ("make -C daemon check"); a top-level Makefile can run them with
#   check: ; $(MAKE) -C daemon check
# Needs mk/common.mk and common/common.mk included first. Each test binary exits non-zero on
# failure and cmocka prints its summary.
BB_DTEST_DIR := $(TOP)/tests/host
BB_DTEST_OUT := $(BUILD)/tests/daemon
BB_DTEST_CFLAGS = $(DAEMON_CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) -I$(TOP)/tests/guest -DBB_TOP='"$(TOP)"' \
	-DBB_BUILD='"$(BUILD)"'
BB_DTEST_LDLIBS = $(shell $(PKG_CONFIG) --libs cmocka) $(DAEMON_LDLIBS)

# test_policy: parser only; test_daemon_units: quota, buffer table, tokens, error map, DT lookup;
# test_daemon_dbus: the real bufbrokerd on a private dbus-daemon (error paths, introspection,
# heap signals, reload, cleanup). Allocation itself is tested in the guest against the module.
BB_DTESTS := test_policy test_daemon_units test_daemon_dbus
BB_DTEST_BINS := $(addprefix $(BB_DTEST_OUT)/,$(BB_DTESTS))
BB_DTEST_LIB_OBJS := $(addprefix $(OUT)/,$(DAEMON_LIB_SRCS:.c=.o)) $(DAEMON_COMMON_OBJS)

$(BB_DTEST_OUT):
	mkdir -p $@

# rawsession.c: a raw OpenSession client, shared with the guest fuzzer and the benchmark.
BB_DTEST_EXTRA := $(TOP)/tests/guest/rawsession.c

$(BB_DTEST_OUT)/%: $(BB_DTEST_DIR)/%.c $(BB_DTEST_LIB_OBJS) $(BB_DTEST_EXTRA) $(wildcard $(TOP)/daemon/*.h) | $(BB_DTEST_OUT)
	$(CC) $(BB_DTEST_CFLAGS) $(LDFLAGS_COMMON) -o $@ $< $(BB_DTEST_EXTRA) $(BB_DTEST_LIB_OBJS) $(BB_DTEST_LDLIBS)

ifeq ($(TARGET),host)
check: $(OUT)/bufbrokerd $(BB_DTEST_BINS)
	@set -e; for t in $(BB_DTEST_BINS); do echo "== $$t"; \
		BUFBROKERD=$(OUT)/bufbrokerd $$t; done
	@if command -v systemd-analyze >/dev/null; then echo "== systemd-analyze verify"; \
		$(TOP)/daemon/systemd/verify-unit.sh $(OUT)/bufbrokerd; fi
else
check:
	@echo "daemon host tests run with TARGET=host only"
endif
