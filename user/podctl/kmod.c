// SPDX-License-Identifier: GPL-2.0
/*
 * dstack-podctl: load / unload through libkmod, and the fuse preflight that
 * looks for other ways root could get TD reports or extend RTMR3.
 */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libkmod.h>

#include "node/dstackpod.h"
#include "podctl.h"

#define MOD_MAIN	"dstack_pod"
#define MOD_SIM		"dstack_pod_sim"

static const char *state_name(int st)
{
	switch (st) {
	case KMOD_MODULE_BUILTIN:	return "built in";
	case KMOD_MODULE_LIVE:		return "live";
	case KMOD_MODULE_COMING:	return "coming";
	case KMOD_MODULE_GOING:		return "going";
	default:			return "not loaded";
	}
}

static struct kmod_ctx *kctx(void)
{
	struct kmod_ctx *ctx = kmod_new(NULL, NULL);

	if (!ctx) {
		dp_seterr(ENOMEM, "libkmod context");
		return NULL;
	}
	kmod_load_resources(ctx);	/* indexes are optional: fall back to files */
	return ctx;
}

/* State of a module by name: KMOD_MODULE_* or -ENOENT. */
static int mod_state(struct kmod_ctx *ctx, const char *name)
{
	struct kmod_module *mod;
	int st;

	if (kmod_module_new_from_name(ctx, name, &mod) < 0)
		return -ENOENT;
	st = kmod_module_get_initstate(mod);
	kmod_module_unref(mod);
	return st;
}

static void report_state(struct kmod_ctx *ctx)
{
	char path[256], val[256];
	int st = mod_state(ctx, MOD_MAIN), sim = mod_state(ctx, MOD_SIM);

	printf("%-16s %s\n", MOD_MAIN, state_name(st));
	printf("%-16s %s\n", MOD_SIM, state_name(sim));
	if (st == KMOD_MODULE_LIVE || st == KMOD_MODULE_BUILTIN) {
		static const char *const params[] = { "backend", "max_events",
						      "max_pods", "max_pod_events" };
		size_t i;

		for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
			FILE *f;

			snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s",
				 MOD_MAIN, params[i]);
			f = fopen(path, "re");
			if (!f)
				continue;
			if (fgets(val, sizeof(val), f)) {
				val[strcspn(val, "\n")] = '\0';
				printf("  %-14s %s\n", params[i], val);
			}
			fclose(f);
		}
	}
}

static int insert(struct kmod_ctx *ctx, const char *dir, const char *name,
		  const char *opts)
{
	struct kmod_module *mod = NULL;
	struct kmod_list *list = NULL;
	char path[4096];
	int err;

	if (dir) {
		snprintf(path, sizeof(path), "%s/%s.ko", dir, name);
		err = kmod_module_new_from_path(ctx, path, &mod);
		if (err < 0)
			return dp_seterr(-err, "%s", path);
		err = kmod_module_insert_module(mod, 0, opts);
	} else {
		err = kmod_module_new_from_lookup(ctx, name, &list);
		if (err < 0 || !list)
			return dp_seterr(ENOENT, "module %s not found in /lib/modules/%s (install it, e.g. with dkms, or give --path DIR with the built .ko files)",
					 name, "$(uname -r)");
		mod = kmod_module_get_module(list);
		kmod_module_unref_list(list);
		err = kmod_module_probe_insert_module(mod, 0, opts, NULL, NULL,
						      NULL);
	}
	kmod_module_unref(mod);
	if (err == -EEXIST)
		return dp_seterr(EEXIST, "%s is already loaded (dstack-podctl unload first to change its parameters)",
				 name);
	if (err == -EPERM)
		return dp_seterr(EPERM, "loading %s refused: needs CAP_SYS_MODULE (run as root); with Secure Boot the module must be signed",
				 name);
	if (err < 0)
		return dp_seterr(-err, "loading %s%s", name,
				 -err == ENODEV ? " (no TDX: use --backend sim for development)" :
				 -err == EINVAL ? " (bad parameter? see dmesg)" : "");
	return 0;
}

