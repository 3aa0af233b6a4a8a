/*
 * auth.c — staff credentials: PBKDF2-SHA256 password hashes with their
 * salt and iteration count, logins paced and locked after repeated
 * failures, and sessions whose token lives in a 0600 file of the user's
 * runtime folder while only its hash is in the database.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gcrypt.h>

#include "riserva.h"
#include "auth.h"
#include "mac.h"
#include "banned.h"

/* Waits longer than a day are not a pace any more: that is a lock. */
#define MAX_WAIT 86400

int
auth_policy_load(const struct rv_conf *c, struct auth_policy *p,
    struct rv_err *e)
{
	long it;
	int rc;

	if ((rc = conf_int(c, "security.pbkdf2_iterations", 1000, 100000000,
	    &it, e)) != 0 ||
	    (rc = conf_int(c, "security.password_min", 1, AUTH_PASS_MAX,
	    &p->min_len, e)) != 0 ||
	    (rc = conf_int(c, "security.login_attempts", 1, 1000,
	    &p->attempts, e)) != 0 ||
	    (rc = conf_duration(c, "security.login_delay", &p->delay, e)) !=
	    0 ||
	    (rc = conf_duration(c, "security.session_idle", &p->idle, e)) !=
	    0)
		return rc;
	p->iterations = (unsigned long)it;
	return 0;
}

int
auth_pbkdf2(const char *pass, size_t passn, const uint8_t *salt,
    size_t saltn, unsigned long iterations, uint8_t *out, size_t outn,
    struct rv_err *e)
{
	gcry_error_t err;
	int rc;

	if ((rc = crypt_init(e)) != 0)
		return rc;
	err = gcry_kdf_derive(pass, passn, GCRY_KDF_PBKDF2, GCRY_MD_SHA256,
	    salt, saltn, iterations, outn, out);
	if (err != 0)
		return rv_fail(e, EX_SOFTWARE, "PBKDF2: %s", gcry_strerror(err));
	return 0;
}

static void
audit_staff(sqlite3 *db, const struct rv_who *w, const char *action,
    int64_t staff_id, const char *fields, int *rc, struct rv_err *e)
{
	char ref[40];

	if (*rc != 0)
		return;
	if (staff_id > 0)
		snprintf(ref, sizeof(ref), "staff %lld", (long long)staff_id);
	else
		snprintf(ref, sizeof(ref), "unknown account");
	*rc = audit_append(db, w, action, 0, ref, fields, e);
}

static int
step_done(sqlite3 *db, sqlite3_stmt *st, struct rv_err *e, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, what);
}

/* Ends every session of a staff member: a new password or an inactive
 * account must not leave an old login usable. */
static int
end_sessions(sqlite3 *db, int64_t staff_id, struct rv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "DELETE FROM session WHERE staff_id = ?", &st,
	    e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	return step_done(db, st, e, "session");
}

int
auth_set_password(sqlite3 *db, const struct rv_who *w, int64_t staff_id,
    const char *pass, const struct auth_policy *p, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO staff_auth (staff_id, algo, iterations, salt, hash, "
	    "set_at) VALUES (?1, 'pbkdf2-sha256', ?2, ?3, ?4, ?5) "
	    "ON CONFLICT (staff_id) DO UPDATE SET algo = excluded.algo, "
	    "iterations = ?2, salt = ?3, hash = ?4, set_at = ?5, failed = 0, "
	    "failed_at = NULL, locked = 0";
	uint8_t salt[AUTH_SALT_LEN], hash[AUTH_HASH_LEN];
	size_t n = strlen(pass);
	sqlite3_stmt *st;
	int rc;

	if ((long)n < p->min_len)
		return rv_fail(e, EX_DATAERR, "the password is too short (at "
		    "least %ld characters: security.password_min)", p->min_len);
	if (n > AUTH_PASS_MAX)
		return rv_fail(e, EX_DATAERR, "the password is too long (at "
		    "most %d bytes)", AUTH_PASS_MAX);
	crypt_random(salt, sizeof(salt));
	/* The slow part before the write lock is taken. */
	if ((rc = auth_pbkdf2(pass, n, salt, sizeof(salt), p->iterations, hash,
	    sizeof(hash), e)) != 0)
		return rc;
	if ((rc = db_begin(db, e)) != 0)
		goto out;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		goto fail;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, (int64_t)p->iterations);
	sqlite3_bind_blob(st, 3, salt, sizeof(salt), SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, w->now);
	if ((rc = step_done(db, st, e, "password")) != 0 ||
	    (rc = end_sessions(db, staff_id, e)) != 0)
		goto fail;
	audit_staff(db, w, "staff.passwd", staff_id, "password", &rc, e);
	if (rc != 0)
		goto fail;
	rc = db_commit(db, e);
	goto out;
fail:
	db_rollback(db);
out:
	rv_wipe(hash, sizeof(hash));
	return rc;
}

