#!/usr/bin/env bats
# gdpr-erase: the registry covers every table; what an erasure deletes,
# anonymizes and keeps; nothing readable left in the database, its -wal or
# -shm; receipts against their schema; dry runs; the journal and replays.

load helper
load gcal

bats_require_minimum_version 1.5.0

SCHEMA="$BATS_TEST_DIRNAME/../share/riserva/schema/erasure-receipt.schema.json"
NOTES='Preferisce il lettino vicino alla finestra Qx7'
HEALTH='Allergia al lattice Kw3'
APPT_NOTES='Dolore lombare Vb9'
EVIDENCE='Modulo firmato da Mario Jt4'
REQ_NOTES='Chiesto di persona da Mario Hn2'

teardown() {
	release_db
	emu_stop
	if [ -n "${LOCK_PID:-}" ]; then
		exec 9>&-
		wait "$LOCK_PID" || true
	fi
}

# Another connection keeps the database open, so that its -wal and -shm
# outlive each command and their bytes can be read (as in health.bats).
hold_db() {
	mkfifo "$BATS_TEST_TMPDIR/hold"
	sqlite3 "$RISERVA_DB" <"$BATS_TEST_TMPDIR/hold" >/dev/null 2>&1 3>&- &
	HOLD_PID=$!
	exec 8>"$BATS_TEST_TMPDIR/hold"
	echo "SELECT count(*) FROM client;" >&8
	for _ in $(seq 100); do
		[ -e "$RISERVA_DB-shm" ] && return 0
		sleep 0.05
	done
	return 1
}

release_db() {
	if [ -n "${HOLD_PID:-}" ]; then
		exec 8>&-
		wait "$HOLD_PID" || true
		HOLD_PID=
	fi
}

# Whether a text is anywhere in a file's bytes: yes or no.
text_in() {
	/usr/bin/python3 -c '
import sys
data = open(sys.argv[1], "rb").read()
print("yes" if sys.argv[2].encode() in data else "no")' "$1" "$2"
}

# A value out of a saved record, as rv_json takes it out of $output.
of() {
	local output=$1
	rv_json "$2"
}

# Validates each JSON line of stdin against the receipt schema.
validate() {
	/usr/bin/python3 -c '
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
n = 0
for line in sys.stdin:
    n += 1
    errors = sorted(v.iter_errors(json.loads(line)), key=str)
    if errors:
        print("invalid:", errors[0].message)
        sys.exit(1)
print("valid" if n else "nothing")
' "$SCHEMA"
}

# Mario (client 1) in every table an erasure touches: notes, health notes,
# a consent with evidence and IP, appointment 1 done and paid a week ago
# (receipt 2026/000001), appointment 2 ahead, an open erasure request (1)
# and an open access request (2). Anna (client 2) has an appointment (3).
mario_everywhere() {
	rv_centre
	client edit 1 --notes "$NOTES" >/dev/null
	consent grant 1 health reminders --evidence "$EVIDENCE" \
		--ip 192.0.2.77 >/dev/null
	printf '%s\n' "$HEALTH" | client health 1 --set 2>/dev/null
	RISERVA_NOW=2026-11-23T08:00:00+01:00 book add --client 1 \
		--service Massaggio --staff giulia@example.com \
		--at '2026-11-23 10:00' --notes "$APPT_NOTES" >/dev/null
	book done 1 --paid 45 --method card >/dev/null
	book add --client 1 --service Viso --staff giulia@example.com \
		--at '2026-12-01 10:00' --notes "$APPT_NOTES" >/dev/null
	book add --client 2 --service Viso --staff giulia@example.com \
		--at '2026-12-01 11:00' >/dev/null
	gdpr-request open 1 --kind erasure --notes "$REQ_NOTES" >/dev/null
	gdpr-request open 1 --kind access >/dev/null
}

