/* consent.c — the consent ledger, its receipts and unsubscribe tokens. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "consent.h"
#include "health.h"
#include "outbox.h"
#include "policy.h"
#include "banned.h"

const char *const consent_purposes[] = { "reminders", "health", "marketing",
	NULL };

const char *const consent_methods[] = { "web", "paper", "email", "phone",
	"in-person", NULL };

const struct rv_col consent_cols[] = {
	{ "id", "ID", RV_COL_RIGHT },
	{ "client_id", "CLIENT", RV_COL_RIGHT },
	{ "at", "AT", RV_COL_TIME },
	{ "purpose", "PURPOSE", 0 },
	{ "action", "ACTION", 0 },
	{ "method", "METHOD", 0 },
	{ "policy_version", "POLICY", 0 },
	{ "actor", "ACTOR", 0 },
	{ "ip", "IP", 0 },
	{ "evidence", "EVIDENCE", 0 },
	{ NULL, NULL, 0 },
};

const struct rv_col consent_status_cols[] = {
	{ "client_id", "CLIENT", RV_COL_RIGHT },
	{ "email", "EMAIL", 0 },
	{ "purpose", "PURPOSE", 0 },
	{ "state", "STATE", 0 },
	{ "since", "SINCE", RV_COL_TIME },
	{ "method", "METHOD", 0 },
	{ "policy_version", "POLICY", 0 },
	{ NULL, NULL, 0 },
};

static const char *
find_word(const char *const *words, const char *s)
{
	for (; *words != NULL; words++)
		if (strcmp(*words, s) == 0)
			return *words;
	return NULL;
}

const char *
consent_purpose(const char *s)
{
	return find_word(consent_purposes, s);
}

const char *
consent_method(const char *s)
{
	return find_word(consent_methods, s);
}

void
consent_words(const char *const *words, char *buf, size_t n)
{
	size_t len = 0, i;

	buf[0] = '\0';
	for (i = 0; words[i] != NULL && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s",
		    i == 0 ? "" : words[i + 1] == NULL ? " or " : ", ",
		    words[i]);
}

/* A purpose stands when its latest ledger row is a grant. */
int
consent_granted(sqlite3 *db, int64_t client_id, const char *purpose,
    int *granted, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT action = 'grant' FROM consent "
	    "WHERE client_id = ? AND purpose = ? ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *st;
	int rc;

	*granted = 0;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	sqlite3_bind_text(st, 2, purpose, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*granted = sqlite3_column_int(st, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_fail(db, rc, e, "consent");
	}
	sqlite3_reset(st);
	return rc;
}

int
consent_ip_truncate(const char *addr, char out[CONSENT_IP_MAX],
    struct rv_err *e)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };
	uint8_t a[16];
	char text[INET6_ADDRSTRLEN], bare[INET6_ADDRSTRLEN];
	const char *zone = strchr(addr, '%'), *ip6 = addr;

	/* A zone id (fe80::1%eth0) names the interface, not the client: it
	 * goes with the bits truncation drops. IPv6 only, and not empty. */
	if (zone != NULL) {
		if (zone == addr || zone[1] == '\0' ||
		    (size_t)(zone - addr) >= sizeof(bare))
			goto bad;
		memcpy(bare, addr, (size_t)(zone - addr));
		bare[zone - addr] = '\0';
		ip6 = bare;
	}
	if (zone == NULL && inet_pton(AF_INET, addr, a) == 1) {
		a[3] = 0;
		inet_ntop(AF_INET, a, text, sizeof(text));
		snprintf(out, CONSENT_IP_MAX, "%s/24", text);
		return 0;
	}
	if (inet_pton(AF_INET6, ip6, a) == 1) {
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			a[15] = 0;
			inet_ntop(AF_INET, a + 12, text, sizeof(text));
			snprintf(out, CONSENT_IP_MAX, "%s/24", text);
			return 0;
		}
		memset(a + 6, 0, 10);
		inet_ntop(AF_INET6, a, text, sizeof(text));
		snprintf(out, CONSENT_IP_MAX, "%s/48", text);
		return 0;
	}
bad:
	return rv_fail(e, EX_DATAERR,
	    "bad IP address '%s': write it as 192.0.2.10 or 2001:db8::1", addr);
}

