/* backup.h — encrypted snapshots of the database: create, read, restore. */
#ifndef RV_BACKUP_H
#define RV_BACKUP_H

#include <limits.h>

#include "riserva.h"

/*
 * A backup file: a 128-byte header (magic "RVBACKUP", format version,
 * chunk size, creation time, schema version, database size, a random salt,
 * a check value of the key), then the SQLite file in chunks of AES-256-GCM
 * under a key derived from the backup subkey and the salt; each chunk's
 * nonce is its number and a last-chunk flag, and the header is the
 * associated data of every chunk, so a changed, reordered, dropped or
 * cut-off chunk, or a changed header, does not authenticate.
 */
#define BACKUP_SUFFIX ".rvbak"

struct backup_hdr {
	uint32_t version, chunk;
	int64_t created, schema;
	uint64_t size;
	uint8_t salt[32];
	uint8_t keycheck[32];
	uint8_t raw[128];	/* as read or written: the chunks' AAD */
};

/* backup.dir, or $XDG_DATA_HOME/riserva/backups. */
int backup_dir(const struct rv_conf *c, char *buf, size_t n,
    struct rv_err *e);

/* A consistent snapshot of db (the online backup API: writers carry on),
 * encrypted into dir/riserva-<UTC time>.rvbak. *rec: the backup record. */
int backup_create(sqlite3 *db, const struct rv_who *w, const char *dir,
    json_t **rec, struct rv_err *e);

/* Lists the backups in dir (headers only), oldest first. */
int backup_list(const char *dir, int (*fn)(json_t *rec, void *arg),
    void *arg, struct rv_err *e);

/* Deletes the backups made before `before`, but never the newest one;
 * fn is told of each (with dry_run, nothing is deleted). */
int backup_prune(const char *dir, int64_t before, int dry_run,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e);

/* Decrypts every chunk in memory and checks the database's integrity and
 * the audit chain it holds. */
int backup_verify(const char *path, json_t **rec, struct rv_err *e);

/*
 * Decrypts path into a new file beside target, checks it, and only then
 * gives it target's name: a damaged, tampered or truncated backup leaves
 * nothing behind (EX_DATAERR), and an existing target is never touched
 * (EX_CANTCREAT). Between the check and the rename, reerase (when not
 * NULL) is given the restored database and the backup's time, to make
 * again the erasures recorded after it (the erasure journal of gdpr-erase:
 * not wired yet), and the restore is audited in the restored database.
 */
struct backup_restore_opts {
	int (*reerase)(sqlite3 *restored, int64_t since, json_t *report,
	    void *arg, struct rv_err *e);
	void *arg;
};
int backup_restore(const char *path, const char *target,
    const struct rv_who *w, const struct backup_restore_opts *o,
    json_t **rec, struct rv_err *e);

#endif
