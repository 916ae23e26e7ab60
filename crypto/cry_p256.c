/* SPDX-License-Identifier: MIT */
/*
 * cry_p256: mbedTLS's ECDSA sign/verify and ECDH gen_public/compute_shared,
 * replaced through the documented MBEDTLS_{ECDSA_SIGN,ECDSA_VERIFY,
 * ECDH_GEN_PUBLIC,ECDH_COMPUTE_SHARED}_ALT hooks (crypto/mbedtls_config.h),
 * so that NIST P-256 runs on BearSSL's specialised constant-time code while
 * every other curve (P-384, X25519) takes the same generic mbedTLS ecp path
 * the library itself would. mbedTLS keeps parsing keys, certificates and
 * handshake messages; this file only converts mbedtls_mpi/mbedtls_ecp_point
 * values to BearSSL's byte formats (big-endian scalars, 65-byte uncompressed
 * points) and back. It is the one file that includes both libraries' headers.
 *
 * Security argument. Every P-256 operation on a secret scalar (ECDH private
 * keys, ECDSA private keys and nonces) is done by BearSSL's p256_m31 and i31
 * code, which is constant-time (no secret-dependent branches or memory
 * indices; 32x32->64 multiplications only, constant-time on x86_64 and
 * s390x). Inputs are validated exactly as mbedTLS validates them before its
 * own arithmetic: peer points with mbedtls_ecp_check_pubkey (affine, on the
 * curve; P-256 has cofactor 1, so on the curve means in the prime-order
 * group), private scalars in [1, n-1], ECDSA r and s in [1, n-1]. Byte copies
 * of private scalars and of the ECDH shared point are wiped with
 * mbedtls_platform_zeroize before return. Randomness: ECDH private keys come
 * from the caller's f_rng through mbedtls_ecp_gen_privkey, as before. ECDSA
 * P-256 nonces are derived by BearSSL per RFC 6979 (HMAC-DRBG over the
 * private key and the hash, HMAC with the hash function matching the hash
 * length), so f_rng is not used for them; because the config enables
 * MBEDTLS_ECDSA_DETERMINISTIC, mbedTLS signed with RFC 6979 nonces before
 * too, and signatures over SHA-256 hashes are bit-for-bit unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mbedtls/bignum.h"
#include "mbedtls/ecdh.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/ecp.h"
#include "mbedtls/platform_util.h"

#include "bearssl.h"

#define P256_SCALAR 32   /* bytes of a P-256 scalar or coordinate */
#define P256_POINT  65   /* 0x04 || X || Y */

#define CHK(f) do { if ((ret = (f)) != 0) goto out; } while (0)

#if defined(MBEDTLS_ECDSA_SIGN_ALT) || defined(MBEDTLS_ECDSA_VERIFY_ALT) || \
    defined(MBEDTLS_ECDH_GEN_PUBLIC_ALT) || defined(MBEDTLS_ECDH_COMPUTE_SHARED_ALT)
/* BearSSL 0.6 (the Debian source we build) offers P-256 as p256_m15 and
 * p256_m31; the faster p256_m62/m64 (64x64->128 multiplies) only exist in
 * later BearSSL. m31 is the fastest constant-time choice here. */
static const br_ec_impl *p256_impl(void)
{
	return &br_ec_p256_m31;
}

static int is_p256(const mbedtls_ecp_group *grp)
{
	return grp->id == MBEDTLS_ECP_DP_SECP256R1;
}
#endif

#if defined(MBEDTLS_ECDSA_SIGN_ALT) || defined(MBEDTLS_ECDSA_VERIFY_ALT)
/* 1 if 1 <= x <= n - 1 (SEC1 3.2 for private keys, 4.1.4 step 1 for r, s). */
static int in_range(const mbedtls_ecp_group *grp, const mbedtls_mpi *x)
{
	return mbedtls_mpi_cmp_int(x, 1) >= 0 && mbedtls_mpi_cmp_mpi(x, &grp->N) < 0;
}

