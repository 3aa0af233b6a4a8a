/* consent.c — the consent ledger, receipts, unsubscribe tokens, policies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "consent.h"
#include "policy.h"
#include "banned.h"

static const char usage_str[] =
    "usage: consent grant C PURPOSE... [--method M] [--ip ADDR] "
    "[--evidence T]\n"
    "       consent withdraw C PURPOSE... [--method M] [--ip ADDR] "
    "[--evidence T]\n"
    "       consent status [C...] [--purpose P] [--granted]\n"
    "       consent history C\n"
    "       consent receipt [C...]\n"
    "       consent token C PURPOSE\n"
    "       consent unsubscribe [TOKEN] [--method M] [--ip ADDR]\n"
    "       consent policy add --version V --effective DATE --url URL "
    "--file F\n"
    "                          [--substantial]\n"
    "       consent policy list\n"
    "       consent policy show V\n"
    "       consent policy affected V\n"
    "PURPOSE is reminders, health or marketing; M is web, paper, email, "
    "phone or\nin-person (the default).\n";

enum { O_METHOD = 0x200, O_IP, O_EVIDENCE, O_PURPOSE, O_GRANTED, O_VERSION,
	O_EFFECTIVE, O_URL, O_FILE, O_SUBSTANTIAL };

static const char *
purpose_arg(struct rv_ctx *ctx, const char *s)
{
	const char *p = consent_purpose(s);
	char list[128];

	if (p == NULL) {
		consent_words(consent_purposes, list, sizeof(list));
		rv_die(ctx, EX_USAGE, "unknown purpose '%s': %s", s, list);
	}
	return p;
}

static const char *
method_arg(struct rv_ctx *ctx, const char *s)
{
	const char *m = consent_method(s);
	char list[128];

	if (m == NULL) {
		consent_words(consent_methods, list, sizeof(list));
		rv_die(ctx, EX_USAGE, "unknown method '%s': %s", s, list);
	}
	return m;
}

/* The options grant, withdraw and unsubscribe share; 0 if opt is not one. */
static int
req_option(struct rv_ctx *ctx, struct consent_req *r, int opt, const char *arg)
{
	char ip[CONSENT_IP_MAX];

	switch (opt) {
	case O_METHOD:
		r->method = method_arg(ctx, arg);
		return 1;
	case O_IP:
		/* Checked now, so a typo fails before anything is written. */
		rv_check(ctx, consent_ip_truncate(arg, ip, &ctx->err));
		r->ip = arg;
		return 1;
	case O_EVIDENCE:
		rv_check(ctx, check_text("evidence", arg, 500, 1, 0,
		    &ctx->err));
		r->evidence = arg;
		return 1;
	}
	return 0;
}

static const struct option req_opts[] = {
	{ "method", required_argument, NULL, O_METHOD },
	{ "ip", required_argument, NULL, O_IP },
	{ "evidence", required_argument, NULL, O_EVIDENCE },
	{ NULL, 0, NULL, 0 },
};

static void
print_rows(struct rv_ctx *ctx, const struct rv_ids *rows)
{
	json_t *rec;
	size_t i;

	rv_out_begin(ctx, consent_cols, 0);
	for (i = 0; i < rows->n; i++) {
		rv_check(ctx, consent_get(rv_db(ctx), rows->v[i], &rec,
		    &ctx->err));
		rv_emit(ctx, rec);
	}
}

/* grant and withdraw: every purpose in one transaction, or none. */
static int
consent_change(struct rv_ctx *ctx, int argc, char **argv, int grant)
{
	struct consent_req r = { 0 };
	struct rv_ids rows = { 0 }, unchanged = { 0 };
	const char **purposes;
	int opt, i, n, checkpoint = 0;

	r.method = CONSENT_METHOD_DEFAULT;
	while ((opt = rv_getopt(ctx, argc, argv, "", req_opts)) != -1)
		if (!req_option(ctx, &r, opt, optarg))
			rv_usage(ctx);
	if (argc - optind < 2)
		rv_usage(ctx);
	n = argc - optind - 1;
	purposes = xcalloc((size_t)n, sizeof(*purposes));
	for (i = 0; i < n; i++)
		purposes[i] = purpose_arg(ctx, argv[optind + 1 + i]);
	rv_begin(ctx);
	r.client_id = rv_client(ctx, argv[optind]);
	for (i = 0; i < n; i++) {
		int64_t id;
		int cp = 0;

		r.purpose = purposes[i];
		if (grant)
			rv_check(ctx, consent_grant(rv_db(ctx), &ctx->who, &r,
			    &id, &ctx->err));
		else
			rv_check(ctx, consent_withdraw(rv_db(ctx), &ctx->who,
			    &r, &id, &cp, &ctx->err));
		checkpoint |= cp;
		if (id != 0)
			ids_add(&rows, id);
		else
			ids_add(&unchanged, i);
	}
	rv_commit(ctx);
	if (checkpoint)
		rv_checkpoint(ctx);
	for (i = 0; i < (int)unchanged.n; i++)
		rv_warn(ctx, "client %lld: %s %s; nothing recorded",
		    (long long)r.client_id, purposes[unchanged.v[i]],
		    grant ? "already stands" : "does not stand");
	print_rows(ctx, &rows);
	ids_free(&rows);
	ids_free(&unchanged);
	free(purposes);
	return rv_finish(ctx);
}

