// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: the device, sysfs, the simulated backend's report layout,
 * measured setup (extend math, bounds, malformed calls, privilege) and
 * concurrency, all in setup mode.  Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sutil.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define ABI_STR STR(DSTACK_POD_ABI_MAJOR) "." STR(DSTACK_POD_ABI_MINOR)
#define INIT_PAYLOAD "abi=" ABI_STR " backend=sim"

static int fd;

static const uint8_t zero48[48];

static void test_device(void)
{
	struct stat st;
	char buf[128];
	size_t n;
	uint8_t mr[48];

	tap_ok(stat(DSTACK_POD_DEVICE, &st) == 0 && S_ISCHR(st.st_mode),
	       "device: %s is a character device", DSTACK_POD_DEVICE);
	tap_ok((st.st_mode & 0777) == 0666, "device: mode 0666 (mode %o)",
	       st.st_mode & 0777);
	tap_ok(dp_sysfs_read("fuse", buf, sizeof(buf)) >= 0 &&
	       !strcmp(buf, "setup"), "sysfs: fuse reads setup");
	tap_ok(dp_sysfs_read("backend", buf, sizeof(buf)) >= 0 &&
	       !strcmp(buf, "sim"), "sysfs: backend reads sim");
	tap_ok(dp_sysfs_read("abi_version", buf, sizeof(buf)) >= 0 &&
	       !strcmp(buf, ABI_STR), "sysfs: abi_version reads " ABI_STR);
	tap_ok(st_event_count() == 1, "sysfs: event_count is 1 (the init event)");
	tap_ok(dp_sysfs_read("rtmr3", buf, sizeof(buf)) == 96 &&
	       !dp_unhex(buf, mr, sizeof(mr), &n) && n == 48,
	       "sysfs: rtmr3 is 96 hex digits");
}

static void test_version(void)
{
	struct dstack_pod_version v;

	memset(&v, 0xa5, sizeof(v));
	tap_success(ioctl(fd, DSTACK_POD_IOC_VERSION, &v), "version: ioctl");
	tap_ok(v.abi_major == DSTACK_POD_ABI_MAJOR &&
	       v.abi_minor == DSTACK_POD_ABI_MINOR, "version: abi %u.%u",
	       v.abi_major, v.abi_minor);
	tap_ok(v.backend == DSTACK_POD_BACKEND_SIM &&
	       v.mode == DSTACK_POD_MODE_SETUP, "version: sim backend, setup mode");
	tap_ok(v.event_count == 1 && v.max_events == 1024,
	       "version: 1 event of 1024");
	tap_ok(!v.reserved[0] && !v.reserved[1] && !v.reserved[2] &&
	       !v.reserved[3], "version: reserved fields zeroed");
}

static void test_init_event(void)
{
	struct dp_log log;
	int ok;

	ok = dp_log_load(DP_EVENTS_PATH, &log) == 0;
	tap_ok(ok && log.n == 1, "log: securityfs log has the init event");
	if (!ok)
		return;
	tap_ok(!strcmp(log.ev[0].name, DSTACK_POD_EVENT_INIT) &&
	       log.ev[0].payload_len == strlen(INIT_PAYLOAD) &&
	       !memcmp(log.ev[0].payload, INIT_PAYLOAD, strlen(INIT_PAYLOAD)),
	       "log: init event names abi and backend");
	dp_log_free(&log);
}

static int node_report(const uint8_t rd[64], uint8_t rep[1024])
{
	struct dp_dev dev = { .fd = fd };

	return dp_node_report(&dev, rd, rep);
}

