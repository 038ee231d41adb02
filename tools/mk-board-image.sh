#!/bin/bash
# Build the systemd board image: an initramfs whose /init is systemd, assembled from Debian arm64
# packages without running arm64 code on the host.
#
# usage: tools/mk-board-image.sh SUITE SCENARIO OUT.cpio.zst
#   SUITE     kernel suite (bookworm, trixie, sid): build/k/SUITE/env (tools/fetch-kernel.sh) and
#             build/k/SUITE/bufbroker_heap.ko (make module SUITE=...)
#   SCENARIO  tests/guest/board-SCENARIO.sh becomes /etc/bufbroker-guest/run.sh, run by
#             bufbroker-scenario.service once the boot has finished (a SCENARIO with a "/" is
#             taken as the path of the script itself)
#   OUT       the initramfs (newc cpio, zstd; CONFIG_RD_ZSTD=y on all target kernels)
# Boot it with tools/run-guest.sh -k build/k/SUITE/env -i OUT -b build/board.dtb -l LOG -o OUTDIR
# (nothing to add on the command line: /init is a symlink to systemd).
# env:
#   BOARD_SYSROOT   the board's package sysroot (default build/sysroot-board; made here with
#                   tools/mk-sysroot.sh and SYSROOT_EXTRA, so build/sysroot-arm64, the compile
#                   sysroot, stays small)
#   BOARD_TIMEOUT   seconds the scenario may run before it is killed (default 600)
#   BOARD_ANALYZE=1 also record `systemd-analyze critical-chain` and `blame` in boot-time.txt
#                   (costs 15-30 s of guest time under TCG)
#   BOARD_KEEP_STAGE=1  keep the staging tree (printed) for inspection
#
# What the maintainer scripts would have done, done here on the staging tree:
#   users/groups   tools/guest-userspace.sh's fixed passwd (messagebus 100, bufbroker 101, video 44,
#                  camera-client 1001, video-client 1002), then the HOST's `systemd-sysusers
#                  --root` over the image's /usr/lib/sysusers.d (systemd-journal, systemd-network, ...)
#   machine-id     32 random hex digits (tools/guest-userspace.sh)
#   units          the HOST's `systemctl --root=STAGE enable/mask` (offline, writes the symlinks)
#   modules        depmod -b on the host
#   systemd-sysv   /sbin/init, poweroff, reboot, halt, shutdown symlinks
#   update-done    /etc/.updated and /var/.updated, so ConditionNeedsUpdate units (ldconfig, hwdb)
#                  stay quiet
# Board plumbing (tools/board/): bufbroker-scenario.service runs scenario-wrapper.sh after the boot
# (console lines, /out packed to the virtio disk, "BB-EXIT <rc>", power off); out.mount puts a tmpfs
# on /out; emergency/rescue.service run the wrapper in --emergency mode instead of sulogin, so a
# broken boot ends at once with "not ok - board: boot: ..." and its journal.
# Project pieces that are not built yet (bufbrokerd, libbufbroker, bufbrokerctl, pipeline/) are
# skipped with a message; the image is still built.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: mk-board-image.sh SUITE SCENARIO OUT.cpio.zst"
suite=${1:?$usage}
scenario=${2:?$usage}
out=$(realpath -m "${3:?$usage}")
kb=$top/build/k/$suite
sysroot=$(realpath -m "${BOARD_SYSROOT:-$top/build/sysroot-board}")
multiarch=aarch64-linux-gnu
t0=$SECONDS

log() { echo "mk-board-image: $*" >&2; }
skip() { echo "mk-board-image: SKIPPED: $*" >&2; }

