#!/bin/sh
# Guest half of the bad-DT boot of `make check`: the board with the malformed bufbroker properties
# of tools/mk-dtb-bad.sh. Each one must be ignored with a kernel warning that names the region and
# the property, and the module must otherwise work as on the good board.
. /etc/bufbroker-guest/lib.sh
R=/sys/kernel/bufbroker/regions

# warned REGION TEXT: the module's kernel log has a line of REGION containing TEXT.
warned() { dmesg | grep -F "bufbroker:$1:" | grep -qF -- "$2"; }

expect "module loads with malformed bufbroker properties" load_heap_module
dmesg | grep -F 'bufbroker:' | grep -iE 'recycle-ms|heap-aliases' | sed 's/^/# /'
expect "recycle-ms above 60000 is ignored: video keeps recycling off" \
	test "$(cat $R/video@7c000000/recycle_ms)" = 0
expect "recycle-ms above 60000: the warning names it" \
	warned video@7c000000 "bufbroker,recycle-ms = <99999> is above 60000 ms, ignored"
expect "recycle-ms as a string is ignored: camera keeps recycling off" \
	test "$(cat $R/camera@78000000/recycle_ms)" = 0
expect "recycle-ms as a string: the warning says what it must be" \
	warned camera@78000000 "bufbroker,recycle-ms must be one 32-bit cell, e.g. <1000>; ignored"
expect "alias with / is skipped and warned about" \
	warned camera@78000000 'bufbroker,heap-aliases: "bad/name" is not a heap name'
expect "alias starting with - is skipped and warned about" \
	warned camera@78000000 'bufbroker,heap-aliases: "-lead" is not a heap name'
expect "no heap node from a bad alias" sh -c '! ls /dev/dma_heap | grep -E "bad|name|lead"'
expect "the good alias between the bad ones is a heap" test -c /dev/dma_heap/camera
ls /dev/dma_heap | sed 's/^/# heap node /'
run heap_test $T/heap_test --expect camera@78000000 --expect camera --expect video@7c000000 \
	--expect video --expect default_cma_region
expect "kernel log free of WARN/BUG" kernel_log_clean
exit $failed
