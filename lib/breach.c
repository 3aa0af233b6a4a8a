/*
 * breach.c — the data-breach register: every breach is kept, notified or
 * not (art. 33(5)), with its facts, effects and remedies, the people it
 * touched, and when the authority was told (72 hours, art. 33(1)).
 */
#include <stdlib.h>
#include <string.h>

#include "riserva.h"
#include "breach.h"
#include "outbox.h"
#include "banned.h"

const struct rv_col breach_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "detected", "DETECTED", RV_COL_TIME },
	{ "risk", "RISK", 0 },
	{ "subjects", "SUBJECTS", RV_COL_RIGHT },
	{ "linked", "LINKED", RV_COL_RIGHT },
	{ "authority_notified", "AUTHORITY", RV_COL_TIME },
	{ "description", "DESCRIPTION", 0 },
	{ NULL, NULL, 0 },
};

const struct rv_col breach_check_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "detected", "DETECTED", RV_COL_TIME },
	{ "deadline", "DEADLINE", RV_COL_TIME },
	{ "hours_left", "HOURS_LEFT", RV_COL_RIGHT },
	{ "risk", "RISK", 0 },
	{ "description", "DESCRIPTION", 0 },
	{ NULL, NULL, 0 },
};

#define BREACH_SELECT \
	"SELECT b.id, b.detected, b.description, b.categories, b.subjects, " \
	"b.risk, b.containment, b.consequences, b.measures, b.authority_at, " \
	"b.authority_ref, b.late_reason, b.subjects_at, b.created, " \
	"b.updated, (SELECT count(*) FROM breach_subject s " \
	"WHERE s.breach_id = b.id) FROM breach b "

/* Whole hours, rounded down: -1 is "overdue by less than an hour". */
static int64_t
hours_floor(int64_t secs)
{
	return secs >= 0 ? secs / 3600 : -((-secs + 3599) / 3600);
}

static json_t *
breach_record(sqlite3_stmt *st, int64_t now)
{
	json_t *r = rec_new("breach", sqlite3_column_int64(st, 0));
	int64_t detected = sqlite3_column_int64(st, 1);
	int open = sqlite3_column_type(st, 9) == SQLITE_NULL &&
	    strcmp((const char *)sqlite3_column_text(st, 5), "none") != 0;

	rec_col_time(r, "detected", st, 1);
	rec_col_text(r, "description", st, 2);
	rec_col_text(r, "categories", st, 3);
	rec_col_int(r, "subjects", st, 4);
	json_object_set_new(r, "linked", json_integer(
	    sqlite3_column_int64(st, 15)));
	rec_col_text(r, "risk", st, 5);
	rec_col_text(r, "containment", st, 6);
	rec_col_text(r, "consequences", st, 7);
	rec_col_text(r, "measures", st, 8);
	rec_time(r, "deadline", detected + BREACH_DEADLINE);
	json_object_set_new(r, "hours_left", open ? json_integer(hours_floor(
	    detected + BREACH_DEADLINE - now)) : json_null());
	json_object_set_new(r, "overdue", json_boolean(open &&
	    now > detected + BREACH_DEADLINE));
	rec_col_time(r, "authority_notified", st, 9);
	rec_col_text(r, "authority_ref", st, 10);
	rec_col_text(r, "late_reason", st, 11);
	rec_col_time(r, "subjects_notified", st, 12);
	rec_col_time(r, "created", st, 13);
	rec_col_time(r, "updated", st, 14);
	return r;
}

static int
check_fields(const struct breach *b, struct rv_err *e)
{
	int rc;

	if ((rc = check_text("description", b->description, 4000, 0, 1,
	    e)) != 0 ||
	    (rc = check_text("categories", b->categories, 500, 0, 0, e)) != 0 ||
	    (rc = check_text("containment", b->containment, 4000, 0, 1, e)) !=
	    0 ||
	    (rc = check_text("consequences", b->consequences, 4000, 0, 1,
	    e)) != 0 ||
	    (rc = check_text("measures", b->measures, 4000, 0, 1, e)) != 0)
		return rc;
	if (b->risk != NULL && strcmp(b->risk, "none") != 0 &&
	    strcmp(b->risk, "low") != 0 && strcmp(b->risk, "high") != 0)
		return rv_fail(e, EX_USAGE, "bad risk '%s': none, low or high",
		    b->risk);
	return 0;
}

