#!/usr/bin/env bats
# client: add, show, list, edit, import; validation; the audit of reads.

load helper

bats_require_minimum_version 1.5.0

@test "client add prints the new record with a normalized phone" {
	run client add --name Mario --surname Rossi --email mario@example.com \
		--phone '+39 333 111-2222' --birth 1980-05-02
	assert_success
	assert_output '{"type":"client","id":1,"name":"Mario","surname":"Rossi","email":"mario@example.com","phone":"+393331112222","birth":"1980-05-02","locale":"it","restricted":false,"created":"2026-11-30T08:00:00+01:00","notes":null,"updated":"2026-11-30T08:00:00+01:00"}'
}

@test "client add takes the locale from the config when not given" {
	printf '[clinic]\nlocale = en\n' >"$RISERVA_CONFIG"
	run client add --name A --surname B --email a@example.com --phone 123456
	assert_success
	[ "$(rv_json '["locale"]')" = en ]
}

@test "client add refuses what is missing or malformed, and writes nothing" {
	run client add --name Mario --surname Rossi --email mario@example.com
	assert_failure 64
	run client add --name Mario --surname Rossi --email mario@ --phone 123456
	assert_failure 65
	assert_output "client: bad email address 'mario@'"
	run client add --name Mario --surname Rossi --email m@example.com --phone 12ab
	assert_failure 65
	assert_output "client: bad phone number '12ab': digits with an optional leading +"
	run client add --name Mario --surname Rossi --email m@example.com --phone 123456 --birth 1980-02-30
	assert_failure 65
	assert_output "client: bad birth date '1980-02-30': write it as YYYY-MM-DD"
	run client add --name Mario --surname Rossi --email m@example.com --phone 123456 --locale fr
	assert_failure 65
	run client add --name '   ' --surname Rossi --email m@example.com --phone 123456
	assert_failure 65
	assert_output "client: name is empty"
	run client add --name "$(printf 'a\tb')" --surname Rossi --email m@example.com --phone 123456
	assert_failure 65
	assert_output "client: name contains a control character"
	# U+202E reverses what follows on screen; U+009B is CSI to some
	# terminals. Accents and other scripts are fine.
	run client add --name "$(printf 'Mario\342\200\256')" --surname Rossi --email m@example.com --phone 123456
	assert_failure 65
	assert_output "client: name contains a control or direction-override character"
	run client add --name Mario --surname "$(printf 'Ro\302\2332Jssi')" --email m@example.com --phone 123456
	assert_failure 65
	assert_file_not_exists "$RISERVA_DB"
	run client add --name 'Zoë' --surname 'Ñúñez Ωμέγα' --email m@example.com --phone 123456
	assert_success
}

@test "client emails are unique without regard to case" {
	client add --name Mario --surname Rossi --email mario@example.com --phone 123456
	run client add --name Maria --surname Rossa --email MARIO@Example.com --phone 123457
	assert_failure 1
	assert_output "client: a client with email 'MARIO@Example.com' already exists (id 1)"
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 1 ]
}

@test "client show names a client by id or email, and audits the read" {
	rv_centre
	run client show ANNA@example.com --reason "phone call"
	assert_success
	[ "$(rv_json '["id"]')" = 2 ]
	run client show 1
	assert_success
	[ "$(rv_json '["email"]')" = mario@example.com ]
	run rv_sql "SELECT actor, action, client_id, fields, reason FROM audit WHERE action = 'client.read' ORDER BY id"
	assert_output "tester|client.read|2|name,surname,email,phone,birth,locale,notes|phone call
tester|client.read|1|name,surname,email,phone,birth,locale,notes|"
}

@test "client show of an unknown client exits 66" {
	run client show nobody@example.com
	assert_failure 66
	assert_output "client: no such client 'nobody@example.com'"
	run client show 42
	assert_failure 66
	run client show mario
	assert_failure 66
}

@test "client list searches names, emails and phones" {
	rv_centre
	run client list --search bianchi
	assert_success
	assert_line --index 0 --partial '"email":"anna@example.com"'
	[ "${#lines[@]}" -eq 1 ]
	run client list --search 'Mario Ro'
	[ "$(rv_json '["id"]')" = 1 ]
	run client list --search '%'
	assert_output ''
	run client list
	[ "${#lines[@]}" -eq 2 ]
}

