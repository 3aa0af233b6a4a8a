/* riserva.h — the shared library: errors, config, time, database, records. */
#ifndef RISERVA_H
#define RISERVA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>

#include <jansson.h>
#include <sqlite3.h>

#define RV_VERSION "0.1.0"

#if defined(__GNUC__)
#define RV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define RV_NORETURN __attribute__((noreturn))
#else
#define RV_PRINTF(a, b)
#define RV_NORETURN
#endif

/* Exit status 1: the request is valid but cannot be satisfied. */
#define EX_REFUSED 1

/*
 * Errors. Library functions return 0 or a <sysexits.h> code and fill a
 * struct rv_err; only the tool (cmd/) prints it and decides to exit.
 */
struct rv_err {
	int code;
	char msg[512];
	size_t line;	/* in_each: the error is about this line, not the last */
};

int rv_fail(struct rv_err *e, int code, const char *fmt, ...) RV_PRINTF(3, 4);
int rv_failv(struct rv_err *e, int code, const char *fmt, va_list ap);
/* Puts a formatted prefix before the message already in e. */
int rv_prefix(struct rv_err *e, const char *fmt, ...) RV_PRINTF(2, 3);
/* Like rv_fail, with ": strerror(errno)" appended. */
int rv_fail_errno(struct rv_err *e, int code, const char *fmt, ...)
    RV_PRINTF(3, 4);

/* Allocation that cannot fail: on exhaustion it aborts (as git's xmalloc). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* A growable string. */
struct rv_buf {
	char *s;
	size_t len, cap;
};
void buf_add(struct rv_buf *b, const char *s, size_t n);
void buf_adds(struct rv_buf *b, const char *s);
void buf_addc(struct rv_buf *b, char c);
void buf_printf(struct rv_buf *b, const char *fmt, ...) RV_PRINTF(2, 3);
void buf_reset(struct rv_buf *b);
void buf_free(struct rv_buf *b);

/* A growable list of ids. */
struct rv_ids {
	int64_t *v;
	size_t n, cap;
};
void ids_add(struct rv_ids *l, int64_t id);
int ids_has(const struct rv_ids *l, int64_t id);
void ids_add_once(struct rv_ids *l, int64_t id);
void ids_free(struct rv_ids *l);

/* Validation and parsing of user input (util.c); 0 or EX_DATAERR. */
int parse_id(const char *s, int64_t *id);	/* 1 if s is a positive integer */
int parse_int(const char *s, long min, long max, long *out);	/* 1 if ok */
int parse_money(const char *s, int64_t *cents, struct rv_err *e);
void money_format(int64_t cents, char buf[32]);
int check_text(const char *what, const char *s, size_t max, int required,
    int multiline, struct rv_err *e);
int check_email(const char *s, struct rv_err *e);
/* UTF-8 (RFC 3629): the length of the sequence at p, or 0 if invalid; and
 * the offset of the first invalid byte of s (n when all is valid). */
size_t utf8_seq(const unsigned char *p, const unsigned char *end);
size_t utf8_valid(const char *s, size_t n);
size_t utf8_unsafe(const char *s, size_t n);
int text_has_word(const char *s, const char *w);
const char *text_names_client(const char *text, const char *name,
    const char *surname, const char *email);
int norm_phone(const char *s, char *out, size_t outsz, struct rv_err *e);
int is_tty(FILE *fp);
const char *login_name(void);
int mkdir_parents(const char *path, int mode_last, struct rv_err *e);

/* ---- config (conf.c) ---- */

/*
 * git-config style file; every key has a built-in default and an
 * environment override RISERVA_<SECTION>_<KEY>.
 */
struct rv_conf;
int conf_load(const char *path, struct rv_conf **out, struct rv_err *e);
void conf_free(struct rv_conf *c);
const char *conf_path(void);	/* RISERVA_CONFIG or the XDG default */
const char *conf_get(const struct rv_conf *c, const char *key);
int conf_int(const struct rv_conf *c, const char *key, long min, long max,
    long *out, struct rv_err *e);
int conf_duration(const struct rv_conf *c, const char *key, int64_t *secs,
    struct rv_err *e);
int conf_bool(const struct rv_conf *c, const char *key, int *out,
    struct rv_err *e);
int parse_duration(const char *s, int64_t *secs);	/* "90s" "15m" "24h" "2d" */

/* ---- time (tm.c) ---- */

