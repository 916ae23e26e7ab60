/* SPDX-License-Identifier: MIT */
/*
 * Tests of crypto/cry.h: known-answer vectors (tests/vectors/crypto_rfc.txt
 * from the RFCs and NIST, crypto_node.txt from Node/OpenSSL; both written by
 * tests/vectors/crypto_gen.js), encodings, keys and signatures, CSRs and
 * certificates, and TLS 1.2 engines talking to each other over a socketpair.
 */
#include "cry.h"
#include "tutil.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- vector files ---- */

#define MAXF 8
struct vec {
	int nf;
	uint8_t *f[MAXF];
	size_t len[MAXF];
};

static void vec_free(struct vec *v)
{
	for (int i = 0; i < v->nf; i++)
		free(v->f[i]);
	v->nf = 0;
}

/* Splits one line into hex fields after the kind word. */
static int vec_parse(char *line, struct vec *v)
{
	char *save = NULL, *tok;

	v->nf = 0;
	strtok_r(line, " ", &save);
	while ((tok = strtok_r(NULL, " ", &save)) && v->nf < MAXF) {
		size_t n = strcmp(tok, "-") ? strlen(tok) / 2 : 0;
		uint8_t *b = malloc(n + 1);
		if (!b)
			return -1;
		if (n && tu_unhex(tok, b, n) != (long)n) {
			free(b);
			return -1;
		}
		b[n] = 0;
		v->f[v->nf] = b;
		v->len[v->nf++] = n;
	}
	return 0;
}

static void kat_sha256(const struct vec *v)
{
	uint8_t out[32];
	struct cry_sha256 c;

	cry_sha256(v->f[0], v->len[0], out);
	CHECK(memcmp(out, v->f[1], 32) == 0);
	/* streaming, split at a few points */
	for (size_t cut = 0; cut <= v->len[0]; cut += 1 + v->len[0] / 7) {
		cry_sha256_init(&c);
		cry_sha256_update(&c, v->f[0], cut);
		cry_sha256_update(&c, v->f[0] + cut, v->len[0] - cut);
		cry_sha256_final(&c, out);
		CHECK(memcmp(out, v->f[1], 32) == 0);
	}
}

static void kat_aead(const struct vec *v)
{
	size_t n = v->len[3];
	uint8_t *buf = malloc(n + 1), tag[16];

	memcpy(buf, v->f[3], n);
	CHECK(cry_aead_seal(v->f[0], v->f[1], v->f[2], v->len[2], buf, n, tag) == 0);
	CHECK(memcmp(buf, v->f[4], n) == 0);
	CHECK(memcmp(tag, v->f[5], 16) == 0);
	CHECK(cry_aead_open(v->f[0], v->f[1], v->f[2], v->len[2], buf, n, tag) == 0);
	CHECK(memcmp(buf, v->f[3], n) == 0);
	/* a flipped bit in tag, ciphertext or aad: refused, buffer untouched */
	memcpy(buf, v->f[4], n);
	tag[15] ^= 1;
	CHECK(cry_aead_open(v->f[0], v->f[1], v->f[2], v->len[2], buf, n, tag) == -EBADMSG);
	CHECK(memcmp(buf, v->f[4], n) == 0);
	tag[15] ^= 1;
	if (n) {
		buf[n / 2] ^= 0x80;
		CHECK(cry_aead_open(v->f[0], v->f[1], v->f[2], v->len[2], buf, n, tag) == -EBADMSG);
		buf[n / 2] ^= 0x80;
		CHECK(memcmp(buf, v->f[4], n) == 0);
	}
	if (v->len[2]) {
		v->f[2][0] ^= 1;
		CHECK(cry_aead_open(v->f[0], v->f[1], v->f[2], v->len[2], buf, n, tag) == -EBADMSG);
		v->f[2][0] ^= 1;
		CHECK(memcmp(buf, v->f[4], n) == 0);
	}
	free(buf);
}

static void kat_b64(const struct vec *v)
{
	size_t cap = cry_b64_encoded_len(v->len[0]), olen = 99;
	char *txt = malloc(cap);
	uint8_t *raw = malloc(v->len[0] + 1);

	CHECK(cap == v->len[1] + 1);
	CHECK(cry_b64_encode(v->f[0], v->len[0], txt, cap, &olen) == 0);
	CHECK(olen == v->len[1] && memcmp(txt, v->f[1], olen) == 0 && txt[olen] == 0);
	CHECK(cry_b64_encode(v->f[0], v->len[0], txt, cap - 1, &olen) == -ENOSPC);
	CHECK(cry_b64_decode((const char *)v->f[1], v->len[1], raw, v->len[0], &olen) == 0);
	CHECK(olen == v->len[0] && memcmp(raw, v->f[0], olen) == 0);
	if (v->len[0])
		CHECK(cry_b64_decode((const char *)v->f[1], v->len[1], raw, v->len[0] - 1,
				     &olen) == -ENOSPC);
	free(txt);
	free(raw);
}