/* What the database holds for one account. */
struct cred {
	int found;		/* a staff member with that email */
	int has_pw;
	int64_t staff_id;
	char email[256];
	char role[16];
	int active, locked;
	int64_t iterations, failed, failed_at;
	uint8_t salt[64];
	size_t saltn;
	uint8_t hash[AUTH_HASH_LEN];
};

static int
cred_load(sqlite3 *db, const char *email, int64_t staff_id, struct cred *c,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT s.id, s.email, s.role, s.active, a.iterations, a.salt, "
	    "a.hash, a.failed, coalesce(a.failed_at, 0), a.locked "
	    "FROM staff s LEFT JOIN staff_auth a ON a.staff_id = s.id "
	    "WHERE s.email = ?1 OR s.id = ?2";
	sqlite3_stmt *st;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	db_bind_text(st, 1, email);
	sqlite3_bind_int64(st, 2, staff_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->found = 1;
		c->staff_id = sqlite3_column_int64(st, 0);
		snprintf(c->email, sizeof(c->email), "%s",
		    sqlite3_column_text(st, 1));
		snprintf(c->role, sizeof(c->role), "%s",
		    sqlite3_column_text(st, 2));
		c->active = sqlite3_column_int(st, 3);
		c->has_pw = sqlite3_column_type(st, 4) != SQLITE_NULL &&
		    sqlite3_column_bytes(st, 6) == AUTH_HASH_LEN &&
		    sqlite3_column_bytes(st, 5) > 0 &&
		    sqlite3_column_bytes(st, 5) <= (int)sizeof(c->salt);
		if (c->has_pw) {
			c->iterations = sqlite3_column_int64(st, 4);
			c->saltn = (size_t)sqlite3_column_bytes(st, 5);
			memcpy(c->salt, sqlite3_column_blob(st, 5), c->saltn);
			memcpy(c->hash, sqlite3_column_blob(st, 6),
			    AUTH_HASH_LEN);
			c->failed = sqlite3_column_int64(st, 7);
			c->failed_at = sqlite3_column_int64(st, 8);
			c->locked = sqlite3_column_int(st, 9);
		}
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "staff");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Verifies pass against c, in constant time for the comparison. */
static int
cred_match(const struct cred *c, const char *pass, int *ok, struct rv_err *e)
{
	uint8_t got[AUTH_HASH_LEN];
	int rc;

	*ok = 0;
	if ((rc = auth_pbkdf2(pass, strlen(pass), c->salt, c->saltn,
	    (unsigned long)c->iterations, got, sizeof(got), e)) != 0)
		return rc;
	*ok = mac_equal(got, c->hash, AUTH_HASH_LEN);
	rv_wipe(got, sizeof(got));
	return 0;
}

/* The wait after k failures: delay, 2 delay, 4 delay ... */
static int64_t
pace(int64_t delay, int64_t k)
{
	int64_t w = delay;

	while (--k > 0 && w < MAX_WAIT)
		w *= 2;
	return w < MAX_WAIT ? w : MAX_WAIT;
}

enum { CLAIM_OK, CLAIM_LOCKED, CLAIM_PACED };

/*
 * The first half of a login, under the write lock: the account is read,
 * a lock or a wait refuses the attempt (audited), and otherwise the
 * attempt is counted as a failure before the slow hash is computed. So
 * attempts started at once are paced like attempts made one after the
 * other, not all let through before the first is counted; a success
 * takes the count back.
 */
static int
login_claim(sqlite3 *db, const struct rv_who *w, const char *email,
    int64_t staff_id, const char *what, const struct auth_policy *p,
    struct cred *c, int *verdict, int64_t *wait, struct rv_err *e)
{
	char action[32];
	static const char claim[] =
	    "UPDATE staff_auth SET failed = failed + 1, failed_at = ?2 "
	    "WHERE staff_id = ?1";
	const char *refusal = NULL;
	sqlite3_stmt *st;
	int rc;

	*verdict = CLAIM_OK;
	*wait = 0;
	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = cred_load(db, email, staff_id, c, e)) != 0)
		goto fail;
	if (c->has_pw && c->locked) {
		*verdict = CLAIM_LOCKED;
		refusal = "locked";
	} else if (c->has_pw && c->failed > 0 &&
	    (*wait = c->failed_at + pace(p->delay, c->failed) - w->now) > 0) {
		*verdict = CLAIM_PACED;
		refusal = "paced";
	} else if (c->has_pw) {
		if ((rc = db_prepare(db, claim, &st, e)) != 0)
			goto fail;
		sqlite3_bind_int64(st, 1, c->staff_id);
		sqlite3_bind_int64(st, 2, w->now);
		if ((rc = step_done(db, st, e, "staff")) != 0)
			goto fail;
	}
	if (refusal != NULL) {
		snprintf(action, sizeof(action), "staff.%s_%s", what, refusal);
		audit_staff(db, w, action, c->staff_id, NULL, &rc, e);
	}
	if (rc != 0)
		goto fail;
	return db_commit(db, e);
