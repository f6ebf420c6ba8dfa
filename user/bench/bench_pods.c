// SPDX-License-Identifier: GPL-2.0
/*
 * Pod attestation benchmark, run inside the test VM (bench/pods.sh).
 *
 * Every target is a ratio of two figures, A and B, measured in alternating
 * short blocks within this one run (ABBA...: the order flips every round),
 * after a warm-up round that is discarded.  Latencies are block medians,
 * each attest interleaved with a node report (pair_block()); the ratios
 * between two states (cgroup depth, Pod count) compare attest / node
 * report of each state, which takes the host's changing speed out.  This program only measures: it
 * prints one "@round ID A B" line per round (and "@value" lines for
 * figures that are not ratios), and bench/benchstat.py computes the
 * medians, spreads and verdicts (Documentation/performance.rst).
 *
 *   attest / node report latency (block medians)               <= 1.10
 *   attest 8 cgroup levels below the Pod / in the Pod           <= 1.10
 *     (the process moves itself between the two cgroups)
 *   attest with 10,000 bound Pods / with 1 bound Pod            <= 1.10
 *     (9,999 Pods bound and unbound again every round)
 *   kernel memory per bound Pod, without its event log          <= 2 KiB
 *   attest throughput, 2 threads / 1 thread (2 vCPUs)           >= 1.8
 *     (threads pinned to vCPU 0 and 1; 1 and 2 threads alternate in
 *     sub-blocks; op/s from each thread's per-call cost (cost_rate()),
 *     and each sub-block framed by "@sync" lines so that bench/vcpu.py on
 *     the host can also account for the time the host did not run the
 *     vCPU threads; vcpu.py prints the rounds)
 *
 * usage: bench_pods [ROUNDS [BLOCK [TPUT_MS [MANY]]]]
 *   ROUNDS   measured rounds per ratio (default 9), plus one warm-up
 *   BLOCK    calls per latency block (default 500)
 *   TPUT_MS  length of one throughput block (default 500)
 *   MANY     Pods for the "many Pods" state (default 10000)
 *
 * Not a test: it exits 0 unless something broke.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/dstackpod.h"

#define CG		"/sys/fs/cgroup/bench"
#define POD		CG "/pod0"
#define NESTED		POD "/l1/l2/l3/l4/l5/l6/l7/l8"

static int fd;
static int rounds = 9;
static int block = 500;
static int tput_ms = 500;
static int many = 10000;
static struct dp_dev dev;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_pods: %s: %s (%s)\n", what, dp_errmsg(), strerror(errno));
	exit(1);
}

static int move_self(const char *cg)
{
	char path[256];
	int f, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	f = open(path, O_WRONLY);
	if (f < 0)
		return -1;
	ok = write(f, "0", 1) == 1;
	close(f);
	return ok ? 0 : -1;
}

static struct dstack_pod_attest att;
static struct dstack_pod_report rep;

static int one_attest(void)
{
	att.pidfd = -1;
	return ioctl(fd, DSTACK_POD_IOC_ATTEST, &att);
}

static int one_report(void)
{
	return ioctl(fd, DSTACK_POD_IOC_NODE_REPORT, &rep);
}

/*
 * One block of @block attests and @block node reports, interleaved call by
 * call so that both see the same moment of the host; the medians (us) of
 * each.  On a shared host the speed of the emulated CPU changes from one
 * block to the next by far more than the effects measured here, so every
 * state-dependent figure below is taken as attest / node report within
 * one block: the node report does not depend on the caller's cgroup or on
 * the number of Pods, and serves as the reference for the host's speed at
 * that moment.
 */
static void pair_block(double *ma, double *mb)
{
	static double *va, *vb;
	double t;
	int i;

	if (!va) {
		va = calloc((size_t)block, sizeof(double));
		vb = calloc((size_t)block, sizeof(double));
		if (!va || !vb)
			die("calloc");
	}
	for (i = 0; i < block; i++) {
		t = now_us();
		if (one_attest())
			die("attest");
		va[i] = now_us() - t;
		t = now_us();
		if (one_report())
			die("node report");
		vb[i] = now_us() - t;
	}
	*ma = median(va, block);
	*mb = median(vb, block);
}

static void measure(const char *id, const char *op, const char *target,
		    const char *unit, const char *a, const char *b, const char *name)
{
	printf("@measure %s op=%s target=%s unit=%s a=%s b=%s name=%s\n",
	       id, op, target, unit, a, b, name);
	fflush(stdout);
}

