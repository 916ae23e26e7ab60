/* SPDX-License-Identifier: MIT */
/*
 * cry_mbed: the mbedTLS half of crypto/cry.h, part one: base64 and hex,
 * private keys (RSA-2048 e=65537, EC P-256), PEM in and out, SHA-256
 * signatures. X.509 lives in cry_x509.c and TLS in cry_tls.c; the three are
 * the only files that include mbedTLS headers. Private-key objects and every
 * temporary that held key bytes are wiped before they are freed.
 */
#include "cry.h"
#include "cry_mbed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/base64.h"
#include "mbedtls/cipher.h"
#include "mbedtls/ecp.h"
#include "mbedtls/oid.h"
#include "mbedtls/pem.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/rsa.h"
#include "mbedtls/x509_crt.h"

/* A private key. Only ever on the heap, wiped by cry_key_free(). */
struct cry_key {
	mbedtls_pk_context pk;
};

#define RSA_BITS     2048
#define RSA_EXP      65537
#define RSA_MIN_BITS 2048   /* parse accepts 2048..4096-bit RSA keys */
#define RSA_MAX_BITS 4096
#define PRIV_DER_MAX 2600   /* DER of an RSA-4096 private key is ~2350 bytes */
#define PUB_DER_MAX  600    /* SPKI of an RSA-4096 key is 550 bytes */

/* ---- shared helpers (cry_mbed.h) ---- */

void cry_mb_key_view(const struct cry_key *k, mbedtls_pk_context *view)
{
	*view = k->pk;
}

int cry_mb_err(int rc, int fallback)
{
	switch (rc) {
	case 0:
		return 0;
	case MBEDTLS_ERR_ASN1_ALLOC_FAILED: case MBEDTLS_ERR_MPI_ALLOC_FAILED:
	case MBEDTLS_ERR_PK_ALLOC_FAILED: case MBEDTLS_ERR_X509_ALLOC_FAILED:
	case MBEDTLS_ERR_PEM_ALLOC_FAILED: case MBEDTLS_ERR_ECP_ALLOC_FAILED:
	case MBEDTLS_ERR_MD_ALLOC_FAILED: case MBEDTLS_ERR_CIPHER_ALLOC_FAILED:
		return -ENOMEM;
	case MBEDTLS_ERR_ASN1_BUF_TOO_SMALL: case MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL:
	case MBEDTLS_ERR_MPI_BUFFER_TOO_SMALL: case MBEDTLS_ERR_ECP_BUFFER_TOO_SMALL:
	case MBEDTLS_ERR_OID_BUF_TOO_SMALL: case MBEDTLS_ERR_X509_BUFFER_TOO_SMALL:
		return -ENOSPC;
	}
	/* High-level codes carry the low-level cause in their low 7 bits. */
	if (rc < 0 && (-rc & 0x7f) && (-rc & ~0x7f))
		return cry_mb_err(-(-rc & 0x7f), fallback);
	return fallback;
}

int cry_mb_zdup(const uint8_t *p, size_t len, unsigned char **z, size_t *zlen)
{
	static const char begin[] = "-----BEGIN ";

	*z = NULL;
	if (!p || !len || len == SIZE_MAX)
		return -EINVAL;
	if (!(*z = malloc(len + 1)))
		return -ENOMEM;
	memcpy(*z, p, len);
	(*z)[len] = 0;
	*zlen = memmem(p, len, begin, sizeof begin - 1) ? len + 1 : len;
	return 0;
}

void cry_mb_zfree(unsigned char *z, size_t zlen)
{
	if (!z)
		return;
	mbedtls_platform_zeroize(z, zlen);
	free(z);
}

/* PEM armour around DER, 64 columns. Written straight into out, so that for
 * a private key the only other copy of the secret is the caller's DER. */
static int pem_write(const char *label, const uint8_t *der, size_t n,
		     char *out, size_t cap, size_t *olen)
{
	size_t lines = (n + 47) / 48, need, pos, chunk, w;
	int hl;

	need = 2 * (strlen(label) + 17) + (n + 2) / 3 * 4 + lines + 1;
	if (cap < need)
		return -ENOSPC;
	hl = snprintf(out, cap, "-----BEGIN %s-----\n", label);
	pos = (size_t)hl;
	for (size_t i = 0; i < n; i += chunk) {
		chunk = n - i < 48 ? n - i : 48;
		if (mbedtls_base64_encode((unsigned char *)out + pos, cap - pos, &w,
					  der + i, chunk))
			return -ENOSPC;
		pos += w;
		out[pos++] = '\n';
	}
	pos += (size_t)snprintf(out + pos, cap - pos, "-----END %s-----\n", label);
	if (olen)
		*olen = pos;
	return 0;
}

