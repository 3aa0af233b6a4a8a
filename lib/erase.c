/*
 * erase.c — erasure (GDPR art. 17): the registry of how each table gives up
 * a client's data, the rules that do it over a set of clients, receipts,
 * and the journal that makes a restored backup erase again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "erase.h"
#include "gcal.h"
#include "health.h"
#include "outbox.h"
#include "request.h"
#include "banned.h"

/* The statements a run keeps prepared, one per use. */
enum {
	S_SET_CLEAR, S_SET_ADD, S_AHEAD, S_EVENT, S_EVENT_TITLE, S_GOOGLE,
	S_GOOGLE_OUTBOX,
	S_MESSAGE,
	S_APPT, S_CONSENT,
	S_HEALTH, S_FISCAL_EXPIRED, S_FISCAL_KEPT, S_FISCAL_UNLINK,
	S_REQ_ERASURE, S_REQ_OPEN, S_REQ_UNLINK, S_BREACH, S_JOURNAL_ADD,
	S_JOURNAL_GET, S_CLIENT, S_AUDIT_COUNT, S_STAT4, S_MAX
};

struct erase_run {
	sqlite3 *db;
	int64_t real_now;	/* the machine's clock: fiscal holds use it */
	long audit_months;
	int stat4;		/* sqlite_stat4 exists (index key samples) */
	sqlite3_stmt *st[S_MAX];
};

static size_t rule_index(const char *table);

/* The working set: a temporary table of the ids being erased. */
#define IN_SET "IN (SELECT id FROM temp.erase_set)"

static int
stmt(struct erase_run *r, int k, const char *sql, sqlite3_stmt **st,
    struct rv_err *e)
{
	int rc;

	if (r->st[k] == NULL) {
		rc = sqlite3_prepare_v3(r->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &r->st[k], NULL);
		if (rc != SQLITE_OK)
			return db_fail(r->db, rc, e, "erase");
	} else {
		sqlite3_reset(r->st[k]);
		sqlite3_clear_bindings(r->st[k]);
	}
	*st = r->st[k];
	return 0;
}

/* Runs a statement of the run with up to one integer bound as ?1; the rows
 * it changed are added to *n (when n is not NULL). */
static int
run_change(struct erase_run *r, int k, const char *sql, int64_t arg,
    int64_t *n, struct rv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt(r, k, sql, &st, e)) != 0)
		return rc;
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(r->db, rc, e, "erase");
	if (n != NULL)
		*n += sqlite3_changes(r->db);
	return 0;
}