static int kat_line(char *line)
{
	struct vec v = { 0 };
	uint8_t out[255 * 32];
	char kind[16] = "";

	if (!*line || *line == '#')
		return 0;
	sscanf(line, "%15s", kind);
	if (vec_parse(line, &v))
		return -1;
	if (!strcmp(kind, "sha256") && v.nf == 2) {
		kat_sha256(&v);
	} else if (!strcmp(kind, "hmac") && v.nf == 3) {
		cry_hmac_sha256(v.f[0], v.len[0], v.f[1], v.len[1], out);
		CHECK(memcmp(out, v.f[2], 32) == 0);
	} else if (!strcmp(kind, "hkdf") && v.nf == 4) {
		CHECK(cry_hkdf_sha256(v.len[1] ? v.f[1] : NULL, v.len[1], v.f[0], v.len[0],
				      v.f[2], v.len[2], out, v.len[3]) == 0);
		CHECK(memcmp(out, v.f[3], v.len[3]) == 0);
	} else if (!strcmp(kind, "aead") && v.nf == 6) {
		kat_aead(&v);
	} else if (!strcmp(kind, "b64") && v.nf == 2) {
		kat_b64(&v);
	} else {
		vec_free(&v);
		return -1;
	}
	vec_free(&v);
	return 1;
}

static void test_vector_file(const char *name, int want)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char *save = NULL, *line;
	int n = 0;

	CHECK(util_read_file(tu_vector(name), 1 << 20, &data, &len) == 0);
	if (!data)
		return;
	for (line = strtok_r((char *)data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		int rc = kat_line(line);
		CHECK(rc >= 0);
		n += rc > 0;
	}
	CHECK(n == want);
	free(data);
}

static void test_sym_misc(void)
{
	uint8_t out[32], key[32] = { 1 }, nonce[12] = { 2 }, tag[16];
	char hex[9];

	CHECK(cry_hkdf_sha256(NULL, 0, key, 32, NULL, 0, out, 255 * 32 + 1) == -EINVAL);
	CHECK(cry_aead_seal(key, nonce, NULL, 0, NULL, 0, tag) == 0);
	CHECK(cry_aead_open(key, nonce, NULL, 0, NULL, 0, tag) == 0);
	CHECK(cry_ct_eq("abcd", "abcd", 4) == 1);
	CHECK(cry_ct_eq("abcd", "abce", 4) == 0);
	CHECK(cry_ct_eq("\x80", "\x00", 1) == 0);
	CHECK(cry_ct_eq("", "", 0) == 1);
	cry_hex((const uint8_t *)"\x00\x9f\xff\x10", 4, hex);
	CHECK(strcmp(hex, "009fff10") == 0);
}

static void test_b64_reject(void)
{
	static const char *bad[] = { "Zm9", "Zm9v=", "Zm=v", "Z===", "Zm9v\n", "Zm 9v",
				     "Zm9-", "Zm9_", "=Zm9", "Zg=A", "====", "Zm9v\r\nZm9v" };
	uint8_t out[16];
	size_t olen;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(cry_b64_decode(bad[i], strlen(bad[i]), out, sizeof out, &olen) == -EINVAL);
	CHECK(cry_b64_decode("", 0, out, sizeof out, &olen) == 0 && olen == 0);
	CHECK(cry_b64_decode("Zg==", 4, out, sizeof out, &olen) == 0 && olen == 1 &&
	      out[0] == 'f');
}

/* ---- keys and signatures ---- */

static struct cry_key *rsa_key, *ec_key;   /* generated once, reused below */

static size_t read_vec(const char *name, uint8_t **out)
{
	size_t len = 0;

	*out = NULL;
	CHECK(util_read_file(tu_vector(name), 1 << 20, out, &len) == 0);
	return len;
}

static void roundtrip_key(struct cry_key *k, const char *label)
{
	char pem[4096], pem2[4096], pub[1024], pub2[1024];
	uint8_t der[600], b64der[600];
	size_t n = 0, n2 = 0, pn = 0, dn = 0, bn = 0;
	struct cry_key *k2 = NULL;

	CHECK(cry_key_priv_pem(k, pem, sizeof pem, &n) == 0);
	CHECK(strncmp(pem, label, strlen(label)) == 0 && strlen(pem) == n);
	CHECK(cry_key_priv_pem(k, pem2, 100, &n2) == -ENOSPC);
	CHECK(cry_key_parse(&k2, (const uint8_t *)pem, n) == 0);
	if (!k2)
		return;
	CHECK(cry_key_type(k2) == cry_key_type(k));
	CHECK(cry_key_priv_pem(k2, pem2, sizeof pem2, &n2) == 0);
	CHECK(n == n2 && memcmp(pem, pem2, n) == 0);
	CHECK(cry_key_pub_pem(k, pub, sizeof pub, &pn) == 0);
	CHECK(strncmp(pub, "-----BEGIN PUBLIC KEY-----\n", 27) == 0 && strlen(pub) == pn);
	CHECK(cry_key_pub_pem(k2, pub2, sizeof pub2, &n2) == 0);
	CHECK(n2 == pn && memcmp(pub, pub2, pn) == 0);
	/* DER equals the PEM body */
	CHECK(cry_key_pub_der(k, der, sizeof der, &dn) == 0);
	CHECK(cry_key_pub_der(k, der, 10, &n2) == -ENOSPC);
	{
		char body[1024];
		size_t bl = 0;
		for (const char *q = pub + 27; *q && *q != '-'; q++)
			if (*q != '\n')
				body[bl++] = *q;
		CHECK(cry_b64_decode(body, bl, b64der, sizeof b64der, &bn) == 0);
		CHECK(bn == dn && memcmp(der, b64der, dn) == 0);
	}
	wipe(pem, sizeof pem);
	wipe(pem2, sizeof pem2);
	cry_key_free(k2);
}

