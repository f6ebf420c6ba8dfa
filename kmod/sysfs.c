// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod sysfs attributes on /sys/class/misc/dstack-pod/.
 * Documented in Documentation/ABI/testing/sysfs-class-misc-dstack-pod.
 */
#include <linux/capability.h>
#include <linux/device.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "dstack_pod.h"

static const char *dp_mode_name(int mode)
{
	return mode == DSTACK_POD_MODE_SECURE ? "secure" : "setup";
}

static ssize_t fuse_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", dp_mode_name(dp_mode()));
}

/* "secure" blows the fuse (no binder cgroup); nothing else is accepted. */
static ssize_t fuse_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t count)
{
	int err;

	if (!capable(CAP_SYS_ADMIN) || dp_mode() != DSTACK_POD_MODE_SETUP)
		return -EPERM;
	if (!sysfs_streq(buf, "secure"))
		return -EINVAL;
	err = dp_fuse_blow(-1, NULL);
	return err ? err : count;
}
static DEVICE_ATTR_RW(fuse);

static ssize_t backend_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", dp.backend->name);
}
static DEVICE_ATTR_RO(backend);

static ssize_t event_count_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", dp_log_count(&dp.log));
}
static DEVICE_ATTR_RO(event_count);

static ssize_t abi_version_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d.%d\n", DSTACK_POD_ABI_MAJOR,
			  DSTACK_POD_ABI_MINOR);
}
static DEVICE_ATTR_RO(abi_version);

/* RTMR3 as the hardware reports it now (it includes dstack's boot events). */
static ssize_t rtmr3_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	static const u8 zero[DSTACK_POD_REPORTDATA_LEN];
	u8 *rep;
	int err;

	rep = kmalloc(DSTACK_POD_TDREPORT_LEN, GFP_KERNEL);
	if (!rep)
		return -ENOMEM;
	err = dp_backend_report(zero, rep);
	if (!err)
		err = sysfs_emit(buf, "%*phN\n", DSTACK_POD_DIGEST_LEN,
				 rep + DP_REPORT_TDINFO_OFF +
				 DP_TDINFO_RTMR_OFF(DP_RTMR_RUNTIME));
	kfree(rep);
	return err;
}
static DEVICE_ATTR_RO(rtmr3);

static ssize_t pods_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%u\n", dp_pods_count());
}
static DEVICE_ATTR_RO(pods);

/* Pod structures not yet freed, RCU-pending ones included (leak checks). */
static ssize_t pod_objects_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", dp_pods_objects());
}
static DEVICE_ATTR_RO(pod_objects);

static struct attribute *dp_attrs[] = {
	&dev_attr_pods.attr,
	&dev_attr_pod_objects.attr,
	&dev_attr_fuse.attr,
	&dev_attr_backend.attr,
	&dev_attr_event_count.attr,
	&dev_attr_abi_version.attr,
	&dev_attr_rtmr3.attr,
	NULL,
};

static const struct attribute_group dp_attr_group = {
	.attrs = dp_attrs,
};

const struct attribute_group *dp_attr_groups[] = {
	&dp_attr_group,
	NULL,
};
