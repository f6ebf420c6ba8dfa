// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-common: the thread-local description of the last failure,
 * which every part of libdstackpod reports through.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dpcommon.h"

static _Thread_local char dp_msg[512];

const char *dp_errmsg(void)
{
	return dp_msg[0] ? dp_msg : "no error";
}

int dp_seterr(int err, const char *fmt, ...)
{
	char msg[sizeof(dp_msg)];
	va_list ap;
	size_t n;

	/* Into a copy first: callers may pass dp_errmsg() as an argument. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	memcpy(dp_msg, msg, n + 1);
	if (err && n < sizeof(dp_msg) - 3)
		snprintf(dp_msg + n, sizeof(dp_msg) - n, ": %s", strerror(err));
	return -err;
}
