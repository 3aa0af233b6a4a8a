/*
 * export.c — a client's data as one document: what art. 15 entitles them
 * to know, then every section held about them; or, for art. 20, what they
 * provided. In JSON, or as CSV files, one per section.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consent.h"
#include "export.h"
#include "fiscal.h"
#include "health.h"
#include "policy.h"
#include "request.h"
#include "restrict.h"
#include "banned.h"

static const char *const identity_cols[] = { "id", "name", "surname",
	"email", "phone", "birth", "locale", "notes", "restricted",
	"restricted_at", "restricted_reason", "created", "updated", NULL };
static const char *const identity_portable[] = { "name", "surname", "email",
	"phone", "birth", "locale", NULL };
static const char *const appt_cols_x[] = { "id", "start", "end", "status",
	"service_id", "service_name", "staff_id", "staff_name", "notes",
	"version", "created", "updated", "cancelled", "cancel_reason", NULL };
static const char *const appt_portable[] = { "id", "start", "end", "status",
	"service_name", "staff_name", NULL };
static const char *const consent_cols_x[] = { "id", "purpose", "action", "at",
	"method", "policy_version", "actor", "evidence", "ip", NULL };
static const char *const consent_portable[] = { "purpose", "action", "at",
	"method", "policy_version", NULL };
static const char *const policy_cols_x[] = { "version", "effective", "url",
	"sha256", NULL };
static const char *const message_cols_x[] = { "id", "kind",
	"appointment_id", "ref", "status", "recipient", "created", "sent",
	"content", NULL };
static const char *const event_cols_x[] = { "id", "appointment_id",
	"staff_id", "start", "end", "source", "title", "created", NULL };
static const char *const google_cols_x[] = { "id", "appointment_id",
	"staff_id", "google_id", "state", "created", "updated", NULL };
static const char *const fiscal_cols_x[] = { "id", "number", "issued",
	"appointment_id", "name", "surname", "tax_code", "service",
	"service_date", "price_cents", "amount_cents", "method", "hold_until",
	NULL };
static const char *const request_cols_x[] = { "id", "kind", "received",
	"due", "status", "channel", "notes", "extended", "extend_reason",
	"closed", "outcome", "close_reason", NULL };
static const char *const breach_cols_x[] = { "breach_id", "detected",
	"risk", "linked", "notified", NULL };
static const char *const audit_cols_x[] = { "id", "at", "actor", "tool",
	"action", "ref", "fields", "reason", NULL };
static const char *const health_cols[] = { "text", "updated", NULL };

/* In the document's order. header and identity are objects. */
const struct export_section export_sections[] = {
	{ "header", NULL, NULL },
	{ "identity", identity_cols, identity_portable },
	{ "appointments", appt_cols_x, appt_portable },
	{ "consents", consent_cols_x, consent_portable },
	{ "policies", policy_cols_x, NULL },
	{ "messages", message_cols_x, NULL },
	{ "calendar_events", event_cols_x, NULL },
	{ "google_events", google_cols_x, NULL },
	{ "fiscal", fiscal_cols_x, NULL },
	{ "requests", request_cols_x, NULL },
	{ "breaches", breach_cols_x, NULL },
	{ "audit", audit_cols_x, NULL },
	{ "health", health_cols, health_cols },
	{ NULL, NULL, NULL },
};