@test "client list --format csv quotes by RFC 4180, table aligns" {
	client add --name 'Anna, "Nina"' --surname Bianchi --email anna@example.com --phone 123456
	run client list --format csv
	assert_success
	assert_line --index 0 'type,id,name,surname,email,phone,birth,locale,restricted,created,updated'
	assert_line --index 1 'client,1,"Anna, ""Nina""",Bianchi,anna@example.com,123456,,it,false,2026-11-30T08:00:00+01:00,2026-11-30T08:00:00+01:00'
	run client list --format table
	assert_line --index 0 'ID  NAME          SURNAME  EMAIL             PHONE   BIRTH  LANG  RESTRICTED'
	assert_line --index 1 ' 1  Anna, "Nina"  Bianchi  anna@example.com  123456         it    false'
	run client list --format json
	assert_line --index 0 '['
	assert_line --index 2 ']'
}

@test "client edit rectifies, and the audit names only what changed" {
	rv_centre
	run client edit mario@example.com --phone 0039333 --surname Rossi --reason "asked by phone"
	assert_success
	[ "$(rv_json '["phone"]')" = 0039333 ]
	run rv_sql "SELECT fields, reason FROM audit WHERE action = 'client.edit'"
	assert_output "phone|asked by phone"
	run client edit 1 --name Mario
	assert_success
	assert_line --index 0 "client: client 1: nothing changed"
	run client edit 1 --email ANNA@example.com
	assert_failure 1
	run client edit 1 --email nope
	assert_failure 65
	run client edit 1 --birth ''
	assert_success
	run client edit 1
	assert_failure 64
}

@test "client import is all or nothing and names the bad line" {
	printf '%s\n' \
		'{"name":"A","surname":"B","email":"a@example.com","phone":"123456"}' \
		'' \
		'{"name":"C","surname":"D","email":"c@example.com","phone":"1234567"' \
		>"$BATS_TEST_TMPDIR/in"
	run client import <"$BATS_TEST_TMPDIR/in"
	assert_failure 65
	assert_output --partial "client: line 3: bad JSON"
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 0 ]
	[ "$(rv_sql 'SELECT count(*) FROM audit')" = 0 ]
}

@test "client import refuses wrong types, unknown keys and duplicates" {
	run client import <<<'{"name":"A","surname":"B","email":"a@example.com","phone":123456}'
	assert_failure 65
	assert_output 'client: line 1: "phone" must be a string'
	run client import <<<'{"name":"A","surname":"B","email":"a@example.com","phone":"123456","fone":"1"}'
	assert_failure 65
	assert_output 'client: line 1: unknown key "fone"'
	run client import <<<'[1,2]'
	assert_failure 65
	assert_output 'client: line 1: expected a JSON object'
	printf '%s\n' \
		'{"name":"A","surname":"B","email":"a@example.com","phone":"123456"}' \
		'{"name":"C","surname":"D","email":"A@example.com","phone":"1234567"}' |
		{ run client import; assert_failure 65
		  assert_output "client: line 2: a client with email 'A@example.com' already exists (id 1)"; }
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 0 ]
}

@test "client import refuses a terminal: the write lock is not held for typing" {
	command -v script >/dev/null || skip "script(1) is not installed"
	rv_centre
	run timeout 10 script -qec "client import" /dev/null </dev/null
	assert_failure 64
	assert_output --partial "pipe client records on stdin"
	# Nobody waited: a booking desk writes at once.
	run client add --name Lia --surname Neri --email lia@example.org \
	    --phone 3330000000
	assert_success
}

@test "client import reads what client list --full writes" {
	rv_centre
	client edit 1 --notes "prefers mornings" >/dev/null
	client list --full --reason "moving the register" >"$BATS_TEST_TMPDIR/out"
	export RISERVA_DB="$BATS_TEST_TMPDIR/other.db"
	run client import <"$BATS_TEST_TMPDIR/out"
	assert_success
	assert_output "client: imported 2 clients"
	[ "$(rv_sql 'SELECT email FROM client ORDER BY id' | tr '\n' ' ')" = "anna@example.com mario@example.com " ]
	[ "$(rv_sql "SELECT notes FROM client WHERE email = 'mario@example.com'")" = "prefers mornings" ]
}

