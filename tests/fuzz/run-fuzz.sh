#!/bin/bash
# Run a libFuzzer target and print TAP-style lines for the check tally (tests/fuzz/Makefile).
#   run-fuzz.sh replay NAME BIN DIR...                          every file in DIRs once
#   run-fuzz.sh fuzz NAME BIN SEEDS WORK ARTIFACTS RUNS SECONDS  bounded fuzzing (RUNS -1: no cap)
# FUZZ_SEED=N fixes libFuzzer's seed. Exit 0 only when nothing crashed.
set -uo pipefail
mode=$1 name=$2 bin=$3
shift 3

if [ "$mode" = replay ]; then
	files=()
	for d in "$@"; do
		[ -d "$d" ] || continue
		while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$d" -type f ! -name '.*' ! -name 'README*' -print0 | sort -z)
	done
	log=$(mktemp)
	if [ ${#files[@]} -eq 0 ] || "$bin" "${files[@]}" >"$log" 2>&1; then
		echo "# fuzz_$name: replayed ${#files[@]} inputs (regressions and seeds), 0 crashes"
		echo "ok - fuzz: $name parser regressions, ${#files[@]} inputs"
		rm -f "$log"
		exit 0
	fi
	grep -E 'Running: |ERROR|SUMMARY|fuzz_' "$log" | tail -n 20 | sed 's/^/# /'
	echo "not ok - fuzz: $name parser regressions: an input crashed (log: $log)"
	exit 1
fi

seeds=$1 work=$2 art=$3 runs=$4 secs=$5
mkdir -p "$work" "$art"
before=$(find "$art" -type f | wc -l)
log=$(dirname "$art")/fuzz_$name.log
args=(-runs="$runs" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048
	-print_final_stats=1 -artifact_prefix="$art/")
[ -n "${FUZZ_SEED:-}" ] && args+=(-seed="$FUZZ_SEED")
"$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
[ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
[ -n "$execs" ] || execs=0
seed=$(sed -n 's/.*Seed: \([0-9]*\).*/\1/p' "$log" | head -n 1)
cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE).*cov:' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*ft: \([0-9]*\).*corp: \([0-9]*\).*/cov \1, features \2, corpus \3/p')
crashes=$(($(find "$art" -type f | wc -l) - before))
[ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1
echo "# fuzz_$name: seed ${seed:-?}, ${cov:-no coverage line}, log $log"
echo "# fuzz_$name: $execs executions, $crashes crashes"
if [ "$crashes" -eq 0 ] && [ "$execs" -gt 0 ]; then
	echo "ok - fuzz: $name parser, $execs executions"
	exit 0
fi
grep -E 'ERROR|SUMMARY|artifact|fuzz_' "$log" | tail -n 20 | sed 's/^/# /'
echo "not ok - fuzz: $name parser, $execs executions, $crashes crashes (inputs in $art)"
exit 1
