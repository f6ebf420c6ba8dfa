// SPDX-License-Identifier: GPL-2.0
/*
 * libdstackpod-runtime: the YAML/JSON manifest reader and pod_spec_hash.
 * Definition: Documentation/pod-spec-hash.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "common/dpcommon.h"
#include "spec.h"

/* ---- UTF-8 ------------------------------------------------------------ */

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid;
 * *cp gets the code point.
 */
static size_t utf8_one(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t l;

	while (n) {
		l = utf8_one(p, n, &cp);
		if (!l)
			return false;
		p += l;
		n -= l;
	}
	return true;
}

/* Next UTF-16 code unit of a valid UTF-8 string; 0 at the end. */
struct u16it {
	const unsigned char *p;
	size_t n;
	uint16_t low;		/* pending low surrogate */
};

static uint32_t u16_next(struct u16it *it)
{
	uint32_t cp;
	size_t l;

	if (it->low) {
		cp = it->low;
		it->low = 0;
		return cp;
	}
	if (!it->n)
		return 0;
	l = utf8_one(it->p, it->n, &cp);
	if (!l)
		l = 1, cp = 0xfffd;
	it->p += l;
	it->n -= l;
	if (cp >= 0x10000) {
		cp -= 0x10000;
		it->low = (uint16_t)(0xdc00 + (cp & 0x3ff));
		return 0xd800 + (cp >> 10);
	}
	/* a NUL never occurs (refused on input); map it above the end mark */
	return cp ? cp : 0x10000;
}

/* RFC 8785 property order: UTF-16 code units, then length. */
static int key_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	struct u16it i = { (const unsigned char *)x, strlen(x), 0 };
	struct u16it j = { (const unsigned char *)y, strlen(y), 0 };
	uint32_t u, v;

	do {
		u = u16_next(&i);
		v = u16_next(&j);
		if (u != v)
			return u < v ? -1 : 1;
	} while (u);
	return 0;
}

/* ---- YAML 1.1 plain scalar resolution (go-yaml v2 rules) -------------- */

enum sval_type { SV_NULL, SV_BOOL, SV_INT, SV_UINT, SV_FLOAT, SV_STR, SV_MERGE };

struct sval {
	enum sval_type t;
	bool b;
	int64_t i;
	uint64_t u;
	double d;
};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static const char *const yaml_true[] = {
	"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
	"on", "On", "ON", NULL
};
static const char *const yaml_false[] = {
	"n", "N", "no", "No", "NO", "false", "False", "FALSE",
	"off", "Off", "OFF", NULL
};
static const char *const yaml_null[] = { "~", "null", "Null", "NULL", NULL };
static const char *const yaml_nan[] = { ".nan", ".NaN", ".NAN", NULL };
static const char *const yaml_pinf[] = {
	".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL
};
static const char *const yaml_ninf[] = { "-.inf", "-.Inf", "-.INF", NULL };

static int digit_val(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A' + 10;
	return 99;
}

/* Go's strconv.ParseUint(s, 0, 64) on a string without '_'. */
static bool go_parse_uint(const char *s, uint64_t *out)
{
	unsigned int base = 10;
	uint64_t n = 0;
	int d;

	if (!*s)
		return false;
	if (s[0] == '0') {
		char c1 = strlen(s) >= 3 ? s[1] | 0x20 : 0;

		if (c1 == 'b')
			base = 2, s += 2;
		else if (c1 == 'o')
			base = 8, s += 2;
		else if (c1 == 'x')
			base = 16, s += 2;
		else
			base = 8, s += 1;
	}
	for (; *s; s++) {
		d = digit_val(*s);
		if (d >= (int)base)
			return false;
		if (n > (UINT64_MAX - (uint64_t)d) / base)
			return false;
		n = n * base + (uint64_t)d;
	}
	*out = n;
	return true;
}

/* Go's strconv.ParseInt(s, 0, 64). */
static bool go_parse_int(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t u;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!go_parse_uint(s, &u))
		return false;
	if (!neg && u > (uint64_t)INT64_MAX)
		return false;
	if (neg && u > (uint64_t)INT64_MAX + 1)
		return false;
	if (neg)
		*out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	else
		*out = (int64_t)u;
	return true;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* go-yaml v2's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (*s == '.') {
		if (!is_digit(*++s))
			return false;
		while (is_digit(*s))
			s++;
	} else {
		if (!is_digit(*s))
			return false;
		while (is_digit(*s))
			s++;
		if (*s == '.')
			for (s++; is_digit(*s); s++)
				;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!is_digit(*s))
			return false;
		while (is_digit(*s))
			s++;
	}
	return !*s;
}

static bool parse_float(const char *s, double *d)
{
	char *end;

	errno = 0;
	*d = strtod(s, &end);
	if (*end || (errno == ERANGE && isinf(*d)))
		return false;
	return true;
}

/* s is NUL-terminated and has no embedded NUL. */
static int resolve_plain(const char *s, struct sval *v)
{
	char *plain, *q;
	const char *p;

	memset(v, 0, sizeof(*v));
	v->t = SV_STR;
	if (!*s || in_list(s, yaml_null)) {
		v->t = SV_NULL;
	} else if (in_list(s, yaml_true) || in_list(s, yaml_false)) {
		v->t = SV_BOOL;
		v->b = in_list(s, yaml_true);
	} else if (in_list(s, yaml_nan)) {
		v->t = SV_FLOAT;
		v->d = NAN;
	} else if (in_list(s, yaml_pinf) || in_list(s, yaml_ninf)) {
		v->t = SV_FLOAT;
		v->d = in_list(s, yaml_pinf) ? INFINITY : -INFINITY;
	} else if (!strcmp(s, "<<")) {
		v->t = SV_MERGE;
	} else if (s[0] == '.') {
		/* ParseFloat without '_' removal */
		if (yaml_style_float(s) && parse_float(s, &v->d))
			v->t = SV_FLOAT;
	} else if (is_digit(s[0]) || s[0] == '+' || s[0] == '-') {
		plain = malloc(strlen(s) + 1);
		if (!plain)
			return dp_seterr(ENOMEM, "YAML scalar");
		for (p = s, q = plain; *p; p++)
			if (*p != '_')
				*q++ = *p;
		*q = 0;
		if (go_parse_int(plain, &v->i))
			v->t = SV_INT;
		else if (go_parse_uint(plain, &v->u))
			v->t = SV_UINT;
		else if (yaml_style_float(plain) && parse_float(plain, &v->d))
			v->t = SV_FLOAT;
		free(plain);
	}
	return 0;
}

