#!/bin/bash
# `make check`: set up a fresh Debian 12 machine, build everything, run the host tests and the
# guest suite on the QEMU board, and end with "N passed, N failed".
#
# usage: tools/check.sh [SUITE]   (SUITE: bookworm (default), trixie or sid)
# Logs: out/check/<suite>/*.log. A step that cannot build counts as a failed test, so a broken
# build never looks like a short green run.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
suite=${1:-bookworm}
logs=out/check/$suite
rm -rf "$logs"
mkdir -p "$logs"
results=$logs/steps.log
: >"$results"

# step NAME CMD...: run CMD with its output in $logs/NAME.log; record ok/not ok.
step() {
	local name=$1
	shift
	local t0=$SECONDS
	if "$@" >"$logs/$name.log" 2>&1; then
		echo "ok - step: $name" >>"$results"
		echo "  [ok]   $name ($((SECONDS - t0)) s)"
		return 0
	fi
	echo "not ok - step: $name: see $logs/$name.log" >>"$results"
	echo "  [FAIL] $name ($((SECONDS - t0)) s): last lines of $logs/$name.log:"
	tail -n 15 "$logs/$name.log" | sed 's/^/         /'
	return 1
}

echo "bufbroker check ($suite), logs in $logs/"
step deps tools/install-deps.sh || { tools/tally.sh "$results"; exit 1; }
step kernel-fetch tools/fetch-kernel.sh "$suite" "build/k/$suite" || { tools/tally.sh "$results"; exit 1; }
kenv=build/k/$suite/env

step sysroot-arm64 tools/mk-sysroot.sh build/sysroot-arm64
step build-module make -s module SUITE="$suite"
step build-host make -s host
step build-arm64 make -s arm64
step dtb tools/mk-dtb.sh build/board.dtb

# Host unit tests (cmocka under ASan/UBSan, and shell checks); each prints per-case lines.
host_suite() {
	local name=$1
	shift
	step "host-$name" "$@"
	cp "$logs/host-$name.log" "$logs/result-host-$name.log"
}
host_suite daemon make -s -C daemon check
host_suite libclient make -s -C libclient check
host_suite dts tests/host/dts-check.sh
# Policy parser under libFuzzer (ASan/UBSan/LSan): regression + seed replay, then 200000 executions or 60 s.
host_suite fuzz-policy make -s -C tests/fuzz run

# Guest suite on the board.
if [ -f "build/k/$suite/bufbroker_heap.ko" ]; then
	step initramfs tools/mk-guest-image.sh check "$suite" build/k/$suite/check.cpio.gz &&
		step guest-suite tools/run-guest.sh -k "$kenv" -i "build/k/$suite/check.cpio.gz" \
			-b build/board.dtb -l "$logs/guest-console.log" -o "$logs/guest-out" -t 600
	[ -f "$logs/guest-console.log" ] && cp "$logs/guest-console.log" "$logs/result-guest.log"
fi

# The systemd board: the shipped units, udev rule, bus policy and policy file on a real boot.
if [ -f "build/k/$suite/bufbroker_heap.ko" ]; then
	step board-smoke tools/board-check.sh "$suite" smoke
	[ -f "out/board/$suite-smoke/console.log" ] && cp "out/board/$suite-smoke/console.log" "$logs/result-board.log"
fi

echo
tools/tally.sh "$results" "$logs"/result-*.log