@test "every table of the schema has an erasure rule" {
	rv_centre
	tables=$(rv_sql "SELECT name FROM sqlite_master WHERE type = 'table'
	    AND name NOT LIKE 'sqlite\_%' ESCAPE '\\' ORDER BY name")
	[ "$(printf '%s\n' "$tables" | wc -l)" -ge 15 ]
	run gdpr-erase --rules -j
	assert_success
	ruled=$(printf '%s\n' "$output" | python3 -c '
import json, sys
for line in sys.stdin:
    print(json.loads(line)["table"])')
	for t in $tables; do
		printf '%s\n' "$ruled" | grep -qx "$t" ||
			fail "table $t has no erasure rule"
	done
	# And each rule says what it does to the table.
	run gdpr-erase --rules -j
	assert_line --partial '"table":"erasure","how":"keep","category":"erasure journal","columns":null,"what":"the client'"'"'s id and the times it was created and erased, so that restoring an older backup erases them again","obligation":"the erasure itself (GDPR art. 17 and 5(2)): it must outlive backups"}'
}

@test "a table without a rule stops every erasure (70) before anything changes" {
	rv_centre
	rv_sql "CREATE TABLE loyalty (client_id INTEGER, points INTEGER)"
	run gdpr-erase 1 --reason 'art. 17 request'
	assert_failure 70
	assert_output "gdpr-erase: table 'loyalty' has no erasure rule (lib/erase.c): nothing is erased until it has one"
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 2 ]
	run gdpr-purge --now 2040-01-01
	assert_failure 70
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 2 ]
}

@test "nothing of the client is readable in the database, its -wal or -shm" {
	mario_everywhere
	# Everything in the main file, and each text really there to find.
	rv_sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	for s in Mario mario@example.com 3331112222 "$NOTES" "$APPT_NOTES" \
	    "$EVIDENCE" "$REQ_NOTES"; do
		[ "$(text_in "$RISERVA_DB" "$s")" = yes ] ||
			fail "'$s' is not in the database to begin with"
	done
	hold_db
	run gdpr-erase 1 --reason 'art. 17 request 1'
	assert_success
	assert_file_exists "$RISERVA_DB-wal"
	assert_file_exists "$RISERVA_DB-shm"
	[ ! -s "$RISERVA_DB-wal" ]
	# The receipt (2026/000001) keeps name and surname, as the law wants:
	# only the email, phone and the texts must be gone everywhere.
	for f in "$RISERVA_DB" "$RISERVA_DB-wal" "$RISERVA_DB-shm"; do
		for s in mario@example.com 3331112222 "$NOTES" "$APPT_NOTES" \
		    "$EVIDENCE" "$REQ_NOTES" Lattice Kw3; do
			[ "$(text_in "$f" "$s")" = no ] ||
				fail "'$s' is still in $f"
		done
	done
	[ "$(rv_sql "SELECT name || ' ' || surname FROM fiscal")" = "Mario Rossi" ]
}

@test "a client without fiscal records leaves not even a name behind" {
	rv_centre
	book add --client 2 --service Viso --at '2026-12-01 11:00' \
		--notes 'Anna notes Zp5' >/dev/null
	rv_sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	hold_db
	run gdpr-erase anna@example.com --reason 'art. 17 request 2'
	assert_success
	for f in "$RISERVA_DB" "$RISERVA_DB-wal" "$RISERVA_DB-shm"; do
		for s in Anna Bianchi anna@example.com 3334445555 Zp5; do
			[ "$(text_in "$f" "$s")" = no ] ||
				fail "'$s' is still in $f"
		done
	done
}