/* ---- YAML events to json-c -------------------------------------------- */

struct yp {
	yaml_parser_t p;
	size_t nodes;
};

static int y_error(struct yp *y)
{
	yaml_parser_t *p = &y->p;
	const char *prob = p->problem ? p->problem : "syntax error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return dp_seterr(ENOMEM, "YAML parser");
	case YAML_READER_ERROR:
		return dp_seterr(EILSEQ, "YAML input rejected at byte %zu: %s (a manifest must be printable UTF-8)",
				 p->problem_offset, prob);
	default:
		return dp_seterr(EINVAL, "YAML syntax error at line %zu column %zu: %s%s%s",
				 p->problem_mark.line + 1,
				 p->problem_mark.column + 1,
				 p->context ? p->context : "",
				 p->context ? ": " : "", prob);
	}
}

static int y_next(struct yp *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->p, ev))
		return y_error(y);
	return 0;
}

static size_t ev_line(const yaml_event_t *ev)
{
	return ev->start_mark.line + 1;
}

#define YAML_TAG_STR	"tag:yaml.org,2002:str"
#define YAML_TAG_MAP	"tag:yaml.org,2002:map"
#define YAML_TAG_SEQ	"tag:yaml.org,2002:seq"

/* Refuse anchors and tags other than the ones that change nothing. */
static int y_props(const yaml_event_t *ev, const yaml_char_t *anchor,
		   const yaml_char_t *tag, const char *ok_tag)
{
	if (anchor)
		return dp_seterr(EINVAL, "YAML line %zu: anchors (&%s) and aliases are not supported",
				 ev_line(ev), (const char *)anchor);
	if (tag && strcmp((const char *)tag, "!") &&
	    strcmp((const char *)tag, ok_tag))
		return dp_seterr(EINVAL, "YAML line %zu: tag %s is not supported",
				 ev_line(ev), (const char *)tag);
	return 0;
}