static int
consent_status_verb(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "purpose", required_argument, NULL, O_PURPOSE },
		{ "granted", no_argument, NULL, O_GRANTED },
		{ NULL, 0, NULL, 0 },
	};
	const char *purpose = NULL;
	struct rv_ids ids = { 0 };
	int opt, granted = 0, i;
	size_t k;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_PURPOSE: purpose = purpose_arg(ctx, optarg); break;
		case O_GRANTED: granted = 1; break;
		default: rv_usage(ctx);
		}
	}
	for (i = optind; i < argc; i++)
		ids_add(&ids, rv_client(ctx, argv[i]));
	rv_out_begin(ctx, consent_status_cols, 0);
	if (ids.n == 0)
		rv_check(ctx, consent_status(rv_db(ctx), 0, purpose, granted,
		    rv_emit_cb, ctx, &ctx->err));
	for (k = 0; k < ids.n; k++)
		rv_check(ctx, consent_status(rv_db(ctx), ids.v[k], purpose,
		    granted, rv_emit_cb, ctx, &ctx->err));
	ids_free(&ids);
	return rv_finish_list(ctx);
}

static int
consent_history_verb(struct rv_ctx *ctx, int argc, char **argv)
{
	int64_t id;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	id = rv_client(ctx, argv[optind]);
	rv_out_begin(ctx, consent_cols, 0);
	rv_check(ctx, consent_history(rv_db(ctx), id, rv_emit_cb, ctx,
	    &ctx->err));
	return rv_finish_list(ctx);
}

static int
consent_receipt_verb(struct rv_ctx *ctx, int argc, char **argv)
{
	struct rv_ids ids = { 0 };
	json_t *all = json_array(), *rec;
	char ref[64];
	size_t i;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (ctx->fmt == RV_FMT_CSV)
		rv_die(ctx, EX_USAGE, "a receipt is a JSON document: use "
		    "--format jsonl or json");
	rv_client_ids(ctx, argc - optind, argv + optind, &ids);
	/* Handing a client their receipt discloses their data: on record,
	 * with the receipt's id, before it is printed. */
	rv_begin(ctx);
	for (i = 0; i < ids.n; i++) {
		rv_check(ctx, consent_receipt(rv_db(ctx), ctx->conf, ids.v[i],
		    &rec, &ctx->err));
		json_array_append_new(all, rec);
		snprintf(ref, sizeof(ref), "receipt %s", json_string_value(
		    json_object_get(rec, "consentReceiptID")));
		rv_check(ctx, audit_append(rv_db(ctx), &ctx->who,
		    "consent.receipt", ids.v[i], ref, "email,locale,consent",
		    &ctx->err));
	}
	rv_commit(ctx);
	json_array_foreach(all, i, rec) {
		if (ctx->fmt == RV_FMT_TABLE) {
			json_dumpf(rec, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
		} else {
			rv_emit(ctx, json_incref(rec));
		}
	}
	json_decref(all);
	ids_free(&ids);
	return rv_finish(ctx);
}

static int
consent_token_verb(struct rv_ctx *ctx, int argc, char **argv)
{
	uint8_t key[RV_KEY_LEN];
	char token[CONSENT_TOKEN_MAX];
	const char *purpose;
	int64_t id;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 2)
		rv_usage(ctx);
	purpose = purpose_arg(ctx, argv[optind + 1]);
	if (strcmp(purpose, "health") == 0)
		rv_die(ctx, EX_USAGE, "unsubscribe tokens are for reminders "
		    "and marketing; health consent is withdrawn with "
		    "'consent withdraw'");
	id = rv_client(ctx, argv[optind]);
	rv_key(ctx, RV_KEY_TOKEN, key);
	if (consent_token_make(key, id, purpose, token, &ctx->err) != 0) {
		rv_wipe(key, sizeof(key));
		rv_check(ctx, ctx->err.code);
	}
	rv_wipe(key, sizeof(key));
	puts(token);
	return rv_finish(ctx);
}

