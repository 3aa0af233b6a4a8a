/*
 * gcal_api.c — talking to Google: a run's settings from the config, requests
 * with bounded backoff (429, 5xx and the 403 rate limits; quotaExceeded
 * stops the run), OAuth access tokens, and an operator's Calendar session.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gcal.h"
#include "http.h"
#include "banned.h"

static int
check_url(const struct rv_conf *conf, const char *key, char **out,
    struct rv_err *e)
{
	const char *s = conf_get(conf, key);

	if (s == NULL || (strncmp(s, "https://", 8) != 0 &&
	    strncmp(s, "http://", 7) != 0))
		return rv_fail(e, EX_CONFIG, "config %s: '%s' is not an "
		    "http(s) URL", key, s ? s : "");
	/* Tokens and the client secret travel there: in clear only to a
	 * server on this machine. */
	if (strncmp(s, "http://", 7) == 0 && !http_is_loopback(s))
		return rv_fail(e, EX_CONFIG, "config %s: '%s' is plain http to "
		    "another machine, and the tokens would cross the network "
		    "in clear: use https://", key, s);
	*out = xstrdup(s);
	/* No trailing slash: paths are appended. */
	while (strlen(*out) > 8 && (*out)[strlen(*out) - 1] == '/')
		(*out)[strlen(*out) - 1] = '\0';
	return 0;
}

/* {service} {name} {initial} {surname}, and {{ }} for braces. */
static int
check_template(const char *t, struct rv_err *e)
{
	static const char *const known[] = { "service", "name", "initial",
		"surname", NULL };
	const char *p, *end;
	size_t i, n;

	for (p = t; *p; p++) {
		if (p[0] == '{' && p[1] == '{') {
			p++;
			continue;
		}
		if (p[0] == '}' && p[1] == '}') {
			p++;
			continue;
		}
		if (*p != '{')
			continue;
		if ((end = strchr(p, '}')) == NULL)
			return rv_fail(e, EX_CONFIG, "config "
			    "google.event_title: '{' without '}'");
		n = (size_t)(end - p - 1);
		for (i = 0; known[i] != NULL; i++)
			if (strlen(known[i]) == n &&
			    strncmp(p + 1, known[i], n) == 0)
				break;
		if (known[i] == NULL)
			return rv_fail(e, EX_CONFIG, "config "
			    "google.event_title: unknown placeholder '%.*s' "
			    "(use {service}, {name}, {initial}, {surname})",
			    (int)(end - p + 1), p);
		p = end;
	}
	return 0;
}

/* A secret file: ours alone, its first line (or, for the JSON Google's
 * console downloads, installed.client_secret). */
static int
read_secret_file(const char *path, char **secret, char **client_id,
    struct rv_err *e)
{
	char buf[4096];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	*secret = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return rv_fail_errno(e, EX_CONFIG, "config "
		    "google.client_secret_file: cannot read %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = rv_fail(e, EX_CONFIG, "config google.client_secret_file: "
		    "%s is not a file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		rc = rv_fail(e, EX_CONFIG, "client secret file %s can be read "
		    "by others (mode %03o); fix it with: chmod 600 %s", path,
		    (unsigned)(st.st_mode & 0777), path);
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		rc = rv_fail_errno(e, EX_CONFIG, "cannot read %s", path);
		goto out;
	}
	buf[n] = '\0';
	if (buf[strspn(buf, " \t\r\n")] == '{') {
		json_error_t je;
		json_t *j = json_loads(buf, 0, &je), *inst;
		const char *s, *id;

		inst = json_object_get(j, "installed");
		s = json_string_value(json_object_get(inst, "client_secret"));
		id = json_string_value(json_object_get(inst, "client_id"));
		if (s == NULL)
			rc = rv_fail(e, EX_CONFIG, "%s: no "
			    "installed.client_secret (expected the JSON of a "
			    "Desktop app client)", path);
		else
			*secret = xstrdup(s);
		if (s != NULL && id != NULL && client_id != NULL &&
		    *client_id == NULL)
			*client_id = xstrdup(id);
		if (j != NULL) {
			/* jansson keeps the string: wipe it before freeing. */
			if (s != NULL)
				rv_wipe((char *)s, strlen(s));
			json_decref(j);
		}
	} else {
		buf[strcspn(buf, "\r\n")] = '\0';
		*secret = xstrdup(buf);
	}
out:
	rv_wipe(buf, sizeof(buf));
	close(fd);
	return rc;
}

