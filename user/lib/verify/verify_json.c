// SPDX-License-Identifier: GPL-2.0
/*
 * The verdict as JSON (json-c); schema in Documentation/verifier.rst.
 */
#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "verify.h"

static void put_hex(json_object *o, const char *key, const uint8_t *p,
		    size_t len)
{
	char buf[2 * 128 + 1];

	if (len > 128)
		return;
	dp_hex(p, len, buf);
	json_object_object_add(o, key, json_object_new_string(buf));
}

static json_object *measurements(const struct dp_quote *q)
{
	const struct dp_td_report *b = &q->body;
	json_object *m = json_object_new_object(), *r;
	int i;

	if (!m)
		return NULL;
	put_hex(m, "tee_tcb_svn", b->tee_tcb_svn, 16);
	put_hex(m, "mrseam", b->mrseam, 48);
	put_hex(m, "mrsignerseam", b->mrsignerseam, 48);
	put_hex(m, "seam_attributes", b->seam_attributes, 8);
	put_hex(m, "td_attributes", b->td_attributes, 8);
	put_hex(m, "xfam", b->xfam, 8);
	put_hex(m, "mrtd", b->mrtd, 48);
	put_hex(m, "mrconfigid", b->mrconfigid, 48);
	put_hex(m, "mrowner", b->mrowner, 48);
	put_hex(m, "mrownerconfig", b->mrownerconfig, 48);
	r = json_object_new_array();
	for (i = 0; r && i < 4; i++) {
		char buf[97];

		dp_hex(b->rtmr[i], 48, buf);
		json_object_array_add(r, json_object_new_string(buf));
	}
	json_object_object_add(m, "rtmr", r);
	put_hex(m, "report_data", b->report_data, 64);
	if (q->body_type == DP_BODY_TYPE_TD15) {
		put_hex(m, "tee_tcb_svn2", b->tee_tcb_svn2, 16);
		put_hex(m, "mrservicetd", b->mrservicetd, 48);
	}
	return m;
}

void *dp_verdict_to_json(const struct dp_verdict *v)
{
	json_object *o = json_object_new_object(), *a, *c;
	const struct dp_check *f = dp_verdict_failure(v);
	char t[32];
	time_t tt = (time_t)v->now;
	struct tm tm;
	size_t i;

	if (!o)
		return NULL;
	json_object_object_add(o, "verified", json_object_new_boolean(v->verified));
	json_object_object_add(o, "failed_check",
			       f ? json_object_new_string(f->name) : NULL);
	json_object_object_add(o, "reason",
			       f ? json_object_new_string(f->reason) : NULL);
	if (gmtime_r(&tt, &tm) && strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm))
		json_object_object_add(o, "time", json_object_new_string(t));
	json_object_object_add(o, "collateral",
			       json_object_new_boolean(v->collateral_used));
	json_object_object_add(o, "tcb_status",
			       json_object_new_string(v->tcb_status));
	a = json_object_new_array();
	for (i = 0; a && i < v->nadvisories; i++)
		json_object_array_add(a, json_object_new_string(v->advisories[i]));
	json_object_object_add(o, "advisory_ids", a);
	c = json_object_new_object();
	if (c) {
		json_object_object_add(c, "platform",
				       json_object_new_string(v->platform_status));
		json_object_object_add(c, "tdx_module",
				       json_object_new_string(v->tdx_module_status));
		json_object_object_add(c, "qe", json_object_new_string(v->qe_status));
	}
	json_object_object_add(o, "tcb_components", c);
	c = json_object_new_object();
	if (c) {
		static const struct {
			const char *key;
			unsigned int bit;
		} rules[] = {
			{ "allow_debug", DP_TD_ALLOW_DEBUG },
			{ "allow_reserved_attributes", DP_TD_ALLOW_RESERVED },
			{ "allow_sept_ve", DP_TD_ALLOW_SEPT_VE },
			{ "allow_service_td", DP_TD_ALLOW_SERVICE_TD },
		};

		for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
			json_object_object_add(c, rules[i].key,
					       json_object_new_boolean(!!(v->td_allow & rules[i].bit)));
	}
	json_object_object_add(o, "td_policy", c);

	a = json_object_new_array();
	for (i = 0; a && i < v->nchecks; i++) {
		c = json_object_new_object();
		if (!c)
			break;
		json_object_object_add(c, "name",
				       json_object_new_string(v->checks[i].name));
		json_object_object_add(c, "ok",
				       json_object_new_boolean(v->checks[i].ok));
		json_object_object_add(c, "reason",
				       json_object_new_string(v->checks[i].reason));
		json_object_array_add(a, c);
	}
	json_object_object_add(o, "checks", a);

	if (v->parsed) {
		const struct dp_quote *q = &v->quote;

		c = json_object_new_object();
		if (c) {
			json_object_object_add(c, "version",
					       json_object_new_int(q->header.version));
			json_object_object_add(c, "body_type",
					       json_object_new_string(q->body_type == DP_BODY_TYPE_TD15 ?
								      "TD1.5" : "TD1.0"));
			put_hex(c, "qe_vendor_id", q->header.qe_vendor_id, 16);
			put_hex(c, "user_data", q->header.user_data, 20);
			put_hex(c, "attestation_key", q->attestation_key, 64);
			json_object_object_add(c, "qe_svn",
					       json_object_new_int(q->qe_report.isvsvn));
			put_hex(c, "qe_mrenclave", q->qe_report.mrenclave, 32);
			put_hex(c, "qe_mrsigner", q->qe_report.mrsigner, 32);
		}
		json_object_object_add(o, "quote", c);
		json_object_object_add(o, "measurements", measurements(q));
	}
	if (v->have_pck_ext) {
		c = json_object_new_object();
		if (c) {
			put_hex(c, "fmspc", v->fmspc, 6);
			put_hex(c, "pceid", v->pceid, 2);
			put_hex(c, "ppid", v->ppid, 16);
			put_hex(c, "cpusvn", v->cpusvn, 16);
			put_hex(c, "tcb_components", v->tcb_comp_svn, 16);
			json_object_object_add(c, "pcesvn",
					       json_object_new_int(v->pcesvn));
		}
		json_object_object_add(o, "pck", c);
	}
	return o;
}