/* A scalar event's value: *out is NULL for null. */
static int y_scalar(struct yp *y, const yaml_event_t *ev, struct sval *v)
{
	const char *s = (const char *)ev->data.scalar.value;
	int err;

	(void)y;
	err = y_props(ev, ev->data.scalar.anchor, ev->data.scalar.tag,
		      YAML_TAG_STR);
	if (err)
		return err;
	if (memchr(s, 0, ev->data.scalar.length))
		return dp_seterr(EINVAL, "YAML line %zu: NUL characters are not supported",
				 ev_line(ev));
	if (!ev->data.scalar.tag &&
	    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return resolve_plain(s, v);
	memset(v, 0, sizeof(*v));
	v->t = SV_STR;
	return 0;
}

static int y_key(struct yp *y, const yaml_event_t *ev, char **key)
{
	struct sval v;
	char num[32];
	const char *k = num;
	int err;

	*key = NULL;
	if (ev->type == YAML_ALIAS_EVENT)
		return dp_seterr(EINVAL, "YAML line %zu: aliases (*%s) are not supported",
				 ev_line(ev), (const char *)ev->data.alias.anchor);
	if (ev->type != YAML_SCALAR_EVENT)
		return dp_seterr(EINVAL, "YAML line %zu: a mapping key must be a scalar",
				 ev_line(ev));
	err = y_scalar(y, ev, &v);
	if (err)
		return err;
	switch (v.t) {
	case SV_STR:
		k = (const char *)ev->data.scalar.value;
		break;
	case SV_BOOL:
		k = v.b ? "true" : "false";
		break;
	case SV_INT:
		snprintf(num, sizeof(num), "%" PRId64, v.i);
		break;
	case SV_UINT:
		snprintf(num, sizeof(num), "%" PRIu64, v.u);
		break;
	case SV_MERGE:
		return dp_seterr(EINVAL, "YAML line %zu: merge keys (<<) are not supported",
				 ev_line(ev));
	default:
		return dp_seterr(EINVAL, "YAML line %zu: mapping key '%.64s' is null or a float, not a string",
				 ev_line(ev), (const char *)ev->data.scalar.value);
	}
	*key = strdup(k);
	return *key ? 0 : dp_seterr(ENOMEM, "YAML key");
}

static int y_node(struct yp *y, const yaml_event_t *ev, int depth,
		  json_object **out);

static int y_mapping(struct yp *y, const yaml_event_t *start, int depth,
		     json_object **out)
{
	json_object *obj = json_object_new_object(), *child;
	yaml_event_t ev;
	size_t n = 0, line;
	char *key;
	int err;

	if (!obj)
		return dp_seterr(ENOMEM, "YAML mapping");
	for (;;) {
		err = y_next(y, &ev);
		if (err)
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		line = ev_line(&ev);
		err = y_key(y, &ev, &key);
		yaml_event_delete(&ev);
		if (err)
			goto fail;
		if (json_object_object_get_ex(obj, key, NULL)) {
			err = dp_seterr(EINVAL, "YAML line %zu: duplicate mapping key '%.64s'",
					line, key);
			free(key);
			goto fail;
		}
		if (++n > DP_YAML_MAX_ENTRIES) {
			err = dp_seterr(E2BIG, "YAML line %zu: mapping has more than %u entries",
					ev_line(start), DP_YAML_MAX_ENTRIES);
			free(key);
			goto fail;
		}
		err = y_next(y, &ev);
		if (err) {
			free(key);
			goto fail;
		}
		err = y_node(y, &ev, depth + 1, &child);
		yaml_event_delete(&ev);
		if (!err && json_object_object_add(obj, key, child)) {
			json_object_put(child);
			err = dp_seterr(ENOMEM, "YAML mapping");
		}
		free(key);
		if (err)
			goto fail;
	}
	*out = obj;
	return 0;
fail:
	json_object_put(obj);
	return err;
}

static int y_sequence(struct yp *y, const yaml_event_t *start, int depth,
		      json_object **out)
{
	json_object *arr = json_object_new_array(), *child;
	yaml_event_t ev;
	size_t n = 0;
	int err;

	if (!arr)
		return dp_seterr(ENOMEM, "YAML sequence");
	for (;;) {
		err = y_next(y, &ev);
		if (err)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (++n > DP_YAML_MAX_ENTRIES) {
			yaml_event_delete(&ev);
			err = dp_seterr(E2BIG, "YAML line %zu: sequence has more than %u entries",
					ev_line(start), DP_YAML_MAX_ENTRIES);
			goto fail;
		}
		err = y_node(y, &ev, depth + 1, &child);
		yaml_event_delete(&ev);
		if (!err && json_object_array_add(arr, child)) {
			json_object_put(child);
			err = dp_seterr(ENOMEM, "YAML sequence");
		}
		if (err)
			goto fail;
	}
	*out = arr;
	return 0;
fail:
	json_object_put(arr);
	return err;
}

static int y_node(struct yp *y, const yaml_event_t *ev, int depth,
		  json_object **out)
{
	const char *s = (const char *)ev->data.scalar.value;
	struct sval v;
	int err;

	*out = NULL;
	if (++y->nodes > DP_YAML_MAX_NODES)
		return dp_seterr(E2BIG, "YAML line %zu: more than %u nodes",
				 ev_line(ev), DP_YAML_MAX_NODES);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return dp_seterr(EINVAL, "YAML line %zu: aliases (*%s) are not supported",
				 ev_line(ev), (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		err = y_scalar(y, ev, &v);
		if (err)
			return err;
		switch (v.t) {
		case SV_NULL:
			return 0;
		case SV_BOOL:
			*out = json_object_new_boolean(v.b);
			break;
		case SV_INT:
			*out = json_object_new_int64(v.i);
			break;
		case SV_UINT:
			*out = json_object_new_uint64(v.u);
			break;
		case SV_FLOAT:
			*out = json_object_new_double(v.d);
			break;
		case SV_MERGE:
		case SV_STR:
			*out = json_object_new_string_len(s, (int)ev->data.scalar.length);
			break;
		}
		return *out ? 0 : dp_seterr(ENOMEM, "YAML scalar");
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if (depth >= DP_YAML_MAX_DEPTH)
			return dp_seterr(E2BIG, "YAML line %zu: nesting deeper than %d levels",
					 ev_line(ev), DP_YAML_MAX_DEPTH);
		if (ev->type == YAML_MAPPING_START_EVENT) {
			err = y_props(ev, ev->data.mapping_start.anchor,
				      ev->data.mapping_start.tag, YAML_TAG_MAP);
			return err ? err : y_mapping(y, ev, depth, out);
		}
		err = y_props(ev, ev->data.sequence_start.anchor,
			      ev->data.sequence_start.tag, YAML_TAG_SEQ);
		return err ? err : y_sequence(y, ev, depth, out);
	default:
		return dp_seterr(EINVAL, "YAML line %zu: unexpected event %d",
				 ev_line(ev), ev->type);
	}
}

static int yaml_parse(const char *buf, size_t len, json_object **out)
{
	json_object *doc = NULL, *root;
	yaml_event_t ev;
	struct yp y;
	size_t line;
	int err;

	memset(&y, 0, sizeof(y));
	if (!yaml_parser_initialize(&y.p))
		return dp_seterr(ENOMEM, "YAML parser");
	yaml_parser_set_input_string(&y.p, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&y.p, YAML_UTF8_ENCODING);
	err = y_next(&y, &ev);
	if (err)
		goto out;
	yaml_event_delete(&ev);	/* STREAM-START */
	for (;;) {
		err = y_next(&y, &ev);
		if (err)
			goto out;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		line = ev_line(&ev);
		yaml_event_delete(&ev);	/* DOCUMENT-START */
		err = y_next(&y, &ev);
		if (err)
			goto out;
		err = y_node(&y, &ev, 0, &root);
		yaml_event_delete(&ev);
		if (err)
			goto out;
		err = y_next(&y, &ev);	/* DOCUMENT-END */
		if (err) {
			json_object_put(root);
			goto out;
		}
		yaml_event_delete(&ev);
		if (!root)		/* an empty document, e.g. a trailing "---" */
			continue;
		if (doc) {
			json_object_put(root);
			err = dp_seterr(EINVAL, "a second YAML document starts at line %zu: put one object in each manifest",
					line);
			goto out;
		}
		doc = root;
	}
	if (!doc)
		err = dp_seterr(ENODATA, "no YAML document in the input");
out:
	yaml_parser_delete(&y.p);
	if (err) {
		json_object_put(doc);
		return err;
	}
	*out = doc;
	return 0;
}

/* json-c keys are C strings: refuse the \u0000 escape outright. */
static int json_has_nul_escape(const char *buf, size_t len)
{
	size_t i, bs;

	for (i = 0; i + 5 < len; i++) {
		if (buf[i] != '\\')
			continue;
		for (bs = 0; i < len && buf[i] == '\\'; i++)
			bs++;
		if ((bs & 1) && i + 4 < len && (buf[i] | 0x20) == 'u' &&
		    !memcmp(buf + i + 1, "0000", 4))
			return 1;
	}
	return 0;
}

static int json_parse(const char *buf, size_t len, json_object **out)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *obj;
	size_t end;

	if (json_has_nul_escape(buf, len))
		return dp_seterr(EINVAL, "JSON: NUL characters (\\u0000) are not supported");
	tok = json_tokener_new_ex(DP_YAML_MAX_DEPTH);
	if (!tok)
		return dp_seterr(ENOMEM, "JSON tokener");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		if (jerr == json_tokener_continue)
			return dp_seterr(EINVAL, "JSON: the input ends inside the object");
		if (jerr == json_tokener_error_depth)
			return dp_seterr(E2BIG, "JSON: nesting deeper than %d levels",
					 DP_YAML_MAX_DEPTH);
		return dp_seterr(EINVAL, "JSON: %s at byte %zu (input that starts with '{' is read as strict JSON)",
				 json_tokener_error_desc(jerr), end);
	}
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", buf[end])) {
			json_object_put(obj);
			return dp_seterr(EINVAL, "JSON: data after the object at byte %zu",
					 end);
		}
	}
	*out = obj;
	return 0;
}

