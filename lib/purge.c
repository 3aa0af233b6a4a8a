/*
 * purge.c — the retention terms (retention.*) applied in bounded batches:
 * clients erased once their term has run, health data deleted, fiscal
 * records deleted after their legal hold, audit entries after theirs.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "erase.h"
#include "health.h"
#include "purge.h"
#include "banned.h"

const struct rv_col purge_cols[] = {
	{ "id", "CATEGORY", 0 },
	{ "count", "COUNT", RV_COL_RIGHT },
	{ "cutoff", "BEFORE", RV_COL_TIME },
	{ "skipped", "SKIPPED", 0 },
	{ "status", "STATUS", 0 },
	{ NULL, NULL, 0 },
};

/*
 * The SQL below binds ?1 the last id done (batches resume after it), ?2
 * the cutoff, ?3 now, ?4 the batch size; a statement that does not name
 * one of them leaves it unbound.
 */

/* When a client's term starts: the end of their last appointment, found
 * through the (client_id, start) index (none lasts over a day), or when
 * they were added if they never had one. */
#define LAST_END(id) \
	"(SELECT max(a.end) FROM appointment a WHERE a.client_id = " id \
	" AND a.start >= (SELECT max(b.start) FROM appointment b " \
	"WHERE b.client_id = " id ") - 86400)"
#define AHEAD(id) \
	"EXISTS (SELECT 1 FROM appointment a WHERE a.client_id = " id \
	" AND a.start > ?3 - 86400 AND a.end > ?3 " \
	"AND a.status IN ('booked', 'needs_review'))"
#define OPEN_REQUEST(id) \
	"EXISTS (SELECT 1 FROM request r WHERE r.client_id = " id \
	" AND r.closed IS NULL)"

struct cat {
	sqlite3 *db;
	struct rv_who w;	/* with the category's reason */
	const struct purge_opts *o;
	const char *what;	/* for the progress line */
	size_t total, done;
	json_t *rec;
	struct erase_run *run;	/* clients */
	struct erase_tally tally;	/* clients: what their erasure did */
};

static json_t *
summary(const char *id, const char *setting, long value, const char *clock,
    int64_t cutoff, int dry_run)
{
	json_t *r = json_object();

	json_object_set_new(r, "type", json_string("purge"));
	json_object_set_new(r, "id", json_string(id));
	json_object_set_new(r, "setting", json_string(setting));
	json_object_set_new(r, "value", json_integer(value));
	json_object_set_new(r, "clock", json_string(clock));
	rec_time(r, "cutoff", cutoff);
	json_object_set_new(r, "count", json_integer(0));
	json_object_set_new(r, "skipped", json_object());
	json_object_set_new(r, "dry_run", json_boolean(dry_run));
	json_object_set_new(r, "status", json_string("done"));
	return r;
}

static void
add_count(json_t *r, const char *key, int64_t n)
{
	json_t *v = json_object_get(r, key);

	json_object_set_new(r, key, json_integer(n +
	    (v != NULL ? json_integer_value(v) : 0)));
}

/* The counts a category starts from: ?2 and ?3 bound; the first column
 * is what it will do (the progress total), the others named skips. */
