/* SPDX-License-Identifier: MIT */
/*
 * hcl: the HTTP(S) client (contract in hcl.h). The response head goes through
 * src/http.c (parsed as the head of a body-less message, so the parser stops
 * right after it); the body is framed here (Content-Length, chunked, or up to
 * EOF) so that it can stream to a sink without being kept. Sockets are
 * non-blocking and every wait is a poll() bounded by the I/O timeout and the
 * request deadline. Location is the only header read beyond what the parser
 * keeps; it is taken from a copy of the validated head, which a caller may
 * also keep (req->keep_head) to read other headers with hcl_resp_header().
 */
#include "hcl.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cry.h"
#include "http.h"
#include "util.h"

#define LINE_MAX_HCL 1024           /* chunk-size and trailer lines */

/* ---- URLs ------------------------------------------------------------------ */

/* Percent-decodes s[0..n) into out (cap bytes with the NUL). */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int h, l;

			if (n - i < 3 || (h = util_hexval(s[i + 1])) < 0 || (l = util_hexval(s[i + 2])) < 0)
				return -EINVAL;
			c = h << 4 | l;
			i += 2;
		}
		if (c == 0 || o + 1 >= cap)
			return c ? -E2BIG : -EINVAL;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

static int host_ok(const char *h, size_t n)
{
	if (n == 0)
		return 0;
	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']')
			return 0;
		for (size_t i = 1; i + 1 < n; i++)
			if (util_hexval(h[i]) < 0 && h[i] != ':' && h[i] != '.')
				return 0;
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int userinfo(const char *s, size_t n, struct hcl_url *u)
{
	const char *c = memchr(s, ':', n);
	size_t ul = c ? (size_t)(c - s) : n;
	int rc;

	u->has_userinfo = 1;
	rc = pct_decode(s, ul, u->user, sizeof u->user);
	if (rc == 0 && c)
		rc = pct_decode(c + 1, n - ul - 1, u->pass, sizeof u->pass);
	return rc;
}

static int authority(const char *s, size_t n, struct hcl_url *u)
{
	const char *at = memrchr(s, '@', n), *colon;
	size_t hl;
	uint64_t port;
	int rc;

	if (at) {
		if ((rc = userinfo(s, (size_t)(at - s), u)) < 0)
			return rc;
		n -= (size_t)(at - s) + 1;
		s = at + 1;
	}
	colon = memrchr(s, ':', n);
	if (colon && s[0] == '[' && !memchr(colon, ']', n - (size_t)(colon - s)) &&
	    s[n - 1] == ']')
		colon = NULL;       /* the colon is inside the IPv6 literal */
	hl = colon ? (size_t)(colon - s) : n;
	if (!host_ok(s, hl))
		return -EINVAL;
	if (hl > HCL_MAX_HOST + 2)
		return -E2BIG;
	memcpy(u->host, s, hl);
	u->host[hl] = 0;
	if (colon) {
		if (util_parse_u64(colon + 1, n - hl - 1, 65535, &port) < 0 || port == 0)
			return -EINVAL;
		snprintf(u->port, sizeof u->port, "%u", (unsigned)port);
		u->port_given = 1;
	} else {
		strcpy(u->port, u->tls ? "443" : "80");
	}
	return 0;
}

int hcl_url_parse(const char *url, struct hcl_url *u)
{
	size_t n, a, p;
	int rc;

	memset(u, 0, sizeof *u);
	if (!url)
		return -EINVAL;
	n = strnlen(url, HCL_MAX_URL + 1);
	if (n > HCL_MAX_URL)
		return -E2BIG;
	if (strncasecmp(url, "https://", 8) == 0)
		u->tls = 1, a = 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		a = 7;
	else
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return -EINVAL;
	p = a + strcspn(url + a, "/?#");
	if ((rc = authority(url + a, p - a, u)) < 0) {
		hcl_url_wipe(u);
		return rc;
	}
	n = p + strcspn(url + p, "#");
	if (url[p] != '/')
		u->path[0] = '/';
	strncat(u->path, url + p, n - p);
	return 0;
}

