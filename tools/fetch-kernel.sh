#!/bin/bash
# Fetch a Debian arm64 kernel (image, headers, kbuild) with apt-get download and
# lay it out as a private cross-build sysroot. Nothing is installed on the host.
#
# usage: tools/fetch-kernel.sh SUITE OUTDIR
#   SUITE  bookworm (6.1, primary), trixie (6.12) or sid (7.2)
# Writes OUTDIR/env with KVER, KDIR, VMLINUZ and MODDIR for the other scripts.
set -euo pipefail

suite=${1:?usage: fetch-kernel.sh SUITE OUTDIR}
out=$(realpath -m "${2:?usage: fetch-kernel.sh SUITE OUTDIR}")
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${BUFBROKER_CACHE:-/var/cache/bufbroker}
mkdir -p "$out" "$cache/debs"

# The Debian mirror the machine already uses, from one-line (sources.list) or deb822
# (*.sources "URIs:") entries. Comments (e.g. a commented-out snapshot URL) and the security
# archive are skipped; deb.debian.org is preferred when present. Prints nothing if none is found.
system_mirror() {
	local f uris=()
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		case $f in
		*.sources) mapfile -t -O "${#uris[@]}" uris < <(sed -E 's/#.*//' "$f" |
			sed -nE 's/^URIs:[[:space:]]*//Ip' | tr -s ' \t' '\n') ;;
		*) mapfile -t -O "${#uris[@]}" uris < <(sed -E 's/#.*//' "$f" |
			sed -nE 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p') ;;
		esac
	done
	printf '%s\n' ${uris[@]+"${uris[@]}"} | grep -E '^https?://[^ ]+/debian/?$' |
		grep -v -- '-security' | sed 's|/$||' |
		awk '/deb\.debian\.org/ { print; found = 1; exit } !first { first = $0 }
			END { if (!found && first) print first }'
}

apt_opts=()
case "$suite" in
bookworm) series='6\.1\.0-[0-9]+' ;;
trixie|sid)
	# Private apt configuration: the system's sources stay untouched.
	adir="$cache/apt-$suite"
	mkdir -p "$adir/lists/partial" "$adir/archives/partial"
	mirror=$(system_mirror || true)
	mirror=${mirror:-http://deb.debian.org/debian}
	echo "deb [arch=arm64,amd64] $mirror $suite main" >"$adir/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$adir/sources.list" -o "Dir::Etc::SourceParts=-"
		-o "Dir::State::Lists=$adir/lists" -o "Dir::Cache=$adir" -o "APT::Architectures::=arm64"
		-o "APT::Architectures::=amd64")
	if [ ! -e "$adir/updated" ] || [ -n "$(find "$adir/updated" -mmin +720)" ]; then
		apt-get "${apt_opts[@]}" update -q >/dev/null
		touch "$adir/updated"
	fi
	case "$suite" in
	trixie) series='6\.12\.[0-9.]+\+deb13(\.[0-9]+)?' ;;
	sid) series='7\.[0-9]+\.[0-9.]+\+deb1[45](\.[0-9]+)?' ;;
	esac
	;;
*) echo "fetch-kernel: unknown suite '$suite' (use bookworm, trixie or sid)" >&2; exit 2 ;;
esac

# Newest ABI available now: the ABI number moves and old ones leave the mirror.
# Two naming schemes: up to trixie the unsigned image is linux-image-<kver>-unsigned with
# boot/vmlinuz-<kver>; from 7.x (sid) linux-image-<kver> is unsigned and only a metapackage
# for linux-binary-<kver> (usr/lib/modules/<kver>/vmlinuz), linux-modules-<kver> and
# linux-base-<kver> (config, System.map).
kver=$(apt-cache "${apt_opts[@]}" search --names-only "^linux-image-$series-arm64(-unsigned)?\$" |
	awk '{print $1}' | sed -E 's/^linux-image-(.*)$/\1/; s/-unsigned$//' | sort -Vu | tail -n1)
if [ -z "$kver" ]; then
	echo "fetch-kernel: no linux-image-*-arm64 for $suite in the apt lists; run apt-get update" >&2
	exit 1
fi
abi=${kver%-arm64}