static void emit(const char *id, int r, double a, double b)
{
	if (r > 0)	/* round 0 is the warm-up */
		printf("@round %s %g %g\n", id, a, b);
	fflush(stdout);
}

/* ---- attest vs node report: same process, interleaved calls ---- */
static void attest_vs_report(void)
{
	double a, b;
	int r;

	measure("attest_report", "<=", "1.10", "us", "attest", "node-report",
		"attest / node report latency");
	for (r = 0; r <= rounds; r++) {
		pair_block(&a, &b);
		emit("attest_report", r, a, b);
	}
}

/*
 * Two states A and B of one round, each as attest / node report in its
 * own block (see pair_block()): prints the judged round (normalised) and
 * the raw attest latencies (shown, not judged).
 */
static void emit_states(const char *id, int r, double aa, double ar, double ba,
			double br)
{
	char raw[64];

	emit(id, r, aa / ar, ba / br);
	snprintf(raw, sizeof(raw), "%s_raw", id);
	emit(raw, r, aa, ba);
}

/* ---- 8 levels deep vs in the Pod: the process moves between them ---- */
static void pair_from(const char *cg, double *a, double *b)
{
	if (move_self(cg))
		die("move to cgroup");
	pair_block(a, b);
}

static void nested_vs_pod(void)
{
	double aa, ar, ba, br;
	int r;

	measure("nested", "<=", "1.10", "attest/report", "8-levels-deep", "in-the-Pod",
		"attest 8 levels deep / in the Pod (each over node report)");
	measure("nested_raw", "none", "none", "us", "8-levels-deep", "in-the-Pod",
		"attest 8 levels deep / in the Pod, raw latency (not judged)");
	for (r = 0; r <= rounds; r++) {
		if (r % 2) {
			pair_from(NESTED, &aa, &ar);
			pair_from(POD, &ba, &br);
		} else {
			pair_from(POD, &ba, &br);
			pair_from(NESTED, &aa, &ar);
		}
		emit_states("nested", r, aa, ar, ba, br);
	}
	if (move_self(POD))
		die("move to the Pod");
}

/* ---- 10,000 Pods vs 1: bind and unbind inside the one boot ---- */
static long meminfo(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key), NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void uid_of(char *uid, size_t len, int i)
{
	snprintf(uid, len, "00000000-0000-4000-8000-%012d", i);
}

static void bind_pod(const char *cg, int i)
{
	char uid[40], wl[64];
	struct dp_pod_identity id = {
		.pod_uid = uid, .workload_id = wl,
		.pod_namespace = "bench", .pod_name = wl,
	};

	uid_of(uid, sizeof(uid), i);
	snprintf(wl, sizeof(wl), "bench/pod-%d", i);
	if (dp_bind(&dev, cg, &id, NULL))
		die("bind");
}

/*
 * SUnreclaim once it has settled: unbinding frees the Pods after an RCU
 * grace period and shrinks the tables from a worker, which on a loaded
 * host can still be running 100 ms later.  Wait (at most 3 s) until two
 * readings 100 ms apart are within 16 KiB, so that neither the memory
 * figure nor the next latency block sees the previous round's frees.
 */
static long settled_sunreclaim(void)
{
	long prev = meminfo("SUnreclaim:"), cur;
	int i;

	for (i = 0; i < 30; i++) {
		usleep(100000);
		cur = meminfo("SUnreclaim:");
		if (labs(cur - prev) <= 16)
			return cur;
		prev = cur;
	}
	return prev;
}

/* Bind Pods 1..many-1; returns the SUnreclaim delta per Pod in bytes. */
static double bind_many(void)
{
	char path[128];
	long s0, s1;
	int i;

	s0 = settled_sunreclaim();
	for (i = 1; i < many; i++) {
		snprintf(path, sizeof(path), CG "/many/p%d", i);
		bind_pod(path, i);
	}
	s1 = settled_sunreclaim();
	return (s1 - s0) * 1024.0 / (many - 1);
}

static void unbind_many(void)
{
	char uid[40];
	int i;

	for (i = 1; i < many; i++) {
		uid_of(uid, sizeof(uid), i);
		if (dp_unbind(&dev, NULL, uid))
			die("unbind");
	}
}

