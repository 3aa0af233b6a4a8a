#!/usr/bin/env bats
# book: every refusal with its exit code, buffers, hours, leave, blocks,
# moves and cancellations, listing and free slots.

load helper

setup() {
	rv_setup
	rv_centre
}

# book add for the fixture: CLIENT SERVICE STAFF AT
add() {
	book add --client "$1" --service "$2" --staff "$3" --at "$4"
}

@test "book add prints the appointment" {
	run add mario@example.com Massaggio giulia@example.com '2026-12-01 10:00'
	assert_success
	assert_output '{"type":"appointment","id":1,"client_id":1,"staff_id":1,"service_id":1,"start":"2026-12-01T10:00:00+01:00","end":"2026-12-01T11:00:00+01:00","status":"booked","version":1,"buffer":15,"client_name":"Mario Rossi","staff_name":"Giulia","service_name":"Massaggio","notes":null,"created":"2026-11-30T08:00:00+01:00","updated":"2026-11-30T08:00:00+01:00","cancelled":null,"cancel_reason":null}'
	run rv_sql "SELECT action, client_id, ref, fields FROM audit WHERE action LIKE 'appointment.%'"
	assert_output "appointment.add|1|appointment 1|client_id,staff_id,service_id,start,end"
}

@test "book add accepts RFC 3339 with any offset" {
	run add mario@example.com Viso giulia@example.com 2026-12-01T09:30:00Z
	assert_success
	[ "$(rv_json '["start"]')" = 2026-12-01T10:30:00+01:00 ]
}

@test "an overlapping appointment of the same operator is refused with 1" {
	add mario@example.com Massaggio giulia@example.com '2026-12-01 10:00'
	run add anna@example.com Viso giulia@example.com '2026-12-01 10:30'
	assert_failure 1
	assert_output "book: slot taken: overlaps appointment 1 (2026-12-01 10:00-11:00)"
	# another operator is free then
	run add anna@example.com Massaggio marco@example.com '2026-12-01 10:30'
	assert_success
	[ "$(rv_sql 'SELECT count(*) FROM appointment')" = 2 ]
}

@test "the buffer keeps the next start away, both ways" {
	add mario@example.com Massaggio giulia@example.com '2026-12-01 10:00'
	# after: 11:00 is inside the 15 minutes of cleanup, 11:15 is not
	run add anna@example.com Viso giulia@example.com '2026-12-01 11:00'
	assert_failure 1
	assert_output "book: slot taken: inside the 15 min buffer after appointment 1 (2026-12-01 10:00-11:00)"
	run add anna@example.com Viso giulia@example.com '2026-12-01 11:10'
	assert_failure 1
	run add anna@example.com Viso giulia@example.com '2026-12-01 11:15'
	assert_success
	# before: a Massaggio ending 09:45 needs its buffer until 10:00, exactly
	# when appointment 1 starts; ending 09:50 would run its buffer into it
	run add anna@example.com Massaggio giulia@example.com '2026-12-01 08:50'
	assert_failure 1
	run add anna@example.com Massaggio giulia@example.com '2026-12-01 09:00'
	assert_failure 1
	assert_output "book: slot taken: this service's 15 min buffer runs into appointment 1 (2026-12-01 10:00-11:00)"
	run book add --client anna@example.com --service Viso --staff giulia@example.com --at '2026-12-01 09:30'
	assert_success
}

@test "hours: an appointment must fit within one range of the day" {
	run add mario@example.com Viso giulia@example.com '2026-12-01 09:00'
	assert_success
	run add mario@example.com Viso giulia@example.com '2026-12-01 12:30'
	assert_success
	run add anna@example.com Viso giulia@example.com '2026-12-01 12:45'
	assert_failure 1
	assert_output "book: giulia@example.com does not work 2026-12-01 12:45-13:15 (hours on tue: 09:00-13:00 14:00-18:00)"
	run add anna@example.com Viso giulia@example.com '2026-12-01 08:59'
	assert_failure 1
	run add anna@example.com Viso giulia@example.com '2026-12-01 13:00'
	assert_failure 1
	run add anna@example.com Viso giulia@example.com '2026-12-01 17:30'
	assert_success
	run add anna@example.com Viso giulia@example.com '2026-12-05 10:00'
	assert_failure 1
	assert_output "book: giulia@example.com does not work 2026-12-05 10:00-10:30 (hours on sat: off)"
}

