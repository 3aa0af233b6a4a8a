#!/usr/bin/env bats
# gdpr-export: the document against its schema, the art. 15 header from the
# config, every section, health decrypted and audited, the portable subset,
# CSV files with RFC 4180 quoting, and nothing of anyone else.

load helper

bats_require_minimum_version 1.5.0

SCHEMA="$BATS_TEST_DIRNAME/../share/riserva/schema/export.schema.json"
HEALTH='Allergia al lattice Kw3'

of() {
	local output=$1
	rv_json "$2"
}

# A Python expression over a saved document v: ev "$doc" 'list(v)'
ev() {
	printf '%s\n' "$1" | tail -n 1 | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)
print(json.dumps(eval(sys.argv[1])))' "$2"
}

# Validates each JSON document on stdin (one per line) against the schema.
validate() {
	/usr/bin/python3 -c '
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
n = 0
for line in sys.stdin:
    n += 1
    doc = json.loads(line)
    errors = sorted(v.iter_errors(doc), key=str)
    if errors:
        print("invalid:", errors[0].message)
        sys.exit(1)
print("valid %d" % n)
' "$SCHEMA"
}

clinic_config() {
	cat >"$RISERVA_CONFIG" <<-'EOF'
	[clinic]
	name = Centro Benessere Aurora
	address = "Via Roma 1, 00184 Roma"
	email = privacy@aurora.example
	phone = +39 06 1234567
	dpo = dpo@aurora.example
	[retention]
	client_months = 36
	[mail]
	transport = sendgrid
	EOF
}

# Mario (1) with something in every section; Anna (2) with her own.
full_centre() {
	clinic_config
	rv_centre
	printf 'Informativa v1\n' >"$BATS_TEST_TMPDIR/p1"
	consent policy add --version 2026-01 --effective 2026-01-01 \
		--url https://aurora.example/privacy --file "$BATS_TEST_TMPDIR/p1" \
		>/dev/null
	client edit 1 --notes 'Preferisce, "sempre", il mattino
seconda riga' >/dev/null
	consent grant 1 health reminders --evidence 'modulo 12' >/dev/null
	printf '%s\n' "$HEALTH" | client health 1 --set
	RISERVA_NOW=2026-11-23T08:00:00+01:00 book add --client 1 \
		--service Massaggio --staff giulia@example.com \
		--at '2026-11-23 10:00' --notes 'schiena' >/dev/null
	book done 1 --paid 45 --method card >/dev/null
	book add --client 1 --service Viso --at '2026-12-01 10:00' >/dev/null
	gdpr-request open 1 --kind access --channel email >/dev/null
	consent grant 2 marketing --evidence 'Anna only Zq8' >/dev/null
	book add --client 2 --service Viso --at '2026-12-02 10:00' \
		--notes 'Anna notes Zq8' >/dev/null
	rv_sql "INSERT INTO event (staff_id, start, end, source, title, busy,
	    appointment_id, created, updated) VALUES (1, 1796115600, 1796117400,
	    'booking', 'Viso - Mario R.', 1, 2, 1796022000, 1796022000)"
	gdpr-breach open --detected '2026-11-29 10:00' \
		--description 'Laptop stolen, "encrypted"' >/dev/null
	gdpr-breach update 1 --consequences 'Emails, maybe' \
		--measures 'Passwords changed' >/dev/null
	gdpr-breach link 1 1 >/dev/null 2>&1
	gdpr-breach notify-subjects 1 >/dev/null 2>&1
	rv_sql "INSERT INTO gcal_link (staff_id, appointment_id, google_id,
	    created, updated) VALUES (1, 2, 'rv0a1b2c3d4e5f', 1796022000,
	    1796022000)"
}

