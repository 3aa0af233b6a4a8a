/*
 * access.c — who is at the keyboard and what they may do: the logged-in
 * staff member (or the system actor cron runs as), the table of roles per
 * tool and verb checked once by rv_start's setup, the data-level checks
 * verbs make (an operator's own agenda, health data), and reading a
 * secret from the terminal. Part of the tool side of the library.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "auth.h"
#include "banned.h"

#define A RV_ROLE_ADMIN
#define R RV_ROLE_RECEPTION
#define O RV_ROLE_OPERATOR
#define S RV_ROLE_SYSTEM
#define STAFF (A | R | O)

/*
 * Who may run what when security.require_login is on. A verb not listed
 * falls back to its tool's "*" line, and a tool not listed to admin only:
 * a new tool or verb must add its line here. "" is a tool run without a
 * verb. S is the system actor: cron and scripts with no one logged in.
 * Data-level rules (an operator's own agenda, health data of today's
 * clients, a password of one's own) are checked in the verbs.
 */
static const struct access_rule {
	const char *tool, *verb;
	int roles;
} rules[] = {
	{ "client", "add", A | R },
	{ "client", "show", A | R },
	{ "client", "list", A | R },
	{ "client", "edit", A | R },
	{ "client", "import", A | R },
	{ "client", "complete", A | R },
	{ "client", "restrict", A | R },
	{ "client", "unrestrict", A | R },
	{ "client", "health", A | O },		/* + rv_need_health */
	{ "staff", "list", STAFF },
	{ "staff", "show", STAFF },
	{ "staff", "leave", STAFF },
	{ "staff", "complete", STAFF },
	{ "staff", "passwd", STAFF },		/* others' only for admin */
	{ "staff", "login", RV_ROLE_NOLOGIN },
	{ "staff", "logout", RV_ROLE_NOLOGIN },
	{ "staff", "whoami", RV_ROLE_NOLOGIN },
	{ "staff", "*", A },
	{ "catalog", "list", STAFF },
	{ "catalog", "show", STAFF },
	{ "catalog", "complete", STAFF },
	{ "catalog", "*", A },
	{ "book", "list", STAFF },		/* operator: own agenda */
	{ "book", "show", STAFF },		/* operator: own agenda */
	{ "book", "slots", STAFF },
	{ "book", "blocks", STAFF },		/* operator: own agenda */
	{ "book", "*", A | R },
	{ "consent", "unsubscribe", A | R | S },
	{ "consent", "policy", A },
	{ "consent", "*", A | R },
	{ "notify", "", A | R | S },
	{ "notify", "send", A | R | S },
	{ "notify", "list", A | R },
	{ "notify", "show", A | R },
	{ "notify", "retry", A | R },
	{ "notify", "policy", A },
	{ "notify", "marketing", A },
	{ "remind", "*", A | S },
	{ "gcal-sync", "connect", A },
	{ "gcal-sync", "disconnect", A },
	{ "gcal-sync", "status", A | R },
	{ "gcal-sync", "complete", STAFF },
	{ "gcal-sync", "*", A | S },		/* sync, with or without the verb */
	{ "gdpr-export", "*", A | R },
	{ "gdpr-erase", "*", A },
	{ "gdpr-purge", "*", A | S },
	{ "gdpr-request", "check", A | R | S },
	{ "gdpr-request", "*", A | R },
	{ "gdpr-breach", "check", A | S },
	{ "gdpr-breach", "*", A },
	{ "audit", "verify", A | S },
	{ "audit", "purge", A | S },
	{ "audit", "*", A },
	{ "backup", "create", A | S },
	{ "backup", "list", A | S },
	{ "backup", "prune", A | S },
	/* Files and the key file, never the database: whoever can read the
	 * key is the machine's administrator already. */
	{ "backup", "verify", RV_ROLE_FILES },
	{ "backup", "restore", RV_ROLE_FILES },
};

static int
rule_roles(const char *tool, const char *verb)
{
	const struct access_rule *wild = NULL;
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (strcmp(rules[i].tool, tool) != 0)
			continue;
		if (strcmp(rules[i].verb, verb) == 0)
			return rules[i].roles;
		if (strcmp(rules[i].verb, "*") == 0 && wild == NULL)
			wild = &rules[i];
	}
	return wild != NULL ? wild->roles : A;
}

const char *
rv_role_name(int role)
{
	switch (role) {
	case A: return "admin";
	case R: return "reception";
	case O: return "operator";
	case S: return "system";
	default: return "none";
	}
}

static int
role_of(const char *name)
{
	if (strcmp(name, "admin") == 0)
		return A;
	if (strcmp(name, "reception") == 0)
		return R;
	if (strcmp(name, "operator") == 0)
		return O;
	return 0;
}

