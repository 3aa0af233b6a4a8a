#!/usr/bin/env bats
# mail: what the messages look like on the wire (RFC 5322, RFC 2047,
# quoted-printable, mbox), and SMTP's AUTH, STARTTLS and SMTPS.

load helper
load mail

setup() {
	rv_setup
	rv_centre
}

teardown() {
	mail_teardown
}

# A throwaway certificate for 127.0.0.1, and the config to trust it.
tls_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 \
		-keyout "$BATS_TEST_TMPDIR/key.pem" -out "$BATS_TEST_TMPDIR/cert.pem" \
		2>/dev/null
}

book_mario() {
	book add --client 1 --service Massaggio --staff giulia@example.com \
		--at "${1:-2026-12-01 10:00}" >/dev/null
}

@test "names and subjects beyond ASCII travel as RFC 2047 words and come back whole" {
	smtpd_start
	mail_config
	client add --name 'Zoë Ærøskøbing' --surname 'Łukasiewicz-Häßler de la Peña y Ñúñez' \
		--email zoe@example.com --phone 123456 --locale en >/dev/null
	book add --client 3 --service Massaggio --staff giulia@example.com \
		--at '2026-12-01 10:00' >/dev/null
	sed -i 's/^from = .*/from = Centro Benessere «Aurora» Città <prenotazioni@aurora.example>/' "$RISERVA_CONFIG"
	mkdir -p "$BATS_TEST_TMPDIR/templates/en"
	printf 'Subject: {client.name}, ti aspettiamo: è tutto pronto per il tuo {service.name} — “Città” ✓\n\n{client.name} {client.surname}\n' \
		>"$BATS_TEST_TMPDIR/templates/en/confirmation.txt"
	run notify
	assert_success
	mailcheck "$(mails)"
	assert_success
	[ "$(rv_json '["subject"]')" = "Zoë Ærøskøbing, ti aspettiamo: è tutto pronto per il tuo Massaggio — “Città” ✓" ]
	[ "$(rv_json '["to_name"]')" = "Zoë Ærøskøbing Łukasiewicz-Häßler de la Peña y Ñúñez" ]
	[ "$(rv_json '["from_name"]')" = "Centro Benessere «Aurora» Città" ]
	[ "$(rv_json '["ics"]["attendee_cn"]')" = "Zoë Ærøskøbing Łukasiewicz-Häßler de la Peña y Ñúñez" ]
	# Every header line within 78 octets, ASCII only: mailcheck says so.
	grep -q '^Subject: =?UTF-8?Q?Zo=C3=AB_' "$(mails)"
}

@test "a service or operator name of 100 characters beyond ASCII goes whole, and the queue with it" {
	smtpd_start
	mail_config
	# 100 characters, 300 bytes: more than a name's worth of ASCII.
	svc=$(printf '和%.0s' $(seq 100))
	op="Dott.ssa $(printf 'è%.0s' $(seq 91))"
	catalog add --name "$svc" --duration 30 --price 30 >/dev/null
	staff add --name "$op" --email op@example.com >/dev/null
	staff hours op@example.com mon-fri 09:00-18:00 >/dev/null
	staff services op@example.com "$svc" >/dev/null
	book add --client 1 --service "$svc" --staff op@example.com \
		--at '2026-12-01 10:00' >/dev/null
	book_mario '2026-12-02 10:00'
	run notify
	assert_success
	[ "$(mail_count)" = 2 ]
	mailcheck "$(mails | sed -n 1p)"
	assert_success
	[ "$(rv_json '["subject"]')" = "Prenotazione confermata: $svc, martedì 1 dicembre 2026, 10:00" ]
	[ "$(rv_json '["ics"]["summary"]')" = "$svc - Centro Benessere Aurora" ]
	rv_json '["body"]' | grep -qF "    $svc con $op"
}

@test "a subject is never folded before its first word: no leading blank for the reader" {
	smtpd_start
	mail_config
	book_mario
	mkdir -p "$BATS_TEST_TMPDIR/templates/it"
	# A first word too long for what is left of the Subject: line, short
	# enough for a line of its own; and one longer than any line.
	printf 'Subject: èèèèèèèèè, {client.name}\n\nCiao\n' \
		>"$BATS_TEST_TMPDIR/templates/it/confirmation.txt"
	book_mario '2026-12-02 10:00'
	run notify --limit 1
	assert_success
	mailcheck "$(mails | sed -n 1p)"
	assert_success
	[ "$(rv_json '["subject"]')" = "èèèèèèèèè, Mario" ]
	[ -n "$(rv_json '["subject_raw"]')" ]
	printf 'Subject: %s {client.name}\n\nCiao\n' "$(printf 'x%.0s' $(seq 80))" \
		>"$BATS_TEST_TMPDIR/templates/it/confirmation.txt"
	run notify
	assert_success
	mailcheck "$(mails | sed -n 2p)"
	assert_success
	[ "$(rv_json '["subject"]')" = "$(printf 'x%.0s' $(seq 80)) Mario" ]
}

