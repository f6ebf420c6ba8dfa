// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-runtime: one Pod from the Kubernetes API server with a kubeconfig's
 * credentials (kube.h, Documentation/kube-client.rst).
 *
 * The kubeconfig is read with dp_yaml_parse() (YAML or JSON).  libcurl is
 * loaded with dlopen() the first time a Pod is fetched: most runs of
 * dstack-podctl never talk to the API server and should not pay for
 * libcurl and its dependencies.  (The OCI hook does not link this: it runs
 * `dstack-podctl spec-hash --apiserver`.)  Only https is spoken, the server is always verified
 * against the kubeconfig's CA (never the system store), proxies are not
 * used and redirects are not followed.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/curl_dl.h"
#include "common/dpcommon.h"
#include "kube.h"
#include "spec.h"

#define KUBECONFIG_MAX		(1u << 20)	/* the kubeconfig itself */
#define KUBE_FILE_MAX		(1u << 20)	/* files it refers to */
#define KUBE_BODY_MAX		(4u << 20)	/* the API server's answer */
#define KUBE_SERVER_MAX		2048
#define KUBE_TOKEN_MAX		(64u << 10)
#define KUBE_JSON_DEPTH		64

/* ---- kubeconfig --------------------------------------------------------- */

struct kc_ctx {
	const char *path;	/* the kubeconfig, for messages */
	char *dir;		/* its directory, for relative file names */
};

static int kc_err(const struct kc_ctx *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int kc_err(const struct kc_ctx *c, int err, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return dp_seterr(err, "kubeconfig %s: %s", c->path, msg);
}

/*
 * Open a regular file of at most max bytes; with out, read it whole
 * (NUL-terminated).  what names the key for messages (NULL for the
 * kubeconfig itself).
 */
static int kc_file(const struct kc_ctx *c, const char *what, const char *path,
		   size_t max, char **out, size_t *lenp)
{
	const char *sep = what ? ": " : "";
	char subj[320] = "";
	struct stat st;
	size_t len = 0;
	char *buf;
	ssize_t n;
	int fd, err;

	if (what)
		snprintf(subj, sizeof(subj), "%s: %s", what, path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err = errno;
		return kc_err(c, err, "%s%scannot open", subj, sep);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return kc_err(c, EINVAL, "%s%snot a regular file", subj, sep);
	}
	if ((unsigned long long)st.st_size > max) {
		close(fd);
		return kc_err(c, EFBIG, "%s%slarger than %zu bytes", subj, sep,
			      max);
	}
	if (!out) {
		close(fd);
		return 0;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return dp_seterr(ENOMEM, "reading %s", path);
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			close(fd);
			free(buf);
			return kc_err(c, err, "%s%sread error", subj, sep);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	if (lenp)
		*lenp = len;
	return 0;
}

/*
 * obj[key] as a string: *out NULL when absent or null, an error when of
 * another type, empty or holding a NUL byte.
 */
static int kc_str(const struct kc_ctx *c, struct json_object *obj,
		  const char *where, const char *key, const char **out)
{
	const char *dot = *where ? "." : "";
	struct json_object *v;
	const char *s;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return kc_err(c, EINVAL, "%s%s%s is not a string", where, dot,
			      key);
	s = json_object_get_string(v);
	if (!*s)
		return kc_err(c, EINVAL, "%s%s%s is empty", where, dot, key);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return kc_err(c, EINVAL, "%s%s%s holds a NUL byte", where, dot,
			      key);
	*out = s;
	return 0;
}

static int kc_has(struct json_object *obj, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, key, &v) && v;
}

/* A file name from the kubeconfig, relative ones against its directory. */
static int kc_path(const struct kc_ctx *c, const char *what, const char *name,
		   char **out)
{
	size_t dl, nl = strlen(name);

	if (name[0] == '/') {
		*out = strdup(name);
	} else {
		dl = strlen(c->dir);
		*out = malloc(dl + 1 + nl + 1);
		if (*out) {
			memcpy(*out, c->dir, dl);
			(*out)[dl] = '/';
			memcpy(*out + dl + 1, name, nl + 1);
		}
	}
	if (!*out)
		return dp_seterr(ENOMEM, "%s", what);
	return 0;
}

static int b64_char(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
}

/*
 * Standard base64 (whitespace ignored, padding required) that must decode
 * to PEM text: no NUL bytes, a "-----BEGIN " line.
 */
static int kc_pem_data(const struct kc_ctx *c, const char *where,
		       const char *key, const char *in, char **out)
{
	size_t n = strlen(in), i, k = 0, pad = 0;
	unsigned char *clean, *dec;
	int dn, ret = 0;

	clean = malloc(n + 1);
	if (!clean)
		return dp_seterr(ENOMEM, "%s.%s", where, key);
	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)in[i]))
			clean[k++] = (unsigned char)in[i];
	while (pad < 2 && pad < k && clean[k - 1 - pad] == '=')
		pad++;
	for (i = 0; i < k - pad; i++)
		if (!b64_char(clean[i]))
			break;
	if (k == 0 || k % 4 || i != k - pad) {
		OPENSSL_cleanse(clean, n + 1);
		free(clean);
		return kc_err(c, EINVAL, "%s.%s is not valid base64", where,
			      key);
	}
	dec = malloc(k / 4 * 3 + 1);
	if (!dec) {
		free(clean);
		return dp_seterr(ENOMEM, "%s.%s", where, key);
	}
	dn = EVP_DecodeBlock(dec, clean, (int)k);
	OPENSSL_cleanse(clean, n + 1);
	free(clean);
	if (dn < 0 || (size_t)dn != k / 4 * 3) {
		ret = kc_err(c, EINVAL, "%s.%s is not valid base64", where, key);
	} else {
		dn -= (int)pad;
		dec[dn] = '\0';
		if (memchr(dec, '\0', (size_t)dn) ||
		    !strstr((char *)dec, "-----BEGIN "))
			ret = kc_err(c, EINVAL, "%s.%s does not decode to PEM text",
				     where, key);
	}
	if (ret) {
		OPENSSL_cleanse(dec, k / 4 * 3 + 1);
		free(dec);
		return ret;
	}
	*out = (char *)dec;
	return 0;
}

