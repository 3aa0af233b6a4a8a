/* staff.c — staff members: naming one and their records. */
#include <string.h>

#include "riserva.h"
#include "banned.h"

const struct rv_col staff_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "name", "NAME", 0 },
	{ "email", "EMAIL", 0 },
	{ "role", "ROLE", 0 },
	{ "active", "ACTIVE", 0 },
	{ NULL, NULL, 0 },
};

const struct rv_col leave_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "staff_id", "STAFF_ID", RV_COL_RIGHT },
	{ "start", "FROM", RV_COL_TIME },
	{ "end", "TO", RV_COL_TIME },
	{ "reason", "REASON", 0 },
	{ NULL, NULL, 0 },
};

const struct rv_col hours_cols[] = {
	{ "staff_id", "STAFF_ID", RV_COL_RIGHT },
	{ "day", "DAY", 0 },
	{ "start", "FROM", 0 },
	{ "end", "TO", 0 },
	{ NULL, NULL, 0 },
};

int
staff_find(sqlite3 *db, const char *spec, int64_t *id, struct rv_err *e)
{
	static const char by_id[] = "SELECT id FROM staff WHERE id = ?";
	static const char by_email[] = "SELECT id FROM staff WHERE email = ?";

	return rec_find(db, by_id, by_email, spec, "staff member", id, e);
}

static json_t *
staff_record(sqlite3_stmt *st)
{
	json_t *r = rec_new("staff", sqlite3_column_int64(st, 0));

	rec_col_text(r, "name", st, 1);
	rec_col_text(r, "email", st, 2);
	rec_col_text(r, "role", st, 3);
	rec_col_bool(r, "active", st, 4);
	rec_col_time(r, "created", st, 5);
	return r;
}

int
staff_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, name, email, role, active, created FROM staff "
	    "WHERE id = ?";

	return rec_get(db, sql, id, staff_record, "staff member", rec, e);
}

/* The email of a staff member, for messages; the id if that fails. */
const char *
staff_label(sqlite3 *db, int64_t id, char *buf, size_t n)
{
	sqlite3_stmt *st;

	snprintf(buf, n, "staff %lld", (long long)id);
	if (sqlite3_prepare_v2(db, "SELECT email FROM staff WHERE id = ?", -1,
	    &st, NULL) != SQLITE_OK)
		return buf;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, n, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static int
check_role(const char *role, struct rv_err *e)
{
	if (role != NULL && strcmp(role, "admin") != 0 &&
	    strcmp(role, "reception") != 0 && strcmp(role, "operator") != 0)
		return rv_fail(e, EX_USAGE,
		    "bad role '%s': admin, reception or operator", role);
	return 0;
}

static int
email_taken(sqlite3 *db, const char *email, struct rv_err *e)
{
	int64_t other = 0;

	staff_find(db, email, &other, NULL);
	return rv_fail(e, EX_REFUSED,
	    "a staff member with email '%s' already exists (id %lld)", email,
	    (long long)other);
}

int
staff_insert(sqlite3 *db, const struct rv_who *w, const char *name,
    const char *email, const char *role, int64_t *id, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO staff (name, email, role, created) VALUES (?, ?, ?, ?)";
	sqlite3_stmt *st;
	char ref[32];
	int rc;

	if ((rc = check_text("name", name, 100, 1, 0, e)) != 0 ||
	    (rc = check_email(email, e)) != 0 ||
	    (rc = check_role(role, e)) != 0)
		return rc;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, email);
	db_bind_text(st, 3, role ? role : "operator");
	sqlite3_bind_int64(st, 4, w->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return email_taken(db, email, e);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "staff");
	*id = sqlite3_last_insert_rowid(db);
	snprintf(ref, sizeof(ref), "staff %lld", (long long)*id);
	return audit_append(db, w, "staff.add", 0, ref, "name,email,role", e);
}

