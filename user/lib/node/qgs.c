// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-node: Intel's QGS message protocol and a client for it over
 * vsock or a unix socket.  Protocol: qgs.h and Documentation/quotes.rst.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "dstackpod.h"
#include "qgs.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

const char *dp_qgs_error_name(uint32_t code)
{
	switch (code) {
	case DP_QGS_SUCCESS:
		return "success";
	case DP_QGS_ERR_UNEXPECTED:
		return "unexpected error";
	case DP_QGS_ERR_OUT_OF_MEMORY:
		return "out of memory";
	case DP_QGS_ERR_INVALID_PARAMETER:
		return "invalid parameter";
	case DP_QGS_ERR_INVALID_VERSION:
		return "invalid version";
	case DP_QGS_ERR_INVALID_TYPE:
		return "invalid message type";
	case DP_QGS_ERR_INVALID_SIZE:
		return "invalid message size";
	case DP_QGS_ERR_INVALID_CODE:
		return "invalid error code";
	}
	return NULL;
}

/* ---- addresses --------------------------------------------------------- */

static int parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || v > UINT32_MAX)
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int dp_qgs_addr_default(struct dp_qgs_addr *a, const char *conf)
{
	char line[256];
	unsigned int lineno = 0;
	FILE *f;

	memset(a, 0, sizeof(*a));
	a->transport = DP_QGS_VSOCK;
	a->cid = DP_QGS_HOST_CID;
	a->port = DP_QGS_DEFAULT_PORT;
	if (!conf)
		conf = DP_QGS_CONF;
	f = fopen(conf, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return dp_seterr(errno, "%s", conf);
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		uint32_t port;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "port", 4))
			continue;
		p += 4;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (parse_u32(p, &port) || port == 0 || port == VMADDR_PORT_ANY) {
			fclose(f);
			return dp_seterr(EINVAL, "%s:%u: invalid QGS port (want port = 1..4294967294)",
					 conf, lineno);
		}
		a->port = port;
	}
	fclose(f);
	return 0;
}

int dp_qgs_addr_parse(struct dp_qgs_addr *a, const char *spec)
{
	const char *path = NULL;

	memset(a, 0, sizeof(*a));
	if (!strncmp(spec, "unix:", 5))
		path = spec + 5;
	else if (spec[0] == '/' || spec[0] == '.')
		path = spec;
	if (path) {
		if (!*path || strlen(path) >= sizeof(a->path))
			return dp_seterr(EINVAL, "unix socket path must be 1..%zu bytes",
					 sizeof(a->path) - 1);
		a->transport = DP_QGS_UNIX;
		snprintf(a->path, sizeof(a->path), "%s", path);
		return 0;
	}
	if (!strncmp(spec, "vsock:", 6)) {
		char buf[64], *colon;

		if (strlen(spec + 6) >= sizeof(buf))
			goto bad;
		snprintf(buf, sizeof(buf), "%s", spec + 6);
		a->transport = DP_QGS_VSOCK;
		a->cid = DP_QGS_HOST_CID;
		colon = strchr(buf, ':');
		if (colon) {
			*colon = '\0';
			if (parse_u32(buf, &a->cid))
				goto bad;
			if (parse_u32(colon + 1, &a->port))
				goto bad;
		} else if (parse_u32(buf, &a->port)) {
			goto bad;
		}
		if (a->port == 0 || a->port == VMADDR_PORT_ANY)
			goto bad;
		return 0;
	}
bad:
	return dp_seterr(EINVAL, "bad QGS address \"%s\" (want vsock:PORT, vsock:CID:PORT or unix:PATH)",
			 spec);
}

void dp_qgs_addr_format(const struct dp_qgs_addr *a, char *buf, size_t len)
{
	if (a->transport == DP_QGS_UNIX)
		snprintf(buf, len, "unix:%s", a->path);
	else
		snprintf(buf, len, "vsock:%u:%u", a->cid, a->port);
}

