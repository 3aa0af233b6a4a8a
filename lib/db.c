/* db.c — opening the database, its pragmas, migrations and transactions. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "riserva.h"
#include "audit.h"
#include "banned.h"

int
db_default_path(char *buf, size_t n, struct rv_err *e)
{
	const char *s = getenv("RISERVA_DB"), *home = getenv("HOME");
	int w;

	if (s != NULL && *s != '\0')
		w = snprintf(buf, n, "%s", s);
	else if ((s = getenv("XDG_DATA_HOME")) != NULL && *s == '/')
		w = snprintf(buf, n, "%s/riserva/riserva.db", s);
	else if (home != NULL && *home != '\0')
		w = snprintf(buf, n, "%s/.local/share/riserva/riserva.db",
		    home);
	else
		return rv_fail(e, EX_CONFIG,
		    "no database: set RISERVA_DB or HOME, or pass --db");
	if (w < 0 || (size_t)w >= n)
		return rv_fail(e, EX_CONFIG, "database path too long");
	return 0;
}

int
db_fail(sqlite3 *db, int rc, struct rv_err *e, const char *what)
{
	const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return rv_fail(e, EX_TEMPFAIL,
		    "the database is busy (another riserva is writing); "
		    "try again");
	case SQLITE_FULL:
	case SQLITE_IOERR:
		return rv_fail(e, EX_IOERR, "%s: %s", what, msg);
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return rv_fail(e, EX_CANTCREAT, "%s: %s", what, msg);
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return rv_fail(e, EX_DATAERR, "%s: %s", what, msg);
	default:
		return rv_fail(e, EX_SOFTWARE, "%s: %s", what, msg);
	}
}

int
db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct rv_err *e)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(db, rc, e, "prepare");
	return 0;
}

/*
 * Statements run many times in one process (an import, a purge) are kept
 * prepared, keyed by the address of their static SQL text. The caller
 * steps and does not finalize; the next fetch resets them.
 */
static struct {
	sqlite3 *db;
	const char *sql;
	sqlite3_stmt *st;
} cache[32];

int
db_cached(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct rv_err *e)
{
	size_t i, freeslot = sizeof(cache) / sizeof(cache[0]);
	int rc;

	for (i = 0; i < sizeof(cache) / sizeof(cache[0]); i++) {
		if (cache[i].db == db && cache[i].sql == sql) {
			sqlite3_reset(cache[i].st);
			sqlite3_clear_bindings(cache[i].st);
			*st = cache[i].st;
			return 0;
		}
		if (cache[i].db == NULL && freeslot > i)
			freeslot = i;
	}
	rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, e, "prepare");
	if (freeslot < sizeof(cache) / sizeof(cache[0])) {
		cache[freeslot].db = db;
		cache[freeslot].sql = sql;
		cache[freeslot].st = *st;
		return 0;
	}
	/* A full cache is a programming error; make it loud. */
	sqlite3_finalize(*st);
	return rv_fail(e, EX_SOFTWARE, "statement cache full");
}

static void
cache_drop(sqlite3 *db)
{
	size_t i;

	for (i = 0; i < sizeof(cache) / sizeof(cache[0]); i++) {
		if (cache[i].db != db)
			continue;
		sqlite3_finalize(cache[i].st);
		cache[i].db = NULL;
		cache[i].sql = NULL;
		cache[i].st = NULL;
	}
}

int
db_exec(sqlite3 *db, const char *sql, struct rv_err *e)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_fail(db, rc, e, "database");
	return 0;
}

int
db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

int
db_int(sqlite3 *db, const char *sql, int64_t arg, int64_t *out, int *found,
    struct rv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	if (found != NULL)
		*found = rc == SQLITE_ROW && sqlite3_column_type(st, 0) !=
		    SQLITE_NULL;
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_fail(db, rc, e, "query");
	}
	sqlite3_finalize(st);
	return rc;
}

/* A read transaction: one snapshot, and no writer kept waiting. */
int
db_begin_read(sqlite3 *db, struct rv_err *e)
{
	int rc = sqlite3_exec(db, "BEGIN DEFERRED", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_fail(db, rc, e, "begin");
	return 0;
}

int
db_begin(sqlite3 *db, struct rv_err *e)
{
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_fail(db, rc, e, "begin");
	return 0;
}

int
db_commit(sqlite3 *db, struct rv_err *e)
{
	int rc;

	/* The audit rows of this transaction are sealed with it. */
	if ((rc = audit_seal(db, e)) != 0) {
		db_rollback(db);
		return rc;
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = db_fail(db, rc, e, "commit");
		db_rollback(db);
		return rc;
	}
	return 0;
}

void
db_rollback(sqlite3 *db)
{
	if (db != NULL && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int
db_checkpoint(sqlite3 *db, struct rv_err *e)
{
	int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);

	if (rc != SQLITE_OK)
		return db_fail(db, rc, e, "checkpoint");
	return 0;
}

int
db_meta_get(sqlite3 *db, const char *key, char **value, struct rv_err *e)
{
	static const char sql[] = "SELECT value FROM meta WHERE key = ?";
	sqlite3_stmt *st;
	int rc;

	*value = NULL;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*value = xstrdup((const char *)sqlite3_column_text(st, 0));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_fail(db, rc, e, "meta");
	}
	sqlite3_finalize(st);
	return rc;
}

int
db_meta_set(sqlite3 *db, const char *key, const char *value,
    struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO meta (key, value) VALUES (?, ?) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "meta");
	sqlite3_finalize(st);
	return rc;
}