int cmd_load(int argc, char **argv)
{
	static const char use[] =
		"usage: dstack-podctl load [--backend sim|tdx] [--path DIR] [PARAM=VALUE...]\n";
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "path", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *backend = NULL, *dir = NULL;
	struct kmod_ctx *ctx;
	char params[2048];
	size_t used = 0;
	int c, i, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			backend = optarg;
			break;
		case 'p':
			dir = optarg;
			break;
		default:
			fputs(use, stderr);
			return PODCTL_EXIT_USAGE;
		}
	}
	if (backend && strcmp(backend, "sim") && strcmp(backend, "tdx")) {
		fprintf(stderr, "dstack-podctl: --backend is sim or tdx\n");
		return PODCTL_EXIT_USAGE;
	}
	params[0] = '\0';
	if (backend)
		used = (size_t)snprintf(params, sizeof(params), "backend=%s",
					backend);
	for (i = optind; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i] || strchr(argv[i], ' ') ||
		    !strncmp(argv[i], "backend=", 8)) {
			fprintf(stderr, "dstack-podctl: parameter '%s' is not NAME=VALUE (use --backend for the backend)\n",
				argv[i]);
			return PODCTL_EXIT_USAGE;
		}
		if (used + strlen(argv[i]) + 2 > sizeof(params)) {
			fprintf(stderr, "dstack-podctl: too many parameters\n");
			return PODCTL_EXIT_USAGE;
		}
		used += (size_t)snprintf(params + used, sizeof(params) - used,
					 "%s%s", used ? " " : "", argv[i]);
	}
	ctx = kctx();
	if (!ctx)
		return podctl_fail(-ENOMEM);
	/* The SHA-512 implementation the module asks the crypto API for. */
	if (mod_state(ctx, "sha512_generic") < 0) {
		struct kmod_list *l = NULL;

		if (kmod_module_new_from_lookup(ctx, "sha512_generic", &l) >= 0 && l) {
			struct kmod_module *m = kmod_module_get_module(l);

			kmod_module_probe_insert_module(m, 0, NULL, NULL, NULL, NULL);
			kmod_module_unref(m);
			kmod_module_unref_list(l);
		}
	}
	err = 0;
	if (backend && !strcmp(backend, "sim") && mod_state(ctx, MOD_SIM) < 0)
		err = insert(ctx, dir, MOD_SIM, NULL);
	if (!err)
		err = insert(ctx, dir, MOD_MAIN, params);
	if (err) {
		podctl_fail(err);
		report_state(ctx);
		kmod_unref(ctx);
		return PODCTL_EXIT_FAIL;
	}
	printf("loaded %s%s%s\n", MOD_MAIN, params[0] ? " " : "", params);
	report_state(ctx);
	kmod_unref(ctx);
	return PODCTL_EXIT_OK;
}

static int remove_mod(struct kmod_ctx *ctx, const char *name)
{
	struct kmod_module *mod;
	int err;

	if (kmod_module_new_from_name(ctx, name, &mod) < 0)
		return dp_seterr(ENOMEM, "%s", name);
	err = kmod_module_remove_module(mod, 0);
	kmod_module_unref(mod);
	if (err == -EBUSY || err == -EAGAIN)
		return dp_seterr(EBUSY, "%s is in use: close programs that hold /dev/dstack-pod (or still have a Pod bound), then retry",
				 name);
	if (err == -EPERM)
		return dp_seterr(EPERM, "unloading %s refused: needs CAP_SYS_MODULE (run as root)",
				 name);
	if (err < 0)
		return dp_seterr(-err, "unloading %s", name);
	return 0;
}

int cmd_unload(int argc, char **argv)
{
	struct kmod_ctx *ctx;
	int st, err = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: dstack-podctl unload\n");
		return PODCTL_EXIT_USAGE;
	}
	ctx = kctx();
	if (!ctx)
		return podctl_fail(-ENOMEM);
	st = mod_state(ctx, MOD_MAIN);
	if (st == KMOD_MODULE_BUILTIN) {
		err = dp_seterr(EPERM, "%s is built into the kernel and cannot be unloaded",
				MOD_MAIN);
	} else if (st < 0) {
		fprintf(stderr, "dstack-podctl: %s is not loaded\n", MOD_MAIN);
		report_state(ctx);
		kmod_unref(ctx);
		return PODCTL_EXIT_NODEV;
	} else {
		err = remove_mod(ctx, MOD_MAIN);
	}
	if (!err && mod_state(ctx, MOD_SIM) == KMOD_MODULE_LIVE)
		err = remove_mod(ctx, MOD_SIM);
	if (err)
		podctl_fail(err);
	else
		printf("unloaded %s\n", MOD_MAIN);
	report_state(ctx);
	kmod_unref(ctx);
	return err ? PODCTL_EXIT_FAIL : PODCTL_EXIT_OK;
}

/*
 * Fuse preflight.  After the fuse, dstack-pod must be the only way root can
 * get a TD report or extend RTMR3; otherwise root could forge the events
 * that claims rest on.  Returns the number of findings, each explained.
 */
#define TSM_REPORT	"/sys/kernel/config/tsm/report"
#define TDX_MISC	"/sys/devices/virtual/misc/tdx_guest"

