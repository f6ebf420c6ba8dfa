// SPDX-License-Identifier: GPL-2.0
/*
 * TDX quote parser tests: real quotes, every structural boundary,
 * lengths past the end, unsupported types, v5 TD 1.0 / TD 1.5 bodies.
 */
#include "tap.h"
#include "quote_forge.h"

static void check_real(const char *name, const uint8_t *buf, size_t len)
{
	struct dp_quote q;
	char err[256];
	int rc = dp_quote_parse(buf, len, &q, err, sizeof(err));

	if (!tap_ok(rc == 0, "%s parses", name))
		tap_diag("%s", err);
	tap_ok(q.header.version == 4 && q.header.tee_type == 0x81 &&
	       q.header.att_key_type == 2, "%s: header v4, TDX, ECDSA-P256", name);
	tap_ok(q.body_type == DP_BODY_TYPE_TD10 && q.signed_len == 632 &&
	       q.signed_data == buf, "%s: TD 1.0 body, signed region [0, 632)", name);
	tap_ok(q.sig_data_len + 636 == q.total_len && q.total_len <= len,
	       "%s: signature data length consistent (%u), padding %zu", name,
	       q.sig_data_len, len - q.total_len);
	tap_ok(q.signature == buf + 636 && q.attestation_key == buf + 700 &&
	       q.cert_type == 6 && q.qe_report_raw == buf + 770 &&
	       q.qe_report_sig == buf + 1154, "%s: signature, key, QE report offsets", name);
	tap_ok(q.pck_cert_type == 5 && q.pck_chain_len > 27 &&
	       !memcmp(q.pck_chain, "-----BEGIN CERTIFICATE-----", 27),
	       "%s: PEM PCK chain (%u bytes)", name, q.pck_chain_len);
	tap_ok(!memcmp(q.header.qe_vendor_id,
		       "\x93\x9a\x72\x33\xf7\x9c\x4c\xa9\x94\x0a\x0d\xb3\x95\x7f\x06\x07", 16),
	       "%s: Intel QE vendor id", name);
	tap_ok(!memcmp(q.body.mrtd, buf + 184, 48) &&
	       !memcmp(q.body.rtmr[3], buf + 520, 48) &&
	       !memcmp(q.body.report_data, buf + 568, 64) &&
	       !memcmp(q.body.td_attributes, buf + 168, 8),
	       "%s: body fields at the documented offsets", name);
	tap_ok(!memcmp(q.qe_report.report_data, buf + 770 + 320, 64) &&
	       q.qe_report.isvprodid == (buf[770 + 256] | buf[770 + 257] << 8),
	       "%s: QE report fields", name);
}

/* Boundaries of a parsed quote, in order. */
static size_t boundaries(const struct dp_quote *q, const uint8_t *buf,
			 size_t *b)
{
	size_t n = 0, qe = (size_t)(q->qe_report_raw - buf);

	b[n++] = 0;
	b[n++] = 2;			/* version */
	b[n++] = 4;			/* key type */
	b[n++] = 8;			/* tee type */
	b[n++] = 48;			/* end of header */
	b[n++] = q->signed_len;		/* end of body */
	b[n++] = q->signed_len + 4;	/* sig data length */
	b[n++] = q->signed_len + 4 + 64;	/* signature */
	b[n++] = q->signed_len + 4 + 128;	/* attestation key */
	b[n++] = q->signed_len + 4 + 130;	/* cert type */
	b[n++] = qe;			/* cert size */
	b[n++] = qe + 384;		/* QE report */
	b[n++] = qe + 448;		/* QE report sig */
	b[n++] = qe + 450;		/* auth len */
	b[n++] = qe + 450 + q->qe_auth_len;	/* auth data */
	b[n++] = qe + 452 + q->qe_auth_len;	/* PCK cert type */
	b[n++] = (size_t)(q->pck_chain - buf);	/* PCK size */
	b[n++] = q->total_len;		/* end of PEM */
	return n;
}

