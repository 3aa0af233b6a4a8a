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
	/* rv_getopt's merged option tables */
	char **opt_argv;
	struct option *opt_long;
	char *opt_short;
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
void rv_commit(struct rv_ctx *ctx);

/* Operands naming records; die with 66 when there is no such one. */
int64_t rv_client(struct rv_ctx *ctx, const char *spec);
int64_t rv_staff(struct rv_ctx *ctx, const char *spec);
int64_t rv_service(struct rv_ctx *ctx, const char *spec);
int64_t rv_id(struct rv_ctx *ctx, const char *what, const char *s);
int64_t rv_time(struct rv_ctx *ctx, const char *s);
int64_t rv_bound(struct rv_ctx *ctx, const char *s, int end_of_day);
/* A --reason or other text option, checked for length and control bytes. */
const char *rv_text(struct rv_ctx *ctx, const char *what, const char *s,
    size_t max);

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
void rv_out_end(struct rv_ctx *ctx);

/* Reads client ids from stdin (JSON Lines) when there are no operands. */
void rv_client_ids(struct rv_ctx *ctx, int argc, char **argv,
    struct rv_ids *ids);

/* The `complete` verb every tool naming clients, staff or services has. */
int rv_complete(struct rv_ctx *ctx, const char *kind, int argc, char **argv);

void rv_progress(struct rv_ctx *ctx, const char *what, size_t done,
    size_t total);

#endif