/* The ids a query of the run returns (one integer column), ?1 bound. */
static int
run_ids(struct erase_run *r, int k, const char *sql, int64_t arg,
    struct rv_ids *out, struct rv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt(r, k, sql, &st, e)) != 0)
		return rc;
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, arg);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ids_add(out, sqlite3_column_int64(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(r->db, rc, e, "erase");
}

/* ---- the rules ---- */

static int
erase_events(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	static const char sql[] =
	    "DELETE FROM event WHERE appointment_id IN "
	    "(SELECT a.id FROM appointment a WHERE a.client_id " IN_SET ")";

	/* Blocks typed by staff or imported from Google (with
	 * google.import_titles) may name the client: such a title goes, the
	 * block stays busy. */
	static const char titles[] =
	    "UPDATE event SET title = NULL WHERE source <> 'booking' AND "
	    "title IS NOT NULL AND EXISTS (SELECT 1 FROM client c WHERE "
	    "c.id " IN_SET " AND rv_names_client(event.title, c.surname, "
	    "c.email))";
	int rc;

	(void)w;
	if ((rc = run_change(r, S_EVENT, sql, 0, &t->rows[i], e)) != 0)
		return rc;
	return run_change(r, S_EVENT_TITLE, titles, 0, &t->rows[i], e);
}

/* The events pushed to Google for their bookings are queued for deletion
 * there (the next gcal-sync does it), and pending pushes dropped: by
 * gcal_forget_client, for each client who has any. */
static int
erase_google(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	static const char who[] =
	    "SELECT DISTINCT a.client_id FROM appointment a "
	    "WHERE a.client_id " IN_SET " AND (EXISTS (SELECT 1 FROM gcal_link l "
	    "WHERE l.appointment_id = a.id) OR EXISTS (SELECT 1 FROM "
	    "gcal_outbox o WHERE o.appointment_id = a.id))";
	static const char pending[] =
	    "SELECT count(*) FROM gcal_outbox WHERE appointment_id IN "
	    "(SELECT a.id FROM appointment a WHERE a.client_id " IN_SET ")";
	size_t outbox = rule_index("gcal_outbox"), k;
	struct rv_ids ids = { 0 };
	sqlite3_stmt *st;
	int n, rc;

	if ((rc = run_ids(r, S_GOOGLE, who, 0, &ids, e)) != 0 || ids.n == 0)
		goto out;
	if ((rc = stmt(r, S_GOOGLE_OUTBOX, pending, &st, e)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		rc = db_fail(r->db, rc, e, "calendar outbox");
		goto out;
	}
	t->rows[outbox] += sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	for (k = 0; k < ids.n; k++) {
		if ((rc = gcal_forget_client(r->db, w, ids.v[k], &n, e)) != 0)
			goto out;
		t->rows[i] += n;
		t->google += n;
	}
	rc = 0;
out:
	ids_free(&ids);
	return rc;
}

/* Messages sent and queued, the cancellation notices the bookings ahead
 * just queued among them: nobody is told of a cancellation they asked
 * for by asking to be forgotten. */
static int
erase_messages(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	static const char who[] =
	    "SELECT DISTINCT client_id FROM message WHERE client_id " IN_SET;
	struct rv_ids ids = { 0 };
	int64_t n;
	size_t k;
	int rc;

	(void)w;
	if ((rc = run_ids(r, S_MESSAGE, who, 0, &ids, e)) != 0)
		goto out;
	for (k = 0; k < ids.n; k++) {
		if ((rc = outbox_forget_client(r->db, ids.v[k], &n, e)) != 0)
			goto out;
		t->rows[i] += n;
	}
out:
	ids_free(&ids);
	return rc;
}

static int
erase_appointments(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE appointment SET client_id = NULL, notes = NULL, "
	    "cancel_reason = NULL, updated = ?1 WHERE client_id " IN_SET;

	return run_change(r, S_APPT, sql, w->now, &t->rows[i], e);
}

static int
erase_consents(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	/* The consent_append_only trigger lets exactly these through. */
	static const char sql[] =
	    "UPDATE consent SET client_id = NULL, evidence = NULL, ip = NULL "
	    "WHERE client_id " IN_SET;

	(void)w;
	return run_change(r, S_CONSENT, sql, 0, &t->rows[i], e);
}

static int
erase_health(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT client_id FROM client_health WHERE client_id " IN_SET;
	struct rv_ids ids = { 0 };
	size_t k;
	int deleted, rc;

	if ((rc = run_ids(r, S_HEALTH, sql, 0, &ids, e)) != 0)
		goto out;
	for (k = 0; k < ids.n; k++) {
		if ((rc = health_delete(r->db, w, ids.v[k], "health.erase",
		    &deleted, e)) != 0)
			goto out;
		t->rows[i] += deleted;
	}
out:
	ids_free(&ids);
	return rc;
}

int
fiscal_expire(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e)
{
	static const char get[] =
	    "SELECT number, coalesce(client_id, 0), hold_until FROM fiscal "
	    "WHERE id = ?";
	static const char del[] = "DELETE FROM fiscal WHERE id = ?";
	sqlite3_stmt *st;
	char ref[48], when[40];
	int64_t client_id, hold;
	int rc;

	if ((rc = db_prepare(db, get, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? rv_fail(e, EX_NOINPUT,
		    "no such receipt %lld", (long long)id) :
		    db_fail(db, rc, e, "fiscal");
		sqlite3_finalize(st);
		return rc;
	}
	snprintf(ref, sizeof(ref), "fiscal %s", sqlite3_column_text(st, 0));
	client_id = sqlite3_column_int64(st, 1);
	hold = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	/* The same judgement as the fiscal_hold_delete trigger's. */
	if (hold > (int64_t)time(NULL)) {
		tm_local(hold, when);
		return rv_fail(e, EX_REFUSED, "%s is under legal hold until "
		    "%.10s", ref, when);
	}
	if ((rc = db_prepare(db, del, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "fiscal");
	return audit_append(db, w, "fiscal.expire", client_id, ref, NULL, e);
}

/* Records still under hold are kept, unlinked; those past it (on both the
 * tool's clock and the machine's) have no reason left to be kept. */
static int
erase_fiscal(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	static const char expired[] =
	    "SELECT id FROM fiscal WHERE client_id " IN_SET
	    " AND hold_until <= ?1 ORDER BY id";
	static const char kept[] =
	    "SELECT count(*), max(hold_until) FROM fiscal "
	    "WHERE client_id " IN_SET;
	static const char unlink_sql[] =
	    "UPDATE fiscal SET client_id = NULL WHERE client_id " IN_SET;
	int64_t limit = w->now < r->real_now ? w->now : r->real_now;
	struct rv_ids ids = { 0 };
	sqlite3_stmt *st;
	size_t k;
	int rc;

	if ((rc = run_ids(r, S_FISCAL_EXPIRED, expired, limit, &ids, e)) != 0)
		goto out;
	for (k = 0; k < ids.n; k++) {
		if ((rc = fiscal_expire(r->db, w, ids.v[k], e)) != 0)
			goto out;
		t->fiscal_expired++;
	}
	if ((rc = stmt(r, S_FISCAL_KEPT, kept, &st, e)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		rc = db_fail(r->db, rc, e, "fiscal");
		goto out;
	}
	t->rows[i] += sqlite3_column_int64(st, 0);
	if (sqlite3_column_int64(st, 1) > t->until[i])
		t->until[i] = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	rc = run_change(r, S_FISCAL_UNLINK, unlink_sql, 0, NULL, e);
out:
	ids_free(&ids);
	return rc;
}

/* An open erasure request is what this erasure answers: it is closed as
 * done. Other open requests stay open in the register, unlinked. */
static int
erase_requests(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	static const char erasure[] =
	    "SELECT id FROM request WHERE client_id " IN_SET
	    " AND closed IS NULL AND kind = 'erasure' ORDER BY id";
	static const char open[] =
	    "SELECT id FROM request WHERE client_id " IN_SET
	    " AND closed IS NULL ORDER BY id";
	static const char unlink_sql[] =
	    "UPDATE request SET client_id = NULL, notes = NULL, updated = ?1 "
	    "WHERE client_id " IN_SET;
	struct rv_ids ids = { 0 };
	size_t k;
	int rc;

	if ((rc = run_ids(r, S_REQ_ERASURE, erasure, 0, &ids, e)) != 0)
		goto out;
	for (k = 0; k < ids.n; k++) {
		if ((rc = request_close(r->db, w, ids.v[k], "done",
		    "carried out: the client's data was erased", e)) != 0)
			goto out;
		ids_add(&t->requests_closed, ids.v[k]);
	}
	if ((rc = run_ids(r, S_REQ_OPEN, open, 0, &t->requests_open, e)) != 0)
		goto out;
	rc = run_change(r, S_REQ_UNLINK, unlink_sql, w->now, &t->rows[i], e);
out:
	ids_free(&ids);
	return rc;
}

static int
erase_breach(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE breach_subject SET client_id = NULL WHERE client_id " IN_SET;

	(void)w;
	return run_change(r, S_BREACH, sql, 0, &t->rows[i], e);
}

static void
journal_add(struct erase_tally *t, const struct erase_journal_entry *j)
{
	if (t->njournal == t->capjournal) {
		t->capjournal = t->capjournal ? t->capjournal * 2 : 16;
		t->journal = xrealloc(t->journal, t->capjournal *
		    sizeof(*t->journal));
	}
	t->journal[t->njournal++] = *j;
}

/* Before the client rows go: their creation time is what tells this
 * client from a later one with the same id in an older backup. */
static int
erase_journal(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	static const char add[] =
	    "INSERT INTO erasure (client_id, created, erased) "
	    "SELECT id, created, ?1 FROM client WHERE id " IN_SET;
	static const char get[] =
	    "SELECT id, client_id, created, erased FROM erasure "
	    "WHERE client_id " IN_SET " ORDER BY id";
	struct erase_journal_entry j;
	sqlite3_stmt *st;
	int rc;

	if ((rc = run_change(r, S_JOURNAL_ADD, add, w->now, &t->rows[i],
	    e)) != 0)
		return rc;
	if ((rc = stmt(r, S_JOURNAL_GET, get, &st, e)) != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		j.id = sqlite3_column_int64(st, 0);
		j.client_id = sqlite3_column_int64(st, 1);
		j.created = sqlite3_column_int64(st, 2);
		j.erased = sqlite3_column_int64(st, 3);
		journal_add(t, &j);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(r->db, rc, e, "erasure");
}

static int
erase_client_rows(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	static const char sql[] = "DELETE FROM client WHERE id " IN_SET;

	(void)w;
	return run_change(r, S_CLIENT, sql, 0, &t->rows[i], e);
}

/* ANALYZE with STAT4 keeps samples of index keys (emails among them):
 * they go, and the planner falls back on sqlite_stat1's counts. */
static int
erase_stat4(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, size_t i, struct rv_err *e)
{
	(void)w;
	if (!r->stat4)
		return 0;
	return run_change(r, S_STAT4, "DELETE FROM sqlite_stat4", 0,
	    &t->rows[i], e);
}

#define OBL_ACCOUNTABILITY "accountability (GDPR art. 5(2))"

const struct erase_rule erase_rules[] = {
	/* First what is found through the client's appointments, while they
	 * still name the client. */
	{ "event", ERASE_DELETE, "calendar events", NULL,
	  "the calendar blocks made from their bookings; other blocks keep "
	  "their times but lose a title that holds the client's surname or "
	  "email", NULL, erase_events },
	{ "gcal_link", ERASE_DELETE, "events on Google", NULL,
	  "the events pushed to the operators' Google Calendars for their "
	  "bookings: unlinked now, deleted on Google by the next gcal-sync",
	  NULL, erase_google },
	{ "gcal_outbox", ERASE_DELETE, "calendar pushes", NULL,
	  "pushes of their bookings still waiting for gcal-sync (with the "
	  "events on Google)", NULL, NULL },
	{ "message", ERASE_DELETE, "messages", NULL,
	  "the messages sent to them and those waiting, the cancellation "
	  "notices of bookings ahead included", NULL, erase_messages },
	{ "appointment", ERASE_BLANK, "appointments",
	  "client_id,notes,cancel_reason",
	  "bookings ahead are cancelled first; every booking then loses whom "
	  "it was for and the notes about it, keeping when, which service and "
	  "which operator", NULL, erase_appointments },
	{ "consent", ERASE_BLANK, "consents", "client_id,evidence,ip",
	  "each ledger row stays as proof that consent was asked and given "
	  "(purpose, action, time, method, policy version), without whose it "
	  "was", NULL, erase_consents },
	{ "client_health", ERASE_DELETE, "health data", NULL,
	  "the sealed health and allergy notes", NULL, erase_health },
	{ "fiscal", ERASE_KEEP, "fiscal records", "client_id",
	  "unlinked from the client, each receipt keeps what the law wants on "
	  "it until its hold ends; receipts already past it are deleted",
	  "Italian tax law: accounting records are kept 10 years "
	  "(art. 2220 codice civile, art. 22 DPR 600/1973)", erase_fiscal },
	{ "request", ERASE_BLANK, "requests", "client_id,notes",
	  "the register keeps each request's kind, dates and answer, without "
	  "whose it was; an open erasure request is closed as done", NULL,
	  erase_requests },
	{ "breach_subject", ERASE_BLANK, "breach register", "client_id",
	  "the register keeps that someone was affected by a breach, and "
	  "when they were told, not who", NULL, erase_breach },
	{ "erasure", ERASE_KEEP, "erasure journal", NULL,
	  "the client's id and the times it was created and erased, so that "
	  "restoring an older backup erases them again",
	  "the erasure itself (GDPR art. 17 and 5(2)): it must outlive "
	  "backups", erase_journal },
	{ "client", ERASE_DELETE, "identity",
	  "name,surname,email,phone,birth,locale,notes,restricted_reason",
	  "the client record", NULL, erase_client_rows },
	{ "audit", ERASE_KEEP, "audit trail", NULL,
	  "entries name the client's id, actions and field names, never "
	  "values; they stay until retention.audit_months has passed, and the "
	  "chain they form must stay verifiable",
	  OBL_ACCOUNTABILITY ": who accessed or changed the data, when and "
	  "why", NULL },
	{ "sqlite_stat4", ERASE_DELETE, "planner statistics", NULL,
	  "samples of index keys that ANALYZE may keep, when it has", NULL,
	  erase_stat4 },

	{ "meta", ERASE_NONE, NULL, NULL,
	  "settings of the database: schema, key fingerprint", NULL, NULL },
	{ "staff", ERASE_NONE, NULL, NULL, "the centre's staff", NULL, NULL },
	{ "staff_hours", ERASE_NONE, NULL, NULL, "staff working hours", NULL,
	  NULL },
	{ "staff_off", ERASE_NONE, NULL, NULL, "staff leave", NULL, NULL },
	{ "service", ERASE_NONE, NULL, NULL, "the catalog of services", NULL,
	  NULL },
	{ "staff_service", ERASE_NONE, NULL, NULL,
	  "which staff perform which service", NULL, NULL },
	{ "policy", ERASE_NONE, NULL, NULL,
	  "the archive of privacy-policy versions", NULL, NULL },
	{ "gcal_account", ERASE_NONE, NULL, NULL,
	  "the operators' connected Google accounts", NULL, NULL },
	{ "staff_auth", ERASE_NONE, NULL, NULL,
	  "staff passwords, as salted hashes", NULL, NULL },
	{ "session", ERASE_NONE, NULL, NULL, "staff logins", NULL, NULL },
	{ "audit_anchor", ERASE_NONE, NULL, NULL,
	  "where the audit chain starts after a purge", NULL, NULL },
	{ "breach", ERASE_NONE, NULL, NULL,
	  "the register of data breaches (who was affected is in "
	  "breach_subject)", NULL, NULL },
};
const size_t erase_nrules = sizeof(erase_rules) / sizeof(erase_rules[0]);

/* Tables that only exist once SQLite makes them: no rule is needed for
 * them to be absent. */
static int
optional_table(const char *name)
{
	return strncmp(name, "sqlite_", 7) == 0;
}

const char *
erase_how_name(enum erase_how how)
{
	switch (how) {
	case ERASE_DELETE: return "delete";
	case ERASE_BLANK: return "blank";
	case ERASE_KEEP: return "keep";
	default: return "none";
	}
}

static size_t
rule_index(const char *table)
{
	size_t i;

	for (i = 0; i < erase_nrules; i++)
		if (strcmp(erase_rules[i].table, table) == 0)
			return i;
	return erase_nrules;
}

int
erase_rules_list(int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e)
{
	const struct erase_rule *u;
	json_t *r;
	size_t i;
	int rc;

	(void)e;
	for (i = 0; i < erase_nrules; i++) {
		u = &erase_rules[i];
		r = json_object();
		json_object_set_new(r, "type", json_string("erase_rule"));
		json_object_set_new(r, "id", json_integer((json_int_t)i + 1));
		json_object_set_new(r, "table", json_string(u->table));
		json_object_set_new(r, "how",
		    json_string(erase_how_name(u->how)));
		json_object_set_new(r, "category", u->category ?
		    json_string(u->category) : json_null());
		json_object_set_new(r, "columns", u->columns ?
		    json_string(u->columns) : json_null());
		json_object_set_new(r, "what", json_string(u->what));
		json_object_set_new(r, "obligation", u->obligation ?
		    json_string(u->obligation) : json_null());
		if ((rc = fn(r, arg)) != 0)
			return rc;
	}
	return 0;
}

int
erase_check_schema(sqlite3 *db, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
	sqlite3_stmt *st;
	char seen[ERASE_MAX_RULES] = { 0 };
	const char *name;
	size_t i;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		i = rule_index(name);
		if (i < erase_nrules) {
			seen[i] = 1;
			continue;
		}
		if (optional_table(name))
			continue;
		rc = rv_fail(e, EX_SOFTWARE, "table '%s' has no erasure rule "
		    "(lib/erase.c): nothing is erased until it has one", name);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "schema");
	for (i = 0; i < erase_nrules; i++)
		if (!seen[i] && !optional_table(erase_rules[i].table))
			return rv_fail(e, EX_SOFTWARE, "the erasure rule for "
			    "'%s' names a table the database lacks",
			    erase_rules[i].table);
	return 0;
}

/* The audit row's fields: what the rules clear, as "table.column" (the
 * client's own columns by name alone), and whole tables by name. */
static char *
build_fields(void)
{
	struct rv_buf b = { 0 };
	const struct erase_rule *u;
	const char *c, *end;
	size_t i;

	for (i = 0; i < erase_nrules; i++) {
		u = &erase_rules[i];
		if (u->how == ERASE_NONE || optional_table(u->table) ||
		    (u->how == ERASE_KEEP && u->columns == NULL))
			continue;
		if (u->columns == NULL) {
			buf_adds(&b, b.len ? "," : "");
			buf_adds(&b, u->table);
			continue;
		}
		for (c = u->columns; *c; c = *end ? end + 1 : end) {
			end = c + strcspn(c, ",");
			buf_adds(&b, b.len ? "," : "");
			if (strcmp(u->table, "client") != 0)
				buf_printf(&b, "%s.", u->table);
			buf_add(&b, c, (size_t)(end - c));
		}
	}
	return b.s;
}

const char *
erase_fields(void)
{
	static char *fields;

	if (fields == NULL)
		fields = build_fields();
	return fields;
}

int
erase_open(sqlite3 *db, const struct rv_conf *conf, struct erase_run **out,
    struct rv_err *e)
{
	struct erase_run *r;
	int64_t v;
	int rc;

	*out = NULL;
	if ((rc = erase_check_schema(db, e)) != 0)
		return rc;
	r = xcalloc(1, sizeof(*r));
	r->db = db;
	r->real_now = (int64_t)time(NULL);
	if ((rc = conf_int(conf, "retention.audit_months", 1, 1200,
	    &r->audit_months, e)) != 0)
		goto fail;
	if ((rc = db_functions(db, e)) != 0)
		goto fail;
	if ((rc = db_exec(db, "PRAGMA temp_store = MEMORY;"
	    "CREATE TEMP TABLE IF NOT EXISTS erase_set "
	    "(id INTEGER PRIMARY KEY)", e)) != 0)
		goto fail;
	if ((rc = db_int(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' "
	    "AND name = 'sqlite_stat4'", 0, &v, &r->stat4, e)) != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	erase_close(r);
	return rc;
}

void
erase_close(struct erase_run *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < S_MAX; i++)
		sqlite3_finalize(r->st[i]);
	free(r);
}

void
erase_tally_free(struct erase_tally *t)
{
	ids_free(&t->requests_closed);
	ids_free(&t->requests_open);
	free(t->journal);
	memset(t, 0, sizeof(*t));
}

void
erase_tally_add(struct erase_tally *to, const struct erase_tally *from)
{
	size_t i;

	to->clients += from->clients;
	for (i = 0; i < ERASE_MAX_RULES; i++) {
		to->rows[i] += from->rows[i];
		if (from->until[i] > to->until[i])
			to->until[i] = from->until[i];
	}
	to->cancelled += from->cancelled;
	to->fiscal_expired += from->fiscal_expired;
	to->google += from->google;
	for (i = 0; i < from->requests_closed.n; i++)
		ids_add(&to->requests_closed, from->requests_closed.v[i]);
	for (i = 0; i < from->requests_open.n; i++)
		ids_add(&to->requests_open, from->requests_open.v[i]);
	for (i = 0; i < from->njournal; i++)
		journal_add(to, &from->journal[i]);
}

static int
fill_set(struct erase_run *r, const int64_t *ids, size_t n, struct rv_err *e)
{
	static const char clear[] = "DELETE FROM temp.erase_set";
	static const char add[] =
	    "INSERT OR IGNORE INTO temp.erase_set (id) VALUES (?1)";
	size_t k;
	int rc;

	if ((rc = run_change(r, S_SET_CLEAR, clear, 0, NULL, e)) != 0)
		return rc;
	for (k = 0; k < n; k++)
		if ((rc = run_change(r, S_SET_ADD, add, ids[k], NULL, e)) != 0)
			return rc;
	return 0;
}

/* Bookings still ahead are cancelled the normal way, so that what hangs
 * off a cancellation (the calendar push) follows; the notices it queues go
 * with the client's other messages. */
static int
cancel_ahead(struct erase_run *r, const struct rv_who *w,
    struct erase_tally *t, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id FROM appointment WHERE client_id " IN_SET
	    " AND status IN ('booked', 'needs_review') AND start > ?1 "
	    "ORDER BY start, id";
	struct rv_ids ids = { 0 };
	size_t k;
	int rc;

	if ((rc = run_ids(r, S_AHEAD, sql, w->now, &ids, e)) != 0)
		goto out;
	for (k = 0; k < ids.n; k++) {
		if ((rc = appt_cancel(r->db, w, ids.v[k], e)) != 0)
			goto out;
		t->cancelled++;
	}
out:
	ids_free(&ids);
	return rc;
}

int
erase_clients(struct erase_run *r, const struct rv_who *w,
    const int64_t *ids, size_t n, struct erase_tally *t, struct rv_err *e)
{
	static const char audit_count[] =
	    "SELECT count(*) FROM audit WHERE client_id " IN_SET;
	size_t i, audit = rule_index("audit");
	sqlite3_stmt *st;
	char ref[40];
	int rc;

	if (n == 0)
		return 0;
	if ((rc = fill_set(r, ids, n, e)) != 0 ||
	    (rc = cancel_ahead(r, w, t, e)) != 0)
		return rc;
	for (i = 0; i < erase_nrules; i++) {
		if (erase_rules[i].apply == NULL)
			continue;
		if ((rc = erase_rules[i].apply(r, w, t, i, e)) != 0)
			return rv_prefix(e, "erasing %s: ",
			    erase_rules[i].table);
	}
	for (i = 0; i < n; i++) {
		snprintf(ref, sizeof(ref), "client %lld", (long long)ids[i]);
		if ((rc = audit_append(r->db, w, "client.erase", ids[i], ref,
		    erase_fields(), e)) != 0)
			return rc;
	}
	t->clients += (int64_t)n;
	/* What the trail holds about them, this erasure's own rows included. */
	if ((rc = stmt(r, S_AUDIT_COUNT, audit_count, &st, e)) != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		t->rows[audit] += sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_fail(r->db, rc, e, "audit");
	t->until[audit] = tm_add_months(w->now, r->audit_months);
	return 0;
}

int64_t
tm_add_months(int64_t t, long n)
{
	int y, m, d, minute;

	tm_day_of(t, &y, &m, &d, &minute);
	date_add_months(&y, &m, &d, (int)n);
	/* The seconds within the minute, which tm_day_of leaves out. */
	return tm_wall(y, m, d, minute) + ((t % 60) + 60) % 60;
}

/* ---- receipts ---- */

static json_t *
ids_json(const struct rv_ids *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < l->n; i++)
		json_array_append_new(a, json_integer(l->v[i]));
	return a;
}

static json_t *
columns_json(const char *cols)
{
	json_t *a = json_array();
	const char *c, *end;

	for (c = cols; c != NULL && *c; c = *end ? end + 1 : end) {
		end = c + strcspn(c, ",");
		json_array_append_new(a, json_stringn(c, (size_t)(end - c)));
	}
	return a;
}

/* "deleted 1 identity, 2 calendar events; anonymized ...; kept ...". */
static void
summary_part(struct rv_buf *b, const char *verb, json_t *list)
{
	const char *until;
	json_t *x;
	size_t i;

	if (json_array_size(list) == 0)
		return;
	buf_printf(b, "%s%s ", b->len ? "; " : "", verb);
	json_array_foreach(list, i, x) {
		buf_printf(b, "%s%" JSON_INTEGER_FORMAT " %s", i ? ", " : "",
		    json_integer_value(json_object_get(x, "count")),
		    json_string_value(json_object_get(x, "category")));
		until = json_string_value(json_object_get(x, "until"));
		if (until != NULL)
			buf_printf(b, " until %.10s", until);
	}
}

static json_t *
summary(json_t *deleted, json_t *anon, json_t *kept)
{
	struct rv_buf b = { 0 };
	json_t *s;

	summary_part(&b, "deleted", deleted);
	summary_part(&b, "anonymized", anon);
	summary_part(&b, "kept", kept);
	s = json_string(b.len ? b.s : "nothing held");
	buf_free(&b);
	return s;
}

json_t *
erase_receipt(const struct rv_who *w, const struct erase_tally *t,
    int64_t client_id, int dry_run)
{
	json_t *rec, *deleted, *anon, *kept, *counts, *x;
	const struct erase_rule *u;
	int64_t journal_id = 0;
	char until[40];
	size_t i;

	for (i = 0; i < t->njournal; i++)
		if (t->journal[i].client_id == client_id)
			journal_id = t->journal[i].id;
	rec = json_object();
	json_object_set_new(rec, "type", json_string("receipt"));
	json_object_set_new(rec, "id", dry_run || journal_id == 0 ?
	    json_null() : json_integer(journal_id));
	json_object_set_new(rec, "kind", json_string("erasure"));
	json_object_set_new(rec, "client_id", json_integer(client_id));
	rec_time(rec, "erased", w->now);
	json_object_set_new(rec, "dry_run", json_boolean(dry_run));
	json_object_set_new(rec, "reason", w->reason ?
	    json_string(w->reason) : json_null());
	deleted = json_array();
	anon = json_array();
	kept = json_array();
	counts = json_object();
	for (i = 0; i < erase_nrules; i++) {
		u = &erase_rules[i];
		if (u->how == ERASE_NONE || optional_table(u->table))
			continue;
		json_object_set_new(counts, u->table,
		    json_integer(t->rows[i]));
		if (strcmp(u->table, "fiscal") == 0 && t->fiscal_expired > 0)
			json_array_append_new(deleted, json_pack(
			    "{s:s, s:s, s:I, s:s}", "category",
			    "fiscal records past their legal term", "table",
			    "fiscal", "count", (json_int_t)t->fiscal_expired,
			    "what", "receipts whose legal hold had ended"));
		if (t->rows[i] == 0)
			continue;
		x = json_pack("{s:s, s:s, s:I}", "category", u->category,
		    "table", u->table, "count", (json_int_t)t->rows[i]);
		switch (u->how) {
		case ERASE_DELETE:
			if (u->columns != NULL)
				json_object_set_new(x, "fields",
				    columns_json(u->columns));
			json_object_set_new(x, "what", json_string(u->what));
			json_array_append_new(deleted, x);
			break;
		case ERASE_BLANK:
			json_object_set_new(x, "fields",
			    columns_json(u->columns));
			json_object_set_new(x, "what", json_string(u->what));
			json_array_append_new(anon, x);
			break;
		default:
			json_object_set_new(x, "obligation",
			    json_string(u->obligation));
			if (t->until[i] > 0) {
				tm_rfc3339(t->until[i], until);
				json_object_set_new(x, "until",
				    json_string(until));
			} else {
				json_object_set_new(x, "until", json_null());
			}
			if (u->columns != NULL)
				json_object_set_new(x, "unlinked",
				    columns_json(u->columns));
			json_object_set_new(x, "what", json_string(u->what));
			json_array_append_new(kept, x);
			break;
		}
	}
	json_object_set_new(rec, "summary", summary(deleted, anon, kept));
	json_object_set_new(rec, "deleted", deleted);
	json_object_set_new(rec, "anonymized", anon);
	json_object_set_new(rec, "kept", kept);
	json_object_set_new(rec, "cancelled", json_integer(t->cancelled));
	json_object_set_new(rec, "google_deletions", json_integer(t->google));
	json_object_set_new(rec, "requests_closed",
	    ids_json(&t->requests_closed));
	json_object_set_new(rec, "requests_open", ids_json(&t->requests_open));
	json_object_set_new(rec, "counts", counts);
	return rec;
}

/* ---- the journal ---- */

int
erase_journal_find(sqlite3 *db, int64_t client_id, int64_t *erased,
    struct rv_err *e)
{
	int found, rc;

	*erased = 0;
	rc = db_int(db, "SELECT erased FROM erasure WHERE client_id = ?",
	    client_id, erased, &found, e);
	if (rc == 0 && !found)
		*erased = 0;
	return rc;
}

int
erase_journal_path(const struct rv_conf *conf, const char *db_path,
    char *buf, size_t n, struct rv_err *e)
{
	const char *s = conf_get(conf, "erase.journal");
	const char *slash;
	int w;

	if (s != NULL && *s != '\0')
		w = snprintf(buf, n, "%s", s);
	else if (db_path == NULL || *db_path == '\0')
		return rv_fail(e, EX_CONFIG, "no file for the erasure journal: "
		    "set erase.journal in the config");
	else if ((slash = strrchr(db_path, '/')) != NULL)
		w = snprintf(buf, n, "%.*s/erasures.jsonl",
		    (int)(slash - db_path), db_path);
	else
		w = snprintf(buf, n, "erasures.jsonl");
	if (w < 0 || (size_t)w >= n)
		return rv_fail(e, EX_CONFIG, "erasure journal path too long");
	return 0;
}

int
erase_journal_write(const char *path, const struct erase_tally *t,
    struct rv_err *e)
{
	struct rv_buf b = { 0 };
	char dir[PATH_MAX], c[40], d[40];
	const char *slash;
	size_t i, off = 0;
	ssize_t got;
	int fd = -1, rc = 0;

	if (t->njournal == 0)
		return 0;
	if ((slash = strrchr(path, '/')) != NULL && slash != path) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		if ((rc = mkdir_parents(dir, 0700, e)) != 0)
			return rc;
	}
	for (i = 0; i < t->njournal; i++) {
		tm_rfc3339(t->journal[i].created, c);
		tm_rfc3339(t->journal[i].erased, d);
		buf_printf(&b, "{\"type\":\"erasure\",\"id\":%lld,"
		    "\"client_id\":%lld,\"created\":\"%s\","
		    "\"erased\":\"%s\"}\n",
		    (long long)t->journal[i].id,
		    (long long)t->journal[i].client_id, c, d);
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = rv_fail_errno(e, EX_CANTCREAT, "cannot open the erasure "
		    "journal %s", path);
		goto out;
	}
	while (off < b.len) {
		got = write(fd, b.s + off, b.len - off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = rv_fail_errno(e, EX_IOERR, "cannot write the "
			    "erasure journal %s", path);
			goto out;
		}
		off += (size_t)got;
	}
	if (fsync(fd) < 0)
		rc = rv_fail_errno(e, EX_IOERR, "cannot write the erasure "
		    "journal %s", path);
out:
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = rv_fail_errno(e, EX_IOERR, "cannot write the erasure "
		    "journal %s", path);
	buf_free(&b);
	return rc;
}

struct replay {
	struct erase_run *r;
	struct rv_who w;
	int64_t since;
	int dry_run;
	int (*fn)(json_t *receipt, void *arg);
	void *arg;
	size_t n;
};

static int
replay_one(json_t *rec, size_t line, void *arg, struct rv_err *e)
{
	struct replay *p = arg;
	struct erase_tally t = { 0 };
	const char *created_s, *erased_s;
	int64_t id, created, erased, have;
	int found, rc;

	(void)line;
	if ((rc = in_int(rec, "client_id", 1, &id, e)) != 0 ||
	    (rc = in_str(rec, "created", 1, &created_s, e)) != 0 ||
	    (rc = in_str(rec, "erased", 1, &erased_s, e)) != 0 ||
	    (rc = tm_parse(created_s, &created, e)) != 0 ||
	    (rc = tm_parse(erased_s, &erased, e)) != 0)
		return rc;
	if (p->since > 0 && erased <= p->since)
		return 0;
	if ((rc = db_int(p->r->db, "SELECT created FROM client WHERE id = ?",
	    id, &have, &found, e)) != 0)
		return rc;
	/* Gone already, or another person who got the same id later. */
	if (!found || have != created)
		return 0;
	if ((rc = erase_clients(p->r, &p->w, &id, 1, &t, e)) == 0) {
		p->n++;
		if (p->fn != NULL)
			rc = p->fn(erase_receipt(&p->w, &t, id, p->dry_run),
			    p->arg);
	}
	erase_tally_free(&t);
	return rc;
}

int
erase_replay(struct erase_run *r, const struct rv_who *w, const char *path,
    int64_t since, int dry_run, int (*fn)(json_t *receipt, void *arg),
    void *arg, size_t *replayed, struct rv_err *e)
{
	struct replay p = { r, *w, since, dry_run, fn, arg, 0 };
	FILE *fp;
	int rc;

	*replayed = 0;
	p.w.reason = "replay of the erasure journal";
	p.w.reason_typed = 0;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		return rv_fail_errno(e, EX_NOINPUT, "cannot read the erasure "
		    "journal %s", path);
	}
	rc = in_each(fp, replay_one, &p, e);
	fclose(fp);
	if (rc != 0)
		return rv_prefix(e, "%s: ", path);
	*replayed = p.n;
	return 0;
}

static int
reerased(json_t *receipt, void *arg)
{
	json_array_append_new(arg, json_pack("{s:O, s:O}", "client_id",
	    json_object_get(receipt, "client_id"), "summary",
	    json_object_get(receipt, "summary")));
	json_decref(receipt);
	return 0;
}

int
erase_reerase(sqlite3 *db, int64_t since, json_t *report, void *arg,
    struct rv_err *e)
{
	const struct erase_reerase *a = arg;
	struct erase_run *r;
	size_t n = 0;
	int rc;

	(void)since;
	if ((rc = db_exec(db, "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON", e)) != 0 ||
	    (rc = db_migrate(db, e)) != 0 ||
	    (rc = erase_open(db, a->conf, &r, e)) != 0)
		return rc;
	if ((rc = db_begin(db, e)) == 0) {
		rc = erase_replay(r, a->w, a->journal, 0, 0, reerased, report,
		    &n, e);
		if (rc == 0)
			rc = db_commit(db, e);
		else
			db_rollback(db);
	}
	erase_close(r);
	if (rc == 0 && n > 0)
		rc = db_checkpoint(db, e);
	return rc;
}
