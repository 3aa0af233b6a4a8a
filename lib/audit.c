/*
 * audit.c — the audit trail: who did what to whom, never values. Each row
 * is chained to the one before it by an HMAC under the audit subkey, the
 * last row is sealed in meta at each commit, and a purge leaves a signed
 * anchor where the kept chain starts, so an edited, deleted, reordered or
 * cut-off row is found by audit_verify().
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "riserva.h"
#include "audit.h"
#include "banned.h"

/* What a MAC covers starts with one of these: a row, an anchor, a head. */
enum { TAG_ROW = 1, TAG_ANCHOR = 2, TAG_HEAD = 3 };

static struct {
	sqlite3 *db;		/* the connection the rest belongs to */
	struct rv_mac *mac;	/* keyed with the audit subkey */
	int untold;		/* a key file was made and no tool said so */
	int legacy_done;	/* rows from before the chain are sealed */
	int dirty;		/* rows added since the head was sealed */
	struct rv_buf enc;
	/* The chain's end, known while one transaction lasts: the commit and
	 * rollback hooks drop it, and so does a change by another process
	 * (the data version). Saves a query per row in an import. */
	int hooked;		/* the hooks are ours: caching allowed */
	int have_end;
	int64_t end_id;
	uint8_t end_mac[RV_MAC_LEN];
	unsigned int end_version;
} A;

static const uint8_t zero_mac[RV_MAC_LEN];

const struct rv_col audit_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "at", "AT", RV_COL_TIME },
	{ "actor", "ACTOR", 0 },
	{ "action", "ACTION", 0 },
	{ "client_id", "CLIENT", RV_COL_RIGHT },
	{ "ref", "REF", 0 },
	{ "fields", "FIELDS", 0 },
	{ "reason", "REASON", 0 },
	{ NULL, NULL, 0 },
};

const struct rv_col anchor_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "at", "AT", RV_COL_TIME },
	{ "first_id", "FIRST_KEPT", RV_COL_RIGHT },
	{ "purged", "PURGED", RV_COL_RIGHT },
	{ "before", "BEFORE", RV_COL_TIME },
	{ NULL, NULL, 0 },
};

static void
put_u64(struct rv_buf *b, uint64_t v)
{
	char be[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		be[i] = (char)(v & 0xff);
	buf_add(b, be, 8);
}

static uint8_t *
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)(v & 0xff);
	return p + 8;
}

/* A length before the bytes, and a length no text can have for NULL:
 * no two different rows encode to the same bytes. */
static uint8_t *
put_text(uint8_t *p, const char *s, size_t n)
{
	if (s == NULL) {
		memset(p, 0xff, 4);
		return p + 4;
	}
	p[0] = (uint8_t)(n >> 24 & 0xff);
	p[1] = (uint8_t)(n >> 16 & 0xff);
	p[2] = (uint8_t)(n >> 8 & 0xff);
	p[3] = (uint8_t)(n & 0xff);
	memcpy(p + 4, s, n);
	return p + 4 + n;
}

/* Row i's bytes at offset at of b, in one pass into a buffer grown once:
 * verify runs this a million times. */
static void
encode_at(struct rv_buf *b, size_t at, const uint8_t prev[RV_MAC_LEN],
    int64_t id, int64_t at_time, const char *actor, size_t actorn,
    const char *tool, size_t tooln, const char *action, size_t actionn,
    int64_t client_id, const char *ref, size_t refn, const char *fields,
    size_t fieldsn, const char *reason, size_t reasonn)
{
	size_t need = at + 1 + RV_MAC_LEN + 8 + 8 + 1 + 8 + 6 * 4 + actorn +
	    tooln + actionn + refn + fieldsn + reasonn;
	uint8_t *p;

	if (b->cap < need + 1) {
		b->cap = b->cap * 2 > need + 1 ? b->cap * 2 : need + 1;
		b->s = xrealloc(b->s, b->cap);
	}
	p = (uint8_t *)b->s + at;
	*p++ = TAG_ROW;
	memcpy(p, prev, RV_MAC_LEN);
	p = put_be64(p + RV_MAC_LEN, (uint64_t)id);
	p = put_be64(p, (uint64_t)at_time);
	*p++ = client_id > 0 ? 1 : 0;
	p = put_be64(p, client_id > 0 ? (uint64_t)client_id : 0);
	p = put_text(p, actor, actorn);
	p = put_text(p, tool, tooln);
	p = put_text(p, action, actionn);
	p = put_text(p, ref, refn);
	p = put_text(p, fields, fieldsn);
	p = put_text(p, reason, reasonn);
	b->len = (size_t)(p - (uint8_t *)b->s);
}

void
audit_encode(struct rv_buf *b, const uint8_t prev[RV_MAC_LEN], int64_t id,
    int64_t at, const char *actor, size_t actorn, const char *tool,
    size_t tooln, const char *action, size_t actionn, int64_t client_id,
    const char *ref, size_t refn, const char *fields, size_t fieldsn,
    const char *reason, size_t reasonn)
{
	encode_at(b, 0, prev, id, at, actor, actorn, tool, tooln, action,
	    actionn, client_id, ref, refn, fields, fieldsn, reason, reasonn);
}