@test "a checkpoint a reader held up is finished by running the erasure again" {
	rv_centre
	rv_sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	hold_db
	# A reader in the middle of a transaction: the erased pages cannot
	# reach the main file while it may still read the old ones.
	echo "BEGIN; SELECT count(*) FROM client;" >&8
	sleep 0.2
	RISERVA_DB_BUSY_TIMEOUT=200 run --separate-stderr gdpr-erase 2 \
		--reason 'art. 17 request 2'
	assert_failure 75
	[ "${stderr#*the deletion is done, but the database is busy}" != "$stderr" ]
	[ "$(text_in "$RISERVA_DB" anna@example.com)" = yes ]
	echo "COMMIT;" >&8
	# As the message says: the same command again, once it is idle.
	run --separate-stderr gdpr-erase 2 --reason 'art. 17 request 2'
	assert_success
	[ "$stderr" = "gdpr-erase: client 2 was erased on 2026-11-30; skipped
gdpr-erase: no client to erase" ]
	[ ! -s "$RISERVA_DB-wal" ]
	for f in "$RISERVA_DB" "$RISERVA_DB-wal"; do
		[ "$(text_in "$f" anna@example.com)" = no ] ||
			fail "anna@example.com is still in $f"
	done
}

@test "the control: a delete without secure_delete or checkpoint leaves the bytes" {
	# What the test above would see if gdpr-erase did not clear them.
	rv_centre
	rv_sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	hold_db
	rv_sql "PRAGMA secure_delete = OFF; DELETE FROM client WHERE id = 2"
	[ "$(text_in "$RISERVA_DB" anna@example.com)" = yes ]
	[ "$(text_in "$RISERVA_DB-wal" Bianchi)" = yes ] ||
		[ "$(text_in "$RISERVA_DB" Bianchi)" = yes ]
}

@test "the receipt: what was deleted, anonymized and kept, with the fiscal hold" {
	mario_everywhere
	run --separate-stderr gdpr-erase 1 --reason 'art. 17 request 1'
	assert_success
	[ "$stderr" = "" ]
	printf '%s\n' "$output" | validate | grep -qx valid
	r=$output
	run of "$r" '["summary"]'
	assert_output "deleted 3 messages, 1 health data, 1 identity; anonymized 2 appointments, 2 consents, 2 requests; kept 1 fiscal records until 2037-01-01, 1 erasure journal, 15 audit trail until 2027-11-30"
	run of "$r" '["kept"][0]'
	assert_output '{"category": "fiscal records", "table": "fiscal", "count": 1, "obligation": "Italian tax law: accounting records are kept 10 years (art. 2220 codice civile, art. 22 DPR 600/1973)", "until": "2037-01-01T00:00:00+01:00", "unlinked": ["client_id"], "what": "unlinked from the client, each receipt keeps what the law wants on it until its hold ends; receipts already past it are deleted"}'
	run of "$r" '["id"]'
	assert_output 1
	run of "$r" '["cancelled"]'
	assert_output 1
	run of "$r" '["requests_closed"]'
	assert_output '[1]'
	run of "$r" '["requests_open"]'
	assert_output '[2]'
	run of "$r" '["counts"]'
	assert_output '{"event": 0, "gcal_link": 0, "gcal_outbox": 0, "message": 3, "appointment": 2, "consent": 2, "client_health": 1, "fiscal": 1, "request": 2, "breach_subject": 0, "erasure": 1, "client": 1, "audit": 15}'
}

@test "what stays: anonymized appointments, the consent proof, the register, the receipt" {
	mario_everywhere
	gdpr-erase 1 --reason 'art. 17 request 1' >/dev/null
	[ "$(rv_sql 'SELECT count(*) FROM client_health')" = 0 ]
	[ "$(rv_sql 'SELECT count(*) FROM client WHERE id = 1')" = 0 ]
	# Appointments stay, without whom and notes; the one ahead cancelled.
	run rv_sql "SELECT id, quote(client_id), quote(notes), status,
	    quote(cancel_reason) FROM appointment ORDER BY id"
	assert_output "1|NULL|NULL|done|NULL
2|NULL|NULL|cancelled|NULL
3|2|NULL|booked|NULL"
	# The ledger keeps that consent was given, and under what, not by whom.
	run rv_sql "SELECT quote(client_id), purpose, action, at > 0, method,
	    quote(evidence), quote(ip) FROM consent ORDER BY id"
	assert_output "NULL|health|grant|1|in-person|NULL|NULL
NULL|reminders|grant|1|in-person|NULL|NULL"
	# The erasure request is answered; the access request stays open.
	run rv_sql "SELECT id, quote(client_id), kind, quote(notes),
	    quote(outcome), quote(close_reason) FROM request ORDER BY id"
	assert_output "1|NULL|erasure|NULL|'done'|'carried out: the client''s data was erased'
2|NULL|access|NULL|NULL|NULL"
	run rv_sql "SELECT number, quote(client_id), name, surname, amount
	    FROM fiscal"
	assert_output "2026/000001|NULL|Mario|Rossi|4500"
	# The audit trail names fields, never values.
	run rv_sql "SELECT action, client_id, ref, fields, reason FROM audit
	    WHERE action IN ('client.erase', 'health.erase',
	    'appointment.cancel', 'request.close') ORDER BY id"
	assert_output "appointment.cancel|1|appointment 2|status,cancel_reason|art. 17 request 1
health.erase|1|client 1|health|art. 17 request 1
request.close|1|request 1|closed,outcome,close_reason|art. 17 request 1
client.erase|1|client 1|event,gcal_link,gcal_outbox,message,appointment.client_id,appointment.notes,appointment.cancel_reason,consent.client_id,consent.evidence,consent.ip,client_health,fiscal.client_id,request.client_id,request.notes,breach_subject.client_id,name,surname,email,phone,birth,locale,notes,restricted_reason|art. 17 request 1"
	# Anna is untouched.
	[ "$(rv_sql "SELECT email FROM client")" = anna@example.com ]
}

@test "a dry run prints the same receipt and changes nothing" {
	mario_everywhere
	rv_sql .dump >"$BATS_TEST_TMPDIR/before"
	run --separate-stderr gdpr-erase 1 --dry-run --reason 'art. 17 request 1'
	assert_success
	dry=$output
	rv_sql .dump >"$BATS_TEST_TMPDIR/after"
	cmp "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
	[ ! -e "$BATS_TEST_TMPDIR/erasures.jsonl" ]
	printf '%s\n' "$dry" | validate | grep -qx valid
	run gdpr-erase 1 --reason 'art. 17 request 1'
	assert_success
	# The same, but for the journal id and the flag.
	[ "${dry/\"id\":null/\"id\":1}" = "${output/\"dry_run\":false/\"dry_run\":true}" ]
}

@test "--reason is required, and names no one" {
	rv_centre
	run gdpr-erase 1
	assert_failure 64
	assert_output "gdpr-erase: --reason is required: why the data is erased (the request, or the ground of art. 17(1)); it goes on the audit trail, so name no one in it"
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 2 ]
}