static void many_vs_one(void)
{
	char path[128], label[64];
	double aa, ar, ba, br, mem;
	int r, i;

	/* Pre-create the cgroups so only our objects show in the slab delta. */
	mkdir(CG "/many", 0755);
	for (i = 1; i < many; i++) {
		snprintf(path, sizeof(path), CG "/many/p%d", i);
		mkdir(path, 0755);
	}
	snprintf(label, sizeof(label), "%d-Pods", many);
	measure("many_pods", "<=", "1.10", "attest/report", label, "1-Pod",
		many == 10000 ? "attest with 10,000 Pods / with 1 Pod (each over node report)" :
		"attest with MANY Pods / with 1 Pod (short mode)");
	measure("many_pods_raw", "none", "none", "us", label, "1-Pod",
		"attest with many Pods / with 1 Pod, raw latency (not judged)");
	printf("@measure pod_memory op=<= target=2048 unit=bytes name=kernel memory per bound Pod (SUnreclaim delta)\n");
	for (r = 0; r <= rounds; r++) {
		if (r % 2) {
			mem = bind_many();
			pair_block(&aa, &ar);
			unbind_many();
			settled_sunreclaim();
			pair_block(&ba, &br);
		} else {
			pair_block(&ba, &br);
			mem = bind_many();
			pair_block(&aa, &ar);
			unbind_many();
		}
		emit_states("many_pods", r, aa, ar, ba, br);
		if (r > 0)
			printf("@value pod_memory %.0f\n", mem);
	}
	{
		char line[512];
		FILE *f = fopen("/proc/slabinfo", "r");

		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "dstack_pod ", 11)) {
				unsigned long act, num, sz;

				if (sscanf(line + 11, "%lu %lu %lu", &act, &num, &sz) == 3)
					printf("@note of the kernel memory per Pod, the dstack_pod object is %lu bytes\n",
					       sz);
			}
		if (f)
			fclose(f);
	}
}

/* ---- throughput, 1 thread vs 2, persistent pinned threads ---- */
#define SUBBLOCKS	5
#define MAXLAT		(1 << 18)