/* The database this tool works on, as rv_db will open it. */
static int
db_path_of(struct rv_ctx *ctx, char *buf, size_t n)
{
	if (ctx->db_path != NULL) {
		snprintf(buf, n, "%s", ctx->db_path);
		return 0;
	}
	return db_default_path(buf, n, &ctx->err);
}

int
rv_token_path(struct rv_ctx *ctx, char *buf, size_t n)
{
	char db[PATH_MAX];
	int rc;

	if ((rc = db_path_of(ctx, db, sizeof(db))) != 0)
		return rc;
	return auth_token_path(db, 1, buf, n, &ctx->err);
}

/* "book add", or "remind" for a tool without verbs. */
static const char *
command(struct rv_ctx *ctx)
{
	static char buf[96];

	snprintf(buf, sizeof(buf), "%s%s%s", ctx->tool, *ctx->verb ? " " : "",
	    ctx->verb);
	return buf;
}

/* Refused: on the record when there is a record to keep, then exit 77. */
static void RV_NORETURN
deny(struct rv_ctx *ctx, int64_t client_id, const char *fmt, ...)
    RV_PRINTF(3, 4);

static void
deny(struct rv_ctx *ctx, int64_t client_id, const char *fmt, ...)
{
	char msg[sizeof(ctx->err.msg)], ref[96], path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ref, sizeof(ref), "%s", command(ctx));
	if (ctx->db != NULL || (db_path_of(ctx, path, sizeof(path)) == 0 &&
	    access(path, F_OK) == 0)) {
		rv_begin(ctx);
		rv_check(ctx, audit_append(rv_db(ctx), &ctx->who,
		    "access.denied", client_id, ref, NULL, &ctx->err));
		rv_commit(ctx);
	}
	rv_die(ctx, EX_NOPERM, "%s", msg);
}

/* The session of the token file for this database, if any. */
static int
session_load(struct rv_ctx *ctx)
{
	char db[PATH_MAX], tok[PATH_MAX];
	struct auth_session s;
	struct rv_err ignored;
	int64_t idle;
	int state;

	if (db_path_of(ctx, db, sizeof(db)) != 0 || access(db, F_OK) != 0 ||
	    auth_token_path(db, 0, tok, sizeof(tok), &ignored) != 0 ||
	    access(tok, F_OK) != 0)
		return AUTH_NONE;
	rv_check(ctx, conf_duration(ctx->conf, "security.session_idle", &idle,
	    &ctx->err));
	rv_check(ctx, auth_session(rv_db(ctx), &ctx->who, tok, idle, &s,
	    &state, &ctx->err));
	if (state == AUTH_OK) {
		ctx->staff_id = s.staff_id;
		ctx->session_id = s.id;
		ctx->role = role_of(s.role);
		snprintf(ctx->actor_buf, sizeof(ctx->actor_buf), "%s",
		    s.email);
		ctx->who.actor = ctx->actor_buf;
	}
	return state;
}

void
rv_access(struct rv_ctx *ctx)
{
	int roles = rule_roles(ctx->tool, ctx->verb), state;
	int64_t idle;

	rv_check(ctx, conf_bool(ctx->conf, "security.require_login",
	    &ctx->enforce, &ctx->err));
	if (roles & RV_ROLE_FILES)
		return;
	state = session_load(ctx);
	if (!ctx->enforce || (roles & RV_ROLE_NOLOGIN))
		return;
	if (ctx->staff_id != 0) {
		if (ctx->role & roles)
			return;
		deny(ctx, 0, "%s (%s) may not use '%s'", ctx->who.actor,
		    rv_role_name(ctx->role), command(ctx));
	}
	if (roles & S) {
		ctx->role = S;
		snprintf(ctx->actor_buf, sizeof(ctx->actor_buf), "%s",
		    conf_get(ctx->conf, "security.system_actor"));
		ctx->who.actor = ctx->actor_buf;
		return;
	}
	if (state == AUTH_EXPIRED) {
		rv_check(ctx, conf_duration(ctx->conf,
		    "security.session_idle", &idle, &ctx->err));
		deny(ctx, 0, "the session ended after %lld minutes without "
		    "use: log in again with 'staff login'",
		    (long long)(idle / 60));
	}
	deny(ctx, 0, "'%s' needs a login (security.require_login is on): "
	    "staff login", command(ctx));
}

void
rv_need_role(struct rv_ctx *ctx, int roles, const char *what)
{
	if (ctx->enforce && !(ctx->role & roles))
		deny(ctx, 0, "%s (%s) may not %s", ctx->who.actor,
		    rv_role_name(ctx->role), what);
}

