#!/usr/bin/env bats
# gcal-sync: connect and disconnect with OAuth, the two-way sync with a
# Google Calendar emulator, conflicts, faults and recoveries.

load helper
load gcal

G=operator@gmail.test
M=marco@gmail.test

setup() {
	rv_setup
	emu_start
	rv_centre
}

teardown() {
	emu_stop
}

# Connects giulia (staff 1) as $G, and marco (staff 2) as $M when asked.
connect_giulia() {
	gcal_connect giulia@example.com "{\"email\": \"$G\"}"
	assert_success
}

connect_marco() {
	gcal_connect marco@example.com "{\"email\": \"$M\"}"
	assert_success
}

# The summary, start and status of the event of appointment $2 on $1.
event_of() {
	emu_events "$1" "' | '.join('%s %s %s' % (e.get('summary'), e.get('start', {}).get('dateTime'), e['status']) for e in ev if e.get('extendedProperties', {}).get('private', {}).get('riserva_appointment') == '$2')"
}

@test "connect: PKCE and state through the browser; the token is sealed, never shown" {
	connect_giulia
	assert_output --partial '{"type":"gcal_account","id":1,"staff_id":1,"staff_name":"Giulia","staff_email":"giulia@example.com","email":"operator@gmail.test","calendar":"primary","scopes":"openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/calendar","state":"ok"'
	# The address asks for exactly what the notice promises.
	url=$(grep -o "$EMU/o/oauth2/v2/auth?[^ ]*" "$GCAL_TMP/connect.err")
	[[ $url == *"scope=openid%20https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fuserinfo.email%20https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcalendar&"* ]]
	[[ $url == *"&access_type=offline&prompt=consent&"* ]]
	[[ $url == *"&code_challenge_method=S256&state="* ]]
	[[ $url == *"redirect_uri=http%3A%2F%2F127.0.0.1%3A"* ]]
	assert_file_contains "$GCAL_TMP/browser.out" 'authorization received'
	[ "$(emu_count oauth.token 200)" = 1 ]
	[ "$(emu_count oauth.userinfo 200)" = 1 ]
	# Neither token is printed, nor stored readable.
	tokens=$(emu GET /_emu/tokens)
	refresh=$(printf '%s' "$tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh"][0])')
	access=$(printf '%s' "$tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"][0])')
	[ ${#refresh} -gt 40 ]
	[[ $output != *"$refresh"* && $output != *"$access"* ]]
	for f in "$RISERVA_DB" "$RISERVA_DB-wal"; do
		[ ! -e "$f" ] || ! grep -qF "$refresh" "$f"
		[ ! -e "$f" ] || ! grep -qF "$access" "$f"
	done
	[ "$(rv_sql "SELECT length(refresh_token) > 29 + 40, length(access_token) > 29 FROM gcal_account")" = "1|1" ]
	run rv_sql "SELECT action, ref, fields FROM audit WHERE action LIKE 'gcal.%'"
	assert_output 'gcal.connect|staff 1|email,calendar,scopes,refresh_token'
}

@test "connect refuses a grant without the calendar permission and gives it back" {
	gcal_connect giulia@example.com '{"email": "operator@gmail.test", "scopes": ["openid", "https://www.googleapis.com/auth/userinfo.email"]}'
	assert_equal "$status" 77
	assert_output --partial 'gcal-sync: not connected: the permissions granted lack https://www.googleapis.com/auth/calendar (grant them all when Google asks); the partial grant was revoked and nothing stored'
	[ "$(emu_count oauth.revoke 200)" = 1 ]
	[ "$(rv_sql 'SELECT count(*) FROM gcal_account')" = 0 ]
	run emu GET /_emu/grants
	assert_output --partial '"revoked": true'
}

@test "connect checks the calendar is there and writable; a shared one is synced" {
	# A typo in --calendar: refused now, not at every sync to come.
	gcal_connect giulia@example.com "{\"email\": \"$G\"}" --calendar typo@group.calendar.google.com
	assert_equal "$status" 66
	assert_output --partial "gcal-sync: not connected: the Google account $G has no calendar 'typo@group.calendar.google.com' (check --calendar); nothing stored"
	[ "$(rv_sql 'SELECT count(*) FROM gcal_account')" = 0 ]
	run emu GET /_emu/grants
	assert_output --partial '"revoked": true}]'
	# Shared with her to read only: riserva could not write the bookings.
	emu POST /_emu/calendars/team@group.test/share "{\"email\": \"$G\", \"role\": \"reader\"}" >/dev/null
	gcal_connect giulia@example.com "{\"email\": \"$G\"}" --calendar team@group.test
	assert_equal "$status" 77
	assert_output --partial "gcal-sync: not connected: $G may only read the calendar 'team@group.test' (reader), and riserva writes the bookings there; choose another with --calendar; nothing stored"
	[ "$(rv_sql 'SELECT count(*) FROM gcal_account')" = 0 ]
	# As a writer she may use it.
	emu POST /_emu/calendars/team@group.test/share "{\"email\": \"$G\", \"role\": \"writer\"}" >/dev/null
	gcal_connect giulia@example.com "{\"email\": \"$G\"}" --calendar team@group.test
	assert_success
	assert_output --partial '"calendar":"team@group.test",'
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"inserted":1,'
	run event_of team@group.test 1
	assert_output 'Massaggio Mario R. 2026-12-01T10:00:00+01:00 confirmed'
	# A typo when she reconnects keeps the connection she has.
	gcal_connect giulia@example.com "{\"email\": \"$G\"}" --calendar typo@group.calendar.google.com
	assert_equal "$status" 66
	run gcal-sync
	assert_success
	run gcal-sync status
	assert_output --partial '"calendar":"team@group.test",'
}

@test "connect: access denied, a foreign state, no answer: nothing stored" {
	gcal_connect giulia@example.com '{"deny": true}'
	assert_equal "$status" 77
	assert_output --partial 'gcal-sync: Google did not grant access (access_denied): nothing stored'
	# A redirect that is not the answer to our request.
	gcal-sync connect giulia@example.com --no-browser 2>"$GCAL_TMP/c.err" 3>&- &
	pid=$!
	for i in $(seq 600); do
		port=$(grep -o 'http://127.0.0.1:[0-9]*/$' "$GCAL_TMP/c.err" | grep -o '[0-9]*/$') && break
		sleep 0.05
	done
	run browse "http://127.0.0.1:${port%/}/?state=forged&code=4/0xyz"
	assert_output --partial 'does not belong to the connection'
	status=0
	wait $pid || status=$?
	assert_equal "$status" 77
	assert_file_contains "$GCAL_TMP/c.err" "the redirect's state does not match this attempt"
	run gcal-sync connect giulia@example.com --no-browser --timeout 1s
	assert_equal "$status" 75
	assert_line 'gcal-sync: no answer from the browser within 1 s; run connect again'
	[ "$(rv_sql 'SELECT count(*) FROM gcal_account')" = 0 ]
}

@test "a booking appears on Google with the minimal title; move and cancel follow" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 \
		--at '2026-12-01 10:00' --notes 'allergic to nuts' >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"inserted":1,'
	run event_of $G 1
	assert_output 'Massaggio Mario R. 2026-12-01T10:00:00+01:00 confirmed'
	# Nothing else about the client leaves: no email, phone or notes.
	run emu GET /_emu/calendars/$G/events
	refute_output --partial 'mario@example.com'
	refute_output --partial '3331112222'
	refute_output --partial 'allergic'
	refute_output --partial 'Rossi'
	assert_output --partial '"visibility": "private"'
	assert_output --partial '"private": {"riserva_appointment": "1", "riserva_instance": '
	book move 1 --at '2026-12-02 14:00' >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"inserted":0,"updated":1,'
	run event_of $G 1
	assert_output 'Massaggio Mario R. 2026-12-02T14:00:00+01:00 confirmed'
	book cancel 1 >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"deleted":1,'
	run event_of $G 1
	assert_output 'Massaggio Mario R. 2026-12-02T14:00:00+01:00 cancelled'
	[ "$(emu_count events.insert)" = 1 ]
	[ "$(rv_sql 'SELECT count(*) FROM gcal_link')" = 0 ]
	run rv_sql "SELECT action, client_id, ref, fields FROM audit WHERE action IN ('gcal.push', 'gcal.delete') ORDER BY id"
	assert_output 'gcal.push|1|appointment 1|summary,start,end
gcal.push|1|appointment 1|summary,start,end
gcal.delete|1|appointment 1|event'
}