@test "leave: whole days, --to included, and a warning for what it covers" {
	add mario@example.com Viso giulia@example.com '2026-12-03 10:00' >/dev/null
	run staff off giulia@example.com --from 2026-12-02 --to 2026-12-03 --reason holiday
	assert_success
	assert_line --index 0 "staff: appointment 1 at 2026-12-03 10:00 falls in this leave: move or cancel it"
	assert_line --index 1 '{"type":"leave","id":1,"staff_id":1,"start":"2026-12-02T00:00:00+01:00","end":"2026-12-04T00:00:00+01:00","reason":"holiday"}'
	run add anna@example.com Viso giulia@example.com '2026-12-01 17:30'
	assert_success
	run add anna@example.com Viso giulia@example.com '2026-12-02 09:00'
	assert_failure 1
	assert_output "book: giulia@example.com is on leave 2026-12-02 to 2026-12-03 (holiday) (leave 1)"
	run add anna@example.com Viso giulia@example.com '2026-12-03 17:30'
	assert_failure 1
	run add anna@example.com Viso giulia@example.com '2026-12-04 09:00'
	assert_success
	run staff unoff 1
	assert_success
	run add anna@example.com Viso giulia@example.com '2026-12-02 09:00'
	assert_success
}

@test "a busy block refuses what overlaps it, buffer included" {
	run book block --staff giulia@example.com --from '2026-12-01 10:00' --to '2026-12-01 11:00' --title Dentist
	assert_success
	assert_output '{"type":"event","id":1,"staff_id":1,"start":"2026-12-01T10:00:00+01:00","end":"2026-12-01T11:00:00+01:00","source":"manual","title":"Dentist","busy":true,"appointment_id":null,"created":"2026-11-30T08:00:00+01:00"}'
	run add mario@example.com Viso giulia@example.com '2026-12-01 10:30'
	assert_failure 1
	assert_output "book: slot taken: overlaps busy block 1 'Dentist' (2026-12-01 10:00-11:00)"
	run add mario@example.com Massaggio giulia@example.com '2026-12-01 09:00'
	assert_failure 1
	run add mario@example.com Viso giulia@example.com '2026-12-01 09:30'
	assert_success
	run book blocks --staff giulia@example.com
	assert_line --index 0 --partial '"id":1,'
	run book unblock 1
	assert_success
	run book unblock 1
	assert_failure 66
	run add anna@example.com Viso giulia@example.com '2026-12-01 10:30'
	assert_success
}

@test "a block imported from Google cannot be removed with unblock" {
	rv_sql "INSERT INTO event (staff_id, start, end, source, busy, created, updated) VALUES (1, 1796112000, 1796115600, 'google', 1, 0, 0)"
	run book unblock 1
	assert_failure 1
	assert_output "book: block 1 comes from Google Calendar: change it there"
	run add mario@example.com Viso giulia@example.com '2026-12-01 09:00'
	assert_failure 1
	assert_output --partial "overlaps Google Calendar block 1"
}

