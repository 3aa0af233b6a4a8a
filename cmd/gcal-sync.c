/* gcal-sync.c — each operator's Google Calendar in two-way sync with the
 * bookings: connect, disconnect, status, and the sync cron runs. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gcal.h"
#include "banned.h"

static const char usage_str[] =
    "usage: gcal-sync [sync] [--pull-only | --push-only] [--full] "
    "[STAFF...]\n"
    "       gcal-sync connect STAFF [--calendar ID] [--port N] "
    "[--timeout T]\n"
    "                               [--no-browser]\n"
    "       gcal-sync disconnect STAFF [--purge-imported] [--remove-pushed]\n"
    "       gcal-sync status [STAFF...]\n"
    "       gcal-sync complete [PREFIX]\n";

enum { O_CALENDAR = 0x200, O_PORT, O_TIMEOUT, O_NO_BROWSER, O_PURGE,
	O_PULL_ONLY, O_PUSH_ONLY, O_FULL, O_REMOVE_PUSHED };

static void
warn_cb(void *arg, const char *msg)
{
	rv_warn(arg, "%s", msg);
}

static void
progress_cb(void *arg, const char *what, size_t done, size_t total)
{
	struct rv_ctx *ctx = arg;

	(void)total;
	if (ctx->progress)
		fprintf(stderr, "\r%s: %zu events", what, done);
}

static void
open_gcal(struct rv_ctx *ctx, struct gcal *g, int need_client)
{
	int rc = gcal_open(g, rv_db(ctx), ctx->conf, &ctx->who, need_client,
	    &ctx->err);

	if (rc != 0) {
		gcal_close(g);
		rv_check(ctx, rc);
	}
	g->note = warn_cb;
	g->progress = progress_cb;
	g->note_arg = ctx;
}

/* Dies with rc, releasing what a verb holds. */
static void
check_gcal(struct rv_ctx *ctx, struct gcal *g, int lock, int rc)
{
	if (rc == 0)
		return;
	gcal_unlock(lock);
	gcal_close(g);
	rv_check(ctx, rc);
}

