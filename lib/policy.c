/* policy.c — privacy-policy versions: archived whole, hashed, never changed. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "banned.h"

const struct rv_col policy_cols[] = {
	{ "version", "VERSION", 0 },
	{ "effective", "EFFECTIVE", RV_COL_TIME },
	{ "in_force", "IN_FORCE", 0 },
	{ "substantial", "SUBSTANTIAL", 0 },
	{ "size", "BYTES", RV_COL_RIGHT },
	{ "url", "URL", 0 },
	{ NULL, NULL, 0 },
};

int
policy_check_version(const char *v, struct rv_err *e)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > POLICY_VERSION_MAX || !isalnum((unsigned char)v[0]))
		goto bad;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) &&
		    strchr("._-", v[i]) == NULL)
			goto bad;
	return 0;
bad:
	return rv_fail(e, EX_DATAERR, "bad policy version '%s': letters, "
	    "digits, '.', '_' and '-', starting with a letter or digit, at "
	    "most %d", v, POLICY_VERSION_MAX);
}

/* An absolute http(s) URL with a host and nothing a link would break on. */
int
policy_check_url(const char *what, const char *url, struct rv_err *e)
{
	const char *host, *p;

	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		goto bad;
	if (*host == '\0' || *host == '/' || strlen(url) > 2000)
		goto bad;
	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\"<>\\^`{|}", *p) != NULL)
			goto bad;
	return 0;
bad:
	return rv_fail(e, EX_DATAERR,
	    "bad %s '%s': an http:// or https:// URL", what, url);
}

static json_t *
policy_record(sqlite3_stmt *st)
{
	json_t *r = rec_new("policy", sqlite3_column_int64(st, 0));

	rec_col_text(r, "version", st, 1);
	rec_col_time(r, "effective", st, 2);
	rec_col_text(r, "url", st, 3);
	rec_col_text(r, "sha256", st, 4);
	rec_col_int(r, "size", st, 5);
	rec_col_bool(r, "substantial", st, 6);
	rec_col_bool(r, "in_force", st, 7);
	rec_col_time(r, "added", st, 8);
	return r;
}

/* ?1 is "now": the version in force then is the latest that took effect
 * by it, the last archived winning a tie. */
#define POLICY_SELECT \
	"SELECT p.id, p.version, p.effective, p.url, p.sha256, " \
	"length(p.text), p.substantial, p.id IS (SELECT id FROM policy " \
	"WHERE effective <= ?1 ORDER BY effective DESC, id DESC LIMIT 1), " \
	"p.added FROM policy p "

int
policy_get(sqlite3 *db, const char *version, int64_t now, json_t **rec,
    struct rv_err *e)
{
	static const char sql[] = POLICY_SELECT "WHERE p.version = ?2";
	sqlite3_stmt *st;
	int rc;

	*rec = NULL;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*rec = policy_record(st);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "no policy version '%s'", version);
	} else {
		rc = db_fail(db, rc, e, "policy");
	}
	sqlite3_finalize(st);
	return rc;
}

int
policy_list(sqlite3 *db, int64_t now, int (*fn)(json_t *rec, void *arg),
    void *arg, struct rv_err *e)
{
	static const char sql[] = POLICY_SELECT
	    "ORDER BY p.effective, p.id";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(policy_record(st), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "policies");
out:
	sqlite3_finalize(st);
	return rc;
}

static void
sha256_hex(const void *data, size_t n, char hex[65])
{
	uint8_t sum[32];

	crypt_sha256(data, n, sum);
	crypt_hex(sum, sizeof(sum), hex);
}