/* The token from the operand, or one line of stdin (for a web front end
 * that keeps it out of argv). */
static char *
token_arg(struct rv_ctx *ctx, int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (argc == 1)
		return xstrdup(argv[0]);
	if (argc > 1 || is_tty(stdin))
		rv_usage(ctx);
	if ((n = getline(&line, &cap, stdin)) <= 0) {
		free(line);
		rv_die(ctx, EX_DATAERR, "no token on stdin");
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static int
consent_unsubscribe(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "method", required_argument, NULL, O_METHOD },
		{ "ip", required_argument, NULL, O_IP },
		{ NULL, 0, NULL, 0 },
	};
	struct consent_req r = { 0 };
	struct rv_ids rows = { 0 };
	uint8_t key[RV_KEY_LEN];
	char *token, *known = NULL;
	int64_t id;
	int opt, rc, cp;

	r.method = "web";
	r.evidence = "unsubscribe link";
	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1)
		if (!req_option(ctx, &r, opt, optarg))
			rv_usage(ctx);
	token = token_arg(ctx, argc - optind, argv + optind);
	/* A database that never made a key never made a token either. */
	rv_check(ctx, db_meta_get(rv_db(ctx), "key_check", &known,
	    &ctx->err));
	if (known == NULL) {
		free(token);
		rv_die(ctx, EX_NOPERM, "not a valid unsubscribe token: no "
		    "token was ever made here");
	}
	free(known);
	rv_check(ctx, keys_get_existing(rv_db(ctx), RV_KEY_TOKEN, key,
	    &ctx->err));
	rc = consent_token_check(key, token, &r.client_id, &r.purpose,
	    &ctx->err);
	rv_wipe(key, sizeof(key));
	free(token);
	rv_check(ctx, rc);
	rv_begin(ctx);
	rv_check(ctx, consent_withdraw(rv_db(ctx), &ctx->who, &r, &id, &cp,
	    &ctx->err));
	rv_commit(ctx);
	if (id == 0)
		rv_warn(ctx, "client %lld: %s does not stand; nothing recorded",
		    (long long)r.client_id, r.purpose);
	else
		ids_add(&rows, id);
	print_rows(ctx, &rows);
	ids_free(&rows);
	return rv_finish(ctx);
}

/* A whole file ("-": stdin), at most POLICY_TEXT_MAX bytes. The buffer is
 * freed before any error is told: rv_die() exits. */
static char *
read_file(struct rv_ctx *ctx, const char *path, size_t *n)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 65536, len = 0, got;
	struct stat st;
	char *buf;
	int err;

	if (fp == NULL)
		rv_die(ctx, EX_NOINPUT, "cannot read %s: %s", path,
		    strerror(errno));
	/* fopen() opens a folder; reading it would be an I/O error. */
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(fp);
		rv_die(ctx, EX_NOINPUT, "cannot read %s: %s", path,
		    strerror(EISDIR));
	}
	buf = xmalloc(cap);
	while ((got = fread(buf + len, 1, cap - len, fp)) > 0) {
		len += got;
		if (len > (size_t)POLICY_TEXT_MAX)
			break;
		if (len == cap)
			buf = xrealloc(buf, cap *= 2);
	}
	err = ferror(fp) ? errno : 0;
	if (fp != stdin)
		fclose(fp);
	if (len > (size_t)POLICY_TEXT_MAX || err != 0) {
		free(buf);
		if (err != 0)
			rv_die(ctx, EX_IOERR, "cannot read %s: %s", path,
			    strerror(err));
		rv_die(ctx, EX_DATAERR, "%s: the policy text is too long "
		    "(more than %ld bytes)", path, POLICY_TEXT_MAX);
	}
	*n = len;
	return buf;
}

