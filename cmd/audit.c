/* audit.c — read, verify and purge the tamper-evident audit trail. */
#include <string.h>

#include "cli.h"
#include "audit.h"
#include "banned.h"

static const char usage_str[] =
    "usage: audit list [--client C] [--actor A] [--action A] [--from T]\n"
    "                  [--to T]\n"
    "       audit verify\n"
    "       audit purge [--now T] [--dry-run]\n"
    "       audit anchors\n";

enum { O_CLIENT = 0x200, O_ACTOR, O_ACTION, O_FROM, O_TO, O_NOW, O_DRY };

static const struct rv_col verify_cols[] = {
	{ "intact", "INTACT", 0 },
	{ "rows", "ROWS", RV_COL_RIGHT },
	{ "first_id", "FIRST", RV_COL_RIGHT },
	{ "last_id", "LAST", RV_COL_RIGHT },
	{ "head", "HEAD", 0 },
	{ NULL, NULL, 0 },
};

static int
audit_ls(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "client", required_argument, NULL, O_CLIENT },
		{ "actor", required_argument, NULL, O_ACTOR },
		{ "action", required_argument, NULL, O_ACTION },
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ NULL, 0, NULL, 0 },
	};
	const char *client = NULL, *from = NULL, *to = NULL;
	struct audit_filter f = { 0 };
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_CLIENT: client = optarg; break;
		case O_ACTOR: f.actor = rv_text(ctx, "actor", optarg, 255); break;
		case O_ACTION: f.action = rv_text(ctx, "action", optarg, 64); break;
		case O_FROM: from = optarg; break;
		case O_TO: to = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	rv_range(ctx, from, to, &f.from, &f.to);
	/* The trail outlives the client: an erased one is named by id. */
	if (client != NULL && !parse_id(client, &f.client_id))
		f.client_id = rv_client(ctx, client);
	rv_out_begin(ctx, audit_cols, 0);
	rv_check(ctx, audit_list(rv_db(ctx), &f, rv_emit_cb, ctx, &ctx->err));
	return rv_finish_list(ctx);
}

static int progress_shown;	/* a progress line is unfinished on stderr */

static void
progress(int64_t done, int64_t total, void *arg)
{
	/* Told as parts of the trail end: rounded to what rv_progress shows. */
	if (done != total)
		done -= done % 1000;
	rv_progress(arg, "verifying", (size_t)done, (size_t)total);
	progress_shown = done != total;
}

static int
audit_check(struct rv_ctx *ctx, int argc, char **argv)
{
	struct audit_check v;
	json_t *r;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (optind != argc)
		rv_usage(ctx);
	rv_check(ctx, audit_verify(rv_db(ctx), &v, ctx->progress ? progress :
	    NULL, ctx, &ctx->err));
	if (progress_shown)
		fputc('\n', stderr);
	r = rec_new("verify", v.head_id);
	if (v.head_id == 0)
		json_object_set_new(r, "id", json_null());
	json_object_set_new(r, "intact", json_boolean(v.broken_id == 0));
	json_object_set_new(r, "rows", json_integer(v.rows));
	json_object_set_new(r, "first_id", v.rows ?
	    json_integer(v.first_id) : json_null());
	json_object_set_new(r, "last_id", v.rows ?
	    json_integer(v.last_id) : json_null());
	json_object_set_new(r, "anchor_id", v.anchor_id ?
	    json_integer(v.anchor_id) : json_null());
	json_object_set_new(r, "purged", json_integer(v.purged));
	json_object_set_new(r, "head", v.head[0] ? json_string(v.head) :
	    json_null());
	json_object_set_new(r, "broken_id", v.broken_id ?
	    json_integer(v.broken_id) : json_null());
	json_object_set_new(r, "problem", v.broken_id ?
	    json_string(v.problem) : json_null());
	rv_out_begin(ctx, verify_cols, 1);
	rv_emit(ctx, r);
	if (v.broken_id != 0) {
		rv_out_end(ctx);
		rv_die(ctx, EX_REFUSED, "%s", v.problem);
	}
	return rv_finish(ctx);
}

static int
audit_prune(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "now", required_argument, NULL, O_NOW },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ NULL, 0, NULL, 0 },
	};
	int64_t before;
	long months;
	json_t *rec;
	int dry = 0, opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_NOW: ctx->who.now = rv_time(ctx, optarg); break;
		case O_DRY: dry = 1; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	rv_check(ctx, conf_int(ctx->conf, "retention.audit_months", 1, 1200,
	    &months, &ctx->err));
	before = audit_months_before(ctx->who.now, months);
	rv_begin(ctx);
	rv_check(ctx, audit_purge(rv_db(ctx), &ctx->who, before, dry, &rec,
	    &ctx->err));
	if (dry)
		db_rollback(rv_db(ctx));
	else
		rv_commit(ctx);
	if (rec == NULL) {
		char when[40];

		/* Quiet for cron; a person at a terminal is told. */
		tm_local(before, when);
		if (ctx->progress)
			rv_warn(ctx, "nothing to purge: no row before %s",
			    when);
		return rv_finish(ctx);
	}
	rv_out_begin(ctx, anchor_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

static int
audit_anchor_ls(struct rv_ctx *ctx, int argc, char **argv)
{
	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (optind != argc)
		rv_usage(ctx);
	rv_out_begin(ctx, anchor_cols, 0);
	rv_check(ctx, audit_anchors(rv_db(ctx), rv_emit_cb, ctx, &ctx->err));
	return rv_finish_list(ctx);
}

int
main(int argc, char *argv[])
{
	struct rv_ctx *ctx = rv_start("audit", usage_str, &argc, &argv);

	if (argc < 1)
		rv_usage(ctx);
	if (strcmp(argv[0], "list") == 0)
		return audit_ls(ctx, argc, argv);
	if (strcmp(argv[0], "verify") == 0)
		return audit_check(ctx, argc, argv);
	if (strcmp(argv[0], "purge") == 0)
		return audit_prune(ctx, argc, argv);
	if (strcmp(argv[0], "anchors") == 0)
		return audit_anchor_ls(ctx, argc, argv);
	rv_bad_verb(ctx, argv[0]);
}
