#!/usr/bin/env bats
# audit: the chained trail, its verification, listing and purge.

load helper

# Six rows by the centre's tools, then three reads at later times.
trail() {
	rv_centre
	client show 1 --reason "phone call" >/dev/null
	RISERVA_NOW=2026-12-01T09:00:00+01:00 client show 2 >/dev/null
	RISERVA_NOW=2026-12-02T09:00:00+01:00 RISERVA_ACTOR=anna \
		client edit 2 --phone 3334445556 >/dev/null
}

rows() {
	rv_sql 'SELECT count(*) FROM audit'
}

@test "audit verify passes on an untouched trail and says how many rows" {
	trail
	n=$(rows)
	[ "$n" -eq 13 ]
	run audit verify
	assert_success
	[ "$(rv_json '["intact"]')" = true ]
	[ "$(rv_json '["rows"]')" = 13 ]
	[ "$(rv_json '["first_id"]')" = 1 ]
	[ "$(rv_json '["last_id"]')" = 13 ]
	[ "$(rv_json '["id"]')" = 13 ]
	head=$(rv_sql 'SELECT lower(hex(mac)) FROM audit WHERE id = 13')
	[ "$(rv_json '["head"]')" = "$head" ]
	run audit verify --format table
	assert_line --index 0 "type       verify"
	assert_line --index 2 "intact     true"
	assert_line --index 3 "rows       13"
}

@test "every row carries a MAC over the previous MAC and its own fields" {
	trail
	[ "$(rv_sql 'SELECT count(*) FROM audit WHERE length(mac) = 32')" = 13 ]
	[ "$(rv_sql 'SELECT count(DISTINCT mac) FROM audit')" = 13 ]
	[ "$(rv_sql "SELECT count(*) FROM meta WHERE key = 'audit_head'")" = 1 ]
}

@test "an edited row is found, named, and verify exits 1" {
	trail
	rv_sql "UPDATE audit SET reason = 'nothing to see' WHERE id = 11"
	run audit verify
	assert_failure 1
	assert_line --index 1 "audit: row 11 does not match its MAC: it was changed, or rows before it were changed, moved or removed"
	[ "$(printf '%s\n' "${lines[0]}" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["intact"], r["broken_id"], r["rows"])')" = "False 11 10" ]
}

@test "every kind of edit to one field is found" {
	trail
	for change in "at = at + 1" "actor = 'x'" "tool = 'x'" "action = 'x'" \
	    "client_id = 2" "client_id = NULL" "ref = NULL" "fields = 'name'" \
	    "reason = 'x'" "mac = zeroblob(32)" "mac = NULL"; do
		cp "$RISERVA_DB" "$BATS_TEST_TMPDIR/copy.db"
		sqlite3 "$BATS_TEST_TMPDIR/copy.db" "UPDATE audit SET $change WHERE id = 11"
		run audit --db "$BATS_TEST_TMPDIR/copy.db" verify
		assert_failure 1
		assert_line --index 1 --regexp "^audit: row 11 "
		rm -f "$BATS_TEST_TMPDIR"/copy.db*
	done
}

@test "a deleted row is found: in the middle, first, and last" {
	trail
	cp "$RISERVA_DB" "$BATS_TEST_TMPDIR/orig.db"
	rv_sql "DELETE FROM audit WHERE id = 7"
	run audit verify
	assert_failure 1
	assert_line --index 1 "audit: row 7 is missing"
	cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
	rv_sql "DELETE FROM audit WHERE id = 1"
	run audit verify
	assert_failure 1
	assert_line --index 1 "audit: row 1 is missing"
	# The last row has no successor to betray it: the sealed head does.
	cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
	rv_sql "DELETE FROM audit WHERE id = 13"
	run audit verify
	assert_failure 1
	assert_line --index 1 "audit: row 13 is missing: the trail was sealed at row 13 and ends at row 12"
	# Nor can the head be rolled back with it: it is under the key too.
	cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
	mac12=$(rv_sql 'SELECT lower(hex(mac)) FROM audit WHERE id = 12')
	sig=$(rv_sql "SELECT substr(value, 69) FROM meta WHERE key = 'audit_head'")
	rv_sql "DELETE FROM audit WHERE id = 13; UPDATE meta SET value = '12:$mac12:$sig' WHERE key = 'audit_head'"
	run audit verify
	assert_failure 1
	assert_line --index 1 "audit: the trail's sealed head does not match its MAC"
}

