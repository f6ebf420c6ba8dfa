// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: Pod identities in setup mode.  Lays out cgroups the way
 * kubelet does (cgroupfs and systemd drivers), binds Pods, moves processes
 * in, and checks that every process gets exactly its own Pod's identity,
 * every binding rule has its errno, and bindings never leak.  Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sutil.h"

#define CG		"/sys/fs/cgroup"
#define UID_A		"0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11"
#define UID_B		"7f1c2e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
#define UID_C		"c3c3c3c3-0000-4111-8222-333344445555"
#define UID_D		"d4d4d4d4-1111-4222-8333-444455556666"
#define POD_A		CG "/kubepods/burstable/pod" UID_A
#define CTR_A		POD_A "/4f1e0c9a7b2d"
#define POD_B		CG "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod7f1c2e3d_4b5a_4c6d_8e7f_9a0b1c2d3e4f.slice"
#define CTR_B		POD_B "/cri-containerd-9e8d7c6b5a49.scope"
#define NODE_CG		CG "/system.slice"
#define SCRATCH		CG "/scratch"

static int fd;
static char self_exe[256];

static void mkdirs(const char *path)
{
	char buf[512], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + strlen(CG) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	mkdir(buf, 0755);
}

static void spec_hash(uint8_t h[32], int seed)
{
	int i;

	for (i = 0; i < 32; i++)
		h[i] = (uint8_t)(seed * 31 + i);
}

static int bind_pod(const char *cg, const char *uid, const char *workload,
		    int seed, uint64_t *gen)
{
	struct dp_dev dev = { .fd = fd };
	struct dp_pod_identity id = {
		.pod_uid = uid,
		.workload_id = workload,
		.pod_namespace = "tenant-a",
		.pod_name = workload,
		.spec_source = DSTACK_POD_SPEC_APISERVER,
	};

	spec_hash(id.pod_spec_hash, seed);
	return dp_bind(&dev, cg, &id, gen);
}

/* Raw bind, for malformed-argument tests. */
static int bind_raw(struct dstack_pod_bind *arg, const char *cg)
{
	int cfd = open(cg, O_RDONLY | O_DIRECTORY), r, e;

	arg->cgroup_fd = cfd;
	r = ioctl(fd, DSTACK_POD_IOC_BIND, arg);
	e = errno;
	close(cfd);
	errno = e;
	return r;
}

static void bind_arg(struct dstack_pod_bind *a, const char *uid)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->pod_uid, uid);
	strcpy(a->workload_id, "ns/app");
}

struct att {
	int err;
	struct dstack_pod_claims c;
	uint8_t rep[DSTACK_POD_TDREPORT_LEN];
};

static void do_attest(struct att *r)
{
	struct dp_dev dev;
	static const uint8_t nonce[] = "fresh-nonce";

	memset(r, 0, sizeof(*r));
	if (dp_open(&dev)) {
		r->err = errno;
		return;
	}
	r->err = -dp_attest(&dev, -1, nonce, sizeof(nonce) - 1, &r->c, r->rep);
	dp_close(&dev);
}

static void *attest_thread(void *arg)
{
	do_attest(arg);
	return NULL;
}

enum how { DIRECT, AFTER_FORK, AFTER_EXEC, FROM_THREAD, AS_NOBODY };

static void write_all(int wfd, const void *p, size_t n)
{
	ssize_t w;

	while (n && (w = write(wfd, p, n)) > 0) {
		p = (const char *)p + w;
		n -= (size_t)w;
	}
}

/* Attest from a child process placed in @cg (NULL: stay where we are). */
static void attest_in(const char *cg, enum how how, struct att *r)
{
	int p[2], status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->err = EIO;
	if (pipe(p))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct att res;
		pthread_t t;

		close(p[0]);
		if (cg && st_move_self(cg))
			_exit(2);
		switch (how) {
		case AFTER_FORK:
			if (fork() == 0) {
				do_attest(&res);
				write_all(p[1], &res, sizeof(res));
				_exit(0);
			}
			wait(NULL);
			_exit(0);
		case AFTER_EXEC: {
			char num[16];

			snprintf(num, sizeof(num), "%d", p[1]);
			execl(self_exe, self_exe, "exec-attest", num, (char *)NULL);
			_exit(3);
		}
		case FROM_THREAD:
			pthread_create(&t, NULL, attest_thread, &res);
			pthread_join(t, NULL);
			break;
		case AS_NOBODY:
			if (setresgid(ST_NOBODY, ST_NOBODY, ST_NOBODY) ||
			    setresuid(ST_NOBODY, ST_NOBODY, ST_NOBODY))
				_exit(4);
			do_attest(&res);
			break;
		default:
			do_attest(&res);
		}
		write_all(p[1], &res, sizeof(res));
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], r, sizeof(*r)) != sizeof(*r))
		r->err = EIO;
	close(p[0]);
	waitpid(pid, &status, 0);
}

/* Claims well-formed, bound to the report, and naming @uid / @workload. */
static int claims_are(const struct att *r, const char *uid, const char *workload,
		      int seed)
{
	uint8_t rd[64], h[32];
	char u[37];

	if (r->err)
		return 0;
	dp_uuid_format(r->c.pod_uid, u);
	spec_hash(h, seed);
	dp_claims_report_data(&r->c, rd);
	return !memcmp(r->c.magic, DSTACK_POD_CLAIMS_MAGIC, 16) &&
	       r->c.version == DSTACK_POD_CLAIMS_VERSION &&
	       !strcmp(u, uid) && !strcmp(r->c.workload_id, workload) &&
	       !memcmp(r->c.pod_spec_hash, h, 32) &&
	       !memcmp(r->rep + DP_TDREPORT_REPORTDATA, rd, 64) &&
	       r->rep[0] == 0x81;
}

