/* in.c — records in: JSON Lines on stdin, and typed access to their keys. */
#include <stdlib.h>
#include <string.h>

#include "riserva.h"
#include "banned.h"

int
in_each(FILE *fp, rv_input_fn fn, void *arg, struct rv_err *e)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	char jerr[128];
	json_t *rec;
	int rc = 0;

	while ((n = getline(&line, &cap, fp)) > 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strspn(line, " \t") == (size_t)n)
			continue;
		if (n > RV_MAX_LINE) {
			rc = rv_fail(e, EX_DATAERR,
			    "line %zu: record too long (%zd bytes, at most %d)",
			    lineno, n, RV_MAX_LINE);
			break;
		}
		if (strlen(line) != (size_t)n) {
			rc = rv_fail(e, EX_DATAERR, "line %zu: NUL byte",
			    lineno);
			break;
		}
		rec = json_parse_line(line, (size_t)n, jerr, sizeof(jerr));
		if (rec == NULL) {
			rc = rv_fail(e, EX_DATAERR, "line %zu: bad JSON: %s",
			    lineno, jerr);
			break;
		}
		if (!json_is_object(rec)) {
			json_decref(rec);
			rc = rv_fail(e, EX_DATAERR,
			    "line %zu: expected a JSON object", lineno);
			break;
		}
		rc = fn(rec, lineno, arg, e);
		json_decref(rec);
		if (rc != 0) {
			rv_prefix(e, "line %zu: ", e->line ? e->line : lineno);
			e->line = 0;
			break;
		}
	}
	if (rc == 0 && ferror(fp))
		rc = rv_fail_errno(e, EX_IOERR, "reading stdin");
	free(line);
	return rc;
}

int
in_str(json_t *rec, const char *key, int required, const char **out,
    struct rv_err *e)
{
	json_t *v = json_object_get(rec, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return rv_fail(e, EX_DATAERR, "missing \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v))
		return rv_fail(e, EX_DATAERR, "\"%s\" must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return rv_fail(e, EX_DATAERR, "\"%s\" contains a NUL byte",
		    key);
	*out = json_string_value(v);
	return 0;
}

int
in_int(json_t *rec, const char *key, int required, int64_t *out,
    struct rv_err *e)
{
	json_t *v = json_object_get(rec, key);

	if (v == NULL || json_is_null(v)) {
		if (required)
			return rv_fail(e, EX_DATAERR, "missing \"%s\"", key);
		return 0;
	}
	if (!json_is_integer(v))
		return rv_fail(e, EX_DATAERR, "\"%s\" must be an integer", key);
	*out = json_integer_value(v);
	return 0;
}

int
in_client_id(json_t *rec, int64_t *id, struct rv_err *e)
{
	const char *type;
	const char *key = "client_id";
	int rc;

	if ((rc = in_str(rec, "type", 0, &type, e)) != 0)
		return rc;
	if (type != NULL && strcmp(type, "client") == 0)
		key = "id";
	*id = 0;
	if (json_object_get(rec, key) == NULL)
		return rv_fail(e, EX_DATAERR, "record has no \"%s\"", key);
	/* null: a record about a client since erased; the caller skips it */
	if ((rc = in_int(rec, key, 0, id, e)) != 0)
		return rc;
	if (*id < 0 || (*id == 0 && !json_is_null(json_object_get(rec, key))))
		return rv_fail(e, EX_DATAERR, "\"%s\" is not an id", key);
	return 0;
}
