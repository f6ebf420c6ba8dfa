// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-node: client of the "dstack_pod" generic netlink family
 * (libnl-3 / libnl-genl-3).  Dumps are streamed: every Pod or event is
 * handed to the caller's callback while its message is still in the receive
 * buffer and nothing is accumulated, so memory stays flat whatever the
 * number of Pods.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "dstackpod.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* What we accept from the kernel; anything newer than we know is ignored. */
static struct nla_policy dp_nl_policy[DSTACK_POD_A_MAX + 1] = {
	[DSTACK_POD_A_ABI_MAJOR]	= { .type = NLA_U32 },
	[DSTACK_POD_A_ABI_MINOR]	= { .type = NLA_U32 },
	[DSTACK_POD_A_MODE]		= { .type = NLA_U32 },
	[DSTACK_POD_A_BACKEND]		= { .type = NLA_STRING, .maxlen = 16 },
	[DSTACK_POD_A_EVENT_COUNT]	= { .type = NLA_U32 },
	[DSTACK_POD_A_MAX_EVENTS]	= { .type = NLA_U32 },
	[DSTACK_POD_A_RTMR3]		= { .minlen = DSTACK_POD_DIGEST_LEN },
	[DSTACK_POD_A_FUSE_TIME]	= { .type = NLA_U64 },
	[DSTACK_POD_A_FUSE_PID]		= { .type = NLA_U32 },
	[DSTACK_POD_A_FUSE_UID]		= { .type = NLA_U32 },
	[DSTACK_POD_A_FUSE_COMM]	= { .type = NLA_STRING, .maxlen = 64 },
	[DSTACK_POD_A_BINDER_PATH]	= { .type = NLA_STRING,
					    .maxlen = DSTACK_POD_CGROUP_PATH_MAX + 1 },
	[DSTACK_POD_A_POD_COUNT]	= { .type = NLA_U32 },
	[DSTACK_POD_A_MAX_PODS]		= { .type = NLA_U32 },
	[DSTACK_POD_A_CGROUP_ID]	= { .type = NLA_U64 },
	[DSTACK_POD_A_CGROUP_PATH]	= { .type = NLA_STRING,
					    .maxlen = DSTACK_POD_CGROUP_PATH_MAX + 1 },
	[DSTACK_POD_A_POD_UID]		= { .minlen = DSTACK_POD_UID_LEN },
	[DSTACK_POD_A_POD_NAMESPACE]	= { .type = NLA_STRING,
					    .maxlen = DSTACK_POD_NAMESPACE_SIZE },
	[DSTACK_POD_A_POD_NAME]		= { .type = NLA_STRING,
					    .maxlen = DSTACK_POD_NAME_SIZE },
	[DSTACK_POD_A_WORKLOAD_ID]	= { .type = NLA_STRING,
					    .maxlen = DSTACK_POD_WORKLOAD_SIZE },
	[DSTACK_POD_A_SPEC_HASH]	= { .minlen = DSTACK_POD_SPEC_HASH_LEN },
	[DSTACK_POD_A_SPEC_SOURCE]	= { .type = NLA_U32 },
	[DSTACK_POD_A_PMR]		= { .minlen = DSTACK_POD_DIGEST_LEN },
	[DSTACK_POD_A_GENERATION]	= { .type = NLA_U64 },
	[DSTACK_POD_A_ATTEST_COUNT]	= { .type = NLA_U64 },
	[DSTACK_POD_A_EVENT_INDEX]	= { .type = NLA_U32 },
	[DSTACK_POD_A_EVENT_NAME]	= { .type = NLA_STRING,
					    .maxlen = DSTACK_POD_EVENT_NAME_SIZE },
	[DSTACK_POD_A_EVENT_DIGEST]	= { .minlen = DSTACK_POD_DIGEST_LEN },
	[DSTACK_POD_A_EVENT_PAYLOAD]	= { .maxlen = DSTACK_POD_EVENT_PAYLOAD_MAX },
	[DSTACK_POD_A_NOTIFY_KIND]	= { .type = NLA_U32 },
};

