// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl setup --manifest FILE, policy --from-manifest FILE and
 * fuse --manifest FILE: the node's setup manifest
 * (Documentation/setup-manifest.rst).
 *
 * A manifest error must never leave a node half measured, so setup works
 * in three steps: parse and validate the YAML, compute every payload
 * (reading and hashing the files), and only then extend RTMR3, in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "node/dstackpod.h"
#include "manifest.h"
#include "podctl.h"

#define MF "manifest"

/* ---- YAML helpers ---------------------------------------------------- */

static const char *const mf_null[] = { "", "~", "null", "Null", "NULL", NULL };
/* YAML 1.1 booleans (libyaml's version): a string field must not be one. */
static const char *const mf_true[] = { "true", "True", "TRUE", "yes", "Yes",
	"YES", "on", "On", "ON", "y", "Y", NULL };
static const char *const mf_false[] = { "false", "False", "FALSE", "no",
	"No", "NO", "off", "Off", "OFF", "n", "N", NULL };

static int in_list(const char *s, const char *const *l)
{
	for (; *l; l++)
		if (!strcmp(s, *l))
			return 1;
	return 0;
}

static const char *skip_digits(const char *p, const char *set, int *n)
{
	for (; *p && strchr(set, *p); p++)
		if (*p != '_' && *p != ':')
			(*n)++;
	return p;
}

/*
 * A plain scalar that a YAML 1.1 or 1.2 reader takes for a number: an
 * integer (decimal, 0x, 0o, 0b, sexagesimal) or a float (1.5, .5, 1e3,
 * .inf, .nan).  A string field refuses it: the reader might not keep it.
 */
static int looks_numeric(const char *s)
{
	static const char *const special[] = { ".inf", ".Inf", ".INF",
		".nan", ".NaN", ".NAN", NULL };
	const char *p = s;
	int n = 0, frac = 0;

	if (*p == '+' || *p == '-')
		p++;
	if (in_list(p, special))
		return 1;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b')) {
		p = skip_digits(p + 2, p[1] == 'x' ? "0123456789abcdefABCDEF_" :
				p[1] == 'o' ? "01234567_" : "01_", &n);
		return n && !*p;
	}
	p = skip_digits(p, "0123456789_:", &n);
	if (*p == '.')
		p = skip_digits(p + 1, "0123456789_", &frac);
	if (n + frac && (*p == 'e' || *p == 'E')) {
		int e = 0;

		p++;
		if (*p == '+' || *p == '-')
			p++;
		p = skip_digits(p, "0123456789", &e);
		if (!e)
			return 0;
	}
	return n + frac > 0 && !*p;
}

enum mf_kind { MF_STR, MF_INT, MF_BOOL, MF_NULL, MF_MAP, MF_SEQ };

static const char *kind_name(enum mf_kind k)
{
	static const char *const n[] = { "a string", "a number", "a boolean",
					 "null", "a mapping", "a sequence" };
	return n[k];
}

