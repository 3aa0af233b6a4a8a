/* util.c — errors, allocation, strings, and checks of what users type. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "riserva.h"
#include "banned.h"

int
rv_failv(struct rv_err *e, int code, const char *fmt, va_list ap)
{
	if (e != NULL) {
		e->code = code;
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	}
	return code;
}

int
rv_fail(struct rv_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rv_failv(e, code, fmt, ap);
	va_end(ap);
	return code;
}

int
rv_prefix(struct rv_err *e, const char *fmt, ...)
{
	char old[sizeof(e->msg)];
	va_list ap;
	size_t n;

	snprintf(old, sizeof(old), "%s", e->msg);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, "%s", old);
	return e->code;
}

int
rv_fail_errno(struct rv_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	size_t n;

	va_start(ap, fmt);
	rv_failv(e, code, fmt, ap);
	va_end(ap);
	if (e != NULL) {
		n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s",
		    strerror(saved));
	}
	return code;
}

static void RV_NORETURN
oom(void)
{
	static const char msg[] = "riserva: out of memory\n";

	if (write(2, msg, sizeof(msg) - 1) < 0)
		abort();
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		oom();
	return p;
}

void
buf_add(struct rv_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->s = xrealloc(b->s, cap);
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
buf_adds(struct rv_buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct rv_buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_printf(struct rv_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_add(b, "", 0);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = b->len + (size_t)n + 1;
		b->s = xrealloc(b->s, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_reset(struct rv_buf *b)
{
	b->len = 0;
	if (b->s != NULL)
		b->s[0] = '\0';
}

void
buf_free(struct rv_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void
ids_add(struct rv_ids *l, int64_t id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = id;
}

/* For the few ids named on a command line, or a stream's distinct
 * clients: a linear look. */
int
ids_has(const struct rv_ids *l, int64_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return 1;
	return 0;
}

void
ids_add_once(struct rv_ids *l, int64_t id)
{
	if (!ids_has(l, id))
		ids_add(l, id);
}

