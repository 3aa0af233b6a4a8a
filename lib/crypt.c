/* crypt.c — libgcrypt: the key file, subkeys, AES-256-GCM, HMAC, SHA-256. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gcrypt.h>

#include "riserva.h"
#include "banned.h"

#define NONCE_LEN 12
#define TAG_LEN 16

void
rv_wipe(void *p, size_t n)
{
	if (p != NULL)
		explicit_bzero(p, n);
}

int
crypt_init(struct rv_err *e)
{
	static int done;

	if (done)
		return 0;
	if (gcry_check_version(GCRYPT_VERSION) == NULL)
		return rv_fail(e, EX_SOFTWARE, "libgcrypt is older than %s",
		    GCRYPT_VERSION);
	/* Keys live in our own buffers, wiped after use. */
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	done = 1;
	return 0;
}

const char *
crypt_key_path(void)
{
	static char buf[PATH_MAX];
	const char *s;

	if ((s = getenv("RISERVA_KEY")) != NULL && *s != '\0')
		return s;
	if ((s = getenv("XDG_CONFIG_HOME")) != NULL && *s == '/')
		snprintf(buf, sizeof(buf), "%s/riserva/key", s);
	else
		snprintf(buf, sizeof(buf), "%s/.config/riserva/key",
		    getenv("HOME") ? getenv("HOME") : "");
	return buf;
}

/* libgcrypt must be initialized before any other call; the void helpers
 * below cannot report a failure, and a libgcrypt older than the headers
 * is a broken installation: stop rather than compute with it. */
static void
need_init(void)
{
	if (crypt_init(NULL) != 0)
		abort();
}

void
crypt_random(void *buf, size_t n)
{
	need_init();
	gcry_randomize(buf, n, GCRY_STRONG_RANDOM);
}

void
crypt_hex(const uint8_t *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < 2 * n; i++) {
		int c = s[i], v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return 0;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 1;
}

/* A new key: written to a temporary file, then linked into place, so a
 * racing process either wins or reads the winner's whole key. *won tells
 * whether this process's key is the one in place. */
