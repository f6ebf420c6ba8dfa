// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod-agent: a node daemon answering dstack's guest API (and
 * Tappd's) for the Pods of this node, each with its own Pod identity.
 * One epoll loop; bounded connections, request sizes and per-connection
 * deadlines; the caller's Pod named by the kernel (ATTEST_PEER on the
 * connected socket), never by anything the caller says.
 * Documentation/agent.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api.h"
#include "bundle/bundle.h"
#include "node/qgs.h"

#define MAX_SOCKETS		4
#define DEF_MAX_CONNS		256
#define DEF_MAX_BODY		(64u * 1024)
#define DEF_TIMEOUT_MS		10000
#define DEF_QGS_TIMEOUT_MS	30000
#define UPSTREAM_MAX		(1u << 20)

enum { T_LISTEN = 1, T_CLIENT, T_BACKEND };
enum { S_READ = 1, S_BACKEND, S_WRITE };

struct conn;

struct tag {
	int type;
	int fd;
	struct conn *c;
};

struct conn {
	struct tag t;		/* the client socket */
	struct tag bt;		/* QGS or upstream socket, fd -1 if none */
	int state;
	int64_t deadline;	/* ms, CLOCK_MONOTONIC */
	int64_t start;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	uint8_t *bin;		/* backend reply */
	size_t bin_len, bin_cap;
	uint8_t *bout;		/* backend request, sent once connected */
	size_t bout_len, bout_off;
	int upstream;		/* bt is the upstream agent, not the QGS */
	struct dpa_req req;
	struct dpa_result res;
	int status;
	int dead;		/* closed; freed after the current batch */
	struct conn *next, *prev;
};

static struct {
	int ep;
	struct tag listen[MAX_SOCKETS];
	int nlisten;
	struct conn *conns;
	struct conn *graveyard;
	unsigned int nconns, max_conns;
	size_t max_body;
	int timeout_ms, qgs_timeout_ms;
	struct dp_qgs_addr qgs;
	const char *upstream;
	const char *dstack_log;
	struct dp_dev dev;
	char backend[17];
	struct dpa_ops ops;
	volatile sig_atomic_t stop;
	unsigned long long served, refused;
} ag;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the kernel side, through libdstackpod ---------------------------- */

static int op_attest(void *ctx, int sockfd, const uint8_t *nonce, size_t n,
		     struct dstack_pod_claims *claims, uint8_t *tdreport)
{
	(void)ctx;
	return dp_attest_peer(&ag.dev, sockfd, nonce, n, claims, tdreport);
}