static void test_report_layout(void)
{
	uint8_t rd[64], rep[1024], h[48], mr[48];
	struct dp_log log;
	uint64_t attr;
	size_t i;
	int ok;

	for (i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i * 7 + 3);
	if (!tap_success(node_report(rd, rep), "report: node report in setup mode"))
		return;
	tap_ok(rep[0] == 0x81 && rep[1] == 0 && rep[2] == 0,
	       "report: REPORTTYPE 0x81, subtype 0, version 0");
	tap_ok(!memcmp(rep + DP_TDREPORT_REPORTDATA, rd, 64),
	       "report: REPORTDATA is the caller's");
	dp_sha384(rep + DP_TDREPORT_TEE_TCB_INFO, DP_TDREPORT_TEE_TCB_INFO_LEN, h);
	tap_ok(!memcmp(h, rep + DP_TDREPORT_TCB_INFO_HASH, 48),
	       "report: tee_tcb_info_hash = SHA-384(TEE_TCB_INFO)");
	dp_sha384(rep + DP_TDREPORT_TDINFO, DP_TDREPORT_TDINFO_LEN, h);
	tap_ok(!memcmp(h, rep + DP_TDREPORT_TD_INFO_HASH, 48),
	       "report: tee_info_hash = SHA-384(TDINFO)");
	memcpy(&attr, rep + DP_TDREPORT_ATTRIBUTES, 8);
	tap_ok(attr & DP_TD_ATTR_DEBUG, "report: simulated TD has DEBUG set");
	tap_ok(!memcmp(rep + DP_TDREPORT_MRTD, DP_SIM_MRTD, 48),
	       "report: MRTD is the documented simulator value");
	tap_ok(!memcmp(rep + DP_TDREPORT_RTMR(0), zero48, 48) &&
	       !memcmp(rep + DP_TDREPORT_RTMR(1), zero48, 48) &&
	       !memcmp(rep + DP_TDREPORT_RTMR(2), zero48, 48),
	       "report: RTMR0..2 untouched");
	ok = dp_log_load(DP_EVENTS_PATH, &log) == 0 && dp_log_replay(&log, mr) == 0;
	tap_ok(ok && !memcmp(mr, rep + DP_TDREPORT_RTMR(3), 48),
	       "report: RTMR3 equals the replay of the event log");
	if (ok)
		dp_log_free(&log);
	tap_ok(!st_rtmr3(h) && !memcmp(h, rep + DP_TDREPORT_RTMR(3), 48),
	       "report: sysfs rtmr3 equals the report's RTMR3");
}

static void test_verify_report(void)
{
	struct dstack_pod_verify_report vr;
	struct dp_dev dev = { .fd = fd };
	uint8_t rd[64] = { 1, 2, 3 }, rep[1024], rep2[1024];

	if (node_report(rd, rep) || node_report(rd, rep2)) {
		tap_ok(0, "verify: node reports");
		return;
	}
	tap_ok(!memcmp(rep, rep2, 1024), "verify: same state, same report and MAC");
	tap_success(dp_verify_report(&dev, rep), "verify: genuine MAC accepted");
	rep[DP_TDREPORT_REPORTDATA] ^= 1;
	tap_errno(dp_verify_report(&dev, rep) ? -1 : 0, EBADMSG,
		  "verify: edited REPORTDATA rejected (EBADMSG)");
	rep[DP_TDREPORT_REPORTDATA] ^= 1;
	rep[DP_TDREPORT_MAC + 5] ^= 0x80;
	tap_errno(dp_verify_report(&dev, rep) ? -1 : 0, EBADMSG,
		  "verify: edited MAC rejected (EBADMSG)");
	rep[DP_TDREPORT_MAC + 5] ^= 0x80;
	rep[DP_TDREPORT_TD_INFO_HASH] ^= 0x10;
	tap_errno(dp_verify_report(&dev, rep) ? -1 : 0, EBADMSG,
		  "verify: edited tee_info_hash rejected (EBADMSG)");
	rep[DP_TDREPORT_TD_INFO_HASH] ^= 0x10;
	memset(&vr, 0, sizeof(vr));
	memcpy(vr.reportmac, rep, sizeof(vr.reportmac));
	vr.reserved[1] = 1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_VERIFY_REPORT, &vr), EINVAL,
		  "verify: non-zero reserved field -> EINVAL");
}

