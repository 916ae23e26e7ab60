/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: git's pkt-line wire formats (src/git_proto.c). The first byte
 * picks the parser (info/refs advertisement, ls-refs answer, v2 fetch
 * response, v0 fetch response with side-band, v0 raw) and the ref asked for;
 * the second byte the size of the pieces a fetch response is fed in. A fetch
 * response fed whole and in pieces must give the same pack bytes and the same
 * outcome, and never more pack bytes than max_pack.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "git.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PACK 4096

struct sink {
	uint8_t *p;
	size_t n;
};

static int put(void *ctx, const uint8_t *p, size_t n)
{
	struct sink *s = ctx;

	if (s->n + n > MAX_PACK)
		abort();
	memcpy(s->p + s->n, p, n);
	s->n += n;
	return 0;
}

static int rx(int mode, const uint8_t *p, size_t n, size_t step, struct sink *s)
{
	struct git_rx *x = malloc(sizeof *x);
	char err[128];
	int rc = 0;

	if (!x)
		return -1;
	git_rx_init(x, mode == 2, mode == 3, MAX_PACK, put, s, err, sizeof err);
	for (size_t off = 0; off < n && rc == 0; off += step)
		rc = git_rx_feed(x, p + off, n - off < step ? n - off : step);
	if (rc == 0)
		rc = git_rx_end(x);
	free(x);
	return rc < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const refs[] = { "HEAD", "refs/heads/main" };
	struct git_adv a;
	uint8_t oid[GIT_OID_LEN];
	char sym[64], err[128];
	int mode;

	if (size < 2)
		return 0;
	mode = (data[0] & 7) % 5;
	const char *ref = refs[(data[0] >> 3) & 1];
	size_t step = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	if (mode == 0) {
		if (git_adv_parse(data, size, ref, &a, err, sizeof err) == 0) {
			if (a.version != 0 && a.version != 2)
				abort();
			(void)git_cap(&a, "side-band-64k", NULL, NULL);
			(void)git_cap(&a, "fetch", NULL, NULL);
		}
	} else if (mode == 1) {
		(void)git_lsrefs_parse(data, size, ref, oid, sym, sizeof sym, err, sizeof err);
	} else {
		struct sink whole = { malloc(MAX_PACK), 0 }, parts = { malloc(MAX_PACK), 0 };
		int r1, r2;

		if (whole.p && parts.p) {
			r1 = rx(mode, data, size, size ? size : 1, &whole);
			r2 = rx(mode, data, size, step, &parts);
			if (r1 != r2 || (r1 == 0 && (whole.n != parts.n ||
						     memcmp(whole.p, parts.p, whole.n) != 0)))
				abort();
		}
		free(whole.p);
		free(parts.p);
	}
	return 0;
}
