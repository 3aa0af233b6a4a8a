#!/usr/bin/env bats
# remind: reminders exactly once, consent and restriction at send time,
# catch-up, moves and cancellations, retries and exit codes, over a real
# SMTP server on loopback.

load helper
load mail

setup() {
	rv_setup
	smtpd_start
	mail_centre
}

teardown() {
	mail_teardown
}

# Tuesday 1 December 2026: Mario (it) at 10:00 with Giulia, Anna (en) at
# 11:00 with Marco. The clock stands on Monday 30 November, 08:00.
two_bookings() {
	book add --client 1 --service Massaggio --staff giulia@example.com \
		--at '2026-12-01 10:00' >/dev/null
	book add --client 2 --service Massaggio --staff marco@example.com \
		--at '2026-12-01 11:00' >/dev/null
}

# n appointments for client 1, a minute apart from Monday 12:00, written
# straight into the table (the booking rules are not what is tested).
many_appointments() {
	local s
	s=$(date -d '2026-11-30T12:00:00+01:00' +%s)
	rv_sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
		WHERE i < $1) INSERT INTO appointment (client_id, staff_id,
		service_id, start, end, busy_end, created, updated)
		SELECT 1, 1, 1, $s + i * 60, $s + i * 60 + 3600,
		$s + i * 60 + 3600, 1796022000, 1796022000 FROM n"
}

@test "a reminder goes once, in the client's language, when the lead is reached" {
	two_bookings
	grant 1
	grant 2
	# 26 hours ahead: not yet.
	run remind
	assert_success
	assert_output ''
	[ "$(mail_count)" = 0 ]
	run remind --now '2026-11-30 10:30'
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["kind"]')" = reminder ]
	[ "$(rv_json '["status"]')" = sent ]
	[ "$(rv_json '["lead"]')" = 24h ]
	[ "$(rv_json '["recipient"]')" = mario@example.com ]
	run remind --now '2026-11-30 11:30'
	assert_success
	[ "$(rv_json '["recipient"]')" = anna@example.com ]
	run remind --now '2026-11-30 12:00'
	assert_success
	assert_output ''
	[ "$(mail_count)" = 2 ]
	mailcheck "$(mails | sed -n 1p)"
	assert_success
	[ "$(rv_json '["subject"]')" = "Promemoria: Massaggio, martedì 1 dicembre 2026, 10:00" ]
	[ "$(rv_json '["to"]')" = "Mario Rossi <mario@example.com>" ]
	[ "$(rv_json '["envelope_from"]')" = prenotazioni@aurora.example ]
	[ "$(rv_json '["auto_submitted"]')" = auto-generated ]
	[ "$(rv_json '["ics"]')" = null ]
	rv_json '["body"]' | grep -q '^    martedì 1 dicembre 2026, dalle 10:00 alle 11:00$'
	rv_json '["subject_raw"]' | grep -q '=?UTF-8?Q?'
	mailcheck "$(mails | sed -n 2p)"
	assert_success
	[ "$(rv_json '["subject"]')" = "Reminder: Massaggio, Tuesday 1 December 2026, 11:00" ]
	rv_json '["body"]' | grep -q '^    Tuesday 1 December 2026, 11:00 to 12:00$'
}

@test "no reminders consent: no reminder, skipped with the reason" {
	two_bookings
	grant 1
	withdraw 2 reminders
	grant 2 marketing
	run remind --now '2026-11-30 12:00'
	assert_success
	[ "$(mail_count)" = 1 ]
	[ "$(rv_sql "SELECT client_id, status, reason FROM message WHERE kind = 'reminder' ORDER BY client_id")" = "1|sent|
2|skipped|no reminders consent" ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'message.skip' AND client_id = 2")" = 1 ]
	# The skipped one is not tried again.
	run remind --now '2026-11-30 12:30'
	assert_success
	assert_output ''
	[ "$(mail_count)" = 1 ]
}