static int
client_secret(struct gcal *g, const struct rv_conf *conf, struct rv_err *e)
{
	const char *s = conf_get(conf, "google.client_secret");
	const char *file = conf_get(conf, "google.client_secret_file");
	const char *env = getenv("RISERVA_GOOGLE_CLIENT_SECRET");
	struct stat st;

	if (s != NULL && *s != '\0') {
		/* From the config file, only when the file is ours alone. */
		if ((env == NULL || *env == '\0') &&
		    stat(conf_path(), &st) == 0 && (st.st_mode & 077))
			return rv_fail(e, EX_CONFIG, "google.client_secret is "
			    "in %s, which others can read: move it to "
			    "google.client_secret_file or "
			    "RISERVA_GOOGLE_CLIENT_SECRET, or chmod 600 %s",
			    conf_path(), conf_path());
		g->client_secret = xstrdup(s);
		return 0;
	}
	if (file != NULL && *file != '\0')
		return read_secret_file(file, &g->client_secret,
		    &g->client_id, e);
	return 0;
}

int
gcal_open(struct gcal *g, sqlite3 *db, const struct rv_conf *conf,
    const struct rv_who *w, int need_client, struct rv_err *e)
{
	const char *s;
	int64_t secs;
	int rc;

	memset(g, 0, sizeof(*g));
	g->db = db;
	g->who = w;
	if ((rc = check_url(conf, "google.api_url", &g->api_url, e)) != 0 ||
	    (rc = check_url(conf, "google.auth_url", &g->auth_url, e)) != 0 ||
	    (rc = check_url(conf, "google.token_url", &g->token_url, e)) != 0 ||
	    (rc = check_url(conf, "google.revoke_url", &g->revoke_url, e)) !=
	    0 || (rc = check_url(conf, "google.userinfo_url",
	    &g->userinfo_url, e)) != 0)
		return rc;
	s = conf_get(conf, "google.client_id");
	if (s != NULL && *s != '\0')
		g->client_id = xstrdup(s);
	if (need_client && (rc = client_secret(g, conf, e)) != 0)
		return rc;
	if (need_client && g->client_id == NULL)
		return rv_fail(e, EX_CONFIG, "google.client_id is not set: "
		    "create an OAuth client of type Desktop app in the Google "
		    "Cloud console and set google.client_id (and its secret)");
	s = conf_get(conf, "google.event_title");
	if ((rc = check_template(s, e)) != 0)
		return rc;
	g->title_tpl = xstrdup(s);
	s = conf_get(conf, "google.busy_title");
	if (s == NULL || *s == '\0')
		s = strcmp(conf_get(conf, "clinic.locale"), "it") == 0 ?
		    "Occupato" : "Busy";
	g->busy_title = xstrdup(s);
	if ((rc = conf_bool(conf, "google.import_titles", &g->import_titles,
	    e)) != 0 ||
	    (rc = conf_int(conf, "google.resync_days", 1, 3650,
	    &g->resync_days, e)) != 0 ||
	    (rc = conf_int(conf, "google.page_size", 1, 2500, &g->page_size,
	    e)) != 0 ||
	    (rc = conf_int(conf, "google.retry_attempts", 1, 20, &g->attempts,
	    e)) != 0 ||
	    (rc = conf_int(conf, "google.retry_base_ms", 1, 60000,
	    &g->base_ms, e)) != 0 ||
	    (rc = conf_int(conf, "google.retry_max_ms", 1, 3600000,
	    &g->max_ms, e)) != 0)
		return rc;
	if (g->max_ms < g->base_ms)
		return rv_fail(e, EX_CONFIG, "config google.retry_max_ms is "
		    "below google.retry_base_ms");
	if ((rc = conf_duration(conf, "google.timeout", &secs, e)) != 0)
		return rc;
	g->timeout_ms = (long)(secs > 3600 ? 3600 : secs) * 1000;
	if ((rc = conf_duration(conf, "google.connect_timeout", &secs, e)) != 0)
		return rc;
	g->connect_timeout_s = (long)(secs > 86400 ? 86400 : secs);
	return 0;
}

void
gcal_close(struct gcal *g)
{
	free(g->api_url);
	free(g->auth_url);
	free(g->token_url);
	free(g->revoke_url);
	free(g->userinfo_url);
	free(g->client_id);
	gcal_secret_free(g->client_secret);
	free(g->title_tpl);
	free(g->busy_title);
	rv_wipe(g->key, sizeof(g->key));
	http_cleanup();
	memset(g, 0, sizeof(*g));
}

