/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the host unit tests find their data files: user/tests/data/<sub> in
 * the source tree, found from the working directory (scripts/run-tests runs
 * from the project root) or, failing that, from the test binary's own path
 * (build/tests/<name> -> ../../user/tests/data/<sub>).  An environment
 * variable may point elsewhere.  Nothing outside the repository is read.
 */
#ifndef DSTACK_POD_TESTDATA_H
#define DSTACK_POD_TESTDATA_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The data folder for @sub; @env (may be NULL) overrides it when set. */
static inline const char *test_data_dir(const char *env, const char *sub)
{
	static char dir[PATH_MAX];
	const char *e = env ? getenv(env) : NULL;
	char exe[PATH_MAX];
	const char *slash;
	ssize_t n;

	if (e && *e)
		return e;
	snprintf(dir, sizeof(dir), "user/tests/data/%s", sub);
	if (!access(dir, R_OK))
		return dir;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			snprintf(dir, sizeof(dir), "%.*s/../../user/tests/data/%s",
				 (int)(slash - exe), exe, sub);
	}
	return dir;
}

#endif