int
policy_add(sqlite3 *db, const struct rv_who *w, const struct policy_req *p,
    int64_t *id, struct rv_err *e)
{
	static const char old_sql[] =
	    "SELECT effective, url, sha256, substantial FROM policy "
	    "WHERE version = ?";
	static const char sql[] =
	    "INSERT INTO policy (version, effective, url, text, sha256, "
	    "substantial, added) VALUES (?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st = NULL;
	char hex[65], ref[96];
	int rc;

	*id = 0;
	if ((rc = policy_check_version(p->version, e)) != 0 ||
	    (rc = policy_check_url("policy URL", p->url, e)) != 0)
		return rc;
	if (p->n == 0)
		return rv_fail(e, EX_DATAERR, "the policy text is empty");
	if (p->n > (size_t)POLICY_TEXT_MAX)
		return rv_fail(e, EX_DATAERR,
		    "the policy text is too long (%zu bytes, at most %ld)",
		    p->n, POLICY_TEXT_MAX);
	sha256_hex(p->text, p->n, hex);
	if ((rc = db_prepare(db, old_sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, p->version, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		/* Running the same archiving twice is harmless; changing an
		 * archived version is what must never happen. */
		int same = sqlite3_column_int64(st, 0) == p->effective &&
		    strcmp((const char *)sqlite3_column_text(st, 1),
		    p->url) == 0 &&
		    strcmp((const char *)sqlite3_column_text(st, 2),
		    hex) == 0 &&
		    (sqlite3_column_int(st, 3) != 0) == (p->substantial != 0);

		rc = same ? 0 : rv_fail(e, EX_REFUSED,
		    "policy version '%s' is already archived, with other "
		    "contents: policies are never changed; archive the new "
		    "text as a new version", p->version);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, rc, e, "policy");
		goto out;
	}
	sqlite3_finalize(st);
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, p->version, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, p->effective);
	sqlite3_bind_text(st, 3, p->url, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 4, p->text, p->n, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, hex, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, p->substantial != 0);
	sqlite3_bind_int64(st, 7, w->now);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, rc, e, "policy");
		goto out;
	}
	*id = sqlite3_last_insert_rowid(db);
	snprintf(ref, sizeof(ref), "policy %s", p->version);
	rc = audit_append(db, w, "policy.add", 0, ref,
	    "version,effective,url,text,sha256,substantial", e);
out:
	sqlite3_finalize(st);
	return rc;
}

int
policy_text(sqlite3 *db, const char *version, void **text, size_t *n,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT text, sha256 FROM policy WHERE version = ?";
	sqlite3_stmt *st;
	char hex[65];
	int rc;

	*text = NULL;
	*n = 0;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, version, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		const void *b = sqlite3_column_blob(st, 0);

		sha256_hex(b != NULL ? b : "", len, hex);
		if (strcmp(hex, (const char *)sqlite3_column_text(st, 1)) !=
		    0) {
			rc = rv_fail(e, EX_DATAERR, "the archived text of "
			    "policy '%s' does not match its SHA-256: it was "
			    "damaged or altered", version);
		} else {
			*text = xmalloc(len);
			memcpy(*text, b, len);
			*n = len;
			rc = 0;
		}
	} else if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "no policy version '%s'", version);
	} else {
		rc = db_fail(db, rc, e, "policy");
	}
	sqlite3_finalize(st);
	return rc;
}

int
policy_in_force(sqlite3 *db, int64_t t, char **version, char **url,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT version, url FROM policy WHERE effective <= ? "
	    "ORDER BY effective DESC, id DESC LIMIT 1";
	sqlite3_stmt *st;
	int rc;

	*version = NULL;
	if (url != NULL)
		*url = NULL;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, t);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = xstrdup((const char *)sqlite3_column_text(st, 0));
		if (url != NULL)
			*url = xstrdup((const char *)
			    sqlite3_column_text(st, 1));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_fail(db, rc, e, "policy");
	}
	sqlite3_reset(st);
	return rc;
}

int
policy_affected(sqlite3 *db, const char *version,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	/* An appointment in the window, or one booked before the change
	 * for after it: that client comes under the new text unaware. */
	static const char sql[] =
	    "SELECT " CLIENT_COLS " FROM client WHERE id IN ("
	    "  SELECT client_id FROM appointment"
	    "  WHERE ((start >= ?1 AND start < ?2) OR"
	    "  (start >= ?2 AND created < ?2)) AND status <> 'cancelled'"
	    "  AND client_id IS NOT NULL) ORDER BY id";
	sqlite3_stmt *st;
	int64_t effective, since;
	int y, m, d, minute, found, rc;

	rc = db_prepare(db, "SELECT effective FROM policy WHERE version = ?",
	    &st, e);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(st, 1, version, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	found = rc == SQLITE_ROW;
	effective = found ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, rc, e, "policy");
	if (!found)
		return rv_fail(e, EX_NOINPUT, "no policy version '%s'",
		    version);
	/* Calendar months back in the centre's time; a 29 February with no
	 * match falls on the last day of that month. */
	tm_day_of(effective, &y, &m, &d, &minute);
	m -= POLICY_AFFECTED_MONTHS;
	while (m < 1) {
		m += 12;
		y--;
	}
	if (d > tm_days_in_month(y, m))
		d = tm_days_in_month(y, m);
	since = tm_wall(y, m, d, minute);
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, effective);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(client_record(st), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "clients");
out:
	sqlite3_finalize(st);
	return rc;
}
