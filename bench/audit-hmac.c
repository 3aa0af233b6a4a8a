/*
 * audit-hmac.c — the floor for `audit verify`: the same HMACs over the same
 * bytes, in a plain loop. Reads every audit row of DB and encodes it as the
 * chain does (not timed), then times one HMAC-SHA256 per row with the
 * audit key, each over the previous MAC and the row. Prints the seconds.
 * usage: audit-hmac DB
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "riserva.h"
#include "audit.h"
#include "mac.h"
#include "banned.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	static const char sql[] =
	    "SELECT id, at, actor, tool, action, client_id, ref, fields, "
	    "reason, mac FROM audit ORDER BY id";
	struct rv_err e = { 0 };
	struct rv_buf b = { 0 };
	uint8_t key[RV_KEY_LEN], prev[RV_MAC_LEN], mac[RV_MAC_LEN];
	size_t *off, n = 0, cap = 1 << 20, i, bad = 0;
	sqlite3_stmt *st;
	struct rv_mac *m;
	char *all = NULL;
	size_t alen = 0, acap = 0;
	sqlite3 *db;
	double t0;

	if (argc != 2 || db_open(argv[1], 5000, &db, &e) != 0 ||
	    keys_get(db, RV_KEY_AUDIT, key, NULL, &e) != 0 ||
	    db_prepare(db, sql, &st, &e) != 0) {
		fprintf(stderr, "audit-hmac: %s\n", e.msg[0] ? e.msg :
		    "usage: audit-hmac DB");
		return 1;
	}
	off = xmalloc((cap + 1) * sizeof(*off));
	/* Every row's bytes, as verify hashes them, one after the other;
	 * the previous MAC inside each is the stored one. */
	memset(prev, 0, sizeof(prev));
	while (sqlite3_step(st) == SQLITE_ROW) {
#define T(i) (const char *)sqlite3_column_text(st, i), \
	(size_t)sqlite3_column_bytes(st, i)
		audit_encode(&b, prev, sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1), T(2), T(3), T(4),
		    sqlite3_column_int64(st, 5), T(6), T(7), T(8));
#undef T
		if (sqlite3_column_bytes(st, 9) == RV_MAC_LEN)
			memcpy(prev, sqlite3_column_blob(st, 9), RV_MAC_LEN);
		if (n == cap) {
			cap *= 2;
			off = xrealloc(off, (cap + 1) * sizeof(*off));
		}
		if (alen + b.len > acap) {
			acap = (alen + b.len) * 2;
			all = xrealloc(all, acap);
		}
		off[n++] = alen;
		memcpy(all + alen, b.s, b.len);
		alen += b.len;
	}
	off[n] = alen;
	sqlite3_finalize(st);
	m = mac_new(key, sizeof(key));
	t0 = now();
	for (i = 0; i < n; i++) {
		mac_run(m, all + off[i], off[i + 1] - off[i], mac);
		bad += mac[0] == 0x5a;	/* keeps the loop from being elided */
	}
	printf("%.6f\n", now() - t0);
	fprintf(stderr, "audit-hmac: %zu rows, %zu bytes (%zu)\n", n, alen,
	    bad);
	mac_free(m);
	free(all);
	free(off);
	buf_free(&b);
	db_close(db);
	return 0;
}
