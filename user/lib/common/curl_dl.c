// SPDX-License-Identifier: GPL-2.0
/*
 * libcurl, loaded on first use (curl_dl.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "curl_dl.h"
#include "dpcommon.h"

struct dp_curl dp_curl;
static int curl_errno;			/* positive errno once loading failed */
static char curl_msg[256];
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

#define CURL_SYM(f, s) { s, offsetof(struct dp_curl, f) }

static void curl_load(void)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
		CURL_SYM(global_init, "curl_global_init"),
		CURL_SYM(easy_init, "curl_easy_init"),
		CURL_SYM(easy_setopt, "curl_easy_setopt"),
		CURL_SYM(easy_perform, "curl_easy_perform"),
		CURL_SYM(easy_getinfo, "curl_easy_getinfo"),
		CURL_SYM(easy_cleanup, "curl_easy_cleanup"),
		CURL_SYM(easy_strerror, "curl_easy_strerror"),
		CURL_SYM(slist_append, "curl_slist_append"),
		CURL_SYM(slist_free_all, "curl_slist_free_all"),
	};
	struct dp_curl tmp;
	const char *e;
	void *h, *p;
	size_t i;

	h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		e = dlerror();
		snprintf(curl_msg, sizeof(curl_msg),
			 "cannot load libcurl.so.4 (install libcurl4): %s",
			 e ? e : "?");
		curl_errno = ENOSYS;
		return;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		p = dlsym(h, syms[i].name);
		if (!p) {
			snprintf(curl_msg, sizeof(curl_msg),
				 "libcurl.so.4 lacks %s", syms[i].name);
			curl_errno = ENOSYS;
			dlclose(h);
			return;
		}
		/* POSIX: a data pointer from dlsym() holds a function's address */
		memcpy((char *)&tmp + syms[i].off, &p, sizeof(p));
	}
	if (tmp.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(curl_msg, sizeof(curl_msg), "curl_global_init failed");
		curl_errno = ENOSYS;
		dlclose(h);
		return;
	}
	/* never unloaded: libcurl and OpenSSL keep global state */
	dp_curl = tmp;
}

int dp_curl_get(void)
{
	pthread_once(&curl_once, curl_load);
	if (curl_errno)
		return dp_seterr(curl_errno, "%s", curl_msg);
	return 0;
}