static uint64_t gen_a, gen_b;

static void test_bind_and_attest(void)
{
	struct dp_dev dev = { .fd = fd };
	struct att r;
	char buf[32];

	mkdirs(CTR_A);
	mkdirs(CTR_B);
	mkdirs(NODE_CG);
	mkdirs(SCRATCH);
	tap_success(bind_pod(POD_A, UID_A, "tenant-a/web", 1, &gen_a),
		    "bind: pod A (cgroupfs driver, burstable)");
	tap_success(bind_pod(POD_B, UID_B, "tenant-a/db", 2, &gen_b),
		    "bind: pod B (systemd driver, besteffort)");
	tap_ok(gen_b > gen_a && gen_a > 0, "bind: generations increase (%llu, %llu)",
	       (unsigned long long)gen_a, (unsigned long long)gen_b);
	tap_ok(dp_sysfs_read("pods", buf, sizeof(buf)) >= 0 && !strcmp(buf, "2"),
	       "sysfs: pods reads 2");

	attest_in(CTR_A, DIRECT, &r);
	tap_ok(claims_are(&r, UID_A, "tenant-a/web", 1),
	       "attest: a container of A gets A's identity (err %d)", r.err);
	tap_ok(r.c.generation == gen_a && !strcmp(r.c.pod_namespace, "tenant-a") &&
	       !strcmp(r.c.pod_name, "tenant-a/web") &&
	       r.c.spec_source == DSTACK_POD_SPEC_APISERVER,
	       "attest: claims carry generation, namespace/name, spec source");
	tap_ok(r.c.nonce_len == 11 && !memcmp(r.c.nonce, "fresh-nonce", 11) &&
	       !r.c.nonce[11], "attest: nonce echoed, zero-padded");
	tap_ok(!(r.c.flags & DSTACK_POD_CLAIM_SECURE), "attest: not secure before the fuse");
	tap_success(dp_verify_report(&dev, r.rep), "attest: report MAC verifies");
	attest_in(CTR_B, DIRECT, &r);
	tap_ok(claims_are(&r, UID_B, "tenant-a/db", 2), "attest: a container of B gets B's identity");
	attest_in(POD_A, DIRECT, &r);
	tap_ok(claims_are(&r, UID_A, "tenant-a/web", 1), "attest: the pod cgroup itself gets A");
	attest_in(NODE_CG, DIRECT, &r);
	tap_ok(r.err == ENOENT, "forgery: a node process gets ENOENT (%d)", r.err);
	attest_in(NULL, AS_NOBODY, &r);
	tap_ok(r.err == ENOENT, "forgery: a root-cgroup process gets ENOENT");
}

static void test_nesting_fork_exec_threads(void)
{
	struct att r;

	mkdirs(CTR_A "/sysbox/inner/deeper");
	attest_in(CTR_A "/sysbox/inner/deeper", DIRECT, &r);
	tap_ok(claims_are(&r, UID_A, "tenant-a/web", 1),
	       "forgery: a nested child cgroup still gets only A");
	attest_in(CTR_B, AFTER_FORK, &r);
	tap_ok(claims_are(&r, UID_B, "tenant-a/db", 2), "forgery: after fork, B stays B");
	attest_in(CTR_B, AFTER_EXEC, &r);
	tap_ok(claims_are(&r, UID_B, "tenant-a/db", 2), "forgery: after exec, B stays B");
	attest_in(CTR_A, FROM_THREAD, &r);
	tap_ok(claims_are(&r, UID_A, "tenant-a/web", 1), "forgery: a thread of A gets A");
	attest_in(CTR_A, AS_NOBODY, &r);
	tap_ok(claims_are(&r, UID_A, "tenant-a/web", 1),
	       "attest: needs no privilege (nobody in A gets A)");
}

static void test_pod_measure(void)
{
	struct dp_dev dev = { .fd = fd };
	uint8_t pmr[48], want[48] = { 0 }, d[48], mr[48];
	struct dp_log log;
	struct att r;
	int p[2];
	pid_t pid;

	dp_event_digest("container.web", "image=nginx@sha256:aa", 21, d);
	dp_rtmr_extend(want, d);
	tap_success(dp_pod_extend(&dev, NULL, UID_A, "container.web",
				  "image=nginx@sha256:aa", 21, pmr),
		    "measure: pod extend by uid");
	tap_ok(!memcmp(pmr, want, 48), "measure: PMR = SHA-384(0 || digest)");
	dp_event_digest("container.sidecar", "", 0, d);
	dp_rtmr_extend(want, d);
	tap_success(dp_pod_extend(&dev, POD_A, NULL, "container.sidecar", "", 0, pmr),
		    "measure: pod extend by cgroup");
	tap_ok(!memcmp(pmr, want, 48), "measure: second extend chains");
	attest_in(CTR_A, DIRECT, &r);
	tap_ok(!r.err && !memcmp(r.c.pmr, want, 48) && r.c.pmr_events == 2,
	       "measure: A's claims carry the PMR and 2 events");
	attest_in(CTR_B, DIRECT, &r);
	tap_ok(!r.err && !memcmp(r.c.pmr, (uint8_t[48]){ 0 }, 48) && !r.c.pmr_events,
	       "measure: B's PMR untouched");
	tap_errno(dp_pod_extend(&dev, NULL, UID_C, "x", "", 0, NULL) ? -1 : 0, ENOENT,
		  "measure: unbound uid -> ENOENT");
	tap_errno(dp_pod_extend(&dev, NULL, UID_A, "bad:name", "", 0, NULL) ? -1 : 0, EINVAL,
		  "measure: bad event name -> EINVAL");
	tap_errno(dp_pod_extend(&dev, NULL, UID_A, "dstack-pod.fuse", "", 0, NULL) ? -1 : 0,
		  EINVAL, "measure: reserved dstack-pod. prefix -> EINVAL");

	/* The Pod's own log, read from inside the Pod. */
	if (pipe(p))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct dp_dev d2;
		int ok = 0;

		close(p[0]);
		if (!st_move_self(CTR_A) && !dp_open(&d2) && !dp_pod_log(&d2, &log) &&
		    log.n == 2 && !strcmp(log.ev[1].name, "container.sidecar") &&
		    !dp_log_replay(&log, mr) && !memcmp(mr, want, 48))
			ok = 1;
		write_all(p[1], &ok, sizeof(ok));
		_exit(0);
	}
	close(p[1]);
	{
		int ok = 0;

		if (read(p[0], &ok, sizeof(ok)) != sizeof(ok))
			ok = 0;
		tap_ok(ok, "measure: A reads its own log and it replays to the PMR");
	}
	close(p[0]);
	waitpid(pid, NULL, 0);
	tap_errno(dp_pod_log(&dev, &log) ? -1 : 0, ENOENT,
		  "measure: a node process has no Pod log (ENOENT)");
}

