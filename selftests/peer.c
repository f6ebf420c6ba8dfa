// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: DSTACK_POD_IOC_ATTEST_PEER, the attest of the process that
 * connected an AF_UNIX socket (issue 15, item 1).  The central case is the
 * pid-reuse race of the old agent flow: a client in Pod A connects, hands
 * the connection to a child and exits, a Pod B process gets the same pid
 * number; ATTEST_PEER must say ESRCH, never B's claims, while ATTEST_PID on
 * a pidfd opened from SO_PEERCRED's pid does give B's claims.  Every step
 * waits for a state (pipes, waitpid), never for time.  Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sutil.h"

#define CG		"/sys/fs/cgroup"
#define UID_A		"a1a1a1a1-1111-4111-8111-111111111111"
#define UID_B		"b2b2b2b2-2222-4222-8222-222222222222"
#define POD_A		CG "/kubepods/pod" UID_A
#define CTR_A		POD_A "/ctr"
#define POD_B		CG "/kubepods/pod" UID_B
#define CTR_B		POD_B "/ctr"
#define WL_A		"tenant-a/client"
#define WL_B		"tenant-b/other"
#define NS_LAST_PID	"/proc/sys/kernel/ns_last_pid"
#define REUSE_TRIES	200

static int fd;
static int lfd;		/* the binder's listening socket */
static const struct sockaddr_un addr = {
	.sun_family = AF_UNIX,
	.sun_path = "\0dstack-pod-peer-selftest",
};
static const socklen_t addr_len = offsetof(struct sockaddr_un, sun_path) + 26;

static void write_all(int wfd, const void *p, size_t n)
{
	ssize_t w;

	while (n && (w = write(wfd, p, n)) > 0) {
		p = (const char *)p + w;
		n -= (size_t)w;
	}
}

static int read_all(int rfd, void *p, size_t n)
{
	ssize_t r;

	while (n && (r = read(rfd, p, n)) > 0) {
		p = (char *)p + r;
		n -= (size_t)r;
	}
	return n ? -1 : 0;
}

static int connect_binder(int type)
{
	int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (s >= 0 && connect(s, (const struct sockaddr *)&addr, addr_len)) {
		close(s);
		return -1;
	}
	return s;
}

static int bind_pod(const char *cg, const char *uid, const char *workload)
{
	struct dp_dev dev = { .fd = fd };
	struct dp_pod_identity id = {
		.pod_uid = uid,
		.workload_id = workload,
	};

	return dp_bind(&dev, cg, &id, NULL);
}

static int peer_is(int sock, const char *uid, const char *workload,
		   const char *nonce)
{
	struct dp_dev dev = { .fd = fd };
	struct dstack_pod_claims c;
	uint8_t rep[DSTACK_POD_TDREPORT_LEN], rd[64];
	size_t n = strlen(nonce);
	char u[37];

	memset(&c, 0, sizeof(c));
	if (dp_attest_peer(&dev, sock, (const uint8_t *)nonce, n, &c, rep))
		return 0;
	dp_uuid_format(c.pod_uid, u);
	dp_claims_report_data(&c, rd);
	if (strcmp(u, uid))
		tap_diag("claims name %s, want %s", u, uid);
	return !strcmp(u, uid) && !strcmp(c.workload_id, workload) &&
	       c.nonce_len == n && !memcmp(c.nonce, nonce, n) &&
	       !(c.flags & DSTACK_POD_CLAIM_SECURE) &&
	       !memcmp(rep + DP_TDREPORT_REPORTDATA, rd, 64) && rep[0] == 0x81;
}

/*
 * A client: a child that moves into @cg, connects to the binder with @type
 * and then obeys one-byte commands on *cmd: 'a'/'b' move it into Pod A/B,
 * EOF ends it.  Each command, and the start, is answered on *rep with 'y'
 * or 'n'.  Returns its pid once it has connected, or -1.
 */
