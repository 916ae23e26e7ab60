/* SPDX-License-Identifier: MIT */
/*
 * Tests of ECDSA through crypto/cry.h, which since crypto/cry_p256.c runs on
 * BearSSL for P-256 and on mbedTLS's generic code for other curves:
 * tests/vectors/p256_kat.txt (written by p256_gen.sh with the openssl CLI)
 * holds the RFC 6979 A.2.5 deterministic signatures, which cry_sign_sha256
 * must reproduce byte for byte, openssl-made P-256 and P-384 signatures that
 * must verify, and invalid ones that must not (r or s zero, n, off by one,
 * swapped, wrong hash, wrong key, public point off the curve). Then
 * sign/verify round trips with fresh keys. ECDH is covered by the TLS
 * handshakes of test_crypto and by it_p256.sh (openssl s_client per group).
 */
#include "cry.h"
#include "tutil.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_MAX  160
#define PEM_MAX  2048
#define LINE_MAX_FIELDS 6

/* Reads tests/vectors/<name> into a NUL-terminated heap buffer. */
static char *read_vector(const char *name, size_t *len)
{
	uint8_t *data = NULL;

	if (util_read_file(tu_vector(name), 1 << 20, &data, len) != 0)
		return NULL;
	data[*len] = 0;   /* util_read_file allocates one byte more */
	return (char *)data;
}

static int split(char *line, char **f)
{
	char *save = NULL;
	int n = 0;

	for (char *t = strtok_r(line, " ", &save); t && n < LINE_MAX_FIELDS;
	     t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	return n;
}

/* "sign HASH DER": the RFC 6979 key must sign HASH as exactly DER. */
static void kat_sign(const struct cry_key *k, char **f)
{
	uint8_t hash[32], want[SIG_MAX], sig[SIG_MAX];
	long wlen;
	size_t slen = 0;

	CHECK(tu_unhex(f[1], hash, sizeof hash) == 32);
	wlen = tu_unhex(f[2], want, sizeof want);
	CHECK(wlen > 0);
	CHECK(cry_sign_sha256(k, hash, sig, sizeof sig, &slen, util_rng, NULL) == 0);
	CHECK(slen == (size_t)wlen && memcmp(sig, want, slen) == 0);
	/* deterministic: the same again, and it verifies */
	CHECK(cry_sign_sha256(k, hash, sig, sizeof sig, &slen, util_rng, NULL) == 0);
	CHECK(slen == (size_t)wlen && memcmp(sig, want, slen) == 0);
}

/* "ok|bad PUBFILE HASH DER [why]". */
static void kat_verify(char **f, int good)
{
	uint8_t hash[32], sig[SIG_MAX];
	size_t plen = 0;
	char *pub = read_vector(f[1], &plen);
	long slen;
	int rc;

	CHECK(pub != NULL);
	CHECK(tu_unhex(f[2], hash, sizeof hash) == 32);
	slen = tu_unhex(f[3], sig, sizeof sig);
	CHECK(slen > 0);
	if (!pub || slen <= 0)
		goto out;
	rc = cry_verify_sha256((const uint8_t *)pub, plen, hash, sig, (size_t)slen);
	if (good ? rc != 0 : rc == 0)
		fprintf(stderr, "p256_kat: %s %s: rc %d\n", f[0], f[4] ? f[4] : "", rc);
	CHECK(good ? rc == 0 : (rc == -EBADMSG || rc == -EINVAL));
out:
	free(pub);
}

static void test_kat(void)
{
	size_t len = 0, klen = 0;
	char *data = read_vector("p256_kat.txt", &len);
	char *kpem = read_vector("p256_rfc6979.key", &klen);
	struct cry_key *k = NULL;
	char *save = NULL;
	int nsign = 0, nok = 0, nbad = 0;

	CHECK(data && kpem);
	if (!data || !kpem)
		goto out;
	CHECK(cry_key_parse(&k, (const uint8_t *)kpem, klen) == 0);
	CHECK(k && cry_key_type(k) == CRY_KEY_EC_P256);
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[LINE_MAX_FIELDS] = { 0 };
		int n;

		if (line[0] == '#')
			continue;
		n = split(line, f);
		if (n == 3 && strcmp(f[0], "sign") == 0 && k) {
			kat_sign(k, f);
			nsign++;
		} else if (n >= 4 && (strcmp(f[0], "ok") == 0 || strcmp(f[0], "bad") == 0)) {
			kat_verify(f, f[0][0] == 'o');
			*(f[0][0] == 'o' ? &nok : &nbad) += 1;
		} else {
			CHECK(!"unknown line in p256_kat.txt");
		}
	}
	CHECK(nsign == 2 && nok == 11 && nbad == 17);
out:
	cry_key_free(k);
	if (kpem)
		wipe_free(kpem, klen);
	free(data);
}

/* Fresh keys: each signature verifies under its own key only, and any
 * one-bit change of hash or signature is rejected. */
static void test_roundtrip(void)
{
	struct cry_key *a = NULL, *b = NULL;
	char apub[PEM_MAX], bpub[PEM_MAX];
	size_t alen = 0, blen = 0;

	CHECK(cry_key_gen(&a, CRY_KEY_EC_P256, util_rng, NULL) == 0);
	CHECK(cry_key_gen(&b, CRY_KEY_EC_P256, util_rng, NULL) == 0);
	if (!a || !b)
		goto out;
	CHECK(cry_key_pub_pem(a, apub, sizeof apub, &alen) == 0);
	CHECK(cry_key_pub_pem(b, bpub, sizeof bpub, &blen) == 0);
	for (int i = 0; i < 32; i++) {
		uint8_t hash[32], sig[SIG_MAX];
		size_t slen = 0;

		CHECK(util_rng(NULL, hash, sizeof hash) == 0);
		if (i == 0)
			memset(hash, 0, sizeof hash);   /* e = 0: the generic verify path */
		CHECK(cry_sign_sha256(a, hash, sig, sizeof sig, &slen, util_rng, NULL) == 0);
		CHECK(cry_verify_sha256((uint8_t *)apub, alen, hash, sig, slen) == 0);
		CHECK(cry_verify_sha256((uint8_t *)bpub, blen, hash, sig, slen) == -EBADMSG);
		hash[i] ^= 0x80;
		CHECK(cry_verify_sha256((uint8_t *)apub, alen, hash, sig, slen) == -EBADMSG);
		hash[i] ^= 0x80;
		sig[slen - 1 - (size_t)i % 8] ^= 1;
		CHECK(cry_verify_sha256((uint8_t *)apub, alen, hash, sig, slen) == -EBADMSG);
	}
out:
	cry_key_free(a);
	cry_key_free(b);
}

int main(void)
{
	test_kat();
	test_roundtrip();
	return tu_done("test_p256");
}
