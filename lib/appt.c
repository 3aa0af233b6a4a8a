/*
 * appt.c — booking rules: hours, leave, buffers, blocks, free slots. Every
 * check runs inside the caller's BEGIN IMMEDIATE transaction, so the check
 * and the write that follows it cannot be raced by another process.
 */
#include <stdlib.h>
#include <string.h>

#include "riserva.h"
#include "gcal.h"
#include "outbox.h"
#include "banned.h"

/* No appointment spans more than a day (a CHECK in the schema): the
 * overlap query bounds its index range with it. */
#define MAX_SPAN 86400

const struct rv_col appt_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "start", "START", RV_COL_TIME },
	{ "end", "END", RV_COL_TIME },
	{ "staff_name", "STAFF", 0 },
	{ "service_name", "SERVICE", 0 },
	{ "client_name", "CLIENT", 0 },
	{ "status", "STATUS", 0 },
	{ NULL, NULL, 0 },
};

const struct rv_col slot_cols[] = {
	{ "start", "START", RV_COL_TIME },
	{ "end", "END", RV_COL_TIME },
	{ "staff_id", "STAFF_ID", RV_COL_RIGHT },
	{ "staff_name", "STAFF", 0 },
	{ "service_name", "SERVICE", 0 },
	{ NULL, NULL, 0 },
};

const struct rv_col event_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "start", "START", RV_COL_TIME },
	{ "end", "END", RV_COL_TIME },
	{ "staff_id", "STAFF_ID", RV_COL_RIGHT },
	{ "source", "SOURCE", 0 },
	{ "busy", "BUSY", 0 },
	{ "title", "TITLE", 0 },
	{ NULL, NULL, 0 },
};

#define APPT_SELECT \
	"SELECT a.id, a.client_id, a.staff_id, a.service_id, a.start, " \
	"a.end, a.busy_end, a.status, a.version, a.notes, a.created, " \
	"a.updated, a.cancelled, a.cancel_reason, " \
	"c.name || ' ' || c.surname, s.name, v.name " \
	"FROM appointment a LEFT JOIN client c ON c.id = a.client_id " \
	"JOIN staff s ON s.id = a.staff_id " \
	"JOIN service v ON v.id = a.service_id "

static json_t *
appt_record(sqlite3_stmt *st)
{
	json_t *r = rec_new("appointment", sqlite3_column_int64(st, 0));

	rec_col_int(r, "client_id", st, 1);
	rec_col_int(r, "staff_id", st, 2);
	rec_col_int(r, "service_id", st, 3);
	rec_col_time(r, "start", st, 4);
	rec_col_time(r, "end", st, 5);
	rec_col_text(r, "status", st, 7);
	rec_col_int(r, "version", st, 8);
	json_object_set_new(r, "buffer", json_integer(
	    (sqlite3_column_int64(st, 6) - sqlite3_column_int64(st, 5)) / 60));
	rec_col_text(r, "client_name", st, 14);
	rec_col_text(r, "staff_name", st, 15);
	rec_col_text(r, "service_name", st, 16);
	rec_col_text(r, "notes", st, 9);
	rec_col_time(r, "created", st, 10);
	rec_col_time(r, "updated", st, 11);
	rec_col_time(r, "cancelled", st, 12);
	rec_col_text(r, "cancel_reason", st, 13);
	return r;
}

int
appt_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e)
{
	static const char sql[] = APPT_SELECT "WHERE a.id = ?";

	return rec_get(db, sql, id, appt_record, "appointment", rec, e);
}

/* "2026-12-01 10:00-11:00", both dates when it spans days, or just the
 * days ("2026-12-24 to 2026-12-26") when it runs midnight to midnight. */
static void
span_text(int64_t a, int64_t b, char out[96])
{
	char x[40], y[40];
	int yy, mm, dd, ma, mb;

	tm_local(a, x);
	tm_local(b, y);
	tm_day_of(a, &yy, &mm, &dd, &ma);
	tm_day_of(b, &yy, &mm, &dd, &mb);
	if (ma == 0 && mb == 0 && b - a >= 23 * 3600) {
		tm_day_of(b - 3600, &yy, &mm, &dd, NULL);
		if (b - a <= 25 * 3600)
			snprintf(out, 96, "%.10s", x);
		else
			snprintf(out, 96, "%.10s to %04d-%02d-%02d", x, yy, mm,
			    dd);
	} else if (strncmp(x, y, 10) == 0) {
		snprintf(out, 96, "%s-%s", x, y + 11);
	} else {
		snprintf(out, 96, "%s to %s", x, y);
	}
}