@test "an export holds every section and validates against the schema" {
	full_centre
	run --separate-stderr gdpr-export 1 --reason 'art. 15 request 1'
	assert_success
	[ "$stderr" = "" ]
	[ "${#lines[@]}" -eq 1 ]
	printf '%s\n' "$output" | validate | grep -qx 'valid 1'
	d=$output
	run of "$d" '["identity"]["notes"]'
	assert_output 'Preferisce, "sempre", il mattino
seconda riga'
	run of "$d" '["health"]'
	assert_output '[{"text": "Allergia al lattice Kw3", "updated": "2026-11-30T08:00:00+01:00"}]'
	run of "$d" '["fiscal"][0]["number"]'
	assert_output 2026/000001
	run of "$d" '["requests"][0]["kind"]'
	assert_output access
	run of "$d" '["calendar_events"][0]["title"]'
	assert_output 'Viso - Mario R.'
	run of "$d" '["google_events"]'
	assert_output '[{"id": 1, "appointment_id": 2, "staff_id": 1, "google_id": "rv0a1b2c3d4e5f", "state": "live", "created": "2026-11-30T08:00:00+01:00", "updated": "2026-11-30T08:00:00+01:00"}]'
	run ev "$d" '[[c["purpose"], c["policy_version"]] for c in v["consents"]]'
	assert_output '[["health", "2026-01"], ["reminders", "2026-01"]]'
	run of "$d" '["policies"]'
	assert_output "[{\"version\": \"2026-01\", \"effective\": \"2026-01-01T00:00:00+01:00\", \"url\": \"https://aurora.example/privacy\", \"sha256\": \"$(printf 'Informativa v1\n' | sha256sum | cut -c1-64)\"}]"
	run ev "$d" '[a["id"] for a in v["appointments"]]'
	assert_output '[1, 2]'
	# The breach register names Mario: which breach, when he was found
	# affected and told; not what it was, nor whom else it touched.
	run of "$d" '["breaches"]'
	assert_output '[{"breach_id": 1, "detected": "2026-11-29T10:00:00+01:00", "risk": "low", "linked": "2026-11-30T08:00:00+01:00", "notified": "2026-11-30T08:00:00+01:00"}]'
	run ev "$d" '[c["category"] for c in v["header"]["categories"]]'
	assert_output '["identity", "contact", "appointments", "health", "consents", "messages", "calendar", "fiscal", "requests", "breaches", "audit"]'
	# Anna was not linked to it.
	run gdpr-export 2 --reason 'art. 15'
	run of "$output" '["breaches"]'
	assert_output '[]'
}

@test "the header says what art. 15 requires, from the config" {
	full_centre
	run gdpr-export 1 --reason 'art. 15'
	d=$output
	run of "$d" '["header"]["controller"]'
	assert_output '{"name": "Centro Benessere Aurora", "address": "Via Roma 1, 00184 Roma", "email": "privacy@aurora.example", "phone": "+39 06 1234567", "url": null, "dpo": "dpo@aurora.example"}'
	run of "$d" '["header"]["retention"][0]'
	assert_output '{"setting": "retention.client_months", "value": "36", "term": "dati del cliente: 36 mesi dopo l'"'"'ultimo appuntamento (dalla registrazione, se non ce ne sono)"}'
	run ev "$d" '[r["name"] for r in v["header"]["recipients"]]'
	assert_output '["SendGrid (Twilio Inc.)"]'
	run ev "$d" '[p["purpose"] + ": " + p["legal_basis"] for p in v["header"]["purposes"]][2]'
	assert_output '"health: explicit consent (GDPR art. 9(2)(a))"'
	run ev "$d" '[r["right"] for r in v["header"]["rights"]]'
	assert_output '["access", "rectification", "erasure", "restriction", "portability", "objection", "withdrawal", "complaint"]'
	# Anna's language is English: so is her header.
	run gdpr-export 2 --reason 'art. 15'
	run rv_json '["header"]["rights"][0]["description"]'
	assert_output 'to get a copy of your data (this document)'
	# Google appears when the centre syncs with it.
	RISERVA_GOOGLE_CLIENT_ID=abc.apps.googleusercontent.com run gdpr-export 1 \
		--reason 'art. 15'
	run ev "$output" '[r["name"] for r in v["header"]["recipients"]]'
	assert_output '["SendGrid (Twilio Inc.)", "Google Calendar (Google LLC)"]'
}

@test "every export is audited with its reason; health reads are audited too" {
	full_centre
	run gdpr-export 1 --reason 'art. 15 request 1'
	d=$output
	run rv_sql "SELECT id, action, client_id, ref, fields, reason FROM audit
	    ORDER BY id DESC LIMIT 2"
	id=$(rv_sql "SELECT max(id) FROM audit")
	assert_output "$id|client.export|1|client 1|identity,appointments,consents,policies,messages,calendar_events,google_events,fiscal,requests,breaches,audit,health|art. 15 request 1
$((id - 1))|health.read|1|client 1|health|art. 15 request 1"
	# The document is that audit row, and shows it.
	run of "$d" '["id"]'
	assert_output "$id"
	run ev "$d" '[a["action"] for a in v["audit"]][-2:]'
	assert_output '["health.read", "client.export"]'
	run gdpr-export 1
	assert_failure 64
	assert_output "gdpr-export: --reason is required: why the data is exported (the request it answers); it goes on the audit trail"
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'client.export'")" = 1 ]
}