static int
count(struct cat *c, const char *sql, int64_t cutoff,
    const char *const *skips, struct rv_err *e)
{
	sqlite3_stmt *st;
	int i, rc;

	if ((rc = db_prepare(c->db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 2, cutoff);
	sqlite3_bind_int64(st, 3, c->o->now);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c->total = (size_t)sqlite3_column_int64(st, 0);
		for (i = 0; skips[i] != NULL; i++)
			json_object_set_new(json_object_get(c->rec, "skipped"),
			    skips[i], json_integer(
			    sqlite3_column_int64(st, i + 1)));
		rc = 0;
	} else {
		rc = db_fail(c->db, rc, e, "purge");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Bounds of a batch sized by time; the first is small, to measure. */
#define BATCH_FIRST 200
#define BATCH_MAX 50000

static int64_t
elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The next batch's size: scaled to the time budget, by at most 4 times up
 * or 2 times down at once (one slow batch is not a trend). */
static size_t
next_size(size_t n, int64_t ms, long budget)
{
	double k = ms > 0 ? (double)budget / (double)ms : 4.0;

	if (k > 4.0)
		k = 4.0;
	if (k < 0.5)
		k = 0.5;
	n = (size_t)((double)n * k);
	return n < 1 ? 1 : n > BATCH_MAX ? BATCH_MAX : n;
}

typedef int (*batch_fn)(struct cat *c, const int64_t *ids, size_t n,
    struct rv_err *e);

/*
 * The batches: each picks, inside its own write transaction, the next ids
 * after the last one done that still qualify (so what changed meanwhile
 * is judged again), does them, and commits (or, in a dry run, rolls back).
 */
static int
batches(struct cat *c, const char *sql, int64_t cutoff, batch_fn work,
    struct rv_err *e)
{
	sqlite3_stmt *st = NULL;
	size_t size = c->o->batch ? c->o->batch : BATCH_FIRST, cap = size, n;
	int64_t *ids = xcalloc(cap, sizeof(*ids)), last = 0, ms;
	struct timespec t0;
	int rc;

	for (;;) {
		if (size > cap) {
			cap = size;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((rc = db_begin(c->db, e)) != 0)
			break;
		if ((rc = db_prepare(c->db, sql, &st, e)) != 0)
			break;
		sqlite3_bind_int64(st, 1, last);
		sqlite3_bind_int64(st, 2, cutoff);
		sqlite3_bind_int64(st, 3, c->o->now);
		sqlite3_bind_int64(st, 4, (int64_t)size);
		for (n = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; n++)
			ids[n] = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE) {
			rc = db_fail(c->db, rc, e, "purge");
			break;
		}
		if (n == 0) {
			rc = 0;
			break;
		}
		if ((rc = work(c, ids, n, e)) != 0)
			break;
		if (c->o->dry_run)
			db_rollback(c->db);
		else if ((rc = db_commit(c->db, e)) != 0)
			break;
		ms = elapsed_ms(&t0);
		add_count(c->rec, "count", (int64_t)n);
		last = ids[n - 1];
		c->done += n;
		if (c->total < c->done)
			c->total = c->done;
		if (c->o->progress != NULL)
			c->o->progress(c->o->arg, c->what, c->done, c->total);
		if (!c->o->dry_run && c->tally.njournal > 0) {
			rc = erase_journal_write(c->o->journal, &c->tally, e);
			c->tally.njournal = 0;
			if (rc != 0) {
				rv_prefix(e, "the erasures are done, but ");
				break;
			}
		}
		c->tally.njournal = 0;
		if (c->o->batch == 0 && n == size)
			size = next_size(size, ms, c->o->budget_ms);
	}
	db_rollback(c->db);
	free(ids);
	if (c->o->progress != NULL && c->done > 0)
		c->o->progress(c->o->arg, c->what, c->done, c->done);
	json_object_set_new(c->rec, "complete", json_boolean(rc == 0));
	return rc;
}

/* ---- clients ---- */

static int
erase_batch(struct cat *c, const int64_t *ids, size_t n, struct rv_err *e)
{
	return erase_clients(c->run, &c->w, ids, n, &c->tally, e);
}

static void
erased_details(struct cat *c)
{
	json_t *d = json_object();
	size_t i;

	for (i = 0; i < erase_nrules; i++)
		if (erase_rules[i].how != ERASE_NONE &&
		    strncmp(erase_rules[i].table, "sqlite_", 7) != 0)
			json_object_set_new(d, erase_rules[i].table,
			    json_integer(c->tally.rows[i]));
	json_object_set_new(d, "fiscal_expired",
	    json_integer(c->tally.fiscal_expired));
	json_object_set_new(c->rec, "details", d);
}

static int
purge_clients(struct cat *c, const struct rv_conf *conf, struct rv_err *e)
{
	static const char count_sql[] =
	    "SELECT coalesce(sum(NOT restricted AND NOT req), 0), "
	    "coalesce(sum(restricted), 0), "
	    "coalesce(sum(NOT restricted AND req), 0) "
	    "FROM (SELECT c.restricted AS restricted, "
	    OPEN_REQUEST("c.id") " AS req FROM client c "
	    "WHERE coalesce(" LAST_END("c.id") ", c.created) < ?2)";
	/* A booking ahead makes the clock run from its end, so AHEAD never
	 * holds for a client whose term has run; it is checked all the same,
	 * as the promise the purge makes. */
	static const char batch_sql[] =
	    "SELECT c.id FROM client c WHERE c.id > ?1 "
	    "AND coalesce(" LAST_END("c.id") ", c.created) < ?2 "
	    "AND c.restricted = 0 AND NOT " OPEN_REQUEST("c.id")
	    " AND NOT " AHEAD("c.id") " ORDER BY c.id LIMIT ?4";
	static const char *const skips[] = { "restricted", "open_request",
		NULL };
	char reason[96];
	long months;
	int64_t cutoff;
	int rc;

	if ((rc = conf_int(conf, "retention.client_months", 1, 1200, &months,
	    e)) != 0)
		return rc;
	cutoff = tm_add_months(c->o->now, -months);
	c->rec = summary("clients", "retention.client_months", months,
	    "the end of the client's last appointment, or when they were "
	    "added if they never had one", cutoff, c->o->dry_run);
	snprintf(reason, sizeof(reason), "retention: %ld months after the "
	    "last appointment (retention.client_months)", months);
	c->w.reason = reason;
	c->w.reason_typed = 0;
	c->what = "erasing clients";
	if ((rc = erase_open(c->db, conf, &c->run, e)) != 0)
		return rc;
	if ((rc = count(c, count_sql, cutoff, skips, e)) == 0)
		rc = batches(c, batch_sql, cutoff, erase_batch, e);
	erased_details(c);
	erase_close(c->run);
	c->run = NULL;
	return rc;
}

/* ---- health ---- */

static int
delete_health(struct cat *c, const int64_t *ids, size_t n, struct rv_err *e)
{
	size_t i;
	int deleted, rc;

	for (i = 0; i < n; i++)
		if ((rc = health_delete(c->db, &c->w, ids[i], "health.purge",
		    &deleted, e)) != 0)
			return rc;
	return 0;
}

/* Notes written after the last visit are as recent as their writing. */
#define HEALTH_CLOCK \
	"max(h.updated, coalesce(" LAST_END("h.client_id") ", 0))"

static int
purge_health(struct cat *c, const struct rv_conf *conf, struct rv_err *e)
{
	static const char count_sql[] =
	    "SELECT coalesce(sum(NOT restricted AND NOT req), 0), "
	    "coalesce(sum(restricted), 0), "
	    "coalesce(sum(NOT restricted AND req), 0) "
	    "FROM (SELECT c.restricted AS restricted, "
	    OPEN_REQUEST("c.id") " AS req FROM client_health h "
	    "JOIN client c ON c.id = h.client_id WHERE " HEALTH_CLOCK " < ?2)";
	static const char batch_sql[] =
	    "SELECT h.client_id FROM client_health h "
	    "JOIN client c ON c.id = h.client_id WHERE h.client_id > ?1 "
	    "AND " HEALTH_CLOCK " < ?2 AND c.restricted = 0 "
	    "AND NOT " OPEN_REQUEST("c.id") " ORDER BY h.client_id LIMIT ?4";
	static const char *const skips[] = { "restricted", "open_request",
		NULL };
	char reason[96];
	long months;
	int64_t cutoff;
	int rc;

	if ((rc = conf_int(conf, "retention.health_months", 1, 1200, &months,
	    e)) != 0)
		return rc;
	cutoff = tm_add_months(c->o->now, -months);
	c->rec = summary("health", "retention.health_months", months,
	    "the end of the client's last appointment, or the last change "
	    "to the health data if that is later", cutoff, c->o->dry_run);
	snprintf(reason, sizeof(reason), "retention: %ld months after the "
	    "last appointment (retention.health_months)", months);
	c->w.reason = reason;
	c->w.reason_typed = 0;
	c->what = "deleting health data";
	if ((rc = count(c, count_sql, cutoff, skips, e)) != 0)
		return rc;
	return batches(c, batch_sql, cutoff, delete_health, e);
}

/* ---- fiscal ---- */

static int
expire_fiscal(struct cat *c, const int64_t *ids, size_t n, struct rv_err *e)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = fiscal_expire(c->db, &c->w, ids[i], e)) != 0)
			return rc;
	return 0;
}