/*
 * One credential or trust anchor given either as a file (file_key) or
 * inline base64 (data_key), not both.
 */
static int kc_pem(const struct kc_ctx *c, struct json_object *obj,
		  const char *where, const char *file_key,
		  const char *data_key, char **file, char **pem)
{
	const char *f, *d;
	char what[224];
	int ret;

	ret = kc_str(c, obj, where, file_key, &f);
	if (!ret)
		ret = kc_str(c, obj, where, data_key, &d);
	if (ret)
		return ret;
	if (f && d)
		return kc_err(c, EINVAL, "%s: both %s and %s are set", where,
			      file_key, data_key);
	if (d)
		return kc_pem_data(c, where, data_key, d, pem);
	if (!f)
		return 0;
	snprintf(what, sizeof(what), "%s.%s", where, file_key);
	ret = kc_path(c, what, f, file);
	if (!ret)
		ret = kc_file(c, what, *file, KUBE_FILE_MAX, NULL, NULL);
	return ret;
}

/* contexts / clusters / users: a list of {name: N, ITEM: {...}}. */
static int kc_named(const struct kc_ctx *c, struct json_object *root,
		    const char *list, const char *item, const char *name,
		    struct json_object **out)
{
	struct json_object *arr, *e, *n, *v;
	size_t i, len;