/* The weekly hours of a day, as text: "09:00-13:00 14:00-18:00" or "off". */
static void
hours_text(sqlite3 *db, int64_t staff_id, int dow, char *out, size_t n)
{
	sqlite3_stmt *st;
	size_t len = 0;
	char a[8], b[8];

	snprintf(out, n, "off");
	if (sqlite3_prepare_v2(db, "SELECT start_min, end_min FROM staff_hours "
	    "WHERE staff_id = ? AND dow = ? ORDER BY start_min", -1, &st,
	    NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int(st, 2, dow);
	while (sqlite3_step(st) == SQLITE_ROW && len + 13 < n) {
		tm_hhmm(sqlite3_column_int(st, 0), a);
		tm_hhmm(sqlite3_column_int(st, 1), b);
		len += (size_t)snprintf(out + len, n - len, "%s%s-%s",
		    len ? " " : "", a, b);
	}
	sqlite3_finalize(st);
}

/* Is [start, end) inside one of the staff member's ranges that day? */
static int
check_hours(sqlite3 *db, int64_t staff_id, const char *who, int64_t start,
    int64_t end, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT start_min, end_min FROM staff_hours "
	    "WHERE staff_id = ? AND dow = ? ORDER BY start_min";
	sqlite3_stmt *st;
	int y, m, d, dow, ok = 0, rc;
	char when[96], hours[128];

	tm_day_of(start, &y, &m, &d, NULL);
	dow = tm_weekday(y, m, d);
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int(st, 2, dow);
	while (!ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int a = sqlite3_column_int(st, 0), b = sqlite3_column_int(st, 1);
		int64_t r0 = tm_wall(y, m, d, a), r1;
		int yy = y, mm = m, dd = d;

		if (b == 1440) {
			tm_add_days(&yy, &mm, &dd, 1);
			r1 = tm_day_start(yy, mm, dd);
		} else {
			r1 = tm_wall(y, m, d, b);
		}
		ok = start >= r0 && end <= r1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, rc, e, "hours");
	if (ok)
		return 0;
	span_text(start, end, when);
	hours_text(db, staff_id, dow, hours, sizeof(hours));
	return rv_fail(e, EX_REFUSED,
	    "%s does not work %s (hours on %s: %s)", who, when,
	    tm_day_names[dow], hours);
}

static int
check_leave(sqlite3 *db, int64_t staff_id, const char *who, int64_t start,
    int64_t end, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, start, end, reason FROM staff_off "
	    "WHERE staff_id = ? AND end > ? AND start < ? ORDER BY start LIMIT 1";
	sqlite3_stmt *st;
	char span[96];
	int rc;

	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, end);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *why = sqlite3_column_text(st, 3);

		span_text(sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2), span);
		rc = rv_fail(e, EX_REFUSED, "%s is on leave %s%s%s%s "
		    "(leave %lld)", who, span, why ? " (" : "",
		    why ? (const char *)why : "", why ? ")" : "",
		    (long long)sqlite3_column_int64(st, 0));
	} else {
		rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "leave");
	}
	sqlite3_reset(st);
	return rc;
}

/* Another live appointment whose busy time [start, busy_end) meets ours.
 * The range on start is bounded below by MAX_SPAN, so the index walk is a
 * day's worth of rows whatever the size of the table. The message says
 * whose buffer, if any, is in the way. */
static int
check_appointments(sqlite3 *db, int64_t staff_id, int64_t start, int64_t end,
    int64_t busy_end, int64_t ignore, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, start, end, busy_end FROM appointment "
	    "WHERE staff_id = ?1 AND start < ?3 AND start > ?2 - 86400 "
	    "AND busy_end > ?2 AND status <> 'cancelled' AND id <> ?4 "
	    "ORDER BY start LIMIT 1";
	sqlite3_stmt *st;
	char span[96];
	int64_t id, a, b, bb;
	int rc;

	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, busy_end);
	sqlite3_bind_int64(st, 4, ignore);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "overlap");
	}
	id = sqlite3_column_int64(st, 0);
	a = sqlite3_column_int64(st, 1);
	b = sqlite3_column_int64(st, 2);
	bb = sqlite3_column_int64(st, 3);
	sqlite3_reset(st);
	span_text(a, b, span);
	if (start < b && end > a)
		return rv_fail(e, EX_REFUSED,
		    "slot taken: overlaps appointment %lld (%s)",
		    (long long)id, span);
	if (start < bb && end > a)
		return rv_fail(e, EX_REFUSED, "slot taken: inside the %lld "
		    "min buffer after appointment %lld (%s)",
		    (long long)((bb - b) / 60), (long long)id, span);
	return rv_fail(e, EX_REFUSED, "slot taken: this service's %lld min "
	    "buffer runs into appointment %lld (%s)",
	    (long long)((busy_end - end) / 60), (long long)id, span);
}

