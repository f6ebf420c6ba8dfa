// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the VM selftests.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sutil.h"

int st_open(void)
{
	struct dp_dev dev;

	if (dp_open(&dev)) {
		printf("Bail out! %s\n", dp_errmsg());
		exit(1);
	}
	return dev.fd;
}

int st_rtmr3(uint8_t out[DSTACK_POD_DIGEST_LEN])
{
	char buf[128];
	size_t n;

	if (dp_sysfs_read("rtmr3", buf, sizeof(buf)) < 0)
		return -1;
	if (dp_unhex(buf, out, DSTACK_POD_DIGEST_LEN, &n) || n != 48)
		return -1;
	return 0;
}

long st_event_count(void)
{
	char buf[32];

	if (dp_sysfs_read("event_count", buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

int st_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

int st_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

int st_move_self(const char *cg)
{
	char path[512];

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", cg) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return st_write_file(path, "0");
}

pid_t st_spawn_in(const char *cg)
{
	int p[2], status;
	char ok = 0;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (st_move_self(cg))
			_exit(1);
		if (write(p[1], "y", 1) != 1)
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &ok, 1) == 1 && ok == 'y') {
		close(p[0]);
		return pid;
	}
	close(p[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	return -1;
}

static int st_drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	struct __user_cap_data_struct *d;

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	d = &data[CAP_TO_INDEX(CAP_SYS_ADMIN)];
	d->effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	d->permitted &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	d->inheritable &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_capset, &hdr, data);
}

/* uid 0 with CAP_NET_ADMIN alone, in every set and the bounding set. */
static int st_only_net_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	int cap;

	for (cap = 0; cap <= 63; cap++)
		if (cap != CAP_NET_ADMIN && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) &&
		    errno != EINVAL)
			return -1;
	memset(data, 0, sizeof(data));
	data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective = CAP_TO_MASK(CAP_NET_ADMIN);
	data[CAP_TO_INDEX(CAP_NET_ADMIN)].permitted = CAP_TO_MASK(CAP_NET_ADMIN);
	return (int)syscall(SYS_capset, &hdr, data);
}

int st_as(enum st_drop how, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0) {
		int r;

		if (how == ST_DROP_NOBODY)
			r = setresgid(ST_NOBODY, ST_NOBODY, ST_NOBODY) ||
			    setresuid(ST_NOBODY, ST_NOBODY, ST_NOBODY);
		else if (how == ST_DROP_NET_ADMIN)
			r = st_only_net_admin();
		else
			r = st_drop_sys_admin();
		if (r)
			_exit(250);
		_exit(fn(arg) & 0xff);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 251;
	return WEXITSTATUS(status);
}

int st_snapshot(struct st_state *s)
{
	char buf[32];

	memset(s, 0, sizeof(*s));
	s->events = st_event_count();
	if (dp_sysfs_read("fuse", buf, sizeof(buf)) < 0)
		return -1;
	s->mode = !strcmp(buf, "secure");
	return st_rtmr3(s->rtmr3);
}

int st_same(const struct st_state *a, const struct st_state *b)
{
	return a->events == b->events && a->mode == b->mode &&
	       !memcmp(a->rtmr3, b->rtmr3, sizeof(a->rtmr3));
}

int st_sha384v(uint8_t out[48], ...)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const void *p;
	va_list ap;
	int ok;

	if (!ctx)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha384(), NULL);
	va_start(ap, out);
	while (ok && (p = va_arg(ap, const void *)) != NULL) {
		size_t n = va_arg(ap, size_t);

		ok = EVP_DigestUpdate(ctx, p, n);
	}
	va_end(ap);
	ok = ok && EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

const char *st_module_ko(void)
{
	static char path[4096];
	const char *dir = getenv("DSTACK_VM_KMOD");

	if (!dir || !*dir)
		dir = "kmod";
	if (snprintf(path, sizeof(path), "%s/dstack_pod.ko", dir) >=
	    (int)sizeof(path))
		return "kmod/dstack_pod.ko";
	return path;
}
