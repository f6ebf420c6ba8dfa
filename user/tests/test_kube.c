// SPDX-License-Identifier: GPL-2.0
/*
 * Kubernetes API client tests (user/lib/runtime/kube.c): kubeconfig loading and
 * its refusals, then dp_kube_get_pod() against `openssl s_server` playing
 * the API server with client-certificate authentication, over certificates
 * generated at run time (a CA, a server certificate for IP 127.0.0.1, a
 * client certificate, and an unrelated CA).
 *
 * s_server -WWW answers "200 ok" with an error text for missing files, so
 * most checks use -HTTP, where each file holds a whole HTTP answer (404,
 * 403, a redirect, ...); one check uses -WWW.  Each server is started with
 * PR_SET_PDEATHSIG and killed at exit, so none outlives the test.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "tap.h"
#include "node/dstackpod.h"
#include "runtime/kube.h"
#include "runtime/spec.h"

#define POD_UID "2b1f6c1e-6a4a-4f57-9d1b-3f8e0c7a5d21"
#define TIMEOUT_MS 30000L

static char tmpdir[64];
static pid_t servers[8];
static int nservers;
static int http_port, www_port;

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int has(const char *needle)
{
	if (strstr(dp_errmsg(), needle))
		return 1;
	tap_diag("message \"%s\" lacks \"%s\"", dp_errmsg(), needle);
	return 0;
}

/* ret is -want and the message has each needle (NULL-terminated list). */
static int fails(int ret, int want, const char *n1, const char *n2)
{
	int ok = 1;

	if (ret != -want) {
		tap_diag("got %d (%s), want %d (%s)", ret,
			 ret < 0 ? strerror(-ret) : "success", -want,
			 strerror(want));
		ok = 0;
	}
	if (ret < 0)
		tap_diag("  -> %s", dp_errmsg());
	if (n1 && !has(n1))
		ok = 0;
	if (n2 && !has(n2))
		ok = 0;
	return ok;
}

static void path_of(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", tmpdir, rel);
}

static int write_file(const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int write_file(const char *rel, const char *fmt, ...)
{
	char path[256];
	va_list ap;
	FILE *f;
	int ok;

	path_of(path, sizeof(path), rel);
	f = fopen(path, "w");
	if (!f)
		return -1;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ok = !ferror(f);
	return fclose(f) == 0 && ok ? 0 : -1;
}

static char *b64_file(const char *rel)
{
	char path[256], *out = NULL;
	unsigned char *buf;
	long n;
	FILE *f;

	path_of(path, sizeof(path), rel);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		out = malloc(((size_t)n + 2) / 3 * 4 + 1);
		if (out)
			EVP_EncodeBlock((unsigned char *)out, buf, (int)n);
	}
	free(buf);
	fclose(f);
	return out;
}

/* tmpdir/REL contains needle. */
static int file_has(const char *rel, const char *needle)
{
	char path[256], buf[16384];
	size_t n;
	FILE *f;

	path_of(path, sizeof(path), rel);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- certificates and server files -------------------------------------- */

static int make_certs(void)
{
	static const char * const ca[] = { "ca", "ca2" };
	static const char * const leaf[] = { "srv", "cli" };
	int i;

	for (i = 0; i < 2; i++)
		if (sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key -out %s.pem -subj /CN=test-%s -days 2 >>openssl.log 2>&1",
		       tmpdir, ca[i], ca[i], ca[i]))
			return -1;
	if (write_file("srv.ext", "subjectAltName=IP:127.0.0.1\n") ||
	    write_file("cli.ext", "extendedKeyUsage=clientAuth\n"))
		return -1;
	for (i = 0; i < 2; i++)
		if (sh("cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key -out %s.csr -subj /CN=%s >>openssl.log 2>&1 && openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile %s.ext -out %s.pem >>openssl.log 2>&1",
		       tmpdir, leaf[i], leaf[i],
		       i ? "system:node:node-1" : "kube-apiserver",
		       leaf[i], leaf[i], leaf[i]))
			return -1;
	return 0;
}

static const char *pod_json(const char *name, const char *kind,
			    const char *uid)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"kind\":\"%s\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"shop\"%s%s%s},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx:1.25\"}]}}\n",
		 kind, name, uid ? ",\"uid\":\"" : "", uid ? uid : "",
		 uid ? "\"" : "");
	return buf;
}

#define PODS "api/v1/namespaces/shop/pods/"
#define H200 "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n"