/* The digest and the extend computed here from the definitions alone. */
static void test_extend_math(void)
{
	static const char payload[] = "kubelet v1.31.2";
	uint8_t before[48], after[48], want[48], want_mr[48], digest[48];
	struct dstack_pod_extend arg;
	uint8_t type_le[4] = { 0x01, 0x00, 0x00, 0x08 };
	struct dp_log log;
	long n0 = st_event_count();

	st_rtmr3(before);
	memset(&arg, 0, sizeof(arg));
	strcpy(arg.name, "platform.kubelet");
	arg.payload = (uintptr_t)payload;
	arg.payload_len = sizeof(payload) - 1;
	if (!tap_success(ioctl(fd, DSTACK_POD_IOC_EXTEND, &arg), "extend: ioctl"))
		return;
	st_sha384v(want, type_le, (size_t)4, ":", (size_t)1,
		   "platform.kubelet", strlen("platform.kubelet"), ":", (size_t)1,
		   payload, sizeof(payload) - 1, NULL);
	tap_ok(!memcmp(arg.digest, want, 48),
	       "extend: digest = SHA-384(le32(0x08000001):name:payload)");
	st_sha384v(want_mr, before, (size_t)48, want, (size_t)48, NULL);
	st_rtmr3(after);
	tap_ok(!memcmp(after, want_mr, 48), "extend: RTMR3' = SHA-384(RTMR3 || digest)");
	tap_ok(arg.index == (uint32_t)n0 && st_event_count() == n0 + 1,
	       "extend: index %u, event count now %ld", arg.index, st_event_count());
	tap_ok(dp_log_load(DP_EVENTS_PATH, &log) == 0 &&
	       log.n == (size_t)n0 + 1 &&
	       !strcmp(log.ev[n0].name, "platform.kubelet") &&
	       log.ev[n0].payload_len == sizeof(payload) - 1 &&
	       !memcmp(log.ev[n0].digest, want, 48),
	       "extend: event appended to the log with its payload");
	dp_log_free(&log);
	dp_event_digest("platform.kubelet", payload, sizeof(payload) - 1, digest);
	tap_ok(!memcmp(digest, want, 48), "extend: libdstackpod digest agrees");
}

static int extend_raw(const char *name, size_t nlen, const void *payload,
		      uint32_t len)
{
	struct dstack_pod_extend arg;

	memset(&arg, 0, sizeof(arg));
	memcpy(arg.name, name, nlen);
	arg.payload = (uintptr_t)payload;
	arg.payload_len = len;
	return ioctl(fd, DSTACK_POD_IOC_EXTEND, &arg);
}

