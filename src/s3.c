/* SPDX-License-Identifier: MIT */
/*
 * s3: the S3 object client (contract in s3.h): requests signed with SigV4
 * (s3_sig.c) or carrying an IAM bearer token (iam.c), retried with backoff,
 * single and multipart uploads checked against their ETags, aborted when
 * they fail, and the small XML reader for the replies.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cry.h"
#include "iam.h"
#include "s3.h"
#include "util.h"

/* ---- XML ---- */

struct xr {
	const uint8_t *p;
	size_t n, i;
};

static int xr_skip_to(struct xr *x, const char *end)
{
	size_t el = strlen(end);

	for (; x->i + el <= x->n; x->i++)
		if (memcmp(x->p + x->i, end, el) == 0) {
			x->i += el;
			return 0;
		}
	return -EPROTO;
}

static int name_ch(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == ':';
}

/* An element name at x->i: its local part (after any "prefix:") in [*s, *e). */
static int xr_name(struct xr *x, size_t *s, size_t *e)
{
	size_t b = x->i;

	while (x->i < x->n && name_ch(x->p[x->i]))
		x->i++;
	if (x->i == b)
		return -EPROTO;
	*s = b;
	*e = x->i;
	for (size_t k = b; k < x->i; k++)
		if (x->p[k] == ':')
			*s = k + 1;
	return 0;
}

/* Decodes the text [b, e) into out: length, -E2BIG, -EPROTO. */
static int xml_decode(const uint8_t *p, size_t b, size_t e, char *out, size_t cap)
{
	static const struct { const char *n; char c; } ent[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
	};
	size_t o = 0;

	for (size_t i = b; i < e; i++) {
		char c = (char)p[i];

		if (c == '&') {
			size_t k;
			for (k = 0; k < sizeof ent / sizeof ent[0]; k++) {
				size_t l = strlen(ent[k].n);
				if (e - i - 1 >= l && memcmp(p + i + 1, ent[k].n, l) == 0) {
					c = ent[k].c;
					i += l;
					break;
				}
			}
			if (k == sizeof ent / sizeof ent[0])
				return -EPROTO;
		}
		if (o + 1 >= cap)
			return -E2BIG;
		out[o++] = c;
	}
	out[o] = 0;
	return (int)o;
}

/* One start or end tag at x->i (just after '<'). */
static int xr_tag(struct xr *x, size_t st[][2], int *depth, const char *want, size_t wl,
		  size_t *tb, int *found)
{
	size_t s, e;
	int close = 0, empty = 0;

	if (x->i < x->n && x->p[x->i] == '/') {
		close = 1;
		x->i++;
	}
	if (xr_name(x, &s, &e) < 0)
		return -EPROTO;
	for (; x->i < x->n && x->p[x->i] != '>'; x->i++)
		if (x->p[x->i] == '<' || (close && x->p[x->i] > ' '))
			return -EPROTO;
	if (x->i >= x->n)
		return -EPROTO;
	empty = x->p[x->i - 1] == '/' && !close;
	x->i++;
	if (close) {
		if (*depth == 0 || st[*depth - 1][1] - st[*depth - 1][0] != e - s ||
		    memcmp(x->p + st[*depth - 1][0], x->p + s, e - s) != 0)
			return -EPROTO;
		(*depth)--;
		if (*found == 1 && (size_t)*depth == (size_t)found[1])
			*found = 2;
		return 0;
	}
	if (*found == 1)                  /* the element wanted has children: not a leaf */
		*found = 0;
	if (!empty) {
		if (*depth == S3_MAX_XML_DEPTH)
			return -EPROTO;
		st[*depth][0] = s;
		st[*depth][1] = e;
		(*depth)++;
	}
	if (!*found && e - s == wl && memcmp(x->p + s, want, wl) == 0) {
		*tb = x->i;
		*found = empty ? 3 : 1;
		found[1] = *depth - 1;
	}
	return 0;
}

