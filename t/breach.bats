#!/usr/bin/env bats
# gdpr-breach: the register, the people touched, the 72-hour clock.

load helper

# Detected on Monday 30 November 2026 at 08:00, the tests' clock.
open_breach() {
	gdpr-breach open --detected '2026-11-30 08:00' \
		--description "laptop with the agenda stolen" \
		--categories contact,appointments --subjects 40 --risk high "$@"
}

@test "gdpr-breach open records a breach with its 72-hour deadline" {
	run open_breach
	assert_success
	assert_output '{"type":"breach","id":1,"detected":"2026-11-30T08:00:00+01:00","description":"laptop with the agenda stolen","categories":"contact,appointments","subjects":40,"linked":0,"risk":"high","containment":null,"consequences":null,"measures":null,"deadline":"2026-12-03T08:00:00+01:00","hours_left":72,"overdue":false,"authority_notified":null,"authority_ref":null,"late_reason":null,"subjects_notified":null,"created":"2026-11-30T08:00:00+01:00","updated":"2026-11-30T08:00:00+01:00"}'
	run rv_sql "SELECT action, ref, fields FROM audit"
	assert_output "breach.open|breach 1|detected,description,categories,subjects,risk"
}

@test "gdpr-breach open checks what it is given" {
	run gdpr-breach open --description "x"
	assert_failure 64
	assert_output "gdpr-breach: open needs --detected and --description"
	run gdpr-breach open --detected '2026-11-30 09:00' --description x
	assert_failure 65
	assert_output "gdpr-breach: --detected is in the future"
	run gdpr-breach open --detected '2026-11-30 07:00' --description x --risk severe
	assert_failure 64
	assert_output "gdpr-breach: bad risk 'severe': none, low or high"
	run gdpr-breach open --detected '2026-11-30 07:00' --description x --subjects many
	assert_failure 64
	[ ! -e "$RISERVA_DB" ] || [ "$(rv_sql 'SELECT count(*) FROM breach')" = 0 ]
}

@test "the 72-hour check: hours left, then exit 1 once they run out" {
	open_breach >/dev/null
	gdpr-breach open --detected '2026-11-29 20:00' --description "wrong recipient" \
		--risk low >/dev/null
	gdpr-breach open --detected '2026-11-28 08:00' --description "lost paper list" \
		--risk none >/dev/null
	run gdpr-breach check
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --partial '"id":2,'
	assert_line --index 0 --partial '"deadline":"2026-12-02T20:00:00+01:00","hours_left":60,"overdue":false'
	assert_line --index 1 --partial '"id":1,'
	assert_line --index 1 --partial '"hours_left":72,"overdue":false'
	# One minute before breach 2's deadline: still in time.
	run gdpr-breach check --now '2026-12-02 19:59'
	assert_success
	assert_line --index 0 --partial '"hours_left":0,"overdue":false'
	# One minute after.
	run gdpr-breach check --now '2026-12-02 20:01'
	assert_failure 1
	assert_line --index 0 "gdpr-breach: breach 2: the 72 hours to notify the authority ran out at 2026-12-02 20:00 (art. 33(1))"
	assert_line --index 1 --partial '"id":2,'
	assert_line --index 1 --partial '"hours_left":-1,"overdue":true'
	assert_line --index 2 --partial '"hours_left":11,"overdue":false'
	# The test clock of RISERVA_NOW works the same.
	RISERVA_NOW=2026-12-04T08:00:00+01:00 run gdpr-breach check
	assert_failure 1
	assert_line --index 0 "gdpr-breach: breach 2: the 72 hours to notify the authority ran out at 2026-12-02 20:00 (art. 33(1))"
	assert_line --index 2 "gdpr-breach: breach 1: the 72 hours to notify the authority ran out at 2026-12-03 08:00 (art. 33(1))"
	run gdpr-breach check --now '2026-12-04 08:00' --format table
	assert_failure 1
	assert_line --index 2 "ID  DETECTED          DEADLINE          HOURS_LEFT  RISK  DESCRIPTION"
	assert_line --index 3 " 2  2026-11-29 20:00  2026-12-02 20:00         -36  low   wrong recipient"
}

