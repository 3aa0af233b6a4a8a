/*
 * outbox.c — the message table: queueing in the caller's transaction,
 * claiming under BEGIN IMMEDIATE with a lease, recording what became of a
 * message. Sending lives elsewhere (mailer.c), so this links without curl.
 */
#include <stdlib.h>
#include <string.h>

#include "outbox.h"
#include "banned.h"

const char *const outbox_kinds[] = { "confirmation", "change",
	"cancellation", "reminder", "policy", "breach", "marketing", NULL };

const struct rv_col message_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "kind", "KIND", 0 },
	{ "client_id", "CLIENT", RV_COL_RIGHT },
	{ "appointment_id", "APPT", RV_COL_RIGHT },
	{ "version", "V", RV_COL_RIGHT },
	{ "lead", "LEAD", 0 },
	{ "status", "STATUS", 0 },
	{ "attempts", "TRIES", RV_COL_RIGHT },
	{ "next_attempt", "NEXT", RV_COL_TIME },
	{ "reason", "REASON", 0 },
	{ NULL, NULL, 0 },
};

const char *
outbox_purpose(const char *kind)
{
	/* A confirmation is part of the contract (art. 6(1)(b)); policy and
	 * breach notices are owed by law. The rest need the client's yes. */
	if (strcmp(kind, "reminder") == 0 || strcmp(kind, "change") == 0 ||
	    strcmp(kind, "cancellation") == 0)
		return "reminders";
	if (strcmp(kind, "marketing") == 0)
		return "marketing";
	return NULL;
}

static int
audit_message(sqlite3 *db, const struct rv_who *w, const char *action,
    int64_t id, int64_t client_id, const char *fields, struct rv_err *e)
{
	char ref[40];

	snprintf(ref, sizeof(ref), "message %lld", (long long)id);
	return audit_append(db, w, action, client_id, ref, fields, e);
}

int
outbox_appointment(sqlite3 *db, const struct rv_who *w, int64_t appt_id,
    const char *action, struct rv_err *e)
{
	/* The recipient is the address on file now; the sender looks again
	 * when it sends, so a rectified address is the one used. */
	static const char sql[] =
	    "INSERT INTO message (kind, client_id, appointment_id, version, "
	    "recipient, next_at, created, updated) "
	    "SELECT ?1, a.client_id, a.id, a.version, c.email, ?2, ?2, ?2 "
	    "FROM appointment a JOIN client c ON c.id = a.client_id "
	    "WHERE a.id = ?3 "
	    "ON CONFLICT DO NOTHING";
	const char *kind;
	sqlite3_stmt *st;
	int rc;

	if (strcmp(action, "appointment.add") == 0)
		kind = "confirmation";
	else if (strcmp(action, "appointment.move") == 0)
		kind = "change";
	else if (strcmp(action, "appointment.cancel") == 0)
		kind = "cancellation";
	else
		return 0;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, w->now);
	sqlite3_bind_int64(st, 3, appt_id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "message");
	sqlite3_reset(st);
	return rc;
}