/* Every instant is int64 Unix seconds; wall times are in the centre's zone. */
int tm_init(const char *zone, struct rv_err *e);
const char *tm_zone(void);
int tm_now(int64_t *now, struct rv_err *e);	/* honours RISERVA_NOW */
/* Parse "YYYY-MM-DD HH:MM[:SS]" (local) or RFC 3339 with offset or Z. */
int tm_parse(const char *s, int64_t *t, struct rv_err *e);
/* Parse a date "YYYY-MM-DD" into y, m, d; validates the calendar. */
int tm_parse_date(const char *s, int *y, int *m, int *d, struct rv_err *e);
/* Parse a date or a time; a bare date means the start of that local day,
 * or, with end_of_day, the start of the next one. */
int tm_parse_bound(const char *s, int end_of_day, int64_t *t, struct rv_err *e);
/* The instant of a local wall time; one that does not exist (DST gap)
 * is moved to when the clocks resume, an ambiguous one takes the first. */
int64_t tm_wall(int y, int m, int d, int minute);
int64_t tm_day_start(int y, int m, int d);
void tm_day_of(int64_t t, int *y, int *m, int *d, int *minute);
int tm_weekday(int y, int m, int d);	/* 1 = Monday .. 7 = Sunday */
void tm_add_days(int *y, int *m, int *d, int n);
int tm_days_in_month(int y, int m);
int64_t tm_days_from_civil(int y, int m, int d);
void tm_civil_from_days(int64_t z, int *y, int *m, int *d);
void tm_rfc3339(int64_t t, char buf[40]);	/* with the centre's offset */
void tm_rfc3339_utc(int64_t t, char buf[40]);
void tm_local(int64_t t, char buf[40]);	/* "YYYY-MM-DD HH:MM" */
void tm_hhmm(int minute, char buf[8]);
int tm_parse_hhmm(const char *s, int *minute);	/* 1 if ok; 24:00 allowed */
extern const char *const tm_day_names[8];	/* [1] = "mon" */

/* ---- database (db.c, schema.c) ---- */

int db_default_path(char *buf, size_t n, struct rv_err *e);
int db_functions(sqlite3 *db, struct rv_err *e);
int db_open(const char *path, long busy_ms, sqlite3 **out, struct rv_err *e);
/* Applies the migrations a file opened otherwise (a restore) lacks. */
int db_migrate(sqlite3 *db, struct rv_err *e);
void db_close(sqlite3 *db);
int db_begin(sqlite3 *db, struct rv_err *e);	/* BEGIN IMMEDIATE */
int db_begin_read(sqlite3 *db, struct rv_err *e);	/* BEGIN DEFERRED */
int db_commit(sqlite3 *db, struct rv_err *e);
void db_rollback(sqlite3 *db);
/* Map a SQLite failure to an exit code and a message. */
int db_fail(sqlite3 *db, int rc, struct rv_err *e, const char *what);
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
    struct rv_err *e);
/* A prepared statement kept for the connection's life, keyed by the address
 * of sql (a static string): reset on each fetch, never finalized by the
 * caller. For statements a tool runs many times. */
int db_cached(sqlite3 *db, const char *sql, sqlite3_stmt **st,
    struct rv_err *e);
int db_exec(sqlite3 *db, const char *sql, struct rv_err *e);
/* Bind a string, or NULL when s is NULL. */
int db_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Run a statement that returns at most one integer; *found tells if it did. */
int db_int(sqlite3 *db, const char *sql, int64_t arg, int64_t *out,
    int *found, struct rv_err *e);
/* Checkpoint the WAL into the database and truncate it (after erasures). */
int db_checkpoint(sqlite3 *db, struct rv_err *e);
int db_meta_get(sqlite3 *db, const char *key, char **value, struct rv_err *e);
int db_meta_set(sqlite3 *db, const char *key, const char *value,
    struct rv_err *e);

struct db_migration {
	int version;
	const char *sql;
};
extern const struct db_migration db_migrations[];
extern const size_t db_nmigrations;

/* ---- who acts: for the audit trail and the records' times ---- */

struct rv_who {
	int64_t now;
	const char *actor;
	const char *tool;
	const char *reason;
	int reason_typed;	/* by a person (--reason), not by a tool */
};

/* ---- audit (audit.c) ---- */

/*
 * The audit rows about client ?N: those naming it, and the one of the
 * import that created it ("client.import", ref "clients FIRST-LAST": an
 * import is one change, so one row). Each branch has its own index.
 */
