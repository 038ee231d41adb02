#!/bin/bash
# Copy arm64 userspace into a guest root staging directory (initramfs or image):
# the given dynamic binaries, their runtime library closure (readelf -d NEEDED,
# recursively), the dynamic loader, and a working dbus-daemon --system with the
# users, groups and machine-id its maintainer scripts would have created.
# Runs no arm64 code on the host.
#
# usage: tools/guest-userspace.sh SYSROOT DESTDIR [BINARY...]
#   SYSROOT  made by tools/mk-sysroot.sh (build/sysroot-arm64)
#   DESTDIR  staging root; created if missing, existing content is kept
#   BINARY   one of
#              /usr/bin/foo        a path inside SYSROOT -> same path in DESTDIR
#              path/to/host/file   any other existing file -> DESTDIR/usr/bin/<name>
#              SRC=/guest/path     explicit destination (SRC: host path, or SYSROOT path)
#            Non-ELF files (scripts) are copied without a closure walk.
#            A library not in SYSROOT (one of ours) must be given as SRC=/usr/lib/aarch64-linux-gnu/SONAME
#            so that the programs that need it find it there.
# Always installed: /usr/bin/dbus-daemon, /usr/bin/dbus-send, /usr/bin/dbus-monitor and
# (if the sysroot has package dbus) /usr/lib/dbus-1.0/dbus-daemon-launch-helper.
#
# Guest layout: merged /usr when DESTDIR has no /bin, /sbin, /lib yet (bin -> usr/bin, ...);
# libraries in /usr/lib/aarch64-linux-gnu (on ld.so's built-in search path: no ld.so.cache
# needed); loader at /lib/ld-linux-aarch64.so.1. /run/dbus must exist at run time: if /init
# mounts a tmpfs on /run it has to `mkdir -p /run/dbus` after the mount.
set -euo pipefail

usage="usage: guest-userspace.sh SYSROOT DESTDIR [BINARY|SRC=/guest/path ...]"
sysroot=$(realpath "${1:?$usage}")
dest=$(realpath -m "${2:?$usage}")
shift 2
multiarch=aarch64-linux-gnu
libdir=usr/lib/$multiarch
readelf=readelf

log() { echo "guest-userspace: $*" >&2; }
[ -e "$sysroot/$libdir/libc.so.6" ] || { log "$sysroot is not an arm64 sysroot (run tools/mk-sysroot.sh)"; exit 1; }

mkdir -p "$dest"
for d in bin sbin lib; do
	[ -e "$dest/$d" ] || [ -L "$dest/$d" ] || { mkdir -p "$dest/usr/$d"; ln -s "usr/$d" "$dest/$d"; }
done
mkdir -p "$dest/usr/bin" "$dest/usr/sbin" "$dest/$libdir" "$dest/etc" "$dest/run/dbus" \
	"$dest/var/lib/dbus" "$dest/tmp" "$dest/proc" "$dest/sys" "$dest/dev"
chmod 1777 "$dest/tmp"
[ -e "$dest/var/run" ] || ln -s ../run "$dest/var/run"

is_elf() { [ "$(head -c4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# Soname lookup in the sysroot (usr/lib is where merged /usr put /lib's files too).
# Extra dirs: the RUNPATH of the object asking, e.g. /usr/lib/systemd; prints the path
# inside the sysroot; the guest path is that minus $sysroot.
find_lib() {
	local n=$1 d
	shift
	for d in "$@" "$sysroot/$libdir" "$sysroot/usr/lib"; do
		[ -e "$d/$n" ] && { echo "$d/$n"; return 0; }
	done
	return 1
}

declare -A done_lib=()
queue=()
copied=0

install_file() { # src dst(relative to dest)
	local src=$1 dst=$2
	mkdir -p "$(dirname "$dest/$dst")"
	cp -L --preserve=mode "$src" "$dest/$dst"
	copied=$((copied + 1))
	if is_elf "$dest/$dst"; then
		local m
		m=$($readelf -h "$dest/$dst" | sed -n 's/^ *Machine: *//p')
		case "$m" in
		*AArch64*) ;;
		*) log "$src is not an arm64 ELF ($m)"; exit 1 ;;
		esac
		queue+=("$dest/$dst")
	fi
}

add_binary() {
	local arg=$1 src dst
	case "$arg" in
	*=*) src=${arg%%=*}; dst=${arg#*=} ;;
	*) src=$arg; dst= ;;
	esac
	if [ "${src#/}" != "$src" ] && [ -e "$sysroot$src" ]; then
		dst=${dst:-$src}
		src=$sysroot$src
	elif [ -e "$src" ]; then
		dst=${dst:-/usr/bin/$(basename "$src")}
	else
		log "no such file: $src (neither in $sysroot nor on the host)"
		exit 1
	fi
	install_file "$src" "${dst#/}"
}

for b in /usr/bin/dbus-daemon /usr/bin/dbus-send /usr/bin/dbus-monitor "$@"; do
	add_binary "$b"
done

