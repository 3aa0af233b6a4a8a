/*
 * keys.c — the master key as the database knows it: its fingerprint is
 * stored on first use, so a missing or different key file is caught before
 * anything is decrypted, and a new key is never made for old data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "riserva.h"
#include "banned.h"

static const char check_label[] = "riserva key check";

static void
fingerprint(const uint8_t master[RV_KEY_LEN], char hex[65])
{
	uint8_t k[RV_KEY_LEN], mac[32];

	crypt_derive(master, RV_KEY_CHECK, k);
	crypt_hmac(k, check_label, sizeof(check_label) - 1, mac);
	crypt_hex(mac, sizeof(mac), hex);
	rv_wipe(k, sizeof(k));
}

/* Whether anything here was sealed or MACed under a key: with no
 * fingerprint stored (a meta table lost or emptied) this is the only
 * witness that a new key would orphan it. */
static int
sealed_data(sqlite3 *db, int *found, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM client_health) OR "
	    "EXISTS (SELECT 1 FROM gcal_account) OR "
	    "EXISTS (SELECT 1 FROM audit WHERE mac IS NOT NULL)";
	int64_t v = 0;
	int rc;

	rc = db_int(db, sql, 0, &v, NULL, e);
	*found = rc == 0 && v != 0;
	return rc;
}

/*
 * may_create: a key file may be made when the database names none. Reading
 * what is already sealed never may: with no fingerprint stored there is
 * nothing a fresh key could open.
 */
static int
subkey(sqlite3 *db, int purpose, int may_create, uint8_t out[RV_KEY_LEN],
    int *created, struct rv_err *e)
{
	uint8_t master[RV_KEY_LEN];
	char *stored = NULL, fp[65];
	int rc, sealed = 0;

	if (created != NULL)
		*created = 0;
	if ((rc = db_meta_get(db, "key_check", &stored, e)) != 0)
		return rc;
	if (stored == NULL && (rc = sealed_data(db, &sealed, e)) != 0)
		return rc;
	if (stored == NULL && !sealed && !may_create)
		return rv_fail(e, EX_CONFIG,
		    "the database names no key: nothing was ever encrypted in "
		    "it");
	rc = crypt_key_read(stored == NULL && !sealed, master, created, e);
	if (rc != 0) {
		struct stat st;

		/* A key that is gone is to be restored, not made anew; one in
		 * the wrong mode has its own fix in the message already. */
		if ((stored != NULL || sealed) &&
		    stat(crypt_key_path(), &st) < 0 && errno == ENOENT) {
			char msg[sizeof(e->msg)];

			snprintf(msg, sizeof(msg), "%s", e->msg);
			rv_fail(e, rc, "%s; the database holds data encrypted "
			    "with it: restore the key file from your backup "
			    "(a new key cannot read it)", msg);
		}
		goto out;
	}
	fingerprint(master, fp);
	if (stored == NULL)
		rc = db_meta_set(db, "key_check", fp, e);
	else if (strcmp(stored, fp) != 0)
		rc = rv_fail(e, EX_CONFIG,
		    "key file %s is not the key this database was encrypted "
		    "with", crypt_key_path());
	if (rc == 0)
		crypt_derive(master, purpose, out);
out:
	rv_wipe(master, sizeof(master));
	free(stored);
	return rc;
}

int
keys_get(sqlite3 *db, int purpose, uint8_t out[RV_KEY_LEN], int *created,
    struct rv_err *e)
{
	return subkey(db, purpose, 1, out, created, e);
}

int
keys_get_existing(sqlite3 *db, int purpose, uint8_t out[RV_KEY_LEN],
    struct rv_err *e)
{
	return subkey(db, purpose, 0, out, NULL, e);
}
