/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dstack-pod internal interfaces.
 */
#ifndef DSTACK_POD_INTERNAL_H
#define DSTACK_POD_INTERNAL_H

#include <linux/cgroup.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include <linux/dstack_pod.h>

#include "backend.h"

#define DP_MAX_EVENTS_DEFAULT	1024
#define DP_MAX_EVENTS_MIN	8
#define DP_MAX_EVENTS_LIMIT	65536
#define DP_MAX_PODS_LIMIT	1000000

/**
 * struct dp_event - one measured event; immutable once published
 * @index: position in the log
 * @payload_len: bytes in @payload
 * @digest: SHA-384(le32(type) || ":" || name || ":" || payload)
 * @name: NUL-terminated event name
 * @payload: the payload
 */
struct dp_event {
	u32 index;
	u32 payload_len;
	u8 digest[DSTACK_POD_DIGEST_LEN];
	char name[DSTACK_POD_EVENT_NAME_MAX + 1];
	u8 payload[];
};

/**
 * struct dp_log - append-only RTMR3 event log
 * @events: index -> struct dp_event
 * @count: published events; written with smp_store_release() under
 *	dp.lock, read locklessly with smp_load_acquire()
 * @max: capacity, including the slot kept for the fuse event
 */
struct dp_log {
	struct xarray events;
	u32 count;
	u32 max;
};

/**
 * struct dp_state - the one dstack-pod instance
 * @lock: serialises every state change (extend, fuse, node report)
 * @mode: enum dstack_pod_mode; written once, under @lock, with
 *	smp_store_release(); read with dp_mode()
 * @backend: report and RTMR source
 * @log: the RTMR3 event log
 * @binder: cgroup whose subtree alone may bind Pods in secure mode
 * @fuse_time: wall-clock seconds when the fuse was blown
 * @fuse_pid: pid of the task that blew it
 * @fuse_uid: its uid in the initial user namespace
 * @fuse_comm: its comm
 */
struct dp_state {
	struct mutex lock;	/* see above */
	int mode;
	const struct dstack_pod_backend_ops *backend;
	struct dp_log log;
	struct cgroup *binder;
	time64_t fuse_time;
	pid_t fuse_pid;
	uid_t fuse_uid;
	char fuse_comm[TASK_COMM_LEN];
};

extern struct dp_state dp;

static inline int dp_mode(void)
{
	/* Pairs with the release in dp_fuse_blow(). */
	return smp_load_acquire(&dp.mode);
}

/* main.c */
int dp_check_event_name(const char *name, size_t size);
struct dp_event *dp_event_from_user(const char *name, u64 payload, u32 len);
int dp_fuse_blow(int binder_fd, struct dstack_pod_fuse *out);
int dp_backend_report(const u8 *reportdata, u8 *tdreport);
int dp_backend_extend_cb(void *unused, const u8 *digest);

/* eventlog.c */
int dp_crypto_init(void);
void dp_crypto_exit(void);
int dp_sha384(const void *data, size_t len, u8 *out);
struct crypto_shash *dp_sha512_tfm(void);
int dp_sha512_midstate(const void *data, size_t len, u8 *state);
struct dp_event *dp_event_alloc(const char *name, u32 payload_len);
int dp_event_digest(struct dp_event *ev);
void dp_log_init(struct dp_log *log, u32 max);
void dp_log_destroy(struct dp_log *log);
u32 dp_log_count(const struct dp_log *log);
int dp_log_append(struct dp_log *log, struct dp_event *ev, u32 limit,
		  int (*measure)(void *ctx, const u8 *digest), void *ctx);
int dp_rtmr3_append(struct dp_event *ev, bool fuse_slot);
int dp_log_events_digest(struct dp_log *log, u32 count, u8 *out);
size_t dp_event_line_len(const struct dp_event *ev);
void dp_event_line(const struct dp_event *ev, char *buf);
int dp_securityfs_init(void);
void dp_securityfs_exit(void);

/* pod.c */
int dp_pods_init(void);
void dp_pods_exit(void);
void dp_pods_lock(void);
void dp_pods_unlock(void);
int dp_pods_check_binder(struct cgroup *binder);
u32 dp_pods_count(void);
int dp_pods_objects(void);
long dp_ioctl_bind(void __user *argp);
long dp_ioctl_unbind(void __user *argp);
long dp_ioctl_pod_extend(void __user *argp);
long dp_ioctl_attest(void __user *argp);
long dp_ioctl_attest_pid(void __user *argp);
long dp_ioctl_attest_peer(void __user *argp);
long dp_ioctl_pod_log(void __user *argp);

int dp_pods_dump(struct sk_buff *skb, struct netlink_callback *cb);
int dp_pods_dump_log(struct sk_buff *skb, struct netlink_callback *cb,
		     const u8 *uid);
u32 dp_pods_max(void);
u64 dp_pods_generation(void);

/* netlink.c */
int dp_nl_init(void);
void dp_nl_exit(void);
void *dp_nl_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd);
int dp_nl_fill_event(struct sk_buff *skb, const struct dp_event *ev);
int dp_nl_dump_log(struct sk_buff *skb, struct netlink_callback *cb,
		   struct dp_log *log);
struct sk_buff *dp_nl_notify_new(u32 kind, size_t extra, void **hdr);
void dp_nl_notify_send(struct sk_buff *msg, void *hdr, int fill_err);
void dp_nl_notify_event(u32 kind, const struct dp_event *ev);

/* sysfs.c */
extern const struct attribute_group *dp_attr_groups[];

#endif /* DSTACK_POD_INTERNAL_H */
