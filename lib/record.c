/* record.c — building JSON records from rows: types, ids, times in RFC 3339. */
#include <string.h>

#include "riserva.h"
#include "banned.h"

json_t *
rec_new(const char *type, int64_t id)
{
	json_t *r = json_object();

	json_object_set_new(r, "type", json_string(type));
	json_object_set_new(r, "id", json_integer(id));
	return r;
}

void
rec_time(json_t *r, const char *key, int64_t t)
{
	char buf[40];

	if (t <= 0) {
		json_object_set_new(r, key, json_null());
		return;
	}
	tm_rfc3339(t, buf);
	json_object_set_new(r, key, json_string(buf));
}

void
rec_col_text(json_t *r, const char *key, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		json_object_set_new(r, key, json_null());
	else
		json_object_set_new(r, key, json_string(
		    (const char *)sqlite3_column_text(st, i)));
}

void
rec_col_int(json_t *r, const char *key, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		json_object_set_new(r, key, json_null());
	else
		json_object_set_new(r, key,
		    json_integer(sqlite3_column_int64(st, i)));
}

void
rec_col_time(json_t *r, const char *key, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		json_object_set_new(r, key, json_null());
	else
		rec_time(r, key, sqlite3_column_int64(st, i));
}

void
rec_col_bool(json_t *r, const char *key, sqlite3_stmt *st, int i)
{
	json_object_set_new(r, key,
	    json_boolean(sqlite3_column_int64(st, i) != 0));
}

int
rec_get(sqlite3 *db, const char *sql, int64_t id,
    json_t *(*fn)(sqlite3_stmt *st), const char *what, json_t **rec,
    struct rv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	*rec = NULL;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*rec = fn(st);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "no such %s %lld", what,
		    (long long)id);
	} else {
		rc = db_fail(db, rc, e, what);
	}
	sqlite3_finalize(st);
	return rc;
}

int
rec_find(sqlite3 *db, const char *by_id, const char *by_email,
    const char *spec, const char *what, int64_t *id, struct rv_err *e)
{
	sqlite3_stmt *st;
	int64_t n;
	int rc;

	if (parse_id(spec, &n)) {
		if ((rc = db_prepare(db, by_id, &st, e)) != 0)
			return rc;
		sqlite3_bind_int64(st, 1, n);
	} else if (strchr(spec, '@') != NULL) {
		if ((rc = db_prepare(db, by_email, &st, e)) != 0)
			return rc;
		sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
	} else {
		return rv_fail(e, EX_NOINPUT,
		    "no such %s '%s' (name one by id or email)", what, spec);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "no such %s '%s'", what, spec);
	} else {
		rc = db_fail(db, rc, e, what);
	}
	sqlite3_finalize(st);
	return rc;
}

int
rec_rows(sqlite3 *db, const char *sql, int64_t arg,
    const struct rec_field *f, json_t *out, struct rv_err *e)
{
	sqlite3_stmt *st;
	json_t *r;
	int rc, i;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, arg);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = json_object();
		for (i = 0; f[i].key != NULL; i++) {
			switch (f[i].kind) {
			case 'i': rec_col_int(r, f[i].key, st, i); break;
			case 'T': rec_col_time(r, f[i].key, st, i); break;
			case 'b': rec_col_bool(r, f[i].key, st, i); break;
			default: rec_col_text(r, f[i].key, st, i); break;
			}
		}
		json_array_append_new(out, r);
	}
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "rows");
	sqlite3_finalize(st);
	return rc;
}
