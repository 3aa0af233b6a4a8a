#!/usr/bin/env bats
# client health: only with explicit consent, only encrypted, audited by name,
# gone from the database, its -wal and -shm when consent is withdrawn.

load helper

bats_require_minimum_version 1.5.0

TEXT='Allergia grave alle arachidi; asma (Ventolin) 7Qz'

teardown() {
	release_db
}

# Another connection holds the database open, as a long-running tool would:
# then the -wal and -shm files outlive each command, and their bytes can be
# read between commands. (The last connection to close checkpoints and
# deletes them, which would hide whatever they held.)
hold_db() {
	mkfifo "$BATS_TEST_TMPDIR/hold"
	sqlite3 "$RISERVA_DB" <"$BATS_TEST_TMPDIR/hold" >/dev/null 2>&1 3>&- &
	HOLD_PID=$!
	exec 8>"$BATS_TEST_TMPDIR/hold"
	echo "SELECT count(*) FROM client;" >&8
	for _ in $(seq 100); do
		[ -e "$RISERVA_DB-shm" ] && return 0
		sleep 0.05
	done
	return 1
}

release_db() {
	if [ -n "${HOLD_PID:-}" ]; then
		exec 8>&-
		wait "$HOLD_PID" || true
		HOLD_PID=
	fi
}

# Whether the bytes (given as hex) are anywhere in a file: yes or no.
bytes_in() {
	/usr/bin/python3 -c '
import sys
data = open(sys.argv[1], "rb").read()
print("yes" if bytes.fromhex(sys.argv[2]) in data else "no")' "$1" "$2"
}

hex() {
	printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'
}

set_health() {
	printf '%s\n' "$TEXT" | client health "$1" --set
}

@test "health data without health consent: 77, nothing stored" {
	rv_centre
	consent grant 1 reminders >/dev/null
	run bash -c "printf '%s\n' '$TEXT' | client health 1 --set"
	assert_failure 77
	assert_output "client: client 1 has not given explicit consent to keep health data (GDPR art. 9(2)(a)): record it first with 'consent grant 1 health'"
	[ "$(rv_sql 'SELECT count(*) FROM client_health')" = 0 ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action LIKE 'health.%'")" = 0 ]
	run grep -c -a "arachidi" "$RISERVA_DB"
	assert_output 0
	# Withdrawn consent is no consent.
	consent grant 1 health >/dev/null
	consent withdraw 1 health >/dev/null
	run bash -c "printf 'x\n' | client health 1 --set"
	assert_failure 77
}

@test "set, read and clear round trip; reads and changes audited by name only" {
	rv_centre
	consent grant 1 health >/dev/null
	run --separate-stderr set_health mario@example.com
	assert_success
	assert_output ''
	run client health 1 --reason "before a massage"
	assert_success
	assert_output "{\"type\":\"health\",\"id\":1,\"client_id\":1,\"text\":\"$TEXT\",\"updated\":\"2026-11-30T08:00:00+01:00\"}"
	run client health 1 --format table
	assert_output "$TEXT"
	# Replaced, not appended.
	RISERVA_NOW=2026-12-01T09:00:00+01:00 run bash -c "printf 'Nessuna allergia\n' | client health 1 --set"
	assert_success
	run client health 1
	[ "$(rv_json '["text"]')" = "Nessuna allergia" ]
	[ "$(rv_json '["updated"]')" = 2026-12-01T09:00:00+01:00 ]
	run client health 1 --clear
	assert_success
	run client health 1
	assert_failure 1
	assert_output "client: client 1 has no health data"
	run --separate-stderr client health 1 --clear
	assert_success
	[ "$stderr" = "client: client 1 has no health data; nothing cleared" ]
	run rv_sql "SELECT action, client_id, ref, fields, ifnull(reason, '') FROM audit WHERE action LIKE 'health.%' ORDER BY id"
	assert_output "health.set|1|client 1|health|
health.read|1|client 1|health|before a massage
health.read|1|client 1|health|
health.set|1|client 1|health|
health.read|1|client 1|health|
health.clear|1|client 1|health|"
	# No audit row holds the text, nor any part of it.
	run rv_sql "SELECT count(*) FROM audit WHERE (coalesce(ref,'') || coalesce(fields,'') || coalesce(reason,'') || action) LIKE '%arachidi%' OR (coalesce(ref,'') || coalesce(fields,'')) LIKE '%allergia%'"
	assert_output 0
}

