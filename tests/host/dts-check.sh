#!/bin/bash
# The board description and the SoC example compile, and the board has the regions the rest of
# the project expects: a default CMA region, the camera and video regions with their aliases,
# device nodes pointing at them, and a no-map carve-out that must not become a heap.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok - dts: $name"
	else
		echo "not ok - dts: $name: $(head -c 300 "$tmp/out")"
		fail=1
	fi
}
check "board DTB builds" "$top/tools/mk-dtb.sh" "$tmp/board.dtb"
dtc -q -I dtb -O dts -o "$tmp/board.dts" "$tmp/board.dtb" 2>/dev/null
check "default region is linux,cma-default" sh -c "grep -A8 'linux,cma {' '$tmp/board.dts' | grep -q 'linux,cma-default'"
for r in camera@78000000 video@7c000000; do
	check "region $r is reusable shared-dma-pool" sh -c "grep -A4 '$r {' '$tmp/board.dts' | grep -q reusable"
done
check "camera and video aliases" sh -c "grep -q 'bufbroker,heap-aliases = \"camera\"' '$tmp/board.dts' && grep -q 'bufbroker,heap-aliases = \"video\"' '$tmp/board.dts'"
check "video region recycles (bufbroker,recycle-ms = <1000>), camera does not" sh -c "grep -A8 'video@7c000000 {' '$tmp/board.dts' | grep -q 'bufbroker,recycle-ms = <0x3e8>' && ! grep -A8 'camera@78000000 {' '$tmp/board.dts' | grep -q recycle-ms"
check "camera region is uncached (bufbroker,uncached), video is not" sh -c "grep -A12 'camera@78000000 {' '$tmp/board.dts' | grep -q 'bufbroker,uncached;' && ! grep -A12 'video@7c000000 {' '$tmp/board.dts' | grep -q uncached"
check "devices reference their regions" sh -c "grep -A3 'camera-sensor {' '$tmp/board.dts' | grep -q memory-region && grep -A3 'video-codec {' '$tmp/board.dts' | grep -q memory-region"
check "no-map carve-out present" sh -c "grep -A3 'firmware@7f000000 {' '$tmp/board.dts' | grep -q no-map"
check "i.MX8MP example overlay compiles" dtc -q -@ -I dts -O dtb -o "$tmp/ex.dtbo" "$top/dts/examples/imx8mp-evk-bufbroker.dtso"
exit $fail
