/* SPDX-License-Identifier: MIT */
/*
 * sbs attest: GET /attestation?nonce=HEX and save the evidence for
 * `pvattest verify` on a trusted machine (docs/attestation.md).
 *
 * --nonce HEX (1 to 64 bytes; default: 32 fresh random bytes, printed),
 * --out FILE (default ./sbs-attestation.bin). Before writing, the reply is
 * checked: the nonce is ours, user_data = spki_sha256 || nonce, the evidence
 * is a pvattest exchange file whose user-data entry is exactly user_data,
 * and, when the certificate directory holds server-cert.pem, spki_sha256 is
 * SHA-256 of that certificate's public key (the key of the TLS connection,
 * since the connection verified that certificate's chain and name). A server
 * that is not a Secure Execution guest answers 503 "not protected: ...":
 * that statement is printed and the command fails without writing a file.
 * Nothing here is secret.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "limits.h"
#include "util.h"

#define ATT_DEFAULT_OUT  "sbs-attestation.bin"

static int hex_ok(const char *h, size_t min, size_t max)
{
	size_t n = strlen(h);

	return n >= min && n <= max && n % 2 == 0 && strspn(h, "0123456789abcdef") == n;
}

static int fresh_nonce(char out[2 * 32 + 1])
{
	uint8_t r[32];
	int rc = util_rng(NULL, r, sizeof r);

	if (rc == 0)
		cry_hex(r, sizeof r, out);
	return rc;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The user-data entry of an exchange file equals want (hex). */
static int evidence_ok(const uint8_t *ev, size_t len, const char *want)
{
	char hex[2 * 256 + 1];
	uint32_t sz, off;

	if (len < 0x40 || memcmp(ev, "pvattest", 8) || be32(ev + 8) != 0x0100 ||
	    be32(ev + 12) != len)
		return 0;
	sz = be32(ev + 48);
	off = be32(ev + 52);
	if (!sz || sz > 256 || off < 0x40 || off > len || sz > len - off)
		return 0;
	cry_hex(ev + off, sz, hex);
	return strcmp(hex, want) == 0;
}

/* SHA-256 of the DER public key of the PEM certificate at path (hex). */
static int cert_spki_sha256(const char *path, char out[65])
{
	struct cry_cert_info ci;
	uint8_t *pem = NULL, der[1024], h[32];
	size_t len = 0, dlen = 0, n = 0;
	char b64[sizeof ci.pub_pem];
	int rc = util_read_file(path, CERT_MAX_PEM, &pem, &len);

	if (rc == 0)
		rc = cry_cert_info(pem, len, &ci);
	free(pem);
	if (rc < 0)
		return rc;
	for (const char *p = strchr(ci.pub_pem, '\n'); p && *p && strncmp(p, "\n-----END", 9); p++)
		if (*p != '\n' && *p != '\r' && n < sizeof b64 - 1)
			b64[n++] = *p;
	b64[n] = 0;
	if ((rc = cry_b64_decode(b64, n, der, sizeof der, &dlen)) < 0)
		return rc;
	cry_sha256(der, dlen, h);
	cry_hex(h, sizeof h, out);
	return 0;
}

/* Checks the 200 reply against the nonce and saves the evidence. */
static int save(struct cli *c, const json *j, const char *nonce, const char *out)
{
	const char *ud = json_get_str(j, "user_data"), *sp = json_get_str(j, "spki_sha256");
	const char *ev = json_get_str(j, "evidence"), *jn = json_get_str(j, "nonce");
	char want[2 * (32 + SE_MAX_NONCE) + 1], crt[65];
	uint8_t *bin = NULL;
	size_t blen = 0, elen = ev ? strlen(ev) : 0;
	int rc = -EBADMSG;

	if (!ud || !sp || !ev || !jn || strcmp(jn, nonce) || strlen(sp) != 64 ||
	    snprintf(want, sizeof want, "%s%s", sp, nonce) >= (int)sizeof want || strcmp(ud, want)) {
		log_err("attest: the reply does not bind our nonce: user_data must be "
			"spki_sha256 || nonce");
		return rc;
	}
	if (cli_exists(c->certpath) && cert_spki_sha256(c->certpath, crt) == 0 && strcmp(crt, sp)) {
		log_err("attest: the evidence names TLS key %s, but %s holds key %s", sp,
			c->certpath, crt);
		return rc;
	}
	if (elen / 4 * 3 > SE_MAX_EVIDENCE || !(bin = malloc(elen / 4 * 3 + 3)) ||
	    cry_b64_decode(ev, elen, bin, elen / 4 * 3 + 3, &blen) < 0 ||
	    !evidence_ok(bin, blen, ud)) {
		log_err("attest: the evidence is not a pvattest exchange file carrying our user data");
		goto out;
	}
	rc = cli_write(out, bin, blen, 0644);
	if (rc == 0)
		printf("attest: %zu bytes of evidence saved to %s\n  nonce        %s\n  "
		       "spki_sha256  %s\nVerify it on a trusted machine: pvattest verify --input %s "
		       "--arpk <the request's key> --hdr <the SE image>\n",
		       blen, out, nonce, sp, out);
out:
	free(bin);
	return rc;
}

int cli_cmd_attest(struct cli *c)
{
	const char *nonce = cli_param_nonempty(c, "nonce");
	const char *out = cli_param_nonempty(c, "out");
	char fresh[2 * 32 + 1], path[64 + 2 * SE_MAX_NONCE];
	struct cli_resp r;
	int rc;

	if (!nonce) {
		if ((rc = fresh_nonce(fresh)) < 0)
			return rc;
		nonce = fresh;
	} else if (!hex_ok(nonce, 2, 2 * SE_MAX_NONCE)) {
		log_err("attest: --nonce must be 2 to %d lower-case hex digits (an even count)",
			2 * SE_MAX_NONCE);
		return -EINVAL;
	}
	snprintf(path, sizeof path, "/attestation?nonce=%s", nonce);
	if ((rc = cli_request(c, "GET", path, NULL, !c->noverify, &r)) < 0)
		return rc;
	if (r.status == 200 && r.j) {
		rc = save(c, r.j, nonce, out ? out : ATT_DEFAULT_OUT);
	} else if (r.j && json_get_str(r.j, "error")) {
		log_err("attest: the server says (HTTP %d): %s", r.status,
			json_get_str(r.j, "error"));
		rc = r.status == 503 ? -ENOTSUP : -EPROTO;
	} else {
		cli_log_body("attest", &r);
		rc = -EPROTO;
	}
	cli_resp_free(&r);
	return rc;
}
