/*
 * cli.c — the tool side of the library: common options, diagnostics and
 * exit codes, the context a tool runs in. The only part of lib/ that
 * prints to stderr or exits, and only on behalf of a tool in cmd/.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "audit.h"
#include "banned.h"

enum {
	OPT_DB = 0x100,
	OPT_FORMAT,
	OPT_VERSION,
};

static const struct option common_long[] = {
	{ "db", required_argument, NULL, OPT_DB },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};
static const char common_short[] = "hj";

static struct rv_ctx the_ctx;
static int setup_done;

void
rv_warn(struct rv_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	rv_progress_end(ctx);
	fprintf(stderr, "%s: ", ctx->tool);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Once, by whichever of the tool and the audit chain made the key. */
static void
key_warning(struct rv_ctx *ctx, int created)
{
	if (created)
		rv_warn(ctx, "created a new key in %s: back it up now, apart "
		    "from the database; without it the encrypted data cannot "
		    "be read nor the audit trail verified", crypt_key_path());
}

static void
cleanup(struct rv_ctx *ctx)
{
	if (ctx->out_open) {
		out_end(&ctx->out);
		ctx->out_open = 0;
	}
	db_close(ctx->db);
	ctx->db = NULL;
	conf_free(ctx->conf);
	ctx->conf = NULL;
	free(ctx->opt_long);
	free(ctx->opt_short);
	ctx->opt_long = NULL;
	ctx->opt_short = NULL;
}

void
rv_die(struct rv_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	rv_progress_end(ctx);
	fprintf(stderr, "%s: ", ctx->tool);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* Whatever was begun and not committed is rolled back here; a key
	 * file made meanwhile stays, and is told of. */
	db_rollback(ctx->db);
	key_warning(ctx, audit_key_untold());
	cleanup(ctx);
	exit(code);
}

void
rv_check(struct rv_ctx *ctx, int rc)
{
	if (rc != 0)
		rv_die(ctx, ctx->err.code ? ctx->err.code : rc, "%s",
		    ctx->err.msg);
}

void
rv_usage(struct rv_ctx *ctx)
{
	fputs(ctx->usage, stderr);
	cleanup(ctx);
	exit(EX_USAGE);
}

void
rv_bad_verb(struct rv_ctx *ctx, const char *verb)
{
	fprintf(stderr, "%s: unknown verb '%s'\n", ctx->tool, verb);
	rv_usage(ctx);
}

static void
help(struct rv_ctx *ctx)
{
	fputs(ctx->usage, stdout);
	fputs("common options: --db PATH, --format table|jsonl|json|csv, -j, "
	    "-h, --version\n", stdout);
	cleanup(ctx);
	exit(fflush(stdout) == 0 ? 0 : EX_IOERR);
}

/* Config, time zone and clock: after the options, so --help always works. */
static void
setup(struct rv_ctx *ctx)
{
	const char *actor, *locale;

	if (setup_done)
		return;
	setup_done = 1;
	rv_check(ctx, conf_load(conf_path(), &ctx->conf, &ctx->err));
	rv_check(ctx, tm_init(conf_get(ctx->conf, "clinic.timezone"),
	    &ctx->err));
	locale = conf_get(ctx->conf, "clinic.locale");
	if (strcmp(locale, "it") != 0 && strcmp(locale, "en") != 0)
		rv_die(ctx, EX_CONFIG, "clinic.locale '%s': it or en", locale);
	rv_check(ctx, tm_now(&ctx->who.now, &ctx->err));
	actor = getenv("RISERVA_ACTOR");
	ctx->who.actor = actor != NULL && *actor != '\0' ? actor : login_name();
	if (ctx->fmt == RV_FMT_AUTO)
		ctx->fmt = is_tty(stdout) ? RV_FMT_TABLE : RV_FMT_JSONL;
	/* Who acts, and whether they may: once, after the options. */
	rv_access(ctx);
}

static int
common_option(struct rv_ctx *ctx, int c, const char *arg)
{
	switch (c) {
	case 'h':
		help(ctx);
		break;
	case 'j':
		ctx->fmt = RV_FMT_JSONL;
		return 1;
	case OPT_DB:
		if (*arg == '\0')
			rv_die(ctx, EX_USAGE, "--db needs a path");
		ctx->db_path = arg;
		return 1;
	case OPT_FORMAT:
		if ((ctx->fmt = out_parse_format(arg)) < 0)
			rv_die(ctx, EX_USAGE,
			    "bad format '%s': table, jsonl, json or csv", arg);
		return 1;
	case OPT_VERSION:
		printf("%s (riserva) %s\n", ctx->tool, RV_VERSION);
		cleanup(ctx);
		exit(0);
	}
	return 0;
}

