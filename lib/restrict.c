/* restrict.c — restricting a client's processing (art. 18) and lifting it. */
#include <string.h>

#include "riserva.h"
#include "restrict.h"
#include "outbox.h"
#include "banned.h"

/* Sets the restriction to on (with its time and reason) or off. */
static int
set_restricted(sqlite3 *db, const struct rv_who *w, int64_t id, int on,
    const char *reason, struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE client SET restricted = ?1, "
	    "restricted_at = CASE WHEN ?1 THEN ?2 END, "
	    "restricted_reason = CASE WHEN ?1 THEN ?3 END, updated = ?2 "
	    "WHERE id = ?4";
	sqlite3_stmt *st;
	char ref[32];
	int restricted, rc;

	if ((rc = client_restricted(db, id, &restricted, e)) != 0)
		return rc;
	if (restricted == on)
		return rv_fail(e, EX_REFUSED, on ?
		    "client %lld is already restricted" :
		    "client %lld is not restricted", (long long)id);
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int(st, 1, on);
	sqlite3_bind_int64(st, 2, w->now);
	db_bind_text(st, 3, reason);
	sqlite3_bind_int64(st, 4, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "client");
	snprintf(ref, sizeof(ref), "client %lld", (long long)id);
	return audit_append(db, w, on ? "client.restrict" :
	    "client.unrestrict", id, ref,
	    "restricted,restricted_at,restricted_reason", e);
}

int
client_restrict(sqlite3 *db, const struct rv_who *w, int64_t id,
    const char *reason, struct rv_err *e)
{
	int rc;

	if ((rc = check_text("reason", reason, 500, 1, 1, e)) != 0)
		return rc;
	return set_restricted(db, w, id, 1, reason, e);
}

int
client_unrestrict(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e)
{
	int rc;

	if ((rc = set_restricted(db, w, id, 0, NULL, e)) != 0)
		return rc;
	return outbox_revive_client(db, w, id, e);
}

int
client_restriction(sqlite3 *db, json_t *rec, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT restricted_at, restricted_reason FROM client WHERE id = ?";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(rec,
	    "id")));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rec_col_time(rec, "restricted_at", st, 0);
		rec_col_text(rec, "restricted_reason", st, 1);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? rv_fail(e, EX_NOINPUT,
		    "no such client") : db_fail(db, rc, e, "client");
	}
	sqlite3_finalize(st);
	return rc;
}
