#!/usr/bin/env bats
# gcal_emu.py itself: the documented Google behaviour the gcal-sync tests
# rely on, checked directly over HTTP (what gcal-sync never sends, too).

load helper
load gcal

setup() {
	rv_setup
	emu_start
}

teardown() {
	emu_stop
}

# Runs a Python script with "api(method, path, body=None, form=None,
# headers={})" -> (status, json or text, headers) and a connected "H".
google() {
	/usr/bin/python3 - "$EMU" <<-EOF
	import base64, hashlib, json, sys, urllib.error, urllib.parse, urllib.request
	B = sys.argv[1]
	class NoRedirect(urllib.request.HTTPRedirectHandler):
	    def redirect_request(self, *a):
	        return None
	opener = urllib.request.build_opener(NoRedirect)
	def api(method, path, body=None, form=None, headers={}):
	    data, h = None, dict(headers)
	    if body is not None:
	        data, h["Content-Type"] = json.dumps(body).encode(), "application/json"
	    if form is not None:
	        data = urllib.parse.urlencode(form).encode()
	        h["Content-Type"] = "application/x-www-form-urlencoded"
	    req = urllib.request.Request(B + path, data=data, method=method, headers=h)
	    try:
	        f = opener.open(req)
	    except urllib.error.HTTPError as e:
	        f = e
	    text = f.read().decode()
	    try:
	        return f.status if hasattr(f, "status") else f.code, json.loads(text), f.headers
	    except ValueError:
	        return f.code, text, f.headers
	def connect(verifier="v" * 43, sent=None):
	    ch = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
	    q = urllib.parse.urlencode({"client_id": "riserva-test.apps.example",
	        "redirect_uri": "http://127.0.0.1:9/", "response_type": "code",
	        "scope": "openid https://www.googleapis.com/auth/calendar",
	        "code_challenge": ch, "code_challenge_method": "S256",
	        "state": "s1", "access_type": "offline"})
	    st, _, h = api("GET", "/o/oauth2/v2/auth?" + q)
	    loc = urllib.parse.parse_qs(urllib.parse.urlsplit(h["Location"]).query)
	    assert st == 302 and loc["state"] == ["s1"], (st, loc)
	    return api("POST", "/token", form={"grant_type": "authorization_code",
	        "code": loc["code"][0], "redirect_uri": "http://127.0.0.1:9/",
	        "client_id": "riserva-test.apps.example", "client_secret": "s3cret",
	        "code_verifier": sent or verifier})
	$(cat)
	EOF
}

@test "emulator: PKCE is checked, a code is good once, refresh and revoke" {
	run google <<-'EOF'
	st, body, _ = connect(sent="w" * 43)
	print(st, body["error"], body["error_description"])
	st, tok, _ = connect()
	print(st, sorted(tok))
	form = {"grant_type": "refresh_token", "refresh_token": tok["refresh_token"],
	        "client_id": "riserva-test.apps.example", "client_secret": "s3cret"}
	print(api("POST", "/token", form=form)[0])
	print(api("POST", "/revoke", form={"token": tok["refresh_token"]})[:2])
	print(api("POST", "/token", form=form)[:2])
	print(api("POST", "/revoke", form={"token": tok["refresh_token"]})[:2])
	EOF
	assert_success
	assert_output "400 invalid_grant Invalid code verifier.
200 ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']
200
(200, {})
(400, {'error': 'invalid_grant', 'error_description': 'Token has been expired or revoked.'})
(400, {'error': 'invalid_token', 'error_description': 'Token expired or revoked'})"
}

