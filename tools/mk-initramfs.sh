#!/bin/bash
# Build a busybox initramfs for the guest.
#
# usage: tools/mk-initramfs.sh -k KENV -o OUT.cpio.gz [-m MODULE]... [-f SRC=DST]... [-d SRCDIR=DST]...
#   -k KENV   the env file written by tools/fetch-kernel.sh (KVER, MODDIR)
#   -m NAME   a module of the Debian kernel to ship (its dependencies come along via depmod)
#   -f/-d     extra files / directory trees to copy in (DST is a path inside the guest)
# /init is tests/guest/init.sh; it runs /etc/bufbroker-guest/run.sh if present.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${BUFBROKER_CACHE:-/var/cache/bufbroker}
kenv= out= mods=() files=() dirs=()
while getopts "k:o:m:f:d:" opt; do
	case $opt in
	k) kenv=$OPTARG ;;
	o) out=$OPTARG ;;
	m) mods+=("$OPTARG") ;;
	f) files+=("$OPTARG") ;;
	d) dirs+=("$OPTARG") ;;
	*) echo "usage: see the head of $0" >&2; exit 2 ;;
	esac
done
[ -n "$kenv" ] && [ -n "$out" ] || { echo "mk-initramfs: -k KENV and -o OUT are required" >&2; exit 2; }
# shellcheck source=/dev/null
. "$kenv"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,etc/bufbroker-guest,proc,sys,dev,tmp,run,out,lib/modules/"$KVER"}

# busybox-static for arm64, from its Debian package.
mkdir -p "$cache/debs-arm64"
if ! ls "$cache"/debs-arm64/busybox-static_*_arm64.deb >/dev/null 2>&1; then
	(cd "$cache/debs-arm64" && apt-get download -q busybox-static:arm64 >/dev/null 2>&1)
fi
bbdeb=$(ls "$cache"/debs-arm64/busybox-static_*_arm64.deb | sort -V | tail -n1)
dpkg-deb --fsys-tarfile "$bbdeb" | tar -x -C "$stage" ./bin/busybox

# Kernel modules with their dependency closure, resolved from the image's own modules.dep.
if [ ${#mods[@]} -gt 0 ]; then
	# MODDIR is our own extraction of the image package: depmod can write there.
	dep="$MODDIR/modules.dep"
	if [ ! -s "$dep" ]; then
		depmod -b "${MODDIR%/lib/modules/*}" "$KVER"
	fi
	want=()
	for m in "${mods[@]}"; do
		line=$(grep -E "(^|/)${m//-/[-_]}\\.ko(\\.[a-z]+)?:" "$dep" | head -n1) ||
			{ echo "mk-initramfs: module $m is not in $KVER" >&2; exit 1; }
		want+=(${line//:/})
	done
	for rel in $(printf '%s\n' "${want[@]}" | sort -u); do
		mkdir -p "$stage/lib/modules/$KVER/$(dirname "$rel")"
		cp "$MODDIR/$rel" "$stage/lib/modules/$KVER/$rel"
		# busybox modprobe cannot read compressed modules: ship them plain.
		case $rel in
		*.xz) xz -d "$stage/lib/modules/$KVER/$rel" ;;
		*.zst) zstd -q -d --rm "$stage/lib/modules/$KVER/$rel" ;;
		*.gz) gzip -d "$stage/lib/modules/$KVER/$rel" ;;
		esac
	done
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[ -e "$MODDIR/$f" ] && cp "$MODDIR/$f" "$stage/lib/modules/$KVER/"
	done
	depmod -b "$stage" "$KVER"
fi

for spec in ${files[@]+"${files[@]}"}; do
	src=${spec%%=*} dst=${spec#*=}
	mkdir -p "$stage/$(dirname "$dst")"
	cp -L "$src" "$stage/$dst"
done
for spec in ${dirs[@]+"${dirs[@]}"}; do
	src=${spec%%=*} dst=${spec#*=}
	mkdir -p "$stage/$dst"
	cp -a "$src/." "$stage/$dst/"
done
install -m 0755 "$top/tests/guest/init.sh" "$stage/init"
echo "$KVER" >"$stage/etc/bufbroker-guest/kver"

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
