#!/usr/bin/env bats
# notify: confirmations, change and cancellation notices with calendar
# files, legal notices, the outbox's list and retry, and the transports
# (smtp, sendgrid, sendmail, stdout).

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

# Mario (it) on Tuesday 1 December 2026 at 10:00 with Giulia.
book_mario() {
	book add --client 1 --service Massaggio --staff giulia@example.com \
		--at "${1:-2026-12-01 10:00}" >/dev/null
}

# The JSON of line n (0-based) of $output.
line_json() {
	printf '%s\n' "${lines[$1]}" |
		python3 -c 'import json,sys; v=json.load(sys.stdin)'"$2"'; print(v if not isinstance(v,(dict,list,bool)) and v is not None else json.dumps(v))'
}

@test "book add queues a confirmation in its transaction; it goes with a calendar REQUEST" {
	book_mario
	[ "$(rv_sql "SELECT kind, client_id, appointment_id, version, status FROM message")" = "confirmation|1|1|1|queued" ]
	# A booking refused queues nothing.
	run book add --client 2 --service Massaggio --staff giulia@example.com --at '2026-12-01 10:00'
	assert_failure 1
	[ "$(rv_sql "SELECT count(*) FROM message")" = 1 ]
	# No consent needed: the confirmation is part of the contract.
	run notify
	assert_success
	[ "$(rv_json '["status"]')" = sent ]
	[ "$(rv_json '["kind"]')" = confirmation ]
	# The server's queue id, from its "250 2.0.0 OK: queued as 1".
	[ "$(rv_json '["provider_id"]')" = 1 ]
	[ "$(rv_sql "SELECT provider_id FROM message")" = 1 ]
	[ "$(mail_count)" = 1 ]
	mailcheck "$(mails)"
	assert_success
	[ "$(rv_json '["subject"]')" = "Prenotazione confermata: Massaggio, martedì 1 dicembre 2026, 10:00" ]
	[ "$(rv_json '["reply_to"]')" = "Centro Aurora <info@aurora.example>" ]
	[ "$(rv_json '["ics"]["method"]')" = REQUEST ]
	[ "$(rv_json '["ics"]["status"]')" = CONFIRMED ]
	[ "$(rv_json '["ics"]["sequence"]')" = 1 ]
	[ "$(rv_json '["ics"]["dtstart"]')" = 20261201T090000Z ]
	[ "$(rv_json '["ics"]["dtend"]')" = 20261201T100000Z ]
	[ "$(rv_json '["ics"]["summary"]')" = "Massaggio - Centro Benessere Aurora" ]
	[ "$(rv_json '["ics"]["location"]')" = "Via Roma 1, Milano" ]
	[ "$(rv_json '["ics"]["organizer"]')" = mailto:prenotazioni@aurora.example ]
	[ "$(rv_json '["ics"]["attendee"]')" = mailto:mario@example.com ]
	[ "$(rv_json '["ics"]["attendee_cn"]')" = "Mario Rossi" ]
	inst=$(rv_sql "SELECT value FROM meta WHERE key = 'mail.instance'")
	[ "$(rv_json '["ics"]["uid"]')" = "appointment-1.$inst@aurora.example" ]
	[ "$(rv_json '["message_id"]')" = "<rv.1.$inst@aurora.example>" ]
}

