// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-common: event digests, RTMR replay, event-log parsing and output.
 * Formats: Documentation/event-log.rst.
 */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "dpcommon.h"

int dp_sha384(const void *data, size_t len, uint8_t out[48])
{
	unsigned int n = 0;

	if (!EVP_Digest(data, len, out, &n, EVP_sha384(), NULL) || n != 48)
		return dp_seterr(EIO, "SHA-384 failed");
	return 0;
}

int dp_event_digest(const char *name, const void *payload, size_t len,
		    uint8_t out[DSTACK_POD_DIGEST_LEN])
{
	uint32_t type = htole32(DSTACK_POD_EVENT_TYPE);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return dp_seterr(ENOMEM, "digest context");
	ok = EVP_DigestInit_ex(ctx, EVP_sha384(), NULL) &&
	     EVP_DigestUpdate(ctx, &type, sizeof(type)) &&
	     EVP_DigestUpdate(ctx, ":", 1) &&
	     EVP_DigestUpdate(ctx, name, strlen(name)) &&
	     EVP_DigestUpdate(ctx, ":", 1) &&
	     EVP_DigestUpdate(ctx, payload, len) &&
	     EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : dp_seterr(EIO, "SHA-384 failed");
}

int dp_rtmr_extend(uint8_t mr[DSTACK_POD_DIGEST_LEN],
		   const uint8_t digest[DSTACK_POD_DIGEST_LEN])
{
	uint8_t buf[2 * DSTACK_POD_DIGEST_LEN];

	memcpy(buf, mr, DSTACK_POD_DIGEST_LEN);
	memcpy(buf + DSTACK_POD_DIGEST_LEN, digest, DSTACK_POD_DIGEST_LEN);
	return dp_sha384(buf, sizeof(buf), mr);
}

/*
 * One line of the kernel's runtime_events file:
 * "<index> <type:8 hex> <digest:96 hex> <name> <payload hex | ->"
 */
int dp_log_parse_line(const char *line, struct dp_event *ev)
{
	char idx[16], type[16], dig[2 * DSTACK_POD_DIGEST_LEN + 2];
	char name[DSTACK_POD_EVENT_NAME_MAX + 2];
	const char *p = line;
	char *end;
	size_t n, plen;
	int i, err;

	memset(ev, 0, sizeof(*ev));
	/* Four space-separated fixed fields, then the payload. */
	for (i = 0; i < 4; i++) {
		char *dst = i == 0 ? idx : i == 1 ? type : i == 2 ? dig : name;
		size_t cap = i == 0 ? sizeof(idx) : i == 1 ? sizeof(type) :
			     i == 2 ? sizeof(dig) : sizeof(name);

		n = strcspn(p, " \n");
		if (n == 0 || n >= cap || p[n] != ' ')
			return dp_seterr(EINVAL, "malformed event line (field %d)",
					 i + 1);
		memcpy(dst, p, n);
		dst[n] = '\0';
		p += n + 1;
	}
	errno = 0;
	ev->index = (uint32_t)strtoul(idx, &end, 10);
	if (errno || *end)
		return dp_seterr(EINVAL, "malformed event index '%s'", idx);
	ev->type = (uint32_t)strtoul(type, &end, 16);
	if (errno || *end || strlen(type) != 8)
		return dp_seterr(EINVAL, "malformed event type '%s'", type);
	err = dp_unhex(dig, ev->digest, sizeof(ev->digest), &n);
	if (err)
		return err;
	if (n != DSTACK_POD_DIGEST_LEN)
		return dp_seterr(EINVAL, "event digest is %zu bytes, not 48", n);
	if (strlen(name) > DSTACK_POD_EVENT_NAME_MAX)
		return dp_seterr(EINVAL, "event name too long");
	strcpy(ev->name, name);

	plen = strcspn(p, "\n");
	if (p[plen] == '\n' && p[plen + 1])
		return dp_seterr(EINVAL, "trailing data after event line");
	if (plen == 1 && p[0] == '-')
		return 0;
	if (plen == 0 || plen % 2 || plen / 2 > DSTACK_POD_EVENT_PAYLOAD_MAX)
		return dp_seterr(EINVAL, "malformed event payload");
	ev->payload = malloc(plen / 2 + 1);
	if (!ev->payload)
		return dp_seterr(ENOMEM, "event payload");
	{
		char *hex = strndup(p, plen);

		if (!hex) {
			free(ev->payload);
			ev->payload = NULL;
			return dp_seterr(ENOMEM, "event payload");
		}
		err = dp_unhex(hex, ev->payload, plen / 2, &ev->payload_len);
		free(hex);
	}
	if (err) {
		free(ev->payload);
		ev->payload = NULL;
	}
	return err;
}