static void
bad_option(struct rv_ctx *ctx, int c, char **argv)
{
	const char *arg = argv[optind - 1];
	int len = (int)strcspn(arg, "=");

	/* optopt names a short option; a long one is in argv itself. */
	if (strncmp(arg, "--", 2) == 0)
		fprintf(stderr, c == ':' ? "%s: option '%.*s' needs a value\n" :
		    "%s: unknown option '%.*s'\n", ctx->tool, len, arg);
	else
		fprintf(stderr, c == ':' ? "%s: option '-%c' needs a value\n" :
		    "%s: unknown option '-%c'\n", ctx->tool, optopt);
	rv_usage(ctx);
}

int
rv_getopt(struct rv_ctx *ctx, int argc, char **argv, const char *shortopts,
    const struct option *longopts)
{
	int c;

	if (ctx->opt_argv != argv) {
		size_t n = 0, k = 0, i;

		while (longopts != NULL && longopts[n].name != NULL)
			n++;
		while (common_long[k].name != NULL)
			k++;
		free(ctx->opt_long);
		free(ctx->opt_short);
		ctx->opt_long = xcalloc(n + k + 1, sizeof(struct option));
		for (i = 0; i < n; i++)
			ctx->opt_long[i] = longopts[i];
		for (i = 0; i < k; i++)
			ctx->opt_long[n + i] = common_long[i];
		ctx->opt_short = xmalloc(strlen(shortopts) +
		    sizeof(common_short) + 1);
		snprintf(ctx->opt_short, strlen(shortopts) +
		    sizeof(common_short) + 1, ":%s%s", shortopts,
		    common_short);
		ctx->opt_argv = argv;
		optind = 0;
		opterr = 0;
	}
	for (;;) {
		c = getopt_long(argc, argv, ctx->opt_short, ctx->opt_long,
		    NULL);
		if (c == -1) {
			setup(ctx);
			return -1;
		}
		if (c == '?' || c == ':')
			bad_option(ctx, c, argv);
		if (!common_option(ctx, c, optarg))
			return c;
	}
}

struct rv_ctx *
rv_start(const char *tool, const char *usage, int *argc, char ***argv)
{
	struct rv_ctx *ctx = &the_ctx;
	int c, fd;

	/* A closed standard descriptor would go to the next file opened
	 * (the config, the database puts /dev/null there) and be read or
	 * written by mistake: stdin closed read as empty, an import of
	 * nothing that succeeds. Each is held by /dev/null opened the other
	 * way, so that using it fails as it would have. */
	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY) != fd)
			_exit(EX_OSERR);
	ctx->tool = tool;
	ctx->usage = usage;
	ctx->who.tool = tool;
	ctx->fmt = RV_FMT_AUTO;
	ctx->progress = is_tty(stderr);
	opterr = 0;
	/* Only the common options come before the verb. */
	while ((c = getopt_long(*argc, *argv, "+:hj", common_long, NULL)) !=
	    -1) {
		if (c == '?' || c == ':')
			bad_option(ctx, c, *argv);
		common_option(ctx, c, optarg);
	}
	*argc -= optind;
	*argv += optind;
	ctx->verb = *argc > 0 ? (*argv)[0] : "";
	ctx->opt_argv = NULL;
	return ctx;
}

int
rv_finish(struct rv_ctx *ctx)
{
	int rc = 0;

	if (ctx->out_open) {
		rc = out_end(&ctx->out);
		ctx->out_open = 0;
	}
	key_warning(ctx, audit_key_untold());
	cleanup(ctx);
	if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout)))
		rc = EX_IOERR;
	if (rc != 0)
		fprintf(stderr, "%s: cannot write output: %s\n", ctx->tool,
		    strerror(errno));
	return rc;
}

int
rv_finish_list(struct rv_ctx *ctx)
{
	size_t n = ctx->out_open ? ctx->out.count : 0;
	int rc = rv_finish(ctx);

	return rc == 0 && n == 0 ? EX_REFUSED : rc;
}

/*
 * A database every local user can read holds every client's data for all
 * of them to see. Ours are made 0600; one copied or restored by hand may
 * not be. Group access is a centre's choice (admins sharing a group), so
 * only "others" is warned of, once, and nothing is refused.
 */