int
outbox_notice(sqlite3 *db, const struct rv_who *w, int64_t client_id,
    const char *kind, const char *ref, json_t *fields, int64_t *id,
    struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO message (kind, client_id, ref, data, recipient, "
	    "next_at, created, updated) "
	    "SELECT ?1, c.id, ?2, ?3, c.email, ?4, ?4, ?4 FROM client c "
	    "WHERE c.id = ?5 "
	    "ON CONFLICT DO NOTHING RETURNING id";
	sqlite3_stmt *st;
	char *data = NULL;
	const char *key;
	json_t *v;
	int rc, changed;

	*id = 0;
	if (strcmp(kind, "policy") != 0 && strcmp(kind, "breach") != 0 &&
	    strcmp(kind, "marketing") != 0)
		return rv_fail(e, EX_SOFTWARE, "'%s' is not a notice kind",
		    kind);
	if ((rc = check_text("notice reference", ref, 200, 1, 0, e)) != 0)
		return rc;
	if (fields != NULL) {
		if (!json_is_object(fields))
			return rv_fail(e, EX_DATAERR,
			    "notice fields must be a JSON object");
		json_object_foreach(fields, key, v) {
			if (!json_is_string(v))
				return rv_fail(e, EX_DATAERR,
				    "notice field '%s' must be a string", key);
		}
		data = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
	}
	/* Art. 34(2): a breach notice says what happened, what it may
	 * cause and what was done; a campaign has its subject and text.
	 * The shipped templates name these fields. */
	if (strcmp(kind, "breach") == 0 || strcmp(kind, "marketing") == 0) {
		static const char *const breach[] = { "nature", "consequences",
			"measures", NULL };
		static const char *const campaign[] = { "subject", "text",
			NULL };
		const char *const *need = kind[0] == 'b' ? breach : campaign;
		size_t i;

		for (i = 0; need[i] != NULL; i++) {
			if (json_string_length(json_object_get(fields,
			    need[i])) == 0) {
				rc = rv_fail(e, EX_DATAERR, "a %s notice needs "
				    "the field '%s'", kind, need[i]);
				goto out;
			}
		}
	}
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	db_bind_text(st, 3, data);
	sqlite3_bind_int64(st, 4, w->now);
	sqlite3_bind_int64(st, 5, client_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	changed = rc == SQLITE_ROW;
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "message");
	sqlite3_reset(st);
	if (rc == 0 && !changed) {
		int64_t found;
		int ok;

		/* Nothing inserted: a duplicate, or no such client. */
		if ((rc = db_int(db, "SELECT id FROM client WHERE id = ?",
		    client_id, &found, &ok, e)) != 0)
			goto out;
		if (!ok)
			rc = rv_fail(e, EX_NOINPUT, "no such client %lld",
			    (long long)client_id);
		goto out;
	}
	if (rc == 0)
		rc = audit_message(db, w, "message.queue", *id, client_id,
		    "email", e);
out:
	free(data);
	return rc;
}

int
outbox_forget_client(sqlite3 *db, int64_t client_id, int64_t *n,
    struct rv_err *e)
{
	static const char sql[] = "DELETE FROM message WHERE client_id = ?";
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "message");
	*n = sqlite3_changes(db);
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int
outbox_parse_leads(const char *s, int64_t leads[OUTBOX_MAX_LEADS],
    size_t *n, struct rv_err *e)
{
	char item[32];
	const char *p = s, *q;
	size_t len, i, k = 0;
	int64_t v;

	*n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		q = p + strcspn(p, ",");
		len = (size_t)(q - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof(item))
			goto bad;
		memcpy(item, p, len);
		item[len] = '\0';
		if (!parse_duration(item, &v) || v > 30 * 86400)
			goto bad;
		for (i = 0; i < k && leads[i] != v; i++)
			;
		if (i == k) {
			if (k == OUTBOX_MAX_LEADS)
				return rv_fail(e, EX_CONFIG, "config "
				    "remind.lead: at most %d leads",
				    OUTBOX_MAX_LEADS);
			leads[k++] = v;
		}
		if (*q == '\0')
			break;
		p = q + 1;
	}
	qsort(leads, k, sizeof(*leads), cmp_i64);
	*n = k;
	return 0;
bad:
	return rv_fail(e, EX_CONFIG, "config remind.lead: '%s' is not a list "
	    "of durations like 24h,2h (each at most 30d)", s);
}

void
outbox_lead_text(int64_t secs, char buf[24])
{
	if (secs % 3600 == 0)
		snprintf(buf, 24, "%lldh", (long long)(secs / 3600));
	else if (secs % 60 == 0)
		snprintf(buf, 24, "%lldm", (long long)(secs / 60));
	else
		snprintf(buf, 24, "%llds", (long long)secs);
}

/*
 * One lead's window, (now + lo, now + hi]: an index range on
 * appointment(start), then one probe of the message key per appointment,
 * so a run with nothing due costs a day's worth of index entries at most.
 */
