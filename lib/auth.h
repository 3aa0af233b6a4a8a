/* auth.h — staff passwords (PBKDF2-SHA256), logins, sessions. */
#ifndef RV_AUTH_H
#define RV_AUTH_H

#include "riserva.h"

#define AUTH_SALT_LEN 16
#define AUTH_HASH_LEN 32
#define AUTH_TOKEN_LEN 32
#define AUTH_PASS_MAX 1024

/* What the configuration asks of passwords and sessions. */
struct auth_policy {
	unsigned long iterations;	/* security.pbkdf2_iterations */
	long min_len;			/* security.password_min */
	long attempts;			/* security.login_attempts: lock at */
	int64_t delay;			/* security.login_delay: the first wait */
	int64_t idle;			/* security.session_idle */
};
int auth_policy_load(const struct rv_conf *c, struct auth_policy *p,
    struct rv_err *e);

/* PBKDF2-HMAC-SHA256 (RFC 8018) through libgcrypt. */
int auth_pbkdf2(const char *pass, size_t passn, const uint8_t *salt,
    size_t saltn, unsigned long iterations, uint8_t *out, size_t outn,
    struct rv_err *e);

/* Sets a staff member's password (new salt, the configured count), clears
 * a lock, ends their sessions; audited as staff.passwd. Runs its own
 * transaction. */
int auth_set_password(sqlite3 *db, const struct rv_who *w, int64_t staff_id,
    const char *pass, const struct auth_policy *p, struct rv_err *e);
/*
 * 0 when pass is the staff member's current password. A wrong one counts
 * as a failed login, paced and locked alike and audited as
 * staff.passwd_failed: EX_NOPERM wrong or locked, EX_TEMPFAIL too soon.
 * Runs its own transactions.
 */
int auth_check_current(sqlite3 *db, const struct rv_who *w,
    int64_t staff_id, const char *pass, const struct auth_policy *p,
    struct rv_err *e);

struct auth_session {
	int64_t id, staff_id, started, last_used;
	char email[256];
	char role[16];
};

/* Where this user's token for the database at db_path lives:
 * $XDG_RUNTIME_DIR/riserva/session-<hash of the database's real path>;
 * with create, its folder is made (0700). */
int auth_token_path(const char *db_path, int create, char *buf, size_t n,
    struct rv_err *e);

/*
 * Logs in: runs its own transactions, so a failure is recorded (paced,
 * counted, locked after p->attempts, audited) even though it is returned:
 * EX_NOPERM wrong email or password, locked or inactive account;
 * EX_TEMPFAIL too soon after a failure. On success the token is written
 * to token_path (0600) and *s describes the session.
 */
int auth_login(sqlite3 *db, const struct rv_who *w, const char *email,
    const char *pass, const struct auth_policy *p, const char *token_path,
    struct auth_session *s, struct rv_err *e);

enum { AUTH_NONE, AUTH_OK, AUTH_EXPIRED, AUTH_ENDED };
/*
 * The session whose token is in token_path: *state AUTH_OK (and *s filled,
 * last use moved to now), AUTH_NONE (no token, or one this database does
 * not know), AUTH_EXPIRED (idle too long: ended, audited, token removed) or
 * AUTH_ENDED (the staff member was made inactive: ended likewise).
 */
int auth_session(sqlite3 *db, const struct rv_who *w, const char *token_path,
    int64_t idle, struct auth_session *s, int *state, struct rv_err *e);
/* Ends the session in token_path; EX_REFUSED when there is none. */
int auth_logout(sqlite3 *db, const struct rv_who *w, const char *token_path,
    struct rv_err *e);

#endif