static pid_t client(const char *cg, int type, int *cmd, int *rep)
{
	int c2p[2], p2c[2], s;
	char ok = 0, c;
	pid_t pid;

	if (pipe(c2p) || pipe(p2c))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(c2p[0]);
		close(p2c[1]);
		s = st_move_self(cg) ? -1 : connect_binder(type);
		write_all(c2p[1], s >= 0 ? "y" : "n", 1);
		while (read(p2c[0], &c, 1) == 1)
			write_all(c2p[1], st_move_self(c == 'a' ? CTR_A : CTR_B) ?
				  "n" : "y", 1);
		_exit(0);
	}
	close(c2p[1]);
	close(p2c[0]);
	if (pid < 0 || read(c2p[0], &ok, 1) != 1 || ok != 'y') {
		close(c2p[0]);
		close(p2c[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	*cmd = p2c[1];
	*rep = c2p[0];
	return pid;
}

static int client_do(int cmd, int rep, char what)
{
	char ok = 0;

	write_all(cmd, &what, 1);
	return read(rep, &ok, 1) == 1 && ok == 'y';
}

static int try_peer(void *sock)
{
	struct dp_dev dev = { .fd = fd };

	return dp_attest_peer(&dev, *(int *)sock, NULL, 0, NULL, NULL) ? errno : 0;
}

static int peer_errno(int sock)
{
	struct dstack_pod_attest *a = calloc(1, sizeof(*a));
	int r, e;

	if (!a)
		return -1;
	a->pidfd = sock;
	r = ioctl(fd, DSTACK_POD_IOC_ATTEST_PEER, a);
	e = errno;
	free(a);
	errno = e;
	return r;
}

/*
 * Run dstack-podctl with argv, @sock as its fd 3; its output (stdout and
 * stderr) into out.  Returns its exit status, or -1.
 */
static int podctl(int sock, char *out, size_t size, char *const argv[])
{
	int p[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if ((sock >= 0 && dup2(sock, 3) != 3) || dup2(p[1], 1) != 1 ||
		    dup2(p[1], 2) != 2)
			_exit(127);
		execvp("dstack-podctl", argv);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < size && (r = read(p[0], out + n, size - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Field 22 of /proc/PID/stat. */
static unsigned long long start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (st_read_file(path, buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')');
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &t);
	return t;
}

static void test_podctl(int s, pid_t pid)
{
	char out[8192], pidarg[16], st[32], bad[32];
	char *peer[] = { "dstack-podctl", "attest", "--peer-fd", "3", "--json",
			 "--nonce", "70656572", NULL };
	char *bypid[] = { "dstack-podctl", "attest", "--pid", pidarg,
			  "--start-time", st, "--json", NULL };
	char *wrong[] = { "dstack-podctl", "attest", "--pid", pidarg,
			  "--start-time", bad, NULL };
	int rc;

	snprintf(pidarg, sizeof(pidarg), "%d", pid);
	snprintf(st, sizeof(st), "%llu", start_time(pid));
	snprintf(bad, sizeof(bad), "%llu", start_time(pid) + 1);
	rc = podctl(s, out, sizeof(out), peer);
	tap_ok(rc == 0 && strstr(out, UID_A) && strstr(out, "70656572"),
	       "podctl: attest --peer-fd gives the peer's Pod and the nonce (exit %d)", rc);
	if (rc)
		tap_diag("%s", out);
	rc = podctl(-1, out, sizeof(out), bypid);
	tap_ok(rc == 0 && strstr(out, UID_A),
	       "podctl: attest --pid with the right --start-time (exit %d)", rc);
	rc = podctl(-1, out, sizeof(out), wrong);
	tap_ok(rc != 0 && strstr(out, "is another process now"),
	       "podctl: attest --pid with another --start-time refuses (exit %d)", rc);
}

static void test_live_peer(void)
{
	struct dstack_pod_attest *a;
	int cmd, rep, s;
	pid_t pid;

	pid = client(CTR_A, SOCK_STREAM, &cmd, &rep);
	if (!tap_ok(pid > 0, "live: a client in Pod A connected"))
		return;
	s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	tap_ok(s >= 0 && peer_is(s, UID_A, WL_A, "nonce-live"),
	       "live: ATTEST_PEER gives A's claims with the nonce, bound to the report");
	test_podctl(s, pid);
	tap_ok(st_as(ST_DROP_NOBODY, try_peer, &s) == EPERM,
	       "privilege: nobody -> EPERM");
	tap_ok(st_as(ST_DROP_CAP, try_peer, &s) == EPERM,
	       "privilege: root without CAP_SYS_ADMIN -> EPERM");

	a = calloc(1, sizeof(*a));
	a->pidfd = s;
	a->nonce_len = 65;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_ATTEST_PEER, a), EINVAL,
		  "args: nonce_len 65 -> EINVAL");
	a->nonce_len = 4;
	a->nonce[10] = 1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_ATTEST_PEER, a), EINVAL,
		  "args: nonce bytes past nonce_len -> EINVAL");
	a->nonce[10] = 0;
	a->reserved[0] = 1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_ATTEST_PEER, a), EINVAL,
		  "args: reserved != 0 -> EINVAL");
	free(a);

	/*
	 * The identity is the process's, not the connection's: one the node
	 * moved to another Pod after connect() attests as that Pod, as
	 * ATTEST_PID does (Documentation/pods.rst).
	 */
	tap_ok(client_do(cmd, rep, 'b') && peer_is(s, UID_B, WL_B, "moved"),
	       "moved: a peer moved to Pod B after connect() gets B's claims");
	tap_ok(client_do(cmd, rep, 'a') && peer_is(s, UID_A, WL_A, "back"),
	       "moved: and A's again once moved back");

	close(cmd);
	waitpid(pid, NULL, 0);
	tap_errno(peer_errno(s), ESRCH, "gone: the client exited -> ESRCH");
	close(rep);
	close(s);
}