static int
check_blocks(sqlite3 *db, int64_t staff_id, int64_t start, int64_t busy_end,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, start, end, source, title FROM event "
	    "WHERE staff_id = ? AND end > ? AND start < ? AND busy "
	    "AND source <> 'booking' ORDER BY start LIMIT 1";
	sqlite3_stmt *st;
	char span[96];
	int rc;

	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, busy_end);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *src = (const char *)sqlite3_column_text(st, 3);
		const unsigned char *title = sqlite3_column_text(st, 4);

		span_text(sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2), span);
		rc = rv_fail(e, EX_REFUSED,
		    "slot taken: overlaps %s block %lld%s%s%s (%s)",
		    strcmp(src, "google") == 0 ? "Google Calendar" : "busy",
		    (long long)sqlite3_column_int64(st, 0), title ? " '" : "",
		    title ? (const char *)title : "", title ? "'" : "", span);
	} else {
		rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "blocks");
	}
	sqlite3_reset(st);
	return rc;
}

struct svc {
	int64_t id, duration, buffer;
	int retired;
	char name[128];
};

static int
load_service(sqlite3 *db, int64_t id, struct svc *s, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT duration, buffer, retired IS NOT NULL, name FROM service "
	    "WHERE id = ?";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s->id = id;
		s->duration = sqlite3_column_int64(st, 0) * 60;
		s->buffer = sqlite3_column_int64(st, 1) * 60;
		s->retired = sqlite3_column_int(st, 2);
		snprintf(s->name, sizeof(s->name), "%s",
		    sqlite3_column_text(st, 3));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "no such service %lld",
		    (long long)id);
	} else {
		rc = db_fail(db, rc, e, "service");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The standing terms: active, performs the service, works then. */
static int
check_terms(sqlite3 *db, int64_t staff_id, const struct svc *s, int64_t start,
    char who[256], struct rv_err *e)
{
	static const char sql[] =
	    "SELECT s.active, s.email, EXISTS (SELECT 1 FROM staff_service "
	    "WHERE staff_id = s.id AND service_id = ?2) FROM staff s "
	    "WHERE s.id = ?1";
	sqlite3_stmt *st;
	int active, performs, rc;

	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, s->id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			return rv_fail(e, EX_NOINPUT,
			    "no such staff member %lld", (long long)staff_id);
		return db_fail(db, rc, e, "staff");
	}
	active = sqlite3_column_int(st, 0);
	snprintf(who, 256, "%s", sqlite3_column_text(st, 1));
	performs = sqlite3_column_int(st, 2);
	sqlite3_reset(st);
	if (!active)
		return rv_fail(e, EX_REFUSED, "%s is not active", who);
	if (!performs)
		return rv_fail(e, EX_REFUSED, "%s does not perform '%s'", who,
		    s->name);
	return check_hours(db, staff_id, who, start, start + s->duration, e);
}

/* Everything that must hold for staff to take [start, end) plus buffer. */
static int
check_staff(sqlite3 *db, int64_t staff_id, const struct svc *s, int64_t start,
    int64_t ignore, struct rv_err *e)
{
	char who[256];
	int64_t end = start + s->duration, busy_end = end + s->buffer;
	int rc;

	if ((rc = check_terms(db, staff_id, s, start, who, e)) != 0 ||
	    (rc = check_leave(db, staff_id, who, start, end, e)) != 0 ||
	    (rc = check_appointments(db, staff_id, start, end, busy_end,
	    ignore, e)) != 0 ||
	    (rc = check_blocks(db, staff_id, start, busy_end, e)) != 0)
		return rc;
	return 0;
}

static int
check_client(sqlite3 *db, int64_t client_id, struct rv_err *e)
{
	int restricted, rc;

	if ((rc = client_restricted(db, client_id, &restricted, e)) != 0)
		return rc;
	if (restricted)
		return rv_fail(e, EX_NOPERM,
		    "client %lld is restricted (GDPR art. 18): no bookings "
		    "until the restriction is lifted", (long long)client_id);
	return 0;
}

