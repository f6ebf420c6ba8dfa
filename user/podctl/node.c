// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl node commands: status, extend, log, report, fuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "node/dstackpod.h"
#include "podctl.h"

/* EPERM in secure mode: say since when and by whom (netlink, if allowed). */
static void fused_hint(void)
{
	struct dp_status st;
	struct dp_nl nl;
	char when[64];
	time_t t;
	struct tm tm;

	if (dp_nl_open(&nl))
		return;
	if (!dp_nl_status(&nl, &st) && st.mode == DSTACK_POD_MODE_SECURE &&
	    st.fuse.present) {
		t = (time_t)st.fuse.time;
		if (!gmtime_r(&t, &tm) ||
		    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
			snprintf(when, sizeof(when), "%llu",
				 (unsigned long long)st.fuse.time);
		fprintf(stderr, "dstack-podctl: the node is fused since %s (by pid %u uid %u %s); setup-only calls are gone until reboot\n",
			when, st.fuse.pid, st.fuse.uid, st.fuse.comm);
	}
	dp_nl_close(&nl);
}

static int fail(int err)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", dp_errmsg());
	fprintf(stderr, "dstack-podctl: %s\n", msg);
	if (err == -EPERM && strstr(msg, "secure mode"))
		fused_hint();
	return PODCTL_EXIT_FAIL;
}

/* The device or the log is missing: the module is not loaded. */
static int fail_nodev(int err)
{
	fail(err);
	return err == -ENOENT || err == -ENODEV ? PODCTL_EXIT_NODEV :
						  PODCTL_EXIT_FAIL;
}

static int open_dev(struct dp_dev *dev)
{
	int err = dp_open(dev);

	return err ? fail_nodev(err) : 0;
}

static const char *backend_name(uint32_t b)
{
	return b == DSTACK_POD_BACKEND_TDX ? "tdx" :
	       b == DSTACK_POD_BACKEND_SIM ? "sim" : "unknown";
}

int cmd_status_ioctl(int argc, char **argv)
{
	struct dstack_pod_version v;
	struct dp_dev dev;
	char rtmr3[128];
	int json = argc == 2 && !strcmp(argv[1], "--json");
	int err;

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "usage: dstack-podctl status [--json]\n");
		return PODCTL_EXIT_USAGE;
	}
	err = open_dev(&dev);
	if (err)
		return err;
	err = dp_version(&dev, &v);
	dp_close(&dev);
	if (err)
		return fail(err);
	if (dp_sysfs_read("rtmr3", rtmr3, sizeof(rtmr3)) < 0)
		snprintf(rtmr3, sizeof(rtmr3), "unavailable");
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "abi_major", json_object_new_int((int)v.abi_major));
		json_object_object_add(o, "abi_minor", json_object_new_int((int)v.abi_minor));
		json_object_object_add(o, "backend", json_object_new_string(backend_name(v.backend)));
		json_object_object_add(o, "mode", json_object_new_string(
			v.mode == DSTACK_POD_MODE_SECURE ? "secure" : "setup"));
		json_object_object_add(o, "event_count", json_object_new_int((int)v.event_count));
		json_object_object_add(o, "max_events", json_object_new_int((int)v.max_events));
		json_object_object_add(o, "rtmr3", json_object_new_string(rtmr3));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
		return PODCTL_EXIT_OK;
	}
	printf("abi        %u.%u\n", v.abi_major, v.abi_minor);
	printf("backend    %s%s\n", backend_name(v.backend),
	       v.backend == DSTACK_POD_BACKEND_SIM ? " (SIMULATED, development only)" : "");
	printf("mode       %s\n", v.mode == DSTACK_POD_MODE_SECURE ? "secure (fuse blown)" : "setup");
	printf("events     %u of %u\n", v.event_count, v.max_events);
	printf("rtmr3      %s\n", rtmr3);
	return PODCTL_EXIT_OK;
}

static int read_file(const char *path, uint8_t *buf, size_t max, size_t *len)
{
	size_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return dp_seterr(errno, "%s", path);
	while ((r = read(fd, buf + n, max + 1 - n)) > 0) {
		n += (size_t)r;
		if (n > max) {
			close(fd);
			return dp_seterr(E2BIG, "%s is larger than %zu bytes",
					 path, max);
		}
	}
	close(fd);
	if (r < 0)
		return dp_seterr(errno, "read %s", path);
	*len = n;
	return 0;
}

