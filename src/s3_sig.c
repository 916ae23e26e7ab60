/* SPDX-License-Identifier: MIT */
/*
 * s3_sig: AWS Signature Version 4 (header form), as the AWS General
 * Reference describes it: canonical request, string to sign, the HMAC chain
 * "AWS4"+secret -> date -> region -> service -> "aws4_request", and the
 * Authorization header. Pure: no clock and no I/O; checked against the
 * published sig-v4 test suite in tests/test_s3.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cry.h"
#include "s3.h"
#include "util.h"

#define SIG_MAX_HDRS   32      /* headers one request signs (we sign 4-7) */
#define SIG_MAX_QUERY  64      /* query parameters of one request (we send 2) */
#define SIG_MAX_NAME   128     /* one header name */

struct out {
	char *p;
	size_t cap, len;
	int err;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err || n >= o->cap - o->len) {
		o->err = -ENOSPC;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = 0;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..n) percent-decoded, then encoded with only unreserved bytes kept. */
static void reencode(struct out *o, const char *s, size_t n)
{
	static const char hx[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[3];

		if (c == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			c = (unsigned char)(hexval((unsigned char)s[i + 1]) * 16 +
					    hexval((unsigned char)s[i + 2]));
			i += 2;
		}
		if (unreserved(c)) {
			put(o, (const char *)&c, 1);
			continue;
		}
		e[0] = '%';
		e[1] = hx[c >> 4];
		e[2] = hx[c & 15];
		put(o, e, 3);
	}
}

struct qp {
	const char *k;
	const char *v;
};

static int qp_cmp(const void *a, const void *b)
{
	const struct qp *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

/* The canonical query: every name=value re-encoded, sorted, '&'-joined. */
static int canon_query(struct out *o, const char *q)
{
	char buf[HCL_MAX_URL * 3 + 2 * SIG_MAX_QUERY + 2];
	struct out b = { buf, sizeof buf, 0, 0 };
	struct qp qp[SIG_MAX_QUERY];
	size_t nq = 0;

	while (q && *q) {
		size_t len = strcspn(q, "&"), kl = strcspn(q, "=");
		size_t ko, vo;

		if (kl > len)
			kl = len;
		if (len) {
			if (nq == SIG_MAX_QUERY)
				return -EINVAL;
			ko = b.len;
			reencode(&b, q, kl);
			put(&b, "", 1);           /* a NUL between the strings */
			b.len++;
			vo = b.len;
			if (kl < len)
				reencode(&b, q + kl + 1, len - kl - 1);
			put(&b, "", 1);
			b.len++;
			if (b.err || b.len >= b.cap)
				return -ENOSPC;
			qp[nq].k = buf + ko;
			qp[nq].v = buf + vo;
			nq++;
		}
		q += len + (q[len] == '&');
	}
	qsort(qp, nq, sizeof qp[0], qp_cmp);
	for (size_t i = 0; i < nq; i++) {
		if (i)
			puts_(o, "&");
		puts_(o, qp[i].k);
		puts_(o, "=");
		puts_(o, qp[i].v);
	}
	return o->err;
}

struct hd {
	char name[SIG_MAX_NAME + 1];
	const char *v;
	size_t order;
};

static int hd_cmp(const void *a, const void *b)
{
	const struct hd *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

/* A value trimmed, with each run of spaces or tabs folded to one space. */
static void put_value(struct out *o, const char *v)
{
	int sp = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			sp = 1;
			continue;
		}
		if (sp)
			puts_(o, " ");
		sp = 0;
		put(o, v, 1);
	}
}