/*
 * POD_LOG returns at most 64 KiB per call, whatever buf_len says
 * (Documentation/uapi.rst); the caller pages with start.
 */
#define UID_L		"1e1e1e1e-3333-4444-8555-666677778888"
#define POD_L		CG "/kubepods/burstable/pod" UID_L
#define LOGCAP		(64 * 1024)
#define LOGCAP_LINE	8375	/* the longest line: 4096-byte payload */

struct logcap {
	int err;
	uint32_t count, used, total, count2, start2;
};

static void test_pod_log_cap(void)
{
	static char payload[4096], buf[256 * 1024];
	struct dp_dev dev = { .fd = fd };
	struct logcap lc = { .err = EIO };
	int i, err = 0, p[2];
	pid_t pid;

	memset(payload, 'x', sizeof(payload));
	mkdirs(POD_L);
	tap_success(bind_pod(POD_L, UID_L, "tenant-l/log", 7, NULL), "log cap: bind L");
	for (i = 0; i < 12 && !err; i++)
		err = dp_pod_extend(&dev, NULL, UID_L, "container.big", payload,
				    sizeof(payload), NULL);
	tap_ok(!err, "log cap: 12 events of 4096 bytes (about 100 KiB of lines)");
	if (pipe(p))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct dstack_pod_pod_log a;
		struct logcap r = { 0 };
		int dfd;

		close(p[0]);
		dfd = st_move_self(POD_L) ? -1 : open("/dev/dstack-pod", O_RDWR);
		memset(&a, 0, sizeof(a));
		a.buf = (uintptr_t)buf;
		a.buf_len = sizeof(buf);
		if (dfd < 0 || ioctl(dfd, DSTACK_POD_IOC_POD_LOG, &a)) {
			r.err = errno ? errno : EIO;
		} else {
			r.count = a.count;
			r.used = a.used;
			r.total = a.total;
			a.start = a.count;
			r.start2 = a.start;
			if (ioctl(dfd, DSTACK_POD_IOC_POD_LOG, &a))
				r.err = errno;
			r.count2 = a.count;
		}
		write_all(p[1], &r, sizeof(r));
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &lc, sizeof(lc)) != sizeof(lc))
		lc.err = EIO;
	close(p[0]);
	waitpid(pid, NULL, 0);
	tap_ok(!lc.err && lc.total == 12 && lc.used <= LOGCAP &&
	       lc.used > LOGCAP - LOGCAP_LINE && lc.count < lc.total,
	       "log cap: a 256 KiB buffer gets at most 64 KiB (%u bytes, %u of %u events)",
	       lc.used, lc.count, lc.total);
	tap_ok(!lc.err && lc.count + lc.count2 == lc.total,
	       "log cap: a second call from start=%u returns the other %u", lc.start2, lc.count2);
	tap_success(dp_unbind(&dev, NULL, UID_L), "log cap: unbind L");
	rmdir(POD_L);
}

/*
 * Kernel memory a caller makes the module keep (Pod structures, events)
 * is charged to the caller's memory cgroup (GFP_KERNEL_ACCOUNT): a binder
 * in a cgroup with memory.max cannot pin unaccounted memory.
 */
#define UID_M		"2f2f2f2f-3333-4444-8555-666677778888"
#define POD_M		CG "/kubepods/burstable/pod" UID_M
#define ACCT		CG "/dstack-acct"
#define ACCT_EVENTS	200

