// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl admin commands over the dstack_pod generic netlink family
 * (status, list, log, monitor) and the Pod ioctls (bind, unbind, measure,
 * attest).  JSON schemas: Documentation/dstack-podctl.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "node/dstackpod.h"
#include "podctl.h"

static int usage_err(const char *use)
{
	fprintf(stderr, "usage: dstack-podctl %s\n", use);
	return PODCTL_EXIT_USAGE;
}

/* Open the family; a missing family means the module is not loaded. */
static int open_nl(struct dp_nl *nl)
{
	int err = dp_nl_open(nl);

	return err ? podctl_fail_nodev(err) : 0;
}

/* ---- status ---------------------------------------------------------- */

static void fmt_time(uint64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "%llu", (unsigned long long)t);
}

int cmd_status(int argc, char **argv)
{
	char hex[2 * DSTACK_POD_DIGEST_LEN + 1], when[64];
	struct dp_status st;
	struct dp_nl nl;
	int json = argc == 2 && !strcmp(argv[1], "--json");
	int err;

	if (argc > 2 || (argc == 2 && !json))
		return usage_err("status [--json]");
	err = dp_nl_open(&nl);
	if (err == -ENOENT)	/* no family: old module or none; try the device */
		return cmd_status_ioctl(argc, argv);
	if (err)
		return podctl_fail(err);
	err = dp_nl_status(&nl, &st);
	dp_nl_close(&nl);
	if (err == -EPERM)	/* not an admin: the device's view for everyone */
		return cmd_status_ioctl(argc, argv);
	if (err)
		return podctl_fail(err);
	if (json) {
		json_object *o = dp_json_status(&st);

		if (!o)
			return podctl_fail(dp_seterr(ENOMEM, "status"));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
		return PODCTL_EXIT_OK;
	}
	printf("abi        %u.%u\n", st.abi_major, st.abi_minor);
	printf("backend    %s%s\n", st.backend,
	       !strcmp(st.backend, "sim") ? " (SIMULATED, development only)" : "");
	printf("mode       %s\n", st.mode == DSTACK_POD_MODE_SECURE ?
	       "secure (fuse blown)" : "setup");
	if (st.fuse.present) {
		fmt_time(st.fuse.time, when, sizeof(when));
		printf("fused      %s by pid %u uid %u (%s)\n", when, st.fuse.pid,
		       st.fuse.uid, st.fuse.comm[0] ? st.fuse.comm : "?");
		printf("binder     %s\n", st.fuse.binder_path[0] ?
		       st.fuse.binder_path : "none (no Pod can be bound)");
	}
	printf("events     %u of %u\n", st.event_count, st.max_events);
	printf("pods       %u of %u\n", st.pod_count, st.max_pods);
	if (st.has_rtmr3) {
		dp_hex(st.rtmr3, sizeof(st.rtmr3), hex);
		printf("rtmr3      %s\n", hex);
	} else {
		printf("rtmr3      unavailable\n");
	}
	return PODCTL_EXIT_OK;
}

/* ---- list ------------------------------------------------------------ */

struct list_ctx {
	int json;
	uint64_t n;
};

/* The header goes out with the first row, so a refusal prints nothing. */
static void list_header(void)
{
	char hdr[256];

	dp_fmt_pod_header(hdr, sizeof(hdr));
	puts(hdr);
}

static int list_cb(const struct dp_nl_pod *p, void *arg)
{
	struct list_ctx *c = arg;
	char row[512];

	if (!c->n++ && !c->json)
		list_header();
	if (c->json) {
		json_object *o = dp_json_pod(p);
		int err = dp_json_print(stdout, o);

		json_object_put(o);
		return err;
	}
	dp_fmt_pod_row(p, row, sizeof(row));
	if (puts(row) < 0)
		return dp_seterr(errno ? errno : EIO, "writing output");
	return 0;
}

int cmd_list(int argc, char **argv)
{
	static const char use[] = "list [--json] [--stats]";
	struct list_ctx c = { 0 };
	struct dp_nl nl;
	int i, err, stats = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			c.json = 1;
		else if (!strcmp(argv[i], "--stats"))
			stats = 1;
		else
			return usage_err(use);
	}
	err = open_nl(&nl);
	if (err)
		return err;
	err = dp_nl_pods(&nl, list_cb, &c);
	if (!err && !c.n && !c.json)
		list_header();
	if (stats)
		fprintf(stderr, "pods %llu, netlink messages %llu, datagrams %llu, bytes %llu\n",
			(unsigned long long)c.n,
			(unsigned long long)nl.stats.messages,
			(unsigned long long)nl.stats.datagrams,
			(unsigned long long)nl.stats.bytes);
	dp_nl_close(&nl);
	if (fflush(stdout) && !err)
		err = dp_seterr(errno, "writing output");
	return err ? podctl_fail(err) : PODCTL_EXIT_OK;
}

