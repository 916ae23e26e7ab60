/* SPDX-License-Identifier: MIT */
/*
 * api_attest: the attestation endpoint (api_attest.h). Parses the one query
 * parameter, builds the user data from the TLS key's SPKI and the nonce, and
 * asks the HAL for evidence.
 */
#include "api_attest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "json.h"
#include "keeper.h"
#include "limits.h"
#include "util.h"

#define SPKI_MAX 1024   /* DER SubjectPublicKeyInfo of a P-256 or RSA-4096 key */

static void reply(struct srv_reply *r, int status, json *j)
{
	char *s = j ? json_print(j) : NULL;

	r->status = status;
	r->ctype = "application/json";
	if (!s || buf_append(&r->body, s, strlen(s)) < 0)
		r->status = 500;
	free(s);
	json_free(j);
}

static void reply_err(struct srv_reply *r, int status, int prot, const char *text)
{
	json *j = json_new_obj();

	if (j && prot >= 0)
		json_set_bool(j, "protected", prot);
	if (j)
		json_set_str(j, "error", text);
	reply(r, status, j);
}

/* The nonce=<hex> parameter of the query: 0 and its bytes, or -EINVAL. */
static int get_nonce(const char *target, uint8_t out[static SE_MAX_NONCE], size_t *len)
{
	const char *q = strchr(target, '?'), *v = NULL;
	size_t n;

	for (const char *p = q ? q + 1 : NULL; p && *p; p += strcspn(p, "&"), p += *p == '&') {
		if (!strncmp(p, "nonce=", 6)) {
			if (v)
				return -EINVAL;   /* given twice */
			v = p + 6;
		}
	}
	if (!v)
		return -EINVAL;
	n = strcspn(v, "&#");
	if (n < 2 || n % 2 || n > 2 * SE_MAX_NONCE)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = util_hexval(v[2 * i]), lo = util_hexval(v[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

static int set_hex(json *j, const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * (32 + SE_MAX_NONCE) + 1];

	if (n > (sizeof hex - 1) / 2)
		return -EINVAL;
	cry_hex(p, n, hex);
	return json_set_str(j, key, hex);
}

/* 200 with the evidence. */
static void reply_evidence(struct srv_reply *r, const uint8_t *user, size_t ulen,
			   const struct buf *ev)
{
	size_t cap = cry_b64_encoded_len(ev->len), olen;
	char *b64 = malloc(cap);
	json *j = json_new_obj();
	int rc = !b64 || !j ? -ENOMEM : cry_b64_encode(ev->data, ev->len, b64, cap, &olen);

	if (rc == 0 && (json_set_bool(j, "protected", 1) < 0 ||
			set_hex(j, "nonce", user + 32, ulen - 32) < 0 ||
			set_hex(j, "spki_sha256", user, 32) < 0 ||
			set_hex(j, "user_data", user, ulen) < 0 ||
			json_set_str(j, "format", "pvattest-exchange-v1") < 0 ||
			json_set_str(j, "evidence", b64) < 0))
		rc = -ENOMEM;
	free(b64);
	if (rc < 0) {
		json_free(j);
		reply_err(r, 500, -1, "out of memory");
		return;
	}
	reply(r, 200, j);
}

void api_attest(const char *target, const struct hal *hal, struct srv_reply *r)
{
	uint8_t user[32 + SE_MAX_NONCE], spki[SPKI_MAX];
	size_t nlen = 0, slen = 0;
	struct buf ev = { .max = SE_MAX_EVIDENCE };
	int rc;

	if (get_nonce(target, user + 32, &nlen) < 0) {
		reply_err(r, 400, -1, "expected ?nonce=<hex>, 1 to 64 bytes (2 to 128 hex digits)");
		return;
	}
	if (!hal->protected_guest()) {
		reply_err(r, 503, 0, API_ATTEST_NOT_PROTECTED);
		return;
	}
	if (keeper_pubkey_der(KEEPER_TLS, spki, sizeof spki, &slen) < 0) {
		reply_err(r, 500, 1, "the TLS server key is not available");
		return;
	}
	cry_sha256(spki, slen, user);
	rc = hal->attest(user, 32 + nlen, &ev);
	if (rc == -ENOKEY)
		reply_err(r, 503, 1, "no attestation request deployed: put SBS_ATTEST_REQUEST "
				     "(base64 of a `pvattest create` file) in the deploy-time env");
	else if (rc == -ENOTSUP)
		reply_err(r, 503, 0, API_ATTEST_NOT_PROTECTED);
	else if (rc == -ENODEV)
		reply_err(r, 503, 1, API_ATTEST_NO_DEVICE);
	else if (rc < 0)
		reply_err(r, 500, 1, "attestation failed (the reason is on the appliance console)");
	else
		reply_evidence(r, user, 32 + nlen, &ev);
	buf_free(&ev);
}
