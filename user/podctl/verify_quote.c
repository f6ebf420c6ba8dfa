// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl verify-quote: offline DCAP verification of a TDX quote
 * (also dstack-pod-verify's verify-quote: no device, no netlink here).
 *
 * Exit codes (Documentation/verifier.rst):
 *   0 verified, 1 verification failed, 2 usage error,
 *   4 an input file (quote, collateral, root) cannot be read or loaded.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/dpcommon.h"
#include "common/hex.h"
#include "verify/imr_log.h"
#include "verify/pccs.h"
#include "podctl.h"
#include "verify/verify.h"

#define VQ_EXIT_INPUT	4
#define VQ_MAX_FILE	(16u << 20)

static void vq_usage(FILE *f)
{
	fprintf(f,
		"usage: %s verify-quote QUOTE [--collateral FILE] [--root FILE]\n"
		"           [--now RFC3339] [--allow-debug] [--allow-sept-ve]\n"
		"           [--allow-reserved-td-attributes] [--allow-service-td]\n"
		"           [--allow-any-td-attributes] [--expect-mrtd HEX]\n"
		"           [--expect-rtmr N=HEX] [--expect-mrconfigid HEX]\n"
		"           [--expect-mrowner HEX] [--expect-report-data HEX] [--json]\n"
		"           [--pccs URL [--pccs-ca FILE] [--pccs-timeout MS]] [--offline]\n"
		"           [--cache-dir DIR] [--no-cache] [--event-log FILE]\n"
		"       %s verify-quote --batch DIR|- [--jobs N] [same options]\n"
		"QUOTE is a binary quote file, dstack's GetQuote reply (JSON), or '-'\n"
		"for stdin.\n"
		"--event-log replays dstack's event log (the GetQuote reply or its\n"
		"event_log array) against the quote's RTMR3, and RTMR0-2 where the log\n"
		"has their digests, and prints each event.\n"
		"--batch verifies every file of DIR (or each path listed on stdin) with\n"
		"one collateral object on N threads (default: every core), printing one\n"
		"JSON verdict per line in input order.\n"
		"--pccs fetches the collateral for the quote's FMSPC and PCK CA from a PCCS\n"
		"or Intel's PCS (API v4) into a cache that --offline uses alone.\n"
		"exit: 0 verified, 1 verification failed, 2 usage, 4 unreadable input\n",
		program_invocation_short_name, program_invocation_short_name);
}

/* Read a whole file ('-': stdin); -1 with a reason in err. */
static int read_file_err(const char *path, uint8_t **out, size_t *len,
			 char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	uint8_t *buf = NULL, *nb;
	size_t cap = 0, n = 0, r;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= VQ_MAX_FILE) {
				snprintf(err, errlen, "%s: larger than %u bytes",
					 path, VQ_MAX_FILE);
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (!nb) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
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

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	char err[PATH_MAX + 64];

	if (read_file_err(path, out, len, err, sizeof(err))) {
		fprintf(stderr, "verify-quote: %s\n", err);
		return -1;
	}
	return 0;
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

/* --event-log: dstack's event log replayed against the quote. */
struct vq_replay {
	struct dp_imr_log log;
	uint8_t mr[DP_IMR_COUNT][48];
	size_t count[DP_IMR_COUNT];
	int replayable[DP_IMR_COUNT];
	int state[DP_IMR_COUNT];	/* VQ_MATCH, VQ_DIFFER, VQ_SKIP */
	int ok;
};

enum { VQ_MATCH, VQ_DIFFER, VQ_SKIP };

static void vq_print_events(const struct vq_replay *r);

static void print_text(const struct dp_verdict *v, const struct vq_replay *rp)
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
	if (rp)
		vq_print_events(rp);
	if (f)
		printf("FAILED: %s: %s\n", f->name, f->reason);
	else if (rp && !rp->ok)
		printf("FAILED: event_log: the event log does not replay to the quote's RTMRs\n");
	else
		printf("VERIFIED\n");
}

/* ---- --batch: many quotes, one collateral object, every core --------- */

#define VB_MAX_QUOTES	(1u << 20)
#define VB_MAX_JOBS	256

struct vb_item {
	char *path;
	char *line;		/* the verdict as one line of JSON */
	int rc;			/* PODCTL_EXIT_OK, _FAIL or VQ_EXIT_INPUT */
	int done;
};

struct vb {
	struct vb_item *items;
	size_t n, next;
	const struct dp_verify_opts *o;
	pthread_mutex_t lock;
	pthread_cond_t cv;
};

static int vb_add(struct vb *b, size_t *cap, const char *path)
{
	struct vb_item *ni;

	if (b->n >= VB_MAX_QUOTES) {
		fprintf(stderr, "verify-quote: more than %u quotes\n", VB_MAX_QUOTES);
		return -1;
	}
	if (b->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		ni = realloc(b->items, *cap * sizeof(*ni));
		if (!ni)
			return -1;
		b->items = ni;
	}
	memset(&b->items[b->n], 0, sizeof(b->items[0]));
	b->items[b->n].path = strdup(path);
	if (!b->items[b->n].path)
		return -1;
	b->n++;
	return 0;
}

static int vb_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vb_item *)a)->path,
		      ((const struct vb_item *)b)->path);
}

