// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-pod-hook: the OCI runtime hook that wires Kubernetes Pods to
 * /dev/dstack-pod (Documentation/kubernetes.rst).
 *
 *   dstack-pod-hook [--config FILE] [create-runtime|poststop]
 *
 * The OCI runtime runs it with the container state JSON on stdin.
 *
 *   sandbox, create-runtime    bind the Pod's cgroup to its identity
 *   container, create-runtime  bind the Pod if it is not yet bound, then
 *                              extend its PMR with the container's
 *                              canonical descriptor
 *   sandbox, poststop          unbind
 *   anything else              exit 0 untouched
 *
 * containerd and CRI-O run no hooks for the sandbox, so there the first
 * container's create-runtime binds the Pod, and the kernel releases the
 * binding when kubelet removes the Pod cgroup.
 *
 * Exit status 0 lets the container go on; 1 makes the runtime abort it.
 * Pods that ask for dstack-pod (the dstack.io/attestation: required
 * annotation, or a RuntimeClass handler whose hook config says policy =
 * closed) fail closed; other Pods fail open with a log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "node/dstackpod.h"
#include "runtime/oci.h"

#define HOOK_DEFAULT_CONFIG	"/etc/dstack-pod/hook.conf"
#define HOOK_CONFIG_MAX		(64 * 1024)
/*
 * The API server request plus dstack-podctl's start must end well within
 * the runtime's timeout for the hook (10 s in the shipped files), or the
 * runtime kills the hook and the container fails even under policy open.
 */
#define HOOK_APISERVER_TIMEOUT_MAX	8000

enum hook_stage { STAGE_CREATE_RUNTIME, STAGE_POSTSTOP };

struct hook_conf {
	int policy_closed;
	char kubeconfig[PATH_MAX];	/* "" = do not ask the API server */
	long timeout_ms;
	char podctl[PATH_MAX];		/* runs spec-hash --apiserver */
	char state_dir[PATH_MAX];
	char cgroup_root[PATH_MAX];
};

struct hook {
	enum hook_stage stage;
	struct hook_conf conf;
	struct dp_oci_state st;
	struct dp_oci_pod pod;
	struct json_object *config;	/* bundle/config.json, when loaded */
	int required;	/* the Pod asked for dstack-pod, or policy = closed */
	char uid[37];			/* pod_uid, when taken from the cgroup */
	char cg[PATH_MAX];		/* the Pod cgroup, under cgroup_root */
	char who[DSTACK_POD_NAMESPACE_SIZE + DSTACK_POD_NAME_SIZE + 2];
};

