#!/bin/sh
# Guest half of `make bench` (tools/bench.sh): every benchmark in one boot, raw results as CSV
# under /out/bench (tools/bench.sh turns them into out/bench/results.md and plots).
# Kernel command line: bb.smoke=1 runs a few repetitions of each (tools/bench.sh --smoke);
# bb.parts=heap,broker,pressure,pipeline runs only those (default: all; BB_BENCH_CMDLINE).
#
#   1 heap_bench      module ioctl alloc+free per heap and size vs memset (heap.csv), again with
#                     the module's recycling on (heap-recycle.csv, recycle-hits.txt)
#   2 broker_bench    bufbrokerd Allocate+Release vs the direct ioctl, D-Bus round trip (broker.csv, rtt.csv)
#   3                 Share+Import vs one round trip (share.csv)
#   4                 1/4/16/64 client processes (scale.csv); daemon RSS with 1,000 buffers (rss.csv)
#   5 cma_bench       idle vs CMA filled with the page cache of a file read from a disk
#                     (pagecache.csv) and with tmpfs pages (pressure.csv, fill.csv); churn (churn.csv);
#     broker_bench    the same through the broker, with and without a reservation (reserve.csv)
#   6 pipeline.sh     zero-copy vs copy (pipeline.txt), when the pipeline is in the image
# Lines: "# bench: ..." progress; "ok - bench: <part>" / "not ok - bench: <part>: <reason>".
. /etc/bufbroker-guest/lib.sh
O=/out/bench
mkdir -p $O
SMOKE=0
grep -q 'bb.smoke=1' /proc/cmdline && SMOKE=1
if [ $SMOKE = 1 ]; then
	REPS=3 HEAP_ARGS="--quick --reps 3 --interleave" SCALE="1 4" SCALE_OPS=5 RSS_COUNT=50 CHURN_OPS=40
	FILE_COUNT=count=64
	HOLD_DIRECT=3 HOLD_BROKER=2 HOLD_ROUNDS=2
	PL_FRAMES=0
else
	REPS=40 HEAP_ARGS="--reps 30 --interleave" SCALE="1 4 16 64" SCALE_OPS= RSS_COUNT=1000
	HOLD_DIRECT=20 HOLD_BROKER=10 HOLD_ROUNDS=5
	CHURN_OPS=300 PL_FRAMES=150 FILE_COUNT=
fi
# bb.rss=N: the daemon-memory benchmark with N live buffers instead (e.g. past the fd limit).
rss_arg=$(sed -n 's/.*bb\.rss=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$rss_arg" ] && RSS_COUNT=$rss_arg
PARTS=$(sed -n 's/.*bb\.parts=\([a-z,]*\).*/\1/p' /proc/cmdline)
want() { [ -z "$PARTS" ] && return 0; case ",$PARTS," in *",$1,"*) return 0 ;; esac; return 1; }
up() { cut -d' ' -f1 /proc/uptime; }
t_start=$(up)
part() { echo "# bench: === $1 (t=$(up) s)"; }
result() { # NAME RC
	if [ "$2" -eq 0 ]; then echo "ok - bench: $1"; else echo "not ok - bench: $1: exit $2"; failed=1; fi
}

{
	uname -a
	echo "cpus $(grep -c ^processor /proc/cpuinfo)"
	grep -E '^(MemTotal|MemFree|CmaTotal|CmaFree)' /proc/meminfo
	echo "smoke $SMOKE reps $REPS"
} >$O/env.txt