static void test_seqpacket(void)
{
	int cmd, rep, s;
	pid_t pid;

	close(lfd);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (const struct sockaddr *)&addr, addr_len) ||
	    listen(lfd, 16))
		tap_diag("seqpacket listener: %s", strerror(errno));
	pid = client(CTR_B, SOCK_SEQPACKET, &cmd, &rep);
	s = pid > 0 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
	tap_ok(s >= 0 && peer_is(s, UID_B, WL_B, "seqpacket"),
	       "seqpacket: a client in Pod B gets B's claims");
	if (pid > 0) {
		close(cmd);
		close(rep);
		waitpid(pid, NULL, 0);
	}
	close(s);
}

/* A child in Pod B makes a socketpair; the binder takes one end. */
static void test_socketpair(void)
{
	int sv[2], p[2], pfd = -1, s = -1;
	pid_t pid;

	tap_ok(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	       "socketpair: made by the test (a node process)");
	tap_errno(peer_errno(sv[0]), ENOENT,
		  "socketpair: its peer is in no bound Pod -> ENOENT, as ATTEST_PID");
	close(sv[0]);
	close(sv[1]);

	if (pipe(p))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (st_move_self(CTR_B) ||
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			_exit(1);
		write_all(p[1], &sv[0], sizeof(sv[0]));
		for (;;)
			pause();
	}
	close(p[1]);
	if (read_all(p[0], &sv[0], sizeof(sv[0])) == 0) {
		pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		s = pfd >= 0 ? (int)syscall(SYS_pidfd_getfd, pfd, sv[0], 0) : -1;
	}
	tap_ok(s >= 0 && peer_is(s, UID_B, WL_B, "pair"),
	       "socketpair: made in Pod B -> B's claims");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	tap_errno(peer_errno(s), ESRCH, "socketpair: its maker gone -> ESRCH");
	close(s);
	close(pfd);
	close(p[0]);
}

static void test_bad_fds(void)
{
	struct dp_dev dev = { .fd = fd };
	int s, sv[2];

	s = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	tap_errno(peer_errno(s), ENOTSOCK, "fds: a regular file -> ENOTSOCK");
	close(s);
	tap_errno(peer_errno(s), EBADF, "fds: a closed fd -> EBADF");
	tap_errno(peer_errno(-1), EBADF, "fds: -1 -> EBADF");
	tap_errno(dp_attest_peer(&dev, -1, NULL, 0, NULL, NULL) ? -1 : 0, EBADF,
		  "fds: the library refuses -1 with EBADF");
	s = (int)syscall(SYS_pidfd_open, getpid(), 0);
	tap_errno(peer_errno(s), ENOTSOCK, "fds: a pidfd -> ENOTSOCK");
	close(s);

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	tap_errno(peer_errno(s), EINVAL, "fds: a UDP socket -> EINVAL");
	close(s);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	tap_errno(peer_errno(s), EINVAL, "fds: a TCP socket -> EINVAL");
	close(s);
	if (!socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)) {
		tap_errno(peer_errno(sv[0]), EINVAL,
			  "fds: an AF_UNIX datagram socketpair -> EINVAL");
		close(sv[0]);
		close(sv[1]);
	} else {
		tap_ok(0, "fds: an AF_UNIX datagram socketpair");
	}
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	tap_errno(peer_errno(s), ENOTCONN, "fds: an unconnected AF_UNIX socket -> ENOTCONN");
	close(s);
	tap_errno(peer_errno(lfd), ENOTCONN, "fds: the listening socket -> ENOTCONN");
}

/*
 * The race of issue 15.  A (in Pod A) connects, forks a child that keeps
 * the connection (as nobody) and exits; the binder reaps A, so A's pid
 * number X is free.  A process that moves into Pod B is forked with pid X
 * (ns_last_pid = X - 1, retried if something else took X).
 */
