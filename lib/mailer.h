/*
 * mailer.h — sending the outbox: the transports (smtp, sendgrid, sendmail,
 * stdout) and the run that claims, checks, sends and records. Links
 * libcurl: only remind and notify use it.
 */
#ifndef RV_MAILER_H
#define RV_MAILER_H

#include "riserva.h"
#include "outbox.h"

struct mailer_opts {
	const char *kind;	/* only this kind; NULL: every kind */
	size_t limit;	/* at most this many messages; 0: no limit */
	int dry_run;	/* write what would go to out, change nothing: the
			 * caller holds a transaction it rolls back */
	int fixed_clock;	/* now stays w->now (--now, RISERVA_NOW) */
	FILE *out;	/* mbox of a dry run and of the stdout transport */
	FILE *diag;	/* a dry run's notes on what would be skipped */
	const char *tool;	/* names the notes */
	/* RV_KEY_TOKEN, for unsubscribe links when mail.unsubscribe_url is
	 * set (the caller fetches it, and says so if it made the key). */
	const uint8_t *token_key;
	/* Called with the record of each message handled; may be NULL. */
	int (*emit)(json_t *rec, void *arg);
	void *arg;
};

struct mailer_stats {
	size_t sent, skipped, failed, deferred, lost;
	int unavailable;	/* the transport could not be reached */
	int throttled;	/* the provider said slow down, or kept failing */
	char last_error[300];
};

/*
 * Sends what is due, in batches claimed under BEGIN IMMEDIATE. Returns 0
 * when the run went through, whatever became of each message (the stats
 * say), or an error that stopped it: EX_CONFIG (a template, a key, the
 * transport's settings), a database error. Messages claimed and not tried
 * go back to the queue.
 */
int mailer_run(sqlite3 *db, const struct rv_conf *conf, struct rv_who *w,
    const struct mailer_opts *o, struct mailer_stats *st, struct rv_err *e);

/* The exit status a run's stats call for: 69 the transport unreachable,
 * 75 some messages wait for a retry, 1 some failed for good, else 0. */
int mailer_status(const struct mailer_stats *st);

#endif