static int read_file(const char *path, size_t max, char **buf, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t n;
	char *b;

	if (!f)
		return dp_seterr(errno, "%s", path);
	b = malloc(max + 1);
	if (!b) {
		fclose(f);
		return dp_seterr(ENOMEM, "%s", path);
	}
	n = fread(b, 1, max + 1, f);
	if (ferror(f) || n > max) {
		fclose(f);
		free(b);
		return dp_seterr(n > max ? EFBIG : EIO, "%s", path);
	}
	fclose(f);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static int op_rtmr3_log(void *ctx, struct dp_log *log)
{
	struct dp_log own;
	size_t i;
	int err = 0;

	(void)ctx;
	memset(log, 0, sizeof(*log));
	memset(&own, 0, sizeof(own));
	/* dstack's own RTMR3 events (a dstack CVM) come first. */
	if (ag.dstack_log) {
		char *t = NULL;
		size_t n = 0;

		err = read_file(ag.dstack_log, DP_BUNDLE_MAX_LEN, &t, &n);
		if (!err) {
			err = dp_log_import_dstack(t, n, log);
			free(t);
		}
		if (err)
			goto out;
	}
	if (dp_log_load(DP_EVENTS_PATH, &own)) {
		dp_log_free(&own);
		err = dp_nl_read_log(NULL, &own);
		if (err)
			goto out;
	}
	for (i = 0; i < own.n && !err; i++)
		err = dp_log_append(log, own.ev[i].name, own.ev[i].digest,
				    own.ev[i].payload, own.ev[i].payload_len);
out:
	dp_log_free(&own);
	if (err)
		dp_log_free(log);
	return err;
}

static int op_pod_log(void *ctx, const uint8_t *uid, struct dp_log *log)
{
	(void)ctx;
	return dp_nl_read_log(uid, log);
}

static int op_pod_extend(void *ctx, const char *uid, const char *name,
			 const uint8_t *payload, size_t len)
{
	uint8_t pmr[DSTACK_POD_DIGEST_LEN];

	(void)ctx;
	return dp_pod_extend(&ag.dev, NULL, uid, name, payload, len, pmr);
}

/* ---- connections -------------------------------------------------------- */

static void log_request(struct conn *c)
{
	char uid[37] = "-";
	int64_t us = (now_ms() - c->start) * 1000;

	if (c->res.have_claims)
		dp_uuid_format(c->res.claims.pod_uid, uid);
	fprintf(stderr, "dstack-pod-agent: pod=%s workload=%.*s method=%s status=%d ms=%lld\n",
		uid, c->res.have_claims ? (int)strnlen(c->res.claims.workload_id,
		sizeof(c->res.claims.workload_id)) : 1,
		c->res.have_claims ? c->res.claims.workload_id : "-",
		c->res.method[0] ? c->res.method : "-", c->status,
		(long long)us / 1000);
}

static void backend_close(struct conn *c)
{
	if (c->bt.fd >= 0) {
		epoll_ctl(ag.ep, EPOLL_CTL_DEL, c->bt.fd, NULL);
		close(c->bt.fd);
		c->bt.fd = -1;
	}
}

/*
 * Close a connection.  Its memory stays until the end of the epoll batch
 * (reap()): a later event of the same batch may still name it.
 */
static void conn_free(struct conn *c)
{
	backend_close(c);
	epoll_ctl(ag.ep, EPOLL_CTL_DEL, c->t.fd, NULL);
	close(c->t.fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		ag.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ag.nconns--;
	c->dead = 1;
	c->prev = NULL;
	c->next = ag.graveyard;
	ag.graveyard = c;
}

static void reap(void)
{
	struct conn *c;

	while ((c = ag.graveyard)) {
		ag.graveyard = c->next;
		dpa_result_free(&c->res);
		free(c->in);
		free(c->out);
		free(c->bin);
		free(c->bout);
		free(c);
	}
}

static void conn_write(struct conn *c);

/* Queue the response in c->res (or status/body) and start writing. */
static void conn_respond(struct conn *c)
{
	backend_close(c);
	if (!c->res.body)
		dpa_error(&c->res, c->res.status ? c->res.status : 500, "internal error");
	c->status = c->res.body ? c->res.status : 500;
	c->out = dpa_http_response(c->status, c->res.body ? c->res.body : "",
				   c->res.body ? c->res.body_len : 0, &c->out_len);
	log_request(c);
	if (!c->out) {
		conn_free(c);
		return;
	}
	ag.served++;
	c->state = S_WRITE;
	c->deadline = now_ms() + ag.timeout_ms;
	struct epoll_event e = { .events = EPOLLOUT, .data.ptr = &c->t };

	epoll_ctl(ag.ep, EPOLL_CTL_MOD, c->t.fd, &e);
	conn_write(c);
}

static void conn_error(struct conn *c, int status, const char *why)
{
	dpa_error(&c->res, status, "%s", why);
	conn_respond(c);
}

static void conn_write(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->t.fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			conn_free(c);	/* the client went away */
			return;
		}
		c->out_off += (size_t)w;
	}
	shutdown(c->t.fd, SHUT_WR);
	conn_free(c);
}

static int backend_watch(struct conn *c, int fd, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = &c->bt };

	c->bt.fd = fd;
	if (epoll_ctl(ag.ep, EPOLL_CTL_ADD, fd, &e)) {
		close(fd);
		c->bt.fd = -1;
		return -errno;
	}
	return 0;
}

