#!/bin/bash
# Build a private arm64 sysroot for cross-compiling bufbroker's userspace and for
# assembling the guest image. Nothing is installed on the host: the Debian arm64
# packages are fetched with `apt-get download` and unpacked with dpkg-deb.
# (`apt-get install libfoo-dev:arm64` would remove the host's libfoo-dev.)
#
# usage: tools/mk-sysroot.sh [OUTDIR]
#   OUTDIR  default $top/build/sysroot-arm64
# env:
#   BUFBROKER_CACHE  .deb cache root (default /var/cache/bufbroker); debs go to
#                    $BUFBROKER_CACHE/debs-arm64 and are reused across runs.
#   SYSROOT_EXTRA    extra package names (arm64 unless given as name:arch) to add.
#
# Layout: merged /usr like a bookworm install (bin, sbin, lib -> usr/...), absolute
# symlinks rewritten to relative ones so they resolve inside OUTDIR, docs/man pages
# dropped, .pc files whose -l libraries are absent removed (libdrm_amdgpu.pc, ...).
# The compiler's libc headers/crt come from the cross toolchain (libc6-dev-arm64-cross
# 2.36); libc6:arm64 (2.36, same ABI) is here only as the guest's runtime libc.
# OUTDIR/.packages lists the exact .debs; a rerun with the same list is a no-op.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$top/build/sysroot-arm64}")
cache=${BUFBROKER_CACHE:-/var/cache/bufbroker}/debs-arm64
multiarch=aarch64-linux-gnu

# Fixed, explicit package list (no resolver); the NEEDED check below catches gaps.
pkgs=(
	# libc runtime for the guest (ld-linux-aarch64.so.1, libc.so.6, libm, ...)
	libc6 libgcc-s1 libstdc++6
	# libsystemd (sd-bus) and its runtime closure
	libsystemd-dev libsystemd0 libcap2 libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1
	# libevent (libevent_openssl is left out: it would pull libssl3)
	libevent-dev libevent-2.1-7 libevent-core-2.1-7 libevent-pthreads-2.1-7 libevent-extra-2.1-7
	# inih (libinireader0 is the C++ INIReader, a dependency of libinih-dev)
	libinih-dev libinih1 libinireader0
	# libdrm: only libdrm2 (what libdrm.pc links); libdrm-common has the amdgpu ids
	libdrm-dev libdrm2 libdrm-common
	# libpng + zlib
	libpng-dev libpng16-16 zlib1g zlib1g-dev
	# D-Bus: a real dbus-daemon --system for the guest, dbus-send & co.; dbus has
	# dbus.service and the activation helper (system.conf <servicehelper>)
	dbus dbus-daemon dbus-bin libdbus-1-3 dbus-system-bus-common dbus-session-bus-common
	libexpat1 libapparmor1 libaudit1 libaudit-common libcap-ng0 libselinux1 libpcre2-8-0
)
# shellcheck disable=SC2206
pkgs+=(${SYSROOT_EXTRA:-})

log() { echo "mk-sysroot: $*" >&2; }

# One-time apt setup, idempotent.
if ! dpkg --print-foreign-architectures | grep -x arm64 >/dev/null; then
	log "adding dpkg architecture arm64"
	dpkg --add-architecture arm64
	apt-get update -q >/dev/null
fi
if ! apt-cache policy libc6:arm64 2>/dev/null | grep 'Candidate: [0-9]' >/dev/null; then
	log "no arm64 package lists yet: apt-get update"
	apt-get update -q >/dev/null
fi

# Arch-all packages (dbus-system-bus-common, libdrm-common, ...) take no :arm64 suffix.
# One apt-cache call for all names (each call costs ~1.5 s).
declare -A archof=()
while read -r name arch; do
	archof[$name]=$arch
done < <(apt-cache show --no-all-versions "${pkgs[@]%%:*}" 2>/dev/null |
	awk '/^Package:/{p=$2} /^Architecture:/{print p, $2}')
specs=()
for p in "${pkgs[@]}"; do
	case "$p" in
	*:*) specs+=("$p") ;;
	*)
		if [ -z "${archof[$p]:-}" ]; then
			log "package $p unknown to apt"
			exit 1
		fi
		if [ "${archof[$p]}" = all ]; then specs+=("$p"); else specs+=("$p:arm64"); fi
		;;
	esac
done

mkdir -p "$cache"
# Exact file names of the candidate versions; download only what is missing.
# (Run it in an empty directory: apt leaves out files already present in the cwd.)
empty=$(mktemp -d)
uris=$(cd "$empty" && apt-get download --print-uris "${specs[@]}")
rmdir "$empty"
[ -n "$uris" ] || { log "apt-get download --print-uris printed nothing"; exit 1; }
mapfile -t files < <(awk '{print $2}' <<<"$uris" | sort)
missing=()
while read -r _ file _; do
	[ -s "$cache/$file" ] || missing+=("$(sed -E 's/^([^_]+)_.*_([^_.]+)\.deb$/\1:\2/' <<<"$file")")
