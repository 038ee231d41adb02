#!/bin/bash
# The demo board's DTB with malformed bufbroker properties, for the bad-DT boot of `make check`
# (tests/guest/dt-bad.sh checks that each one is ignored with a kernel warning that names it).
# usage: tools/mk-dtb-bad.sh BOARD.dtb OUT.dtb
set -euo pipefail
in=${1:?usage: mk-dtb-bad.sh BOARD.dtb OUT.dtb}
out=${2:?usage: mk-dtb-bad.sh BOARD.dtb OUT.dtb}
cp "$in" "$out.tmp"
# Above the 60000 ms limit.
fdtput -t u "$out.tmp" /reserved-memory/video@7c000000 bufbroker,recycle-ms 99999
# A string where one 32-bit cell belongs.
fdtput -t s "$out.tmp" /reserved-memory/camera@78000000 bufbroker,recycle-ms fast
# One good alias between two that cannot be heap names.
fdtput -t s "$out.tmp" /reserved-memory/camera@78000000 bufbroker,heap-aliases \
	-- bad/name camera -lead
mv "$out.tmp" "$out"
