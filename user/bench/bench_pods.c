// SPDX-License-Identifier: GPL-2.0
/*
 * Pod attestation benchmark, run inside the test VM (bench/pods.sh).
 * Every target is a ratio of two figures measured side by side in this one
 * run, so the noise of the machine cancels out as far as it can:
 *
 *   attest / node report latency (median, same backend)        <= 1.10
 *   attest with 10,000 bound Pods / with 1 bound Pod            <= 1.10
 *   attest 8 cgroup levels below the Pod / in the Pod           <= 1.10
 *   attest throughput, 2 threads / 1 thread (2 vCPUs)           >= 1.8
 *   kernel memory per bound Pod, without its event log          <= 2 KiB
 *
 * Not a test: it prints a table and exits 0 unless something broke.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dstackpod.h"

#define CG		"/sys/fs/cgroup/bench"
#define POD		CG "/pod0"
#define NESTED		POD "/l1/l2/l3/l4/l5/l6/l7/l8"
#define MANY		10000

static int fd;
static int iters = 2000;

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
	return v[n / 2];
}

static void die(const char *what)
{
	fprintf(stderr, "bench_pods: %s: %s\n", what, dp_errmsg());
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

/* Interleaved medians of two operations, so both see the same noise. */
static void paired(int (*a)(void), int (*b)(void), double *ma, double *mb)
{
	double *va = calloc((size_t)iters, sizeof(double));
	double *vb = calloc((size_t)iters, sizeof(double));
	double t;
	int i;

	for (i = 0; i < 200; i++)
		if (a() || b())
			die("warm-up");
	for (i = 0; i < iters; i++) {
		t = now_us();
		if (a())
			die("op a");
		va[i] = now_us() - t;
		t = now_us();
		if (b())
			die("op b");
		vb[i] = now_us() - t;
	}
	*ma = median(va, iters);
	*mb = median(vb, iters);
	free(va);
	free(vb);
}

static double attest_median(void)
{
	double *v = calloc((size_t)iters, sizeof(double)), t, m;
	int i;

	for (i = 0; i < 200; i++)
		one_attest();
	for (i = 0; i < iters; i++) {
		t = now_us();
		if (one_attest())
			die("attest");
		v[i] = now_us() - t;
	}
	m = median(v, iters);
	free(v);
	return m;
}

/* Median attest latency of a child process placed in @cg. */
static double attest_in(const char *cg)
{
	int p[2];
	double m = -1;
	pid_t pid;

	if (pipe(p))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		if (move_self(cg))
			_exit(1);
		m = attest_median();
		if (write(p[1], &m, sizeof(m)) != sizeof(m))
			_exit(1);
		_exit(0);
	}
	if (read(p[0], &m, sizeof(m)) != sizeof(m))
		die("child");
	waitpid(pid, NULL, 0);
	close(p[0]);
	close(p[1]);
	return m;
}

static volatile int stop;

static void *spin(void *cnt)
{
	struct dstack_pod_attest *a = calloc(1, sizeof(*a));
	long n = 0;

	a->pidfd = -1;
	while (!stop) {
		if (ioctl(fd, DSTACK_POD_IOC_ATTEST, a))
			die("attest");
		n++;
	}
	*(long *)cnt = n;
	free(a);
	return NULL;
}

static double throughput(int threads, double secs)
{
	pthread_t t[2];
	long cnt[2] = { 0, 0 };
	double t0;
	int i;

	stop = 0;
	t0 = now_us();
	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, spin, &cnt[i]);
	usleep((useconds_t)(secs * 1e6));
	stop = 1;
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return (cnt[0] + cnt[1]) / ((now_us() - t0) / 1e6);
}

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

