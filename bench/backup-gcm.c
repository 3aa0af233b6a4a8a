/*
 * backup-gcm.c — the baseline's encryption step: FILE sealed in 1 MiB
 * chunks of AES-256-GCM into OUT, as backup(1) seals its snapshot, with a
 * random key. usage: backup-gcm FILE OUT
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <gcrypt.h>

#define CHUNK (1 << 20)

int
main(int argc, char *argv[])
{
	unsigned char key[32], nonce[12] = { 0 }, tag[16], *buf;
	gcry_cipher_hd_t c;
	unsigned long long i = 0;
	FILE *in, *out;
	size_t n;

	if (argc != 3 || (in = fopen(argv[1], "rb")) == NULL ||
	    (out = fopen(argv[2], "wb")) == NULL) {
		fputs("usage: backup-gcm FILE OUT\n", stderr);
		return 64;
	}
	gcry_check_version(NULL);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	gcry_randomize(key, sizeof(key), GCRY_STRONG_RANDOM);
	buf = malloc(CHUNK);
	if (buf == NULL || gcry_cipher_open(&c, GCRY_CIPHER_AES256,
	    GCRY_CIPHER_MODE_GCM, 0) || gcry_cipher_setkey(c, key, 32))
		return 70;
	do {
		n = fread(buf, 1, CHUNK, in);
		nonce[0] = (unsigned char)(i >> 24);
		nonce[1] = (unsigned char)(i >> 16);
		nonce[2] = (unsigned char)(i >> 8);
		nonce[3] = (unsigned char)i;
		gcry_cipher_reset(c);
		gcry_cipher_setiv(c, nonce, sizeof(nonce));
		gcry_cipher_final(c);
		gcry_cipher_encrypt(c, buf, n, NULL, 0);
		gcry_cipher_gettag(c, tag, sizeof(tag));
		fwrite(buf, 1, n, out);
		fwrite(tag, 1, sizeof(tag), out);
		i++;
	} while (n == CHUNK);
	if (fflush(out) != 0 || fsync(fileno(out)) != 0)
		return 74;
	fclose(out);
	fclose(in);
	gcry_cipher_close(c);
	free(buf);
	return 0;
}