static const struct export_section *
section(const char *name)
{
	const struct export_section *s;

	for (s = export_sections; s->name != NULL; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* A record cut down to the section's keys, in their order; released. */
static json_t *
project(json_t *rec, const char *const *cols)
{
	json_t *r = json_object(), *v;
	size_t i;

	for (i = 0; cols[i] != NULL; i++) {
		v = json_object_get(rec, cols[i]);
		json_object_set(r, cols[i], v != NULL ? v : json_null());
	}
	json_decref(rec);
	return r;
}

struct collect {
	json_t *list;
	const char *const *cols;
};

static int
collect_rec(json_t *rec, void *arg)
{
	struct collect *c = arg;

	json_array_append_new(c->list, project(rec, c->cols));
	return 0;
}

/* ---- the header: art. 15(1)(a)-(h) and 15(2) ---- */

/* Texts in the two languages the centre speaks; the client's is used. */
struct text {
	const char *en, *it;
};
#define T(lang, t) ((lang) ? (t).it : (t).en)

static const struct {
	const char *id, *basis;
	struct text what;
	const char *categories;
} purposes[] = {
	{ "bookings", "contract (GDPR art. 6(1)(b))",
	  { "Booking and carrying out the services you ask for",
	    "Prenotare ed eseguire i servizi richiesti" },
	  "identity,contact,appointments" },
	{ "reminders", "consent (GDPR art. 6(1)(a))",
	  { "Reminders before appointments and notices of changes",
	    "Promemoria prima degli appuntamenti e avvisi di modifiche" },
	  "contact,appointments,messages" },
	{ "health", "explicit consent (GDPR art. 9(2)(a))",
	  { "Keeping allergy and health information so that treatments are "
	    "safe", "Conservare informazioni su allergie e salute perché i "
	    "trattamenti siano sicuri" },
	  "health" },
	{ "marketing", "consent (GDPR art. 6(1)(a))",
	  { "News and offers by email", "Novità e offerte via email" },
	  "contact" },
	{ "calendar", "legitimate interest (GDPR art. 6(1)(f))",
	  { "Showing bookings in the staff's calendars",
	    "Mostrare le prenotazioni nei calendari del personale" },
	  "appointments,calendar" },
	{ "fiscal", "legal obligation (GDPR art. 6(1)(c))",
	  { "Issuing receipts and keeping the accounting records the law "
	    "requires", "Emettere ricevute e conservare le scritture "
	    "contabili previste dalla legge" },
	  "identity,fiscal" },
	{ "accountability", "legal obligation (GDPR art. 6(1)(c), 5(2))",
	  { "Showing that your data is handled lawfully: consent records, "
	    "the register of your requests, the audit trail",
	    "Dimostrare che i dati sono trattati lecitamente: registro dei "
	    "consensi, delle richieste e delle operazioni" },
	  "consents,requests,breaches,audit" },
};

static const struct {
	const char *id;
	struct text what;
} categories[] = {
	{ "identity", { "name, surname, date of birth, language",
	    "nome, cognome, data di nascita, lingua" } },
	{ "contact", { "email address and phone number",
	    "indirizzo email e numero di telefono" } },
	{ "appointments", { "bookings: when, which service, with whom, notes",
	    "prenotazioni: quando, quale servizio, con chi, note" } },
	{ "health", { "health and allergy notes (special category, art. 9)",
	    "note su salute e allergie (categoria particolare, art. 9)" } },
	{ "consents", { "the consents you gave or withdrew, and under which "
	    "privacy policy", "i consensi dati o revocati, e con quale "
	    "informativa" } },
	{ "messages", { "the emails sent to you", "le email inviate" } },
	{ "calendar", { "calendar entries of your bookings",
	    "voci di calendario delle prenotazioni" } },
	{ "fiscal", { "receipts: number, date, service, amount, tax code",
	    "ricevute: numero, data, servizio, importo, codice fiscale" } },
	{ "requests", { "the requests you made about your data",
	    "le richieste fatte sui propri dati" } },
	{ "breaches", { "the data breaches that affected you, and when you "
	    "were told", "le violazioni di dati che hanno riguardato "
	    "l'interessato, e quando è stato avvisato" } },
	{ "audit", { "who accessed or changed your data, when and why",
	    "chi ha consultato o modificato i dati, quando e perché" } },
};

static const struct {
	const char *id, *article;
	struct text what;
} rights[] = {
	{ "access", "15", { "to get a copy of your data (this document)",
	    "ottenere copia dei propri dati (questo documento)" } },
	{ "rectification", "16", { "to have inaccurate data corrected",
	    "far correggere i dati inesatti" } },
	{ "erasure", "17", { "to have your data erased, except what the law "
	    "makes us keep", "far cancellare i dati, salvo quelli che la "
	    "legge impone di conservare" } },
	{ "restriction", "18", { "to have processing restricted",
	    "ottenere la limitazione del trattamento" } },
	{ "portability", "20", { "to receive the data you provided in a "
	    "machine-readable form", "ricevere i dati forniti in un formato "
	    "leggibile da dispositivo automatico" } },
	{ "objection", "21", { "to object to processing based on legitimate "
	    "interest", "opporsi al trattamento basato sul legittimo "
	    "interesse" } },
	{ "withdrawal", "7(3)", { "to withdraw a consent at any time, as "
	    "easily as it was given", "revocare un consenso in ogni momento, "
	    "con la stessa facilità con cui è stato dato" } },
	{ "complaint", "77", { "to lodge a complaint with a supervisory "
	    "authority", "proporre reclamo a un'autorità di controllo" } },
};

/* "a,b,c" as ["a","b","c"]. */
static json_t *
words(const char *s)
{
	json_t *a = json_array();
	const char *end;

	for (; *s; s = *end ? end + 1 : end) {
		end = s + strcspn(s, ",");
		json_array_append_new(a, json_stringn(s, (size_t)(end - s)));
	}
	return a;
}

static json_t *
controller(const struct rv_conf *conf)
{
	static const char *const keys[] = { "name", "address", "email",
		"phone", "url", "dpo", NULL };
	json_t *c = json_object();
	char key[32];
	const char *v;
	size_t i;

	for (i = 0; keys[i] != NULL; i++) {
		snprintf(key, sizeof(key), "clinic.%s", keys[i]);
		v = conf_get(conf, key);
		json_object_set_new(c, keys[i], v != NULL && *v != '\0' ?
		    json_string(v) : json_null());
	}
	return c;
}

/* The host of a URL, for naming a mail server without its credentials. */
static void
url_host(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://"), *at, *end;

	p = p != NULL ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	/* user:password@ is never shown. */
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL)
		p = at + 1;
	snprintf(out, n, "%.*s", (int)(end - p), p);
}

static json_t *
recipients(const struct rv_conf *conf, int it)
{
	static const struct text sg = { "sends the centre's emails: your "
	    "email address, name and what the message says",
	    "invia le email del centro: indirizzo email, nome e contenuto del "
	    "messaggio" };
	static const struct text smtp = { "the mail server that sends the "
	    "centre's emails", "il server di posta che invia le email del "
	    "centro" };
	static const struct text gc = { "the staff's calendars: the service, "
	    "the time, your first name and initial; never health data or "
	    "notes", "i calendari del personale: servizio, orario, nome e "
	    "iniziale del cognome; mai dati sanitari o note" };
	static const char dpf[] = "EU-US Data Privacy Framework (GDPR art. 45) "
	    "and standard contractual clauses (art. 46(2)(c))";
	const char *transport = conf_get(conf, "mail.transport");
	const char *gid = conf_get(conf, "google.client_id");
	json_t *a = json_array();
	char host[256];

	if (strcmp(transport, "sendgrid") == 0)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}",
		    "name", "SendGrid (Twilio Inc.)", "role", T(it, sg),
		    "country", "United States", "safeguards", dpf));
	else if (strcmp(transport, "smtp") == 0) {
		url_host(conf_get(conf, "mail.url"), host, sizeof(host));
		json_array_append_new(a, json_pack("{s:s, s:s, s:n, s:n}",
		    "name", host, "role", T(it, smtp), "country",
		    "safeguards"));
	} else if (strcmp(transport, "sendmail") == 0) {
		/* The machine's own mail system hands them on. */
		json_array_append_new(a, json_pack("{s:s, s:s, s:n, s:n}",
		    "name", "sendmail", "role", T(it, smtp), "country",
		    "safeguards"));
	}
	if (gid != NULL && *gid != '\0')
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}",
		    "name", "Google Calendar (Google LLC)", "role", T(it, gc),
		    "country", "United States", "safeguards", dpf));
	return a;
}

