/* gdpr-breach.c — the register of personal-data breaches and the 72-hour
 * clock of the notification to the supervisory authority. */
#include <string.h>

#include "cli.h"
#include "breach.h"
#include "banned.h"

static const char usage_str[] =
    "usage: gdpr-breach open --detected T --description TEXT\n"
    "                        [--categories LIST] [--subjects N]\n"
    "                        [--risk none|low|high] [--containment TEXT]\n"
    "                        [--consequences TEXT] [--measures TEXT]\n"
    "       gdpr-breach show ID\n"
    "       gdpr-breach link ID [C...]\n"
    "       gdpr-breach update ID [--detected T] [--description TEXT]\n"
    "                        [--categories LIST] [--subjects N] [--risk R]\n"
    "                        [--containment TEXT] [--consequences TEXT]\n"
    "                        [--measures TEXT]\n"
    "       gdpr-breach notify-authority ID --at T [--ref TEXT]\n"
    "                        [--late-reason TEXT]\n"
    "       gdpr-breach notify-subjects ID\n"
    "       gdpr-breach list [--open]\n"
    "       gdpr-breach check [--now T]\n";

enum { O_DETECTED = 0x200, O_DESCRIPTION, O_CATEGORIES, O_SUBJECTS, O_RISK,
	O_CONTAINMENT, O_CONSEQUENCES, O_MEASURES, O_AT, O_REF, O_LATE,
	O_OPEN, O_NOW };

static const struct option field_opts[] = {
	{ "detected", required_argument, NULL, O_DETECTED },
	{ "description", required_argument, NULL, O_DESCRIPTION },
	{ "categories", required_argument, NULL, O_CATEGORIES },
	{ "subjects", required_argument, NULL, O_SUBJECTS },
	{ "risk", required_argument, NULL, O_RISK },
	{ "containment", required_argument, NULL, O_CONTAINMENT },
	{ "consequences", required_argument, NULL, O_CONSEQUENCES },
	{ "measures", required_argument, NULL, O_MEASURES },
	{ NULL, 0, NULL, 0 },
};

/* The options open and update share; 0 when opt is not one. */
static int
field_option(struct rv_ctx *ctx, struct breach *b, int opt, const char *arg)
{
	switch (opt) {
	case O_DETECTED: b->detected = rv_time(ctx, arg); break;
	case O_DESCRIPTION: b->description = arg; break;
	case O_CATEGORIES: b->categories = arg; break;
	case O_SUBJECTS:
		if (!parse_int(arg, 0, 100000000, &b->subjects))
			rv_die(ctx, EX_USAGE, "bad --subjects '%s': a number",
			    arg);
		break;
	case O_RISK: b->risk = arg; break;
	case O_CONTAINMENT: b->containment = arg; break;
	case O_CONSEQUENCES: b->consequences = arg; break;
	case O_MEASURES: b->measures = arg; break;
	default: return 0;
	}
	return 1;
}

static void
print_breach(struct rv_ctx *ctx, int64_t id)
{
	json_t *rec;

	rv_check(ctx, breach_get(rv_db(ctx), id, ctx->who.now, &rec,
	    &ctx->err));
	rv_out_begin(ctx, breach_cols, 1);
	rv_emit(ctx, rec);
}

static int
breach_new(struct rv_ctx *ctx, int argc, char **argv)
{
	struct breach b = { .subjects = -1 };
	int64_t id;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", field_opts)) != -1)
		if (!field_option(ctx, &b, opt, optarg))
			rv_usage(ctx);
	if (optind != argc)
		rv_usage(ctx);
	if (b.detected == 0 || b.description == NULL)
		rv_die(ctx, EX_USAGE, "open needs --detected and --description");
	rv_begin(ctx);
	rv_check(ctx, breach_open(rv_db(ctx), &ctx->who, &b, &id, &ctx->err));
	rv_commit(ctx);
	print_breach(ctx, id);
	return rv_finish(ctx);
}

static int
breach_show(struct rv_ctx *ctx, int argc, char **argv)
{
	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	print_breach(ctx, rv_id(ctx, "breach", argv[optind]));
	return rv_finish(ctx);
}

static int
breach_tie(struct rv_ctx *ctx, int argc, char **argv)
{
	struct rv_ids ids = { 0 };
	size_t i, n = 0;
	json_t *rec;
	int64_t id;
	int added, rc = 0;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind < 1)
		rv_usage(ctx);
	id = rv_id(ctx, "breach", argv[optind]);
	rv_check(ctx, breach_get(rv_db(ctx), id, ctx->who.now, &rec,
	    &ctx->err));
	json_decref(rec);
	/* Clients as operands, or client records on stdin: all or none. */
	rv_client_ids(ctx, argc - optind - 1, argv + optind + 1, &ids);
	rv_begin(ctx);
	for (i = 0; i < ids.n && rc == 0; i++) {
		rc = breach_link(rv_db(ctx), &ctx->who, id, ids.v[i], &added,
		    &ctx->err);
		n += (size_t)added;
	}
	ids_free(&ids);
	rv_check(ctx, rc);
	rv_commit(ctx);
	rv_warn(ctx, "breach %lld: %zu client%s linked", (long long)id, n,
	    n == 1 ? "" : "s");
	print_breach(ctx, id);
	return rv_finish(ctx);
}

