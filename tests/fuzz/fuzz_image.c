/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: what the build engine parses (src/image_oci.c, image_src.c).
 * The first byte picks:
 *   even: a base image config blob (untrusted) through img_cfg_parse(); an
 *         accepted one is printed with img_config_json(), which must be JSON
 *         that json_parse() accepts and that parses and prints again to the
 *         very same bytes (the config we write is a fixed point);
 *   odd:  Go's filepath.Match (img_match) of pattern NUL name: the answer is
 *         -EINVAL, 0 or 1; a pattern without meta characters matches exactly
 *         the equal name; "*" matches every name without '/'; a valid
 *         pattern matches itself with every meta character escaped.
 * abort() on any breach.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_int.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(e) do { if (!(e)) abort(); } while (0)

static int parse_print(const uint8_t *p, size_t n, uint8_t **out, size_t *olen)
{
	struct img_opts o = { .dockerfile_name = "Dockerfile", .log_fd = -1 };
	struct img_result r;
	struct img_ctx x;
	struct img_stage s;
	char err[256] = "", (*ids)[REG_DIGEST_LEN + 1] = NULL;
	size_t nids = 0;
	int rc;

	memset(&x, 0, sizeof x);
	memset(&s, 0, sizeof s);
	memset(&r, 0, sizeof r);
	x.o = &o;
	x.r = &r;
	x.err = err;
	x.errcap = sizeof err;
	s.rootfd = -1;
	strcpy(s.os, "linux");
	strcpy(s.arch, "amd64");
	rc = img_cfg_parse(&x, p, n, &s, &ids, &nids);
	if (rc < 0) {
		CHECK(err[0] && !ids && !nids);
	} else {
		for (size_t i = 0; i < nids; i++)
			CHECK(img_stage_add_layer(&s, &(struct reg_desc){ .size = 1 }, ids[i]) == 0);
		CHECK(img_config_json(&s, 1700000000, out, olen) == 0);
	}
	free(ids);
	img_stage_free(&s);
	return rc;
}

static void config(const uint8_t *p, size_t n)
{
	uint8_t *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	const char *jerr;
	json *j = NULL;

	if (parse_print(p, n, &a, &alen) < 0)
		return;
	CHECK(json_parse((const char *)a, alen, &j, &jerr) == 0);
	json_free(j);
	CHECK(parse_print(a, alen, &b, &blen) == 0);
	CHECK(alen == blen && !memcmp(a, b, alen));
	free(a);
	free(b);
}

static void match(const uint8_t *p, size_t n)
{
	char pat[256], name[256], esc[520];
	const uint8_t *z = memchr(p, 0, n);
	size_t pl = z ? (size_t)(z - p) : n, nl = z ? n - pl - 1 : 0, k = 0;
	int rc;

	if (pl >= sizeof pat || nl >= sizeof name)
		return;
	memcpy(pat, p, pl);
	pat[pl] = 0;
	memcpy(name, z ? z + 1 : p, nl);
	name[nl] = 0;
	if (memchr(name, 0, nl) || strchr(name, '/'))
		return;
	rc = img_match(pat, name);
	CHECK(rc == -EINVAL || rc == 0 || rc == 1);
	if (!strpbrk(pat, "*?[\\"))
		CHECK(rc == (strcmp(pat, name) == 0));
	CHECK(img_match("*", name) == 1);
	if (rc != -EINVAL && !strchr(pat, '/')) {
		for (size_t i = 0; i < pl; i++) {
			if (strchr("*?[]\\-^", pat[i]))
				esc[k++] = '\\';
			esc[k++] = pat[i];
		}
		esc[k] = 0;
		CHECK(img_match(esc, pat) == 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_quiet = 1;
	if (size < 1)
		return 0;
	if (data[0] & 1)
		match(data + 1, size - 1);
	else
		config(data + 1, size - 1);
	return 0;
}
