/* book.c — add, move, cancel and list appointments; free slots; blocks. */
#include <string.h>

#include "cli.h"
#include "fiscal.h"
#include "banned.h"

static const char usage_str[] =
    "usage: book add --client C --service S [--staff P] --at TIME "
    "[--notes T]\n"
    "       book move ID --at TIME [--staff P] [--reason T]\n"
    "       book cancel ID [--reason T]\n"
    "       book done ID [--paid EUR --method cash|card|transfer "
    "[--tax-code CF]]\n"
    "       book receipt NUMBER\n"
    "       book receipts [--year YYYY] [--client C] [--from T] [--to T]\n"
    "       book show ID\n"
    "       book list [--from T] [--to T] [--before T] [--date DATE]\n"
    "                 [--client C] [--staff P] [--status S]\n"
    "       book slots --service S [--staff P] --date DATE [--days N]\n"
    "       book block --staff P --from T --to T [--title T]\n"
    "       book unblock ID\n"
    "       book blocks [--staff P] [--from T] [--to T]\n";

enum { O_CLIENT = 0x200, O_SERVICE, O_STAFF, O_AT, O_NOTES, O_REASON,
	O_FROM, O_TO, O_BEFORE, O_DATE, O_STATUS, O_DAYS, O_TITLE,
	O_PAID, O_METHOD, O_TAX_CODE, O_YEAR };

static void
print_appt(struct rv_ctx *ctx, int64_t id)
{
	json_t *rec;

	rv_check(ctx, appt_get(rv_db(ctx), id, &rec, &ctx->err));
	/* An operator sees only their own agenda (when roles are on). */
	if (rv_own_staff(ctx) != 0) {
		int64_t staff = json_integer_value(json_object_get(rec,
		    "staff_id"));

		json_decref(rec);
		rv_need_own_staff(ctx, staff);
		rv_check(ctx, appt_get(rv_db(ctx), id, &rec, &ctx->err));
	}
	rv_out_begin(ctx, appt_cols, 1);
	rv_emit(ctx, rec);
}

static int
book_add(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "client", required_argument, NULL, O_CLIENT },
		{ "service", required_argument, NULL, O_SERVICE },
		{ "staff", required_argument, NULL, O_STAFF },
		{ "at", required_argument, NULL, O_AT },
		{ "notes", required_argument, NULL, O_NOTES },
		{ NULL, 0, NULL, 0 },
	};
	const char *client = NULL, *service = NULL, *staff = NULL, *at = NULL;
	struct appt_req r = { 0 };
	int64_t id;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_CLIENT: client = optarg; break;
		case O_SERVICE: service = optarg; break;
		case O_STAFF: staff = optarg; break;
		case O_AT: at = optarg; break;
		case O_NOTES: r.notes = rv_text(ctx, "notes", optarg, 2000); break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc || client == NULL || service == NULL || at == NULL)
		rv_usage(ctx);
	r.start = rv_time(ctx, at);
	/* Check and insert in one write transaction: no other process can
	 * book the same operator between the two. */
	rv_begin(ctx);
	r.client_id = rv_client(ctx, client);
	r.service_id = rv_service(ctx, service);
	if (staff != NULL)
		r.staff_id = rv_staff(ctx, staff);
	rv_check(ctx, appt_book(rv_db(ctx), &ctx->who, &r, &id, &ctx->err));
	rv_commit(ctx);
	print_appt(ctx, id);
	return rv_finish(ctx);
}

static int
book_move(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, O_AT },
		{ "staff", required_argument, NULL, O_STAFF },
		{ "reason", required_argument, NULL, O_REASON },
		{ NULL, 0, NULL, 0 },
	};
	const char *staff = NULL, *at = NULL;
	struct appt_req r = { 0 };
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_AT: at = optarg; break;
		case O_STAFF: staff = optarg; break;
		case O_REASON:
			rv_reason(ctx, optarg);
			break;
		default: rv_usage(ctx);
		}
	}
	if (argc - optind != 1 || at == NULL)
		rv_usage(ctx);
	r.id = rv_id(ctx, "appointment", argv[optind]);
	r.start = rv_time(ctx, at);
	rv_begin(ctx);
	if (staff != NULL)
		r.staff_id = rv_staff(ctx, staff);
	rv_check(ctx, appt_move(rv_db(ctx), &ctx->who, &r, &ctx->err));
	rv_commit(ctx);
	if (r.unchanged)
		rv_warn(ctx, "appointment %lld: nothing changed",
		    (long long)r.id);
	print_appt(ctx, r.id);
	return rv_finish(ctx);
}

