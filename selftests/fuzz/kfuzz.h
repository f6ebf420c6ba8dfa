/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kfuzz: the kernel-surface fuzzer of dstack-pod (Documentation/fuzzing.rst).
 * Shared by the 64-bit fuzzer (kfuzz.c) and its 32-bit compat_ioctl helper
 * (kfuzz32.c): the serialized operation, the coverage map and the KCOV
 * collection, the helper's request and reply.
 */
#ifndef DSTACK_POD_KFUZZ_H
#define DSTACK_POD_KFUZZ_H

#include <stddef.h>
#include <stdint.h>

/* An operation, as executed and as saved in the corpus. */
#define KF_OP_MAGIC	0x504f464bu	/* "KFOP" */
#define KF_ARG_MAX	2048

enum kf_kind {
	KF_IOCTL,	/* sub = ioctl table index, cmd = number issued */
	KF_IOCTL32,	/* the same through the 32-bit helper */
	KF_NL,		/* sub = enum kf_nl_sub */
	KF_CG,		/* sub = enum kf_cg_sub */
	KF_FILE,	/* sub = file table index */
	KF_NKINDS,
};

/* Where a pointer points (the argument, or a pointer inside it). */
enum kf_ptr {
	KF_P_OK,	/* mapped, ends right before a guard page */
	KF_P_SHORT,	/* the second half lies in the guard page */
	KF_P_RO,	/* readable, not writable */
	KF_P_NULL,
	KF_P_GUARD,	/* an unmapped page */
	KF_P_KERNEL,	/* a kernel address */
	KF_P_MISALIGNED,	/* mapped, at an odd address */
	KF_P_NMODES,
};

/*
 * What an fd field receives.  The argument bytes keep the value of the
 * field; KF_R_RAW leaves it as it is.
 */
enum kf_res {
	KF_R_RAW,	/* the raw bytes of the field */
	KF_R_MINUS1,	/* -1 */
	KF_R_CG,	/* fresh O_RDONLY|O_DIRECTORY fd of cgroup cg[i] */
	KF_R_CG_PATH,	/* fresh O_PATH fd of cgroup cg[i] */
	KF_R_CG_CACHED,	/* the worker's long-lived fd of cg[i] (may be stale) */
	KF_R_CLOSED,	/* an fd number that was just closed */
	KF_R_FILE,	/* /dev/null */
	KF_R_DIR,	/* a directory outside cgroupfs (/tmp) */
	KF_R_CGFILE,	/* cgroup.procs of cg[i], a file in cgroupfs */
	KF_R_PIDFD,	/* pidfd of worker cg[i] (pid table index) */
	KF_R_PIDFD_SELF,
	KF_R_PIDFD_DEAD,	/* pidfd of a reaped child */
	KF_R_DEV,	/* /dev/dstack-pod itself */
	KF_R_NRES,
};

struct kf_op {
	uint32_t magic;
	uint8_t kind;
	uint8_t sub;
	uint8_t argmode;	/* enum kf_ptr, the argument */
	uint8_t bufmode;	/* enum kf_ptr, the pointer inside it */
	uint32_t cmd;		/* ioctl number; KF_NL: genl cmd | nlmsg flags << 16 */
	uint32_t buflen;	/* bytes behind the inner pointer; KF_FILE: read size */
	uint8_t res[2];		/* enum kf_res of the fd fields */
	uint8_t cg[2];		/* their cgroup / worker index; KF_CG: operands */
	uint16_t arglen;
	uint16_t aux;		/* KF_NL: genl version | recv size code << 8;
				 * KF_FILE: read offset */
	uint8_t arg[KF_ARG_MAX];
};

#define KF_OP_HDR	offsetof(struct kf_op, arg)

/* Coverage: edges (prev, pc) hashed into a bitmap, and module PCs. */
#define KF_EDGE_BITS	(1u << 18)
#define KF_PC_BITS	(1u << 20)	/* module offsets, byte granularity */
#define KF_KCOV_WORDS	(1u << 16)
#define KF_COV_MAGIC	0x564f434bu	/* "KCOV" */

struct kf_cov {
	uint32_t magic;
	uint32_t enabled;		/* KCOV works in this kernel */
	uint64_t base;			/* module core start (this boot) */
	uint64_t size;			/* module core size */
	char key[64];			/* module srcversion + size: same build */
	uint32_t nedges;		/* bits set in edges[] */
	uint32_t npcs;			/* bits set in pcs[] */
	uint8_t edges[KF_EDGE_BITS / 8];
	uint8_t pcs[KF_PC_BITS / 8];
};

/* The map is shared with the 32-bit helper: one layout for both. */
_Static_assert(offsetof(struct kf_cov, edges) == 96, "kf_cov layout");

/* Host-independent KCOV constants: the 64-bit numbers, also from -m32. */
#define KF_KCOV_INIT_TRACE	0x80086301u	/* _IOR('c', 1, u64) */
#define KF_KCOV_ENABLE		0x6364u		/* _IO('c', 100) */
#define KF_KCOV_DISABLE		0x6365u
#define KF_KCOV_TRACE_PC	0

static inline int kf_setbit(uint8_t *map, uint32_t bit)
{
	uint8_t m = (uint8_t)(1u << (bit & 7));

	if (__atomic_load_n(&map[bit >> 3], __ATOMIC_RELAXED) & m)
		return 0;
	return !(__atomic_fetch_or(&map[bit >> 3], m, __ATOMIC_RELAXED) & m);
}

static inline uint32_t kf_edge_hash(uint64_t prev, uint64_t cur)
{
	uint64_t h = (prev << 32 | cur) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 40) & (KF_EDGE_BITS - 1);
}

/*
 * Take the PCs KCOV recorded for one operation, keep those in the module
 * and return how many edges or PCs nobody had seen before.
 */
static inline unsigned int kf_cov_collect(struct kf_cov *cov,
					  volatile uint64_t *area)
{
	uint64_t n = area[0], prev = 0, i, off;
	unsigned int fresh = 0;

	if (n > KF_KCOV_WORDS - 1)
		n = KF_KCOV_WORDS - 1;
	for (i = 0; i < n; i++) {
		off = area[i + 1] - cov->base;
		if (off >= cov->size || off >= KF_PC_BITS)
			continue;
		if (kf_setbit(cov->pcs, (uint32_t)off)) {
			__atomic_add_fetch(&cov->npcs, 1, __ATOMIC_RELAXED);
			fresh++;
		}
		if (kf_setbit(cov->edges, kf_edge_hash(prev, off))) {
			__atomic_add_fetch(&cov->nedges, 1, __ATOMIC_RELAXED);
			fresh++;
		}
		prev = off;
	}
	return fresh;
}

/* The 32-bit helper's protocol (SOCK_SEQPACKET, fds by SCM_RIGHTS). */
struct kf32_req {
	uint32_t cmd;
	uint16_t arglen;
	uint8_t argmode;
	uint8_t bufmode;
	uint32_t buflen;
	int16_t ptr_off;	/* u64 pointer field, or -1 */
	int16_t fd_off[2];	/* s32 fields that receive the passed fds, or -1 */
	uint8_t nfds;		/* fds passed, in fd_off order */
	uint8_t pad[3];
	uint8_t arg[KF_ARG_MAX];
};

_Static_assert(offsetof(struct kf32_req, arg) == 22, "kf32_req layout");

struct kf32_rep {
	int32_t ret;
	int32_t err;
	uint32_t fresh;		/* new edges/PCs, when KCOV works */
	uint32_t pad;
};

#endif
