#!/usr/bin/python3
"""gcal_emu.py - a Google OAuth 2.0 + Calendar API v3 emulator for the tests.

Python 3 standard library only. It binds 127.0.0.1 (port 0 by default: a
free one), prints the port on stdout and serves, on that one port:

  GET  /o/oauth2/v2/auth          authorization endpoint (PKCE, state, consent)
  POST /token                     authorization_code and refresh_token grants
  POST /revoke                    token revocation
  GET  /v1/userinfo               OpenID Connect userinfo
  /calendar/v3/calendars/{cal}/events[/{id}]
                                  events list, insert, get, patch, update, delete

following the documented behaviour: sync tokens and page tokens, 410
fullSyncRequired for an invalid sync token, client-supplied base32hex ids
with 409 on a duplicate, etags and If-Match with 412, 410 when deleting a
deleted event, deleted events with status "cancelled" (only the id is
guaranteed in incremental lists), extendedProperties, error bodies shaped
as Google's.

Recurring events. An event with "recurrence" (RFC 5545 lines) is a
series. Supported: one RRULE with FREQ=DAILY or WEEKLY, INTERVAL, COUNT or
UNTIL (a date, or a date-time: UTC with Z, else local), BYDAY (plain
weekdays, WEEKLY only) and WKST; EXDATE lines (VALUE=DATE, TZID=zone, or
UTC). Anything else (MONTHLY, BYMONTHDAY, RDATE, two RRULEs, ...) is
refused on insert, patch and update with 400 invalid "Invalid recurrence
rule.", never ignored. A timed series needs start.timeZone (else 400
required "Missing time zone definition for start time.") and is expanded
there with zoneinfo, keeping the wall time of its first start: 18:00 stays
18:00 across a DST change (a wall time in the spring gap moves on by the
gap). An all-day series (start.date) is expanded by days. Expansion stops
730 days after now or at 730 instances, whichever comes first, so an
unbounded rule ends there. COUNT counts the EXDATEs too; a first start
that BYDAY does not name is not an instance.

events.list with singleEvents=true gives instances in place of series:
id "{series id}_{original start in UTC, YYYYMMDDTHHMMSSZ}" (all-day:
"_YYYYMMDD"), recurringEventId, originalStartTime ({"dateTime",
"timeZone"} or {"date"}), start and end moved to the occurrence, no
recurrence, and the series' other fields, etag and updated. Without it
(or false) a series is listed as it is, over the span of its instances
for timeMin and timeMax. A full list gives the instances that overlap the
window; an incremental one (syncToken) gives every instance of a series
changed since: inserted, patched, or deleted (then all cancelled, in the
minimal form of a deleted event). Instances a patch does away with (a
rule cut short, times moved, "recurrence" null or []) become cancelled
exceptions, so incremental lists give them as cancelled.

An instance's id works with get, patch, update and delete (404 when it
names no instance). A patch or update stores an exception under that id,
which replaces the instance in lists; a delete stores a cancelled
exception, left out of lists but with showDeleted, and given to
incremental lists as id, etag, status, recurringEventId and
originalStartTime (all Google guarantees of one). Deleting a series
cancels its exceptions too. Exceptions are stored events: without
singleEvents they are listed beside their series, as Google does.
events.instances is not served.

Control endpoints for the tests live under /_emu/ (never counted):

  POST   /_emu/consent            {"email", "scopes": [..] | null, "deny"}
  POST   /_emu/fault              {"op", "status", "reason", "count",
                                   "retry_after", "delay", "after"}
  DELETE /_emu/faults
  POST   /_emu/revoke_user        {"email"}: the user removes our access
  POST   /_emu/expire_sync_tokens
  GET    /_emu/count?op=OP[&status=N]   a number (op "*" for all)
  POST   /_emu/reset_counts
  GET    /_emu/log                every counted request, as JSON
  GET    /_emu/grants             the grants and whether they are revoked
  GET    /_emu/tokens             every token issued (to look for leaks)
  GET    /_emu/calendars/{email}/events          every event, deleted too
  POST   /_emu/calendars/{email}/events          insert as the user would
  PATCH  /_emu/calendars/{email}/events/{id}     edit as the user would
  DELETE /_emu/calendars/{email}/events/{id}     delete as the user would
                                  (an instance's id: that one instance)
  POST   /_emu/calendars/{email}/bulk            {"count", "start",
                                   "step_minutes", "duration_minutes"}
  POST   /_emu/calendars/{id}/share  {"email", "role"}: the calendar id
                                  shared with that account as reader,
                                  freeBusyReader, writer or owner (events.list
                                  gives the role as accessRole; writes
                                  below writer: 403 requiredAccessLevel)

Operation names for faults and counts: oauth.auth, oauth.token (the code
exchange), oauth.refresh, oauth.revoke, oauth.userinfo, events.list,
events.insert, events.get, events.patch, events.update, events.delete.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCOPE_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
SCOPE_CAL = "https://www.googleapis.com/auth/calendar"
KNOWN_SCOPES = {
    "openid", "email", "profile", SCOPE_EMAIL,
    "https://www.googleapis.com/auth/userinfo.profile", SCOPE_CAL,
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.readonly",
}
CAL_SCOPES = {SCOPE_CAL, "https://www.googleapis.com/auth/calendar.events"}
# Sign-in scopes come together; granular consent can refuse the others.
SIGNIN_SCOPES = {"openid", "email", "profile", SCOPE_EMAIL}
READ_ONLY = {"kind", "etag", "created", "updated", "htmlLink", "iCalUID",
             "creator", "organizer", "sequence"}
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
SYNC_RESTRICTED = ("iCalUID", "orderBy", "privateExtendedProperty", "q",
                   "sharedExtendedProperty", "timeMin", "timeMax",
                   "updatedMin")
UTC = datetime.timezone.utc
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# A rule is expanded at most this far after now, and to at most this many
# instances (an unbounded rule would never end).
HORIZON_DAYS = 730
MAX_INSTANCES = 730
# An instance's id: its series' id, "_", its original start in UTC.
INSTANCE_ID = re.compile(r"^(.+)_(\d{8}(?:T\d{6}Z)?)$")
# Kept by events.update, which cannot change them.
INSTANCE_KEYS = ("recurringEventId", "originalStartTime")


def now_rfc3339():
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def parse_time(s):
    """RFC 3339 with an offset; None when it is not one."""
    if not isinstance(s, str) or not re.match(
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([Zz]|[+-]\d\d:\d\d)$",
            s):
        return None
    try:
        return datetime.datetime.fromisoformat(s.replace("z", "Z")
                                               .replace("Z", "+00:00"))
    except ValueError:
        return None


def event_bounds(ev):
    """The event's [start, end) as aware datetimes (all-day: UTC days)."""
    out = []
    for k in ("start", "end"):
        v = ev.get(k) or {}
        if "dateTime" in v:
            out.append(parse_time(v["dateTime"]))
        elif "date" in v:
            d = datetime.date.fromisoformat(v["date"])
            out.append(datetime.datetime(d.year, d.month, d.day,
                                         tzinfo=datetime.timezone.utc))
        else:
            out.append(None)
    return out