void hcl_url_wipe(struct hcl_url *u)
{
	wipe(u->user, sizeof u->user);
	wipe(u->pass, sizeof u->pass);
}

int hcl_url_format(const struct hcl_url *u, char *out, size_t cap)
{
	int k = snprintf(out, cap, "%s://%s%s%s%s", u->tls ? "https" : "http", u->host,
			 u->port_given ? ":" : "", u->port_given ? u->port : "", u->path);

	return k < 0 || (size_t)k >= cap ? -ENOSPC : k;
}

/* ---- connection ------------------------------------------------------------ */

static int seterr(struct hcl_sess *s, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int seterr(struct hcl_sess *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof s->err, fmt, ap);
	va_end(ap);
	return rc;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int wait_io(struct hcl_sess *s, int want)
{
	struct pollfd p = { .fd = s->fd, .events = want == CRY_WANT_WRITE ? POLLOUT : POLLIN };
	uint64_t now = now_ms();
	int tmo = s->io_timeout_ms > 0 ? s->io_timeout_ms : HCL_IO_TIMEOUT_MS, r;

	if (now >= s->deadline_ms)
		return -ETIMEDOUT;
	if ((uint64_t)tmo > s->deadline_ms - now)
		tmo = (int)(s->deadline_ms - now);
	do
		r = poll(&p, 1, tmo);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int io_send(void *ctx, const uint8_t *p, size_t n)
{
	struct hcl_sess *s = ctx;

	for (;;) {
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);

		if (w >= 0)
			return (int)w;
		if (errno != EINTR)
			return errno == EAGAIN || errno == EWOULDBLOCK ? CRY_WANT_WRITE : -errno;
	}
}

static int io_recv(void *ctx, uint8_t *p, size_t n)
{
	struct hcl_sess *s = ctx;

	for (;;) {
		ssize_t r = recv(s->fd, p, n, 0);

		if (r >= 0)
			return (int)r;
		if (errno != EINTR)
			return errno == EAGAIN || errno == EWOULDBLOCK ? CRY_WANT_READ : -errno;
	}
}

static void conn_close(struct hcl_sess *s)
{
	cry_tls_free(s->t);
	s->t = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->roff = s->rlen = 0;
	s->host[0] = 0;
}

static int connect_one(struct hcl_sess *s, const struct addrinfo *ai)
{
	int err = 0, rc;
	socklen_t l = sizeof err;

	s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (s->fd < 0)
		return -errno;
	if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	rc = errno == EINPROGRESS ? wait_io(s, CRY_WANT_WRITE) : -errno;
	if (rc == 0 && getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		rc = -errno;
	if (rc == 0 && err)
		rc = -err;
	if (rc < 0) {
		close(s->fd);
		s->fd = -1;
	}
	return rc;
}

/* Host without IPv6 brackets, for getaddrinfo and TLS. */
static void bare_host(const char *h, char *out, size_t cap)
{
	size_t n = strlen(h);

	if (n >= 2 && h[0] == '[') {
		h++;
		n -= 2;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, h, n);
	out[n] = 0;
}

static int tls_start(struct hcl_sess *s, const char *host)
{
	int rc;

	if (!s->conf) {
		if (!s->ca_pem)
			return seterr(s, -EINVAL, "https needs a CA bundle");
		rc = cry_tls_client_conf(&s->conf, s->ca_pem, s->ca_len, NULL, 0, util_rng, NULL);
		if (rc < 0)
			return seterr(s, rc, "cannot load the CA bundle: %s", cry_tls_strerror(rc));
	}
	rc = cry_tls_new(&s->t, s->conf, host, io_send, io_recv, s);
	while (rc == 0 && ((rc = cry_tls_handshake(s->t)) == CRY_WANT_READ || rc == CRY_WANT_WRITE))
		if ((rc = wait_io(s, rc)) < 0)
			break;
	if (rc < 0)
		return seterr(s, rc, "TLS with %s failed: %s", host,
			      rc == -ETIMEDOUT ? "timed out" : cry_tls_strerror(rc));
	return 0;
}

static int conn_open(struct hcl_sess *s, const struct hcl_url *u)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char host[HCL_MAX_HOST + 3];
	int rc;

	conn_close(s);
	bare_host(u->host, host, sizeof host);
	rc = getaddrinfo(host, u->port, &hints, &res);
	if (rc != 0)
		return seterr(s, -EHOSTUNREACH, "cannot resolve %s: %s", host, gai_strerror(rc));
	rc = -EHOSTUNREACH;
	for (const struct addrinfo *ai = res; ai && rc < 0; ai = ai->ai_next)
		rc = connect_one(s, ai);
	freeaddrinfo(res);
	if (rc < 0)
		return seterr(s, rc == -ETIMEDOUT ? rc : -EHOSTUNREACH, "cannot connect to %s:%s: %s",
			      host, u->port, strerror(-rc));
	if (u->tls && (rc = tls_start(s, host)) < 0) {
		conn_close(s);
		return rc;
	}
	s->tls = u->tls;
	snprintf(s->host, sizeof s->host, "%s", u->host);
	snprintf(s->port, sizeof s->port, "%s", u->port);
	return 0;
}

/* An idle kept-alive connection the server closed (or wrote to) is stale. */
static int conn_reusable(struct hcl_sess *s, const struct hcl_url *u)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };

	if (s->fd < 0 || s->tls != u->tls || strcmp(s->host, u->host) || strcmp(s->port, u->port))
		return 0;
	if (s->roff != s->rlen || (s->t && cry_tls_pending(s->t)))
		return 0;
	return poll(&p, 1, 0) == 0;
}