int
outbox_remind(sqlite3 *db, const struct rv_who *w, const int64_t *leads,
    size_t nleads, size_t *queued, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO message (kind, client_id, appointment_id, version, "
	    "lead, recipient, next_at, created, updated) "
	    "SELECT 'reminder', a.client_id, a.id, a.version, ?1, c.email, "
	    "?2, ?2, ?2 FROM appointment a JOIN client c ON c.id = a.client_id "
	    "WHERE a.start > ?2 + ?3 AND a.start <= ?2 + ?1 "
	    "AND a.status = 'booked' AND NOT EXISTS (SELECT 1 FROM message m "
	    "WHERE m.appointment_id = a.id AND m.kind = 'reminder' "
	    "AND m.version = a.version AND m.lead = ?1) "
	    "ORDER BY a.start, a.id "
	    "ON CONFLICT DO NOTHING RETURNING id, client_id";
	struct rv_ids ids = { 0 }, clients = { 0 };
	sqlite3_stmt *st;
	size_t i, j;
	int rc = 0;

	*queued = 0;
	for (i = 0; i < nleads; i++) {
		if ((rc = db_cached(db, sql, &st, e)) != 0)
			goto out;
		sqlite3_bind_int64(st, 1, leads[i]);
		sqlite3_bind_int64(st, 2, w->now);
		sqlite3_bind_int64(st, 3, i == 0 ? 0 : leads[i - 1]);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			ids_add(&ids, sqlite3_column_int64(st, 0));
			ids_add(&clients, sqlite3_column_int64(st, 1));
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			rc = db_fail(db, rc, e, "reminders");
			goto out;
		}
		rc = 0;
	}
	for (j = 0; j < ids.n; j++)
		if ((rc = audit_message(db, w, "message.queue", ids.v[j],
		    clients.v[j], "email", e)) != 0)
			goto out;
	*queued = ids.n;
out:
	ids_free(&ids);
	ids_free(&clients);
	return rc;
}

/*
 * A reminder skipped for want of consent, or for a restriction, is owed
 * again once the client says yes or the restriction is lifted (art.
 * 18(3)): the same rows, back in the queue, for the bookings still ahead
 * and as they are now. Called in the grant's or the lifting's own
 * transaction, so that no remind run pays for it; the send checks
 * consent and restriction again, as always.
 */
int
outbox_revive_client(sqlite3 *db, const struct rv_who *w, int64_t client_id,
    struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE message SET status = 'queued', reason = NULL, "
	    "attempts = 0, next_at = ?2, updated = ?2 "
	    "WHERE client_id = ?1 AND kind = 'reminder' AND status = 'skipped' "
	    "AND reason IN (?3, ?4) AND EXISTS (SELECT 1 FROM appointment a "
	    "WHERE a.id = message.appointment_id AND a.version = "
	    "message.version AND a.status = 'booked' AND a.start > ?2) "
	    "RETURNING id";
	struct rv_ids ids = { 0 };
	sqlite3_stmt *st;
	size_t i;
	int rc;

	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	sqlite3_bind_int64(st, 2, w->now);
	sqlite3_bind_text(st, 3, OUTBOX_SKIP_NO_CONSENT, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, OUTBOX_SKIP_RESTRICTED, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ids_add(&ids, sqlite3_column_int64(st, 0));
	sqlite3_reset(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "reminders");
	for (i = 0; rc == 0 && i < ids.n; i++)
		rc = audit_message(db, w, "message.queue", ids.v[i], client_id,
		    "status", e);
	ids_free(&ids);
	return rc;
}

void
outbox_msgs_free(struct outbox_msg *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].ref);
		free(v[i].data);
		free(v[i].message_id);
	}
	free(v);
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s != NULL ? xstrdup((const char *)s) : NULL;
}

/* Columns 0..9: id, kind, client_id, appointment_id, version, lead, ref,
 * data, message_id, attempts. */
static void
msg_from_row(sqlite3_stmt *st, struct outbox_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(st, 0);
	snprintf(m->kind, sizeof(m->kind), "%s", sqlite3_column_text(st, 1));
	m->client_id = sqlite3_column_int64(st, 2);
	m->appointment_id = sqlite3_column_int64(st, 3);
	m->version = sqlite3_column_int64(st, 4);
	m->lead = sqlite3_column_int64(st, 5);
	m->ref = col_dup(st, 6);
	m->data = col_dup(st, 7);
	m->message_id = col_dup(st, 8);
	m->attempts = sqlite3_column_int64(st, 9);
}