static int make_docroots(void)
{
	char path[256];
	FILE *f;
	int i, ret = 0;

	if (sh("mkdir -p %s/http/" PODS " %s/www/" PODS, tmpdir, tmpdir))
		return -1;
	ret |= write_file("www/" PODS "web", "%s", pod_json("web", "Pod", POD_UID));
	ret |= write_file("http/" PODS "web", H200 "%s",
			  pod_json("web", "Pod", POD_UID));
	ret |= write_file("http/" PODS "ghost",
			  "HTTP/1.0 404 Not Found\r\nContent-Type: application/json\r\n\r\n"
			  "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"pods \\\"ghost\\\" not found\",\"reason\":\"NotFound\",\"code\":404}\n");
	ret |= write_file("http/" PODS "secret",
			  "HTTP/1.0 403 Forbidden\r\nContent-Type: application/json\r\n\r\n"
			  "{\"kind\":\"Status\",\"message\":\"pods \\\"secret\\\" is forbidden: no relationship found between node 'node-1' and this object\",\"code\":403}\n");
	ret |= write_file("http/" PODS "anon",
			  "HTTP/1.0 401 Unauthorized\r\n\r\n");
	ret |= write_file("http/" PODS "boom",
			  "HTTP/1.0 500 Internal Server Error\r\n\r\noops\n");
	ret |= write_file("http/" PODS "moved",
			  "HTTP/1.0 302 Found\r\nLocation: /" PODS "web\r\n\r\n");
	ret |= write_file("http/" PODS "cm", H200 "%s",
			  pod_json("cm", "ConfigMap", POD_UID));
	ret |= write_file("http/" PODS "other", H200 "%s",
			  pod_json("someone-else", "Pod", POD_UID));
	ret |= write_file("http/" PODS "noid", H200 "%s",
			  pod_json("noid", "Pod", NULL));
	ret |= write_file("http/" PODS "garbage", H200 "<html>hello</html>\n");
	ret |= write_file("http/" PODS "trailing", H200 "%s{}",
			  pod_json("trailing", "Pod", POD_UID));
	ret |= write_file("http/" PODS "empty", H200);
	/* 5 MiB: over the 4 MiB cap */
	path_of(path, sizeof(path), "http/" PODS "huge");
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(H200 "{\"kind\":\"Pod\",\"pad\":\"", f);
	for (i = 0; i < 5 * 1024; i++)
		fprintf(f, "%01024d", 0);
	fputs("\"}\n", f);
	ret |= fclose(f);
	return ret ? -1 : 0;
}

/* ---- servers ------------------------------------------------------------ */

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd, port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* A listening socket that never accepts: connections hang in the backlog. */
static int silent_listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int can_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd, ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void kill_servers(void)
{
	int i;

	for (i = 0; i < nservers; i++) {
		if (servers[i] <= 0)
			continue;
		kill(servers[i], SIGKILL);
		waitpid(servers[i], NULL, 0);
		servers[i] = 0;
	}
}

static void on_signal(int sig)
{
	kill_servers();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * openssl s_server MODE (-WWW or -HTTP) serving tmpdir/DOCROOT; its port.
 * With MODE NULL, an echo server for one connection: it logs what the
 * client sends to LOG and never answers (*in keeps its stdin open).
 */
static int start_server(const char *mode, const char *docroot,
			const char *logname, int *in)
{
	char dir[256], log[256], addr[32], cert[256], key[256], ca[256];
	pid_t parent = getpid(), pid;
	int port, i, st, pfd[2] = { -1, -1 };

	port = free_port();
	if (port < 0 || nservers >= (int)(sizeof(servers) / sizeof(servers[0])))
		return -1;
	if (!mode && pipe2(pfd, O_CLOEXEC))
		return -1;
	path_of(dir, sizeof(dir), docroot);
	path_of(log, sizeof(log), logname);
	path_of(cert, sizeof(cert), "srv.pem");
	path_of(key, sizeof(key), "srv.key");
	path_of(ca, sizeof(ca), "ca.pem");
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* die with the test, even when it crashes */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (chdir(dir) || !freopen(log, "a", stdout) ||
		    !freopen(log, "a", stderr))
			_exit(127);
		if (!mode && dup2(pfd[0], 0) < 0)
			_exit(127);
		if (mode)
			execlp("openssl", "openssl", "s_server", mode, "-quiet",
			       "-accept", addr, "-cert", cert, "-key", key,
			       "-CAfile", ca, "-Verify", "1",
			       "-verify_return_error", (char *)NULL);
		else
			execlp("openssl", "openssl", "s_server", "-naccept", "1",
			       "-accept", addr, "-cert", cert, "-key", key,
			       "-CAfile", ca, "-Verify", "1",
			       "-verify_return_error", (char *)NULL);
		_exit(127);
	}
	servers[nservers++] = pid;
	if (!mode) {
		close(pfd[0]);
		*in = pfd[1];
		/* no probe: this server takes one connection only */
		for (i = 0; i < 6000 && !file_has(logname, "ACCEPT"); i++)
			usleep(10000);
		return i < 6000 ? port : -1;
	}
	for (i = 0; i < 6000; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			servers[nservers - 1] = 0;
			return -1;
		}
		if (can_connect(port))
			return port;
		usleep(10000);
	}
	return -1;
}

/* ---- kubeconfigs --------------------------------------------------------- */

/* A kubeconfig with one context "node", cluster "c" and user "u". */
static int write_kc(const char *rel, const char *cluster, const char *user)
{
	return write_file(rel,
			  "{\"apiVersion\":\"v1\",\"kind\":\"Config\",\"current-context\":\"node\",\n"
			  " \"contexts\":[{\"name\":\"node\",\"context\":{\"cluster\":\"c\",\"user\":\"u\"}}],\n"
			  " \"clusters\":[{\"name\":\"c\",\"cluster\":{%s}}],\n"
			  " \"users\":[{\"name\":\"u\",\"user\":{%s}}]}\n",
			  cluster, user);
}

static int load(const char *rel, struct dp_kubeconfig *kc)
{
	char path[256];

	path_of(path, sizeof(path), rel);
	return dp_kubeconfig_load(path, kc);
}

static char server_url[64];

#define CLUSTER_FILE "\"server\":\"%s\",\"certificate-authority\":\"../ca.pem\""
#define USER_FILE "\"client-certificate\":\"../cli.pem\",\"client-key\":\"../cli.key\""

/* A refused kubeconfig: the errno and a part of the message. */
static void refused(const char *what, const char *cluster, const char *user,
		    int want, const char *needle)
{
	struct dp_kubeconfig kc;
	int ret;

	if (write_kc("kc/bad.json", cluster, user)) {
		tap_ok(0, "%s: write kubeconfig", what);
		return;
	}
	ret = load("kc/bad.json", &kc);
	tap_ok(fails(ret, want, needle, NULL) && !kc.server, "%s", what);
	dp_kubeconfig_free(&kc);
}

