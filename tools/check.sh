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

# BB_STRESS=1 (make stress): every fuzzer, soak and kill loop runs its long mode.
guest_timeout=600
[ -n "${BB_STRESS:-}" ] && guest_timeout=3600
echo "bufbroker check ($suite${BB_STRESS:+, stress}), logs in $logs/"
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
if [ -n "${BB_STRESS:-}" ]; then
	host_suite fuzz-policy make -s -C tests/fuzz run RUNS=100000000 FUZZ_SECONDS="${BB_STRESS_SECONDS:-600}"
else
	host_suite fuzz-policy make -s -C tests/fuzz run RUNS=200000 FUZZ_SECONDS=30
fi
# D-Bus fuzzing of the ASan/UBSan daemon on a private bus (tests/host/dbus-fuzz-host.sh; the guest
# runs the same fuzzer against the real heaps in tests/guest/reliability.sh).
if [ -n "${BB_STRESS:-}" ]; then
	host_suite dbus-fuzz tests/host/dbus-fuzz-host.sh 1000000 1200
else
	host_suite dbus-fuzz tests/host/dbus-fuzz-host.sh 20000 60
fi

# No Debian kernel has CONFIG_DMABUF_HEAPS, so the "kernel already has dma-buf heaps" paths
# are proven at build level against a modified copy of sid's headers (tools/heaps-build-proof.sh).
if [ "$suite" = sid ]; then
	step build-module-dmabuf-heaps-exported tools/heaps-build-proof.sh "$kenv" exported
	step build-module-dmabuf-heaps-builtin tools/heaps-build-proof.sh "$kenv" builtin
fi

# Guest suite on the board.
if [ -f "build/k/$suite/bufbroker_heap.ko" ]; then
	step initramfs tools/mk-guest-image.sh check "$suite" build/k/$suite/check.cpio.gz &&
		step guest-suite tools/run-guest.sh -k "$kenv" -i "build/k/$suite/check.cpio.gz" \
			-b build/board.dtb -l "$logs/guest-console.log" -o "$logs/guest-out" \
			-t "$guest_timeout" -a "${BB_STRESS:+bb.stress=1}"
	[ -f "$logs/guest-console.log" ] && cp "$logs/guest-console.log" "$logs/result-guest.log"
fi

# The board with malformed bufbroker properties in its DT (tools/mk-dtb-bad.sh), one boot
# (tests/guest/dt-bad.sh): each is ignored with a kernel warning, the rest works.
if [ -f "build/k/$suite/bufbroker_heap.ko" ]; then
	step dtb-bad tools/mk-dtb-bad.sh build/board.dtb build/board-bad.dtb &&
		step initramfs-dt-bad tools/mk-guest-image.sh dt-bad "$suite" "build/k/$suite/dt-bad.cpio.gz" &&
		step guest-dt-bad tools/run-guest.sh -k "$kenv" -i "build/k/$suite/dt-bad.cpio.gz" \
			-b build/board-bad.dtb -l "$logs/guest-dt-bad-console.log" -o "$logs/guest-dt-bad-out" -t 600
	[ -f "$logs/guest-dt-bad-console.log" ] && cp "$logs/guest-dt-bad-console.log" "$logs/result-guest-dt-bad.log"
fi

# The board on a kernel that does not clear the pages it hands out (init_on_alloc=0, as most board
# kernels; Debian's clear them), one boot (tests/guest/zeroing.sh): the module's own clearing is
# what heap_test's and recycle_test's zeroing cases check there.
if [ -f "build/k/$suite/bufbroker_heap.ko" ]; then
	step initramfs-zeroing tools/mk-guest-image.sh zeroing "$suite" "build/k/$suite/zeroing.cpio.gz" &&
		step guest-zeroing tools/run-guest.sh -k "$kenv" -i "build/k/$suite/zeroing.cpio.gz" \
			-b build/board.dtb -l "$logs/guest-zeroing-console.log" -o "$logs/guest-zeroing-out" \
			-t 600 -a init_on_alloc=0
	[ -f "$logs/guest-zeroing-console.log" ] && cp "$logs/guest-zeroing-console.log" "$logs/result-guest-zeroing.log"
fi

# The systemd board, one boot (tests/guest/board-check.sh): the shipped units, udev rule, bus policy
# and policy file ("ok - board: ..."), then the camera pipeline through bb-camera.service and
# bb-video.service with a 30-frame stream plus the copy baseline ("ok - pipeline: ...").
if [ -f "build/k/$suite/bufbroker_heap.ko" ]; then
	step board tools/board-check.sh "$suite" check
	[ -f "out/board/$suite-check/console.log" ] && cp "out/board/$suite-check/console.log" "$logs/result-board.log"
fi

# The benchmarks' smoke run (tools/bench.sh --smoke, one boot, under a minute): each benchmark
# program runs a few repetitions and the report is written ("ok - bench: ..."); figures are not
# judged here. Once, on the primary kernel: it proves the bench tooling, not a kernel.
if [ "$suite" = bookworm ] && [ -f "build/k/$suite/bufbroker_heap.ko" ]; then
	step bench-smoke tools/bench.sh --smoke "$suite"
	[ -f out/bench-smoke/console.log ] && cp out/bench-smoke/console.log "$logs/result-bench-smoke.log"
fi

echo
tools/tally.sh "$results" "$logs"/result-*.log | tee "$logs/tally.txt"
exit "${PIPESTATUS[0]}"