@test "emulator: ids, 409, etags and If-Match, 410 on a deleted event, sync tokens" {
	run google <<-'EOF'
	st, tok, _ = connect()
	H = {"Authorization": "Bearer " + tok["access_token"]}
	E = "/calendar/v3/calendars/primary/events"
	ev = {"id": "abcdev0123", "summary": "x",
	      "start": {"dateTime": "2026-12-01T10:00:00+01:00"},
	      "end": {"dateTime": "2026-12-01T11:00:00+01:00"}}
	print(api("POST", E, body=dict(ev, id="ABC!"), headers=H)[1]["error"]["errors"][0]["reason"])
	st, got, h = api("POST", E, body=ev, headers=H)
	print(st, got["etag"] == h["ETag"])
	print(api("POST", E, body=ev, headers=H)[1]["error"]["errors"][0]["reason"])
	print(api("PUT", E + "/abcdev0123", body=ev, headers=dict(H, **{"If-Match": '"0"'}))[0])
	st, put, _ = api("PUT", E + "/abcdev0123", body=dict(ev, summary="y"), headers=dict(H, **{"If-Match": got["etag"]}))
	print(st, put["summary"], put["etag"] != got["etag"])
	st, page, _ = api("GET", E + "?maxResults=1&timeMin=2026-01-01T00:00:00Z", headers=H)
	print(st, len(page["items"]), "nextSyncToken" in page)
	tok2 = urllib.parse.quote(page["nextSyncToken"])
	print(api("GET", E + "?syncToken=" + tok2 + "&timeMin=2026-01-01T00:00:00Z", headers=H)[0])
	print(api("DELETE", E + "/abcdev0123", headers=H)[0])
	print(api("DELETE", E + "/abcdev0123", headers=H)[1]["error"]["errors"][0]["reason"])
	print(api("GET", E + "/abcdev0123", headers=H)[1]["status"])
	st, inc, _ = api("GET", E + "?syncToken=" + tok2, headers=H)
	print(st, inc["items"])
	api("POST", "/_emu/expire_sync_tokens")
	print(api("GET", E + "?syncToken=" + tok2, headers=H)[1]["error"]["errors"][0]["reason"])
	print(api("GET", E, headers={"Authorization": "Bearer nope"})[0])
	EOF
	assert_success
	assert_output "invalid
200 True
duplicate
412
200 y True
200 1 True
400
204
deleted
cancelled
200 [{'kind': 'calendar#event', 'etag': '\"3180000000000003\"', 'id': 'abcdev0123', 'status': 'cancelled'}]
fullSyncRequired
401"
}