@test "a restricted client's booking is busy without a name; a rectified name follows" {
	connect_giulia
	book add --client mario@example.com --service Viso --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	client edit mario@example.com --name Mariano >/dev/null
	run gcal-sync
	assert_success
	run event_of $G 1
	assert_output 'Viso Mariano R. 2026-12-01T10:00:00+01:00 confirmed'
	rv_sql "UPDATE client SET restricted = 1 WHERE id = 1"
	run gcal-sync
	assert_output --partial '"updated":1,'
	run event_of $G 1
	assert_output 'Occupato 2026-12-01T10:00:00+01:00 confirmed'
	printf '[google]\nevent_title = {service}\nbusy_title = Busy\n' >>"$RISERVA_CONFIG"
	gcal-sync >/dev/null
	run event_of $G 1
	assert_output 'Busy 2026-12-01T10:00:00+01:00 confirmed'
}

@test "an event created on Google blocks the slot for book add; free time does not" {
	connect_giulia
	emu POST /_emu/calendars/$G/events '{"summary": "Dentist", "start": {"dateTime": "2026-12-01T15:00:00+01:00"}, "end": {"dateTime": "2026-12-01T16:00:00+01:00"}}' >/dev/null
	emu POST /_emu/calendars/$G/events '{"summary": "Maybe", "transparency": "transparent", "start": {"dateTime": "2026-12-01T10:00:00+01:00"}, "end": {"dateTime": "2026-12-01T11:00:00+01:00"}}' >/dev/null
	emu POST /_emu/calendars/$G/events '{"summary": "Meeting", "attendees": [{"email": "operator@gmail.test", "self": true, "responseStatus": "declined"}], "start": {"dateTime": "2026-12-01T11:00:00+01:00"}, "end": {"dateTime": "2026-12-01T12:00:00+01:00"}}' >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"pulled":3,"imported":3,'
	run book add --client mario@example.com --service Viso --staff 1 --at '2026-12-01 15:30'
	assert_failure 1
	assert_output 'book: slot taken: overlaps Google Calendar block 1 (2026-12-01 15:00-16:00)'
	run book add --client mario@example.com --service Viso --staff 1 --at '2026-12-01 10:00'
	assert_success
	run book add --client anna@example.com --service Viso --staff 1 --at '2026-12-01 11:00'
	assert_success
	# Titles of the operator's own events are not kept unless asked.
	[ "$(rv_sql "SELECT count(*) FROM event WHERE title IS NOT NULL")" = 0 ]
	# Deleted on Google: the slot is free again.
	gid=$(emu_events $G "[e['id'] for e in ev if e.get('summary') == 'Dentist'][0]")
	emu DELETE /_emu/calendars/$G/events/$gid >/dev/null
	run gcal-sync
	assert_output --partial '"removed":1,'
	run book add --client mario@example.com --service Viso --staff 1 --at '2026-12-01 15:30'
	assert_success
}