int64_t
rv_own_staff(struct rv_ctx *ctx)
{
	return ctx->enforce && ctx->role == O ? ctx->staff_id : 0;
}

void
rv_need_own_staff(struct rv_ctx *ctx, int64_t staff_id)
{
	int64_t own = rv_own_staff(ctx);

	if (own != 0 && staff_id != own)
		deny(ctx, 0, "%s (operator) sees only their own agenda, not "
		    "staff %lld's", ctx->who.actor, (long long)staff_id);
}

int
rv_may_read_health(struct rv_ctx *ctx, int64_t client_id)
{
	static const char sql[] =
	    "SELECT 1 FROM appointment WHERE client_id = ?1 AND staff_id = ?2 "
	    "AND start >= ?3 AND start < ?4 AND status IN ('booked', 'done') "
	    "LIMIT 1";
	int64_t from, to;
	sqlite3_stmt *st;
	int y, m, d, rc;

	if (!ctx->enforce || ctx->role == A)
		return 1;
	if (ctx->role != O)
		return 0;
	/* Today is the centre's local day. */
	tm_day_of(ctx->who.now, &y, &m, &d, NULL);
	from = tm_day_start(y, m, d);
	tm_add_days(&y, &m, &d, 1);
	to = tm_day_start(y, m, d);
	rv_check(ctx, db_prepare(rv_db(ctx), sql, &st, &ctx->err));
	sqlite3_bind_int64(st, 1, client_id);
	sqlite3_bind_int64(st, 2, ctx->staff_id);
	sqlite3_bind_int64(st, 3, from);
	sqlite3_bind_int64(st, 4, to);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		rv_check(ctx, db_fail(rv_db(ctx), rc, &ctx->err, "appointment"));
	return rc == SQLITE_ROW;
}

void
rv_need_health(struct rv_ctx *ctx, int64_t client_id)
{
	if (!rv_may_read_health(ctx, client_id))
		deny(ctx, client_id, "%s (%s) may not see the health data of "
		    "client %lld: only an admin, or an operator who has an "
		    "appointment with them today", ctx->who.actor,
		    rv_role_name(ctx->role), (long long)client_id);
}

void
rv_need_reason(struct rv_ctx *ctx, const char *what)
{
	int on;

	rv_check(ctx, conf_bool(ctx->conf, "security.require_reason", &on,
	    &ctx->err));
	if (on && (ctx->who.reason == NULL || *ctx->who.reason == '\0'))
		rv_die(ctx, EX_USAGE, "%s needs --reason (security."
		    "require_reason is on)", what);
}

/* The terminal as it was, put back however reading ends. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void
restore_tty(int sig)
{
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	tty_changed = 0;
	signal(sig, SIG_DFL);
	raise(sig);
}

/* One line from fd 0, byte by byte: nothing stays in a stdio buffer. */
static int
read_line(char *buf, size_t cap, size_t *n)
{
	char c;
	ssize_t r;

	*n = 0;
	for (;;) {
		r = read(STDIN_FILENO, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return *n > 0 ? 0 : -1;
		if (c == '\n')
			break;
		if (*n + 1 >= cap)
			return -2;
		buf[(*n)++] = c;
	}
	if (*n > 0 && buf[*n - 1] == '\r')
		(*n)--;
	buf[*n] = '\0';
	return 0;
}

char *
rv_read_line(struct rv_ctx *ctx, const char *prompt, int secret)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP,
		SIGTSTP };
	char *buf = xmalloc(AUTH_PASS_MAX + 2);
	int tty = isatty(STDIN_FILENO), rc;
	struct sigaction sa, old[5];
	struct termios t;
	size_t n, i;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
	}
	if (tty && secret && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = restore_tty;
		for (i = 0; i < 5; i++)
			sigaction(sigs[i], &sa, &old[i]);
		t = saved_tty;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		t.c_lflag |= ICANON;
		tty_changed = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
	}
	rc = read_line(buf, AUTH_PASS_MAX + 2, &n);
	if (tty_changed) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		tty_changed = 0;
		for (i = 0; i < 5; i++)
			sigaction(sigs[i], &old[i], NULL);
	}
	if (tty && secret)
		fputc('\n', stderr);
	if (rc != 0) {
		rv_wipe(buf, AUTH_PASS_MAX + 2);
		free(buf);
		rv_die(ctx, rc == -2 ? EX_DATAERR : EX_USAGE, rc == -2 ?
		    "the line is too long (at most %d bytes)" :
		    "nothing to read on standard input", AUTH_PASS_MAX);
	}
	return buf;
}

void
rv_free_secret(char *s)
{
	if (s == NULL)
		return;
	rv_wipe(s, AUTH_PASS_MAX + 2);
	free(s);
}