@test "a block whose title names the client loses the title, keeps its time" {
	rv_centre
	for t in "richiamare ROSSI" "Rossini, concerto" "scrivere a mario@example.com" "Bianchi"; do
		book block --staff giulia@example.com --from '2026-12-02 09:00' \
			--to '2026-12-02 09:30' --title "$t" >/dev/null
	done
	run gdpr-erase 1 --reason 'art. 17' --dry-run
	assert_success
	[ "$(rv_json '["counts"]["event"]')" = 2 ]
	[ "$(rv_sql 'SELECT count(title) FROM event')" = 4 ]
	run gdpr-erase 1 --reason 'art. 17'
	assert_success
	run rv_sql "SELECT quote(title), start FROM event ORDER BY id"
	assert_output "NULL|$(rv_sql 'SELECT start FROM event WHERE id = 1')
'Rossini, concerto'|$(rv_sql 'SELECT start FROM event WHERE id = 1')
NULL|$(rv_sql 'SELECT start FROM event WHERE id = 1')
'Bianchi'|$(rv_sql 'SELECT start FROM event WHERE id = 1')"
	[ "$(text_in "$RISERVA_DB" "richiamare ROSSI")" = no ]
}

@test "records on stdin: erased clients' appointments are skipped quietly" {
	rv_centre
	book add --client 1 --service Viso --at '2026-12-01 10:00' >/dev/null
	book add --client 1 --service Viso --at '2026-12-02 10:00' >/dev/null
	book add --client 2 --service Viso --at '2026-12-03 10:00' >/dev/null
	book list -j >"$BATS_TEST_TMPDIR/list"
	run --separate-stderr gdpr-erase --dry-run --reason 'clean-up' \
		<"$BATS_TEST_TMPDIR/list"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 2 ]
	run --separate-stderr gdpr-erase --reason 'clean-up' \
		<"$BATS_TEST_TMPDIR/list"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 0 ]
	# Now every appointment says client_id null: nothing left to do.
	book list -j >"$BATS_TEST_TMPDIR/list"
	grep -q '"client_id":null' "$BATS_TEST_TMPDIR/list"
	run --separate-stderr gdpr-erase --reason 'clean-up' \
		<"$BATS_TEST_TMPDIR/list"
	assert_success
	assert_output ""
	[ "$stderr" = "gdpr-erase: no client to erase" ]
	# The old list, with the ids: each is said to be erased already.
	run --separate-stderr gdpr-erase 1 2 --reason 'again'
	assert_success
	[ "$stderr" = "gdpr-erase: client 1 was erased on 2026-11-30; skipped
gdpr-erase: client 2 was erased on 2026-11-30; skipped
gdpr-erase: no client to erase" ]
}