fail:
	db_rollback(db);
	return rc;
}

/* A wrong password: the attempt was counted by login_claim; the account
 * locks once the count reaches security.login_attempts. */
static int
login_failed(sqlite3 *db, const struct rv_who *w, const struct cred *c,
    const char *what, const struct auth_policy *p, int *locked_now,
    struct rv_err *e)
{
	char action[32];
	static const char sql[] =
	    "UPDATE staff_auth SET locked = 1 WHERE staff_id = ?1 "
	    "AND NOT locked AND failed >= ?2";
	sqlite3_stmt *st;
	int rc;

	*locked_now = 0;
	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if (c->has_pw) {
		if ((rc = db_prepare(db, sql, &st, e)) != 0)
			goto fail;
		sqlite3_bind_int64(st, 1, c->staff_id);
		sqlite3_bind_int64(st, 2, p->attempts);
		if ((rc = step_done(db, st, e, "staff")) != 0)
			goto fail;
		*locked_now = sqlite3_changes(db) > 0;
	}
	snprintf(action, sizeof(action), "staff.%s_failed", what);
	audit_staff(db, w, action, c->found ? c->staff_id : 0, NULL, &rc, e);
	if (*locked_now)
		audit_staff(db, w, "staff.lock", c->staff_id, "locked", &rc,
		    e);
	if (rc != 0)
		goto fail;
	return db_commit(db, e);
fail:
	db_rollback(db);
	return rc;
}

/* The right password of an inactive account: refused, and the attempt
 * login_claim counted is taken back (it was no guess). */
static int
login_inactive(sqlite3 *db, const struct rv_who *w, const struct cred *c,
    struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE staff_auth SET failed = max(failed - 1, 0) "
	    "WHERE staff_id = ?";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		goto fail;
	sqlite3_bind_int64(st, 1, c->staff_id);
	if ((rc = step_done(db, st, e, "staff")) != 0)
		goto fail;
	audit_staff(db, w, "staff.login_inactive", c->staff_id, NULL, &rc, e);
	if (rc != 0)
		goto fail;
	return db_commit(db, e);
fail:
	db_rollback(db);
	return rc;
}

