/* export.h — everything held about a client, as one document (GDPR art.
 * 15), or the part they provided, machine-readable (art. 20). */
#ifndef RV_EXPORT_H
#define RV_EXPORT_H

#include "riserva.h"

/*
 * The document (type "export", schema share/riserva/schema/export.schema.json):
 * id is the audit row that records the export, then client_id, portable,
 * generated, and the sections in this order. Every section is an array of
 * flat objects with fixed keys (export_sections[].cols), except header
 * (nested: what art. 15(1) and (2) require) and identity (one object).
 */
struct export_section {
	const char *name;
	const char *const *cols;	/* the full export's keys */
	const char *const *portable;	/* art. 20's; NULL: left out */
};
extern const struct export_section export_sections[];

/*
 * Builds the document of one client in the caller's write transaction and
 * audits it there: a "client.export" row naming the sections, with
 * w->reason, and a "health.read" row when health data was decrypted (the
 * field key is read only then). The audit section includes those rows.
 */
int export_client(sqlite3 *db, const struct rv_who *w,
    const struct rv_conf *conf, int64_t client_id, int portable, json_t **doc,
    struct rv_err *e);

/*
 * Writes a document into dir (made 0700 if missing): as CSV, one file per
 * section in dir/client-<id>/ (header as key,value rows, UTF-8, RFC 4180
 * quoting, a header row even when a section is empty); else as
 * dir/client-<id>.json. Never overwrites: EX_CANTCREAT if it exists.
 */
int export_write(json_t *doc, const char *dir, int csv, struct rv_err *e);

#endif
