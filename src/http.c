/* SPDX-License-Identifier: MIT */
/*
 * http: the incremental HTTP/1.1 parser and head formatter (contract in
 * http.h). Head lines are found with memchr and parsed in place from the
 * caller's buffer when whole; only a line split across reads is copied into
 * p->line, so no byte is scanned twice. Every line is counted against
 * HTTP_MAX_HEAD before it is stored; chunk-size lines against
 * HTTP_MAX_CHUNK_LINE; body bytes against max_body (and the declared length)
 * before the body buffer grows. Bodies may carry secrets (init, update,
 * post-state-image), so every body buffer is wiped before it is freed. Every
 * index below is checked against an explicit length; numbers go through
 * util_parse_u64 or the bounded hex loop in chunk_size().
 */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum {
	S_START = 0,    /* request or status line; empty lines before it are skipped */
	S_HEADERS,
	S_BODY_LEN,     /* body delimited by Content-Length */
	S_BODY_EOF,     /* response body delimited by the peer closing */
	S_CHUNK_SIZE,
	S_CHUNK_DATA,
	S_CHUNK_END,    /* the CRLF after chunk data; line_len = 1 after its CR */
	S_TRAILERS,     /* skipped, but counted against HTTP_MAX_HEAD */
	S_DONE,
	S_ERROR,
};

/* p->flags */
#define F_CLOSE 1u      /* "Connection: close" */
#define F_KEEP  2u      /* "Connection: keep-alive" */
#define F_TE    4u      /* a Transfer-Encoding header was seen */

/* ---- small helpers ----------------------------------------------------- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Byte classes: T = RFC 9110 tchar (ALPHA DIGIT !#$%&'*+-.^_`|~), B = CR
 * and NUL (refused anywhere in a line), 0 = other; bytes >= 0x80 are 0. */
#define T 1
#define B 2
static const uint8_t cls[256] = {
	B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, B, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, T, 0, T, T, T, T, T, 0, 0, T, T, 0, T, T, 0,
	T, T, T, T, T, T, T, T, T, T, 0, 0, 0, 0, 0, 0,
	0, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T,
	T, T, T, T, T, T, T, T, T, T, T, 0, 0, 0, T, T,
	T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T,
	T, T, T, T, T, T, T, T, T, T, T, 0, T, 0, T, 0,
};
#undef T
#undef B

static int all_tchar(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cls[(unsigned char)s[i]] != 1)
			return 0;
	return 1;
}

/* Length of the run of tchar at the start of s[0..n). */
static size_t tchar_run(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && cls[(unsigned char)s[i]] == 1)
		i++;
	return i;
}

/* Index of the first c in s[0..n), or n. */
static size_t find(const char *s, size_t n, char c)
{
	const char *q = memchr(s, c, n);

	return q ? (size_t)(q - s) : n;
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* s[0..n) equals lit (lower case) ignoring ASCII case; no locale. */
static int eq_nocase(const char *s, size_t n, const char *lit, size_t litn)
{
	if (n != litn)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (c != (unsigned char)lit[i])
			return 0;
	}
	return 1;
}

static int fail_rc(struct http_parser *p, int status, const char *reason, int rc)
{
	p->state = S_ERROR;
	p->err_status = status;
	p->err_reason = reason;
	p->err_rc = rc;
	p->msg.keep_alive = 0;
	return rc;
}

static int fail(struct http_parser *p, int status, const char *reason)
{
	int rc = -EBADMSG;

	if (status == 413 || status == 414 || status == 431)
		rc = -E2BIG;
	else if (status == 501 || status == 505)
		rc = -ENOSYS;
	else if (status == 500)
		rc = -ENOMEM;
	return fail_rc(p, status, reason, rc);
}

static int too_large(struct http_parser *p, int status)
{
	int req = p->kind == HTTP_REQUEST;

	if (status == 413)
		return fail(p, 413, req ? "request body too large" : "response body too large");
	return fail(p, 431, req ? "request header too large" : "response header too large");
}

/* A response to HEAD, 1xx, 204 and 304 has no body, whatever its headers say. */
static int body_allowed(const struct http_parser *p)
{
	int st = p->msg.status;

	if (p->kind == HTTP_REQUEST)
		return 1;
	return !p->head_request && st >= 200 && st != 204 && st != 304;
}