static int
check_future(int64_t start, int64_t now, struct rv_err *e)
{
	char when[40];

	if (start >= now)
		return 0;
	tm_local(start, when);
	return rv_fail(e, EX_DATAERR, "%s is in the past", when);
}

/*
 * What every change to an appointment does besides the change itself: its
 * audit row. Later work (notices, calendar pushes) hangs off here too, in
 * the same transaction.
 */
static int
appt_changed(sqlite3 *db, const struct rv_who *w, int64_t id,
    int64_t client_id, const char *action, const char *fields,
    struct rv_err *e)
{
	char ref[40];
	int rc;

	if ((rc = outbox_appointment(db, w, id, action, e)) != 0)
		return rc;
	snprintf(ref, sizeof(ref), "appointment %lld", (long long)id);
	if ((rc = audit_append(db, w, action, client_id, ref, fields, e)) != 0)
		return rc;
	if ((rc = gcal_queue_appt(db, w, id, e)) != 0)
		return rc;
	return 0;
}

/* The qualified, active staff for a service, in id order. */
static int
qualified_staff(sqlite3 *db, int64_t service_id, struct rv_ids *out,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT s.id FROM staff s JOIN staff_service x ON x.staff_id = s.id "
	    "WHERE x.service_id = ? AND s.active ORDER BY s.id";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, service_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ids_add(out, sqlite3_column_int64(st, 0));
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "staff");
	sqlite3_finalize(st);
	return rc;
}

/* Picks the first free qualified operator when none was named. */
static int
choose_staff(sqlite3 *db, const struct svc *s, int64_t start, int64_t ignore,
    int64_t *staff_id, struct rv_err *e)
{
	struct rv_ids q = { 0 };
	char when[40];
	size_t i;
	int rc;

	if ((rc = qualified_staff(db, s->id, &q, e)) != 0)
		goto out;
	if (q.n == 0) {
		rc = rv_fail(e, EX_REFUSED, "no active staff member performs "
		    "'%s'", s->name);
		goto out;
	}
	for (i = 0; i < q.n; i++) {
		rc = check_staff(db, q.v[i], s, start, ignore, e);
		if (rc == 0) {
			*staff_id = q.v[i];
			goto out;
		}
		if (rc != EX_REFUSED)
			goto out;
	}
	/* One candidate: its own reason says more than a summary. */
	if (q.n > 1) {
		tm_local(start, when);
		rc = rv_fail(e, EX_REFUSED, "none of the %zu staff members "
		    "performing '%s' is free at %s", q.n, s->name, when);
	}
out:
	ids_free(&q);
	return rc;
}

int
appt_book(sqlite3 *db, const struct rv_who *w, struct appt_req *r,
    int64_t *id, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO appointment (client_id, staff_id, service_id, start, "
	    "end, busy_end, notes, created, updated) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st;
	struct svc s;
	int rc;

	if ((rc = check_client(db, r->client_id, e)) != 0 ||
	    (rc = load_service(db, r->service_id, &s, e)) != 0)
		return rc;
	if (s.retired)
		return rv_fail(e, EX_REFUSED,
		    "service '%s' is retired: it takes no new bookings",
		    s.name);
	if ((rc = check_future(r->start, w->now, e)) != 0)
		return rc;
	if (r->staff_id != 0)
		rc = check_staff(db, r->staff_id, &s, r->start, 0, e);
	else
		rc = choose_staff(db, &s, r->start, 0, &r->staff_id, e);
	if (rc != 0)
		return rc;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, r->client_id);
	sqlite3_bind_int64(st, 2, r->staff_id);
	sqlite3_bind_int64(st, 3, r->service_id);
	sqlite3_bind_int64(st, 4, r->start);
	sqlite3_bind_int64(st, 5, r->start + s.duration);
	sqlite3_bind_int64(st, 6, r->start + s.duration + s.buffer);
	db_bind_text(st, 7, r->notes);
	sqlite3_bind_int64(st, 8, w->now);
	sqlite3_bind_int64(st, 9, w->now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "appointment");
	*id = sqlite3_last_insert_rowid(db);
	return appt_changed(db, w, *id, r->client_id, "appointment.add",
	    r->notes ? "client_id,staff_id,service_id,start,end,notes" :
	    "client_id,staff_id,service_id,start,end", e);
}

struct appt_row {
	int64_t client_id, staff_id, service_id, start, end, busy_end;
	char status[16];
};

