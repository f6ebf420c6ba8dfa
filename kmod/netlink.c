// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod generic netlink family: node status, resumable dumps of Pods
 * and event logs, and live notifications on the "events" group.  Admin
 * only: CAP_SYS_ADMIN in the initial user namespace, the privilege of every
 * other admin interface of the module.  Described in
 * Documentation/netlink/specs/dstack_pod.yaml.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/slab.h>
#include <net/genetlink.h>

#include "compat.h"
#include "dstack_pod.h"

static const struct nla_policy dp_nl_event_get_policy[DSTACK_POD_A_POD_UID + 1] = {
	[DSTACK_POD_A_POD_UID] = NLA_POLICY_EXACT_LEN(DSTACK_POD_UID_LEN),
};

/*
 * The commands that take no attribute say so with a policy of their own
 * that rejects every attribute up to the family's maxattr.  Left without
 * one, they inherit the family's maxattr and genetlink's stand-in policy;
 * 7.2 then validated an attribute of type 17 against that two-entry
 * policy ("kernel BUG at lib/nlattr.c:411", the netlink VM suite).
 */
static const struct nla_policy dp_nl_noattr_policy[DSTACK_POD_A_MAX + 1] = {
	[0 ... DSTACK_POD_A_MAX] = { .type = NLA_REJECT },
};

static struct genl_family dp_nl_family;
static bool dp_nl_registered;

/*
 * Every command needs CAP_SYS_ADMIN, not GENL_ADMIN_PERM (CAP_NET_ADMIN):
 * network agents that hold only CAP_NET_ADMIN (CNI plugins, kube-proxy in
 * hostNetwork Pods) must not read other Pods' identities or logs.
 * netlink_capable() checks both the socket's opener and the caller.
 */
static bool dp_nl_allowed(const struct sk_buff *skb)
{
	return netlink_capable(skb, CAP_SYS_ADMIN);
}

/* Dumps: checked once, when the dump starts. */
static int dp_nl_dump_start(struct netlink_callback *cb)
{
	if (dp_nl_allowed(cb->skb))
		return 0;
	NL_SET_ERR_MSG(cb->extack, "needs CAP_SYS_ADMIN");
	return -EPERM;
}

void *dp_nl_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd)
{
	return genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			   &dp_nl_family, NLM_F_MULTI, cmd);
}

int dp_nl_fill_event(struct sk_buff *skb, const struct dp_event *ev)
{
	if (nla_put_u32(skb, DSTACK_POD_A_EVENT_INDEX, ev->index) ||
	    nla_put_string(skb, DSTACK_POD_A_EVENT_NAME, ev->name) ||
	    nla_put(skb, DSTACK_POD_A_EVENT_DIGEST, sizeof(ev->digest),
		    ev->digest) ||
	    nla_put(skb, DSTACK_POD_A_EVENT_PAYLOAD, ev->payload_len,
		    ev->payload))
		return -EMSGSIZE;
	return 0;
}

/* Dump events [cb->args[0], count) of @log; resumable. */
int dp_nl_dump_log(struct sk_buff *skb, struct netlink_callback *cb,
		   struct dp_log *log)
{
	u32 i, count = dp_log_count(log);
	void *hdr;

