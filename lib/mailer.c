/*
 * mailer.c — the transports (SMTP over one reused libcurl connection, the
 * SendGrid v3 API, a local sendmail, an mbox on stdout) and the run that
 * claims due messages, checks them, sends and records each one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http.h"
#include "mail.h"
#include "mailer.h"
#include "banned.h"

#define BATCH 32
/* In one run, a provider's "slow down" is waited out when this short. */
#define MAX_INLINE_WAIT 10

enum send_status {
	SEND_OK,
	SEND_TEMP,	/* try again later */
	SEND_PERM,	/* refused for good */
	SEND_DOWN,	/* the transport cannot be reached */
	SEND_CONFIG,	/* our settings are wrong, or our output: stop */
};

struct send_result {
	enum send_status status;
	char detail[300];
	char provider_id[128];
	long retry_after;	/* seconds, -1 when not said */
	int stop_code;	/* SEND_CONFIG: the run's exit, 0 for EX_CONFIG */
	int throttled;	/* the provider is failing or said slow down */
};

struct transport {
	const char *name;
	struct rv_buf from;	/* smtp: "<addr>" */
	const char *url, *user, *cainfo;
	long use_ssl, timeout_s;
	char *password;
	int (*send)(struct transport *t, const struct mail *m,
	    const struct rv_buf *raw, struct send_result *r);
	void (*close)(struct transport *t);
	/* smtp */
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	char reply[256];	/* the server's last reply line */
	const char *data;
	size_t len, off;
	/* sendgrid */
	char *key;
	long timeout_ms;
	/* On the monotonic clock: the claim's lease ends here, and no wait
	 * or try may run past it (another run would send the message too). */
	int64_t lease_end;
	/* sendmail */
	const char *sendmail;
	/* stdout */
	FILE *out;
};

/* Seconds on a clock that --now does not stop, for the lease. */
static int64_t
elapsed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static int64_t
elapsed_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A secret from the environment, else from a file only we can read. */
static int
secret(const char *env, const struct rv_conf *conf, const char *key,
    char **out, struct rv_err *e)
{
	const char *s = getenv(env), *path = conf_get(conf, key);
	struct stat sb;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;

	*out = NULL;
	if (s != NULL && *s != '\0') {
		*out = xstrdup(s);
		return 0;
	}
	if (path == NULL || *path == '\0')
		return 0;
	if ((fp = fopen(path, "r")) == NULL)
		return rv_fail_errno(e, EX_CONFIG, "config %s: cannot read %s",
		    key, path);
	if (fstat(fileno(fp), &sb) == 0 && (sb.st_mode & 077) != 0) {
		fclose(fp);
		return rv_fail(e, EX_CONFIG, "config %s: %s can be read by "
		    "others: chmod 600 it", key, path);
	}
	n = getline(&line, &cap, fp);
	fclose(fp);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n <= 0) {
		if (line != NULL)
			rv_wipe(line, cap);
		free(line);
		return rv_fail(e, EX_CONFIG, "config %s: %s is empty", key,
		    path);
	}
	*out = xstrdup(line);
	rv_wipe(line, cap);
	free(line);
	return 0;
}

static void
secret_free(char *s)
{
	if (s != NULL) {
		rv_wipe(s, strlen(s));
		free(s);
	}
}

/* ---- stdout: an mbox ---- */

static int
stdout_send(struct transport *t, const struct mail *m,
    const struct rv_buf *raw, struct send_result *r)
{
	struct rv_buf b = { 0 };

	mail_mbox(m, raw, &b);
	if (fwrite(b.s, 1, b.len, t->out) != b.len || fflush(t->out) != 0) {
		r->status = SEND_CONFIG;
		r->stop_code = EX_IOERR;
		snprintf(r->detail, sizeof(r->detail), "cannot write the "
		    "mbox: %s", strerror(errno));
	}
	buf_free(&b);
	return 0;
}

/* ---- sendmail -t -i ---- */