/* Start the QGS exchange for c->res.tdreport. */
static void start_quote(struct conn *c)
{
	uint8_t msg[DP_QGS_REQ_LEN];
	int64_t dl = now_ms() + (ag.qgs_timeout_ms < 2000 ? ag.qgs_timeout_ms : 2000);
	int fd, err;

	dp_qgs_encode_req(c->res.tdreport, msg);
	fd = dp_qgs_connect(&ag.qgs, dl);
	if (fd < 0) {
		dpa_finish_quote(&ag.ops, &c->res, fd, NULL, 0);
		conn_respond(c);
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->bout = malloc(DP_QGS_REQ_LEN + 4);
	if (!c->bout) {
		close(fd);
		conn_error(c, 500, "out of memory");
		return;
	}
	c->bout[0] = (uint8_t)(DP_QGS_REQ_LEN >> 24);
	c->bout[1] = (uint8_t)(DP_QGS_REQ_LEN >> 16);
	c->bout[2] = (uint8_t)(DP_QGS_REQ_LEN >> 8);
	c->bout[3] = (uint8_t)DP_QGS_REQ_LEN;
	memcpy(c->bout + 4, msg, DP_QGS_REQ_LEN);
	c->bout_len = DP_QGS_REQ_LEN + 4;
	c->upstream = 0;
	err = backend_watch(c, fd, EPOLLOUT | EPOLLIN);
	if (err) {
		conn_error(c, 500, "epoll");
		return;
	}
	c->state = S_BACKEND;
	c->deadline = now_ms() + ag.qgs_timeout_ms;
}

static void start_upstream(struct conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char head[256];
	size_t bl = strlen(c->res.upstream_body);
	int fd, hl;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ag.upstream);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
		       errno != EINPROGRESS && errno != EAGAIN)) {
		if (fd >= 0)
			close(fd);
		conn_error(c, 502, "the upstream dstack agent cannot be reached");
		return;
	}
	hl = snprintf(head, sizeof(head),
		      "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		      c->res.upstream_path, bl);
	c->bout = malloc((size_t)hl + bl);
	if (!c->bout) {
		close(fd);
		conn_error(c, 500, "out of memory");
		return;
	}
	memcpy(c->bout, head, (size_t)hl);
	memcpy(c->bout + hl, c->res.upstream_body, bl);
	c->bout_len = (size_t)hl + bl;
	c->upstream = 1;
	if (backend_watch(c, fd, EPOLLOUT | EPOLLIN)) {
		conn_error(c, 500, "epoll");
		return;
	}
	c->state = S_BACKEND;
	c->deadline = now_ms() + ag.qgs_timeout_ms;
}

/* The upstream agent's reply: its status and body go to the client. */
static void finish_upstream(struct conn *c)
{
	const char *b = (const char *)c->bin, *end;
	int st;

	end = c->bin_len >= 4 ? memmem(b, c->bin_len, "\r\n\r\n", 4) : NULL;
	if (c->bin_len < 12 || memcmp(b, "HTTP/1.", 7) || !end ||
	    sscanf(b + 9, "%3d", &st) != 1 || st < 200 || st > 599) {
		conn_error(c, 502, "malformed reply from the upstream dstack agent");
		return;
	}
	free(c->res.body);
	c->res.body_len = c->bin_len - (size_t)(end + 4 - b);
	c->res.body = malloc(c->res.body_len + 1);
	if (!c->res.body) {
		conn_error(c, 500, "out of memory");
		return;
	}
	memcpy(c->res.body, end + 4, c->res.body_len);
	c->res.body[c->res.body_len] = '\0';
	c->res.status = st;
	conn_respond(c);
}

static void backend_event(struct conn *c, uint32_t ev)
{
	while (c->bout_off < c->bout_len) {
		ssize_t w = send(c->bt.fd, c->bout + c->bout_off,
				 c->bout_len - c->bout_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOTCONN)
				return;
			goto fail;
		}
		c->bout_off += (size_t)w;
		if (c->bout_off == c->bout_len) {
			struct epoll_event e = { .events = EPOLLIN, .data.ptr = &c->bt };

			epoll_ctl(ag.ep, EPOLL_CTL_MOD, c->bt.fd, &e);
		}
	}
	if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		size_t cap = c->upstream ? UPSTREAM_MAX : DP_QGS_MAX_RESP + 4;
		ssize_t r;

		if (c->bin_len == c->bin_cap) {
			size_t nc = c->bin_cap ? c->bin_cap * 2 : 8192;
			uint8_t *nb;

			if (nc > cap + 1)
				nc = cap + 1;
			if (c->bin_len >= nc)
				goto toolarge;
			nb = realloc(c->bin, nc);
			if (!nb)
				goto fail;
			c->bin = nb;
			c->bin_cap = nc;
		}
		r = recv(c->bt.fd, c->bin + c->bin_len, c->bin_cap - c->bin_len,
			 MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			goto fail;
		}
		if (r == 0) {
			if (c->upstream) {
				finish_upstream(c);
				return;
			}
			goto fail;
		}
		c->bin_len += (size_t)r;
		if (!c->upstream && c->bin_len >= 4) {
			size_t want = (size_t)c->bin[0] << 24 | (size_t)c->bin[1] << 16 |
				      (size_t)c->bin[2] << 8 | c->bin[3];
			const uint8_t *q;
			size_t ql;
			uint32_t code;
			int err;

			if (want > DP_QGS_MAX_RESP || want < DP_QGS_HEADER_LEN) {
				dp_seterr(EPROTO, "QGS reply of %zu bytes", want);
				goto qfail;
			}
			if (c->bin_len < want + 4)
				continue;
			err = dp_qgs_decode_resp(c->bin + 4, want, &code, &q, &ql);
			dpa_finish_quote(&ag.ops, &c->res, err, q, ql);
			conn_respond(c);
			return;
		}
	}