int s3_xml_text(const uint8_t *p, size_t n, const char *name, char *out, size_t cap)
{
	struct xr x = { p, n, 0 };
	size_t st[S3_MAX_XML_DEPTH][2], tb = 0, te = 0;
	int depth = 0, found[2] = { 0, 0 }, rc, seen = 0, done = 0;
	size_t wl = strlen(name);

	if (n > S3_MAX_XML || !cap)
		return n > S3_MAX_XML ? -E2BIG : -EINVAL;
	if (memchr(p, 0, n))
		return -EPROTO;
	while (x.i < x.n) {
		if (x.p[x.i] != '<') {
			x.i++;
			continue;
		}
		x.i++;
		if (found[0] == 1 && x.i < x.n && (x.p[x.i] == '?' || x.p[x.i] == '!'))
			found[0] = 0;             /* markup inside the text: not a plain leaf */
		if (x.i < x.n && x.p[x.i] == '?')
			rc = xr_skip_to(&x, "?>");
		else if (x.i + 3 <= x.n && memcmp(x.p + x.i, "!--", 3) == 0)
			rc = xr_skip_to(&x, "-->");
		else if (x.i < x.n && x.p[x.i] == '!')
			rc = -EPROTO;             /* DOCTYPE, CDATA: S3 sends neither */
		else {
			size_t before = x.i - 1;
			rc = xr_tag(&x, st, &depth, name, wl, &tb, found);
			if (rc == 0 && !done && found[0] == 2) {
				te = before;
				done = 1;
			} else if (rc == 0 && !done && found[0] == 3) {
				tb = te = 0;
				done = 1;
			}
			seen = 1;
		}
		if (rc < 0)
			return rc;
	}
	if (!seen || depth != 0)
		return -EPROTO;
	if (!done)
		return -ENOENT;
	if (tb == te) {
		out[0] = 0;
		return 0;
	}
	return xml_decode(p, tb, te, out, cap);
}

/* ---- requests ---- */

struct s3 {
	const struct s3_cfg *c;
	struct hcl_sess sess;
	char base[HCL_MAX_URL + 1];        /* the endpoint without a trailing '/' */
	char host[HCL_MAX_HOST + 16];      /* the Host header hcl sends */
	char *err;
	size_t errcap;
	unsigned retries, backoff;
	int bearer;
};

struct call {
	const char *op;                    /* "PUT", "upload part 3", ... for messages */
	const char *method;
	const char *key;
	const char *query;                 /* "" or "uploadId=..." */
	const uint8_t *body;
	size_t len;
	const char *md5_b64;               /* Content-MD5 or NULL */
	uint64_t max;
};

