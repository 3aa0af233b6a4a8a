#!/usr/bin/env bats
# gdpr-request: the register of data-subject requests, deadlines at month
# ends and in leap years, extensions, closing, and the cron check.

load helper
bats_require_minimum_version 1.5.0

# The due date of a request received on $1, opened a little later.
due_of() {
	RISERVA_NOW=$1T12:00:00+01:00 gdpr-request open 1 \
		--kind access --received "$1" | sed 's/.*"due":"\([^"]*\)".*/\1/'
}

# The due date after extending request $1 at time $2.
extended_due() {
	RISERVA_NOW=$2 gdpr-request extend "$1" --reason "complex request" |
		sed 's/.*"due":"\([^"]*\)".*/\1/'
}

@test "gdpr-request open prints the request with its deadline" {
	rv_centre
	run gdpr-request open mario@example.com --kind access --channel email \
		--notes "asked for a copy of everything"
	assert_success
	assert_output '{"type":"request","id":1,"client_id":1,"client_name":"Mario Rossi","kind":"access","received":"2026-11-30","due":"2026-12-30","status":"open","days_left":30,"channel":"email","notes":"asked for a copy of everything","extended":null,"extend_reason":null,"closed":null,"outcome":null,"close_reason":null,"on_time":null,"actor":"tester","created":"2026-11-30T08:00:00+01:00","updated":"2026-11-30T08:00:00+01:00"}'
	run rv_sql "SELECT action, client_id, ref, fields FROM audit WHERE action LIKE 'request.%'"
	assert_output "request.open|1|request 1|kind,received,due,channel,notes"
}

@test "one calendar month: a day the month lacks becomes its last day" {
	rv_centre
	[ "$(due_of 2027-01-31)" = 2027-02-28 ]
	[ "$(due_of 2028-01-31)" = 2028-02-29 ]
	[ "$(due_of 2028-01-29)" = 2028-02-29 ]
	[ "$(due_of 2028-01-28)" = 2028-02-28 ]
	[ "$(due_of 2027-03-31)" = 2027-04-30 ]
	[ "$(due_of 2027-02-28)" = 2027-03-28 ]
	[ "$(due_of 2028-02-29)" = 2028-03-29 ]
	[ "$(due_of 2027-06-15)" = 2027-07-15 ]
	[ "$(due_of 2027-12-31)" = 2028-01-31 ]
	[ "$(due_of 2027-11-30)" = 2027-12-30 ]
	[ "$(due_of 2100-01-31)" = 2100-02-28 ]
}

@test "an extension adds two months to the deadline, once" {
	rv_centre
	due_of 2027-01-31 >/dev/null
	due_of 2027-11-30 >/dev/null
	due_of 2028-12-31 >/dev/null
	[ "$(extended_due 1 2027-02-10T10:00:00+01:00)" = 2027-04-28 ]
	[ "$(extended_due 2 2027-12-01T10:00:00+01:00)" = 2028-02-29 ]
	# On the last day of the first month it is still in time.
	[ "$(extended_due 3 2029-01-31T23:00:00+01:00)" = 2029-03-31 ]
	RISERVA_NOW=2027-02-11T10:00:00+01:00 run gdpr-request extend 1 --reason again
	assert_failure 1
	assert_output "gdpr-request: request 1 was already extended: art. 12(3) allows it once"
	run rv_sql "SELECT reason, fields FROM audit WHERE action = 'request.extend' AND ref = 'request 1'"
	assert_output "complex request|due,extended,extend_reason"
	RISERVA_NOW=2027-02-11T10:00:00+01:00 run gdpr-request show 1
	[ "$(rv_json '["extend_reason"]')" = "complex request" ]
	[ "$(rv_json '["extended"]')" = 2027-02-10T10:00:00+01:00 ]
	[ "$(rv_json '["received"]')" = 2027-01-31 ]
}

@test "an extension comes within the first month, with reasons, before closing" {
	rv_centre
	due_of 2027-01-31 >/dev/null
	due_of 2027-01-31 >/dev/null
	RISERVA_NOW=2027-03-01T00:30:00+01:00 run gdpr-request extend 1 --reason late
	assert_failure 1
	assert_output "gdpr-request: request 1 was due 2027-02-28: an extension must be given within the first month (art. 12(3))"
	run gdpr-request extend 1
	assert_failure 64
	run gdpr-request extend 1 --reason ''
	assert_failure 65
	RISERVA_NOW=2027-02-01T10:00:00+01:00 gdpr-request close 2 --outcome done >/dev/null
	RISERVA_NOW=2027-02-02T10:00:00+01:00 run gdpr-request extend 2 --reason x
	assert_failure 1
	assert_output "gdpr-request: request 2 is closed (done on 2027-02-01)"
	run gdpr-request extend 7 --reason x
	assert_failure 66
	assert_output "gdpr-request: no such request 7"
	[ "$(rv_sql 'SELECT group_concat(due) FROM request')" = 2027-02-28,2027-02-28 ]
}