/* ---- body buffer ------------------------------------------------------- */

/* The smallest body buffer, and the largest one kept (wiped) for the next
 * message on the connection: most bodies fit, and a malloc per request was a
 * third of the parse time. */
#define BODY_KEEP 4096

static void body_release(struct http_parser *p)
{
	if (p->msg.body && p->body_cap <= BODY_KEEP && !p->spare) {
		wipe(p->msg.body, p->msg.body_len);
		p->spare = p->msg.body;
		p->spare_cap = p->body_cap;
	} else {
		wipe_free(p->msg.body, p->msg.body_len);
	}
	p->msg.body = NULL;
	p->msg.body_len = 0;
	p->body_cap = 0;
}

/* Room for n more bytes and the NUL. Callers have checked body_len + n <=
 * limit <= max_body. Capacity starts at BODY_KEEP and doubles, but never
 * exceeds max_body + 1, nor limit + 1 once past BODY_KEEP. The old buffer is
 * wiped, not realloc'd: it may hold a secret. */
static int body_reserve(struct http_parser *p, size_t n, size_t limit)
{
	size_t need = p->msg.body_len + n + 1, cap, clamp;
	uint8_t *nb;

	if (!p->msg.body && p->spare) {
		p->msg.body = p->spare;
		p->body_cap = p->spare_cap;
		p->spare = NULL;
		p->spare_cap = 0;
	}
	if (p->msg.body && need <= p->body_cap)
		return 0;
	cap = p->body_cap < BODY_KEEP / 2 ? BODY_KEEP :
	      p->body_cap > SIZE_MAX / 2 ? SIZE_MAX : p->body_cap * 2;
	if (cap < need)
		cap = need;
	clamp = p->max_body + 1 < BODY_KEEP ? p->max_body + 1 : BODY_KEEP;
	if (clamp < limit + 1)
		clamp = limit + 1;
	if (cap > clamp)
		cap = clamp;
	nb = malloc(cap);
	if (!nb)
		return fail(p, 500, "out of memory");
	if (p->msg.body) {
		memcpy(nb, p->msg.body, p->msg.body_len);
		wipe_free(p->msg.body, p->body_cap);
	}
	p->msg.body = nb;
	p->body_cap = cap;
	return 0;
}

static int body_add(struct http_parser *p, const uint8_t *s, size_t n, size_t limit)
{
	int rc = body_reserve(p, n, limit);

	if (rc < 0)
		return rc;
	memcpy(p->msg.body + p->msg.body_len, s, n);
	p->msg.body_len += n;
	return 0;
}

static int finish(struct http_parser *p)
{
	if (p->msg.body)
		p->msg.body[p->msg.body_len] = 0;
	p->state = S_DONE;
	return 0;
}

/* ---- lines ------------------------------------------------------------- */

/*
 * The next line of at most limit bytes, '\n' included. Returns 1 with *l, *n
 * set (in place in the input when the line is whole there, else in p->line),
 * 0 when the input ran out first (the partial line is kept in p->line), -1
 * when no '\n' comes within limit bytes. memchr never looks past the limit.
 */
static int get_line(struct http_parser *p, const uint8_t *in, size_t len, size_t *off,
		    size_t limit, const char **l, size_t *n)
{
	const uint8_t *s = in + *off, *nl;
	size_t avail = len - *off, room = limit - p->line_len;
	size_t seg;

	nl = memchr(s, '\n', avail < room ? avail : room);
	if (!nl && avail >= room)
		return -1;
	seg = nl ? (size_t)(nl - s) + 1 : avail;
	*off += seg;
	if (nl && p->line_len == 0) {
		*l = (const char *)s;
		*n = seg;
		return 1;
	}
	memcpy(p->line + p->line_len, s, seg);
	p->line_len += seg;
	if (!nl)
		return 0;
	*l = p->line;
	*n = p->line_len;
	p->line_len = 0;
	return 1;
}

/* Length without the line end ("\r\n" or a bare "\n"). */
static size_t strip_eol(const char *l, size_t n)
{
	n--;
	if (n > 0 && l[n - 1] == '\r')
		n--;
	return n;
}

