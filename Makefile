# bufbroker top-level Makefile. See README.md.
#
#   make            build everything (module for SUITE, host and arm64 userspace, guest tests)
#   make check      every test, host and guest; ends with "N passed, N failed"
#   make run        the demo board
#   make bench      benchmarks, results under out/bench/
#   make check-kernels   the guest suite on 6.1, 6.12 and 7.2

SUITE ?= bookworm
KBUILD := build/k/$(SUITE)
KENV := $(KBUILD)/env
CROSS := aarch64-linux-gnu-

# Userspace components, built when their Makefile exists.
HOST_DIRS := $(foreach d,libclient daemon tests/host,$(if $(wildcard $(d)/Makefile),$(d)))
ARM64_DIRS := $(foreach d,libclient daemon tests/guest bench examples pipeline,$(if $(wildcard $(d)/Makefile),$(d)))

.PHONY: all deps kernel module host arm64 sysroot check run bench check-kernels stress lint clean

all: module host arm64

deps:
	tools/install-deps.sh

$(KENV):
	tools/fetch-kernel.sh $(SUITE) $(KBUILD)

kernel: $(KENV)

# The module is built from a copy of kernel/ per suite (kbuild writes next to its sources), so
# suites and concurrent builds never mix objects.
module: $(KENV)
	rm -rf $(KBUILD)/kmod && mkdir -p $(KBUILD)/kmod
	cp kernel/Makefile kernel/Kbuild kernel/*.c kernel/*.h kernel/*.S $(KBUILD)/kmod/
	. ./$(KENV) && $(MAKE) -C $(KBUILD)/kmod KDIR=$$KDIR ARCH=arm64 CROSS_COMPILE=$(CROSS)
	cp $(KBUILD)/kmod/bufbroker_heap.ko $(KBUILD)/bufbroker_heap.ko

host:
	for d in $(HOST_DIRS); do $(MAKE) -C $$d TARGET=host || exit 1; done

sysroot:
	tools/mk-sysroot.sh build/sysroot-arm64

arm64: sysroot
	for d in $(ARM64_DIRS); do $(MAKE) -C $$d TARGET=arm64 || exit 1; done

check:
	tools/check.sh $(SUITE)

stress:
	BB_STRESS=1 tools/check.sh $(SUITE)

check-kernels:
	tools/check-kernels.sh $(SUITES)

run:
	tools/run-board.sh $(SUITE)

bench:
	tools/bench.sh $(SUITE)

lint:
	tools/checkpatch.sh

clean:
	rm -rf build out
	-$(MAKE) -C kernel clean KDIR=/nonexistent >/dev/null 2>&1
