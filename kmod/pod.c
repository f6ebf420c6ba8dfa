// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod Pod identities: cgroup bindings, per-Pod measurement, and
 * attestation derived from the caller's own cgroup.
 *
 * Writers (bind, unbind, pod extend, the reaper) hold dp_pods.lock.  Attest
 * takes no lock: under RCU it walks up from the caller's cgroup v2 to the
 * nearest bound ancestor (an rhashtable lookup per level), copies the Pod's
 * identity, which never changes after bind, and reads its PMR under a
 * seqcount.  A Pod is freed only after an RCU grace period, so an attest
 * racing an unbind sees the complete old identity or no Pod at all.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/hash.h>
#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/file.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/rhashtable.h>
#include <linux/sched/task.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "compat.h"
#include "dstack_pod.h"

/* Only for the probe's prototype: the tracepoint itself is not exported. */
#include <trace/events/cgroup.h>

/* Bounds POD_LOG's buffer and its RCU read section; callers page with start. */
#define DP_POD_LOG_CHUNK_MAX	(64 * 1024)

static unsigned int max_pods = 16384;
module_param(max_pods, uint, 0444);
MODULE_PARM_DESC(max_pods, "maximum number of bound Pods, 0..1000000; 0 refuses every bind (load time only)");

static unsigned int max_pod_events = 256;
module_param(max_pod_events, uint, 0444);
MODULE_PARM_DESC(max_pod_events, "capacity of each Pod's event log, 0..65536; 0 refuses every Pod extend (load time only)");

/*
 * SHA-512 works on 128-byte blocks.  The claims' first DP_CLAIMS_FIXED bytes
 * change only at bind and pod extend, which keep the hash state after them
 * (the midstate); an attest hashes only the last 72 bytes: one block.
 */
#define DP_CLAIMS_FIXED		offsetof(struct dstack_pod_claims, flags)

/**
 * struct dp_pod - one bound Pod
 * @by_cgroup: link in dp_pods.by_cgroup, keyed by @cgroup_id
 * @by_uid: link in dp_pods.by_uid, keyed by @tmpl.pod_uid
 * @node: link in dp_pods.list
 * @rcu: deferred free
 * @cgrp: the bound cgroup (reference held)
 * @cgroup_id: its id; ids are never reused, so a cgroup recreated at the
 *	same path is a different, unbound cgroup
 * @generation: bind generation
 * @flags: DP_POD_DEAD once the cgroup was removed (the reaper unbinds it)
 * @seq: guards @tmpl's PMR fields and @midstate for lock-free readers
 *	(a seqlock of its own: readers never wait for dp_pods.lock)
 * @attests: attestations served
 * @log: the Pod's event log; append-only, writers hold dp_pods.lock,
 *	POD_LOG reads it under RCU, so it is freed with the Pod
 * @free: frees the Pod and its log in process context after a grace period
 * @tmpl: the claims up to DP_CLAIMS_FIXED: identity, generation, cgroup id
 *	and the PMR (the Pod measurement register) with its event count
 * @midstate: SHA-512 state after the first DP_CLAIMS_FIXED bytes of @tmpl
 *
 * The identity in @tmpl is immutable after bind; its PMR fields and
 * @midstate change together under @seq.
 */
struct dp_pod {
	struct rhash_head by_cgroup;
	struct rhash_head by_uid;
	struct list_head node;
	struct rcu_work free;
	struct cgroup *cgrp;
	u64 cgroup_id;
	u64 generation;
	unsigned long flags;
	seqlock_t seq;
	atomic64_t attests;
	struct dp_log log;
	struct dstack_pod_claims tmpl;
	u8 midstate[];
};

/* Bits of dp_pod.flags. */
#define DP_POD_DEAD	0

static bool dp_pod_dead(const struct dp_pod *pod)
{
	return test_bit(DP_POD_DEAD, &pod->flags);
}

static const struct rhashtable_params dp_cgroup_params = {
	.key_len = sizeof(u64),
	.key_offset = offsetof(struct dp_pod, cgroup_id),
	.head_offset = offsetof(struct dp_pod, by_cgroup),
	.automatic_shrinking = true,
};

static const struct rhashtable_params dp_uid_params = {
	.key_len = DSTACK_POD_UID_LEN,
	.key_offset = offsetof(struct dp_pod, tmpl.pod_uid),
	.head_offset = offsetof(struct dp_pod, by_uid),
	.automatic_shrinking = true,
};

static struct {
	struct mutex lock;	/* every change to the bindings */
	struct rhashtable by_cgroup;
	struct rhashtable by_uid;
	struct list_head list;
	u32 count;
	u64 generation;
	atomic_t dead;
	struct work_struct reaper;
	struct workqueue_struct *free_wq;
	struct tracepoint *rmdir_tp;
	struct kmem_cache *cache;
} dp_pods = {
	.lock = __MUTEX_INITIALIZER(dp_pods.lock),
	.list = LIST_HEAD_INIT(dp_pods.list),
};

/* Pod structures alive, RCU-pending ones included: a leak check for tests. */
static atomic_t dp_pod_objects = ATOMIC_INIT(0);

void dp_pods_lock(void)
{
	mutex_lock(&dp_pods.lock);
}

void dp_pods_unlock(void)
{
	mutex_unlock(&dp_pods.lock);
}

u32 dp_pods_count(void)
{
	return READ_ONCE(dp_pods.count);
}