#define FISCAL_PROTECTED \
	"(f.client_id IS NOT NULL AND EXISTS (SELECT 1 FROM client c " \
	"WHERE c.id = f.client_id AND (c.restricted OR " \
	OPEN_REQUEST("c.id") ")))"

/*
 * A record's term is its hold_until, fixed when it was issued
 * (retention.fiscal_years). The triggers that enforce the hold read the
 * machine's clock, so the cutoff is the earlier of it and now: with --now
 * in the future, records whose hold the machine still sees are counted as
 * "held", not deleted.
 */
static int
purge_fiscal(struct cat *c, const struct rv_conf *conf, struct rv_err *e)
{
	static const char count_sql[] =
	    "SELECT coalesce(sum(NOT " FISCAL_PROTECTED
	    " AND hold_until <= ?2), 0), "
	    "coalesce(sum(" FISCAL_PROTECTED " AND hold_until <= ?2), 0), "
	    "coalesce(sum(hold_until > ?2), 0) "
	    "FROM fiscal f WHERE hold_until <= ?3";
	static const char batch_sql[] =
	    "SELECT f.id FROM fiscal f WHERE f.id > ?1 AND f.hold_until <= ?2 "
	    "AND NOT " FISCAL_PROTECTED " ORDER BY f.id LIMIT ?4";
	static const char *const skips[] = { "restricted_or_open_request",
		"held_by_machine_clock", NULL };
	int64_t real = (int64_t)time(NULL);
	int64_t cutoff = c->o->now < real ? c->o->now : real;
	long years;
	int rc;

	if ((rc = conf_int(conf, "retention.fiscal_years", 10, 100, &years,
	    e)) != 0)
		return rc;
	c->rec = summary("fiscal", "retention.fiscal_years", years,
	    "each record's hold_until: the end of the year it was issued "
	    "plus the years set when it was", cutoff, c->o->dry_run);
	c->w.reason = "retention: the legal hold of the fiscal record ended";
	c->w.reason_typed = 0;
	c->what = "deleting fiscal records";
	if ((rc = count(c, count_sql, cutoff, skips, e)) != 0)
		return rc;
	return batches(c, batch_sql, cutoff, expire_fiscal, e);
}

