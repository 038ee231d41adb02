#!/bin/sh
# Guest half of the init_on_alloc=0 boot of `make check`. Debian's kernels clear every page they
# hand out (CONFIG_INIT_ON_ALLOC_DEFAULT_ON), so in the main suite the kernel has already zeroed a
# fresh buffer before the module sees it; most board kernels leave that option off. This boot turns
# it off: every zeroing case then checks the module's own clearing (bb_clear_pages() on 6.1 and
# 6.12's per-device regions, always on 7.x; dma_alloc_pages() on the default region).
. /etc/bufbroker-guest/lib.sh

dmesg | grep -F 'mem auto-init' | sed 's/^/# /'
expect "the kernel does not clear allocated pages in this boot (init_on_alloc=0)" \
	sh -c "dmesg | grep -F 'mem auto-init' | grep -qF 'heap alloc:off'"
expect "module loads" load_heap_module
run heap_test $T/heap_test --expect default_cma_region --expect linux,cma \
	--expect camera@78000000 --expect camera --expect video@7c000000 --expect video
run recycle_test $T/recycle_test --heap camera
expect "kernel log free of WARN/BUG" kernel_log_clean
exit $failed
