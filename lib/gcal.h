/*
 * gcal.h — Google Calendar sync. Two halves: what any tool may call without
 * libcurl (the push outbox, erasure, the accounts at rest: gcal_queue.c,
 * gcal_store.c), and the network side that only gcal-sync links
 * (gcal_api.c, gcal_connect.c, gcal_sync.c).
 */
#ifndef RV_GCAL_H
#define RV_GCAL_H

#include "riserva.h"

/* ---- curl-free: the outbox (gcal_queue.c) ---- */

/*
 * In the transaction that changes an appointment: queue its reconciliation
 * with the operator's Google Calendar (when the operator has one connected),
 * and mark for deletion any event of it left on another operator's calendar
 * (a booking moved between operators). Cheap when nobody is connected.
 */
int gcal_queue_appt(sqlite3 *db, const struct rv_who *w, int64_t appt_id,
    struct rv_err *e);
/*
 * Erasure: in the erasing transaction, before the client's appointments
 * lose their client_id, queue the deletion on Google of every event pushed
 * for their bookings; *n says how many. The next gcal-sync deletes them.
 */
int gcal_forget_client(sqlite3 *db, const struct rv_who *w, int64_t client_id,
    int *n, struct rv_err *e);

/* This database's 8-byte identity on Google, made on first need: it keeps
 * two centres' bookings apart on an operator who works for both. */
int gcal_instance(sqlite3 *db, uint8_t out[8], struct rv_err *e);
/* Our event id: base32hex of instance, appointment id and generation. */
#define GCAL_ID_LEN 32
void gcal_event_id(const uint8_t instance[8], int64_t appt_id,
    int generation, char out[GCAL_ID_LEN + 1]);

/* ---- curl-free: accounts at rest (gcal_store.c) ---- */

#define GCAL_SCOPE_OPENID "openid"
#define GCAL_SCOPE_EMAIL "https://www.googleapis.com/auth/userinfo.email"
#define GCAL_SCOPE_CALENDAR "https://www.googleapis.com/auth/calendar"

extern const struct rv_col gcal_account_cols[];
extern const struct rv_col gcal_sync_cols[];

/* The staff ids with a connected calendar, in id order. */
int gcal_accounts(sqlite3 *db, struct rv_ids *out, struct rv_err *e);
/* 1 in *found when staff_id has a connected calendar. */
int gcal_connected(sqlite3 *db, int64_t staff_id, int *found,
    struct rv_err *e);
/* The status record of an operator ("gcal_account"); state
 * "disconnected" when there is no account. */
int gcal_account_record(sqlite3 *db, int64_t staff_id, json_t **rec,
    struct rv_err *e);
/* A token of the account ("refresh_token" or "access_token"), opened with
 * the field key; *tok is NULL when absent (or the access token expired
 * at *expires). Free with gcal_secret_free. */
int gcal_token_get(sqlite3 *db, const uint8_t key[RV_KEY_LEN],
    int64_t staff_id, const char *which, char **tok, int64_t *expires,
    struct rv_err *e);
/* Seals and stores an access token with its expiry (Unix seconds). */
int gcal_token_put_access(sqlite3 *db, const uint8_t key[RV_KEY_LEN],
    int64_t staff_id, const char *tok, int64_t expires, struct rv_err *e);
int gcal_token_put_refresh(sqlite3 *db, const uint8_t key[RV_KEY_LEN],
    int64_t staff_id, const char *tok, struct rv_err *e);
void gcal_secret_free(char *s);

struct gcal_new_account {
	int64_t staff_id;
	const char *email, *calendar, *scopes;
	const char *refresh_token, *access_token;
	int64_t access_expires;
};
/* Stores a new connection (replacing one), its audit row, and queues the
 * operator's future bookings for their first push. Within a transaction.
 * A different Google account than before starts over: sync state, links
 * and imported events of the old one are dropped. */
int gcal_account_save(sqlite3 *db, const struct rv_who *w,
    const uint8_t key[RV_KEY_LEN], const struct gcal_new_account *a,
    struct rv_err *e);
/* Disconnect, locally: tokens, sync state, outbox and links of the
 * operator gone; with purge, the imported events too (*purged counts
 * them). Audited. Within a transaction. */
int gcal_account_drop(sqlite3 *db, const struct rv_who *w, int64_t staff_id,
    int purge, int *purged, struct rv_err *e);
/* Records the outcome of a sync: state ok (and last_sync), or the state
 * given with its message. */
int gcal_account_state(sqlite3 *db, int64_t staff_id, const char *state,
    const char *msg, int64_t now, struct rv_err *e);

/* ---- network (gcal_api.c, gcal_connect.c, gcal_sync.c) ---- */

/* One run's settings and counters, shared by every operator. */
struct gcal {
	sqlite3 *db;
	const struct rv_who *who;
	char *api_url, *auth_url, *token_url, *revoke_url, *userinfo_url;
	char *client_id;
	char *client_secret;	/* wiped at gcal_close */
	char *title_tpl, *busy_title;
	int import_titles;
	long timeout_ms, connect_timeout_s, page_size, resync_days;
	long attempts, base_ms, max_ms;
	uint8_t key[RV_KEY_LEN];
	int have_key, key_created;
	uint8_t instance[8];
	long requests;	/* HTTP requests made, retries included */
	int quota;	/* the project's daily limit hit: the run stops */
	/* Reports of what the run did to bookings (conflicts overwritten,
	 * bookings needing review): one line each, for stderr. */
	void (*note)(void *arg, const char *msg);
	/* Progress of long work (a full resync), for a terminal. */
	void (*progress)(void *arg, const char *what, size_t done,
	    size_t total);
	void *note_arg;
};