/* One line to syslog and to stderr, naming the Pod. */
static void hook_log(const struct hook *h, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void hook_log(const struct hook *h, int prio, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	syslog(prio, "%s: %s", h->who, msg);
	fprintf(stderr, "dstack-pod-hook: %s: %s\n", h->who, msg);
}

/*
 * A step failed: log it, and decide.  Returns the exit status: 1 (abort
 * the container) when the Pod asked for dstack-pod or policy = closed,
 * else 0 (go on, unattested).
 */
static int hook_fail(const struct hook *h, const char *what)
{
	hook_log(h, LOG_ERR, "%s: %s; %s", what, dp_errmsg(),
		 h->required ? "failing closed: the container does not start" :
			       "failing open: the container starts without dstack-pod");
	return h->required ? 1 : 0;
}

struct conf_pos {
	const char *path;
	unsigned int line;
};

/* A bad config line: EINVAL, and a message naming file and line. */
static int conf_err(const struct conf_pos *at, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int conf_err(const struct conf_pos *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return dp_seterr(EINVAL, "config %s:%u: %s", at->path, at->line, msg);
}

static int set_str(const struct conf_pos *at, char *dst, size_t size,
		   const char *val, const char *key)
{
	size_t n = strlen(val);

	if (val[0] != '/')
		return conf_err(at, "%s: \"%s\" is not an absolute path", key,
				val);
	if (n >= size)
		return conf_err(at, "%s: value longer than %zu bytes", key,
				size - 1);
	memcpy(dst, val, n + 1);
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int conf_set(const struct conf_pos *at, struct hook_conf *c,
		    const char *key, const char *val)
{
	char *end;

	if (!strcmp(key, "policy")) {
		if (!strcmp(val, "open"))
			c->policy_closed = 0;
		else if (!strcmp(val, "closed"))
			c->policy_closed = 1;
		else
			return conf_err(at, "policy: \"%s\" is not open or closed",
					val);
		return 0;
	}
	if (!strcmp(key, "kubeconfig")) {
		if (!strcmp(val, "none")) {
			c->kubeconfig[0] = '\0';
			return 0;
		}
		return set_str(at, c->kubeconfig, sizeof(c->kubeconfig), val,
			       key);
	}
	if (!strcmp(key, "apiserver_timeout_ms")) {
		errno = 0;
		c->timeout_ms = strtol(val, &end, 10);
		if (errno || end == val || *end || c->timeout_ms < 1 ||
		    c->timeout_ms > HOOK_APISERVER_TIMEOUT_MAX)
			return conf_err(at, "apiserver_timeout_ms: \"%s\" is not 1..%d",
					val, HOOK_APISERVER_TIMEOUT_MAX);
		return 0;
	}
	if (!strcmp(key, "podctl"))
		return set_str(at, c->podctl, sizeof(c->podctl), val, key);
	if (!strcmp(key, "state_dir"))
		return set_str(at, c->state_dir, sizeof(c->state_dir), val, key);
	if (!strcmp(key, "cgroup_root"))
		return set_str(at, c->cgroup_root, sizeof(c->cgroup_root), val,
			       key);
	return conf_err(at, "unknown key \"%s\"", key);
}

/* key = value lines, '#' comments.  A missing default file means defaults. */
static int conf_load(struct hook_conf *c, const char *path, int explicit)
{
	char *buf, *line, *next;
	struct conf_pos at = { path, 0 };
	size_t len = 0;
	ssize_t n;
	int fd, err = 0;

	memset(c, 0, sizeof(*c));
	strcpy(c->kubeconfig, "/etc/kubernetes/kubelet.conf");
	c->timeout_ms = 2000;
	strcpy(c->podctl, "/usr/sbin/dstack-podctl");
	strcpy(c->state_dir, "/run/dstack-pod/hook");
	strcpy(c->cgroup_root, "/sys/fs/cgroup");

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !explicit)
			return 0;
		return dp_seterr(errno, "config %s", path);
	}
	buf = malloc(HOOK_CONFIG_MAX + 1);
	if (!buf) {
		close(fd);
		return dp_seterr(ENOMEM, "config %s", path);
	}
	while ((n = read(fd, buf + len, HOOK_CONFIG_MAX + 1 - len)) > 0) {
		len += (size_t)n;
		if (len > HOOK_CONFIG_MAX)
			break;
	}
	if (n < 0)
		err = dp_seterr(errno, "config %s", path);
	else if (len > HOOK_CONFIG_MAX)
		err = dp_seterr(EFBIG, "config %s is over %d bytes", path,
				HOOK_CONFIG_MAX);
	else if (memchr(buf, '\0', len))
		err = dp_seterr(EINVAL, "config %s holds a NUL byte", path);
	close(fd);
	buf[len] = '\0';
	/* Line by line, blank ones counted, so that FILE:LINE is right. */
	for (line = buf; line && !err; line = next) {
		char *eq, *key;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		at.line++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			err = conf_err(&at, "a line without '='");
			break;
		}
		*eq = '\0';
		err = conf_set(&at, c, trim(key), trim(eq + 1));
	}
	free(buf);
	return err;
}

