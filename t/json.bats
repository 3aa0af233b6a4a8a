#!/usr/bin/env bats
# The JSON Lines reader: strict RFC 8259, and every bad line named.

load helper

import_line() {
	printf '%s\n' "$1" | client import
}

@test "escapes and UTF-8 arrive intact" {
	run import_line '{"name":"Ren\u00e9e \"la\" \\ \ud83d\ude00","surname":"K\u00f6nig/\/","email":"r@example.com","phone":"123456"}'
	assert_success
	[ "$(rv_sql 'SELECT name || surname FROM client')" = 'Renée "la" \ 😀König//' ]
	run client list
	assert_output --partial '"name":"Renée \"la\" \\ 😀","surname":"König//"'
}

@test "malformed lines are 65 with the line and column" {
	for bad in '{"name":}' '{"name" "x"}' '{"a":1,}' '{"a":1' '{"a":"\x"}' \
	    '{"a":"\u12"}' '{"a":"\ud800"}' '{"a":"\udc00"}' '{"a":"\u0000"}' \
	    '{"a":01}' '{"a":1.}' '{"a":-}' '{"a":1e}' '{"a":tru}' '{"a":1} x' \
	    '{"a":1,"a":2}' '{"a":99999999999999999999}' "$(printf '{"a":"\tb"}')"; do
		run import_line "$bad"
		assert_failure 65
		assert_output --regexp '^client: line 1: bad JSON: .* at column [0-9]+$'
	done
	run import_line '{"name":"A","surname":"B","email":"a@example.com","phone":"123456",}'
	assert_output 'client: line 1: bad JSON: expected a key at column 68'
	run import_line "$(printf '{"name":"\xc3\x28"}')"
	assert_output 'client: line 1: bad JSON: invalid UTF-8 in a string at column 10'
	run import_line '{"a":"\u0000"}'
	assert_output 'client: line 1: bad JSON: \u0000 is not allowed at column 7'
	[ "$(rv_sql 'SELECT count(*) FROM client')" = 0 ]
}

@test "deep nesting is refused, not a crash" {
	deep=$(printf '%0.s[' $(seq 1 5000))
	run import_line "{\"a\":$deep}"
	assert_failure 65
	assert_output --partial "nested too deep"
}

@test "a NUL byte and an over-long line are refused" {
	run bash -c "printf '{\"name\":\"a\0b\"}\n' | client import"
	assert_failure 65
	assert_output "client: line 1: NUL byte"
	run bash -c "python3 -c 'print(\"{\\\"notes\\\":\\\"\" + \"x\" * 2000000 + \"\\\"}\")' | client import"
	assert_failure 65
	assert_output --partial "client: line 1: record too long"
}

@test "blank lines and CRLF line ends are fine" {
	printf '\r\n{"name":"A","surname":"B","email":"a@example.com","phone":"123456"}\r\n\n   \n' >"$BATS_TEST_TMPDIR/in"
	run client import <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output "client: imported 1 client"
}

@test "records out round-trip through records in" {
	rv_centre
	client edit 1 --notes "$(printf 'line one\nline "two" \\ tab\there')" >/dev/null
	client list --full --reason "round trip" >"$BATS_TEST_TMPDIR/out"
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$BATS_TEST_TMPDIR/out"
	export RISERVA_DB="$BATS_TEST_TMPDIR/b.db"
	client import <"$BATS_TEST_TMPDIR/out"
	[ "$(rv_sql "SELECT notes FROM client WHERE email = 'mario@example.com'")" = "$(printf 'line one\nline "two" \\ tab\there')" ]
}