@test "emulator: pages, showDeleted, the time window, what a sync token excludes; consent denied, plain PKCE" {
	run google <<-'EOF'
	st, tok, _ = connect()
	H = {"Authorization": "Bearer " + tok["access_token"]}
	E = "/calendar/v3/calendars/primary/events"
	def ev(i, h):
	    return {"id": i, "summary": i,
	            "start": {"dateTime": "2026-12-01T%02d:00:00+01:00" % h},
	            "end": {"dateTime": "2026-12-01T%02d:30:00+01:00" % h}}
	for i, h in (("aaaaa", 9), ("bbbbb", 10), ("ccccc", 11)):
	    api("POST", E, body=ev(i, h), headers=H)
	# Ids: base32hex, 5 to 1024 characters.
	print([api("POST", E, body=ev(i, 12), headers=H)[0] for i in
	       ("dddd", "d" * 1025, "Ddddd", "ddddw", "dd-dd", "d" * 1024)])
	api("DELETE", E + "/bbbbb", headers=H)
	# A page token on every page but the last, a sync token on the last.
	st, p, _ = api("GET", E + "?maxResults=2", headers=H)
	print(st, [e["id"][:5] for e in p["items"]], "nextPageToken" in p, "nextSyncToken" in p)
	st, p, _ = api("GET", E + "?maxResults=2&pageToken=" + urllib.parse.quote(p["nextPageToken"]), headers=H)
	print(st, [e["id"][:5] for e in p["items"]], "nextPageToken" in p, "nextSyncToken" in p)
	# Deleted events only with showDeleted; the window by overlap.
	st, p, _ = api("GET", E + "?showDeleted=true", headers=H)
	print(sorted((e["id"][:5], e["status"]) for e in p["items"]))
	st, p, _ = api("GET", E + "?showDeleted=true&timeMin=2026-12-01T09:15:00%2B01:00&timeMax=2026-12-01T11:00:00%2B01:00", headers=H)
	print(sorted((e["id"][:5], e["status"]) for e in p["items"]))
	t = urllib.parse.quote(p["nextSyncToken"])
	for extra in ("showDeleted=false", "orderBy=startTime", "q=x", "iCalUID=x",
	              "updatedMin=2026-01-01T00:00:00Z", "timeMax=2027-01-01T00:00:00Z",
	              "privateExtendedProperty=a%3Db", "showDeleted=true", "singleEvents=true"):
	    st, body, _ = api("GET", E + "?syncToken=" + t + "&" + extra, headers=H)
	    print(extra, st, body["error"]["errors"][0]["reason"] if st != 200 else "")
	# Revoking the access token revokes its grant.
	print(api("POST", "/revoke", form={"token": tok["access_token"]})[0], api("GET", E, headers=H)[0])
	# Consent denied: back to the redirect with the error and the state.
	api("POST", "/_emu/consent", body={"deny": True})
	q = {"client_id": "riserva-test.apps.example", "redirect_uri": "http://127.0.0.1:9/",
	     "response_type": "code", "scope": "openid", "state": "s2",
	     "code_challenge": "c" * 43, "code_challenge_method": "S256"}
	st, _, h = api("GET", "/o/oauth2/v2/auth?" + urllib.parse.urlencode(q))
	print(st, sorted(urllib.parse.parse_qs(urllib.parse.urlsplit(h["Location"]).query).items()))
	st, text, _ = api("GET", "/o/oauth2/v2/auth?" + urllib.parse.urlencode(dict(q, code_challenge_method="plain")))
	print(st, text.split("\n")[0])
	EOF
	assert_success
	assert_output "[400, 400, 400, 400, 400, 200]
200 ['aaaaa', 'ccccc'] True False
200 ['ddddd'] False True
[('aaaaa', 'confirmed'), ('bbbbb', 'cancelled'), ('ccccc', 'confirmed'), ('ddddd', 'confirmed')]
[('aaaaa', 'confirmed'), ('bbbbb', 'cancelled')]
showDeleted=false 400 syncTokenWithRequestRestrictions
orderBy=startTime 400 syncTokenWithRequestRestrictions
q=x 400 syncTokenWithRequestRestrictions
iCalUID=x 400 syncTokenWithRequestRestrictions
updatedMin=2026-01-01T00:00:00Z 400 syncTokenWithRequestRestrictions
timeMax=2027-01-01T00:00:00Z 400 syncTokenWithRequestRestrictions
privateExtendedProperty=a%3Db 400 syncTokenWithRequestRestrictions
showDeleted=true 200 
singleEvents=true 200 
200 401
302 [('error', ['access_denied']), ('iss', ['https://accounts.google.com']), ('state', ['s2'])]
400 Error 400: invalid_request"
}

