#!/usr/bin/env bats
# auth: staff passwords (PBKDF2-SHA256), logins, sessions, roles.

load helper

t_kat() {
	"$RV_ROOT/t/kat" "$@"
}

hex() {
	printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
}

# A low count keeps the tests quick; one test checks the default.
setup() {
	rv_setup
	export RISERVA_SECURITY_PBKDF2_ITERATIONS=1000
}

# rv_centre's people with a role each and a password, and an admin.
#   staff 3 boss@example.com admin, staff 4 desk@example.com reception
staff_centre() {
	rv_centre
	staff edit giulia@example.com --role operator >/dev/null
	staff add --name Boss --email boss@example.com --role admin >/dev/null
	staff add --name Desk --email desk@example.com --role reception >/dev/null
	for who in giulia marco boss desk; do
		printf '%s\n' "secret-$who" | staff passwd "$who@example.com" >/dev/null
	done
}

login_as() {
	printf 'secret-%s\n' "$1" | staff login "$1@example.com" >/dev/null
}

token_file() {
	ls "$XDG_RUNTIME_DIR"/riserva/session-*
}

@test "PBKDF2-HMAC-SHA256 gives the published known answers" {
	# RFC 6070's inputs with SHA-256 (as published on Stack Overflow,
	# question 5130513) and RFC 7914 section 11.
	run t_kat pbkdf2 "$(hex password)" "$(hex salt)" 1 32
	assert_output 120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b
	run t_kat pbkdf2 "$(hex password)" "$(hex salt)" 2 32
	assert_output ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43
	run t_kat pbkdf2 "$(hex password)" "$(hex salt)" 4096 32
	assert_output c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a
	run t_kat pbkdf2 "$(hex passwordPASSWORDpassword)" \
		"$(hex saltSALTsaltSALTsaltSALTsaltSALTsalt)" 4096 40
	assert_output 348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9
	run t_kat pbkdf2 7061737300776f7264 7361006c74 4096 16
	assert_output 89b69d0516f829893c696226650a8687
	run t_kat pbkdf2 "$(hex passwd)" "$(hex salt)" 1 64
	assert_output 55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783
}

@test "the audit chain's HMAC-SHA256 gives RFC 4231's known answers" {
	run t_kat hmac "$(hex Jefe)" "$(hex 'what do ya want for nothing?')"
	assert_output 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843
	run t_kat hmac 0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b "$(hex 'Hi There')"
	assert_output b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7
}

@test "staff passwd stores PBKDF2-SHA256 with a salt and 210,000 iterations" {
	unset RISERVA_SECURITY_PBKDF2_ITERATIONS
	rv_centre
	run staff passwd giulia@example.com <<<"correct horse battery"
	assert_success
	[ "$(rv_json '["email"]')" = giulia@example.com ]
	run rv_sql "SELECT algo, iterations, length(salt), length(hash) FROM staff_auth"
	assert_output "pbkdf2-sha256|210000|16|32"
	# The stored hash is PBKDF2 of the password, computed independently.
	salt=$(rv_sql "SELECT hex(salt) FROM staff_auth")
	want=$(python3 -c 'import hashlib,sys; print(hashlib.pbkdf2_hmac("sha256", b"correct horse battery", bytes.fromhex(sys.argv[1]), 210000).hex())' "$salt")
	[ "$(rv_sql "SELECT lower(hex(hash)) FROM staff_auth")" = "$want" ]
	# Two members with one password: two salts, two hashes.
	staff passwd marco@example.com <<<"correct horse battery" >/dev/null
	[ "$(rv_sql "SELECT count(DISTINCT salt) || count(DISTINCT hash) FROM staff_auth")" = 22 ]
	run rv_sql "SELECT actor, action, ref, fields FROM audit WHERE action = 'staff.passwd'"
	assert_line --index 0 "tester|staff.passwd|staff 1|password"
	! grep -q "correct horse" "$RISERVA_DB"
}

@test "staff passwd never takes the password from argv and checks its length" {
	rv_centre
	run staff passwd giulia@example.com hunter2hunter2
	assert_failure 64
	run staff passwd giulia@example.com <<<"short"
	assert_failure 65
	assert_output "staff: the password is too short (at least 10 characters: security.password_min)"
	run staff passwd nobody@example.com <<<"long enough password"
	assert_failure 66
	[ "$(rv_sql 'SELECT count(*) FROM staff_auth')" = 0 ]
}

