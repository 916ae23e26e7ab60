/* SPDX-License-Identifier: MIT */
/*
 * cry_bear: the BearSSL half of crypto/cry.h. SHA-256 and SHA-1 (one-shot and
 * streaming), HMAC-SHA256, HKDF-SHA256, PBKDF2-HMAC-SHA256, XTS-AES and
 * ChaCha20-Poly1305, all on BearSSL's constant-time, allocation-free
 * implementations (ChaCha20 "ct", Poly1305 "ctmul", AES "ct64": portable, so
 * x86_64 and s390x run the same code), except SHA-256, which runs on the x86
 * SHA extensions where the CPU has them (crypto/cry_shani.c: a non-secret,
 * constant-time function, checked against the same vectors). This is the only
 * file that includes bearssl.h. Every context that saw key material is wiped
 * before it goes out of scope.
 */
#include "cry.h"

#include <errno.h>
#include <string.h>

#include "bearssl.h"
#include "cry_shani.h"

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

/* With SHA-NI (crypto/cry_shani.c) the context is ours, not BearSSL's, and
 * says so in its last word (BearSSL's context ends before it). The choice is
 * made once per process, so a context keeps its kind from init to final. */
struct ni_sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	uint64_t count;        /* bytes hashed */
};
#define NI_TAG 0x53484e49u      /* "SHNI" */
_Static_assert(sizeof(struct ni_sha256) + 8 <= sizeof(struct cry_sha256), "ni_sha256 too big");
_Static_assert(sizeof(br_sha256_context) + 8 <= sizeof(struct cry_sha256), "no room for the tag");

static struct ni_sha256 *nctx(struct cry_sha256 *c)
{
	return (c->opaque[15] == NI_TAG) ? (struct ni_sha256 *)(void *)c : NULL;
}

static void ni_update(struct ni_sha256 *x, const uint8_t *p, size_t n)
{
	size_t have = (size_t)(x->count & 63), k;

	x->count += n;
	if (have) {
		k = 64 - have < n ? 64 - have : n;
		memcpy(x->buf + have, p, k);
		p += k;
		n -= k;
		if (have + k < 64)
			return;
		cry_shani_blocks(x->h, x->buf, 1);
	}
	if (n >= 64) {
		cry_shani_blocks(x->h, p, n / 64);
		p += n & ~(size_t)63;
		n &= 63;
	}
	memcpy(x->buf, p, n);
}

