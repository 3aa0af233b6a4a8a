/* audit.h — the audit chain: keys, sealing, verification, purge, listing. */
#ifndef RV_AUDIT_H
#define RV_AUDIT_H

#include "riserva.h"
#include "mac.h"

/*
 * Every audit row carries mac = HMAC(audit key, encoding of the previous
 * row's mac and this row's fields). The last row is also "sealed" in meta
 * (audit_head) under the key at each db_commit, so a trail cut short is
 * seen too. audit_append() itself is declared in riserva.h.
 */

/* Loads the audit subkey for db once per process (keys_get: *created says
 * a new key file was made, which the tool must tell the user). */
int audit_key_load(sqlite3 *db, int *created, struct rv_err *e);
/* 1 once when a key file was made by a load nobody was told of. */
int audit_key_untold(void);
/* Called by db_commit before COMMIT: seals the head when rows were added. */
int audit_seal(sqlite3 *db, struct rv_err *e);
/* Called by db_close: drops what the audit module holds for db. */
void audit_forget(sqlite3 *db);

/* The bytes a row's MAC covers; appended to b (which is reset first). */
void audit_encode(struct rv_buf *b, const uint8_t prev[RV_MAC_LEN],
    int64_t id, int64_t at, const char *actor, size_t actorn,
    const char *tool, size_t tooln, const char *action, size_t actionn,
    int64_t client_id, const char *ref, size_t refn, const char *fields,
    size_t fieldsn, const char *reason, size_t reasonn);

struct audit_check {
	int64_t rows;		/* rows checked */
	int64_t first_id, last_id;
	int64_t anchor_id;	/* 0: the chain starts at row 1 */
	int64_t purged;		/* rows the anchors say were purged */
	int64_t head_id;	/* the sealed head */
	char head[2 * RV_MAC_LEN + 1];	/* its MAC, hex: record it elsewhere */
	int64_t broken_id;	/* 0 when intact */
	char problem[256];
};
/* Walks the whole chain; 0 when it could (v->broken_id tells intact or
 * not), else an error. fn, when not NULL, is told progress as each part of
 * a long trail is done. */
int audit_verify(sqlite3 *db, struct audit_check *v,
    void (*fn)(int64_t done, int64_t total, void *arg), void *arg,
    struct rv_err *e);

struct audit_filter {
	int64_t client_id;	/* 0: any */
	int64_t from, to;	/* at in [from, to); 0: unbounded */
	const char *actor;	/* exact */
	const char *action;	/* exact, or a prefix ending in '.' */
};
int audit_list(sqlite3 *db, const struct audit_filter *f,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);
extern const struct rv_col audit_cols[];

/*
 * Deletes the longest run of oldest rows written before `before`, in the
 * caller's transaction, after checking the whole chain (a broken trail is
 * evidence and is never purged: EX_REFUSED). Writes an anchor and an
 * "audit.purge" row. *rec is the anchor record (type "anchor"), or NULL
 * when nothing was old enough. With dry_run nothing changes and *rec is
 * what would be done (id null, purged 0 when nothing). gdpr-purge
 * uses this too: nothing else may DELETE or UPDATE audit rows.
 */
int audit_purge(sqlite3 *db, const struct rv_who *w, int64_t before,
    int dry_run, json_t **rec, struct rv_err *e);
int audit_anchors(sqlite3 *db, int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e);
extern const struct rv_col anchor_cols[];

/* The instant `months` calendar months before t, local midnight. */
int64_t audit_months_before(int64_t t, long months);

#endif
