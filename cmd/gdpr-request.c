/* gdpr-request.c — the register of data-subject requests, and deadlines. */
#include <string.h>

#include "cli.h"
#include "request.h"
#include "banned.h"

static const char usage_str[] =
    "usage: gdpr-request open C --kind K [--received DATE] [--channel T]\n"
    "                           [--notes T]\n"
    "       gdpr-request extend ID --reason T\n"
    "       gdpr-request close ID --outcome done|refused [--reason T]\n"
    "       gdpr-request list [--open] [--overdue] [--due-within DAYS]\n"
    "                         [--client C] [--kind K] [--now T]\n"
    "       gdpr-request show ID [--now T]\n"
    "       gdpr-request check [--due-within DAYS] [--now T]\n"
    "kinds: access rectification erasure restriction portability objection\n"
    "       withdrawal\n";

enum { O_KIND = 0x200, O_RECEIVED, O_CHANNEL, O_NOTES, O_REASON, O_OUTCOME,
	O_OPEN, O_OVERDUE, O_DUE_WITHIN, O_CLIENT, O_NOW };

/* How far ahead check looks when not told. */
#define CHECK_DAYS 7

static void
print_request(struct rv_ctx *ctx, int64_t id)
{
	json_t *rec;

	rv_check(ctx, request_get(rv_db(ctx), id, ctx->who.now, &rec,
	    &ctx->err));
	rv_out_begin(ctx, request_cols, 1);
	rv_emit(ctx, rec);
}

static const char *
kind_arg(struct rv_ctx *ctx, const char *s)
{
	int i;

	for (i = 0; request_kinds[i] != NULL; i++)
		if (strcmp(s, request_kinds[i]) == 0)
			return s;
	rv_die(ctx, EX_USAGE, "bad kind '%s': access, rectification, erasure, "
	    "restriction, portability, objection or withdrawal", s);
}

static long
days_arg(struct rv_ctx *ctx, const char *s)
{
	long n;

	if (!parse_int(s, 0, 3660, &n))
		rv_die(ctx, EX_USAGE, "bad --due-within '%s': days, 0 to 3660",
		    s);
	return n;
}

static int
req_open(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, O_KIND },
		{ "received", required_argument, NULL, O_RECEIVED },
		{ "channel", required_argument, NULL, O_CHANNEL },
		{ "notes", required_argument, NULL, O_NOTES },
		{ NULL, 0, NULL, 0 },
	};
	struct request_new r = { 0 };
	const char *received = NULL;
	int64_t id;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_KIND: r.kind = kind_arg(ctx, optarg); break;
		case O_RECEIVED: received = optarg; break;
		case O_CHANNEL: r.channel = optarg; break;
		case O_NOTES: r.notes = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (argc - optind != 1 || r.kind == NULL)
		rv_usage(ctx);
	if (received != NULL)
		rv_check(ctx, tm_parse_date(received, &r.y, &r.m, &r.d,
		    &ctx->err));
	rv_begin(ctx);
	r.client_id = rv_client(ctx, argv[optind]);
	rv_check(ctx, request_open(rv_db(ctx), &ctx->who, &r, &id, &ctx->err));
	rv_commit(ctx);
	print_request(ctx, id);
	return rv_finish(ctx);
}

static int
req_extend(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, O_REASON },
		{ NULL, 0, NULL, 0 },
	};
	int64_t id;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		if (opt != O_REASON)
			rv_usage(ctx);
		rv_reason(ctx, optarg);
	}
	if (argc - optind != 1 || ctx->who.reason == NULL)
		rv_usage(ctx);
	id = rv_id(ctx, "request", argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, request_extend(rv_db(ctx), &ctx->who, id,
	    ctx->who.reason, &ctx->err));
	rv_commit(ctx);
	print_request(ctx, id);
	return rv_finish(ctx);
}

static int
req_close(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "outcome", required_argument, NULL, O_OUTCOME },
		{ "reason", required_argument, NULL, O_REASON },
		{ NULL, 0, NULL, 0 },
	};
	const char *outcome = NULL;
	int64_t id;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_OUTCOME: outcome = optarg; break;
		case O_REASON:
			rv_reason(ctx, optarg);
			break;
		default: rv_usage(ctx);
		}
	}
	if (argc - optind != 1 || outcome == NULL)
		rv_usage(ctx);
	if (strcmp(outcome, "done") != 0 && strcmp(outcome, "refused") != 0)
		rv_die(ctx, EX_USAGE, "bad outcome '%s': done or refused",
		    outcome);
	if (strcmp(outcome, "refused") == 0 && ctx->who.reason == NULL)
		rv_die(ctx, EX_USAGE, "a refusal needs its reasons "
		    "(art. 12(4)): give --reason");
	id = rv_id(ctx, "request", argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, request_close(rv_db(ctx), &ctx->who, id, outcome,
	    ctx->who.reason, &ctx->err));
	rv_commit(ctx);
	print_request(ctx, id);
	return rv_finish(ctx);
}