toolarge:
	if (c->upstream) {
		conn_error(c, 502, "reply from the upstream dstack agent too large");
		return;
	}
	dp_seterr(EMSGSIZE, "QGS reply too large");
	goto qfail;
fail:
	if (c->upstream) {
		conn_error(c, 502, "the upstream dstack agent failed");
		return;
	}
	dp_seterr(EPROTO, "the QGS closed the connection or failed");
qfail:
	dpa_finish_quote(&ag.ops, &c->res, -EPROTO, NULL, 0);
	conn_respond(c);
}

static void client_read(struct conn *c)
{
	const char *why = NULL;
	int st;

	for (;;) {
		size_t cap = DPA_MAX_HEAD + ag.max_body;
		ssize_t r;

		if (c->in_len == c->in_cap) {
			size_t nc = c->in_cap ? c->in_cap * 2 : 4096;
			char *nb;

			if (nc > cap + 1)
				nc = cap + 1;
			if (c->in_len >= nc) {
				conn_error(c, 413, "request too large");
				return;
			}
			nb = realloc(c->in, nc);
			if (!nb) {
				conn_error(c, 503, "out of memory");
				return;
			}
			c->in = nb;
			c->in_cap = nc;
		}
		r = recv(c->t.fd, c->in + c->in_len, c->in_cap - c->in_len,
			 MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			conn_free(c);
			return;
		}
		if (r == 0) {
			/* The client closed before a whole request: nothing to answer. */
			if (c->in_len)
				fprintf(stderr, "dstack-pod-agent: pod=- method=- status=0 client closed mid-request after %zu bytes\n",
					c->in_len);
			conn_free(c);
			return;
		}
		c->in_len += (size_t)r;
		st = dpa_http_parse(c->in, c->in_len, ag.max_body, &c->req, &why);
		if (st == 0)
			continue;
		if (st != 1) {
			conn_error(c, st, why);
			return;
		}
		break;
	}
	/* One request per connection: stop reading, answer. */
	{
		struct epoll_event e = { .events = 0, .data.ptr = &c->t };

		epoll_ctl(ag.ep, EPOLL_CTL_MOD, c->t.fd, &e);
	}
	dpa_handle(&ag.ops, &c->req, c->t.fd, &c->res);
	if (c->res.need_quote)
		start_quote(c);
	else if (c->res.need_upstream)
		start_upstream(c);
	else
		conn_respond(c);
}

static void refuse(int fd)
{
	static const char msg[] =
		"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 48\r\nConnection: close\r\n\r\n"
		"{\"error\":\"too many connections, try again later\"}";

	/* Best effort: the socket buffer of a new connection takes it. */
	if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		(void)0;
	close(fd);
	ag.refused++;
}

static void accept_all(struct tag *l)
{
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				fprintf(stderr, "dstack-pod-agent: accept: %s\n",
					strerror(errno));
			return;
		}
		if (ag.nconns >= ag.max_conns) {
			refuse(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			refuse(fd);
			continue;
		}
		c->t.type = T_CLIENT;
		c->t.fd = fd;
		c->t.c = c;
		c->bt.type = T_BACKEND;
		c->bt.fd = -1;
		c->bt.c = c;
		c->state = S_READ;
		c->start = now_ms();
		c->deadline = c->start + ag.timeout_ms;
		struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = &c->t };

		if (epoll_ctl(ag.ep, EPOLL_CTL_ADD, fd, &e)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = ag.conns;
		if (ag.conns)
			ag.conns->prev = c;
		ag.conns = c;
		ag.nconns++;
	}
}

