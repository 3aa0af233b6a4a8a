/* gdpr-purge.c — apply the retention terms, for cron. */
#include <limits.h>
#include <string.h>

#include "cli.h"
#include "erase.h"
#include "purge.h"
#include "banned.h"

static const char usage_str[] =
    "usage: gdpr-purge [--dry-run] [--now T] [--batch N]\n";

enum { O_DRY_RUN = 0x200, O_NOW, O_BATCH };


static void
progress(void *arg, const char *what, size_t done, size_t total)
{
	rv_progress(arg, what, done, total);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, O_DRY_RUN },
		{ "now", required_argument, NULL, O_NOW },
		{ "batch", required_argument, NULL, O_BATCH },
		{ NULL, 0, NULL, 0 },
	};
	/* No verbs: every option is parsed here. */
	int none = 1;
	char **rest = argv;
	struct rv_ctx *ctx = rv_start("gdpr-purge", usage_str, &none, &rest);
	struct purge_opts o = { 0 };
	const char *now = NULL;
	char journal[PATH_MAX];
	long batch = 0, busy;
	int opt, rc;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_DRY_RUN: o.dry_run = 1; break;
		case O_NOW: now = optarg; break;
		case O_BATCH:
			if (!parse_int(optarg, 1, 100000, &batch))
				rv_die(ctx, EX_USAGE, "bad --batch '%s': rows "
				    "per transaction, 1 to 100000", optarg);
			break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	/* --now stands the whole purge at T, its audit rows included. */
	if (now != NULL)
		ctx->who.now = rv_bound(ctx, now, 0);
	o.now = ctx->who.now;
	o.batch = (size_t)batch;
	/* A transaction holds the lock for about a quarter of the time the
	 * other tools wait for it: they never give up because of a purge. */
	rv_check(ctx, conf_int(ctx->conf, "db.busy_timeout", 0, 600000, &busy,
	    &ctx->err));
	o.budget_ms = busy / 4 < 50 ? 50 : busy / 4;
	o.progress = progress;
	o.arg = ctx;
	rv_check(ctx, erase_journal_path(ctx->conf,
	    sqlite3_db_filename(rv_db(ctx), "main"), journal, sizeof(journal),
	    &ctx->err));
	o.journal = journal;
	rv_out_begin(ctx, purge_cols, 0);
	rc = purge_run(rv_db(ctx), &ctx->who, ctx->conf, &o, rv_emit_cb, ctx,
	    &ctx->err);
	rv_out_end(ctx);
	if (rc == EX_TEMPFAIL)
		rv_die(ctx, rc, "%s; what was done is kept: run gdpr-purge "
		    "again to go on", ctx->err.msg);
	rv_check(ctx, rc);
	if (!o.dry_run)
		rv_checkpoint(ctx);
	return rv_finish(ctx);
}