void
ids_free(struct rv_ids *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

int
parse_id(const char *s, int64_t *id)
{
	long long v;
	char *end;

	if (s == NULL || *s < '1' || *s > '9')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return 0;
	*id = v;
	return 1;
}

int
parse_int(const char *s, long min, long max, long *out)
{
	long v;
	char *end;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

/* "45", "45.5", "45.50", "45,50" euros into cents; no sign, no thousands. */
int
parse_money(const char *s, int64_t *cents, struct rv_err *e)
{
	const char *p = s;
	int64_t units = 0, frac = 0;
	int ndig = 0, nfrac = 0;

	for (; *p >= '0' && *p <= '9'; p++, ndig++) {
		if (ndig >= 9)
			goto bad;
		units = units * 10 + (*p - '0');
	}
	if (ndig == 0)
		goto bad;
	if (*p == '.' || *p == ',') {
		for (p++; *p >= '0' && *p <= '9'; p++, nfrac++) {
			if (nfrac >= 2)
				goto bad;
			frac = frac * 10 + (*p - '0');
		}
		if (nfrac == 0)
			goto bad;
		if (nfrac == 1)
			frac *= 10;
	}
	if (*p != '\0')
		goto bad;
	*cents = units * 100 + frac;
	return 0;
bad:
	return rv_fail(e, EX_DATAERR,
	    "bad amount '%s': write euros like 45 or 45.50", s);
}

void
money_format(int64_t cents, char buf[32])
{
	snprintf(buf, 32, "%lld.%02lld", (long long)(cents / 100),
	    (long long)(cents % 100));
}

/* Length of a valid UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF), or 0. */
size_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return end - p >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (end - p < 3 || (p[1] & 0xc0) != 0x80 ||
		    (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (end - p < 4 || (p[1] & 0xc0) != 0x80 ||
		    (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

size_t
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t k;

	while (p < end) {
		if ((k = utf8_seq(p, end)) == 0)
			break;
		p += k;
	}
	return (size_t)(p - (const unsigned char *)s);
}

/*
 * The offset of the first C1 control (U+0080-U+009F: some terminals obey
 * U+009B as CSI) or bidirectional override or isolate (U+202A-U+202E,
 * U+2066-U+2069: they reorder what follows on the screen, so a table row
 * or a note could show other than it says) in the valid UTF-8 s; n when
 * there is none.
 */
size_t
utf8_unsafe(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return i;
		if (i + 2 < n && p[i] == 0xe2 &&
		    ((p[i + 1] == 0x80 && p[i + 2] >= 0xaa && p[i + 2] <= 0xae) ||
		    (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)))
			return i;
	}
	return n;
}

static int
word_char(unsigned char c)
{
	return c >= 0x80 || isalnum(c);
}

/* Whether s holds w as a whole word, without regard to ASCII case: not
 * within a longer word (bytes of UTF-8 letters count as letters). */
int
text_has_word(const char *s, const char *w)
{
	size_t n = strlen(w), i;

	if (n == 0)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (strncasecmp(s + i, w, n) == 0 &&
		    (i == 0 || !word_char((unsigned char)s[i - 1])) &&
		    !word_char((unsigned char)s[i + n]))
			return 1;
	return 0;
}

/*
 * Which of a client's identifiers text holds, if any: the email anywhere
 * (checked first: it often holds the name), else the name (when given)
 * or the surname as a word; names under three letters are too common to
 * tell. "email", "name", "surname" or NULL.
 */
const char *
text_names_client(const char *text, const char *name, const char *surname,
    const char *email)
{
	if (email != NULL && strlen(email) >= 3 &&
	    strcasestr(text, email) != NULL)
		return "email";
	if (name != NULL && strlen(name) >= 3 && text_has_word(text, name))
		return "name";
	if (surname != NULL && strlen(surname) >= 3 &&
	    text_has_word(text, surname))
		return "surname";
	return NULL;
}

/* Counts UTF-8 code points; -1 if the bytes are not valid UTF-8. */
static long
utf8_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strlen(s);
	long n = 0;
	size_t k;

	while (p < end) {
		if ((k = utf8_seq(p, end)) == 0)
			return -1;
		p += k;
		n++;
	}
	return n;
}

int
check_text(const char *what, const char *s, size_t max, int required,
    int multiline, struct rv_err *e)
{
	const unsigned char *p;
	long n;

	if (s == NULL || *s == '\0') {
		if (required)
			return rv_fail(e, EX_DATAERR, "%s is empty", what);
		return 0;
	}
	n = utf8_len(s);
	if (n < 0)
		return rv_fail(e, EX_DATAERR, "%s is not valid UTF-8", what);
	if ((size_t)n > max)
		return rv_fail(e, EX_DATAERR,
		    "%s is too long (%ld characters, at most %zu)", what, n,
		    max);
	for (p = (const unsigned char *)s; *p; p++) {
		if ((*p == '\n' || *p == '\t') && multiline)
			continue;
		if (*p < 0x20 || *p == 0x7f)
			return rv_fail(e, EX_DATAERR,
			    "%s contains a control character", what);
	}
	if (utf8_unsafe(s, strlen(s)) != strlen(s))
		return rv_fail(e, EX_DATAERR, "%s contains a control or "
		    "direction-override character", what);
	if (required && isspace((unsigned char)s[0]) &&
	    strspn(s, " \t\n") == strlen(s))
		return rv_fail(e, EX_DATAERR, "%s is empty", what);
	return 0;
}

/* The shape of an address: local@domain.tld, no spaces, sane lengths. */
int
check_email(const char *s, struct rv_err *e)
{
	const char *at, *p, *dot;
	size_t len = strlen(s);

	at = strchr(s, '@');
	if (len == 0 || len > 254 || at == NULL || at == s ||
	    strchr(at + 1, '@') != NULL || at - s > 64)
		goto bad;
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c == 0x7f || c >= 0x80 || strchr("()<>,;:\\\"[]",
		    c) != NULL)
			goto bad;
	}
	if (s[0] == '.' || at[-1] == '.' || strstr(s, "..") != NULL)
		goto bad;
	dot = strrchr(at + 1, '.');
	if (dot == NULL || dot == at + 1 || dot[1] == '\0' || at[1] == '-' ||
	    dot[-1] == '-')
		goto bad;
	for (p = at + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			goto bad;
	for (p = dot + 1; *p; p++)
		if (!isalpha((unsigned char)*p))
			goto bad;
	return 0;
bad:
	return rv_fail(e, EX_DATAERR, "bad email address '%s'", s);
}

/* Keeps a leading + and the digits; spaces, dots, dashes, brackets go. */
int
norm_phone(const char *s, char *out, size_t outsz, struct rv_err *e)
{
	const char *p = s;
	size_t n = 0, digits = 0;

	if (*p == '+')
		out[n++] = *p++;
	for (; *p; p++) {
		if (isdigit((unsigned char)*p)) {
			if (n + 1 >= outsz)
				goto bad;
			out[n++] = *p;
			digits++;
		} else if (strchr(" .-()/", *p) == NULL)
			goto bad;
	}
	out[n] = '\0';
	if (digits < 6 || digits > 15)
		goto bad;
	return 0;
bad:
	return rv_fail(e, EX_DATAERR,
	    "bad phone number '%s': digits with an optional leading +", s);
}

int
is_tty(FILE *fp)
{
	return isatty(fileno(fp));
}

const char *
login_name(void)
{
	static char name[64];
	struct passwd *pw;
	const char *s;

	if (name[0] != '\0')
		return name;
	pw = getpwuid(geteuid());
	s = pw != NULL ? pw->pw_name : getenv("USER");
	snprintf(name, sizeof(name), "%s", s != NULL ? s : "unknown");
	return name;
}

/* mkdir -p of path's parents; the last component gets mode_last. */
int
mkdir_parents(const char *path, int mode_last, struct rv_err *e)
{
	char buf[PATH_MAX];
	char *p;
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return rv_fail(e, EX_CANTCREAT, "path too long: %s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return rv_fail_errno(e, EX_CANTCREAT,
			    "cannot create %s", buf);
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode_last) < 0) {
		if (errno != EEXIST || stat(buf, &st) < 0 ||
		    !S_ISDIR(st.st_mode))
			return rv_fail_errno(e, EX_CANTCREAT,
			    "cannot create %s", buf);
	}
	return 0;
}