static size_t node_line(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

static enum mf_kind node_kind(const yaml_node_t *n)
{
	const char *s;

	if (n->type == YAML_MAPPING_NODE)
		return MF_MAP;
	if (n->type == YAML_SEQUENCE_NODE)
		return MF_SEQ;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return MF_STR;
	s = (const char *)n->data.scalar.value;
	if (in_list(s, mf_null))
		return MF_NULL;
	if (in_list(s, mf_true) || in_list(s, mf_false))
		return MF_BOOL;
	if (looks_numeric(s))
		return MF_INT;	/* a float is refused as "not a string" too */
	return MF_STR;
}

/* Only the default tags: an explicit tag (!!int, !foo) is refused. */
static int node_check_tag(const yaml_node_t *n)
{
	const char *want = n->type == YAML_MAPPING_NODE ? YAML_DEFAULT_MAPPING_TAG :
			   n->type == YAML_SEQUENCE_NODE ? YAML_DEFAULT_SEQUENCE_TAG :
			   YAML_DEFAULT_SCALAR_TAG;

	if (!n->tag || strcmp((const char *)n->tag, want))
		return dp_seterr(EINVAL, MF ": line %zu: explicit YAML tags are not allowed",
				 node_line(n));
	return 0;
}

static int want_kind(const yaml_node_t *n, enum mf_kind k, const char *what)
{
	enum mf_kind got;
	int err = node_check_tag(n);

	if (err)
		return err;
	got = node_kind(n);
	if (got == k)
		return 0;
	return dp_seterr(EINVAL, MF ": line %zu: %s must be %s, not %s%s",
			 node_line(n), what, kind_name(k), kind_name(got),
			 k == MF_STR && got != MF_MAP && got != MF_SEQ ?
			 " (quote it)" : "");
}

/* A scalar's text: no NUL inside, at most max bytes. */
static int scalar_str(const yaml_node_t *n, const char *what, size_t max,
		      const char **s, size_t *len)
{
	int err = want_kind(n, MF_STR, what);

	if (err)
		return err;
	*s = (const char *)n->data.scalar.value;
	*len = n->data.scalar.length;
	if (strlen(*s) != *len)
		return dp_seterr(EINVAL, MF ": line %zu: %s contains a NUL byte",
				 node_line(n), what);
	if (*len > max)
		return dp_seterr(E2BIG, MF ": line %zu: %s is %zu bytes (at most %zu)",
				 node_line(n), what, *len, max);
	return 0;
}

/* ---- validation ------------------------------------------------------ */

/* Event names: the kernel's rule, and not one of the module's own. */
static int check_name(const char *s, size_t len, size_t line)
{
	size_t i;

	if (!len || len > DSTACK_POD_EVENT_NAME_MAX)
		return dp_seterr(EINVAL, MF ": line %zu: name must be 1..%d bytes",
				 line, DSTACK_POD_EVENT_NAME_MAX);
	for (i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ':')
			return dp_seterr(EINVAL, MF ": line %zu: name \"%.64s\": only 0x21..0x7e other than ':'",
					 line, s);
	if (!strncmp(s, "dstack-pod.", 11))
		return dp_seterr(EINVAL, MF ": line %zu: name \"%s\": names starting with dstack-pod. are the module's own",
				 line, s);
	return 0;
}

/* An absolute, normalised path of printable bytes: no //, . or .. part. */
static int check_path(const char *s, size_t line, const char *what)
{
	const char *p;

	if (s[0] != '/')
		return dp_seterr(EINVAL, MF ": line %zu: %s \"%.200s\" is not an absolute path",
				 line, what, s);
	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return dp_seterr(EINVAL, MF ": line %zu: %s has a control character",
					 line, what);
	for (p = s; *p; ) {
		const char *e;
		size_t n;

		p++;			/* the '/' */
		e = strchrnul(p, '/');
		n = (size_t)(e - p);
		if (!n || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return dp_seterr(EINVAL, MF ": line %zu: %s \"%.200s\" is not normalised (empty, . or .. component)",
					 line, what, s);
		p = e;
	}
	return 0;
}

static const yaml_node_t *get(yaml_document_t *d, int id)
{
	return yaml_document_get_node(d, id);
}

/* Keys of a mapping: strings, all known, none twice. */
static int check_keys(yaml_document_t *d, const yaml_node_t *map,
		      const char *const *allowed, const char *what)
{
	yaml_node_pair_t *a, *b;

	for (a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
		const yaml_node_t *k = get(d, a->key);
		int err = want_kind(k, MF_STR, "a key");

		if (err)
			return err;
		if (!in_list((const char *)k->data.scalar.value, allowed))
			return dp_seterr(EINVAL, MF ": line %zu: unknown key \"%.64s\" in %s",
					 node_line(k), k->data.scalar.value, what);
		for (b = map->data.mapping.pairs.start; b < a; b++)
			if (!strcmp((const char *)get(d, b->key)->data.scalar.value,
				    (const char *)k->data.scalar.value))
				return dp_seterr(EINVAL, MF ": line %zu: key \"%s\" given twice in %s",
						 node_line(k), k->data.scalar.value, what);
	}
	return 0;
}

static const yaml_node_t *lookup(yaml_document_t *d, const yaml_node_t *map,
				 const char *key)
{
	yaml_node_pair_t *a;

	for (a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++)
		if (!strcmp((const char *)get(d, a->key)->data.scalar.value, key))
			return get(d, a->value);
	return NULL;
}

static int parse_event(yaml_document_t *d, const yaml_node_t *n,
		       struct podctl_mf_event *e)
{
	static const char *const keys[] = { "name", "file", "cmdline", "value",
					    "payload", NULL };
	const yaml_node_t *v, *file, *cmdline, *value, *mode;
	const char *s;
	size_t len, line = node_line(n);
	int err = want_kind(n, MF_MAP, "an event");

	e->line = line;
	if (!err)
		err = check_keys(d, n, keys, "an event");
	if (err)
		return err;
	v = lookup(d, n, "name");
	if (!v)
		return dp_seterr(EINVAL, MF ": line %zu: event without a name", line);
	err = scalar_str(v, "name", DSTACK_POD_EVENT_NAME_MAX, &s, &len);
	if (!err)
		err = check_name(s, len, node_line(v));
	if (err)
		return err;
	memcpy(e->name, s, len + 1);

	file = lookup(d, n, "file");
	cmdline = lookup(d, n, "cmdline");
	value = lookup(d, n, "value");
	mode = lookup(d, n, "payload");
	if (!!file + !!cmdline + !!value != 1)
		return dp_seterr(EINVAL, MF ": line %zu: event %s: give exactly one of file, cmdline and value",
				 line, e->name);
	if (mode && !file)
		return dp_seterr(EINVAL, MF ": line %zu: event %s: payload applies to file events only",
				 line, e->name);
	if (file) {
		e->source = PODCTL_MF_FILE;
		err = scalar_str(file, "file", PODCTL_MANIFEST_PATH_MAX, &s, &len);
		if (!err)
			err = check_path(s, node_line(file), "file");
		if (err)
			return err;
		e->path = strdup(s);
		if (!e->path)
			return dp_seterr(ENOMEM, MF);
		e->mode = PODCTL_MF_AUTO;
		if (mode) {
			err = scalar_str(mode, "payload", 16, &s, &len);
			if (err)
				return err;
			if (!strcmp(s, "auto"))
				e->mode = PODCTL_MF_AUTO;
			else if (!strcmp(s, "content"))
				e->mode = PODCTL_MF_CONTENT;
			else if (!strcmp(s, "sha256"))
				e->mode = PODCTL_MF_SHA256;
			else
				return dp_seterr(EINVAL, MF ": line %zu: payload must be auto, content or sha256",
						 node_line(mode));
		}
	} else if (cmdline) {
		e->source = PODCTL_MF_CMDLINE;
		err = want_kind(cmdline, MF_BOOL, "cmdline");
		if (err)
			return err;
		if (!in_list((const char *)cmdline->data.scalar.value, mf_true))
			return dp_seterr(EINVAL, MF ": line %zu: cmdline must be true (leave the event out instead)",
					 node_line(cmdline));
	} else {
		e->source = PODCTL_MF_VALUE;
		err = scalar_str(value, "value", DSTACK_POD_EVENT_PAYLOAD_MAX,
				 &s, &len);
		if (err)
			return err;
		e->payload = malloc(len + 1);
		if (!e->payload)
			return dp_seterr(ENOMEM, MF);
		memcpy(e->payload, s, len);
		e->payload_len = len;
		e->loaded = 1;
	}
	return 0;
}

static int parse_doc(yaml_document_t *d, struct podctl_manifest *m)
{
	static const char *const keys[] = { "version", "binder_cgroup",
					    "events", NULL };
	const yaml_node_t *root = yaml_document_get_root_node(d), *v;
	yaml_node_item_t *it;
	const char *s;
	size_t len, i, j;
	int err;

	if (!root)
		return dp_seterr(EINVAL, MF ": empty document");
	err = want_kind(root, MF_MAP, "the document");
	if (!err)
		err = check_keys(d, root, keys, "the document");
	if (err)
		return err;

	v = lookup(d, root, "version");
	if (!v)
		return dp_seterr(EINVAL, MF ": \"version\" is missing");
	err = want_kind(v, MF_INT, "version");
	if (err)
		return err;
	if (strcmp((const char *)v->data.scalar.value, "1"))
		return dp_seterr(EINVAL, MF ": line %zu: version must be %d",
				 node_line(v), PODCTL_MANIFEST_VERSION);

	v = lookup(d, root, "binder_cgroup");
	if (!v)
		return dp_seterr(EINVAL, MF ": \"binder_cgroup\" is missing");
	err = scalar_str(v, "binder_cgroup",
			 DSTACK_POD_CGROUP_PATH_MAX - sizeof(PODCTL_CGROUP_ROOT),
			 &s, &len);
	if (!err && !strcmp(s, "/"))
		err = dp_seterr(EINVAL, MF ": line %zu: binder_cgroup is the cgroup root, which holds every Pod",
				node_line(v));
	if (!err)
		err = check_path(s, node_line(v), "binder_cgroup");
	if (!err && !strncmp(s, PODCTL_CGROUP_ROOT "/",
			     sizeof(PODCTL_CGROUP_ROOT)))
		err = dp_seterr(EINVAL, MF ": line %zu: binder_cgroup is relative to the cgroup root: \"%s\", not \"%.200s\"",
				node_line(v), s + sizeof(PODCTL_CGROUP_ROOT) - 1, s);
	if (err)
		return err;
	m->binder_cgroup = strdup(s);
	if (!m->binder_cgroup)
		return dp_seterr(ENOMEM, MF);

	v = lookup(d, root, "events");
	if (!v)
		return dp_seterr(EINVAL, MF ": \"events\" is missing");
	err = want_kind(v, MF_SEQ, "events");
	if (err)
		return err;
	len = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (!len)
		return dp_seterr(EINVAL, MF ": line %zu: events is empty",
				 node_line(v));
	if (len > PODCTL_MANIFEST_MAX_EVENTS)
		return dp_seterr(E2BIG, MF ": line %zu: %zu events (at most %d)",
				 node_line(v), len, PODCTL_MANIFEST_MAX_EVENTS);
	for (it = v->data.sequence.items.start, i = 0; it < v->data.sequence.items.top;
	     it++, i++) {
		m->n = i + 1;
		err = parse_event(d, get(d, *it), &m->ev[i]);
		if (err)
			return err;
		for (j = 0; j < i; j++)
			if (!strcmp(m->ev[j].name, m->ev[i].name))
				return dp_seterr(EINVAL, MF ": line %zu: event name %s is used twice (first at line %zu)",
						 m->ev[i].line, m->ev[i].name,
						 m->ev[j].line);
	}
	return 0;
}

void podctl_manifest_free(struct podctl_manifest *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->ev[i].path);
		free(m->ev[i].payload);
	}
	free(m->binder_cgroup);
	memset(m, 0, sizeof(*m));
}

