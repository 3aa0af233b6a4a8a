/* gdpr-erase.c — erase clients (GDPR art. 17), with a receipt each. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "erase.h"
#include "banned.h"

static const char usage_str[] =
    "usage: gdpr-erase --reason TEXT [--dry-run] [C ...]\n"
    "       gdpr-erase --replay [--journal FILE] [--since T] [--dry-run]\n"
    "       gdpr-erase --rules\n";

enum { O_REASON = 0x200, O_DRY_RUN, O_REPLAY, O_JOURNAL, O_SINCE, O_RULES };

static const struct rv_col receipt_cols[] = {
	{ "id", "ERASURE", RV_COL_RIGHT },
	{ "client_id", "CLIENT", RV_COL_RIGHT },
	{ "erased", "ERASED", RV_COL_TIME },
	{ "dry_run", "DRY RUN", 0 },
	{ "summary", "SUMMARY", 0 },
	{ NULL, NULL, 0 },
};

static const struct rv_col rule_cols[] = {
	{ "table", "TABLE", 0 },
	{ "how", "HOW", 0 },
	{ "category", "CATEGORY", 0 },
	{ "columns", "COLUMNS", 0 },
	{ NULL, NULL, 0 },
};

struct targets {
	struct rv_ctx *ctx;
	struct rv_ids ids;
};

/* A client already erased is skipped with a word: erasing is idempotent.
 * 1 when id was, 0 when it was never a client here. */
static int
already_erased(struct rv_ctx *ctx, int64_t id)
{
	int64_t erased;
	char when[40];

	rv_check(ctx, erase_journal_find(rv_db(ctx), id, &erased, &ctx->err));
	if (erased == 0)
		return 0;
	tm_local(erased, when);
	rv_warn(ctx, "client %lld was erased on %.10s; skipped",
	    (long long)id, when);
	return 1;
}

static int
target_record(json_t *rec, size_t line, void *arg, struct rv_err *e)
{
	struct targets *t = arg;
	int64_t id, found;
	int ok, rc;

	(void)line;
	if ((rc = in_client_id(rec, &id, e)) != 0)
		return rc;
	/* null: a record about a client erased before; nothing left. */
	if (id == 0 || ids_has(&t->ids, id))
		return 0;
	if ((rc = db_int(rv_db(t->ctx), "SELECT id FROM client WHERE id = ?",
	    id, &found, &ok, e)) != 0)
		return rc;
	if (ok)
		ids_add_once(&t->ids, id);
	else if (!already_erased(t->ctx, id))
		return rv_fail(e, EX_NOINPUT, "no such client %lld",
		    (long long)id);
	return 0;
}

static void
collect(struct rv_ctx *ctx, int argc, char **argv, struct targets *t)
{
	struct rv_err err = { 0 };
	int64_t id;
	int i, rc;

	if (argc == 0) {
		if (is_tty(stdin))
			rv_die(ctx, EX_USAGE, "name clients as operands, or "
			    "pipe records on stdin");
		rv_check(ctx, in_each(stdin, target_record, t, &ctx->err));
		return;
	}
	for (i = 0; i < argc; i++) {
		rc = client_find(rv_db(ctx), argv[i], &id, &err);
		if (rc == 0)
			ids_add_once(&t->ids, id);
		else if (rc != EX_NOINPUT || !parse_id(argv[i], &id) ||
		    !already_erased(ctx, id))
			rv_die(ctx, rc, "%s", err.msg);
	}
}

/*
 * The targets were found before the write lock was taken: one erased
 * meanwhile (by another gdpr-erase, or a purge) is skipped, as if it had
 * been erased before; one gone otherwise is unknown (66, nothing done).
 */
static void
recheck(struct rv_ctx *ctx, struct rv_ids *ids)
{
	int64_t found;
	size_t i, n = 0;
	int ok;

	for (i = 0; i < ids->n; i++) {
		rv_check(ctx, db_int(rv_db(ctx), "SELECT id FROM client "
		    "WHERE id = ?", ids->v[i], &found, &ok, &ctx->err));
		if (ok)
			ids->v[n++] = ids->v[i];
		else if (!already_erased(ctx, ids->v[i]))
			rv_die(ctx, EX_NOINPUT, "no such client %lld",
			    (long long)ids->v[i]);
	}
	ids->n = n;
}

/* The database file, for the journal's default place beside it. */
static void
journal_path(struct rv_ctx *ctx, const char *given, char *buf, size_t n)
{
	if (given != NULL) {
		snprintf(buf, n, "%s", given);
		return;
	}
	rv_check(ctx, erase_journal_path(ctx->conf,
	    sqlite3_db_filename(rv_db(ctx), "main"), buf, n, &ctx->err));
}

/* After the commit: the journal file, the receipts, the checkpoint. */
static int
finish(struct rv_ctx *ctx, json_t *receipts, const struct erase_tally *all,
    int dry_run, int replay)
{
	char path[PATH_MAX];
	struct rv_err jerr = { 0 };
	int jrc = 0;
	size_t i;

	if (!dry_run && !replay) {
		journal_path(ctx, NULL, path, sizeof(path));
		jrc = erase_journal_write(path, all, &jerr);
	}
	rv_out_begin(ctx, receipt_cols, 1);
	for (i = 0; i < json_array_size(receipts); i++)
		rv_emit(ctx, json_incref(json_array_get(receipts, i)));
	rv_out_end(ctx);
	json_decref(receipts);
	if (jrc != 0)
		rv_die(ctx, jrc, "the erasure is done, but %s: copy the "
		    "erasure journal there from 'sqlite3 DB \"SELECT * FROM "
		    "erasure\"' before restoring any backup", jerr.msg);
	if (!dry_run)
		rv_checkpoint(ctx);
	return rv_finish(ctx);
}

