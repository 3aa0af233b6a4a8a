/* conf.c — the config file, its built-in defaults and environment overrides. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "riserva.h"
#include "banned.h"

/*
 * Every key the tools know, with its default. A key in the file that is not
 * here is a configuration error: a typo must not silently change nothing.
 */
static const struct {
	const char *key;
	const char *def;
} known[] = {
	{ "clinic.name", "Centro Benessere" },
	{ "clinic.timezone", "Europe/Rome" },
	{ "clinic.locale", "it" },
	{ "clinic.email", "" },
	{ "clinic.phone", "" },
	{ "clinic.address", "" },
	{ "clinic.url", "" },
	{ "clinic.dpo", "" },
	/* Consent receipts: ISO 3166 code of the law that governs them, and
	 * the policy URL to name before any version is archived. */
	{ "clinic.jurisdiction", "IT" },
	{ "clinic.policy_url", "" },
	{ "db.busy_timeout", "5000" },
	{ "booking.slot_step", "15m" },
	{ "retention.client_months", "24" },
	{ "retention.health_months", "24" },
	{ "retention.fiscal_years", "10" },
	{ "retention.audit_months", "12" },
	{ "retention.backup_days", "7" },
	{ "retention.message_days", "90" },
	/* The erasure journal's file; empty: erasures.jsonl beside the
	 * database. */
	{ "erase.journal", "" },
	{ "mail.transport", "smtp" },
	{ "mail.from", "" },
	{ "mail.url", "smtp://localhost:25" },
	{ "mail.tls", "auto" },
	{ "mail.user", "" },
	{ "mail.password_file", "" },
	{ "mail.cainfo", "" },
	{ "mail.sendgrid_url", "https://api.sendgrid.com/v3/mail/send" },
	{ "mail.sendgrid_key_file", "" },
	{ "mail.sendmail", "/usr/sbin/sendmail" },
	{ "mail.templates", "" },
	{ "mail.unsubscribe_url", "" },
	{ "mail.timeout", "30s" },
	{ "mail.max_attempts", "8" },
	{ "mail.backoff", "5m" },
	{ "mail.backoff_max", "6h" },
	{ "mail.lease", "10m" },
	{ "remind.lead", "24h" },
	{ "google.client_id", "" },
	{ "google.api_url", "https://www.googleapis.com/calendar/v3" },
	/* The secret of an installed-app client: best from the environment
	 * or a file of mode 0600, not from a config file others can read. */
	{ "google.client_secret", "" },
	{ "google.client_secret_file", "" },
	{ "google.auth_url", "https://accounts.google.com/o/oauth2/v2/auth" },
	{ "google.token_url", "https://oauth2.googleapis.com/token" },
	{ "google.revoke_url", "https://oauth2.googleapis.com/revoke" },
	{ "google.userinfo_url",
	    "https://openidconnect.googleapis.com/v1/userinfo" },
	{ "google.event_title", "{service} {name} {initial}." },
	{ "google.busy_title", "" },
	{ "google.import_titles", "false" },
	{ "google.resync_days", "365" },
	{ "google.page_size", "2500" },
	{ "google.timeout", "30s" },
	{ "google.connect_timeout", "5m" },
	{ "google.retry_attempts", "5" },
	{ "google.retry_base_ms", "500" },
	{ "google.retry_max_ms", "30000" },
	{ "security.require_login", "false" },
	{ "security.require_reason", "false" },
	{ "security.session_idle", "5m" },
	{ "security.pbkdf2_iterations", "210000" },
	{ "security.password_min", "10" },
	{ "security.login_attempts", "5" },
	{ "security.login_delay", "5s" },
	{ "security.system_actor", "system" },
	{ "backup.dir", "" },
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

struct rv_conf {
	char *value[NKNOWN];	/* from the file, or NULL */
};

const char *
conf_path(void)
{
	static char buf[PATH_MAX];
	const char *s;

	if ((s = getenv("RISERVA_CONFIG")) != NULL && *s != '\0')
		return s;
	if ((s = getenv("XDG_CONFIG_HOME")) != NULL && *s == '/')
		snprintf(buf, sizeof(buf), "%s/riserva/config", s);
	else
		snprintf(buf, sizeof(buf), "%s/.config/riserva/config",
		    getenv("HOME") ? getenv("HOME") : "");
	return buf;
}

static int
find_key(const char *key)
{
	size_t i;

	for (i = 0; i < NKNOWN; i++)
		if (strcmp(known[i].key, key) == 0)
			return (int)i;
	return -1;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* The value after '=': bare text up to a comment, trimmed, and quoted
 * parts kept as they are, with \" \\ \n \t escapes. Rewritten in place. */
static int
parse_value(char *s, char **out)
{
	char *w, *r, *keep;
	int quoted = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	keep = s;	/* trailing blanks are trimmed back to here, no further */
	for (r = w = s; *r; r++) {
		if (*r == '"') {
			quoted = !quoted;
			keep = w;
			continue;
		}
		if (!quoted && (*r == ';' || *r == '#'))
			break;
		if (*r == '\\') {
			r++;
			switch (*r) {
			case '"': case '\\': *w++ = *r; break;
			case 'n': *w++ = '\n'; break;
			case 't': *w++ = '\t'; break;
			default: return -1;
			}
			if (quoted)
				keep = w;
			continue;
		}
		*w++ = *r;
		if (quoted)
			keep = w;
	}
	if (quoted)
		return -1;
	while (w > keep && isspace((unsigned char)w[-1]))
		w--;
	*w = '\0';
	*out = s;
	return 0;
}

/* RISERVA_ variables that are not config keys: paths, the clock, who
 * acts, and secrets kept out of the config file. */
static const char *const env_only[] = {
	"DB", "CONFIG", "KEY", "ACTOR", "NOW", "SMTP_PASSWORD", "SENDGRID_KEY",
	NULL
};

/*
 * Every other RISERVA_<SECTION>_<KEY> must name a key, as in the file: a
 * typo (RISERVA_SECURITY_REQUIRE_LOGN=true) must not silently do nothing.
 */
static int
has_lower(const char *s, size_t n)
{
	for (; n > 0; n--, s++)
		if (islower((unsigned char)*s))
			return 1;
	return 0;
}

static int
check_env(struct rv_err *e)
{
	extern char **environ;
	char **v, key[160], *dot;
	size_t n, i;

	for (v = environ; v != NULL && *v != NULL; v++) {
		const char *name = *v + 8;

		if (strncmp(*v, "RISERVA_", 8) != 0)
			continue;
		n = strcspn(name, "=");
		for (i = 0; env_only[i] != NULL; i++)
			if (strlen(env_only[i]) == n &&
			    strncmp(env_only[i], name, n) == 0)
				break;
		if (env_only[i] != NULL)
			continue;
		if (n >= sizeof(key))
			n = sizeof(key) - 1;
		for (i = 0; i < n; i++)
			key[i] = (char)tolower((unsigned char)name[i]);
		key[n] = '\0';
		if ((dot = strchr(key, '_')) != NULL) {
			*dot = '.';
			if (find_key(key) >= 0 && !has_lower(name, n))
				continue;
			/* Only the upper-case name is read (env_value). */
			if (find_key(key) >= 0)
				return rv_fail(e, EX_CONFIG, "environment "
				    "RISERVA_%.*s: write the name in upper case",
				    (int)n, name);
			return rv_fail(e, EX_CONFIG, "environment RISERVA_%.*s: "
			    "no such setting (%s)", (int)n, name, key);
		}
		return rv_fail(e, EX_CONFIG,
		    "environment RISERVA_%.*s: no such setting", (int)n, name);
	}
	return 0;
}

int
conf_load(const char *path, struct rv_conf **out, struct rv_err *e)
{
	struct rv_conf *c = xcalloc(1, sizeof(*c));
	char section[64] = "", key[160];
	char *line = NULL, *p, *val;
	size_t cap = 0, lineno = 0, i;
	FILE *fp;
	int rc = 0;

	*out = c;
	if ((rc = check_env(e)) != 0)
		return rc;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		return rv_fail_errno(e, EX_CONFIG, "cannot read %s", path);
	}
	while (getline(&line, &cap, fp) > 0) {
		lineno++;
		p = trim(line);
		if (*p == '\0' || *p == ';' || *p == '#')
			continue;
		if (*p == '[') {
			char *end = strchr(p, ']');

			if (end == NULL || end - p - 1 <= 0 ||
			    end - p - 1 >= (long)sizeof(section)) {
				rc = rv_fail(e, EX_CONFIG,
				    "%s:%zu: bad section header", path, lineno);
				goto out;
			}
			*end = '\0';
			for (i = 0; p[i + 1]; i++)
				section[i] = (char)tolower((unsigned char)p[i + 1]);
			section[i] = '\0';
			if (*trim(end + 1) != '\0' && *trim(end + 1) != ';' &&
			    *trim(end + 1) != '#') {
				rc = rv_fail(e, EX_CONFIG,
				    "%s:%zu: text after section header", path,
				    lineno);
				goto out;
			}
			continue;
		}
		if (section[0] == '\0') {
			rc = rv_fail(e, EX_CONFIG,
			    "%s:%zu: key outside a [section]", path, lineno);
			goto out;
		}
		for (i = 0; isalnum((unsigned char)p[i]) || p[i] == '_' ||
		    p[i] == '-'; i++)
			;
		if (i == 0 || i >= 64) {
			rc = rv_fail(e, EX_CONFIG, "%s:%zu: bad key", path,
			    lineno);
			goto out;
		}
		snprintf(key, sizeof(key), "%s.%.*s", section, (int)i, p);
		for (char *k = key; *k; k++)
			*k = (char)tolower((unsigned char)*k);
		p = trim(p + i);
		if (*p == '\0')
			val = (char *)"true";
		else if (*p != '=' || parse_value(p + 1, &val) < 0) {
			rc = rv_fail(e, EX_CONFIG,
			    "%s:%zu: expected 'key = value'", path, lineno);
			goto out;
		}
		int k = find_key(key);

		if (k < 0) {
			rc = rv_fail(e, EX_CONFIG, "%s:%zu: unknown key '%s'",
			    path, lineno, key);
			goto out;
		}
		free(c->value[k]);
		c->value[k] = xstrdup(val);
	}
	if (ferror(fp))
		rc = rv_fail_errno(e, EX_CONFIG, "cannot read %s", path);
out:
	free(line);
	fclose(fp);
	return rc;
}

void
conf_free(struct rv_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < NKNOWN; i++)
		free(c->value[i]);
	free(c);
}

