/* SPDX-License-Identifier: MIT */
/*
 * cry: the only door to mbedTLS (crypto/cry_mbed.c, cry_x509.c, cry_tls.c)
 * and BearSSL (crypto/cry_bear.c). crypto/cry_p256.c includes both: it
 * implements mbedTLS's P-256 ECDSA/ECDH hooks on BearSSL and has no cry_*
 * API. Nothing else in sbs includes their headers.
 *
 * Pure: no file or socket I/O, no clock, no global randomness. Callers pass an
 * RNG callback (cry_rng_fn; util_rng in production) and, where time matters,
 * the time as Unix seconds. TLS engines move bytes through caller-supplied
 * send/recv callbacks.
 *
 * Errors: every int function returns 0 on success or a negative errno-style
 * code: -EINVAL bad argument or unparsable input, -ENOSPC output buffer too
 * small, -EBADMSG authentication/verification failed, -ENOMEM, -EIO other
 * library failure. TLS calls may also return CRY_WANT_READ / CRY_WANT_WRITE.
 *
 * Secrets: struct cry_key holds a private key; cry_key_free() wipes it. Only
 * cry_key_priv_pem() ever serialises a private key (for the sealed state
 * image); its output is secret and must be wiped by the caller.
 */
#ifndef SBS_CRY_H
#define SBS_CRY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef int (*cry_rng_fn)(void *ctx, uint8_t *buf, size_t len);

/* ---- hashing, MAC, KDF, AEAD (BearSSL) ---- */
struct cry_sha256 { uint64_t opaque[16]; };   /* big enough for br_sha256_context */
void cry_sha256_init(struct cry_sha256 *c);
void cry_sha256_update(struct cry_sha256 *c, const void *p, size_t n);
void cry_sha256_final(struct cry_sha256 *c, uint8_t out[static 32]);
void cry_sha256(const void *p, size_t n, uint8_t out[static 32]);
/* SHA-1, for git object ids and pack checksums only (never for signatures:
 * it is not collision resistant, and BearSSL's has no collision detection).
 * Same shape as the SHA-256 API; final() wipes the context. */
struct cry_sha1 { uint64_t opaque[16]; };     /* big enough for br_sha1_context */
void cry_sha1_init(struct cry_sha1 *c);
void cry_sha1_update(struct cry_sha1 *c, const void *p, size_t n);
void cry_sha1_final(struct cry_sha1 *c, uint8_t out[static 20]);
void cry_sha1(const void *p, size_t n, uint8_t out[static 20]);
/* MD5, only for S3's Content-MD5 header and ETag checks of uploads (an
 * integrity check against transport damage, never a security boundary: the
 * request itself is authenticated by SigV4 or a bearer token over TLS). */
struct cry_md5 { uint64_t opaque[16]; };      /* big enough for br_md5_context */
void cry_md5_init(struct cry_md5 *c);
void cry_md5_update(struct cry_md5 *c, const void *p, size_t n);
void cry_md5_final(struct cry_md5 *c, uint8_t out[static 16]);
void cry_hmac_sha256(const uint8_t *key, size_t klen, const void *p, size_t n,
		     uint8_t out[static 32]);
/* HKDF-SHA256 (RFC 5869), extract then expand; out_len <= 255*32. */
int cry_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
		    size_t ikm_len, const uint8_t *info, size_t info_len,
		    uint8_t *out, size_t out_len);
/* ChaCha20-Poly1305 (RFC 8439). seal: buf (len bytes) is encrypted in place and
 * the 16-byte tag written. open: the tag is checked in constant time first;
 * on mismatch buf is left unchanged and -EBADMSG returned. */
int cry_aead_seal(const uint8_t key[static 32], const uint8_t nonce[static 12],
		  const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
		  uint8_t tag[static 16]);
int cry_aead_open(const uint8_t key[static 32], const uint8_t nonce[static 12],
		  const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
		  const uint8_t tag[static 16]);
/* PBKDF2-HMAC-SHA256 (RFC 8018 5.2): iterations >= 1, out_len >= 1. The
 * password and out are secret; the caller wipes out. -EINVAL on a bad
 * argument. Cost: 2 * iterations * ceil(out_len / 32) SHA-256 blocks. */
int cry_pbkdf2_sha256(const uint8_t *pass, size_t plen, const uint8_t *salt,
		      size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len);
/* XTS-AES (IEEE 1619) without ciphertext stealing, in place. key is K1||K2:
 * 32 bytes (XTS-AES-128) or 64 bytes (XTS-AES-256). buf holds len / unit
 * whole data units of unit bytes (16 <= unit <= 4096, unit % 16 == 0,
 * len % unit == 0); the first has data-unit sequence number dus (tweak =
 * dus as a 128-bit little-endian integer, which is dm-crypt's "plain64"
 * IV), the next dus + 1, and so on. encrypt: 1 encrypts, 0 decrypts.
 * -EINVAL on a bad argument (buf untouched). Constant-time (BearSSL ct64). */
