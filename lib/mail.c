/*
 * mail.c — what a message says and how it is written: the checks made at
 * send time, templates with named fields, RFC 5322 and MIME, RFC 2047
 * words, quoted-printable, RFC 5545 calendar files and mbox entries.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "consent.h"
#include "mail.h"
#include "banned.h"

#define MAX_TEMPLATE (64 * 1024)
#define NCACHE 32

struct tmpl {
	char locale[8];
	char kind[16];
	char path[PATH_MAX];
	char *subject, *body;
};

struct mail_ctx {
	sqlite3 *db;
	const struct rv_conf *conf;
	struct mail_addr from;
	struct mail_addr reply_to;	/* addr empty when none */
	char instance[17];
	char uid_domain[256];
	const char *unsubscribe_url;	/* NULL when not configured */
	uint8_t token_key[RV_KEY_LEN];
	char dirs[2][PATH_MAX];
	int ndirs;
	struct tmpl cache[NCACHE];
	size_t ncache;
};

static const char *const days_it[8] = { "", "lunedì", "martedì",
	"mercoledì", "giovedì", "venerdì", "sabato", "domenica" };
static const char *const days_en[8] = { "", "Monday", "Tuesday",
	"Wednesday", "Thursday", "Friday", "Saturday", "Sunday" };
static const char *const months_it[13] = { "", "gennaio", "febbraio",
	"marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
	"settembre", "ottobre", "novembre", "dicembre" };
static const char *const months_en[13] = { "", "January", "February",
	"March", "April", "May", "June", "July", "August", "September",
	"October", "November", "December" };

void
mail_free(struct mail *m)
{
	free(m->subject);
	free(m->body);
	free(m->ics);
	free(m->unsubscribe);
	free(m->unsubscribe_url);
	memset(m, 0, sizeof(*m));
}

/* ---- addresses ---- */

static void
trim_copy(char *dst, size_t n, const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	if (len >= n)
		len = n - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

int
mail_parse_addr(const char *s, struct mail_addr *a, struct rv_err *e)
{
	const char *lt = strchr(s, '<'), *gt;
	const unsigned char *p;

	memset(a, 0, sizeof(*a));
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return rv_fail(e, EX_CONFIG, "address '%s' contains a "
			    "control character", s);
	if (lt != NULL) {
		gt = strchr(lt, '>');
		if (gt == NULL || gt[1] != '\0' || (size_t)(gt - lt) >=
		    sizeof(a->addr))
			return rv_fail(e, EX_CONFIG, "bad address '%s': write "
			    "it as Name <addr@example.com>", s);
		trim_copy(a->name, sizeof(a->name), s, (size_t)(lt - s));
		memcpy(a->addr, lt + 1, (size_t)(gt - lt - 1));
		a->addr[gt - lt - 1] = '\0';
	} else {
		trim_copy(a->addr, sizeof(a->addr), s, strlen(s));
	}
	if (strchr(a->name, '"') != NULL || strchr(a->name, '\\') != NULL)
		return rv_fail(e, EX_CONFIG, "bad address '%s': no quotes or "
		    "backslashes in the name", s);
	if (check_email(a->addr, e) != 0)
		return rv_fail(e, EX_CONFIG, "bad address '%s'", s);
	return 0;
}

/* ---- encoders ---- */

static const char hexdig[] = "0123456789ABCDEF";

void
mail_base64(const void *data, size_t n, int wrap, struct rv_buf *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	size_t i, col = 0;
	char q[4];

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = tab[v >> 18 & 63];
		q[1] = tab[v >> 12 & 63];
		q[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		buf_add(out, q, 4);
		col += 4;
		if (wrap && col >= 76 && i + 3 < n) {
			buf_adds(out, "\r\n");
			col = 0;
		}
	}
	if (wrap)
		buf_adds(out, "\r\n");
}

/*
 * RFC 2045 quoted-printable of text whose lines end in \n: lines of at
 * most 76 octets, CRLF ends, trailing white space and a leading '.' or
 * "From " encoded so that no relay or mbox can change them.
 */
void
mail_qp(const char *text, struct rv_buf *out)
{
	const char *line = text, *nl;

	while (*line != '\0') {
		size_t len, i, col = 0;

		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)line[i];
			int enc = c == '=' || c > 126 ||
			    (c < 32 && c != '\t') ||
			    ((c == ' ' || c == '\t') && i + 1 == len) ||
			    (col == 0 && c == '.') ||
			    (col == 0 && c == 'F' && strncmp(line + i, "From ",
			    5) == 0);
			size_t w = enc ? 3 : 1;

			if (col + w > 75) {
				buf_adds(out, "=\r\n");
				col = 0;
				if (c == '.' || (c == 'F' && strncmp(line + i,
				    "From ", 5) == 0)) {
					enc = 1;
					w = 3;
				}
			}
			if (enc) {
				buf_addc(out, '=');
				buf_addc(out, hexdig[c >> 4]);
				buf_addc(out, hexdig[c & 15]);
			} else {
				buf_addc(out, (char)c);
			}
			col += w;
		}
		buf_adds(out, "\r\n");
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

/* The bytes of the character at p: a stray byte counts as one. */
static size_t
char_len(const unsigned char *p, const unsigned char *end)
{
	size_t k = utf8_seq(p, end);

	return k ? k : 1;
}

static int
ascii_plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* A header being written, for folding at white space near 76 columns.
 * Never before its first word: in unstructured text (Subject) the fold's
 * blank would stay at the front of what readers show. */
struct hdr {
	struct rv_buf *b;
	size_t col;
	int started;	/* a word is out: a fold may come before the next */
};

static void
hdr_start(struct hdr *h, struct rv_buf *b, const char *name)
{
	h->b = b;
	buf_adds(b, name);
	buf_adds(b, ":");
	h->col = strlen(name) + 1;
	h->started = 0;
}

/* Appends a word, preceded by a space or a fold. */
static void
hdr_word(struct hdr *h, const char *w, size_t n)
{
	if (h->col + 1 + n > 76 && h->started) {
		buf_adds(h->b, "\r\n ");
		h->col = 1;
	} else {
		buf_addc(h->b, ' ');
		h->col++;
	}
	buf_add(h->b, w, n);
	h->col += n;
	h->started = 1;
}

static void
hdr_end(struct hdr *h)
{
	buf_adds(h->b, "\r\n");
}

static int
q_safe(unsigned char c)
{
	return c < 0x80 && (isalnum(c) || strchr("!*+-/", c) != NULL);
}

/* The length of n bytes as Q-encoded text. */
static size_t
q_len(const unsigned char *p, size_t n)
{
	size_t len = 0, i;

	for (i = 0; i < n; i++)
		len += q_safe(p[i]) || p[i] == ' ' ? 1 : 3;
	return len;
}

static void
q_put(char *word, size_t *n, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == ' ') {
			word[(*n)++] = '_';
		} else if (q_safe(p[i])) {
			word[(*n)++] = (char)p[i];
		} else {
			word[(*n)++] = '=';
			word[(*n)++] = hexdig[p[i] >> 4];
			word[(*n)++] = hexdig[p[i] & 15];
		}
	}
}

