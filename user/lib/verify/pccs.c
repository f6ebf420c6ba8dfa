// SPDX-License-Identifier: GPL-2.0
/*
 * Collateral from a PCCS or Intel's PCS, API v4 (pccs.h,
 * Documentation/verifier.rst).
 *
 * Four GETs over https (libcurl, loaded on first use): the TDX TCB info
 * for the FMSPC, the TD QE identity, the PCK CRL of the CA type and the
 * root CA CRL; the issuer chains come URL-encoded in response headers.
 * The parts are put together as the PCCS / dcap-qvl JSON form that
 * dp_collateral_load() reads (the signed TCB info and QE identity byte
 * for byte as served, CRLs as hex DER), verified with
 * dp_collateral_check() and written to the cache as that JSON text.  A
 * cached copy is loaded and verified again on every use.
 *
 * Limits: only https (no redirects), the server verified against the
 * given CA or the system store, one deadline for the whole fetch, at
 * most DP_PCCS_BODY_MAX bytes per body and DP_PCCS_HEADER_MAX bytes of
 * headers per answer.  Proxies come from the environment (https_proxy,
 * no_proxy), as for curl(1).
 *
 * The cache: one file per FMSPC and CA type, replaced atomically (a
 * temporary file renamed over it), and a lock file held with flock()
 * around "use the cache or fetch and replace it", so concurrent
 * processes fetch once and never read a partial file.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/curl_dl.h"
#include "common/dpcommon.h"
#include "common/hex.h"
#include "pccs.h"

#define PCCS_URL_MAX		1024
#define PCCS_CACHE_MAX		(8u << 20)
#define PCCS_JSON_DEPTH		32

/* ---- time ----------------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- one GET ---------------------------------------------------------------- */

struct pccs_resp {
	char *body;
	size_t len, cap;
	int too_big, nomem;
	const char *const *want;	/* header names wanted (NULL-ended) */
	char *hdr;			/* its value, raw */
	size_t hdr_total;
	int hdr_too_big, hdr_dup;
};

static void resp_reset(struct pccs_resp *r, const char *const *want)
{
	free(r->body);
	free(r->hdr);
	memset(r, 0, sizeof(*r));
	r->want = want;
}

static size_t resp_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct pccs_resp *r = arg;
	size_t add = size * nmemb, cap;
	char *nb;

	if (add > DP_PCCS_BODY_MAX - r->len) {
		r->too_big = 1;
		return 0;
	}
	if (r->len + add + 1 > r->cap) {
		cap = r->cap ? r->cap : 16384;
		while (cap < r->len + add + 1)
			cap *= 2;
		if (cap > DP_PCCS_BODY_MAX + 1)
			cap = DP_PCCS_BODY_MAX + 1;
		nb = realloc(r->body, cap);
		if (!nb) {
			r->nomem = 1;
			return 0;
		}
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, add);
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

static size_t resp_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct pccs_resp *r = arg;
	size_t n = size * nmemb, k, i;

	if (n > DP_PCCS_HEADER_MAX - r->hdr_total) {
		r->hdr_too_big = 1;
		return 0;
	}
	r->hdr_total += n;
	/* a new response (e.g. after "100 Continue") starts over */
	if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
		free(r->hdr);
		r->hdr = NULL;
		r->hdr_dup = 0;
		return n;
	}
	for (i = 0; r->want && r->want[i]; i++) {
		k = strlen(r->want[i]);
		if (n > k && p[k] == ':' && !strncasecmp(p, r->want[i], k))
			break;
	}
	if (!r->want || !r->want[i])
		return n;
	if (r->hdr) {
		r->hdr_dup = 1;
		return n;
	}
	p += k + 1;
	n -= k + 1;
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' ||
		     p[n - 1] == '\t'))
		n--;
	r->hdr = strndup(p, n);
	if (!r->hdr) {
		r->nomem = 1;
		return 0;
	}
	return size * nmemb;
}