@test "a weekly class put on Google as one recurring event blocks each week; deletions free the slots" {
	connect_giulia
	staff hours giulia@example.com mon-fri 09:00-13:00 14:00-20:00 >/dev/null
	gcal-sync >/dev/null
	emu POST /_emu/reset_counts >/dev/null
	# Pilates on Tuesdays at 18:00 for six weeks, over the last Sunday of
	# March: one event on Google, listed one occurrence at a time.
	emu POST /_emu/calendars/$G/events '{"summary": "Pilates", "start": {"dateTime": "2027-03-09T18:00:00+01:00", "timeZone": "Europe/Rome"}, "end": {"dateTime": "2027-03-09T19:00:00+01:00", "timeZone": "Europe/Rome"}, "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=6"]}' >/dev/null
	gid=$(emu_events $G "[e['id'] for e in ev if e.get('summary') == 'Pilates'][0]")
	run gcal-sync
	assert_success
	assert_output --partial '"full":false,"pulled":6,"imported":6,"removed":0,'
	run rv_sql "SELECT id, google_id, datetime(start, 'unixepoch'), datetime(end, 'unixepoch') FROM event WHERE source = 'google' ORDER BY start"
	assert_output "1|${gid}_20270309T170000Z|2027-03-09 17:00:00|2027-03-09 18:00:00
2|${gid}_20270316T170000Z|2027-03-16 17:00:00|2027-03-16 18:00:00
3|${gid}_20270323T170000Z|2027-03-23 17:00:00|2027-03-23 18:00:00
4|${gid}_20270330T160000Z|2027-03-30 16:00:00|2027-03-30 17:00:00
5|${gid}_20270406T160000Z|2027-04-06 16:00:00|2027-04-06 17:00:00
6|${gid}_20270413T160000Z|2027-04-13 16:00:00|2027-04-13 17:00:00"
	run book add --client mario@example.com --service Viso --staff 1 --at '2027-03-30 18:30'
	assert_failure 1
	assert_output 'book: slot taken: overlaps Google Calendar block 4 (2027-03-30 18:00-19:00)'
	run book add --client mario@example.com --service Viso --staff 1 --at '2027-03-31 18:30'
	assert_success
	# One week's class is cancelled on Google: that slot only is free.
	emu DELETE /_emu/calendars/$G/events/${gid}_20270323T170000Z >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"full":false,"pulled":1,"imported":0,"removed":1,'
	run book add --client anna@example.com --service Viso --staff 1 --at '2027-03-23 18:30'
	assert_success
	run book add --client anna@example.com --service Viso --staff 1 --at '2027-03-16 18:30'
	assert_failure 1
	assert_output 'book: slot taken: overlaps Google Calendar block 2 (2027-03-16 18:00-19:00)'
	# Another week's class moves to 19:00: its block follows.
	emu PATCH /_emu/calendars/$G/events/${gid}_20270406T160000Z '{"start": {"dateTime": "2027-04-06T19:00:00+02:00", "timeZone": "Europe/Rome"}, "end": {"dateTime": "2027-04-06T20:00:00+02:00", "timeZone": "Europe/Rome"}}' >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"imported":1,"removed":0,'
	run book add --client mario@example.com --service Viso --staff 1 --at '2027-04-06 19:30'
	assert_failure 1
	assert_output 'book: slot taken: overlaps Google Calendar block 5 (2027-04-06 19:00-20:00)'
	run book add --client mario@example.com --service Viso --staff 1 --at '2027-04-06 18:00'
	assert_success
	# The whole series is deleted on Google: the rest goes.
	emu DELETE /_emu/calendars/$G/events/$gid >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"imported":0,"removed":5,'
	[ "$(rv_sql "SELECT count(*) FROM event WHERE source = 'google'")" = 0 ]
	run book add --client mario@example.com --service Viso --staff 1 --at '2027-04-13 18:30'
	assert_success
	# Each of those syncs was one incremental list with the sync token.
	run emu GET /_emu/log
	lists=$(printf '%s' "$output" | python3 -c 'import json, sys; l = [r["query"] for r in json.load(sys.stdin) if r["op"] == "events.list"]; print(len(l), sum(1 for q in l if "syncToken" in q and "timeMin" not in q and q.get("singleEvents") == "true"))')
	assert_equal "$lists" "4 4"
}

@test "occurrences of a series with a 1024-character id are busy blocks too" {
	connect_giulia
	id=$(printf 'v%.0s' $(seq 1024))
	emu POST /_emu/calendars/$G/events '{"id": "'"$id"'", "summary": "Yoga", "start": {"dateTime": "2026-12-02T15:00:00+01:00", "timeZone": "Europe/Rome"}, "end": {"dateTime": "2026-12-02T16:00:00+01:00", "timeZone": "Europe/Rome"}, "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=2"]}' >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"pulled":2,"imported":2,'
	run rv_sql "SELECT length(google_id), substr(google_id, 1020) FROM event WHERE source = 'google' ORDER BY start"
	assert_output "1041|vvvvv_20261202T140000Z
1041|vvvvv_20261209T140000Z"
	run book add --client mario@example.com --service Viso --staff 1 --at '2026-12-09 15:30'
	assert_failure 1
	assert_output 'book: slot taken: overlaps Google Calendar block 2 (2026-12-09 15:00-16:00)'
	emu DELETE /_emu/calendars/$G/events/${id}_20261209T140000Z >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"imported":0,"removed":1,'
	run book add --client mario@example.com --service Viso --staff 1 --at '2026-12-09 15:30'
	assert_success
}

@test "a booking's event made to repeat on Google is made single again, no occurrence deleted" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	gid=$(rv_sql "SELECT google_id FROM gcal_link")
	emu PATCH /_emu/calendars/$G/events/$gid '{"recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"]}' >/dev/null
	emu POST /_emu/reset_counts >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial "gcal-sync: giulia@example.com: appointment 1: its event was made to repeat on Google Calendar; riserva's booking wins and the repetition is removed"
	assert_output --partial '"pulled":3,"imported":0,"removed":0,"inserted":0,"updated":1,"deleted":0,"adopted":0,"overwritten":1,'
	[ "$(emu_count events.delete)" = 0 ]
	# One event again, the booking's, and nothing imported or unlinked.
	run emu_events $G "[(e['id'], e['start']['dateTime'], e['status'], 'recurrence' in e) for e in ev if e['status'] == 'confirmed']"
	assert_output '[["'"$gid"'", "2026-12-01T10:00:00+01:00", "confirmed", false]]'
	[ "$(rv_sql "SELECT count(*) FROM event WHERE source = 'google'")" = 0 ]
	[ "$(rv_sql "SELECT google_id, state FROM gcal_link")" = "$gid|live" ]
	[ "$(rv_sql "SELECT status FROM appointment WHERE id = 1")" = booked ]
	# The occurrences Google then gives as cancelled change nothing.
	run gcal-sync
	assert_success
	assert_output --partial '"pulled":4,"imported":0,"removed":0,"inserted":0,"updated":0,"deleted":0,"adopted":0,"overwritten":0,'
	[ "$(rv_sql "SELECT google_id, state FROM gcal_link")" = "$gid|live" ]
}

@test "an idle incremental sync is one list call per operator" {
	connect_giulia
	connect_marco
	book add --client mario@example.com --service Massaggio --staff 2 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	gcal-sync >/dev/null
	emu POST /_emu/reset_counts >/dev/null
	run gcal-sync
	assert_success
	[ "$(emu_count events.list 200)" = 2 ]
	[ "$(emu_count '*')" = 2 ]
	assert_line --index 0 --partial '"requests":1,'
	assert_line --index 1 --partial '"requests":1,'
	# And the list used the sync token.
	run emu GET /_emu/log
	assert_output --partial '"syncToken": "'
	refute_output --partial '"timeMin"'
}