static int
book_cancel(struct rv_ctx *ctx, int argc, char **argv)
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
	if (argc - optind != 1)
		rv_usage(ctx);
	id = rv_id(ctx, "appointment", argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, appt_cancel(rv_db(ctx), &ctx->who, id, &ctx->err));
	rv_commit(ctx);
	print_appt(ctx, id);
	return rv_finish(ctx);
}

static int
book_show(struct rv_ctx *ctx, int argc, char **argv)
{
	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	print_appt(ctx, rv_id(ctx, "appointment", argv[optind]));
	return rv_finish(ctx);
}

static int
book_ls(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "before", required_argument, NULL, O_BEFORE },
		{ "date", required_argument, NULL, O_DATE },
		{ "client", required_argument, NULL, O_CLIENT },
		{ "staff", required_argument, NULL, O_STAFF },
		{ "status", required_argument, NULL, O_STATUS },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const statuses[] = { "booked", "done", "cancelled",
		"needs_review", NULL };
	const char *from = NULL, *to = NULL, *before = NULL, *date = NULL;
	const char *client = NULL, *staff = NULL;
	struct appt_filter f = { 0 };
	int opt, i;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_FROM: from = optarg; break;
		case O_TO: to = optarg; break;
		case O_BEFORE: before = optarg; break;
		case O_DATE: date = optarg; break;
		case O_CLIENT: client = optarg; break;
		case O_STAFF: staff = optarg; break;
		case O_STATUS: f.status = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	if (date != NULL && (from != NULL || to != NULL || before != NULL))
		rv_die(ctx, EX_USAGE, "--date cannot go with --from, --to or "
		    "--before");
	if (to != NULL && before != NULL)
		rv_die(ctx, EX_USAGE, "--to and --before are the same bound: "
		    "give one");
	if (f.status != NULL) {
		for (i = 0; statuses[i] && strcmp(statuses[i], f.status); i++)
			;
		if (statuses[i] == NULL)
			rv_die(ctx, EX_USAGE, "bad status '%s': booked, done, "
			    "cancelled or needs_review", f.status);
	}
	if (date != NULL) {
		if (strlen(date) != 10)
			rv_die(ctx, EX_USAGE, "--date takes a date: YYYY-MM-DD");
		f.from = rv_bound(ctx, date, 0);
		f.to = rv_bound(ctx, date, 1);
	}
	rv_range(ctx, from, to, &f.from, &f.to);
	if (before != NULL)
		f.to = rv_bound(ctx, before, 0);
	if (before != NULL && from != NULL && f.to <= f.from)
		rv_die(ctx, EX_DATAERR, "--before %s is not after --from %s",
		    before, from);
	if (client != NULL)
		f.client_id = rv_client(ctx, client);
	if (staff != NULL)
		rv_need_own_staff(ctx, f.staff_id = rv_staff(ctx, staff));
	if (rv_own_staff(ctx) != 0)
		f.staff_id = rv_own_staff(ctx);
	rv_out_begin(ctx, appt_cols, 0);
	rv_check(ctx, appt_list(rv_db(ctx), &f, rv_emit_cb, ctx, &ctx->err));
	return rv_finish_list(ctx);
}

static int
book_slots(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "service", required_argument, NULL, O_SERVICE },
		{ "staff", required_argument, NULL, O_STAFF },
		{ "date", required_argument, NULL, O_DATE },
		{ "days", required_argument, NULL, O_DAYS },
		{ NULL, 0, NULL, 0 },
	};
	const char *service = NULL, *staff = NULL, *date = NULL;
	struct slot_req r = { 0 };
	long days = 1;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_SERVICE: service = optarg; break;
		case O_STAFF: staff = optarg; break;
		case O_DATE: date = optarg; break;
		case O_DAYS:
			if (!parse_int(optarg, 1, 62, &days))
				rv_die(ctx, EX_USAGE,
				    "bad --days '%s': 1 to 62", optarg);
			break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc || service == NULL || date == NULL)
		rv_usage(ctx);
	rv_check(ctx, tm_parse_date(date, &r.y, &r.m, &r.d, &ctx->err));
	rv_check(ctx, conf_duration(ctx->conf, "booking.slot_step", &r.step,
	    &ctx->err));
	if (r.step % 60 != 0 || r.step > 86400)
		rv_die(ctx, EX_CONFIG, "config booking.slot_step: whole "
		    "minutes, at most a day");
	r.days = (int)days;
	r.now = ctx->who.now;
	r.service_id = rv_service(ctx, service);
	if (staff != NULL)
		r.staff_id = rv_staff(ctx, staff);
	rv_out_begin(ctx, slot_cols, 0);
	rv_check(ctx, appt_slots(rv_db(ctx), &r, rv_emit_cb, ctx, &ctx->err));
	return rv_finish_list(ctx);
}

