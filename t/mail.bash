# mail.bash — loaded by the mail tests: the loopback SMTP server and the
# SendGrid stub, consent rows, a centre with mail configured.

# The test servers run on Debian's Python, where python3-aiosmtpd lives.
RV_PY=/usr/bin/python3

# smtpd_start [smtpd.py options]: a real SMTP server on a free port; the
# messages land in $MAILDIR, one connection per line in $MAILDIR.conns.
smtpd_start() {
	MAILDIR="$BATS_TEST_TMPDIR/mail"
	mkdir -p "$MAILDIR"
	rm -f "$BATS_TEST_TMPDIR/smtpd.port"
	"$RV_PY" "$RV_ROOT/t/smtpd.py" --dir "$MAILDIR" \
		--port-file "$BATS_TEST_TMPDIR/smtpd.port" \
		--connections "$MAILDIR.conns" "$@" \
		2>"$BATS_TEST_TMPDIR/smtpd.err" &
	echo $! >"$BATS_TEST_TMPDIR/smtpd.pid"
	rv_wait_file "$BATS_TEST_TMPDIR/smtpd.port"
	SMTP_PORT=$(cat "$BATS_TEST_TMPDIR/smtpd.port")
}

smtpd_stop() {
	rv_stop_pid "$BATS_TEST_TMPDIR/smtpd.pid"
}

# sendgrid_start [sendgrid_stub.py options]: the stub with key "sg-test-key";
# requests are logged in $SG_LOG.
sendgrid_start() {
	SG_LOG="$BATS_TEST_TMPDIR/sendgrid.log"
	: >"$SG_LOG"
	rm -f "$BATS_TEST_TMPDIR/sendgrid.port"
	"$RV_PY" "$RV_ROOT/t/sendgrid_stub.py" --key sg-test-key \
		--log "$SG_LOG" --port-file "$BATS_TEST_TMPDIR/sendgrid.port" \
		"$@" 2>"$BATS_TEST_TMPDIR/sendgrid.err" &
	echo $! >"$BATS_TEST_TMPDIR/sendgrid.pid"
	rv_wait_file "$BATS_TEST_TMPDIR/sendgrid.port"
	SG_PORT=$(cat "$BATS_TEST_TMPDIR/sendgrid.port")
}

sendgrid_stop() {
	rv_stop_pid "$BATS_TEST_TMPDIR/sendgrid.pid"
}

rv_wait_file() {
	local i
	for i in $(seq 100); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	echo "no $1 after 5 s" >&2
	cat "$BATS_TEST_TMPDIR"/*.err >&2 2>/dev/null
	return 1
}

rv_stop_pid() {
	[ -f "$1" ] || return 0
	kill "$(cat "$1")" 2>/dev/null
	wait "$(cat "$1")" 2>/dev/null
	rm -f "$1"
}

mail_teardown() {
	smtpd_stop
	sendgrid_stop
}

# grant C [PURPOSE], withdraw C [PURPOSE]: through the consent tool.
grant() { consent grant "$1" "${2:-reminders}" >/dev/null; }
withdraw() { consent withdraw "$1" "${2:-reminders}" >/dev/null; }

# rv_centre with the clinic's details and mail through the SMTP server.
mail_centre() {
	rv_centre
	mail_config
}

# The config: the clinic's details, mail through the SMTP server.
mail_config() {
	cat >"$RISERVA_CONFIG" <<-CONF
	[clinic]
	name = Centro Benessere Aurora
	address = Via Roma 1, Milano
	phone = +39 02 1234 5678
	email = info@aurora.example
	[mail]
	transport = smtp
	url = smtp://127.0.0.1:${SMTP_PORT:-9}
	from = Centro Aurora <prenotazioni@aurora.example>
	CONF
}

# The messages received, in order.
mails() {
	ls "$MAILDIR" 2>/dev/null | grep '\.eml$' | sed "s|^|$MAILDIR/|"
}

mail_count() {
	mails | wc -l | tr -d ' '
}

# mailcheck FILE: strict checks; the last line of $output is the JSON.
mailcheck() {
	run "$RV_PY" "$RV_ROOT/t/mailcheck.py" "$@"
}
