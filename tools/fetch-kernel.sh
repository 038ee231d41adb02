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
kver=$(apt-cache "${apt_opts[@]}" search --names-only "^linux-image-$series-arm64-unsigned\$" |
	awk '{print $1}' | sed -E 's/^linux-image-(.*)-unsigned$/\1/' | sort -V | tail -n1)
if [ -z "$kver" ]; then
	echo "fetch-kernel: no linux-image-*-arm64 for $suite in the apt lists; run apt-get update" >&2
	exit 1
fi
abi=${kver%-arm64}

if [ -e "$out/env" ] && grep -qx "KVER=$kver" "$out/env"; then
	exit 0
fi

headers_common=$(apt-cache "${apt_opts[@]}" show "linux-headers-$kver:arm64" 2>/dev/null |
	sed -n 's/^Depends:.*\(linux-headers-[^ ,]*-common[^ ,]*\).*/\1/p' | head -n1)
kbuild=$(apt-cache "${apt_opts[@]}" show "linux-headers-$kver:arm64" 2>/dev/null |
	sed -n 's/^Depends:.*\(linux-kbuild-[^ ,]*\).*/\1/p' | head -n1)
headers_common=${headers_common:-linux-headers-$abi-common}
echo "fetch-kernel: $suite -> $kver ($headers_common, $kbuild)" >&2

(
	cd "$cache/debs"
	for p in "linux-image-$kver-unsigned:arm64" "linux-headers-$kver:arm64" \
		"$headers_common" "$kbuild:amd64"; do
		name=${p%%:*}
		ls "${name}"_*.deb >/dev/null 2>&1 || apt-get "${apt_opts[@]}" download -q "$p" >/dev/null
	done
)

root="$out/root"
rm -rf "$root"
mkdir -p "$root"
for name in "linux-image-$kver-unsigned" "linux-headers-$kver" "$headers_common" "$kbuild"; do
	deb=$(ls "$cache/debs/${name}"_*.deb | sort -V | tail -n1)
	dpkg-deb -x "$deb" "$root"
done

kdir="$root/usr/src/linux-headers-$kver"
# The headers' Makefile includes the common tree by absolute path; point it into the sysroot.
sed -i -E "s|^include /usr/src/|include $root/usr/src/|" "$kdir/Makefile"
kbuild_dir=$(ls -d "$root"/usr/lib/linux-kbuild-* | head -n1)
for l in scripts tools; do
	if [ -L "$kdir/$l" ] && [ ! -e "$kdir/$l" ]; then
		ln -sfn "$kbuild_dir/$l" "$kdir/$l"
	fi
done

cat >"$out/env" <<ENV
KVER=$kver
SUITE=$suite
KDIR=$kdir
VMLINUZ=$root/boot/vmlinuz-$kver
MODDIR=$root/lib/modules/$kver
ENV
echo "fetch-kernel: ready in $out" >&2