static int
sendmail_send(struct transport *t, const struct mail *m,
    const struct rv_buf *raw, struct send_result *r)
{
	struct rv_buf lf = { 0 };
	const char *p;
	int fd[2], status, code;
	int64_t deadline;
	pid_t pid, w;
	size_t off = 0;
	ssize_t n;

	(void)m;
	/* A local MTA takes lines ending in LF. */
	for (p = raw->s; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			buf_addc(&lf, *p);
	if (pipe(fd) < 0) {
		r->status = SEND_TEMP;
		snprintf(r->detail, sizeof(r->detail), "pipe: %s",
		    strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		close(fd[0]);
		close(fd[1]);
		r->status = SEND_TEMP;
		snprintf(r->detail, sizeof(r->detail), "fork: %s",
		    strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fd[0], 0);
		if (null >= 0)
			dup2(null, 1);
		close(fd[0]);
		close(fd[1]);
		execl(t->sendmail, "sendmail", "-t", "-i", (char *)NULL);
		_exit(127);
	}
	close(fd[0]);
	/* Within mail.timeout, as for SMTP: a sendmail that hangs would
	 * hold the run past its claims' lease, and another run would send
	 * the same messages again. */
	deadline = elapsed_ms() + (int64_t)t->timeout_s * 1000;
	fcntl(fd[1], F_SETFL, O_NONBLOCK);
	while (off < lf.len && elapsed_ms() < deadline) {
		struct pollfd pfd = { fd[1], POLLOUT, 0 };

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = write(fd[1], lf.s + off, lf.len - off);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd[1]);
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 ||
	    (w < 0 && errno == EINTR)) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (elapsed_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			r->status = SEND_DOWN;
			snprintf(r->detail, sizeof(r->detail), "%s did not "
			    "finish within %lds", t->sendmail, t->timeout_s);
			goto out;
		}
		nanosleep(&ts, NULL);
	}
	if (!WIFEXITED(status)) {
		r->status = SEND_TEMP;
		snprintf(r->detail, sizeof(r->detail), "%s was killed by "
		    "signal %d", t->sendmail, WTERMSIG(status));
		goto out;
	}
	code = WEXITSTATUS(status);
	snprintf(r->detail, sizeof(r->detail), "%s exited %d", t->sendmail,
	    code);
	switch (code) {
	case 0:
		/* It stopped reading before the end: not all was taken. */
		r->status = off == lf.len ? SEND_OK : SEND_TEMP;
		break;
	case 127:
		r->status = SEND_DOWN;
		snprintf(r->detail, sizeof(r->detail), "cannot run %s",
		    t->sendmail);
		break;
	case EX_UNAVAILABLE:
		r->status = SEND_DOWN;
		snprintf(r->detail, sizeof(r->detail), "%s: service "
		    "unavailable (exit 69)", t->sendmail);
		break;
	case EX_USAGE:
	case EX_NOPERM:
	case EX_CONFIG:
		/* Its own setup (msmtp's account, a refused login), the same
		 * for every message: stop, and fail none of them for it. */
		r->status = SEND_CONFIG;
		break;
	case EX_SOFTWARE:
	case EX_OSERR:
	case EX_CANTCREAT:
	case EX_IOERR:
	case EX_TEMPFAIL:
	case EX_PROTOCOL:
		r->status = SEND_TEMP;
		break;
	default:
		/* EX_DATAERR, EX_NOUSER, EX_NOHOST...: this message. */
		r->status = SEND_PERM;
		snprintf(r->detail, sizeof(r->detail), "%s refused the "
		    "message (exit %d)", t->sendmail, code);
		break;
	}
out:
	buf_free(&lf);
	return 0;
}

/* ---- SMTP through libcurl ---- */

static size_t
smtp_read(char *buf, size_t size, size_t n, void *arg)
{
	struct transport *t = arg;
	size_t k = size * n;

	if (k > t->len - t->off)
		k = t->len - t->off;
	memcpy(buf, t->data + t->off, k);
	t->off += k;
	return k;
}

/* Keeps the server's last reply line: after a message, the one that
 * accepted it, which names the server's queue id. Only what the server
 * says is looked at; what we send (AUTH among it) is not. */
static int
smtp_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct transport *t = arg;

	(void)h;
	if (type != CURLINFO_HEADER_IN)
		return 0;
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	if (size > sizeof(t->reply) - 1)
		size = sizeof(t->reply) - 1;
	memcpy(t->reply, data, size);
	t->reply[size] = '\0';
	return 0;
}

/* The queue id in a "250 ... queued as ID" (Postfix and others) or a
 * "250 OK id=ID" (Exim) reply; none for a server that names none. */