static atomic_int gen, active, running, done_cnt;
static atomic_long counts[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;

/* Per-call latencies of each thread in one state, over a round. */
struct lats {
	float *v;
	long n;
};
static struct lats lat[3][2];	/* [threads][thread index] */
static struct lats *cur[2];	/* where the workers record this block */

static void *worker(void *arg)
{
	long idx = (long)arg;
	struct dstack_pod_attest a = { .pidfd = -1 };
	cpu_set_t set;
	int seen = 0;

	CPU_ZERO(&set);
	CPU_SET((int)idx, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		fprintf(stderr, "bench_pods: cannot pin thread %ld to vCPU %ld\n", idx, idx);
	for (;;) {
		struct lats *l;
		double t0, t1;
		long n = 0;

		/* Sleep (the vCPU halts) until a block that needs this thread. */
		pthread_mutex_lock(&mu);
		for (;;) {
			int g = atomic_load(&gen);

			if (g < 0)
				break;
			if (g != seen) {
				seen = g;
				if (idx < atomic_load(&active))
					break;
			}
			pthread_cond_wait(&go, &mu);
		}
		l = cur[idx];
		pthread_mutex_unlock(&mu);
		if (atomic_load(&gen) < 0)
			return NULL;
		t0 = now_us();
		while (atomic_load_explicit(&running, memory_order_relaxed)) {
			if (ioctl(fd, DSTACK_POD_IOC_ATTEST, &a))
				die("attest");
			t1 = now_us();
			if (l->n < MAXLAT)
				l->v[l->n++] = (float)(t1 - t0);
			t0 = t1;
			n++;
		}
		atomic_store(&counts[idx], n);
		atomic_fetch_add(&done_cnt, 1);
	}
}

/* One sub-block with @threads threads, framed by @sync marks for vcpu.py. */
static void tput_block(int r, int threads, long *ops, double *wall)
{
	double t0, t1;
	int i;

	atomic_store(&counts[0], 0);
	atomic_store(&counts[1], 0);
	atomic_store(&done_cnt, 0);
	printf("@sync tput %d %d begin\n", r, threads);
	fflush(stdout);
	pthread_mutex_lock(&mu);
	cur[0] = &lat[threads][0];
	cur[1] = &lat[threads][1];
	atomic_store(&active, threads);
	atomic_store(&running, 1);
	atomic_fetch_add(&gen, 1);
	t0 = now_us();
	pthread_cond_broadcast(&go);
	pthread_mutex_unlock(&mu);
	usleep((useconds_t)tput_ms * 1000 / SUBBLOCKS);
	atomic_store(&running, 0);
	t1 = now_us();
	while (atomic_load(&done_cnt) < threads)
		usleep(1000);
	printf("@sync tput %d %d end\n", r, threads);
	fflush(stdout);
	for (i = 0; i < 2; i++)
		ops[i] += atomic_load(&counts[i]);
	*wall += t1 - t0;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/*
 * op/s of one thread from its per-call cost: the mean latency of its calls
 * without the slowest 5 %.  A call during which the host did not run the
 * vCPU is one slow call; dropping those takes the host's scheduling out,
 * while contention between the two threads (which slows most calls) stays.
 */
static double cost_rate(struct lats *l)
{
	long k, keep = l->n - l->n / 20;
	double sum = 0;

	if (keep < 1)
		return 0;
	qsort(l->v, (size_t)l->n, sizeof(float), cmp_float);
	for (k = 0; k < keep; k++)
		sum += l->v[k];
	return keep / sum * 1e6;
}

static void threads_scaling(void)
{
	long ops[3][2];
	double wall[3], cost;
	pthread_t t[2];
	long i;
	int r, k, th;

	for (th = 1; th <= 2; th++)
		for (i = 0; i < 2; i++) {
			lat[th][i].v = malloc(MAXLAT * sizeof(float));
			if (!lat[th][i].v)
				die("malloc");
		}
	for (i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i))
			die("pthread_create");
	printf("@tput-start each round %d x %d ms per thread count, 1 and 2 alternating; threads pinned to vCPU 0 (1 thread) and 0+1 (2 threads)\n",
	       SUBBLOCKS, tput_ms / SUBBLOCKS);
	for (r = 0; r <= rounds; r++) {
		memset(ops, 0, sizeof(ops));
		memset(wall, 0, sizeof(wall));
		for (th = 1; th <= 2; th++)
			lat[th][0].n = lat[th][1].n = 0;
		for (k = 0; k < SUBBLOCKS; k++) {
			th = (k + r) % 2 ? 2 : 1;
			tput_block(r, th, ops[th], &wall[th]);
			th = 3 - th;
			tput_block(r, th, ops[th], &wall[th]);
		}
		for (th = 1; th <= 2; th++) {
			cost = cost_rate(&lat[th][0]) + (th == 2 ? cost_rate(&lat[th][1]) : 0);
			printf("@tput %d %d %ld %ld %.0f %.1f\n", r, th, ops[th][0], ops[th][1],
			       wall[th], cost);
		}
		fflush(stdout);
	}
	pthread_mutex_lock(&mu);
	atomic_store(&gen, -1);
	atomic_store(&active, 2);
	pthread_cond_broadcast(&go);
	pthread_mutex_unlock(&mu);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (th = 1; th <= 2; th++)
		for (i = 0; i < 2; i++)
			free(lat[th][i].v);
	printf("@tput-end\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char path[128];
	int i;

	if (argc > 1)
		rounds = atoi(argv[1]);
	if (argc > 2)
		block = atoi(argv[2]);
	if (argc > 3)
		tput_ms = atoi(argv[3]);
	if (argc > 4)
		many = atoi(argv[4]);
	if (rounds < 1 || block < 1 || tput_ms < 10 || many < 2) {
		fprintf(stderr, "usage: bench_pods [ROUNDS [BLOCK [TPUT_MS [MANY]]]]\n");
		return 2;
	}
	if (dp_open(&dev))
		die("open");
	fd = dev.fd;
	mkdir(CG, 0755);
	mkdir(POD, 0755);
	snprintf(path, sizeof(path), "%s", POD);
	for (i = 1; i <= 8; i++) {
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "/l%d", i);
		mkdir(path, 0755);
	}
	bind_pod(POD, 0);
	if (move_self(POD))
		die("move");
	printf("@note %d rounds after one warm-up round; latency blocks of %d calls, throughput blocks of %d ms\n",
	       rounds, block, tput_ms);

	attest_vs_report();
	nested_vs_pod();
	threads_scaling();
	many_vs_one();
	return 0;
}