@test "the text comes only from stdin, checked for size, encoding and emptiness" {
	rv_centre
	consent grant 1 health >/dev/null
	run client health 1 --set "$TEXT"
	assert_failure 64
	run client health 1 --set --text "$TEXT"
	assert_failure 64
	run client health 1 --set --clear
	assert_failure 64
	run bash -c "head -c 16385 /dev/zero | tr '\0' a | client health 1 --set"
	assert_failure 65
	assert_output "client: health text is too long (more than 16384 bytes)"
	run bash -c "printf 'caff\xe8\n' | client health 1 --set"
	assert_failure 65
	assert_output "client: health text is not valid UTF-8 (byte 5)"
	run bash -c "printf 'a\0b' | client health 1 --set"
	assert_failure 65
	run bash -c "printf 'a\033[31mb' | client health 1 --set"
	assert_failure 65
	run bash -c "printf ' \n\n' | client health 1 --set"
	assert_failure 65
	assert_output "client: health text is empty (to remove it, use --clear)"
	[ "$(rv_sql 'SELECT count(*) FROM client_health')" = 0 ]
	# Exactly the limit, tabs and new lines are fine; trailing blanks go.
	run bash -c "head -c 16384 /dev/zero | tr '\0' a | client health 1 --set"
	assert_success
	run bash -c "printf 'riga\tuno\nriga due è\n\n  ' | client health 1 --set && client health 1 --format table"
	assert_success
	assert_output "$(printf 'riga\tuno\nriga due è')"
	# Lines ended in CR LF, as a file saved on Windows has them, are the
	# same lines; a CR alone is still a control character.
	run bash -c "printf 'riga uno\r\nriga due\r\n' | client health 1 --set && client health 1 --format table"
	assert_success
	assert_output "$(printf 'riga uno\nriga due')"
	run bash -c "printf 'riga\runo\n' | client health 1 --set"
	assert_failure 65
	assert_output "client: health text contains a control character (byte 5)"
	run bash -c "printf 'allergia \342\201\246nascosta\342\201\251\n' | client health 1 --set"
	assert_failure 65
	assert_output "client: health text contains a control or direction-override character (byte 10)"
	run bash -c "printf 'allergia \302\205\n' | client health 1 --set"
	assert_failure 65
}

@test "the text is stored only encrypted, bound to its row" {
	rv_centre
	consent grant 1 health >/dev/null
	consent grant 2 health >/dev/null
	set_health 1 2>/dev/null
	run rv_sql "SELECT length(data) - length(CAST('$TEXT' AS BLOB)), hex(substr(data, 1, 1)) FROM client_health"
	assert_output "29|01"
	run grep -c -a "arachidi" "$RISERVA_DB"
	assert_output 0
	# Moved to another client's row, the ciphertext does not open.
	rv_sql "INSERT INTO client_health SELECT 2, data, updated FROM client_health WHERE client_id = 1"
	run --separate-stderr client health 2
	assert_failure 65
	assert_output ''
	[ "$stderr" = "client: client_health 2: cannot decrypt (wrong key or damaged data)" ]
	# A read that fails is not recorded as a read.
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'health.read'")" = 0 ]
}

@test "withdrawing health consent deletes the data in the same transaction" {
	rv_centre
	consent grant 1 health reminders >/dev/null
	set_health 1 2>/dev/null
	run consent withdraw 1 health
	assert_success
	assert_output --partial '"purpose":"health","action":"withdraw"'
	[ "$(rv_sql 'SELECT count(*) FROM client_health')" = 0 ]
	run rv_sql "SELECT a.action, a.fields, c.purpose FROM audit a LEFT JOIN consent c ON a.ref = 'consent ' || c.id WHERE a.id > (SELECT max(id) FROM audit WHERE action = 'health.set') ORDER BY a.id"
	assert_output "consent.withdraw|health|health
health.delete|health|"
	run client health 1
	assert_failure 1
	# Other purposes are untouched.
	run consent status 1 --granted
	assert_output --partial '"purpose":"reminders","state":"granted"'
	[ "${#lines[@]}" -eq 1 ]
}

@test "health text is absent from the database, -wal and -shm after set and after withdrawal" {
	rv_centre
	consent grant 1 health >/dev/null
	hold_db
	set_health 1 2>/dev/null
	cipher=$(rv_sql "SELECT hex(data) FROM client_health WHERE client_id = 1")
	[ -n "$cipher" ]
	# The write is in the WAL, sealed: the ciphertext is there, the text not.
	[ -s "$RISERVA_DB-wal" ]
	assert_file_exists "$RISERVA_DB-shm"
	[ "$(bytes_in "$RISERVA_DB-wal" "$cipher")" = yes ]
	for f in "$RISERVA_DB" "$RISERVA_DB-wal" "$RISERVA_DB-shm"; do
		[ "$(bytes_in "$f" "$(hex "$TEXT")")" = no ]
		[ "$(bytes_in "$f" "$(hex arachidi)")" = no ]
	done
	# A read leaves no trace of the text either.
	client health 1 >/dev/null
	for f in "$RISERVA_DB" "$RISERVA_DB-wal" "$RISERVA_DB-shm"; do
		[ "$(bytes_in "$f" "$(hex arachidi)")" = no ]
	done

	run consent withdraw 1 health
	assert_success
	# Checkpointed and truncated while the other connection still holds it.
	assert_file_exists "$RISERVA_DB-wal"
	[ ! -s "$RISERVA_DB-wal" ]
	for f in "$RISERVA_DB" "$RISERVA_DB-wal" "$RISERVA_DB-shm"; do
		[ "$(bytes_in "$f" "$cipher")" = no ]
		[ "$(bytes_in "$f" "${cipher:0:64}")" = no ]
		[ "$(bytes_in "$f" "$(hex arachidi)")" = no ]
	done
	release_db
	[ "$(bytes_in "$RISERVA_DB" "${cipher:0:64}")" = no ]
}