/* A CR left inside a line (bare CR) or a NUL: both have been used to smuggle
 * requests past parsers that disagree on where a line ends. */
static int line_ok(const char *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cls[(unsigned char)l[i]] == 2)
			return 0;
	return 1;
}

/* ---- start lines ------------------------------------------------------- */

static int parse_method(const char *m, size_t n)
{
	static const struct { const char *name; size_t len; int m; } tab[] = {
		{ "GET", 3, HTTP_GET }, { "PUT", 3, HTTP_PUT }, { "POST", 4, HTTP_POST },
		{ "HEAD", 4, HTTP_HEAD }, { "PATCH", 5, HTTP_PATCH },
		{ "DELETE", 6, HTTP_DELETE }, { "OPTIONS", 7, HTTP_OPTIONS },
	};

	for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
		if (tab[i].len == n && memcmp(tab[i].name, m, n) == 0)
			return tab[i].m;
	return 0;
}

/* "HTTP/1.0" or "HTTP/1.1": 0; other "HTTP/d.d": 505; anything else: 400. */
static int parse_version(const char *v, size_t n, int *minor)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) || v[6] != '.' ||
	    !is_digit(v[7]))
		return 400;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return 505;
	*minor = v[7] - '0';
	return 0;
}

/* origin-form ("/..."), or "*" for OPTIONS; visible ASCII only */
static int target_ok(const char *t, size_t n, int method)
{
	if (n == 0 || (t[0] != '/' && !(n == 1 && t[0] == '*' && method == HTTP_OPTIONS)))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 0;
	return 1;
}

/* method SP request-target SP HTTP-version */
static int request_line(struct http_parser *p, const char *l, size_t n)
{
	size_t sp1 = find(l, n, ' '), t, tlen, v;
	int m, st;

	if (sp1 == n || sp1 == 0 || !all_tchar(l, sp1))
		return fail(p, 400, "bad request line");
	t = sp1 + 1;
	tlen = find(l + t, n - t, ' ');
	if (t + tlen == n)
		return fail(p, 400, "bad request line");
	v = t + tlen + 1;
	m = parse_method(l, sp1);
	if (!m)
		return fail(p, 501, "method not implemented");
	if (tlen > HTTP_MAX_TARGET)
		return fail(p, 414, "request target too long");
	if (!target_ok(l + t, tlen, m))
		return fail(p, 400, "bad request target");
	st = parse_version(l + v, n - v, &p->msg.minor);
	if (st)
		return fail(p, st, st == 505 ? "HTTP version not supported" : "bad request line");
	p->msg.method = (enum http_method)m;
	memcpy(p->msg.target, l + t, tlen);
	p->msg.target[tlen] = 0;
	p->state = S_HEADERS;
	return 0;
}

/* HTTP-version SP 3DIGIT [SP reason-phrase] */
static int status_line(struct http_parser *p, const char *l, size_t n)
{
	int st;

	if (n < 12 || l[8] != ' ' || !is_digit(l[9]) || !is_digit(l[10]) || !is_digit(l[11]) ||
	    (n > 12 && l[12] != ' ') || l[9] < '1' || l[9] > '5')
		return fail(p, 400, "bad status line");
	st = parse_version(l, 8, &p->msg.minor);
	if (st)
		return fail(p, st, st == 505 ? "HTTP version not supported" : "bad status line");
	p->msg.status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	p->state = S_HEADERS;
	return 0;
}

/* ---- header fields ------------------------------------------------------ */

static int content_length(struct http_parser *p, const char *v, size_t n)
{
	uint64_t cl;

	if (util_parse_u64(v, n, UINT64_MAX, &cl) < 0)
		return fail(p, 400, "bad Content-Length");
	if (p->msg.has_length && cl != p->msg.content_length)
		return fail(p, 400, "conflicting Content-Length");
	if (p->flags & F_TE)
		return fail(p, 400, "both Content-Length and Transfer-Encoding");
	p->msg.has_length = 1;
	p->msg.content_length = cl;
	if (cl > p->max_body && body_allowed(p))
		return too_large(p, 413);
	return 0;
}

