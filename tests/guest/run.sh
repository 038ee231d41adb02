#!/bin/sh
# Guest half of `make run` (until the camera pipeline lands): load the module on the demo
# board and show its heaps with their statistics.
. /etc/bufbroker-guest/lib.sh
load_heap_module || exit 1
echo "== /dev/dma_heap"
ls -l /dev/dma_heap/
echo "== regions (/sys/kernel/bufbroker/regions)"
printf '%-18s %-10s %-44s %10s %10s %8s\n' REGION SIZE_MiB HEAPS USED PEAK FAILS
for r in /sys/kernel/bufbroker/regions/*; do
	printf '%-18s %-10s %-44s %10s %10s %8s\n' "$(basename "$r")" \
		"$(($(cat "$r/size") / 1048576))" "$(tr '\n' ' ' <"$r/heaps")" \
		"$(cat "$r/bytes_allocated")" "$(cat "$r/peak_bytes")" "$(cat "$r/failures")"
done
if [ -x $B/heap_bench ]; then
	echo "== allocation latency vs. clearing the same bytes (median of repeated runs)"
	$B/heap_bench --quick
fi
