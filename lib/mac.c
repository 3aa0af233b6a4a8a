/* mac.c — a keyed HMAC-SHA256 handle reused across messages, for the audit
 * chain (one MAC per row, a million rows in a verify). */
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "riserva.h"
#include "mac.h"
#include "banned.h"

struct rv_mac {
	gcry_md_hd_t h;
};

struct rv_mac *
mac_new(const uint8_t *key, size_t keylen)
{
	struct rv_mac *m = xcalloc(1, sizeof(*m));

	if (crypt_init(NULL) != 0 ||
	    gcry_md_open(&m->h, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC) != 0 ||
	    gcry_md_setkey(m->h, key, keylen) != 0)
		abort();	/* only a broken libgcrypt gets here */
	return m;
}

struct rv_mac *
mac_dup(struct rv_mac *m)
{
	struct rv_mac *d = xcalloc(1, sizeof(*d));

	if (gcry_md_copy(&d->h, m->h) != 0)
		abort();
	return d;
}

void
mac_run(struct rv_mac *m, const void *data, size_t n, uint8_t out[RV_MAC_LEN])
{
	/* A reset keeps the key: only the message is hashed again. */
	gcry_md_reset(m->h);
	gcry_md_write(m->h, data, n);
	memcpy(out, gcry_md_read(m->h, GCRY_MD_SHA256), RV_MAC_LEN);
}

void
mac_free(struct rv_mac *m)
{
	if (m == NULL)
		return;
	gcry_md_close(m->h);
	free(m);
}

int
mac_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