static int
cmp_msg(const void *a, const void *b)
{
	const struct outbox_msg *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int
collect(sqlite3 *db, sqlite3_stmt *st, struct outbox_msg **out, size_t *n,
    struct rv_err *e)
{
	size_t cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		msg_from_row(st, &(*out)[(*n)++]);
	}
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "message");
	/* RETURNING gives no order: oldest first. */
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), cmp_msg);
	return 0;
}

int
outbox_claim(sqlite3 *db, const struct rv_who *w, const char *kind,
    const char *claim, int64_t lease, size_t max, struct outbox_msg **out,
    size_t *n, struct rv_err *e)
{
	/* A "sending" row whose lease (next_at) ran out is due again: its
	 * sender died between sending and recording. */
	static const char sql[] =
	    "UPDATE message SET status = 'sending', claim = ?1, "
	    "next_at = ?2 + ?3, attempts = attempts + 1, updated = ?2 "
	    "WHERE id IN (SELECT id FROM message "
	    "WHERE status IN ('queued', 'sending') AND next_at <= ?2 "
	    "AND (?4 IS NULL OR kind = ?4) ORDER BY next_at, id LIMIT ?5) "
	    "RETURNING id, kind, client_id, appointment_id, version, lead, "
	    "ref, data, message_id, attempts";
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		goto fail;
	sqlite3_bind_text(st, 1, claim, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, w->now);
	sqlite3_bind_int64(st, 3, lease);
	db_bind_text(st, 4, kind);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)max);
	rc = collect(db, st, out, n, e);
	sqlite3_reset(st);
	if (rc != 0)
		goto fail;
	if ((rc = db_commit(db, e)) != 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	outbox_msgs_free(*out, *n);
	*out = NULL;
	*n = 0;
	return rc;
}

int
outbox_due(sqlite3 *db, int64_t now, const char *kind, size_t max,
    struct outbox_msg **out, size_t *n, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, kind, client_id, appointment_id, version, lead, ref, "
	    "data, message_id, attempts FROM message "
	    "WHERE status IN ('queued', 'sending') AND next_at <= ?1 "
	    "AND (?2 IS NULL OR kind = ?2) ORDER BY next_at, id LIMIT ?3";
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	db_bind_text(st, 2, kind);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	rc = collect(db, st, out, n, e);
	sqlite3_finalize(st);
	return rc;
}