static void bind(const char *cg, int i)
{
	struct dp_dev dev = { .fd = fd };
	char uid[40], wl[64];
	struct dp_pod_identity id = {
		.pod_uid = uid, .workload_id = wl,
		.pod_namespace = "bench", .pod_name = wl,
	};

	snprintf(uid, sizeof(uid), "00000000-0000-4000-8000-%012d", i);
	snprintf(wl, sizeof(wl), "bench/pod-%d", i);
	if (dp_bind(&dev, cg, &id, NULL))
		die("bind");
}

static void row(const char *what, double a, double b, const char *unit,
		double ratio, const char *op, double target)
{
	int ok = !strcmp(op, "<=") ? ratio <= target : ratio >= target;

	printf("%-44s %10.2f %10.2f %-6s %6.3f  %s %.2f  %s\n", what, a, b, unit,
	       ratio, op, target, ok ? "met" : "MISSED");
}

int main(int argc, char **argv)
{
	double a, b, a1, b1;
	long slab0, slab1;
	char path[128];
	int i;
	struct dp_dev dev;

	if (argc > 1)
		iters = atoi(argv[1]);
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
	bind(POD, 0);
	if (move_self(POD))
		die("move");

	printf("%-44s %10s %10s %-6s %6s  %s\n", "measure (median over iterations)",
	       "A", "B", "unit", "A/B", "target");
	paired(one_attest, one_report, &a, &b);
	row("attest / node report latency", a, b, "us", a / b, "<=", 1.10);

	a = attest_in(NESTED);
	b = attest_in(POD);
	a1 = attest_in(NESTED);
	b1 = attest_in(POD);
	a = (a + a1) / 2;
	b = (b + b1) / 2;
	row("attest 8 levels deep / in the Pod", a, b, "us", a / b, "<=", 1.10);

	b = throughput(1, 2.0);
	a = throughput(2, 2.0);
	b1 = throughput(1, 2.0);
	a1 = throughput(2, 2.0);
	a = (a + a1) / 2;
	b = (b + b1) / 2;
	row("attest throughput 2 threads / 1 thread", a, b, "op/s", a / b, ">=", 1.8);

	b = attest_median();
	/* Pre-create the cgroups so only our objects show in the slab delta. */
	mkdir(CG "/many", 0755);
	for (i = 1; i < MANY; i++) {
		snprintf(path, sizeof(path), CG "/many/p%d", i);
		mkdir(path, 0755);
	}
	sync();
	usleep(200000);
	slab0 = meminfo("SUnreclaim:");
	for (i = 1; i < MANY; i++) {
		snprintf(path, sizeof(path), CG "/many/p%d", i);
		bind(path, i);
	}
	usleep(200000);
	slab1 = meminfo("SUnreclaim:");
	a = attest_median();
	a1 = attest_median();
	for (i = 1; i < MANY; i++) {
		char uid[40];

		snprintf(uid, sizeof(uid), "00000000-0000-4000-8000-%012d", i);
		if (dp_unbind(&dev, NULL, uid))
			die("unbind");
	}
	b1 = attest_median();
	row("attest with 10,000 Pods / with 1 Pod", (a + a1) / 2, (b + b1) / 2, "us",
	    ((a + a1) / 2) / ((b + b1) / 2), "<=", 1.10);
	printf("%-44s %10.0f %10s %-6s %6s  <= 2048  %s\n",
	       "kernel memory per bound Pod (SUnreclaim delta)",
	       (slab1 - slab0) * 1024.0 / (MANY - 1), "", "bytes", "",
	       (slab1 - slab0) * 1024.0 / (MANY - 1) <= 2048 ? "met" : "MISSED");
	{
		char line[512];
		FILE *f = fopen("/proc/slabinfo", "r");

		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "dstack_pod ", 11)) {
				unsigned long act, num, sz;

				if (sscanf(line + 11, "%lu %lu %lu", &act, &num, &sz) == 3)
					printf("%-44s %10lu %10s %-6s\n",
					       "  of which the dstack_pod object", sz, "", "bytes");
			}
		if (f)
			fclose(f);
	}
	return 0;
}
