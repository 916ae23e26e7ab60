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

int main(void)
{
	test_vector_file("crypto_rfc.txt", 19);
	test_vector_file("crypto_node.txt", 40);
	test_sym_misc();
	test_b64_reject();
	return tu_done("test_crypto");
}