static size_t
len(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

static void
head_mac(int64_t id, const uint8_t mac[RV_MAC_LEN], uint8_t out[RV_MAC_LEN])
{
	buf_reset(&A.enc);
	buf_addc(&A.enc, TAG_HEAD);
	put_u64(&A.enc, (uint64_t)id);
	buf_add(&A.enc, (const char *)mac, RV_MAC_LEN);
	mac_run(A.mac, A.enc.s, A.enc.len, out);
}

static void
anchor_mac(int64_t at, int64_t first_id, const uint8_t prev[RV_MAC_LEN],
    int64_t purged, int64_t before, uint8_t out[RV_MAC_LEN])
{
	buf_reset(&A.enc);
	buf_addc(&A.enc, TAG_ANCHOR);
	put_u64(&A.enc, (uint64_t)at);
	put_u64(&A.enc, (uint64_t)first_id);
	buf_add(&A.enc, (const char *)prev, RV_MAC_LEN);
	put_u64(&A.enc, (uint64_t)purged);
	put_u64(&A.enc, (uint64_t)before);
	mac_run(A.mac, A.enc.s, A.enc.len, out);
}

static int
end_drop(void *unused)
{
	(void)unused;
	A.have_end = 0;
	return 0;	/* a commit goes ahead */
}

static void
end_drop_rb(void *unused)
{
	end_drop(unused);
}

static unsigned int
data_version(sqlite3 *db)
{
	unsigned int v = 0;

	sqlite3_file_control(db, "main", SQLITE_FCNTL_DATA_VERSION, &v);
	return v;
}

void
audit_forget(sqlite3 *db)
{
	if (db != NULL && A.db != db)
		return;
	if (A.hooked) {
		sqlite3_commit_hook(A.db, NULL, NULL);
		sqlite3_rollback_hook(A.db, NULL, NULL);
	}
	A.hooked = 0;
	A.have_end = 0;
	mac_free(A.mac);
	A.mac = NULL;
	A.db = NULL;
	A.legacy_done = 0;
	A.dirty = 0;
	buf_free(&A.enc);
}

int
audit_key_load(sqlite3 *db, int *created, struct rv_err *e)
{
	uint8_t key[RV_KEY_LEN];
	int rc, made = 0;

	if (A.db != db || A.mac == NULL) {
		audit_forget(NULL);
		if ((rc = keys_get(db, RV_KEY_AUDIT, key, &made, e)) != 0)
			return rc;
		A.mac = mac_new(key, sizeof(key));
		rv_wipe(key, sizeof(key));
		A.db = db;
		A.untold |= made;
		/* Someone else's hooks are put back, and nothing is cached. */
		if (sqlite3_commit_hook(db, end_drop, NULL) != NULL ||
		    sqlite3_rollback_hook(db, end_drop_rb, NULL) != NULL) {
			sqlite3_commit_hook(db, NULL, NULL);
			sqlite3_rollback_hook(db, NULL, NULL);
			rc = rv_fail(e, EX_SOFTWARE, "audit: the connection "
			    "already has commit or rollback hooks");
			audit_forget(NULL);
			return rc;
		}
		A.hooked = 1;
	}
	/* Told to the first caller that asks; audit_append does not. */
	if (created != NULL) {
		*created = A.untold;
		A.untold = 0;
	}
	return 0;
}

int
audit_key_untold(void)
{
	int made = A.untold;

	A.untold = 0;
	return made;
}

/* The last row's id and MAC: the link the next row hangs on. With no rows
 * left (all purged), the latest anchor holds it. */
static int
chain_end(sqlite3 *db, int64_t *id, uint8_t mac[RV_MAC_LEN], int *found,
    struct rv_err *e)
{
	static const char last[] =
	    "SELECT id, mac FROM audit ORDER BY id DESC LIMIT 1";
	static const char anchor[] =
	    "SELECT first_id - 1, prev_mac FROM audit_anchor "
	    "ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *st;
	int rc, pass;

	*found = 0;
	*id = 0;
	memcpy(mac, zero_mac, RV_MAC_LEN);
	for (pass = 0; pass < 2; pass++) {
		if ((rc = db_cached(db, pass == 0 ? last : anchor, &st, e)) !=
		    0)
			return rc;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*id = sqlite3_column_int64(st, 0);
			if (sqlite3_column_bytes(st, 1) == RV_MAC_LEN)
				memcpy(mac, sqlite3_column_blob(st, 1),
				    RV_MAC_LEN);
			*found = pass == 0 && sqlite3_column_type(st, 1) !=
			    SQLITE_NULL ? 1 : pass == 0 ? -1 : 0;
			sqlite3_reset(st);
			return 0;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_fail(db, rc, e, "audit");
	}
	return 0;
}

/*
 * A database from before the chain has rows without a MAC and no sealed
 * head: they are chained once, in order, by the first change made by a
 * riserva that knows the chain. With a head, a missing MAC is damage and
 * is left for audit_verify to report.
 */
static int
seal_legacy(sqlite3 *db, struct rv_err *e)
{
	static const char rows[] =
	    "SELECT id, at, actor, tool, action, client_id, ref, fields, "
	    "reason FROM audit WHERE id > ? ORDER BY id LIMIT 4096";
	static const char upd[] = "UPDATE audit SET mac = ? WHERE id = ?";
	uint8_t prev[RV_MAC_LEN], (*macs)[RV_MAC_LEN] = NULL;
	int64_t last_id, *ids = NULL, after = 0;
	sqlite3_stmt *st;
	char *head = NULL;
	int found, rc, n, i;

	if ((rc = db_meta_get(db, "audit_head", &head, e)) != 0)
		return rc;
	if (head != NULL) {
		free(head);
		return 0;
	}
	if ((rc = chain_end(db, &last_id, prev, &found, e)) != 0)
		return rc;
	if (found != -1)
		return 0;
	memcpy(prev, zero_mac, RV_MAC_LEN);
	A.have_end = 0;
	ids = xcalloc(4096, sizeof(*ids));
	macs = xcalloc(4096, sizeof(*macs));
	/* In batches: the scan is finished before its rows are updated. */
	for (;;) {
		if ((rc = db_cached(db, rows, &st, e)) != 0)
			goto out;
		sqlite3_bind_int64(st, 1, after);
		for (n = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
			ids[n] = sqlite3_column_int64(st, 0);
#define T(i) (const char *)sqlite3_column_text(st, i), \
	(size_t)sqlite3_column_bytes(st, i)
			audit_encode(&A.enc, prev, ids[n],
			    sqlite3_column_int64(st, 1), T(2), T(3), T(4),
			    sqlite3_column_int64(st, 5), T(6), T(7), T(8));
#undef T
			mac_run(A.mac, A.enc.s, A.enc.len, macs[n]);
			memcpy(prev, macs[n], RV_MAC_LEN);
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			rc = db_fail(db, rc, e, "audit");
			goto out;
		}
		for (i = 0; i < n; i++) {
			if ((rc = db_cached(db, upd, &st, e)) != 0)
				goto out;
			sqlite3_bind_blob(st, 1, macs[i], RV_MAC_LEN,
			    SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, ids[i]);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
			if (rc != SQLITE_DONE) {
				rc = db_fail(db, rc, e, "audit");
				goto out;
			}
		}
		if (n < 4096)
			break;
		after = ids[n - 1];
	}
	A.dirty = 1;
	rc = 0;
out:
	free(ids);
	free(macs);
	return rc;
}

static int
chain_ready(sqlite3 *db, struct rv_err *e)
{
	int rc;

	if ((rc = audit_key_load(db, NULL, e)) != 0)
		return rc;
	if (!A.legacy_done) {
		if ((rc = seal_legacy(db, e)) != 0)
			return rc;
		A.legacy_done = 1;
	}
	return 0;
}

/*
 * A reason stays on the chained trail after the client is erased, so it
 * must not name them: their name or surname as a word (three letters or
 * more), or their email. What it says of their health no test can see;
 * the pages ask for that. Only a reason a person typed: one a tool writes
 * (a purge's term) must not stop a cron job for a client called Term.
 */
int
audit_reason_check(sqlite3 *db, int64_t client_id, const char *reason,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT name, surname, email FROM client WHERE id = ?";
	sqlite3_stmt *st;
	const char *what = NULL;
	int rc;

	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		what = text_names_client(reason,
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2));
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "client");
	if (what != NULL)
		return rv_fail(e, EX_DATAERR, "the reason holds the client's "
		    "%s, and reasons stay on the audit trail after an "
		    "erasure: say why without naming them", what);
	return 0;
}