static void test_bounds(void)
{
	static uint8_t big[DSTACK_POD_EVENT_PAYLOAD_MAX + 1];
	char name[DSTACK_POD_EVENT_NAME_SIZE];
	uint8_t mr[48], rtmr[48];
	struct st_state s0, s1;
	struct dp_log log;
	size_t n;
	int i;

	memset(name, 'n', 64);
	name[64] = '\0';
	tap_success(extend_raw(name, 65, NULL, 0), "bounds: 64-byte name, empty payload accepted");
	for (i = 0; i < DSTACK_POD_EVENT_PAYLOAD_MAX; i++)
		big[i] = (uint8_t)(i * 7);
	tap_success(extend_raw("max.payload", 11, big, DSTACK_POD_EVENT_PAYLOAD_MAX),
		    "bounds: %d-byte payload accepted", DSTACK_POD_EVENT_PAYLOAD_MAX);
	/* The longest lines of the securityfs log come back whole. */
	n = dp_log_load(DP_EVENTS_PATH, &log) ? 0 : log.n;
	tap_ok(n >= 2 && log.ev[n - 1].payload_len == DSTACK_POD_EVENT_PAYLOAD_MAX &&
	       !memcmp(log.ev[n - 1].payload, big, DSTACK_POD_EVENT_PAYLOAD_MAX) &&
	       !strcmp(log.ev[n - 2].name, name) && !log.ev[n - 2].payload_len &&
	       !dp_log_replay(&log, mr) && !st_rtmr3(rtmr) && !memcmp(mr, rtmr, 48),
	       "bounds: the log shows the 64-byte name and the 4096-byte payload whole, and replays");
	if (n)
		dp_log_free(&log);
	memset(big, 0, sizeof(big));

	st_snapshot(&s0);
	memset(name, 'n', 65);
	name[65] = '\0';
	tap_errno(extend_raw(name, 66, NULL, 0), EINVAL, "bounds: 65-byte name -> EINVAL");
	tap_errno(extend_raw("", 0, NULL, 0), EINVAL, "bounds: empty name -> EINVAL");
	tap_errno(extend_raw("has space", 9, NULL, 0), EINVAL, "bounds: space in name -> EINVAL");
	tap_errno(extend_raw("a:b", 3, NULL, 0), EINVAL, "bounds: ':' in name -> EINVAL");
	tap_errno(extend_raw("bad\x7f", 4, NULL, 0), EINVAL, "bounds: DEL in name -> EINVAL");
	tap_errno(extend_raw("caf\xc3\xa9", 5, NULL, 0), EINVAL, "bounds: non-ASCII name -> EINVAL");
	tap_errno(extend_raw(DSTACK_POD_EVENT_FUSE, strlen(DSTACK_POD_EVENT_FUSE), NULL, 0),
		  EINVAL, "bounds: a forged dstack-pod.fuse event -> EINVAL");
	tap_errno(extend_raw("dstack-pod.x", 12, NULL, 0), EINVAL,
		  "bounds: the dstack-pod. prefix is reserved -> EINVAL");
	tap_errno(extend_raw("big", 3, big, DSTACK_POD_EVENT_PAYLOAD_MAX + 1), E2BIG,
		  "bounds: %d-byte payload -> E2BIG", DSTACK_POD_EVENT_PAYLOAD_MAX + 1);
	st_snapshot(&s1);
	tap_ok(st_same(&s0, &s1), "bounds: rejected extends changed nothing");
}

static void test_log_full(void)
{
	struct st_state s0, s1;
	long n = st_event_count(), i;
	char val[32];
	int ok = 1;

	tap_errno(st_write_file(ST_PARAM_DIR "/max_events", "7"), EINVAL,
		  "max_events: 7 is below the minimum -> EINVAL");
	snprintf(val, sizeof(val), "%ld", n);
	tap_errno(st_write_file(ST_PARAM_DIR "/max_events", val), EBUSY,
		  "max_events: no room for the fuse -> EBUSY");
	snprintf(val, sizeof(val), "%ld", n + 3);
	tap_success(st_write_file(ST_PARAM_DIR "/max_events", val),
		    "max_events: writable in setup mode");
	for (i = n; i < n + 2; i++)
		ok &= extend_raw("fill", 4, "x", 1) == 0;
	tap_ok(ok, "log full: the events up to the fuse slot are accepted");
	st_snapshot(&s0);
	tap_errno(extend_raw("fill", 4, "x", 1), ENOSPC,
		  "log full: the last slot is kept for the fuse -> ENOSPC");
	st_snapshot(&s1);
	tap_ok(st_same(&s0, &s1), "log full: rejected extend changed nothing");
	tap_success(st_write_file(ST_PARAM_DIR "/max_events", "1024"),
		    "max_events: raised again");
	tap_success(extend_raw("after.raise", 11, NULL, 0),
		    "log full: extend works after raising max_events");
}