@test "a reordered row is found" {
	trail
	cp "$RISERVA_DB" "$BATS_TEST_TMPDIR/orig.db"
	# Two rows swap places, each with its own MAC.
	rv_sql "UPDATE audit SET id = -5 WHERE id = 5; UPDATE audit SET id = 5 WHERE id = 6; UPDATE audit SET id = 6 WHERE id = -5"
	run audit verify
	assert_failure 1
	assert_line --index 1 --partial "audit: row 5 does not match its MAC"
	# One row moved to the end.
	cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
	rv_sql "UPDATE audit SET id = 14 WHERE id = 3"
	run audit verify
	assert_failure 1
	assert_line --index 1 "audit: row 3 is missing"
	# A row's contents copied over another's.
	cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
	rv_sql "UPDATE audit SET (at, actor, tool, action, client_id, ref, fields, reason, mac) = (SELECT at, actor, tool, action, client_id, ref, fields, reason, mac FROM audit WHERE id = 9) WHERE id = 10"
	run audit verify
	assert_failure 1
	assert_line --index 1 --partial "audit: row 10 does not match its MAC"
}

@test "an inserted row is found: after the last, and in the middle" {
	trail
	cp "$RISERVA_DB" "$BATS_TEST_TMPDIR/orig.db"
	cols="at, actor, tool, action, client_id, ref, fields, reason, mac"
	# A copy of the last row, with its MAC, appended after it.
	rv_sql "INSERT INTO audit (id, $cols) SELECT 14, $cols FROM audit WHERE id = 13"
	run audit verify
	assert_failure 1
	assert_line --index 1 --partial "audit: row 14 does not match its MAC"
	# One made up in the middle: the later rows moved up to make room.
	cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
	rv_sql "UPDATE audit SET id = -id WHERE id >= 7; UPDATE audit SET id = 1 - id WHERE id < 0;
	    INSERT INTO audit (id, $cols) SELECT 7, $cols FROM audit WHERE id = 6"
	[ "$(rows)" -eq 14 ]
	run audit verify
	assert_failure 1
	assert_line --index 1 --partial "audit: row 7 does not match its MAC"
	# Nor can one go in unsealed.
	cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
	rv_sql "INSERT INTO audit (id, at, actor, tool, action) VALUES (14, 0, 'x', 'x', 'x')"
	run audit verify
	assert_failure 1
	assert_line --index 1 "audit: row 14 is not sealed"
}

@test "the trail cannot be re-chained without the key" {
	trail
	# With another key file, the database refuses the key outright.
	printf '%064d\n' 7 >"$BATS_TEST_TMPDIR/other"
	chmod 600 "$BATS_TEST_TMPDIR/other"
	RISERVA_KEY="$BATS_TEST_TMPDIR/other" run audit verify
	assert_failure 78
	assert_output "audit: key file $BATS_TEST_TMPDIR/other is not the key this database was encrypted with"
}

@test "a change after tampering still appends, and verify still finds the damage" {
	trail
	rv_sql "UPDATE audit SET actor = 'x' WHERE id = 4"
	client add --name Lia --surname Verdi --email lia@example.com --phone 123456 >/dev/null
	run audit verify
	assert_failure 1
	assert_line --index 1 --partial "audit: row 4 does not match"
}

@test "a reason naming its client is refused: the trail keeps reasons after erasure" {
	rv_centre
	book add --client 1 --service Viso --staff giulia@example.com \
		--at '2026-12-01 10:00' >/dev/null
	before=$(rv_sql 'SELECT count(*) FROM audit')
	run book cancel 1 --reason "mario called, he is ill"
	assert_failure 65
	assert_output "book: the reason holds the client's name, and reasons stay on the audit trail after an erasure: say why without naming them"
	[ "$(rv_sql 'SELECT status FROM appointment')" = booked ]
	run client restrict 1 --reason "ROSSI contests the data"
	assert_failure 65
	assert_output --partial "the client's surname"
	run gdpr-export 1 --reason "sent to mario@example.com"
	assert_failure 65
	assert_output --partial "the client's email"
	[ "$(rv_sql 'SELECT count(*) FROM audit')" = "$before" ]
	# A word that merely holds the name is not the name; another
	# client's name is not this one's.
	run book cancel 1 --reason "Marionette show moved; Anna covers"
	assert_success
	# An erasure writes its rows once the client is gone: checked first.
	run gdpr-erase 1 --reason "Mario Rossi asked" --dry-run
	assert_failure 65
	run gdpr-erase 1 --reason "Mario Rossi asked"
	assert_failure 65
	[ "$(rv_sql 'SELECT count(*) FROM client WHERE id = 1')" = 1 ]
	run gdpr-erase 1 --reason "art. 17 request 3"
	assert_success
	run audit verify
	assert_success
}