static int seterr(struct s3 *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int seterr(struct s3 *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	util_verr(s->err, s->errcap, rc, fmt, ap);
	va_end(ap);
	return rc;
}

static int bucket_ok(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > S3_MAX_BUCKET || b[0] == '.' || b[0] == '-' || b[n - 1] == '.' ||
	    b[n - 1] == '-')
		return 0;
	for (; *b; b++)
		if (!((*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9') || *b == '-' || *b == '.'))
			return 0;
	return 1;
}

static int set(const char *s)
{
	return s && *s;
}

int s3_check(const struct s3_cfg *c, char *err, size_t errcap)
{
	struct hcl_url u;
	int rc;

	if (!set(c->bucket) || !bucket_ok(c->bucket))
		return util_err(err, errcap, -EINVAL, "bucket name \"%.64s\" is not a valid S3 bucket "
				"name (3-63 of a-z 0-9 . -)", c->bucket ? c->bucket : "");
	if (!set(c->endpoint))
		return util_err(err, errcap, -EINVAL, "bucket %s: no COS endpoint (*_COS_ENDPOINT)",
				c->bucket);
	rc = hcl_url_parse(c->endpoint, &u);
	if (rc == 0 && (u.has_userinfo || strcmp(u.path, "/") != 0))
		rc = -EINVAL;
	hcl_url_wipe(&u);
	if (rc < 0)
		return util_err(err, errcap, -EINVAL, "bucket %s: the COS endpoint must be an "
				"http(s)://host[:port] URL (no credentials, path or query)", c->bucket);
	if (set(c->api_key)) {
		if (!set(c->auth_endpoint))
			return util_err(err, errcap, -EINVAL, "bucket %s: an API key needs an IAM "
					"auth endpoint (*_COS_AUTH_ENDPOINT)", c->bucket);
		return 0;
	}
	if (!set(c->access_key) || !set(c->secret_key))
		return util_err(err, errcap, -EINVAL, "bucket %s: no credentials (an API key, or "
				"an HMAC access key id and secret access key)", c->bucket);
	if (strlen(c->access_key) > S3_MAX_SECRET || strlen(c->secret_key) > S3_MAX_SECRET ||
	    (c->region && strlen(c->region) > S3_MAX_REGION))
		return util_err(err, errcap, -EINVAL, "bucket %s: HMAC key or region too long",
				c->bucket);
	return 0;
}

static int s3_open(struct s3 *s, const struct s3_cfg *c, char *err, size_t errcap)
{
	struct hcl_url u;
	size_t n;
	int rc;

	memset(s, 0, sizeof *s);
	s->c = c;
	s->err = err;
	s->errcap = errcap;
	if ((rc = s3_check(c, err, errcap)) < 0)
		return rc;
	hcl_url_parse(c->endpoint, &u);
	snprintf(s->host, sizeof s->host, "%s%s%s", u.host, u.port_given ? ":" : "",
		 u.port_given ? u.port : "");
	hcl_url_wipe(&u);
	n = (size_t)snprintf(s->base, sizeof s->base, "%s", c->endpoint);
	while (n && s->base[n - 1] == '/')
		s->base[--n] = 0;
	hcl_sess_init(&s->sess);
	s->sess.ca_pem = c->ca_pem;
	s->sess.ca_len = c->ca_len;
	s->retries = c->retries ? c->retries : S3_RETRIES;
	s->backoff = c->backoff_ms ? c->backoff_ms : S3_BACKOFF_MS;
	s->bearer = set(c->api_key);
	return 0;
}

static void s3_close(struct s3 *s)
{
	hcl_sess_close(&s->sess);
}

/* "/<bucket>/<key percent-encoded, '/' kept>" */
static int obj_path(const struct s3 *s, const char *key, char *out, size_t cap)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t o = (size_t)snprintf(out, cap, "/%s/", s->c->bucket);

	if (!key || !*key || strlen(key) > S3_MAX_KEY)
		return -EINVAL;
	for (; *key; key++) {
		unsigned char c = (unsigned char)*key;
		if (o + 4 > cap)
			return -ENAMETOOLONG;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hx[c >> 4];
			out[o++] = hx[c & 15];
		}
	}
	out[o] = 0;
	return 0;
}

/* The headers of one request, signed or with the bearer token. */
struct hdrs {
	struct hcl_hdr h[8];
	size_t n;
	char date[17], sha[65], auth[HCL_MAX_CRED + IAM_MAX_TOKEN + 64];   /* auth: SECRET */
};

static int auth_hdrs(struct s3 *s, const struct call *q, const char *path, struct hdrs *h)
{
	const struct s3_cfg *c = s->c;
	uint8_t d[32];
	int rc;

	s3_amz_date((int64_t)time(NULL), h->date);
	cry_sha256(q->body ? q->body : (const uint8_t *)"", q->len, d);
	cry_hex(d, 32, h->sha);
	h->n = 0;
	h->h[h->n++] = (struct hcl_hdr){ "Host", s->host };
	h->h[h->n++] = (struct hcl_hdr){ "x-amz-date", h->date };
	h->h[h->n++] = (struct hcl_hdr){ "x-amz-content-sha256", h->sha };
	if (q->md5_b64)
		h->h[h->n++] = (struct hcl_hdr){ "Content-MD5", q->md5_b64 };
	if (s->bearer) {
		char tok[IAM_MAX_TOKEN + 1], ierr[256];
		rc = iam_token(c->auth_endpoint, c->api_key, c->ca_pem, c->ca_len, c->log_fd, tok,
			       sizeof tok, ierr, sizeof ierr);
		if (rc == 0)
			snprintf(h->auth, sizeof h->auth, "Bearer %s", tok);
		wipe(tok, sizeof tok);
		if (rc < 0)
			return seterr(s, rc, "%s s3://%s/%s: %s", q->op, c->bucket, q->key, ierr);
		if (set(c->resource_crn))
			h->h[h->n++] = (struct hcl_hdr){ "ibm-service-instance-id", c->resource_crn };
	} else {
		struct s3_sig_in in = {
			.method = q->method, .path = path, .query = q->query, .hdrs = h->h,
			.nhdrs = h->n, .payload_hash = h->sha, .access_key = c->access_key,
			.secret_key = c->secret_key, .region = set(c->region) ? c->region : "us-east-1",
			.service = "s3", .amz_date = h->date,
		};
		if ((rc = s3_sig_sign(&in, h->auth, sizeof h->auth, NULL, 0)) < 0)
			return seterr(s, rc, "%s s3://%s/%s: cannot sign the request", q->op,
				      c->bucket, q->key);
	}
	h->h[h->n++] = (struct hcl_hdr){ "Authorization", h->auth };
	return 0;
}

/* One try: 0 with resp filled (any status), or a transport error. */
static int send1(struct s3 *s, const struct call *q, struct hcl_resp *resp)
{
	char path[HCL_MAX_URL + 1], url[2 * HCL_MAX_URL + 2];
	struct hdrs h;
	int rc;

	memset(resp, 0, sizeof *resp);
	if ((rc = obj_path(s, q->key, path, sizeof path)) < 0)
		return seterr(s, rc, "%s s3://%s: object key too long or empty", q->op, s->c->bucket);
	snprintf(url, sizeof url, "%s%s%s%s", s->base, path, *q->query ? "?" : "", q->query);
	if ((rc = auth_hdrs(s, q, path, &h)) < 0) {
		wipe(&h, sizeof h);
		return rc;
	}
	struct hcl_req rq = {
		.sess = &s->sess, .method = q->method, .url = url, .hdrs = h.h + 1, .nhdrs = h.n - 1,
		.body = q->body, .body_len = q->len, .max_body = q->max ? q->max : S3_MAX_XML,
		.no_redirect = 1, .keep_head = 1,
	};
	rc = hcl_request(&rq, resp);
	wipe(&h, sizeof h);
	if (rc < 0)
		seterr(s, rc, "%s s3://%s/%s: %s", q->op, s->c->bucket, q->key, s->sess.err);
	return rc;
}

static int transient(int rc)
{
	return rc == -ETIMEDOUT || rc == -EHOSTUNREACH || rc == -EPROTO || rc == -ECONNRESET ||
	       rc == -ECONNREFUSED || rc == -EPIPE || rc == -EAGAIN;
}

static void pause_ms(unsigned ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* The store's error Code (letters, digits) from an XML error body, or "". */
static void err_code(const struct hcl_resp *r, char *out, size_t cap)
{
	char t[64];
	size_t o = 0;

	out[0] = 0;
	if (!r->body || s3_xml_text(r->body, r->body_len, "Code", t, sizeof t) < 0)
		return;
	for (const char *c = t; *c && o + 1 < cap; c++)
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))
			out[o++] = *c;
	out[o] = 0;
}

