/* purge.h — the retention terms of the privacy notice, applied. */
#ifndef RV_PURGE_H
#define RV_PURGE_H

#include "riserva.h"

/*
 * gdpr-purge's categories, in the order they run: clients, health, fiscal,
 * messages, audit. Each works in batches, one BEGIN IMMEDIATE transaction
 * per batch (so other tools wait at most one batch), from where the last
 * batch stopped, in constant memory; running it again finds nothing new.
 * Unless a size is given, each batch is sized from the time the last one
 * took so that it holds the write lock for about budget_ms: big batches
 * write each page once for many rows, small ones let others in sooner.
 * The data of a client under restriction (art. 18) or with an open
 * request (art. 12) is never touched: those are counted as skipped. The
 * audit trail is purged by audit_purge, in one transaction.
 */
struct purge_opts {
	int64_t now;	/* --now, or the tool's clock */
	int dry_run;	/* every batch is done and rolled back */
	size_t batch;	/* rows per transaction; 0: sized to budget_ms */
	long budget_ms;	/* how long one transaction may hold the lock */
	const char *journal;	/* the erasure journal file */
	/* A terminal's progress line: done of total, by category. */
	void (*progress)(void *arg, const char *what, size_t done,
	    size_t total);
	void *arg;
};

/*
 * Runs every category, giving fn one summary record (type "purge", id the
 * category) for each. A category stopped by a busy database (EX_TEMPFAIL)
 * still reports what its committed batches did ("complete": false); the
 * categories after it do not run.
 */
int purge_run(sqlite3 *db, const struct rv_who *w, const struct rv_conf *conf,
    const struct purge_opts *o, int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e);

extern const struct rv_col purge_cols[];

#endif