/* RISERVA_<SECTION>_<KEY>, upper case, dots and dashes as underscores. */
static const char *
env_value(const char *key)
{
	char name[192] = "RISERVA_";
	size_t n = strlen(name);

	for (; *key && n + 1 < sizeof(name); key++)
		name[n++] = (*key == '.' || *key == '-') ? '_' :
		    (char)toupper((unsigned char)*key);
	name[n] = '\0';
	return getenv(name);
}

const char *
conf_get(const struct rv_conf *c, const char *key)
{
	const char *s;
	int k = find_key(key);

	if (k < 0)
		return NULL;
	if ((s = env_value(key)) != NULL)
		return s;
	if (c != NULL && c->value[k] != NULL)
		return c->value[k];
	return known[k].def;
}

int
conf_int(const struct rv_conf *c, const char *key, long min, long max,
    long *out, struct rv_err *e)
{
	const char *s = conf_get(c, key);

	if (s == NULL || !parse_int(s, min, max, out))
		return rv_fail(e, EX_CONFIG,
		    "config %s: '%s' is not a number from %ld to %ld", key,
		    s ? s : "", min, max);
	return 0;
}

int
parse_duration(const char *s, int64_t *secs)
{
	long v;
	char num[32];
	size_t n = strlen(s);
	int64_t unit;

	if (n < 2 || n >= sizeof(num))
		return 0;
	switch (s[n - 1]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return 0;
	}
	memcpy(num, s, n - 1);
	num[n - 1] = '\0';
	if (!parse_int(num, 1, 1000000, &v))
		return 0;
	*secs = v * unit;
	return 1;
}

int
conf_duration(const struct rv_conf *c, const char *key, int64_t *secs,
    struct rv_err *e)
{
	const char *s = conf_get(c, key);

	if (s == NULL || !parse_duration(s, secs))
		return rv_fail(e, EX_CONFIG,
		    "config %s: '%s' is not a duration like 15m, 2h or 1d",
		    key, s ? s : "");
	return 0;
}

int
conf_bool(const struct rv_conf *c, const char *key, int *out,
    struct rv_err *e)
{
	const char *s = conf_get(c, key);

	if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 ||
	    strcmp(s, "on") == 0 || strcmp(s, "1") == 0))
		*out = 1;
	else if (s != NULL && (strcmp(s, "false") == 0 ||
	    strcmp(s, "no") == 0 || strcmp(s, "off") == 0 ||
	    strcmp(s, "0") == 0))
		*out = 0;
	else
		return rv_fail(e, EX_CONFIG,
		    "config %s: '%s' is not true or false", key, s ? s : "");
	return 0;
}