int podctl_manifest_parse(const char *text, size_t len,
			  struct podctl_manifest *m)
{
	yaml_parser_t p;
	yaml_document_t d, d2;
	int err;

	memset(m, 0, sizeof(*m));
	m->cmdline_path = "/proc/cmdline";
	if (len > PODCTL_MANIFEST_MAX_LEN)
		return dp_seterr(E2BIG, MF ": %zu bytes (at most %d)", len,
				 PODCTL_MANIFEST_MAX_LEN);
	if (memchr(text, '\0', len))
		return dp_seterr(EINVAL, MF ": NUL byte in the document");
	if (!yaml_parser_initialize(&p))
		return dp_seterr(ENOMEM, MF);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &d)) {
		err = dp_seterr(EINVAL, MF ": line %zu: YAML: %s",
				p.problem_mark.line + 1,
				p.problem ? p.problem : "syntax error");
		yaml_parser_delete(&p);
		return err;
	}
	err = parse_doc(&d, m);
	yaml_document_delete(&d);
	if (!err) {
		if (!yaml_parser_load(&p, &d2)) {
			err = dp_seterr(EINVAL, MF ": line %zu: YAML: %s",
					p.problem_mark.line + 1,
					p.problem ? p.problem : "syntax error");
		} else {
			if (yaml_document_get_root_node(&d2))
				err = dp_seterr(EINVAL, MF ": more than one YAML document");
			yaml_document_delete(&d2);
		}
	}
	yaml_parser_delete(&p);
	if (err)
		podctl_manifest_free(m);
	return err;
}