/* The last bind generation handed out; dp_pods.lock held. */
u64 dp_pods_generation(void)
{
	lockdep_assert_held(&dp_pods.lock);
	return dp_pods.generation;
}

u32 dp_pods_max(void)
{
	return max_pods;
}

/* The Pod's netlink attributes; dp_pods.lock held. */
static int dp_pod_fill(struct sk_buff *skb, const struct dp_pod *pod,
		       char *path)
{
	const struct dstack_pod_claims *c = &pod->tmpl;
	int n = cgroup_path(pod->cgrp, path, DSTACK_POD_CGROUP_PATH_MAX);

	/* A removed cgroup may have no path any more: leave it out. */
	if (n >= 0 && n < DSTACK_POD_CGROUP_PATH_MAX &&
	    nla_put_string(skb, DSTACK_POD_A_CGROUP_PATH, path))
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, DSTACK_POD_A_CGROUP_ID, pod->cgroup_id,
			      DSTACK_POD_A_PAD) ||
	    nla_put(skb, DSTACK_POD_A_POD_UID, sizeof(c->pod_uid), c->pod_uid) ||
	    nla_put_string(skb, DSTACK_POD_A_POD_NAMESPACE, c->pod_namespace) ||
	    nla_put_string(skb, DSTACK_POD_A_POD_NAME, c->pod_name) ||
	    nla_put_string(skb, DSTACK_POD_A_WORKLOAD_ID, c->workload_id) ||
	    nla_put(skb, DSTACK_POD_A_SPEC_HASH, sizeof(c->pod_spec_hash),
		    c->pod_spec_hash) ||
	    nla_put_u32(skb, DSTACK_POD_A_SPEC_SOURCE,
			le32_to_cpu(c->spec_source)) ||
	    nla_put(skb, DSTACK_POD_A_PMR, sizeof(c->pmr), c->pmr) ||
	    nla_put_u32(skb, DSTACK_POD_A_EVENT_COUNT,
			le32_to_cpu(c->pmr_events)) ||
	    nla_put_u64_64bit(skb, DSTACK_POD_A_GENERATION, pod->generation,
			      DSTACK_POD_A_PAD) ||
	    nla_put_u64_64bit(skb, DSTACK_POD_A_ATTEST_COUNT,
			      atomic64_read(&pod->attests), DSTACK_POD_A_PAD))
		return -EMSGSIZE;
	return 0;
}

/* Notify bind, unbind or pod extend (@ev may be NULL); dp_pods.lock held. */
static void dp_pod_notify(u32 kind, const struct dp_pod *pod,
			  const struct dp_event *ev)
{
	struct sk_buff *msg;
	char *path;
	void *hdr;
	int err;

	msg = dp_nl_notify_new(kind, DSTACK_POD_CGROUP_PATH_MAX +
			       (ev ? ev->payload_len : 0), &hdr);
	if (!msg)
		return;
	path = kmalloc(DSTACK_POD_CGROUP_PATH_MAX, GFP_KERNEL);
	err = path ? dp_pod_fill(msg, pod, path) : -ENOMEM;
	if (!err && ev)
		err = dp_nl_fill_event(msg, ev);
	kfree(path);
	dp_nl_notify_send(msg, hdr, err);
}

/* Netlink POD_GET dump, resumable: cb->args[0] is the last generation sent. */
int dp_pods_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct dp_pod *pod;
	char *path;
	void *hdr;

	path = kmalloc(DSTACK_POD_CGROUP_PATH_MAX, GFP_KERNEL);
	if (!path)
		return -ENOMEM;
	mutex_lock(&dp_pods.lock);
	list_for_each_entry(pod, &dp_pods.list, node) {
		/* The list is in bind order, so generations only grow. */
		if (pod->generation <= cb->args[0] || dp_pod_dead(pod))
			continue;
		hdr = dp_nl_put(skb, cb, DSTACK_POD_CMD_POD_GET);
		if (!hdr)
			break;
		if (dp_pod_fill(skb, pod, path)) {
			genlmsg_cancel(skb, hdr);
			/* Not even one fits: an error, not a silent end. */
			if (!skb->len) {
				mutex_unlock(&dp_pods.lock);
				kfree(path);
				return -EMSGSIZE;
			}
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = pod->generation;
	}
	mutex_unlock(&dp_pods.lock);
	kfree(path);
	return skb->len;
}

/*
 * Netlink EVENT_GET dump of one Pod's log.  cb->args[1] pins the binding
 * seen by the first part, so a rebind in between ends the dump.
 */
int dp_pods_dump_log(struct sk_buff *skb, struct netlink_callback *cb,
		     const u8 *uid)
{
	struct dp_pod *pod;
	int ret;

	mutex_lock(&dp_pods.lock);
	pod = rhashtable_lookup_fast(&dp_pods.by_uid, uid, dp_uid_params);
	/* A removed Pod not yet reaped is gone, as for UNBIND and POD_GET. */
	if (pod && dp_pod_dead(pod))
		pod = NULL;
	if (!pod || (cb->args[1] && cb->args[1] != pod->generation)) {
		/* A rebind between two parts ends the dump quietly. */
		ret = 0;
		if (!cb->args[1]) {
			NL_SET_ERR_MSG(cb->extack, "no bound Pod has this pod_uid");
			ret = -ENOENT;
		}
	} else {
		cb->args[1] = pod->generation;
		ret = dp_nl_dump_log(skb, cb, &pod->log);
	}
	mutex_unlock(&dp_pods.lock);
	return ret;
}