@test "notifying the authority closes the clock; late needs its reasons" {
	open_breach >/dev/null
	export RISERVA_NOW=2026-12-04T10:00:00+01:00
	run gdpr-breach check
	assert_failure 1
	run gdpr-breach notify-authority 1 --at '2026-12-04 09:00' --ref GPDP-2026-77
	assert_failure 64
	assert_output "gdpr-breach: breach 1: notified 97 hours after detection; art. 33(1) asks for the reasons for the delay: --late-reason"
	run gdpr-breach notify-authority 1 --at '2026-12-04 09:00' --ref GPDP-2026-77 \
		--late-reason "the theft was confirmed only on the 3rd"
	assert_success
	[ "$(rv_json '["authority_notified"]')" = 2026-12-04T09:00:00+01:00 ]
	[ "$(rv_json '["hours_left"]')" = null ]
	run gdpr-breach check
	assert_success
	assert_output ""
	run gdpr-breach notify-authority 1 --at '2026-12-04 09:30'
	assert_failure 1
	assert_output "gdpr-breach: breach 1: the authority was notified at 2026-12-04 09:00"
	run gdpr-breach notify-authority 1 --at '2026-12-05 09:30'
	assert_failure 1
	run rv_sql "SELECT action, fields FROM audit WHERE action = 'breach.notify_authority'"
	assert_output "breach.notify_authority|authority_at,authority_ref,late_reason"
}

@test "notify-authority in time needs no reason and refuses impossible times" {
	open_breach >/dev/null
	export RISERVA_NOW=2026-12-01T10:00:00+01:00
	run gdpr-breach notify-authority 1 --at '2026-11-30 07:00'
	assert_failure 65
	assert_output "gdpr-breach: --at is before the breach was detected"
	run gdpr-breach notify-authority 1 --at '2026-12-01 11:00'
	assert_failure 65
	run gdpr-breach notify-authority 1 --at '2026-12-01 09:00'
	assert_success
	run gdpr-breach notify-authority 9 --at '2026-12-01 09:00'
	assert_failure 66
	assert_output "gdpr-breach: no such breach 9"
	# Nor can a later correction put the detection after the notice.
	run gdpr-breach update 1 --detected '2026-12-01 09:30'
	assert_failure 65
	assert_output "gdpr-breach: breach 1: --detected is after the authority was notified (2026-12-01 09:00)"
	[ "$(rv_sql 'SELECT detected FROM breach WHERE id = 1')" = "$(date -d 2026-11-30T08:00:00+01:00 +%s)" ]
	run gdpr-breach update 1 --detected '2026-12-01 09:00'
	assert_success
}

@test "link names the people touched, by operand or from client records" {
	rv_centre
	client add --name Lia --surname Verdi --email lia@example.com --phone 1234567 >/dev/null
	open_breach >/dev/null
	run gdpr-breach link 1 mario@example.com 2
	assert_success
	assert_line --index 0 "gdpr-breach: breach 1: 2 clients linked"
	[ "$(rv_json '["linked"]')" = 2 ]
	# A client record stream, as `client list` writes it; no duplicates.
	run sh -c 'client list | gdpr-breach link 1'
	assert_success
	assert_line --index 0 "gdpr-breach: breach 1: 1 client linked"
	[ "$(rv_json '["linked"]')" = 3 ]
	run rv_sql "SELECT client_id, ref FROM audit WHERE action = 'breach.link' ORDER BY client_id"
	assert_output "1|breach 1
2|breach 1
3|breach 1"
	# So a client's trail shows it.
	run audit list --client 3 --action breach.link
	[ "$(rv_json '["ref"]')" = "breach 1" ]
	run gdpr-breach link 1 nobody@example.com
	assert_failure 66
	run gdpr-breach link 7 1
	assert_failure 66
	assert_output "gdpr-breach: no such breach 7"
}

@test "update records what was found and done; the audit names the fields" {
	open_breach >/dev/null
	run gdpr-breach update 1 --containment "remote wipe at 09:10" \
		--measures "disk encryption on every laptop" --risk low --subjects 35
	assert_success
	[ "$(rv_json '["containment"]')" = "remote wipe at 09:10" ]
	[ "$(rv_json '["risk"]')" = low ]
	[ "$(rv_json '["subjects"]')" = 35 ]
	[ "$(rv_json '["description"]')" = "laptop with the agenda stolen" ]
	run rv_sql "SELECT fields FROM audit WHERE action = 'breach.update'"
	assert_output "subjects,risk,containment,measures"
	run rv_sql "SELECT count(*) FROM audit WHERE fields LIKE '%wipe%' OR ref LIKE '%wipe%'"
	assert_output 0
	run gdpr-breach update 1
	assert_failure 64
	assert_output "gdpr-breach: update needs a field to change"
}

