/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the HTTP parser (src/http.c). The first byte picks the split
 * points, the body limit and whether a response answers a HEAD; the rest is
 * fed to a request parser and to a response parser, each once whole and once
 * in pieces, resetting after every message as sbsd and sbs do. Both feedings
 * must give the same messages (a digest of every field and body byte), and
 * every message must respect the limits; anything else aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cfg {
	enum http_kind kind;
	size_t max_body;
	int head_req;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3u;
	return h;
}

static uint64_t mix_int(uint64_t h, long long v)
{
	return mix(h, &v, sizeof v);
}

static void check_msg(const struct http_parser *p, const struct cfg *c)
{
	const struct http_msg *m = &p->msg;

	if ((m->body == NULL) != (m->body_len == 0) || m->body_len > c->max_body ||
	    (m->body && m->body[m->body_len] != 0) || p->body_cap > c->max_body + 1 ||
	    strlen(m->target) > HTTP_MAX_TARGET || strlen(m->content_type) >= sizeof m->content_type ||
	    (m->has_length && !m->chunked && m->body_len != 0 && m->body_len != m->content_length))
		abort();
	if (c->kind == HTTP_REQUEST && (m->method < HTTP_GET || m->method > HTTP_OPTIONS ||
					(m->target[0] != '/' && m->target[0] != '*')))
		abort();
}

static uint64_t digest(uint64_t h, const struct http_parser *p, int rc, size_t at)
{
	const struct http_msg *m = &p->msg;

	h = mix_int(h, rc);
	h = mix_int(h, p->err_status);
	if (rc < 0)
		return p->err_reason ? mix(h, p->err_reason, strlen(p->err_reason)) : h;
	h = mix_int(h, (long long)at);
	h = mix_int(h, m->method);
	h = mix_int(h, m->status);
	h = mix_int(h, m->minor);
	h = mix_int(h, m->keep_alive);
	h = mix_int(h, m->chunked);
	h = mix_int(h, m->has_length);
	h = mix_int(h, (long long)m->content_length);
	h = mix(h, m->target, strlen(m->target));
	h = mix(h, m->content_type, strlen(m->content_type));
	return m->body_len ? mix(h, m->body, m->body_len) : h;
}

/* Feeds the input in pieces (0: whole); returns a digest of the messages. */
static uint64_t run(const struct cfg *c, const uint8_t *in, size_t len, uint32_t seed)
{
	struct http_parser *p = malloc(sizeof *p);
	uint64_t h = 0xcbf29ce484222325u;
	size_t off = 0;
	int rc = HTTP_MORE, msgs = 0;

	if (!p)
		abort();
	http_init(p, c->kind, c->max_body);
	p->head_request = c->head_req;
	while (off < len && msgs < 64) {
		size_t n = len - off, used = 0;
		if (seed) {
			seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
			size_t cut = 1 + seed % ((seed & 0x100) ? 4 : 64);
			n = n < cut ? n : cut;
		}
		rc = http_feed(p, in + off, n, &used);
		if (used > n || (rc == HTTP_MORE && used != n))
			abort();
		off += used;
		if (rc == HTTP_MORE)
			continue;
		if (rc < 0 && (!p->err_reason || p->err_status < 400 || p->err_status > 505))
			abort();
		if (rc == HTTP_DONE)
			check_msg(p, c);
		h = digest(h, p, rc, off);
		if (rc < 0)
			break;
		http_reset(p);
		p->head_request = c->head_req;
		msgs++;
	}
	if (rc == HTTP_MORE) {
		rc = http_feed_eof(p);
		if (rc == HTTP_DONE)
			check_msg(p, c);
		h = digest(h, p, rc, off);
	}
	http_free(p);
	free(p);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	uint32_t seed;

	if (size < 1)
		return 0;
	seed = data[0] * 2654435761u | 1;
	c.max_body = (data[0] & 1) ? 64 : HTTP_MAX_BODY;
	c.head_req = (data[0] >> 1) & 1;
	for (int k = 0; k < 2; k++) {
		c.kind = k ? HTTP_RESPONSE : HTTP_REQUEST;
		if (run(&c, data + 1, size - 1, 0) != run(&c, data + 1, size - 1, seed))
			abort();
	}
	return 0;
}