int dp_pods_objects(void)
{
	return atomic_read(&dp_pod_objects);
}

/* Canonical UUID: 8-4-4-4-12 lower-case hex digits, NUL-padded. */
static int dp_parse_uid(const char *s, size_t size, u8 *out)
{
	static const u8 si[DSTACK_POD_UID_LEN] = {
		0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34
	};
	size_t i;

	if (strnlen(s, size) != 36 || memchr_inv(s + 36, 0, size - 36))
		return -EINVAL;
	if (s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return -EINVAL;
	for (i = 0; i < 36; i++)
		if (i != 8 && i != 13 && i != 18 && i != 23 &&
		    !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -EINVAL;
	for (i = 0; i < DSTACK_POD_UID_LEN; i++)
		out[i] = hex_to_bin(s[si[i]]) << 4 | hex_to_bin(s[si[i] + 1]);
	return 0;
}

/* A NUL-terminated, zero-padded string of min..max bytes in [lo, 0x7e]. */
static int dp_check_str(const char *s, size_t size, size_t min, size_t max,
			char lo)
{
	size_t len = strnlen(s, size), i;

	if (len == size || len < min || len > max)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (s[i] < lo || s[i] > 0x7e)
			return -EINVAL;
	return memchr_inv(s + len, 0, size - len) ? -EINVAL : 0;
}

/* RCU read side: the nearest bound ancestor of @cgrp, itself included. */
static struct dp_pod *dp_pod_of_cgroup(struct cgroup *cgrp)
{
	struct dp_pod *pod;
	u64 id;

	for (; cgrp; cgrp = cgroup_parent(cgrp)) {
		id = cgroup_id(cgrp);
		pod = rhashtable_lookup(&dp_pods.by_cgroup, &id,
					dp_cgroup_params);
		if (pod && !dp_pod_dead(pod))
			return pod;
	}
	return NULL;
}

static void dp_pod_free_work(struct work_struct *work)
{
	struct dp_pod *pod = container_of(to_rcu_work(work), struct dp_pod,
					  free);

	dp_log_destroy(&pod->log);
	kmem_cache_free(dp_pods.cache, pod);
	atomic_dec(&dp_pod_objects);
}

static void dp_pod_remove(struct dp_pod *pod, const char *why)
{
	lockdep_assert_held(&dp_pods.lock);
	/* Dead from here on, so a late rmdir probe counts nothing. */
	if (test_and_set_bit(DP_POD_DEAD, &pod->flags))
		atomic_dec(&dp_pods.dead);
	rhashtable_remove_fast(&dp_pods.by_cgroup, &pod->by_cgroup,
			       dp_cgroup_params);
	rhashtable_remove_fast(&dp_pods.by_uid, &pod->by_uid, dp_uid_params);
	list_del(&pod->node);
	WRITE_ONCE(dp_pods.count, dp_pods.count - 1);
	dp_pod_notify(DSTACK_POD_NOTIFY_UNBIND, pod, NULL);
	pr_info("unbound pod %pUb (%s) from cgroup %llu, generation %llu: %s\n",
		pod->tmpl.pod_uid, pod->tmpl.workload_id, pod->cgroup_id,
		pod->generation, why);
	/*
	 * Attest and POD_LOG never touch the cgroup; the log, which POD_LOG
	 * reads under RCU, goes with the Pod after a grace period.  Not from
	 * the RCU callback itself: freeing the log takes its xarray's lock,
	 * which appends take with softirqs on (lockdep: inconsistent lock
	 * state), so a work item does it in process context.
	 */
	cgroup_put(pod->cgrp);
	INIT_RCU_WORK(&pod->free, dp_pod_free_work);
	queue_rcu_work(dp_pods.free_wq, &pod->free);
}

static void dp_pods_reap_locked(void)
{
	struct dp_pod *pod, *tmp;

	lockdep_assert_held(&dp_pods.lock);
	if (!atomic_read(&dp_pods.dead))
		return;
	list_for_each_entry_safe(pod, tmp, &dp_pods.list, node)
		if (dp_pod_dead(pod))
			dp_pod_remove(pod, "cgroup removed");
}

static void dp_pods_reaper(struct work_struct *work)
{
	mutex_lock(&dp_pods.lock);
	dp_pods_reap_locked();
	mutex_unlock(&dp_pods.lock);
}

/* dp_pods.dead counts Pods marked here and not yet removed. */
static void dp_pod_mark_dead(struct dp_pod *pod)
{
	if (!test_and_set_bit(DP_POD_DEAD, &pod->flags)) {
		atomic_inc(&dp_pods.dead);
		queue_work(system_wq, &dp_pods.reaper);
	}
}

/*
 * Tracepoint cgroup_rmdir: atomic context, so only mark and defer.  The
 * module finds the tracepoint by name (its struct is not exported) and
 * dp_pods_init() checks at build time that this probe has the prototype
 * the kernel's own header declares, so a change of the event cannot go
 * unnoticed.  Why a tracepoint: Documentation/design.rst, "Following
 * cgroup removal".
 */
static void dp_probe_rmdir(void *data, struct cgroup *cgrp, const char *path)
{
	u64 id = cgroup_id(cgrp);
	struct dp_pod *pod;

	rcu_read_lock();
	pod = rhashtable_lookup(&dp_pods.by_cgroup, &id, dp_cgroup_params);
	/* Ids are unique per hierarchy only: a v1 rmdir may share the id. */
	if (pod && pod->cgrp == cgrp)
		dp_pod_mark_dead(pod);
	rcu_read_unlock();
}

static void dp_find_rmdir_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "cgroup_rmdir"))
		*(struct tracepoint **)priv = tp;
}

