#!/bin/sh
# test_lib_ctl.sh CTL TOP - bufbrokerctl without a daemon: --help everywhere,
# documented exit codes (2 usage, 3 unreachable, 4 invalid policy), policy
# check with file:line, direct-mode errors.  Exits non-zero on the first failure.
set -u
ctl=$1 top=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

expect() { # expect CODE DESCRIPTION -- command...
	want=$1 what=$2
	shift 3
	"$@" > "$tmp/out" 2> "$tmp/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $what: exit $got, expected $want" >&2
		sed 's/^/  | /' "$tmp/out" "$tmp/err" >&2
		fails=$((fails + 1))
	else
		echo "ok: $what"
	fi
}

expect_grep() { # expect_grep PATTERN FILE DESCRIPTION
	if grep -Eq "$1" "$2"; then
		echo "ok: $3"
	else
		echo "FAIL: $3: no /$1/ in:" >&2
		sed 's/^/  | /' "$2" >&2
		fails=$((fails + 1))
	fi
}

# no bus at this address: every daemon command is "unreachable"
export BUFBROKER_BUS_ADDRESS="unix:path=$tmp/no-bus"

expect 0 "--help" -- "$ctl" --help
expect_grep "Exit status" "$tmp/out" "--help documents exit codes"
for cmd in heaps usage alloc monitor policy; do
	expect 0 "$cmd --help" -- "$ctl" "$cmd" --help
	expect_grep "Usage: bufbrokerctl $cmd" "$tmp/out" "$cmd --help prints its usage"
done
expect 2 "no command" -- "$ctl"
expect 2 "unknown command" -- "$ctl" frobnicate
expect 2 "unknown option" -- "$ctl" --frob heaps
expect 2 "heaps with extra argument" -- "$ctl" heaps extra
expect 2 "alloc without size" -- "$ctl" alloc camera
expect 2 "alloc bad size" -- "$ctl" alloc camera 12Q
expect 2 "alloc zero size" -- "$ctl" alloc camera 0
expect 2 "alloc size overflow" -- "$ctl" alloc camera 99999999999T
expect 2 "alloc unknown fourcc" -- "$ctl" alloc camera FOO1:64x64
expect 2 "alloc bad geometry" -- "$ctl" alloc camera NV12:64y64
expect 2 "monitor bad interval" -- "$ctl" monitor --interval 0
expect 2 "policy without check" -- "$ctl" policy
expect 3 "heaps, daemon unreachable" -- "$ctl" heaps
expect 3 "usage --json, daemon unreachable" -- "$ctl" usage --json
expect 3 "alloc, daemon unreachable" -- "$ctl" alloc camera 4M
expect 3 "monitor, daemon unreachable" -- "$ctl" monitor --count 1

# direct mode against a fake /dev/dma_heap
mkdir "$tmp/heaps" "$tmp/regions"
: > "$tmp/heaps/default_cma_region"
expect 1 "alloc --direct unknown heap" -- env BUFBROKER_HEAP_DIR="$tmp/heaps" \
	BUFBROKER_STATS_DIR="$tmp/regions" "$ctl" alloc --direct camera 4K
expect_grep "No such file" "$tmp/err" "unknown heap says so"
expect 1 "alloc --direct on a non-heap file" -- env BUFBROKER_HEAP_DIR="$tmp/heaps" \
	BUFBROKER_STATS_DIR="$tmp/regions" "$ctl" alloc --direct linux,cma 4K

# policy check
good=$top/daemon/policy/qemu-board.conf
if [ -f "$good" ] && ! grep -q "built without" "$tmp/err"; then
	expect 0 "policy check of the shipped policy" -- "$ctl" policy check "$good"
	expect_grep "OK" "$tmp/out" "policy check says OK"
	printf '[role camera]\nheaps = default_cma_region\nmax-bytes = lots\n' > "$tmp/bad.conf"
	expect 4 "policy check of an invalid file" -- "$ctl" policy check "$tmp/bad.conf"
	expect_grep "bad.conf:3:" "$tmp/err" "policy error names file:line"
	expect 4 "policy check --json of an invalid file" -- "$ctl" policy check --json "$tmp/bad.conf"
	expect_grep '"valid":false' "$tmp/out" "policy --json reports invalid"
	expect 1 "policy check of a missing file" -- "$ctl" policy check "$tmp/missing.conf"
else
	echo "skip: policy check (no daemon/policy parser)"
fi

if [ $fails -ne 0 ]; then
	echo "test_lib_ctl: $fails failure(s)" >&2
	exit 1
fi
echo "test_lib_ctl: all passed"