static int conn_write(struct hcl_sess *s, const uint8_t *p, size_t n)
{
	while (n > 0) {
		int w = s->t ? cry_tls_write(s->t, p, n) : io_send(s, p, n);

		if (w == CRY_WANT_READ || w == CRY_WANT_WRITE) {
			if ((w = wait_io(s, w)) < 0)
				return w;
			continue;
		}
		if (w <= 0)
			return w < 0 ? w : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Refills rbuf if empty: >0 bytes available, 0 EOF, <0 error. */
static int fill(struct hcl_sess *s)
{
	if (s->roff < s->rlen)
		return (int)(s->rlen - s->roff);
	s->roff = s->rlen = 0;
	for (;;) {
		int r = s->t ? cry_tls_read(s->t, s->rbuf, sizeof s->rbuf) :
			io_recv(s, s->rbuf, sizeof s->rbuf);

		if (r == CRY_WANT_READ || r == CRY_WANT_WRITE) {
			if ((r = wait_io(s, r)) < 0)
				return r;
			continue;
		}
		if (r == CRY_CLOSED || r == 0)
			return 0;
		if (r < 0)
			return r;
		s->rlen = (size_t)r;
		return r;
	}
}

/* ---- request --------------------------------------------------------------- */

static int hdr_ok(const char *s, int name)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || (name && (*s == ':' || *s == ' ')))
			return 0;
	return 1;
}

static int auth_header(struct hcl_sess *s, struct buf *b)
{
	struct buf cred = { .secret = 1 };
	size_t cap, olen = 0;
	char *enc = NULL;
	int rc;

	rc = buf_printf(&cred, "%s:%s", s->user, s->pass ? s->pass : "");
	if (rc < 0)
		goto out;
	cap = cry_b64_encoded_len(cred.len);
	rc = -ENOMEM;
	if (!(enc = malloc(cap)))
		goto out;
	rc = cry_b64_encode(cred.data, cred.len, enc, cap, &olen);
	if (rc == 0)
		rc = buf_printf(b, "Authorization: Basic %s\r\n", enc);
out:
	if (enc)
		wipe_free(enc, cap);
	buf_free(&cred);
	return rc;
}