static void check_truncation(const uint8_t *buf, size_t len)
{
	struct dp_quote q, t;
	size_t b[32], n, i;
	int all = 1, trunc_err = 1;
	char err[256];

	dp_quote_parse(buf, len, &q, NULL, 0);
	n = boundaries(&q, buf, b);
	for (i = 1; i < n; i++) {
		/* cut just before the boundary and at the previous one */
		int r1 = dp_quote_parse(buf, b[i] - 1, &t, err, sizeof(err));
		int r2 = b[i - 1] ? dp_quote_parse(buf, b[i - 1], &t, err,
						   sizeof(err)) : -1;

		if (r1 == 0 || r2 == 0) {
			all = 0;
			tap_diag("truncation at %zu or %zu accepted", b[i] - 1,
				 b[i - 1]);
		}
		if (r1 != DP_QUOTE_ERR_TRUNCATED)
			trunc_err = 0;
	}
	tap_ok(all, "truncation at each of %zu structural boundaries is rejected", n);
	tap_ok(trunc_err, "truncations report DP_QUOTE_ERR_TRUNCATED");
	tap_ok(dp_quote_parse(buf, q.total_len, &t, NULL, 0) == 0,
	       "quote without its trailing padding parses");
	tap_ok(dp_quote_parse(buf, 0, &t, err, sizeof(err)) ==
	       DP_QUOTE_ERR_TRUNCATED && strstr(err, "header"),
	       "empty buffer: '%s'", err);
	tap_ok(dp_quote_parse(NULL, 10, &t, NULL, 0) < 0, "NULL buffer rejected");

	/* every length up to the end: never accepted, never crashes */
	all = 1;
	for (i = 0; i < q.total_len; i++)
		if (dp_quote_parse(buf, i, &t, NULL, 0) == 0)
			all = 0;
	tap_ok(all, "every prefix shorter than %zu bytes is rejected", q.total_len);
}

static void put_len(uint8_t *buf, size_t off, int width, uint32_t v)
{
	if (width == 2)
		put16(buf + off, (uint16_t)v);
	else
		put32(buf + off, v);
}

static void check_lengths(const uint8_t *buf, size_t len)
{
	struct dp_quote q, t;
	uint8_t *c = malloc(len);
	size_t qe;
	char err[256];
	struct {
		const char *what;
		size_t off;
		int width;
	} f[5];
	uint32_t vals[] = { 0xffffffffu, 0x80000000u, 0x10000u, 0xffffu };
	int i, j;

	dp_quote_parse(buf, len, &q, NULL, 0);
	qe = (size_t)(q.qe_report_raw - buf);
	f[0].what = "signature data length"; f[0].off = 632; f[0].width = 4;
	f[1].what = "certification data size"; f[1].off = 766; f[1].width = 4;
	f[2].what = "QE auth data length"; f[2].off = qe + 448; f[2].width = 2;
	f[3].what = "PCK chain size"; f[3].off = (size_t)(q.pck_chain - buf) - 4;
	f[3].width = 4;
	f[4].what = "PCK chain size (one past)"; f[4].off = f[3].off; f[4].width = 4;
	for (i = 0; i < 4; i++) {
		int bad = 1;

		for (j = 0; j < 4; j++) {
			if (f[i].width == 2 && vals[j] > 0xffff)
				continue;
			memcpy(c, buf, len);
			put_len(c, f[i].off, f[i].width, vals[j]);
			if (dp_quote_parse(c, q.total_len, &t, err, sizeof(err)) !=
			    DP_QUOTE_ERR_TRUNCATED)
				bad = 0;
		}
		tap_ok(bad, "%s pointing past the end is rejected (%s)",
		       f[i].what, err);
	}
	/* exactly one byte too long for the buffer without padding */
	memcpy(c, buf, len);
	put32(c + f[3].off, q.pck_chain_len + 1);
	tap_ok(dp_quote_parse(c, q.total_len, &t, NULL, 0) ==
	       DP_QUOTE_ERR_TRUNCATED, "PCK chain size one past the end is rejected");
	memcpy(c, buf, len);
	put32(c + 632, q.sig_data_len + 1);
	tap_ok(dp_quote_parse(c, q.total_len, &t, NULL, 0) ==
	       DP_QUOTE_ERR_TRUNCATED, "signature data length one past the end is rejected");
	/* inner sizes larger than their container, buffer padded */
	memcpy(c, buf, len);
	put32(c + 766, q.cert_size + (uint32_t)(len - q.total_len));
	tap_ok(dp_quote_parse(c, len, &t, NULL, 0) == DP_QUOTE_ERR_TRUNCATED,
	       "certification data larger than the signature data is rejected");
	memcpy(c, buf, len);
	put32(c + 632, 0);
	tap_ok(dp_quote_parse(c, len, &t, NULL, 0) == DP_QUOTE_ERR_TRUNCATED,
	       "zero signature data length is rejected");
	free(c);
}

static void check_unsupported(const uint8_t *buf, size_t len)
{
	uint8_t *c = malloc(len);
	struct dp_quote t;
	char err[256];

	memcpy(c, buf, len);
	put16(c, 3);
	tap_ok(dp_quote_parse(c, len, &t, err, sizeof(err)) ==
	       DP_QUOTE_ERR_UNSUPPORTED, "version 3 rejected: %s", err);
	memcpy(c, buf, len);
	put32(c + 4, 0);
	tap_ok(dp_quote_parse(c, len, &t, err, sizeof(err)) ==
	       DP_QUOTE_ERR_UNSUPPORTED, "SGX TEE type rejected: %s", err);
	memcpy(c, buf, len);
	put16(c + 2, 3);
	tap_ok(dp_quote_parse(c, len, &t, err, sizeof(err)) ==
	       DP_QUOTE_ERR_UNSUPPORTED, "attestation key type 3 rejected: %s", err);
	memcpy(c, buf, len);
	put16(c + 764, 5);
	tap_ok(dp_quote_parse(c, len, &t, err, sizeof(err)) ==
	       DP_QUOTE_ERR_UNSUPPORTED, "outer certification type 5 rejected: %s", err);
	free(c);
}

