/* SPDX-License-Identifier: GPL-2.0 */
/*
 * OCI runtime state and config as the dstack-pod hook sees them
 * (Documentation/kubernetes.rst), and the canonical container descriptor
 * (Documentation/container-descriptor.rst).
 *
 * Calls return 0 on success or a negative errno after dp_seterr().
 */
#ifndef DP_OCI_H
#define DP_OCI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/dstack_pod.h>

struct json_object;

#define DP_OCI_STATE_MAX	(1u << 20)	/* state JSON on stdin */
#define DP_OCI_CONFIG_MAX	(8u << 20)	/* bundle/config.json */

enum dp_oci_kind {
	DP_OCI_OTHER = 0,	/* not a Kubernetes container: leave alone */
	DP_OCI_SANDBOX,		/* the Pod sandbox (pause) */
	DP_OCI_CONTAINER,	/* an app, init or ephemeral container */
};

/* What the annotations say (containerd's CRI plugin or CRI-O). */
struct dp_oci_pod {
	enum dp_oci_kind kind;
	const char *runtime;		/* "containerd" or "cri-o" */
	const char *sandbox_id;
	const char *container_id;	/* CRI-O's ContainerID, may be NULL */
	const char *pod_uid;		/* may be NULL on containers */
	const char *pod_namespace;
	const char *pod_name;
	const char *container_name;	/* containers only */
	const char *image_name;		/* may be NULL */
	const char *image_id;		/* may be NULL */
	const char *runtime_handler;	/* may be NULL */
	const char *workload_id;	/* dstack.io/workload-id, may be NULL */
	const char *attestation;	/* dstack.io/attestation, may be NULL */
	const char *spec_hash;		/* dstack.io/pod-spec-hash, may be NULL */
};

/* The container state a hook reads on stdin. */
struct dp_oci_state {
	struct json_object *root;	/* owns the strings below */
	const char *id;
	const char *status;
	pid_t pid;			/* 0 if absent */
	const char *bundle;
	struct json_object *annotations;	/* may be NULL */
};

int dp_oci_state_parse(const char *buf, size_t len, struct dp_oci_state *st);
void dp_oci_state_free(struct dp_oci_state *st);

/*
 * Classify by annotations (state or config); strings point into annots.
 * Returns 0 with kind DP_OCI_OTHER when no CRI container-type annotation is
 * present; -EINVAL when what is present is malformed, or when a sandbox
 * lacks its Pod's uid, namespace or name, or a container its name.  On
 * failure only kind, runtime (as far as known), attestation and
 * runtime_handler (when well-formed) are set, to choose the failure
 * policy; everything else is NULL.
 */
int dp_oci_pod_from_annotations(struct json_object *annots,
				struct dp_oci_pod *pod);

/* bundle/config.json, parsed and checked enough to describe. */
int dp_oci_config_load(const char *bundle, struct json_object **config);
int dp_oci_config_parse(const char *buf, size_t len,
			struct json_object **config);

/*
 * The canonical descriptor of a container (malloc'd, *len bytes, no NUL
 * inside).  pod may be NULL (then name/image come from the config's own
 * annotations).
 */
int dp_oci_descriptor(struct json_object *config, const struct dp_oci_pod *pod,
		      char **desc, size_t *len);
/*
 * The event that measures it: name "container.<name>" (long names are
 * shortened as documented) and payload = the descriptor, or its digest form
 * when the descriptor exceeds DSTACK_POD_EVENT_PAYLOAD_MAX.
 */
int dp_oci_descriptor_event(const char *container_name, const char *desc,
			    size_t len, char name[DSTACK_POD_EVENT_NAME_MAX + 1],
			    char **payload, size_t *plen);

/*
 * The Pod cgroup of a container process: its cgroup v2 path (from
 * /proc/PID/cgroup under proc_root) and the Pod cgroup that holds it,
 * checked against the kubelet layouts (cgroupfs and systemd drivers, all
 * QoS classes) and, when pod_uid is given, against that uid.  Paths are
 * relative to the cgroup v2 root, starting with '/'.
 */
int dp_oci_pid_cgroup(const char *proc_root, pid_t pid, char *buf,
		      size_t size);
int dp_oci_pod_cgroup(const char *container_cgroup, const char *pod_uid,
		      char *pod_cgroup, size_t size);
/*
 * The same, also returning the uid found in the Pod cgroup's name (uid may
 * be NULL).  A uid mismatch is -EPERM; any other layout error -EINVAL.
 */
int dp_oci_pod_cgroup_uid(const char *container_cgroup, const char *pod_uid,
			  char *pod_cgroup, size_t size, char uid[37]);
/* The uid in the name of a Pod cgroup (its last component). */
int dp_oci_cgroup_pod_uid(const char *pod_cgroup, char uid[37]);

#endif
