// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the node setup manifest parser
 * (user/podctl/manifest.c, Documentation/setup-manifest.rst).  An input is
 * a manifest; when it is accepted, everything the parser promises must
 * hold: 1..64 events with valid, unique names, exactly one source each,
 * absolute paths, literal payloads within the kernel's limit, and a
 * binder path under the cgroup root.  Files are never read.
 * Seed: deploy/setup.yaml.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../podctl/manifest.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct podctl_manifest *m)
{
	size_t i, j, k, len;

	if (!m->n || m->n > PODCTL_MANIFEST_MAX_EVENTS || !m->binder_cgroup ||
	    m->binder_cgroup[0] != '/' || !strcmp(m->binder_cgroup, "/") ||
	    strstr(m->binder_cgroup, "//") || strstr(m->binder_cgroup, "/../") ||
	    !m->cmdline_path)
		abort();
	for (i = 0; i < m->n; i++) {
		const struct podctl_mf_event *e = &m->ev[i];

		len = strlen(e->name);
		if (!len || len > DSTACK_POD_EVENT_NAME_MAX ||
		    !strncmp(e->name, "dstack-pod.", 11))
			abort();
		for (k = 0; k < len; k++)
			if (e->name[k] < 0x21 || e->name[k] > 0x7e ||
			    e->name[k] == ':')
				abort();
		for (j = 0; j < i; j++)
			if (!strcmp(m->ev[j].name, e->name))
				abort();
		switch (e->source) {
		case PODCTL_MF_FILE:
			if (!e->path || e->path[0] != '/' || e->loaded ||
			    strlen(e->path) > PODCTL_MANIFEST_PATH_MAX)
				abort();
			break;
		case PODCTL_MF_VALUE:
			if (e->path || !e->loaded || !e->payload ||
			    e->payload_len > DSTACK_POD_EVENT_PAYLOAD_MAX)
				abort();
			break;
		case PODCTL_MF_CMDLINE:
			if (e->path || e->loaded)
				abort();
			break;
		default:
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct podctl_manifest m;

	if (podctl_manifest_parse((const char *)data, size, &m))
		return 0;
	check(&m);
	podctl_manifest_free(&m);
	return 0;
}