static void test_load(void)
{
	char cl[4096], user[4096], want[256];
	char *ca64 = b64_file("ca.pem"), *cert64 = b64_file("cli.pem");
	char *key64 = b64_file("cli.key"), *big;
	struct dp_kubeconfig kc;
	int ret;

	if (sh("mkdir -p %s/kc", tmpdir) || !ca64 || !cert64 || !key64) {
		tap_ok(0, "kubeconfig test setup");
		goto out;
	}

	/* file references relative to the kubeconfig's directory */
	snprintf(cl, sizeof(cl), CLUSTER_FILE, "https://127.0.0.1:8443/");
	write_kc("kc/files.json", cl, USER_FILE);
	ret = load("kc/files.json", &kc);
	path_of(want, sizeof(want), "kc/../ca.pem");
	tap_ok(ret == 0 && !strcmp(kc.server, "https://127.0.0.1:8443") &&
	       kc.ca_file && !strcmp(kc.ca_file, want) && !kc.ca_pem &&
	       kc.cert_file && strstr(kc.cert_file, "kc/../cli.pem") &&
	       kc.key_file && strstr(kc.key_file, "kc/../cli.key") &&
	       !kc.cert_pem && !kc.key_pem && !kc.token && !kc.insecure,
	       "load: files resolved against the kubeconfig's directory, trailing '/' dropped");
	if (ret)
		tap_diag("%s", dp_errmsg());
	dp_kubeconfig_free(&kc);

	/* inline base64 */
	snprintf(cl, sizeof(cl),
		 "\"server\":\"https://127.0.0.1:8443\",\"certificate-authority-data\":\"%s\"",
		 ca64);
	snprintf(user, sizeof(user),
		 "\"client-certificate-data\":\"%s\",\"client-key-data\":\"%s\"",
		 cert64, key64);
	write_kc("kc/data.json", cl, user);
	ret = load("kc/data.json", &kc);
	tap_ok(ret == 0 && kc.ca_pem && kc.cert_pem && kc.key_pem &&
	       !strncmp(kc.ca_pem, "-----BEGIN CERTIFICATE-----", 27) &&
	       !strncmp(kc.key_pem, "-----BEGIN PRIVATE KEY-----", 27) &&
	       !kc.ca_file && !kc.cert_file && !kc.key_file,
	       "load: certificate-authority-data, client-certificate-data, client-key-data decoded");
	dp_kubeconfig_free(&kc);

	/* tokens */
	snprintf(cl, sizeof(cl), CLUSTER_FILE, "https://127.0.0.1:8443");
	write_file("kc/token", "abc.def-ghi_123\n");
	write_kc("kc/tokfile.json", cl, "\"tokenFile\":\"token\"");
	ret = load("kc/tokfile.json", &kc);
	tap_ok(ret == 0 && kc.token && !strcmp(kc.token, "abc.def-ghi_123") &&
	       !kc.cert_file, "load: tokenFile read, trailing newline dropped");
	dp_kubeconfig_free(&kc);
	write_kc("kc/tok.json", cl, "\"token\":\"sekrit\"");
	ret = load("kc/tok.json", &kc);
	tap_ok(ret == 0 && kc.token && !strcmp(kc.token, "sekrit"),
	       "load: inline token");
	dp_kubeconfig_free(&kc);

	/* refusals */
	snprintf(cl, sizeof(cl), CLUSTER_FILE, "http://127.0.0.1:8080");
	refused("load: http:// server refused", cl, USER_FILE, EPERM,
		"clusters[\"c\"].cluster.server");
	snprintf(cl, sizeof(cl), CLUSTER_FILE ",\"insecure-skip-tls-verify\":true",
		 "https://127.0.0.1:8443");
	refused("load: insecure-skip-tls-verify refused", cl, USER_FILE, EPERM,
		"insecure-skip-tls-verify");
	snprintf(cl, sizeof(cl), CLUSTER_FILE ",\"insecure-skip-tls-verify\":false",
		 "https://127.0.0.1:8443");
	write_kc("kc/secure.json", cl, USER_FILE);
	ret = load("kc/secure.json", &kc);
	tap_ok(ret == 0, "load: insecure-skip-tls-verify false accepted");
	dp_kubeconfig_free(&kc);
	snprintf(cl, sizeof(cl), CLUSTER_FILE ",\"insecure-skip-tls-verify\":\"yes\"",
		 "https://127.0.0.1:8443");
	refused("load: insecure-skip-tls-verify of the wrong type", cl,
		USER_FILE, EINVAL, "is not a boolean");
	snprintf(cl, sizeof(cl), CLUSTER_FILE, "https://127.0.0.1:8443");
	refused("load: exec credential plugin refused", cl,
		"\"exec\":{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"command\":\"/bin/sh\"}",
		EOPNOTSUPP, "users[\"u\"].user.exec");
	refused("load: auth-provider refused", cl,
		"\"auth-provider\":{\"name\":\"oidc\"}", EOPNOTSUPP,
		"auth-provider");
	refused("load: basic auth refused", cl,
		"\"username\":\"a\",\"password\":\"b\"", EOPNOTSUPP,
		"basic authentication");
	refused("load: token with a line break refused", cl,
		"\"token\":\"abc\\r\\nX-Evil: 1\"", EINVAL, "user.token");
	refused("load: token and tokenFile both set", cl,
		"\"token\":\"a\",\"tokenFile\":\"token\"", EINVAL, "both");
	refused("load: client certificate without key", cl,
		"\"client-certificate\":\"../cli.pem\"", EINVAL, "client key");
	refused("load: missing client-key file", cl,
		"\"client-certificate\":\"../cli.pem\",\"client-key\":\"nope.key\"",
		ENOENT, "user.client-key");
	refused("load: client-certificate of the wrong type", cl,
		"\"client-certificate\":[\"../cli.pem\"],\"client-key\":\"../cli.key\"",
		EINVAL, "client-certificate is not a string");
	refused("load: server missing",
		"\"certificate-authority\":\"../ca.pem\"", USER_FILE, EINVAL,
		"cluster.server is missing");
	refused("load: server of the wrong type",
		"\"server\":8443,\"certificate-authority\":\"../ca.pem\"",
		USER_FILE, EINVAL, "server is not a string");
	snprintf(cl, sizeof(cl), CLUSTER_FILE, "ftp://127.0.0.1");
	refused("load: other scheme refused", cl, USER_FILE, EINVAL,
		"not an https:// URL");
	snprintf(cl, sizeof(cl), CLUSTER_FILE, "https://user@127.0.0.1");
	refused("load: user info in server refused", cl, USER_FILE, EINVAL,
		"server");
	refused("load: no CA refused", "\"server\":\"https://127.0.0.1\"",
		USER_FILE, EINVAL, "neither certificate-authority");
	snprintf(cl, sizeof(cl), CLUSTER_FILE ",\"certificate-authority-data\":\"%s\"",
		 "https://127.0.0.1", ca64);
	refused("load: certificate-authority and -data both set", cl,
		USER_FILE, EINVAL, "both certificate-authority and");
	refused("load: bad base64 (bad character)",
		"\"server\":\"https://127.0.0.1\",\"certificate-authority-data\":\"LS0t*S1C\"",
		USER_FILE, EINVAL, "certificate-authority-data is not valid base64");
	refused("load: bad base64 (length)",
		"\"server\":\"https://127.0.0.1\",\"certificate-authority-data\":\"LS0tLS1\"",
		USER_FILE, EINVAL, "is not valid base64");
	refused("load: bad base64 (padding inside)",
		"\"server\":\"https://127.0.0.1\",\"certificate-authority-data\":\"LS=tLS1C\"",
		USER_FILE, EINVAL, "is not valid base64");
	refused("load: base64 that is not PEM",
		"\"server\":\"https://127.0.0.1\",\"certificate-authority-data\":\"aGVsbG8=\"",
		USER_FILE, EINVAL, "does not decode to PEM");
	snprintf(cl, sizeof(cl), CLUSTER_FILE ",\"proxy-url\":\"http://proxy:3128\"",
		 "https://127.0.0.1");
	refused("load: proxy-url refused", cl, USER_FILE, EOPNOTSUPP,
		"proxy-url");

	write_file("kc/noctx.json",
		   "{\"current-context\":\"gone\",\"contexts\":[{\"name\":\"node\",\"context\":{\"cluster\":\"c\"}}],\"clusters\":[]}");
	ret = load("kc/noctx.json", &kc);
	tap_ok(fails(ret, EINVAL, "contexts: no entry named \"gone\"", NULL),
	       "load: current-context names a missing context");
	write_file("kc/nocur.json", "{\"contexts\":[]}");
	ret = load("kc/nocur.json", &kc);
	tap_ok(fails(ret, EINVAL, "current-context is missing", NULL),
	       "load: no current-context");
	write_file("kc/nocl.json",
		   "{\"current-context\":\"node\",\"contexts\":[{\"name\":\"node\",\"context\":{\"cluster\":\"prod\",\"user\":\"u\"}}],\"clusters\":[{\"name\":\"dev\",\"cluster\":{}}]}");
	ret = load("kc/nocl.json", &kc);
	tap_ok(fails(ret, EINVAL, "clusters: no entry named \"prod\"", NULL),
	       "load: context names a missing cluster");
	snprintf(cl, sizeof(cl), CLUSTER_FILE, "https://127.0.0.1");
	write_file("kc/nouser.json",
		   "{\"current-context\":\"node\",\"contexts\":[{\"name\":\"node\",\"context\":{\"cluster\":\"c\",\"user\":\"kubelet\"}}],\"clusters\":[{\"name\":\"c\",\"cluster\":{%s}}],\"users\":[]}",
		   cl);
	ret = load("kc/nouser.json", &kc);
	tap_ok(fails(ret, EINVAL, "users: no entry named \"kubelet\"", NULL),
	       "load: context names a missing user");
	write_file("kc/dup.json",
		   "{\"current-context\":\"node\",\"contexts\":[{\"name\":\"node\",\"context\":{\"cluster\":\"c\"}},{\"name\":\"node\",\"context\":{\"cluster\":\"d\"}}]}");
	ret = load("kc/dup.json", &kc);
	tap_ok(fails(ret, EINVAL, "defined twice", NULL),
	       "load: a context defined twice");
	write_file("kc/list.json", "[1, 2]");
	ret = load("kc/list.json", &kc);
	tap_ok(fails(ret, EINVAL, "not a mapping", NULL),
	       "load: top level not a mapping");
	write_file("kc/kind.json", "{\"kind\":\"Pod\"}");
	ret = load("kc/kind.json", &kc);
	tap_ok(fails(ret, EINVAL, "not Config", NULL), "load: kind not Config");
	write_file("kc/broken.json", "{\"current-context\": [");
	ret = load("kc/broken.json", &kc);
	tap_ok(ret < 0 && !kc.server && has("kc/broken.json"),
	       "load: unparsable kubeconfig refused, file named");
	tap_diag("  -> %s", dp_errmsg());
	ret = load("kc/missing.json", &kc);
	tap_ok(fails(ret, ENOENT, "kc/missing.json", NULL),
	       "load: missing kubeconfig");

	/* size limits */
	big = malloc((1 << 20) + 2);
	if (big) {
		memset(big, ' ', (1 << 20) + 1);
		big[(1 << 20) + 1] = '\0';
		big[0] = '{';
		big[1 << 20] = '}';
		write_file("kc/big.json", "%s", big);
		ret = load("kc/big.json", &kc);
		tap_ok(fails(ret, EFBIG, "larger than 1048576 bytes", NULL),
		       "load: kubeconfig over 1 MiB refused");
		write_file("kc/big.pem", "%s", big);
		refused("load: certificate-authority file over 1 MiB refused",
			"\"server\":\"https://127.0.0.1\",\"certificate-authority\":\"big.pem\"",
			USER_FILE, EFBIG, "certificate-authority: ");
		free(big);
	}
out:
	free(ca64);
	free(cert64);
	free(key64);
}