/* SEC1 4.1.3 step 5 / 4.1.4 step 3: the leftmost nbits bits of the hash as
 * an integer, reduced once modulo n (it is below 2^nbits < 2n). */
static int derive_e(const mbedtls_ecp_group *grp, mbedtls_mpi *e,
		    const unsigned char *buf, size_t blen)
{
	size_t nbytes = (grp->nbits + 7) / 8;
	size_t use = blen < nbytes ? blen : nbytes;
	int ret;

	CHK(mbedtls_mpi_read_binary(e, buf, use));
	if (use * 8 > grp->nbits)
		CHK(mbedtls_mpi_shift_r(e, use * 8 - grp->nbits));
	if (mbedtls_mpi_cmp_mpi(e, &grp->N) >= 0)
		CHK(mbedtls_mpi_sub_mpi(e, e, &grp->N));
out:
	return ret;
}
#endif

/* ---- ECDSA verify ---- */
#if defined(MBEDTLS_ECDSA_VERIFY_ALT)
/* Generic SEC1 4.1.4 steps 4-8 on mbedTLS's ecp code: R = (e/s) G + (r/s) Q,
 * valid iff R is not zero and x(R) mod n == r. Q is checked by muladd. */
static int generic_verify(mbedtls_ecp_group *grp, const mbedtls_mpi *e,
			  const mbedtls_ecp_point *Q, const mbedtls_mpi *r,
			  const mbedtls_mpi *s)
{
	mbedtls_mpi s_inv, u1, u2;
	mbedtls_ecp_point R;
	int ret;

	mbedtls_mpi_init(&s_inv);
	mbedtls_mpi_init(&u1);
	mbedtls_mpi_init(&u2);
	mbedtls_ecp_point_init(&R);
	CHK(mbedtls_mpi_inv_mod(&s_inv, s, &grp->N));
	CHK(mbedtls_mpi_mul_mpi(&u1, e, &s_inv));
	CHK(mbedtls_mpi_mod_mpi(&u1, &u1, &grp->N));
	CHK(mbedtls_mpi_mul_mpi(&u2, r, &s_inv));
	CHK(mbedtls_mpi_mod_mpi(&u2, &u2, &grp->N));
	CHK(mbedtls_ecp_muladd(grp, &R, &u1, &grp->G, &u2, Q));
	if (mbedtls_ecp_is_zero(&R)) {
		ret = MBEDTLS_ERR_ECP_VERIFY_FAILED;
		goto out;
	}
	CHK(mbedtls_mpi_mod_mpi(&R.X, &R.X, &grp->N));
	if (mbedtls_mpi_cmp_mpi(&R.X, r) != 0)
		ret = MBEDTLS_ERR_ECP_VERIFY_FAILED;
out:
	mbedtls_ecp_point_free(&R);
	mbedtls_mpi_free(&u2);
	mbedtls_mpi_free(&u1);
	mbedtls_mpi_free(&s_inv);
	return ret;
}

/* P-256 on BearSSL. Everything here is public; r and s are already in range
 * and e != 0 (BearSSL's muladd rejects a zero multiplier, SEC1 does not). */
static int p256_verify(const mbedtls_ecp_group *grp, const unsigned char *buf,
		       size_t blen, const mbedtls_ecp_point *Q,
		       const mbedtls_mpi *r, const mbedtls_mpi *s)
{
	unsigned char q[P256_POINT], sig[2 * P256_SCALAR];
	br_ec_public_key pk = { BR_EC_secp256r1, q, sizeof q };
	size_t qlen = 0;
	int ret;

	CHK(mbedtls_ecp_check_pubkey(grp, Q));
	CHK(mbedtls_ecp_point_write_binary(grp, Q, MBEDTLS_ECP_PF_UNCOMPRESSED,
					   &qlen, q, sizeof q));
	if (qlen != sizeof q)
		return MBEDTLS_ERR_ECP_INVALID_KEY;
	CHK(mbedtls_mpi_write_binary(r, sig, P256_SCALAR));
	CHK(mbedtls_mpi_write_binary(s, sig + P256_SCALAR, P256_SCALAR));
	if (!br_ecdsa_i31_vrfy_raw(p256_impl(), buf, blen, &pk, sig, sizeof sig))
		ret = MBEDTLS_ERR_ECP_VERIFY_FAILED;
out:
	return ret;
}

