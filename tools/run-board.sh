#!/bin/bash
# `make run`: build what is needed, boot the systemd board and run the camera pipeline on it, then
# print the board's report and where the files are.
#
# usage: tools/run-board.sh [SUITE]   (default bookworm)
# Builds (each step is a no-op or incremental when done before): host packages
# (tools/install-deps.sh), the Debian arm64 kernel (tools/fetch-kernel.sh), the module (make
# module), the arm64 userspace incl. pipeline/ (make arm64), the DTB (tools/mk-dtb.sh), the systemd
# board image with scenario tests/guest/board-run.sh (tools/mk-board-image.sh). Boots it
# (tools/run-guest.sh); on the board, as root: bb-region-check, then `systemctl start
# bb-camera.service bb-video.service` (unprivileged users camera-client / video-client), usage
# before/during/after, and the copy baseline bb-copy-pipeline (tests/guest/board-pipeline.sh).
# Env: RUN_FRAMES (frames per pipeline, default 150).
# Output: out/run/{build.log,console.log} and out/run/guest/ (the board's /out): report.txt,
# frames/*.png, pipeline/ (snapshots, region check, client logs), journal.txt, bufbrokerd.log, ...
# Exit status 0 iff every frame was verified in both pipelines, every camera buffer lay inside the
# camera region, both units succeeded and the usage went back to zero.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
suite=${1:-bookworm}
out=out/run
kb=build/k/$suite
img=$kb/board-run.cpio.zst
frames=${RUN_FRAMES:-150}
rm -rf "$out"
mkdir -p "$out"
blog=$out/build.log
t_start=$SECONDS

times=
build() { # WHAT CMD...: run CMD with its output in build.log; on failure show the tail
	local what=$1 t0=$SECONDS
	shift
	echo "== $what" >>"$blog"
	"$@" >>"$blog" 2>&1 || { echo "make run: $what failed; last lines of $blog:"; tail -n 30 "$blog"; exit 1; }
	times="$times, $what $((SECONDS - t0))"
}
echo "make run: building (log: $blog)..."
build "deps" tools/install-deps.sh
build "kernel" tools/fetch-kernel.sh "$suite" "$kb"
# `make module` always starts from clean: only when kernel/ changed since the last build.
if [ ! -f "$kb/bufbroker_heap.ko" ] ||
	[ -n "$(find kernel -newer "$kb/bufbroker_heap.ko" \( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) | head -n1)" ]; then
	build "module" make -s module SUITE="$suite"
fi
build "arm64" make -s arm64
build "dtb" tools/mk-dtb.sh build/board.dtb
build "image" tools/mk-board-image.sh "$suite" run "$img"
t_built=$SECONDS
echo "make run: built in $((t_built - t_start)) s (${times#, } s); booting the board (qemu-system-aarch64 TCG, $suite kernel, systemd)..."

rc=0
tools/run-guest.sh -k "$kb/env" -i "$img" -b build/board.dtb -l "$out/console.log" -o "$out/guest" \
	-t "${RUN_TIMEOUT:-600}" -a "bb.frames=$frames" 2>>"$blog" || rc=$?
t_end=$SECONDS
grep -E '^== board:' "$out/console.log" || true
case $rc in
124) echo "make run: the board hung (killed after ${RUN_TIMEOUT:-600} s); see $out/console.log" ;;
125) echo "make run: the board stopped without BB-EXIT; see $out/console.log" ;;
esac
report=$out/guest/report.txt
echo
if [ -f "$report" ]; then
	cat "$report"
else
	echo "make run: no report from the board; its console:"
	grep -E '^(ok|not ok) - |^# ' "$out/console.log" || tail -n 30 "$out/console.log"
	[ "$rc" = 0 ] && rc=1
fi
echo
echo "== files"
echo "report:       $top/$report"
for p in "$out"/guest/frames/*.png; do
	[ -e "$p" ] && echo "PNG:          $top/$p"
done
echo "board's logs: $top/$out/guest/ (journal.txt, bufbrokerd.log, bb-camera.log, bb-video.log, pipeline/)"
echo "console:      $top/$out/console.log   build log: $top/$blog"
echo "time: build $((t_built - t_start)) s, board $((t_end - t_built)) s, total $((t_end - t_start)) s"
# The verdict: the scenario's exit status and the report's own.
if [ "$rc" = 0 ] && grep -qx 'PIPELINE-RESULT ok' "$report"; then
	echo "make run: ok: every frame verified, every camera buffer inside the camera region"
	exit 0
fi
echo "make run: FAILED (board exit $rc): see the checks above and $top/$out/"
[ "$rc" = 0 ] && rc=1
exit "$rc"
