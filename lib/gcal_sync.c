/*
 * gcal_sync.c — one operator's two-way sync. Pull: Google's changes since
 * the sync token (every page, applied in one transaction with the new
 * token), or on 410 a full resync of a bounded window that never touches a
 * booking. Push: events of bookings through the outbox, with our own ids
 * (a crash after an insert cannot duplicate: 409 adopts), If-Match on
 * updates, riserva winning for the fields it owns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "gcal.h"
#include "http.h"
#include "banned.h"

/* A full resync reads at most this many pages (of up to 2500 events). */
#define MAX_PAGES 400
/* Generations tried for a booking's event id before giving up. */
#define MAX_GENERATIONS 8
/* Google's event ids have up to 1024 characters; an occurrence of a
 * recurring event adds "_" and its original start, 20261201T170000Z. */
#define GOOGLE_ID_MAX (1024 + 17)

struct link {
	int64_t id, appt;
	char google_id[GOOGLE_ID_MAX + 1];
	int generation;
	char etag[256];
	char hash[65];
	char state[8];
};

/* What riserva wants on Google for a booking. */
struct want {
	int64_t id, staff_id, client_id, start, end;
	int64_t version;	/* of the booking, when it was read */
	char status[16];
	int live;
	struct rv_buf summary;
	char hash[65];
};

struct run {
	struct gcal *g;
	struct gsess s;
	int64_t staff_id;
	char staff_email[256];
	char inst_hex[17];
	struct gcal_report *r;
};

static void
note(struct run *x, const char *fmt, ...) RV_PRINTF(2, 3);

static void
note(struct run *x, const char *fmt, ...)
{
	char msg[512];
	int n;
	va_list ap;

	if (x->g->note == NULL)
		return;
	n = snprintf(msg, sizeof(msg), "%s: ", x->staff_email);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	x->g->note(x->g->note_arg, msg);
}

/* ---- the fields we own, and their hash ---- */

static void
owned_hash(const char *summary, int64_t start, int64_t end,
    const char *transparency, const char *visibility, char out[65])
{
	struct rv_buf b = { 0 };
	uint8_t d[32];

	buf_printf(&b, "%s\n%lld\n%lld\n%s\n%s", summary, (long long)start,
	    (long long)end, transparency, visibility);
	crypt_sha256(b.s, b.len, d);
	crypt_hex(d, sizeof(d), out);
	buf_free(&b);
}

/* A Google event's start or end: its dateTime, or an all-day date as the
 * centre's local midnight. 0 when it has neither. */
static int
ev_time(json_t *ev, const char *key, int64_t *t)
{
	json_t *o = json_object_get(ev, key);
	const char *s;
	int y, m, d;

	if ((s = json_string_value(json_object_get(o, "dateTime"))) != NULL)
		return tm_parse(s, t, NULL) == 0;
	if ((s = json_string_value(json_object_get(o, "date"))) != NULL &&
	    tm_parse_date(s, &y, &m, &d, NULL) == 0) {
		*t = tm_day_start(y, m, d);
		return 1;
	}
	return 0;
}

static const char *
str_or(json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : def;
}

static void
google_hash(json_t *ev, char out[65])
{
	int64_t start = 0, end = 0;

	ev_time(ev, "start", &start);
	ev_time(ev, "end", &end);
	owned_hash(str_or(ev, "summary", ""), start, end,
	    str_or(ev, "transparency", "opaque"),
	    str_or(ev, "visibility", "default"), out);
}

static void
render_title(struct gcal *g, const char *service, const char *name,
    const char *surname, struct rv_buf *out)
{
	struct rv_buf raw = { 0 };
	const char *p;
	size_t i;

	for (p = g->title_tpl; *p; p++) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' &&
		    p[1] == '}')) {
			buf_addc(&raw, *p++);
			continue;
		}
		if (*p != '{') {
			buf_addc(&raw, *p);
			continue;
		}
		if (strncmp(p, "{service}", 9) == 0) {
			buf_adds(&raw, service);
		} else if (strncmp(p, "{name}", 6) == 0) {
			buf_adds(&raw, name);
		} else if (strncmp(p, "{surname}", 9) == 0) {
			buf_adds(&raw, surname);
		} else if (strncmp(p, "{initial}", 9) == 0 && *surname) {
			/* One UTF-8 character, whatever its length. */
			unsigned char c = (unsigned char)*surname;
			size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 :
			    4;

			buf_add(&raw, surname, strnlen(surname, n));
		}
		p = strchr(p, '}');
	}
	/* Squeeze the spaces an empty field leaves. */
	buf_reset(out);
	for (i = 0; raw.s != NULL && raw.s[i]; i++) {
		if (raw.s[i] == ' ' && (out->len == 0 ||
		    out->s[out->len - 1] == ' '))
			continue;
		buf_addc(out, raw.s[i]);
	}
	while (out->len > 0 && out->s[out->len - 1] == ' ')
		out->s[--out->len] = '\0';
	if (out->len > 1000) {
		out->len = 1000;
		while (out->len > 0 && ((unsigned char)out->s[out->len] & 0xc0)
		    == 0x80)
			out->len--;
		out->s[out->len] = '\0';
	}
	buf_free(&raw);
}