	*out = NULL;
	if (!json_object_object_get_ex(root, list, &arr) || !arr)
		return kc_err(c, EINVAL, "no %s list (looking for \"%.64s\")",
			      list, name);
	if (!json_object_is_type(arr, json_type_array))
		return kc_err(c, EINVAL, "%s is not a list", list);
	len = json_object_array_length(arr);
	for (i = 0; i < len; i++) {
		e = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(e, json_type_object))
			return kc_err(c, EINVAL, "%s[%zu] is not a mapping",
				      list, i);
		if (!json_object_object_get_ex(e, "name", &n) ||
		    !json_object_is_type(n, json_type_string))
			return kc_err(c, EINVAL,
				      "%s[%zu].name is missing or not a string",
				      list, i);
		if (strcmp(json_object_get_string(n), name))
			continue;
		if (*out)
			return kc_err(c, EINVAL, "%s: \"%.64s\" is defined twice",
				      list, name);
		if (!json_object_object_get_ex(e, item, &v) ||
		    !json_object_is_type(v, json_type_object))
			return kc_err(c, EINVAL,
				      "%s[\"%.64s\"].%s is missing or not a mapping",
				      list, name, item);
		*out = v;
	}
	if (!*out)
		return kc_err(c, EINVAL, "%s: no entry named \"%.64s\"", list,
			      name);
	return 0;
}

static int kc_server(const struct kc_ctx *c, const char *where,
		     const char *url, char **out)
{
	size_t n = strlen(url), i;
	const char *host;

	if (!strncasecmp(url, "http://", 7))
		return kc_err(c, EPERM,
			      "%s.server %.128s: plain http is refused, the API server must be reached over https://",
			      where, url);
	if (strncasecmp(url, "https://", 8))
		return kc_err(c, EINVAL,
			      "%s.server \"%.128s\" is not an https:// URL",
			      where, url);
	if (n > KUBE_SERVER_MAX)
		return kc_err(c, EINVAL, "%s.server is longer than %d bytes",
			      where, KUBE_SERVER_MAX);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)url[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' ||
		    ch == '@' || ch == '\\')
			return kc_err(c, EINVAL,
				      "%s.server: character 0x%02x at offset %zu is not allowed (no user info, query or fragment)",
				      where, ch, i);
	}
	host = url + 8;
	if (!*host || *host == '/')
		return kc_err(c, EINVAL, "%s.server %.128s has no host",
			      where, url);
	*out = strdup(url);
	if (!*out)
		return dp_seterr(ENOMEM, "%s.server", where);
	/* https://h/ -> https://h, so that "/api/..." can be appended */
	while (n > 8 && (*out)[n - 1] == '/')
		(*out)[--n] = '\0';
	return 0;
}

static int kc_cluster(const struct kc_ctx *c, struct json_object *cl,
		      const char *where, struct dp_kubeconfig *kc)
{
	static const char * const unsupported[] = {
		"proxy-url", "tls-server-name",
	};
	struct json_object *v;
	const char *s;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (kc_has(cl, unsupported[i]))
			return kc_err(c, EOPNOTSUPP, "%s.%s is not supported",
				      where, unsupported[i]);
	if (json_object_object_get_ex(cl, "insecure-skip-tls-verify", &v) && v) {
		if (!json_object_is_type(v, json_type_boolean))
			return kc_err(c, EINVAL,
				      "%s.insecure-skip-tls-verify is not a boolean",
				      where);
		if (json_object_get_boolean(v)) {
			kc->insecure = 1;
			return kc_err(c, EPERM,
				      "%s.insecure-skip-tls-verify is true: refused, the API server must be verified",
				      where);
		}
	}
	ret = kc_str(c, cl, where, "server", &s);
	if (ret)
		return ret;
	if (!s)
		return kc_err(c, EINVAL, "%s.server is missing", where);
	ret = kc_server(c, where, s, &kc->server);
	if (ret)
		return ret;
	ret = kc_pem(c, cl, where, "certificate-authority",
		     "certificate-authority-data", &kc->ca_file, &kc->ca_pem);
	if (ret)
		return ret;
	if (!kc->ca_file && !kc->ca_pem)
		return kc_err(c, EINVAL,
			      "%s has neither certificate-authority nor certificate-authority-data (the system CA store is not used)",
			      where);
	return 0;
}