/* ---- log ------------------------------------------------------------- */

enum log_fmt { LOG_TEXT, LOG_DSTACK, LOG_JSON };

struct log_ctx {
	enum log_fmt fmt;
	uint8_t mr[DSTACK_POD_DIGEST_LEN];
	uint32_t n;
	int bad;		/* a digest did not match its name + payload */
};

static int log_cb(const struct dp_nl_event *ev, void *arg)
{
	struct log_ctx *c = arg;
	char hex[2 * DSTACK_POD_DIGEST_LEN + 1];
	uint8_t d[DSTACK_POD_DIGEST_LEN];
	json_object *o;
	int err;
	size_t j;

	err = dp_event_digest(ev->name, ev->payload, ev->payload_len, d);
	if (err)
		return err;
	if (memcmp(d, ev->digest, sizeof(d)))
		c->bad++;
	err = dp_rtmr_extend(c->mr, ev->digest);
	if (err)
		return err;
	c->n++;
	switch (c->fmt) {
	case LOG_DSTACK: {
		char *b64 = malloc(4 * ((ev->payload_len + 2) / 3) + 1);

		if (!b64)
			return dp_seterr(ENOMEM, "log");
		dp_base64(ev->payload, ev->payload_len, b64);
		o = json_object_new_object();
		json_object_object_add(o, "event", json_object_new_string(ev->name));
		json_object_object_add(o, "payload", json_object_new_string(b64));
		free(b64);
		err = dp_json_print(stdout, o);
		json_object_put(o);
		return err;
	}
	case LOG_JSON:
		o = dp_json_event(ev);
		err = dp_json_print(stdout, o);
		json_object_put(o);
		return err;
	case LOG_TEXT: {
		int printable = ev->payload_len > 0;

		for (j = 0; j < ev->payload_len; j++)
			if (ev->payload[j] < 0x20 || ev->payload[j] > 0x7e)
				printable = 0;
		dp_hex(ev->digest, sizeof(ev->digest), hex);
		printf("#%u %s%s\n    digest  %s\n    payload ", ev->index,
		       ev->name, memcmp(d, ev->digest, sizeof(d)) ?
		       "  [DIGEST MISMATCH]" : "", hex);
		if (printable)
			printf("\"%.*s\"\n", (int)ev->payload_len,
			       (const char *)ev->payload);
		else
			printf("%zu bytes\n", ev->payload_len);
		return 0;
	}
	}
	return 0;
}

/* Print what log_cb gathered: the replay line, or the mismatch count. */
static int log_end(const struct log_ctx *c, const char *what)
{
	char hex[2 * DSTACK_POD_DIGEST_LEN + 1];

	if (c->fmt == LOG_TEXT) {
		dp_hex(c->mr, sizeof(c->mr), hex);
		printf("replayed %s %s\n", what, hex);
	}
	if (fflush(stdout))
		return podctl_fail(dp_seterr(errno, "writing output"));
	if (c->bad) {
		fprintf(stderr, "dstack-podctl: %d event digest%s do not match name and payload\n",
			c->bad, c->bad == 1 ? "" : "s");
		return PODCTL_EXIT_FAIL;
	}
	return PODCTL_EXIT_OK;
}

/*
 * --pod self: the caller's own Pod's log through the device
 * (DSTACK_POD_IOC_POD_LOG).  It needs neither privileges nor the node's
 * network namespace, so it works inside any container of a bound Pod.
 */
static int log_self(struct log_ctx *c)
{
	struct dp_log log = { 0 };
	struct dp_nl_event ev;
	struct dp_dev dev;
	size_t i;
	int err;

	err = dp_open(&dev);
	if (err)
		return podctl_fail_nodev(err);
	err = dp_pod_log(&dev, &log);
	dp_close(&dev);
	for (i = 0; !err && i < log.n; i++) {
		ev.index = log.ev[i].index;
		ev.name = log.ev[i].name;
		memcpy(ev.digest, log.ev[i].digest, sizeof(ev.digest));
		ev.payload = log.ev[i].payload;
		ev.payload_len = log.ev[i].payload_len;
		err = log_cb(&ev, c);
	}
	dp_log_free(&log);
	return err ? podctl_fail(err) : log_end(c, "PMR");
}