/* send1 retried on transport errors, 5xx and 429 with backoff; a bearer
 * token the store refuses is renewed once. Then the status: 0 for a 2xx,
 * else an errno and s->err naming the operation, bucket, key and status. */
static int call(struct s3 *s, const struct call *q, struct hcl_resp *resp)
{
	unsigned delay = s->backoff;
	int rc, renewed = 0;
	char code[48];

	for (unsigned a = 0;;) {
		rc = send1(s, q, resp);
		if (rc == 0 && s->bearer && !renewed && (resp->status == 401 || resp->status == 403)) {
			iam_forget();             /* expired or revoked before we thought */
			renewed = 1;
			hcl_resp_free(resp);
			continue;                 /* not counted as a retry */
		}
		if (!(rc < 0 ? transient(rc) : resp->status >= 500 || resp->status == 429) ||
		    a++ >= s->retries)
			break;
		if (s->c->log_fd >= 0)
			dprintf(s->c->log_fd, "s3: %s s3://%s/%s: %s%d; retry %u/%u in %u ms\n", q->op,
				s->c->bucket, q->key, rc < 0 ? "error " : "HTTP ",
				rc < 0 ? rc : resp->status, a, s->retries, delay);
		hcl_resp_free(resp);
		pause_ms(delay);
		delay = delay * 2 > S3_MAX_BACKOFF_MS ? S3_MAX_BACKOFF_MS : delay * 2;
	}
	if (rc < 0)
		return rc;
	if (resp->status >= 200 && resp->status < 300)
		return 0;
	err_code(resp, code, sizeof code);
	rc = resp->status == 401 || resp->status == 403 ? -EACCES : resp->status == 404 ? -ENOENT : -EIO;
	return seterr(s, rc, "%s s3://%s/%s: HTTP %d%s%s", q->op, s->c->bucket, q->key, resp->status,
		      *code ? " " : "", code);
}

/* ---- uploads ---- */

struct src {
	int fd;
	const uint8_t *mem;
	uint64_t size;
};

