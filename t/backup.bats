#!/usr/bin/env bats
# backup: encrypted snapshots made while tools work; verify, restore, prune.

load helper

bk() {
	printf '%s\n' "$BATS_TEST_TMPDIR/bk"
}

# A database over three 1 MiB chunks: 12000 clients.
big_centre() {
	rv_centre
	python3 -c '
for i in range(24000):
    print("{\"name\":\"N%d\",\"surname\":\"Cognome%d\",\"email\":\"c%d@example.com\",\"phone\":\"+39333%07d\"}" % (i, i, i, i))' |
		client import 2>/dev/null
}

@test "backup create writes one encrypted file named by its UTC time" {
	rv_centre
	run backup create --output "$(bk)"
	assert_success
	f="$(bk)/riserva-2026-11-30T070000Z.rvbak"
	assert_output "{\"type\":\"backup\",\"id\":\"riserva-2026-11-30T070000Z.rvbak\",\"path\":\"$f\",\"created\":\"2026-11-30T08:00:00+01:00\",\"size\":$(stat -c %s "$f"),\"db_size\":$(rv_json '["db_size"]'),\"schema\":$(rv_sql 'PRAGMA user_version')}"
	[ "$(stat -c %a "$f")" = 600 ]
	[ "$(stat -c %a "$(bk)")" = 700 ]
	[ "$(head -c 8 "$f")" = RVBACKUP ]
	# Nothing readable: not an email, not the SQLite header.
	! grep -q "mario@example.com" "$f"
	! grep -q "SQLite format 3" "$f"
	[ "$(ls -A "$(bk)" | wc -l)" -eq 1 ]
	[ "$(rv_sql "SELECT action || ' ' || ref FROM audit ORDER BY id DESC LIMIT 1")" = "backup.create backup riserva-2026-11-30T070000Z.rvbak" ]
	# A second one in the same second does not overwrite the first.
	run backup create --output "$(bk)"
	assert_success
	[ "$(rv_json '["id"]')" = riserva-2026-11-30T070000Z-2.rvbak ]
}

@test "backup verify decrypts, checks integrity and the trail inside" {
	rv_centre
	backup create --output "$(bk)" >/dev/null
	run backup verify "$(bk)"/riserva-2026-11-30T070000Z.rvbak
	assert_success
	[ "$(rv_json '["integrity"]')" = ok ]
	[ "$(rv_json '["clients"]')" = 2 ]
	[ "$(rv_json '["audit_intact"]')" = true ]
}

@test "backup restore makes a new database with the same data" {
	rv_centre
	book add --client 1 --service Viso --staff giulia@example.com --at '2026-12-01 10:00' >/dev/null
	backup create --output "$(bk)" >/dev/null
	run backup restore "$(bk)"/riserva-2026-11-30T070000Z.rvbak --db "$BATS_TEST_TMPDIR/new.db"
	assert_success
	[ "$(rv_json '["type"]')" = restore ]
	[ "$(rv_json '["path"]')" = "$BATS_TEST_TMPDIR/new.db" ]
	[ "$(rv_json '["reerased"]')" = '[]' ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/new.db")" = 600 ]
	for q in "SELECT group_concat(email) FROM client" \
	    "SELECT group_concat(start) FROM appointment" \
	    "SELECT count(*) FROM staff_hours"; do
		[ "$(sqlite3 "$BATS_TEST_TMPDIR/new.db" "$q")" = "$(rv_sql "$q")" ]
	done
	# The tools work on it, and its trail says it was restored.
	run book list --db "$BATS_TEST_TMPDIR/new.db"
	assert_success
	run audit verify --db "$BATS_TEST_TMPDIR/new.db"
	assert_success
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/new.db" "SELECT action FROM audit ORDER BY id DESC LIMIT 1")" = backup.restore ]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep restore-)" ]
}

@test "backup restore warns of receipts issued since the backup" {
	rv_centre
	for h in 09 10 11; do
		book add --client 1 --service Viso --staff giulia@example.com \
			--at "2026-11-30 $h:00" >/dev/null
	done
	export RISERVA_NOW=2026-11-30T18:00:00+01:00
	book done 1 --paid 40 --method card >/dev/null
	backup create --output "$(bk)" >/dev/null
	f=$(bk)/riserva-2026-11-30T170000Z.rvbak
	run backup restore "$f" --db "$BATS_TEST_TMPDIR/a.db"
	assert_success
	refute_output --partial "receipt"
	book done 2 --paid 40 --method cash >/dev/null
	book done 3 --paid 40 --method cash >/dev/null
	run backup restore "$f" --db "$BATS_TEST_TMPDIR/b.db"
	assert_success
	assert_line "backup: $RISERVA_DB holds 2 receipts issued after this backup (2026/000002 to 2026/000003), under the fiscal hold: moving $BATS_TEST_TMPDIR/b.db into place would lose them; keep them first ('book receipts --db $RISERVA_DB')"
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/b.db" 'SELECT count(*) FROM fiscal')" = 1 ]
}