int cmd_log(int argc, char **argv)
{
	static const char use[] = "log [--pod UID|self] [--format text|dstack|json|raw]";
	static const struct option opts[] = {
		{ "pod", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t uid[DSTACK_POD_UID_LEN];
	const char *pod = NULL, *fmt = "text";
	struct log_ctx c;
	struct dp_nl nl;
	int opt, err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			pod = optarg;
			break;
		case 'f':
			fmt = optarg;
			break;
		default:
			return usage_err(use);
		}
	}
	if (optind != argc)
		return usage_err(use);
	memset(&c, 0, sizeof(c));
	if (!strcmp(fmt, "text"))
		c.fmt = LOG_TEXT;
	else if (!strcmp(fmt, "dstack"))
		c.fmt = LOG_DSTACK;
	else if (!strcmp(fmt, "json"))
		c.fmt = LOG_JSON;
	else if (!strcmp(fmt, "raw") && !pod)
		return cmd_log_securityfs(argc, argv);
	else {
		fprintf(stderr, "dstack-podctl: unknown log format '%s' (text, dstack, json%s)\n",
			fmt, pod ? "" : " or raw");
		return PODCTL_EXIT_USAGE;
	}
	if (pod && !strcmp(pod, "self"))
		return log_self(&c);
	if (pod && dp_uuid_parse(pod, uid)) {
		fprintf(stderr, "dstack-podctl: --pod: %s\n", dp_errmsg());
		return PODCTL_EXIT_USAGE;
	}
	err = dp_nl_open(&nl);
	if (err == -ENOENT && !pod) {
		/* No netlink family: the securityfs log (older module or none). */
		const char *av[] = { "log", "--format",
				     c.fmt == LOG_JSON ? "text" : fmt, NULL };

		if (c.fmt == LOG_JSON)
			return podctl_fail_nodev(err);
		return cmd_log_securityfs(3, (char **)av);
	}
	if (err)
		return podctl_fail_nodev(err);
	err = dp_nl_events(&nl, pod ? uid : NULL, log_cb, &c);
	dp_nl_close(&nl);
	if (err)
		return podctl_fail(err);
	return log_end(&c, pod ? "PMR" : "RTMR3");
}

/* ---- monitor --------------------------------------------------------- */

struct mon_ctx {
	int json;
	long count;	/* stop after this many; 0 = forever */
	long seen;
};

static void on_signal(int sig)
{
	(void)sig;
}

static int mon_cb(const struct dp_notify *n, void *arg)
{
	struct mon_ctx *c = arg;
	char hex[2 * DSTACK_POD_DIGEST_LEN + 1], when[64];

	if (c->json) {
		json_object *o = dp_json_notify(n);
		int err = dp_json_print(stdout, o);

		json_object_put(o);
		if (err)
			return err;
	} else {
		printf("%s", dp_notify_kind_name(n->kind));
		if (n->has_pod)
			printf(" pod=%s ns=%s name=%s workload=%s cgroup=%s gen=%llu",
			       n->pod.uid, n->pod.pod_namespace[0] ? n->pod.pod_namespace : "-",
			       n->pod.pod_name[0] ? n->pod.pod_name : "-",
			       n->pod.workload_id, n->pod.cgroup_path,
			       (unsigned long long)n->pod.generation);
		if (n->has_event) {
			dp_hex(n->event.digest, sizeof(n->event.digest), hex);
			printf(" event=#%u:%s digest=%s payload_len=%zu",
			       n->event.index, n->event.name, hex,
			       n->event.payload_len);
		}
		if (n->fuse.present) {
			fmt_time(n->fuse.time, when, sizeof(when));
			printf(" fused=%s pid=%u uid=%u comm=%s binder=%s", when,
			       n->fuse.pid, n->fuse.uid, n->fuse.comm,
			       n->fuse.binder_path[0] ? n->fuse.binder_path : "-");
		}
		putchar('\n');
	}
	if (fflush(stdout))
		return dp_seterr(errno, "writing output");
	c->seen++;
	return c->count && c->seen >= c->count ? 1 : 0;
}