#define AUDIT_ABOUT_CLIENT(n) \
	"id IN (SELECT id FROM audit WHERE client_id = " n " UNION ALL " \
	"SELECT id FROM audit WHERE action = 'client.import' AND " n \
	" BETWEEN CAST(substr(ref, 9) AS INTEGER) AND " \
	"CAST(substr(ref, instr(ref, '-') + 1) AS INTEGER))"

/* 0 unless reason holds client_id's email, name or surname (65). */
int audit_reason_check(sqlite3 *db, int64_t client_id, const char *reason,
    struct rv_err *e);
/* Appends one audit row in the caller's transaction; fields are names. */
int audit_append(sqlite3 *db, const struct rv_who *w, const char *action,
    int64_t client_id, const char *ref, const char *fields,
    struct rv_err *e);

/* ---- output (out.c) ---- */

enum rv_format {
	RV_FMT_AUTO,
	RV_FMT_TABLE,
	RV_FMT_JSONL,
	RV_FMT_JSON,
	RV_FMT_CSV,
};
int out_parse_format(const char *s);	/* -1 if unknown */

#define RV_COL_TIME 0x1	/* an RFC 3339 string shown as local time */
#define RV_COL_RIGHT 0x2	/* right-aligned */
#define RV_COL_MONEY 0x4	/* integer cents shown as euros */
struct rv_col {
	const char *key;
	const char *head;
	int flags;
};

struct rv_out {
	FILE *fp;
	int fmt;
	int one;	/* a single record: key/value lines on a terminal */
	int bold;
	const struct rv_col *cols;
	size_t count;
	json_t *rows;	/* table: buffered to align the columns */
	json_t *csv_keys;	/* csv: the header, from the first record */
};
void out_begin(struct rv_out *o, FILE *fp, int fmt, const struct rv_col *cols,
    int one);
/* Writes one record and releases it. */
int out_record(struct rv_out *o, json_t *rec);
int out_end(struct rv_out *o);
void csv_field(FILE *fp, const char *s);

/* ---- input (in.c, json.c) ---- */

/* One JSON value from a line (RFC 8259, strict: UTF-8, no \u0000, no
 * duplicate keys); NULL with a message naming the column on error. */
json_t *json_parse_line(const char *s, size_t n, char *err, size_t errn);
/* Writes v as compact JSON (the keys in their order). */
void json_write(FILE *fp, json_t *v);

#define RV_MAX_LINE (1 << 20)
typedef int (*rv_input_fn)(json_t *rec, size_t line, void *arg,
    struct rv_err *e);
/* Reads JSON Lines, one object per line; errors name the line. */
int in_each(FILE *fp, rv_input_fn fn, void *arg, struct rv_err *e);
/* The client a record is about: a client record's id, else its client_id;
 * 0 when that is null (a client since erased). */
int in_client_id(json_t *rec, int64_t *id, struct rv_err *e);
/* Typed field access for records; 0, or EX_DATAERR naming the key. */
int in_str(json_t *rec, const char *key, int required, const char **out,
    struct rv_err *e);
int in_int(json_t *rec, const char *key, int required, int64_t *out,
    struct rv_err *e);

/* ---- records: JSON building helpers (record.c) ---- */

json_t *rec_new(const char *type, int64_t id);
void rec_time(json_t *r, const char *key, int64_t t);	/* 0 or <0: null */
void rec_col_text(json_t *r, const char *key, sqlite3_stmt *st, int i);
void rec_col_int(json_t *r, const char *key, sqlite3_stmt *st, int i);
void rec_col_time(json_t *r, const char *key, sqlite3_stmt *st, int i);
void rec_col_bool(json_t *r, const char *key, sqlite3_stmt *st, int i);
/* The record of the one row sql finds (its one ? bound to id), built by
 * fn; EX_NOINPUT "no such WHAT ID" when there is none. */
int rec_get(sqlite3 *db, const char *sql, int64_t id,
    json_t *(*fn)(sqlite3_stmt *st), const char *what, json_t **rec,
    struct rv_err *e);
/* The rows sql finds (one ? bound to arg) as objects appended to out, a
 * key per column in order: kind 'i' integer, 't' text, 'T' time, 'b'
 * boolean. */
struct rec_field {
	const char *key;
	char kind;
};
int rec_rows(sqlite3 *db, const char *sql, int64_t arg,
    const struct rec_field *f, json_t *out, struct rv_err *e);
/* The id of the record spec names: a number, run through by_id, or an
 * email, through by_email (each selects the id with one ?). */
int rec_find(sqlite3 *db, const char *by_id, const char *by_email,
    const char *spec, const char *what, int64_t *id, struct rv_err *e);