static json_t *
retention(const struct rv_conf *conf, int it)
{
	static const struct {
		const char *key;
		struct text term;
	} terms[] = {
		{ "retention.client_months", { "client data: %s months after "
		    "your last appointment (from when you were added, if you "
		    "never had one)", "dati del cliente: %s mesi dopo l'ultimo "
		    "appuntamento (dalla registrazione, se non ce ne sono)" } },
		{ "retention.health_months", { "health data: %s months after "
		    "your last appointment, or at once when you withdraw the "
		    "consent", "dati sanitari: %s mesi dopo l'ultimo "
		    "appuntamento, o subito alla revoca del consenso" } },
		{ "retention.fiscal_years", { "fiscal records: until the end "
		    "of their %sth year, as the law requires", "documenti "
		    "fiscali: fino alla fine del %s° anno, come impone la "
		    "legge" } },
		{ "retention.audit_months", { "audit entries: %s months",
		    "registro delle operazioni: %s mesi" } },
		{ "retention.backup_days", { "backups: %s days",
		    "copie di sicurezza: %s giorni" } },
	};
	json_t *a = json_array();
	struct rv_buf b = { 0 };
	size_t i;

	for (i = 0; i < sizeof(terms) / sizeof(terms[0]); i++) {
		const char *t = T(it, terms[i].term);
		const char *at = strstr(t, "%s");

		buf_reset(&b);
		buf_add(&b, t, (size_t)(at - t));
		buf_adds(&b, conf_get(conf, terms[i].key));
		buf_adds(&b, at + 2);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}",
		    "setting", terms[i].key, "value",
		    conf_get(conf, terms[i].key), "term", b.s));
	}
	buf_free(&b);
	return a;
}

