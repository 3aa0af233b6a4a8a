/* consent.h — the consent ledger, consent receipts and unsubscribe tokens. */
#ifndef RV_CONSENT_H
#define RV_CONSENT_H

#include "riserva.h"

/*
 * consent_purposes[] and consent_granted() are declared in riserva.h: every
 * tool that sends or syncs checks them. What follows is for the tools that
 * change the ledger or speak about it.
 */

extern const char *const consent_methods[];	/* NULL-terminated */
#define CONSENT_METHOD_DEFAULT "in-person"

/* The canonical (static) name of a purpose or method; NULL if unknown. */
const char *consent_purpose(const char *s);
const char *consent_method(const char *s);
/* "a, b or c": a list of words for messages. */
void consent_words(const char *const *words, char *buf, size_t n);

/*
 * An address kept as evidence, truncated before it is stored: IPv4 to its
 * /24, IPv6 to its /48 (an IPv4-mapped IPv6 address counts as IPv4, a
 * zone id is dropped), as
 * "192.0.2.0/24" or "2001:db8:1::/48". EX_DATAERR if it is not an address.
 */
#define CONSENT_IP_MAX 64
int consent_ip_truncate(const char *addr, char out[CONSENT_IP_MAX],
    struct rv_err *e);

struct consent_req {
	int64_t client_id;
	const char *purpose;	/* one of consent_purposes */
	const char *method;	/* one of consent_methods */
	const char *evidence;	/* free text, or NULL */
	const char *ip;	/* as given, or NULL; truncated before storage */
};

/*
 * One ledger row each, in the caller's transaction, with its audit row
 * (action consent.grant or consent.withdraw, fields: the purpose) and the
 * policy version in force at w->now. *id is the new row, or 0 when the
 * purpose already stood as asked (nothing is written). A restricted client
 * (GDPR art. 18) cannot grant (EX_NOPERM) but can always withdraw.
 * Withdrawing health deletes the client's health data in the same
 * transaction; *checkpoint then asks the caller to db_checkpoint() after
 * the commit, so the deleted bytes leave the -wal file too.
 */
int consent_grant(sqlite3 *db, const struct rv_who *w,
    const struct consent_req *r, int64_t *id, struct rv_err *e);
int consent_withdraw(sqlite3 *db, const struct rv_who *w,
    const struct consent_req *r, int64_t *id, int *checkpoint,
    struct rv_err *e);

/* Ledger rows as "consent" records. */
int consent_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e);
int consent_history(sqlite3 *db, int64_t client_id,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);
extern const struct rv_col consent_cols[];

/*
 * The state of each purpose, as "consent_status" records: one per client
 * (client_id 0: every client) and purpose (NULL: every purpose), with
 * state "granted", "withdrawn" or "none"; granted_only keeps the first.
 */
int consent_status(sqlite3 *db, int64_t client_id, const char *purpose,
    int granted_only, int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e);
extern const struct rv_col consent_status_cols[];

/*
 * A Kantara Consent Receipt v1.1 of the purposes that stand for a client
 * (see consent(1) for the mapping; share/riserva/schema/ has its schema).
 * Controller data come from the clinic.* config keys: EX_CONFIG names
 * those missing. EX_REFUSED when no purpose stands. Not audited here.
 */
int consent_receipt(sqlite3 *db, const struct rv_conf *conf,
    int64_t client_id, json_t **receipt, struct rv_err *e);

/*
 * Unsubscribe tokens, for List-Unsubscribe links: URL-safe text naming a
 * client and a purpose (reminders or marketing), authenticated with an
 * HMAC under the RV_KEY_TOKEN subkey, so they need no table and cannot be
 * forged. consent_token_check() refuses with EX_NOPERM anything that is
 * not a token this key made, and returns the static purpose name.
 */
#define CONSENT_TOKEN_MAX 64
int consent_token_make(const uint8_t key[RV_KEY_LEN], int64_t client_id,
    const char *purpose, char out[CONSENT_TOKEN_MAX], struct rv_err *e);
int consent_token_check(const uint8_t key[RV_KEY_LEN], const char *token,
    int64_t *client_id, const char **purpose, struct rv_err *e);

#endif
