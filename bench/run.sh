#!/bin/sh
# run.sh — `make bench`: each operation's whole-process time beside raw
# sqlite3 doing the same work on the same file, and their ratio.
# BENCH_APPTS, BENCH_CLIENTS, BENCH_RUNS scale it down for a quick look.
set -eu
# The databases are made by sqlite3 too: 0600, as the tools make theirs
# (else each run warns that every local user can read them).
umask 077
cd "$(dirname "$0")/.."
. bench/lib.sh

appts=${BENCH_APPTS:-1000000}
clients=${BENCH_CLIENTS:-100000}
runs=${BENCH_RUNS:-200}
tmp=bench/tmp
mkdir -p "$tmp"
db=$tmp/bench.db
export PATH="$PWD/bin:$PATH"
export RISERVA_DB="$db" RISERVA_CONFIG="$tmp/config" RISERVA_KEY="$tmp/key"
export RISERVA_ACTOR=bench XDG_CONFIG_HOME="$tmp/xdg" XDG_RUNTIME_DIR="$tmp/run"
unset RISERVA_NOW
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
: >"$RISERVA_CONFIG"

echo "generating $appts appointments, $clients clients, 50 operators ..." >&2
sh bench/gen.sh "$db" "$appts" "$clients" 50
echo "database: $(du -h "$db" | cut -f1), $(sqlite3 "$db" 'SELECT count(*) FROM appointment') appointments" >&2

bench_header

# --- process start-up, for reference ---
nop_tool() { client --version >/dev/null; }
nop_sql() { sqlite3 "$db" 'SELECT 1' >/dev/null; }
bench_row "start-up (client --version / SELECT 1)" \
	"$(bench_loop "$runs" nop_tool)" "$(bench_loop "$runs" nop_sql)" ""

# --- book add: two fresh operators free at any time, one per side ---
staff add --name "Bench A" --email bench-a@centro.example >/dev/null
staff add --name "Bench B" --email bench-b@centro.example >/dev/null
staff hours bench-a@centro.example mon-sun 00:00-24:00 >/dev/null
staff services bench-a@centro.example 2 >/dev/null
sa=$(sqlite3 "$db" "SELECT id FROM staff WHERE email = 'bench-a@centro.example'")
sb=$(sqlite3 "$db" "SELECT id FROM staff WHERE email = 'bench-b@centro.example'")
base=$(( ($(date +%s) / 86400 + 400) * 86400 ))
# The times, formatted beforehand: neither side pays for date(1) in the loop.
at_times() {
	awk -v b="$1" -v n="$runs" 'BEGIN { for (i = 0; i < n; i++)
		print strftime("%Y-%m-%dT%H:%M:%SZ", b + i * 1800, 1) }'
}
at_times "$base" >"$tmp/times"
exec 3<"$tmp/times"
add_tool() {
	read -r at <&3
	book add --client $(($1 + 1)) --service 2 --staff "$sa" --at "$at" \
		>/dev/null
}
add_sql() {
	t=$((base + $1 * 1800))
	sqlite3 "$db" "INSERT INTO appointment (client_id, staff_id, service_id,
	    start, end, busy_end, created, updated) VALUES ($(($1 + 1)), $sb, 2,
	    $t, $t + 1800, $t + 1800, $t, $t)"
}
# Interleaved: each side meets the WAL and the page cache as the other
# left them, not a run of its own.
set -- $(bench_pair "$runs" add_tool add_sql)
bench_row "book add (one appointment)" "$1" "$2" "<= 1.3x"
exec 3<&-

# --- book slots for one day, every qualified operator ---
day=$(date -d "@$((base - 86400 * 30))" +%F)
d0=$(date -d "$day 00:00" +%s)
slots_tool() { book slots --service 2 --date "$day" -j >/dev/null; }
slots_sql() {
	sqlite3 "$db" "
	SELECT s.id, s.name FROM staff s JOIN staff_service x ON x.staff_id = s.id
	 WHERE x.service_id = 2 AND s.active ORDER BY s.id;
	SELECT staff_id, start_min, end_min FROM staff_hours
	 WHERE dow = CAST(strftime('%u', '$day') AS INTEGER) ORDER BY staff_id, start_min;
	SELECT staff_id, start, busy_end FROM appointment
	 WHERE staff_id IN (SELECT staff_id FROM staff_service WHERE service_id = 2)
	 AND start < $d0 + 86400 + 1800 AND start > $d0 - 86400 AND busy_end > $d0
	 AND status <> 'cancelled';
	SELECT staff_id, start, end FROM event WHERE end > $d0 AND start < $d0 + 86400;
	SELECT staff_id, start, end FROM staff_off WHERE end > $d0 AND start < $d0 + 86400;
	" >/dev/null
}
bench_row "book slots (one day, 51 operators)" \
	"$(bench_loop 50 slots_tool)" "$(bench_loop 50 slots_sql)" ""

