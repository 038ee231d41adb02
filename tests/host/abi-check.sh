#!/bin/sh
# abi-check.sh LIB SYMBOLS [HEADER] - fail when the dynamic symbols LIB exports
# differ from the list in SYMBOLS (one "name@@VERSION" per line), or when a
# function declared in HEADER is not exported.
# Update SYMBOLS deliberately:  nm -D --defined-only LIB | awk '$2 ~ /[TWDBVR]/ {print $3}' | sort
set -eu
lib=$1 symbols=$2 header=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Everything the library defines, except the version node itself ("A" BUFBROKER_1).
nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sort > "$tmp/actual"
sort "$symbols" > "$tmp/expected"
status=0
if ! diff -u "$tmp/expected" "$tmp/actual" > "$tmp/diff"; then
	echo "abi-check: exported symbols of $lib differ from $symbols:" >&2
	cat "$tmp/diff" >&2
	status=1
fi
# Only the public prefix, only the BUFBROKER_1 version.
if grep -v '^bb_[a-z0-9_]*@@BUFBROKER_1$' "$tmp/actual" > "$tmp/bad"; then
	echo "abi-check: symbols outside bb_*@@BUFBROKER_1:" >&2
	cat "$tmp/bad" >&2
	status=1
fi
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
if [ "$soname" != "libbufbroker.so.1" ]; then
	echo "abi-check: soname is '$soname', expected libbufbroker.so.1" >&2
	status=1
fi
if [ -n "$header" ]; then
	# every "bb_name(" declared at the start of a prototype in the public header
	grep -oE '^[a-z].*[ *](bb_[a-z0-9_]+)\(' "$header" | grep -oE 'bb_[a-z0-9_]+\($' |
		tr -d '(' | sort -u > "$tmp/declared"
	sed 's/@@.*//' "$tmp/actual" > "$tmp/names"
	if ! missing=$(comm -23 "$tmp/declared" "$tmp/names") || [ -n "$missing" ]; then
		echo "abi-check: declared in $header but not exported: $missing" >&2
		status=1
	fi
fi
[ $status -eq 0 ] && echo "abi-check: $(wc -l < "$tmp/actual") symbols match, soname $soname"
exit $status
