/* http.c — libcurl requests with one kept-alive handle, and bounded retry. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http.h"
#include "banned.h"

static CURL *handle;

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_resp *resp = arg;
	size_t len = size * n, k;
	char line[512];

	buf_add(&resp->headers, p, len);
	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	while (len > 0 && isspace((unsigned char)line[len - 1]))
		line[--len] = '\0';
	if (strncasecmp(line, "Retry-After:", 12) == 0) {
		long v;
		const char *s = line + 12;

		while (*s == ' ')
			s++;
		if (parse_int(s, 0, 86400, &v))
			resp->retry_after = v;
	} else if (strncasecmp(line, "ETag:", 5) == 0) {
		const char *s = line + 5;

		while (*s == ' ')
			s++;
		k = strlen(s);
		if (k < sizeof(resp->etag))
			memcpy(resp->etag, s, k + 1);
	}
	return size * n;
}

int
http_do(const struct http_req *r, struct http_resp *resp, struct rv_err *e)
{
	struct curl_slist *hdr = NULL;
	struct rv_buf auth = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	size_t i;
	int rc = 0;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	if (handle == NULL) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		if ((handle = curl_easy_init()) == NULL)
			return rv_fail(e, EX_SOFTWARE, "curl_easy_init failed");
	} else {
		curl_easy_reset(handle);	/* keeps the live connections */
	}
	curl_easy_setopt(handle, CURLOPT_URL, r->url);
	curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
	    r->timeout_ms > 0 ? r->timeout_ms : 30000L);
	curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(handle, CURLOPT_WRITEDATA, &resp->body);
	curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(handle, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(handle, CURLOPT_USERAGENT, "riserva/" RV_VERSION);
	if (strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
	if (r->body != NULL) {
		curl_easy_setopt(handle, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)r->body_len);
	}
	if (r->content_type != NULL) {
		struct rv_buf ct = { 0 };

		buf_printf(&ct, "Content-Type: %s", r->content_type);
		hdr = curl_slist_append(hdr, ct.s);
		buf_free(&ct);
	}
	hdr = curl_slist_append(hdr, "Accept: application/json");
	/* No "Expect: 100-continue" round trip on larger bodies. */
	hdr = curl_slist_append(hdr, "Expect:");
	if (r->bearer != NULL) {
		buf_printf(&auth, "Authorization: Bearer %s", r->bearer);
		hdr = curl_slist_append(hdr, auth.s);
	}
	for (i = 0; r->headers != NULL && r->headers[i] != NULL; i++)
		hdr = curl_slist_append(hdr, r->headers[i]);
	curl_easy_setopt(handle, CURLOPT_HTTPHEADER, hdr);
	cc = curl_easy_perform(handle);
	if (cc != CURLE_OK) {
		rc = rv_fail(e, EX_UNAVAILABLE, "%s %s: %s", r->method, r->url,
		    errbuf[0] ? errbuf : curl_easy_strerror(cc));
		buf_free(&resp->body);
		buf_free(&resp->headers);
	} else {
		curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE,
		    &resp->status);
		buf_add(&resp->body, "", 0);
	}
	curl_easy_setopt(handle, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	if (auth.s != NULL)
		rv_wipe(auth.s, auth.len);
	buf_free(&auth);
	return rc;
}