static int
warn_appt(json_t *rec, void *arg)
{
	struct rv_ctx *ctx = arg;
	const char *start = json_string_value(json_object_get(rec, "start"));

	rv_warn(ctx, "appointment %lld at %.10s %.5s is inside this block: "
	    "move or cancel it", (long long)json_integer_value(
	    json_object_get(rec, "id")), start, start + 11);
	json_decref(rec);
	return 0;
}

static int
book_block(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "staff", required_argument, NULL, O_STAFF },
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "title", required_argument, NULL, O_TITLE },
		{ NULL, 0, NULL, 0 },
	};
	const char *staff = NULL, *from = NULL, *to = NULL, *title = NULL;
	int64_t staff_id, start, end, id;
	json_t *rec;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_STAFF: staff = optarg; break;
		case O_FROM: from = optarg; break;
		case O_TO: to = optarg; break;
		case O_TITLE: title = rv_text(ctx, "title", optarg, 200); break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc || staff == NULL || from == NULL || to == NULL)
		rv_usage(ctx);
	rv_range(ctx, from, to, &start, &end);
	staff_id = rv_staff(ctx, staff);
	rv_begin(ctx);
	rv_check(ctx, block_add(rv_db(ctx), &ctx->who, staff_id, start, end,
	    title, &id, &ctx->err));
	rv_check(ctx, appt_overlapping(rv_db(ctx), staff_id, start, end, 1,
	    warn_appt, ctx, &ctx->err));
	rv_commit(ctx);
	rv_check(ctx, event_get(rv_db(ctx), id, &rec, &ctx->err));
	rv_out_begin(ctx, event_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

static int
book_unblock(struct rv_ctx *ctx, int argc, char **argv)
{
	json_t *rec;
	int64_t id;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	id = rv_id(ctx, "block", argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, event_get(rv_db(ctx), id, &rec, &ctx->err));
	rv_check(ctx, block_remove(rv_db(ctx), &ctx->who, id, &ctx->err));
	rv_commit(ctx);
	rv_out_begin(ctx, event_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

static int
book_blocks(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "staff", required_argument, NULL, O_STAFF },
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ NULL, 0, NULL, 0 },
	};
	const char *staff = NULL, *from = NULL, *to = NULL;
	int64_t staff_id = 0, start, end = 0;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_STAFF: staff = optarg; break;
		case O_FROM: from = optarg; break;
		case O_TO: to = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	/* By default, what is still ahead. */
	start = ctx->who.now;
	rv_range(ctx, from, to, &start, &end);
	if (staff != NULL)
		rv_need_own_staff(ctx, staff_id = rv_staff(ctx, staff));
	if (rv_own_staff(ctx) != 0)
		staff_id = rv_own_staff(ctx);
	rv_out_begin(ctx, event_cols, 0);
	rv_check(ctx, event_list(rv_db(ctx), staff_id, start, end, rv_emit_cb,
	    ctx, &ctx->err));
	return rv_finish_list(ctx);
}