	for (i = cb->args[0]; i < count; i++) {
		hdr = dp_nl_put(skb, cb, DSTACK_POD_CMD_EVENT_GET);
		if (!hdr)
			break;
		if (dp_nl_fill_event(skb, xa_load(&log->events, i))) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	cb->args[0] = i;
	/* Not even one event fits the reader's buffer: say so. */
	if (i < count && !skb->len)
		return -EMSGSIZE;
	return skb->len;
}

/* Who blew the fuse, and the binder; nothing in setup mode.  dp.lock held. */
static int dp_nl_fill_fuse(struct sk_buff *msg, char *path)
{
	lockdep_assert_held(&dp.lock);
	if (dp.mode != DSTACK_POD_MODE_SECURE)
		return 0;
	if (nla_put_u64_64bit(msg, DSTACK_POD_A_FUSE_TIME, dp.fuse_time,
			      DSTACK_POD_A_PAD) ||
	    nla_put_u32(msg, DSTACK_POD_A_FUSE_PID, dp.fuse_pid) ||
	    nla_put_u32(msg, DSTACK_POD_A_FUSE_UID, dp.fuse_uid) ||
	    nla_put_string(msg, DSTACK_POD_A_FUSE_COMM, dp.fuse_comm))
		return -EMSGSIZE;
	if (dp.binder &&
	    (cgroup_path(dp.binder, path, DSTACK_POD_CGROUP_PATH_MAX) < 0 ||
	     nla_put_string(msg, DSTACK_POD_A_BINDER_PATH, path)))
		return -EMSGSIZE;
	return 0;
}

static int dp_nl_status_fill(struct sk_buff *msg, char *path)
{
	u8 rep_zero[DSTACK_POD_REPORTDATA_LEN] = { 0 };
	u8 *rep;
	int err;

	rep = kmalloc(DSTACK_POD_TDREPORT_LEN, GFP_KERNEL);
	if (!rep)
		return -ENOMEM;
	err = dp_backend_report(rep_zero, rep);
	if (err)
		goto out;
	err = -EMSGSIZE;
	if (nla_put_u32(msg, DSTACK_POD_A_ABI_MAJOR, DSTACK_POD_ABI_MAJOR) ||
	    nla_put_u32(msg, DSTACK_POD_A_ABI_MINOR, DSTACK_POD_ABI_MINOR) ||
	    nla_put_string(msg, DSTACK_POD_A_BACKEND, dp.backend->name) ||
	    nla_put(msg, DSTACK_POD_A_RTMR3, DSTACK_POD_DIGEST_LEN,
		    rep + DP_REPORT_TDINFO_OFF +
		    DP_TDINFO_RTMR_OFF(DP_RTMR_RUNTIME)) ||
	    nla_put_u32(msg, DSTACK_POD_A_POD_COUNT, dp_pods_count()) ||
	    nla_put_u32(msg, DSTACK_POD_A_MAX_PODS, dp_pods_max()))
		goto out;

	mutex_lock(&dp.lock);
	if (nla_put_u32(msg, DSTACK_POD_A_MODE, dp.mode) ||
	    nla_put_u32(msg, DSTACK_POD_A_EVENT_COUNT, dp.log.count) ||
	    nla_put_u32(msg, DSTACK_POD_A_MAX_EVENTS, dp.log.max) ||
	    dp_nl_fill_fuse(msg, path))
		goto unlock;
	err = 0;
unlock:
	mutex_unlock(&dp.lock);
out:
	kfree(rep);
	return err;
}

static int dp_nl_status_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	char *path;
	void *hdr;
	int err = -ENOMEM;