static int src_read(const struct src *r, uint64_t off, uint8_t *buf, size_t n)
{
	size_t got = 0;

	if (r->fd < 0) {
		memcpy(buf, r->mem + off, n);
		return 0;
	}
	while (got < n) {
		ssize_t k = pread(r->fd, buf + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		got += (size_t)k;
	}
	return 0;
}

/* ETag (quotes dropped) equals the hex of md5 (with suffix, e.g. "-3"). */
static int etag_is(const char *etag, const uint8_t md5[static 16], const char *suffix)
{
	char want[33 + 16];
	size_t n = strlen(etag);

	cry_hex(md5, 16, want);
	strcat(want, suffix);
	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		etag++;
		n -= 2;
	}
	return n == strlen(want) && strncasecmp(etag, want, n) == 0;
}

static int resp_etag(struct s3 *s, const struct hcl_resp *r, const struct call *q, char *out)
{
	if (hcl_resp_header(r, "ETag", out, S3_MAX_ETAG + 1) < 0)
		return seterr(s, -EPROTO, "%s s3://%s/%s: the reply has no ETag", q->op,
			      s->c->bucket, q->key);
	return 0;
}

static void md5_b64(const uint8_t *p, size_t n, uint8_t md5[static 16], char b64[static 25])
{
	struct cry_md5 m;
	size_t ol;

	cry_md5_init(&m);
	cry_md5_update(&m, p, n);
	cry_md5_final(&m, md5);
	cry_b64_encode(md5, 16, b64, 25, &ol);
}

static void delete_obj(struct s3 *s, const char *key)
{
	struct call q = { .op = "DELETE", .method = "DELETE", .key = key, .query = "" };
	struct hcl_resp r;
	char keep[256];

	snprintf(keep, sizeof keep, "%s", s->err);   /* the first failure is the one reported */
	call(s, &q, &r);
	hcl_resp_free(&r);
	snprintf(s->err, s->errcap, "%s", keep);
}

static int put_single(struct s3 *s, const char *key, const uint8_t *p, size_t n)
{
	char b64[25], etag[S3_MAX_ETAG + 1];
	uint8_t md5[16];
	struct call q = { .op = "PUT", .method = "PUT", .key = key, .query = "", .body = p,
			  .len = n, .md5_b64 = b64 };
	struct hcl_resp r;
	int rc;

	md5_b64(p, n, md5, b64);
	rc = call(s, &q, &r);
	if (rc == 0 && (rc = resp_etag(s, &r, &q, etag)) == 0 && !etag_is(etag, md5, "")) {
		rc = seterr(s, -EBADMSG, "PUT s3://%s/%s: the stored object's ETag is not the MD5 "
			    "of what was sent", s->c->bucket, key);
		delete_obj(s, key);
	}
	hcl_resp_free(&r);
	return rc;
}

struct mp {
	struct s3 *s;
	const char *key;
	char id[S3_MAX_UPLOAD_ID + 1];
	char idq[S3_MAX_UPLOAD_ID * 3 + 32];   /* "uploadId=<encoded>" */
	uint8_t *md5s;                         /* 16 bytes per part */
	unsigned parts;
};

static int mp_create(struct mp *m)
{
	struct call q = { .op = "initiate multipart upload", .method = "POST", .key = m->key,
			  .query = "uploads" };
	struct hcl_resp r;
	int rc = call(m->s, &q, &r);

	if (rc == 0 && s3_xml_text(r.body, r.body_len, "UploadId", m->id, sizeof m->id) <= 0)
		rc = seterr(m->s, -EPROTO, "initiate multipart upload s3://%s/%s: no UploadId in "
			    "the reply", m->s->c->bucket, m->key);
	hcl_resp_free(&r);
	if (rc == 0) {
		size_t o = (size_t)snprintf(m->idq, sizeof m->idq, "uploadId=");
		for (const char *c = m->id; *c; c++) {
			unsigned char ch = (unsigned char)*c;
			if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~')
				m->idq[o++] = (char)ch;
			else
				o += (size_t)snprintf(m->idq + o, 4, "%%%02X", ch);
		}
		m->idq[o] = 0;
	}
	return rc;
}