@test "close records the outcome; a refusal needs its reasons" {
	rv_centre
	gdpr-request open 1 --kind erasure >/dev/null
	gdpr-request open 2 --kind objection >/dev/null
	run gdpr-request close 1 --outcome refused
	assert_failure 64
	assert_output "gdpr-request: a refusal needs its reasons (art. 12(4)): give --reason"
	run gdpr-request close 1 --outcome maybe
	assert_failure 64
	assert_output "gdpr-request: bad outcome 'maybe': done or refused"
	run gdpr-request close 1
	assert_failure 64
	RISERVA_NOW=2026-12-30T23:00:00+01:00 run gdpr-request close 1 --outcome refused \
		--reason "fiscal records must be kept (art. 17(3)(b))"
	assert_success
	[ "$(rv_json '["status"]')" = closed ]
	[ "$(rv_json '["outcome"]')" = refused ]
	[ "$(rv_json '["on_time"]')" = true ]
	[ "$(rv_json '["days_left"]')" = null ]
	RISERVA_NOW=2026-12-31T09:00:00+01:00 run gdpr-request close 2 --outcome done
	assert_success
	[ "$(rv_json '["on_time"]')" = false ]
	[ "$(rv_json '["close_reason"]')" = null ]
	run gdpr-request close 2 --outcome done
	assert_failure 1
	assert_output "gdpr-request: request 2 is closed (done on 2026-12-31)"
	run rv_sql "SELECT client_id, fields, reason FROM audit WHERE action = 'request.close' ORDER BY id"
	assert_output "1|closed,outcome,close_reason|fiscal records must be kept (art. 17(3)(b))
2|closed,outcome|"
}

@test "open refuses bad kinds, unknown clients and future dates" {
	rv_centre
	run gdpr-request open 1 --kind gossip
	assert_failure 64
	assert_output "gdpr-request: bad kind 'gossip': access, rectification, erasure, restriction, portability, objection or withdrawal"
	run gdpr-request open 1
	assert_failure 64
	run gdpr-request open nobody@example.com --kind access
	assert_failure 66
	assert_output "gdpr-request: no such client 'nobody@example.com'"
	run gdpr-request open 1 --kind access --received 2026-12-01
	assert_failure 65
	assert_output "gdpr-request: received 2026-12-01 is after today (2026-11-30)"
	run gdpr-request open 1 --kind access --received 2026-02-29
	assert_failure 65
	assert_output "gdpr-request: bad date '2026-02-29': write it as YYYY-MM-DD"
	run gdpr-request open 1 --kind access --channel "$(printf 'a\nb')"
	assert_failure 65
	[ "$(rv_sql 'SELECT count(*) FROM request')" = 0 ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action LIKE 'request.%'")" = 0 ]
}

@test "list filters by state, deadline, client and kind as of --now" {
	rv_centre
	RISERVA_NOW=2027-01-05T10:00:00+01:00 gdpr-request open 1 --kind access --received 2027-01-02 >/dev/null
	RISERVA_NOW=2027-01-20T10:00:00+01:00 gdpr-request open 2 --kind erasure >/dev/null
	RISERVA_NOW=2027-01-25T10:00:00+01:00 gdpr-request open 1 --kind portability >/dev/null
	RISERVA_NOW=2027-01-26T10:00:00+01:00 gdpr-request close 3 --outcome done >/dev/null
	ids() { sed 's/^{"type":"request","id":\([0-9]*\),.*/\1/' | tr '\n' ' '; }
	[ "$(gdpr-request list | ids)" = "1 2 3 " ]
	[ "$(gdpr-request list --open | ids)" = "1 2 " ]
	[ "$(gdpr-request list --overdue --now 2027-02-02T12:00:00+01:00 | ids)" = "" ]
	[ "$(gdpr-request list --overdue --now 2027-02-03T00:00:00+01:00 | ids)" = "1 " ]
	[ "$(gdpr-request list --due-within 18 --now 2027-02-01T12:00:00+01:00 | ids)" = "1 " ]
	[ "$(gdpr-request list --due-within 19 --now 2027-02-01T12:00:00+01:00 | ids)" = "1 2 " ]
	[ "$(gdpr-request list --client 1 | ids)" = "1 3 " ]
	[ "$(gdpr-request list --kind erasure | ids)" = "2 " ]
	run gdpr-request list --now 2027-02-04T12:00:00+01:00 --format table
	assert_output "ID  CLIENT        KIND         RECEIVED    DUE         STATUS   LEFT  OUTCOME
 1  Mario Rossi   access       2027-01-02  2027-02-02  overdue    -2  
 2  Anna Bianchi  erasure      2027-01-20  2027-02-20  open       16  
 3  Mario Rossi   portability  2027-01-25  2027-02-25  closed         done"
	run gdpr-request list --due-within x
	assert_failure 64
}