done <<<"$uris"
if [ ${#missing[@]} -gt 0 ]; then
	log "downloading ${#missing[@]} packages into $cache"
	# As root, apt's _apt sandbox user cannot write into a root-owned cache: say so up front.
	sandbox=()
	[ "$(id -u)" -ne 0 ] || sandbox=(-o APT::Sandbox::User=root)
	(cd "$cache" && apt-get "${sandbox[@]}" download -q "${missing[@]}" >/dev/null)
fi

stamp=$(printf '%s\n' "${files[@]}")
if [ -e "$out/.packages" ] && [ "$(cat "$out/.packages")" = "$stamp" ]; then
	log "up to date: $out"
	exit 0
fi

tmp="$out.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp/usr/bin" "$tmp/usr/sbin" "$tmp/usr/lib"
# Merged /usr as on an installed bookworm system. bookworm's debs still ship
# files under /lib and /bin, so extract with --keep-directory-symlink (plain
# dpkg-deb -x would replace the symlinks with real directories).
ln -s usr/bin "$tmp/bin"
ln -s usr/sbin "$tmp/sbin"
ln -s usr/lib "$tmp/lib"
for f in "${files[@]}"; do
	dpkg-deb --fsys-tarfile "$cache/$f" |
		tar -x -C "$tmp" --keep-directory-symlink --no-same-owner --exclude='./usr/share/doc/*' \
			--exclude='./usr/share/man/*' --exclude='./usr/share/lintian/*' \
			--exclude='./usr/share/locale/*' --exclude='./usr/share/info/*'
done

# Absolute symlinks (e.g. /usr/lib/.../libfoo.so -> /lib/.../libfoo.so.1) must
# resolve inside the sysroot: make them relative.
while IFS= read -r -d '' l; do
	t=$(readlink "$l")
	case "$t" in
	/*) ln -sfn "$(realpath -s -m --relative-to="$(dirname "$l")" "$tmp$t")" "$l" ;;
	esac
done < <(find "$tmp" -type l -print0)

libdirs=("$tmp/usr/lib/$multiarch" "$tmp/usr/lib" "$tmp/usr/lib/$multiarch/gconv")

# Dev symlinks of libraries we deliberately left out (libdrm_amdgpu.so, libevent_openssl.so):
# drop them, and every .pc file that asks for a library that is not here.
find "$tmp/usr/lib/$multiarch" -maxdepth 1 -xtype l -name '*.so' -print -delete |
	sed "s|^$tmp/|mk-sysroot: dropped dangling |" >&2
for pc in "$tmp"/usr/lib/"$multiarch"/pkgconfig/*.pc "$tmp"/usr/share/pkgconfig/*.pc; do
	[ -e "$pc" ] || continue
	for lib in $(sed -n 's/^Libs:\(.*\)/\1/p' "$pc" | grep -oE -- '-l[^ ]+' | sed 's/^-l//'); do
		# (-lpthread, -lm, ... come from the cross toolchain's libc6-dev-arm64-cross)
		if [ ! -e "$tmp/usr/lib/$multiarch/lib$lib.so" ] && [ ! -e "$tmp/usr/lib/lib$lib.so" ] &&
			[ ! -e "/usr/$multiarch/lib/lib$lib.so" ] && [ ! -e "/usr/$multiarch/lib/lib$lib.a" ]; then
			echo "mk-sysroot: dropped ${pc#"$tmp"/} (no lib$lib.so)" >&2
			rm -f "$pc"
			break
		fi
	done
done

# NEEDED closure of every ELF in the sysroot. libc's own libraries resolve here too
# (libc6:arm64). A missing soname means the package list above needs one more entry.
bad=0
declare -A have=()
for d in "${libdirs[@]}"; do
	for so in "$d"/*.so*; do [ -e "$so" ] && have[$(basename "$so")]=1; done
done
while IFS= read -r -d '' f; do
	head -c4 "$f" | grep -q $'\x7fELF' || continue
	dyn=$(readelf -d "$f" 2>/dev/null) || continue
	# RUNPATH/RPATH dirs (systemd's private /usr/lib/systemd/libsystemd-shared-*.so).
	rp=$(sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p' <<<"$dyn" | tr ':' ' ')
	for n in $(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dyn"); do
		found=${have[$n]:-}
		# A sibling in a private dir (libsystemd-core -> libsystemd-shared) is already
		# loaded through the executable's RUNPATH.
		[ -e "$(dirname "$f")/$n" ] && found=1
		for r in $rp; do
			r=${r//\$ORIGIN/$(dirname "${f#"$tmp"}")}
			[ -e "$tmp$r/$n" ] && found=1
		done
		if [ -z "$found" ]; then
			echo "mk-sysroot: ${f#"$tmp"/} needs $n, not in the sysroot" >&2
			bad=1
		fi
	done
done < <(find "$tmp/usr/bin" "$tmp/usr/sbin" "$tmp/usr/lib" "$tmp/usr/libexec" -type f \
	\( -perm -u+x -o -name '*.so*' \) -print0 2>/dev/null)
if [ "$bad" -ne 0 ]; then
	log "unresolved NEEDED entries (add packages to the list)"
	exit 1
fi

printf '%s\n' "${files[@]}" >"$tmp/.packages"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
log "ready: $out ($(du -sh "$out" | cut -f1), ${#files[@]} packages)"
