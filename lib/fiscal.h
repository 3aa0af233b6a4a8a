/* fiscal.h — appointments carried out, and the fiscal records they leave. */
#ifndef RV_FISCAL_H
#define RV_FISCAL_H

#include "riserva.h"

/*
 * The table `fiscal` (migration 6) holds one row per receipt. Its rows are
 * under a legal hold until hold_until: triggers refuse to delete them, or
 * to change them except for setting client_id to NULL (the unlink an
 * erasure does). The triggers read the machine's clock, not RISERVA_NOW:
 * a purge must delete only rows with hold_until <= min(now, real time),
 * or the whole statement is aborted.
 */

/* The shortest legal term: art. 2220 of the Italian civil code. */
#define FISCAL_MIN_YEARS 10

struct fiscal_req {
	int64_t appointment_id;
	int64_t amount;	/* cents paid; 0: not paid, no receipt */
	const char *method;	/* cash, card or transfer when paid */
	const char *tax_code;	/* the client's codice fiscale, or NULL */
	int hold_years;	/* retention.fiscal_years, >= FISCAL_MIN_YEARS */
};

/*
 * Marks an appointment carried out (booked or needs_review, already
 * started) and, when paid, issues its receipt; an appointment already done
 * without a receipt may be paid later. Runs in the caller's BEGIN
 * IMMEDIATE transaction, which makes the yearly numbering gapless.
 * *fiscal_id is the receipt's id, 0 when none was issued.
 */
int appt_done(sqlite3 *db, const struct rv_who *w, const struct fiscal_req *r,
    int64_t *fiscal_id, struct rv_err *e);

/* The start of the local year after the hold: a record issued in Y is
 * held until the end of Y + years. */
int64_t fiscal_hold_until(int year, int years);

/* "2026/000017" or a record id. */
int fiscal_find(sqlite3 *db, const char *spec, int64_t *id, struct rv_err *e);
int fiscal_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e);

struct fiscal_filter {
	int64_t client_id;	/* 0: every client */
	int year;	/* 0: every year */
	int64_t from, to;	/* issued in [from, to); 0: unbounded */
};
/* Records of type "fiscal", in number order. */
int fiscal_list(sqlite3 *db, const struct fiscal_filter *f,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);

/* An Italian codice fiscale: 16 characters with a valid check letter,
 * returned upper case in out. */
int check_tax_code(const char *s, char out[17], struct rv_err *e);

extern const struct rv_col fiscal_cols[];

#endif