static int
load_appt(sqlite3 *db, int64_t id, struct appt_row *a, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT client_id, staff_id, service_id, start, end, busy_end, "
	    "status FROM appointment WHERE id = ?";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		a->client_id = sqlite3_column_int64(st, 0);
		a->staff_id = sqlite3_column_int64(st, 1);
		a->service_id = sqlite3_column_int64(st, 2);
		a->start = sqlite3_column_int64(st, 3);
		a->end = sqlite3_column_int64(st, 4);
		a->busy_end = sqlite3_column_int64(st, 5);
		snprintf(a->status, sizeof(a->status), "%s",
		    sqlite3_column_text(st, 6));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "no such appointment %lld",
		    (long long)id);
	} else {
		rc = db_fail(db, rc, e, "appointment");
	}
	sqlite3_finalize(st);
	return rc;
}

int
appt_move(sqlite3 *db, const struct rv_who *w, struct appt_req *r,
    struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE appointment SET staff_id = ?, start = ?, end = ?, "
	    "busy_end = ?, status = 'booked', version = version + 1, "
	    "updated = ? WHERE id = ?";
	sqlite3_stmt *st;
	struct appt_row a;
	struct svc s;
	int rc;

	if ((rc = load_appt(db, r->id, &a, e)) != 0)
		return rc;
	if (strcmp(a.status, "booked") != 0 &&
	    strcmp(a.status, "needs_review") != 0)
		return rv_fail(e, EX_REFUSED,
		    "appointment %lld is %s: it cannot be moved",
		    (long long)r->id, a.status);
	if (a.client_id != 0 && (rc = check_client(db, a.client_id, e)) != 0)
		return rc;
	if ((rc = load_service(db, a.service_id, &s, e)) != 0)
		return rc;
	/* The length booked stays, whatever the catalog says today. */
	s.duration = a.end - a.start;
	s.buffer = a.busy_end - a.end;
	if ((rc = check_future(r->start, w->now, e)) != 0)
		return rc;
	if (r->staff_id == 0)
		r->staff_id = a.staff_id;
	/* A retried or repeated move: no new version, notice or push. */
	r->unchanged = r->start == a.start && r->staff_id == a.staff_id &&
	    strcmp(a.status, "booked") == 0;
	if (r->unchanged)
		return 0;
	if ((rc = check_staff(db, r->staff_id, &s, r->start, r->id, e)) != 0)
		return rc;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, r->staff_id);
	sqlite3_bind_int64(st, 2, r->start);
	sqlite3_bind_int64(st, 3, r->start + s.duration);
	sqlite3_bind_int64(st, 4, r->start + s.duration + s.buffer);
	sqlite3_bind_int64(st, 5, w->now);
	sqlite3_bind_int64(st, 6, r->id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "appointment");
	return appt_changed(db, w, r->id, a.client_id, "appointment.move",
	    r->start == a.start ? "staff_id" : r->staff_id != a.staff_id ?
	    "start,end,staff_id" : "start,end", e);
}

int
appt_cancel(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE appointment SET status = 'cancelled', cancelled = ?, "
	    "cancel_reason = ?, version = version + 1, updated = ? "
	    "WHERE id = ?";
	sqlite3_stmt *st;
	struct appt_row a;
	int rc;

	if ((rc = load_appt(db, id, &a, e)) != 0)
		return rc;
	if (strcmp(a.status, "cancelled") == 0)
		return rv_fail(e, EX_REFUSED,
		    "appointment %lld is already cancelled", (long long)id);
	if (strcmp(a.status, "done") == 0)
		return rv_fail(e, EX_REFUSED,
		    "appointment %lld is done: it cannot be cancelled",
		    (long long)id);
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, w->now);
	db_bind_text(st, 2, w->reason);
	sqlite3_bind_int64(st, 3, w->now);
	sqlite3_bind_int64(st, 4, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "appointment");
	return appt_changed(db, w, id, a.client_id, "appointment.cancel",
	    w->reason ? "status,cancel_reason" : "status", e);
}

