/* SPDX-License-Identifier: MIT */
/*
 * kproto: framing and request decoding of the keeper channel (kproto.h). The
 * receiver checks the header (version, length bound) before allocating, and
 * every payload packet against the size the header implies, so a peer can
 * neither make it allocate more than KEEPER_MAX_MSG nor desynchronise the
 * stream silently. Request fields are read through one bounds-checked cursor.
 */
#include "kproto.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

void kproto_u32(uint8_t *dst, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		dst[i] = (uint8_t)(v >> (8 * i));
}

void kproto_u64(uint8_t *dst, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		dst[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void kproto_hdr_put(const struct kproto_hdr *h, uint8_t out[static KPROTO_HDR])
{
	out[0] = (uint8_t)h->version;
	out[1] = (uint8_t)(h->version >> 8);
	out[2] = (uint8_t)h->op;
	out[3] = (uint8_t)(h->op >> 8);
	kproto_u32(out + 4, h->arg);
	kproto_u32(out + 8, (uint32_t)h->status);
	kproto_u32(out + 12, h->len);
}

int kproto_hdr_get(const uint8_t *p, size_t n, struct kproto_hdr *h)
{
	if (!p || n != KPROTO_HDR)
		return -EPROTO;
	h->version = (uint16_t)(p[0] | p[1] << 8);
	h->op = (uint16_t)(p[2] | p[3] << 8);
	h->arg = get32(p + 4);
	h->status = (int32_t)get32(p + 8);
	h->len = get32(p + 12);
	if (h->version != KPROTO_VERSION || h->len > KEEPER_MAX_MSG)
		return -EPROTO;
	return 0;
}

static int send_pkt(int fd, const void *p, size_t n)
{
	ssize_t w;

	do
		w = send(fd, p, n, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -errno;
	return (size_t)w == n ? 0 : -EIO;
}

int kproto_send(int fd, uint16_t op, uint32_t arg, int32_t status, const void *p, size_t len)
{
	struct kproto_hdr h = { KPROTO_VERSION, op, arg, status, (uint32_t)len };
	uint8_t hb[KPROTO_HDR];
	const uint8_t *q = p;
	int rc;

	if (len > KEEPER_MAX_MSG || (len && !p))
		return -EINVAL;
	kproto_hdr_put(&h, hb);
	rc = send_pkt(fd, hb, sizeof hb);
	for (size_t off = 0; rc == 0 && off < len; off += KEEPER_CHUNK)
		rc = send_pkt(fd, q + off, len - off < KEEPER_CHUNK ? len - off : KEEPER_CHUNK);
	return rc;
}

/* One packet of exactly want bytes (a bigger one is truncated: MSG_TRUNC). */
static int recv_pkt(int fd, uint8_t *p, size_t want, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int rc;

	do
		rc = poll(&pfd, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	do
		n = recv(fd, p, want, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? -EPIPE : -errno;
	if (n == 0)
		return -EPIPE;
	return (size_t)n == want ? 0 : -EPROTO;
}

int kproto_recv(int fd, struct kproto_hdr *h, uint8_t **payload, int timeout_ms)
{
	uint8_t hb[KPROTO_HDR + 1], *p = NULL;
	int rc;

	*payload = NULL;
	/* one byte of room: a longer packet shows up as a size mismatch */
	rc = recv_pkt(fd, hb, KPROTO_HDR, timeout_ms);
	if (rc < 0)
		return rc;
	if ((rc = kproto_hdr_get(hb, KPROTO_HDR, h)) < 0)
		return rc;
	if (h->len == 0)
		return 0;
	p = malloc((size_t)h->len + 1);
	if (!p)
		return -ENOMEM;
	for (size_t off = 0; rc == 0 && off < h->len; off += KEEPER_CHUNK)
		rc = recv_pkt(fd, p + off, h->len - off < KEEPER_CHUNK ? h->len - off : KEEPER_CHUNK,
			      timeout_ms);
	if (rc < 0) {
		wipe_free(p, (size_t)h->len + 1);
		return rc;
	}
	p[h->len] = 0;
	*payload = p;
	return 0;
}

/* ---- request decoding (the keeper's view of untrusted bytes) ---- */

struct cur {
	const uint8_t *p;
	size_t left;
	int bad;
};

static const uint8_t *take(struct cur *c, size_t n)
{
	const uint8_t *r = c->p;

	if (c->bad || n > c->left) {
		c->bad = 1;
		return NULL;
	}
	c->p += n;
	c->left -= n;
	return r;
}

static uint32_t take32(struct cur *c)
{
	const uint8_t *p = take(c, 4);

	return p ? get32(p) : 0;
}

static uint64_t take64(struct cur *c)
{
	const uint8_t *p = take(c, 8);

	return p ? get64(p) : 0;
}

/* n bytes, 1..max, no NUL, copied into out (max + 1 bytes) as a C string. */
static void take_str(struct cur *c, size_t n, size_t max, char *out)
{
	const uint8_t *p;

	if (n == 0 || n > max) {
		c->bad = 1;
		return;
	}
	p = take(c, n);
	if (!p || memchr(p, 0, n)) {
		c->bad = 1;
		return;
	}
	memcpy(out, p, n);
	out[n] = 0;
}

static void take_secret(struct cur *c, struct kproto_req *r)
{
	uint32_t n = take32(c);

	if (n == 0 || n > PARAM_MAX_VALUE) {
		c->bad = 1;
		return;
	}
	r->secret_len = n;
	r->secret = take(c, n);
}

static void rest(struct cur *c, struct kproto_req *r)
{
	r->data_len = c->left;
	r->data = take(c, c->left);
}

static int needs_key(enum kproto_op op)
{
	return op == KOP_HAS || op == KOP_PUBKEY_PEM || op == KOP_PUBKEY_DER || op == KOP_SIGN;
}

int kproto_req_parse(const struct kproto_hdr *h, const uint8_t *p, size_t len,
		     struct kproto_req *out)
{
	struct cur c = { p, len, !p && len };

	memset(out, 0, sizeof *out);
	if (h->op < KOP_HAS || h->op >= KOP_END || len != h->len)
		return -EINVAL;
	out->op = (enum kproto_op)h->op;
	if (needs_key(out->op) ? h->arg >= KEEPER_NKEYS : h->arg != 0)
		return -EINVAL;
	out->key = (enum keeper_key)h->arg;
	switch (out->op) {
	case KOP_SIGN:
		if (len == 32)
			memcpy(out->hash, take(&c, 32), 32);
		break;
	case KOP_TLS_SELF:
		out->serial = take64(&c);
		out->not_before = (int64_t)take64(&c);
		out->not_after = (int64_t)take64(&c);
		take_str(&c, c.left, KEEPER_MAX_HOST, out->host);   /* the rest */
		break;
	case KOP_TLS_CSR:
		take_str(&c, c.left, KEEPER_MAX_HOST, out->host);
		break;
	case KOP_SET_TLS:
		if (len == 0 || len > KEY_MAX_PEM)
			c.bad = 1;
		rest(&c, out);
		break;
	case KOP_STATE_SEAL:
		take_secret(&c, out);
		take_str(&c, take32(&c), KEEPER_MAX_TS, out->ts);
		if (c.left > STATE_MAX_PLAIN)
			c.bad = 1;
		rest(&c, out);
		break;
	case KOP_STATE_OPEN:
		take_secret(&c, out);
		if (c.left > STATE_MAX_B64)
			c.bad = 1;
		rest(&c, out);
		break;
	default:
		break;
	}
	return c.bad || c.left ? -EINVAL : 0;
}