static long slab_of(const char *cg)
{
	char path[128], buf[8192], *p;

	snprintf(path, sizeof(path), "%s/memory.stat", cg);
	if (st_read_file(path, buf, sizeof(buf)))
		return -1;
	p = strstr(buf, "\nslab ");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

static int acct_extends(void *unused)
{
	static char payload[4096];
	struct dp_dev dev = { .fd = fd };
	int i;

	(void)unused;
	memset(payload, 'm', sizeof(payload));
	if (st_move_self(ACCT))
		return 250;
	for (i = 0; i < ACCT_EVENTS; i++)
		if (dp_pod_extend(&dev, NULL, UID_M, "container.acct", payload,
				  sizeof(payload), NULL))
			return errno;
	return 0;
}

static void test_memcg_charge(void)
{
	struct dp_dev dev = { .fd = fd };
	long before, after;
	int r, status;
	pid_t pid;

	tap_ok(!st_write_file(CG "/cgroup.subtree_control", "+memory") &&
	       !mkdir(ACCT, 0755), "memcg: a cgroup with the memory controller");
	mkdirs(POD_M);
	tap_success(bind_pod(POD_M, UID_M, "tenant-m/acct", 8, NULL), "memcg: bind M");
	before = slab_of(ACCT);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(acct_extends(NULL));
	r = waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : 251;
	after = slab_of(ACCT);
	tap_ok(!r, "memcg: %d Pod extends of 4096 bytes from inside it (%d)", ACCT_EVENTS, r);
	tap_ok(before >= 0 && after - before >= ACCT_EVENTS * 4096L,
	       "memcg: the events are charged to the caller's cgroup (slab %ld -> %ld)",
	       before, after);
	tap_success(dp_unbind(&dev, NULL, UID_M), "memcg: unbind M");
	rmdir(POD_M);
	rmdir(ACCT);
}

static void test_rules(void)
{
	struct dstack_pod_bind a;
	char buf[32], before[32];
	int cfd;

	dp_sysfs_read("pods", before, sizeof(before));
	mkdirs(CG "/kubepods/burstable/podx");
	tap_errno(bind_pod(POD_A, UID_C, "w", 3, NULL) ? -1 : 0, EEXIST,
		  "rules: a cgroup is bound at most once -> EEXIST");
	tap_errno(bind_pod(CTR_A, UID_C, "w", 3, NULL) ? -1 : 0, EBUSY,
		  "rules: no binding inside a bound cgroup -> EBUSY");
	tap_errno(bind_pod(CG "/kubepods/burstable", UID_C, "w", 3, NULL) ? -1 : 0, EBUSY,
		  "rules: no binding above a bound cgroup -> EBUSY");
	tap_errno(bind_pod(CG "/kubepods/burstable/podx", UID_A, "w", 3, NULL) ? -1 : 0,
		  ENOTUNIQ, "rules: one live binding per pod_uid -> ENOTUNIQ");

	bind_arg(&a, "0B6D4C52-6A51-4F3B-9D2E-2A8B0F0E4A11");
	tap_errno(bind_raw(&a, SCRATCH), EINVAL, "rules: upper-case uuid -> EINVAL");
	bind_arg(&a, "0b6d4c526a514f3b9d2e2a8b0f0e4a11");
	tap_errno(bind_raw(&a, SCRATCH), EINVAL, "rules: uuid without dashes -> EINVAL");
	bind_arg(&a, "0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a1g");
	tap_errno(bind_raw(&a, SCRATCH), EINVAL, "rules: non-hex uuid -> EINVAL");
	bind_arg(&a, UID_C);
	a.pod_uid[37] = 'x';
	tap_errno(bind_raw(&a, SCRATCH), EINVAL, "rules: garbage after the uuid -> EINVAL");
	bind_arg(&a, UID_C);
	a.workload_id[0] = '\0';
	tap_errno(bind_raw(&a, SCRATCH), EINVAL, "rules: empty workload_id -> EINVAL");
	bind_arg(&a, UID_C);
	memset(a.workload_id, 'w', sizeof(a.workload_id));
	tap_errno(bind_raw(&a, SCRATCH), EINVAL, "rules: unterminated workload_id -> EINVAL");
	bind_arg(&a, UID_C);
	memset(a.workload_id, 'w', 254);
	tap_errno(bind_raw(&a, SCRATCH), EINVAL, "rules: 254-byte workload_id -> EINVAL");
	bind_arg(&a, UID_C);
	a.workload_id[2] = '\n';
	tap_errno(bind_raw(&a, SCRATCH), EINVAL, "rules: control byte in workload_id -> EINVAL");
	bind_arg(&a, UID_C);
	strcpy(a.pod_namespace, "has space");
	tap_errno(bind_raw(&a, SCRATCH), EINVAL, "rules: space in namespace -> EINVAL");
	bind_arg(&a, UID_C);
	a.spec_source = 3;
	tap_errno(bind_raw(&a, SCRATCH), EINVAL, "rules: unknown spec_source -> EINVAL");
	bind_arg(&a, UID_C);
	a.reserved[1] = 1;
	tap_errno(bind_raw(&a, SCRATCH), EINVAL, "rules: reserved != 0 -> EINVAL");
	bind_arg(&a, UID_C);
	tap_errno(bind_raw(&a, "/tmp"), EBADF, "rules: not a cgroup directory -> EBADF");
	bind_arg(&a, UID_C);
	tap_errno(bind_raw(&a, CG), EINVAL, "rules: the root cgroup -> EINVAL");
	bind_arg(&a, UID_C);
	tap_errno(ioctl(fd, DSTACK_POD_IOC_BIND, NULL), EFAULT, "rules: NULL argument -> EFAULT");
	cfd = open("/proc/self/status", O_RDONLY);
	bind_arg(&a, UID_C);
	a.cgroup_fd = cfd;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_BIND, &a), EBADF, "rules: a file fd -> EBADF");
	close(cfd);
	dp_sysfs_read("pods", buf, sizeof(buf));
	tap_ok(!strcmp(buf, before), "rules: no rejected bind changed the bindings");
}

static int try_bind(void *unused)
{
	(void)unused;
	return bind_pod(SCRATCH, UID_C, "w", 3, NULL) ? errno : 0;
}

static int try_pod_extend(void *unused)
{
	struct dp_dev dev = { .fd = fd };

	(void)unused;
	return dp_pod_extend(&dev, NULL, UID_A, "x", "", 0, NULL) ? errno : 0;
}

static int try_unbind(void *unused)
{
	struct dp_dev dev = { .fd = fd };

	(void)unused;
	return dp_unbind(&dev, NULL, UID_A) ? errno : 0;
}