int dp_yaml_parse(const char *buf, size_t len, struct json_object **out)
{
	const char *nul;
	size_t i;

	*out = NULL;
	if (len > DP_SPEC_MAX_INPUT)
		return dp_seterr(E2BIG, "input of %zu bytes is larger than %u bytes",
				 len, DP_SPEC_MAX_INPUT);
	nul = memchr(buf, 0, len);
	if (nul)
		return dp_seterr(EINVAL, "NUL byte at offset %zu", (size_t)(nul - buf));
	for (i = 0; i < len && strchr(" \t\r\n", buf[i]); i++)
		;
	if (i < len && buf[i] == '{')
		return json_parse(buf, len, out);
	return yaml_parse(buf, len, out);
}

int dp_spec_load(const char *path, struct json_object **out)
{
	size_t cap = DP_SPEC_MAX_INPUT + 1, n = 0;
	char *buf;
	ssize_t r;
	int fd, err;

	*out = NULL;
	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		return dp_seterr(errno, "%s", path);
	buf = malloc(cap);
	if (!buf) {
		if (fd)
			close(fd);
		return dp_seterr(ENOMEM, "%s", path);
	}
	while (n < cap && (r = read(fd, buf + n, cap - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = dp_seterr(errno, "read %s", path);
			goto out;
		}
		n += (size_t)r;
	}
	if (n > DP_SPEC_MAX_INPUT) {
		err = dp_seterr(E2BIG, "%s is larger than %u bytes", path,
				DP_SPEC_MAX_INPUT);
		goto out;
	}
	err = dp_yaml_parse(buf, n, out);
out:
	if (fd)
		close(fd);
	free(buf);
	return err;
}

/* ---- normalisation ---------------------------------------------------- */

#define SPEC_MAX_DEPTH		DP_YAML_MAX_DEPTH
#define SPEC_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define SPEC_MAX_EXCLUDED	8
#define SA_MOUNT_PATH		"/var/run/secrets/kubernetes.io/serviceaccount"

/* Flags for norm(). */
#define N_ELEM		0x1	/* an array element: never dropped */
#define N_KEEP_EMPTY	0x2	/* an empty object stays (a volume source) */

struct nctx {
	char path[512];
	size_t plen;
	int depth;
	bool host_network;
	size_t nexcluded;
	char excluded[SPEC_MAX_EXCLUDED][64];
};

static size_t path_push(struct nctx *c, const char *key, size_t idx)
{
	size_t old = c->plen, room = sizeof(c->path) - old;
	int n = key ? snprintf(c->path + old, room, ".%s", key) :
		      snprintf(c->path + old, room, "[%zu]", idx);

	if (n > 0)
		c->plen += (size_t)n < room ? (size_t)n : room - 1;
	return old;
}

static void path_pop(struct nctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = 0;
}

static bool str_is(json_object *v, const char *s)
{
	return json_object_is_type(v, json_type_string) &&
	       !strcmp(json_object_get_string(v), s);
}

static bool int_is(json_object *v, int64_t i)
{
	return json_object_is_type(v, json_type_int) &&
	       json_object_get_int64(v) == i;
}

/*
 * Values the API server fills in when a field is absent, as
 * (enclosing key, field, value): the field is dropped when it has that
 * value.  NULL as the enclosing key: any object.
 */
struct spec_default {
	const char *parent;
	const char *field;
	const char *str;	/* or NULL: */
	int64_t num;
};

static const struct spec_default spec_defaults[] = {
	{ "fieldRef", "apiVersion", "v1", 0 },
	{ "resourceFieldRef", "divisor", "0", 0 },
	{ "resourceFieldRef", "divisor", "1", 0 },
	{ "serviceAccountToken", "expirationSeconds", NULL, 3600 },
	{ "configMap", "defaultMode", NULL, 420 },
	{ "secret", "defaultMode", NULL, 420 },
	{ "projected", "defaultMode", NULL, 420 },
	{ "downwardAPI", "defaultMode", NULL, 420 },
	{ "hostPath", "type", "", 0 },
	{ "securityContext", "procMount", "Default", 0 },
	{ "iscsi", "iscsiInterface", "default", 0 },
	{ "rbd", "pool", "rbd", 0 },
	{ "rbd", "user", "admin", 0 },
	{ "rbd", "keyring", "/etc/ceph/keyring", 0 },
	{ "azureDisk", "cachingMode", "ReadWrite", 0 },
	{ "azureDisk", "fsType", "ext4", 0 },
	{ "azureDisk", "kind", "Shared", 0 },
	{ "scaleIO", "storageMode", "ThinProvisioned", 0 },
	{ "scaleIO", "fsType", "xfs", 0 },
	{ NULL, "volumeMode", "Filesystem", 0 },
};

/* Non-pointer booleans with omitempty: false is the same as absent. */
static const char *const false_is_absent[] = {
	"readOnly", "hostNetwork", "hostPID", "hostIPC", NULL
};

static bool is_default(const char *parent, const char *field, json_object *v)
{
	size_t i;

	if (json_object_is_type(v, json_type_boolean) &&
	    !json_object_get_boolean(v) && in_list(field, false_is_absent))
		return true;
	/* the image volume source: pullPolicy is defaulted like a container's */
	if (parent && !strcmp(parent, "image") && !strcmp(field, "pullPolicy"))
		return true;
	for (i = 0; i < SPEC_ARRAY_SIZE(spec_defaults); i++) {
		const struct spec_default *d = &spec_defaults[i];

		if (d->parent && (!parent || strcmp(d->parent, parent)))
			continue;
		if (strcmp(d->field, field))
			continue;
		if (d->str ? str_is(v, d->str) : int_is(v, d->num))
			return true;
	}
	return false;
}

static int norm(struct nctx *c, const char *key, json_object *v, int flags,
		json_object **out);

static int put_member(json_object *o, const char *k, json_object *v)
{
	if (json_object_object_add(o, k, v)) {
		json_object_put(v);
		return dp_seterr(ENOMEM, "pod spec");
	}
	return 0;
}

/* Normalise the members of v named in allow (all if NULL) into *out. */
static int norm_object(struct nctx *c, const char *key, json_object *v,
		       const char *const *allow, int flags, json_object **out)
{
	json_object *o, *nv;
	size_t old;
	int err = 0;

	*out = NULL;
	o = json_object_new_object();
	if (!o)
		return dp_seterr(ENOMEM, "pod spec");
	json_object_object_foreach(v, k, mv) {
		if (allow && !in_list(k, allow))
			continue;
		old = path_push(c, k, 0);
		if (!utf8_valid(k, strlen(k)))
			err = dp_seterr(EILSEQ, "%s: key is not valid UTF-8",
					c->path);
		else
			err = norm(c, k, mv, 0, &nv);
		path_pop(c, old);
		if (err)
			break;
		/* resourceFieldRef.divisor is a quantity: 1 and "1" are equal */
		if (nv && key && !strcmp(key, "resourceFieldRef") &&
		    !strcmp(k, "divisor") && json_object_is_type(nv, json_type_int)) {
			char num[32];

			snprintf(num, sizeof(num), "%" PRId64,
				 json_object_get_int64(nv));
			json_object_put(nv);
			nv = json_object_new_string(num);
			if (!nv) {
				err = dp_seterr(ENOMEM, "pod spec");
				break;
			}
		}
		if (nv && is_default(key, k, nv)) {
			json_object_put(nv);
			nv = NULL;
		}
		if (nv) {
			err = put_member(o, k, nv);
			if (err)
				break;
		}
	}
	if (!err && key && !strcmp(key, "ports") && (flags & N_ELEM)) {
		/*
		 * ports[]: protocol TCP is the default; hostPort 0 is absent,
		 * and with hostNetwork the API server sets it to containerPort
		 */
		json_object *hp = NULL, *cp = NULL, *pr = NULL;

		if (json_object_object_get_ex(o, "protocol", &pr) &&
		    str_is(pr, "TCP"))
			json_object_object_del(o, "protocol");
		json_object_object_get_ex(o, "containerPort", &cp);
		if (json_object_object_get_ex(o, "hostPort", &hp) &&
		    (int_is(hp, 0) || (c->host_network && cp &&
		     json_object_is_type(cp, json_type_int) &&
		     int_is(hp, json_object_get_int64(cp)))))
			json_object_object_del(o, "hostPort");
	}
	if (err) {
		json_object_put(o);
		return err;
	}
	if (!json_object_object_length(o) && !(flags & (N_KEEP_EMPTY | N_ELEM))) {
		json_object_put(o);
		return 0;
	}
	*out = o;
	return 0;
}

static int norm_array(struct nctx *c, const char *key, json_object *v,
		      json_object **out)
{
	size_t i, n = json_object_array_length(v), old;
	json_object *a, *nv, *e;
	int err = 0;

	*out = NULL;
	if (!n)
		return 0;
	a = json_object_new_array_ext((int)n);
	if (!a)
		return dp_seterr(ENOMEM, "pod spec");
	for (i = 0; i < n && !err; i++) {
		old = path_push(c, NULL, i);
		e = json_object_array_get_idx(v, i);
		if (!e)
			err = dp_seterr(EINVAL, "%s: null in a list", c->path);
		else
			err = norm(c, key, e, N_ELEM, &nv);
		path_pop(c, old);
		if (!err && json_object_array_add(a, nv)) {
			json_object_put(nv);
			err = dp_seterr(ENOMEM, "pod spec");
		}
	}
	if (err) {
		json_object_put(a);
		return err;
	}
	*out = a;
	return 0;
}

/*
 * Normalise one value: *out is NULL when the value is the same as absent
 * (null, "", [], {} after normalisation) unless it is an array element.
 */
static int norm(struct nctx *c, const char *key, json_object *v, int flags,
		json_object **out)
{
	const char *s;
	int64_t i;
	uint64_t u;
	double d;
	int err, len;

	*out = NULL;
	switch (json_object_get_type(v)) {
	case json_type_null:
		return 0;
	case json_type_boolean:
		*out = json_object_new_boolean(json_object_get_boolean(v));
		break;
	case json_type_int:
		i = json_object_get_int64(v);
		u = json_object_get_uint64(v);
		*out = i == INT64_MAX && u > (uint64_t)INT64_MAX ?
			json_object_new_uint64(u) : json_object_new_int64(i);
		break;
	case json_type_double:
		d = json_object_get_double(v);
		if (!isfinite(d) || d != trunc(d) || fabs(d) > 9007199254740992.0)
			return dp_seterr(EINVAL, "%s: %g is not an integer (the covered fields hold no fractions)",
					 c->path, d);
		*out = json_object_new_int64((int64_t)d);
		break;
	case json_type_string:
		s = json_object_get_string(v);
		len = json_object_get_string_len(v);
		if (!utf8_valid(s, (size_t)len))
			return dp_seterr(EILSEQ, "%s: string is not valid UTF-8",
					 c->path);
		if (memchr(s, 0, (size_t)len))
			return dp_seterr(EINVAL, "%s: NUL character in a string",
					 c->path);
		if (!len && !(flags & N_ELEM))
			return 0;
		*out = json_object_new_string_len(s, len);
		break;
	case json_type_array:
	case json_type_object:
		if (c->depth >= SPEC_MAX_DEPTH)
			return dp_seterr(E2BIG, "%s: nested deeper than %d levels",
					 c->path, SPEC_MAX_DEPTH);
		c->depth++;
		if (json_object_is_type(v, json_type_array))
			err = norm_array(c, key, v, out);
		else
			err = norm_object(c, key, v, NULL, flags, out);
		c->depth--;
		return err;
	}
	return *out ? 0 : dp_seterr(ENOMEM, "pod spec");
}

/* ---- canonical serialisation (RFC 8785) ------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	char *np;
	size_t ncap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

/* RFC 8785's two-character escapes below 0x20. */
static const char *const short_esc[0x20] = {
	['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r",
	['\t'] = "\\t",
};

static void sb_str(struct sbuf *b, const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	size_t i, run = 0;
	char esc[8];

	sb_put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *e = NULL;

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			esc[2] = 0;
			e = esc;
		} else if (ch < 0x20) {
			e = short_esc[ch];
			if (!e) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hexd[ch >> 4];
				esc[5] = hexd[ch & 15];
				esc[6] = 0;
				e = esc;
			}
		}
		if (!e)
			continue;
		sb_put(b, s + run, i - run);
		sb_put(b, e, strlen(e));
		run = i + 1;
	}
	sb_put(b, s + run, n - run);
	sb_put(b, "\"", 1);
}