static void
smtp_queue_id(const char *reply, char *out, size_t size)
{
	static const char idchars[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@<>";
	const char *p;
	size_t n;

	out[0] = '\0';
	if (strncmp(reply, "250", 3) != 0)
		return;
	if ((p = strstr(reply, "queued as ")) != NULL)
		p += strlen("queued as ");
	else if ((p = strstr(reply, " id=")) != NULL)
		p += strlen(" id=");
	else
		return;
	if ((n = strspn(p, idchars)) == 0)
		return;
	if (n > size - 1)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static int smtp_connect(struct transport *t, struct send_result *r);

static int
smtp_send(struct transport *t, const struct mail *m,
    const struct rv_buf *raw, struct send_result *r)
{
	struct curl_slist *rcpt = NULL;
	struct rv_buf to = { 0 };
	long code = 0;
	CURLcode cc;

	if (t->curl == NULL && smtp_connect(t, r) != 0)
		return 0;
	buf_printf(&to, "<%s>", m->to.addr);
	rcpt = curl_slist_append(rcpt, to.s);
	curl_easy_setopt(t->curl, CURLOPT_MAIL_RCPT, rcpt);
	t->data = raw->s;
	t->len = raw->len;
	t->off = 0;
	curl_easy_setopt(t->curl, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)raw->len);
	t->errbuf[0] = '\0';
	t->reply[0] = '\0';
	/* The easy handle keeps its connection: one session for a batch. */
	cc = curl_easy_perform(t->curl);
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(t->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpt);
	buf_free(&to);
	if (cc == CURLE_OK) {
		r->status = SEND_OK;
		smtp_queue_id(t->reply, r->provider_id,
		    sizeof(r->provider_id));
		return 0;
	}
	snprintf(r->detail, sizeof(r->detail), "%s", t->errbuf[0] ?
	    t->errbuf : curl_easy_strerror(cc));
	switch (cc) {
	case CURLE_LOGIN_DENIED:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_USE_SSL_FAILED:
		/* Settings, or a server not what the config says: stop. */
		r->status = SEND_CONFIG;
		return 0;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
		r->status = SEND_DOWN;
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		/* A server that hangs on one will hang on the next: stop
		 * rather than spend the claims' lease waiting. */
		r->status = SEND_DOWN;
		return 0;
	case CURLE_GOT_NOTHING:
		r->status = code == 0 ? SEND_DOWN : SEND_TEMP;
		return 0;
	default:
		break;
	}
	/*
	 * MAIL FROM refused: the sender is ours, the same for every message,
	 * so no client's message is to blame. For good (5xx, but 552, a
	 * message too big) is the config to fix; for now (4xx) is a server
	 * not ready: either way the run stops.
	 */
	if (strncmp(t->errbuf, "MAIL failed", 11) == 0 && code != 552 &&
	    code >= 400) {
		snprintf(r->detail, sizeof(r->detail), "the server refused "
		    "the sender %s (mail.from): SMTP %ld", t->from.s, code);
		r->status = code >= 500 ? SEND_CONFIG : SEND_DOWN;
		return 0;
	}
	if (code >= 400)
		snprintf(r->detail + strlen(r->detail), sizeof(r->detail) -
		    strlen(r->detail), " (SMTP %ld)", code);
	/* RFC 5321 4.2.2: 421 is the server closing the channel (loaded,
	 * stopping), whatever the command; the next message would meet it
	 * too, and no client's message is to blame. */
	if (code == 421) {
		r->status = SEND_DOWN;
		return 0;
	}
	/*
	 * Refused before this message's own commands (RCPT, DATA) and
	 * before any of it went: the greeting or EHLO, the session itself
	 * ("554 no SMTP service for you", a blocklisted address). Every
	 * message would meet it; none is to blame.
	 */
	if (code >= 400 && t->off == 0 &&
	    strncmp(t->errbuf, "RCPT failed", 11) != 0 &&
	    strncmp(t->errbuf, "DATA failed", 11) != 0) {
		r->status = SEND_DOWN;
		return 0;
	}
	if (code >= 500 && code < 600)
		r->status = SEND_PERM;
	else
		r->status = SEND_TEMP;
	return 0;
}

static void
smtp_close(struct transport *t)
{
	if (t->curl != NULL) {
		curl_easy_cleanup(t->curl);	/* QUIT */
		curl_global_cleanup();
	}
	t->curl = NULL;
	secret_free(t->password);
	t->password = NULL;
	buf_free(&t->from);
}

/* The easy handle, made at the first message: a run with nothing to send
 * sets up no TLS library and opens no connection. */
static int
smtp_connect(struct transport *t, struct send_result *r)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((t->curl = curl_easy_init()) == NULL) {
		r->status = SEND_TEMP;
		snprintf(r->detail, sizeof(r->detail), "curl_easy_init failed");
		return -1;
	}
	curl_easy_setopt(t->curl, CURLOPT_URL, t->url);
	curl_easy_setopt(t->curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(t->curl, CURLOPT_USE_SSL, t->use_ssl);
	curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, t->timeout_s * 1000);
	curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(t->curl, CURLOPT_MAIL_FROM, t->from.s);
	curl_easy_setopt(t->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(t->curl, CURLOPT_READFUNCTION, smtp_read);
	curl_easy_setopt(t->curl, CURLOPT_READDATA, t);
	/* Verbose only so that the server's replies reach smtp_debug;
	 * nothing is printed. */
	curl_easy_setopt(t->curl, CURLOPT_DEBUGFUNCTION, smtp_debug);
	curl_easy_setopt(t->curl, CURLOPT_DEBUGDATA, t);
	curl_easy_setopt(t->curl, CURLOPT_VERBOSE, 1L);
	if (*t->cainfo != '\0')
		curl_easy_setopt(t->curl, CURLOPT_CAINFO, t->cainfo);
	if (*t->user != '\0')
		curl_easy_setopt(t->curl, CURLOPT_USERNAME, t->user);
	if (t->password != NULL) {
		/* libcurl keeps its own copy; ours goes now. */
		curl_easy_setopt(t->curl, CURLOPT_PASSWORD, t->password);
		secret_free(t->password);
		t->password = NULL;
	}
	return 0;
}

static int
smtp_open(struct transport *t, const struct rv_conf *conf,
    const char *from_addr, struct rv_err *e)
{
	const char *tls = conf_get(conf, "mail.tls");
	int64_t timeout;
	int rc;

	t->url = conf_get(conf, "mail.url");
	t->user = conf_get(conf, "mail.user");
	t->cainfo = conf_get(conf, "mail.cainfo");
	/* Checked first, and the URL never echoed: it may hold a password,
	 * which would then sit in the config and in every error. */
	if (http_has_userinfo(t->url))
		return rv_fail(e, EX_CONFIG, "config mail.url: a user or "
		    "password does not belong in the URL; use mail.user and "
		    "mail.password_file (or RISERVA_SMTP_PASSWORD)");
	if (strncmp(t->url, "smtps://", 8) != 0 &&
	    strncmp(t->url, "smtp://", 7) != 0)
		return rv_fail(e, EX_CONFIG, "config mail.url: '%s' is not an "
		    "smtp:// or smtps:// URL", t->url);
	if ((rc = conf_duration(conf, "mail.timeout", &timeout, e)) != 0)
		return rc;
	t->timeout_s = (long)timeout;
	if (strcmp(tls, "auto") != 0 && strcmp(tls, "starttls") != 0 &&
	    strcmp(tls, "none") != 0)
		return rv_fail(e, EX_CONFIG, "config mail.tls: '%s' is not "
		    "auto, starttls or none", tls);
	if ((rc = secret("RISERVA_SMTP_PASSWORD", conf, "mail.password_file",
	    &t->password, e)) != 0)
		return rc;
	if (t->password != NULL && *t->user == '\0') {
		secret_free(t->password);
		t->password = NULL;
		return rv_fail(e, EX_CONFIG, "a SMTP password is set but "
		    "config mail.user is not");
	}
	if (strcmp(tls, "auto") == 0)
		/* Never a password in clear; STARTTLS when offered. */
		t->use_ssl = t->password != NULL ? CURLUSESSL_ALL :
		    CURLUSESSL_TRY;
	else if (strcmp(tls, "starttls") == 0)
		t->use_ssl = CURLUSESSL_ALL;
	else
		t->use_ssl = CURLUSESSL_NONE;
	/* As for SendGrid's key: in clear only where it never leaves this
	 * machine. */
	if (t->password != NULL && t->use_ssl == CURLUSESSL_NONE &&
	    strncmp(t->url, "smtp://", 7) == 0 && !http_is_loopback(t->url)) {
		secret_free(t->password);
		t->password = NULL;
		return rv_fail(e, EX_CONFIG, "config mail.tls: none would send "
		    "the SMTP password in clear to another machine: use auto "
		    "or starttls, or an smtps:// URL");
	}
	buf_printf(&t->from, "<%s>", from_addr);
	t->send = smtp_send;
	t->close = smtp_close;
	return 0;
}

/* ---- SendGrid v3 mail send ---- */

static json_t *
sendgrid_addr(const struct mail_addr *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "email", json_string(a->addr));
	if (a->name[0] != '\0')
		json_object_set_new(o, "name", json_string(a->name));
	return o;
}

