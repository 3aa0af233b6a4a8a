#!/usr/bin/env bats
# client restrict / unrestrict (GDPR art. 18): kept, not processed, audited.

load helper

@test "client restrict sets the flag, when and why, and audits it" {
	rv_centre
	RISERVA_NOW=2026-11-30T09:15:00+01:00 run client restrict mario@example.com \
		--reason "contests the accuracy of the phone number"
	assert_success
	assert_output '{"type":"client","id":1,"name":"Mario","surname":"Rossi","email":"mario@example.com","phone":"+393331112222","birth":null,"locale":"it","restricted":true,"created":"2026-11-30T08:00:00+01:00","notes":null,"updated":"2026-11-30T09:15:00+01:00","restricted_at":"2026-11-30T09:15:00+01:00","restricted_reason":"contests the accuracy of the phone number"}'
	run rv_sql "SELECT action, client_id, ref, fields, reason FROM audit WHERE action LIKE 'client.%restrict'"
	assert_output "client.restrict|1|client 1|restricted,restricted_at,restricted_reason|contests the accuracy of the phone number"
	run client list --restricted
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["id"]')" = 1 ]
}

@test "client unrestrict lifts it and clears when and why" {
	rv_centre
	client restrict 1 --reason "objection pending" >/dev/null
	run client unrestrict 1 --reason "objection decided"
	assert_success
	[ "$(rv_json '["restricted"]')" = false ]
	[ "$(rv_json '["restricted_at"]')" = null ]
	[ "$(rv_json '["restricted_reason"]')" = null ]
	run rv_sql "SELECT action, reason FROM audit WHERE action LIKE 'client.%restrict' ORDER BY id"
	assert_output "client.restrict|objection pending
client.unrestrict|objection decided"
	run client list --restricted
	assert_output ''
}

@test "restrict needs a reason; twice, or lifting what is not there, is refused" {
	rv_centre
	run client restrict 1
	assert_failure 64
	assert_output "client: restrict needs --reason: the grounds of art. 18(1) that apply"
	run client restrict 1 --reason ''
	assert_failure 65
	run client unrestrict 1
	assert_failure 1
	assert_output "client: client 1 is not restricted"
	client restrict 1 --reason "unlawful processing claimed" >/dev/null
	run client restrict 1 --reason again
	assert_failure 1
	assert_output "client: client 1 is already restricted"
	run client restrict nobody@example.com --reason x
	assert_failure 66
	run client restrict 1 2 --reason x
	assert_failure 64
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action LIKE 'client.%restrict'")" = 1 ]
	[ "$(rv_sql "SELECT restricted_reason FROM client WHERE id = 1")" = "unlawful processing claimed" ]
}

@test "a restricted client cannot be booked, moved or processed (77)" {
	rv_centre
	book add --client 1 --service Viso --staff giulia@example.com --at '2026-11-30 09:00' >/dev/null
	book add --client 1 --service Viso --staff giulia@example.com --at '2026-12-01 09:00' >/dev/null
	client restrict 1 --reason "contests accuracy" >/dev/null
	run book add --client mario@example.com --service Viso --at '2026-12-02 10:00'
	assert_failure 77
	assert_output "book: client 1 is restricted (GDPR art. 18): no bookings until the restriction is lifted"
	run book move 2 --at '2026-12-02 10:00'
	assert_failure 77
	assert_output "book: client 1 is restricted (GDPR art. 18): no bookings until the restriction is lifted"
	RISERVA_NOW=2026-11-30T10:00:00+01:00 run book done 1 --paid 30 --method cash
	assert_failure 77
	assert_output "book: client 1 is restricted (GDPR art. 18): their data cannot be processed until the restriction is lifted"
	[ "$(rv_sql 'SELECT count(*) FROM appointment')" = 2 ]
	[ "$(rv_sql "SELECT group_concat(status || ' ' || start) FROM appointment")" = "booked 1796025600,booked 1796112000" ]
	[ "$(rv_sql 'SELECT count(*) FROM fiscal')" = 0 ]
	# Another client is not affected.
	run book add --client anna@example.com --service Viso --at '2026-12-02 10:00'
	assert_success
	# Lifted: processing resumes.
	client unrestrict 1 >/dev/null
	run book add --client mario@example.com --service Viso --at '2026-12-02 11:00'
	assert_success
	RISERVA_NOW=2026-11-30T10:00:00+01:00 run book done 1 --paid 30 --method cash
	assert_success
}
