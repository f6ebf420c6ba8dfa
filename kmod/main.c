// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod: per-Pod remote attestation inside one Intel TDX CVM.
 *
 * This file owns the device, the ioctl entry points, the backend choice and
 * the privilege fuse.  See Documentation/design.rst.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "dstack_pod.h"

#define DP_BUSY_RETRIES		16

struct dp_state dp = {
	.lock = __MUTEX_INITIALIZER(dp.lock),
	.mode = DSTACK_POD_MODE_SETUP,
};

static char *backend = "auto";
module_param(backend, charp, 0444);
MODULE_PARM_DESC(backend,
		 "auto (tdx inside a TD), tdx, or sim (needs dstack_pod_sim; development only)");

static unsigned int max_events = DP_MAX_EVENTS_DEFAULT;

/* Writable in setup mode only: the fuse makes every parameter read-only. */
static int dp_max_events_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int err;

	/* Once loaded, the same privilege as the ioctls (mode 0644 is not). */
	if (dp.backend && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	err = kstrtouint(val, 0, &v);
	if (err)
		return err;
	if (v < DP_MAX_EVENTS_MIN || v > DP_MAX_EVENTS_LIMIT)
		return -EINVAL;

	mutex_lock(&dp.lock);
	if (dp.mode != DSTACK_POD_MODE_SETUP) {
		err = -EPERM;
	} else if (v < dp.log.count + 1) {
		err = -EBUSY;
	} else {
		*(unsigned int *)kp->arg = v;
		dp.log.max = v;
	}
	mutex_unlock(&dp.lock);
	if (!err && dp.backend)
		pr_info("max_events set to %u\n", v);
	return err;
}

static const struct kernel_param_ops dp_max_events_ops = {
	.set = dp_max_events_set,
	.get = param_get_uint,
};
module_param_cb(max_events, &dp_max_events_ops, &max_events, 0644);
MODULE_PARM_DESC(max_events,
		 "capacity of the RTMR3 event log, fuse event included (8..65536; setup mode only)");

/* Backend calls, with the TDCALL buffer rules and a bounded -EBUSY retry. */
static bool dp_again(int err, int *tries)
{
	if (err != -EBUSY || ++*tries > DP_BUSY_RETRIES)
		return false;
	usleep_range(50, 200);
	return true;
}

int dp_backend_extend_cb(void *unused, const u8 *digest)
{
	u8 *buf;
	int err, tries = 0;

	buf = kzalloc(64, GFP_KERNEL);		/* 64-byte aligned */
	if (!buf)
		return -ENOMEM;
	memcpy(buf, digest, DSTACK_POD_DIGEST_LEN);
	do {
		err = dp.backend->extend_rtmr(DP_RTMR_RUNTIME, buf);
	} while (dp_again(err, &tries));
	kfree(buf);
	return err;
}

int dp_backend_report(const u8 *reportdata, u8 *tdreport)
{
	u8 *rd, *rep;
	int err = -ENOMEM, tries = 0;

	rd = kmalloc(DSTACK_POD_REPORTDATA_LEN, GFP_KERNEL_ACCOUNT);	/* 64-aligned */
	rep = kmalloc(DSTACK_POD_TDREPORT_LEN, GFP_KERNEL_ACCOUNT);	/* 1024-aligned */
	if (!rd || !rep)
		goto out;
	memcpy(rd, reportdata, DSTACK_POD_REPORTDATA_LEN);
	do {
		err = dp.backend->get_report(rd, rep);
	} while (dp_again(err, &tries));
	if (!err)
		memcpy(tdreport, rep, DSTACK_POD_TDREPORT_LEN);
out:
	kfree(rep);
	kfree(rd);
	return err;
}

static int dp_backend_verify(const u8 *reportmac)
{
	u8 *buf;
	int err, tries = 0;

	buf = kmalloc(DSTACK_POD_REPORTMAC_LEN, GFP_KERNEL_ACCOUNT);	/* 256-aligned */
	if (!buf)
		return -ENOMEM;
	memcpy(buf, reportmac, DSTACK_POD_REPORTMAC_LEN);
	do {
		err = dp.backend->verify_report(buf);
	} while (dp_again(err, &tries));
	kfree(buf);
	return err;
}

