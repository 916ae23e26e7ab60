/* SPDX-License-Identifier: MIT */
/*
 * Tests for src/http.c: the exact requests python-requests 2.31 and curl 7.88
 * send (captured from the wire with `nc -l`), pipelining, every error status
 * the parser gives, chunked and EOF-delimited bodies, response parsing, each
 * limit at exactly the limit and one over, and head formatting. Every input
 * is also fed in pieces of 1, 2, 3 and 7 bytes and must give the same
 * messages as when fed at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "limits.h"
#include "tutil.h"

/* One parsed message (or the error that ended the input). */
struct rec {
	int rc, err_status, method, status, minor, keep_alive, chunked, has_length;
	char target[HTTP_MAX_TARGET + 1];
	char ctype[128];
	uint8_t *body;
	size_t body_len, used;
};

#define MAXREC 8

static void rec_free(struct rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].body);
}

/*
 * Feeds in[0..len) in pieces of step bytes (0: all at once), resetting after
 * each message; at the end, EOF if eof. Returns the number of records.
 */
static size_t run(enum http_kind kind, size_t max_body, int head_req, const char *in,
		  size_t len, size_t step, int eof, struct rec *out)
{
	struct http_parser *p = malloc(sizeof *p);
	size_t off = 0, nrec = 0, total = 0;
	int rc = HTTP_MORE, eof_sent = 0;

	http_init(p, kind, max_body);
	p->head_request = head_req;
	while (nrec < MAXREC) {
		size_t n = len - off, used = 0;
		if (step && n > step)
			n = step;
		if (off == len) {
			if (!eof || eof_sent)
				break;
			eof_sent = 1;
			rc = http_feed_eof(p);
		} else {
			rc = http_feed(p, (const uint8_t *)in + off, n, &used);
			off += used;
			total += used;
		}
		if (rc == HTTP_MORE)
			continue;
		struct rec *r = &out[nrec++];
		memset(r, 0, sizeof *r);
		r->rc = rc;
		r->err_status = p->err_status;
		r->used = total;
		if (rc == HTTP_DONE) {
			const struct http_msg *m = &p->msg;
			r->method = (int)m->method, r->status = m->status, r->minor = m->minor;
			r->keep_alive = m->keep_alive, r->chunked = m->chunked;
			r->has_length = m->has_length;
			memcpy(r->target, m->target, sizeof r->target);
			memcpy(r->ctype, m->content_type, sizeof r->ctype);
			r->body_len = m->body_len;
			CHECK(m->body_len == 0 ? m->body == NULL : m->body[m->body_len] == 0);
			if (m->body_len) {
				r->body = malloc(m->body_len);
				memcpy(r->body, m->body, m->body_len);
			}
			http_reset(p);
			p->head_request = head_req;
			if (off == len)         /* an idle EOF is no message */
				break;
			continue;
		}
		/* a failed parser stays failed and consumes nothing more */
		size_t u = 1;
		CHECK(http_feed(p, (const uint8_t *)"x", 1, &u) == rc && u == 0);
		CHECK(http_feed_eof(p) == rc);
		break;
	}
	http_free(p);
	free(p);
	return nrec;
}

/* Where the input stops on error depends on the split: that is not compared. */
static int rec_eq(const struct rec *a, const struct rec *b)
{
	return a->rc == b->rc && a->err_status == b->err_status && a->method == b->method &&
	       a->status == b->status && a->minor == b->minor && a->keep_alive == b->keep_alive &&
	       a->chunked == b->chunked && a->has_length == b->has_length &&
	       strcmp(a->target, b->target) == 0 && strcmp(a->ctype, b->ctype) == 0 &&
	       a->body_len == b->body_len && (a->rc < 0 || a->used == b->used) &&
	       (a->body_len == 0 || memcmp(a->body, b->body, a->body_len) == 0);
}

/* Parses at once into out, and checks that every split gives the same. */
static size_t parse_n(enum http_kind kind, size_t max_body, int head_req, const char *in,
		      size_t len, int eof, struct rec *out)
{
	static const size_t steps[] = { 1, 2, 3, 7 };
	struct rec other[MAXREC];
	size_t n = run(kind, max_body, head_req, in, len, 0, eof, out);

	for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
		size_t m = run(kind, max_body, head_req, in, len, steps[s], eof, other);
		int same = m == n;
		for (size_t i = 0; same && i < n; i++)
			same = rec_eq(&out[i], &other[i]);
		CHECK(same);
		if (!same)
			fprintf(stderr, "split %zu differs for: %.60s\n", steps[s], in);
		rec_free(other, m);
	}
	return n;
}

