/*
 * json.c — a strict RFC 8259 parser for one line of JSON Lines, building
 * jansson values. jansson's own loader spends ~170 instructions a byte;
 * imports of 100,000 records need a tenth of that.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "riserva.h"
#include "banned.h"

#define MAX_DEPTH 64

struct parser {
	const char *s, *p, *end;
	char *err;
	size_t errn;
	struct rv_buf tmp;
};

static json_t *value(struct parser *ps, int depth);

static json_t *
fail(struct parser *ps, const char *what)
{
	if (ps->err[0] == '\0')
		snprintf(ps->err, ps->errn, "%s at column %zu", what,
		    (size_t)(ps->p - ps->s) + 1);
	return NULL;
}

static void
ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
	    *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int
hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return 0;
	}
	*out = v;
	return 1;
}

static void
put_utf8(struct rv_buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

/*
 * A string after its opening quote. The common case (no escapes) needs no
 * copy: *out points into the line. Otherwise the text is in ps->tmp.
 */
static int
string(struct parser *ps, const char **out, size_t *len)
{
	const unsigned char *p = (const unsigned char *)ps->p;
	const unsigned char *end = (const unsigned char *)ps->end;
	const unsigned char *start = p;
	int escaped = 0;
	size_t k;

	buf_reset(&ps->tmp);
	while (p < end && *p != '"') {
		if (*p < 0x20) {
			ps->p = (const char *)p;
			fail(ps, "control character in a string");
			return -1;
		}
		if (*p == '\\') {
			unsigned cp, lo;

			if (!escaped) {
				buf_add(&ps->tmp, (const char *)start,
				    (size_t)(p - start));
				escaped = 1;
			}
			if (end - p < 2)
				goto bad_escape;
			switch (p[1]) {
			case '"': buf_addc(&ps->tmp, '"'); break;
			case '\\': buf_addc(&ps->tmp, '\\'); break;
			case '/': buf_addc(&ps->tmp, '/'); break;
			case 'b': buf_addc(&ps->tmp, '\b'); break;
			case 'f': buf_addc(&ps->tmp, '\f'); break;
			case 'n': buf_addc(&ps->tmp, '\n'); break;
			case 'r': buf_addc(&ps->tmp, '\r'); break;
			case 't': buf_addc(&ps->tmp, '\t'); break;
			case 'u':
				if (end - p < 6 || !hex4((const char *)p + 2, &cp))
					goto bad_escape;
				if (cp == 0) {
					ps->p = (const char *)p;
					fail(ps, "\\u0000 is not allowed");
					return -1;
				}
				p += 4;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					goto bad_escape;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (end - p < 8 || p[2] != '\\' ||
					    p[3] != 'u' ||
					    !hex4((const char *)p + 4, &lo) ||
					    lo < 0xdc00 || lo > 0xdfff)
						goto bad_escape;
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					p += 6;
				}
				put_utf8(&ps->tmp, cp);
				break;
			default:
				goto bad_escape;
			}
			p += 2;
			continue;
		}
		if ((k = utf8_seq(p, end)) == 0) {
			ps->p = (const char *)p;
			fail(ps, "invalid UTF-8 in a string");
			return -1;
		}
		if (escaped)
			buf_add(&ps->tmp, (const char *)p, k);
		p += k;
	}
	if (p >= end) {
		ps->p = (const char *)p;
		fail(ps, "unterminated string");
		return -1;
	}
	if (escaped) {
		buf_add(&ps->tmp, "", 0);
		*out = ps->tmp.s;
		*len = ps->tmp.len;
	} else {
		*out = (const char *)start;
		*len = (size_t)(p - start);
	}
	ps->p = (const char *)p + 1;
	return 0;
bad_escape:
	ps->p = (const char *)p;
	fail(ps, "bad escape in a string");
	return -1;
}