int cmd_monitor(int argc, char **argv)
{
	static const char use[] = "monitor [--json] [--count N]";
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct mon_ctx c = { 0 };
	struct sigaction sa;
	struct dp_nl nl;
	char *end;
	int opt, err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			c.json = 1;
			break;
		case 'c':
			errno = 0;
			c.count = strtol(optarg, &end, 10);
			if (errno || *end || c.count <= 0)
				return usage_err(use);
			break;
		default:
			return usage_err(use);
		}
	}
	if (optind != argc)
		return usage_err(use);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: ends the wait */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = open_nl(&nl);
	if (err)
		return err;
	err = dp_nl_subscribe(&nl);
	if (!err) {
		/* Subscribed: tell a waiting script (stderr keeps stdout clean). */
		fprintf(stderr, "dstack-podctl: monitoring\n");
		err = dp_nl_monitor(&nl, mon_cb, &c);
	}
	dp_nl_close(&nl);
	if (err == -EINTR)
		return PODCTL_EXIT_OK;
	return err ? podctl_fail(err) : PODCTL_EXIT_OK;
}

/* ---- bind / unbind / measure ----------------------------------------- */

static int open_pod_dev(struct dp_dev *dev)
{
	int err = dp_open(dev);

	return err ? podctl_fail_nodev(err) : 0;
}

int cmd_bind(int argc, char **argv)
{
	static const char use[] =
		"bind --cgroup PATH --uid UID --workload W [--namespace NS --name N] [--spec-hash HEX] [--spec-source annotation|apiserver]";
	static const struct option opts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "uid", required_argument, NULL, 'u' },
		{ "workload", required_argument, NULL, 'w' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "name", required_argument, NULL, 'N' },
		{ "spec-hash", required_argument, NULL, 'h' },
		{ "spec-source", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct dp_pod_identity id;
	const char *cg = NULL;
	uint8_t tmp[DSTACK_POD_UID_LEN];
	struct dp_dev dev;
	uint64_t gen = 0;
	size_t n;
	int opt, err;

	memset(&id, 0, sizeof(id));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cg = optarg; break;
		case 'u': id.pod_uid = optarg; break;
		case 'w': id.workload_id = optarg; break;
		case 'n': id.pod_namespace = optarg; break;
		case 'N': id.pod_name = optarg; break;
		case 'h':
			if (dp_unhex(optarg, id.pod_spec_hash,
				     sizeof(id.pod_spec_hash), &n) ||
			    n != sizeof(id.pod_spec_hash)) {
				fprintf(stderr, "dstack-podctl: --spec-hash needs 64 hex digits (SHA-256)\n");
				return PODCTL_EXIT_USAGE;
			}
			break;
		case 's':
			if (dp_spec_source_parse(optarg, &id.spec_source)) {
				fprintf(stderr, "dstack-podctl: %s\n", dp_errmsg());
				return PODCTL_EXIT_USAGE;
			}
			break;
		default:
			return usage_err(use);
		}
	}
	if (optind != argc || !cg || !id.pod_uid || !id.workload_id)
		return usage_err(use);
	if (dp_uuid_parse(id.pod_uid, tmp)) {
		fprintf(stderr, "dstack-podctl: --uid: %s\n", dp_errmsg());
		return PODCTL_EXIT_USAGE;
	}
	err = open_pod_dev(&dev);
	if (err)
		return err;
	err = dp_bind(&dev, cg, &id, &gen);
	dp_close(&dev);
	if (err)
		return podctl_fail(err);
	printf("bound Pod %s to %s, generation %llu\n", id.pod_uid, cg,
	       (unsigned long long)gen);
	return PODCTL_EXIT_OK;
}

/* --cgroup PATH | --uid UID, exactly one. */
static int parse_select(int argc, char **argv, const char *use,
			const char **cg, const char **uid, const char **file)
{
	static const struct option opts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "uid", required_argument, NULL, 'u' },
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*cg = *uid = NULL;
	if (file)
		*file = NULL;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': *cg = optarg; break;
		case 'u': *uid = optarg; break;
		case 'f':
			if (!file)
				return usage_err(use);
			*file = optarg;
			break;
		default:
			return usage_err(use);
		}
	}
	if (!*cg == !*uid) {
		fprintf(stderr, "dstack-podctl: name the Pod with --cgroup PATH or --uid UID (one of them)\n");
		return usage_err(use);
	}
	return 0;
}

int cmd_unbind(int argc, char **argv)
{
	static const char use[] = "unbind (--cgroup PATH | --uid UID)";
	const char *cg, *uid;
	struct dp_dev dev;
	int err;

	err = parse_select(argc, argv, use, &cg, &uid, NULL);
	if (err)
		return err;
	if (optind != argc)
		return usage_err(use);
	err = open_pod_dev(&dev);
	if (err)
		return err;
	err = dp_unbind(&dev, cg, uid);
	dp_close(&dev);
	if (err)
		return podctl_fail(err);
	printf("unbound Pod %s\n", cg ? cg : uid);
	return PODCTL_EXIT_OK;
}

