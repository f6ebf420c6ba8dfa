// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: Pod identities after the fuse.  Only the binder cgroup
 * subtree recorded by the fuse may bind, unbind, measure or attest on
 * behalf of another process; attest claims say "secure".  Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sutil.h"

#define CG		"/sys/fs/cgroup"
#define RUNTIME		CG "/runtime"
#define RUNTIME_CHILD	RUNTIME "/containerd"
#define UID_A		"0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11"
#define UID_B		"7f1c2e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
#define POD_A		CG "/kubepods/pod" UID_A
#define POD_B		CG "/kubepods/pod" UID_B

static int fd;
static uint64_t gen_a;

/* Run fn in a child placed in @cg; returns fn's errno (0 on success). */
static int in_cg(const char *cg, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(st_move_self(cg) ? 250 : fn(arg) & 0xff);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 251;
	return WEXITSTATUS(status);
}

static int do_bind(void *cg)
{
	struct dp_dev dev = { .fd = fd };
	struct dp_pod_identity id = {
		.pod_uid = !strcmp(cg, POD_A) ? UID_A : UID_B,
		.workload_id = "tenant/app",
	};

	return dp_bind(&dev, cg, &id, NULL) ? errno : 0;
}

static int do_unbind(void *uid)
{
	struct dp_dev dev = { .fd = fd };

	return dp_unbind(&dev, NULL, uid) ? errno : 0;
}

static int do_extend(void *uid)
{
	struct dp_dev dev = { .fd = fd };

	return dp_pod_extend(&dev, NULL, uid, "container.app", "x", 1, NULL) ? errno : 0;
}

static int do_attest_secure(void *unused)
{
	struct dstack_pod_claims c;
	struct dp_dev dev = { .fd = fd };

	(void)unused;
	if (dp_attest(&dev, -1, NULL, 0, &c, NULL))
		return errno;
	return c.flags & DSTACK_POD_CLAIM_SECURE ? 0 : 200;
}

static int do_mediated(void *pfd)
{
	struct dp_dev dev = { .fd = fd };

	return dp_attest(&dev, *(int *)pfd, NULL, 0, NULL, NULL) ? errno : 0;
}

static int do_peer(void *sock)
{
	struct dstack_pod_claims c;
	struct dp_dev dev = { .fd = fd };

	if (dp_attest_peer(&dev, *(int *)sock, NULL, 0, &c, NULL))
		return errno;
	return c.flags & DSTACK_POD_CLAIM_SECURE ? 0 : 200;
}

/*
 * A process in Pod B connects to a socket the test listens on; returns the
 * accepted connection (the client stays alive until *client is killed).
 */
static int peer_of_b(pid_t *client)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX,
				  .sun_path = "\0dstack-pod-secure-peer" };
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 24;
	int l, s = -1, p[2];
	char ok = 0;

	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, len) || listen(l, 1) || pipe(p))
		return -1;
	fflush(stdout);
	*client = fork();
	if (*client == 0) {
		int cs = socket(AF_UNIX, SOCK_STREAM, 0);

		ok = !st_move_self(POD_B) && cs >= 0 &&
		     !connect(cs, (struct sockaddr *)&sa, len) ? 'y' : 'n';
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (*client > 0 && read(p[0], &ok, 1) == 1 && ok == 'y')
		s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(p[0]);
	close(l);
	return s;
}

int main(void)
{
	struct dp_dev dev;
	int pfd;
	pid_t pid;

	tap_start();
	fd = st_open();
	dev.fd = fd;
	mkdir(CG "/kubepods", 0755);
	mkdir(POD_A, 0755);
	mkdir(POD_B, 0755);
	mkdir(RUNTIME, 0755);
	mkdir(RUNTIME_CHILD, 0755);
	mkdir(RUNTIME_CHILD "/pod", 0755);

	{
		struct dp_pod_identity id = { .pod_uid = UID_A, .workload_id = "tenant/app" };
		struct dp_fuse_info fi;
		struct dp_log log;

		tap_success(dp_bind(&dev, POD_A, &id, &gen_a),
			    "setup mode: root binds A from anywhere");
		tap_success(dp_fuse(&dev, RUNTIME, NULL, NULL), "fuse with binder cgroup %s",
			    RUNTIME);
		tap_ok(!dp_log_load(DP_EVENTS_PATH, &log) && log.n &&
		       !dp_fuse_payload_parse(log.ev[log.n - 1].payload,
					      log.ev[log.n - 1].payload_len, &fi) &&
		       fi.pod_count == 1 && fi.last_generation == gen_a,
		       "fuse payload: 1 Pod bound in setup mode, last generation %llu",
		       (unsigned long long)gen_a);
		dp_log_free(&log);
	}

	tap_ok(do_bind(POD_B) == EPERM, "secure: bind from outside the binder subtree -> EPERM");
	tap_ok(in_cg(RUNTIME_CHILD, do_bind, POD_B) == 0,
	       "secure: bind from inside the binder subtree works");
	tap_ok(in_cg(RUNTIME_CHILD, do_bind, RUNTIME_CHILD "/pod") == EPERM,
	       "secure: binding a cgroup inside the binder subtree -> EPERM");
	tap_ok(do_extend(UID_B) == EPERM, "secure: pod extend from outside -> EPERM");
	tap_ok(in_cg(RUNTIME, do_extend, UID_B) == 0, "secure: pod extend from the binder works");
	tap_ok(do_unbind(UID_A) == EPERM, "secure: unbind from outside -> EPERM");
	tap_ok(in_cg(POD_A, do_unbind, UID_B) == EPERM,
	       "secure: a Pod cannot unbind another Pod -> EPERM");
	tap_ok(in_cg(POD_A, do_attest_secure, NULL) == 0,
	       "secure: attest works and the claims say secure");

	pid = st_spawn_in(POD_B);
	if (!tap_ok(pid > 0, "secure: a process in Pod B"))
		return tap_end();
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	tap_ok(do_mediated(&pfd) == EPERM, "secure: mediated attest from outside -> EPERM");
	tap_ok(in_cg(RUNTIME_CHILD, do_mediated, &pfd) == 0,
	       "secure: mediated attest from the binder works");
	kill(pid, 9);
	waitpid(pid, NULL, 0);
	close(pfd);

	pfd = peer_of_b(&pid);
	tap_ok(pfd >= 0, "secure: a process in Pod B connected to the test");
	tap_ok(do_peer(&pfd) == EPERM, "secure: ATTEST_PEER from outside the binder -> EPERM");
	tap_ok(in_cg(RUNTIME_CHILD, do_peer, &pfd) == 0,
	       "secure: ATTEST_PEER from the binder works and the claims say secure");
	if (pid > 0) {
		kill(pid, 9);
		waitpid(pid, NULL, 0);
	}
	close(pfd);
	tap_ok(in_cg(RUNTIME, do_unbind, UID_A) == 0, "secure: unbind from the binder works");
	close(fd);
	return tap_end();
}