int cry_mb_pub_pem(mbedtls_pk_context *pk, char *out, size_t cap, size_t *olen)
{
	uint8_t der[PUB_DER_MAX];
	int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof der);

	if (n < 0)
		return cry_mb_err(n, -EIO);
	return pem_write("PUBLIC KEY", der + sizeof der - n, (size_t)n, out, cap, olen);
}

/* ---- encoding ---- */

size_t cry_b64_encoded_len(size_t len)
{
	return (len + 2) / 3 * 4 + 1;
}

int cry_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *olen)
{
	size_t n = 0;
	int rc;

	if ((!in && len) || !out || len > (SIZE_MAX - 1) / 4 * 3 - 2)
		return -EINVAL;
	if (cap < cry_b64_encoded_len(len))
		return -ENOSPC;
	out[0] = 0;   /* mbedTLS writes no NUL for empty input */
	rc = mbedtls_base64_encode((unsigned char *)out, cap, &n, in, len);
	if (rc)
		return rc == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL ? -ENOSPC : -EIO;
	if (olen)
		*olen = n;
	return 0;
}

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Strict shape check before mbedTLS (which tolerates line breaks and
 * spaces): only the alphabet, a multiple of 4, '=' only as the last one or
 * two characters. */
static int b64_shape_ok(const char *in, size_t len)
{
	size_t pad = 0;

	if (len % 4)
		return 0;
	if (len >= 1 && in[len - 1] == '=')
		pad++;
	if (len >= 2 && in[len - 2] == '=')
		pad++;
	if (pad == 1 && len >= 2 && in[len - 2] == '=')
		return 0;
	for (size_t i = 0; i < len - pad; i++)
		if (!b64_char(in[i]))
			return 0;
	return 1;
}

int cry_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *olen)
{
	size_t n = 0;
	int rc;

	if ((!in && len) || (!out && cap) || !b64_shape_ok(in, len))
		return -EINVAL;
	if (len == 0) {
		if (olen)
			*olen = 0;
		return 0;
	}
	rc = mbedtls_base64_decode(out, cap, &n, (const unsigned char *)in, len);
	if (rc == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL)
		return -ENOSPC;
	if (rc)
		return -EINVAL;
	if (olen)
		*olen = n;
	return 0;
}

void cry_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* ---- keys ---- */

/* Only the key types sbs uses: RSA 2048..4096 bits, EC on P-256. */
static int key_type_ok(const mbedtls_pk_context *pk)
{
	if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA) {
		size_t bits = mbedtls_pk_get_bitlen(pk);
		return bits >= RSA_MIN_BITS && bits <= RSA_MAX_BITS;
	}
	if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_ECKEY)
		return mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
	return 0;
}

static struct cry_key *key_alloc(void)
{
	struct cry_key *k = calloc(1, sizeof *k);

	if (k)
		mbedtls_pk_init(&k->pk);
	return k;
}

void cry_key_free(struct cry_key *k)
{
	if (!k)
		return;
	mbedtls_pk_free(&k->pk);   /* zeroizes the bignums and the context */
	mbedtls_platform_zeroize(k, sizeof *k);
	free(k);
}

int cry_key_gen(struct cry_key **out, enum cry_key_type t, cry_rng_fn rng, void *rctx)
{
	struct cry_key *k;
	int rc;

	*out = NULL;
	if (!rng || (t != CRY_KEY_RSA && t != CRY_KEY_EC_P256))
		return -EINVAL;
	if (!(k = key_alloc()))
		return -ENOMEM;
	if (t == CRY_KEY_RSA) {
		rc = mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
		if (!rc)
			rc = mbedtls_rsa_gen_key(mbedtls_pk_rsa(k->pk), rng, rctx,
						 RSA_BITS, RSA_EXP);
	} else {
		rc = mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
		if (!rc)
			rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
						 mbedtls_pk_ec(k->pk), rng, rctx);
	}
	if (rc) {
		cry_key_free(k);
		return cry_mb_err(rc, -EIO);
	}
	*out = k;
	return 0;
}

