#!/bin/bash
# Developer test of the pipeline before/without the systemd board image: a busybox initramfs
# with the module, vivid, dbus-daemon, bufbrokerd, libbufbroker and the pipeline binaries,
# running pipeline/guest/pipeline.sh as /etc/bufbroker-guest/run.sh.
#
# usage: pipeline/guest/run-busybox.sh [-s SUITE] [-n FRAMES] [-m "all" | "copy direct broker ..."]
#                                      [-B BUILD_DIR] [-K MODULE.ko] [-o OUTDIR]
#   BUILD_DIR  where arm64 daemon/, libclient/, pipeline/ are (default build/arm64)
#   MODULE.ko  default build/k/SUITE/bufbroker_heap.ko
#   OUTDIR     default out/pipeline-test (console.log, guest/ with frames/ and pipeline/)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
suite=bookworm frames=120 mode=all bdir=$top/build/arm64 ko= outdir=$top/out/pipeline-test
while getopts "s:n:m:B:K:o:" o; do
	case $o in
	s) suite=$OPTARG ;; n) frames=$OPTARG ;; m) mode=$OPTARG ;; B) bdir=$OPTARG ;;
	K) ko=$OPTARG ;; o) outdir=$OPTARG ;; *) sed -n 2,12p "$0" >&2; exit 2 ;;
	esac
done
kb=$top/build/k/$suite
ko=${ko:-$kb/bufbroker_heap.ko}
sysroot=$top/build/sysroot-arm64
lib=/usr/lib/aarch64-linux-gnu
tmp=$(mktemp -d /tmp/bb-pipeline.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage
mkdir -p "$stage"/{bin,sbin,lib,usr/bin}

"$top/tools/guest-userspace.sh" "$sysroot" "$stage" \
	"$bdir/daemon/bufbrokerd=/usr/bin/bufbrokerd" \
	"$bdir/libclient/libbufbroker.so.1=$lib/libbufbroker.so.1" \
	"$lib/libpng16.so.16" >/dev/null
for p in bb-camera bb-video bb-copy-pipeline bb-region-check guest/bb-runas; do
	install -m 0755 "$bdir/pipeline/$p" "$stage/usr/bin/${p#guest/}"
done
# bin/sbin/lib are real directories here (busybox lives in /bin): the loader must be in /lib.
[ -e "$stage/lib/ld-linux-aarch64.so.1" ] || [ -L "$stage/lib/ld-linux-aarch64.so.1" ] || ln -s "$lib/ld-linux-aarch64.so.1" "$stage/lib/"
mkdir -p "$stage/usr/share/dbus-1/system.d" "$stage/etc/bufbroker"
cp "$top/daemon/dbus/org.bufbroker.Broker1.conf" "$stage/usr/share/dbus-1/system.d/"
cp "$top/daemon/policy/qemu-board.conf" "$stage/etc/bufbroker/policy.conf"
printf '#!/bin/sh\nPL_FRAMES=%s PL_MODE="%s" exec /etc/bufbroker-guest/pipeline.sh\n' \
	"$frames" "$mode" >"$tmp/run.sh"
chmod 0755 "$tmp/run.sh"

[ -e "$top/build/board.dtb" ] || "$top/tools/mk-dtb.sh" "$top/build/board.dtb"
"$top/tools/mk-initramfs.sh" -k "$kb/env" -o "$tmp/initrd.cpio.gz" -m vivid -m virtio_blk \
	-m virtio_mmio -f "$ko=/lib/modules/bufbroker_heap.ko" \
	-f "$tmp/run.sh=/etc/bufbroker-guest/run.sh" \
	-f "$top/pipeline/guest/pipeline.sh=/etc/bufbroker-guest/pipeline.sh" \
	-f "$top/tests/guest/lib.sh=/etc/bufbroker-guest/lib.sh" -d "$stage=/"
mkdir -p "$outdir"
rc=0
"$top/tools/run-guest.sh" -k "$kb/env" -i "$tmp/initrd.cpio.gz" -b "$top/build/board.dtb" \
	-l "$outdir/console.log" -o "$outdir/guest" -t 900 || rc=$?
grep -E '^(PIPELINE|CAMERA|REGION-CHECK|STALE-TEST|USAGE|PNG)' "$outdir/console.log" || true
echo "console: $outdir/console.log  files: $outdir/guest/"
exit $rc
