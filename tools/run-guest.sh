#!/bin/bash
# Boot the board under qemu-system-aarch64 (TCG) and report what the guest said.
#
# usage: tools/run-guest.sh -k KENV -i INITRAMFS -b DTB -l LOG [-o OUTDIR] [-t SECONDS] [-a "CMDLINE"]
#                           [-x DISK]
# Exit status: the guest's "BB-EXIT <rc>", or 124 if the guest hung (killed after -t seconds),
# or 125 if it stopped without saying how it ended. OUTDIR receives the guest's /out.
# DISK: an image the guest sees read-only as a virtio disk with serial "bbfill" (the output disk's
# serial is "bbout"; the guest tells them apart by /sys/block/vd*/serial, not by their order).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/qemu-machine.sh"
kenv= initrd= dtb= log= outdir= tmo=300 extra= xdisk=
while getopts "k:i:b:l:o:t:a:x:" opt; do
	case $opt in
	k) kenv=$OPTARG ;; i) initrd=$OPTARG ;; b) dtb=$OPTARG ;; l) log=$OPTARG ;;
	o) outdir=$OPTARG ;; t) tmo=$OPTARG ;; a) extra=$OPTARG ;; x) xdisk=$OPTARG ;;
	*) echo "usage: see the head of $0" >&2; exit 2 ;;
	esac
done
[ -n "$kenv" ] && [ -n "$initrd" ] && [ -n "$dtb" ] && [ -n "$log" ] ||
	{ echo "run-guest: -k, -i, -b and -l are required" >&2; exit 2; }
# shellcheck source=/dev/null
. "$kenv"

disk_args=()
if [ -n "$outdir" ]; then
	disk=$(mktemp /tmp/bufbroker-out.XXXXXX.img)
	truncate -s 256M "$disk"
	disk_args=(-drive "if=none,file=$disk,format=raw,id=out" -device virtio-blk-device,drive=out,serial=bbout)
fi
if [ -n "$xdisk" ]; then
	[ -r "$xdisk" ] || { echo "run-guest: -x $xdisk: no such readable image" >&2; exit 2; }
	disk_args+=(-drive "if=none,file=$xdisk,format=raw,id=fill,readonly=on"
		-device virtio-blk-device,drive=fill,serial=bbfill)
fi

mkdir -p "$(dirname "$log")"
set +e
timeout --foreground -k 5 "$tmo" qemu-system-aarch64 "${QEMU_MACHINE[@]}" -nographic -no-reboot \
	-kernel "$VMLINUZ" -initrd "$initrd" -dtb "$dtb" \
	${disk_args[@]+"${disk_args[@]}"} \
	-append "console=ttyAMA0 panic=-1 quiet loglevel=4 $extra" </dev/null >"$log" 2>&1
qrc=$?
set -e
tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"

if [ -n "$outdir" ]; then
	mkdir -p "$outdir"
	tar -x -f "$disk" -C "$outdir" 2>/dev/null || true
	rm -f "$disk"
fi

if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "run-guest: the guest hung and was killed after ${tmo}s; console log: $log" >&2
	exit 124
fi
rc=$(sed -n 's/^BB-EXIT \([0-9]*\)$/\1/p' "$log" | tail -n1)
if [ -z "$rc" ]; then
	echo "run-guest: the guest stopped without reporting (qemu exit $qrc); console log: $log" >&2
	tail -n 20 "$log" >&2
	exit 125
fi
exit "$rc"
