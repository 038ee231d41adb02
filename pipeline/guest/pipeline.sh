#!/bin/sh
# Guest scenario of the camera pipeline for the busybox initramfs (root, no systemd):
#   1. copy baseline (bb-copy-pipeline, MMAP + memcpy)
#   2. direct test mode as root (bb-camera --direct camera, fds over SCM_RIGHTS, pagemap check)
#   (stale: negative test, one injected stale frame must fail verification)
#   3. the real thing: bufbrokerd as user bufbroker, bb-camera as camera-client and bb-video as
#      video-client (tokens through the broker), bb-region-check as root proving placement
# Region usage before/during/after, PNGs in /out/frames, logs in /out/pipeline/.
# Environment: PL_FRAMES (default 120), PL_BIN (default /usr/bin), PL_MODE: "all" (= copy direct
# stale broker) or a list of those, run in that order (repeats allowed, e.g. "broker copy broker copy"),
# PL_PNG_MAX: frames each mode keeps for PNGs (default: the programs' own, direct mode none);
# `make bench` sets 0, so no mode copies frames aside while it is timed.
# Exit 0 iff every part that ran passed. Used by pipeline/guest/run-busybox.sh.
PL_FRAMES=${PL_FRAMES:-120}
PL_BIN=${PL_BIN:-/usr/bin}
PL_MODE=${PL_MODE:-all}
O=/out/pipeline
mkdir -p $O /out/frames
rc=0

usage_snapshot() { # LABEL
	for r in /sys/kernel/bufbroker/regions/*; do
		echo "USAGE $1 region=$(basename "$r") bytes=$(cat "$r/bytes_allocated") buffers=$(cat "$r/buffers_allocated") peak=$(cat "$r/peak_bytes") failures=$(cat "$r/failures")"
	done
}

[ -d /sys/kernel/bufbroker ] || insmod /lib/modules/bufbroker_heap.ko || exit 1
[ -e /sys/module/vivid ] || modprobe vivid allocators=1 n_devs=1 || exit 1
# No udev here: what the rules would do.
chgrp bufbroker /dev/dma_heap/* && chmod 0660 /dev/dma_heap/*
chgrp video /dev/video* /dev/media* 2>/dev/null
chmod 0660 /dev/video* /dev/media* 2>/dev/null
usage_snapshot before | tee $O/usage.txt

run_copy() {
	echo "== copy baseline ($PL_FRAMES frames)"
	$PL_BIN/bb-copy-pipeline --frames "$PL_FRAMES" --out /out/frames ${PL_PNG_MAX:+--png-max "$PL_PNG_MAX"} 2>&1 | tee $O/last.log
	cat $O/last.log >>$O/copy.log
	grep -q '^PIPELINE mode=copy .* failed=0 ' $O/last.log || rc=1
}

run_direct() {
	echo "== zero-copy, direct test mode (root, heap camera, fds over SCM_RIGHTS)"
	$PL_BIN/bb-camera --direct camera --frames "$PL_FRAMES" --socket @bb-direct \
		>$O/direct-camera.log.new 2>&1 &
	cam=$!
	$PL_BIN/bb-video --socket @bb-direct --png-max "${PL_PNG_MAX:-0}" 2>&1 | tee $O/last.log
	wait $cam || rc=1
	cat $O/last.log >>$O/direct-video.log
	cat $O/direct-camera.log.new | tee -a $O/direct-camera.log
	rm -f $O/direct-camera.log.new
	grep -q '^PIPELINE mode=zero-copy .* failed=0 ' $O/last.log || rc=1
}

# Environment changes, for measuring their effect on the figures.
run_cgroup() { grep -q ' /sys/fs/cgroup ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup; echo "== cgroup2 mounted"; }
run_dbus() { mkdir -p /run/dbus; [ -S /run/dbus/system_bus_socket ] || dbus-daemon --system --fork; echo "== dbus-daemon started"; }

# Negative test: the verifier must catch a stale frame (bb-camera --inject-stale).
run_stale() {
	echo "== negative test: one stale frame injected (must be caught)"
	$PL_BIN/bb-camera --direct camera --frames 30 --socket @bb-stale --inject-stale 10 \
		>$O/stale-camera.log 2>&1 &
	cam=$!
	$PL_BIN/bb-video --socket @bb-stale --png-max 0 >$O/stale-video.log 2>&1
	vrc=$?
	wait $cam
	cat $O/stale-video.log
	if [ $vrc -ne 0 ] && grep -q '^PIPELINE .* failed=1 ' $O/stale-video.log; then
		echo "STALE-TEST caught: bb-video exit $vrc, exactly one frame failed"
	else
		echo "STALE-TEST NOT caught (bb-video exit $vrc)"
		rc=1
	fi
}

run_broker() {
	echo "== zero-copy through bufbrokerd (camera-client / video-client)"
	mkdir -p /run/dbus /run/bufbroker-pipeline
	# sd-bus reads the callers' cgroups (bufbrokerd's allow-units): without systemd, mount it.
	grep -q ' /sys/fs/cgroup ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup
	[ -S /run/dbus/system_bus_socket ] || dbus-daemon --system --fork
	$PL_BIN/bb-runas bufbroker $PL_BIN/bufbrokerd >$O/bufbrokerd.log 2>&1 &
	bd=$!
	i=0
	until dbus-send --system --print-reply --dest=org.bufbroker.Broker1 /org/bufbroker/Broker1 \
		org.freedesktop.DBus.Properties.Get string:org.bufbroker.Broker1 string:Version \
		>/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "bufbrokerd did not come up"; cat $O/bufbrokerd.log; exit 1; }
		sleep 0.2
	done
	chown camera-client:video /run/bufbroker-pipeline && chmod 0750 /run/bufbroker-pipeline
	chown video-client /out/frames
	$PL_BIN/bb-region-check --region camera --timeout 60 >$O/region-check.log 2>&1 &
	rcp=$!
	sleep 0.5
	$PL_BIN/bb-runas camera-client $PL_BIN/bb-camera --frames "$PL_FRAMES" \
		--socket-group video --region-check @bufbroker-region-check >$O/camera.log 2>&1 &
	cam=$!
	(sleep 8; usage_snapshot during >$O/usage-during.txt) &
	snap=$!
	$PL_BIN/bb-runas video-client $PL_BIN/bb-video --out /out/frames ${PL_PNG_MAX:+--png-max "$PL_PNG_MAX"} 2>&1 | tee $O/last.log
	wait $cam || rc=1
	wait $rcp || rc=1
	cat $O/last.log >>$O/video.log
	cat $O/camera.log $O/region-check.log
	grep -q '^PIPELINE mode=zero-copy .* failed=0 ' $O/last.log || rc=1
	grep -q '^REGION-CHECK SUMMARY' $O/region-check.log || rc=1
	wait $snap
	cat $O/usage-during.txt | tee -a $O/usage.txt
	kill $bd 2>/dev/null
	wait $bd 2>/dev/null
	echo "== bufbrokerd log"
	cat $O/bufbrokerd.log
}
[ "$PL_MODE" = all ] && PL_MODE="copy direct stale broker"
for m in $PL_MODE; do
	run_$m
done
usage_snapshot after | tee -a $O/usage.txt
ls -l /out/frames
echo "PIPELINE-SCENARIO rc=$rc"
exit $rc