/* Appends one ledger row and its audit row. */
static int
record(sqlite3 *db, const struct rv_who *w, const struct consent_req *r,
    const char *action, int64_t *id, struct rv_err *e)
{
	static const char sql[] =
	    "INSERT INTO consent (client_id, purpose, action, at, method, "
	    "policy_version, actor, evidence, ip) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st;
	char ip[CONSENT_IP_MAX], ref[48], audit_action[32], *version = NULL;
	int rc;

	*id = 0;
	if (consent_purpose(r->purpose) == NULL)
		return rv_fail(e, EX_SOFTWARE, "unknown purpose '%s'",
		    r->purpose);
	if (consent_method(r->method) == NULL)
		return rv_fail(e, EX_DATAERR, "unknown method '%s'",
		    r->method);
	if ((rc = check_text("evidence", r->evidence, 500, 0, 0, e)) != 0)
		return rc;
	if (r->ip != NULL && (rc = consent_ip_truncate(r->ip, ip, e)) != 0)
		return rc;
	if ((rc = policy_in_force(db, w->now, &version, NULL, e)) != 0)
		return rc;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, r->client_id);
	db_bind_text(st, 2, r->purpose);
	db_bind_text(st, 3, action);
	sqlite3_bind_int64(st, 4, w->now);
	db_bind_text(st, 5, r->method);
	db_bind_text(st, 6, version);
	db_bind_text(st, 7, w->actor);
	db_bind_text(st, 8, r->evidence != NULL && *r->evidence != '\0' ?
	    r->evidence : NULL);
	db_bind_text(st, 9, r->ip != NULL ? ip : NULL);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, rc, e, "consent");
		goto out;
	}
	*id = sqlite3_last_insert_rowid(db);
	snprintf(ref, sizeof(ref), "consent %lld", (long long)*id);
	snprintf(audit_action, sizeof(audit_action), "consent.%s", action);
	rc = audit_append(db, w, audit_action, r->client_id, ref, r->purpose,
	    e);
out:
	free(version);
	return rc;
}

int
consent_grant(sqlite3 *db, const struct rv_who *w,
    const struct consent_req *r, int64_t *id, struct rv_err *e)
{
	int granted, restricted, rc;

	*id = 0;
	if ((rc = client_restricted(db, r->client_id, &restricted, e)) != 0 ||
	    (rc = consent_granted(db, r->client_id, r->purpose, &granted,
	    e)) != 0)
		return rc;
	if (granted)
		return 0;
	if (restricted)
		return rv_fail(e, EX_NOPERM,
		    "client %lld is restricted (GDPR art. 18): no new consent "
		    "is recorded until the restriction is lifted (withdrawing "
		    "is always possible)", (long long)r->client_id);
	if ((rc = record(db, w, r, "grant", id, e)) != 0)
		return rc;
	return strcmp(r->purpose, "reminders") == 0 ?
	    outbox_revive_client(db, w, r->client_id, e) : 0;
}

int
consent_withdraw(sqlite3 *db, const struct rv_who *w,
    const struct consent_req *r, int64_t *id, int *checkpoint,
    struct rv_err *e)
{
	int granted, restricted, deleted, rc;

	*id = 0;
	*checkpoint = 0;
	/* For its "no such client"; a restriction never stops a withdrawal. */
	if ((rc = client_restricted(db, r->client_id, &restricted, e)) != 0 ||
	    (rc = consent_granted(db, r->client_id, r->purpose, &granted,
	    e)) != 0)
		return rc;
	if (granted && (rc = record(db, w, r, "withdraw", id, e)) != 0)
		return rc;
	if (strcmp(r->purpose, "health") != 0)
		return 0;
	/* Health data lives only while consent stands: it goes in this same
	 * transaction, and even on a repeated withdrawal anything left is
	 * deleted and the WAL cleared again. */
	*checkpoint = 1;
	return health_delete(db, w, r->client_id, "health.delete", &deleted,
	    e);
}

#define CONSENT_SELECT \
	"SELECT id, client_id, purpose, action, at, method, policy_version, " \
	"actor, evidence, ip FROM consent "

static json_t *
consent_record(sqlite3_stmt *st)
{
	json_t *r = rec_new("consent", sqlite3_column_int64(st, 0));

	rec_col_int(r, "client_id", st, 1);
	rec_col_text(r, "purpose", st, 2);
	rec_col_text(r, "action", st, 3);
	rec_col_time(r, "at", st, 4);
	rec_col_text(r, "method", st, 5);
	rec_col_text(r, "policy_version", st, 6);
	rec_col_text(r, "actor", st, 7);
	rec_col_text(r, "evidence", st, 8);
	rec_col_text(r, "ip", st, 9);
	return r;
}

