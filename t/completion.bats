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

# The same with zsh's completion, through a pseudo-terminal (t/zcomplete.zsh);
# the candidates as they would be inserted, sorted, one per line.
zcomplete_line() {
	command -v zsh >/dev/null || skip "zsh is not installed"
	zsh -f "$RV_ROOT/t/zcomplete.zsh" "$RV_ROOT" \
		"$BATS_FILE_TMPDIR/zcompdump" "$1" </dev/null
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

@test "every verb a tool's usage names completes, in bash and in zsh" {
	local b t verbs got
	for b in "$RV_ROOT"/bin/*; do
		t=${b##*/}
		# "complete" is the completions' own helper, not for people.
		verbs=$("$b" --help | awk -v t="$t" '{
			for (i = 1; i < NF; i++)
				if ($i == t && $(i + 1) ~ /^[a-z][a-z-]*$/ &&
				    $(i + 1) != "complete")
					print $(i + 1)
		}' | sort -u)
		[ -n "$verbs" ] || continue
		got=$(complete_line "$t " | sort -u)
		run comm -23 <(echo "$verbs") <(echo "$got")
		assert_output ""
		# zsh describes each verb as NAME:what it does.
		run comm -23 <(echo "$verbs") <(sed -n "/verbs=(/,/^[[:space:]]*)\$/s/^[[:space:]]*'\([a-z-]*\):.*/\1/p" \
		    "$RV_ROOT/completions/zsh/_$t" | sort -u)
		assert_output ""
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

@test "staff: operands by position, roles, days, only active staff" {
	rv_centre
	run complete_line "staff h"
	assert_output hours
	run complete_line "staff hours "
	assert_output "giulia@example.com
marco@example.com"
	run complete_line "staff hours gi"
	assert_output giulia@example.com
	# The second operand of hours is DAYS, the third a range or off.
	run complete_line "staff hours giulia@example.com mon-"
	assert_output "mon-fri
mon-sat"
	run complete_line "staff hours giulia@example.com sat "
	assert_output off
	# services: a staff member first, then services, however many.
	run complete_line "staff services "
	assert_output "giulia@example.com
marco@example.com"
	run complete_line "staff services marco@example.com Massaggio "
	assert_output "Massaggio
Viso"
	# An option without a value does not shift the operands.
	run complete_line "staff edit --inactive ma"
	assert_output marco@example.com
	run complete_line "staff --format json off ma"
	assert_output marco@example.com
	run complete_line "staff add --role "
	assert_output "admin
reception
operator"
	run complete_line "staff off marco@example.com --"
	assert_output --partial -- --reason
	staff edit marco@example.com --inactive >/dev/null
	run complete_line "staff show "
	assert_output giulia@example.com
}

@test "catalog: services, retired ones only for unretire, names with spaces" {
	rv_centre
	catalog add --name 'Massaggio sportivo' --duration 45 >/dev/null
	run complete_line "catalog un"
	assert_output unretire
	run complete_line "catalog retire Mas"
	assert_output 'Massaggio
Massaggio\ sportivo'
	catalog retire Viso >/dev/null
	catalog retire 'Massaggio sportivo' >/dev/null
	run complete_line "catalog unretire "
	assert_output 'Massaggio\ sportivo
Viso'
	run complete_line "catalog retire "
	assert_output Massaggio
	run complete_line "catalog edit --b"
	assert_output -- --buffer
}

@test "book: clients, services, staff, statuses and dates as option values" {
	rv_centre
	run complete_line "book sl"
	assert_output slots
	run complete_line "book add --service "
	assert_output "Massaggio
Viso"
	run complete_line "book add --staff gi"
	assert_output giulia@example.com
	run complete_line "book add --client an"
	assert_output anna@example.com
	run complete_line "book slots --service Viso --staff "
	assert_output "giulia@example.com
marco@example.com"
	run complete_line "book list --status c"
	assert_output cancelled
	run complete_line "book list --date "
	assert_output "$(date +%F)"
	run complete_line "book add --s"
	assert_output "--service
--staff"
	run complete_line "book --db $RISERVA_DB list --client m"
	assert_output mario@example.com
	catalog retire Viso >/dev/null
	run complete_line "book add --service "
	assert_output Massaggio
}

@test "zsh: verbs, option values and operands complete for every tool" {
	rv_centre
	run zcomplete_line "client show an"
	assert_success
	assert_output anna@example.com
	run zcomplete_line "client --format jsonl sh"
	assert_output show
	run zcomplete_line "staff hours gi"
	assert_output giulia@example.com
	run zcomplete_line "staff services giulia@example.com "
	assert_output "Massaggio
Viso"
	run zcomplete_line "staff add --role "
	assert_output "admin
operator
reception"
	catalog add --name 'Massaggio sportivo' --duration 45 >/dev/null
	catalog retire 'Massaggio sportivo' >/dev/null
	run zcomplete_line "catalog unretire "
	assert_output "Massaggio sportivo"
	run zcomplete_line "catalog retire "
	assert_output "Massaggio
Viso"
	run zcomplete_line "book add --service "
	assert_output "Massaggio
Viso"
	run zcomplete_line "book add --staff gi"
	assert_output giulia@example.com
	run zcomplete_line "book list --status needs"
	assert_output needs_review
	# --date excludes the other bounds.
	run zcomplete_line "book list --date 2026-12-01 --"
	refute_output --partial -- --from
	assert_output --partial -- --client
}

@test "audit, backup, gdpr-breach and staff's login verbs complete" {
	rv_centre
	run complete_line "audit "
	assert_output "list
verify
purge
anchors"
	run complete_line "audit list --client an"
	assert_output anna@example.com
	run complete_line "backup prune --"
	assert_output --partial -- --dry-run
	run complete_line "gdpr-breach open --risk "
	assert_output "none
low
high"
	run complete_line "gdpr-breach link 1 ma"
	assert_output mario@example.com
	run complete_line "gdpr-breach notify"
	assert_output "notify-authority
notify-subjects"
	run complete_line "staff passwd gi"
	assert_output giulia@example.com
	run zcomplete_line "gdpr-breach open --risk "
	assert_output "high
low
none"
	run zcomplete_line "staff lo"
	assert_output "login
logout"
	run zcomplete_line "audit list --client ma"
	assert_output mario@example.com
}

@test "gdpr-request: verbs, kinds, outcomes and clients complete" {
	rv_centre
	run complete_line "gdpr-request ch"
	assert_output check
	run complete_line "gdpr-request open --kind era"
	assert_output erasure
	run complete_line "gdpr-request close 1 --outcome "
	assert_output "done
refused"
	run complete_line "gdpr-request open ma"
	assert_output mario@example.com
	run complete_line "gdpr-request list --ov"
	assert_output -- --overdue
	run complete_line "client unr"
	assert_output unrestrict
	run complete_line "client restrict an"
	assert_output anna@example.com
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
	run complete_line "consent policy add --sub"
	assert_output -- --substantial
	run complete_line "client health 1 --c"
	assert_output -- --clear
	# zsh too
	run zcomplete_line "consent grant an"
	assert_output anna@example.com
	run zcomplete_line "consent grant 1 --method="
	assert_output "email
in-person
paper
phone
web"
	run zcomplete_line "consent withdraw 1 "
	assert_output "health
marketing
reminders"
	run zcomplete_line "consent policy show "
	assert_output 2026-1
	run zcomplete_line "client health an"
	assert_output anna@example.com
}

@test "remind and notify: options without a verb, statuses, kinds, retryable ids" {
	rv_centre
	run complete_line "remind --dr"
	assert_output --dry-run
	run complete_line "notify --l"
	assert_output --limit
	run complete_line "notify li"
	assert_output list
	run complete_line "notify list --status s"
	assert_output "sending
sent
skipped"
	run complete_line "notify list --kind c"
	assert_output "confirmation
change
cancellation"
	run complete_line "notify policy 2026-12 an"
	assert_output anna@example.com
	printf '[mail]\nfrom = a@example.com\ntransport = stdout\n' >"$RISERVA_CONFIG"
	book add --client 1 --service Viso --at '2026-12-01 10:00' >/dev/null
	book add --client 2 --service Viso --at '2026-12-01 11:00' >/dev/null
	book cancel 2 >/dev/null
	notify >/dev/null
	run complete_line "notify retry "
	assert_output "2
3"
	run zcomplete_line "notify list --status f"
	assert_output failed
	run zcomplete_line "remind --"
	assert_output --partial -- --dry-run
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

@test "gdpr-erase, gdpr-export, gdpr-purge: options anywhere, clients as operands" {
	rv_centre
	run complete_line "gdpr-erase --reason x an"
	assert_output anna@example.com
	run complete_line "gdpr-erase --dry-r"
	assert_output --dry-run
	run complete_line "gdpr-export mario@example.com --por"
	assert_output --portable
	run complete_line "gdpr-export --format "
	assert_output "table
jsonl
json
csv"
	run complete_line "gdpr-purge --b"
	assert_output --batch
	run complete_line "gdpr-purge "
	assert_output ""
	run zcomplete_line "gdpr-erase --reason x ma"
	assert_output mario@example.com
	run zcomplete_line "gdpr-export --po"
	assert_output --portable
}
