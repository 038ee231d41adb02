#!/bin/bash
# Run the kernel's checkpatch.pl --strict on kernel/. Debian ships checkpatch only inside the
# linux-source package, so take the three files it needs from there once and cache them.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${BUFBROKER_CACHE:-/var/cache/bufbroker}
cp_dir=$cache/checkpatch
if [ ! -x "$cp_dir/scripts/checkpatch.pl" ]; then
	mkdir -p "$cache/debs" "$cp_dir"
	pkg=$(apt-cache search --names-only '^linux-source-6\.1$' | awk '{print $1}' | head -n1)
	(cd "$cache/debs" && ls linux-source-6.1_*.deb >/dev/null 2>&1 || apt-get download -q "${pkg:-linux-source-6.1}" >/dev/null 2>&1)
	deb=$(ls "$cache"/debs/linux-source-6.1_*.deb | sort -V | tail -n1)
	tarball=$(dpkg-deb -c "$deb" | awk '{print $6}' | grep -E 'linux-source-6\.1\.tar\.xz$')
	dpkg-deb --fsys-tarfile "$deb" | tar -x -O "$tarball" |
		tar -x -J -C "$cp_dir" --strip-components=1 --wildcards \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
fi
cd "$top/kernel"
files=$(ls ./*.c ./*.h)
# shellcheck disable=SC2086
"$cp_dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
	--ignore FILE_PATH_CHANGES -f $files