/*
 * Names: 1..64 bytes of 0x21..0x7e except ':', NUL-terminated, zero-padded.
 * The "dstack-pod." prefix belongs to the module's own events: a forged
 * dstack-pod.fuse would otherwise pass for a real fuse.
 */
int dp_check_event_name(const char *name, size_t size)
{
	size_t len = strnlen(name, size), i;

	if (len == size || !len || len > DSTACK_POD_EVENT_NAME_MAX)
		return -EINVAL;
	if (!strncmp(name, DSTACK_POD_EVENT_PREFIX,
		     sizeof(DSTACK_POD_EVENT_PREFIX) - 1))
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (name[i] < 0x21 || name[i] > 0x7e || name[i] == ':')
			return -EINVAL;
	if (memchr_inv(name + len, 0, size - len))
		return -EINVAL;
	return 0;
}

static long dp_ioctl_version(void __user *argp)
{
	struct dstack_pod_version v = {
		.abi_major = DSTACK_POD_ABI_MAJOR,
		.abi_minor = DSTACK_POD_ABI_MINOR,
		.backend = dp.backend->id,
		.mode = dp_mode(),
		.event_count = dp_log_count(&dp.log),
		.max_events = READ_ONCE(dp.log.max),
	};

	return copy_to_user(argp, &v, sizeof(v)) ? -EFAULT : 0;
}

/**
 * dp_event_from_user() - a measured event from an EXTEND-style request
 * @name: the request's name array (DSTACK_POD_EVENT_NAME_SIZE bytes)
 * @payload: user pointer to the payload
 * @len: payload length
 *
 * Checks the name and the length, copies the payload and computes the
 * digest.  Nothing is measured yet.
 *
 * Return: the event, or an ERR_PTR: -EINVAL, -E2BIG, -EFAULT or -ENOMEM.
 */
struct dp_event *dp_event_from_user(const char *name, u64 payload, u32 len)
{
	struct dp_event *ev;
	int err;

	err = dp_check_event_name(name, DSTACK_POD_EVENT_NAME_SIZE);
	if (err)
		return ERR_PTR(err);
	if (len > DSTACK_POD_EVENT_PAYLOAD_MAX)
		return ERR_PTR(-E2BIG);
	ev = dp_event_alloc(name, len);
	if (!ev)
		return ERR_PTR(-ENOMEM);
	err = -EFAULT;
	if (!copy_from_user(ev->payload, u64_to_user_ptr(payload), len))
		err = dp_event_digest(ev);
	if (err) {
		kfree(ev);
		return ERR_PTR(err);
	}
	return ev;
}

static long dp_ioctl_extend(void __user *argp)
{
	struct dstack_pod_extend arg;
	struct dp_event *ev;
	long err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	if (dp_mode() != DSTACK_POD_MODE_SETUP)
		return -EPERM;
	/* Probe the output now: after the extend nothing may fail. */
	if (copy_to_user(argp, &arg, sizeof(arg)))
		return -EFAULT;
	ev = dp_event_from_user(arg.name, arg.payload, arg.payload_len);
	if (IS_ERR(ev))
		return PTR_ERR(ev);

	mutex_lock(&dp.lock);
	if (dp.mode != DSTACK_POD_MODE_SETUP)
		err = -EPERM;
	else
		err = dp_rtmr3_append(ev, false);
	if (!err)
		dp_nl_notify_event(DSTACK_POD_NOTIFY_EXTEND, ev);
	mutex_unlock(&dp.lock);
	if (err) {
		kfree(ev);
		return err;
	}

	pr_info("measured event #%u %s (%u bytes) into RTMR3, pid %d\n",
		ev->index, ev->name, ev->payload_len, task_pid_nr(current));
	memcpy(arg.digest, ev->digest, sizeof(arg.digest));
	arg.index = ev->index;
	return copy_to_user(argp, &arg, sizeof(arg)) ? -EFAULT : 0;
}