@test "410: a bounded full resync that keeps every booking" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	emu POST /_emu/calendars/$G/events '{"summary": "Gym", "start": {"dateTime": "2026-12-02T09:00:00+01:00"}, "end": {"dateTime": "2026-12-02T10:00:00+01:00"}}' >/dev/null
	gcal-sync >/dev/null
	gcal-sync >/dev/null
	[ "$(rv_sql "SELECT count(*) FROM event WHERE source = 'google'")" = 1 ]
	gid=$(emu_events $G "[e['id'] for e in ev if e.get('summary') == 'Gym'][0]")
	emu DELETE /_emu/calendars/$G/events/$gid >/dev/null
	emu POST /_emu/expire_sync_tokens >/dev/null
	emu POST /_emu/reset_counts >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"full":true,'
	assert_output --partial 'the sync token has expired: full resync of 365 days each side'
	[ "$(emu_count events.list 410)" = 1 ]
	[ "$(emu_count events.list 200)" = 1 ]
	# The window is bounded, and nothing was pushed twice.
	run emu GET /_emu/log
	assert_output --partial '"timeMin": "2025-11-30T07:00:00Z", "timeMax": "2027-11-30T07:00:00Z"'
	[ "$(emu_count events.insert)" = 0 ]
	[ "$(rv_sql "SELECT status FROM appointment WHERE id = 1")" = booked ]
	[ "$(rv_sql "SELECT count(*) FROM gcal_link WHERE state = 'live'")" = 1 ]
	[ "$(rv_sql "SELECT count(*) FROM event WHERE source = 'google'")" = 0 ]
	run event_of $G 1
	assert_output 'Massaggio Mario R. 2026-12-01T10:00:00+01:00 confirmed'
	# The new token works: the next sync is incremental.
	run gcal-sync
	assert_output --partial '"full":false,'
}

@test "an edit on Google is overwritten and reported; 412 is reconciled" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	gid=$(rv_sql "SELECT google_id FROM gcal_link")
	# Seen by the pull: restored in the same run.
	emu PATCH /_emu/calendars/$G/events/$gid '{"summary": "Lunch", "start": {"dateTime": "2026-12-01T12:00:00+01:00"}, "end": {"dateTime": "2026-12-01T13:00:00+01:00"}}' >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial "gcal-sync: giulia@example.com: appointment 1: its event was edited on Google Calendar; riserva's booking wins and the edit is overwritten"
	assert_output --partial '"updated":1,"deleted":0,"adopted":0,"overwritten":1,'
	run event_of $G 1
	assert_output 'Massaggio Mario R. 2026-12-01T10:00:00+01:00 confirmed'
	# Seen by the push only: If-Match fails with 412, then a look, then
	# the booking's version again.
	emu PATCH /_emu/calendars/$G/events/$gid '{"summary": "Lunch"}' >/dev/null
	book move 1 --at '2026-12-01 11:00' >/dev/null
	emu POST /_emu/reset_counts >/dev/null
	run gcal-sync sync --push-only
	assert_success
	assert_output --partial "edit is overwritten"
	[ "$(emu_count events.patch 412)" = 1 ]
	[ "$(emu_count events.get 200)" = 1 ]
	[ "$(emu_count events.patch 200)" = 1 ]
	[ "$(emu_count events.list)" = 0 ]
	run event_of $G 1
	assert_output 'Massaggio Mario R. 2026-12-01T11:00:00+01:00 confirmed'
}

@test "a change notice waiting when the booking is marked needs_review still goes" {
	consent grant mario@example.com reminders >/dev/null
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	book move 1 --at '2026-12-01 11:00' >/dev/null
	gcal-sync >/dev/null
	gid=$(rv_sql "SELECT google_id FROM gcal_link")
	emu DELETE /_emu/calendars/$G/events/$gid >/dev/null
	gcal-sync >/dev/null 2>&1
	[ "$(rv_sql "SELECT status || ' ' || version FROM appointment")" = "needs_review 3" ]
	export RISERVA_MAIL_TRANSPORT=stdout RISERVA_MAIL_FROM=centro@aurora.example
	run notify --format csv
	assert_success
	run rv_sql "SELECT kind || ' ' || version || ' ' || status FROM message ORDER BY id"
	assert_output "confirmation 1 skipped
change 2 sent"
}

@test "a pushed event deleted on Google marks the booking needs_review, never cancels" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	gid=$(rv_sql "SELECT google_id FROM gcal_link")
	emu DELETE /_emu/calendars/$G/events/$gid >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial 'gcal-sync: giulia@example.com: appointment 1: its event was deleted on Google Calendar; the booking is kept and marked needs_review'
	assert_output --partial '"needs_review":1,'
	[ "$(rv_sql "SELECT status FROM appointment WHERE id = 1")" = needs_review ]
	[ "$(rv_sql "SELECT action || '|' || reason FROM audit WHERE action = 'appointment.needs_review'")" = 'appointment.needs_review|its event was deleted on Google Calendar' ]
	# Left alone until someone acts: no new event behind the operator's back.
	run gcal-sync
	assert_output --partial '"inserted":0,'
	# Confirmed by moving it: a new event, with a new id.
	book move 1 --at '2026-12-01 10:00' >/dev/null
	run gcal-sync
	assert_output --partial '"inserted":1,'
	[ "$(rv_sql "SELECT generation FROM gcal_link")" = 2 ]
	[ "$(emu_events $G "len([e for e in ev if e['status'] == 'confirmed'])")" = 1 ]
}

@test "crash after an insert (the answer never arrives): no duplicate, 409 adopts" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	printf 'timeout = 2s\nretry_attempts = 1\n' >>"$RISERVA_CONFIG"
	emu POST /_emu/fault '{"op": "events.insert", "delay": 5, "after": true}' >/dev/null
	run gcal-sync sync --push-only
	assert_failure 69
	assert_output --partial '(cannot reach Google; nothing is lost, run again later)'
	[ "$(emu_events $G 'len(ev)')" = 1 ]
	[ "$(rv_sql 'SELECT count(*) FROM gcal_link')" = 0 ]
	[ "$(rv_sql 'SELECT count(*) FROM gcal_outbox')" = 1 ]
	run gcal-sync status giulia@example.com
	assert_output --partial '"state":"error",'
	run gcal-sync sync --push-only
	assert_success
	assert_output --partial '"inserted":0,"updated":0,"deleted":0,"adopted":1,'
	[ "$(emu_count events.insert 409)" = 1 ]
	[ "$(emu_events $G 'len(ev)')" = 1 ]
	[ "$(rv_sql "SELECT count(*) FROM gcal_link WHERE state = 'live'")" = 1 ]
	[ "$(rv_sql 'SELECT count(*) FROM gcal_outbox')" = 0 ]
}

