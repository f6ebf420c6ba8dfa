/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libdstackpod-common: hex encoding, shared by the device tools and the verifier.
 */
#ifndef LIBDSTACKPOD_HEX_H
#define LIBDSTACKPOD_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Value of one hex digit (either case), or -1. */
int dp_hexdigit(int c);
/* Lower-case hex of len bytes into out (size >= 2 * len + 1). */
void dp_hex(const uint8_t *p, size_t len, char *out);
/* Decode hex (either case) of at most max bytes; 0 or -errno (dp_errmsg). */
int dp_unhex(const char *s, uint8_t *out, size_t max, size_t *len);
/* Decode exactly want bytes of hex; 0, or -1 if anything else is given. */
int dp_unhex_exact(const char *hex, uint8_t *out, size_t want);

#endif /* LIBDSTACKPOD_HEX_H */