int
audit_append(sqlite3 *db, const struct rv_who *w, const char *action,
    int64_t client_id, const char *ref, const char *fields, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO audit (id, at, actor, tool, action, client_id, ref, "
	    "fields, reason, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	uint8_t prev[RV_MAC_LEN], mac[RV_MAC_LEN];
	sqlite3_stmt *st;
	int64_t last;
	int own = 0, found, rc;

	/* A row belongs in its change's transaction; alone, it gets one. */
	if (sqlite3_get_autocommit(db)) {
		if ((rc = db_begin(db, e)) != 0)
			return rc;
		own = 1;
	}
	if (w->reason != NULL && w->reason_typed && client_id > 0 &&
	    (rc = audit_reason_check(db, client_id, w->reason, e)) != 0)
		goto out;
	if ((rc = chain_ready(db, e)) != 0)
		goto out;
	if (A.have_end && A.end_version == data_version(db)) {
		last = A.end_id;
		memcpy(prev, A.end_mac, RV_MAC_LEN);
	} else if ((rc = chain_end(db, &last, prev, &found, e)) != 0) {
		goto out;
	}
	audit_encode(&A.enc, prev, last + 1, w->now, w->actor, len(w->actor),
	    w->tool, len(w->tool), action, len(action), client_id, ref,
	    len(ref), fields, len(fields), w->reason, len(w->reason));
	mac_run(A.mac, A.enc.s, A.enc.len, mac);
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, last + 1);
	sqlite3_bind_int64(st, 2, w->now);
	db_bind_text(st, 3, w->actor);
	db_bind_text(st, 4, w->tool);
	db_bind_text(st, 5, action);
	if (client_id > 0)
		sqlite3_bind_int64(st, 6, client_id);
	db_bind_text(st, 7, ref);
	db_bind_text(st, 8, fields);
	db_bind_text(st, 9, w->reason);
	sqlite3_bind_blob(st, 10, mac, RV_MAC_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "audit");
	if (rc == 0) {
		A.dirty = 1;
		A.have_end = A.hooked;
		A.end_id = last + 1;
		memcpy(A.end_mac, mac, RV_MAC_LEN);
		A.end_version = data_version(db);
	} else {
		A.have_end = 0;
	}
out:
	if (own) {
		if (rc == 0)
			return db_commit(db, e);
		db_rollback(db);
	}
	return rc;
}