static json_t *
header(const struct rv_conf *conf, const char *lang, int portable)
{
	static const struct text source = { "You gave this data when you "
	    "booked and at your visits; appointment notes and records are "
	    "written by the centre's staff.", "I dati sono stati forniti "
	    "dall'interessato alla prenotazione e durante le visite; note e "
	    "registrazioni sono scritte dal personale del centro." };
	static const struct text none = { "none: no decision about you is "
	    "made by automated means alone", "nessuno: nessuna decisione "
	    "viene presa con mezzi esclusivamente automatizzati" };
	static const struct text port = { "The data you provided, in a "
	    "structured, machine-readable form (GDPR art. 20).", "I dati "
	    "forniti dall'interessato, in un formato strutturato e leggibile "
	    "da dispositivo automatico (GDPR art. 20)." };
	static const struct text full = { "A copy of the personal data the "
	    "centre holds about you (GDPR art. 15).", "Copia dei dati "
	    "personali che il centro conserva sull'interessato (GDPR art. "
	    "15)." };
	int it = strcmp(lang, "it") == 0;
	const char *juris = conf_get(conf, "clinic.jurisdiction");
	json_t *h = json_object(), *a;
	size_t i;

	json_object_set_new(h, "language", json_string(lang));
	json_object_set_new(h, "description", json_string(portable ?
	    T(it, port) : T(it, full)));
	json_object_set_new(h, "controller", controller(conf));
	if (portable)
		return h;
	a = json_array();
	for (i = 0; i < sizeof(purposes) / sizeof(purposes[0]); i++) {
		if (strcmp(purposes[i].id, "calendar") == 0 &&
		    *conf_get(conf, "google.client_id") == '\0')
			continue;
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o}",
		    "purpose", purposes[i].id, "description",
		    T(it, purposes[i].what), "legal_basis", purposes[i].basis,
		    "categories", words(purposes[i].categories)));
	}
	json_object_set_new(h, "purposes", a);
	a = json_array();
	for (i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "category",
		    categories[i].id, "description",
		    T(it, categories[i].what)));
	json_object_set_new(h, "categories", a);
	json_object_set_new(h, "recipients", recipients(conf, it));
	json_object_set_new(h, "retention", retention(conf, it));
	a = json_array();
	for (i = 0; i < sizeof(rights) / sizeof(rights[0]); i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "right",
		    rights[i].id, "article", rights[i].article, "description",
		    T(it, rights[i].what)));
	json_object_set_new(h, "rights", a);
	json_object_set_new(h, "supervisory_authority", json_string(
	    strcmp(juris, "IT") == 0 ? "Garante per la protezione dei dati "
	    "personali, https://www.garanteprivacy.it" : it ?
	    "l'autorità di controllo del proprio paese" :
	    "the supervisory authority of your country"));
	json_object_set_new(h, "source", json_string(T(it, source)));
	json_object_set_new(h, "automated_decisions",
	    json_string(T(it, none)));
	return h;
}