/* A bearer token goes into an HTTP header: visible ASCII only. */
static int kc_token(const struct kc_ctx *c, const char *what, char *tok)
{
	size_t n = strlen(tok), i;

	while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' ||
		     tok[n - 1] == ' ' || tok[n - 1] == '\t'))
		tok[--n] = '\0';
	if (!n)
		return kc_err(c, EINVAL, "%s is empty", what);
	if (n > KUBE_TOKEN_MAX)
		return kc_err(c, EINVAL, "%s is longer than %u bytes", what,
			      KUBE_TOKEN_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)tok[i] <= 0x20 ||
		    (unsigned char)tok[i] >= 0x7f)
			return kc_err(c, EINVAL,
				      "%s: character 0x%02x at offset %zu is not allowed in a bearer token",
				      what, (unsigned char)tok[i], i);
	return 0;
}

static int kc_user(const struct kc_ctx *c, struct json_object *u,
		   const char *where, struct dp_kubeconfig *kc)
{
	static const struct {
		const char *key, *why;
	} unsupported[] = {
		{ "exec", "credential plugins are not run; use a client certificate or a token" },
		{ "auth-provider", "auth-provider plugins are not supported; use a client certificate or a token" },
		{ "username", "basic authentication is not supported" },
		{ "password", "basic authentication is not supported" },
		{ "as", "impersonation is not supported" },
		{ "as-uid", "impersonation is not supported" },
		{ "as-groups", "impersonation is not supported" },
		{ "as-user-extra", "impersonation is not supported" },
	};
	const char *tok, *tokfile;
	char what[224], *path = NULL;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (kc_has(u, unsupported[i].key))
			return kc_err(c, EOPNOTSUPP, "%s.%s: %s", where,
				      unsupported[i].key, unsupported[i].why);
	ret = kc_pem(c, u, where, "client-certificate",
		     "client-certificate-data", &kc->cert_file, &kc->cert_pem);
	if (!ret)
		ret = kc_pem(c, u, where, "client-key", "client-key-data",
			     &kc->key_file, &kc->key_pem);
	if (ret)
		return ret;
	if ((kc->cert_file || kc->cert_pem) != (kc->key_file || kc->key_pem))
		return kc_err(c, EINVAL,
			      "%s: a client certificate needs a client key and the other way round",
			      where);

	ret = kc_str(c, u, where, "token", &tok);
	if (!ret)
		ret = kc_str(c, u, where, "tokenFile", &tokfile);
	if (ret)
		return ret;
	if (tok && tokfile)
		return kc_err(c, EINVAL, "%s: both token and tokenFile are set",
			      where);
	if (tok) {
		kc->token = strdup(tok);
		if (!kc->token)
			return dp_seterr(ENOMEM, "%s.token", where);
		snprintf(what, sizeof(what), "%s.token", where);
		return kc_token(c, what, kc->token);
	}
	if (tokfile) {
		snprintf(what, sizeof(what), "%s.tokenFile", where);
		ret = kc_path(c, what, tokfile, &path);
		if (!ret)
			ret = kc_file(c, what, path, KUBE_FILE_MAX, &kc->token,
				      NULL);
		free(path);
		if (!ret)
			ret = kc_token(c, what, kc->token);
		return ret;
	}
	return 0;
}

static int kc_resolve(const struct kc_ctx *c, struct json_object *root,
		      struct dp_kubeconfig *kc)
{
	struct json_object *ctx, *cl, *u;
	const char *cur, *kind, *cname, *uname;
	char where[160];
	int ret;

	if (!json_object_is_type(root, json_type_object))
		return kc_err(c, EINVAL, "not a mapping");
	ret = kc_str(c, root, "", "kind", &kind);
	if (ret)
		return ret;
	if (kind && strcmp(kind, "Config"))
		return kc_err(c, EINVAL, "kind is \"%.64s\", not Config", kind);
	ret = kc_str(c, root, "", "current-context", &cur);
	if (ret)
		return ret;
	if (!cur)
		return kc_err(c, EINVAL, "current-context is missing");
	ret = kc_named(c, root, "contexts", "context", cur, &ctx);
	if (ret)
		return ret;
	snprintf(where, sizeof(where), "contexts[\"%.64s\"].context", cur);
	ret = kc_str(c, ctx, where, "cluster", &cname);
	if (!ret)
		ret = kc_str(c, ctx, where, "user", &uname);
	if (ret)
		return ret;
	if (!cname)
		return kc_err(c, EINVAL, "%s.cluster is missing", where);