@test "all or nothing: one unknown client and no one is erased" {
	rv_centre
	run gdpr-erase 1 nobody@example.com --reason 'art. 17'
	assert_failure 66
	assert_output "gdpr-erase: no such client 'nobody@example.com'"
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 2 ]
	printf '{"type":"client","id":1}\n{"type":"client","id":9}\n' |
		{ run gdpr-erase --reason 'art. 17'
		  assert_failure 66
		  assert_output "gdpr-erase: line 2: no such client 9"; }
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 2 ]
}

@test "a client erased by another process meanwhile is skipped, not erased twice" {
	rv_centre
	mkfifo "$BATS_TEST_TMPDIR/lock"
	sqlite3 "$RISERVA_DB" <"$BATS_TEST_TMPDIR/lock" >/dev/null 2>&1 &
	LOCK_PID=$!
	exec 9>"$BATS_TEST_TMPDIR/lock"
	echo "BEGIN IMMEDIATE;" >&9
	sleep 0.2
	# gdpr-erase finds Anna, then waits for the write lock ...
	RISERVA_DB_BUSY_TIMEOUT=10000 gdpr-erase 2 --reason 'art. 17' \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 1
	# ... which another erasure of her holds, and commits.
	echo "INSERT INTO erasure (client_id, created, erased)
	    SELECT id, created, created FROM client WHERE id = 2;
	    DELETE FROM client WHERE id = 2; COMMIT;" >&9
	exec 9>&-
	wait "$LOCK_PID"
	LOCK_PID=
	run wait "$pid"
	assert_success
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "" ]
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = "gdpr-erase: client 2 was erased on 2026-11-30; skipped
gdpr-erase: no client to erase" ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'client.erase'")" = 0 ]
}

@test "the journal: a row in the database and a line in the file, nothing else" {
	rv_centre
	gdpr-erase 2 --reason 'art. 17' >/dev/null
	run rv_sql "SELECT id, client_id, created, erased FROM erasure"
	assert_output "1|2|$(date -d 2026-11-30T08:00:00+01:00 +%s)|$(date -d 2026-11-30T08:00:00+01:00 +%s)"
	run cat "$BATS_TEST_TMPDIR/erasures.jsonl"
	assert_output '{"type":"erasure","id":1,"client_id":2,"created":"2026-11-30T08:00:00+01:00","erased":"2026-11-30T08:00:00+01:00"}'
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/erasures.jsonl")" = 600 ]
	# Elsewhere when erase.journal says so.
	RISERVA_ERASE_JOURNAL="$BATS_TEST_TMPDIR/j/erased" gdpr-erase 1 \
		--reason 'art. 17' >/dev/null
	grep -q '"client_id":1,' "$BATS_TEST_TMPDIR/j/erased"
}

