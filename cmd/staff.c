/* staff.c — staff members, their weekly hours, leave and services. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "auth.h"
#include "banned.h"

static const char usage_str[] =
    "usage: staff add --name N --email E [--role admin|reception|operator]\n"
    "       staff list\n"
    "       staff show STAFF\n"
    "       staff edit STAFF [--name N] [--email E] [--role R]\n"
    "                        [--active | --inactive]\n"
    "       staff hours STAFF [DAYS RANGE... | DAYS off]\n"
    "       staff off STAFF --from DATE --to DATE [--reason T]\n"
    "       staff leave [STAFF] [--all]\n"
    "       staff unoff ID\n"
    "       staff services STAFF [SERVICE...]\n"
    "       staff passwd STAFF\n"
    "       staff login [EMAIL]\n"
    "       staff logout\n"
    "       staff whoami\n"
    "       staff complete [PREFIX]\n";

enum { O_NAME = 0x200, O_EMAIL, O_ROLE, O_ACTIVE, O_INACTIVE, O_FROM, O_TO,
	O_REASON, O_ALL };

static void
print_staff(struct rv_ctx *ctx, int64_t id)
{
	json_t *rec;

	rv_check(ctx, staff_get(rv_db(ctx), id, &rec, &ctx->err));
	rv_out_begin(ctx, staff_cols, 1);
	rv_emit(ctx, rec);
}

static int
staff_add(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, O_NAME },
		{ "email", required_argument, NULL, O_EMAIL },
		{ "role", required_argument, NULL, O_ROLE },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *email = NULL, *role = NULL;
	int64_t id;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_NAME: name = optarg; break;
		case O_EMAIL: email = optarg; break;
		case O_ROLE: role = optarg; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc || name == NULL || email == NULL)
		rv_usage(ctx);
	rv_begin(ctx);
	rv_check(ctx, staff_insert(rv_db(ctx), &ctx->who, name, email, role,
	    &id, &ctx->err));
	rv_commit(ctx);
	print_staff(ctx, id);
	return rv_finish(ctx);
}

static int
staff_ls(struct rv_ctx *ctx, int argc, char **argv)
{
	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (optind != argc)
		rv_usage(ctx);
	rv_out_begin(ctx, staff_cols, 0);
	rv_check(ctx, staff_list(rv_db(ctx), rv_emit_cb, ctx, &ctx->err));
	return rv_finish_list(ctx);
}

static int
staff_show(struct rv_ctx *ctx, int argc, char **argv)
{
	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	print_staff(ctx, rv_staff(ctx, argv[optind]));
	return rv_finish(ctx);
}

static int
warn_stranded(int64_t id, int64_t start, const char *why, void *arg)
{
	char when[40];

	tm_local(start, when);
	rv_warn(arg, "appointment %lld at %s is outside the new terms: %s: "
	    "move or cancel it", (long long)id, when, why);
	return 0;
}

/* Bookings ahead that a change of hours, services or status leaves
 * standing where the operator can no longer take them: said, not undone. */
static void
check_stranded(struct rv_ctx *ctx, int64_t staff)
{
	rv_check(ctx, appt_stranded(rv_db(ctx), staff, ctx->who.now,
	    warn_stranded, ctx, &ctx->err));
}

static int
staff_edit(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, O_NAME },
		{ "email", required_argument, NULL, O_EMAIL },
		{ "role", required_argument, NULL, O_ROLE },
		{ "active", no_argument, NULL, O_ACTIVE },
		{ "inactive", no_argument, NULL, O_INACTIVE },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *email = NULL, *role = NULL;
	int active = -1, opt;
	int64_t id;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_NAME: name = optarg; break;
		case O_EMAIL: email = optarg; break;
		case O_ROLE: role = optarg; break;
		case O_ACTIVE: active = 1; break;
		case O_INACTIVE: active = 0; break;
		default: rv_usage(ctx);
		}
	}
	if (argc - optind != 1)
		rv_usage(ctx);
	if (!name && !email && !role && active < 0)
		rv_die(ctx, EX_USAGE, "edit needs at least one field to change");
	id = rv_staff(ctx, argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, staff_update(rv_db(ctx), &ctx->who, id, name, email,
	    role, active, &ctx->err));
	if (active == 0)
		check_stranded(ctx, id);
	rv_commit(ctx);
	print_staff(ctx, id);
	return rv_finish(ctx);
}