@test "nothing of other clients, no keys, no tokens" {
	full_centre
	run gdpr-export 1 --reason 'art. 15'
	assert_success
	refute_output --partial Zq8
	refute_output --partial Anna
	refute_output --partial anna@example.com
	refute_output --partial "$(cat "$RISERVA_KEY" 2>/dev/null | head -c 16)"
	refute_output --partial '"u1.'
	# The mail server is named by its host, never with its credentials.
	RISERVA_MAIL_TRANSPORT=smtp \
	RISERVA_MAIL_URL='smtps://centro:S3cret@mail.aurora.example:465/' \
		run gdpr-export 1 --reason 'art. 15'
	refute_output --partial S3cret
	run ev "$output" '[r["name"] for r in v["header"]["recipients"]]'
	assert_output '["mail.aurora.example:465"]'
	RISERVA_MAIL_TRANSPORT=sendmail run gdpr-export 1 --reason 'art. 15'
	run ev "$output" '[r["name"] for r in v["header"]["recipients"]]'
	assert_output '["sendmail"]'
}

@test "--portable: what the client provided, and the schema knows it" {
	full_centre
	run gdpr-export 1 --portable --reason 'art. 20 request'
	assert_success
	printf '%s\n' "$output" | validate | grep -qx 'valid 1'
	d=$output
	run ev "$d" 'list(v)'
	assert_output '["type", "id", "client_id", "portable", "generated", "header", "identity", "appointments", "consents", "health"]'
	run of "$d" '["identity"]'
	assert_output '{"name": "Mario", "surname": "Rossi", "email": "mario@example.com", "phone": "+393331112222", "birth": null, "locale": "it"}'
	run of "$d" '["appointments"][0]'
	assert_output '{"id": 1, "start": "2026-11-23T10:00:00+01:00", "end": "2026-11-23T11:00:00+01:00", "status": "done", "service_name": "Massaggio", "staff_name": "Giulia"}'
	refute_output --partial schiena
	run rv_sql "SELECT action, fields FROM audit ORDER BY id DESC LIMIT 1"
	assert_output "client.export_portable|identity,appointments,consents,health"
}

# Reads a CSV file with Python's csv module and prints it as JSON rows.
csv_rows() {
	/usr/bin/python3 -c '
import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    print(json.dumps(list(csv.reader(f)), ensure_ascii=False))' "$1"
}

@test "CSV: one file per section, a header row, RFC 4180 quoting" {
	full_centre
	client edit 1 --surname 'Rossi, detto "Bubi"' >/dev/null
	run gdpr-export 1 --format csv --output "$BATS_TEST_TMPDIR/out" \
		--reason 'art. 15'
	assert_success
	assert_output ""
	dir="$BATS_TEST_TMPDIR/out/client-1"
	run ls "$dir"
	assert_output "appointments.csv
audit.csv
breaches.csv
calendar_events.csv
consents.csv
fiscal.csv
google_events.csv
header.csv
health.csv
identity.csv
messages.csv
policies.csv
requests.csv"
	[ "$(stat -c %a "$dir")" = 700 ]
	[ "$(stat -c %a "$dir/identity.csv")" = 600 ]
	# Quoted as RFC 4180 says: the field with a comma, quotes doubled, the
	# line break kept inside the quotes.
	grep -qF '"Rossi, detto ""Bubi"""' "$dir/identity.csv"
	run csv_rows "$dir/identity.csv"
	assert_output '[["id", "name", "surname", "email", "phone", "birth", "locale", "notes", "restricted", "restricted_at", "restricted_reason", "created", "updated"], ["1", "Mario", "Rossi, detto \"Bubi\"", "mario@example.com", "+393331112222", "", "it", "Preferisce, \"sempre\", il mattino\nseconda riga", "false", "", "", "2026-11-30T08:00:00+01:00", "2026-11-30T08:00:00+01:00"]]'
	run csv_rows "$dir/health.csv"
	assert_output '[["text", "updated"], ["Allergia al lattice Kw3", "2026-11-30T08:00:00+01:00"]]'
	# The notices' texts are JSON in their cell.
	grep -qF ',"{""consequences"":""Emails, maybe"",""measures"":""Passwords changed"",""nature"":""Laptop stolen, \""encrypted\""""}"' "$dir/messages.csv"
	run csv_rows "$dir/messages.csv"
	assert_output '[["id", "kind", "appointment_id", "ref", "status", "recipient", "created", "sent", "content"], ["1", "confirmation", "1", "", "queued", "mario@example.com", "2026-11-23T08:00:00+01:00", "", ""], ["2", "confirmation", "2", "", "queued", "mario@example.com", "2026-11-30T08:00:00+01:00", "", ""], ["4", "breach", "", "breach 1", "queued", "mario@example.com", "2026-11-30T08:00:00+01:00", "", "{\"consequences\":\"Emails, maybe\",\"measures\":\"Passwords changed\",\"nature\":\"Laptop stolen, \\\"encrypted\\\"\"}"]]'
	# An empty section still has its header row.
	gdpr-export 2 --format csv --output "$BATS_TEST_TMPDIR/out" \
		--reason 'art. 15'
	run cat "$BATS_TEST_TMPDIR/out/client-2/fiscal.csv"
	assert_output "id,number,issued,appointment_id,name,surname,tax_code,service,service_date,price_cents,amount_cents,method,hold_until"
	run grep -c . "$dir/appointments.csv"
	assert_output 3
	grep -qx 'controller.name,Centro Benessere Aurora' "$dir/header.csv"
	grep -qx 'retention.0.value,36' "$dir/header.csv"
	# Never over an earlier export.
	run gdpr-export 1 --format csv --output "$BATS_TEST_TMPDIR/out" \
		--reason 'art. 15'
	assert_failure 73
	assert_output "gdpr-export: cannot create $BATS_TEST_TMPDIR/out/client-1: File exists"
}