@test "list shows every breach, notified or not; --open the ones waiting" {
	open_breach >/dev/null
	gdpr-breach open --detected '2026-11-29 08:00' --description "minor" --risk none >/dev/null
	gdpr-breach open --detected '2026-11-29 09:00' --description "told" >/dev/null
	gdpr-breach notify-authority 3 --at '2026-11-30 07:00' >/dev/null
	run gdpr-breach list
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	run gdpr-breach list --open
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["id"]')" = 1 ]
	run gdpr-breach show 2
	[ "$(rv_json '["risk"]')" = none ]
	[ "$(rv_json '["hours_left"]')" = null ]
}

@test "gdpr-breach usage errors" {
	run gdpr-breach
	assert_failure 64
	run gdpr-breach show x
	assert_failure 64
	run gdpr-breach notify-authority 1
	assert_failure 64
}

@test "notify-subjects queues the art. 34 notice for every linked client, once" {
	rv_centre
	printf '[mail]\nfrom = Centro Aurora <prenotazioni@aurora.example>\ntransport = stdout\n' >"$RISERVA_CONFIG"
	open_breach >/dev/null
	# Nobody linked: nobody can be told, and the register says no one was.
	open_breach --consequences "none yet" --measures "none yet" >/dev/null
	run gdpr-breach notify-subjects 2
	assert_failure 1
	assert_output "gdpr-breach: breach 2: no client is linked to it: name the people affected first (gdpr-breach link)"
	[ "$(rv_sql "SELECT quote(subjects_at) FROM breach WHERE id = 2")" = NULL ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'breach.notify_subjects'")" = 0 ]
	gdpr-breach link 1 1 2 >/dev/null
	# The notice must say what art. 34(2) asks first.
	run gdpr-breach notify-subjects 1
	assert_failure 1
	assert_output --partial "set --consequences and --measures with update first"
	[ "$(rv_sql "SELECT count(*) FROM message")" = 0 ]
	gdpr-breach update 1 --consequences "your phone number may be known" \
		--measures "the laptop was wiped remotely" >/dev/null
	# A legal notice: a restricted client is told too.
	client restrict 2 --reason "dispute" >/dev/null
	run gdpr-breach notify-subjects 1
	assert_success
	assert_line --index 0 "gdpr-breach: breach 1: 2 notices queued, 0 already had one; notify sends them"
	[ "$(rv_json '["subjects_notified"]')" = 2026-11-30T08:00:00+01:00 ]
	[ "$(rv_sql "SELECT kind, client_id, ref, status FROM message ORDER BY id" | tr '\n' ' ')" = "breach|1|breach 1|queued breach|2|breach 1|queued " ]
	[ "$(rv_sql "SELECT count(*) FROM breach_subject WHERE notified IS NULL")" = 0 ]
	# A client linked later is told when it is run again; no one twice.
	client add --name Lia --surname Neri --email lia@example.com --phone 3331112233 >/dev/null
	gdpr-breach link 1 3 >/dev/null
	run gdpr-breach notify-subjects 1
	assert_line --index 0 "gdpr-breach: breach 1: 1 notice queued, 0 already had one; notify sends them"
	[ "$(rv_sql "SELECT count(*) FROM message")" = 3 ]
	run notify
	assert_success
	assert_output --partial "the laptop was wiped remotely"
	[ "$(rv_sql "SELECT group_concat(status) FROM message")" = "sent,sent,sent" ]
	# Everyone told already: nothing queued, nothing changed.
	run gdpr-breach notify-subjects 1
	assert_success
	assert_line --index 0 "gdpr-breach: breach 1: 0 notices queued, 0 already had one; notify sends them"
	run rv_sql "SELECT action, fields FROM audit WHERE action = 'breach.notify_subjects'"
	assert_output "breach.notify_subjects|subjects_notified
breach.notify_subjects|subjects_notified"
}

@test "notify-subjects of an unknown breach is 66" {
	run gdpr-breach notify-subjects 9
	assert_failure 66
}