/*
 * RFC 2047 Q words of the len bytes at s, each at most 75 octets, in the
 * set safe in a phrase. A word ends after a space when it can, with the
 * space inside it, so that a decoder that wrongly keeps the white space
 * between two words still reads the text right; a character is never
 * split.
 */
static void
hdr_encoded(struct hdr *h, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len, *q;
	char word[80];
	size_t n, lim, k;

	while (p < end) {
		/* What fits the rest of this line, else a fold and a whole
		 * line's worth. */
		lim = h->col + 1 + 24 <= 76 ? 76 - h->col - 1 : 75;
		if (lim > 75)
			lim = 75;
		memcpy(word, "=?UTF-8?Q?", 10);
		n = 10;
		while (p < end) {
			for (q = p; q < end && *q != ' '; q++)
				;
			if (q < end)
				q++;
			if (n + q_len(p, (size_t)(q - p)) + 2 <= lim) {
				q_put(word, &n, p, (size_t)(q - p));
				p = q;
				continue;
			}
			if (n > 10)
				break;
			/* Too long for this line, not for a whole one: fold
			 * (not before the first word, see struct hdr). */
			if (lim < 75 && h->started &&
			    12 + q_len(p, (size_t)(q - p)) <= 75) {
				lim = 75;
				continue;
			}
			/* A word longer than an encoded word: by characters. */
			while (p < q) {
				k = char_len(p, end);
				if (n + q_len(p, k) + 2 > lim)
					break;
				q_put(word, &n, p, k);
				p += k;
			}
			break;
		}
		word[n++] = '?';
		word[n++] = '=';
		hdr_word(h, word, n);
	}
}


/* A word that can stand in a phrase as it is. */
static int
atom_word(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80 ||
		    (!isalnum((unsigned char)p[i]) &&
		    strchr("!#$%&'*+-/=?^_`{|}~", p[i]) == NULL))
			return 0;
	return memmem(p, n, "=?", 2) == NULL;
}

/* A word that can stand in unstructured text as it is. */
static int
text_word(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return 0;
	return memmem(p, n, "=?", 2) == NULL;
}

/*
 * Words as they are where they can be, runs of the others as RFC 2047
 * words between them, as most mailers write them: plain(word) says which
 * (atoms in a display name, any printable ASCII in unstructured text).
 */
static void
hdr_words(struct hdr *h, const char *s, int (*plain)(const char *, size_t))
{
	const char *p = s, *q, *run = NULL, *run_end = NULL;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		q = p + strcspn(p, " ");
		/* A word as it is only where a line can hold it; else in the
		 * encoded run, which splits it between lines. */
		if (plain(p, (size_t)(q - p)) && ((h->started || run != NULL) ?
		    1 + (size_t)(q - p) <= 76 :
		    h->col + 1 + (size_t)(q - p) <= 76)) {
			if (run != NULL)
				hdr_encoded(h, run, (size_t)(run_end - run));
			run = NULL;
			hdr_word(h, p, (size_t)(q - p));
		} else {
			if (run == NULL)
				run = p;
			run_end = q;
		}
		p = q;
	}
	if (run != NULL)
		hdr_encoded(h, run, (size_t)(run_end - run));
}

void
mail_header_text(struct rv_buf *out, const char *name, const char *value)
{
	struct hdr h;

	hdr_start(&h, out, name);
	hdr_words(&h, value, text_word);
	hdr_end(&h);
}

/* A display name and address; a name of ASCII that is not all atoms is a
 * quoted string. */
static void
hdr_mailbox(struct hdr *h, const struct mail_addr *a)
{
	struct rv_buf w = { 0 };

	if (a->name[0] != '\0') {
		if (ascii_plain(a->name) && strchr(a->name, '"') == NULL &&
		    strchr(a->name, '\\') == NULL && strstr(a->name, "=?") ==
		    NULL && strpbrk(a->name, "()<>[]:;@,.") != NULL &&
		    strlen(a->name) + 3 <= 76) {
			buf_addc(&w, '"');
			buf_adds(&w, a->name);
			buf_addc(&w, '"');
			hdr_word(h, w.s, w.len);
			buf_reset(&w);
		} else {
			hdr_words(h, a->name, atom_word);
		}
	}
	buf_printf(&w, "<%s>", a->addr);
	hdr_word(h, w.s, w.len);
	buf_free(&w);
}

void
mail_date(int64_t t, char buf[64])
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;
	long off;

	localtime_r(&tt, &tm);
	off = tm.tm_gmtoff;
	snprintf(buf, 64, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    wd[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    labs(off) / 3600 % 100, labs(off) / 60 % 60);
}