@test "CSV needs --output; JSON can go to files too" {
	rv_centre
	run gdpr-export 1 --format csv --reason 'art. 15'
	assert_failure 64
	assert_output "gdpr-export: --format csv writes one file per section: give --output DIR"
	run gdpr-export 1 2 --output "$BATS_TEST_TMPDIR/o" --reason 'art. 15'
	assert_success
	assert_output ""
	validate <<<"$(python3 -c 'import json,sys; [print(json.dumps(json.load(open(f)))) for f in sys.argv[1:]]' "$BATS_TEST_TMPDIR"/o/client-*.json)" |
		grep -qx 'valid 2'
}

@test "records on stdin; a restricted client is exported too" {
	rv_centre
	client restrict 2 --reason 'art. 18(1)(a)' >/dev/null
	run bash -c "client list -j | gdpr-export --reason 'art. 15' -j"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	printf '%s\n' "$output" | validate | grep -qx 'valid 2'
	run ev "$(printf '%s\n' "$output" | grep '"client_id":2,')" \
		'v["identity"]["restricted_reason"]'
	assert_output '"art. 18(1)(a)"'
	run gdpr-export nobody@example.com --reason x
	assert_failure 66
}

@test "with logins on, health data goes out only to an admin" {
	rv_centre
	staff add --name Boss --email boss@example.com --role admin >/dev/null
	staff add --name Desk --email desk@example.com --role reception \
		>/dev/null
	for who in boss desk; do
		printf 'secret-%s\n' "$who" |
			RISERVA_SECURITY_PBKDF2_ITERATIONS=1000 \
			staff passwd "$who@example.com" >/dev/null
	done
	consent grant 1 health >/dev/null
	printf '%s\n' "$HEALTH" | client health 1 --set
	export RISERVA_SECURITY_REQUIRE_LOGIN=true
	printf 'secret-desk\n' | staff login desk@example.com >/dev/null
	run gdpr-export 2 --reason 'art. 15'
	assert_success
	run gdpr-export 1 --reason 'art. 15'
	assert_failure 77
	assert_output "gdpr-export: desk@example.com (reception) may not see the health data of client 1: only an admin, or an operator who has an appointment with them today"
	[ "$(rv_sql "SELECT count(*) FROM audit WHERE action = 'client.export' AND client_id = 1")" = 0 ]
	printf 'secret-boss\n' | staff login boss@example.com >/dev/null
	run gdpr-export 1 --reason 'art. 15'
	assert_success
	d=$output
	run of "$d" '["health"][0]["text"]'
	assert_output "$HEALTH"
	run of "$d" '["audit"][-1]["actor"]'
	assert_output boss@example.com
}

@test "blocks whose title names the client are in their export, and validate" {
	rv_centre
	book add --client 1 --service Viso --staff giulia@example.com \
		--at '2026-12-01 10:00' >/dev/null
	for t in "richiamare Rossi" "Rossini, concerto" "Bianchi"; do
		book block --staff giulia@example.com --from '2026-12-02 09:00' \
			--to '2026-12-02 09:30' --title "$t" >/dev/null
	done
	run gdpr-export 1 --reason x
	assert_success
	printf '%s\n' "$output" | validate | grep -qx 'valid 1'
	run ev "$output" '[[e["source"], e["title"], e["appointment_id"]] for e in v["calendar_events"]]'
	assert_output '[["manual", "richiamare Rossi", null]]'
	run gdpr-export 2 --reason x
	run ev "$output" '[e["title"] for e in v["calendar_events"]]'
	assert_output '["Bianchi"]'
}

@test "a client named twice gets one document" {
	rv_centre
	run gdpr-export 1 mario@example.com 1 --reason x
	assert_success
	[ "${#lines[@]}" = 1 ]
}

@test "on a terminal, the document indented" {
	rv_centre
	run gdpr-export 1 --reason x --format table
	assert_success
	assert_line --index 0 '{'
	assert_line --index 1 '  "type": "export",'
}

@test "help and usage" {
	run gdpr-export --help
	assert_success
	assert_line --index 0 "usage: gdpr-export --reason TEXT [--portable] [--output DIR] [C ...]"
	run gdpr-export --bogus
	assert_failure 64
}
