#!/bin/bash
# gcal.sh — gcal-sync against the Google emulator: an operator with 10,000
# events on their calendar; the first (full) sync and an idle incremental
# one, their requests and time. One line per measurement.
# usage: bench/gcal.sh [EVENTS]     (run `make` first: it uses bin/)
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
set -eu

RV_ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-10000}
GCAL_TMP="$RV_ROOT/bench/tmp/gcal.$$"
mkdir -p "$GCAL_TMP"
export PATH="$RV_ROOT/bin:$PATH"
export HOME="$GCAL_TMP/home" XDG_CONFIG_HOME="$GCAL_TMP/home/.config"
export RISERVA_DB="$GCAL_TMP/rv.db" RISERVA_CONFIG="$GCAL_TMP/config"
export RISERVA_KEY="$GCAL_TMP/key" RISERVA_ACTOR=bench
export RISERVA_NOW=2026-11-30T08:00:00+01:00
mkdir -p "$HOME"
: >"$RISERVA_CONFIG"
chmod 600 "$RISERVA_CONFIG"

. "$RV_ROOT/t/gcal.bash"
trap 'emu_stop; rm -rf "$GCAL_TMP"' EXIT
emu_start

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }

staff add --name Giulia --email giulia@example.com >/dev/null
gcal_connect giulia@example.com '{"email": "operator@gmail.test"}'
if [ "$status" -ne 0 ]; then
	echo "bench/gcal.sh: connect failed: $output" >&2
	exit 70
fi
# Hourly events from 200 days back: inside the default ±365-day window.
emu POST /_emu/calendars/operator@gmail.test/bulk "{\"count\": $N, \"start\": \"2026-05-14T08:00:00+02:00\", \"step_minutes\": 60, \"duration_minutes\": 30}" >/dev/null

flavor=$(cut -d' ' -f1 "$RV_ROOT/build/flavor" 2>/dev/null || echo unknown)

emu POST /_emu/reset_counts >/dev/null
t0=$(now)
rec=$( { time -p gcal-sync -j; } 2>"$GCAL_TMP/time")
t1=$(now)
imported=$(printf '%s\n' "$rec" | field imported)
cpu=$(awk '/^(user|sys)/ { s += $2 } END { print s }' "$GCAL_TMP/time")
echo "gcal-sync first full sync, $N events: requests $(emu_count '*') ($(emu_count events.list) events.list), $(secs "$t0" "$t1") s ($cpu s CPU in gcal-sync), $imported busy blocks imported ($flavor build)"

emu POST /_emu/reset_counts >/dev/null
t0=$(now)
gcal-sync -j >/dev/null
t1=$(now)
echo "gcal-sync idle incremental sync, $N events: requests $(emu_count '*') ($(emu_count events.list) events.list), $(secs "$t0" "$t1") s"

emu POST /_emu/reset_counts >/dev/null
t0=$(now)
gcal-sync sync --full -j >/dev/null
t1=$(now)
echo "gcal-sync forced full resync, $N events: requests $(emu_count '*') ($(emu_count events.list) events.list), $(secs "$t0" "$t1") s"