/* The regular files of dir (names not starting with '.'), by name. */
static int vb_list_dir(struct vb *b, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;
	char path[PATH_MAX];
	struct stat st;

	if (!d) {
		fprintf(stderr, "verify-quote: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
		    (int)sizeof(path)) {
			fprintf(stderr, "verify-quote: %s/%s: path too long\n",
				dir, e->d_name);
			closedir(d);
			return -1;
		}
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (vb_add(b, &cap, path)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (b->n)
		qsort(b->items, b->n, sizeof(b->items[0]), vb_cmp);
	return 0;
}

/* One path per line on stdin (blank lines skipped), in that order. */
static int vb_list_stdin(struct vb *b)
{
	char *line = NULL;
	size_t lcap = 0, cap = 0;
	ssize_t n;
	int rc = 0;

	while ((n = getline(&line, &lcap, stdin)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (vb_add(b, &cap, line)) {
			rc = -1;
			break;
		}
	}
	free(line);
	return rc;
}

static void vb_one(struct vb *b, struct vb_item *it, struct dp_verdict *v)
{
	char err[PATH_MAX + 64];
	json_object *j = NULL;
	uint8_t *q = NULL;
	size_t len;

	if (!v) {
		snprintf(err, sizeof(err), "out of memory");
		it->rc = PODCTL_EXIT_FAIL;
	} else if (read_file_err(it->path, &q, &len, err, sizeof(err))) {
		it->rc = VQ_EXIT_INPUT;
	} else {
		it->rc = dp_verify_quote(q, len, b->o, v) == DP_VERIFY_OK ?
			 PODCTL_EXIT_OK : PODCTL_EXIT_FAIL;
		j = dp_verdict_to_json(v);
		snprintf(err, sizeof(err), "out of memory");
	}
	if (!j) {
		j = json_object_new_object();
		if (j) {
			json_object_object_add(j, "verified",
					       json_object_new_boolean(0));
			json_object_object_add(j, "error",
					       json_object_new_string(err));
		}
	}
	if (j) {
		json_object_object_add(j, "file", json_object_new_string(it->path));
		it->line = strdup(json_object_to_json_string_ext(j,
				JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	if (!it->line && it->rc == PODCTL_EXIT_OK)
		it->rc = PODCTL_EXIT_FAIL;
	json_object_put(j);
	free(q);
}

static void *vb_worker(void *p)
{
	struct vb *b = p;
	struct dp_verdict *v = malloc(sizeof(*v));
	size_t i;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		i = b->next < b->n ? b->next++ : b->n;
		pthread_mutex_unlock(&b->lock);
		if (i >= b->n)
			break;
		vb_one(b, &b->items[i], v);
		pthread_mutex_lock(&b->lock);
		b->items[i].done = 1;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->lock);
	}
	free(v);
	return NULL;
}

/*
 * Verify every quote of src (a directory, or "-": a list of paths on
 * stdin) with the options o (one collateral object for all), on jobs
 * threads; print one JSON verdict per line, in input order.
 */
static int vq_batch(const char *src, long jobs,
		    const struct dp_verify_opts *o)
{
	struct vb b = { 0 };
	pthread_t th[VB_MAX_JOBS];
	size_t i, nth = 0, nok = 0, nfail = 0, nin = 0;
	int rc = VQ_EXIT_INPUT;

	b.o = o;
	if (pthread_mutex_init(&b.lock, NULL))
		return VQ_EXIT_INPUT;
	if (pthread_cond_init(&b.cv, NULL)) {
		pthread_mutex_destroy(&b.lock);
		return VQ_EXIT_INPUT;
	}
	if (strcmp(src, "-") ? vb_list_dir(&b, src) : vb_list_stdin(&b))
		goto out;
	if (b.n == 0) {
		fprintf(stderr, "verify-quote: no quotes in %s\n",
			strcmp(src, "-") ? src : "the list on stdin");
		goto out;
	}
	if (jobs <= 0) {
		jobs = sysconf(_SC_NPROCESSORS_ONLN);
		if (jobs < 1)
			jobs = 1;
	}
	if (jobs > VB_MAX_JOBS)
		jobs = VB_MAX_JOBS;
	if ((size_t)jobs > b.n)
		jobs = (long)b.n;
	for (nth = 0; nth < (size_t)jobs; nth++)
		if (pthread_create(&th[nth], NULL, vb_worker, &b))
			break;
	if (nth == 0) {
		fprintf(stderr, "verify-quote: cannot start a thread\n");
		goto out;
	}
	for (i = 0; i < b.n; i++) {
		struct vb_item *it = &b.items[i];

		pthread_mutex_lock(&b.lock);
		while (!it->done)
			pthread_cond_wait(&b.cv, &b.lock);
		pthread_mutex_unlock(&b.lock);
		if (it->line)
			printf("%s\n", it->line);
		else
			printf("{\"verified\":false,\"error\":\"out of memory\"}\n");
		free(it->line);
		it->line = NULL;
		if (it->rc == PODCTL_EXIT_OK)
			nok++;
		else if (it->rc == VQ_EXIT_INPUT)
			nin++;
		else
			nfail++;
	}
	fflush(stdout);
	fprintf(stderr,
		"verify-quote: %zu quotes: %zu verified, %zu failed, %zu unreadable (%zu threads)\n",
		b.n, nok, nfail, nin, nth);
	rc = nin ? VQ_EXIT_INPUT : nfail ? PODCTL_EXIT_FAIL : PODCTL_EXIT_OK;
out:
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < b.n; i++) {
		free(b.items[i].path);
		free(b.items[i].line);
	}
	free(b.items);
	pthread_cond_destroy(&b.cv);
	pthread_mutex_destroy(&b.lock);
	return rc;
}

/* ---- dstack's GetQuote reply and event log ------------------------- */

/*
 * A QUOTE file that is a JSON object with a string "quote" (dstack's
 * GetQuote reply) carries the quote as hex: replace *buf with the binary
 * quote.  Anything else is left as it is, a binary quote for the parser to
 * judge.
 */
static int quote_from_reply(uint8_t **buf, size_t *len, const char *path)
{
	json_object *o, *q;
	uint8_t *bin;
	size_t n, i = 0;
	int ok;

	while (i < *len && strchr(" \t\r\n", (*buf)[i]))
		i++;
	if (i == *len || (*buf)[i] != '{')
		return 0;
	bin = realloc(*buf, *len + 1);
	if (!bin)
		return -1;
	*buf = bin;
	(*buf)[*len] = '\0';
	o = json_tokener_parse((const char *)*buf);
	ok = o && json_object_is_type(o, json_type_object) &&
	     json_object_object_get_ex(o, "quote", &q) &&
	     json_object_is_type(q, json_type_string);
	if (!ok) {
		json_object_put(o);
		return 0;
	}
	n = (size_t)json_object_get_string_len(q) / 2;
	bin = malloc(n ? n : 1);
	if (!bin || dp_unhex(json_object_get_string(q), bin, n, &n)) {
		fprintf(stderr, "verify-quote: %s: \"quote\" is not a quote in hex\n",
			path);
		free(bin);
		json_object_put(o);
		return -1;
	}
	json_object_put(o);
	free(*buf);
	*buf = bin;
	*len = n;
	return 0;
}

/*
 * Replay the log against the quote's RTMRs.  RTMR3 is always compared
 * (no events replay to zero); RTMR0-2 only when the log has their events,
 * all with digests.
 */
static void vq_replay(struct vq_replay *r, const struct dp_verdict *v)
{
	int i;

	r->ok = v->parsed &&
		!dp_imr_log_replay(&r->log, r->mr, r->count, r->replayable);
	for (i = 0; i < DP_IMR_COUNT; i++) {
		if (!r->ok || (i < 3 && !r->count[i]) || !r->replayable[i])
			r->state[i] = i == 3 ? VQ_DIFFER : VQ_SKIP;
		else if (memcmp(r->mr[i], v->quote.body.rtmr[i], 48))
			r->state[i] = VQ_DIFFER;
		else
			r->state[i] = VQ_MATCH;
		if (r->state[i] == VQ_DIFFER)
			r->ok = 0;
	}
}

static void vq_reason(const struct vq_replay *r, int i, char *out, size_t size)
{
	char h[97];

	if (r->state[i] == VQ_MATCH) {
		snprintf(out, size, "%zu events replay to the quote's RTMR%d",
			 r->count[i], i);
	} else if (!r->replayable[i]) {
		snprintf(out, size, "not replayed: an RTMR%d event has no digest", i);
	} else if (r->state[i] == VQ_SKIP) {
		snprintf(out, size, "not replayed: the log has no RTMR%d events", i);
	} else {
		dp_hex(r->mr[i], 48, h);
		snprintf(out, size, "%zu events replay to %s, not to the quote's RTMR%d",
			 r->count[i], h, i);
	}
}

static void vq_print_events(const struct vq_replay *r)
{
	char h[97];
	size_t i;

	printf("event_log: %zu events\n", r->log.n);
	for (i = 0; i < r->log.n; i++) {
		const struct dp_imr_event *e = &r->log.ev[i];

		if (e->has_digest || e->digest_computed)
			dp_hex(e->digest, 48, h);
		else
			snprintf(h, sizeof(h), "%-96s", "(no digest)");
		printf("  %3zu rtmr%u 0x%08x %s%s %s (%zu bytes)\n", i, e->imr,
		       e->type, h, e->digest_computed ? "*" : " ",
		       *e->name ? e->name : "-", e->payload_len);
	}
	printf("  (* digest computed with dstack's runtime event rule)\n");
	for (i = 0; i < DP_IMR_COUNT; i++) {
		char why[256], name[24];

		vq_reason(r, (int)i, why, sizeof(why));
		snprintf(name, sizeof(name), "event_log.rtmr%zu", i);
		printf("%-34s %s  %s\n", name,
		       r->state[i] == VQ_MATCH ? "ok  " :
		       r->state[i] == VQ_SKIP ? "skip" : "FAIL", why);
	}
}

static json_object *vq_replay_json(const struct vq_replay *r)
{
	json_object *o = json_object_new_object(), *a, *e;
	char h[129], why[256];
	size_t i;

	if (!o)
		return NULL;
	a = json_object_new_array();
	for (i = 0; a && i < r->log.n; i++) {
		const struct dp_imr_event *ev = &r->log.ev[i];

		e = json_object_new_object();
		json_object_object_add(e, "index", json_object_new_int64((int64_t)i));
		json_object_object_add(e, "imr", json_object_new_int((int)ev->imr));
		json_object_object_add(e, "event_type", json_object_new_int64(ev->type));
		if (ev->has_digest || ev->digest_computed)
			dp_hex(ev->digest, 48, h);
		json_object_object_add(e, "digest", ev->has_digest || ev->digest_computed ?
				       json_object_new_string(h) : NULL);
		json_object_object_add(e, "digest_computed",
				       json_object_new_boolean(ev->digest_computed));
		json_object_object_add(e, "event", json_object_new_string(ev->name));
		json_object_object_add(e, "payload_len",
				       json_object_new_int64((int64_t)ev->payload_len));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "events", a);
	a = json_object_new_array();
	for (i = 0; a && i < DP_IMR_COUNT; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "rtmr", json_object_new_int((int)i));
		json_object_object_add(e, "events", json_object_new_int64((int64_t)r->count[i]));
		json_object_object_add(e, "result", json_object_new_string(
			r->state[i] == VQ_MATCH ? "match" :
			r->state[i] == VQ_SKIP ? "skipped" : "mismatch"));
		dp_hex(r->mr[i], 48, h);
		json_object_object_add(e, "replayed", r->replayable[i] ?
				       json_object_new_string(h) : NULL);
		vq_reason(r, (int)i, why, sizeof(why));
		json_object_object_add(e, "reason", json_object_new_string(why));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "rtmrs", a);
	json_object_object_add(o, "ok", json_object_new_boolean(r->ok));
	return o;
}

/* Load the event log; 0, VQ_EXIT_INPUT (unreadable) or 1 (inconsistent). */
static int vq_load_log(const char *path, struct vq_replay *r)
{
	uint8_t *buf = NULL, *nb;
	size_t len = 0;
	int err;

	if (read_file(path, &buf, &len))
		return VQ_EXIT_INPUT;
	nb = realloc(buf, len + 1);
	if (!nb) {
		free(buf);
		return VQ_EXIT_INPUT;
	}
	buf = nb;
	buf[len] = '\0';
	err = dp_imr_log_parse((const char *)buf, len, &r->log);
	free(buf);
	if (err) {
		fprintf(stderr, "verify-quote: event log %s: %s\n", path, dp_errmsg());
		return err == -EBADMSG ? PODCTL_EXIT_FAIL : VQ_EXIT_INPUT;
	}
	return 0;
}

int cmd_verify_quote(int argc, char **argv)
{
	enum { O_COLL = 1, O_ROOT, O_NOW, O_DEBUG, O_SEPT, O_RESV, O_SVC,
	       O_ANYTD, O_MRTD, O_RTMR, O_CFG, O_OWNER, O_RD, O_JSON, O_BATCH,
	       O_JOBS, O_PCCS, O_PCCS_CA, O_PCCS_TIMEOUT, O_OFFLINE, O_CACHE_DIR,
	       O_NO_CACHE, O_EVLOG, O_HELP };
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
		{ "batch", required_argument, NULL, O_BATCH },
		{ "jobs", required_argument, NULL, O_JOBS },
		{ "pccs", required_argument, NULL, O_PCCS },
		{ "pccs-ca", required_argument, NULL, O_PCCS_CA },
		{ "pccs-timeout", required_argument, NULL, O_PCCS_TIMEOUT },
		{ "offline", no_argument, NULL, O_OFFLINE },
		{ "cache-dir", required_argument, NULL, O_CACHE_DIR },
		{ "no-cache", no_argument, NULL, O_NO_CACHE },
		{ "event-log", required_argument, NULL, O_EVLOG },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t mrtd[48], rtmr[4][48], cfg[48], owner[48], rd[64];
	const char *coll_path = NULL, *root_path = NULL, *batch = NULL;
	const char *evlog = NULL;
	struct vq_replay *replay = NULL;
	long jobs = 0;
	struct dp_pccs_opts po;
	struct dp_verify_opts o;
	struct dp_verdict *v = NULL;
	uint8_t *quote = NULL, *root = NULL;
	size_t qlen = 0, rlen = 0;
	char err[256];
	int c, json = 0, rc = PODCTL_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	memset(&po, 0, sizeof(po));
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
		case O_BATCH:
			batch = optarg;
			break;
		case O_JOBS: {
			char *end;

			errno = 0;
			jobs = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || jobs < 1 ||
			    jobs > VB_MAX_JOBS) {
				fprintf(stderr, "verify-quote: --jobs wants 1..%d\n",
					VB_MAX_JOBS);
				return PODCTL_EXIT_USAGE;
			}
			break;
		}
		case O_PCCS:
			po.url = optarg;
			break;
		case O_PCCS_CA:
			po.ca_file = optarg;
			break;
		case O_PCCS_TIMEOUT: {
			char *end;

			errno = 0;
			po.timeout_ms = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || po.timeout_ms < 1 ||
			    po.timeout_ms > 600000) {
				fprintf(stderr, "verify-quote: --pccs-timeout wants 1..600000 (ms)\n");
				return PODCTL_EXIT_USAGE;
			}
			break;
		}
		case O_OFFLINE:
			po.flags |= DP_PCCS_OFFLINE;
			break;
		case O_CACHE_DIR:
			po.cache_dir = optarg;
			break;
		case O_NO_CACHE:
			po.flags |= DP_PCCS_NO_CACHE;
			break;
		case O_EVLOG:
			evlog = optarg;
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
	if (argc - optind != (batch ? 0 : 1) || (jobs && !batch)) {
		vq_usage(stderr);
		return PODCTL_EXIT_USAGE;
	}
	if ((po.url || po.flags & DP_PCCS_OFFLINE) && (coll_path || batch)) {
		fprintf(stderr, "verify-quote: --pccs/--offline go with one QUOTE and no --collateral\n");
		return PODCTL_EXIT_USAGE;
	}
	if (!po.url && !(po.flags & DP_PCCS_OFFLINE) &&
	    (po.ca_file || po.timeout_ms || po.cache_dir ||
	     po.flags & DP_PCCS_NO_CACHE)) {
		fprintf(stderr, "verify-quote: --pccs-ca, --pccs-timeout, --cache-dir and --no-cache need --pccs or --offline\n");
		return PODCTL_EXIT_USAGE;
	}
	if (evlog && batch) {
		fprintf(stderr, "verify-quote: --event-log goes with one QUOTE, not --batch\n");
		return PODCTL_EXIT_USAGE;
	}
	if ((po.flags & DP_PCCS_OFFLINE) && (po.flags & DP_PCCS_NO_CACHE)) {
		fprintf(stderr, "verify-quote: --offline needs the cache (not --no-cache)\n");
		return PODCTL_EXIT_USAGE;
	}

	rc = VQ_EXIT_INPUT;
	if (!batch && (read_file(argv[optind], &quote, &qlen) ||
		       quote_from_reply(&quote, &qlen, argv[optind])))
		goto out;
	if (evlog) {
		replay = calloc(1, sizeof(*replay));
		if (!replay)
			goto out;
		rc = vq_load_log(evlog, replay);
		if (rc)
			goto out;
		rc = VQ_EXIT_INPUT;
	}
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
	if (po.url || po.flags & DP_PCCS_OFFLINE) {
		uint8_t fmspc[6];
		char ca[16];
		int ret;

		po.root_der = o.root_der;
		po.root_der_len = o.root_der_len;
		po.now = o.now;
		po.now_set = o.now_set;
		if (dp_quote_pck_id(quote, qlen, fmspc, ca, err, sizeof(err))) {
			/* never verify without the collateral asked for */
			fprintf(stderr, "verify-quote: cannot tell which collateral the quote needs: %s\n",
				err);
			rc = PODCTL_EXIT_FAIL;
			goto out;
		}
		ret = dp_collateral_fetch(&po, fmspc, ca, &o.collateral, NULL,
					  err, sizeof(err));
		if (ret) {
			fprintf(stderr, "verify-quote: collateral: %s\n", err);
			goto out;
		}
	}
	if (batch) {
		(void)json;	/* batch verdicts are always JSON */
		rc = vq_batch(batch, jobs, &o);
		goto out;
	}
	v = malloc(sizeof(*v));
	if (!v)
		goto out;
	rc = dp_verify_quote(quote, qlen, &o, v) == DP_VERIFY_OK ?
	     PODCTL_EXIT_OK : PODCTL_EXIT_FAIL;
	if (replay) {
		vq_replay(replay, v);
		if (!replay->ok)
			rc = PODCTL_EXIT_FAIL;
	}
	if (json) {
		json_object *j = dp_verdict_to_json(v);

		if (!j) {
			rc = PODCTL_EXIT_FAIL;
			goto out;
		}
		if (replay) {
			json_object_object_add(j, "event_log", vq_replay_json(replay));
			if (!replay->ok && v->verified) {
				json_object_object_add(j, "verified",
						       json_object_new_boolean(0));
				json_object_object_add(j, "failed_check",
						       json_object_new_string("event_log"));
				json_object_object_add(j, "reason",
						       json_object_new_string("the event log does not replay to the quote's RTMRs"));
			}
		}
		printf("%s\n", json_object_to_json_string_ext(j,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		print_text(v, replay);
	}
out:
	if (replay)
		dp_imr_log_free(&replay->log);
	free(replay);
	free(v);
	dp_collateral_free(o.collateral);
	free(quote);
	free(root);
	return rc;
}
