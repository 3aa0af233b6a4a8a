/* consent.c — the consent ledger's current state, for every tool to check. */
#include "riserva.h"
#include "banned.h"

const char *const consent_purposes[] = { "reminders", "health", "marketing",
	NULL };

/* A purpose stands when its latest ledger row is a grant. */
int
consent_granted(sqlite3 *db, int64_t client_id, const char *purpose,
    int *granted, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT action = 'grant' FROM consent "
	    "WHERE client_id = ? AND purpose = ? ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *st;
	int rc;

	*granted = 0;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	sqlite3_bind_text(st, 2, purpose, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*granted = sqlite3_column_int(st, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_fail(db, rc, e, "consent");
	}
	sqlite3_reset(st);
	return rc;
}