/* Reads the config: endpoints, client, template, bounds. need_client asks
 * for the client id and secret (connect, sync; not status). */
int gcal_open(struct gcal *g, sqlite3 *db, const struct rv_conf *conf,
    const struct rv_who *w, int need_client, struct rv_err *e);
void gcal_close(struct gcal *g);
/* The field key, read once per run (connect may create it). */
int gcal_key(struct gcal *g, struct rv_err *e);

/* OAuth: the loopback listener and the authorization URL (connect). */
struct gcal_flow {
	int fd;	/* the listener on 127.0.0.1 */
	int port;
	char verifier[64];	/* PKCE code_verifier */
	char state[48];
	char redirect[64];
	char *url;	/* to open in a browser */
};
int gcal_flow_begin(struct gcal *g, int port, struct gcal_flow *f,
    struct rv_err *e);
/* Opens the URL with xdg-open when there is a display: 1 when started. */
int gcal_flow_browse(const struct gcal_flow *f);
/* Waits for the browser's redirect, up to timeout_s, checking its state;
 * *code is the authorization code (free with gcal_secret_free). */
int gcal_flow_wait(struct gcal_flow *f, long timeout_s, char **code,
    struct rv_err *e);
void gcal_flow_end(struct gcal_flow *f);
/* Exchanges the code, checks the scopes (refusing, and revoking the
 * grant, when calendar or email is missing), reads the account's email,
 * checks that the calendar is there and writable (EX_NOINPUT, EX_NOPERM)
 * and stores the connection. */
int gcal_connect_finish(struct gcal *g, int64_t staff_id,
    const char *calendar, struct gcal_flow *f, const char *code,
    json_t **rec, struct rv_err *e);
/* Revokes the operator's grant at Google; *revoked 1 when Google
 * confirmed it or said the token was already invalid. EX_UNAVAILABLE when
 * Google could not be reached. Nothing local changes. */
int gcal_revoke(struct gcal *g, int64_t staff_id, int *revoked,
    struct rv_err *e);

struct gcal_opts {
	int pull, push;	/* which halves to run */
	int full;	/* a full resync even with a sync token */
	/* Alone: every event pushed to this calendar taken back (titled
	 * busy, then deleted), for an operator who leaves. */
	int remove_pushed;
};
struct gcal_report {
	int full;	/* the pull was a full resync */
	long pulled;	/* changes received */
	/* Busy blocks added or changed, and removed. */
	long imported, removed;
	long inserted, updated, deleted;	/* pushed events */
	long adopted;	/* events of ours found on Google and linked */
	long overwritten;	/* edits on Google to our events, undone */
	long review;	/* bookings marked needs_review */
	long requests;
};
/* One operator's sync: pull then push. 0, or the code that stopped it
 * (its message in e, also stored as the account's last error):
 * EX_NOPERM reauth needed, EX_TEMPFAIL rate or quota, EX_UNAVAILABLE
 * network. */
int gcal_sync_staff(struct gcal *g, int64_t staff_id,
    const struct gcal_opts *o, struct gcal_report *r, struct rv_err *e);
json_t *gcal_report_record(sqlite3 *db, int64_t staff_id,
    const struct gcal_report *r, int rc, const char *msg);

/* ---- inside the network modules (gcal_api.c) ---- */

struct gcal_req {
	const char *method, *url;
	const char *content_type, *body;
	const char *bearer;	/* never logged */
	const char *if_match;
	int no_retry_network;	/* not idempotent: an authorization code */
};
struct gresp {
	long status;
	json_t *json;	/* the body when it is JSON */
	char reason[64];	/* of an error: "rateLimitExceeded", ... */
	char message[256];
	char etag[256];
};
/* A request with bounded backoff and jitter on 429, 5xx, the 403 rate
 * limits and network failures (Retry-After honoured up to the bound).
 * 0 with any other status in r; EX_TEMPFAIL when the retries ran out, the
 * account reached Calendar's usage limits (quotaExceeded) or the project
 * its daily limit (dailyLimitExceeded: g->quota set); EX_UNAVAILABLE when
 * Google cannot be reached. */
int gcal_http(struct gcal *g, const struct gcal_req *q, struct gresp *r,
    struct rv_err *e);
void gresp_free(struct gresp *r);
int gcal_reason_is(const char *reason, const char *want);
int gcal_unexpected(const char *what, const struct gresp *r,
    struct rv_err *e);
void gcal_form_client(struct gcal *g, struct rv_buf *form);
/* POSTs a form (wiped and freed after: it carries secrets). */
int gcal_post_form(struct gcal *g, const char *url, struct rv_buf *form,
    int retry_network, struct gresp *r, struct rv_err *e);
void gcal_query(struct rv_buf *url, const char *key, const char *value);

/* An operator's session: their calendar's events URL and an access token
 * (the stored one while it lasts, else refreshed: EX_NOPERM on
 * invalid_grant). Calls refresh once on a 401. */
struct gsess {
	struct gcal *g;
	int64_t staff_id;
	char *access;
	struct rv_buf events_url;
};
int gsess_open(struct gcal *g, int64_t staff_id, struct gsess *s,
    struct rv_err *e);
void gsess_close(struct gsess *s);
int gsess_call(struct gsess *s, const char *method, const char *url,
    json_t *body, const char *if_match, struct gresp *r, struct rv_err *e);

/* Exclusive lock of the sync of this database (a file beside it): 0, or
 * EX_TEMPFAIL when another process holds it after wait_s seconds. */
int gcal_lock(sqlite3 *db, long wait_s, int *fd, struct rv_err *e);
void gcal_unlock(int fd);

#endif