/* ---- the sections ---- */

static int
policies(sqlite3 *db, int64_t now, json_t *consents, json_t *out,
    struct rv_err *e)
{
	const char *v;
	json_t *c, *rec;
	size_t i, k;
	int rc;

	json_array_foreach(consents, i, c) {
		if ((v = json_string_value(json_object_get(c,
		    "policy_version"))) == NULL)
			continue;
		for (k = 0; k < i; k++)
			if (json_equal(json_object_get(json_array_get(consents,
			    k), "policy_version"), json_object_get(c,
			    "policy_version")))
				break;
		if (k < i)
			continue;
		if ((rc = policy_get(db, v, now, &rec, e)) != 0)
			return rc;
		json_array_append_new(out, project(rec, policy_cols_x));
	}
	return 0;
}

static int
events(sqlite3 *db, int64_t client_id, json_t *out, struct rv_err *e)
{
	/* Those of their bookings, and blocks whose title names them (as
	 * gdpr-erase finds them). */
	static const char sql[] =
	    "SELECT e.id, e.appointment_id, e.staff_id, e.start, e.end, "
	    "e.source, e.title, e.created FROM event e "
	    "JOIN appointment a ON a.id = e.appointment_id "
	    "WHERE a.client_id = ?1 "
	    "UNION ALL "
	    "SELECT e.id, e.appointment_id, e.staff_id, e.start, e.end, "
	    "e.source, e.title, e.created FROM event e, client c "
	    "WHERE c.id = ?1 AND e.source <> 'booking' AND e.title IS NOT NULL "
	    "AND rv_names_client(e.title, c.surname, c.email) "
	    "ORDER BY 4, 1";
	static const struct rec_field f[] = {
		{ "id", 'i' },
		{ "appointment_id", 'i' },
		{ "staff_id", 'i' },
		{ "start", 'T' },
		{ "end", 'T' },
		{ "source", 't' },
		{ "title", 't' },
		{ "created", 'T' },
		{ NULL, 0 },
	};

	return rec_rows(db, sql, client_id, f, out, e);
}

/* What was sent to them, or is waiting to be: a notice's texts as
 * "content" (appointment messages are rendered from the appointment). */
static int
messages(sqlite3 *db, int64_t client_id, json_t *out, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, kind, appointment_id, ref, status, recipient, created, "
	    "sent, data FROM message WHERE client_id = ? ORDER BY id";
	sqlite3_stmt *st;
	json_t *r, *content;
	const char *data;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = json_object();
		rec_col_int(r, "id", st, 0);
		rec_col_text(r, "kind", st, 1);
		rec_col_int(r, "appointment_id", st, 2);
		if (sqlite3_column_bytes(st, 3) > 0)
			rec_col_text(r, "ref", st, 3);
		else
			json_object_set_new(r, "ref", json_null());
		rec_col_text(r, "status", st, 4);
		rec_col_text(r, "recipient", st, 5);
		rec_col_time(r, "created", st, 6);
		rec_col_time(r, "sent", st, 7);
		data = (const char *)sqlite3_column_text(st, 8);
		content = data != NULL ? json_loads(data, 0, NULL) : NULL;
		json_object_set_new(r, "content", json_is_object(content) ?
		    content : json_null());
		if (content != NULL && !json_is_object(content))
			json_decref(content);
		json_array_append_new(out, r);
	}
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "messages");
	sqlite3_finalize(st);
	return rc;
}

/* The copies of their bookings on the operators' Google Calendars. */
static int
google_events(sqlite3 *db, int64_t client_id, json_t *out, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT l.id, l.appointment_id, l.staff_id, l.google_id, l.state, "
	    "l.created, l.updated FROM gcal_link l "
	    "JOIN appointment a ON a.id = l.appointment_id "
	    "WHERE a.client_id = ? ORDER BY l.id";
	static const struct rec_field f[] = {
		{ "id", 'i' },
		{ "appointment_id", 'i' },
		{ "staff_id", 'i' },
		{ "google_id", 't' },
		{ "state", 't' },
		{ "created", 'T' },
		{ "updated", 'T' },
		{ NULL, 0 },
	};

	return rec_rows(db, sql, client_id, f, out, e);
}

