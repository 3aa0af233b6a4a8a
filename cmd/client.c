/* client.c — add, show, list, rectify and import clients. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "health.h"
#include "restrict.h"
#include "banned.h"

static const char usage_str[] =
    "usage: client add --name N --surname S --email E --phone P\n"
    "                  [--birth YYYY-MM-DD] [--notes T] [--locale it|en]\n"
    "       client show C [--reason T]\n"
    "       client list [--search TEXT] [--restricted] [--full [--reason T]]\n"
    "       client edit C [--name N] [--surname S] [--email E] [--phone P]\n"
    "                     [--birth D] [--notes T] [--locale L] [--reason T]\n"
    "       client restrict C --reason T\n"
    "       client unrestrict C [--reason T]\n"
    "       client import < clients.jsonl\n"
    "       client health C [--set < text | --clear] [--reason T]\n"
    "       client complete [PREFIX]\n";

enum { O_NAME = 0x200, O_SURNAME, O_EMAIL, O_PHONE, O_BIRTH, O_NOTES,
	O_LOCALE, O_REASON, O_SEARCH, O_RESTRICTED, O_SET, O_CLEAR, O_FULL };

static const struct option field_opts[] = {
	{ "name", required_argument, NULL, O_NAME },
	{ "surname", required_argument, NULL, O_SURNAME },
	{ "email", required_argument, NULL, O_EMAIL },
	{ "phone", required_argument, NULL, O_PHONE },
	{ "birth", required_argument, NULL, O_BIRTH },
	{ "notes", required_argument, NULL, O_NOTES },
	{ "locale", required_argument, NULL, O_LOCALE },
	{ "reason", required_argument, NULL, O_REASON },
	{ NULL, 0, NULL, 0 },
};

/* The field options shared by add and edit; 0 if c is not one. */
static int
field_option(struct rv_ctx *ctx, struct client *c, int opt, const char *arg)
{
	switch (opt) {
	case O_NAME: c->name = arg; break;
	case O_SURNAME: c->surname = arg; break;
	case O_EMAIL: c->email = arg; break;
	case O_PHONE: c->phone = arg; break;
	case O_BIRTH: c->birth = arg; break;
	case O_NOTES: c->notes = arg; break;
	case O_LOCALE: c->locale = arg; break;
	case O_REASON: rv_reason(ctx, arg); break;
	default: return 0;
	}
	return 1;
}

static void
print_client(struct rv_ctx *ctx, int64_t id)
{
	json_t *rec;

	rv_check(ctx, client_get(rv_db(ctx), id, &rec, &ctx->err));
	rv_out_begin(ctx, client_cols, 1);
	rv_emit(ctx, rec);
}

static int
client_add(struct rv_ctx *ctx, int argc, char **argv)
{
	struct client c = { 0 };
	char phone[32];
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", field_opts)) != -1)
		if (!field_option(ctx, &c, opt, optarg) || opt == O_REASON)
			rv_usage(ctx);
	if (optind != argc)
		rv_usage(ctx);
	if (c.name == NULL || c.surname == NULL || c.email == NULL ||
	    c.phone == NULL)
		rv_die(ctx, EX_USAGE,
		    "add needs --name, --surname, --email and --phone");
	if (c.locale == NULL)
		c.locale = conf_get(ctx->conf, "clinic.locale");
	rv_check(ctx, client_check(&c, phone, ctx->who.now, &ctx->err));
	rv_begin(ctx);
	rv_check(ctx, client_insert(rv_db(ctx), &ctx->who, &c, &ctx->err));
	rv_commit(ctx);
	print_client(ctx, c.id);
	return rv_finish(ctx);
}

static int
client_show(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, O_REASON },
		{ NULL, 0, NULL, 0 },
	};
	struct client unused = { 0 };
	char ref[32];
	int64_t id;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1)
		if (!field_option(ctx, &unused, opt, optarg))
			rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	rv_need_reason(ctx, "reading a client's whole record");
	id = rv_client(ctx, argv[optind]);
	/* A read of one client's whole record is itself on the record. */
	snprintf(ref, sizeof(ref), "client %lld", (long long)id);
	rv_begin(ctx);
	rv_check(ctx, audit_append(rv_db(ctx), &ctx->who, "client.read", id,
	    ref, "name,surname,email,phone,birth,locale,notes", &ctx->err));
	rv_commit(ctx);
	print_client(ctx, id);
	return rv_finish(ctx);
}

