// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-node: device calls on /dev/dstack-pod.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dstackpod.h"

/* A hint for the errno values every call can produce. */
static int dp_ioctl_err(struct dp_dev *dev, const char *what)
{
	struct dstack_pod_version v;
	int err = errno;

	switch (err) {
	case EPERM:
		memset(&v, 0, sizeof(v));
		if (!ioctl(dev->fd, DSTACK_POD_IOC_VERSION, &v) &&
		    v.mode == DSTACK_POD_MODE_SECURE)
			return dp_seterr(err, "%s refused: the node is in secure mode (the fuse is blown) and setup-only calls are gone",
					 what);
		return dp_seterr(err, "%s refused: needs CAP_SYS_ADMIN in the initial user namespace",
				 what);
	case ENOTTY:
		return dp_seterr(err, "%s: the loaded module does not know this call (ABI mismatch?)",
				 what);
	default:
		return dp_seterr(err, "%s", what);
	}
}

int dp_open(struct dp_dev *dev)
{
	dev->fd = open(DSTACK_POD_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev->fd < 0) {
		int err = errno;

		if (err == ENOENT)
			return dp_seterr(err, "%s missing: load the module (modprobe dstack_pod, or backend=sim with dstack_pod_sim for development)",
					 DSTACK_POD_DEVICE);
		return dp_seterr(err, "open %s", DSTACK_POD_DEVICE);
	}
	return 0;
}

void dp_close(struct dp_dev *dev)
{
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

int dp_version(struct dp_dev *dev, struct dstack_pod_version *v)
{
	memset(v, 0, sizeof(*v));
	if (ioctl(dev->fd, DSTACK_POD_IOC_VERSION, v) < 0)
		return dp_ioctl_err(dev, "version query");
	return 0;
}

int dp_extend(struct dp_dev *dev, const char *name, const void *payload,
	      size_t len, uint8_t digest[DSTACK_POD_DIGEST_LEN],
	      uint32_t *index)
{
	struct dstack_pod_extend arg;
	size_t nlen = strlen(name);

	memset(&arg, 0, sizeof(arg));
	if (nlen == 0 || nlen > DSTACK_POD_EVENT_NAME_MAX)
		return dp_seterr(EINVAL, "event name must be 1..%d bytes",
				 DSTACK_POD_EVENT_NAME_MAX);
	if (len > DSTACK_POD_EVENT_PAYLOAD_MAX)
		return dp_seterr(E2BIG, "payload of %zu bytes is over the %d-byte limit",
				 len, DSTACK_POD_EVENT_PAYLOAD_MAX);
	memcpy(arg.name, name, nlen);
	arg.payload = (uintptr_t)payload;
	arg.payload_len = (uint32_t)len;
	if (ioctl(dev->fd, DSTACK_POD_IOC_EXTEND, &arg) < 0) {
		if (errno == EINVAL)
			return dp_seterr(EINVAL, "extend: event name must be printable ASCII without spaces or ':', and not start with \"dstack-pod.\"");
		if (errno == ENOSPC)
			return dp_seterr(ENOSPC, "extend: the event log is full (see max_events)");
		return dp_ioctl_err(dev, "extend");
	}
	if (digest)
		memcpy(digest, arg.digest, sizeof(arg.digest));
	if (index)
		*index = arg.index;
	return 0;
}

int dp_node_report(struct dp_dev *dev,
		   const uint8_t report_data[DSTACK_POD_REPORTDATA_LEN],
		   uint8_t tdreport[DSTACK_POD_TDREPORT_LEN])
{
	struct dstack_pod_report arg;

	memset(&arg, 0, sizeof(arg));
	memcpy(arg.report_data, report_data, sizeof(arg.report_data));
	if (ioctl(dev->fd, DSTACK_POD_IOC_NODE_REPORT, &arg) < 0)
		return dp_ioctl_err(dev, "node report");
	memcpy(tdreport, arg.tdreport, sizeof(arg.tdreport));
	return 0;
}

int dp_fuse(struct dp_dev *dev, const char *binder_cgroup,
	    uint8_t digest[DSTACK_POD_DIGEST_LEN], uint32_t *index)
{
	struct dstack_pod_fuse arg;
	int ret = 0, cfd = -1;

	memset(&arg, 0, sizeof(arg));
	if (binder_cgroup) {
		cfd = open(binder_cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0)
			return dp_seterr(errno, "binder cgroup %s", binder_cgroup);
	}
	arg.binder_cgroup_fd = cfd;
	if (ioctl(dev->fd, DSTACK_POD_IOC_FUSE, &arg) < 0) {
		if (errno == EALREADY)
			ret = dp_seterr(EALREADY, "fuse: the node is already in secure mode");
		else if (errno == EBADF)
			ret = dp_seterr(EBADF, "fuse: %s is not a cgroup v2 directory",
					binder_cgroup);
		else
			ret = dp_ioctl_err(dev, "fuse");
	} else {
		if (digest)
			memcpy(digest, arg.digest, sizeof(arg.digest));
		if (index)
			*index = arg.index;
	}
	if (cfd >= 0)
		close(cfd);
	return ret;
}

int dp_verify_report(struct dp_dev *dev,
		     const uint8_t reportmac[DSTACK_POD_REPORTMAC_LEN])
{
	struct dstack_pod_verify_report arg;

	memset(&arg, 0, sizeof(arg));
	memcpy(arg.reportmac, reportmac, sizeof(arg.reportmac));
	if (ioctl(dev->fd, DSTACK_POD_IOC_VERIFY_REPORT, &arg) < 0) {
		if (errno == EBADMSG)
			return dp_seterr(EBADMSG, "report MAC is not valid for this TD");
		return dp_ioctl_err(dev, "verify report");
	}
	return 0;
}

int dp_sysfs_read(const char *attr, char *buf, size_t size)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", DP_SYSFS_DIR, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dp_seterr(errno, "%s", path);
	n = read(fd, buf, size - 1);
	if (n < 0) {
		int err = errno;

		close(fd);
		return dp_seterr(err, "read %s", path);
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return (int)n;
}