static char *
sendgrid_body(const struct mail *m)
{
	json_t *root = json_object(), *pers = json_object(), *to = json_array();
	json_t *content = json_array(), *part = json_object();
	json_t *headers = json_object(), *args = json_object();
	char *s;

	json_array_append_new(to, sendgrid_addr(&m->to));
	json_object_set_new(pers, "to", to);
	json_object_set_new(root, "personalizations", json_pack("[o]", pers));
	json_object_set_new(root, "from", sendgrid_addr(&m->from));
	if (m->reply_to.addr[0] != '\0')
		json_object_set_new(root, "reply_to",
		    sendgrid_addr(&m->reply_to));
	json_object_set_new(root, "subject", json_string(m->subject));
	json_object_set_new(part, "type", json_string("text/plain"));
	json_object_set_new(part, "value", json_string(m->body));
	json_array_append_new(content, part);
	json_object_set_new(root, "content", content);
	if (m->ics != NULL) {
		struct rv_buf b64 = { 0 }, type = { 0 };
		json_t *att = json_object();

		mail_base64(m->ics, strlen(m->ics), 0, &b64);
		buf_printf(&type, "text/calendar; method=%s", m->ics_method);
		json_object_set_new(att, "content", json_string(b64.s));
		json_object_set_new(att, "type", json_string(type.s));
		json_object_set_new(att, "filename", json_string("invite.ics"));
		json_object_set_new(att, "disposition",
		    json_string("attachment"));
		json_object_set_new(root, "attachments", json_pack("[o]", att));
		buf_free(&b64);
		buf_free(&type);
	}
	json_object_set_new(headers, "Auto-Submitted",
	    json_string("auto-generated"));
	if (m->unsubscribe != NULL) {
		json_object_set_new(headers, "List-Unsubscribe",
		    json_string(m->unsubscribe));
		json_object_set_new(headers, "List-Unsubscribe-Post",
		    json_string("List-Unsubscribe=One-Click"));
	}
	json_object_set_new(root, "headers", headers);
	/* Ours, so the provider's events can be matched to the outbox. */
	json_object_set_new(args, "riserva_message_id",
	    json_string(m->message_id));
	json_object_set_new(root, "custom_args", args);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

/* What a remote said, made one line: control characters and runs of
 * blanks become one space (a proxy's HTML page, an API message), and it
 * ends before the first byte that is not UTF-8 (a cut character): the
 * record that shows it is JSON. */
static void
one_line(char *s)
{
	char *r, *w;
	int blank = 0;

	s[utf8_valid(s, strlen(s))] = '\0';

	for (r = w = s; *r; r++) {
		if ((unsigned char)*r < 0x20 || *r == ' ' || *r == 0x7f) {
			blank = 1;
			continue;
		}
		if (blank && w > s)
			*w++ = ' ';
		blank = 0;
		*w++ = *r;
	}
	*w = '\0';
}

/* The API's own words: errors[0].message, else the start of the body. */
static void
sendgrid_error(const struct http_resp *resp, char *out, size_t n)
{
	json_t *j = json_loadb(resp->body.s ? resp->body.s : "",
	    resp->body.len, 0, NULL);
	const char *msg = json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "errors"), 0), "message"));
	const char *fld = json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "errors"), 0), "field"));

	if (msg != NULL && fld != NULL)
		snprintf(out, n, "SendGrid %ld: %s (field %s)", resp->status,
		    msg, fld);
	else if (msg != NULL)
		snprintf(out, n, "SendGrid %ld: %s", resp->status, msg);
	else
		snprintf(out, n, "SendGrid %ld: %.200s", resp->status,
		    resp->body.s ? resp->body.s : "");
	json_decref(j);
	one_line(out);
}