static void check_v5(const uint8_t *real, size_t real_len)
{
	struct forge f;
	struct dp_quote q;
	uint8_t extra[64], *v5;
	size_t n;
	char err[256];

	memset(extra, 0, sizeof(extra));
	extra[0] = 0x77;	/* tee_tcb_svn2[0] */
	extra[16] = 0x55;	/* mrservicetd[0] */
	fg_init(&f, real, real_len);

	v5 = fg_quote(&f, real, real_len, 5, DP_BODY_TYPE_TD10, NULL, 0, NULL, &n);
	tap_ok(dp_quote_parse(v5, n, &q, err, sizeof(err)) == 0 &&
	       q.header.version == 5 && q.body_type == DP_BODY_TYPE_TD10 &&
	       q.signed_len == 48 + 6 + 584 &&
	       !memcmp(q.body.mrtd, real + 184, 48),
	       "v5 TD 1.0 quote parses, signed region 638 bytes");
	put16(v5 + 48, 7);
	tap_ok(dp_quote_parse(v5, n, &q, err, sizeof(err)) ==
	       DP_QUOTE_ERR_UNSUPPORTED, "v5 body type 7 rejected: %s", err);
	put16(v5 + 48, 2);
	put32(v5 + 50, 648);
	tap_ok(dp_quote_parse(v5, n, &q, err, sizeof(err)) ==
	       DP_QUOTE_ERR_INVALID, "v5 TD 1.0 body with size 648 rejected: %s", err);
	tap_ok(dp_quote_parse(v5, 52, &q, NULL, 0) == DP_QUOTE_ERR_TRUNCATED,
	       "v5 truncated inside the body descriptor rejected");
	free(v5);

	v5 = fg_quote(&f, real, real_len, 5, DP_BODY_TYPE_TD15, extra, 0, NULL, &n);
	tap_ok(dp_quote_parse(v5, n, &q, err, sizeof(err)) == 0 &&
	       q.body_type == DP_BODY_TYPE_TD15 && q.body_len == 648 &&
	       q.signed_len == 48 + 6 + 648 && q.body.tee_tcb_svn2[0] == 0x77 &&
	       q.body.mrservicetd[0] == 0x55 &&
	       !memcmp(q.body.report_data, real + 568, 64),
	       "v5 TD 1.5 quote parses with tee_tcb_svn2 and mrservicetd");
	put32(v5 + 50, 584);
	tap_ok(dp_quote_parse(v5, n, &q, NULL, 0) == DP_QUOTE_ERR_INVALID,
	       "v5 TD 1.5 body with size 584 rejected");
	free(v5);
	fg_free(&f);
}

int main(void)
{
	uint8_t *v4, *ds, *js;
	size_t v4l, dsl, jsl;
	char hex[97];

	tap_start();
	v4 = td_read(TD_QUOTE_V4, &v4l);
	ds = td_read(TD_DSTACK_V4, &dsl);
	js = td_read_dstack_json_quote(&jsl);

	check_real(TD_QUOTE_V4, v4, v4l);
	check_real(TD_DSTACK_V4, ds, dsl);
	check_real(TD_DSTACK_JSON, js, jsl);
	{
		struct dp_quote q;

		dp_quote_parse(v4, v4l, &q, NULL, 0);
		dp_hex(q.body.mrtd, 48, hex);
		tap_ok(!strcmp(hex, "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a"
				    "3520c942a604a407de03ae6dc5f87f27428b2538873118b7"),
		       "MRTD of the dcap-qvl sample");
	}
	check_truncation(v4, v4l);
	check_truncation(js, jsl);
	check_lengths(v4, v4l);
	check_unsupported(v4, v4l);
	check_v5(v4, v4l);

	tap_ok(dp_unhex_exact("0aFf", (uint8_t *)hex, 2) == 0 &&
	       (uint8_t)hex[0] == 0x0a && (uint8_t)hex[1] == 0xff &&
	       dp_unhex_exact("0g", (uint8_t *)hex, 1) && dp_unhex_exact("0a", (uint8_t *)hex, 2),
	       "dp_unhex_exact accepts exact hex only");
	free(v4);
	free(ds);
	free(js);
	return tap_end();
}
