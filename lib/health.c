/* health.c — health and allergy notes: sealed at rest, only with consent. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "health.h"
#include "banned.h"

/* The associated data binds a sealed text to its row: moved to another
 * client's row, it no longer opens. */
static void
health_aad(int64_t client_id, char aad[48])
{
	snprintf(aad, 48, "client_health %lld", (long long)client_id);
}

void
health_free(char *text, size_t n)
{
	rv_wipe(text, n);
	free(text);
}

int
health_check_text(const char *text, size_t n, struct rv_err *e)
{
	size_t i, bad;

	if (n == 0 || strspn(text, " \t\n") >= n)
		return rv_fail(e, EX_DATAERR,
		    "health text is empty (to remove it, use --clear)");
	if (n > HEALTH_MAX)
		return rv_fail(e, EX_DATAERR,
		    "health text is too long (%zu bytes, at most %d)", n,
		    HEALTH_MAX);
	if ((bad = utf8_valid(text, n)) != n)
		return rv_fail(e, EX_DATAERR,
		    "health text is not valid UTF-8 (byte %zu)", bad + 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			return rv_fail(e, EX_DATAERR,
			    "health text contains a control character "
			    "(byte %zu)", i + 1);
	}
	if ((bad = utf8_unsafe(text, n)) != n)
		return rv_fail(e, EX_DATAERR, "health text contains a control "
		    "or direction-override character (byte %zu)", bad + 1);
	return 0;
}

/* Notes saved on Windows end their lines in CR LF: the same lines. A lone
 * CR stays, to be refused as a control character. */
static size_t
crlf_to_lf(char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++)
		if (buf[i] != '\r' || i + 1 == len || buf[i + 1] != '\n')
			buf[o++] = buf[i];
	/* What moved down is not left behind in the tail. */
	rv_wipe(buf + o, len - o);
	return o;
}

int
health_read(FILE *fp, char **text, size_t *n, struct rv_err *e)
{
	/* One byte more than allowed tells a text that is too long. */
	size_t cap = HEALTH_MAX + 2, len = 0;
	char *buf = xmalloc(cap);
	ssize_t got;
	int rc;

	*text = NULL;
	*n = 0;
	/* read(2), not stdio: no copy of the text is left in a FILE buffer
	 * that nobody wipes. */
	while (len < cap - 1) {
		got = read(fileno(fp), buf + len, cap - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = rv_fail_errno(e, EX_IOERR, "reading stdin");
			goto fail;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (len > HEALTH_MAX) {
		rc = rv_fail(e, EX_DATAERR,
		    "health text is too long (more than %d bytes)", HEALTH_MAX);
		goto fail;
	}
	len = crlf_to_lf(buf, len);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' ||
	    buf[len - 1] == '\t' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		rc = rv_fail(e, EX_DATAERR, "health text contains a NUL byte");
		goto fail;
	}
	if ((rc = health_check_text(buf, len, e)) != 0)
		goto fail;
	*text = buf;
	*n = len;
	return 0;
fail:
	health_free(buf, cap);
	return rc;
}

int
health_allowed(sqlite3 *db, int64_t client_id, struct rv_err *e)
{
	int granted, restricted, rc;

	if ((rc = client_restricted(db, client_id, &restricted, e)) != 0)
		return rc;
	if (restricted)
		return rv_fail(e, EX_NOPERM,
		    "client %lld is restricted (GDPR art. 18): no health data "
		    "is stored until the restriction is lifted",
		    (long long)client_id);
	if ((rc = consent_granted(db, client_id, "health", &granted, e)) != 0)
		return rc;
	if (!granted)
		return rv_fail(e, EX_NOPERM,
		    "client %lld has not given explicit consent to keep health "
		    "data (GDPR art. 9(2)(a)): record it first with "
		    "'consent grant %lld health'", (long long)client_id,
		    (long long)client_id);
	return 0;
}

int
health_set(sqlite3 *db, const struct rv_who *w, const uint8_t key[RV_KEY_LEN],
    int64_t client_id, const char *text, size_t n, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO client_health (client_id, data, updated) "
	    "VALUES (?, ?, ?) ON CONFLICT (client_id) DO UPDATE SET "
	    "data = excluded.data, updated = excluded.updated";
	sqlite3_stmt *st = NULL;
	uint8_t *blob = NULL;
	size_t blobn;
	char aad[48], ref[32];
	int rc;

	if ((rc = health_allowed(db, client_id, e)) != 0 ||
	    (rc = health_check_text(text, n, e)) != 0)
		return rc;
	health_aad(client_id, aad);
	if ((rc = crypt_seal(key, aad, text, n, &blob, &blobn, e)) != 0)
		return rc;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, client_id);
	sqlite3_bind_blob(st, 2, blob, (int)blobn, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, w->now);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, rc, e, "health");
		goto out;
	}
	snprintf(ref, sizeof(ref), "client %lld", (long long)client_id);
	rc = audit_append(db, w, "health.set", client_id, ref, "health", e);
out:
	sqlite3_finalize(st);
	free(blob);
	return rc;
}

int
health_exists(sqlite3 *db, int64_t client_id, int *exists, struct rv_err *e)
{
	int64_t v;

	return db_int(db, "SELECT 1 FROM client_health WHERE client_id = ?",
	    client_id, &v, exists, e);
}

int
health_get(sqlite3 *db, const uint8_t key[RV_KEY_LEN], int64_t client_id,
    char **text, size_t *n, int64_t *updated, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT data, updated FROM client_health WHERE client_id = ?";
	sqlite3_stmt *st;
	char aad[48];
	int rc;

	*text = NULL;
	*n = 0;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		health_aad(client_id, aad);
		rc = crypt_open(key, aad, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), text, n, e);
		if (updated != NULL)
			*updated = sqlite3_column_int64(st, 1);
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_fail(db, rc, e, "health");
	}
	sqlite3_finalize(st);
	return rc;
}

int
health_delete(sqlite3 *db, const struct rv_who *w, int64_t client_id,
    const char *action, int *deleted, struct rv_err *e)
{
	static const char sql[] =
	    "DELETE FROM client_health WHERE client_id = ?";
	sqlite3_stmt *st;
	char ref[32];
	int rc;

	*deleted = 0;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "health");
	if (rc == 0)
		*deleted = sqlite3_changes(db) > 0;
	sqlite3_finalize(st);
	if (rc != 0 || !*deleted)
		return rc;
	snprintf(ref, sizeof(ref), "client %lld", (long long)client_id);
	return audit_append(db, w, action, client_id, ref, "health", e);
}
