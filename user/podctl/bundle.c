// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl attest --quote (the attestation bundle) and
 * dstack-podctl verify BUNDLE --policy POLICY.
 * Documentation/attestation.rst.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bundle/bundle.h"
#include "node/dstackpod.h"
#include "podctl.h"
#include "runtime/spec.h"
#include "node/qgs.h"

#define VB_EXIT_INPUT	4
#define VB_MAX_ROOT	(1u << 20)

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

static int read_all(const char *path, size_t max, char **buf, size_t *len);

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
		err = read_all(dstack_log, DP_BUNDLE_MAX_LEN, &dtext, &dlen);
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

/* ---- verify ---------------------------------------------------------------- */

static int read_all(const char *path, size_t max, char **buf, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t n = 0, r;
	char *b;

	if (!f)
		return dp_seterr(errno, "%s", path);
	b = malloc(max + 1);
	if (!b) {
		fclose(f);
		return dp_seterr(ENOMEM, "%s", path);
	}
	while ((r = fread(b + n, 1, max + 1 - n, f)) > 0 && n + r <= max)
		n += r;
	if (r > 0 || ferror(f)) {
		int err = ferror(f) ? EIO : EFBIG;

		fclose(f);
		free(b);
		return dp_seterr(err, "%s: %s", path, err == EFBIG ?
				 "too large" : "read error");
	}
	fclose(f);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* A PEM or DER certificate, to DER. */
static int root_der(const char *path, uint8_t **der, size_t *len)
{
	unsigned char *d = NULL;
	char *buf;
	size_t n;
	BIO *bio;
	X509 *x;
	int dl, err;

	err = read_all(path, VB_MAX_ROOT, &buf, &n);
	if (err)
		return err;
	if (n < 10 || memcmp(buf, "-----BEGIN", 10)) {
		*der = (uint8_t *)buf;
		*len = n;
		return 0;
	}
	bio = BIO_new_mem_buf(buf, (int)n);
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	free(buf);
	dl = x ? i2d_X509(x, &d) : -1;
	X509_free(x);
	if (dl <= 0)
		return dp_seterr(EINVAL, "%s: not a PEM certificate", path);
	*der = malloc((size_t)dl);
	if (!*der) {
		OPENSSL_free(d);
		return dp_seterr(ENOMEM, "root");
	}
	memcpy(*der, d, (size_t)dl);
	*len = (size_t)dl;
	OPENSSL_free(d);
	return 0;
}

/*
 * A dstack-pod-agent GetQuote/TdxQuote reply (Documentation/agent.rst):
 * dstack's fields plus "dstack_pod_bundle".  Replace text with that
 * bundle, after checking the reply's quote is the bundle's.  Anything
 * else is left as it is (a bundle).  0, or -EINVAL with dp_errmsg().
 */
static int reply_to_bundle(char **text, size_t *len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o, *b, *q, *bq;
	const char *s;
	char *nt;
	int err = 0;

	if (!tok)
		return dp_seterr(ENOMEM, "bundle");
	o = json_tokener_parse_ex(tok, *text, (int)*len);
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "dstack_pod_bundle", &b)) {
		json_object_put(o);
		return 0;
	}
	if (!json_object_is_type(b, json_type_object) ||
	    !json_object_object_get_ex(o, "quote", &q) ||
	    !json_object_is_type(q, json_type_string) ||
	    !json_object_object_get_ex(b, "quote", &bq) ||
	    !json_object_is_type(bq, json_type_string) ||
	    strcmp(json_object_get_string(q), json_object_get_string(bq))) {
		json_object_put(o);
		return dp_seterr(EINVAL, "agent reply: its quote is not the quote of its dstack_pod_bundle");
	}
	s = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	nt = s ? strdup(s) : NULL;
	if (!nt) {
		err = dp_seterr(ENOMEM, "bundle");
	} else {
		free(*text);
		*text = nt;
		*len = strlen(nt);
	}
	json_object_put(o);
	return err;
}

static int vb_usage(void)
{
	fprintf(stderr,
		"usage: dstack-podctl verify BUNDLE|AGENT-REPLY --policy POLICY [--root FILE] [--collateral FILE]\n"
		"           [--now RFC3339] [--nonce HEX] [--pod-manifest FILE] [--json] [--repeat N]\n"
		"exit: 0 verified, 1 a check failed, 2 usage or invalid policy, 4 an input cannot be read\n");
	return PODCTL_EXIT_USAGE;
}