/*
 * Binder operations: CAP_SYS_ADMIN; in secure mode, also from inside the
 * binder cgroup subtree recorded by the fuse.  dp_pods.lock held, which the
 * fuse also holds while it flips the mode, so the mode read here stays the
 * mode until the caller unlocks.  @mode, if not NULL, receives that mode:
 * whatever the caller states about the mode must be this value, the one
 * that authorised it, never a later read.
 */
static int dp_binder_allowed(int *mode)
{
	int m = dp_mode();
	bool inside;

	lockdep_assert_held(&dp_pods.lock);
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (mode)
		*mode = m;
	if (m != DSTACK_POD_MODE_SECURE)
		return 0;
	if (!dp.binder)
		return -EPERM;
	rcu_read_lock();
	inside = cgroup_is_descendant(task_dfl_cgroup(current), dp.binder);
	rcu_read_unlock();
	return inside ? 0 : -EPERM;
}

/* Pods may not contain, or sit inside, the binder subtree. */
static bool dp_overlaps(struct cgroup *a, struct cgroup *b)
{
	return cgroup_is_descendant(a, b) || cgroup_is_descendant(b, a);
}

/* Called by the fuse with dp_pods.lock held: may @binder be the binder? */
int dp_pods_check_binder(struct cgroup *binder)
{
	struct dp_pod *pod;

	lockdep_assert_held(&dp_pods.lock);
	list_for_each_entry(pod, &dp_pods.list, node)
		if (!dp_pod_dead(pod) && dp_overlaps(pod->cgrp, binder))
			return -EBUSY;
	return 0;
}

/* The binding rules, each with its own errno; dp_pods.lock held. */
static int dp_bind_check(struct cgroup *cgrp, const u8 *uid)
{
	struct cgroup_subsys_state *css;
	struct cgroup *c;
	int err = 0;
	u64 id;

	lockdep_assert_held(&dp_pods.lock);
	if (dp_mode() == DSTACK_POD_MODE_SECURE && dp.binder &&
	    dp_overlaps(cgrp, dp.binder))
		return -EPERM;

	rcu_read_lock();
	id = cgroup_id(cgrp);
	if (rhashtable_lookup(&dp_pods.by_cgroup, &id, dp_cgroup_params)) {
		err = -EEXIST;
		goto out;
	}
	for (c = cgroup_parent(cgrp); c; c = cgroup_parent(c)) {
		id = cgroup_id(c);
		if (rhashtable_lookup(&dp_pods.by_cgroup, &id,
				      dp_cgroup_params)) {
			err = -EBUSY;
			goto out;
		}
	}
	css_for_each_descendant_pre(css, &cgrp->self) {
		id = cgroup_id(css->cgroup);
		if (rhashtable_lookup(&dp_pods.by_cgroup, &id,
				      dp_cgroup_params)) {
			err = -EBUSY;
			goto out;
		}
	}
	if (rhashtable_lookup(&dp_pods.by_uid, uid, dp_uid_params))
		err = -ENOTUNIQ;
	else if (dp_pods.count >= max_pods)
		err = -ENOSPC;
out:
	rcu_read_unlock();
	return err;
}

static struct dp_pod *dp_pod_new(const struct dstack_pod_bind *arg)
{
	struct dstack_pod_claims *c;
	struct dp_pod *pod;

	pod = kmem_cache_zalloc(dp_pods.cache, GFP_KERNEL_ACCOUNT);
	if (!pod)
		return NULL;
	atomic_inc(&dp_pod_objects);
	c = &pod->tmpl;
	memcpy(c->magic, DSTACK_POD_CLAIMS_MAGIC, sizeof(c->magic));
	c->version = cpu_to_le32(DSTACK_POD_CLAIMS_VERSION);
	c->spec_source = cpu_to_le32(arg->spec_source);
	memcpy(c->pod_spec_hash, arg->pod_spec_hash, sizeof(c->pod_spec_hash));
	strscpy_pad(c->workload_id, arg->workload_id, sizeof(c->workload_id));
	strscpy_pad(c->pod_namespace, arg->pod_namespace,
		    sizeof(c->pod_namespace));
	strscpy_pad(c->pod_name, arg->pod_name, sizeof(c->pod_name));
	seqlock_init(&pod->seq);
	atomic64_set(&pod->attests, 0);
	dp_log_init(&pod->log, max_pod_events);
	return pod;
}

static void dp_pod_discard(struct dp_pod *pod)
{
	kmem_cache_free(dp_pods.cache, pod);
	atomic_dec(&dp_pod_objects);
}