/* ---- fetching ----------------------------------------------------------- */

static int uid_is(struct json_object *pod, const char *uid)
{
	struct json_object *m, *v;

	return pod && json_object_object_get_ex(pod, "metadata", &m) &&
	       json_object_object_get_ex(m, "uid", &v) &&
	       !strcmp(json_object_get_string(v), uid);
}

static int get(const char *kcfile, const char *ns, const char *name,
	       long timeout_ms, struct json_object **pod)
{
	struct dp_kubeconfig kc;
	int ret;

	*pod = NULL;
	ret = load(kcfile, &kc);
	if (ret) {
		tap_diag("load %s: %s", kcfile, dp_errmsg());
		return -1000;
	}
	ret = dp_kube_get_pod(&kc, ns, name, timeout_ms, pod);
	dp_kubeconfig_free(&kc);
	return ret;
}

static void get_fails(const char *what, const char *kcfile, const char *name,
		      int want, const char *n1, const char *n2)
{
	struct json_object *pod;
	int ret;

	ret = get(kcfile, "shop", name, TIMEOUT_MS, &pod);
	tap_ok(fails(ret, want, n1, n2) && !pod, "%s", what);
	json_object_put(pod);
}

static void test_fetch(void)
{
	char cl[4096], user[4096], *ca64, *cert64, *key64;
	struct dp_kubeconfig kc;
	struct json_object *pod;
	int ret;

	snprintf(server_url, sizeof(server_url), "https://127.0.0.1:%d",
		 http_port);
	snprintf(cl, sizeof(cl), CLUSTER_FILE, server_url);
	write_kc("kc/good.json", cl, USER_FILE);
	ret = get("kc/good.json", "shop", "web", TIMEOUT_MS, &pod);
	tap_ok(ret == 0 && uid_is(pod, POD_UID),
	       "get: the Pod over client-certificate TLS (files), uid checked");
	if (ret)
		tap_diag("%s", dp_errmsg());
	json_object_put(pod);

	ca64 = b64_file("ca.pem");
	cert64 = b64_file("cli.pem");
	key64 = b64_file("cli.key");
	if (ca64 && cert64 && key64) {
		snprintf(cl, sizeof(cl),
			 "\"server\":\"%s\",\"certificate-authority-data\":\"%s\"",
			 server_url, ca64);
		snprintf(user, sizeof(user),
			 "\"client-certificate-data\":\"%s\",\"client-key-data\":\"%s\"",
			 cert64, key64);
		write_kc("kc/gooddata.json", cl, user);
		ret = get("kc/gooddata.json", "shop", "web", TIMEOUT_MS, &pod);
		tap_ok(ret == 0 && uid_is(pod, POD_UID),
		       "get: the Pod with CA, certificate and key as base64 data");
		if (ret)
			tap_diag("%s", dp_errmsg());
		json_object_put(pod);
		/* mixed: CA data, certificate file, key data, and a token */
		snprintf(user, sizeof(user),
			 "\"client-certificate\":\"../cli.pem\",\"client-key-data\":\"%s\",\"token\":\"t0k3n\"",
			 key64);
		write_kc("kc/mixed.json", cl, user);
		ret = get("kc/mixed.json", "shop", "web", TIMEOUT_MS, &pod);
		tap_ok(ret == 0 && uid_is(pod, POD_UID),
		       "get: mixed files and data, with a bearer token");
		json_object_put(pod);
	} else {
		tap_ok(0, "base64 of the test certificates");
	}
	free(ca64);
	free(cert64);
	free(key64);

	/* TLS failures */
	snprintf(cl, sizeof(cl), CLUSTER_FILE, server_url);
	write_kc("kc/nocert.json", cl, "");
	get_fails("get: no client certificate -> EPROTO (server's TLS alert)",
		  "kc/nocert.json", "web", EPROTO, "certificate required",
		  server_url);
	snprintf(cl, sizeof(cl),
		 "\"server\":\"%s\",\"certificate-authority\":\"../ca2.pem\"",
		 server_url);
	write_kc("kc/wrongca.json", cl, USER_FILE);
	get_fails("get: server certificate from another CA -> EPROTO",
		  "kc/wrongca.json", "web", EPROTO, "certificate", NULL);
	snprintf(cl, sizeof(cl),
		 "\"server\":\"https://localhost:%d\",\"certificate-authority\":\"../ca.pem\"",
		 http_port);
	write_kc("kc/wronghost.json", cl, USER_FILE);
	get_fails("get: server certificate not for the host name -> EPROTO",
		  "kc/wronghost.json", "web", EPROTO, "localhost", NULL);

	snprintf(cl, sizeof(cl), CLUSTER_FILE, server_url);
	write_kc("kc/wrongkey.json", cl,
		 "\"client-certificate\":\"../cli.pem\",\"client-key\":\"../srv.key\"");
	get_fails("get: client key not matching the certificate -> EPROTO",
		  "kc/wrongkey.json", "web", EPROTO, "private key", NULL);

	/* HTTP statuses and bodies */
	get_fails("get: 404 -> ENOENT, with the Status message", "kc/good.json",
		  "ghost", ENOENT, "HTTP status 404", "pods \"ghost\" not found");
	get_fails("get: 403 -> EACCES", "kc/good.json", "secret", EACCES,
		  "HTTP status 403", "forbidden");
	get_fails("get: 401 -> EACCES", "kc/good.json", "anon", EACCES,
		  "HTTP status 401", NULL);
	get_fails("get: 500 -> EPROTO", "kc/good.json", "boom", EPROTO,
		  "HTTP status 500", NULL);
	get_fails("get: redirect not followed -> EPROTO", "kc/good.json",
		  "moved", EPROTO, "HTTP status 302", NULL);
	get_fails("get: s_server's text for a missing file -> EBADMSG",
		  "kc/good.json", "nothere", EBADMSG, "not JSON", NULL);
	get_fails("get: HTML body -> EBADMSG", "kc/good.json", "garbage",
		  EBADMSG, "not JSON", NULL);
	get_fails("get: empty body -> EBADMSG", "kc/good.json", "empty",
		  EBADMSG, "not JSON", NULL);
	get_fails("get: JSON followed by more JSON -> EBADMSG", "kc/good.json",
		  "trailing", EBADMSG, "not JSON", NULL);
	get_fails("get: a ConfigMap -> EBADMSG", "kc/good.json", "cm", EBADMSG,
		  "kind is not Pod", NULL);
	get_fails("get: another Pod's object -> EBADMSG", "kc/good.json",
		  "other", EBADMSG, "metadata.name", NULL);
	get_fails("get: Pod without uid -> EBADMSG", "kc/good.json", "noid",
		  EBADMSG, "metadata.uid", NULL);
	get_fails("get: 5 MiB body -> EBADMSG (4 MiB cap)", "kc/good.json",
		  "huge", EBADMSG, "larger than 4194304", NULL);

	/* arguments refused before any I/O */
	ret = load("kc/good.json", &kc);
	if (!ret) {
		tap_ok(fails(dp_kube_get_pod(&kc, "Shop", "web", TIMEOUT_MS, &pod),
			     EINVAL, "DNS-1123 label", NULL) && !pod,
		       "get: namespace with capitals refused");
		tap_ok(fails(dp_kube_get_pod(&kc, "shop", "../../secrets/x",
					     TIMEOUT_MS, &pod),
			     EINVAL, "DNS-1123 subdomain", NULL),
		       "get: name with '/' refused");
		tap_ok(fails(dp_kube_get_pod(&kc, "shop", "web%2f", TIMEOUT_MS,
					     &pod), EINVAL, NULL, NULL) &&
		       fails(dp_kube_get_pod(&kc, "a-", "web", TIMEOUT_MS, &pod),
			     EINVAL, NULL, NULL) &&
		       fails(dp_kube_get_pod(&kc, "shop", "web..x", TIMEOUT_MS,
					     &pod), EINVAL, NULL, NULL),
		       "get: '%%', trailing '-', empty label refused");
		ret = dp_kube_get_pod(&kc, "shop", "web.v1-2", TIMEOUT_MS, &pod);
		tap_ok(ret == -EBADMSG && has("/pods/web.v1-2"),
		       "get: dotted Pod name accepted (s_server has no such file)");
		json_object_put(pod);
		tap_ok(fails(dp_kube_get_pod(&kc, "shop", "web", 0, &pod),
			     EINVAL, "timeout", NULL),
		       "get: timeout 0 refused");
		dp_kubeconfig_free(&kc);
	} else {
		tap_ok(0, "load kc/good.json: %s", dp_errmsg());
	}

	/* s_server -WWW, the form the end-to-end test uses */
	if (www_port > 0) {
		snprintf(cl, sizeof(cl),
			 "\"server\":\"https://127.0.0.1:%d/\",\"certificate-authority\":\"../ca.pem\"",
			 www_port);
		write_kc("kc/www.json", cl, USER_FILE);
		ret = get("kc/www.json", "shop", "web", TIMEOUT_MS, &pod);
		tap_ok(ret == 0 && uid_is(pod, POD_UID),
		       "get: the Pod from s_server -WWW (HTTP/1.0, text/plain)");
		if (ret)
			tap_diag("%s", dp_errmsg());
		json_object_put(pod);
	}
}

