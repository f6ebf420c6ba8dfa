/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libdstackpod-verify: dstack's whole event log, every IMR, as its guest agent
 * returns it from GetQuote: an array of {imr, event_type, digest, event,
 * event_payload}, either as such or as the JSON string in the reply's
 * "event_log".  Parsed strictly and replayed against a quote's RTMRs
 * (Documentation/dstack-podctl.rst, "verify-quote --event-log").
 */
#ifndef LIBDSTACKPOD_IMR_LOG_H
#define LIBDSTACKPOD_IMR_LOG_H

#include <stddef.h>
#include <stdint.h>

#define DP_IMR_COUNT		4
#define DP_IMR_LOG_MAX_LEN	(16u << 20)	/* bytes of JSON */
#define DP_IMR_LOG_MAX_EVENTS	65536
#define DP_IMR_EVENT_NAME_MAX	4096		/* bytes of "event" */
#define DP_IMR_PAYLOAD_MAX	(1u << 20)	/* bytes of "event_payload" */

struct dp_imr_event {
	uint32_t imr;			/* 0..3 = RTMR0..3 */
	uint32_t type;			/* event_type */
	int has_digest;			/* the log gave a digest */
	int digest_computed;		/* RTMR3: computed from event, payload */
	uint8_t digest[48];		/* valid if has_digest or computed */
	char *name;			/* "event", may be empty */
	uint8_t *payload;
	size_t payload_len;
};

struct dp_imr_log {
	struct dp_imr_event *ev;
	size_t n;
};

/*
 * Parse json (len bytes, NUL-terminated at len): dstack's GetQuote reply
 * or its event_log array.  Every event must have exactly the five keys
 * with the right types; imr 0..3; digest "" or 96 hex digits; hex payload.
 * RTMR3 runtime events (type 0x08000001) get their digest computed with
 * dstack's rule; one the log gives must equal it.  0 or a negative errno
 * (dp_errmsg() says which event and why); on failure log is empty.
 */
int dp_imr_log_parse(const char *json, size_t len, struct dp_imr_log *log);
void dp_imr_log_free(struct dp_imr_log *log);

/*
 * Replay: mr[i] = SHA-384 chain over the digests of the IMR i events;
 * count[i] their number; replayable[i] is 0 when an IMR i event has no
 * digest (so RTMRi cannot be replayed from this log).
 */
int dp_imr_log_replay(const struct dp_imr_log *log, uint8_t mr[DP_IMR_COUNT][48],
		      size_t count[DP_IMR_COUNT], int replayable[DP_IMR_COUNT]);

#endif /* LIBDSTACKPOD_IMR_LOG_H */
