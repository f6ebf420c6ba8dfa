// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl descriptor: the canonical container descriptor of an OCI
 * bundle (Documentation/container-descriptor.rst), or the event that
 * measures it, exactly as dstack-pod-hook builds them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "node/dstackpod.h"
#include "runtime/oci.h"
#include "podctl.h"

static void descriptor_usage(FILE *f)
{
	fprintf(f,
		"usage: dstack-podctl descriptor (BUNDLE-DIR | CONFIG.json) [--state STATE.json] [--digest]\n"
		"\n"
		"Print the canonical container descriptor of an OCI bundle's config.json.\n"
		"Names and image come from the config's annotations, or from the state\n"
		"JSON (what the runtime gives a hook on stdin) with --state.\n"
		"--digest prints the event instead: its name, the SHA-384 event digest\n"
		"the kernel computes, and the payload's form and size.\n");
}

/* Read a whole file of at most max bytes (malloc'd, NUL-terminated). */
static int desc_read(const char *path, size_t max, char **out, size_t *len)
{
	struct stat sb;
	size_t n = 0;
	char *buf;
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dp_seterr(errno, "%s", path);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		err = errno;
		close(fd);
		return dp_seterr(err ? err : EINVAL, "%s: not a regular file",
				 path);
	}
	buf = malloc(max + 2);
	if (!buf) {
		close(fd);
		return dp_seterr(ENOMEM, "%s", path);
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			free(buf);
			close(fd);
			return dp_seterr(err, "%s", path);
		}
		if (!r)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			close(fd);
			return dp_seterr(E2BIG, "%s: more than %zu bytes", path,
					 max);
		}
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int desc_fail(int err)
{
	(void)err;
	fprintf(stderr, "dstack-podctl descriptor: %s\n", dp_errmsg());
	return PODCTL_EXIT_FAIL;
}

int cmd_descriptor(int argc, char **argv)
{
	const char *src = NULL, *state_path = NULL;
	struct dp_oci_state st = { 0 };
	struct dp_oci_pod pod;
	json_object *config = NULL;
	char path[PATH_MAX], *buf = NULL, *desc = NULL, *payload = NULL;
	char name[DSTACK_POD_EVENT_NAME_MAX + 1];
	size_t len, dlen, plen;
	int digest = 0, i, err, rc = PODCTL_EXIT_FAIL;
	struct stat sb;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			descriptor_usage(stdout);
			return PODCTL_EXIT_OK;
		} else if (!strcmp(argv[i], "--digest")) {
			digest = 1;
		} else if (!strcmp(argv[i], "--state") && i + 1 < argc) {
			state_path = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "dstack-podctl descriptor: unknown option '%s'\n",
				argv[i]);
			descriptor_usage(stderr);
			return PODCTL_EXIT_USAGE;
		} else if (!src) {
			src = argv[i];
		} else {
			descriptor_usage(stderr);
			return PODCTL_EXIT_USAGE;
		}
	}
	if (!src) {
		descriptor_usage(stderr);
		return PODCTL_EXIT_USAGE;
	}

	if (!stat(src, &sb) && S_ISDIR(sb.st_mode)) {
		if ((size_t)snprintf(path, sizeof(path), "%s/config.json", src) >=
		    sizeof(path))
			return desc_fail(dp_seterr(ENAMETOOLONG, "%s", src));
		src = path;
	}
	err = desc_read(src, DP_OCI_CONFIG_MAX, &buf, &len);
	if (!err)
		err = dp_oci_config_parse(buf, len, &config);
	free(buf);
	buf = NULL;
	if (err)
		return desc_fail(err);

	if (state_path) {
		err = desc_read(state_path, DP_OCI_STATE_MAX, &buf, &len);
		if (!err)
			err = dp_oci_state_parse(buf, len, &st);
		free(buf);
		if (!err)
			err = dp_oci_pod_from_annotations(st.annotations, &pod);
	} else {
		json_object *a = NULL;

		json_object_object_get_ex(config, "annotations", &a);
		err = dp_oci_pod_from_annotations(a, &pod);
	}
	if (!err)
		err = dp_oci_descriptor(config, &pod, &desc, &dlen);
	if (err) {
		rc = desc_fail(err);
		goto out;
	}

	if (!digest) {
		if (fwrite(desc, 1, dlen, stdout) != dlen || fflush(stdout)) {
			rc = desc_fail(dp_seterr(EIO, "writing the descriptor"));
			goto out;
		}
		rc = PODCTL_EXIT_OK;
		goto out;
	}

	if (pod.kind != DP_OCI_CONTAINER) {
		rc = desc_fail(dp_seterr(EINVAL, "%s: no event: %s",
					 src, pod.kind == DP_OCI_SANDBOX ?
					 "a Pod sandbox is not measured by a descriptor" :
					 "not a Kubernetes container (no CRI annotations)"));
		goto out;
	}
	err = dp_oci_descriptor_event(pod.container_name, desc, dlen, name,
				      &payload, &plen);
	if (!err) {
		uint8_t d[DSTACK_POD_DIGEST_LEN];
		char hex[2 * DSTACK_POD_DIGEST_LEN + 1];

		err = dp_event_digest(name, payload, plen, d);
		if (!err) {
			dp_hex(d, sizeof(d), hex);
			printf("event=%s\ndigest=%s\npayload_form=%s\npayload_size=%zu\n",
			       name, hex, plen == dlen ? "descriptor" : "digest",
			       plen);
			rc = PODCTL_EXIT_OK;
		}
	}
	if (err)
		rc = desc_fail(err);
out:
	free(payload);
	free(desc);
	json_object_put(config);
	dp_oci_state_free(&st);
	return rc;
}