static int
range_order(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* staff hours STAFF DAYS RANGE...: replaces those days' hours. */
static int
staff_hours(struct rv_ctx *ctx, int argc, char **argv)
{
	int mask, n = 0, i, *r;
	int64_t id;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	argc -= optind;
	argv += optind;
	if (argc < 1)
		rv_usage(ctx);
	id = rv_staff(ctx, argv[0]);
	if (argc == 1) {
		rv_out_begin(ctx, hours_cols, 0);
		rv_check(ctx, hours_list(rv_db(ctx), id, rv_emit_cb, ctx,
		    &ctx->err));
		return rv_finish(ctx);
	}
	if (argc < 3)
		rv_die(ctx, EX_USAGE, "hours needs DAYS and a range like "
		    "09:00-13:00, or 'off'");
	rv_check(ctx, parse_days(argv[1], &mask, &ctx->err));
	r = xcalloc((size_t)(argc - 2) * 2, sizeof(*r));
	if (!(argc == 3 && strcmp(argv[2], "off") == 0)) {
		for (i = 2; i < argc; i++, n++) {
			char a[8], b[8];
			const char *dash = strchr(argv[i], '-');

			if (dash == NULL || dash - argv[i] >= 8 ||
			    strlen(dash + 1) >= 8)
				goto bad;
			snprintf(a, sizeof(a), "%.*s", (int)(dash - argv[i]),
			    argv[i]);
			snprintf(b, sizeof(b), "%s", dash + 1);
			if (!tm_parse_hhmm(a, &r[2 * n]) ||
			    !tm_parse_hhmm(b, &r[2 * n + 1]) ||
			    r[2 * n] >= r[2 * n + 1])
				goto bad;
		}
		qsort(r, (size_t)n, 2 * sizeof(*r), range_order);
		/* Touching ranges merge; overlapping ones are a mistake. */
		for (i = 1; i < n; i++) {
			if (r[2 * i] < r[2 * i - 1]) {
				free(r);
				rv_die(ctx, EX_USAGE, "ranges overlap");
			}
			if (r[2 * i] == r[2 * i - 1]) {
				r[2 * i - 1] = r[2 * i + 1];
				memmove(&r[2 * i], &r[2 * i + 2],
				    (size_t)(n - i - 1) * 2 * sizeof(*r));
				n--;
				i--;
			}
		}
	}
	rv_begin(ctx);
	i = hours_set(rv_db(ctx), &ctx->who, id, mask, r, n, &ctx->err);
	free(r);
	rv_check(ctx, i);
	check_stranded(ctx, id);
	rv_commit(ctx);
	rv_out_begin(ctx, hours_cols, 0);
	rv_check(ctx, hours_list(rv_db(ctx), id, rv_emit_cb, ctx, &ctx->err));
	return rv_finish(ctx);
bad:
	free(r);
	rv_die(ctx, EX_USAGE, "bad range '%s': like 09:00-13:00", argv[i]);
}

static int
warn_appt(json_t *rec, void *arg)
{
	struct rv_ctx *ctx = arg;

	rv_warn(ctx, "appointment %lld at %.10s %.5s falls in this leave: "
	    "move or cancel it", (long long)json_integer_value(
	    json_object_get(rec, "id")), json_string_value(json_object_get(rec,
	    "start")), json_string_value(json_object_get(rec, "start")) + 11);
	json_decref(rec);
	return 0;
}

static int
staff_off(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "reason", required_argument, NULL, O_REASON },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = NULL, *to = NULL, *reason = NULL;
	int64_t id, staff, start, end;
	json_t *rec;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_FROM: from = optarg; break;
		case O_TO: to = optarg; break;
		case O_REASON: reason = rv_text(ctx, "reason", optarg, 200); break;
		default: rv_usage(ctx);
		}
	}
	if (argc - optind != 1 || from == NULL || to == NULL)
		rv_usage(ctx);
	staff = rv_staff(ctx, argv[optind]);
	/* Dates are whole days: --to 2026-12-26 includes the 26th. */
	rv_range(ctx, from, to, &start, &end);
	rv_begin(ctx);
	rv_check(ctx, leave_add(rv_db(ctx), &ctx->who, staff, start, end,
	    reason, &id, &ctx->err));
	rv_check(ctx, appt_overlapping(rv_db(ctx), staff, start, end, 0,
	    warn_appt, ctx, &ctx->err));
	rv_commit(ctx);
	rv_check(ctx, leave_get(rv_db(ctx), id, &rec, &ctx->err));
	rv_out_begin(ctx, leave_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

static int
staff_leave(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, O_ALL },
		{ NULL, 0, NULL, 0 },
	};
	int64_t staff = 0;
	int all = 0, opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		if (opt != O_ALL)
			rv_usage(ctx);
		all = 1;
	}
	if (argc - optind > 1)
		rv_usage(ctx);
	if (argc - optind == 1)
		staff = rv_staff(ctx, argv[optind]);
	rv_out_begin(ctx, leave_cols, 0);
	rv_check(ctx, leave_list(rv_db(ctx), staff, all ? INT64_MIN :
	    ctx->who.now, rv_emit_cb, ctx, &ctx->err));
	return rv_finish_list(ctx);
}