int mbedtls_ecdsa_verify(mbedtls_ecp_group *grp, const unsigned char *buf,
			 size_t blen, const mbedtls_ecp_point *Q,
			 const mbedtls_mpi *r, const mbedtls_mpi *s)
{
	mbedtls_mpi e;
	int ret;

	if (grp == NULL || Q == NULL || r == NULL || s == NULL ||
	    (buf == NULL && blen != 0))
		return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	if (!mbedtls_ecdsa_can_do(grp->id) || grp->N.p == NULL)
		return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	if (!in_range(grp, r) || !in_range(grp, s))
		return MBEDTLS_ERR_ECP_VERIFY_FAILED;
	mbedtls_mpi_init(&e);
	CHK(derive_e(grp, &e, buf, blen));
	if (is_p256(grp) && mbedtls_mpi_cmp_int(&e, 0) != 0)
		ret = p256_verify(grp, buf, blen, Q, r, s);
	else
		ret = generic_verify(grp, &e, Q, r, s);
out:
	mbedtls_mpi_free(&e);
	return ret;
}
#endif /* MBEDTLS_ECDSA_VERIFY_ALT */

/* ---- ECDSA sign ---- */
#if defined(MBEDTLS_ECDSA_SIGN_ALT)
/* ecdsa.c defines this only without SIGN_ALT; same answer as the library. */
int mbedtls_ecdsa_can_do(mbedtls_ecp_group_id gid)
{
	switch (gid) {
#if defined(MBEDTLS_ECP_DP_CURVE25519_ENABLED)
	case MBEDTLS_ECP_DP_CURVE25519: return 0;
#endif
#if defined(MBEDTLS_ECP_DP_CURVE448_ENABLED)
	case MBEDTLS_ECP_DP_CURVE448: return 0;
#endif
	default: return 1;
	}
}

/* Generic SEC1 4.1.3 on mbedTLS's ecp code: k from f_rng (an RFC 6979
 * HMAC-DRBG when called from mbedTLS's deterministic wrapper), r = x(kG) mod
 * n, s = (e + r d) / k mod n computed as t (e + r d) / (t k) with a random
 * blinding t against timing leaks of the inversion; retried while r or s is 0. */
static int generic_sign(mbedtls_ecp_group *grp, mbedtls_mpi *r, mbedtls_mpi *s,
			const mbedtls_mpi *d, const unsigned char *buf, size_t blen,
			int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	mbedtls_ecp_point R;
	mbedtls_mpi k, e, t;
	int ret, sign_tries = 0, key_tries;

	mbedtls_ecp_point_init(&R);
	mbedtls_mpi_init(&k);
	mbedtls_mpi_init(&e);
	mbedtls_mpi_init(&t);
	do {
		ret = MBEDTLS_ERR_ECP_RANDOM_FAILED;
		if (sign_tries++ > 10)
			goto out;
		key_tries = 0;
		do {
			ret = MBEDTLS_ERR_ECP_RANDOM_FAILED;
			if (key_tries++ > 10)
				goto out;
			CHK(mbedtls_ecp_gen_privkey(grp, &k, f_rng, p_rng));
			CHK(mbedtls_ecp_mul(grp, &R, &k, &grp->G, f_rng, p_rng));
			CHK(mbedtls_mpi_mod_mpi(r, &R.X, &grp->N));
		} while (mbedtls_mpi_cmp_int(r, 0) == 0);
		CHK(derive_e(grp, &e, buf, blen));
		CHK(mbedtls_ecp_gen_privkey(grp, &t, f_rng, p_rng));
		CHK(mbedtls_mpi_mul_mpi(s, r, d));
		CHK(mbedtls_mpi_add_mpi(&e, &e, s));
		CHK(mbedtls_mpi_mul_mpi(&e, &e, &t));
		CHK(mbedtls_mpi_mul_mpi(&k, &k, &t));
		CHK(mbedtls_mpi_mod_mpi(&k, &k, &grp->N));
		CHK(mbedtls_mpi_inv_mod(s, &k, &grp->N));
		CHK(mbedtls_mpi_mul_mpi(s, s, &e));
		CHK(mbedtls_mpi_mod_mpi(s, s, &grp->N));
	} while (mbedtls_mpi_cmp_int(s, 0) == 0);
out:
	mbedtls_mpi_free(&t);     /* mbedtls_mpi_free wipes the limbs */
	mbedtls_mpi_free(&e);
	mbedtls_mpi_free(&k);
	mbedtls_ecp_point_free(&R);
	return ret;
}