/* The names of the fields b sets, for the audit row. */
static void
field_names(const struct breach *b, struct rv_buf *f)
{
	if (b->detected)
		buf_adds(f, ",detected");
	if (b->description)
		buf_adds(f, ",description");
	if (b->categories)
		buf_adds(f, ",categories");
	if (b->subjects >= 0)
		buf_adds(f, ",subjects");
	if (b->risk)
		buf_adds(f, ",risk");
	if (b->containment)
		buf_adds(f, ",containment");
	if (b->consequences)
		buf_adds(f, ",consequences");
	if (b->measures)
		buf_adds(f, ",measures");
}

static int
audit_breach(sqlite3 *db, const struct rv_who *w, const char *action,
    int64_t id, int64_t client_id, const char *fields, struct rv_err *e)
{
	char ref[40];

	snprintf(ref, sizeof(ref), "breach %lld", (long long)id);
	return audit_append(db, w, action, client_id, ref, fields, e);
}

int
breach_open(sqlite3 *db, const struct rv_who *w, const struct breach *b,
    int64_t *id, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO breach (detected, description, categories, subjects, "
	    "risk, containment, consequences, measures, created, updated) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	struct rv_buf f = { 0 };
	sqlite3_stmt *st;
	int rc;

	if (b->description == NULL)
		return rv_fail(e, EX_USAGE, "a breach needs --description");
	if ((rc = check_fields(b, e)) != 0)
		return rc;
	if (b->detected > w->now)
		return rv_fail(e, EX_DATAERR, "--detected is in the future");
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, b->detected);
	db_bind_text(st, 2, b->description);
	db_bind_text(st, 3, b->categories);
	if (b->subjects >= 0)
		sqlite3_bind_int64(st, 4, b->subjects);
	db_bind_text(st, 5, b->risk != NULL ? b->risk : "low");
	db_bind_text(st, 6, b->containment);
	db_bind_text(st, 7, b->consequences);
	db_bind_text(st, 8, b->measures);
	sqlite3_bind_int64(st, 9, w->now);
	sqlite3_bind_int64(st, 10, w->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "breach");
	*id = sqlite3_last_insert_rowid(db);
	field_names(b, &f);
	rc = audit_breach(db, w, "breach.open", *id, 0, f.s + 1, e);
	buf_free(&f);
	return rc;
}

static int
breach_exists(sqlite3 *db, int64_t id, int64_t *authority_at,
    struct rv_err *e)
{
	int64_t at = 0;
	int found, rc;

	rc = db_int(db, "SELECT coalesce(authority_at, 0) FROM breach "
	    "WHERE id = ?", id, &at, &found, e);
	if (rc != 0)
		return rc;
	if (!found)
		return rv_fail(e, EX_NOINPUT, "no such breach %lld",
		    (long long)id);
	if (authority_at != NULL)
		*authority_at = at;
	return 0;
}

int
breach_update(sqlite3 *db, const struct rv_who *w, int64_t id,
    const struct breach *b, struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE breach SET detected = coalesce(?2, detected), "
	    "description = coalesce(?3, description), "
	    "categories = coalesce(?4, categories), "
	    "subjects = coalesce(?5, subjects), risk = coalesce(?6, risk), "
	    "containment = coalesce(?7, containment), "
	    "consequences = coalesce(?8, consequences), "
	    "measures = coalesce(?9, measures), updated = ?10 WHERE id = ?1";
	struct rv_buf f = { 0 };
	int64_t told = 0;
	char when[40];
	sqlite3_stmt *st;
	int rc;

	if ((rc = check_fields(b, e)) != 0 ||
	    (rc = breach_exists(db, id, &told, e)) != 0)
		return rc;
	if (b->detected > w->now)
		return rv_fail(e, EX_DATAERR, "--detected is in the future");
	/* The authority cannot have been told before it was known. */
	if (b->detected && told != 0 && b->detected > told) {
		tm_local(told, when);
		return rv_fail(e, EX_DATAERR, "breach %lld: --detected is "
		    "after the authority was notified (%s)", (long long)id,
		    when);
	}
	field_names(b, &f);
	if (f.s == NULL)
		return rv_fail(e, EX_USAGE, "update needs a field to change");
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if (b->detected)
		sqlite3_bind_int64(st, 2, b->detected);
	db_bind_text(st, 3, b->description);
	db_bind_text(st, 4, b->categories);
	if (b->subjects >= 0)
		sqlite3_bind_int64(st, 5, b->subjects);
	db_bind_text(st, 6, b->risk);
	db_bind_text(st, 7, b->containment);
	db_bind_text(st, 8, b->consequences);
	db_bind_text(st, 9, b->measures);
	sqlite3_bind_int64(st, 10, w->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, rc, e, "breach");
		goto out;
	}
	rc = audit_breach(db, w, "breach.update", id, 0, f.s + 1, e);
