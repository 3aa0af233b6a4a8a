/*
 * fiscal.c — an appointment carried out, and the receipt that records its
 * payment: numbered gaplessly within the year, a copy of what the law wants
 * on it, and a legal hold the database itself enforces (migration 6).
 */
#include <ctype.h>
#include <string.h>

#include "riserva.h"
#include "fiscal.h"
#include "banned.h"

const struct rv_col fiscal_cols[] = {
	{ "number", "NUMBER", 0 },
	{ "issued", "ISSUED", RV_COL_TIME },
	{ "name", "NAME", 0 },
	{ "surname", "SURNAME", 0 },
	{ "service", "SERVICE", 0 },
	{ "amount_cents", "AMOUNT", RV_COL_RIGHT | RV_COL_MONEY },
	{ "method", "METHOD", 0 },
	{ "appointment_id", "APPT", RV_COL_RIGHT },
	{ NULL, NULL, 0 },
};

#define FISCAL_SELECT \
	"SELECT id, number, year, seq, issued, appointment_id, client_id, " \
	"name, surname, tax_code, service, service_date, price, amount, " \
	"method, actor, hold_until FROM fiscal "

static json_t *
fiscal_record(sqlite3_stmt *st)
{
	json_t *r = rec_new("fiscal", sqlite3_column_int64(st, 0));

	rec_col_text(r, "number", st, 1);
	rec_col_int(r, "year", st, 2);
	rec_col_int(r, "seq", st, 3);
	rec_col_time(r, "issued", st, 4);
	rec_col_int(r, "appointment_id", st, 5);
	rec_col_int(r, "client_id", st, 6);
	rec_col_text(r, "name", st, 7);
	rec_col_text(r, "surname", st, 8);
	rec_col_text(r, "tax_code", st, 9);
	rec_col_text(r, "service", st, 10);
	rec_col_time(r, "service_date", st, 11);
	rec_col_int(r, "price_cents", st, 12);
	rec_col_int(r, "amount_cents", st, 13);
	rec_col_text(r, "method", st, 14);
	rec_col_text(r, "actor", st, 15);
	rec_col_time(r, "hold_until", st, 16);
	return r;
}

int64_t
fiscal_hold_until(int year, int years)
{
	return tm_day_start(year + years + 1, 1, 1);
}

/* Odd positions (1st, 3rd, ...) of a codice fiscale weigh these, for
 * 0-9 and A-Z alike; even positions weigh the digit or letter index. */
static const int cf_odd[26] = { 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18,
	20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23 };

int
check_tax_code(const char *s, char out[17], struct rv_err *e)
{
	/* Letters, then year, month, day, place: digits that omocodia may
	 * replace by the letters LMNPQRSTUV. */
	static const char shape[] = "AAAAAA99A99A999A";
	int sum = 0, i, v;

	if (strlen(s) != 16)
		goto bad;
	for (i = 0; i < 16; i++) {
		int c = toupper((unsigned char)s[i]);

		if (shape[i] == 'A' ? !isupper(c) : !isdigit(c) &&
		    strchr("LMNPQRSTUV", c) == NULL)
			goto bad;
		out[i] = (char)c;
	}
	out[16] = '\0';
	if (strchr("ABCDEHLMPRST", out[8]) == NULL)
		goto bad;
	for (i = 0; i < 15; i++) {
		v = isdigit((unsigned char)out[i]) ? out[i] - '0' :
		    out[i] - 'A';
		sum += i % 2 == 0 ? cf_odd[v] : v;
	}
	if (out[15] != 'A' + sum % 26)
		return rv_fail(e, EX_DATAERR,
		    "bad tax code '%s': the check letter does not match", s);
	return 0;
bad:
	return rv_fail(e, EX_DATAERR,
	    "bad tax code '%s': a codice fiscale is 16 letters and digits", s);
}

struct done_appt {
	int64_t client_id, service_id, start, created;
	char status[16];
};