static void
exposed(struct rv_ctx *ctx)
{
	const char *f = sqlite3_db_filename(ctx->db, "main");
	struct stat st;

	if (f != NULL && *f != '\0' && stat(f, &st) == 0 &&
	    (st.st_mode & (S_IROTH | S_IWOTH)) != 0)
		rv_warn(ctx, "%s can be read by any user of this machine "
		    "(mode %04o): chmod o-rw %s", f,
		    (unsigned)(st.st_mode & 07777), f);
}

sqlite3 *
rv_db(struct rv_ctx *ctx)
{
	char path[PATH_MAX];
	char dir[PATH_MAX];
	long busy;
	char *slash;

	if (ctx->db != NULL)
		return ctx->db;
	setup(ctx);
	if (ctx->db != NULL) {	/* setup's access check opened it */
		exposed(ctx);
		return ctx->db;
	}
	if (ctx->db_path != NULL) {
		snprintf(path, sizeof(path), "%s", ctx->db_path);
	} else {
		rv_check(ctx, db_default_path(path, sizeof(path), &ctx->err));
		/* The default folder is ours alone; a named file's is not. */
		if (getenv("RISERVA_DB") == NULL || *getenv("RISERVA_DB") ==
		    '\0') {
			snprintf(dir, sizeof(dir), "%s", path);
			if ((slash = strrchr(dir, '/')) != NULL) {
				*slash = '\0';
				rv_check(ctx, mkdir_parents(dir, 0700,
				    &ctx->err));
			}
		}
	}
	rv_check(ctx, conf_int(ctx->conf, "db.busy_timeout", 0, 600000, &busy,
	    &ctx->err));
	rv_check(ctx, db_open(path, busy, &ctx->db, &ctx->err));
	exposed(ctx);
	return ctx->db;
}

void
rv_begin(struct rv_ctx *ctx)
{
	rv_check(ctx, db_begin(rv_db(ctx), &ctx->err));
}

void
rv_begin_read(struct rv_ctx *ctx)
{
	rv_check(ctx, db_begin_read(rv_db(ctx), &ctx->err));
}

void
rv_commit(struct rv_ctx *ctx)
{
	rv_check(ctx, db_commit(rv_db(ctx), &ctx->err));
}

void
rv_key(struct rv_ctx *ctx, int purpose, uint8_t out[RV_KEY_LEN])
{
	int created;

	rv_check(ctx, keys_get(rv_db(ctx), purpose, out, &created, &ctx->err));
	key_warning(ctx, created);
}

void
rv_checkpoint(struct rv_ctx *ctx)
{
	if (db_checkpoint(rv_db(ctx), &ctx->err) == 0)
		return;
	rv_die(ctx, EX_TEMPFAIL, "the deletion is done, but the database is "
	    "busy and its old bytes may stay in the -wal file until the next "
	    "checkpoint: run the same command again when it is idle (%s)",
	    ctx->err.msg);
}

int64_t
rv_client(struct rv_ctx *ctx, const char *spec)
{
	int64_t id;

	rv_check(ctx, client_find(rv_db(ctx), spec, &id, &ctx->err));
	return id;
}

int64_t
rv_staff(struct rv_ctx *ctx, const char *spec)
{
	int64_t id;

	rv_check(ctx, staff_find(rv_db(ctx), spec, &id, &ctx->err));
	return id;
}

int64_t
rv_service(struct rv_ctx *ctx, const char *spec)
{
	int64_t id;

	rv_check(ctx, service_find(rv_db(ctx), spec, &id, &ctx->err));
	return id;
}

int64_t
rv_id(struct rv_ctx *ctx, const char *what, const char *s)
{
	int64_t id;

	if (!parse_id(s, &id))
		rv_die(ctx, EX_USAGE, "bad %s id '%s'", what, s);
	return id;
}

int64_t
rv_time(struct rv_ctx *ctx, const char *s)
{
	int64_t t;

	setup(ctx);
	rv_check(ctx, tm_parse(s, &t, &ctx->err));
	return t;
}

int64_t
rv_bound(struct rv_ctx *ctx, const char *s, int end_of_day)
{
	int64_t t;

	setup(ctx);
	rv_check(ctx, tm_parse_bound(s, end_of_day, &t, &ctx->err));
	return t;
}

void
rv_range(struct rv_ctx *ctx, const char *from, const char *to,
    int64_t *start, int64_t *end)
{
	if (from != NULL)
		*start = rv_bound(ctx, from, 0);
	if (to != NULL)
		*end = rv_bound(ctx, to, 1);
	if (from != NULL && to != NULL && *end <= *start)
		rv_die(ctx, EX_DATAERR, "--to %s is not after --from %s", to,
		    from);
}

