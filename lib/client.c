/* client.c — clients: naming one, checking and storing what was typed. */
#include <stdlib.h>
#include <string.h>

#include "riserva.h"
#include "banned.h"

const struct rv_col client_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "name", "NAME", 0 },
	{ "surname", "SURNAME", 0 },
	{ "email", "EMAIL", 0 },
	{ "phone", "PHONE", 0 },
	{ "birth", "BIRTH", 0 },
	{ "locale", "LANG", 0 },
	{ "restricted", "RESTRICTED", 0 },
	{ NULL, NULL, 0 },
};

int
client_find(sqlite3 *db, const char *spec, int64_t *id, struct rv_err *e)
{
	static const char by_id[] = "SELECT id FROM client WHERE id = ?";
	static const char by_email[] = "SELECT id FROM client WHERE email = ?";

	return rec_find(db, by_id, by_email, spec, "client", id, e);
}

/* Checks every field; the phone comes back normalized in phone[]. */
int
client_check(struct client *c, char phone[32], int64_t now,
    struct rv_err *e)
{
	int y, m, d, ty, tmo, td, rc;

	if ((rc = check_text("name", c->name, 100, 1, 0, e)) != 0 ||
	    (rc = check_text("surname", c->surname, 100, 1, 0, e)) != 0)
		return rc;
	if (c->email == NULL || *c->email == '\0')
		return rv_fail(e, EX_DATAERR, "email is empty");
	if ((rc = check_email(c->email, e)) != 0)
		return rc;
	if (c->phone == NULL || *c->phone == '\0')
		return rv_fail(e, EX_DATAERR, "phone is empty");
	if ((rc = norm_phone(c->phone, phone, 32, e)) != 0)
		return rc;
	c->phone = phone;
	if (c->birth != NULL && *c->birth == '\0')
		c->birth = NULL;
	if (c->birth != NULL) {
		if ((rc = tm_parse_date(c->birth, &y, &m, &d, e)) != 0)
			return rv_fail(e, rc, "bad birth date '%s': write it "
			    "as YYYY-MM-DD", c->birth);
		/* A typo in the year, most likely; today is allowed. */
		tm_day_of(now, &ty, &tmo, &td, NULL);
		if (y * 10000 + m * 100 + d > ty * 10000 + tmo * 100 + td)
			return rv_fail(e, EX_DATAERR,
			    "birth date %s is after today", c->birth);
	}
	if (c->locale != NULL && strcmp(c->locale, "it") != 0 &&
	    strcmp(c->locale, "en") != 0)
		return rv_fail(e, EX_DATAERR,
		    "bad locale '%s': it or en", c->locale);
	if (c->notes != NULL && *c->notes == '\0')
		c->notes = NULL;
	return check_text("notes", c->notes, 4000, 0, 1, e);
}

enum {
	F_BIRTH = 1,
	F_LOCALE = 2,
	F_NOTES = 4,
};

void
client_fields_text(unsigned fields, struct rv_buf *b)
{
	buf_adds(b, "name,surname,email,phone");
	if (fields & F_BIRTH)
		buf_adds(b, ",birth");
	if (fields & F_LOCALE)
		buf_adds(b, ",locale");
	if (fields & F_NOTES)
		buf_adds(b, ",notes");
}

int
client_insert_row(sqlite3 *db, const struct rv_who *w, struct client *c,
    unsigned *fields, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO client (name, surname, email, phone, birth, locale, "
	    "notes, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	db_bind_text(st, 1, c->name);
	db_bind_text(st, 2, c->surname);
	db_bind_text(st, 3, c->email);
	db_bind_text(st, 4, c->phone);
	db_bind_text(st, 5, c->birth);
	db_bind_text(st, 6, c->locale ? c->locale : "it");
	db_bind_text(st, 7, c->notes);
	sqlite3_bind_int64(st, 8, w->now);
	sqlite3_bind_int64(st, 9, w->now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT) {
		int64_t other = 0;

		client_find(db, c->email, &other, NULL);
		return rv_fail(e, EX_REFUSED,
		    "a client with email '%s' already exists (id %lld)",
		    c->email, (long long)other);
	}
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "client");
	c->id = sqlite3_last_insert_rowid(db);
	*fields |= (c->birth ? F_BIRTH : 0) | (c->locale ? F_LOCALE : 0) |
	    (c->notes ? F_NOTES : 0);
	return 0;
}

