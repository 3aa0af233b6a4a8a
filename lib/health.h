/* health.h — a client's health and allergy notes: only with explicit
 * consent, only sealed, audited by name and never by value. */
#ifndef RV_HEALTH_H
#define RV_HEALTH_H

#include <stdio.h>

#include "riserva.h"

#define HEALTH_MAX 16384	/* bytes of text */

/* Reads the whole text from fp: at most HEALTH_MAX bytes of UTF-8, no
 * control characters but tab and newline (CR LF is read as a newline);
 * trailing blanks and newlines are dropped. EX_DATAERR otherwise. Free with health_free(). */
int health_read(FILE *fp, char **text, size_t *n, struct rv_err *e);
int health_check_text(const char *text, size_t n, struct rv_err *e);
/* Wipes and frees a text. */
void health_free(char *text, size_t n);

/* Whether the client may have health data stored now: EX_NOPERM, with
 * the reason, unless health consent stands and processing is not
 * restricted. EX_NOINPUT: no such client. */
int health_allowed(sqlite3 *db, int64_t client_id, struct rv_err *e);
/* Seals (RV_KEY_FIELD subkey) and stores the text, replacing what was
 * there, with its audit row (health.set), in the caller's transaction;
 * checks health_allowed() itself. */
int health_set(sqlite3 *db, const struct rv_who *w,
    const uint8_t key[RV_KEY_LEN], int64_t client_id, const char *text,
    size_t n, struct rv_err *e);
int health_exists(sqlite3 *db, int64_t client_id, int *exists,
    struct rv_err *e);
/* Opens the text (*text NULL when there is none). Not audited: the caller
 * records the read (health.read) or the export it is part of. */
int health_get(sqlite3 *db, const uint8_t key[RV_KEY_LEN], int64_t client_id,
    char **text, size_t *n, int64_t *updated, struct rv_err *e);
/* Deletes it with an audit row naming action (health.clear, health.delete,
 * an erasure's own), in the caller's transaction; *deleted tells whether
 * there was any. secure_delete clears the file's pages; the caller runs
 * db_checkpoint() after the commit to clear the -wal too. */
int health_delete(sqlite3 *db, const struct rv_who *w, int64_t client_id,
    const char *action, int *deleted, struct rv_err *e);

#endif
