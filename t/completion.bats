#!/usr/bin/env bats
# bash completion: every tool has a file; verbs, options and names complete.

load helper

# Completes the command line in $1 (the cursor at its end) with the bash
# completion of its first word; prints the candidates one per line.
complete_line() {
	local line=$1 tool=${1%% *}
	bash -c '
		. "$1/completions/bash/$2"
		read -ra COMP_WORDS <<<"$3"
		[[ $3 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
		_riserva_${2//-/_}
		printf "%s\n" "${COMPREPLY[@]}"
	' _ "$RV_ROOT" "$tool" "$line"
}

@test "every tool has a bash and a zsh completion and a man page" {
	for b in "$RV_ROOT"/bin/*; do
		t=${b##*/}
		assert_file_exists "$RV_ROOT/completions/bash/$t"
		assert_file_exists "$RV_ROOT/completions/zsh/_$t"
		assert_file_exists "$RV_ROOT/man/$t.1"
		bash -n "$RV_ROOT/completions/bash/$t"
	done
}

@test "client: verbs, options and client emails complete" {
	rv_centre
	run complete_line "client sh"
	assert_output show
	run complete_line "client add --lo"
	assert_output --partial -- --locale
	run complete_line "client add --locale "
	assert_output "it
en"
	run complete_line "client show an"
	assert_output anna@example.com
	run complete_line "client --format js"
	assert_output "jsonl
json"
}

@test "consent: verbs, purposes, methods and policy versions complete" {
	rv_centre
	printf 'x\n' >"$BATS_TEST_TMPDIR/p"
	consent policy add --version 2026-1 --effective 2026-01-01 \
		--url https://a.example/p --file "$BATS_TEST_TMPDIR/p" >/dev/null
	run complete_line "consent wi"
	assert_output withdraw
	run complete_line "consent grant an"
	assert_output anna@example.com
	run complete_line "consent grant anna@example.com h"
	assert_output health
	run complete_line "consent grant 1 --method in"
	assert_output in-person
	run complete_line "consent token 1 "
	assert_output "reminders
marketing"
	run complete_line "consent policy a"
	assert_output "add
affected"
	run complete_line "consent policy show "
	assert_output 2026-1
	run complete_line "client health 1 --c"
	assert_output --partial -- --clear
}