/* Canonical headers ("name:value\n" each) into o, signed header names into sh. */
static int canon_headers(const struct s3_sig_in *in, struct out *o, struct out *sh)
{
	struct hd h[SIG_MAX_HDRS];

	if (in->nhdrs > SIG_MAX_HDRS)
		return -EINVAL;
	for (size_t i = 0; i < in->nhdrs; i++) {
		size_t n = strlen(in->hdrs[i].name);

		if (!n || n > SIG_MAX_NAME)
			return -EINVAL;
		for (size_t j = 0; j <= n; j++) {
			char c = in->hdrs[i].name[j];
			h[i].name[j] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		h[i].v = in->hdrs[i].value;
		h[i].order = i;
	}
	qsort(h, in->nhdrs, sizeof h[0], hd_cmp);
	for (size_t i = 0; i < in->nhdrs; i++) {
		int dup = i && strcmp(h[i].name, h[i - 1].name) == 0;

		if (dup) {
			o->len--;                 /* the '\n' of the previous value */
			puts_(o, ",");
		} else {
			if (i)
				puts_(sh, ";");
			puts_(sh, h[i].name);
			puts_(o, h[i].name);
			puts_(o, ":");
		}
		put_value(o, h[i].v);
		puts_(o, "\n");
	}
	return o->err ? o->err : sh->err;
}

static int canonical(const struct s3_sig_in *in, char *out, size_t cap, char *sh, size_t shcap)
{
	struct out o = { out, cap, 0, 0 }, s = { sh, shcap, 0, 0 };
	int rc;

	if (!in->method || !in->path || !in->payload_hash || !cap || !shcap)
		return -EINVAL;
	out[0] = sh[0] = 0;
	puts_(&o, in->method);
	puts_(&o, "\n");
	puts_(&o, in->path);
	puts_(&o, "\n");
	if ((rc = canon_query(&o, in->query)) < 0)
		return rc;
	puts_(&o, "\n");
	if ((rc = canon_headers(in, &o, &s)) < 0)
		return rc;
	puts_(&o, "\n");
	puts_(&o, sh);
	puts_(&o, "\n");
	puts_(&o, in->payload_hash);
	return o.err ? o.err : (int)o.len;
}

int s3_sig_canonical(const struct s3_sig_in *in, char *out, size_t cap)
{
	char sh[SIG_MAX_HDRS * (SIG_MAX_NAME + 1) + 1];

	return canonical(in, out, cap, sh, sizeof sh);
}

static void hmac(const uint8_t *k, size_t kl, const char *m, uint8_t out[static 32])
{
	cry_hmac_sha256(k, kl, m, strlen(m), out);
}

int s3_sig_sign(const struct s3_sig_in *in, char *auth, size_t auth_cap, char *sts, size_t sts_cap)
{
	char creq[HCL_MAX_REQ_HEAD + HCL_MAX_URL * 3], sh[SIG_MAX_HDRS * (SIG_MAX_NAME + 1) + 1];
	char scope[16 + 2 * S3_MAX_REGION + 32], s2s[sizeof scope + 128], hex[65], date[9];
	char kbuf[4 + S3_MAX_SECRET + 1];
	uint8_t h[32], k[32];
	int rc, n;

	if (!in->access_key || !in->secret_key || !in->region || !in->service || !in->amz_date ||
	    strlen(in->amz_date) != 16 || strlen(in->secret_key) > S3_MAX_SECRET ||
	    strlen(in->region) > S3_MAX_REGION || strlen(in->service) > S3_MAX_REGION)
		return -EINVAL;
	if ((rc = canonical(in, creq, sizeof creq, sh, sizeof sh)) < 0)
		return rc;
	memcpy(date, in->amz_date, 8);
	date[8] = 0;
	snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, in->region, in->service);
	cry_sha256(creq, (size_t)rc, h);
	cry_hex(h, 32, hex);
	snprintf(s2s, sizeof s2s, "AWS4-HMAC-SHA256\n%s\n%s\n%s", in->amz_date, scope, hex);
	if (sts && (size_t)snprintf(sts, sts_cap, "%s", s2s) >= sts_cap)
		return -ENOSPC;
	n = snprintf(kbuf, sizeof kbuf, "AWS4%s", in->secret_key);
	hmac((const uint8_t *)kbuf, (size_t)n, date, k);
	wipe(kbuf, sizeof kbuf);
	hmac(k, 32, in->region, k);
	hmac(k, 32, in->service, k);
	hmac(k, 32, "aws4_request", k);
	hmac(k, 32, s2s, h);
	wipe(k, sizeof k);
	cry_hex(h, 32, hex);
	n = snprintf(auth, auth_cap, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		     in->access_key, scope, sh, hex);
	return n < 0 || (size_t)n >= auth_cap ? -ENOSPC : 0;
}

void s3_amz_date(int64_t t, char out[static 17])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}