/* ---- payloads -------------------------------------------------------- */

/*
 * Read a regular file (sizes from stat are not trusted: /proc files say 0)
 * into buf (at most max bytes, content mode) or hash it (buf NULL).
 */
static int read_or_hash(const char *path, uint8_t *buf, size_t *len,
			uint8_t sha[32], uint64_t limit)
{
	static uint8_t chunk[65536];
	EVP_MD_CTX *ctx = NULL;
	struct stat st;
	uint64_t total = 0;
	ssize_t r;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return dp_seterr(errno, "%s", path);
	if (fstat(fd, &st)) {
		err = dp_seterr(errno, "%s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = dp_seterr(EINVAL, "%s is not a regular file", path);
		goto out;
	}
	if (!buf) {
		ctx = EVP_MD_CTX_new();
		if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
			err = dp_seterr(ENOMEM, "sha256");
			goto out;
		}
	}
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = dp_seterr(errno, "read %s", path);
			goto out;
		}
		if (!r)
			break;
		total += (uint64_t)r;
		if (total > limit) {
			err = dp_seterr(E2BIG, "%s is larger than %llu bytes",
					path, (unsigned long long)limit);
			goto out;
		}
		if (buf)
			memcpy(buf + total - (uint64_t)r, chunk, (size_t)r);
		else if (!EVP_DigestUpdate(ctx, chunk, (size_t)r)) {
			err = dp_seterr(EIO, "sha256 %s", path);
			goto out;
		}
	}
	if (buf)
		*len = (size_t)total;
	else if (!EVP_DigestFinal_ex(ctx, sha, NULL))
		err = dp_seterr(EIO, "sha256 %s", path);
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return err;
}

