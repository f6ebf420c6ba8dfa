/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Intel's QGS (Quote Generation Service) message protocol: a TD sends its
 * TDREPORT to the host's QGS and gets a DCAP quote back.  See
 * Documentation/quotes.rst.
 *
 * Wire format: every message is preceded by its length as a 4-byte
 * big-endian integer.  A message is a 16-byte little-endian header
 *   major_version u16 (1) | minor_version u16 (0) | type u32 | size u32
 *   | error_code u32
 * (size = the whole message, header included) and a body:
 *   GET_QUOTE_REQ  (0): report_size u32 (1024) | id_list_size u32 (0)
 *                       | TDREPORT | id list
 *   GET_QUOTE_RESP (1): selected_id_size u32 | quote_size u32
 *                       | selected id | quote
 *
 * The encoders and decoders are pure functions; the I/O helpers put a
 * deadline on every read and write.  Calls return 0 or a negative errno
 * and describe failures through dp_seterr()/dp_errmsg().
 */
#ifndef DSTACK_POD_QGS_H
#define DSTACK_POD_QGS_H

#include <stddef.h>
#include <stdint.h>

#define DP_QGS_MAJOR			1
#define DP_QGS_MINOR			0
#define DP_QGS_GET_QUOTE_REQ		0
#define DP_QGS_GET_QUOTE_RESP		1
#define DP_QGS_HEADER_LEN		16
#define DP_QGS_TDREPORT_LEN		1024
/* header + report_size + id_list_size + TDREPORT */
#define DP_QGS_REQ_LEN			(DP_QGS_HEADER_LEN + 8 + DP_QGS_TDREPORT_LEN)
/* header + selected_id_size + quote_size */
#define DP_QGS_RESP_MIN_LEN		(DP_QGS_HEADER_LEN + 8)

/* Largest response the client accepts (a real quote is about 5 KiB). */
#define DP_QGS_MAX_RESP			(64u * 1024)
/* Largest request the simulator accepts (id lists are not supported). */
#define DP_QGS_MAX_REQ			4096u

#define DP_QGS_CONF			"/etc/tdx-attest.conf"
#define DP_QGS_DEFAULT_PORT		4050
#define DP_QGS_HOST_CID			2	/* VMADDR_CID_HOST */
#define DP_QGS_TIMEOUT_MS		30000

/* Error codes of Intel's qgs_msg_lib.h (header.error_code). */
#define DP_QGS_SUCCESS			0x00000000u
#define DP_QGS_ERR_UNEXPECTED		0x00012001u
#define DP_QGS_ERR_OUT_OF_MEMORY	0x00012002u
#define DP_QGS_ERR_INVALID_PARAMETER	0x00012003u
#define DP_QGS_ERR_INVALID_VERSION	0x00012004u
#define DP_QGS_ERR_INVALID_TYPE		0x00012005u
#define DP_QGS_ERR_INVALID_SIZE		0x00012006u
#define DP_QGS_ERR_INVALID_CODE		0x00012007u

struct dp_qgs_header {
	uint16_t major;
	uint16_t minor;
	uint32_t type;
	uint32_t size;
	uint32_t error_code;
};

enum dp_qgs_transport {
	DP_QGS_VSOCK = 1,
	DP_QGS_UNIX = 2,
};

struct dp_qgs_addr {
	enum dp_qgs_transport transport;
	uint32_t cid;			/* vsock */
	uint32_t port;			/* vsock */
	char path[108];			/* unix socket path */
};

/* A short name for a QGS error code ("invalid parameter"), or NULL. */
const char *dp_qgs_error_name(uint32_t code);

/*
 * The default address: vsock CID 2 and the port of the "port = N" line of
 * conf (DP_QGS_CONF when NULL), or 4050 if the file does not exist.  A
 * malformed port line is an error (-EINVAL), not a silent default.
 */
int dp_qgs_addr_default(struct dp_qgs_addr *a, const char *conf);

/*
 * "vsock:PORT", "vsock:CID:PORT", "unix:PATH", or a path starting with '/'
 * or '.' (a unix socket).
 */
int dp_qgs_addr_parse(struct dp_qgs_addr *a, const char *spec);

/* "vsock:2:4050" or "unix:/run/qgs.sock". */
void dp_qgs_addr_format(const struct dp_qgs_addr *a, char *buf, size_t len);

/* Header to and from 16 bytes. */
void dp_qgs_header_put(uint8_t out[DP_QGS_HEADER_LEN],
		       const struct dp_qgs_header *h);
void dp_qgs_header_get(const uint8_t in[DP_QGS_HEADER_LEN],
		       struct dp_qgs_header *h);

/* A GET_QUOTE_REQ message (no length prefix), DP_QGS_REQ_LEN bytes. */
void dp_qgs_encode_req(const uint8_t tdreport[DP_QGS_TDREPORT_LEN],
		       uint8_t out[DP_QGS_REQ_LEN]);

/*
 * Decode a GET_QUOTE_REQ message.  0 with *tdreport pointing into msg, or
 * a negative errno; *qgs_err (if not NULL) then holds the error code a
 * server should answer with.
 */
int dp_qgs_decode_req(const uint8_t *msg, size_t len,
		      const uint8_t **tdreport, uint32_t *qgs_err);

/*
 * A GET_QUOTE_RESP message (no length prefix) in a malloc'd buffer.  A
 * non-zero error_code with quote NULL gives an error response.
 */
int dp_qgs_encode_resp(uint32_t error_code, const uint8_t *quote,
		       size_t quote_len, uint8_t **out, size_t *out_len);

/*
 * Decode a GET_QUOTE_RESP message.  0: *quote and *quote_len point into msg.
 * -EREMOTEIO: the QGS answered with an error (*error_code says which).
 * -EPROTO: malformed (wrong version, type, size or lengths).
 */
int dp_qgs_decode_resp(const uint8_t *msg, size_t len, uint32_t *error_code,
		       const uint8_t **quote, size_t *quote_len);

/*
 * Framed I/O with a deadline (CLOCK_MONOTONIC milliseconds, see
 * dp_qgs_deadline()).  dp_qgs_recv reads the 4-byte length, refuses
 * lengths over max (-EMSGSIZE) or under 16 (-EPROTO), and returns the
 * message in a malloc'd buffer.  -ETIMEDOUT when the deadline passes,
 * -EPROTO when the peer closes early.  The fd may be blocking or not.
 */
int64_t dp_qgs_deadline(int timeout_ms);
int dp_qgs_send(int fd, const uint8_t *msg, size_t len, int64_t deadline);
int dp_qgs_recv(int fd, size_t max, uint8_t **msg, size_t *len,
		int64_t deadline);

/* Connect to a QGS (non-blocking connect bounded by the deadline). */
int dp_qgs_connect(const struct dp_qgs_addr *a, int64_t deadline);

/*
 * Send a TDREPORT to the QGS at a (NULL: dp_qgs_addr_default(NULL)) and
 * return the quote in a malloc'd buffer.  timeout_ms bounds the whole
 * exchange (<= 0: DP_QGS_TIMEOUT_MS).
 */
int dp_qgs_get_quote(const struct dp_qgs_addr *a,
		     const uint8_t tdreport[DP_QGS_TDREPORT_LEN],
		     uint8_t **quote, size_t *len, int timeout_ms);

#endif