@test "consent withdrawn after the reminder was queued: skipped, not sent" {
	two_bookings
	grant 1
	RISERVA_MAIL_URL=smtp://127.0.0.1:1 run remind --now '2026-11-30 10:30'
	assert_failure 69
	[ "$(rv_sql "SELECT status FROM message WHERE kind = 'reminder'")" = queued ]
	withdraw 1
	run remind --now '2026-11-30 10:40'
	assert_success
	[ "$(rv_json '["status"]')" = skipped ]
	[ "$(rv_json '["reason"]')" = "no reminders consent" ]
	[ "$(mail_count)" = 0 ]
}

@test "a restricted client gets no reminder until the restriction is lifted" {
	two_bookings
	grant 1
	rv_sql "UPDATE client SET restricted = 1 WHERE id = 1"
	run remind --now '2026-11-30 10:30'
	assert_success
	[ "$(rv_json '["status"]')" = skipped ]
	[ "$(rv_json '["reason"]')" = "client restricted (GDPR art. 18)" ]
	[ "$(mail_count)" = 0 ]
	# Still restricted: nothing, and nothing queued again.
	run remind --now '2026-11-30 10:35'
	assert_success
	assert_output ''
	client unrestrict 1 --reason 'accuracy verified' >/dev/null
	run remind --now '2026-11-30 10:40'
	assert_success
	[ "$(rv_json '["status"]')" = sent ]
	[ "$(mail_count)" = 1 ]
	run remind --now '2026-11-30 10:45'
	assert_output ''
	[ "$(mail_count)" = 1 ]
}

@test "consent given after the reminder was skipped for want of it: the reminder goes" {
	two_bookings
	run remind --now '2026-11-30 10:30'
	assert_success
	[ "$(rv_json '["reason"]')" = "no reminders consent" ]
	grant 1
	run remind --now '2026-11-30 10:40'
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["status"]')" = sent ]
	[ "$(rv_json '["recipient"]')" = mario@example.com ]
	[ "$(mail_count)" = 1 ]
	# Not for an appointment already started.
	grant 2
	run remind --now '2026-12-01 11:05'
	assert_output ''
	[ "$(mail_count)" = 1 ]
}

@test "an erased client gets nothing" {
	two_bookings
	grant 1
	RISERVA_MAIL_URL=smtp://127.0.0.1:1 run remind --now '2026-11-30 10:30'
	assert_failure 69
	rv_sql "UPDATE appointment SET client_id = NULL WHERE id = 1"
	run remind --now '2026-11-30 10:40'
	assert_success
	[ "$(rv_json '["reason"]')" = "client erased" ]
	[ "$(mail_count)" = 0 ]
}

@test "two remind runs at once send each reminder exactly once" {
	grant 1
	many_appointments 150
	remind --now '2026-11-30 12:00' >"$BATS_TEST_TMPDIR/a" 2>&1 &
	a=$!
	remind --now '2026-11-30 12:00' >"$BATS_TEST_TMPDIR/b" 2>&1 &
	b=$!
	remind --now '2026-11-30 12:00' >"$BATS_TEST_TMPDIR/c" 2>&1 &
	c=$!
	ra=0 rb=0 rc=0
	wait $a || ra=$?
	wait $b || rb=$?
	wait $c || rc=$?
	# A failing run says why (its diagnostics, not its records).
	[ "$ra$rb$rc" = 000 ] || { grep -hv '^{' "$BATS_TEST_TMPDIR"/[abc]; false; }
	[ "$(mail_count)" = 150 ]
	# Each appointment once, and each run's records add up to the whole.
	[ "$(cat $(mails) | grep -c '^Message-ID:')" = 150 ]
	[ "$(cat $(mails) | grep '^Message-ID:' | sort -u | wc -l)" = 150 ]
	[ "$(cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/c" | grep -c '"status":"sent"')" = 150 ]
	[ "$(rv_sql "SELECT count(*), count(DISTINCT appointment_id), sum(attempts) FROM message WHERE kind = 'reminder' AND status = 'sent'")" = "150|150|150" ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'message.send'")" = 150 ]
	run remind --now '2026-11-30 12:05'
	assert_output ''
	[ "$(mail_count)" = 150 ]
}

