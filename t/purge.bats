#!/usr/bin/env bats
# gdpr-purge: each retention term applied as of --now; never a client under
# restriction or with an open request; dry runs, idempotence, batches, a
# busy database, the journal and the audit trail.

load helper

bats_require_minimum_version 1.5.0

teardown() {
	if [ -n "${LOCK_PID:-}" ]; then
		exec 9>&-
		wait "$LOCK_PID" || true
	fi
}

# A summary record's value: summary CATEGORY EXPR (v is the record).
summary() {
	printf '%s\n' "$output" | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    v = json.loads(line)
    if v["id"] == sys.argv[1]:
        print(json.dumps(eval(sys.argv[2])))' "$1" "$2"
}

# Anna's last appointment ends 2026-12-01 10:30, Mario's 2026-12-10 11:00;
# Luca (3) never had one and was added 2026-11-30 08:00.
three_clients() {
	rv_centre
	client add --name Luca --surname Verdi --email luca@example.com \
		--phone 3330001111 >/dev/null
	book add --client 2 --service Viso --staff giulia@example.com \
		--at '2026-12-01 10:00' >/dev/null
	book add --client 1 --service Massaggio --staff giulia@example.com \
		--at '2026-12-10 10:00' >/dev/null
}

@test "a client named like a word of a purge's own reason is purged all the same" {
	printf '[retention]\nclient_months = 48\n' >"$RISERVA_CONFIG"
	rv_centre
	client add --name Months --surname Retention --email last@example.com \
		--phone 3330002222 >/dev/null
	consent grant 3 health >/dev/null
	printf 'lattice\n' | client health 3 --set 2>/dev/null
	# The audit row of deleted health data names a client still there.
	run --separate-stderr gdpr-purge --now '2029-01-01 00:00'
	assert_success
	[ "$(rv_sql 'SELECT count(*) FROM client_health')" = 0 ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'health.purge' AND client_id = 3")" = 1 ]
}

@test "clients past retention.client_months are erased, as of --now" {
	three_clients
	# 24 months after Anna's appointment and Luca's arrival, before Mario's.
	run --separate-stderr gdpr-purge --now '2028-12-05 00:00'
	assert_success
	run summary clients '[v["count"], v["cutoff"], v["complete"]]'
	assert_output '[2, "2026-12-05T00:00:00+01:00", true]'
	run rv_sql "SELECT id FROM client"
	assert_output 1
	run rv_sql "SELECT id, quote(client_id) FROM appointment ORDER BY id"
	assert_output "1|NULL
2|1"
	# Each erasure on the trail, with the term as its reason.
	run rv_sql "SELECT client_id, reason FROM audit WHERE action =
	    'client.erase' ORDER BY id"
	assert_output "2|retention: 24 months after the last appointment (retention.client_months)
3|retention: 24 months after the last appointment (retention.client_months)"
	# And in the journal, database and file.
	[ "$(rv_sql 'SELECT group_concat(client_id) FROM erasure')" = 2,3 ]
	[ "$(grep -c '"type":"erasure"' "$BATS_TEST_TMPDIR/erasures.jsonl")" = 2 ]
}

@test "without --now, the present: nobody's term has run" {
	three_clients
	run gdpr-purge
	assert_success
	run summary clients 'v["count"]'
	assert_output 0
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 3 ]
	# The term is the config's.
	printf '[retention]\nclient_months = 1\n' >"$RISERVA_CONFIG"
	run gdpr-purge --now '2027-01-02 00:00'
	run summary clients '[v["count"], v["value"]]'
	assert_output '[2, 1]'
}

@test "never a client with a booking ahead, an open request, or under restriction" {
	three_clients
	# Anna books again, after --now; Luca asks for his data; Mario's
	# processing is restricted.
	RISERVA_NOW=2028-12-01T08:00:00+01:00 book add --client 2 \
		--service Viso --staff giulia@example.com --at '2029-01-10 10:00' \
		>/dev/null
	gdpr-request open 3 --kind access >/dev/null
	client restrict 1 --reason 'art. 18(1)(c)' >/dev/null
	run gdpr-purge --now '2029-01-01 00:00'
	assert_success
	run summary clients '[v["count"], v["skipped"]]'
	assert_output '[0, {"restricted": 1, "open_request": 1}]'
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 3 ]
	# Once the request is answered, Luca's term applies again.
	gdpr-request close 1 --outcome done >/dev/null
	run gdpr-purge --now '2029-01-01 00:00'
	run summary clients '[v["count"], v["skipped"]]'
	assert_output '[1, {"restricted": 1, "open_request": 0}]'
	[ "$(rv_sql 'SELECT group_concat(id) FROM (SELECT id FROM client ORDER BY id)')" = 1,2 ]
}