@test "staff login starts a session: a 0600 token file, only its hash stored" {
	staff_centre
	run staff login giulia@example.com <<<"secret-giulia"
	assert_success
	assert_output '{"type":"session","id":1,"staff_id":1,"email":"giulia@example.com","role":"operator","started":"2026-11-30T08:00:00+01:00","last_used":"2026-11-30T08:00:00+01:00","expires":"2026-11-30T08:05:00+01:00"}'
	f=$(token_file)
	[ "$(stat -c %a "$f")" = 600 ]
	[ "$(stat -c %a "$XDG_RUNTIME_DIR/riserva")" = 700 ]
	token=$(cat "$f")
	[ "${#token}" -eq 64 ]
	want=$(printf '%s' "$token" | python3 -c 'import hashlib,sys; print(hashlib.sha256(bytes.fromhex(sys.stdin.read())).hexdigest())')
	[ "$(rv_sql 'SELECT lower(hex(token_hash)) FROM session')" = "$want" ]
	! grep -q "$token" "$RISERVA_DB"
	# The email may come from stdin too, before the password.
	run staff login <<<$'marco@example.com\nsecret-marco'
	assert_success
	[ "$(rv_json '["email"]')" = marco@example.com ]
	run staff whoami
	assert_success
	[ "$(rv_json '["role"]')" = operator ]
	[ "$(rv_json '["staff_id"]')" = 2 ]
}

@test "a new login at the same terminal ends the session it replaces" {
	staff_centre
	staff login giulia@example.com <<<"secret-giulia" >/dev/null
	old=$(cat "$(token_file)")
	run staff login marco@example.com <<<"secret-marco"
	assert_success
	[ "$(rv_sql 'SELECT group_concat(staff_id) FROM session')" = 2 ]
	run rv_sql "SELECT actor, action, ref FROM audit WHERE action = 'staff.session_replaced'"
	assert_output "marco@example.com|staff.session_replaced|staff 1"
	# Giulia's token, had it been copied, no longer works.
	printf '%s\n' "$old" >"$(token_file)"
	run staff whoami
	assert_failure 1
	assert_output "staff: not logged in; acting as 'tester'"
}

@test "a wrong password or an unknown account is refused alike, and audited" {
	staff_centre
	run staff login giulia@example.com <<<"secret-marco"
	assert_failure 77
	assert_output "staff: wrong email or password"
	run staff login nobody@example.com <<<"secret-giulia"
	assert_failure 77
	assert_output "staff: wrong email or password"
	run staff whoami
	assert_failure 1
	assert_output "staff: not logged in; acting as 'tester'"
	[ ! -e "$XDG_RUNTIME_DIR/riserva" ] || [ -z "$(ls "$XDG_RUNTIME_DIR/riserva")" ]
	run rv_sql "SELECT actor, action, ref FROM audit WHERE action LIKE 'staff.login%'"
	assert_output "tester|staff.login_failed|staff 1
tester|staff.login_failed|unknown account"
	[ "$(rv_sql 'SELECT failed FROM staff_auth WHERE staff_id = 1')" = 1 ]
}

@test "failed logins wait longer each time, then lock the account" {
	staff_centre
	export RISERVA_SECURITY_LOGIN_ATTEMPTS=3
	run staff login giulia@example.com <<<"wrong password"
	assert_failure 77
	# 5 s after one failure, 10 s after two.
	run staff login giulia@example.com <<<"secret-giulia"
	assert_failure 75
	assert_output "staff: too many failed logins: wait 5 s before trying again"
	export RISERVA_NOW=2026-11-30T08:00:05+01:00
	run staff login giulia@example.com <<<"wrong again"
	assert_failure 77
	export RISERVA_NOW=2026-11-30T08:00:14+01:00
	run staff login giulia@example.com <<<"secret-giulia"
	assert_failure 75
	assert_output "staff: too many failed logins: wait 1 s before trying again"
	export RISERVA_NOW=2026-11-30T08:00:15+01:00
	run staff login giulia@example.com <<<"third wrong"
	assert_failure 77
	assert_output "staff: wrong email or password; the account is now locked"
	# Locked: even the right password, even much later.
	export RISERVA_NOW=2026-12-01T08:00:00+01:00
	run staff login giulia@example.com <<<"secret-giulia"
	assert_failure 77
	assert_output "staff: the account giulia@example.com is locked after 3 failed logins: an admin must set a new password (staff passwd)"
	run rv_sql "SELECT action FROM audit WHERE ref = 'staff 1' AND action LIKE 'staff.l%' ORDER BY id"
	assert_output "staff.login_failed
staff.login_paced
staff.login_failed
staff.login_paced
staff.login_failed
staff.lock
staff.login_locked"
	# A new password unlocks.
	staff passwd giulia@example.com <<<"a new secret" >/dev/null
	run staff login giulia@example.com <<<"a new secret"
	assert_success
}

