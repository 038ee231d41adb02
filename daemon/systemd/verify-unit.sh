#!/bin/sh
# Run systemd-analyze verify on bufbrokerd.service with ExecStart pointing at a built binary
# (verify checks that the executable exists). Usage: verify-unit.sh [BINARY]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-/usr/sbin/bufbrokerd}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|^ExecStart=.*|ExecStart=$bin|" "$here/bufbrokerd.service" > "$tmp/bufbrokerd.service"
systemd-analyze verify --man=no "$tmp/bufbrokerd.service"
echo "systemd-analyze verify: bufbrokerd.service OK"
