/* breach.h — the register of personal-data breaches (GDPR arts. 33-34). */
#ifndef RV_BREACH_H
#define RV_BREACH_H

#include "riserva.h"

/* The supervisory authority is told within 72 hours of awareness. */
#define BREACH_DEADLINE (72 * 3600)

/* A breach's fields; NULL (or subjects < 0) leaves one as it is. */
struct breach {
	int64_t detected;		/* 0: unchanged */
	const char *description;
	const char *categories;		/* of data: "contact,health" */
	long subjects;			/* approximate number; -1: unknown */
	const char *risk;		/* none, low, high */
	const char *containment;
	const char *consequences;
	const char *measures;
};

int breach_open(sqlite3 *db, const struct rv_who *w, const struct breach *b,
    int64_t *id, struct rv_err *e);
int breach_update(sqlite3 *db, const struct rv_who *w, int64_t id,
    const struct breach *b, struct rv_err *e);
/* Links a client; *added is 0 when it already was. */
int breach_link(sqlite3 *db, const struct rv_who *w, int64_t id,
    int64_t client_id, int *added, struct rv_err *e);
/* Records the notification to the authority. Late (past 72 hours) it
 * needs the reasons for the delay (art. 33(1)): EX_USAGE without. */
int breach_notify_authority(sqlite3 *db, const struct rv_who *w, int64_t id,
    int64_t at, const char *ref, const char *late_reason, struct rv_err *e);
/* Queues the art. 34 notice for every linked client not yet told;
 * EX_REFUSED until the consequences and measures are in the register. */
int breach_notify_subjects(sqlite3 *db, const struct rv_who *w, int64_t id,
    int *queued, int *already, struct rv_err *e);
int breach_get(sqlite3 *db, int64_t id, int64_t now, json_t **rec,
    struct rv_err *e);
/* Every breach (open_only: the authority not notified and a risk). */
int breach_list(sqlite3 *db, int open_only, int64_t now,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);
extern const struct rv_col breach_cols[];
extern const struct rv_col breach_check_cols[];

#endif
