/* remind.c — queue the reminders now due and send them: what cron runs. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mailer.h"
#include "outbox.h"
#include "banned.h"

static const char usage_str[] =
    "usage: remind [--dry-run] [--now TIME]\n";

enum { O_DRY_RUN = 0x200, O_NOW };

struct progress {
	struct rv_ctx *ctx;
	size_t n;
};

static int
emit_message(json_t *rec, void *arg)
{
	struct progress *p = arg;
	int rc;

	/* Not rv_emit: a reader gone (remind | head) must stop the run with
	 * the messages it claimed back in the queue, not left "sending"
	 * until their lease runs out. */
	if ((rc = rv_emit_try(p->ctx, rec)) != 0)
		return rc;
	rv_progress(p->ctx, "remind", ++p->n, 0);
	return 0;
}

/* Says on stderr why the exit status is not 0. */
static void
report(struct rv_ctx *ctx, const struct mailer_stats *st)
{
	if (st->unavailable)
		rv_warn(ctx, "the mail transport is unreachable: %s; the "
		    "reminders wait for the next run", st->last_error);
	else if (st->deferred > 0)
		rv_warn(ctx, "%zu reminder%s will be retried: %s", st->deferred,
		    st->deferred == 1 ? "" : "s", st->last_error);
	if (st->failed > 0)
		rv_warn(ctx, "%zu reminder%s failed for good (notify list "
		    "--status failed): %s", st->failed, st->failed == 1 ? "" :
		    "s", st->last_error);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, O_DRY_RUN },
		{ "now", required_argument, NULL, O_NOW },
		{ NULL, 0, NULL, 0 },
	};
	struct rv_ctx *ctx;
	struct mailer_opts o = { 0 };
	struct mailer_stats st;
	struct progress pr = { NULL, 0 };
	int64_t leads[OUTBOX_MAX_LEADS];
	uint8_t key[RV_KEY_LEN];
	const char *now = NULL, *env = getenv("RISERVA_NOW");
	size_t nleads, queued;
	char **none = argv;
	int one = 1, opt, status, rc;

	/* No verb: every option, common or ours, goes through rv_getopt. */
	ctx = rv_start("remind", usage_str, &one, &none);
	pr.ctx = ctx;
	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_DRY_RUN: o.dry_run = 1; break;
		case O_NOW: now = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	if (now != NULL)
		ctx->who.now = rv_time(ctx, now);
	o.fixed_clock = now != NULL || (env != NULL && *env != '\0');
	rv_check(ctx, outbox_parse_leads(conf_get(ctx->conf, "remind.lead"),
	    leads, &nleads, &ctx->err));
	o.kind = "reminder";
	o.out = stdout;
	o.diag = stderr;
	o.tool = ctx->tool;
	/* The stdout transport writes an mbox there: no records then. */
	if (!o.dry_run && strcmp(conf_get(ctx->conf, "mail.transport"),
	    "stdout") != 0) {
		o.emit = emit_message;
		o.arg = &pr;
		rv_out_begin(ctx, message_cols, 0);
	}
	if (*conf_get(ctx->conf, "mail.unsubscribe_url") != '\0') {
		rv_key(ctx, RV_KEY_TOKEN, key);
		o.token_key = key;
	}
	rv_begin(ctx);
	rv_check(ctx, outbox_remind(rv_db(ctx), &ctx->who, leads, nleads,
	    &queued, &ctx->err));
	if (o.dry_run) {
		/* Queue, show, and roll it all back. */
		rc = mailer_run(rv_db(ctx), ctx->conf, &ctx->who, &o, &st,
		    &ctx->err);
		db_rollback(rv_db(ctx));
		rv_wipe(key, sizeof(key));
		rv_check(ctx, rc);
		return rv_finish(ctx);
	}
	rv_commit(ctx);
	rc = mailer_run(rv_db(ctx), ctx->conf, &ctx->who, &o, &st, &ctx->err);
	rv_wipe(key, sizeof(key));
	rv_check(ctx, rc);
	if (pr.n > 0)
		rv_progress(ctx, "remind", pr.n, pr.n);
	report(ctx, &st);
	status = mailer_status(&st);
	rc = rv_finish(ctx);
	return rc != 0 ? rc : status;
}
