/* audit.c — appending to the audit trail: who did what to whom, never values. */
#include "riserva.h"
#include "banned.h"

int
audit_append(sqlite3 *db, const struct rv_who *w, const char *action,
    int64_t client_id, const char *ref, const char *fields, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO audit (at, actor, tool, action, client_id, ref, "
	    "fields, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, w->now);
	db_bind_text(st, 2, w->actor);
	db_bind_text(st, 3, w->tool);
	db_bind_text(st, 4, action);
	if (client_id > 0)
		sqlite3_bind_int64(st, 5, client_id);
	db_bind_text(st, 6, ref);
	db_bind_text(st, 7, fields);
	db_bind_text(st, 8, w->reason);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "audit");
	sqlite3_reset(st);
	return rc;
}
