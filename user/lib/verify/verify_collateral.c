// SPDX-License-Identifier: GPL-2.0
/*
 * Collateral loading (PCCS / dcap-qvl JSON form): parse, never verify.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "verify_int.h"

#define DP_COLLATERAL_MAX	(16u << 20)


int dp_asn1_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	time_t v;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	v = timegm(&tm);
	if (v == (time_t)-1)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int dp_parse_rfc3339(const char *s, int64_t *out)
{
	struct tm tm;
	const char *p;
	time_t v;
	long off = 0;

	if (!s)
		return -1;
	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p) {
		memset(&tm, 0, sizeof(tm));
		p = strptime(s, "%Y-%m-%dt%H:%M:%S", &tm);
	}
	if (!p)
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hh, mm;

		if (p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
		    p[3] != ':' || p[4] < '0' || p[4] > '9' || p[5] < '0' ||
		    p[5] > '9')
			return -1;
		hh = (p[1] - '0') * 10 + (p[2] - '0');
		mm = (p[4] - '0') * 10 + (p[5] - '0');
		if (hh > 23 || mm > 59)
			return -1;
		off = sign * (hh * 3600L + mm * 60L);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	v = timegm(&tm);
	if (v == (time_t)-1)
		return -1;
	*out = (int64_t)v - off;
	return 0;
}

void dp_intern_add(struct dp_intern *t, X509 *x, const unsigned char *der,
		   int len)
{
	unsigned char *own = NULL;
	int i;

	for (i = 0; i < t->n; i++)
		if (t->x[i] == x)
			return;
	if (t->n >= DP_INTERN_MAX || !x)
		return;
	if (!der) {
		len = i2d_X509(x, &own);
		if (len <= 0)
			return;
		der = own;
	}
	if (!X509_up_ref(x)) {
		OPENSSL_free(own);
		return;
	}
	t->x[t->n] = x;
	t->der[t->n] = der;
	t->len[t->n] = len;
	t->owned[t->n] = own;
	t->n++;
}

void dp_intern_free(struct dp_intern *t)
{
	int i;

	for (i = 0; i < t->n; i++) {
		X509_free(t->x[i]);
		OPENSSL_free(t->owned[i]);
	}
	t->n = 0;
}

static X509 *intern_find(const struct dp_intern *t, const unsigned char *der,
			 long len)
{
	int i;

	for (i = 0; t && i < t->n; i++)
		if (t->len[i] == len && !memcmp(t->der[i], der, (size_t)len))
			return X509_up_ref(t->x[i]) ? t->x[i] : NULL;
	return NULL;
}

/*
 * Decoded objects, process-wide, matched by the exact text they were
 * decoded from: a certificate by its PEM block, a CRL by its hex or PEM
 * string.  The Intel PCK CA and TCB signing certificates, a platform's
 * PCK leaf and the two CRLs come back byte for byte in every collateral
 * document and every quote of a platform, and OpenSSL 3 spends most of
 * a certificate's d2i_X509() decoding its public key (a decoder context
 * per call, about 1.5 million instructions, more than two ECDSA
 * verifications) and most of a CRL's d2i_X509_CRL() in malloc.  An object
 * decoded from the same bytes is the same object, so it is shared (by
 * reference, read-only) instead of decoded again.  Nothing about
 * verification is remembered here: every signature, validity period and
 * revocation is checked again for every collateral document.  Small
 * tables, replaced round robin, each under its mutex; the key is a copy
 * of the bytes, at most max_key of them (larger inputs are decoded every
 * time), so the memory is bounded.
 */
#define DP_MEMO_SLOTS		16
#define DP_CERT_MEMO_SLOTS	16
#define DP_CRL_MEMO_SLOTS	4
_Static_assert(DP_CERT_MEMO_SLOTS <= DP_MEMO_SLOTS &&
	       DP_CRL_MEMO_SLOTS <= DP_MEMO_SLOTS, "memo tables hold DP_MEMO_SLOTS");