/* ---- messages ---------------------------------------------------------- */

void dp_qgs_header_put(uint8_t out[DP_QGS_HEADER_LEN],
		       const struct dp_qgs_header *h)
{
	out[0] = (uint8_t)h->major;
	out[1] = (uint8_t)(h->major >> 8);
	out[2] = (uint8_t)h->minor;
	out[3] = (uint8_t)(h->minor >> 8);
	put32(out + 4, h->type);
	put32(out + 8, h->size);
	put32(out + 12, h->error_code);
}

void dp_qgs_header_get(const uint8_t in[DP_QGS_HEADER_LEN],
		       struct dp_qgs_header *h)
{
	h->major = (uint16_t)(in[0] | in[1] << 8);
	h->minor = (uint16_t)(in[2] | in[3] << 8);
	h->type = get32(in + 4);
	h->size = get32(in + 8);
	h->error_code = get32(in + 12);
}

void dp_qgs_encode_req(const uint8_t tdreport[DP_QGS_TDREPORT_LEN],
		       uint8_t out[DP_QGS_REQ_LEN])
{
	struct dp_qgs_header h = {
		.major = DP_QGS_MAJOR,
		.minor = DP_QGS_MINOR,
		.type = DP_QGS_GET_QUOTE_REQ,
		.size = DP_QGS_REQ_LEN,
		.error_code = 0,
	};

	dp_qgs_header_put(out, &h);
	put32(out + DP_QGS_HEADER_LEN, DP_QGS_TDREPORT_LEN);
	put32(out + DP_QGS_HEADER_LEN + 4, 0);
	memcpy(out + DP_QGS_HEADER_LEN + 8, tdreport, DP_QGS_TDREPORT_LEN);
}

/* Common header checks; 0 or -EPROTO with *qgs_err set. */
static int check_header(const uint8_t *msg, size_t len, uint32_t want_type,
			struct dp_qgs_header *h, uint32_t *qgs_err)
{
	if (len < DP_QGS_HEADER_LEN) {
		*qgs_err = DP_QGS_ERR_INVALID_SIZE;
		return dp_seterr(EPROTO, "QGS message of %zu bytes is shorter than its 16-byte header",
				 len);
	}
	dp_qgs_header_get(msg, h);
	if (h->major != DP_QGS_MAJOR) {
		*qgs_err = DP_QGS_ERR_INVALID_VERSION;
		return dp_seterr(EPROTO, "QGS message version %u.%u, want %u.x",
				 h->major, h->minor, DP_QGS_MAJOR);
	}
	if (h->type != want_type) {
		*qgs_err = DP_QGS_ERR_INVALID_TYPE;
		return dp_seterr(EPROTO, "QGS message type %u, want %s (%u)",
				 h->type, want_type == DP_QGS_GET_QUOTE_REQ ?
				 "GET_QUOTE_REQ" : "GET_QUOTE_RESP", want_type);
	}
	if (h->size != len) {
		*qgs_err = DP_QGS_ERR_INVALID_SIZE;
		return dp_seterr(EPROTO, "QGS header says %u bytes, the message has %zu",
				 h->size, len);
	}
	return 0;
}

