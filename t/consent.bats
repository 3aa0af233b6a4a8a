#!/usr/bin/env bats
# consent: the ledger, states and history, IP truncation, receipts against
# their schema, unsubscribe tokens, the policy archive.

load helper

bats_require_minimum_version 1.5.0

SCHEMA="$BATS_TEST_DIRNAME/../share/riserva/schema/consent-receipt.schema.json"

# The controller data a receipt needs.
clinic_config() {
	cat >"$RISERVA_CONFIG" <<-'EOF'
	[clinic]
	name = Centro Benessere Aurora
	address = "Via Roma 1, 00184 Roma"
	email = privacy@aurora.example
	phone = +39 06 1234567
	EOF
}

# Validates each JSON line of stdin against the receipt schema; prints
# "valid" or the first error.
validate_receipt() {
	/usr/bin/python3 -c '
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
for line in sys.stdin:
    errors = sorted(v.iter_errors(json.loads(line)), key=str)
    if errors:
        print("invalid:", errors[0].message)
        sys.exit(1)
print("valid")
' "$SCHEMA"
}

@test "grant records one row per purpose and prints them" {
	rv_centre
	run consent grant mario@example.com reminders health --method paper \
		--evidence "form 2026/118"
	assert_success
	assert_line --index 0 '{"type":"consent","id":1,"client_id":1,"purpose":"reminders","action":"grant","at":"2026-11-30T08:00:00+01:00","method":"paper","policy_version":null,"actor":"tester","evidence":"form 2026/118","ip":null}'
	assert_line --index 1 --partial '"id":2,"client_id":1,"purpose":"health","action":"grant"'
	[ "${#lines[@]}" -eq 2 ]
	[ "$(rv_sql 'SELECT count(*) FROM consent')" = 2 ]
}

@test "granting what stands is a no-op that says so: one row" {
	rv_centre
	consent grant 1 reminders >/dev/null
	run --separate-stderr consent grant 1 reminders marketing
	assert_success
	[ "$stderr" = "consent: client 1: reminders already stands; nothing recorded" ]
	assert_output --partial '"purpose":"marketing","action":"grant"'
	[ "${#lines[@]}" -eq 1 ]
	run rv_sql "SELECT purpose, action FROM consent ORDER BY id"
	assert_output "reminders|grant
marketing|grant"
	run rv_sql "SELECT count(*) FROM audit WHERE action = 'consent.grant'"
	assert_output 2
}

@test "withdraw, status and history round trip" {
	rv_centre
	consent grant 1 reminders marketing >/dev/null
	RISERVA_NOW=2026-12-02T10:00:00+01:00 run consent withdraw 1 marketing --method email
	assert_success
	assert_output '{"type":"consent","id":3,"client_id":1,"purpose":"marketing","action":"withdraw","at":"2026-12-02T10:00:00+01:00","method":"email","policy_version":null,"actor":"tester","evidence":null,"ip":null}'
	run --separate-stderr consent withdraw 1 marketing
	assert_success
	assert_output ''
	[ "$stderr" = "consent: client 1: marketing does not stand; nothing recorded" ]

	run consent status mario@example.com
	assert_success
	assert_output '{"type":"consent_status","id":1,"client_id":1,"email":"mario@example.com","purpose":"reminders","state":"granted","since":"2026-11-30T08:00:00+01:00","method":"in-person","policy_version":null}
{"type":"consent_status","id":null,"client_id":1,"email":"mario@example.com","purpose":"health","state":"none","since":null,"method":null,"policy_version":null}
{"type":"consent_status","id":3,"client_id":1,"email":"mario@example.com","purpose":"marketing","state":"withdrawn","since":"2026-12-02T10:00:00+01:00","method":"email","policy_version":null}'

	# Every client, and the filters a mailing list needs; none: exit 1.
	run consent status
	[ "${#lines[@]}" -eq 6 ]
	run consent status --purpose health --granted
	assert_failure 1
	assert_output ''
	consent grant 2 marketing >/dev/null
	run consent status --purpose marketing --granted
	assert_output --partial '"client_id":2,"email":"anna@example.com","purpose":"marketing","state":"granted"'
	[ "${#lines[@]}" -eq 1 ]

	run consent history 1 --format table
	assert_success
	assert_line --index 0 'ID  CLIENT  AT                PURPOSE    ACTION    METHOD     POLICY  ACTOR   IP  EVIDENCE'
	assert_line --index 1 ' 1       1  2026-11-30 08:00  reminders  grant     in-person          tester      '
	assert_line --index 3 ' 3       1  2026-12-02 10:00  marketing  withdraw  email              tester      '
	[ "${#lines[@]}" -eq 4 ]
	run consent history 2
	[ "${#lines[@]}" -eq 1 ]
	# Nothing ever given or withdrawn: nothing matched.
	client add --name Luca --surname Verdi --email luca@example.com --phone 3331112233 >/dev/null
	run consent history luca@example.com
	assert_failure 1
	assert_output ''
}