int
staff_update(sqlite3 *db, const struct rv_who *w, int64_t id,
    const char *name, const char *email, const char *role, int active,
    struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE staff SET name = coalesce(?1, name), "
	    "email = coalesce(?2, email), role = coalesce(?3, role), "
	    "active = CASE WHEN ?4 < 0 THEN active ELSE ?4 END WHERE id = ?5";
	struct rv_buf fields = { 0 };
	sqlite3_stmt *st;
	char ref[32];
	int rc;

	if ((name && (rc = check_text("name", name, 100, 1, 0, e)) != 0) ||
	    (email && (rc = check_email(email, e)) != 0) ||
	    (rc = check_role(role, e)) != 0)
		return rc;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, email);
	db_bind_text(st, 3, role);
	sqlite3_bind_int(st, 4, active);
	sqlite3_bind_int64(st, 5, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return email_taken(db, email, e);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "staff");
	if (name)
		buf_adds(&fields, ",name");
	if (email)
		buf_adds(&fields, ",email");
	if (role)
		buf_adds(&fields, ",role");
	if (active >= 0)
		buf_adds(&fields, ",active");
	snprintf(ref, sizeof(ref), "staff %lld", (long long)id);
	rc = audit_append(db, w, "staff.edit", 0, ref,
	    fields.s ? fields.s + 1 : NULL, e);
	buf_free(&fields);
	return rc;
}