static int
staff_unoff(struct rv_ctx *ctx, int argc, char **argv)
{
	json_t *rec;
	int64_t id;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	id = rv_id(ctx, "leave", argv[optind]);
	rv_check(ctx, leave_get(rv_db(ctx), id, &rec, &ctx->err));
	rv_begin(ctx);
	rv_check(ctx, leave_remove(rv_db(ctx), &ctx->who, id, &ctx->err));
	rv_commit(ctx);
	rv_out_begin(ctx, leave_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

static int
staff_svc(struct rv_ctx *ctx, int argc, char **argv)
{
	struct rv_ids ids = { 0 };
	int64_t staff;
	json_t *rec;
	int i;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind < 1)
		rv_usage(ctx);
	staff = rv_staff(ctx, argv[optind]);
	if (argc - optind > 1) {
		for (i = optind + 1; i < argc; i++) {
			int64_t sid = rv_service(ctx, argv[i]);

			rv_check(ctx, service_get(rv_db(ctx), sid, &rec,
			    &ctx->err));
			if (!json_is_null(json_object_get(rec, "retired"))) {
				json_decref(rec);
				ids_free(&ids);
				rv_die(ctx, EX_REFUSED, "service '%s' is "
				    "retired", argv[i]);
			}
			json_decref(rec);
			ids_add(&ids, sid);
		}
		rv_begin(ctx);
		i = staff_services_set(rv_db(ctx), &ctx->who, staff, &ids,
		    &ctx->err);
		ids_free(&ids);
		rv_check(ctx, i);
		check_stranded(ctx, staff);
		rv_commit(ctx);
	}
	rv_out_begin(ctx, service_cols, 0);
	rv_check(ctx, staff_services(rv_db(ctx), staff, rv_emit_cb, ctx,
	    &ctx->err));
	return rv_finish(ctx);
}

static const struct rv_col session_cols[] = {
	{ "email", "EMAIL", 0 },
	{ "role", "ROLE", 0 },
	{ "started", "STARTED", RV_COL_TIME },
	{ "expires", "EXPIRES", RV_COL_TIME },
	{ NULL, NULL, 0 },
};

static void
no_args(struct rv_ctx *ctx, int argc, char **argv, int operands)
{
	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind > operands)
		rv_usage(ctx);
}

/* staff passwd STAFF: an admin sets anyone's; others, with checks on,
 * only their own and after typing the current one. */
static int
staff_passwd(struct rv_ctx *ctx, int argc, char **argv)
{
	struct auth_policy p;
	char *cur, *pass, *again;
	int64_t id;
	int ok, rc;

	no_args(ctx, argc, argv, 1);
	if (argc - optind != 1)
		rv_usage(ctx);
	id = rv_staff(ctx, argv[optind]);
	rv_check(ctx, auth_policy_load(ctx->conf, &p, &ctx->err));
	if (ctx->enforce && ctx->role != RV_ROLE_ADMIN) {
		if (id != ctx->staff_id)
			rv_need_role(ctx, RV_ROLE_ADMIN,
			    "set another staff member's password");
		cur = rv_read_line(ctx, "current password: ", 1);
		rc = auth_check_current(rv_db(ctx), &ctx->who, id, cur, &p,
		    &ctx->err);
		rv_free_secret(cur);
		rv_check(ctx, rc);
	}
	pass = rv_read_line(ctx, "new password: ", 1);
	if (isatty(STDIN_FILENO)) {
		again = rv_read_line(ctx, "new password again: ", 1);
		ok = strcmp(pass, again) == 0;
		rv_free_secret(again);
		if (!ok) {
			rv_free_secret(pass);
			rv_die(ctx, EX_DATAERR, "the two passwords differ");
		}
	}
	rc = auth_set_password(rv_db(ctx), &ctx->who, id, pass, &p, &ctx->err);
	rv_free_secret(pass);
	rv_check(ctx, rc);
	print_staff(ctx, id);
	return rv_finish(ctx);
}

