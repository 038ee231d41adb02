#!/bin/bash
# D-Bus fuzzing on the host: tests/guest/dbus_fuzz.c built with ASan/UBSan against the ASan/UBSan
# bufbrokerd (build/host/daemon/bufbrokerd) on a private dbus-daemon. The host has no heaps
# (--heap-dir is an empty directory), so allocation ends in NoSuchHeap; everything else (argument
# checks, options, roles, tokens, ids, wrong signatures) runs under the sanitizers at host speed.
# The guest runs the same program against the real heaps (tests/guest/reliability.sh).
#
# usage: tests/host/dbus-fuzz-host.sh [ITERATIONS [MAX_SECONDS]]   (default 5000 120)
# Output: dbus_fuzz's `ok - dbus_fuzz: ...` line and figures, then `ok - dbus_fuzz: host daemon ...`.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
iters=${1:-5000}
secs=${2:-120}
out=$top/build/host/tests/dbus-fuzz
daemon=$top/build/host/daemon/bufbrokerd
mkdir -p "$out"
[ -x "$daemon" ] || make -s -C "$top/daemon" TARGET=host >/dev/null || { echo "not ok - dbus_fuzz: host: no $daemon"; exit 1; }
san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
# shellcheck disable=SC2086,SC2046
gcc -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -Wno-format-truncation $san -I"$top/include" \
	-o "$out/dbus_fuzz" "$top/tests/guest/dbus_fuzz.c" "$top/tests/guest/harness.c" \
	"$top/tests/guest/bbutil.c" "$top/tests/guest/rawsession.c" $(pkg-config --cflags --libs libsystemd) -lm ||
	{ echo "not ok - dbus_fuzz: host: build failed"; exit 1; }

tmp=$(mktemp -d)
bus_pid='' bb_pid=''
# shellcheck disable=SC2317 # runs from the EXIT trap
cleanup() {
	[ -z "$bb_pid" ] || kill -KILL "$bb_pid" 2>/dev/null
	[ -z "$bus_pid" ] || kill "$bus_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cat >"$tmp/bus.conf" <<'CONF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>custom</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/>
<allow eavesdrop="true"/><allow own="*"/></policy></busconfig>
CONF
# The board's roles, open to anyone (the host user), heaps that do not exist here.
cat >"$tmp/policy.conf" <<'POL'
[client]
max-bytes = 128M
max-buffers = 64
[role camera]
heaps = camera, default_cma_region
allow-users = *
max-buffer-size = 16M
share-with = video, display
[role video]
heaps = video
allow-users = *
share-with = display
[role display]
heaps = default_cma_region
allow-users = *
[role quota]
heaps = default_cma_region
allow-users = *
max-bytes = 256K
max-buffers = 3
POL
mkdir -p "$tmp/heaps" "$tmp/stats"
dbus-daemon --nofork --config-file "$tmp/bus.conf" --print-address=3 3>"$tmp/address" 2>"$tmp/bus.log" &
bus_pid=$!
for _ in $(seq 50); do [ -s "$tmp/address" ] && break; sleep 0.1; done
addr=$(head -n1 "$tmp/address")
[ -n "$addr" ] || { echo "not ok - dbus_fuzz: host: no private bus"; exit 1; }
BUFBROKER_BUS_ADDRESS=$addr ASAN_OPTIONS=detect_leaks=1 "$daemon" --policy "$tmp/policy.conf" \
	--heap-dir "$tmp/heaps" --stats-dir "$tmp/stats" --dt-base "$tmp/stats" >"$tmp/daemon.log" 2>&1 &
bb_pid=$!
for _ in $(seq 100); do
	grep -q 'serving org.bufbroker.Broker1' "$tmp/daemon.log" && break
	sleep 0.1
done
rc=0
DBUS_SYSTEM_BUS_ADDRESS=$addr "$out/dbus_fuzz" --daemon-pid "$bb_pid" --user - --iterations "$iters" \
	--max-seconds "$secs" || rc=1
kill -TERM "$bb_pid"
wait "$bb_pid"
drc=$?
bb_pid=''
if [ $drc -eq 0 ] && ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/daemon.log"; then
	echo "ok - dbus_fuzz: host daemon (ASan/UBSan/LSan) exits 0 on SIGTERM after the fuzzing, sanitizers silent"
else
	echo "not ok - dbus_fuzz: host daemon exit $drc or sanitizer report:"
	grep -E -A12 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/daemon.log" | head -40 | sed 's/^/# /'
	rc=1
fi
exit $rc
