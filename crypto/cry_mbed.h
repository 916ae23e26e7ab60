/* SPDX-License-Identifier: MIT */
/*
 * Private glue between the three mbedTLS adapter files (cry_mbed.c,
 * cry_x509.c, cry_tls.c); nothing outside crypto/ includes it. It names
 * mbedTLS types by forward declaration only, so it includes no mbedTLS header
 * and the adapter check stays a simple grep.
 */
#ifndef SBS_CRY_MBED_H
#define SBS_CRY_MBED_H

#include <stddef.h>
#include <stdint.h>

#include "cry.h"

struct mbedtls_pk_context;

/* Fills *view with a shallow copy of k's mbedTLS context: it shares the key
 * material, is valid while k lives, and must never be passed to
 * mbedtls_pk_free(). This is how a borrowed key is lent to mbedTLS calls that
 * take a non-const context, without copying the secret. */
void cry_mb_key_view(const struct cry_key *k, struct mbedtls_pk_context *view);

/* Maps an mbedTLS error to cry's: -ENOMEM, -ENOSPC, else fallback. */
int cry_mb_err(int rc, int fallback);

/* mbedTLS parses PEM only from a NUL-terminated buffer whose length counts the
 * NUL, and DER only without it. Copies p into a fresh buffer (*z, freed with
 * cry_mb_zfree, which wipes it) and sets *zlen to what mbedTLS wants. */
int cry_mb_zdup(const uint8_t *p, size_t len, unsigned char **z, size_t *zlen);
void cry_mb_zfree(unsigned char *z, size_t zlen);

/* SubjectPublicKeyInfo PEM of pk into out (NUL-terminated); *olen without NUL. */
int cry_mb_pub_pem(struct mbedtls_pk_context *pk, char *out, size_t cap, size_t *olen);

#endif
