#!/usr/bin/env bats
# Two processes can never book the same operator at the same time.

load helper

@test "20 book add at once for one slot: exactly one wins, 19 are refused" {
	rv_centre
	for i in $(seq 1 20); do
		client add --name "C$i" --surname Race --email "c$i@example.com" \
			--phone "3330000$(printf %03d "$i")" >/dev/null
	done
	gate="$BATS_TEST_TMPDIR/gate"
	for i in $(seq 1 20); do
		(
			while [ ! -e "$gate" ]; do sleep 0.005; done
			rc=0
			book add --client "c$i@example.com" --service Massaggio \
				--staff giulia@example.com --at '2026-12-01 10:00' \
				>"$BATS_TEST_TMPDIR/out.$i" 2>"$BATS_TEST_TMPDIR/err.$i" ||
				rc=$?
			echo $rc >"$BATS_TEST_TMPDIR/rc.$i"
		) &
	done
	touch "$gate"
	wait
	ok=0 refused=0
	for i in $(seq 1 20); do
		case $(cat "$BATS_TEST_TMPDIR/rc.$i") in
		0) ok=$((ok + 1)) ;;
		1) refused=$((refused + 1))
		   grep -q "^book: slot taken: overlaps appointment 1 (2026-12-01 10:00-11:00)$" "$BATS_TEST_TMPDIR/err.$i" ;;
		*) cat "$BATS_TEST_TMPDIR/err.$i"; false ;;
		esac
	done
	[ "$ok" -eq 1 ]
	[ "$refused" -eq 19 ]
	[ "$(rv_sql "SELECT count(*) FROM appointment")" = 1 ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'appointment.add'")" = 1 ]
}

@test "concurrent imports and bookings leave a consistent database" {
	rv_centre
	for i in $(seq 1 5); do
		seq 1 200 | sed "s/.*/{\"name\":\"N&\",\"surname\":\"S$i\",\"email\":\"n&.$i@example.com\",\"phone\":\"333000&\"}/" \
			>"$BATS_TEST_TMPDIR/in.$i"
	done
	for i in $(seq 1 5); do
		client import <"$BATS_TEST_TMPDIR/in.$i" 2>/dev/null &
	done
	wait
	[ "$(rv_sql "SELECT count(*) FROM client")" = $((2 + 5 * 200)) ]
	[ "$(rv_sql "PRAGMA integrity_check")" = ok ]
}

@test "a writer that cannot get the lock in time exits 75 and writes nothing" {
	rv_centre
	printf '[db]\nbusy_timeout = 100\n' >"$RISERVA_CONFIG"
	# hold the write lock from another connection for a while
	( printf 'BEGIN IMMEDIATE;\nSELECT 1;\n'; sleep 2; printf 'COMMIT;\n' ) |
		sqlite3 "$RISERVA_DB" >/dev/null &
	sleep 0.5
	run book add --client mario@example.com --service Viso --staff giulia@example.com --at '2026-12-01 10:00'
	assert_failure 75
	assert_output "book: the database is busy (another riserva is writing); try again"
	wait
	[ "$(rv_sql "SELECT count(*) FROM appointment")" = 0 ]
}