@test "health data past retention.health_months is deleted; the client stays" {
	printf '[retention]\nclient_months = 48\n' >"$RISERVA_CONFIG"
	three_clients
	consent grant 1 health >/dev/null
	consent grant 2 health >/dev/null
	printf 'Mario: lattice\n' | client health 1 --set 2>/dev/null
	# Anna's notes were updated long after her visit: that counts.
	printf 'Anna: arachidi\n' | RISERVA_NOW=2028-06-01T08:00:00+01:00 \
		client health 2 --set
	run gdpr-purge --now '2029-01-01 00:00'
	assert_success
	run summary health '[v["count"], v["cutoff"]]'
	assert_output '[1, "2027-01-01T00:00:00+01:00"]'
	run rv_sql "SELECT client_id FROM client_health"
	assert_output 2
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 3 ]
	run rv_sql "SELECT client_id, reason FROM audit WHERE action =
	    'health.purge'"
	assert_output "1|retention: 24 months after the last appointment (retention.health_months)"
}

@test "fiscal records go when their hold has ended on the machine's clock" {
	rv_centre
	RISERVA_NOW=2026-11-23T08:00:00+01:00 book add --client 1 \
		--service Viso --at '2026-11-23 10:00' >/dev/null
	book done 1 --paid 30 --method cash >/dev/null
	# Issued in 2000, held until the start of 2011.
	rv_sql "INSERT INTO fiscal (year, seq, number, issued, name, surname,
	    service, service_date, amount, method, actor, hold_until)
	    VALUES (2000, 1, '2000/000001', 946728000, 'Pia', 'Neri', 'Viso',
	    946728000, 3000, 'cash', 'tester', 1293836400)"
	run gdpr-purge
	assert_success
	run summary fiscal '[v["count"], v["skipped"]]'
	assert_output '[1, {"restricted_or_open_request": 0, "held_by_machine_clock": 0}]'
	run rv_sql "SELECT number FROM fiscal"
	assert_output 2026/000001
	run rv_sql "SELECT ref FROM audit WHERE action = 'fiscal.expire'"
	assert_output "fiscal 2000/000001"
	# --now past 2037 cannot lift a hold the machine still sees.
	run gdpr-purge --now '2040-01-01 00:00'
	assert_success
	run summary fiscal '[v["count"], v["skipped"]]'
	assert_output '[0, {"restricted_or_open_request": 0, "held_by_machine_clock": 1}]'
	[ "$(rv_sql 'SELECT count(*) FROM fiscal')" = 1 ]
}

@test "what a notice said goes retention.message_days after it was sent" {
	rv_centre
	printf '[mail]\ntransport = stdout\nfrom = Centro <c@example.com>\n' \
		>"$RISERVA_CONFIG"
	gdpr-breach open --detected '2026-11-29 10:00' \
		--description 'Laptop stolen' >/dev/null
	gdpr-breach update 1 --consequences 'Emails may be read' \
		--measures 'Disk encrypted' >/dev/null
	gdpr-breach link 1 1 2 >/dev/null 2>&1
	gdpr-breach notify-subjects 1 >/dev/null 2>&1
	notify send >/dev/null
	client restrict 2 --reason 'art. 18(1)(c)' >/dev/null
	run gdpr-purge --now '2027-02-27 08:00'
	run summary messages '[v["count"], v["cutoff"]]'
	assert_output '[0, "2026-11-29T08:00:00+01:00"]'
	run gdpr-purge --now '2027-03-01 08:00'
	assert_success
	run summary messages '[v["count"], v["skipped"]]'
	assert_output '[1, {"restricted_or_open_request": 1}]'
	run rv_sql "SELECT client_id, status, quote(data), recipient FROM message
	    ORDER BY id"
	assert_output "1|sent|NULL|mario@example.com
2|sent|'{\"consequences\":\"Emails may be read\",\"measures\":\"Disk encrypted\",\"nature\":\"Laptop stolen\"}'|anna@example.com"
	run rv_sql "SELECT client_id, ref, fields, reason FROM audit
	    WHERE action = 'message.purge'"
	assert_output "1|message 1|data|retention: 90 days after sending (retention.message_days)"
}