/* State of one request: the callbacks' view of it. */
struct dp_nl_req {
	struct dp_nl *nl;
	const char *what;
	int err;		/* -errno from the kernel's NLMSG_ERROR */
	int stopped;		/* the user callback said stop */
	int cb_err;		/* the user callback's error */
	int done;		/* ACK, NLMSG_DONE or NLMSG_ERROR seen */
	char ext[256];		/* the kernel's extack message */
	/* One of these, depending on the command. */
	struct dp_status *status;
	dp_nl_pod_cb pod_cb;
	dp_nl_event_cb event_cb;
	dp_nl_notify_cb notify_cb;
	void *ctx;
};

static int dp_nl_syserr(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_NOMEM:		return ENOMEM;
	case NLE_PERM:		return EPERM;
	case NLE_NOACCESS:	return EACCES;
	case NLE_OBJ_NOTFOUND:	return ENOENT;
	case NLE_AGAIN:		return EAGAIN;
	case NLE_INTR:		return EINTR;
	case NLE_INVAL:		return EINVAL;
	case NLE_RANGE:		return ERANGE;
	case NLE_MSGSIZE:	return EMSGSIZE;
	case NLE_MSG_TRUNC:	return EMSGSIZE;
	case NLE_OPNOTSUPP:	return EOPNOTSUPP;
	case NLE_BUSY:		return EBUSY;
	case NLE_EXIST:		return EEXIST;
	case NLE_NOADDR:	return EADDRNOTAVAIL;
	case NLE_BAD_SOCK:	return EBADF;
	case NLE_MSG_OVERFLOW:	return EOVERFLOW;
	case NLE_DUMP_INTR:	return EINTR;
	case NLE_PROTO_MISMATCH: return EPROTONOSUPPORT;
	case NLE_NOATTR:	return ENODATA;
	default:		return EIO;
	}
}

/* The handle whose request is running (recv override has only the socket). */
static _Thread_local struct dp_nl *dp_nl_cur;

/* Counts every datagram the socket receives (figures for benchmarks). */
static int dp_nl_recv_count(struct nl_sock *sk, struct sockaddr_nl *nla,
			    unsigned char **buf, struct ucred **creds)
{
	int n = nl_recv(sk, nla, buf, creds);

	if (n > 0 && dp_nl_cur) {
		dp_nl_cur->stats.datagrams++;
		dp_nl_cur->stats.bytes += (uint64_t)n;
	}
	return n;
}

/* The extack TLVs at offset off of an NLMSG_ERROR or NLMSG_DONE message. */
static void dp_nl_extack(struct dp_nl_req *req, struct nlmsghdr *nlh,
			 size_t off)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	req->ext[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = NLMSG_ALIGN(off);
	if (off >= nlh->nlmsg_len)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + off),
		      (int)(nlh->nlmsg_len - off), NULL) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(req->ext, sizeof(req->ext), "%.*s",
			 nla_len(tb[NLMSGERR_ATTR_MSG]),
			 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	req->ext[strcspn(req->ext, "\n")] = '\0';
}

/*
 * NLMSG_DONE of a dump or the ACK of a request: the request is over.  A
 * dump that fails carries its -errno in NLMSG_DONE (libnl does not look).
 */
static int dp_nl_done_cb(struct nl_msg *msg, void *arg)
{
	struct dp_nl_req *req = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int derr;

	req->nl->stats.messages++;
	req->done = 1;
	if (nlh->nlmsg_type == NLMSG_DONE &&
	    nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		memcpy(&derr, nlmsg_data(nlh), sizeof(derr));
		if (derr < 0) {
			req->err = derr;
			dp_nl_extack(req, nlh, NLMSG_HDRLEN + sizeof(int));
		}
	}
	return NL_STOP;
}

