/* SPDX-License-Identifier: MIT */
/*
 * keeper: the only holder of private keys. Callers ask for public halves and
 * signatures over digests; no caller ever sees a private key. The API is
 * request/response shaped (fixed-size inputs, caller buffers for outputs) so
 * that the later process split can move it behind a socketpair unchanged.
 *
 * Keys (generated inside sbsd on first need, stored in <data>/keys/<name>.pem 0600
 * with atomic writes):
 *   KEEPER_MANIFEST  RSA-2048, signs the build manifest (PKCS#1 v1.5/SHA-256)
 *   KEEPER_IMAGE     ECDSA P-256, cosign image signatures
 *   KEEPER_TLS       ECDSA P-256, the API server's TLS key
 *
 * keeper_export() serialises all keys (SECRET output: wipe it) for the state
 * image; keeper_import() replaces every key at once (all files written, then
 * the in-memory set swapped) or changes nothing.
 */
#ifndef SBS_KEEPER_H
#define SBS_KEEPER_H

#include <stddef.h>
#include <stdint.h>
#include "cry.h"
#include "json.h"

enum keeper_key { KEEPER_MANIFEST = 0, KEEPER_IMAGE = 1, KEEPER_TLS = 2, KEEPER_NKEYS = 3 };

/* dir: where keys live (created 0700). rng is used for key generation. */
int keeper_open(const char *dir, cry_rng_fn rng, void *rctx);
void keeper_close(void);

/* SPKI PEM of the key, generating and storing the key first if absent. */
int keeper_pubkey_pem(enum keeper_key k, char *out, size_t cap, size_t *len);
/* 1 if the key exists already (no generation), else 0. */
int keeper_has(enum keeper_key k);
int keeper_sign(enum keeper_key k, const uint8_t hash[static 32],
		uint8_t *sig, size_t cap, size_t *siglen);
/* PEM CSR for the TLS key with subject CN=<host> and SAN DNS:<host>. */
int keeper_tls_csr(const char *host, char *out, size_t cap);
/* Interim until the process split: the TLS key object for the TLS engine.
 * Borrowed; valid until keeper_close() or keeper_import(). */
const struct cry_key *keeper_tls_key(void);
/* Replaces the TLS key with one given at deploy time (SERVER_KEY PEM). */
int keeper_set_tls_key(const uint8_t *pem, size_t len);

/* {"manifest": "<PEM>", "image": "<PEM>", "tls": "<PEM>"} (only keys that
 * exist). SECRET: free with json_free_secret(). */
int keeper_export(json **out);
int keeper_import(const json *keys);

#endif
