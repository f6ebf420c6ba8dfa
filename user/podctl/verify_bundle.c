// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl verify BUNDLE --policy POLICY, also dstack-pod-verify's
 * verify: the attestation bundle's verifier as a command (offline: no
 * device, no netlink).  Documentation/attestation.rst.
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
#include "podctl.h"

#define VB_EXIT_INPUT	4
#define VB_MAX_ROOT	(1u << 20)

int podctl_read_all(const char *path, size_t max, char **buf, size_t *len)
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

	err = podctl_read_all(path, VB_MAX_ROOT, &buf, &n);
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
		"usage: %s verify BUNDLE|AGENT-REPLY --policy POLICY [--root FILE] [--collateral FILE]\n"
		"           [--now RFC3339] [--nonce HEX] [--pod-manifest FILE] [--json] [--repeat N]\n"
		"exit: 0 verified, 1 a check failed, 2 usage or invalid policy, 4 an input cannot be read\n",
		program_invocation_short_name);
	return PODCTL_EXIT_USAGE;
}

int podctl_verify_bundle(int argc, char **argv,
			 int (*manifest_hash)(const char *path, uint8_t hash[32],
					      char **canon))
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

	err = podctl_read_all(policy_path, DP_POLICY_MAX_LEN, &text, &len);
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
	if (manifest && !manifest_hash) {
		fprintf(stderr, "verify: --pod-manifest needs the YAML reader of dstack-podctl verify; give the manifest's hash as the policy's pod_spec_hash (dstack-podctl spec-hash)\n");
		rc = PODCTL_EXIT_USAGE;
		goto out;
	}
	if (manifest) {
		/* The tenant's own manifest: the Pod must run that spec. */
		if (manifest_hash(manifest, spec, NULL)) {
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
	err = podctl_read_all(argv[optind], DP_BUNDLE_MAX_LEN, &text, &len);
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