static int read_stdin(char **out, size_t *outlen)
{
	size_t len = 0, cap = 16384;
	char *buf = malloc(cap), *nb;
	ssize_t n;

	if (!buf)
		return dp_seterr(ENOMEM, "reading the state");
	for (;;) {
		if (len == cap) {
			if (cap > DP_OCI_STATE_MAX) {
				free(buf);
				return dp_seterr(EFBIG, "the state JSON is over %u bytes",
						 DP_OCI_STATE_MAX);
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return dp_seterr(ENOMEM, "reading the state");
			}
			buf = nb;
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return dp_seterr(errno, "reading the state from stdin");
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static int asks_for_dstack_pod(const struct hook *h)
{
	return h->pod.attestation && !strcmp(h->pod.attestation, "required");
}

static int mkdir_p(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * state_dir/<container-id> holds the event measured for that container,
 * so that a runtime retrying the same container does not measure it
 * twice.  Container ids are checked by dp_oci_state_parse().
 */
static int marker_path(const struct hook *h, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", h->conf.state_dir, h->st.id);

	if (n < 0 || (size_t)n >= size)
		return dp_seterr(ENAMETOOLONG, "marker for container %s",
				 h->st.id);
	return 0;
}

/*
 * The marker holds the event itself: its name, a NUL, its payload.
 * Comparing bytes needs no hash, and so no libcrypto, on the common path.
 */
#define MARKER_MAX (DSTACK_POD_EVENT_NAME_MAX + 1 + DSTACK_POD_EVENT_PAYLOAD_MAX)

/* 1 if this container was measured with this very event already. */
static int marker_matches(const struct hook *h, const char *name,
			  const char *payload, size_t plen)
{
	char path[PATH_MAX], body[MARKER_MAX + 1];
	size_t nlen = strlen(name) + 1;
	ssize_t n;
	int fd;

	if (marker_path(h, path, sizeof(path)))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	n = read(fd, body, sizeof(body));
	close(fd);
	return n >= 0 && (size_t)n == nlen + plen &&
	       !memcmp(body, name, nlen) && !memcmp(body + nlen, payload, plen);
}

/* Best effort: a lost marker only means that a retry measures again. */
static void marker_write(const struct hook *h, const char *name,
			 const char *payload, size_t plen)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct iovec iov[2] = {
		{ .iov_base = (void *)name, .iov_len = strlen(name) + 1 },
		{ .iov_base = (void *)payload, .iov_len = plen },
	};
	int fd;

	if (marker_path(h, path, sizeof(path)))
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 && errno == ENOENT) {
		snprintf(dir, sizeof(dir), "%s", h->conf.state_dir);
		if (mkdir_p(dir))
			return;
		fd = open(path,
			  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			  0600);
	}
	if (fd < 0)
		return;
	if (writev(fd, iov, 2) != (ssize_t)(iov[0].iov_len + plen))
		unlink(path);
	close(fd);
}

static void marker_remove(const struct hook *h)
{
	char path[PATH_MAX];

	if (!marker_path(h, path, sizeof(path)))
		unlink(path);
}

/*
 * The Pod cgroup (h->cg): the parent of the container's cgroup, checked
 * against the kubelet layouts and the Pod uid; the uid comes from the
 * cgroup path when the annotations do not carry it.
 */
static int pod_cgroup(struct hook *h)
{
	char cg[DSTACK_POD_CGROUP_PATH_MAX], pcg[DSTACK_POD_CGROUP_PATH_MAX];
	int err, n;

	if (h->st.pid <= 0)
		return dp_seterr(ESRCH, "the state has no pid");
	err = dp_oci_pid_cgroup("/proc", h->st.pid, cg, sizeof(cg));
	if (!err)
		err = dp_oci_pod_cgroup_uid(cg, h->pod.pod_uid, pcg,
					    sizeof(pcg), h->uid);
	if (err)
		return err;
	if (!h->pod.pod_uid)
		h->pod.pod_uid = h->uid;
	n = snprintf(h->cg, sizeof(h->cg), "%s%s", h->conf.cgroup_root, pcg);
	if (n < 0 || (size_t)n >= sizeof(h->cg))
		return dp_seterr(ENAMETOOLONG, "cgroup path %s%s",
				 h->conf.cgroup_root, pcg);
	return 0;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC), at least 0. */
static long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

/*
 * The Pod's pod_spec_hash from the API server: `dstack-podctl spec-hash
 * --apiserver` does the HTTPS request, so that the hook itself needs no
 * libcurl, no TLS and no dynamic loading (Documentation/kubernetes.rst,
 * "The hook's start-up").  It runs in its own process group; its output
 * (one pipe for stdout and stderr: the hash, or the message) is read and
 * the child reaped within the request timeout plus HOOK_PODCTL_GRACE_MS,
 * after which the whole group is killed.
 */
#define HOOK_PODCTL_GRACE_MS	1000

static int spec_hash_apiserver(const struct hook *h, uint8_t hash[32])
{
	char pod[DSTACK_POD_NAMESPACE_SIZE + DSTACK_POD_NAME_SIZE + 2];
	char timeout[24], out[2048], *msg;
	char *argv[] = { (char *)h->conf.podctl, "spec-hash", "--apiserver", pod,
			 "--kubeconfig", (char *)h->conf.kubeconfig, "--uid",
			 (char *)h->pod.pod_uid, "--timeout-ms", timeout, NULL };
	long wait_ms = h->conf.timeout_ms + HOOK_PODCTL_GRACE_MS;
	struct timespec deadline;
	struct pollfd pfd;
	size_t len = 0, got;
	int fds[2], st = 0, done = 0, err = 0;
	ssize_t n;
	pid_t pid;

	if (!h->pod.pod_uid)
		return dp_seterr(EINVAL, "no Pod uid to check the API server's Pod against");
	snprintf(pod, sizeof(pod), "%s/%s", h->pod.pod_namespace,
		 h->pod.pod_name);
	snprintf(timeout, sizeof(timeout), "%ld", h->conf.timeout_ms);
	if (pipe2(fds, O_CLOEXEC))
		return dp_seterr(errno, "pipe");
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (wait_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pid = fork();
	if (pid < 0) {
		err = dp_seterr(errno, "fork");
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (!pid) {
		setpgid(0, 0);
		if (dup2(fds[1], STDOUT_FILENO) >= 0 &&
		    dup2(fds[1], STDERR_FILENO) >= 0 &&
		    !fcntl(STDOUT_FILENO, F_SETFD, 0) &&
		    !fcntl(STDERR_FILENO, F_SETFD, 0))
			execv(argv[0], argv);
		dprintf(fds[1], "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);	/* either side may win the race */
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	/* The output until EOF, then the exit status, all by the deadline. */
	while (!done) {
		if (pfd.fd >= 0) {
			n = poll(&pfd, 1, (int)ms_left(&deadline));
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0) {
				n = read(pfd.fd, out + len, sizeof(out) - 1 - len);
				if (n > 0)
					len += (size_t)n;
				if (n <= 0 || len == sizeof(out) - 1) {
					close(pfd.fd);
					pfd.fd = -1;
				}
				continue;
			}
		} else {
			pid_t r = waitpid(pid, &st, WNOHANG);

			if (r == pid) {
				done = 1;
				continue;
			}
			if (r < 0 && errno != EINTR) {
				err = dp_seterr(errno, "waiting for %s", argv[0]);
				break;
			}
			if (ms_left(&deadline) > 0) {
				poll(NULL, 0, 10);
				continue;
			}
		}
		err = dp_seterr(ETIMEDOUT, "%s spec-hash --apiserver %s: no answer within %ld ms",
				argv[0], pod, wait_ms);
		break;
	}
	if (!done) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (pfd.fd >= 0)
		close(pfd.fd);
	if (err)
		return err;
	out[len] = '\0';
	msg = trim(out);
	if (WIFEXITED(st) && !WEXITSTATUS(st) &&
	    !dp_unhex(msg, hash, 32, &got) && got == 32)
		return 0;
	/* errno 0: podctl's message already ends with its reason */
	dp_seterr(0, "%s", msg[0] ? msg : "dstack-podctl spec-hash failed");
	return WIFEXITED(st) && WEXITSTATUS(st) == 127 ? -ENOENT : -EIO;
}

/*
 * pod_spec_hash: from the API server (the kubelet's credentials) when a
 * kubeconfig is set; else the annotation, recorded as such; else none.
 * An API server failure is an error only for Pods that asked.
 */
static int spec_hash(struct hook *h, struct dp_pod_identity *id)
{
	size_t got;
	int err;

	id->spec_source = DSTACK_POD_SPEC_UNKNOWN;
	memset(id->pod_spec_hash, 0, sizeof(id->pod_spec_hash));
	if (h->conf.kubeconfig[0]) {
		err = spec_hash_apiserver(h, id->pod_spec_hash);
		if (!err) {
			id->spec_source = DSTACK_POD_SPEC_APISERVER;
			return 0;
		}
		memset(id->pod_spec_hash, 0, sizeof(id->pod_spec_hash));
		if (h->required)
			return err;
		hook_log(h, LOG_WARNING, "pod_spec_hash from the API server: %s; going on without it",
			 dp_errmsg());
	}
	if (h->pod.spec_hash) {
		if (dp_unhex(h->pod.spec_hash, id->pod_spec_hash,
			     sizeof(id->pod_spec_hash), &got) ||
		    got != sizeof(id->pod_spec_hash))
			return dp_seterr(EINVAL, "annotation dstack.io/pod-spec-hash is not 64 hex digits");
		id->spec_source = DSTACK_POD_SPEC_ANNOTATION;
	}
	return 0;
}

/* After EEXIST: is the cgroup bound to this very Pod (a runtime retry)? */
static int bound_to_us(const struct hook *h)
{
	struct dstack_pod_claims claims;
	struct dp_dev dev;
	char uid[37];
	int pidfd, err;

	pidfd = (int)syscall(SYS_pidfd_open, h->st.pid, 0);
	if (pidfd < 0)
		return 0;
	err = dp_open(&dev);
	if (!err) {
		err = dp_attest(&dev, pidfd, NULL, 0, &claims, NULL);
		dp_close(&dev);
	}
	close(pidfd);
	if (err)
		return 0;
	dp_uuid_format(claims.pod_uid, uid);
	return !strcmp(uid, h->pod.pod_uid);
}

/*
 * Bind the Pod cgroup h->cg to the Pod's identity.  A cgroup already bound
 * to this very Pod (a runtime retry, or two containers of one Pod created
 * at once) is success.
 */
static int bind_pod(struct hook *h, struct dp_dev *dev)
{
	char wl[DSTACK_POD_WORKLOAD_SIZE];
	struct dp_pod_identity id;
	uint64_t gen = 0;
	int err;

	if (!h->pod.pod_namespace || !h->pod.pod_name)
		return dp_seterr(EINVAL, "the annotations do not name the Pod's namespace and name");
	memset(&id, 0, sizeof(id));
	if (h->pod.workload_id) {
		id.workload_id = h->pod.workload_id;
	} else {
		snprintf(wl, sizeof(wl), "%s/%s", h->pod.pod_namespace,
			 h->pod.pod_name);
		id.workload_id = wl;
	}
	id.pod_uid = h->pod.pod_uid;
	id.pod_namespace = h->pod.pod_namespace;
	id.pod_name = h->pod.pod_name;
	err = spec_hash(h, &id);
	if (err)
		return err;
	err = dp_bind(dev, h->cg, &id, &gen);
	if (err == -EEXIST && bound_to_us(h)) {
		hook_log(h, LOG_INFO, "%s already bound to uid %s", h->cg,
			 h->pod.pod_uid);
		return 0;
	}
	if (err)
		return err;
	hook_log(h, LOG_INFO, "bound %s uid %s workload %s spec_source %s generation %llu",
		 h->cg, h->pod.pod_uid, id.workload_id,
		 dp_spec_source_name(id.spec_source), (unsigned long long)gen);
	return 0;
}

static int sandbox_create(struct hook *h)
{
	struct dp_dev dev;
	int err;

	err = pod_cgroup(h);
	if (err)
		return hook_fail(h, "finding the Pod cgroup");
	err = dp_open(&dev);
	if (err)
		return hook_fail(h, "bind");
	err = bind_pod(h, &dev);
	dp_close(&dev);
	return err ? hook_fail(h, "bind") : 0;
}

/*
 * containerd and CRI-O give the sandbox no hooks (Documentation/
 * kubernetes.rst), so the first container of a Pod binds it.
 */
static int container_create(struct hook *h)
{
	char name[DSTACK_POD_EVENT_NAME_MAX + 1];
	uint8_t pmr[DSTACK_POD_DIGEST_LEN];
	char *desc = NULL, *payload = NULL;
	size_t dlen = 0, plen = 0;
	struct dp_dev dev;
	int err;

	/* classify() has read it already when the state had no annotations */
	err = h->config ? 0 : dp_oci_config_load(h->st.bundle, &h->config);
	if (!err)
		err = dp_oci_descriptor(h->config, &h->pod, &desc, &dlen);
	if (!err)
		err = dp_oci_descriptor_event(h->pod.container_name, desc, dlen,
					      name, &payload, &plen);
	if (err) {
		err = hook_fail(h, "describing the container");
		goto out;
	}
	if (marker_matches(h, name, payload, plen)) {
		hook_log(h, LOG_INFO, "%s (container %s) already measured",
			 name, h->st.id);
		goto out;
	}
	err = pod_cgroup(h);
	if (err) {
		err = hook_fail(h, "finding the Pod cgroup");
		goto out;
	}
	err = dp_open(&dev);
	if (err) {
		err = hook_fail(h, "measuring the container");
		goto out;
	}
	err = dp_pod_extend(&dev, h->cg, NULL, name, payload, plen, pmr);
	if (err == -ENOENT) {
		err = bind_pod(h, &dev);
		if (err) {
			dp_close(&dev);
			err = hook_fail(h, "bind");
			goto out;
		}
		err = dp_pod_extend(&dev, h->cg, NULL, name, payload, plen,
				    pmr);
	}
	dp_close(&dev);
	if (err) {
		err = hook_fail(h, "measuring the container");
		goto out;
	}
	marker_write(h, name, payload, plen);
	hook_log(h, LOG_INFO, "measured %s (%zu-byte %s) into %s", name, plen,
		 plen == dlen ? "descriptor" : "descriptor digest", h->cg);
out:
	free(desc);
	free(payload);
	return err;
}

static int sandbox_poststop(struct hook *h)
{
	struct dp_dev dev;
	int err;

	if (!h->pod.pod_uid) {
		hook_log(h, LOG_ERR, "the sandbox annotations carry no Pod uid");
		return 1;
	}
	err = dp_open(&dev);
	if (!err) {
		err = dp_unbind(&dev, NULL, h->pod.pod_uid);
		dp_close(&dev);
	}
	/* The kernel drops a binding when its cgroup is removed. */
	if (err == -ENOENT) {
		hook_log(h, LOG_INFO, "uid %s: no binding left", h->pod.pod_uid);
		return 0;
	}
	if (err) {
		hook_log(h, LOG_ERR, "unbind uid %s: %s", h->pod.pod_uid,
			 dp_errmsg());
		return 1;
	}
	hook_log(h, LOG_INFO, "unbound uid %s", h->pod.pod_uid);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dstack-pod-hook [--config FILE] [create-runtime|poststop]\n"
		"  An OCI runtime hook: reads the container state JSON on stdin.\n"
		"  Without a stage, the state's status says it (creating, stopped).\n"
		"  Config: --config, else $DSTACK_POD_HOOK_CONFIG, else %s.\n"
		"  Documentation/kubernetes.rst\n", HOOK_DEFAULT_CONFIG);
}

static int classify(struct hook *h)
{
	struct json_object *annots = h->st.annotations;
	int err;

	/* Runtimes copy the config's annotations into the state. */
	if (!annots) {
		err = dp_oci_config_load(h->st.bundle, &h->config);
		if (err)
			return err;
		json_object_object_get_ex(h->config, "annotations", &annots);
	}
	if (!annots) {
		memset(&h->pod, 0, sizeof(h->pod));
		return 0;
	}
	return dp_oci_pod_from_annotations(annots, &h->pod);
}

static int parse_stage(const char *s, enum hook_stage *stage)
{
	if (!strcmp(s, "create-runtime") || !strcmp(s, "createRuntime") ||
	    !strcmp(s, "creating"))
		*stage = STAGE_CREATE_RUNTIME;
	else if (!strcmp(s, "poststop") || !strcmp(s, "stopped"))
		*stage = STAGE_POSTSTOP;
	else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *cfg = NULL, *stage = NULL;
	struct hook h;
	char *buf = NULL;
	size_t len = 0;
	int i, err, ret = 1;

	/* A runtime may leave SIGCHLD ignored: waitpid() needs it default. */
	signal(SIGCHLD, SIG_DFL);
	/*
	 * OpenSSL's default first use costs more than all of the hook's own
	 * work: reading openssl.cnf, filling the legacy name tables for every
	 * cipher and digest, and freeing it all again at exit.  The hook
	 * only hashes, with the default provider: skip all three
	 * (Documentation/kubernetes.rst, "The hook's start-up").
	 */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
			    OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
			    OPENSSL_INIT_NO_ADD_ALL_DIGESTS |
			    OPENSSL_INIT_NO_ATEXIT, NULL);
	memset(&h, 0, sizeof(h));
	strcpy(h.who, "-");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			cfg = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!stage && argv[i][0] != '-') {
			stage = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (stage && parse_stage(stage, &h.stage)) {
		fprintf(stderr, "dstack-pod-hook: unknown stage \"%s\"\n", stage);
		usage(stderr);
		return 2;
	}
	openlog("dstack-pod-hook", LOG_PID, LOG_DAEMON);

	/*
	 * Until the container is known to belong to a Pod, a failure is a
	 * failure of the runtime's input: say so and stop it.
	 */
	err = read_stdin(&buf, &len);
	if (!err)
		err = dp_oci_state_parse(buf, len, &h.st);
	free(buf);
	if (!err && !stage && parse_stage(h.st.status, &h.stage))
		err = dp_seterr(EINVAL, "no stage given, and status \"%s\" is neither creating nor stopped",
				h.st.status);
	if (err) {
		hook_log(&h, LOG_ERR, "bad container state: %s", dp_errmsg());
		goto out;
	}
	err = classify(&h);
	if (!err && h.pod.kind == DP_OCI_OTHER) {
		ret = 0;
		goto out;
	}
	if (!err && h.pod.pod_namespace && h.pod.pod_name)
		snprintf(h.who, sizeof(h.who), "%s/%s", h.pod.pod_namespace,
			 h.pod.pod_name);
	if (!cfg)
		cfg = getenv("DSTACK_POD_HOOK_CONFIG");
	if (conf_load(&h.conf, cfg ? cfg : HOOK_DEFAULT_CONFIG, !!cfg)) {
		hook_log(&h, LOG_ERR, "%s", dp_errmsg());
		goto out;
	}
	h.required = asks_for_dstack_pod(&h) || h.conf.policy_closed;
	if (err) {
		/*
		 * A Kubernetes container whose annotations are not usable (a
		 * workload id the kernel would refuse, say): the Pod's
		 * failure, under the failure policy.
		 */
		if (h.pod.kind == DP_OCI_OTHER) {
			hook_log(&h, LOG_ERR, "bad container state: %s",
				 dp_errmsg());
			goto out;
		}
		ret = hook_fail(&h, "reading the annotations");
		goto out;
	}

	if (h.stage == STAGE_POSTSTOP) {
		if (h.pod.kind == DP_OCI_SANDBOX) {
			ret = sandbox_poststop(&h);
		} else {
			marker_remove(&h);
			ret = 0;
		}
	} else {
		ret = h.pod.kind == DP_OCI_SANDBOX ? sandbox_create(&h) :
						     container_create(&h);
	}
out:
	json_object_put(h.config);
	dp_oci_state_free(&h.st);
	closelog();
	return ret;
}
