#!/usr/bin/env bats
# docs: the manuals and the example configuration say what the code does.

load helper

# The keys of lib/conf.c's known[] as "key<TAB>default", one per line.
conf_keys() {
	# An entry may wrap onto a second line.
	awk '/^\t{ "[a-z_]*\.[a-z_]*",/ && !/},$/ { getline rest; sub(/^[ \t]*/, " ", rest); $0 = $0 rest } { print }' \
		"$RV_ROOT/lib/conf.c" |
		sed -n 's/^	{ "\([a-z_]*\.[a-z_]*\)", *"\([^"]*\)" },$/\1	\2/p'
}

@test "riserva.conf(5) documents every configuration key with its default" {
	n=0
	while IFS=$'\t' read -r key def; do
		n=$((n + 1))
		[ -n "$def" ] || def='\(dq\(dq'
		# mdoc wants a trailing full stop escaped.
		case $def in *.) def="${def%.}\\&." ;; esac
		grep -qxF ".It Cm $key No = Li $def" "$RV_ROOT/man/riserva.conf.5" ||
			fail "riserva.conf.5 lacks '.It Cm $key No = Li $def'"
	done < <(conf_keys)
	[ "$n" -gt 15 ]
}

@test "config.example shows every key, commented, with its default" {
	while IFS=$'\t' read -r key def; do
		sec=${key%%.*} k=${key#*.}
		[ -n "$def" ] || def='""'
		# The line must be in its own section.
		sed -n "/^\[$sec\]/,/^\[/p" \
			"$RV_ROOT/share/riserva/config.example" |
			grep -qxF "#$k = $def" ||
			case $def in
			*' '*) sed -n "/^\[$sec\]/,/^\[/p" \
				"$RV_ROOT/share/riserva/config.example" |
				grep -qxF "#$k = \"$def\"" ;;
			*) false ;;
			esac ||
			fail "config.example lacks '#$k = $def' in [$sec]"
	done < <(conf_keys)
}

@test "config.example is a valid configuration, commented and not" {
	cp "$RV_ROOT/share/riserva/config.example" "$RISERVA_CONFIG"
	run catalog list
	assert_failure 1	# read and accepted; the catalog is empty
	assert_output ""
	sed 's/^#\([a-z_]* =\)/\1/' "$RV_ROOT/share/riserva/config.example" \
		>"$RISERVA_CONFIG"
	[ "$(grep -c '^[a-z_]* =' "$RISERVA_CONFIG")" -eq "$(conf_keys | wc -l)" ]
	run book slots --service 1 --date 2026-12-01
	assert_failure 66	# the config was read and accepted; no such service
	assert_output "book: no such service '1'"
}

@test "each tool's manual names every verb and option of its usage" {
	for b in "$RV_ROOT"/bin/*; do
		t=${b##*/} page="$RV_ROOT/man/$t.1"
		help=$("$b" --help)
		for verb in $(printf '%s\n' "$help" |
		    sed -n "s/^\(usage:\)\{0,1\} *$t \([a-z][a-z-]*\).*/\2/p"); do
			grep -qx "\.Cm $verb" "$page" ||
				fail "$t.1 lacks the verb $verb"
		done
		for opt in $(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' |
		    sort -u); do
			grep -q "Fl -${opt#--}\b" "$page" ||
				fail "$t.1 lacks the option $opt"
		done
		for sec in NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT FILES \
		    'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
			grep -qx "\.Sh $sec" "$page" ||
				fail "$t.1 lacks the section $sec"
		done
	done
}

# Runs a command that may fail: here what matters is what it says.
say() {
	"$@" || true
}

