/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading one Pod from the Kubernetes API server with a kubeconfig's
 * credentials (the kubelet's own), over HTTPS with libcurl, loaded with
 * dlopen() on first use so that programs that never call it pay nothing
 * for it.  Used by dstack-podctl spec-hash --apiserver, which the OCI hook
 * runs.
 *
 * Calls return 0 on success or a negative errno after dp_seterr().
 */
#ifndef DP_KUBE_H
#define DP_KUBE_H

struct json_object;

struct dp_kubeconfig {
	char *server;		/* https://host:port, no trailing '/' */
	char *ca_file;		/* PEM file, or NULL */
	char *ca_pem;		/* certificate-authority-data, decoded, or NULL */
	char *cert_file;	/* client-certificate */
	char *cert_pem;		/* client-certificate-data, decoded */
	char *key_file;		/* client-key */
	char *key_pem;		/* client-key-data, decoded */
	char *token;		/* bearer token (token or tokenFile), or NULL */
	int insecure;		/* insecure-skip-tls-verify: refused */
};

/* The current context's cluster and user; relative paths are resolved
 * against the kubeconfig's directory, as kubectl does. */
int dp_kubeconfig_load(const char *path, struct dp_kubeconfig *kc);
void dp_kubeconfig_free(struct dp_kubeconfig *kc);

/*
 * GET /api/v1/namespaces/NS/pods/NAME within timeout_ms (connect and
 * transfer); the body (at most 4 MiB) parsed as JSON.  -ETIMEDOUT,
 * -ECONNREFUSED, -EHOSTUNREACH, -EACCES (401/403), -ENOENT (404), -EPROTO
 * (TLS or HTTP error), -EBADMSG (not a Pod JSON object).
 */
int dp_kube_get_pod(const struct dp_kubeconfig *kc, const char *ns,
		    const char *name, long timeout_ms,
		    struct json_object **pod);

#endif
