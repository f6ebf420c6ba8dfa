// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod-qgs-sim: a simulated Intel QGS.  DEVELOPMENT AND TESTING ONLY.
 *
 * It speaks Intel's QGS message protocol (user/lib/node/qgs.h) on a unix socket
 * and/or vsock, checks each TDREPORT's MAC through /dev/dstack-pod
 * (VERIFYREPORT) and the TDINFO/TEE_TCB_INFO hashes the MAC covers, and
 * signs a DCAP quote v4 laid out as Intel's TD quoting enclave lays it out.
 * Every key and certificate is generated locally at first start into the
 * --state directory, under a simulated root CA: the quotes verify only when
 * that root is passed explicitly (Documentation/quotes.rst).
 *
 *   dstack-pod-qgs-sim --state DIR [--unix PATH] [--vsock-port N] [--once]
 *                      [--collateral OUT.json] [--no-verify-report]
 *   dstack-pod-qgs-sim --client ADDR --report TDREPORT --out QUOTE
 *                      [--timeout MS] [--conf FILE]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "node/dstackpod.h"
#include "node/qgs.h"
#include "verify/quote.h"

#define PROG "dstack-pod-qgs-sim"

/* Intel's QE vendor ID: 939a7233-f79c-4ca9-940a-0db3957f0607. */
static const uint8_t intel_qe_vendor_id[16] = {
	0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
	0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
};

/* The simulated platform, as its PCK certificate and TCB info describe it. */
static const uint8_t sim_fmspc[6] = { 'D', 'P', 'S', 'I', 'M', 0 };
static const uint8_t sim_pceid[2] = { 0, 0 };
static const uint8_t sim_comp[16] = { 3, 3, 2, 2, 4, 1, 0, 5 };
#define SIM_PCESVN		13
/* TDX components of TCB info: the sim backend's tee_tcb_svn (kmod/sim.c). */
static const uint8_t sim_tdx_comp[16] = { 1, 0, 1 };

/* The simulated TD quoting enclave. */
#define SIM_QE_ISVPRODID	2
#define SIM_QE_ISVSVN		4
#define SIM_QE_MRSIGNER_SEED	"dstack-pod qgs-sim: simulated TD QE signer, NOT Intel"
#define SIM_QE_MRENCLAVE_SEED	"dstack-pod qgs-sim: simulated TD QE enclave, NOT Intel"

#define SGX_EXT_OID		"1.2.840.113741.1.13.1"
#define SIM_ORG			"dstack-pod SIMULATED -- NOT Intel, NOT FOR PRODUCTION"

#define CERT_DAYS		(5 * 365)
#define COLLATERAL_DAYS		30
#define CONN_TIMEOUT_MS		10000

/* TDREPORT_STRUCT and TEE_TCB_INFO offsets. */
#define TCB_INFO		DP_TDREPORT_TEE_TCB_INFO
#define TCB_SVN			(TCB_INFO + 8)
#define TCB_MRSEAM		(TCB_INFO + 24)
#define TCB_MRSIGNERSEAM	(TCB_INFO + 72)
#define TCB_ATTRIBUTES		(TCB_INFO + 120)

/* Quote v4 offsets. */
#define Q_BODY			DP_QUOTE_HEADER_LEN
#define Q_SIGNED_LEN		(DP_QUOTE_HEADER_LEN + DP_TD10_BODY_LEN)

struct sim {
	const char *state;
	EVP_PKEY *root_key, *ca_key, *pck_key, *tcb_key, *att_key;
	X509 *root, *ca, *pck, *tcb;
	char *pck_chain;		/* PEM leaf, CA, root */
	size_t pck_chain_len;
	uint8_t att_xy[64];
	uint8_t qe_report[DP_SGX_REPORT_LEN];
	uint8_t qe_report_sig[64];
	uint8_t qe_auth[32];
	uint8_t user_data[20];
	int verify_report;
	struct dp_dev dev;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void ssl_fail(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	logmsg("%s failed%s%s", what, e ? ": " : "", buf);
	ERR_clear_error();
}

/* ---- small crypto helpers ---------------------------------------------- */

static int sha256(const void *a, size_t al, const void *b, size_t bl,
		  uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, a, al) == 1 &&
		 (!bl || EVP_DigestUpdate(md, b, bl) == 1) &&
		 EVP_DigestFinal_ex(md, out, NULL) == 1;

	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/* ECDSA-P256/SHA-256 over msg as raw r || s (32 bytes each, big-endian). */
static int sign_raw(EVP_PKEY *key, const void *msg, size_t len, uint8_t out[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80];
	const unsigned char *p = der;
	size_t dl = sizeof(der);
	ECDSA_SIG *sig = NULL;
	int rc = -1;

	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &dl, msg, len) != 1)
		goto out;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	if (!sig ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32) != 32)
		goto out;
	rc = 0;
out:
	if (rc)
		ssl_fail("ECDSA signature");
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	return rc;
}

static int pubkey_xy(EVP_PKEY *key, uint8_t out[64])
{
	uint8_t pt[65];
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", pt,
					    sizeof(pt), &n) != 1 ||
	    n != 65 || pt[0] != 0x04) {
		ssl_fail("P-256 public key");
		return -1;
	}
	memcpy(out, pt + 1, 64);
	return 0;
}

