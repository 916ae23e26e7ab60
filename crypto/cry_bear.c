/* SPDX-License-Identifier: MIT */
/*
 * cry_bear: the BearSSL half of crypto/cry.h. SHA-256 and SHA-1 (one-shot and
 * streaming), HMAC-SHA256, HKDF-SHA256 and ChaCha20-Poly1305, all on BearSSL's
 * constant-time, allocation-free implementations (ChaCha20 "ct", Poly1305
 * "ctmul": portable, so x86_64 and s390x run the same code). This is the only
 * file that includes bearssl.h. Every context that saw key material is wiped
 * before it goes out of scope.
 */
#include "cry.h"

#include <errno.h>
#include <string.h>

#include "bearssl.h"

_Static_assert(sizeof(struct cry_sha256) >= sizeof(br_sha256_context),
	       "struct cry_sha256 too small for br_sha256_context");
_Static_assert(_Alignof(struct cry_sha256) >= _Alignof(br_sha256_context),
	       "struct cry_sha256 under-aligned for br_sha256_context");

/* One wipe that the compiler cannot drop (explicit_bzero is in musl and glibc). */
static void bwipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

static br_sha256_context *sctx(struct cry_sha256 *c)
{
	return (br_sha256_context *)(void *)c;
}

void cry_sha256_init(struct cry_sha256 *c)
{
	br_sha256_init(sctx(c));
}

void cry_sha256_update(struct cry_sha256 *c, const void *p, size_t n)
{
	br_sha256_update(sctx(c), p, n);
}

/* Writes the digest and wipes the context: it may have hashed key material.
 * The context must be re-initialised before reuse. */
void cry_sha256_final(struct cry_sha256 *c, uint8_t out[static 32])
{
	br_sha256_out(sctx(c), out);
	bwipe(c, sizeof *c);
}

void cry_sha256(const void *p, size_t n, uint8_t out[static 32])
{
	br_sha256_context c;

	br_sha256_init(&c);
	br_sha256_update(&c, p, n);
	br_sha256_out(&c, out);
	bwipe(&c, sizeof c);
}

_Static_assert(sizeof(struct cry_sha1) >= sizeof(br_sha1_context),
	       "struct cry_sha1 too small for br_sha1_context");
_Static_assert(_Alignof(struct cry_sha1) >= _Alignof(br_sha1_context),
	       "struct cry_sha1 under-aligned for br_sha1_context");

static br_sha1_context *s1ctx(struct cry_sha1 *c)
{
	return (br_sha1_context *)(void *)c;
}

void cry_sha1_init(struct cry_sha1 *c)
{
	br_sha1_init(s1ctx(c));
}

void cry_sha1_update(struct cry_sha1 *c, const void *p, size_t n)
{
	br_sha1_update(s1ctx(c), p, n);
}

void cry_sha1_final(struct cry_sha1 *c, uint8_t out[static 20])
{
	br_sha1_out(s1ctx(c), out);
	bwipe(c, sizeof *c);
}

void cry_sha1(const void *p, size_t n, uint8_t out[static 20])
{
	br_sha1_context c;

	br_sha1_init(&c);
	br_sha1_update(&c, p, n);
	br_sha1_out(&c, out);
	bwipe(&c, sizeof c);
}

void cry_hmac_sha256(const uint8_t *key, size_t klen, const void *p, size_t n,
		     uint8_t out[static 32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, key, klen);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, p, n);
	br_hmac_out(&hc, out);
	bwipe(&hc, sizeof hc);
	bwipe(&kc, sizeof kc);
}

int cry_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
		    size_t ikm_len, const uint8_t *info, size_t info_len,
		    uint8_t *out, size_t out_len)
{
	br_hkdf_context hc;

	if (out_len > 255 * 32 || (!out && out_len) || (!ikm && ikm_len) ||
	    (!info && info_len) || (!salt && salt_len))
		return -EINVAL;
	/* RFC 5869 §2.2: an absent salt is HashLen zero bytes; an empty HMAC
	 * key is padded to the same block, so both spellings agree. */
	br_hkdf_init(&hc, &br_sha256_vtable, salt ? (const void *)salt : BR_HKDF_NO_SALT,
		     salt_len);
	br_hkdf_inject(&hc, ikm, ikm_len);
	br_hkdf_flip(&hc);
	br_hkdf_produce(&hc, info, info_len, out, out_len);
	bwipe(&hc, sizeof hc);
	return 0;
}

/*
 * ChaCha20-Poly1305. br_poly1305_ctmul_run() derives the one-time Poly1305
 * key with ChaCha20 block 0 and runs the cipher from block 1 over the data
 * (before the MAC when encrypting, after it when decrypting). To check the
 * tag before a single byte of buf changes, open first runs it with a cipher
 * that produces block 0 only and leaves the data alone: the MAC is then
 * computed over the untouched ciphertext. Only if the tag matches is the
 * real cipher run over buf.
 */
static uint32_t chacha_key_only(const void *key, const void *iv, uint32_t cc,
				void *data, size_t len)
{
	if (cc == 0)
		return br_chacha20_ct_run(key, iv, cc, data, len);
	return cc + (uint32_t)((len + 63) / 64);
}

/* RFC 8439 caps one message at 2^32 - 1 blocks of 64 bytes (block 0 is the
 * MAC key), about 256 GiB; aad is unbounded in practice. */
static int aead_len_ok(size_t len)
{
	return (uint64_t)len <= (((uint64_t)1 << 32) - 2) * 64;
}

int cry_aead_seal(const uint8_t key[static 32], const uint8_t nonce[static 12],
		  const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
		  uint8_t tag[static 16])
{
	if ((!aad && aad_len) || (!buf && len) || !aead_len_ok(len))
		return -EINVAL;
	br_poly1305_ctmul_run(key, nonce, buf, len, aad, aad_len, tag,
			      br_chacha20_ct_run, 1);
	return 0;
}

int cry_aead_open(const uint8_t key[static 32], const uint8_t nonce[static 12],
		  const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
		  const uint8_t tag[static 16])
{
	uint8_t want[16];
	int ok;

	if ((!aad && aad_len) || (!buf && len) || !aead_len_ok(len))
		return -EINVAL;
	br_poly1305_ctmul_run(key, nonce, buf, len, aad, aad_len, want,
			      chacha_key_only, 0);
	ok = cry_ct_eq(want, tag, sizeof want);
	bwipe(want, sizeof want);
	if (!ok)
		return -EBADMSG;
	br_chacha20_ct_run(key, nonce, 1, buf, len);
	return 0;
}

int cry_ct_eq(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint32_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (uint32_t)(x[i] ^ y[i]);
	/* d in [0, 255]: (d - 1) >> 8 has bit 0 set only when d == 0. */
	return (int)(((d - 1) >> 8) & 1);
}
