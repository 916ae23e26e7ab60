/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the .gitmodules parser and submodule URL resolution
 * (src/git_submod.c). The input is .gitmodules text; every entry it yields
 * must hold NUL-terminated strings within their sizes, a path the checkout
 * rules accept (no "..", no leading '/' or '-') and a distinct path; each
 * entry's URL is then resolved against a fixed https and scp-like base, and
 * a resolved URL must be absolute (https://, http://, ssh:// or host:path),
 * never start with '-' and hold no "::" transport or control byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "git.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_url(const char *u)
{
	if (u[0] == '-' || strstr(u, "::") || strncmp(u, "file://", 7) == 0)
		abort();
	for (const char *c = u; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			abort();
	if (strncmp(u, "https://", 8) && strncmp(u, "http://", 7) && strncmp(u, "ssh://", 6) &&
	    !git_ssh_is_url(u))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const bases[] = { "https://h.example/u/super.git", "git@h.example:u/s.git" };
	struct git_gm_entry *e = NULL;
	size_t n = 0;
	char err[512], out[HCL_MAX_URL + 1];

	if (git_gitmodules_parse(data, size, &e, &n, err, sizeof err) < 0) {
		if (e || n || !memchr(err, 0, sizeof err))
			abort();
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!memchr(e[i].path, 0, sizeof e[i].path) || !memchr(e[i].url, 0, sizeof e[i].url) ||
		    !memchr(e[i].name, 0, sizeof e[i].name) || !e[i].path[0] || e[i].path[0] == '/' ||
		    e[i].path[0] == '-' || strncmp(e[i].path, "../", 3) == 0 || strcmp(e[i].path, "..") == 0)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(e[i].path, e[j].path) == 0)
				abort();
		for (size_t b = 0; b < 2; b++)
			if (git_submodule_url(bases[b], e[i].url, out, sizeof out, err, sizeof err) == 0)
				check_url(out);
	}
	free(e);
	return 0;
}