/* INSERT ... VALUES (...), (...) for n rows. */
static void
batch_sql(struct rv_buf *sql, size_t n)
{
	size_t i;

	buf_adds(sql, "INSERT INTO client (name, surname, email, phone, "
	    "birth, locale, notes, created, updated) VALUES ");
	for (i = 0; i < n; i++)
		buf_adds(sql, i ? ", (?, ?, ?, ?, ?, ?, ?, ?, ?)" :
		    "(?, ?, ?, ?, ?, ?, ?, ?, ?)");
}

/*
 * One statement for many rows: an import of 100,000 clients otherwise
 * spends most of its time starting and ending statements. The full-size
 * statement is kept; a shorter one (the tail) is made for once.
 */
int
client_insert_rows(sqlite3 *db, const struct rv_who *w, struct client *cs,
    size_t n, unsigned *fields, struct rv_err *e)
{
	static struct rv_buf full;
	struct rv_buf tail = { 0 };
	sqlite3_stmt *st;
	int64_t last;
	size_t i;
	int rc, k;

	if (n == 0 || n > CLIENT_BATCH)
		return rv_fail(e, EX_SOFTWARE, "batch of %zu clients", n);
	if (n == CLIENT_BATCH) {
		if (full.len == 0)
			batch_sql(&full, CLIENT_BATCH);
		rc = db_cached(db, full.s, &st, e);
	} else {
		batch_sql(&tail, n);
		rc = db_prepare(db, tail.s, &st, e);
		buf_free(&tail);
	}
	if (rc != 0)
		return rc;
	for (i = 0; i < n; i++) {
		k = (int)i * 9;
		db_bind_text(st, k + 1, cs[i].name);
		db_bind_text(st, k + 2, cs[i].surname);
		db_bind_text(st, k + 3, cs[i].email);
		db_bind_text(st, k + 4, cs[i].phone);
		db_bind_text(st, k + 5, cs[i].birth);
		db_bind_text(st, k + 6, cs[i].locale ? cs[i].locale : "it");
		db_bind_text(st, k + 7, cs[i].notes);
		sqlite3_bind_int64(st, k + 8, w->now);
		sqlite3_bind_int64(st, k + 9, w->now);
	}
	rc = sqlite3_step(st);
	if (n == CLIENT_BATCH)
		sqlite3_reset(st);
	else
		sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return rv_fail(e, EX_REFUSED, "a duplicate email among %zu "
		    "clients", n);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "client");
	/* One statement under the write lock: the ids are consecutive. */
	last = sqlite3_last_insert_rowid(db);
	for (i = 0; i < n; i++) {
		cs[i].id = last - (int64_t)(n - 1 - i);
		*fields |= (cs[i].birth ? F_BIRTH : 0) |
		    (cs[i].locale ? F_LOCALE : 0) | (cs[i].notes ? F_NOTES : 0);
	}
	return 0;
}

int
client_insert(sqlite3 *db, const struct rv_who *w, struct client *c,
    struct rv_err *e)
{
	struct rv_buf fields = { 0 };
	unsigned f = 0;
	char ref[32];
	int rc;

	if ((rc = client_insert_row(db, w, c, &f, e)) != 0)
		return rc;
	client_fields_text(f, &fields);
	snprintf(ref, sizeof(ref), "client %lld", (long long)c->id);
	rc = audit_append(db, w, "client.add", c->id, ref, fields.s, e);
	buf_free(&fields);
	return rc;
}

json_t *
client_record(sqlite3_stmt *st)
{
	json_t *r = rec_new("client", sqlite3_column_int64(st, 0));

	rec_col_text(r, "name", st, 1);
	rec_col_text(r, "surname", st, 2);
	rec_col_text(r, "email", st, 3);
	rec_col_text(r, "phone", st, 4);
	rec_col_text(r, "birth", st, 5);
	rec_col_text(r, "locale", st, 6);
	rec_col_bool(r, "restricted", st, 7);
	rec_col_time(r, "created", st, 8);
	rec_col_text(r, "notes", st, 9);
	rec_col_time(r, "updated", st, 10);
	return r;
}

int
client_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e)
{
	static const char sql[] = "SELECT " CLIENT_COLS " FROM client WHERE id = ?";

	return rec_get(db, sql, id, client_record, "client", rec, e);
}

int
client_restricted(sqlite3 *db, int64_t id, int *restricted, struct rv_err *e)
{
	int64_t v = 0;
	int found, rc;

	rc = db_int(db, "SELECT restricted FROM client WHERE id = ?", id, &v,
	    &found, e);
	if (rc != 0)
		return rc;
	if (!found)
		return rv_fail(e, EX_NOINPUT, "no such client %lld",
		    (long long)id);
	*restricted = v != 0;
	return 0;
}

