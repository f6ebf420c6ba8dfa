// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark and comparison driver for the quote verifier, built and run
 * by bench/verify.sh (not part of the product).
 *
 *   bench_verify verdict QUOTE COLLATERAL NOW   one JSON line per verdict
 *   bench_verify speed QUOTE COLLATERAL NOW SECS  throughput, one core
 *   bench_verify serve QUOTE COLLATERAL NOW     throughput blocks on demand:
 *       reads "warm SECS", "cold SECS" or "p256 SECS" lines on stdin and
 *       answers each with one rate line, so that bench/verify.sh can
 *       alternate our blocks with dcap-qvl's and openssl's in one run
 *
 * Rates are per second of this process's CPU time.
 * speed prints: warm q/s (collateral loaded and verified once, reused, as
 * a verifier serving many quotes does), cold q/s (collateral parsed and
 * fully verified for every quote), the number of ECDSA-P256 verifications
 * per quote in both modes (counted by interposing EVP_DigestVerify), and
 * OpenSSL's raw P-256 verify rate measured in the same process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "verify/verify.h"

static unsigned long n_verify;

/* Count every signature verification that goes through the EVP API. */
int EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen,
		     const unsigned char *tbs, size_t tbslen);
int EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen,
		     const unsigned char *tbs, size_t tbslen)
{
	static int (*real)(EVP_MD_CTX *, const unsigned char *, size_t,
			   const unsigned char *, size_t);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "EVP_DigestVerify");
	n_verify++;
	return real(ctx, sig, siglen, tbs, tbslen);
}

/*
 * The process's CPU time, not the wall clock: every rate here is work per
 * second of CPU this process got, so other work on a shared machine does
 * not count against it (openssl speed divides by CPU time too, and so does
 * bench/verify.sh's dcap-qvl driver).
 */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f) {
		perror(path);
		exit(4);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		exit(4);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static double p256_rate(double secs)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	unsigned char msg[632] = { 1 }, sig[80];
	size_t sl = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned long n = 0;
	double t0;

	EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k);
	EVP_DigestSign(md, sig, &sl, msg, sizeof(msg));
	t0 = now_s();
	while (now_s() - t0 < secs) {
		int i;

		for (i = 0; i < 64; i++) {
			EVP_MD_CTX_reset(md);
			EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k);
			if (EVP_DigestVerify(md, sig, sl, msg, sizeof(msg)) != 1)
				exit(5);
			n++;
		}
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return n / (now_s() - t0);
}

static double warm_rate(const char *quote, size_t ql, struct dp_verify_opts *o,
			double secs)
{
	struct dp_verdict v;
	unsigned long n = 0;
	double t0 = now_s();

	while (now_s() - t0 < secs) {
		dp_verify_quote((const uint8_t *)quote, ql, o, &v);
		n++;
	}
	return n / (now_s() - t0);
}

static double cold_rate(const char *quote, size_t ql, const char *colj, size_t cl,
			const struct dp_verify_opts *o, double secs)
{
	struct dp_verdict v;
	unsigned long n = 0;
	char err[256];
	double t0 = now_s();

	while (now_s() - t0 < secs) {
		struct dp_collateral *c = dp_collateral_load(colj, cl, err, sizeof(err));
		struct dp_verify_opts oc = *o;

		oc.collateral = c;
		dp_verify_quote((const uint8_t *)quote, ql, &oc, &v);
		dp_collateral_free(c);
		n++;
	}
	return n / (now_s() - t0);
}

int main(int argc, char **argv)
{
	struct dp_verify_opts o;
	struct dp_verdict v;
	char err[256], *quote, *colj;
	size_t ql, cl;
	int64_t t;

	if (argc < 5 || dp_parse_rfc3339(argv[4], &t)) {
		fprintf(stderr, "usage: %s verdict|speed|serve QUOTE COLLATERAL NOW [SECS]\n",
			argv[0]);
		return 2;
	}
	quote = slurp(argv[2], &ql);
	colj = slurp(argv[3], &cl);
	memset(&o, 0, sizeof(o));
	o.now = t;
	o.now_set = 1;
	o.collateral = dp_collateral_load(colj, cl, err, sizeof(err));
	if (!o.collateral) {
		fprintf(stderr, "%s\n", err);
		return 4;
	}
	if (!strcmp(argv[1], "serve")) {
		char line[64], what[16];
		double secs;

		dp_verify_quote((uint8_t *)quote, ql, &o, &v);	/* fills the cache */
		while (fgets(line, sizeof(line), stdin)) {
			if (sscanf(line, "%15s %lf", what, &secs) != 2 || secs <= 0)
				return 2;
			if (!strcmp(what, "warm"))
				printf("%.1f\n", warm_rate(quote, ql, &o, secs));
			else if (!strcmp(what, "cold"))
				printf("%.1f\n", cold_rate(quote, ql, colj, cl, &o, secs));
			else if (!strcmp(what, "p256"))
				printf("%.1f\n", p256_rate(secs));
			else
				return 2;
			fflush(stdout);
		}
	} else if (!strcmp(argv[1], "verdict")) {
		json_object *j;

		dp_verify_quote((uint8_t *)quote, ql, &o, &v);
		j = dp_verdict_to_json(&v);
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		double secs = argc > 5 ? atof(argv[5]) : 3, warm, cold, rate;
		unsigned long nv_warm, nv_cold;

		/* verify counts */
		n_verify = 0;
		dp_verify_quote((uint8_t *)quote, ql, &o, &v);	/* warm-up: fills cache */
		nv_cold = n_verify;
		n_verify = 0;
		dp_verify_quote((uint8_t *)quote, ql, &o, &v);
		nv_warm = n_verify;
		if (!v.verified) {
			fprintf(stderr, "quote does not verify: %s\n",
				dp_verdict_failure(&v)->reason);
			return 1;
		}
		warm = warm_rate(quote, ql, &o, secs);
		cold = cold_rate(quote, ql, colj, cl, &o, secs);
		rate = p256_rate(secs);
		printf("warm_qps %.1f\ncold_qps %.1f\nverifies_warm %lu\n"
		       "verifies_cold %lu\np256_verify_per_s %.1f\n",
		       warm, cold, nv_warm, nv_cold, rate);
	}
	dp_collateral_free(o.collateral);
	free(quote);
	free(colj);
	return 0;
}