/* A request parsed at once and in pieces; one record expected. */
static struct rec req(const char *in)
{
	struct rec r[MAXREC];
	size_t n = parse_n(HTTP_REQUEST, HTTP_MAX_BODY, 0, in, strlen(in), 0, r);

	CHECK(n >= 1);
	if (n == 0) {
		memset(r, 0, sizeof *r);
		r->rc = HTTP_MORE;
	}
	rec_free(r + 1, n > 1 ? n - 1 : 0);
	return r[0];
}

/* Status of a request expected to fail. */
static int req_err(const char *in, size_t len, size_t max_body)
{
	struct rec r[MAXREC];
	size_t n = parse_n(HTTP_REQUEST, max_body, 0, in, len, 0, r);
	int st = n == 1 && r[0].rc < 0 ? r[0].err_status : -1;

	rec_free(r, n);
	return st;
}

#define ERR(s) req_err(s, sizeof(s) - 1, HTTP_MAX_BODY)

static int body_is(const struct rec *r, const char *s)
{
	return r->body_len == strlen(s) && (r->body_len == 0 || memcmp(r->body, s, r->body_len) == 0);
}

/* python-requests 2.31.0: build.py status, the empty body "" */
static const char PY_GET[] =
	"GET /image HTTP/1.1\r\nHost: h:443\r\nUser-Agent: python-requests/2.31.0\r\n"
	"Accept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\n"
	"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n\"\"";
/* curl 7.88.1: curl -X POST --data '{"a": "b"}' -H 'Content-Type: application/json' */
static const char CURL_POST[] =
	"POST /state-image HTTP/1.1\r\nHost: sbs.example:8443\r\nUser-Agent: curl/7.88.1\r\n"
	"Accept: */*\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"a\": \"b\"}";