@test "without --staff the first free qualified operator is chosen" {
	run book add --client mario@example.com --service Massaggio --at '2026-12-01 10:00'
	assert_success
	[ "$(rv_json '["staff_id"]')" = 1 ]
	run book add --client anna@example.com --service Massaggio --at '2026-12-01 10:00'
	assert_success
	[ "$(rv_json '["staff_id"]')" = 2 ]
	run book add --client anna@example.com --service Massaggio --at '2026-12-01 10:30'
	assert_failure 1
	assert_output "book: none of the 2 staff members performing 'Massaggio' is free at 2026-12-01 10:30"
	# one candidate only: its own reason
	run book add --client anna@example.com --service Viso --at '2026-12-01 10:30'
	assert_failure 1
	assert_output "book: slot taken: overlaps appointment 1 (2026-12-01 10:00-11:00)"
}

@test "an operator who does not perform the service is refused with 1" {
	run add mario@example.com Viso marco@example.com '2026-12-01 10:00'
	assert_failure 1
	assert_output "book: marco@example.com does not perform 'Viso'"
	staff edit marco@example.com --inactive >/dev/null
	run add mario@example.com Massaggio marco@example.com '2026-12-01 10:00'
	assert_failure 1
	assert_output "book: marco@example.com is not active"
}

@test "past times are 65, unknown records 66, a restricted client 77" {
	run add mario@example.com Viso giulia@example.com '2026-11-27 10:00'
	assert_failure 65
	assert_output "book: 2026-11-27 10:00 is in the past"
	run add nobody@example.com Viso giulia@example.com '2026-12-01 10:00'
	assert_failure 66
	assert_output "book: no such client 'nobody@example.com'"
	run add mario@example.com Pedicure giulia@example.com '2026-12-01 10:00'
	assert_failure 66
	assert_output "book: no such service 'Pedicure'"
	run add mario@example.com Viso nobody@example.com '2026-12-01 10:00'
	assert_failure 66
	rv_sql "UPDATE client SET restricted = 1 WHERE id = 1"
	run add mario@example.com Viso giulia@example.com '2026-12-01 10:00'
	assert_failure 77
	assert_output "book: client 1 is restricted (GDPR art. 18): no bookings until the restriction is lifted"
	run add mario@example.com Viso giulia@example.com 'tomorrow at ten'
	assert_failure 65
	[ "$(rv_sql 'SELECT count(*) FROM appointment')" = 0 ]
}

@test "a retired service takes no new bookings but keeps its history" {
	add mario@example.com Viso giulia@example.com '2026-12-01 10:00' >/dev/null
	catalog retire Viso >/dev/null
	run add anna@example.com Viso giulia@example.com '2026-12-01 11:00'
	assert_failure 1
	assert_output "book: service 'Viso' is retired: it takes no new bookings"
	run book show 1
	assert_success
	[ "$(rv_json '["service_name"]')" = Viso ]
}

@test "usage errors are 64" {
	run book add --client mario@example.com --service Viso
	assert_failure 64
	run book add --client mario@example.com --service Viso --at '2026-12-01 10:00' extra
	assert_failure 64
	run book move
	assert_failure 64
	run book move abc --at '2026-12-01 10:00'
	assert_failure 64
	assert_output "book: bad appointment id 'abc'"
	run book list --status maybe
	assert_failure 64
	run book list --date 2026-12-01 --from 2026-12-01
	assert_failure 64
	run book slots --service Viso
	assert_failure 64
	run book slots --service Viso --date 2026-12-01 --days 0
	assert_failure 64
}

@test "book move checks again, ignoring itself, and raises the version" {
	add mario@example.com Massaggio giulia@example.com '2026-12-01 10:00' >/dev/null
	add anna@example.com Viso giulia@example.com '2026-12-01 12:00' >/dev/null
	run book move 1 --at '2026-12-01 10:30'
	assert_success
	[ "$(rv_json '["start"]')" = 2026-12-01T10:30:00+01:00 ]
	[ "$(rv_json '["version"]')" = 2 ]
	run book move 1 --at '2026-12-01 11:00'
	assert_failure 1
	assert_output "book: slot taken: this service's 15 min buffer runs into appointment 2 (2026-12-01 12:00-12:30)"
	run book move 1 --at '2026-12-01 10:00' --staff marco@example.com
	assert_success
	[ "$(rv_json '["staff_id"]')" = 2 ]
	[ "$(rv_json '["version"]')" = 3 ]
	run book move 2 --at '2026-12-01 12:00' --staff marco@example.com
	assert_failure 1
	assert_output "book: marco@example.com does not perform 'Viso'"
	run book move 2 --at '2026-11-01 12:00'
	assert_failure 65
	run book move 99 --at '2026-12-01 12:00'
	assert_failure 66
	run rv_sql "SELECT fields FROM audit WHERE action = 'appointment.move' ORDER BY id"
	assert_output "start,end
start,end,staff_id"
}