int
appt_list(sqlite3 *db, const struct appt_filter *f,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	struct rv_buf sql = { 0 };
	sqlite3_stmt *st = NULL;
	int n = 0, rc;

	/* Fixed fragments chosen by which filters are set; values are bound. */
	buf_adds(&sql, APPT_SELECT "WHERE 1");
	if (f->client_id)
		buf_adds(&sql, " AND a.client_id = ?");
	if (f->staff_id)
		buf_adds(&sql, " AND a.staff_id = ?");
	if (f->from)
		buf_adds(&sql, " AND a.start >= ?");
	if (f->to)
		buf_adds(&sql, " AND a.start < ?");
	if (f->status)
		buf_adds(&sql, " AND a.status = ?");
	buf_adds(&sql, " ORDER BY a.start, a.id");
	if ((rc = db_prepare(db, sql.s, &st, e)) != 0)
		goto out;
	if (f->client_id)
		sqlite3_bind_int64(st, ++n, f->client_id);
	if (f->staff_id)
		sqlite3_bind_int64(st, ++n, f->staff_id);
	if (f->from)
		sqlite3_bind_int64(st, ++n, f->from);
	if (f->to)
		sqlite3_bind_int64(st, ++n, f->to);
	if (f->status)
		sqlite3_bind_text(st, ++n, f->status, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(appt_record(st), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "appointments");
out:
	sqlite3_finalize(st);
	buf_free(&sql);
	return rc;
}

int
appt_overlapping(sqlite3 *db, int64_t staff_id, int64_t start, int64_t end,
    int with_buffer, int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e)
{
	static const char sql[] = APPT_SELECT
	    "WHERE a.staff_id = ?1 AND a.start < ?3 AND a.start > ?2 - 86400 "
	    "AND (CASE ?4 WHEN 1 THEN a.busy_end ELSE a.end END) > ?2 "
	    "AND a.status IN ('booked', 'needs_review') ORDER BY a.start";
	static const char sql_long[] = APPT_SELECT
	    "WHERE a.staff_id = ?1 AND a.start < ?3 "
	    "AND (CASE ?4 WHEN 1 THEN a.busy_end ELSE a.end END) > ?2 "
	    "AND a.status IN ('booked', 'needs_review') ORDER BY a.start";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, end - start <= MAX_SPAN ? sql : sql_long, &st,
	    e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, end);
	sqlite3_bind_int(st, 4, with_buffer);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(appt_record(st), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "appointments");
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * After a change to a staff member's hours, services or active status:
 * each live appointment from `from` on that they could no longer take as
 * booked, with the reason, for a warning. Leave and clashes are told of
 * when they arise; the rows stay.
 */
int
appt_stranded(sqlite3 *db, int64_t staff_id, int64_t from,
    int (*fn)(int64_t id, int64_t start, const char *why, void *arg),
    void *arg, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, service_id, start, end, busy_end FROM appointment "
	    "WHERE staff_id = ? AND start >= ? "
	    "AND status IN ('booked', 'needs_review') ORDER BY start, id";
	sqlite3_stmt *st;
	struct rv_err why;
	struct svc s;
	char who[256];
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, from);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		int64_t start = sqlite3_column_int64(st, 2);

		if ((rc = load_service(db, sqlite3_column_int64(st, 1), &s,
		    e)) != 0)
			goto out;
		/* The length booked, as book move keeps it. */
		s.duration = sqlite3_column_int64(st, 3) - start;
		s.buffer = sqlite3_column_int64(st, 4) -
		    sqlite3_column_int64(st, 3);
		memset(&why, 0, sizeof(why));
		rc = check_terms(db, staff_id, &s, start, who, &why);
		if (rc == EX_REFUSED)
			rc = fn(id, start, why.msg, arg);
		else if (rc != 0)
			*e = why;
		if (rc != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "appointments");
out:
	sqlite3_finalize(st);
	return rc;
}

/* ---- free slots ---- */

struct busy {
	int64_t start, end;
};

struct busylist {
	struct busy *v;
	size_t n, cap;
};

static void
busy_add(struct busylist *l, int64_t start, int64_t end)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].start = start;
	l->v[l->n].end = end;
	l->n++;
}

static int
busy_meets(const struct busylist *l, int64_t start, int64_t end)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].start < end && l->v[i].end > start)
			return 1;
	return 0;
}

/* Everything that keeps a staff member busy in [from, to). */
static int
load_busy(sqlite3 *db, int64_t staff_id, int64_t from, int64_t to,
    struct busylist *busy, struct busylist *leave, struct rv_err *e)
{
	static const char appts[] =
	    "SELECT start, busy_end FROM appointment WHERE staff_id = ?1 "
	    "AND start < ?3 AND start > ?2 - 86400 AND busy_end > ?2 "
	    "AND status <> 'cancelled'";
	static const char events[] =
	    "SELECT start, end FROM event WHERE staff_id = ?1 AND end > ?2 "
	    "AND start < ?3 AND busy AND source <> 'booking'";
	static const char off[] =
	    "SELECT start, end FROM staff_off WHERE staff_id = ?1 AND end > ?2 "
	    "AND start < ?3";
	const char *sql[] = { appts, events, off };
	struct busylist *to_list[] = { busy, busy, leave };
	sqlite3_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < 3; i++) {
		if ((rc = db_cached(db, sql[i], &st, e)) != 0)
			return rc;
		sqlite3_bind_int64(st, 1, staff_id);
		sqlite3_bind_int64(st, 2, from);
		sqlite3_bind_int64(st, 3, to);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			busy_add(to_list[i], sqlite3_column_int64(st, 0),
			    sqlite3_column_int64(st, 1));
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_fail(db, rc, e, "slots");
	}
	return 0;
}