static int build_head(struct hcl_sess *s, const struct hcl_req *r, const char *method,
		      const struct hcl_url *u, size_t body_len, int with_body, struct buf *b)
{
	char origin[sizeof s->auth_origin];
	int rc, ua = 0;

	rc = buf_printf(b, "%s %s HTTP/1.1\r\nHost: %s%s%s\r\n", method, u->path, u->host,
			u->port_given ? ":" : "", u->port_given ? u->port : "");
	for (size_t i = 0; rc == 0 && i < r->nhdrs; i++) {
		if (!hdr_ok(r->hdrs[i].name, 1) || !hdr_ok(r->hdrs[i].value, 0) || !r->hdrs[i].name[0])
			return seterr(s, -EINVAL, "bad request header");
		ua |= strcasecmp(r->hdrs[i].name, "user-agent") == 0;
		rc = buf_printf(b, "%s: %s\r\n", r->hdrs[i].name, r->hdrs[i].value);
	}
	if (rc == 0 && !ua)
		rc = buf_printf(b, "User-Agent: %s\r\n", s->user_agent ? s->user_agent : "sbs/" SBS_VERSION);
	if (rc == 0 && with_body)
		rc = buf_printf(b, "Content-Length: %zu\r\n", body_len);
	snprintf(origin, sizeof origin, "%d %s %s", u->tls, u->host, u->port);
	if (rc == 0 && s->user && strcmp(origin, s->auth_origin) == 0)
		rc = auth_header(s, b);
	if (rc == 0)
		rc = buf_printf(b, "Connection: keep-alive\r\nAccept-Encoding: identity\r\n\r\n");
	if (rc == 0 && b->len > HCL_MAX_REQ_HEAD)
		rc = -E2BIG;
	if (rc < 0)
		return seterr(s, rc, "request head too large");
	return 0;
}

/* Reads the response head. *got: some response byte arrived. */
static int read_head(struct hcl_sess *s, struct http_parser *hp, char *copy, size_t *clen,
		     int *got)
{
	for (;;) {
		size_t used = 0;
		int r = fill(s), st;

		if (r < 0)
			return seterr(s, r, "reading the response: %s",
				      r == -ETIMEDOUT ? "timed out" : cry_tls_strerror(r));
		if (r == 0) {
			http_feed_eof(hp);
			return seterr(s, -EPROTO, "connection closed %s", *got ? "mid-head" :
				      "before a response");
		}
		*got = 1;
		hp->head_request = 1;
		st = http_feed(hp, s->rbuf + s->roff, s->rlen - s->roff, &used);
		if (st < 0)
			return seterr(s, -EPROTO, "bad response: %s", hp->err_reason);
		if (*clen + used <= HTTP_MAX_HEAD) {
			memcpy(copy + *clen, s->rbuf + s->roff, used);
			*clen += used;
		}
		s->roff += used;
		if (st == HTTP_DONE) {
			if (hp->msg.status >= 200)
				break;
			http_reset(hp);         /* 1xx: the real response follows */
			*clen = 0;
		}
	}
	copy[*clen] = 0;
	return 0;
}

