#!/bin/bash
# Count test results in the given logs and print the closing line "N passed, N failed".
# Understands our TAP-like lines ("ok - ...", "not ok - ...") and cmocka's
# "[       OK ] name" / "[  FAILED  ] name". Exit status 1 if anything failed or nothing ran.
set -uo pipefail
pass=0 fail=0
failed_names=()
for f in "$@"; do
	[ -f "$f" ] || continue
	while IFS= read -r line; do
		case $line in
		"ok - "*) pass=$((pass + 1)) ;;
		"not ok - "*) fail=$((fail + 1)); failed_names+=("${line#not ok - }") ;;
		"[       OK ] "*) pass=$((pass + 1)) ;;
		"[  FAILED  ] "*test\(s\)*) ;;
		"[  FAILED  ] "*) fail=$((fail + 1)); failed_names+=("${line#\[  FAILED  \] } ($(basename "$f"))") ;;
		esac
	done <"$f"
done
if [ "$fail" -gt 0 ]; then
	echo "Failed:"
	printf '  %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