@test "check is silent and 0 when nothing is near, 1 when something is late" {
	rv_centre
	RISERVA_NOW=2027-01-31T10:00:00+01:00 gdpr-request open 1 --kind access >/dev/null
	RISERVA_NOW=2027-02-10T10:00:00+01:00 gdpr-request open 2 --kind erasure >/dev/null
	export RISERVA_NOW=2027-02-15T10:00:00+01:00
	run --separate-stderr gdpr-request check
	assert_success
	assert_output ''
	[ "$stderr" = '' ]
	run --separate-stderr gdpr-request check --now 2027-02-21T10:00:00+01:00
	assert_success
	[ "$(rv_json '["id"]')" = 1 ]
	[ "$(rv_json '["days_left"]')" = 7 ]
	[ "$stderr" = 'gdpr-request: 0 overdue, 1 due within 7 days' ]
	# A register of days takes a day for --now, as gdpr-purge does.
	run --separate-stderr gdpr-request check --now 2027-02-21
	assert_success
	[ "$(rv_json '["days_left"]')" = 7 ]
	run gdpr-request list --overdue --now 2027-03-01
	assert_success
	[ "$(rv_json '["id"]')" = 1 ]
	run gdpr-request show 2 --now 2027-03-01
	[ "$(rv_json '["days_left"]')" = 9 ]
	RISERVA_NOW=2027-03-01T08:00:00+01:00 run --separate-stderr gdpr-request check --due-within 10
	assert_failure 1
	[ "${#lines[@]}" -eq 2 ]
	[ "$(printf '%s\n' "${lines[0]}" | sed 's/.*"status":"\([a-z]*\)".*/\1/')" = overdue ]
	[ "$(rv_json '["due"]')" = 2027-03-10 ]
	[ "$stderr" = 'gdpr-request: 1 overdue, 1 due within 10 days' ]
	# Closing the late one lets cron rest.
	RISERVA_NOW=2027-03-01T09:00:00+01:00 gdpr-request close 1 --outcome done >/dev/null
	RISERVA_NOW=2027-03-01T09:00:00+01:00 run gdpr-request check --due-within 1
	assert_success
	assert_output ''
}

@test "a restricted client can still open a request" {
	rv_centre
	client restrict 1 --reason "contests the accuracy of the data" >/dev/null
	run gdpr-request open 1 --kind rectification
	assert_success
	[ "$(rv_json '["kind"]')" = rectification ]
}

@test "the register keeps a request after its client is erased" {
	rv_centre
	gdpr-request open 2 --kind erasure --notes "Anna, by phone" >/dev/null
	gdpr-request close 1 --outcome done >/dev/null
	# What erasure does to the register: unlink, drop the free text.
	rv_sql 'PRAGMA foreign_keys = ON; UPDATE request SET client_id = NULL, notes = NULL; DELETE FROM client WHERE id = 2'
	run gdpr-request show 1
	assert_success
	assert_output --partial '"client_id":null,"client_name":null,"kind":"erasure","received":"2026-11-30","due":"2026-12-30","status":"closed"'
	run gdpr-request list --format table
	assert_line --index 1 ' 1          erasure  2026-11-30  2026-12-30  closed        done'
}

@test "gdpr-request: help, unknown verbs and ids" {
	run gdpr-request --help
	assert_success
	assert_line --index 0 "usage: gdpr-request open C --kind K [--received DATE] [--channel T]"
	run gdpr-request frobnicate
	assert_failure 64
	assert_line --index 0 "gdpr-request: unknown verb 'frobnicate'"
	run gdpr-request show x
	assert_failure 64
	run gdpr-request show 3
	assert_failure 66
	run gdpr-request
	assert_failure 64
}