if [ -e "$out/env" ] && grep -qx "KVER=$kver" "$out/env"; then
	exit 0
fi

pkg_field() { # PACKAGE FIELD: one field of the candidate's record
	apt-cache "${apt_opts[@]}" show "$1" 2>/dev/null | sed -n "s/^$2: //p" | head -n1
}
if [ -n "$(pkg_field "linux-image-$kver-unsigned:arm64" Package)" ]; then
	images=("linux-image-$kver-unsigned")
else
	images=("linux-image-$kver")
	# The split packages of the new scheme, named <something>-<kver>.
	for p in $(pkg_field "linux-image-$kver:arm64" Depends | tr ',|' '\n' | awk '{print $1}'); do
		case $p in linux-*-"$kver") images+=("$p") ;; esac
	done
fi
hdeps=$(pkg_field "linux-headers-$kver:arm64" Depends)
headers_common=$(echo "$hdeps" | grep -oE 'linux-headers-[^ ,]*-common[^ ,]*' | head -n1 || true)
kbuild=$(echo "$hdeps" | grep -oE 'linux-kbuild-[^ ,]*' | head -n1 || true)
headers_common=${headers_common:-linux-headers-$abi-common}
echo "fetch-kernel: $suite -> $kver (${images[*]}, $headers_common, $kbuild)" >&2

(
	cd "$cache/debs"
	for p in "${images[@]/%/:arm64}" "linux-headers-$kver:arm64" "$headers_common" "$kbuild:amd64"; do
		name=${p%%:*}
		ls "${name}"_*.deb >/dev/null 2>&1 || apt-get "${apt_opts[@]}" download -q "$p" >/dev/null
	done
)

root="$out/root"
rm -rf "$root"
mkdir -p "$root"
for name in "${images[@]}" "linux-headers-$kver" "$headers_common" "$kbuild"; do
	deb=$(ls "$cache/debs/${name}"_*.deb | sort -V | tail -n1)
	dpkg-deb -x "$deb" "$root"
done

kdir="$root/usr/src/linux-headers-$kver"
# The headers' Makefile includes the common tree by absolute path (and from 7.x also sets
# KBUILD_OUTPUT to its own absolute path); point them into the sysroot.
sed -i -E "s#^(include |KBUILD_OUTPUT *:?= *)/usr/src/#\1$root/usr/src/#" "$kdir/Makefile"
kbuild_dir=$(ls -d "$root"/usr/lib/linux-kbuild-* | head -n1)
for l in scripts tools; do
	if [ -L "$kdir/$l" ] && [ ! -e "$kdir/$l" ]; then
		ln -sfn "$kbuild_dir/$l" "$kdir/$l"
	fi
done

# Host tools of kbuild (fixdep, modpost, genksyms, ...) are amd64 programs linked against the
# suite's glibc: trixie's and sid's need GLIBC_2.38 while Debian 12 has 2.36. Those that need
# a newer glibc than the host's run through the suite's own libc6:amd64, extracted (not
# installed) into $root/hostlibc: each such ELF becomes NAME.elf and NAME a small sh wrapper
#   exec $root/hostlibc/.../ld-linux-x86-64.so.2 --argv0 NAME --library-path ... NAME.elf "$@"
# Its other libraries (libelf, libz, libcrypto: same sonames) come from the host as usual.
# This works for any suite (unlike bookworm-backports' kbuild, which exists for 6.12 only).
# bookworm's tools run natively and are left untouched.
glibc_of() { # ELF: the newest GLIBC_x.y symbol version it asks for
	grep -aoE 'GLIBC_2\.[0-9]+' "$1" | sort -Vu | tail -n1 | sed 's/^GLIBC_//'
}
host_glibc=$(ldd --version 2>/dev/null | head -n1 | grep -oE '[0-9]+\.[0-9]+$' || true)
newer=()
while IFS= read -r -d '' f; do
	[ "$(od -An -tx1 -N4 "$f" | tr -d ' ')" = 7f454c46 ] || continue
	need=$(glibc_of "$f")
	[ -n "$need" ] || continue
	if [ "$(printf '%s\n' "$need" "${host_glibc:-0}" | sort -V | tail -n1)" != "${host_glibc:-0}" ]; then
		newer+=("$f")
	fi
