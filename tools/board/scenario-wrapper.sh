#!/bin/sh
# Runs as bufbroker-scenario.service on the systemd board (see tools/mk-board-image.sh).
# Console protocol of tools/run-guest.sh: the scenario's lines, then "BB-EXIT <rc>", then power off.
# /out (tmpfs) ends up in run-guest.sh's -o OUTDIR: scenario.log, journal.txt, bufbrokerd.log,
# dmesg.txt, failed-units.txt, boot-time.txt, plus whatever the scenario put there.
console=/dev/console
say() { echo "$*" >"$console"; }
stamp() { echo "$(cut -d' ' -f1 /proc/uptime) $*" >>/out/collect.log; }

mkdir -p /out
mountpoint -q /out || mount -t tmpfs -o mode=0755,size=256m tmpfs /out

state=$(timeout 120 systemctl is-system-running --wait 2>/dev/null)
say "== board: boot finished: ${state:-timeout} at $(cut -d' ' -f1 /proc/uptime) s uptime"

tmo=$(cat /etc/bufbroker-guest/timeout 2>/dev/null || echo 600)
rc=0
if [ -x /etc/bufbroker-guest/run.sh ]; then
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
stamp "journalctl"
journalctl -b --no-pager -o short-monotonic >/out/journal.txt 2>&1
stamp "journalctl"
journalctl -b --no-pager -o short-monotonic -u bufbrokerd.service >/out/bufbrokerd.log 2>&1
stamp "for"
for u in camera-client video-client; do
	if systemctl cat "$u.service" >/dev/null 2>&1; then
		journalctl -b --no-pager -o short-monotonic -u "$u.service" >"/out/$u.log" 2>&1
	fi
done
stamp "dmesg"
dmesg >/out/dmesg.txt 2>&1
stamp "systemctl"
systemctl list-units --failed --no-pager --plain >/out/failed-units.txt 2>&1
stamp "systemd-analyze"
# (only "time": "blame" costs tens of seconds under TCG)
systemd-analyze time >/out/boot-time.txt 2>&1

# The output disk (tools/run-guest.sh -o): udev has usually loaded virtio_blk already.
stamp "modprobe"
/usr/sbin/modprobe -a virtio_mmio virtio_blk 2>/dev/null
i=0
while [ ! -b /dev/vda ] && [ $i -lt 25 ]; do sleep 0.2; i=$((i + 1)); done
stamp "if"
if [ -b /dev/vda ]; then
	tar -c -f /dev/vda -C /out . && sync
fi

say "== board: scenario ended at $t_done s, output packed at $(cut -d' ' -f1 /proc/uptime) s uptime"
say "BB-EXIT $rc"
sync
# Everything is on the disk already: stop at once (-ff: reboot(2) without the shutdown transaction).
systemctl poweroff -ff
