#!/usr/bin/env bats
# Local time: both DST traps refused with a way out, real elapsed durations,
# the centre's offset in every record.

load helper

setup() {
	rv_setup
	rv_centre
	catalog add --name Rituale --duration 180 >/dev/null
	staff services marco@example.com Massaggio Rituale >/dev/null
	# Marco works round the clock on Sundays, DST days included
	staff hours marco@example.com sun 00:00-24:00 >/dev/null
}

@test "a local time in the spring-forward gap is refused with 65 and a way out" {
	run book add --client mario@example.com --service Massaggio --staff marco@example.com --at '2027-03-28 02:30'
	assert_failure 65
	assert_output "book: 2027-03-28 02:30 does not exist in Europe/Rome: the clocks skip that hour; write it with an offset, e.g. 2027-03-28T02:30:00+01:00 (03:30 local time)"
	run book add --client mario@example.com --service Massaggio --staff marco@example.com --at 2027-03-28T02:30:00+01:00
	assert_success
	[ "$(rv_json '["start"]')" = 2027-03-28T03:30:00+02:00 ]
}

@test "a local time in the repeated fall-back hour is refused with 65 and both readings" {
	run book add --client mario@example.com --service Massaggio --staff marco@example.com --at '2027-10-31 02:30'
	assert_failure 65
	assert_output "book: 2027-10-31 02:30 is ambiguous in Europe/Rome: the hour repeats; write 2027-10-31T02:30:00+02:00 (the first) or 2027-10-31T02:30:00+01:00 (the second)"
	run book add --client mario@example.com --service Massaggio --staff marco@example.com --at 2027-10-31T02:30:00+01:00
	assert_success
	[ "$(rv_json '["start"]')" = 2027-10-31T02:30:00+01:00 ]
	# the first 02:30 (CEST) is a different instant, an hour earlier: it
	# overlaps the second one only through its end and buffer
	run book add --client anna@example.com --service Massaggio --staff marco@example.com --at 2027-10-31T02:30:00+02:00
	assert_failure 1
}

@test "durations across a DST change are real elapsed time" {
	run book add --client mario@example.com --service Rituale --staff marco@example.com --at '2027-03-28 01:00'
	assert_success
	[ "$(rv_json '["end"]')" = 2027-03-28T05:00:00+02:00 ]
	run book add --client mario@example.com --service Rituale --staff marco@example.com --at '2027-10-31 01:00'
	assert_success
	[ "$(rv_json '["end"]')" = 2027-10-31T03:00:00+01:00 ]
}

@test "the times just around the changes are accepted" {
	for at in '2027-03-28 01:59' '2027-03-28 03:00' '2027-10-31 01:59' '2027-10-31 03:00'; do
		run book add --client mario@example.com --service Massaggio --staff marco@example.com --at "$at"
		[ "$status" -ne 65 ]
	done
}

@test "slots on the short day skip the missing hour; the long day has its extra one" {
	run book slots --service Massaggio --staff marco@example.com --date 2027-03-28
	assert_success
	# 23 hours of clock, the last start one service length before midnight
	[ "${#lines[@]}" -eq $(( 23 * 4 - 3 )) ]
	assert_output --partial '"start":"2027-03-28T01:45:00+01:00"'
	assert_output --partial '"start":"2027-03-28T03:00:00+02:00"'
	refute_output --partial 'T02:00:00+01:00'
	run book slots --service Massaggio --staff marco@example.com --date 2027-10-31
	[ "${#lines[@]}" -eq $(( 25 * 4 - 3 )) ]
	assert_output --partial '"start":"2027-10-31T02:30:00+02:00"'
	assert_output --partial '"start":"2027-10-31T02:30:00+01:00"'
}

@test "hours are wall-clock: 09:00 stays 09:00 after the clocks change" {
	run book add --client mario@example.com --service Massaggio --staff giulia@example.com --at '2027-03-26 09:00'
	assert_success
	[ "$(rv_json '["start"]')" = 2027-03-26T09:00:00+01:00 ]
	run book add --client mario@example.com --service Massaggio --staff giulia@example.com --at '2027-03-29 09:00'
	assert_success
	[ "$(rv_json '["start"]')" = 2027-03-29T09:00:00+02:00 ]
	run book add --client anna@example.com --service Massaggio --staff giulia@example.com --at '2027-03-29 08:30'
	assert_failure 1
}

@test "times print with the centre's offset in any zone" {
	printf '[clinic]\ntimezone = America/New_York\n' >"$RISERVA_CONFIG"
	run book add --client mario@example.com --service Massaggio --staff marco@example.com --at 2026-12-01T16:00:00Z
	assert_success
	[ "$(rv_json '["start"]')" = 2026-12-01T11:00:00-05:00 ]
}

@test "bad times are 65 with the accepted forms" {
	for at in '2026-12-01' '2026-12-01 25:00' '2026-13-01 10:00' '2026-02-29 10:00' \
	    '2026-12-01T10:00:00+25:00' '2026-12-01 10:00 CET' ''; do
		run book add --client mario@example.com --service Massaggio --at "$at"
		assert_failure 65
	done
	run book add --client mario@example.com --service Massaggio --at 'noon'
	assert_output "book: bad time 'noon': write 'YYYY-MM-DD HH:MM' (local) or RFC 3339 with an offset"
}

@test "RISERVA_NOW must be a time" {
	RISERVA_NOW=yesterday run book list
	assert_failure 78
	assert_output --partial "RISERVA_NOW: bad time 'yesterday'"
}