static int
load_done_appt(sqlite3 *db, int64_t id, struct done_appt *a, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT coalesce(client_id, 0), service_id, start, status, created "
	    "FROM appointment WHERE id = ?";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		a->client_id = sqlite3_column_int64(st, 0);
		a->service_id = sqlite3_column_int64(st, 1);
		a->start = sqlite3_column_int64(st, 2);
		snprintf(a->status, sizeof(a->status), "%s",
		    sqlite3_column_text(st, 3));
		a->created = sqlite3_column_int64(st, 4);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "no such appointment %lld",
		    (long long)id);
	} else {
		rc = db_fail(db, rc, e, "appointment");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The receipt already issued for this appointment, if any. An appointment
 * id may be reused once the latest appointment is deleted: a receipt
 * older than the appointment belongs to its predecessor. */
static int
receipt_of(sqlite3 *db, int64_t appt_id, int64_t created, char number[32],
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT number FROM fiscal WHERE appointment_id = ? "
	    "AND issued >= ? ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *st;
	int rc;

	number[0] = '\0';
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, appt_id);
	sqlite3_bind_int64(st, 2, created);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(number, 32, "%s", sqlite3_column_text(st, 0));
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    db_fail(db, rc, e, "fiscal");
	sqlite3_finalize(st);
	return rc;
}

static int
mark_done(sqlite3 *db, const struct rv_who *w, int64_t id, int64_t client_id,
    struct rv_err *e)
{
	static const char sql[] =
	    "UPDATE appointment SET status = 'done', version = version + 1, "
	    "updated = ? WHERE id = ?";
	sqlite3_stmt *st;
	char ref[40];
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, w->now);
	sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "appointment");
	snprintf(ref, sizeof(ref), "appointment %lld", (long long)id);
	return audit_append(db, w, "appointment.done", client_id, ref,
	    "status", e);
}

/*
 * Issues the receipt. The next number of the year is read and used inside
 * the caller's write transaction, so no other process can take it between
 * the two; the fiscal_gapless trigger would refuse a gap anyway.
 */