/*
 * Without libcurl: in a child with its own mount namespace, /dev/null
 * bind-mounted over libcurl.so.4, dp_kube_get_pod() fails with ENOSYS.
 * Runs before anything loads libcurl in this process (needs root).
 */
static void test_no_curl(void)
{
	char line[512], lib[PATH_MAX], msg[512] = "", *p;
	struct json_object *pod;
	struct dp_kubeconfig kc;
	int pfd[2], ret = 0, st;
	ssize_t n;
	FILE *f;
	pid_t pid;

	lib[0] = '\0';
	f = popen("/sbin/ldconfig -p 2>/dev/null", "r");
	while (f && fgets(line, sizeof(line), f)) {
		p = strstr(line, "=> ");
		if (!strncmp(line, "\tlibcurl.so.4 ", 14) && p && !lib[0] &&
		    realpath(strtok(p + 3, "\n"), lib) == NULL)
			lib[0] = '\0';
	}
	if (f)
		pclose(f);
	if (!lib[0] || geteuid() != 0 || pipe(pfd)) {
		tap_diag("no libcurl-less check: needs root and ldconfig");
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("/dev/null", lib, NULL, MS_BIND, NULL)) {
			ret = -9999;
		} else if (load("kc/good.json", &kc) == 0) {
			ret = dp_kube_get_pod(&kc, "shop", "web", TIMEOUT_MS, &pod);
			json_object_put(pod);
			dp_kubeconfig_free(&kc);
		}
		snprintf(msg, sizeof(msg), "%d %s", ret, dp_errmsg());
		n = write(pfd[1], msg, strlen(msg));
		_exit(n < 0);	/* not exit(): the servers are the parent's */
	}
	close(pfd[1]);
	n = pid > 0 ? read(pfd[0], msg, sizeof(msg) - 1) : -1;
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	msg[n > 0 ? n : 0] = '\0';
	if (!strncmp(msg, "-9999", 5)) {
		tap_diag("no libcurl-less check: cannot bind-mount over %s", lib);
		return;
	}
	tap_diag("  -> %s", msg);
	tap_ok(atoi(msg) == -ENOSYS && strstr(msg, "cannot load libcurl.so.4"),
	       "get: libcurl missing -> ENOSYS, clear message");
}

