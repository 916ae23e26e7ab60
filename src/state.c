/* SPDX-License-Identifier: MIT */
/*
 * state: seals and opens the state image envelope (state.h, format and threat
 * model in docs/state-image.md). The key is derived per image from a fresh
 * 16-byte salt, so the 12-byte random nonce is never reused under one key.
 * Limits are checked on the encoded length before anything is decoded; the
 * derived key, the key material and every buffer that held plaintext are wiped
 * before they are released. Wrong SECRET, wrong appliance and tampering all
 * end in the one AEAD tag check and return the same -EBADMSG.
 */
#include "state.h"
#include "limits.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STATE_SALT_LEN  16
#define STATE_NONCE_LEN 12
#define STATE_APP_LEN   32
#define STATE_KEY_LEN   32
#define STATE_INFO      "sbs state image v1"
/* offsets in the header */
#define OFF_VER   4
#define OFF_SALT  5
#define OFF_NONCE (OFF_SALT + STATE_SALT_LEN)

_Static_assert(OFF_NONCE + STATE_NONCE_LEN == STATE_HDR_LEN, "state header layout");

/* key = HKDF-SHA256(salt, SECRET || app, info). */
static int derive_key(const uint8_t salt[static STATE_SALT_LEN], const uint8_t *secret,
		      size_t slen, const uint8_t app[static STATE_APP_LEN],
		      uint8_t key[static STATE_KEY_LEN])
{
	uint8_t *ikm;
	size_t ilen = slen + STATE_APP_LEN;
	int rc;

	ikm = malloc(ilen);
	if (!ikm)
		return -ENOMEM;
	memcpy(ikm, secret, slen);
	memcpy(ikm + slen, app, STATE_APP_LEN);
	rc = cry_hkdf_sha256(salt, STATE_SALT_LEN, ikm, ilen, (const uint8_t *)STATE_INFO,
			     sizeof STATE_INFO - 1, key, STATE_KEY_LEN);
	wipe_free(ikm, ilen);
	return rc < 0 ? rc : 0;
}

static int check_secret(const uint8_t *secret, size_t slen)
{
	if (!secret || slen == 0)
		return -EINVAL;
	if (slen > PARAM_MAX_VALUE)
		return -E2BIG;
	return 0;
}

int state_seal(const uint8_t *plain, size_t len, const uint8_t *secret, size_t slen,
	       const uint8_t app[static 32], cry_rng_fn rng, void *rctx,
	       char **b64_out, size_t *b64_len)
{
	uint8_t key[STATE_KEY_LEN];
	uint8_t *blob = NULL;
	size_t blen = STATE_HDR_LEN + len + STATE_TAG_LEN, cap;
	char *b64 = NULL;
	int rc;

	if (!b64_out || !b64_len || !rng || (!plain && len))
		return -EINVAL;
	*b64_out = NULL;
	*b64_len = 0;
	if (len > STATE_MAX_PLAIN)
		return -E2BIG;
	rc = check_secret(secret, slen);
	if (rc < 0)
		return rc;
	blob = malloc(blen);
	if (!blob)
		return -ENOMEM;
	memcpy(blob, STATE_MAGIC, 4);
	blob[OFF_VER] = STATE_VERSION;
	rc = rng(rctx, blob + OFF_SALT, STATE_SALT_LEN);
	if (rc == 0)
		rc = rng(rctx, blob + OFF_NONCE, STATE_NONCE_LEN);
	if (rc != 0) {
		rc = rc < 0 ? rc : -EIO;
		goto out;
	}
	rc = derive_key(blob + OFF_SALT, secret, slen, app, key);
	if (rc < 0)
		goto out;
	if (len)
		memcpy(blob + STATE_HDR_LEN, plain, len);
	rc = cry_aead_seal(key, blob + OFF_NONCE, blob, STATE_HDR_LEN, blob + STATE_HDR_LEN, len,
			   blob + STATE_HDR_LEN + len);
	if (rc < 0)
		goto out;
	cap = cry_b64_encoded_len(blen);
	b64 = malloc(cap);
	if (!b64) {
		rc = -ENOMEM;
		goto out;
	}
	rc = cry_b64_encode(blob, blen, b64, cap, b64_len);
	if (rc < 0)
		goto out;
	*b64_out = b64;
	b64 = NULL;
out:
	free(b64);
	wipe(key, sizeof key);
	wipe_free(blob, blen);
	return rc;
}

/* Base64 text -> blob, with every size check done before decoding. */
static int decode_blob(const char *b64, size_t b64_len, uint8_t **out, size_t *olen)
{
	uint8_t *blob;
	size_t cap;

	if (b64_len > STATE_MAX_B64)
		return -E2BIG;
	if (b64_len == 0 || b64_len % 4 != 0)
		return -EINVAL;
	cap = b64_len / 4 * 3;
	blob = malloc(cap);
	if (!blob)
		return -ENOMEM;
	if (cry_b64_decode(b64, b64_len, blob, cap, olen) < 0 || *olen > cap) {
		free(blob);
		return -EINVAL;
	}
	*out = blob;
	return 0;
}

/* Header checks in order: magic, version, then room for a tag. */
static int check_header(const uint8_t *blob, size_t blen)
{
	if (blen < OFF_VER + 1 || memcmp(blob, STATE_MAGIC, 4) != 0)
		return -EINVAL;
	if (blob[OFF_VER] != STATE_VERSION)
		return -EPROTO;
	if (blen < STATE_HDR_LEN + STATE_TAG_LEN)
		return -EINVAL;
	if (blen - STATE_HDR_LEN - STATE_TAG_LEN > STATE_MAX_PLAIN)
		return -E2BIG;
	return 0;
}

int state_open(const char *b64, size_t b64_len, const uint8_t *secret, size_t slen,
	       const uint8_t app[static 32], uint8_t **plain, size_t *plen)
{
	uint8_t key[STATE_KEY_LEN];
	uint8_t *blob = NULL;
	size_t blen = 0, n;
	int rc;

	if (!plain || !plen || (!b64 && b64_len))
		return -EINVAL;
	*plain = NULL;
	*plen = 0;
	rc = check_secret(secret, slen);
	if (rc < 0)
		return rc;
	rc = decode_blob(b64, b64_len, &blob, &blen);
	if (rc < 0)
		return rc;
	rc = check_header(blob, blen);
	if (rc < 0)
		goto out;
	n = blen - STATE_HDR_LEN - STATE_TAG_LEN;
	rc = derive_key(blob + OFF_SALT, secret, slen, app, key);
	if (rc < 0)
		goto out;
	rc = cry_aead_open(key, blob + OFF_NONCE, blob, STATE_HDR_LEN, blob + STATE_HDR_LEN, n,
			   blob + STATE_HDR_LEN + n);
	if (rc < 0) {
		rc = -EBADMSG;
		goto out;
	}
	/* Hand back the same buffer: plaintext moved to the front, the rest
	 * (which now holds stale plaintext tail bytes) wiped, NUL after it. */
	memmove(blob, blob + STATE_HDR_LEN, n);
	wipe(blob + n, blen - n);
	blob[n] = 0;
	*plain = blob;
	*plen = n;
	blob = NULL;
out:
	wipe(key, sizeof key);
	wipe_free(blob, blen);
	return rc;
}