	ret = kc_named(c, root, "clusters", "cluster", cname, &cl);
	if (ret)
		return ret;
	snprintf(where, sizeof(where), "clusters[\"%.64s\"].cluster", cname);
	ret = kc_cluster(c, cl, where, kc);
	if (ret || !uname)
		return ret;

	ret = kc_named(c, root, "users", "user", uname, &u);
	if (ret)
		return ret;
	snprintf(where, sizeof(where), "users[\"%.64s\"].user", uname);
	return kc_user(c, u, where, kc);
}

int dp_kubeconfig_load(const char *path, struct dp_kubeconfig *kc)
{
	struct kc_ctx c = { .path = path };
	struct json_object *root = NULL;
	char *buf = NULL, *slash;
	size_t len = 0;
	int ret;

	memset(kc, 0, sizeof(*kc));
	if (!path || !*path)
		return dp_seterr(EINVAL, "no kubeconfig given");
	c.dir = strdup(path);
	if (!c.dir)
		return dp_seterr(ENOMEM, "kubeconfig");
	slash = strrchr(c.dir, '/');
	if (!slash)
		strcpy(c.dir, ".");
	else if (slash == c.dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (!strcmp(c.dir, "/"))
		c.dir[0] = '\0';	/* "" + "/" + name */

	ret = kc_file(&c, NULL, path, KUBECONFIG_MAX, &buf, &len);
	if (ret)
		goto out;
	ret = dp_yaml_parse(buf, len, &root);
	if (ret) {
		/* keep dp_yaml_parse's description, name the file */
		char msg[400];

		snprintf(msg, sizeof(msg), "%s", dp_errmsg());
		dp_seterr(0, "kubeconfig %s: %s", path, msg);
		goto out;
	}
	ret = kc_resolve(&c, root, kc);
out:
	json_object_put(root);
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	free(c.dir);
	if (ret)
		dp_kubeconfig_free(kc);
	return ret;
}

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void dp_kubeconfig_free(struct dp_kubeconfig *kc)
{
	if (!kc)
		return;
	free(kc->server);
	free(kc->ca_file);
	free(kc->ca_pem);
	free(kc->cert_file);
	free(kc->cert_pem);
	free(kc->key_file);
	free_secret(kc->key_pem);
	free_secret(kc->token);
	memset(kc, 0, sizeof(*kc));
}

/* ---- GET a Pod ----------------------------------------------------------- */

/* DNS-1123 label (namespaces): [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63. */
static int dns_label(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* DNS-1123 subdomain (Pod names): labels joined by '.', <= 253. */
static int dns_subdomain(const char *s)
{
	size_t n = strlen(s), k;

	if (n == 0 || n > 253)
		return 0;
	for (;;) {
		k = strcspn(s, ".");
		if (!dns_label(s, k))
			return 0;
		if (!s[k])
			return 1;
		s += k + 1;
	}
}

struct kube_body {
	char *buf;
	size_t len, cap;
	int too_big, nomem;
};

static size_t kube_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct kube_body *b = arg;
	size_t add = size * nmemb, cap;
	char *nb;

	if (add > KUBE_BODY_MAX - b->len) {
		b->too_big = 1;
		return 0;
	}
	if (b->len + add + 1 > b->cap) {
		cap = b->cap ? b->cap : 16384;
		while (cap < b->len + add + 1)
			cap *= 2;
		if (cap > KUBE_BODY_MAX + 1)
			cap = KUBE_BODY_MAX + 1;
		nb = realloc(b->buf, cap);
		if (!nb) {
			b->nomem = 1;
			return 0;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, add);
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

/* The whole body as one JSON value (trailing whitespace allowed). */
static struct json_object *kube_json(const char *buf, size_t len)
{
	struct json_object *obj;
	struct json_tokener *tok;
	size_t end;

	if (!buf || !len || len > (size_t)INT32_MAX || memchr(buf, '\0', len))
		return NULL;
	tok = json_tokener_new_ex(KUBE_JSON_DEPTH);
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
				    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (obj && json_tokener_get_error(tok) == json_tokener_success) {
		for (end = json_tokener_get_parse_end(tok); end < len; end++)
			if (!isspace((unsigned char)buf[end]))
				break;
		if (end == len) {
			json_tokener_free(tok);
			return obj;
		}
	}
	json_object_put(obj);
	json_tokener_free(tok);
	return NULL;
}

/* The "message" of a Status object in an error answer, made printable. */
static void kube_status_msg(const struct kube_body *b, char *out, size_t size)
{
	struct json_object *obj, *m;
	const char *s;
	size_t i;

	out[0] = '\0';
	obj = kube_json(b->buf, b->len);
	if (obj && json_object_object_get_ex(obj, "message", &m) &&
	    json_object_is_type(m, json_type_string)) {
		s = json_object_get_string(m);
		snprintf(out, size, ": \"%s", s);
		for (i = 3; out[i]; i++)
			if ((unsigned char)out[i] < 0x20 ||
			    (unsigned char)out[i] >= 0x7f)
				out[i] = '?';
		if (i + 1 < size) {
			out[i] = '"';
			out[i + 1] = '\0';
		}
	}
	json_object_put(obj);
}

static const char *kube_meta(struct json_object *pod, const char *key)
{
	struct json_object *meta, *v;

	if (!json_object_object_get_ex(pod, "metadata", &meta) ||
	    !json_object_is_type(meta, json_type_object) ||
	    !json_object_object_get_ex(meta, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v))
		return NULL;
	return json_object_get_string(v);
}

static int kube_check_pod(struct json_object *pod, const char *url,
			  const char *ns, const char *name)
{
	struct json_object *v;
	const char *s;

	if (!json_object_is_type(pod, json_type_object))
		return dp_seterr(EBADMSG, "GET %s: the answer is not a JSON object",
				 url);
	if (!json_object_object_get_ex(pod, "kind", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "Pod"))
		return dp_seterr(EBADMSG, "GET %s: the answer's kind is not Pod",
				 url);
	if (!json_object_object_get_ex(pod, "apiVersion", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "v1"))
		return dp_seterr(EBADMSG,
				 "GET %s: the answer's apiVersion is not v1", url);
	s = kube_meta(pod, "name");
	if (!s || strcmp(s, name))
		return dp_seterr(EBADMSG,
				 "GET %s: the answer's metadata.name is not \"%s\"",
				 url, name);
	s = kube_meta(pod, "namespace");
	if (!s || strcmp(s, ns))
		return dp_seterr(EBADMSG,
				 "GET %s: the answer's metadata.namespace is not \"%s\"",
				 url, ns);
	s = kube_meta(pod, "uid");
	if (!s || !*s)
		return dp_seterr(EBADMSG, "GET %s: the answer has no metadata.uid",
				 url);
	return 0;
}

/* A failed curl_easy_perform() as an errno. */
static int kube_curl_err(CURL *h, CURLcode rc, const struct kube_body *b,
			 const char *url, const char *errbuf)
{
	const char *why = errbuf[0] ? errbuf : dp_curl.easy_strerror(rc);
	long oserr = 0;
	int err;

	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		err = ETIMEDOUT;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		err = EHOSTUNREACH;
		break;
	case CURLE_COULDNT_CONNECT:
		dp_curl.easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
		if (oserr == EHOSTUNREACH || oserr == ENETUNREACH)
			err = EHOSTUNREACH;
		else if (oserr == ETIMEDOUT)
			err = ETIMEDOUT;
		else
			err = ECONNREFUSED;
		break;
	case CURLE_OUT_OF_MEMORY:
		err = ENOMEM;
		break;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (b->nomem)
			return dp_seterr(ENOMEM, "GET %s: response body", url);
		if (b->too_big || rc == CURLE_FILESIZE_EXCEEDED)
			return dp_seterr(EBADMSG,
					 "GET %s: the answer is larger than %u bytes",
					 url, KUBE_BODY_MAX);
		err = EPROTO;
		break;
	default:
		/* TLS (verification, a refused client certificate) and HTTP */
		err = EPROTO;
		break;
	}
	return dp_seterr(err, "GET %s: %s (curl error %d)", url, why, (int)rc);
}

static int kube_setopt_err(CURLcode rc, const char *name)
{
	return dp_seterr(ENOSYS, "libcurl refused %s: %s", name,
			 dp_curl.easy_strerror(rc));
}

#define KOPT(o, v) { o, #o, v }

static int kube_setup(CURL *h, const struct dp_kubeconfig *kc,
		      const char *url, long timeout_ms,
		      struct curl_slist *hdrs, struct kube_body *body,
		      char *errbuf)
{
	const struct {
		CURLoption opt;
		const char *name;
		long val;
	} longs[] = {
		KOPT(CURLOPT_FOLLOWLOCATION, 0L),
		KOPT(CURLOPT_NOSIGNAL, 1L),
		KOPT(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms),
		KOPT(CURLOPT_TIMEOUT_MS, timeout_ms),
		KOPT(CURLOPT_SSL_VERIFYPEER, 1L),
		KOPT(CURLOPT_SSL_VERIFYHOST, 2L),
		KOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2),
	};
	const struct {
		CURLoption opt;
		const char *name;
		const void *val;
	} ptrs[] = {
		KOPT(CURLOPT_ERRORBUFFER, errbuf),
		KOPT(CURLOPT_URL, url),
		KOPT(CURLOPT_PROTOCOLS_STR, "https"),
		/* "" disables proxies, also those from the environment */
		KOPT(CURLOPT_PROXY, ""),
		/* only the kubeconfig's CA: no built-in bundle or directory */
		KOPT(CURLOPT_CAPATH, NULL),
		KOPT(CURLOPT_CAINFO, kc->ca_file),
		KOPT(CURLOPT_SSLCERT, kc->cert_file),
		KOPT(CURLOPT_SSLKEY, kc->key_file),
		KOPT(CURLOPT_HTTPHEADER, hdrs),
		KOPT(CURLOPT_USERAGENT, "dstack-pod"),
		KOPT(CURLOPT_WRITEDATA, body),
	};
	const struct {
		CURLoption opt;
		const char *name;
		const char *pem;
	} blobs[] = {
		KOPT(CURLOPT_CAINFO_BLOB, kc->ca_pem),
		KOPT(CURLOPT_SSLCERT_BLOB, kc->cert_pem),
		KOPT(CURLOPT_SSLKEY_BLOB, kc->key_pem),
	};
	struct curl_blob blob;
	curl_write_callback wr = kube_write;
	CURLcode rc;
	size_t i;

	for (i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
		rc = dp_curl.easy_setopt(h, longs[i].opt, longs[i].val);
		if (rc != CURLE_OK)
			return kube_setopt_err(rc, longs[i].name);
	}
	for (i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
		rc = dp_curl.easy_setopt(h, ptrs[i].opt, ptrs[i].val);
		if (rc != CURLE_OK)
			return kube_setopt_err(rc, ptrs[i].name);
	}
	for (i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
		if (!blobs[i].pem)
			continue;
		blob.data = (void *)blobs[i].pem;
		blob.len = strlen(blobs[i].pem);
		blob.flags = CURL_BLOB_COPY;
		rc = dp_curl.easy_setopt(h, blobs[i].opt, &blob);
		if (rc != CURLE_OK)
			return kube_setopt_err(rc, blobs[i].name);
	}
	rc = dp_curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, wr);
	if (rc != CURLE_OK)
		return kube_setopt_err(rc, "CURLOPT_WRITEFUNCTION");
	rc = dp_curl.easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
			       (curl_off_t)KUBE_BODY_MAX);
	if (rc != CURLE_OK)
		return kube_setopt_err(rc, "CURLOPT_MAXFILESIZE_LARGE");
	return 0;
}