int
outbox_record(sqlite3 *db, const struct rv_who *w,
    const struct outbox_msg *m, const char *claim,
    const struct outbox_result *r, int *lost, struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE message SET status = ?1, reason = ?2, "
	    "recipient = coalesce(?3, recipient), "
	    "message_id = coalesce(?4, message_id), "
	    "provider_id = coalesce(?5, provider_id), sent = ?6, "
	    "next_at = ?7, attempts = attempts - ?8, claim = NULL, "
	    "updated = ?9 WHERE id = ?10 AND claim = ?11";
	static const char *const status[] = { "sent", "skipped", "failed",
		"queued", "queued" };
	static const char *const action[] = { "message.send", "message.skip",
		"message.fail", NULL, NULL };
	sqlite3_stmt *st;
	int64_t next = w->now;
	int rc;

	*lost = 0;
	if (r->outcome == OUTBOX_DEFERRED || r->outcome == OUTBOX_RELEASED)
		next = r->next_at;
	if ((rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		goto fail;
	sqlite3_bind_text(st, 1, status[r->outcome], -1, SQLITE_STATIC);
	db_bind_text(st, 2, r->reason);
	db_bind_text(st, 3, r->recipient);
	db_bind_text(st, 4, r->message_id);
	db_bind_text(st, 5, r->provider_id);
	if (r->outcome == OUTBOX_SENT)
		sqlite3_bind_int64(st, 6, w->now);
	sqlite3_bind_int64(st, 7, next);
	sqlite3_bind_int(st, 8, r->outcome == OUTBOX_RELEASED);
	sqlite3_bind_int64(st, 9, w->now);
	sqlite3_bind_int64(st, 10, m->id);
	sqlite3_bind_text(st, 11, claim, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, rc, e, "message");
		goto fail;
	}
	if (sqlite3_changes(db) == 0) {
		*lost = 1;
		db_rollback(db);
		return 0;
	}
	if (action[r->outcome] != NULL && (rc = audit_message(db, w,
	    action[r->outcome], m->id, m->client_id,
	    r->outcome == OUTBOX_SENT ? "email" : NULL, e)) != 0)
		goto fail;
	return db_commit(db, e);
fail:
	db_rollback(db);
	return rc;
}

#define MESSAGE_SELECT \
	"SELECT id, kind, client_id, appointment_id, version, lead, ref, " \
	"recipient, status, reason, attempts, next_at, message_id, " \
	"provider_id, created, updated, sent FROM message "

static json_t *
message_record(sqlite3_stmt *st)
{
	json_t *r = rec_new("message", sqlite3_column_int64(st, 0));
	const char *status = (const char *)sqlite3_column_text(st, 8);
	int64_t lead = sqlite3_column_int64(st, 5);
	char buf[24];

	rec_col_text(r, "kind", st, 1);
	rec_col_int(r, "client_id", st, 2);
	rec_col_int(r, "appointment_id", st, 3);
	rec_col_int(r, "version", st, 4);
	if (lead > 0) {
		outbox_lead_text(lead, buf);
		json_object_set_new(r, "lead", json_string(buf));
	} else {
		json_object_set_new(r, "lead", json_null());
	}
	if (sqlite3_column_bytes(st, 6) > 0)
		rec_col_text(r, "ref", st, 6);
	else
		json_object_set_new(r, "ref", json_null());
	rec_col_text(r, "recipient", st, 7);
	rec_col_text(r, "status", st, 8);
	rec_col_text(r, "reason", st, 9);
	rec_col_int(r, "attempts", st, 10);
	/* When it goes next: for a queued one its due time, for one being
	 * sent the end of its sender's lease. */
	if (strcmp(status, "queued") == 0 || strcmp(status, "sending") == 0)
		rec_col_time(r, "next_attempt", st, 11);
	else
		json_object_set_new(r, "next_attempt", json_null());
	rec_col_text(r, "message_id", st, 12);
	rec_col_text(r, "provider_id", st, 13);
	rec_col_time(r, "created", st, 14);
	rec_col_time(r, "updated", st, 15);
	rec_col_time(r, "sent", st, 16);
	return r;
}

int
outbox_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e)
{
	static const char sql[] = MESSAGE_SELECT "WHERE id = ?";

	return rec_get(db, sql, id, message_record, "message", rec, e);
}

int
outbox_list(sqlite3 *db, const struct outbox_filter *f,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	static const char sql[] = MESSAGE_SELECT
	    "WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR kind = ?2) "
	    "AND (?3 = 0 OR client_id = ?3) ORDER BY id";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	db_bind_text(st, 1, f->status);
	db_bind_text(st, 2, f->kind);
	sqlite3_bind_int64(st, 3, f->client_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(message_record(st), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "messages");
out:
	sqlite3_finalize(st);
	return rc;
}

int
outbox_retry(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e)
{
	static const char get[] =
	    "SELECT status, next_at, client_id FROM message WHERE id = ?";
	static const char put[] =
	    "UPDATE message SET status = 'queued', reason = NULL, "
	    "attempts = 0, next_at = ?1, claim = NULL, updated = ?1 "
	    "WHERE id = ?2";
	sqlite3_stmt *st;
	char status[16];
	int64_t next_at, client_id;
	int rc;

	if ((rc = db_prepare(db, get, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(status, sizeof(status), "%s",
		    sqlite3_column_text(st, 0));
		next_at = sqlite3_column_int64(st, 1);
		client_id = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return rv_fail(e, EX_NOINPUT, "no such message %lld",
		    (long long)id);
	if (rc != SQLITE_ROW)
		return db_fail(db, rc, e, "message");
	if (strcmp(status, "sent") == 0)
		return rv_fail(e, EX_REFUSED, "message %lld was sent already",
		    (long long)id);
	if (strcmp(status, "sending") == 0 && next_at > w->now)
		return rv_fail(e, EX_REFUSED, "message %lld is being sent "
		    "right now", (long long)id);
	if ((rc = db_prepare(db, put, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, w->now);
	sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "message");
	return audit_message(db, w, "message.retry", id, client_id, NULL, e);
}
