/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test helpers: the pieces of a forged Pod bundle that test_bundle and
 * test_manifest both build (an RTMR3 event, the fuse event over the events
 * before it, and a quote that binds the claims and the replayed RTMR3).
 * Include after quote_forge.h and bundle/bundle.h.
 */
#ifndef DSTACK_POD_TEST_BUNDLE_FORGE_H
#define DSTACK_POD_TEST_BUNDLE_FORGE_H

#include <endian.h>
#include <string.h>

#include "bundle/bundle.h"
#include "quote_forge.h"
#include "tap.h"

/* What bf_mut_bind() writes into the forged TD report body. */
static uint8_t bf_want_rd[64], bf_want_rtmr3[48];

/* fg_quote() mutator: RTMR3 and REPORTDATA of the TD 1.0 body. */
static inline void bf_mut_bind(uint8_t *b, size_t len)
{
	uint8_t *body = b + len - 584;

	memcpy(body + 472, bf_want_rtmr3, 48);
	memcpy(body + 520, bf_want_rd, 64);
}

/* Appends one event with dstack-pod's digest rule. */
static inline void bf_event(struct dp_log *log, const char *name,
			    const void *p, size_t n)
{
	uint8_t d[48];

	dp_event_digest(name, p, n, d);
	if (dp_log_append(log, name, d, p, n))
		tap_diag("append: %s", dp_errmsg());
}

/* Appends the dstack-pod.fuse event over every event already in log. */
static inline void bf_fuse_event(struct dp_log *log, const char *binder,
				 uint64_t last_generation)
{
	struct dstack_pod_fuse_payload fp;
	size_t blen = strlen(binder);
	uint8_t buf[sizeof(fp) + 256];

	if (blen > 256)
		blen = 256;
	memset(&fp, 0, sizeof(fp));
	memcpy(fp.magic, DSTACK_POD_FUSE_MAGIC, 8);
	fp.version = htole32(1);
	fp.event_count = htole32((uint32_t)log->n);
	dp_log_events_digest(log, log->n, fp.events_digest);
	fp.last_generation = htole64(last_generation);
	fp.path_len = htole32((uint32_t)blen);
	memcpy(buf, &fp, sizeof(fp));
	memcpy(buf + sizeof(fp), binder, blen);
	bf_event(log, "dstack-pod.fuse", buf, sizeof(fp) + blen);
}

/*
 * The bundle's quote: the real quote re-signed under f, its report binding
 * b's claims (report_data) and b's RTMR3 log (replayed).
 */
static inline void bf_sign(struct dp_bundle *b, struct forge *f,
			   const uint8_t *real, size_t real_len)
{
	dp_claims_report_data(&b->claims, bf_want_rd);
	dp_log_replay(&b->rtmr3, bf_want_rtmr3);
	b->quote = fg_quote(f, real, real_len, 4, DP_BODY_TYPE_TD10, NULL, 0,
			    bf_mut_bind, &b->quote_len);
}

#endif
