#!/bin/sh
# Board scenario "run" (`make run`, tools/run-board.sh): the camera pipeline under systemd with a
# longer stream than make check's; report in /out/report.txt, PNGs in /out/frames.
# Frames per pipeline: bb.frames=N on the kernel command line (run-board.sh's RUN_FRAMES), else 150.
# (tests/guest/board-pipeline.sh does the work; mk-board-image.sh installs it next to this one.)
frames=$(sed -n 's/.*bb\.frames=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
PL_FRAMES=${frames:-150} PL_PNG_MAX=3 exec sh /usr/lib/bufbroker-guest/scenarios/board-pipeline.sh