static void
sleep_s(long s)
{
	struct timespec ts = { s, 0 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int
sendgrid_send(struct transport *t, const struct mail *m,
    const struct rv_buf *raw, struct send_result *r)
{
	static const struct http_retry policy = { 3, 1000, 8000 };
	struct http_req req = { 0 };
	struct http_resp resp;
	struct rv_err err;
	char *body = sendgrid_body(m);
	int try, rc;

	(void)raw;
	req.method = "POST";
	req.url = t->url;
	req.content_type = "application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.bearer = t->key;
	req.timeout_ms = t->timeout_ms;
	for (try = 1;; try++) {
		long wait;

		rc = http_do(&req, &resp, &err);
		if (rc != 0) {
			r->status = SEND_DOWN;
			snprintf(r->detail, sizeof(r->detail), "%.250s",
			    err.msg);
			break;
		}
		if (resp.status >= 200 && resp.status < 300) {
			r->status = SEND_OK;
			http_header(&resp, "X-Message-Id", r->provider_id,
			    sizeof(r->provider_id));
			break;
		}
		sendgrid_error(&resp, r->detail, sizeof(r->detail));
		if (resp.status == 401 || resp.status == 403) {
			r->status = SEND_CONFIG;
			break;
		}
		if (resp.status != 429 && resp.status < 500) {
			r->status = SEND_PERM;
			break;
		}
		/* 429 and 5xx: wait a little here, longer in the queue. */
		r->status = SEND_TEMP;
		/* Either way the next message would meet the same: a 5xx
		 * through all our tries stops the run like a 429, and the
		 * rest of the queue is not charged an attempt for it. */
		r->throttled = 1;
		r->retry_after = resp.retry_after;
		wait = resp.retry_after >= 0 ? resp.retry_after :
		    (http_backoff_ms(&policy, try, -1) + 999) / 1000;
		if (try >= policy.attempts || wait > MAX_INLINE_WAIT)
			break;
		/* The wait, the next try and the record all within the
		 * claim, else the queue waits instead of us. */
		if (elapsed() + wait + 2 * (t->timeout_ms / 1000 + 1) >
		    t->lease_end)
			break;
		http_resp_free(&resp);
		sleep_s(wait);
	}
	if (rc == 0)
		http_resp_free(&resp);
	free(body);
	return 0;
}

static void
sendgrid_close(struct transport *t)
{
	secret_free(t->key);
	t->key = NULL;
	http_cleanup();
}

static int
sendgrid_open(struct transport *t, const struct rv_conf *conf,
    struct rv_err *e)
{
	int64_t timeout;
	int rc;

	t->url = conf_get(conf, "mail.sendgrid_url");
	if (strncmp(t->url, "https://", 8) != 0 &&
	    strncmp(t->url, "http://", 7) != 0)
		return rv_fail(e, EX_CONFIG, "config mail.sendgrid_url: '%s' "
		    "is not an http(s) URL", t->url);
	/* The API key and every message travel there. */
	if (strncmp(t->url, "http://", 7) == 0 && !http_is_loopback(t->url))
		return rv_fail(e, EX_CONFIG, "config mail.sendgrid_url: '%s' "
		    "is plain http to another machine, and the API key would "
		    "cross the network in clear: use https://", t->url);
	if ((rc = conf_duration(conf, "mail.timeout", &timeout, e)) != 0)
		return rc;
	t->timeout_ms = (long)timeout * 1000;
	if ((rc = secret("RISERVA_SENDGRID_KEY", conf,
	    "mail.sendgrid_key_file", &t->key, e)) != 0)
		return rc;
	if (t->key == NULL)
		return rv_fail(e, EX_CONFIG, "no SendGrid API key: set "
		    "RISERVA_SENDGRID_KEY or config mail.sendgrid_key_file");
	t->send = sendgrid_send;
	t->close = sendgrid_close;
	return 0;
}

static int
transport_open(struct transport *t, const struct rv_conf *conf,
    const char *name, const char *from_addr, FILE *out, struct rv_err *e)
{
	int64_t timeout;
	int rc;

	memset(t, 0, sizeof(*t));
	t->name = name;
	/* A reader that goes away must not kill the run mid-record. */
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(name, "smtp") == 0)
		return smtp_open(t, conf, from_addr, e);
	if (strcmp(name, "sendgrid") == 0)
		return sendgrid_open(t, conf, e);
	if (strcmp(name, "sendmail") == 0) {
		t->sendmail = conf_get(conf, "mail.sendmail");
		if (t->sendmail[0] != '/')
			return rv_fail(e, EX_CONFIG, "config mail.sendmail: "
			    "'%s' is not an absolute path", t->sendmail);
		if ((rc = conf_duration(conf, "mail.timeout", &timeout,
		    e)) != 0)
			return rc;
		t->timeout_s = (long)timeout;
		t->send = sendmail_send;
		/* Our secrets are no business of the MTA's: the child would
		 * inherit them, and hand them on to whatever it runs. */
		unsetenv("RISERVA_SMTP_PASSWORD");
		unsetenv("RISERVA_SENDGRID_KEY");
		unsetenv("RISERVA_GOOGLE_CLIENT_SECRET");
		return 0;
	}
	if (strcmp(name, "stdout") == 0) {
		t->out = out;
		t->send = stdout_send;
		return 0;
	}
	return rv_fail(e, EX_CONFIG, "config mail.transport: '%s' is not smtp, "
	    "sendgrid, sendmail or stdout", name);
}

static void
transport_close(struct transport *t)
{
	if (t->close != NULL)
		t->close(t);
}

/* ---- the run ---- */

struct run {
	sqlite3 *db;
	const struct rv_conf *conf;
	struct rv_who *w;
	const struct mailer_opts *o;
	struct mailer_stats *st;
	struct mail_ctx *mc;
	struct transport t;
	char claim[40];
	int opened;
	int64_t lease, backoff, backoff_max;
	long max_attempts;
};

static void
tick(struct run *r)
{
	if (!r->o->fixed_clock)
		r->w->now = (int64_t)time(NULL);
}

/* base * 2^(attempts-1), capped; never sooner than the server asked. */
static int64_t
next_try(const struct run *r, int64_t attempts, long retry_after)
{
	int64_t wait = r->backoff;

	while (--attempts > 0 && wait < r->backoff_max)
		wait *= 2;
	if (wait > r->backoff_max)
		wait = r->backoff_max;
	if (retry_after > wait)
		wait = retry_after;
	return r->w->now + wait;
}

static int
emit(struct run *r, int64_t id, struct rv_err *e)
{
	json_t *rec;
	int rc;

	if (r->o->emit == NULL)
		return 0;
	/* Erased since it was recorded (gdpr-erase takes the client's
	 * messages): nothing left to show, and no reason to stop. */
	if ((rc = outbox_get(r->db, id, &rec, e)) == EX_NOINPUT)
		return 0;
	if (rc != 0)
		return rc;
	return r->o->emit(rec, r->o->arg);
}

static int
record(struct run *r, const struct outbox_msg *m,
    const struct outbox_result *res, struct rv_err *e)
{
	int lost, rc;

	tick(r);
	if ((rc = outbox_record(r->db, r->w, m, r->claim, res, &lost, e)) != 0)
		return rc;
	if (lost) {
		r->st->lost++;
		return 0;
	}
	switch (res->outcome) {
	case OUTBOX_SENT: r->st->sent++; break;
	case OUTBOX_SKIPPED: r->st->skipped++; break;
	case OUTBOX_FAILED: r->st->failed++; break;
	case OUTBOX_DEFERRED: r->st->deferred++; break;
	case OUTBOX_RELEASED: return 0;
	}
	return emit(r, m->id, e);
}

/* Back in the queue, untried, due as they were. */
static int
release(struct run *r, struct outbox_msg *v, size_t from, size_t n,
    struct rv_err *e)
{
	struct outbox_result res = { OUTBOX_RELEASED, NULL, NULL, NULL, NULL,
		0 };
	size_t i;
	int rc;

	for (i = from; i < n; i++) {
		res.next_at = r->w->now;
		if ((rc = record(r, &v[i], &res, e)) != 0)
			return rc;
	}
	return 0;
}

/* One claimed message: checked, sent, recorded. *stop ends the run. */
static int
deliver(struct run *r, const struct outbox_msg *m, int *stop,
    struct rv_err *e)
{
	struct outbox_result res = { 0 };
	struct send_result sr = { 0 };
	struct rv_buf raw = { 0 };
	struct mail mail;
	char reason[256], why[400];
	int rc;

	*stop = 0;
	rc = mail_compose(r->mc, m, r->w->now, &mail, reason, e);
	if (rc != 0) {
		struct rv_err e2;

		/* A template to fix, not a message to blame: it waits. */
		*stop = 1;
		res.outcome = OUTBOX_RELEASED;
		res.next_at = r->w->now;
		record(r, m, &res, &e2);
		return rc;
	}
	if (reason[0] != '\0') {
		res.outcome = OUTBOX_SKIPPED;
		res.reason = reason;
		return record(r, m, &res, e);
	}
	mail_format(&mail, &raw);
	sr.retry_after = -1;
	r->t.send(&r->t, &mail, &raw, &sr);
	one_line(sr.detail);
	res.recipient = mail.to.addr;
	switch (sr.status) {
	case SEND_OK:
		res.outcome = OUTBOX_SENT;
		/* SendGrid writes its own Message-ID; its id stands in. */
		res.message_id = strcmp(r->t.name, "sendgrid") == 0 ? NULL :
		    mail.message_id;
		res.provider_id = sr.provider_id[0] ? sr.provider_id : NULL;
		break;
	case SEND_PERM:
		res.outcome = OUTBOX_FAILED;
		res.reason = sr.detail;
		break;
	case SEND_CONFIG:
		/* Not this message's fault: back in the queue, untried. */
		res.outcome = OUTBOX_RELEASED;
		res.next_at = r->w->now;
		*stop = 1;
		break;
	case SEND_TEMP:
	case SEND_DOWN:
		if (m->attempts >= r->max_attempts) {
			snprintf(why, sizeof(why), "gave up after %lld "
			    "attempts: %s", (long long)m->attempts, sr.detail);
			res.outcome = OUTBOX_FAILED;
			res.reason = why;
		} else {
			res.outcome = OUTBOX_DEFERRED;
			res.reason = sr.detail;
			tick(r);
			res.next_at = next_try(r, m->attempts, sr.retry_after);
		}
		if (sr.status == SEND_DOWN) {
			r->st->unavailable = 1;
			*stop = 1;
		}
		if (sr.throttled) {
			r->st->throttled = 1;
			*stop = 1;
		}
		break;
	}
	if (sr.status != SEND_OK)
		snprintf(r->st->last_error, sizeof(r->st->last_error), "%s",
		    sr.detail);
	rc = record(r, m, &res, e);
	if (rc == 0 && sr.status == SEND_CONFIG)
		rc = rv_fail(e, sr.stop_code ? sr.stop_code : EX_CONFIG,
		    "%s: %s", r->t.name, sr.detail);
	mail_free(&mail);
	buf_free(&raw);
	return rc;
}

/* A dry run: what would go, as an mbox; nothing claimed or recorded. */
static int
dry_run(struct run *r, struct rv_err *e)
{
	struct outbox_msg *v = NULL;
	struct rv_buf raw = { 0 }, box = { 0 };
	struct mail mail;
	char reason[256];
	size_t n, i;
	int rc;

	if ((rc = outbox_due(r->db, r->w->now, r->o->kind, r->o->limit ?
	    r->o->limit : (size_t)-1 >> 1, &v, &n, e)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = mail_compose(r->mc, &v[i], r->w->now, &mail, reason,
		    e)) != 0)
			break;
		if (reason[0] != '\0') {
			fprintf(r->o->diag, "%s: message %lld (%s) would be "
			    "skipped: %s\n", r->o->tool, (long long)v[i].id,
			    v[i].kind, reason);
			continue;
		}
		buf_reset(&raw);
		buf_reset(&box);
		mail_format(&mail, &raw);
		mail_mbox(&mail, &raw, &box);
		mail_free(&mail);
		if (fwrite(box.s, 1, box.len, r->o->out) != box.len) {
			rc = rv_fail_errno(e, EX_IOERR, "cannot write output");
			break;
		}
		r->st->sent++;
	}
	buf_free(&raw);
	buf_free(&box);
	outbox_msgs_free(v, n);
	return rc;
}

