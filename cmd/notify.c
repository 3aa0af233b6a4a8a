/* notify.c — send what the outbox holds, list it, retry a message. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mailer.h"
#include "consent.h"
#include "outbox.h"
#include "policy.h"
#include "banned.h"

static const char usage_str[] =
    "usage: notify [send] [--dry-run] [--limit N] [--now TIME]\n"
    "       notify list [--status S] [--kind K] [--client C]\n"
    "       notify show ID\n"
    "       notify retry ID...\n"
    "       notify policy VERSION [C...]\n"
    "       notify marketing CAMPAIGN --subject TEXT --text-file FILE [C...]\n";

enum { O_DRY_RUN = 0x200, O_LIMIT, O_NOW, O_STATUS, O_KIND, O_CLIENT,
	O_SUBJECT, O_TEXT_FILE };

struct progress {
	struct rv_ctx *ctx;
	size_t n;
};

static int
emit_message(json_t *rec, void *arg)
{
	struct progress *p = arg;
	int rc;

	/* Not rv_emit: a reader gone (notify | head) must stop the run with
	 * the messages it claimed back in the queue, not left "sending"
	 * until their lease runs out. */
	if ((rc = rv_emit_try(p->ctx, rec)) != 0)
		return rc;
	rv_progress(p->ctx, "notify", ++p->n, 0);
	return 0;
}

static void
report(struct rv_ctx *ctx, const struct mailer_stats *st)
{
	if (st->unavailable)
		rv_warn(ctx, "the mail transport is unreachable: %s; the "
		    "messages wait for the next run", st->last_error);
	else if (st->deferred > 0)
		rv_warn(ctx, "%zu message%s will be retried: %s", st->deferred,
		    st->deferred == 1 ? "" : "s", st->last_error);
	if (st->failed > 0)
		rv_warn(ctx, "%zu message%s failed for good (notify list "
		    "--status failed): %s", st->failed, st->failed == 1 ? "" :
		    "s", st->last_error);
}

static int
notify_send(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, O_DRY_RUN },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "now", required_argument, NULL, O_NOW },
		{ NULL, 0, NULL, 0 },
	};
	struct mailer_opts o = { 0 };
	struct mailer_stats st;
	struct progress pr = { ctx, 0 };
	uint8_t key[RV_KEY_LEN];
	const char *now = NULL, *env = getenv("RISERVA_NOW");
	long limit = 0;
	int opt, status, rc;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_DRY_RUN: o.dry_run = 1; break;
		case O_NOW: now = optarg; break;
		case O_LIMIT:
			if (!parse_int(optarg, 1, 1000000000, &limit))
				rv_die(ctx, EX_USAGE, "bad --limit '%s': a "
				    "positive number", optarg);
			break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	if (now != NULL)
		ctx->who.now = rv_time(ctx, now);
	o.fixed_clock = now != NULL || (env != NULL && *env != '\0');
	o.limit = (size_t)limit;
	o.out = stdout;
	o.diag = stderr;
	o.tool = ctx->tool;
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
	/* A dry run changes nothing, not even what a first run stores; and
	 * it only reads (but that once), so the desk can book meanwhile. */
	if (o.dry_run)
		rv_begin_read(ctx);
	rc = mailer_run(rv_db(ctx), ctx->conf, &ctx->who, &o, &st, &ctx->err);
	if (o.dry_run)
		db_rollback(rv_db(ctx));
	rv_wipe(key, sizeof(key));
	rv_check(ctx, rc);
	if (pr.n > 0)
		rv_progress(ctx, "notify", pr.n, pr.n);
	report(ctx, &st);
	status = mailer_status(&st);
	rc = rv_finish(ctx);
	return rc != 0 ? rc : status;
}