@test "a dry run reports the same and changes nothing" {
	three_clients
	consent grant 2 reminders >/dev/null
	rv_sql .dump >"$BATS_TEST_TMPDIR/before"
	run --separate-stderr gdpr-purge --dry-run --now '2028-12-05 00:00'
	assert_success
	dry=$output
	rv_sql .dump >"$BATS_TEST_TMPDIR/after"
	cmp "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
	[ ! -e "$BATS_TEST_TMPDIR/erasures.jsonl" ]
	run summary clients '[v["count"], v["details"]["appointment"], v["details"]["consent"], v["dry_run"]]'
	assert_output '[2, 1, 1, true]'
	run gdpr-purge --now '2028-12-05 00:00'
	dry=${dry//\"dry_run\":true/\"dry_run\":false}
	# The audit purge's anchor gets its id only when it is written.
	[ "${dry/\"anchor\":null/\"anchor\":1}" = "$output" ]
}

@test "idempotent, in batches of any size" {
	three_clients
	client add --name Pia --surname Neri --email pia@example.com \
		--phone 3339998888 >/dev/null
	run gdpr-purge --now '2028-12-05 00:00' --batch 1
	assert_success
	run summary clients 'v["count"]'
	assert_output 3
	[ "$(rv_sql 'SELECT count(*) FROM erasure')" = 3 ]
	run gdpr-purge --now '2028-12-05 00:00'
	assert_success
	run summary clients 'v["count"]'
	assert_output 0
	run gdpr-purge --now '2028-12-05 00:00'
	run summary health 'v["count"]'
	assert_output 0
	run gdpr-purge --batch 0
	assert_failure 64
}

@test "a busy database: 75, and nothing half done" {
	three_clients
	mkfifo "$BATS_TEST_TMPDIR/lock"
	sqlite3 "$RISERVA_DB" <"$BATS_TEST_TMPDIR/lock" >/dev/null 2>&1 &
	LOCK_PID=$!
	exec 9>"$BATS_TEST_TMPDIR/lock"
	echo "BEGIN IMMEDIATE; INSERT INTO meta VALUES ('lock', 1);" >&9
	sleep 0.3
	RISERVA_DB_BUSY_TIMEOUT=200 run --separate-stderr gdpr-purge \
		--now '2028-12-05 00:00'
	assert_failure 75
	[ "$stderr" = "gdpr-purge: the database is busy (another riserva is writing); try again; what was done is kept: run gdpr-purge again to go on" ]
	run summary clients '[v["count"], v["complete"]]'
	assert_output '[0, false]'
	echo "ROLLBACK;" >&9
	sleep 0.2
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 3 ]
	run gdpr-purge --now '2028-12-05 00:00'
	assert_success
	run summary clients 'v["count"]'
	assert_output 2
}

@test "audit entries past retention.audit_months go, behind an anchor" {
	rv_centre
	n=$(rv_sql 'SELECT count(*) FROM audit')
	[ "$n" -gt 5 ]
	run gdpr-purge --now '2027-11-30 00:00'
	assert_success
	run summary audit '[v["count"], v["cutoff"]]'
	assert_output '[0, "2026-11-30T00:00:00+01:00"]'
	run gdpr-purge --now '2027-12-01 00:00' --dry-run
	run summary audit '[v["count"], v["anchor"], v["status"]]'
	assert_output "[$n, null, \"done\"]"
	[ "$(rv_sql 'SELECT count(*) FROM audit_anchor')" = 0 ]
	run gdpr-purge --now '2027-12-01 00:00'
	run summary audit '[v["count"], v["anchor"]]'
	assert_output "[$n, 1]"
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE at < $(date -d 2027-01-01 +%s)")" = 0 ]
	run rv_sql "SELECT action, reason FROM audit WHERE action = 'audit.purge'"
	assert_output "audit.purge|retention: 12 months (retention.audit_months)"
	# The chain still verifies from its anchor.
	run audit verify
	assert_success
}

@test "a broken audit trail is never purged: exit 1, the evidence kept" {
	rv_centre
	rv_sql "UPDATE audit SET fields = 'tampered' WHERE id = 2"
	run --separate-stderr gdpr-purge --now '2027-12-01 00:00'
	assert_failure 1
	run summary audit '[v["status"], v["complete"]]'
	assert_output '["refused", false]'
	[ "$(rv_sql 'SELECT count(*) FROM audit_anchor')" = 0 ]
	[[ $stderr == "gdpr-purge: the audit trail is broken at row 2 "* ]]
}

@test "one summary per category, and a progress line on a terminal" {
	three_clients
	run gdpr-purge --dry-run --now '2028-12-05 00:00'
	assert_success
	ids=$(printf '%s\n' "$output" | python3 -c '
import json, sys
print(" ".join(json.loads(l)["type"] + ":" + json.loads(l)["id"] for l in sys.stdin))')
	[ "$ids" = "purge:clients purge:health purge:fiscal purge:messages purge:audit" ]
	run script -qec "gdpr-purge --dry-run --now '2028-12-05 00:00' -j \
		>/dev/null" /dev/null
	assert_success
	assert_output --partial "erasing clients: 2/2 (100%)"
}

@test "help and usage" {
	run gdpr-purge --help
	assert_success
	assert_line --index 0 "usage: gdpr-purge [--dry-run] [--now T] [--batch N]"
	run gdpr-purge extra
	assert_failure 64
	run gdpr-purge --now yesterday
	assert_failure 65
}