int
auth_check_current(sqlite3 *db, const struct rv_who *w, int64_t staff_id,
    const char *pass, const struct auth_policy *p, struct rv_err *e)
{
	static const char reset[] =
	    "UPDATE staff_auth SET failed = 0, failed_at = NULL "
	    "WHERE staff_id = ?";
	sqlite3_stmt *st;
	struct cred c;
	int64_t wait;
	int ok = 0, locked_now, verdict, rc;

	if ((rc = login_claim(db, w, NULL, staff_id, "passwd", p, &c,
	    &verdict, &wait, e)) != 0)
		goto out;
	if (verdict == CLAIM_LOCKED) {
		rc = rv_fail(e, EX_NOPERM, "the account %s is locked after "
		    "%ld failed attempts: an admin must set a new password",
		    c.email, p->attempts);
		goto out;
	}
	if (verdict == CLAIM_PACED) {
		rc = rv_fail(e, EX_TEMPFAIL, "too many wrong passwords: wait "
		    "%lld s before trying again", (long long)wait);
		goto out;
	}
	if (c.has_pw && (rc = cred_match(&c, pass, &ok, e)) != 0)
		goto out;
	if (!ok) {
		if ((rc = login_failed(db, w, &c, "passwd", p, &locked_now,
		    e)) == 0)
			rc = rv_fail(e, EX_NOPERM, locked_now ? "wrong "
			    "password; the account is now locked" :
			    "wrong password");
		goto out;
	}
	if ((rc = db_prepare(db, reset, &st, e)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, c.staff_id);
	rc = step_done(db, st, e, "staff");
out:
	rv_wipe(&c, sizeof(c));
	return rc;
}

/* The token file: read and written with no one else able to look. */
static int
token_read(const char *path, uint8_t token[AUTH_TOKEN_LEN], int *found,
    struct rv_err *e)
{
	char text[2 * AUTH_TOKEN_LEN + 2];
	struct stat sb;
	ssize_t n;
	int fd, rc = 0, i;

	*found = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return rv_fail_errno(e, EX_NOPERM, "cannot read %s", path);
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & 077) != 0) {
		rc = rv_fail(e, EX_NOPERM, "%s is not a private file of this "
		    "user: remove it and log in again", path);
		goto out;
	}
	n = read(fd, text, sizeof(text));
	if (n >= 2 * AUTH_TOKEN_LEN) {
		*found = 1;
		for (i = 0; i < 2 * AUTH_TOKEN_LEN; i++) {
			int c = text[i], v;

			if (c >= '0' && c <= '9')
				v = c - '0';
			else if (c >= 'a' && c <= 'f')
				v = c - 'a' + 10;
			else {
				*found = 0;
				break;
			}
			if (i % 2 == 0)
				token[i / 2] = (uint8_t)(v << 4);
			else
				token[i / 2] |= (uint8_t)v;
		}
	}
out:
	rv_wipe(text, sizeof(text));
	close(fd);
	return rc;
}

/* Written beside the final name and renamed after the commit, so a
 * failed login leaves no token and a good one never half a token. */
static int
token_write(const char *path, const uint8_t token[AUTH_TOKEN_LEN],
    char *tmp, size_t tmpn, struct rv_err *e)
{
	char text[2 * AUTH_TOKEN_LEN + 1];
	int fd, rc = 0;

	if (snprintf(tmp, tmpn, "%s.%ld.tmp", path, (long)getpid()) >=
	    (int)tmpn)
		return rv_fail(e, EX_CANTCREAT, "path too long: %s", path);
	crypt_hex(token, AUTH_TOKEN_LEN, text);
	text[2 * AUTH_TOKEN_LEN] = '\n';
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		rc = rv_fail_errno(e, EX_CANTCREAT, "cannot create %s", tmp);
		goto out;
	}
	if (write(fd, text, sizeof(text)) != (ssize_t)sizeof(text)) {
		rc = rv_fail_errno(e, EX_IOERR, "cannot write %s", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
out:
	rv_wipe(text, sizeof(text));
	return rc;
}

int
auth_token_path(const char *db_path, int create, char *buf, size_t n,
    struct rv_err *e)
{
	const char *run = getenv("XDG_RUNTIME_DIR");
	char real[PATH_MAX], dir[PATH_MAX], hex[2 * 32 + 1];
	uint8_t h[32];
	struct stat sb;

	if (run == NULL || *run != '/')
		return rv_fail(e, EX_CONFIG, "XDG_RUNTIME_DIR is not set: "
		    "sessions live in the user's private runtime folder");
	if (stat(run, &sb) < 0 || !S_ISDIR(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & 077) != 0)
		return rv_fail(e, EX_CONFIG, "XDG_RUNTIME_DIR %s is not a "
		    "folder only this user can open", run);
	/* One session per database: the same file under another name is
	 * the same database. */
	if (realpath(db_path, real) == NULL)
		snprintf(real, sizeof(real), "%s", db_path);
	crypt_sha256(real, strlen(real), h);
	crypt_hex(h, 8, hex);
	snprintf(dir, sizeof(dir), "%s/riserva", run);
	if (snprintf(buf, n, "%s/session-%s", dir, hex) >= (int)n)
		return rv_fail(e, EX_CONFIG, "XDG_RUNTIME_DIR is too long");
	return create ? mkdir_parents(dir, 0700, e) : 0;
}

static void
session_of(const struct cred *c, int64_t id, int64_t now,
    struct auth_session *s)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->staff_id = c->staff_id;
	s->started = s->last_used = now;
	snprintf(s->email, sizeof(s->email), "%s", c->email);
	snprintf(s->role, sizeof(s->role), "%s", c->role);
}