static int ser(struct sbuf *b, json_object *v, int depth)
{
	char num[32];
	const char **keys;
	size_t n, i;
	int err = 0;

	if (depth > SPEC_MAX_DEPTH + 2)
		return dp_seterr(E2BIG, "canonical form nested too deep");
	switch (json_object_get_type(v)) {
	case json_type_null:
		sb_put(b, "null", 4);
		break;
	case json_type_boolean:
		if (json_object_get_boolean(v))
			sb_put(b, "true", 4);
		else
			sb_put(b, "false", 5);
		break;
	case json_type_int:
		if (json_object_get_int64(v) == INT64_MAX)
			snprintf(num, sizeof(num), "%" PRIu64,
				 json_object_get_uint64(v));
		else
			snprintf(num, sizeof(num), "%" PRId64,
				 json_object_get_int64(v));
		sb_put(b, num, strlen(num));
		break;
	case json_type_double:
		return dp_seterr(EINVAL, "canonical form: unexpected fraction");
	case json_type_string:
		sb_str(b, json_object_get_string(v),
		       (size_t)json_object_get_string_len(v));
		break;
	case json_type_array:
		sb_put(b, "[", 1);
		n = json_object_array_length(v);
		for (i = 0; i < n && !err; i++) {
			if (i)
				sb_put(b, ",", 1);
			err = ser(b, json_object_array_get_idx(v, i), depth + 1);
		}
		sb_put(b, "]", 1);
		break;
	case json_type_object:
		n = (size_t)json_object_object_length(v);
		keys = calloc(n ? n : 1, sizeof(*keys));
		if (!keys)
			return dp_seterr(ENOMEM, "canonical form");
		i = 0;
		json_object_object_foreach(v, k, mv) {
			(void)mv;
			keys[i++] = k;
		}
		qsort(keys, n, sizeof(*keys), key_cmp);
		sb_put(b, "{", 1);
		for (i = 0; i < n && !err; i++) {
			if (i)
				sb_put(b, ",", 1);
			sb_str(b, keys[i], strlen(keys[i]));
			sb_put(b, ":", 1);
			err = ser(b, json_object_object_get(v, keys[i]), depth + 1);
		}
		sb_put(b, "}", 1);
		free(keys);
		break;
	}
	if (!err && b->oom)
		err = dp_seterr(ENOMEM, "canonical form");
	return err;
}