/* A module this kernel has (modules.dep or built in), loaded or not. */
static int mod_known(struct kmod_ctx *ctx, const char *name)
{
	struct kmod_list *list = NULL;
	int known;

	if (kmod_module_new_from_lookup(ctx, name, &list) < 0)
		return 0;
	known = list != NULL;
	kmod_module_unref_list(list);
	return known;
}

/* The CPU is a TDX guest: /proc/cpuinfo lists the tdx_guest flag. */
static int cpu_is_td(void)
{
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "re");
	int td = 0;

	if (!f)
		return 0;
	while (!td && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5) && strstr(line, " tdx_guest"))
			td = 1;
	fclose(f);
	return td;
}

/*
 * Modules that give root a report or an RTMR extend once loaded: tdx_guest
 * (/dev/tdx_guest, and the RTMR files from v6.16), tsm (configfs-tsm, v6.7
 * to v6.18) and tsm_report (its name from v6.19).  A module that is there
 * but not loaded is a path root can still open after the fuse on a TD;
 * on a CPU that is not a TD it cannot load, and the preflight says so.
 */
static const char *const preflight_mods[] = { "tdx_guest", "tsm", "tsm_report" };

static int preflight_unloaded_mods(struct kmod_ctx *ctx, FILE *out)
{
	int td = cpu_is_td(), found = 0, st;
	size_t i;

	for (i = 0; i < sizeof(preflight_mods) / sizeof(preflight_mods[0]); i++) {
		const char *m = preflight_mods[i];

		st = mod_state(ctx, m);
		if (st == KMOD_MODULE_BUILTIN || st == KMOD_MODULE_LIVE ||
		    st == KMOD_MODULE_COMING || !mod_known(ctx, m))
			continue;
		if (td) {
			found++;
			fprintf(out, "preflight: module %s is not loaded but this kernel has it: root can load it after the fuse; blacklist it (install %s /bin/false in modprobe.d)\n",
				m, m);
		} else {
			fprintf(out, "preflight: note: module %s is there but not loaded, and this CPU is not a TDX guest (no tdx_guest flag): it cannot serve reports here\n",
				m);
		}
	}
	return found;
}

int podctl_fuse_preflight(FILE *out)
{
	struct kmod_ctx *ctx = kctx();
	struct stat sb;
	glob_t g;
	size_t i;
	int found = 0, st;

	st = ctx ? mod_state(ctx, "tdx_guest") : -ENOENT;
	if (st == KMOD_MODULE_BUILTIN || st == KMOD_MODULE_LIVE ||
	    st == KMOD_MODULE_COMING) {
		found++;
		fprintf(out, "preflight: the tdx_guest driver is %s: its /dev/tdx_guest ioctls give root TD reports with any REPORTDATA and (on newer kernels) RTMR extends; %s\n",
			state_name(st),
			st == KMOD_MODULE_BUILTIN ?
			"boot a kernel without CONFIG_TDX_GUEST_DRIVER=y" :
			"unload it (rmmod tdx_guest) and blacklist it (install tdx_guest /bin/false in modprobe.d)");
	} else if (!stat("/dev/tdx_guest", &sb) || !stat(TDX_MISC, &sb)) {
		found++;
		fprintf(out, "preflight: %s exists although libkmod does not list a tdx_guest module: the driver is there and root can get TD reports through /dev/tdx_guest; boot a kernel without it\n",
			stat("/dev/tdx_guest", &sb) ? TDX_MISC : "/dev/tdx_guest");
	}
	if (ctx) {
		found += preflight_unloaded_mods(ctx, out);
		kmod_unref(ctx);
	}
	if (!stat(TSM_REPORT, &sb)) {
		found++;
		fprintf(out, "preflight: %s exists: configfs-tsm lets root create TD reports/quotes with arbitrary inblob; unload tsm_report/tdx_guest or boot without CONFIG_TSM_REPORTS\n",
			TSM_REPORT);
	}
	if (!glob(TDX_MISC "/measurements/rtmr*", 0, NULL, &g)) {
		for (i = 0; i < g.gl_pathc; i++) {
			if (stat(g.gl_pathv[i], &sb) || !(sb.st_mode & 0222))
				continue;
			found++;
			fprintf(out, "preflight: %s is writable (mode %04o): root can extend that RTMR directly, bypassing the event log; remove the tdx_guest measurement interface\n",
				g.gl_pathv[i], (unsigned int)(sb.st_mode & 07777));
		}
		globfree(&g);
	}
	if (!found)
		fprintf(out, "preflight: ok: no tdx_guest driver, no %s, no writable %s/measurements/rtmr*\n",
			TSM_REPORT, TDX_MISC);
	return found;
}