static void
print_session(struct rv_ctx *ctx, int64_t id, int64_t staff_id,
    const char *email, const char *role, int64_t started, int64_t last_used)
{
	int64_t idle;
	json_t *r = rec_new("session", id);

	rv_check(ctx, conf_duration(ctx->conf, "security.session_idle", &idle,
	    &ctx->err));
	json_object_set_new(r, "staff_id", json_integer(staff_id));
	json_object_set_new(r, "email", json_string(email));
	json_object_set_new(r, "role", json_string(role));
	rec_time(r, "started", started);
	rec_time(r, "last_used", last_used);
	rec_time(r, "expires", last_used + idle);
	rv_out_begin(ctx, session_cols, 1);
	rv_emit(ctx, r);
}

/* staff login [EMAIL]: the password from the terminal, or the first line
 * of stdin (after the email when it is not an operand). */
static int
staff_login(struct rv_ctx *ctx, int argc, char **argv)
{
	char path[PATH_MAX], *email = NULL, *pass;
	struct auth_session s;
	struct auth_policy p;
	int rc;

	no_args(ctx, argc, argv, 1);
	rv_check(ctx, auth_policy_load(ctx->conf, &p, &ctx->err));
	rv_db(ctx);	/* the token is named for the database's file */
	rv_check(ctx, rv_token_path(ctx, path, sizeof(path)));
	email = argc > optind ? xstrdup(argv[optind]) :
	    rv_read_line(ctx, "email: ", 0);
	pass = rv_read_line(ctx, "password: ", 1);
	rc = auth_login(rv_db(ctx), &ctx->who, email, pass, &p, path, &s,
	    &ctx->err);
	rv_free_secret(pass);
	free(email);
	rv_check(ctx, rc);
	print_session(ctx, s.id, s.staff_id, s.email, s.role, s.started,
	    s.last_used);
	return rv_finish(ctx);
}

static int
staff_logout(struct rv_ctx *ctx, int argc, char **argv)
{
	char path[PATH_MAX];

	no_args(ctx, argc, argv, 0);
	rv_check(ctx, rv_token_path(ctx, path, sizeof(path)));
	rv_check(ctx, auth_logout(rv_db(ctx), &ctx->who, path, &ctx->err));
	return rv_finish(ctx);
}

static int
staff_whoami(struct rv_ctx *ctx, int argc, char **argv)
{
	static const char sql[] =
	    "SELECT id, started, last_used FROM session WHERE id = ?";
	sqlite3_stmt *st;
	int rc;

	no_args(ctx, argc, argv, 0);
	if (ctx->staff_id == 0)
		rv_die(ctx, EX_REFUSED, "not logged in; acting as '%s'",
		    ctx->who.actor);
	rv_check(ctx, db_prepare(rv_db(ctx), sql, &st, &ctx->err));
	sqlite3_bind_int64(st, 1, ctx->session_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		print_session(ctx, sqlite3_column_int64(st, 0), ctx->staff_id,
		    ctx->who.actor, rv_role_name(ctx->role),
		    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		rv_die(ctx, EX_REFUSED, "not logged in");
	return rv_finish(ctx);
}

int
main(int argc, char *argv[])
{
	struct rv_ctx *ctx = rv_start("staff", usage_str, &argc, &argv);

	if (argc < 1)
		rv_usage(ctx);
	if (strcmp(argv[0], "add") == 0)
		return staff_add(ctx, argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return staff_ls(ctx, argc, argv);
	if (strcmp(argv[0], "show") == 0)
		return staff_show(ctx, argc, argv);
	if (strcmp(argv[0], "edit") == 0)
		return staff_edit(ctx, argc, argv);
	if (strcmp(argv[0], "hours") == 0)
		return staff_hours(ctx, argc, argv);
	if (strcmp(argv[0], "off") == 0)
		return staff_off(ctx, argc, argv);
	if (strcmp(argv[0], "leave") == 0)
		return staff_leave(ctx, argc, argv);
	if (strcmp(argv[0], "unoff") == 0)
		return staff_unoff(ctx, argc, argv);
	if (strcmp(argv[0], "services") == 0)
		return staff_svc(ctx, argc, argv);
	if (strcmp(argv[0], "passwd") == 0)
		return staff_passwd(ctx, argc, argv);
	if (strcmp(argv[0], "login") == 0)
		return staff_login(ctx, argc, argv);
	if (strcmp(argv[0], "logout") == 0)
		return staff_logout(ctx, argc, argv);
	if (strcmp(argv[0], "whoami") == 0)
		return staff_whoami(ctx, argc, argv);
	if (strcmp(argv[0], "complete") == 0)
		return rv_complete(ctx, "staff", argc, argv);
	rv_bad_verb(ctx, argv[0]);
}