@test "a restored older backup is erased again, and a later client with the same id is not" {
	rv_centre
	client add --name Luca --surname Verdi --email luca@example.com \
		--phone 3330001111 >/dev/null
	cp "$RISERVA_DB" "$BATS_TEST_TMPDIR/old.db"
	RISERVA_NOW=2026-12-01T08:00:00+01:00 gdpr-erase 2 3 \
		--reason 'art. 17' >/dev/null
	# The old copy, as a restore would bring it back: Anna and Luca are
	# there again. Luca's id then goes to someone new in that timeline.
	old="$BATS_TEST_TMPDIR/old.db"
	sqlite3 "$old" "UPDATE client SET name = 'Nuovo', email = 'new@example.com',
	    created = created + 3600 WHERE id = 3"
	run --separate-stderr gdpr-erase --db "$old" --replay --dry-run
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(sqlite3 "$old" 'SELECT count(*) FROM client')" = 3 ]
	run --separate-stderr gdpr-erase --db "$old" --replay \
		--journal "$BATS_TEST_TMPDIR/erasures.jsonl"
	assert_success
	receipt=$output
	run rv_json '["client_id"]'
	assert_output 2
	output=$receipt
	run rv_json '["reason"]'
	assert_output "replay of the erasure journal"
	run sqlite3 "$old" "SELECT id, email FROM client ORDER BY id"
	assert_output "1|mario@example.com
3|new@example.com"
	# Replaying again finds nothing more.
	run --separate-stderr gdpr-erase --db "$old" --replay
	assert_success
	assert_output ""
	[ "$stderr" = "gdpr-erase: nothing to replay: no client the journal names is in this database" ]
}