struct memo {
	const int slots;
	const size_t max_key;
	int (*const up_ref)(void *obj);
	void (*const put)(void *obj);
	pthread_mutex_t lock;
	unsigned int next;
	struct {
		void *obj;
		size_t len;
		unsigned char *key;
	} e[DP_MEMO_SLOTS];
};

static int x509_up_ref(void *x)
{
	return X509_up_ref(x);
}

static void x509_put(void *x)
{
	X509_free(x);
}

static int crl_up_ref(void *x)
{
	return X509_CRL_up_ref(x);
}

static void crl_put(void *x)
{
	X509_CRL_free(x);
}

/* PEM blocks of certificates up to 4 KiB of DER. */
static struct memo cert_memo = {
	.slots = DP_CERT_MEMO_SLOTS, .max_key = 6144,
	.up_ref = x509_up_ref, .put = x509_put,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/* CRLs up to 64 KiB of hex (Intel's PCK and root CA CRLs are a few KiB). */
static struct memo crl_memo = {
	.slots = DP_CRL_MEMO_SLOTS, .max_key = 65536,
	.up_ref = crl_up_ref, .put = crl_put,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/* The slot holding key[0, len), or -1; under m->lock. */
static int memo_find(const struct memo *m, const void *key, size_t len)
{
	int i;

	for (i = 0; i < m->slots; i++)
		if (m->e[i].obj && m->e[i].len == len &&
		    !memcmp(m->e[i].key, key, len))
			return i;
	return -1;
}

/* A new reference to the object decoded from key[0, len), or NULL. */
static void *memo_get(struct memo *m, const void *key, size_t len)
{
	void *obj = NULL;
	int i;

	if (len == 0 || len > m->max_key)
		return NULL;
	pthread_mutex_lock(&m->lock);
	i = memo_find(m, key, len);
	if (i >= 0 && m->up_ref(m->e[i].obj))
		obj = m->e[i].obj;
	pthread_mutex_unlock(&m->lock);
	return obj;
}

/* Remember obj as decoded from key[0, len); on any failure, nothing. */
static void memo_put(struct memo *m, void *obj, const void *key, size_t len)
{
	unsigned char *copy;
	unsigned int i;

	if (len == 0 || len > m->max_key)
		return;
	copy = malloc(len);
	if (!copy)
		return;
	if (!m->up_ref(obj)) {
		free(copy);
		return;
	}
	memcpy(copy, key, len);
	pthread_mutex_lock(&m->lock);
	/* Two threads that decoded the same text: keep one entry. */
	if (memo_find(m, key, len) >= 0) {
		pthread_mutex_unlock(&m->lock);
		m->put(obj);
		free(copy);
		return;
	}
	i = m->next++ % (unsigned int)m->slots;
	if (m->e[i].obj)
		m->put(m->e[i].obj);
	free(m->e[i].key);
	m->e[i].obj = obj;
	m->e[i].len = len;
	m->e[i].key = copy;
	pthread_mutex_unlock(&m->lock);
}

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

static int pem_space(uint8_t c)
{
	return c == '\n' || c == '\r' || c == ' ' || c == '\t';
}

/* One certificate from the PEM block buf[0, len), or NULL. */
static X509 *pem_block(const uint8_t *buf, size_t len,
		       const struct dp_intern *known)
{
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	X509 *x = memo_get(&cert_memo, buf, len);
	long dlen;
	BIO *bio;

	if (x)
		return x;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio && PEM_read_bio(bio, &name, &header, &data, &dlen) == 1 &&
	    !strcmp(name, PEM_STRING_X509) && !header[0] &&
	    BIO_pending(bio) == 0) {
		x = intern_find(known, data, dlen);
		if (!x) {
			const unsigned char *p = data;

			x = d2i_X509(NULL, &p, dlen);
			if (x && p != data + dlen) {
				X509_free(x);
				x = NULL;
			}
		}
		if (x)
			memo_put(&cert_memo, x, buf, len);
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	ERR_clear_error();
	return x;
}

/*
 * The chain is nothing but certificate blocks separated by white space:
 * "-----BEGIN CERTIFICATE-----", base64, "-----END CERTIFICATE-----".
 * We frame the blocks ourselves and reject anything else, since
 * OpenSSL's PEM reader skips lines it does not recognise (a damaged
 * BEGIN line would drop that certificate and check the chain without
 * it) and stops quietly at a block it cannot finish (a truncated root
 * would be dropped).  OpenSSL decodes each block.
 */
STACK_OF(X509) *dp_pem_chain(const uint8_t *buf, size_t len,
			     const struct dp_intern *known, char *err,
			     size_t errlen)
{
	STACK_OF(X509) *sk;
	size_t end = len, p = 0;

	while (end > 0 && (buf[end - 1] == 0 || pem_space(buf[end - 1])))
		end--;
	if (end == 0 || end > INT_MAX) {
		dp_fmt_err(err, errlen, "empty or oversized PEM certificate chain");
		return NULL;
	}
	sk = sk_X509_new_null();
	if (!sk) {
		dp_fmt_err(err, errlen, "out of memory");
		return NULL;
	}
	for (;;) {
		const uint8_t *e, *nb;
		size_t blk_end;
		int nblk = sk_X509_num(sk) + 1;
		X509 *x;

		while (p < end && pem_space(buf[p]))
			p++;
		if (p == end)
			break;
		if (nblk > 8) {
			dp_fmt_err(err, errlen, "more than 8 certificates in PEM chain");
			goto fail;
		}
		if (end - p < sizeof(pem_begin) - 1 ||
		    memcmp(buf + p, pem_begin, sizeof(pem_begin) - 1) ||
		    (end - p > sizeof(pem_begin) - 1 &&
		     !pem_space(buf[p + sizeof(pem_begin) - 1]))) {
			dp_fmt_err(err, errlen,
			       "PEM block %d: no \"%s\" line at byte %zu (junk or a damaged header)",
			       nblk, pem_begin, p);
			goto fail;
		}
		e = memmem(buf + p, end - p, pem_end, sizeof(pem_end) - 1);
		nb = memmem(buf + p + 1, end - p - 1, "-----BEGIN", 10);
		if (!e || (nb && nb < e)) {
			dp_fmt_err(err, errlen,
			       "PEM block %d (byte %zu) is truncated: no \"%s\" line",
			       nblk, p, pem_end);
			goto fail;
		}
		blk_end = (size_t)(e - buf) + sizeof(pem_end) - 1;
		if (blk_end < end && !pem_space(buf[blk_end])) {
			dp_fmt_err(err, errlen,
			       "PEM block %d: damaged \"%s\" line", nblk,
			       pem_end);
			goto fail;
		}
		x = pem_block(buf + p, blk_end - p, known);
		if (!x) {
			dp_fmt_err(err, errlen,
			       "PEM block %d is not a well-formed certificate",
			       nblk);
			goto fail;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			dp_fmt_err(err, errlen, "out of memory");
			goto fail;
		}
		p = blk_end;
	}
	if (sk_X509_num(sk) == 0) {
		dp_fmt_err(err, errlen, "no certificate in PEM chain");
		goto fail;
	}
	return sk;
fail:
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

static void intern_chain(struct dp_intern *t, STACK_OF(X509) *sk)
{
	int i;

	for (i = 0; i < sk_X509_num(sk); i++)
		dp_intern_add(t, sk_X509_value(sk, i), NULL, 0);
}

static const char *get_str(json_object *o, const char *key, size_t *len,
			   char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string)) {
		dp_fmt_err(err, errlen, "collateral: missing string \"%s\"", key);
		return NULL;
	}
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static json_object *parse_json(const char *s, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (len > INT_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  (size_t)json_tokener_get_parse_end(tok) != len)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* CRL given as hex DER or PEM. */
static X509_CRL *load_crl(const char *s, size_t len)
{
	X509_CRL *crl;

	if (len > INT_MAX)
		return NULL;
	crl = memo_get(&crl_memo, s, len);
	if (crl)
		return crl;
	if (len >= 10 && !strncmp(s, "-----BEGIN", 10)) {
		BIO *bio = BIO_new_mem_buf(s, (int)len);

		if (bio)
			crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else if (len % 2 == 0 && len > 0) {
		uint8_t *der = malloc(len / 2);
		const uint8_t *p = der;

		if (der && dp_unhex_exact(s, der, len / 2) == 0)
			crl = d2i_X509_CRL(NULL, &p, (long)(len / 2));
		if (crl && p != der + len / 2) {
			X509_CRL_free(crl);
			crl = NULL;
		}
		free(der);
	}
	if (crl)
		memo_put(&crl_memo, crl, s, len);
	ERR_clear_error();
	return crl;
}

static int get_date(json_object *o, const char *key, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	return dp_parse_rfc3339(json_object_get_string(v), out);
}

/* One signed document: the JSON text, its signature and issuer chain. */
static int load_signed(json_object *root, const char *doc_key,
		       const char *sig_key, const char *chain_key,
		       const char **str, size_t *slen, json_object **doc,
		       uint8_t sig[64], STACK_OF(X509) **chain,
		       int64_t *issue, int64_t *next, struct dp_intern *known,
		       const char *same_str, STACK_OF(X509) *same,
		       char *err, size_t errlen)
{
	const char *s;
	size_t n;
	char sub[160];

	*str = get_str(root, doc_key, slen, err, errlen);
	if (!*str)
		return -1;
	*doc = parse_json(*str, *slen);
	if (!*doc || !json_object_is_type(*doc, json_type_object)) {
		dp_fmt_err(err, errlen, "collateral: \"%s\" is not a JSON object",
		       doc_key);
		return -1;
	}
	if (get_date(*doc, "issueDate", issue) ||
	    get_date(*doc, "nextUpdate", next)) {
		dp_fmt_err(err, errlen,
		       "collateral: \"%s\" lacks a valid issueDate/nextUpdate",
		       doc_key);
		return -1;
	}
	s = get_str(root, sig_key, NULL, err, errlen);
	if (!s)
		return -1;
	if (dp_unhex_exact(s, sig, 64)) {
		dp_fmt_err(err, errlen,
		       "collateral: \"%s\" is not 64 bytes of hex", sig_key);
		return -1;
	}
	s = get_str(root, chain_key, &n, err, errlen);
	if (!s)
		return -1;
	if (same_str && same && n == strlen(same_str) && !memcmp(s, same_str, n)) {
		/* byte-identical to a chain parsed already: share it */
		int i;

		*chain = sk_X509_dup(same);
		for (i = 0; *chain && i < sk_X509_num(*chain); i++)
			X509_up_ref(sk_X509_value(*chain, i));
		if (!*chain) {
			dp_fmt_err(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	*chain = dp_pem_chain((const uint8_t *)s, n, known, sub, sizeof(sub));
	if (!*chain) {
		dp_fmt_err(err, errlen, "collateral: \"%s\": %s", chain_key, sub);
		return -1;
	}
	intern_chain(known, *chain);
	return 0;
}

void dp_collateral_free(struct dp_collateral *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < DP_PCK_CACHE; i++)
		X509_free(c->pck[i].leaf);
	if (c->lock_ok)
		pthread_mutex_destroy(&c->lock);
	dp_intern_free(&c->known);
	json_object_put(c->tcb_info);
	json_object_put(c->qe_id);
	json_object_put(c->root);
	sk_X509_pop_free(c->tcb_chain, X509_free);
	sk_X509_pop_free(c->qe_chain, X509_free);
	sk_X509_pop_free(c->pck_crl_chain, X509_free);
	X509_CRL_free(c->root_crl);
	X509_CRL_free(c->pck_crl);
	free(c);
}

struct dp_collateral *dp_collateral_load(const char *json, size_t len,
					 char *err, size_t errlen)
{
	struct dp_collateral *c;
	const char *s;
	size_t n;
	char sub[160];

	if (err && errlen)
		err[0] = '\0';
	if (!json || len == 0 || len > DP_COLLATERAL_MAX) {
		dp_fmt_err(err, errlen, "collateral: empty or larger than %u bytes",
		       DP_COLLATERAL_MAX);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		dp_fmt_err(err, errlen, "out of memory");
		return NULL;
	}
	if (pthread_mutex_init(&c->lock, NULL)) {
		dp_fmt_err(err, errlen, "cannot create a mutex");
		free(c);
		return NULL;
	}
	c->lock_ok = 1;
	if (dp_intel_root())
		dp_intern_add(&c->known, dp_intel_root(), dp_intel_sgx_root_ca_der,
			      (int)dp_intel_sgx_root_ca_der_len);
	c->root = parse_json(json, len);
	if (!c->root || !json_object_is_type(c->root, json_type_object)) {
		dp_fmt_err(err, errlen, "collateral: not a JSON object");
		goto fail;
	}
	if (load_signed(c->root, "tcb_info", "tcb_info_signature",
			"tcb_info_issuer_chain", &c->tcb_info_str,
			&c->tcb_info_len, &c->tcb_info, c->tcb_info_sig,
			&c->tcb_chain, &c->tcb_issue, &c->tcb_next, &c->known,
			NULL, NULL, err, errlen))
		goto fail;
	if (load_signed(c->root, "qe_identity", "qe_identity_signature",
			"qe_identity_issuer_chain", &c->qe_id_str,
			&c->qe_id_len, &c->qe_id, c->qe_id_sig, &c->qe_chain,
			&c->qe_issue, &c->qe_next, &c->known,
			get_str(c->root, "tcb_info_issuer_chain", NULL, NULL, 0),
			c->tcb_chain, err, errlen))
		goto fail;
	{
		const char *a = get_str(c->root, "tcb_info_issuer_chain", NULL,
					NULL, 0);
		const char *b = get_str(c->root, "qe_identity_issuer_chain",
					NULL, NULL, 0);

		c->qe_chain_is_tcb_chain = a && b && !strcmp(a, b);
	}

	s = get_str(c->root, "pck_crl_issuer_chain", &n, err, errlen);
	if (!s)
		goto fail;
	c->pck_crl_chain = dp_pem_chain((const uint8_t *)s, n, &c->known, sub,
					sizeof(sub));
	if (!c->pck_crl_chain) {
		dp_fmt_err(err, errlen, "collateral: \"pck_crl_issuer_chain\": %s",
		       sub);
		goto fail;
	}
	intern_chain(&c->known, c->pck_crl_chain);
	s = get_str(c->root, "root_ca_crl", &n, err, errlen);
	if (!s)
		goto fail;
	c->root_crl = load_crl(s, n);
	if (!c->root_crl) {
		dp_fmt_err(err, errlen,
		       "collateral: \"root_ca_crl\" is not a DER (hex) or PEM CRL");
		goto fail;
	}
	s = get_str(c->root, "pck_crl", &n, err, errlen);
	if (!s)
		goto fail;
	c->pck_crl = load_crl(s, n);
	if (!c->pck_crl) {
		dp_fmt_err(err, errlen,
		       "collateral: \"pck_crl\" is not a DER (hex) or PEM CRL");
		goto fail;
	}
	return c;
fail:
	dp_collateral_free(c);
	return NULL;
}

struct dp_collateral *dp_collateral_load_file(const char *path, char *err,
					      size_t errlen)
{
	struct dp_collateral *c;
	FILE *f;
	char *buf;
	size_t n;
	long sz;

	f = fopen(path, "rb");
	if (!f) {
		dp_fmt_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		dp_fmt_err(err, errlen, "%s: cannot determine size", path);
		fclose(f);
		return NULL;
	}
	if (sz == 0 || (unsigned long)sz > DP_COLLATERAL_MAX) {
		dp_fmt_err(err, errlen, "%s: empty or larger than %u bytes", path,
		       DP_COLLATERAL_MAX);
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)sz);
	if (!buf) {
		dp_fmt_err(err, errlen, "out of memory");
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, (size_t)sz, f);
	fclose(f);
	if (n != (size_t)sz) {
		dp_fmt_err(err, errlen, "%s: short read", path);
		free(buf);
		return NULL;
	}
	c = dp_collateral_load(buf, n, err, errlen);
	free(buf);
	return c;
}
