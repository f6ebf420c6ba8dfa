// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl verify-quote: offline DCAP verification of a TDX quote.
 *
 * Exit codes (Documentation/verifier.rst):
 *   0 verified, 1 verification failed, 2 usage error,
 *   4 an input file (quote, collateral, root) cannot be read or loaded.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "podctl.h"
#include "verify.h"

#define VQ_EXIT_INPUT	4
#define VQ_MAX_FILE	(16u << 20)

static void vq_usage(FILE *f)
{
	fprintf(f,
		"usage: dstack-podctl verify-quote QUOTE [--collateral FILE] [--root FILE]\n"
		"           [--now RFC3339] [--allow-debug] [--allow-sept-ve]\n"
		"           [--allow-reserved-td-attributes] [--allow-service-td]\n"
		"           [--allow-any-td-attributes] [--expect-mrtd HEX]\n"
		"           [--expect-rtmr N=HEX] [--expect-mrconfigid HEX]\n"
		"           [--expect-mrowner HEX] [--expect-report-data HEX] [--json]\n"
		"QUOTE is a binary quote file, or '-' for stdin.\n"
		"exit: 0 verified, 1 verification failed, 2 usage, 4 unreadable input\n");
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	uint8_t *buf = NULL, *nb;
	size_t cap = 0, n = 0, r;

	if (!f) {
		fprintf(stderr, "verify-quote: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= VQ_MAX_FILE) {
				fprintf(stderr, "verify-quote: %s: larger than %u bytes\n",
					path, VQ_MAX_FILE);
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "verify-quote: %s: read error\n", path);
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	*out = buf;
	*len = n;
	return 0;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return -1;
}

/* A PEM root is converted to DER; anything else is left as it is. */
static int pem_to_der(uint8_t **buf, size_t *len)
{
	unsigned char *der = NULL;
	BIO *bio;
	X509 *x;
	int n;

	if (*len < 10 || memcmp(*buf, "-----BEGIN", 10) || *len > INT_MAX)
		return 0;
	bio = BIO_new_mem_buf(*buf, (int)*len);
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	n = x ? i2d_X509(x, &der) : -1;
	X509_free(x);
	if (n <= 0)
		return -1;
	free(*buf);
	*buf = malloc((size_t)n);
	if (!*buf) {
		OPENSSL_free(der);
		return -1;
	}
	memcpy(*buf, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	return 0;
}

static int hex_arg(const char *opt, const char *s, uint8_t *out, size_t len)
{
	if (dp_unhex_exact(s, out, len)) {
		fprintf(stderr, "verify-quote: %s wants %zu hex digits\n", opt,
			2 * len);
		return -1;
	}
	return 0;
}

static void print_text(const struct dp_verdict *v)
{
	const struct dp_check *f = dp_verdict_failure(v);
	size_t i;

	for (i = 0; i < v->nchecks; i++)
		printf("%-34s %s  %s\n", v->checks[i].name,
		       v->checks[i].ok ? "ok  " : "FAIL", v->checks[i].reason);
	printf("td_policy: DEBUG %s, reserved bits %s, SEPT_VE_DISABLE %s, service TD %s\n",
	       v->td_allow & DP_TD_ALLOW_DEBUG ? "allowed" : "rejected",
	       v->td_allow & DP_TD_ALLOW_RESERVED ? "allowed" : "rejected",
	       v->td_allow & DP_TD_ALLOW_SEPT_VE ? "optional" : "required",
	       v->td_allow & DP_TD_ALLOW_SERVICE_TD ? "allowed" : "rejected");
	printf("tcb_status: %s", v->tcb_status);
	for (i = 0; i < v->nadvisories; i++)
		printf("%s%s", i ? "," : " advisories: ", v->advisories[i]);
	printf("\n");
	if (v->parsed) {
		char h[129];
		int r;

		dp_hex(v->quote.body.mrtd, 48, h);
		printf("mrtd: %s\n", h);
		for (r = 0; r < 4; r++) {
			dp_hex(v->quote.body.rtmr[r], 48, h);
			printf("rtmr%d: %s\n", r, h);
		}
		dp_hex(v->quote.body.report_data, 64, h);
		printf("report_data: %s\n", h);
	}
	if (f)
		printf("FAILED: %s: %s\n", f->name, f->reason);
	else
		printf("VERIFIED\n");
}

int cmd_verify_quote(int argc, char **argv)
{
	enum { O_COLL = 1, O_ROOT, O_NOW, O_DEBUG, O_SEPT, O_RESV, O_SVC,
	       O_ANYTD, O_MRTD, O_RTMR, O_CFG, O_OWNER, O_RD, O_JSON, O_HELP };
	static const struct option lopts[] = {
		{ "collateral", required_argument, NULL, O_COLL },
		{ "root", required_argument, NULL, O_ROOT },
		{ "now", required_argument, NULL, O_NOW },
		{ "allow-debug", no_argument, NULL, O_DEBUG },
		{ "allow-sept-ve", no_argument, NULL, O_SEPT },
		{ "allow-reserved-td-attributes", no_argument, NULL, O_RESV },
		{ "allow-service-td", no_argument, NULL, O_SVC },
		{ "allow-any-td-attributes", no_argument, NULL, O_ANYTD },
		{ "expect-mrtd", required_argument, NULL, O_MRTD },
		{ "expect-rtmr", required_argument, NULL, O_RTMR },
		{ "expect-mrconfigid", required_argument, NULL, O_CFG },
		{ "expect-mrowner", required_argument, NULL, O_OWNER },
		{ "expect-report-data", required_argument, NULL, O_RD },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t mrtd[48], rtmr[4][48], cfg[48], owner[48], rd[64];
	const char *coll_path = NULL, *root_path = NULL;
	struct dp_verify_opts o;
	struct dp_verdict *v = NULL;
	uint8_t *quote = NULL, *root = NULL;
	size_t qlen = 0, rlen = 0;
	char err[256];
	int c, json = 0, rc = PODCTL_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case O_COLL:
			coll_path = optarg;
			break;
		case O_ROOT:
			root_path = optarg;
			break;
		case O_NOW:
			if (dp_parse_rfc3339(optarg, &o.now)) {
				fprintf(stderr, "verify-quote: --now wants RFC 3339, e.g. 2025-07-01T00:00:00Z\n");
				return PODCTL_EXIT_USAGE;
			}
			o.now_set = 1;
			break;
		case O_DEBUG:
			o.td_allow |= DP_TD_ALLOW_DEBUG;
			break;
		case O_SEPT:
			o.td_allow |= DP_TD_ALLOW_SEPT_VE;
			break;
		case O_RESV:
			o.td_allow |= DP_TD_ALLOW_RESERVED;
			break;
		case O_SVC:
			o.td_allow |= DP_TD_ALLOW_SERVICE_TD;
			break;
		case O_ANYTD:
			o.td_allow |= DP_TD_ALLOW_ALL;
			break;
		case O_MRTD:
			if (hex_arg("--expect-mrtd", optarg, mrtd, 48))
				return PODCTL_EXIT_USAGE;
			o.expect_mrtd = mrtd;
			break;
		case O_RTMR: {
			int n = optarg[0] - '0';

			if (n < 0 || n > 3 || optarg[1] != '=') {
				fprintf(stderr, "verify-quote: --expect-rtmr wants N=HEX with N in 0..3\n");
				return PODCTL_EXIT_USAGE;
			}
			if (hex_arg("--expect-rtmr", optarg + 2, rtmr[n], 48))
				return PODCTL_EXIT_USAGE;
			o.expect_rtmr[n] = rtmr[n];
			break;
		}
		case O_CFG:
			if (hex_arg("--expect-mrconfigid", optarg, cfg, 48))
				return PODCTL_EXIT_USAGE;
			o.expect_mrconfigid = cfg;
			break;
		case O_OWNER:
			if (hex_arg("--expect-mrowner", optarg, owner, 48))
				return PODCTL_EXIT_USAGE;
			o.expect_mrowner = owner;
			break;
		case O_RD:
			if (hex_arg("--expect-report-data", optarg, rd, 64))
				return PODCTL_EXIT_USAGE;
			o.expect_report_data = rd;
			break;
		case O_JSON:
			json = 1;
			break;
		case O_HELP:
			vq_usage(stdout);
			return PODCTL_EXIT_OK;
		default:
			fprintf(stderr, "verify-quote: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			vq_usage(stderr);
			return PODCTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		vq_usage(stderr);
		return PODCTL_EXIT_USAGE;
	}

	rc = VQ_EXIT_INPUT;
	if (read_file(argv[optind], &quote, &qlen))
		goto out;
	if (root_path) {
		if (read_file(root_path, &root, &rlen))
			goto out;
		if (pem_to_der(&root, &rlen)) {
			fprintf(stderr, "verify-quote: %s: not a PEM certificate\n",
				root_path);
			goto out;
		}
		o.root_der = root;
		o.root_der_len = rlen;
	}
	if (coll_path) {
		o.collateral = dp_collateral_load_file(coll_path, err, sizeof(err));
		if (!o.collateral) {
			fprintf(stderr, "verify-quote: %s\n", err);
			goto out;
		}
	}
	v = malloc(sizeof(*v));
	if (!v)
		goto out;
	rc = dp_verify_quote(quote, qlen, &o, v) == DP_VERIFY_OK ?
	     PODCTL_EXIT_OK : PODCTL_EXIT_FAIL;
	if (json) {
		json_object *j = dp_verdict_to_json(v);

		if (!j) {
			rc = PODCTL_EXIT_FAIL;
			goto out;
		}
		printf("%s\n", json_object_to_json_string_ext(j,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		print_text(v);
	}
out:
	free(v);
	dp_collateral_free(o.collateral);
	free(quote);
	free(root);
	return rc;
}