@test "a grant then a withdrawal: the state follows the latest row" {
	rv_centre
	consent grant 1 health >/dev/null
	consent withdraw 1 health >/dev/null
	consent grant 1 health >/dev/null
	run consent status 1 --purpose health
	assert_output --partial '"id":3,"client_id":1,"email":"mario@example.com","purpose":"health","state":"granted"'
}

@test "unknown purpose or method is a usage error listing the choices" {
	rv_centre
	run consent grant 1 reminders newsletter
	assert_failure 64
	assert_output "consent: unknown purpose 'newsletter': reminders, health or marketing"
	run consent grant 1 reminders --method fax
	assert_failure 64
	assert_output "consent: unknown method 'fax': web, paper, email, phone or in-person"
	run consent grant 1
	assert_failure 64
	run consent grant nobody@example.com reminders
	assert_failure 66
	run consent frobnicate
	assert_failure 64
	[ "$(rv_sql 'SELECT count(*) FROM consent')" = 0 ]
}

@test "IP addresses are truncated before they are stored: IPv4 /24, IPv6 /48" {
	rv_centre
	run consent grant 1 reminders --method web --ip 192.168.1.77
	assert_success
	[ "$(rv_json '["ip"]')" = 192.168.1.0/24 ]
	run consent grant 1 marketing --method web --ip 2001:db8:abcd:12:3456::1
	[ "$(rv_json '["ip"]')" = 2001:db8:abcd::/48 ]
	run consent grant 2 reminders --ip ::ffff:10.1.2.3
	[ "$(rv_json '["ip"]')" = 10.1.2.0/24 ]
	run consent withdraw 1 reminders --ip 2001:DB8:FFFF:FFFF::
	[ "$(rv_json '["ip"]')" = 2001:db8:ffff::/48 ]
	# A zone id, as a server may pass in REMOTE_ADDR for a link-local
	# client, goes with the bits truncation drops: the withdrawal stands.
	run consent withdraw 1 marketing --method web --ip fe80::1:2:3%eth0
	assert_success
	[ "$(rv_json '["ip"]')" = fe80::/48 ]
	run consent withdraw 2 reminders --ip ::ffff:10.9.8.7%2
	[ "$(rv_json '["ip"]')" = 10.9.8.0/24 ]
	run rv_sql "SELECT ip FROM consent ORDER BY id"
	assert_output "192.168.1.0/24
2001:db8:abcd::/48
10.1.2.0/24
2001:db8:ffff::/48
fe80::/48
10.9.8.0/24"
	# The full addresses are nowhere in the file.
	run grep -c -a -e 192.168.1.77 -e 3456 -e 10.1.2.3 "$RISERVA_DB"
	assert_output 0
}

@test "a bad IP address is refused with 65 and nothing is written" {
	rv_centre
	for bad in 300.1.1.1 192.168.1 fe80::1% %eth0 192.168.1.1%eth0 \
	    example.com ''; do
		run consent grant 1 reminders --ip "$bad"
		assert_failure 65
	done
	assert_output "consent: bad IP address '': write it as 192.0.2.10 or 2001:db8::1"
	[ "$(rv_sql 'SELECT count(*) FROM consent')" = 0 ]
}