# Every refusal book(1) quotes (its .Dl lines) is what book prints.
@test "book(1) quotes book's refusals word for word" {
	rv_centre
	{
	say book add --client mario@example.com --service Massaggio \
		--staff giulia@example.com --at '2026-12-01 10:00'
	say book add --client anna@example.com --service Massaggio \
		--staff giulia@example.com --at '2026-12-01 10:30'
	say book add --client anna@example.com --service Massaggio \
		--staff giulia@example.com --at '2026-12-01 12:30'
	say book add --client anna@example.com --service Massaggio \
		--staff giulia@example.com --at '2026-12-01 11:00'
	say book add --client anna@example.com --service Massaggio \
		--staff giulia@example.com --at '2026-12-01 09:00'
	say staff off giulia@example.com --from 2026-12-24 --to 2026-12-26 \
		--reason Natale
	say book add --client anna@example.com --service Massaggio \
		--staff giulia@example.com --at '2026-12-24 10:00'
	say book block --staff marco@example.com --from '2026-12-02 12:00' \
		--to '2026-12-02 13:00' --title Dentist
	say book add --client anna@example.com --service Massaggio \
		--staff marco@example.com --at '2026-12-02 12:00'
	rv_sql "INSERT INTO event (staff_id, start, end, source, title, busy,
	    created, updated) VALUES (2, $(date -d 2026-12-07T10:00+01:00 +%s),
	    $(date -d 2026-12-07T13:00+01:00 +%s), 'google', 'Riunione', 1, 0, 0)"
	say book add --client anna@example.com --service Massaggio \
		--staff marco@example.com --at '2026-12-07 10:00'
	say book add --client anna@example.com --service Viso \
		--staff marco@example.com --at '2026-12-07 15:00'
	say book add --client anna@example.com --service Viso --at '2026-11-29 10:00'
	say book add --client anna@example.com --service Massaggio \
		--at '2026-12-06 10:00'
	say book add --client mario@example --service Viso --at '2026-12-01 15:00'
	say book add --client anna@example.com --service Masaggio \
		--at '2026-12-01 15:00'
	say book add --client anna@example.com --service Viso --staff giulia \
		--at '2026-12-01 15:00'
	rv_sql "UPDATE client SET restricted = 1 WHERE id = 1"
	say book add --client 1 --service Viso --at '2026-12-01 15:00'
	rv_sql "UPDATE client SET restricted = 0 WHERE id = 1"
	say catalog retire Viso
	say book add --client 1 --service Viso --at '2026-12-01 15:00'
	say catalog unretire Viso
	say staff edit giulia@example.com --inactive
	say book add --client 1 --service Viso --staff giulia@example.com \
		--at '2026-12-01 15:00'
	say book add --client 1 --service Viso --at '2026-12-01 15:00'
	} >/dev/null 2>"$BATS_TEST_TMPDIR/said"
	n=0
	while IFS= read -r msg; do
		n=$((n + 1))
		grep -qxF "book: $msg" "$BATS_TEST_TMPDIR/said" ||
			fail "book never said: $msg"
	done < <(sed -n 's/^\.Dl //p' "$RV_ROOT/man/book.1")
	[ "$n" -ge 15 ]
}

@test "book(1) shows the DST refusals as book prints them" {
	page=$(tr '\n' ' ' <"$RV_ROOT/man/book.1")
	for at in '2027-03-28 02:30' '2027-10-31 02:30'; do
		run book list --from "$at"
		assert_failure 65
		[[ $page == *"$output"* ]] || fail "book(1) lacks: $output"
	done
}

@test "the manuals close every quoted word: no Qq that swallows the rest of its line" {
	# '.Qq a No or Qq b' renders as "a or "b"": Qq quotes everything after
	# it on the line. The empty values of riserva.conf(5) are the only "".
	for page in "$RV_ROOT"/man/*.[157]; do
		run bash -c "mandoc -Tascii '$page' | col -b | grep -v '= \"\"\$' |
		    grep -E '\"\"|\"[A-Za-z0-9._-]+(,| or| :) '"
		assert_failure 1
		[ -z "$output" ] || fail "${page##*/}: $output"
	done
}

@test "the README's tour sets up the centre and books as it shows" {
	# Its commands from "A tour" to the first refusal, continuation
	# lines joined; the clock stands the day before the tour's date.
	awk '/^## A tour/ { on = 1 } /^A booking is refused/ { on = 0 }
	    on && /^    \$ / {
		sub(/^    \$ /, "")
		while (/\\$/) { sub(/\\$/, ""); line = $0; getline
		    sub(/^ +/, " "); $0 = line $0 }
		print }' "$RV_ROOT/README.md" >"$BATS_TEST_TMPDIR/tour"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/tour")" -ge 8 ]
	local statuses=() line
	while IFS= read -r line; do
		[ "$line" = 'echo $?' ] && continue
		run eval "$line" </dev/null
		statuses+=("$status")
	done <"$BATS_TEST_TMPDIR/tour"
	[ "${statuses[*]}" = "0 0 0 0 0 0 0 0 0 1" ] ||
		fail "exit statuses: ${statuses[*]}"
	assert_output "$(sed -n 's/^    \(book: slot taken: .*\)$/\1/p' \
		"$RV_ROOT/README.md")"
}
