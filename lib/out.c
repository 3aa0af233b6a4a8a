/* out.c — records out: JSON Lines, a JSON array, CSV, or an aligned table. */
#include <stdlib.h>
#include <string.h>

#include "riserva.h"
#include "banned.h"

int
out_parse_format(const char *s)
{
	if (strcmp(s, "table") == 0)
		return RV_FMT_TABLE;
	if (strcmp(s, "jsonl") == 0)
		return RV_FMT_JSONL;
	if (strcmp(s, "json") == 0)
		return RV_FMT_JSON;
	if (strcmp(s, "csv") == 0)
		return RV_FMT_CSV;
	return -1;
}

void
out_begin(struct rv_out *o, FILE *fp, int fmt, const struct rv_col *cols,
    int one)
{
	const char *nc = getenv("NO_COLOR");

	memset(o, 0, sizeof(*o));
	o->fp = fp;
	o->fmt = fmt;
	o->cols = cols;
	o->one = one;
	o->bold = is_tty(fp) && (nc == NULL || *nc == '\0');
	if (fmt == RV_FMT_TABLE)
		o->rows = json_array();
}

/* RFC 4180 quoting: when it holds a comma, a quote or a line break.
 * Lines end in LF, as Unix tools expect. */
void
csv_field(FILE *fp, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* The text of a value in a table or CSV cell; *tmp is freed by the caller. */
static const char *
cell(json_t *v, int flags, char **tmp)
{
	static char buf[64];

	*tmp = NULL;
	switch (json_typeof(v)) {
	case JSON_STRING: {
		const char *s = json_string_value(v);

		/* The offset is the centre's: the digits are local time. */
		if ((flags & RV_COL_TIME) && strlen(s) >= 16 && s[10] == 'T') {
			snprintf(buf, sizeof(buf), "%.10s %.5s", s, s + 11);
			return buf;
		}
		return s;
	}
	case JSON_INTEGER:
		if (flags & RV_COL_MONEY) {
			money_format(json_integer_value(v), buf);
			return buf;
		}
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%g", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "";
	default:
		*tmp = json_dumps(v, JSON_COMPACT);
		return *tmp != NULL ? *tmp : "";
	}
}

static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
pad(FILE *fp, size_t n)
{
	while (n-- > 0)
		fputc(' ', fp);
}

static void
csv_record(struct rv_out *o, json_t *rec)
{
	size_t i;
	const char *key;
	json_t *v;
	char *tmp;

	if (o->csv_keys == NULL) {
		o->csv_keys = json_array();
		json_object_foreach(rec, key, v) {
			json_array_append_new(o->csv_keys, json_string(key));
			if (json_array_size(o->csv_keys) > 1)
				fputc(',', o->fp);
			csv_field(o->fp, key);
		}
		fputc('\n', o->fp);
	}
	for (i = 0; i < json_array_size(o->csv_keys); i++) {
		key = json_string_value(json_array_get(o->csv_keys, i));
		if (i > 0)
			fputc(',', o->fp);
		if ((v = json_object_get(rec, key)) == NULL)
			continue;
		csv_field(o->fp, cell(v, 0, &tmp));
		free(tmp);
	}
	fputc('\n', o->fp);
}

int
out_record(struct rv_out *o, json_t *rec)
{
	switch (o->fmt) {
	case RV_FMT_TABLE:
		json_array_append_new(o->rows, rec);
		o->count++;
		return 0;
	case RV_FMT_JSON:
		fputs(o->count == 0 ? "[\n" : ",\n", o->fp);
		json_write(o->fp, rec);
		break;
	case RV_FMT_CSV:
		csv_record(o, rec);
		break;
	default:
		json_write(o->fp, rec);
		fputc('\n', o->fp);
		break;
	}
	o->count++;
	json_decref(rec);
	return ferror(o->fp) ? EX_IOERR : 0;
}

static void
table_vertical(struct rv_out *o, json_t *rec)
{
	const char *key;
	json_t *v;
	size_t w = 0, i;
	char *tmp;

	json_object_foreach(rec, key, v)
		if (width(key) > w)
			w = width(key);
	json_object_foreach(rec, key, v) {
		int flags = 0;

		for (i = 0; o->cols != NULL && o->cols[i].key != NULL; i++)
			if (strcmp(o->cols[i].key, key) == 0)
				flags = o->cols[i].flags;
		fprintf(o->fp, "%s%s%s", o->bold ? "\033[1m" : "", key,
		    o->bold ? "\033[0m" : "");
		pad(o->fp, w - width(key) + 2);
		fputs(cell(v, flags, &tmp), o->fp);
		fputc('\n', o->fp);
		free(tmp);
	}
}

static void
table_flush(struct rv_out *o)
{
	const struct rv_col *c = o->cols;
	size_t ncol = 0, i, j, *w;
	char *tmp;

	if (c == NULL)
		return;
	while (c[ncol].key != NULL)
		ncol++;
	w = xcalloc(ncol, sizeof(*w));
	for (j = 0; j < ncol; j++)
		w[j] = width(c[j].head);
	for (i = 0; i < json_array_size(o->rows); i++) {
		json_t *r = json_array_get(o->rows, i);

		for (j = 0; j < ncol; j++) {
			json_t *v = json_object_get(r, c[j].key);
			size_t n = v ? width(cell(v, c[j].flags, &tmp)) : 0;

			if (v)
				free(tmp);
			if (n > w[j])
				w[j] = n;
		}
	}
	if (o->bold)
		fputs("\033[1m", o->fp);
	for (j = 0; j < ncol; j++) {
		if (c[j].flags & RV_COL_RIGHT)
			pad(o->fp, w[j] - width(c[j].head));
		fputs(c[j].head, o->fp);
		if (j + 1 < ncol && !(c[j].flags & RV_COL_RIGHT))
			pad(o->fp, w[j] - width(c[j].head));
		if (j + 1 < ncol)
			fputs("  ", o->fp);
	}
	fputs(o->bold ? "\033[0m\n" : "\n", o->fp);
	for (i = 0; i < json_array_size(o->rows); i++) {
		json_t *r = json_array_get(o->rows, i);

		for (j = 0; j < ncol; j++) {
			json_t *v = json_object_get(r, c[j].key);
			const char *s = v ? cell(v, c[j].flags, &tmp) : "";
			size_t n = width(s);

			if (c[j].flags & RV_COL_RIGHT)
				pad(o->fp, w[j] - n);
			fputs(s, o->fp);
			if (j + 1 < ncol && !(c[j].flags & RV_COL_RIGHT))
				pad(o->fp, w[j] - n);
			if (j + 1 < ncol)
				fputs("  ", o->fp);
			if (v)
				free(tmp);
		}
		fputc('\n', o->fp);
	}
	free(w);
}

int
out_end(struct rv_out *o)
{
	int rc = 0;

	if (o->fmt == RV_FMT_TABLE) {
		if (o->one && o->count == 1)
			table_vertical(o, json_array_get(o->rows, 0));
		else if (o->count > 0)
			table_flush(o);
	} else if (o->fmt == RV_FMT_JSON) {
		fputs(o->count == 0 ? "[]\n" : "\n]\n", o->fp);
	}
	json_decref(o->rows);
	json_decref(o->csv_keys);
	o->rows = o->csv_keys = NULL;
	if (fflush(o->fp) != 0 || ferror(o->fp))
		rc = EX_IOERR;
	return rc;
}