@test "quoted-printable: long lines, trailing blanks, '=', a leading dot and From" {
	smtpd_start
	mail_config
	mkdir -p "$BATS_TEST_TMPDIR/templates/it"
	{
		printf 'Subject: prova\n\n'
		printf 'From the desk: 100%% = tutto.   \n'
		printf '.una riga che comincia con un punto\n'
		printf '%s\n' "$(printf 'parola%.0s ' $(seq 30))fine"
		printf 'àèìòù€\n'
	} >"$BATS_TEST_TMPDIR/templates/it/confirmation.txt"
	book_mario
	run notify
	assert_success
	mailcheck "$(mails)"
	assert_success
	[ "$(rv_json '["body"]')" = "From the desk: 100% = tutto.   
.una riga che comincia con un punto
$(printf 'parola%.0s ' $(seq 30))fine
àèìòù€" ]
	# On the wire nothing a relay or an mbox could change.
	run grep -c -e '^From ' -e '^\.' "$(mails)"
	assert_output 0
	grep -q '^=46rom the desk: 100% =3D tutto.  =20' "$(mails)"
}

@test "an mbox quotes nothing the messages did not need: From_ lines only as separators" {
	printf '[mail]\ntransport = stdout\nfrom = a@aurora.example\n' >"$RISERVA_CONFIG"
	book_mario
	book add --client 2 --service Massaggio --staff marco@example.com \
		--at '2026-12-01 11:00' >/dev/null
	run notify
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/box"
	[ "$(grep -c '^From ' "$BATS_TEST_TMPDIR/box")" = 2 ]
	run "$RV_PY" -c '
import mailbox, sys
for m in mailbox.mbox(sys.argv[1]):
    print(m["To"], m.get_content_type(), [p.get_content_type() for p in m.walk()][1:])
' "$BATS_TEST_TMPDIR/box"
	assert_output "Mario Rossi <mario@example.com> multipart/mixed ['text/plain', 'text/calendar']
Anna Bianchi <anna@example.com> multipart/mixed ['text/plain', 'text/calendar']"
}

@test "SMTP AUTH: the password from the environment or a private file" {
	smtpd_start --auth prenotazioni:s3cret
	mail_config
	printf 'user = prenotazioni\ntls = none\n' >>"$RISERVA_CONFIG"
	book_mario
	RISERVA_SMTP_PASSWORD=wrong run notify
	assert_failure 78
	assert_output --partial "notify: smtp: "
	[ "$(rv_sql "SELECT status, attempts FROM message")" = "queued|0" ]
	RISERVA_SMTP_PASSWORD=s3cret run notify
	assert_success
	[ "$(mail_count)" = 1 ]
	book_mario '2026-12-01 11:30'
	printf 's3cret\n' >"$BATS_TEST_TMPDIR/pw"
	chmod 640 "$BATS_TEST_TMPDIR/pw"
	printf 'password_file = %s\n' "$BATS_TEST_TMPDIR/pw" >>"$RISERVA_CONFIG"
	run notify
	assert_failure 78
	assert_output "notify: config mail.password_file: $BATS_TEST_TMPDIR/pw can be read by others: chmod 600 it"
	chmod 600 "$BATS_TEST_TMPDIR/pw"
	run notify
	assert_success
	[ "$(mail_count)" = 2 ]
}

@test "tls = auto never sends a password in clear" {
	smtpd_start --auth prenotazioni:s3cret
	mail_config
	printf 'user = prenotazioni\n' >>"$RISERVA_CONFIG"
	book_mario
	RISERVA_SMTP_PASSWORD=s3cret run notify
	assert_failure 78
	[ "$(mail_count)" = 0 ]
	[ "$(rv_sql "SELECT status, attempts FROM message")" = "queued|0" ]
}

@test "tls = none sends a password in clear only to this machine" {
	smtpd_start --auth prenotazioni:s3cret
	mail_config
	printf 'user = prenotazioni\ntls = none\n' >>"$RISERVA_CONFIG"
	book_mario
	# 192.0.2.1 (TEST-NET-1) is never reached: refused before connecting.
	RISERVA_MAIL_URL=smtp://192.0.2.1:25 RISERVA_SMTP_PASSWORD=s3cret run notify
	assert_failure 78
	assert_output --partial "notify: config mail.tls: none would send the SMTP password in clear"
	refute_output --partial s3cret
	[ "$(rv_sql "SELECT status, attempts FROM message")" = "queued|0" ]
	RISERVA_SMTP_PASSWORD=s3cret run notify
	assert_success
	[ "$(mail_count)" = 1 ]
}

@test "STARTTLS with a verified certificate, then AUTH" {
	tls_cert
	smtpd_start --cert "$BATS_TEST_TMPDIR/cert.pem" --key "$BATS_TEST_TMPDIR/key.pem" \
		--require-tls --auth prenotazioni:s3cret
	mail_config
	printf 'user = prenotazioni\n' >>"$RISERVA_CONFIG"
	book_mario
	# Not trusted: refused, nothing sent, nothing lost.
	RISERVA_SMTP_PASSWORD=s3cret run notify
	assert_failure 78
	[ "$(rv_sql "SELECT status, attempts FROM message")" = "queued|0" ]
	printf 'cainfo = %s\n' "$BATS_TEST_TMPDIR/cert.pem" >>"$RISERVA_CONFIG"
	RISERVA_SMTP_PASSWORD=s3cret run notify
	assert_success
	[ "$(mail_count)" = 1 ]
}

@test "SMTPS: TLS from the first byte" {
	tls_cert
	smtpd_start --cert "$BATS_TEST_TMPDIR/cert.pem" --key "$BATS_TEST_TMPDIR/key.pem" --smtps
	mail_config
	sed -i "s|^url = .*|url = smtps://127.0.0.1:$SMTP_PORT|" "$RISERVA_CONFIG"
	printf 'cainfo = %s\n' "$BATS_TEST_TMPDIR/cert.pem" >>"$RISERVA_CONFIG"
	book_mario
	run notify
	assert_success
	[ "$(mail_count)" = 1 ]
	sed -i "s|^url = .*|url = http://127.0.0.1:$SMTP_PORT|" "$RISERVA_CONFIG"
	run notify
	assert_failure 78
	assert_output "notify: config mail.url: 'http://127.0.0.1:$SMTP_PORT' is not an smtp:// or smtps:// URL"
}

@test "a message keeps its Message-ID when it is tried again" {
	smtpd_start
	mail_config
	book_mario
	RISERVA_MAIL_URL=smtp://127.0.0.1:1 run notify
	assert_failure 69
	run notify --now '2026-11-30 08:06'
	assert_success
	inst=$(rv_sql "SELECT value FROM meta WHERE key = 'mail.instance'")
	[ "$(rv_json '["message_id"]')" = "<rv.1.$inst@aurora.example>" ]
	grep -qx "Message-ID: <rv.1.$inst@aurora.example>"$'\r' "$(mails)"
}

@test "the provider id is the server's queue id, as Postfix or Exim names it" {
	mail_config
	book_mario
	book_mario '2026-12-02 10:00'
	book_mario '2026-12-03 10:00'
	for reply in '250 2.0.0 Ok: queued as 4XyZ12ab' \
	    '250 OK id=1rAbCd-000042-Xy' '250 Message accepted'; do
		smtpd_start --accepted "$reply"
		RISERVA_MAIL_URL="smtp://127.0.0.1:$SMTP_PORT" run notify --limit 1
		assert_success
		[ "$(rv_json '["status"]')" = sent ]
		smtpd_stop
	done
	[ "$(rv_sql "SELECT group_concat(coalesce(provider_id, '-'), ' ') FROM
	    (SELECT provider_id FROM message ORDER BY id)")" = "4XyZ12ab 1rAbCd-000042-Xy -" ]
}

@test "bad mail settings are configuration errors, and nothing is lost" {
	smtpd_start
	mail_config
	book_mario
	for kv in "transport=pigeon" "tls=maybe" "from=nobody" "backoff=soon" \
	    "lease=1m" "sendgrid_url=ftp://x"; do
		k=${kv%%=*} v=${kv#*=}
		[ "$k" = sendgrid_url ] && export RISERVA_MAIL_TRANSPORT=sendgrid
		env "RISERVA_MAIL_${k^^}=$v" notify >/dev/null 2>&1 && fail "$kv accepted"
		env "RISERVA_MAIL_${k^^}=$v" notify >/dev/null 2>&1 || [ $? -eq 78 ] || fail "$kv: not 78"
		unset RISERVA_MAIL_TRANSPORT
	done
	RISERVA_MAIL_TRANSPORT=pigeon run notify
	assert_output "notify: config mail.transport: 'pigeon' is not smtp, sendgrid, sendmail or stdout"
	[ "$(rv_sql "SELECT status, attempts FROM message")" = "queued|0" ]
}

@test "credentials in mail.url are refused, and the URL is not echoed" {
	smtpd_start
	mail_config
	book_mario
	RISERVA_MAIL_URL="smtp://centro:S3cret@127.0.0.1:$SMTP_PORT" run notify
	assert_failure 78
	assert_output "notify: config mail.url: a user or password does not belong in the URL; use mail.user and mail.password_file (or RISERVA_SMTP_PASSWORD)"
	[ "$(rv_sql "SELECT status, attempts FROM message")" = "queued|0" ]
	# An '@' after the host is a path, not a user.
	RISERVA_MAIL_URL="smtp://127.0.0.1:$SMTP_PORT/x@y" run notify
	assert_success
}

@test "SendGrid over plain http only to this machine: the API key is not sent in clear" {
	mail_config
	book_mario
	RISERVA_MAIL_TRANSPORT=sendgrid RISERVA_SENDGRID_KEY=SG.k \
	RISERVA_MAIL_SENDGRID_URL=http://sendgrid.example/v3/mail/send run notify
	assert_failure 78
	assert_output --partial "is plain http to another machine"
	RISERVA_MAIL_TRANSPORT=sendgrid RISERVA_SENDGRID_KEY=SG.k \
	RISERVA_MAIL_SENDGRID_URL=http://localhost.example/v3/mail/send run notify
	assert_failure 78
	[ "$(rv_sql "SELECT status, attempts FROM message")" = "queued|0" ]
}

@test "an address written around the tools cannot smuggle an SMTP command" {
	smtpd_start
	mail_config
	book_mario
	rv_sql "UPDATE client SET email = 'mario@example.com>' || char(13, 10) || 'RCPT TO:<x@evil.example' WHERE id = 1"
	run notify
	assert_success
	[ "$(rv_json '["status"]')" = skipped ]
	[ "$(rv_json '["reason"]')" = "bad email address" ]
	[ "$(mail_count)" = 0 ]
}

@test "a sender the server refuses stops the run: no client's message is failed for it" {
	smtpd_start --reject-sender prenotazioni@aurora.example
	mail_config
	book_mario
	book_mario '2026-12-02 10:00'
	run notify
	assert_failure 78
	assert_output --partial "refused the sender"
	[ "$(rv_sql "SELECT group_concat(status || '/' || attempts, ' ') FROM message")" = "queued/0 queued/0" ]
	smtpd_stop
	smtpd_start --tempfail-sender prenotazioni@aurora.example
	RISERVA_MAIL_URL="smtp://127.0.0.1:$SMTP_PORT" run notify
	assert_failure 69
	# One try, and the run stopped before the second message.
	[ "$(rv_sql "SELECT group_concat(status || '/' || attempts, ' ') FROM message ORDER BY id")" = "queued/1 queued/0" ]
	smtpd_stop
	smtpd_start
	RISERVA_MAIL_URL="smtp://127.0.0.1:$SMTP_PORT" run notify --now '2026-11-30 09:00'
	assert_success
	[ "$(mail_count)" = 2 ]
}

@test "a server that answers 421 is unavailable: the run stops, exit 69, the rest wait untried" {
	smtpd_start --busy
	mail_config
	book_mario
	book_mario '2026-12-02 10:00'
	book_mario '2026-12-03 10:00'
	run notify
	assert_failure 69
	assert_output --partial "notify: the mail transport is unreachable: "
	assert_output --partial "(SMTP 421)"
	# One connection, one try; the others were not charged an attempt.
	[ "$(rv_sql "SELECT group_concat(status || '/' || attempts, ' ') FROM message ORDER BY id")" = "queued/1 queued/0 queued/0" ]
	[ "$(wc -l <"$MAILDIR.conns")" -eq 1 ]
	smtpd_stop
	smtpd_start
	RISERVA_MAIL_URL="smtp://127.0.0.1:$SMTP_PORT" run notify --now '2026-11-30 09:00'
	assert_success
	[ "$(mail_count)" = 3 ]
}

@test "a server that refuses the session (554 greeting) fails no message: the run stops, exit 69" {
	smtpd_start --refuse
	mail_config
	book_mario
	book_mario '2026-12-02 10:00'
	run notify
	assert_failure 69
	assert_output --partial "notify: the mail transport is unreachable: "
	assert_output --partial "(SMTP 554)"
	[ "$(rv_sql "SELECT group_concat(status || '/' || attempts, ' ') FROM message ORDER BY id")" = "queued/1 queued/0" ]
	[ "$(wc -l <"$MAILDIR.conns")" -eq 1 ]
}
