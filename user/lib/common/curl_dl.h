/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libcurl, loaded with dlopen() on first use (the Kubernetes client and
 * the PCCS client): most runs of dstack-podctl talk to no server and
 * should not pay for libcurl and its dependencies.  Internal to
 * libdstackpod.
 */
#ifndef DSTACK_POD_CURL_DL_H
#define DSTACK_POD_CURL_DL_H

#include <curl/curl.h>

struct dp_curl {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode rc);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

/* Valid once dp_curl_get() returned 0. */
extern struct dp_curl dp_curl;

/* Load libcurl once; 0, or a negative errno after dp_seterr(). */
int dp_curl_get(void);

#endif