static int
notify_list(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, O_STATUS },
		{ "kind", required_argument, NULL, O_KIND },
		{ "client", required_argument, NULL, O_CLIENT },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const statuses[] = { "queued", "sending", "sent",
		"failed", "skipped", NULL };
	struct outbox_filter f = { 0 };
	const char *client = NULL;
	int opt, i;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_STATUS: f.status = optarg; break;
		case O_KIND: f.kind = optarg; break;
		case O_CLIENT: client = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	if (f.status != NULL) {
		for (i = 0; statuses[i] && strcmp(statuses[i], f.status); i++)
			;
		if (statuses[i] == NULL)
			rv_die(ctx, EX_USAGE, "bad status '%s': queued, "
			    "sending, sent, failed or skipped", f.status);
	}
	if (f.kind != NULL) {
		for (i = 0; outbox_kinds[i] && strcmp(outbox_kinds[i], f.kind);
		    i++)
			;
		if (outbox_kinds[i] == NULL)
			rv_die(ctx, EX_USAGE, "bad kind '%s': confirmation, "
			    "change, cancellation, reminder, policy, breach or "
			    "marketing", f.kind);
	}
	if (client != NULL)
		f.client_id = rv_client(ctx, client);
	rv_out_begin(ctx, message_cols, 0);
	rv_check(ctx, outbox_list(rv_db(ctx), &f, rv_emit_cb, ctx, &ctx->err));
	return rv_finish_list(ctx);
}

static int
notify_show(struct rv_ctx *ctx, int argc, char **argv)
{
	json_t *rec;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	rv_check(ctx, outbox_get(rv_db(ctx), rv_id(ctx, "message",
	    argv[optind]), &rec, &ctx->err));
	rv_out_begin(ctx, message_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

static int
notify_retry(struct rv_ctx *ctx, int argc, char **argv)
{
	struct rv_ids ids = { 0 };
	json_t *rec;
	size_t i;
	int k;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind < 1)
		rv_usage(ctx);
	for (k = optind; k < argc; k++)
		ids_add(&ids, rv_id(ctx, "message", argv[k]));
	/* All or none. */
	rv_begin(ctx);
	for (i = 0; i < ids.n; i++)
		rv_check(ctx, outbox_retry(rv_db(ctx), &ctx->who, ids.v[i],
		    &ctx->err));
	rv_commit(ctx);
	rv_out_begin(ctx, message_cols, ids.n == 1);
	for (i = 0; i < ids.n; i++) {
		rv_check(ctx, outbox_get(rv_db(ctx), ids.v[i], &rec,
		    &ctx->err));
		rv_emit(ctx, rec);
	}
	ids_free(&ids);
	return rv_finish(ctx);
}

struct policy_arg {
	struct rv_ctx *ctx;
	const char *version;
	struct rv_ids queued;
	size_t had;
};

static int
queue_policy(json_t *rec, void *arg)
{
	struct policy_arg *a = arg;
	struct rv_ctx *ctx = a->ctx;
	int64_t client_id = json_integer_value(json_object_get(rec, "id"));
	int64_t id;
	int rc;

	json_decref(rec);
	rc = outbox_notice(rv_db(ctx), &ctx->who, client_id, "policy",
	    a->version, NULL, &id, &ctx->err);
	if (rc != 0)
		return rc;
	if (id != 0)
		ids_add(&a->queued, id);
	else
		a->had++;
	return 0;
}

/*
 * The notice the law asks for, once per client and version: to the
 * clients named (operands, or records on stdin), or with none to everyone
 * who booked in the 24 months before the version takes effect.
 */
static int
notify_policy(struct rv_ctx *ctx, int argc, char **argv)
{
	struct policy_arg a = { ctx, NULL, { 0 }, 0 };
	struct rv_ids named = { 0 };
	int affected;
	json_t *rec;
	size_t i;
	int rc;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind < 1)
		rv_usage(ctx);
	a.version = argv[optind];
	affected = argc - optind == 1 && is_tty(stdin);
	rv_check(ctx, policy_check_version(a.version, &ctx->err));
	rv_begin(ctx);
	rv_check(ctx, policy_get(rv_db(ctx), a.version, ctx->who.now, &rec,
	    &ctx->err));
	if (!json_is_true(json_object_get(rec, "substantial"))) {
		json_decref(rec);
		rv_die(ctx, EX_REFUSED, "policy %s is not a substantial "
		    "change: the clients need no notice (consent policy add "
		    "--substantial marks one)", a.version);
	}
	json_decref(rec);
	if (!affected)
		rv_client_ids(ctx, argc - optind - 1, argv + optind + 1,
		    &named);
	if (named.n == 0) {
		rv_check(ctx, policy_affected(rv_db(ctx), a.version,
		    queue_policy, &a, &ctx->err));
	} else {
		for (i = 0; i < named.n; i++) {
			rec = json_pack("{sI}", "id", (json_int_t)named.v[i]);
			if ((rc = queue_policy(rec, &a)) != 0)
				rv_check(ctx, rc);
		}
		ids_free(&named);
	}
	rv_commit(ctx);
	rv_out_begin(ctx, message_cols, 0);
	for (i = 0; i < a.queued.n; i++) {
		rv_check(ctx, outbox_get(rv_db(ctx), a.queued.v[i], &rec,
		    &ctx->err));
		rv_emit(ctx, rec);
	}
	if (a.had > 0)
		rv_warn(ctx, "queued %zu notice%s of policy %s; %zu client%s "
		    "had it already", a.queued.n, a.queued.n == 1 ? "" : "s",
		    a.version, a.had, a.had == 1 ? "" : "s");
	else
		rv_warn(ctx, "queued %zu notice%s of policy %s", a.queued.n,
		    a.queued.n == 1 ? "" : "s", a.version);
	ids_free(&a.queued);
	return rv_finish(ctx);
}

