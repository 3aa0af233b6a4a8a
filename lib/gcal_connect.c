/*
 * gcal_connect.c — OAuth 2.0 for installed apps: a loopback listener on
 * 127.0.0.1, PKCE (S256) and state, the code exchange, the granted scopes
 * checked, the account's email, the refresh token stored sealed; and
 * revocation at disconnect.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gcal.h"
#include "http.h"
#include "banned.h"

extern char **environ;

static const char scopes[] = GCAL_SCOPE_OPENID " " GCAL_SCOPE_EMAIL " "
    GCAL_SCOPE_CALENDAR;

static void
b64url(const uint8_t *in, size_t n, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, k = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];

		out[k++] = a[v >> 18 & 63];
		out[k++] = a[v >> 12 & 63];
		out[k++] = a[v >> 6 & 63];
		out[k++] = a[v & 63];
	}
	if (n - i == 1) {
		out[k++] = a[in[i] >> 2];
		out[k++] = a[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[k++] = a[v >> 10 & 63];
		out[k++] = a[v >> 4 & 63];
		out[k++] = a[(v & 15) << 2];
	}
	out[k] = '\0';
}

int
gcal_flow_begin(struct gcal *g, int port, struct gcal_flow *f,
    struct rv_err *e)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct rv_buf url = { 0 };
	uint8_t rnd[32], digest[32];
	char challenge[48];
	int rc;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if ((rc = crypt_init(e)) != 0)
		return rc;
	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->fd < 0)
		return rv_fail_errno(e, EX_OSERR, "socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(f->fd, 4) < 0 ||
	    getsockname(f->fd, (struct sockaddr *)&sa, &len) < 0) {
		rc = rv_fail_errno(e, EX_UNAVAILABLE, "cannot listen on "
		    "127.0.0.1:%d", port);
		gcal_flow_end(f);
		return rc;
	}
	f->port = ntohs(sa.sin_port);
	snprintf(f->redirect, sizeof(f->redirect), "http://127.0.0.1:%d/",
	    f->port);
	/* RFC 7636: a 43-character verifier from 32 random bytes. */
	crypt_random(rnd, sizeof(rnd));
	b64url(rnd, sizeof(rnd), f->verifier);
	crypt_sha256(f->verifier, strlen(f->verifier), digest);
	b64url(digest, sizeof(digest), challenge);
	crypt_random(rnd, 18);
	b64url(rnd, 18, f->state);
	rv_wipe(rnd, sizeof(rnd));
	buf_adds(&url, g->auth_url);
	gcal_query(&url, "client_id", g->client_id);
	gcal_query(&url, "redirect_uri", f->redirect);
	gcal_query(&url, "response_type", "code");
	gcal_query(&url, "scope", scopes);
	gcal_query(&url, "access_type", "offline");
	gcal_query(&url, "prompt", "consent");
	gcal_query(&url, "code_challenge", challenge);
	gcal_query(&url, "code_challenge_method", "S256");
	gcal_query(&url, "state", f->state);
	f->url = url.s;
	return 0;
}

int
gcal_flow_browse(const struct gcal_flow *f)
{
	const char *d = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");
	posix_spawn_file_actions_t fa;
	char *argv[3];
	pid_t pid;
	int rc;

	if ((d == NULL || *d == '\0') && (w == NULL || *w == '\0'))
		return 0;
	argv[0] = (char *)"xdg-open";
	argv[1] = f->url;
	argv[2] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc == 0;
}

void
gcal_flow_end(struct gcal_flow *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->url);
	f->url = NULL;
	rv_wipe(f->verifier, sizeof(f->verifier));
	/* Reap an xdg-open that has finished. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The decoded value of key in a query string, or NULL. */
