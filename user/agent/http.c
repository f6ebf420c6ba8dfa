// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod-agent: a strict HTTP/1.1 request parser for the few requests
 * dstack's SDKs send (Documentation/agent.rst, "HTTP").  Every line ends in
 * CRLF, no folded headers, Content-Length required on POST, no
 * Transfer-Encoding (chunked bodies are refused with 411), head and body
 * capped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "common/hex.h"

static int is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *find_crlfcrlf(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
		    buf[i + 3] == '\n')
			return buf + i;
	return NULL;
}

/* Content-Length: 1*DIGIT, no sign, no spaces inside, at most max. */
static int parse_length(const char *v, size_t n, size_t max, size_t *out)
{
	size_t i, x = 0;

	if (!n || n > 19)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (size_t)(v[i] - '0');
	}
	*out = x;
	return x > max ? 1 : 0;
}

/* Does the comma-separated list v contain the token tok (any case)? */
static int has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && !strncasecmp(v + s, tok, tl))
			return 1;
	}
	return 0;
}

#define FAIL(st, msg) do { *why = (msg); return (st); } while (0)

static int parse_request_line(const char *l, size_t n, struct dpa_req *r,
			      const char **why)
{
	const char *sp1, *sp2, *t, *q, *end = l + n;
	size_t tl;

	sp1 = memchr(l, ' ', n);
	if (!sp1)
		FAIL(400, "malformed request line");
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (!sp2 || memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1)))
		FAIL(400, "malformed request line");
	if (sp1 == l)
		FAIL(400, "malformed request line: no method");
	for (t = l; t < sp1; t++)
		if (!is_tchar((unsigned char)*t))
			FAIL(400, "malformed request line: bad method");
	if ((size_t)(end - sp2 - 1) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) && memcmp(sp2 + 1, "HTTP/1.0", 8)))
		FAIL(505, "only HTTP/1.1 and HTTP/1.0 are supported");
	if (sp1 - l == 4 && !memcmp(l, "POST", 4))
		r->post = 1;
	else if (sp1 - l == 3 && !memcmp(l, "GET", 3))
		r->post = 0;
	else
		FAIL(405, "method not allowed: use POST (or GET with query arguments)");
	t = sp1 + 1;
	tl = (size_t)(sp2 - t);
	if (!tl || *t != '/')
		FAIL(400, "the request target must be an absolute path");
	for (q = t; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			FAIL(400, "bad character in the request target");
	q = memchr(t, '?', tl);
	if ((size_t)((q ? q : sp2) - t) > DPA_MAX_PATH)
		FAIL(414, "request path too long");
	memcpy(r->path, t, (size_t)((q ? q : sp2) - t));
	r->path[(q ? q : sp2) - t] = '\0';
	if (q) {
		if ((size_t)(sp2 - q - 1) > DPA_MAX_QUERY)
			FAIL(414, "query string too long");
		memcpy(r->query, q + 1, (size_t)(sp2 - q - 1));
		r->query[sp2 - q - 1] = '\0';
	}
	return 0;
}

int dpa_http_parse(const char *buf, size_t len, size_t max_body,
		   struct dpa_req *r, const char **why)
{
	const char *end, *l, *eol, *colon, *v, *ve;
	int have_cl = 0, nh = 0, st;
	size_t cl = 0, x;

	/* A bare LF or a NUL anywhere in the head is refused at once. */
	end = find_crlfcrlf(buf, len < DPA_MAX_HEAD ? len : DPA_MAX_HEAD);
	for (l = buf; l < (end ? end : buf + (len < DPA_MAX_HEAD ? len : DPA_MAX_HEAD)); l++) {
		if (*l == '\0')
			FAIL(400, "NUL byte in the request head");
		if (*l == '\n' && (l == buf || l[-1] != '\r'))
			FAIL(400, "bare LF in the request head: lines end in CRLF");
	}
	if (!end) {
		if (len >= DPA_MAX_HEAD)
			FAIL(431, "request head too large");
		return 0;
	}
	memset(r, 0, sizeof(*r));
	eol = memchr(buf, '\r', (size_t)(end + 2 - buf));
	st = parse_request_line(buf, (size_t)(eol - buf), r, why);
	if (st)
		return st;
	for (l = eol + 2; l < end + 2; l = eol + 2) {
		eol = memchr(l, '\r', (size_t)(end + 2 - l));
		if (eol == l)
			break;
		if (++nh > DPA_MAX_HEADERS)
			FAIL(431, "too many header fields");
		if (*l == ' ' || *l == '\t')
			FAIL(400, "folded header lines are not allowed");
		colon = memchr(l, ':', (size_t)(eol - l));
		if (!colon || colon == l)
			FAIL(400, "malformed header field");
		for (v = l; v < colon; v++)
			if (!is_tchar((unsigned char)*v))
				FAIL(400, "bad character in a header name");
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		for (x = 0; v + x < ve; x++) {
			unsigned char c = (unsigned char)v[x];

			if ((c < 0x20 && c != '\t') || c == 0x7f)
				FAIL(400, "control character in a header value");
		}
		if (colon - l == 14 && !strncasecmp(l, "Content-Length", 14)) {
			int e = parse_length(v, (size_t)(ve - v), max_body, &x);

			if (e < 0)
				FAIL(400, "bad Content-Length");
			if (have_cl && x != cl)
				FAIL(400, "conflicting Content-Length fields");
			if (e > 0)
				FAIL(413, "request body too large");
			cl = x;
			have_cl = 1;
		} else if (colon - l == 17 &&
			   !strncasecmp(l, "Transfer-Encoding", 17)) {
			if (has_token(v, (size_t)(ve - v), "chunked"))
				FAIL(411, "chunked request bodies are not supported: send the body with Content-Length");
			FAIL(501, "Transfer-Encoding is not supported");
		}
	}
	if (r->post && !have_cl)
		FAIL(411, "Content-Length required");
	r->head_len = (size_t)(end + 4 - buf);
	r->body_len = cl;
	if (len - r->head_len < cl)
		return 0;
	r->body = buf + r->head_len;
	return 1;
}

const char *dpa_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

char *dpa_http_response(int status, const char *body, size_t body_len,
			size_t *out_len)
{
	char head[256];
	int hl;
	char *out;

	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		      status, dpa_http_reason(status), body_len);
	if (hl < 0 || (size_t)hl >= sizeof(head))
		return NULL;
	out = malloc((size_t)hl + body_len + 1);
	if (!out)
		return NULL;
	memcpy(out, head, (size_t)hl);
	if (body_len)
		memcpy(out + hl, body, body_len);
	out[hl + body_len] = '\0';
	*out_len = (size_t)hl + body_len;
	return out;
}

int dpa_url_decode(const char *s, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = dp_hexdigit((unsigned char)s[i + 1]);
			lo = dp_hexdigit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	out[o] = '\0';
	return 0;
}