@test "emulator: singleEvents lists a weekly series as its instances; 18:00 stays 18:00 across DST" {
	run google <<-'EOF'
	st, tok, _ = connect()
	H = {"Authorization": "Bearer " + tok["access_token"]}
	E = "/calendar/v3/calendars/primary/events"
	# Tuesdays at 18:00 in Rome, over the last Sunday of March 2027.
	ev = {"id": "pilates01", "summary": "Pilates", "location": "Sala 2",
	      "start": {"dateTime": "2027-03-16T18:00:00+01:00", "timeZone": "Europe/Rome"},
	      "end": {"dateTime": "2027-03-16T19:00:00+01:00", "timeZone": "Europe/Rome"},
	      "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"]}
	st, master, _ = api("POST", E, body=ev, headers=H)
	print(st, master["recurrence"])
	st, page, _ = api("GET", E + "?singleEvents=true", headers=H)
	for i in page["items"]:
	    print(i["id"], i["recurringEventId"], i["originalStartTime"], i["start"],
	          i["end"]["dateTime"], i["summary"], i["location"], "recurrence" in i)
	# Without singleEvents, or with false: the series as it is.
	for q in ("", "?singleEvents=false"):
	    print([(i["id"], i["recurrence"]) for i in api("GET", E + q, headers=H)[1]["items"]])
	# A window: only the instances that overlap it.
	q = "?singleEvents=true&timeMin=2027-03-23T17:30:00Z&timeMax=2027-04-06T16:00:00Z"
	print([i["id"] for i in api("GET", E + q, headers=H)[1]["items"]])
	st, one, h = api("GET", E + "/pilates01_20270330T160000Z", headers=H)
	print(st, one["start"]["dateTime"], one["recurringEventId"], one["etag"] == h["ETag"])
	# A Wednesday, the fifth Tuesday (COUNT=4), a master that does not recur.
	print(api("GET", E + "/pilates01_20270331T160000Z", headers=H)[0],
	      api("GET", E + "/pilates01_20270413T160000Z", headers=H)[0],
	      api("GET", E + "/nosuch01_20270330T160000Z", headers=H)[0])
	EOF
	assert_success
	assert_output "200 ['RRULE:FREQ=WEEKLY;COUNT=4']
pilates01_20270316T170000Z pilates01 {'dateTime': '2027-03-16T18:00:00+01:00', 'timeZone': 'Europe/Rome'} {'dateTime': '2027-03-16T18:00:00+01:00', 'timeZone': 'Europe/Rome'} 2027-03-16T19:00:00+01:00 Pilates Sala 2 False
pilates01_20270323T170000Z pilates01 {'dateTime': '2027-03-23T18:00:00+01:00', 'timeZone': 'Europe/Rome'} {'dateTime': '2027-03-23T18:00:00+01:00', 'timeZone': 'Europe/Rome'} 2027-03-23T19:00:00+01:00 Pilates Sala 2 False
pilates01_20270330T160000Z pilates01 {'dateTime': '2027-03-30T18:00:00+02:00', 'timeZone': 'Europe/Rome'} {'dateTime': '2027-03-30T18:00:00+02:00', 'timeZone': 'Europe/Rome'} 2027-03-30T19:00:00+02:00 Pilates Sala 2 False
pilates01_20270406T160000Z pilates01 {'dateTime': '2027-04-06T18:00:00+02:00', 'timeZone': 'Europe/Rome'} {'dateTime': '2027-04-06T18:00:00+02:00', 'timeZone': 'Europe/Rome'} 2027-04-06T19:00:00+02:00 Pilates Sala 2 False
[('pilates01', ['RRULE:FREQ=WEEKLY;COUNT=4'])]
[('pilates01', ['RRULE:FREQ=WEEKLY;COUNT=4'])]
['pilates01_20270323T170000Z', 'pilates01_20270330T160000Z']
200 2027-03-30T18:00:00+02:00 pilates01 True
404 404 404"
}

