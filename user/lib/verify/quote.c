// SPDX-License-Identifier: GPL-2.0
/*
 * TDX quote (v4, v5) parser.  Structure only; see quote.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "quote.h"

struct cursor {
	const uint8_t *buf;
	size_t len;
	size_t off;
};

/* Format an error into a caller's buffer (which may be NULL). */
void dp_fmt_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Take n bytes; NULL if fewer remain. */
static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *p;

	if (c->off > c->len || n > c->len - c->off)
		return NULL;
	p = c->buf + c->off;
	c->off += n;
	return p;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void parse_td_body(const uint8_t *p, uint16_t type, struct dp_td_report *b)
{
	memset(b, 0, sizeof(*b));
	memcpy(b->tee_tcb_svn, p + 0, 16);
	memcpy(b->mrseam, p + 16, 48);
	memcpy(b->mrsignerseam, p + 64, 48);
	memcpy(b->seam_attributes, p + 112, 8);
	memcpy(b->td_attributes, p + 120, 8);
	memcpy(b->xfam, p + 128, 8);
	memcpy(b->mrtd, p + 136, 48);
	memcpy(b->mrconfigid, p + 184, 48);
	memcpy(b->mrowner, p + 232, 48);
	memcpy(b->mrownerconfig, p + 280, 48);
	memcpy(b->rtmr[0], p + 328, 48);
	memcpy(b->rtmr[1], p + 376, 48);
	memcpy(b->rtmr[2], p + 424, 48);
	memcpy(b->rtmr[3], p + 472, 48);
	memcpy(b->report_data, p + 520, 64);
	if (type == DP_BODY_TYPE_TD15) {
		memcpy(b->tee_tcb_svn2, p + 584, 16);
		memcpy(b->mrservicetd, p + 600, 48);
	}
}

static void parse_sgx_report(const uint8_t *p, struct dp_sgx_report *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->cpusvn, p + 0, 16);
	r->miscselect = le32(p + 16);
	memcpy(r->attributes, p + 48, 16);
	memcpy(r->mrenclave, p + 64, 32);
	memcpy(r->mrsigner, p + 128, 32);
	r->isvprodid = le16(p + 256);
	r->isvsvn = le16(p + 258);
	memcpy(r->report_data, p + 320, 64);
}

#define NEED(ptr, n, what)						\
	do {								\
		(ptr) = take(c, (n));					\
		if (!(ptr)) {						\
			dp_fmt_err(err, errlen,				\
			       "truncated: %s needs %zu bytes at offset %zu, quote has %zu", \
			       (what), (size_t)(n), c->off, c->len);	\
			return DP_QUOTE_ERR_TRUNCATED;			\
		}							\
	} while (0)

/* Parse the signature data (from sig_data_len on) with cursor c. */
static int parse_sig_data(struct cursor *c, struct dp_quote *q, char *err,
			  size_t errlen)
{
	const uint8_t *p;
	struct cursor sd, cd;

	NEED(p, 4, "signature data length");
	q->sig_data_len = le32(p);
	NEED(p, q->sig_data_len, "signature data");
	sd.buf = p;
	sd.len = q->sig_data_len;
	sd.off = 0;
	q->total_len = c->off;

	c = &sd;
	NEED(q->signature, DP_ECDSA_SIG_LEN, "quote signature");
	NEED(q->attestation_key, DP_ECDSA_KEY_LEN, "attestation key");
	NEED(p, 2, "certification data type");
	q->cert_type = le16(p);
	NEED(p, 4, "certification data size");
	q->cert_size = le32(p);
	if (q->cert_type != DP_CERT_TYPE_QE_REPORT) {
		dp_fmt_err(err, errlen,
		       "unsupported certification data type %u (want 6, QE report)",
		       q->cert_type);
		return DP_QUOTE_ERR_UNSUPPORTED;
	}
	NEED(p, q->cert_size, "QE report certification data");
	cd.buf = p;
	cd.len = q->cert_size;
	cd.off = 0;

	c = &cd;
	NEED(q->qe_report_raw, DP_SGX_REPORT_LEN, "QE report");
	parse_sgx_report(q->qe_report_raw, &q->qe_report);
	NEED(q->qe_report_sig, DP_ECDSA_SIG_LEN, "QE report signature");
	NEED(p, 2, "QE auth data length");
	q->qe_auth_len = le16(p);
	NEED(q->qe_auth_data, q->qe_auth_len, "QE auth data");
	NEED(p, 2, "PCK certification data type");
	q->pck_cert_type = le16(p);
	NEED(p, 4, "PCK certification data size");
	q->pck_chain_len = le32(p);
	if (q->pck_cert_type != DP_CERT_TYPE_PCK_CHAIN) {
		dp_fmt_err(err, errlen,
		       "unsupported PCK certification data type %u (want 5, PEM chain)",
		       q->pck_cert_type);
		return DP_QUOTE_ERR_UNSUPPORTED;
	}
	NEED(q->pck_chain, q->pck_chain_len, "PCK certificate chain");
	if (q->pck_chain_len == 0) {
		dp_fmt_err(err, errlen, "empty PCK certificate chain");
		return DP_QUOTE_ERR_INVALID;
	}
	return 0;
}

