#!/bin/bash
# Build the board DTB: QEMU's own DTB for the exact machine options, merged with dts/<board>.dtsi.
# usage: tools/mk-dtb.sh OUT.dtb [DTSI]
# The machine options must match tools/run-guest.sh (a DTB made for another -smp breaks CPUs).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/qemu-machine.sh"
out=${1:?usage: mk-dtb.sh OUT.dtb [DTSI]}
dtsi=$(realpath "${2:-$top/dts/qemu-virt-bufbroker.dtsi}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

qemu-system-aarch64 "${QEMU_MACHINE[@]}" -machine "dumpdtb=$tmp/virt.dtb" -nographic >/dev/null 2>&1
dtc -q -I dtb -O dts -o "$tmp/virt.dts" "$tmp/virt.dtb"
{
	cat "$tmp/virt.dts"
	# dtc takes /include/ after the root block: the second "/ { }" merges into the first.
	echo "/include/ \"$dtsi\""
} >"$tmp/board.dts"
mkdir -p "$(dirname "$out")"
dtc -q -I dts -O dtb -o "$out" "$tmp/board.dts"