@test "the evidence is checked, and never copied to the audit trail" {
	rv_centre
	run consent grant 1 reminders --evidence "$(printf 'a\nb')"
	assert_failure 65
	consent grant 1 reminders --evidence "scan-4711.pdf" --ip 203.0.113.9 >/dev/null
	run rv_sql "SELECT action, client_id, ref, fields FROM audit WHERE action LIKE 'consent.%'"
	assert_output "consent.grant|1|consent 1|reminders"
	run rv_sql "SELECT count(*) FROM audit WHERE coalesce(fields,'') || coalesce(ref,'') || coalesce(reason,'') LIKE '%4711%' OR fields LIKE '%203.0%'"
	assert_output 0
}

@test "a restricted client cannot grant but can always withdraw" {
	rv_centre
	consent grant 1 reminders >/dev/null
	rv_sql "UPDATE client SET restricted = 1 WHERE id = 1"
	run consent grant 1 marketing
	assert_failure 77
	assert_output "consent: client 1 is restricted (GDPR art. 18): no new consent is recorded until the restriction is lifted (withdrawing is always possible)"
	run consent withdraw 1 reminders
	assert_success
	assert_output --partial '"purpose":"reminders","action":"withdraw"'
	run rv_sql "SELECT purpose, action FROM consent ORDER BY id"
	assert_output "reminders|grant
reminders|withdraw"
}

@test "grant of several purposes is all or nothing" {
	rv_centre
	rv_sql "UPDATE client SET restricted = 1 WHERE id = 2"
	run consent grant 2 reminders marketing
	assert_failure 77
	[ "$(rv_sql 'SELECT count(*) FROM consent')" = 0 ]
	[ "$(rv_sql 'SELECT count(*) FROM audit WHERE action LIKE "consent.%"')" = 0 ]
}

@test "the ledger's facts cannot be changed" {
	rv_centre
	consent grant 1 reminders >/dev/null
	run rv_sql "UPDATE consent SET action = 'withdraw'"
	assert_failure
	assert_output --partial "the consent ledger is append-only"
	run rv_sql "SELECT action FROM consent"
	assert_output grant
}

@test "each row names the policy version in force at its time" {
	rv_centre
	printf 'first\n' >"$BATS_TEST_TMPDIR/p1"
	printf 'second\n' >"$BATS_TEST_TMPDIR/p2"
	consent grant 1 reminders >/dev/null
	consent policy add --version 2026-1 --effective 2026-01-01 \
		--url https://aurora.example/privacy/2026-1 --file "$BATS_TEST_TMPDIR/p1" >/dev/null
	consent policy add --version 2027-1 --effective 2027-01-01 \
		--url https://aurora.example/privacy/2027-1 --file "$BATS_TEST_TMPDIR/p2" >/dev/null
	run consent grant 1 marketing
	[ "$(rv_json '["policy_version"]')" = 2026-1 ]
	# The instant a version takes effect, it is the one in force.
	RISERVA_NOW=2027-01-01T00:00:00+01:00 run consent withdraw 1 marketing
	[ "$(rv_json '["policy_version"]')" = 2027-1 ]
	RISERVA_NOW=2026-12-31T23:59:59+01:00 run consent grant 2 marketing
	[ "$(rv_json '["policy_version"]')" = 2026-1 ]
	run rv_sql "SELECT ifnull(policy_version, 'null') FROM consent ORDER BY id"
	assert_output "null
2026-1
2027-1
2026-1"
}

