/*
 * erase.h — erasure (GDPR art. 17): how each table gives up a client's data,
 * the erasure itself, its receipts, and the journal that outlives backups.
 */
#ifndef RV_ERASE_H
#define RV_ERASE_H

#include "riserva.h"

/*
 * The registry. Every table of the schema has exactly one rule saying what
 * an erasure does to it; erase_open() refuses to run (EX_SOFTWARE, naming
 * the table) while a table has none, so a new table cannot be added
 * without deciding how a client's data in it is erased. The rules run in
 * their order, all in the caller's transaction, over the set of clients
 * being erased.
 */
enum erase_how {
	ERASE_DELETE,	/* the client's rows are deleted */
	ERASE_BLANK,	/* the rows stay; the columns named become NULL */
	ERASE_KEEP,	/* kept under an obligation until a date, unlinked */
	ERASE_NONE,	/* holds no client data */
};

struct erase_run;
struct erase_tally;

struct erase_rule {
	const char *table;
	enum erase_how how;
	const char *category;	/* the receipt's name for it; NULL: NONE */
	const char *columns;	/* the columns cleared (BLANK, or KEEP's
				 * unlinking), or deleted with the row */
	const char *what;	/* what happens to it, or why nothing does */
	const char *obligation;	/* KEEP: what requires keeping it */
	int (*apply)(struct erase_run *r, const struct rv_who *w,
	    struct erase_tally *t, size_t rule, struct rv_err *e);
};
extern const struct erase_rule erase_rules[];
extern const size_t erase_nrules;
#define ERASE_MAX_RULES 48

const char *erase_how_name(enum erase_how how);
/* The rules as records of type "erase_rule", in the order they run. */
int erase_rules_list(int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e);
/* EX_SOFTWARE naming the first table of db that has no rule. */
int erase_check_schema(sqlite3 *db, struct rv_err *e);

/* What one erasure (of one client, or of a batch) did. */
struct erase_journal_entry {
	int64_t id, client_id, created, erased;
};
struct erase_tally {
	int64_t clients;
	/* By rule: the rows deleted, blanked or kept; for KEEP, the last
	 * day one of them is kept. */
	int64_t rows[ERASE_MAX_RULES];
	int64_t until[ERASE_MAX_RULES];
	int64_t cancelled;	/* bookings ahead, cancelled first */
	int64_t fiscal_expired;	/* receipts past their hold: deleted */
	int64_t google;	/* events queued for deletion on Google */
	struct rv_ids requests_closed;	/* open erasure requests, done */
	struct rv_ids requests_open;	/* other open ones, unlinked */
	struct erase_journal_entry *journal;
	size_t njournal, capjournal;
};
void erase_tally_free(struct erase_tally *t);
/* Adds the counts and journal entries of from to to. */
void erase_tally_add(struct erase_tally *to, const struct erase_tally *from);

/*
 * A run: the schema checked against the registry, the working set and the
 * statements prepared. Open it before the transaction (it sets temp_store
 * to memory: even the ids being erased stay off the disk).
 */
int erase_open(sqlite3 *db, const struct rv_conf *conf, struct erase_run **out,
    struct rv_err *e);
void erase_close(struct erase_run *r);

/*
 * Erases the clients in ids, which must exist, in the caller's write
 * transaction: bookings ahead are cancelled (with their audit rows and
 * change hooks), then every rule runs over the set; each client gets a
 * journal row and a "client.erase" audit row naming the fields cleared,
 * with w->reason. Adds what was done to *t. Nothing is printed or written
 * outside the database: after the commit, the caller appends t->journal
 * to the journal file (erase_journal_write) and checkpoints the WAL.
 */
int erase_clients(struct erase_run *r, const struct rv_who *w,
    const int64_t *ids, size_t n, struct erase_tally *t, struct rv_err *e);

/*
 * The receipt of one client's erasure, from the tally of erasing that
 * client alone: type "receipt", kind "erasure", id the journal row (null
 * in a dry run), what was deleted, anonymized and kept (with the
 * obligation and until when), and the counts by table.
 */
json_t *erase_receipt(const struct rv_who *w, const struct erase_tally *t,
    int64_t client_id, int dry_run);

/* When a client id was erased: *erased 0 when it was not. */
int erase_journal_find(sqlite3 *db, int64_t client_id, int64_t *erased,
    struct rv_err *e);

/*
 * The journal file: the same rows as the table `erasure`, one JSON line
 * each, appended and synced after every erasure, so that it outlives the
 * database. Its path is erase.journal, or erasures.jsonl beside db_path.
 */
int erase_journal_path(const struct rv_conf *conf, const char *db_path,
    char *buf, size_t n, struct rv_err *e);
int erase_journal_write(const char *path, const struct erase_tally *t,
    struct rv_err *e);

/*
 * Makes again, in db, the erasures the journal file records: every client
 * it names who is still in db with the same creation time (so a later
 * client given the same id is never touched) is erased, in the caller's
 * write transaction, with the reason "replay of the erasure journal".
 * since: only entries erased after it (0: all). fn gets each receipt.
 * A missing file is no error: there is nothing to replay.
 */
int erase_replay(struct erase_run *r, const struct rv_who *w,
    const char *path, int64_t since, int dry_run,
    int (*fn)(json_t *receipt, void *arg), void *arg, size_t *replayed,
    struct rv_err *e);

/*
 * backup_restore()'s reerase step (lib/backup.h): in the restored database,
 * opened as a plain file, turns secure_delete and foreign keys on, brings
 * the schema up to date, and replays the whole journal file (every entry:
 * the creation times tell who is the same client, and an erasure made
 * while the backup was being taken is not missed), in one transaction.
 * report gets {"client_id", "summary"} for each client erased again.
 */
struct erase_reerase {
	const struct rv_who *w;
	const struct rv_conf *conf;
	const char *journal;
};
int erase_reerase(sqlite3 *db, int64_t since, json_t *report, void *arg,
    struct rv_err *e);

/* A fiscal record past its legal hold, deleted with its audit row
 * (fiscal.expire); EX_REFUSED while the hold stands on the real clock. */
int fiscal_expire(sqlite3 *db, const struct rv_who *w, int64_t id,
    struct rv_err *e);

/* The fields an erasure clears, as the audit row names them. */
const char *erase_fields(void);

/* t moved by n calendar months (n < 0: back), at the same local time of
 * day; a day the month lacks becomes its last day. */
int64_t tm_add_months(int64_t t, long n);

#endif