int
gcal_key(struct gcal *g, struct rv_err *e)
{
	int rc;

	if (g->have_key)
		return 0;
	if ((rc = keys_get(g->db, RV_KEY_FIELD, g->key, &g->key_created,
	    e)) != 0)
		return rc;
	g->have_key = 1;
	return 0;
}

/* ---- requests ---- */

void
gresp_free(struct gresp *r)
{
	json_decref(r->json);
	r->json = NULL;
}

/* Error reasons compare without case or underscores: Google writes both
 * rateLimitExceeded and RATE_LIMIT_EXCEEDED. */
int
gcal_reason_is(const char *reason, const char *want)
{
	const char *a = reason, *b = want;

	for (;;) {
		while (*a == '_')
			a++;
		while (*b == '_')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
		a++;
		b++;
	}
}

/* The reason and message of an error body, in either of Google's shapes
 * (the API's {"error": {...}} and OAuth's {"error": "...", ...}). */
static void
error_reason(struct gresp *r)
{
	json_t *err = json_object_get(r->json, "error"), *x;
	const char *s;

	r->reason[0] = r->message[0] = '\0';
	if (json_is_string(err)) {
		snprintf(r->reason, sizeof(r->reason), "%s",
		    json_string_value(err));
		s = json_string_value(json_object_get(r->json,
		    "error_description"));
		snprintf(r->message, sizeof(r->message), "%s", s ? s : "");
		return;
	}
	if (!json_is_object(err))
		return;
	s = json_string_value(json_object_get(err, "message"));
	snprintf(r->message, sizeof(r->message), "%s", s ? s : "");
	x = json_array_get(json_object_get(err, "errors"), 0);
	if ((s = json_string_value(json_object_get(x, "reason"))) == NULL) {
		x = json_array_get(json_object_get(err, "details"), 0);
		s = json_string_value(json_object_get(x, "reason"));
	}
	if (s == NULL)
		s = json_string_value(json_object_get(err, "status"));
	snprintf(r->reason, sizeof(r->reason), "%s", s ? s : "");
}

static int
is_rate_limit(const struct gresp *r)
{
	return gcal_reason_is(r->reason, "rateLimitExceeded") ||
	    gcal_reason_is(r->reason, "userRateLimitExceeded");
}

/* Calendar's usage limits of one account (quotaExceeded): that account
 * waits; the project's daily limit (dailyLimitExceeded): everyone does. */
static int
is_quota(const struct gresp *r)
{
	return gcal_reason_is(r->reason, "quotaExceeded");
}

