# shellcheck shell=sh
# Helpers for the guest scenarios (busybox sh).
T=/opt/bufbroker/guest-tests
B=/opt/bufbroker/bench
failed=0
# make stress boots with bb.stress=1: scenarios scale their loops with $STRESS (0 or 1).
STRESS=0
grep -q 'bb.stress=1' /proc/cmdline && STRESS=1

# run NAME CMD...: run a test program; its ok/not ok lines go to the console.
run() {
	name=$1
	shift
	echo "# --- $name: $*"
	if ! "$@"; then
		failed=1
	fi
}

# expect NAME CMD...: a shell-level check that prints one ok/not ok line.
expect() {
	name=$1
	shift
	if "$@" >/tmp/expect.out 2>&1; then
		echo "ok - guest: $name"
	else
		echo "not ok - guest: $name: $(tail -n 3 /tmp/expect.out | tr '\n' ' ')"
		failed=1
	fi
}

load_heap_module() {
	insmod /lib/modules/bufbroker_heap.ko "$@"
}

kernel_log_clean() {
	! dmesg | grep -E -e 'WARNING:|BUG:|Oops|Call trace:|kmemleak' 
}