/* The kubeconfig forms kubeadm writes for the kubelet, in YAML. */
static void test_yaml(void)
{
	struct json_object *pod;
	char *ca64 = b64_file("ca.pem");
	int ret;

	if (sh("mkdir -p %s/pki && cat %s/cli.pem %s/cli.key >%s/pki/kubelet-client-current.pem",
	       tmpdir, tmpdir, tmpdir, tmpdir) || !ca64) {
		tap_ok(0, "YAML test setup");
		free(ca64);
		return;
	}
	write_file("kc/kubelet.conf",
		   "apiVersion: v1\n"
		   "clusters:\n"
		   "- cluster:\n"
		   "    certificate-authority-data: %s\n"
		   "    server: https://127.0.0.1:%d\n"
		   "  name: default-cluster\n"
		   "contexts:\n"
		   "- context:\n"
		   "    cluster: default-cluster\n"
		   "    namespace: default\n"
		   "    user: default-auth\n"
		   "  name: default-context\n"
		   "current-context: default-context\n"
		   "kind: Config\n"
		   "preferences: {}\n"
		   "users:\n"
		   "- name: default-auth\n"
		   "  user:\n"
		   "    # certificate and key in one file, rotated by the kubelet\n"
		   "    client-certificate: ../pki/kubelet-client-current.pem\n"
		   "    client-key: ../pki/kubelet-client-current.pem\n",
		   ca64, http_port);
	ret = get("kc/kubelet.conf", "shop", "web", TIMEOUT_MS, &pod);
	tap_ok(ret == 0 && uid_is(pod, POD_UID),
	       "yaml: kubeadm's kubelet.conf (CA data, one PEM with certificate and key)");
	if (ret)
		tap_diag("%s", dp_errmsg());
	json_object_put(pod);
	free(ca64);

	write_file("kc/insecure.yaml",
		   "current-context: node\n"
		   "contexts: [{name: node, context: {cluster: c}}]\n"
		   "clusters:\n"
		   "- name: c\n"
		   "  cluster:\n"
		   "    server: https://127.0.0.1:%d\n"
		   "    certificate-authority: ../ca.pem\n"
		   "    insecure-skip-tls-verify: true\n", http_port);
	ret = get("kc/insecure.yaml", "shop", "web", TIMEOUT_MS, &pod);
	tap_ok(ret == -1000 && has("insecure-skip-tls-verify is true"),
	       "yaml: insecure-skip-tls-verify: true refused");
	write_file("kc/quoted.yaml",
		   "current-context: node\n"
		   "contexts: [{name: node, context: {cluster: c}}]\n"
		   "clusters:\n"
		   "- name: c\n"
		   "  cluster:\n"
		   "    server: https://127.0.0.1:%d\n"
		   "    certificate-authority: ../ca.pem\n"
		   "    insecure-skip-tls-verify: \"true\"\n", http_port);
	ret = get("kc/quoted.yaml", "shop", "web", TIMEOUT_MS, &pod);
	tap_ok(ret == -1000 && has("insecure-skip-tls-verify is not a boolean"),
	       "yaml: a quoted \"true\" is a string, refused");
	write_file("kc/exec.yaml",
		   "current-context: node\n"
		   "contexts: [{name: node, context: {cluster: c, user: u}}]\n"
		   "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', certificate-authority: ../ca.pem}}]\n"
		   "users:\n"
		   "- name: u\n"
		   "  user:\n"
		   "    exec:\n"
		   "      apiVersion: client.authentication.k8s.io/v1beta1\n"
		   "      command: aws\n"
		   "      args: [eks, get-token]\n");
	ret = get("kc/exec.yaml", "shop", "web", TIMEOUT_MS, &pod);
	tap_ok(ret == -1000 && has("users[\"u\"].user.exec"),
	       "yaml: exec plugin refused");
	write_file("kc/two.yaml", "current-context: a\n---\ncurrent-context: b\n");
	ret = get("kc/two.yaml", "shop", "web", TIMEOUT_MS, &pod);
	tap_ok(ret == -1000 && has("kc/two.yaml") && has("second YAML document"),
	       "yaml: two documents refused, file named");
}

