/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dstack-pod: per-Pod remote attestation inside one Intel TDX confidential VM.
 *
 * Userspace ABI of /dev/dstack-pod.  See Documentation/uapi.rst.
 *
 * Conventions:
 *  - every structure has a fixed size that is encoded in its ioctl number;
 *  - every field named reserved* must be zero on input and is zeroed on
 *    output; a non-zero reserved field or flag fails with EINVAL;
 *  - user pointers travel as __u64 so that 32-bit callers work unchanged;
 *  - strings are NUL-terminated inside their array and the bytes after the
 *    terminator must be zero.
 */
#ifndef _UAPI_LINUX_DSTACK_POD_H
#define _UAPI_LINUX_DSTACK_POD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DSTACK_POD_DEVICE		"/dev/dstack-pod"

#define DSTACK_POD_ABI_MAJOR		1
#define DSTACK_POD_ABI_MINOR		1

/* Sizes fixed by the TDX architecture. */
#define DSTACK_POD_TDREPORT_LEN		1024
#define DSTACK_POD_REPORTMAC_LEN	256
#define DSTACK_POD_REPORTDATA_LEN	64
#define DSTACK_POD_DIGEST_LEN		48	/* SHA-384 */

/* Measured events (RTMR3), digest rule of dstack's runtime events v1. */
#define DSTACK_POD_EVENT_TYPE		0x08000001
#define DSTACK_POD_EVENT_NAME_MAX	64	/* bytes, without the NUL */
#define DSTACK_POD_EVENT_NAME_SIZE	72	/* array size in the ioctl */
#define DSTACK_POD_EVENT_PAYLOAD_MAX	4096

/* Names of the events the module itself records; callers may not use the prefix. */
#define DSTACK_POD_EVENT_PREFIX		"dstack-pod."
#define DSTACK_POD_EVENT_INIT		"dstack-pod.init"
#define DSTACK_POD_EVENT_FUSE		"dstack-pod.fuse"

/**
 * enum dstack_pod_backend - where reports and RTMR extends come from
 * @DSTACK_POD_BACKEND_TDX: the TDX module, through TDCALL
 * @DSTACK_POD_BACKEND_SIM: the dstack_pod_sim module; development only,
 *	reports carry the DEBUG attribute and the simulator MRTD
 */
enum dstack_pod_backend {
	DSTACK_POD_BACKEND_TDX = 1,
	DSTACK_POD_BACKEND_SIM = 2,
};

/**
 * enum dstack_pod_mode - state of the privilege fuse
 * @DSTACK_POD_MODE_SETUP: platform events may be measured, node reports given
 * @DSTACK_POD_MODE_SECURE: the fuse is blown; RTMR3 is sealed for good
 */
enum dstack_pod_mode {
	DSTACK_POD_MODE_SETUP = 0,
	DSTACK_POD_MODE_SECURE = 1,
};

/**
 * struct dstack_pod_version - DSTACK_POD_IOC_VERSION result
 * @abi_major: DSTACK_POD_ABI_MAJOR of the running module
 * @abi_minor: DSTACK_POD_ABI_MINOR of the running module
 * @backend: enum dstack_pod_backend
 * @mode: enum dstack_pod_mode
 * @event_count: events in the RTMR3 event log
 * @max_events: capacity of the RTMR3 event log
 * @reserved: zeroed by the kernel
 */
struct dstack_pod_version {
	__u32 abi_major;
	__u32 abi_minor;
	__u32 backend;
	__u32 mode;
	__u32 event_count;
	__u32 max_events;
	__u64 reserved[4];
};

/**
 * struct dstack_pod_extend - DSTACK_POD_IOC_EXTEND argument
 * @name: event name, 1..DSTACK_POD_EVENT_NAME_MAX bytes of 0x21..0x7e other
 *	than ':', NUL-terminated, zero-padded, not starting with
 *	DSTACK_POD_EVENT_PREFIX
 * @payload: user pointer to the payload
 * @payload_len: payload length, 0..DSTACK_POD_EVENT_PAYLOAD_MAX
 * @flags: must be zero
 * @digest: out: the event digest,
 *	SHA-384(le32(DSTACK_POD_EVENT_TYPE) || ":" || name || ":" || payload)
 * @index: out: position of the event in the RTMR3 event log
 * @reserved: must be zero
 */
