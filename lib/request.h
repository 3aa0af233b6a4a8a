/* request.h — the register of data-subject requests and their deadlines. */
#ifndef RV_REQUEST_H
#define RV_REQUEST_H

#include "riserva.h"

/*
 * The table `request` (migration 6). A request is answered within one
 * calendar month of its receipt, or two more once extended (art. 12(3)).
 * Dates are local calendar days "YYYY-MM-DD": received and due (the last
 * day on which the answer is on time). client_id is NULL once the client
 * is erased, and so are notes; the rest is the register's accountability.
 * An open request has closed IS NULL (index request_client serves
 * "does this client have an open request?").
 */

extern const char *const request_kinds[];	/* NULL-terminated */

/* Adds n calendar months; a day the month lacks becomes its last day
 * (31 January + 1 month = 28 or 29 February). */
void date_add_months(int *y, int *m, int *d, int n);
void date_format(int y, int m, int d, char buf[16]);

struct request_new {
	int64_t client_id;
	const char *kind;
	int y, m, d;	/* the day it was received; y 0: today */
	const char *channel, *notes;	/* NULL: none */
};
int request_open(sqlite3 *db, const struct rv_who *w,
    const struct request_new *r, int64_t *id, struct rv_err *e);
/* Once, within the first month, with the reasons told to the subject. */
int request_extend(sqlite3 *db, const struct rv_who *w, int64_t id,
    const char *reason, struct rv_err *e);
/* outcome "done" or "refused"; a refusal needs its reasons (art. 12(4)). */
int request_close(sqlite3 *db, const struct rv_who *w, int64_t id,
    const char *outcome, const char *reason, struct rv_err *e);

/* Records of type "request"; status and days_left are as of now. */
int request_get(sqlite3 *db, int64_t id, int64_t now, json_t **rec,
    struct rv_err *e);

struct request_filter {
	int64_t now;	/* what "today" is */
	int64_t client_id;	/* 0: every client */
	const char *kind;	/* NULL: every kind */
	int open;	/* only open ones */
	int overdue;	/* only open ones past their due date */
	long due_within;	/* only open ones due within that many days
			 * (overdue ones included); -1: no such filter */
};
/* In id order; by due date when a deadline filter is given. */
int request_list(sqlite3 *db, const struct request_filter *f,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);

extern const struct rv_col request_cols[];

#endif