/* BIND with the argument already copied in (@arg) from @argp. */
static long dp_bind(struct dstack_pod_bind *arg, void __user *argp)
{
	struct cgroup *cgrp;
	struct dp_pod *pod;
	long err;

	if (memchr_inv(arg->reserved, 0, sizeof(arg->reserved)) ||
	    arg->spec_source > DSTACK_POD_SPEC_APISERVER ||
	    dp_check_str(arg->workload_id, sizeof(arg->workload_id), 1,
			 DSTACK_POD_WORKLOAD_MAX, 0x20) ||
	    dp_check_str(arg->pod_namespace, sizeof(arg->pod_namespace), 0,
			 DSTACK_POD_NAMESPACE_MAX, 0x21) ||
	    dp_check_str(arg->pod_name, sizeof(arg->pod_name), 0,
			 DSTACK_POD_NAME_MAX, 0x21))
		return -EINVAL;
	pod = dp_pod_new(arg);
	if (!pod)
		return -ENOMEM;
	err = dp_parse_uid(arg->pod_uid, sizeof(arg->pod_uid),
			   pod->tmpl.pod_uid);
	if (err)
		goto out_free;
	/* Probe the output now: after the bind nothing may fail. */
	err = -EFAULT;
	if (copy_to_user(argp, arg, sizeof(*arg)))
		goto out_free;

	cgrp = cgroup_get_from_fd(arg->cgroup_fd);
	if (IS_ERR(cgrp)) {
		err = PTR_ERR(cgrp);
		goto out_free;
	}
	err = -EINVAL;
	if (!cgroup_parent(cgrp))		/* the root holds every task */
		goto out_put;
	pod->cgrp = cgrp;
	pod->cgroup_id = cgroup_id(cgrp);

	mutex_lock(&dp_pods.lock);
	err = dp_binder_allowed(NULL);
	if (err)
		goto out_unlock;
	dp_pods_reap_locked();
	err = dp_bind_check(cgrp, pod->tmpl.pod_uid);
	if (err)
		goto out_unlock;
	pod->generation = dp_pods.generation + 1;
	pod->tmpl.generation = cpu_to_le64(pod->generation);
	pod->tmpl.cgroup_id = cpu_to_le64(pod->cgroup_id);
	err = dp_sha512_midstate(&pod->tmpl, DP_CLAIMS_FIXED, pod->midstate);
	if (err)
		goto out_unlock;
	/*
	 * by_uid first: only lock holders look there, so undoing it frees
	 * nothing a lock-free attest could still be reading.
	 */
	err = rhashtable_insert_fast(&dp_pods.by_uid, &pod->by_uid,
				     dp_uid_params);
	if (err)
		goto out_unlock;
	err = rhashtable_insert_fast(&dp_pods.by_cgroup, &pod->by_cgroup,
				     dp_cgroup_params);
	if (err) {
		rhashtable_remove_fast(&dp_pods.by_uid, &pod->by_uid,
				       dp_uid_params);
		goto out_unlock;
	}
	dp_pods.generation = pod->generation;
	list_add_tail(&pod->node, &dp_pods.list);
	WRITE_ONCE(dp_pods.count, dp_pods.count + 1);
	/* An rmdir that ran before the insert found nothing to mark. */
	smp_mb();
	if (!(READ_ONCE(cgrp->self.flags) & CSS_ONLINE))
		dp_pod_mark_dead(pod);
	arg->generation = pod->generation;
	arg->cgroup_id = pod->cgroup_id;
	dp_pod_notify(DSTACK_POD_NOTIFY_BIND, pod, NULL);
	pr_info("bound pod %pUb (%s) to cgroup %llu, generation %llu\n",
		pod->tmpl.pod_uid, pod->tmpl.workload_id, pod->cgroup_id,
		pod->generation);
	mutex_unlock(&dp_pods.lock);
	return copy_to_user(argp, arg, sizeof(*arg)) ? -EFAULT : 0;

out_unlock:
	mutex_unlock(&dp_pods.lock);
out_put:
	cgroup_put(cgrp);
out_free:
	dp_pod_discard(pod);
	return err;
}

/* The argument is 704 bytes: on the heap, not the kernel stack. */
long dp_ioctl_bind(void __user *argp)
{
	struct dstack_pod_bind *arg;
	long err;

	arg = memdup_user(argp, sizeof(*arg));
	if (IS_ERR(arg))
		return PTR_ERR(arg);
	err = dp_bind(arg, argp);
	kfree(arg);
	return err;
}

/* Resolve a struct dstack_pod_select; dp_pods.lock held. */
static int dp_pod_select(const struct dstack_pod_select *sel,
			 struct dp_pod **out)
{
	struct cgroup *cgrp;
	struct dp_pod *pod;
	u8 uid[DSTACK_POD_UID_LEN];
	u64 id;
	int err;

	lockdep_assert_held(&dp_pods.lock);
	if (sel->reserved0)
		return -EINVAL;
	if (sel->cgroup_fd >= 0) {
		if (memchr_inv(sel->pod_uid, 0, sizeof(sel->pod_uid)))
			return -EINVAL;
		cgrp = cgroup_get_from_fd(sel->cgroup_fd);
		if (IS_ERR(cgrp))
			return PTR_ERR(cgrp);
		id = cgroup_id(cgrp);
		cgroup_put(cgrp);
		pod = rhashtable_lookup_fast(&dp_pods.by_cgroup, &id,
					     dp_cgroup_params);
	} else if (sel->cgroup_fd == -1) {
		err = dp_parse_uid(sel->pod_uid, sizeof(sel->pod_uid), uid);
		if (err)
			return err;
		pod = rhashtable_lookup_fast(&dp_pods.by_uid, uid,
					     dp_uid_params);
	} else {
		return -EBADF;
	}
	if (!pod || dp_pod_dead(pod))
		return -ENOENT;
	*out = pod;
	return 0;
}