static int pccs_curl_err(CURL *h, CURLcode rc, const struct pccs_resp *r,
			 const char *url, const char *errbuf, char *err,
			 size_t errlen)
{
	const char *why = errbuf[0] ? errbuf : dp_curl.easy_strerror(rc);
	long oserr = 0;
	int e;

	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		e = ETIMEDOUT;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		e = EHOSTUNREACH;
		break;
	case CURLE_COULDNT_CONNECT:
		dp_curl.easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
		e = oserr == ETIMEDOUT ? ETIMEDOUT : ECONNREFUSED;
		break;
	case CURLE_OUT_OF_MEMORY:
		e = ENOMEM;
		break;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (r->hdr_too_big) {
			dp_fmt_err(err, errlen,
				   "GET %s: response headers larger than %u bytes",
				   url, DP_PCCS_HEADER_MAX);
			return -EBADMSG;
		}
		if (r->nomem) {
			dp_fmt_err(err, errlen, "GET %s: out of memory", url);
			return -ENOMEM;
		}
		if (r->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
			dp_fmt_err(err, errlen,
				   "GET %s: the answer is larger than %u bytes",
				   url, DP_PCCS_BODY_MAX);
			return -EBADMSG;
		}
		e = EPROTO;
		break;
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		if (r->hdr_too_big) {
			dp_fmt_err(err, errlen,
				   "GET %s: response headers larger than %u bytes",
				   url, DP_PCCS_HEADER_MAX);
			return -EBADMSG;
		}
		e = rc == CURLE_PARTIAL_FILE ? EBADMSG : EPROTO;
		break;
	default:
		if (r->hdr_too_big) {
			dp_fmt_err(err, errlen,
				   "GET %s: response headers larger than %u bytes",
				   url, DP_PCCS_HEADER_MAX);
			return -EBADMSG;
		}
		/* TLS (verification) and HTTP */
		e = EPROTO;
		break;
	}
	dp_fmt_err(err, errlen, "GET %s: %s (curl error %d)", url, why, (int)rc);
	return -e;
}

#define POPT(o, v) { o, #o, v }

static int pccs_setup(CURL *h, const struct dp_pccs_opts *o, char *errbuf,
		      struct pccs_resp *r, char *err, size_t errlen)
{
	const struct {
		CURLoption opt;
		const char *name;
		long val;
	} longs[] = {
		POPT(CURLOPT_FOLLOWLOCATION, 0L),
		POPT(CURLOPT_NOSIGNAL, 1L),
		POPT(CURLOPT_SSL_VERIFYPEER, 1L),
		POPT(CURLOPT_SSL_VERIFYHOST, 2L),
		POPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2),
		POPT(CURLOPT_FAILONERROR, 0L),
	};
	const struct {
		CURLoption opt;
		const char *name;
		const void *val;
	} ptrs[] = {
		POPT(CURLOPT_ERRORBUFFER, errbuf),
		POPT(CURLOPT_PROTOCOLS_STR, "https"),
		POPT(CURLOPT_REDIR_PROTOCOLS_STR, "https"),
		POPT(CURLOPT_USERAGENT, "dstack-pod"),
		POPT(CURLOPT_WRITEDATA, r),
		POPT(CURLOPT_HEADERDATA, r),
	};
	curl_write_callback wr = resp_body, hd = resp_header;
	CURLcode rc;
	size_t i;

	for (i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
		rc = dp_curl.easy_setopt(h, longs[i].opt, longs[i].val);
		if (rc != CURLE_OK)
			goto bad;
	}
	for (i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
		rc = dp_curl.easy_setopt(h, ptrs[i].opt, ptrs[i].val);
		if (rc != CURLE_OK) {
			dp_fmt_err(err, errlen, "libcurl refused %s: %s",
				   ptrs[i].name, dp_curl.easy_strerror(rc));
			return -ENOSYS;
		}
	}
	if (o->ca_file) {
		/* only this CA: no built-in bundle or directory */
		if (dp_curl.easy_setopt(h, CURLOPT_CAPATH, (char *)NULL) != CURLE_OK ||
		    dp_curl.easy_setopt(h, CURLOPT_CAINFO, o->ca_file) != CURLE_OK) {
			dp_fmt_err(err, errlen, "libcurl refused the CA file");
			return -ENOSYS;
		}
	}
	if (dp_curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, wr) != CURLE_OK ||
	    dp_curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, hd) != CURLE_OK ||
	    dp_curl.easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
				(curl_off_t)DP_PCCS_BODY_MAX) != CURLE_OK) {
		dp_fmt_err(err, errlen, "libcurl refused a callback or limit");
		return -ENOSYS;
	}
	return 0;