/* The Location header from a validated head copy, or NULL. */
static const char *find_location(char *head, size_t *len)
{
	for (char *l = strchr(head, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
		char *v, *e;

		if (strncasecmp(l + 1, "location:", 9) != 0)
			continue;
		v = l + 10;
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strcspn(v, "\r\n");
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*len = (size_t)(e - v);
		return v;
	}
	return NULL;
}

/* ---- body ------------------------------------------------------------------ */

enum { B_NONE, B_LEN, B_EOF, B_CHUNKED };
enum { C_SIZE, C_DATA, C_CRLF, C_TRAILER, C_DONE };

struct body {
	int mode, cst;
	uint64_t left, total, max;
	char line[LINE_MAX_HCL + 1];
	size_t llen, trailer;
	hcl_sink_fn sink;
	void *ctx;
	struct buf *out;
	struct hcl_sess *s;
};

static int deliver(struct body *b, const uint8_t *p, size_t n)
{
	int rc;

	if (n > b->max - b->total)
		return seterr(b->s, -E2BIG, "response body over %llu bytes",
			      (unsigned long long)b->max);
	b->total += n;
	rc = b->sink ? b->sink(b->ctx, p, n) : buf_append(b->out, p, n);
	if (rc < 0 && !b->sink)
		return seterr(b->s, rc, "out of memory");
	if (rc < 0 && !b->s->err[0])
		seterr(b->s, rc, "the body was refused");
	return rc < 0 ? rc : 0;
}

/* Collects one line into b->line; 1 when whole (line end stripped). */
static int line_in(struct body *b, const uint8_t *p, size_t n, size_t *off)
{
	while (*off < n) {
		char c = (char)p[(*off)++];

		if (c == '\n') {
			if (b->llen && b->line[b->llen - 1] == '\r')
				b->llen--;
			b->line[b->llen] = 0;
			return 1;
		}
		if (b->llen >= LINE_MAX_HCL || c == 0)
			return seterr(b->s, -EPROTO, "bad chunked framing");
		b->line[b->llen++] = c;
	}
	return 0;
}

static int chunk_size_line(struct body *b)
{
	size_t i = 0;
	uint64_t v = 0;
	int d;

	for (; (d = util_hexval(b->line[i])) >= 0; i++) {
		if (i == 16)
			return seterr(b->s, -EPROTO, "bad chunk size");
		v = v << 4 | (uint64_t)d;
	}
	if (i == 0 || strlen(b->line) > HTTP_MAX_CHUNK_LINE || (b->line[i] && b->line[i] != ';' &&
						  b->line[i] != ' ' && b->line[i] != '\t'))
		return seterr(b->s, -EPROTO, "bad chunk size");
	if (v > b->max - b->total)
		return seterr(b->s, -E2BIG, "response body over %llu bytes",
			      (unsigned long long)b->max);
	b->left = v;
	b->cst = v ? C_DATA : C_TRAILER;
	return 0;
}

/* Chunked framing: 1 done, 0 more, <0 error. */
static int chunked(struct body *b, const uint8_t *p, size_t n, size_t *off)
{
	int rc;

	while (*off < n && b->cst != C_DONE) {
		if (b->cst == C_DATA) {
			size_t k = n - *off < b->left ? n - *off : (size_t)b->left;

			if ((rc = deliver(b, p + *off, k)) < 0)
				return rc;
			*off += k;
			if ((b->left -= k) == 0)
				b->cst = C_CRLF;
			continue;
		}
		size_t before = *off;
		rc = line_in(b, p, n, off);
		if (b->cst == C_TRAILER && (b->trailer += *off - before) > HTTP_MAX_HEAD)
			return seterr(b->s, -EPROTO, "response trailers too large");
		if (rc <= 0)
			return rc;
		b->llen = 0;
		if (b->cst == C_SIZE) {
			if ((rc = chunk_size_line(b)) < 0)
				return rc;
		} else if (b->cst == C_CRLF) {
			if (b->line[0])
				return seterr(b->s, -EPROTO, "bad chunked framing");
			b->cst = C_SIZE;
		} else if (!b->line[0]) {
			b->cst = C_DONE;        /* the empty line after the trailers */
		}
	}
	return b->cst == C_DONE;
}

/* Feeds buffered and then fresh bytes to the body framing until it ends. */
static int read_body(struct hcl_sess *s, struct body *b)
{
	for (;;) {
		int r, done = 0;

		if (b->mode == B_NONE || (b->mode == B_LEN && b->left == 0))
			return 0;
		if ((r = fill(s)) < 0)
			return seterr(s, r, "reading the response body: %s",
				      r == -ETIMEDOUT ? "timed out" : cry_tls_strerror(r));
		if (r == 0) {
			if (b->mode == B_EOF)
				return 0;
			return seterr(s, -EPROTO, "connection closed mid-body");
		}
		size_t off = s->roff, n = s->rlen;
		if (b->mode == B_CHUNKED) {
			if ((r = chunked(b, s->rbuf, n, &off)) < 0)
				return r;
			done = r;
		} else {
			size_t k = n - off;

			if (b->mode == B_LEN && k > b->left)
				k = (size_t)b->left;
			if ((r = deliver(b, s->rbuf + off, k)) < 0)
				return r;
			off += k;
			b->left -= b->mode == B_LEN ? k : 0;
		}
		s->roff = off;
		if (done)
			return 0;
	}
}

static int body_setup(struct hcl_sess *s, const struct http_parser *hp, const char *method,
		      struct body *b)
{
	const struct http_msg *m = &hp->msg;

	if (strcmp(method, "HEAD") == 0 || m->status == 204 || m->status == 304)
		b->mode = B_NONE;
	else if (m->chunked)
		b->mode = B_CHUNKED;
	else if (m->has_length)
		b->mode = B_LEN, b->left = m->content_length;
	else
		b->mode = B_EOF;
	if (b->mode == B_LEN && b->left > b->max)
		return seterr(s, -E2BIG, "response body of %llu bytes, over %llu",
			      (unsigned long long)b->left, (unsigned long long)b->max);
	return 0;
}

static int discard(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return 0;
}

static int is_redirect(int st)
{
	return st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
}

/* One request and its response on a (re)used connection. *loc gets the
 * Location of a redirect that will be followed. */
static int exchange(struct hcl_sess *s, const struct hcl_req *r, const char *method,
		    const struct hcl_url *u, int with_body, struct hcl_resp *resp,
		    struct buf *out, char *loc, size_t loccap)
{
	struct xch {
		struct http_parser hp;
		char head[HTTP_MAX_HEAD + 1];
	} *x;
	struct http_parser *hp;
	char *head;
	struct buf req = { .secret = 1 };
	struct body b = { .s = s };
	size_t hlen = 0, llen = 0;
	int rc, got = 0, reused = conn_reusable(s, u);
	const char *l;

	if (!(x = malloc(sizeof *x)))
		return seterr(s, -ENOMEM, "out of memory");
	hp = &x->hp;
	head = x->head;
	http_init(hp, HTTP_RESPONSE, 0);
	rc = build_head(s, r, method, u, with_body ? r->body_len : 0, with_body, &req);
	if (rc == 0 && with_body)
		rc = buf_append(&req, r->body, r->body_len) < 0 ? seterr(s, -ENOMEM, "out of memory") : 0;
	for (int attempt = 0; rc == 0; attempt++) {
		if (!reused && (rc = conn_open(s, u)) < 0)
			break;
		s->err[0] = 0;
		rc = conn_write(s, req.data, req.len);
		if (rc < 0)
			seterr(s, rc, "sending the request: %s", cry_tls_strerror(rc));
		got = 0;
		hlen = 0;
		if (rc == 0)
			rc = read_head(s, hp, head, &hlen, &got);
		if (rc == 0 || !reused || got || attempt)
			break;
		reused = 0;             /* a stale keep-alive connection: once more */
		http_reset(hp);
	}
	buf_free(&req);
	if (rc < 0)
		goto out;
	resp->status = hp->msg.status;
	if (r->keep_head) {
		free(resp->head);
		resp->head_len = 0;
		if (!(resp->head = malloc(hlen + 1))) {
			rc = seterr(s, -ENOMEM, "out of memory");
			goto out;
		}
		memcpy(resp->head, head, hlen + 1);
		resp->head_len = hlen;
	}
	snprintf(resp->content_type, sizeof resp->content_type, "%s", hp->msg.content_type);
	b.max = r->max_body ? r->max_body : HTTP_MAX_RESP_BODY;
	b.sink = r->sink;
	b.ctx = r->sink_ctx;
	b.out = out;
	loc[0] = 0;
	if (is_redirect(resp->status) && !r->no_redirect && (l = find_location(head, &llen))) {
		if (llen >= loccap) {
			rc = seterr(s, -EPROTO, "redirect location too long");
			goto out;
		}
		memcpy(loc, l, llen);
		loc[llen] = 0;
		b.sink = discard;
		b.max = HTTP_MAX_RESP_BODY;
	} else if (r->sink && (resp->status < 200 || resp->status > 299)) {
		b.sink = NULL;          /* an error page: kept for the caller to show */
		b.max = b.max < HCL_MAX_ERR_BODY ? b.max : HCL_MAX_ERR_BODY;
	}
	if ((rc = body_setup(s, hp, method, &b)) == 0)
		rc = read_body(s, &b);
	if (b.sink == r->sink && r->sink)
		resp->streamed += b.total;
	if (rc == 0 && (!hp->msg.keep_alive || b.mode == B_EOF || s->roff != s->rlen))
		conn_close(s);
out:
	if (rc < 0)
		conn_close(s);
	http_free(hp);
	free(x);
	return rc;
}

/* The next URL from a Location: absolute, or a path on the same origin. */
static int next_url(struct hcl_sess *s, const struct hcl_url *cur, const char *loc,
		    struct hcl_url *nu)
{
	int rc;

	if (loc[0] == '/' && loc[1] != '/') {
		*nu = *cur;
		if (strlen(loc) > HCL_MAX_URL)
			return seterr(s, -EPROTO, "redirect location too long");
		for (const char *c = loc; *c; c++)
			if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
				return seterr(s, -EPROTO, "bad redirect location");
		snprintf(nu->path, sizeof nu->path, "%.*s", (int)strcspn(loc, "#"), loc);
		return 0;
	}
	rc = hcl_url_parse(loc, nu);
	if (rc < 0 || nu->has_userinfo) {
		hcl_url_wipe(nu);
		return seterr(s, -EPROTO, "bad redirect location");
	}
	if (nu->tls != cur->tls)
		return seterr(s, -EPERM, "redirect to another scheme refused");
	return 0;
}

int hcl_request(const struct hcl_req *r, struct hcl_resp *resp)
{
	struct hcl_sess *s = r->sess;
	struct buf out = { 0 };
	struct hcl_url u;
	const char *method = r->method;
	int with_body, rc;
	char loc[HCL_MAX_URL + 1];

	memset(resp, 0, sizeof *resp);
	if (!s || !method)
		return -EINVAL;
	s->err[0] = 0;
	if ((rc = hcl_url_parse(r->url, &u)) < 0)
		return seterr(s, rc, "bad URL");
	if (u.has_userinfo) {
		hcl_url_wipe(&u);
		return seterr(s, -EINVAL, "credentials in a URL: set them on the session");
	}
	if (!s->auth_origin[0])
		snprintf(s->auth_origin, sizeof s->auth_origin, "%d %s %s", u.tls, u.host, u.port);
	s->deadline_ms = now_ms() + HCL_REQUEST_MS;
	with_body = r->body_len || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
	out.max = r->max_body ? (size_t)r->max_body : HTTP_MAX_RESP_BODY;
	for (;;) {
		struct hcl_url nu;

		hcl_url_format(&u, resp->url, sizeof resp->url);
		rc = exchange(s, r, method, &u, with_body, resp, &out, loc, sizeof loc);
		if (rc < 0 || !loc[0])
			break;
		if (resp->redirects == HCL_MAX_REDIRECTS) {
			rc = seterr(s, -ELOOP, "more than %d redirects", HCL_MAX_REDIRECTS);
			break;
		}
		if ((rc = next_url(s, &u, loc, &nu)) < 0)
			break;
		u = nu;
		resp->redirects++;
		if (resp->status == 303 || ((resp->status == 301 || resp->status == 302) &&
					    strcmp(method, "POST") == 0)) {
			method = "GET";
			with_body = 0;
		}
		out.len = 0;
	}
	if (rc < 0) {
		buf_free(&out);
		free(resp->head);
		resp->head = NULL;
		resp->head_len = 0;
		resp->status = 0;
		return rc;
	}
	resp->body = out.data;
	resp->body_len = out.len;
	return 0;
}

void hcl_resp_free(struct hcl_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
	free(r->head);
	r->head = NULL;
	r->head_len = 0;
}

int hcl_resp_header(const struct hcl_resp *r, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	if (cap)
		out[0] = 0;
	if (!r->head)
		return -ENOENT;
	for (const char *l = strchr(r->head, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
		const char *v = l + 1 + nl, *e;

		if (strncasecmp(l + 1, name, nl) != 0 || *v != ':')
			continue;
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		e = v + strcspn(v, "\r\n");
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - v) >= cap)
			return -E2BIG;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = 0;
		return (int)(e - v);
	}
	return -ENOENT;
}

void hcl_sess_init(struct hcl_sess *s)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
}

void hcl_sess_close(struct hcl_sess *s)
{
	conn_close(s);
	cry_tls_conf_put(s->conf);
	s->conf = NULL;
}