struct dstack_pod_extend {
	char name[DSTACK_POD_EVENT_NAME_SIZE];
	__u64 payload;
	__u32 payload_len;
	__u32 flags;
	__u8 digest[DSTACK_POD_DIGEST_LEN];
	__u32 index;
	__u32 reserved[3];
};

/**
 * struct dstack_pod_report - DSTACK_POD_IOC_NODE_REPORT argument
 * @report_data: REPORTDATA to place in the report
 * @reserved: must be zero
 * @tdreport: out: the TDREPORT_STRUCT
 */
struct dstack_pod_report {
	__u8 report_data[DSTACK_POD_REPORTDATA_LEN];
	__u64 reserved[4];
	__u8 tdreport[DSTACK_POD_TDREPORT_LEN];
};

/**
 * struct dstack_pod_fuse - DSTACK_POD_IOC_FUSE argument
 * @binder_cgroup_fd: fd of a cgroup v2 directory whose subtree alone may
 *	bind Pods in secure mode, or -1 for none
 * @flags: must be zero
 * @reserved: must be zero
 * @digest: out: digest of the dstack-pod.fuse event
 * @index: out: position of the fuse event in the RTMR3 event log
 * @reserved2: must be zero
 */
struct dstack_pod_fuse {
	__s32 binder_cgroup_fd;
	__u32 flags;
	__u64 reserved[3];
	__u8 digest[DSTACK_POD_DIGEST_LEN];
	__u32 index;
	__u32 reserved2;
};

/**
 * struct dstack_pod_verify_report - DSTACK_POD_IOC_VERIFY_REPORT argument
 * @reportmac: the REPORTMACSTRUCT (first 256 bytes of a TDREPORT) to check
 * @reserved: must be zero
 *
 * The ioctl returns 0 when the MAC was made on this platform and fails with
 * EBADMSG when it was not, as TDG.MR.VERIFYREPORT does (a report of any TD
 * on the same platform verifies).
 */
struct dstack_pod_verify_report {
	__u8 reportmac[DSTACK_POD_REPORTMAC_LEN];
	__u64 reserved[2];
};

/*
 * Payload of the dstack-pod.fuse event, all integers little-endian.
 * The fixed part is followed by @path_len bytes of the binder cgroup's path
 * relative to the cgroup v2 root (no NUL); path_len is 0 without a binder.
 */
#define DSTACK_POD_FUSE_MAGIC		"DPODFUSE"
#define DSTACK_POD_FUSE_VERSION		1
#define DSTACK_POD_CGROUP_PATH_MAX	4096

/**
 * struct dstack_pod_fuse_payload - fixed part of the fuse event payload
 * @magic: DSTACK_POD_FUSE_MAGIC, no NUL
 * @version: DSTACK_POD_FUSE_VERSION
 * @event_count: number of events in the log before the fuse event
 * @events_digest: SHA-384 over the concatenated digests of those events
 * @binder_cgroup_id: cgroup id (inode number) of the binder cgroup, or 0
 * @last_generation: the last bind generation handed out before the fuse:
 *	a Pod whose claims carry a generation up to this one was bound in
 *	setup mode, by any root process
 * @pod_count: Pods bound when the fuse blew
 * @path_len: length of the binder cgroup path that follows
 */
struct dstack_pod_fuse_payload {
	__u8 magic[8];
	__le32 version;
	__le32 event_count;
	__u8 events_digest[DSTACK_POD_DIGEST_LEN];
	__le64 binder_cgroup_id;
	__le64 last_generation;
	__le32 pod_count;
	__le32 path_len;
};

/* Pod identities. */
#define DSTACK_POD_UID_SIZE		40	/* canonical UUID + NUL, padded */
#define DSTACK_POD_UID_LEN		16	/* binary, in the claims */
#define DSTACK_POD_WORKLOAD_MAX		253
#define DSTACK_POD_WORKLOAD_SIZE	256
#define DSTACK_POD_NAMESPACE_MAX	63
#define DSTACK_POD_NAMESPACE_SIZE	64
#define DSTACK_POD_NAME_MAX		253
#define DSTACK_POD_NAME_SIZE		256
#define DSTACK_POD_SPEC_HASH_LEN	32	/* SHA-256 */
#define DSTACK_POD_NONCE_MAX		64