case $scenario in
*/*) script=$(realpath -m "$scenario") ;; # a path: an ad-hoc scenario script
*) script=$top/tests/guest/board-$scenario.sh ;;
esac
[ -f "$script" ] || { log "no scenario $script"; exit 2; }
[ -f "$kb/env" ] || { log "no $kb/env: run tools/fetch-kernel.sh $suite $kb"; exit 1; }
# shellcheck source=/dev/null
. "$kb/env" # KVER, MODDIR
: "${KVER:?}" "${MODDIR:?}"

# ---- 1. the package sysroot ------------------------------------------------------------------
# mk-sysroot.sh's base list (libc, libsystemd, libevent, inih, libdrm, libpng, dbus) plus systemd
# as PID 1 with its private library's closure, udev, kmod, util-linux/mount and busybox.
board_pkgs=(
	systemd libsystemd-shared udev kmod util-linux mount busybox-static
	libacl1 libblkid1 libssl3 libcryptsetup12 libfdisk1 libkmod2 libmount1 libp11-kit0 libseccomp2
	libargon2-1 libdevmapper1.02.1 libffi8 libjson-c5 libuuid1 libcrypt1 libip4tc2 libpam0g libudev1
	libsmartcols1 libtinfo6
)
SYSROOT_EXTRA="${board_pkgs[*]}" "$top/tools/mk-sysroot.sh" "$sysroot"

# ---- 2. staging tree: the sysroot minus what a board does not need ---------------------------
mkdir -p "$(dirname "$out")"
stage=$(mktemp -d "$(dirname "$out")/.board-stage.XXXXXX")
if [ "${BOARD_KEEP_STAGE:-0}" = 1 ]; then
	trap 'log "staging tree kept: $stage"' EXIT
else
	trap 'rm -rf "$stage"' EXIT
fi
chmod 0755 "$stage"
tar -C "$sysroot" -c --exclude=./.packages \
	--exclude=./usr/include --exclude='./usr/share/doc' --exclude='./usr/share/man' \
	--exclude='./usr/share/info' --exclude='./usr/share/locale' --exclude='./usr/share/lintian' \
	--exclude='./usr/share/bash-completion' --exclude='./usr/share/zsh' --exclude='./usr/share/fish' \
	--exclude='./usr/share/gcc' --exclude='./usr/share/gdb' --exclude='./usr/share/bug' \
	--exclude='./usr/share/initramfs-tools' --exclude='./usr/share/pkgconfig' \
	--exclude="./usr/lib/$multiarch/pkgconfig" --exclude="./usr/lib/$multiarch/gconv" \
	--exclude='./usr/lib/udev/hwdb.d' --exclude='./etc/init.d' --exclude='*.a' --exclude='*.la' . |
	tar -C "$stage" -x
# Dev symlinks (libfoo.so -> libfoo.so.1) are for the linker only.
find "$stage/usr/lib/$multiarch" -maxdepth 1 -type l -name '*.so' -delete

# Users, groups, machine-id, the D-Bus system bus config and its activation helper's mode.
"$top/tools/guest-userspace.sh" "$sysroot" "$stage" >/dev/null

# busybox for the shell and the small tools Debian would take from coreutils, grep, sed, tar...:
# one symlink per applet that no package here provides. The applet list is the NUL-separated
# name table inside the binary (reading it runs no arm64 code).
applets=$(tr '\0' '\n' <"$stage/usr/bin/busybox" |
	awk 'f == 1 && !/^[a-z0-9_.+-]+$/ {f = 2} f == 1 {print} !f && $0 == "[" {getline n; if (n == "[[") {f = 1; print "["; print n}}')
[ "$(wc -l <<<"$applets")" -gt 100 ] || { log "could not read busybox's applet list"; exit 1; }
n_app=0
for a in $applets; do
	case $a in
	init | linuxrc | halt | poweroff | reboot | shutdown) continue ;; # systemd's (below)
	esac
	[ -e "$stage/usr/bin/$a" ] || [ -e "$stage/usr/sbin/$a" ] || [ -L "$stage/usr/bin/$a" ] ||
		[ -L "$stage/usr/sbin/$a" ] || { ln -s busybox "$stage/usr/bin/$a"; n_app=$((n_app + 1)); }
done

# What systemd-sysv would ship, and the initramfs's /init.
for l in halt poweroff reboot shutdown telinit runlevel; do
	ln -sfn ../bin/systemctl "$stage/usr/sbin/$l"
done
ln -sfn ../lib/systemd/systemd "$stage/usr/sbin/init"
ln -sfn usr/lib/systemd/systemd "$stage/init"

# /etc basics (base-files and netbase are not in the image).
cat >"$stage/usr/lib/os-release" <<EOF
PRETTY_NAME="bufbroker QEMU board (Debian 12 arm64 packages)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=debian
VARIANT="bufbroker board"
VARIANT_ID=bufbroker-board
EOF
ln -sfn ../usr/lib/os-release "$stage/etc/os-release"
echo bufbroker-board >"$stage/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tbufbroker-board\n::1\tlocalhost ip6-localhost\n' >"$stage/etc/hosts"
: >"$stage/etc/fstab"
mkdir -p "$stage/root" "$stage/home" "$stage/var/log" "$stage/var/tmp" "$stage/var/lib/systemd" \
	"$stage/mnt" "$stage/out" "$stage/etc/bufbroker-guest" "$stage/usr/lib/bufbroker-guest"
chmod 0700 "$stage/root"
chmod 1777 "$stage/var/tmp"

# ---- 3. kernel modules ------------------------------------------------------------------------
moddir=$stage/lib/modules/$KVER
mkdir -p "$moddir"
[ -s "$MODDIR/modules.dep" ] || depmod -b "${MODDIR%/lib/modules/*}" "$KVER"
# vivid and its closure, the output disk, autofs4 (systemd's automount of binfmt_misc) and configfs.
want=()
for m in vivid virtio_mmio virtio_blk autofs4 configfs; do
	line=$(grep -E "(^|/)${m//_/[-_]}\\.ko(\\.[a-z]+)?:" "$MODDIR/modules.dep" | head -n1) || {
		grep -qE "/${m//_/[-_]}\\.ko" "$MODDIR/modules.builtin" 2>/dev/null ||
			log "module $m is neither in $KVER's modules.dep nor built in"
		continue
	}
	read -r -a deps <<<"${line//:/}"
	want+=("${deps[@]}")
done
for rel in $(printf '%s\n' "${want[@]}" | sort -u); do
	mkdir -p "$moddir/$(dirname "$rel")"
	cp "$MODDIR/$rel" "$moddir/$rel"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[ -e "$MODDIR/$f" ] && cp "$MODDIR/$f" "$moddir/"
done
if [ -f "$kb/bufbroker_heap.ko" ]; then
	mkdir -p "$moddir/updates"
	cp "$kb/bufbroker_heap.ko" "$moddir/updates/"
else
	skip "no $kb/bufbroker_heap.ko (make module SUITE=$suite): the board has no heaps"
fi
depmod -b "$stage" "$KVER"
mkdir -p "$stage/etc/modules-load.d" "$stage/etc/modprobe.d"
cat >"$stage/etc/modules-load.d/bufbroker.conf" <<'EOF'
# The dma-buf heaps of the board's CMA regions (/dev/dma_heap/*), loaded by systemd-modules-load.
bufbroker_heap
EOF
cat >"$stage/etc/modules-load.d/vivid.conf" <<'EOF'
# The camera (capture) and the stand-in encoder/display (video output); options in modprobe.d.
vivid
EOF
cat >"$stage/etc/modprobe.d/vivid.conf" <<'EOF'
# allocators=1: vb2-dma-contig for every vivid device (imports only contiguous dma-bufs).
options vivid allocators=1 n_devs=1
EOF

# ---- 4. the project ---------------------------------------------------------------------------
project_files=() # installed ELF files: their unresolved libraries are warnings, not errors
put() { # SRC DST MODE [what]: install if SRC exists, else say what is missing
	local src=$1 dst=$2 mode=$3 what=${4:-$1}
	if [ -e "$src" ]; then
		install -D -m "$mode" "$src" "$stage$dst"
		project_files+=("$dst")
		return 0
	fi
	skip "$what is missing ($src)"
	return 1
}
a64=$top/build/arm64
put "$a64/daemon/bufbrokerd" /usr/sbin/bufbrokerd 0755 "bufbrokerd (make -C daemon TARGET=arm64)" || true
put "$top/daemon/systemd/bufbrokerd.service" /usr/lib/systemd/system/bufbrokerd.service 0644 || true
for f in "$top"/daemon/dbus/*.conf; do
	put "$f" "/usr/share/dbus-1/system.d/$(basename "$f")" 0644 || true
done
for f in "$top"/daemon/dbus/*.service; do
	put "$f" "/usr/share/dbus-1/system-services/$(basename "$f")" 0644 || true
done
for f in "$top"/daemon/udev/*.rules; do
	put "$f" "/usr/lib/udev/rules.d/$(basename "$f")" 0644 || true
done
for f in "$top"/daemon/sysusers.d/*.conf "$top"/pipeline/sysusers.d/*.conf; do
	[ -e "$f" ] && put "$f" "/usr/lib/sysusers.d/$(basename "$f")" 0644
done
for f in "$top"/daemon/tmpfiles.d/*.conf "$top"/pipeline/tmpfiles.d/*.conf; do
	[ -e "$f" ] && put "$f" "/usr/lib/tmpfiles.d/$(basename "$f")" 0644
done
put "$top/daemon/policy/qemu-board.conf" /etc/bufbroker/policy.conf 0644 || true
mkdir -p "$stage/etc/bufbroker/policy.d"
if put "$a64/libclient/libbufbroker.so.1" "/usr/lib/$multiarch/libbufbroker.so.1" 0755 \
	"libbufbroker (make -C libclient TARGET=arm64)"; then
	put "$a64/libclient/bufbrokerctl" /usr/bin/bufbrokerctl 0755 || true
fi
# The pipeline's clients and their units.
units=()
[ -e "$stage/usr/lib/systemd/system/bufbrokerd.service" ] && units+=(bufbrokerd.service)
if [ -d "$top/pipeline/systemd" ]; then
	for f in "$top"/pipeline/systemd/*.service; do
		[ -e "$f" ] || continue
		put "$f" "/usr/lib/systemd/system/$(basename "$f")" 0644
		grep -q '^\[Install\]' "$f" && units+=("$(basename "$f")")
	done
else
	skip "pipeline units (pipeline/systemd/*.service) are missing"
fi
if [ -d "$a64/pipeline" ]; then
	for f in "$a64"/pipeline/*; do
		[ -f "$f" ] && [ -x "$f" ] && put "$f" "/usr/bin/$(basename "$f")" 0755
	done
else
	skip "pipeline binaries (build/arm64/pipeline/*) are missing"
fi
# Guest test programs, as in the busybox initramfs.
for d in guest-tests bench; do
	if [ -d "$a64/$d" ]; then
		mkdir -p "$stage/opt/bufbroker/$d"
		cp -a "$a64/$d/." "$stage/opt/bufbroker/$d/"
		for f in "$stage/opt/bufbroker/$d"/*; do project_files+=("${f#"$stage"}"); done
	fi
done

# The client users: unprivileged, own uid and group, in group video for /dev/video* (gids as in
# tools/guest-userspace.sh; sysusers leaves existing entries alone).
if [ ! -e "$stage/usr/lib/sysusers.d/bufbroker-clients.conf" ]; then
	cat >"$stage/usr/lib/sysusers.d/bufbroker-board-clients.conf" <<'EOF'
# The pipeline's clients on the board (tools/mk-board-image.sh).
g camera-client 1001
u camera-client 1001:camera-client "camera client" /nonexistent /usr/sbin/nologin
m camera-client video
g video-client 1002
u video-client 1002:video-client "video client" /nonexistent /usr/sbin/nologin
m video-client video
EOF
fi

# udev's postinst: addgroup --system input, sgx, kvm, render (udev rules and tmpfiles name them).
cat >"$stage/usr/lib/sysusers.d/bufbroker-board-udev.conf" <<'EOF'
# What udev's postinst does with addgroup --system (tools/mk-board-image.sh).
g input -
g sgx -
g kvm -
g render -
EOF

# ---- 5. the scenario --------------------------------------------------------------------------
install -m 0755 "$script" "$stage/etc/bufbroker-guest/run.sh"
install -m 0644 "$top/tests/guest/lib.sh" "$stage/etc/bufbroker-guest/lib.sh"
# Every board scenario, so that one scenario can run others (board-check.sh: smoke + pipeline).
mkdir -p "$stage/usr/lib/bufbroker-guest/scenarios"
install -m 0755 "$top"/tests/guest/board-*.sh "$stage/usr/lib/bufbroker-guest/scenarios/"
echo "$KVER" >"$stage/etc/bufbroker-guest/kver"
echo "${BOARD_TIMEOUT:-600}" >"$stage/etc/bufbroker-guest/timeout"
[ "${BOARD_ANALYZE:-0}" = 0 ] || : >"$stage/etc/bufbroker-guest/analyze"
install -m 0755 "$top/tools/board/scenario-wrapper.sh" "$stage/usr/lib/bufbroker-guest/scenario-wrapper.sh"
install -m 0644 "$top/tools/board/bufbroker-scenario.service" \
	"$stage/usr/lib/systemd/system/bufbroker-scenario.service"
install -m 0644 "$top/tools/board/out.mount" "$stage/usr/lib/systemd/system/out.mount"
for u in emergency rescue; do
	install -D -m 0644 "$top/tools/board/emergency-override.conf" \
		"$stage/etc/systemd/system/$u.service.d/bufbroker-board.conf"
done
units+=(out.mount bufbroker-scenario.service)

# ---- 6. maintainer-script work, with the host's systemd tools on the tree ------------------
systemd-sysusers --root="$stage" >"$stage.sysusers.log" 2>&1 || { cat "$stage.sysusers.log" >&2; exit 1; }
rm -f "$stage.sysusers.log"
# systemd's and dbus's postinst: tmpfiles --create for their own snippets (the boot's
# systemd-tmpfiles-setup.service does the rest, incl. /run); enable remote-fs.target. Not done:
# getty@tty1 (no VT; the console is for the test protocol) and /var/log/journal (the journal stays
# volatile in /run: the root file system is RAM anyway).
(cd "$stage/usr/lib/tmpfiles.d" && systemd-tmpfiles --root="$stage" --create debian.conf home.conf \
	journal-nocow.conf legacy.conf provision.conf systemd-network.conf systemd-nologin.conf \
	systemd-pstore.conf systemd-tmp.conf systemd.conf tmp.conf var.conf x11.conf dbus.conf) \
	>"$stage.tmpfiles.log" 2>&1 || { log "systemd-tmpfiles --root (not fatal):"; cat "$stage.tmpfiles.log" >&2; }
rm -f "$stage.tmpfiles.log"
systemctl --root="$stage" --quiet enable remote-fs.target "${units[@]}"
# No login prompt on the serial console: nobody logs in, and agetty would write to the console
# the test protocol uses.
systemctl --root="$stage" --quiet mask getty.target serial-getty@ttyAMA0.service
# Nothing to tune for now; the Debian defaults stay (journald volatile in /run/log/journal).

# ---- 7. every library every binary needs is in the image ----------------------------------
declare -A have=()
for d in "$stage/usr/lib/$multiarch" "$stage/usr/lib"; do
	for so in "$d"/*.so*; do [ -e "$so" ] && have[$(basename "$so")]=1; done
done
bad=0
while IFS= read -r -d '' f; do
	head -c4 "$f" | grep -q $'\x7fELF' || continue
	dyn=$(readelf -d "$f" 2>/dev/null) || continue
	g=${f#"$stage"}
	rp=$(sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p' <<<"$dyn" | tr ':' ' ')
	# shellcheck disable=SC2013 # sonames have no spaces
	for n in $(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dyn"); do
		[ -n "${have[$n]:-}" ] || [ -e "$(dirname "$f")/$n" ] && continue
		found=
		for r in $rp; do
			r=${r//\$ORIGIN/$(dirname "$g")}
			[ -e "$stage$r/$n" ] && found=1
		done
		[ -z "$found" ] || continue
		if printf '%s\n' "${project_files[@]}" | grep -qxF "$g"; then
			skip "$g needs $n, which is not in the image"
		else
			log "$g needs $n, which is not in the image"
			bad=1
		fi
	done
done < <(find "$stage/usr" "$stage/opt" -type f \( -perm -u+x -o -name '*.so*' \) -print0 2>/dev/null)
[ "$bad" = 0 ] || { log "unresolved libraries (see above)"; exit 1; }

# ---- 8. pack ----------------------------------------------------------------------------------
# ConditionNeedsUpdate=/etc,/var compares /usr's mtime with these stamps (systemd-update-done):
# cpio keeps whole seconds, so both get the same whole second.
now=${SOURCE_DATE_EPOCH:-$(date +%s)}
for d in etc var; do
	printf '# This file was created by systemd-update-done. Its only\n# purpose is to hold a timestamp of the time this directory\n# was updated. See man:systemd-update-done.service(8).\nTIMESTAMP_NSEC=%s000000000\n' \
		"$now" >"$stage/$d/.updated"
	touch -d "@$now" "$stage/$d/.updated"
done
touch -h -d "@$now" "$stage/usr"
# Owners as staged (all root but the D-Bus launch helper, root:messagebus 4754).
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -q -T0 -9 -c) >"$out.tmp"
mv "$out.tmp" "$out"
log "$out: $(du -h "$out" | cut -f1) (tree $(du -sh "$stage" | cut -f1), $n_app busybox applets," \
	"units enabled: ${units[*]}) in $((SECONDS - t0)) s"
