// SPDX-License-Identifier: GPL-2.0
/*
 * kfuzz32: the 32-bit half of kfuzz (selftests/fuzz/kfuzz.c).  Built with
 * -m32 -static, it issues the ioctls kfuzz sends it over a SOCK_SEQPACKET
 * socket, so they go through the module's compat_ioctl.  Pointers are
 * placed in its own address space the way kfuzz places them; fds arrive by
 * SCM_RIGHTS.  With KCOV it collects its own coverage into the map kfuzz
 * shares in /dev/shm (KCOV takes the 64-bit ioctl numbers from a 32-bit
 * caller too).
 *
 * usage: kfuzz32 SOCKFD COVFILE|- MODULE_BASE MODULE_SIZE UID
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <linux/dstack_pod.h>

#include "kfuzz.h"

#define RW_SIZE		16384u
#define RO_SIZE		8192u
#define BIG_SIZE	(1u << 19)

static uint8_t *rw, *ro, *big;

static uint8_t *guarded(size_t size)
{
	uint8_t *p = mmap(NULL, size + 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(3);
	mprotect(p + size, 4096, PROT_NONE);
	return p;
}

static void *place(uint8_t mode, const void *src, size_t len, int is_big)
{
	uint8_t *base = is_big ? big : rw;
	size_t size = is_big ? BIG_SIZE : RW_SIZE;
	uint8_t *p;

	if (len > size)
		len = size;
	switch (mode % KF_P_NMODES) {
	case KF_P_SHORT:
		p = base + size - len / 2;
		memcpy(p, src, len / 2);
		return p;
	case KF_P_RO:
		if (len > RO_SIZE)
			len = RO_SIZE;
		p = ro + RO_SIZE - len;
		mprotect(ro, RO_SIZE, PROT_READ | PROT_WRITE);
		memcpy(p, src, len);
		mprotect(ro, RO_SIZE, PROT_READ);
		return p;
	case KF_P_NULL:
		return NULL;
	case KF_P_GUARD:
		return base + size;
	case KF_P_KERNEL:
		return (void *)(uintptr_t)0xc0000000u;	/* above TASK_SIZE for compat */
	case KF_P_MISALIGNED:
		p = base + size - len - 3;
		memcpy(p, src, len);
		return p;
	default:
		p = base + size - len;
		memcpy(p, src, len);
		return p;
	}
}

int main(int argc, char **argv)
{
	static struct kf32_req req;
	static uint8_t pattern[BIG_SIZE];
	struct kf_cov *cov = NULL;
	volatile uint64_t *area = NULL;
	int sock, dev, kcov = -1;
	uid_t uid;

	if (argc != 6)
		return 2;
	sock = atoi(argv[1]);
	uid = (uid_t)strtoul(argv[5], NULL, 0);
	if (strcmp(argv[2], "-")) {
		int fd = open(argv[2], O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			cov = mmap(NULL, sizeof(*cov), PROT_READ | PROT_WRITE, MAP_SHARED,
				   fd, 0);
			close(fd);
			if (cov == MAP_FAILED)
				cov = NULL;
		}
		kcov = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
		if (cov && kcov >= 0 &&
		    !ioctl(kcov, KF_KCOV_INIT_TRACE, (unsigned long)KF_KCOV_WORDS)) {
			area = mmap(NULL, KF_KCOV_WORDS * 8, PROT_READ | PROT_WRITE,
				    MAP_SHARED, kcov, 0);
			if (area == MAP_FAILED)
				area = NULL;
		}
	}
	dev = open(DSTACK_POD_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return 3;
	if (uid && (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)))
		return 4;
	if (area && ioctl(kcov, KF_KCOV_ENABLE, KF_KCOV_TRACE_PC))
		area = NULL;
	rw = guarded(RW_SIZE);
	ro = guarded(RO_SIZE);
	big = guarded(BIG_SIZE);
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 131 + 7);

	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int) * 2)];
		struct iovec iov = { &req, sizeof(req) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct kf32_rep rep = { 0 };
		struct cmsghdr *c;
		int fds[2] = { -1, -1 }, nfds = 0;
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		void *a;

		if (n <= 0)
			return 0;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
				if (nfds > 2)
					nfds = 2;
				memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)nfds);
			}
		if (req.arglen > KF_ARG_MAX)
			req.arglen = KF_ARG_MAX;
		for (int i = 0; i < 2 && i < nfds; i++)
			if (req.fd_off[i] >= 0 && req.fd_off[i] + 4 <= req.arglen)
				memcpy(req.arg + req.fd_off[i], &fds[i], 4);
		if (req.ptr_off >= 0 && req.ptr_off + 8 <= req.arglen) {
			uint64_t u = (uintptr_t)place(req.bufmode, pattern,
						      req.buflen > BIG_SIZE ? BIG_SIZE :
						      req.buflen, 1);

			memcpy(req.arg + req.ptr_off, &u, 8);
		}
		a = place(req.argmode, req.arg, req.arglen, 0);
		if (area)
			area[0] = 0;
		errno = 0;
		rep.ret = ioctl(dev, req.cmd, a);
		rep.err = errno;
		if (area)
			rep.fresh = kf_cov_collect(cov, area);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		if (send(sock, &rep, sizeof(rep), 0) != sizeof(rep))
			return 0;
	}
}