/* The successful half of a login, in one transaction: the account is
 * checked again under the write lock (a password changed meanwhile wins),
 * failures are cleared, the hash is renewed when its count is too low,
 * and the session is created. */
static int
login_commit(sqlite3 *db, const struct rv_who *w, const struct cred *c,
    const uint8_t *salt, const uint8_t *hash, const struct auth_policy *p,
    const uint8_t token_hash[32], const uint8_t *old_hash, int64_t *sid,
    struct rv_err *e)
{
	static const char reset[] =
	    "UPDATE staff_auth SET failed = 0, failed_at = NULL, "
	    "iterations = coalesce(?3, iterations), salt = coalesce(?4, salt), "
	    "hash = coalesce(?5, hash) WHERE staff_id = ?1 AND hash = ?2 "
	    "AND NOT locked";
	static const char ins[] =
	    "INSERT INTO session (staff_id, token_hash, started, last_used) "
	    "VALUES (?, ?, ?, ?)";
	static const char stale[] =
	    "DELETE FROM session WHERE staff_id = ? AND last_used < ?";
	static const char replaced[] =
	    "DELETE FROM session WHERE token_hash = ? RETURNING staff_id";
	struct rv_who as = *w;
	sqlite3_stmt *st;
	int64_t old_staff = 0;
	int rc;

	as.actor = c->email;
	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = db_prepare(db, reset, &st, e)) != 0)
		goto fail;
	sqlite3_bind_int64(st, 1, c->staff_id);
	sqlite3_bind_blob(st, 2, c->hash, AUTH_HASH_LEN, SQLITE_STATIC);
	if (salt != NULL) {
		sqlite3_bind_int64(st, 3, (int64_t)p->iterations);
		sqlite3_bind_blob(st, 4, salt, AUTH_SALT_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(st, 5, hash, AUTH_HASH_LEN, SQLITE_STATIC);
	}
	if ((rc = step_done(db, st, e, "staff")) != 0)
		goto fail;
	if (sqlite3_changes(db) == 0) {
		rc = rv_fail(e, EX_NOPERM, "the account changed while logging "
		    "in: try again");
		goto fail;
	}
	if ((rc = db_prepare(db, stale, &st, e)) != 0)
		goto fail;
	sqlite3_bind_int64(st, 1, c->staff_id);
	sqlite3_bind_int64(st, 2, w->now - p->idle);
	if ((rc = step_done(db, st, e, "session")) != 0)
		goto fail;
	/* The login this file held before ends: its token, copied, must not
	 * go on working once the terminal belongs to someone else. */
	if (old_hash != NULL) {
		if ((rc = db_prepare(db, replaced, &st, e)) != 0)
			goto fail;
		sqlite3_bind_blob(st, 1, old_hash, 32, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			old_staff = sqlite3_column_int64(st, 0);
			rc = sqlite3_step(st);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			rc = db_fail(db, rc, e, "session");
			goto fail;
		}
		rc = 0;
		if (old_staff > 0)
			audit_staff(db, &as, "staff.session_replaced", old_staff,
			    NULL, &rc, e);
		if (rc != 0)
			goto fail;
	}
	if ((rc = db_prepare(db, ins, &st, e)) != 0)
		goto fail;
	sqlite3_bind_int64(st, 1, c->staff_id);
	sqlite3_bind_blob(st, 2, token_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, w->now);
	sqlite3_bind_int64(st, 4, w->now);
	if ((rc = step_done(db, st, e, "session")) != 0)
		goto fail;
	*sid = sqlite3_last_insert_rowid(db);
	audit_staff(db, &as, "staff.login", c->staff_id, NULL, &rc, e);
	if (rc == 0 && salt != NULL)
		audit_staff(db, &as, "staff.rehash", c->staff_id, "password",
		    &rc, e);
	if (rc != 0)
		goto fail;
	return db_commit(db, e);
fail:
	db_rollback(db);
	return rc;
}