/* The canonical text of v, for shape comparisons. */
static int canon_of(json_object *v, struct sbuf *b)
{
	memset(b, 0, sizeof(*b));
	return ser(b, v, 0);
}

/* ---- the covered subset ----------------------------------------------- */

/* env is handled by norm_env() */
static const char *const container_fields[] = {
	"name", "image", "command", "args", "volumeMounts",
	"securityContext", "ports", NULL
};
static const char *const env_fields[] = { "name", "value", "valueFrom", NULL };

/* kube-api-access-XXXXX: utilrand.String(5) */
static bool sa_volume_name(const char *s)
{
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
	size_t i;

	if (strncmp(s, "kube-api-access-", 16) || strlen(s) != 21)
		return false;
	for (i = 16; i < 21; i++)
		if (!strchr(alnum, s[i]))
			return false;
	return true;
}

/*
 * Is v (normalised) exactly the volume the ServiceAccount admission
 * plugin injects?
 */
static int sa_volume_match(json_object *v, bool *match)
{
	char want[640];
	json_object *name;
	struct sbuf b;
	int err;

	*match = false;
	if (!json_object_object_get_ex(v, "name", &name) ||
	    !json_object_is_type(name, json_type_string) ||
	    !sa_volume_name(json_object_get_string(name)))
		return 0;
	snprintf(want, sizeof(want),
		 "{\"name\":\"%s\",\"projected\":{\"sources\":["
		 "{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},"
		 "{\"configMap\":{\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}],\"name\":\"kube-root-ca.crt\"}},"
		 "{\"downwardAPI\":{\"items\":[{\"fieldRef\":{\"fieldPath\":\"metadata.namespace\"},\"path\":\"namespace\"}]}}"
		 "]}}", json_object_get_string(name));
	err = canon_of(v, &b);
	if (!err)
		*match = b.p && !strcmp(b.p, want);
	free(b.p);
	return err;
}

static int sa_mount_match(struct nctx *c, json_object *m, bool *match)
{
	char want[256];
	struct sbuf b;
	size_t i;
	int err = 0;

	*match = false;
	for (i = 0; i < c->nexcluded && !*match && !err; i++) {
		snprintf(want, sizeof(want),
			 "{\"mountPath\":\"" SA_MOUNT_PATH "\",\"name\":\"%s\",\"readOnly\":true}",
			 c->excluded[i]);
		err = canon_of(m, &b);
		if (!err)
			*match = b.p && !strcmp(b.p, want);
		free(b.p);
	}
	return err;
}

static int norm_volumes(struct nctx *c, json_object *v, json_object **out)
{
	size_t i, n, old, oldm;
	json_object *a, *vol, *nv, *nm, *ed;
	bool match;
	int err = 0;

	*out = NULL;
	if (!json_object_is_type(v, json_type_array))
		return v ? dp_seterr(EINVAL, "%s: not a list", c->path) : 0;
	n = json_object_array_length(v);
	a = json_object_new_array();
	if (!a)
		return dp_seterr(ENOMEM, "pod spec");
	for (i = 0; i < n && !err; i++) {
		vol = json_object_array_get_idx(v, i);
		old = path_push(c, NULL, i);
		if (!json_object_is_type(vol, json_type_object)) {
			err = dp_seterr(EINVAL, "%s: not an object", c->path);
			path_pop(c, old);
			break;
		}
		nv = json_object_new_object();
		if (!nv)
			err = dp_seterr(ENOMEM, "pod spec");
		json_object_object_foreach(vol, k, mv) {
			if (err)
				break;
			oldm = path_push(c, k, 0);
			c->depth++;
			if (!utf8_valid(k, strlen(k)))
				err = dp_seterr(EILSEQ, "%s: key is not valid UTF-8",
						c->path);
			else
				err = norm(c, k, mv,
					   strcmp(k, "name") ? N_KEEP_EMPTY : 0, &nm);
			c->depth--;
			path_pop(c, oldm);
			if (!err && nm)
				err = put_member(nv, k, nm);
		}
		/* a volume without a source is an emptyDir (SetDefaults_Volume) */
		if (!err && json_object_object_length(nv) ==
			    (json_object_object_get_ex(nv, "name", NULL) ? 1 : 0)) {
			ed = json_object_new_object();
			err = ed ? put_member(nv, "emptyDir", ed) :
				   dp_seterr(ENOMEM, "pod spec");
		}
		if (!err)
			err = sa_volume_match(nv, &match);
		if (!err && match && c->nexcluded < SPEC_MAX_EXCLUDED) {
			json_object_object_get_ex(nv, "name", &nm);
			snprintf(c->excluded[c->nexcluded++], sizeof(c->excluded[0]),
				 "%s", json_object_get_string(nm));
			json_object_put(nv);
			nv = NULL;
		}
		path_pop(c, old);
		if (!err && nv && json_object_array_add(a, nv)) {
			err = dp_seterr(ENOMEM, "pod spec");
			json_object_put(nv);
		} else if (err) {
			json_object_put(nv);
		}
	}
	if (err || !json_object_array_length(a)) {
		json_object_put(a);
		return err;
	}
	*out = a;
	return 0;
}