/*
 * Rectification: the fields set in ch replace the stored ones; the result
 * is checked whole, and only the names of fields that really changed are
 * audited. *changed tells whether anything did.
 */
int
client_update(sqlite3 *db, const struct rv_who *w, int64_t id,
    const struct client *ch, int *changed, struct rv_err *e)
{
	static const char get[] =
	    "SELECT name, surname, email, phone, birth, locale, notes "
	    "FROM client WHERE id = ?";
	static const char put[] =
	    "UPDATE client SET name = ?, surname = ?, email = ?, phone = ?, "
	    "birth = ?, locale = ?, notes = ?, updated = ? WHERE id = ?";
	static const char *const names[] = { "name", "surname", "email",
		"phone", "birth", "locale", "notes" };
	sqlite3_stmt *st = NULL;
	char *old[7] = { 0 };
	const char *neu[7];
	const char *set[7] = { ch->name, ch->surname, ch->email, ch->phone,
		ch->birth, ch->locale, ch->notes };
	struct client c;
	struct rv_buf fields = { 0 };
	char phone[32], ref[32];
	int i, rc;

	*changed = 0;
	if ((rc = db_prepare(db, get, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? rv_fail(e, EX_NOINPUT,
		    "no such client %lld", (long long)id) :
		    db_fail(db, rc, e, "client");
		goto out;
	}
	for (i = 0; i < 7; i++)
		if (sqlite3_column_type(st, i) != SQLITE_NULL)
			old[i] = xstrdup((const char *)
			    sqlite3_column_text(st, i));
	sqlite3_finalize(st);
	st = NULL;
	for (i = 0; i < 7; i++)
		neu[i] = set[i] != NULL ? set[i] : old[i];
	c.id = id;
	c.name = neu[0];
	c.surname = neu[1];
	c.email = neu[2];
	c.phone = neu[3];
	c.birth = neu[4];
	c.locale = neu[5];
	c.notes = neu[6];
	if ((rc = client_check(&c, phone, w->now, e)) != 0)
		goto out;
	neu[3] = c.phone;
	neu[4] = c.birth;
	neu[6] = c.notes;
	for (i = 0; i < 7; i++) {
		int same = (neu[i] == NULL && old[i] == NULL) ||
		    (neu[i] != NULL && old[i] != NULL &&
		    strcmp(neu[i], old[i]) == 0);

		if (same)
			continue;
		if (fields.len > 0)
			buf_addc(&fields, ',');
		buf_adds(&fields, names[i]);
	}
	if (fields.len == 0)
		goto out;
	if ((rc = db_prepare(db, put, &st, e)) != 0)
		goto out;
	for (i = 0; i < 7; i++)
		db_bind_text(st, i + 1, neu[i]);
	sqlite3_bind_int64(st, 8, w->now);
	sqlite3_bind_int64(st, 9, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT) {
		int64_t other = 0;

		client_find(db, neu[2], &other, NULL);
		rc = rv_fail(e, EX_REFUSED,
		    "a client with email '%s' already exists (id %lld)",
		    neu[2], (long long)other);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, rc, e, "client");
		goto out;
	}
	snprintf(ref, sizeof(ref), "client %lld", (long long)id);
	rc = audit_append(db, w, "client.edit", id, ref, fields.s, e);
	*changed = rc == 0;
out:
	sqlite3_finalize(st);
	for (i = 0; i < 7; i++)
		free(old[i]);
	buf_free(&fields);
	return rc;
}

int
client_list(sqlite3 *db, const char *search, int restricted_only,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT " CLIENT_COLS " FROM client "
	    "WHERE (?1 IS NULL OR name LIKE ?1 ESCAPE '\\' "
	    "OR surname LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\' "
	    "OR phone LIKE ?1 ESCAPE '\\' "
	    "OR name || ' ' || surname LIKE ?1 ESCAPE '\\') "
	    "AND (?2 = 0 OR restricted) "
	    "ORDER BY surname COLLATE NOCASE, name COLLATE NOCASE, id";
	struct rv_buf pat = { 0 };
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	if (search != NULL) {
		buf_addc(&pat, '%');
		for (; *search; search++) {
			if (*search == '%' || *search == '_' || *search == '\\')
				buf_addc(&pat, '\\');
			buf_addc(&pat, *search);
		}
		buf_addc(&pat, '%');
		sqlite3_bind_text(st, 1, pat.s, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int(st, 2, restricted_only);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(client_record(st), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "clients");
out:
	sqlite3_finalize(st);
	buf_free(&pat);
	return rc;
}