int cmd_verify(int argc, char **argv)
{
	enum { O_POLICY = 1, O_ROOT, O_COLL, O_NOW, O_NONCE, O_JSON, O_REPEAT,
	       O_MANIFEST };
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, O_POLICY },
		{ "root", required_argument, NULL, O_ROOT },
		{ "collateral", required_argument, NULL, O_COLL },
		{ "now", required_argument, NULL, O_NOW },
		{ "nonce", required_argument, NULL, O_NONCE },
		{ "json", no_argument, NULL, O_JSON },
		{ "repeat", required_argument, NULL, O_REPEAT },
		{ "pod-manifest", required_argument, NULL, O_MANIFEST },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy_path = NULL, *root_path = NULL, *coll_path = NULL;
	const char *manifest = NULL;
	uint8_t nonce[DSTACK_POD_NONCE_MAX], *root = NULL, spec[32];
	struct dp_bundle_verify_opts o;
	static struct dp_bundle_verdict v;
	struct dp_policy pol;
	struct dp_bundle b;
	char *text = NULL, err_buf[256], *end;
	size_t len, rlen = 0;
	long repeat = 1, i;
	int opt, json = 0, have_nonce = 0, rc = PODCTL_EXIT_OK, err;

	memset(&o, 0, sizeof(o));
	memset(&pol, 0, sizeof(pol));
	memset(&b, 0, sizeof(b));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case O_POLICY: policy_path = optarg; break;
		case O_ROOT: root_path = optarg; break;
		case O_COLL: coll_path = optarg; break;
		case O_NOW:
			if (dp_parse_rfc3339(optarg, &o.now)) {
				fprintf(stderr, "verify: --now wants RFC 3339, e.g. 2025-07-01T00:00:00Z\n");
				return PODCTL_EXIT_USAGE;
			}
			o.now_set = 1;
			break;
		case O_NONCE:
			if (dp_unhex(optarg, nonce, sizeof(nonce), &o.nonce_len)) {
				fprintf(stderr, "verify: --nonce: %s\n", dp_errmsg());
				return PODCTL_EXIT_USAGE;
			}
			have_nonce = 1;
			break;
		case O_JSON: json = 1; break;
		case O_MANIFEST: manifest = optarg; break;
		case O_REPEAT:
			errno = 0;
			repeat = strtol(optarg, &end, 10);
			if (errno || *end || repeat < 1 || repeat > 10000000)
				return vb_usage();
			break;
		default:
			return vb_usage();
		}
	}
	if (optind != argc - 1 || !policy_path)
		return vb_usage();
	if (have_nonce)
		o.nonce = nonce;

	err = read_all(policy_path, DP_POLICY_MAX_LEN, &text, &len);
	if (err) {
		fprintf(stderr, "verify: %s\n", dp_errmsg());
		return VB_EXIT_INPUT;
	}
	err = dp_policy_parse(text, len, &pol);
	free(text);
	text = NULL;
	if (err) {
		fprintf(stderr, "verify: %s: %s\n", policy_path, dp_errmsg());
		return PODCTL_EXIT_USAGE;
	}
	if (manifest) {
		/* The tenant's own manifest: the Pod must run that spec. */
		if (dp_spec_hash_file(manifest, spec, NULL)) {
			fprintf(stderr, "verify: --pod-manifest %s: %s\n", manifest,
				dp_errmsg());
			rc = VB_EXIT_INPUT;
			goto out;
		}
		if (pol.has_spec_hash && memcmp(pol.pod_spec_hash, spec, 32)) {
			fprintf(stderr, "verify: --pod-manifest %s does not hash to the policy's pod_spec_hash\n",
				manifest);
			rc = PODCTL_EXIT_USAGE;
			goto out;
		}
		pol.has_spec_hash = 1;
		memcpy(pol.pod_spec_hash, spec, 32);
	}
	if (root_path) {
		if (root_der(root_path, &root, &rlen)) {
			fprintf(stderr, "verify: --root: %s\n", dp_errmsg());
			rc = VB_EXIT_INPUT;
			goto out;
		}
		o.root_der = root;
		o.root_der_len = rlen;
	}
	if (coll_path) {
		o.collateral = dp_collateral_load_file(coll_path, err_buf,
						       sizeof(err_buf));
		if (!o.collateral) {
			fprintf(stderr, "verify: --collateral %s: %s\n", coll_path,
				err_buf);
			rc = VB_EXIT_INPUT;
			goto out;
		}
	}
	err = read_all(argv[optind], DP_BUNDLE_MAX_LEN, &text, &len);
	if (err) {
		fprintf(stderr, "verify: %s\n", dp_errmsg());
		rc = VB_EXIT_INPUT;
		goto out;
	}
	err = reply_to_bundle(&text, &len);
	for (i = 0; !err && i < repeat; i++) {
		dp_bundle_free(&b);
		err = dp_bundle_parse(text, len, &b);
		if (err)
			break;
		rc = dp_bundle_verify(&b, &pol, &o, &v) ? PODCTL_EXIT_FAIL :
		     PODCTL_EXIT_OK;
	}
	if (err) {
		/* A malformed bundle is a failed verification, named. */
		if (json) {
			json_object *r = json_object_new_string(dp_errmsg());

			printf("{\"verified\":false,\"failed\":\"bundle\",\"checks\":[{\"name\":\"bundle\",\"ok\":false,\"reason\":%s}]}\n",
			       json_object_to_json_string(r));
			json_object_put(r);
		} else
			printf("%-28s FAIL  %s\nFAILED: bundle: %s\n", "bundle",
			       dp_errmsg(), dp_errmsg());
		rc = PODCTL_EXIT_FAIL;
		goto out;
	}
	if (json) {
		json_object *j = dp_bundle_verdict_to_json(&b, &v);

		printf("%s\n", json_object_to_json_string_ext(j,
		       JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		const struct dp_check *f = dp_bundle_verdict_failure(&v);
		char uid[37];
		size_t k;

		printf("%-28s %-4s  %s\n", "bundle", "ok", "parsed");
		for (k = 0; k < v.nchecks; k++)
			printf("%-28s %-4s  %s\n", v.checks[k].name,
			       v.checks[k].ok ? "ok" : "FAIL", v.checks[k].reason);
		dp_uuid_format(b.claims.pod_uid, uid);
		printf("pod: uid %s workload %.253s namespace %.63s name %.253s generation %llu\n",
		       uid, b.claims.workload_id, b.claims.pod_namespace,
		       b.claims.pod_name,
		       (unsigned long long)le64toh(b.claims.generation));
		if (f)
			printf("FAILED: %s: %s\n", f->name, f->reason);
		else
			printf("VERIFIED\n");
	}
out:
	free(text);
	free(root);
	dp_collateral_free(o.collateral);
	dp_policy_free(&pol);
	dp_bundle_free(&b);
	return rc;
}