/* ---- crypto (crypt.c, keys.c) ---- */

#define RV_KEY_LEN 32
enum rv_key_purpose {
	RV_KEY_FIELD,	/* fields at rest: health data, OAuth tokens */
	RV_KEY_AUDIT,	/* the audit chain's MAC */
	RV_KEY_BACKUP,	/* backup files */
	RV_KEY_TOKEN,	/* unsubscribe tokens */
	RV_KEY_CHECK,	/* the key's fingerprint stored in the database */
};
int crypt_init(struct rv_err *e);
const char *crypt_key_path(void);
/* Reads the master key; creates it when allowed and missing (*created). */
int crypt_key_read(int may_create, uint8_t key[RV_KEY_LEN], int *created,
    struct rv_err *e);
void crypt_derive(const uint8_t master[RV_KEY_LEN], int purpose,
    uint8_t out[RV_KEY_LEN]);
void crypt_random(void *buf, size_t n);
void crypt_sha256(const void *data, size_t n, uint8_t out[32]);
void crypt_hmac(const uint8_t key[RV_KEY_LEN], const void *data, size_t n,
    uint8_t out[32]);
void crypt_hex(const uint8_t *in, size_t n, char *out);	/* out: 2n+1 */
/* AES-256-GCM: blob = 0x01 | nonce(12) | ciphertext | tag(16). */
#define RV_SEAL_OVERHEAD (1 + 12 + 16)
int crypt_seal(const uint8_t key[RV_KEY_LEN], const char *aad,
    const void *plain, size_t n, uint8_t **blob, size_t *blobn,
    struct rv_err *e);
int crypt_open(const uint8_t key[RV_KEY_LEN], const char *aad,
    const uint8_t *blob, size_t blobn, char **plain, size_t *n,
    struct rv_err *e);
/* The subkey for purpose, checked against the database's key fingerprint:
 * a key is created only while the database holds nothing encrypted. */
int keys_get(sqlite3 *db, int purpose, uint8_t out[RV_KEY_LEN], int *created,
    struct rv_err *e);
/* The same, never creating a key: for opening what is already sealed. */
int keys_get_existing(sqlite3 *db, int purpose, uint8_t out[RV_KEY_LEN],
    struct rv_err *e);
void rv_wipe(void *p, size_t n);

/* ---- completion (complete.c): kind is "client", "staff" or "service" ---- */

int complete_words(sqlite3 *db, const char *kind, const char *prefix,
    int (*fn)(const char *word, void *arg), void *arg, struct rv_err *e);

/* ---- domain: clients (client.c) ---- */

struct client {
	int64_t id;
	const char *name, *surname, *email, *phone, *birth, *locale, *notes;
};
#define CLIENT_COLS "id, name, surname, email, phone, birth, locale, " \
	"restricted, created, notes, updated"
int client_find(sqlite3 *db, const char *spec, int64_t *id, struct rv_err *e);
int client_check(struct client *c, char phone[32], int64_t now,
    struct rv_err *e);
int client_insert(sqlite3 *db, const struct rv_who *w, struct client *c,
    struct rv_err *e);
/* The row alone, for an import that audits itself as one change; the
 * names of the fields given are OR-ed into *fields (CLIENT_F_*). */
int client_insert_row(sqlite3 *db, const struct rv_who *w, struct client *c,
    unsigned *fields, struct rv_err *e);
void client_fields_text(unsigned fields, struct rv_buf *b);
/* 1 to CLIENT_BATCH checked clients in one statement, ids given in order;
 * a duplicate email anywhere writes none of them and is EX_REFUSED without
 * saying which: insert them one by one to find it. */
#define CLIENT_BATCH 64
int client_insert_rows(sqlite3 *db, const struct rv_who *w, struct client *cs,
    size_t n, unsigned *fields, struct rv_err *e);
int client_update(sqlite3 *db, const struct rv_who *w, int64_t id,
    const struct client *changes, int *changed, struct rv_err *e);
int client_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e);
int client_list(sqlite3 *db, const char *search, int restricted_only,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);
json_t *client_record(sqlite3_stmt *st);
int client_restricted(sqlite3 *db, int64_t id, int *restricted,
    struct rv_err *e);
extern const struct rv_col client_cols[];

/* ---- domain: staff and services (staff.c, service.c) ---- */

int staff_find(sqlite3 *db, const char *spec, int64_t *id, struct rv_err *e);
int staff_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e);
const char *staff_label(sqlite3 *db, int64_t id, char *buf, size_t n);
extern const struct rv_col staff_cols[];
int staff_insert(sqlite3 *db, const struct rv_who *w, const char *name,
    const char *email, const char *role, int64_t *id, struct rv_err *e);
