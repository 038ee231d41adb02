#!/bin/bash
# Install the Debian 12 packages the build, the rig and the tests need. Idempotent; run as root.
# Host-side only: arm64 libraries go into a private sysroot (tools/mk-sysroot.sh), never onto
# the host, because installing -dev:arm64 next to -dev:amd64 makes apt remove the host's.
set -euo pipefail
pkgs=(
	make gcc pkg-config git ca-certificates xz-utils zstd cpio kmod bc
	qemu-system-arm device-tree-compiler
	gcc-12-aarch64-linux-gnu gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	libevent-dev libsystemd-dev libdrm-dev libinih-dev libpng-dev libcmocka-dev
	dbus dbus-daemon systemd
	clang llvm libclang-rt-14-dev
	gnuplot-nox e2fsprogs
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
	missing+=(apt-update)
fi
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
real=()
for p in "${missing[@]}"; do [ "$p" = apt-update ] || real+=("$p"); done
if [ ${#real[@]} -gt 0 ]; then
	apt-get install -y -q --no-install-recommends "${real[@]}" >/dev/null
fi
