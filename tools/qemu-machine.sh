# shellcheck shell=bash
# The one place that says which machine the board is. mk-dtb.sh and run-guest.sh both use it.
# cortex-a57: "-cpu max" is ~4x slower under TCG (pointer authentication emulation).
QEMU_MACHINE=(-M virt -cpu cortex-a57 -smp 2 -m 1G)