void
mail_format(const struct mail *m, struct rv_buf *out)
{
	struct hdr h;
	char date[64], boundary[64];

	mail_date(m->date, date);
	buf_printf(out, "Date: %s\r\n", date);
	hdr_start(&h, out, "From");
	hdr_mailbox(&h, &m->from);
	hdr_end(&h);
	hdr_start(&h, out, "To");
	hdr_mailbox(&h, &m->to);
	hdr_end(&h);
	if (m->reply_to.addr[0] != '\0') {
		hdr_start(&h, out, "Reply-To");
		hdr_mailbox(&h, &m->reply_to);
		hdr_end(&h);
	}
	mail_header_text(out, "Subject", m->subject);
	buf_printf(out, "Message-ID: %s\r\n", m->message_id);
	buf_adds(out, "MIME-Version: 1.0\r\n");
	/* RFC 3834: no vacation replies to a machine. */
	buf_adds(out, "Auto-Submitted: auto-generated\r\n");
	if (m->unsubscribe != NULL) {
		/* A URL has no place to fold but before it: there, in a
		 * structured field, a fold is only white space. */
		hdr_start(&h, out, "List-Unsubscribe");
		h.started = 1;
		hdr_word(&h, m->unsubscribe, strlen(m->unsubscribe));
		hdr_end(&h);
		buf_adds(out, "List-Unsubscribe-Post: "
		    "List-Unsubscribe=One-Click\r\n");
	}
	if (m->ics == NULL) {
		buf_adds(out, "Content-Type: text/plain; charset=UTF-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		mail_qp(m->body, out);
		return;
	}
	/* "=_" never occurs in quoted-printable or base64 text. */
	snprintf(boundary, sizeof(boundary), "=_rv_%.40s", m->message_id + 1);
	boundary[strcspn(boundary, "@>")] = '\0';
	buf_printf(out, "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n"
	    "\r\nThis is a MIME message.\r\n", boundary);
	buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", boundary);
	mail_qp(m->body, out);
	buf_printf(out, "--%s\r\nContent-Type: text/calendar; charset=UTF-8; "
	    "method=%s;\r\n name=\"invite.ics\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"invite.ics\"\r\n\r\n",
	    boundary, m->ics_method);
	mail_base64(m->ics, strlen(m->ics), 1, out);
	buf_printf(out, "--%s--\r\n", boundary);
}

void
mail_mbox(const struct mail *m, const struct rv_buf *msg, struct rv_buf *out)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)m->date;
	struct tm tm;
	const char *p = msg->s, *nl, *q;
	size_t len;

	gmtime_r(&tt, &tm);
	buf_printf(out, "From %s %s %s %2d %02d:%02d:%02d %04d\n",
	    m->from.addr, wd[tm.tm_wday], mon[tm.tm_mon], tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		/* mboxrd: any run of '>' before "From " gains one more. */
		for (q = p; q < p + len && *q == '>'; q++)
			;
		if ((size_t)(p + len - q) >= 5 && strncmp(q, "From ", 5) == 0)
			buf_addc(out, '>');
		buf_add(out, p, len);
		buf_addc(out, '\n');
		p = nl != NULL ? nl + 1 : NULL;
	}
	buf_addc(out, '\n');
}

/* ---- RFC 5545 ---- */

/* A content line folded at 75 octets, never inside a character. */
static void
ics_line(struct rv_buf *out, const char *line)
{
	const unsigned char *p = (const unsigned char *)line;
	const unsigned char *end = p + strlen(line);
	size_t col = 0, k;

	while (*p) {
		k = char_len(p, end);
		if (col + k > 75) {
			buf_adds(out, "\r\n ");
			col = 1;
		}
		buf_add(out, (const char *)p, k);
		col += k;
		p += k;
	}
	buf_adds(out, "\r\n");
}

static void
ics_escape(struct rv_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == ';' || *s == ',') {
			buf_addc(b, '\\');
			buf_addc(b, *s);
		} else if (*s == '\n') {
			buf_adds(b, "\\n");
		} else if ((unsigned char)*s >= 0x20 && *s != 0x7f) {
			buf_addc(b, *s);
		}
	}
}

/* A parameter value: quoted, without the quotes it cannot hold. */
static void
ics_param(struct rv_buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s; s++)
		if (*s != '"' && (unsigned char)*s >= 0x20 && *s != 0x7f)
			buf_addc(b, *s);
	buf_addc(b, '"');
}

