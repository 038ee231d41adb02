#!/bin/bash
# `make bench`: build what the benchmarks need, boot the board once with the bench scenario
# (tests/guest/bench.sh), and turn the guest's CSVs into out/bench/results.md and PNG plots
# (tools/bench-report.sh). Prints the Markdown at the end.
#
# usage: tools/bench.sh [--smoke] [SUITE]   (SUITE: bookworm (default), trixie or sid)
#   --smoke   a few repetitions of each benchmark, no pipeline (checks that they run; under a minute)
# BB_BENCH_CMDLINE: extra guest kernel arguments for tests/guest/bench.sh (e.g. bb.rss=1500, or
# bb.parts=broker to run only some parts: heap, broker, pressure, pipeline).
# Output: out/bench/{results.md,*.png,console.log,build.log,guest/bench/*.csv}; build/bench-file.img
# (the file benchmark 5 reads, made once).
# Exit status: 0 when the guest ran every benchmark and the report was written (missed targets
# do not fail it).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
smoke=
[ "${1:-}" = --smoke ] && { smoke=1; shift; }
suite=${1:-bookworm}
out=out/bench
[ -n "$smoke" ] && out=out/bench-smoke
kb=build/k/$suite
t0=$SECONDS
rm -rf "$out"
mkdir -p "$out"
blog=$out/build.log

step() { # NAME CMD...
	local name=$1 t=$SECONDS
	shift
	if "$@" >>"$blog" 2>&1; then
		echo "  [ok]   $name ($((SECONDS - t)) s)"
	else
		echo "  [FAIL] $name: last lines of $blog:"
		tail -n 15 "$blog" | sed 's/^/         /'
		exit 1
	fi
}

echo "bufbroker bench ($suite${smoke:+, smoke}), output in $out/"
step deps tools/install-deps.sh
[ -f "$kb/env" ] || step kernel-fetch tools/fetch-kernel.sh "$suite" "$kb"
[ -e build/sysroot-arm64/usr/lib/aarch64-linux-gnu/libc.so.6 ] ||
	step sysroot-arm64 tools/mk-sysroot.sh build/sysroot-arm64
# The module: rebuilt when missing or older than its sources (make module always cleans first).
if [ ! -f "$kb/bufbroker_heap.ko" ] ||
	[ -n "$(find kernel -maxdepth 1 \( -name '*.c' -o -name '*.h' -o -name Kbuild \) -newer "$kb/bufbroker_heap.ko")" ]; then
	step build-module make -s module SUITE="$suite"
fi
step build-arm64 make -s arm64
[ -f build/board.dtb ] && [ build/board.dtb -nt dts/qemu-virt-bufbroker.dtsi ] ||
	step dtb tools/mk-dtb.sh build/board.dtb
step image tools/mk-guest-image.sh bench "$suite" "$kb/bench.cpio.gz"
# Benchmark 5 reads a large file into the page cache: an ext2 image with 800 MiB of real data
# (not a sparse file: the guest reads it from the disk), made once.
file_disk=build/bench-file.img
mk_file_disk() {
	local d
	d=$(mktemp -d)
	# (yes ends by SIGPIPE: that pipeline's status is head's, and the size is checked instead)
	(set +o pipefail; yes 'bufbroker: a line of the page-cache fill file' | head -c 800M >"$d/file")
	[ "$(stat -c %s "$d/file")" = $((800 << 20)) ] &&
		mke2fs -q -F -t ext2 -L bbfill -d "$d" "$file_disk.tmp" 900M &&
		mv "$file_disk.tmp" "$file_disk"
	local rc=$?
	rm -rf "$d" "$file_disk.tmp"
	return $rc
}
[ -f "$file_disk" ] || step file-disk mk_file_disk

# Other QEMU guests on this host share its cores: their load shows up in every figure.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
others=$(pgrep -c -x qemu-system-aar || true)
tg=$SECONDS
rc=0
tools/run-guest.sh -k "$kb/env" -i "$kb/bench.cpio.gz" -b build/board.dtb -l "$out/console.log" \
	-o "$out/guest" -x "$file_disk" -t 900 -a "${smoke:+bb.smoke=1} ${BB_BENCH_CMDLINE:-}" || rc=$?
guest_s=$((SECONDS - tg))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "  [$([ $rc = 0 ] && echo ok || echo FAIL)]   guest (${guest_s} s, exit $rc; console $out/console.log)"
grep -E '^(not ok|# bench: SKIP)' "$out/console.log" | sed 's/^/         /'

{
	echo "suite=$suite"
	echo "smoke=${smoke:-0}"
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host_cpus=$(nproc)"
	echo "host_load_before=$load_before"
	echo "host_load_after=$load_after"
	echo "other_qemu_at_start=$others"
	echo "guest_seconds=$guest_s"
	echo "guest_exit=$rc"
} >"$out/run.txt"
if ! tools/bench-report.sh "$out" >/dev/null; then
	echo "  [FAIL] report: tools/bench-report.sh $out"
	rc=1
fi
echo "  total $((SECONDS - t0)) s"
echo
cat "$out/results.md"
exit $rc