@test "the sealed bytes really reach the file: without the checkpoint they would stay" {
	# The control for the test above: a plain DELETE, without withdrawal's
	# checkpoint, leaves the ciphertext in the -wal the other test reads.
	rv_centre
	consent grant 1 health >/dev/null
	hold_db
	set_health 1 2>/dev/null
	cipher=$(rv_sql "SELECT hex(data) FROM client_health WHERE client_id = 1")
	rv_sql "PRAGMA secure_delete = ON; DELETE FROM client_health"
	[ "$(bytes_in "$RISERVA_DB-wal" "$cipher")" = yes ]
}

@test "clear also checkpoints: no ciphertext left in the files" {
	rv_centre
	consent grant 1 health >/dev/null
	hold_db
	set_health 1 2>/dev/null
	cipher=$(rv_sql "SELECT hex(data) FROM client_health WHERE client_id = 1")
	client health 1 --clear
	[ ! -s "$RISERVA_DB-wal" ]
	for f in "$RISERVA_DB" "$RISERVA_DB-wal" "$RISERVA_DB-shm"; do
		[ "$(bytes_in "$f" "${cipher:0:64}")" = no ]
	done
}

@test "notes replaced by --set leave no copy of the old ones in the files" {
	# Their ciphertext still opens under the key and the row's own
	# associated data: replaced notes are deleted notes.
	rv_centre
	consent grant 1 health >/dev/null
	hold_db
	set_health 1 2>/dev/null
	old=$(rv_sql "SELECT hex(data) FROM client_health WHERE client_id = 1")
	printf 'Nessuna allergia\n' | client health 1 --set
	new=$(rv_sql "SELECT hex(data) FROM client_health WHERE client_id = 1")
	[ "$old" != "$new" ]
	[ ! -s "$RISERVA_DB-wal" ]
	for f in "$RISERVA_DB" "$RISERVA_DB-wal" "$RISERVA_DB-shm"; do
		[ "$(bytes_in "$f" "${old:0:64}")" = no ]
	done
	[ "$(bytes_in "$RISERVA_DB" "${new:0:64}")" = yes ]
}

@test "a restricted client gets no new health data; an unknown one is 66" {
	rv_centre
	consent grant 1 health >/dev/null
	rv_sql "UPDATE client SET restricted = 1 WHERE id = 1"
	run bash -c "printf 'x\n' | client health 1 --set"
	assert_failure 77
	assert_output "client: client 1 is restricted (GDPR art. 18): no health data is stored until the restriction is lifted"
	run client health nobody@example.com
	assert_failure 66
	run bash -c "printf 'x\n' | client health 42 --set"
	assert_failure 66
}

@test "health notes never show up in the client's other output" {
	rv_centre
	consent grant 1 health >/dev/null
	set_health 1 2>/dev/null
	run client show 1
	refute_output --partial arachidi
	run client list
	refute_output --partial arachidi
	run consent history 1
	refute_output --partial arachidi
}

@test "a withdrawal whose checkpoint finds the database busy says so (75), and can be run again" {
	rv_centre
	consent grant 1 health >/dev/null
	hold_db
	set_health 1 2>/dev/null
	cipher=$(rv_sql "SELECT hex(data) FROM client_health WHERE client_id = 1")
	# A reader in the middle of a transaction pins the WAL.
	echo "BEGIN; SELECT count(*) FROM client_health;" >&8
	sleep 0.3
	RISERVA_DB_BUSY_TIMEOUT=200 run consent withdraw 1 health
	assert_failure 75
	assert_line --index 0 --partial "consent: the deletion is done, but the database is busy and its old bytes may stay in the -wal file until the next checkpoint: run the same command again when it is idle"
	[ "$(rv_sql 'SELECT count(*) FROM client_health')" = 0 ]
	[ "$(bytes_in "$RISERVA_DB-wal" "${cipher:0:64}")" = yes ]
	echo "COMMIT;" >&8
	sleep 0.3
	run --separate-stderr consent withdraw 1 health
	assert_success
	[ "$stderr" = "consent: client 1: health does not stand; nothing recorded" ]
	[ ! -s "$RISERVA_DB-wal" ]
	for f in "$RISERVA_DB" "$RISERVA_DB-wal" "$RISERVA_DB-shm"; do
		[ "$(bytes_in "$f" "${cipher:0:64}")" = no ]
	done
}
