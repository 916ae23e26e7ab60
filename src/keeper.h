/* SPDX-License-Identifier: MIT */
/*
 * keeper: the only holder of private keys, as a process of its own. This
 * header is the API process's side: keeper_spawn() forks the keeper process
 * (src/keeperd.c), which opens the key store (src/kstore.c) and answers
 * requests over a SOCK_SEQPACKET socketpair (src/kproto.h); every other call
 * is one request and its answer. No private key, no appliance secret and no
 * plaintext key material ever reaches the caller: it gets public halves,
 * signatures over digests, certificates, and sealed state images.
 *
 * Keys (generated inside the keeper on first need, stored in
 * <data>/keys/<name>.pem 0600 with atomic writes):
 *   KEEPER_MANIFEST  RSA-2048, signs the build manifest (PKCS#1 v1.5/SHA-256)
 *   KEEPER_IMAGE     ECDSA P-256, cosign image signatures
 *   KEEPER_TLS       ECDSA P-256 (or the deploy-time RSA SERVER_KEY), the
 *                    TLS server key: the handshake signs through keeper_sign
 *
 * Errors: 0 (or a length) on success, else a negative errno code: -EBADF no
 * keeper, -EINVAL bad argument, -ENOSPC output buffer too small, and the
 * keeper's own codes (kstore.h, state.h). If the keeper process is gone
 * (-EPIPE on the channel) or answers out of protocol, the caller process
 * cannot go on safely: keeper_* logs "the keeper process is gone" and exits
 * the process (status 70); PID 1 on the appliance then powers off.
 * keeper_check() notices a dead keeper between requests. Not thread-safe.
 */
#ifndef SBS_KEEPER_H
#define SBS_KEEPER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "cry.h"

enum keeper_key { KEEPER_MANIFEST = 0, KEEPER_IMAGE = 1, KEEPER_TLS = 2, KEEPER_NKEYS = 3 };

struct keeper_cfg {
	const char *dir;              /* where keys live (created 0700) */
	cry_rng_fn rng;               /* the keeper's RNG */
	void *rctx;
	/* the deploy-time TLS key as base64 of PEM (SERVER_KEY), decoded in the
	 * keeper only; NULL = none. The caller wipes its copy after spawning. */
	const char *tls_key_b64;
	/* the appliance secret (hal.h), called in the keeper only; NULL = state
	 * images cannot be sealed or opened (-ENOKEY) */
	int (*appliance_secret)(uint8_t out[static 32]);
	int drop_privileges;          /* sbsd: 1 (keeperd.h); unit tests: 0 */
};

/* Forks the keeper, waits until it has opened the key store. 0, -EBUSY if
 * one runs already, or the keeper's error (e.g. -EINVAL: a key file that does
 * not hold a usable key, -ENOKEY: SERVER_KEY is not a usable key). */
int keeper_spawn(const struct keeper_cfg *cfg);
/* keeper_spawn with only dir and rng (the unit tests' form). */
int keeper_open(const char *dir, cry_rng_fn rng, void *rctx);
/* Closes the channel: the keeper wipes its keys and exits; reaped here. */
void keeper_close(void);
/* In a forked child (the builder): drops the channel without a word to the
 * keeper, which goes on serving the parent. */
void keeper_forget(void);
/* The keeper's pid (0 if none). */
pid_t keeper_pid(void);
/* 0 while the keeper is alive; exits the process (as above) if it is not. */
int keeper_check(void);

/* SPKI PEM / DER of the key, generating and storing the key first if absent. */
int keeper_pubkey_pem(enum keeper_key k, char *out, size_t cap, size_t *len);
int keeper_pubkey_der(enum keeper_key k, uint8_t *out, size_t cap, size_t *len);
/* 1 if the key exists already (no generation), else 0. */
int keeper_has(enum keeper_key k);
/* RSA PKCS#1 v1.5 or ECDSA (DER) over a SHA-256 digest. */
int keeper_sign(enum keeper_key k, const uint8_t hash[static 32],
		uint8_t *sig, size_t cap, size_t *siglen);
/* PEM CSR for the TLS key with subject CN=<host> and SAN DNS:<host>. */
int keeper_tls_csr(const char *host, char *out, size_t cap);
/* PEM self-signed server certificate for the TLS key, CN = SAN = host. */
int keeper_tls_selfsigned(const char *host, uint64_t serial, time_t not_before,
			  time_t not_after, char *out, size_t cap);
/* Replaces the TLS key (PEM). sbsd passes SERVER_KEY through keeper_cfg
 * instead, so that the key never sits in the API process. */
int keeper_set_tls_key(const uint8_t *pem, size_t len);

/* State image (docs/state-image.md), sealed and opened inside the keeper
 * with SECRET and the appliance secret:
 * seal: the plaintext is {"v":1,"params":<params_json>,"keys":<every key but
 * tls>,"created":<created>}; *b64 (malloc'd, NUL-terminated) is the state.
 * open: the keys of the image replace the keeper's (all or nothing); *params
 * (malloc'd, NUL-terminated, SECRET: wipe_free) is its "params" object as
 * JSON, for params_replace. Errors as state_open, plus -EILSEQ for content
 * that is not a layout-1 plaintext, -EKEYREJECTED for keys the store refuses
 * and -ENOKEY when the keeper has no appliance secret. */
int keeper_state_seal(const char *secret, size_t slen, const char *created,
		      const char *params_json, size_t plen, char **b64, size_t *b64_len);
int keeper_state_open(const char *state, size_t len, const char *secret, size_t slen,
		      char **params, size_t *params_len);

#endif