out:
	buf_free(&f);
	return rc;
}

int
breach_link(sqlite3 *db, const struct rv_who *w, int64_t id,
    int64_t client_id, int *added, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO breach_subject (breach_id, client_id, linked) "
	    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING";
	sqlite3_stmt *st;
	int rc;

	*added = 0;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, client_id);
	sqlite3_bind_int64(st, 3, w->now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "breach");
	if (sqlite3_changes(db) == 0)
		return 0;
	*added = 1;
	/* On the record of the client too: gdpr-export shows it. */
	return audit_breach(db, w, "breach.link", id, client_id, NULL, e);
}

int
breach_notify_authority(sqlite3 *db, const struct rv_who *w, int64_t id,
    int64_t at, const char *ref, const char *late_reason, struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE breach SET authority_at = ?2, authority_ref = ?3, "
	    "late_reason = ?4, updated = ?5 WHERE id = ?1";
	int64_t already = 0, detected = 0;
	char when[40];
	sqlite3_stmt *st;
	int found, rc;

	if ((rc = breach_exists(db, id, &already, e)) != 0 ||
	    (rc = check_text("--ref", ref, 200, 0, 0, e)) != 0 ||
	    (rc = check_text("--late-reason", late_reason, 4000, 0, 1, e)) !=
	    0)
		return rc;
	if (already != 0) {
		tm_local(already, when);
		return rv_fail(e, EX_REFUSED, "breach %lld: the authority was "
		    "notified at %s", (long long)id, when);
	}
	if (at > w->now)
		return rv_fail(e, EX_DATAERR, "--at is in the future");
	if ((rc = db_int(db, "SELECT detected FROM breach WHERE id = ?", id,
	    &detected, &found, e)) != 0)
		return rc;
	if (at < detected)
		return rv_fail(e, EX_DATAERR, "--at is before the breach was "
		    "detected");
	if (at > detected + BREACH_DEADLINE && (late_reason == NULL ||
	    *late_reason == '\0'))
		return rv_fail(e, EX_USAGE, "breach %lld: notified %lld hours "
		    "after detection; art. 33(1) asks for the reasons for the "
		    "delay: --late-reason", (long long)id,
		    (long long)((at - detected) / 3600));
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at);
	db_bind_text(st, 3, ref);
	db_bind_text(st, 4, late_reason);
	sqlite3_bind_int64(st, 5, w->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "breach");
	return audit_breach(db, w, "breach.notify_authority", id, 0,
	    late_reason ? "authority_at,authority_ref,late_reason" :
	    ref ? "authority_at,authority_ref" : "authority_at", e);
}

int
breach_get(sqlite3 *db, int64_t id, int64_t now, json_t **rec,
    struct rv_err *e)
{
	static const char sql[] = BREACH_SELECT "WHERE b.id = ?";
	sqlite3_stmt *st;
	int rc;

	*rec = NULL;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*rec = breach_record(st, now);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? rv_fail(e, EX_NOINPUT,
		    "no such breach %lld", (long long)id) :
		    db_fail(db, rc, e, "breach");
	}
	sqlite3_finalize(st);
	return rc;
}

int
breach_list(sqlite3 *db, int open_only, int64_t now,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	static const char all[] = BREACH_SELECT "ORDER BY b.detected, b.id";
	static const char open[] = BREACH_SELECT
	    "WHERE b.authority_at IS NULL AND b.risk <> 'none' "
	    "ORDER BY b.detected, b.id";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, open_only ? open : all, &st, e)) != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(breach_record(st, now), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "breach");
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Art. 34: queues the breach notice for every linked client not yet told,
 * through the outbox (a legal notice: no consent is asked, a restricted
 * client is told too). The notice says what art. 34(2) asks: the nature
 * of the breach, its likely consequences, the measures taken — so those
 * must be in the register first.
 */
