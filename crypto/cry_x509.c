/* SPDX-License-Identifier: MIT */
/*
 * cry_x509: the X.509 part of crypto/cry.h on mbedTLS: CSRs (make, and check
 * plus read back), certificates (make, read facts, verify a chain, match a
 * key). mbedTLS 2.28 writes neither subjectAltName nor extendedKeyUsage and
 * ignores CSR attributes when parsing, so those three DER structures are
 * written and read here with its asn1 helpers. Chain verification takes the
 * time from the caller (a verify callback replaces mbedTLS's clock verdicts).
 */
#include "cry_mbed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mbedtls/asn1.h"
#include "mbedtls/asn1write.h"
#include "mbedtls/bignum.h"
#include "mbedtls/md.h"
#include "mbedtls/oid.h"
#include "mbedtls/pk.h"
#include "mbedtls/x509_crt.h"
#include "mbedtls/x509_csr.h"

#define DNS_MAX      253    /* RFC 1035 name length, also our SAN limit */
#define EXT_DER_MAX  (DNS_MAX + 16)
#define OIDLEN(o)    (sizeof(o) - 1)

/* ---- DER pieces ---- */

/* A DNS SAN we are willing to write: letters, digits, '-', '.', and a leading
 * "*." wildcard; no empty labels. */
static int dns_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DNS_MAX || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.')
			continue;
		if (c == '*' && i == 0 && s[1] == '.')
			continue;
		return 0;
	}
	return 1;
}

/* GeneralNames ::= SEQUENCE { dNSName [2] IA5String }. Written backwards
 * from the end of buf; *p gets the start. Returns the length or < 0. */
static int san_der(const char *dns, unsigned char *buf, size_t cap, unsigned char **p)
{
	size_t len = 0;
	int ret;   /* used by MBEDTLS_ASN1_CHK_ADD */

	*p = buf + cap;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, buf,
			(const unsigned char *)dns, strlen(dns)));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, buf, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, buf,
			MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, buf, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, buf,
			MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return (int)len;
}

/* ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId */
static int eku_der(unsigned eku, unsigned char *buf, size_t cap, unsigned char **p)
{
	size_t len = 0;
	int ret;   /* used by MBEDTLS_ASN1_CHK_ADD */

	*p = buf + cap;
	if (eku & CRY_EKU_CLIENT)
		MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, buf,
				MBEDTLS_OID_CLIENT_AUTH, OIDLEN(MBEDTLS_OID_CLIENT_AUTH)));
	if (eku & CRY_EKU_SERVER)
		MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, buf,
				MBEDTLS_OID_SERVER_AUTH, OIDLEN(MBEDTLS_OID_SERVER_AUTH)));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, buf, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, buf,
			MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return (int)len;
}

/* Copies a dNSName into out, refusing embedded NULs and oversize names. */
static int copy_dns(const unsigned char *p, size_t len, char *out, size_t cap)
{
	if (len >= cap)
		return -ENOSPC;
	if (memchr(p, 0, len))
		return -EINVAL;
	memcpy(out, p, len);
	out[len] = 0;
	return 0;
}

/* First dNSName of a GeneralNames SEQUENCE in [p, end); "" if none. */
static int san_first_dns(unsigned char *p, const unsigned char *end, char *out, size_t cap)
{
	size_t len;

	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -EINVAL;
	end = p + len;
	while (p < end) {
		int tag = *p++;
		if (mbedtls_asn1_get_len(&p, end, &len))
			return -EINVAL;
		if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
			return copy_dns(p, len, out, cap);
		p += len;
	}
	return 0;
}

/* Extensions ::= SEQUENCE OF Extension in [p, end): the first DNS name of
 * its subjectAltName, "" if none. */