int
audit_seal(sqlite3 *db, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO meta (key, value) VALUES ('audit_head', ?) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
	uint8_t mac[RV_MAC_LEN], sig[RV_MAC_LEN];
	char text[40 + 4 * RV_MAC_LEN], hex[2 * RV_MAC_LEN + 1];
	sqlite3_stmt *st;
	int64_t id;
	int found, rc, n;

	if (A.db != db || A.mac == NULL || !A.dirty)
		return 0;
	A.dirty = 0;
	/* What is there now, not what was appended: a rollback may have
	 * taken rows away since. */
	if ((rc = chain_end(db, &id, mac, &found, e)) != 0)
		return rc;
	if (found == 0)
		return 0;
	head_mac(id, mac, sig);
	n = snprintf(text, sizeof(text), "%lld:", (long long)id);
	crypt_hex(mac, RV_MAC_LEN, hex);
	n += snprintf(text + n, sizeof(text) - (size_t)n, "%s:", hex);
	crypt_hex(sig, RV_MAC_LEN, hex);
	snprintf(text + n, sizeof(text) - (size_t)n, "%s", hex);
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "audit head");
}

static int
unhex(const char *s, size_t n, uint8_t *out)
{
	size_t i;

	for (i = 0; i < 2 * n; i++) {
		int c = s[i], v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return 0;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return s[2 * n] == '\0' || s[2 * n] == ':';
}

/* "id:mac:sig" as audit_seal writes it; 0 when it is not that shape. */
static int
parse_head(const char *s, int64_t *id, uint8_t mac[RV_MAC_LEN],
    uint8_t sig[RV_MAC_LEN])
{
	const char *colon = strchr(s, ':');
	char num[24];

	if (colon == NULL || colon - s >= (long)sizeof(num))
		return 0;
	snprintf(num, sizeof(num), "%.*s", (int)(colon - s), s);
	if (!parse_id(num, id) || strlen(colon + 1) != 4 * RV_MAC_LEN + 1)
		return 0;
	return unhex(colon + 1, RV_MAC_LEN, mac) &&
	    unhex(colon + 2 + 2 * RV_MAC_LEN, RV_MAC_LEN, sig);
}

static int
broken(struct audit_check *v, int64_t id, const char *fmt, ...)
    RV_PRINTF(3, 4);

static int
broken(struct audit_check *v, int64_t id, const char *fmt, ...)
{
	va_list ap;

	v->broken_id = id;
	va_start(ap, fmt);
	vsnprintf(v->problem, sizeof(v->problem), fmt, ap);
	va_end(ap);
	return 0;
}

/* The latest anchor, checked: where the chain starts and what it hangs
 * on. No anchor: row 1, hanging on zeros. */
static int
check_anchor(sqlite3 *db, struct audit_check *v, int64_t *start,
    uint8_t prev[RV_MAC_LEN], struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, at, first_id, prev_mac, purged, before, mac, "
	    "(SELECT sum(purged) FROM audit_anchor) "
	    "FROM audit_anchor ORDER BY id DESC LIMIT 1";
	uint8_t want[RV_MAC_LEN];
	sqlite3_stmt *st;
	int rc;

	*start = 1;
	memcpy(prev, zero_mac, RV_MAC_LEN);
	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		v->anchor_id = sqlite3_column_int64(st, 0);
		*start = sqlite3_column_int64(st, 2);
		v->purged = sqlite3_column_int64(st, 7);
		if (sqlite3_column_bytes(st, 3) == RV_MAC_LEN)
			memcpy(prev, sqlite3_column_blob(st, 3), RV_MAC_LEN);
		anchor_mac(sqlite3_column_int64(st, 1), *start, prev,
		    sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
		    want);
		if (sqlite3_column_bytes(st, 3) != RV_MAC_LEN ||
		    sqlite3_column_bytes(st, 6) != RV_MAC_LEN ||
		    !mac_equal(want, sqlite3_column_blob(st, 6), RV_MAC_LEN))
			broken(v, *start, "the anchor of the last purge "
			    "(anchor %lld) does not match its MAC",
			    (long long)v->anchor_id);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "audit anchor");
}

static int
check_head(sqlite3 *db, struct audit_check *v, const uint8_t *head_row_mac,
    struct rv_err *e)
{
	uint8_t mac[RV_MAC_LEN], sig[RV_MAC_LEN], want[RV_MAC_LEN];
	char *head = NULL;
	int64_t id;
	int rc;

	if ((rc = db_meta_get(db, "audit_head", &head, e)) != 0)
		return rc;
	if (head == NULL) {
		if (v->rows > 0)
			broken(v, v->first_id, "the trail's sealed head is "
			    "missing");
		return 0;
	}
	if (!parse_head(head, &id, mac, sig)) {
		free(head);
		return broken(v, v->last_id, "the trail's sealed head is "
		    "damaged");
	}
	free(head);
	head_mac(id, mac, want);
	v->head_id = id;
	crypt_hex(mac, RV_MAC_LEN, v->head);
	if (!mac_equal(want, sig, RV_MAC_LEN))
		return broken(v, id, "the trail's sealed head does not match "
		    "its MAC");
	if (id > v->last_id)
		return broken(v, v->last_id + 1, "row %lld is missing: the "
		    "trail was sealed at row %lld and ends at row %lld",
		    (long long)(v->last_id + 1), (long long)id,
		    (long long)v->last_id);
	if (head_row_mac == NULL || !mac_equal(head_row_mac, mac, RV_MAC_LEN))
		return broken(v, id, "row %lld is not the row the trail was "
		    "sealed at", (long long)id);
	return 0;
}