@test "one SMTP connection carries a whole run" {
	grant 1
	many_appointments 40
	run remind --now '2026-11-30 12:00'
	assert_success
	[ "$(mail_count)" = 40 ]
	[ "$(wc -l <"$MAILDIR.conns")" = 1 ]
}

@test "remind with output it cannot write: the reminders claimed go back to the queue" {
	grant 1
	many_appointments 40
	run bash -c "remind --now '2026-11-30 12:00' -j 2>&1 >/dev/full"
	assert_failure 74
	assert_output --partial "remind: cannot write output: "
	[ "$(rv_sql "SELECT count(*) FROM message WHERE status = 'sending'")" = 0 ]
	run remind --now '2026-11-30 12:00'
	assert_success
	[ "$(mail_count)" = 40 ]
}

@test "a run missed catches up for what is still ahead, never for what started" {
	two_bookings
	grant 1
	grant 2
	# The machine was off all Monday: at 10:30 on Tuesday Mario's 10:00
	# has started, Anna's 11:00 is still ahead.
	run remind --now '2026-12-01 10:30'
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["recipient"]')" = anna@example.com ]
	[ "$(rv_sql "SELECT count(*) FROM message WHERE kind = 'reminder' AND appointment_id = 1")" = 0 ]
}

@test "a reminder queued for an appointment that then started is skipped" {
	two_bookings
	grant 1
	RISERVA_MAIL_URL=smtp://127.0.0.1:1 run remind --now '2026-11-30 10:30'
	assert_failure 69
	run remind --now '2026-12-01 10:01'
	assert_success
	[ "$(rv_sql "SELECT status, reason FROM message WHERE kind = 'reminder' AND appointment_id = 1")" = "skipped|appointment already started" ]
	[ "$(mail_count)" = 0 ]
}

@test "cancelled appointments get no reminder, even one queued before" {
	two_bookings
	grant 1
	grant 2
	book cancel 2 >/dev/null
	RISERVA_MAIL_URL=smtp://127.0.0.1:1 run remind --now '2026-11-30 10:30'
	assert_failure 69
	book cancel 1 >/dev/null
	run remind --now '2026-11-30 12:00'
	assert_success
	[ "$(rv_sql "SELECT appointment_id, status, reason FROM message WHERE kind = 'reminder'")" = "1|skipped|appointment cancelled" ]
	[ "$(mail_count)" = 0 ]
}

@test "a moved appointment gets one reminder, for its new time" {
	two_bookings
	grant 1
	RISERVA_MAIL_URL=smtp://127.0.0.1:1 run remind --now '2026-11-30 10:30'
	assert_failure 69
	book move 1 --at '2026-12-01 15:00' >/dev/null
	run remind --now '2026-11-30 10:40'
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["status"]')" = skipped ]
	[ "$(rv_sql "SELECT version, status, reason FROM message WHERE kind = 'reminder' AND appointment_id = 1")" = "1|skipped|appointment moved (version 2 is current)" ]
	run remind --now '2026-11-30 15:00'
	assert_success
	[ "$(mail_count)" = 1 ]
	[ "$(rv_sql "SELECT version, status FROM message WHERE kind = 'reminder' AND status = 'sent'")" = "2|sent" ]
	mailcheck "$(mails)"
	rv_json '["body"]' | grep -q 'dalle 15:00 alle 16:00'
}

@test "an appointment moved after its reminder went gets the new time's" {
	two_bookings
	grant 1
	remind --now '2026-11-30 10:30' >/dev/null
	book move 1 --at '2026-12-01 15:00' >/dev/null
	run remind --now '2026-11-30 15:00'
	assert_success
	[ "$(mail_count)" = 2 ]
	mailcheck "$(mails | sed -n 2p)"
	[ "$(rv_json '["subject"]')" = "Promemoria: Massaggio, martedì 1 dicembre 2026, 15:00" ]
}