@test "logins tried at once are paced like logins tried in turn" {
	staff_centre
	# The real count: each guess takes long enough for the others to start.
	unset RISERVA_SECURITY_PBKDF2_ITERATIONS
	staff passwd giulia@example.com <<<"secret-giulia" >/dev/null
	for i in 1 2 3 4 5 6 7 8; do
		staff login giulia@example.com <<<"guess $i" >/dev/null \
			2>"$BATS_TEST_TMPDIR/err$i" &
	done
	wait
	# One guess was tried; the others were told to wait, not let through.
	[ "$(rv_sql "SELECT failed, locked FROM staff_auth WHERE staff_id = 1")" = "1|0" ]
	[ "$(cat "$BATS_TEST_TMPDIR"/err* | grep -c '^staff: wrong email or password$')" = 1 ]
	[ "$(cat "$BATS_TEST_TMPDIR"/err* | grep -c '^staff: too many failed logins: wait [0-9]* s before trying again$')" = 7 ]
	run rv_sql "SELECT action, count(*) FROM audit WHERE ref = 'staff 1' AND action LIKE 'staff.lo%' GROUP BY action ORDER BY action"
	assert_output "staff.login_failed|1
staff.login_paced|7"
}

@test "a session ends after 5 minutes without use, and use keeps it alive" {
	staff_centre
	login_as boss
	export RISERVA_NOW=2026-11-30T08:04:00+01:00
	run staff whoami
	assert_success
	[ "$(rv_json '["expires"]')" = 2026-11-30T08:09:00+01:00 ]
	# Exactly 5 idle minutes is still inside.
	export RISERVA_NOW=2026-11-30T08:09:00+01:00
	run client list
	assert_success
	[ "$(rv_sql 'SELECT actor FROM audit ORDER BY id DESC LIMIT 1')" = boss@example.com ]
	export RISERVA_NOW=2026-11-30T08:14:01+01:00
	run staff whoami
	assert_failure 1
	assert_output "staff: not logged in; acting as 'tester'"
	[ -z "$(ls "$XDG_RUNTIME_DIR/riserva")" ]
	[ "$(rv_sql 'SELECT count(*) FROM session')" = 0 ]
	run rv_sql "SELECT at, actor, action FROM audit WHERE action = 'staff.session_expired'"
	assert_output "$(date -d 2026-11-30T08:14:01+01:00 +%s)|boss@example.com|staff.session_expired"
}

@test "a logged-in reader does not wait for a writer to note the session's use" {
	staff_centre
	login_as boss
	export RISERVA_DB_BUSY_TIMEOUT=20000
	# A writer holds the write lock for 4 seconds.
	{
		printf 'BEGIN IMMEDIATE;\n'
		printf '.shell touch %s\n' "$BATS_TEST_TMPDIR/locked"
		printf '.shell sleep 4\n'
		printf 'COMMIT;\n'
	} | sqlite3 "$RISERVA_DB" &
	writer=$!
	while [ ! -e "$BATS_TEST_TMPDIR/locked" ]; do sleep 0.05; done
	export RISERVA_NOW=2026-11-30T08:01:00+01:00
	run client list
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	# Done while the writer still holds the lock.
	kill -0 "$writer"
	wait "$writer"
	# That use could not be noted; the next one is.
	[ "$(rv_sql 'SELECT last_used FROM session')" = "$(date -d 2026-11-30T08:00:00+01:00 +%s)" ]
	export RISERVA_NOW=2026-11-30T08:02:00+01:00
	run staff whoami
	assert_success
	[ "$(rv_json '["last_used"]')" = 2026-11-30T08:02:00+01:00 ]
}

@test "with logins required, an expired session is refused with 77" {
	staff_centre
	login_as desk
	export RISERVA_SECURITY_REQUIRE_LOGIN=true
	run client list
	assert_success
	export RISERVA_NOW=2026-11-30T08:05:01+01:00
	run client list
	assert_failure 77
	assert_output "client: the session ended after 5 minutes without use: log in again with 'staff login'"
	run client list
	assert_failure 77
	assert_output "client: 'client list' needs a login (security.require_login is on): staff login"
}

