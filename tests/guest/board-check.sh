#!/bin/sh
# Board scenario "check" (`make check`, tools/board-check.sh SUITE check): one boot for the smoke
# checks (board-smoke.sh, "ok - board: ...") and then the camera pipeline with a short stream
# (board-pipeline.sh, 30 frames, "ok - pipeline: ..."). Exit 0 iff both passed.
d=/usr/lib/bufbroker-guest/scenarios
rc=0
sh $d/board-smoke.sh || rc=1
echo "# --- pipeline (bb-camera.service + bb-video.service, copy baseline), 30 frames"
PL_FRAMES=30 PL_PNG_MAX=2 sh $d/board-pipeline.sh || rc=1
exit $rc