static int
key_create(const char *path, int *won, struct rv_err *e)
{
	char tmp[PATH_MAX], dir[PATH_MAX], text[2 * RV_KEY_LEN + 2];
	uint8_t key[RV_KEY_LEN];
	char *slash;
	int fd, rc = 0;

	*won = 0;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else {
		*slash = '\0';
		if ((rc = mkdir_parents(dir, 0700, e)) != 0)
			return rc;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return rv_fail(e, EX_CANTCREAT, "key path too long");
	gcry_randomize(key, sizeof(key), GCRY_VERY_STRONG_RANDOM);
	crypt_hex(key, sizeof(key), text);
	text[2 * RV_KEY_LEN] = '\n';
	text[2 * RV_KEY_LEN + 1] = '\0';
	rv_wipe(key, sizeof(key));
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = rv_fail_errno(e, EX_CANTCREAT, "cannot create %s", tmp);
		goto out;
	}
	if (write(fd, text, 2 * RV_KEY_LEN + 1) != 2 * RV_KEY_LEN + 1 ||
	    fsync(fd) < 0) {
		rc = rv_fail_errno(e, EX_IOERR, "cannot write %s", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (link(tmp, path) == 0)
		*won = 1;
	else if (errno != EEXIST)
		rc = rv_fail_errno(e, EX_CANTCREAT, "cannot create %s", path);
	unlink(tmp);
	/* The new name must survive a crash as surely as the data it
	 * will protect: sync the folder that holds it. */
	if (rc == 0 && *won && (fd = open(dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) >= 0) {
		if (fsync(fd) < 0)
			rc = rv_fail_errno(e, EX_IOERR, "cannot sync %s", dir);
		close(fd);
	}
out:
	rv_wipe(text, sizeof(text));
	return rc;
}

int
crypt_key_read(int may_create, uint8_t key[RV_KEY_LEN], int *created,
    struct rv_err *e)
{
	const char *path = crypt_key_path();
	char text[2 * RV_KEY_LEN + 8];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	if (created != NULL)
		*created = 0;
	if ((rc = crypt_init(e)) != 0)
		return rc;
	/* O_NONBLOCK: a FIFO or a device in its place must not hang the
	 * tool; it is refused below as not a file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT && may_create) {
		int won;

		if ((rc = key_create(path, &won, e)) != 0)
			return rc;
		if (created != NULL)
			*created = won;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return rv_fail(e, EX_CONFIG, "no key file %s", path);
		return rv_fail_errno(e, EX_CONFIG, "cannot read key file %s",
		    path);
	}
	if (fstat(fd, &st) < 0) {
		rc = rv_fail_errno(e, EX_CONFIG, "cannot stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = rv_fail(e, EX_CONFIG, "key file %s is not a file", path);
		goto out;
	}
	/* Group or others may neither read it nor replace its contents. */
	if (st.st_mode & 077) {
		rc = rv_fail(e, EX_CONFIG,
		    "key file %s is open to group or others (mode %04o); fix "
		    "it with: chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0) {
		rc = rv_fail_errno(e, EX_CONFIG, "cannot read key file %s",
		    path);
		goto out;
	}
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' ||
	    text[n - 1] == ' '))
		n--;
	if (n != 2 * RV_KEY_LEN || !unhex(text, key, RV_KEY_LEN))
		rc = rv_fail(e, EX_CONFIG,
		    "key file %s is damaged: expected 64 hex digits", path);
out:
	rv_wipe(text, sizeof(text));
	close(fd);
	return rc;
}

void
crypt_sha256(const void *data, size_t n, uint8_t out[32])
{
	need_init();
	gcry_md_hash_buffer(GCRY_MD_SHA256, out, data, n);
}

void
crypt_hmac(const uint8_t key[RV_KEY_LEN], const void *data, size_t n,
    uint8_t out[32])
{
	gcry_md_hd_t h;

	need_init();
	if (gcry_md_open(&h, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC) != 0 ||
	    gcry_md_setkey(h, key, RV_KEY_LEN) != 0)
		abort();
	gcry_md_write(h, data, n);
	memcpy(out, gcry_md_read(h, GCRY_MD_SHA256), 32);
	gcry_md_close(h);
}

/* HKDF-SHA256 (RFC 5869): one block of output per purpose label. */
void
crypt_derive(const uint8_t master[RV_KEY_LEN], int purpose,
    uint8_t out[RV_KEY_LEN])
{
	static const char *const label[] = {
		[RV_KEY_FIELD] = "riserva field v1",
		[RV_KEY_AUDIT] = "riserva audit v1",
		[RV_KEY_BACKUP] = "riserva backup v1",
		[RV_KEY_TOKEN] = "riserva token v1",
		[RV_KEY_CHECK] = "riserva check v1",
	};
	static const uint8_t salt[RV_KEY_LEN] = "riserva hkdf salt";
	uint8_t prk[32], info[64];
	size_t n;

	/* A purpose without a label would derive from garbage. */
	if (purpose < 0 ||
	    (size_t)purpose >= sizeof(label) / sizeof(label[0]) ||
	    label[purpose] == NULL)
		abort();
	n = strlen(label[purpose]);
	crypt_hmac(salt, master, RV_KEY_LEN, prk);
	memcpy(info, label[purpose], n);
	info[n] = 1;
	crypt_hmac(prk, info, n + 1, out);
	rv_wipe(prk, sizeof(prk));
}

static int
gcm_open_handle(gcry_cipher_hd_t *h, const uint8_t key[RV_KEY_LEN],
    const uint8_t *nonce, const char *aad, struct rv_err *e)
{
	if (gcry_cipher_open(h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, 0) ||
	    gcry_cipher_setkey(*h, key, RV_KEY_LEN) ||
	    gcry_cipher_setiv(*h, nonce, NONCE_LEN) ||
	    gcry_cipher_authenticate(*h, aad, strlen(aad)))
		return rv_fail(e, EX_SOFTWARE, "cipher setup failed");
	return 0;
}

int
crypt_seal(const uint8_t key[RV_KEY_LEN], const char *aad, const void *plain,
    size_t n, uint8_t **blob, size_t *blobn, struct rv_err *e)
{
	gcry_cipher_hd_t h = NULL;
	uint8_t *b = xmalloc(n + RV_SEAL_OVERHEAD);
	int rc;

	need_init();
	b[0] = 1;
	gcry_create_nonce(b + 1, NONCE_LEN);
	if ((rc = gcm_open_handle(&h, key, b + 1, aad, e)) != 0)
		goto fail;
	if (gcry_cipher_final(h) ||
	    gcry_cipher_encrypt(h, b + 1 + NONCE_LEN, n, plain, n) ||
	    gcry_cipher_gettag(h, b + 1 + NONCE_LEN + n, TAG_LEN)) {
		rc = rv_fail(e, EX_SOFTWARE, "encryption failed");
		goto fail;
	}
	gcry_cipher_close(h);
	*blob = b;
	*blobn = n + RV_SEAL_OVERHEAD;
	return 0;
fail:
	gcry_cipher_close(h);
	free(b);
	return rc;
}

int
crypt_open(const uint8_t key[RV_KEY_LEN], const char *aad,
    const uint8_t *blob, size_t blobn, char **plain, size_t *n,
    struct rv_err *e)
{
	gcry_cipher_hd_t h = NULL;
	size_t len;
	char *p;
	int rc;

	*plain = NULL;
	need_init();
	if (blobn < RV_SEAL_OVERHEAD || blob[0] != 1)
		return rv_fail(e, EX_DATAERR, "%s: not a sealed value", aad);
	len = blobn - RV_SEAL_OVERHEAD;
	p = xmalloc(len + 1);
	if ((rc = gcm_open_handle(&h, key, blob + 1, aad, e)) != 0)
		goto fail;
	if (gcry_cipher_final(h) ||
	    gcry_cipher_decrypt(h, p, len, blob + 1 + NONCE_LEN, len) ||
	    gcry_cipher_checktag(h, blob + 1 + NONCE_LEN + len, TAG_LEN)) {
		rc = rv_fail(e, EX_DATAERR,
		    "%s: cannot decrypt (wrong key or damaged data)", aad);
		goto fail;
	}
	gcry_cipher_close(h);
	p[len] = '\0';
	*plain = p;
	*n = len;
	return 0;
fail:
	gcry_cipher_close(h);
	rv_wipe(p, len);
	free(p);
	return rc;
}
