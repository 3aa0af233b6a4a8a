/*
 * gcal_store.c — operators' Google accounts at rest: tokens sealed with the
 * field key (the AAD names the row and the token, so a blob moved elsewhere
 * does not open), connection state, and the status record. No libcurl.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gcal.h"
#include "banned.h"

const struct rv_col gcal_account_cols[] = {
	{ "staff_id", "STAFF_ID", RV_COL_RIGHT },
	{ "staff_email", "STAFF", 0 },
	{ "email", "GOOGLE ACCOUNT", 0 },
	{ "state", "STATE", 0 },
	{ "last_sync", "LAST SYNC", RV_COL_TIME },
	{ "pending", "PENDING", RV_COL_RIGHT },
	{ "last_error", "LAST ERROR", 0 },
	{ NULL, NULL, 0 },
};

const struct rv_col gcal_sync_cols[] = {
	{ "staff_email", "STAFF", 0 },
	{ "email", "GOOGLE ACCOUNT", 0 },
	{ "state", "STATE", 0 },
	{ "pulled", "PULLED", RV_COL_RIGHT },
	{ "inserted", "INSERTED", RV_COL_RIGHT },
	{ "updated", "UPDATED", RV_COL_RIGHT },
	{ "deleted", "DELETED", RV_COL_RIGHT },
	{ "overwritten", "OVERWRITTEN", RV_COL_RIGHT },
	{ "needs_review", "REVIEW", RV_COL_RIGHT },
	{ "pending", "PENDING", RV_COL_RIGHT },
	{ "requests", "REQUESTS", RV_COL_RIGHT },
	{ "error", "ERROR", 0 },
	{ NULL, NULL, 0 },
};

int
gcal_accounts(sqlite3 *db, struct rv_ids *out, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT staff_id FROM gcal_account ORDER BY staff_id";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ids_add(out, sqlite3_column_int64(st, 0));
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "calendar accounts");
	sqlite3_finalize(st);
	return rc;
}

int
gcal_connected(sqlite3 *db, int64_t staff_id, int *found, struct rv_err *e)
{
	int64_t v;

	return db_int(db, "SELECT staff_id FROM gcal_account "
	    "WHERE staff_id = ?", staff_id, &v, found, e);
}

int
gcal_account_record(sqlite3 *db, int64_t staff_id, json_t **rec,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT s.id, s.name, s.email, g.email, g.calendar, g.scopes, "
	    "g.state, g.connected, g.last_sync, g.last_full_sync, "
	    "g.last_error, g.staff_id IS NOT NULL, "
	    "(SELECT count(*) FROM gcal_link WHERE staff_id = s.id "
	    "AND state = 'live' AND appointment_id IS NOT NULL), "
	    "(SELECT count(*) FROM event WHERE staff_id = s.id "
	    "AND source = 'google'), "
	    "(SELECT count(*) FROM event WHERE staff_id = s.id "
	    "AND source = 'google' AND busy), "
	    /* pending: the outbox of the operator's bookings and the
	     * events of theirs waiting to be deleted */
	    "(SELECT count(*) FROM gcal_outbox o JOIN appointment a "
	    "ON a.id = o.appointment_id WHERE a.staff_id = s.id) + "
	    "(SELECT count(*) FROM gcal_link WHERE staff_id = s.id "
	    "AND (state = 'delete' OR appointment_id IS NULL)) "
	    "FROM staff s LEFT JOIN gcal_account g ON g.staff_id = s.id "
	    "WHERE s.id = ?";
	sqlite3_stmt *st;
	json_t *r;
	int rc;

	*rec = NULL;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? rv_fail(e, EX_NOINPUT,
		    "no such staff member %lld", (long long)staff_id) :
		    db_fail(db, rc, e, "calendar account");
		sqlite3_finalize(st);
		return rc;
	}
	r = rec_new("gcal_account", staff_id);
	json_object_set_new(r, "staff_id", json_integer(staff_id));
	rec_col_text(r, "staff_name", st, 1);
	rec_col_text(r, "staff_email", st, 2);
	rec_col_text(r, "email", st, 3);
	rec_col_text(r, "calendar", st, 4);
	rec_col_text(r, "scopes", st, 5);
	if (sqlite3_column_int(st, 11))
		rec_col_text(r, "state", st, 6);
	else
		json_object_set_new(r, "state", json_string("disconnected"));
	rec_col_time(r, "connected", st, 7);
	rec_col_time(r, "last_sync", st, 8);
	rec_col_time(r, "last_full_sync", st, 9);
	rec_col_int(r, "pending", st, 15);
	rec_col_int(r, "pushed", st, 12);
	rec_col_int(r, "imported", st, 13);
	rec_col_int(r, "busy", st, 14);
	rec_col_text(r, "last_error", st, 10);
	sqlite3_finalize(st);
	*rec = r;
	return 0;
}