static int transfer_encoding(struct http_parser *p, const char *v, size_t n)
{
	if (p->flags & F_TE)
		return fail(p, 400, "repeated Transfer-Encoding");
	p->flags |= F_TE;
	if (p->msg.has_length)
		return fail(p, 400, "both Content-Length and Transfer-Encoding");
	if (!eq_nocase(v, n, "chunked", 7))
		return fail(p, 501, "transfer encoding not implemented");
	p->msg.chunked = 1;
	return 0;
}

/* A comma-separated list of options; "close" wins over "keep-alive". */
static void connection(struct http_parser *p, const char *v, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t e = i + find(v + i, n - i, ','), s = i, t = e;
		while (s < t && is_ows(v[s]))
			s++;
		while (t > s && is_ows(v[t - 1]))
			t--;
		if (eq_nocase(v + s, t - s, "close", 5))
			p->flags |= F_CLOSE;
		else if (eq_nocase(v + s, t - s, "keep-alive", 10))
			p->flags |= F_KEEP;
		i = e + 1;
	}
}

/* field-name ":" OWS field-value OWS */
static int header_line(struct http_parser *p, const char *l, size_t n)
{
	size_t c = tchar_run(l, n), vs, ve;

	if (is_ows(l[0]))
		return fail(p, 400, "obsolete line folding");
	if (++p->nheaders > HTTP_MAX_HEADERS)
		return fail(p, 431, "too many header lines");
	if (c == n || c == 0 || l[c] != ':')
		return fail(p, 400, "bad header line");
	if (!line_ok(l + c + 1, n - c - 1))
		return fail(p, 400, "bad character in header");
	vs = c + 1;
	ve = n;
	while (vs < ve && is_ows(l[vs]))
		vs++;
	while (ve > vs && is_ows(l[ve - 1]))
		ve--;
	if ((l[0] | 0x20) == 't' && eq_nocase(l, c, "transfer-encoding", 17))
		return transfer_encoding(p, l + vs, ve - vs);
	if ((l[0] | 0x20) != 'c')
		return 0;
	if (eq_nocase(l, c, "content-length", 14))
		return content_length(p, l + vs, ve - vs);
	if (eq_nocase(l, c, "connection", 10)) {
		connection(p, l + vs, ve - vs);
	} else if (eq_nocase(l, c, "content-type", 12)) {
		/* informational only: the first 127 bytes are enough */
		size_t k = ve - vs < sizeof p->msg.content_type ? ve - vs : sizeof p->msg.content_type - 1;
		memcpy(p->msg.content_type, l + vs, k);
		p->msg.content_type[k] = 0;
	}
	return 0;
}

static int end_of_head(struct http_parser *p)
{
	struct http_msg *m = &p->msg;

	m->keep_alive = !(p->flags & F_CLOSE) && (m->minor == 1 || (p->flags & F_KEEP));
	if (!body_allowed(p))
		return finish(p);
	if (m->chunked) {
		p->state = S_CHUNK_SIZE;
		return 0;
	}
	if (m->has_length) {
		if (m->content_length == 0)
			return finish(p);
		p->state = S_BODY_LEN;
		return 0;
	}
	if (p->kind == HTTP_REQUEST) {
		if (m->method == HTTP_POST || m->method == HTTP_PUT || m->method == HTTP_PATCH)
			return fail(p, 411, "length required");
		return finish(p);
	}
	m->keep_alive = 0;
	p->state = S_BODY_EOF;
	return 0;
}

/* The head went over HTTP_MAX_HEAD. For a request line that is because of a
 * long target, say 414 (as nginx does); otherwise 431. Only the bytes within
 * the limit are looked at, so the answer does not depend on how the input
 * was split. */
static int head_overflow(struct http_parser *p, const uint8_t *rest, size_t avail)
{
	size_t room = HTTP_MAX_HEAD - p->head_len - p->line_len, n, sp;

	if (p->state == S_START && p->kind == HTTP_REQUEST) {
		n = avail < room ? avail : room;
		memcpy(p->line + p->line_len, rest, n);
		n += p->line_len;
		sp = find(p->line, n, ' ');
		if (sp < n && find(p->line + sp + 1, n - sp - 1, ' ') > HTTP_MAX_TARGET)
			return fail(p, 414, "request target too long");
	}
	return too_large(p, 431);
}