int cmd_measure(int argc, char **argv)
{
	static const char use[] =
		"measure (--cgroup PATH | --uid UID) NAME (PAYLOAD | --file F)";
	static uint8_t payload[DSTACK_POD_EVENT_PAYLOAD_MAX + 1];
	char hex[2 * DSTACK_POD_DIGEST_LEN + 1];
	uint8_t pmr[DSTACK_POD_DIGEST_LEN];
	const char *cg, *uid, *file, *name;
	struct dp_dev dev;
	size_t len = 0;
	int err;

	err = parse_select(argc, argv, use, &cg, &uid, &file);
	if (err)
		return err;
	if (file) {
		if (argc - optind != 1)
			return usage_err(use);
		err = podctl_read_file(file, payload,
				       DSTACK_POD_EVENT_PAYLOAD_MAX, &len);
		if (err)
			return podctl_fail(err);
	} else {
		if (argc - optind != 2)
			return usage_err(use);
		len = strlen(argv[optind + 1]);
		if (len > DSTACK_POD_EVENT_PAYLOAD_MAX) {
			fprintf(stderr, "dstack-podctl: payload over %d bytes\n",
				DSTACK_POD_EVENT_PAYLOAD_MAX);
			return PODCTL_EXIT_USAGE;
		}
		memcpy(payload, argv[optind + 1], len);
	}
	name = argv[optind];
	err = open_pod_dev(&dev);
	if (err)
		return err;
	err = dp_pod_extend(&dev, cg, uid, name, payload, len, pmr);
	dp_close(&dev);
	if (err)
		return podctl_fail(err);
	dp_hex(pmr, sizeof(pmr), hex);
	printf("event %s measured into Pod %s, pmr %s\n", name, cg ? cg : uid,
	       hex);
	return PODCTL_EXIT_OK;
}

/* ---- attest ---------------------------------------------------------- */

static int write_out(const char *dir, const char *name, const void *p,
		     size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return dp_seterr(errno, "write %s", path);
	if (fwrite(p, 1, len, f) != len) {
		int err = errno ? errno : EIO;

		fclose(f);
		return dp_seterr(err, "write %s", path);
	}
	if (fclose(f))
		return dp_seterr(errno, "write %s", path);
	return 0;
}

/*
 * The start time (clock ticks after boot, field 22 of /proc/PID/stat) of
 * the process pidfd names.  Read through /proc/PID, then checked that the
 * pidfd's process is still alive: while it lives its pid cannot name any
 * other process, so what /proc/PID said was about it.
 */
static int pidfd_start_time(int pidfd, long pid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dp_seterr(errno, "%s", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return dp_seterr(EIO, "%s: empty", path);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after "pid (comm)": state is field 3, starttime field 22 */
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", start) != 1)
		return dp_seterr(EIO, "%s: no start time", path);
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0))
		return dp_seterr(errno == ESRCH ? ESRCH : errno,
				 "pid %ld exited while it was being named", pid);
	return 0;
}