/* The hash whose HMAC BearSSL's RFC 6979 uses, chosen by the hash length
 * (TLS 1.2 and X.509 sign SHA-1/224/256/384/512 digests); NULL: unknown
 * length, use the generic path. */
static const br_hash_class *hash_for_len(size_t blen)
{
	switch (blen) {
	case br_sha1_SIZE:   return &br_sha1_vtable;
	case br_sha224_SIZE: return &br_sha224_vtable;
	case br_sha256_SIZE: return &br_sha256_vtable;
	case br_sha384_SIZE: return &br_sha384_vtable;
	case br_sha512_SIZE: return &br_sha512_vtable;
	default:             return NULL;
	}
}

#define SIGN_RETRY 1   /* r or s came out 0 (probability ~2^-256) */

/* P-256 on BearSSL. d is in [1, n-1]; buf holds hf's output length. */
static int p256_sign(mbedtls_mpi *r, mbedtls_mpi *s, const mbedtls_mpi *d,
		     const br_hash_class *hf, const unsigned char *buf)
{
	unsigned char x[P256_SCALAR], sig[2 * P256_SCALAR];
	br_ec_private_key sk = { BR_EC_secp256r1, x, sizeof x };
	int ret;

	CHK(mbedtls_mpi_write_binary(d, x, sizeof x));
	if (br_ecdsa_i31_sign_raw(p256_impl(), hf, buf, &sk, sig) != sizeof sig) {
		ret = MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
		goto out;
	}
	CHK(mbedtls_mpi_read_binary(r, sig, P256_SCALAR));
	CHK(mbedtls_mpi_read_binary(s, sig + P256_SCALAR, P256_SCALAR));
	if (mbedtls_mpi_cmp_int(r, 0) == 0 || mbedtls_mpi_cmp_int(s, 0) == 0)
		ret = SIGN_RETRY;
out:
	mbedtls_platform_zeroize(x, sizeof x);
	mbedtls_platform_zeroize(sig, sizeof sig);
	return ret;
}

int mbedtls_ecdsa_sign(mbedtls_ecp_group *grp, mbedtls_mpi *r, mbedtls_mpi *s,
		       const mbedtls_mpi *d, const unsigned char *buf, size_t blen,
		       int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	const br_hash_class *hf = hash_for_len(blen);
	int ret;

	if (grp == NULL || r == NULL || s == NULL || d == NULL || f_rng == NULL ||
	    (buf == NULL && blen != 0))
		return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	if (!mbedtls_ecdsa_can_do(grp->id) || grp->N.p == NULL)
		return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	if (!in_range(grp, d))
		return MBEDTLS_ERR_ECP_INVALID_KEY;
	if (is_p256(grp) && hf != NULL) {
		ret = p256_sign(r, s, d, hf, buf);
		if (ret != SIGN_RETRY)
			return ret;
	}
	return generic_sign(grp, r, s, d, buf, blen, f_rng, p_rng);
}
#endif /* MBEDTLS_ECDSA_SIGN_ALT */