/* One line of the head or of the trailers. */
static int step_line(struct http_parser *p, const uint8_t *in, size_t len, size_t *off)
{
	const char *l;
	size_t n;
	int rc = get_line(p, in, len, off, HTTP_MAX_HEAD - p->head_len, &l, &n);

	if (rc < 0)
		return head_overflow(p, in + *off, len - *off);
	if (rc == 0)
		return 0;
	p->head_len += n;
	n = strip_eol(l, n);
	/* Every byte of a request line and of a header line is checked by
	 * request_line() (tchar, visible ASCII, exact version) and
	 * header_line() (tchar, then line_ok on the value); status lines and
	 * trailers have free text, checked here. */
	if ((p->kind == HTTP_RESPONSE || p->state == S_TRAILERS) && !line_ok(l, n))
		return fail(p, 400, "bad character in header");
	switch (p->state) {
	case S_START:
		if (n == 0)
			return 0;
		return p->kind == HTTP_REQUEST ? request_line(p, l, n) : status_line(p, l, n);
	case S_HEADERS:
		return n ? header_line(p, l, n) : end_of_head(p);
	default:        /* S_TRAILERS: skipped */
		return n ? 0 : finish(p);
	}
}

/* ---- bodies -------------------------------------------------------------- */

/* chunk-size (1 to 16 hex digits) [BWS ";" chunk-ext] CRLF; extensions ignored */
static int chunk_size(struct http_parser *p, const uint8_t *in, size_t len, size_t *off)
{
	const char *l;
	size_t n, i = 0;
	uint64_t v = 0;
	int rc = get_line(p, in, len, off, HTTP_MAX_CHUNK_LINE, &l, &n), d;

	if (rc < 0)
		return fail(p, 400, "chunk size line too long");
	if (rc == 0)
		return 0;
	n = strip_eol(l, n);
	if (!line_ok(l, n))
		return fail(p, 400, "bad chunk size");
	for (; i < n && (d = util_hexval(l[i])) >= 0; i++) {
		if (i == 16)
			return fail(p, 400, "bad chunk size");
		v = v << 4 | (uint64_t)d;
	}
	if (i == 0)
		return fail(p, 400, "bad chunk size");
	while (i < n && is_ows(l[i]))
		i++;
	if (i < n && l[i] != ';')
		return fail(p, 400, "bad chunk size");
	if (v > p->max_body - p->msg.body_len)
		return too_large(p, 413);
	p->chunk_left = v;
	p->state = v ? S_CHUNK_DATA : S_TRAILERS;
	return 0;
}

static int chunk_end(struct http_parser *p, const uint8_t *in, size_t *off)
{
	uint8_t c = in[(*off)++];

	if (c == '\r' && p->line_len == 0) {
		p->line_len = 1;
		return 0;
	}
	if (c != '\n')
		return fail(p, 400, "bad chunk framing");
	p->line_len = 0;
	p->state = S_CHUNK_SIZE;
	return 0;
}

static int step_body(struct http_parser *p, const uint8_t *in, size_t len, size_t *off)
{
	size_t avail = len - *off, n = avail, limit = p->max_body;
	int rc;

	if (p->state == S_BODY_LEN) {
		limit = (size_t)p->msg.content_length;      /* <= max_body */
		if (n > limit - p->msg.body_len)
			n = limit - p->msg.body_len;
	} else if (p->state == S_CHUNK_DATA) {
		if (n > p->chunk_left)
			n = (size_t)p->chunk_left;
	} else if (n > p->max_body - p->msg.body_len) {     /* S_BODY_EOF */
		return too_large(p, 413);
	}
	rc = body_add(p, in + *off, n, limit);
	if (rc < 0)
		return rc;
	*off += n;
	if (p->state == S_BODY_LEN && p->msg.body_len == limit)
		return finish(p);
	if (p->state == S_CHUNK_DATA && (p->chunk_left -= n) == 0)
		p->state = S_CHUNK_END;
	return 0;
}

/* ---- API ---------------------------------------------------------------- */

