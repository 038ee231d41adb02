#!/bin/bash
# Assemble the guest initramfs for one scenario.
# usage: tools/mk-guest-image.sh SCENARIO SUITE OUT.cpio.gz
#   SCENARIO  check | run | bench: tests/guest/<scenario>.sh becomes the guest's run.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
scenario=${1:?usage: mk-guest-image.sh SCENARIO SUITE OUT}
suite=${2:?usage: mk-guest-image.sh SCENARIO SUITE OUT}
out=${3:?usage: mk-guest-image.sh SCENARIO SUITE OUT}
kb=$top/build/k/$suite
script=$top/tests/guest/$scenario.sh
[ -f "$script" ] || { echo "mk-guest-image: no scenario $script" >&2; exit 2; }
[ -f "$kb/bufbroker_heap.ko" ] || { echo "mk-guest-image: build the module first (make module SUITE=$suite)" >&2; exit 1; }

args=(-k "$kb/env" -o "$out" -m vivid -m virtio_blk -m virtio_mmio
	-f "$kb/bufbroker_heap.ko=/lib/modules/bufbroker_heap.ko"
	-f "$script=/etc/bufbroker-guest/run.sh"
	-f "$top/tests/guest/lib.sh=/etc/bufbroker-guest/lib.sh")
for d in guest-tests bench; do
	[ -d "$top/build/arm64/$d" ] && args+=(-d "$top/build/arm64/$d=/opt/bufbroker/$d")
done

# The check scenario also runs bufbrokerd + libbufbroker on a real dbus-daemon --system
# (tests/guest/broker.sh): dbus-daemon, the daemon, the library, bufbrokerctl and broker_test with
# their arm64 library closure from the sysroot (tools/guest-userspace.sh), the shipped policy
# (daemon/policy/qemu-board.conf) plus the test drop-in, and the daemon's bus policy. Missing
# pieces (a failed build) leave them out; broker.sh then reports not ok.
# No udev in the guest: broker.sh gives /dev/dma_heap/* what daemon/udev/60-bufbroker.rules gives
# (root:bufbroker 0660) by chgrp/chmod.
ustage=
if [ "$scenario" = check ]; then
	args+=(-f "$top/tests/guest/broker.sh=/etc/bufbroker-guest/broker.sh"
		-f "$top/tests/guest/reliability.sh=/etc/bufbroker-guest/reliability.sh")
	a=$top/build/arm64
	sysroot=$top/build/sysroot-arm64
	need=("$a/libclient/libbufbroker.so.1" "$a/daemon/bufbrokerd" "$a/libclient/bufbrokerctl"
		"$a/guest-tests/broker_test" "$sysroot/usr/bin/dbus-daemon")
	missing=()
	for f in "${need[@]}"; do [ -e "$f" ] || missing+=("$f"); done
	if [ ${#missing[@]} -eq 0 ]; then
		ustage=$(mktemp -d)
		chmod 0755 "$ustage" # it becomes the image's / (cp -a of "."), not 0700
		trap 'rm -rf "$ustage"' EXIT
		# Real /bin, /sbin, /lib (busybox and the modules live there): no merged-/usr links.
		mkdir -p "$ustage"/{bin,sbin,lib}
		# reliability_test and dbus_fuzz (tests/guest/reliability.sh): optional, reported there.
		extra=()
		for p in reliability_test dbus_fuzz; do
			[ -e "$a/guest-tests/$p" ] && extra+=("$a/guest-tests/$p=/opt/bufbroker/guest-tests/$p")
		done
		for p in producer consumer; do
			[ -e "$a/examples/$p" ] && extra+=("$a/examples/$p=/opt/bufbroker/examples/$p")
		done
		"$top/tools/guest-userspace.sh" "$sysroot" "$ustage" \
			"$a/libclient/libbufbroker.so.1=/usr/lib/aarch64-linux-gnu/libbufbroker.so.1" \
			"$a/daemon/bufbrokerd=/usr/sbin/bufbrokerd" \
			"$a/libclient/bufbrokerctl=/usr/bin/bufbrokerctl" \
			"$a/guest-tests/broker_test=/opt/bufbroker/guest-tests/broker_test" \
			"${extra[@]}"
		install -D -m 0644 "$top/daemon/policy/qemu-board.conf" "$ustage/etc/bufbroker/policy.conf"
		install -D -m 0644 "$top/tests/guest/policy-test.conf" \
			"$ustage/etc/bufbroker/policy.d/50-guest-test.conf"
		install -D -m 0644 "$top/daemon/dbus/org.bufbroker.Broker1.conf" \
			"$ustage/usr/share/dbus-1/system.d/org.bufbroker.Broker1.conf"
		args+=(-d "$ustage=/")
	else
		echo "mk-guest-image: no broker tests in the image, missing: ${missing[*]}" >&2
	fi
fi
[ ! -f "$top/tests/guest/$scenario-image.sh" ] || . "$top/tests/guest/$scenario-image.sh" # scenario extras
"$top/tools/mk-initramfs.sh" "${args[@]}"
