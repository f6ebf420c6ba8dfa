// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-common: hex encoding.
 */
#include <errno.h>
#include <string.h>

#include "dpcommon.h"

void dp_hex(const uint8_t *p, size_t len, char *out)
{
	static const char x[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = x[p[i] >> 4];
		out[2 * i + 1] = x[p[i] & 15];
	}
	out[2 * len] = '\0';
}

int dp_hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dp_unhex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(s), i;

	if (n % 2)
		return dp_seterr(EINVAL, "hex string has an odd length");
	if (n / 2 > max)
		return dp_seterr(E2BIG, "hex string longer than %zu bytes", max);
	for (i = 0; i < n / 2; i++) {
		int hi = dp_hexdigit((unsigned char)s[2 * i]);
		int lo = dp_hexdigit((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return dp_seterr(EINVAL, "not a hex digit at offset %zu",
					 2 * i);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

int dp_unhex_exact(const char *hex, uint8_t *out, size_t want)
{
	size_t i;

	if (!hex || strlen(hex) != 2 * want)
		return -1;
	for (i = 0; i < want; i++) {
		int hi = dp_hexdigit((unsigned char)hex[2 * i]);
		int lo = dp_hexdigit((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