int dp_kube_get_pod(const struct dp_kubeconfig *kc, const char *ns,
		    const char *name, long timeout_ms,
		    struct json_object **pod)
{
	struct kube_body body = { 0 };
	struct curl_slist *hdrs = NULL, *l;
	char errbuf[CURL_ERROR_SIZE] = "", smsg[200];
	char *url = NULL, *auth = NULL;
	struct json_object *obj;
	size_t n;
	CURLcode rc;
	long status = 0;
	CURL *h = NULL;
	int ret;

	*pod = NULL;
	if (!kc || !kc->server || strncasecmp(kc->server, "https://", 8))
		return dp_seterr(EINVAL, "no https:// API server in the kubeconfig");
	if (kc->insecure)
		return dp_seterr(EPERM, "insecure-skip-tls-verify is refused");
	if (!ns || !dns_label(ns, strlen(ns)))
		return dp_seterr(EINVAL, "namespace \"%.80s\" is not a DNS-1123 label",
				 ns ? ns : "(null)");
	if (!name || !dns_subdomain(name))
		return dp_seterr(EINVAL,
				 "Pod name \"%.80s\" is not a DNS-1123 subdomain",
				 name ? name : "(null)");
	if (timeout_ms <= 0 || timeout_ms > 600000)
		return dp_seterr(EINVAL, "timeout %ld ms out of range (1..600000)",
				 timeout_ms);
	ret = dp_curl_get();
	if (ret)
		return ret;