static void sign_verify(struct cry_key *k)
{
	uint8_t h[32], sig[600];
	char pub[1024];
	size_t sl = 0, pn = 0;

	cry_sha256("message", 7, h);
	CHECK(cry_key_pub_pem(k, pub, sizeof pub, &pn) == 0);
	CHECK(cry_sign_sha256(k, h, sig, 8, &sl, util_rng, NULL) == -ENOSPC);
	CHECK(cry_sign_sha256(k, h, sig, sizeof sig, &sl, util_rng, NULL) == 0);
	CHECK(cry_verify_sha256((uint8_t *)pub, pn, h, sig, sl) == 0);
	h[0] ^= 1;
	CHECK(cry_verify_sha256((uint8_t *)pub, pn, h, sig, sl) == -EBADMSG);
	h[0] ^= 1;
	sig[sl - 1] ^= 1;
	CHECK(cry_verify_sha256((uint8_t *)pub, pn, h, sig, sl) == -EBADMSG);
	CHECK(cry_verify_sha256((uint8_t *)pub, pn, h, sig, 0) == -EBADMSG);
	CHECK(cry_verify_sha256((const uint8_t *)"garbage", 7, h, sig, sl) == -EINVAL);
	pub[40] ^= 4;   /* corrupt base64 body */
	CHECK(cry_verify_sha256((uint8_t *)pub, pn, h, sig, sl) == -EINVAL);
}

/* Keys and signatures made by the openssl CLI (crypto_ossl_gen.sh). */
static void ossl_vectors(void)
{
	static const struct { const char *key, *pub, *kind; enum cry_key_type t; } v[] = {
		{ "crypto_ossl_rsa.key", "crypto_ossl_rsa_pkcs1.pub", "\nrsa ", CRY_KEY_RSA },
		{ "crypto_ossl_ec.key", "crypto_ossl_ec.pub", "\nec ", CRY_KEY_EC_P256 },
		{ "crypto_ossl_ec_sec1.key", "crypto_ossl_ec.pub", "\nec ", CRY_KEY_EC_P256 },
	};
	uint8_t *sigs, *key, *pub, h[32], sig[600];
	size_t sigs_len = read_vec("crypto_ossl_sigs.txt", &sigs);

	cry_sha256("sbs signature vector", 20, h);
	for (size_t i = 0; sigs && i < sizeof v / sizeof *v; i++) {
		size_t kl = read_vec(v[i].key, &key), pl = read_vec(v[i].pub, &pub);
		struct cry_key *k = NULL;
		char hex[1300] = "", *line = strstr((char *)sigs, v[i].kind);
		long sl;

		(void)sigs_len;
		CHECK(line && sscanf(line + strlen(v[i].kind), " %1299[0-9a-f]", hex) == 1);
		sl = tu_unhex(hex, sig, sizeof sig);
		CHECK(sl > 0);
		CHECK(cry_verify_sha256(pub, pl, h, sig, (size_t)sl) == 0);
		h[31] ^= 1;
		CHECK(cry_verify_sha256(pub, pl, h, sig, (size_t)sl) == -EBADMSG);
		h[31] ^= 1;
		CHECK(cry_key_parse(&k, key, kl) == 0);
		if (k) {
			char mine[1024];
			size_t ml = 0, sl2 = 0;
			CHECK(cry_key_type(k) == v[i].t);
			/* our public key of openssl's private key; our signature
			 * checked by the key openssl wrote */
			CHECK(cry_key_pub_pem(k, mine, sizeof mine, &ml) == 0);
			if (v[i].t == CRY_KEY_EC_P256)
				CHECK(ml == pl && memcmp(mine, pub, pl) == 0);
			CHECK(cry_sign_sha256(k, h, sig, sizeof sig, &sl2, util_rng, NULL) == 0);
			CHECK(cry_verify_sha256(pub, pl, h, sig, sl2) == 0);
		}
		cry_key_free(k);
		free(key);
		free(pub);
	}
	free(sigs);
}