@test "book move to where it already is changes nothing and tells no one" {
	consent grant mario@example.com reminders --method paper >/dev/null
	add mario@example.com Massaggio giulia@example.com '2026-12-01 10:00' >/dev/null
	run book move 1 --at 2026-12-01T09:00:00Z
	assert_success
	assert_line --index 0 "book: appointment 1: nothing changed"
	[ "$(rv_json '["version"]')" = 1 ]
	[ "$(rv_sql "SELECT group_concat(kind) FROM message")" = confirmation ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'appointment.move'")" = 0 ]
	# Another operator at the same time moves the staff alone, and back.
	run book move 1 --at '2026-12-01 10:00' --staff marco@example.com
	assert_success
	run book move 1 --at '2026-12-01 11:00'
	assert_success
	[ "$(rv_json '["version"]')" = 3 ]
	run rv_sql "SELECT fields FROM audit WHERE action = 'appointment.move' ORDER BY id"
	assert_output "staff_id
start,end"
}

@test "book cancel keeps the row, frees the slot and cannot be repeated" {
	add mario@example.com Massaggio giulia@example.com '2026-12-01 10:00' >/dev/null
	run book cancel 1 --reason "client called"
	assert_success
	[ "$(rv_json '["status"]')" = cancelled ]
	[ "$(rv_json '["version"]')" = 2 ]
	[ "$(rv_json '["cancel_reason"]')" = "client called" ]
	[ "$(rv_json '["cancelled"]')" = 2026-11-30T08:00:00+01:00 ]
	run book cancel 1
	assert_failure 1
	assert_output "book: appointment 1 is already cancelled"
	run book move 1 --at '2026-12-01 11:00'
	assert_failure 1
	assert_output "book: appointment 1 is cancelled: it cannot be moved"
	run add anna@example.com Massaggio giulia@example.com '2026-12-01 10:00'
	assert_success
	run book cancel 7
	assert_failure 66
	run rv_sql "SELECT fields, reason FROM audit WHERE action = 'appointment.cancel'"
	assert_output "status,cancel_reason|client called"
}

@test "book list filters and streams in order of start" {
	add anna@example.com Viso giulia@example.com '2026-12-02 10:00' >/dev/null
	add mario@example.com Massaggio marco@example.com '2026-12-01 15:00' >/dev/null
	add mario@example.com Viso giulia@example.com '2026-12-01 09:00' >/dev/null
	book cancel 3 >/dev/null
	run book list
	assert_success
	[ "$(printf '%s\n' "$output" | python3 -c 'import sys,json; print(" ".join(str(json.loads(l)["id"]) for l in sys.stdin))')" = "3 2 1" ]
	run book list --client mario@example.com --status booked
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["id"]')" = 2 ]
	run book list --staff giulia@example.com --date 2026-12-02
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["id"]')" = 1 ]
	run book list --from 2026-12-01 --to 2026-12-01
	[ "${#lines[@]}" -eq 2 ]
	run book list --before '2026-12-01 15:00'
	[ "${#lines[@]}" -eq 1 ]
	run book list --format table --date 2026-12-01
	assert_line --index 0 "ID  START             END               STAFF   SERVICE    CLIENT       STATUS"
	assert_line --index 1 " 3  2026-12-01 09:00  2026-12-01 09:30  Giulia  Viso       Mario Rossi  cancelled"
	assert_line --index 2 " 2  2026-12-01 15:00  2026-12-01 16:00  Marco   Massaggio  Mario Rossi  booked"
}