int podctl_manifest_load(const char *path, struct podctl_manifest *m)
{
	static uint8_t text[PODCTL_MANIFEST_MAX_LEN];
	size_t len;
	int err;

	memset(m, 0, sizeof(*m));
	err = read_or_hash(path, text, &len, NULL, sizeof(text));
	if (!err)
		err = podctl_manifest_parse((const char *)text, len, m);
	if (err)
		dp_seterr(0, "%s: %s", path, dp_errmsg());
	return err;
}

static int load_file(struct podctl_mf_event *e)
{
	uint8_t buf[DSTACK_POD_EVENT_PAYLOAD_MAX], sha[32];
	char hex[65];
	size_t len = 0;
	int err;

	if (e->mode != PODCTL_MF_SHA256) {
		err = read_or_hash(e->path, buf, &len, NULL, sizeof(buf));
		if (!err) {
			e->payload = malloc(len + 1);
			if (!e->payload)
				return dp_seterr(ENOMEM, MF);
			memcpy(e->payload, buf, len);
			e->payload_len = len;
			return 0;
		}
		if (err != -E2BIG || e->mode == PODCTL_MF_CONTENT)
			return err;
	}
	err = read_or_hash(e->path, NULL, NULL, sha, PODCTL_MANIFEST_FILE_MAX);
	if (err)
		return err;
	dp_hex(sha, sizeof(sha), hex);
	e->payload = malloc(7 + 64 + 1);
	if (!e->payload)
		return dp_seterr(ENOMEM, MF);
	memcpy(e->payload, "sha256:", 7);
	memcpy(e->payload + 7, hex, 64);
	e->payload_len = 7 + 64;
	return 0;
}