	n = strlen(kc->server) + strlen(ns) + strlen(name) + 64;
	url = malloc(n);
	if (!url)
		return dp_seterr(ENOMEM, "URL");
	snprintf(url, n, "%s/api/v1/namespaces/%s/pods/%s", kc->server, ns,
		 name);

	l = dp_curl.slist_append(NULL, "Accept: application/json");
	if (!l) {
		ret = dp_seterr(ENOMEM, "HTTP headers");
		goto out;
	}
	hdrs = l;
	if (kc->token) {
		n = strlen(kc->token) + 32;
		auth = malloc(n);
		if (auth)
			snprintf(auth, n, "Authorization: Bearer %s", kc->token);
		l = auth ? dp_curl.slist_append(hdrs, auth) : NULL;
		if (!l) {
			ret = dp_seterr(ENOMEM, "HTTP headers");
			goto out;
		}
	}
	h = dp_curl.easy_init();
	if (!h) {
		ret = dp_seterr(ENOMEM, "curl_easy_init");
		goto out;
	}
	ret = kube_setup(h, kc, url, timeout_ms, hdrs, &body, errbuf);
	if (ret)
		goto out;

	rc = dp_curl.easy_perform(h);
	if (rc != CURLE_OK) {
		ret = kube_curl_err(h, rc, &body, url, errbuf);
		goto out;
	}
	dp_curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		kube_status_msg(&body, smsg, sizeof(smsg));
		ret = dp_seterr(status == 401 || status == 403 ? EACCES :
				status == 404 ? ENOENT : EPROTO,
				"GET %s: HTTP status %ld%s", url, status, smsg);
		goto out;
	}
	obj = kube_json(body.buf, body.len);
	if (!obj) {
		ret = dp_seterr(EBADMSG, "GET %s: the answer is not JSON (%zu bytes)",
				url, body.len);
		goto out;
	}
	ret = kube_check_pod(obj, url, ns, name);
	if (ret)
		json_object_put(obj);
	else
		*pod = obj;
out:
	if (h)
		dp_curl.easy_cleanup(h);
	if (hdrs)
		dp_curl.slist_free_all(hdrs);
	free_secret(auth);
	free(body.buf);
	free(url);
	return ret;
}