@test "cancel: a CANCEL calendar file with the same UID and a higher SEQUENCE" {
	grant 1
	book_mario
	notify >/dev/null
	book cancel 1 --reason "client ill" >/dev/null
	[ "$(rv_sql "SELECT kind, version, status FROM message ORDER BY id")" = "confirmation|1|sent
cancellation|2|queued" ]
	run notify
	assert_success
	[ "$(mail_count)" = 2 ]
	mailcheck "$(mails | sed -n 1p)"
	uid=$(rv_json '["ics"]["uid"]')
	seq=$(rv_json '["ics"]["sequence"]')
	mailcheck "$(mails | sed -n 2p)"
	assert_success
	[ "$(rv_json '["subject"]')" = "Appuntamento annullato: Massaggio, martedì 1 dicembre 2026, 10:00" ]
	[ "$(rv_json '["ics"]["method"]')" = CANCEL ]
	[ "$(rv_json '["ics"]["status"]')" = CANCELLED ]
	[ "$(rv_json '["ics"]["uid"]')" = "$uid" ]
	[ "$(rv_json '["ics"]["sequence"]')" -gt "$seq" ]
	[ "$(rv_json '["ics"]["dtstart"]')" = 20261201T090000Z ]
}

@test "a new sender address keeps each appointment's calendar UID: the CANCEL still finds its event" {
	grant 1
	book_mario
	notify >/dev/null
	sed -i 's/^from = .*/from = Centro Aurora <booking@aurora-spa.example>/' "$RISERVA_CONFIG"
	book cancel 1 --reason "client ill" >/dev/null
	run notify
	assert_success
	mailcheck "$(mails | sed -n 1p)"
	uid=$(rv_json '["ics"]["uid"]')
	mailcheck "$(mails | sed -n 2p)"
	assert_success
	[ "$(rv_json '["envelope_from"]')" = booking@aurora-spa.example ]
	[ "$(rv_json '["ics"]["method"]')" = CANCEL ]
	[ "$(rv_json '["ics"]["uid"]')" = "$uid" ]
}

@test "move: a change notice whose calendar file updates the same event" {
	grant 1
	book_mario
	notify >/dev/null
	book move 1 --at '2026-12-02 15:30' >/dev/null
	run notify
	assert_success
	[ "$(rv_json '["kind"]')" = change ]
	mailcheck "$(mails | sed -n 2p)"
	[ "$(rv_json '["subject"]')" = "Appuntamento spostato: Massaggio, mercoledì 2 dicembre 2026, 15:30" ]
	[ "$(rv_json '["ics"]["method"]')" = REQUEST ]
	[ "$(rv_json '["ics"]["sequence"]')" = 2 ]
	[ "$(rv_json '["ics"]["dtstart"]')" = 20261202T143000Z ]
	uid=$(rv_json '["ics"]["uid"]')
	mailcheck "$(mails | sed -n 1p)"
	[ "$(rv_json '["ics"]["uid"]')" = "$uid" ]
}

@test "change and cancellation notices need the reminders consent" {
	book_mario
	book_mario '2026-12-02 10:00'
	book move 1 --at '2026-12-01 11:30' >/dev/null
	book cancel 2 >/dev/null
	run notify
	assert_success
	# The confirmation of the moved one still goes (the contract's), of
	# the cancelled one not.
	[ "$(rv_sql "SELECT kind, version, status, coalesce(reason, '') FROM message ORDER BY id")" = "confirmation|1|sent|
confirmation|1|skipped|appointment cancelled
change|2|skipped|no reminders consent
cancellation|2|skipped|no reminders consent" ]
	[ "$(mail_count)" = 1 ]
}

@test "moved before its confirmation went, no reminders consent: the confirmation goes, at the new time" {
	book_mario
	book move 1 --at '2026-12-01 15:00' >/dev/null
	run notify
	assert_success
	# The contract's notice is owed; the change notice needs the consent.
	[ "$(rv_sql "SELECT kind, status, coalesce(reason, '') FROM message ORDER BY id")" = "confirmation|sent|
change|skipped|no reminders consent" ]
	[ "$(mail_count)" = 1 ]
	mailcheck "$(mails)"
	assert_success
	rv_json '["body"]' | grep -q 'dalle 15:00 alle 16:00'
	[ "$(rv_json '["ics"]["dtstart"]')" = 20261201T140000Z ]
	[ "$(rv_json '["ics"]["sequence"]')" = 2 ]
}

@test "a confirmation overtaken by a move is skipped; the change notice goes" {
	grant 1
	book_mario
	book move 1 --at '2026-12-01 15:00' >/dev/null
	run notify
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[ "$(line_json 0 '["reason"]')" = "superseded by version 2" ]
	[ "$(line_json 1 '["status"]')" = sent ]
	[ "$(mail_count)" = 1 ]
	mailcheck "$(mails)"
	rv_json '["body"]' | grep -q 'dalle 15:00 alle 16:00'
}

@test "English clients get English notices" {
	grant 2
	book add --client 2 --service Massaggio --staff marco@example.com --at '2026-12-01 11:00' >/dev/null
	notify >/dev/null
	book cancel 1 >/dev/null
	notify >/dev/null
	mailcheck "$(mails | sed -n 1p)"
	[ "$(rv_json '["subject"]')" = "Booking confirmed: Massaggio, Tuesday 1 December 2026, 11:00" ]
	rv_json '["body"]' | grep -q '^    Massaggio with Marco$'
	mailcheck "$(mails | sed -n 2p)"
	[ "$(rv_json '["subject"]')" = "Appointment cancelled: Massaggio, Tuesday 1 December 2026, 11:00" ]
}

@test "legal notices need no consent and reach restricted clients; erased clients get nothing" {
	rv_sql "UPDATE client SET restricted = 1 WHERE id = 1"
	printf 'Informativa.\n' >"$BATS_TEST_TMPDIR/policy.txt"
	consent policy add --version 2026-12 --effective 2026-12-15 \
		--url https://aurora.example/privacy --file "$BATS_TEST_TMPDIR/policy.txt" \
		--substantial >/dev/null
	now=$(date -d '2026-11-30T08:00:00+01:00' +%s)
	rv_sql "INSERT INTO message (kind, client_id, ref, recipient, next_at, created, updated) VALUES ('policy', 1, '2026-12', 'mario@example.com', $now, $now, $now)"
	rv_sql "INSERT INTO message (kind, client_id, ref, data, recipient, next_at, created, updated) VALUES ('breach', 2, 'B-7', '{\"nature\":\"A laptop was stolen.\",\"consequences\":\"Your phone number may be known.\",\"measures\":\"The disk was encrypted.\"}', 'anna@example.com', $now, $now, $now)"
	client add --name Ex --surname Client --email ex@example.com --phone 123456 >/dev/null
	rv_sql "INSERT INTO message (kind, client_id, ref, recipient, next_at, created, updated) VALUES ('policy', 3, '2026-12', 'ex@example.com', $now, $now, $now)"
	rv_sql "PRAGMA foreign_keys = ON; DELETE FROM client WHERE id = 3"
	run notify
	assert_success
	[ "$(rv_sql "SELECT kind, coalesce(client_id, 'null'), coalesce(recipient, 'null'), status, coalesce(reason, '') FROM message ORDER BY id")" = "policy|1|mario@example.com|sent|
breach|2|anna@example.com|sent|
policy|null|null|skipped|client erased" ]
	mailcheck "$(mails | sed -n 1p)"
	[ "$(rv_json '["subject"]')" = "Abbiamo aggiornato l'informativa sulla privacy" ]
	rv_json '["body"]' | grep -q 'la versione 2026-12 è in vigore a partire da$'
	mailcheck "$(mails | sed -n 2p)"
	[ "$(rv_json '["subject"]')" = "Notice of a breach of your personal data" ]
	rv_json '["body"]' | grep -q '^A laptop was stolen.$'
	rv_json '["body"]' | grep -q '^The disk was encrypted.$'
	rv_json '["body"]' | grep -q '(reference$'
}

@test "notify policy queues the notice for everyone who booked, once, without consent" {
	book_mario
	book add --client 2 --service Massaggio --staff marco@example.com --at '2026-12-01 11:00' >/dev/null
	book cancel 2 >/dev/null
	client add --name Carla --surname Verdi --email carla@example.com --phone 123456 >/dev/null
	printf 'Informativa, versione di dicembre.\n' >"$BATS_TEST_TMPDIR/policy.txt"
	consent policy add --version 2026-12 --effective 2026-12-15 \
		--url https://aurora.example/privacy --file "$BATS_TEST_TMPDIR/policy.txt" \
		--substantial >/dev/null
	consent policy add --version 2026-12b --effective 2026-12-20 \
		--url https://aurora.example/privacy --file "$BATS_TEST_TMPDIR/policy.txt" >/dev/null
	rv_sql "UPDATE client SET restricted = 1 WHERE id = 1"
	run notify policy 2026-12
	assert_success
	assert_line --index 0 --partial '"kind":"policy","client_id":1,"appointment_id":null,"version":null,"lead":null,"ref":"2026-12","recipient":"mario@example.com","status":"queued"'
	assert_line --index 1 "notify: queued 1 notice of policy 2026-12"
	[ "${#lines[@]}" -eq 2 ]
	[ "$(rv_sql "SELECT action, client_id, ref, fields FROM audit WHERE action = 'message.queue'")" = "message.queue|1|message 4|email" ]
	run notify policy 2026-12
	assert_success
	assert_output "notify: queued 0 notices of policy 2026-12; 1 client had it already"
	run notify policy 2026-12b
	assert_failure 1
	assert_output "notify: policy 2026-12b is not a substantial change: the clients need no notice (consent policy add --substantial marks one)"
	run notify policy 2027-01
	assert_failure 66
	run notify policy 'bad version'
	assert_failure 65
	run notify
	assert_success
	[ "$(rv_sql "SELECT kind, status, coalesce(reason, '') FROM message ORDER BY id")" = "confirmation|skipped|client restricted (GDPR art. 18)
confirmation|skipped|appointment cancelled
cancellation|skipped|no reminders consent
policy|sent|" ]
	mailcheck "$(mails)"
	assert_success
	[ "$(rv_json '["subject"]')" = "Abbiamo aggiornato l'informativa sulla privacy" ]
	rv_json '["body"]' | grep -qx 'martedì 15 dicembre 2026.'
	rv_json '["body"]' | grep -qx 'La può leggere qui: https://aurora.example/privacy'
	[ "$(rv_json '["list_unsubscribe"]')" = null ]
}

@test "notify policy takes the clients as operands or records on stdin" {
	printf 'Informativa.\n' >"$BATS_TEST_TMPDIR/policy.txt"
	consent policy add --version 2026-12 --effective 2026-12-15 \
		--url https://aurora.example/privacy --file "$BATS_TEST_TMPDIR/policy.txt" \
		--substantial >/dev/null
	run notify policy 2026-12 anna@example.com
	assert_success
	assert_line --index 1 "notify: queued 1 notice of policy 2026-12"
	client list | {
		run notify policy 2026-12
		assert_success
		assert_line --index 1 "notify: queued 1 notice of policy 2026-12; 1 client had it already"
	}
	[ "$(rv_sql "SELECT group_concat(client_id) FROM (SELECT client_id FROM message WHERE kind = 'policy' ORDER BY id)")" = "2,1" ]
	run notify policy 2026-12 nobody@example.com
	assert_failure 66
}

@test "marketing carries a one-click List-Unsubscribe whose token withdraws the consent" {
	grant 1 marketing
	grant 1 reminders
	now=$(date -d '2026-11-30T08:00:00+01:00' +%s)
	campaign() {
		rv_sql "INSERT INTO message (kind, client_id, ref, data, recipient, next_at, created, updated) VALUES ('marketing', 1, '$1', '{\"subject\":\"Primavera: -20% sui massaggi\",\"text\":\"Da marzo, venti per cento in meno.\"}', 'mario@example.com', $now, $now, $now)"
	}
	campaign spring
	run notify
	assert_failure 78
	assert_output "notify: config mail.unsubscribe_url is not set: marketing carries a one-click unsubscribe link (RFC 8058)"
	[ "$(rv_sql "SELECT status, attempts FROM message")" = "queued|0" ]
	printf 'unsubscribe_url = http://aurora.example/u?t={token}\n' >>"$RISERVA_CONFIG"
	run notify
	assert_failure 78
	assert_output --partial "is not an https:// URL"
	sed -i 's|^unsubscribe_url = .*|unsubscribe_url = https://aurora.example/u?t={token}\&l=it|' "$RISERVA_CONFIG"
	book_mario
	run notify
	assert_success
	[ "$(mail_count)" = 2 ]
	mailcheck "$(mails | sed -n 1p)"
	assert_success
	[ "$(rv_json '["subject"]')" = "Primavera: -20% sui massaggi" ]
	[ "$(rv_json '["list_unsubscribe_post"]')" = List-Unsubscribe=One-Click ]
	url=$(rv_json '["list_unsubscribe"]')
	[[ $url == '<https://aurora.example/u?t=u1.1.marketing.'*'&l=it>' ]]
	token=${url#*t=}
	token=${token%&l=it>}
	rv_json '["body"]' | grep -qxF "${url:1:${#url}-2}"
	# The confirmation is no consent matter: no link.
	mailcheck "$(mails | sed -n 2p)"
	[ "$(rv_json '["list_unsubscribe"]')" = null ]
	run consent unsubscribe "$token"
	assert_success
	[ "$(rv_sql "SELECT action, method FROM consent WHERE purpose = 'marketing' ORDER BY id DESC LIMIT 1")" = "withdraw|web" ]
	campaign summer
	run notify
	assert_success
	[ "$(rv_json '["reason"]')" = "no marketing consent" ]
	# Reminders carry a link that withdraws reminders.
	run remind --now '2026-11-30 10:30'
	assert_success
	mailcheck "$(mails | sed -n 3p)"
	[[ $(rv_json '["list_unsubscribe"]') == '<https://aurora.example/u?t=u1.1.reminders.'* ]]
}

@test "notify list, show and their filters" {
	grant 1
	book_mario
	book_mario '2026-12-02 10:00'
	book cancel 2 >/dev/null
	run notify list
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	run notify list --status queued --kind cancellation
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["version"]')" = 2 ]
	[ "$(rv_json '["next_attempt"]')" = 2026-11-30T08:00:00+01:00 ]
	run notify list --client anna@example.com
	assert_failure 1
	assert_output ''
	run notify list --format table
	assert_line --index 0 'ID  KIND          CLIENT  APPT  V  LEAD  STATUS  TRIES  NEXT              REASON'
	assert_line --index 3 --regexp '^ 3  cancellation       1     2  2        queued      0  2026-11-30 08:00 *$'
	run notify show 3
	assert_success
	assert_output '{"type":"message","id":3,"kind":"cancellation","client_id":1,"appointment_id":2,"version":2,"lead":null,"ref":null,"recipient":"mario@example.com","status":"queued","reason":null,"attempts":0,"next_attempt":"2026-11-30T08:00:00+01:00","message_id":null,"provider_id":null,"created":"2026-11-30T08:00:00+01:00","updated":"2026-11-30T08:00:00+01:00","sent":null}'
	run notify show 99
	assert_failure 66
	assert_output "notify: no such message 99"
	run notify list --status lost
	assert_failure 64
	assert_line --index 0 "notify: bad status 'lost': queued, sending, sent, failed or skipped"
	run notify list --kind spam
	assert_failure 64
}

@test "notify retry puts a failed message back; sent ones stay sent" {
	smtpd_stop
	smtpd_start --reject mario@example.com
	mail_config
	book_mario
	run notify
	assert_failure 1
	[ "$(rv_sql "SELECT status FROM message")" = failed ]
	smtpd_stop
	smtpd_start
	mail_config
	run notify retry 1
	assert_success
	[ "$(rv_json '["status"]')" = queued ]
	[ "$(rv_json '["attempts"]')" = 0 ]
	[ "$(rv_sql "SELECT action, client_id, ref FROM audit WHERE action = 'message.retry'")" = "message.retry|1|message 1" ]
	run notify
	assert_success
	[ "$(mail_count)" = 1 ]
	run notify retry 1
	assert_failure 1
	assert_output "notify: message 1 was sent already"
	run notify retry 5
	assert_failure 66
	run notify retry x
	assert_failure 64
}

@test "notify --limit sends at most N; the rest wait" {
	book_mario
	book_mario '2026-12-01 11:30'
	book_mario '2026-12-01 14:00'
	run notify --limit 2
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[ "$(rv_sql "SELECT group_concat(status) FROM (SELECT status FROM message ORDER BY id)")" = "sent,sent,queued" ]
	run notify --limit 0
	assert_failure 64
}

@test "output that cannot be written stops the run; what was claimed goes back, not left sending" {
	# 40 confirmations, more than a claim takes and than stdio buffers.
	s=$(date -d '2026-12-01T10:00:00+01:00' +%s)
	rv_sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
		WHERE i < 40) INSERT INTO appointment (client_id, staff_id,
		service_id, start, end, busy_end, created, updated)
		SELECT 1, 1, 1, $s + i * 7200, $s + i * 7200 + 3600,
		$s + i * 7200 + 3600, 1796022000, 1796022000 FROM n"
	rv_sql "INSERT INTO message (kind, client_id, appointment_id, version,
		recipient, next_at, created, updated) SELECT 'confirmation', 1,
		id, version, 'mario@example.com', 0, 0, 0 FROM appointment"
	run bash -c "notify -j 2>&1 >/dev/full"
	assert_failure 74
	assert_output --partial "notify: cannot write output: "
	[ "$(rv_sql "SELECT count(*) FROM message WHERE status = 'sending'")" = 0 ]
	# What went is recorded; what did not is due now, untried.
	[ "$(rv_sql "SELECT count(*) FROM message WHERE status = 'sent'")" = "$(mail_count)" ]
	[ "$(rv_sql "SELECT count(*) FROM message WHERE status = 'queued' AND attempts = 0")" -gt 0 ]
	run notify
	assert_success
	[ "$(mail_count)" = 40 ]
}

@test "notify --dry-run writes an mbox of what would go and changes nothing" {
	book_mario
	book_mario '2026-12-01 11:30'
	run notify --dry-run
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/box"
	run "$RV_PY" -c 'import mailbox,sys; m=list(mailbox.mbox(sys.argv[1])); print(len(m), m[1]["To"], m[1].get_content_type())' "$BATS_TEST_TMPDIR/box"
	assert_output "2 Mario Rossi <mario@example.com> multipart/mixed"
	[ "$(rv_sql "SELECT group_concat(status || attempts) FROM message")" = "queued0,queued0" ]
	[ "$(rv_sql "SELECT count(*) FROM meta WHERE key = 'mail.instance'")" = 0 ]
	[ "$(mail_count)" = 0 ]
}

@test "notify --dry-run only reads: a writer holding the database does not stop it" {
	book_mario
	# What a first real run stores, stored: a dry run then writes nothing.
	rv_sql "INSERT INTO meta (key, value) VALUES ('mail.instance', '00112233445566aa'), ('mail.uid_domain', 'aurora.example')"
	"$RV_PY" -c '
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").write("held")
time.sleep(5)' "$RISERVA_DB" "$BATS_TEST_TMPDIR/held" 3>&- 2>"$BATS_TEST_TMPDIR/holder.err" &
	holder=$!
	rv_wait_file "$BATS_TEST_TMPDIR/held"
	RISERVA_DB_BUSY_TIMEOUT=300 run notify --dry-run
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
	assert_success
	assert_line --index 0 --partial 'From prenotazioni@aurora.example'
}

@test "transport stdout: an mbox on standard output, and the messages are sent" {
	printf 'transport = stdout\n' >>"$RISERVA_CONFIG"
	book_mario
	run notify
	assert_success
	assert_line --index 0 'From prenotazioni@aurora.example Mon Nov 30 07:00:00 2026'
	assert_line 'Content-Type: text/calendar; charset=UTF-8; method=REQUEST;'
	[ "$(rv_sql "SELECT status FROM message")" = sent ]
	# An mbox that cannot be written is an output error, not the config's.
	book_mario '2026-12-01 11:30'
	run bash -c 'notify 2>&1 >/dev/full'
	assert_failure 74
	assert_output "notify: stdout: cannot write the mbox: No space left on device"
	[ "$(rv_sql "SELECT status, attempts FROM message WHERE id = 2")" = "queued|0" ]
}

@test "transport sendmail: sendmail -t -i reads the message with LF line ends" {
	cat >"$BATS_TEST_TMPDIR/sendmail" <<-EOF
	#!/bin/sh
	printf '%s\n' "\$*" >"$BATS_TEST_TMPDIR/sendmail.args"
	env | grep '^RISERVA_' | cut -d= -f1 >"$BATS_TEST_TMPDIR/sendmail.env"
	cat >"$BATS_TEST_TMPDIR/sendmail.msg"
	exit \${FAKE_SENDMAIL_EXIT:-0}
	EOF
	chmod +x "$BATS_TEST_TMPDIR/sendmail"
	printf 'transport = sendmail\nsendmail = %s\n' "$BATS_TEST_TMPDIR/sendmail" >>"$RISERVA_CONFIG"
	book_mario
	RISERVA_SMTP_PASSWORD=s3cret RISERVA_SENDGRID_KEY=SG.k FAKE_SENDMAIL_EXIT=75 run notify
	assert_failure 75
	assert_line --partial "notify: 1 message will be retried: $BATS_TEST_TMPDIR/sendmail exited 75"
	# Secrets set for other transports are not handed to the MTA.
	run grep -c 'PASSWORD\|SENDGRID' "$BATS_TEST_TMPDIR/sendmail.env"
	assert_output 0
	grep -q '^RISERVA_DB$' "$BATS_TEST_TMPDIR/sendmail.env"
	run notify --now '2026-11-30 08:06'
	assert_success
	[ "$(cat "$BATS_TEST_TMPDIR/sendmail.args")" = "-t -i" ]
	grep -q '^To: Mario Rossi <mario@example.com>$' "$BATS_TEST_TMPDIR/sendmail.msg"
	run grep -c $'\r' "$BATS_TEST_TMPDIR/sendmail.msg"
	assert_output 0
	book_mario '2026-12-01 11:30'
	RISERVA_MAIL_SENDMAIL=/nonexistent/sendmail run notify
	assert_failure 69
	assert_line --partial "cannot run /nonexistent/sendmail"
}

sendgrid_config() {
	printf 'transport = sendgrid\nsendgrid_url = http://127.0.0.1:%s/v3/mail/send\n' "$SG_PORT" >>"$RISERVA_CONFIG"
}

@test "transport sendmail: a sendmail that says its own setup is wrong stops the run; no message fails for it" {
	cat >"$BATS_TEST_TMPDIR/sendmail" <<-EOF
	#!/bin/sh
	cat >/dev/null
	echo "sendmail: account default not found" >&2
	exit \${FAKE_SENDMAIL_EXIT:-0}
	EOF
	chmod +x "$BATS_TEST_TMPDIR/sendmail"
	printf 'transport = sendmail\nsendmail = %s\n' "$BATS_TEST_TMPDIR/sendmail" >>"$RISERVA_CONFIG"
	book_mario
	book_mario '2026-12-01 11:30'
	# 78 EX_CONFIG (msmtp, a bad config), 77 EX_NOPERM (a refused
	# login): the same for every message, not the client's fault.
	for code in 78 77; do
		FAKE_SENDMAIL_EXIT=$code run notify
		assert_failure 78
		assert_line --partial "notify: sendmail: $BATS_TEST_TMPDIR/sendmail exited $code"
		[ "$(rv_sql "SELECT group_concat(status || '/' || attempts, ' ') FROM message ORDER BY id")" = "queued/0 queued/0" ]
	done
	# EX_NOUSER is the recipient's: that message fails, the run goes on.
	FAKE_SENDMAIL_EXIT=67 run notify
	assert_failure 1
	[ "$(rv_sql "SELECT group_concat(status, ' ') FROM message ORDER BY id")" = "failed failed" ]
}

@test "transport sendmail: one that hangs is stopped after mail.timeout, the run with it" {
	cat >"$BATS_TEST_TMPDIR/sendmail" <<-EOF
	#!/bin/sh
	echo \$\$ >"$BATS_TEST_TMPDIR/sendmail.pid"
	exec sleep 30
	EOF
	chmod +x "$BATS_TEST_TMPDIR/sendmail"
	printf 'transport = sendmail\nsendmail = %s\ntimeout = 1s\nlease = 8s\n' "$BATS_TEST_TMPDIR/sendmail" >>"$RISERVA_CONFIG"
	book_mario
	book_mario '2026-12-01 11:30'
	start=$(date +%s)
	run notify
	assert_failure 69
	[ $(( $(date +%s) - start )) -lt 5 ]
	assert_line --partial "did not finish within 1s"
	[ "$(rv_sql "SELECT group_concat(status || '/' || attempts, ' ') FROM message ORDER BY id")" = "queued/1 queued/0" ]
	# Killed, not left behind.
	run kill -0 "$(cat "$BATS_TEST_TMPDIR/sendmail.pid")"
	assert_failure
}

@test "sendgrid: 202 is sent, with the provider's message id" {
	sendgrid_start
	sendgrid_config
	book_mario
	RISERVA_SENDGRID_KEY=sg-test-key run notify
	assert_success
	[ "$(rv_json '["status"]')" = sent ]
	[ "$(rv_json '["provider_id"]')" = stub-1 ]
	run "$RV_PY" -c '
import json, sys, base64
r = json.loads(open(sys.argv[1]).readline())
b = r["body"]
print(r["status"], b["personalizations"][0]["to"][0], b["from"], b["subject"])
print(b["content"][0]["type"], b["headers"]["Auto-Submitted"], b["attachments"][0]["type"], b["attachments"][0]["filename"])
open(sys.argv[2], "wb").write(base64.b64decode(b["attachments"][0]["content"]))
' "$SG_LOG" "$BATS_TEST_TMPDIR/invite.ics"
	assert_line --index 0 "202 {'email': 'mario@example.com', 'name': 'Mario Rossi'} {'email': 'prenotazioni@aurora.example', 'name': 'Centro Aurora'} Prenotazione confermata: Massaggio, martedì 1 dicembre 2026, 10:00"
	assert_line --index 1 "text/plain auto-generated text/calendar; method=REQUEST invite.ics"
	mailcheck --ics "$BATS_TEST_TMPDIR/invite.ics"
	assert_success
	[ "$(rv_json '["method"]')" = REQUEST ]
}

@test "sendgrid: the key comes from the environment or a private file, never argv" {
	sendgrid_start
	sendgrid_config
	book_mario
	run notify
	assert_failure 78
	assert_output "notify: no SendGrid API key: set RISERVA_SENDGRID_KEY or config mail.sendgrid_key_file"
	printf 'sg-test-key\n' >"$BATS_TEST_TMPDIR/sg.key"
	chmod 644 "$BATS_TEST_TMPDIR/sg.key"
	printf 'sendgrid_key_file = %s\n' "$BATS_TEST_TMPDIR/sg.key" >>"$RISERVA_CONFIG"
	run notify
	assert_failure 78
	assert_output "notify: config mail.sendgrid_key_file: $BATS_TEST_TMPDIR/sg.key can be read by others: chmod 600 it"
	chmod 600 "$BATS_TEST_TMPDIR/sg.key"
	run notify
	assert_success
	[ "$(rv_json '["status"]')" = sent ]
}

@test "sendgrid: 429 with Retry-After is waited out, then sent" {
	sendgrid_start --throttle 2 --retry-after 1
	sendgrid_config
	book_mario
	start=$(date +%s%N)
	RISERVA_SENDGRID_KEY=sg-test-key run notify
	assert_success
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$elapsed" -ge 2000 ]
	[ "$(rv_json '["status"]')" = sent ]
	[ "$(rv_json '["attempts"]')" = 1 ]
	run "$RV_PY" -c 'import json,sys; print(" ".join(str(json.loads(l)["status"]) for l in open(sys.argv[1])))' "$SG_LOG"
	assert_output "429 429 202"
}

@test "sendgrid: throttled longer than a run waits in the queue for Retry-After" {
	sendgrid_start --throttle 1 --retry-after 3600
	sendgrid_config
	book_mario
	book_mario '2026-12-01 11:30'
	RISERVA_SENDGRID_KEY=sg-test-key run notify
	assert_failure 75
	assert_line --partial "notify: 1 message will be retried: SendGrid 429: too many requests"
	# One request: the provider said slow down, the run stopped.
	[ "$(wc -l <"$SG_LOG")" = 1 ]
	[ "$(rv_sql "SELECT status, attempts, datetime(next_at, 'unixepoch') FROM message ORDER BY id")" = "queued|1|2026-11-30 08:00:00
queued|0|2026-11-30 07:00:00" ]
	RISERVA_SENDGRID_KEY=sg-test-key run notify --now '2026-11-30 08:30'
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	RISERVA_SENDGRID_KEY=sg-test-key run notify --now '2026-11-30 09:00'
	assert_success
	[ "$(rv_sql "SELECT group_concat(status) FROM message")" = "sent,sent" ]
}

@test "sendgrid: a Retry-After that would outlast the claim is not waited out in the run" {
	sendgrid_start --throttle 1 --retry-after 8
	sendgrid_config
	printf 'timeout = 1s\nlease = 8s\n' >>"$RISERVA_CONFIG"
	book_mario
	# The first run is told to wait 8 s, as long as its whole lease; a
	# second run whose clock is past that lease finds the claim lapsed.
	RISERVA_SENDGRID_KEY=sg-test-key notify >/dev/null 2>&1 &
	first=$!
	sleep 1
	RISERVA_SENDGRID_KEY=sg-test-key notify --now '2026-11-30 08:00:09' >/dev/null 2>&1 || true
	wait $first || true
	# Never sent twice: the first run deferred instead of waiting.
	run "$RV_PY" -c 'import json,sys; print(sum(json.loads(l)["status"] == 202 for l in open(sys.argv[1])))' "$SG_LOG"
	assert_output 0
	[ "$(rv_sql "SELECT status, attempts, datetime(next_at, 'unixepoch') FROM message")" = "queued|1|2026-11-30 07:05:00" ]
}

@test "sendgrid: a 5xx that outlasts the run's tries stops the run; only one message is charged" {
	sendgrid_start --fail 100
	sendgrid_config
	book_mario
	book_mario '2026-12-01 11:30'
	book_mario '2026-12-01 14:00'
	RISERVA_SENDGRID_KEY=sg-test-key run notify
	assert_failure 75
	# The proxy's HTML page, on one line.
	assert_line "notify: 1 message will be retried: SendGrid 503: <html> <head><title>503 Service Temporarily Unavailable</title></head> <body></body> </html>"
	[ "$(rv_sql "SELECT reason FROM message WHERE id = 1")" = "SendGrid 503: <html> <head><title>503 Service Temporarily Unavailable</title></head> <body></body> </html>" ]
	# Three tries of the first message, then the run stopped.
	[ "$(wc -l <"$SG_LOG")" = 3 ]
	[ "$(rv_sql "SELECT group_concat(status || '/' || attempts, ' ') FROM message ORDER BY id")" = "queued/1 queued/0 queued/0" ]
}

@test "sendgrid: 4xx fails the message with the API's words; 401 stops the run" {
	sendgrid_start --reject mario@example.com
	sendgrid_config
	book_mario
	RISERVA_SENDGRID_KEY=sg-test-key run notify
	assert_failure 1
	[ "$(rv_sql "SELECT status, reason FROM message")" = "failed|SendGrid 400: Does not contain a valid address. (field personalizations.0.to.0.email)" ]
	book_mario '2026-12-01 11:30'
	RISERVA_SENDGRID_KEY=wrong run notify
	assert_failure 78
	assert_output "notify: sendgrid: SendGrid 401: The provided authorization grant is invalid, expired, or revoked"
	[ "$(rv_sql "SELECT status, attempts FROM message WHERE id = 2")" = "queued|0" ]
	sendgrid_stop
	RISERVA_SENDGRID_KEY=sg-test-key run notify
	assert_failure 69
}

@test "sendgrid: an API message too long for the reason is cut between characters, never inside one" {
	sendgrid_start --reject mario@example.com --reject-message "$(printf 'è%.0s' $(seq 200))"
	sendgrid_config
	book_mario
	RISERVA_SENDGRID_KEY=sg-test-key run notify
	assert_failure 1
	reason=$(line_json 0 '["reason"]')
	[[ "$reason" == "SendGrid 400: èèè"* ]]
	[ "$(rv_sql "SELECT length(CAST(reason AS BLOB)) <= 300 AND reason = CAST(CAST(reason AS BLOB) AS TEXT) FROM message")" = 1 ]
}

@test "a message erased right after it was recorded does not stop the run" {
	book_mario
	book_mario '2026-12-01 11:30'
	# As an erasure of the client would, between the record and its
	# output: the row is gone when notify reads it back.
	rv_sql "CREATE TRIGGER gone AFTER UPDATE OF status ON message
		WHEN NEW.status = 'sent' AND NEW.id = 1 BEGIN
		DELETE FROM message WHERE id = 1; END"
	run notify
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(line_json 0 '["id"]')" = 2 ]
	[ "$(mail_count)" = 2 ]
}

@test "notify: usage" {
	run notify --help
	assert_success
	assert_line --index 0 'usage: notify [send] [--dry-run] [--limit N] [--now TIME]'
	run notify frobnicate
	assert_failure 64
	assert_line --index 0 "notify: unknown verb 'frobnicate'"
	run notify --bogus
	assert_failure 64
	run notify send extra
	assert_failure 64
	run notify
	assert_success
	assert_output ''
	run notify --db "$BATS_TEST_TMPDIR/other.db" list
	assert_failure 1
	assert_file_exists "$BATS_TEST_TMPDIR/other.db"
}

@test "notify marketing queues a campaign once, only where marketing consent stands" {
	grant 1 marketing
	printf 'unsubscribe_url = https://aurora.example/u?t={token}\n' >>"$RISERVA_CONFIG"
	printf 'Da marzo, venti per cento in meno.\n' >"$BATS_TEST_TMPDIR/text"
	run notify marketing spring-2027 --subject "Primavera: -20%" --text-file "$BATS_TEST_TMPDIR/text"
	assert_success
	assert_line --index 0 --partial '"kind":"marketing","client_id":1,'
	assert_line --index 1 "notify: campaign spring-2027: 1 message queued, 0 clients had it already, 0 without marketing consent left out"
	# Named clients: the one without consent is left out; no one twice.
	run notify marketing spring-2027 --subject "Primavera: -20%" --text-file "$BATS_TEST_TMPDIR/text" 1 2
	assert_success
	assert_output "notify: campaign spring-2027: 0 messages queued, 1 client had it already, 1 without marketing consent left out"
	[ "$(rv_sql "SELECT count(*) FROM message WHERE kind = 'marketing'")" = 1 ]
	run notify
	assert_success
	mailcheck "$(mails | sed -n 1p)"
	[ "$(rv_json '["subject"]')" = "Primavera: -20%" ]
	[ "$(rv_json '["list_unsubscribe_post"]')" = List-Unsubscribe=One-Click ]
	rv_json '["body"]' | grep -qF "Da marzo, venti per cento in meno."
	run notify marketing 'bad campaign' --subject x --text-file "$BATS_TEST_TMPDIR/text"
	assert_failure 64
	run notify marketing c2 --subject x --text-file /nonexistent
	assert_failure 66
	run notify marketing c2 --text-file "$BATS_TEST_TMPDIR/text"
	assert_failure 64
}