/* ---- DER for the PCK certificate's SGX extension ------------------------- */

struct der {
	uint8_t b[1024];
	size_t n;
	int err;
};

static void der_put(struct der *d, const void *p, size_t n)
{
	if (d->err || n > sizeof(d->b) - d->n) {
		d->err = 1;
		return;
	}
	memcpy(d->b + d->n, p, n);
	d->n += n;
}

static void der_tlv(struct der *d, uint8_t tag, const void *p, size_t n)
{
	uint8_t h[4];
	size_t hl;

	h[0] = tag;
	if (n < 0x80) {
		h[1] = (uint8_t)n;
		hl = 2;
	} else if (n < 0x100) {
		h[1] = 0x81;
		h[2] = (uint8_t)n;
		hl = 3;
	} else {
		h[1] = 0x82;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	}
	der_put(d, h, hl);
	der_put(d, p, n);
}

static void der_oid(struct der *d, const char *txt)
{
	ASN1_OBJECT *o = OBJ_txt2obj(txt, 1);
	unsigned char *p = NULL;
	int n = o ? i2d_ASN1_OBJECT(o, &p) : -1;

	if (n <= 0)
		d->err = 1;
	else
		der_put(d, p, (size_t)n);
	OPENSSL_free(p);
	ASN1_OBJECT_free(o);
}

/* SEQUENCE { OID, value } where value is tag/content. */
static void der_kv(struct der *d, const char *oid, uint8_t tag,
		   const void *p, size_t n)
{
	struct der kv = { .n = 0 };

	der_oid(&kv, oid);
	der_tlv(&kv, tag, p, n);
	if (kv.err)
		d->err = 1;
	der_tlv(d, 0x30, kv.b, kv.n);
}

static void der_kv_uint(struct der *d, const char *oid, uint8_t tag,
			unsigned int v)
{
	uint8_t b[3];
	size_t n = 0;

	/* Minimal two's complement encoding of a value below 2^16. */
	if (v > 0x7fff)
		b[n++] = 0;
	if (v > 0x7f)
		b[n++] = (uint8_t)(v >> 8);
	b[n++] = (uint8_t)v;
	der_kv(d, oid, tag, b, n);
}

/*
 * The SGX extension (1.2.840.113741.1.13.1) of a PCK certificate:
 * PPID, TCB (16 components, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX type.
 */
static X509_EXTENSION *sgx_extension(const uint8_t ppid[16])
{
	struct der tcb = { .n = 0 }, ext = { .n = 0 }, seq = { .n = 0 };
	ASN1_OBJECT *oid;
	ASN1_OCTET_STRING *os;
	X509_EXTENSION *x = NULL;
	char name[64];
	int i;

	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), SGX_EXT_OID ".2.%d", i + 1);
		der_kv_uint(&tcb, name, 0x02, sim_comp[i]);
	}
	der_kv_uint(&tcb, SGX_EXT_OID ".2.17", 0x02, SIM_PCESVN);
	der_kv(&tcb, SGX_EXT_OID ".2.18", 0x04, sim_comp, 16);

	der_kv(&ext, SGX_EXT_OID ".1", 0x04, ppid, 16);
	der_kv(&ext, SGX_EXT_OID ".2", 0x30, tcb.b, tcb.n);
	der_kv(&ext, SGX_EXT_OID ".3", 0x04, sim_pceid, 2);
	der_kv(&ext, SGX_EXT_OID ".4", 0x04, sim_fmspc, 6);
	der_kv_uint(&ext, SGX_EXT_OID ".5", 0x0a, 0);	/* Standard */
	der_tlv(&seq, 0x30, ext.b, ext.n);
	if (tcb.err || ext.err || seq.err) {
		logmsg("SGX extension: DER buffer too small");
		return NULL;
	}
	oid = OBJ_txt2obj(SGX_EXT_OID, 1);
	os = ASN1_OCTET_STRING_new();
	if (oid && os && ASN1_OCTET_STRING_set(os, seq.b, (int)seq.n))
		x = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(os);
	if (!x)
		ssl_fail("SGX extension");
	return x;
}

/* ---- the simulated PKI ------------------------------------------------- */

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer,
		       EVP_PKEY *issuer_key, int ca, int pathlen,
		       X509_EXTENSION *extra)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIGNUM *bn = BN_new();
	char bc[48];
	time_t now = time(NULL);
	int ok;

	ok = x && n && bn && X509_set_version(x, 2) &&
	     BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
	     X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) &&
	     X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
					(const unsigned char *)SIM_ORG, -1, -1, 0) &&
	     X509_set_subject_name(x, n) &&
	     X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n) &&
	     X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &now) &&
	     X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, &now) &&
	     X509_set_pubkey(x, key);
	if (ok) {
		if (ca && pathlen >= 0)
			snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", pathlen);
		else
			snprintf(bc, sizeof(bc), "critical,CA:%s", ca ? "TRUE" : "FALSE");
		ok = !add_ext(x, issuer, NID_basic_constraints, bc) &&
		     !add_ext(x, issuer, NID_key_usage,
			      ca ? "critical,keyCertSign,cRLSign" :
				   "critical,digitalSignature,nonRepudiation") &&
		     !add_ext(x, issuer, NID_subject_key_identifier, "hash") &&
		     (!issuer || !add_ext(x, issuer, NID_authority_key_identifier,
					  "keyid:always")) &&
		     (!extra || X509_add_ext(x, extra, -1)) &&
		     X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
	}
	BN_free(bn);
	X509_NAME_free(n);
	if (!ok) {
		ssl_fail(cn);
		X509_free(x);
		return NULL;
	}
	return x;
}