static void test_privilege(void)
{
	tap_ok(st_as(ST_DROP_NOBODY, try_bind, NULL) == EPERM, "privilege: nobody bind -> EPERM");
	tap_ok(st_as(ST_DROP_CAP, try_bind, NULL) == EPERM,
	       "privilege: root without CAP_SYS_ADMIN bind -> EPERM");
	tap_ok(st_as(ST_DROP_NOBODY, try_pod_extend, NULL) == EPERM,
	       "privilege: nobody pod extend -> EPERM");
	tap_ok(st_as(ST_DROP_CAP, try_unbind, NULL) == EPERM,
	       "privilege: root without CAP_SYS_ADMIN unbind -> EPERM");
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int try_mediated(void *pfd)
{
	struct dp_dev dev = { .fd = fd };

	return dp_attest(&dev, *(int *)pfd, NULL, 0, NULL, NULL) ? errno : 0;
}

static void test_mediated(void)
{
	struct dstack_pod_claims c;
	struct dstack_pod_attest *a;
	struct dp_dev dev = { .fd = fd };
	uint8_t rep[1024], rd[64];
	pid_t pid;
	int pfd, ffd;
	char u[37];

	pid = st_spawn_in(CTR_B);
	if (!tap_ok(pid > 0, "mediated: a process in B's container"))
		return;
	pfd = pidfd_open_(pid);
	tap_success(dp_attest(&dev, pfd, (const uint8_t *)"n", 1, &c, rep),
		    "mediated: attest B's process through its pidfd");
	dp_uuid_format(c.pod_uid, u);
	dp_claims_report_data(&c, rd);
	tap_ok(!strcmp(u, UID_B) && !memcmp(rep + DP_TDREPORT_REPORTDATA, rd, 64),
	       "mediated: claims are B's, bound to the report");
	tap_ok(st_as(ST_DROP_NOBODY, try_mediated, &pfd) == EPERM,
	       "mediated: unprivileged agent -> EPERM");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	tap_errno(dp_attest(&dev, pfd, NULL, 0, NULL, NULL) ? -1 : 0, ESRCH,
		  "mediated: process gone -> ESRCH");
	close(pfd);
	pfd = pidfd_open_(getpid());
	tap_errno(dp_attest(&dev, pfd, NULL, 0, NULL, NULL) ? -1 : 0, ENOENT,
		  "mediated: a node process -> ENOENT");
	close(pfd);
	ffd = open("/proc/self/status", O_RDONLY);
	tap_errno(dp_attest(&dev, ffd, NULL, 0, NULL, NULL) ? -1 : 0, EBADF,
		  "mediated: a non-pidfd fd -> EBADF");
	close(ffd);
	ffd = eventfd(0, EFD_CLOEXEC);
	tap_errno(dp_attest(&dev, ffd, NULL, 0, NULL, NULL) ? -1 : 0, EBADF,
		  "mediated: another anon-inode file (eventfd) -> EBADF");
	close(ffd);

	a = calloc(1, sizeof(*a));
	a->pidfd = 3;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_ATTEST, a), EINVAL,
		  "attest: pidfd != -1 on the self call -> EINVAL");
	a->pidfd = -1;
	a->nonce_len = 65;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_ATTEST, a), EINVAL, "attest: nonce_len 65 -> EINVAL");
	a->nonce_len = 4;
	a->nonce[10] = 1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_ATTEST, a), EINVAL,
		  "attest: nonce bytes past nonce_len -> EINVAL");
	a->nonce[10] = 0;
	a->reserved[2] = 1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_ATTEST, a), EINVAL, "attest: reserved != 0 -> EINVAL");
	free(a);
}

/*
 * ATTEST_PID names a process by its thread-group leader.  When the leader
 * has exited (pthread_exit() in main) it stays a zombie in its old cgroup
 * while the live threads move on; the claims must not follow the dead
 * leader.  The module refuses such a process with ESRCH (issue 13,
 * finding 3; Documentation/pods.rst).
 */
static int leader_pipe[2];

static void *leader_survivor(void *unused)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	char c;

	(void)unused;
	/* Wait for the leader to exit, then move the whole process to B. */
	while (read(leader_pipe[0], &c, 1) != 1)
		;
	if (st_move_self(CTR_B))
		tid = -tid;
	write_all(leader_pipe[1], &tid, sizeof(tid));
	pause();
	return NULL;
}

static void test_mediated_exited_leader(void)
{
	struct dstack_pod_claims c;
	struct dp_dev dev = { .fd = fd };
	char path[128], buf[512], u[37];
	pid_t pid, tid = 0;
	int p2c[2], c2p[2], pfd, r, e;

	if (pipe(p2c) || pipe(c2p))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pthread_t t;

		leader_pipe[0] = p2c[0];
		leader_pipe[1] = c2p[1];
		if (st_move_self(CTR_A))
			_exit(2);
		pthread_create(&t, NULL, leader_survivor, NULL);
		write_all(c2p[1], "r", 1);
		pthread_exit(NULL);
	}
	/* The agent holds a pidfd from the moment its peer connects. */
	pfd = pidfd_open_(pid);
	r = (int)read(c2p[0], buf, 1);
	/* The leader is a zombie once its state says so. */
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (e = 0; e < 60000; e++) {
		if (!st_read_file(path, buf, sizeof(buf)) && strstr(buf, ") Z "))
			break;
		usleep(1000);
	}
	tap_ok(r == 1 && pfd >= 0 && e < 60000,
	       "exited leader: the leader is a zombie, a thread lives");
	write_all(p2c[1], "m", 1);
	r = (int)read(c2p[0], &tid, sizeof(tid));
	snprintf(path, sizeof(path), "/proc/%d/task/%d/cgroup", pid, tid);
	tap_ok(r == sizeof(tid) && tid > 0 && !st_read_file(path, buf, sizeof(buf)) &&
	       strstr(buf, strrchr(CTR_B, '/')),
	       "exited leader: the live thread %d moved the process to Pod B", tid);

	memset(&c, 0, sizeof(c));
	r = dp_attest(&dev, pfd, NULL, 0, &c, NULL);
	e = errno;
	dp_uuid_format(c.pod_uid, u);
	if (!r)
		tap_diag("ATTEST_PID returned the claims of %s (A is %s, B is %s)",
			 u, UID_A, UID_B);
	tap_ok(r && e == ESRCH,
	       "exited leader: ATTEST_PID refuses with ESRCH, never the dead leader's Pod A");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(pfd);
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
}

