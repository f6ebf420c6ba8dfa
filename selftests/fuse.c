// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: the privilege fuse.  Measures two platform events, blows the
 * fuse with a binder cgroup, checks the fuse event, then tries every way
 * back to setup mode.  Needs a fresh module (one VM boot).  Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sutil.h"

#define BINDER_CG	"/sys/fs/cgroup/dstack-runtime"
#define MODULE_KO	st_module_ko()

static int fd;

static int extend(const char *name, const char *payload)
{
	struct dp_dev dev = { .fd = fd };

	return dp_extend(&dev, name, payload, strlen(payload), NULL, NULL);
}

static void test_fuse_event(void)
{
	uint8_t mr[48], rtmr[48], d[48];
	struct dp_dev dev = { .fd = fd };
	struct dp_fuse_info fi;
	struct dp_log log;
	struct stat st;
	uint32_t index;
	char buf[32];
	long n0;

	tap_success(extend("platform.kubelet", "v1.31.2"), "setup: platform event 1 measured");
	tap_success(extend("platform.containerd-config", "sha256:0f1e2d"),
		    "setup: platform event 2 measured");
	n0 = st_event_count();
	mkdir(BINDER_CG, 0755);
	tap_ok(stat(BINDER_CG, &st) == 0, "setup: binder cgroup exists");

	tap_success(dp_fuse(&dev, BINDER_CG, d, &index), "fuse: blown with a binder cgroup");
	tap_ok(index == (uint32_t)n0 && st_event_count() == n0 + 1,
	       "fuse: event #%u appended (count %ld)", index, st_event_count());
	tap_ok(dp_sysfs_read("fuse", buf, sizeof(buf)) >= 0 && !strcmp(buf, "secure"),
	       "fuse: sysfs reads secure");

	if (!tap_ok(dp_log_load(DP_EVENTS_PATH, &log) == 0, "fuse: log readable"))
		return;
	tap_ok(log.n == (size_t)n0 + 1 &&
	       !strcmp(log.ev[log.n - 1].name, DSTACK_POD_EVENT_FUSE) &&
	       !memcmp(log.ev[log.n - 1].digest, d, 48),
	       "fuse: the fuse event is the last one");
	tap_ok(dp_log_replay(&log, mr) == 0 && !st_rtmr3(rtmr) && !memcmp(mr, rtmr, 48),
	       "fuse: RTMR3 equals the replay, fuse event last");
	if (tap_ok(!dp_fuse_payload_parse(log.ev[log.n - 1].payload,
					  log.ev[log.n - 1].payload_len, &fi),
		   "fuse: payload parses")) {
		tap_ok(fi.event_count == (uint32_t)n0, "fuse: payload counts %u prior events",
		       fi.event_count);
		dp_log_events_digest(&log, (size_t)n0, d);
		tap_ok(!memcmp(fi.events_digest, d, 48),
		       "fuse: payload digest covers the prior events");
		tap_ok(!strcmp(fi.binder_path, "/dstack-runtime"),
		       "fuse: payload names the binder cgroup (%s)", fi.binder_path);
		tap_ok(fi.binder_cgroup_id == (uint64_t)st.st_ino,
		       "fuse: payload has the binder cgroup id");
		tap_ok(fi.pod_count == 0 && fi.last_generation == 0,
		       "fuse: payload says no Pod was bound in setup mode");
	}
	dp_log_free(&log);
}

static int try_extend(void)
{
	struct dstack_pod_extend arg;

	memset(&arg, 0, sizeof(arg));
	strcpy(arg.name, "late.event");
	return ioctl(fd, DSTACK_POD_IOC_EXTEND, &arg);
}