static char *
query_value(const char *q, const char *key)
{
	size_t k = strlen(key);

	while (q != NULL && *q) {
		const char *end = q + strcspn(q, "&");

		if ((size_t)(end - q) > k && strncmp(q, key, k) == 0 &&
		    q[k] == '=') {
			struct rv_buf b = { 0 };
			const char *p;

			for (p = q + k + 1; p < end; p++) {
				if (*p == '+')
					buf_addc(&b, ' ');
				else if (*p == '%' && end - p > 2 &&
				    hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
					buf_addc(&b, (char)(hexval(p[1]) * 16 +
					    hexval(p[2])));
					p += 2;
				} else
					buf_addc(&b, *p);
			}
			buf_add(&b, "", 0);
			return b.s;
		}
		q = *end ? end + 1 : end;
	}
	return NULL;
}

static void
answer(int fd, int status, const char *title, const char *text)
{
	char body[1024], head[256];
	int n, m;

	n = snprintf(body, sizeof(body), "<!doctype html><html><head>"
	    "<meta charset=\"utf-8\"><title>riserva: %s</title></head><body>"
	    "<h1>%s</h1><p>%s</p></body></html>\n", title, title, text);
	m = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n"
	    "Cache-Control: no-store\r\n\r\n", status,
	    status == 200 ? "OK" : status == 404 ? "Not Found" :
	    "Bad Request", n);
	if (write(fd, head, (size_t)m) != m || write(fd, body, (size_t)n) != n)
		return;
}

/* Reads one request's head; its target into target. 0 when incomplete. */
static int
read_request(int fd, char *target, size_t n)
{
	char buf[8192];
	size_t len = 0;
	struct pollfd p = { fd, POLLIN, 0 };
	char *sp, *end;

	while (len < sizeof(buf) - 1) {
		ssize_t k;

		if (poll(&p, 1, 5000) <= 0)
			return 0;
		k = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			return 0;
		len += (size_t)k;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL ||
		    strstr(buf, "\n\n") != NULL)
			break;
	}
	if (strncmp(buf, "GET ", 4) != 0)
		return 0;
	sp = buf + 4;
	end = sp + strcspn(sp, " \r\n");
	if ((size_t)(end - sp) >= n)
		return 0;
	memcpy(target, sp, (size_t)(end - sp));
	target[end - sp] = '\0';
	rv_wipe(buf, sizeof(buf));
	return 1;
}

int
gcal_flow_wait(struct gcal_flow *f, long timeout_s, char **code,
    struct rv_err *e)
{
	time_t deadline = time(NULL) + timeout_s;
	char target[4096];
	int rc = 0;

