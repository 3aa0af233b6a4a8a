#!/usr/bin/env bats
# book done and fiscal records: yearly gapless numbers, the copies a receipt
# keeps, and the legal hold the database enforces against any writer.

load helper

# Books client $1 for service $2 with Giulia at local time $3.
book_at() {
	book add --client "$1" --service "$2" --staff giulia@example.com \
		--at "$3" >/dev/null
}

# The clock after the morning's appointments.
evening() {
	export RISERVA_NOW=2026-11-30T18:00:00+01:00
}

@test "book done marks a started appointment done; unpaid, no receipt" {
	rv_centre
	book_at 1 Massaggio '2026-11-30 09:00'
	evening
	run book done 1
	assert_success
	[ "$(rv_json '["status"]')" = done ]
	[ "$(rv_json '["version"]')" = 2 ]
	[ "$(rv_json '["receipt"]')" = null ]
	[ "$(rv_sql 'SELECT count(*) FROM fiscal')" = 0 ]
	run rv_sql "SELECT action, client_id, ref, fields FROM audit WHERE action = 'appointment.done'"
	assert_output "appointment.done|1|appointment 1|status"
}

@test "a paid appointment gets a receipt with the copies the law wants" {
	rv_centre
	book_at 1 Massaggio '2026-11-30 09:00'
	evening
	run book done 1 --paid 40 --method card --tax-code rssmra80a01h501u
	assert_success
	[ "$(rv_json '["receipt"]')" = 2026/000001 ]
	run book receipt 2026/000001
	assert_success
	assert_output '{"type":"fiscal","id":1,"number":"2026/000001","year":2026,"seq":1,"issued":"2026-11-30T18:00:00+01:00","appointment_id":1,"client_id":1,"name":"Mario","surname":"Rossi","tax_code":"RSSMRA80A01H501U","service":"Massaggio","service_date":"2026-11-30T09:00:00+01:00","price_cents":4500,"amount_cents":4000,"method":"card","actor":"tester","hold_until":"2037-01-01T00:00:00+01:00"}'
	run rv_sql "SELECT action, client_id, ref, fields FROM audit WHERE action = 'fiscal.issue'"
	assert_output "fiscal.issue|1|fiscal 2026/000001|number,name,surname,tax_code,service,price,amount,method"
	# The audit names fields, never the amount or the tax code.
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE coalesce(ref,'') || coalesce(fields,'') || coalesce(reason,'') LIKE '%RSSMRA%' OR reason LIKE '%40%'")" = 0 ]
}

@test "a receipt keeps what it said when the client and catalog change" {
	rv_centre
	book_at 1 Massaggio '2026-11-30 09:00'
	evening
	book done 1 --paid 45 --method cash >/dev/null
	client edit 1 --name Marione --surname Rossini >/dev/null
	catalog edit Massaggio --name 'Massaggio relax' --price 50 >/dev/null
	run book receipt 1
	assert_success
	[ "$(rv_json '["name"]')" = Mario ]
	[ "$(rv_json '["surname"]')" = Rossi ]
	[ "$(rv_json '["service"]')" = Massaggio ]
	[ "$(rv_json '["price_cents"]')" = 4500 ]
}

