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
exec "$top/tools/mk-initramfs.sh" "${args[@]}"