static void test_unbind_rebind(void)
{
	struct dp_dev dev = { .fd = fd };
	uint64_t gen_c = 0;
	struct att r;

	tap_errno(dp_unbind(&dev, NULL, UID_C) ? -1 : 0, ENOENT, "unbind: unknown uid -> ENOENT");
	tap_success(dp_unbind(&dev, POD_A, NULL), "unbind: A by cgroup");
	attest_in(CTR_A, DIRECT, &r);
	tap_ok(r.err == ENOENT, "unbind: A's processes now get ENOENT, not a node identity");
	tap_success(bind_pod(POD_A, UID_C, "tenant-c/other", 4, &gen_c),
		    "rebind: A's cgroup to pod_uid C");
	attest_in(CTR_A, DIRECT, &r);
	tap_ok(claims_are(&r, UID_C, "tenant-c/other", 4) && r.c.generation == gen_c &&
	       gen_c > gen_b && !r.c.pmr_events,
	       "forgery: across unbind/rebind the process gets C, fresh PMR, new generation");
	tap_success(dp_unbind(&dev, NULL, UID_C), "unbind: C by uid");
	tap_success(bind_pod(POD_A, UID_A, "tenant-a/web", 1, &gen_a),
		    "rebind: A again (pod_uid reuse after unbind)");
	attest_in(CTR_A, DIRECT, &r);
	tap_ok(claims_are(&r, UID_A, "tenant-a/web", 1) && r.c.generation == gen_a &&
	       gen_a > gen_c, "forgery: pod_uid reuse gets a new generation");
}

static int wait_pods(const char *want)
{
	char buf[32];
	int i;

	/* Release is asynchronous: allow a loaded machine a minute. */
	for (i = 0; i < 6000; i++) {
		if (dp_sysfs_read("pods", buf, sizeof(buf)) >= 0 && !strcmp(buf, want))
			return 1;
		usleep(10000);
	}
	return 0;
}

static void test_cgroup_removed(void)
{
	const char *cg = CG "/kubepods/burstable/pod" UID_D;
	struct att r;
	char before[32];

	dp_sysfs_read("pods", before, sizeof(before));
	mkdirs(cg);
	tap_success(bind_pod(cg, UID_D, "tenant-d/job", 5, NULL), "removal: bind D");
	tap_success(rmdir(cg), "removal: kubelet removes D's cgroup");
	tap_ok(wait_pods(before), "removal: the binding is released automatically");
	mkdirs(cg);
	attest_in(cg, DIRECT, &r);
	tap_ok(r.err == ENOENT, "forgery: a cgroup recreated at the same path is not bound");
	tap_success(bind_pod(cg, UID_D, "tenant-d/job", 5, NULL),
		    "removal: D's uid can be bound again");
	rmdir(cg);
	tap_ok(wait_pods(before), "removal: released again");
}

/*
 * cgroup ids are unique per hierarchy only: removing a cgroup v1 directory
 * whose id equals a bound Pod's (v2) cgroup id must not release the Pod.
 */
#define V1_DIRS		600
#define UID_E		"e5e5e5e5-2222-4333-8444-555566667777"

static void test_v1_rmdir(void)
{
	static unsigned long ids[V1_DIRS];
	const char *v1 = "/tmp/v1-hier";
	char path[128], before[32], after[32];
	struct dp_dev dev = { .fd = fd };
	int i, j, n = 0, hit = -1, tries;
	struct stat st;

	mkdir(v1, 0755);
	if (!tap_success(mount("cgroup", v1, "cgroup", 0, "none,name=dpx"),
			 "v1: a named cgroup v1 hierarchy mounts"))
		return;
	for (n = 0; n < V1_DIRS; n++) {
		snprintf(path, sizeof(path), "%s/d%d", v1, n);
		if (mkdir(path, 0755) || stat(path, &st))
			break;
		ids[n] = st.st_ino;
	}
	/* Make v2 cgroups until one's id is also a v1 cgroup's id. */
	mkdirs(CG "/v1clash");
	for (tries = 0; tries < 40 && hit < 0; tries++) {
		snprintf(path, sizeof(path), CG "/v1clash/c%d", tries);
		if (mkdir(path, 0755) || stat(path, &st))
			break;
		for (j = 0; j < n && hit < 0; j++)
			if (ids[j] == st.st_ino)
				hit = j;
	}
	if (tap_ok(hit >= 0, "v1: a v2 cgroup shares its id %lu with a v1 cgroup",
		   (unsigned long)st.st_ino)) {
		tap_success(bind_pod(path, UID_E, "tenant-e/clash", 7, NULL),
			    "v1: bind a Pod to that v2 cgroup");
		dp_sysfs_read("pods", before, sizeof(before));
		snprintf(path, sizeof(path), "%s/d%d", v1, hit);
		tap_success(rmdir(path), "v1: remove the v1 cgroup with the same id");
		usleep(300000);
		dp_sysfs_read("pods", after, sizeof(after));
		tap_ok(!strcmp(before, after), "v1: the Pod stays bound (%s -> %s)",
		       before, after);
		dp_unbind(&dev, NULL, UID_E);
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/d%d", v1, i);
		rmdir(path);
	}
	umount(v1);
	while (tries-- > 0) {
		snprintf(path, sizeof(path), CG "/v1clash/c%d", tries);
		rmdir(path);
	}
}