/* NULL leaves a field as it is; active < 0 too. */
int staff_update(sqlite3 *db, const struct rv_who *w, int64_t id,
    const char *name, const char *email, const char *role, int active,
    struct rv_err *e);
int staff_list(sqlite3 *db, int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e);
int parse_days(const char *s, int *mask, struct rv_err *e);
int hours_set(sqlite3 *db, const struct rv_who *w, int64_t staff_id, int mask,
    const int *ranges, int n, struct rv_err *e);
int hours_list(sqlite3 *db, int64_t staff_id, int (*fn)(json_t *rec, void *arg),
    void *arg, struct rv_err *e);
int leave_add(sqlite3 *db, const struct rv_who *w, int64_t staff_id,
    int64_t start, int64_t end, const char *reason, int64_t *id,
    struct rv_err *e);
int leave_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e);
int leave_list(sqlite3 *db, int64_t staff_id, int64_t since,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);
int leave_remove(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e);
int staff_services_set(sqlite3 *db, const struct rv_who *w, int64_t staff_id,
    const struct rv_ids *services, struct rv_err *e);
int staff_services(sqlite3 *db, int64_t staff_id,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);
extern const struct rv_col leave_cols[];
extern const struct rv_col hours_cols[];
int service_find(sqlite3 *db, const char *spec, int64_t *id,
    struct rv_err *e);
int service_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e);
extern const struct rv_col service_cols[];
/* price < 0: none given. */
int service_insert(sqlite3 *db, const struct rv_who *w, const char *name,
    long duration, long buffer, int64_t price, int64_t *id, struct rv_err *e);
int service_update(sqlite3 *db, const struct rv_who *w, int64_t id,
    const char *name, long duration, long buffer, int64_t price, int retired,
    struct rv_err *e);
int service_list(sqlite3 *db, int all, int (*fn)(json_t *rec, void *arg),
    void *arg, struct rv_err *e);

/* ---- domain: consents (consent.c) ---- */

extern const char *const consent_purposes[];	/* NULL-terminated */
int consent_granted(sqlite3 *db, int64_t client_id, const char *purpose,
    int *granted, struct rv_err *e);

/* ---- domain: appointments (appt.c) ---- */

struct appt_req {
	int64_t id;	/* when moving: the appointment itself */
	int64_t client_id, service_id, staff_id;	/* staff 0: first free */
	int64_t start;
	const char *notes;
	int unchanged;	/* out, moving: already there, nothing done */
};
int appt_book(sqlite3 *db, const struct rv_who *w, struct appt_req *r,
    int64_t *id, struct rv_err *e);
int appt_move(sqlite3 *db, const struct rv_who *w, struct appt_req *r,
    struct rv_err *e);
int appt_cancel(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e);
int appt_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e);
extern const struct rv_col appt_cols[];

struct appt_filter {
	int64_t from, to;	/* start in [from, to); 0: unbounded */
	int64_t client_id, staff_id;
	const char *status;
};
int appt_list(sqlite3 *db, const struct appt_filter *f,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);

struct slot_req {
	int64_t service_id, staff_id;	/* staff 0: every qualified one */
	int y, m, d, days;
	int64_t now, step;
};
int appt_slots(sqlite3 *db, const struct slot_req *r,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);
extern const struct rv_col slot_cols[];

int block_add(sqlite3 *db, const struct rv_who *w, int64_t staff_id,
    int64_t start, int64_t end, const char *title, int64_t *id,
    struct rv_err *e);
int block_remove(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e);
int event_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e);
int event_list(sqlite3 *db, int64_t staff_id, int64_t from, int64_t to,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);
extern const struct rv_col event_cols[];
/* Lists the live appointments of staff overlapping [start, end), their
 * buffers counted or not: booked or needs_review, what can still be moved
 * or cancelled. */
int appt_overlapping(sqlite3 *db, int64_t staff_id, int64_t start,
    int64_t end, int with_buffer, int (*fn)(json_t *rec, void *arg),
    void *arg, struct rv_err *e);
/* The live appointments of staff from `from` on that they could no longer
 * take (hours, services, active), each with the reason. */
int appt_stranded(sqlite3 *db, int64_t staff_id, int64_t from,
    int (*fn)(int64_t id, int64_t start, const char *why, void *arg),
    void *arg, struct rv_err *e);

#endif
