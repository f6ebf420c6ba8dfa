/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A very small TAP (Test Anything Protocol) producer shared by the host unit
 * tests and the VM selftests.  Header-only: each test program includes it
 * once.  Output: "TAP version 13", one "ok N - name" / "not ok N - name" per
 * check, "# " diagnostics, and the plan "1..N" at the end.
 */
#ifndef DSTACK_POD_TAP_H
#define DSTACK_POD_TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count;
static int tap_failed;

static inline void tap_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
}

static inline void tap_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* Record one check; returns cond so callers can chain. */
static inline int tap_ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	return cond;
}

/* Check that a call failed with the expected errno. */
#define tap_errno(ret, want, ...)					\
	({								\
		int __r = (ret), __e = errno;				\
		int __c = __r < 0 && __e == (want);			\
		if (!__c)						\
			tap_diag("got ret=%d errno=%d (%s), want errno %d (%s)", \
				 __r, __r < 0 ? __e : 0,		\
				 __r < 0 ? strerror(__e) : "none",	\
				 (want), strerror(want));		\
		tap_ok(__c, __VA_ARGS__);				\
	})

/* Check that a call returned >= 0. */
#define tap_success(ret, ...)						\
	({								\
		int __r = (ret), __e = errno;				\
		if (__r < 0)						\
			tap_diag("failed: ret=%d errno=%d (%s)", __r, __e, \
				 strerror(__e));			\
		tap_ok(__r >= 0, __VA_ARGS__);				\
	})

/* Print the plan and return the process exit status. */
static inline int tap_end(void)
{
	printf("1..%d\n", tap_count);
	if (tap_count == 0) {
		printf("# no checks ran\n");
		return 1;
	}
	return tap_failed ? 1 : 0;
}

#endif /* DSTACK_POD_TAP_H */