@test "killed right after an insert: the next sync adopts the event, no duplicate" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync sync --pull-only >/dev/null
	emu POST /_emu/fault '{"op": "events.insert", "delay": 60, "after": true}' >/dev/null
	gcal-sync >/dev/null 2>&1 3>&- &
	pid=$!
	for i in $(seq 600); do
		[ "$(emu_count events.insert)" = 1 ] && break
		sleep 0.05
	done
	kill -9 $pid
	wait $pid || true
	emu DELETE /_emu/faults >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"adopted":1,'
	[ "$(emu_count events.insert)" = 1 ]
	[ "$(emu_events $G 'len(ev)')" = 1 ]
	run event_of $G 1
	assert_output 'Massaggio Mario R. 2026-12-01T10:00:00+01:00 confirmed'
}

# Runs a sync in the background that stops at the first request of op
# (served, its answer held for 2 s); runs the rest of the command line
# meanwhile, then waits for the sync.
during() {
	local op=$1 pid i
	shift
	emu POST /_emu/reset_counts >/dev/null
	emu POST /_emu/fault "{\"op\": \"$op\", \"delay\": 2, \"after\": true}" >/dev/null
	gcal-sync >/dev/null 2>&1 3>&- &
	pid=$!
	for i in $(seq 600); do
		[ "$(emu_count "$op")" = 0 ] || break
		sleep 0.05
	done
	"$@"
	wait $pid
}

@test "a booking changed while its push is under way stays queued: no event outlives its cancel" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	book move 1 --at '2026-12-01 11:00' >/dev/null
	# Cancelled while Google is being told of the move.
	during events.patch book cancel 1 >/dev/null
	[ "$(rv_sql 'SELECT count(*) FROM gcal_outbox')" = 1 ]
	run gcal-sync
	assert_success
	assert_output --partial '"deleted":1,'
	run event_of $G 1
	assert_output 'Massaggio Mario R. 2026-12-01T11:00:00+01:00 cancelled'
	# The same while its first insert is under way.
	book add --client anna@example.com --service Viso --staff 1 --at '2026-12-01 15:00' >/dev/null
	during events.insert book cancel 2 >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"deleted":1,'
	run event_of $G 2
	assert_output 'Viso Anna B. 2026-12-01T15:00:00+01:00 cancelled'
	[ "$(rv_sql 'SELECT count(*) FROM gcal_outbox')" = 0 ]
	[ "$(rv_sql 'SELECT count(*) FROM gcal_link')" = 0 ]
}

@test "a client erased while their booking is first pushed loses that event too" {
	connect_giulia
	# A past booking: erasure keeps it, as a booking of nobody.
	RISERVA_NOW=2026-11-20T08:00:00+01:00 book add --client mario@example.com \
		--service Massaggio --staff 1 --at '2026-11-27 10:00' >/dev/null
	during events.insert gdpr-erase mario@example.com --reason test >/dev/null
	[ "$(rv_sql "SELECT count(*) FROM gcal_link WHERE state = 'delete' AND appointment_id IS NULL")" = 1 ]
	run gcal-sync
	assert_success
	assert_output --partial '"deleted":1,'
	# Google's trash keeps the event some 30 days: with no name on it.
	run event_of $G 1
	assert_output 'Occupato 2026-11-27T10:00:00+01:00 cancelled'
	[ "$(rv_sql 'SELECT count(*) FROM gcal_link')" = 0 ]
	[ "$(rv_sql 'SELECT count(*) FROM gcal_outbox')" = 0 ]
}

@test "an erased client's event gone from Google already is not an error" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	# Purged from the trash: Google answers 404 Not Found.
	emu POST /_emu/fault '{"op": "events.patch", "status": 404, "count": 1}' >/dev/null
	gdpr-erase mario@example.com --reason test >/dev/null
	run gcal-sync
	assert_success
	[ "$(rv_sql 'SELECT count(*) FROM gcal_link')" = 0 ]
	[ "$(emu_count events.delete 204)" = 0 ]
}

@test "429 and rate limits back off and succeed; 5xx too" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	emu POST /_emu/fault '{"op": "events.insert", "status": 429, "count": 2, "retry_after": 0}' >/dev/null
	emu POST /_emu/fault '{"op": "events.list", "status": 403, "reason": "userRateLimitExceeded", "count": 1}' >/dev/null
	emu POST /_emu/fault '{"op": "events.list", "status": 503, "count": 1}' >/dev/null
	run gcal-sync
	assert_success
	assert_output --partial '"inserted":1,'
	assert_output --partial '"requests":6,'
	[ "$(emu_count events.insert 429)" = 2 ]
	[ "$(emu_count events.insert 200)" = 1 ]
	[ "$(emu_count events.list 403)" = 1 ]
	[ "$(emu_count events.list 503)" = 1 ]
	# Bounded: retries run out, exit 75, nothing lost.
	book move 1 --at '2026-12-01 11:00' >/dev/null
	emu POST /_emu/fault '{"op": "events.patch", "status": 500, "count": 99}' >/dev/null
	run gcal-sync
	assert_failure 75
	assert_output --partial 'gcal-sync: giulia@example.com: google: PATCH '
	assert_output --partial ': HTTP 500 backendError after 5 tries; try again later'
	[ "$(emu_count events.patch 500)" = 5 ]
	[ "$(rv_sql 'SELECT count(*) FROM gcal_outbox')" = 1 ]
}

