/*
 * kat.c — known-answer tests of the library's primitives, for t/auth.bats:
 *   kat pbkdf2 PASSHEX SALTHEX ITERATIONS DKLEN   PBKDF2-HMAC-SHA256
 *   kat hmac KEYHEX MSGHEX                        HMAC-SHA256 (lib/mac.c)
 * print the result in hex. Hex in, so passwords may hold NUL bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "riserva.h"
#include "auth.h"
#include "mac.h"
#include "banned.h"

static size_t
unhex(const char *s, uint8_t **out)
{
	size_t n = strlen(s) / 2, i;
	unsigned int v;

	*out = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			exit(EX_USAGE);
		(*out)[i] = (uint8_t)v;
	}
	return n;
}

static void
print_hex(const uint8_t *p, size_t n)
{
	char *hex = xmalloc(2 * n + 1);

	crypt_hex(p, n, hex);
	puts(hex);
	free(hex);
}

int
main(int argc, char *argv[])
{
	struct rv_err e = { 0 };
	uint8_t *a, *b, *out;
	size_t an, bn;
	long iter, dklen;

	if (argc == 6 && strcmp(argv[1], "pbkdf2") == 0 &&
	    parse_int(argv[4], 1, 100000000, &iter) &&
	    parse_int(argv[5], 1, 1024, &dklen)) {
		an = unhex(argv[2], &a);
		bn = unhex(argv[3], &b);
		out = xmalloc((size_t)dklen);
		if (auth_pbkdf2((const char *)a, an, b, bn,
		    (unsigned long)iter, out, (size_t)dklen, &e) != 0) {
			fprintf(stderr, "kat: %s\n", e.msg);
			return e.code;
		}
		print_hex(out, (size_t)dklen);
	} else if (argc == 4 && strcmp(argv[1], "hmac") == 0) {
		struct rv_mac *m;
		uint8_t mac[RV_MAC_LEN];

		an = unhex(argv[2], &a);
		bn = unhex(argv[3], &b);
		m = mac_new(a, an);
		mac_run(m, b, bn, mac);
		/* The handle is reused: the second MAC must equal the first. */
		mac_run(m, b, bn, mac);
		mac_free(m);
		print_hex(mac, sizeof(mac));
		out = NULL;
	} else {
		fputs("usage: kat pbkdf2 PASSHEX SALTHEX ITERATIONS DKLEN\n"
		    "       kat hmac KEYHEX MSGHEX\n", stderr);
		return EX_USAGE;
	}
	free(a);
	free(b);
	free(out);
	return 0;
}