const char *
rv_text(struct rv_ctx *ctx, const char *what, const char *s, size_t max)
{
	rv_check(ctx, check_text(what, s, max, 1, 1, &ctx->err));
	return s;
}

void
rv_reason(struct rv_ctx *ctx, const char *arg)
{
	ctx->who.reason = rv_text(ctx, "reason", arg, 500);
	ctx->who.reason_typed = 1;
}

void
rv_out_begin(struct rv_ctx *ctx, const struct rv_col *cols, int one)
{
	setup(ctx);
	out_begin(&ctx->out, stdout, ctx->fmt, cols, one);
	ctx->out_open = 1;
}

void
rv_emit(struct rv_ctx *ctx, json_t *rec)
{
	if (!ctx->out_open)
		rv_out_begin(ctx, NULL, 1);
	if (out_record(&ctx->out, rec) != 0)
		rv_die(ctx, EX_IOERR, "cannot write output: %s",
		    strerror(errno));
}

int
rv_emit_try(struct rv_ctx *ctx, json_t *rec)
{
	if (!ctx->out_open)
		rv_out_begin(ctx, NULL, 1);
	if (out_record(&ctx->out, rec) != 0)
		return rv_fail_errno(&ctx->err, EX_IOERR,
		    "cannot write output");
	return 0;
}

int
rv_emit_cb(json_t *rec, void *arg)
{
	rv_emit(arg, rec);
	return 0;
}

void
rv_out_end(struct rv_ctx *ctx)
{
	if (ctx->out_open && out_end(&ctx->out) != 0)
		rv_die(ctx, EX_IOERR, "cannot write output: %s",
		    strerror(errno));
	ctx->out_open = 0;
}

struct ids_arg {
	struct rv_ctx *ctx;
	struct rv_ids *ids;
};

static int
collect_id(json_t *rec, size_t line, void *arg, struct rv_err *e)
{
	struct ids_arg *a = arg;
	int64_t id, found;
	int rc, ok;

	(void)line;
	if ((rc = in_client_id(rec, &id, e)) != 0)
		return rc;
	if (id == 0 || ids_has(a->ids, id))
		return 0;
	rc = db_int(rv_db(a->ctx), "SELECT id FROM client WHERE id = ?", id,
	    &found, &ok, e);
	if (rc != 0)
		return rc;
	if (!ok)
		return rv_fail(e, EX_NOINPUT, "no such client %lld",
		    (long long)id);
	ids_add(a->ids, id);
	return 0;
}

void
rv_client_ids(struct rv_ctx *ctx, int argc, char **argv, struct rv_ids *ids)
{
	struct ids_arg a = { ctx, ids };
	int i;

	if (argc > 0) {
		/* One client named twice (by id and by email) counts once. */
		for (i = 0; i < argc; i++)
			ids_add_once(ids, rv_client(ctx, argv[i]));
		return;
	}
	if (is_tty(stdin))
		rv_die(ctx, EX_USAGE,
		    "name clients as operands, or pipe records on stdin");
	rv_check(ctx, in_each(stdin, collect_id, &a, &ctx->err));
}

void
rv_progress(struct rv_ctx *ctx, const char *what, size_t done, size_t total)
{
	if (!ctx->progress)
		return;
	/* At each thousand passed, however the count moves (imports go
	 * by batches), and at the end. */
	if (done != total && done / 1000 == ctx->progress_shown / 1000)
		return;
	ctx->progress_shown = done;
	if (total > 0)
		fprintf(stderr, "\r%s: %zu/%zu (%zu%%)", what, done, total,
		    done * 100 / total);
	else
		fprintf(stderr, "\r%s: %zu", what, done);
	ctx->progress_open = done != total;
	if (done == total)
		fputc('\n', stderr);
}

void
rv_progress_end(struct rv_ctx *ctx)
{
	if (ctx->progress_open)
		fputc('\n', stderr);
	ctx->progress_open = 0;
}

static int
print_word(const char *word, void *arg)
{
	(void)arg;
	return puts(word) < 0 ? EX_IOERR : 0;
}

int
rv_complete(struct rv_ctx *ctx, const char *kind, int argc, char **argv)
{
	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind > 1)
		rv_usage(ctx);
	rv_check(ctx, complete_words(rv_db(ctx), kind,
	    argc > optind ? argv[optind] : "", print_word, NULL, &ctx->err));
	return rv_finish(ctx);
}