int dp_qgs_decode_req(const uint8_t *msg, size_t len,
		      const uint8_t **tdreport, uint32_t *qgs_err)
{
	struct dp_qgs_header h = { 0 };
	uint32_t dummy, report_size, id_list_size;
	int err;

	if (!qgs_err)
		qgs_err = &dummy;
	*qgs_err = DP_QGS_SUCCESS;
	err = check_header(msg, len, DP_QGS_GET_QUOTE_REQ, &h, qgs_err);
	if (err)
		return err;
	if (h.error_code != 0) {
		*qgs_err = DP_QGS_ERR_INVALID_CODE;
		return dp_seterr(EPROTO, "QGS request carries error code 0x%x", h.error_code);
	}
	if (len < DP_QGS_HEADER_LEN + 8) {
		*qgs_err = DP_QGS_ERR_INVALID_SIZE;
		return dp_seterr(EPROTO, "QGS request of %zu bytes has no body", len);
	}
	report_size = get32(msg + DP_QGS_HEADER_LEN);
	id_list_size = get32(msg + DP_QGS_HEADER_LEN + 4);
	if (report_size != DP_QGS_TDREPORT_LEN) {
		*qgs_err = DP_QGS_ERR_INVALID_PARAMETER;
		return dp_seterr(EPROTO, "QGS request report_size %u, want %u",
				 report_size, DP_QGS_TDREPORT_LEN);
	}
	if ((uint64_t)DP_QGS_REQ_LEN + id_list_size != len) {
		*qgs_err = DP_QGS_ERR_INVALID_SIZE;
		return dp_seterr(EPROTO, "QGS request lengths (report %u, id list %u) do not add up to %zu bytes",
				 report_size, id_list_size, len);
	}
	*tdreport = msg + DP_QGS_HEADER_LEN + 8;
	return 0;
}

int dp_qgs_encode_resp(uint32_t error_code, const uint8_t *quote,
		       size_t quote_len, uint8_t **out, size_t *out_len)
{
	struct dp_qgs_header h = {
		.major = DP_QGS_MAJOR,
		.minor = DP_QGS_MINOR,
		.type = DP_QGS_GET_QUOTE_RESP,
		.error_code = error_code,
	};
	size_t n;
	uint8_t *buf;

	if (!quote)
		quote_len = 0;
	if (quote_len > DP_QGS_MAX_RESP - DP_QGS_RESP_MIN_LEN)
		return dp_seterr(EMSGSIZE, "quote of %zu bytes is too large for a QGS response",
				 quote_len);
	n = DP_QGS_RESP_MIN_LEN + quote_len;
	buf = calloc(1, n);
	if (!buf)
		return dp_seterr(ENOMEM, "QGS response");
	h.size = (uint32_t)n;
	dp_qgs_header_put(buf, &h);
	put32(buf + DP_QGS_HEADER_LEN, 0);
	put32(buf + DP_QGS_HEADER_LEN + 4, (uint32_t)quote_len);
	if (quote_len)
		memcpy(buf + DP_QGS_RESP_MIN_LEN, quote, quote_len);
	*out = buf;
	*out_len = n;
	return 0;
}

int dp_qgs_decode_resp(const uint8_t *msg, size_t len, uint32_t *error_code,
		       const uint8_t **quote, size_t *quote_len)
{
	struct dp_qgs_header h = { 0 };
	uint32_t qerr, id_size, q_size;
	int err;

	*error_code = 0;
	err = check_header(msg, len, DP_QGS_GET_QUOTE_RESP, &h, &qerr);
	if (err)
		return err;
	*error_code = h.error_code;
	if (h.error_code != DP_QGS_SUCCESS) {
		const char *name = dp_qgs_error_name(h.error_code);

		return dp_seterr(EREMOTEIO, "the QGS refused the request: error 0x%08x%s%s%s",
				 h.error_code, name ? " (" : "",
				 name ? name : "", name ? ")" : "");
	}
	if (len < DP_QGS_RESP_MIN_LEN)
		return dp_seterr(EPROTO, "QGS response of %zu bytes has no body", len);
	id_size = get32(msg + DP_QGS_HEADER_LEN);
	q_size = get32(msg + DP_QGS_HEADER_LEN + 4);
	if ((uint64_t)DP_QGS_RESP_MIN_LEN + id_size + q_size != len)
		return dp_seterr(EPROTO, "QGS response lengths (id %u, quote %u) do not add up to %zu bytes",
				 id_size, q_size, len);
	if (q_size == 0)
		return dp_seterr(EPROTO, "QGS response carries no quote");
	*quote = msg + DP_QGS_RESP_MIN_LEN + id_size;
	*quote_len = q_size;
	return 0;
}