static int
gcal_connect(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "calendar", required_argument, NULL, O_CALENDAR },
		{ "port", required_argument, NULL, O_PORT },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "no-browser", no_argument, NULL, O_NO_BROWSER },
		{ NULL, 0, NULL, 0 },
	};
	const char *calendar = "primary";
	struct gcal_flow f;
	struct gcal g;
	char *code = NULL, staff[256];
	long port = 0, timeout = -1;
	int64_t secs, id;
	int opt, browse = 1, lock = -1, rc;
	json_t *rec;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_CALENDAR:
			calendar = rv_text(ctx, "calendar", optarg, 250);
			break;
		case O_PORT:
			if (!parse_int(optarg, 0, 65535, &port))
				rv_die(ctx, EX_USAGE, "bad port '%s'", optarg);
			break;
		case O_TIMEOUT:
			if (!parse_duration(optarg, &secs))
				rv_die(ctx, EX_USAGE, "bad timeout '%s': like "
				    "90s or 5m", optarg);
			timeout = (long)(secs > 86400 ? 86400 : secs);
			break;
		case O_NO_BROWSER: browse = 0; break;
		default: rv_usage(ctx);
		}
	}
	if (argc - optind != 1)
		rv_usage(ctx);
	id = rv_staff(ctx, argv[optind]);
	staff_label(rv_db(ctx), id, staff, sizeof(staff));
	open_gcal(ctx, &g, 1);
	if (timeout < 0)
		timeout = g.connect_timeout_s;
	check_gcal(ctx, &g, -1, gcal_flow_begin(&g, (int)port, &f,
	    &ctx->err));
	fprintf(stderr, "%s: to connect %s's Google Calendar, open this "
	    "address in a browser and allow access:\n\n  %s\n\n", ctx->tool,
	    staff, f.url);
	if (browse && gcal_flow_browse(&f))
		fprintf(stderr, "%s: (opened in your browser)\n", ctx->tool);
	fprintf(stderr, "%s: waiting up to %lds for Google's answer on %s\n",
	    ctx->tool, timeout, f.redirect);
	fflush(stderr);
	rc = gcal_flow_wait(&f, timeout, &code, &ctx->err);
	if (rc == 0)
		rc = gcal_lock(rv_db(ctx), 30, &lock, &ctx->err);
	if (rc == 0)
		rc = gcal_connect_finish(&g, id, calendar, &f, code, &rec,
		    &ctx->err);
	gcal_secret_free(code);
	gcal_flow_end(&f);
	if (g.key_created)
		rv_warn(ctx, "created the key file %s: back it up (without it "
		    "the stored tokens cannot be read)", crypt_key_path());
	check_gcal(ctx, &g, lock, rc);
	gcal_unlock(lock);
	gcal_close(&g);
	rv_out_begin(ctx, gcal_account_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

static int
gcal_disconnect(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "purge-imported", no_argument, NULL, O_PURGE },
		{ "remove-pushed", no_argument, NULL, O_REMOVE_PUSHED },
		{ NULL, 0, NULL, 0 },
	};
	struct gcal_opts o = { .push = 1 }, take = { .remove_pushed = 1 };
	struct gcal_report r;
	struct rv_err err = { 0 };
	struct gcal g;
	int64_t id, pending = 0;
	int opt, purge = 0, connected, revoked = 0, purged, lock = -1, rc;
	int revoke_rc, client, removing = 0;
	long removed = 0;
	json_t *rec;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		if (opt == O_PURGE)
			purge = 1;
		else if (opt == O_REMOVE_PUSHED)
			removing = 1;
		else
			rv_usage(ctx);
	}
	if (argc - optind != 1)
		rv_usage(ctx);
	id = rv_staff(ctx, argv[optind]);
	rv_check(ctx, gcal_connected(rv_db(ctx), id, &connected, &ctx->err));
	if (!connected && !purge)
		rv_die(ctx, EX_REFUSED, "%s has no connected calendar",
		    argv[optind]);
	/* Without a usable client, the revocation alone goes ahead. */
	client = gcal_open(&g, rv_db(ctx), ctx->conf, &ctx->who, 1, &err) == 0;
	if (!client) {
		gcal_close(&g);
		open_gcal(ctx, &g, 0);
	}
	g.note = warn_cb;
	g.note_arg = ctx;
	check_gcal(ctx, &g, -1, gcal_lock(rv_db(ctx), 30, &lock, &ctx->err));
	if (connected) {
		rv_check(ctx, gcal_account_record(rv_db(ctx), id, &rec,
		    &ctx->err));
		pending = json_integer_value(json_object_get(rec, "pending"));
		json_decref(rec);
	}
	/* What is still to go (erasures above all) goes before access
	 * does; if it cannot, disconnecting still proceeds. */
	if (pending > 0 && !removing && (!client ||
	    gcal_sync_staff(&g, id, &o, &r, &err) != 0))
		rv_warn(ctx, "%s; disconnecting anyway: %lld changes will not "
		    "reach Google", err.msg, (long long)pending);
	/* An operator who leaves: the events pushed to their calendar go
	 * while access lasts, each titled busy first (Google's trash);
	 * what was pending is moot then, deletions aside, and they go. */
	if (connected && removing) {
		rc = client ? gcal_sync_staff(&g, id, &take, &r, &err) : -1;
		removed = client ? r.deleted : 0;
		if (rc != 0)
			rv_warn(ctx, "%s; disconnecting anyway: events pushed "
			    "to %s stay there (%ld removed)", err.msg,
			    argv[optind], removed);
	}
	revoke_rc = connected ? gcal_revoke(&g, id, &revoked, &err) : 0;
	rv_begin(ctx);
	rc = gcal_account_drop(rv_db(ctx), &ctx->who, id, purge, &purged,
	    &ctx->err);
	check_gcal(ctx, &g, lock, rc);
	rv_commit(ctx);
	/* The sealed tokens must not linger in the WAL either. */
	rv_check(ctx, db_checkpoint(rv_db(ctx), &ctx->err));
	gcal_unlock(lock);
	gcal_close(&g);
	rv_check(ctx, gcal_account_record(rv_db(ctx), id, &rec, &ctx->err));
	json_object_set_new(rec, "revoked", json_boolean(revoked));
	json_object_set_new(rec, "purged", json_integer(purged));
	json_object_set_new(rec, "removed_pushed", json_integer(removed));
	rv_out_begin(ctx, gcal_account_cols, 1);
	rv_emit(ctx, rec);
	rc = rv_finish(ctx);
	if (revoke_rc != 0) {
		fprintf(stderr, "%s: %s\n%s: the tokens are deleted here all "
		    "the same; to be sure, also remove riserva's access at "
		    "https://myaccount.google.com/permissions\n", ctx->tool,
		    err.msg, ctx->tool);
		return revoke_rc;
	}
	return rc;
}

static void
staff_ids(struct rv_ctx *ctx, int argc, char **argv, struct rv_ids *ids)
{
	int i;

	if (argc == 0) {
		rv_check(ctx, gcal_accounts(rv_db(ctx), ids, &ctx->err));
		return;
	}
	/* Named twice (by id and by email), synced once. */
	for (i = 0; i < argc; i++)
		ids_add_once(ids, rv_staff(ctx, argv[i]));
}

static int
gcal_status(struct rv_ctx *ctx, int argc, char **argv)
{
	struct rv_ids ids = { 0 };
	json_t *rec;
	size_t i;
	int rc = 0;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	staff_ids(ctx, argc - optind, argv + optind, &ids);
	rv_out_begin(ctx, gcal_account_cols, 0);
	for (i = 0; rc == 0 && i < ids.n; i++)
		if ((rc = gcal_account_record(rv_db(ctx), ids.v[i], &rec,
		    &ctx->err)) == 0)
			rv_emit(ctx, rec);
	ids_free(&ids);
	rv_check(ctx, rc);
	/* None connected and none named: nothing matched, like any list. */
	return rv_finish_list(ctx);
}

