/* mac.h — a keyed HMAC-SHA256 kept ready for hot loops; constant-time compare. */
#ifndef RV_MAC_H
#define RV_MAC_H

#include <stddef.h>
#include <stdint.h>

#define RV_MAC_LEN 32

struct rv_mac;
/* The key is copied into libgcrypt's state; the caller wipes its own. */
struct rv_mac *mac_new(const uint8_t *key, size_t keylen);
/* Another handle with the same key, for another thread. */
struct rv_mac *mac_dup(struct rv_mac *m);
/* HMAC of one message; the key's pads are not recomputed. */
void mac_run(struct rv_mac *m, const void *data, size_t n,
    uint8_t out[RV_MAC_LEN]);
void mac_free(struct rv_mac *m);
/* 1 when equal; the time taken does not depend on where they differ. */
int mac_equal(const void *a, const void *b, size_t n);

#endif