void
gcal_secret_free(char *s)
{
	if (s != NULL) {
		rv_wipe(s, strlen(s));
		free(s);
	}
}

static void
token_aad(char *buf, size_t n, int64_t staff_id, const char *which)
{
	snprintf(buf, n, "gcal_account %lld %s", (long long)staff_id, which);
}

int
gcal_token_get(sqlite3 *db, const uint8_t key[RV_KEY_LEN], int64_t staff_id,
    const char *which, char **tok, int64_t *expires, struct rv_err *e)
{
	static const char refresh[] =
	    "SELECT refresh_token, NULL FROM gcal_account WHERE staff_id = ?";
	static const char access[] =
	    "SELECT access_token, access_expires FROM gcal_account "
	    "WHERE staff_id = ?";
	sqlite3_stmt *st;
	char aad[96];
	size_t n;
	int rc;

	*tok = NULL;
	if (expires != NULL)
		*expires = 0;
	if ((rc = db_prepare(db, strcmp(which, "refresh_token") == 0 ?
	    refresh : access, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "staff member %lld has no "
		    "connected calendar", (long long)staff_id);
	} else if (rc != SQLITE_ROW) {
		rc = db_fail(db, rc, e, "calendar account");
	} else if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		rc = 0;
	} else {
		token_aad(aad, sizeof(aad), staff_id, which);
		if (expires != NULL)
			*expires = sqlite3_column_int64(st, 1);
		rc = crypt_open(key, aad, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), tok, &n, e);
	}
	sqlite3_finalize(st);
	return rc;
}

static int
token_put(sqlite3 *db, const uint8_t key[RV_KEY_LEN], int64_t staff_id,
    const char *which, const char *tok, int64_t expires, struct rv_err *e)
{
	static const char refresh[] =
	    "UPDATE gcal_account SET refresh_token = ?1 WHERE staff_id = ?3";
	static const char access[] =
	    "UPDATE gcal_account SET access_token = ?1, access_expires = ?2 "
	    "WHERE staff_id = ?3";
	sqlite3_stmt *st;
	uint8_t *blob = NULL;
	size_t blobn;
	char aad[96];
	int rc;

	token_aad(aad, sizeof(aad), staff_id, which);
	if ((rc = crypt_seal(key, aad, tok, strlen(tok), &blob, &blobn, e)) !=
	    0)
		return rc;
	if ((rc = db_prepare(db, strcmp(which, "refresh_token") == 0 ?
	    refresh : access, &st, e)) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, blob, (int)blobn, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, expires);
	sqlite3_bind_int64(st, 3, staff_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "calendar account");
out:
	free(blob);
	return rc;
}

int
gcal_token_put_access(sqlite3 *db, const uint8_t key[RV_KEY_LEN],
    int64_t staff_id, const char *tok, int64_t expires, struct rv_err *e)
{
	return token_put(db, key, staff_id, "access_token", tok, expires, e);
}

int
gcal_token_put_refresh(sqlite3 *db, const uint8_t key[RV_KEY_LEN],
    int64_t staff_id, const char *tok, struct rv_err *e)
{
	return token_put(db, key, staff_id, "refresh_token", tok, 0, e);
}

/* Runs a statement binding ?1 to staff_id and ?2 to now. */
static int
exec_staff(sqlite3 *db, const char *sql, int64_t staff_id, int64_t now,
    int *changes, struct rv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "calendar account");
	if (changes != NULL)
		*changes = sqlite3_changes(db);
	return 0;
}

/* What an operator's sync leaves behind besides the account row. */
static const char drop_links[] = "DELETE FROM gcal_link WHERE staff_id = ?1";
static const char drop_outbox[] =
    "DELETE FROM gcal_outbox WHERE appointment_id IN "
    "(SELECT id FROM appointment WHERE staff_id = ?1)";
static const char drop_imported[] =
    "DELETE FROM event WHERE staff_id = ?1 AND source = 'google'";