int dp_nl_open(struct dp_nl *nl)
{
	int one = 1, err, grp;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return dp_seterr(ENOMEM, "netlink socket");
	err = genl_connect(nl->sk);
	if (err < 0) {
		err = dp_nl_syserr(err);
		goto fail;
	}
	/* Errors carry the kernel's extack message, without our request. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl_socket_set_msg_buf_size(nl->sk, 64 * 1024);
	nl_socket_enable_msg_peek(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, DSTACK_POD_GENL_NAME);
	if (nl->family < 0) {
		err = dp_nl_syserr(nl->family);
		nl_socket_free(nl->sk);
		nl->sk = NULL;
		if (err == ENOENT && !access("/sys/module/dstack_pod", F_OK))
			return dp_seterr(ENOENT, "generic netlink family \"%s\" not found although the module is loaded: this process is in a network namespace other than the node's (a Pod reads its own log with log --pod self and its claims with attest, through the device), or the module is older than ABI 1.1",
					 DSTACK_POD_GENL_NAME);
		if (err == ENOENT)
			return dp_seterr(ENOENT, "generic netlink family \"%s\" not found: load the module (dstack-podctl load, or modprobe dstack_pod; a module older than ABI 1.1 has no netlink interface)",
					 DSTACK_POD_GENL_NAME);
		return dp_seterr(err, "resolving generic netlink family %s",
				 DSTACK_POD_GENL_NAME);
	}
	grp = genl_ctrl_resolve_grp(nl->sk, DSTACK_POD_GENL_NAME,
				    DSTACK_POD_GENL_MCGRP_EVENTS);
	nl->mcgrp = grp < 0 ? -1 : grp;
	return 0;
fail:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return dp_seterr(err, "generic netlink socket");
}

void dp_nl_close(struct dp_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

static int dp_nl_err_cb(struct sockaddr_nl *who, struct nlmsgerr *e,
			void *arg)
{
	struct dp_nl_req *req = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	size_t off = NLMSG_HDRLEN + sizeof(*e);

	(void)who;
	req->nl->stats.messages++;
	req->err = e->error;
	req->done = 1;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	dp_nl_extack(req, nlh, off);
	return NL_STOP;
}

/* Copy a binary attribute that must have exactly len bytes. */
static int dp_nl_bin(struct nlattr *a, void *out, int len)
{
	if (!a)
		return 0;
	if (nla_len(a) != len)
		return -1;
	memcpy(out, nla_data(a), (size_t)len);
	return 1;
}

static void dp_nl_fill_pod(struct nlattr **tb, struct dp_nl_pod *p)
{
	memset(p, 0, sizeof(*p));
	if (tb[DSTACK_POD_A_CGROUP_ID])
		p->cgroup_id = nla_get_u64(tb[DSTACK_POD_A_CGROUP_ID]);
	p->cgroup_path = tb[DSTACK_POD_A_CGROUP_PATH] ?
			 nla_get_string(tb[DSTACK_POD_A_CGROUP_PATH]) : "";
	if (dp_nl_bin(tb[DSTACK_POD_A_POD_UID], p->pod_uid,
		      DSTACK_POD_UID_LEN) > 0)
		p->has_uid = 1;
	dp_uuid_format(p->pod_uid, p->uid);
	p->pod_namespace = tb[DSTACK_POD_A_POD_NAMESPACE] ?
			   nla_get_string(tb[DSTACK_POD_A_POD_NAMESPACE]) : "";
	p->pod_name = tb[DSTACK_POD_A_POD_NAME] ?
		      nla_get_string(tb[DSTACK_POD_A_POD_NAME]) : "";
	p->workload_id = tb[DSTACK_POD_A_WORKLOAD_ID] ?
			 nla_get_string(tb[DSTACK_POD_A_WORKLOAD_ID]) : "";
	dp_nl_bin(tb[DSTACK_POD_A_SPEC_HASH], p->spec_hash,
		  DSTACK_POD_SPEC_HASH_LEN);
	if (tb[DSTACK_POD_A_SPEC_SOURCE])
		p->spec_source = nla_get_u32(tb[DSTACK_POD_A_SPEC_SOURCE]);
	dp_nl_bin(tb[DSTACK_POD_A_PMR], p->pmr, DSTACK_POD_DIGEST_LEN);
	if (tb[DSTACK_POD_A_EVENT_COUNT])
		p->event_count = nla_get_u32(tb[DSTACK_POD_A_EVENT_COUNT]);
	if (tb[DSTACK_POD_A_GENERATION])
		p->generation = nla_get_u64(tb[DSTACK_POD_A_GENERATION]);
	if (tb[DSTACK_POD_A_ATTEST_COUNT])
		p->attest_count = nla_get_u64(tb[DSTACK_POD_A_ATTEST_COUNT]);
}

static int dp_nl_fill_event(struct nlattr **tb, struct dp_nl_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (!tb[DSTACK_POD_A_EVENT_NAME] || !tb[DSTACK_POD_A_EVENT_DIGEST])
		return -1;
	if (tb[DSTACK_POD_A_EVENT_INDEX])
		ev->index = nla_get_u32(tb[DSTACK_POD_A_EVENT_INDEX]);
	ev->name = nla_get_string(tb[DSTACK_POD_A_EVENT_NAME]);
	if (dp_nl_bin(tb[DSTACK_POD_A_EVENT_DIGEST], ev->digest,
		      DSTACK_POD_DIGEST_LEN) < 0)
		return -1;
	if (tb[DSTACK_POD_A_EVENT_PAYLOAD]) {
		ev->payload = nla_data(tb[DSTACK_POD_A_EVENT_PAYLOAD]);
		ev->payload_len = (size_t)nla_len(tb[DSTACK_POD_A_EVENT_PAYLOAD]);
	}
	return 0;
}

static void dp_nl_fill_fuse(struct nlattr **tb, struct dp_fuse_who *f)
{
	memset(f, 0, sizeof(*f));
	if (tb[DSTACK_POD_A_FUSE_TIME]) {
		f->present = 1;
		f->time = nla_get_u64(tb[DSTACK_POD_A_FUSE_TIME]);
	}
	if (tb[DSTACK_POD_A_FUSE_PID])
		f->pid = nla_get_u32(tb[DSTACK_POD_A_FUSE_PID]);
	if (tb[DSTACK_POD_A_FUSE_UID])
		f->uid = nla_get_u32(tb[DSTACK_POD_A_FUSE_UID]);
	if (tb[DSTACK_POD_A_FUSE_COMM])
		snprintf(f->comm, sizeof(f->comm), "%s",
			 nla_get_string(tb[DSTACK_POD_A_FUSE_COMM]));
	if (tb[DSTACK_POD_A_BINDER_PATH])
		snprintf(f->binder_path, sizeof(f->binder_path), "%s",
			 nla_get_string(tb[DSTACK_POD_A_BINDER_PATH]));
}

static int dp_nl_bad(struct dp_nl_req *req, const char *why)
{
	if (!req->cb_err)
		req->cb_err = dp_seterr(EPROTO, "%s: malformed message from the kernel (%s)",
					req->what, why);
	return NL_SKIP;
}

static int dp_nl_valid_cb(struct nl_msg *msg, void *arg)
{
	struct dp_nl_req *req = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *tb[DSTACK_POD_A_MAX + 1];
	int ret;

	req->nl->stats.messages++;
	if (req->stopped || req->cb_err)
		return NL_SKIP;	/* drain the rest of a dump */
	if (nlh->nlmsg_type != req->nl->family)
		return NL_SKIP;
	if (genlmsg_parse(nlh, 0, tb, DSTACK_POD_A_MAX, dp_nl_policy) < 0)
		return dp_nl_bad(req, "attribute validation failed");

	if (req->status) {
		struct dp_status *s = req->status;

		memset(s, 0, sizeof(*s));
		if (!tb[DSTACK_POD_A_ABI_MAJOR] || !tb[DSTACK_POD_A_MODE])
			return dp_nl_bad(req, "status without ABI or mode");
		s->abi_major = nla_get_u32(tb[DSTACK_POD_A_ABI_MAJOR]);
		if (tb[DSTACK_POD_A_ABI_MINOR])
			s->abi_minor = nla_get_u32(tb[DSTACK_POD_A_ABI_MINOR]);
		s->mode = nla_get_u32(tb[DSTACK_POD_A_MODE]);
		snprintf(s->backend, sizeof(s->backend), "%s",
			 tb[DSTACK_POD_A_BACKEND] ?
			 nla_get_string(tb[DSTACK_POD_A_BACKEND]) : "unknown");
		if (tb[DSTACK_POD_A_EVENT_COUNT])
			s->event_count = nla_get_u32(tb[DSTACK_POD_A_EVENT_COUNT]);
		if (tb[DSTACK_POD_A_MAX_EVENTS])
			s->max_events = nla_get_u32(tb[DSTACK_POD_A_MAX_EVENTS]);
		if (dp_nl_bin(tb[DSTACK_POD_A_RTMR3], s->rtmr3,
			      DSTACK_POD_DIGEST_LEN) > 0)
			s->has_rtmr3 = 1;
		if (tb[DSTACK_POD_A_POD_COUNT])
			s->pod_count = nla_get_u32(tb[DSTACK_POD_A_POD_COUNT]);
		if (tb[DSTACK_POD_A_MAX_PODS])
			s->max_pods = nla_get_u32(tb[DSTACK_POD_A_MAX_PODS]);
		dp_nl_fill_fuse(tb, &s->fuse);
		s->valid = 1;
		return NL_OK;
	}
	if (req->pod_cb) {
		struct dp_nl_pod p;

		if (gh->cmd != DSTACK_POD_CMD_POD_GET)
			return NL_SKIP;
		dp_nl_fill_pod(tb, &p);
		if (!p.has_uid)
			return dp_nl_bad(req, "Pod without POD_UID");
		ret = req->pod_cb(&p, req->ctx);
	} else if (req->event_cb) {
		struct dp_nl_event ev;

		if (gh->cmd != DSTACK_POD_CMD_EVENT_GET)
			return NL_SKIP;
		if (dp_nl_fill_event(tb, &ev))
			return dp_nl_bad(req, "event without name or digest");
		ret = req->event_cb(&ev, req->ctx);
	} else if (req->notify_cb) {
		struct dp_notify n;

		if (gh->cmd != DSTACK_POD_CMD_NOTIFY ||
		    !tb[DSTACK_POD_A_NOTIFY_KIND])
			return NL_SKIP;
		memset(&n, 0, sizeof(n));
		n.kind = nla_get_u32(tb[DSTACK_POD_A_NOTIFY_KIND]);
		if (tb[DSTACK_POD_A_POD_UID]) {
			dp_nl_fill_pod(tb, &n.pod);
			n.has_pod = n.pod.has_uid;
		}
		n.has_event = !dp_nl_fill_event(tb, &n.event);
		dp_nl_fill_fuse(tb, &n.fuse);
		ret = req->notify_cb(&n, req->ctx);
	} else {
		return NL_SKIP;
	}
	if (ret < 0)
		req->cb_err = ret;
	if (ret > 0)
		req->stopped = 1;
	return NL_OK;
}

static struct nl_cb *dp_nl_cb(struct dp_nl_req *req)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		return NULL;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dp_nl_valid_cb, req);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, dp_nl_done_cb, req);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, dp_nl_done_cb, req);
	nl_cb_err(cb, NL_CB_CUSTOM, dp_nl_err_cb, req);
	nl_cb_overwrite_recv(cb, dp_nl_recv_count);
	return cb;
}

