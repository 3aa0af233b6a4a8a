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