int
consent_get(sqlite3 *db, int64_t id, json_t **rec, struct rv_err *e)
{
	static const char sql[] = CONSENT_SELECT "WHERE id = ?";

	return rec_get(db, sql, id, consent_record, "consent row", rec, e);
}

int
consent_history(sqlite3 *db, int64_t client_id,
    int (*fn)(json_t *rec, void *arg), void *arg, struct rv_err *e)
{
	static const char sql[] = CONSENT_SELECT
	    "WHERE client_id = ? ORDER BY id";
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fn(consent_record(st), arg)) != 0)
			goto out;
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "consent");
out:
	sqlite3_finalize(st);
	return rc;
}

/* The purposes as a JSON array, for json_each: consent_purposes[] stays the
 * one list, and its order is the order of the output. */
static char *
purposes_json(void)
{
	json_t *a = json_array();
	char *s;
	size_t i;

	for (i = 0; consent_purposes[i] != NULL; i++)
		json_array_append_new(a, json_string(consent_purposes[i]));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (s == NULL)
		abort();
	return s;
}

int
consent_status(sqlite3 *db, int64_t client_id, const char *purpose,
    int granted_only, int (*fn)(json_t *rec, void *arg), void *arg,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT c.id, c.email, p.value, l.id, l.action, l.at, l.method, "
	    "l.policy_version "
	    "FROM client c JOIN json_each(?1) p "
	    "LEFT JOIN consent l ON l.id = (SELECT max(id) FROM consent "
	    "  WHERE client_id = c.id AND purpose = p.value) "
	    "WHERE (?2 = 0 OR c.id = ?2) AND (?3 IS NULL OR p.value = ?3) "
	    "AND (?4 = 0 OR l.action IS 'grant') "
	    "ORDER BY c.id, p.key";
	sqlite3_stmt *st;
	char *purposes = purposes_json();
	int rc;

	if ((rc = db_prepare(db, sql, &st, e)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, purposes, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, client_id);
	db_bind_text(st, 3, purpose);
	sqlite3_bind_int(st, 4, granted_only);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *r = json_object();
		const char *action = (const char *)sqlite3_column_text(st, 4);

		json_object_set_new(r, "type", json_string("consent_status"));
		rec_col_int(r, "id", st, 3);
		rec_col_int(r, "client_id", st, 0);
		rec_col_text(r, "email", st, 1);
		rec_col_text(r, "purpose", st, 2);
		json_object_set_new(r, "state", json_string(action == NULL ?
		    "none" : strcmp(action, "grant") == 0 ? "granted" :
		    "withdrawn"));
		rec_col_time(r, "since", st, 5);
		rec_col_text(r, "method", st, 6);
		rec_col_text(r, "policy_version", st, 7);
		if ((rc = fn(r, arg)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "consent");
out:
	sqlite3_finalize(st);
	free(purposes);
	return rc;
}

/* ---- receipts ---- */

/* What each purpose means, in the receipt's language (the client's). */
static const struct {
	const char *purpose;
	const char *category, *pii;
	const char *en, *it;
} purpose_text[] = {
	{ "reminders", "Contracted Service", "Contact",
	  "Reminder emails before appointments, and notices when an "
	  "appointment is changed or cancelled",
	  "Promemoria via email prima degli appuntamenti e avvisi quando un "
	  "appuntamento viene modificato o annullato" },
	{ "health", "Protecting Your Health", "Health",
	  "Keeping allergy and health information so that treatments are "
	  "safe",
	  "Conservazione di informazioni su allergie e salute perché i "
	  "trattamenti siano sicuri" },
	{ "marketing", "Marketing", "Contact",
	  "News and offers by email",
	  "Novità e offerte via email" },
};

static json_t *
receipt_purpose(const char *purpose, const char *lang, const char *email,
    int64_t at, const char *version)
{
	json_t *p = json_object();
	struct rv_buf term = { 0 };
	size_t i;
	int it = strcmp(lang, "it") == 0, health;

	for (i = 0; strcmp(purpose_text[i].purpose, purpose) != 0; i++)
		;
	health = strcmp(purpose, "health") == 0;
	if (it)
		buf_printf(&term, "Fino alla revoca, possibile in ogni momento "
		    "e con la stessa facilità con cui è stato dato: alla "
		    "reception, via email a %s%s.%s", email, health ? "" :
		    " o con il link di disiscrizione in ogni messaggio",
		    health ? " Alla revoca le informazioni sanitarie vengono "
		    "cancellate subito." : "");
	else
		buf_printf(&term, "Until withdrawn, which is possible at any "
		    "time and as easily as it was given: at the desk, by email "
		    "to %s%s.%s", email, health ? "" :
		    " or with the unsubscribe link in each message",
		    health ? " On withdrawal the health information is deleted "
		    "at once." : "");
	json_object_set_new(p, "purpose", json_string(it ?
	    purpose_text[i].it : purpose_text[i].en));
	json_object_set_new(p, "purposeCategory", json_pack("[s]",
	    purpose_text[i].category));
	json_object_set_new(p, "consentType", json_string("EXPLICIT"));
	json_object_set_new(p, "piiCategory", json_pack("[s]",
	    purpose_text[i].pii));
	json_object_set_new(p, "primaryPurpose", json_false());
	json_object_set_new(p, "termination", json_string(term.s));
	json_object_set_new(p, "thirdPartyDisclosure", json_false());
	/* riserva's own: which ledger purpose, granted when, under what. */
	json_object_set_new(p, "purposeId", json_string(purpose));
	json_object_set_new(p, "consentTimestamp", json_integer(at));
	json_object_set_new(p, "policyVersion", version != NULL ?
	    json_string(version) : json_null());
	buf_free(&term);
	return p;
}

static int
country_code(const char *s)
{
	return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
	    s[2] == '\0';
}

static int
config_url(const char *key, const char *url, struct rv_err *e)
{
	if (policy_check_url(key, url, NULL) == 0)
		return 0;
	return rv_fail(e, EX_CONFIG, "bad %s '%s' in the config: an http:// "
	    "or https:// URL", key, url);
}

/* The controller from the config; Kantara requires each of these. */
static int
receipt_controller(const struct rv_conf *conf, json_t **out, struct rv_err *e)
{
	static const char *const need[] = { "clinic.name", "clinic.address",
		"clinic.email", "clinic.phone", NULL };
	struct rv_buf missing = { 0 };
	const char *dpo = conf_get(conf, "clinic.dpo");
	const char *url = conf_get(conf, "clinic.url");
	const char *juris = conf_get(conf, "clinic.jurisdiction");
	json_t *c;
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; need[i] != NULL; i++) {
		if (*conf_get(conf, need[i]) != '\0')
			continue;
		buf_adds(&missing, missing.len > 0 ? ", " : "");
		buf_adds(&missing, need[i]);
	}
	if (missing.len > 0) {
		rv_fail(e, EX_CONFIG, "a consent receipt names the controller: "
		    "set %s in the config", missing.s);
		buf_free(&missing);
		return EX_CONFIG;
	}
	/* What the schema asks of them, so that no receipt is invalid. */
	if (!country_code(juris))
		return rv_fail(e, EX_CONFIG, "clinic.jurisdiction '%s' is not "
		    "a country code: write it as two capital letters (ISO "
		    "3166-1 alpha-2), such as IT", juris);
	if (*url != '\0' && (rc = config_url("clinic.url", url, e)) != 0)
		return rc;
	c = json_object();
	json_object_set_new(c, "piiController",
	    json_string(conf_get(conf, "clinic.name")));
	json_object_set_new(c, "onBehalf", json_false());
	json_object_set_new(c, "contact", json_string(*dpo != '\0' ? dpo :
	    conf_get(conf, "clinic.name")));
	json_object_set_new(c, "address", json_pack("{s:s, s:s}",
	    "streetAddress", conf_get(conf, "clinic.address"),
	    "addressCountry", conf_get(conf, "clinic.jurisdiction")));
	json_object_set_new(c, "email",
	    json_string(conf_get(conf, "clinic.email")));
	json_object_set_new(c, "phone",
	    json_string(conf_get(conf, "clinic.phone")));
	if (*url != '\0')
		json_object_set_new(c, "piiControllerUrl", json_string(url));
	*out = c;
	return 0;
}

/* A random (version 4) UUID, as Kantara asks of consentReceiptID. */
static void
uuid4(char out[37])
{
	uint8_t b[16];
	char hex[33];

	crypt_random(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	crypt_hex(b, sizeof(b), hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
}

int
consent_receipt(sqlite3 *db, const struct rv_conf *conf, int64_t client_id,
    json_t **receipt, struct rv_err *e)
{
	static const char client_sql[] =
	    "SELECT email, locale FROM client WHERE id = ?";
	/* The standing grants, the last transaction first. */
	static const char grants_sql[] =
	    "SELECT l.id, l.purpose, l.at, l.method, l.policy_version, p.url "
	    "FROM consent l LEFT JOIN policy p ON p.version = l.policy_version "
	    "WHERE l.client_id = ?1 AND l.action = 'grant' AND l.id = "
	    "(SELECT max(id) FROM consent WHERE client_id = ?1 "
	    "AND purpose = l.purpose) ORDER BY l.id DESC";
	sqlite3_stmt *st = NULL;
	json_t *r = NULL, *controller = NULL, *purposes = NULL;
	json_t *slot[sizeof(purpose_text) / sizeof(purpose_text[0])] = { 0 };
	const char *clinic_email = conf_get(conf, "clinic.email");
	const char *fallback_url = conf_get(conf, "clinic.policy_url");
	char *email = NULL, *lang = NULL, id[37];
	int rc, n = 0, sensitive = 0;
	size_t i;

	*receipt = NULL;
	if ((rc = db_prepare(db, client_sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, client_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? rv_fail(e, EX_NOINPUT,
		    "no such client %lld", (long long)client_id) :
		    db_fail(db, rc, e, "client");
		goto out;
	}
	email = xstrdup((const char *)sqlite3_column_text(st, 0));
	lang = xstrdup((const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = receipt_controller(conf, &controller, e)) != 0)
		goto out;
	if ((rc = db_prepare(db, grants_sql, &st, e)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, client_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *purpose = (const char *)sqlite3_column_text(st, 1);
		const char *version = (const char *)sqlite3_column_text(st, 4);
		const char *url = (const char *)sqlite3_column_text(st, 5);
		int64_t at = sqlite3_column_int64(st, 2);

		if (n++ == 0) {
			/* The receipt speaks of the latest transaction. */
			if (url == NULL && *fallback_url == '\0') {
				rc = rv_fail(e, EX_CONFIG, "no policy URL for "
				    "the receipt: archive the policy with "
				    "'consent policy add' or set "
				    "clinic.policy_url in the config");
				goto out;
			}
			if (url == NULL && (rc = config_url(
			    "clinic.policy_url", fallback_url, e)) != 0)
				goto out;
			r = rec_new("receipt", sqlite3_column_int64(st, 0));
			json_object_set_new(r, "client_id",
			    json_integer(client_id));
			json_object_set_new(r, "version",
			    json_string("KI-CR-v1.1.0"));
			json_object_set_new(r, "jurisdiction", json_string(
			    conf_get(conf, "clinic.jurisdiction")));
			json_object_set_new(r, "consentTimestamp",
			    json_integer(at));
			rec_col_text(r, "collectionMethod", st, 3);
			uuid4(id);
			json_object_set_new(r, "consentReceiptID",
			    json_string(id));
			json_object_set_new(r, "language", json_string(lang));
			json_object_set_new(r, "piiPrincipalId",
			    json_string(email));
			json_object_set_new(r, "piiControllers",
			    json_pack("[O]", controller));
			json_object_set_new(r, "policyUrl", json_string(
			    url != NULL ? url : fallback_url));
			json_object_set_new(r, "policyVersion", version !=
			    NULL ? json_string(version) : json_null());
		}
		if (strcmp(purpose, "health") == 0)
			sensitive = 1;
		for (i = 0; strcmp(purpose_text[i].purpose, purpose) != 0; i++)
			;
		slot[i] = receipt_purpose(purpose, lang, clinic_email, at,
		    version);
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(db, rc, e, "consent");
		goto out;
	}
	if (n == 0) {
		rc = rv_fail(e, EX_REFUSED, "client %lld has no consent in "
		    "force: there is nothing to give a receipt for",
		    (long long)client_id);
		goto out;
	}
	/* The purposes in their usual order, whenever each was given. */
	purposes = json_array();
	for (i = 0; i < sizeof(slot) / sizeof(slot[0]); i++)
		if (slot[i] != NULL)
			json_array_append(purposes, slot[i]);
	json_object_set_new(r, "services", json_pack("[{s:s, s:O}]",
	    "service", conf_get(conf, "clinic.name"), "purposes", purposes));
	json_object_set_new(r, "sensitive", json_boolean(sensitive));
	if (sensitive)
		json_object_set_new(r, "spiCat", json_pack("[s]", "Health"));
	*receipt = r;
	r = NULL;
	rc = 0;
out:
	sqlite3_finalize(st);
	json_decref(r);
	json_decref(controller);
	json_decref(purposes);
	for (i = 0; i < sizeof(slot) / sizeof(slot[0]); i++)
		json_decref(slot[i]);
	free(email);
	free(lang);
	return rc;
}

/* ---- unsubscribe tokens ---- */

#define TOKEN_PREFIX "u1"
#define TOKEN_MAC_LEN 16	/* bytes of HMAC kept: 128 bits */

static void
base64url(const uint8_t *in, size_t n, char *out)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = abc[in[i] >> 2];
		out[o++] = abc[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = abc[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		out[o++] = abc[in[i + 2] & 63];
	}
	if (n - i == 1) {
		out[o++] = abc[in[i] >> 2];
		out[o++] = abc[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		out[o++] = abc[in[i] >> 2];
		out[o++] = abc[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = abc[(in[i + 1] & 15) << 2];
	}
	out[o] = '\0';
}

/* "u1.<client id>.<purpose>" and its MAC, base64url without padding. */
static void
token_mac(const uint8_t key[RV_KEY_LEN], const char *body, char out[32])
{
	uint8_t mac[32];

	crypt_hmac(key, body, strlen(body), mac);
	base64url(mac, TOKEN_MAC_LEN, out);
	rv_wipe(mac, sizeof(mac));
}

static int
token_purpose(const char *purpose)
{
	return strcmp(purpose, "reminders") == 0 ||
	    strcmp(purpose, "marketing") == 0;
}

int
consent_token_make(const uint8_t key[RV_KEY_LEN], int64_t client_id,
    const char *purpose, char out[CONSENT_TOKEN_MAX], struct rv_err *e)
{
	char body[CONSENT_TOKEN_MAX], mac[32];

	if (client_id <= 0)
		return rv_fail(e, EX_SOFTWARE, "bad client id");
	if (!token_purpose(purpose))
		return rv_fail(e, EX_USAGE, "unsubscribe tokens are for "
		    "reminders and marketing, not '%s'", purpose);
	snprintf(body, sizeof(body), TOKEN_PREFIX ".%lld.%s",
	    (long long)client_id, purpose);
	token_mac(key, body, mac);
	snprintf(out, CONSENT_TOKEN_MAX, "%s.%s", body, mac);
	return 0;
}

int
consent_token_check(const uint8_t key[RV_KEY_LEN], const char *token,
    int64_t *client_id, const char **purpose, struct rv_err *e)
{
	char body[CONSENT_TOKEN_MAX], want[32], idtext[24];
	const char *dot, *p, *q;
	unsigned diff = 0;
	size_t i, k, len = strlen(token);
	int64_t id;

	*client_id = 0;
	*purpose = NULL;
	/* Shape first: u1.<id>.<purpose>.<22 characters>. */
	if (len >= CONSENT_TOKEN_MAX || strncmp(token, TOKEN_PREFIX ".",
	    sizeof(TOKEN_PREFIX)) != 0)
		goto bad;
	p = token + sizeof(TOKEN_PREFIX);
	if ((dot = strchr(p, '.')) == NULL || dot - p == 0 ||
	    (size_t)(dot - p) >= sizeof(idtext))
		goto bad;
	memcpy(idtext, p, (size_t)(dot - p));
	idtext[dot - p] = '\0';
	if (!parse_id(idtext, &id))
		goto bad;
	q = dot + 1;
	if ((dot = strchr(q, '.')) == NULL)
		goto bad;
	for (i = 0; consent_purposes[i] != NULL; i++)
		if (strlen(consent_purposes[i]) == (size_t)(dot - q) &&
		    strncmp(consent_purposes[i], q, (size_t)(dot - q)) == 0)
			break;
	if (consent_purposes[i] == NULL || !token_purpose(consent_purposes[i]))
		goto bad;
	memcpy(body, token, (size_t)(dot - token));
	body[dot - token] = '\0';
	token_mac(key, body, want);
	if (strlen(dot + 1) != strlen(want))
		goto bad;
	/* In constant time: no timing tells how much of a guess was right. */
	for (k = 0; want[k] != '\0'; k++)
		diff |= (unsigned)(want[k] ^ dot[1 + k]);
	rv_wipe(want, sizeof(want));
	if (diff != 0)
		goto bad;
	*client_id = id;
	*purpose = consent_purposes[i];
	return 0;
bad:
	return rv_fail(e, EX_NOPERM, "not a valid unsubscribe token: it was "
	    "altered, cut short, or not made by this centre's key");
}
