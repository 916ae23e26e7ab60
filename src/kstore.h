/* SPDX-License-Identifier: MIT */
/*
 * kstore: the key store inside the keeper process (src/keeperd.c). It is the
 * only code that holds private keys; nothing in the API or builder process
 * links to it at run time (they talk to the keeper through src/keeper.c).
 *
 * Keys (generated on first need, stored in <dir>/<name>.pem 0600 with atomic
 * writes):
 *   KEEPER_MANIFEST  RSA-2048, signs the build manifest (PKCS#1 v1.5/SHA-256)
 *   KEEPER_IMAGE     ECDSA P-256, cosign image signatures
 *   KEEPER_TLS       ECDSA P-256 (or a deploy-time RSA key), the TLS server key
 *
 * kstore_export() serialises all keys (SECRET output: json_free_secret) for
 * the state image, which the keeper seals itself; kstore_import() replaces
 * every named key at once (all files written, then the in-memory set swapped)
 * or changes nothing. Errors: negative errno codes (-EBADF not open, -EINVAL
 * bad argument or key, -ENOSPC output buffer too small).
 */
#ifndef SBS_KSTORE_H
#define SBS_KSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "cry.h"
#include "json.h"
#include "keeper.h"

/* dir: where keys live (created 0700). rng is used for key generation. */
int kstore_open(const char *dir, cry_rng_fn rng, void *rctx);
void kstore_close(void);

/* SPKI PEM / DER of the key, generating and storing the key first if absent. */
int kstore_pubkey_pem(enum keeper_key k, char *out, size_t cap, size_t *len);
int kstore_pubkey_der(enum keeper_key k, uint8_t *out, size_t cap, size_t *len);
/* 1 if the key exists already (no generation), else 0. */
int kstore_has(enum keeper_key k);
int kstore_sign(enum keeper_key k, const uint8_t hash[static 32],
		uint8_t *sig, size_t cap, size_t *siglen);
/* PEM CSR for the TLS key with subject CN=<host> and SAN DNS:<host>. */
int kstore_tls_csr(const char *host, char *out, size_t cap);
/* PEM self-signed server certificate for the TLS key (CN and SAN = host). */
int kstore_tls_selfsigned(const char *host, uint64_t serial, time_t not_before,
			  time_t not_after, char *out, size_t cap);
/* Replaces the TLS key with one given at deploy time (SERVER_KEY PEM). */
int kstore_set_tls_key(const uint8_t *pem, size_t len);

/* {"manifest": "<PEM>", "image": "<PEM>", "tls": "<PEM>"} (only keys that
 * exist). SECRET: free with json_free_secret(). */
int kstore_export(json **out);
int kstore_import(const json *keys);

#endif