@test "the logged-in staff member is the actor of every audit row" {
	staff_centre
	login_as desk
	client add --name Lia --surname Verdi --email lia@example.com --phone 123456 >/dev/null
	book add --client lia@example.com --service Massaggio --staff marco@example.com \
		--at '2026-12-01 11:00' >/dev/null
	run rv_sql "SELECT actor, action FROM audit WHERE id > (SELECT id FROM audit WHERE action = 'staff.login')"
	assert_output "desk@example.com|client.add
desk@example.com|appointment.add"
	run staff logout
	assert_success
	assert_output ""
	[ "$(rv_sql 'SELECT count(*) FROM session')" = 0 ]
	[ "$(rv_sql "SELECT actor FROM audit WHERE action = 'staff.logout'")" = desk@example.com ]
	client edit lia@example.com --phone 1234567 >/dev/null
	[ "$(rv_sql 'SELECT actor FROM audit ORDER BY id DESC LIMIT 1')" = tester ]
	run staff logout
	assert_failure 1
	assert_output "staff: not logged in"
}

@test "raising the iteration count rehashes at the next login" {
	staff_centre
	export RISERVA_SECURITY_PBKDF2_ITERATIONS=2000
	old=$(rv_sql "SELECT hex(salt) FROM staff_auth WHERE staff_id = 1")
	login_as giulia
	run rv_sql "SELECT iterations, hex(salt) <> '$old' FROM staff_auth WHERE staff_id = 1"
	assert_output "2000|1"
	[ "$(rv_sql "SELECT action FROM audit ORDER BY id DESC LIMIT 1")" = staff.rehash ]
	staff logout
	login_as giulia
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'staff.rehash'")" = 1 ]
}

@test "an inactive account cannot log in, and its session ends" {
	staff_centre
	login_as marco
	staff edit marco@example.com --inactive >/dev/null
	run staff whoami
	assert_failure 1
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'staff.session_ended'")" = 1 ]
	run staff login marco@example.com <<<"secret-marco"
	assert_failure 77
	assert_output "staff: the account marco@example.com is inactive"
	# The right password is no failed guess: made active, no wait.
	[ "$(rv_sql "SELECT failed FROM staff_auth WHERE staff_id = 2")" = 0 ]
	staff edit marco@example.com --active >/dev/null
	run staff login marco@example.com <<<"secret-marco"
	assert_success
}

@test "with logins required: no login, no access; cron's verbs run as the system actor" {
	staff_centre
	export RISERVA_SECURITY_REQUIRE_LOGIN=on
	run client list
	assert_failure 77
	assert_output "client: 'client list' needs a login (security.require_login is on): staff login"
	run book add --client 1 --service Viso --at '2026-12-01 15:00'
	assert_failure 77
	[ "$(rv_sql 'SELECT count(*) FROM appointment')" = 0 ]
	run audit verify
	assert_success
	run gdpr-breach check
	assert_success
	run rv_sql "SELECT actor, action, ref FROM audit WHERE action = 'access.denied'"
	assert_output "tester|access.denied|client list
tester|access.denied|book add"
	run backup create --output "$BATS_TEST_TMPDIR/bk"
	assert_success
	[ "$(rv_sql 'SELECT actor FROM audit ORDER BY id DESC LIMIT 1')" = system ]
	export RISERVA_SECURITY_SYSTEM_ACTOR=cron
	run backup prune --dir "$BATS_TEST_TMPDIR/bk"
	assert_success
	run audit purge
	assert_success
	export RISERVA_NOW=2026-11-30T08:00:01+01:00
	run backup create --output "$BATS_TEST_TMPDIR/bk"
	assert_success
	[ "$(rv_sql 'SELECT actor FROM audit ORDER BY id DESC LIMIT 1')" = cron ]
	run staff login boss@example.com <<<"secret-boss"
	assert_success
}