static json_t *
number(struct parser *ps)
{
	const char *p = ps->p, *start = p;
	int real = 0;
	char buf[64], *end;

	if (*p == '-')
		p++;
	if (p < ps->end && *p == '0')
		p++;
	else if (p < ps->end && *p >= '1' && *p <= '9')
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	else
		return fail(ps, "bad number");
	if (p < ps->end && *p == '.') {
		real = 1;
		if (++p >= ps->end || *p < '0' || *p > '9')
			return fail(ps, "bad number");
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		real = 1;
		if (++p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return fail(ps, "bad number");
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if ((size_t)(p - start) >= sizeof(buf))
		return fail(ps, "number too long");
	memcpy(buf, start, (size_t)(p - start));
	buf[p - start] = '\0';
	errno = 0;
	if (!real) {
		long long v = strtoll(buf, &end, 10);

		if (errno == ERANGE)
			return fail(ps, "integer too big");
		ps->p = p;
		return json_integer(v);
	}
	{
		double d = strtod(buf, &end);

		if (errno == ERANGE && (d > 1 || d < -1))
			return fail(ps, "number too big");
		ps->p = p;
		return json_real(d);
	}
}

static json_t *
object(struct parser *ps, int depth)
{
	json_t *obj = json_object(), *v;
	const char *key;
	size_t len;
	char *k;

	ps->p++;
	ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return obj;
	}
	for (;;) {
		ws(ps);
		if (ps->p >= ps->end || *ps->p != '"') {
			fail(ps, "expected a key");
			goto bad;
		}
		ps->p++;
		if (string(ps, &key, &len) < 0)
			goto bad;
		/* An unescaped key points into the line; an escaped one is in
		 * ps->tmp, which the value may reuse: that one is copied. */
		k = NULL;
		if (key == ps->tmp.s) {
			k = xmalloc(len + 1);
			memcpy(k, key, len + 1);
			key = k;
		}
		if (json_object_getn(obj, key, len) != NULL) {
			free(k);
			fail(ps, "duplicate key");
			goto bad;
		}
		ws(ps);
		if (ps->p >= ps->end || *ps->p != ':') {
			free(k);
			fail(ps, "expected ':'");
			goto bad;
		}
		ps->p++;
		if ((v = value(ps, depth + 1)) == NULL) {
			free(k);
			goto bad;
		}
		json_object_setn_new_nocheck(obj, key, len, v);
		free(k);
		ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			return obj;
		}
		fail(ps, "expected ',' or '}'");
		goto bad;
	}
bad:
	json_decref(obj);
	return NULL;
}

static json_t *
array(struct parser *ps, int depth)
{
	json_t *arr = json_array(), *v;

	ps->p++;
	ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		return arr;
	}
	for (;;) {
		if ((v = value(ps, depth + 1)) == NULL)
			goto bad;
		json_array_append_new(arr, v);
		ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return arr;
		}
		fail(ps, "expected ',' or ']'");
		goto bad;
	}
bad:
	json_decref(arr);
	return NULL;
}

static int
literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return 0;
	ps->p += n;
	return 1;
}

static json_t *
value(struct parser *ps, int depth)
{
	const char *s;
	size_t len;

	if (depth > MAX_DEPTH)
		return fail(ps, "nested too deep");
	ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end");
	switch (*ps->p) {
	case '{':
		return object(ps, depth);
	case '[':
		return array(ps, depth);
	case '"':
		ps->p++;
		if (string(ps, &s, &len) < 0)
			return NULL;
		return json_stringn_nocheck(s, len);
	case 't':
		return literal(ps, "true") ? json_true() :
		    fail(ps, "unexpected text");
	case 'f':
		return literal(ps, "false") ? json_false() :
		    fail(ps, "unexpected text");
	case 'n':
		return literal(ps, "null") ? json_null() :
		    fail(ps, "unexpected text");
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return number(ps);
		return fail(ps, "unexpected text");
	}
}

json_t *
json_parse_line(const char *s, size_t n, char *err, size_t errn)
{
	struct parser ps = { s, s, s + n, err, errn, { 0 } };
	json_t *v;

	err[0] = '\0';
	v = value(&ps, 0);
	if (v != NULL) {
		ws(&ps);
		if (ps.p != ps.end) {
			json_decref(v);
			v = fail(&ps, "text after the value");
		}
	}
	buf_free(&ps.tmp);
	return v;
}

/* ---- writing: compact JSON, as json_dumpf(JSON_COMPACT) but cheaper ---- */

static void
write_string(FILE *fp, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s, *end = s + n;

	putc('"', fp);
	for (; s < end; s++) {
		unsigned char c = (unsigned char)*s;
		const char *esc = NULL;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		fwrite(run, 1, (size_t)(s - run), fp);
		run = s + 1;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		}
		if (esc != NULL) {
			fputs(esc, fp);
		} else {
			fputs("\\u00", fp);
			putc(hex[c >> 4], fp);
			putc(hex[c & 15], fp);
		}
	}
	fwrite(run, 1, (size_t)(end - run), fp);
	putc('"', fp);
}

void
json_write(FILE *fp, json_t *v)
{
	const char *key;
	json_t *x;
	size_t i;
	int first = 1;
	char num[40];

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		putc('{', fp);
		json_object_foreach(v, key, x) {
			if (!first)
				putc(',', fp);
			first = 0;
			write_string(fp, key, strlen(key));
			putc(':', fp);
			json_write(fp, x);
		}
		putc('}', fp);
		break;
	case JSON_ARRAY:
		putc('[', fp);
		json_array_foreach(v, i, x) {
			if (i > 0)
				putc(',', fp);
			json_write(fp, x);
		}
		putc(']', fp);
		break;
	case JSON_STRING:
		write_string(fp, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		fprintf(fp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		/* As jansson: the shortest form that reads back the same. */
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		if (strspn(num, "-0123456789") == strlen(num))
			strncat(num, ".0", sizeof(num) - strlen(num) - 1);
		fputs(num, fp);
		break;
	case JSON_TRUE:
		fputs("true", fp);
		break;
	case JSON_FALSE:
		fputs("false", fp);
		break;
	default:
		fputs("null", fp);
		break;
	}
}
