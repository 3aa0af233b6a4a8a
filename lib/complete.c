/* complete.c — words for shell completion: client and staff emails, services. */
#include <string.h>

#include "riserva.h"
#include "banned.h"

int
complete_words(sqlite3 *db, const char *kind, const char *prefix,
    int (*fn)(const char *word, void *arg), void *arg, struct rv_err *e)
{
	static const char clients[] = "SELECT email FROM client "
	    "WHERE email LIKE ?1 ESCAPE '\\' ORDER BY email LIMIT 200";
	static const char staff[] = "SELECT email FROM staff "
	    "WHERE email LIKE ?1 ESCAPE '\\' AND active ORDER BY email";
	static const char services[] = "SELECT name FROM service "
	    "WHERE name LIKE ?1 ESCAPE '\\' AND retired IS NULL ORDER BY name";
	struct rv_buf pat = { 0 };
	sqlite3_stmt *st;
	const char *sql;
	int rc;

	if (strcmp(kind, "client") == 0)
		sql = clients;
	else if (strcmp(kind, "staff") == 0)
		sql = staff;
	else
		sql = services;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	for (; prefix != NULL && *prefix; prefix++) {
		if (*prefix == '%' || *prefix == '_' || *prefix == '\\')
			buf_addc(&pat, '\\');
		buf_addc(&pat, *prefix);
	}
	buf_addc(&pat, '%');
	sqlite3_bind_text(st, 1, pat.s, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn((const char *)sqlite3_column_text(st, 0), arg)) !=
		    0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "complete");
out:
	sqlite3_finalize(st);
	buf_free(&pat);
	return rc;
}