@test "jobs from cron and the timers never run as a logged-in staff member" {
	staff_centre
	login_as desk
	export RISERVA_SECURITY_REQUIRE_LOGIN=on
	# Every example job drops the runtime folder the sessions live in.
	for f in "$RV_ROOT"/share/riserva/systemd/*.service; do
		grep -qx 'UnsetEnvironment=XDG_RUNTIME_DIR' "$f"
	done
	for f in "$RV_ROOT"/share/riserva/cron/*; do
		grep -qx 'XDG_RUNTIME_DIR=' "$f"
	done
	# So a job every few minutes is the system actor, and the
	# receptionist's session still ends after 5 idle minutes.
	for t in 08:02 08:04 08:06; do
		RISERVA_NOW=2026-11-30T$t:00+01:00 XDG_RUNTIME_DIR= \
			run backup create --output "$BATS_TEST_TMPDIR/bk"
		assert_success
		[ "$(rv_sql 'SELECT actor FROM audit ORDER BY id DESC LIMIT 1')" = system ]
	done
	RISERVA_NOW=2026-11-30T08:06:00+01:00 run staff whoami
	assert_failure 1
	# With the folder, the same job would have been the receptionist's.
	login_as desk
	run backup create --output "$BATS_TEST_TMPDIR/bk"
	assert_failure 77
}

@test "reception: clients and bookings, not staff, services, audit, backups" {
	staff_centre
	login_as desk
	export RISERVA_SECURITY_REQUIRE_LOGIN=1
	run client add --name Lia --surname Verdi --email lia@example.com --phone 123456
	assert_success
	run book add --client lia@example.com --service Massaggio --staff marco@example.com --at '2026-12-01 11:00'
	assert_success
	run client show lia@example.com
	assert_success
	# The booking's confirmation, in the outbox: listed and shown.
	run notify list
	assert_success
	run notify show "$(rv_json '["id"]')"
	assert_success
	for cmd in "staff add --name X --email x@example.com" \
	    "staff hours marco@example.com mon 09:00-10:00" \
	    "catalog add --name Pedicure --duration 30" "audit list" \
	    "audit verify" "backup create --output $BATS_TEST_TMPDIR/bk" \
	    "gdpr-breach list" "gdpr-breach check"; do
		run $cmd
		assert_failure 77
	done
	run staff add --name X --email x@example.com
	assert_output "staff: desk@example.com (reception) may not use 'staff add'"
	# A tool without verbs is named alone.
	run gdpr-erase 1 --reason "art. 17"
	assert_failure 77
	assert_output "gdpr-erase: desk@example.com (reception) may not use 'gdpr-erase'"
	[ "$(rv_sql "SELECT ref FROM audit ORDER BY id DESC LIMIT 1")" = gdpr-erase ]
	run staff list
	assert_success
	[ ! -e "$BATS_TEST_TMPDIR/bk" ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'access.denied' AND actor = 'desk@example.com'")" = 10 ]
}

@test "operator: their own agenda only; no client register, no bookings" {
	staff_centre
	book add --client 1 --service Viso --staff giulia@example.com --at '2026-12-01 10:00' >/dev/null
	book add --client 2 --service Massaggio --staff marco@example.com --at '2026-12-01 11:00' >/dev/null
	login_as giulia
	export RISERVA_SECURITY_REQUIRE_LOGIN=yes
	run book list
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["staff_id"]')" = 1 ]
	run book show 1
	assert_success
	run book show 2
	assert_failure 77
	assert_output "book: giulia@example.com (operator) sees only their own agenda, not staff 2's"
	run book list --staff marco@example.com
	assert_failure 77
	run book blocks --staff marco@example.com
	assert_failure 77
	run book slots --service Viso --date 2026-12-02
	assert_success
	for cmd in "client list" "client show 1" "book cancel 1" \
	    "book add --client 1 --service Viso --at 2026-12-02T10:00:00+01:00" \
	    "staff off giulia@example.com --from 2026-12-24 --to 2026-12-26" \
	    "backup list"; do
		run $cmd
		assert_failure 77
	done
	[ "$(rv_sql "SELECT status FROM appointment WHERE id = 1")" = booked ]
}

@test "admin: everything; checks off: nobody is refused" {
	staff_centre
	login_as boss
	export RISERVA_SECURITY_REQUIRE_LOGIN=true
	run staff add --name Nuovo --email nuovo@example.com
	assert_success
	run audit list --actor boss@example.com
	assert_success
	run book list
	assert_failure 1	# allowed, and nothing booked
	assert_output ""
	staff logout
	export RISERVA_SECURITY_REQUIRE_LOGIN=false
	run staff add --name Altro --email altro@example.com
	assert_success
}

@test "a password of one's own needs the current one; others' are an admin's" {
	staff_centre
	login_as giulia
	export RISERVA_SECURITY_REQUIRE_LOGIN=true
	run staff passwd marco@example.com <<<$'secret-giulia\nmarco owned now'
	assert_failure 77
	assert_output "staff: giulia@example.com (operator) may not set another staff member's password"
	run staff passwd giulia@example.com <<<$'not my password\nnew secret pass'
	assert_failure 77
	assert_output "staff: wrong password"
	# A wrong current password is a failed login: paced, counted, on
	# the record, so a terminal left open is no way to guess it.
	run staff passwd giulia@example.com <<<$'another guess\nnew secret pass'
	assert_failure 75
	assert_output "staff: too many wrong passwords: wait 5 s before trying again"
	run rv_sql "SELECT actor, action, ref FROM audit WHERE action LIKE 'staff.passwd_%'"
	assert_output "giulia@example.com|staff.passwd_failed|staff 1
giulia@example.com|staff.passwd_paced|staff 1"
	export RISERVA_NOW=2026-11-30T08:00:05+01:00
	run staff passwd giulia@example.com <<<$'secret-giulia\nnew secret pass'
	assert_success
	[ "$(rv_sql 'SELECT failed FROM staff_auth WHERE staff_id = 1')" = 0 ]
	login_as boss
	run staff passwd marco@example.com <<<"boss set this"
	assert_success
	run staff login marco@example.com <<<"boss set this"
	assert_success
}

@test "security.require_reason makes a reason necessary to read a whole record" {
	rv_centre
	export RISERVA_SECURITY_REQUIRE_REASON=true
	run client show 1
	assert_failure 64
	assert_output "client: reading a client's whole record needs --reason (security.require_reason is on)"
	run client show 1 --reason "phone call"
	assert_success
	[ "$(rv_sql "SELECT reason FROM audit WHERE action = 'client.read'")" = "phone call" ]
}

@test "the first change makes the key file and says so, once" {
	rm -f "$RISERVA_KEY"
	run client add --name A --surname B --email a@example.com --phone 123456
	assert_success
	assert_line --index 1 "client: created a new key in $RISERVA_KEY: back it up now, apart from the database; without it the encrypted data cannot be read nor the audit trail verified"
	[ "$(stat -c %a "$RISERVA_KEY")" = 600 ]
	run client add --name C --surname D --email c@example.com --phone 123457
	assert_success
	refute_output --partial "key file"
}

@test "health data: an admin, or an operator for today's clients only" {
	staff_centre
	consent grant 1 health >/dev/null
	consent grant 2 health >/dev/null
	printf 'lattice\n' | client health 1 --set >/dev/null
	printf 'noci\n' | client health 2 --set >/dev/null
	book add --client 1 --service Viso --staff giulia@example.com --at '2026-11-30 10:00' >/dev/null
	book add --client 2 --service Viso --staff giulia@example.com --at '2026-12-01 10:00' >/dev/null
	book add --client 2 --service Massaggio --staff marco@example.com --at '2026-11-30 11:00' >/dev/null
	export RISERVA_SECURITY_REQUIRE_LOGIN=true
	login_as giulia
	run client health 1
	assert_success
	[ "$(rv_json '["text"]')" = lattice ]
	# Client 2 is hers tomorrow, Marco's today.
	run client health 2
	assert_failure 77
	assert_output "client: giulia@example.com (operator) may not see the health data of client 2: only an admin, or an operator who has an appointment with them today"
	run bash -c "printf 'x\n' | client health 2 --set"
	assert_failure 77
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'access.denied' AND client_id = 2")" = 2 ]
	login_as marco
	run client health 2
	assert_success
	# A cancelled appointment is no reason.
	RISERVA_SECURITY_REQUIRE_LOGIN=false book cancel 3 >/dev/null
	run client health 2
	assert_failure 77
	login_as desk
	run client health 1
	assert_failure 77
	assert_output "client: desk@example.com (reception) may not use 'client health'"
	login_as boss
	run client health 2
	assert_success
	export RISERVA_SECURITY_REQUIRE_REASON=true
	run client health 2
	assert_failure 64
	assert_output "client: reading health data needs --reason (security.require_reason is on)"
	run client health 2 --reason "allergy check before treatment"
	assert_success
	[ "$(rv_sql "SELECT actor || '|' || reason FROM audit WHERE action = 'health.read' ORDER BY id DESC LIMIT 1")" = "boss@example.com|allergy check before treatment" ]
}
