/* backup.c — encrypted backups of the database: make, list, prune, check,
 * restore. */
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "backup.h"
#include "erase.h"
#include "banned.h"

static const char usage_str[] =
    "usage: backup create [--output DIR]\n"
    "       backup list [--dir DIR]\n"
    "       backup prune [--dir DIR] [--now T] [--dry-run]\n"
    "       backup verify FILE\n"
    "       backup restore FILE [--db PATH]\n";

enum { O_OUTPUT = 0x200, O_DIR, O_NOW, O_DRY };

static const struct rv_col backup_cols[] = {
	{ "id", "FILE", 0 },
	{ "created", "CREATED", RV_COL_TIME },
	{ "size", "SIZE", RV_COL_RIGHT },
	{ "schema", "SCHEMA", RV_COL_RIGHT },
	{ NULL, NULL, 0 },
};

static const char *
folder(struct rv_ctx *ctx, const char *given, char *buf, size_t n)
{
	if (given != NULL)
		return given;
	rv_check(ctx, backup_dir(ctx->conf, buf, n, &ctx->err));
	return buf;
}

static int
backup_make(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, O_OUTPUT },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	char buf[PATH_MAX];
	json_t *rec;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		if (opt != O_OUTPUT || *optarg == '\0')
			rv_usage(ctx);
		out = optarg;
	}
	if (optind != argc)
		rv_usage(ctx);
	rv_check(ctx, backup_create(rv_db(ctx), &ctx->who, folder(ctx, out,
	    buf, sizeof(buf)), &rec, &ctx->err));
	rv_out_begin(ctx, backup_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

static int
backup_ls(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, O_DIR },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	char buf[PATH_MAX];
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		if (opt != O_DIR || *optarg == '\0')
			rv_usage(ctx);
		dir = optarg;
	}
	if (optind != argc)
		rv_usage(ctx);
	rv_out_begin(ctx, backup_cols, 0);
	rv_check(ctx, backup_list(folder(ctx, dir, buf, sizeof(buf)),
	    rv_emit_cb, ctx, &ctx->err));
	return rv_finish_list(ctx);
}

static int
backup_trim(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, O_DIR },
		{ "now", required_argument, NULL, O_NOW },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	char buf[PATH_MAX];
	int dry = 0, opt;
	long days;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_DIR:
			if (*optarg == '\0')
				rv_usage(ctx);
			dir = optarg;
			break;
		case O_NOW: ctx->who.now = rv_time(ctx, optarg); break;
		case O_DRY: dry = 1; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	rv_check(ctx, conf_int(ctx->conf, "retention.backup_days", 1, 36500,
	    &days, &ctx->err));
	rv_out_begin(ctx, backup_cols, 0);
	rv_check(ctx, backup_prune(folder(ctx, dir, buf, sizeof(buf)),
	    ctx->who.now - (int64_t)days * 86400, dry, rv_emit_cb, ctx,
	    &ctx->err));
	return rv_finish(ctx);
}

static int
backup_check(struct rv_ctx *ctx, int argc, char **argv)
{
	json_t *rec;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	rv_check(ctx, backup_verify(argv[optind], &rec, &ctx->err));
	rv_out_begin(ctx, backup_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

/* The erasure journal of the database being restored: erase.journal, or
 * the file beside the live database (not beside the new file). */
static void
journal_of(struct rv_ctx *ctx, char *buf, size_t n)
{
	char live[PATH_MAX];

	rv_check(ctx, db_default_path(live, sizeof(live), &ctx->err));
	rv_check(ctx, erase_journal_path(ctx->conf, live, buf, n, &ctx->err));
}

/* Whether the centre erases clients at all: then a missing journal file
 * is worth a word. */
static int
erased_before(const char *path)
{
	sqlite3 *db = NULL;
	int64_t n = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK)
		db_int(db, "SELECT count(*) FROM erasure", 0, &n, NULL, NULL);
	sqlite3_close(db);
	return n > 0;
}

/*
 * Receipts issued since the backup, in the live database: they are under
 * the fiscal hold, and moving the restored file into place would lose
 * them. Only a warning: the restore itself is sound.
 */
static void
receipts_after(struct rv_ctx *ctx, const char *target)
{
	static const char since[] = "SELECT count(*), min(number), "
	    "max(number) FROM fiscal WHERE id > ?";
	char live[PATH_MAX];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t last = 0;

	if (db_default_path(live, sizeof(live), &ctx->err) != 0 ||
	    strcmp(live, target) == 0 || access(live, F_OK) != 0)
		return;
	/* A backup older than the fiscal table holds no receipt at all. */
	if (sqlite3_open_v2(target, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK)
		db_int(db, "SELECT coalesce(max(id), 0) FROM fiscal", 0, &last,
		    NULL, NULL);
	sqlite3_close(db);
	db = NULL;
	if (sqlite3_open_v2(live, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK &&
	    sqlite3_prepare_v2(db, since, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, last);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_int64(st, 0) > 0)
			rv_warn(ctx, "%s holds %lld receipt%s issued after this "
			    "backup (%s to %s), under the fiscal hold: moving "
			    "%s into place would lose them; keep them first "
			    "('book receipts --db %s')", live,
			    (long long)sqlite3_column_int64(st, 0),
			    sqlite3_column_int64(st, 0) == 1 ? "" : "s",
			    (const char *)sqlite3_column_text(st, 1),
			    (const char *)sqlite3_column_text(st, 2), target,
			    live);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int
backup_back(struct rv_ctx *ctx, int argc, char **argv)
{
	char target[PATH_MAX], journal[PATH_MAX];
	struct erase_reerase ra = { &ctx->who, NULL, journal };
	struct backup_restore_opts o = { erase_reerase, &ra };
	json_t *rec;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	/* --db names the new file; the database is never opened here. */
	if (ctx->db_path != NULL)
		snprintf(target, sizeof(target), "%s", ctx->db_path);
	else
		rv_check(ctx, db_default_path(target, sizeof(target),
		    &ctx->err));
	journal_of(ctx, journal, sizeof(journal));
	ra.conf = ctx->conf;
	/* Erasures made after the backup are made again in the new file
	 * before it gets its name. */
	rv_check(ctx, backup_restore(argv[optind], target, &ctx->who, &o,
	    &rec, &ctx->err));
	rv_out_begin(ctx, backup_cols, 1);
	rv_emit(ctx, rec);
	if (access(journal, F_OK) != 0 && erased_before(target))
		rv_warn(ctx, "no erasure journal at %s: erasures made after "
		    "the backup were not made again in %s (set erase.journal, "
		    "then run 'gdpr-erase --replay --db %s')", journal, target,
		    target);
	receipts_after(ctx, target);
	return rv_finish(ctx);
}

int
main(int argc, char *argv[])
{
	struct rv_ctx *ctx = rv_start("backup", usage_str, &argc, &argv);

	if (argc < 1)
		rv_usage(ctx);
	if (strcmp(argv[0], "create") == 0)
		return backup_make(ctx, argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return backup_ls(ctx, argc, argv);
	if (strcmp(argv[0], "prune") == 0)
		return backup_trim(ctx, argc, argv);
	if (strcmp(argv[0], "verify") == 0)
		return backup_check(ctx, argc, argv);
	if (strcmp(argv[0], "restore") == 0)
		return backup_back(ctx, argc, argv);
	rv_bad_verb(ctx, argv[0]);
}
