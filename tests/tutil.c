/* SPDX-License-Identifier: MIT */
/* Minimal unit-test helpers (see tutil.h). */
#include "tutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tu_failures, tu_checks;

void tu_fail(const char *file, int line, const char *expr)
{
	tu_failures++;
	fprintf(stderr, "FAIL %s:%d: %s\n", file, line, expr);
}

int tu_done(const char *name)
{
	printf("%s: %d checks, %d failures\n", name, tu_checks, tu_failures);
	return tu_failures ? 1 : 0;
}

long tu_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (long)(n / 2);
}

const char *tu_vector(const char *name)
{
	static char path[1024];
	const char *base = getenv("SBS_TESTS");
	snprintf(path, sizeof path, "%s/vectors/%s", base ? base : "tests", name);
	return path;
}