static long dp_ioctl_node_report(void __user *argp)
{
	struct dstack_pod_report *arg;
	long err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	arg = kmalloc(sizeof(*arg), GFP_KERNEL_ACCOUNT);
	if (!arg)
		return -ENOMEM;
	err = -EFAULT;
	if (copy_from_user(arg, argp, sizeof(*arg)))
		goto out;
	err = -EINVAL;
	if (memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		goto out;

	/* Under the lock, so no node report can ever see the fuse event. */
	mutex_lock(&dp.lock);
	if (dp.mode != DSTACK_POD_MODE_SETUP)
		err = -EPERM;
	else
		err = dp_backend_report(arg->report_data, arg->tdreport);
	mutex_unlock(&dp.lock);
	if (!err && copy_to_user(argp, arg, sizeof(*arg)))
		err = -EFAULT;
out:
	kfree(arg);
	return err;
}

static long dp_ioctl_fuse(void __user *argp)
{
	struct dstack_pod_fuse arg;
	int err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved2 ||
	    memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	if (arg.binder_cgroup_fd < -1)
		return -EBADF;
	/* Probe the output now: after the fuse nothing may fail. */
	if (copy_to_user(argp, &arg, sizeof(arg)))
		return -EFAULT;
	err = dp_fuse_blow(arg.binder_cgroup_fd, &arg);
	if (err)
		return err;
	return copy_to_user(argp, &arg, sizeof(arg)) ? -EFAULT : 0;
}

static long dp_ioctl_verify_report(void __user *argp)
{
	struct dstack_pod_verify_report *arg;
	long err;

	arg = kmalloc(sizeof(*arg), GFP_KERNEL_ACCOUNT);
	if (!arg)
		return -ENOMEM;
	err = -EFAULT;
	if (copy_from_user(arg, argp, sizeof(*arg)))
		goto out;
	err = -EINVAL;
	if (memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		goto out;
	err = dp_backend_verify(arg->reportmac);
out:
	kfree(arg);
	return err;
}

#define DP_IOC_NR_LAST	_IOC_NR(DSTACK_POD_IOC_ATTEST_PEER)

static long dp_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case DSTACK_POD_IOC_VERSION:
		return dp_ioctl_version(argp);
	case DSTACK_POD_IOC_EXTEND:
		return dp_ioctl_extend(argp);
	case DSTACK_POD_IOC_NODE_REPORT:
		return dp_ioctl_node_report(argp);
	case DSTACK_POD_IOC_FUSE:
		return dp_ioctl_fuse(argp);
	case DSTACK_POD_IOC_VERIFY_REPORT:
		return dp_ioctl_verify_report(argp);
	case DSTACK_POD_IOC_BIND:
		return dp_ioctl_bind(argp);
	case DSTACK_POD_IOC_UNBIND:
		return dp_ioctl_unbind(argp);
	case DSTACK_POD_IOC_POD_EXTEND:
		return dp_ioctl_pod_extend(argp);
	case DSTACK_POD_IOC_ATTEST:
		return dp_ioctl_attest(argp);
	case DSTACK_POD_IOC_ATTEST_PID:
		return dp_ioctl_attest_pid(argp);
	case DSTACK_POD_IOC_POD_LOG:
		return dp_ioctl_pod_log(argp);
	case DSTACK_POD_IOC_ATTEST_PEER:
		return dp_ioctl_attest_peer(argp);
	}
	/* One of ours with the wrong size or direction: a malformed call. */
	if (_IOC_TYPE(cmd) == DSTACK_POD_IOC_MAGIC &&
	    _IOC_NR(cmd) <= DP_IOC_NR_LAST)
		return -EINVAL;
	return -ENOTTY;
}

/**
 * dp_fuse_blow() - move the node from setup to secure mode, for good
 * @binder_fd: cgroup v2 directory fd of the binder subtree, or -1
 * @out: if not NULL, receives the fuse event's digest and index
 *
 * The one place that changes dp.mode.  Under dp.lock it measures the
 * dstack-pod.fuse event into RTMR3, logs it, then flips the mode; if the
 * extend fails nothing changes.  Afterwards RTMR3 is sealed: no extend, no
 * node report, no parameter change, and the module cannot be unloaded.
 *
 * Return: 0, -EALREADY when already secure, or a negative errno.
 */
