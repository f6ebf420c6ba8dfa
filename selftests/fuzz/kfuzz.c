// SPDX-License-Identifier: GPL-2.0
/*
 * kfuzz: coverage-guided fuzzer of dstack-pod's kernel surfaces, run as
 * root inside the test VM (scripts/fuzz-kernel, `make fuzz-kernel`).
 *
 * One run is one episode: the parent builds a cgroup tree, loads the corpus
 * and the coverage map of earlier episodes from --out, forks --workers
 * processes in different cgroups and roles, watches the kernel log, and
 * saves the new seeds, the coverage and a crash's last operations.  Each
 * worker executes operations drawn from its own PRNG (seeded from --seed
 * and its index): ioctls (direct, and compat through the 32-bit helper
 * kfuzz32) built as valid structures and then mutated field by field,
 * generic netlink requests built with libnl-3 and mutated attribute by
 * attribute, cgroup mkdir/rmdir/migrations, sysfs/securityfs/parameter
 * reads and writes, and the fuse when the episode allows it.  With KCOV
 * (/sys/kernel/debug/kcov) each operation's PCs inside the module are
 * hashed into a shared edge map and an operation that reaches a new edge is
 * saved as a seed; without KCOV the run is unguided and says so.
 *
 * Documentation/fuzzing.rst describes the design, the options and the
 * output directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <linux/dstack_pod.h>

#include "kfuzz.h"

#define CGROOT		"/sys/fs/cgroup"
#define CGTOP		CGROOT "/kfuzz"
#define KCOV_PATH	"/sys/kernel/debug/kcov"
#define SFS_EVENTS	"/sys/kernel/security/dstack-pod/runtime_events"
#define MAX_WORKERS	16
#define RING_LINES	64
#define RING_OPS	8
#define LINE_LEN	224
#define CORPUS_MAX	8192
#define NOBODY		65534
#define HANG_MS		120000	/* no progress for this long: hung */

/* ------------------------------------------------------------------ */
/* Options and shared state                                           */

static struct {
	const char *out;
	uint64_t seed;
	unsigned int seconds;
	unsigned int workers;
	bool fuse;
	uint64_t fuse_at;	/* CLOCK_MONOTONIC ms from which it may blow */
	bool fuse_binder;	/* only with a binder cgroup (no -1, no sysfs) */
	bool verbose;
	const char *replay;
	const char *helper;
} opt = { .seconds = 60, .workers = 5 };

struct ring {
	uint64_t nops;
	int32_t pid;
	int32_t helper_pid;
	uint32_t done;
	uint64_t stats[KF_NKINDS];
	uint64_t errs;		/* calls that failed (expected errors) */
	uint64_t fresh;		/* ops that found new coverage */
	uint64_t anomalies;
	struct kf_op last[RING_OPS];
	char lines[RING_LINES][LINE_LEN];
};

struct shared {
	volatile int stop;
	int fused;
	uint32_t anomalies;
	int32_t pids[MAX_WORKERS * 2];	/* workers, then their helpers */
	struct ring rings[MAX_WORKERS];
};

static struct shared *sh;
static struct kf_cov *cov;
static struct kf_op *corpus;
static unsigned int ncorpus;

/* ------------------------------------------------------------------ */
/* PRNG: splitmix64, one state per worker                             */

static uint64_t rs;

static uint64_t rnd64(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(rnd64() % n) : 0;
}

static bool chance(uint32_t pct)
{
	return rnd(100) < pct;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)rnd64();
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "kfuzz: error: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* Cgroups                                                            */

enum {
	CG_BINDER, CG_NODE,
	CG_POD0,		/* 8 Pod cgroups */
	CG_NESTED0 = CG_POD0 + 8,	/* pod0..3/c */
	CG_TOP = CG_NESTED0 + 4,
	CG_ROOT,
	CG_BINDER_CHILD,
	CG_V1A, CG_V1B,		/* a named cgroup v1 hierarchy */
	NCG,
};

#define CGV1		"/tmp/kfuzz-v1"

static void cg_path(unsigned int i, char *buf, size_t size)
{
	i %= NCG;
	if (i == CG_BINDER)
		snprintf(buf, size, CGTOP "/binder");
	else if (i == CG_NODE)
		snprintf(buf, size, CGTOP "/node");
	else if (i < CG_NESTED0)
		snprintf(buf, size, CGTOP "/pod%u", i - CG_POD0);
	else if (i < CG_TOP)
		snprintf(buf, size, CGTOP "/pod%u/c", i - CG_NESTED0);
	else if (i == CG_TOP)
		snprintf(buf, size, CGTOP);
	else if (i == CG_ROOT)
		snprintf(buf, size, CGROOT);
	else if (i == CG_BINDER_CHILD)
		snprintf(buf, size, CGTOP "/binder/b");
	else
		snprintf(buf, size, CGV1 "/%c", i == CG_V1A ? 'a' : 'b');
}

static int cg_open(unsigned int i, int flags)
{
	char p[128];

	cg_path(i, p, sizeof(p));
	return open(p, flags | O_CLOEXEC);
}