/* The register: without the notes, which are the whole record's and read
 * only on the record (client show, client list --full). */
static int
emit_register(json_t *rec, void *arg)
{
	json_object_del(rec, "notes");
	return rv_emit_cb(rec, arg);
}

struct full_read {
	struct rv_ctx *ctx;
	struct rv_ids ids;
};

/* Pass one of --full: each client listed is a read on the record. */
static int
audit_read(json_t *rec, void *arg)
{
	struct full_read *f = arg;
	int64_t id = json_integer_value(json_object_get(rec, "id"));
	char ref[32];
	int rc;

	snprintf(ref, sizeof(ref), "client %lld", (long long)id);
	rc = audit_append(rv_db(f->ctx), &f->ctx->who, "client.read", id, ref,
	    "name,surname,email,phone,birth,locale,notes", &f->ctx->err);
	json_decref(rec);
	if (rc == 0)
		ids_add(&f->ids, id);
	return rc;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Pass two: only those whose read was recorded, however the list has
 * changed since. */
static int
emit_read(json_t *rec, void *arg)
{
	struct full_read *f = arg;
	int64_t id = json_integer_value(json_object_get(rec, "id"));

	if (bsearch(&id, f->ids.v, f->ids.n, sizeof(id), cmp_id) == NULL) {
		json_decref(rec);
		return 0;
	}
	return rv_emit_cb(rec, f->ctx);
}

static int
client_ls(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "search", required_argument, NULL, O_SEARCH },
		{ "restricted", no_argument, NULL, O_RESTRICTED },
		{ "full", no_argument, NULL, O_FULL },
		{ "reason", required_argument, NULL, O_REASON },
		{ NULL, 0, NULL, 0 },
	};
	struct full_read f = { ctx, { 0 } };
	const char *search = NULL;
	int restricted = 0, full = 0, opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_SEARCH: search = rv_text(ctx, "search", optarg, 200); break;
		case O_RESTRICTED: restricted = 1; break;
		case O_FULL: full = 1; break;
		case O_REASON: rv_reason(ctx, optarg); break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc || (ctx->who.reason != NULL && !full))
		rv_usage(ctx);
	if (!full) {
		rv_out_begin(ctx, client_cols, 0);
		rv_check(ctx, client_list(rv_db(ctx), search, restricted,
		    emit_register, ctx, &ctx->err));
		return rv_finish_list(ctx);
	}
	/* Whole records: every read committed to the trail before any is
	 * shown, so that a reader gone halfway leaves none unrecorded. */
	rv_need_reason(ctx, "reading clients' whole records");
	rv_begin(ctx);
	rv_check(ctx, client_list(rv_db(ctx), search, restricted, audit_read,
	    &f, &ctx->err));
	rv_commit(ctx);
	qsort(f.ids.v, f.ids.n, sizeof(*f.ids.v), cmp_id);
	rv_out_begin(ctx, client_cols, 0);
	rv_check(ctx, client_list(rv_db(ctx), search, restricted, emit_read,
	    &f, &ctx->err));
	ids_free(&f.ids);
	return rv_finish_list(ctx);
}

static int
client_edit(struct rv_ctx *ctx, int argc, char **argv)
{
	struct client c = { 0 };
	int64_t id;
	int opt, changed;

	while ((opt = rv_getopt(ctx, argc, argv, "", field_opts)) != -1)
		if (!field_option(ctx, &c, opt, optarg))
			rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	if (!c.name && !c.surname && !c.email && !c.phone && !c.birth &&
	    !c.notes && !c.locale)
		rv_die(ctx, EX_USAGE, "edit needs at least one field to change");
	id = rv_client(ctx, argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, client_update(rv_db(ctx), &ctx->who, id, &c, &changed,
	    &ctx->err));
	rv_commit(ctx);
	if (!changed)
		rv_warn(ctx, "client %lld: nothing changed", (long long)id);
	print_client(ctx, id);
	return rv_finish(ctx);
}