/* ---- messages ---- */

static int
drop_bodies(struct cat *c, const int64_t *ids, size_t n, struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE message SET data = NULL, updated = ?2 WHERE id = ?1 "
	    "RETURNING coalesce(client_id, 0)";
	sqlite3_stmt *st;
	int64_t client_id;
	char ref[40];
	size_t i;
	int rc = 0;

	if ((rc = db_prepare(c->db, sql, &st, e)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, ids[i]);
		sqlite3_bind_int64(st, 2, c->w.now);
		if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
			rc = db_fail(c->db, rc, e, "message");
			break;
		}
		client_id = sqlite3_column_int64(st, 0);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE) {
			rc = db_fail(c->db, rc, e, "message");
			break;
		}
		snprintf(ref, sizeof(ref), "message %lld", (long long)ids[i]);
		rc = audit_append(c->db, &c->w, "message.purge", client_id,
		    ref, "data", e);
	}
	sqlite3_finalize(st);
	return rc;
}

#define MESSAGE_PROTECTED \
	"(m.client_id IS NOT NULL AND EXISTS (SELECT 1 FROM client c " \
	"WHERE c.id = m.client_id AND (c.restricted OR " \
	OPEN_REQUEST("c.id") ")))"

/*
 * What a notice said (its data: the texts the templates are filled with)
 * is dropped once the message has been sent, failed or been skipped more
 * than retention.message_days ago; the log line stays with the client
 * (kind, status, times), and goes when they do.
 */