struct marketing_arg {
	struct rv_ctx *ctx;
	const char *campaign;
	json_t *fields;
	struct rv_ids queued;
	size_t had, refused;
};

/* Queued only for a client whose marketing consent stands now (it is
 * checked again when it is sent). */
static int
queue_marketing(struct marketing_arg *a, int64_t client_id)
{
	struct rv_ctx *ctx = a->ctx;
	int64_t id;
	int granted, rc;

	if ((rc = consent_granted(rv_db(ctx), client_id, "marketing",
	    &granted, &ctx->err)) != 0)
		return rc;
	if (!granted) {
		a->refused++;
		return 0;
	}
	rc = outbox_notice(rv_db(ctx), &ctx->who, client_id, "marketing",
	    a->campaign, a->fields, &id, &ctx->err);
	if (rc != 0)
		return rc;
	if (id != 0)
		ids_add(&a->queued, id);
	else
		a->had++;
	return 0;
}

static int
queue_consenting(json_t *rec, void *arg)
{
	int64_t client_id = json_integer_value(json_object_get(rec,
	    "client_id"));

	json_decref(rec);
	return queue_marketing(arg, client_id);
}

/* The text of a campaign: a file of UTF-8 text, not too long. */
static char *
read_text(struct rv_ctx *ctx, const char *path)
{
	struct rv_buf b = { 0 };
	char chunk[4096];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		rv_die(ctx, EX_NOINPUT, "cannot read %s: %s", path,
		    strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && b.len < 65536)
		buf_add(&b, chunk, n);
	fclose(fp);
	while (b.len > 0 && (b.s[b.len - 1] == '\n' || b.s[b.len - 1] == ' '))
		b.s[--b.len] = '\0';
	if (b.len > 32768 || b.len == 0 || strlen(b.s) != b.len) {
		buf_free(&b);
		rv_die(ctx, EX_DATAERR, "%s: a campaign's text is 1 to 32768 "
		    "bytes of text", path);
	}
	rv_text(ctx, "text", b.s, 32768);
	return b.s;
}

/*
 * A marketing message, once per client and campaign, to the clients named
 * (operands, or records on stdin) or with none to every client whose
 * marketing consent stands; never to one without it.
 */