def rule_error():
    return ApiError(400, "invalid", "Invalid recurrence rule.")


def zone(name, which):
    """The zoneinfo zone of start.timeZone or end.timeZone."""
    try:
        if not isinstance(name, str) or not name:
            raise ValueError(name)
        return zoneinfo.ZoneInfo(name)
    except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
        raise ApiError(400, "invalid", "Invalid time zone definition for "
                       "%s time." % which)


def ical_time(s, tz):
    """An iCalendar DATE (a date) or DATE-TIME (aware: UTC with Z, else
    local to tz); None when it is neither."""
    m = re.match(r"^(\d{4})(\d\d)(\d\d)(?:T(\d\d)(\d\d)(\d\d)(Z?))?$", s)
    if not m:
        return None
    try:
        v = [int(x) for x in m.groups()[:6] if x is not None]
        if len(v) == 3:
            return datetime.date(*v)
        return datetime.datetime(*v, tzinfo=UTC if m.group(7) else tz)
    except ValueError:
        return None


class Series:
    """A recurring event's rule, read from its master: where the instances
    fall. An instance's original start is a date (all-day) or an aware
    datetime in the series' zone, built from the local wall time of the
    first start, so 18:00 stays 18:00 across a DST change.

    Supported: one RRULE with FREQ=DAILY|WEEKLY, INTERVAL, COUNT or UNTIL,
    BYDAY (plain weekdays, WEEKLY only), WKST; EXDATE lines. Anything else
    raises 400 invalid "Invalid recurrence rule."."""

    def __init__(self, ev):
        start, end = ev.get("start") or {}, ev.get("end") or {}
        self.allday = "date" in start
        if self.allday:
            if "date" not in end:
                raise ApiError(400, "required", "Missing or invalid time.")
            self.tz = None
            self.first = datetime.date.fromisoformat(start["date"])
            self.length = datetime.date.fromisoformat(end["date"]) - \
                self.first
        else:
            if not start.get("timeZone"):
                raise ApiError(400, "required", "Missing time zone "
                               "definition for start time.")
            self.tz = zone(start["timeZone"], "start")
            self.tz_name = start["timeZone"]
            self.end_tz_name = end.get("timeZone") or start["timeZone"]
            self.end_tz = zone(self.end_tz_name, "end")
            s, e = event_bounds(ev)
            self.first = s.astimezone(self.tz)
            self.length = e - s
        self.freq = None
        self.interval = 1
        self.count = self.until = self.byday = None
        self.wkst = 0
        self.exdates = set()  # dates, and instants in UTC
        lines = ev.get("recurrence")
        if not isinstance(lines, list) or not all(isinstance(x, str)
                                                  for x in lines):
            raise rule_error()
        for line in lines:
            name, sep, value = line.partition(":")
            params = name.split(";")
            prop = params[0].upper()
            if not sep or not value:
                raise rule_error()
            if prop == "RRULE" and self.freq is None and len(params) == 1:
                self.parse_rrule(value)
            elif prop == "EXDATE":
                self.parse_exdate(params[1:], value)
            else:
                # A second RRULE, RDATE, EXRULE: not expanded here.
                raise rule_error()
        if self.freq is None:
            raise rule_error()

    def parse_rrule(self, value):
        seen = {}
        for part in value.upper().split(";"):
            k, sep, v = part.partition("=")
            if not sep or not v or k in seen:
                raise rule_error()
            seen[k] = v
        for k, v in seen.items():
            if k == "FREQ" and v in ("DAILY", "WEEKLY"):
                self.freq = v
            elif k in ("INTERVAL", "COUNT") and re.match(r"^\d{1,6}$", v) \
                    and int(v) > 0:
                setattr(self, k.lower(), int(v))
            elif k == "UNTIL" and ical_time(v, self.tz) is not None:
                self.until = ical_time(v, self.tz)
            elif k == "BYDAY" and all(d in WEEKDAYS for d in v.split(",")):
                self.byday = {WEEKDAYS.index(d) for d in v.split(",")}
            elif k == "WKST" and v in WEEKDAYS:
                self.wkst = WEEKDAYS.index(v)
            else:
                raise rule_error()
        # RFC 5545: COUNT and UNTIL never together; BYDAY only weekly here.
        if self.freq is None or self.count and self.until or \
                self.byday and self.freq != "WEEKLY":
            raise rule_error()

    def parse_exdate(self, params, value):
        tz = self.tz
        for p in params:
            k, _, v = p.partition("=")
            if k.upper() == "TZID":
                tz = zone(v, "start")
            elif k.upper() != "VALUE" or v.upper() not in ("DATE",
                                                          "DATE-TIME"):
                raise rule_error()
        for s in value.split(","):
            t = ical_time(s, tz)
            if t is None or isinstance(t, datetime.datetime) and \
                    t.tzinfo is None:
                raise rule_error()
            self.exdates.add(t.astimezone(UTC)
                             if isinstance(t, datetime.datetime) else t)

    def days(self):
        """The dates the rule names, from the first start's on, forever."""
        d0 = self.first if self.allday else self.first.date()
        if self.freq == "DAILY":
            k = 0
            while True:
                yield d0 + datetime.timedelta(days=k * self.interval)
                k += 1
        week = d0 - datetime.timedelta(days=(d0.weekday() - self.wkst) % 7)
        wanted = self.byday or {d0.weekday()}
        while True:
            for off in range(7):
                d = week + datetime.timedelta(days=off)
                if d >= d0 and d.weekday() in wanted:
                    yield d
            week += datetime.timedelta(weeks=self.interval)

    def starts(self):
        """The instances' original starts, in order: up to COUNT (which
        counts the EXDATEs too, as RFC 5545 says) or UNTIL, and never past
        the horizon or MAX_INSTANCES; the EXDATEs left out."""
        horizon = datetime.datetime.now(UTC) + datetime.timedelta(
            days=HORIZON_DAYS)
        n = 0
        for d in self.days():
            if self.allday:
                start = d
            else:
                # A wall time in a DST gap moves on by the gap.
                start = datetime.datetime.combine(
                    d, self.first.time(), self.tz).astimezone(
                        UTC).astimezone(self.tz)
            if self.bounds(start)[0] >= horizon or n >= MAX_INSTANCES:
                return
            if self.until is not None and self.past_until(start):
                return
            n += 1
            if self.count is not None and n > self.count:
                return
            if not self.excluded(start):
                yield start

    def past_until(self, start):
        u = self.until
        if isinstance(u, datetime.datetime):
            return start > u.date() if self.allday else start > u
        return (start if self.allday else start.date()) > u

    def excluded(self, start):
        if self.allday:
            return start in self.exdates
        return start.astimezone(UTC) in self.exdates or \
            start.date() in self.exdates

    def bounds(self, start):
        """An instance's [start, end) like event_bounds."""
        if self.allday:
            s = datetime.datetime(start.year, start.month, start.day,
                                  tzinfo=UTC)
            return s, s + self.length
        return start, start + self.length

    def stamp(self, start):
        """The instance id's suffix: the original start in UTC."""
        if self.allday:
            return start.strftime("%Y%m%d")
        return start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def instance(self, master, start):
        """The instance of master at start: the master's fields moved to
        that occurrence, without its recurrence."""
        ev = {k: copy.deepcopy(v) for k, v in master.items()
              if k != "recurrence"}
        ev["id"] = master["id"] + "_" + self.stamp(start)
        ev["recurringEventId"] = master["id"]
        if self.allday:
            ev["originalStartTime"] = {"date": start.isoformat()}
            ev["start"] = {"date": start.isoformat()}
            ev["end"] = {"date": (start + self.length).isoformat()}
            return ev
        end = (start.astimezone(UTC) + self.length).astimezone(self.end_tz)
        ev["originalStartTime"] = {"dateTime": start.isoformat(),
                                   "timeZone": self.tz_name}
        ev["start"] = {"dateTime": start.isoformat(),
                       "timeZone": self.tz_name}
        ev["end"] = {"dateTime": end.isoformat(),
                     "timeZone": self.end_tz_name}
        return ev