static void test_keys(void)
{
	struct cry_key *k = NULL;

	CHECK(cry_key_gen(&rsa_key, CRY_KEY_RSA, util_rng, NULL) == 0);
	CHECK(cry_key_gen(&ec_key, CRY_KEY_EC_P256, util_rng, NULL) == 0);
	if (!rsa_key || !ec_key)
		return;
	CHECK(cry_key_type(rsa_key) == CRY_KEY_RSA);
	CHECK(cry_key_type(ec_key) == CRY_KEY_EC_P256);
	roundtrip_key(rsa_key, "-----BEGIN RSA PRIVATE KEY-----\n");
	roundtrip_key(ec_key, "-----BEGIN EC PRIVATE KEY-----\n");
	sign_verify(rsa_key);
	sign_verify(ec_key);
	ossl_vectors();
	CHECK(cry_key_gen(&k, 3, util_rng, NULL) == -EINVAL && !k);
	CHECK(cry_key_parse(&k, (const uint8_t *)"nope", 4) == -EINVAL && !k);
	CHECK(cry_key_parse(&k, (const uint8_t *)"-----BEGIN EC PRIVATE KEY-----\nAAAA\n"
			    "-----END EC PRIVATE KEY-----\n", 64) == -EINVAL && !k);
	cry_key_free(NULL);
}

/* ---- X.509 ---- */

#define NOW   ((time_t)1767225600)   /* 2026-01-01T00:00:00Z */
#define DAY   ((time_t)86400)

/* The PKI used by the TLS tests below. */
static char ca_pem[4096], ca2_pem[4096], srv_pem[4096], cli_pem[4096],
	    cli2_pem[4096], old_pem[4096], cli_key_pem[1024], cli2_key_pem[1024],
	    old_key_pem[1024];
static struct cry_key *ca2_key, *cli_key, *cli2_key, *old_key;

/* Flips the case of a letter (or bumps a digit) n characters before the
 * PEM's END line: inside the signature, still valid base64. */
static void tamper_pem(char *pem, size_t n)
{
	char *end = strstr(pem, "\n-----END");
	char *c = end - n;

	while (*c == '\n' || *c == '=' || *c == '+' || *c == '/')
		c--;
	if (*c >= '0' && *c <= '9')
		*c = *c == '9' ? '0' : *c + 1;
	else
		*c ^= 0x20;
}

static void test_csr(void)
{
	char csr[4096], pub[1024], mine[1024], san[256];
	uint8_t *oss;
	size_t n, ml = 0;

	CHECK(cry_csr_make(ec_key, "C=US,O=IBM,CN=sbs server", "sbs.example.com",
			   csr, sizeof csr, util_rng, NULL) == 0);
	CHECK(strncmp(csr, "-----BEGIN CERTIFICATE REQUEST-----\n", 36) == 0);
	CHECK(cry_csr_info((uint8_t *)csr, strlen(csr), pub, sizeof pub, san, sizeof san) == 0);
	CHECK(strcmp(san, "sbs.example.com") == 0);
	CHECK(cry_key_pub_pem(ec_key, mine, sizeof mine, &ml) == 0);
	CHECK(strcmp(pub, mine) == 0);
	CHECK(cry_csr_info((uint8_t *)csr, strlen(csr), pub, sizeof pub, san, 5) == -ENOSPC);
	CHECK(cry_csr_info((uint8_t *)csr, strlen(csr), pub, 20, san, sizeof san) == -ENOSPC);
	tamper_pem(csr, 10);
	CHECK(cry_csr_info((uint8_t *)csr, strlen(csr), pub, sizeof pub, san, sizeof san) == -EBADMSG);

	CHECK(cry_csr_make(rsa_key, "CN=no san", NULL, csr, sizeof csr, util_rng, NULL) == 0);
	CHECK(cry_csr_info((uint8_t *)csr, strlen(csr), pub, sizeof pub, san, sizeof san) == 0);
	CHECK(strcmp(san, "") == 0);
	CHECK(cry_key_pub_pem(rsa_key, mine, sizeof mine, &ml) == 0 && strcmp(pub, mine) == 0);
	tamper_pem(csr, 30);
	CHECK(cry_csr_info((uint8_t *)csr, strlen(csr), pub, sizeof pub, san, sizeof san) == -EBADMSG);

	CHECK(cry_csr_make(ec_key, "CN=x", "bad name!", csr, sizeof csr, util_rng, NULL) == -EINVAL);
	CHECK(cry_csr_make(ec_key, "CN=x", NULL, csr, 100, util_rng, NULL) == -ENOSPC);
	CHECK(cry_csr_info((const uint8_t *)"junk", 4, pub, sizeof pub, san, sizeof san) == -EINVAL);

	/* made by openssl (crypto_ossl_gen.sh): first of two DNS names */
	n = read_vec("crypto_ossl.csr", &oss);
	CHECK(cry_csr_info(oss, n, pub, sizeof pub, san, sizeof san) == 0);
	CHECK(strcmp(san, "first.example.com") == 0);
	free(oss);
	n = read_vec("crypto_ossl_ec.pub", &oss);
	CHECK(n == strlen(pub) && memcmp(pub, oss, n) == 0);
	free(oss);
}

