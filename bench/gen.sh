#!/bin/sh
# gen.sh — a realistic centre for the benchmarks.
# usage: sh bench/gen.sh DB [APPOINTMENTS] [CLIENTS] [STAFF]
# Defaults: 1,000,000 appointments over three years (two past, one ahead),
# 100,000 clients, 50 operators working Monday to Saturday.
set -eu
db=$1
appts=${2:-1000000}
clients=${3:-100000}
staff=${4:-50}
root=$(cd "$(dirname "$0")/.." && pwd)

rm -f "$db" "$db-wal" "$db-shm"
# The schema comes from the tools' own migrations.
RISERVA_DB=$db "$root/bin/client" list >/dev/null || [ $? -eq 1 ]

now=$(date +%s)
# Day 0 is a Monday two years back; 3 years of days, Sundays skipped.
start_day=$(( (now / 86400 - 730) / 7 * 7 + 4 ))
days=$(( 3 * 365 ))

sqlite3 "$db" >/dev/null <<EOF
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $staff)
INSERT INTO staff (id, name, email, role, created)
SELECT i, 'Operator ' || i, 'op' || i || '@centro.example', 'operator', $now - 86400 * 1100
FROM n;

INSERT INTO service (id, name, duration, buffer, price, created) VALUES
 (1, 'Massaggio breve', 25, 5, 3500, $now - 86400 * 1100),
 (2, 'Viso', 30, 0, 4000, $now - 86400 * 1100),
 (3, 'Manicure', 20, 10, 2500, $now - 86400 * 1100);

INSERT INTO staff_service (staff_id, service_id)
SELECT s.id, v.id FROM staff s, service v;

WITH RECURSIVE d(dow) AS (SELECT 1 UNION ALL SELECT dow + 1 FROM d WHERE dow < 6)
INSERT INTO staff_hours (staff_id, dow, start_min, end_min)
SELECT s.id, d.dow, 7 * 60, 21 * 60 FROM staff s, d;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $clients),
names(k, name) AS (VALUES (0,'Giulia'),(1,'Marco'),(2,'Francesca'),(3,'Luca'),
  (4,'Chiara'),(5,'Alessandro'),(6,'Sara'),(7,'Matteo'),(8,'Elena'),(9,'Davide')),
surnames(k, surname) AS (VALUES (0,'Rossi'),(1,'Russo'),(2,'Ferrari'),
  (3,'Esposito'),(4,'Bianchi'),(5,'Romano'),(6,'Colombo'),(7,'Ricci'),
  (8,'Marino'),(9,'Greco'),(10,'Bruno'),(11,'Gallo'),(12,'Conti'))
INSERT INTO client (id, name, surname, email, phone, locale, created, updated)
SELECT i, name, surname,
  lower(name) || '.' || lower(surname) || '.' || i || '@example.com',
  '+39333' || printf('%07d', i), CASE WHEN i % 7 = 0 THEN 'en' ELSE 'it' END,
  $now - 86400 * 1100 + i * 900, $now - 86400 * 1100 + i * 900
FROM n JOIN names ON names.k = i % 10 JOIN surnames ON surnames.k = i % 13;

-- Half-hour positions 08:00-20:00 local (UTC+1), Monday to Saturday, spread
-- evenly so that no two appointments of an operator overlap.
CREATE TEMP TABLE day AS
WITH RECURSIVE d(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM d WHERE k < $days - 1)
SELECT row_number() OVER (ORDER BY k) - 1 AS j, ($start_day + k) * 86400 AS t
FROM d WHERE (k % 7) <> 6;

CREATE TEMP TABLE pos AS
SELECT (SELECT count(*) FROM day) * $staff * 24 AS total;

WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $appts - 1),
p(i, q) AS (SELECT i, i * (SELECT total FROM pos) / $appts FROM n),
slot(i, staff, j, half) AS (
  SELECT i, q % $staff + 1, q / $staff / 24, q / $staff % 24 FROM p)
INSERT INTO appointment (client_id, staff_id, service_id, start, end,
  busy_end, status, version, created, updated)
SELECT (i * 7919) % $clients + 1, staff, i % 3 + 1,
  day.t + 7 * 3600 + half * 1800,
  day.t + 7 * 3600 + half * 1800 + CASE i % 3 WHEN 0 THEN 1500 WHEN 1 THEN 1800 ELSE 1200 END,
  day.t + 7 * 3600 + half * 1800 + 1800,
  CASE WHEN day.t > $now THEN 'booked' WHEN i % 10 = 0 THEN 'cancelled' ELSE 'done' END,
  1, day.t - 86400 * 7, day.t - 86400 * 7
FROM slot JOIN day ON day.j = slot.j;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
ANALYZE;
EOF
