/* SPDX-License-Identifier: MIT */
/*
 * state: the state image envelope (format in docs/state-image.md).
 *
 *   blob  = "SBST" | version (1 byte, = 1) | salt (16) | nonce (12)
 *           | ciphertext | tag (16)
 *   key   = HKDF-SHA256(salt, ikm = SECRET bytes || appliance secret (32),
 *                       info = "sbs state image v1", 32 bytes)
 *   AEAD  = ChaCha20-Poly1305, AAD = the 33 header bytes
 *   state = standard base64 of blob (the JSON string served to clients)
 *
 * state_seal() draws salt and nonce from rng. state_open() returns -EINVAL for
 * malformed or truncated input, -EPROTO for an unknown version, -EBADMSG for a
 * wrong SECRET, a wrong appliance or tampering (indistinguishable on purpose).
 * Plaintext output is SECRET (keys): the caller wipes and frees it.
 */
#ifndef SBS_STATE_H
#define SBS_STATE_H

#include <stddef.h>
#include <stdint.h>
#include "cry.h"

#define STATE_MAGIC "SBST"
#define STATE_VERSION 1
#define STATE_HDR_LEN 33
#define STATE_TAG_LEN 16

int state_seal(const uint8_t *plain, size_t len, const uint8_t *secret, size_t slen,
	       const uint8_t app[static 32], cry_rng_fn rng, void *rctx,
	       char **b64_out, size_t *b64_len);
int state_open(const char *b64, size_t b64_len, const uint8_t *secret, size_t slen,
	       const uint8_t app[static 32], uint8_t **plain, size_t *plen);

#endif