long
http_backoff_ms(const struct http_retry *p, int n, long retry_after)
{
	static int seeded;
	long wait = p->base_ms;
	int i;

	/* Each process its own jitter, whichever caller backs off first. */
	if (!seeded) {
		srandom((unsigned)time(NULL) ^ (unsigned)getpid());
		seeded = 1;
	}
	for (i = 1; i < n && wait < p->max_ms; i++)
		wait *= 2;
	if (wait > p->max_ms)
		wait = p->max_ms;
	/* Full jitter in the upper half: spreads clients without stalling. */
	wait = wait / 2 + (wait > 1 ? (long)(random() % (wait / 2 + 1)) : 0);
	if (retry_after >= 0 && retry_after * 1000 > wait)
		wait = retry_after * 1000 > p->max_ms ? p->max_ms :
		    retry_after * 1000;
	return wait;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int
http_do_retry(const struct http_req *r, const struct http_retry *p,
    struct http_resp *resp, int *tries, struct rv_err *e)
{
	int n, rc = 0;

	for (n = 1;; n++) {
		rc = http_do(r, resp, e);
		if (tries != NULL)
			*tries = n;
		if (rc == 0 && resp->status != 429 && resp->status < 500)
			return 0;
		if (n >= p->attempts)
			return rc;
		sleep_ms(http_backoff_ms(p, n, rc == 0 ? resp->retry_after :
		    -1));
		if (rc == 0)
			http_resp_free(resp);
	}
}

void
http_resp_free(struct http_resp *resp)
{
	buf_free(&resp->body);
	buf_free(&resp->headers);
}

int
http_header(const struct http_resp *resp, const char *name, char *out,
    size_t n)
{
	const char *p = resp->headers.s, *end, *v;
	size_t k = strlen(name), len;
	int found = 0;

	while (p != NULL && *p != '\0') {
		end = p + strcspn(p, "\r\n");
		if ((size_t)(end - p) > k && strncasecmp(p, name, k) == 0 &&
		    p[k] == ':') {
			for (v = p + k + 1; v < end && (*v == ' ' || *v == '\t');
			    v++)
				;
			len = (size_t)(end - v);
			while (len > 0 && (v[len - 1] == ' ' ||
			    v[len - 1] == '\t'))
				len--;
			if (n > 0) {
				if (len >= n)
					len = n - 1;
				memcpy(out, v, len);
				out[len] = '\0';
			}
			found = 1;
		}
		p = end + strspn(end, "\r\n");
	}
	return found;
}

json_t *
http_resp_json(const struct http_resp *resp, struct rv_err *e)
{
	json_error_t je;
	json_t *j;

	j = json_loadb(resp->body.s ? resp->body.s : "", resp->body.len, 0,
	    &je);
	if (j == NULL)
		rv_fail(e, EX_PROTOCOL, "HTTP %ld: the reply is not JSON: %s",
		    resp->status, je.text);
	return j;
}

void
http_url_escape(struct rv_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			buf_addc(b, (char)c);
		} else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
	}
}

void
http_form_add(struct rv_buf *b, const char *key, const char *value)
{
	if (b->len > 0)
		buf_addc(b, '&');
	http_url_escape(b, key);
	buf_addc(b, '=');
	http_url_escape(b, value);
}

void
http_cleanup(void)
{
	if (handle != NULL) {
		curl_easy_cleanup(handle);
		handle = NULL;
		curl_global_cleanup();
	}
}

/* The authority of the URL u (after "scheme://"): its start and length. */
static const char *
authority(const char *u, size_t *n)
{
	const char *h = strstr(u, "://");

	h = h != NULL ? h + 3 : u;
	*n = strcspn(h, "/?#");
	return h;
}

int
http_has_userinfo(const char *u)
{
	size_t n;
	const char *h = authority(u, &n);

	return memchr(h, '@', n) != NULL;
}

int
http_is_loopback(const char *u)
{
	static const char *const here[] = { "127.0.0.1", "localhost",
		"[::1]", NULL };
	const char *h, *end, *at;
	size_t n, i;

	h = authority(u, &n);
	end = h + n;
	/* user@host: the host is what follows the last '@'. */
	while ((at = memchr(h, '@', (size_t)(end - h))) != NULL)
		h = at + 1;
	n = *h == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/?#");
	if (h + n > end || (h[n] != '\0' && strchr(":/?#", h[n]) == NULL))
		return 0;
	for (i = 0; here[i] != NULL; i++)
		if (strlen(here[i]) == n && strncasecmp(h, here[i], n) == 0)
			return 1;
	return 0;
}