int cry_aes_xts(const uint8_t *key, size_t klen, uint64_t dus, size_t unit,
		uint8_t *buf, size_t len, int encrypt);
/* Constant-time comparison: 1 equal, 0 different. */
int cry_ct_eq(const void *a, const void *b, size_t n);

/* ---- encoding (mbedTLS) ---- */
/* Standard base64 with padding, no line breaks; out gets a trailing NUL.
 * *olen excludes the NUL. decode rejects bad characters and bad padding. */
int cry_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *olen);
int cry_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *olen);
size_t cry_b64_encoded_len(size_t len);  /* including NUL */
void cry_hex(const uint8_t *in, size_t len, char *out); /* out: 2*len+1 */

/* ---- keys and signatures (mbedTLS) ---- */
struct cry_key;
enum cry_key_type { CRY_KEY_RSA = 1, CRY_KEY_EC_P256 = 2 };
int cry_key_gen(struct cry_key **out, enum cry_key_type t, cry_rng_fn rng, void *rctx);
/* Parses a private key in PEM (PKCS#1, SEC1 or PKCS#8) or DER. */
int cry_key_parse(struct cry_key **out, const uint8_t *p, size_t len);
void cry_key_free(struct cry_key *k);
enum cry_key_type cry_key_type(const struct cry_key *k);
/* Private key PEM (SECRET). RSA: "RSA PRIVATE KEY", EC: "EC PRIVATE KEY". */
int cry_key_priv_pem(const struct cry_key *k, char *out, size_t cap, size_t *olen);
/* SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"). */
int cry_key_pub_pem(const struct cry_key *k, char *out, size_t cap, size_t *olen);
int cry_key_pub_der(const struct cry_key *k, uint8_t *out, size_t cap, size_t *olen);
/* Signs a SHA-256 digest: RSA PKCS#1 v1.5, or ECDSA with a DER signature. */
int cry_sign_sha256(const struct cry_key *k, const uint8_t hash[static 32],
		    uint8_t *sig, size_t cap, size_t *siglen, cry_rng_fn rng, void *rctx);
/* Verifies with a public key in PEM (SPKI or PKCS#1 RSA) or a certificate PEM.
 * 0 valid, -EBADMSG invalid, -EINVAL unparsable key. */
int cry_verify_sha256(const uint8_t *pub, size_t publen, const uint8_t hash[static 32],
		      const uint8_t *sig, size_t siglen);

/* ---- X.509 (mbedTLS) ---- */
/* Distinguished names are in mbedTLS/OpenSSL-ish form:
 * "C=US,ST=NY,L=Armonk,O=IBM,OU=Digital Assets,CN=Client CA". */
int cry_csr_make(const struct cry_key *k, const char *subject, const char *san_dns,
		 char *out, size_t cap, cry_rng_fn rng, void *rctx);
/* Checks a CSR's self-signature and returns its subject public key as SPKI PEM
 * and its subjectAltName DNS name (first one) if any ("" otherwise). */
int cry_csr_info(const uint8_t *csr, size_t len, char *pub_pem, size_t pub_cap,
		 char *san_dns, size_t san_cap);

enum { CRY_EKU_SERVER = 1, CRY_EKU_CLIENT = 2 };
enum { CRY_KU_DIGSIG = 1, CRY_KU_KEYENC = 2, CRY_KU_CERTSIGN = 4, CRY_KU_CRLSIGN = 8 };
struct cry_cert_req {
	const char *subject;          /* DN of the new certificate */
	const uint8_t *subject_pub;   /* SPKI PEM of the subject key ... */
	size_t subject_pub_len;
	const struct cry_key *subject_key; /* ... or the key itself (self-signed) */
	const struct cry_key *issuer_key;
	const uint8_t *issuer_cert;   /* PEM; NULL = self-signed (issuer = subject) */
	size_t issuer_cert_len;
	uint64_t serial;
	time_t not_before, not_after;
	int is_ca;
	unsigned key_usage;           /* CRY_KU_* */
	unsigned ext_key_usage;       /* CRY_EKU_* */
	const char *san_dns;          /* NULL or "" for none */
};
/* Writes a PEM certificate signed with SHA-256 by issuer_key; SKI and AKI are
 * real key identifiers (RFC 5280 method 1). */
int cry_cert_make(const struct cry_cert_req *r, char *out, size_t cap,
		  cry_rng_fn rng, void *rctx);