/* Art. 18: kept, not processed; and lifting that (lib/restrict.c). */
static int
client_restriction_verb(struct rv_ctx *ctx, int argc, char **argv, int on)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, O_REASON },
		{ NULL, 0, NULL, 0 },
	};
	json_t *rec;
	int64_t id;
	int opt;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		if (opt != O_REASON)
			rv_usage(ctx);
		rv_reason(ctx, optarg);
	}
	if (argc - optind != 1)
		rv_usage(ctx);
	if (on && ctx->who.reason == NULL)
		rv_die(ctx, EX_USAGE, "restrict needs --reason: the grounds "
		    "of art. 18(1) that apply");
	id = rv_client(ctx, argv[optind]);
	rv_begin(ctx);
	rv_check(ctx, on ? client_restrict(rv_db(ctx), &ctx->who, id,
	    ctx->who.reason, &ctx->err) : client_unrestrict(rv_db(ctx),
	    &ctx->who, id, &ctx->err));
	rv_commit(ctx);
	rv_check(ctx, client_get(rv_db(ctx), id, &rec, &ctx->err));
	rv_check(ctx, client_restriction(rv_db(ctx), rec, &ctx->err));
	rv_out_begin(ctx, client_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

/* Checked records wait here to be inserted CLIENT_BATCH at a time; their
 * JSON is held so the strings stay valid. */
struct import {
	struct rv_ctx *ctx;
	const char *locale;
	size_t n;
	int64_t first, last;
	unsigned fields;
	size_t nb;
	struct client batch[CLIENT_BATCH];
	json_t *rec[CLIENT_BATCH];
	size_t line[CLIENT_BATCH];
	char phone[CLIENT_BATCH][32];
};

static void
import_drop(struct import *im)
{
	size_t i;

	for (i = 0; i < im->nb; i++)
		json_decref(im->rec[i]);
	im->nb = 0;
}

/* On a duplicate the batch was written not at all: row by row finds and
 * names the line, as if there had been no batch. */
static int
import_flush(struct import *im, struct rv_err *e)
{
	sqlite3 *db = rv_db(im->ctx);
	size_t i;
	int rc;

	rc = client_insert_rows(db, &im->ctx->who, im->batch, im->nb,
	    &im->fields, e);
	for (i = 0; rc == EX_REFUSED && i < im->nb; i++) {
		rc = client_insert_row(db, &im->ctx->who, &im->batch[i],
		    &im->fields, e);
		if (rc == EX_REFUSED) {
			rc = e->code = EX_DATAERR;	/* bad input here */
			e->line = im->line[i];
		} else if (rc == 0 && i + 1 < im->nb) {
			rc = EX_REFUSED;
		}
	}
	if (rc == 0) {
		if (im->n == 0)
			im->first = im->batch[0].id;
		im->n += im->nb;
		im->last = im->batch[im->nb - 1].id;
		rv_progress(im->ctx, "importing", im->n, 0);
	}
	import_drop(im);
	return rc;
}

static int
import_one(json_t *rec, size_t line, void *arg, struct rv_err *e)
{
	static const char *const known[] = { "type", "id", "name", "surname",
		"email", "phone", "birth", "locale", "notes", "restricted",
		"created", "updated", NULL };
	struct import *im = arg;
	struct client c = { 0 };
	const char *key, *type;
	json_t *v;
	int rc, i;

	json_object_foreach(rec, key, v) {
		for (i = 0; known[i] != NULL && strcmp(known[i], key) != 0; i++)
			;
		if (known[i] == NULL)
			return rv_fail(e, EX_DATAERR, "unknown key \"%s\"", key);
	}
	if ((rc = in_str(rec, "type", 0, &type, e)) != 0)
		return rc;
	if (type != NULL && strcmp(type, "client") != 0)
		return rv_fail(e, EX_DATAERR, "a \"%s\" record, not a client",
		    type);
	/* Art. 18 must not be lost on the way to another database; its
	 * grounds are not in the record, so a person sets it again. */
	v = json_object_get(rec, "restricted");
	if (v != NULL && !json_is_null(v) && !json_is_boolean(v))
		return rv_fail(e, EX_DATAERR,
		    "\"restricted\" must be true or false");
	if (json_is_true(v))
		return rv_fail(e, EX_DATAERR, "a restricted client (GDPR art. "
		    "18): import it without \"restricted\", then restrict it "
		    "here with client restrict");
	if ((rc = in_str(rec, "name", 1, &c.name, e)) != 0 ||
	    (rc = in_str(rec, "surname", 1, &c.surname, e)) != 0 ||
	    (rc = in_str(rec, "email", 1, &c.email, e)) != 0 ||
	    (rc = in_str(rec, "phone", 1, &c.phone, e)) != 0 ||
	    (rc = in_str(rec, "birth", 0, &c.birth, e)) != 0 ||
	    (rc = in_str(rec, "locale", 0, &c.locale, e)) != 0 ||
	    (rc = in_str(rec, "notes", 0, &c.notes, e)) != 0)
		return rc;
	if (c.locale == NULL)
		c.locale = im->locale;
	if ((rc = client_check(&c, im->phone[im->nb], im->ctx->who.now,
	    e)) != 0)
		return rc;
	im->batch[im->nb] = c;
	im->rec[im->nb] = json_incref(rec);
	im->line[im->nb] = line;
	if (++im->nb == CLIENT_BATCH)
		return import_flush(im, e);
	return 0;
}

static int
client_import(struct rv_ctx *ctx, int argc, char **argv)
{
	static struct import im;
	struct rv_buf fields = { 0 };
	char ref[64];
	int rc;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (optind != argc)
		rv_usage(ctx);
	/* The write lock is held while stdin is read: never for a person
	 * typing, while every other desk waits. */
	if (is_tty(stdin))
		rv_die(ctx, EX_USAGE, "pipe client records on stdin "
		    "(client import <clients.jsonl)");
	im.ctx = ctx;
	im.locale = conf_get(ctx->conf, "clinic.locale");
	/* All or nothing: one transaction, rolled back by the first bad line. */
	rv_begin(ctx);
	rc = in_each(stdin, import_one, &im, &ctx->err);
	if (rc == 0 && im.nb > 0 && (rc = import_flush(&im, &ctx->err)) != 0)
		rv_prefix(&ctx->err, "line %zu: ", ctx->err.line);
	import_drop(&im);
	rv_check(ctx, rc);
	/* One change, one audit row: the ids of one transaction under the
	 * write lock are consecutive, so the range names every client. */
	if (im.n > 0) {
		snprintf(ref, sizeof(ref), "clients %lld-%lld",
		    (long long)im.first, (long long)im.last);
		client_fields_text(im.fields, &fields);
		rc = audit_append(rv_db(ctx), &ctx->who, "client.import", 0, ref,
		    fields.s, &ctx->err);
		buf_free(&fields);
		rv_check(ctx, rc);
	}
	rv_commit(ctx);
	rv_warn(ctx, "imported %zu client%s", im.n, im.n == 1 ? "" : "s");
	return rv_finish(ctx);
}

/*
 * Health notes: set only from stdin (never argv) while health consent
 * stands, printed only here, every read and change on the audit trail by
 * name alone, and deleted bytes checkpointed out of the WAL.
 */
static int
client_health(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "set", no_argument, NULL, O_SET },
		{ "clear", no_argument, NULL, O_CLEAR },
		{ "reason", required_argument, NULL, O_REASON },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t key[RV_KEY_LEN];
	char ref[32], *text = NULL;
	size_t n = 0;
	int64_t id, updated = 0;
	int opt, set = 0, clear = 0, exists, rc;
	json_t *rec;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_SET: set = 1; break;
		case O_CLEAR: clear = 1; break;
		case O_REASON:
			rv_reason(ctx, optarg);
			break;
		default: rv_usage(ctx);
		}
	}
	if (argc - optind != 1 || (set && clear))
		rv_usage(ctx);
	id = rv_client(ctx, argv[optind]);
	/* An admin; an operator only for today's clients (roles on). */
	rv_need_health(ctx, id);
	if (!set && !clear)
		rv_need_reason(ctx, "reading health data");
	if (clear) {
		rv_begin(ctx);
		rv_check(ctx, health_delete(rv_db(ctx), &ctx->who, id,
		    "health.clear", &exists, &ctx->err));
		rv_commit(ctx);
		rv_checkpoint(ctx);
		if (!exists)
			rv_warn(ctx, "client %lld has no health data; nothing "
			    "cleared", (long long)id);
		return rv_finish(ctx);
	}
	if (set) {
		/* Refused before anyone types what may not be kept. */
		rv_check(ctx, health_allowed(rv_db(ctx), id, &ctx->err));
		if (is_tty(stdin))
			fprintf(stderr, "client: type the health notes of "
			    "client %lld; end with Ctrl-D\n", (long long)id);
		rv_check(ctx, health_read(stdin, &text, &n, &ctx->err));
		rv_begin(ctx);
		rv_key(ctx, RV_KEY_FIELD, key);
		rc = health_exists(rv_db(ctx), id, &exists, &ctx->err);
		if (rc == 0)
			rc = health_set(rv_db(ctx), &ctx->who, key, id, text, n,
			    &ctx->err);
		rv_wipe(key, sizeof(key));
		health_free(text, n);
		rv_check(ctx, rc);
		rv_commit(ctx);
		/* The notes replaced still open under the key: like deleted
		 * ones, they must leave the -wal and the file's old pages. */
		if (exists)
			rv_checkpoint(ctx);
		return rv_finish(ctx);
	}
	rv_begin(ctx);
	rv_check(ctx, health_exists(rv_db(ctx), id, &exists, &ctx->err));
	if (!exists)
		rv_die(ctx, EX_REFUSED, "client %lld has no health data",
		    (long long)id);
	rv_check(ctx, keys_get_existing(rv_db(ctx), RV_KEY_FIELD, key,
	    &ctx->err));
	rc = health_get(rv_db(ctx), key, id, &text, &n, &updated, &ctx->err);
	rv_wipe(key, sizeof(key));
	rv_check(ctx, rc);
	snprintf(ref, sizeof(ref), "client %lld", (long long)id);
	rc = audit_append(rv_db(ctx), &ctx->who, "health.read", id, ref,
	    "health", &ctx->err);
	if (rc == 0)
		rc = db_commit(rv_db(ctx), &ctx->err);
	if (rc != 0) {
		health_free(text, n);
		rv_check(ctx, rc);
	}
	/* On a terminal the notes themselves; for scripts a record. */
	if (ctx->fmt == RV_FMT_TABLE) {
		printf("%s\n", text);
	} else {
		rec = rec_new("health", id);
		json_object_set_new(rec, "client_id", json_integer(id));
		json_object_set_new(rec, "text", json_stringn(text, n));
		rec_time(rec, "updated", updated);
		rv_emit(ctx, rec);
	}
	health_free(text, n);
	return rv_finish(ctx);
}

int
main(int argc, char *argv[])
{
	struct rv_ctx *ctx = rv_start("client", usage_str, &argc, &argv);

	if (argc < 1)
		rv_usage(ctx);
	if (strcmp(argv[0], "add") == 0)
		return client_add(ctx, argc, argv);
	if (strcmp(argv[0], "show") == 0)
		return client_show(ctx, argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return client_ls(ctx, argc, argv);
	if (strcmp(argv[0], "edit") == 0)
		return client_edit(ctx, argc, argv);
	if (strcmp(argv[0], "restrict") == 0)
		return client_restriction_verb(ctx, argc, argv, 1);
	if (strcmp(argv[0], "unrestrict") == 0)
		return client_restriction_verb(ctx, argc, argv, 0);
	if (strcmp(argv[0], "import") == 0)
		return client_import(ctx, argc, argv);
	if (strcmp(argv[0], "health") == 0)
		return client_health(ctx, argc, argv);
	if (strcmp(argv[0], "complete") == 0)
		return rv_complete(ctx, "client", argc, argv);
	rv_bad_verb(ctx, argv[0]);
}
