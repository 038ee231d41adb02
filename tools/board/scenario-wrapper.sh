#!/bin/sh
# Runs as bufbroker-scenario.service on the systemd board (see tools/mk-board-image.sh).
# Console protocol of tools/run-guest.sh: the scenario's lines, then "BB-EXIT <rc>", then power off.
# /out (tmpfs) ends up in run-guest.sh's -o OUTDIR: scenario.log, journal.txt, bufbrokerd.log,
# bb-camera.log, bb-video.log (if those units exist), dmesg.txt, failed-units.txt, boot-time.txt,
# collect.log (timestamps of this wrapper), plus whatever the scenario put there.
console=/dev/console
say() { echo "$*" >"$console"; }
stamp() { echo "$(cut -d' ' -f1 /proc/uptime) $*" >>/out/collect.log; }

mkdir -p /out
mountpoint -q /out || mount -t tmpfs -o mode=0755,size=256m tmpfs /out

rc=0
if [ "${1:-}" = --emergency ]; then
	# Started instead of sulogin when the boot falls into emergency or rescue mode
	# (emergency.service.d/bufbroker.conf): report at once instead of hanging until the host's
	# timeout.
	say "not ok - board: boot: systemd entered ${2:-emergency} mode at $(cut -d' ' -f1 /proc/uptime) s uptime"
	systemctl list-units --failed --no-pager --plain --no-legend 2>&1 | sed 's/^/# failed: /' |
		tee /out/scenario.log >"$console"
	rc=1
else
	state=$(timeout 120 systemctl is-system-running --wait 2>/dev/null)
	say "== board: boot finished: ${state:-timeout} at $(cut -d' ' -f1 /proc/uptime) s uptime"
fi

tmo=$(cat /etc/bufbroker-guest/timeout 2>/dev/null || echo 600)
if [ $rc != 0 ]; then
	:
elif [ -x /etc/bufbroker-guest/run.sh ]; then
	{
		timeout "$tmo" /etc/bufbroker-guest/run.sh
		echo $? >/run/bufbroker-scenario.rc
	} 2>&1 | tee /out/scenario.log >"$console"
	rc=$(cat /run/bufbroker-scenario.rc 2>/dev/null || echo 1)
else
	say "not ok - board: no /etc/bufbroker-guest/run.sh"
	rc=1
fi

t_done=$(cut -d' ' -f1 /proc/uptime)
stamp "scenario ended rc=$rc"
journalctl -b --no-pager -o short-monotonic >/out/journal.txt 2>&1
journalctl -b --no-pager -o short-monotonic -u bufbrokerd.service >/out/bufbrokerd.log 2>&1
# The pipeline's clients (pipeline/systemd/), when they ran.
for u in bb-camera bb-video; do
	if systemctl cat "$u.service" >/dev/null 2>&1; then
		journalctl -b --no-pager -o short-monotonic -u "$u.service" >"/out/$u.log" 2>&1
	fi
done
dmesg >/out/dmesg.txt 2>&1
systemctl list-units --failed --no-pager --plain >/out/failed-units.txt 2>&1
stamp "logs collected"
# "critical-chain" and "blame" cost 15-30 s under TCG: only when the image asks for them
# (tools/mk-board-image.sh with BOARD_ANALYZE=1).
{
	systemd-analyze time
	if [ -e /etc/bufbroker-guest/analyze ]; then
		echo
		systemd-analyze critical-chain --no-pager
		echo
		systemd-analyze blame --no-pager
	fi
} >/out/boot-time.txt 2>&1
stamp "boot times collected"

# The output disk (tools/run-guest.sh -o): udev has usually loaded virtio_blk already.
/usr/sbin/modprobe -a virtio_mmio virtio_blk 2>/dev/null
i=0
while [ ! -b /dev/vda ] && [ $i -lt 25 ]; do sleep 0.2; i=$((i + 1)); done
stamp "packing /out"
if [ -b /dev/vda ]; then
	tar -c -f /dev/vda -C /out . && sync
	# Closing the written disk makes udev probe it (60-block.rules "watch"): let that finish, or
	# the power-off cuts its reads short and the console shows I/O errors.
	udevadm settle -t 5 2>/dev/null
fi

say "== board: scenario ended at $t_done s, output packed at $(cut -d' ' -f1 /proc/uptime) s uptime"
say "BB-EXIT $rc"
sync
# Everything is on the disk already: stop at once (-ff: reboot(2) without the shutdown transaction).
systemctl poweroff -ff