@test "audit list filters by client, actor, action and time" {
	trail
	run audit list --client anna@example.com
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 1 '{"type":"audit","id":12,"at":"2026-12-01T09:00:00+01:00","actor":"tester","tool":"client","action":"client.read","client_id":2,"ref":"client 2","fields":"name,surname,email,phone,birth,locale,notes","reason":null}'
	run audit list --client 2 --actor anna
	assert_output '{"type":"audit","id":13,"at":"2026-12-02T09:00:00+01:00","actor":"anna","tool":"client","action":"client.edit","client_id":2,"ref":"client 2","fields":"phone","reason":null}'
	run audit list --from 2026-12-01 --to 2026-12-01
	[ "${#lines[@]}" -eq 1 ]
	[ "$(rv_json '["id"]')" = 12 ]
	run audit list --action client.read
	[ "${#lines[@]}" -eq 2 ]
	run audit list --action staff.
	[ "${#lines[@]}" -eq 6 ]
	run audit list --client 99
	assert_failure 1
	assert_output ""
	run audit list --client nobody@example.com
	assert_failure 66
	run audit list --format csv --action client.edit
	assert_line --index 0 "type,id,at,actor,tool,action,client_id,ref,fields,reason"
}

@test "purge keeps 12 months, leaves an anchor, and the chain verifies" {
	trail
	# A year and more later: everything but the last month is old.
	export RISERVA_NOW=2027-12-01T12:00:00+01:00
	run audit purge --dry-run
	assert_success
	[ "$(rv_json '["purged"]')" = 11 ]
	[ "$(rv_json '["id"]')" = null ]
	[ "$(rows)" -eq 13 ]
	run audit purge
	assert_success
	assert_output '{"type":"anchor","id":1,"at":"2027-12-01T12:00:00+01:00","first_id":12,"purged":11,"before":"2026-12-01T00:00:00+01:00"}'
	run rv_sql 'SELECT id, action, ref FROM audit'
	assert_output "12|client.read|client 2
13|client.edit|client 2
14|audit.purge|audit 1-11"
	run audit verify
	assert_success
	[ "$(rv_json '["rows"]')" = 3 ]
	[ "$(rv_json '["first_id"]')" = 12 ]
	[ "$(rv_json '["anchor_id"]')" = 1 ]
	[ "$(rv_json '["purged"]')" = 11 ]
	# New rows chain on.
	client add --name Lia --surname Verdi --email lia@example.com --phone 123456 >/dev/null
	run audit verify
	assert_success
	run audit anchors
	assert_output '{"type":"anchor","id":1,"at":"2027-12-01T12:00:00+01:00","first_id":12,"purged":11,"before":"2026-12-01T00:00:00+01:00"}'
}

@test "after a purge, deleting the first kept row or the anchor is found" {
	trail
	export RISERVA_NOW=2027-12-01T12:00:00+01:00
	audit purge >/dev/null
	cp "$RISERVA_DB" "$BATS_TEST_TMPDIR/orig.db"
	rv_sql "DELETE FROM audit WHERE id = 12"
	run audit verify
	assert_failure 1
	assert_line --index 1 "audit: row 12 is missing"
	cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
	rv_sql "DELETE FROM audit_anchor"
	run audit verify
	assert_failure 1
	assert_line --index 1 "audit: row 1 is missing (and up to row 11)"
	cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
	rv_sql "UPDATE audit_anchor SET first_id = 13"
	run audit verify
	assert_failure 1
	assert_line --index 1 "audit: the anchor of the last purge (anchor 1) does not match its MAC"
}

@test "purge of everything old still keeps a verifiable chain" {
	trail
	export RISERVA_NOW=2029-01-01T12:00:00+01:00
	run audit purge
	assert_success
	[ "$(rv_json '["purged"]')" = 13 ]
	[ "$(rv_json '["first_id"]')" = 14 ]
	[ "$(rv_sql 'SELECT id || action FROM audit')" = "14audit.purge" ]
	run audit verify
	assert_success
	run audit purge
	assert_success
	assert_output ""
	[ "$(rows)" -eq 1 ]
}