static void test_happy(void)
{
	struct rec r = req(PY_GET);

	CHECK(r.rc == HTTP_DONE && r.method == HTTP_GET && strcmp(r.target, "/image") == 0);
	CHECK(r.minor == 1 && r.keep_alive == 1 && r.has_length && !r.chunked);
	CHECK(strcmp(r.ctype, "application/json") == 0 && body_is(&r, "\"\""));
	CHECK(r.used == sizeof PY_GET - 1);
	free(r.body);

	r = req(CURL_POST);
	CHECK(r.rc == HTTP_DONE && r.method == HTTP_POST && strcmp(r.target, "/state-image") == 0);
	CHECK(body_is(&r, "{\"a\": \"b\"}") && r.keep_alive == 1);
	free(r.body);

	/* no body; bare LF line ends; leading empty lines; HTTP/1.0 */
	r = req("\r\n\nDELETE /image?x=1 HTTP/1.0\nHost: h\n\n");
	CHECK(r.rc == HTTP_DONE && r.method == HTTP_DELETE && r.minor == 0 && r.keep_alive == 0);
	CHECK(strcmp(r.target, "/image?x=1") == 0 && r.body_len == 0 && r.body == NULL);
	r = req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	CHECK(r.rc == HTTP_DONE && r.keep_alive == 1);
	r = req("GET / HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n");
	CHECK(r.rc == HTTP_DONE && r.keep_alive == 0);
	r = req("GET / HTTP/1.1\r\nconnection:   foo ,CLOSE\t \r\n\r\n");
	CHECK(r.rc == HTTP_DONE && r.keep_alive == 0);
	r = req("OPTIONS * HTTP/1.1\r\n\r\n");
	CHECK(r.rc == HTTP_DONE && r.method == HTTP_OPTIONS && strcmp(r.target, "*") == 0);
	r = req("HEAD /x HTTP/1.1\r\nX-Empty:\r\nX-Sp:  \r\n\r\n");
	CHECK(r.rc == HTTP_DONE && r.method == HTTP_HEAD);
	r = req("PUT /image HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n");
	CHECK(r.rc == HTTP_DONE && r.method == HTTP_PUT && r.body == NULL);
	r = req("PATCH /image HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
	CHECK(r.rc == HTTP_DONE && r.method == HTTP_PATCH && body_is(&r, "abc"));
	free(r.body);
	/* Content-Type is informational: long values keep their first 127 bytes */
	char ct[400];
	snprintf(ct, sizeof ct, "GET / HTTP/1.1\r\nContent-Type: %0200d\r\n\r\n", 7);
	r = req(ct);
	CHECK(r.rc == HTTP_DONE && strlen(r.ctype) == 127 && r.ctype[0] == '0');
}

static void test_pipeline(void)
{
	static const char in[] =
		"GET /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n\"\""
		"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n0\r\n\r\n"
		"GET /c HTTP/1.1\r\nConnection: close\r\n\r\n"
		"GET /d HTT";
	struct rec r[MAXREC];
	size_t n = parse_n(HTTP_REQUEST, HTTP_MAX_BODY, 0, in, sizeof in - 1, 0, r);

	CHECK(n == 3);
	CHECK(r[0].rc == HTTP_DONE && strcmp(r[0].target, "/a") == 0 && body_is(&r[0], "\"\""));
	CHECK(r[1].rc == HTTP_DONE && strcmp(r[1].target, "/b") == 0 && body_is(&r[1], "{}\n"));
	CHECK(r[1].chunked && r[1].keep_alive);
	CHECK(r[2].rc == HTTP_DONE && strcmp(r[2].target, "/c") == 0 && r[2].keep_alive == 0);
	CHECK(r[2].used == sizeof in - 1 - strlen("GET /d HTT"));
	rec_free(r, n);
}

static void test_chunked(void)
{
	struct rec r = req("POST /x HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n"
			   "5\r\nhello\r\n6;name=val;x\r\n world\r\nA \r\n0123456789\r\n"
			   "00000000\r\nTrailer-A: 1\r\nTrailer-B: 2\r\n\r\n");

	CHECK(r.rc == HTTP_DONE && r.chunked && body_is(&r, "hello world0123456789"));
	free(r.body);
	r = req("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	CHECK(r.rc == HTTP_DONE && r.body == NULL);
	r = req("GET /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\nZ\n0\n\n");
	CHECK(r.rc == HTTP_DONE && r.body_len == 1);
	free(r.body);
	/* 16 hex digits is the most; the value then meets max_body */
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000001\r\nx\r\n0\r\n\r\n") == -1);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000001\r\nx\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n") == 413);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: \r\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;\rx\r\na\r\n") == 400);
	/* the chunk-size line limit, CRLF included */
	char in[256];
	int k = snprintf(in, sizeof in, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;%0*d\r\nx\r\n0\r\n\r\n",
			 HTTP_MAX_CHUNK_LINE - 4, 0);
	CHECK(req_err(in, (size_t)k, HTTP_MAX_BODY) == -1);
	k = snprintf(in, sizeof in, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;%0*d\r\nx\r\n0\r\n\r\n",
		     HTTP_MAX_CHUNK_LINE - 3, 0);
	CHECK(req_err(in, (size_t)k, HTTP_MAX_BODY) == 400);
	/* decoded total against max_body: exactly, then one over */
	static const char two[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	CHECK(req_err(two, sizeof two - 1, 5) == -1);
	CHECK(req_err(two, sizeof two - 1, 4) == 413);
}

static void test_errors(void)
{
	CHECK(ERR("BREW /pot HTTP/1.1\r\n\r\n") == 501);
	CHECK(ERR("get / HTTP/1.1\r\n\r\n") == 501);
	CHECK(ERR("CONNECT h:443 HTTP/1.1\r\n\r\n") == 501);
	CHECK(ERR("G(T / HTTP/1.1\r\n\r\n") == 400);
	CHECK(ERR("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n") == 400);
	CHECK(ERR(" GET / HTTP/1.1\r\n\r\n") == 400);
	CHECK(ERR("GET /\r\n\r\n") == 400);
	CHECK(ERR("GET  / HTTP/1.1\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/1.1 \r\n\r\n") == 400);
	CHECK(ERR("GET x HTTP/1.1\r\n\r\n") == 400);
	CHECK(ERR("GET * HTTP/1.1\r\n\r\n") == 400);
	CHECK(ERR("GET http://h/ HTTP/1.1\r\n\r\n") == 400);
	CHECK(ERR("GET /\x7f HTTP/1.1\r\n\r\n") == 400);
	CHECK(ERR("GET /\xc3\xa9 HTTP/1.1\r\n\r\n") == 400);
	CHECK(ERR("GET / http/1.1\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/1.1x\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/11.1\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/2.0\r\n\r\n") == 505);
	CHECK(ERR("GET / HTTP/1.2\r\n\r\n") == 505);
	CHECK(ERR("GET / HTTP/0.9\r\n\r\n") == 505);
	CHECK(ERR("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/1.1\rHost: a\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/1.1\r\nHost a\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/1.1\r\n: a\r\n\r\n") == 400);
	CHECK(ERR("GET / HTTP/1.1\r\nH\"st: a\r\n\r\n") == 400);
	/* Content-Length */
	CHECK(ERR("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nContent-Length: 0x1\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nContent-Length: 1 1\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n") == 413);
	CHECK(ERR("POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\nab") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") == 501);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == 501);
	CHECK(ERR("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") == 501);
	CHECK(ERR("POST / HTTP/1.1\r\nHost: h\r\n\r\n") == 411);
	CHECK(ERR("PUT / HTTP/1.1\r\n\r\n") == 411);
	CHECK(ERR("PATCH / HTTP/1.0\r\n\r\n") == 411);
}

/* A request of exactly total bytes whose head is padded with one header. */
static char *sized_head(size_t total, size_t *len)
{
	static const char pre[] = "GET / HTTP/1.1\r\nX: ", post[] = "\r\n\r\n";
	size_t pad = total - (sizeof pre - 1) - (sizeof post - 1);
	char *s = malloc(total + 1);

	memcpy(s, pre, sizeof pre - 1);
	memset(s + sizeof pre - 1, 'a', pad);
	memcpy(s + sizeof pre - 1 + pad, post, sizeof post);
	*len = total;
	return s;
}

static void test_limits(void)
{
	struct rec r[MAXREC];
	size_t len, n;
	char *s, *q;

	s = sized_head(HTTP_MAX_HEAD, &len);
	n = parse_n(HTTP_REQUEST, HTTP_MAX_BODY, 0, s, len, 0, r);
	CHECK(n == 1 && r[0].rc == HTTP_DONE);
	free(s);
	s = sized_head(HTTP_MAX_HEAD + 1, &len);
	CHECK(req_err(s, len, HTTP_MAX_BODY) == 431);
	/* a head cut short within the limit is not refused early */
	CHECK(req_err(s, HTTP_MAX_HEAD - 10, HTTP_MAX_BODY) == -1);
	free(s);

	/* header lines: exactly HTTP_MAX_HEADERS, then one more */
	s = q = malloc(64 + 8 * (HTTP_MAX_HEADERS + 1));
	q += sprintf(q, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		q += sprintf(q, "H%d: v\r\n", i % 10);
	strcpy(q, "\r\n");
	n = parse_n(HTTP_REQUEST, HTTP_MAX_BODY, 0, s, strlen(s), 0, r);
	CHECK(n == 1 && r[0].rc == HTTP_DONE);
	strcpy(q, "H: v\r\n\r\n");
	CHECK(req_err(s, strlen(s), HTTP_MAX_BODY) == 431);
	free(s);

	/* the target: exactly HTTP_MAX_TARGET, then one over; and one over
	 * in a request line that does not even fit in the head */
	s = malloc(HTTP_MAX_HEAD * 2);
	sprintf(s, "GET /%0*d HTTP/1.1\r\n\r\n", HTTP_MAX_TARGET - 1, 0);
	n = parse_n(HTTP_REQUEST, HTTP_MAX_BODY, 0, s, strlen(s), 0, r);
	CHECK(n == 1 && r[0].rc == HTTP_DONE && strlen(r[0].target) == HTTP_MAX_TARGET);
	sprintf(s, "GET /%0*d HTTP/1.1\r\n\r\n", HTTP_MAX_TARGET, 0);
	CHECK(req_err(s, strlen(s), HTTP_MAX_BODY) == 414);
	sprintf(s, "GET /%0*d HTTP/1.1\r\n\r\n", HTTP_MAX_HEAD, 0);
	CHECK(req_err(s, strlen(s), HTTP_MAX_BODY) == 414);
	sprintf(s, "GET / HTTP/1.1%0*d\r\n\r\n", HTTP_MAX_HEAD, 0);
	CHECK(req_err(s, strlen(s), HTTP_MAX_BODY) == 431);
	free(s);

	/* Content-Length against max_body: refused as soon as the header is seen */
	static const char cl5[] = "POST / HTTP/1.1\r\nContent-Length: 5\r\nX: y\r\n\r\nhello";
	CHECK(req_err(cl5, sizeof cl5 - 1, 4) == 413);
	n = run(HTTP_REQUEST, 4, 0, cl5, sizeof cl5 - 1, 0, 0, r);
	CHECK(n == 1 && r[0].used == strlen("POST / HTTP/1.1\r\nContent-Length: 5\r\n"));
	n = parse_n(HTTP_REQUEST, 5, 0, cl5, sizeof cl5 - 1, 0, r);
	CHECK(n == 1 && r[0].rc == HTTP_DONE && body_is(&r[0], "hello"));
	rec_free(r, n);

	/* a whole HTTP_MAX_BODY body, then one byte more */
	size_t hl = 64;
	s = malloc(hl + HTTP_MAX_BODY + 1);
	int k = sprintf(s, "PUT / HTTP/1.1\r\nContent-Length: %u\r\n\r\n", HTTP_MAX_BODY);
	memset(s + k, 'b', HTTP_MAX_BODY);
	n = run(HTTP_REQUEST, HTTP_MAX_BODY, 0, s, (size_t)k + HTTP_MAX_BODY, 0, 0, r);
	CHECK(n == 1 && r[0].rc == HTTP_DONE && r[0].body_len == HTTP_MAX_BODY);
	rec_free(r, n);
	n = run(HTTP_REQUEST, HTTP_MAX_BODY, 0, s, (size_t)k + HTTP_MAX_BODY, 4096, 0, r);
	CHECK(n == 1 && r[0].rc == HTTP_DONE && r[0].body_len == HTTP_MAX_BODY);
	rec_free(r, n);
	k = sprintf(s, "PUT / HTTP/1.1\r\nContent-Length: %u\r\n\r\n", HTTP_MAX_BODY + 1);
	CHECK(req_err(s, (size_t)k, HTTP_MAX_BODY) == 413);
	free(s);

	/* trailers count against the head limit (47 bytes of head, 5 + W of
	 * trailer line): exactly at the limit, then one over */
	s = malloc(2 * HTTP_MAX_HEAD);
	k = sprintf(s, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: %0*d\r\n\r\n",
		    HTTP_MAX_HEAD - 54, 0);
	CHECK(req_err(s, (size_t)k, HTTP_MAX_BODY) == -1);
	k = sprintf(s, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: %0*d\r\n\r\n",
		    HTTP_MAX_HEAD - 53, 0);
	CHECK(req_err(s, (size_t)k, HTTP_MAX_BODY) == 431);
	free(s);
}

static void test_eof(void)
{
	struct http_parser p;

	http_init(&p, HTTP_REQUEST, 100);
	CHECK(http_feed_eof(&p) == -ENODATA && p.err_status == 400);
	http_reset(&p);
	size_t used;
	CHECK(http_feed(&p, (const uint8_t *)"\r\n", 2, &used) == HTTP_MORE && used == 2);
	CHECK(http_feed_eof(&p) == -ENODATA);
	http_reset(&p);
	CHECK(http_feed(&p, (const uint8_t *)"GET", 3, &used) == HTTP_MORE && used == 3);
	CHECK(http_feed_eof(&p) == -EPIPE);
	http_reset(&p);
	static const char post[] = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab";
	CHECK(http_feed(&p, (const uint8_t *)post, sizeof post - 1, &used) == HTTP_MORE);
	CHECK(http_feed_eof(&p) == -EPIPE && p.msg.keep_alive == 0);
	http_reset(&p);
	CHECK(p.kind == HTTP_REQUEST && p.max_body == 100 && p.err_status == 0);
	CHECK(http_feed(&p, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, &used) == HTTP_DONE);
	CHECK(http_feed_eof(&p) == HTTP_DONE);
	CHECK(http_feed(&p, (const uint8_t *)"GET", 3, &used) == HTTP_DONE && used == 0);
	http_free(&p);
	/* error codes by status */
	http_init(&p, HTTP_REQUEST, 100);
	CHECK(http_feed(&p, (const uint8_t *)"X / HTTP/1.1\r\n", 14, &used) == -ENOSYS);
	http_reset(&p);
	CHECK(http_feed(&p, (const uint8_t *)"GET / HTTP/1.1\r\nContent-Length: 101\r\n", 37, &used) == -E2BIG);
	http_reset(&p);
	CHECK(http_feed(&p, (const uint8_t *)"GET / HTTP/1.1\r\n x\r\n", 20, &used) == -EBADMSG);
	http_free(&p);
}

/* One body buffer is reused across messages, grows past its first size,
 * and may be taken by the caller (as the client does). */
static void test_reuse(void)
{
	static const char small[] = "PUT / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
	struct http_parser p;
	char *big = malloc(10100);
	size_t used;
	int k;

	http_init(&p, HTTP_REQUEST, HTTP_MAX_BODY);
	CHECK(http_feed(&p, (const uint8_t *)small, sizeof small - 1, &used) == HTTP_DONE);
	CHECK(p.msg.body_len == 3 && memcmp(p.msg.body, "abc", 4) == 0);
	http_reset(&p);
	k = sprintf(big, "PUT / HTTP/1.1\r\nContent-Length: 10000\r\n\r\n");
	memset(big + k, 'q', 10000);
	CHECK(http_feed(&p, (const uint8_t *)big, (size_t)k + 10000, &used) == HTTP_DONE);
	CHECK(p.msg.body_len == 10000 && p.msg.body[9999] == 'q' && p.msg.body[10000] == 0);
	CHECK(p.body_cap == 10001);
	http_reset(&p);
	CHECK(http_feed(&p, (const uint8_t *)small, sizeof small - 1, &used) == HTTP_DONE);
	CHECK(p.msg.body_len == 3 && memcmp(p.msg.body, "abc", 4) == 0);
	uint8_t *taken = p.msg.body;
	p.msg.body = NULL;
	p.msg.body_len = 0;
	http_reset(&p);
	CHECK(http_feed(&p, (const uint8_t *)small, sizeof small - 1, &used) == HTTP_DONE);
	CHECK(p.msg.body != taken && memcmp(p.msg.body, "abc", 4) == 0 && memcmp(taken, "abc", 4) == 0);
	free(taken);
	http_free(&p);
	free(big);
}

static struct rec resp(const char *in, int head_req, int eof)
{
	struct rec r[MAXREC];
	size_t n = parse_n(HTTP_RESPONSE, 1000, head_req, in, strlen(in), eof, r);

	CHECK(n == 1);
	if (n == 0)
		memset(r, 0, sizeof *r);
	rec_free(r + 1, n > 1 ? n - 1 : 0);
	return r[0];
}

static void test_response(void)
{
	struct rec r[MAXREC], x;
	size_t n;

	x = resp("HTTP/1.1 201 Created\r\nServer: sbsd\r\nContent-Type: text/plain\r\n"
		 "Content-Length: 5\r\n\r\nhello", 0, 0);
	CHECK(x.rc == HTTP_DONE && x.status == 201 && x.keep_alive && body_is(&x, "hello"));
	CHECK(strcmp(x.ctype, "text/plain") == 0);
	free(x.body);
	x = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 0, 0);
	CHECK(x.rc == HTTP_DONE && x.chunked && body_is(&x, "{}"));
	free(x.body);
	x = resp("HTTP/1.0 200 OK\r\n\r\n{\"status\": \"OK\"}", 0, 1);
	CHECK(x.rc == HTTP_DONE && x.keep_alive == 0 && body_is(&x, "{\"status\": \"OK\"}"));
	free(x.body);
	x = resp("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n", 0, 1);
	CHECK(x.rc == HTTP_DONE && x.keep_alive == 0 && x.body == NULL);
	x = resp("HTTP/1.1 200\r\nContent-Length: 100000\r\n\r\n", 1, 0);
	CHECK(x.rc == HTTP_DONE && x.status == 200 && x.body == NULL && x.keep_alive);
	x = resp("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", 0, 0);
	CHECK(x.rc == HTTP_DONE && x.body == NULL);
	x = resp("HTTP/1.1 304 Not Modified\r\n\r\n", 0, 0);
	CHECK(x.rc == HTTP_DONE && x.body == NULL);

	static const char two[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno";
	n = parse_n(HTTP_RESPONSE, 1000, 0, two, sizeof two - 1, 0, r);
	CHECK(n == 2 && r[0].status == 100 && r[1].status == 404 && body_is(&r[1], "no"));
	rec_free(r, n);

	/* errors */
	x = resp("HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n", 0, 0);
	CHECK(x.rc == -E2BIG && x.err_status == 413);
	x = resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 0, 1);
	CHECK(x.rc == -EPIPE);
	static const char big[] = "HTTP/1.1 200 OK\r\n\r\n";
	char *s = malloc(sizeof big + 1001);
	memcpy(s, big, sizeof big - 1);
	memset(s + sizeof big - 1, 'z', 1001);
	n = parse_n(HTTP_RESPONSE, 1000, 0, s, sizeof big - 1 + 1000, 1, r);
	CHECK(n == 1 && r[0].rc == HTTP_DONE && r[0].body_len == 1000 && r[0].keep_alive == 0);
	rec_free(r, n);
	n = parse_n(HTTP_RESPONSE, 1000, 0, s, sizeof big - 1 + 1001, 1, r);
	CHECK(n == 1 && r[0].rc == -E2BIG && r[0].err_status == 413);
	free(s);
	static const char *bad[] = {
		"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n",
		"HTTP/1.1 600 X\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1\r\n\r\n", "ICY 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\n x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		x = resp(bad[i], 0, 1);
		CHECK(x.rc == -EBADMSG && x.err_status == 400);
	}
	x = resp("HTTP/2.0 200 OK\r\n\r\n", 0, 1);
	CHECK(x.rc == -ENOSYS && x.err_status == 505);
}

static void test_format(void)
{
	char out[256];
	static const char want[] = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
				   "Content-Length: 1234567\r\nConnection: keep-alive\r\n\r\n";
	size_t n = http_format_head(out, sizeof out, 201, "application/json", 1234567, 1);

	CHECK(n == sizeof want - 1 && strcmp(out, want) == 0);
	n = http_format_head(out, sizeof want, 201, "application/json", 1234567, 1);
	CHECK(n == sizeof want - 1);
	CHECK(http_format_head(out, sizeof want - 1, 201, "application/json", 1234567, 1) == 0);
	n = http_format_head(out, sizeof out, 400, NULL, 0, 0);
	CHECK(strcmp(out, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n") == 0);
	CHECK(n == strlen(out));
	n = http_format_head(out, sizeof out, 299, "text/plain", 1, 0);
	CHECK(strncmp(out, "HTTP/1.1 299 Unknown\r\n", 22) == 0 && n > 0);
	CHECK(http_format_head(out, sizeof out, 200, "text/plain\r\nX-Evil: 1", 0, 1) == 0);
	CHECK(http_format_head(out, sizeof out, 99, NULL, 0, 1) == 0);
	CHECK(http_format_head(out, 0, 200, NULL, 0, 1) == 0);

	static const int codes[] = { 200, 201, 400, 401, 403, 404, 405, 408, 409, 411, 413, 414,
				     415, 422, 429, 431, 500, 501, 503, 505 };
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
		CHECK(strcmp(http_status_text(codes[i]), "Unknown") != 0);
	CHECK(strcmp(http_status_text(404), "Not Found") == 0);
	CHECK(strcmp(http_method_name(HTTP_PATCH), "PATCH") == 0);
	CHECK(strcmp(http_method_name(HTTP_OPTIONS), "OPTIONS") == 0);
	CHECK(strcmp(http_method_name((enum http_method)0), "UNKNOWN") == 0);
}

int main(void)
{
	test_happy();
	test_pipeline();
	test_chunked();
	test_errors();
	test_limits();
	test_eof();
	test_reuse();
	test_response();
	test_format();
	return tu_done("test_http");
}