@test "book slots lists free starts in time order across operators" {
	add mario@example.com Massaggio giulia@example.com '2026-12-01 10:00' >/dev/null
	run book slots --service Massaggio --staff giulia@example.com --date 2026-12-01 --format csv
	assert_success
	assert_line --index 0 "type,staff_id,staff_name,service_id,service_name,start,end"
	# 09:00 would run its buffer into 10:00; after the 11:15 cleanup, 11:15
	# to 12:00 fit before 13:00; then the afternoon
	[ "$(printf '%s\n' "${lines[@]:1}" | cut -d, -f6 | cut -c12-16 | tr '\n' ' ')" = \
		"11:15 11:30 11:45 12:00 14:00 14:15 14:30 14:45 15:00 15:15 15:30 15:45 16:00 16:15 16:30 16:45 17:00 " ]
	run book slots --service Massaggio --date 2026-12-05
	assert_success
	# Saturday: only Marco works, 10:00 to 19:00
	[ "$(printf '%s\n' "${lines[@]}" | python3 -c 'import sys,json; print(set(json.loads(l)["staff_id"] for l in sys.stdin))')" = "{2}" ]
	[ "${#lines[@]}" -eq 33 ]
}

@test "book slots leaves out the past, blocks and leave; --days spans days" {
	export RISERVA_NOW=2026-11-30T16:20:00+01:00
	run book slots --service Viso --date 2026-11-30 --staff giulia@example.com
	assert_success
	[ "$(printf '%s\n' "${lines[@]}" | python3 -c 'import sys,json; print(" ".join(json.loads(l)["start"][11:16] for l in sys.stdin))')" = "16:30 16:45 17:00 17:15 17:30" ]
	staff off giulia@example.com --from 2026-12-01 --to 2026-12-01 >/dev/null
	book block --staff giulia@example.com --from '2026-12-02 09:00' --to '2026-12-02 17:00' >/dev/null
	run book slots --service Viso --date 2026-11-30 --days 3 --staff giulia@example.com
	assert_success
	[ "$(printf '%s\n' "${lines[@]}" | python3 -c 'import sys,json; print(" ".join(json.loads(l)["start"][5:16] for l in sys.stdin))')" = \
		"11-30T16:30 11-30T16:45 11-30T17:00 11-30T17:15 11-30T17:30 12-02T17:00 12-02T17:15 12-02T17:30" ]
}

@test "slots follow booking.slot_step" {
	printf '[booking]\nslot_step = 30m\n' >"$RISERVA_CONFIG"
	run book slots --service Viso --date 2026-12-01 --staff giulia@example.com
	[ "${#lines[@]}" -eq 16 ]
	printf '[booking]\nslot_step = 7s\n' >"$RISERVA_CONFIG"
	run book slots --service Viso --date 2026-12-01
	assert_failure 78
}

@test "slots for a named operator who could not take the booking: 1" {
	run book slots --service Viso --staff marco@example.com --date 2026-12-01
	assert_failure 1
	assert_output "book: marco@example.com does not perform 'Viso' or is not active"
	staff edit giulia@example.com --inactive >/dev/null
	run book slots --service Viso --staff giulia@example.com --date 2026-12-01
	assert_failure 1
}