bad:
	dp_fmt_err(err, errlen, "libcurl refused %s: %s", longs[i].name,
		   dp_curl.easy_strerror(rc));
	return -ENOSYS;
}

/* GET url into r (a 200 answer with a body); 0 or a negative errno. */
static int pccs_get(CURL *h, const char *url, int64_t deadline,
		    const char *const *want, struct pccs_resp *r, char *errbuf,
		    char *err, size_t errlen)
{
	int64_t left = deadline - mono_ms();
	long status = 0;
	CURLcode rc;

	resp_reset(r, want);
	if (left <= 0) {
		dp_fmt_err(err, errlen, "GET %s: the deadline passed before it started",
			   url);
		return -ETIMEDOUT;
	}
	if (dp_curl.easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    dp_curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left) != CURLE_OK ||
	    dp_curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)left) != CURLE_OK) {
		dp_fmt_err(err, errlen, "libcurl refused the URL or timeout");
		return -ENOSYS;
	}
	errbuf[0] = '\0';
	rc = dp_curl.easy_perform(h);
	if (rc != CURLE_OK)
		return pccs_curl_err(h, rc, r, url, errbuf, err, errlen);
	dp_curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		dp_fmt_err(err, errlen, "GET %s: HTTP status %ld", url, status);
		return status == 404 ? -ENOENT : -EPROTO;
	}
	if (!r->len) {
		dp_fmt_err(err, errlen, "GET %s: empty answer", url);
		return -EBADMSG;
	}
	if (want && !r->hdr) {
		dp_fmt_err(err, errlen, "GET %s: no %s header", url, want[0]);
		return -EBADMSG;
	}
	if (r->hdr_dup) {
		dp_fmt_err(err, errlen, "GET %s: more than one %s header", url,
			   want[0]);
		return -EBADMSG;
	}
	return 0;
}

/* ---- answers to collateral ------------------------------------------------ */

static int nibble(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Percent-decoding of an issuer chain header, in place.  0 or -1. */
static int url_decode(char *s)
{
	char *o = s;
	uint8_t b;

	for (; *s; s++) {
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		if (!isxdigit((unsigned char)s[1]) ||
		    !isxdigit((unsigned char)s[2]))
			return -1;
		b = (uint8_t)(nibble(s[1]) << 4 | nibble(s[2]));
		if (b == 0)
			return -1;
		*o++ = (char)b;
		s += 2;
	}
	*o = '\0';
	return 0;
}

static size_t skip_ws(const char *s, size_t p, size_t len)
{
	while (p < len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' ||
			   s[p] == '\r'))
		p++;
	return p;
}

/*
 * One JSON value at s[p, len) delimited by json-c; its end in *end.  The
 * value (a new reference) or NULL.
 */