static int
erase_named(struct rv_ctx *ctx, int argc, char **argv, int dry_run)
{
	struct targets t = { ctx, { 0 } };
	struct erase_tally all = { 0 }, one;
	struct erase_run *r = NULL;
	json_t *receipts = json_array();
	size_t i;
	int rc;

	collect(ctx, argc, argv, &t);
	if (t.ids.n > 0) {
		/* Before the transaction: it sets temp_store. */
		rv_check(ctx, erase_open(rv_db(ctx), ctx->conf, &r,
		    &ctx->err));
		rv_begin(ctx);
		recheck(ctx, &t.ids);
	}
	if (t.ids.n == 0) {
		if (r != NULL) {
			db_rollback(rv_db(ctx));
			erase_close(r);
		}
		ids_free(&t.ids);
		rv_warn(ctx, "no client to erase");
		json_decref(receipts);
		/* An erasure whose checkpoint a reader held up (75) is
		 * finished by running it again: its clients are skipped
		 * now, but their old bytes may still be in the file. */
		if (!dry_run)
			rv_checkpoint(ctx);
		return rv_finish(ctx);
	}
	/* The erasure's rows are written once the client is gone: the
	 * reason is held to the trail's rule first, a dry run's too. */
	for (i = 0; i < t.ids.n; i++)
		rv_check(ctx, audit_reason_check(rv_db(ctx), t.ids.v[i],
		    ctx->who.reason, &ctx->err));
	/* One transaction: every client named is erased, or none is. */
	for (i = 0; i < t.ids.n; i++) {
		memset(&one, 0, sizeof(one));
		rc = erase_clients(r, &ctx->who, &t.ids.v[i], 1, &one,
		    &ctx->err);
		if (rc == 0) {
			json_array_append_new(receipts, erase_receipt(&ctx->who,
			    &one, t.ids.v[i], dry_run));
			erase_tally_add(&all, &one);
		}
		erase_tally_free(&one);
		if (rc != 0) {
			erase_close(r);
			json_decref(receipts);
			erase_tally_free(&all);
			ids_free(&t.ids);
			rv_check(ctx, rc);
		}
	}
	erase_close(r);
	if (dry_run)
		db_rollback(rv_db(ctx));
	else
		rv_commit(ctx);
	ids_free(&t.ids);
	rc = finish(ctx, receipts, &all, dry_run, 0);
	erase_tally_free(&all);
	return rc;
}

static int
collect_receipt(json_t *rec, void *arg)
{
	json_array_append_new(arg, rec);
	return 0;
}

static int
erase_replayed(struct rv_ctx *ctx, const char *journal, const char *since_s,
    int dry_run)
{
	struct erase_tally none = { 0 };
	struct erase_run *r;
	json_t *receipts = json_array();
	char path[PATH_MAX];
	int64_t since = since_s != NULL ? rv_bound(ctx, since_s, 0) : 0;
	size_t n;
	int rc;

	journal_path(ctx, journal, path, sizeof(path));
	rv_check(ctx, erase_open(rv_db(ctx), ctx->conf, &r, &ctx->err));
	rv_begin(ctx);
	rc = erase_replay(r, &ctx->who, path, since, dry_run, collect_receipt,
	    receipts, &n, &ctx->err);
	erase_close(r);
	if (rc != 0)
		json_decref(receipts);
	rv_check(ctx, rc);
	if (dry_run)
		db_rollback(rv_db(ctx));
	else
		rv_commit(ctx);
	if (n == 0)
		rv_warn(ctx, "nothing to replay: no client the journal names "
		    "is in this database");
	return finish(ctx, receipts, &none, dry_run || n == 0, 1);
}

static int
list_rules(struct rv_ctx *ctx)
{
	rv_out_begin(ctx, rule_cols, 0);
	rv_check(ctx, erase_rules_list(rv_emit_cb, ctx, &ctx->err));
	return rv_finish(ctx);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, O_REASON },
		{ "dry-run", no_argument, NULL, O_DRY_RUN },
		{ "replay", no_argument, NULL, O_REPLAY },
		{ "journal", required_argument, NULL, O_JOURNAL },
		{ "since", required_argument, NULL, O_SINCE },
		{ "rules", no_argument, NULL, O_RULES },
		{ NULL, 0, NULL, 0 },
	};
	/* No verbs: the common options and the tool's own are parsed
	 * together, anywhere on the line. */
	int none = 1;
	char **rest = argv;
	struct rv_ctx *ctx = rv_start("gdpr-erase", usage_str, &none, &rest);
	const char *journal = NULL, *since = NULL;
	int opt, dry_run = 0, replay = 0, rules = 0;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_REASON:
			rv_reason(ctx, optarg);
			break;
		case O_DRY_RUN: dry_run = 1; break;
		case O_REPLAY: replay = 1; break;
		case O_JOURNAL: journal = optarg; break;
		case O_SINCE: since = optarg; break;
		case O_RULES: rules = 1; break;
		default: rv_usage(ctx);
		}
	}
	argc -= optind;
	argv += optind;
	if (rules) {
		if (argc > 0 || replay || dry_run || ctx->who.reason)
			rv_usage(ctx);
		return list_rules(ctx);
	}
	if (replay) {
		if (argc > 0 || ctx->who.reason != NULL)
			rv_usage(ctx);
		return erase_replayed(ctx, journal, since, dry_run);
	}
	if (journal != NULL || since != NULL)
		rv_usage(ctx);
	if (ctx->who.reason == NULL)
		rv_die(ctx, EX_USAGE, "--reason is required: why the data is "
		    "erased (the request, or the ground of art. 17(1)); it "
		    "goes on the audit trail, so name no one in it");
	return erase_named(ctx, argc, argv, dry_run);
}