int cmd_attest(int argc, char **argv)
{
	static const char use[] = "attest [--pid PID [--start-time TICKS] | --peer-fd FD] [--nonce HEX] [--out DIR] [--json]\n"
		"       dstack-podctl attest --quote [--pid PID [--start-time TICKS] | --peer-fd FD] [--nonce HEX]\n"
		"           [--qgs unix:PATH|vsock:CID:PORT]\n"
		"           [--dstack-event-log GETQUOTE.json] [--rtmr3-log FILE] [--timings] -o BUNDLE.json";
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "start-time", required_argument, NULL, 's' },
		{ "peer-fd", required_argument, NULL, 'P' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "quote", no_argument, NULL, 'q' },
		{ "qgs", required_argument, NULL, 'g' },
		{ "timings", no_argument, NULL, 't' },
		{ "dstack-event-log", required_argument, NULL, 'd' },
		{ "rtmr3-log", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *qgs = NULL, *dlog = NULL, *rlog = NULL;
	int quote = 0, timings = 0;
	uint8_t nonce[DSTACK_POD_NONCE_MAX], rd[DSTACK_POD_REPORTDATA_LEN];
	uint8_t tdreport[DSTACK_POD_TDREPORT_LEN];
	struct dstack_pod_claims claims;
	const char *out = NULL;
	struct dp_dev dev;
	json_object *o;
	size_t nlen = 0;
	int opt, err, json = 0, rd_ok, pidfd = -1, peer_fd = -1, has_start = 0;
	unsigned long long start = 0, now;
	long pid = 0;
	char *end;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (opt) {
		case 'q': quote = 1; break;
		case 'g': qgs = optarg; break;
		case 't': timings = 1; break;
		case 'd': dlog = optarg; break;
		case 'r': rlog = optarg; break;
		case 'n':
			if (dp_unhex(optarg, nonce, sizeof(nonce), &nlen)) {
				fprintf(stderr, "dstack-podctl: --nonce: %s (at most %d bytes)\n",
					dp_errmsg(), DSTACK_POD_NONCE_MAX);
				return PODCTL_EXIT_USAGE;
			}
			break;
		case 'o': out = optarg; break;
		case 'j': json = 1; break;
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || *end || pid <= 0 || pid > INT32_MAX)
				return usage_err(use);
			break;
		case 's':
			errno = 0;
			start = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || *optarg == '-')
				return usage_err(use);
			has_start = 1;
			break;
		case 'P':
			errno = 0;
			peer_fd = (int)strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || peer_fd < 0)
				return usage_err(use);
			break;
		default:
			return usage_err(use);
		}
	}
	if (optind != argc || (quote && (!out || json)) ||
	    (!quote && (qgs || timings || dlog || rlog)) ||
	    (pid && peer_fd >= 0) || (has_start && !pid))
		return usage_err(use);
	if (pid) {
		/*
		 * A pid number names whatever process has it when pidfd_open()
		 * runs: if the one meant has exited and the number was reused,
		 * that is another process.  --start-time pins the process
		 * meant; without it the attested process is the pid's holder
		 * at this moment (Documentation/dstack-podctl.rst).
		 */
		pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (pidfd < 0)
			return podctl_fail(dp_seterr(errno, "pidfd_open %ld", pid));
		if (has_start) {
			err = pidfd_start_time(pidfd, pid, &now);
			if (!err && now != start)
				err = dp_seterr(ESRCH, "pid %ld is another process now (start time %llu, not %llu)",
						pid, now, start);
			if (err) {
				close(pidfd);
				return podctl_fail(err);
			}
		}
	}
	if (quote) {
		err = podctl_attest_bundle(peer_fd >= 0 ? peer_fd : pidfd,
					   peer_fd >= 0, nonce, nlen, out, qgs,
					   dlog, rlog, timings);
		if (pidfd >= 0)
			close(pidfd);
		return err;
	}
	err = open_pod_dev(&dev);
	if (err) {
		if (pidfd >= 0)
			close(pidfd);
		return err;
	}
	if (peer_fd >= 0)
		err = dp_attest_peer(&dev, peer_fd, nonce, nlen, &claims, tdreport);
	else
		err = dp_attest(&dev, pidfd, nonce, nlen, &claims, tdreport);
	dp_close(&dev);
	if (pidfd >= 0)
		close(pidfd);
	if (err)
		return podctl_fail(err);
	if (out) {
		if (mkdir(out, 0755) && errno != EEXIST)
			return podctl_fail(dp_seterr(errno, "mkdir %s", out));
		err = write_out(out, "claims.bin", &claims, sizeof(claims));
		if (!err)
			err = write_out(out, "tdreport.bin", tdreport,
					sizeof(tdreport));
		if (err)
			return podctl_fail(err);
	}
	err = dp_claims_report_data(&claims, rd);
	if (err)
		return podctl_fail(err);
	rd_ok = !memcmp(rd, tdreport + DP_TDREPORT_REPORTDATA, sizeof(rd));
	o = dp_json_claims(&claims);
	if (!o)
		return podctl_fail(dp_seterr(ENOMEM, "claims"));
	json_object_object_add(o, "report_data_matches",
			       json_object_new_boolean(rd_ok));
	if (json) {
		err = dp_json_print(stdout, o);
	} else {
		json_object_object_foreach(o, key, val)
			printf("%-20s %s\n", key, json_object_get_string(val));
		if (out)
			printf("%-20s %s/claims.bin, %s/tdreport.bin\n", "written",
			       out, out);
	}
	json_object_put(o);
	if (err)
		return podctl_fail(err);
	if (!rd_ok) {
		fprintf(stderr, "dstack-podctl: the report's REPORTDATA is not SHA-512 of the claims\n");
		return PODCTL_EXIT_FAIL;
	}
	return PODCTL_EXIT_OK;
}
