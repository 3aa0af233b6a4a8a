/* record.c — building JSON records from rows: types, ids, times in RFC 3339. */
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