/**
 * enum dstack_pod_spec_source - how the binder obtained pod_spec_hash
 * @DSTACK_POD_SPEC_UNKNOWN: not said
 * @DSTACK_POD_SPEC_ANNOTATION: from an annotation (chosen by the Pod's author)
 * @DSTACK_POD_SPEC_APISERVER: hashed from the Pod object read from the API
 *	server with the node's credentials
 */
enum dstack_pod_spec_source {
	DSTACK_POD_SPEC_UNKNOWN = 0,
	DSTACK_POD_SPEC_ANNOTATION = 1,
	DSTACK_POD_SPEC_APISERVER = 2,
};

/**
 * struct dstack_pod_bind - DSTACK_POD_IOC_BIND argument
 * @cgroup_fd: fd of the Pod's cgroup v2 directory
 * @spec_source: enum dstack_pod_spec_source
 * @pod_uid: metadata.uid, canonical lower-case UUID (36 bytes), NUL-padded
 * @workload_id: 1..253 bytes of 0x20..0x7e, NUL-padded
 * @pod_namespace: 0..63 bytes of 0x21..0x7e, NUL-padded (optional)
 * @pod_name: 0..253 bytes of 0x21..0x7e, NUL-padded (optional)
 * @pod_spec_hash: SHA-256 of the canonical Pod spec
 * @generation: out: the bind generation, increasing with every bind
 * @cgroup_id: out: the bound cgroup's id
 * @reserved: must be zero
 */
struct dstack_pod_bind {
	__s32 cgroup_fd;
	__u32 spec_source;
	char pod_uid[DSTACK_POD_UID_SIZE];
	char workload_id[DSTACK_POD_WORKLOAD_SIZE];
	char pod_namespace[DSTACK_POD_NAMESPACE_SIZE];
	char pod_name[DSTACK_POD_NAME_SIZE];
	__u8 pod_spec_hash[DSTACK_POD_SPEC_HASH_LEN];
	__u64 generation;
	__u64 cgroup_id;
	__u64 reserved[4];
};

/**
 * struct dstack_pod_select - names one bound Pod
 * @cgroup_fd: the Pod's cgroup v2 directory, or -1 to select by @pod_uid
 * @reserved0: must be zero
 * @pod_uid: used when @cgroup_fd is -1; must be all zero otherwise
 */
struct dstack_pod_select {
	__s32 cgroup_fd;
	__u32 reserved0;
	char pod_uid[DSTACK_POD_UID_SIZE];
};

/**
 * struct dstack_pod_unbind - DSTACK_POD_IOC_UNBIND argument
 * @pod: the Pod
 * @generation: out: generation of the binding removed
 * @reserved: must be zero
 */
struct dstack_pod_unbind {
	struct dstack_pod_select pod;
	__u64 generation;
	__u64 reserved[2];
};

/**
 * struct dstack_pod_pod_extend - DSTACK_POD_IOC_POD_EXTEND argument
 * @pod: the Pod
 * @name: event name, same rules as struct dstack_pod_extend
 * @payload: user pointer to the payload
 * @payload_len: 0..DSTACK_POD_EVENT_PAYLOAD_MAX
 * @flags: must be zero
 * @pmr: out: the Pod's measurement register after the extend
 * @digest: out: the event digest (same rule as RTMR3 events)
 * @index: out: position in the Pod's event log
 * @reserved: must be zero
 */
struct dstack_pod_pod_extend {
	struct dstack_pod_select pod;
	char name[DSTACK_POD_EVENT_NAME_SIZE];
	__u64 payload;
	__u32 payload_len;
	__u32 flags;
	__u8 pmr[DSTACK_POD_DIGEST_LEN];
	__u8 digest[DSTACK_POD_DIGEST_LEN];
	__u32 index;
	__u32 reserved[3];
};

#define DSTACK_POD_CLAIMS_MAGIC		"DSTACK-POD-CLAIM"	/* 16 bytes */
#define DSTACK_POD_CLAIMS_VERSION	1
#define DSTACK_POD_CLAIM_SECURE		0x00000001	/* issued in secure mode */