/* env[]: each entry keeps only name, value and valueFrom. */
static int norm_env(struct nctx *c, json_object *env, json_object **out)
{
	size_t i, n, old;
	json_object *kept, *e, *ne;
	int err = 0;

	*out = NULL;
	if (!json_object_is_type(env, json_type_array))
		return norm(c, "env", env, 0, out);
	n = json_object_array_length(env);
	if (!n)
		return 0;
	kept = json_object_new_array();
	if (!kept)
		return dp_seterr(ENOMEM, "pod spec");
	for (i = 0; i < n && !err; i++) {
		old = path_push(c, NULL, i);
		e = json_object_array_get_idx(env, i);
		if (json_object_is_type(e, json_type_object))
			err = norm_object(c, NULL, e, env_fields, N_ELEM, &ne);
		else if (!e)
			err = dp_seterr(EINVAL, "%s: null in a list", c->path);
		else
			err = norm(c, "env", e, N_ELEM, &ne);
		path_pop(c, old);
		if (!err && json_object_array_add(kept, ne)) {
			json_object_put(ne);
			err = dp_seterr(ENOMEM, "pod spec");
		}
	}
	if (err) {
		json_object_put(kept);
		return err;
	}
	*out = kept;
	return 0;
}

/* volumeMounts[] without the token mounts of an excluded volume. */
static int drop_sa_mounts(struct nctx *c, json_object *o)
{
	json_object *mounts, *kept, *e;
	size_t i, n;
	bool match;
	int err = 0;

	if (!c->nexcluded ||
	    !json_object_object_get_ex(o, "volumeMounts", &mounts) ||
	    !json_object_is_type(mounts, json_type_array))
		return 0;
	kept = json_object_new_array();
	if (!kept)
		return dp_seterr(ENOMEM, "pod spec");
	n = json_object_array_length(mounts);
	for (i = 0; i < n && !err; i++) {
		e = json_object_array_get_idx(mounts, i);
		err = sa_mount_match(c, e, &match);
		if (!err && !match &&
		    json_object_array_add(kept, json_object_get(e))) {
			json_object_put(e);
			err = dp_seterr(ENOMEM, "pod spec");
		}
	}
	if (err || !json_object_array_length(kept)) {
		json_object_put(kept);
		if (!err)
			json_object_object_del(o, "volumeMounts");
		return err;
	}
	return put_member(o, "volumeMounts", kept);
}

static int norm_container(struct nctx *c, json_object *v, json_object **out)
{
	json_object *o, *env, *ne;
	size_t old;
	int err;

	*out = NULL;
	if (!json_object_is_type(v, json_type_object))
		return dp_seterr(EINVAL, "%s: not an object", c->path);
	err = norm_object(c, NULL, v, container_fields, N_ELEM, &o);
	if (err)
		return err;
	if (json_object_object_get_ex(v, "env", &env)) {
		old = path_push(c, "env", 0);
		err = norm_env(c, env, &ne);
		path_pop(c, old);
		if (!err && ne)
			err = put_member(o, "env", ne);
	}
	if (!err)
		err = drop_sa_mounts(c, o);
	if (err) {
		json_object_put(o);
		return err;
	}
	*out = o;
	return 0;
}

static int norm_containers(struct nctx *c, json_object *v, json_object **out)
{
	json_object *a, *nc;
	size_t i, n, old;
	int err = 0;

	*out = NULL;
	if (!json_object_is_type(v, json_type_array))
		return v ? dp_seterr(EINVAL, "%s: not a list", c->path) : 0;
	n = json_object_array_length(v);
	if (!n)
		return 0;
	a = json_object_new_array();
	if (!a)
		return dp_seterr(ENOMEM, "pod spec");
	for (i = 0; i < n && !err; i++) {
		old = path_push(c, NULL, i);
		err = norm_container(c, json_object_array_get_idx(v, i), &nc);
		path_pop(c, old);
		if (!err && json_object_array_add(a, nc)) {
			json_object_put(nc);
			err = dp_seterr(ENOMEM, "pod spec");
		}
	}
	if (err) {
		json_object_put(a);
		return err;
	}
	*out = a;
	return 0;
}

