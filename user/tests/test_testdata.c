// SPDX-License-Identifier: GPL-2.0
/*
 * The test vectors in user/tests/data/tdx are what their README says they
 * are: every file is listed in SHA256SUMS with the digest it has now, and
 * every listed file exists.  A vector edited by accident (a re-encoded
 * quote, a collateral file saved by an editor) fails here, not as a
 * puzzling verifier failure elsewhere.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "tap.h"
#include "testdata.h"

#define MAX_FILES	64

static int sha256_file(const char *path, char hex[65])
{
	unsigned char buf[8192], md[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	FILE *f = fopen(path, "rb");
	unsigned int mdlen = 0;
	size_t n;
	int ok = ctx && f && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

	while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ok = EVP_DigestUpdate(ctx, buf, n);
	ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;
	for (unsigned int i = 0; ok && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (f)
		fclose(f);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int listed(char names[][256], int count, const char *name)
{
	for (int i = 0; i < count; i++)
		if (!strcmp(names[i], name))
			return 1;
	return 0;
}

int main(void)
{
	const char *dir = test_data_dir("DSTACK_POD_TESTDATA", "tdx");
	char names[MAX_FILES][256], path[PATH_MAX + 256], line[512];
	char want[65], got[65], name[256];
	int count = 0, extra = 0;
	struct dirent *de;
	FILE *sums;
	DIR *d;

	tap_start();
	snprintf(path, sizeof(path), "%s/SHA256SUMS", dir);
	sums = fopen(path, "r");
	if (!sums) {
		printf("Bail out! cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), sums)) {
		if (sscanf(line, "%64[0-9a-f]  %255s", want, name) != 2 ||
		    strlen(want) != 64 || count == MAX_FILES) {
			tap_ok(0, "SHA256SUMS line well formed: %s", line);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (!tap_ok(sha256_file(path, got) == 0, "%s: readable", name))
			continue;
		if (!tap_ok(!strcmp(want, got), "%s: SHA-256 as listed", name))
			tap_diag("listed %s, file has %s", want, got);
		snprintf(names[count++], sizeof(names[0]), "%s", name);
	}
	fclose(sums);
	tap_ok(count >= 5, "SHA256SUMS lists the vectors (%d)", count);

	/* Every data file in the folder is listed (README and the list aside). */
	d = opendir(dir);
	if (!tap_ok(d != NULL, "open %s", dir))
		return tap_end();
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "README.md") ||
		    !strcmp(de->d_name, "SHA256SUMS"))
			continue;
		if (!listed(names, count, de->d_name)) {
			tap_diag("%s is not in SHA256SUMS", de->d_name);
			extra++;
		}
	}
	closedir(d);
	tap_ok(extra == 0, "every file in %s is in SHA256SUMS", dir);
	return tap_end();
}
