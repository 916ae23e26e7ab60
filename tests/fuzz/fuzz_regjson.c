/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the registry parsers of src/reg_json.c. The first byte picks
 * the parser (mod 6): manifest, index pick (linux/amd64, then linux/arm/v7),
 * is-index, token response, WWW-Authenticate challenge, image reference (the
 * last two on a NUL-terminated copy). A reference that parses must format
 * and parse back to the same fields.
 * Beyond not crashing, what is accepted must be self-consistent: every digest
 * handed out is valid, every count within its limit, a token fits its buffer
 * and is visible ASCII, a challenge's scheme is Basic or Bearer. Any
 * violation aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_desc(const struct reg_desc *d)
{
	if (!reg_digest_valid(d->digest) || strlen(d->media_type) > REG_MAX_MEDIATYPE)
		abort();
}

static void fuzz_manifest(const uint8_t *p, size_t n)
{
	struct reg_manifest m;
	char err[256];

	if (reg_manifest_parse(p, n, &m, err, sizeof err) < 0) {
		if (m.layers || m.nlayers || !err[0])
			abort();
		return;
	}
	check_desc(&m.config);
	if (m.nlayers > REG_MAX_LAYERS)
		abort();
	for (size_t i = 0; i < m.nlayers; i++)
		check_desc(&m.layers[i]);
	reg_manifest_free(&m);
}

static void fuzz_index(const uint8_t *p, size_t n)
{
	struct reg_desc d;
	char err[128];
	int rc = reg_index_pick(p, n, "linux", "amd64", NULL, &d, err, sizeof err);

	if (rc == 0) {
		check_desc(&d);
		if (strcmp(d.os, "linux") || strcmp(d.arch, "amd64"))
			abort();
	} else if (!err[0] || strlen(err) >= sizeof err) {
		abort();
	}
	if (reg_index_pick(p, n, "linux", "arm", "v7", &d, NULL, 0) == 0 &&
	    (strcmp(d.arch, "arm") || strcmp(d.variant, "v7")))
		abort();
	if (rc == 0 && reg_is_index(p, n) != 1)
		abort();
}

static void fuzz_token(const uint8_t *p, size_t n)
{
	char tok[64];
	unsigned e;

	if (reg_token_parse(p, n, tok, sizeof tok, &e) < 0)
		return;
	if (!tok[0] || strlen(tok) >= sizeof tok || e == 0 || e > REG_TOKEN_MAX_TTL)
		abort();
	for (const char *c = tok; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			abort();
}

static void fuzz_challenge(const uint8_t *p, size_t n)
{
	struct reg_challenge c;
	char *s = malloc(n + 1);

	if (!s)
		return;
	memcpy(s, p, n);
	s[n] = 0;
	if (reg_challenge_parse(s, &c) == 0 &&
	    strcmp(c.scheme, "Basic") != 0 && strcmp(c.scheme, "Bearer") != 0)
		abort();
	free(s);
}

static void fuzz_ref(const uint8_t *p, size_t n)
{
	struct reg_ref r, r2;
	char *s = malloc(n + 1), out[1024], err[64];

	if (!s)
		return;
	memcpy(s, p, n);
	s[n] = 0;
	if (reg_ref_parse(s, NULL, &r, err, sizeof err) == 0) {
		if (!reg_repo_valid(r.repo) || (!r.tag[0] && !reg_digest_valid(r.digest)) ||
		    (r.tag[0] && !reg_tag_valid(r.tag)) || reg_ref_format(&r, out, sizeof out) < 0 ||
		    reg_ref_parse(out, NULL, &r2, err, sizeof err) < 0 ||
		    strcmp(r.host, r2.host) || strcmp(r.repo, r2.repo) || strcmp(r.tag, r2.tag) ||
		    strcmp(r.digest, r2.digest))
			abort();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0: fuzz_manifest(data + 1, size - 1); break;
	case 1: fuzz_index(data + 1, size - 1); break;
	case 2: {
		int r = reg_is_index(data + 1, size - 1);

		if (r != 0 && r != 1 && r >= 0)
			abort();
		break;
	}
	case 3: fuzz_token(data + 1, size - 1); break;
	case 4: fuzz_challenge(data + 1, size - 1); break;
	default: fuzz_ref(data + 1, size - 1); break;
	}
	return 0;
}