int
gcal_account_save(sqlite3 *db, const struct rv_who *w,
    const uint8_t key[RV_KEY_LEN], const struct gcal_new_account *a,
    struct rv_err *e)
{
	static const char old_sql[] =
	    "SELECT email, calendar FROM gcal_account WHERE staff_id = ?";
	static const char put[] =
	    "INSERT INTO gcal_account (staff_id, email, calendar, scopes, "
	    "refresh_token, connected, updated) VALUES (?1, ?2, ?3, ?4, x'', "
	    "?5, ?5) ON CONFLICT (staff_id) DO UPDATE SET "
	    "email = excluded.email, calendar = excluded.calendar, "
	    "scopes = excluded.scopes, state = 'ok', last_error = NULL, "
	    "access_token = NULL, access_expires = NULL, "
	    "connected = excluded.connected, updated = excluded.updated";
	static const char restart[] =
	    "UPDATE gcal_account SET sync_token = NULL, last_sync = NULL, "
	    "last_full_sync = NULL WHERE staff_id = ?1";
	/* The operator's bookings still to come, for their first push. */
	static const char backfill[] =
	    "INSERT INTO gcal_outbox (appointment_id, queued) "
	    "SELECT id, ?2 FROM appointment WHERE staff_id = ?1 AND end > ?2 "
	    "AND status IN ('booked', 'needs_review') "
	    "ON CONFLICT (appointment_id) DO NOTHING";
	sqlite3_stmt *st;
	char ref[40];
	int rc, same = 0, existed = 0;

	if ((rc = db_prepare(db, old_sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, a->staff_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		existed = 1;
		same = strcasecmp((const char *)sqlite3_column_text(st, 0),
		    a->email) == 0 && strcmp((const char *)
		    sqlite3_column_text(st, 1), a->calendar) == 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, rc, e, "calendar account");
	/* Another calendar: what we knew of the old one means nothing. */
	if (existed && !same &&
	    ((rc = exec_staff(db, restart, a->staff_id, 0, NULL, e)) != 0 ||
	    (rc = exec_staff(db, drop_links, a->staff_id, 0, NULL, e)) != 0 ||
	    (rc = exec_staff(db, drop_imported, a->staff_id, 0, NULL, e)) != 0))
		return rc;
	if ((rc = db_prepare(db, put, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, a->staff_id);
	db_bind_text(st, 2, a->email);
	db_bind_text(st, 3, a->calendar);
	db_bind_text(st, 4, a->scopes);
	sqlite3_bind_int64(st, 5, w->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "calendar account");
	if ((rc = gcal_token_put_refresh(db, key, a->staff_id,
	    a->refresh_token, e)) != 0)
		return rc;
	if (a->access_token != NULL && (rc = gcal_token_put_access(db, key,
	    a->staff_id, a->access_token, a->access_expires, e)) != 0)
		return rc;
	if ((rc = exec_staff(db, backfill, a->staff_id, w->now, NULL, e)) != 0)
		return rc;
	snprintf(ref, sizeof(ref), "staff %lld", (long long)a->staff_id);
	return audit_append(db, w, "gcal.connect", 0, ref,
	    "email,calendar,scopes,refresh_token", e);
}

int
gcal_account_drop(sqlite3 *db, const struct rv_who *w, int64_t staff_id,
    int purge, int *purged, struct rv_err *e)
{
	static const char drop[] =
	    "DELETE FROM gcal_account WHERE staff_id = ?1";
	char ref[40];
	int n = 0, rc;

	*purged = 0;
	if ((rc = exec_staff(db, drop, staff_id, 0, &n, e)) != 0 ||
	    (rc = exec_staff(db, drop_outbox, staff_id, 0, NULL, e)) != 0 ||
	    (rc = exec_staff(db, drop_links, staff_id, 0, NULL, e)) != 0)
		return rc;
	if (purge && (rc = exec_staff(db, drop_imported, staff_id, 0, purged,
	    e)) != 0)
		return rc;
	if (n == 0 && *purged == 0)
		return 0;
	snprintf(ref, sizeof(ref), "staff %lld", (long long)staff_id);
	return audit_append(db, w, "gcal.disconnect", 0, ref, n == 0 ?
	    "events" : purge ? "email,scopes,refresh_token,access_token,"
	    "sync_token,events" : "email,scopes,refresh_token,access_token,"
	    "sync_token", e);
}

int
gcal_account_state(sqlite3 *db, int64_t staff_id, const char *state,
    const char *msg, int64_t now, struct rv_err *e)
{
	static const char ok[] =
	    "UPDATE gcal_account SET state = 'ok', last_error = NULL, "
	    "last_sync = ?2, updated = ?2 WHERE staff_id = ?1";
	static const char bad[] =
	    "UPDATE gcal_account SET state = ?3, last_error = ?4, "
	    "updated = ?2 WHERE staff_id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, strcmp(state, "ok") == 0 ? ok : bad, &st,
	    e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, now);
	if (strcmp(state, "ok") != 0) {
		db_bind_text(st, 3, state);
		db_bind_text(st, 4, msg);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "calendar account");
}