long dp_ioctl_unbind(void __user *argp)
{
	struct dstack_pod_unbind arg;
	struct dp_pod *pod;
	long err;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if (memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	if (copy_to_user(argp, &arg, sizeof(arg)))
		return -EFAULT;
	mutex_lock(&dp_pods.lock);
	err = dp_binder_allowed(NULL);
	if (!err)
		err = dp_pod_select(&arg.pod, &pod);
	if (!err) {
		arg.generation = pod->generation;
		dp_pod_remove(pod, "unbind");
	}
	mutex_unlock(&dp_pods.lock);
	if (err)
		return err;
	return copy_to_user(argp, &arg, sizeof(arg)) ? -EFAULT : 0;
}

/* PMR := SHA-384(PMR || digest), and the midstate after it; lock held. */
static int dp_pmr_extend(void *ctx, const u8 *digest)
{
	struct dp_pod *pod = ctx;
	struct dstack_pod_claims *c;
	u8 buf[2 * DSTACK_POD_DIGEST_LEN];
	u8 *state;
	int err;

	c = kmemdup(&pod->tmpl, DP_CLAIMS_FIXED, GFP_KERNEL_ACCOUNT);
	state = kmalloc(crypto_shash_statesize(dp_sha512_tfm()),
			GFP_KERNEL_ACCOUNT);
	err = -ENOMEM;
	if (!c || !state)
		goto out;
	memcpy(buf, c->pmr, DSTACK_POD_DIGEST_LEN);
	memcpy(buf + DSTACK_POD_DIGEST_LEN, digest, DSTACK_POD_DIGEST_LEN);
	err = dp_sha384(buf, sizeof(buf), c->pmr);
	if (err)
		goto out;
	c->pmr_events = cpu_to_le32(le32_to_cpu(c->pmr_events) + 1);
	err = dp_sha512_midstate(c, DP_CLAIMS_FIXED, state);
	if (err)
		goto out;
	write_seqlock(&pod->seq);
	memcpy(pod->tmpl.pmr, c->pmr, sizeof(c->pmr));
	pod->tmpl.pmr_events = c->pmr_events;
	memcpy(pod->midstate, state, crypto_shash_statesize(dp_sha512_tfm()));
	write_sequnlock(&pod->seq);
out:
	kfree(state);
	kfree(c);
	return err;
}

long dp_ioctl_pod_extend(void __user *argp)
{
	struct dstack_pod_pod_extend arg;
	struct dp_event *ev;
	struct dp_pod *pod;
	long err;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	if (copy_to_user(argp, &arg, sizeof(arg)))
		return -EFAULT;
	ev = dp_event_from_user(arg.name, arg.payload, arg.payload_len);
	if (IS_ERR(ev))
		return PTR_ERR(ev);

	mutex_lock(&dp_pods.lock);
	err = dp_binder_allowed(NULL);
	if (!err)
		err = dp_pod_select(&arg.pod, &pod);
	if (!err)
		err = dp_log_append(&pod->log, ev, pod->log.max, dp_pmr_extend,
				    pod);
	if (!err) {
		memcpy(arg.pmr, pod->tmpl.pmr, sizeof(arg.pmr));
		memcpy(arg.digest, ev->digest, sizeof(arg.digest));
		arg.index = ev->index;
		dp_pod_notify(DSTACK_POD_NOTIFY_POD_EXTEND, pod, ev);
		pr_info("measured event #%u %s (%u bytes) into pod %pUb\n",
			ev->index, ev->name, ev->payload_len, pod->tmpl.pod_uid);
	}
	mutex_unlock(&dp_pods.lock);
	if (err) {
		kfree(ev);
		return err;
	}
	return copy_to_user(argp, &arg, sizeof(arg)) ? -EFAULT : 0;
}

/*
 * The claims of @task's Pod and their SHA-512, lock-free.  Everything but
 * the nonce comes from the kernel's own view of @task.  @mode is the mode
 * the claims state: the caller's own read for ATTEST, the mode that
 * authorised the call for ATTEST_PID and ATTEST_PEER (dp_binder_allowed()).
 */
static int dp_claims_of(struct task_struct *task, struct dstack_pod_attest *arg,
			int mode, u8 *report_data)
{
	struct dstack_pod_claims *c = &arg->claims;
	SHASH_DESC_ON_STACK(desc, dp_sha512_tfm());
	struct dp_pod *pod;
	unsigned int seq;
	int err;

	rcu_read_lock();
	pod = dp_pod_of_cgroup(task_dfl_cgroup(task));
	if (!pod) {
		rcu_read_unlock();
		return -ENOENT;
	}
	desc->tfm = dp_sha512_tfm();
	do {
		seq = read_seqbegin(&pod->seq);
		memcpy(c, &pod->tmpl, DP_CLAIMS_FIXED);
		err = crypto_shash_import(desc, pod->midstate);
	} while (read_seqretry(&pod->seq, seq));
	atomic64_inc(&pod->attests);
	rcu_read_unlock();
	if (err)
		return err;

	/*
	 * A secure claim implies the fuse event is already in RTMR3: @mode
	 * was read after the fuse's release, and secure is final.
	 */
	c->flags = cpu_to_le32(mode == DSTACK_POD_MODE_SECURE ?
			       DSTACK_POD_CLAIM_SECURE : 0);
	c->nonce_len = cpu_to_le32(arg->nonce_len);
	memcpy(c->nonce, arg->nonce, sizeof(c->nonce));
	err = crypto_shash_finup(desc, (u8 *)c + DP_CLAIMS_FIXED,
				 sizeof(*c) - DP_CLAIMS_FIXED, report_data);
	shash_desc_zero(desc);
	return err;
}

/* How an attest names its target: the caller, a pidfd, a socket's peer. */
enum dp_attest_target {
	DP_ATTEST_SELF,
	DP_ATTEST_PIDFD,
	DP_ATTEST_PEER,
};

/* The struct pid a pidfd names, referenced, or an ERR_PTR. */
static struct pid *dp_pid_of_pidfd(int fd)
{
	struct file *file = fget(fd);
	struct pid *pid;

	if (!file)
		return ERR_PTR(-EBADF);
	pid = dp_pidfd_pid(file);
	if (!pid)
		pid = ERR_PTR(-ESRCH);
	else if (!IS_ERR(pid))
		get_pid(pid);
	fput(file);
	return pid;
}

/*
 * The struct pid of the process that connected the AF_UNIX stream or
 * seqpacket socket @fd, referenced, or an ERR_PTR: -EBADF, -ENOTSOCK (not a
 * socket), -EINVAL (another family or type), -ENOTCONN (not connected).
 * This is the kernel's own reference, taken at connect() (or
 * socketpair()): a pid number reused by another process is a different
 * struct pid, so it can never name that process.
 */
static struct pid *dp_pid_of_peer(int fd)
{
	struct socket *sock;
	struct pid *pid;
	int err;

	sock = sockfd_lookup(fd, &err);
	if (!sock)
		return ERR_PTR(err);
	if (sock->sk->sk_family != AF_UNIX ||
	    (sock->type != SOCK_STREAM && sock->type != SOCK_SEQPACKET))
		pid = ERR_PTR(-EINVAL);
	else if (READ_ONCE(sock->state) != SS_CONNECTED)
		pid = ERR_PTR(-ENOTCONN);
	else
		pid = dp_sock_peer_pid(sock->sk) ?: ERR_PTR(-ENOTCONN);
	sockfd_put(sock);
	return pid;
}

/* The claims of the process @pid names, if it is still alive. */
static int dp_claims_of_pid(struct pid *pid, struct dstack_pod_attest *arg,
			    int mode, u8 *report_data)
{
	struct task_struct *task;
	int err;

	task = get_pid_task(pid, PIDTYPE_PID);
	if (!task)
		return -ESRCH;
	/*
	 * A pidfd, and a socket's peer, name the thread-group leader.  One
	 * that has exited stays, a zombie, in its last cgroup while the live
	 * threads may have moved elsewhere: its cgroup says nothing about the
	 * process any more, so refuse rather than attest a dead thread's Pod.
	 * Exiting tasks are never migrated, so a leader seen alive here had
	 * its cgroup at the time of the call.
	 */
	if (READ_ONCE(task->flags) & PF_EXITING)
		err = -ESRCH;
	else
		err = dp_claims_of(task, arg, mode, report_data);
	put_task_struct(task);
	return err;
}

/*
 * Mediated attest: the binder names another process.  The mode that
 * authorised the call is the mode the claims state: a caller let in by the
 * setup-mode rule never gets SECURE claims, even if the fuse lands before
 * dp_claims_of().
 */
static int dp_attest_mediated(enum dp_attest_target target,
			      struct dstack_pod_attest *arg, u8 *report_data)
{
	struct pid *pid;
	int mode, err;

	mutex_lock(&dp_pods.lock);
	err = dp_binder_allowed(&mode);
	mutex_unlock(&dp_pods.lock);
	if (err)
		return err;
	if (target == DP_ATTEST_PEER)
		pid = dp_pid_of_peer(arg->pidfd);
	else
		pid = dp_pid_of_pidfd(arg->pidfd);
	if (IS_ERR(pid))
		return PTR_ERR(pid);
	err = dp_claims_of_pid(pid, arg, mode, report_data);
	put_pid(pid);
	return err;
}

static long dp_attest(void __user *argp, enum dp_attest_target target)
{
	struct dstack_pod_attest *arg;
	u8 rd[DSTACK_POD_REPORTDATA_LEN];
	long err;

	arg = kmalloc(sizeof(*arg), GFP_KERNEL_ACCOUNT);
	if (!arg)
		return -ENOMEM;
	err = -EFAULT;
	if (copy_from_user(arg, argp, offsetof(struct dstack_pod_attest, claims)))
		goto out;
	err = -EINVAL;
	if (arg->nonce_len > DSTACK_POD_NONCE_MAX ||
	    memchr_inv(arg->nonce + arg->nonce_len, 0,
		       DSTACK_POD_NONCE_MAX - arg->nonce_len) ||
	    memchr_inv(arg->reserved, 0, sizeof(arg->reserved)) ||
	    (target == DP_ATTEST_SELF && arg->pidfd != -1))
		goto out;

	if (target == DP_ATTEST_SELF)
		err = dp_claims_of(current, arg, dp_mode(), rd);
	else
		err = dp_attest_mediated(target, arg, rd);
	if (!err)
		err = dp_backend_report(rd, arg->tdreport);
	if (!err && copy_to_user(argp, arg, sizeof(*arg)))
		err = -EFAULT;
out:
	kfree(arg);
	return err;
}

long dp_ioctl_attest(void __user *argp)
{
	return dp_attest(argp, DP_ATTEST_SELF);
}

long dp_ioctl_attest_pid(void __user *argp)
{
	return dp_attest(argp, DP_ATTEST_PIDFD);
}

long dp_ioctl_attest_peer(void __user *argp)
{
	return dp_attest(argp, DP_ATTEST_PEER);
}

/*
 * The caller's own Pod's log, as whole runtime_events lines.  Lock-free:
 * events are immutable once published and the count is published after
 * them (dp_log_count()), and a removed Pod's log is freed only after a
 * grace period, so under rcu_read_lock() the log cannot go away.  No Pod
 * can hold up binder operations by reading its log.
 */
long dp_ioctl_pod_log(void __user *argp)
{
	struct dstack_pod_pod_log arg;
	struct dp_event *ev;
	struct dp_pod *pod;
	size_t cap, used = 0, len;
	char *buf;
	u32 i;
	long err;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	if (memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	cap = min_t(size_t, arg.buf_len, DP_POD_LOG_CHUNK_MAX);
	buf = kvmalloc(max_t(size_t, cap, 1), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;

	rcu_read_lock();
	pod = dp_pod_of_cgroup(task_dfl_cgroup(current));
	err = -ENOENT;
	if (!pod)
		goto unlock;
	arg.total = dp_log_count(&pod->log);
	for (i = arg.start; i < arg.total; i++) {
		ev = xa_load(&pod->log.events, i);
		len = dp_event_line_len(ev);
		if (used + len > cap)
			break;
		dp_event_line(ev, buf + used);
		used += len;
	}
	err = 0;
	if (i == arg.start && i < arg.total)
		err = -ENOBUFS;
	arg.count = i > arg.start ? i - arg.start : 0;
	arg.used = used;
unlock:
	rcu_read_unlock();
	if (!err && (copy_to_user(u64_to_user_ptr(arg.buf), buf, used) ||
		     copy_to_user(argp, &arg, sizeof(arg))))
		err = -EFAULT;
	kvfree(buf);
	return err;
}

int dp_pods_init(void)
{
	int err;

	BUILD_BUG_ON(DP_CLAIMS_FIXED % 128);
	/* 0 is valid for both: no binds, or Pods that cannot be measured. */
	if (max_pods > DP_MAX_PODS_LIMIT ||
	    max_pod_events > DP_MAX_EVENTS_LIMIT) {
		pr_err("max_pods must be 0..%u and max_pod_events 0..%u\n",
		       DP_MAX_PODS_LIMIT, DP_MAX_EVENTS_LIMIT);
		return -EINVAL;
	}

	dp_pods.cache = kmem_cache_create("dstack_pod", sizeof(struct dp_pod) +
					  crypto_shash_statesize(dp_sha512_tfm()),
					  0, 0, NULL);
	if (!dp_pods.cache)
		return -ENOMEM;
	err = rhashtable_init(&dp_pods.by_cgroup, &dp_cgroup_params);
	if (err)
		goto err_cache;
	err = rhashtable_init(&dp_pods.by_uid, &dp_uid_params);
	if (err)
		goto err_cgroup;
	INIT_WORK(&dp_pods.reaper, dp_pods_reaper);
	/*
	 * Unbound: freeing a Pod has no CPU affinity.  Newer kernels (7.2
	 * here) warn about a workqueue that names neither WQ_UNBOUND nor
	 * WQ_PERCPU.
	 */
	dp_pods.free_wq = alloc_workqueue("dstack_pod_free", WQ_UNBOUND, 0);
	if (!dp_pods.free_wq) {
		err = -ENOMEM;
		goto err_uid;
	}
	/* register_trace_cgroup_rmdir() would take exactly this probe. */
	BUILD_BUG_ON(!__same_type(&register_trace_cgroup_rmdir,
				  int (*)(typeof(dp_probe_rmdir) *, void *)));
	for_each_kernel_tracepoint(dp_find_rmdir_tp, &dp_pods.rmdir_tp);
	if (!dp_pods.rmdir_tp) {
		pr_err("tracepoint cgroup_rmdir not found: cannot follow cgroup removal\n");
		err = -ENOENT;
		goto err_wq;
	}
	err = tracepoint_probe_register(dp_pods.rmdir_tp, dp_probe_rmdir, NULL);
	if (err)
		goto err_wq;
	return 0;

err_wq:
	destroy_workqueue(dp_pods.free_wq);
err_uid:
	rhashtable_destroy(&dp_pods.by_uid);
err_cgroup:
	rhashtable_destroy(&dp_pods.by_cgroup);
err_cache:
	kmem_cache_destroy(dp_pods.cache);
	return err;
}

void dp_pods_exit(void)
{
	struct dp_pod *pod, *tmp;

	tracepoint_probe_unregister(dp_pods.rmdir_tp, dp_probe_rmdir, NULL);
	tracepoint_synchronize_unregister();
	cancel_work_sync(&dp_pods.reaper);
	mutex_lock(&dp_pods.lock);
	list_for_each_entry_safe(pod, tmp, &dp_pods.list, node)
		dp_pod_remove(pod, "module unload");
	mutex_unlock(&dp_pods.lock);
	/* Every grace period queued its free work; then the work has run. */
	rcu_barrier();
	destroy_workqueue(dp_pods.free_wq);
	rhashtable_destroy(&dp_pods.by_uid);
	rhashtable_destroy(&dp_pods.by_cgroup);
	kmem_cache_destroy(dp_pods.cache);
}