static int make_cert(char *out, const char *subject, const char *pub, const struct cry_key *sk,
		     const struct cry_key *ik, const char *icert, uint64_t serial,
		     time_t nb, time_t na, int ca, unsigned eku, const char *san)
{
	struct cry_cert_req r = {
		.subject = subject, .subject_pub = (const uint8_t *)pub,
		.subject_pub_len = pub ? strlen(pub) : 0, .subject_key = sk,
		.issuer_key = ik, .issuer_cert = (const uint8_t *)icert,
		.issuer_cert_len = icert ? strlen(icert) : 0, .serial = serial,
		.not_before = nb, .not_after = na, .is_ca = ca,
		.key_usage = ca ? CRY_KU_CERTSIGN | CRY_KU_CRLSIGN : CRY_KU_DIGSIG,
		.ext_key_usage = eku, .san_dns = san,
	};
	return cry_cert_make(&r, out, 4096, util_rng, NULL);
}

static void key_pem(const struct cry_key *k, char *out, size_t cap)
{
	size_t n = 0;
	CHECK(cry_key_priv_pem(k, out, cap, &n) == 0);
}

static void test_certs(void)
{
	struct cry_cert_info ci;
	char pub[1024], both[8192];
	size_t pn = 0;
	const time_t nb = NOW - DAY, na = NOW + 365 * DAY;

	CHECK(cry_key_gen(&ca2_key, CRY_KEY_EC_P256, util_rng, NULL) == 0);
	CHECK(cry_key_gen(&cli_key, CRY_KEY_EC_P256, util_rng, NULL) == 0);
	CHECK(cry_key_gen(&cli2_key, CRY_KEY_EC_P256, util_rng, NULL) == 0);
	CHECK(cry_key_gen(&old_key, CRY_KEY_EC_P256, util_rng, NULL) == 0);
	key_pem(cli_key, cli_key_pem, sizeof cli_key_pem);
	key_pem(cli2_key, cli2_key_pem, sizeof cli2_key_pem);
	key_pem(old_key, old_key_pem, sizeof old_key_pem);

	/* CA (RSA, self-signed), a second CA (EC), and leaves */
	CHECK(make_cert(ca_pem, "C=US,O=IBM,OU=Digital Assets,CN=Client CA", NULL, rsa_key,
			NULL, NULL, 1, NOW - 100 * DAY, NOW + 3650 * DAY, 1, 0, NULL) == 0);
	CHECK(make_cert(ca2_pem, "CN=Other CA", NULL, ca2_key, ca2_key, NULL, 77,
			nb, na, 1, 0, NULL) == 0);
	CHECK(make_cert(srv_pem, "CN=sbs server", NULL, ec_key, rsa_key, ca_pem, 2, nb, na, 0,
			CRY_EKU_SERVER, "localhost") == 0);
	CHECK(cry_key_pub_pem(cli_key, pub, sizeof pub, &pn) == 0);
	CHECK(make_cert(cli_pem, "CN=sbs client", pub, NULL, rsa_key, ca_pem, 3, nb, na, 0,
			CRY_EKU_CLIENT, NULL) == 0);
	CHECK(make_cert(cli2_pem, "CN=other client", NULL, cli2_key, ca2_key, ca2_pem, 4,
			nb, na, 0, CRY_EKU_CLIENT, NULL) == 0);
	CHECK(make_cert(old_pem, "CN=expired client", NULL, old_key, rsa_key, ca_pem, 5,
			NOW - 30 * DAY, NOW - DAY, 0, CRY_EKU_CLIENT | CRY_EKU_SERVER, NULL) == 0);

	CHECK(cry_cert_info((uint8_t *)ca_pem, strlen(ca_pem), &ci) == 0);
	CHECK(strcmp(ci.subject, "C=US, O=IBM, OU=Digital Assets, CN=Client CA") == 0);
	CHECK(ci.is_ca == 1 && ci.san_dns[0] == 0);
	CHECK(ci.not_before == NOW - 100 * DAY && ci.not_after == NOW + 3650 * DAY);
	CHECK(cry_key_pub_pem(rsa_key, pub, sizeof pub, &pn) == 0 && strcmp(pub, ci.pub_pem) == 0);
	CHECK(cry_cert_info((uint8_t *)srv_pem, strlen(srv_pem), &ci) == 0);
	CHECK(strcmp(ci.subject, "CN=sbs server") == 0 && strcmp(ci.san_dns, "localhost") == 0);
	CHECK(ci.is_ca == 0 && ci.not_before == nb && ci.not_after == na);
	CHECK(cry_key_pub_pem(ec_key, pub, sizeof pub, &pn) == 0 && strcmp(pub, ci.pub_pem) == 0);
	CHECK(cry_cert_info((const uint8_t *)"junk", 4, &ci) == -EINVAL);

	CHECK(cry_cert_verify((uint8_t *)srv_pem, strlen(srv_pem), (uint8_t *)ca_pem,
			      strlen(ca_pem), NOW) == 0);
	CHECK(cry_cert_verify((uint8_t *)cli_pem, strlen(cli_pem), (uint8_t *)ca_pem,
			      strlen(ca_pem), NOW) == 0);
	CHECK(cry_cert_verify((uint8_t *)cli2_pem, strlen(cli2_pem), (uint8_t *)ca_pem,
			      strlen(ca_pem), NOW) == -EBADMSG);
	CHECK(cry_cert_verify((uint8_t *)cli2_pem, strlen(cli2_pem), (uint8_t *)ca2_pem,
			      strlen(ca2_pem), NOW) == 0);
	CHECK(cry_cert_verify((uint8_t *)old_pem, strlen(old_pem), (uint8_t *)ca_pem,
			      strlen(ca_pem), NOW) == -EBADMSG);
	/* the caller's clock decides: the same certificate at a time it was valid */
	CHECK(cry_cert_verify((uint8_t *)old_pem, strlen(old_pem), (uint8_t *)ca_pem,
			      strlen(ca_pem), NOW - 2 * DAY) == 0);
	CHECK(cry_cert_verify((uint8_t *)cli_pem, strlen(cli_pem), (uint8_t *)ca_pem,
			      strlen(ca_pem), nb - 1) == -EBADMSG);
	/* a chain file (leaf + CA) verifies against the CA too */
	snprintf(both, sizeof both, "%s%s", srv_pem, ca_pem);
	CHECK(cry_cert_verify((uint8_t *)both, strlen(both), (uint8_t *)ca_pem,
			      strlen(ca_pem), NOW) == 0);
	CHECK(cry_cert_verify((const uint8_t *)"junk", 4, (uint8_t *)ca_pem,
			      strlen(ca_pem), NOW) == -EBADMSG);
	tamper_pem(both + strlen(srv_pem), 0);   /* harmless: CA copy in the chain */
	strcpy(both, srv_pem);
	tamper_pem(both, 10);
	CHECK(cry_cert_verify((uint8_t *)both, strlen(both), (uint8_t *)ca_pem,
			      strlen(ca_pem), NOW) == -EBADMSG);

	{   /* a signature checked against the signer's certificate */
		uint8_t h[32], sig[128];
		size_t sl = 0;
		cry_sha256("signed", 6, h);
		CHECK(cry_sign_sha256(ec_key, h, sig, sizeof sig, &sl, util_rng, NULL) == 0);
		CHECK(cry_verify_sha256((uint8_t *)srv_pem, strlen(srv_pem), h, sig, sl) == 0);
		CHECK(cry_verify_sha256((uint8_t *)cli_pem, strlen(cli_pem), h, sig, sl) == -EBADMSG);
	}
	CHECK(cry_cert_matches_key((uint8_t *)srv_pem, strlen(srv_pem), ec_key) == 1);
	CHECK(cry_cert_matches_key((uint8_t *)cli_pem, strlen(cli_pem), cli_key) == 1);
	CHECK(cry_cert_matches_key((uint8_t *)cli_pem, strlen(cli_pem), ec_key) == 0);
	CHECK(cry_cert_matches_key((uint8_t *)ca_pem, strlen(ca_pem), rsa_key) == 1);
	CHECK(cry_cert_matches_key((uint8_t *)ca_pem, strlen(ca_pem), ec_key) == 0);

	/* refusals: issuer key not the issuer certificate's, bad SAN, serial 0 */
	CHECK(make_cert(both, "CN=x", NULL, cli_key, ec_key, ca_pem, 9, nb, na, 0, 0, NULL) == -EINVAL);
	CHECK(make_cert(both, "CN=x", NULL, cli_key, rsa_key, ca_pem, 9, nb, na, 0, 0, "a b") == -EINVAL);
	CHECK(make_cert(both, "CN=x", NULL, cli_key, rsa_key, ca_pem, 0, nb, na, 0, 0, NULL) == -EINVAL);
	CHECK(make_cert(both, "CN=x", NULL, cli_key, rsa_key, ca_pem, 9, na, nb, 0, 0, NULL) == -EINVAL);
	if (getenv("SBS_CRY_DUMP")) {   /* for a manual `openssl verify` cross-check */
		FILE *f = fopen(getenv("SBS_CRY_DUMP"), "w");
		if (f) {
			fprintf(f, "%s%s%s%s", ca_pem, srv_pem, cli_pem, old_pem);
			fclose(f);
		}
	}
}

