/* SPDX-License-Identifier: MIT */
/*
 * kproto: the wire format between the API process (src/keeper.c, the client
 * stub) and the keeper process (src/keeperd.c), over a SOCK_SEQPACKET
 * socketpair. One message is:
 *
 *   header packet, exactly KPROTO_HDR (16) bytes, little-endian:
 *     u16 version (= 1) | u16 op | u32 arg | i32 status | u32 len
 *   then ceil(len / KEEPER_CHUNK) payload packets, each exactly KEEPER_CHUNK
 *   bytes except the last (the rest).
 *
 * Requests carry arg (a key slot) and a payload; answers echo op, carry
 * status (>= 0 success, else a negative errno code) and a payload. len is at
 * most KEEPER_MAX_MSG (src/limits.h), checked before anything is allocated;
 * a packet of the wrong size, a wrong version or a truncated packet is
 * -EPROTO. The peer closing the channel is -EPIPE.
 *
 * Request payloads (kproto_req_parse checks every one; the keeper treats the
 * API process as untrusted):
 *   HAS, PUBKEY_PEM, PUBKEY_DER   arg = key, empty
 *   SIGN        arg = key, the 32-byte SHA-256 digest
 *   TLS_CSR     the host name (1..KEEPER_MAX_HOST bytes, no NUL)
 *   TLS_SELF    u64 serial | i64 not_before | i64 not_after | host name
 *   SET_TLS     a private key PEM (1..KEY_MAX_PEM bytes)
 *   STATE_SEAL  u32 n | SECRET (n) | u32 m | created (m, 1..KEEPER_MAX_TS) | params JSON
 *   STATE_OPEN  u32 n | SECRET (n) | state base64
 * SECRET is 1..PARAM_MAX_VALUE bytes. Answers: HAS status 0/1; PUBKEY_* the
 * key; SIGN the signature; TLS_* a PEM; STATE_SEAL the base64 state image;
 * STATE_OPEN the params JSON of the image (its keys went into the keeper).
 */
#ifndef SBS_KPROTO_H
#define SBS_KPROTO_H

#include <stddef.h>
#include <stdint.h>
#include "keeper.h"
#include "limits.h"

#define KPROTO_HDR 16
#define KPROTO_VERSION 1

enum kproto_op {
	KOP_HAS = 1, KOP_PUBKEY_PEM, KOP_PUBKEY_DER, KOP_SIGN, KOP_TLS_CSR, KOP_TLS_SELF,
	KOP_SET_TLS, KOP_STATE_SEAL, KOP_STATE_OPEN, KOP_END
};

struct kproto_hdr {
	uint16_t version, op;
	uint32_t arg;
	int32_t status;
	uint32_t len;
};

void kproto_hdr_put(const struct kproto_hdr *h, uint8_t out[static KPROTO_HDR]);
/* 0, or -EPROTO: n != KPROTO_HDR, another version, len > KEEPER_MAX_MSG. */
int kproto_hdr_get(const uint8_t *p, size_t n, struct kproto_hdr *h);

/* Sends one message (blocking). 0, -EPIPE (peer gone) or -errno. */
int kproto_send(int fd, uint16_t op, uint32_t arg, int32_t status, const void *p, size_t len);
/* Receives one message; *payload is malloc'd (len + 1 bytes, NUL after the
 * payload; NULL when len is 0): the caller frees it (wipe first: payloads
 * can be secret). timeout_ms < 0 waits for ever. 0, -EPIPE, -EPROTO,
 * -ETIMEDOUT, -ENOMEM. */
int kproto_recv(int fd, struct kproto_hdr *h, uint8_t **payload, int timeout_ms);

/* A decoded request. secret and data point into the payload. */
struct kproto_req {
	enum kproto_op op;
	enum keeper_key key;
	uint8_t hash[32];
	char host[KEEPER_MAX_HOST + 1];
	char ts[KEEPER_MAX_TS + 1];
	uint64_t serial;
	int64_t not_before, not_after;
	const uint8_t *secret;
	size_t secret_len;
	const uint8_t *data;          /* SET_TLS PEM, STATE_SEAL params, STATE_OPEN state */
	size_t data_len;
};
/* 0, or -EINVAL for an unknown op, a bad key slot or a malformed payload. */
int kproto_req_parse(const struct kproto_hdr *h, const uint8_t *p, size_t len,
		     struct kproto_req *out);

/* Little-endian field writers for the client (dst has room). */
void kproto_u32(uint8_t *dst, uint32_t v);
void kproto_u64(uint8_t *dst, uint64_t v);

#endif
