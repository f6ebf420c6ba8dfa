// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: the ioctls from a 32-bit process (compat_ioctl).  Built with
 * -m32 -static; uses only the uapi header, so it needs no 32-bit libraries.
 * Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dstack_pod.h>

#include "tap.h"

#define EVENTS "/sys/kernel/security/dstack-pod/runtime_events"

/* Find the digest of event @index in the securityfs log, as hex. */
static int log_digest(uint32_t index, char *hex)
{
	char line[16384];
	FILE *f = fopen(EVENTS, "r");
	unsigned int idx;
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%u %*s %96s", &idx, hex) == 2 && idx == index;
	fclose(f);
	return found;
}

int main(void)
{
	static const char payload[] = "from a 32-bit process";
	struct dstack_pod_version v;
	struct dstack_pod_extend ext;
	struct dstack_pod_report rep;
	struct dstack_pod_verify_report vr;
	char want[97], got[97];
	void *bad;
	int fd, i;

	tap_start();
	tap_ok(sizeof(void *) == 4, "compat: this is a 32-bit process");
	fd = open(DSTACK_POD_DEVICE, O_RDWR);
	if (!tap_ok(fd >= 0, "compat: open %s", DSTACK_POD_DEVICE))
		return tap_end();

	memset(&v, 0, sizeof(v));
	tap_success(ioctl(fd, DSTACK_POD_IOC_VERSION, &v), "compat: version");
	tap_ok(v.abi_major == DSTACK_POD_ABI_MAJOR && v.mode == DSTACK_POD_MODE_SETUP,
	       "compat: version fields");

	memset(&ext, 0, sizeof(ext));
	strcpy(ext.name, "compat.event");
	ext.payload = (uintptr_t)payload;
	ext.payload_len = sizeof(payload) - 1;
	tap_success(ioctl(fd, DSTACK_POD_IOC_EXTEND, &ext),
		    "compat: extend with a 32-bit payload pointer");
	for (i = 0; i < 48; i++)
		sprintf(got + 2 * i, "%02x", ext.digest[i]);
	tap_ok(log_digest(ext.index, want) && !strcmp(want, got),
	       "compat: returned digest equals the logged one");

	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ext.payload = (uintptr_t)bad;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_EXTEND, &ext), EFAULT,
		  "compat: unreadable payload -> EFAULT");
	ext.payload = (uintptr_t)payload;
	ext.reserved[0] = 1;
	tap_errno(ioctl(fd, DSTACK_POD_IOC_EXTEND, &ext), EINVAL,
		  "compat: reserved != 0 -> EINVAL");

	memset(&rep, 0, sizeof(rep));
	memset(rep.report_data, 0x5a, sizeof(rep.report_data));
	tap_success(ioctl(fd, DSTACK_POD_IOC_NODE_REPORT, &rep), "compat: node report");
	tap_ok(rep.tdreport[0] == 0x81 && rep.tdreport[128] == 0x5a &&
	       rep.tdreport[191] == 0x5a, "compat: report type and report_data");

	memset(&vr, 0, sizeof(vr));
	memcpy(vr.reportmac, rep.tdreport, sizeof(vr.reportmac));
	tap_success(ioctl(fd, DSTACK_POD_IOC_VERIFY_REPORT, &vr),
		    "compat: verify report");
	close(fd);
	return tap_end();
}
