/* service.c — the catalog's services: naming one and their records. */
#include <ctype.h>
#include <string.h>

#include "riserva.h"
#include "banned.h"

const struct rv_col service_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "name", "NAME", 0 },
	{ "duration", "MIN", RV_COL_RIGHT },
	{ "buffer", "BUFFER", RV_COL_RIGHT },
	{ "price_cents", "PRICE", RV_COL_RIGHT | RV_COL_MONEY },
	{ "retired", "RETIRED", RV_COL_TIME },
	{ NULL, NULL, 0 },
};

/* By id, or by name without regard to case. */
int
service_find(sqlite3 *db, const char *spec, int64_t *id, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id FROM service WHERE id = ? OR name = ? "
	    "ORDER BY id = ? DESC LIMIT 1";
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	if (parse_id(spec, &n)) {
		sqlite3_bind_int64(st, 1, n);
		sqlite3_bind_int64(st, 3, n);
	}
	sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "no such service '%s'", spec);
	} else {
		rc = db_fail(db, rc, e, "service");
	}
	sqlite3_finalize(st);
	return rc;
}

static json_t *
service_record(sqlite3_stmt *st)
{
	json_t *r = rec_new("service", sqlite3_column_int64(st, 0));

	rec_col_text(r, "name", st, 1);
	rec_col_int(r, "duration", st, 2);
	rec_col_int(r, "buffer", st, 3);
	rec_col_int(r, "price_cents", st, 4);
	rec_col_time(r, "retired", st, 5);
	rec_col_time(r, "created", st, 6);
	return r;
}

int
service_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, name, duration, buffer, price, retired, created "
	    "FROM service WHERE id = ?";

	return rec_get(db, sql, id, service_record, "service", rec, e);
}

static int
check_service(const char *name, long duration, long buffer,
    struct rv_err *e)
{
	int rc;

	if (name != NULL && (rc = check_text("name", name, 100, 1, 0, e)) != 0)
		return rc;
	/* The name is how tools and people find it: 'Viso ' would be a
	 * second Viso that --service Viso never finds. */
	if (name != NULL && (isspace((unsigned char)name[0]) ||
	    isspace((unsigned char)name[strlen(name) - 1])))
		return rv_fail(e, EX_DATAERR, "a service name cannot begin or "
		    "end with a blank: '%s'", name);
	if (duration != -1 && (duration < 1 || duration > 720))
		return rv_fail(e, EX_DATAERR,
		    "duration must be 1 to 720 minutes");
	if (buffer != -1 && (buffer < 0 || buffer > 240))
		return rv_fail(e, EX_DATAERR,
		    "buffer must be 0 to 240 minutes");
	return 0;
}

static int
name_taken(sqlite3 *db, const char *name, struct rv_err *e)
{
	int64_t other = 0;

	service_find(db, name, &other, NULL);
	return rv_fail(e, EX_REFUSED,
	    "a service named '%s' already exists (id %lld)", name,
	    (long long)other);
}

int
service_insert(sqlite3 *db, const struct rv_who *w, const char *name,
    long duration, long buffer, int64_t price, int64_t *id, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO service (name, duration, buffer, price, created) "
	    "VALUES (?, ?, ?, ?, ?)";
	sqlite3_stmt *st;
	char ref[32];
	int64_t n;
	int rc;

	if ((rc = check_service(name, duration, buffer, e)) != 0)
		return rc;
	if (parse_id(name, &n))
		return rv_fail(e, EX_DATAERR,
		    "a service name cannot be a number");
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	db_bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, duration);
	sqlite3_bind_int64(st, 3, buffer);
	if (price >= 0)
		sqlite3_bind_int64(st, 4, price);
	sqlite3_bind_int64(st, 5, w->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return name_taken(db, name, e);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "service");
	*id = sqlite3_last_insert_rowid(db);
	snprintf(ref, sizeof(ref), "service %lld", (long long)*id);
	return audit_append(db, w, "service.add", 0, ref,
	    "name,duration,buffer,price", e);
}

/* -1 (or NULL) leaves a field as it is; retired: 1 retire, 0 restore. */
int
service_update(sqlite3 *db, const struct rv_who *w, int64_t id,
    const char *name, long duration, long buffer, int64_t price, int retired,
    struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE service SET name = coalesce(?1, name), "
	    "duration = CASE WHEN ?2 < 0 THEN duration ELSE ?2 END, "
	    "buffer = CASE WHEN ?3 < 0 THEN buffer ELSE ?3 END, "
	    "price = CASE WHEN ?4 < 0 THEN price ELSE ?4 END, "
	    "retired = CASE ?5 WHEN 1 THEN coalesce(retired, ?6) "
	    "WHEN 0 THEN NULL ELSE retired END WHERE id = ?7";
	struct rv_buf fields = { 0 };
	sqlite3_stmt *st;
	char ref[32];
	int64_t n;
	int rc;

	if ((rc = check_service(name, duration, buffer, e)) != 0)
		return rc;
	if (name != NULL && parse_id(name, &n))
		return rv_fail(e, EX_DATAERR,
		    "a service name cannot be a number");
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	db_bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, duration);
	sqlite3_bind_int64(st, 3, buffer);
	sqlite3_bind_int64(st, 4, price);
	sqlite3_bind_int(st, 5, retired);
	sqlite3_bind_int64(st, 6, w->now);
	sqlite3_bind_int64(st, 7, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return name_taken(db, name, e);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "service");
	if (name)
		buf_adds(&fields, ",name");
	if (duration >= 0)
		buf_adds(&fields, ",duration");
	if (buffer >= 0)
		buf_adds(&fields, ",buffer");
	if (price >= 0)
		buf_adds(&fields, ",price");
	if (retired >= 0)
		buf_adds(&fields, ",retired");
	snprintf(ref, sizeof(ref), "service %lld", (long long)id);
	rc = audit_append(db, w, retired == 1 ? "service.retire" :
	    retired == 0 ? "service.restore" : "service.edit", 0, ref,
	    fields.s ? fields.s + 1 : NULL, e);
	buf_free(&fields);
	return rc;
}

int
service_list(sqlite3 *db, int all, int (*fn)(json_t *rec, void *arg),
    void *arg, struct rv_err *e)
{
	static const char sql[] = "SELECT id FROM service "
	    "WHERE ? OR retired IS NULL ORDER BY name";
	sqlite3_stmt *st;
	json_t *rec;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int(st, 1, all);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = service_get(db, sqlite3_column_int64(st, 0), &rec,
		    e)) != 0 || (rc = fn(rec, arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "services");
out:
	sqlite3_finalize(st);
	return rc;
}