done < <(find "$kbuild_dir" -type f -perm -u+x -print0)
if [ ${#newer[@]} -gt 0 ]; then
	[ -n "${apt_opts[*]}" ] || { echo "fetch-kernel: kbuild needs a newer glibc than the host's" >&2; exit 1; }
	libc_debs="$cache/debs/libc6-$suite"
	mkdir -p "$libc_debs"
	(cd "$libc_debs" && { ls libc6_*_amd64.deb >/dev/null 2>&1 || apt-get "${apt_opts[@]}" download -q libc6:amd64 >/dev/null; })
	dpkg-deb -x "$(ls "$libc_debs"/libc6_*_amd64.deb | sort -V | tail -n1)" "$root/hostlibc"
	ldso=$(find "$root/hostlibc" -name ld-linux-x86-64.so.2 -type f | head -n1)
	[ -n "$ldso" ] || { echo "fetch-kernel: no ld-linux-x86-64.so.2 in libc6:amd64" >&2; exit 1; }
	libdir=$(dirname "$ldso")
	for f in "${newer[@]}"; do
		mv "$f" "$f.elf"
		printf '#!/bin/sh\n# %s\nexec %s --argv0 "$0" --library-path %s "$0.elf" "$@"\n' \
			"Run with $suite's glibc (see tools/fetch-kernel.sh)" "$ldso" "$libdir" >"$f"
		chmod 0755 "$f"
	done
	probe=$("${newer[0]}" --help </dev/null 2>&1 || true)
	case $probe in *GLIBC_2*|*ld-linux*|*"not found"*)
		echo "fetch-kernel: wrapped kbuild tools do not run: $probe" >&2; exit 1 ;;
	esac
	echo "fetch-kernel: ${#newer[@]} kbuild tools run with $suite's glibc ($(basename "$(dirname "$libdir")")/$(basename "$libdir"))" >&2
fi

moddir="$root/lib/modules/$kver"
[ -d "$moddir" ] || moddir="$root/usr/lib/modules/$kver"
vmlinuz=
for v in "$root/boot/vmlinuz-$kver" "$root/usr/lib/modules/$kver/vmlinuz"; do
	[ -e "$v" ] && { vmlinuz=$v; break; }
done
[ -n "$vmlinuz" ] && [ -d "$moddir" ] || { echo "fetch-kernel: no vmlinuz or modules for $kver in ${images[*]}" >&2; exit 1; }

# QEMU's -kernel boots an arm64 Image (raw or gzip). An EFI zboot image (CONFIG_EFI_ZBOOT: "MZ",
# then "zimg" at offset 4, payload offset and size as le32 at 8 and 12, compression name at 24)
# is not one: extract and decompress its payload.
if [ "$(dd if="$vmlinuz" bs=1 skip=4 count=4 status=none)" = zimg ]; then
	le32() { od -An -tu4 -j "$1" -N4 --endian=little "$vmlinuz" | tr -d ' '; }
	zoff=$(le32 8) zsize=$(le32 12)
	ztype=$(dd if="$vmlinuz" bs=1 skip=24 count=32 status=none | tr -d '\0')
	case $ztype in
	gzip) dec=(gzip -dc) ;; zstd|zstd22) dec=(zstd -dc) ;; xz) dec=(xz -dc) ;; lzma) dec=(xz -dc --format=lzma) ;;
	bzip2) dec=(bzip2 -dc) ;; lz4) dec=(lz4 -dc) ;; lzo) dec=(lzop -dc) ;;
	*) echo "fetch-kernel: zboot image with unknown compression '$ztype'" >&2; exit 1 ;;
	esac
	tail -c +$((zoff + 1)) "$vmlinuz" | head -c "$zsize" | "${dec[@]}" >"$out/Image"
	vmlinuz=$out/Image
	echo "fetch-kernel: extracted the $ztype payload of the EFI zboot image" >&2
fi

cat >"$out/env" <<ENV
KVER=$kver
SUITE=$suite
KDIR=$kdir
VMLINUZ=$vmlinuz
MODDIR=$moddir
ENV
echo "fetch-kernel: ready in $out" >&2