class ApiError(Exception):
    def __init__(self, code, reason, message, domain="global", extra=None,
                 headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.domain = domain
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self):
        err = {"domain": self.domain, "reason": self.reason,
               "message": self.message}
        err.update(self.extra)
        return {"error": {"errors": [err], "code": self.code,
                          "message": self.message}}


class OAuthError(Exception):
    def __init__(self, code, error, description):
        super().__init__(description)
        self.code = code
        self.error = error
        self.description = description


class Calendar:
    def __init__(self, email):
        self.email = email
        self.events = {}  # id -> event resource
        self.seqs = {}  # id -> change sequence of its last change
        self.seq = 0
        self.pages = {}  # page token -> (ids, offset, snap, incremental)
        self.acl = {}  # email of another account -> its role here

    def touch(self, ev):
        self.seq += 1
        self.seqs[ev["id"]] = self.seq
        ev["etag"] = '"%d"' % (3180000000000000 + self.seq)
        ev["updated"] = now_rfc3339()


class Emu:
    def __init__(self, client_id, client_secret, ttl, zone):
        self.lock = threading.Lock()
        self.client_id = client_id
        self.client_secret = client_secret
        self.ttl = ttl
        self.zone = zone
        self.consent = {"email": "operator@gmail.test", "scopes": None,
                        "deny": False}
        self.codes = {}
        self.grants = {}
        self.refresh = {}
        self.access = {}
        self.calendars = {}
        self.faults = []
        self.counts = {}
        self.log = []
        self.epoch = 1

    # ---- bookkeeping ----

    def count(self, op, status):
        for k in (op, "%s %d" % (op, status), "*", "* %d" % status):
            self.counts[k] = self.counts.get(k, 0) + 1

    def take_fault(self, op):
        for f in self.faults:
            if f["op"] in (op, "*") and f["count"] > 0:
                f["count"] -= 1
                return dict(f)
        return None

    def calendar(self, email):
        cal = self.calendars.get(email)
        if cal is None:
            cal = self.calendars[email] = Calendar(email)
        return cal

    # ---- OAuth ----

    def authorize(self, q):
        def one(k):
            return q.get(k, [None])[0]
        if one("client_id") != self.client_id:
            raise OAuthError(401, "invalid_client", "The OAuth client was "
                             "not found.")
        redirect = one("redirect_uri") or ""
        if not re.match(r"^http://(127\.0\.0\.1|\[::1\]|localhost)"
                        r"(:\d+)?(/[^?#]*)?$", redirect):
            raise OAuthError(400, "redirect_uri_mismatch",
                             "redirect_uri must be a loopback address")
        if one("response_type") != "code":
            raise OAuthError(400, "unsupported_response_type",
                             "response_type must be code")
        scopes = (one("scope") or "").split()
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            raise OAuthError(400, "invalid_scope", "Some requested scopes "
                             "were invalid.")
        method = one("code_challenge_method") or "plain"
        challenge = one("code_challenge")
        if challenge is None or method != "S256" or not re.match(
                r"^[A-Za-z0-9_-]{43}$", challenge):
            raise OAuthError(400, "invalid_request", "PKCE with "
                             "code_challenge_method=S256 is required")
        state = one("state")
        params = {}
        if state is not None:
            params["state"] = state
        if self.consent["deny"]:
            params["error"] = "access_denied"
        else:
            allowed = self.consent["scopes"]
            granted = [s for s in scopes if allowed is None or s in allowed
                       or s in SIGNIN_SCOPES and "openid" in allowed]
            code = "4/0" + secrets.token_urlsafe(32)
            self.codes[code] = {
                "redirect_uri": redirect, "challenge": challenge,
                "scopes": granted, "email": self.consent["email"],
                "offline": one("access_type") == "offline",
                "expires": time.time() + 600, "used": False,
            }
            params["code"] = code
            params["scope"] = " ".join(granted)
            params["authuser"] = "0"
            params["prompt"] = one("prompt") or "none"
        params["iss"] = "https://accounts.google.com"
        sep = "&" if "?" in redirect else "?"
        return redirect + sep + urllib.parse.urlencode(params)

    def check_client(self, form):
        cid = form.get("client_id")
        if cid != self.client_id:
            raise OAuthError(401, "invalid_client", "The OAuth client was "
                             "not found.")
        if self.client_secret and form.get("client_secret") != \
                self.client_secret:
            raise OAuthError(401, "invalid_client", "Unauthorized")

    def new_access(self, grant_id):
        tok = "ya29.emu-" + secrets.token_urlsafe(32)
        self.access[tok] = (grant_id, time.time() + self.ttl)
        return tok

    def id_token(self, grant):
        def b64(d):
            return base64.urlsafe_b64encode(
                json.dumps(d).encode()).rstrip(b"=").decode()
        payload = {"iss": "https://accounts.google.com",
                   "aud": self.client_id, "sub": grant["sub"],
                   "iat": int(time.time()), "exp": int(time.time()) + 3600}
        if SCOPE_EMAIL in grant["scopes"] or "email" in grant["scopes"]:
            payload["email"] = grant["email"]
            payload["email_verified"] = True
        return b64({"alg": "none", "typ": "JWT"}) + "." + b64(payload) + "."

    def token(self, form, fault):
        self.check_client(form)
        gt = form.get("grant_type")
        if gt == "authorization_code":
            c = self.codes.get(form.get("code") or "")
            if c is None or c["used"] or c["expires"] < time.time():
                raise OAuthError(400, "invalid_grant", "Malformed auth "
                                 "code.")
            c["used"] = True
            if form.get("redirect_uri") != c["redirect_uri"]:
                raise OAuthError(400, "redirect_uri_mismatch", "Bad "
                                 "Request")
            verifier = form.get("code_verifier") or ""
            digest = base64.urlsafe_b64encode(hashlib.sha256(
                verifier.encode()).digest()).rstrip(b"=").decode()
            if not re.match(r"^[A-Za-z0-9._~-]{43,128}$", verifier) or \
                    digest != c["challenge"]:
                raise OAuthError(400, "invalid_grant", "Invalid code "
                                 "verifier.")
            gid = secrets.token_hex(8)
            sub = str(int(hashlib.sha256(c["email"].encode()).hexdigest()
                          [:15], 16))
            grant = {"email": c["email"], "scopes": c["scopes"],
                     "revoked": False, "sub": sub}
            self.grants[gid] = grant
            out = {"access_token": self.new_access(gid),
                   "expires_in": self.ttl, "scope": " ".join(c["scopes"]),
                   "token_type": "Bearer", "id_token": self.id_token(grant)}
            if c["offline"]:
                rt = "1//emu-" + secrets.token_urlsafe(40)
                self.refresh[rt] = gid
                out["refresh_token"] = rt
            return out
        if gt == "refresh_token":
            gid = self.refresh.get(form.get("refresh_token") or "")
            if fault is not None and fault.get("reason") == "invalid_grant":
                gid = None
            if gid is None or self.grants[gid]["revoked"]:
                raise OAuthError(400, "invalid_grant", "Token has been "
                                 "expired or revoked.")
            grant = self.grants[gid]
            return {"access_token": self.new_access(gid),
                    "expires_in": self.ttl,
                    "scope": " ".join(grant["scopes"]),
                    "token_type": "Bearer", "id_token": self.id_token(grant)}
        raise OAuthError(400, "unsupported_grant_type", "Invalid "
                         "grant_type: %s" % gt)

    def revoke(self, tok):
        gid = self.refresh.get(tok)
        if gid is None and tok in self.access:
            gid = self.access[tok][0]
        if gid is None or self.grants[gid]["revoked"]:
            raise OAuthError(400, "invalid_token", "Token expired or "
                             "revoked")
        self.grants[gid]["revoked"] = True

    def bearer(self, headers):
        h = headers.get("Authorization") or ""
        if not h.startswith("Bearer "):
            return None
        a = self.access.get(h[7:])
        if a is None or a[1] < time.time():
            return None
        grant = self.grants[a[0]]
        return None if grant["revoked"] else grant

    # ---- the Calendar API ----

    def api_grant(self, headers, cal_id):
        grant = self.bearer(headers)
        if grant is None:
            raise ApiError(401, "authError", "Invalid Credentials",
                           extra={"locationType": "header",
                                  "location": "Authorization"})
        if not CAL_SCOPES & set(grant["scopes"]):
            raise ApiError(403, "insufficientPermissions", "Request had "
                           "insufficient authentication scopes.")
        if cal_id in ("primary", grant["email"]):
            return self.calendar(grant["email"]), "owner"
        # Another's calendar shared with the account.
        cal = self.calendars.get(cal_id)
        role = cal and cal.acl.get(grant["email"])
        if not role:
            raise ApiError(404, "notFound", "Not Found")
        return cal, role

    def check_times(self, ev):
        start, end = event_bounds(ev)
        if start is None or end is None:
            raise ApiError(400, "required", "Missing or invalid time.")
        if end < start:
            raise ApiError(400, "timeRangeEmpty", "The specified time range "
                           "is empty.", domain="calendar",
                           extra={"locationType": "parameter",
                                  "location": "end"})
        self.series(ev)

    def series(self, ev):
        """ev's Series when it is a recurring event (400 when its rule or
        zone will not do), else None."""
        if not ev.get("recurrence") or ev.get("recurringEventId"):
            return None
        return Series(ev)

    def occurrence(self, cal, eid):
        """(master, its Series, original start) for the id of an instance
        of a recurring event, else None."""
        m = INSTANCE_ID.match(eid)
        master = m and cal.events.get(m.group(1))
        ser = master and self.series(master)
        if not ser:
            return None
        for start in ser.starts():
            if ser.stamp(start) == m.group(2):
                return master, ser, start
        return None

    def insert(self, cal, body):
        if not isinstance(body, dict):
            raise ApiError(400, "parseError", "Parse Error")
        eid = body.get("id")
        if eid is not None:
            if not isinstance(eid, str) or not EVENT_ID.match(eid):
                raise ApiError(400, "invalid", "Invalid resource id value.")
            if eid in cal.events:
                raise ApiError(409, "duplicate", "The requested identifier "
                               "already exists.")
        else:
            eid = base64.b32hexencode(secrets.token_bytes(15)).decode() \
                .lower()
        # An instance is made by its series, never inserted.
        ev = {k: copy.deepcopy(v) for k, v in body.items()
              if k not in READ_ONLY and k not in INSTANCE_KEYS}
        ev["id"] = eid
        self.check_times(ev)
        now = now_rfc3339()
        ev.update({
            "kind": "calendar#event", "created": now,
            "htmlLink": "https://www.google.com/calendar/event?eid=" +
            base64.b64encode(("%s %s" % (eid, cal.email)).encode())
            .decode().rstrip("="),
            "iCalUID": eid + "@google.com", "sequence": 0,
            "creator": {"email": cal.email, "self": True},
            "organizer": {"email": cal.email, "self": True},
        })
        ev.setdefault("status", "confirmed")
        ev.setdefault("reminders", {"useDefault": True})
        ev.setdefault("eventType", "default")
        cal.events[eid] = ev
        cal.touch(ev)
        return ev

    def find(self, cal, eid):
        """The event eid: stored (an event, a series, an exception), or an
        instance of a series made for the asking."""
        ev = cal.events.get(eid)
        if ev is None:
            occ = self.occurrence(cal, eid)
            if occ is None:
                raise ApiError(404, "notFound", "Not Found")
            master, ser, start = occ
            ev = ser.instance(master, start)
        return ev

    def check_match(self, ev, if_match):
        if if_match is not None and if_match != "*" and \
                if_match != ev["etag"]:
            raise ApiError(412, "conditionNotMet", "Precondition Failed",
                           extra={"locationType": "header",
                                  "location": "If-Match"})

    def modify(self, cal, eid, body, if_match, replace):
        if not isinstance(body, dict):
            raise ApiError(400, "parseError", "Parse Error")
        # An instance edited becomes an exception, stored under its id.
        ev = self.find(cal, eid)
        self.check_match(ev, if_match)
        new = copy.deepcopy(ev)
        if replace:
            for k in list(new):
                if k not in READ_ONLY and k != "id" and \
                        k not in INSTANCE_KEYS:
                    del new[k]
            new["status"] = "confirmed"
        for k, v in body.items():
            if k in READ_ONLY or k == "id" or k in INSTANCE_KEYS:
                continue
            # One instance of a series does not recur on its own.
            if k == "recurrence" and "recurringEventId" in new:
                continue
            if v is None or k == "recurrence" and v == []:
                # Patch semantics: null clears a field; no rule, no series.
                new.pop(k, None)
            elif k not in ("start", "end") and isinstance(v, dict) and \
                    isinstance(new.get(k), dict):
                merge(new[k], v)
            else:
                new[k] = copy.deepcopy(v)
        self.check_times(new)
        if event_bounds(new) != event_bounds(ev):
            new["sequence"] = ev.get("sequence", 0) + 1
        was = self.series(ev)
        cal.events[eid] = new
        cal.touch(new)
        if was is not None:
            self.prune(cal, ev, was, self.series(new))
        return new

    def prune(self, cal, ev, was, now):
        """After series ev changed from was to now (a Series or None): its
        instances that are no more (the rule shortened, the times moved,
        the repetition removed) become cancelled exceptions, so that an
        incremental list gives them as cancelled, as Google does."""
        keep = {now.stamp(s) for s in now.starts()} if now else set()
        for start in was.starts():
            iid = ev["id"] + "_" + was.stamp(start)
            if was.stamp(start) in keep:
                continue
            x = cal.events.get(iid)
            if x is None:
                x = cal.events[iid] = was.instance(ev, start)
            elif x.get("status") == "cancelled":
                continue
            x["status"] = "cancelled"
            cal.touch(x)

    def delete(self, cal, eid):
        """Cancels the event; for one instance of a series, a cancelled
        exception; for a series, its exceptions too."""
        ev = self.find(cal, eid)
        if ev.get("status") == "cancelled":
            raise ApiError(410, "deleted", "Resource has been deleted")
        cal.events[eid] = ev
        ev["status"] = "cancelled"
        cal.touch(ev)
        if self.series(ev):
            for x in list(cal.events.values()):
                if x.get("recurringEventId") == eid and \
                        x.get("status") != "cancelled":
                    x["status"] = "cancelled"
                    cal.touch(x)

    def sync_token(self, cal, seq):
        raw = "%d:%s:%d" % (self.epoch, cal.email, seq)
        return "CPDAlvWDx70CEPDAlvWDx70CGAU" + base64.urlsafe_b64encode(
            raw.encode()).decode()

    def parse_sync(self, cal, tok):
        try:
            raw = base64.urlsafe_b64decode(
                tok[len("CPDAlvWDx70CEPDAlvWDx70CGAU"):]).decode()
            epoch, email, seq = raw.rsplit(":", 2)
            if int(epoch) != self.epoch or email != cal.email or \
                    int(seq) > cal.seq:
                return None
            return int(seq)
        except (ValueError, UnicodeDecodeError):
            return None

    def refs(self, cal, i, single, every):
        """What stored event i shows in a list: itself, or with
        singleEvents a series' instances as (id, Series, start), in order.
        Those an exception replaces come as the exception's id when every
        is true, else not at all (the exception is listed on its own)."""
        ser = self.series(cal.events[i]) if single else None
        if ser is None:
            return [i]
        out = []
        for start in ser.starts():
            iid = i + "_" + ser.stamp(start)
            if iid not in cal.events:
                out.append((i, ser, start))
            elif every:
                out.append(iid)
        return out

    def facts(self, cal, ref):
        """A list entry's status, [start, end) and updated time; a series
        listed whole spans its instances."""
        if isinstance(ref, tuple):
            i, ser, start = ref
            master = cal.events[i]
            return (master.get("status"),) + ser.bounds(start) + \
                (master["updated"],)
        ev = cal.events[ref]
        ser = self.series(ev)
        starts = list(ser.starts()) if ser else []
        if starts:
            s, e = ser.bounds(starts[0])[0], ser.bounds(starts[-1])[1]
        else:
            s, e = event_bounds(ev)
        return ev.get("status"), s, e, ev["updated"]

    def render(self, cal, ref, minimal):
        if isinstance(ref, tuple):
            i, ser, start = ref
            ev = ser.instance(cal.events[i], start)
        else:
            ev = copy.deepcopy(cal.events[ref])
        if minimal and ev.get("status") == "cancelled":
            out = {"kind": "calendar#event", "etag": ev["etag"],
                   "id": ev["id"], "status": "cancelled"}
            # A cancelled exception of a live series also says which
            # instance it cancels: all Google guarantees of it.
            master = cal.events.get(ev.get("recurringEventId"))
            if master is not None and master.get("status") != "cancelled":
                for k in INSTANCE_KEYS:
                    out[k] = ev[k]
            return out
        return ev

    def list(self, cal, q, role="owner"):
        def one(k):
            return q.get(k, [None])[0]
        try:
            n = int(one("maxResults") or 250)
        except ValueError:
            raise ApiError(400, "invalid", "Invalid value for maxResults")
        if n < 1:
            raise ApiError(400, "invalid", "Invalid value for maxResults")
        n = min(n, 2500)
        # Instances of recurring events instead of the series themselves.
        single = one("singleEvents") == "true"
        page = one("pageToken")
        if page is not None:
            st = cal.pages.pop(page, None)
            if st is None:
                raise ApiError(400, "invalid", "Invalid page token value.")
            ids, off, snap, incremental = st
        else:
            tok = one("syncToken")
            if tok is not None:
                if any(one(k) is not None for k in SYNC_RESTRICTED) or \
                        one("showDeleted") == "false":
                    raise ApiError(400, "syncTokenWithRequestRestrictions",
                                   "Sync token cannot be used with other "
                                   "request restrictions.")
                since = self.parse_sync(cal, tok)
                if since is None:
                    raise ApiError(410, "fullSyncRequired", "Sync token is "
                                   "no longer valid, a full sync is "
                                   "required.")
                # A changed series brings all its instances.
                ids, seen = [], set()
                for i in sorted((i for i, s in cal.seqs.items()
                                 if s > since), key=lambda i: cal.seqs[i]):
                    for r in self.refs(cal, i, single, True):
                        key = r if isinstance(r, str) else \
                            r[0] + "_" + r[1].stamp(r[2])
                        if key not in seen:
                            seen.add(key)
                            ids.append(r)
                incremental = True
            else:
                tmin = tmax = umin = None
                for k in ("timeMin", "timeMax", "updatedMin"):
                    if one(k) is not None and parse_time(one(k)) is None:
                        raise ApiError(400, "invalid", "Bad Request",
                                       extra={"locationType": "parameter",
                                              "location": k})
                if one("timeMin"):
                    tmin = parse_time(one("timeMin"))
                if one("timeMax"):
                    tmax = parse_time(one("timeMax"))
                if one("updatedMin"):
                    umin = parse_time(one("updatedMin"))
                if tmin and tmax and tmax <= tmin:
                    raise ApiError(400, "timeRangeEmpty", "The specified "
                                   "time range is empty.", domain="calendar",
                                   extra={"locationType": "parameter",
                                          "location": "timeMax"})
                deleted = one("showDeleted") == "true" or umin is not None
                ids = []
                for i in sorted(cal.events, key=lambda i: cal.seqs[i]):
                    for r in self.refs(cal, i, single, False):
                        status, s, e, updated = self.facts(cal, r)
                        if status == "cancelled" and not deleted:
                            continue
                        if tmin and e <= tmin or tmax and s >= tmax:
                            continue
                        if umin and parse_time(updated) < umin:
                            continue
                        ids.append(r)
                incremental = umin is not None
            off, snap = 0, cal.seq
        chunk = ids[off:off + n]
        out = {"kind": "calendar#events", "etag": '"p%d"' % cal.seq,
               "summary": cal.email, "description": "",
               "updated": now_rfc3339(), "timeZone": self.zone,
               "accessRole": role,
               "defaultReminders": [{"method": "popup", "minutes": 10}],
               "items": [self.render(cal, r, incremental) for r in chunk]}
        if off + n < len(ids):
            ptok = secrets.token_urlsafe(24)
            cal.pages[ptok] = (ids, off + n, snap, incremental)
            out["nextPageToken"] = ptok
        else:
            out["nextSyncToken"] = self.sync_token(cal, snap)
        return out


def merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gcal-emu/1"
    emu = None  # set in main

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----

    def body_bytes(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body=None, headers=None, ctype=None):
        if body is None:
            data = b""
        elif isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
        else:
            data = json.dumps(body).encode()
            ctype = ctype or "application/json; charset=UTF-8"
        self.send_response(status)
        if data or status != 204:
            self.send_header("Content-Type", ctype or
                             "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def split(self):
        u = urllib.parse.urlsplit(self.path)
        return u.path, urllib.parse.parse_qs(u.query, keep_blank_values=True)

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        path, q = self.split()
        raw = self.body_bytes()
        try:
            if path.startswith("/_emu/"):
                self.control(method, path, q, raw)
            else:
                self.public(method, path, q, raw)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ---- the public endpoints ----

    def operation(self, method, path):
        if path == "/o/oauth2/v2/auth" and method == "GET":
            return "oauth.auth", None
        if path == "/token" and method == "POST":
            return "oauth.token", None
        if path == "/revoke" and method == "POST":
            return "oauth.revoke", None
        if path in ("/v1/userinfo", "/oauth2/v3/userinfo") and \
                method == "GET":
            return "oauth.userinfo", None
        m = re.match(r"^/calendar/v3/calendars/([^/]+)/events(?:/([^/]+))?$",
                     path)
        if m:
            cal = urllib.parse.unquote(m.group(1))
            eid = m.group(2) and urllib.parse.unquote(m.group(2))
            ops = {("GET", False): "events.list",
                   ("POST", False): "events.insert",
                   ("GET", True): "events.get",
                   ("PATCH", True): "events.patch",
                   ("PUT", True): "events.update",
                   ("DELETE", True): "events.delete"}
            op = ops.get((method, eid is not None))
            if op:
                return op, (cal, eid)
        return None, None

    def public(self, method, path, q, raw):
        emu = self.emu
        op, args = self.operation(method, path)
        if op is None:
            self.send(404, {"error": {"code": 404, "message": "Not Found"}})
            return
        form = {}
        if op.startswith("oauth.") and method == "POST":
            form = {k: v[0] for k, v in urllib.parse.parse_qs(
                raw.decode("utf-8", "replace"),
                keep_blank_values=True).items()}
            for k, v in q.items():
                form.setdefault(k, v[0])
            if op == "oauth.token" and form.get("grant_type") == \
                    "refresh_token":
                op = "oauth.refresh"
        with emu.lock:
            fault = emu.take_fault(op)
        if fault and fault.get("delay") and not fault.get("after"):
            time.sleep(fault["delay"])
        status, body, headers, ctype = self.serve(op, args, method, q, raw,
                                                  form, fault)
        with emu.lock:
            emu.count(op, status)
            emu.log.append({"op": op, "status": status, "method": method,
                            "path": path,
                            "query": {k: v[0] for k, v in q.items()}})
        if fault and fault.get("delay") and fault.get("after"):
            time.sleep(fault["delay"])
        self.send(status, body, headers, ctype)

    def serve(self, op, args, method, q, raw, form, fault):
        emu = self.emu
        injected = fault and fault.get("status")
        if injected and not (op == "oauth.refresh" and
                             fault.get("reason") == "invalid_grant"):
            code = fault["status"]
            headers = {}
            if fault.get("retry_after") is not None:
                headers["Retry-After"] = str(fault["retry_after"])
            if op.startswith("oauth."):
                return code, {"error": fault.get("reason") or
                              "temporarily_unavailable"}, headers, None
            reason = fault.get("reason") or {
                429: "rateLimitExceeded", 500: "backendError",
                503: "backendError"}.get(code, "backendError")
            msg = {"rateLimitExceeded": "Rate Limit Exceeded",
                   "userRateLimitExceeded": "User Rate Limit Exceeded",
                   "quotaExceeded": "Calendar usage limits exceeded.",
                   "dailyLimitExceeded": "Daily Limit Exceeded",
                   "backendError": "Backend Error"}.get(reason, reason)
            domain = "usageLimits" if "imit" in reason or "uota" in reason \
                else "global"
            return code, ApiError(code, reason, msg, domain=domain).body(), \
                headers, None
        try:
            with emu.lock:
                return self.serve_locked(op, args, method, q, raw, form,
                                         fault)
        except ApiError as e:
            return e.code, e.body(), e.headers, None
        except OAuthError as e:
            return e.code, {"error": e.error,
                            "error_description": e.description}, {}, None

    def serve_locked(self, op, args, method, q, raw, form, fault):
        emu = self.emu
        if op == "oauth.auth":
            try:
                loc = emu.authorize(q)
            except OAuthError as e:
                return e.code, "Error %d: %s\n%s\n" % (
                    e.code, e.error, e.description), {}, "text/html"
            return 302, "", {"Location": loc}, "text/html"
        if op in ("oauth.token", "oauth.refresh"):
            return 200, emu.token(form, fault), {"Cache-Control":
                                                 "no-store"}, None
        if op == "oauth.revoke":
            emu.revoke(form.get("token") or "")
            return 200, {}, {}, None
        if op == "oauth.userinfo":
            grant = emu.bearer(self.headers)
            if grant is None:
                raise OAuthError(401, "invalid_request", "Invalid "
                                 "Credentials")
            out = {"sub": grant["sub"]}
            if SCOPE_EMAIL in grant["scopes"] or \
                    "email" in grant["scopes"]:
                out["email"] = grant["email"]
                out["email_verified"] = True
            return 200, out, {}, None
        cal_id, eid = args
        cal, role = emu.api_grant(self.headers, cal_id)
        if method != "GET" and role not in ("writer", "owner"):
            raise ApiError(403, "requiredAccessLevel", "You need to have "
                           "writer access to this calendar.",
                           domain="calendar")
        body = None
        if method in ("POST", "PATCH", "PUT"):
            try:
                body = json.loads(raw.decode() or "null")
            except ValueError:
                raise ApiError(400, "parseError", "Parse Error")
        if op == "events.list":
            return 200, emu.list(cal, q, role), {}, None
        if op == "events.insert":
            ev = emu.insert(cal, body)
            return 200, ev, {"ETag": ev["etag"]}, None
        if op == "events.get":
            ev = emu.find(cal, eid)
            return 200, ev, {"ETag": ev["etag"]}, None
        if op in ("events.patch", "events.update"):
            ev = emu.modify(cal, eid, body, self.headers.get("If-Match"),
                            op == "events.update")
            return 200, ev, {"ETag": ev["etag"]}, None
        if op == "events.delete":
            emu.delete(cal, eid)
            return 204, None, {}, None
        raise ApiError(404, "notFound", "Not Found")

    # ---- control ----

    def control(self, method, path, q, raw):
        emu = self.emu
        try:
            data = json.loads(raw.decode() or "null")
        except ValueError:
            self.send(400, {"error": "bad JSON"})
            return
        with emu.lock:
            status, out = self.control_locked(method, path, q, data)
        self.send(status, out)

    def control_locked(self, method, path, q, data):
        emu = self.emu
        if path == "/_emu/consent" and method == "POST":
            emu.consent = {"email": data.get("email", "operator@gmail.test"),
                           "scopes": data.get("scopes"),
                           "deny": bool(data.get("deny"))}
            return 200, emu.consent
        if path == "/_emu/fault" and method == "POST":
            f = {"op": data["op"], "status": data.get("status"),
                 "reason": data.get("reason"),
                 "count": int(data.get("count", 1)),
                 "retry_after": data.get("retry_after"),
                 "delay": float(data.get("delay", 0)),
                 "after": bool(data.get("after"))}
            emu.faults.append(f)
            return 200, f
        if path == "/_emu/faults" and method == "DELETE":
            emu.faults = []
            return 200, {}
        if path == "/_emu/revoke_user" and method == "POST":
            n = 0
            for g in emu.grants.values():
                if g["email"] == data["email"] and not g["revoked"]:
                    g["revoked"] = True
                    n += 1
            return 200, {"revoked": n}
        if path == "/_emu/expire_sync_tokens" and method == "POST":
            emu.epoch += 1
            return 200, {"epoch": emu.epoch}
        if path == "/_emu/count" and method == "GET":
            op = q.get("op", ["*"])[0]
            st = q.get("status", [None])[0]
            key = op if st is None else "%s %s" % (op, st)
            return 200, emu.counts.get(key, 0)
        if path == "/_emu/reset_counts" and method == "POST":
            emu.counts = {}
            emu.log = []
            return 200, {}
        if path == "/_emu/log" and method == "GET":
            return 200, emu.log
        if path == "/_emu/tokens" and method == "GET":
            # Every token issued, for tests that look for leaks.
            return 200, {"refresh": sorted(emu.refresh),
                         "access": sorted(emu.access)}
        if path == "/_emu/grants" and method == "GET":
            return 200, [{"email": g["email"], "scopes": g["scopes"],
                          "revoked": g["revoked"]}
                         for g in emu.grants.values()]
        m = re.match(r"^/_emu/calendars/([^/]+)/(events|bulk|share)"
                     r"(?:/([^/]+))?$", path)
        if not m:
            return 404, {"error": "no such control endpoint"}
        cal = emu.calendar(urllib.parse.unquote(m.group(1)))
        if m.group(2) == "share" and method == "POST":
            cal.acl[data["email"]] = data.get("role", "reader")
            return 200, cal.acl
        eid = m.group(3)
        try:
            if m.group(2) == "bulk" and method == "POST":
                start = parse_time(data["start"])
                step = datetime.timedelta(minutes=data.get("step_minutes",
                                                           60))
                dur = datetime.timedelta(minutes=data.get(
                    "duration_minutes", 30))
                for i in range(int(data["count"])):
                    s = start + i * step
                    emu.insert(cal, {
                        "summary": "%s %d" % (data.get("summary", "Busy"), i),
                        "start": {"dateTime": s.isoformat()},
                        "end": {"dateTime": (s + dur).isoformat()}})
                return 200, {"count": len(cal.events)}
            if eid is None and method == "GET":
                return 200, [cal.events[i] for i in
                             sorted(cal.events, key=lambda i: cal.seqs[i])]
            if eid is None and method == "POST":
                return 200, emu.insert(cal, data)
            if eid is not None and method == "PATCH":
                return 200, emu.modify(cal, eid, data, None, False)
            if eid is not None and method == "DELETE":
                emu.delete(cal, eid)
                return 200, {}
        except ApiError as e:
            return e.code, e.body()
        return 404, {"error": "no such control endpoint"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--client-id", default="riserva-test.apps.example")
    ap.add_argument("--client-secret", default="")
    ap.add_argument("--token-ttl", type=int, default=3599)
    ap.add_argument("--zone", default="Europe/Rome")
    a = ap.parse_args()
    Handler.emu = Emu(a.client_id, a.client_secret, a.token_ttl, a.zone)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(a.port_file + ".tmp", a.port_file)
    print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