@test "client list is the register; the whole records, notes included, only on the record" {
	rv_centre
	client edit 1 --notes "prefers mornings" >/dev/null
	before=$(rv_sql "SELECT count(*) FROM audit WHERE action = 'client.read'")
	run client list
	assert_success
	refute_output --partial notes
	refute_output --partial mornings
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'client.read'")" = "$before" ]
	run client list --search rossi --full --reason "asked by phone"
	assert_success
	[ "${#lines[@]}" = 1 ]
	assert_output --partial '"notes":"prefers mornings"'
	run rv_sql "SELECT client_id, ref, fields, reason FROM audit WHERE action = 'client.read' ORDER BY id DESC LIMIT 1"
	assert_output "1|client 1|name,surname,email,phone,birth,locale,notes|asked by phone"
	# A reason without --full says nothing: a usage error.
	run client list --reason x
	assert_failure 64
	# With reasons required, --full needs one, as client show does.
	RISERVA_SECURITY_REQUIRE_REASON=true run client list --full
	assert_failure 64
	# Every read is recorded before any is shown: a reader gone early
	# leaves none shown unrecorded.
	run bash -c 'client list --full --reason x | head -c 1 >/dev/null'
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'client.read' AND reason = 'x'")" = 2 ]
}

@test "the audit names fields, never their values" {
	rv_centre
	client edit 1 --notes "allergic to nuts" >/dev/null
	run rv_sql "SELECT count(*) FROM audit WHERE coalesce(fields,'') || coalesce(ref,'') LIKE '%example.com%' OR fields LIKE '%nuts%'"
	assert_output 0
	[ "$(rv_sql "SELECT fields FROM audit WHERE action='client.edit'")" = notes ]
}

@test "the database is created 0600 in a 0700 folder" {
	unset RISERVA_DB
	run client list
	assert_failure 1
	assert_file_exists "$XDG_DATA_HOME/riserva/riserva.db"
	[ "$(stat -c %a "$XDG_DATA_HOME/riserva")" = 700 ]
	[ "$(stat -c %a "$XDG_DATA_HOME/riserva/riserva.db")" = 600 ]
	run client --db "$BATS_TEST_TMPDIR/x.db" list
	assert_failure 1
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/x.db")" = 600 ]
}

@test "a database from a newer riserva is refused" {
	run client list
	assert_failure 1
	rv_sql 'PRAGMA user_version = 999'
	run client list
	assert_failure 78
	assert_output --partial "newer than this riserva knows"
}

@test "a database any user can read is used, with a warning to close it" {
	rv_centre
	chmod 644 "$RISERVA_DB"
	run --separate-stderr client list
	assert_success
	[ "$stderr" = "client: $RISERVA_DB can be read by any user of this machine (mode 0644): chmod o-rw $RISERVA_DB" ]
	# A group the centre's admins share is its choice.
	chmod 640 "$RISERVA_DB"
	run --separate-stderr client list
	assert_success
	[ "$stderr" = "" ]
}

@test "a file that is not a database is refused with 65" {
	echo "hello" >"$RISERVA_DB"
	run client list
	assert_failure 65
}

@test "config: unknown keys and bad zones are configuration errors" {
	printf '[clinic]\ntimezon = Europe/Rome\n' >"$RISERVA_CONFIG"
	run client list
	assert_failure 78
	assert_output "client: $RISERVA_CONFIG:2: unknown key 'clinic.timezon'"
	printf '[clinic]\ntimezone = Mars/Olympus\n' >"$RISERVA_CONFIG"
	run client list
	assert_failure 78
	assert_output --partial "unknown time zone 'Mars/Olympus'"
	printf '[clinic]\nname = "unterminated\n' >"$RISERVA_CONFIG"
	run client list
	assert_failure 78
	RISERVA_CLINIC_TIMEZONE=Nowhere/Land run client list --help
	assert_success
	rm "$RISERVA_CONFIG"
	RISERVA_CLINIC_TIMEZONE=Nowhere/Land run client list
	assert_failure 78
}

@test "config: an environment override that names no key is an error, as in the file" {
	# A typo here would leave logins off without a word.
	RISERVA_SECURITY_REQUIRE_LOGN=true run client list
	assert_failure 78
	assert_output "client: environment RISERVA_SECURITY_REQUIRE_LOGN: no such setting (security.require_logn)"
	RISERVA_BOOKING=15m run client list
	assert_failure 78
	assert_output "client: environment RISERVA_BOOKING: no such setting"
	RISERVA_SECURITY_REQUIRE_LOGN=true run client list --help
	assert_success
	# Only the upper-case name is read: another spelling is a typo too.
	RISERVA_security_require_login=true run client list
	assert_failure 78
	assert_output "client: environment RISERVA_security_require_login: write the name in upper case"
	# Keys, and the variables that are no keys, pass.
	RISERVA_SECURITY_REQUIRE_LOGIN=false RISERVA_SMTP_PASSWORD=x \
	    RISERVA_SENDGRID_KEY=x RISERVA_GOOGLE_CLIENT_SECRET=x run client list
	assert_failure 1
	assert_output ""
}

