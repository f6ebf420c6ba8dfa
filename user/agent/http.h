/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dstack-pod-agent: the minimal, strict HTTP/1.1 request parser and the
 * response writer (Documentation/agent.rst, "HTTP").  Pure functions over
 * a buffer, so the unit tests drive them byte by byte.
 */
#ifndef DSTACK_POD_AGENT_HTTP_H
#define DSTACK_POD_AGENT_HTTP_H

#include <stddef.h>

#define DPA_MAX_HEAD		8192	/* request line + headers + CRLFCRLF */
#define DPA_MAX_HEADERS		64
#define DPA_MAX_PATH		255
#define DPA_MAX_QUERY		2048

struct dpa_req {
	int post;			/* 1 POST, 0 GET */
	char path[DPA_MAX_PATH + 1];	/* before '?' */
	char query[DPA_MAX_QUERY + 1];	/* after '?', raw */
	size_t head_len;		/* bytes up to and including CRLFCRLF */
	size_t body_len;		/* Content-Length (0 if absent on GET) */
	const char *body;		/* into the parsed buffer */
};

/*
 * Parse the request in buf[0..len).  Returns 0 when more bytes are needed,
 * 1 when the whole request (head and body) is there (r filled), or an
 * HTTP status >= 400 when the request is refused (*why says why).  A
 * request longer than head + body is complete at head_len + body_len;
 * bytes past it are ignored (one request per connection).
 */
int dpa_http_parse(const char *buf, size_t len, size_t max_body,
		   struct dpa_req *r, const char **why);

/* "Bad Request" etc. for the statuses the agent sends. */
const char *dpa_http_reason(int status);

/*
 * A whole response (status line, Content-Type: application/json,
 * Content-Length, Connection: close, body) in a malloc'd buffer.  NULL on
 * allocation failure.
 */
char *dpa_http_response(int status, const char *body, size_t body_len,
			size_t *out_len);

/*
 * Decode one percent-encoded query component (a key or a value, '+' is a
 * space) of n bytes into out (size >= n + 1).  -1 on a bad escape or NUL.
 */
int dpa_url_decode(const char *s, size_t n, char *out);

#endif
