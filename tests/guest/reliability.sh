# shellcheck shell=sh
# Reliability and security of bufbrokerd in the guest (issue 8). Sourced by check.sh after broker.sh
# (uses its helpers: broker_bus, bexpect, wait_for, $BT) and before the module's unload test.
#
# A fresh `dbus-daemon --system` with the shipped bus policy and bufbrokerd started the way the unit
# starts it (`/usr/sbin/bufbrokerd`, user bufbroker; the module is loaded and its nodes are
# root:bufbroker 0660 from broker.sh). Then, each printing `ok - reliability: ...` / `# figures`:
#   bus policy   camera-client and nobody may not own org.bufbroker.Broker1 (AccessDenied)
#   perms        foreign Release/List/Import, uid- and peer-scoped tokens, ungranted role
#   exhaust      RegionFull, fallback only where the policy allows, fragmentation, pagemap
#   tokens       1000 tokens unique, 32 hex digits, bits balanced (STRESS=1: 10000)
#   kills        >= 200 clients SIGKILLed at random points (seed printed; STRESS=1: 2000)
#   dbus_fuzz    hostile arguments to every method (CI: 55 s next to the soak; STRESS=1: up to
#                200000 calls or 600 s on its own; the whole STRESS=1 scenario is ~1500 s)
#   soak         5 clients, mixed load, 60 s (STRESS=1: 600 s), RSS, every error explained
#   unload       rmmod refused while held, allowed when idle with the daemon up, Heap* signals
#   restart      kill -9 + restart with the same command line; held buffers stay valid
# The module stays loaded and idle for check.sh's unload test. `# reliability: N s` is the time.
RT=$T/reliability_test
RLOG=/tmp/bufbrokerd-reliability.log
RPIDF=/tmp/bufbrokerd-reliability.pid

# RequestName of the broker's name as USER must be refused by the bus policy.
rel_cannot_own() {
	out=$("$BT" as "$1" dbus-send --system --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.RequestName \
		string:org.bufbroker.Broker1 uint32:0 2>&1)
	echo "$out"
	echo "$out" | grep -q 'org.freedesktop.DBus.Error.AccessDenied'
}

# rexpect NAME CMD...: broker.sh's bexpect plus the time it took.
rexpect() {
	rt0=$(cut -d' ' -f1 /proc/uptime)
	bexpect "$@"
	rrc=$?
	echo "# reliability: '$1' took $(awk -v a="$rt0" '{printf "%.1f", $1 - a}' /proc/uptime) s"
	return $rrc
}

# rrun NAME CMD...: lib.sh's run plus the time it took.
rrun() {
	rt0=$(cut -d' ' -f1 /proc/uptime)
	run "$@"
	echo "# reliability: $1 took $(awk -v a="$rt0" '{printf "%.1f", $1 - a}' /proc/uptime) s"
}