/* The register's entries that name them: which breach, how serious,
 * when they were found affected and when told. What the breach was and
 * whom else it touched is the centre's record, not theirs. */
static int
breaches(sqlite3 *db, int64_t client_id, json_t *out, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT b.id, b.detected, b.risk, s.linked, s.notified "
	    "FROM breach_subject s JOIN breach b ON b.id = s.breach_id "
	    "WHERE s.client_id = ? ORDER BY b.id";
	static const struct rec_field f[] = {
		{ "breach_id", 'i' },
		{ "detected", 'T' },
		{ "risk", 't' },
		{ "linked", 'T' },
		{ "notified", 'T' },
		{ NULL, 0 },
	};

	return rec_rows(db, sql, client_id, f, out, e);
}

static int
audit_rows(sqlite3 *db, int64_t client_id, json_t *out, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT id, at, actor, tool, action, ref, fields, reason "
	    "FROM audit WHERE " AUDIT_ABOUT_CLIENT("?1") " ORDER BY id";
	static const struct rec_field f[] = {
		{ "id", 'i' },
		{ "at", 'T' },
		{ "actor", 't' },
		{ "tool", 't' },
		{ "action", 't' },
		{ "ref", 't' },
		{ "fields", 't' },
		{ "reason", 't' },
		{ NULL, 0 },
	};

	return rec_rows(db, sql, client_id, f, out, e);
}

/* Decrypted only when there is something to decrypt: a client without
 * health data is exported without the key file. */
static int
health(sqlite3 *db, int64_t client_id, json_t **out, struct rv_err *e)
{
	uint8_t key[RV_KEY_LEN];
	char *text = NULL;
	size_t n = 0;
	int64_t updated = 0;
	int exists, rc;

	*out = json_array();
	if ((rc = health_exists(db, client_id, &exists, e)) != 0 || !exists)
		return rc;
	if ((rc = keys_get_existing(db, RV_KEY_FIELD, key, e)) != 0)
		return rc;
	rc = health_get(db, key, client_id, &text, &n, &updated, e);
	rv_wipe(key, sizeof(key));
	if (rc != 0 || text == NULL)
		return rc;
	json_array_append_new(*out, json_object());
	json_object_set_new(json_array_get(*out, 0), "text",
	    json_stringn(text, n));
	rec_time(json_array_get(*out, 0), "updated", updated);
	health_free(text, n);
	return 0;
}

static void
keep(json_t *doc, const char *name, json_t *v, int portable)
{
	const struct export_section *s = section(name);

	if (portable && s->portable == NULL) {
		json_decref(v);
		return;
	}
	json_object_set_new(doc, name, v);
}

/* Cuts every section down to the art. 20 subset. */
static void
portable_cut(json_t *doc)
{
	const struct export_section *s;
	json_t *v, *x;
	size_t i;

	for (s = export_sections; s->name != NULL; s++) {
		if (s->cols == NULL || (v = json_object_get(doc, s->name)) ==
		    NULL)
			continue;
		if (json_is_object(v)) {
			json_object_set_new(doc, s->name,
			    project(json_incref(v), s->portable));
			continue;
		}
		json_array_foreach(v, i, x)
			json_array_set_new(v, i, project(json_incref(x),
			    s->portable));
	}
}

int
export_client(sqlite3 *db, const struct rv_who *w,
    const struct rv_conf *conf, int64_t client_id, int portable, json_t **doc,
    struct rv_err *e)
{
	struct appt_filter af = { 0 };
	struct fiscal_filter ff = { 0 };
	struct request_filter rf = { 0 };
	struct collect c;
	struct rv_buf fields = { 0 };
	json_t *d = NULL, *ident = NULL, *list, *h = NULL, *aud;
	const struct export_section *s;
	const char *lang;
	char ref[32];
	int64_t audit_id;
	int rc;