@test "emulator: INTERVAL, BYDAY, COUNT, UNTIL, EXDATE, all-day and unbounded series; 400 for what it cannot expand" {
	run google <<-'EOF'
	import datetime
	st, tok, _ = connect()
	H = {"Authorization": "Bearer " + tok["access_token"]}
	E = "/calendar/v3/calendars/primary/events"
	def series(rule, start="2026-12-01T18:00:00+01:00", end="2026-12-01T19:00:00+01:00",
	           tz="Europe/Rome", days=None):
	    b = {"recurrence": rule, "start": {"dateTime": start, "timeZone": tz},
	         "end": {"dateTime": end, "timeZone": tz}}
	    if tz is None:
	        del b["start"]["timeZone"], b["end"]["timeZone"]
	    if days is not None:
	        b["start"], b["end"] = {"date": days[0]}, {"date": days[1]}
	    st, ev, _ = api("POST", E, body=b, headers=H)
	    if st != 200:
	        return st, ev["error"]["errors"][0]["reason"], ev["error"]["message"]
	    items = api("GET", E + "?singleEvents=true&maxResults=2500", headers=H)[1]["items"]
	    return [i["id"][len(ev["id"]):] for i in items if i.get("recurringEventId") == ev["id"]]
	# Every other week on Tuesday and Thursday, five times.
	print(series(["RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=5"]))
	# Every third day until 18:00 Rome on the 10th, that day included.
	print(series(["RRULE:FREQ=DAILY;INTERVAL=3;UNTIL=20261210T170000Z"]))
	# COUNT counts an excluded date too.
	print(series(["RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE;TZID=Europe/Rome:20261208T180000"]))
	# All-day: Saturdays until the 19th; ids and originalStartTime as dates.
	print(series(["RRULE:FREQ=WEEKLY;UNTIL=20261219"], days=("2026-12-05", "2026-12-06")))
	st, one, _ = api("GET", E + "?singleEvents=true&timeMin=2026-12-12T00:00:00Z&timeMax=2026-12-13T00:00:00Z", headers=H)
	print([(i["originalStartTime"], i["start"], i["end"]) for i in one["items"]])
	# Unbounded: 730 days after now at most, 730 instances at most.
	day = datetime.date.today() + datetime.timedelta(days=1)
	ids = series(["RRULE:FREQ=DAILY"], start=day.isoformat() + "T10:00:00Z",
	             end=day.isoformat() + "T11:00:00Z")
	last = datetime.datetime.strptime(ids[-1], "_%Y%m%dT%H%M%SZ")
	print(725 <= len(ids) <= 730, last < datetime.datetime.now() + datetime.timedelta(days=731))
	before = len(api("GET", "/_emu/calendars/operator@gmail.test/events")[1])
	for rule in (["RRULE:FREQ=MONTHLY;BYMONTHDAY=1"], ["RRULE:FREQ=FORTNIGHTLY"],
	             ["RRULE:FREQ=WEEKLY;COUNT=2;UNTIL=20270101"], ["RRULE:FREQ=WEEKLY;BYDAY=1TU"],
	             ["RRULE:FREQ=DAILY;BYDAY=TU"], ["RRULE:FREQ=DAILY;INTERVAL=0"],
	             ["RRULE:COUNT=3"], ["RRULE FREQ=DAILY"], "RRULE:FREQ=DAILY",
	             ["RRULE:FREQ=DAILY", "RDATE:20261224T180000Z"],
	             ["RRULE:FREQ=DAILY", "RRULE:FREQ=WEEKLY"], ["EXDATE:20261208T170000Z"]):
	    print(series(rule))
	print(series(["RRULE:FREQ=DAILY"], tz=None))
	print(series(["RRULE:FREQ=DAILY"], tz="Europe/Atlantis"))
	print(len(api("GET", "/_emu/calendars/operator@gmail.test/events")[1]) == before)
	# A patch is checked as well; the series is left as it was.
	st, ev, _ = api("POST", E, body={"start": {"dateTime": "2026-12-01T18:00:00+01:00", "timeZone": "Europe/Rome"}, "end": {"dateTime": "2026-12-01T19:00:00+01:00"}, "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"]}, headers=H)
	print(api("PATCH", E + "/" + ev["id"], body={"recurrence": ["RRULE:FREQ=YEARLY"]}, headers=H)[1]["error"]["message"])
	print(api("GET", E + "/" + ev["id"], headers=H)[1]["recurrence"])
	EOF
	assert_success
	assert_output "['_20261201T170000Z', '_20261203T170000Z', '_20261215T170000Z', '_20261217T170000Z', '_20261229T170000Z']
['_20261201T170000Z', '_20261204T170000Z', '_20261207T170000Z', '_20261210T170000Z']
['_20261201T170000Z', '_20261215T170000Z']
['_20261205', '_20261212', '_20261219']
[({'date': '2026-12-12'}, {'date': '2026-12-12'}, {'date': '2026-12-13'})]
True True
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'invalid', 'Invalid recurrence rule.')
(400, 'required', 'Missing time zone definition for start time.')
(400, 'invalid', 'Invalid time zone definition for start time.')
True
Invalid recurrence rule.
['RRULE:FREQ=DAILY;COUNT=2']"
}

