// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl's admin commands on the host, without the module: usage
 * errors exit 2 before touching the kernel, a missing module exits 3 and
 * says how to load it, and the fuse preflight explains itself.  The
 * subcommands are compiled into this test directly.
 */
#include <fcntl.h>
#include <unistd.h>

#include "tap.h"
#include "../podctl/admin.c"
#include "../podctl/kmod.c"
#include "../podctl/node.c"
#include "../podctl/bundle.c"
#include "../podctl/verify_bundle.c"
#include "capture.h"


#define EXPECT(rc, pat, desc, ...)					\
	do {								\
		int __rc = capture_call(__VA_ARGS__, NULL);			\
		if (!tap_ok(__rc == (rc) && strstr(captured, (pat)),	\
			    "%s (exit %d)", (desc), __rc))		\
			tap_diag("output: %s", captured);		\
	} while (0)

#define UID_A "0b6d4c52-6a51-4f3b-9d2e-2a8b0f0e4a11"

int main(void)
{
	struct stat sb;
	int fd, found;

	tap_start();
	fd = mkstemp(out_path);
	if (fd < 0)
		return 1;
	close(fd);

	/* Usage errors: exit 2, before any kernel call. */
	EXPECT(2, "usage", "list --bogus", cmd_list, "list", "--bogus");
	EXPECT(2, "usage", "monitor --count 0", cmd_monitor, "monitor", "--count", "0");
	EXPECT(2, "usage", "monitor --count 5x", cmd_monitor, "monitor", "--count", "5x");
	EXPECT(2, "usage", "monitor extra", cmd_monitor, "monitor", "extra");
	EXPECT(2, "not a UUID", "log --pod garbage", cmd_log, "log", "--pod", "garbage");
	EXPECT(2, "unknown log format", "log --format yaml", cmd_log, "log", "--format", "yaml");
	EXPECT(2, "unknown log format", "log --pod --format raw", cmd_log, "log",
	       "--pod", UID_A, "--format", "raw");
	EXPECT(2, "usage", "bind without --workload", cmd_bind, "bind", "--cgroup", "/x",
	       "--uid", UID_A);
	EXPECT(2, "not a UUID", "bind --uid short", cmd_bind, "bind", "--cgroup", "/x",
	       "--uid", "0b6d4c52", "--workload", "w");
	EXPECT(2, "64 hex digits", "bind --spec-hash short", cmd_bind, "bind", "--cgroup",
	       "/x", "--uid", UID_A, "--workload", "w", "--spec-hash", "00");
	EXPECT(2, "annotation, apiserver", "bind --spec-source bogus", cmd_bind, "bind",
	       "--cgroup", "/x", "--uid", UID_A, "--workload", "w", "--spec-source", "x");
	EXPECT(2, "one of them", "unbind with neither", cmd_unbind, "unbind");
	EXPECT(2, "one of them", "unbind with both", cmd_unbind, "unbind", "--cgroup", "/x",
	       "--uid", UID_A);
	EXPECT(2, "usage", "attest --quote without -o", cmd_attest, "attest", "--quote");
	EXPECT(2, "usage", "attest --qgs without --quote", cmd_attest, "attest", "--qgs",
	       "unix:/x", "--out", "/tmp");
	EXPECT(2, "usage", "attest --rtmr3-log without --quote", cmd_attest, "attest",
	       "--rtmr3-log", "/x");
	EXPECT(2, "--qgs", "attest --quote --qgs bogus", cmd_attest, "attest", "--quote",
	       "--qgs", "tcp:1", "-o", "/tmp/x.json");
	EXPECT(2, "usage", "verify without --policy", cmd_verify, "verify", "b.json");
	EXPECT(2, "usage", "verify without a bundle", cmd_verify, "verify", "--policy", "p");
	EXPECT(4, "No such file", "verify: missing policy file exits 4", cmd_verify, "verify",
	       "/nonexistent/b.json", "--policy", "/nonexistent/p.json");
	EXPECT(2, "--now", "verify --now bogus", cmd_verify, "verify", "b", "--policy", "p",
	       "--now", "yesterday");
	{
		/* --pod-manifest: unreadable, or contradicting the policy. */
		char pol[] = "/tmp/podctl-cli-policy.XXXXXX";
		const char *body = "{\"version\": 1, \"pod_spec_hash\": \""
			"0000000000000000000000000000000000000000000000000000000000000000\"}";
		int pfd = mkstemp(pol);

		tap_ok(pfd >= 0 && write(pfd, body, strlen(body)) == (ssize_t)strlen(body),
		       "policy file written");
		if (pfd >= 0)
			close(pfd);
		EXPECT(4, "--pod-manifest /nonexistent.yaml", "verify --pod-manifest missing exits 4",
		       cmd_verify, "verify", "b.json", "--policy", pol, "--pod-manifest",
		       "/nonexistent.yaml");
		EXPECT(2, "does not hash to the policy's pod_spec_hash",
		       "verify --pod-manifest against another pod_spec_hash exits 2", cmd_verify,
		       "verify", "b.json", "--policy", pol, "--pod-manifest",
		       "user/tests/data/spec/pod.yaml");
		unlink(pol);
	}
	EXPECT(2, "usage", "unbind extra argument", cmd_unbind, "unbind", "--uid", UID_A, "x");
	EXPECT(2, "usage", "measure without a payload", cmd_measure, "measure", "--uid",
	       UID_A, "name");
	EXPECT(2, "usage", "measure with payload and --file", cmd_measure, "measure",
	       "--uid", UID_A, "name", "p", "--file", "/etc/hostname");
	EXPECT(2, "at most 64 bytes", "attest --nonce too long", cmd_attest, "attest",
	       "--nonce",
	       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00");
	EXPECT(2, "usage", "attest --pid 0", cmd_attest, "attest", "--pid", "0");
	EXPECT(2, "sim or tdx", "load --backend bogus", cmd_load, "load", "--backend", "x");
	EXPECT(2, "NAME=VALUE", "load with a bare word", cmd_load, "load", "max_pods");
	EXPECT(2, "use --backend", "load backend=... as a parameter", cmd_load, "load",
	       "backend=sim");
	EXPECT(2, "usage", "unload extra", cmd_unload, "unload", "x");
	EXPECT(2, "usage", "fuse extra", cmd_fuse, "fuse", "x");
	EXPECT(2, "usage", "status --bogus", cmd_status, "status", "--bogus");

	/* The module is not loaded on the build host. */
	if (stat("/dev/dstack-pod", &sb) == 0) {
		tap_diag("module loaded on this host: not-loaded checks skipped");
	} else {
		EXPECT(3, "load the module", "status without the module", cmd_status, "status");
		EXPECT(3, "load the module", "list without the module", cmd_list, "list");
		EXPECT(3, "load the module", "monitor without the module", cmd_monitor, "monitor");
		EXPECT(3, "load the module", "log --pod without the module", cmd_log, "log",
		       "--pod", UID_A);
		EXPECT(3, "module loaded", "log without the module (securityfs fallback)",
		       cmd_log, "log");
		EXPECT(3, "load the module", "bind without the module", cmd_bind, "bind",
		       "--cgroup", "/x", "--uid", UID_A, "--workload", "w");
		EXPECT(3, "load the module", "attest without the module", cmd_attest, "attest");
		EXPECT(3, "not loaded", "unload without the module", cmd_unload, "unload");
		EXPECT(1, "No such file", "load --path of a missing directory", cmd_load,
		       "load", "--path", "/nonexistent", "--backend", "sim");
	}

	/* The preflight explains itself either way. */
	fflush(stdout);
	{
		FILE *f = fopen(out_path, "w+");

		found = f ? podctl_fuse_preflight(f) : -1;
		if (f) {
			size_t n;

			rewind(f);
			n = fread(captured, 1, sizeof(captured) - 1, f);
			captured[n] = 0;
			fclose(f);
		}
	}
	tap_ok(found >= 0 && (found ? strstr(captured, "preflight: /") != NULL :
			      strstr(captured, "preflight: ok") != NULL),
	       "fuse preflight on this host: %d finding(s), each explained", found);
	unlink(out_path);
	return tap_end();
}
