# tests/host/test_lib_rules.mk - host tests of common/ and libbufbroker.
# Included by libclient/Makefile ("make -C libclient check"); the top-level
# Makefile can run them with:   check: ; $(MAKE) -C libclient check
# Each test binary exits non-zero on failure; abi-check.sh likewise.
BB_LIBTEST_DIR := $(TOP)/tests/host
BB_LIBTEST_OUT := $(BUILD)/tests/libclient
# Expanded only when a test is built: the arm64 build reads this file too, and its sysroot has no cmocka.
BB_LIBTEST_CFLAGS = $(CFLAGS_COMMON) $(COMMON_CFLAGS) -I$(TOP)/libclient \
	$(shell $(PKG_CONFIG) --cflags cmocka libsystemd)
BB_LIBTEST_LDLIBS = $(shell $(PKG_CONFIG) --libs cmocka)

# unit tests linking the common/ sources directly
BB_UNIT_TESTS := test_layout test_names test_lib_errors
# tests linking libbufbroker.so (a private dbus-daemon and a fake broker)
BB_LIB_TESTS := test_lib_client

BB_LIBTEST_BINS := $(addprefix $(BB_LIBTEST_OUT)/,$(BB_UNIT_TESTS) $(BB_LIB_TESTS))

$(BB_LIBTEST_OUT):
	mkdir -p $@

$(BB_LIBTEST_OUT)/test_layout: $(BB_LIBTEST_DIR)/test_layout.c $(COMMON_SRCS) $(COMMON_HDRS) | $(BB_LIBTEST_OUT)
	$(CC) $(BB_LIBTEST_CFLAGS) $(LDFLAGS_COMMON) -o $@ $< $(COMMON_SRCS) $(BB_LIBTEST_LDLIBS)

$(BB_LIBTEST_OUT)/test_names: $(BB_LIBTEST_DIR)/test_names.c $(COMMON_SRCS) $(COMMON_HDRS) | $(BB_LIBTEST_OUT)
	$(CC) $(BB_LIBTEST_CFLAGS) $(LDFLAGS_COMMON) -o $@ $< $(COMMON_SRCS) $(BB_LIBTEST_LDLIBS)

# error mapping: the common table plus the library's D-Bus error -> errno path
# (client.c closes the private connection of session.c, hence both)
$(BB_LIBTEST_OUT)/test_lib_errors: $(BB_LIBTEST_DIR)/test_lib_errors.c $(COMMON_SRCS) \
		$(COMMON_HDRS) $(TOP)/libclient/client.c $(TOP)/libclient/session.c \
		$(TOP)/libclient/internal.h | $(BB_LIBTEST_OUT)
	$(CC) $(BB_LIBTEST_CFLAGS) $(LDFLAGS_COMMON) -o $@ $< $(TOP)/libclient/client.c \
		$(TOP)/libclient/session.c $(COMMON_SRCS) $(BB_LIBTEST_LDLIBS) \
		$(shell $(PKG_CONFIG) --libs libsystemd)

$(BB_LIBTEST_OUT)/test_lib_client: $(BB_LIBTEST_DIR)/test_lib_client.c $(OUT)/libbufbroker.so | $(BB_LIBTEST_OUT)
	$(CC) $(BB_LIBTEST_CFLAGS) $(LDFLAGS_COMMON) -o $@ $< -L$(OUT) -lbufbroker \
		-Wl,-rpath,$(OUT) $(BB_LIBTEST_LDLIBS) $(shell $(PKG_CONFIG) --libs libsystemd) -lpthread

ifeq ($(TARGET),host)
check: all $(BB_LIBTEST_BINS)
	@set -e; for t in $(BB_LIBTEST_BINS); do echo "== $$t"; \
		BB_TEST_CTL=$(OUT)/bufbrokerctl timeout 300 $$t; done
	@echo "== abi-check"; $(BB_LIBTEST_DIR)/abi-check.sh $(OUT)/$(SONAME) $(TOP)/libclient/libbufbroker.symbols $(TOP)/include/bufbroker/bufbroker.h
	@echo "== bufbrokerctl"; $(BB_LIBTEST_DIR)/test_lib_ctl.sh $(OUT)/bufbrokerctl $(TOP)
else
check:
	@echo "host tests run with TARGET=host only"
endif