static int
req_list(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "open", no_argument, NULL, O_OPEN },
		{ "overdue", no_argument, NULL, O_OVERDUE },
		{ "due-within", required_argument, NULL, O_DUE_WITHIN },
		{ "client", required_argument, NULL, O_CLIENT },
		{ "kind", required_argument, NULL, O_KIND },
		{ "now", required_argument, NULL, O_NOW },
		{ NULL, 0, NULL, 0 },
	};
	struct request_filter f = { 0 };
	const char *client = NULL, *now = NULL;
	int opt;

	f.due_within = -1;
	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_OPEN: f.open = 1; break;
		case O_OVERDUE: f.overdue = 1; break;
		case O_DUE_WITHIN: f.due_within = days_arg(ctx, optarg); break;
		case O_CLIENT: client = optarg; break;
		case O_KIND: f.kind = kind_arg(ctx, optarg); break;
		case O_NOW: now = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	f.now = now != NULL ? rv_bound(ctx, now, 0) : ctx->who.now;
	if (client != NULL)
		f.client_id = rv_client(ctx, client);
	rv_out_begin(ctx, request_cols, 0);
	rv_check(ctx, request_list(rv_db(ctx), &f, rv_emit_cb, ctx,
	    &ctx->err));
	return rv_finish_list(ctx);
}

static int
req_show(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "now", required_argument, NULL, O_NOW },
		{ NULL, 0, NULL, 0 },
	};
	const char *now = NULL;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		if (opt != O_NOW)
			rv_usage(ctx);
		now = optarg;
	}
	if (argc - optind != 1)
		rv_usage(ctx);
	if (now != NULL)
		ctx->who.now = rv_bound(ctx, now, 0);
	print_request(ctx, rv_id(ctx, "request", argv[optind]));
	return rv_finish(ctx);
}

struct tally {
	struct rv_ctx *ctx;
	size_t overdue, soon;
};

static int
tally_emit(json_t *rec, void *arg)
{
	struct tally *t = arg;

	if (json_integer_value(json_object_get(rec, "days_left")) < 0)
		t->overdue++;
	else
		t->soon++;
	rv_emit(t->ctx, rec);
	return 0;
}

/* For cron: silent and 0 when nothing is near; 1 when anything is late. */
static int
req_check(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "due-within", required_argument, NULL, O_DUE_WITHIN },
		{ "now", required_argument, NULL, O_NOW },
		{ NULL, 0, NULL, 0 },
	};
	struct request_filter f = { 0 };
	struct tally t = { ctx, 0, 0 };
	const char *now = NULL;
	int opt, rc;

	f.due_within = CHECK_DAYS;
	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_DUE_WITHIN: f.due_within = days_arg(ctx, optarg); break;
		case O_NOW: now = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	f.now = now != NULL ? rv_bound(ctx, now, 0) : ctx->who.now;
	f.open = 1;
	rv_out_begin(ctx, request_cols, 0);
	rv_check(ctx, request_list(rv_db(ctx), &f, tally_emit, &t,
	    &ctx->err));
	rv_out_end(ctx);
	if (t.overdue + t.soon > 0)
		rv_warn(ctx, "%zu overdue, %zu due within %ld day%s",
		    t.overdue, t.soon, f.due_within,
		    f.due_within == 1 ? "" : "s");
	rc = rv_finish(ctx);
	return rc != 0 ? rc : t.overdue > 0 ? EX_REFUSED : 0;
}

int
main(int argc, char *argv[])
{
	struct rv_ctx *ctx = rv_start("gdpr-request", usage_str, &argc, &argv);

	if (argc < 1)
		rv_usage(ctx);
	if (strcmp(argv[0], "open") == 0)
		return req_open(ctx, argc, argv);
	if (strcmp(argv[0], "extend") == 0)
		return req_extend(ctx, argc, argv);
	if (strcmp(argv[0], "close") == 0)
		return req_close(ctx, argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return req_list(ctx, argc, argv);
	if (strcmp(argv[0], "show") == 0)
		return req_show(ctx, argc, argv);
	if (strcmp(argv[0], "check") == 0)
		return req_check(ctx, argc, argv);
	rv_bad_verb(ctx, argv[0]);
}
