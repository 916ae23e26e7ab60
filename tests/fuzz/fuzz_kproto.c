/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the keeper's decoder of what the API process sends
 * (kproto_hdr_get + kproto_req_parse, src/kproto.c). The input is a 16-byte
 * header followed by the payload; the payload length used is the header's
 * when it fits the input, else the input's rest (so both a consistent and an
 * inconsistent length are exercised). Whatever decodes must be within the
 * documented bounds: that is checked, and a violation aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kproto.h"
#include "limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct kproto_req *r, const uint8_t *p, size_t len)
{
	if (r->op < KOP_HAS || r->op >= KOP_END || (int)r->key < 0 || r->key >= KEEPER_NKEYS)
		abort();
	if (strlen(r->host) > KEEPER_MAX_HOST || strlen(r->ts) > KEEPER_MAX_TS)
		abort();
	if (r->secret && (r->secret_len == 0 || r->secret_len > PARAM_MAX_VALUE ||
			  r->secret < p || r->secret + r->secret_len > p + len))
		abort();
	if (r->data && (r->data < p || r->data + r->data_len > p + len))
		abort();
	if ((r->op == KOP_TLS_CSR || r->op == KOP_TLS_SELF) && !r->host[0])
		abort();
	if ((r->op == KOP_STATE_SEAL || r->op == KOP_STATE_OPEN) && !r->secret)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kproto_hdr h;
	struct kproto_req r;
	const uint8_t *p = data + KPROTO_HDR;
	size_t len;

	if (size < KPROTO_HDR || kproto_hdr_get(data, KPROTO_HDR, &h) < 0)
		return 0;
	len = size - KPROTO_HDR;
	if (h.len <= len)
		len = h.len;
	if (kproto_req_parse(&h, len ? p : NULL, len, &r) == 0)
		check(&r, p, len);
	return 0;
}