@test "receipt: Kantara v1.1 fields, valid against the shipped schema, with the policy version" {
	rv_centre
	clinic_config
	printf 'Informativa\n' >"$BATS_TEST_TMPDIR/p1"
	consent policy add --version 2026-1 --effective 2026-01-01 \
		--url https://aurora.example/privacy/2026-1 --file "$BATS_TEST_TMPDIR/p1" >/dev/null
	consent grant 2 reminders health --method web --ip 198.51.100.7 >/dev/null
	run consent receipt anna@example.com
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	run validate_receipt <<<"$output"
	assert_output valid
	run consent receipt 2
	[ "$(rv_json '["version"]')" = KI-CR-v1.1.0 ]
	[ "$(rv_json '["jurisdiction"]')" = IT ]
	[ "$(rv_json '["consentTimestamp"]')" = 1796022000 ]
	[ "$(rv_json '["collectionMethod"]')" = web ]
	[ "$(rv_json '["language"]')" = en ]
	[ "$(rv_json '["piiPrincipalId"]')" = anna@example.com ]
	[ "$(rv_json '["policyUrl"]')" = https://aurora.example/privacy/2026-1 ]
	[ "$(rv_json '["policyVersion"]')" = 2026-1 ]
	[ "$(rv_json '["piiControllers"][0]["piiController"]')" = "Centro Benessere Aurora" ]
	[ "$(rv_json '["piiControllers"][0]["address"]["streetAddress"]')" = "Via Roma 1, 00184 Roma" ]
	[ "$(rv_json '["piiControllers"][0]["email"]')" = privacy@aurora.example ]
	[ "$(rv_json '["services"][0]["service"]')" = "Centro Benessere Aurora" ]
	run /usr/bin/python3 -c 'import json,sys; print(*[p["purposeId"] for p in json.loads(sys.argv[1])["services"][0]["purposes"]])' "$output"
	assert_output "reminders health"
	run consent receipt 2
	[ "$(rv_json '["services"][0]["purposes"][1]["piiCategory"]')" = '["Health"]' ]
	[ "$(rv_json '["services"][0]["purposes"][1]["policyVersion"]')" = 2026-1 ]
	[ "$(rv_json '["sensitive"]')" = true ]
	[ "$(rv_json '["spiCat"]')" = '["Health"]' ]
	[ "$(rv_json '["client_id"]')" = 2 ]
	rv_json '["consentReceiptID"]' | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
	# Giving it is on record, by the receipt's id, never its contents.
	id=$(rv_json '["consentReceiptID"]')
	run rv_sql "SELECT action, client_id, ref, fields FROM audit WHERE ref = 'receipt $id'"
	assert_output "consent.receipt|2|receipt $id|email,locale,consent"
}

@test "receipt: the schema is a real check, and the language is the client's" {
	rv_centre
	clinic_config
	printf '[clinic]\npolicy_url = https://aurora.example/privacy\n' >>"$RISERVA_CONFIG"
	consent grant 1 marketing >/dev/null
	run consent receipt 1
	receipt=$output
	[ "$(rv_json '["policyUrl"]')" = https://aurora.example/privacy ]
	[ "$(rv_json '["policyVersion"]')" = null ]
	[ "$(rv_json '["sensitive"]')" = false ]
	[ "$(rv_json '["language"]')" = it ]
	[ "$(rv_json '["services"][0]["purposes"][0]["purpose"]')" = "Novità e offerte via email" ]
	run validate_receipt <<<"$receipt"
	assert_output valid
	# Without a policy URL, or with health but no spiCat, it is not a receipt.
	run validate_receipt < <(printf '%s\n' "$receipt" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); del r["policyUrl"]; print(json.dumps(r))')
	assert_failure
	assert_output "invalid: 'policyUrl' is a required property"
	run validate_receipt < <(printf '%s\n' "$receipt" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); r["sensitive"]=True; print(json.dumps(r))')
	assert_failure
	assert_output "invalid: 'spiCat' is a required property"
}

@test "receipt: controller data and a policy URL are required; no consent, no receipt" {
	rv_centre
	consent grant 1 reminders >/dev/null
	run consent receipt 1
	assert_failure 78
	assert_output "consent: a consent receipt names the controller: set clinic.address, clinic.email, clinic.phone in the config"
	clinic_config
	run consent receipt 1
	assert_failure 78
	assert_output "consent: no policy URL for the receipt: archive the policy with 'consent policy add' or set clinic.policy_url in the config"
	RISERVA_CLINIC_POLICY_URL=https://aurora.example/p run consent receipt 2
	assert_failure 1
	assert_output "consent: client 2 has no consent in force: there is nothing to give a receipt for"
	run consent receipt 1 --format csv
	assert_failure 64
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'consent.receipt'")" = 0 ]
}

@test "receipt: config values the schema would reject are a config error, not an invalid receipt" {
	rv_centre
	clinic_config
	export RISERVA_CLINIC_POLICY_URL=https://aurora.example/p
	consent grant 1 reminders >/dev/null
	RISERVA_CLINIC_JURISDICTION=it run --separate-stderr consent receipt 1
	assert_failure 78
	assert_output ''
	[ "$stderr" = "consent: clinic.jurisdiction 'it' is not a country code: write it as two capital letters (ISO 3166-1 alpha-2), such as IT" ]
	RISERVA_CLINIC_JURISDICTION=Italy run consent receipt 1
	assert_failure 78
	RISERVA_CLINIC_URL=www.aurora.example run consent receipt 1
	assert_failure 78
	assert_output "consent: bad clinic.url 'www.aurora.example' in the config: an http:// or https:// URL"
	RISERVA_CLINIC_POLICY_URL=aurora.example/privacy run consent receipt 1
	assert_failure 78
	assert_output "consent: bad clinic.policy_url 'aurora.example/privacy' in the config: an http:// or https:// URL"
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'consent.receipt'")" = 0 ]
	# Set right, each is in a receipt the schema accepts.
	RISERVA_CLINIC_JURISDICTION=CH RISERVA_CLINIC_URL=https://aurora.example run consent receipt 1
	assert_success
	[ "$(rv_json '["jurisdiction"]')" = CH ]
	[ "$(rv_json '["piiControllers"][0]["piiControllerUrl"]')" = https://aurora.example ]
	run validate_receipt <<<"$output"
	assert_output valid
}

@test "receipt: clients from records on stdin, one receipt per line" {
	rv_centre
	clinic_config
	export RISERVA_CLINIC_POLICY_URL=https://aurora.example/p
	consent grant 1 reminders >/dev/null
	consent grant 2 marketing >/dev/null
	run bash -c 'client list | consent receipt'
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	run validate_receipt <<<"$output"
	assert_output valid
}

@test "token and unsubscribe: a URL-safe token withdraws what it names" {
	rv_centre
	consent grant 1 marketing reminders >/dev/null
	run --separate-stderr consent token mario@example.com marketing
	assert_success
	# The key was made before, with the first audited change.
	[ "$stderr" = "" ]
	token=$output
	[[ $token =~ ^u1\.1\.marketing\.[A-Za-z0-9_-]{22}$ ]]
	# The same client and purpose always give the same token.
	run --separate-stderr consent token 1 marketing
	[ "$output" = "$token" ]
	[ "$stderr" = "" ]
	run consent unsubscribe "$token" --ip 203.0.113.200
	assert_success
	assert_output --partial '"client_id":1,"purpose":"marketing","action":"withdraw","at":"2026-11-30T08:00:00+01:00","method":"web","policy_version":null,"actor":"tester","evidence":"unsubscribe link","ip":"203.0.113.0/24"}'
	# Followed twice: nothing more to do.
	run --separate-stderr consent unsubscribe "$token"
	assert_success
	[ "$stderr" = "consent: client 1: marketing does not stand; nothing recorded" ]
	run rv_sql "SELECT purpose, action FROM consent WHERE client_id = 1 ORDER BY id"
	assert_output "marketing|grant
reminders|grant
marketing|withdraw"
	# From stdin, as a web front end passes it.
	reminders=$(consent token 1 reminders)
	run bash -c "printf '%s\n' '$reminders' | consent unsubscribe"
	assert_success
	assert_output --partial '"purpose":"reminders","action":"withdraw"'
}

@test "a forged or altered unsubscribe token is refused with 77 and changes nothing" {
	rv_centre
	consent grant 1 marketing >/dev/null
	consent grant 2 marketing reminders >/dev/null
	token=$(consent token 1 marketing 2>/dev/null)
	mac=${token##*.}
	last=${mac: -1}
	[ "$last" = A ] && other=B || other=A
	for bad in "${token%?}$other" "u1.2.marketing.$mac" "u1.1.reminders.$mac" \
		"u1.1.health.$mac" "u2.1.marketing.$mac" "${token%?}" "$token=" \
		"u1.01.marketing.$mac" "u1.1.marketing" garbage ''; do
		run consent unsubscribe "$bad"
		assert_failure 77
		assert_output "consent: not a valid unsubscribe token: it was altered, cut short, or not made by this centre's key"
	done
	# A token guessed with another key, the right shape and all.
	forged=$(/usr/bin/python3 -c '
import hmac, hashlib, base64
body = b"u1.2.reminders"
mac = hmac.new(b"\0" * 32, body, hashlib.sha256).digest()[:16]
print(body.decode() + "." + base64.urlsafe_b64encode(mac).decode().rstrip("="))')
	run consent unsubscribe "$forged"
	assert_failure 77
	[ "$(rv_sql "SELECT count(*) FROM consent WHERE action = 'withdraw'")" = 0 ]
}

@test "a token from another centre's key does not work here" {
	rv_centre
	consent grant 1 marketing >/dev/null
	other=$(RISERVA_DB="$BATS_TEST_TMPDIR/other.db" RISERVA_KEY="$BATS_TEST_TMPDIR/other.key" \
		bash -c 'client add --name X --surname Y --email x@example.com --phone 123456 >/dev/null &&
			consent token 1 marketing 2>/dev/null')
	[[ $other =~ ^u1\.1\.marketing\. ]]
	run consent unsubscribe "$other"
	assert_failure 77
	[ "$(rv_sql "SELECT count(*) FROM consent")" = 1 ]
}

@test "tokens are for reminders and marketing; a token for an erased client is 66" {
	rv_centre
	run consent token 1 health
	assert_failure 64
	assert_output "consent: unsubscribe tokens are for reminders and marketing; health consent is withdrawn with 'consent withdraw'"
	consent grant 2 marketing >/dev/null
	token=$(consent token 2 marketing 2>/dev/null)
	rv_sql "DELETE FROM consent WHERE client_id = 2; DELETE FROM client WHERE id = 2"
	run consent unsubscribe "$token"
	assert_failure 66
	assert_output "consent: no such client 2"
}

@test "policy add archives the text byte for byte; show prints it exactly" {
	printf 'Informativa privacy\r\n  è cambiata  \n\nfine senza a capo' >"$BATS_TEST_TMPDIR/p"
	run consent policy add --version 2026-1 --effective 2026-12-01 \
		--url https://aurora.example/privacy/2026-1 --file "$BATS_TEST_TMPDIR/p" --substantial
	assert_success
	sum=$(sha256sum "$BATS_TEST_TMPDIR/p" | cut -d' ' -f1)
	size=$(wc -c <"$BATS_TEST_TMPDIR/p")
	assert_output "{\"type\":\"policy\",\"id\":1,\"version\":\"2026-1\",\"effective\":\"2026-12-01T00:00:00+01:00\",\"url\":\"https://aurora.example/privacy/2026-1\",\"sha256\":\"$sum\",\"size\":$size,\"substantial\":true,\"in_force\":false,\"added\":\"2026-11-30T08:00:00+01:00\"}"
	consent policy show 2026-1 >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/p" "$BATS_TEST_TMPDIR/out"
	run rv_sql "SELECT action, ref, fields FROM audit"
	assert_output "policy.add|policy 2026-1|version,effective,url,text,sha256,substantial"
	run consent policy show 2025-9
	assert_failure 66
	assert_output "consent: no policy version '2025-9'"
}

@test "policy versions are archived, never changed" {
	printf 'one\n' >"$BATS_TEST_TMPDIR/p1"
	printf 'two\n' >"$BATS_TEST_TMPDIR/p2"
	consent policy add --version v1 --effective 2026-01-01 --url https://a.example/1 --file "$BATS_TEST_TMPDIR/p1" >/dev/null
	run consent policy add --version v1 --effective 2026-01-01 --url https://a.example/1 --file "$BATS_TEST_TMPDIR/p2"
	assert_failure 1
	assert_output "consent: policy version 'v1' is already archived, with other contents: policies are never changed; archive the new text as a new version"
	# The same archiving run twice is harmless.
	run --separate-stderr consent policy add --version v1 --effective 2026-01-01 --url https://a.example/1 --file "$BATS_TEST_TMPDIR/p1"
	assert_success
	[ "$stderr" = "consent: policy v1 is already archived as given; nothing recorded" ]
	[ "$(rv_sql 'SELECT count(*) FROM policy')" = 1 ]
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'policy.add'")" = 1 ]
	run rv_sql "UPDATE policy SET text = 'changed'"
	assert_failure
	assert_output --partial "privacy policies are archived, never changed"
	run rv_sql "DELETE FROM policy"
	assert_failure
	run consent policy show v1
	assert_output one
}

@test "policy show refuses a text that no longer matches its hash" {
	printf 'one\n' >"$BATS_TEST_TMPDIR/p1"
	consent policy add --version v1 --effective 2026-01-01 --url https://a.example/1 --file "$BATS_TEST_TMPDIR/p1" >/dev/null
	rv_sql "DROP TRIGGER policy_no_update; UPDATE policy SET text = CAST('0ne' || char(10) AS BLOB)"
	run --separate-stderr consent policy show v1
	assert_failure 65
	assert_output ''
	[ "$stderr" = "consent: the archived text of policy 'v1' does not match its SHA-256: it was damaged or altered" ]
}

@test "policy add checks what it is given" {
	printf 'x\n' >"$BATS_TEST_TMPDIR/p"
	: >"$BATS_TEST_TMPDIR/empty"
	run consent policy add --version 'v 1' --effective 2026-01-01 --url https://a.example --file "$BATS_TEST_TMPDIR/p"
	assert_failure 65
	run consent policy add --version v1 --effective 2026-02-30 --url https://a.example --file "$BATS_TEST_TMPDIR/p"
	assert_failure 65
	run consent policy add --version v1 --effective 2026-01-01 --url ftp://a.example --file "$BATS_TEST_TMPDIR/p"
	assert_failure 65
	assert_output "consent: bad policy URL 'ftp://a.example': an http:// or https:// URL"
	run consent policy add --version v1 --effective 2026-01-01 --url https://a.example --file "$BATS_TEST_TMPDIR/empty"
	assert_failure 65
	assert_output "consent: the policy text is empty"
	run consent policy add --version v1 --effective 2026-01-01 --url https://a.example --file "$BATS_TEST_TMPDIR/none"
	assert_failure 66
	# A folder is not a text either: the same 66, with the reason.
	mkdir "$BATS_TEST_TMPDIR/folder"
	run consent policy add --version v1 --effective 2026-01-01 --url https://a.example --file "$BATS_TEST_TMPDIR/folder"
	assert_failure 66
	assert_output "consent: cannot read $BATS_TEST_TMPDIR/folder: Is a directory"
	head -c 8388609 /dev/zero >"$BATS_TEST_TMPDIR/big"
	run consent policy add --version v1 --effective 2026-01-01 --url https://a.example --file "$BATS_TEST_TMPDIR/big"
	assert_failure 65
	assert_output "consent: $BATS_TEST_TMPDIR/big: the policy text is too long (more than 8388608 bytes)"
	run consent policy add --version v1 --url https://a.example --file "$BATS_TEST_TMPDIR/p"
	assert_failure 64
	[ "$(rv_sql 'SELECT count(*) FROM policy')" = 0 ]
	# From stdin too.
	run bash -c "printf 'da stdin' | consent policy add --version v2 --effective 2026-01-01 --url https://a.example/2 --file -"
	assert_success
	run consent policy show v2
	assert_output "da stdin"
}

@test "policy list: by effective date, with the one in force now" {
	# None archived yet: nothing matched, exit 1, no output.
	run consent policy list
	assert_failure 1
	assert_output ''
	printf 'x\n' >"$BATS_TEST_TMPDIR/p"
	consent policy add --version 2027-1 --effective 2027-01-01 --url https://a.example/3 --file "$BATS_TEST_TMPDIR/p" --substantial >/dev/null
	consent policy add --version 2025-1 --effective 2025-01-01 --url https://a.example/1 --file "$BATS_TEST_TMPDIR/p" >/dev/null
	consent policy add --version 2026-1 --effective '2026-06-01 12:00' --url https://a.example/2 --file "$BATS_TEST_TMPDIR/p" >/dev/null
	run consent policy list --format table
	assert_success
	assert_output "VERSION  EFFECTIVE         IN_FORCE  SUBSTANTIAL  BYTES  URL
2025-1   2025-01-01 00:00  false     false            2  https://a.example/1
2026-1   2026-06-01 12:00  true      false            2  https://a.example/2
2027-1   2027-01-01 00:00  false     true             2  https://a.example/3"
	RISERVA_NOW=2027-01-01T00:00:00+01:00 run consent policy list
	assert_line --index 2 --partial '"version":"2027-1"'
	assert_line --index 2 --partial '"in_force":true'
}

@test "policy affected: clients with a booking in the 24 months before it took effect" {
	rv_centre
	client add --name Luca --surname Verdi --email luca@example.com --phone 3331112233 >/dev/null
	client add --name Sara --surname Neri --email sara@example.com --phone 3331112244 >/dev/null
	client add --name Piero --surname Blu --email piero@example.com --phone 3331112255 >/dev/null
	export RISERVA_NOW=2024-01-01T08:00:00+01:00
	# Mario inside the window, twice; Anna the week before it opens.
	book add --client 1 --service Viso --staff giulia@example.com --at '2025-03-03 10:00' >/dev/null
	book add --client 1 --service Viso --staff giulia@example.com --at '2026-11-30 10:00' >/dev/null
	book add --client 2 --service Viso --staff giulia@example.com --at '2024-11-25 10:00' >/dev/null
	# Luca cancelled; Piero just in; Sara booked now for the day it takes
	# effect: she comes under the new text, so she is told too.
	book add --client 3 --service Viso --staff giulia@example.com --at '2025-06-02 10:00' >/dev/null
	book cancel 4 >/dev/null
	book add --client 4 --service Viso --staff giulia@example.com --at '2026-12-01 09:00' >/dev/null
	book add --client 5 --service Massaggio --staff marco@example.com --at '2024-12-02 10:00' >/dev/null
	# Anna books again after it took effect: she was shown the new text.
	RISERVA_NOW=2026-12-02T08:00:00+01:00 book add --client 2 --service Viso --staff giulia@example.com --at '2026-12-09 10:00' >/dev/null
	[ "$(rv_sql 'SELECT count(*) FROM appointment WHERE client_id = 2')" = 2 ]
	unset RISERVA_NOW
	export RISERVA_NOW=2026-11-30T08:00:00+01:00
	printf 'x\n' >"$BATS_TEST_TMPDIR/p"
	consent policy add --version 2026-2 --effective 2026-12-01 --url https://a.example/2 --file "$BATS_TEST_TMPDIR/p" --substantial >/dev/null
	run consent policy affected 2026-2
	assert_success
	assert_line --index 0 --partial '{"type":"client","id":1,"name":"Mario"'
	assert_line --index 1 --partial '{"type":"client","id":4,"name":"Sara"'
	assert_line --index 2 --partial '{"type":"client","id":5,"name":"Piero"'
	[ "${#lines[@]}" -eq 3 ]
	run consent policy affected 2026-2 --format table
	assert_line --index 0 'ID  NAME   SURNAME  EMAIL              PHONE          BIRTH  LANG  RESTRICTED'
	run consent policy affected 1999-1
	assert_failure 66
	# A version before any booking: no one to inform, exit 1.
	consent policy add --version 2020-1 --effective 2020-01-01 --url https://a.example/1 --file "$BATS_TEST_TMPDIR/p" >/dev/null
	run consent policy affected 2020-1
	assert_failure 1
	assert_output ''
}

@test "consent --help and the usage" {
	run consent --help
	assert_success
	assert_line --index 0 --partial "usage: consent grant C PURPOSE..."
	run consent
	assert_failure 64
	run consent policy
	assert_failure 64
	run consent policy remove v1
	assert_failure 64
	assert_line --index 0 "consent: unknown verb 'remove'"
}