static void test_max_pods(void)
{
	char path[128], uid[40], cur[32];
	long i, max;
	int err = 0;

	st_read_file(ST_PARAM_DIR "/max_pods", cur, sizeof(cur));
	max = strtol(cur, NULL, 10);
	dp_sysfs_read("pods", cur, sizeof(cur));
	for (i = strtol(cur, NULL, 10); i < max + 1 && !err; i++) {
		snprintf(path, sizeof(path), CG "/many/p%ld", i);
		snprintf(uid, sizeof(uid), "00000000-0000-4000-8000-%012ld", i);
		mkdirs(path);
		err = bind_pod(path, uid, "many", 6, NULL) ? errno : 0;
	}
	tap_ok(err == ENOSPC && i == max + 1, "max_pods: bind number %ld -> ENOSPC", max + 1);
	for (i = 0; i <= max; i++) {
		snprintf(path, sizeof(path), CG "/many/p%ld", i);
		rmdir(path);
	}
	tap_ok(wait_pods("2"), "max_pods: removing the cgroups released them");
}

/* Stress: attesters inside a cgroup that another thread binds and unbinds. */
#define STRESS_ROUNDS	1000
static volatile int stress_stop;
static int stress_mixed, stress_ok, stress_enoent;
static const char *stress_cg = CG "/stress/pod";