@test "quotaExceeded stops that operator at once, the others go on; the daily limit stops the run" {
	connect_giulia
	connect_marco
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	book add --client anna@example.com --service Massaggio --staff 2 --at '2026-12-01 10:00' >/dev/null
	emu POST /_emu/reset_counts >/dev/null
	# Giulia's account reached Calendar's usage limits: no retries for
	# her, Marco's sync goes through.
	emu POST /_emu/fault '{"op": "events.list", "status": 403, "reason": "quotaExceeded", "count": 1}' >/dev/null
	run gcal-sync
	assert_failure 75
	assert_output --partial "gcal-sync: giulia@example.com: google: GET $EMU/calendar/v3/calendars/primary/events: HTTP 403 quotaExceeded: the account has reached Google Calendar's usage limits; its sync stopped, try again later"
	assert_line --index 2 --partial '"staff_email":"marco@example.com","email":"marco@gmail.test","state":"ok","full":true,"pulled":0,"imported":0,"removed":0,"inserted":1,'
	[ "$(emu_count events.list 403)" = 1 ]
	[ "$(emu_count events.list 200)" = 1 ]
	[ "$(rv_sql 'SELECT count(*) FROM gcal_outbox')" = 1 ]
	run gcal-sync status giulia@example.com
	assert_output --partial '"state":"error",'
	# The project's daily limit: nobody else would fare better.
	book move 2 --at '2026-12-01 11:00' >/dev/null
	emu POST /_emu/reset_counts >/dev/null
	emu POST /_emu/fault '{"op": "events.list", "status": 403, "reason": "dailyLimitExceeded", "count": 1}' >/dev/null
	run gcal-sync
	assert_failure 75
	assert_output --partial "HTTP 403 dailyLimitExceeded: the project's daily Calendar API limit is used up; sync stopped, try again later"
	assert_output --partial 'gcal-sync: daily limit used up: 1 operator not synced this time'
	[ "$(emu_count events.list)" = 1 ]
	[ "$(rv_sql 'SELECT count(*) FROM gcal_outbox')" = 2 ]
	run gcal-sync
	assert_success
	assert_line --index 0 --partial '"inserted":1,'
	assert_line --index 1 --partial '"updated":1,'
}

@test "invalid_grant: reauth_needed, exit 77, sync stops; the others go on" {
	connect_giulia
	connect_marco
	book add --client mario@example.com --service Massaggio --staff 2 --at '2026-12-01 10:00' >/dev/null
	# Giulia removes riserva's access in her Google account.
	emu POST /_emu/revoke_user "{\"email\": \"$G\"}" >/dev/null
	run gcal-sync
	assert_failure 77
	assert_output --partial 'gcal-sync: giulia@example.com: google: the authorization was revoked or has expired (invalid_grant): reconnect with gcal-sync connect'
	assert_output --partial '"staff_email":"marco@example.com","email":"marco@gmail.test","state":"ok","full":true,"pulled":0,"imported":0,"removed":0,"inserted":1,'
	run gcal-sync status giulia@example.com
	assert_output --partial '"state":"reauth_needed",'
	emu POST /_emu/reset_counts >/dev/null
	run gcal-sync giulia@example.com
	assert_failure 77
	assert_output --partial 'gcal-sync: giulia@example.com: Google access was revoked or has expired; sync is stopped until: gcal-sync connect giulia@example.com'
	[ "$(emu_count '*')" = 0 ]
	connect_giulia
	run gcal-sync giulia@example.com
	assert_success
}

@test "network down: exit 69, state error, nothing lost" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	emu_stop
	run gcal-sync
	assert_failure 69
	assert_output --partial 'gcal-sync: giulia@example.com: google: GET http://127.0.0.1:'
	assert_output --partial '(cannot reach Google; nothing is lost, run again later)'
	run gcal-sync status
	assert_output --partial '"state":"error","connected":'
	assert_output --partial '"pending":1,'
	[ "$(rv_sql 'SELECT count(*) FROM gcal_outbox')" = 1 ]
}

@test "a booking moved to another operator leaves the first calendar" {
	connect_giulia
	connect_marco
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	book move 1 --at '2026-12-01 11:00' --staff marco@example.com >/dev/null
	[ "$(rv_sql "SELECT state FROM gcal_link")" = delete ]
	run gcal-sync
	assert_success
	run event_of $G 1
	assert_output 'Massaggio Mario R. 2026-12-01T10:00:00+01:00 cancelled'
	run event_of $M 1
	assert_output 'Massaggio Mario R. 2026-12-01T11:00:00+01:00 confirmed'
	[ "$(rv_sql "SELECT staff_id || ' ' || state FROM gcal_link")" = '2 live' ]
}