static int
breach_edit(struct rv_ctx *ctx, int argc, char **argv)
{
	struct breach b = { .subjects = -1 };
	int64_t id;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", field_opts)) != -1)
		if (!field_option(ctx, &b, opt, optarg))
			rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	id = rv_id(ctx, "breach", argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, breach_update(rv_db(ctx), &ctx->who, id, &b,
	    &ctx->err));
	rv_commit(ctx);
	print_breach(ctx, id);
	return rv_finish(ctx);
}

static int
breach_tell(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, O_AT },
		{ "ref", required_argument, NULL, O_REF },
		{ "late-reason", required_argument, NULL, O_LATE },
		{ NULL, 0, NULL, 0 },
	};
	const char *at = NULL, *ref = NULL, *late = NULL;
	int64_t id;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_AT: at = optarg; break;
		case O_REF: ref = optarg; break;
		case O_LATE: late = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (argc - optind != 1 || at == NULL)
		rv_usage(ctx);
	id = rv_id(ctx, "breach", argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, breach_notify_authority(rv_db(ctx), &ctx->who, id,
	    rv_time(ctx, at), ref, late, &ctx->err));
	rv_commit(ctx);
	print_breach(ctx, id);
	return rv_finish(ctx);
}

static int
breach_ls(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "open", no_argument, NULL, O_OPEN },
		{ NULL, 0, NULL, 0 },
	};
	int open = 0, opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		if (opt != O_OPEN)
			rv_usage(ctx);
		open = 1;
	}
	if (optind != argc)
		rv_usage(ctx);
	rv_out_begin(ctx, breach_cols, 0);
	rv_check(ctx, breach_list(rv_db(ctx), open, ctx->who.now, rv_emit_cb,
	    ctx, &ctx->err));
	return rv_finish_list(ctx);
}

/* Art. 34: the people touched are told through the outbox; notify(1)
 * sends it. */
static int
breach_tell_subjects(struct rv_ctx *ctx, int argc, char **argv)
{
	int64_t id;
	json_t *rec;
	int queued, already;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	id = rv_id(ctx, "breach", argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, breach_notify_subjects(rv_db(ctx), &ctx->who, id,
	    &queued, &already, &ctx->err));
	rv_commit(ctx);
	rv_warn(ctx, "breach %lld: %d notice%s queued, %d already had one; "
	    "notify sends them", (long long)id, queued, queued == 1 ? "" : "s",
	    already);
	rv_check(ctx, breach_get(rv_db(ctx), id, ctx->who.now, &rec,
	    &ctx->err));
	rv_out_begin(ctx, breach_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

struct overdue {
	struct rv_ctx *ctx;
	int n;
};

static int
check_one(json_t *rec, void *arg)
{
	struct overdue *o = arg;

	if (json_is_true(json_object_get(rec, "overdue"))) {
		const char *dl = json_string_value(json_object_get(rec,
		    "deadline"));

		o->n++;
		rv_warn(o->ctx, "breach %lld: the 72 hours to notify the "
		    "authority ran out at %.10s %.5s (art. 33(1))",
		    (long long)json_integer_value(json_object_get(rec, "id")),
		    dl, dl + 11);
	}
	rv_emit(o->ctx, rec);
	return 0;
}

/* For cron: exit 1 when a breach is past its 72 hours without the
 * authority notified; the others' hours left are printed. */
static int
breach_check(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "now", required_argument, NULL, O_NOW },
		{ NULL, 0, NULL, 0 },
	};
	struct overdue o = { ctx, 0 };
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		if (opt != O_NOW)
			rv_usage(ctx);
		ctx->who.now = rv_time(ctx, optarg);
	}
	if (optind != argc)
		rv_usage(ctx);
	rv_out_begin(ctx, breach_check_cols, 0);
	rv_check(ctx, breach_list(rv_db(ctx), 1, ctx->who.now, check_one, &o,
	    &ctx->err));
	rv_out_end(ctx);
	if (o.n > 0) {
		rv_finish(ctx);
		return EX_REFUSED;
	}
	return rv_finish(ctx);
}

int
main(int argc, char *argv[])
{
	struct rv_ctx *ctx = rv_start("gdpr-breach", usage_str, &argc, &argv);

	if (argc < 1)
		rv_usage(ctx);
	if (strcmp(argv[0], "open") == 0)
		return breach_new(ctx, argc, argv);
	if (strcmp(argv[0], "show") == 0)
		return breach_show(ctx, argc, argv);
	if (strcmp(argv[0], "link") == 0)
		return breach_tie(ctx, argc, argv);
	if (strcmp(argv[0], "update") == 0)
		return breach_edit(ctx, argc, argv);
	if (strcmp(argv[0], "notify-authority") == 0)
		return breach_tell(ctx, argc, argv);
	if (strcmp(argv[0], "notify-subjects") == 0)
		return breach_tell_subjects(ctx, argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return breach_ls(ctx, argc, argv);
	if (strcmp(argv[0], "check") == 0)
		return breach_check(ctx, argc, argv);
	rv_bad_verb(ctx, argv[0]);
}