/* Carried out, and when paid, its receipt (lib/fiscal.c). */
static int
book_done(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "paid", required_argument, NULL, O_PAID },
		{ "method", required_argument, NULL, O_METHOD },
		{ "tax-code", required_argument, NULL, O_TAX_CODE },
		{ NULL, 0, NULL, 0 },
	};
	struct fiscal_req r = { 0 };
	const char *paid = NULL;
	char cf[17];
	json_t *rec, *fr;
	int64_t fid;
	long years;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_PAID: paid = optarg; break;
		case O_METHOD: r.method = optarg; break;
		case O_TAX_CODE: r.tax_code = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (argc - optind != 1)
		rv_usage(ctx);
	if (paid == NULL && (r.method != NULL || r.tax_code != NULL))
		rv_die(ctx, EX_USAGE, "--method and --tax-code go with --paid");
	if (paid != NULL && r.method == NULL)
		rv_die(ctx, EX_USAGE, "--paid needs --method cash, card or "
		    "transfer");
	if (r.method != NULL && strcmp(r.method, "cash") != 0 &&
	    strcmp(r.method, "card") != 0 && strcmp(r.method, "transfer") != 0)
		rv_die(ctx, EX_USAGE, "bad method '%s': cash, card or transfer",
		    r.method);
	r.appointment_id = rv_id(ctx, "appointment", argv[optind]);
	if (paid != NULL) {
		rv_check(ctx, parse_money(paid, &r.amount, &ctx->err));
		if (r.amount == 0)
			rv_die(ctx, EX_DATAERR, "--paid 0: nothing was paid, "
			    "so no receipt; leave --paid out");
		rv_check(ctx, conf_int(ctx->conf, "retention.fiscal_years",
		    FISCAL_MIN_YEARS, 100, &years, &ctx->err));
		r.hold_years = (int)years;
	}
	if (r.tax_code != NULL) {
		rv_check(ctx, check_tax_code(r.tax_code, cf, &ctx->err));
		r.tax_code = cf;
	}
	rv_begin(ctx);
	rv_check(ctx, appt_done(rv_db(ctx), &ctx->who, &r, &fid, &ctx->err));
	rv_commit(ctx);
	rv_check(ctx, appt_get(rv_db(ctx), r.appointment_id, &rec,
	    &ctx->err));
	json_object_set_new(rec, "receipt", json_null());
	if (fid != 0) {
		rv_check(ctx, fiscal_get(rv_db(ctx), fid, &fr, &ctx->err));
		json_object_set(rec, "receipt", json_object_get(fr, "number"));
		json_decref(fr);
	}
	rv_out_begin(ctx, appt_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

static int
book_receipt(struct rv_ctx *ctx, int argc, char **argv)
{
	json_t *rec;
	int64_t id;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	rv_check(ctx, fiscal_find(rv_db(ctx), argv[optind], &id, &ctx->err));
	rv_check(ctx, fiscal_get(rv_db(ctx), id, &rec, &ctx->err));
	rv_out_begin(ctx, fiscal_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

static int
book_receipts(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "year", required_argument, NULL, O_YEAR },
		{ "client", required_argument, NULL, O_CLIENT },
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ NULL, 0, NULL, 0 },
	};
	const char *client = NULL, *from = NULL, *to = NULL;
	struct fiscal_filter f = { 0 };
	long year;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_YEAR:
			if (!parse_int(optarg, 1900, 9999, &year))
				rv_die(ctx, EX_USAGE, "bad --year '%s'",
				    optarg);
			f.year = (int)year;
			break;
		case O_CLIENT: client = optarg; break;
		case O_FROM: from = optarg; break;
		case O_TO: to = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc)
		rv_usage(ctx);
	rv_range(ctx, from, to, &f.from, &f.to);
	if (client != NULL)
		f.client_id = rv_client(ctx, client);
	rv_out_begin(ctx, fiscal_cols, 0);
	rv_check(ctx, fiscal_list(rv_db(ctx), &f, rv_emit_cb, ctx, &ctx->err));
	return rv_finish_list(ctx);
}

int
main(int argc, char *argv[])
{
	struct rv_ctx *ctx = rv_start("book", usage_str, &argc, &argv);

	if (argc < 1)
		rv_usage(ctx);
	if (strcmp(argv[0], "add") == 0)
		return book_add(ctx, argc, argv);
	if (strcmp(argv[0], "move") == 0)
		return book_move(ctx, argc, argv);
	if (strcmp(argv[0], "cancel") == 0)
		return book_cancel(ctx, argc, argv);
	if (strcmp(argv[0], "show") == 0)
		return book_show(ctx, argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return book_ls(ctx, argc, argv);
	if (strcmp(argv[0], "slots") == 0)
		return book_slots(ctx, argc, argv);
	if (strcmp(argv[0], "block") == 0)
		return book_block(ctx, argc, argv);
	if (strcmp(argv[0], "unblock") == 0)
		return book_unblock(ctx, argc, argv);
	if (strcmp(argv[0], "blocks") == 0)
		return book_blocks(ctx, argc, argv);
	if (strcmp(argv[0], "done") == 0)
		return book_done(ctx, argc, argv);
	if (strcmp(argv[0], "receipt") == 0)
		return book_receipt(ctx, argc, argv);
	if (strcmp(argv[0], "receipts") == 0)
		return book_receipts(ctx, argc, argv);
	rv_bad_verb(ctx, argv[0]);
}
