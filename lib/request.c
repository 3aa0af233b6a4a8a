/*
 * request.c — the register of data-subject requests (art. 15-22) and their
 * deadlines: one calendar month from receipt, two more once extended
 * (art. 12(3)), counted as Regulation 1182/71 counts months.
 */
#include <string.h>

#include "riserva.h"
#include "request.h"
#include "banned.h"

const char *const request_kinds[] = { "access", "rectification", "erasure",
	"restriction", "portability", "objection", "withdrawal", NULL };

const struct rv_col request_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "client_name", "CLIENT", 0 },
	{ "kind", "KIND", 0 },
	{ "received", "RECEIVED", 0 },
	{ "due", "DUE", 0 },
	{ "status", "STATUS", 0 },
	{ "days_left", "LEFT", RV_COL_RIGHT },
	{ "outcome", "OUTCOME", 0 },
	{ NULL, NULL, 0 },
};

void
date_add_months(int *y, int *m, int *d, int n)
{
	int months = *y * 12 + (*m - 1) + n;
	int dim;

	*y = months / 12;
	*m = months % 12 + 1;
	dim = tm_days_in_month(*y, *m);
	if (*d > dim)
		*d = dim;
}

void
date_format(int y, int m, int d, char buf[16])
{
	snprintf(buf, 16, "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
}

/* The local calendar day of t, as days since the epoch and as text. */
static int64_t
day_of(int64_t t, char buf[16])
{
	int y, m, d;

	tm_day_of(t, &y, &m, &d, NULL);
	if (buf != NULL)
		date_format(y, m, d, buf);
	return tm_days_from_civil(y, m, d);
}

/* Days since the epoch of a stored "YYYY-MM-DD". */
static int64_t
stored_day(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	int y, m, d;

	if (s == NULL || tm_parse_date(s, &y, &m, &d, NULL) != 0)
		return 0;
	return tm_days_from_civil(y, m, d);
}

#define REQUEST_SELECT \
	"SELECT r.id, r.client_id, c.name || ' ' || c.surname, r.kind, " \
	"r.received, r.due, r.channel, r.notes, r.extended, " \
	"r.extend_reason, r.closed, r.outcome, r.close_reason, r.actor, " \
	"r.created, r.updated " \
	"FROM request r LEFT JOIN client c ON c.id = r.client_id "

static json_t *
request_record(sqlite3_stmt *st, int64_t today)
{
	json_t *r = rec_new("request", sqlite3_column_int64(st, 0));
	int64_t due = stored_day(st, 5);
	int closed = sqlite3_column_type(st, 10) != SQLITE_NULL;

	rec_col_int(r, "client_id", st, 1);
	rec_col_text(r, "client_name", st, 2);
	rec_col_text(r, "kind", st, 3);
	rec_col_text(r, "received", st, 4);
	rec_col_text(r, "due", st, 5);
	json_object_set_new(r, "status", json_string(closed ? "closed" :
	    today > due ? "overdue" : "open"));
	json_object_set_new(r, "days_left", closed ? json_null() :
	    json_integer(due - today));
	rec_col_text(r, "channel", st, 6);
	rec_col_text(r, "notes", st, 7);
	rec_col_time(r, "extended", st, 8);
	rec_col_text(r, "extend_reason", st, 9);
	rec_col_time(r, "closed", st, 10);
	rec_col_text(r, "outcome", st, 11);
	rec_col_text(r, "close_reason", st, 12);
	/* Answered by the end of the due day, local time. */
	json_object_set_new(r, "on_time", !closed ? json_null() :
	    json_boolean(day_of(sqlite3_column_int64(st, 10), NULL) <= due));
	rec_col_text(r, "actor", st, 13);
	rec_col_time(r, "created", st, 14);
	rec_col_time(r, "updated", st, 15);
	return r;
}

static int
check_kind(const char *kind, struct rv_err *e)
{
	int i;

	for (i = 0; request_kinds[i] != NULL; i++)
		if (kind != NULL && strcmp(kind, request_kinds[i]) == 0)
			return 0;
	return rv_fail(e, EX_DATAERR, "bad kind '%s': access, rectification, "
	    "erasure, restriction, portability, objection or withdrawal",
	    kind ? kind : "");
}

int
request_open(sqlite3 *db, const struct rv_who *w, const struct request_new *r,
    int64_t *id, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO request (client_id, kind, received, due, channel, "
	    "notes, actor, created, updated) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st;
	struct rv_buf fields = { 0 };
	char received[16], due[16], today[16], ref[32];
	int y = r->y, m = r->m, d = r->d, rc;
	int64_t t = day_of(w->now, today);

	if ((rc = check_kind(r->kind, e)) != 0 ||
	    (rc = check_text("channel", r->channel, 100, 0, 0, e)) != 0 ||
	    (rc = check_text("notes", r->notes, 2000, 0, 1, e)) != 0)
		return rc;
	if (y == 0)
		tm_day_of(w->now, &y, &m, &d, NULL);
	date_format(y, m, d, received);
	if (tm_days_from_civil(y, m, d) > t)
		return rv_fail(e, EX_DATAERR, "received %s is after today (%s)",
		    received, today);
	date_add_months(&y, &m, &d, 1);
	date_format(y, m, d, due);
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, r->client_id);
	db_bind_text(st, 2, r->kind);
	db_bind_text(st, 3, received);
	db_bind_text(st, 4, due);
	db_bind_text(st, 5, r->channel && *r->channel ? r->channel : NULL);
	db_bind_text(st, 6, r->notes && *r->notes ? r->notes : NULL);
	db_bind_text(st, 7, w->actor);
	sqlite3_bind_int64(st, 8, w->now);
	sqlite3_bind_int64(st, 9, w->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "request");
	*id = sqlite3_last_insert_rowid(db);
	buf_adds(&fields, "kind,received,due");
	if (r->channel && *r->channel)
		buf_adds(&fields, ",channel");
	if (r->notes && *r->notes)
		buf_adds(&fields, ",notes");
	snprintf(ref, sizeof(ref), "request %lld", (long long)*id);
	rc = audit_append(db, w, "request.open", r->client_id, ref, fields.s,
	    e);
	buf_free(&fields);
	return rc;
}

struct req_row {
	int64_t client_id, closed;
	int extended;
	char due[16], outcome[16];
};

static int
load_request(sqlite3 *db, int64_t id, struct req_row *q, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT coalesce(client_id, 0), due, extended IS NOT NULL, "
	    "coalesce(closed, 0), coalesce(outcome, '') FROM request "
	    "WHERE id = ?";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		q->client_id = sqlite3_column_int64(st, 0);
		snprintf(q->due, sizeof(q->due), "%s",
		    sqlite3_column_text(st, 1));
		q->extended = sqlite3_column_int(st, 2);
		q->closed = sqlite3_column_int64(st, 3);
		snprintf(q->outcome, sizeof(q->outcome), "%s",
		    sqlite3_column_text(st, 4));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "no such request %lld",
		    (long long)id);
	} else {
		rc = db_fail(db, rc, e, "request");
	}
	sqlite3_finalize(st);
	return rc;
}