/* FIPS 180-4 5.1.1: 0x80, zeros, the bit length big-endian. */
static void ni_final(struct ni_sha256 *x, uint8_t out[static 32])
{
	uint64_t bits = x->count * 8;
	size_t have = (size_t)(x->count & 63);

	x->buf[have++] = 0x80;
	if (have > 56) {
		memset(x->buf + have, 0, 64 - have);
		cry_shani_blocks(x->h, x->buf, 1);
		have = 0;
	}
	memset(x->buf + have, 0, 56 - have);
	for (int i = 0; i < 8; i++)
		x->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	cry_shani_blocks(x->h, x->buf, 1);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(x->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(x->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(x->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)x->h[i];
	}
}

void cry_sha256_init(struct cry_sha256 *c)
{
	/* FIPS 180-4 5.3.3 */
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memset(c, 0, sizeof *c);
	if (cry_shani_ok()) {
		memcpy(((struct ni_sha256 *)(void *)c)->h, iv, sizeof iv);
		c->opaque[15] = NI_TAG;
		return;
	}
	br_sha256_init(sctx(c));
}

void cry_sha256_update(struct cry_sha256 *c, const void *p, size_t n)
{
	struct ni_sha256 *x = nctx(c);

	if (x)
		ni_update(x, p, n);
	else
		br_sha256_update(sctx(c), p, n);
}

/* Writes the digest and wipes the context: it may have hashed key material.
 * The context must be re-initialised before reuse. */
void cry_sha256_final(struct cry_sha256 *c, uint8_t out[static 32])
{
	struct ni_sha256 *x = nctx(c);

	if (x)
		ni_final(x, out);
	else
		br_sha256_out(sctx(c), out);
	bwipe(c, sizeof *c);
}

void cry_sha256(const void *p, size_t n, uint8_t out[static 32])
{
	struct cry_sha256 c;

	cry_sha256_init(&c);
	cry_sha256_update(&c, p, n);
	cry_sha256_final(&c, out);
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

_Static_assert(sizeof(struct cry_md5) >= sizeof(br_md5_context),
	       "struct cry_md5 too small for br_md5_context");
_Static_assert(_Alignof(struct cry_md5) >= _Alignof(br_md5_context),
	       "struct cry_md5 under-aligned for br_md5_context");

static br_md5_context *m5ctx(struct cry_md5 *c)
{
	return (br_md5_context *)(void *)c;
}

void cry_md5_init(struct cry_md5 *c)
{
	br_md5_init(m5ctx(c));
}

void cry_md5_update(struct cry_md5 *c, const void *p, size_t n)
{
	br_md5_update(m5ctx(c), p, n);
}

void cry_md5_final(struct cry_md5 *c, uint8_t out[static 16])
{
	br_md5_out(m5ctx(c), out);
	bwipe(c, sizeof *c);
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

int cry_pbkdf2_sha256(const uint8_t *pass, size_t plen, const uint8_t *salt,
		      size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len)
{
	br_hmac_key_context kc;
	br_hmac_context hc;
	uint8_t u[32], t[32], ctr[4];
	uint32_t blk = 1;

	/* RFC 8018 caps dkLen at (2^32 - 1) * hLen. */
	if (!iterations || !out || !out_len || (!pass && plen) || (!salt && salt_len) ||
	    (uint64_t)out_len > (uint64_t)0xffffffffu * 32)
		return -EINVAL;
	/* The key context holds the padded password hashed into the inner and
	 * outer states once; every HMAC below restarts from it. */
	br_hmac_key_init(&kc, &br_sha256_vtable, pass, plen);
	for (size_t done = 0; done < out_len; blk++) {
		size_t n = out_len - done < 32 ? out_len - done : 32;

		ctr[0] = (uint8_t)(blk >> 24);
		ctr[1] = (uint8_t)(blk >> 16);
		ctr[2] = (uint8_t)(blk >> 8);
		ctr[3] = (uint8_t)blk;
		br_hmac_init(&hc, &kc, 0);
		br_hmac_update(&hc, salt, salt_len);
		br_hmac_update(&hc, ctr, sizeof ctr);
		br_hmac_out(&hc, u);
		memcpy(t, u, sizeof t);
		for (uint32_t i = 1; i < iterations; i++) {
			br_hmac_init(&hc, &kc, 0);
			br_hmac_update(&hc, u, sizeof u);
			br_hmac_out(&hc, u);
			for (size_t j = 0; j < sizeof t; j++)
				t[j] ^= u[j];
		}
		memcpy(out + done, t, n);
		done += n;
	}
	bwipe(u, sizeof u);
	bwipe(t, sizeof t);
	bwipe(&hc, sizeof hc);
	bwipe(&kc, sizeof kc);
	return 0;
}

/*
 * XTS-AES (IEEE 1619-2007 5.3). BearSSL has no XTS and no public raw block
 * call, but CBC over one block is the block cipher: CBC-encrypting P with
 * IV = T yields E(P ^ T). Encryption runs block by block that way.
 * Decryption is batched through CBC-decrypt, which the ct64 code runs four
 * blocks at a time: over Y_j = C_j ^ T_j with IV = T_0 it yields
 * O_j = D(Y_j) ^ Y_(j-1) (O_0 = D(Y_0) ^ T_0 = P_0), so
 * P_j = O_j ^ Y_(j-1) ^ T_j, with Y kept in a copy.
 */
#define XTS_MAX_UNIT 4096

/* T <- T * alpha in GF(2^128), little-endian (IEEE 1619 5.2), no branch on T. */
static void xts_mul_alpha(uint8_t t[16])
{
	unsigned carry = 0;

	for (int i = 0; i < 16; i++) {
		unsigned b = t[i];

		t[i] = (uint8_t)((b << 1) | carry);
		carry = b >> 7;
	}
	t[0] ^= (uint8_t)(0x87u & (0u - carry));
}

static void xts_xor16(uint8_t *d, const uint8_t *s)
{
	for (int i = 0; i < 16; i++)
		d[i] ^= s[i];
}

/* Fills tw with unit/16 consecutive tweaks of data unit dus. */
static void xts_tweaks(const br_aes_ct64_cbcenc_keys *k2, uint64_t dus,
		       uint8_t *tw, size_t unit)
{
	uint8_t iv[16] = { 0 };

	for (int i = 0; i < 8; i++)
		tw[i] = (uint8_t)(dus >> (8 * i));
	memset(tw + 8, 0, 8);
	br_aes_ct64_cbcenc_run(k2, iv, tw, 16);
	for (size_t off = 16; off < unit; off += 16) {
		memcpy(tw + off, tw + off - 16, 16);
		xts_mul_alpha(tw + off);
	}
	bwipe(iv, sizeof iv);
}

static void xts_enc_unit(const br_aes_ct64_cbcenc_keys *k1, const uint8_t *tw,
			 uint8_t *p, size_t unit)
{
	uint8_t iv[16];

	for (size_t off = 0; off < unit; off += 16) {
		memcpy(iv, tw + off, 16);
		br_aes_ct64_cbcenc_run(k1, iv, p + off, 16);
		xts_xor16(p + off, tw + off);
	}
	bwipe(iv, sizeof iv);
}

static void xts_dec_unit(const br_aes_ct64_cbcdec_keys *k1, const uint8_t *tw,
			 uint8_t *p, size_t unit, uint8_t *ycopy)
{
	uint8_t iv[16];

	for (size_t off = 0; off < unit; off += 16)
		xts_xor16(p + off, tw + off);
	memcpy(ycopy, p, unit);
	memcpy(iv, tw, 16);
	br_aes_ct64_cbcdec_run(k1, iv, p, unit);
	for (size_t off = 16; off < unit; off += 16) {
		xts_xor16(p + off, ycopy + off - 16);
		xts_xor16(p + off, tw + off);
	}
	bwipe(iv, sizeof iv);
}

int cry_aes_xts(const uint8_t *key, size_t klen, uint64_t dus, size_t unit,
		uint8_t *buf, size_t len, int encrypt)
{
	br_aes_ct64_cbcenc_keys k1e, k2;
	br_aes_ct64_cbcdec_keys k1d;
	uint8_t tw[XTS_MAX_UNIT], ycopy[XTS_MAX_UNIT];
	size_t half = klen / 2;

	if (!key || (klen != 32 && klen != 64) || unit < 16 || unit > XTS_MAX_UNIT ||
	    unit % 16 || len % unit || (!buf && len))
		return -EINVAL;
	br_aes_ct64_cbcenc_init(&k2, key + half, half);
	if (encrypt)
		br_aes_ct64_cbcenc_init(&k1e, key, half);
	else
		br_aes_ct64_cbcdec_init(&k1d, key, half);
	for (size_t off = 0; off < len; off += unit, dus++) {
		xts_tweaks(&k2, dus, tw, unit);
		if (encrypt)
			xts_enc_unit(&k1e, tw, buf + off, unit);
		else
			xts_dec_unit(&k1d, tw, buf + off, unit, ycopy);
	}
	bwipe(tw, sizeof tw);
	bwipe(ycopy, sizeof ycopy);
	bwipe(&k1e, sizeof k1e);
	bwipe(&k1d, sizeof k1d);
	bwipe(&k2, sizeof k2);
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