static int
issue(sqlite3 *db, const struct rv_who *w, const struct fiscal_req *r,
    const struct done_appt *a, int64_t *fiscal_id, struct rv_err *e)
{
	static const char who[] =
	    "SELECT c.name, c.surname, v.name, v.price FROM client c, "
	    "service v WHERE c.id = ? AND v.id = ?";
	static const char next[] =
	    "SELECT coalesce(max(seq), 0) + 1 FROM fiscal WHERE year = ?";
	static const char ins[] =
	    "INSERT INTO fiscal (year, seq, number, issued, appointment_id, "
	    "client_id, name, surname, tax_code, service, service_date, price, "
	    "amount, method, actor, hold_until) "
	    "VALUES (?1, ?2, printf('%04d/%06d', ?1, ?2), ?3, ?4, ?5, ?6, ?7, "
	    "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
	sqlite3_stmt *st = NULL, *in = NULL;
	int64_t seq;
	int y, m, d, rc;
	char ref[48];

	tm_day_of(w->now, &y, &m, &d, NULL);
	if ((rc = db_int(db, next, y, &seq, NULL, e)) != 0)
		return rc;
	if ((rc = db_prepare(db, who, &st, e)) != 0 ||
	    (rc = db_prepare(db, ins, &in, e)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, a->client_id);
	sqlite3_bind_int64(st, 2, a->service_id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? rv_fail(e, EX_NOINPUT,
		    "appointment %lld: its client or service is gone",
		    (long long)r->appointment_id) :
		    db_fail(db, rc, e, "client");
		goto out;
	}
	/* The copies: what the receipt said must not change with the
	 * client's record or the catalog. */
	sqlite3_bind_int(in, 1, y);
	sqlite3_bind_int64(in, 2, seq);
	sqlite3_bind_int64(in, 3, w->now);
	sqlite3_bind_int64(in, 4, r->appointment_id);
	sqlite3_bind_int64(in, 5, a->client_id);
	sqlite3_bind_value(in, 6, sqlite3_column_value(st, 0));
	sqlite3_bind_value(in, 7, sqlite3_column_value(st, 1));
	db_bind_text(in, 8, r->tax_code);
	sqlite3_bind_value(in, 9, sqlite3_column_value(st, 2));
	sqlite3_bind_int64(in, 10, a->start);
	sqlite3_bind_value(in, 11, sqlite3_column_value(st, 3));
	sqlite3_bind_int64(in, 12, r->amount);
	db_bind_text(in, 13, r->method);
	db_bind_text(in, 14, w->actor);
	sqlite3_bind_int64(in, 15, fiscal_hold_until(y, r->hold_years));
	if ((rc = sqlite3_step(in)) != SQLITE_DONE) {
		rc = db_fail(db, rc, e, "fiscal");
		goto out;
	}
	*fiscal_id = sqlite3_last_insert_rowid(db);
	snprintf(ref, sizeof(ref), "fiscal %04d/%06lld", y, (long long)seq);
	rc = audit_append(db, w, "fiscal.issue", a->client_id, ref,
	    r->tax_code ? "number,name,surname,tax_code,service,price,amount,"
	    "method" : "number,name,surname,service,price,amount,method", e);
out:
	sqlite3_finalize(st);
	sqlite3_finalize(in);
	return rc;
}

int
appt_done(sqlite3 *db, const struct rv_who *w, const struct fiscal_req *r,
    int64_t *fiscal_id, struct rv_err *e)
{
	struct done_appt a;
	char number[32], when[40];
	int restricted, rc;

	*fiscal_id = 0;
	if (r->amount > 0 && r->hold_years < FISCAL_MIN_YEARS)
		return rv_fail(e, EX_CONFIG, "fiscal records must be kept at "
		    "least %d years, not %d", FISCAL_MIN_YEARS, r->hold_years);
	if ((rc = load_done_appt(db, r->appointment_id, &a, e)) != 0)
		return rc;
	if (strcmp(a.status, "cancelled") == 0)
		return rv_fail(e, EX_REFUSED,
		    "appointment %lld is cancelled: it cannot be done",
		    (long long)r->appointment_id);
	if (strcmp(a.status, "done") == 0) {
		if (r->amount == 0)
			return rv_fail(e, EX_REFUSED,
			    "appointment %lld is already done",
			    (long long)r->appointment_id);
		if ((rc = receipt_of(db, r->appointment_id, a.created, number,
		    e)) != 0)
			return rc;
		if (number[0] != '\0')
			return rv_fail(e, EX_REFUSED,
			    "appointment %lld is already done and paid "
			    "(receipt %s)", (long long)r->appointment_id,
			    number);
	} else if (a.start > w->now) {
		tm_local(a.start, when);
		return rv_fail(e, EX_REFUSED, "appointment %lld starts at %s: "
		    "it can be done once it has started",
		    (long long)r->appointment_id, when);
	}
	if (a.client_id != 0) {
		if ((rc = client_restricted(db, a.client_id, &restricted,
		    e)) != 0)
			return rc;
		if (restricted)
			return rv_fail(e, EX_NOPERM, "client %lld is "
			    "restricted (GDPR art. 18): their data cannot be "
			    "processed until the restriction is lifted",
			    (long long)a.client_id);
	} else if (r->amount > 0) {
		return rv_fail(e, EX_REFUSED, "appointment %lld has no client "
		    "(erased): no receipt can name them",
		    (long long)r->appointment_id);
	}
	if (strcmp(a.status, "done") != 0 &&
	    (rc = mark_done(db, w, r->appointment_id, a.client_id, e)) != 0)
		return rc;
	if (r->amount == 0)
		return 0;
	return issue(db, w, r, &a, fiscal_id, e);
}

int
fiscal_find(sqlite3 *db, const char *spec, int64_t *id, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id FROM fiscal WHERE id = ?1 OR number = ?2";
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	if (parse_id(spec, &n))
		sqlite3_bind_int64(st, 1, n);
	sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = rv_fail(e, EX_NOINPUT, "no such receipt '%s'", spec);
	} else {
		rc = db_fail(db, rc, e, "fiscal");
	}
	sqlite3_finalize(st);
	return rc;
}

int
fiscal_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e)
{
	static const char sql[] = FISCAL_SELECT "WHERE id = ?";

	return rec_get(db, sql, id, fiscal_record, "receipt", rec, e);
}

int
fiscal_list(sqlite3 *db, const struct fiscal_filter *f,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	static const char sql[] = FISCAL_SELECT
	    "WHERE (?1 = 0 OR client_id = ?1) AND (?2 = 0 OR year = ?2) "
	    "AND issued >= ?3 AND issued < ?4 ORDER BY year, seq";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, f->client_id);
	sqlite3_bind_int(st, 2, f->year);
	sqlite3_bind_int64(st, 3, f->from ? f->from : INT64_MIN);
	sqlite3_bind_int64(st, 4, f->to ? f->to : INT64_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(fiscal_record(st), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "fiscal");
out:
	sqlite3_finalize(st);
	return rc;
}
