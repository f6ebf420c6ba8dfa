// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-node: Pod bindings, per-Pod measurement and attestation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dstackpod.h"

static int dp_copy_str(char *dst, size_t size, const char *src,
		       const char *what)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		return dp_seterr(EINVAL, "%s is longer than %zu bytes", what,
				 size - 1);
	memset(dst, 0, size);
	if (n)
		memcpy(dst, src, n);
	return 0;
}

static int dp_open_cgroup(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		dp_seterr(errno, "cgroup %s", path);
	return fd;
}

/* Fill a struct dstack_pod_select; *cfd is the fd to close afterwards. */
static int dp_select(struct dstack_pod_select *sel, const char *cgroup_path,
		     const char *pod_uid, int *cfd)
{
	memset(sel, 0, sizeof(*sel));
	*cfd = -1;
	if (!!cgroup_path == !!pod_uid)
		return dp_seterr(EINVAL, "name the Pod by its cgroup or by its uid");
	if (pod_uid) {
		sel->cgroup_fd = -1;
		return dp_copy_str(sel->pod_uid, sizeof(sel->pod_uid), pod_uid,
				   "pod_uid");
	}
	*cfd = dp_open_cgroup(cgroup_path);
	if (*cfd < 0)
		return -errno;
	sel->cgroup_fd = *cfd;
	return 0;
}

static int dp_pod_err(const char *what, const char *pod)
{
	int err = errno;

	switch (err) {
	case EEXIST:
		return dp_seterr(err, "%s: cgroup %s is already bound", what, pod);
	case EBUSY:
		return dp_seterr(err, "%s: %s is inside or above a bound cgroup (or overlaps the binder cgroup)",
				 what, pod);
	case ENOTUNIQ:
		return dp_seterr(err, "%s: this pod_uid is already bound", what);
	case ENOSPC:
		return dp_seterr(err, "%s: limit reached (max_pods or max_pod_events)",
				 what);
	case ENOENT:
		return dp_seterr(err, "%s: no bound Pod %s", what, pod);
	case EBADF:
		return dp_seterr(err, "%s: %s is not a cgroup v2 directory", what,
				 pod);
	case EPERM:
		return dp_seterr(err, "%s refused: needs CAP_SYS_ADMIN, and after the fuse the caller must run in the binder cgroup",
				 what);
	case EINVAL:
		return dp_seterr(err, "%s: invalid argument (pod_uid must be a lower-case UUID; workload_id 1..253 printable bytes)",
				 what);
	default:
		return dp_seterr(err, "%s", what);
	}
}

int dp_bind(struct dp_dev *dev, const char *cgroup_path,
	    const struct dp_pod_identity *id, uint64_t *generation)
{
	struct dstack_pod_bind arg;
	int err, cfd;

	memset(&arg, 0, sizeof(arg));
	err = dp_copy_str(arg.pod_uid, sizeof(arg.pod_uid), id->pod_uid, "pod_uid");
	if (!err)
		err = dp_copy_str(arg.workload_id, sizeof(arg.workload_id),
				  id->workload_id, "workload_id");
	if (!err)
		err = dp_copy_str(arg.pod_namespace, sizeof(arg.pod_namespace),
				  id->pod_namespace, "namespace");
	if (!err)
		err = dp_copy_str(arg.pod_name, sizeof(arg.pod_name),
				  id->pod_name, "name");
	if (err)
		return err;
	memcpy(arg.pod_spec_hash, id->pod_spec_hash, sizeof(arg.pod_spec_hash));
	arg.spec_source = id->spec_source;
	cfd = dp_open_cgroup(cgroup_path);
	if (cfd < 0)
		return -errno;
	arg.cgroup_fd = cfd;
	err = ioctl(dev->fd, DSTACK_POD_IOC_BIND, &arg);
	if (err < 0)
		err = dp_pod_err("bind", cgroup_path);
	else if (generation)
		*generation = arg.generation;
	close(cfd);
	return err;
}

int dp_unbind(struct dp_dev *dev, const char *cgroup_path, const char *pod_uid)
{
	struct dstack_pod_unbind arg;
	int err, cfd;

	memset(&arg, 0, sizeof(arg));
	err = dp_select(&arg.pod, cgroup_path, pod_uid, &cfd);
	if (err)
		return err;
	err = ioctl(dev->fd, DSTACK_POD_IOC_UNBIND, &arg);
	if (err < 0)
		err = dp_pod_err("unbind", cgroup_path ? cgroup_path : pod_uid);
	if (cfd >= 0)
		close(cfd);
	return err;
}

int dp_pod_extend(struct dp_dev *dev, const char *cgroup_path,
		  const char *pod_uid, const char *name, const void *payload,
		  size_t len, uint8_t pmr[DSTACK_POD_DIGEST_LEN])
{
	struct dstack_pod_pod_extend arg;
	int err, cfd;

	memset(&arg, 0, sizeof(arg));
	if (len > DSTACK_POD_EVENT_PAYLOAD_MAX)
		return dp_seterr(E2BIG, "payload of %zu bytes is over the %d-byte limit",
				 len, DSTACK_POD_EVENT_PAYLOAD_MAX);
	err = dp_copy_str(arg.name, DSTACK_POD_EVENT_NAME_MAX + 1, name,
			  "event name");
	if (err)
		return err;
	err = dp_select(&arg.pod, cgroup_path, pod_uid, &cfd);
	if (err)
		return err;
	arg.payload = (uintptr_t)payload;
	arg.payload_len = (uint32_t)len;
	err = ioctl(dev->fd, DSTACK_POD_IOC_POD_EXTEND, &arg);
	if (err < 0)
		err = dp_pod_err("pod extend", cgroup_path ? cgroup_path : pod_uid);
	else if (pmr)
		memcpy(pmr, arg.pmr, sizeof(arg.pmr));
	if (cfd >= 0)
		close(cfd);
	return err;
}