static int
gcal_sync(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pull-only", no_argument, NULL, O_PULL_ONLY },
		{ "push-only", no_argument, NULL, O_PUSH_ONLY },
		{ "full", no_argument, NULL, O_FULL },
		{ NULL, 0, NULL, 0 },
	};
	struct gcal_opts o = { .pull = 1, .push = 1 };
	struct rv_ids ids = { 0 };
	struct gcal_report r;
	struct rv_err err;
	struct gcal g;
	size_t i;
	int opt, lock = -1, first = 0, connected, rc;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_PULL_ONLY: o.push = 0; break;
		case O_PUSH_ONLY: o.pull = 0; break;
		case O_FULL: o.full = 1; break;
		default: rv_usage(ctx);
		}
	}
	if (!o.pull && !o.push)
		rv_die(ctx, EX_USAGE, "--pull-only and --push-only exclude "
		    "each other");
	if (o.full && !o.pull)
		rv_die(ctx, EX_USAGE, "--full is a pull");
	staff_ids(ctx, argc - optind, argv + optind, &ids);
	/* Nobody connected: nothing to do, and no Google client needed. */
	if (ids.n == 0)
		return rv_finish(ctx);
	open_gcal(ctx, &g, 1);
	check_gcal(ctx, &g, -1, gcal_lock(rv_db(ctx), 0, &lock, &ctx->err));
	rv_out_begin(ctx, gcal_sync_cols, 0);
	for (i = 0; i < ids.n; i++) {
		memset(&err, 0, sizeof(err));
		rc = gcal_connected(rv_db(ctx), ids.v[i], &connected, &err);
		if (rc == 0 && !connected) {
			char who[256];

			staff_label(rv_db(ctx), ids.v[i], who, sizeof(who));
			rc = rv_fail(&err, EX_REFUSED, "%s has no connected "
			    "calendar", who);
		} else if (rc == 0) {
			/* One operator's failure does not stop the others. */
			rc = gcal_sync_staff(&g, ids.v[i], &o, &r, &err);
			if (ctx->progress && r.pulled >= 1000)
				fputc('\n', stderr);
			rv_emit(ctx, gcal_report_record(rv_db(ctx), ids.v[i],
			    &r, rc, err.msg));
		}
		if (rc != 0) {
			rv_warn(ctx, "%s", err.msg);
			if (first == 0)
				first = rc;
		}
		/* The project's daily limit: nobody else would fare
		 * better. */
		if (g.quota && i + 1 < ids.n) {
			rv_warn(ctx, "daily limit used up: %zu operator%s not "
			    "synced this time", ids.n - i - 1,
			    ids.n - i - 1 == 1 ? "" : "s");
			break;
		}
	}
	ids_free(&ids);
	gcal_unlock(lock);
	gcal_close(&g);
	rc = rv_finish(ctx);
	return first != 0 ? first : rc;
}

/*
 * The verb may be left out before sync's own options too (gcal-sync
 * --full, as the synopsis reads): "sync" goes in front of the first
 * argument that is none of the common options. The vector lives as long
 * as the process.
 */
static char **
implied_sync(int *argc, char **argv)
{
	static const char *const own[] = { "--pull-only", "--push-only",
		"--full", NULL };
	static char **v;
	size_t n;
	int i, k;

	for (i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--db") == 0 || strcmp(a, "--format") == 0) {
			i++;
			continue;
		}
		if (a[0] != '-' || strcmp(a, "--") == 0)
			return argv;
		n = strlen(a);
		for (k = 0; own[k] != NULL; k++)
			if (n > 3 && strncmp(own[k], a, n) == 0)
				break;
		if (own[k] != NULL)
			break;
	}
	if (i >= *argc)
		return argv;
	v = xcalloc((size_t)*argc + 2, sizeof(*v));
	memcpy(v, argv, (size_t)i * sizeof(*v));
	v[i] = (char *)"sync";
	memcpy(v + i + 1, argv + i, (size_t)(*argc - i) * sizeof(*v));
	(*argc)++;
	return v;
}

int
main(int argc, char *argv[])
{
	struct rv_ctx *ctx;
	char *sync_argv[] = { (char *)"sync", NULL };

	argv = implied_sync(&argc, argv);
	ctx = rv_start("gcal-sync", usage_str, &argc, &argv);

	if (argc < 1)
		return gcal_sync(ctx, 1, sync_argv);
	if (strcmp(argv[0], "sync") == 0)
		return gcal_sync(ctx, argc, argv);
	if (strcmp(argv[0], "connect") == 0)
		return gcal_connect(ctx, argc, argv);
	if (strcmp(argv[0], "disconnect") == 0)
		return gcal_disconnect(ctx, argc, argv);
	if (strcmp(argv[0], "status") == 0)
		return gcal_status(ctx, argc, argv);
	if (strcmp(argv[0], "complete") == 0)
		return rv_complete(ctx, "staff", argc, argv);
	/* The verb may be left out: operands name staff to sync. */
	/* argv[-1] is within the original vector (the program's name at
	 * least): getopt skips it as it skips a verb. */
	if (strchr(argv[0], '@') != NULL || parse_id(argv[0], &(int64_t){ 0 }))
		return gcal_sync(ctx, argc + 1, argv - 1);
	rv_bad_verb(ctx, argv[0]);
}