static void *stress_attester(void *unused)
{
	struct att r;
	char u[37], want[64];
	int n;

	(void)unused;
	while (!stress_stop) {
		do_attest(&r);
		if (r.err == ENOENT) {
			__atomic_add_fetch(&stress_enoent, 1, __ATOMIC_RELAXED);
			continue;
		}
		dp_uuid_format(r.c.pod_uid, u);
		n = (int)strtol(u + 24, NULL, 10);
		snprintf(want, sizeof(want), "stress/%d", n);
		if (r.err || strcmp(r.c.workload_id, want) || !claims_are(&r, u, want, n))
			__atomic_add_fetch(&stress_mixed, 1, __ATOMIC_RELAXED);
		else
			__atomic_add_fetch(&stress_ok, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_stress(void)
{
	char uid[40], wl[32], objs[32];
	pthread_t t[2];
	int i, err = 0;
	struct dp_dev dev = { .fd = fd };

	/* Live objects must come back to the bound Pods once RCU has run. */
	dp_sysfs_read("pods", objs, sizeof(objs));
	mkdirs(stress_cg);
	st_move_self(stress_cg);
	pthread_create(&t[0], NULL, stress_attester, NULL);
	pthread_create(&t[1], NULL, stress_attester, NULL);
	for (i = 0; i < STRESS_ROUNDS && !err; i++) {
		snprintf(uid, sizeof(uid), "00000000-0000-4000-8000-%012d", i);
		snprintf(wl, sizeof(wl), "stress/%d", i);
		err = bind_pod(stress_cg, uid, wl, i, NULL) || dp_unbind(&dev, NULL, uid);
	}
	stress_stop = 1;
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	st_move_self(CG);
	tap_ok(!err, "stress: %d bind/unbind rounds", STRESS_ROUNDS);
	tap_ok(stress_mixed == 0 && stress_ok > 0,
	       "stress: no mixed identities (%d complete, %d ENOENT, %d mixed)",
	       stress_ok, stress_enoent, stress_mixed);
	for (i = 0; i < 6000; i++) {
		char now[32];

		if (dp_sysfs_read("pod_objects", now, sizeof(now)) >= 0 && !strcmp(now, objs))
			break;
		usleep(10000);
	}
	dp_sysfs_read("pod_objects", wl, sizeof(wl));
	tap_ok(!strcmp(wl, objs), "stress: every binding freed (pod_objects %s, pods %s)",
	       wl, objs);
}

/*
 * POD_LOG reads the caller's Pod log without the bindings mutex: readers
 * inside a cgroup that is bound, measured and unbound over and over must
 * only ever see one binding's complete, well-formed events.
 */
#define LOG_ROUNDS	300
#define LOG_EVENTS	3
static int log_ok, log_bad, log_enoent;

static void *log_reader(void *unused)
{
	static __thread char buf[64 * 1024];
	struct dstack_pod_pod_log a;
	struct dp_log log;
	uint8_t d[48];
	size_t i;
	FILE *f;
	int bad, dfd = open("/dev/dstack-pod", O_RDWR);

	(void)unused;
	while (dfd >= 0 && !stress_stop) {
		memset(&a, 0, sizeof(a));
		a.buf = (uintptr_t)buf;
		a.buf_len = sizeof(buf);
		if (ioctl(dfd, DSTACK_POD_IOC_POD_LOG, &a)) {
			if (errno == ENOENT)
				__atomic_add_fetch(&log_enoent, 1, __ATOMIC_RELAXED);
			else
				__atomic_add_fetch(&log_bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		memset(&log, 0, sizeof(log));
		f = fmemopen(buf, a.used ? a.used : 1, "r");
		bad = !f || (a.used && dp_log_parse(f, &log)) || log.n != a.count ||
		      a.count > a.total || a.total > LOG_EVENTS;
		for (i = 0; !bad && i < log.n; i++)
			bad = log.ev[i].index != i ||
			      dp_event_digest(log.ev[i].name, log.ev[i].payload,
					      log.ev[i].payload_len, d) ||
			      memcmp(d, log.ev[i].digest, 48) ||
			      log.ev[i].payload_len != log.ev[0].payload_len ||
			      memcmp(log.ev[i].payload, log.ev[0].payload,
				     log.ev[0].payload_len);
		if (f)
			fclose(f);
		dp_log_free(&log);
		__atomic_add_fetch(bad ? &log_bad : &log_ok, 1, __ATOMIC_RELAXED);
	}
	if (dfd >= 0)
		close(dfd);
	return NULL;
}

static void test_pod_log_stress(void)
{
	struct dp_dev dev = { .fd = fd };
	char uid[40], payload[16];
	pthread_t t[2];
	int i, j, err = 0;

	stress_stop = 0;
	mkdirs(stress_cg);
	st_move_self(stress_cg);
	pthread_create(&t[0], NULL, log_reader, NULL);
	pthread_create(&t[1], NULL, log_reader, NULL);
	for (i = 0; i < LOG_ROUNDS && !err; i++) {
		snprintf(uid, sizeof(uid), "00000000-0000-4000-9000-%012d", i);
		snprintf(payload, sizeof(payload), "round-%d", i);
		err = bind_pod(stress_cg, uid, "logstress", i, NULL);
		for (j = 0; j < LOG_EVENTS && !err; j++)
			err = dp_pod_extend(&dev, NULL, uid, "container.log", payload,
					    strlen(payload), NULL);
		err = err || dp_unbind(&dev, NULL, uid);
	}
	stress_stop = 1;
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	st_move_self(CG);
	tap_ok(!err, "log stress: %d bind/extend/unbind rounds", LOG_ROUNDS);
	tap_ok(!log_bad && log_ok > 0,
	       "log stress: every Pod log read is one binding's whole log (%d ok, %d ENOENT, %d bad)",
	       log_ok, log_enoent, log_bad);
}

static void test_fuse_overlap(void)
{
	struct st_state s0, s1;
	struct dp_dev dev = { .fd = fd };

	st_snapshot(&s0);
	tap_errno(dp_fuse(&dev, CG "/kubepods", NULL, NULL) ? -1 : 0, EBUSY,
		  "fuse: a binder cgroup above a bound Pod -> EBUSY");
	tap_errno(dp_fuse(&dev, CTR_B, NULL, NULL) ? -1 : 0, EBUSY,
		  "fuse: a binder cgroup inside a bound Pod -> EBUSY");
	st_snapshot(&s1);
	tap_ok(st_same(&s0, &s1) && !s1.mode, "fuse: refused, nothing changed");
}

/* Reload the module with @params: 0 or an errno value. */
static int reload(const char *params)
{
	int mfd, r;

	close(fd);
	fd = -1;
	/* Not loaded (ENOENT) after a refused load. */
	if (syscall(SYS_delete_module, "dstack_pod", O_NONBLOCK) && errno != ENOENT)
		return errno;
	mfd = open(st_module_ko(), O_RDONLY | O_CLOEXEC);
	r = (int)syscall(SYS_finit_module, mfd, params, 0);
	r = r ? errno : 0;
	close(mfd);
	if (!r)
		fd = st_open();
	return r;
}

/*
 * max_pods and max_pod_events accept 0 (no binds; Pods that cannot be
 * measured) and refuse values above their limits at load.
 */
static void test_limit_params(void)
{
	struct dp_dev dev;
	struct att r;
	const char *cg = CG "/kubepods/burstable/pod" UID_D;

	mkdirs(cg);
	tap_ok(reload("backend=sim max_pods=0 max_pod_events=0") == 0,
	       "limits: loads with max_pods=0 max_pod_events=0");
	tap_errno(bind_pod(cg, UID_D, "tenant-d/job", 5, NULL) ? -1 : 0, ENOSPC,
		  "limits: max_pods=0 refuses every bind (ENOSPC)");
	tap_ok(reload("backend=sim max_pod_events=0") == 0, "limits: loads with max_pod_events=0");
	dev.fd = fd;
	tap_success(bind_pod(cg, UID_D, "tenant-d/job", 5, NULL),
		    "limits: max_pod_events=0 still binds");
	tap_errno(dp_pod_extend(&dev, NULL, UID_D, "container.x", "", 0, NULL) ? -1 : 0,
		  ENOSPC, "limits: max_pod_events=0 refuses every Pod extend (ENOSPC)");
	attest_in(cg, DIRECT, &r);
	tap_ok(claims_are(&r, UID_D, "tenant-d/job", 5) && !r.c.pmr_events,
	       "limits: such a Pod attests, with an empty PMR");
	tap_ok(reload("backend=sim max_pods=1000001") == EINVAL,
	       "limits: max_pods=1000001 fails the load (EINVAL)");
	tap_ok(fd < 0 && reload("backend=sim max_pod_events=65537") == EINVAL,
	       "limits: max_pod_events=65537 fails the load (EINVAL)");
	tap_ok(fd < 0 && reload("backend=sim max_pods=1000000 max_pod_events=65536") == 0,
	       "limits: the largest values load");
	rmdir(cg);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "exec-attest")) {
		struct att r;

		do_attest(&r);
		write_all(atoi(argv[2]), &r, sizeof(r));
		return 0;
	}
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		return 1;
	tap_start();
	fd = st_open();
	test_bind_and_attest();
	test_nesting_fork_exec_threads();
	test_pod_measure();
	test_pod_log_cap();
	test_memcg_charge();
	test_rules();
	test_privilege();
	test_mediated();
	test_mediated_exited_leader();
	test_unbind_rebind();
	test_cgroup_removed();
	test_v1_rmdir();
	test_max_pods();
	test_stress();
	test_pod_log_stress();
	test_fuse_overlap();
	test_limit_params();
	close(fd);
	return tap_end();
}