static void test_malformed(void)
{
	struct dstack_pod_extend arg;
	struct dstack_pod_report rep;
	struct dstack_pod_fuse fu;
	struct st_state s0, s1;
	void *bad;
	int tmp;

	st_snapshot(&s0);
	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(&arg, 0, sizeof(arg));
	memset(arg.name, 'u', sizeof(arg.name));
	tap_errno(ioctl(fd, DSTACK_POD_IOC_EXTEND, &arg), EINVAL,
		  "malformed: unterminated name -> EINVAL");
	memset(&arg, 0, sizeof(arg));
	strcpy(arg.name, "ok");
	arg.name[10] = 'x';
	tap_errno(ioctl(fd, DSTACK_POD_IOC_EXTEND, &arg), EINVAL,
		  "malformed: garbage after the name's NUL -> EINVAL");
	memset(&arg, 0, sizeof(arg));
	strcpy(arg.name, "ok");
	arg.flags = 1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_EXTEND, &arg), EINVAL,
		  "malformed: extend flags != 0 -> EINVAL");
	arg.flags = 0;
	arg.reserved[2] = 1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_EXTEND, &arg), EINVAL,
		  "malformed: extend reserved != 0 -> EINVAL");
	arg.reserved[2] = 0;
	arg.payload = (uintptr_t)bad;
	arg.payload_len = 16;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_EXTEND, &arg), EFAULT,
		  "malformed: unreadable payload pointer -> EFAULT");
	tap_errno(ioctl(fd, DSTACK_POD_IOC_EXTEND, bad), EFAULT,
		  "malformed: unreadable extend struct -> EFAULT");
	tap_errno(ioctl(fd, DSTACK_POD_IOC_EXTEND, NULL), EFAULT,
		  "malformed: NULL extend struct -> EFAULT");
	tap_errno(ioctl(fd, _IOC(_IOC_READ | _IOC_WRITE, DSTACK_POD_IOC_MAGIC, 0x01,
				 sizeof(arg) - 8), &arg), EINVAL,
		  "malformed: extend with the wrong size -> EINVAL");
	tap_errno(ioctl(fd, _IOC(_IOC_WRITE, DSTACK_POD_IOC_MAGIC, 0x01,
				 sizeof(arg)), &arg), EINVAL,
		  "malformed: extend with the wrong direction -> EINVAL");
	tap_errno(ioctl(fd, _IOWR(DSTACK_POD_IOC_MAGIC, 0x7f, int), &tmp), ENOTTY,
		  "malformed: unknown command number -> ENOTTY");
	tap_errno(ioctl(fd, _IOWR('T', 0x01, struct dstack_pod_extend), &arg), ENOTTY,
		  "malformed: foreign ioctl type -> ENOTTY");

	memset(&rep, 0, sizeof(rep));
	rep.reserved[3] = 9;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_NODE_REPORT, &rep), EINVAL,
		  "malformed: node report reserved != 0 -> EINVAL");
	tap_errno(ioctl(fd, DSTACK_POD_IOC_NODE_REPORT, bad), EFAULT,
		  "malformed: unreadable node report struct -> EFAULT");
	tap_errno(ioctl(fd, DSTACK_POD_IOC_VERSION, bad), EFAULT,
		  "malformed: unwritable version struct -> EFAULT");

	memset(&fu, 0, sizeof(fu));
	fu.binder_cgroup_fd = -1;
	fu.flags = 2;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_FUSE, &fu), EINVAL,
		  "malformed: fuse flags != 0 -> EINVAL");
	fu.flags = 0;
	fu.reserved[0] = 1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_FUSE, &fu), EINVAL,
		  "malformed: fuse reserved != 0 -> EINVAL");
	fu.reserved[0] = 0;
	fu.reserved2 = 1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_FUSE, &fu), EINVAL,
		  "malformed: fuse reserved2 != 0 -> EINVAL");
	fu.reserved2 = 0;
	fu.binder_cgroup_fd = -7;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_FUSE, &fu), EBADF,
		  "malformed: fuse with a negative fd -> EBADF");
	tmp = open("/proc/self/status", O_RDONLY);
	fu.binder_cgroup_fd = tmp;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_FUSE, &fu), EBADF,
		  "malformed: fuse with a non-cgroup fd -> EBADF");
	close(tmp);
	tap_errno(ioctl(fd, DSTACK_POD_IOC_FUSE, bad), EFAULT,
		  "malformed: unreadable fuse struct -> EFAULT");
	tap_errno(st_write_file(DP_SYSFS_DIR "/fuse", "sealed"), EINVAL,
		  "malformed: sysfs fuse write of an unknown word -> EINVAL");
	tap_errno(st_write_file(DP_SYSFS_DIR "/fuse", "setup"), EINVAL,
		  "malformed: sysfs fuse write 'setup' -> EINVAL");

	munmap(bad, 4096);
	st_snapshot(&s1);
	tap_ok(st_same(&s0, &s1) && !s1.mode,
	       "malformed: no call changed the state (still setup)");
}