@test "a broken trail is never purged: the evidence is kept" {
	trail
	rv_sql "UPDATE audit SET actor = 'x' WHERE id = 2"
	export RISERVA_NOW=2027-12-01T12:00:00+01:00
	run audit purge
	assert_failure 1
	assert_output "audit: the audit trail is broken at row 2 (row 2 does not match its MAC: it was changed, or rows before it were changed, moved or removed): nothing purged, so the evidence is kept"
	[ "$(rows)" -eq 13 ]
}

@test "retention.audit_months sets the term; months are calendar months" {
	trail
	printf '[retention]\naudit_months = 1\n' >"$RISERVA_CONFIG"
	# 31 December less a month is 30 November, the last day it has.
	run audit purge --now '2026-12-31 10:00' --dry-run
	assert_success
	assert_output '{"type":"anchor","id":null,"at":"2026-12-31T10:00:00+01:00","first_id":1,"purged":0,"before":"2026-11-30T00:00:00+01:00"}'
	run audit purge --now '2026-12-31 10:00'
	assert_success
	assert_output ""
	run audit purge --now '2027-01-02 10:00'
	assert_success
	[ "$(rv_json '["before"]')" = 2026-12-02T00:00:00+01:00 ]
	[ "$(rv_json '["purged"]')" = 12 ]
	run audit verify
	assert_success
}

@test "rows from before the chain are sealed by the first change" {
	trail
	# As a database from an older riserva: no MACs, no sealed head.
	rv_sql "UPDATE audit SET mac = NULL; DELETE FROM meta WHERE key = 'audit_head'"
	run audit verify
	assert_failure 1
	assert_line --index 1 "audit: row 1 is not sealed"
	client add --name Lia --surname Verdi --email lia@example.com --phone 123456 >/dev/null
	run audit verify
	assert_success
	[ "$(rv_json '["rows"]')" = 14 ]
}

@test "an empty trail verifies with zero rows" {
	run audit verify
	assert_success
	[ "$(rv_json '["rows"]')" = 0 ]
	[ "$(rv_json '["intact"]')" = true ]
}

@test "audit usage errors" {
	run audit
	assert_failure 64
	run audit frobnicate
	assert_failure 64
	assert_line --index 0 "audit: unknown verb 'frobnicate'"
	run audit verify extra
	assert_failure 64
	run audit list --from 2026-13-01
	assert_failure 65
}

@test "a long trail: sealed at upgrade, verified in ranges, damage found anywhere" {
	rv_centre
	rv_sql "DELETE FROM audit; DELETE FROM meta WHERE key = 'audit_head';
	    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
	    INSERT INTO audit (id, at, actor, tool, action, client_id, ref, fields)
	    SELECT i, 1700000000 + i, 'desk', 'client', 'client.read', i % 50 + 1,
	    'client ' || (i % 50 + 1), 'name,phone' FROM n"
	client show 1 >/dev/null
	run audit verify
	assert_success
	[ "$(rv_json '["rows"]')" = 100001 ]
	cp "$RISERVA_DB" "$BATS_TEST_TMPDIR/orig.db"
	# Either side of where the trail is cut into parts for 1, 2 or 4
	# processors (12500, 6250, 3125 rows each), and the ends.
	for id in 2 6250 6251 12500 12501 50000 50001 100001; do
		cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
		rv_sql "UPDATE audit SET ref = 'x' WHERE id = $id"
		run audit verify
		assert_failure 1
		assert_line --index 1 --partial "audit: row $id does not match its MAC"
	done
	for id in 6250 6251 50000 50001 77777; do
		cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
		rv_sql "DELETE FROM audit WHERE id = $id"
		run audit verify
		assert_failure 1
		assert_line --index 1 "audit: row $id is missing"
	done
	# Damage in several parts: the first in the trail is the one named,
	# whichever part was checked first.
	cp "$BATS_TEST_TMPDIR/orig.db" "$RISERVA_DB"
	rv_sql "UPDATE audit SET ref = 'x' WHERE id IN (30000, 90000);
	    DELETE FROM audit WHERE id = 95000"
	run audit verify
	assert_failure 1
	assert_line --index 1 --partial "audit: row 30000 does not match its MAC"
}
