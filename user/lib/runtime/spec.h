/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pod_spec_hash (Documentation/pod-spec-hash.rst): SHA-256 over the
 * canonical JSON (RFC 8785 style) of a documented subset of a PodSpec, and
 * the YAML reader that manifests and kubeconfigs share.
 *
 * Calls return 0 on success or a negative errno after dp_seterr().
 */
#ifndef DP_SPEC_H
#define DP_SPEC_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Version of the definition; it is part of the canonical text ("v"). */
#define DP_SPEC_HASH_VERSION	1
/* Largest manifest dp_yaml_parse() and the file readers accept. */
#define DP_SPEC_MAX_INPUT	(4u << 20)
/* Deepest nesting of mappings/sequences (objects/arrays) accepted. */
#define DP_YAML_MAX_DEPTH	64
/* Most entries in one mapping or sequence, and nodes in one document. */
#define DP_YAML_MAX_ENTRIES	65536
#define DP_YAML_MAX_NODES	(1u << 20)

/*
 * Parse one YAML document (libyaml) or JSON text into a json-c tree.
 * Plain scalars resolve like Kubernetes' YAML reader (go-yaml v2, YAML
 * 1.1): null/~/empty, booleans including y/n/yes/no/on/off, integers
 * (decimal, 0x, 0o, 0b, leading-0 octal, '_' separators) and floats;
 * anything else is a string; quoted, literal and folded scalars are
 * strings.  Anchors/aliases, tags other than !!str/!!map/!!seq, merge keys,
 * null/float/non-scalar/duplicate keys, NUL characters, input that is not
 * UTF-8, more than one non-empty document, nesting deeper than
 * DP_YAML_MAX_DEPTH and input larger than DP_SPEC_MAX_INPUT are refused.
 * Text whose first non-blank byte is '{' is read by json-c's strict
 * tokener instead (the whole input must be one JSON object).
 * The caller owns *out (json_object_put).
 */
int dp_yaml_parse(const char *buf, size_t len, struct json_object **out);

/*
 * The covered, normalised subset of a Pod, Deployment, StatefulSet,
 * DaemonSet, ReplicaSet, ReplicationController, Job or CronJob object (a
 * bare PodSpec, a List or another kind is refused: the kind says where the
 * spec is).  *canon is the canonical JSON text (malloc'd, NUL-terminated,
 * *len bytes without the NUL); len may be NULL.
 */
int dp_spec_canonical(struct json_object *obj, char **canon, size_t *len);
int dp_spec_hash(struct json_object *obj, uint8_t hash[32]);

/*
 * Read FILE ("-" = stdin; YAML or JSON, at most DP_SPEC_MAX_INPUT bytes)
 * and parse it with dp_yaml_parse().
 */
int dp_spec_load(const char *path, struct json_object **out);
/*
 * dp_spec_load() and dp_spec_hash(); *canon (if canon is not NULL) gets
 * the canonical text, which the caller frees.
 */
int dp_spec_hash_file(const char *path, uint8_t hash[32], char **canon);

#endif