static void
ics_time(int64_t t, char buf[48])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(buf, 48, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

struct ics_event {
	const char *method, *uid, *summary, *location;
	int64_t stamp, start, end, sequence;
	const struct mail_addr *organizer, *attendee;
};

static char *
ics_build(const struct ics_event *ev)
{
	struct rv_buf out = { 0 }, l = { 0 };
	char t[48];
	int cancel = strcmp(ev->method, "CANCEL") == 0;

	ics_line(&out, "BEGIN:VCALENDAR");
	ics_line(&out, "VERSION:2.0");
	ics_line(&out, "PRODID:-//riserva//riserva " RV_VERSION "//EN");
	ics_line(&out, "CALSCALE:GREGORIAN");
	buf_printf(&l, "METHOD:%s", ev->method);
	ics_line(&out, l.s);
	ics_line(&out, "BEGIN:VEVENT");
	buf_reset(&l);
	buf_adds(&l, "UID:");
	ics_escape(&l, ev->uid);
	ics_line(&out, l.s);
	ics_time(ev->stamp, t);
	buf_reset(&l);
	buf_printf(&l, "DTSTAMP:%s", t);
	ics_line(&out, l.s);
	ics_time(ev->start, t);
	buf_reset(&l);
	buf_printf(&l, "DTSTART:%s", t);
	ics_line(&out, l.s);
	ics_time(ev->end, t);
	buf_reset(&l);
	buf_printf(&l, "DTEND:%s", t);
	ics_line(&out, l.s);
	buf_reset(&l);
	buf_printf(&l, "SEQUENCE:%lld", (long long)ev->sequence);
	ics_line(&out, l.s);
	ics_line(&out, cancel ? "STATUS:CANCELLED" : "STATUS:CONFIRMED");
	buf_reset(&l);
	buf_adds(&l, "SUMMARY:");
	ics_escape(&l, ev->summary);
	ics_line(&out, l.s);
	if (ev->location != NULL && *ev->location != '\0') {
		buf_reset(&l);
		buf_adds(&l, "LOCATION:");
		ics_escape(&l, ev->location);
		ics_line(&out, l.s);
	}
	buf_reset(&l);
	buf_adds(&l, "ORGANIZER");
	if (ev->organizer->name[0] != '\0') {
		buf_adds(&l, ";CN=");
		ics_param(&l, ev->organizer->name);
	}
	buf_printf(&l, ":mailto:%s", ev->organizer->addr);
	ics_line(&out, l.s);
	buf_reset(&l);
	buf_adds(&l, "ATTENDEE;CN=");
	ics_param(&l, ev->attendee->name);
	buf_printf(&l, ";ROLE=REQ-PARTICIPANT;PARTSTAT=%s;RSVP=FALSE:"
	    "mailto:%s", cancel ? "DECLINED" : "ACCEPTED", ev->attendee->addr);
	ics_line(&out, l.s);
	ics_line(&out, cancel ? "TRANSP:TRANSPARENT" : "TRANSP:OPAQUE");
	ics_line(&out, "END:VEVENT");
	ics_line(&out, "END:VCALENDAR");
	buf_free(&l);
	return out.s;
}

/* ---- templates ---- */

/* The folder of the config file holds the centre's own templates. */
static void
override_dir(char *buf, size_t n)
{
	const char *cp = conf_path();
	const char *slash = strrchr(cp, '/');

	if (slash == NULL)
		snprintf(buf, n, "templates");
	else
		snprintf(buf, n, "%.*s/templates", (int)(slash - cp), cp);
}

/* The shipped templates: mail.templates, else share/riserva/templates
 * beside the binary's bin/ (the source tree and an installed tree alike). */
static int
shipped_dir(const struct rv_conf *conf, char *buf, size_t n, struct rv_err *e)
{
	const char *s = conf_get(conf, "mail.templates");
	char exe[PATH_MAX];
	ssize_t len;
	char *slash;

	if (s != NULL && *s != '\0') {
		snprintf(buf, n, "%s", s);
		return 0;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len < 0)
		return rv_fail_errno(e, EX_CONFIG, "cannot find the templates "
		    "(set mail.templates): /proc/self/exe");
	exe[len] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	if (snprintf(buf, n, "%s/../share/riserva/templates", exe) >= (int)n)
		return rv_fail(e, EX_CONFIG, "path too long: %s", exe);
	return 0;
}

static int
read_file(const char *path, char **out, struct rv_err *e)
{
	struct rv_buf b = { 0 };
	char chunk[4096];
	size_t n;
	FILE *fp;

	*out = NULL;
	if ((fp = fopen(path, "r")) == NULL)
		return errno == ENOENT ? -1 :
		    rv_fail_errno(e, EX_CONFIG, "cannot read %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		buf_add(&b, chunk, n);
		if (b.len > MAX_TEMPLATE) {
			fclose(fp);
			buf_free(&b);
			return rv_fail(e, EX_CONFIG, "%s: larger than %d bytes",
			    path, MAX_TEMPLATE);
		}
	}
	if (ferror(fp)) {
		fclose(fp);
		buf_free(&b);
		return rv_fail_errno(e, EX_CONFIG, "cannot read %s", path);
	}
	fclose(fp);
	buf_add(&b, "", 0);
	*out = b.s;
	return 0;
}

/* "Subject: ..." on the first line, an empty line, then the body. */
static int
parse_template(struct tmpl *t, char *text, struct rv_err *e)
{
	char *w, *r, *nl;

	/* CRLF files from other editors read as LF. */
	for (r = w = text; *r; r++)
		if (*r != '\r')
			*w++ = *r;
	*w = '\0';
	if (utf8_valid(text, strlen(text)) != strlen(text))
		return rv_fail(e, EX_CONFIG, "%s: not valid UTF-8", t->path);
	for (r = text; *r; r++)
		if (((unsigned char)*r < 0x20 && *r != '\n' && *r != '\t') ||
		    *r == 0x7f)
			return rv_fail(e, EX_CONFIG, "%s: contains a control "
			    "character", t->path);
	if (strncasecmp(text, "Subject:", 8) != 0 ||
	    (nl = strchr(text, '\n')) == NULL || nl[1] != '\n')
		return rv_fail(e, EX_CONFIG, "%s: the first line must be "
		    "'Subject: ...' and the second empty", t->path);
	*nl = '\0';
	r = text + 8;
	while (*r == ' ' || *r == '\t')
		r++;
	t->subject = xstrdup(r);
	t->body = xstrdup(nl + 2);
	return 0;
}

static int
load_template(struct mail_ctx *mc, const char *locale, const char *kind,
    const struct tmpl **out, struct rv_err *e)
{
	const char *try[2] = { locale, conf_get(mc->conf, "clinic.locale") };
	struct tmpl *t;
	char *text;
	size_t i;
	int l, d, rc;

	for (i = 0; i < mc->ncache; i++) {
		if (strcmp(mc->cache[i].locale, locale) == 0 &&
		    strcmp(mc->cache[i].kind, kind) == 0) {
			*out = &mc->cache[i];
			return 0;
		}
	}
	if (mc->ncache == NCACHE)
		return rv_fail(e, EX_SOFTWARE, "template cache full");
	t = &mc->cache[mc->ncache];
	for (l = 0; l < 2; l++) {
		for (d = 0; d < mc->ndirs; d++) {
			snprintf(t->path, sizeof(t->path), "%s/%s/%s.txt",
			    mc->dirs[d], try[l], kind);
			rc = read_file(t->path, &text, e);
			if (rc < 0)
				continue;
			if (rc != 0)
				return rc;
			rc = parse_template(t, text, e);
			free(text);
			if (rc != 0)
				return rc;
			snprintf(t->locale, sizeof(t->locale), "%s", locale);
			snprintf(t->kind, sizeof(t->kind), "%s", kind);
			mc->ncache++;
			*out = t;
			return 0;
		}
	}
	return rv_fail(e, EX_CONFIG, "no template '%s/%s.txt' in %s or %s "
	    "(set mail.templates to the folder of the shipped ones)", locale,
	    kind, mc->dirs[0], mc->dirs[mc->ndirs - 1]);
}

/* {a.b} is the field a.b; {{ and }} are braces. */
static int
expand(const char *tpl, json_t *fields, const char *path, int one_line,
    struct rv_buf *out, struct rv_err *e)
{
	const char *p = tpl, *end, *v;
	char name[64];
	size_t n;

	buf_add(out, "", 0);
	while (*p) {
		if (p[0] == '{' && p[1] == '{') {
			buf_addc(out, '{');
			p += 2;
			continue;
		}
		if (p[0] == '}' && p[1] == '}') {
			buf_addc(out, '}');
			p += 2;
			continue;
		}
		if (*p != '{') {
			buf_addc(out, *p++);
			continue;
		}
		end = strchr(p, '}');
		n = end != NULL ? (size_t)(end - p - 1) : 0;
		if (end == NULL || n == 0 || n >= sizeof(name) ||
		    strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789_.") !=
		    n)
			return rv_fail(e, EX_CONFIG, "%s: a '{' that opens no "
			    "field (write {{ for a brace)", path);
		memcpy(name, p + 1, n);
		name[n] = '\0';
		v = json_string_value(json_object_get(fields, name));
		if (v == NULL)
			return rv_fail(e, EX_CONFIG, "%s: unknown field {%s}",
			    path, name);
		for (; *v; v++)
			buf_addc(out, one_line && (*v == '\n' || *v == '\t') ?
			    ' ' : *v);
		p = end + 1;
	}
	return 0;
}

static void
field(json_t *f, const char *key, const char *value)
{
	json_object_set_new(f, key, json_string(value != NULL ? value : ""));
}

/* "martedì 1 dicembre 2026" / "Tuesday 1 December 2026", and "10:00". */
static void
date_fields(json_t *f, const char *prefix, int64_t t, const char *locale)
{
	int y, m, d, minute, it = strcmp(locale, "en") != 0;
	char key[64], date[96], hm[8], both[128];

	tm_day_of(t, &y, &m, &d, &minute);
	snprintf(date, sizeof(date), "%s %d %s %d",
	    (it ? days_it : days_en)[tm_weekday(y, m, d)], d,
	    (it ? months_it : months_en)[m], y);
	tm_hhmm(minute, hm);
	snprintf(both, sizeof(both), "%s, %s", date, hm);
	snprintf(key, sizeof(key), "%s.date", prefix);
	field(f, key, date);
	snprintf(key, sizeof(key), "%s.time", prefix);
	field(f, key, hm);
	snprintf(key, sizeof(key), "%s.start", prefix);
	field(f, key, both);
}

/* ---- the context ---- */

/*
 * The value stored under key, or, the first time, first stored there: in
 * the caller's transaction when there is one, else in one of its own.
 */
static int
meta_once(sqlite3 *db, const char *key, const char *first, char *out,
    size_t n, struct rv_err *e)
{
	char *v = NULL;
	int rc, own;

	if ((rc = db_meta_get(db, key, &v, e)) != 0)
		return rc;
	if (v != NULL) {
		snprintf(out, n, "%s", v);
		free(v);
		return 0;
	}
	snprintf(out, n, "%s", first);
	own = sqlite3_get_autocommit(db);
	if (own && (rc = db_begin(db, e)) != 0)
		return rc;
	if ((rc = db_meta_get(db, key, &v, e)) != 0)
		goto out;
	if (v != NULL)
		snprintf(out, n, "%s", v);
	else
		rc = db_meta_set(db, key, out, e);
	if (own && rc == 0)
		return db_commit(db, e);
out:
	free(v);
	if (own)
		db_rollback(db);
	return rc;
}

static int
instance_id(sqlite3 *db, const char *from_addr, char out[17],
    char domain[256], struct rv_err *e)
{
	unsigned char r[8];
	char hex[17];
	int rc;

	/* First run: a random id makes UIDs and Message-IDs unique to this
	 * database even when two centres number appointments alike. */
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return rv_fail_errno(e, EX_OSERR, "getrandom");
	crypt_hex(r, sizeof(r), hex);
	if ((rc = meta_once(db, "mail.instance", hex, out, 17, e)) != 0)
		return rc;
	/* A calendar UID is for an appointment's whole life: the domain of
	 * the first sender, so a new mail.from does not turn a change or a
	 * CANCEL into a second event in the client's calendar. */
	return meta_once(db, "mail.uid_domain", strchr(from_addr, '@') + 1,
	    domain, 256, e);
}

int
mail_open(sqlite3 *db, const struct rv_conf *conf, const uint8_t *token_key,
    struct mail_ctx **out, struct rv_err *e)
{
	struct mail_ctx *mc = xcalloc(1, sizeof(*mc));
	const char *from = conf_get(conf, "mail.from");
	const char *reply = conf_get(conf, "clinic.email");
	const char *unsub = conf_get(conf, "mail.unsubscribe_url");
	int rc;

	*out = NULL;
	mc->db = db;
	mc->conf = conf;
	if (unsub != NULL && *unsub != '\0') {
		/* RFC 8058: the one-click link is HTTPS. */
		if (strncmp(unsub, "https://", 8) != 0 || strchr(unsub, ' ') ||
		    strchr(unsub, '>') || strchr(unsub, '<')) {
			rc = rv_fail(e, EX_CONFIG, "config "
			    "mail.unsubscribe_url: '%s' is not an https:// "
			    "URL", unsub);
			goto fail;
		}
		if (token_key == NULL) {
			rc = rv_fail(e, EX_SOFTWARE, "no key for unsubscribe "
			    "tokens");
			goto fail;
		}
		mc->unsubscribe_url = unsub;
		memcpy(mc->token_key, token_key, RV_KEY_LEN);
	}
	if (from == NULL || *from == '\0') {
		rc = rv_fail(e, EX_CONFIG, "config mail.from is not set: the "
		    "sender, like Centro Aurora <prenotazioni@example.com>");
		goto fail;
	}
	if ((rc = mail_parse_addr(from, &mc->from, e)) != 0) {
		rv_prefix(e, "config mail.from: ");
		goto fail;
	}
	if (mc->from.name[0] == '\0')
		snprintf(mc->from.name, sizeof(mc->from.name), "%s",
		    conf_get(conf, "clinic.name"));
	if (reply != NULL && *reply != '\0') {
		if ((rc = mail_parse_addr(reply, &mc->reply_to, e)) != 0) {
			rv_prefix(e, "config clinic.email: ");
			goto fail;
		}
		if (mc->reply_to.name[0] == '\0')
			snprintf(mc->reply_to.name, sizeof(mc->reply_to.name),
			    "%s", mc->from.name);
	}
	override_dir(mc->dirs[0], sizeof(mc->dirs[0]));
	if ((rc = shipped_dir(conf, mc->dirs[1], sizeof(mc->dirs[1]), e)) != 0)
		goto fail;
	mc->ndirs = 2;
	if ((rc = instance_id(db, mc->from.addr, mc->instance,
	    mc->uid_domain, e)) != 0)
		goto fail;
	*out = mc;
	return 0;
fail:
	rv_wipe(mc->token_key, sizeof(mc->token_key));
	free(mc);
	return rc;
}

const char *
mail_from_addr(const struct mail_ctx *mc)
{
	return mc->from.addr;
}

void
mail_close(struct mail_ctx *mc)
{
	size_t i;

	if (mc == NULL)
		return;
	for (i = 0; i < mc->ncache; i++) {
		free(mc->cache[i].subject);
		free(mc->cache[i].body);
	}
	rv_wipe(mc->token_key, sizeof(mc->token_key));
	free(mc);
}

/* ---- composing one message ---- */

struct who_to {
	char name[512], surname[512], email[256], locale[8];
	int restricted, found;
};

static int
load_client(sqlite3 *db, int64_t id, struct who_to *c, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT name, surname, email, locale, restricted FROM client "
	    "WHERE id = ?";
	sqlite3_stmt *st;
	int rc;

	memset(c, 0, sizeof(*c));
	if (id <= 0)
		return 0;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(c->name, sizeof(c->name), "%s",
		    sqlite3_column_text(st, 0));
		snprintf(c->surname, sizeof(c->surname), "%s",
		    sqlite3_column_text(st, 1));
		snprintf(c->email, sizeof(c->email), "%s",
		    sqlite3_column_text(st, 2));
		snprintf(c->locale, sizeof(c->locale), "%s",
		    sqlite3_column_text(st, 3));
		c->restricted = sqlite3_column_int(st, 4);
		c->found = 1;
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "client");
	}
	sqlite3_reset(st);
	return rc;
}

