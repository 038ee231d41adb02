#!/bin/bash
# `make check-kernels`: the whole check (host and guest) on each kernel of the matrix, then one
# closing tally over all of them.
# usage: tools/check-kernels.sh [SUITE...]   (default: bookworm trixie sid)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bookworm trixie sid)
logs=()
summary=()
for s in "${suites[@]}"; do
	t0=$SECONDS
	tools/check.sh "$s"
	summary+=("$s: $(tail -n1 "out/check/$s/tally.txt" 2>/dev/null) ($((SECONDS - t0)) s)")
	logs+=("out/check/$s/steps.log" "out/check/$s"/result-*.log)
done
echo
echo "kernel matrix:"
printf '  %s\n' "${summary[@]}"
tools/tally.sh "${logs[@]}"