int
auth_login(sqlite3 *db, const struct rv_who *w, const char *email,
    const char *pass, const struct auth_policy *p, const char *token_path,
    struct auth_session *s, struct rv_err *e)
{
	static const uint8_t dummy_salt[AUTH_SALT_LEN];
	uint8_t token[AUTH_TOKEN_LEN], th[32], scratch[AUTH_HASH_LEN];
	uint8_t nsalt[AUTH_SALT_LEN], nhash[AUTH_HASH_LEN];
	uint8_t old[AUTH_TOKEN_LEN], oh[32];
	char tmp[PATH_MAX];
	struct cred c;
	struct rv_err ignored;
	int64_t wait, sid = 0;
	int ok = 0, had_old = 0, locked_now, rehash, verdict, rc;

	memset(s, 0, sizeof(*s));
	tmp[0] = '\0';
	if ((rc = login_claim(db, w, email, 0, "login", p, &c, &verdict, &wait,
	    e)) != 0)
		goto out;
	if (verdict == CLAIM_LOCKED) {
		rc = rv_fail(e, EX_NOPERM, "the account %s is locked after "
		    "%ld failed logins: an admin must set a new password "
		    "(staff passwd)", c.email, p->attempts);
		goto out;
	}
	if (verdict == CLAIM_PACED) {
		rc = rv_fail(e, EX_TEMPFAIL, "too many failed logins: wait "
		    "%lld s before trying again", (long long)wait);
		goto out;
	}
	/* An unknown account costs the same time as a known one. */
	if (c.has_pw)
		rc = cred_match(&c, pass, &ok, e);
	else
		rc = auth_pbkdf2(pass, strlen(pass), dummy_salt,
		    sizeof(dummy_salt), p->iterations, scratch,
		    sizeof(scratch), e);
	if (rc != 0)
		goto out;
	if (!ok) {
		if ((rc = login_failed(db, w, &c, "login", p, &locked_now,
		    e)) == 0)
			rc = rv_fail(e, EX_NOPERM, locked_now ? "wrong email "
			    "or password; the account is now locked" :
			    "wrong email or password");
		goto out;
	}
	if (!c.active) {
		if ((rc = login_inactive(db, w, &c, e)) == 0)
			rc = rv_fail(e, EX_NOPERM, "the account %s is "
			    "inactive", c.email);
		goto out;
	}
	rehash = (unsigned long)c.iterations < p->iterations;
	if (rehash) {
		crypt_random(nsalt, sizeof(nsalt));
		if ((rc = auth_pbkdf2(pass, strlen(pass), nsalt, sizeof(nsalt),
		    p->iterations, nhash, sizeof(nhash), e)) != 0)
			goto out;
	}
	/* A file that cannot be read names no session: it is replaced. */
	if (token_read(token_path, old, &had_old, &ignored) != 0)
		had_old = 0;
	if (had_old)
		crypt_sha256(old, sizeof(old), oh);
	rv_wipe(old, sizeof(old));
	crypt_random(token, sizeof(token));
	crypt_sha256(token, sizeof(token), th);
	if ((rc = token_write(token_path, token, tmp, sizeof(tmp), e)) != 0)
		goto out;
	rc = login_commit(db, w, &c, rehash ? nsalt : NULL, nhash, p, th,
	    had_old ? oh : NULL, &sid, e);
	if (rc == 0 && rename(tmp, token_path) < 0)
		rc = rv_fail_errno(e, EX_CANTCREAT, "cannot create %s",
		    token_path);
	if (rc != 0)
		unlink(tmp);
	else
		session_of(&c, sid, w->now, s);
out:
	rv_wipe(token, sizeof(token));
	rv_wipe(nhash, sizeof(nhash));
	rv_wipe(&c, sizeof(c));
	return rc;
}