	*doc = NULL;
	if ((rc = client_get(db, client_id, &ident, e)) != 0 ||
	    (rc = client_restriction(db, ident, e)) != 0)
		goto out;
	lang = json_string_value(json_object_get(ident, "locale"));
	d = json_object();
	json_object_set_new(d, "type", json_string("export"));
	json_object_set_new(d, "id", json_null());
	json_object_set_new(d, "client_id", json_integer(client_id));
	json_object_set_new(d, "portable", json_boolean(portable));
	rec_time(d, "generated", w->now);
	json_object_set_new(d, "header", header(conf, lang, portable));
	json_object_set_new(d, "identity", project(ident, identity_cols));
	ident = NULL;

	c.list = json_array();
	c.cols = appt_cols_x;
	af.client_id = client_id;
	rc = appt_list(db, &af, collect_rec, &c, e);
	keep(d, "appointments", c.list, portable);
	if (rc != 0)
		goto out;
	c.list = json_array();
	c.cols = consent_cols_x;
	rc = consent_history(db, client_id, collect_rec, &c, e);
	keep(d, "consents", c.list, portable);
	if (rc != 0)
		goto out;
	if (!portable) {
		list = json_array();
		json_object_set_new(d, "policies", list);
		if ((rc = policies(db, w->now, json_object_get(d, "consents"),
		    list, e)) != 0)
			goto out;
		list = json_array();
		json_object_set_new(d, "messages", list);
		if ((rc = messages(db, client_id, list, e)) != 0)
			goto out;
		list = json_array();
		json_object_set_new(d, "calendar_events", list);
		if ((rc = events(db, client_id, list, e)) != 0)
			goto out;
		list = json_array();
		json_object_set_new(d, "google_events", list);
		if ((rc = google_events(db, client_id, list, e)) != 0)
			goto out;
		c.list = json_array();
		c.cols = fiscal_cols_x;
		ff.client_id = client_id;
		rc = fiscal_list(db, &ff, collect_rec, &c, e);
		json_object_set_new(d, "fiscal", c.list);
		if (rc != 0)
			goto out;
		c.list = json_array();
		c.cols = request_cols_x;
		rf.now = w->now;
		rf.client_id = client_id;
		rf.due_within = -1;
		rc = request_list(db, &rf, collect_rec, &c, e);
		json_object_set_new(d, "requests", c.list);
		if (rc != 0)
			goto out;
		list = json_array();
		json_object_set_new(d, "breaches", list);
		if ((rc = breaches(db, client_id, list, e)) != 0)
			goto out;
	}
	if ((rc = health(db, client_id, &h, e)) != 0)
		goto out;
	if (portable)
		portable_cut(d);

	/* The export and the decryption are on the record before the
	 * document leaves; the audit section shows them too. */
	snprintf(ref, sizeof(ref), "client %lld", (long long)client_id);
	if (json_array_size(h) > 0 && (rc = audit_append(db, w, "health.read",
	    client_id, ref, "health", e)) != 0)
		goto out;
	for (s = export_sections + 1; s->name != NULL; s++) {
		if ((portable && s->portable == NULL) ||
		    (strcmp(s->name, "health") == 0 && json_array_size(h) == 0))
			continue;
		buf_adds(&fields, fields.len ? "," : "");
		buf_adds(&fields, s->name);
	}
	if ((rc = audit_append(db, w, portable ? "client.export_portable" :
	    "client.export", client_id, ref, fields.s, e)) != 0)
		goto out;
	audit_id = sqlite3_last_insert_rowid(db);
	json_object_set_new(d, "id", json_integer(audit_id));
	if (!portable) {
		aud = json_array();
		json_object_set_new(d, "audit", aud);
		if ((rc = audit_rows(db, client_id, aud, e)) != 0)
			goto out;
	}
	json_object_set_new(d, "health", h);
	h = NULL;
	*doc = d;
	d = NULL;
out:
	json_decref(ident);
	json_decref(d);
	json_decref(h);
	buf_free(&fields);
	return rc;
}

/* ---- files ---- */

