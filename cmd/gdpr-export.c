/* gdpr-export.c — a copy of a client's data (GDPR art. 15), or the
 * portable part of it (art. 20), as JSON or as CSV files. */
#include <string.h>

#include "cli.h"
#include "export.h"
#include "health.h"
#include "banned.h"

static const char usage_str[] =
    "usage: gdpr-export --reason TEXT [--portable] [--output DIR] [C ...]\n"
    "       gdpr-export --reason TEXT --format csv --output DIR [C ...]\n";

enum { O_REASON = 0x200, O_PORTABLE, O_OUTPUT };

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, O_REASON },
		{ "portable", no_argument, NULL, O_PORTABLE },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ NULL, 0, NULL, 0 },
	};
	/* No verbs: every option is parsed here, anywhere on the line. */
	int none = 1;
	char **rest = argv;
	struct rv_ctx *ctx = rv_start("gdpr-export", usage_str, &none, &rest);
	struct rv_ids ids = { 0 };
	const char *dir = NULL;
	int opt, portable = 0, csv, health, rc;
	json_t *doc;
	size_t i;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_REASON:
			rv_reason(ctx, optarg);
			break;
		case O_PORTABLE: portable = 1; break;
		case O_OUTPUT:
			if (*optarg == '\0')
				rv_die(ctx, EX_USAGE, "--output needs a "
				    "directory");
			dir = optarg;
			break;
		default: rv_usage(ctx);
		}
	}
	csv = ctx->fmt == RV_FMT_CSV;
	if (csv && dir == NULL)
		rv_die(ctx, EX_USAGE, "--format csv writes one file per "
		    "section: give --output DIR");
	if (ctx->who.reason == NULL)
		rv_die(ctx, EX_USAGE, "--reason is required: why the data is "
		    "exported (the request it answers); it goes on the audit "
		    "trail");
	rv_client_ids(ctx, argc - optind, argv + optind, &ids);
	for (i = 0; i < ids.n; i++) {
		/* Health data goes out only to whom may read it (77). */
		rv_check(ctx, health_exists(rv_db(ctx), ids.v[i], &health,
		    &ctx->err));
		if (health)
			rv_need_health(ctx, ids.v[i]);
		/* Each export is on the record before it leaves. */
		rv_begin(ctx);
		rv_check(ctx, export_client(rv_db(ctx), &ctx->who, ctx->conf,
		    ids.v[i], portable, &doc, &ctx->err));
		rv_commit(ctx);
		if (dir != NULL) {
			rc = export_write(doc, dir, csv, &ctx->err);
			json_decref(doc);
			rv_check(ctx, rc);
		} else if (ctx->fmt == RV_FMT_TABLE) {
			/* A document does not fit a table: indented JSON. */
			json_dumpf(doc, stdout, JSON_INDENT(2) |
			    JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
			json_decref(doc);
		} else {
			rv_emit(ctx, doc);
		}
	}
	ids_free(&ids);
	return rv_finish(ctx);
}