/**
 * struct dstack_pod_claims - what a Pod attests; report_data = SHA-512(this)
 * @magic: DSTACK_POD_CLAIMS_MAGIC, no NUL (domain separation)
 * @version: DSTACK_POD_CLAIMS_VERSION
 * @spec_source: enum dstack_pod_spec_source given at bind
 * @generation: bind generation
 * @cgroup_id: id of the Pod's cgroup
 * @pod_uid: metadata.uid, 16 bytes in UUID byte order
 * @pod_spec_hash: SHA-256 of the canonical Pod spec
 * @workload_id: NUL-padded
 * @pod_namespace: NUL-padded
 * @pod_name: NUL-padded
 * @pmr_events: events measured into @pmr
 * @reserved0: zero
 * @pmr: the Pod's measurement register
 * @reserved1: zero; ends the part that only bind and pod extend change at
 *	byte 768, a multiple of SHA-512's 128-byte block
 * @flags: DSTACK_POD_CLAIM_*
 * @nonce_len: bytes used in @nonce
 * @nonce: the caller's nonce, zero-padded
 *
 * All integers little-endian.  Every byte is defined, so the claims a
 * verifier rebuilds hash to the same report_data.
 */
struct dstack_pod_claims {
	__u8 magic[16];
	__le32 version;
	__le32 spec_source;
	__le64 generation;
	__le64 cgroup_id;
	__u8 pod_uid[DSTACK_POD_UID_LEN];
	__u8 pod_spec_hash[DSTACK_POD_SPEC_HASH_LEN];
	char workload_id[DSTACK_POD_WORKLOAD_SIZE];
	char pod_namespace[DSTACK_POD_NAMESPACE_SIZE];
	char pod_name[DSTACK_POD_NAME_SIZE];
	__le32 pmr_events;
	__le32 reserved0;
	__u8 pmr[DSTACK_POD_DIGEST_LEN];
	__u8 reserved1[48];
	__le32 flags;
	__le32 nonce_len;
	__u8 nonce[DSTACK_POD_NONCE_MAX];
};

/**
 * struct dstack_pod_attest - DSTACK_POD_IOC_ATTEST / _ATTEST_PID /
 *	_ATTEST_PEER argument
 * @nonce: the caller's nonce; bytes past @nonce_len must be zero
 * @nonce_len: 0..DSTACK_POD_NONCE_MAX
 * @pidfd: ATTEST_PID: pidfd of the process; ATTEST_PEER: a connected
 *	AF_UNIX socket (stream or seqpacket) whose peer is attested;
 *	ATTEST: must be -1
 * @reserved: must be zero
 * @claims: out: the claims of the Pod of the caller (ATTEST), of the
 *	pidfd's process (ATTEST_PID) or of the process that connected the
 *	socket's peer end (ATTEST_PEER)
 * @tdreport: out: TDREPORT with report_data = SHA-512(@claims)
 */
struct dstack_pod_attest {
	__u8 nonce[DSTACK_POD_NONCE_MAX];
	__u32 nonce_len;
	__s32 pidfd;
	__u64 reserved[3];
	struct dstack_pod_claims claims;
	__u8 tdreport[DSTACK_POD_TDREPORT_LEN];
};

/**
 * struct dstack_pod_pod_log - DSTACK_POD_IOC_POD_LOG argument
 * @start: first event index wanted
 * @count: out: events written to @buf
 * @buf: user pointer; receives event lines in the runtime_events format
 * @buf_len: size of @buf
 * @used: out: bytes written
 * @total: out: events in the Pod's log
 * @reserved: must be zero
 *
 * Reads the event log of the caller's own Pod; whole lines only.
 */
struct dstack_pod_pod_log {
	__u32 start;
	__u32 count;
	__u64 buf;
	__u32 buf_len;
	__u32 used;
	__u32 total;
	__u32 reserved[3];
};

/*
 * Generic netlink family "dstack_pod" (Documentation/netlink/specs/
 * dstack_pod.yaml).  Every command needs CAP_SYS_ADMIN; CAP_NET_ADMIN
 * alone is refused with -EPERM.  The "events" group needs CAP_SYS_ADMIN
 * too; a kernel that cannot enforce that for a group has no such group.
 */
#define DSTACK_POD_GENL_NAME		"dstack_pod"
#define DSTACK_POD_GENL_VERSION		1
#define DSTACK_POD_GENL_MCGRP_EVENTS	"events"

/**
 * enum dstack_pod_cmd - generic netlink commands
 * @DSTACK_POD_CMD_UNSPEC: unused
 * @DSTACK_POD_CMD_STATUS_GET: do: the node's status (no request attributes)
 * @DSTACK_POD_CMD_POD_GET: dump: one message per bound Pod
 * @DSTACK_POD_CMD_EVENT_GET: dump: one message per RTMR3 event, or per event
 *	of the Pod named by DSTACK_POD_A_POD_UID in the request
 * @DSTACK_POD_CMD_NOTIFY: multicast on "events": DSTACK_POD_A_NOTIFY_KIND
 *	and the attributes of what changed
 * @__DSTACK_POD_CMD_MAX: internal
 */
