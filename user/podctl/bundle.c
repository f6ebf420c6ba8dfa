// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl attest --quote (the attestation bundle), and
 * dstack-podctl verify BUNDLE --policy POLICY, which is verify_bundle.c
 * with the YAML reader for --pod-manifest.
 * Documentation/attestation.rst.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "node/dstackpod.h"
#include "node/qgs.h"
#include "podctl.h"
#include "runtime/spec.h"

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int write_bundle(const char *path, const char *json)
{
	size_t len = strlen(json);
	FILE *f;
	int err = 0;

	if (!strcmp(path, "-")) {
		if (fwrite(json, 1, len, stdout) != len || fputc('\n', stdout) == EOF ||
		    fflush(stdout))
			return dp_seterr(EIO, "writing the bundle");
		return 0;
	}
	f = fopen(path, "we");
	if (!f)
		return dp_seterr(errno, "%s", path);
	if (fwrite(json, 1, len, f) != len || fputc('\n', f) == EOF)
		err = dp_seterr(errno ? errno : EIO, "%s", path);
	if (fclose(f) && !err)
		err = dp_seterr(errno, "%s", path);
	return err;
}

/* Append src's events to dst (payloads copied). */
static int log_concat(struct dp_log *dst, const struct dp_log *src)
{
	size_t i;
	int err = 0;

	for (i = 0; i < src->n && !err; i++)
		err = dp_log_append(dst, src->ev[i].name, src->ev[i].digest,
				    src->ev[i].payload, src->ev[i].payload_len);
	return err;
}

int podctl_attest_bundle(int fd, int peer, const uint8_t *nonce, size_t nlen,
			 const char *out, const char *qgs,
			 const char *dstack_log, const char *rtmr3_log,
			 int timings)
{
	struct dp_log own;
	char *dtext = NULL;
	size_t dlen;
	uint8_t tdreport[DSTACK_POD_TDREPORT_LEN];
	struct dp_qgs_addr addr;
	struct dp_bundle b;
	struct dp_dev dev;
	int64_t t0, t1, t2, t3;
	char *json = NULL;
	int err;

	memset(&b, 0, sizeof(b));
	memset(&own, 0, sizeof(own));
	/* dstack's RTMR3 events (a dstack CVM) come first in the log. */
	if (dstack_log) {
		err = podctl_read_all(dstack_log, DP_BUNDLE_MAX_LEN, &dtext, &dlen);
		if (!err)
			err = dp_log_import_dstack(dtext, dlen, &b.rtmr3);
		free(dtext);
		if (err) {
			fprintf(stderr, "dstack-podctl: --dstack-event-log: %s\n",
				dp_errmsg());
			dp_log_free(&b.rtmr3);
			return PODCTL_EXIT_FAIL;
		}
	}
	if (qgs ? dp_qgs_addr_parse(&addr, qgs) : dp_qgs_addr_default(&addr, NULL)) {
		fprintf(stderr, "dstack-podctl: --qgs: %s\n", dp_errmsg());
		dp_log_free(&b.rtmr3);
		return PODCTL_EXIT_USAGE;
	}
	err = dp_open(&dev);
	if (err) {
		dp_log_free(&b.rtmr3);
		return podctl_fail_nodev(err);
	}
	t0 = now_us();
	if (peer)
		err = dp_attest_peer(&dev, fd, nonce, nlen, &b.claims, tdreport);
	else
		err = dp_attest(&dev, fd, nonce, nlen, &b.claims, tdreport);
	t1 = now_us();
	if (err)
		goto out;
	memcpy(b.nonce, nonce, nlen);
	b.nonce_len = nlen;
	snprintf(b.tool, sizeof(b.tool), "dstack-podctl abi %d.%d",
		 DSTACK_POD_ABI_MAJOR, DSTACK_POD_ABI_MINOR);
	if (dp_sysfs_read("backend", b.backend, sizeof(b.backend)) || !b.backend[0])
		snprintf(b.backend, sizeof(b.backend), "unknown");
	err = dp_qgs_get_quote(&addr, tdreport, &b.quote, &b.quote_len, 0);
	t2 = now_us();
	if (err)
		goto out;
	/*
	 * RTMR3: the file the node published (a Pod sees neither of the
	 * others; the verifier replays whatever it gets against the quote),
	 * else securityfs (root), else netlink (CAP_SYS_ADMIN).
	 */
	if (rtmr3_log) {
		FILE *f = fopen(rtmr3_log, "re");

		if (!f) {
			err = dp_seterr(errno, "--rtmr3-log %s", rtmr3_log);
			goto out;
		}
		err = dp_log_parse(f, &own);
		fclose(f);
		if (!err && !own.n)
			err = dp_seterr(ENODATA, "--rtmr3-log %s: no events (publish the log after the fuse, with log --format raw)",
					rtmr3_log);
		else if (err)
			/* errno 0: the parser's message already ends with it */
			dp_seterr(0, "--rtmr3-log %s: %s", rtmr3_log,
				  dp_errmsg());
		if (err)
			goto out;
	} else if (dp_log_load(DP_EVENTS_PATH, &own)) {
		err = dp_nl_read_log(NULL, &own);
		if (err) {
			err = dp_seterr(-err, "RTMR3 event log: neither %s nor netlink: %s",
					DP_EVENTS_PATH, dp_errmsg());
			goto out;
		}
	}
	err = log_concat(&b.rtmr3, &own);
	if (err)
		goto out;
	/* The Pod's log: its own via the device; a mediated Pod's by uid. */
	if (fd < 0)
		err = dp_pod_log(&dev, &b.pod);
	else
		err = dp_nl_read_log(b.claims.pod_uid, &b.pod);
	if (err)
		goto out;
	json = dp_bundle_to_json(&b);
	if (!json) {
		err = -ENOMEM;
		goto out;
	}
	err = write_bundle(out, json);
	t3 = now_us();
	if (!err && timings)
		fprintf(stderr, "timing kernel_report_us=%lld qgs_us=%lld bundle_us=%lld total_us=%lld\n",
			(long long)(t1 - t0), (long long)(t2 - t1),
			(long long)(t3 - t2), (long long)(t3 - t0));
	if (!err && strcmp(out, "-"))
		fprintf(stderr, "dstack-podctl: bundle written to %s (quote %zu bytes, %zu RTMR3 events, %zu Pod events)\n",
			out, b.quote_len, b.rtmr3.n, b.pod.n);
out:
	dp_close(&dev);
	dp_log_free(&own);
	free(json);
	dp_bundle_free(&b);
	return err ? podctl_fail(err) : PODCTL_EXIT_OK;
}

int cmd_verify(int argc, char **argv)
{
	return podctl_verify_bundle(argc, argv, dp_spec_hash_file);
}