int cry_key_parse(struct cry_key **out, const uint8_t *p, size_t len)
{
	struct cry_key *k = NULL;
	unsigned char *z = NULL;
	size_t zlen = 0;
	int rc;

	*out = NULL;
	if ((rc = cry_mb_zdup(p, len, &z, &zlen)))
		return rc;
	if (!(k = key_alloc())) {
		rc = -ENOMEM;
		goto out;
	}
	rc = mbedtls_pk_parse_key(&k->pk, z, zlen, NULL, 0);
	if (rc) {
		rc = cry_mb_err(rc, -EINVAL);
		goto out;
	}
	if (!key_type_ok(&k->pk)) {
		rc = -EINVAL;
		goto out;
	}
	*out = k;
	k = NULL;
out:
	cry_key_free(k);
	cry_mb_zfree(z, len + 1);
	return rc;
}

enum cry_key_type cry_key_type(const struct cry_key *k)
{
	return mbedtls_pk_get_type(&k->pk) == MBEDTLS_PK_RSA ? CRY_KEY_RSA : CRY_KEY_EC_P256;
}

/* mbedtls_pk_write_key_pem() leaves the DER on its stack and the base64 in a
 * freed heap block; this writes the DER into a buffer we wipe and the PEM
 * straight into the caller's. */
int cry_key_priv_pem(const struct cry_key *k, char *out, size_t cap, size_t *olen)
{
	uint8_t der[PRIV_DER_MAX];
	mbedtls_pk_context v;
	int n, rc;

	cry_mb_key_view(k, &v);
	n = mbedtls_pk_write_key_der(&v, der, sizeof der);
	if (n < 0) {
		rc = cry_mb_err(n, -EIO);
		goto out;
	}
	rc = pem_write(cry_key_type(k) == CRY_KEY_RSA ? "RSA PRIVATE KEY" : "EC PRIVATE KEY",
		       der + sizeof der - n, (size_t)n, out, cap, olen);
	if (rc && cap)
		mbedtls_platform_zeroize(out, cap);
out:
	mbedtls_platform_zeroize(der, sizeof der);
	return rc;
}

int cry_key_pub_pem(const struct cry_key *k, char *out, size_t cap, size_t *olen)
{
	mbedtls_pk_context v;

	cry_mb_key_view(k, &v);
	return cry_mb_pub_pem(&v, out, cap, olen);
}

int cry_key_pub_der(const struct cry_key *k, uint8_t *out, size_t cap, size_t *olen)
{
	uint8_t der[PUB_DER_MAX];
	mbedtls_pk_context v;
	int n;

	cry_mb_key_view(k, &v);
	n = mbedtls_pk_write_pubkey_der(&v, der, sizeof der);
	if (n < 0)
		return cry_mb_err(n, -EIO);
	if ((size_t)n > cap)
		return -ENOSPC;
	memcpy(out, der + sizeof der - n, (size_t)n);
	*olen = (size_t)n;
	return 0;
}

/* ---- signatures ---- */

int cry_sign_sha256(const struct cry_key *k, const uint8_t hash[static 32],
		    uint8_t *sig, size_t cap, size_t *siglen, cry_rng_fn rng, void *rctx)
{
	uint8_t tmp[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	mbedtls_pk_context v;
	size_t n = 0;
	int rc;

	if (!rng)
		return -EINVAL;
	cry_mb_key_view(k, &v);
	rc = mbedtls_pk_sign(&v, MBEDTLS_MD_SHA256, hash, 32, tmp, &n, rng, rctx);
	if (rc)
		return cry_mb_err(rc, -EIO);
	if (n > cap)
		return -ENOSPC;
	memcpy(sig, tmp, n);
	*siglen = n;
	return 0;
}

static int is_cert_pem(const uint8_t *p, size_t len)
{
	static const char tag[] = "-----BEGIN CERTIFICATE-----";

	return memmem(p, len, tag, sizeof tag - 1) != NULL;
}

int cry_verify_sha256(const uint8_t *pub, size_t publen, const uint8_t hash[static 32],
		      const uint8_t *sig, size_t siglen)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk, *key = &pk;
	unsigned char *z = NULL;
	size_t zlen = 0;
	int rc;

	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&pk);
	if ((rc = cry_mb_zdup(pub, publen, &z, &zlen)))
		goto out;
	if (is_cert_pem(pub, publen)) {
		rc = mbedtls_x509_crt_parse(&crt, z, zlen);
		key = &crt.pk;
	} else {
		rc = mbedtls_pk_parse_public_key(&pk, z, zlen);
	}
	if (rc) {
		rc = cry_mb_err(rc, -EINVAL);
		goto out;
	}
	if (!sig || !siglen ||
	    mbedtls_pk_verify(key, MBEDTLS_MD_SHA256, hash, 32, sig, siglen))
		rc = -EBADMSG;
out:
	cry_mb_zfree(z, publen + 1);
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&crt);
	return rc;
}