static int
load_want(struct gcal *g, int64_t appt, struct want *w, int *found,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT a.staff_id, a.status, a.start, a.end, a.client_id, "
	    "c.name, c.surname, c.restricted, v.name, a.version "
	    "FROM appointment a "
	    "LEFT JOIN client c ON c.id = a.client_id "
	    "JOIN service v ON v.id = a.service_id WHERE a.id = ?";
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	buf_reset(&w->summary);
	if ((rc = db_cached(g->db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, appt);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = 1;
		w->id = appt;
		w->staff_id = sqlite3_column_int64(st, 0);
		snprintf(w->status, sizeof(w->status), "%s",
		    sqlite3_column_text(st, 1));
		w->start = sqlite3_column_int64(st, 2);
		w->end = sqlite3_column_int64(st, 3);
		w->client_id = sqlite3_column_int64(st, 4);
		w->version = sqlite3_column_int64(st, 9);
		w->live = strcmp(w->status, "cancelled") != 0;
		/* No name for an erased or restricted client: just busy. */
		if (sqlite3_column_type(st, 5) != SQLITE_NULL &&
		    !sqlite3_column_int(st, 7))
			render_title(g,
			    (const char *)sqlite3_column_text(st, 8),
			    (const char *)sqlite3_column_text(st, 5),
			    (const char *)sqlite3_column_text(st, 6),
			    &w->summary);
		if (w->summary.len == 0)
			buf_adds(&w->summary, g->busy_title);
		owned_hash(w->summary.s, w->start, w->end, "opaque", "private",
		    w->hash);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : db_fail(g->db, rc, e,
		    "appointment");
	}
	sqlite3_reset(st);
	return rc;
}

/* Only what the issue allows: the title, the times, busy, private, and
 * the booking's id where only we can read it. */
static json_t *
event_body(struct run *x, const struct want *w, const char *id)
{
	json_t *b = json_object(), *t, *priv;
	char ts[40], num[24];

	if (id != NULL)
		json_object_set_new(b, "id", json_string(id));
	json_object_set_new(b, "summary", json_string(w->summary.s));
	tm_rfc3339(w->start, ts);
	t = json_object();
	json_object_set_new(t, "dateTime", json_string(ts));
	json_object_set_new(t, "timeZone", json_string(tm_zone()));
	json_object_set_new(b, "start", t);
	tm_rfc3339(w->end, ts);
	t = json_object();
	json_object_set_new(t, "dateTime", json_string(ts));
	json_object_set_new(t, "timeZone", json_string(tm_zone()));
	json_object_set_new(b, "end", t);
	json_object_set_new(b, "transparency", json_string("opaque"));
	json_object_set_new(b, "visibility", json_string("private"));
	snprintf(num, sizeof(num), "%lld", (long long)w->id);
	priv = json_object();
	json_object_set_new(priv, "riserva_appointment", json_string(num));
	json_object_set_new(priv, "riserva_instance",
	    json_string(x->inst_hex));
	t = json_object();
	json_object_set_new(t, "private", priv);
	json_object_set_new(b, "extendedProperties", t);
	/* A booking is one appointment: an update also undoes a repetition
	 * added on Google (a patch's array replaces the one there). */
	if (id == NULL)
		json_object_set_new(b, "recurrence", json_array());
	return b;
}

/* ---- links ---- */

#define LINK_COLS "id, appointment_id, google_id, generation, etag, hash, " \
	"state"

static void
link_row(sqlite3_stmt *st, struct link *l)
{
	l->id = sqlite3_column_int64(st, 0);
	l->appt = sqlite3_column_int64(st, 1);
	snprintf(l->google_id, sizeof(l->google_id), "%s",
	    sqlite3_column_text(st, 2));
	l->generation = sqlite3_column_int(st, 3);
	snprintf(l->etag, sizeof(l->etag), "%s",
	    sqlite3_column_type(st, 4) == SQLITE_NULL ? "" :
	    (const char *)sqlite3_column_text(st, 4));
	snprintf(l->hash, sizeof(l->hash), "%s",
	    sqlite3_column_type(st, 5) == SQLITE_NULL ? "" :
	    (const char *)sqlite3_column_text(st, 5));
	snprintf(l->state, sizeof(l->state), "%s",
	    sqlite3_column_text(st, 6));
}

static int
link_by_google(struct run *x, const char *gid, struct link *l, int *found,
    struct rv_err *e)
{
	static const char sql[] = "SELECT " LINK_COLS " FROM gcal_link "
	    "WHERE staff_id = ? AND google_id = ?";
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	if ((rc = db_cached(x->g->db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, x->staff_id);
	sqlite3_bind_text(st, 2, gid, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		link_row(st, l);
		*found = 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    db_fail(x->g->db, rc, e, "calendar links");
}

/* The booking's own event (live or gone), on whichever calendar. */
static int
link_by_appt(struct run *x, int64_t appt, struct link *l, int64_t *staff,
    int *found, struct rv_err *e)
{
	static const char sql[] = "SELECT " LINK_COLS ", staff_id "
	    "FROM gcal_link WHERE appointment_id = ? AND state <> 'delete'";
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	if ((rc = db_cached(x->g->db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, appt);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		link_row(st, l);
		*staff = sqlite3_column_int64(st, 7);
		*found = 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    db_fail(x->g->db, rc, e, "calendar links");
}

/* Runs sql with ?1 = a (text or NULL) ... : a small helper for the link
 * updates, binding integers and texts by a format ("itt..."). */
static int
exec_fmt(sqlite3 *db, const char *sql, const char *fmt, int *changes,
    struct rv_err *e, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int i, rc;

	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	va_start(ap, e);
	for (i = 0; fmt[i]; i++) {
		if (fmt[i] == 'i')
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		else
			db_bind_text(st, i + 1, va_arg(ap, const char *));
	}
	va_end(ap);
	rc = sqlite3_step(st);
	if (changes != NULL)
		*changes = sqlite3_changes(db);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "calendar sync");
}

static int
audit_appt(struct run *x, const struct rv_who *w, const char *action,
    int64_t appt, const char *fields, struct rv_err *e)
{
	int64_t client = 0;
	char ref[40];
	int found, rc;

	if (appt > 0 && (rc = db_int(x->g->db, "SELECT client_id FROM "
	    "appointment WHERE id = ?", appt, &client, &found, e)) != 0)
		return rc;
	if (appt > 0)
		snprintf(ref, sizeof(ref), "appointment %lld",
		    (long long)appt);
	else
		snprintf(ref, sizeof(ref), "staff %lld",
		    (long long)x->staff_id);
	return audit_append(x->g->db, w, action, client, ref, fields, e);
}

/* A pushed event deleted on Google: the booking is never cancelled for
 * it, only marked for a human to look at. In the caller's transaction. */
static int
deleted_on_google(struct run *x, const struct link *l, struct rv_err *e)
{
	static const char gone[] =
	    "UPDATE gcal_link SET state = 'gone', updated = ?2 WHERE id = ?1";
	static const char drop[] = "DELETE FROM gcal_link WHERE id = ?1";
	static const char review[] =
	    "UPDATE appointment SET status = 'needs_review', "
	    "version = version + 1, updated = ?2 "
	    "WHERE id = ?1 AND status = 'booked'";
	struct rv_who w = *x->g->who;
	char status[16] = "";
	sqlite3_stmt *st;
	int n = 0, rc;

	if ((rc = db_prepare(x->g->db, "SELECT status FROM appointment "
	    "WHERE id = ?", &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, l->appt);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(status, sizeof(status), "%s",
		    sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (status[0] == '\0' || strcmp(status, "cancelled") == 0)
		return exec_fmt(x->g->db, drop, "i", NULL, e, l->id);
	if ((rc = exec_fmt(x->g->db, gone, "ii", NULL, e, l->id, w.now)) != 0 ||
	    (rc = exec_fmt(x->g->db, review, "ii", &n, e, l->appt,
	    w.now)) != 0)
		return rc;
	if (n == 0)
		return 0;
	x->r->review++;
	note(x, "appointment %lld: its event was deleted on Google Calendar; "
	    "the booking is kept and marked needs_review", (long long)l->appt);
	w.reason = "its event was deleted on Google Calendar";
	w.reason_typed = 0;
	return audit_appt(x, &w, "appointment.needs_review", l->appt, "status",
	    e);
}

/* ---- pull ---- */

/* A Google event of ours that we do not track (a crash after an insert,
 * or a reconnection): linked again when its booking is this operator's
 * and has no event, else deleted as a duplicate. */
static int
adopt(struct run *x, json_t *ev, const char *gid, struct rv_err *e)
{
	static const char ins[] =
	    "INSERT INTO gcal_link (staff_id, appointment_id, google_id, etag, "
	    "hash, state, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "'live', ?6, ?6)";
	static const char orphan[] =
	    "INSERT INTO gcal_link (staff_id, google_id, state, created, "
	    "updated) VALUES (?1, ?2, 'delete', ?3, ?3) "
	    "ON CONFLICT (staff_id, google_id) DO NOTHING";
	const char *num = json_string_value(json_object_get(json_object_get(
	    json_object_get(ev, "extendedProperties"), "private"),
	    "riserva_appointment"));
	struct link l;
	int64_t appt = 0, staff = 0, other;
	char hash[65];
	int found = 0, linked, rc;

	if (num != NULL && parse_id(num, &appt) && (rc = db_int(x->g->db,
	    "SELECT staff_id FROM appointment WHERE id = ? AND status <> "
	    "'cancelled'", appt, &staff, &found, e)) != 0)
		return rc;
	if ((rc = link_by_appt(x, appt, &l, &other, &linked, e)) != 0)
		return rc;
	if (!found || staff != x->staff_id || linked)
		return exec_fmt(x->g->db, orphan, "iti", NULL, e, x->staff_id,
		    gid, x->g->who->now);
	google_hash(ev, hash);
	if ((rc = exec_fmt(x->g->db, ins, "iittti", NULL, e, x->staff_id,
	    appt, gid, str_or(ev, "etag", ""), hash, x->g->who->now)) != 0)
		return rc;
	x->r->adopted++;
	return gcal_queue_appt(x->g->db, x->g->who, appt, e);
}

static int
import_event(struct run *x, json_t *ev, const char *gid, struct rv_err *e)
{
	static const char up[] =
	    "INSERT INTO event (staff_id, start, end, source, title, busy, "
	    "created, updated, google_id, etag, status) "
	    "VALUES (?1, ?2, ?3, 'google', ?4, ?5, ?6, ?6, ?7, ?8, ?9) "
	    "ON CONFLICT (staff_id, google_id) WHERE google_id IS NOT NULL "
	    "DO UPDATE SET start = excluded.start, end = excluded.end, "
	    "title = excluded.title, busy = excluded.busy, "
	    "etag = excluded.etag, status = excluded.status, "
	    "updated = excluded.updated WHERE etag IS NOT excluded.etag "
	    "OR start <> excluded.start OR end <> excluded.end "
	    "OR busy <> excluded.busy OR title IS NOT excluded.title";
	static const char del[] =
	    "DELETE FROM event WHERE staff_id = ?1 AND google_id = ?2 "
	    "AND source = 'google'";
	const char *status = str_or(ev, "status", "confirmed");
	char title[256];
	int64_t start, end;
	size_t i;
	int busy, n = 0, rc;
	json_t *att;

	if (strcmp(status, "cancelled") == 0 || !ev_time(ev, "start", &start) ||
	    !ev_time(ev, "end", &end) || end <= start) {
		/* Deleted, or nothing that can block time. */
		if ((rc = exec_fmt(x->g->db, del, "it", &n, e, x->staff_id,
		    gid)) != 0)
			return rc;
		x->r->removed += n;
		return 0;
	}
	/* Free time: transparent, or an invitation the operator declined. */
	busy = strcmp(str_or(ev, "transparency", "opaque"), "transparent") !=
	    0;
	json_array_foreach(json_object_get(ev, "attendees"), i, att)
		if (json_is_true(json_object_get(att, "self")) &&
		    strcmp(str_or(att, "responseStatus", ""), "declined") == 0)
			busy = 0;
	title[0] = '\0';
	if (x->g->import_titles) {
		snprintf(title, sizeof(title), "%s", str_or(ev, "summary", ""));
		if (check_text("title", title, 200, 0, 0, NULL) != 0)
			title[0] = '\0';
	}
	if ((rc = exec_fmt(x->g->db, up, "iiitiittt", &n, e, x->staff_id,
	    start, end, title[0] ? title : NULL, (int64_t)busy,
	    x->g->who->now, gid, str_or(ev, "etag", ""), status)) != 0)
		return rc;
	x->r->imported += n;
	return 0;
}

/* One of our events was made to repeat on Google: riserva's booking wins,
 * the next push makes it single again (an emptied hash forces the update).
 * Reported once, for the first of its occurrences the pull sees. */
static int
repeated_on_google(struct run *x, const struct link *l, const char *status,
    struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE gcal_link SET hash = '', updated = ?2 "
	    "WHERE id = ?1 AND hash <> ''";
	int n = 0, rc;

	if (strcmp(l->state, "live") != 0 || l->appt == 0 ||
	    strcmp(status, "cancelled") == 0)
		return 0;
	if ((rc = exec_fmt(x->g->db, sql, "ii", &n, e, l->id,
	    x->g->who->now)) != 0 || n == 0)
		return rc;
	x->r->overwritten++;
	note(x, "appointment %lld: its event was made to repeat on Google "
	    "Calendar; riserva's booking wins and the repetition is removed",
	    (long long)l->appt);
	return gcal_queue_appt(x->g->db, x->g->who, l->appt, e);
}

static int
apply_item(struct run *x, json_t *ev, int full, struct rv_err *e)
{
	static const char seen[] =
	    "INSERT OR IGNORE INTO temp.gcal_seen (id) VALUES (?1)";
	/* The hash becomes Google's: an edit there then differs from what
	 * riserva wants, and the push puts it back. */
	static const char seen_as[] =
	    "UPDATE gcal_link SET etag = ?2, hash = ?3, updated = ?4 "
	    "WHERE id = ?1";
	static const char revive[] =
	    "UPDATE gcal_link SET state = 'live', etag = ?2, hash = ?3, "
	    "updated = ?4 WHERE id = ?1";
	const char *gid = json_string_value(json_object_get(ev, "id"));
	const char *status = str_or(ev, "status", "confirmed");
	const char *inst, *rid;
	struct link l;
	char hash[65];
	int found, rc;

	if (gid == NULL || *gid == '\0' || strlen(gid) > GOOGLE_ID_MAX)
		return 0;
	if (full && (rc = exec_fmt(x->g->db, seen, "t", NULL, e, gid)) != 0)
		return rc;
	if ((rc = link_by_google(x, gid, &l, &found, e)) != 0)
		return rc;
	if (found) {
		if (strcmp(l.state, "delete") == 0 || l.appt == 0)
			return 0;
		if (strcmp(status, "cancelled") == 0)
			return strcmp(l.state, "live") == 0 ?
			    deleted_on_google(x, &l, e) : 0;
		google_hash(ev, hash);
		if (strcmp(l.state, "gone") == 0) {
			/* Restored on Google: ours again, reconciled. */
			if ((rc = exec_fmt(x->g->db, revive, "itti", NULL, e,
			    l.id, str_or(ev, "etag", ""), hash,
			    x->g->who->now)) != 0)
				return rc;
			return gcal_queue_appt(x->g->db, x->g->who, l.appt, e);
		}
		if ((rc = exec_fmt(x->g->db, seen_as, "itti", NULL, e, l.id,
		    str_or(ev, "etag", ""), hash, x->g->who->now)) != 0)
			return rc;
		if (strcmp(hash, l.hash) == 0)
			return 0;
		/* Edited on Google: riserva's booking wins. */
		x->r->overwritten++;
		note(x, "appointment %lld: its event was edited on Google "
		    "Calendar; riserva's booking wins and the edit is "
		    "overwritten", (long long)l.appt);
		return gcal_queue_appt(x->g->db, x->g->who, l.appt, e);
	}
	/* An occurrence of one of our events that was made to repeat on
	 * Google: never adopted or deleted on its own (the first is the
	 * booking's own time); the event is put back as a single one. */
	rid = json_string_value(json_object_get(ev, "recurringEventId"));
	if (rid != NULL && (rc = link_by_google(x, rid, &l, &found, e)) != 0)
		return rc;
	if (rid != NULL && found)
		return repeated_on_google(x, &l, status, e);
	inst = json_string_value(json_object_get(json_object_get(
	    json_object_get(ev, "extendedProperties"), "private"),
	    "riserva_instance"));
	if (inst != NULL && strcmp(inst, x->inst_hex) == 0)
		return strcmp(status, "cancelled") == 0 ? 0 : adopt(x, ev, gid,
		    e);
	/* Anything else, another centre's bookings too, is busy time. */
	return import_event(x, ev, gid, e);
}

static int
apply(struct run *x, json_t *items, int full, const char *token,
    struct rv_err *e)
{
	static const char mk[] =
	    "CREATE TEMP TABLE IF NOT EXISTS gcal_seen (id TEXT PRIMARY KEY)";
	static const char clear[] = "DELETE FROM temp.gcal_seen";
	static const char unseen[] =
	    "DELETE FROM event WHERE staff_id = ?1 AND source = 'google' "
	    "AND google_id NOT IN (SELECT id FROM temp.gcal_seen)";
	static const char save[] =
	    "UPDATE gcal_account SET sync_token = ?2, last_full_sync = "
	    "CASE WHEN ?3 THEN ?4 ELSE last_full_sync END WHERE staff_id = ?1";
	sqlite3 *db = x->g->db;
	long before = x->r->imported + x->r->removed + x->r->adopted +
	    x->r->review + x->r->overwritten;
	char ref[40];
	size_t i;
	json_t *ev;
	int n, rc;

	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if (full && ((rc = db_exec(db, mk, e)) != 0 ||
	    (rc = db_exec(db, clear, e)) != 0))
		goto fail;
	json_array_foreach(items, i, ev)
		if ((rc = apply_item(x, ev, full, e)) != 0)
			goto fail;
	/* A full resync: imported events Google no longer has go. Bookings
	 * and their events are never judged by absence. */
	if (full) {
		if ((rc = exec_fmt(db, unseen, "i", &n, e, x->staff_id)) != 0)
			goto fail;
		x->r->removed += n;
	}
	if ((rc = exec_fmt(db, save, "itii", NULL, e, x->staff_id, token,
	    (int64_t)full, x->g->who->now)) != 0)
		goto fail;
	if (x->r->imported + x->r->removed + x->r->adopted + x->r->review +
	    x->r->overwritten != before) {
		snprintf(ref, sizeof(ref), "staff %lld",
		    (long long)x->staff_id);
		if ((rc = audit_append(db, x->g->who, "gcal.pull", 0, ref,
		    "events", e)) != 0)
			goto fail;
	}
	if (full)
		db_exec(db, clear, NULL);
	return db_commit(db, e);
fail:
	db_rollback(db);
	return rc;
}

static void
window(struct run *x, struct rv_buf *url)
{
	char t[40];

	tm_rfc3339_utc(x->g->who->now - x->g->resync_days * 86400, t);
	gcal_query(url, "timeMin", t);
	tm_rfc3339_utc(x->g->who->now + x->g->resync_days * 86400, t);
	gcal_query(url, "timeMax", t);
}

static int
pull(struct run *x, const char *token, int full, struct rv_err *e)
{
	struct rv_buf url = { 0 };
	json_t *items = json_array();
	char *page = NULL, *next = NULL, size[16];
	int pages = 0, rc = 0;

	snprintf(size, sizeof(size), "%ld", x->g->page_size);
	if (token == NULL)
		full = 1;
	for (;;) {
		struct gresp r;
		json_t *v;

		buf_reset(&url);
		buf_adds(&url, x->s.events_url.s);
		gcal_query(&url, "maxResults", size);
		gcal_query(&url, "singleEvents", "true");
		if (full) {
			gcal_query(&url, "showDeleted", "true");
			window(x, &url);
		} else {
			gcal_query(&url, "syncToken", token);
		}
		if (page != NULL)
			gcal_query(&url, "pageToken", page);
		if ((rc = gsess_call(&x->s, "GET", url.s, NULL, NULL, &r, e)) !=
		    0)
			goto out;
		if (r.status == 410 && !full) {
			/* The token expired: a full resync, from the top. */
			gresp_free(&r);
			note(x, "the sync token has expired: full resync of "
			    "%ld days each side", x->g->resync_days);
			full = 1;
			free(page);
			page = NULL;
			json_array_clear(items);
			pages = 0;
			continue;
		}
		if (r.status != 200 || !json_is_object(r.json)) {
			rc = gcal_unexpected("events.list", &r, e);
			gresp_free(&r);
			goto out;
		}
		json_array_extend(items, json_object_get(r.json, "items"));
		x->r->pulled = (long)json_array_size(items);
		if (x->g->progress != NULL)
			x->g->progress(x->g->note_arg, "gcal-sync: pull",
			    json_array_size(items), 0);
		free(page);
		page = NULL;
		if ((v = json_object_get(r.json, "nextPageToken")) != NULL &&
		    json_is_string(v)) {
			page = xstrdup(json_string_value(v));
		} else if ((v = json_object_get(r.json, "nextSyncToken")) !=
		    NULL && json_is_string(v)) {
			next = xstrdup(json_string_value(v));
		}
		gresp_free(&r);
		if (next != NULL)
			break;
		if (page == NULL) {
			rc = rv_fail(e, EX_UNAVAILABLE, "google: events.list: "
			    "a last page without nextSyncToken");
			goto out;
		}
		if (++pages >= MAX_PAGES) {
			rc = rv_fail(e, EX_UNAVAILABLE, "google: events.list: "
			    "more than %d pages; narrow google.resync_days",
			    MAX_PAGES);
			goto out;
		}
	}
	x->r->full = full;
	rc = apply(x, items, full, next, e);
out:
	free(page);
	free(next);
	json_decref(items);
	buf_free(&url);
	return rc;
}

/* ---- push ---- */

static int
event_url(struct run *x, const char *gid, struct rv_buf *url)
{
	buf_reset(url);
	buf_printf(url, "%s/", x->s.events_url.s);
	http_url_escape(url, gid);
	return 0;
}

/* DELETE: gone already (404, 410) is done too. */
static int
delete_event(struct run *x, const char *gid, struct rv_err *e)
{
	struct rv_buf url = { 0 };
	struct gresp r;
	int rc;

	event_url(x, gid, &url);
	rc = gsess_call(&x->s, "DELETE", url.s, NULL, NULL, &r, e);
	buf_free(&url);
	if (rc != 0)
		return rc;
	if (r.status != 200 && r.status != 204 && r.status != 404 &&
	    r.status != 410)
		rc = gcal_unexpected("events.delete", &r, e);
	gresp_free(&r);
	return rc;
}

/*
 * An erased client's event: its title made the busy one before it is
 * deleted, because Google keeps a deleted event in the calendar's trash
 * for some 30 days, title and all. *gone when it is not there at all.
 */
static int
blank_event(struct run *x, const char *gid, int *gone, struct rv_err *e)
{
	struct rv_buf url = { 0 };
	struct gresp r;
	json_t *body = json_object();
	int rc;

	json_object_set_new(body, "summary", json_string(x->g->busy_title));
	event_url(x, gid, &url);
	rc = gsess_call(&x->s, "PATCH", url.s, body, NULL, &r, e);
	json_decref(body);
	buf_free(&url);
	if (rc != 0)
		return rc;
	*gone = r.status == 404 || r.status == 410;
	if (r.status != 200 && !*gone)
		rc = gcal_unexpected("events.patch", &r, e);
	gresp_free(&r);
	return rc;
}

static int
get_event(struct run *x, const char *gid, struct gresp *r, struct rv_err *e)
{
	struct rv_buf url = { 0 };
	int rc;

	event_url(x, gid, &url);
	rc = gsess_call(&x->s, "GET", url.s, NULL, NULL, r, e);
	buf_free(&url);
	return rc;
}

static int
is_ours(struct run *x, json_t *ev, int64_t appt)
{
	json_t *p = json_object_get(json_object_get(ev, "extendedProperties"),
	    "private");
	const char *inst = str_or(p, "riserva_instance", "");
	const char *num = str_or(p, "riserva_appointment", "");
	int64_t id;

	return strcmp(inst, x->inst_hex) == 0 && parse_id(num, &id) &&
	    id == appt;
}

/* Each step of the push commits on its own: what Google has done is
 * recorded at once. */
static int
commit_step(struct run *x, int rc, struct rv_err *e)
{
	if (rc != 0) {
		db_rollback(x->g->db);
		return rc;
	}
	return db_commit(x->g->db, e);
}

static const char unqueue[] =
    "DELETE FROM gcal_outbox WHERE appointment_id = ?1";

/* Google has what w wanted: the booking leaves the outbox, unless it
 * changed while Google was being told (a cancel during the push): then it
 * is queued again, its new version for the next run. In the caller's
 * transaction. */
static int
settle(struct run *x, const struct want *w, struct rv_err *e)
{
	static const char changed[] =
	    "SELECT count(*) FROM appointment WHERE id = ? AND version <> ?";
	sqlite3_stmt *st;
	int n, rc;

	if ((rc = db_cached(x->g->db, changed, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, w->id);
	sqlite3_bind_int64(st, 2, w->version);
	rc = sqlite3_step(st);
	n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_fail(x->g->db, rc, e, "appointment");
	if (n > 0)
		return gcal_queue_appt(x->g->db, x->g->who, w->id, e);
	return exec_fmt(x->g->db, unqueue, "i", NULL, e, w->id);
}

static int
push_deletions(struct run *x, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, google_id, appointment_id FROM gcal_link "
	    "WHERE staff_id = ? "
	    "AND (state = 'delete' OR appointment_id IS NULL) ORDER BY id";
	static const char drop[] = "DELETE FROM gcal_link WHERE id = ?1";
	struct rv_ids ids = { 0 }, appts = { 0 };
	struct rv_buf gids = { 0 };
	sqlite3_stmt *st;
	const char *gid;
	size_t i;
	int rc;

	if ((rc = db_prepare(x->g->db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, x->staff_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ids_add(&ids, sqlite3_column_int64(st, 0));
		ids_add(&appts, sqlite3_column_int64(st, 2));
		buf_adds(&gids, (const char *)sqlite3_column_text(st, 1));
		buf_add(&gids, "", 1);
	}
	sqlite3_finalize(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(x->g->db, rc, e, "calendar links");
	for (i = 0, gid = gids.s; rc == 0 && i < ids.n;
	    i++, gid += strlen(gid) + 1) {
		int gone = 0;

		/* No booking: its client was erased (gcal_forget_client). */
		if (appts.v[i] == 0 && (rc = blank_event(x, gid, &gone, e)) != 0)
			break;
		if (!gone && (rc = delete_event(x, gid, e)) != 0)
			break;
		if ((rc = db_begin(x->g->db, e)) != 0)
			break;
		rc = exec_fmt(x->g->db, drop, "i", NULL, e, ids.v[i]);
		if (rc == 0)
			rc = audit_appt(x, x->g->who, "gcal.delete", appts.v[i],
			    "event", e);
		if ((rc = commit_step(x, rc, e)) == 0)
			x->r->deleted++;
	}
	ids_free(&ids);
	ids_free(&appts);
	buf_free(&gids);
	return rc;
}

static const char link_put[] =
    "UPDATE gcal_link SET etag = ?2, hash = ?3, state = 'live', "
    "updated = ?4 WHERE id = ?1";

/* PATCH with If-Match; 412: look, and overwrite again. */
static int
update_event(struct run *x, struct link *l, const struct want *w,
    struct rv_err *e)
{
	struct rv_buf url = { 0 };
	json_t *body = event_body(x, w, NULL);
	struct gresp r = { 0 };
	char hash[65];
	int tries, rc = 0;

	event_url(x, l->google_id, &url);
	for (tries = 0; tries < 4; tries++) {
		if ((rc = gsess_call(&x->s, "PATCH", url.s, body,
		    l->etag[0] ? l->etag : NULL, &r, e)) != 0)
			goto out;
		if (r.status == 200)
			break;
		if (r.status == 404 || r.status == 410)
			goto deleted;
		if (r.status != 412) {
			rc = gcal_unexpected("events.patch", &r, e);
			goto out;
		}
		/* Changed on Google since we last saw it. */
		gresp_free(&r);
		if ((rc = get_event(x, l->google_id, &r, e)) != 0)
			goto out;
		if (r.status == 404 || r.status == 410 || (r.status == 200 &&
		    strcmp(str_or(r.json, "status", ""), "cancelled") == 0))
			goto deleted;
		if (r.status != 200) {
			rc = gcal_unexpected("events.get", &r, e);
			goto out;
		}
		snprintf(l->etag, sizeof(l->etag), "%s",
		    str_or(r.json, "etag", ""));
		google_hash(r.json, hash);
		if (strcmp(hash, l->hash) != 0 && strcmp(hash, w->hash) != 0) {
			x->r->overwritten++;
			note(x, "appointment %lld: its event was edited on "
			    "Google Calendar; riserva's booking wins and the "
			    "edit is overwritten", (long long)w->id);
		}
		gresp_free(&r);
	}
	if (r.status != 200) {
		rc = rv_fail(e, EX_TEMPFAIL, "google: events.patch of "
		    "appointment %lld: the event keeps changing on Google; "
		    "try again", (long long)w->id);
		goto out;
	}
	if ((rc = db_begin(x->g->db, e)) != 0)
		goto out;
	rc = exec_fmt(x->g->db, link_put, "itti", NULL, e, l->id,
	    str_or(r.json, "etag", ""), w->hash, x->g->who->now);
	if (rc == 0)
		rc = settle(x, w, e);
	if (rc == 0)
		rc = audit_appt(x, x->g->who, "gcal.push", w->id,
		    "summary,start,end", e);
	if ((rc = commit_step(x, rc, e)) == 0)
		x->r->updated++;
	goto out;
deleted:
	if ((rc = db_begin(x->g->db, e)) != 0)
		goto out;
	rc = deleted_on_google(x, l, e);
	if (rc == 0)
		rc = exec_fmt(x->g->db, unqueue, "i", NULL, e, w->id);
	rc = commit_step(x, rc, e);
out:
	gresp_free(&r);
	json_decref(body);
	buf_free(&url);
	return rc;
}

/* Whether the booking's client, there when w was read, has been erased
 * since (the booking keeps no client then). */
static int
client_gone(struct run *x, const struct want *w, int *gone, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT ?2 > 0 AND NOT EXISTS (SELECT 1 FROM appointment "
	    "WHERE id = ?1 AND client_id = ?2)";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_cached(x->g->db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, w->id);
	sqlite3_bind_int64(st, 2, w->client_id);
	rc = sqlite3_step(st);
	*gone = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : db_fail(x->g->db, rc, e, "appointment");
}

/* A new event with our id; on 409 the one there is ours (adopted) or
 * stale (the next generation). */
static int
insert_event(struct run *x, const struct want *w, int gen, int64_t old,
    struct rv_err *e)
{
	static const char ins[] =
	    "INSERT INTO gcal_link (staff_id, appointment_id, google_id, "
	    "generation, etag, hash, state, created, updated) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'live', ?7, ?7)";
	/* What gcal_forget_client makes of the links of an erased client. */
	static const char ins_gone[] =
	    "INSERT INTO gcal_link (staff_id, appointment_id, google_id, "
	    "generation, etag, hash, state, created, updated) "
	    "VALUES (?1, NULL, ?2, ?3, ?4, ?5, 'delete', ?6, ?6)";
	static const char drop[] = "DELETE FROM gcal_link WHERE id = ?1";
	struct rv_buf url = { 0 };
	struct gresp r = { 0 };
	struct link l;
	char gid[GCAL_ID_LEN + 1], hash[65];
	int adopted = 0, gone = 0, rc = 0;
	json_t *body;

	for (;; gen++) {
		if (gen > MAX_GENERATIONS) {
			rc = rv_fail(e, EX_SOFTWARE, "google: appointment "
			    "%lld: no free event id after %d generations",
			    (long long)w->id, MAX_GENERATIONS);
			goto out;
		}
		gcal_event_id(x->g->instance, w->id, gen, gid);
		body = event_body(x, w, gid);
		rc = gsess_call(&x->s, "POST", x->s.events_url.s, body, NULL,
		    &r, e);
		json_decref(body);
		if (rc != 0)
			goto out;
		if (r.status == 200)
			break;
		if (r.status != 409) {
			rc = gcal_unexpected("events.insert", &r, e);
			goto out;
		}
		/* Already there: inserted before a crash, or stale. */
		gresp_free(&r);
		if ((rc = get_event(x, gid, &r, e)) != 0)
			goto out;
		if (r.status == 200 && is_ours(x, r.json, w->id) &&
		    strcmp(str_or(r.json, "status", ""), "cancelled") != 0) {
			adopted = 1;
			break;
		}
		if (r.status != 200 && r.status != 404 && r.status != 410) {
			rc = gcal_unexpected("events.get", &r, e);
			goto out;
		}
		gresp_free(&r);
	}
	if (adopted)
		google_hash(r.json, hash);
	else
		snprintf(hash, sizeof(hash), "%s", w->hash);
	if ((rc = db_begin(x->g->db, e)) != 0)
		goto out;
	rc = old > 0 ? exec_fmt(x->g->db, drop, "i", NULL, e, old) : 0;
	/* Its client erased while Google was being told: the event is
	 * theirs to lose like the others, at the next run. */
	if (rc == 0)
		rc = client_gone(x, w, &gone, e);
	if (rc == 0 && gone)
		rc = exec_fmt(x->g->db, ins_gone, "ititti", NULL, e,
		    x->staff_id, gid, (int64_t)gen, str_or(r.json, "etag", ""),
		    hash, x->g->who->now);
	else if (rc == 0)
		rc = exec_fmt(x->g->db, ins, "iititti", NULL, e, x->staff_id,
		    w->id, gid, (int64_t)gen, str_or(r.json, "etag", ""),
		    hash, x->g->who->now);
	if (rc == 0 && (gone || strcmp(hash, w->hash) == 0))
		rc = settle(x, w, e);
	if (rc == 0 && !adopted)
		rc = audit_appt(x, x->g->who, "gcal.push", w->id,
		    "summary,start,end", e);
	if ((rc = commit_step(x, rc, e)) != 0)
		goto out;
	if (!adopted || gone) {
		x->r->inserted++;
		goto out;
	}
	x->r->adopted++;
	if (strcmp(hash, w->hash) == 0)
		goto out;
	/* Adopted but not as we want it. */
	memset(&l, 0, sizeof(l));
	l.id = sqlite3_last_insert_rowid(x->g->db);
	l.appt = w->id;
	snprintf(l.google_id, sizeof(l.google_id), "%s", gid);
	snprintf(l.etag, sizeof(l.etag), "%s", str_or(r.json, "etag", ""));
	snprintf(l.hash, sizeof(l.hash), "%s", hash);
	snprintf(l.state, sizeof(l.state), "live");
	rc = update_event(x, &l, w, e);
out:
	gresp_free(&r);
	buf_free(&url);
	return rc;
}

static int
reconcile(struct run *x, int64_t appt, struct want *w, struct rv_err *e)
{
	static const char drop[] = "DELETE FROM gcal_link WHERE id = ?1";
	struct link l;
	int64_t on = 0;
	int found, linked, rc;

	if ((rc = load_want(x->g, appt, w, &found, e)) != 0 ||
	    (rc = link_by_appt(x, appt, &l, &on, &linked, e)) != 0)
		return rc;
	/* Moved to another operator since: theirs to push. */
	if (found && w->staff_id != x->staff_id)
		return 0;
	if (linked && on != x->staff_id)
		linked = 0;
	if (!found || !w->live) {
		if (linked && strcmp(l.state, "live") == 0 &&
		    (rc = delete_event(x, l.google_id, e)) != 0)
			return rc;
		if ((rc = db_begin(x->g->db, e)) != 0)
			return rc;
		rc = linked ? exec_fmt(x->g->db, drop, "i", NULL, e, l.id) : 0;
		if (rc == 0)
			rc = exec_fmt(x->g->db, unqueue, "i", NULL, e, appt);
		if (rc == 0 && linked && strcmp(l.state, "live") == 0)
			rc = audit_appt(x, x->g->who, "gcal.delete", appt,
			    "event", e);
		if ((rc = commit_step(x, rc, e)) == 0 && linked &&
		    strcmp(l.state, "live") == 0)
			x->r->deleted++;
		return rc;
	}
	if (linked && strcmp(l.state, "gone") == 0) {
		/* Deleted on Google: made again only for a booking confirmed
		 * since (moved: booked again), never behind anyone's back. */
		if (strcmp(w->status, "booked") != 0) {
			if ((rc = db_begin(x->g->db, e)) != 0)
				return rc;
			rc = settle(x, w, e);
			return commit_step(x, rc, e);
		}
		return insert_event(x, w, l.generation + 1, l.id, e);
	}
	if (!linked)
		return insert_event(x, w, 1, 0, e);
	if (strcmp(l.hash, w->hash) == 0) {
		if ((rc = db_begin(x->g->db, e)) != 0)
			return rc;
		rc = settle(x, w, e);
		return commit_step(x, rc, e);
	}
	return update_event(x, &l, w, e);
}

/* The bookings to reconcile: the outbox, and events whose wanted fields
 * changed without a booking change (a client's name rectified or
 * restricted, the title template edited). */
static int
work_list(struct run *x, struct rv_ids *out, struct want *w,
    struct rv_err *e)
{
	static const char queued[] =
	    "SELECT o.appointment_id FROM gcal_outbox o JOIN appointment a "
	    "ON a.id = o.appointment_id WHERE a.staff_id = ? "
	    "ORDER BY o.queued, o.appointment_id";
	static const char drift[] =
	    "SELECT l.appointment_id, l.hash FROM gcal_link l "
	    "JOIN appointment a ON a.id = l.appointment_id "
	    "WHERE l.staff_id = ?1 AND l.state = 'live' AND a.end > ?2 "
	    "AND a.status <> 'cancelled' AND NOT EXISTS (SELECT 1 FROM "
	    "gcal_outbox o WHERE o.appointment_id = a.id) ORDER BY a.start";
	struct rv_ids cand = { 0 };
	struct rv_buf hashes = { 0 };
	sqlite3_stmt *st;
	const char *h;
	size_t i;
	int found, rc;

	if ((rc = db_prepare(x->g->db, queued, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, x->staff_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ids_add(out, sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(x->g->db, rc, e, "calendar outbox");
	if ((rc = db_prepare(x->g->db, drift, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, x->staff_id);
	sqlite3_bind_int64(st, 2, x->g->who->now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ids_add(&cand, sqlite3_column_int64(st, 0));
		buf_adds(&hashes, sqlite3_column_type(st, 1) == SQLITE_NULL ?
		    "" : (const char *)sqlite3_column_text(st, 1));
		buf_add(&hashes, "", 1);
	}
	sqlite3_finalize(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(x->g->db, rc, e, "calendar links");
	for (i = 0, h = hashes.s; rc == 0 && i < cand.n;
	    i++, h += strlen(h) + 1) {
		if ((rc = load_want(x->g, cand.v[i], w, &found, e)) == 0 &&
		    found && strcmp(w->hash, h) != 0)
			ids_add(out, cand.v[i]);
	}
	ids_free(&cand);
	buf_free(&hashes);
	return rc;
}

/* A failure that concerns one booking only: noted in its outbox row. */
static void
mark_failed(struct run *x, int64_t appt, const char *msg)
{
	static const char sql[] =
	    "UPDATE gcal_outbox SET tries = tries + 1, last_error = ?2 "
	    "WHERE appointment_id = ?1";
	struct rv_err ignored;

	if (db_begin(x->g->db, &ignored) != 0)
		return;
	commit_step(x, exec_fmt(x->g->db, sql, "it", NULL, &ignored, appt,
	    msg), &ignored);
}

static int
push(struct run *x, struct rv_err *e)
{
	struct want w = { 0 };
	struct rv_ids todo = { 0 };
	struct rv_err one;
	size_t i;
	int rc, failed = 0;

	if ((rc = push_deletions(x, e)) != 0 ||
	    (rc = work_list(x, &todo, &w, e)) != 0)
		goto out;
	for (i = 0; i < todo.n; i++) {
		memset(&one, 0, sizeof(one));
		rc = reconcile(x, todo.v[i], &w, &one);
		if (rc == 0)
			continue;
		mark_failed(x, todo.v[i], one.msg);
		/* Google unreachable, busy, or saying no to us: stop here.
		 * A booking it refuses is noted and the others go on. */
		if (rc != EX_SOFTWARE && rc != EX_DATAERR) {
			*e = one;
			goto out;
		}
		note(x, "appointment %lld: %s", (long long)todo.v[i], one.msg);
		if (!failed++)
			*e = one;
		rc = 0;
	}
	if (failed)
		rc = e->code;
out:
	buf_free(&w.summary);
	ids_free(&todo);
	return rc;
}

/*
 * Every event of ours on this calendar, taken back: unlinked from its
 * booking (so that it goes the way of an erased client's, title first)
 * and its pending pushes dropped, in one transaction; then deleted on
 * Google one by one. What is not reached stays marked for deletion.
 */
static int
remove_pushed(struct run *x, struct rv_err *e)
{
	static const char unlink_all[] =
	    "UPDATE gcal_link SET state = 'delete', appointment_id = NULL, "
	    "updated = ?2 WHERE staff_id = ?1";
	static const char unqueue_all[] =
	    "DELETE FROM gcal_outbox WHERE appointment_id IN "
	    "(SELECT id FROM appointment WHERE staff_id = ?1)";
	int rc;

	if ((rc = db_begin(x->g->db, e)) != 0)
		return rc;
	rc = exec_fmt(x->g->db, unlink_all, "ii", NULL, e, x->staff_id,
	    x->g->who->now);
	if (rc == 0)
		rc = exec_fmt(x->g->db, unqueue_all, "i", NULL, e, x->staff_id);
	if ((rc = commit_step(x, rc, e)) != 0)
		return rc;
	return push_deletions(x, e);
}

/* ---- one operator ---- */

int
gcal_sync_staff(struct gcal *g, int64_t staff_id, const struct gcal_opts *o,
    struct gcal_report *r, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT g.state, g.sync_token, s.email FROM gcal_account g "
	    "JOIN staff s ON s.id = g.staff_id WHERE g.staff_id = ?";
	struct run x = { 0 };
	sqlite3_stmt *st;
	char state[16] = "", *token = NULL;
	long start = g->requests;
	int rc;

	memset(r, 0, sizeof(*r));
	x.g = g;
	x.staff_id = staff_id;
	x.r = r;
	if ((rc = db_prepare(g->db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(state, sizeof(state), "%s",
		    sqlite3_column_text(st, 0));
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			token = xstrdup((const char *)sqlite3_column_text(st,
			    1));
		snprintf(x.staff_email, sizeof(x.staff_email), "%s",
		    sqlite3_column_text(st, 2));
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? rv_fail(e, EX_REFUSED, "staff member "
		    "%lld has no connected calendar", (long long)staff_id) :
		    db_fail(g->db, rc, e, "calendar account");
	}
	sqlite3_finalize(st);
	if (rc != 0)
		goto out;
	/* Sync stops until the operator connects again. */
	if (strcmp(state, "reauth_needed") == 0) {
		rc = rv_fail(e, EX_NOPERM, "%s: Google access was revoked or "
		    "has expired; sync is stopped until: gcal-sync connect %s",
		    x.staff_email, x.staff_email);
		goto out;
	}
	if ((rc = gcal_instance(g->db, g->instance, e)) != 0)
		goto out;
	crypt_hex(g->instance, 8, x.inst_hex);
	if ((rc = gsess_open(g, staff_id, &x.s, e)) != 0)
		goto done;
	if (o->pull && (rc = pull(&x, o->full ? NULL : token, o->full, e)) !=
	    0)
		goto done;
	if (o->push)
		rc = push(&x, e);
	if (rc == 0 && o->remove_pushed)
		rc = remove_pushed(&x, e);
done:
	if (rc != 0 && strncmp(e->msg, x.staff_email,
	    strlen(x.staff_email)) != 0)
		rv_prefix(e, "%s: ", x.staff_email);
	{
		struct rv_err ignored;

		gcal_account_state(g->db, staff_id, rc == 0 ? "ok" :
		    rc == EX_NOPERM ? "reauth_needed" : "error",
		    rc == 0 ? NULL : e->msg, g->who->now, &ignored);
	}
out:
	r->requests = g->requests - start;
	gsess_close(&x.s);
	free(token);
	return rc;
}

json_t *
gcal_report_record(sqlite3 *db, int64_t staff_id, const struct gcal_report *r,
    int rc, const char *msg)
{
	json_t *acct = NULL, *rec = rec_new("gcal_sync", staff_id);
	struct rv_err ignored;

	json_object_set_new(rec, "staff_id", json_integer(staff_id));
	if (gcal_account_record(db, staff_id, &acct, &ignored) == 0) {
		json_object_set(rec, "staff_email",
		    json_object_get(acct, "staff_email"));
		json_object_set(rec, "email", json_object_get(acct, "email"));
		json_object_set(rec, "state", json_object_get(acct, "state"));
	}
	json_object_set_new(rec, "full", json_boolean(r->full));
	json_object_set_new(rec, "pulled", json_integer(r->pulled));
	json_object_set_new(rec, "imported", json_integer(r->imported));
	json_object_set_new(rec, "removed", json_integer(r->removed));
	json_object_set_new(rec, "inserted", json_integer(r->inserted));
	json_object_set_new(rec, "updated", json_integer(r->updated));
	json_object_set_new(rec, "deleted", json_integer(r->deleted));
	json_object_set_new(rec, "adopted", json_integer(r->adopted));
	json_object_set_new(rec, "overwritten", json_integer(r->overwritten));
	json_object_set_new(rec, "needs_review", json_integer(r->review));
	if (acct != NULL)
		json_object_set(rec, "pending", json_object_get(acct,
		    "pending"));
	json_object_set_new(rec, "requests", json_integer(r->requests));
	json_object_set_new(rec, "error", rc == 0 ? json_null() :
	    json_string(msg));
	json_decref(acct);
	return rec;
}

/* ---- one sync at a time per database ---- */

int
gcal_lock(sqlite3 *db, long wait_s, int *fd, struct rv_err *e)
{
	const char *name = sqlite3_db_filename(db, "main");
	struct rv_buf path = { 0 };
	time_t deadline = time(NULL) + wait_s;
	int rc = 0;

	*fd = -1;
	if (name == NULL || *name == '\0')
		return 0;
	buf_printf(&path, "%s-gcal.lock", name);
	*fd = open(path.s, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		rc = rv_fail_errno(e, EX_CANTCREAT, "cannot open %s", path.s);
		goto out;
	}
	while (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		struct timespec ts = { 0, 100000000L };

		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = rv_fail_errno(e, EX_IOERR, "cannot lock %s",
			    path.s);
			break;
		}
		if (time(NULL) >= deadline) {
			rc = rv_fail(e, EX_TEMPFAIL, "another gcal-sync is "
			    "running on this database; try again later");
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (rc != 0) {
		close(*fd);
		*fd = -1;
	}
out:
	buf_free(&path);
	return rc;
}

void
gcal_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