/* ---- TLS ---- */

static int io_send(void *ctx, const uint8_t *p, size_t n)
{
	ssize_t r = send(*(int *)ctx, p, n, MSG_NOSIGNAL);
	if (r < 0)
		return errno == EAGAIN ? CRY_WANT_WRITE : -EIO;
	return (int)r;
}

static int io_recv(void *ctx, uint8_t *p, size_t n)
{
	ssize_t r = recv(*(int *)ctx, p, n, 0);
	if (r < 0)
		return errno == EAGAIN ? CRY_WANT_READ : -EIO;
	return (int)r;
}

static int want(int rc)
{
	return rc == CRY_WANT_READ || rc == CRY_WANT_WRITE;
}

struct pair {
	int fd[2];
	struct cry_tls *srv, *cli;
	int src, crc;   /* handshake results */
};

/* Runs both handshakes over a non-blocking socketpair until neither side
 * can make progress: both done, or one failed and the other gave up or
 * stalled waiting. */
static void pair_run(struct pair *pp, struct cry_tls_conf *sc, struct cry_tls_conf *cc,
		     const char *host)
{
	int after_fail = 0;

	memset(pp, 0, sizeof *pp);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pp->fd) == 0);
	for (int i = 0; i < 2; i++)
		fcntl(pp->fd[i], F_SETFL, fcntl(pp->fd[i], F_GETFL) | O_NONBLOCK);
	CHECK(cry_tls_new(&pp->srv, sc, NULL, io_send, io_recv, &pp->fd[0]) == 0);
	CHECK(cry_tls_new(&pp->cli, cc, host, io_send, io_recv, &pp->fd[1]) == 0);
	pp->src = pp->crc = CRY_WANT_READ;
	if (!pp->srv || !pp->cli)
		return;
	for (int i = 0; i < 200 && (want(pp->src) || want(pp->crc)); i++) {
		if (want(pp->crc))
			pp->crc = cry_tls_handshake(pp->cli);
		if (want(pp->src))
			pp->src = cry_tls_handshake(pp->srv);
		if ((pp->src < 0 && !want(pp->src)) || (pp->crc < 0 && !want(pp->crc)))
			if (++after_fail > 5)
				break;
	}
}