static int
policy_add_verb(struct rv_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", required_argument, NULL, O_VERSION },
		{ "effective", required_argument, NULL, O_EFFECTIVE },
		{ "url", required_argument, NULL, O_URL },
		{ "file", required_argument, NULL, O_FILE },
		{ "substantial", no_argument, NULL, O_SUBSTANTIAL },
		{ NULL, 0, NULL, 0 },
	};
	struct policy_req p = { 0 };
	const char *effective = NULL, *file = NULL;
	json_t *rec;
	char *text;
	int64_t id;
	int opt, rc;

	while ((opt = rv_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case O_VERSION: p.version = optarg; break;
		case O_EFFECTIVE: effective = optarg; break;
		case O_URL: p.url = optarg; break;
		case O_FILE: file = optarg; break;
		case O_SUBSTANTIAL: p.substantial = 1; break;
		default: rv_usage(ctx);
		}
	}
	if (optind != argc || p.version == NULL || effective == NULL ||
	    p.url == NULL || file == NULL)
		rv_die(ctx, EX_USAGE, "policy add needs --version, "
		    "--effective, --url and --file");
	rv_check(ctx, policy_check_version(p.version, &ctx->err));
	rv_check(ctx, policy_check_url("policy URL", p.url, &ctx->err));
	p.effective = rv_bound(ctx, effective, 0);
	text = read_file(ctx, file, &p.n);
	p.text = text;
	rv_begin(ctx);
	rc = policy_add(rv_db(ctx), &ctx->who, &p, &id, &ctx->err);
	free(text);
	rv_check(ctx, rc);
	rv_commit(ctx);
	if (id == 0)
		rv_warn(ctx, "policy %s is already archived as given; nothing "
		    "recorded", p.version);
	rv_check(ctx, policy_get(rv_db(ctx), p.version, ctx->who.now, &rec,
	    &ctx->err));
	rv_out_begin(ctx, policy_cols, 1);
	rv_emit(ctx, rec);
	return rv_finish(ctx);
}

static int
policy_list_verb(struct rv_ctx *ctx, int argc, char **argv)
{
	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (optind != argc)
		rv_usage(ctx);
	rv_out_begin(ctx, policy_cols, 0);
	rv_check(ctx, policy_list(rv_db(ctx), ctx->who.now, rv_emit_cb, ctx,
	    &ctx->err));
	return rv_finish_list(ctx);
}

static int
policy_show_verb(struct rv_ctx *ctx, int argc, char **argv)
{
	void *text;
	size_t n;

	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	rv_check(ctx, policy_text(rv_db(ctx), argv[optind], &text, &n,
	    &ctx->err));
	/* Exactly as archived: the bytes, whatever the output format. */
	if (fwrite(text, 1, n, stdout) != n)
		rv_die(ctx, EX_IOERR, "cannot write output: %s",
		    strerror(errno));
	free(text);
	return rv_finish(ctx);
}

static int
policy_affected_verb(struct rv_ctx *ctx, int argc, char **argv)
{
	while (rv_getopt(ctx, argc, argv, "", NULL) != -1)
		rv_usage(ctx);
	if (argc - optind != 1)
		rv_usage(ctx);
	rv_out_begin(ctx, client_cols, 0);
	rv_check(ctx, policy_affected(rv_db(ctx), argv[optind], rv_emit_cb,
	    ctx, &ctx->err));
	return rv_finish_list(ctx);
}

static int
consent_policy(struct rv_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		rv_usage(ctx);
	if (strcmp(argv[1], "add") == 0)
		return policy_add_verb(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return policy_list_verb(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return policy_show_verb(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "affected") == 0)
		return policy_affected_verb(ctx, argc - 1, argv + 1);
	rv_bad_verb(ctx, argv[1]);
}

int
main(int argc, char *argv[])
{
	struct rv_ctx *ctx = rv_start("consent", usage_str, &argc, &argv);

	if (argc < 1)
		rv_usage(ctx);
	if (strcmp(argv[0], "grant") == 0)
		return consent_change(ctx, argc, argv, 1);
	if (strcmp(argv[0], "withdraw") == 0)
		return consent_change(ctx, argc, argv, 0);
	if (strcmp(argv[0], "status") == 0)
		return consent_status_verb(ctx, argc, argv);
	if (strcmp(argv[0], "history") == 0)
		return consent_history_verb(ctx, argc, argv);
	if (strcmp(argv[0], "receipt") == 0)
		return consent_receipt_verb(ctx, argc, argv);
	if (strcmp(argv[0], "token") == 0)
		return consent_token_verb(ctx, argc, argv);
	if (strcmp(argv[0], "unsubscribe") == 0)
		return consent_unsubscribe(ctx, argc, argv);
	if (strcmp(argv[0], "policy") == 0)
		return consent_policy(ctx, argc, argv);
	rv_bad_verb(ctx, argv[0]);
}