@test "config: a zone path that is no zone file and a locale we have no templates for are refused" {
	# glibc reads zone.tab as "no zone" and silently runs in UTC.
	RISERVA_CLINIC_TIMEZONE=zone.tab run client list
	assert_failure 78
	assert_output --partial "is not a zone file"
	RISERVA_CLINIC_LOCALE=fr run client list
	assert_failure 78
	assert_output "client: clinic.locale 'fr': it or en"
	RISERVA_CLINIC_LOCALE=en run client add --name Ann --surname Lee \
	    --email ann@example.org --phone 3331234567
	assert_success
	assert_output --partial '"locale":"en"'
}

@test "common options: help, version, unknown options and verbs" {
	run client --help
	assert_success
	assert_line --index 0 --partial "usage: client add"
	run client list -h
	assert_success
	run client --version
	assert_output "client (riserva) 0.1.0"
	run client list --bogus
	assert_failure 64
	assert_line --index 0 "client: unknown option '--bogus'"
	run client frobnicate
	assert_failure 64
	assert_line --index 0 "client: unknown verb 'frobnicate'"
	run client
	assert_failure 64
	run client list --format yaml
	assert_failure 64
	assert_output "client: bad format 'yaml': table, jsonl, json or csv"
}

@test "client complete prints matching emails for the shell" {
	rv_centre
	run client complete an
	assert_output anna@example.com
	run client complete
	assert_output "anna@example.com
mario@example.com"
}

# N client records on stdout, emails c1@example.com ...
gen_clients() {
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"name\":\"N%d\",\"surname\":\"S%d\",\"email\":\"c%d@example.com\",\"phone\":\"333%06d\"}\n", i, i, i, i }'
}

@test "client import names the duplicate's own line, in a full batch or the tail" {
	rv_centre
	# line 100 repeats line 7, in the second batch of 64
	{ gen_clients 99; gen_clients 7 | tail -n 1; gen_clients 150 | tail -n 50; } >"$BATS_TEST_TMPDIR/in"
	run client import <"$BATS_TEST_TMPDIR/in"
	assert_failure 65
	assert_output "client: line 100: a client with email 'c7@example.com' already exists (id 9)"
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 2 ]
	# line 70, in the tail, is already in the database
	{ gen_clients 69; echo '{"name":"M","surname":"R","email":"MARIO@example.com","phone":"123456"}'; } >"$BATS_TEST_TMPDIR/in"
	run client import <"$BATS_TEST_TMPDIR/in"
	assert_failure 65
	assert_output "client: line 70: a client with email 'MARIO@example.com' already exists (id 1)"
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 2 ]
}

@test "an import is one audit row naming its id range, found by client" {
	rv_centre
	gen_clients 130 | client import
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 132 ]
	[ "$(rv_sql 'SELECT min(id), max(id) FROM client WHERE email LIKE "c%"')" = "3|132" ]
	run rv_sql "SELECT action, client_id IS NULL, ref, fields FROM audit WHERE action = 'client.import'"
	assert_output "client.import|1|clients 3-132|name,surname,email,phone,locale"
	run audit list --client 100
	assert_success
	assert_output --partial '"action":"client.import"'
	run audit list --client 2
	refute_output --partial 'client.import'
}

@test "the export of an imported client shows who imported it" {
	gen_clients 3 | client import
	run gdpr-export c2@example.com --reason "access request"
	assert_success
	printf '%s\n' "$output" | python3 -c '
import json, sys
doc = json.loads(sys.stdin.read().strip().splitlines()[-1])
acts = [a["action"] for a in doc["audit"]]
assert "client.import" in acts, acts
'
}

