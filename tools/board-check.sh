#!/bin/bash
# The systemd board's tests: build the board image (tools/mk-board-image.sh), boot it under
# QEMU (tools/run-guest.sh) and print the guest's "ok - board: ..." / "ok - pipeline: ..." (and
# "not ok - ...") lines.
#
# usage: tools/board-check.sh [SUITE [SCENARIO]]   (defaults: bookworm smoke)
#   SCENARIO tests/guest/board-SCENARIO.sh: smoke (the boot, units, udev rule, policy), pipeline
#   (the camera pipeline under systemd, 30 frames), check (both in one boot: make check's step)
# Builds what is missing first: kernel (fetch-kernel.sh), module (make module), DTB (mk-dtb.sh),
# arm64 userspace (make arm64; a failure there is reported, the image is built with what exists).
# Output: out/board/SUITE-SCENARIO/{console.log,build.log,guest/} (guest/ is the board's /out:
# scenario.log, journal.txt, bufbrokerd.log, dmesg.txt, failed-units.txt, boot-time.txt).
# Exit status: the scenario's (0 = all ok), 124 if the board hung, 125 if it stopped silently.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
suite=${1:-bookworm}
scenario=${2:-smoke}
out=out/board/$suite-$scenario
kb=build/k/$suite
img=$kb/board-$scenario.cpio.zst
rm -rf "$out"
mkdir -p "$out"
blog=$out/build.log

fail() { echo "not ok - board: $1"; exit "${2:-1}"; }

tools/fetch-kernel.sh "$suite" "$kb" >>"$blog" 2>&1 || fail "kernel fetch ($suite): see $blog"
if [ ! -f "$kb/bufbroker_heap.ko" ]; then
	make -s module SUITE="$suite" >>"$blog" 2>&1 || fail "module build: see $blog"
fi
[ -f build/board.dtb ] || tools/mk-dtb.sh build/board.dtb >>"$blog" 2>&1 || fail "DTB: see $blog"
if [ ! -x build/arm64/daemon/bufbrokerd ]; then
	make -s arm64 >>"$blog" 2>&1 || echo "# board: make arm64 failed (see $blog); building the image with what exists"
fi

t0=$SECONDS
tools/mk-board-image.sh "$suite" "$scenario" "$img" >>"$blog" 2>&1 || fail "image build: see $blog"
grep 'SKIPPED' "$blog" | sed 's/^mk-board-image: /# /'
echo "ok - board: image $img ($(du -h "$img" | cut -f1)) built in $((SECONDS - t0)) s"

t0=$SECONDS
rc=0
tools/run-guest.sh -k "$kb/env" -i "$img" -b build/board.dtb -l "$out/console.log" -o "$out/guest" \
	-t "${BOARD_BOOT_TIMEOUT:-300}" 2>>"$blog" || rc=$?
grep -E '^(ok|not ok) - (board|pipeline):|^== board:|^# ' "$out/console.log"
case $rc in
124) echo "not ok - board: boot: the board hung (killed after ${BOARD_BOOT_TIMEOUT:-300} s); see $out/console.log" ;;
125) echo "not ok - board: boot: the board stopped without BB-EXIT; see $out/console.log" ;;
*) echo "# board: BB-EXIT $rc after $((SECONDS - t0)) s (qemu wall time); files: $out/" ;;
esac
exit "$rc"
