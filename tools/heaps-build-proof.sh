#!/bin/bash
# Build-level proof of the module's "the kernel already has dma-buf heaps" paths, which no Debian
# kernel can run (none has CONFIG_DMABUF_HEAPS).
#
# usage: tools/heaps-build-proof.sh KENV MODE
#   KENV  a kernel env from tools/fetch-kernel.sh (sid: 7.2 headers)
#   MODE  exported: CONFIG_DMABUF_HEAPS=y and dma_heap_add/dma_heap_get_drvdata exported in
#                   namespace DMA_BUF_HEAP (6.18+): the module must register through
#                   dma_heap_add() and create no class of its own.
#         builtin:  CONFIG_DMABUF_HEAPS=y without those exports (before 6.18): the kernel owns the
#                   "dma_heap" class, so the module must create its nodes in a class named
#                   "bufbroker_heap" (still /dev/dma_heap/<name>) and never call dma_heap_add().
# In both modes the module must ask whether the kernel already has each name before adding it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kenv=${1:?usage: heaps-build-proof.sh KENV exported|builtin}
mode=${2:?usage: heaps-build-proof.sh KENV exported|builtin}
case $mode in exported|builtin) ;; *) echo "heaps-build-proof: MODE is exported or builtin" >&2; exit 2 ;; esac
# shellcheck source=/dev/null
kdir=$(. "$kenv" && echo "$KDIR")
p=$(mktemp -d)
trap 'rm -rf "$p"' EXIT

cp -a "$kdir" "$p/hdr"
for l in scripts tools; do ln -sfn "$(readlink -f "$kdir/$l")" "$p/hdr/$l"; done
sed -i -E "s#^KBUILD_OUTPUT *:?= *.*#KBUILD_OUTPUT=$p/hdr#" "$p/hdr/Makefile"
sed -i 's/^# CONFIG_DMABUF_HEAPS is not set/CONFIG_DMABUF_HEAPS=y/' "$p/hdr/.config"
echo 'CONFIG_DMABUF_HEAPS=y' >>"$p/hdr/include/config/auto.conf"
echo '#define CONFIG_DMABUF_HEAPS 1' >>"$p/hdr/include/generated/autoconf.h"
if [ "$mode" = exported ]; then
	printf '0x00000000\t%s\tvmlinux\tEXPORT_SYMBOL_GPL\tDMA_BUF_HEAP\n' dma_heap_add \
		dma_heap_get_drvdata >>"$p/hdr/Module.symvers"
fi

src=$p/src
mkdir "$src"
cp "$top"/kernel/Kbuild "$top"/kernel/Makefile "$top"/kernel/*.c "$top"/kernel/*.h "$top"/kernel/*.S "$src/"
rm -f "$src"/*.mod.c
out=$(make -C "$src" KDIR="$p/hdr" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- 2>&1) ||
	{ echo "$out"; exit 1; }
echo "$out"
fail() { echo "FAIL ($mode): $*"; exit 1; }
! echo "$out" | grep -E 'warning:|error:' || fail "the build is not warning-free"
ko=$src/bufbroker_heap.ko
undef=$(aarch64-linux-gnu-nm -u "$ko")
echo "$undef" | grep -w kern_path >/dev/null || fail "no lookup of the kernel's existing heap names"
if [ "$mode" = exported ]; then
	grep -q BUFBROKER_HAVE_DMA_HEAP_ADD "$src/.bufbroker_compat.o.cmd" || fail "feature not detected"
	modinfo -F import_ns "$ko" | grep -x DMA_BUF_HEAP >/dev/null || fail "no DMA_BUF_HEAP import"
	echo "$undef" | grep -w dma_heap_add >/dev/null || fail "dma_heap_add not called"
	! echo "$undef" | grep -wE 'class_create|__class_create' || fail "still creates a class of its own"
	echo "ok: CONFIG_DMABUF_HEAPS=y with dma_heap_add exported: registers through dma_heap_add"
else
	! grep -q BUFBROKER_HAVE_DMA_HEAP_ADD "$src/.bufbroker_compat.o.cmd" || fail "detected an export that is not there"
	! echo "$undef" | grep -w dma_heap_add >/dev/null || fail "calls dma_heap_add, which this kernel does not export"
	echo "$undef" | grep -wE 'class_create|__class_create' >/dev/null || fail "creates no class for its nodes"
	# KBUILD_MODNAME only appears inside longer log formats in this object, so an exact
	# "bufbroker_heap" string is the class name.
	strings "$src/bufbroker_chardev.o" | grep -x bufbroker_heap >/dev/null || fail "class name is not bufbroker_heap"
	echo "ok: CONFIG_DMABUF_HEAPS=y without exports: own class bufbroker_heap, nodes in /dev/dma_heap"
fi