static int
refuse_closed(const struct req_row *q, int64_t id, struct rv_err *e)
{
	char when[40];

	tm_local(q->closed, when);
	return rv_fail(e, EX_REFUSED, "request %lld is closed (%s on %.10s)",
	    (long long)id, q->outcome, when);
}

int
request_extend(sqlite3 *db, const struct rv_who *w, int64_t id,
    const char *reason, struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE request SET due = ?, extended = ?, extend_reason = ?, "
	    "updated = ? WHERE id = ?";
	sqlite3_stmt *st;
	struct req_row q;
	char today[16], due[16], ref[32];
	int y, m, d, rc;

	if ((rc = check_text("reason", reason, 500, 1, 1, e)) != 0 ||
	    (rc = load_request(db, id, &q, e)) != 0)
		return rc;
	if (q.closed)
		return refuse_closed(&q, id, e);
	if (q.extended)
		return rv_fail(e, EX_REFUSED, "request %lld was already "
		    "extended: art. 12(3) allows it once", (long long)id);
	day_of(w->now, today);
	/* The subject must hear of the extension within the first month. */
	if (strcmp(today, q.due) > 0)
		return rv_fail(e, EX_REFUSED, "request %lld was due %s: an "
		    "extension must be given within the first month "
		    "(art. 12(3))", (long long)id, q.due);
	if ((rc = tm_parse_date(q.due, &y, &m, &d, e)) != 0)
		return rc;
	date_add_months(&y, &m, &d, 2);
	date_format(y, m, d, due);
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	db_bind_text(st, 1, due);
	sqlite3_bind_int64(st, 2, w->now);
	db_bind_text(st, 3, reason);
	sqlite3_bind_int64(st, 4, w->now);
	sqlite3_bind_int64(st, 5, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "request");
	snprintf(ref, sizeof(ref), "request %lld", (long long)id);
	return audit_append(db, w, "request.extend", q.client_id, ref,
	    "due,extended,extend_reason", e);
}