int cmd_extend(int argc, char **argv)
{
	static uint8_t payload[DSTACK_POD_EVENT_PAYLOAD_MAX + 1];
	char hex[2 * DSTACK_POD_DIGEST_LEN + 1];
	uint8_t digest[DSTACK_POD_DIGEST_LEN];
	struct dp_dev dev;
	size_t len = 0;
	uint32_t index;
	int err;

	if (argc == 4 && !strcmp(argv[2], "--file")) {
		err = read_file(argv[3], payload, DSTACK_POD_EVENT_PAYLOAD_MAX,
				&len);
		if (err)
			return fail(err);
	} else if (argc == 3) {
		len = strlen(argv[2]);
		if (len > DSTACK_POD_EVENT_PAYLOAD_MAX) {
			fprintf(stderr, "dstack-podctl: payload over %d bytes\n",
				DSTACK_POD_EVENT_PAYLOAD_MAX);
			return PODCTL_EXIT_USAGE;
		}
		memcpy(payload, argv[2], len);
	} else {
		fprintf(stderr, "usage: dstack-podctl extend NAME (PAYLOAD | --file F)\n");
		return PODCTL_EXIT_USAGE;
	}
	err = open_dev(&dev);
	if (err)
		return err;
	err = dp_extend(&dev, argv[1], payload, len, digest, &index);
	dp_close(&dev);
	if (err)
		return fail(err);
	dp_hex(digest, sizeof(digest), hex);
	printf("event #%u %s measured into RTMR3, digest %s\n", index, argv[1],
	       hex);
	return PODCTL_EXIT_OK;
}

int cmd_log_securityfs(int argc, char **argv)
{
	const char *fmt = "text";
	struct dp_log log;
	int err, ret = PODCTL_EXIT_OK;

	if (argc == 3 && !strcmp(argv[1], "--format")) {
		fmt = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: dstack-podctl log [--format text|dstack|raw]\n");
		return PODCTL_EXIT_USAGE;
	}
	if (strcmp(fmt, "text") && strcmp(fmt, "dstack") && strcmp(fmt, "raw")) {
		fprintf(stderr, "dstack-podctl: unknown log format '%s' (text, dstack or raw)\n",
			fmt);
		return PODCTL_EXIT_USAGE;
	}
	err = dp_log_load(DP_EVENTS_PATH, &log);
	if (err)
		return fail_nodev(err);
	if (!strcmp(fmt, "dstack")) {
		err = dp_log_write_dstack(&log, stdout);
	} else if (!strcmp(fmt, "text")) {
		uint8_t mr[DSTACK_POD_DIGEST_LEN];
		char hex[2 * DSTACK_POD_DIGEST_LEN + 1];

		err = dp_log_write_text(&log, stdout);
		if (!err)
			err = dp_log_replay(&log, mr);
		if (!err) {
			dp_hex(mr, sizeof(mr), hex);
			printf("replayed RTMR3 %s\n", hex);
		}
	} else {
		FILE *f = fopen(DP_EVENTS_PATH, "re");
		int c;

		if (!f)
			err = dp_seterr(errno, "%s", DP_EVENTS_PATH);
		while (f && (c = getc(f)) != EOF)
			putchar(c);
		if (f)
			fclose(f);
	}
	if (err)
		ret = fail(err);
	dp_log_free(&log);
	return ret;
}

static void print_report(const uint8_t *rep)
{
	char hex[2 * DSTACK_POD_REPORTDATA_LEN + 1];
	uint64_t attr;
	int i;

	memcpy(&attr, rep + DP_TDREPORT_ATTRIBUTES, sizeof(attr));
	printf("report type  0x%02x subtype %u version %u\n", rep[0], rep[1],
	       rep[2]);
	printf("attributes   0x%016llx%s\n", (unsigned long long)attr,
	       attr & DP_TD_ATTR_DEBUG ? " (DEBUG)" : "");
	if (!memcmp(rep + DP_TDREPORT_MRTD, DP_SIM_MRTD, DSTACK_POD_DIGEST_LEN)) {
		printf("mrtd         \"%s\" (simulator)\n", DP_SIM_MRTD);
	} else {
		dp_hex(rep + DP_TDREPORT_MRTD, DSTACK_POD_DIGEST_LEN, hex);
		printf("mrtd         %s\n", hex);
	}
	for (i = 0; i < 4; i++) {
		dp_hex(rep + DP_TDREPORT_RTMR(i), DSTACK_POD_DIGEST_LEN, hex);
		printf("rtmr%d        %s\n", i, hex);
	}
	dp_hex(rep + DP_TDREPORT_REPORTDATA, DSTACK_POD_REPORTDATA_LEN, hex);
	printf("report_data  %s\n", hex);
}