static int
user_version(sqlite3 *db, int64_t *v, struct rv_err *e)
{
	return db_int(db, "PRAGMA user_version", 0, v, NULL, e);
}

/* Applies every migration newer than the file, all in one transaction. */
int
db_migrate(sqlite3 *db, struct rv_err *e)
{
	int64_t v;
	int latest = db_migrations[db_nmigrations - 1].version;
	char sql[64];
	size_t i;
	int rc;

	if ((rc = user_version(db, &v, e)) != 0)
		return rc;
	if (v == latest)
		return 0;
	if (v > latest)
		return rv_fail(e, EX_CONFIG,
		    "the database has schema %lld, newer than this riserva "
		    "knows (%d): upgrade riserva", (long long)v, latest);
	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = user_version(db, &v, e)) != 0)
		goto fail;
	for (i = 0; i < db_nmigrations; i++) {
		if (db_migrations[i].version <= v)
			continue;
		if ((rc = db_exec(db, db_migrations[i].sql, e)) != 0) {
			rv_prefix(e, "migration %d: ",
			    db_migrations[i].version);
			goto fail;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", latest);
	if ((rc = db_exec(db, sql, e)) != 0)
		goto fail;
	return db_commit(db, e);
fail:
	db_rollback(db);
	return rc;
}

/* rv_names_client(TEXT, SURNAME, EMAIL): 1 when TEXT holds the email or
 * the surname (text_names_client; a first name alone says too little). */
static void
names_client(sqlite3_context *cx, int argc, sqlite3_value **v)
{
	const char *text = (const char *)sqlite3_value_text(v[0]);

	(void)argc;
	sqlite3_result_int(cx, text != NULL && text_names_client(text, NULL,
	    (const char *)sqlite3_value_text(v[1]),
	    (const char *)sqlite3_value_text(v[2])) != NULL);
}

/* For erasure and export: what names a client outside their rows. On
 * every connection db_open makes, and on any other an erasure runs on
 * (a restore's). */
int
db_functions(sqlite3 *db, struct rv_err *e)
{
	if (sqlite3_create_function(db, "rv_names_client", 3, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL, names_client,
	    NULL, NULL) != SQLITE_OK)
		return db_fail(db, sqlite3_errcode(db), e, "functions");
	return 0;
}

int
db_open(const char *path, long busy_ms, sqlite3 **out, struct rv_err *e)
{
	static const char pragmas[] =
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA cache_size = -65536;";
	sqlite3 *db = NULL;
	char mode[16];
	mode_t old;
	int rc;

	*out = NULL;
	/* The file, its -wal and -shm are created readable by us alone. */
	old = umask(077);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		rc = rv_fail(e, EX_CANTCREAT, "cannot open %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(db, 0);
	sqlite3_busy_timeout(db, (int)busy_ms);
	if ((rc = db_exec(db, pragmas, e)) != 0)
		goto named;
	if ((rc = db_functions(db, e)) != 0)
		goto named;
	/* WAL persists in the file: only a new database needs switching. */
	{
		sqlite3_stmt *st;

		if ((rc = db_prepare(db, "PRAGMA journal_mode", &st, e)) != 0)
			goto named;
		rc = sqlite3_step(st);
		snprintf(mode, sizeof(mode), "%s", rc == SQLITE_ROW ?
		    (const char *)sqlite3_column_text(st, 0) : "");
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW) {
			rc = db_fail(db, rc, e, "journal mode");
			goto named;
		}
		if (strcmp(mode, "wal") != 0 &&
		    (rc = db_exec(db, "PRAGMA journal_mode = WAL", e)) != 0)
			goto named;
	}
	if ((rc = db_migrate(db, e)) != 0)
		goto named;
	*out = db;
	return 0;
named:
	rv_prefix(e, "%s: ", path);
fail:
	sqlite3_close_v2(db);
	return rc;
}

void
db_close(sqlite3 *db)
{
	if (db == NULL)
		return;
	db_rollback(db);
	cache_drop(db);
	audit_forget(db);
	sqlite3_close_v2(db);
}