struct slot {
	int64_t t;
	size_t staff;	/* index into the day's staff list */
};

struct slots {
	struct slot *v;
	size_t n, cap;
};

static int
slot_order(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->staff < y->staff ? -1 : x->staff > y->staff;
}

/* The free starts of one staff member on one day, appended to out. */
static int
day_slots(sqlite3 *db, const struct slot_req *r, const struct svc *s,
    int64_t staff_id, size_t staff, int y, int m, int d, struct slots *out,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT start_min, end_min FROM staff_hours WHERE staff_id = ? "
	    "AND dow = ? ORDER BY start_min";
	struct busylist busy = { 0 }, leave = { 0 };
	sqlite3_stmt *st;
	int ny = y, nm = m, nd = d, rc;
	int64_t ds, de;

	tm_add_days(&ny, &nm, &nd, 1);
	ds = tm_day_start(y, m, d);
	de = tm_day_start(ny, nm, nd);
	if ((rc = load_busy(db, staff_id, ds, de + s->duration + s->buffer,
	    &busy, &leave, e)) != 0)
		goto out;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int(st, 2, tm_weekday(y, m, d));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int a = sqlite3_column_int(st, 0), b = sqlite3_column_int(st, 1);
		int64_t r0 = tm_wall(y, m, d, a);
		int64_t r1 = b == 1440 ? de : tm_wall(y, m, d, b);
		int64_t t;

		for (t = r0; t + s->duration <= r1; t += r->step) {
			if (t < r->now || busy_meets(&leave, t, t + s->duration) ||
			    busy_meets(&busy, t, t + s->duration + s->buffer))
				continue;
			if (out->n == out->cap) {
				out->cap = out->cap ? out->cap * 2 : 256;
				out->v = xrealloc(out->v,
				    out->cap * sizeof(*out->v));
			}
			out->v[out->n].t = t;
			out->v[out->n].staff = staff;
			out->n++;
		}
	}
	sqlite3_reset(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "hours");
out:
	free(busy.v);
	free(leave.v);
	return rc;
}

int
appt_slots(sqlite3 *db, const struct slot_req *r,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	static const char name_sql[] = "SELECT name FROM staff WHERE id = ?";
	struct rv_ids staff = { 0 };
	struct slots day = { 0 };
	json_t **names = NULL;
	sqlite3_stmt *st;
	struct svc s;
	int y = r->y, m = r->m, d = r->d, i;
	size_t j;
	int rc;

	if ((rc = load_service(db, r->service_id, &s, e)) != 0)
		goto out;
	if (s.retired) {
		rc = rv_fail(e, EX_REFUSED, "service '%s' is retired", s.name);
		goto out;
	}
	if ((rc = qualified_staff(db, s.id, &staff, e)) != 0)
		goto out;
	if (r->staff_id != 0) {
		/* A named member must be one who could take the booking. */
		for (j = 0; j < staff.n && staff.v[j] != r->staff_id; j++)
			;
		if (j == staff.n) {
			char who[256];

			rc = rv_fail(e, EX_REFUSED, "%s does not perform '%s' "
			    "or is not active", staff_label(db, r->staff_id,
			    who, sizeof(who)), s.name);
			goto out;
		}
		staff.n = 0;
		ids_add(&staff, r->staff_id);
	}
	names = xcalloc(staff.n, sizeof(*names));
	for (j = 0; j < staff.n; j++) {
		if ((rc = db_cached(db, name_sql, &st, e)) != 0)
			goto out;
		sqlite3_bind_int64(st, 1, staff.v[j]);
		names[j] = json_string(sqlite3_step(st) == SQLITE_ROW ?
		    (const char *)sqlite3_column_text(st, 0) : "");
		sqlite3_reset(st);
	}
	for (i = 0; i < r->days; i++, tm_add_days(&y, &m, &d, 1)) {
		day.n = 0;
		for (j = 0; j < staff.n; j++)
			if ((rc = day_slots(db, r, &s, staff.v[j], j, y, m, d,
			    &day, e)) != 0)
				goto out;
		/* One day's slots in time order across staff members. */
		qsort(day.v, day.n, sizeof(*day.v), slot_order);
		for (j = 0; j < day.n; j++) {
			json_t *slot = json_object();

			json_object_set_new(slot, "type", json_string("slot"));
			json_object_set_new(slot, "staff_id",
			    json_integer(staff.v[day.v[j].staff]));
			json_object_set(slot, "staff_name",
			    names[day.v[j].staff]);
			json_object_set_new(slot, "service_id",
			    json_integer(s.id));
			json_object_set_new(slot, "service_name",
			    json_string(s.name));
			rec_time(slot, "start", day.v[j].t);
			rec_time(slot, "end", day.v[j].t + s.duration);
			if ((rc = fn(slot, arg)) != 0)
				goto out;
		}
	}
out:
	for (j = 0; names != NULL && j < staff.n; j++)
		json_decref(names[j]);
	free(names);
	free(day.v);
	ids_free(&staff);
	return rc;
}

