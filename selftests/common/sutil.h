/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the VM selftests.
 */
#ifndef DSTACK_POD_SUTIL_H
#define DSTACK_POD_SUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "node/dstackpod.h"
#include "tap.h"

#define ST_PARAM_DIR	"/sys/module/dstack_pod/parameters"
#define ST_NOBODY	65534

/* Open /dev/dstack-pod or bail out of the whole test program. */
int st_open(void);
/* dstack_pod.ko built for the running kernel ($DSTACK_VM_KMOD, else kmod/). */
const char *st_module_ko(void);
/* Read RTMR3 from sysfs. */
int st_rtmr3(uint8_t out[DSTACK_POD_DIGEST_LEN]);
/* Event count from sysfs, or -1. */
long st_event_count(void);
/* Write a string to a file; 0 or -1 with errno. */
int st_write_file(const char *path, const char *val);
/* Read a whole small file (NUL-terminated, newline stripped); 0 or -1. */
int st_read_file(const char *path, char *buf, size_t size);
/* Move the calling process into cgroup directory @cg; 0 or -1 with errno. */
int st_move_self(const char *cg);
/*
 * Fork a child that moves itself into @cg and then waits to be killed.
 * Returns once the child is in @cg (a pipe says so, no sleeping), or -1
 * (the child is reaped) if it could not get there.
 */
pid_t st_spawn_in(const char *cg);

/*
 * Run fn(arg) in a child process after dropping privilege:
 * ST_DROP_NOBODY: setresuid/setresgid to nobody (no capabilities);
 * ST_DROP_CAP: stay uid 0 but without CAP_SYS_ADMIN in any set;
 * ST_DROP_NET_ADMIN: stay uid 0 with CAP_NET_ADMIN as the only capability
 *   (a hostNetwork agent such as a CNI plugin or kube-proxy).
 * fn returns 0 or an errno value; so does st_as().
 */
enum st_drop { ST_DROP_NOBODY, ST_DROP_CAP, ST_DROP_NET_ADMIN };
int st_as(enum st_drop how, int (*fn)(void *), void *arg);

/* Snapshot of the observable state, to prove failed calls change nothing. */
struct st_state {
	long events;
	int mode;
	uint8_t rtmr3[DSTACK_POD_DIGEST_LEN];
};
int st_snapshot(struct st_state *s);
int st_same(const struct st_state *a, const struct st_state *b);

/* SHA-384 over a list of (pointer, length) pairs ending with NULL. */
int st_sha384v(uint8_t out[48], ...);

#endif
