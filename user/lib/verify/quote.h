/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parser for Intel DCAP TDX quotes, versions 4 and 5 (TD 1.0 and TD 1.5
 * report bodies).  The parser only checks structure: every length is
 * checked against the buffer and every field is exposed.  Cryptographic
 * checks live in verify.h.
 *
 * Layout (little-endian), see Documentation/verifier.rst:
 *   header 48 | [v5: body_type u16, body_size u32] | body (584 or 648)
 *   | sig_data_len u32 | quote sig 64 | attestation key 64
 *   | cert type u16 (6) | cert size u32 | QE report 384 | QE report sig 64
 *   | QE auth len u16 | QE auth data | cert type u16 (5) | size u32 | PEM chain
 *   | trailing padding (tolerated)
 */
#ifndef DSTACK_POD_QUOTE_H
#define DSTACK_POD_QUOTE_H

#include "common/hex.h"
#include <stddef.h>
#include <stdint.h>

#define DP_QUOTE_HEADER_LEN		48
#define DP_TD10_BODY_LEN		584
#define DP_TD15_BODY_LEN		648
#define DP_SGX_REPORT_LEN		384
#define DP_ECDSA_SIG_LEN		64
#define DP_ECDSA_KEY_LEN		64

#define DP_ATT_KEY_ECDSA_P256		2
#define DP_TEE_TYPE_TDX			0x81
#define DP_CERT_TYPE_PCK_CHAIN		5
#define DP_CERT_TYPE_QE_REPORT		6

#define DP_BODY_TYPE_SGX		1
#define DP_BODY_TYPE_TD10		2
#define DP_BODY_TYPE_TD15		3

/* Parse errors (negative return values of dp_quote_parse). */
#define DP_QUOTE_ERR_TRUNCATED		(-1)	/* a length points past the end */
#define DP_QUOTE_ERR_UNSUPPORTED	(-2)	/* version/type not supported */
#define DP_QUOTE_ERR_INVALID		(-3)	/* malformed field */

struct dp_quote_header {
	uint16_t version;
	uint16_t att_key_type;
	uint32_t tee_type;
	uint16_t qe_svn;		/* reserved in the spec */
	uint16_t pce_svn;		/* reserved in the spec */
	uint8_t qe_vendor_id[16];
	uint8_t user_data[20];
};

/* TD report body (TD 1.0 fields, plus the TD 1.5 additions). */
struct dp_td_report {
	uint8_t tee_tcb_svn[16];
	uint8_t mrseam[48];
	uint8_t mrsignerseam[48];
	uint8_t seam_attributes[8];
	uint8_t td_attributes[8];
	uint8_t xfam[8];
	uint8_t mrtd[48];
	uint8_t mrconfigid[48];
	uint8_t mrowner[48];
	uint8_t mrownerconfig[48];
	uint8_t rtmr[4][48];
	uint8_t report_data[64];
	/* TD 1.5 only (zero for TD 1.0 bodies) */
	uint8_t tee_tcb_svn2[16];
	uint8_t mrservicetd[48];
};

/* SGX enclave report body (the QE report). */
struct dp_sgx_report {
	uint8_t cpusvn[16];
	uint32_t miscselect;
	uint8_t attributes[16];
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint8_t report_data[64];
};

/*
 * A parsed quote.  Pointers refer into the caller's buffer, which must
 * outlive the struct.
 */
struct dp_quote {
	struct dp_quote_header header;
	uint16_t body_type;		/* DP_BODY_TYPE_TD10 or _TD15 */
	uint32_t body_len;		/* 584 or 648 */
	struct dp_td_report body;

	const uint8_t *signed_data;	/* header (+ v5 body descriptor) + body */
	size_t signed_len;

	uint32_t sig_data_len;
	const uint8_t *signature;	/* r || s, 64 bytes, big-endian */
	const uint8_t *attestation_key;	/* x || y, 64 bytes */

	uint16_t cert_type;		/* outer: 6 */
	uint32_t cert_size;

	const uint8_t *qe_report_raw;	/* 384 bytes, signed by the PCK leaf */
	struct dp_sgx_report qe_report;
	const uint8_t *qe_report_sig;	/* 64 bytes */
	const uint8_t *qe_auth_data;
	uint16_t qe_auth_len;

	uint16_t pck_cert_type;		/* inner: 5 */
	const uint8_t *pck_chain;	/* PEM, pck_chain_len bytes */
	uint32_t pck_chain_len;

	size_t total_len;		/* bytes used; the rest is padding */
};

/*
 * Parse a TDX quote.  Returns 0 on success or a negative DP_QUOTE_ERR_*
 * with a message in err (if errlen > 0).
 */
int dp_quote_parse(const uint8_t *buf, size_t len, struct dp_quote *q,
		   char *err, size_t errlen);

/* Format an error into a caller's buffer (which may be NULL). */
void dp_fmt_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