static void pair_free(struct pair *pp)
{
	cry_tls_free(pp->srv);
	cry_tls_free(pp->cli);
	close(pp->fd[0]);
	close(pp->fd[1]);
}

/* Reads exactly n bytes from t, pumping nothing else (the peer already wrote). */
static int read_all(struct cry_tls *t, uint8_t *p, size_t n)
{
	size_t got = 0;

	for (int i = 0; i < 100 && got < n; i++) {
		int rc = cry_tls_read(t, p + got, n - got);
		if (rc > 0)
			got += (size_t)rc;
		else if (!want(rc))
			return rc;
	}
	return (int)got;
}

static void echo(struct pair *pp)
{
	static uint8_t big[40000], back[40000];
	uint8_t buf[64];
	size_t off;
	int rc;

	CHECK(cry_tls_write(pp->cli, (const uint8_t *)"ping", 4) == 4);
	CHECK(read_all(pp->srv, buf, 4) == 4 && memcmp(buf, "ping", 4) == 0);
	CHECK(cry_tls_write(pp->srv, buf, 4) == 4);
	CHECK(read_all(pp->cli, buf, 2) == 2);
	CHECK(cry_tls_pending(pp->cli) == 2);
	CHECK(read_all(pp->cli, buf + 2, 2) == 2 && memcmp(buf, "ping", 4) == 0);
	CHECK(cry_tls_pending(pp->cli) == 0);
	CHECK(cry_tls_read(pp->cli, buf, sizeof buf) == CRY_WANT_READ);

	/* more than one record, more than the socket buffer holds at once */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7);
	off = 0;
	size_t got = 0;
	for (int i = 0; i < 10000 && got < sizeof big; i++) {
		if (off < sizeof big) {
			rc = cry_tls_write(pp->cli, big + off, sizeof big - off);
			CHECK(rc > 0 || want(rc));
			if (rc > 0)
				off += (size_t)rc;
		}
		rc = cry_tls_read(pp->srv, back + got, sizeof back - got);
		CHECK(rc > 0 || want(rc));
		if (rc > 0)
			got += (size_t)rc;
	}
	CHECK(got == sizeof big && memcmp(big, back, sizeof big) == 0);

	CHECK(cry_tls_close_notify(pp->cli) == 0);
	CHECK(cry_tls_read(pp->srv, buf, sizeof buf) == CRY_CLOSED);
}