static void test_no_way_back(void)
{
	struct dstack_pod_report rep;
	struct dstack_pod_fuse fu;
	struct st_state s0, s1;
	unsigned int nr;
	int mfd, r;

	st_snapshot(&s0);

	tap_errno(try_extend(), EPERM, "secure: extend -> EPERM");
	memset(&rep, 0, sizeof(rep));
	tap_errno(ioctl(fd, DSTACK_POD_IOC_NODE_REPORT, &rep), EPERM,
		  "secure: node report -> EPERM");
	memset(&fu, 0, sizeof(fu));
	fu.binder_cgroup_fd = -1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_FUSE, &fu), EALREADY,
		  "way back: a second fuse -> EALREADY");

	/* No ioctl of ours, known or not, returns to setup mode. */
	for (nr = 0; nr < 64; nr++) {
		static uint8_t junk[4096];

		memset(junk, 0, sizeof(junk));
		ioctl(fd, _IOC(_IOC_READ | _IOC_WRITE, DSTACK_POD_IOC_MAGIC, nr,
			       sizeof(struct dstack_pod_fuse)), junk);
		ioctl(fd, _IOC(_IOC_NONE, DSTACK_POD_IOC_MAGIC, nr, 0), 0);
	}
	st_snapshot(&s1);
	tap_ok(s1.mode == 1 && st_same(&s0, &s1), "way back: no ioctl returns to setup");

	tap_errno(st_write_file(DP_SYSFS_DIR "/fuse", "setup"), EPERM,
		  "way back: sysfs write 'setup' -> EPERM");
	tap_errno(st_write_file(DP_SYSFS_DIR "/fuse", "secure"), EPERM,
		  "way back: sysfs write 'secure' -> EPERM");

	tap_errno(st_write_file(ST_PARAM_DIR "/max_events", "2048"), EPERM,
		  "way back: module parameter write -> EPERM");

	r = (int)syscall(SYS_delete_module, "dstack_pod", O_NONBLOCK);
	tap_ok(r < 0 && (errno == EWOULDBLOCK || errno == EBUSY),
	       "way back: rmmod dstack_pod fails (%s)", strerror(errno));
	mfd = open(MODULE_KO, O_RDONLY | O_CLOEXEC);
	r = (int)syscall(SYS_finit_module, mfd, "backend=sim", 0);
	tap_errno(r, EEXIST, "way back: insmod of a second instance -> EEXIST");
	close(mfd);
	r = (int)syscall(SYS_delete_module, "dstack_pod_sim", O_NONBLOCK);
	tap_ok(r < 0, "way back: the simulator cannot be unloaded under it");

	st_snapshot(&s1);
	tap_ok(s1.mode == 1 && st_same(&s0, &s1), "way back: state unchanged, still secure");
}

static int try_verify(void *rep)
{
	struct dp_dev dev;
	int err;

	if (dp_open(&dev))
		return errno;
	err = dp_verify_report(&dev, rep);
	dp_close(&dev);
	return -err;
}

static void test_after_fuse(void)
{
	struct dstack_pod_version v;
	struct dp_log log;

	tap_success(ioctl(fd, DSTACK_POD_IOC_VERSION, &v), "secure: version works");
	tap_ok(v.mode == DSTACK_POD_MODE_SECURE, "secure: version reports secure mode");
	tap_ok(dp_log_load(DP_EVENTS_PATH, &log) == 0, "secure: log still readable");
	dp_log_free(&log);
	tap_ok(st_as(ST_DROP_NOBODY, try_verify, (uint8_t[256]){ 0 }) == EBADMSG,
	       "secure: verify-report still answers (forged MAC -> EBADMSG)");
}

/*
 * A forced unload (CONFIG_MODULE_FORCE_UNLOAD) cannot be stopped by a module;
 * what matters is that it shows: a reloaded instance measures its init event
 * after the fuse, so RTMR3 no longer ends with the fuse event.
 */
static void test_forced_reload_shows(void)
{
	uint8_t rtmr_fused[48], want[48], got[48];
	struct dp_log log;
	int mfd, r;

	st_rtmr3(rtmr_fused);
	close(fd);
	r = (int)syscall(SYS_delete_module, "dstack_pod", O_NONBLOCK | O_TRUNC);
	if (!tap_success(r, "forced reload: rmmod -f succeeds on this kernel"))
		return;
	mfd = open(MODULE_KO, O_RDONLY | O_CLOEXEC);
	r = (int)syscall(SYS_finit_module, mfd, "backend=sim", 0);
	close(mfd);
	if (!tap_success(r, "forced reload: insmod again"))
		return;
	fd = st_open();
	if (!tap_ok(dp_log_load(DP_EVENTS_PATH, &log) == 0 && log.n == 1 &&
		    !strcmp(log.ev[0].name, DSTACK_POD_EVENT_INIT),
		    "forced reload: new instance starts with its init event"))
		return;
	memcpy(want, rtmr_fused, 48);
	dp_rtmr_extend(want, log.ev[0].digest);
	tap_ok(!st_rtmr3(got) && !memcmp(got, want, 48),
	       "forced reload: RTMR3 = extend(sealed RTMR3, init): the fuse is no longer last");
	dp_log_free(&log);
}

int main(void)
{
	tap_start();
	fd = st_open();
	test_fuse_event();
	test_no_way_back();
	test_after_fuse();
	test_forced_reload_shows();
	close(fd);
	return tap_end();
}
