/* cli.h — what a tool in cmd/ uses: common options, dying, the context. */
#ifndef RV_CLI_H
#define RV_CLI_H

#include <getopt.h>

#include "riserva.h"

struct rv_ctx {
	const char *tool;
	const char *usage;
	int fmt;	/* resolved: never RV_FMT_AUTO */
	const char *db_path;	/* --db, else NULL */
	sqlite3 *db;
	struct rv_conf *conf;
	struct rv_who who;	/* now, actor, tool, reason */
	struct rv_err err;
	struct rv_out out;
	int out_open;
	int progress;	/* stderr is a terminal */
	int progress_open;	/* a progress line awaits its newline */
	size_t progress_shown;	/* the count it last showed */
	/* rv_getopt's merged option tables */
	char **opt_argv;
	struct option *opt_long;
	char *opt_short;
	/* who is at the keyboard (access.c) */
	const char *verb;	/* the first operand; "" when none */
	int enforce;		/* security.require_login */
	int64_t staff_id;	/* the logged-in staff member; 0: none */
	int64_t session_id;
	int role;		/* RV_ROLE_*; 0 with no login */
	char actor_buf[256];
};

/* Parses the common options before the verb and loads config and time. */
struct rv_ctx *rv_start(const char *tool, const char *usage, int *argc,
    char ***argv);
/* getopt_long over a verb's options merged with the common ones; returns
 * the verb's option characters, handles -h, -j, --db, --format, --version
 * itself and dies with usage on an unknown one. Reset by a new argv. */
int rv_getopt(struct rv_ctx *ctx, int argc, char **argv, const char *shortopts,
    const struct option *longopts);

void rv_usage(struct rv_ctx *ctx) RV_NORETURN;
void rv_bad_verb(struct rv_ctx *ctx, const char *verb) RV_NORETURN;
void rv_die(struct rv_ctx *ctx, int code, const char *fmt, ...)
    RV_PRINTF(3, 4) RV_NORETURN;
void rv_warn(struct rv_ctx *ctx, const char *fmt, ...) RV_PRINTF(2, 3);
/* Dies with ctx->err when rc is not 0. */
void rv_check(struct rv_ctx *ctx, int rc);
int rv_finish(struct rv_ctx *ctx);	/* flushes, closes; the exit status */
/* For a verb that lists: as rv_finish, but 1 when nothing was listed
 * ("nothing matched", as grep). */
int rv_finish_list(struct rv_ctx *ctx);

sqlite3 *rv_db(struct rv_ctx *ctx);
void rv_begin(struct rv_ctx *ctx);
void rv_begin_read(struct rv_ctx *ctx);
void rv_commit(struct rv_ctx *ctx);

/* Operands naming records; die with 66 when there is no such one. */
int64_t rv_client(struct rv_ctx *ctx, const char *spec);
int64_t rv_staff(struct rv_ctx *ctx, const char *spec);
int64_t rv_service(struct rv_ctx *ctx, const char *spec);
int64_t rv_id(struct rv_ctx *ctx, const char *what, const char *s);
int64_t rv_time(struct rv_ctx *ctx, const char *s);
int64_t rv_bound(struct rv_ctx *ctx, const char *s, int end_of_day);
/* --from F --to T as [start, end): T a date means that whole day. Dies
 * with 65 when the range is empty or backwards, which a tired hand types
 * more often than it means. */
void rv_range(struct rv_ctx *ctx, const char *from, const char *to,
    int64_t *start, int64_t *end);
/* A --reason or other text option, checked for length and control bytes. */
const char *rv_text(struct rv_ctx *ctx, const char *what, const char *s,
    size_t max);
/* --reason: checked as text, and against the client each audit row it
 * goes on is about (audit_append). */
void rv_reason(struct rv_ctx *ctx, const char *arg);

/* The subkey for purpose (keys_get); when this made the key file, says
 * once on stderr to back it up. Dies with 78 on a missing or wrong key. */
void rv_key(struct rv_ctx *ctx, int purpose, uint8_t out[RV_KEY_LEN]);

/* After a commit that deleted personal data: checkpoint the WAL and
 * truncate it, so the old bytes leave the -wal file too. Dies with 75 when
 * the database stays busy, saying that the deletion itself is done. */
void rv_checkpoint(struct rv_ctx *ctx);

/* Records out, in the chosen format. */
void rv_out_begin(struct rv_ctx *ctx, const struct rv_col *cols, int one);
void rv_emit(struct rv_ctx *ctx, json_t *rec);
int rv_emit_cb(json_t *rec, void *ctx);	/* for the library's list functions */
/* rv_emit for a caller with work to undo before it dies: a write error is
 * EX_IOERR in ctx->err. */
int rv_emit_try(struct rv_ctx *ctx, json_t *rec);
void rv_out_end(struct rv_ctx *ctx);

/* Reads client ids from stdin (JSON Lines) when there are no operands. */
void rv_client_ids(struct rv_ctx *ctx, int argc, char **argv,
    struct rv_ids *ids);

/* The `complete` verb every tool naming clients, staff or services has. */
int rv_complete(struct rv_ctx *ctx, const char *kind, int argc, char **argv);

void rv_progress(struct rv_ctx *ctx, const char *what, size_t done,
    size_t total);
/* Ends an unfinished progress line; rv_warn and rv_die do it first. */
void rv_progress_end(struct rv_ctx *ctx);

/*
 * Roles and sessions (access.c). With security.require_login on, every
 * tool acts as the logged-in staff member (or, for what cron runs, as
 * security.system_actor) and refuses with 77 what the role may not do;
 * the table of roles per tool and verb is in access.c. Off, nothing is
 * refused, and a login still names the actor of the audit rows.
 */
#define RV_ROLE_ADMIN 0x1
#define RV_ROLE_RECEPTION 0x2
#define RV_ROLE_OPERATOR 0x4
#define RV_ROLE_SYSTEM 0x8	/* no login, a verb cron runs */
#define RV_ROLE_NOLOGIN 0x10	/* needs no login: staff login itself */
#define RV_ROLE_FILES 0x20	/* files and the key file, not the database */
void rv_access(struct rv_ctx *ctx);	/* once, by setup() */
const char *rv_role_name(int role);
/* Dies with 77 unless the role is one of roles (when checks are on). */
void rv_need_role(struct rv_ctx *ctx, int roles, const char *what);
/* An operator's own staff id: their agenda is all they see. 0 otherwise. */
int64_t rv_own_staff(struct rv_ctx *ctx);
/* Dies with 77 when an operator asks for another staff member's agenda. */
void rv_need_own_staff(struct rv_ctx *ctx, int64_t staff_id);
/* Health data: an admin; an operator with an appointment with the client
 * today (local day, booked or done); nobody else. Always 1 when checks
 * are off. rv_need_health dies with 77 (audited) instead of returning 0. */
int rv_may_read_health(struct rv_ctx *ctx, int64_t client_id);
void rv_need_health(struct rv_ctx *ctx, int64_t client_id);
/* With security.require_reason on, dies with 64 unless --reason was given
 * (ctx->who.reason): for reads of a full record, health data, exports. */
void rv_need_reason(struct rv_ctx *ctx, const char *what);
/* Where this user's session token for the database lives. */
int rv_token_path(struct rv_ctx *ctx, char *buf, size_t n);
/* A line from the terminal (prompted on stderr; without echo when secret)
 * or from stdin when it is not a terminal; never argv. Free a secret with
 * rv_free_secret, which wipes it. */
char *rv_read_line(struct rv_ctx *ctx, const char *prompt, int secret);
void rv_free_secret(char *s);

#endif