void dp_log_free(struct dp_log *log)
{
	size_t i;

	for (i = 0; i < log->n; i++)
		free(log->ev[i].payload);
	free(log->ev);
	memset(log, 0, sizeof(*log));
}

int dp_log_parse(FILE *f, struct dp_log *log)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = 0;

	memset(log, 0, sizeof(*log));
	while ((n = getline(&line, &cap, f)) > 0) {
		struct dp_event ev;

		err = dp_log_parse_line(line, &ev);
		if (err)
			break;
		if (ev.index != log->n) {
			free(ev.payload);
			err = dp_seterr(EINVAL, "event %zu has index %u",
					log->n, ev.index);
			break;
		}
		if (log->n == log->cap) {
			size_t ncap = log->cap ? 2 * log->cap : 16;
			struct dp_event *nev;

			nev = realloc(log->ev, ncap * sizeof(*nev));
			if (!nev) {
				free(ev.payload);
				err = dp_seterr(ENOMEM, "event log");
				break;
			}
			log->ev = nev;
			log->cap = ncap;
		}
		log->ev[log->n++] = ev;
	}
	free(line);
	if (!err && ferror(f))
		err = dp_seterr(EIO, "reading the event log");
	if (err)
		dp_log_free(log);
	return err;
}

int dp_log_load(const char *path, struct dp_log *log)
{
	FILE *f = fopen(path, "re");
	int err;

	if (!f) {
		err = errno;
		if (err == ENOENT)
			return dp_seterr(err, "%s (is securityfs mounted and the module loaded?)",
					 path);
		return dp_seterr(err, "%s", path);
	}
	err = dp_log_parse(f, log);
	fclose(f);
	return err;
}

int dp_log_replay(const struct dp_log *log, uint8_t mr[DSTACK_POD_DIGEST_LEN])
{
	uint8_t d[DSTACK_POD_DIGEST_LEN];
	size_t i;
	int err;

	memset(mr, 0, DSTACK_POD_DIGEST_LEN);
	for (i = 0; i < log->n; i++) {
		const struct dp_event *ev = &log->ev[i];

		if (ev->type != DSTACK_POD_EVENT_TYPE)
			return dp_seterr(EINVAL, "event %zu has type %#x", i,
					 ev->type);
		err = dp_event_digest(ev->name, ev->payload, ev->payload_len,
				      d);
		if (err)
			return err;
		if (memcmp(d, ev->digest, sizeof(d)))
			return dp_seterr(EBADMSG, "event %zu (%s): digest does not match its name and payload",
					 i, ev->name);
		err = dp_rtmr_extend(mr, d);
		if (err)
			return err;
	}
	return 0;
}

int dp_log_events_digest(const struct dp_log *log, size_t count,
			 uint8_t out[DSTACK_POD_DIGEST_LEN])
{
	EVP_MD_CTX *ctx;
	size_t i;
	int ok;

	if (count > log->n)
		return dp_seterr(EINVAL, "only %zu events in the log", log->n);
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return dp_seterr(ENOMEM, "digest context");
	ok = EVP_DigestInit_ex(ctx, EVP_sha384(), NULL);
	for (i = 0; ok && i < count; i++)
		ok = EVP_DigestUpdate(ctx, log->ev[i].digest,
				      DSTACK_POD_DIGEST_LEN);
	ok = ok && EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : dp_seterr(EIO, "SHA-384 failed");
}

