# Shared settings for every userspace Makefile in the tree.
#
# TARGET=host  (default) native build with ASan/UBSan, for host unit tests.
# TARGET=arm64 cross build for the guest, against the private arm64 sysroot
#              made by tools/mk-sysroot.sh (build/sysroot-arm64).
# Output goes to $(TOP)/build/$(TARGET)/<component>/.

TOP ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
TARGET ?= host
BUILD ?= $(TOP)/build/$(TARGET)

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARNINGS) -fno-common -I$(TOP)/include

ifeq ($(TARGET),host)
CC := gcc
PKG_CONFIG := pkg-config
SAN_FLAGS ?= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifeq ($(TARGET),arm64)
CC := aarch64-linux-gnu-gcc-12
SYSROOT ?= $(TOP)/build/sysroot-arm64
PKG_CONFIG := PKG_CONFIG_SYSROOT_DIR=$(SYSROOT) \
	PKG_CONFIG_LIBDIR=$(SYSROOT)/usr/lib/aarch64-linux-gnu/pkgconfig:$(SYSROOT)/usr/share/pkgconfig \
	pkg-config
SAN_FLAGS :=
ARCH_CFLAGS := -isystem $(SYSROOT)/usr/include -isystem $(SYSROOT)/usr/include/aarch64-linux-gnu
ARCH_LDFLAGS := -L$(SYSROOT)/usr/lib/aarch64-linux-gnu -L$(SYSROOT)/lib/aarch64-linux-gnu \
	-Wl,-rpath-link=$(SYSROOT)/usr/lib/aarch64-linux-gnu \
	-Wl,-rpath-link=$(SYSROOT)/lib/aarch64-linux-gnu
else
$(error TARGET must be host or arm64, not '$(TARGET)')
endif

CFLAGS_COMMON := $(BASE_CFLAGS) $(SAN_FLAGS) $(ARCH_CFLAGS)
LDFLAGS_COMMON := $(SAN_FLAGS) $(ARCH_LDFLAGS)