static int load_cmdline(struct podctl_mf_event *e, const char *path)
{
	uint8_t buf[DSTACK_POD_EVENT_PAYLOAD_MAX];
	size_t len = 0;
	int err = read_or_hash(path, buf, &len, NULL, sizeof(buf));

	if (err)
		return err;
	if (len && buf[len - 1] == '\n')
		len--;
	if (memchr(buf, '\0', len) || memchr(buf, '\n', len))
		return dp_seterr(EINVAL, "%s: not one line of text", path);
	e->payload = malloc(len + 1);
	if (!e->payload)
		return dp_seterr(ENOMEM, MF);
	memcpy(e->payload, buf, len);
	e->payload_len = len;
	return 0;
}

int podctl_manifest_read_payloads(struct podctl_manifest *m)
{
	size_t i;
	int err;

	for (i = 0; i < m->n; i++) {
		struct podctl_mf_event *e = &m->ev[i];

		if (e->loaded)
			continue;
		err = e->source == PODCTL_MF_FILE ? load_file(e) :
		      load_cmdline(e, m->cmdline_path);
		if (err) {
			dp_seterr(0, "event %s (line %zu): %s", e->name,
				  e->line, dp_errmsg());
			return err;
		}
		e->loaded = 1;
	}
	return 0;
}

/* ---- the policy ------------------------------------------------------ */

int podctl_manifest_policy(const struct podctl_manifest *m, FILE *out)
{
	static char hex[2 * DSTACK_POD_EVENT_PAYLOAD_MAX + 1];
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	size_t i;
	int err = 0;

	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		return dp_seterr(ENOMEM, "policy");
	}
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "require_bound_after_fuse",
			       json_object_new_boolean(1));
	json_object_object_add(o, "binder_cgroup",
			       json_object_new_string(m->binder_cgroup));
	for (i = 0; i < m->n; i++) {
		const struct podctl_mf_event *e = &m->ev[i];
		json_object *ev = json_object_new_object();

		if (!e->loaded) {
			json_object_put(ev);
			err = dp_seterr(EINVAL, "policy: event %s not read",
					e->name);
			break;
		}
		dp_hex(e->payload, e->payload_len, hex);
		json_object_object_add(ev, "name",
				       json_object_new_string(e->name));
		json_object_object_add(ev, "payload_hex",
				       json_object_new_string(hex));
		json_object_array_add(a, ev);
	}
	json_object_object_add(o, "required_platform_events", a);
	json_object_object_add(o, "platform_events_exact",
			       json_object_new_boolean(1));
	if (!err && fprintf(out, "%s\n", json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		err = dp_seterr(EIO, "policy: write");
	json_object_put(o);
	return err;
}

/* ---- commands -------------------------------------------------------- */

static int mf_fail(const char *cmd, int err)
{
	fprintf(stderr, "dstack-podctl %s: %s\n", cmd, dp_errmsg());
	return err == -ENOENT || err == -ENODEV ? PODCTL_EXIT_NODEV :
						  PODCTL_EXIT_FAIL;
}

/* Parse "CMD --OPT FILE" (the only form); NULL on a usage error. */
static const char *one_option(int argc, char **argv, const char *opt,
			      const char *use)
{
	if (argc == 3 && !strcmp(argv[1], opt) && argv[2][0])
		return argv[2];
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("%s", use);
		return "";
	}
	fprintf(stderr, "%s", use);
	return NULL;
}

int cmd_policy(int argc, char **argv)
{
	static const char use[] =
		"usage: dstack-podctl policy --from-manifest FILE\n"
		"  print the verifier policy (verify --policy) that a node set up\n"
		"  from FILE satisfies: its RTMR3 events, in order, and the binder\n";
	struct podctl_manifest m;
	const char *path = one_option(argc, argv, "--from-manifest", use);
	int err;

	if (!path)
		return PODCTL_EXIT_USAGE;
	if (!*path)
		return PODCTL_EXIT_OK;
	err = podctl_manifest_load(path, &m);
	if (err) {
		fprintf(stderr, "dstack-podctl policy: %s\n", dp_errmsg());
		return PODCTL_EXIT_USAGE;
	}
	err = podctl_manifest_read_payloads(&m);
	if (!err)
		err = podctl_manifest_policy(&m, stdout);
	podctl_manifest_free(&m);
	if (err)	/* a file of the manifest, not the module: exit 1 */
		fprintf(stderr, "dstack-podctl policy: %s\n", dp_errmsg());
	return err ? PODCTL_EXIT_FAIL : PODCTL_EXIT_OK;
}