/* Names hold 100 characters (check_text), each up to 4 bytes: a buffer
 * any shorter cuts a character in two, and json_string() refuses that. */
#define NAME_BYTES (100 * 4 + 1)

struct appt_info {
	int64_t client_id, version, start, end;
	char status[16], service[NAME_BYTES], staff[NAME_BYTES];
	int found;
};

static int
load_appt(sqlite3 *db, int64_t id, struct appt_info *a, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT a.client_id, a.version, a.start, a.end, a.status, v.name, "
	    "s.name FROM appointment a JOIN service v ON v.id = a.service_id "
	    "JOIN staff s ON s.id = a.staff_id WHERE a.id = ?";
	sqlite3_stmt *st;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		a->client_id = sqlite3_column_int64(st, 0);
		a->version = sqlite3_column_int64(st, 1);
		a->start = sqlite3_column_int64(st, 2);
		a->end = sqlite3_column_int64(st, 3);
		snprintf(a->status, sizeof(a->status), "%s",
		    sqlite3_column_text(st, 4));
		snprintf(a->service, sizeof(a->service), "%s",
		    sqlite3_column_text(st, 5));
		snprintf(a->staff, sizeof(a->staff), "%s",
		    sqlite3_column_text(st, 6));
		a->found = 1;
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "appointment");
	}
	sqlite3_reset(st);
	return rc;
}