int
breach_notify_subjects(sqlite3 *db, const struct rv_who *w, int64_t id,
    int *queued, int *already, struct rv_err *e)
{
	static const char get[] =
	    "SELECT description, consequences, measures FROM breach "
	    "WHERE id = ?";
	static const char subjects[] =
	    "SELECT id, client_id FROM breach_subject WHERE breach_id = ? "
	    "AND client_id IS NOT NULL AND notified IS NULL ORDER BY id";
	static const char linked[] =
	    "SELECT count(*) FROM breach_subject WHERE breach_id = ? "
	    "AND client_id IS NOT NULL";
	static const char mark[] =
	    "UPDATE breach_subject SET notified = ? WHERE id = ?";
	static const char done[] =
	    "UPDATE breach SET subjects_at = coalesce(subjects_at, ?), "
	    "updated = ? WHERE id = ?";
	sqlite3_stmt *st = NULL, *up = NULL;
	json_t *fields = NULL;
	char ref[32];
	int64_t msg, n = 0;
	int rc;

	*queued = *already = 0;
	if ((rc = breach_exists(db, id, NULL, e)) != 0 ||
	    (rc = db_int(db, linked, id, &n, NULL, e)) != 0)
		return rc;
	/* Nobody linked is nobody told: the register must not say they
	 * were. */
	if (n == 0)
		return rv_fail(e, EX_REFUSED, "breach %lld: no client is "
		    "linked to it: name the people affected first "
		    "(gdpr-breach link)", (long long)id);
	if ((rc = db_prepare(db, get, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		rc = db_fail(db, rc, e, "breach");
		goto out;
	}
	if (sqlite3_column_type(st, 1) == SQLITE_NULL ||
	    sqlite3_column_type(st, 2) == SQLITE_NULL) {
		rc = rv_fail(e, EX_REFUSED, "breach %lld: the notice must say "
		    "the likely consequences and the measures taken (art. "
		    "34(2)): set --consequences and --measures with update "
		    "first", (long long)id);
		goto out;
	}
	fields = json_object();
	json_object_set_new(fields, "nature", json_string(
	    (const char *)sqlite3_column_text(st, 0)));
	json_object_set_new(fields, "consequences", json_string(
	    (const char *)sqlite3_column_text(st, 1)));
	json_object_set_new(fields, "measures", json_string(
	    (const char *)sqlite3_column_text(st, 2)));
	sqlite3_finalize(st);
	st = NULL;
	snprintf(ref, sizeof(ref), "breach %lld", (long long)id);
	if ((rc = db_prepare(db, subjects, &st, e)) != 0 ||
	    (rc = db_prepare(db, mark, &up, e)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = outbox_notice(db, w, sqlite3_column_int64(st, 1), "breach",
		    ref, fields, &msg, e);
		if (rc != 0)
			goto out;
		if (msg != 0)
			(*queued)++;
		else
			(*already)++;
		sqlite3_reset(up);
		sqlite3_bind_int64(up, 1, w->now);
		sqlite3_bind_int64(up, 2, sqlite3_column_int64(st, 0));
		if ((rc = sqlite3_step(up)) != SQLITE_DONE) {
			rc = db_fail(db, rc, e, "breach");
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, rc, e, "breach");
		goto out;
	}
	rc = 0;
	/* Everyone linked was told before: nothing changes. */
	if (*queued == 0 && *already == 0)
		goto out;
	sqlite3_finalize(up);
	up = NULL;
	if ((rc = db_prepare(db, done, &up, e)) != 0)
		goto out;
	sqlite3_bind_int64(up, 1, w->now);
	sqlite3_bind_int64(up, 2, w->now);
	sqlite3_bind_int64(up, 3, id);
	if ((rc = sqlite3_step(up)) != SQLITE_DONE) {
		rc = db_fail(db, rc, e, "breach");
		goto out;
	}
	rc = audit_append(db, w, "breach.notify_subjects", 0, ref,
	    "subjects_notified", e);
out:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	json_decref(fields);
	return rc;
}