/* Turn the outcome of a request into 0 or -errno + message. */
static int dp_nl_result(struct dp_nl_req *req, int nlret)
{
	int err;

	if (req->cb_err)
		return req->cb_err;
	if (req->err) {
		err = -req->err;
		if (req->ext[0])
			return dp_seterr(err, "%s (kernel: %s)", req->what,
					 req->ext);
		switch (err) {
		case EPERM:
			return dp_seterr(err, "%s refused: the dstack_pod netlink commands need CAP_SYS_ADMIN; run as root",
					 req->what);
		case ENOENT:
			return dp_seterr(err, "%s: no such Pod", req->what);
		default:
			return dp_seterr(err, "%s", req->what);
		}
	}
	if (nlret < 0) {
		err = dp_nl_syserr(nlret);
		return dp_seterr(err, "%s: %s", req->what, nl_geterror(nlret));
	}
	return 0;
}

/* Send msg (consumed) and process replies until the request is done. */
static int dp_nl_transact(struct dp_nl *nl, struct nl_msg *msg,
			  struct dp_nl_req *req)
{
	struct nl_cb *cb;
	int ret;

	if (!nl->sk) {
		nlmsg_free(msg);
		return dp_seterr(EBADF, "%s: netlink socket not open", req->what);
	}
	cb = dp_nl_cb(req);
	if (!cb) {
		nlmsg_free(msg);
		return dp_seterr(ENOMEM, "%s", req->what);
	}
	dp_nl_cur = nl;
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		nl_cb_put(cb);
		dp_nl_cur = NULL;
		return dp_seterr(dp_nl_syserr(ret), "%s: send: %s", req->what,
				 nl_geterror(ret));
	}
	ret = 0;
	while (!req->done && ret >= 0)
		ret = nl_recvmsgs(nl->sk, cb);
	nl_cb_put(cb);
	dp_nl_cur = NULL;
	return dp_nl_result(req, ret);
}

