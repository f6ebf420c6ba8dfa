/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference dstack-pod cares about lives here, so the
 * core files stay free of version checks.
 *
 *  - v6.2 exports tdx_mcall_get_report0() (CONFIG_INTEL_TDX_GUEST);
 *  - v6.16 exports tdx_mcall_extend_rtmr();
 *  - older kernels, or kernels built without TDX guest support (Debian's
 *    6.1), get the same operations from a raw TDCALL.
 *
 * kmod/Kbuild probes the headers for the helpers and defines
 * DP_HAVE_TDX_GET_REPORT0 / DP_HAVE_TDX_EXTEND_RTMR; they are used only when
 * the kernel is also built with CONFIG_INTEL_TDX_GUEST.
 */
#ifndef DSTACK_POD_COMPAT_H
#define DSTACK_POD_COMPAT_H

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/cpufeature.h>
#include <asm/io.h>

#if IS_ENABLED(CONFIG_INTEL_TDX_GUEST)
#include <asm/tdx.h>
#else
#undef DP_HAVE_TDX_GET_REPORT0
#undef DP_HAVE_TDX_EXTEND_RTMR
#endif

/* TDCALL leaves (TDX module ABI). */
#define DP_TDG_MR_RTMR_EXTEND		2
#define DP_TDG_MR_REPORT		4
#define DP_TDG_MR_VERIFYREPORT		22

/* TDCALL completion status classes (bits 63:32 of RAX). */
#define DP_TDCALL_STATUS_MASK		0xFFFFFFFF00000000ULL
#define DP_TDCALL_OPERAND_INVALID	0xC000010000000000ULL
#define DP_TDCALL_OPERAND_BUSY		0x8000020000000000ULL

static inline bool dp_tdx_guest(void)
{
	return cpu_feature_enabled(X86_FEATURE_TDX_GUEST);
}

/* TDCALL: opcode 66 0f 01 cc.  Returns RAX, the completion status. */
static inline u64 dp_tdcall(u64 leaf, u64 rcx, u64 rdx, u64 r8)
{
	register u64 r8_ asm("r8") = r8;
	register u64 r9_ asm("r9") = 0;
	register u64 r10_ asm("r10") = 0;
	register u64 r11_ asm("r11") = 0;

	asm volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
		     : "+a" (leaf), "+c" (rcx), "+d" (rdx), "+r" (r8_),
		       "+r" (r9_), "+r" (r10_), "+r" (r11_)
		     :
		     : "memory");
	return leaf;
}