static int
settings(struct run *r, struct rv_err *e)
{
	int64_t timeout;
	int rc;

	if ((rc = conf_duration(r->conf, "mail.lease", &r->lease, e)) != 0 ||
	    (rc = conf_duration(r->conf, "mail.timeout", &timeout, e)) != 0 ||
	    (rc = conf_duration(r->conf, "mail.backoff", &r->backoff,
	    e)) != 0 ||
	    (rc = conf_duration(r->conf, "mail.backoff_max", &r->backoff_max,
	    e)) != 0 ||
	    (rc = conf_int(r->conf, "mail.max_attempts", 1, 100,
	    &r->max_attempts, e)) != 0)
		return rc;
	/* A message is sent only in the first half of its claim's lease,
	 * and one send (SendGrid's three tries) must fit the second. */
	if (r->lease < 8 * timeout)
		return rv_fail(e, EX_CONFIG, "config mail.lease must be at "
		    "least 8 times mail.timeout");
	return 0;
}

int
mailer_run(sqlite3 *db, const struct rv_conf *conf, struct rv_who *w,
    const struct mailer_opts *o, struct mailer_stats *st, struct rv_err *e)
{
	struct run r = { 0 };
	struct outbox_msg *v = NULL;
	int64_t claimed;
	unsigned char rnd[8];
	char hex[17];
	size_t n = 0, i, done = 0, want;
	int stop = 0, rc;

	memset(st, 0, sizeof(*st));
	r.db = db;
	r.conf = conf;
	r.w = w;
	r.o = o;
	r.st = st;
	if ((rc = settings(&r, e)) != 0)
		return rc;
	if ((rc = mail_open(db, conf, o->token_key, &r.mc, e)) != 0)
		return rc;
	if (o->dry_run) {
		rc = dry_run(&r, e);
		goto out;
	}
	if ((rc = transport_open(&r.t, conf, conf_get(conf, "mail.transport"),
	    mail_from_addr(r.mc), o->out, e)) != 0)
		goto out;
	r.opened = 1;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		rc = rv_fail_errno(e, EX_OSERR, "getrandom");
		goto out;
	}
	crypt_hex(rnd, sizeof(rnd), hex);
	snprintf(r.claim, sizeof(r.claim), "%ld.%s", (long)getpid(), hex);
	while (!stop && (o->limit == 0 || done < o->limit)) {
		want = BATCH;
		if (o->limit != 0 && o->limit - done < want)
			want = o->limit - done;
		tick(&r);
		if ((rc = outbox_claim(db, w, o->kind, r.claim, r.lease, want,
		    &v, &n, e)) != 0)
			goto out;
		if (n == 0)
			break;
		claimed = elapsed();
		r.t.lease_end = claimed + r.lease;
		for (i = 0; i < n && !stop; i++) {
			/* Past half the lease, what is left goes back and a
			 * fresh claim is made: no message is sent on a claim
			 * that could lapse before it is recorded. */
			if (elapsed() - claimed > r.lease / 2) {
				if ((rc = release(&r, v, i, n, e)) != 0)
					goto out;
				break;
			}
			if ((rc = deliver(&r, &v[i], &stop, e)) != 0) {
				struct rv_err e2;

				/* Whatever stopped us, the rest go back. */
				release(&r, v, i + 1, n, &e2);
				goto out;
			}
			done++;
		}
		if (stop && i < n && (rc = release(&r, v, i, n, e)) != 0)
			goto out;
		outbox_msgs_free(v, n);
		v = NULL;
		n = 0;
	}
out:
	outbox_msgs_free(v, n);
	if (r.opened)
		transport_close(&r.t);
	mail_close(r.mc);
	return rc;
}

int
mailer_status(const struct mailer_stats *st)
{
	if (st->unavailable)
		return EX_UNAVAILABLE;
	if (st->deferred > 0 || st->throttled)
		return EX_TEMPFAIL;
	if (st->failed > 0)
		return EX_REFUSED;
	return 0;
}
