/* http.h — HTTP through libcurl: JSON bodies, timeouts, retry with backoff.
 * Only tools that talk to the network link this (and libcurl). */
#ifndef RV_HTTP_H
#define RV_HTTP_H

#include "riserva.h"

struct http_req {
	const char *method;	/* "GET", "POST", "PATCH", "PUT", "DELETE" */
	const char *url;
	const char *content_type;	/* of body; NULL when there is none */
	const char *body;
	size_t body_len;
	const char *bearer;	/* Authorization: Bearer, never logged */
	const char *const *headers;	/* extra "Name: value", NULL-ended */
	long timeout_ms;	/* whole request; 0: 30 s */
};

struct http_resp {
	long status;
	struct rv_buf body;
	long retry_after;	/* seconds from Retry-After, -1 when absent */
	char etag[256];
	struct rv_buf headers;	/* the response's header lines, raw */
};

/* Bounded exponential backoff with jitter for 429, 5xx and network
 * failures; Retry-After is honoured up to max_ms. */
struct http_retry {
	int attempts;	/* total tries, at least 1 */
	long base_ms;	/* first wait */
	long max_ms;	/* cap of one wait */
};

/* One request. 0 for any HTTP status (look at resp->status);
 * EX_UNAVAILABLE when the server cannot be reached or times out. */
int http_do(const struct http_req *r, struct http_resp *resp,
    struct rv_err *e);
/* As http_do, retrying what is worth retrying. *tries says how many. */
int http_do_retry(const struct http_req *r, const struct http_retry *p,
    struct http_resp *resp, int *tries, struct rv_err *e);
void http_resp_free(struct http_resp *resp);
/* The value of a response header (the last one of that name) into out;
 * 1 if there was one. */
int http_header(const struct http_resp *resp, const char *name, char *out,
    size_t n);
/* The body as JSON; NULL (and e filled) when it is not. */
json_t *http_resp_json(const struct http_resp *resp, struct rv_err *e);
/* application/x-www-form-urlencoded escaping into b. */
void http_form_add(struct rv_buf *b, const char *key, const char *value);
void http_url_escape(struct rv_buf *b, const char *s);
/* The wait before try n (1-based) of a retry policy, with jitter. */
long http_backoff_ms(const struct http_retry *p, int n, long retry_after);
/* Releases the shared connection (kept alive between requests). */
void http_cleanup(void);

/* 1 when URL u names this machine (127.0.0.1, localhost, [::1]). */
int http_is_loopback(const char *u);
/* 1 when URL u carries user[:password]@ before its host. */
int http_has_userinfo(const char *u);

#endif