enum dstack_pod_cmd {
	DSTACK_POD_CMD_UNSPEC,
	DSTACK_POD_CMD_STATUS_GET,
	DSTACK_POD_CMD_POD_GET,
	DSTACK_POD_CMD_EVENT_GET,
	DSTACK_POD_CMD_NOTIFY,
	__DSTACK_POD_CMD_MAX,
};

#define DSTACK_POD_CMD_MAX (__DSTACK_POD_CMD_MAX - 1)

/**
 * enum dstack_pod_notify - DSTACK_POD_A_NOTIFY_KIND values
 * @DSTACK_POD_NOTIFY_BIND: a Pod was bound (Pod attributes follow)
 * @DSTACK_POD_NOTIFY_UNBIND: a Pod was unbound (Pod attributes follow)
 * @DSTACK_POD_NOTIFY_POD_EXTEND: a Pod event was measured (Pod and event
 *	attributes follow)
 * @DSTACK_POD_NOTIFY_EXTEND: an RTMR3 event was measured (event attributes)
 * @DSTACK_POD_NOTIFY_FUSE: the fuse was blown (event attributes, and
 *	FUSE_TIME, FUSE_PID, FUSE_UID, FUSE_COMM, BINDER_PATH if any)
 */
enum dstack_pod_notify {
	DSTACK_POD_NOTIFY_BIND = 1,
	DSTACK_POD_NOTIFY_UNBIND,
	DSTACK_POD_NOTIFY_POD_EXTEND,
	DSTACK_POD_NOTIFY_EXTEND,
	DSTACK_POD_NOTIFY_FUSE,
};

/**
 * enum dstack_pod_attr - generic netlink attributes
 * @DSTACK_POD_A_UNSPEC: unused
 * @DSTACK_POD_A_PAD: padding for 64-bit attributes
 * @DSTACK_POD_A_ABI_MAJOR: u32
 * @DSTACK_POD_A_ABI_MINOR: u32
 * @DSTACK_POD_A_MODE: u32, enum dstack_pod_mode
 * @DSTACK_POD_A_BACKEND: string, "tdx" or "sim"
 * @DSTACK_POD_A_EVENT_COUNT: u32, events in a log (RTMR3's, or a Pod's)
 * @DSTACK_POD_A_MAX_EVENTS: u32, capacity of the RTMR3 log
 * @DSTACK_POD_A_RTMR3: binary, 48 bytes
 * @DSTACK_POD_A_FUSE_TIME: u64, seconds since the epoch when the fuse blew
 * @DSTACK_POD_A_FUSE_PID: u32, who blew it
 * @DSTACK_POD_A_FUSE_UID: u32, its uid
 * @DSTACK_POD_A_FUSE_COMM: string, its comm
 * @DSTACK_POD_A_BINDER_PATH: string, the binder cgroup (secure mode)
 * @DSTACK_POD_A_POD_COUNT: u32, bound Pods
 * @DSTACK_POD_A_MAX_PODS: u32
 * @DSTACK_POD_A_CGROUP_ID: u64
 * @DSTACK_POD_A_CGROUP_PATH: string, relative to the cgroup v2 root
 * @DSTACK_POD_A_POD_UID: binary, 16 bytes (request: selects a Pod)
 * @DSTACK_POD_A_POD_NAMESPACE: string
 * @DSTACK_POD_A_POD_NAME: string
 * @DSTACK_POD_A_WORKLOAD_ID: string
 * @DSTACK_POD_A_SPEC_HASH: binary, 32 bytes
 * @DSTACK_POD_A_SPEC_SOURCE: u32, enum dstack_pod_spec_source
 * @DSTACK_POD_A_PMR: binary, 48 bytes
 * @DSTACK_POD_A_GENERATION: u64, bind generation
 * @DSTACK_POD_A_ATTEST_COUNT: u64, attestations served
 * @DSTACK_POD_A_EVENT_INDEX: u32
 * @DSTACK_POD_A_EVENT_NAME: string
 * @DSTACK_POD_A_EVENT_DIGEST: binary, 48 bytes
 * @DSTACK_POD_A_EVENT_PAYLOAD: binary, 0..DSTACK_POD_EVENT_PAYLOAD_MAX
 * @DSTACK_POD_A_NOTIFY_KIND: u32, enum dstack_pod_notify
 * @__DSTACK_POD_A_MAX: internal
 */