/*
 * Verification cuts the trail into chunks of ids that threads, each on its
 * own connection, take in turn until none is left: a row's MAC covers the
 * stored MAC of the row before it, so a chunk needs nothing from the others
 * but that one stored MAC. Reading the rows costs more than the HMACs, and
 * small chunks taken in turn keep a slower processor from holding up the
 * end. The first chunk (in id order) with a problem is the one reported.
 */
#define VMIN_SPLIT 65536	/* fewer rows: one thread */
#define VMAX_THREADS 4
#define VCHUNKS 8		/* chunks per thread */

enum { V_OK, V_MISSING, V_UNSEALED, V_MISMATCH };

struct vchunk {
	int kind;
	int64_t bad_id, upto, rows, last_id;
	uint8_t head_mac[RV_MAC_LEN];
	int have_head;
};

struct vjob {
	const char *path;
	int64_t from, to, len;	/* ids, both included; chunk length */
	int64_t anchor_id;	/* a snapshot must have this latest anchor */
	uint8_t prev0[RV_MAC_LEN];	/* the MAC before from */
	int64_t head_id;
	struct vchunk *c;
	int n;			/* chunks */
	pthread_mutex_t lock;
	int next;		/* the next chunk to take */
	int stop;		/* chunks after a broken one are not needed */
	int64_t done;		/* rows checked, for progress */
	int rc;			/* the first error, in err */
	struct rv_err err;
};

struct vworker {
	struct vjob *job;
	sqlite3 *db;		/* NULL: open its own snapshot of job->path */
	struct rv_mac *mac;
	void (*fn)(int64_t done, int64_t total, void *arg);
	void *arg;
	int64_t total;
};

/* Checks chunk i with st, prepared on the worker's connection. */
static int
vchunk_run(struct vjob *j, int i, sqlite3_stmt *st, struct rv_mac *m,
    struct rv_err *e)
{
	struct vchunk *r = &j->c[i];
	int64_t from = j->from + i * j->len;
	int64_t to = i == j->n - 1 ? j->to : from + j->len - 1;
	int64_t expect = from, id;
	uint8_t prev[RV_MAC_LEN], mac[RV_MAC_LEN];
	struct rv_buf enc = { 0 };
	int rc;

	memcpy(prev, j->prev0, RV_MAC_LEN);
	/* The row before the chunk gives the link; the chunk checks it not. */
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, i == 0 ? from : from - 1);
	sqlite3_bind_int64(st, 2, to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		if (id < from) {
			if (sqlite3_column_bytes(st, 9) == RV_MAC_LEN)
				memcpy(prev, sqlite3_column_blob(st, 9),
				    RV_MAC_LEN);
			continue;
		}
		if (id > expect) {
			r->kind = V_MISSING;
			r->bad_id = expect;
			r->upto = id - 1;
			break;
		}
		if (sqlite3_column_bytes(st, 9) != RV_MAC_LEN) {
			r->kind = V_UNSEALED;
			r->bad_id = id;
			break;
		}
#define T(i) (const char *)sqlite3_column_text(st, i), \
	(size_t)sqlite3_column_bytes(st, i)
		encode_at(&enc, 0, prev, id, sqlite3_column_int64(st, 1), T(2),
		    T(3), T(4), sqlite3_column_int64(st, 5), T(6), T(7), T(8));
#undef T
		mac_run(m, enc.s, enc.len, mac);
		if (!mac_equal(mac, sqlite3_column_blob(st, 9), RV_MAC_LEN)) {
			r->kind = V_MISMATCH;
			r->bad_id = id;
			break;
		}
		memcpy(prev, mac, RV_MAC_LEN);
		if (id == j->head_id) {
			memcpy(r->head_mac, mac, RV_MAC_LEN);
			r->have_head = 1;
		}
		r->last_id = id;
		r->rows++;
		expect++;
	}
	buf_free(&enc);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(sqlite3_db_handle(st), rc, e, "audit");
	if (r->kind == V_OK && expect <= to) {
		r->kind = V_MISSING;
		r->bad_id = expect;
		r->upto = to;
	}
	return 0;
}

/* Opens a read snapshot of the job's file for a worker; 0 and NULL when
 * it does not show the trail as the main connection does (a purge came
 * between), and the worker leaves the chunks to the others. */
