/* policy.h — the archive of privacy-policy versions. */
#ifndef RV_POLICY_H
#define RV_POLICY_H

#include "riserva.h"

#define POLICY_TEXT_MAX (8L << 20)	/* bytes of one archived text */
#define POLICY_VERSION_MAX 64
/* The privacy notice promises to tell of a substantial change everyone
 * who booked in the months before it takes effect. */
#define POLICY_AFFECTED_MONTHS 24

struct policy_req {
	const char *version;	/* [A-Za-z0-9._-], starting alphanumeric */
	int64_t effective;
	const char *url;	/* http:// or https:// */
	const void *text;	/* kept byte for byte */
	size_t n;
	int substantial;
};

int policy_check_version(const char *v, struct rv_err *e);
int policy_check_url(const char *what, const char *url, struct rv_err *e);
/*
 * Archives a version with its text and SHA-256, audited (policy.add), in
 * the caller's transaction. A version is never changed: the same version
 * again is EX_REFUSED, unless it is identical (then *id is 0, no row).
 */
int policy_add(sqlite3 *db, const struct rv_who *w, const struct policy_req *p,
    int64_t *id, struct rv_err *e);
/* "policy" records (no text); in_force is the version in force at now. */
int policy_get(sqlite3 *db, const char *version, int64_t now, json_t **rec,
    struct rv_err *e);
int policy_list(sqlite3 *db, int64_t now, int (*fn)(json_t *rec, void *arg),
    void *arg, struct rv_err *e);
extern const struct rv_col policy_cols[];
/* The archived text, exactly; EX_DATAERR if it no longer matches its
 * hash. The caller frees *text. EX_NOINPUT: no such version. */
int policy_text(sqlite3 *db, const char *version, void **text, size_t *n,
    struct rv_err *e);
/* The version in force at t (the latest whose effective time is <= t) and
 * its URL; both NULL when none is. The caller frees them. */
int policy_in_force(sqlite3 *db, int64_t t, char **version, char **url,
    struct rv_err *e);
/* The clients with an appointment, not cancelled, in the
 * POLICY_AFFECTED_MONTHS before version took effect, or booked before it
 * took effect for a time after, as client records in id order.
 * EX_NOINPUT: no such version. */
int policy_affected(sqlite3 *db, const char *version,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);

#endif