int cmd_setup(int argc, char **argv)
{
	static const char use[] =
		"usage: dstack-podctl setup --manifest FILE\n"
		"  measure the manifest's events into RTMR3, in order, once per boot\n";
	char hex[2 * DSTACK_POD_DIGEST_LEN + 1];
	uint8_t digest[DSTACK_POD_DIGEST_LEN];
	struct dstack_pod_version v;
	struct podctl_manifest m;
	struct dp_dev dev;
	const char *path = one_option(argc, argv, "--manifest", use);
	uint32_t index;
	size_t i;
	int err;

	if (!path)
		return PODCTL_EXIT_USAGE;
	if (!*path)
		return PODCTL_EXIT_OK;
	err = podctl_manifest_load(path, &m);
	if (err) {
		fprintf(stderr, "dstack-podctl setup: %s\n", dp_errmsg());
		return PODCTL_EXIT_USAGE;
	}
	/* Everything is read before the first extend. */
	err = podctl_manifest_read_payloads(&m);
	if (err) {
		fprintf(stderr, "dstack-podctl setup: %s: nothing measured\n",
			dp_errmsg());
		podctl_manifest_free(&m);
		return PODCTL_EXIT_FAIL;
	}
	err = dp_open(&dev);
	if (err) {
		podctl_manifest_free(&m);
		return mf_fail("setup", err);
	}
	err = dp_version(&dev, &v);
	if (!err && v.mode == DSTACK_POD_MODE_SECURE)
		err = dp_seterr(EALREADY, "the node is already in secure mode: setup runs before the fuse");
	else if (!err && v.event_count != 1)
		err = dp_seterr(EALREADY, "RTMR3 already has %u events after dstack-pod.init: setup runs once per module load, on a fresh node (reboot)",
				v.event_count - 1);
	else if (!err && (uint64_t)v.max_events < 1 + (uint64_t)m.n + 1)
		err = dp_seterr(ENOSPC, "the module keeps %u events, the manifest needs %zu (with init and fuse)",
				v.max_events, m.n + 2);
	if (err) {
		fprintf(stderr, "dstack-podctl setup: %s: nothing measured\n",
			dp_errmsg());
		dp_close(&dev);
		podctl_manifest_free(&m);
		return PODCTL_EXIT_FAIL;
	}
	for (i = 0; i < m.n && !err; i++) {
		err = dp_extend(&dev, m.ev[i].name, m.ev[i].payload,
				m.ev[i].payload_len, digest, &index);
		if (err) {
			fprintf(stderr, "dstack-podctl setup: event %zu of %zu (%s): %s; the node is partially measured and must not be fused (reboot)\n",
				i + 1, m.n, m.ev[i].name, dp_errmsg());
			break;
		}
		dp_hex(digest, sizeof(digest), hex);
		printf("event #%u %s measured into RTMR3, digest %s\n", index,
		       m.ev[i].name, hex);
	}
	dp_close(&dev);
	if (!err)
		printf("setup: %zu events of %s measured; binder cgroup %s\n",
		       m.n, path, m.binder_cgroup);
	podctl_manifest_free(&m);
	return err ? PODCTL_EXIT_FAIL : PODCTL_EXIT_OK;
}

/*
 * The log of this module load must be dstack-pod.init and then exactly
 * the manifest's events, by name, in order (and, once fused, the fuse).
 */
