# common/common.mk - sources shared by the daemon, libbufbroker and bufbrokerctl.
# Include after mk/common.mk; add $(COMMON_CFLAGS) to CFLAGS and compile
# $(COMMON_SRCS) into your target (they are small; no separate library).
COMMON_DIR := $(TOP)/common
COMMON_SRCS := $(COMMON_DIR)/image_layout.c $(COMMON_DIR)/heap_names.c \
	$(COMMON_DIR)/heap_stats.c $(COMMON_DIR)/errors.c
COMMON_HDRS := $(COMMON_SRCS:.c=.h) $(TOP)/include/bufbroker/bufbroker-layout.h
COMMON_CFLAGS := -I$(COMMON_DIR) $(shell $(PKG_CONFIG) --cflags libdrm)