static int mp_part(struct mp *m, unsigned no, const uint8_t *p, size_t n)
{
	char b64[25], etag[S3_MAX_ETAG + 1], op[48], query[sizeof m->idq + 32];
	struct call q = { .op = op, .method = "PUT", .key = m->key, .query = query, .body = p,
			  .len = n, .md5_b64 = b64 };
	struct hcl_resp r;
	int rc;

	snprintf(op, sizeof op, "upload part %u", no);
	snprintf(query, sizeof query, "partNumber=%u&%s", no, m->idq);
	md5_b64(p, n, m->md5s + 16u * (no - 1), b64);
	rc = call(m->s, &q, &r);
	if (rc == 0 && (rc = resp_etag(m->s, &r, &q, etag)) == 0 &&
	    !etag_is(etag, m->md5s + 16u * (no - 1), ""))
		rc = seterr(m->s, -EBADMSG, "upload part %u s3://%s/%s: the part's ETag is not the "
			    "MD5 of what was sent", no, m->s->c->bucket, m->key);
	hcl_resp_free(&r);
	return rc;
}

/* CompleteMultipartUpload; the object's ETag must be the MD5 of the part
 * MD5s with "-<parts>" (AWS, IBM COS, MinIO, Ceph) or the MD5 of the whole
 * object (s3rver, some gateways). */
static int mp_complete(struct mp *m, const uint8_t whole[static 16])
{
	char etag[S3_MAX_ETAG + 1], hex[33], suffix[16];
	struct buf b = { 0 };
	struct cry_md5 c;
	uint8_t mm[16];
	struct hcl_resp r;
	int rc = 0;

	rc |= buf_printf(&b, "<CompleteMultipartUpload>");
	for (unsigned i = 0; i < m->parts; i++) {
		cry_hex(m->md5s + 16u * i, 16, hex);
		rc |= buf_printf(&b, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>",
				 i + 1, hex);
	}
	rc |= buf_printf(&b, "</CompleteMultipartUpload>");
	if (rc < 0) {
		buf_free(&b);
		return seterr(m->s, -ENOMEM, "complete multipart upload: out of memory");
	}
	struct call q = { .op = "complete multipart upload", .method = "POST", .key = m->key,
			  .query = m->idq, .body = b.data, .len = b.len };
	rc = call(m->s, &q, &r);
	buf_free(&b);
	/* S3 may answer 200 and put an <Error> in the body (a failure after the
	 * head went out): no ETag element then. */
	if (rc == 0 && s3_xml_text(r.body, r.body_len, "ETag", etag, sizeof etag) < 0) {
		char code[64] = "";
		s3_xml_text(r.body, r.body_len, "Code", code, sizeof code);
		rc = seterr(m->s, -EIO, "complete multipart upload s3://%s/%s: the store answered "
			    "an error%s%.40s", m->s->c->bucket, m->key, *code ? " " : "", code);
	}
	hcl_resp_free(&r);
	if (rc < 0)
		return rc;
	cry_md5_init(&c);
	cry_md5_update(&c, m->md5s, 16u * m->parts);
	cry_md5_final(&c, mm);
	snprintf(suffix, sizeof suffix, "-%u", m->parts);
	if (!etag_is(etag, mm, suffix) && !etag_is(etag, whole, ""))
		return seterr(m->s, -EBADMSG, "complete multipart upload s3://%s/%s: the object's "
			      "ETag matches neither its parts nor its content", m->s->c->bucket,
			      m->key);
	return 0;
}

/* Abort (retried like any call); a failure here is logged, the first error stays. */
static void mp_abort(struct mp *m)
{
	struct call q = { .op = "abort multipart upload", .method = "DELETE", .key = m->key,
			  .query = m->idq };
	struct hcl_resp r;
	char keep[512];

	snprintf(keep, sizeof keep, "%s", m->s->err);
	if (call(m->s, &q, &r) < 0 && m->s->c->log_fd >= 0)
		dprintf(m->s->c->log_fd, "s3: %s\n", m->s->err);
	else if (m->s->c->log_fd >= 0)
		dprintf(m->s->c->log_fd, "s3: multipart upload of s3://%s/%s aborted\n",
			m->s->c->bucket, m->key);
	hcl_resp_free(&r);
	snprintf(m->s->err, m->s->errcap, "%s", keep);
}

