#!/bin/sh
# remind.sh — remind's two numbers, on a copy of the benchmark database $1:
# a run with nothing due on the whole table (index-bounded: a few ms over
# start-up), and 10,000 due reminders sent to a real SMTP server on
# loopback over one reused connection (messages per second).
# usage: sh bench/remind.sh DB   (run by bench/run.sh; BENCH_RUNS scales)
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

src=$1
runs=${BENCH_RUNS:-200}
want=${BENCH_REMINDERS:-10000}
tmp=bench/tmp/remind
rm -rf "$tmp"
mkdir -p "$tmp"
db=$tmp/remind.db
export PATH="$PWD/bin:$PATH"
export RISERVA_DB="$db" RISERVA_CONFIG="$tmp/config" RISERVA_ACTOR=bench
unset RISERVA_NOW
smtpd_pid=
cleanup() {
	[ -n "$smtpd_pid" ] && kill "$smtpd_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# The tools' database from the generator, untouched: a copy.
sqlite3 "$src" ".backup '$db'"
n_appts=$(sqlite3 "$db" 'SELECT count(*) FROM appointment')

# --- nothing due: the window is already done, as it is on every cron run
# but the first. "Now" is half a day before a busy stretch, so the next
# 24 hours hold a full day of bookings. The first run queues their
# reminders (no client consented in the generated data: they are skipped,
# which needs no transport); the runs timed find everything in the window
# queued and nothing due. The transport is SMTP, as a centre's would be:
# with nothing due it is never opened.
now=$(( $(sqlite3 "$db" "SELECT start FROM appointment WHERE start >
	$(date +%s) AND status = 'booked' ORDER BY start LIMIT 1 OFFSET 1500") -
	43200 ))
at=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)
printf '[mail]\ntransport = smtp\nurl = smtp://127.0.0.1:9\nfrom = %s\n' \
	bench@centro.example >"$RISERVA_CONFIG"
remind --now "$at" >/dev/null
window=$(sqlite3 "$db" "SELECT count(*) FROM appointment
	WHERE start > $now AND start <= $now + 86400 AND status = 'booked'")
idle_tool() { remind --now "$at" >/dev/null; }
# The same reads with sqlite3: the window against the outbox, the due
# messages, the meta row the mailer reads.
idle_sql() {
	sqlite3 "$db" "
	SELECT a.id FROM appointment a JOIN client c ON c.id = a.client_id
	 WHERE a.start > $now AND a.start <= $now + 86400 AND a.status = 'booked'
	 AND NOT EXISTS (SELECT 1 FROM message m WHERE m.appointment_id = a.id
	 AND m.kind = 'reminder' AND m.version = a.version AND m.lead = 86400);
	SELECT id FROM message WHERE status IN ('queued', 'sending')
	 AND next_at <= $now AND kind = 'reminder' ORDER BY next_at, id LIMIT 32;
	SELECT value FROM meta WHERE key = 'mail.instance';" >/dev/null
}
start_tool() { remind --version >/dev/null; }
ti=$(bench_loop "$runs" idle_tool)
ts=$(bench_loop "$runs" idle_sql)
tv=$(bench_loop "$runs" start_tool)
bench_row "remind, nothing due ($n_appts appts)" "$ti" "$ts" \
	"a few ms over start-up"
bench_note "  remind start-up (--version)" "$(awk -v t="$tv" -v i="$ti" \
	'BEGIN { printf "%.2fms; nothing due is %.2fms more", t * 1000,
	(i - t) * 1000 }')"
bench_note "  appointments in the 24h window" "$window (each probed once)"
plan=$(sqlite3 "$db" "EXPLAIN QUERY PLAN SELECT a.id FROM appointment a
	WHERE a.start > 5 AND a.start <= 6 AND a.status = 'booked'
	AND NOT EXISTS (SELECT 1 FROM message m WHERE m.appointment_id = a.id
	AND m.kind = 'reminder' AND m.version = a.version AND m.lead = 7)" |
	sed -n 's/.*--//p' | tr '\n' ';')
bench_note "  window plan" "$plan"

# --- 10,000 due reminders over SMTP: a day with nothing queued yet, a
# lead reaching the 10,000th booked appointment, every client consenting.
t0=$(( now + 86400 * 60 ))
tN=$(sqlite3 "$db" "SELECT start FROM appointment WHERE start > $t0
	AND status = 'booked' ORDER BY start LIMIT 1 OFFSET $((want - 1))")
lead=$(( (tN - t0 + 59) / 60 ))
sqlite3 "$db" "INSERT INTO consent (client_id, purpose, action, at, method,
	actor) SELECT DISTINCT client_id, 'reminders', 'grant', $now, 'paper',
	'bench' FROM appointment WHERE start > $t0 AND start <= $t0 + $lead * 60
	AND status = 'booked'"
/usr/bin/python3 t/smtpd.py --port-file "$tmp/port" \
	--connections "$tmp/conns" --count "$tmp/count" &
smtpd_pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
{
	printf '[mail]\ntransport = smtp\nurl = smtp://127.0.0.1:%s\n' \
		"$(cat "$tmp/port")"
	printf 'from = Centro Bench <bench@centro.example>\n'
	printf '[remind]\nlead = %sm\n' "$lead"
} >"$RISERVA_CONFIG"
at0=$(date -u -d "@$t0" +%Y-%m-%dT%H:%M:%SZ)
tsend=$(bench_once sh -c 'remind --now "$0" >/dev/null' "$at0")
kill "$smtpd_pid"
wait "$smtpd_pid" 2>/dev/null || true
smtpd_pid=
sent=$(sqlite3 "$db" "SELECT count(*) FROM message WHERE kind = 'reminder'
	AND status = 'sent'")
got=$(cat "$tmp/count")
conns=$(wc -l <"$tmp/conns" | tr -d ' ')
rate=$(awk -v t="$tsend" -v n="$sent" \
	'BEGIN { printf "%.2fs, %d messages/s", t, n / t }')
bench_note "remind, $sent due reminders over SMTP" \
	"$rate, $got received, $conns SMTP connection(s)"