int dp_log_write_dstack(const struct dp_log *log, FILE *out)
{
	size_t i;

	for (i = 0; i < log->n; i++) {
		const struct dp_event *ev = &log->ev[i];
		size_t blen = 4 * ((ev->payload_len + 2) / 3) + 1;
		char *b64 = malloc(blen);
		json_object *o;

		if (!b64)
			return dp_seterr(ENOMEM, "base64 buffer");
		EVP_EncodeBlock((unsigned char *)b64, ev->payload,
				(int)ev->payload_len);
		o = json_object_new_object();
		if (!o) {
			free(b64);
			return dp_seterr(ENOMEM, "json object");
		}
		json_object_object_add(o, "event",
				       json_object_new_string(ev->name));
		json_object_object_add(o, "payload",
				       json_object_new_string(b64));
		fprintf(out, "%s\n",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		free(b64);
	}
	return 0;
}

int dp_log_write_text(const struct dp_log *log, FILE *out)
{
	char hex[2 * DSTACK_POD_DIGEST_LEN + 1];
	size_t i, j;

	for (i = 0; i < log->n; i++) {
		const struct dp_event *ev = &log->ev[i];
		int printable = ev->payload_len > 0;

		for (j = 0; j < ev->payload_len; j++)
			if (!isprint(ev->payload[j]))
				printable = 0;
		dp_hex(ev->digest, sizeof(ev->digest), hex);
		fprintf(out, "#%u %s\n    digest  %s\n    payload ", ev->index,
			ev->name, hex);
		if (printable)
			fprintf(out, "\"%.*s\"\n", (int)ev->payload_len,
				(const char *)ev->payload);
		else
			fprintf(out, "%zu bytes\n", ev->payload_len);
	}
	return 0;
}

int dp_fuse_payload_parse(const uint8_t *p, size_t len,
			  struct dp_fuse_info *info)
{
	struct dstack_pod_fuse_payload h;
	uint32_t plen;

	memset(info, 0, sizeof(*info));
	if (len < sizeof(h))
		return dp_seterr(EINVAL, "fuse payload too short (%zu bytes)",
				 len);
	memcpy(&h, p, sizeof(h));
	if (memcmp(h.magic, DSTACK_POD_FUSE_MAGIC, sizeof(h.magic)))
		return dp_seterr(EINVAL, "fuse payload: bad magic");
	info->version = le32toh(h.version);
	if (info->version != DSTACK_POD_FUSE_VERSION)
		return dp_seterr(EINVAL, "fuse payload: unknown version %u",
				 info->version);
	plen = le32toh(h.path_len);
	if (plen > DSTACK_POD_CGROUP_PATH_MAX || len != sizeof(h) + plen)
		return dp_seterr(EINVAL, "fuse payload: bad length");
	info->event_count = le32toh(h.event_count);
	memcpy(info->events_digest, h.events_digest,
	       sizeof(info->events_digest));
	info->binder_cgroup_id = le64toh(h.binder_cgroup_id);
	info->last_generation = le64toh(h.last_generation);
	info->pod_count = le32toh(h.pod_count);
	memcpy(info->binder_path, p + sizeof(h), plen);
	info->binder_path[plen] = '\0';
	if (strlen(info->binder_path) != plen)
		return dp_seterr(EINVAL, "fuse payload: NUL in binder path");
	return 0;
}

int dp_log_append(struct dp_log *log, const char *name,
		  const uint8_t digest[DSTACK_POD_DIGEST_LEN],
		  const uint8_t *payload, size_t len)
{
	struct dp_event *ev;
	size_t nlen = strlen(name);

	if (!nlen || nlen > DSTACK_POD_EVENT_NAME_MAX)
		return dp_seterr(EINVAL, "event name length %zu", nlen);
	if (len > DSTACK_POD_EVENT_PAYLOAD_MAX)
		return dp_seterr(EINVAL, "event payload of %zu bytes", len);
	if (log->n >= DP_LOG_MAX_EVENTS)
		return dp_seterr(E2BIG, "more than %d events", DP_LOG_MAX_EVENTS);
	if (log->n == log->cap) {
		size_t ncap = log->cap ? 2 * log->cap : 16;
		struct dp_event *nev = realloc(log->ev, ncap * sizeof(*nev));

		if (!nev)
			return dp_seterr(ENOMEM, "event log");
		log->ev = nev;
		log->cap = ncap;
	}
	ev = &log->ev[log->n];
	memset(ev, 0, sizeof(*ev));
	ev->payload = malloc(len ? len : 1);
	if (!ev->payload)
		return dp_seterr(ENOMEM, "event payload");
	memcpy(ev->payload, payload, len);
	ev->payload_len = len;
	ev->index = (uint32_t)log->n;
	ev->type = DSTACK_POD_EVENT_TYPE;
	memcpy(ev->digest, digest, DSTACK_POD_DIGEST_LEN);
	memcpy(ev->name, name, nlen + 1);
	log->n++;
	return 0;
}
