// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: the ioctls from a 32-bit process (compat_ioctl).  Built with
 * -m32 -static; uses only the uapi header, so it needs no 32-bit libraries.
 * Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/dstack_pod.h>

#include "tap.h"

#define EVENTS "/sys/kernel/security/dstack-pod/runtime_events"

/* Find the digest of event @index in the securityfs log, as hex. */
static int log_digest(uint32_t index, char *hex)
{
	char line[16384];
	FILE *f = fopen(EVENTS, "r");
	unsigned int idx;
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%u %*s %96s", &idx, hex) == 2 && idx == index;
	fclose(f);
	return found;
}

#define PEER_CG		"/sys/fs/cgroup/compat32-pod"
#define PEER_UID	"c0c0c0c0-3232-4232-8232-323232323232"
#define PEER_WL		"compat/peer"

/*
 * ATTEST_PEER from a 32-bit binder: a 32-bit child in a bound Pod connects
 * to our socket, we attest it through the accepted connection.
 */
static void peer_attest(int fd)
{
	static struct dstack_pod_attest a;
	struct dstack_pod_bind b;
	struct sockaddr_un sa = { .sun_family = AF_UNIX,
				  .sun_path = "\0dstack-pod-compat32" };
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 21;
	int l, s = -1, p[2], r, e;
	char ok = 0;
	pid_t pid;

	memset(&b, 0, sizeof(b));
	strcpy(b.pod_uid, PEER_UID);
	strcpy(b.workload_id, PEER_WL);
	mkdir(PEER_CG, 0755);
	b.cgroup_fd = open(PEER_CG, O_RDONLY | O_DIRECTORY);
	tap_success(ioctl(fd, DSTACK_POD_IOC_BIND, &b), "compat: bind a Pod");
	close(b.cgroup_fd);

	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, len) || listen(l, 1) || pipe(p))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int cg = open(PEER_CG "/cgroup.procs", O_WRONLY);
		int cs = socket(AF_UNIX, SOCK_STREAM, 0);

		ok = cg >= 0 && write(cg, "0", 1) == 1 && cs >= 0 &&
		     !connect(cs, (struct sockaddr *)&sa, len) ? 'y' : 'n';
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &ok, 1) == 1 && ok == 'y')
		s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(p[0]);
	tap_ok(s >= 0, "compat: a process in the Pod connected");

	memset(&a, 0, sizeof(a));
	memcpy(a.nonce, "compat-nonce", 12);
	a.nonce_len = 12;
	a.pidfd = s;
	tap_success(ioctl(fd, DSTACK_POD_IOC_ATTEST_PEER, &a), "compat: attest peer");
	tap_ok(!strcmp(a.claims.workload_id, PEER_WL) && a.claims.nonce_len == 12 &&
	       !memcmp(a.claims.nonce, "compat-nonce", 12) && a.tdreport[0] == 0x81,
	       "compat: the peer's claims, with the nonce");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	r = ioctl(fd, DSTACK_POD_IOC_ATTEST_PEER, &a);
	e = errno;
	tap_ok(r < 0 && e == ESRCH, "compat: peer gone -> ESRCH");
	close(s);
	close(l);
}

int main(void)
{
	static const char payload[] = "from a 32-bit process";
	struct dstack_pod_version v;
	struct dstack_pod_extend ext;
	struct dstack_pod_report rep;
	struct dstack_pod_verify_report vr;
	char want[97], got[97];
	void *bad;
	int fd, i;

	tap_start();
	tap_ok(sizeof(void *) == 4, "compat: this is a 32-bit process");
	fd = open(DSTACK_POD_DEVICE, O_RDWR);
	if (!tap_ok(fd >= 0, "compat: open %s", DSTACK_POD_DEVICE))
		return tap_end();

	memset(&v, 0, sizeof(v));
	tap_success(ioctl(fd, DSTACK_POD_IOC_VERSION, &v), "compat: version");
	tap_ok(v.abi_major == DSTACK_POD_ABI_MAJOR && v.mode == DSTACK_POD_MODE_SETUP,
	       "compat: version fields");

	memset(&ext, 0, sizeof(ext));
	strcpy(ext.name, "compat.event");
	ext.payload = (uintptr_t)payload;
	ext.payload_len = sizeof(payload) - 1;
	tap_success(ioctl(fd, DSTACK_POD_IOC_EXTEND, &ext),
		    "compat: extend with a 32-bit payload pointer");
	for (i = 0; i < 48; i++)
		sprintf(got + 2 * i, "%02x", ext.digest[i]);
	tap_ok(log_digest(ext.index, want) && !strcmp(want, got),
	       "compat: returned digest equals the logged one");

	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ext.payload = (uintptr_t)bad;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_EXTEND, &ext), EFAULT,
		  "compat: unreadable payload -> EFAULT");
	ext.payload = (uintptr_t)payload;
	ext.reserved[0] = 1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_EXTEND, &ext), EINVAL,
		  "compat: reserved != 0 -> EINVAL");

	memset(&rep, 0, sizeof(rep));
	memset(rep.report_data, 0x5a, sizeof(rep.report_data));
	tap_success(ioctl(fd, DSTACK_POD_IOC_NODE_REPORT, &rep), "compat: node report");
	tap_ok(rep.tdreport[0] == 0x81 && rep.tdreport[128] == 0x5a &&
	       rep.tdreport[191] == 0x5a, "compat: report type and report_data");

	memset(&vr, 0, sizeof(vr));
	memcpy(vr.reportmac, rep.tdreport, sizeof(vr.reportmac));
	tap_success(ioctl(fd, DSTACK_POD_IOC_VERIFY_REPORT, &vr),
		    "compat: verify report");
	peer_attest(fd);
	close(fd);
	return tap_end();
}