static int
open_new(const char *path, FILE **fp, struct rv_err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	*fp = NULL;
	if (fd < 0)
		return rv_fail_errno(e, EX_CANTCREAT, "cannot create %s",
		    path);
	if ((*fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		return rv_fail_errno(e, EX_CANTCREAT, "cannot create %s",
		    path);
	}
	return 0;
}

static int
close_file(FILE *fp, const char *path, struct rv_err *e)
{
	int bad = ferror(fp) || fflush(fp) != 0 || fsync(fileno(fp)) != 0;

	if (fclose(fp) != 0 || bad)
		return rv_fail_errno(e, EX_IOERR, "cannot write %s", path);
	return 0;
}

/* The text of a value in a cell: strings as they are, the rest as JSON. */
static void
csv_value(FILE *fp, json_t *v)
{
	char *s;

	if (v == NULL || json_is_null(v))
		return;
	if (json_is_string(v)) {
		csv_field(fp, json_string_value(v));
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	csv_field(fp, s != NULL ? s : "");
	free(s);
}

/* header.csv: one "key,value" row per leaf, keys as dotted paths. */
static void
csv_flat(FILE *fp, const char *prefix, json_t *v)
{
	char key[256];
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			snprintf(key, sizeof(key), "%s%s%s", prefix,
			    *prefix ? "." : "", k);
			csv_flat(fp, key, x);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			snprintf(key, sizeof(key), "%s.%zu", prefix, i);
			csv_flat(fp, key, x);
		}
	} else {
		csv_field(fp, prefix);
		fputc(',', fp);
		csv_value(fp, v);
		fputc('\n', fp);
	}
}

static void
csv_row(FILE *fp, const char *const *cols, json_t *row)
{
	size_t k;

	for (k = 0; cols[k] != NULL; k++) {
		if (k > 0)
			fputc(',', fp);
		if (row == NULL)
			csv_field(fp, cols[k]);
		else
			csv_value(fp, json_object_get(row, cols[k]));
	}
	fputc('\n', fp);
}

/* The header row first, always; identity is a single row. */
static void
csv_table(FILE *fp, const char *const *cols, json_t *v)
{
	json_t *row;
	size_t i;

	csv_row(fp, cols, NULL);
	if (json_is_object(v)) {
		csv_row(fp, cols, v);
		return;
	}
	json_array_foreach(v, i, row)
		csv_row(fp, cols, row);
}

static int
write_csv(json_t *doc, const char *dir, struct rv_err *e)
{
	const struct export_section *s;
	int portable = json_is_true(json_object_get(doc, "portable"));
	char path[PATH_MAX];
	json_t *v;
	FILE *fp;
	int rc;

	for (s = export_sections; s->name != NULL; s++) {
		if ((v = json_object_get(doc, s->name)) == NULL)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s.csv", dir, s->name) >=
		    (int)sizeof(path))
			return rv_fail(e, EX_CANTCREAT, "path too long: %s",
			    dir);
		if ((rc = open_new(path, &fp, e)) != 0)
			return rc;
		if (s->cols == NULL) {
			fputs("key,value\n", fp);
			csv_flat(fp, "", v);
		} else {
			csv_table(fp, portable ? s->portable : s->cols, v);
		}
		if ((rc = close_file(fp, path, e)) != 0)
			return rc;
	}
	return 0;
}

int
export_write(json_t *doc, const char *dir, int csv, struct rv_err *e)
{
	char path[PATH_MAX];
	long long id = (long long)json_integer_value(json_object_get(doc,
	    "client_id"));
	FILE *fp;
	int rc, n;

	if ((rc = mkdir_parents(dir, 0700, e)) != 0)
		return rc;
	n = snprintf(path, sizeof(path), csv ? "%s/client-%lld" :
	    "%s/client-%lld.json", dir, id);
	if (n < 0 || (size_t)n >= sizeof(path) - 32)
		return rv_fail(e, EX_CANTCREAT, "path too long: %s", dir);
	if (csv) {
		if (mkdir(path, 0700) < 0)
			return rv_fail_errno(e, EX_CANTCREAT,
			    "cannot create %s", path);
		return write_csv(doc, path, e);
	}
	if ((rc = open_new(path, &fp, e)) != 0)
		return rc;
	n = json_dumpf(doc, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', fp);
	rc = close_file(fp, path, e);
	if (rc == 0 && n != 0)
		rc = rv_fail(e, EX_IOERR, "cannot write %s", path);
	return rc;
}