/* ---- calendar blocks ---- */

static json_t *
event_record(sqlite3_stmt *st)
{
	json_t *r = rec_new("event", sqlite3_column_int64(st, 0));

	rec_col_int(r, "staff_id", st, 1);
	rec_col_time(r, "start", st, 2);
	rec_col_time(r, "end", st, 3);
	rec_col_text(r, "source", st, 4);
	rec_col_text(r, "title", st, 5);
	rec_col_bool(r, "busy", st, 6);
	rec_col_int(r, "appointment_id", st, 7);
	rec_col_time(r, "created", st, 8);
	return r;
}

#define EVENT_SELECT \
	"SELECT id, staff_id, start, end, source, title, busy, " \
	"appointment_id, created FROM event "

int
event_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e)
{
	static const char sql[] = EVENT_SELECT "WHERE id = ?";

	return rec_get(db, sql, id, event_record, "block", rec, e);
}

int
event_list(sqlite3 *db, int64_t staff_id, int64_t from, int64_t to,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	static const char sql[] = EVENT_SELECT
	    "WHERE (?1 = 0 OR staff_id = ?1) AND end > ?2 AND start < ?3 "
	    "AND source <> 'booking' ORDER BY start, id";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to ? to : INT64_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(event_record(st), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "events");
out:
	sqlite3_finalize(st);
	return rc;
}

int
block_add(sqlite3 *db, const struct rv_who *w, int64_t staff_id,
    int64_t start, int64_t end, const char *title, int64_t *id,
    struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO event (staff_id, start, end, source, title, busy, "
	    "created, updated) VALUES (?, ?, ?, 'manual', ?, 1, ?, ?)";
	sqlite3_stmt *st;
	char ref[32];
	int rc;

	if (end <= start)
		return rv_fail(e, EX_DATAERR, "a block must end after it "
		    "starts");
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, end);
	db_bind_text(st, 4, title);
	sqlite3_bind_int64(st, 5, w->now);
	sqlite3_bind_int64(st, 6, w->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "block");
	*id = sqlite3_last_insert_rowid(db);
	snprintf(ref, sizeof(ref), "event %lld", (long long)*id);
	return audit_append(db, w, "event.add", 0, ref,
	    title ? "staff_id,start,end,title" : "staff_id,start,end", e);
}

int
block_remove(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e)
{
	sqlite3_stmt *st;
	char ref[32], src[16];
	int rc;

	if ((rc = db_prepare(db, "SELECT source FROM event WHERE id = ?", &st,
	    e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	snprintf(src, sizeof(src), "%s", rc == SQLITE_ROW ?
	    (const char *)sqlite3_column_text(st, 0) : "");
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return rv_fail(e, EX_NOINPUT, "no such block %lld",
		    (long long)id);
	if (rc != SQLITE_ROW)
		return db_fail(db, rc, e, "event");
	if (strcmp(src, "manual") != 0)
		return rv_fail(e, EX_REFUSED, "block %lld comes from %s: "
		    "change it there", (long long)id,
		    strcmp(src, "google") == 0 ? "Google Calendar" :
		    "a booking");
	if ((rc = db_prepare(db, "DELETE FROM event WHERE id = ?", &st, e)) !=
	    0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "event");
	snprintf(ref, sizeof(ref), "event %lld", (long long)id);
	return audit_append(db, w, "event.remove", 0, ref, NULL, e);
}