static void reset(struct http_parser *p)
{
	struct http_msg *m = &p->msg;

	body_release(p);
	m->method = 0;
	m->target[0] = 0;
	m->status = 0;
	m->minor = 0;
	m->keep_alive = 0;
	m->chunked = 0;
	m->has_length = 0;
	m->content_length = 0;
	m->content_type[0] = 0;
	p->head_request = 0;
	p->err_status = 0;
	p->err_reason = NULL;
	p->err_rc = 0;
	p->state = S_START;
	p->head_len = p->nheaders = p->line_len = 0;
	p->chunk_left = 0;
	p->flags = 0;
}

void http_init(struct http_parser *p, enum http_kind kind, size_t max_body)
{
	memset(p, 0, sizeof *p);
	p->kind = kind;
	/* body_cap may reach max_body + 1 */
	p->max_body = max_body < SIZE_MAX ? max_body : SIZE_MAX - 1;
	reset(p);
}

int http_feed(struct http_parser *p, const uint8_t *in, size_t len, size_t *used)
{
	size_t off = 0;
	int rc = 0;

	while (rc == 0 && off < len && p->state < S_DONE) {
		switch (p->state) {
		case S_START:
		case S_HEADERS:
		case S_TRAILERS:
			rc = step_line(p, in, len, &off);
			break;
		case S_CHUNK_SIZE:
			rc = chunk_size(p, in, len, &off);
			break;
		case S_CHUNK_END:
			rc = chunk_end(p, in, &off);
			break;
		default:        /* S_BODY_LEN, S_BODY_EOF, S_CHUNK_DATA */
			rc = step_body(p, in, len, &off);
			break;
		}
	}
	if (used)
		*used = off;
	if (p->state == S_ERROR)
		return p->err_rc;
	return p->state == S_DONE ? HTTP_DONE : HTTP_MORE;
}

int http_feed_eof(struct http_parser *p)
{
	switch (p->state) {
	case S_DONE:
		return HTTP_DONE;
	case S_ERROR:
		return p->err_rc;
	case S_BODY_EOF:
		finish(p);
		return HTTP_DONE;
	case S_START:
		if (p->line_len == 0)
			return fail_rc(p, 400, "connection closed", -ENODATA);
		/* fall through */
	default:
		return fail_rc(p, 400, "connection closed mid-message", -EPIPE);
	}
}

void http_reset(struct http_parser *p)
{
	reset(p);
}

void http_free(struct http_parser *p)
{
	body_release(p);
	wipe_free(p->spare, p->spare_cap);
	p->spare = NULL;
	p->spare_cap = 0;
}

const char *http_method_name(enum http_method m)
{
	switch (m) {
	case HTTP_GET: return "GET";
	case HTTP_POST: return "POST";
	case HTTP_PUT: return "PUT";
	case HTTP_PATCH: return "PATCH";
	case HTTP_DELETE: return "DELETE";
	case HTTP_HEAD: return "HEAD";
	case HTTP_OPTIONS: return "OPTIONS";
	}
	return "UNKNOWN";
}

/* Reason phrases of RFC 9110. */
const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

struct out {
	char *p;
	size_t n, cap;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->n < o->cap && n < o->cap - o->n)
		memcpy(o->p + o->n, s, n);
	o->n = n > SIZE_MAX - o->n ? SIZE_MAX : o->n + n;
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

size_t http_format_head(char *out, size_t cap, int status, const char *content_type,
			size_t body_len, int keep_alive)
{
	struct out o = { out, 0, cap };
	char num[24], *q = num + sizeof num;

	if (status < 100 || status > 999)
		return 0;
	/* no CR, LF or other control byte may reach the head (header injection) */
	for (const char *c = content_type; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return 0;
	char st[4] = { (char)('0' + status / 100), (char)('0' + status / 10 % 10),
		       (char)('0' + status % 10), ' ' };
	out_str(&o, "HTTP/1.1 ");
	out_put(&o, st, 4);
	out_str(&o, http_status_text(status));
	if (content_type) {
		out_str(&o, "\r\nContent-Type: ");
		out_str(&o, content_type);
	}
	do
		*--q = (char)('0' + body_len % 10);
	while ((body_len /= 10) != 0);
	out_str(&o, "\r\nContent-Length: ");
	out_put(&o, q, (size_t)(num + sizeof num - q));
	out_str(&o, keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
	if (o.n >= cap)
		return 0;
	out[o.n] = 0;
	return o.n;
}