load_heap_module || { echo "not ok - bench: module loads"; exit 1; }
ls /dev/dma_heap | sed 's/^/# heap node /'
for r in /sys/kernel/bufbroker/regions/*; do
	echo "$(basename "$r"),$(cat "$r/size"),$(cat "$r/heaps" | tr '\n' ' '),uncached=$(cat "$r/uncached")"
done >$O/regions.csv
failed=0

bench_heap() {
	part "1 heap allocation vs memset"
	# Fresh allocations first: recycling off everywhere (the board turns it on for video in the DT;
	# its value is put back after the recycled run below).
	for r in /sys/kernel/bufbroker/regions/*; do
		echo "$(basename "$r") $(cat "$r/recycle_ms")"
		echo 0 >"$r/recycle_ms"
	done >/tmp/recycle-ms-at-load.txt
	# shellcheck disable=SC2086
	$B/heap_bench --heap camera@78000000 --heap video@7c000000 --heap default_cma_region $HEAP_ARGS \
		--csv $O/heap.csv
	result heap_bench $?
	# The same with the module's opt-in recycling (kernel/bufbroker_recycle.c): a freed buffer is
	# kept for 1 s and cleared again in the background. --back-to-back also times a reuse right after
	# the free, before that clearing can have finished.
	for r in /sys/kernel/bufbroker/regions/*; do echo 1000 >"$r/recycle_ms"; done
	# shellcheck disable=SC2086
	$B/heap_bench --heap camera@78000000 --heap video@7c000000 --heap default_cma_region $HEAP_ARGS \
		--back-to-back --csv $O/heap-recycle.csv
	result "heap_bench with recycling" $?
	for r in /sys/kernel/bufbroker/regions/*; do
		echo "$(basename "$r") $(cat "$r/recycle_hits") $(cat "$r/recycle_precleared")" # names may contain commas
		echo 0 >"$r/recycle_ms"
	done >$O/recycle-hits.txt
	while read -r name ms; do echo "$ms" >"/sys/kernel/bufbroker/regions/$name/recycle_ms"; done \
		</tmp/recycle-ms-at-load.txt

	# Where the fixed cost of a CMA allocation goes: function_graph of alloc_contig_range (depth 3)
	# over 20 kept 4 KiB allocations from the idle camera region (tracing slows it; look at shares).
	TR=/sys/kernel/tracing
	[ -e $TR/current_tracer ] || mount -t tracefs nodev $TR 2>/dev/null
	if [ -w $TR/current_tracer ] && grep -qw function_graph $TR/available_tracers &&
		echo alloc_contig_range >$TR/set_graph_function 2>/dev/null; then
		echo 3 >$TR/max_graph_depth
		echo 1 >$TR/options/funcgraph-tail 2>/dev/null
		echo function_graph >$TR/current_tracer
		: >$TR/trace
		echo 1 >$TR/tracing_on
		$B/cma_bench hold --heap camera --size 4096 --reps 20 --phase trace4k --out /tmp >/dev/null
		echo 0 >$TR/tracing_on
		cat $TR/trace >$O/trace-4k.txt
		echo nop >$TR/current_tracer
		: >$TR/set_graph_function
		echo "# bench: alloc_contig_range traced: $(grep -c 'alloc_contig_range \*/' $O/trace-4k.txt) calls"
	else
		echo "# bench: SKIP trace (no function_graph tracer)"
	fi
}
want heap && bench_heap

have_broker=0
if want broker || want pressure; then
	mkdir -p /run/dbus
	dbus-daemon --system --nofork --nopidfile >/tmp/dbus-daemon.log 2>&1 &
	dbus_pid=$!
	i=0
	while [ ! -S /run/dbus/system_bus_socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	# What daemon/udev/60-bufbroker.rules does.
	chgrp bufbroker /dev/dma_heap/* && chmod 0660 /dev/dma_heap/*
	su -s /bin/sh bufbroker -c 'exec /usr/sbin/bufbrokerd' >/tmp/bufbrokerd.log 2>&1 &
	su_pid=$!
	i=0
	until dbus-send --system --print-reply --dest=org.bufbroker.Broker1 /org/bufbroker/Broker1 \
		org.freedesktop.DBus.Properties.Get string:org.bufbroker.Broker1 string:Version >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && break
		sleep 0.2
	done
	bb_pid=$(pidof bufbrokerd)
	echo "# bench: bufbrokerd pid $bb_pid"
	[ -n "$bb_pid" ] && [ -x /usr/bin/broker_bench ] && have_broker=1
fi
if want broker && [ $have_broker = 1 ]; then
	part "2-4 broker"
	# First, on a fresh daemon: its memory with RSS_COUNT live buffers.
	broker_bench rss --role benchmem --daemon-pid "$bb_pid" --count $RSS_COUNT --size 4096 \
		--out $O/rss.csv
	result "daemon rss $RSS_COUNT buffers" $?
	broker_bench latency --role bench --heap camera --reps $REPS --out $O
	result broker_latency_share $?
	for t in session bus; do
		for n in $SCALE; do
			broker_bench scale --role bench --clients "$n" ${SCALE_OPS:+--ops $SCALE_OPS} \
				--size 65536 --transport $t --out $O/scale.csv
			result "scale $n clients ($t)" $?
		done
	done
elif want broker; then
	echo "not ok - bench: bufbrokerd or broker_bench missing"
	failed=1
fi

# Read the file on the bbfill disk (tools/bench.sh: ext2, 800 MiB of data) into the page cache:
# clean, movable pages that CMA may place in its regions and must then reclaim or migrate.
# Writes $O/pagecache.csv (as fill.csv, plus the MiB read and the seconds it took).
pagecache_fill() {
	dev=
	modprobe virtio_mmio && modprobe virtio_blk
	for i in 1 2 3 4 5 6 7 8 9 10; do
		for b in /sys/block/vd*; do
			[ "$(cat "$b/serial" 2>/dev/null)" = bbfill ] && dev=/dev/${b##*/}
		done
		[ -n "$dev" ] && [ -b "$dev" ] && break
		sleep 0.2
	done
	why=
	if [ -z "$dev" ]; then
		why="no disk with serial bbfill (tools/bench.sh passes -x to run-guest.sh); disks:$(
			for b in /sys/block/vd*; do printf ' %s=%s' "${b##*/}" "$(cat "$b/serial" 2>/dev/null)"; done)"
	elif ! modprobe ext4; then
		why="modprobe ext4 failed"
	elif ! modprobe crc32c_generic 2>/dev/null && ! modprobe crc32c-cryptoapi 2>/dev/null; then
		why="no crc32c module (ext4 needs one to mount)"
	elif ! mkdir -p /mnt/file || ! mount -t ext2 -o ro "$dev" /mnt/file; then
		why="$dev does not mount as ext2: $(dmesg | tail -n 3 | tr '\n' ' ')"
	fi
	if [ -n "$why" ]; then
		echo "not ok - bench: page-cache fill: $why"
		failed=1
		return 1
	fi
	kb() { sed -n "s/^$1: *\([0-9]*\) kB/\1/p" /proc/meminfo; }
	mf0=$(kb MemFree) cf0=$(kb CmaFree) t0=$(up)
	# shellcheck disable=SC2086
	mb=$(dd if=/mnt/file/file of=/dev/null bs=1M $FILE_COUNT 2>&1 | sed -n 's/^\([0-9]*\)+.* records in$/\1/p')
	t1=$(up)
	echo "memfree_kb_before,cmafree_kb_before,memfree_kb_after,cmafree_kb_after,read_mb,read_s" >$O/pagecache.csv
	echo "$mf0,$cf0,$(kb MemFree),$(kb CmaFree),$mb,$(awk "BEGIN{print $t1 - $t0}")" >>$O/pagecache.csv
	echo "# bench: page cache: read $mb MiB; MemFree $mf0 -> $(kb MemFree) kB, CmaFree $cf0 -> $(kb CmaFree) kB"
	result "page-cache fill" 0
}

