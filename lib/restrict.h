/* restrict.h — restriction of processing (GDPR art. 18). */
#ifndef RV_RESTRICT_H
#define RV_RESTRICT_H

#include "riserva.h"

/*
 * A restricted client is stored but not processed: client.restricted is
 * the flag every processing tool checks (client_restricted()); when and
 * why are in restricted_at and restricted_reason. Both change with an
 * audit row in the caller's transaction; already restricted (or not
 * restricted, to lift) is EX_REFUSED.
 */
int client_restrict(sqlite3 *db, const struct rv_who *w, int64_t id,
    const char *reason, struct rv_err *e);
int client_unrestrict(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e);
/* Adds "restricted_at" and "restricted_reason" to a client record. */
int client_restriction(sqlite3 *db, json_t *rec, struct rv_err *e);

#endif