static json_object *json_at(const char *s, size_t p, size_t len, size_t *end,
			    int strict)
{
	json_tokener *tok = json_tokener_new_ex(PCCS_JSON_DEPTH);
	json_object *o;

	if (!tok)
		return NULL;
	/* strict: trailing text; the walk (split_signed) needs what follows */
	json_tokener_set_flags(tok, strict ? JSON_TOKENER_STRICT : 0);
	o = json_tokener_parse_ex(tok, s + p, (int)(len - p));
	if (o && json_tokener_get_error(tok) == json_tokener_success) {
		*end = p + json_tokener_get_parse_end(tok);
	} else {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/*
 * The signed part of a PCS answer {"<doc>":{...},"signature":"hex"}: the
 * text of member doc exactly as served (the signature covers those
 * bytes), and the signature.  The members are walked with json-c, which
 * parses each key and value; anything but one object with exactly these
 * two members (in any order) is refused.
 */
static int split_signed(const char *body, size_t len, const char *doc,
			char **text, char **sig)
{
	size_t p, end, doc_at = 0, doc_end = 0;
	json_object *k, *v;
	int ndoc = 0, nsig = 0, nother = 0;

	*text = *sig = NULL;
	if (len > INT_MAX || memchr(body, '\0', len))
		return -1;
	/* the whole answer is one strict JSON value */
	k = json_at(body, 0, len, &end, 1);
	json_object_put(k);
	if (!k || skip_ws(body, end, len) != len)
		return -1;
	p = skip_ws(body, 0, len);
	if (p >= len || body[p] != '{')
		return -1;
	p = skip_ws(body, p + 1, len);
	while (p < len && body[p] != '}') {
		k = json_at(body, p, len, &end, 0);
		if (!k || !json_object_is_type(k, json_type_string)) {
			json_object_put(k);
			goto bad;
		}
		p = skip_ws(body, end, len);
		if (p >= len || body[p] != ':') {
			json_object_put(k);
			goto bad;
		}
		p = skip_ws(body, p + 1, len);
		v = json_at(body, p, len, &end, 0);
		if (!v) {
			json_object_put(k);
			goto bad;
		}
		if (!strcmp(json_object_get_string(k), doc) &&
		    json_object_is_type(v, json_type_object)) {
			ndoc++;
			doc_at = p;
			doc_end = end;
		} else if (!strcmp(json_object_get_string(k), "signature") &&
			   json_object_is_type(v, json_type_string)) {
			nsig++;
			free(*sig);
			*sig = strdup(json_object_get_string(v));
		} else {
			nother++;
		}
		json_object_put(k);
		json_object_put(v);
		p = skip_ws(body, end, len);
		if (p < len && body[p] == ',')
			p = skip_ws(body, p + 1, len);
		else if (p >= len || body[p] != '}')
			goto bad;
	}
	if (p >= len || skip_ws(body, p + 1, len) != len || ndoc != 1 ||
	    nsig != 1 || nother || !*sig)
		goto bad;
	*text = strndup(body + doc_at, doc_end - doc_at);
	if (!*text)
		goto bad;
	return 0;
bad:
	free(*sig);
	*sig = NULL;
	return -1;
}

/* A CRL answer (DER, hex or PEM) as the JSON form's string (hex or PEM). */
static char *crl_text(const char *body, size_t len)
{
	size_t i;
	char *s;

	if (len >= 10 && !memcmp(body, "-----BEGIN", 10))
		return memchr(body, '\0', len) ? NULL : strndup(body, len);
	for (i = 0; i < len && isxdigit((unsigned char)body[i]); i++)
		;
	if (i == len && len % 2 == 0)
		return strndup(body, len);
	s = malloc(2 * len + 1);
	if (s)
		dp_hex((const uint8_t *)body, len, s);
	return s;
}

static int add_str(json_object *o, const char *key, const char *val)
{
	json_object *s = json_object_new_string(val);

	if (!s || json_object_object_add(o, key, s)) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

/* The four answers, fetched and put together as the JSON form's text. */
static int pccs_download(const struct dp_pccs_opts *o, const char *fmspc_hex,
			 const char *ca, char **json, char *err, size_t errlen)
{
	static const char *const tcb_hdr[] = { "TCB-Info-Issuer-Chain",
					       "SGX-TCB-Info-Issuer-Chain", NULL };
	static const char *const qe_hdr[] = { "SGX-Enclave-Identity-Issuer-Chain",
					      NULL };
	static const char *const crl_hdr[] = { "SGX-PCK-CRL-Issuer-Chain", NULL };
	int64_t deadline = mono_ms() + (o->timeout_ms > 0 ? o->timeout_ms :
					DP_PCCS_TIMEOUT_MS);
	struct pccs_resp r = { 0 };
	char url[PCCS_URL_MAX + 128], errbuf[CURL_ERROR_SIZE] = "";
	char *text = NULL, *sig = NULL, *crl = NULL;
	json_object *out = NULL;
	size_t blen = strlen(o->url);
	CURL *h = NULL;
	int ret;

	while (blen && o->url[blen - 1] == '/')
		blen--;
	ret = dp_curl_get();
	if (ret) {
		dp_fmt_err(err, errlen, "%s", dp_errmsg());
		return ret;
	}
	h = dp_curl.easy_init();
	out = json_object_new_object();
	if (!h || !out) {
		dp_fmt_err(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	ret = pccs_setup(h, o, errbuf, &r, err, errlen);
	if (ret)
		goto out;

	/* TCB info */
	snprintf(url, sizeof(url), "%.*s/tdx/certification/v4/tcb?fmspc=%s",
		 (int)blen, o->url, fmspc_hex);
	ret = pccs_get(h, url, deadline, tcb_hdr, &r, errbuf, err, errlen);
	if (ret)
		goto out;
	if (split_signed(r.body, r.len, "tcbInfo", &text, &sig)) {
		dp_fmt_err(err, errlen,
			   "GET %s: not a JSON object {\"tcbInfo\":{...},\"signature\":\"...\"}",
			   url);
		ret = -EBADMSG;
		goto out;
	}
	if (url_decode(r.hdr)) {
		dp_fmt_err(err, errlen, "GET %s: %s is not URL-encoded text", url,
			   tcb_hdr[0]);
		ret = -EBADMSG;
		goto out;
	}
	if (add_str(out, "tcb_info", text) ||
	    add_str(out, "tcb_info_signature", sig) ||
	    add_str(out, "tcb_info_issuer_chain", r.hdr))
		goto nomem;
	free(text);
	free(sig);
	text = sig = NULL;

	/* QE identity */
	snprintf(url, sizeof(url), "%.*s/tdx/certification/v4/qe/identity",
		 (int)blen, o->url);
	ret = pccs_get(h, url, deadline, qe_hdr, &r, errbuf, err, errlen);
	if (ret)
		goto out;
	if (split_signed(r.body, r.len, "enclaveIdentity", &text, &sig)) {
		dp_fmt_err(err, errlen,
			   "GET %s: not a JSON object {\"enclaveIdentity\":{...},\"signature\":\"...\"}",
			   url);
		ret = -EBADMSG;
		goto out;
	}
	if (url_decode(r.hdr)) {
		dp_fmt_err(err, errlen, "GET %s: %s is not URL-encoded text", url,
			   qe_hdr[0]);
		ret = -EBADMSG;
		goto out;
	}
	if (add_str(out, "qe_identity", text) ||
	    add_str(out, "qe_identity_signature", sig) ||
	    add_str(out, "qe_identity_issuer_chain", r.hdr))
		goto nomem;

	/* PCK CRL */
	snprintf(url, sizeof(url),
		 "%.*s/sgx/certification/v4/pckcrl?ca=%s&encoding=der",
		 (int)blen, o->url, ca);
	ret = pccs_get(h, url, deadline, crl_hdr, &r, errbuf, err, errlen);
	if (ret)
		goto out;
	if (url_decode(r.hdr)) {
		dp_fmt_err(err, errlen, "GET %s: %s is not URL-encoded text", url,
			   crl_hdr[0]);
		ret = -EBADMSG;
		goto out;
	}
	crl = crl_text(r.body, r.len);
	if (!crl || add_str(out, "pck_crl", crl) ||
	    add_str(out, "pck_crl_issuer_chain", r.hdr))
		goto nomem;
	free(crl);
	crl = NULL;

	/* root CA CRL (signed by the root: no issuer chain) */
	snprintf(url, sizeof(url), "%.*s/sgx/certification/v4/rootcacrl",
		 (int)blen, o->url);
	ret = pccs_get(h, url, deadline, NULL, &r, errbuf, err, errlen);
	if (ret)
		goto out;
	crl = crl_text(r.body, r.len);
	if (!crl || add_str(out, "root_ca_crl", crl))
		goto nomem;

	*json = strdup(json_object_to_json_string_ext(out,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	ret = *json ? 0 : -ENOMEM;
	if (ret)
		dp_fmt_err(err, errlen, "out of memory");
	goto out;
nomem:
	dp_fmt_err(err, errlen, "out of memory (or a NUL in an answer)");
	ret = -ENOMEM;
out:
	if (h)
		dp_curl.easy_cleanup(h);
	resp_reset(&r, NULL);
	json_object_put(out);
	free(text);
	free(sig);
	free(crl);
	return ret;
}

/* ---- the cache -------------------------------------------------------------- */

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int cache_dir(const struct dp_pccs_opts *o, char *buf, size_t len)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	if (o->cache_dir)
		n = snprintf(buf, len, "%s", o->cache_dir);
	else if (x && x[0] == '/')
		n = snprintf(buf, len, "%s/dstack-pod", x);
	else if (home && home[0] == '/')
		n = snprintf(buf, len, "%s/.cache/dstack-pod", home);
	else
		return -ENOENT;
	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* The cached collateral at path, verified; 0, or a negative errno. */
static int cache_use(const char *path, const struct dp_verify_opts *vo,
		     const uint8_t fmspc[6], struct dp_collateral **out,
		     char *err, size_t errlen)
{
	struct dp_collateral *c;
	char sub[256];
	struct stat st;
	int fd, ret;
	char *buf;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		dp_fmt_err(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > PCCS_CACHE_MAX) {
		dp_fmt_err(err, errlen, "%s: not a regular file of 1..%u bytes",
			   path, PCCS_CACHE_MAX);
		close(fd);
		return -EBADMSG;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		close(fd);
		dp_fmt_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		dp_fmt_err(err, errlen, "%s: short read", path);
		return -EIO;
	}
	c = dp_collateral_load(buf, (size_t)n, sub, sizeof(sub));
	free(buf);
	if (!c) {
		dp_fmt_err(err, errlen, "%s: %s", path, sub);
		return -EBADMSG;
	}
	ret = dp_collateral_check(c, vo, fmspc, sub, sizeof(sub));
	if (ret) {
		dp_fmt_err(err, errlen, "%s: %s", path, sub);
		dp_collateral_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* Write text to path atomically (a temporary file, then rename). */
static int cache_write(const char *path, const char *text, char *err,
		       size_t errlen)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		dp_fmt_err(err, errlen, "%s: %s", tmp, strerror(errno));
		return ret;
	}
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (!ret && (fchmod(fd, 0644) || fsync(fd)))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		dp_fmt_err(err, errlen, "writing %s: %s", path, strerror(-ret));
		unlink(tmp);
	}
	return ret;
}

/* flock() the lock file until the deadline; the fd or a negative errno. */
static int cache_lock(const char *path, int how, int64_t deadline, char *err,
		      size_t errlen)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int fd, ret;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		ret = -errno;
		dp_fmt_err(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	for (;;) {
		if (!flock(fd, how | LOCK_NB))
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			ret = -errno;
			dp_fmt_err(err, errlen, "flock %s: %s", path,
				   strerror(errno));
			break;
		}
		if (mono_ms() >= deadline) {
			ret = -ETIMEDOUT;
			dp_fmt_err(err, errlen,
				   "%s: held by another process past the deadline",
				   path);
			break;
		}
		nanosleep(&ts, NULL);
	}
	close(fd);
	return ret;
}

/* ---- dp_collateral_fetch ---------------------------------------------------- */

int dp_collateral_fetch(const struct dp_pccs_opts *o, const uint8_t fmspc[6],
			const char *ca, struct dp_collateral **out,
			int *from_cache, char *err, size_t errlen)
{
	int offline, use_cache, ret, lock = -1;
	int64_t deadline;
	struct dp_verify_opts vo;
	struct dp_collateral *c = NULL;
	char dir[PATH_MAX - 64], path[PATH_MAX], lpath[PATH_MAX];
	char fhex[13], why[512], sub[256];
	char *json = NULL;

	if (err && errlen)
		err[0] = '\0';
	if (from_cache)
		*from_cache = 0;
	if (!o || !fmspc || !out || !ca ||
	    (strcmp(ca, "platform") && strcmp(ca, "processor"))) {
		dp_fmt_err(err, errlen,
			   "collateral fetch: want options, an FMSPC and a CA type \"platform\" or \"processor\"");
		return -EINVAL;
	}
	*out = NULL;
	offline = !!(o->flags & DP_PCCS_OFFLINE);
	use_cache = !(o->flags & DP_PCCS_NO_CACHE);
	if (offline && !use_cache) {
		dp_fmt_err(err, errlen, "offline without a cache: nothing to use");
		return -EINVAL;
	}
	if (!offline) {
		if (!o->url || strncasecmp(o->url, "https://", 8) ||
		    strlen(o->url) > PCCS_URL_MAX || strlen(o->url) <= 8 ||
		    strpbrk(o->url, " \t\r\n?#")) {
			dp_fmt_err(err, errlen,
				   "PCCS URL \"%.80s\" is not https://host[:port][/path]",
				   o->url ? o->url : "(none)");
			return -EINVAL;
		}
	}
	if (o->timeout_ms < 0 || o->timeout_ms > 600000) {
		dp_fmt_err(err, errlen, "timeout %ld ms out of range (0..600000)",
			   o->timeout_ms);
		return -EINVAL;
	}
	deadline = mono_ms() + (o->timeout_ms > 0 ? o->timeout_ms :
				DP_PCCS_TIMEOUT_MS);
	memset(&vo, 0, sizeof(vo));
	vo.root_der = o->root_der;
	vo.root_der_len = o->root_der_len;
	vo.now = o->now_set ? o->now : (int64_t)time(NULL);
	vo.now_set = 1;
	dp_hex(fmspc, 6, fhex);

	if (use_cache) {
		ret = cache_dir(o, dir, sizeof(dir));
		if (ret) {
			dp_fmt_err(err, errlen,
				   "no cache directory (set --cache-dir, XDG_CACHE_HOME or HOME)");
			return ret;
		}
		ret = mkdir_p(dir);
		if (ret) {
			dp_fmt_err(err, errlen, "cache directory %s: %s", dir,
				   strerror(-ret));
			return ret;
		}
		snprintf(path, sizeof(path), "%s/tdx-%s-%s.json", dir, fhex, ca);
		snprintf(lpath, sizeof(lpath), "%s/tdx-%s-%s.lock", dir, fhex, ca);
		lock = cache_lock(lpath, offline ? LOCK_SH : LOCK_EX, deadline,
				  err, errlen);
		if (lock < 0)
			return lock;
		ret = cache_use(path, &vo, fmspc, &c, why, sizeof(why));
		if (!ret) {
			if (from_cache)
				*from_cache = 1;
			*out = c;
			goto out;
		}
		if (offline) {
			if (ret == -ENOENT)
				dp_fmt_err(err, errlen,
					   "offline: no cached collateral for FMSPC %s (%s CA) in %s",
					   fhex, ca, dir);
			else
				dp_fmt_err(err, errlen,
					   "offline: the cached collateral cannot be used: %s",
					   why);
			goto out;
		}
	}

	ret = pccs_download(o, fhex, ca, &json, err, errlen);
	if (ret)
		goto out;
	c = dp_collateral_load(json, strlen(json), sub, sizeof(sub));
	if (!c) {
		dp_fmt_err(err, errlen, "collateral from %s: %s", o->url, sub);
		ret = -EBADMSG;
		goto out;
	}
	ret = dp_collateral_check(c, &vo, fmspc, sub, sizeof(sub));
	if (ret) {
		dp_fmt_err(err, errlen, "collateral from %s does not verify: %s",
			   o->url, sub);
		dp_collateral_free(c);
		goto out;
	}
	if (use_cache) {
		ret = cache_write(path, json, err, errlen);
		if (ret) {
			dp_collateral_free(c);
			goto out;
		}
	}
	*out = c;
out:
	if (lock >= 0)
		close(lock);	/* releases the flock */
	free(json);
	return ret;
}