static sqlite3 *
vsnapshot(struct vjob *j)
{
	struct rv_err e = { 0 };
	int64_t anchor = -1, last = 0;
	sqlite3 *db;

	if (sqlite3_open_v2(j->path, &db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	/* Read through the map, as the main connection does. */
	sqlite3_exec(db, "PRAGMA mmap_size = 4294967296", NULL, NULL, NULL);
	if (db_exec(db, "BEGIN", &e) != 0 ||
	    db_int(db, "SELECT coalesce(max(id), 0) FROM audit_anchor", 0,
	    &anchor, NULL, &e) != 0 || anchor != j->anchor_id ||
	    db_int(db, "SELECT count(*) FROM audit WHERE id = ?", j->to,
	    &last, NULL, &e) != 0 || last != 1) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static void
vwork(struct vworker *w)
{
	static const char sql[] =
	    "SELECT id, at, actor, tool, action, client_id, ref, fields, "
	    "reason, mac FROM audit WHERE id >= ? AND id <= ? ORDER BY id";
	struct vjob *j = w->job;
	struct rv_err e = { 0 };
	sqlite3_stmt *st = NULL;
	sqlite3 *db = w->db != NULL ? w->db : vsnapshot(j);
	int64_t done;
	int i, rc = 0;

	if (db == NULL)
		return;
	if ((rc = db_prepare(db, sql, &st, &e)) != 0)
		goto out;
	for (;;) {
		pthread_mutex_lock(&j->lock);
		i = j->next++;
		pthread_mutex_unlock(&j->lock);
		if (i >= j->n || i > j->stop)
			break;
		rc = vchunk_run(j, i, st, w->mac, &e);
		pthread_mutex_lock(&j->lock);
		if ((rc != 0 || j->c[i].kind != V_OK) && i < j->stop)
			j->stop = i;
		j->done += j->c[i].rows;
		done = j->done;
		pthread_mutex_unlock(&j->lock);
		if (rc != 0)
			break;
		if (w->fn != NULL)
			w->fn(done, w->total, w->arg);
	}
out:
	sqlite3_finalize(st);
	if (db != w->db)
		sqlite3_close(db);
	if (rc != 0) {
		pthread_mutex_lock(&j->lock);
		if (j->rc == 0) {
			j->rc = rc;
			j->err = e;
		}
		pthread_mutex_unlock(&j->lock);
	}
}

static void *
vwork_thread(void *arg)
{
	vwork(arg);
	return NULL;
}

/* How many threads: one per processor, for a trail worth splitting in a
 * database with a file another connection can open. */
static int
vsplit(sqlite3 *db, int64_t rows)
{
	const char *path = sqlite3_db_filename(db, "main");
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (rows < VMIN_SPLIT || path == NULL || *path == '\0' || n < 2)
		return 1;
	return n > VMAX_THREADS ? VMAX_THREADS : (int)n;
}

/* Checks rows [from, to] with nt threads, the calling one on db; sums
 * the chunks up to the first with a problem into *sum. */
static int
vcheck(sqlite3 *db, int nt, int64_t from, int64_t to, int64_t anchor_id,
    const uint8_t prev0[RV_MAC_LEN], int64_t head_id, struct vchunk *sum,
    void (*fn)(int64_t, int64_t, void *), void *arg, struct rv_err *e)
{
	struct vworker w[VMAX_THREADS];
	pthread_t t[VMAX_THREADS];
	int started[VMAX_THREADS] = { 0 }, i;
	struct vjob j;

	memset(&j, 0, sizeof(j));
	memset(w, 0, sizeof(w));
	j.path = sqlite3_db_filename(db, "main");
	j.from = from;
	j.to = to;
	/* Chunks for a single thread too: progress is told as each ends. */
	j.n = to - from + 1 < VMIN_SPLIT ? 1 : nt * VCHUNKS;
	j.len = (to - from + 1) / j.n;
	j.stop = j.n;
	j.anchor_id = anchor_id;
	memcpy(j.prev0, prev0, RV_MAC_LEN);
	j.head_id = head_id;
	j.c = xcalloc((size_t)j.n, sizeof(*j.c));
	pthread_mutex_init(&j.lock, NULL);
	for (i = 0; i < nt; i++) {
		w[i].job = &j;
		w[i].db = i == 0 ? db : NULL;
		w[i].mac = i == 0 ? A.mac : mac_dup(A.mac);
	}
	w[0].fn = fn;
	w[0].arg = arg;
	w[0].total = to - from + 1;
	for (i = 1; i < nt; i++)
		started[i] = pthread_create(&t[i], NULL, vwork_thread,
		    &w[i]) == 0;
	vwork(&w[0]);
	for (i = 1; i < nt; i++) {
		if (started[i])
			pthread_join(t[i], NULL);
		mac_free(w[i].mac);
	}
	pthread_mutex_destroy(&j.lock);
	memset(sum, 0, sizeof(*sum));
	if (j.rc != 0) {
		*e = j.err;
		free(j.c);
		return j.rc;
	}
	for (i = 0; i < j.n; i++) {
		sum->rows += j.c[i].rows;
		if (j.c[i].rows > 0)
			sum->last_id = j.c[i].last_id;
		if (j.c[i].have_head) {
			memcpy(sum->head_mac, j.c[i].head_mac, RV_MAC_LEN);
			sum->have_head = 1;
		}
		if (j.c[i].kind != V_OK) {
			sum->kind = j.c[i].kind;
			sum->bad_id = j.c[i].bad_id;
			sum->upto = j.c[i].upto;
			break;
		}
	}
	free(j.c);
	return 0;
}

int
audit_verify(sqlite3 *db, struct audit_check *v,
    void (*fn)(int64_t done, int64_t total, void *arg), void *arg,
    struct rv_err *e)
{
	/* Ids are dense in an intact trail: the span counts the rows to check
	 * without a count(*) that would read them all once more. min() and
	 * max() each in its own subquery: SQLite finds a lone one at an end
	 * of the table, but scans every row for a query with both. */
	static const char span[] =
	    "SELECT lo, hi, coalesce(hi - lo + 1, 0), "
	    "(SELECT coalesce(max(id), 0) FROM audit_anchor) "
	    "FROM (SELECT (SELECT min(id) FROM audit) AS lo, "
	    "(SELECT max(id) FROM audit) AS hi)";
	uint8_t prev[RV_MAC_LEN], hmac_[RV_MAC_LEN], hsig[RV_MAC_LEN];
	int64_t expect, lo = 0, hi = 0, rows = 0, anchor = 0, head_id = 0;
	char *keycheck = NULL, *head = NULL;
	struct vchunk sum;
	sqlite3_stmt *st = NULL;
	int own = 0, rc;

	memset(v, 0, sizeof(*v));
	/* The file mapped rather than read page by page: a million rows are
	 * a few hundred megabytes. */
	sqlite3_exec(db, "PRAGMA mmap_size = 4294967296", NULL, NULL, NULL);
	/* One snapshot: writers carry on, the chain read is consistent. */
	if (sqlite3_get_autocommit(db)) {
		if ((rc = db_exec(db, "BEGIN", e)) != 0)
			return rc;
		own = 1;
	}
	if ((rc = db_prepare(db, span, &st, e)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		rc = db_fail(db, rc, e, "audit");
		goto out;
	}
	lo = sqlite3_column_int64(st, 0);
	hi = sqlite3_column_int64(st, 1);
	rows = sqlite3_column_int64(st, 2);
	anchor = sqlite3_column_int64(st, 3);
	if ((rc = db_meta_get(db, "key_check", &keycheck, e)) != 0)
		goto out;
	if (keycheck == NULL) {
		/* No key was ever used here: nothing can have been sealed. */
		if (rows > 0)
			broken(v, lo, "row %lld is not sealed (no audit key "
			    "has been used with this database)", (long long)lo);
		goto out;
	}
	if ((rc = audit_key_load(db, NULL, e)) != 0 ||
	    (rc = check_anchor(db, v, &expect, prev, e)) != 0 ||
	    v->broken_id != 0)
		goto out;
	if ((rc = db_meta_get(db, "audit_head", &head, e)) != 0)
		goto out;
	if (head != NULL && !parse_head(head, &head_id, hmac_, hsig))
		head_id = 0;
	v->first_id = lo;
	if (rows > 0 && lo < expect) {
		broken(v, lo, "row %lld comes before the anchor of the last "
		    "purge (row %lld)", (long long)lo, (long long)expect);
		goto out;
	}
	memset(&sum, 0, sizeof(sum));
	if (rows > 0 && (rc = vcheck(db, vsplit(db, rows), expect, hi, anchor,
	    prev, head_id, &sum, fn, arg, e)) != 0)
		goto out;
	v->rows = sum.rows;
	v->last_id = sum.last_id;
	switch (sum.kind) {
	case V_MISSING:
		broken(v, sum.bad_id, sum.upto == sum.bad_id ? "row %lld is "
		    "missing" : "row %lld is missing (and up to row %lld)",
		    (long long)sum.bad_id, (long long)sum.upto);
		break;
	case V_UNSEALED:
		broken(v, sum.bad_id, "row %lld is not sealed",
		    (long long)sum.bad_id);
		break;
	case V_MISMATCH:
		broken(v, sum.bad_id, "row %lld does not match its MAC: it was "
		    "changed, or rows before it were changed, moved or "
		    "removed", (long long)sum.bad_id);
		break;
	}
	if (v->broken_id == 0)
		rc = check_head(db, v, sum.have_head ? sum.head_mac : NULL, e);
out:
	sqlite3_finalize(st);
	free(keycheck);
	free(head);
	if (own)
		db_rollback(db);
	sqlite3_exec(db, "PRAGMA mmap_size = 0", NULL, NULL, NULL);
	return rc;
}

int
audit_list(sqlite3 *db, const struct audit_filter *f,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	struct rv_buf sql = { 0 };
	sqlite3_stmt *st = NULL;
	size_t alen = f->action != NULL ? strlen(f->action) : 0;
	int n = 0, rc;

	/* Fixed fragments chosen by which filters are set; values are bound. */
	buf_adds(&sql, "SELECT id, at, actor, tool, action, client_id, ref, "
	    "fields, reason FROM audit WHERE 1");
	if (f->client_id)
		buf_adds(&sql, " AND " AUDIT_ABOUT_CLIENT("?1"));
	if (f->from)
		buf_adds(&sql, " AND at >= ?");
	if (f->to)
		buf_adds(&sql, " AND at < ?");
	if (f->actor)
		buf_adds(&sql, " AND actor = ?");
	if (f->action && f->action[alen - 1] == '.')
		buf_adds(&sql, " AND substr(action, 1, ?) = ?");
	else if (f->action)
		buf_adds(&sql, " AND action = ?");
	buf_adds(&sql, " ORDER BY id");
	if ((rc = db_prepare(db, sql.s, &st, e)) != 0)
		goto out;
	if (f->client_id)
		sqlite3_bind_int64(st, ++n, f->client_id);
	if (f->from)
		sqlite3_bind_int64(st, ++n, f->from);
	if (f->to)
		sqlite3_bind_int64(st, ++n, f->to);
	if (f->actor)
		sqlite3_bind_text(st, ++n, f->actor, -1, SQLITE_STATIC);
	if (f->action && f->action[alen - 1] == '.')
		sqlite3_bind_int64(st, ++n, (int64_t)alen);
	if (f->action)
		sqlite3_bind_text(st, ++n, f->action, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *r = rec_new("audit", sqlite3_column_int64(st, 0));

		rec_col_time(r, "at", st, 1);
		rec_col_text(r, "actor", st, 2);
		rec_col_text(r, "tool", st, 3);
		rec_col_text(r, "action", st, 4);
		rec_col_int(r, "client_id", st, 5);
		rec_col_text(r, "ref", st, 6);
		rec_col_text(r, "fields", st, 7);
		rec_col_text(r, "reason", st, 8);
		if ((rc = fn(r, arg)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "audit");
out:
	sqlite3_finalize(st);
	buf_free(&sql);
	return rc;
}

static json_t *
anchor_record(int64_t id, int64_t at, int64_t first_id, int64_t purged,
    int64_t before)
{
	json_t *r = rec_new("anchor", id);

	if (id == 0)
		json_object_set_new(r, "id", json_null());
	rec_time(r, "at", at);
	json_object_set_new(r, "first_id", json_integer(first_id));
	json_object_set_new(r, "purged", json_integer(purged));
	rec_time(r, "before", before);
	return r;
}

int
audit_anchors(sqlite3 *db, int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, at, first_id, purged, before FROM audit_anchor "
	    "ORDER BY id";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(anchor_record(sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
		    sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4)),
		    arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "audit anchor");
out:
	sqlite3_finalize(st);
	return rc;
}

int
audit_purge(sqlite3 *db, const struct rv_who *w, int64_t before,
    int dry_run, json_t **rec, struct rv_err *e)
{
	static const char kept[] =
	    "SELECT min(id) FROM audit WHERE at >= ?";
	static const char old[] =
	    "SELECT count(*), min(id), max(id) FROM audit WHERE id < ?";
	static const char link[] =
	    "SELECT mac FROM audit WHERE id < ? ORDER BY id DESC LIMIT 1";
	static const char del[] = "DELETE FROM audit WHERE id < ?";
	static const char ins[] =
	    "INSERT INTO audit_anchor (at, first_id, prev_mac, purged, "
	    "before, mac) VALUES (?, ?, ?, ?, ?, ?)";
	uint8_t prev[RV_MAC_LEN], mac[RV_MAC_LEN];
	struct audit_check v;
	int64_t first, n = 0, lo = 0, hi = 0, aid = 0;
	sqlite3_stmt *st;
	char ref[64];
	int found, rc;

	*rec = NULL;
	if ((rc = chain_ready(db, e)) != 0 ||
	    (rc = audit_verify(db, &v, NULL, NULL, e)) != 0)
		return rc;
	if (v.broken_id != 0)
		return rv_fail(e, EX_REFUSED, "the audit trail is broken at "
		    "row %lld (%s): nothing purged, so the evidence is kept",
		    (long long)v.broken_id, v.problem);
	/* The longest run of oldest rows: the kept chain stays whole. */
	if ((rc = db_int(db, kept, before, &first, &found, e)) != 0)
		return rc;
	if (!found)
		first = v.last_id + 1;
	if ((rc = db_prepare(db, old, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, first);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		lo = sqlite3_column_int64(st, 1);
		hi = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return db_fail(db, rc, e, "audit");
	if (n == 0) {
		/* A dry run says what it would do, even nothing. */
		if (dry_run)
			*rec = anchor_record(0, w->now, first, 0, before);
		return 0;
	}
	if ((rc = db_prepare(db, link, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, first);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == RV_MAC_LEN)
		memcpy(prev, sqlite3_column_blob(st, 0), RV_MAC_LEN);
	else
		memcpy(prev, zero_mac, RV_MAC_LEN);
	sqlite3_finalize(st);
	if (dry_run) {
		*rec = anchor_record(0, w->now, first, n, before);
		return 0;
	}
	A.have_end = 0;
	if ((rc = db_prepare(db, del, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, first);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "audit purge");
	anchor_mac(w->now, first, prev, n, before, mac);
	if ((rc = db_prepare(db, ins, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, w->now);
	sqlite3_bind_int64(st, 2, first);
	sqlite3_bind_blob(st, 3, prev, RV_MAC_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, n);
	sqlite3_bind_int64(st, 5, before);
	sqlite3_bind_blob(st, 6, mac, RV_MAC_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "audit anchor");
	aid = sqlite3_last_insert_rowid(db);
	snprintf(ref, sizeof(ref), "audit %lld-%lld", (long long)lo,
	    (long long)hi);
	if ((rc = audit_append(db, w, "audit.purge", 0, ref, NULL, e)) != 0)
		return rc;
	*rec = anchor_record(aid, w->now, first, n, before);
	return 0;
}

int64_t
audit_months_before(int64_t t, long months)
{
	int y, m, d, dim;
	long mm;

	tm_day_of(t, &y, &m, &d, NULL);
	mm = (long)y * 12 + (m - 1) - months;
	y = (int)(mm / 12);
	m = (int)(mm % 12) + 1;
	dim = tm_days_in_month(y, m);
	if (d > dim)
		d = dim;
	return tm_day_start(y, m, d);
}