static struct nl_msg *dp_nl_msg(struct dp_nl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, DSTACK_POD_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int dp_nl_status(struct dp_nl *nl, struct dp_status *st)
{
	struct dp_nl_req req = { .nl = nl, .what = "status", .status = st };
	struct nl_msg *msg;
	int err;

	memset(st, 0, sizeof(*st));
	msg = dp_nl_msg(nl, DSTACK_POD_CMD_STATUS_GET, NLM_F_ACK);
	if (!msg)
		return dp_seterr(ENOMEM, "status");
	err = dp_nl_transact(nl, msg, &req);
	if (!err && !st->valid)
		err = dp_seterr(EPROTO, "status: the kernel sent no reply");
	return err;
}

int dp_nl_pods(struct dp_nl *nl, dp_nl_pod_cb cb, void *ctx)
{
	struct dp_nl_req req = { .nl = nl, .what = "Pod dump", .pod_cb = cb,
				 .ctx = ctx };
	struct nl_msg *msg = dp_nl_msg(nl, DSTACK_POD_CMD_POD_GET, NLM_F_DUMP);

	if (!msg)
		return dp_seterr(ENOMEM, "Pod dump");
	return dp_nl_transact(nl, msg, &req);
}

int dp_nl_events(struct dp_nl *nl, const uint8_t *pod_uid,
		 dp_nl_event_cb cb, void *ctx)
{
	struct dp_nl_req req = { .nl = nl, .event_cb = cb, .ctx = ctx,
				 .what = pod_uid ? "Pod event dump" :
						   "RTMR3 event dump" };
	struct nl_msg *msg = dp_nl_msg(nl, DSTACK_POD_CMD_EVENT_GET, NLM_F_DUMP);

	if (!msg)
		return dp_seterr(ENOMEM, "%s", req.what);
	if (pod_uid && nla_put(msg, DSTACK_POD_A_POD_UID, DSTACK_POD_UID_LEN,
			       pod_uid) < 0) {
		nlmsg_free(msg);
		return dp_seterr(ENOMEM, "%s", req.what);
	}
	return dp_nl_transact(nl, msg, &req);
}

int dp_nl_subscribe(struct dp_nl *nl)
{
	int grp = nl->mcgrp;

	if (!nl->sk)
		return dp_seterr(EBADF, "subscribe: netlink socket not open");
	if (grp < 0)
		return dp_seterr(ENOENT, "the dstack_pod family has no \"%s\" multicast group (module too old?)",
				 DSTACK_POD_GENL_MCGRP_EVENTS);
	if (setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK,
		       NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0) {
		int err = errno;

		if (err == EPERM || err == EACCES)
			return dp_seterr(err, "subscribing to the \"%s\" group refused: it needs CAP_SYS_ADMIN; run as root",
					 DSTACK_POD_GENL_MCGRP_EVENTS);
		return dp_seterr(err, "subscribing to the \"%s\" group",
				 DSTACK_POD_GENL_MCGRP_EVENTS);
	}
	nl_socket_disable_seq_check(nl->sk);
	nl_socket_set_buffer_size(nl->sk, 4 << 20, 0);
	nl->subscribed = 1;
	return 0;
}

static int dp_nl_noseq_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

int dp_nl_monitor(struct dp_nl *nl, dp_nl_notify_cb cb, void *ctx)
{
	struct dp_nl_req req = { .nl = nl, .what = "monitor",
				 .notify_cb = cb, .ctx = ctx };
	struct nl_cb *ncb;
	struct pollfd pfd;
	int ret = 0, err = 0;

	if (!nl->subscribed) {
		err = dp_nl_subscribe(nl);
		if (err)
			return err;
	}
	ncb = dp_nl_cb(&req);
	if (!ncb)
		return dp_seterr(ENOMEM, "monitor");
	/* Notifications carry sequence number 0: no sequence check. */
	nl_cb_set(ncb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, dp_nl_noseq_cb, NULL);
	nl_socket_set_nonblocking(nl->sk);
	pfd.fd = nl_socket_get_fd(nl->sk);
	pfd.events = POLLIN;
	dp_nl_cur = nl;
	while (!req.stopped && !req.cb_err) {
		/* poll() is never restarted: a signal ends the wait. */
		if (poll(&pfd, 1, -1) < 0) {
			err = errno == EINTR ? dp_seterr(EINTR, "monitor interrupted") :
					       dp_seterr(errno, "monitor: poll");
			break;
		}
		ret = nl_recvmsgs(nl->sk, ncb);
		if (ret == -NLE_AGAIN) {
			ret = 0;
			continue;
		}
		if (ret == -NLE_NOMEM && errno == ENOBUFS) {
			err = dp_seterr(ENOBUFS, "monitor: notifications were lost (receive buffer overrun); restart and resynchronize with list/log");
			break;
		}
		if (ret < 0) {
			err = dp_nl_syserr(ret);
			err = dp_seterr(err, "monitor: %s", nl_geterror(ret));
			break;
		}
	}
	dp_nl_cur = NULL;
	nl_cb_put(ncb);
	if (!err && req.cb_err)
		err = req.cb_err;
	return err;
}

static int dp_nl_collect(const struct dp_nl_event *ev, void *arg)
{
	return dp_log_append(arg, ev->name, ev->digest, ev->payload,
			     ev->payload_len);
}

int dp_nl_read_log(const uint8_t *pod_uid, struct dp_log *log)
{
	struct dp_nl nl;
	int err;

	memset(log, 0, sizeof(*log));
	err = dp_nl_open(&nl);
	if (err)
		return err;
	err = dp_nl_events(&nl, pod_uid, dp_nl_collect, log);
	dp_nl_close(&nl);
	if (err)
		dp_log_free(log);
	return err;
}