int
staff_list(sqlite3 *db, int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e)
{
	sqlite3_stmt *st;
	int64_t id;
	json_t *rec;
	int rc;

	if ((rc = db_prepare(db, "SELECT id FROM staff ORDER BY id", &st, e)) !=
	    0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		if ((rc = staff_get(db, id, &rec, e)) != 0 ||
		    (rc = fn(rec, arg)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "staff");
out:
	sqlite3_finalize(st);
	return rc;
}

/* "mon-fri", "sat", "mon,wed,fri", "fri-mon" (wrapping): a bit per day. */
int
parse_days(const char *s, int *mask, struct rv_err *e)
{
	char buf[64], *tok, *save = NULL;
	int a, b, d;

	*mask = 0;
	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		goto bad;
	for (tok = buf; tok != NULL; tok = save) {
		char *dash;

		if ((save = strchr(tok, ',')) != NULL)
			*save++ = '\0';
		dash = strchr(tok, '-');

		if (dash != NULL)
			*dash = '\0';
		for (a = 1; a <= 7 && strcmp(tok, tm_day_names[a]) != 0; a++)
			;
		b = a;
		if (dash != NULL)
			for (b = 1; b <= 7 && strcmp(dash + 1,
			    tm_day_names[b]) != 0; b++)
				;
		if (a > 7 || b > 7)
			goto bad;
		for (d = a;; d = d % 7 + 1) {
			*mask |= 1 << d;
			if (d == b)
				break;
		}
	}
	if (*mask == 0)
		goto bad;
	return 0;
bad:
	return rv_fail(e, EX_USAGE, "bad days '%s': like mon-fri, sat or "
	    "mon,wed,fri", s);
}

/* Replaces the hours of the days in mask with ranges (minutes, sorted). */
int
hours_set(sqlite3 *db, const struct rv_who *w, int64_t staff_id, int mask,
    const int *ranges, int n, struct rv_err *e)
{
	static const char del[] =
	    "DELETE FROM staff_hours WHERE staff_id = ? AND dow = ?";
	static const char ins[] =
	    "INSERT INTO staff_hours (staff_id, dow, start_min, end_min) "
	    "VALUES (?, ?, ?, ?)";
	sqlite3_stmt *st;
	char ref[32];
	int d, i, rc;

	for (d = 1; d <= 7; d++) {
		if (!(mask & (1 << d)))
			continue;
		if ((rc = db_cached(db, del, &st, e)) != 0)
			return rc;
		sqlite3_bind_int64(st, 1, staff_id);
		sqlite3_bind_int(st, 2, d);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_fail(db, rc, e, "hours");
		for (i = 0; i < n; i++) {
			if ((rc = db_cached(db, ins, &st, e)) != 0)
				return rc;
			sqlite3_bind_int64(st, 1, staff_id);
			sqlite3_bind_int(st, 2, d);
			sqlite3_bind_int(st, 3, ranges[2 * i]);
			sqlite3_bind_int(st, 4, ranges[2 * i + 1]);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
			if (rc != SQLITE_DONE)
				return db_fail(db, rc, e, "hours");
		}
	}
	snprintf(ref, sizeof(ref), "staff %lld", (long long)staff_id);
	return audit_append(db, w, "staff.hours", 0, ref, "hours", e);
}

int
hours_list(sqlite3 *db, int64_t staff_id, int (*fn)(json_t *rec, void *arg),
    void *arg, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT staff_id, dow, start_min, end_min FROM staff_hours "
	    "WHERE staff_id = ? ORDER BY dow, start_min";
	sqlite3_stmt *st;
	char hm[8];
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *r = json_object();

		json_object_set_new(r, "type", json_string("hours"));
		rec_col_int(r, "staff_id", st, 0);
		json_object_set_new(r, "day", json_string(
		    tm_day_names[sqlite3_column_int(st, 1)]));
		tm_hhmm(sqlite3_column_int(st, 2), hm);
		json_object_set_new(r, "start", json_string(hm));
		tm_hhmm(sqlite3_column_int(st, 3), hm);
		json_object_set_new(r, "end", json_string(hm));
		if ((rc = fn(r, arg)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "hours");
out:
	sqlite3_finalize(st);
	return rc;
}

int
leave_add(sqlite3 *db, const struct rv_who *w, int64_t staff_id,
    int64_t start, int64_t end, const char *reason, int64_t *id,
    struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO staff_off (staff_id, start, end, reason, created) "
	    "VALUES (?, ?, ?, ?, ?)";
	sqlite3_stmt *st;
	char ref[32];
	int rc;

	if (end <= start)
		return rv_fail(e, EX_DATAERR, "leave must end after it starts");
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, end);
	db_bind_text(st, 4, reason);
	sqlite3_bind_int64(st, 5, w->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "leave");
	*id = sqlite3_last_insert_rowid(db);
	snprintf(ref, sizeof(ref), "leave %lld", (long long)*id);
	return audit_append(db, w, "staff.off", 0, ref,
	    reason ? "staff_id,start,end,reason" : "staff_id,start,end", e);
}

static json_t *
leave_record(sqlite3_stmt *st)
{
	json_t *r = rec_new("leave", sqlite3_column_int64(st, 0));

	rec_col_int(r, "staff_id", st, 1);
	rec_col_time(r, "start", st, 2);
	rec_col_time(r, "end", st, 3);
	rec_col_text(r, "reason", st, 4);
	return r;
}

int
leave_list(sqlite3 *db, int64_t staff_id, int64_t since,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, staff_id, start, end, reason FROM staff_off "
	    "WHERE (?1 = 0 OR staff_id = ?1) AND end > ?2 ORDER BY start, id";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(leave_record(st), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "leave");
out:
	sqlite3_finalize(st);
	return rc;
}

int
leave_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e)
{
	static const char sql[] = "SELECT id, staff_id, start, end, reason FROM staff_off WHERE id = ?";

	return rec_get(db, sql, id, leave_record, "leave", rec, e);
}

int
leave_remove(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e)
{
	sqlite3_stmt *st;
	char ref[32];
	int rc;

	if ((rc = db_prepare(db, "DELETE FROM staff_off WHERE id = ?", &st,
	    e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "leave");
	if (sqlite3_changes(db) == 0)
		return rv_fail(e, EX_NOINPUT, "no such leave %lld",
		    (long long)id);
	snprintf(ref, sizeof(ref), "leave %lld", (long long)id);
	return audit_append(db, w, "staff.on", 0, ref, NULL, e);
}

/* Replaces the set of services a staff member performs. */
int
staff_services_set(sqlite3 *db, const struct rv_who *w, int64_t staff_id,
    const struct rv_ids *services, struct rv_err *e)
{
	static const char del[] = "DELETE FROM staff_service WHERE staff_id = ?";
	static const char ins[] = "INSERT OR IGNORE INTO staff_service "
	    "(staff_id, service_id) VALUES (?, ?)";
	sqlite3_stmt *st;
	char ref[32];
	size_t i;
	int rc;

	if ((rc = db_prepare(db, del, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "services");
	for (i = 0; i < services->n; i++) {
		if ((rc = db_cached(db, ins, &st, e)) != 0)
			return rc;
		sqlite3_bind_int64(st, 1, staff_id);
		sqlite3_bind_int64(st, 2, services->v[i]);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_fail(db, rc, e, "services");
	}
	snprintf(ref, sizeof(ref), "staff %lld", (long long)staff_id);
	return audit_append(db, w, "staff.services", 0, ref, "services", e);
}

int
staff_services(sqlite3 *db, int64_t staff_id,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	static const char sql[] = "SELECT service_id FROM staff_service "
	    "WHERE staff_id = ? ORDER BY service_id";
	sqlite3_stmt *st;
	json_t *rec;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = service_get(db, sqlite3_column_int64(st, 0), &rec,
		    e)) != 0 || (rc = fn(rec, arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "services");
out:
	sqlite3_finalize(st);
	return rc;
}