pagecache_drop() {
	umount /mnt/file 2>/dev/null
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

bench_pressure() {
	part "5 CMA under pressure"
	# Allocations that each need a fresh range of a region (buffers kept): idle, then with the
	# regions full of page cache (a file read), then full of tmpfs pages. Direct on
	# default_cma_region; through the broker on camera (role bench, no reservation) and on video
	# (role benchres, reserve = 4 x 4M: 4 held x HOLD_ROUNDS).
	hold_all() { # PHASE
		$B/cma_bench hold --heap default_cma_region --size 4194304 --reps $HOLD_DIRECT --phase "$1" --out $O
		result "cma hold $1" $?
		if [ $have_broker = 1 ]; then
			broker_bench hold --role bench --size 4194304 --reps $HOLD_BROKER --phase "$1" --out $O/reserve.csv
			result "broker hold without reservation $1" $?
			broker_bench hold --role benchres --size 4194304 --reps 4 --rounds $HOLD_ROUNDS --phase "$1" \
				--pause-ms 300 --out $O/reserve.csv
			result "broker hold with reservation $1" $?
		fi
	}
	hold_all idle
	pagecache_fill && hold_all pagecache
	pagecache_drop
	mkdir -p /mnt/fill
	mount -t tmpfs -o size=100% tmpfs /mnt/fill
	$B/cma_bench fill --fill-dir /mnt/fill --headroom-mb 192 --out $O
	result cma_fill $?
	hold_all pressure
	$B/cma_bench churn --heap camera --ops $CHURN_OPS --out $O
	result "cma_churn (filled)" $?
	rm -rf /mnt/fill/*
	umount /mnt/fill
	grep -E '^(MemFree|CmaFree)' /proc/meminfo | sed 's/^/# bench: after fill removed /'
}
want pressure && bench_pressure
if [ $have_broker = 1 ]; then
	kill -TERM "$bb_pid"
	wait "$su_pid" 2>/dev/null
fi
cp /tmp/bufbrokerd.log $O/ 2>/dev/null

part "6 pipeline"
if ! want pipeline; then
	echo "# bench: SKIP pipeline (not in bb.parts)"
elif [ "$PL_FRAMES" -gt 0 ] && [ -x /etc/bufbroker-guest/pipeline.sh ] && [ -x /usr/bin/bb-camera ]; then
	echo "copy direct broker copy direct broker" >$O/pipeline-modes.txt
	PL_FRAMES=$PL_FRAMES PL_PNG_MAX=0 PL_MODE="copy direct broker copy direct broker" \
		sh /etc/bufbroker-guest/pipeline.sh >$O/pipeline.log 2>&1
	rc=$?
	grep -E '^(PIPELINE|CAMERA) ' $O/pipeline.log | tee $O/pipeline.txt
	result pipeline $rc
else
	echo "# bench: SKIP pipeline (not in the image, or smoke)"
fi

kill "$dbus_pid" 2>/dev/null
echo "# bench: total $(awk "BEGIN{print $(up) - $t_start}") s"
exit $failed