int cmd_report(int argc, char **argv)
{
	static const char use[] =
		"usage: dstack-podctl report [--report-data HEX] [--out FILE | --hex]\n";
	static const struct option opts[] = {
		{ "report-data", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ "hex", no_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t rd[DSTACK_POD_REPORTDATA_LEN] = { 0 };
	uint8_t rep[DSTACK_POD_TDREPORT_LEN];
	const char *out = NULL;
	struct dp_dev dev;
	int c, err, hex = 0;
	size_t n;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			err = dp_unhex(optarg, rd, sizeof(rd), &n);
			if (err)
				return fail(err);
			break;
		case 'o':
			out = optarg;
			break;
		case 'x':
			hex = 1;
			break;
		default:
			fputs(use, stderr);
			return PODCTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(use, stderr);
		return PODCTL_EXIT_USAGE;
	}
	err = open_dev(&dev);
	if (err)
		return err;
	err = dp_node_report(&dev, rd, rep);
	dp_close(&dev);
	if (err)
		return fail(err);
	if (out) {
		FILE *f = fopen(out, "we");

		if (!f || fwrite(rep, 1, sizeof(rep), f) != sizeof(rep)) {
			err = dp_seterr(errno, "write %s", out);
			if (f)
				fclose(f);
			return fail(err);
		}
		if (fclose(f))
			return fail(dp_seterr(errno, "write %s", out));
	} else if (hex) {
		char buf[2 * DSTACK_POD_TDREPORT_LEN + 1];

		dp_hex(rep, sizeof(rep), buf);
		printf("%s\n", buf);
	} else {
		print_report(rep);
	}
	return PODCTL_EXIT_OK;
}

int cmd_fuse(int argc, char **argv)
{
	static const char use[] =
		"usage: dstack-podctl fuse [--binder-cgroup PATH] [--force]\n";
	static const struct option opts[] = {
		{ "binder-cgroup", required_argument, NULL, 'b' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	char hex[2 * DSTACK_POD_DIGEST_LEN + 1];
	uint8_t digest[DSTACK_POD_DIGEST_LEN];
	const char *binder = NULL;
	struct dp_dev dev;
	uint32_t index;
	int c, err, force = 0, found;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			binder = optarg;
			break;
		case 'f':
			force = 1;
			break;
		default:
			fputs(use, stderr);
			return PODCTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(use, stderr);
		return PODCTL_EXIT_USAGE;
	}
	err = open_dev(&dev);
	if (err)
		return err;
	{
		struct dstack_pod_version v;

		if (!dp_version(&dev, &v) && v.mode == DSTACK_POD_MODE_SECURE) {
			dp_close(&dev);
			return fail(dp_seterr(EALREADY, "fuse: the node is already in secure mode"));
		}
	}
	found = podctl_fuse_preflight(stderr);
	if (found && !force) {
		dp_close(&dev);
		fprintf(stderr, "dstack-podctl: fuse refused: %d other path%s could produce TD reports or extend RTMR3 for root after the fuse (above); remove %s, or pass --force to fuse anyway (logged)\n",
			found, found == 1 ? "" : "s", found == 1 ? "it" : "them");
		return PODCTL_EXIT_FAIL;
	}
	if (found) {
		openlog("dstack-podctl", LOG_PID, LOG_AUTHPRIV);
		syslog(LOG_WARNING, "fuse --force by uid %u: preflight found %d competing attestation path(s); fusing anyway",
		       (unsigned int)getuid(), found);
		closelog();
		fprintf(stderr, "dstack-podctl: --force: fusing despite %d finding%s (logged to syslog)\n",
			found, found == 1 ? "" : "s");
	}
	err = dp_fuse(&dev, binder, digest, &index);
	dp_close(&dev);
	if (err)
		return fail(err);
	dp_hex(digest, sizeof(digest), hex);
	printf("fuse blown: secure mode; RTMR3 sealed with event #%u, digest %s\n",
	       index, hex);
	return PODCTL_EXIT_OK;
}

int podctl_fail(int err)
{
	return fail(err);
}

int podctl_fail_nodev(int err)
{
	return fail_nodev(err);
}

int podctl_read_file(const char *path, uint8_t *buf, size_t max, size_t *len)
{
	return read_file(path, buf, max, len);
}