/* A reminder with a shorter lead for the same version supersedes this
 * one: after a run missed, one reminder goes, the closer one. */
static int
closer_reminder(sqlite3 *db, const struct outbox_msg *m, int64_t *lead,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT min(lead) FROM message WHERE appointment_id = ? "
	    "AND kind = 'reminder' AND version = ? AND lead < ? "
	    "AND status <> 'skipped'";
	sqlite3_stmt *st;
	int rc;

	*lead = 0;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, m->appointment_id);
	sqlite3_bind_int64(st, 2, m->version);
	sqlite3_bind_int64(st, 3, m->lead);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*lead = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : db_fail(db, rc, e, "message");
	}
	sqlite3_reset(st);
	return rc;
}

/* A change or cancellation notice of a later version, not given up. */
static int
later_notice(sqlite3 *db, const struct outbox_msg *m, int *found,
    struct rv_err *e)
{
	static const char sql[] =
	    "SELECT 1 FROM message WHERE appointment_id = ? "
	    "AND kind IN ('change', 'cancellation') AND version > ? "
	    "AND status NOT IN ('skipped', 'failed') LIMIT 1";
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	if ((rc = db_cached(db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, m->appointment_id);
	sqlite3_bind_int64(st, 2, m->version);
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    db_fail(db, rc, e, "message");
	sqlite3_reset(st);
	return rc;
}

/* Why an appointment's message must not go any more, if it must not. */
static int
appt_stale(struct mail_ctx *mc, const struct outbox_msg *m,
    const struct appt_info *a, int64_t now, char reason[256],
    struct rv_err *e)
{
	char lead[24];
	int64_t closer;
	int rc;

	if (strcmp(m->kind, "reminder") == 0) {
		if (strcmp(a->status, "cancelled") == 0) {
			snprintf(reason, 256, "appointment cancelled");
			return 0;
		}
		if (strcmp(a->status, "booked") != 0) {
			snprintf(reason, 256, "appointment is %s", a->status);
			return 0;
		}
		if (a->version != m->version) {
			snprintf(reason, 256, "appointment moved (version "
			    "%lld is current)", (long long)a->version);
			return 0;
		}
		if (a->start <= now) {
			snprintf(reason, 256, "appointment already started");
			return 0;
		}
		if ((rc = closer_reminder(mc->db, m, &closer, e)) != 0)
			return rc;
		if (closer > 0) {
			outbox_lead_text(closer, lead);
			snprintf(reason, 256, "superseded by the %s reminder",
			    lead);
		}
		return 0;
	}
	if (a->version == m->version)
		return 0;
	/*
	 * A confirmation is owed by contract, without consent: overtaken by
	 * a move, it gives way only to the change notice that will reach the
	 * client; else it goes, with the appointment as it is now. Of a
	 * booking cancelled or done there is nothing to confirm.
	 */
	if (strcmp(m->kind, "confirmation") == 0) {
		int later, granted;

		if (strcmp(a->status, "cancelled") == 0 ||
		    strcmp(a->status, "done") == 0) {
			snprintf(reason, 256, "appointment %s", a->status);
			return 0;
		}
		if ((rc = later_notice(mc->db, m, &later, e)) != 0 ||
		    (rc = consent_granted(mc->db, m->client_id, "reminders",
		    &granted, e)) != 0)
			return rc;
		if (!later || !granted)
			return 0;
	}
	/*
	 * A change notice gives way to a later notice, not to any later
	 * version: gcal-sync's needs_review raises the version too, and
	 * the client would never hear of the move. It goes, with the
	 * appointment as it is now.
	 */
	if (strcmp(m->kind, "change") == 0 &&
	    strcmp(a->status, "cancelled") != 0) {
		int later;

		if (strcmp(a->status, "done") == 0) {
			snprintf(reason, 256, "appointment done");
			return 0;
		}
		if ((rc = later_notice(mc->db, m, &later, e)) != 0)
			return rc;
		if (!later)
			return 0;
	}
	snprintf(reason, 256, "superseded by version %lld",
	    (long long)a->version);
	return 0;
}

/* {policy.version}, {policy.url}, {policy.effective}: from the archive. */
static int
policy_fields(struct mail_ctx *mc, json_t *f, const char *version,
    const char *locale, struct rv_err *e)
{
	static const char sql[] =
	    "SELECT url, effective FROM policy WHERE version = ?";
	sqlite3_stmt *st;
	json_t *tmp;
	int rc;

	if ((rc = db_cached(mc->db, sql, &st, e)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, version, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		field(f, "policy.version", version);
		field(f, "policy.url", (const char *)sqlite3_column_text(st,
		    0));
		tmp = json_object();
		date_fields(tmp, "x", sqlite3_column_int64(st, 1), locale);
		field(f, "policy.effective", json_string_value(json_object_get(
		    tmp, "x.date")));
		json_decref(tmp);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = -1;	/* the message's fault, not the run's */
	} else {
		rc = db_fail(mc->db, rc, e, "policy");
	}
	sqlite3_reset(st);
	return rc;
}

/* The one-click link (RFC 8058) that withdraws purpose, when configured:
 * mail.unsubscribe_url with {token} replaced, or the token appended. */
static int
unsubscribe(struct mail_ctx *mc, int64_t client_id, const char *purpose,
    struct mail *out, struct rv_err *e)
{
	char token[CONSENT_TOKEN_MAX];
	struct rv_buf b = { 0 };
	const char *at;
	int rc;

	if (mc->unsubscribe_url == NULL)
		return 0;
	if ((rc = consent_token_make(mc->token_key, client_id, purpose, token,
	    e)) != 0)
		return rc;
	if ((at = strstr(mc->unsubscribe_url, "{token}")) != NULL) {
		buf_add(&b, mc->unsubscribe_url,
		    (size_t)(at - mc->unsubscribe_url));
		buf_adds(&b, token);
		buf_adds(&b, at + 7);
	} else {
		buf_adds(&b, mc->unsubscribe_url);
		buf_adds(&b, token);
	}
	out->unsubscribe_url = b.s;
	memset(&b, 0, sizeof(b));
	buf_printf(&b, "<%s>", out->unsubscribe_url);
	out->unsubscribe = b.s;
	return 0;
}

static int
notice_fields(struct mail_ctx *mc, json_t *f, const struct outbox_msg *m,
    const char *locale, struct rv_err *e)
{
	json_error_t je;
	json_t *data;
	const char *key;
	json_t *v;
	char name[96];
	int rc;

	field(f, "notice.ref", m->ref);
	if (strcmp(m->kind, "policy") == 0 &&
	    (rc = policy_fields(mc, f, m->ref, locale, e)) != 0)
		return rc;
	if (m->data == NULL)
		return 0;
	if ((data = json_loads(m->data, 0, &je)) == NULL ||
	    !json_is_object(data)) {
		json_decref(data);
		return rv_fail(e, EX_DATAERR, "message %lld: bad notice data",
		    (long long)m->id);
	}
	json_object_foreach(data, key, v) {
		snprintf(name, sizeof(name), "notice.%s", key);
		if (json_is_string(v))
			field(f, name, json_string_value(v));
	}
	json_decref(data);
	return 0;
}

int
mail_compose(struct mail_ctx *mc, const struct outbox_msg *m, int64_t now,
    struct mail *out, char reason[256], struct rv_err *e)
{
	const char *purpose = outbox_purpose(m->kind);
	const char *kinds_legal = strcmp(m->kind, "policy") == 0 ||
	    strcmp(m->kind, "breach") == 0 ? m->kind : NULL;
	const char *domain = strchr(mc->from.addr, '@') + 1;
	const struct tmpl *t = NULL;
	struct rv_buf b = { 0 };
	struct who_to c;
	struct appt_info a = { 0 };
	json_t *f = NULL;
	char uid[512];
	int granted, rc;

	memset(out, 0, sizeof(*out));
	reason[0] = '\0';
	if ((rc = load_client(mc->db, m->client_id, &c, e)) != 0)
		return rc;
	if (!c.found) {
		snprintf(reason, 256, "client erased");
		return 0;
	}
	/* What goes into the SMTP envelope is checked again here: a row
	 * written around the tools must not smuggle in a command. */
	if (check_email(c.email, e) != 0) {
		snprintf(reason, 256, "bad email address");
		return 0;
	}
	if (m->appointment_id != 0) {
		if ((rc = load_appt(mc->db, m->appointment_id, &a, e)) != 0)
			return rc;
		if (!a.found) {
			snprintf(reason, 256, "appointment deleted");
			return 0;
		}
		if (a.client_id != m->client_id) {
			snprintf(reason, 256, "client erased");
			return 0;
		}
		if ((rc = appt_stale(mc, m, &a, now, reason, e)) != 0 ||
		    reason[0] != '\0')
			return rc;
	}
	/* Art. 18: a restricted client is stored, not processed; what the
	 * law itself requires still goes. */
	if (c.restricted && kinds_legal == NULL) {
		snprintf(reason, 256, "%s", OUTBOX_SKIP_RESTRICTED);
		return 0;
	}
	if (purpose != NULL) {
		if ((rc = consent_granted(mc->db, m->client_id, purpose,
		    &granted, e)) != 0)
			return rc;
		if (!granted) {
			/* OUTBOX_SKIP_NO_CONSENT for reminders. */
			snprintf(reason, 256, "no %s consent", purpose);
			return 0;
		}
	}
	if (strcmp(m->kind, "marketing") == 0 && mc->unsubscribe_url == NULL)
		return rv_fail(e, EX_CONFIG, "config mail.unsubscribe_url is "
		    "not set: marketing carries a one-click unsubscribe link "
		    "(RFC 8058)");

	f = json_object();
	field(f, "client.name", c.name);
	field(f, "client.surname", c.surname);
	field(f, "client.email", c.email);
	field(f, "clinic.name", conf_get(mc->conf, "clinic.name"));
	field(f, "clinic.phone", conf_get(mc->conf, "clinic.phone"));
	field(f, "clinic.email", conf_get(mc->conf, "clinic.email"));
	field(f, "clinic.address", conf_get(mc->conf, "clinic.address"));
	field(f, "clinic.url", conf_get(mc->conf, "clinic.url"));
	field(f, "clinic.dpo", conf_get(mc->conf, "clinic.dpo"));
	if (purpose != NULL) {
		if ((rc = unsubscribe(mc, m->client_id, purpose, out, e)) != 0)
			goto out;
		field(f, "unsubscribe.url", out->unsubscribe != NULL ?
		    out->unsubscribe_url : "");
	}
	if (m->appointment_id != 0) {
		char id[32], hm[8];
		int y, mo, d, minute;

		snprintf(id, sizeof(id), "%lld", (long long)m->appointment_id);
		field(f, "appointment.id", id);
		date_fields(f, "appointment", a.start, c.locale);
		tm_day_of(a.end, &y, &mo, &d, &minute);
		tm_hhmm(minute, hm);
		field(f, "appointment.end", hm);
		field(f, "service.name", a.service);
		field(f, "staff.name", a.staff);
	} else if ((rc = notice_fields(mc, f, m, c.locale, e)) != 0) {
		if (rc < 0) {
			snprintf(reason, 256, "no policy version '%s' in the "
			    "archive", m->ref);
			mail_free(out);
			rc = 0;
		}
		goto out;
	}
	if ((rc = load_template(mc, c.locale, m->kind, &t, e)) != 0)
		goto out;
	if ((rc = expand(t->subject, f, t->path, 1, &b, e)) != 0)
		goto out;
	out->subject = b.s;
	b.s = NULL;
	buf_free(&b);
	if ((rc = expand(t->body, f, t->path, 0, &b, e)) != 0)
		goto out;
	out->body = b.s;
	b.s = NULL;
	out->from = mc->from;
	out->reply_to = mc->reply_to;
	snprintf(out->to.name, sizeof(out->to.name), "%s %s", c.name,
	    c.surname);
	snprintf(out->to.addr, sizeof(out->to.addr), "%s", c.email);
	out->date = now;
	if (m->message_id != NULL)
		snprintf(out->message_id, sizeof(out->message_id), "%s",
		    m->message_id);
	else
		snprintf(out->message_id, sizeof(out->message_id),
		    "<rv.%lld.%s@%s>", (long long)m->id, mc->instance, domain);
	if (strcmp(m->kind, "confirmation") == 0 ||
	    strcmp(m->kind, "change") == 0 ||
	    strcmp(m->kind, "cancellation") == 0) {
		struct ics_event ev = { 0 };
		struct rv_buf summary = { 0 };

		/* One UID per appointment for its whole life: the client's
		 * calendar updates the event in place, SEQUENCE orders. */
		snprintf(uid, sizeof(uid), "appointment-%lld.%s@%s",
		    (long long)m->appointment_id, mc->instance,
		    mc->uid_domain);
		buf_printf(&summary, "%s - %s", a.service,
		    conf_get(mc->conf, "clinic.name"));
		ev.method = strcmp(m->kind, "cancellation") == 0 ? "CANCEL" :
		    "REQUEST";
		ev.uid = uid;
		ev.summary = summary.s;
		ev.location = conf_get(mc->conf, "clinic.address");
		ev.stamp = now;
		ev.start = a.start;
		ev.end = a.end;
		/* The appointment as it is now: a confirmation overtaken by
		 * a move tells the new time (elsewhere the two agree). */
		ev.sequence = a.version;
		ev.organizer = &mc->from;
		ev.attendee = &out->to;
		out->ics = ics_build(&ev);
		out->ics_method = ev.method;
		buf_free(&summary);
	}
	rc = 0;
out:
	if (rc != 0)
		mail_free(out);
	buf_free(&b);
	json_decref(f);
	return rc;
}