@test "a birth date after today is refused by add, edit and import" {
	# The clock stands at 2026-11-30 in Rome.
	run client add --name Mario --surname Rossi --email m@example.com \
		--phone 123456 --birth 2026-12-01
	assert_failure 65
	assert_output "client: birth date 2026-12-01 is after today"
	run client add --name Mario --surname Rossi --email m@example.com \
		--phone 123456 --birth 2026-11-30
	assert_success
	run client edit 1 --birth 2031-01-01
	assert_failure 65
	assert_output "client: birth date 2031-01-01 is after today"
	printf '%s\n' '{"name":"Anna","surname":"Bianchi","email":"a@example.com","phone":"123456"}' \
		'{"name":"Ugo","surname":"Neri","email":"u@example.com","phone":"123457","birth":"2027-01-01"}' \
		>"$BATS_TEST_TMPDIR/in.jsonl"
	run client import <"$BATS_TEST_TMPDIR/in.jsonl"
	assert_failure 65
	assert_output "client: line 2: birth date 2027-01-01 is after today"
	[ "$(rv_sql 'SELECT count(*) || birth FROM client')" = 12026-11-30 ]
}

@test "client import on a terminal: progress by thousands, and an error on a line of its own" {
	command -v script >/dev/null || skip "script(1) is not installed"
	python3 -c '
for i in range(1, 2501):
    print("{bad" if i == 2300 else
        "{\"name\":\"N\",\"surname\":\"S%d\",\"email\":\"e%d@example.com\",\"phone\":\"3330%06d\"}" % (i, i, i))' \
		>"$BATS_TEST_TMPDIR/in.jsonl"
	# A progress line is redrawn after a carriage return: one per line.
	run bash -c "set -o pipefail; timeout 20 script -qec \"client import <'$BATS_TEST_TMPDIR/in.jsonl'\" /dev/null |
		tr '\r' '\n' | grep ."
	assert_failure 65
	assert_line --index 0 "importing: 1024"
	assert_line --index 1 "importing: 2048"
	assert_line --index 2 "client: line 2300: bad JSON: expected a key at column 2"
	# A small import shows no progress, and leaves no blank line.
	head -n 5 "$BATS_TEST_TMPDIR/in.jsonl" >"$BATS_TEST_TMPDIR/small.jsonl"
	run bash -c "set -o pipefail; timeout 20 script -qec \"client import <'$BATS_TEST_TMPDIR/small.jsonl'\" /dev/null |
		tr -d '\r'"
	assert_success
	assert_output "client: imported 5 clients"
}

@test "client import refuses a restricted client rather than drop the restriction" {
	rv_centre
	client restrict anna@example.com --reason 'accuracy contested' >/dev/null
	# The register moves to another centre's database.
	client list >"$BATS_TEST_TMPDIR/clients.jsonl"
	export RISERVA_DB="$BATS_TEST_TMPDIR/other.db"
	run client import <"$BATS_TEST_TMPDIR/clients.jsonl"
	assert_failure 65
	assert_output "client: line 1: a restricted client (GDPR art. 18): import it without \"restricted\", then restrict it here with client restrict"
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 0 ]
	# false, null or absent are fine; anything else is not a flag.
	printf '%s\n' '{"name":"A","surname":"B","email":"a@example.com","phone":"123456","restricted":false}' \
		'{"name":"C","surname":"D","email":"c@example.com","phone":"123457","restricted":null}' \
		>"$BATS_TEST_TMPDIR/ok.jsonl"
	run client import <"$BATS_TEST_TMPDIR/ok.jsonl"
	assert_success
	printf '%s\n' '{"name":"E","surname":"F","email":"e@example.com","phone":"123458","restricted":"no"}' \
		>"$BATS_TEST_TMPDIR/bad.jsonl"
	run client import <"$BATS_TEST_TMPDIR/bad.jsonl"
	assert_failure 65
	assert_output 'client: line 1: "restricted" must be true or false'
}

@test "client import with standard input closed is an error, not an empty import" {
	rv_centre
	# (bats's own run does not take a closed stdin: through bash -c.)
	run bash -c 'client import <&-'
	assert_failure 74
	assert_output --partial "client: reading stdin: "
	# With a config file there to be opened first, the same.
	printf '[clinic]\nname = Aurora\n' >"$RISERVA_CONFIG"
	run bash -c 'client import <&-'
	assert_failure 74
	# And a closed stdout or stderr changes no exit status.
	run bash -c 'client list >&-'
	assert_failure 74
	run bash -c 'client show nobody@example.com 2>&-'
	assert_failure 66
}
