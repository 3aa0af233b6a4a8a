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

@test "gcal-sync: verbs, options and staff complete" {
	rv_centre
	run complete_line "gcal-sync dis"
	assert_output disconnect
	run complete_line "gcal-sync disconnect --pu"
	assert_output --purge-imported
	run complete_line "gcal-sync connect gi"
	assert_output giulia@example.com
}
