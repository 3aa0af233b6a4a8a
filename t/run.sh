#!/bin/sh
# run.sh — the bats suite, ending with the line "N passed, N failed".
cd "$(dirname "$0")/.." || exit 70
out=$(mktemp)
trap 'rm -f "$out"' EXIT
files=${TESTS:-$(ls t/*.bats)}
bats --tap $files | tee "$out"
passed=$(grep -c '^ok ' "$out")
failed=$(grep -c '^not ok ' "$out")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$out" | head -n 1)
# A file that stops early leaves tests unreported: they count as failed.
missing=$(( ${planned:-0} - passed - failed ))
[ "$missing" -gt 0 ] && failed=$((failed + missing))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
