#!/bin/sh
# purge.sh DB — gdpr-purge erasing half the clients of the generated centre
# (bench/gen.sh), beside raw sqlite3 doing the same to the same rows.
#
# "The same rows": an erasure does not delete appointments, it anonymizes
# them. Both sides work on their own copy of DB, standing at the same
# instant: --now is chosen so that the last appointment of half of the
# clients ended more than retention.client_months before it (each client's
# bookings are spread over the three years, so that is half of the
# appointments too). On those clients both sides:
#   - delete the calendar events of their bookings, their messages and
#     their health data, queue the deletion of their events on Google,
#   - set client_id, notes and cancel_reason to NULL on their appointments,
#   - blank client_id, evidence and ip in their consent rows,
#   - unlink their fiscal records, requests and breach records,
#   - add a row each to the erasure journal,
#   - delete their client rows,
# with secure_delete and foreign keys on, then checkpoint the WAL with
# TRUNCATE. gdpr-purge does it in batches sized to hold the write lock
# about 1.25 s each (a quarter of db.busy_timeout), choosing each batch
# afresh (restriction, open requests, bookings ahead), and also writes an
# audit row per client (HMAC-chained) and the journal file; sqlite3 does
# it in one transaction from a precomputed list. The two databases are compared
# afterwards: the clients left and the appointments anonymized must match.
# The other retention terms are set out of reach (and the audit trail is
# only verified), so that both sides do the same work.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

src=$1
tmp=bench/tmp
tool_db=$tmp/purge-tool.db
sql_db=$tmp/purge-sql.db
export PATH="$PWD/bin:$PATH"

sqlite3 "$src" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
rm -f "$tool_db"* "$sql_db"* "$tmp/erasures.jsonl"
cp "$src" "$tool_db"
cp "$src" "$sql_db"

# The median client's last appointment, plus the retention term (24
# months, local time as gdpr-purge counts them) and a second.
median=$(sqlite3 "$src" "SELECT le FROM (SELECT max(end) AS le FROM appointment
	WHERE client_id IS NOT NULL GROUP BY client_id) ORDER BY le
	LIMIT 1 OFFSET (SELECT count(DISTINCT client_id) / 2 FROM appointment
	WHERE client_id IS NOT NULL)")
local_median=$(TZ=Europe/Rome date -d "@$median" '+%Y-%m-%d %H:%M:%S')
now=$(TZ=Europe/Rome date -d "$local_median 24 months 1 second" +%s)
now_iso=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)

clients=$(sqlite3 "$src" 'SELECT count(*) FROM client')
appts=$(sqlite3 "$src" 'SELECT count(*) FROM appointment')

export RISERVA_RETENTION_HEALTH_MONTHS=1200 RISERVA_RETENTION_AUDIT_MONTHS=1200
export RISERVA_RETENTION_MESSAGE_DAYS=36500
t_tool=$(RISERVA_DB="$tool_db" RISERVA_ERASE_JOURNAL="$tmp/erasures.jsonl" \
	bench_once sh -c 'gdpr-purge --now "$0" -j >"$1"' "$now_iso" \
	"$tmp/purge.out")
cutoff=$(sed -n 's/.*"id":"clients".*"cutoff":"\([^"]*\)".*/\1/p' \
	"$tmp/purge.out")
cut=$(date -d "$cutoff" +%s)

cat >"$tmp/purge.sql" <<EOF
PRAGMA secure_delete = ON;
PRAGMA foreign_keys = ON;
PRAGMA temp_store = MEMORY;
BEGIN IMMEDIATE;
CREATE TEMP TABLE gone (id INTEGER PRIMARY KEY);
INSERT INTO gone SELECT client_id FROM appointment WHERE client_id IS NOT NULL
  GROUP BY client_id HAVING max(end) < $cut;
INSERT INTO gone SELECT id FROM client WHERE created < $cut
  AND id NOT IN (SELECT client_id FROM appointment WHERE client_id IS NOT NULL);
DELETE FROM event WHERE appointment_id IN
  (SELECT id FROM appointment WHERE client_id IN (SELECT id FROM gone));
UPDATE gcal_link SET state = 'delete', appointment_id = NULL, updated = $now
  WHERE appointment_id IN
  (SELECT id FROM appointment WHERE client_id IN (SELECT id FROM gone));
DELETE FROM gcal_outbox WHERE appointment_id IN
  (SELECT id FROM appointment WHERE client_id IN (SELECT id FROM gone));
DELETE FROM message WHERE client_id IN (SELECT id FROM gone);
UPDATE appointment SET client_id = NULL, notes = NULL, cancel_reason = NULL,
  updated = $now WHERE client_id IN (SELECT id FROM gone);
UPDATE consent SET client_id = NULL, evidence = NULL, ip = NULL
  WHERE client_id IN (SELECT id FROM gone);
DELETE FROM client_health WHERE client_id IN (SELECT id FROM gone);
UPDATE fiscal SET client_id = NULL WHERE client_id IN (SELECT id FROM gone);
UPDATE request SET client_id = NULL, notes = NULL
  WHERE client_id IN (SELECT id FROM gone);
UPDATE breach_subject SET client_id = NULL
  WHERE client_id IN (SELECT id FROM gone);
INSERT INTO erasure (client_id, created, erased)
  SELECT id, created, $now FROM client WHERE id IN (SELECT id FROM gone);
DELETE FROM client WHERE id IN (SELECT id FROM gone);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
t_sql=$(bench_once sh -c 'sqlite3 "$0" <"$1" >/dev/null' "$sql_db" \
	"$tmp/purge.sql")

left_tool=$(sqlite3 "$tool_db" 'SELECT count(*), sum(id) FROM client')
left_sql=$(sqlite3 "$sql_db" 'SELECT count(*), sum(id) FROM client')
anon='SELECT count(*) FROM appointment WHERE client_id IS NULL'
anon_tool=$(sqlite3 "$tool_db" "$anon")
anon_sql=$(sqlite3 "$sql_db" "$anon")
erased=$((clients - ${left_tool%%|*}))

bench_row "gdpr-purge (half the clients, vs sqlite3)" "$t_tool" "$t_sql" \
	"<= 1.5x"
bench_note "  erased" \
	"$erased of $clients clients; $anon_tool of $appts appointments anonymized"
if [ "$left_tool" = "$left_sql" ] && [ "$anon_tool" = "$anon_sql" ]; then
	bench_note "  same rows" "yes"
else
	bench_note "  same rows" "NO: clients left $left_tool vs $left_sql,\
 anonymized $anon_tool vs $anon_sql"
fi
rm -f "$tool_db"* "$sql_db"*