	*code = NULL;
	for (;;) {
		struct pollfd p = { f->fd, POLLIN, 0 };
		long left = (long)(deadline - time(NULL));
		char *st, *cd, *err, *q;
		int c;

		if (left <= 0)
			return rv_fail(e, EX_TEMPFAIL, "no answer from the "
			    "browser within %ld s; run connect again",
			    timeout_s);
		c = poll(&p, 1, (int)(left > 3600 ? 3600000 : left * 1000));
		if (c < 0 && errno != EINTR)
			return rv_fail_errno(e, EX_OSERR, "poll");
		if (c <= 0)
			continue;
		if ((c = accept4(f->fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		if (!read_request(c, target, sizeof(target)) ||
		    (q = strchr(target, '?')) == NULL) {
			/* Not the redirect (a favicon, a probe): wait on. */
			answer(c, 404, "not here", "This is riserva's "
			    "connection listener.");
			close(c);
			continue;
		}
		q++;
		st = query_value(q, "state");
		cd = query_value(q, "code");
		err = query_value(q, "error");
		if (st == NULL && cd == NULL && err == NULL) {
			answer(c, 404, "not here", "This is riserva's "
			    "connection listener.");
			close(c);
			continue;
		}
		if (st == NULL || strcmp(st, f->state) != 0) {
			answer(c, 400, "not connected", "This answer does not "
			    "belong to the connection riserva started. Run "
			    "connect again.");
			rc = rv_fail(e, EX_NOPERM, "the redirect's state does "
			    "not match this attempt (a stale browser tab, or a "
			    "forged request): nothing stored; run connect "
			    "again");
		} else if (err != NULL) {
			answer(c, 400, "not connected", "Access was not "
			    "granted. You can close this tab.");
			rc = rv_fail(e, EX_NOPERM, "Google did not grant "
			    "access (%.64s): nothing stored", err);
		} else if (cd == NULL || *cd == '\0') {
			answer(c, 400, "not connected", "No authorization "
			    "code came back.");
			rc = rv_fail(e, EX_NOPERM, "the redirect carried no "
			    "authorization code");
		} else {
			answer(c, 200, "authorization received", "riserva "
			    "has the answer; you can close this tab and "
			    "return to the terminal.");
			*code = cd;
			cd = NULL;
		}
		close(c);
		free(st);
		gcal_secret_free(cd);
		free(err);
		rv_wipe(target, sizeof(target));
		return rc;
	}
}

static int
has_scope(const char *list, const char *want)
{
	size_t k = strlen(want);
	const char *p = list;

	while (p != NULL && *p) {
		size_t n = strcspn(p, " ");

		if (n == k && strncmp(p, want, k) == 0)
			return 1;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

/* Best effort: a grant we will not keep is given back. */
static void
revoke_token(struct gcal *g, const char *tok)
{
	struct rv_buf form = { 0 };
	struct gresp r;
	struct rv_err ignored;

	http_form_add(&form, "token", tok);
	if (gcal_post_form(g, g->revoke_url, &form, 1, &r, &ignored) == 0)
		gresp_free(&r);
}

static int
userinfo_email(struct gcal *g, const char *access, char **email,
    struct rv_err *e)
{
	struct gcal_req q = { 0 };
	struct gresp r;
	const char *s;
	int rc;

	*email = NULL;
	q.method = "GET";
	q.url = g->userinfo_url;
	q.bearer = access;
	if ((rc = gcal_http(g, &q, &r, e)) != 0)
		return rc;
	if (r.status != 200) {
		rc = gcal_unexpected("userinfo", &r, e);
	} else if ((s = json_string_value(json_object_get(r.json, "email"))) ==
	    NULL || check_email(s, NULL) != 0) {
		rc = rv_fail(e, EX_NOPERM, "Google did not tell the account's "
		    "email (the userinfo.email permission was not granted)");
	} else {
		*email = xstrdup(s);
	}
	gresp_free(&r);
	return rc;
}

/* 1 when staff_id is connected already, to the account email when it is
 * not NULL. */
static int
connected_as(struct gcal *g, int64_t staff_id, const char *email)
{
	static const char sql[] =
	    "SELECT email FROM gcal_account WHERE staff_id = ?";
	struct rv_err ignored;
	sqlite3_stmt *st;
	int found = 0;

	if (db_prepare(g->db, sql, &st, &ignored) != 0)
		return 0;
	sqlite3_bind_int64(st, 1, staff_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		found = email == NULL || strcasecmp((const char *)
		    sqlite3_column_text(st, 0), email) == 0;
	sqlite3_finalize(st);
	return found;
}

/* Connecting another account in place of one: the old grant is given
 * back (best effort). Not for the same account (another calendar of it):
 * Google would revoke the grant just made with it. */
static void
revoke_replaced(struct gcal *g, int64_t staff_id, const char *email)
{
	struct rv_err ignored;
	char *old = NULL;

	if (!connected_as(g, staff_id, NULL) ||
	    connected_as(g, staff_id, email) ||
	    gcal_token_get(g->db, g->key, staff_id, "refresh_token", &old,
	    NULL, &ignored) != 0 || old == NULL)
		return;
	revoke_token(g, old);
	gcal_secret_free(old);
}

/* The calendar to sync must be there, and ours to write: a typo in
 * --calendar, or a calendar only shared for reading, would otherwise fail
 * every sync to come. One events.list of one event tells both. */
static int
check_calendar(struct gcal *g, const char *access, const char *calendar,
    const char *email, struct rv_err *e)
{
	struct rv_buf url = { 0 };
	struct gcal_req q = { 0 };
	struct gresp r;
	const char *role;
	int rc;

	buf_printf(&url, "%s/calendars/", g->api_url);
	http_url_escape(&url, calendar);
	buf_adds(&url, "/events");
	gcal_query(&url, "maxResults", "1");
	q.method = "GET";
	q.url = url.s;
	q.bearer = access;
	rc = gcal_http(g, &q, &r, e);
	buf_free(&url);
	if (rc != 0)
		return rc;
	role = json_string_value(json_object_get(r.json, "accessRole"));
	if (r.status == 404)
		rc = rv_fail(e, EX_NOINPUT, "not connected: the Google account "
		    "%s has no calendar '%.250s' (check --calendar); nothing "
		    "stored", email, calendar);
	else if (r.status != 200)
		rc = gcal_unexpected("events.list", &r, e);
	else if (role != NULL && strcmp(role, "writer") != 0 &&
	    strcmp(role, "owner") != 0)
		rc = rv_fail(e, EX_NOPERM, "not connected: %s may only read "
		    "the calendar '%.250s' (%s), and riserva writes the "
		    "bookings there; choose another with --calendar; nothing "
		    "stored", email, calendar, role);
	gresp_free(&r);
	return rc;
}

int
gcal_connect_finish(struct gcal *g, int64_t staff_id, const char *calendar,
    struct gcal_flow *f, const char *code, json_t **rec, struct rv_err *e)
{
	struct gcal_new_account a = { 0 };
	struct rv_buf form = { 0 }, missing = { 0 };
	struct gresp r = { 0 };
	const char *access, *refresh, *granted;
	char *email = NULL;
	long ttl;
	int rc;

	*rec = NULL;
	http_form_add(&form, "grant_type", "authorization_code");
	http_form_add(&form, "code", code);
	http_form_add(&form, "redirect_uri", f->redirect);
	http_form_add(&form, "code_verifier", f->verifier);
	gcal_form_client(g, &form);
	/* A code is good once: no blind retry after a network failure. */
	if ((rc = gcal_post_form(g, g->token_url, &form, 0, &r, e)) != 0)
		return rc;
	if (r.status != 200) {
		if (gcal_reason_is(r.reason, "invalid_grant"))
			rc = rv_fail(e, EX_NOPERM, "Google refused the "
			    "authorization code (invalid_grant%s%s): run "
			    "connect again", r.message[0] ? ": " : "",
			    r.message);
		else if (gcal_reason_is(r.reason, "invalid_client"))
			rc = rv_fail(e, EX_CONFIG, "Google refused the OAuth "
			    "client (invalid_client): check google.client_id "
			    "and its secret");
		else
			rc = gcal_unexpected("code exchange", &r, e);
		goto out;
	}
	access = json_string_value(json_object_get(r.json, "access_token"));
	refresh = json_string_value(json_object_get(r.json, "refresh_token"));
	granted = json_string_value(json_object_get(r.json, "scope"));
	ttl = (long)json_integer_value(json_object_get(r.json, "expires_in"));
	if (access == NULL || *access == '\0') {
		rc = rv_fail(e, EX_UNAVAILABLE, "google: code exchange: no "
		    "access_token in the answer");
		goto out;
	}
	/* Granular consent: the user may untick what we asked for. */
	if (granted == NULL)
		granted = "";
	if (!has_scope(granted, GCAL_SCOPE_CALENDAR))
		buf_printf(&missing, "%s", GCAL_SCOPE_CALENDAR);
	if (!has_scope(granted, GCAL_SCOPE_EMAIL) &&
	    !has_scope(granted, "email"))
		buf_printf(&missing, "%s%s", missing.len ? ", " : "",
		    GCAL_SCOPE_EMAIL);
	if (missing.len > 0) {
		revoke_token(g, refresh != NULL ? refresh : access);
		rc = rv_fail(e, EX_NOPERM, "not connected: the permissions "
		    "granted lack %s (grant them all when Google asks); the "
		    "partial grant was revoked and nothing stored",
		    missing.s);
		goto out;
	}
	if (refresh == NULL || *refresh == '\0') {
		revoke_token(g, access);
		rc = rv_fail(e, EX_UNAVAILABLE, "google: code exchange: no "
		    "refresh_token in the answer; nothing stored");
		goto out;
	}
	if ((rc = userinfo_email(g, access, &email, e)) != 0) {
		revoke_token(g, refresh);
		goto out;
	}
	if ((rc = check_calendar(g, access, calendar, email, e)) != 0) {
		/* The account connected already keeps its grant. */
		if (!connected_as(g, staff_id, email))
			revoke_token(g, refresh);
		goto out;
	}
	if ((rc = gcal_key(g, e)) != 0) {
		revoke_token(g, refresh);
		goto out;
	}
	revoke_replaced(g, staff_id, email);
	if ((rc = db_begin(g->db, e)) != 0) {
		revoke_token(g, refresh);
		goto out;
	}
	a.staff_id = staff_id;
	a.email = email;
	a.calendar = calendar;
	a.scopes = granted;
	a.refresh_token = refresh;
	a.access_token = access;
	a.access_expires = (int64_t)time(NULL) + (ttl > 0 ? ttl : 3600);
	if ((rc = gcal_instance(g->db, g->instance, e)) != 0 ||
	    (rc = gcal_account_save(g->db, g->who, g->key, &a, e)) != 0 ||
	    (rc = db_commit(g->db, e)) != 0) {
		db_rollback(g->db);
		revoke_token(g, refresh);
		goto out;
	}
	rc = gcal_account_record(g->db, staff_id, rec, e);
out:
	if (r.json != NULL) {
		/* The tokens live in the parsed reply: wipe them there. */
		const char *keys[] = { "access_token", "refresh_token",
			"id_token" };
		size_t i;

		for (i = 0; i < 3; i++) {
			const char *s = json_string_value(json_object_get(
			    r.json, keys[i]));

			if (s != NULL)
				rv_wipe((char *)s, strlen(s));
		}
	}
	gresp_free(&r);
	buf_free(&missing);
	free(email);
	return rc;
}

static void
drop_suffix(char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	if (n >= k && strcmp(s + n - k, suffix) == 0)
		s[n - k] = '\0';
}

int
gcal_revoke(struct gcal *g, int64_t staff_id, int *revoked, struct rv_err *e)
{
	struct rv_buf form = { 0 };
	struct gresp r;
	char *tok = NULL;
	int rc;

	*revoked = 0;
	if ((rc = gcal_key(g, e)) != 0 ||
	    (rc = gcal_token_get(g->db, g->key, staff_id, "refresh_token",
	    &tok, NULL, e)) != 0)
		return rc;
	if (tok == NULL || *tok == '\0') {
		gcal_secret_free(tok);
		return 0;
	}
	http_form_add(&form, "token", tok);
	gcal_secret_free(tok);
	if ((rc = gcal_post_form(g, g->revoke_url, &form, 1, &r, e)) != 0) {
		if (rc == EX_TEMPFAIL)
			rc = e->code = EX_UNAVAILABLE;
		/* There is no later: the tokens go whatever Google said. */
		drop_suffix(e->msg, "; try again later");
		return rc;
	}
	/* invalid_token: revoked already (by the user, or an earlier run). */
	if (r.status == 200 || gcal_reason_is(r.reason, "invalid_token"))
		*revoked = 1;
	else
		rc = gcal_unexpected("revoke", &r, e) ? EX_UNAVAILABLE : 0;
	if (rc != 0)
		e->code = rc;
	gresp_free(&r);
	return rc;
}