int
request_close(sqlite3 *db, const struct rv_who *w, int64_t id,
    const char *outcome, const char *reason, struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE request SET closed = ?, outcome = ?, close_reason = ?, "
	    "updated = ? WHERE id = ?";
	sqlite3_stmt *st;
	struct req_row q;
	char ref[32];
	int rc;

	if (outcome == NULL || (strcmp(outcome, "done") != 0 &&
	    strcmp(outcome, "refused") != 0))
		return rv_fail(e, EX_DATAERR, "bad outcome '%s': done or "
		    "refused", outcome ? outcome : "");
	if (strcmp(outcome, "refused") == 0 && (reason == NULL ||
	    *reason == '\0'))
		return rv_fail(e, EX_DATAERR, "a refusal needs its reasons "
		    "(art. 12(4)): give --reason");
	if ((rc = check_text("reason", reason, 500, 0, 1, e)) != 0 ||
	    (rc = load_request(db, id, &q, e)) != 0)
		return rc;
	if (q.closed)
		return refuse_closed(&q, id, e);
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, w->now);
	db_bind_text(st, 2, outcome);
	db_bind_text(st, 3, reason && *reason ? reason : NULL);
	sqlite3_bind_int64(st, 4, w->now);
	sqlite3_bind_int64(st, 5, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "request");
	snprintf(ref, sizeof(ref), "request %lld", (long long)id);
	return audit_append(db, w, "request.close", q.client_id, ref,
	    reason && *reason ? "closed,outcome,close_reason" :
	    "closed,outcome", e);
}

int
request_get(sqlite3 *db, int64_t id, int64_t now, json_t **rec,
    struct rv_err *e)
{
	static const char sql[] = REQUEST_SELECT "WHERE r.id = ?";
	sqlite3_stmt *st;
	int rc;

	*rec = NULL;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*rec = request_record(st, day_of(now, NULL));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "no such request %lld",
		    (long long)id);
	} else {
		rc = db_fail(db, rc, e, "request");
	}
	sqlite3_finalize(st);
	return rc;
}

int
request_list(sqlite3 *db, const struct request_filter *f,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	/* Dates as YYYY-MM-DD compare as text. */
	static const char sql[] = REQUEST_SELECT
	    "WHERE (?1 = 0 OR r.client_id = ?1) "
	    "AND (?2 IS NULL OR r.kind = ?2) "
	    "AND (?3 = 0 OR r.closed IS NULL) "
	    "AND (?4 IS NULL OR (r.closed IS NULL AND r.due < ?4)) "
	    "AND (?5 IS NULL OR (r.closed IS NULL AND r.due <= ?5)) "
	    "ORDER BY CASE WHEN ?4 IS NOT NULL OR ?5 IS NOT NULL THEN r.due "
	    "END, r.id";
	sqlite3_stmt *st;
	char today[16], limit[16];
	int64_t t = day_of(f->now, today);
	int y, m, d, rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, f->client_id);
	db_bind_text(st, 2, f->kind);
	sqlite3_bind_int(st, 3, f->open);
	if (f->overdue)
		db_bind_text(st, 4, today);
	if (f->due_within >= 0) {
		tm_civil_from_days(t + f->due_within, &y, &m, &d);
		date_format(y, m, d, limit);
		db_bind_text(st, 5, limit);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(request_record(st, t), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "requests");
out:
	sqlite3_finalize(st);
	return rc;
}