enum dstack_pod_attr {
	DSTACK_POD_A_UNSPEC,
	DSTACK_POD_A_PAD,
	DSTACK_POD_A_ABI_MAJOR,
	DSTACK_POD_A_ABI_MINOR,
	DSTACK_POD_A_MODE,
	DSTACK_POD_A_BACKEND,
	DSTACK_POD_A_EVENT_COUNT,
	DSTACK_POD_A_MAX_EVENTS,
	DSTACK_POD_A_RTMR3,
	DSTACK_POD_A_FUSE_TIME,
	DSTACK_POD_A_FUSE_PID,
	DSTACK_POD_A_FUSE_UID,
	DSTACK_POD_A_FUSE_COMM,
	DSTACK_POD_A_BINDER_PATH,
	DSTACK_POD_A_POD_COUNT,
	DSTACK_POD_A_MAX_PODS,
	DSTACK_POD_A_CGROUP_ID,
	DSTACK_POD_A_CGROUP_PATH,
	DSTACK_POD_A_POD_UID,
	DSTACK_POD_A_POD_NAMESPACE,
	DSTACK_POD_A_POD_NAME,
	DSTACK_POD_A_WORKLOAD_ID,
	DSTACK_POD_A_SPEC_HASH,
	DSTACK_POD_A_SPEC_SOURCE,
	DSTACK_POD_A_PMR,
	DSTACK_POD_A_GENERATION,
	DSTACK_POD_A_ATTEST_COUNT,
	DSTACK_POD_A_EVENT_INDEX,
	DSTACK_POD_A_EVENT_NAME,
	DSTACK_POD_A_EVENT_DIGEST,
	DSTACK_POD_A_EVENT_PAYLOAD,
	DSTACK_POD_A_NOTIFY_KIND,
	__DSTACK_POD_A_MAX,
};

#define DSTACK_POD_A_MAX (__DSTACK_POD_A_MAX - 1)

#define DSTACK_POD_IOC_MAGIC		0xDB

#define DSTACK_POD_IOC_VERSION \
	_IOR(DSTACK_POD_IOC_MAGIC, 0x00, struct dstack_pod_version)
#define DSTACK_POD_IOC_EXTEND \
	_IOWR(DSTACK_POD_IOC_MAGIC, 0x01, struct dstack_pod_extend)
#define DSTACK_POD_IOC_NODE_REPORT \
	_IOWR(DSTACK_POD_IOC_MAGIC, 0x02, struct dstack_pod_report)
#define DSTACK_POD_IOC_FUSE \
	_IOWR(DSTACK_POD_IOC_MAGIC, 0x03, struct dstack_pod_fuse)
#define DSTACK_POD_IOC_VERIFY_REPORT \
	_IOW(DSTACK_POD_IOC_MAGIC, 0x04, struct dstack_pod_verify_report)
#define DSTACK_POD_IOC_BIND \
	_IOWR(DSTACK_POD_IOC_MAGIC, 0x05, struct dstack_pod_bind)
#define DSTACK_POD_IOC_UNBIND \
	_IOWR(DSTACK_POD_IOC_MAGIC, 0x06, struct dstack_pod_unbind)
#define DSTACK_POD_IOC_POD_EXTEND \
	_IOWR(DSTACK_POD_IOC_MAGIC, 0x07, struct dstack_pod_pod_extend)
#define DSTACK_POD_IOC_ATTEST \
	_IOWR(DSTACK_POD_IOC_MAGIC, 0x08, struct dstack_pod_attest)
#define DSTACK_POD_IOC_ATTEST_PID \
	_IOWR(DSTACK_POD_IOC_MAGIC, 0x09, struct dstack_pod_attest)
#define DSTACK_POD_IOC_POD_LOG \
	_IOWR(DSTACK_POD_IOC_MAGIC, 0x0a, struct dstack_pod_pod_log)
#define DSTACK_POD_IOC_ATTEST_PEER \
	_IOWR(DSTACK_POD_IOC_MAGIC, 0x0b, struct dstack_pod_attest)

#endif /* _UAPI_LINUX_DSTACK_POD_H */