static int log_matches(const struct podctl_manifest *m, const struct dp_log *log,
		       int fused)
{
	size_t i, want = 1 + m->n + (fused ? 1 : 0);

	if (log->n != want || strcmp(log->ev[0].name, DSTACK_POD_EVENT_INIT))
		return dp_seterr(EPROTO, "the RTMR3 log has %zu events, a node set up from the manifest has %zu",
				 log->n, want);
	for (i = 0; i < m->n; i++)
		if (strcmp(log->ev[1 + i].name, m->ev[i].name))
			return dp_seterr(EPROTO, "RTMR3 event #%zu is %s, the manifest's event %zu is %s",
					 i + 1, log->ev[1 + i].name, i + 1,
					 m->ev[i].name);
	if (fused && strcmp(log->ev[want - 1].name, DSTACK_POD_EVENT_FUSE))
		return dp_seterr(EPROTO, "the last RTMR3 event is not the fuse");
	return 0;
}

int podctl_fuse_manifest(int argc, char **argv,
			 int (*fuse)(int argc, char **argv))
{
	static const char use[] =
		"usage: dstack-podctl fuse --manifest FILE [--force]\n";
	struct dstack_pod_version v;
	struct podctl_manifest m;
	struct dp_fuse_info fi;
	struct dp_log log = { 0 };
	struct dp_dev dev;
	const char *path = NULL;
	char *binder = NULL, *fargv[5];
	int i, force = 0, err, ret, fargc = 0;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--manifest"))
			break;
	if (i == argc)
		return fuse(argc, argv);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--manifest") && i + 1 < argc && !path &&
		    argv[i + 1][0])
			path = argv[++i];
		else if (!strcmp(argv[i], "--force") && !force)
			force = 1;
		else {
			fputs(use, stderr);
			return PODCTL_EXIT_USAGE;
		}
	}
	if (!path) {
		fputs(use, stderr);
		return PODCTL_EXIT_USAGE;
	}
	err = podctl_manifest_load(path, &m);
	if (err) {
		fprintf(stderr, "dstack-podctl fuse: %s\n", dp_errmsg());
		return PODCTL_EXIT_USAGE;
	}
	err = dp_open(&dev);
	if (!err) {
		err = dp_version(&dev, &v);
		dp_close(&dev);
	}
	if (!err)
		err = dp_log_load(DP_EVENTS_PATH, &log);
	if (!err)
		err = log_matches(&m, &log, v.mode == DSTACK_POD_MODE_SECURE);
	if (err) {
		ret = mf_fail("fuse", err);
		fprintf(stderr, "dstack-podctl fuse: not fusing: the node was not set up from %s (dstack-podctl setup --manifest)\n",
			path);
		goto out;
	}
	if (v.mode == DSTACK_POD_MODE_SECURE) {
		/* Started twice: done already, if done as the manifest says. */
		const struct dp_event *f = &log.ev[log.n - 1];

		if (dp_fuse_payload_parse(f->payload, f->payload_len, &fi) ||
		    strcmp(fi.binder_path, m.binder_cgroup)) {
			fprintf(stderr, "dstack-podctl fuse: the node is fused, but not with the manifest's binder %s\n",
				m.binder_cgroup);
			ret = PODCTL_EXIT_FAIL;
		} else {
			printf("fuse: already blown as %s says (binder %s)\n",
			       path, m.binder_cgroup);
			ret = PODCTL_EXIT_OK;
		}
		goto out;
	}
	if (asprintf(&binder, "%s%s", PODCTL_CGROUP_ROOT, m.binder_cgroup) < 0) {
		binder = NULL;
		ret = mf_fail("fuse", dp_seterr(ENOMEM, "fuse"));
		goto out;
	}
	fargv[fargc++] = argv[0];
	fargv[fargc++] = (char *)"--binder-cgroup";
	fargv[fargc++] = binder;
	if (force)
		fargv[fargc++] = (char *)"--force";
	fargv[fargc] = NULL;
	ret = fuse(fargc, fargv);
out:
	free(binder);
	dp_log_free(&log);
	podctl_manifest_free(&m);
	return ret;
}