static inline int dp_tdcall_errno(u64 status)
{
	switch (status & DP_TDCALL_STATUS_MASK) {
	case 0:
		return 0;
	case DP_TDCALL_OPERAND_BUSY:
		return -EBUSY;
	case DP_TDCALL_OPERAND_INVALID:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static inline int dp_tdx_get_report0(u8 *reportdata, u8 *tdreport)
{
#ifdef DP_HAVE_TDX_GET_REPORT0
	return tdx_mcall_get_report0(reportdata, tdreport);
#else
	return dp_tdcall_errno(dp_tdcall(DP_TDG_MR_REPORT, virt_to_phys(tdreport),
					 virt_to_phys(reportdata), 0));
#endif
}

static inline int dp_tdx_extend_rtmr(u8 index, u8 *digest)
{
#ifdef DP_HAVE_TDX_EXTEND_RTMR
	return tdx_mcall_extend_rtmr(index, digest);
#else
	return dp_tdcall_errno(dp_tdcall(DP_TDG_MR_RTMR_EXTEND,
					 virt_to_phys(digest), index, 0));
#endif
}

/*
 * No kernel exports VERIFYREPORT: always the raw call (TDX module 1.5+).
 * Our buffer is always valid and aligned, so "operand invalid" means a TDX
 * module without the leaf; any other failure is a MAC that does not verify.
 */
static inline int dp_tdx_verify_report(u8 *reportmac)
{
	u64 st = dp_tdcall(DP_TDG_MR_VERIFYREPORT, virt_to_phys(reportmac), 0, 0);

	switch (st & DP_TDCALL_STATUS_MASK) {
	case 0:
		return 0;
	case DP_TDCALL_OPERAND_BUSY:
		return -EBUSY;
	case DP_TDCALL_OPERAND_INVALID:
		return -EOPNOTSUPP;
	default:
		return -EBADMSG;
	}
}

/*
 * The struct pid behind a pidfd.  The kernel's pidfd_pid() and the pidfd
 * file operations are not exported, so each version is recognised by
 * what it does offer:
 *
 *  - v6.9+ (pidfs): <linux/magic.h> defines PID_FS_MAGIC, every file of
 *    that filesystem is a pidfd, and the inode's ->i_private is the pid.
 *    pidfds are never anon-inode files there, so nothing else is tried.
 *  - before: pidfds are files of the shared anon inode with the pid in
 *    ->private_data.  The only mark that tells them from other anon-inode
 *    files (eventfd, signalfd, ...) is the name anon_inode_getfile() gave
 *    them, "[pidfd]"; only kernel code can create such a file.
 */
#ifdef PID_FS_MAGIC
static inline struct pid *dp_pidfd_pid(struct file *file)
{
	if (file_inode(file)->i_sb->s_magic != PID_FS_MAGIC)
		return ERR_PTR(-EBADF);
	return file_inode(file)->i_private;
}
#else
static inline struct pid *dp_pidfd_pid(struct file *file)
{
	if (file_inode(file)->i_sb->s_magic != ANON_INODE_FS_MAGIC ||
	    strcmp(file->f_path.dentry->d_name.name, "[pidfd]"))
		return ERR_PTR(-EBADF);
	return file->private_data;
}
#endif

/*
 * The struct pid of a socket's peer, referenced, or NULL: for AF_UNIX the
 * thread group of the process that called connect() or socketpair(), the
 * pid SO_PEERCRED reports.  sk_peer_lock guards sk_peer_pid from v5.15 on
 * (every kernel dstack-pod builds for; Kbuild probes for it): without it
 * the field could be replaced while it is read.
 */
#include <net/sock.h>
#ifndef DP_HAVE_SK_PEER_LOCK
#error "dstack-pod needs struct sock's sk_peer_lock (v5.15 or later)"
#endif
static inline struct pid *dp_sock_peer_pid(struct sock *sk)
{
	struct pid *pid;

	spin_lock(&sk->sk_peer_lock);
	pid = get_pid(sk->sk_peer_pid);
	spin_unlock(&sk->sk_peer_lock);
	return pid;
}

/*
 * Subscribing to a generic netlink group needs CAP_SYS_ADMIN where the
 * kernel can say so (GENL_MCAST_CAP_SYS_ADMIN, v6.6 and backports such as
 * Debian's 6.1); elsewhere the family has no group at all.
 */
#include <net/genetlink.h>
#ifdef GENL_MCAST_CAP_SYS_ADMIN
#define DP_GENL_MCAST_ADMIN	GENL_MCAST_CAP_SYS_ADMIN
#define DP_HAVE_ADMIN_MCAST	1
#else
/* Anyone could join the group: offer no group and send no notifications. */
#define DP_GENL_MCAST_ADMIN	0
#define DP_HAVE_ADMIN_MCAST	0
#endif

/* Request attributes of a dump: genl_info_dump() from v6.6 (Kbuild probe). */
static inline struct nlattr **dp_genl_dump_attrs(struct netlink_callback *cb)
{
#ifdef DP_HAVE_GENL_INFO_DUMP
	return genl_info_dump(cb)->attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/* <asm/unaligned.h> moved to <linux/unaligned.h> in v6.12 (Kbuild probe). */
#ifdef DP_HAVE_LINUX_UNALIGNED
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/*
 * bin2hex() and hex_to_bin() are declared in <linux/hex.h> where it exists
 * (v6.x, Kbuild probe); <linux/kernel.h> stopped including it in v7.x.
 * Older kernels declare them in <linux/kernel.h>.
 */
#ifdef DP_HAVE_LINUX_HEX_H
#include <linux/hex.h>
#else
#include <linux/kernel.h>
#endif

#endif /* DSTACK_POD_COMPAT_H */