@test "a list with nothing in it exits 1, as grep" {
	run book list --date 2026-12-01
	assert_failure 1
	assert_output ""
	run book slots --service Viso --date 2026-12-06
	assert_failure 1
	run book blocks
	assert_failure 1
	add mario@example.com Viso giulia@example.com '2026-12-01 10:00' >/dev/null
	run book list --date 2026-12-01 --format json
	assert_success
	run book list --date 2026-12-02 --format json
	assert_failure 1
	assert_output "[]"
	# A range written backwards is a mistake, not an empty answer.
	for v in list blocks receipts; do
		run book $v --from 2026-12-02 --to 2026-12-01
		assert_failure 65
		assert_output "book: --to 2026-12-01 is not after --from 2026-12-02"
	done
	run book list --from '2026-12-01 10:00' --to '2026-12-01 10:00'
	assert_failure 65
	# --before is the same bound as --to, and is held to the same rule.
	run book list --from 2026-12-02 --before 2026-12-01
	assert_failure 65
	assert_output "book: --before 2026-12-01 is not after --from 2026-12-02"
	run book list --from 2026-12-01 --before 2026-12-01
	assert_failure 65
	run audit list --from 2026-12-02 --to 2026-12-01
	assert_failure 65
}

@test "changing hours, services or active status warns of the appointments it strands" {
	add mario@example.com Viso giulia@example.com '2026-12-01 10:00' >/dev/null
	add anna@example.com Massaggio giulia@example.com '2026-12-01 15:00' >/dev/null
	add anna@example.com Viso giulia@example.com '2026-12-02 10:00' >/dev/null
	book cancel 3 >/dev/null
	# Hours: the afternoon goes; the cancelled one is not named.
	run staff hours giulia@example.com tue-wed 09:00-13:00
	assert_success
	assert_line --index 0 "staff: appointment 2 at 2026-12-01 15:00 is outside the new terms: giulia@example.com does not work 2026-12-01 15:00-16:00 (hours on tue: 09:00-13:00): move or cancel it"
	[ "$(printf '%s\n' "$output" | grep -c '^staff:')" = 1 ]
	# Services: Viso no longer.
	run staff services giulia@example.com Massaggio
	assert_success
	assert_line --index 0 "staff: appointment 1 at 2026-12-01 10:00 is outside the new terms: giulia@example.com does not perform 'Viso': move or cancel it"
	# Inactive: every live one ahead.
	run staff edit giulia@example.com --inactive
	assert_success
	assert_line --index 0 "staff: appointment 1 at 2026-12-01 10:00 is outside the new terms: giulia@example.com is not active: move or cancel it"
	assert_line --index 1 "staff: appointment 2 at 2026-12-01 15:00 is outside the new terms: giulia@example.com is not active: move or cancel it"
	# The appointments stay as they were.
	[ "$(rv_sql "SELECT group_concat(status) FROM appointment")" = booked,booked,cancelled ]
	# What is past is not named.
	run env RISERVA_NOW=2026-12-01T12:00:00+01:00 staff edit giulia@example.com --inactive
	assert_success
	refute_output --partial 'appointment 1'
	assert_line --index 0 --partial 'appointment 2 at 2026-12-01 15:00'
}

@test "leave or a block over an appointment already done warns of nothing" {
	add mario@example.com Viso giulia@example.com '2026-12-01 10:00' >/dev/null
	add anna@example.com Viso giulia@example.com '2026-12-01 11:00' >/dev/null
	export RISERVA_NOW=2026-12-01T10:45:00+01:00
	book done 1 >/dev/null
	# Sick leave recorded for the whole day: only the one still ahead.
	run staff off giulia@example.com --from 2026-12-01 --to 2026-12-01
	assert_success
	assert_line --index 0 "staff: appointment 2 at 2026-12-01 11:00 falls in this leave: move or cancel it"
	[ "$(printf '%s\n' "$output" | grep -c 'falls in this leave')" = 1 ]
	run book block --staff giulia@example.com --from '2026-12-01 09:00' --to '2026-12-01 12:00'
	assert_success
	[ "$(printf '%s\n' "$output" | grep -c 'is inside this block')" = 1 ]
	assert_line --index 0 --partial 'appointment 2 at 2026-12-01 11:00'
}