@test "book done refuses what cannot be done, and writes nothing" {
	rv_centre
	book_at 1 Massaggio '2026-11-30 09:00'
	book_at 2 Viso '2026-11-30 11:00'
	book cancel 2 >/dev/null
	run book done 1
	assert_failure 1
	assert_output "book: appointment 1 starts at 2026-11-30 09:00: it can be done once it has started"
	evening
	run book done 2 --paid 30 --method cash
	assert_failure 1
	assert_output "book: appointment 2 is cancelled: it cannot be done"
	run book done 9
	assert_failure 66
	assert_output "book: no such appointment 9"
	run book done x
	assert_failure 64
	run book done 1 --paid 45
	assert_failure 64
	assert_output "book: --paid needs --method cash, card or transfer"
	run book done 1 --method cash
	assert_failure 64
	assert_output "book: --method and --tax-code go with --paid"
	run book done 1 --paid 45 --method cheque
	assert_failure 64
	assert_output "book: bad method 'cheque': cash, card or transfer"
	run book done 1 --paid 0 --method cash
	assert_failure 65
	run book done 1 --paid 45,999 --method cash
	assert_failure 65
	assert_output "book: bad amount '45,999': write euros like 45 or 45.50"
	run book done 1 --paid 45 --method cash --tax-code RSSMRA80A01H501A
	assert_failure 65
	assert_output "book: bad tax code 'RSSMRA80A01H501A': the check letter does not match"
	run book done 1 --paid 45 --method cash --tax-code RSSMRA80A01
	assert_failure 65
	[ "$(rv_sql "SELECT group_concat(status) FROM appointment")" = booked,cancelled ]
	[ "$(rv_sql 'SELECT count(*) FROM fiscal')" = 0 ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action LIKE 'fiscal%' OR action = 'appointment.done'")" = 0 ]
}

@test "an appointment done unpaid can be paid later, once" {
	rv_centre
	book_at 1 Massaggio '2026-11-30 09:00'
	evening
	book done 1 >/dev/null
	run book done 1
	assert_failure 1
	assert_output "book: appointment 1 is already done"
	run book done 1 --paid 45.50 --method transfer
	assert_success
	[ "$(rv_json '["receipt"]')" = 2026/000001 ]
	[ "$(rv_json '["version"]')" = 2 ]
	run book done 1 --paid 45.50 --method transfer
	assert_failure 1
	assert_output "book: appointment 1 is already done and paid (receipt 2026/000001)"
	[ "$(rv_sql 'SELECT amount FROM fiscal')" = 4550 ]
}

@test "a needs_review appointment can be done" {
	rv_centre
	book_at 1 Viso '2026-11-30 09:00'
	rv_sql "UPDATE appointment SET status = 'needs_review'"
	evening
	run book done 1 --paid 30 --method cash
	assert_success
	[ "$(rv_json '["status"]')" = done ]
}