static void test_tls(void)
{
	struct cry_tls_conf *sc = NULL, *cc = NULL, *c_nocert = NULL, *c_other = NULL,
			    *c_old = NULL, *c_noverify = NULL, *c_ca2 = NULL, *bad = NULL;
	char ck[8192];
	struct pair pp;
	struct cry_tls *t = NULL;

	CHECK(cry_tls_server_conf(&sc, (uint8_t *)ca_pem, strlen(ca_pem), (uint8_t *)srv_pem,
				  strlen(srv_pem), ec_key, util_rng, NULL) == 0);
	snprintf(ck, sizeof ck, "%s%s", cli_pem, cli_key_pem);
	CHECK(cry_tls_client_conf(&cc, (uint8_t *)ca_pem, strlen(ca_pem), (uint8_t *)ck,
				  strlen(ck), util_rng, NULL) == 0);
	CHECK(cry_tls_client_conf(&c_nocert, (uint8_t *)ca_pem, strlen(ca_pem), NULL, 0,
				  util_rng, NULL) == 0);
	snprintf(ck, sizeof ck, "%s%s", cli2_key_pem, cli2_pem);   /* key first works too */
	CHECK(cry_tls_client_conf(&c_other, (uint8_t *)ca_pem, strlen(ca_pem), (uint8_t *)ck,
				  strlen(ck), util_rng, NULL) == 0);
	snprintf(ck, sizeof ck, "%s%s", old_pem, old_key_pem);
	CHECK(cry_tls_client_conf(&c_old, (uint8_t *)ca_pem, strlen(ca_pem), (uint8_t *)ck,
				  strlen(ck), util_rng, NULL) == 0);
	snprintf(ck, sizeof ck, "%s%s", cli_pem, cli_key_pem);
	CHECK(cry_tls_client_conf(&c_noverify, NULL, 0, (uint8_t *)ck, strlen(ck),
				  util_rng, NULL) == 0);
	CHECK(cry_tls_client_conf(&c_ca2, (uint8_t *)ca2_pem, strlen(ca2_pem), (uint8_t *)ck,
				  strlen(ck), util_rng, NULL) == 0);
	wipe(ck, sizeof ck);
	if (!sc || !cc || !c_nocert || !c_other || !c_old || !c_noverify || !c_ca2)
		goto out;

	/* misconfigurations: key not the certificate's; names where they do not fit */
	snprintf(ck, sizeof ck, "%s%s", cli2_pem, cli_key_pem);
	CHECK(cry_tls_client_conf(&bad, NULL, 0, (uint8_t *)ck, strlen(ck), util_rng,
				  NULL) == -EINVAL && !bad);
	wipe(ck, sizeof ck);
	CHECK(cry_tls_server_conf(&bad, (uint8_t *)ca_pem, strlen(ca_pem), (uint8_t *)srv_pem,
				  strlen(srv_pem), cli_key, util_rng, NULL) == -EINVAL && !bad);
	CHECK(cry_tls_new(&t, cc, NULL, io_send, io_recv, NULL) == -EINVAL && !t);
	CHECK(cry_tls_new(&t, sc, "host", io_send, io_recv, NULL) == -EINVAL && !t);

	/* the good path, then the conf dropped while its session lives on */
	pair_run(&pp, sc, cc, "localhost");
	CHECK(pp.src == 0 && pp.crc == 0);
	if (pp.src == 0 && pp.crc == 0)
		echo(&pp);
	pair_free(&pp);

	pair_run(&pp, sc, c_nocert, "localhost");
	CHECK(pp.src == -EACCES);
	CHECK(strcmp(cry_tls_strerror(pp.src), "client certificate required") == 0);
	CHECK(pp.crc == -ECONNABORTED);
	pair_free(&pp);

	pair_run(&pp, sc, c_other, "localhost");
	CHECK(pp.src == -EKEYREJECTED);
	CHECK(strcmp(cry_tls_strerror(pp.src), "peer certificate not trusted") == 0);
	CHECK(pp.crc == -EPERM);   /* the client learns its certificate was refused */
	pair_free(&pp);

	pair_run(&pp, sc, c_old, "localhost");
	CHECK(pp.src == -EKEYEXPIRED && pp.crc == -EPERM);
	pair_free(&pp);

	pair_run(&pp, sc, cc, "wrong.example.com");
	CHECK(pp.crc == -EHOSTUNREACH);
	CHECK(pp.src == -EPERM);   /* the client's bad_certificate alert */
	pair_free(&pp);

	pair_run(&pp, sc, c_ca2, "localhost");
	CHECK(pp.crc == -EKEYREJECTED);
	pair_free(&pp);

	/* --noverify: any name, any CA; the server still checks the client */
	pair_run(&pp, sc, c_noverify, "whatever");
	CHECK(pp.src == 0 && pp.crc == 0);
	pair_free(&pp);

	pair_run(&pp, sc, cc, "localhost");
	CHECK(pp.src == 0 && pp.crc == 0);
	cry_tls_conf_put(sc);   /* the sessions keep the conf alive */
	sc = NULL;
	if (pp.src == 0 && pp.crc == 0)
		echo(&pp);
	pair_free(&pp);
out:
	cry_tls_conf_put(sc);
	cry_tls_conf_put(cc);
	cry_tls_conf_put(c_nocert);
	cry_tls_conf_put(c_other);
	cry_tls_conf_put(c_old);
	cry_tls_conf_put(c_noverify);
	cry_tls_conf_put(c_ca2);
	CHECK(strcmp(cry_tls_strerror(-EBADMSG), "certificate verification failed") == 0);
}

int main(void)
{
	test_vector_file("crypto_rfc.txt", 19);
	test_vector_file("crypto_node.txt", 40);
	test_sym_misc();
	test_b64_reject();
	test_keys();
	test_csr();
	test_certs();
	test_tls();
	cry_key_free(rsa_key);
	cry_key_free(ec_key);
	cry_key_free(ca2_key);
	cry_key_free(cli_key);
	cry_key_free(cli2_key);
	cry_key_free(old_key);
	return tu_done("test_crypto");
}
