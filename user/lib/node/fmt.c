// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-node: output helpers of dstack-podctl and the tests for what
 * the node reports: enum names, the JSON objects of the documented schemas
 * (Documentation/dstack-podctl.rst) and the `list` table.  The claims and
 * UUID helpers the verifier shares are in common/claims.c.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "dstackpod.h"

const char *dp_notify_kind_name(uint32_t kind)
{
	switch (kind) {
	case DSTACK_POD_NOTIFY_BIND:		return "bind";
	case DSTACK_POD_NOTIFY_UNBIND:		return "unbind";
	case DSTACK_POD_NOTIFY_POD_EXTEND:	return "pod_extend";
	case DSTACK_POD_NOTIFY_EXTEND:		return "extend";
	case DSTACK_POD_NOTIFY_FUSE:		return "fuse";
	default:				return "unknown";
	}
}

const char *dp_mode_name(uint32_t mode)
{
	return mode == DSTACK_POD_MODE_SECURE ? "secure" :
	       mode == DSTACK_POD_MODE_SETUP ? "setup" : "unknown";
}

void dp_base64(const uint8_t *p, size_t len, char *out)
{
	out[0] = '\0';
	if (len)
		EVP_EncodeBlock((unsigned char *)out, p, (int)len);
}

static json_object *dp_json_fuse(const struct dp_fuse_who *f)
{
	json_object *o;

	if (!f->present)
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	dp_json_add_u64(o, "time", f->time);
	dp_json_add_u64(o, "pid", f->pid);
	dp_json_add_u64(o, "uid", f->uid);
	dp_json_add_str(o, "comm", f->comm);
	dp_json_add_str(o, "binder_path", f->binder_path);
	return o;
}

struct json_object *dp_json_status(const struct dp_status *st)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	dp_json_add_u64(o, "abi_major", st->abi_major);
	dp_json_add_u64(o, "abi_minor", st->abi_minor);
	dp_json_add_str(o, "backend", st->backend);
	dp_json_add_str(o, "mode", dp_mode_name(st->mode));
	dp_json_add_u64(o, "event_count", st->event_count);
	dp_json_add_u64(o, "max_events", st->max_events);
	if (st->has_rtmr3)
		dp_json_add_hex(o, "rtmr3", st->rtmr3, sizeof(st->rtmr3));
	else
		dp_json_add_str(o, "rtmr3", "unavailable");
	dp_json_add_u64(o, "pod_count", st->pod_count);
	dp_json_add_u64(o, "max_pods", st->max_pods);
	json_object_object_add(o, "fuse", dp_json_fuse(&st->fuse));
	return o;
}

struct json_object *dp_json_pod(const struct dp_nl_pod *p)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	dp_json_add_str(o, "pod_uid", p->uid);
	dp_json_add_str(o, "namespace", p->pod_namespace);
	dp_json_add_str(o, "name", p->pod_name);
	dp_json_add_str(o, "workload_id", p->workload_id);
	dp_json_add_u64(o, "cgroup_id", p->cgroup_id);
	dp_json_add_str(o, "cgroup_path", p->cgroup_path);
	dp_json_add_hex(o, "spec_hash", p->spec_hash, sizeof(p->spec_hash));
	dp_json_add_str(o, "spec_source", dp_spec_source_name(p->spec_source));
	dp_json_add_hex(o, "pmr", p->pmr, sizeof(p->pmr));
	dp_json_add_u64(o, "event_count", p->event_count);
	dp_json_add_u64(o, "generation", p->generation);
	dp_json_add_u64(o, "attest_count", p->attest_count);
	return o;
}

struct json_object *dp_json_event(const struct dp_nl_event *ev)
{
	char b64[4 * ((DSTACK_POD_EVENT_PAYLOAD_MAX + 2) / 3) + 1];
	json_object *o = json_object_new_object();
	size_t len = ev->payload_len;

	if (!o)
		return NULL;
	if (len > DSTACK_POD_EVENT_PAYLOAD_MAX)
		len = DSTACK_POD_EVENT_PAYLOAD_MAX;
	dp_json_add_u64(o, "index", ev->index);
	dp_json_add_str(o, "name", ev->name);
	dp_json_add_hex(o, "digest", ev->digest, sizeof(ev->digest));
	dp_base64(ev->payload, len, b64);
	dp_json_add_str(o, "payload", b64);
	dp_json_add_u64(o, "payload_len", len);
	return o;
}

struct json_object *dp_json_notify(const struct dp_notify *n)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	dp_json_add_str(o, "kind", dp_notify_kind_name(n->kind));
	json_object_object_add(o, "pod", n->has_pod ? dp_json_pod(&n->pod) : NULL);
	json_object_object_add(o, "event",
			       n->has_event ? dp_json_event(&n->event) : NULL);
	json_object_object_add(o, "fuse", dp_json_fuse(&n->fuse));
	return o;
}

/* Widths of the `list` table; longer values keep their tail after "...". */
#define W_UID	36
#define W_NAME	32
#define W_WL	24
#define W_CG	40

static void dp_cell(char *dst, size_t w, const char *s)
{
	size_t n = strlen(s);

	if (!n) {
		snprintf(dst, w + 1, "-");
		return;
	}
	if (n <= w) {
		snprintf(dst, w + 1, "%s", s);
		return;
	}
	snprintf(dst, w + 1, "...%s", s + n - (w - 3));
}

void dp_fmt_pod_header(char *buf, size_t size)
{
	snprintf(buf, size, "%-*s  %-*s  %-*s  %-*s  %6s  %6s  %7s", W_UID,
		 "POD_UID", W_NAME, "NAMESPACE/NAME", W_WL, "WORKLOAD", W_CG,
		 "CGROUP", "GEN", "EVENTS", "ATTESTS");
}

void dp_fmt_pod_row(const struct dp_nl_pod *p, char *buf, size_t size)
{
	char nn[DSTACK_POD_NAMESPACE_SIZE + DSTACK_POD_NAME_SIZE + 2];
	char c_nn[W_NAME + 1], c_wl[W_WL + 1], c_cg[W_CG + 1];

	if (p->pod_namespace[0] || p->pod_name[0])
		snprintf(nn, sizeof(nn), "%s/%s",
			 p->pod_namespace[0] ? p->pod_namespace : "-",
			 p->pod_name[0] ? p->pod_name : "-");
	else
		nn[0] = '\0';
	dp_cell(c_nn, W_NAME, nn);
	dp_cell(c_wl, W_WL, p->workload_id);
	dp_cell(c_cg, W_CG, p->cgroup_path);
	snprintf(buf, size, "%-*s  %-*s  %-*s  %-*s  %6llu  %6u  %7llu", W_UID,
		 p->uid, W_NAME, c_nn, W_WL, c_wl, W_CG, c_cg,
		 (unsigned long long)p->generation, p->event_count,
		 (unsigned long long)p->attest_count);
}
