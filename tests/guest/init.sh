#!/bin/busybox sh
# PID 1 of the test initramfs. Sets up the minimum, runs the scenario in
# /etc/bufbroker-guest/run.sh, packs /out onto the output disk, and powers off.
# The host (tools/run-guest.sh) reads the "BB-EXIT <rc>" line from the console.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /out
echo 7 >/proc/sys/kernel/printk 2>/dev/null
# Keep the console for our output: kernel messages still go to dmesg.
echo "1 4 1 7" >/proc/sys/kernel/printk

rc=0
if [ -x /etc/bufbroker-guest/run.sh ]; then
	/etc/bufbroker-guest/run.sh
	rc=$?
fi

dmesg >/out/dmesg.txt 2>/dev/null
if modprobe virtio_mmio 2>/dev/null && modprobe virtio_blk 2>/dev/null; then
	# The output disk by its serial (tools/run-guest.sh), not its name: a bench run has two.
	outdev=
	for i in 1 2 3 4 5 6 7 8 9 10; do
		for b in /sys/block/vd*; do
			[ "$(cat "$b/serial" 2>/dev/null)" = bbout ] && [ -b "/dev/${b##*/}" ] && outdev=/dev/${b##*/}
		done
		[ -n "$outdev" ] && break
		sleep 0.2
	done
	if [ -n "$outdev" ]; then
		tar -c -f $outdev -C /out . && sync
	fi
fi
echo "BB-EXIT $rc"
sync
poweroff -f