static int write_file(const char *dir, const char *name, const void *data,
		      size_t len, mode_t mode)
{
	char path[4096], tmp[4200];
	int fd;
	ssize_t w;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		logmsg("%s: %s", tmp, strerror(errno));
		return -1;
	}
	w = write(fd, data, len);
	if (w != (ssize_t)len || fsync(fd) || close(fd)) {
		logmsg("%s: write failed", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path)) {
		logmsg("%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int save_key(const char *dir, const char *name, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc = -1;

	if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
		n = BIO_get_mem_data(b, &data);
		rc = write_file(dir, name, data, (size_t)n, 0600);
	} else {
		ssl_fail(name);
	}
	BIO_free(b);
	return rc;
}

static int save_cert(const char *dir, const char *name, X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc = -1;

	if (b && PEM_write_bio_X509(b, x)) {
		n = BIO_get_mem_data(b, &data);
		rc = write_file(dir, name, data, (size_t)n, 0644);
	} else {
		ssl_fail(name);
	}
	BIO_free(b);
	return rc;
}

/* Open dir/name for reading; path receives the name for messages. */
static FILE *open_state(const char *dir, const char *name, char *path,
			size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		logmsg("%s: %s", path, strerror(errno));
	return f;
}

static EVP_PKEY *load_key(const char *dir, const char *name)
{
	char path[4096];
	FILE *f = open_state(dir, name, path, sizeof(path));
	EVP_PKEY *k;

	if (!f)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k || EVP_PKEY_get_bits(k) != 256 || !EVP_PKEY_is_a(k, "EC")) {
		logmsg("%s: not a P-256 private key", path);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

static X509 *load_cert(const char *dir, const char *name)
{
	char path[4096];
	FILE *f = open_state(dir, name, path, sizeof(path));
	X509 *x;

	if (!f)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		logmsg("%s: not a PEM certificate", path);
	return x;
}

static int generate_state(struct sim *s)
{
	uint8_t ppid[16];
	X509_EXTENSION *sgx;

	logmsg("generating a simulated root CA, PCK chain and attestation key in %s",
	       s->state);
	s->root_key = EVP_EC_gen("P-256");
	s->ca_key = EVP_EC_gen("P-256");
	s->pck_key = EVP_EC_gen("P-256");
	s->tcb_key = EVP_EC_gen("P-256");
	s->att_key = EVP_EC_gen("P-256");
	if (!s->root_key || !s->ca_key || !s->pck_key || !s->tcb_key ||
	    !s->att_key || RAND_bytes(ppid, sizeof(ppid)) != 1) {
		ssl_fail("key generation");
		return -1;
	}
	s->root = make_cert("dstack-pod SIMULATED SGX Root CA", s->root_key,
			    NULL, NULL, 1, 1, NULL);
	if (!s->root)
		return -1;
	s->ca = make_cert("dstack-pod SIMULATED SGX PCK Platform CA",
			  s->ca_key, s->root, s->root_key, 1, 0, NULL);
	s->tcb = make_cert("dstack-pod SIMULATED SGX TCB Signing", s->tcb_key,
			   s->root, s->root_key, 0, -1, NULL);
	sgx = sgx_extension(ppid);
	if (!s->ca || !s->tcb || !sgx) {
		X509_EXTENSION_free(sgx);
		return -1;
	}
	s->pck = make_cert("dstack-pod SIMULATED SGX PCK Certificate",
			   s->pck_key, s->ca, s->ca_key, 0, -1, sgx);
	X509_EXTENSION_free(sgx);
	if (!s->pck)
		return -1;
	/* Certificates first, keys last: root.pem marks a complete state. */
	if (save_key(s->state, "root.key", s->root_key) ||
	    save_key(s->state, "pck-ca.key", s->ca_key) ||
	    save_key(s->state, "pck.key", s->pck_key) ||
	    save_key(s->state, "tcb-signing.key", s->tcb_key) ||
	    save_key(s->state, "attestation.key", s->att_key) ||
	    save_cert(s->state, "pck-ca.pem", s->ca) ||
	    save_cert(s->state, "pck.pem", s->pck) ||
	    save_cert(s->state, "tcb-signing.pem", s->tcb) ||
	    save_cert(s->state, "root.pem", s->root))
		return -1;
	return 0;
}

static int load_state(struct sim *s)
{
	s->root_key = load_key(s->state, "root.key");
	s->ca_key = load_key(s->state, "pck-ca.key");
	s->pck_key = load_key(s->state, "pck.key");
	s->tcb_key = load_key(s->state, "tcb-signing.key");
	s->att_key = load_key(s->state, "attestation.key");
	s->root = load_cert(s->state, "root.pem");
	s->ca = load_cert(s->state, "pck-ca.pem");
	s->pck = load_cert(s->state, "pck.pem");
	s->tcb = load_cert(s->state, "tcb-signing.pem");
	if (!s->root_key || !s->ca_key || !s->pck_key || !s->tcb_key ||
	    !s->att_key || !s->root || !s->ca || !s->pck || !s->tcb)
		return -1;
	if (X509_check_private_key(s->root, s->root_key) != 1 ||
	    X509_check_private_key(s->ca, s->ca_key) != 1 ||
	    X509_check_private_key(s->pck, s->pck_key) != 1 ||
	    X509_check_private_key(s->tcb, s->tcb_key) != 1) {
		ERR_clear_error();
		logmsg("%s: a certificate does not match its key; remove the directory to start over",
		       s->state);
		return -1;
	}
	return 0;
}

static char *pem_chain(X509 *a, X509 *b, X509 *c, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (bio && PEM_write_bio_X509(bio, a) && (!b || PEM_write_bio_X509(bio, b)) &&
	    (!c || PEM_write_bio_X509(bio, c))) {
		n = BIO_get_mem_data(bio, &data);
		out = malloc((size_t)n + 1);
		if (out) {
			memcpy(out, data, (size_t)n);
			out[n] = '\0';
			if (len)
				*len = (size_t)n;
		}
	}
	BIO_free(bio);
	return out;
}

/*
 * The QE report certifies the attestation key, as the quoting enclave's
 * report does: report_data = SHA-256(attestation key || QE auth data),
 * upper half zero, signed by the PCK key.  It does not depend on the TD.
 */
static int make_qe_report(struct sim *s)
{
	uint8_t *r = s->qe_report, h[32], *der = NULL;
	int i, n;

	memset(r, 0, DP_SGX_REPORT_LEN);
	memcpy(r, sim_comp, 16);			/* cpusvn */
	/* miscselect @16 = 0 */
	r[48] = 0x11;					/* INIT | MODE64BIT */
	r[56] = 0xe7;					/* xfrm */
	if (sha256(SIM_QE_MRENCLAVE_SEED, strlen(SIM_QE_MRENCLAVE_SEED), NULL, 0,
		   r + 64) ||
	    sha256(SIM_QE_MRSIGNER_SEED, strlen(SIM_QE_MRSIGNER_SEED), NULL, 0,
		   r + 128))
		return -1;
	r[256] = SIM_QE_ISVPRODID;
	r[258] = SIM_QE_ISVSVN;
	for (i = 0; i < 32; i++)
		s->qe_auth[i] = (uint8_t)i;	/* as Intel's QE: 00 01 .. 1f */
	if (pubkey_xy(s->att_key, s->att_xy) ||
	    sha256(s->att_xy, 64, s->qe_auth, sizeof(s->qe_auth), h))
		return -1;
	memcpy(r + 320, h, 32);
	if (sign_raw(s->pck_key, r, DP_SGX_REPORT_LEN, s->qe_report_sig))
		return -1;
	/* user_data: a platform QE ID, here derived from the PCK certificate. */
	n = i2d_X509(s->pck, &der);
	if (n <= 0 || sha256(der, (size_t)n, NULL, 0, h)) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	memcpy(s->user_data, h, 16);
	return 0;
}

static int sim_init(struct sim *s)
{
	char path[4096];
	struct stat st;
	int lock, rc;

	if (mkdir(s->state, 0700) && errno != EEXIST) {
		logmsg("%s: %s", s->state, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/lock", s->state);
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX)) {
		logmsg("%s: %s", path, strerror(errno));
		if (lock >= 0)
			close(lock);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/root.pem", s->state);
	if (stat(path, &st) == 0)
		rc = load_state(s);
	else
		rc = generate_state(s);
	close(lock);
	if (rc)
		return -1;
	s->pck_chain = pem_chain(s->pck, s->ca, s->root, &s->pck_chain_len);
	if (!s->pck_chain || make_qe_report(s))
		return -1;
	return 0;
}

static void sim_free(struct sim *s)
{
	EVP_PKEY_free(s->root_key);
	EVP_PKEY_free(s->ca_key);
	EVP_PKEY_free(s->pck_key);
	EVP_PKEY_free(s->tcb_key);
	EVP_PKEY_free(s->att_key);
	X509_free(s->root);
	X509_free(s->ca);
	X509_free(s->pck);
	X509_free(s->tcb);
	free(s->pck_chain);
	if (s->dev.fd >= 0)
		dp_close(&s->dev);
}

/* ---- collateral -------------------------------------------------------- */

static void rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void hex_upper(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static json_object *svn_array(const uint8_t svn[16])
{
	json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < 16; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "svn", json_object_new_int(svn[i]));
		json_object_array_add(a, c);
	}
	return a;
}

static json_object *tcb_level(const uint8_t sgx[16], int pcesvn,
			      const uint8_t tdx[16], const char *date,
			      const char *status)
{
	json_object *l = json_object_new_object(), *t = json_object_new_object();

	json_object_object_add(t, "sgxtcbcomponents", svn_array(sgx));
	json_object_object_add(t, "pcesvn", json_object_new_int(pcesvn));
	json_object_object_add(t, "tdxtcbcomponents", svn_array(tdx));
	json_object_object_add(l, "tcb", t);
	json_object_object_add(l, "tcbDate", json_object_new_string(date));
	json_object_object_add(l, "tcbStatus", json_object_new_string(status));
	return l;
}

static char *tcb_info_json(const char *issue, const char *next)
{
	static const uint8_t zero[48];
	json_object *o = json_object_new_object(), *mod, *levels;
	char hex[97];
	char *s;

	json_object_object_add(o, "id", json_object_new_string("TDX"));
	json_object_object_add(o, "version", json_object_new_int(3));
	json_object_object_add(o, "issueDate", json_object_new_string(issue));
	json_object_object_add(o, "nextUpdate", json_object_new_string(next));
	hex_upper(sim_fmspc, 6, hex);
	json_object_object_add(o, "fmspc", json_object_new_string(hex));
	hex_upper(sim_pceid, 2, hex);
	json_object_object_add(o, "pceId", json_object_new_string(hex));
	json_object_object_add(o, "tcbType", json_object_new_int(0));
	json_object_object_add(o, "tcbEvaluationDataNumber", json_object_new_int(1));
	mod = json_object_new_object();
	/* The sim backend's MRSIGNERSEAM and SEAM attributes are zero. */
	hex_upper(zero, 48, hex);
	json_object_object_add(mod, "mrsigner", json_object_new_string(hex));
	json_object_object_add(mod, "attributes",
			       json_object_new_string("0000000000000000"));
	json_object_object_add(mod, "attributesMask",
			       json_object_new_string("FFFFFFFFFFFFFFFF"));
	json_object_object_add(o, "tdxModule", mod);
	levels = json_object_new_array();
	json_object_array_add(levels, tcb_level(sim_comp, SIM_PCESVN,
						sim_tdx_comp, issue, "UpToDate"));
	json_object_array_add(levels, tcb_level(zero, 0, zero, issue, "OutOfDate"));
	json_object_object_add(o, "tcbLevels", levels);
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static char *qe_identity_json(const struct sim *s, const char *issue,
			      const char *next)
{
	json_object *o = json_object_new_object(), *levels, *l, *t;
	char hex[65];
	char *out;

	json_object_object_add(o, "id", json_object_new_string("TD_QE"));
	json_object_object_add(o, "version", json_object_new_int(2));
	json_object_object_add(o, "issueDate", json_object_new_string(issue));
	json_object_object_add(o, "nextUpdate", json_object_new_string(next));
	json_object_object_add(o, "tcbEvaluationDataNumber", json_object_new_int(1));
	json_object_object_add(o, "miscselect", json_object_new_string("00000000"));
	json_object_object_add(o, "miscselectMask", json_object_new_string("FFFFFFFF"));
	json_object_object_add(o, "attributes",
			       json_object_new_string("11000000000000000000000000000000"));
	json_object_object_add(o, "attributesMask",
			       json_object_new_string("FBFFFFFFFFFFFFFF0000000000000000"));
	hex_upper(s->qe_report + 128, 32, hex);
	json_object_object_add(o, "mrsigner", json_object_new_string(hex));
	json_object_object_add(o, "isvprodid", json_object_new_int(SIM_QE_ISVPRODID));
	levels = json_object_new_array();
	l = json_object_new_object();
	t = json_object_new_object();
	json_object_object_add(t, "isvsvn", json_object_new_int(SIM_QE_ISVSVN));
	json_object_object_add(l, "tcb", t);
	json_object_object_add(l, "tcbDate", json_object_new_string(issue));
	json_object_object_add(l, "tcbStatus", json_object_new_string("UpToDate"));
	json_object_array_add(levels, l);
	json_object_object_add(o, "tcbLevels", levels);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* An empty CRL by issuer, valid from..until, as lower-case hex DER. */
static char *crl_hex(X509 *issuer, EVP_PKEY *key, time_t from, time_t until)
{
	X509_CRL *c = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	unsigned char *der = NULL;
	char *hex = NULL;
	int n = -1;

	if (c && t && X509_CRL_set_version(c, 1) &&
	    X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer)) &&
	    ASN1_TIME_set(t, from) && X509_CRL_set1_lastUpdate(c, t) &&
	    ASN1_TIME_set(t, until) && X509_CRL_set1_nextUpdate(c, t) &&
	    X509_CRL_sign(c, key, EVP_sha256()) > 0)
		n = i2d_X509_CRL(c, &der);
	if (n > 0) {
		hex = malloc(2 * (size_t)n + 1);
		if (hex)
			dp_hex(der, (size_t)n, hex);
	} else {
		ssl_fail("CRL");
	}
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	X509_CRL_free(c);
	return hex;
}

static int add_signed(json_object *o, const char *key, const char *sigkey,
		      const char *doc, EVP_PKEY *signer)
{
	uint8_t sig[64];
	char hex[129];

	if (!doc || sign_raw(signer, doc, strlen(doc), sig))
		return -1;
	dp_hex(sig, 64, hex);
	json_object_object_add(o, key, json_object_new_string(doc));
	json_object_object_add(o, sigkey, json_object_new_string(hex));
	return 0;
}

static int write_collateral(const struct sim *s, const char *path)
{
	time_t now = time(NULL), from = now - 3600,
	       until = now + COLLATERAL_DAYS * 86400;
	char issue[32], next[32], *tcb_info, *qe_id, *chain, *rcrl, *pcrl;
	json_object *o = json_object_new_object();
	const char *text;
	FILE *f;
	int rc = -1;

	rfc3339(from, issue, sizeof(issue));
	rfc3339(until, next, sizeof(next));
	tcb_info = tcb_info_json(issue, next);
	qe_id = qe_identity_json(s, issue, next);
	rcrl = crl_hex(s->root, s->root_key, from, until);
	pcrl = crl_hex(s->ca, s->ca_key, from, until);
	if (!rcrl || !pcrl ||
	    add_signed(o, "tcb_info", "tcb_info_signature", tcb_info, s->tcb_key) ||
	    add_signed(o, "qe_identity", "qe_identity_signature", qe_id, s->tcb_key))
		goto out;
	chain = pem_chain(s->tcb, s->root, NULL, NULL);
	if (!chain)
		goto out;
	json_object_object_add(o, "tcb_info_issuer_chain", json_object_new_string(chain));
	json_object_object_add(o, "qe_identity_issuer_chain", json_object_new_string(chain));
	free(chain);
	chain = pem_chain(s->ca, s->root, NULL, NULL);
	if (!chain)
		goto out;
	json_object_object_add(o, "pck_crl_issuer_chain", json_object_new_string(chain));
	free(chain);
	json_object_object_add(o, "root_ca_crl", json_object_new_string(rcrl));
	json_object_object_add(o, "pck_crl", json_object_new_string(pcrl));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	f = strcmp(path, "-") ? fopen(path, "we") : stdout;
	if (!f) {
		logmsg("%s: %s", path, strerror(errno));
		goto out;
	}
	fprintf(f, "%s\n", text);
	if (f != stdout ? fclose(f) : fflush(f)) {
		logmsg("%s: write failed", path);
		goto out;
	}
	logmsg("collateral valid %s .. %s written to %s", issue, next, path);
	rc = 0;
out:
	json_object_put(o);
	free(tcb_info);
	free(qe_id);
	free(rcrl);
	free(pcrl);
	return rc;
}

/* ---- quotes ------------------------------------------------------------ */

/*
 * Check a TDREPORT as the quoting enclave does before it signs: a TDX
 * report (type 0x81, subtype 0), a MAC the CPU (here: the module)
 * accepts, and TEE_TCB_INFO and TDINFO matching the hashes the MAC covers.
 * 0 or -1 with a reason in why.
 */
static int check_report(struct sim *s, const uint8_t *rep, char *why,
			size_t whylen)
{
	uint8_t h[48];

	if (rep[0] != 0x81 || rep[1] != 0 || rep[2] > 1) {
		snprintf(why, whylen, "not a TDX TDREPORT (type %02x, subtype %02x, version %02x)",
			 rep[0], rep[1], rep[2]);
		return -1;
	}
	if (s->verify_report && dp_verify_report(&s->dev, rep) < 0) {
		snprintf(why, whylen, "%s", dp_errmsg());
		return -1;
	}
	if (dp_sha384(rep + DP_TDREPORT_TEE_TCB_INFO, DP_TDREPORT_TEE_TCB_INFO_LEN, h) ||
	    memcmp(h, rep + DP_TDREPORT_TCB_INFO_HASH, 48)) {
		snprintf(why, whylen, "TEE_TCB_INFO does not match tee_tcb_info_hash");
		return -1;
	}
	if (dp_sha384(rep + DP_TDREPORT_TDINFO, DP_TDREPORT_TDINFO_LEN, h) ||
	    memcmp(h, rep + DP_TDREPORT_TD_INFO_HASH, 48)) {
		snprintf(why, whylen, "TDINFO does not match tee_info_hash");
		return -1;
	}
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32le(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/* A quote v4 over a checked TDREPORT, in a malloc'd buffer. */
static uint8_t *make_quote(const struct sim *s, const uint8_t *rep, size_t *len)
{
	size_t cert_len = DP_SGX_REPORT_LEN + 64 + 2 + sizeof(s->qe_auth) + 2 +
			  4 + s->pck_chain_len;
	size_t sig_len = 64 + 64 + 2 + 4 + cert_len;
	size_t n = Q_SIGNED_LEN + 4 + sig_len;
	uint8_t *q = calloc(1, n), *b, *p;

	if (!q)
		return NULL;
	/* header */
	put16(q, 4);
	put16(q + 2, DP_ATT_KEY_ECDSA_P256);
	put32le(q + 4, DP_TEE_TYPE_TDX);
	memcpy(q + 12, intel_qe_vendor_id, 16);
	memcpy(q + 28, s->user_data, 20);
	/* TD 1.0 report body, from the TDREPORT */
	b = q + Q_BODY;
	memcpy(b + 0, rep + TCB_SVN, 16);
	memcpy(b + 16, rep + TCB_MRSEAM, 48);
	memcpy(b + 64, rep + TCB_MRSIGNERSEAM, 48);
	memcpy(b + 112, rep + TCB_ATTRIBUTES, 8);
	/* td attributes, xfam, mrtd, mrconfigid, mrowner, mrownerconfig, rtmr0-3 */
	memcpy(b + 120, rep + DP_TDREPORT_TDINFO, 8 + 8 + 48 * 8);
	memcpy(b + 520, rep + DP_TDREPORT_REPORTDATA, 64);
	/* signature data */
	p = q + Q_SIGNED_LEN;
	put32le(p, (uint32_t)sig_len);
	p += 4;
	if (sign_raw(s->att_key, q, Q_SIGNED_LEN, p)) {
		free(q);
		return NULL;
	}
	memcpy(p + 64, s->att_xy, 64);
	p += 128;
	put16(p, DP_CERT_TYPE_QE_REPORT);
	put32le(p + 2, (uint32_t)cert_len);
	p += 6;
	memcpy(p, s->qe_report, DP_SGX_REPORT_LEN);
	memcpy(p + DP_SGX_REPORT_LEN, s->qe_report_sig, 64);
	p += DP_SGX_REPORT_LEN + 64;
	put16(p, (uint16_t)sizeof(s->qe_auth));
	memcpy(p + 2, s->qe_auth, sizeof(s->qe_auth));
	p += 2 + sizeof(s->qe_auth);
	put16(p, DP_CERT_TYPE_PCK_CHAIN);
	put32le(p + 2, (uint32_t)s->pck_chain_len);
	memcpy(p + 6, s->pck_chain, s->pck_chain_len);
	*len = n;
	return q;
}

/* ---- server ------------------------------------------------------------ */

/* Serve one connection: 1 if a quote was issued, 0 if not. */
static int serve(struct sim *s, int fd)
{
	int64_t deadline = dp_qgs_deadline(CONN_TIMEOUT_MS);
	uint8_t *req = NULL, *resp = NULL, *quote = NULL;
	size_t rlen, resplen, qlen = 0;
	const uint8_t *rep;
	uint32_t code = DP_QGS_SUCCESS;
	char why[600], rd[17];
	int issued = 0;

	if (dp_qgs_recv(fd, DP_QGS_MAX_REQ, &req, &rlen, deadline)) {
		logmsg("request dropped: %s", dp_errmsg());
		return 0;
	}
	if (dp_qgs_decode_req(req, rlen, &rep, &code)) {
		logmsg("request refused (error 0x%08x): %s", code, dp_errmsg());
	} else if (check_report(s, rep, why, sizeof(why))) {
		code = DP_QGS_ERR_INVALID_PARAMETER;
		logmsg("TDREPORT refused (error 0x%08x): %s", code, why);
	} else {
		quote = make_quote(s, rep, &qlen);
		if (!quote) {
			code = DP_QGS_ERR_UNEXPECTED;
			logmsg("quote generation failed");
		} else {
			dp_hex(rep + DP_TDREPORT_REPORTDATA, 8, rd);
			logmsg("quote of %zu bytes issued (report_data %s...)%s",
			       qlen, rd, s->verify_report ? "" :
			       " -- WITHOUT checking the report MAC");
		}
	}
	if (dp_qgs_encode_resp(code, quote, qlen, &resp, &resplen) == 0 &&
	    dp_qgs_send(fd, resp, resplen, deadline) == 0)
		issued = code == DP_QGS_SUCCESS;
	else
		logmsg("response not sent: %s", dp_errmsg());
	free(req);
	free(resp);
	free(quote);
	return issued;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		logmsg("unix socket path too long: %s", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);		/* a stale socket of an earlier run */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 16)) {
		logmsg("unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int listen_vsock(uint32_t port)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_ANY,
		.svm_port = port,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 16)) {
		logmsg("vsock port %u: %s%s", port, strerror(errno),
		       errno == EAFNOSUPPORT || errno == ENODEV ?
		       " (no vsock transport: modprobe vsock_loopback for tests)" : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int run_server(struct sim *s, const char *unix_path, uint32_t vport,
		      int once)
{
	struct pollfd p[2];
	struct sigaction sa;
	int n = 0, i, rc = 0, served = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (unix_path) {
		p[n].fd = listen_unix(unix_path);
		if (p[n].fd < 0)
			return 1;
		p[n++].events = POLLIN;
	}
	if (vport) {
		p[n].fd = listen_vsock(vport);
		if (p[n].fd < 0) {
			rc = 1;
			goto out;
		}
		p[n++].events = POLLIN;
	}
	printf("ready%s%s", unix_path ? " unix:" : "", unix_path ? unix_path : "");
	if (vport)
		printf(" vsock:%u", vport);
	printf("\n");
	fflush(stdout);
	while (!stop) {
		int r = poll(p, (nfds_t)n, -1);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			logmsg("poll: %s", strerror(errno));
			rc = 1;
			break;
		}
		for (i = 0; i < n; i++) {
			int c;

			if (!(p[i].revents & POLLIN))
				continue;
			c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			served = serve(s, c);
			close(c);
			if (once) {
				rc = served ? 0 : 1;
				stop = 1;
				break;
			}
		}
	}
out:
	for (i = 0; i < n; i++)
		close(p[i].fd);
	if (unix_path)
		unlink(unix_path);
	return rc;
}

/* ---- client ------------------------------------------------------------ */

static int read_all(const char *path, uint8_t *buf, size_t want)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t n;
	int extra;

	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, want, f);
	extra = fgetc(f);
	if (f != stdin)
		fclose(f);
	if (n != want || extra != EOF) {
		fprintf(stderr, PROG ": %s: want exactly %zu bytes\n", path, want);
		return -1;
	}
	return 0;
}

static int run_client(const char *addr, const char *conf, const char *in,
		      const char *out, int timeout_ms)
{
	uint8_t rep[DP_QGS_TDREPORT_LEN], *quote = NULL;
	struct dp_qgs_addr a;
	size_t len = 0;
	FILE *f;
	int err;

	if (read_all(in, rep, sizeof(rep)))
		return 1;
	if (!strcmp(addr, "default"))
		err = dp_qgs_addr_default(&a, conf);
	else
		err = dp_qgs_addr_parse(&a, addr);
	if (!err)
		err = dp_qgs_get_quote(&a, rep, &quote, &len, timeout_ms);
	if (err) {
		fprintf(stderr, PROG " --client: %s\n", dp_errmsg());
		return 1;
	}
	f = strcmp(out, "-") ? fopen(out, "wb") : stdout;
	if (!f || fwrite(quote, 1, len, f) != len ||
	    (f != stdout ? fclose(f) : fflush(f))) {
		fprintf(stderr, PROG ": %s: write failed\n", out);
		free(quote);
		return 1;
	}
	fprintf(stderr, PROG " --client: quote of %zu bytes written to %s\n",
		len, out);
	free(quote);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " --state DIR [--unix PATH] [--vsock-port N] [--once]\n"
		"           [--collateral OUT.json] [--no-verify-report]\n"
		"       " PROG " --client ADDR --report TDREPORT --out QUOTE\n"
		"           [--timeout MS] [--conf FILE]\n"
		"A simulated Intel QGS for development and tests: its quotes chain to a\n"
		"root generated in DIR (DIR/root.pem), never to Intel's.\n"
		"ADDR: vsock:PORT, vsock:CID:PORT, unix:PATH, or 'default'\n"
		"(vsock CID 2, port from /etc/tdx-attest.conf or 4050).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "unix", required_argument, NULL, 'u' },
		{ "vsock-port", required_argument, NULL, 'v' },
		{ "collateral", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, '1' },
		{ "no-verify-report", no_argument, NULL, 'N' },
		{ "client", required_argument, NULL, 'C' },
		{ "report", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "conf", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim s;
	const char *unix_path = NULL, *collateral = NULL, *client = NULL;
	const char *report = NULL, *out = NULL, *conf = NULL;
	unsigned long vport = 0;
	long lv;
	int once = 0, timeout_ms = 0, c, rc;
	char *end;

	memset(&s, 0, sizeof(s));
	s.dev.fd = -1;
	s.verify_report = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			s.state = optarg;
			break;
		case 'u':
			unix_path = optarg;
			break;
		case 'v':
			errno = 0;
			vport = strtoul(optarg, &end, 10);
			if (errno || *end || vport == 0 || vport >= VMADDR_PORT_ANY) {
				fprintf(stderr, PROG ": bad --vsock-port %s\n", optarg);
				return 2;
			}
			break;
		case 'c':
			collateral = optarg;
			break;
		case '1':
			once = 1;
			break;
		case 'N':
			s.verify_report = 0;
			break;
		case 'C':
			client = optarg;
			break;
		case 'r':
			report = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 't':
			errno = 0;
			lv = strtol(optarg, &end, 10);
			if (errno || *end || lv <= 0 || lv > 3600000) {
				fprintf(stderr, PROG ": bad --timeout %s (milliseconds)\n",
					optarg);
				return 2;
			}
			timeout_ms = (int)lv;
			break;
		case 'f':
			conf = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (client) {
		if (!report || !out) {
			fprintf(stderr, PROG ": --client needs --report and --out\n");
			return 2;
		}
		return run_client(client, conf, report, out, timeout_ms);
	}
	if (!s.state || (!unix_path && !vport && !collateral)) {
		usage(stderr);
		return 2;
	}
	logmsg("SIMULATED QGS, development and tests only: quotes chain to the root in %s/root.pem, never to Intel's",
	       s.state);
	if (sim_init(&s)) {
		sim_free(&s);
		return 1;
	}
	rc = 0;
	if (collateral && write_collateral(&s, collateral))
		rc = 1;
	if (!rc && (unix_path || vport)) {
		if (!s.verify_report) {
			logmsg("WARNING: --no-verify-report: TDREPORT MACs are NOT checked, so a forged report gets a quote. Host tests only!");
		} else if (dp_open(&s.dev)) {
			logmsg("%s (or --no-verify-report for host tests)", dp_errmsg());
			sim_free(&s);
			return 1;
		}
		rc = run_server(&s, unix_path, (uint32_t)vport, once);
	}
	sim_free(&s);
	return rc;
}
