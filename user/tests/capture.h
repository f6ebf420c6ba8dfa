/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Run a dstack-podctl subcommand inside a unit test with its stdout and
 * stderr captured into `captured`.  The test calls mkstemp(out_path) once
 * before the first run and unlink(out_path) at the end.
 */
#ifndef DSTACK_POD_CAPTURE_H
#define DSTACK_POD_CAPTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static char out_path[] = "/tmp/dp-capture-XXXXXX";
static char captured[65536];

/* cmd(argc, argv) with argv = argv0 followed by args (NULL-terminated). */
static int capture_run(int (*cmd)(int, char **), const char *argv0,
		       const char *a1, va_list ap)
{
	char *argv[32];
	int argc = 0, fd, saved_out, saved_err, rc;
	const char *s;
	ssize_t n;

	argv[argc++] = (char *)argv0;
	for (s = a1; s && argc < 31; s = va_arg(ap, const char *))
		argv[argc++] = (char *)s;
	argv[argc] = NULL;

	fflush(stdout);
	fflush(stderr);
	fd = open(out_path, O_RDWR | O_TRUNC);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	rc = cmd(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, captured, sizeof(captured) - 1);
	captured[n > 0 ? n : 0] = 0;
	close(fd);
	return rc;
}

/* capture_run() with the arguments inline: cmd, argv0, args..., NULL. */
static inline int capture_call(int (*cmd)(int, char **), const char *argv0, ...)
{
	va_list ap;
	int rc;

	va_start(ap, argv0);
	rc = capture_run(cmd, argv0, va_arg(ap, const char *), ap);
	va_end(ap);
	return rc;
}

#endif /* DSTACK_POD_CAPTURE_H */