static int
is_project_quota(const struct gresp *r)
{
	return gcal_reason_is(r->reason, "dailyLimitExceeded");
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* What a request names in messages: the method and the URL without its
 * query (page and sync tokens are noise there). */
static void
what_of(const char *method, const char *url, char *out, size_t n)
{
	snprintf(out, n, "%s %.*s", method, (int)strcspn(url, "?"), url);
}

/* http_do says "METHOD URL: why"; we say which call and that nothing is
 * lost. */
static int
unreachable(struct rv_err *e, const struct http_req *req, const char *what)
{
	char why[sizeof(e->msg)];
	size_t k = strlen(req->method) + 1 + strlen(req->url) + 2;

	if (strlen(e->msg) > k && strncmp(e->msg, req->method,
	    strlen(req->method)) == 0)
		snprintf(why, sizeof(why), "%s", e->msg + k);
	else
		snprintf(why, sizeof(why), "%s", e->msg);
	return rv_fail(e, EX_UNAVAILABLE, "google: %s: %s (cannot reach "
	    "Google; nothing is lost, run again later)", what, why);
}

int
gcal_http(struct gcal *g, const struct gcal_req *q, struct gresp *out,
    struct rv_err *e)
{
	struct http_retry p = { (int)g->attempts, g->base_ms, g->max_ms };
	struct http_resp resp;
	struct http_req req = { 0 };
	const char *hdr[2] = { NULL, NULL };
	char im[300], what[300];
	int n, rc;

	memset(out, 0, sizeof(*out));
	req.method = q->method;
	req.url = q->url;
	req.content_type = q->body != NULL ? q->content_type : NULL;
	req.body = q->body;
	req.body_len = q->body != NULL ? strlen(q->body) : 0;
	req.bearer = q->bearer;
	req.timeout_ms = g->timeout_ms;
	if (q->if_match != NULL) {
		snprintf(im, sizeof(im), "If-Match: %s", q->if_match);
		hdr[0] = im;
		req.headers = hdr;
	}
	what_of(q->method, q->url, what, sizeof(what));
	for (n = 1;; n++) {
		long wait;

		g->requests++;
		rc = http_do(&req, &resp, e);
		if (rc != 0) {
			if (!q->no_retry_network && n < p.attempts) {
				sleep_ms(http_backoff_ms(&p, n, -1));
				continue;
			}
			return unreachable(e, &req, what);
		}
		out->status = resp.status;
		snprintf(out->etag, sizeof(out->etag), "%s", resp.etag);
		if (resp.body.len > 0) {
			json_error_t je;

			out->json = json_loadb(resp.body.s, resp.body.len, 0,
			    &je);
		}
		wait = resp.retry_after;
		http_resp_free(&resp);
		if (out->status >= 400)
			error_reason(out);
		if (is_project_quota(out)) {
			g->quota = 1;
			rc = rv_fail(e, EX_TEMPFAIL, "google: %s: HTTP %ld %s: "
			    "the project's daily Calendar API limit is used up; "
			    "sync stopped, try again later", what, out->status,
			    out->reason);
			gresp_free(out);
			return rc;
		}
		if (is_quota(out)) {
			rc = rv_fail(e, EX_TEMPFAIL, "google: %s: HTTP %ld %s: "
			    "the account has reached Google Calendar's usage "
			    "limits; its sync stopped, try again later", what,
			    out->status, out->reason);
			gresp_free(out);
			return rc;
		}
		if (out->status != 429 && out->status < 500 &&
		    !(out->status == 403 && is_rate_limit(out)))
			return 0;
		if (n >= p.attempts) {
			rc = rv_fail(e, EX_TEMPFAIL, "google: %s: HTTP %ld%s%s "
			    "after %d tries; try again later", what,
			    out->status, out->reason[0] ? " " : "", out->reason,
			    n);
			gresp_free(out);
			return rc;
		}
		gresp_free(out);
		sleep_ms(http_backoff_ms(&p, n, wait));
	}
}

/* A failure named by the request and Google's own words. */
int
gcal_unexpected(const char *what, const struct gresp *r, struct rv_err *e)
{
	return rv_fail(e, r->status >= 400 && r->status < 500 ?
	    EX_SOFTWARE : EX_UNAVAILABLE, "google: %s: HTTP %ld%s%s%s%s", what,
	    r->status, r->reason[0] ? " " : "", r->reason,
	    r->message[0] ? ": " : "", r->message);
}

/* ---- OAuth tokens ---- */

void
gcal_form_client(struct gcal *g, struct rv_buf *form)
{
	http_form_add(form, "client_id", g->client_id);
	if (g->client_secret != NULL && *g->client_secret != '\0')
		http_form_add(form, "client_secret", g->client_secret);
}

int
gcal_post_form(struct gcal *g, const char *url, struct rv_buf *form,
    int retry_network, struct gresp *r, struct rv_err *e)
{
	struct gcal_req q = { 0 };
	int rc;

	q.method = "POST";
	q.url = url;
	q.content_type = "application/x-www-form-urlencoded";
	q.body = form->s;
	q.no_retry_network = !retry_network;
	rc = gcal_http(g, &q, r, e);
	rv_wipe(form->s, form->cap);
	buf_free(form);
	return rc;
}

/* A fresh access token from the refresh token, sealed and stored. */
static int
refresh_access(struct gcal *g, int64_t staff_id, char **access,
    struct rv_err *e)
{
	struct rv_buf form = { 0 };
	struct gresp r;
	char *refresh = NULL;
	const char *tok, *rt;
	long ttl;
	int rc;

	if ((rc = gcal_token_get(g->db, g->key, staff_id, "refresh_token",
	    &refresh, NULL, e)) != 0)
		return rc;
	if (refresh == NULL || *refresh == '\0') {
		gcal_secret_free(refresh);
		return rv_fail(e, EX_NOPERM, "no refresh token stored: "
		    "reconnect with gcal-sync connect");
	}
	http_form_add(&form, "grant_type", "refresh_token");
	http_form_add(&form, "refresh_token", refresh);
	gcal_secret_free(refresh);
	gcal_form_client(g, &form);
	if ((rc = gcal_post_form(g, g->token_url, &form, 1, &r, e)) != 0)
		return rc;
	if (r.status != 200) {
		if (gcal_reason_is(r.reason, "invalid_grant"))
			rc = rv_fail(e, EX_NOPERM, "google: the authorization "
			    "was revoked or has expired (invalid_grant): "
			    "reconnect with gcal-sync connect");
		else if (gcal_reason_is(r.reason, "invalid_client"))
			rc = rv_fail(e, EX_CONFIG, "google: the OAuth client "
			    "was refused (invalid_client): check "
			    "google.client_id and its secret");
		else
			rc = gcal_unexpected("token refresh", &r, e);
		gresp_free(&r);
		return rc;
	}
	tok = json_string_value(json_object_get(r.json, "access_token"));
	ttl = (long)json_integer_value(json_object_get(r.json, "expires_in"));
	rt = json_string_value(json_object_get(r.json, "refresh_token"));
	if (tok == NULL || *tok == '\0') {
		rc = rv_fail(e, EX_UNAVAILABLE, "google: token refresh: no "
		    "access_token in the answer");
		goto out;
	}
	*access = xstrdup(tok);
	if ((rc = db_begin(g->db, e)) != 0)
		goto out;
	/* Google may rotate the refresh token: keep the new one. */
	if ((rc = gcal_token_put_access(g->db, g->key, staff_id, tok,
	    (int64_t)time(NULL) + (ttl > 0 ? ttl : 3600), e)) != 0 ||
	    (rt != NULL && *rt != '\0' && (rc = gcal_token_put_refresh(g->db,
	    g->key, staff_id, rt, e)) != 0) ||
	    (rc = db_commit(g->db, e)) != 0)
		db_rollback(g->db);
out:
	if (tok != NULL)
		rv_wipe((char *)tok, strlen(tok));
	if (rt != NULL)
		rv_wipe((char *)rt, strlen(rt));
	gresp_free(&r);
	return rc;
}

/* ---- an operator's Calendar session ---- */

int
gsess_open(struct gcal *g, int64_t staff_id, struct gsess *s,
    struct rv_err *e)
{
	sqlite3_stmt *st;
	int64_t expires;
	int rc;

	memset(s, 0, sizeof(*s));
	s->g = g;
	s->staff_id = staff_id;
	if ((rc = gcal_key(g, e)) != 0)
		return rc;
	if ((rc = db_prepare(g->db, "SELECT calendar FROM gcal_account "
	    "WHERE staff_id = ?", &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, staff_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		buf_printf(&s->events_url, "%s/calendars/", g->api_url);
		http_url_escape(&s->events_url,
		    (const char *)sqlite3_column_text(st, 0));
		buf_adds(&s->events_url, "/events");
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? rv_fail(e, EX_NOINPUT, "staff member "
		    "%lld has no connected calendar", (long long)staff_id) :
		    db_fail(g->db, rc, e, "calendar account");
	}
	sqlite3_finalize(st);
	if (rc != 0)
		return rc;
	if ((rc = gcal_token_get(g->db, g->key, staff_id, "access_token",
	    &s->access, &expires, e)) != 0)
		return rc;
	/* A minute's margin: a token must outlive the request it rides. */
	if (s->access != NULL && expires > (int64_t)time(NULL) + 60)
		return 0;
	gcal_secret_free(s->access);
	s->access = NULL;
	return refresh_access(g, staff_id, &s->access, e);
}

void
gsess_close(struct gsess *s)
{
	gcal_secret_free(s->access);
	s->access = NULL;
	buf_free(&s->events_url);
}

int
gsess_call(struct gsess *s, const char *method, const char *url,
    json_t *body, const char *if_match, struct gresp *r, struct rv_err *e)
{
	struct gcal_req q = { 0 };
	char *text = NULL;
	int rc, again = 0;

	if (body != NULL)
		text = json_dumps(body, JSON_COMPACT);
	q.method = method;
	q.url = url;
	q.content_type = "application/json";
	q.body = text;
	q.if_match = if_match;
	for (;;) {
		q.bearer = s->access;
		if ((rc = gcal_http(s->g, &q, r, e)) != 0)
			break;
		/* An access token revoked or expired early: one refresh. */
		if (r->status != 401 || again++)
			break;
		gresp_free(r);
		gcal_secret_free(s->access);
		s->access = NULL;
		if ((rc = refresh_access(s->g, s->staff_id, &s->access, e)) !=
		    0)
			break;
	}
	free(text);
	return rc;
}

/* ?key=value&... onto a URL, escaped. */
void
gcal_query(struct rv_buf *url, const char *key, const char *value)
{
	buf_addc(url, strchr(url->s, '?') != NULL ? '&' : '?');
	http_url_escape(url, key);
	buf_addc(url, '=');
	http_url_escape(url, value);
}