/* ---- framed I/O with a deadline ---------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t dp_qgs_deadline(int timeout_ms)
{
	if (timeout_ms <= 0)
		timeout_ms = DP_QGS_TIMEOUT_MS;
	return now_ms() + timeout_ms;
}

/* Wait for events on fd until the deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;	/* readable, writable, or error/hangup */
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int dp_qgs_send(int fd, const uint8_t *msg, size_t len, int64_t deadline)
{
	uint8_t pre[4];
	size_t off = 0, total = len + 4;
	int err;

	if (len > UINT32_MAX)
		return dp_seterr(EMSGSIZE, "QGS message too large");
	pre[0] = (uint8_t)(len >> 24);
	pre[1] = (uint8_t)(len >> 16);
	pre[2] = (uint8_t)(len >> 8);
	pre[3] = (uint8_t)len;
	while (off < total) {
		const uint8_t *p = off < 4 ? pre + off : msg + (off - 4);
		size_t n = off < 4 ? 4 - off : total - off;
		ssize_t w;

		err = wait_fd(fd, POLLOUT, deadline);
		if (err == -ETIMEDOUT)
			return dp_seterr(ETIMEDOUT, "QGS: sending the request timed out after %zu of %zu bytes",
					 off, total);
		if (err)
			return dp_seterr(-err, "QGS: poll");
		w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return dp_seterr(errno, "QGS: send");
		}
		off += (size_t)w;
	}
	return 0;
}

/* Read exactly len bytes. */
static int recv_all(int fd, uint8_t *buf, size_t len, int64_t deadline,
		    const char *what, size_t base, size_t total)
{
	size_t off = 0;
	int err;

	while (off < len) {
		ssize_t r;

		err = wait_fd(fd, POLLIN, deadline);
		if (err == -ETIMEDOUT)
			return dp_seterr(ETIMEDOUT, "QGS: timed out waiting for the %s (%zu of %zu bytes received)",
					 what, base + off, total);
		if (err)
			return dp_seterr(-err, "QGS: poll");
		r = recv(fd, buf + off, len - off, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return dp_seterr(errno, "QGS: receiving the %s", what);
		}
		if (r == 0)
			return dp_seterr(EPROTO, "QGS: connection closed in the %s (%zu of %zu bytes received)",
					 what, base + off, total);
		off += (size_t)r;
	}
	return 0;
}

int dp_qgs_recv(int fd, size_t max, uint8_t **msg, size_t *len,
		int64_t deadline)
{
	uint8_t pre[4];
	uint32_t n;
	uint8_t *buf;
	int err;

	err = recv_all(fd, pre, 4, deadline, "length prefix", 0, 4);
	if (err)
		return err;
	n = (uint32_t)pre[0] << 24 | (uint32_t)pre[1] << 16 |
	    (uint32_t)pre[2] << 8 | pre[3];
	if (n > max)
		return dp_seterr(EMSGSIZE, "QGS: message of %u bytes exceeds the %zu-byte limit",
				 n, max);
	if (n < DP_QGS_HEADER_LEN)
		return dp_seterr(EPROTO, "QGS: message of %u bytes is shorter than its 16-byte header",
				 n);
	buf = malloc(n);
	if (!buf)
		return dp_seterr(ENOMEM, "QGS message");
	err = recv_all(fd, buf, n, deadline, "message", 4, (size_t)n + 4);
	if (err) {
		free(buf);
		return err;
	}
	*msg = buf;
	*len = n;
	return 0;
}