/* What goes on the wire: request line and headers; proxies ignored. */
static void test_request(void)
{
	char cl[512], *log;
	struct json_object *pod;
	int port, in = -1, ret, i;

	port = start_server(NULL, ".", "echo.log", &in);
	if (port < 0) {
		tap_ok(0, "echo server started");
		return;
	}
	snprintf(cl, sizeof(cl),
		 "\"server\":\"https://127.0.0.1:%d\",\"certificate-authority\":\"../ca.pem\"",
		 port);
	write_kc("kc/echo.json", cl, USER_FILE ",\"token\":\"t0k3n.x\"");
	/* a dead proxy: used, it would turn this into ECONNREFUSED */
	setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);
	setenv("https_proxy", "http://127.0.0.1:9", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:9", 1);
	/*
	 * The echo server never answers, so this ends in ETIMEDOUT; the
	 * deadline is long enough for the TLS handshake and the request to
	 * get through on a loaded machine, which is all the check below needs.
	 */
	ret = get("kc/echo.json", "kube-system", "coredns-5d78c9869d-x7k2q",
		  10000, &pod);
	unsetenv("HTTPS_PROXY");
	unsetenv("https_proxy");
	unsetenv("ALL_PROXY");
	tap_ok(fails(ret, ETIMEDOUT, NULL, NULL),
	       "request: TLS up, no HTTP answer -> ETIMEDOUT; HTTPS_PROXY ignored");
	for (i = 0; i < 6000 && !file_has("echo.log", "\r\n\r\n") &&
	     !file_has("echo.log", "\n\n"); i++)
		usleep(10000);
	log = "echo.log";
	tap_ok(file_has(log, "GET /api/v1/namespaces/kube-system/pods/coredns-5d78c9869d-x7k2q HTTP/1.1") &&
	       file_has(log, "Host: 127.0.0.1:") &&
	       file_has(log, "Accept: application/json") &&
	       file_has(log, "Authorization: Bearer t0k3n.x") &&
	       file_has(log, "User-Agent: dstack-pod") &&
	       file_has(log, "subject=CN = system:node:node-1"),
	       "request: path, Accept, Bearer token and client certificate on the wire");
	close(in);
}

