#!/usr/bin/env bats
# staff: members, weekly hours, leave, the services each performs.

load helper

@test "staff add prints the member; emails are unique; roles are checked" {
	run staff add --name Giulia --email giulia@example.com --role reception
	assert_success
	assert_output '{"type":"staff","id":1,"name":"Giulia","email":"giulia@example.com","role":"reception","active":true,"created":"2026-11-30T08:00:00+01:00"}'
	run staff add --name Giulia --email GIULIA@example.com
	assert_failure 1
	assert_output "staff: a staff member with email 'GIULIA@example.com' already exists (id 1)"
	run staff add --name Boss --email boss@example.com --role owner
	assert_failure 64
	assert_output "staff: bad role 'owner': admin, reception or operator"
	run staff add --name Bad --email bad
	assert_failure 65
	run staff add --name Marco
	assert_failure 64
	[ "$(rv_sql 'SELECT count(*) FROM staff')" = 1 ]
}

@test "staff hours replaces the days named, merges touching ranges" {
	staff add --name Giulia --email giulia@example.com >/dev/null
	staff hours giulia@example.com mon-fri 09:00-13:00 14:00-18:00 >/dev/null
	run staff hours giulia@example.com fri 14:00-16:00 09:00-12:00 12:00-13:00
	assert_success
	run staff hours giulia@example.com --format csv
	assert_line --index 0 "type,staff_id,day,start,end"
	assert_line --index 9 "hours,1,fri,09:00,13:00"
	assert_line --index 10 "hours,1,fri,14:00,16:00"
	[ "${#lines[@]}" -eq 11 ]
	run staff hours giulia@example.com sat-sun 10:00-24:00
	assert_success
	run staff hours giulia@example.com sat off
	assert_success
	[ "$(rv_sql 'SELECT count(*) FROM staff_hours WHERE dow = 6')" = 0 ]
	[ "$(rv_sql 'SELECT end_min FROM staff_hours WHERE dow = 7')" = 1440 ]
	# fri-mon wraps over the weekend
	run staff hours giulia@example.com fri-mon 08:00-09:00
	assert_success
	[ "$(rv_sql 'SELECT group_concat(dow) FROM (SELECT DISTINCT dow FROM staff_hours WHERE start_min = 480 ORDER BY dow)')" = "1,5,6,7" ]
}

@test "staff hours refuses bad days and ranges with 64, changing nothing" {
	staff add --name Giulia --email giulia@example.com >/dev/null
	staff hours giulia@example.com mon 09:00-13:00 >/dev/null
	for args in "mon 13:00-09:00" "mon 09:00-13:00 12:00-14:00" "mon 9-13" \
	    "mon 09:00-25:00" "moon 09:00-13:00" "mon" "mon,,tue 09:00-10:00"; do
		run staff hours giulia@example.com $args
		assert_failure 64
	done
	run staff hours giulia@example.com mon 09:00-13:00 12:00-14:00
	assert_output --partial "staff: ranges overlap"
	[ "$(rv_sql 'SELECT start_min, end_min FROM staff_hours')" = "540|780" ]
}

@test "staff off, leave and unoff" {
	staff add --name Giulia --email giulia@example.com >/dev/null
	run staff off giulia@example.com --from 2026-12-24 --to 2026-12-26 --reason Natale
	assert_success
	assert_output '{"type":"leave","id":1,"staff_id":1,"start":"2026-12-24T00:00:00+01:00","end":"2026-12-27T00:00:00+01:00","reason":"Natale"}'
	run staff off giulia@example.com --from '2026-12-30 14:00' --to '2026-12-30 18:00'
	assert_success
	[ "$(rv_json '["end"]')" = 2026-12-30T18:00:00+01:00 ]
	run staff off giulia@example.com --from 2026-12-26 --to 2026-12-24
	assert_failure 65
	assert_output "staff: --to 2026-12-24 is not after --from 2026-12-26"
	run staff leave
	[ "${#lines[@]}" -eq 2 ]
	RISERVA_NOW=2026-12-28T00:00:00+01:00 run staff leave giulia@example.com
	[ "${#lines[@]}" -eq 1 ]
	RISERVA_NOW=2026-12-28T00:00:00+01:00 run staff leave --all
	[ "${#lines[@]}" -eq 2 ]
	run staff unoff 1
	assert_success
	run staff unoff 1
	assert_failure 66
	run rv_sql "SELECT action FROM audit WHERE action LIKE 'staff.o%' ORDER BY id"
	assert_output "staff.off
staff.off
staff.on"
}

@test "staff services sets what each performs and lists it" {
	staff add --name Giulia --email giulia@example.com >/dev/null
	catalog add --name Massaggio --duration 60 >/dev/null
	catalog add --name Viso --duration 30 >/dev/null
	run staff services giulia@example.com massaggio 2
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	run staff services giulia@example.com Viso
	run staff services giulia@example.com
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["name"]')" = Viso ]
	run staff services giulia@example.com Pedicure
	assert_failure 66
	catalog retire Massaggio >/dev/null
	run staff services giulia@example.com Massaggio
	assert_failure 1
	assert_output "staff: service 'Massaggio' is retired"
}

@test "staff edit, show, list and complete" {
	staff add --name Giulia --email giulia@example.com >/dev/null
	staff add --name Marco --email marco@example.com >/dev/null
	run staff edit marco@example.com --role admin --inactive
	assert_success
	[ "$(rv_json '["role"]')" = admin ]
	[ "$(rv_json '["active"]')" = false ]
	run staff show 2
	[ "$(rv_json '["email"]')" = marco@example.com ]
	run staff list --format table
	assert_line --index 0 "ID  NAME    EMAIL               ROLE      ACTIVE"
	assert_line --index 2 " 2  Marco   marco@example.com   admin     false"
	run staff complete
	assert_output giulia@example.com
	run staff edit 2 --email giulia@example.com
	assert_failure 1
	run staff show nobody@example.com
	assert_failure 66
}