static int norm_pod(struct nctx *c, json_object *spec, json_object **out)
{
	static const char *const simple[] = {
		"hostNetwork", "hostPID", "hostIPC", "runtimeClassName",
		"securityContext", NULL
	};
	static const char *const lists[] = {
		"containers", "initContainers", "ephemeralContainers", NULL
	};
	json_object *o, *v, *nv, *sa = NULL;
	const char *san = "serviceAccountName";
	size_t i, old;
	int err = 0;

	*out = NULL;
	o = json_object_new_object();
	if (!o)
		return dp_seterr(ENOMEM, "pod spec");
	if (json_object_object_get_ex(spec, "hostNetwork", &v) &&
	    json_object_is_type(v, json_type_boolean))
		c->host_network = json_object_get_boolean(v);
	for (i = 0; simple[i] && !err; i++) {
		if (!json_object_object_get_ex(spec, simple[i], &v))
			continue;
		old = path_push(c, simple[i], 0);
		err = norm(c, simple[i], v, 0, &nv);
		if (!err && nv && is_default(NULL, simple[i], nv)) {
			json_object_put(nv);
			nv = NULL;
		}
		if (!err && nv)
			err = put_member(o, simple[i], nv);
		path_pop(c, old);
	}
	/*
	 * serviceAccountName: absent == "default"; the deprecated
	 * serviceAccount stands in when it is empty (v1 conversion)
	 */
	if (json_object_object_get_ex(spec, "serviceAccountName", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v))
		sa = v;
	else if (json_object_object_get_ex(spec, "serviceAccount", &v) &&
		 json_object_is_type(v, json_type_string) &&
		 json_object_get_string_len(v))
		sa = v, san = "serviceAccount";
	else if (json_object_object_get_ex(spec, "serviceAccountName", &v))
		sa = v;
	if (!err && sa && !str_is(sa, "default")) {
		old = path_push(c, san, 0);
		err = norm(c, "serviceAccountName", sa, 0, &nv);
		if (!err && nv)
			err = put_member(o, "serviceAccountName", nv);
		path_pop(c, old);
	}
	if (!err && json_object_object_get_ex(spec, "volumes", &v)) {
		old = path_push(c, "volumes", 0);
		err = norm_volumes(c, v, &nv);
		if (!err && nv)
			err = put_member(o, "volumes", nv);
		path_pop(c, old);
	}
	for (i = 0; lists[i] && !err; i++) {
		if (!json_object_object_get_ex(spec, lists[i], &v))
			continue;
		old = path_push(c, lists[i], 0);
		err = norm_containers(c, v, &nv);
		if (!err && nv)
			err = put_member(o, lists[i], nv);
		path_pop(c, old);
	}
	if (!err && !json_object_object_get_ex(o, "containers", NULL))
		err = dp_seterr(EINVAL, "%s.containers is missing or empty",
				c->path);
	if (err) {
		json_object_put(o);
		return err;
	}
	*out = o;
	return 0;
}

/* Where each kind keeps its PodSpec. */
static const struct {
	const char *kind;
	const char *path;
} spec_paths[] = {
	{ "Pod", "spec" },
	{ "Deployment", "spec.template.spec" },
	{ "StatefulSet", "spec.template.spec" },
	{ "DaemonSet", "spec.template.spec" },
	{ "ReplicaSet", "spec.template.spec" },
	{ "ReplicationController", "spec.template.spec" },
	{ "Job", "spec.template.spec" },
	{ "CronJob", "spec.jobTemplate.spec.template.spec" },
};

static int locate_spec(json_object *obj, json_object **spec, const char **path)
{
	json_object *kind, *cur = obj;
	const char *k, *p, *dot;
	char part[32];
	size_t i, n;

	if (!json_object_is_type(obj, json_type_object))
		return dp_seterr(EINVAL, "the manifest is not an object");
	if (!json_object_object_get_ex(obj, "kind", &kind) ||
	    !json_object_is_type(kind, json_type_string))
		return dp_seterr(EINVAL, "the manifest has no kind");
	k = json_object_get_string(kind);
	n = strlen(k);
	if (n >= 4 && !strcmp(k + n - 4, "List"))
		return dp_seterr(EINVAL, "kind %.64s: put one object in each manifest",
				 k);
	for (i = 0; i < SPEC_ARRAY_SIZE(spec_paths); i++)
		if (!strcmp(k, spec_paths[i].kind))
			break;
	if (i == SPEC_ARRAY_SIZE(spec_paths))
		return dp_seterr(EINVAL, "kind %.64s has no pod template (expected Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job or CronJob)",
				 k);
	*path = spec_paths[i].path;
	for (p = *path; *p; p = *dot ? dot + 1 : dot) {
		dot = strchrnul(p, '.');
		snprintf(part, sizeof(part), "%.*s", (int)(dot - p), p);
		if (!json_object_object_get_ex(cur, part, &cur) ||
		    !json_object_is_type(cur, json_type_object))
			return dp_seterr(EINVAL, "%s: %s is missing or not an object",
					 k, *path);
	}
	*spec = cur;
	return 0;
}

int dp_spec_canonical(struct json_object *obj, char **canon, size_t *len)
{
	json_object *spec = NULL, *pod = NULL, *top;
	struct sbuf b = { 0 };
	const char *path = NULL;
	struct nctx *c;
	int err;

	*canon = NULL;
	err = locate_spec(obj, &spec, &path);
	if (err)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c)
		return dp_seterr(ENOMEM, "pod spec");
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->plen = strlen(c->path);
	err = norm_pod(c, spec, &pod);
	free(c);
	if (err)
		return err;
	top = json_object_new_object();
	if (!top) {
		json_object_put(pod);
		return dp_seterr(ENOMEM, "pod spec");
	}
	err = put_member(top, "spec", pod);
	if (!err)
		err = put_member(top, "v", json_object_new_int(DP_SPEC_HASH_VERSION));
	if (!err)
		err = canon_of(top, &b);
	json_object_put(top);
	if (err) {
		free(b.p);
		return err;
	}
	*canon = b.p;
	if (len)
		*len = b.len;
	return 0;
}

int dp_spec_hash(struct json_object *obj, uint8_t hash[32])
{
	unsigned int n = 0;
	size_t len;
	char *canon;
	int err, ok;

	err = dp_spec_canonical(obj, &canon, &len);
	if (err)
		return err;
	ok = EVP_Digest(canon, len, hash, &n, EVP_sha256(), NULL) && n == 32;
	free(canon);
	return ok ? 0 : dp_seterr(EIO, "SHA-256 failed");
}

int dp_spec_hash_file(const char *path, uint8_t hash[32], char **canon)
{
	json_object *obj;
	unsigned int n = 0;
	size_t len;
	char *text;
	int err, ok;

	if (canon)
		*canon = NULL;
	err = dp_spec_load(path, &obj);
	if (err)
		return err;
	err = dp_spec_canonical(obj, &text, &len);
	json_object_put(obj);
	if (err)
		return err;
	ok = EVP_Digest(text, len, hash, &n, EVP_sha256(), NULL) && n == 32;
	if (ok && canon)
		*canon = text;
	else
		free(text);
	return ok ? 0 : dp_seterr(EIO, "SHA-256 failed");
}