rel_stop_daemon() {
	p=$(cat $RPIDF 2>/dev/null)
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	n=50
	while [ -d /proc/"$p" ] && [ "$(cut -d' ' -f3 /proc/"$p"/stat 2>/dev/null)" != Z ] && [ $n -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	[ $n -gt 0 ] || { echo "bufbrokerd $p ignored SIGTERM"; kill -KILL "$p"; return 1; }
	rm -f $RPIDF
}

reliability_main() {
	if [ ! -x "$RT" ] || [ ! -x "$T/dbus_fuzz" ] || [ ! -x /usr/sbin/bufbrokerd ]; then
		echo "not ok - reliability: image has reliability_test, dbus_fuzz and bufbrokerd: see the mk-guest-image.sh output"
		failed=1
		return
	fi
	t0=$(cut -d. -f1 /proc/uptime)
	if [ "$STRESS" = 1 ]; then
		r_kills=2000 r_tokens=10000 r_fuzz=200000 r_fuzz_s=600 r_soak=600
	else
		r_kills=200 r_tokens=1000 r_fuzz=5000 r_fuzz_s=55 r_soak=60
	fi
	dbus_pid=''
	rm -f /run/dbus/system_bus_socket
	rexpect "dbus-daemon --system starts (reliability)" broker_bus || return
	: >$RLOG
	$BT as bufbroker /usr/sbin/bufbrokerd >>$RLOG 2>&1 &
	echo $! >$RPIDF
	rexpect "bufbrokerd (unit command line) answers with the heaps" "$BT" wait-heaps 20 camera@78000000 ||
		{ kill "$dbus_pid"; return; }
	rpid=$(cat $RPIDF)

	rexpect "bus policy: camera-client cannot own org.bufbroker.Broker1 (AccessDenied)" rel_cannot_own camera-client
	rexpect "bus policy: nobody cannot own org.bufbroker.Broker1 (AccessDenied)" rel_cannot_own nobody
	# Not in group bufbroker -> no /dev/dma_heap: broker_test's "direct: no permission without
	# group bufbroker (EACCES)" and the board's "camera-client cannot open" cover it.

	rrun reliability_perms "$RT" perms
	rrun reliability_exhaust "$RT" exhaust
	if [ "$STRESS" = 1 ]; then
		rrun reliability_tokens "$RT" tokens --tokens $r_tokens
		rrun reliability_kills "$RT" kills --iterations $r_kills
		rrun dbus_fuzz "$T/dbus_fuzz" --daemon-pid "$rpid" --iterations $r_fuzz --max-seconds $r_fuzz_s
		rrun reliability_soak "$RT" soak --daemon-pid "$rpid" --seconds $r_soak
	else
		# CI budget: one 60 s window. The soak's clients, the kill loop, the token collector and
		# the fuzzer (one more, hostile, client) run side by side against one quiet baseline; the
		# kills and the soak each wait for Usage() zero and the counters at that baseline at the
		# end, the fuzzer checks that its own connections left nothing.
		REL_BASELINE=$("$RT" baseline)
		export REL_BASELINE
		echo "# --- side by side: soak $r_soak s, kills $r_kills, tokens $r_tokens, dbus_fuzz ${r_fuzz_s} s (baseline $REL_BASELINE)"
		"$RT" soak --daemon-pid "$rpid" --seconds $r_soak >/tmp/rel-soak.out 2>&1 &
		soak_pid=$!
		"$RT" kills --iterations $r_kills --settle $((r_soak + 60)) >/tmp/rel-kills.out 2>&1 &
		kills_pid=$!
		"$RT" tokens --tokens $r_tokens >/tmp/rel-tokens.out 2>&1 &
		tok_pid=$!
		rrun dbus_fuzz "$T/dbus_fuzz" --daemon-pid "$rpid" --iterations $r_fuzz --max-seconds $r_fuzz_s \
			--concurrent 1
		for j in $tok_pid $kills_pid $soak_pid; do wait "$j" || failed=1; done
		cat /tmp/rel-tokens.out /tmp/rel-kills.out /tmp/rel-soak.out
		unset REL_BASELINE
	fi
	rrun reliability_unload "$RT" unload --daemon-pid "$rpid" --module /lib/modules/bufbroker_heap.ko
	rrun reliability_restart "$RT" restart --daemon-pid "$rpid" --daemon-log $RLOG --pid-file $RPIDF

	rexpect "bufbrokerd (restarted) stops on SIGTERM" rel_stop_daemon
	if [ "$failed" -ne 0 ]; then
		echo "# bufbrokerd log (reliability, last 30 lines):"
		tail -n 30 $RLOG | sed 's/^/# /'
	fi
	kill "$dbus_pid" 2>/dev/null
	wait "$dbus_pid" 2>/dev/null
	cp $RLOG /out/bufbrokerd-reliability.log 2>/dev/null
	echo "# reliability: $(($(cut -d. -f1 /proc/uptime) - t0)) s"
}

reliability_main