/* Removes a session row and says why in the trail, as its owner. */
static int
session_end(sqlite3 *db, const struct rv_who *w, int64_t sid,
    int64_t staff_id, const char *email, const char *action,
    struct rv_err *e)
{
	struct rv_who as = *w;
	sqlite3_stmt *st;
	int rc;

	as.actor = email;
	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = db_prepare(db, "DELETE FROM session WHERE id = ?", &st,
	    e)) != 0)
		goto fail;
	sqlite3_bind_int64(st, 1, sid);
	if ((rc = step_done(db, st, e, "session")) != 0)
		goto fail;
	audit_staff(db, &as, action, staff_id, NULL, &rc, e);
	if (rc != 0)
		goto fail;
	return db_commit(db, e);
fail:
	db_rollback(db);
	return rc;
}

static int
session_find(sqlite3 *db, const char *token_path, struct auth_session *s,
    int *active, int *found, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT se.id, se.staff_id, se.started, se.last_used, st.email, "
	    "st.role, st.active FROM session se "
	    "JOIN staff st ON st.id = se.staff_id WHERE se.token_hash = ?";
	uint8_t token[AUTH_TOKEN_LEN], th[32];
	sqlite3_stmt *st;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = token_read(token_path, token, found, e)) != 0 || !*found)
		return rc;
	crypt_sha256(token, sizeof(token), th);
	rv_wipe(token, sizeof(token));
	*found = 0;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_blob(st, 1, th, sizeof(th), SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = 1;
		s->id = sqlite3_column_int64(st, 0);
		s->staff_id = sqlite3_column_int64(st, 1);
		s->started = sqlite3_column_int64(st, 2);
		s->last_used = sqlite3_column_int64(st, 3);
		snprintf(s->email, sizeof(s->email), "%s",
		    sqlite3_column_text(st, 4));
		snprintf(s->role, sizeof(s->role), "%s",
		    sqlite3_column_text(st, 5));
		*active = sqlite3_column_int(st, 6);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "session");
	}
	sqlite3_finalize(st);
	return rc;
}

int
auth_session(sqlite3 *db, const struct rv_who *w, const char *token_path,
    int64_t idle, struct auth_session *s, int *state, struct rv_err *e)
{
	static const char touch[] =
	    "UPDATE session SET last_used = ?2 WHERE id = ?1 AND last_used < ?2";
	sqlite3_stmt *st;
	int64_t busy = 0;
	int active = 0, found, rc;

	*state = AUTH_NONE;
	if ((rc = session_find(db, token_path, s, &active, &found, e)) != 0 ||
	    !found)
		return rc;
	if (!active || w->now - s->last_used > idle) {
		*state = active ? AUTH_EXPIRED : AUTH_ENDED;
		rc = session_end(db, w, s->id, s->staff_id, s->email,
		    active ? "staff.session_expired" : "staff.session_ended",
		    e);
		unlink(token_path);
		return rc;
	}
	*state = AUTH_OK;
	if (w->now <= s->last_used)
		return 0;
	/* Used now: the idle clock starts again. Not waited for: a tool
	 * that only reads must not queue behind a writer to say so, and a
	 * busy database leaves the clock where it was. */
	if ((rc = db_prepare(db, touch, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, s->id);
	sqlite3_bind_int64(st, 2, w->now);
	if ((rc = db_int(db, "PRAGMA busy_timeout", 0, &busy, NULL, e)) !=
	    0) {
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_busy_timeout(db, 0);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	sqlite3_busy_timeout(db, (int)busy);
	if (rc == SQLITE_DONE)
		s->last_used = w->now;
	else if (rc != SQLITE_BUSY)
		return db_fail(db, rc, e, "session");
	return 0;
}

int
auth_logout(sqlite3 *db, const struct rv_who *w, const char *token_path,
    struct rv_err *e)
{
	struct auth_session s;
	int active, found, rc;

	if ((rc = session_find(db, token_path, &s, &active, &found, e)) != 0)
		return rc;
	unlink(token_path);
	if (!found)
		return rv_fail(e, EX_REFUSED, "not logged in");
	return session_end(db, w, s.id, s.staff_id, s.email, "staff.logout",
	    e);
}