@test "leads 24h,2h: two reminders, and after a missed run only the closer one" {
	printf '[remind]\nlead = 24h, 2h\n' >>"$RISERVA_CONFIG"
	two_bookings
	grant 1
	grant 2
	run remind --now '2026-11-30 10:30'
	assert_success
	[ "$(rv_json '["lead"]')" = 24h ]
	# Nobody ran remind again until 09:30 on Tuesday: Mario gets his 2h
	# reminder; Anna, inside both windows now, only the 2h one.
	run remind --now '2026-12-01 09:30'
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[ "$(rv_sql "SELECT appointment_id, lead, status FROM message WHERE kind = 'reminder' ORDER BY id")" = "1|86400|sent
1|7200|sent
2|7200|sent" ]
	[ "$(mail_count)" = 3 ]
}

@test "a late 24h reminder is superseded by the 2h one" {
	printf '[remind]\nlead = 2h,24h\n' >>"$RISERVA_CONFIG"
	two_bookings
	grant 1
	RISERVA_MAIL_URL=smtp://127.0.0.1:1 run remind --now '2026-11-30 10:30'
	assert_failure 69
	run remind --now '2026-12-01 08:30'
	assert_success
	[ "$(rv_sql "SELECT lead, status, coalesce(reason, '') FROM message WHERE kind = 'reminder' AND appointment_id = 1 ORDER BY id")" = "86400|skipped|superseded by the 2h reminder
7200|sent|" ]
	[ "$(mail_count)" = 1 ]
}

@test "SMTP down: exit 69, the reminder waits and goes at the next run after the backoff" {
	two_bookings
	grant 1
	smtpd_stop
	run remind --now '2026-11-30 10:30'
	assert_failure 69
	assert_line --partial "remind: the mail transport is unreachable: "
	assert_line --index 0 --partial '"status":"queued"'
	[ "$(rv_sql "SELECT status, attempts, datetime(next_at, 'unixepoch') FROM message WHERE kind = 'reminder'")" = "queued|1|2026-11-30 09:35:00" ]
	smtpd_start
	mail_config
	# Not due yet: nothing tried.
	run remind --now '2026-11-30 10:31'
	assert_success
	assert_output ''
	run remind --now '2026-11-30 10:36'
	assert_success
	[ "$(rv_json '["status"]')" = sent ]
	[ "$(rv_json '["attempts"]')" = 2 ]
	[ "$(mail_count)" = 1 ]
}

@test "a temporary refusal backs off exponentially, then gives up" {
	smtpd_stop
	smtpd_start --tempfail mario@example.com
	mail_config
	printf '[mail]\nmax_attempts = 3\n' >>"$RISERVA_CONFIG"
	two_bookings
	grant 1
	run remind --now '2026-11-30 10:30'
	assert_failure 75
	assert_line --partial "remind: 1 reminder will be retried: "
	assert_line --partial "(SMTP 451)"
	[ "$(rv_sql "SELECT datetime(next_at, 'unixepoch') FROM message WHERE kind = 'reminder'")" = "2026-11-30 09:35:00" ]
	run remind --now '2026-11-30 10:35'
	assert_failure 75
	[ "$(rv_sql "SELECT datetime(next_at, 'unixepoch') FROM message WHERE kind = 'reminder'")" = "2026-11-30 09:45:00" ]
	run remind --now '2026-11-30 10:45'
	assert_failure 1
	assert_line --index 0 --partial '"status":"failed","reason":"gave up after 3 attempts: '
	assert_line --index 1 --partial 'remind: 1 reminder failed for good'
	[ "$(mail_count)" = 0 ]
}

@test "a permanent refusal fails the message at once: exit 1" {
	smtpd_stop
	smtpd_start --reject mario@example.com
	mail_config
	two_bookings
	grant 1
	grant 2
	run remind --now '2026-11-30 12:00'
	assert_failure 1
	assert_line --partial "remind: 1 reminder failed for good (notify list --status failed): "
	[ "$(rv_sql "SELECT recipient, status FROM message WHERE kind = 'reminder' ORDER BY id")" = "mario@example.com|failed
anna@example.com|sent" ]
	rv_sql "SELECT reason FROM message WHERE status = 'failed'" | grep -q '(SMTP 550)'
}

@test "a sender that died holding a claim loses it when the lease ends" {
	two_bookings
	grant 1
	grant 2
	RISERVA_MAIL_URL=smtp://127.0.0.1:1 run remind --now '2026-11-30 12:00'
	# As if a remind had claimed both and died before recording: one
	# lease still runs, the other ran out.
	rv_sql "UPDATE message SET status = 'sending', claim = 'dead', next_at = $(date -d '2026-11-30T12:05:00+01:00' +%s) WHERE appointment_id = 1 AND kind = 'reminder'"
	rv_sql "UPDATE message SET status = 'sending', claim = 'dead', next_at = $(date -d '2026-11-30T11:59:00+01:00' +%s) WHERE appointment_id = 2 AND kind = 'reminder'"
	run remind --now '2026-11-30 12:00'
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["recipient"]')" = anna@example.com ]
	run remind --now '2026-11-30 12:06'
	assert_success
	[ "$(rv_json '["recipient"]')" = mario@example.com ]
	[ "$(mail_count)" = 2 ]
}

@test "remind --dry-run shows the mbox and changes nothing" {
	two_bookings
	grant 1
	grant 2
	before=$(rv_sql "SELECT count(*) FROM message")
	run remind --dry-run --now '2026-11-30 10:30'
	assert_success
	assert_line --index 0 --regexp '^From prenotazioni@aurora.example Mon Nov 30 09:30:00 2026$'
	assert_line 'To: Mario Rossi <mario@example.com>'
	[ "$(rv_sql "SELECT count(*) FROM message")" = "$before" ]
	[ "$(rv_sql "SELECT count(*) FROM message WHERE kind = 'reminder'")" = 0 ]
	[ "$(mail_count)" = 0 ]
	withdraw 1
	run remind --dry-run --now '2026-11-30 10:30'
	assert_success
	assert_output --regexp '^remind: message [0-9]+ \(reminder\) would be skipped: no reminders consent$'
}

@test "templates from the config folder replace the shipped ones" {
	two_bookings
	grant 1
	mkdir -p "$BATS_TEST_TMPDIR/templates/it"
	printf 'Subject: A presto, {client.name}!\n\nOre {appointment.time}, {service.name}. {{non un campo}}\n' \
		>"$BATS_TEST_TMPDIR/templates/it/reminder.txt"
	run remind --now '2026-11-30 10:30'
	assert_success
	mailcheck "$(mails)"
	[ "$(rv_json '["subject"]')" = "A presto, Mario!" ]
	[ "$(rv_json '["body"]')" = "Ore 10:00, Massaggio. {non un campo}" ]
}

@test "a template naming an unknown field is a configuration error; nothing is lost" {
	two_bookings
	grant 1
	mkdir -p "$BATS_TEST_TMPDIR/templates/it"
	printf 'Subject: {client.nome}\n\nx\n' >"$BATS_TEST_TMPDIR/templates/it/reminder.txt"
	run remind --now '2026-11-30 10:30'
	assert_failure 78
	assert_output "remind: $BATS_TEST_TMPDIR/templates/it/reminder.txt: unknown field {client.nome}"
	[ "$(rv_sql "SELECT status, attempts FROM message WHERE kind = 'reminder'")" = "queued|0" ]
	rm "$BATS_TEST_TMPDIR/templates/it/reminder.txt"
	run remind --now '2026-11-30 10:30'
	assert_success
	[ "$(mail_count)" = 1 ]
}

@test "remind: bad leads, bad times, unknown options" {
	printf '[remind]\nlead = 24h,soon\n' >>"$RISERVA_CONFIG"
	run remind
	assert_failure 78
	assert_output "remind: config remind.lead: '24h,soon' is not a list of durations like 24h,2h (each at most 30d)"
	RISERVA_REMIND_LEAD=24h run remind --now yesterday
	assert_failure 65
	run remind --bogus
	assert_failure 64
	run remind extra
	assert_failure 64
	run remind --help
	assert_success
	assert_line --index 0 'usage: remind [--dry-run] [--now TIME]'
	RISERVA_MAIL_FROM= RISERVA_REMIND_LEAD=24h run remind
	assert_failure 78
	assert_output --partial "config mail.from is not set"
}