static int put_multi(struct s3 *s, const char *key, const struct src *src, size_t part)
{
	struct mp m = { .s = s, .key = key };
	uint64_t nparts = (src->size + part - 1) / part;
	struct cry_md5 whole;
	uint8_t wd[16], *buf = malloc(part);
	int rc;

	m.md5s = calloc((size_t)nparts, 16);
	if (!buf || !m.md5s) {
		free(buf);
		free(m.md5s);
		return seterr(s, -ENOMEM, "PUT s3://%s/%s: out of memory", s->c->bucket, key);
	}
	cry_md5_init(&whole);
	rc = mp_create(&m);
	for (uint64_t i = 0; rc == 0 && i < nparts; i++) {
		uint64_t off = i * part;
		size_t n = (size_t)(src->size - off < part ? src->size - off : part);

		if ((rc = src_read(src, off, buf, n)) < 0) {
			seterr(s, rc, "PUT s3://%s/%s: cannot read the file", s->c->bucket, key);
			break;
		}
		cry_md5_update(&whole, buf, n);
		rc = mp_part(&m, (unsigned)i + 1, buf, n);
		m.parts = (unsigned)i + 1;
	}
	cry_md5_final(&whole, wd);
	if (rc == 0 && (rc = mp_complete(&m, wd)) == -EBADMSG)
		delete_obj(s, key);
	else if (rc < 0 && m.id[0])
		mp_abort(&m);
	if (rc == 0 && s->c->log_fd >= 0)
		dprintf(s->c->log_fd, "s3: s3://%s/%s stored in %u parts\n", s->c->bucket, key,
			m.parts);
	free(buf);
	free(m.md5s);
	return rc;
}

static size_t part_size(const struct s3_cfg *c, uint64_t size)
{
	const char *e = getenv("SBS_S3_PART_SIZE");   /* tests only: see limits.h */
	uint64_t p = c->part_size ? c->part_size : S3_PART_SIZE;

	if (!c->part_size && e && *e) {
		uint64_t v;
		if (util_parse_u64(e, strlen(e), S3_PART_SIZE, &v) == 0 && v >= 64)
			p = v;
	}
	if ((size + p - 1) / p > S3_MAX_PARTS)
		p = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
	return (size_t)p;
}

int s3_put(const struct s3_cfg *c, const char *key, int fd, const uint8_t *mem, uint64_t size,
	   char *err, size_t errcap)
{
	struct src src = { fd, mem, size };
	struct s3 s;
	size_t part;
	int rc;

	if ((rc = s3_open(&s, c, err, errcap)) < 0)
		return rc;
	part = part_size(c, size);
	if (size > part) {
		rc = put_multi(&s, key, &src, part);
	} else {
		uint8_t *buf = fd >= 0 ? malloc(size ? (size_t)size : 1) : NULL;
		if (fd >= 0 && !buf)
			rc = seterr(&s, -ENOMEM, "PUT s3://%s/%s: out of memory", c->bucket, key);
		else if (fd >= 0 && (rc = src_read(&src, 0, buf, (size_t)size)) < 0)
			seterr(&s, rc, "PUT s3://%s/%s: cannot read the file", c->bucket, key);
		else
			rc = put_single(&s, key, fd >= 0 ? buf : mem, (size_t)size);
		free(buf);
	}
	s3_close(&s);
	return rc;
}

int s3_get(const struct s3_cfg *c, const char *key, size_t max, uint8_t **out, size_t *len,
	   char *err, size_t errcap)
{
	struct call q = { .op = "GET", .method = "GET", .key = key, .query = "", .max = max };
	char etag[S3_MAX_ETAG + 1];
	struct hcl_resp r;
	struct s3 s;
	uint8_t md5[16];
	char b64[25];
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = s3_open(&s, c, err, errcap)) < 0)
		return rc;
	rc = call(&s, &q, &r);
	if (rc == -E2BIG)
		seterr(&s, rc, "GET s3://%s/%s: the object is larger than %zu bytes", c->bucket, key,
		       max);
	/* A single-part object's ETag is the MD5 of its bytes: check it. */
	if (rc == 0 && hcl_resp_header(&r, "ETag", etag, sizeof etag) > 0 && !strchr(etag, '-')) {
		md5_b64(r.body, r.body_len, md5, b64);
		if (!etag_is(etag, md5, ""))
			rc = seterr(&s, -EBADMSG, "GET s3://%s/%s: the body does not match the "
				    "object's ETag", c->bucket, key);
	}
	if (rc == 0) {
		*out = r.body;
		*len = r.body_len;
		r.body = NULL;
	}
	hcl_resp_free(&r);
	s3_close(&s);
	return rc;
}