@test "backup restore never writes over a database" {
	rv_centre
	backup create --output "$(bk)" >/dev/null
	before=$(sha256sum "$RISERVA_DB")
	run backup restore "$(bk)"/riserva-2026-11-30T070000Z.rvbak
	assert_failure 73
	assert_output "backup: $RISERVA_DB exists: restore into a new file (--db PATH), then move it into place"
	[ "$(sha256sum "$RISERVA_DB")" = "$before" ]
	touch "$BATS_TEST_TMPDIR/x.db-wal"
	run backup restore "$(bk)"/riserva-2026-11-30T070000Z.rvbak --db "$BATS_TEST_TMPDIR/x.db"
	assert_failure 73
	[ ! -e "$BATS_TEST_TMPDIR/x.db" ]
}

@test "a tampered backup is refused and nothing is written" {
	big_centre
	backup create --output "$(bk)" >/dev/null
	f="$(bk)"/riserva-2026-11-30T070000Z.rvbak
	[ "$(stat -c %s "$f")" -gt 2300000 ]
	cp "$f" "$BATS_TEST_TMPDIR/orig"
	# One byte inside the second chunk.
	printf 'x' | dd of="$f" bs=1 seek=1500000 conv=notrunc 2>/dev/null
	run backup verify "$f"
	assert_failure 65
	assert_output "backup: $f does not authenticate (chunk 1): it was changed or damaged; refused"
	run backup restore "$f" --db "$BATS_TEST_TMPDIR/new.db"
	assert_failure 65
	[ ! -e "$BATS_TEST_TMPDIR/new.db" ]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep -e restore- -e new.db)" ]
	# The header: the creation time moved a second.
	cp "$BATS_TEST_TMPDIR/orig" "$f"
	printf '\001' | dd of="$f" bs=1 seek=23 conv=notrunc 2>/dev/null
	run backup restore "$f" --db "$BATS_TEST_TMPDIR/new.db"
	assert_failure 65
	assert_output "backup: $f does not authenticate (chunk 0): it was changed or damaged; refused"
	[ ! -e "$BATS_TEST_TMPDIR/new.db" ]
	# Two chunks swapped, each intact.
	python3 - "$BATS_TEST_TMPDIR/orig" "$f" <<-'EOF'
	import sys
	b = open(sys.argv[1], "rb").read()
	n = (1 << 20) + 16
	open(sys.argv[2], "wb").write(b[:128] + b[128 + n:128 + 2 * n] + b[128:128 + n] + b[128 + 2 * n:])
	EOF
	run backup restore "$f" --db "$BATS_TEST_TMPDIR/new.db"
	assert_failure 65
	assert_output --partial "does not authenticate (chunk 0)"
	[ ! -e "$BATS_TEST_TMPDIR/new.db" ]
	# Not ours at all.
	printf 'hello' >"$f"
	run backup verify "$f"
	assert_failure 65
	assert_output "backup: $f is not a riserva backup (too short)"
}

@test "a truncated or extended backup is refused and nothing is written" {
	big_centre
	backup create --output "$(bk)" >/dev/null
	f="$(bk)"/riserva-2026-11-30T070000Z.rvbak
	size=$(stat -c %s "$f")
	cp "$f" "$BATS_TEST_TMPDIR/orig"
	# Cut at the end of the first chunk: every chunk left is whole.
	head -c $((128 + (1 << 20) + 16)) "$BATS_TEST_TMPDIR/orig" >"$f"
	run backup restore "$f" --db "$BATS_TEST_TMPDIR/new.db"
	assert_failure 65
	assert_output "backup: $f is truncated ($((128 + (1 << 20) + 16)) of $size bytes): refused"
	[ ! -e "$BATS_TEST_TMPDIR/new.db" ]
	head -c 100 "$BATS_TEST_TMPDIR/orig" >"$f"
	run backup verify "$f"
	assert_failure 65
	{ cat "$BATS_TEST_TMPDIR/orig"; printf 'more'; } >"$f"
	run backup verify "$f"
	assert_failure 65
	assert_output "backup: $f has data after its end ($((size + 4)) bytes, expected $size): refused"
	run backup restore "$f" --db "$BATS_TEST_TMPDIR/new.db"
	assert_failure 65
	[ ! -e "$BATS_TEST_TMPDIR/new.db" ]
}