int dp_fuse_blow(int binder_fd, struct dstack_pod_fuse *out)
{
	struct dstack_pod_fuse_payload *hdr;
	struct cgroup *cgrp = NULL;
	struct dp_event *ev = NULL;
	char *path = NULL;
	u32 path_len = 0, count;
	int err;

	if (binder_fd >= 0) {
		cgrp = cgroup_get_from_fd(binder_fd);
		if (IS_ERR(cgrp))
			return PTR_ERR(cgrp);
		path = kmalloc(DSTACK_POD_CGROUP_PATH_MAX, GFP_KERNEL);
		if (!path) {
			err = -ENOMEM;
			goto out;
		}
		err = cgroup_path(cgrp, path, DSTACK_POD_CGROUP_PATH_MAX);
		if (err < 0)
			goto out;
		/* The whole payload must stay within the event payload limit. */
		if (err > DSTACK_POD_EVENT_PAYLOAD_MAX - (int)sizeof(*hdr)) {
			err = -ENAMETOOLONG;
			goto out;
		}
		path_len = err;
	}

	ev = dp_event_alloc(DSTACK_POD_EVENT_FUSE, sizeof(*hdr) + path_len);
	if (!ev) {
		err = -ENOMEM;
		goto out;
	}
	hdr = (struct dstack_pod_fuse_payload *)ev->payload;
	memcpy(hdr->magic, DSTACK_POD_FUSE_MAGIC, sizeof(hdr->magic));
	hdr->version = cpu_to_le32(DSTACK_POD_FUSE_VERSION);
	hdr->binder_cgroup_id = cpu_to_le64(cgrp ? cgroup_id(cgrp) : 0);
	hdr->path_len = cpu_to_le32(path_len);
	if (path_len)
		memcpy(ev->payload + sizeof(*hdr), path, path_len);

	/* dp_pods' lock too: binds see the mode and the binder change at once. */
	mutex_lock(&dp.lock);
	dp_pods_lock();
	if (dp.mode != DSTACK_POD_MODE_SETUP) {
		err = -EALREADY;
		goto unlock;
	}
	if (cgrp) {
		err = dp_pods_check_binder(cgrp);
		if (err)
			goto unlock;
	}
	count = dp.log.count;
	hdr->event_count = cpu_to_le32(count);
	hdr->pod_count = cpu_to_le32(dp_pods_count());
	hdr->last_generation = cpu_to_le64(dp_pods_generation());
	err = dp_log_events_digest(&dp.log, count, hdr->events_digest);
	if (!err)
		err = dp_event_digest(ev);
	if (!err)
		err = dp_rtmr3_append(ev, true);
	if (err)
		goto unlock;

	dp.binder = cgrp;
	dp.fuse_time = ktime_get_real_seconds();
	dp.fuse_pid = task_pid_nr(current);
	dp.fuse_uid = from_kuid(&init_user_ns, current_uid());
	get_task_comm(dp.fuse_comm, current);
	__module_get(THIS_MODULE);		/* never unloaded again */
	/* Everything above is visible before the mode; pairs with dp_mode(). */
	smp_store_release(&dp.mode, DSTACK_POD_MODE_SECURE);
	if (out) {
		memcpy(out->digest, ev->digest, sizeof(out->digest));
		out->index = ev->index;
	}
	dp_nl_notify_event(DSTACK_POD_NOTIFY_FUSE, ev);
	dp_pods_unlock();
	mutex_unlock(&dp.lock);

	pr_notice("privilege fuse blown by pid %d (%s) uid %u: secure mode, RTMR3 sealed at event #%u, binder cgroup %s\n",
		  dp.fuse_pid, dp.fuse_comm, dp.fuse_uid, ev->index,
		  path_len ? path : "(none)");
	kfree(path);
	return 0;

unlock:
	dp_pods_unlock();
	mutex_unlock(&dp.lock);
out:
	kfree(ev);
	kfree(path);
	if (!IS_ERR_OR_NULL(cgrp))
		cgroup_put(cgrp);
	return err;
}

