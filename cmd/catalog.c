/* catalog.c — the services a centre offers: add, list, edit, retire. */
#include <string.h>

#include "cli.h"
#include "banned.h"

static const char usage_str[] =
    "usage: catalog add --name NAME --duration MIN [--buffer MIN] "
    "[--price EUR]\n"
    "       catalog list [--all]\n"
    "       catalog show SERVICE\n"
    "       catalog edit SERVICE [--name NAME] [--duration MIN] "
    "[--buffer MIN]\n"
    "                            [--price EUR]\n"
    "       catalog retire SERVICE\n"
    "       catalog unretire SERVICE\n"
    "       catalog complete [PREFIX]\n";

enum { O_NAME = 0x200, O_DURATION, O_BUFFER, O_PRICE, O_ALL };

static const struct option field_opts[] = {
	{ "name", required_argument, NULL, O_NAME },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "buffer", required_argument, NULL, O_BUFFER },
	{ "price", required_argument, NULL, O_PRICE },
	{ NULL, 0, NULL, 0 },
};

struct fields {
	const char *name;
	long duration, buffer;
	int64_t price;
};

static void
parse_fields(struct rv_ctx *ctx, int argc, char **argv, struct fields *f)
{
	int opt;

	f->name = NULL;
	f->duration = f->buffer = -1;
	f->price = -1;
	while ((opt = rv_getopt(ctx, argc, argv, "", field_opts)) != -1) {
		switch (opt) {
		case O_NAME:
			f->name = optarg;
			break;
		case O_DURATION:
			if (!parse_int(optarg, 1, 720, &f->duration))
				rv_die(ctx, EX_USAGE, "bad duration '%s': "
				    "minutes, 1 to 720", optarg);
			break;
		case O_BUFFER:
			if (!parse_int(optarg, 0, 240, &f->buffer))
				rv_die(ctx, EX_USAGE, "bad buffer '%s': "
				    "minutes, 0 to 240", optarg);
			break;
		case O_PRICE:
			rv_check(ctx, parse_money(optarg, &f->price,
			    &ctx->err));
			break;
		default:
			rv_usage(ctx);
		}
	}
}

static void
print_service(struct rv_ctx *ctx, int64_t id)
{
	json_t *rec;

	rv_check(ctx, service_get(rv_db(ctx), id, &rec, &ctx->err));
	rv_out_begin(ctx, service_cols, 1);
	rv_emit(ctx, rec);
}

static int
catalog_add(struct rv_ctx *ctx, int argc, char **argv)
{
	struct fields f;
	int64_t id;

	parse_fields(ctx, argc, argv, &f);
	if (optind != argc || f.name == NULL || f.duration < 0)
		rv_usage(ctx);
	rv_begin(ctx);
	rv_check(ctx, service_insert(rv_db(ctx), &ctx->who, f.name, f.duration,
	    f.buffer < 0 ? 0 : f.buffer, f.price, &id, &ctx->err));
	rv_commit(ctx);
	print_service(ctx, id);
	return rv_finish(ctx);
}

static int
catalog_ls(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, O_ALL },
		{ NULL, 0, NULL, 0 },
	};
	int all = 0, opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		if (opt != O_ALL)
			rv_usage(ctx);
		all = 1;
	}
	if (optind != argc)
		rv_usage(ctx);
	rv_out_begin(ctx, service_cols, 0);
	rv_check(ctx, service_list(rv_db(ctx), all, rv_emit_cb, ctx,
	    &ctx->err));
	return rv_finish_list(ctx);
}

static int
catalog_show(struct rv_ctx *ctx, int argc, char **argv)
{
	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	print_service(ctx, rv_service(ctx, argv[optind]));
	return rv_finish(ctx);
}

static int
catalog_edit(struct rv_ctx *ctx, int argc, char **argv)
{
	struct fields f;
	int64_t id;

	parse_fields(ctx, argc, argv, &f);
	if (argc - optind != 1)
		rv_usage(ctx);
	if (f.name == NULL && f.duration < 0 && f.buffer < 0 && f.price < 0)
		rv_die(ctx, EX_USAGE, "edit needs at least one field to change");
	id = rv_service(ctx, argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, service_update(rv_db(ctx), &ctx->who, id, f.name,
	    f.duration, f.buffer, f.price, -1, &ctx->err));
	rv_commit(ctx);
	print_service(ctx, id);
	return rv_finish(ctx);
}

/* retire and unretire: a retired service keeps its history. */
static int
catalog_retire(struct rv_ctx *ctx, int argc, char **argv, int retired)
{
	int64_t id;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	id = rv_service(ctx, argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, service_update(rv_db(ctx), &ctx->who, id, NULL, -1, -1,
	    -1, retired, &ctx->err));
	rv_commit(ctx);
	print_service(ctx, id);
	return rv_finish(ctx);
}

int
main(int argc, char *argv[])
{
	struct rv_ctx *ctx = rv_start("catalog", usage_str, &argc, &argv);

	if (argc < 1)
		rv_usage(ctx);
	if (strcmp(argv[0], "add") == 0)
		return catalog_add(ctx, argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return catalog_ls(ctx, argc, argv);
	if (strcmp(argv[0], "show") == 0)
		return catalog_show(ctx, argc, argv);
	if (strcmp(argv[0], "edit") == 0)
		return catalog_edit(ctx, argc, argv);
	if (strcmp(argv[0], "retire") == 0)
		return catalog_retire(ctx, argc, argv, 1);
	if (strcmp(argv[0], "unretire") == 0)
		return catalog_retire(ctx, argc, argv, 0);
	if (strcmp(argv[0], "complete") == 0)
		return rv_complete(ctx, "service", argc, argv);
	rv_bad_verb(ctx, argv[0]);
}