static int try_extend(void *unused)
{
	(void)unused;
	return extend_raw("sneaky", 6, "x", 1) ? errno : 0;
}

static int try_report(void *unused)
{
	struct dstack_pod_report rep;

	(void)unused;
	memset(&rep, 0, sizeof(rep));
	return ioctl(fd, DSTACK_POD_IOC_NODE_REPORT, &rep) ? errno : 0;
}

static int try_fuse(void *unused)
{
	struct dstack_pod_fuse fu = { .binder_cgroup_fd = -1 };

	(void)unused;
	return ioctl(fd, DSTACK_POD_IOC_FUSE, &fu) ? errno : 0;
}

static int try_version(void *unused)
{
	struct dstack_pod_version v;

	(void)unused;
	return ioctl(fd, DSTACK_POD_IOC_VERSION, &v) ? errno : 0;
}

static int try_sysfs_fuse(void *unused)
{
	(void)unused;
	return st_write_file(DP_SYSFS_DIR "/fuse", "secure") ? errno : 0;
}

static int try_open_log(void *unused)
{
	int lfd = open(DP_EVENTS_PATH, O_RDONLY);

	(void)unused;
	if (lfd < 0)
		return errno;
	close(lfd);
	return 0;
}

static int try_param(void *unused)
{
	(void)unused;
	return st_write_file(ST_PARAM_DIR "/max_events", "1000") ? errno : 0;
}

static void test_unprivileged(void)
{
	struct st_state s0, s1;

	st_snapshot(&s0);
	tap_ok(st_as(ST_DROP_NOBODY, try_extend, NULL) == EPERM,
	       "unprivileged: nobody extend -> EPERM");
	tap_ok(st_as(ST_DROP_CAP, try_extend, NULL) == EPERM,
	       "unprivileged: root without CAP_SYS_ADMIN extend -> EPERM");
	tap_ok(st_as(ST_DROP_NOBODY, try_report, NULL) == EPERM,
	       "unprivileged: nobody node report -> EPERM");
	tap_ok(st_as(ST_DROP_CAP, try_report, NULL) == EPERM,
	       "unprivileged: root without CAP_SYS_ADMIN node report -> EPERM");
	tap_ok(st_as(ST_DROP_NOBODY, try_fuse, NULL) == EPERM,
	       "unprivileged: nobody fuse -> EPERM");
	tap_ok(st_as(ST_DROP_CAP, try_fuse, NULL) == EPERM,
	       "unprivileged: root without CAP_SYS_ADMIN fuse -> EPERM");
	tap_ok(st_as(ST_DROP_CAP, try_sysfs_fuse, NULL) == EPERM,
	       "unprivileged: root without CAP_SYS_ADMIN sysfs fuse write -> EPERM");
	tap_ok(st_as(ST_DROP_NOBODY, try_sysfs_fuse, NULL) == EACCES,
	       "unprivileged: nobody cannot open sysfs fuse for writing (EACCES)");
	tap_ok(st_as(ST_DROP_NOBODY, try_open_log, NULL) == EACCES,
	       "unprivileged: nobody cannot read the event log (EACCES)");
	tap_ok(st_as(ST_DROP_CAP, try_param, NULL) == EPERM,
	       "unprivileged: root without CAP_SYS_ADMIN writes max_events -> EPERM");
	tap_ok(st_as(ST_DROP_NOBODY, try_version, NULL) == 0,
	       "unprivileged: nobody may query the version");
	st_snapshot(&s1);
	tap_ok(st_same(&s0, &s1), "unprivileged: nothing changed");
}

/* Two threads: one extends, one takes node reports; all must agree. */
#define CONC_EXTENDS	150
#define CONC_REPORTS	150