static int
notify_marketing(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "subject", required_argument, NULL, O_SUBJECT },
		{ "text-file", required_argument, NULL, O_TEXT_FILE },
		{ NULL, 0, NULL, 0 },
	};
	struct marketing_arg a = { ctx, NULL, NULL, { 0 }, 0, 0 };
	const char *subject = NULL, *file = NULL, *p;
	struct rv_ids named = { 0 };
	char *text;
	json_t *rec;
	size_t i;
	int opt, all;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_SUBJECT: subject = rv_text(ctx, "subject", optarg, 200); break;
		case O_TEXT_FILE: file = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (argc - optind < 1 || subject == NULL || file == NULL)
		rv_usage(ctx);
	a.campaign = argv[optind];
	for (p = a.campaign; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			break;
	if (*p != '\0' || p - a.campaign > 64 || p == a.campaign)
		rv_die(ctx, EX_USAGE, "bad campaign '%s': letters, digits, "
		    "'.', '_' and '-', at most 64", a.campaign);
	text = read_text(ctx, file);
	a.fields = json_pack("{s:s, s:s}", "subject", subject, "text", text);
	free(text);
	all = argc - optind == 1 && is_tty(stdin);
	if (!all)
		rv_client_ids(ctx, argc - optind - 1, argv + optind + 1, &named);
	rv_begin(ctx);
	if (named.n == 0)
		rv_check(ctx, consent_status(rv_db(ctx), 0, "marketing", 1,
		    queue_consenting, &a, &ctx->err));
	for (i = 0; i < named.n; i++)
		rv_check(ctx, queue_marketing(&a, named.v[i]));
	rv_commit(ctx);
	ids_free(&named);
	json_decref(a.fields);
	rv_out_begin(ctx, message_cols, 0);
	for (i = 0; i < a.queued.n; i++) {
		rv_check(ctx, outbox_get(rv_db(ctx), a.queued.v[i], &rec,
		    &ctx->err));
		rv_emit(ctx, rec);
	}
	rv_warn(ctx, "campaign %s: %zu message%s queued, %zu client%s had it "
	    "already, %zu without marketing consent left out", a.campaign,
	    a.queued.n, a.queued.n == 1 ? "" : "s", a.had,
	    a.had == 1 ? "" : "s", a.refused);
	ids_free(&a.queued);
	return rv_finish(ctx);
}

/*
 * "notify [--dry-run] [--limit N]" sends: with no word but options and
 * their values, the verb is send. 1: a word names the verb; 0: none.
 */
static int
has_verb(int argc, char **argv)
{
	static const char *const valued[] = { "--db", "--format", "--limit",
		"--now", NULL };
	int i, v;

	for (i = 1; i < argc; i++) {
		for (v = 0; valued[v] != NULL; v++)
			if (strcmp(argv[i], valued[v]) == 0)
				break;
		if (valued[v] != NULL) {
			i++;
			continue;
		}
		if (strcmp(argv[i], "--") == 0 || argv[i][0] != '-')
			return 1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct rv_ctx *ctx;
	char **none = argv;
	int one = 1;

	if (!has_verb(argc, argv)) {
		ctx = rv_start("notify", usage_str, &one, &none);
		return notify_send(ctx, argc, argv);
	}
	ctx = rv_start("notify", usage_str, &argc, &argv);
	if (argc < 1)
		rv_usage(ctx);
	if (strcmp(argv[0], "send") == 0)
		return notify_send(ctx, argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return notify_list(ctx, argc, argv);
	if (strcmp(argv[0], "show") == 0)
		return notify_show(ctx, argc, argv);
	if (strcmp(argv[0], "retry") == 0)
		return notify_retry(ctx, argc, argv);
	if (strcmp(argv[0], "policy") == 0)
		return notify_policy(ctx, argc, argv);
	if (strcmp(argv[0], "marketing") == 0)
		return notify_marketing(ctx, argc, argv);
	rv_bad_verb(ctx, argv[0]);
}