@test "emulator: one instance deleted or moved is an exception; incremental sync gives just those" {
	run google <<-'EOF'
	st, tok, _ = connect()
	H = {"Authorization": "Bearer " + tok["access_token"]}
	E = "/calendar/v3/calendars/primary/events"
	C = "/_emu/calendars/operator@gmail.test/events"
	api("POST", E, body={"id": "pilates01", "summary": "Pilates",
	    "start": {"dateTime": "2026-12-01T18:00:00+01:00", "timeZone": "Europe/Rome"},
	    "end": {"dateTime": "2026-12-01T19:00:00+01:00", "timeZone": "Europe/Rome"},
	    "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"]}, headers=H)
	sync = urllib.parse.quote(api("GET", E + "?singleEvents=true", headers=H)[1]["nextSyncToken"])
	# The 8th is cancelled through the API, the 22nd as the user would.
	I = E + "/pilates01_20261208T170000Z"
	print(api("DELETE", I, headers=H)[0], api("DELETE", I, headers=H)[1]["error"]["errors"][0]["reason"],
	      api("GET", I, headers=H)[1]["status"])
	print(api("DELETE", C + "/pilates01_20261222T170000Z")[0], api("DELETE", C + "/pilates01_20261223T170000Z")[0])
	# The 15th moves to 20:00, with If-Match.
	M = E + "/pilates01_20261215T170000Z"
	st, got, _ = api("GET", M, headers=H)
	late = {"start": {"dateTime": "2026-12-15T20:00:00+01:00", "timeZone": "Europe/Rome"},
	        "end": {"dateTime": "2026-12-15T21:00:00+01:00", "timeZone": "Europe/Rome"}}
	print(api("PATCH", M, body=late, headers=dict(H, **{"If-Match": '"1"'}))[0])
	st, moved, _ = api("PATCH", M, body=late, headers=dict(H, **{"If-Match": got["etag"]}))
	print(st, moved["id"], moved["start"]["dateTime"], moved["originalStartTime"]["dateTime"], moved["recurringEventId"])
	st, page, _ = api("GET", E + "?singleEvents=true", headers=H)
	print([(i["id"], i["start"]["dateTime"]) for i in page["items"]])
	st, page, _ = api("GET", E + "?singleEvents=true&showDeleted=true", headers=H)
	print(sorted((i["id"], i["status"]) for i in page["items"]))
	st, inc, _ = api("GET", E + "?singleEvents=true&syncToken=" + sync, headers=H)
	for i in inc["items"]:
	    print(i if i["status"] == "cancelled" else (i["id"], i["start"]["dateTime"]))
	# Without singleEvents: the series as it is, its exceptions beside it.
	st, page, _ = api("GET", E + "?showDeleted=true", headers=H)
	print([(i["id"], i["status"]) for i in page["items"]])
	EOF
	assert_success
	assert_output "204 deleted cancelled
200 404
412
200 pilates01_20261215T170000Z 2026-12-15T20:00:00+01:00 2026-12-15T18:00:00+01:00 pilates01
[('pilates01_20261201T170000Z', '2026-12-01T18:00:00+01:00'), ('pilates01_20261215T170000Z', '2026-12-15T20:00:00+01:00')]
[('pilates01_20261201T170000Z', 'confirmed'), ('pilates01_20261208T170000Z', 'cancelled'), ('pilates01_20261215T170000Z', 'confirmed'), ('pilates01_20261222T170000Z', 'cancelled')]
{'kind': 'calendar#event', 'etag': '\"3180000000000002\"', 'id': 'pilates01_20261208T170000Z', 'status': 'cancelled', 'recurringEventId': 'pilates01', 'originalStartTime': {'dateTime': '2026-12-08T18:00:00+01:00', 'timeZone': 'Europe/Rome'}}
{'kind': 'calendar#event', 'etag': '\"3180000000000003\"', 'id': 'pilates01_20261222T170000Z', 'status': 'cancelled', 'recurringEventId': 'pilates01', 'originalStartTime': {'dateTime': '2026-12-22T18:00:00+01:00', 'timeZone': 'Europe/Rome'}}
('pilates01_20261215T170000Z', '2026-12-15T20:00:00+01:00')
[('pilates01', 'confirmed'), ('pilates01_20261208T170000Z', 'cancelled'), ('pilates01_20261222T170000Z', 'cancelled'), ('pilates01_20261215T170000Z', 'confirmed')]"
}