static void test_pid_reuse(void)
{
	struct dstack_pod_claims c;
	struct dp_dev dev = { .fd = fd };
	int p[2], hold[2], s = -1, pfd, r, e, tries;
	pid_t a, b = -1, holder = 0;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	char num[32], u[37], ok;

	close(lfd);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (const struct sockaddr *)&addr, addr_len) ||
	    listen(lfd, 16))
		tap_diag("stream listener: %s", strerror(errno));
	if (pipe(p) || pipe(hold))
		return;
	fflush(stdout);
	a = fork();
	if (a == 0) {
		int cs;

		close(p[0]);
		close(hold[1]);
		cs = st_move_self(CTR_A) ? -1 : connect_binder(SOCK_STREAM);
		if (cs < 0)
			_exit(1);
		holder = fork();
		if (holder == 0) {
			/* Keeps the connection, unprivileged, until told. */
			if (setresgid(ST_NOBODY, ST_NOBODY, ST_NOBODY) ||
			    setresuid(ST_NOBODY, ST_NOBODY, ST_NOBODY))
				_exit(1);
			close(p[1]);
			while (read(hold[0], &ok, 1) > 0)
				;
			_exit(0);
		}
		write_all(p[1], &holder, sizeof(holder));
		_exit(0);
	}
	close(p[1]);
	close(hold[0]);
	r = read_all(p[0], &holder, sizeof(holder));
	close(p[0]);
	if (!r && holder > 0)
		s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	waitpid(a, NULL, 0);
	tap_ok(s >= 0 && holder > 0,
	       "reuse: client %d in Pod A connected, handed the socket to %d, exited",
	       a, holder);
	memset(&cred, 0, sizeof(cred));
	r = getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
	tap_ok(!r && cred.pid == a, "reuse: SO_PEERCRED still says pid %d", (int)cred.pid);
	tap_errno(peer_errno(s), ESRCH, "reuse: ATTEST_PEER before reuse -> ESRCH");

	for (tries = 0; tries < REUSE_TRIES && b < 0; tries++) {
		pid_t got;

		snprintf(num, sizeof(num), "%d", a - 1);
		if (st_write_file(NS_LAST_PID, num)) {
			tap_diag("%s: %s (a kernel without CONFIG_CHECKPOINT_RESTORE?)",
				 NS_LAST_PID, strerror(errno));
			break;
		}
		if (pipe(p))
			break;
		fflush(stdout);
		got = fork();
		if (got == 0) {
			close(p[0]);
			ok = getpid() == a && !st_move_self(CTR_B) ? 'y' : 'n';
			write_all(p[1], &ok, 1);
			if (ok == 'n')
				_exit(0);
			for (;;)
				pause();
		}
		close(p[1]);
		if (got > 0 && read(p[0], &ok, 1) == 1 && ok == 'y') {
			b = got;
		} else if (got > 0) {
			kill(got, SIGKILL);
			waitpid(got, NULL, 0);
		}
		close(p[0]);
	}
	if (!tap_ok(b == a, "reuse: a process in Pod B now has pid %d (%d tries)", a, tries))
		goto out;

	memset(&c, 0, sizeof(c));
	r = dp_attest_peer(&dev, s, (const uint8_t *)"A's nonce", 9, &c, NULL);
	e = errno;
	dp_uuid_format(c.pod_uid, u);
	if (!r)
		tap_diag("ATTEST_PEER returned the claims of %s (B is %s)", u, UID_B);
	tap_ok(r && e == ESRCH,
	       "reuse: ATTEST_PEER after reuse -> ESRCH, never B's claims");

	/* The old flow: pidfd_open(SO_PEERCRED's pid), then ATTEST_PID. */
	pfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
	memset(&c, 0, sizeof(c));
	r = pfd >= 0 ? dp_attest(&dev, pfd, (const uint8_t *)"A's nonce", 9, &c, NULL) : -1;
	dp_uuid_format(c.pod_uid, u);
	tap_ok(!r && !strcmp(u, UID_B) && c.nonce_len == 9,
	       "reuse: the old flow (pidfd_open of SO_PEERCRED's pid) would attest B with A's nonce (%s)",
	       r ? "failed" : u);
	if (pfd >= 0)
		close(pfd);
out:
	if (b > 0) {
		kill(b, SIGKILL);
		waitpid(b, NULL, 0);
	}
	close(hold[1]);
	close(s);
}

int main(void)
{
	struct dp_dev dev;

	tap_start();
	fd = st_open();
	dev.fd = fd;
	mkdir(CG "/kubepods", 0755);
	mkdir(POD_A, 0755);
	mkdir(CTR_A, 0755);
	mkdir(POD_B, 0755);
	mkdir(CTR_B, 0755);
	tap_success(bind_pod(POD_A, UID_A, WL_A), "bind Pod A");
	tap_success(bind_pod(POD_B, UID_B, WL_B), "bind Pod B");
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	tap_ok(lfd >= 0 && !bind(lfd, (const struct sockaddr *)&addr, addr_len) &&
	       !listen(lfd, 16), "the binder listens on an AF_UNIX socket");

	test_live_peer();
	test_seqpacket();
	test_socketpair();
	test_pid_reuse();
	test_bad_fds();

	close(lfd);
	dp_unbind(&dev, NULL, UID_A);
	dp_unbind(&dev, NULL, UID_B);
	close(fd);
	return tap_end();
}