@test "disconnect revokes at Google and leaves no token in the database" {
	connect_giulia
	emu POST /_emu/calendars/$G/events '{"summary": "Gym", "start": {"dateTime": "2026-12-02T09:00:00+01:00"}, "end": {"dateTime": "2026-12-02T10:00:00+01:00"}}' >/dev/null
	gcal-sync >/dev/null
	refresh=$(emu GET /_emu/tokens | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh"][0])')
	sealed=$(rv_sql "SELECT hex(refresh_token) FROM gcal_account")
	[ ${#sealed} -gt 100 ]
	run gcal-sync disconnect giulia@example.com
	assert_success
	assert_output --partial '"state":"disconnected",'
	assert_output --partial '"imported":1,'
	assert_output --partial '"revoked":true,"purged":0,"removed_pushed":0}'
	[ "$(emu_count oauth.revoke 200)" = 1 ]
	run emu GET /_emu/grants
	assert_output '[{"email": "operator@gmail.test", "scopes": ["openid", "https://www.googleapis.com/auth/userinfo.email", "https://www.googleapis.com/auth/calendar"], "revoked": true}]'
	[ "$(rv_sql 'SELECT count(*) FROM gcal_account')" = 0 ]
	# Neither the token nor its sealed form is left in the files' bytes.
	bytes=$(python3 -c 'import sys; print(b"".join(open(f, "rb").read() for f in sys.argv[1:]).hex().upper())' "$RISERVA_DB"*)
	[[ $bytes != *"$sealed"* ]]
	for f in "$RISERVA_DB"*; do
		! grep -qF "$refresh" "$f"
	done
	run rv_sql "SELECT action, ref, fields FROM audit WHERE action = 'gcal.disconnect'"
	assert_output 'gcal.disconnect|staff 1|email,scopes,refresh_token,access_token,sync_token'
	# Sync stops; the imported block stays until purged.
	run gcal-sync giulia@example.com
	assert_failure 1
	assert_output --partial 'gcal-sync: giulia@example.com has no connected calendar'
	run gcal-sync disconnect giulia@example.com --purge-imported
	assert_success
	assert_output --partial '"revoked":false,"purged":1,"removed_pushed":0}'
	[ "$(rv_sql "SELECT count(*) FROM event")" = 0 ]
	run gcal-sync disconnect giulia@example.com
	assert_failure 1
	assert_output 'gcal-sync: giulia@example.com has no connected calendar'
}

@test "disconnect --remove-pushed takes back every event pushed, titled busy first" {
	connect_giulia
	connect_marco
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	book add --client anna@example.com --service Viso --staff 1 --at '2026-12-02 10:00' >/dev/null
	book add --client anna@example.com --service Massaggio --staff 2 --at '2026-12-02 10:00' >/dev/null
	gcal-sync >/dev/null
	# One more, not yet pushed: it never reaches Google.
	book add --client mario@example.com --service Viso --staff 1 --at '2026-12-03 10:00' >/dev/null
	emu POST /_emu/reset_counts >/dev/null
	run gcal-sync disconnect giulia@example.com --remove-pushed
	assert_success
	assert_output --partial '"revoked":true,"purged":0,"removed_pushed":2}'
	run emu_events $G '[[e["summary"], e["status"]] for e in ev]'
	assert_output '[["Occupato", "cancelled"], ["Occupato", "cancelled"]]'
	[ "$(emu_count events.insert)" = 0 ]
	[ "$(rv_sql 'SELECT count(*) FROM gcal_link WHERE staff_id = 1')" = 0 ]
	# Marco's calendar is his: untouched. The bookings all stand.
	run emu_events $M '[e["status"] for e in ev]'
	assert_output '["confirmed"]'
	[ "$(rv_sql "SELECT count(*) FROM appointment WHERE status = 'booked'")" = 4 ]
}

@test "disconnect --remove-pushed with Google failing: tokens gone, a warning, the rest stays" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	emu POST /_emu/fault '{"op": "events.patch", "status": 400, "count": 1}' >/dev/null
	run gcal-sync disconnect giulia@example.com --remove-pushed
	assert_success
	assert_output --partial "disconnecting anyway: events pushed to giulia@example.com stay there (0 removed)"
	[ "$(rv_sql 'SELECT count(*) FROM gcal_account')" = 0 ]
	run emu_events $G '[e["status"] for e in ev]'
	assert_output '["confirmed"]'
}

@test "disconnect with Google unreachable: tokens gone anyway, exit 69 with a warning" {
	connect_giulia
	emu_stop
	run gcal-sync disconnect giulia@example.com
	assert_failure 69
	assert_output --partial 'gcal-sync: google: POST http://127.0.0.1:'
	assert_output --partial 'gcal-sync: the tokens are deleted here all the same; to be sure, also remove riserva'"'"'s access at https://myaccount.google.com/permissions'
	assert_output --partial '"revoked":false,'
	# No "try again": there is nothing left to try it with.
	refute_output --partial 'try again'
	[ "$(rv_sql 'SELECT count(*) FROM gcal_account')" = 0 ]
}

@test "disconnect with revoke failing: 69, no advice to try again, tokens gone" {
	connect_giulia
	emu POST /_emu/fault '{"op": "oauth.revoke", "status": 503, "count": 99, "retry_after": 0}' >/dev/null
	run gcal-sync disconnect giulia@example.com
	assert_failure 69
	assert_line --regexp '^gcal-sync: google: POST http://127.0.0.1:[0-9]+/revoke: HTTP 503 temporarily_unavailable after 5 tries$'
	assert_output --partial 'gcal-sync: the tokens are deleted here all the same'
	refute_output --partial 'try again'
	[ "$(rv_sql "SELECT count(*) FROM gcal_account")" = 0 ]
}

@test "disconnect first sends what is pending, so erasures reach Google" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	# What gcal_forget_client leaves for an erased client.
	rv_sql "UPDATE gcal_link SET state = 'delete', appointment_id = NULL"
	run gcal-sync status
	assert_output --partial '"pending":1,'
	run gcal-sync disconnect giulia@example.com
	assert_success
	run event_of $G 1
	assert_output 'Occupato 2026-12-01T10:00:00+01:00 cancelled'
	[ "$(emu_count events.delete 204)" = 1 ]
}

@test "an operator named twice, by email and by id, is synced once" {
	connect_giulia
	emu POST /_emu/reset_counts >/dev/null
	run gcal-sync giulia@example.com 1
	assert_success
	[ "${#lines[@]}" = 1 ]
	[ "$(emu_count events.list)" = 1 ]
	run gcal-sync status 1 giulia@example.com
	[ "${#lines[@]}" = 1 ]
}

@test "status: each account, its state, last sync and pending changes" {
	# None connected: nothing matched, exit 1, like any empty list.
	run gcal-sync status
	assert_failure 1
	assert_output ""
	run gcal-sync
	assert_success
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	run gcal-sync status
	assert_success
	assert_output '{"type":"gcal_account","id":1,"staff_id":1,"staff_name":"Giulia","staff_email":"giulia@example.com","email":"operator@gmail.test","calendar":"primary","scopes":"openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/calendar","state":"ok","connected":"2026-11-30T08:00:00+01:00","last_sync":null,"last_full_sync":null,"pending":1,"pushed":0,"imported":0,"busy":0,"last_error":null}'
	RISERVA_NOW=2026-11-30T09:00:00+01:00 gcal-sync >/dev/null
	run gcal-sync status giulia@example.com marco@example.com
	assert_line --index 0 --partial '"state":"ok","connected":"2026-11-30T08:00:00+01:00","last_sync":"2026-11-30T09:00:00+01:00","last_full_sync":"2026-11-30T09:00:00+01:00","pending":0,"pushed":1,'
	assert_line --index 1 --partial '"staff_email":"marco@example.com","email":null,"calendar":null,"scopes":null,"state":"disconnected",'
	run gcal-sync status nobody@example.com
	assert_failure 66
}

@test "one sync at a time; configuration and usage errors" {
	connect_giulia
	python3 -c 'import fcntl, sys, time; f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(30)' \
		"$RISERVA_DB-gcal.lock" >/dev/null 2>&1 3>&- &
	holder=$!
	for i in $(seq 200); do
		flock -n "$RISERVA_DB-gcal.lock" true || break
		sleep 0.05
	done
	run gcal-sync
	assert_failure 75
	assert_output 'gcal-sync: another gcal-sync is running on this database; try again later'
	kill $holder
	wait $holder || true
	run gcal-sync sync --pull-only --push-only
	assert_failure 64
	run gcal-sync frobnicate
	assert_failure 64
	run gcal-sync connect
	assert_failure 64
	# A secret in a config file others can read is refused.
	printf 'client_secret = s3cret\n' >>"$RISERVA_CONFIG"
	chmod 644 "$RISERVA_CONFIG"
	run gcal-sync
	assert_failure 78
	assert_output "gcal-sync: google.client_secret is in $RISERVA_CONFIG, which others can read: move it to google.client_secret_file or RISERVA_GOOGLE_CLIENT_SECRET, or chmod 600 $RISERVA_CONFIG"
	chmod 600 "$RISERVA_CONFIG"
	run gcal-sync
	assert_success
	# Plain http only to a server on this machine: tokens go there.
	RISERVA_GOOGLE_TOKEN_URL=http://oauth2.example.com/token run gcal-sync
	assert_failure 78
	assert_output "gcal-sync: config google.token_url: 'http://oauth2.example.com/token' is plain http to another machine, and the tokens would cross the network in clear: use https://"
	RISERVA_GOOGLE_API_URL=http://127.0.0.1.example.com/calendar/v3 run gcal-sync
	assert_failure 78
	printf 'event_title = {service} {email}\n' >>"$RISERVA_CONFIG"
	run gcal-sync
	assert_failure 78
	assert_output "gcal-sync: config google.event_title: unknown placeholder '{email}' (use {service}, {name}, {initial}, {surname})"
}

@test "the verb may be left out before sync's own options, as the synopsis reads" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	run gcal-sync -j --pull-only
	assert_success
	assert_output --partial '"full":true,"pulled":0,"imported":0,"removed":0,"inserted":0,'
	run gcal-sync --push-only giulia@example.com
	assert_success
	assert_output --partial '"full":false,"pulled":0,"imported":0,"removed":0,"inserted":1,'
	run gcal-sync --db "$RISERVA_DB" --full 1
	assert_success
	assert_output --partial '"full":true,'
	run gcal-sync --full --push-only
	assert_failure 64
	assert_output 'gcal-sync: --full is a pull'
	run gcal-sync --bogus
	assert_failure 64
	assert_line --index 0 "gcal-sync: unknown option '--bogus'"
}