	if (!dp_nl_allowed(skb)) {
		GENL_SET_ERR_MSG(info, "needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	path = kmalloc(DSTACK_POD_CGROUP_PATH_MAX, GFP_KERNEL);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!path || !msg)
		goto err;
	hdr = genlmsg_put_reply(msg, info, &dp_nl_family, 0,
				DSTACK_POD_CMD_STATUS_GET);
	err = -EMSGSIZE;
	if (!hdr)
		goto err;
	err = dp_nl_status_fill(msg, path);
	if (err)
		goto err;
	kfree(path);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err:
	kfree(path);
	nlmsg_free(msg);
	return err;
}

static int dp_nl_event_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr *uid = dp_genl_dump_attrs(cb)[DSTACK_POD_A_POD_UID];

	if (uid)
		return dp_pods_dump_log(skb, cb, nla_data(uid));
	return dp_nl_dump_log(skb, cb, &dp.log);
}

static const struct genl_ops dp_nl_ops[] = {
	{
		.cmd = DSTACK_POD_CMD_STATUS_GET,
		.doit = dp_nl_status_get,
		.policy = dp_nl_noattr_policy,
		.maxattr = DSTACK_POD_A_MAX,
	},
	{
		.cmd = DSTACK_POD_CMD_POD_GET,
		.start = dp_nl_dump_start,
		.dumpit = dp_pods_dump,
		.policy = dp_nl_noattr_policy,
		.maxattr = DSTACK_POD_A_MAX,
	},
	{
		.cmd = DSTACK_POD_CMD_EVENT_GET,
		.start = dp_nl_dump_start,
		.dumpit = dp_nl_event_dump,
		.policy = dp_nl_event_get_policy,
		.maxattr = DSTACK_POD_A_POD_UID,
	},
};

static const struct genl_multicast_group dp_nl_mcgrps[] = {
	{ .name = DSTACK_POD_GENL_MCGRP_EVENTS, .flags = DP_GENL_MCAST_ADMIN },
};

static struct genl_family dp_nl_family __ro_after_init = {
	.name = DSTACK_POD_GENL_NAME,
	.version = DSTACK_POD_GENL_VERSION,
	.maxattr = DSTACK_POD_A_MAX,
	.module = THIS_MODULE,
	.ops = dp_nl_ops,
	.n_ops = ARRAY_SIZE(dp_nl_ops),
	.mcgrps = dp_nl_mcgrps,
	/* No group where the kernel cannot keep it for admins (compat.h). */
	.n_mcgrps = DP_HAVE_ADMIN_MCAST ? ARRAY_SIZE(dp_nl_mcgrps) : 0,
};

/**
 * dp_nl_notify_new() - start a notification, if anyone listens
 * @kind: enum dstack_pod_notify
 * @extra: room needed beyond the fixed attributes (payload, path)
 * @hdr: receives the message header for dp_nl_notify_send()
 *
 * Return: the message to fill, or NULL (no listener, or no memory: the
 * state change itself never fails because of a notification).
 */
struct sk_buff *dp_nl_notify_new(u32 kind, size_t extra, void **hdr)
{
	struct sk_buff *msg;

	if (!DP_HAVE_ADMIN_MCAST || !READ_ONCE(dp_nl_registered) ||
	    !genl_has_listeners(&dp_nl_family, &init_net, 0))
		return NULL;
	msg = genlmsg_new(NLMSG_GOODSIZE + extra, GFP_KERNEL);
	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &dp_nl_family, 0, DSTACK_POD_CMD_NOTIFY);
	if (!*hdr || nla_put_u32(msg, DSTACK_POD_A_NOTIFY_KIND, kind)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* Send what dp_nl_notify_new() started; @fill_err drops it instead. */
void dp_nl_notify_send(struct sk_buff *msg, void *hdr, int fill_err)
{
	if (!msg)
		return;
	if (fill_err) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&dp_nl_family, msg, 0, 0, GFP_KERNEL);
}

/* An RTMR3 event was measured (extend), or the fuse blown; dp.lock held. */
void dp_nl_notify_event(u32 kind, const struct dp_event *ev)
{
	void *hdr;
	struct sk_buff *msg = dp_nl_notify_new(kind, ev->payload_len +
					       DSTACK_POD_CGROUP_PATH_MAX, &hdr);
	char *path;
	int err;

	if (!msg)
		return;
	err = dp_nl_fill_event(msg, ev);
	if (!err && kind == DSTACK_POD_NOTIFY_FUSE) {
		path = kmalloc(DSTACK_POD_CGROUP_PATH_MAX, GFP_KERNEL);
		err = path ? dp_nl_fill_fuse(msg, path) : -ENOMEM;
		kfree(path);
	}
	dp_nl_notify_send(msg, hdr, err);
}

int dp_nl_init(void)
{
	int err = genl_register_family(&dp_nl_family);

	if (!err)
		WRITE_ONCE(dp_nl_registered, true);
	return err;
}

void dp_nl_exit(void)
{
	WRITE_ONCE(dp_nl_registered, false);
	genl_unregister_family(&dp_nl_family);
}
