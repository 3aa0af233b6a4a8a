# gcal.bash — the Google emulator for gcal-sync's tests (and its benchmark):
# start and stop it, drive its control endpoints, and play the browser.
# Needs RV_ROOT, and GCAL_TMP (a private folder; the test's by default).

: "${GCAL_TMP:=$BATS_TEST_TMPDIR}"

# Starts t/gcal_emu.py on a free loopback port and points the config at it.
# Extra arguments go to the emulator.
emu_start() {
	rm -f "$GCAL_TMP/emu.port"
	/usr/bin/python3 "$RV_ROOT/t/gcal_emu.py" --port-file "$GCAL_TMP/emu.port" \
		--client-id riserva-test.apps.example --client-secret s3cret "$@" \
		>/dev/null 2>"$GCAL_TMP/emu.log" 3>&- &
	EMU_PID=$!
	local i
	# A loaded machine can be slow to start Python: up to 30 s.
	for i in $(seq 600); do
		[ -s "$GCAL_TMP/emu.port" ] && break
		sleep 0.05
	done
	if [ ! -s "$GCAL_TMP/emu.port" ]; then
		echo "emu_start: the emulator did not start:" >&2
		cat "$GCAL_TMP/emu.log" >&2
		return 1
	fi
	EMU_PORT=$(cat "$GCAL_TMP/emu.port")
	EMU="http://127.0.0.1:$EMU_PORT"
	printf 's3cret\n' >"$GCAL_TMP/client_secret"
	chmod 600 "$GCAL_TMP/client_secret"
	cat >>"$RISERVA_CONFIG" <<-EOF
	[google]
	client_id = riserva-test.apps.example
	client_secret_file = $GCAL_TMP/client_secret
	auth_url = $EMU/o/oauth2/v2/auth
	token_url = $EMU/token
	revoke_url = $EMU/revoke
	userinfo_url = $EMU/v1/userinfo
	api_url = $EMU/calendar/v3
	retry_base_ms = 10
	retry_max_ms = 100
	EOF
}

emu_stop() {
	if [ -n "${EMU_PID:-}" ]; then
		kill "$EMU_PID" 2>/dev/null
		wait "$EMU_PID" 2>/dev/null || true
		EMU_PID=
	fi
}

# emu METHOD PATH [JSON]: a control request; prints the answer's body.
emu() {
	/usr/bin/python3 - "$EMU" "$@" <<-'EOF'
	import sys, urllib.request, urllib.error
	base, method, path = sys.argv[1:4]
	data = sys.argv[4].encode() if len(sys.argv) > 4 else None
	req = urllib.request.Request(base + path, data=data, method=method,
	                             headers={"Content-Type": "application/json"})
	try:
	    with urllib.request.urlopen(req) as f:
	        print(f.read().decode())
	except urllib.error.HTTPError as e:
	    print(e.read().decode())
	EOF
}

# emu_count OP [STATUS]: how many such requests the emulator served.
emu_count() {
	emu GET "/_emu/count?op=$1${2:+&status=$2}"
}

# emu_events EMAIL EXPR: a Python expression over the calendar's events
# (the list "ev", deleted ones too), printed.
emu_events() {
	emu GET "/_emu/calendars/$1/events" | /usr/bin/python3 -c '
import json, sys
ev = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$2"
}

# browse URL: what a browser does with the address connect prints: follow
# the redirect to the loopback listener; prints the final page.
browse() {
	/usr/bin/python3 - "$1" <<-'EOF'
	import sys, urllib.request, urllib.error
	try:
	    with urllib.request.urlopen(sys.argv[1], timeout=10) as f:
	        print(f.read().decode())
	except urllib.error.HTTPError as e:
	    print(e.read().decode())
	EOF
}

# gcal_connect STAFF [CONSENT_JSON [ARGS...]]: runs connect, plays the
# browser; sets status, and output (stdout then stderr) like `run`.
gcal_connect() {
	local staff=$1 consent=${2:-} url= i pid
	shift
	[ $# -gt 0 ] && shift
	[ -n "$consent" ] && emu POST /_emu/consent "$consent" >/dev/null
	# Emptied here, not by the background job's redirection: else the
	# loop below may read the previous run's address before it is.
	: >"$GCAL_TMP/connect.out"
	: >"$GCAL_TMP/connect.err"
	gcal-sync connect "$staff" --no-browser "$@" \
		>"$GCAL_TMP/connect.out" 2>"$GCAL_TMP/connect.err" 3>&- &
	pid=$!
	for i in $(seq 600); do
		url=$(grep -o "$EMU/o/oauth2/v2/auth?[^ ]*" "$GCAL_TMP/connect.err" \
			2>/dev/null) &&
			break
		sleep 0.05
	done
	[ -n "$url" ] && browse "$url" >"$GCAL_TMP/browser.out"
	status=0
	wait "$pid" || status=$?
	output=$(cat "$GCAL_TMP/connect.out" "$GCAL_TMP/connect.err")
}