helper=usr/lib/dbus-1.0/dbus-daemon-launch-helper
[ ! -e "$sysroot/$helper" ] || add_binary "/$helper"

# The loader and libgcc_s (dlopen()ed by glibc for pthread_cancel/backtrace, so never NEEDED).
install_file "$(find_lib ld-linux-aarch64.so.1)" "$libdir/ld-linux-aarch64.so.1"
ln -sfn "/$libdir/ld-linux-aarch64.so.1" "$dest/lib/ld-linux-aarch64.so.1"
done_lib[ld-linux-aarch64.so.1]=1
install_file "$(find_lib libgcc_s.so.1)" "$libdir/libgcc_s.so.1"
done_lib[libgcc_s.so.1]=1

# NEEDED closure.
while [ ${#queue[@]} -gt 0 ]; do
	f=${queue[0]}
	queue=("${queue[@]:1}")
	interp=$($readelf -l "$f" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
	if [ -n "$interp" ] && [ "$interp" != /lib/ld-linux-aarch64.so.1 ]; then
		log "${f#"$dest"} wants interpreter $interp (static or foreign binary?)"
		exit 1
	fi
	dyn=$($readelf -d "$f" 2>/dev/null) || continue
	rpdirs=("$sysroot$(dirname "${f#"$dest"}")") # private-dir siblings (see mk-sysroot.sh)
	for r in $(sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p' <<<"$dyn" | tr ':' ' '); do
		r=${r//\$ORIGIN/$(dirname "${f#"$dest"}")}
		rpdirs+=("$sysroot$r")
	done
	for n in $(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dyn"); do
		[ -z "${done_lib[$n]:-}" ] || continue
		done_lib[$n]=1
		# A library given as a BINARY (e.g. our own libbufbroker.so.1) satisfies NEEDED.
		[ ! -e "$dest/$libdir/$n" ] || continue
		if ! src=$(find_lib "$n" "${rpdirs[@]}"); then
			log "${f#"$dest"} needs $n: not in $sysroot (add its package to mk-sysroot.sh)"
			exit 1
		fi
		# Same directory as in the sysroot (RUNPATH dirs like $libdir/systemd stay private).
		install_file "$src" "${src#"$sysroot"/}"
	done
done

# ---- D-Bus system bus -------------------------------------------------------------
# Config from dbus-system-bus-common / dbus-session-bus-common, as shipped.
mkdir -p "$dest/usr/share/dbus-1" "$dest/usr/share/dbus-1/system.d" \
	"$dest/usr/share/dbus-1/system-services" "$dest/etc/dbus-1/system.d"
cp "$sysroot/usr/share/dbus-1/system.conf" "$sysroot/usr/share/dbus-1/session.conf" \
	"$dest/usr/share/dbus-1/"
cp -r "$sysroot/etc/dbus-1/." "$dest/etc/dbus-1/"

# Bus activation helper (package dbus; only used for activation without systemd):
# setuid root, group messagebus, 4754, as the postinst's dpkg-statoverride sets it.
if [ -e "$dest/$helper" ]; then
	chown 0:100 "$dest/$helper"
	chmod 4754 "$dest/$helper"
fi

# Users and groups, fixed here (what adduser in the maintainer scripts would do):
#   root           0:0
#   messagebus   100:100   dbus-daemon --system drops to it (<user>messagebus</user>)
#   bufbroker    101:101   bufbrokerd; group bufbroker owns /dev/dma_heap/* (udev rule)
#   video           -:44   Debian's fixed gid for /dev/video*, /dev/media*
#   camera-client 1001:1001, in video   camera client service
#   video-client  1002:1002, in video   video client service
#   nobody      65534:65534 (nogroup)
# bufbrokerd itself is not in group video: it never opens V4L2 devices.
cat >"$dest/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
messagebus:x:100:100::/nonexistent:/usr/sbin/nologin
bufbroker:x:101:101:bufbroker daemon:/nonexistent:/usr/sbin/nologin
camera-client:x:1001:1001:camera client:/nonexistent:/usr/sbin/nologin
video-client:x:1002:1002:video client:/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$dest/etc/group" <<'EOF'
root:x:0:
video:x:44:camera-client,video-client
messagebus:x:100:
bufbroker:x:101:
camera-client:x:1001:
video-client:x:1002:
nogroup:x:65534:
EOF
cat >"$dest/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
messagebus:*:19000:0:99999:7:::
bufbroker:*:19000:0:99999:7:::
camera-client:*:19000:0:99999:7:::
video-client:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
chmod 0640 "$dest/etc/shadow"
cat >"$dest/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
shadow: files
hosts: files
EOF

# machine-id: dbus-uuidgen is arm64 code, so make the 32 hex digits here. Kept across reruns.
if ! grep -qxE '[0-9a-f]{32}' "$dest/etc/machine-id" 2>/dev/null; then
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$dest/etc/machine-id"
	echo >>"$dest/etc/machine-id"
fi
ln -sfn /etc/machine-id "$dest/var/lib/dbus/machine-id"

log "$copied files into $dest ($(du -sh "$dest" | cut -f1) total)"
