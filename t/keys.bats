#!/usr/bin/env bats
# The key file: made on first need with a warning, refused when others can
# read it, never silently replaced once the database holds what it sealed.

load helper

bats_require_minimum_version 1.5.0

# Client 1 with health notes, sealed under the key file.
sealed() {
	rv_centre
	consent grant 1 health >/dev/null
	printf 'Allergia al lattice\n' | client health 1 --set 2>/dev/null
}

# The audit trail is chained under a key from the key file, so the first
# change is the first need (the helper makes a key ahead for the others).
@test "the key is made by the first change: 0600, 64 hex digits, a warning once" {
	rm -f "$RISERVA_KEY"
	run client list
	assert_failure 1	# nothing to list; and a read needs no key
	assert_file_not_exists "$RISERVA_KEY"
	run --separate-stderr staff add --name Giulia --email giulia@example.com
	assert_success
	[ "$stderr" = "staff: created a new key in $RISERVA_KEY: back it up now, apart from the database; without it the encrypted data cannot be read nor the audit trail verified" ]
	[ "$(stat -c %a "$RISERVA_KEY")" = 600 ]
	grep -Eqx '[0-9a-f]{64}' "$RISERVA_KEY"
	run --separate-stderr client add --name Mario --surname Rossi \
		--email mario@example.com --phone 123456
	assert_success
	[ "$stderr" = "" ]
	consent grant 1 health >/dev/null
	run --separate-stderr bash -c "printf 'y\n' | client health 1 --set"
	assert_success
	[ "$stderr" = "" ]
	# The key itself is never in the database, only its fingerprint.
	run grep -c -a "$(cat "$RISERVA_KEY")" "$RISERVA_DB"
	assert_output 0
	[ "$(rv_sql "SELECT length(value) FROM meta WHERE key = 'key_check'")" = 64 ]
}

@test "the default key file lives under XDG_CONFIG_HOME, in a 0700 folder" {
	unset RISERVA_KEY
	run --separate-stderr staff add --name Giulia --email giulia@example.com
	assert_success
	[ "$stderr" = "staff: created a new key in $XDG_CONFIG_HOME/riserva/key: back it up now, apart from the database; without it the encrypted data cannot be read nor the audit trail verified" ]
	[ "$(stat -c %a "$XDG_CONFIG_HOME/riserva/key")" = 600 ]
	[ "$(stat -c %a "$XDG_CONFIG_HOME/riserva")" = 700 ]
}

@test "a key file others can read is refused with 78 and the chmod that fixes it" {
	sealed
	chmod 644 "$RISERVA_KEY"
	run --separate-stderr client health 1
	assert_failure 78
	assert_output ''
	[ "$stderr" = "client: key file $RISERVA_KEY is open to group or others (mode 0644); fix it with: chmod 600 $RISERVA_KEY" ]
	run bash -c "printf 'x\n' | client health 1 --set"
	assert_failure 78
	run consent token 1 marketing
	assert_failure 78
	chmod 620 "$RISERVA_KEY"
	run client health 1
	assert_failure 78
	chmod 600 "$RISERVA_KEY"
	run client health 1 --format table
	assert_success
	assert_output "Allergia al lattice"
}

@test "a missing key when encrypted data exists is 78, and no new key is made" {
	sealed
	mv "$RISERVA_KEY" "$BATS_TEST_TMPDIR/key.bak"
	run --separate-stderr client health 1
	assert_failure 78
	assert_output ''
	[ "$stderr" = "client: no key file $RISERVA_KEY; the database holds data encrypted with it: restore the key file from your backup (a new key cannot read it)" ]
	run bash -c "printf 'x\n' | client health 1 --set"
	assert_failure 78
	run consent token 1 marketing
	assert_failure 78
	assert_file_not_exists "$RISERVA_KEY"
	[ "$(rv_sql 'SELECT count(*) FROM audit WHERE action = "health.read"')" = 0 ]
	mv "$BATS_TEST_TMPDIR/key.bak" "$RISERVA_KEY"
	run client health 1 --format table
	assert_output "Allergia al lattice"
}

