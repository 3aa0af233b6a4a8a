#!/bin/sh
# audit.sh DB — `audit verify` over 1,000,000 chained rows beside the same
# HMACs over the same bytes in a plain C loop (bench/audit-hmac.c); target
# within 2x. Works on a copy of DB with its trail replaced by a million
# realistic rows, chained by the tools as an upgraded database's are.
# AUDIT_ROWS scales it down. Prints one line per measurement.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
db=$1
rows=${AUDIT_ROWS:-1000000}
tmp=bench/tmp
copy=$tmp/audit.db
mkdir -p "$tmp"
export PATH="$PWD/bin:$PATH"

# The floor: linked with the library the tools use.
cc -O2 -std=c11 -D_GNU_SOURCE -Ilib $(pkg-config --cflags sqlite3 jansson \
	libgcrypt) -o "$tmp/audit-hmac" bench/audit-hmac.c \
	build/release/librv.a $(pkg-config --libs sqlite3 jansson libgcrypt)

rm -f "$copy" "$copy-wal" "$copy-shm"
sqlite3 "$db" ".backup '$copy'"
# A trail as the tools write it: reads, edits and bookings of clients by a
# few staff members; no MACs yet, as in a database from before the chain.
sqlite3 "$copy" >/dev/null <<SQL
PRAGMA synchronous = OFF;
BEGIN;
DELETE FROM audit;
DELETE FROM audit_anchor;
DELETE FROM meta WHERE key = 'audit_head';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO audit (id, at, actor, tool, action, client_id, ref, fields, reason)
SELECT i, 1700000000 + i * 30,
  CASE i % 4 WHEN 0 THEN 'desk@centro.example' WHEN 1 THEN 'op' || (i % 50 + 1) || '@centro.example'
    WHEN 2 THEN 'boss@centro.example' ELSE 'system' END,
  CASE i % 3 WHEN 0 THEN 'book' WHEN 1 THEN 'client' ELSE 'consent' END,
  CASE i % 5 WHEN 0 THEN 'appointment.add' WHEN 1 THEN 'client.read'
    WHEN 2 THEN 'client.edit' WHEN 3 THEN 'appointment.cancel' ELSE 'consent.grant' END,
  i % 100000 + 1, 'client ' || (i % 100000 + 1),
  CASE i % 5 WHEN 1 THEN 'name,surname,email,phone,birth,locale,notes' WHEN 2 THEN 'phone'
    ELSE 'client_id,staff_id,service_id,start' END,
  CASE WHEN i % 7 = 0 THEN 'phone call' END
FROM n;
COMMIT;
SQL

# The first change after the upgrade chains every row.
seal_one() { catalog --db "$copy" add --name "Bench seal" --duration 30 >/dev/null; }
seal=$(bench_once seal_one)
bench_note "audit: chaining $rows rows of an upgraded database" \
	"$(awk -v t="$seal" 'BEGIN { printf "%.2fs", t }')"

# Five of each, taken in turn, and the median of each: this machine's
# speed swings by a third from one second to the next.
verify() { audit --db "$copy" verify >/dev/null; }
tvs= ths=
for i in 1 2 3 4 5; do
	tvs="$tvs $(bench_once verify)"
	ths="$ths $("$tmp/audit-hmac" "$copy" 2>/dev/null)"
done
tv=$(bench_median $tvs)
th=$(bench_median $ths)
bench_row "audit verify ($rows rows) / HMAC loop" "$tv" "$th" "<= 2x"
n=$(sqlite3 "$copy" 'SELECT count(*) FROM audit')
bench_note "  audit verify rate" "$(awk -v t="$tv" -v n="$n" 'BEGIN { printf "%d rows/s", n / t }')"
# For scale: sqlite3 only reading the columns verify reads, no HMAC.
read_sql() {
	sqlite3 "$copy" "SELECT sum(id + at + length(actor) + length(tool) +
	    length(action) + coalesce(client_id, 0) + length(ref) +
	    length(fields) + coalesce(length(reason), 0) + length(mac))
	    FROM audit" >/dev/null
}
tr=$(bench_once read_sql)
bench_row "  sqlite3 reading the same rows / HMAC loop" "$tr" "$th" ""