/* The first event of every load, so that a reload after the fuse shows. */
static int dp_measure_init(void)
{
	char payload[64];
	struct dp_event *ev;
	int len, err;

	len = scnprintf(payload, sizeof(payload), "abi=%d.%d backend=%s",
			DSTACK_POD_ABI_MAJOR, DSTACK_POD_ABI_MINOR,
			dp.backend->name);
	ev = dp_event_alloc(DSTACK_POD_EVENT_INIT, len);
	if (!ev)
		return -ENOMEM;
	memcpy(ev->payload, payload, len);
	err = dp_event_digest(ev);
	if (!err) {
		mutex_lock(&dp.lock);
		err = dp_rtmr3_append(ev, false);
		mutex_unlock(&dp.lock);
	}
	if (err)
		kfree(ev);
	return err;
}

static int dp_backend_select(void)
{
	if (!strcmp(backend, "sim")) {
		dp.backend = symbol_get(dstack_pod_sim_backend);
		if (!dp.backend && !request_module("dstack_pod_sim"))
			dp.backend = symbol_get(dstack_pod_sim_backend);
		if (!dp.backend) {
			pr_err("backend=sim needs the dstack_pod_sim module\n");
			return -ENODEV;
		}
		pr_warn("using the SIMULATED TDX backend: development only\n");
		return 0;
	}
	if (strcmp(backend, "tdx") && strcmp(backend, "auto")) {
		pr_err("backend=%s: expected auto, tdx or sim\n", backend);
		return -EINVAL;
	}
	if (!dp_tdx_available()) {
		pr_err("not running inside a TDX guest (backend=sim is for development)\n");
		return -ENODEV;
	}
	dp.backend = &dp_tdx_backend;
	return 0;
}

static void dp_backend_release(void)
{
	if (dp.backend && dp.backend->id == DSTACK_POD_BACKEND_SIM)
		symbol_put(dstack_pod_sim_backend);
	dp.backend = NULL;
}

static const struct file_operations dp_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = dp_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice dp_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "dstack-pod",		/* not KBUILD_MODNAME: keep the '-' */
	.fops = &dp_fops,
	.mode = 0666,			/* Pods attest; privileged calls check */
	.groups = dp_attr_groups,
};

static int __init dp_init(void)
{
	int err;

	err = dp_backend_select();
	if (err)
		return err;
	err = dp_crypto_init();
	if (err)
		goto err_backend;
	dp_log_init(&dp.log, max_events);
	err = dp_measure_init();
	if (err)
		goto err_log;
	err = dp_pods_init();
	if (err)
		goto err_log;
	err = dp_nl_init();
	if (err)
		goto err_pods;
	err = dp_securityfs_init();
	if (err)
		goto err_nl;
	err = misc_register(&dp_misc);
	if (err)
		goto err_securityfs;
	pr_info("loaded: abi %d.%d, backend %s, setup mode, max_events %u\n",
		DSTACK_POD_ABI_MAJOR, DSTACK_POD_ABI_MINOR, dp.backend->name,
		dp.log.max);
	return 0;

err_securityfs:
	dp_securityfs_exit();
err_nl:
	dp_nl_exit();
err_pods:
	dp_pods_exit();
err_log:
	dp_log_destroy(&dp.log);
	dp_crypto_exit();
err_backend:
	dp_backend_release();
	return err;
}

static void __exit dp_exit(void)
{
	misc_deregister(&dp_misc);
	dp_securityfs_exit();
	dp_nl_exit();
	dp_pods_exit();
	dp_log_destroy(&dp.log);
	if (dp.binder)
		cgroup_put(dp.binder);
	dp_crypto_exit();
	dp_backend_release();
	pr_info("unloaded\n");
}

module_init(dp_init);
module_exit(dp_exit);

MODULE_DESCRIPTION("dstack-pod: per-Pod TDX attestation with a privilege fuse");
MODULE_AUTHOR("dstack-pod developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DSTACK_POD_VERSION);