@test "with its fingerprint lost, sealed data still keeps a new key from being made" {
	sealed
	consent grant 1 marketing >/dev/null
	mv "$RISERVA_KEY" "$BATS_TEST_TMPDIR/key.bak"
	rv_sql "DELETE FROM meta WHERE key = 'key_check'"
	run --separate-stderr client health 1
	assert_failure 78
	assert_output ''
	[ "$stderr" = "client: no key file $RISERVA_KEY; the database holds data encrypted with it: restore the key file from your backup (a new key cannot read it)" ]
	run bash -c "printf 'x\n' | client health 1 --set"
	assert_failure 78
	run consent grant 2 marketing
	assert_failure 78
	run consent token 1 marketing
	assert_failure 78
	assert_file_not_exists "$RISERVA_KEY"
	# The key restored is adopted again, and opens what it sealed.
	mv "$BATS_TEST_TMPDIR/key.bak" "$RISERVA_KEY"
	run client health 1 --format table
	assert_success
	assert_output "Allergia al lattice"
	[ "$(rv_sql "SELECT length(value) FROM meta WHERE key = 'key_check'")" = 64 ]
	run audit verify
	assert_success
}

@test "a wrong key is a clean error with no output" {
	sealed
	cp "$RISERVA_KEY" "$BATS_TEST_TMPDIR/key.good"
	printf '%064d\n' 7 >"$RISERVA_KEY"
	run --separate-stderr client health 1
	assert_failure 78
	assert_output ''
	[ "$stderr" = "client: key file $RISERVA_KEY is not the key this database was encrypted with" ]
	run --separate-stderr bash -c "printf 'x\n' | client health 1 --set"
	assert_failure 78
	run consent token 1 marketing
	assert_failure 78
	# Nothing was overwritten under the wrong key.
	cp "$BATS_TEST_TMPDIR/key.good" "$RISERVA_KEY"
	run client health 1 --format table
	assert_output "Allergia al lattice"
}

@test "a damaged key file is 78" {
	sealed
	printf 'not a key\n' >"$RISERVA_KEY"
	run client health 1
	assert_failure 78
	assert_output --partial "key file $RISERVA_KEY is damaged: expected 64 hex digits"
	mkdir -p "$BATS_TEST_TMPDIR/dir"
	RISERVA_KEY="$BATS_TEST_TMPDIR/dir" run client health 1
	assert_failure 78
	assert_output "client: key file $BATS_TEST_TMPDIR/dir is not a file"
	# Nor may a FIFO in its place hang the tool, waiting for a writer.
	mkfifo -m 600 "$BATS_TEST_TMPDIR/fifo"
	RISERVA_KEY="$BATS_TEST_TMPDIR/fifo" run timeout 10 client health 1
	assert_failure 78
	assert_output "client: key file $BATS_TEST_TMPDIR/fifo is not a file"
	# Wrong sizes, a stray digit, a space before it: damaged, all.
	for k in "$(printf '%063x' 1)" "$(printf '%065x' 1)" \
	    "$(printf '%063xg' 1)" " $(printf '%064x' 1)"; do
		printf '%s\n' "$k" >"$RISERVA_KEY"
		run client health 1
		assert_failure 78
		assert_output --partial "is damaged: expected 64 hex digits"
	done
}

@test "a key file that exists before the database is adopted, not replaced" {
	printf '%064x\n' 12345 >"$RISERVA_KEY"
	chmod 600 "$RISERVA_KEY"
	rv_centre
	consent grant 1 marketing >/dev/null
	run --separate-stderr consent token 1 marketing
	assert_success
	[ "$stderr" = "" ]
	[ "$(cat "$RISERVA_KEY")" = "$(printf '%064x' 12345)" ]
}

@test "an unsubscribe token when the database never made a key is simply invalid" {
	# Nothing was ever changed here, so no key was ever needed.
	rm -f "$RISERVA_KEY"
	run consent unsubscribe u1.1.marketing.AAAAAAAAAAAAAAAAAAAAAA
	assert_failure 77
	assert_output "consent: not a valid unsubscribe token: no token was ever made here"
	assert_file_not_exists "$RISERVA_KEY"
}