/* Facts about a certificate PEM (first certificate of a chain). */
struct cry_cert_info {
	char subject[256];
	char san_dns[256];           /* first DNS SAN or "" */
	time_t not_before, not_after;
	int is_ca;
	char pub_pem[1024];          /* SPKI PEM of its key */
};
int cry_cert_info(const uint8_t *pem, size_t len, struct cry_cert_info *out);
/* Verifies cert (PEM, may carry a chain) against ca (PEM); 0 or -EBADMSG. */
int cry_cert_verify(const uint8_t *cert, size_t clen, const uint8_t *ca, size_t calen, time_t now);
/* 1 if the certificate's public key matches the private key, else 0. */
int cry_cert_matches_key(const uint8_t *cert, size_t clen, const struct cry_key *k);

/* ---- TLS 1.2 (mbedTLS) ---- */
#define CRY_WANT_READ  (-10001)
#define CRY_WANT_WRITE (-10002)
#define CRY_CLOSED     (-10003)   /* peer sent close_notify or EOF */
/* send/recv return bytes moved (>0), CRY_WANT_READ/WRITE when the socket
 * would block, 0 on EOF (recv) or a negative error. */
typedef int (*cry_send_fn)(void *ctx, const uint8_t *p, size_t n);
typedef int (*cry_recv_fn)(void *ctx, uint8_t *p, size_t n);

struct cry_tls_conf;
struct cry_tls;
/* Server config: client certificates are REQUIRED and verified against ca_pem;
 * chain_pem is the server certificate (plus chain); key is borrowed and must
 * outlive the conf. Session tickets on, key rotated by the library. */
int cry_tls_server_conf(struct cry_tls_conf **out, const uint8_t *ca_pem, size_t ca_len,
			const uint8_t *chain_pem, size_t chain_len,
			const struct cry_key *key, cry_rng_fn rng, void *rctx);
/* A private key held elsewhere (the keeper process): signs a SHA-256 digest
 * with the key of the server certificate, RSA PKCS#1 v1.5 or ECDSA (DER).
 * 0 or a negative code. */
typedef int (*cry_sign_fn)(void *ctx, const uint8_t hash[static 32], uint8_t *sig,
			   size_t cap, size_t *siglen);
/* Server config as above, whose key never enters this process: each full
 * handshake calls sign (synchronously) for its ServerKeyExchange. Signature
 * hashes are limited to SHA-256 (every TLS 1.2 client offers it). */
int cry_tls_server_conf_signer(struct cry_tls_conf **out, const uint8_t *ca_pem, size_t ca_len,
			       const uint8_t *chain_pem, size_t chain_len,
			       cry_sign_fn sign, void *sctx, cry_rng_fn rng, void *rctx);
/* Client config. ca_pem NULL = no server verification (status --noverify).
 * cert_key_pem: the client certificate followed by its private key (the
 * build.py "cert+key" file); NULL = no client certificate. */
int cry_tls_client_conf(struct cry_tls_conf **out, const uint8_t *ca_pem, size_t ca_len,
			const uint8_t *cert_key_pem, size_t ck_len,
			cry_rng_fn rng, void *rctx);
/* Confs are reference counted: every cry_tls holds one reference, so a server
 * may swap its conf (new certificate) while old sessions finish. */
void cry_tls_conf_put(struct cry_tls_conf *c);

/* hostname: SNI and certificate name check for clients; NULL on servers. */
int cry_tls_new(struct cry_tls **out, struct cry_tls_conf *c, const char *hostname,
		cry_send_fn snd, cry_recv_fn rcv, void *io_ctx);
int cry_tls_handshake(struct cry_tls *t);      /* 0 done, WANT_*, or error */
int cry_tls_read(struct cry_tls *t, uint8_t *p, size_t n);   /* >0, 0 = CRY_CLOSED-ish, WANT_*, err */
int cry_tls_write(struct cry_tls *t, const uint8_t *p, size_t n); /* >0 bytes, WANT_*, err */
size_t cry_tls_pending(const struct cry_tls *t); /* decrypted bytes buffered */
int cry_tls_close_notify(struct cry_tls *t);
void cry_tls_free(struct cry_tls *t);
/* Human-readable reason of the last failure (never secret), e.g.
 * "peer certificate not trusted". Handshake failures keep their reason in
 * the code: -EACCES no client certificate, -EKEYREJECTED peer certificate not
 * trusted, -EKEYEXPIRED expired or not yet valid, -EHOSTUNREACH name
 * mismatch, -EBADMSG other verification failure, -EPERM the peer refused our
 * certificate, -ECONNABORTED other fatal alert, -ENOPROTOOPT no common suite,
 * -EPROTO protocol error, -EIO a send/recv callback failed. */
const char *cry_tls_strerror(int err);

#endif
