/*
 * gcal_queue.c — the Google Calendar push outbox, written in the booking's
 * own transaction, and the erasure of pushed events. No libcurl here: book
 * and gdpr-erase link this.
 */
#include <stdlib.h>
#include <string.h>

#include "gcal.h"
#include "banned.h"

int
gcal_queue_appt(sqlite3 *db, const struct rv_who *w, int64_t appt_id,
    struct rv_err *e)
{
	/* An event left on another operator's calendar goes. */
	static const char moved[] =
	    "UPDATE gcal_link SET state = 'delete', updated = ?2 "
	    "WHERE appointment_id = ?1 AND state <> 'delete' AND staff_id <> "
	    "(SELECT staff_id FROM appointment WHERE id = ?1)";
	/* Reconcile on the operator's calendar when it is connected. */
	static const char queue[] =
	    "INSERT INTO gcal_outbox (appointment_id, queued) "
	    "SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM appointment a "
	    "JOIN gcal_account g ON g.staff_id = a.staff_id WHERE a.id = ?1) "
	    "ON CONFLICT (appointment_id) DO UPDATE SET "
	    "queued = excluded.queued, tries = 0, last_error = NULL";
	const char *sql[] = { moved, queue };
	sqlite3_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < 2; i++) {
		if ((rc = db_cached(db, sql[i], &st, e)) != 0)
			return rc;
		sqlite3_bind_int64(st, 1, appt_id);
		sqlite3_bind_int64(st, 2, w->now);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_fail(db, rc, e, "calendar outbox");
	}
	return 0;
}

int
gcal_forget_client(sqlite3 *db, const struct rv_who *w, int64_t client_id,
    int *n, struct rv_err *e)
{
	static const char mark[] =
	    "UPDATE gcal_link SET state = 'delete', appointment_id = NULL, "
	    "updated = ?2 WHERE appointment_id IN "
	    "(SELECT id FROM appointment WHERE client_id = ?1)";
	static const char unqueue[] =
	    "DELETE FROM gcal_outbox WHERE appointment_id IN "
	    "(SELECT id FROM appointment WHERE client_id = ?1)";
	sqlite3_stmt *st = NULL;
	char ref[40];
	int rc;

	*n = 0;
	if ((rc = db_prepare(db, mark, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	sqlite3_bind_int64(st, 2, w->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "calendar links");
	*n = sqlite3_changes(db);
	if ((rc = db_prepare(db, unqueue, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, e, "calendar outbox");
	if (*n == 0)
		return 0;
	snprintf(ref, sizeof(ref), "client %lld", (long long)client_id);
	return audit_append(db, w, "gcal.forget", client_id, ref,
	    "calendar_events", e);
}

static int
unhex8(const char *s, uint8_t out[8])
{
	int i, v;

	if (strlen(s) != 16)
		return 0;
	for (i = 0; i < 16; i++) {
		char c = s[i];

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
	return 1;
}

int
gcal_instance(sqlite3 *db, uint8_t out[8], struct rv_err *e)
{
	char *v = NULL, hex[17];
	int rc;

	if ((rc = db_meta_get(db, "gcal_instance", &v, e)) != 0)
		return rc;
	if (v != NULL && unhex8(v, out)) {
		free(v);
		return 0;
	}
	free(v);
	if ((rc = crypt_init(e)) != 0)
		return rc;
	crypt_random(out, 8);
	crypt_hex(out, 8, hex);
	return db_meta_set(db, "gcal_instance", hex, e);
}

/* RFC 4648 base32hex, lower case as Google wants, no padding: 20 bytes
 * make exactly 32 characters. */
void
gcal_event_id(const uint8_t instance[8], int64_t appt_id, int generation,
    char out[GCAL_ID_LEN + 1])
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuv";
	uint8_t b[20];
	uint64_t id = (uint64_t)appt_id;
	uint32_t gen = (uint32_t)generation;
	unsigned acc = 0;
	int bits = 0, i, n = 0;

	memcpy(b, instance, 8);
	for (i = 0; i < 8; i++)
		b[8 + i] = (uint8_t)(id >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		b[16 + i] = (uint8_t)(gen >> (24 - 8 * i));
	for (i = 0; i < 20; i++) {
		acc = ((acc << 8) | b[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			out[n++] = alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	out[n] = '\0';
}
