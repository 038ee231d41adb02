#!/bin/sh
# Guest half of `make check`: the module's suite on the demo board (dts/qemu-virt-bufbroker.dtsi).
. /etc/bufbroker-guest/lib.sh

expect "module loads" load_heap_module
expect "/dev/dma_heap exists" test -d /dev/dma_heap
ls -l /dev/dma_heap/ | sed 's/^/# /'
for n in default_cma_region linux,cma camera@78000000 camera video@7c000000 video; do
	expect "heap node $n" test -c "/dev/dma_heap/$n"
done
expect "no heap for the no-map carve-out" sh -c '! ls /dev/dma_heap | grep -q firmware'

run heap_test $T/heap_test --expect default_cma_region --expect linux,cma \
	--expect camera@78000000 --expect camera --expect video@7c000000 --expect video
run recycle_test $T/recycle_test --heap camera

# Two vivid instances: dma-contig (ours must work) and vmalloc (the non-contiguous
# negative case: dma-contig refuses what it cannot address contiguously).
modprobe vivid n_devs=2 allocators=1,0 && run vivid_test $T/vivid_test --heap camera

# bufbrokerd + libbufbroker on dbus-daemon --system; leaves the module loaded and idle.
. /etc/bufbroker-guest/broker.sh
# Faults, hostile input, permissions, soak (issue 8); leaves the module loaded and idle.
[ -f /etc/bufbroker-guest/reliability.sh ] && . /etc/bufbroker-guest/reliability.sh

if [ "$STRESS" = 1 ]; then fuzz_iter=500000; else fuzz_iter=20000; fi
run ioctl_fuzz $T/ioctl_fuzz --iterations $fuzz_iter --max-seconds 1800
# rmmod must give back a freed buffer that recycling still keeps.
run recycle_keep $T/recycle_test --heap camera --keep-one
run heap_unload $T/heap_test --unload-test --module /lib/modules/bufbroker_heap.ko
expect "kernel log free of WARN/BUG" kernel_log_clean
exit $failed