int dp_qgs_connect(const struct dp_qgs_addr *a, int64_t deadline)
{
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
		struct sockaddr_vm vm;
	} sa;
	socklen_t salen;
	char name[160];
	int fd, err, soerr;
	socklen_t sl = sizeof(soerr);

	memset(&sa, 0, sizeof(sa));
	dp_qgs_addr_format(a, name, sizeof(name));
	if (a->transport == DP_QGS_UNIX) {
		sa.un.sun_family = AF_UNIX;
		if (strlen(a->path) >= sizeof(sa.un.sun_path))
			return dp_seterr(ENAMETOOLONG, "QGS %s", name);
		memcpy(sa.un.sun_path, a->path, strlen(a->path) + 1);
		salen = sizeof(sa.un);
	} else if (a->transport == DP_QGS_VSOCK) {
		sa.vm.svm_family = AF_VSOCK;
		sa.vm.svm_cid = a->cid;
		sa.vm.svm_port = a->port;
		salen = sizeof(sa.vm);
	} else {
		return dp_seterr(EINVAL, "QGS address has no transport");
	}
	fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err = errno;
		if (a->transport == DP_QGS_VSOCK &&
		    (err == EAFNOSUPPORT || err == ENODEV))
			return dp_seterr(err, "QGS %s: no vsock transport in this guest (load vmw_vsock_virtio_transport, or vsock_loopback for tests)",
					 name);
		return dp_seterr(err, "QGS %s: socket", name);
	}
	if (connect(fd, &sa.sa, salen) == 0)
		return fd;
	err = errno;
	if (err == EAGAIN) {
		/* unix sockets: the listener's backlog is full, no connect */
		close(fd);
		return dp_seterr(err, "QGS %s: the server is busy (backlog full)",
				 name);
	}
	if (err != EINPROGRESS && err != EINTR)
		goto fail;
	err = wait_fd(fd, POLLOUT, deadline);
	if (err) {
		close(fd);
		if (err == -ETIMEDOUT)
			return dp_seterr(ETIMEDOUT, "QGS %s: connect timed out", name);
		return dp_seterr(-err, "QGS %s: poll", name);
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
		err = errno;
		goto fail;
	}
	if (soerr) {
		err = soerr;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	if (a->transport == DP_QGS_VSOCK && (err == ENODEV || err == ENETUNREACH))
		return dp_seterr(err, "QGS %s: no vsock transport reaches CID %u (a TD needs vmw_vsock_virtio_transport and a QGS on the host)",
				 name, a->cid);
	if (err == ECONNREFUSED || err == ENOENT || err == ECONNRESET)
		return dp_seterr(err, "QGS %s: nothing listens there (is the QGS running on the host? see /etc/tdx-attest.conf)",
				 name);
	return dp_seterr(err, "QGS %s: connect", name);
}

int dp_qgs_get_quote(const struct dp_qgs_addr *a,
		     const uint8_t tdreport[DP_QGS_TDREPORT_LEN],
		     uint8_t **quote, size_t *len, int timeout_ms)
{
	int64_t deadline = dp_qgs_deadline(timeout_ms);
	struct dp_qgs_addr def;
	uint8_t req[DP_QGS_REQ_LEN], *resp = NULL, *q;
	const uint8_t *qp;
	size_t rlen = 0, qlen = 0;
	uint32_t code;
	int fd, err;

	*quote = NULL;
	*len = 0;
	if (!a) {
		err = dp_qgs_addr_default(&def, NULL);
		if (err)
			return err;
		a = &def;
	}
	fd = dp_qgs_connect(a, deadline);
	if (fd < 0)
		return fd;
	dp_qgs_encode_req(tdreport, req);
	err = dp_qgs_send(fd, req, sizeof(req), deadline);
	if (!err)
		err = dp_qgs_recv(fd, DP_QGS_MAX_RESP, &resp, &rlen, deadline);
	close(fd);
	if (err)
		return err;
	err = dp_qgs_decode_resp(resp, rlen, &code, &qp, &qlen);
	if (err) {
		free(resp);
		return err;
	}
	q = malloc(qlen);
	if (!q) {
		free(resp);
		return dp_seterr(ENOMEM, "quote");
	}
	memcpy(q, qp, qlen);
	free(resp);
	*quote = q;
	*len = qlen;
	return 0;
}
