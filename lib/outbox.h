/*
 * outbox.h — the message outbox: what is queued, claimed, sent or skipped.
 * No libcurl here: book queues notices through it in its own transaction.
 */
#ifndef RV_OUTBOX_H
#define RV_OUTBOX_H

#include "riserva.h"

/* The kinds of message, and what each needs before it may go. */
extern const char *const outbox_kinds[];	/* NULL-terminated */
/* The consent purpose a kind needs ("reminders", "marketing"), or NULL
 * for one the centre owes by contract or by law. */
const char *outbox_purpose(const char *kind);

/*
 * Queues what an appointment change owes its client, in the caller's
 * transaction: action "appointment.add" a confirmation, "appointment.move"
 * a change notice, "appointment.cancel" a cancellation, each for the
 * appointment's version after the change. Other actions and an erased
 * client queue nothing. Consent is checked when the message is sent.
 */
int outbox_appointment(sqlite3 *db, const struct rv_who *w, int64_t appt_id,
    const char *action, struct rv_err *e);

/*
 * Queues a notice not tied to an appointment — "policy" (ref: the policy
 * version), "breach" (ref: the breach's id) or "marketing" (ref: the
 * campaign) — at most once per (client, kind, ref), with its audit row,
 * in the caller's transaction. fields (may be NULL) is a JSON object of
 * strings the templates name as {notice.KEY}: a breach notice needs
 * "nature", "consequences" and "measures" (GDPR art. 34(2)), a marketing
 * one "subject" and "text" (EX_DATAERR otherwise). *id is the new message,
 * or 0 when that client already had that notice; EX_NOINPUT: no client.
 */
int outbox_notice(sqlite3 *db, const struct rv_who *w, int64_t client_id,
    const char *kind, const char *ref, json_t *fields, int64_t *id,
    struct rv_err *e);

/* Deletes every message about a client (an erasure); the caller audits. */
int outbox_forget_client(sqlite3 *db, int64_t client_id, int64_t *n,
    struct rv_err *e);

/* "24h,2h" into seconds, ascending, without duplicates; EX_CONFIG. */
#define OUTBOX_MAX_LEADS 8
int outbox_parse_leads(const char *s, int64_t leads[OUTBOX_MAX_LEADS],
    size_t *n, struct rv_err *e);
void outbox_lead_text(int64_t secs, char buf[24]);

/* Reminders skipped for want of consent or for a restriction, queued
 * again once that is gone: a grant of reminders, or an unrestrict. */
int outbox_revive_client(sqlite3 *db, const struct rv_who *w,
    int64_t client_id, struct rv_err *e);

/* Why a reminder was skipped, when a later grant or lifting undoes it. */
#define OUTBOX_SKIP_NO_CONSENT "no reminders consent"
#define OUTBOX_SKIP_RESTRICTED "client restricted (GDPR art. 18)"

/*
 * Queues the reminders now due, in the caller's write transaction: each
 * booked appointment starting in (now, now + the largest lead] gets the
 * reminder of the smallest lead that reaches its start, once per version
 * and lead. A run missed catches up; an appointment moved gets its new
 * version's (one skipped for want of consent or for a restriction is
 * queued again by outbox_revive_client). *queued counts what was added.
 */
int outbox_remind(sqlite3 *db, const struct rv_who *w, const int64_t *leads,
    size_t nleads, size_t *queued, struct rv_err *e);

/* A message as its sender sees it. */
struct outbox_msg {
	int64_t id, client_id, appointment_id, version, lead, attempts;
	char kind[16];
	char *ref, *data, *message_id;
};
void outbox_msgs_free(struct outbox_msg *v, size_t n);

/*
 * Claims up to max due messages (of kind, or any when NULL) for the claim
 * token under BEGIN IMMEDIATE: they become "sending" until now + lease, so
 * two processes never both take one, and one that dies holding a claim
 * loses it when the lease runs out (at worst a duplicate, never a loss).
 */
int outbox_claim(sqlite3 *db, const struct rv_who *w, const char *kind,
    const char *claim, int64_t lease, size_t max, struct outbox_msg **out,
    size_t *n, struct rv_err *e);
/* The due messages, unclaimed, for a dry run; in the caller's transaction
 * or none. */
int outbox_due(sqlite3 *db, int64_t now, const char *kind, size_t max,
    struct outbox_msg **out, size_t *n, struct rv_err *e);

enum outbox_outcome {
	OUTBOX_SENT,
	OUTBOX_SKIPPED,	/* not to be sent: reason says why */
	OUTBOX_FAILED,	/* refused for good */
	OUTBOX_DEFERRED,	/* a temporary failure: again at next_at */
	OUTBOX_RELEASED,	/* not tried: back in the queue, not counted */
};
struct outbox_result {
	enum outbox_outcome outcome;
	const char *reason;
	const char *recipient, *message_id, *provider_id;
	int64_t next_at;	/* DEFERRED, RELEASED */
};
/*
 * Records what became of a claimed message, with its audit row, in its own
 * BEGIN IMMEDIATE transaction. *lost is set when the claim had lapsed and
 * another process took the message over (nothing is written then).
 */
int outbox_record(sqlite3 *db, const struct rv_who *w,
    const struct outbox_msg *m, const char *claim,
    const struct outbox_result *r, int *lost, struct rv_err *e);

int outbox_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e);
struct outbox_filter {
	const char *status, *kind;
	int64_t client_id;
};
int outbox_list(sqlite3 *db, const struct outbox_filter *f,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);
/* Puts a failed, skipped or waiting message back in the queue, due now,
 * with its attempts reset; audited; the caller's transaction. */
int outbox_retry(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e);
extern const struct rv_col message_cols[];

#endif