@test "emulator: a series deleted or cut short gives its instances cancelled to an incremental sync" {
	run google <<-'EOF'
	st, tok, _ = connect()
	H = {"Authorization": "Bearer " + tok["access_token"]}
	E = "/calendar/v3/calendars/primary/events"
	C = "/_emu/calendars/operator@gmail.test/events"
	def ids(q):
	    return [(i["id"], i["status"]) for i in api("GET", E + q, headers=H)[1]["items"]]
	api("POST", E, body={"id": "stretch01", "summary": "Stretching",
	    "start": {"dateTime": "2026-12-02T09:00:00+01:00", "timeZone": "Europe/Rome"},
	    "end": {"dateTime": "2026-12-02T10:00:00+01:00", "timeZone": "Europe/Rome"},
	    "recurrence": ["RRULE:FREQ=DAILY;COUNT=4"]}, headers=H)
	api("PATCH", E + "/stretch01_20261203T080000Z", body={"summary": "Stretching (Anna)"}, headers=H)
	page = api("GET", E + "?singleEvents=true", headers=H)[1]
	sync = urllib.parse.quote(page["nextSyncToken"])
	# "This and following events" on the 4th: the rule ends on the 3rd.
	print(api("PATCH", C + "/stretch01", {"recurrence": ["RRULE:FREQ=DAILY;UNTIL=20261203T080000Z"]})[0])
	st, inc, _ = api("GET", E + "?singleEvents=true&syncToken=" + sync, headers=H)
	print([(i["id"], i["status"]) for i in inc["items"]])
	sync = urllib.parse.quote(inc["nextSyncToken"])
	plain = urllib.parse.quote(api("GET", E, headers=H)[1]["nextSyncToken"])
	print(api("DELETE", C + "/stretch01")[0])
	st, inc, _ = api("GET", E + "?singleEvents=true&syncToken=" + sync, headers=H)
	for i in inc["items"]:
	    print(sorted(i.items()))
	print(ids("?singleEvents=true"), sorted(ids("?singleEvents=true&showDeleted=true")))
	print(ids("?syncToken=" + plain))
	print(api("GET", E + "/stretch01_20261202T080000Z", headers=H)[1]["status"],
	      api("DELETE", E + "/stretch01_20261202T080000Z", headers=H)[0])
	EOF
	assert_success
	assert_output "200
[('stretch01_20261202T080000Z', 'confirmed'), ('stretch01_20261203T080000Z', 'confirmed'), ('stretch01_20261204T080000Z', 'cancelled'), ('stretch01_20261205T080000Z', 'cancelled')]
200
[('etag', '\"3180000000000006\"'), ('id', 'stretch01_20261202T080000Z'), ('kind', 'calendar#event'), ('status', 'cancelled')]
[('etag', '\"3180000000000007\"'), ('id', 'stretch01_20261203T080000Z'), ('kind', 'calendar#event'), ('status', 'cancelled')]
[] [('stretch01_20261202T080000Z', 'cancelled'), ('stretch01_20261203T080000Z', 'cancelled'), ('stretch01_20261204T080000Z', 'cancelled'), ('stretch01_20261205T080000Z', 'cancelled')]
[('stretch01', 'cancelled'), ('stretch01_20261203T080000Z', 'cancelled')]
cancelled 410"
}