@test "backup restore erases again the clients erased after the backup" {
	rv_centre
	client add --name Luca --surname Verdi --email luca@example.com \
		--phone 3330001111 >/dev/null
	gdpr-erase 3 --reason 'art. 17' >/dev/null
	backup create --output "$BATS_TEST_TMPDIR/bk" >/dev/null
	RISERVA_NOW=2026-12-01T08:00:00+01:00 gdpr-erase anna@example.com \
		--reason 'art. 17' >/dev/null
	run --separate-stderr backup restore "$BATS_TEST_TMPDIR"/bk/*.rvbak \
		--db "$BATS_TEST_TMPDIR/restored.db"
	assert_success
	[ "$stderr" = "" ]
	run rv_json '["reerased"]'
	assert_output '[{"client_id": 2, "summary": "deleted 1 identity; kept 1 erasure journal, 2 audit trail until 2027-11-30"}]'
	new="$BATS_TEST_TMPDIR/restored.db"
	run sqlite3 "$new" "SELECT group_concat(email) FROM client"
	assert_output mario@example.com
	run sqlite3 "$new" "SELECT group_concat(client_id) FROM
	    (SELECT client_id FROM erasure ORDER BY id)"
	assert_output 3,2
	for f in "$new" "$new-wal"; do
		[ ! -e "$f" ] || [ "$(text_in "$f" anna@example.com)" = no ]
	done
	run audit verify --db "$new"
	assert_success
	# Without the journal file, a restore says what it could not do.
	mv "$BATS_TEST_TMPDIR/erasures.jsonl" "$BATS_TEST_TMPDIR/away"
	run --separate-stderr backup restore "$BATS_TEST_TMPDIR"/bk/*.rvbak \
		--db "$BATS_TEST_TMPDIR/again.db"
	assert_success
	[ "$stderr" = "backup: no erasure journal at $BATS_TEST_TMPDIR/erasures.jsonl: erasures made after the backup were not made again in $BATS_TEST_TMPDIR/again.db (set erase.journal, then run 'gdpr-erase --replay --db $BATS_TEST_TMPDIR/again.db')" ]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/again.db" "SELECT count(*) FROM client")" = 2 ]
}

@test "the breach register keeps that someone was affected, not who" {
	rv_centre
	gdpr-breach open --detected '2026-11-29 10:00' \
		--description 'Laptop stolen' >/dev/null
	gdpr-breach link 1 1 2 >/dev/null
	run gdpr-erase 1 --reason 'art. 17'
	assert_success
	run rv_json '["anonymized"][0]["category"]'
	assert_output "breach register"
	run rv_sql "SELECT quote(client_id) FROM breach_subject ORDER BY id"
	assert_output "NULL
2"
}

@test "rules and replay take no clients; a replay's journal must be readable" {
	rv_centre
	run gdpr-erase --rules 1
	assert_failure 64
	run gdpr-erase --replay 1
	assert_failure 64
	run gdpr-erase --replay --reason x
	assert_failure 64
	printf 'not json\n' >"$BATS_TEST_TMPDIR/bad"
	run gdpr-erase --replay --journal "$BATS_TEST_TMPDIR/bad"
	assert_failure 65
	assert_output --partial "gdpr-erase: $BATS_TEST_TMPDIR/bad: line 1: bad JSON"
}

@test "a fiscal record already past its hold goes with the client" {
	rv_centre
	# Issued in 2000, held until 2011: a record the law no longer keeps.
	rv_sql "INSERT INTO fiscal (year, seq, number, issued, client_id, name,
	    surname, service, service_date, amount, method, actor, hold_until)
	    VALUES (2000, 1, '2000/000001', 946728000, 2, 'Anna', 'Bianchi',
	    'Viso', 946728000, 3000, 'cash', 'tester', 1293836400)"
	run gdpr-erase 2 --reason 'art. 17'
	assert_success
	run rv_json '["deleted"][0]["category"]'
	assert_output "fiscal records past their legal term"
	[ "$(rv_sql 'SELECT count(*) FROM fiscal')" = 0 ]
	run rv_sql "SELECT action, ref FROM audit WHERE action = 'fiscal.expire'"
	assert_output "fiscal.expire|fiscal 2000/000001"
}

@test "messages go, and no one is told of a cancellation they asked for" {
	rv_centre
	printf '[mail]\ntransport = stdout\nfrom = Centro <c@example.com>\n' \
		>"$RISERVA_CONFIG"
	book add --client 1 --service Viso --at '2026-12-01 10:00' >/dev/null
	book add --client 2 --service Viso --at '2026-12-01 11:00' >/dev/null
	[ "$(rv_sql "SELECT count(*) FROM message WHERE client_id = 1")" = 1 ]
	run gdpr-erase 1 --reason 'art. 17'
	assert_success
	run rv_json '["counts"]["message"]'
	# The confirmation, and the cancellation the erasure itself queued.
	assert_output 2
	run rv_sql "SELECT kind, client_id FROM message"
	assert_output "confirmation|2"
	run notify send -j
	assert_success
	refute_output --partial mario@example.com
}

@test "events pushed to Google are deleted there by the next gcal-sync" {
	emu_start
	rv_centre
	gcal_connect giulia@example.com '{"email": "operator@gmail.test"}'
	assert_success
	book add --client 1 --service Massaggio --staff 1 \
		--at '2026-12-01 10:00' >/dev/null
	book add --client 1 --service Viso --staff 1 \
		--at '2026-12-02 10:00' >/dev/null
	gcal-sync >/dev/null
	run emu_events operator@gmail.test '[e["summary"] for e in ev]'
	assert_output '["Massaggio Mario R.", "Viso Mario R."]'
	# A third, booked after the sync: only in the push outbox.
	book add --client 1 --service Viso --staff 1 \
		--at '2026-12-03 10:00' >/dev/null
	run gdpr-erase 1 --reason 'art. 17'
	assert_success
	r=$output
	run of "$r" '["google_deletions"]'
	assert_output 2
	run of "$r" '["counts"]["gcal_outbox"]'
	assert_output 3
	run rv_sql "SELECT state, quote(appointment_id) FROM gcal_link"
	assert_output "delete|NULL
delete|NULL"
	[ "$(rv_sql 'SELECT count(*) FROM gcal_outbox')" = 0 ]
	gcal-sync >/dev/null
	run emu_events operator@gmail.test '[e["status"] for e in ev]'
	assert_output '["cancelled", "cancelled"]'
	# Deleted events wait in Google's trash: there, no name either.
	run emu_events operator@gmail.test '[e["summary"] for e in ev]'
	assert_output '["Occupato", "Occupato"]'
	[ "$(rv_sql 'SELECT count(*) FROM gcal_link')" = 0 ]
}

@test "help and usage" {
	run gdpr-erase --help
	assert_success
	assert_line --index 0 "usage: gdpr-erase --reason TEXT [--dry-run] [C ...]"
	run gdpr-erase --bogus
	assert_failure 64
	assert_line --index 0 "gdpr-erase: unknown option '--bogus'"
}