/* Connections past their deadline: 408 while reading, 504 on the QGS. */
static int expire(void)
{
	int64_t now = now_ms(), next = -1;
	struct conn *c, *n;

	for (c = ag.conns; c; c = n) {
		n = c->next;
		if (c->deadline <= now) {
			if (c->state == S_READ)
				conn_error(c, 408, "request not received in time");
			else if (c->state == S_BACKEND) {
				dp_seterr(ETIMEDOUT, "no reply in %d ms", ag.qgs_timeout_ms);
				if (c->upstream)
					conn_error(c, 504, "the upstream dstack agent did not answer in time");
				else {
					dpa_finish_quote(&ag.ops, &c->res, -ETIMEDOUT, NULL, 0);
					conn_respond(c);
				}
			} else {
				conn_free(c);	/* the client does not read */
			}
			continue;
		}
		if (next < 0 || c->deadline - now < next)
			next = (int)(c->deadline - now);
	}
	return next < 0 ? -1 : (int)next + 1;
}

static int listen_on(const char *path, mode_t mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event e;
	struct tag *t;
	int fd;

	if (ag.nlisten >= MAX_SOCKETS) {
		fprintf(stderr, "dstack-pod-agent: at most %d sockets\n", MAX_SOCKETS);
		return -1;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "dstack-pod-agent: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, mode) ||
	    listen(fd, 1024)) {
		fprintf(stderr, "dstack-pod-agent: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	t = &ag.listen[ag.nlisten++];
	t->type = T_LISTEN;
	t->fd = fd;
	e.events = EPOLLIN;
	e.data.ptr = t;
	return epoll_ctl(ag.ep, EPOLL_CTL_ADD, fd, &e);
}

static void on_signal(int sig)
{
	(void)sig;
	ag.stop = 1;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: dstack-pod-agent --socket PATH [--socket PATH]... [--qgs ADDR]\n"
		"         [--max-conns N] [--max-body BYTES] [--timeout-ms MS] [--qgs-timeout-ms MS]\n"
		"         [--upstream PATH] [--dstack-event-log FILE] [--socket-mode OCTAL]\n");
	return 2;
}

static int num_arg(const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || *end || !*s || *out < lo || *out > hi ? -1 : 0;
}

int main(int argc, char **argv)
{
	enum { O_SOCK = 1, O_QGS, O_MAXC, O_MAXB, O_TMO, O_QTMO, O_UP, O_DLOG,
	       O_MODE };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, O_SOCK },
		{ "qgs", required_argument, NULL, O_QGS },
		{ "max-conns", required_argument, NULL, O_MAXC },
		{ "max-body", required_argument, NULL, O_MAXB },
		{ "timeout-ms", required_argument, NULL, O_TMO },
		{ "qgs-timeout-ms", required_argument, NULL, O_QTMO },
		{ "upstream", required_argument, NULL, O_UP },
		{ "dstack-event-log", required_argument, NULL, O_DLOG },
		{ "socket-mode", required_argument, NULL, O_MODE },
		{ NULL, 0, NULL, 0 },
	};
	const char *socks[MAX_SOCKETS], *qgs = NULL;
	int nsocks = 0, opt, i;
	long v;
	mode_t mode = 0666;
	struct epoll_event evs[64];
	struct sigaction sa;
	struct rlimit rl;

	ag.max_conns = DEF_MAX_CONNS;
	ag.max_body = DEF_MAX_BODY;
	ag.timeout_ms = DEF_TIMEOUT_MS;
	ag.qgs_timeout_ms = DEF_QGS_TIMEOUT_MS;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case O_SOCK:
			if (nsocks >= MAX_SOCKETS)
				return usage();
			socks[nsocks++] = optarg;
			break;
		case O_QGS: qgs = optarg; break;
		case O_MAXC:
			if (num_arg(optarg, 1, 65536, &v))
				return usage();
			ag.max_conns = (unsigned int)v;
			break;
		case O_MAXB:
			if (num_arg(optarg, 64, 1 << 20, &v))
				return usage();
			ag.max_body = (size_t)v;
			break;
		case O_TMO:
			if (num_arg(optarg, 10, 600000, &v))
				return usage();
			ag.timeout_ms = (int)v;
			break;
		case O_QTMO:
			if (num_arg(optarg, 10, 600000, &v))
				return usage();
			ag.qgs_timeout_ms = (int)v;
			break;
		case O_UP:
			if (optarg[0] != '/' || strlen(optarg) >= 108)
				return usage();
			ag.upstream = optarg;
			break;
		case O_DLOG: ag.dstack_log = optarg; break;
		case O_MODE: {
			char *end;

			v = strtol(optarg, &end, 8);
			if (*end || v < 0 || v > 0777)
				return usage();
			mode = (mode_t)v;
			break;
		}
		default:
			return usage();
		}
	}
	if (optind != argc || !nsocks)
		return usage();
	if (qgs ? dp_qgs_addr_parse(&ag.qgs, qgs) : dp_qgs_addr_default(&ag.qgs, NULL)) {
		fprintf(stderr, "dstack-pod-agent: --qgs: %s\n", dp_errmsg());
		return 2;
	}
	/* Connections, backends, listeners and a margin must fit in the fd limit. */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rlim_t need = (rlim_t)ag.max_conns * 2 + 64;

		if (rl.rlim_cur < need) {
			rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur < need) {
			fprintf(stderr, "dstack-pod-agent: --max-conns %u needs %llu descriptors, the limit is %llu\n",
				ag.max_conns, (unsigned long long)need,
				(unsigned long long)rl.rlim_cur);
			return 1;
		}
	}
	if (dp_open(&ag.dev)) {
		fprintf(stderr, "dstack-pod-agent: %s\n", dp_errmsg());
		return 1;
	}
	if (dp_sysfs_read("backend", ag.backend, sizeof(ag.backend)) || !ag.backend[0])
		snprintf(ag.backend, sizeof(ag.backend), "unknown");
	ag.ops.attest = op_attest;
	ag.ops.rtmr3_log = op_rtmr3_log;
	ag.ops.pod_log = op_pod_log;
	ag.ops.pod_extend = op_pod_extend;
	ag.ops.backend = ag.backend;
	ag.ops.have_upstream = ag.upstream != NULL;
	ag.ep = epoll_create1(EPOLL_CLOEXEC);
	if (ag.ep < 0)
		return 1;
	for (i = 0; i < nsocks; i++)
		if (listen_on(socks[i], mode))
			return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	{
		char q[160];

		dp_qgs_addr_format(&ag.qgs, q, sizeof(q));
		fprintf(stderr, "dstack-pod-agent: listening on %s%s (qgs %s, max %u connections, body %zu bytes, deadline %d ms)\n",
			socks[0], nsocks > 1 ? " and more" : "", q, ag.max_conns,
			ag.max_body, ag.timeout_ms);
	}
	/* A line on stdout tells a supervisor (or a test) the sockets are up. */
	printf("ready\n");
	fflush(stdout);
	while (!ag.stop) {
		int n = epoll_wait(ag.ep, evs, 64, expire());

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("dstack-pod-agent: epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;

			if (t->type == T_LISTEN) {
				accept_all(t);
				continue;
			}
			{
				struct conn *c = t->c;

				if (c->dead)
					continue;
				if (t->type == T_BACKEND) {
					if (c->state == S_BACKEND && c->bt.fd >= 0)
						backend_event(c, evs[i].events);
				} else if (c->state == S_READ) {
					client_read(c);
				} else if (c->state == S_WRITE) {
					conn_write(c);
				} else if (evs[i].events & (EPOLLHUP | EPOLLERR)) {
					conn_free(c);	/* gone while we wait on the QGS */
				}
			}
		}
		reap();
	}
	while (ag.conns)
		conn_free(ag.conns);
	reap();
	for (i = 0; i < ag.nlisten; i++)
		close(ag.listen[i].fd);
	fprintf(stderr, "dstack-pod-agent: stopping (%llu requests served, %llu connections refused)\n",
		ag.served, ag.refused);
	dp_close(&ag.dev);
	return 0;
}
