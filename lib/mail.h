/*
 * mail.h — what a message says and how it is written: the send-time checks,
 * templates, RFC 5322/MIME, RFC 2047, quoted-printable, RFC 5545 calendar
 * files, mbox. No network here; the transports are in mailer.h.
 */
#ifndef RV_MAIL_H
#define RV_MAIL_H

#include "riserva.h"
#include "outbox.h"

/* An address as "Name <addr>" splits into these; name may be empty. */
struct mail_addr {
	char name[1040];
	char addr[256];
};
int mail_parse_addr(const char *s, struct mail_addr *a, struct rv_err *e);

/* A message ready to write out or hand to an API. */
struct mail {
	struct mail_addr from, to;
	struct mail_addr reply_to;	/* addr "" when there is none */
	char *subject;	/* UTF-8, one line */
	char *body;	/* UTF-8, lines end in \n */
	char *ics;	/* RFC 5545, CRLF; NULL when none */
	const char *ics_method;	/* "REQUEST" or "CANCEL" */
	char *unsubscribe;	/* List-Unsubscribe value; NULL when none */
	char *unsubscribe_url;	/* the link itself */
	char message_id[192];	/* with the angle brackets */
	int64_t date;
};
void mail_free(struct mail *m);

/* What a run shares: config, the template cache, this database's UID
 * domain. */
struct mail_ctx;
/* Opens for one run; with the database in a transaction, whatever must be
 * stored (the instance id) is stored in it, else in one of its own.
 * token_key (RV_KEY_TOKEN) makes the unsubscribe links when
 * mail.unsubscribe_url is set; it may be NULL when that is not. */
int mail_open(sqlite3 *db, const struct rv_conf *conf,
    const uint8_t *token_key, struct mail_ctx **out, struct rv_err *e);
void mail_close(struct mail_ctx *mc);
const char *mail_from_addr(const struct mail_ctx *mc);

/*
 * The send-time checks and the rendering of one message. When it must not
 * go (client erased or restricted, no consent, appointment moved, cancelled
 * or started, a closer reminder queued), *reason says why and nothing is
 * rendered. A template error is EX_CONFIG.
 */
int mail_compose(struct mail_ctx *mc, const struct outbox_msg *m, int64_t now,
    struct mail *out, char reason[256], struct rv_err *e);

/* The whole RFC 5322 message, lines ending in CRLF. */
void mail_format(const struct mail *m, struct rv_buf *out);
/* One mbox entry (mboxrd quoting, LF line ends) of a formatted message. */
void mail_mbox(const struct mail *m, const struct rv_buf *msg,
    struct rv_buf *out);

/* Encoders, for the transports and the tests' sake. */
void mail_qp(const char *text, struct rv_buf *out);	/* text: \n lines */
void mail_base64(const void *data, size_t n, int wrap, struct rv_buf *out);
/* "Name: value" header with RFC 2047 words for non-ASCII, folded. */
void mail_header_text(struct rv_buf *out, const char *name,
    const char *value);
void mail_date(int64_t t, char buf[64]);	/* RFC 5322 date-time */

#endif