static uint8_t conc_rtmr[CONC_REPORTS][48];
static int conc_err;

static void *conc_extender(void *unused)
{
	char name[32];
	int i;

	(void)unused;
	for (i = 0; i < CONC_EXTENDS; i++) {
		snprintf(name, sizeof(name), "conc.%d", i);
		if (extend_raw(name, strlen(name), name, (uint32_t)strlen(name)))
			__atomic_store_n(&conc_err, errno, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *conc_reporter(void *unused)
{
	uint8_t rd[64] = { 0 }, rep[1024];
	int i;

	(void)unused;
	for (i = 0; i < CONC_REPORTS; i++) {
		if (node_report(rd, rep))
			__atomic_store_n(&conc_err, errno ? errno : EIO, __ATOMIC_RELAXED);
		memcpy(conc_rtmr[i], rep + DP_TDREPORT_RTMR(3), 48);
	}
	return NULL;
}

static void test_concurrency(void)
{
	uint8_t (*prefix)[48], mr[48], cur[48];
	long n0 = st_event_count();
	pthread_t a, b;
	struct dp_log log;
	size_t i, j, k;
	int ok = 1, mono = 1, err;

	pthread_create(&a, NULL, conc_extender, NULL);
	pthread_create(&b, NULL, conc_reporter, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	tap_ok(!conc_err, "concurrency: every extend and report succeeded (%d)",
	       conc_err);
	tap_ok(st_event_count() == n0 + CONC_EXTENDS,
	       "concurrency: %d events added", CONC_EXTENDS);
	err = dp_log_load(DP_EVENTS_PATH, &log);
	if (!tap_ok(!err && dp_log_replay(&log, mr) == 0, "concurrency: log replays"))
		return;
	st_rtmr3(cur);
	tap_ok(!memcmp(cur, mr, 48), "concurrency: final RTMR3 equals the replay");
	/* Every report saw a prefix of the log, and prefixes only grow. */
	prefix = calloc(log.n + 1, 48);
	for (i = 0; i < log.n; i++) {
		memcpy(prefix[i + 1], prefix[i], 48);
		dp_rtmr_extend(prefix[i + 1], log.ev[i].digest);
	}
	for (i = 0, k = 0; i < CONC_REPORTS; i++) {
		for (j = 0; j <= log.n && memcmp(prefix[j], conc_rtmr[i], 48); j++)
			;
		if (j > log.n)
			ok = 0;
		else if (j < k)
			mono = 0;
		else
			k = j;
	}
	tap_ok(ok, "concurrency: every report's RTMR3 is a replay of a log prefix");
	tap_ok(mono, "concurrency: successive reports never go back in the log");
	free(prefix);
	dp_log_free(&log);
}

static void test_log_formats(void)
{
	char *buf = NULL;
	size_t len = 0;
	struct dp_log log;
	FILE *f;

	if (dp_log_load(DP_EVENTS_PATH, &log)) {
		tap_ok(0, "formats: log loads");
		return;
	}
	f = open_memstream(&buf, &len);
	dp_log_write_dstack(&log, f);
	fclose(f);
	{
		char want[128];
		unsigned char b64[64];

		EVP_EncodeBlock(b64, (const unsigned char *)INIT_PAYLOAD,
				(int)strlen(INIT_PAYLOAD));
		snprintf(want, sizeof(want),
			 "{\"event\":\"dstack-pod.init\",\"payload\":\"%s\"}\n", b64);
		tap_ok(len > 0 && strstr(buf, want) == buf,
		       "formats: dstack runtime_events.log lines (base64 payload)");
	}
	free(buf);
	dp_log_free(&log);
}

int main(void)
{
	tap_start();
	fd = st_open();
	test_device();
	test_version();
	test_init_event();
	test_report_layout();
	test_verify_report();
	test_extend_math();
	test_bounds();
	test_malformed();
	test_unprivileged();
	test_concurrency();
	test_log_full();
	test_log_formats();
	close(fd);
	return tap_end();
}