/* ---- ECDH ---- */
#if defined(MBEDTLS_ECDH_GEN_PUBLIC_ALT)
/* Q = d G on BearSSL's precomputed-table comb; d is in [1, n-1]. */
static int p256_mulgen(const mbedtls_ecp_group *grp, mbedtls_ecp_point *Q,
		       const mbedtls_mpi *d)
{
	unsigned char x[P256_SCALAR], q[P256_POINT];
	int ret;

	CHK(mbedtls_mpi_write_binary(d, x, sizeof x));
	if (p256_impl()->mulgen(q, x, sizeof x, BR_EC_secp256r1) != sizeof q) {
		ret = MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
		goto out;
	}
	CHK(mbedtls_ecp_point_read_binary(grp, Q, q, sizeof q));
out:
	mbedtls_platform_zeroize(x, sizeof x);
	return ret;
}

int mbedtls_ecdh_gen_public(mbedtls_ecp_group *grp, mbedtls_mpi *d,
			    mbedtls_ecp_point *Q,
			    int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	int ret;

	if (grp == NULL || d == NULL || Q == NULL || f_rng == NULL)
		return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	ret = mbedtls_ecp_gen_privkey(grp, d, f_rng, p_rng);
	if (ret != 0)
		return ret;
	if (is_p256(grp))
		return p256_mulgen(grp, Q, d);
	return mbedtls_ecp_mul(grp, Q, d, &grp->G, f_rng, p_rng);
}
#endif /* MBEDTLS_ECDH_GEN_PUBLIC_ALT */

#if defined(MBEDTLS_ECDH_COMPUTE_SHARED_ALT)
/* SEC1 3.3.1 on mbedTLS's ecp code (which checks d and Q itself). */
static int generic_shared(mbedtls_ecp_group *grp, mbedtls_mpi *z,
			  const mbedtls_ecp_point *Q, const mbedtls_mpi *d,
			  int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	mbedtls_ecp_point P;
	int ret;

	mbedtls_ecp_point_init(&P);
	CHK(mbedtls_ecp_mul(grp, &P, d, Q, f_rng, p_rng));
	if (mbedtls_ecp_is_zero(&P)) {
		ret = MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
		goto out;
	}
	CHK(mbedtls_mpi_copy(z, &P.X));
out:
	mbedtls_ecp_point_free(&P);   /* wipes the shared point */
	return ret;
}

/* z = x(d Q) on BearSSL. Checked first, as mbedtls_ecp_mul checks: d in
 * [1, n-1] and Q affine on the curve (hence of order n: the product is never
 * the point at infinity). */
static int p256_shared(const mbedtls_ecp_group *grp, mbedtls_mpi *z,
		       const mbedtls_ecp_point *Q, const mbedtls_mpi *d)
{
	unsigned char x[P256_SCALAR], p[P256_POINT];
	size_t plen = 0;
	int ret;

	CHK(mbedtls_ecp_check_privkey(grp, d));
	CHK(mbedtls_ecp_check_pubkey(grp, Q));
	CHK(mbedtls_ecp_point_write_binary(grp, Q, MBEDTLS_ECP_PF_UNCOMPRESSED,
					   &plen, p, sizeof p));
	CHK(mbedtls_mpi_write_binary(d, x, sizeof x));
	if (plen != sizeof p || !p256_impl()->mul(p, sizeof p, x, sizeof x, BR_EC_secp256r1)) {
		ret = MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
		goto out;
	}
	CHK(mbedtls_mpi_read_binary(z, p + 1, P256_SCALAR));
out:
	mbedtls_platform_zeroize(x, sizeof x);
	mbedtls_platform_zeroize(p, sizeof p);
	return ret;
}

int mbedtls_ecdh_compute_shared(mbedtls_ecp_group *grp, mbedtls_mpi *z,
				const mbedtls_ecp_point *Q, const mbedtls_mpi *d,
				int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	if (grp == NULL || z == NULL || Q == NULL || d == NULL)
		return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	if (is_p256(grp))
		return p256_shared(grp, z, Q, d);
	return generic_shared(grp, z, Q, d, f_rng, p_rng);
}
#endif /* MBEDTLS_ECDH_COMPUTE_SHARED_ALT */
