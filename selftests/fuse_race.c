// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: mediated attest racing the fuse (issue 13, finding 2).
 *
 * A root process outside the binder cgroup may use ATTEST_PID in setup
 * mode only.  Its claims must state the mode that authorised the call: it
 * must never get DSTACK_POD_CLAIM_SECURE, even when the fuse lands in the
 * middle of its call.  Each round loads a fresh module (a forced unload:
 * the fuse pins the module), binds a Pod, starts attester threads outside
 * the binder cgroup, blows the fuse while they run, and collects every
 * claim they got.  Run it with preempt=full (selftests/vm/suites).
 *
 * The verdict cannot be a false failure: a SECURE claim in the hands of a
 * caller that only setup mode authorised is the bug itself.  The module
 * makes the invariant structural (the mode is read once, under the lock
 * that orders it with the fuse, and that one value both authorises the
 * call and sets the flag), so the test holds on any machine and load;
 * before that change it failed within a few rounds.  Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sutil.h"

#define CG		"/sys/fs/cgroup"
#define BINDER		CG "/race-binder"
#define POD		CG "/race-pod"
#define POD_UID		"5a5a5a5a-1111-4222-8333-444455556666"
#define MODULE_KO	st_module_ko()
#define ROUNDS		40
#define ATTESTERS	3
/* Setup-mode successes each attester needs before the fuse is blown. */
#define WARMUP		4

static int fd, pidfd;
static int warm, stop;

struct tally {
	long setup_ok;		/* success, no SECURE flag */
	long secure_ok;		/* success with SECURE: the bug */
	long eperm;		/* refused: the fuse was seen */
	long other;		/* anything else */
	int last_err;
};

static struct tally tallies[ATTESTERS];

static void *attester(void *arg)
{
	struct tally *t = arg;
	struct dp_dev dev = { .fd = fd };
	struct dstack_pod_claims c;
	int counted = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (dp_attest(&dev, pidfd, (const uint8_t *)"race", 4, &c, NULL)) {
			if (errno == EPERM) {
				t->eperm++;
				break;	/* secure mode, and it stays secure */
			}
			t->other++;
			t->last_err = errno;
			break;
		}
		if (c.flags & DSTACK_POD_CLAIM_SECURE)
			t->secure_ok++;
		else
			t->setup_ok++;
		if (!counted && t->setup_ok >= WARMUP) {
			counted = 1;
			__atomic_add_fetch(&warm, 1, __ATOMIC_RELEASE);
		}
	}
	if (!counted)
		__atomic_add_fetch(&warm, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int reload(void)
{
	int mfd, r;

	close(fd);
	if (syscall(SYS_delete_module, "dstack_pod", O_NONBLOCK | O_TRUNC))
		return -1;
	mfd = open(MODULE_KO, O_RDONLY | O_CLOEXEC);
	r = (int)syscall(SYS_finit_module, mfd, "backend=sim", 0);
	close(mfd);
	if (r)
		return -1;
	fd = st_open();
	return 0;
}

/* One module instance: bind, race the fuse, collect.  0 or -1. */
static int round_once(int n, struct tally *sum)
{
	struct dp_pod_identity id = { .pod_uid = POD_UID, .workload_id = "race/app" };
	struct dp_dev dev;
	pthread_t t[ATTESTERS];
	int i, err;

	if (n && reload()) {
		tap_diag("round %d: reload failed: %s", n, strerror(errno));
		return -1;
	}
	dev.fd = fd;
	if (dp_bind(&dev, POD, &id, NULL)) {
		tap_diag("round %d: bind: %s", n, dp_errmsg());
		return -1;
	}
	memset(tallies, 0, sizeof(tallies));
	warm = 0;
	stop = 0;
	for (i = 0; i < ATTESTERS; i++)
		pthread_create(&t[i], NULL, attester, &tallies[i]);
	while (__atomic_load_n(&warm, __ATOMIC_ACQUIRE) < ATTESTERS)
		sched_yield();
	err = dp_fuse(&dev, BINDER, NULL, NULL);
	if (err)
		tap_diag("round %d: fuse: %s", n, dp_errmsg());
	/* After the fuse every attester ends on its next call (EPERM). */
	for (i = 0; i < ATTESTERS; i++) {
		pthread_join(t[i], NULL);
		sum->setup_ok += tallies[i].setup_ok;
		sum->secure_ok += tallies[i].secure_ok;
		sum->eperm += tallies[i].eperm;
		sum->other += tallies[i].other;
		if (tallies[i].other)
			tap_diag("round %d: attester %d: %s", n, i,
				 strerror(tallies[i].last_err));
		if (tallies[i].secure_ok)
			tap_diag("round %d: attester %d got %ld SECURE claims after a setup-mode check",
				 n, i, tallies[i].secure_ok);
	}
	return err ? -1 : 0;
}

int main(void)
{
	struct tally sum = { 0 };
	int n, failed_round = -1, first_bad = -1;
	long bad_before;
	pid_t pod;

	tap_start();
	fd = st_open();
	mkdir(BINDER, 0755);
	mkdir(POD, 0755);
	pod = st_spawn_in(POD);		/* returns once it is in the cgroup */
	pidfd = pod > 0 ? (int)syscall(SYS_pidfd_open, pod, 0) : -1;
	if (!tap_ok(pidfd >= 0, "a Pod process, a pidfd for it"))
		return tap_end();

	for (n = 0; n < ROUNDS; n++) {
		bad_before = sum.secure_ok;
		if (round_once(n, &sum)) {
			failed_round = n;
			break;
		}
		if (sum.secure_ok > bad_before && first_bad < 0)
			first_bad = n + 1;
	}
	tap_ok(failed_round < 0, "%d fuses, each with a fresh module (failed round: %d)",
	       ROUNDS, failed_round);
	tap_ok(sum.setup_ok >= (long)ROUNDS * ATTESTERS * WARMUP && sum.other == 0,
	       "attesters outside the binder got setup-mode claims before each fuse (%ld calls, %ld other errors)",
	       sum.setup_ok, sum.other);
	tap_ok(sum.eperm == (long)ROUNDS * ATTESTERS,
	       "after each fuse every attester was refused with EPERM (%ld of %d)",
	       sum.eperm, ROUNDS * ATTESTERS);
	tap_ok(sum.secure_ok == 0,
	       "no SECURE claim ever reached a caller authorised by setup-mode rules (%ld; first in fuse %d)",
	       sum.secure_ok, first_bad);

	kill(pod, SIGKILL);
	waitpid(pod, NULL, 0);
	close(pidfd);
	close(fd);
	return tap_end();
}
