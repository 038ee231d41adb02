# shellcheck shell=sh
# Guest integration tests of bufbrokerd + libbufbroker (sourced by check.sh after the module's
# tests, before its unload test; uses lib.sh's $T, $failed, load_heap_module).
#
# A real `dbus-daemon --system` with the shipped bus policy, bufbrokerd as user bufbroker with
# daemon/policy/qemu-board.conf + tests/guest/policy-test.conf (policy.d drop-in), the module's
# heaps. No udev here: after loading the module we give /dev/dma_heap/* what
# daemon/udev/60-bufbroker.rules gives (GROUP="bufbroker", MODE="0660"); the rule file itself is
# tested in the systemd board image.
#
# Order: unload the module, start the bus and the daemon, load the module (heaps appear: HeapAdded,
# Heaps()), then broker_test's suite, bufbrokerctl, SIGTERM. The module stays loaded and idle for
# check.sh's unload test. Lines: `ok - broker: <case>` / `not ok - broker: <case>: <reason>`.
BT=$T/broker_test
BLOG=/tmp/bufbrokerd.log
MON=/tmp/broker-monitor.txt

bexpect() {
	bname=$1
	shift
	if "$@" >/tmp/bexpect.out 2>&1; then
		echo "ok - broker: $bname"
	else
		echo "not ok - broker: $bname: $(tail -n 3 /tmp/bexpect.out | tr '\n' ' ')"
		failed=1
		return 1
	fi
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s.
wait_for() {
	n=$(($1 * 10))
	shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

broker_bus() {
	mkdir -p /run/dbus
	dbus-daemon --system --nofork --nopidfile >/tmp/dbus-daemon.log 2>&1 &
	dbus_pid=$!
	wait_for 10 test -S /run/dbus/system_bus_socket
}

broker_no_module() {
	rmmod bufbroker_heap && ! ls /dev/dma_heap/camera
}

# The udev rule's GROUP/MODE, applied by hand.
broker_udev_equiv() {
	wait_for 5 test -c /dev/dma_heap/camera@78000000 &&
		chgrp bufbroker /dev/dma_heap/* && chmod 0660 /dev/dma_heap/*
}

broker_no_heaps_listed() {
	out=$(bufbrokerctl heaps --json) || return 1
	echo "$out"
	! echo "$out" | grep -q -e camera -e default_cma_region
}

heap_added_all() {
	for h in default_cma_region linux,cma camera@78000000 camera video@7c000000 video; do
		grep -q "string \"$h\"" $MON || { echo "no HeapAdded $h"; return 1; }
	done
}

ctl_heaps() {
	out=$(bufbrokerctl heaps --json) || return 1
	echo "$out"
	echo "$out" | grep -q '"camera@78000000"' && echo "$out" | grep -q '"video@7c000000"'
}

ctl_usage() {
	out=$(bufbrokerctl usage --json) || return 1
	echo "$out"
	case $out in "{"* | "["*) ;; *) return 1 ;; esac
}

ctl_alloc() {
	out=$($BT as camera-client bufbrokerctl --json alloc camera 1M) || return 1
	echo "$out"
	echo "$out" | grep -q 1048576
}

# examples/producer (camera-client) shares 3 buffers with role video; examples/consumer
# (video-client) imports each token and checks the producer's pattern byte for byte.
examples_pair() {
	E=/opt/bufbroker/examples
	rm -f /tmp/ex.in /tmp/ex.out
	mkfifo /tmp/ex.in
	$BT as camera-client $E/producer --count 3 --size 262144 </tmp/ex.in >/tmp/ex.out &
	ex_pid=$!
	exec 9>/tmp/ex.in # the producer keeps its buffers until its stdin closes
	wait_for 20 sh -c '[ "$(grep -c . /tmp/ex.out)" -ge 3 ]' || { exec 9>&-; return 1; }
	ex_rc=0
	while read -r tok seq; do
		$BT as video-client $E/consumer "$tok" "$seq" || ex_rc=1
	done </tmp/ex.out
	exec 9>&-
	wait $ex_pid || ex_rc=1
	return $ex_rc
}

ctl_alloc_denied() {
	$BT as nobody bufbrokerctl alloc camera 1M
	[ $? -eq 5 ]
}

ctl_policy_good() {
	bufbrokerctl policy check /etc/bufbroker/policy.conf
}

ctl_policy_bad() {
	printf '[role a]\nheaps = camera\nmax-bytes = 1.5M\n' >/tmp/bad-policy.conf
	bufbrokerctl policy check /tmp/bad-policy.conf >/tmp/ctl-bad.out 2>&1
	rc=$?
	cat /tmp/ctl-bad.out
	[ $rc -eq 4 ] && grep -q '^/tmp/bad-policy.conf:3: ' /tmp/ctl-bad.out
}

broker_sigterm() {
	kill -TERM "$bb_pid" && wait "$bb_pid"
	rc=$?
	bb_pid=
	echo "bufbrokerd exit status $rc"
	[ $rc -eq 0 ]
}

broker_main() {
	if [ ! -x /usr/sbin/bufbrokerd ] || [ ! -x "$BT" ] || [ ! -x /usr/bin/dbus-daemon ]; then
		echo "not ok - broker: image has dbus-daemon, bufbrokerd and broker_test: see the mk-guest-image.sh output"
		failed=1
		return
	fi
	dbus_pid='' bb_pid='' mon_pid=''
	t0=$(cut -d. -f1 /proc/uptime)
	bexpect "dbus-daemon --system starts" broker_bus &&
		bexpect "module unloaded for the hotplug case" broker_no_module || {
		sed 's/^/# /' /tmp/dbus-daemon.log
		[ -z "$dbus_pid" ] || kill "$dbus_pid"
		return
	}

	dbus-monitor --system "type='signal',interface='org.bufbroker.Broker1'" >$MON 2>&1 &
	mon_pid=$!
	$BT as bufbroker /usr/sbin/bufbrokerd -v >$BLOG 2>&1 &
	bb_pid=$!
	bexpect "bufbrokerd as user bufbroker owns org.bufbroker.Broker1" "$BT" wait-heaps 20
	bexpect "Heaps() lists nothing before the module loads" broker_no_heaps_listed
	bexpect "module loads after the daemon" load_heap_module
	bexpect "heap nodes root:bufbroker 0660 (the udev rule's effect)" broker_udev_equiv
	bexpect "Heaps() lists the heaps that appeared" "$BT" wait-heaps 10 default_cma_region \
		camera@78000000 camera video@7c000000 video linux,cma
	bexpect "HeapAdded for every heap" wait_for 5 heap_added_all
	kill "$mon_pid" 2>/dev/null
	wait "$mon_pid" 2>/dev/null

	run broker_test "$BT" suite --daemon-pid "$bb_pid" --daemon-log $BLOG \
		--policy-dir /etc/bufbroker/policy.d

	bexpect "bufbrokerctl heaps --json" ctl_heaps
	bexpect "bufbrokerctl usage --json" ctl_usage
	bexpect "bufbrokerctl --json alloc camera 1M as camera-client" ctl_alloc
	bexpect "bufbrokerctl alloc as uid nobody exits 5 (access denied)" ctl_alloc_denied
	bexpect "examples: producer (camera-client) shares, consumer (video-client) imports and verifies" \
		examples_pair
	bexpect "bufbrokerctl policy check of the board policy exits 0" ctl_policy_good
	bexpect "bufbrokerctl policy check of a bad file exits 4 with file:line" ctl_policy_bad
	bexpect "bufbrokerd exits 0 on SIGTERM" broker_sigterm

	if [ "$failed" -ne 0 ]; then
		echo "# bufbrokerd log (last 40 lines):"
		tail -n 40 $BLOG | sed 's/^/# /'
	fi
	[ -z "$bb_pid" ] || { kill -KILL "$bb_pid"; wait "$bb_pid"; } 2>/dev/null
	kill "$dbus_pid" 2>/dev/null
	wait "$dbus_pid" 2>/dev/null
	cp $BLOG /out/bufbrokerd.log 2>/dev/null
	echo "# broker: $(($(cut -d. -f1 /proc/uptime) - t0)) s"
}

broker_main