@test "every page is read, and applied in one transaction with the new token" {
	connect_giulia
	printf 'page_size = 2\n' >>"$RISERVA_CONFIG"
	emu POST /_emu/calendars/$G/bulk '{"count": 5, "start": "2026-12-01T09:00:00+01:00", "step_minutes": 60, "duration_minutes": 30}' >/dev/null
	# The last of three pages fails: nothing is applied.
	emu POST /_emu/fault '{"op": "events.list", "count": 2}' >/dev/null
	emu POST /_emu/fault '{"op": "events.list", "status": 500, "count": 5}' >/dev/null
	run gcal-sync sync --pull-only
	assert_failure 75
	[ "$(rv_sql "SELECT count(*) FROM event")" = 0 ]
	[ "$(rv_sql "SELECT sync_token IS NULL FROM gcal_account")" = 1 ]
	emu POST /_emu/reset_counts >/dev/null
	run gcal-sync sync --pull-only
	assert_success
	assert_output --partial '"full":true,"pulled":5,"imported":5,'
	[ "$(emu_count events.list 200)" = 3 ]
	[ "$(rv_sql "SELECT count(*) FROM event WHERE source = 'google'")" = 5 ]
	emu POST /_emu/calendars/$G/bulk '{"count": 3, "start": "2026-12-03T09:00:00+01:00"}' >/dev/null
	token=$(rv_sql "SELECT sync_token FROM gcal_account")
	emu POST /_emu/fault '{"op": "events.list", "count": 1}' >/dev/null
	emu POST /_emu/fault '{"op": "events.list", "status": 503, "count": 5}' >/dev/null
	run gcal-sync sync --pull-only
	emu DELETE /_emu/faults >/dev/null
	assert_failure 75
	[ "$(rv_sql "SELECT count(*) FROM event WHERE source = 'google'")" = 5 ]
	[ "$(rv_sql "SELECT sync_token FROM gcal_account")" = "$token" ]
	run gcal-sync sync --pull-only
	assert_success
	assert_output --partial '"full":false,"pulled":3,"imported":3,'
	[ "$(rv_sql "SELECT count(*) FROM event WHERE source = 'google'")" = 8 ]
}

@test "with nobody connected, a cron sync does nothing and needs no client" {
	printf '[google]\nclient_id =\n' >"$RISERVA_CONFIG"
	run gcal-sync
	assert_success
	assert_output ''
	run gcal-sync status
	assert_failure 1
	assert_output ''
}

@test "connecting another account gives the old grant back and starts over" {
	connect_giulia
	book add --client mario@example.com --service Massaggio --staff 1 --at '2026-12-01 10:00' >/dev/null
	gcal-sync >/dev/null
	gcal_connect giulia@example.com '{"email": "giulia.other@gmail.test"}'
	assert_success
	assert_output --partial '"email":"giulia.other@gmail.test",'
	[ "$(emu_count oauth.revoke 200)" = 1 ]
	run emu GET /_emu/grants
	assert_output --partial '{"email": "operator@gmail.test", "scopes": ["openid", "https://www.googleapis.com/auth/userinfo.email", "https://www.googleapis.com/auth/calendar"], "revoked": true}'
	run gcal-sync
	assert_success
	assert_output --partial '"full":true,'
	assert_output --partial '"inserted":1,'
	run event_of giulia.other@gmail.test 1
	assert_output 'Massaggio Mario R. 2026-12-01T10:00:00+01:00 confirmed'
	# The same account again: its grant is kept, its sync state too.
	gcal_connect giulia@example.com '{"email": "giulia.other@gmail.test"}'
	assert_success
	[ "$(emu_count oauth.revoke)" = 1 ]
	run gcal-sync
	assert_output --partial '"full":false,'
}

@test "a short-lived access token is refreshed, sealed, and invalid_grant stops the sync" {
	emu_stop
	: >"$RISERVA_CONFIG"
	emu_start --token-ttl 30
	connect_giulia
	emu POST /_emu/reset_counts >/dev/null
	run gcal-sync
	assert_success
	[ "$(emu_count oauth.refresh 200)" = 1 ]
	[ "$(emu_count events.list 200)" = 1 ]
	tokens=$(emu GET /_emu/tokens | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["access"]))')
	for t in $tokens; do
		! grep -qF "$t" "$RISERVA_DB"*
	done
	emu POST /_emu/fault '{"op": "oauth.refresh", "reason": "invalid_grant"}' >/dev/null
	run gcal-sync
	assert_failure 77
	assert_output --partial '(invalid_grant): reconnect with gcal-sync connect'
	[ "$(emu_count oauth.refresh 400)" = 1 ]
	run gcal-sync status
	assert_output --partial '"state":"reauth_needed",'
}
