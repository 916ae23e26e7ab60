/* SPDX-License-Identifier: MIT */
/*
 * api_attest: GET /attestation?nonce=<hex> (docs/attestation.md).
 *
 * nonce: 2 to 2*SE_MAX_NONCE hex digits (an even count), required; anything
 * else is 400. The user data handed to the HAL is
 *   SHA-256(DER SubjectPublicKeyInfo of the TLS server key) || nonce bytes
 * so the evidence binds the attested guest to the TLS connection the client
 * is on (every certificate sbsd serves carries the keeper's TLS key).
 *
 * Replies (JSON):
 *   200 {"protected": true, "nonce": hex, "spki_sha256": hex, "user_data": hex,
 *        "format": "pvattest-exchange-v1", "evidence": base64}
 *       evidence is the exchange file `pvattest verify --input` reads.
 *   503 {"protected": false, "error": "not protected: /sys/firmware/uv/
 *        prot_virt_guest is 0 or absent"}   (QEMU, the sim HAL)
 *   503 {"protected": true, "error": "no attestation request deployed ..."}
 *   503 {"protected": true, "error": "attestation is not available in this
 *        runtime: no /dev/uv in the container"}   (hal hpvs, protected VM)
 *   500 {"error": "attestation failed ..."}   (the reason is on the console)
 * Nothing in a reply is secret.
 */
#ifndef SBS_API_ATTEST_H
#define SBS_API_ATTEST_H

#include "hal.h"
#include "server.h"

#define API_ATTEST_NOT_PROTECTED \
	"not protected: /sys/firmware/uv/prot_virt_guest is 0 or absent"
#define API_ATTEST_NO_DEVICE \
	"attestation is not available in this runtime: no /dev/uv in the container"

/* target: the request target with its query string. */
void api_attest(const char *target, const struct hal *hal, struct srv_reply *r);

#endif