static void test_network(void)
{
	char cl[512];
	struct json_object *pod;
	int64_t t0, dt;
	int port, fd, ret;

	port = free_port();
	snprintf(cl, sizeof(cl),
		 "\"server\":\"https://127.0.0.1:%d\",\"certificate-authority\":\"../ca.pem\"",
		 port);
	write_kc("kc/closed.json", cl, USER_FILE);
	t0 = mono_us();
	ret = get("kc/closed.json", "shop", "web", TIMEOUT_MS, &pod);
	dt = mono_us() - t0;
	/* Refused at once: it must not sit out the timeout first. */
	tap_ok(fails(ret, ECONNREFUSED, NULL, NULL) && dt < TIMEOUT_MS * 1000LL,
	       "get: closed port -> ECONNREFUSED in %lld ms", (long long)dt / 1000);

	fd = silent_listener(&port);
	if (fd < 0) {
		tap_ok(0, "silent listener");
		return;
	}
	snprintf(cl, sizeof(cl),
		 "\"server\":\"https://127.0.0.1:%d\",\"certificate-authority\":\"../ca.pem\"",
		 port);
	write_kc("kc/silent.json", cl, USER_FILE);
	t0 = mono_us();
	ret = get("kc/silent.json", "shop", "web", 500, &pod);
	dt = mono_us() - t0;
	/* The listener never answers: only the deadline ends the call. */
	tap_ok(fails(ret, ETIMEDOUT, NULL, NULL) && dt >= 490000 &&
	       dt < 120000000,
	       "get: server that never answers -> ETIMEDOUT after %lld ms (timeout 500)",
	       (long long)dt / 1000);
	close(fd);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_timing(void)
{
	struct dp_kubeconfig kc;
	struct json_object *pod;
	int64_t t[20], t0;
	int i, ok = 1;

	if (load("kc/good.json", &kc)) {
		tap_ok(0, "timing: load");
		return;
	}
	for (i = 0; i < 20; i++) {
		t0 = mono_us();
		ok &= dp_kube_get_pod(&kc, "shop", "web", TIMEOUT_MS, &pod) == 0;
		t[i] = mono_us() - t0;
		json_object_put(pod);
	}
	dp_kubeconfig_free(&kc);
	qsort(t, 20, sizeof(t[0]), cmp_i64);
	tap_ok(ok, "timing: 20 fetches succeed");
	tap_diag("dp_kube_get_pod on loopback (ASan build): median %lld us, min %lld us, max %lld us",
		 (long long)(t[9] + t[10]) / 2, (long long)t[0],
		 (long long)t[19]);
}

int main(void)
{
	char cmd[128];
	int rc;

	tap_start();
	signal(SIGPIPE, SIG_IGN);
	atexit(kill_servers);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_kube.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	if (make_certs() || make_docroots()) {
		printf("Bail out! cannot create certificates or files in %s (openssl.log)\n",
		       tmpdir);
		return 1;
	}
	test_load();
	http_port = start_server("-HTTP", "http", "s_server.log", NULL);
	www_port = start_server("-WWW", "www", "s_server.log", NULL);
	if (!tap_ok(http_port > 0 && www_port > 0,
		    "openssl s_server -HTTP and -WWW started"))
		tap_diag("see %s/s_server.log", tmpdir);
	if (http_port > 0) {
		write_kc("kc/good.json", "\"server\":\"https://127.0.0.1:1\",\"certificate-authority\":\"../ca.pem\"",
			 USER_FILE);
		test_no_curl();
		test_fetch();
		test_yaml();
		test_request();
		test_network();
		test_timing();
	}
	kill_servers();
	rc = tap_end();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (rc)
		tap_diag("kept %s for inspection", tmpdir);
	else if (system(cmd))
		tap_diag("could not remove %s", tmpdir);
	return rc;
}