@test "a backup opens only with the key it was made with" {
	rv_centre
	backup create --output "$(bk)" >/dev/null
	f="$(bk)"/riserva-2026-11-30T070000Z.rvbak
	printf '%064d\n' 5 >"$BATS_TEST_TMPDIR/other"
	chmod 600 "$BATS_TEST_TMPDIR/other"
	RISERVA_KEY="$BATS_TEST_TMPDIR/other" run backup verify "$f"
	assert_failure 78
	assert_output "backup: $f was made with another key than $BATS_TEST_TMPDIR/other"
	RISERVA_KEY="$BATS_TEST_TMPDIR/none" run backup restore "$f" --db "$BATS_TEST_TMPDIR/new.db"
	assert_failure 78
	assert_output "backup: no key file $BATS_TEST_TMPDIR/none"
	[ ! -e "$BATS_TEST_TMPDIR/new.db" ]
}

@test "backup while a writer is busy: a consistent snapshot, nobody waits for it" {
	rv_centre
	# A writer holds the write lock for 3 seconds around one new client.
	{
		printf 'BEGIN IMMEDIATE;\n'
		printf "INSERT INTO client (name, surname, email, phone, created, updated) VALUES ('W', 'Writer', 'writer@example.com', '123456', 0, 0);\n"
		printf '.shell touch %s\n' "$BATS_TEST_TMPDIR/locked"
		printf '.shell sleep 3\n'
		printf 'COMMIT;\n'
	} | sqlite3 "$RISERVA_DB" &
	writer=$!
	while [ ! -e "$BATS_TEST_TMPDIR/locked" ]; do sleep 0.05; done
	# Other tools write all along.
	(
		for i in 1 2 3 4 5 6; do
			client add --name "C$i" --surname Busy --email "c$i@example.com" \
				--phone "12345$i" >/dev/null || exit 1
		done
	) &
	adders=$!
	run backup create --output "$(bk)"
	assert_success
	wait "$writer"
	wait "$adders"
	[ "$(rv_sql "SELECT count(*) FROM client WHERE email = 'writer@example.com'")" = 1 ]
	[ "$(rv_sql "SELECT count(*) FROM client WHERE surname = 'Busy'")" = 6 ]
	# The snapshot was taken while the writer held its transaction: the
	# backup has what was committed then, and not the writer's row.
	backup restore "$(bk)"/riserva-2026-11-30T070000Z.rvbak --db "$BATS_TEST_TMPDIR/new.db" >/dev/null
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/new.db" "SELECT count(*) FROM client WHERE email = 'writer@example.com'")" = 0 ]
	[ "$(sqlite3 "$BATS_TEST_TMPDIR/new.db" "PRAGMA integrity_check")" = ok ]
	run audit verify
	assert_success
}

@test "backup list and prune keep retention.backup_days, never the newest" {
	rv_centre
	for d in 2026-11-10 2026-11-20 2026-11-25 2026-11-30; do
		RISERVA_NOW=${d}T03:00:00+01:00 backup create --output "$(bk)" >/dev/null
	done
	run backup list --dir "$(bk)"
	assert_success
	[ "${#lines[@]}" -eq 4 ]
	assert_line --index 0 --partial '"id":"riserva-2026-11-10T020000Z.rvbak"'
	run backup prune --dir "$(bk)" --dry-run
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[ "$(ls "$(bk)" | wc -l)" -eq 4 ]
	run backup prune --dir "$(bk)"
	assert_success
	assert_line --index 0 --partial '"id":"riserva-2026-11-10T020000Z.rvbak"'
	assert_line --index 1 --partial '"id":"riserva-2026-11-20T020000Z.rvbak"'
	run ls "$(bk)"
	assert_output "riserva-2026-11-25T020000Z.rvbak
riserva-2026-11-30T020000Z.rvbak"
	# Months later, cron still keeps the last one.
	run backup prune --dir "$(bk)" --now 2027-03-01T00:00:00+01:00
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	run ls "$(bk)"
	assert_output "riserva-2026-11-30T020000Z.rvbak"
	# Files that are not riserva backups are never touched.
	touch "$(bk)/notes.txt" "$(bk)/riserva-old.rvbak"
	run backup prune --dir "$(bk)" --now 2027-03-01T00:00:00+01:00
	assert_success
	[ "$(ls "$(bk)" | wc -l)" -eq 3 ]
}

@test "the backup folder defaults under XDG_DATA_HOME and follows backup.dir" {
	rv_centre
	run backup create
	assert_success
	[ -f "$XDG_DATA_HOME/riserva/backups/riserva-2026-11-30T070000Z.rvbak" ]
	printf '[backup]\ndir = %s\n' "$BATS_TEST_TMPDIR/elsewhere" >"$RISERVA_CONFIG"
	RISERVA_NOW=2026-11-30T09:00:00+01:00 run backup create
	assert_success
	[ -f "$BATS_TEST_TMPDIR/elsewhere/riserva-2026-11-30T080000Z.rvbak" ]
	run backup list
	[ "${#lines[@]}" -eq 1 ]
}

@test "backup usage errors" {
	run backup
	assert_failure 64
	run backup verify
	assert_failure 64
	run backup verify "$BATS_TEST_TMPDIR/nothing.rvbak"
	assert_failure 66
	run backup create --output
	assert_failure 64
}