int dp_quote_parse(const uint8_t *buf, size_t len, struct dp_quote *q,
		   char *err, size_t errlen)
{
	struct cursor cur = { .buf = buf, .len = len, .off = 0 }, *c = &cur;
	const uint8_t *p;

	if (err && errlen)
		err[0] = '\0';
	memset(q, 0, sizeof(*q));
	if (!buf) {
		dp_fmt_err(err, errlen, "no quote");
		return DP_QUOTE_ERR_INVALID;
	}

	NEED(p, DP_QUOTE_HEADER_LEN, "header");
	q->header.version = le16(p);
	q->header.att_key_type = le16(p + 2);
	q->header.tee_type = le32(p + 4);
	q->header.qe_svn = le16(p + 8);
	q->header.pce_svn = le16(p + 10);
	memcpy(q->header.qe_vendor_id, p + 12, 16);
	memcpy(q->header.user_data, p + 28, 20);

	if (q->header.version != 4 && q->header.version != 5) {
		dp_fmt_err(err, errlen, "unsupported quote version %u (want 4 or 5)",
		       q->header.version);
		return DP_QUOTE_ERR_UNSUPPORTED;
	}
	if (q->header.tee_type != DP_TEE_TYPE_TDX) {
		dp_fmt_err(err, errlen, "unsupported TEE type 0x%x (want 0x81, TDX)",
		       q->header.tee_type);
		return DP_QUOTE_ERR_UNSUPPORTED;
	}
	if (q->header.att_key_type != DP_ATT_KEY_ECDSA_P256) {
		dp_fmt_err(err, errlen,
		       "unsupported attestation key type %u (want 2, ECDSA-P256)",
		       q->header.att_key_type);
		return DP_QUOTE_ERR_UNSUPPORTED;
	}

	if (q->header.version == 4) {
		q->body_type = DP_BODY_TYPE_TD10;
		q->body_len = DP_TD10_BODY_LEN;
	} else {
		NEED(p, 6, "v5 body descriptor");
		q->body_type = le16(p);
		q->body_len = le32(p + 2);
		if (q->body_type == DP_BODY_TYPE_TD10) {
			if (q->body_len != DP_TD10_BODY_LEN) {
				dp_fmt_err(err, errlen,
				       "TD 1.0 body size %u, want %d",
				       q->body_len, DP_TD10_BODY_LEN);
				return DP_QUOTE_ERR_INVALID;
			}
		} else if (q->body_type == DP_BODY_TYPE_TD15) {
			if (q->body_len != DP_TD15_BODY_LEN) {
				dp_fmt_err(err, errlen,
				       "TD 1.5 body size %u, want %d",
				       q->body_len, DP_TD15_BODY_LEN);
				return DP_QUOTE_ERR_INVALID;
			}
		} else {
			dp_fmt_err(err, errlen,
			       "unsupported v5 body type %u (want 2 or 3)",
			       q->body_type);
			return DP_QUOTE_ERR_UNSUPPORTED;
		}
	}
	NEED(p, q->body_len, "TD report body");
	parse_td_body(p, q->body_type, &q->body);
	q->signed_data = buf;
	q->signed_len = c->off;

	return parse_sig_data(c, q, err, errlen);
}