static int write_str(const char *path, const char *s, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static int cg_move(unsigned int i, pid_t pid)
{
	char p[160], s[24];

	cg_path(i, p, sizeof(p));
	strcat(p, "/cgroup.procs");
	snprintf(s, sizeof(s), "%d", (int)pid);
	return write_str(p, s, strlen(s));
}

/* Move every process of cgroup @i to the node cgroup. */
static void cg_evacuate(unsigned int i)
{
	char p[160], s[24];
	FILE *f;
	int pid;

	cg_path(i, p, sizeof(p));
	strcat(p, "/cgroup.procs");
	f = fopen(p, "re");
	if (!f)
		return;
	while (fscanf(f, "%d", &pid) == 1) {
		if (i < CG_V1A) {
			cg_move(CG_NODE, pid);
			continue;
		}
		snprintf(s, sizeof(s), "%d", pid);
		write_str(CGV1 "/cgroup.procs", s, strlen(s));
	}
	fclose(f);
}

/* The Pod UID text of binding slot @k (variant @v), as the binder uses it. */
static void pod_uid(unsigned int k, unsigned int v, char out[40])
{
	memset(out, 0, 40);
	snprintf(out, 40, "%08x-4f00-4a%02x-8b%02x-%012x", 0x6b66757au + k,
		 v & 0xff, k & 0xff, 0xc0ffee + v);
}

/* ------------------------------------------------------------------ */
/* The ioctls: layout of every argument                               */

enum ft {
	F_RSV,		/* reserved or flags: must be zero */
	F_FD,		/* s32 fd, fixed up from res[] */
	F_PTR,		/* u64 user pointer, fixed up from bufmode/buflen */
	F_LEN,		/* u32 length of the pointer's buffer */
	F_NAME,		/* event name array */
	F_UID,		/* pod_uid text array */
	F_TEXT,		/* workload/namespace/name arrays */
	F_U32,
	F_BYTES,
	F_OUT,		/* output only */
};

struct field {
	uint16_t off, size;
	uint8_t type;
};

struct ioc {
	const char *name;
	uint32_t cmd;
	uint16_t size;
	bool priv_first;	/* EPERM before anything else when unprivileged */
	const struct field *f;
	unsigned int nf;
	const int *errs;	/* documented errno values, 0-terminated */
};

#define FLD(s, m, t) { offsetof(struct s, m), sizeof(((struct s *)0)->m), t }
#define ARR(a) a, sizeof(a) / sizeof(a[0])

static const struct field f_version[] = {
	FLD(dstack_pod_version, abi_major, F_OUT),
	FLD(dstack_pod_version, reserved, F_OUT),
};

static const struct field f_extend[] = {
	FLD(dstack_pod_extend, name, F_NAME),
	FLD(dstack_pod_extend, payload, F_PTR),
	FLD(dstack_pod_extend, payload_len, F_LEN),
	FLD(dstack_pod_extend, flags, F_RSV),
	FLD(dstack_pod_extend, digest, F_OUT),
	FLD(dstack_pod_extend, index, F_OUT),
	FLD(dstack_pod_extend, reserved, F_RSV),
};

static const struct field f_report[] = {
	FLD(dstack_pod_report, report_data, F_BYTES),
	FLD(dstack_pod_report, reserved, F_RSV),
	FLD(dstack_pod_report, tdreport, F_OUT),
};

static const struct field f_fuse[] = {
	FLD(dstack_pod_fuse, binder_cgroup_fd, F_FD),
	FLD(dstack_pod_fuse, flags, F_RSV),
	FLD(dstack_pod_fuse, reserved, F_RSV),
	FLD(dstack_pod_fuse, digest, F_OUT),
	FLD(dstack_pod_fuse, index, F_OUT),
	FLD(dstack_pod_fuse, reserved2, F_RSV),
};

static const struct field f_verify[] = {
	FLD(dstack_pod_verify_report, reportmac, F_BYTES),
	FLD(dstack_pod_verify_report, reserved, F_RSV),
};

static const struct field f_bind[] = {
	FLD(dstack_pod_bind, cgroup_fd, F_FD),
	FLD(dstack_pod_bind, spec_source, F_U32),
	FLD(dstack_pod_bind, pod_uid, F_UID),
	FLD(dstack_pod_bind, workload_id, F_TEXT),
	FLD(dstack_pod_bind, pod_namespace, F_TEXT),
	FLD(dstack_pod_bind, pod_name, F_TEXT),
	FLD(dstack_pod_bind, pod_spec_hash, F_BYTES),
	FLD(dstack_pod_bind, generation, F_OUT),
	FLD(dstack_pod_bind, cgroup_id, F_OUT),
	FLD(dstack_pod_bind, reserved, F_RSV),
};

static const struct field f_unbind[] = {
	FLD(dstack_pod_unbind, pod.cgroup_fd, F_FD),
	FLD(dstack_pod_unbind, pod.reserved0, F_RSV),
	FLD(dstack_pod_unbind, pod.pod_uid, F_UID),
	FLD(dstack_pod_unbind, generation, F_OUT),
	FLD(dstack_pod_unbind, reserved, F_RSV),
};

static const struct field f_pod_extend[] = {
	FLD(dstack_pod_pod_extend, pod.cgroup_fd, F_FD),
	FLD(dstack_pod_pod_extend, pod.reserved0, F_RSV),
	FLD(dstack_pod_pod_extend, pod.pod_uid, F_UID),
	FLD(dstack_pod_pod_extend, name, F_NAME),
	FLD(dstack_pod_pod_extend, payload, F_PTR),
	FLD(dstack_pod_pod_extend, payload_len, F_LEN),
	FLD(dstack_pod_pod_extend, flags, F_RSV),
	FLD(dstack_pod_pod_extend, pmr, F_OUT),
	FLD(dstack_pod_pod_extend, digest, F_OUT),
	FLD(dstack_pod_pod_extend, index, F_OUT),
	FLD(dstack_pod_pod_extend, reserved, F_RSV),
};

static const struct field f_attest[] = {
	FLD(dstack_pod_attest, nonce, F_BYTES),
	FLD(dstack_pod_attest, nonce_len, F_U32),
	FLD(dstack_pod_attest, pidfd, F_FD),
	FLD(dstack_pod_attest, reserved, F_RSV),
	FLD(dstack_pod_attest, claims, F_OUT),
	FLD(dstack_pod_attest, tdreport, F_OUT),
};

static const struct field f_pod_log[] = {
	FLD(dstack_pod_pod_log, start, F_U32),
	FLD(dstack_pod_pod_log, count, F_OUT),
	FLD(dstack_pod_pod_log, buf, F_PTR),
	FLD(dstack_pod_pod_log, buf_len, F_LEN),
	FLD(dstack_pod_pod_log, used, F_OUT),
	FLD(dstack_pod_pod_log, total, F_OUT),
	FLD(dstack_pod_pod_log, reserved, F_RSV),
};

/* Documented errno values (Documentation/uapi.rst), backend ones included. */
#define BACKEND EBUSY, EIO, ENOMEM, EINVAL
static const int e_version[] = { EFAULT, 0 };
static const int e_extend[] = { EPERM, EFAULT, EINVAL, E2BIG, ENOSPC, BACKEND, 0 };
static const int e_report[] = { EPERM, EFAULT, EINVAL, BACKEND, 0 };
static const int e_fuse[] = { EPERM, EFAULT, EINVAL, EBADF, ENOENT, ENAMETOOLONG,
			      EALREADY, BACKEND, 0 };
static const int e_verify[] = { EFAULT, EINVAL, EBADMSG, BACKEND, 0 };
static const int e_bind[] = { EFAULT, EINVAL, ENOMEM, EBADF, ENOENT, EPERM, EEXIST,
			      EBUSY, ENOTUNIQ, ENOSPC, 0 };
static const int e_unbind[] = { EFAULT, EINVAL, EPERM, EBADF, ENOENT, 0 };
static const int e_pod_extend[] = { EFAULT, EINVAL, E2BIG, ENOMEM, EPERM, EBADF,
				    ENOENT, ENOSPC, 0 };
static const int e_attest[] = { ENOMEM, EFAULT, EINVAL, ENOENT, BACKEND, 0 };
static const int e_attest_pid[] = { ENOMEM, EFAULT, EINVAL, EPERM, EBADF, ESRCH,
				    ENOENT, BACKEND, 0 };
static const int e_pod_log[] = { EFAULT, EINVAL, ENOMEM, ENOENT, ENOBUFS, 0 };

enum {
	I_VERSION, I_EXTEND, I_REPORT, I_FUSE, I_VERIFY, I_BIND, I_UNBIND,
	I_POD_EXTEND, I_ATTEST, I_ATTEST_PID, I_POD_LOG, NIOC,
};

static const struct ioc iocs[NIOC] = {
	[I_VERSION] = { "version", DSTACK_POD_IOC_VERSION,
		sizeof(struct dstack_pod_version), false, ARR(f_version), e_version },
	[I_EXTEND] = { "extend", DSTACK_POD_IOC_EXTEND,
		sizeof(struct dstack_pod_extend), true, ARR(f_extend), e_extend },
	[I_REPORT] = { "node_report", DSTACK_POD_IOC_NODE_REPORT,
		sizeof(struct dstack_pod_report), true, ARR(f_report), e_report },
	[I_FUSE] = { "fuse", DSTACK_POD_IOC_FUSE,
		sizeof(struct dstack_pod_fuse), true, ARR(f_fuse), e_fuse },
	[I_VERIFY] = { "verify_report", DSTACK_POD_IOC_VERIFY_REPORT,
		sizeof(struct dstack_pod_verify_report), false, ARR(f_verify), e_verify },
	[I_BIND] = { "bind", DSTACK_POD_IOC_BIND,
		sizeof(struct dstack_pod_bind), false, ARR(f_bind), e_bind },
	[I_UNBIND] = { "unbind", DSTACK_POD_IOC_UNBIND,
		sizeof(struct dstack_pod_unbind), false, ARR(f_unbind), e_unbind },
	[I_POD_EXTEND] = { "pod_extend", DSTACK_POD_IOC_POD_EXTEND,
		sizeof(struct dstack_pod_pod_extend), false, ARR(f_pod_extend),
		e_pod_extend },
	[I_ATTEST] = { "attest", DSTACK_POD_IOC_ATTEST,
		sizeof(struct dstack_pod_attest), false, ARR(f_attest), e_attest },
	[I_ATTEST_PID] = { "attest_pid", DSTACK_POD_IOC_ATTEST_PID,
		sizeof(struct dstack_pod_attest), false, ARR(f_attest), e_attest_pid },
	[I_POD_LOG] = { "pod_log", DSTACK_POD_IOC_POD_LOG,
		sizeof(struct dstack_pod_pod_log), false, ARR(f_pod_log), e_pod_log },
};

static const struct field *field_of(const struct ioc *d, uint8_t type, int nth)
{
	unsigned int i;

	for (i = 0; i < d->nf; i++)
		if (d->f[i].type == type && nth-- == 0)
			return &d->f[i];
	return NULL;
}

static uint32_t get32(const struct kf_op *op, unsigned int off)
{
	uint32_t v;

	memcpy(&v, op->arg + off, 4);
	return v;
}

/* ------------------------------------------------------------------ */
/* Generation: a valid argument for each ioctl                        */

static void gen_name(char *name)
{
	static const char *const base[] = {
		"platform.kubelet", "container.web", "kf.event", "a", "x.y-z_1",
	};
	unsigned int n;

	memset(name, 0, DSTACK_POD_EVENT_NAME_SIZE);
	if (chance(20)) {
		n = 1 + rnd(DSTACK_POD_EVENT_NAME_MAX);
		for (unsigned int i = 0; i < n; i++)
			name[i] = (char)(0x21 + rnd(0x5e));
		for (unsigned int i = 0; i < n; i++)
			if (name[i] == ':')
				name[i] = '.';
		if (!strncmp(name, DSTACK_POD_EVENT_PREFIX, 11))
			name[0] = 'k';
	} else {
		snprintf(name, DSTACK_POD_EVENT_NAME_SIZE, "%s.%u",
			 base[rnd(5)], rnd(1000));
	}
}

static void gen_text(char *p, size_t size, bool spaces)
{
	static const char *const words[] = {
		"default", "kube-system", "web", "db-0", "ns/name", "a",
	};

	memset(p, 0, size);
	snprintf(p, size, "%s%s%u", words[rnd(6)], spaces ? " " : "-", rnd(100));
}

static unsigned int pick_pod_cg(void)
{
	return chance(80) ? CG_POD0 + rnd(8) : rnd(NCG);
}

static void gen_ioctl(struct kf_op *op, unsigned int i)
{
	const struct ioc *d = &iocs[i];

	memset(op, 0, KF_OP_HDR);
	op->magic = KF_OP_MAGIC;
	op->kind = KF_IOCTL;
	op->sub = (uint8_t)i;
	op->cmd = d->cmd;
	op->arglen = d->size;
	memset(op->arg, 0, d->size);
	op->res[0] = op->res[1] = KF_R_RAW;

	switch (i) {
	case I_EXTEND: {
		struct dstack_pod_extend *a = (void *)op->arg;

		gen_name(a->name);
		op->buflen = chance(30) ? 0 : rnd(chance(10) ? 4097 : 128);
		a->payload_len = op->buflen;
		break;
	}
	case I_REPORT:
		rnd_bytes(op->arg, DSTACK_POD_REPORTDATA_LEN);
		break;
	case I_FUSE:
		op->res[0] = chance(70) ? KF_R_CG : KF_R_MINUS1;
		op->cg[0] = chance(80) ? CG_BINDER : (uint8_t)rnd(NCG);
		break;
	case I_VERIFY:
		/* Filled from the last report at execution when aux is 1. */
		op->aux = chance(70);
		rnd_bytes(op->arg, DSTACK_POD_REPORTMAC_LEN);
		break;
	case I_BIND: {
		struct dstack_pod_bind *a = (void *)op->arg;
		unsigned int k = pick_pod_cg();

		op->res[0] = KF_R_CG;
		op->cg[0] = (uint8_t)k;
		a->spec_source = rnd(3);
		pod_uid(k, rnd(3), a->pod_uid);
		gen_text(a->workload_id, sizeof(a->workload_id), chance(30));
		if (chance(70))
			gen_text(a->pod_namespace, sizeof(a->pod_namespace), false);
		if (chance(70))
			gen_text(a->pod_name, sizeof(a->pod_name), false);
		rnd_bytes(a->pod_spec_hash, sizeof(a->pod_spec_hash));
		break;
	}
	case I_UNBIND:
	case I_POD_EXTEND: {
		struct dstack_pod_select *s = (void *)op->arg;
		unsigned int k = pick_pod_cg();

		if (chance(50)) {
			op->res[0] = KF_R_CG;
			op->cg[0] = (uint8_t)k;
		} else {
			op->res[0] = KF_R_MINUS1;
			pod_uid(k, rnd(3), s->pod_uid);
		}
		if (i == I_POD_EXTEND) {
			struct dstack_pod_pod_extend *a = (void *)op->arg;

			gen_name(a->name);
			op->buflen = chance(30) ? 0 : rnd(chance(10) ? 4097 : 256);
			a->payload_len = op->buflen;
		}
		break;
	}
	case I_ATTEST:
	case I_ATTEST_PID: {
		struct dstack_pod_attest *a = (void *)op->arg;

		a->nonce_len = rnd(DSTACK_POD_NONCE_MAX + 1);
		rnd_bytes(a->nonce, a->nonce_len);
		if (i == I_ATTEST) {
			op->res[0] = KF_R_MINUS1;
		} else {
			op->res[0] = chance(85) ? KF_R_PIDFD : KF_R_PIDFD_SELF;
			op->cg[0] = (uint8_t)rnd(MAX_WORKERS * 2);
		}
		break;
	}
	case I_POD_LOG: {
		struct dstack_pod_pod_log *a = (void *)op->arg;
		static const uint32_t lens[] = { 0, 1, 100, 200, 8192 + 256, 65536 };

		a->start = chance(70) ? 0 : rnd(8);
		op->buflen = lens[rnd(6)];
		a->buf_len = op->buflen;
		break;
	}
	}
}

/* ------------------------------------------------------------------ */
/* Mutation, field by field                                           */

static const uint32_t interesting32[] = {
	0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 127, 128,
	255, 256, 1023, 1024, 4095, 4096, 4097, 8191, 8192, 8448, 65535, 65536,
	262143, 262144, 262145, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
};

static void mut_string(char *p, size_t size, bool is_name)
{
	size_t len = strnlen(p, size);

	switch (rnd(12)) {
	case 0:			/* no terminator */
		memset(p, 'A', size);
		break;
	case 1:			/* a byte after the NUL */
		if (len + 1 < size)
			p[len + 1 + rnd((uint32_t)(size - len - 1))] = (char)(1 + rnd(255));
		break;
	case 2:			/* empty */
		memset(p, 0, size);
		break;
	case 3:			/* a byte out of range */
		if (len)
			p[rnd((uint32_t)len)] = "\x01 :\x7f\x80\xff\t"[rnd(7)];
		break;
	case 4:			/* exactly the maximum, and one more */
	case 5: {
		size_t n = size - (is_name ? 8 : 3) + (rnd(2) ? 1 : 0);

		memset(p, 0, size);
		if (n >= size)
			n = size - 1;
		memset(p, 'm', n);
		break;
	}
	case 6:			/* the module's reserved prefix */
		memset(p, 0, size);
		snprintf(p, size, "%s", rnd(2) ? DSTACK_POD_EVENT_FUSE :
			 DSTACK_POD_EVENT_PREFIX "x");
		break;
	case 7:
		memset(p, 0, size);
		snprintf(p, size, "dstack-pod");
		break;
	default:		/* a random byte anywhere */
		p[rnd((uint32_t)size)] = (char)rnd64();
		break;
	}
}

static void mut_uid(char *p)
{
	char *dash;

	switch (rnd(8)) {
	case 0:
		for (int i = 0; i < 36; i++)
			if (p[i] >= 'a' && p[i] <= 'f')
				p[i] -= 32;
		break;
	case 1:
		dash = memchr(p, '-', 40);
		if (dash)
			memmove(dash, dash + 1, (size_t)(p + 39 - dash));
		break;
	case 2:
		p[36 + rnd(4)] = (char)(1 + rnd(255));
		break;
	case 3:
		memset(p, 0, 40);
		break;
	case 4:
		pod_uid(rnd(NCG), rnd(4), p);
		break;
	case 5:
		memset(p, 0, 40);
		snprintf(p, 40, "{%08x-0000-0000-0000-000000000000}", rnd(8));
		break;
	default:
		p[rnd(40)] = (char)rnd64();
		break;
	}
}

static void mut_ioctl_field(struct kf_op *op)
{
	const struct ioc *d = &iocs[op->sub % NIOC];
	const struct field *f = &d->f[rnd(d->nf)];
	uint8_t *p = op->arg + f->off;
	uint32_t v;

	switch (f->type) {
	case F_RSV:
	case F_OUT:
		p[rnd(f->size)] = (uint8_t)(1u << rnd(8));
		break;
	case F_FD:
		op->res[0] = (uint8_t)rnd(KF_R_NRES);
		op->cg[0] = (uint8_t)rnd(op->res[0] == KF_R_PIDFD ? MAX_WORKERS * 2 : NCG);
		if (op->res[0] == KF_R_RAW) {
			static const int32_t bad[] = { -2, -1000, INT32_MIN, INT32_MAX,
						       0, 1, 2, 1023, 4096 };
			int32_t b = bad[rnd(9)];

			memcpy(p, &b, 4);
		}
		break;
	case F_PTR:
		op->bufmode = (uint8_t)rnd(KF_P_NMODES);
		if (chance(30))
			op->buflen = interesting32[rnd(27)];
		break;
	case F_LEN:
	case F_U32:
		v = chance(70) ? interesting32[rnd(sizeof(interesting32) / 4)] :
			(uint32_t)rnd64();
		if (f->type == F_LEN && chance(40))
			v = op->buflen + rnd(3) - 1;
		memcpy(p, &v, 4);
		break;
	case F_NAME:
		mut_string((char *)p, f->size, true);
		break;
	case F_UID:
		mut_uid((char *)p);
		break;
	case F_TEXT:
		mut_string((char *)p, f->size, false);
		break;
	case F_BYTES:
		if (op->sub == I_VERIFY && chance(50))
			op->aux ^= 1;
		else
			p[rnd(f->size)] ^= (uint8_t)(1u << rnd(8));
		break;
	}
}

static void mut_ioctl(struct kf_op *op)
{
	uint32_t c = iocs[op->sub % NIOC].cmd;

	switch (rnd(16)) {
	case 0:			/* the argument pointer */
		op->argmode = (uint8_t)rnd(KF_P_NMODES);
		break;
	case 1:			/* the command number: size, direction, nr, type */
		switch (rnd(5)) {
		case 0:
			c = (c & ~((uint32_t)_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
			    (rnd(4096) << _IOC_SIZESHIFT);
			break;
		case 1:
			c ^= (1u + rnd(3)) << _IOC_DIRSHIFT;
			break;
		case 2:
			c = (c & ~0xffu) | (0x0a + rnd(246));
			break;
		case 3:
			c = (c & ~0xff00u) | (rnd(256) << 8);
			break;
		default:
			c = (uint32_t)rnd64();
			break;
		}
		op->cmd = c;
		break;
	case 2:			/* any byte */
		op->arg[rnd(op->arglen ? op->arglen : 1)] ^= (uint8_t)rnd64();
		break;
	case 3:			/* the second fd slot: pidfds etc. in a select */
		op->res[1] = (uint8_t)rnd(KF_R_NRES);
		op->cg[1] = (uint8_t)rnd(NCG);
		break;
	default:
		mut_ioctl_field(op);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Generic netlink                                                    */

enum kf_nl_sub {
	NL_REQ,		/* one request, every reply read */
	NL_PARTIAL,	/* a dump, one read, then the socket closed */
	NL_RAW,		/* the serialized request with its header mutated */
	NL_MCAST,	/* join/leave/drain the events group */
	NL_NSUB,
};

struct nlctx {
	struct nl_sock *sk;
	struct nl_sock *mc;
	int family;
	int group;
	bool joined;
};

static void put_attr(struct nl_msg *m, int type, unsigned int len)
{
	uint8_t buf[4200];

	if (len > sizeof(buf))
		len = sizeof(buf);
	rnd_bytes(buf, len);
	nla_put(m, type, (int)len, buf);
}

/* The attribute stream of a request, built with libnl, kept in op->arg. */
static void gen_nl(struct kf_op *op, bool mutate)
{
	static const unsigned int lens[] = { 0, 1, 4, 8, 15, 16, 17, 32, 48, 200 };
	struct nl_msg *m = nlmsg_alloc_size(8192);
	struct nlmsghdr *h;
	unsigned int cmd = DSTACK_POD_CMD_STATUS_GET + rnd(3), n, len;
	uint32_t flags = cmd == DSTACK_POD_CMD_STATUS_GET ? 0 : NLM_F_DUMP;
	uint8_t uid[16];

	memset(op, 0, KF_OP_HDR);
	op->magic = KF_OP_MAGIC;
	op->kind = KF_NL;
	op->sub = chance(80) ? NL_REQ : (uint8_t)rnd(NL_NSUB);
	op->aux = DSTACK_POD_GENL_VERSION | (uint16_t)(rnd(4) << 8);
	if (!m)
		return;
	h = nlmsg_hdr(m);
	genlmsg_put(m, 0, 0, 0x10, 0, 0, 0, 1);
	if (cmd == DSTACK_POD_CMD_EVENT_GET && chance(60)) {
		/* A Pod's log: the binary form of a UID the binder uses. */
		char t[40];
		unsigned int j, o = 0;

		pod_uid(pick_pod_cg(), rnd(3), t);
		for (j = 0; j < 36 && o < 16; j++) {
			unsigned int hi, lo;

			if (t[j] == '-')
				continue;
			sscanf(t + j, "%1x", &hi);
			sscanf(t + j + 1, "%1x", &lo);
			uid[o++] = (uint8_t)(hi << 4 | lo);
			j++;
		}
		nla_put(m, DSTACK_POD_A_POD_UID, 16, uid);
	}
	if (mutate) {
		n = 1 + rnd(3);
		while (n--) {
			switch (rnd(8)) {
			case 0:		/* wrong command */
				cmd = rnd(8) == 0 ? rnd(256) : rnd(6);
				break;
			case 1:		/* dump flag or not, ack, echo */
				flags ^= chance(50) ? NLM_F_DUMP :
					 chance(50) ? NLM_F_ACK : NLM_F_ECHO;
				break;
			case 2:		/* the UID with a wrong length */
				put_attr(m, DSTACK_POD_A_POD_UID, lens[rnd(10)]);
				break;
			case 3:		/* any attribute, any length */
				len = chance(10) ? 4096 + rnd(64) : lens[rnd(10)];
				put_attr(m, (int)rnd(DSTACK_POD_A_MAX + 4), len);
				break;
			case 4:		/* nested junk */
				put_attr(m, (int)(rnd(DSTACK_POD_A_MAX + 2) | NLA_F_NESTED),
					 lens[rnd(10)]);
				break;
			case 5:		/* an unknown high type */
				put_attr(m, (int)(0x100 + rnd(0x7e00)), lens[rnd(10)]);
				break;
			case 6:		/* version */
				op->aux = (uint16_t)((op->aux & 0xff00) | rnd(4));
				break;
			default:	/* a byte of the stream */
				len = h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
				if (len)
					((uint8_t *)nlmsg_data(h))[GENL_HDRLEN + rnd(len)] ^=
						(uint8_t)(1u << rnd(8));
				break;
			}
		}
	}
	len = h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	if (len > KF_ARG_MAX)
		len = KF_ARG_MAX;
	memcpy(op->arg, (uint8_t *)nlmsg_data(h) + GENL_HDRLEN, len);
	op->arglen = (uint16_t)len;
	op->cmd = cmd | flags << 16;
	nlmsg_free(m);
}

static void mut_nl(struct kf_op *op)
{
	switch (rnd(6)) {
	case 0:
		op->sub = (uint8_t)rnd(NL_NSUB);
		break;
	case 1:
		op->cmd ^= (chance(50) ? NLM_F_DUMP : NLM_F_ACK) << 16;
		break;
	case 2:
		op->cmd = (op->cmd & ~0xffu) | rnd(6);
		break;
	case 3:
		if (op->arglen)
			op->arglen = (uint16_t)rnd(op->arglen);
		break;
	case 4:
		op->aux ^= (uint16_t)(rnd(4) << 8);
		break;
	default:
		if (op->arglen)
			op->arg[rnd(op->arglen)] ^= (uint8_t)(1u << rnd(8));
		break;
	}
}

static int nl_count_cb(struct nl_msg *m, void *arg)
{
	(void)m;
	++*(unsigned int *)arg;
	return NL_OK;
}

static struct nl_sock *nl_open(struct nlctx *nc)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct timeval tv = { .tv_sec = 2 };

	if (!sk)
		return NULL;
	if (genl_connect(sk)) {
		nl_socket_free(sk);
		return NULL;
	}
	setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (nc->family <= 0)
		nc->family = genl_ctrl_resolve(sk, DSTACK_POD_GENL_NAME);
	nl_socket_disable_auto_ack(sk);
	return sk;
}

/* Returns 0 or a negative errno (from the kernel's reply when there is one). */
static int exec_nl(struct nlctx *nc, const struct kf_op *op)
{
	static const size_t bufs[] = { 0, 256, 1024, 65536 };
	struct nl_msg *m;
	struct nlmsghdr *h;
	struct nl_cb *cb;
	unsigned int count = 0;
	uint32_t flags = op->cmd >> 16;
	int err = 0;

	if (nc->family <= 0)
		return -ENOENT;
	if (op->sub == NL_MCAST) {
		if (!nc->mc)
			nc->mc = nl_open(nc);
		if (!nc->mc || nc->group <= 0)
			return -ENOENT;
		if (op->cmd & 1) {
			err = nc->joined ? nl_socket_drop_membership(nc->mc, nc->group) :
				nl_socket_add_membership(nc->mc, nc->group);
			if (!err)
				nc->joined = !nc->joined;
			return err ? -EPERM : 0;
		}
		nl_socket_set_nonblocking(nc->mc);
		cb = nl_cb_alloc(NL_CB_DEFAULT);
		if (!cb)
			return -ENOMEM;
		nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, nl_count_cb, &count);
		while (count < 4096 && nl_recvmsgs(nc->mc, cb) >= 0)
			;
		nl_cb_put(cb);
		return 0;
	}
	if (!nc->sk)
		nc->sk = nl_open(nc);
	if (!nc->sk)
		return -ENOMEM;
	m = nlmsg_alloc_size(KF_ARG_MAX + 256);
	if (!m)
		return -ENOMEM;
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, nc->family, 0, (int)flags,
		    (uint8_t)op->cmd, (uint8_t)op->aux);
	h = nlmsg_hdr(m);
	if (op->arglen) {
		void *p = nlmsg_reserve(m, op->arglen, 1);

		if (p)
			memcpy(p, op->arg, op->arglen);
	}
	nl_complete_msg(nc->sk, m);
	if (op->sub == NL_RAW) {
		/*
		 * The header's length and flags mutated from the op's bytes;
		 * the whole buffer is sent.  The kernel may drop such a
		 * message without a reply: do not wait long.
		 */
		uint8_t s = op->arglen ? op->arg[0] : 0;
		size_t total = h->nlmsg_len;
		struct timeval tv = { .tv_usec = 250000 };

		if (s & 1)
			h->nlmsg_len -= (uint32_t)(s >> 1) % h->nlmsg_len;
		else if (s & 4)
			h->nlmsg_len += s;
		if (s & 2)
			h->nlmsg_flags ^= (uint16_t)(1u << (s >> 4));
		setsockopt(nl_socket_get_fd(nc->sk), SOL_SOCKET, SO_RCVTIMEO,
			   &tv, sizeof(tv));
		err = nl_sendto(nc->sk, h, total);
	} else {
		err = nl_send(nc->sk, m);
	}
	nlmsg_free(m);
	if (err < 0)
		return -EIO;
	nl_socket_set_msg_buf_size(nc->sk, bufs[(op->aux >> 8) & 3]);
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, nl_count_cb, &count);
	if (op->sub == NL_PARTIAL) {
		err = nl_recvmsgs(nc->sk, cb);
		nl_cb_put(cb);
		/* Drop the socket with the dump half read. */
		nl_socket_free(nc->sk);
		nc->sk = NULL;
		return err < 0 ? -EIO : 0;
	}
	err = nl_recvmsgs(nc->sk, cb);
	nl_cb_put(cb);
	if (op->sub == NL_RAW && err >= 0) {
		/* Its socket has the short timeout: start afresh. */
		nl_socket_free(nc->sk);
		nc->sk = NULL;
	}
	if (err < 0) {
		/* Resync: a fresh socket for the next request. */
		nl_socket_free(nc->sk);
		nc->sk = NULL;
		switch (err) {
		case -NLE_PERM: return -EPERM;
		case -NLE_INVAL: return -EINVAL;
		case -NLE_RANGE: return -ERANGE;
		case -NLE_OBJ_NOTFOUND: return -ENOENT;
		case -NLE_MSGSIZE: return -EMSGSIZE;
		case -NLE_OPNOTSUPP: return -EOPNOTSUPP;
		default: return -EIO;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Cgroup and file operations                                         */

enum kf_cg_sub {
	CGOP_MKDIR, CGOP_RMDIR, CGOP_EVAC_RMDIR, CGOP_MOVE_SELF, CGOP_MOVE_OTHER,
	CGOP_CACHE_FD, CGOP_FORK_ATTEST,
	CGOP_V1_CHURN,	/* cgroup v1 mkdir+rmdir: ids that collide with v2 ones */
	CGOP_NSUB,
};

static void gen_cg(struct kf_op *op)
{
	memset(op, 0, KF_OP_HDR);
	op->magic = KF_OP_MAGIC;
	op->kind = KF_CG;
	op->sub = (uint8_t)rnd(CGOP_NSUB);
	op->cg[0] = (uint8_t)(chance(85) ? pick_pod_cg() : rnd(NCG));
	op->cg[1] = (uint8_t)rnd(MAX_WORKERS * 2);
}

struct kfile {
	const char *path;
	bool writable;
};

static const struct kfile files[] = {
	{ "/sys/class/misc/dstack-pod/fuse", true },
	{ "/sys/class/misc/dstack-pod/backend", false },
	{ "/sys/class/misc/dstack-pod/event_count", false },
	{ "/sys/class/misc/dstack-pod/abi_version", false },
	{ "/sys/class/misc/dstack-pod/rtmr3", false },
	{ "/sys/class/misc/dstack-pod/pods", false },
	{ "/sys/class/misc/dstack-pod/pod_objects", false },
	{ "/sys/module/dstack_pod/parameters/max_events", true },
	{ "/sys/module/dstack_pod/parameters/max_pods", true },
	{ "/sys/module/dstack_pod/parameters/max_pod_events", true },
	{ "/sys/module/dstack_pod/parameters/backend", true },
	{ SFS_EVENTS, true },
};

#define NFILES (sizeof(files) / sizeof(files[0]))

static void gen_file(struct kf_op *op)
{
	static const char *const vals[] = {
		"secure", "secure\n", "setup", "1", "8", "7", "64", "65536", "65537",
		"0x40", "-1", "", "4294967296", "512\n", "abc",
	};

	memset(op, 0, KF_OP_HDR);
	op->magic = KF_OP_MAGIC;
	op->kind = KF_FILE;
	op->sub = (uint8_t)rnd(NFILES);
	op->buflen = chance(70) ? 4096 : rnd(300);
	op->aux = (uint16_t)(chance(70) ? 0 : rnd(600));
	if (files[op->sub].writable && chance(40)) {
		const char *v = vals[rnd(15)];

		op->arglen = (uint16_t)strlen(v);
		memcpy(op->arg, v, op->arglen);
		if (chance(10)) {
			op->arglen = (uint16_t)(1 + rnd(KF_ARG_MAX));
			rnd_bytes(op->arg, op->arglen);
		}
	}
}

/* ------------------------------------------------------------------ */
/* The worker                                                         */

enum role { ROLE_BINDER, ROLE_NODE, ROLE_POD, ROLE_NOBODY, ROLE_ANY };

static const char *const role_names[] = { "binder", "node", "pod", "nobody", "any" };

struct worker {
	unsigned int id;
	enum role role;
	int dev;
	int cached[NCG];
	int pidfd_dead;
	int kcov;
	volatile uint64_t *area;
	int helper;		/* socket to kfuzz32, or -1 */
	struct nlctx nl;
	struct ring *ring;
	uint8_t last_report[DSTACK_POD_TDREPORT_LEN];
	/* Memory for arguments: RW | guard, RO | guard, big RW | guard. */
	uint8_t *rw, *ro, *big;
	size_t rwsz, rosz, bigsz;
	int tmpfds[4];
	int ntmp;
};

static struct worker W;

static void ring_line(const char *fmt, ...)
{
	struct ring *r = W.ring;
	char *l = r->lines[r->nops % RING_LINES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l, LINE_LEN, fmt, ap);
	va_end(ap);
	if (opt.verbose)
		fprintf(stderr, "%s\n", l);
}

static int tmpfd(int fd)
{
	if (fd >= 0 && W.ntmp < 4)
		W.tmpfds[W.ntmp++] = fd;
	return fd;
}

static int pid_of(unsigned int i)
{
	int pid = sh->pids[i % (MAX_WORKERS * 2)];

	return pid > 0 ? pid : getpid();
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int resolve_fd(uint8_t res, uint8_t cg)
{
	char p[160];
	int fd;

	switch (res % KF_R_NRES) {
	case KF_R_MINUS1:
		return -1;
	case KF_R_CG:
		return tmpfd(cg_open(cg, O_RDONLY | O_DIRECTORY));
	case KF_R_CG_PATH:
		return tmpfd(cg_open(cg, O_PATH | O_DIRECTORY));
	case KF_R_CG_CACHED:
		if (W.cached[cg % NCG] < 0)
			W.cached[cg % NCG] = cg_open(cg, O_RDONLY | O_DIRECTORY);
		return W.cached[cg % NCG];
	case KF_R_CLOSED:
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		close(fd);
		return fd;
	case KF_R_FILE:
		return tmpfd(open("/dev/null", O_RDONLY | O_CLOEXEC));
	case KF_R_DIR:
		return tmpfd(open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	case KF_R_CGFILE:
		cg_path(cg, p, sizeof(p));
		strcat(p, "/cgroup.procs");
		return tmpfd(open(p, O_RDONLY | O_CLOEXEC));
	case KF_R_PIDFD:
		return tmpfd(pidfd_open_(pid_of(cg)));
	case KF_R_PIDFD_SELF:
		return tmpfd(pidfd_open_(getpid()));
	case KF_R_PIDFD_DEAD:
		return W.pidfd_dead;
	case KF_R_DEV:
		return W.dev;
	}
	return INT32_MIN;	/* KF_R_RAW: not used */
}

static void close_tmp(void)
{
	while (W.ntmp)
		close(W.tmpfds[--W.ntmp]);
}

/* Place @len bytes of @src as @mode says; returns the user pointer. */
static void *place(uint8_t mode, const void *src, size_t len, bool big)
{
	uint8_t *base = big ? W.big : W.rw;
	size_t size = big ? W.bigsz : W.rwsz;
	uint8_t *p;

	if (len > size)
		len = size;
	switch (mode % KF_P_NMODES) {
	case KF_P_SHORT:
		p = base + size - len / 2;
		memcpy(p, src, len / 2);
		return p;
	case KF_P_RO:
		if (len > W.rosz)
			len = W.rosz;
		p = W.ro + W.rosz - len;
		mprotect(W.ro, W.rosz, PROT_READ | PROT_WRITE);
		memcpy(p, src, len);
		mprotect(W.ro, W.rosz, PROT_READ);
		return p;
	case KF_P_NULL:
		return NULL;
	case KF_P_GUARD:
		return base + size;
	case KF_P_KERNEL:
		return (void *)(uintptr_t)0xffffffff81000000ull;
	case KF_P_MISALIGNED:
		p = base + size - len - 3;
		memcpy(p, src, len);
		return p;
	default:
		p = base + size - len;
		memcpy(p, src, len);
		return p;
	}
}

/* The table entry the kernel will use for @cmd, or NULL. */
static const struct ioc *ioc_of(uint32_t cmd)
{
	for (unsigned int i = 0; i < NIOC; i++)
		if (iocs[i].cmd == cmd)
			return &iocs[i];
	return NULL;
}

static bool errno_ok(uint32_t cmd, int e)
{
	const struct ioc *d = ioc_of(cmd);
	const int *x;

	if (!d) {
		/* Not ours: the VFS may handle some (FIONBIO, FIOCLEX...). */
		if (_IOC_TYPE(cmd) != DSTACK_POD_IOC_MAGIC)
			return true;
		return e == EINVAL || e == ENOTTY;
	}
	for (x = d->errs; *x; x++)
		if (*x == e)
			return true;
	return false;
}

static void anomaly(const struct kf_op *op, const char *fmt, ...)
{
	char msg[LINE_LEN], path[PATH_MAX];
	va_list ap;
	FILE *f;
	uint32_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	W.ring->anomalies++;
	n = __atomic_add_fetch(&sh->anomalies, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "kfuzz: ANOMALY (worker %u, op %" PRIu64 "): %s\n",
		W.id, W.ring->nops, msg);
	if (n > 32 || !opt.out || !op)
		return;
	snprintf(path, sizeof(path), "%s/findings/seed%" PRIu64 "-w%u-op%" PRIu64 ".op",
		 opt.out, opt.seed, W.id, W.ring->nops);
	f = fopen(path, "we");
	if (f) {
		fwrite(op, 1, KF_OP_HDR + op->arglen, f);
		fclose(f);
	}
	strcpy(path + strlen(path) - 3, ".txt");
	f = fopen(path, "we");
	if (f) {
		fprintf(f, "%s\nworker %u role %s seed %" PRIu64 " op %" PRIu64 "\n",
			msg, W.id, role_names[W.role], opt.seed, W.ring->nops);
		fclose(f);
	}
}

/* Whether the fuse may be blown by this op; if not, make it harmless. */
static bool fuse_allowed(void)
{
	return opt.fuse && now_ms() >= opt.fuse_at;
}

static void fuse_gate(struct kf_op *op)
{
	struct dstack_pod_fuse *a = (void *)op->arg;

	if (op->sub != I_FUSE || op->cmd != DSTACK_POD_IOC_FUSE)
		return;
	if (fuse_allowed() && (!opt.fuse_binder ||
			       (op->res[0] != KF_R_MINUS1 &&
				(op->res[0] != KF_R_RAW || a->binder_cgroup_fd != -1))))
		return;
	if (op->argmode != KF_P_OK && op->argmode != KF_P_MISALIGNED)
		return;
	if (a->flags || a->reserved2 || a->reserved[0] || a->reserved[1] ||
	    a->reserved[2])
		return;
	switch (op->res[0]) {
	case KF_R_RAW:
		if (a->binder_cgroup_fd < -1)
			return;
		break;
	case KF_R_CLOSED: case KF_R_FILE: case KF_R_DIR: case KF_R_CGFILE:
	case KF_R_PIDFD: case KF_R_PIDFD_SELF: case KF_R_PIDFD_DEAD: case KF_R_DEV:
		return;
	}
	/* Would blow: keep the fd and flags paths, but fail validation. */
	if (chance(50))
		a->reserved2 = 1;
	else
		op->res[0] = KF_R_CLOSED;
}

static bool is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

static void check_out_reserved(const struct ioc *d, const uint8_t *out)
{
	/* "The kernel leaves them zero on output." */
	for (unsigned int i = 0; i < d->nf; i++) {
		const struct field *f = &d->f[i];

		if (f->type != F_RSV)
			continue;
		for (unsigned int j = 0; j < f->size; j++)
			if (out[f->off + j]) {
				anomaly(NULL, "%s: reserved byte %u non-zero on output",
					d->name, f->off + j);
				return;
			}
	}
}

static int exec_ioctl(struct kf_op *op, bool compat, unsigned int *fresh32)
{
	const struct ioc *d = &iocs[op->sub % NIOC];
	const struct field *pf = field_of(d, F_PTR, 0), *lf = field_of(d, F_LEN, 0);
	const struct field *ff = field_of(d, F_FD, 0);
	uint8_t arg[KF_ARG_MAX];
	int fds[2] = { -1, -1 }, nfds = 0, ret, e;
	bool rsv = false, ptrs_ok;
	void *a;

	fuse_gate(op);
	if (op->sub == I_VERIFY && op->aux == 1)
		memcpy(op->arg, W.last_report, DSTACK_POD_REPORTMAC_LEN);
	memcpy(arg, op->arg, op->arglen);
	if (ff && op->res[0] != KF_R_RAW) {
		int32_t fd = resolve_fd(op->res[0], op->cg[0]);

		/*
		 * A resource that cannot be had (the cgroup is gone) must not
		 * turn into -1, "no binder" for the fuse: a closed fd instead.
		 */
		bool closed = op->res[0] == KF_R_CLOSED;

		if (fd < 0 && op->res[0] != KF_R_MINUS1) {
			fd = resolve_fd(KF_R_CLOSED, 0);
			closed = true;
		}
		if (compat && closed)
			fd = 999;	/* not open in the helper either */
		memcpy(arg + ff->off, &fd, 4);
		if (fd >= 0 && fd != 999)
			fds[nfds++] = fd;
	}
	for (unsigned int i = 0; i < d->nf; i++) {
		const struct field *f = &d->f[i];

		if (f->type != F_RSV)
			continue;
		for (unsigned int j = 0; j < f->size; j++)
			rsv |= arg[f->off + j] != 0;
	}

	if (compat) {
		struct kf32_req req = {
			.cmd = op->cmd, .arglen = op->arglen, .argmode = op->argmode,
			.bufmode = op->bufmode, .buflen = op->buflen,
			.ptr_off = pf ? (int16_t)pf->off : -1,
			.fd_off = { ff && nfds ? (int16_t)ff->off : -1, -1 },
			.nfds = (uint8_t)nfds,
		};
		struct kf32_rep rep;
		char cbuf[CMSG_SPACE(sizeof(int) * 2)];
		struct iovec iov = { &req, offsetof(struct kf32_req, arg) + op->arglen };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		memcpy(req.arg, arg, op->arglen);
		if (nfds) {
			struct cmsghdr *c;

			mh.msg_control = cbuf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		if (W.helper < 0 || sendmsg(W.helper, &mh, 0) < 0 ||
		    recv(W.helper, &rep, sizeof(rep), 0) != sizeof(rep)) {
			close_tmp();
			errno = EPIPE;
			return -2;
		}
		close_tmp();
		*fresh32 = rep.fresh;
		ret = rep.ret;
		e = rep.err;
		a = NULL;
		if (ret == 0 && op->sub == I_FUSE && op->cmd == d->cmd)
			__atomic_store_n(&sh->fused, 1, __ATOMIC_RELAXED);
	} else {
		if (pf) {
			static uint8_t pattern[1 << 19];
			void *bp;
			uint64_t u;

			if (!pattern[1])
				for (size_t i = 0; i < sizeof(pattern); i++)
					pattern[i] = (uint8_t)(i * 131 + 7);
			bp = place(op->bufmode, pattern,
				   op->buflen > sizeof(pattern) ? sizeof(pattern) :
				   op->buflen, true);
			u = (uint64_t)(uintptr_t)bp;
			memcpy(arg + pf->off, &u, 8);
		}
		a = place(op->argmode, arg, op->arglen, false);
		ret = ioctl(W.dev, op->cmd, a);
		e = errno;
		close_tmp();
	}

	/* Oracles. */
	ptrs_ok = (op->argmode == KF_P_OK || op->argmode == KF_P_MISALIGNED) &&
		  (!pf || ((op->bufmode == KF_P_OK || op->bufmode == KF_P_MISALIGNED) &&
			   (!lf || get32(op, lf->off) <= op->buflen)));
	if (ret < 0 && !errno_ok(op->cmd, e))
		anomaly(op, "%s%s: undocumented errno %d (%s)", compat ? "compat " : "",
			d->name, e, strerror(e));
	if (ret < 0 && e == EFAULT && ptrs_ok && op->cmd == d->cmd)
		anomaly(op, "%s%s: EFAULT although every pointer was valid",
			compat ? "compat " : "", d->name);
	if (ret == 0 && rsv && op->cmd == d->cmd && op->sub != I_VERSION)
		anomaly(op, "%s%s: succeeded with a reserved field non-zero",
			compat ? "compat " : "", d->name);
	if (ret == 0 && !compat && a && op->argmode == KF_P_OK &&
	    op->cmd == d->cmd) {
		check_out_reserved(d, a);
		if (op->sub == I_REPORT)
			memcpy(W.last_report,
			       ((struct dstack_pod_report *)a)->tdreport,
			       sizeof(W.last_report));
		if (op->sub == I_ATTEST || op->sub == I_ATTEST_PID) {
			const struct dstack_pod_attest *at = a;

			memcpy(W.last_report, at->tdreport, sizeof(W.last_report));
			if (at->claims.reserved0 ||
			    !is_zero(at->claims.reserved1, sizeof(at->claims.reserved1)) ||
			    at->claims.nonce_len != get32(op, 64))
				anomaly(op, "attest: claims reserved/nonce_len wrong");
		}
		if (op->sub == I_FUSE)
			__atomic_store_n(&sh->fused, 1, __ATOMIC_RELAXED);
	}
	errno = e;
	return ret;
}

static int exec_cg(const struct kf_op *op)
{
	char p[160];
	unsigned int k = op->cg[0] % NCG;
	pid_t pid;
	int r = 0, st;

	cg_path(k, p, sizeof(p));
	switch (op->sub % CGOP_NSUB) {
	case CGOP_MKDIR:
		r = mkdir(p, 0755);
		break;
	case CGOP_RMDIR:
		if (k == CG_BINDER || k == CG_NODE || (k >= CG_TOP && k < CG_V1A))
			return 0;
		r = rmdir(p);
		break;
	case CGOP_EVAC_RMDIR:
		if (k == CG_BINDER || k == CG_NODE || (k >= CG_TOP && k < CG_V1A))
			return 0;
		if (k >= CG_POD0 && k < CG_POD0 + 4) {
			char c[160];

			cg_evacuate(CG_NESTED0 + k - CG_POD0);
			cg_path(CG_NESTED0 + k - CG_POD0, c, sizeof(c));
			rmdir(c);
		}
		cg_evacuate(k);
		r = rmdir(p);
		break;
	case CGOP_MOVE_SELF:
		if (k == CG_TOP || W.role == ROLE_BINDER)
			return 0;	/* the binder stays; TOP has children */
		r = cg_move(k, getpid());
		break;
	case CGOP_MOVE_OTHER:
		if (k == CG_TOP)
			return 0;
		pid = sh->pids[op->cg[1] % (MAX_WORKERS * 2)];
		if (pid <= 0 || (op->cg[1] % MAX_WORKERS) == 0)
			return 0;	/* keep the binder where it is */
		r = cg_move(k, pid);
		break;
	case CGOP_CACHE_FD:
		if (W.cached[k] >= 0)
			close(W.cached[k]);
		W.cached[k] = cg_open(k, O_RDONLY | O_DIRECTORY);
		r = W.cached[k] < 0 ? -1 : 0;
		break;
	case CGOP_V1_CHURN:
		for (unsigned int j = 0; j < 1 + op->cg[1] % 16u; j++) {
			snprintf(p, sizeof(p), CGV1 "/churn%u-%u", W.id, j);
			if (!mkdir(p, 0755))
				rmdir(p);
		}
		break;
	case CGOP_FORK_ATTEST:
		/* A short-lived process in this cgroup: attest, log, exit. */
		pid = fork();
		if (pid == 0) {
			struct dstack_pod_attest at;
			struct dstack_pod_pod_log lg;
			static char buf[16384];

			memset(&at, 0, sizeof(at));
			at.pidfd = -1;
			ioctl(W.dev, DSTACK_POD_IOC_ATTEST, &at);
			memset(&lg, 0, sizeof(lg));
			lg.buf = (uint64_t)(uintptr_t)buf;
			lg.buf_len = sizeof(buf);
			ioctl(W.dev, DSTACK_POD_IOC_POD_LOG, &lg);
			_exit(0);
		}
		if (pid < 0)
			return -1;
		if (op->cg[1] & 1)
			cg_move(k, pid);
		waitpid(pid, &st, 0);
		break;
	}
	return r;
}

static int exec_file(const struct kf_op *op)
{
	const struct kfile *f = &files[op->sub % NFILES];
	static char buf[1 << 16];
	int fd, r, e;

	if (op->arglen && f->writable) {
		if ((!fuse_allowed() || opt.fuse_binder) && op->sub == 0)
			return 0;	/* "secure" would blow the fuse */
		fd = open(f->path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		r = (int)write(fd, op->arg, op->arglen);
		e = errno;
		close(fd);
		if (r >= 0 && op->sub == 0)
			__atomic_store_n(&sh->fused, 1, __ATOMIC_RELAXED);
		/*
		 * The documented errors of the writable attributes
		 * (uapi.rst, sysfs-class-misc-dstack-pod); 0444 parameters
		 * and files without a store method give EACCES/EPERM/EIO/EINVAL.
		 */
		if (r < 0 && op->sub == 0 && e != EPERM && e != EINVAL &&
		    e != EALREADY && e != EBUSY && e != EIO && e != ENOMEM)
			anomaly(op, "write fuse: undocumented errno %s", strerrorname_np(e));
		if (r < 0 && op->sub == 7 && e != EPERM && e != EINVAL && e != EBUSY &&
		    e != ERANGE)
			anomaly(op, "write max_events %.*s: undocumented errno %s",
				op->arglen > 24 ? 24 : op->arglen, (const char *)op->arg,
				strerrorname_np(e));
		errno = e;
		return r < 0 ? -1 : 0;
	}
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = (int)pread(fd, buf, op->buflen < sizeof(buf) ? op->buflen : sizeof(buf),
		       op->aux);
	/* A second read continues a seq_file where the first stopped. */
	if (r > 0 && (op->aux & 1))
		r = (int)read(fd, buf, sizeof(buf));
	close(fd);
	return r < 0 ? -1 : 0;
}

static const char *ptr_name(uint8_t m)
{
	static const char *const n[] = { "ok", "short", "ro", "null", "guard",
					  "kernel", "misaligned" };

	return n[m % KF_P_NMODES];
}

static void describe(const struct kf_op *op, int ret, int e, unsigned int fresh)
{
	char r[48];

	if (ret < 0)
		snprintf(r, sizeof(r), "-1 %s", strerrorname_np(e) ? strerrorname_np(e) : "?");
	else
		snprintf(r, sizeof(r), "%d", ret);
	switch (op->kind) {
	case KF_IOCTL:
	case KF_IOCTL32:
		ring_line("w%u #%" PRIu64 " %s %s cmd=%08x arg=%s buf=%s/%u fd=%u:%u%s -> %s%s",
			  W.id, W.ring->nops, op->kind == KF_IOCTL ? "ioctl" : "ioctl32",
			  iocs[op->sub % NIOC].name, op->cmd, ptr_name(op->argmode),
			  ptr_name(op->bufmode), op->buflen, op->res[0], op->cg[0],
			  op->sub == I_FUSE ? " FUSE" : "", r, fresh ? " +cov" : "");
		break;
	case KF_NL:
		ring_line("w%u #%" PRIu64 " nl sub=%u cmd=%u flags=%#x ver=%u attrs=%u -> %s%s",
			  W.id, W.ring->nops, op->sub, op->cmd & 0xff, op->cmd >> 16,
			  op->aux & 0xff, op->arglen, r, fresh ? " +cov" : "");
		break;
	case KF_CG:
		ring_line("w%u #%" PRIu64 " cg sub=%u cg=%u other=%u -> %s%s", W.id,
			  W.ring->nops, op->sub, op->cg[0], op->cg[1], r,
			  fresh ? " +cov" : "");
		break;
	default:
		ring_line("w%u #%" PRIu64 " file %s %s len=%u off=%u -> %s%s", W.id,
			  W.ring->nops, files[op->sub % NFILES].path,
			  op->arglen ? "write" : "read", op->arglen ? op->arglen : op->buflen,
			  op->aux, r, fresh ? " +cov" : "");
		break;
	}
}

static void save_seed(const struct kf_op *op)
{
	char path[PATH_MAX];
	uint64_t h = 0xcbf29ce484222325ull;
	size_t n = KF_OP_HDR + op->arglen;
	const uint8_t *p = (const uint8_t *)op;
	FILE *f;

	if (!opt.out)
		return;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	snprintf(path, sizeof(path), "%s/corpus/%016" PRIx64 ".op", opt.out, h);
	f = fopen(path, "wxe");
	if (!f)
		return;
	fwrite(op, 1, n, f);
	fclose(f);
}

/* Run one operation; returns the new coverage it found. */
static unsigned int run_op(struct kf_op *op)
{
	struct ring *r = W.ring;
	unsigned int fresh = 0, fresh32 = 0;
	int ret, e;

	memcpy(&r->last[r->nops % RING_OPS], op, sizeof(*op));
	snprintf(r->lines[r->nops % RING_LINES], LINE_LEN, "w%u #%" PRIu64 " kind %u sub %u (running)",
		 W.id, r->nops, op->kind, op->sub);
	if (W.area) {
		__atomic_store_n(&W.area[0], 0, __ATOMIC_RELAXED);
	}
	errno = 0;
	switch (op->kind) {
	case KF_IOCTL:
	case KF_IOCTL32:
		ret = exec_ioctl(op, op->kind == KF_IOCTL32, &fresh32);
		break;
	case KF_NL:
		ret = exec_nl(&W.nl, op);
		if (ret < 0) {
			errno = -ret;
			ret = -1;
		}
		break;
	case KF_CG:
		ret = exec_cg(op);
		break;
	default:
		ret = exec_file(op);
		break;
	}
	e = errno;
	if (W.area)
		fresh = kf_cov_collect(cov, W.area);
	fresh += fresh32;
	r->stats[op->kind % KF_NKINDS]++;
	if (ret < 0)
		r->errs++;
	if (fresh) {
		r->fresh++;
		save_seed(op);
	}
	describe(op, ret, e, fresh);
	r->nops++;
	return fresh;
}

static void next_op(struct kf_op *op)
{
	unsigned int k = rnd(100), n;

	if (ncorpus && chance(45)) {
		memcpy(op, &corpus[rnd(ncorpus)], sizeof(*op));
		n = 1 + rnd(3);
		goto mutate;
	}
	if (k < 55) {
		gen_ioctl(op, rnd(NIOC));
	} else if (k < 63) {
		gen_ioctl(op, rnd(NIOC));
		op->kind = KF_IOCTL32;
	} else if (k < 80) {
		gen_nl(op, chance(50));
		return;
	} else if (k < 93) {
		gen_cg(op);
		return;
	} else {
		gen_file(op);
		return;
	}
	n = chance(40) ? 0 : 1 + rnd(3);
mutate:
	while (n--) {
		switch (op->kind) {
		case KF_IOCTL:
		case KF_IOCTL32:
			mut_ioctl(op);
			if (chance(5))
				op->kind ^= KF_IOCTL ^ KF_IOCTL32;
			break;
		case KF_NL:
			mut_nl(op);
			break;
		case KF_CG:
			op->sub = (uint8_t)rnd(CGOP_NSUB);
			op->cg[rnd(2)] = (uint8_t)rnd(NCG);
			break;
		default:
			gen_file(op);
			break;
		}
	}
}

static void *map_guarded(size_t size)
{
	uint8_t *p = mmap(NULL, size + 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	mprotect(p + size, 4096, PROT_NONE);
	return p;
}

static int spawn_helper(void)
{
	int sv[2];
	pid_t pid;
	char base[24], size[24], id[16];

	if (!opt.helper || access(opt.helper, X_OK))
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -1;
	pid = fork();
	if (pid == 0) {
		char fd[16];

		fcntl(sv[1], F_SETFD, 0);
		snprintf(fd, sizeof(fd), "%d", sv[1]);
		snprintf(base, sizeof(base), "%" PRIu64, cov->base);
		snprintf(size, sizeof(size), "%" PRIu64, cov->size);
		snprintf(id, sizeof(id), "%u", W.role == ROLE_NOBODY ? NOBODY : 0);
		execl(opt.helper, "kfuzz32", fd, cov->enabled ? "/dev/shm/kfuzz-cov" : "-",
		      base, size, id, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -1;
	}
	sh->pids[MAX_WORKERS + W.id] = pid;
	W.ring->helper_pid = pid;
	return sv[0];
}

static void worker_main(unsigned int id, uint64_t deadline)
{
	struct kf_op *op = malloc(sizeof(*op));
	struct nl_sock *tmp;
	pid_t pid;

	if (!op)
		_exit(3);
	memset(&W, 0, sizeof(W));
	W.id = id;
	W.ring = &sh->rings[id];
	W.ring->pid = getpid();
	W.role = id == 0 ? ROLE_BINDER : id == 1 ? ROLE_NODE : id == 2 ? ROLE_POD :
		 id == 3 ? ROLE_NOBODY : ROLE_ANY;
	/* Independent streams: the seed and the index mixed, not added. */
	rs = opt.seed ^ (id + 1) * 0xd1b54a32d192ed03ull;
	rs = rnd64() ^ id;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int i = 0; i < NCG; i++)
		W.cached[i] = -1;
	W.helper = -1;
	switch (W.role) {
	case ROLE_BINDER:
		cg_move(CG_BINDER, getpid());
		break;
	case ROLE_NODE:
		cg_move(CG_NODE, getpid());
		break;
	default:
		cg_move(CG_POD0 + id % 8, getpid());
		break;
	}
	W.dev = open(DSTACK_POD_DEVICE, O_RDWR | O_CLOEXEC);
	if (W.dev < 0)
		die("worker %u: open %s: %s", id, DSTACK_POD_DEVICE, strerror(errno));
	pid = fork();
	if (pid == 0)
		_exit(0);
	W.pidfd_dead = pidfd_open_(pid);
	waitpid(pid, NULL, 0);
	W.rwsz = 16384;
	W.rosz = 8192;
	W.bigsz = 1 << 19;
	W.rw = map_guarded(W.rwsz);
	W.ro = map_guarded(W.rosz);
	W.big = map_guarded(W.bigsz);
	if (cov->enabled) {
		W.kcov = open(KCOV_PATH, O_RDWR | O_CLOEXEC);
		if (W.kcov < 0 || ioctl(W.kcov, KF_KCOV_INIT_TRACE, KF_KCOV_WORDS))
			die("worker %u: kcov: %s", id, strerror(errno));
		W.area = mmap(NULL, KF_KCOV_WORDS * 8, PROT_READ | PROT_WRITE,
			      MAP_SHARED, W.kcov, 0);
		if (W.area == MAP_FAILED)
			die("worker %u: kcov mmap: %s", id, strerror(errno));
	}
	W.helper = spawn_helper();
	tmp = nl_open(&W.nl);
	if (tmp) {
		W.nl.group = genl_ctrl_resolve_grp(tmp, DSTACK_POD_GENL_NAME,
						   DSTACK_POD_GENL_MCGRP_EVENTS);
		W.nl.sk = tmp;
	}
	if (W.role == ROLE_NOBODY) {
		if (setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
			die("worker %u: cannot drop to nobody", id);
	}
	if (W.area && ioctl(W.kcov, KF_KCOV_ENABLE, KF_KCOV_TRACE_PC))
		die("worker %u: KCOV_ENABLE: %s", id, strerror(errno));

	while (!sh->stop && now_ms() < deadline) {
		next_op(op);
		run_op(op);
	}
	if (W.area)
		ioctl(W.kcov, KF_KCOV_DISABLE, 0);
	W.ring->done = 1;
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* The parent: setup, corpus, coverage, the kernel log, reports       */

static const char *const kpat[] = {
	"BUG:", "WARNING:", "Oops", "KASAN", "UBSAN:", "Kernel panic",
	"general protection fault", "Call Trace:", "kernel BUG at",
	"blocked for more than", "detected stalls", "refcount_t:", "list_add corruption",
	"list_del corruption",
};

static int load_corpus(void)
{
	char dir[2048], path[PATH_MAX];
	struct dirent **ents;
	int n, i;

	corpus = calloc(CORPUS_MAX, sizeof(*corpus));
	if (!corpus)
		die("out of memory");
	if (!opt.out)
		return 0;
	snprintf(dir, sizeof(dir), "%s/corpus", opt.out);
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return 0;
	for (i = 0; i < n; i++) {
		struct kf_op *op = &corpus[ncorpus];
		FILE *f;
		size_t got;

		if (ncorpus < CORPUS_MAX && strstr(ents[i]->d_name, ".op")) {
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			f = fopen(path, "re");
			if (f) {
				memset(op, 0, sizeof(*op));
				got = fread(op, 1, sizeof(*op), f);
				fclose(f);
				if (got >= KF_OP_HDR && op->magic == KF_OP_MAGIC &&
				    op->kind < KF_NKINDS && got == KF_OP_HDR + op->arglen &&
				    op->arglen <= KF_ARG_MAX)
					ncorpus++;
			}
		}
		free(ents[i]);
	}
	free(ents);
	return (int)ncorpus;
}

static bool read_line_of(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return ok;
}

/* The module's core range from /proc/modules, and a key for its build. */
static void module_range(void)
{
	char line[512], name[64], src[48] = "?";
	unsigned long size;
	unsigned long long addr;
	FILE *f = fopen("/proc/modules", "re");

	if (!f)
		die("/proc/modules: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lu %*s %*s %*s %llx", name, &size, &addr) == 3 &&
		    !strcmp(name, "dstack_pod")) {
			cov->base = addr;
			cov->size = size;
		}
	fclose(f);
	if (!cov->size)
		die("dstack_pod is not loaded");
	if (cov->size > KF_PC_BITS)
		cov->size = KF_PC_BITS;
	read_line_of("/sys/module/dstack_pod/srcversion", src, sizeof(src));
	snprintf(cov->key, sizeof(cov->key), "%s/%lu", src, (unsigned long)cov->size);
}

static void cov_load(void)
{
	char path[PATH_MAX];
	struct kf_cov *old = malloc(sizeof(*old));
	FILE *f;

	if (!opt.out || !old)
		goto out;
	snprintf(path, sizeof(path), "%s/coverage.bin", opt.out);
	f = fopen(path, "re");
	if (!f)
		goto out;
	if (fread(old, sizeof(*old), 1, f) == 1 && old->magic == KF_COV_MAGIC &&
	    !strcmp(old->key, cov->key)) {
		memcpy(cov->edges, old->edges, sizeof(cov->edges));
		memcpy(cov->pcs, old->pcs, sizeof(cov->pcs));
		cov->nedges = old->nedges;
		cov->npcs = old->npcs;
	} else {
		fprintf(stderr, "kfuzz: %s is for another module build: starting afresh\n",
			path);
	}
	fclose(f);
out:
	free(old);
}

static void cov_save(void)
{
	char path[2048], tmp[PATH_MAX];
	FILE *f;

	if (!opt.out || !cov->enabled)
		return;
	snprintf(path, sizeof(path), "%s/coverage.bin", opt.out);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	if (fwrite(cov, sizeof(*cov), 1, f) == 1 && !fclose(f))
		rename(tmp, path);
	else
		unlink(tmp);
}

static void setup_cgroups(void)
{
	char p[160];

	if (access(CGROOT "/cgroup.procs", F_OK))
		die("no cgroup v2 at %s", CGROOT);
	for (unsigned int i = 0; i < NCG; i++) {
		if (i == CG_ROOT)
			continue;
		cg_path(i == CG_TOP ? CG_TOP : i, p, sizeof(p));
		(void)p;
	}
	mkdir(CGTOP, 0755);
	for (unsigned int i = 0; i < CG_TOP; i++) {
		cg_path(i, p, sizeof(p));
		if (mkdir(p, 0755) && errno != EEXIST)
			die("mkdir %s: %s", p, strerror(errno));
	}
	cg_path(CG_BINDER_CHILD, p, sizeof(p));
	mkdir(p, 0755);
	/* A v1 hierarchy: its fds must be refused, its rmdirs ignored. */
	mkdir(CGV1, 0755);
	if (!mount("cgroup", CGV1, "cgroup", 0, "none,name=kfuzz") ||
	    errno == EBUSY) {
		mkdir(CGV1 "/a", 0755);
		mkdir(CGV1 "/b", 0755);
	}
}

static void save_crash(const char *why, const char *kmsg)
{
	char dir[2048], path[PATH_MAX];
	FILE *f;

	if (!opt.out)
		return;
	snprintf(dir, sizeof(dir), "%s/crashes/seed%" PRIu64 "-%lld", opt.out, opt.seed,
		 (long long)time(NULL));
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/README", dir);
	f = fopen(path, "we");
	if (f) {
		fprintf(f, "why: %s\nseed: %" PRIu64 "\nworkers: %u\nfuse: %s\n"
			"reproduce: scripts/fuzz-kernel --seed %" PRIu64 " --episodes 1 "
			"(with the corpus of this out directory), or replay one op:\n"
			"  kfuzz --replay %s/wN-opK.op\n",
			why, opt.seed, opt.workers, opt.fuse ? "allowed" : "no",
			opt.seed, dir);
		if (kmsg)
			fprintf(f, "\nkernel log:\n%s\n", kmsg);
		fclose(f);
	}
	for (unsigned int w = 0; w < opt.workers; w++) {
		struct ring *r = &sh->rings[w];
		uint64_t first = r->nops >= RING_LINES ? r->nops - RING_LINES + 1 : 0;

		snprintf(path, sizeof(path), "%s/w%u.log", dir, w);
		f = fopen(path, "we");
		if (f) {
			for (uint64_t i = first; i <= r->nops; i++)
				fprintf(f, "%s\n", r->lines[i % RING_LINES]);
			fclose(f);
		}
		for (uint64_t i = r->nops >= RING_OPS ? r->nops - RING_OPS + 1 : 0;
		     i <= r->nops; i++) {
			struct kf_op *op = &r->last[i % RING_OPS];

			if (op->magic != KF_OP_MAGIC)
				continue;
			snprintf(path, sizeof(path), "%s/w%u-op%" PRIu64 ".op", dir, w, i);
			f = fopen(path, "we");
			if (f) {
				fwrite(op, 1, KF_OP_HDR + op->arglen, f);
				fclose(f);
			}
		}
	}
	fprintf(stderr, "kfuzz: crash saved in %s\n", dir);
}

/* Read new kernel log records; returns true on a kernel report. */
static bool kmsg_poll(int fd, char *report, size_t size)
{
	char rec[2048];
	ssize_t n;
	bool bad = false;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EPIPE)
				continue;
			break;
		}
		rec[n] = 0;
		for (size_t i = 0; i < sizeof(kpat) / sizeof(kpat[0]); i++) {
			if (!strstr(rec, kpat[i]))
				continue;
			if (!bad)
				report[0] = 0;
			bad = true;
			break;
		}
		if (bad && strlen(report) + (size_t)n + 2 < size) {
			strcat(report, strchr(rec, ';') ? strchr(rec, ';') + 1 : rec);
		}
	}
	return bad;
}

static int run_episode(void)
{
	static char report[16384];
	uint64_t start = now_ms(), deadline = start + opt.seconds * 1000ull;
	pid_t pids[MAX_WORKERS];
	uint64_t seen[MAX_WORKERS] = { 0 }, since[MAX_WORKERS];
	bool hung[MAX_WORKERS] = { false };
	unsigned int alive, crashes = 0;
	int kfd, st, covfd;
	char path[PATH_MAX];
	bool kbad = false;
	uint32_t edges0, pcs0;
	uint64_t ops = 0, kinds[KF_NKINDS] = { 0 }, fresh = 0, errs = 0;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		  -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(sh, 0, sizeof(*sh));
	covfd = open("/dev/shm/kfuzz-cov", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (covfd < 0 || ftruncate(covfd, sizeof(*cov)))
		die("/dev/shm/kfuzz-cov: %s", strerror(errno));
	cov = mmap(NULL, sizeof(*cov), PROT_READ | PROT_WRITE, MAP_SHARED, covfd, 0);
	if (cov == MAP_FAILED)
		die("mmap coverage: %s", strerror(errno));
	close(covfd);
	cov->magic = KF_COV_MAGIC;
	module_range();
	if (!access(KCOV_PATH, R_OK | W_OK)) {
		int k = open(KCOV_PATH, O_RDWR | O_CLOEXEC);

		cov->enabled = k >= 0 && !ioctl(k, KF_KCOV_INIT_TRACE, KF_KCOV_WORDS);
		if (k >= 0)
			close(k);
	}
	if (cov->enabled && !cov->base) {
		/* /proc/modules hides addresses (kptr_restrict, no KALLSYMS). */
		fprintf(stderr, "kfuzz: warning: the module's address is hidden in "
			"/proc/modules: no coverage, running unguided\n");
		cov->enabled = 0;
	}
	cov_load();
	edges0 = cov->nedges;
	pcs0 = cov->npcs;
	if (opt.out) {
		snprintf(path, sizeof(path), "%s/corpus", opt.out);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/crashes", opt.out);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/findings", opt.out);
		mkdir(path, 0755);
	}
	load_corpus();
	setup_cgroups();
	/*
	 * With --fuse, the fuse may blow from a point between 10% and 70%
	 * of the episode (drawn from the seed): setup-mode state (bindings,
	 * events) exists when it blows, and secure mode gets the rest.
	 */
	rs = opt.seed;
	opt.fuse_at = start + opt.seconds * 10ull * (10 + rnd(61));
	/* Most fused episodes keep a binder, so secure-mode binds happen. */
	opt.fuse_binder = rnd(4) != 0;
	if (opt.fuse)
		snprintf(path, sizeof(path), "allowed from %.0fs%s",
			 (opt.fuse_at - start) / 1000.0,
			 opt.fuse_binder ? " (with a binder only)" : "");
	else
		snprintf(path, sizeof(path), "never");
	printf("kfuzz: seed %" PRIu64 ", %u workers, %us, fuse %s, corpus %u, mode %s\n",
	       opt.seed, opt.workers, opt.seconds, path,
	       ncorpus, cov->enabled ? "KCOV-guided" :
	       "UNGUIDED (no KCOV in this kernel: no coverage feedback)");
	if (cov->enabled)
		printf("kfuzz: module dstack_pod at %#" PRIx64 ", %" PRIu64 " bytes; "
		       "known edges %u, PCs %u\n", cov->base, cov->size, edges0, pcs0);
	fflush(stdout);

	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kfd >= 0)
		lseek(kfd, 0, SEEK_END);

	for (unsigned int i = 0; i < opt.workers; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork: %s", strerror(errno));
		if (pids[i] == 0)
			worker_main(i, deadline);
		sh->pids[i] = pids[i];
	}

	for (unsigned int i = 0; i < MAX_WORKERS; i++)
		since[i] = now_ms();
	alive = opt.workers;
	while (alive) {
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p > 0) {
			for (unsigned int i = 0; i < opt.workers; i++) {
				if (pids[i] != p)
					continue;
				pids[i] = 0;
				alive--;
				if (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st))) {
					char why[96];

					snprintf(why, sizeof(why), "worker %u (%s) %s %d", i,
						 role_names[i < 4 ? i : 4],
						 WIFSIGNALED(st) ? "killed by signal" : "exited with",
						 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
					fprintf(stderr, "kfuzz: %s\n", why);
					save_crash(why, NULL);
					crashes++;
				}
			}
			continue;
		}
		if (kfd >= 0 && kmsg_poll(kfd, report, sizeof(report))) {
			/* Stop first: saving over 9p can take a while. */
			sh->stop = 1;
			fprintf(stderr, "kfuzz: KERNEL REPORT:\n%s\n", report);
			if (!kbad)
				save_crash("kernel report", report);
			kbad = true;
		}
		/*
		 * A worker is hung when it has not finished an operation for
		 * HANG_MS after the end (the VM may crawl on a loaded host).
		 */
		for (unsigned int i = 0; i < opt.workers; i++) {
			struct ring *r = &sh->rings[i];
			uint64_t t = now_ms();

			if (pids[i] <= 0)
				continue;
			if (r->nops != seen[i]) {
				seen[i] = r->nops;
				since[i] = t;
				continue;
			}
			if (t < deadline + HANG_MS || t - since[i] < HANG_MS || hung[i])
				continue;
			hung[i] = true;
			fprintf(stderr, "kfuzz: worker %u hung for %llus %s: %s\n", i,
				(unsigned long long)(t - since[i]) / 1000,
				r->done ? "in exit, after" : "in",
				r->lines[r->nops % RING_LINES]);
			sh->stop = 1;
			if (!crashes++)
				save_crash("worker hung in the kernel", NULL);
			kill(pids[i], SIGKILL);
		}
		usleep(100000);
	}
	/* Reap the helpers (they exit when their worker's socket closes). */
	while (waitpid(-1, &st, 0) > 0)
		;
	if (kfd >= 0 && kmsg_poll(kfd, report, sizeof(report))) {
		fprintf(stderr, "kfuzz: KERNEL REPORT:\n%s\n", report);
		if (!kbad)
			save_crash("kernel report", report);
		kbad = true;
	}

	for (unsigned int i = 0; i < opt.workers; i++) {
		struct ring *r = &sh->rings[i];

		ops += r->nops;
		fresh += r->fresh;
		errs += r->errs;
		for (int k = 0; k < KF_NKINDS; k++)
			kinds[k] += r->stats[k];
	}
	cov_save();
	printf("kfuzz: done in %.1fs: ops %" PRIu64 " (ioctl %" PRIu64 ", compat %" PRIu64
	       ", netlink %" PRIu64 ", cgroup %" PRIu64 ", file %" PRIu64 "), failed calls %"
	       PRIu64 ", fuse %s\n",
	       (now_ms() - start) / 1000.0, ops, kinds[KF_IOCTL], kinds[KF_IOCTL32],
	       kinds[KF_NL], kinds[KF_CG], kinds[KF_FILE], errs,
	       sh->fused ? "blown" : "intact");
	if (cov->enabled)
		printf("kfuzz: coverage: module edges %u (+%u), module PCs %u (+%u), "
		       "new seeds %" PRIu64 "\n", cov->nedges, cov->nedges - edges0,
		       cov->npcs, cov->npcs - pcs0, fresh);
	else
		printf("kfuzz: coverage: n/a (unguided)\n");
	printf("kfuzz: anomalies %u, worker crashes %u, kernel reports %d\n",
	       sh->anomalies, crashes, kbad);
	if (opt.out) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/stats", opt.out);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/stats/seed-%" PRIu64, opt.out, opt.seed);
		f = fopen(path, "we");
		if (f) {
			fprintf(f, "seed=%" PRIu64 "\nseconds=%u\nworkers=%u\nfuse=%d\nfused=%d\n"
				"ops=%" PRIu64 "\nioctl=%" PRIu64 "\ncompat=%" PRIu64 "\nnetlink=%"
				PRIu64 "\ncgroup=%" PRIu64 "\nfile=%" PRIu64 "\nkcov=%u\nedges=%u\n"
				"pcs=%u\nnew_seeds=%" PRIu64 "\ncorpus_in=%u\nanomalies=%u\n"
				"crashes=%u\nkernel_reports=%d\n",
				opt.seed, opt.seconds, opt.workers, opt.fuse, sh->fused, ops,
				kinds[KF_IOCTL], kinds[KF_IOCTL32], kinds[KF_NL], kinds[KF_CG],
				kinds[KF_FILE], cov->enabled, cov->nedges, cov->npcs, fresh,
				ncorpus, sh->anomalies, crashes, kbad);
			fclose(f);
		}
	}
	unlink("/dev/shm/kfuzz-cov");
	if (kbad)
		return 125;
	return crashes || sh->anomalies ? 1 : 0;
}

/* Replay one saved operation, verbosely, in this process. */
static int replay(const char *path)
{
	struct kf_op *op = calloc(1, sizeof(*op));
	FILE *f = fopen(path, "re");
	size_t got;

	if (!f || !op)
		die("%s: %s", path, strerror(errno));
	got = fread(op, 1, sizeof(*op), f);
	fclose(f);
	if (got < KF_OP_HDR || op->magic != KF_OP_MAGIC)
		die("%s: not a kfuzz operation", path);
	sh = calloc(1, sizeof(*sh));
	cov = calloc(1, sizeof(*cov));
	if (!sh || !cov)
		die("out of memory");
	module_range();
	setup_cgroups();
	opt.verbose = true;
	memset(&W, 0, sizeof(W));
	W.ring = &sh->rings[0];
	W.role = ROLE_ANY;
	for (int i = 0; i < NCG; i++)
		W.cached[i] = -1;
	W.dev = open(DSTACK_POD_DEVICE, O_RDWR | O_CLOEXEC);
	W.pidfd_dead = -1;
	W.helper = spawn_helper();
	W.rwsz = 16384;
	W.rosz = 8192;
	W.bigsz = 1 << 19;
	W.rw = map_guarded(W.rwsz);
	W.ro = map_guarded(W.rosz);
	W.big = map_guarded(W.bigsz);
	rs = 1;
	run_op(op);
	return 0;
}

static void usage(void)
{
	printf("usage: kfuzz [--out DIR] [--seed N] [--seconds N] [--workers N] [--fuse]\n"
	       "             [--helper PATH] [--verbose] | --replay FILE.op\n"
	       "Run as root in the test VM with dstack_pod loaded; see\n"
	       "Documentation/fuzzing.rst.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "workers", required_argument, NULL, 'w' },
		{ "fuse", no_argument, NULL, 'f' },
		{ "helper", required_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "replay", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static char helper[PATH_MAX];
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'o': opt.out = optarg; break;
		case 's':
			opt.seed = strtoull(optarg, &end, 0);
			if (*end)
				die("--seed: not a number: %s", optarg);
			break;
		case 't': opt.seconds = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'w': opt.workers = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'f': opt.fuse = true; break;
		case 'H': opt.helper = optarg; break;
		case 'v': opt.verbose = true; break;
		case 'r': opt.replay = optarg; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	if (!opt.workers || opt.workers > MAX_WORKERS)
		die("--workers: 1..%d", MAX_WORKERS);
	if (!opt.helper) {
		/* kfuzz32 next to this program. */
		snprintf(helper, sizeof(helper), "%s", argv[0]);
		end = strrchr(helper, '/');
		if (end && (size_t)(end - helper) + 9 < sizeof(helper)) {
			strcpy(end + 1, "kfuzz32");
			opt.helper = helper;
		}
	}
	if (geteuid())
		die("run as root (in the test VM)");
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (opt.replay)
		return replay(opt.replay);
	return run_episode();
}