static int exts_san(unsigned char *p, const unsigned char *end, char *out, size_t cap)
{
	unsigned char *xend;
	size_t len;
	int crit;

	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -EINVAL;
	while (p < end) {   /* Extension ::= SEQUENCE { id, critical?, value } */
		if (mbedtls_asn1_get_tag(&p, end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return -EINVAL;
		xend = p + len;
		if (mbedtls_asn1_get_tag(&p, xend, &len, MBEDTLS_ASN1_OID))
			return -EINVAL;
		if (len != OIDLEN(MBEDTLS_OID_SUBJECT_ALT_NAME) ||
		    memcmp(p, MBEDTLS_OID_SUBJECT_ALT_NAME, len)) {
			p = xend;
			continue;
		}
		p += len;
		if (mbedtls_asn1_get_bool(&p, xend, &crit) == MBEDTLS_ERR_ASN1_INVALID_LENGTH ||
		    mbedtls_asn1_get_tag(&p, xend, &len, MBEDTLS_ASN1_OCTET_STRING))
			return -EINVAL;
		return san_first_dns(p, p + len, out, cap);
	}
	return 0;
}

/* Walks a CSR's CertificationRequestInfo to the extensionRequest attribute
 * and reads the first DNS name of its subjectAltName (RFC 2986, 5280). */
static int csr_san(const mbedtls_x509_csr *csr, char *out, size_t cap)
{
	unsigned char *p = csr->cri.p, *end = p + csr->cri.len, *aend;
	size_t len;
	int ver;

	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
	    mbedtls_asn1_get_int(&p, end, &ver))
		return -EINVAL;
	for (int i = 0; i < 2; i++) {   /* subject, subjectPKInfo */
		if (mbedtls_asn1_get_tag(&p, end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return -EINVAL;
		p += len;
	}
	if (p == end)
		return 0;
	if (mbedtls_asn1_get_tag(&p, end, &len,
				 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_CONTEXT_SPECIFIC))
		return -EINVAL;
	while (p < end) {   /* Attribute ::= SEQUENCE { type, SET OF value } */
		if (mbedtls_asn1_get_tag(&p, end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return -EINVAL;
		aend = p + len;
		if (mbedtls_asn1_get_tag(&p, aend, &len, MBEDTLS_ASN1_OID))
			return -EINVAL;
		if (len != OIDLEN(MBEDTLS_OID_PKCS9_CSR_EXT_REQ) ||
		    memcmp(p, MBEDTLS_OID_PKCS9_CSR_EXT_REQ, len)) {
			p = aend;
			continue;
		}
		p += len;
		if (mbedtls_asn1_get_tag(&p, aend, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET))
			return -EINVAL;
		return exts_san(p, p + len, out, cap);
	}
	return 0;
}

/* ---- CSR ---- */

int cry_csr_make(const struct cry_key *k, const char *subject, const char *san_dns,
		 char *out, size_t cap, cry_rng_fn rng, void *rctx)
{
	mbedtls_x509write_csr w;
	mbedtls_pk_context v;
	unsigned char ext[EXT_DER_MAX], *p;
	int rc, n;

	if (!k || !subject || !out || !rng || (san_dns && *san_dns && !dns_ok(san_dns)))
		return -EINVAL;
	mbedtls_x509write_csr_init(&w);
	cry_mb_key_view(k, &v);
	mbedtls_x509write_csr_set_key(&w, &v);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	if ((rc = mbedtls_x509write_csr_set_subject_name(&w, subject))) {
		rc = cry_mb_err(rc, -EINVAL);
		goto out;
	}
	if (san_dns && *san_dns) {
		if ((n = san_der(san_dns, ext, sizeof ext, &p)) < 0 ||
		    mbedtls_x509write_csr_set_extension(&w, MBEDTLS_OID_SUBJECT_ALT_NAME,
			OIDLEN(MBEDTLS_OID_SUBJECT_ALT_NAME), p, (size_t)n)) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = mbedtls_x509write_csr_pem(&w, (unsigned char *)out, cap, rng, rctx);
	rc = cry_mb_err(rc, -EIO);
out:
	mbedtls_x509write_csr_free(&w);
	return rc;
}

/* The signature over CertificationRequestInfo with the CSR's own key. */
static int csr_self_sig_ok(mbedtls_x509_csr *csr)
{
	unsigned char h[MBEDTLS_MD_MAX_SIZE];
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(csr->sig_md);

	if (!md || (csr->sig_md != MBEDTLS_MD_SHA256 && csr->sig_md != MBEDTLS_MD_SHA384 &&
		    csr->sig_md != MBEDTLS_MD_SHA512))
		return 0;
	if (mbedtls_md(md, csr->cri.p, csr->cri.len, h))
		return 0;
	return mbedtls_pk_verify_ext(csr->sig_pk, csr->sig_opts, &csr->pk, csr->sig_md, h,
				     mbedtls_md_get_size(md), csr->sig.p, csr->sig.len) == 0;
}

int cry_csr_info(const uint8_t *csr, size_t len, char *pub_pem, size_t pub_cap,
		 char *san_dns, size_t san_cap)
{
	mbedtls_x509_csr c;
	unsigned char *z = NULL;
	size_t zlen = 0;
	int rc;

	if (!pub_pem || !san_dns || !san_cap)
		return -EINVAL;
	*san_dns = 0;
	mbedtls_x509_csr_init(&c);
	if ((rc = cry_mb_zdup(csr, len, &z, &zlen)))
		goto out;
	if (mbedtls_x509_csr_parse(&c, z, zlen)) {
		rc = -EINVAL;
		goto out;
	}
	if (!csr_self_sig_ok(&c)) {
		rc = -EBADMSG;
		goto out;
	}
	if ((rc = csr_san(&c, san_dns, san_cap)) ||
	    (rc = cry_mb_pub_pem(&c.pk, pub_pem, pub_cap, NULL)))
		goto out;
out:
	if (rc)
		*san_dns = 0;
	mbedtls_x509_csr_free(&c);
	cry_mb_zfree(z, len + 1);
	return rc;
}

/* ---- certificates ---- */

static int parse_crt(mbedtls_x509_crt *crt, const uint8_t *p, size_t len)
{
	unsigned char *z = NULL;
	size_t zlen = 0;
	int rc;

	if ((rc = cry_mb_zdup(p, len, &z, &zlen)))
		return rc;
	rc = mbedtls_x509_crt_parse(crt, z, zlen) ? -EINVAL : 0;
	cry_mb_zfree(z, len + 1);
	return rc;
}

/* time_t -> "YYYYMMDDhhmmss" (UTC), as mbedtls_x509write_crt_set_validity wants. */
static int fmt_time(time_t t, char out[15])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1950 || tm.tm_year + 1900 > 9999)
		return -EINVAL;
	return strftime(out, 15, "%Y%m%d%H%M%S", &tm) == 14 ? 0 : -EINVAL;
}

static time_t x509_time(const mbedtls_x509_time *t)
{
	struct tm tm = { .tm_year = t->year - 1900, .tm_mon = t->mon - 1, .tm_mday = t->day,
			 .tm_hour = t->hour, .tm_min = t->min, .tm_sec = t->sec };

	return timegm(&tm);
}

/* The issuer's subject Name, copied entry by entry with its string tags, so
 * the new certificate's issuer is byte-for-byte the issuer's subject (a
 * round trip through the string form could change encodings). The writer
 * emits the list from its tail, so the copy is built in reverse. */
static int copy_name(mbedtls_asn1_named_data **dst, const mbedtls_x509_name *src)
{
	for (; src; src = src->next) {
		mbedtls_asn1_named_data *n = calloc(1, sizeof *n);
		if (!n)
			return -ENOMEM;
		n->next = *dst;
		*dst = n;
		n->oid.tag = src->oid.tag;
		n->val.tag = src->val.tag;
		if (!(n->oid.p = calloc(1, src->oid.len + 1)) ||
		    !(n->val.p = calloc(1, src->val.len + 1)))
			return -ENOMEM;
		memcpy(n->oid.p, src->oid.p, n->oid.len = src->oid.len);
		memcpy(n->val.p, src->val.p, n->val.len = src->val.len);
	}
	return 0;
}

static unsigned ku_bits(unsigned ku)
{
	return (ku & CRY_KU_DIGSIG ? MBEDTLS_X509_KU_DIGITAL_SIGNATURE : 0) |
	       (ku & CRY_KU_KEYENC ? MBEDTLS_X509_KU_KEY_ENCIPHERMENT : 0) |
	       (ku & CRY_KU_CERTSIGN ? MBEDTLS_X509_KU_KEY_CERT_SIGN : 0) |
	       (ku & CRY_KU_CRLSIGN ? MBEDTLS_X509_KU_CRL_SIGN : 0);
}

/* Everything in the certificate except names and keys. */
static int crt_fields(mbedtls_x509write_cert *w, const struct cry_cert_req *r)
{
	unsigned char ext[EXT_DER_MAX], *p, be[8];
	char nb[15], na[15];
	mbedtls_mpi serial;
	int rc, n;

	if (r->serial == 0 || fmt_time(r->not_before, nb) || fmt_time(r->not_after, na) ||
	    r->not_after < r->not_before)
		return -EINVAL;
	for (int i = 0; i < 8; i++)
		be[i] = (unsigned char)(r->serial >> (56 - 8 * i));
	mbedtls_mpi_init(&serial);
	rc = mbedtls_mpi_read_binary(&serial, be, sizeof be);
	if (!rc)
		rc = mbedtls_x509write_crt_set_serial(w, &serial);
	mbedtls_mpi_free(&serial);
	if (!rc)
		rc = mbedtls_x509write_crt_set_validity(w, nb, na);
	if (!rc)
		rc = mbedtls_x509write_crt_set_basic_constraints(w, r->is_ca ? 1 : 0, -1);
	if (!rc && r->key_usage)
		rc = mbedtls_x509write_crt_set_key_usage(w, ku_bits(r->key_usage));
	if (!rc && (r->ext_key_usage & (CRY_EKU_SERVER | CRY_EKU_CLIENT))) {
		if ((n = eku_der(r->ext_key_usage, ext, sizeof ext, &p)) < 0)
			return cry_mb_err(n, -EIO);
		rc = mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
				OIDLEN(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, p, (size_t)n);
	}
	if (!rc && r->san_dns && *r->san_dns) {
		if ((n = san_der(r->san_dns, ext, sizeof ext, &p)) < 0)
			return cry_mb_err(n, -EIO);
		rc = mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_SUBJECT_ALT_NAME,
				OIDLEN(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, p, (size_t)n);
	}
	if (!rc)
		rc = mbedtls_x509write_crt_set_subject_key_identifier(w);
	if (!rc)
		rc = mbedtls_x509write_crt_set_authority_key_identifier(w);
	return cry_mb_err(rc, -EIO);
}

int cry_cert_make(const struct cry_cert_req *r, char *out, size_t cap,
		  cry_rng_fn rng, void *rctx)
{
	mbedtls_x509write_cert w;
	mbedtls_x509_crt issuer;
	mbedtls_pk_context subj_pub, subj_view, iss_view, *subj = &subj_pub;
	const struct cry_key *ik;
	int rc;

	if (!r || !r->subject || !out || !rng || (r->san_dns && *r->san_dns && !dns_ok(r->san_dns)))
		return -EINVAL;
	ik = r->issuer_key ? r->issuer_key : (r->issuer_cert ? NULL : r->subject_key);
	if (!ik || (!r->subject_pub && !r->subject_key))
		return -EINVAL;
	mbedtls_x509write_crt_init(&w);
	mbedtls_x509_crt_init(&issuer);
	mbedtls_pk_init(&subj_pub);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	if (r->subject_pub) {
		unsigned char *z = NULL;
		size_t zlen = 0;
		if ((rc = cry_mb_zdup(r->subject_pub, r->subject_pub_len, &z, &zlen)))
			goto out;
		rc = mbedtls_pk_parse_public_key(&subj_pub, z, zlen) ? -EINVAL : 0;
		cry_mb_zfree(z, r->subject_pub_len + 1);
		if (rc)
			goto out;
	} else {
		cry_mb_key_view(r->subject_key, &subj_view);
		subj = &subj_view;
	}
	cry_mb_key_view(ik, &iss_view);
	mbedtls_x509write_crt_set_subject_key(&w, subj);
	mbedtls_x509write_crt_set_issuer_key(&w, &iss_view);
	if ((rc = mbedtls_x509write_crt_set_subject_name(&w, r->subject))) {
		rc = cry_mb_err(rc, -EINVAL);
		goto out;
	}
	if (r->issuer_cert) {
		/* the issuer key must be the issuer certificate's key */
		if ((rc = parse_crt(&issuer, r->issuer_cert, r->issuer_cert_len)))
			goto out;
		if (mbedtls_pk_check_pair(&issuer.pk, &iss_view)) {
			rc = -EINVAL;
			goto out;
		}
		if ((rc = copy_name(&w.issuer, &issuer.subject)))
			goto out;
	} else if ((rc = mbedtls_x509write_crt_set_issuer_name(&w, r->subject))) {
		rc = cry_mb_err(rc, -EINVAL);
		goto out;
	}
	if ((rc = crt_fields(&w, r)))
		goto out;
	rc = cry_mb_err(mbedtls_x509write_crt_pem(&w, (unsigned char *)out, cap, rng, rctx), -EIO);
out:
	mbedtls_pk_free(&subj_pub);
	mbedtls_x509_crt_free(&issuer);
	mbedtls_x509write_crt_free(&w);   /* frees the issuer name list too */
	return rc;
}

int cry_cert_info(const uint8_t *pem, size_t len, struct cry_cert_info *out)
{
	mbedtls_x509_crt crt;
	int rc;

	memset(out, 0, sizeof *out);
	mbedtls_x509_crt_init(&crt);
	if ((rc = parse_crt(&crt, pem, len)))
		goto out;
	if (mbedtls_x509_dn_gets(out->subject, sizeof out->subject, &crt.subject) < 0) {
		rc = -ENOSPC;
		goto out;
	}
	for (const mbedtls_x509_sequence *s = &crt.subject_alt_names; s && s->buf.p; s = s->next) {
		if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)) {
			rc = copy_dns(s->buf.p, s->buf.len, out->san_dns, sizeof out->san_dns);
			break;
		}
	}
	if (rc)
		goto out;
	out->not_before = x509_time(&crt.valid_from);
	out->not_after = x509_time(&crt.valid_to);
	out->is_ca = crt.ca_istrue ? 1 : 0;
	rc = cry_mb_pub_pem(&crt.pk, out->pub_pem, sizeof out->pub_pem, NULL);
out:
	if (rc)
		memset(out, 0, sizeof *out);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

/* Verify callback: mbedTLS judged validity by its own clock; judge it again
 * by the caller's. Called for every certificate of the chain, anchor included. */
static int vrfy_time(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	time_t now = *(const time_t *)ctx;

	*flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
	if (now > x509_time(&crt->valid_to))
		*flags |= MBEDTLS_X509_BADCERT_EXPIRED;
	if (now < x509_time(&crt->valid_from))
		*flags |= MBEDTLS_X509_BADCERT_FUTURE;
	return 0;
}

int cry_cert_verify(const uint8_t *cert, size_t clen, const uint8_t *ca, size_t calen, time_t now)
{
	mbedtls_x509_crt crt, anchors;
	uint32_t flags = 0;
	int rc;

	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&anchors);
	if ((rc = parse_crt(&anchors, ca, calen)))
		goto out;
	if (parse_crt(&crt, cert, clen) ||
	    mbedtls_x509_crt_verify(&crt, &anchors, NULL, NULL, &flags, vrfy_time, &now) ||
	    flags)
		rc = -EBADMSG;
out:
	mbedtls_x509_crt_free(&anchors);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

int cry_cert_matches_key(const uint8_t *cert, size_t clen, const struct cry_key *k)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context v;
	int ok;

	mbedtls_x509_crt_init(&crt);
	cry_mb_key_view(k, &v);
	ok = !parse_crt(&crt, cert, clen) && mbedtls_pk_check_pair(&crt.pk, &v) == 0;
	mbedtls_x509_crt_free(&crt);
	return ok;
}