static int
purge_messages(struct cat *c, const struct rv_conf *conf, struct rv_err *e)
{
	static const char count_sql[] =
	    "SELECT coalesce(sum(NOT " MESSAGE_PROTECTED "), 0), "
	    "coalesce(sum(" MESSAGE_PROTECTED "), 0) FROM message m "
	    "WHERE m.data IS NOT NULL AND m.status IN ('sent', 'failed', "
	    "'skipped') AND coalesce(m.sent, m.updated) < ?2";
	static const char batch_sql[] =
	    "SELECT m.id FROM message m WHERE m.id > ?1 "
	    "AND m.data IS NOT NULL AND m.status IN ('sent', 'failed', "
	    "'skipped') AND coalesce(m.sent, m.updated) < ?2 "
	    "AND NOT " MESSAGE_PROTECTED " ORDER BY m.id LIMIT ?4";
	static const char *const skips[] = { "restricted_or_open_request",
		NULL };
	char reason[96];
	int64_t cutoff;
	long days;
	int rc;

	if ((rc = conf_int(conf, "retention.message_days", 1, 36500, &days,
	    e)) != 0)
		return rc;
	cutoff = c->o->now - (int64_t)days * 86400;
	c->rec = summary("messages", "retention.message_days", days,
	    "when the message was sent, or given up", cutoff, c->o->dry_run);
	snprintf(reason, sizeof(reason), "retention: %ld days after sending "
	    "(retention.message_days)", days);
	c->w.reason = reason;
	c->w.reason_typed = 0;
	c->what = "dropping message texts";
	if ((rc = count(c, count_sql, cutoff, skips, e)) != 0)
		return rc;
	return batches(c, batch_sql, cutoff, drop_bodies, e);
}

/* ---- audit ---- */

/*
 * The trail is a chain of MACs: only audit_purge may shorten it, behind a
 * signed anchor, after checking the whole chain (one transaction: the
 * rows before the cutoff go at once). A broken trail is evidence and is
 * never purged: EX_REFUSED.
 */
static int
purge_audit(struct cat *c, const struct rv_conf *conf, struct rv_err *e)
{
	json_t *anchor = NULL;
	char reason[96];
	int64_t before;
	long months;
	int rc;

	if ((rc = conf_int(conf, "retention.audit_months", 1, 1200, &months,
	    e)) != 0)
		return rc;
	before = audit_months_before(c->o->now, months);
	c->rec = summary("audit", "retention.audit_months", months,
	    "when the entry was written (from the start of that day)", before,
	    c->o->dry_run);
	snprintf(reason, sizeof(reason), "retention: %ld months "
	    "(retention.audit_months)", months);
	c->w.reason = reason;
	c->w.reason_typed = 0;
	if ((rc = db_begin(c->db, e)) == 0) {
		rc = audit_purge(c->db, &c->w, before, c->o->dry_run, &anchor,
		    e);
		if (rc != 0 || c->o->dry_run)
			db_rollback(c->db);
		else
			rc = db_commit(c->db, e);
	}
	if (rc == 0 && anchor != NULL) {
		json_object_set_new(c->rec, "count", json_integer(
		    json_integer_value(json_object_get(anchor, "purged"))));
		json_object_set(c->rec, "anchor", json_object_get(anchor,
		    "id"));
	}
	json_decref(anchor);
	if (rc == EX_REFUSED) {
		json_object_set_new(c->rec, "status", json_string("refused"));
		json_object_set_new(c->rec, "note", json_string(e->msg));
	}
	json_object_set_new(c->rec, "complete", json_boolean(rc == 0));
	return rc;
}

int
purge_run(sqlite3 *db, const struct rv_who *w, const struct rv_conf *conf,
    const struct purge_opts *o, int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e)
{
	static int (*const cats[])(struct cat *, const struct rv_conf *,
	    struct rv_err *) = { purge_clients, purge_health, purge_fiscal,
	    purge_messages, purge_audit };
	struct cat c;
	size_t i;
	int rc = 0, frc;

	for (i = 0; rc == 0 && i < sizeof(cats) / sizeof(cats[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.db = db;
		c.w = *w;
		c.o = o;
		rc = cats[i](&c, conf, e);
		erase_tally_free(&c.tally);
		if (c.rec == NULL)
			break;
		frc = fn(c.rec, arg);
		if (rc == 0)
			rc = frc;
	}
	return rc;
}
