/* SPDX-License-Identifier: MIT */
/*
 * cry_shani: the SHA-256 compression function on the x86 SHA extensions
 * (SHA-NI), for crypto/cry_bear.c's cry_sha256_*; not for other modules.
 * cry_shani_ok() is 1 when this CPU has SHA-NI, SSSE3 and SSE4.1 (and this is
 * an x86_64 build), else 0; cry_shani_blocks() must be called only then. It
 * runs the FIPS 180-4 compression over n whole 64-byte blocks into the state
 * h (A..H as native words). No secrets are kept; constant time like the
 * instructions it uses.
 */
#ifndef SBS_CRY_SHANI_H
#define SBS_CRY_SHANI_H

#include <stddef.h>
#include <stdint.h>

int cry_shani_ok(void);
void cry_shani_blocks(uint32_t h[8], const uint8_t *p, size_t n);

#endif
