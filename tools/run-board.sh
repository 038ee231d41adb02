#!/bin/bash
# `make run`: build what is needed, boot the demo board, and show what it did.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
suite=${1:-bookworm}
out=out/run
mkdir -p "$out"
tools/install-deps.sh
tools/fetch-kernel.sh "$suite" "build/k/$suite"
make -s module SUITE="$suite" >"$out/build.log" 2>&1 || { tail -n 30 "$out/build.log"; exit 1; }
make -s arm64 >>"$out/build.log" 2>&1 || { tail -n 30 "$out/build.log"; exit 1; }
tools/mk-dtb.sh build/board.dtb
tools/mk-guest-image.sh run "$suite" "build/k/$suite/run.cpio.gz"
echo "booting the board (qemu-system-aarch64, $suite kernel)..."
rc=0
tools/run-guest.sh -k "build/k/$suite/env" -i "build/k/$suite/run.cpio.gz" -b build/board.dtb \
	-l "$out/console.log" -o "$out/guest" -t 300 || rc=$?
sed -n '/^== /,/^BB-EXIT/p' "$out/console.log" | grep -v '^BB-EXIT'
echo
echo "console log: $out/console.log   guest files: $out/guest/"
exit "$rc"