@test "receipt numbers run per local year, without gaps" {
	rv_centre
	book_at 1 Viso '2026-11-30 09:00'
	book_at 2 Viso '2026-11-30 09:30'
	book_at 1 Viso '2026-12-31 10:00'
	book_at 2 Viso '2026-12-31 11:00'
	book_at 1 Viso '2026-12-31 12:00'
	evening
	book done 1 --paid 30 --method cash >/dev/null
	book done 2 --paid 30 --method cash >/dev/null
	# 23:59 in Rome is still 2026; 23:30 UTC is already 2027 there.
	RISERVA_NOW=2026-12-31T23:59:00+01:00 book done 3 --paid 30 --method card >/dev/null
	RISERVA_NOW=2026-12-31T23:30:00Z book done 4 --paid 30 --method card >/dev/null
	RISERVA_NOW=2027-01-04T09:00:00+01:00 book done 5 --paid 30 --method card >/dev/null
	run rv_sql "SELECT appointment_id, number, hold_until = strftime('%s', (year + 11) || '-01-01') - 3600 FROM fiscal ORDER BY id"
	assert_output "1|2026/000001|1
2|2026/000002|1
3|2026/000003|1
4|2027/000001|1
5|2027/000002|1"
	run book receipts --year 2027 --format csv
	assert_success
	assert_line --index 0 'type,id,number,year,seq,issued,appointment_id,client_id,name,surname,tax_code,service,service_date,price_cents,amount_cents,method,actor,hold_until'
	assert_line --index 1 --partial 'fiscal,4,2027/000001,2027,1,2027-01-01T00:30:00+01:00,4,2,Anna,Bianchi,,Viso,'
	[ "${#lines[@]}" -eq 3 ]
	run book receipts --client anna@example.com
	[ "$(printf '%s\n' "$output" | sed 's/.*"number":"\([^"]*\)".*/\1/' | tr '\n' ' ')" = "2026/000002 2027/000001 " ]
	run book receipts --from 2026-12-31 --to 2026-12-31
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["number"]')" = 2026/000003 ]
}

@test "two processes at once never share or skip a number" {
	rv_centre
	for t in 09:00 09:30 10:00 10:30 11:00 11:30 12:00 12:30; do
		book_at 1 Viso "2026-11-30 $t"
	done
	evening
	pids=()
	for i in 1 2 3 4 5 6 7 8; do
		book done "$i" --paid 30 --method cash >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	run rv_sql "SELECT group_concat(seq) FROM (SELECT seq FROM fiscal ORDER BY seq)"
	assert_output "1,2,3,4,5,6,7,8"
	[ "$(rv_sql 'SELECT count(DISTINCT appointment_id) FROM fiscal')" = 8 ]
	[ "$(rv_sql "SELECT count(*) FROM appointment WHERE status = 'done'")" = 8 ]
}

@test "the legal hold refuses raw sqlite3 deletes and changes" {
	rv_centre
	book_at 1 Massaggio '2026-11-30 09:00'
	evening
	book done 1 --paid 45 --method card >/dev/null
	before=$(rv_sql 'SELECT * FROM fiscal')
	run rv_sql 'DELETE FROM fiscal'
	assert_failure
	assert_output --partial "fiscal record under legal hold: it cannot be deleted before its term"
	run rv_sql 'UPDATE fiscal SET amount = 1'
	assert_failure
	assert_output --partial "fiscal record under legal hold: it cannot be changed"
	run rv_sql "UPDATE fiscal SET name = 'X'"
	assert_failure
	run rv_sql 'UPDATE fiscal SET hold_until = 0'
	assert_failure
	assert_output --partial "it cannot be changed"
	run rv_sql 'UPDATE fiscal SET client_id = 2'
	assert_failure
	assert_output --partial "its client can only be unlinked"
	[ "$(rv_sql 'SELECT * FROM fiscal')" = "$before" ]
	# The one change let through: unlinking an erased client.
	run rv_sql 'UPDATE fiscal SET client_id = NULL'
	assert_success
	[ "$(rv_sql 'SELECT client_id IS NULL, name, surname FROM fiscal')" = "1|Mario|Rossi" ]
}

@test "the legal hold refuses a receipt replaced by INSERT OR REPLACE" {
	rv_centre
	book_at 1 Massaggio '2026-11-30 09:00'
	book_at 2 Viso '2026-11-30 14:00'
	evening
	book done 1 --paid 45 --method card >/dev/null
	before=$(rv_sql 'SELECT * FROM fiscal')
	# REPLACE deletes the row it collides with, and SQLite fires no delete
	# trigger for that: the next number of the year, on receipt 1's id.
	cols='id, year, seq, number, issued, appointment_id, client_id, name, surname, service, service_date, price, amount, method, actor, hold_until'
	for verb in 'INSERT OR REPLACE' 'REPLACE'; do
		run rv_sql "$verb INTO fiscal ($cols) SELECT 1, 2026, 2,
		    '2026/000002', issued, appointment_id, client_id, 'X', 'Y',
		    service, service_date, price, 1, method, actor, hold_until
		    FROM fiscal WHERE id = 1"
		assert_failure
		assert_output --partial "fiscal record under legal hold: it cannot be replaced"
	done
	[ "$(rv_sql 'SELECT * FROM fiscal')" = "$before" ]
	# No id below 1, which is what a new row's id looks like before it
	# is chosen.
	run rv_sql "INSERT INTO fiscal ($cols) SELECT -1, 2026, 2,
	    '2026/000002', issued, appointment_id, client_id, 'X', 'Y', service,
	    service_date, price, 1, method, actor, hold_until FROM fiscal"
	assert_failure
	assert_output --partial "fiscal record ids start at 1"
	[ "$(rv_sql 'SELECT * FROM fiscal')" = "$before" ]
	# The next receipt is issued as before.
	run book done 2 --paid 30 --method cash
	assert_success
	[ "$(rv_json '["receipt"]')" = 2026/000002 ]
}

@test "the hold ends with the tenth year after the year of issue" {
	rv_centre
	# A receipt of 2014 is held until the end of 2024: past now.
	export RISERVA_NOW=2014-03-03T08:00:00+01:00
	book_at 1 Viso '2014-03-03 09:00'
	export RISERVA_NOW=2014-03-03T12:00:00+01:00
	run book done 1 --paid 30 --method cash
	assert_success
	run book receipt 2014/000001
	[ "$(rv_json '["hold_until"]')" = 2025-01-01T00:00:00+01:00 ]
	run rv_sql 'UPDATE fiscal SET amount = 1; DELETE FROM fiscal; SELECT count(*) FROM fiscal'
	assert_success
	assert_output 0
}

@test "the database refuses gaps and short holds from any writer" {
	rv_centre
	ins="INSERT INTO fiscal (year, seq, number, issued, name, surname, service, service_date, amount, method, actor, hold_until) VALUES"
	run rv_sql "$ins (2026, 2, '2026/000002', 1796000000, 'X', 'Y', 'S', 1796000000, 100, 'cash', 'x', 2200000000)"
	assert_failure
	assert_output --partial "fiscal record out of sequence"
	run rv_sql "$ins (2026, 1, '2026/000001', 1796000000, 'X', 'Y', 'S', 1796000000, 100, 'cash', 'x', 1796086400)"
	assert_failure
	assert_output --partial "CHECK constraint failed"
	run rv_sql "$ins (2026, 1, '2026/1', 1796000000, 'X', 'Y', 'S', 1796000000, 100, 'cash', 'x', 2200000000)"
	assert_failure
	[ "$(rv_sql 'SELECT count(*) FROM fiscal')" = 0 ]
}

@test "retention.fiscal_years lengthens the hold, never below ten years" {
	rv_centre
	book_at 1 Viso '2026-11-30 09:00'
	book_at 1 Viso '2026-11-30 10:00'
	evening
	printf '[retention]\nfiscal_years = 12\n' >"$RISERVA_CONFIG"
	book done 1 --paid 30 --method cash >/dev/null
	run book receipt 2026/000001
	[ "$(rv_json '["hold_until"]')" = 2039-01-01T00:00:00+01:00 ]
	RISERVA_RETENTION_FISCAL_YEARS=5 run book done 2 --paid 30 --method cash
	assert_failure 78
	assert_output "book: config retention.fiscal_years: '5' is not a number from 10 to 100"
	# Without a payment the term does not matter.
	RISERVA_RETENTION_FISCAL_YEARS=5 run book done 2
	assert_success
}

@test "book receipts prints a table for people" {
	rv_centre
	book_at 1 Massaggio '2026-11-30 09:00'
	book_at 2 Viso '2026-11-30 14:00'
	evening
	book done 1 --paid 45 --method card >/dev/null
	book done 2 --paid 27.5 --method cash >/dev/null
	run book receipts --format table
	assert_success
	assert_output "NUMBER       ISSUED            NAME   SURNAME  SERVICE    AMOUNT  METHOD  APPT
2026/000001  2026-11-30 18:00  Mario  Rossi    Massaggio   45.00  card       1
2026/000002  2026-11-30 18:00  Anna   Bianchi  Viso        27.50  cash       2"
	run book receipt 2026/000009
	assert_failure 66
	assert_output "book: no such receipt '2026/000009'"
}

@test "an erased client's id is never given again" {
	rv_centre
	book_at 2 Viso '2026-11-30 09:00'
	evening
	book done 1 --paid 30 --method cash >/dev/null
	gdpr-request open 2 --kind erasure --notes "asked at the desk" >/dev/null
	# Even an erasure that forgot to unlink cannot hand the id on.
	rv_sql 'DELETE FROM client WHERE id = 2'
	client add --name Nuovo --surname Cliente --email nuovo@example.com --phone 123456 >/dev/null
	[ "$(rv_sql "SELECT id FROM client WHERE email = 'nuovo@example.com'")" = 3 ]
	run book receipts --client 3
	assert_failure 1
	assert_output ''
	run gdpr-request list --client 3
	assert_failure 1
}