/* The errno of a failed ATTEST_PEER, said in the words of a socket. */
static int dp_peer_err(void)
{
	int err = errno;

	switch (err) {
	case ENOENT:
		return dp_seterr(err, "attest: the socket's peer is not in a bound Pod");
	case ESRCH:
		return dp_seterr(err, "attest: the process that connected the socket has exited");
	case ENOTSOCK:
		return dp_seterr(err, "attest: the fd is not a socket");
	case ENOTCONN:
		return dp_seterr(err, "attest: the socket is not connected");
	case EINVAL:
		return dp_seterr(err, "attest: the socket is not an AF_UNIX stream or seqpacket socket");
	case EBADF:
		return dp_seterr(err, "attest: the socket fd is not open");
	case ENOTTY:
		return dp_seterr(err, "attest: the module has no ATTEST_PEER (older than this library)");
	default:
		return dp_pod_err("attest", "");
	}
}

/* ATTEST, ATTEST_PID or ATTEST_PEER: @fd is -1, a pidfd or a socket. */
static int dp_attest_call(struct dp_dev *dev, unsigned long cmd, int fd,
			  const uint8_t *nonce, size_t nonce_len,
			  struct dstack_pod_claims *claims,
			  uint8_t tdreport[DSTACK_POD_TDREPORT_LEN])
{
	struct dstack_pod_attest *arg;
	int err = 0;

	if (nonce_len > DSTACK_POD_NONCE_MAX)
		return dp_seterr(EINVAL, "nonce longer than %d bytes",
				 DSTACK_POD_NONCE_MAX);
	if (nonce_len && !nonce)
		return dp_seterr(EINVAL, "attest: nonce_len without a nonce");
	arg = calloc(1, sizeof(*arg));
	if (!arg)
		return dp_seterr(ENOMEM, "attest");
	if (nonce_len)
		memcpy(arg->nonce, nonce, nonce_len);
	arg->nonce_len = (uint32_t)nonce_len;
	arg->pidfd = fd;
	if (ioctl(dev->fd, cmd, arg) < 0) {
		if (cmd == DSTACK_POD_IOC_ATTEST_PEER)
			err = dp_peer_err();
		else if (errno == ENOENT)
			err = dp_seterr(ENOENT, "attest: %s is not in a bound Pod",
					fd < 0 ? "this process" : "that process");
		else
			err = dp_pod_err("attest", "");
	} else {
		if (claims)
			*claims = arg->claims;
		if (tdreport)
			memcpy(tdreport, arg->tdreport, sizeof(arg->tdreport));
	}
	free(arg);
	return err;
}

int dp_attest(struct dp_dev *dev, int pidfd, const uint8_t *nonce,
	      size_t nonce_len, struct dstack_pod_claims *claims,
	      uint8_t tdreport[DSTACK_POD_TDREPORT_LEN])
{
	return dp_attest_call(dev, pidfd < 0 ? DSTACK_POD_IOC_ATTEST :
			      DSTACK_POD_IOC_ATTEST_PID, pidfd < 0 ? -1 : pidfd,
			      nonce, nonce_len, claims, tdreport);
}

int dp_attest_peer(struct dp_dev *dev, int sockfd, const uint8_t *nonce,
		   size_t nonce_len, struct dstack_pod_claims *claims,
		   uint8_t tdreport[DSTACK_POD_TDREPORT_LEN])
{
	if (sockfd < 0)
		return dp_seterr(EBADF, "attest: no socket");
	return dp_attest_call(dev, DSTACK_POD_IOC_ATTEST_PEER, sockfd, nonce,
			      nonce_len, claims, tdreport);
}

int dp_pod_log(struct dp_dev *dev, struct dp_log *log)
{
	struct dstack_pod_pod_log arg;
	size_t cap = 64 * 1024, all = 0;
	char *buf = NULL, *nb;
	FILE *f;
	int err = 0;

	memset(&arg, 0, sizeof(arg));
	for (;;) {
		nb = realloc(buf, all + cap);
		if (!nb) {
			err = dp_seterr(ENOMEM, "pod log");
			break;
		}
		buf = nb;
		arg.buf = (uintptr_t)(buf + all);
		arg.buf_len = (uint32_t)cap;
		if (ioctl(dev->fd, DSTACK_POD_IOC_POD_LOG, &arg) < 0) {
			err = errno == ENOENT ?
			      dp_seterr(ENOENT, "pod log: this process is not in a bound Pod") :
			      dp_seterr(errno, "pod log");
			break;
		}
		all += arg.used;
		arg.start += arg.count;
		if (arg.start >= arg.total)
			break;
	}
	if (!err) {
		f = fmemopen(buf, all ? all : 1, "r");
		if (!f)
			err = dp_seterr(errno, "pod log");
		else if (all)
			err = dp_log_parse(f, log);
		else
			memset(log, 0, sizeof(*log));
		if (f)
			fclose(f);
	}
	free(buf);
	return err;
}