# --- one client's history ---
cid=4242
list_tool() { book list --client "$cid" -j >/dev/null; }
list_sql() {
	sqlite3 -json "$db" "SELECT a.*, c.name || ' ' || c.surname AS client_name,
	    s.name AS staff_name, v.name AS service_name FROM appointment a
	    LEFT JOIN client c ON c.id = a.client_id JOIN staff s ON s.id = a.staff_id
	    JOIN service v ON v.id = a.service_id WHERE a.client_id = $cid
	    ORDER BY a.start, a.id" >/dev/null
}
bench_row "book list --client (one client's history)" \
	"$(bench_loop "$runs" list_tool)" "$(bench_loop "$runs" list_sql)" ""

# --- client import of 100,000 clients into an empty database ---
n=100000
awk -v n=$n 'BEGIN { for (i = 1; i <= n; i++)
	printf "{\"name\":\"Nome%d\",\"surname\":\"Cognome%d\",\"email\":\"import%d@example.com\",\"phone\":\"+39345%07d\",\"locale\":\"it\"}\n", i, i, i, i }' \
	>"$tmp/import.jsonl"
awk -v n=$n 'BEGIN { print "BEGIN;"; for (i = 1; i <= n; i++)
	printf "INSERT INTO client (name, surname, email, phone, locale, created, updated) VALUES ('"'"'Nome%d'"'"','"'"'Cognome%d'"'"','"'"'import%d@example.com'"'"','"'"'+39345%07d'"'"','"'"'it'"'"',0,0);\n", i, i, i, i
	print "COMMIT;" }' >"$tmp/import.sql"
rm -f "$tmp/empty.db"*
RISERVA_DB="$tmp/empty.db" client list >/dev/null || [ $? -eq 1 ]
cp "$tmp/empty.db" "$tmp/imp-tool.db"
cp "$tmp/empty.db" "$tmp/imp-sql.db"
it=$(RISERVA_DB="$tmp/imp-tool.db" bench_once sh -c 'client import <"$0" 2>/dev/null' "$tmp/import.jsonl")
is=$(bench_once sh -c 'sqlite3 "$0" <"$1"' "$tmp/imp-sql.db" "$tmp/import.sql")
bench_row "client import (100,000 clients)" "$it" "$is" ">= 125,000 rows/s"
bench_note "  client import rate" "$(awk -v t="$it" -v n=$n 'BEGIN { printf "%d rows/s (one audit row for the import)", n / t }')"

# --- the overlap check does not grow with the table ---
rm -f "$tmp/small.db"*
sh bench/gen.sh "$tmp/small.db" 1000 1000 50
RISERVA_DB="$tmp/small.db" staff add --name "Bench A" --email bench-a@centro.example >/dev/null
RISERVA_DB="$tmp/small.db" staff hours bench-a@centro.example mon-sun 00:00-24:00 >/dev/null
RISERVA_DB="$tmp/small.db" staff services bench-a@centro.example 2 >/dev/null
at_times "$((base + 86400 * 20))" >"$tmp/times"
small_add() {
	read -r at <&4
	RISERVA_DB="$tmp/small.db" book add --client $(($1 + 1)) --service 2 \
		--staff 51 --at "$at" >/dev/null
}
big_add() {
	read -r at <&3
	book add --client $(($1 + 1)) --service 2 --staff "$sa" --at "$at" \
		>/dev/null
}
exec 3<"$tmp/times" 4<"$tmp/times"
set -- $(bench_pair "$runs" big_add small_add)
tb=$1 ts=$2
exec 3<&- 4<&-
bench_row "book add: 1,000,000 vs 1,000 appointments" "$tb" "$ts" \
	"~1x (index-bounded)"
plan=$(sqlite3 "$db" "EXPLAIN QUERY PLAN SELECT id FROM appointment WHERE staff_id = 1
	AND start < 5 AND start > 3 - 86400 AND busy_end > 3 AND status <> 'cancelled'" | tail -n 1)
bench_note "  overlap check plan" "${plan#*--}"

# --- no libcurl in the tools that do not talk to the network ---
for t in bin/*; do
	if readelf -d "$t" | grep -q 'libcurl'; then
		bench_note "  links libcurl" "${t#bin/}"
	fi
done

# --- the other issues' benchmarks, when present ---
for b in bench/remind.sh bench/audit.sh bench/backup.sh bench/purge.sh; do
	[ -f "$b" ] && sh "$b" "$db"
done
# The calendar's own scenario: an operator with 10,000 events on Google.
[ -f bench/gcal.sh ] && sh bench/gcal.sh 10000
exit 0
