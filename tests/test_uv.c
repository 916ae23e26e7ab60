/* SPDX-License-Identifier: MIT */
/*
 * Tests of hal/uv.h against a fake /dev/uv: uv_ioctl is pointed at a
 * function that reads the request by raw byte offsets of the kernel UAPI
 * (arch/s390/include/uapi/asm/uvdevice.h: uvio_ioctl_cb 0x40 bytes,
 * uvio_attest 0x138 bytes), so a wrong struct layout in uv.c fails here
 * rather than on the machine; it answers like the Ultravisor (measurement,
 * additional data, config UID, uv_rc). Checked: the ioctl number, every
 * field the Ultravisor reads, the exchange file written back (offsets,
 * sizes, blobs, total size), Ultravisor refusals and ioctl errors, and the
 * request parser's bounds (magic, version, offsets, sizes). Then the
 * endpoint (src/api_attest.c) with a HAL whose attest runs uv_attest on the
 * same fake device and a keeper in a temp dir: the JSON reply binds
 * SHA-256 of the keeper's TLS SPKI and the nonce, and its evidence decodes to
 * the exchange file carrying exactly that user data; bad nonces are 400,
 * a guest that is not protected is 503 with the plain statement.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_attest.h"
#include "cry.h"
#include "json.h"
#include "keeper.h"
#include "limits.h"
#include "tutil.h"
#include "util.h"
#include "uv.h"

#define MEAS_LEN 64
#define ADD_LEN  32
#define ARCB_LEN 200

static struct {
	int calls;
	int fd;
	unsigned long req;
	uint16_t rc, rrc;       /* what the fake Ultravisor answers */
	int fail_errno;         /* nonzero: the ioctl fails */
	int bad_layout;         /* set when a field is not where the UAPI says */
	uint8_t user[256];
	uint16_t ulen;
	uint8_t arcb[ARCB_LEN];
	uint32_t meas_len, add_len;
} F;

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The fake device: reads by UAPI offsets, answers like the Ultravisor. */
static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	uint8_t *cb = arg, *att;
	uint32_t arcb_len;

	F.calls++;
	F.fd = fd;
	F.req = req;
	if (F.fail_errno) {
		errno = F.fail_errno;
		return -1;
	}
	if (rd32(cb) != 0 || rd32(cb + 0x10) != 0x138)
		F.bad_layout = 1;
	for (int i = 0x14; i < 0x40; i++)
		if (cb[i])
			F.bad_layout = 1;
	att = (uint8_t *)(uintptr_t)rd64(cb + 0x08);
	arcb_len = rd32(att + 0x128);
	F.meas_len = rd32(att + 0x12c);
	F.add_len = rd32(att + 0x130);
	F.ulen = rd16(att + 0x134);
	if (rd16(att + 0x136) != 0 || arcb_len != ARCB_LEN || F.ulen > 256)
		F.bad_layout = 1;
	else {
		memcpy(F.arcb, (const void *)(uintptr_t)rd64(att), ARCB_LEN);
		memcpy(F.user, att + 0x18, F.ulen);
	}
	/* the answer */
	memset((void *)(uintptr_t)rd64(att + 0x08), 0xa5, F.meas_len);
	if (F.add_len)
		memset((void *)(uintptr_t)rd64(att + 0x10), 0x5a, F.add_len);
	for (int i = 0; i < 16; i++)
		att[0x118 + i] = (uint8_t)(0xc0 + i);
	memcpy(cb + 4, &F.rc, 2);
	memcpy(cb + 6, &F.rrc, 2);
	return 0;
}

/* A request exchange file as `pvattest create` writes it. */
static size_t make_request(uint8_t *p, uint32_t meas, uint32_t add)
{
	memset(p, 0, 0x40 + ARCB_LEN);
	memcpy(p, "pvattest", 8);
	put_be32(p + 8, 0x0100);
	put_be32(p + 12, 0x40 + ARCB_LEN);
	put_be32(p + 24, ARCB_LEN);     /* ARCB size */
	put_be32(p + 28, 0x40);         /* ARCB offset */
	put_be32(p + 32, meas);         /* measurement: size only */
	put_be32(p + 40, add);          /* additional data: size only */
	for (int i = 0; i < ARCB_LEN; i++)
		p[0x40 + i] = (uint8_t)(i * 7 + 1);
	return 0x40 + ARCB_LEN;
}

static void test_parse(void)
{
	uint8_t r[0x40 + ARCB_LEN];
	size_t n = make_request(r, MEAS_LEN, ADD_LEN);
	struct uv_request rq;

	CHECK(uv_parse_request(r, n, &rq) == 0);
	CHECK(rq.arcb == r + 0x40 && rq.arcb_len == ARCB_LEN);
	CHECK(rq.meas_len == MEAS_LEN && rq.add_len == ADD_LEN);
	CHECK(uv_parse_request(r, n - 1, &rq) == -EINVAL);     /* size > file */
	CHECK(uv_parse_request(r, 0x3f, &rq) == -EINVAL);
	CHECK(uv_parse_request(NULL, n, &rq) == -EINVAL);
	r[0] = 'P';
	CHECK(uv_parse_request(r, n, &rq) == -EINVAL);
	make_request(r, MEAS_LEN, ADD_LEN);
	put_be32(r + 8, 0x0200);
	CHECK(uv_parse_request(r, n, &rq) == -EINVAL);
	make_request(r, MEAS_LEN, ADD_LEN);
	put_be32(r + 28, 0x3c);                               /* ARCB inside the header */
	CHECK(uv_parse_request(r, n, &rq) == -EINVAL);
	make_request(r, MEAS_LEN, ADD_LEN);
	put_be32(r + 24, ARCB_LEN + 1);                       /* past the end */
	CHECK(uv_parse_request(r, n, &rq) == -EINVAL);
	make_request(r, MEAS_LEN, ADD_LEN);
	put_be32(r + 28, 0xfffffff0u);                        /* offset overflow */
	CHECK(uv_parse_request(r, n, &rq) == -EINVAL);
	make_request(r, 0, ADD_LEN);
	CHECK(uv_parse_request(r, n, &rq) == -EINVAL);         /* no measurement */
	make_request(r, SE_MAX_MEAS + 1, 0);
	CHECK(uv_parse_request(r, n, &rq) == -EINVAL);
	make_request(r, MEAS_LEN, SE_MAX_ADD + 1);
	CHECK(uv_parse_request(r, n, &rq) == -EINVAL);
	make_request(r, MEAS_LEN, 0);
	CHECK(uv_parse_request(r, n, &rq) == 0 && rq.add_len == 0);
}

/* Checks one entry of the response: size, and the blob at its offset. */
static int entry_is(const struct buf *b, int i, const uint8_t *want, uint32_t len)
{
	uint32_t sz = be32(b->data + 24 + 8 * i), off = be32(b->data + 28 + 8 * i);

	if (sz != len || off < 0x40 || off + (uint64_t)sz > b->len)
		return 0;
	return memcmp(b->data + off, want, len) == 0;
}

static void test_attest(void)
{
	uint8_t r[0x40 + ARCB_LEN], user[64], meas[MEAS_LEN], add[ADD_LEN], uid[16];
	struct uv_request rq;
	struct buf out = { 0 };

	make_request(r, MEAS_LEN, ADD_LEN);
	CHECK(uv_parse_request(r, sizeof r, &rq) == 0);
	for (int i = 0; i < 64; i++)
		user[i] = (uint8_t)(0x30 + i);
	memset(meas, 0xa5, sizeof meas);
	memset(add, 0x5a, sizeof add);
	for (int i = 0; i < 16; i++)
		uid[i] = (uint8_t)(0xc0 + i);
	uv_ioctl = fake_ioctl;
	F.rc = 0x0001;
	CHECK(uv_attest(7, &rq, user, sizeof user, &out) == 0);
	CHECK(F.calls == 1 && F.fd == 7 && F.req == 0xc0407501ul && F.req == UV_IOCTL_ATT);
	CHECK(!F.bad_layout);
	CHECK(!memcmp(F.arcb, r + 0x40, ARCB_LEN));
	CHECK(F.ulen == 64 && !memcmp(F.user, user, 64));
	CHECK(F.meas_len == MEAS_LEN && F.add_len == ADD_LEN);
	/* the response exchange file */
	CHECK(out.len == 0x40 + ARCB_LEN + MEAS_LEN + ADD_LEN + 64 + 16);
	CHECK(out.len >= 0x40 && !memcmp(out.data, "pvattest", 8));
	CHECK(be32(out.data + 8) == 0x0100 && be32(out.data + 12) == out.len);
	CHECK(entry_is(&out, 0, r + 0x40, ARCB_LEN));
	CHECK(be32(out.data + 28) == 0x40);                    /* blobs in order */
	CHECK(entry_is(&out, 1, meas, MEAS_LEN));
	CHECK(entry_is(&out, 2, add, ADD_LEN));
	CHECK(entry_is(&out, 3, user, 64));
	CHECK(entry_is(&out, 4, uid, 16));
	/* the response parses as a request again (pvattest reads both alike) */
	CHECK(uv_parse_request(out.data, out.len, &rq) == 0 && rq.meas_len == MEAS_LEN);
	buf_free(&out);

	/* no additional data: its entry stays {0, 0} */
	make_request(r, MEAS_LEN, 0);
	CHECK(uv_parse_request(r, sizeof r, &rq) == 0);
	CHECK(uv_attest(7, &rq, user, 1, &out) == 0);
	CHECK(F.add_len == 0 && F.ulen == 1);
	CHECK(out.len == 0x40 + ARCB_LEN + MEAS_LEN + 1 + 16);
	CHECK(out.len >= 0x40 && be32(out.data + 40) == 0 && be32(out.data + 44) == 0);
	CHECK(entry_is(&out, 3, user, 1) && entry_is(&out, 4, uid, 16));
	buf_free(&out);

	/* the Ultravisor refuses: -EIO, nothing appended */
	F.rc = 0x0106;
	F.rrc = 0x0002;
	CHECK(uv_attest(7, &rq, user, 64, &out) == -EIO && out.len == 0);
	/* the ioctl fails (e.g. no such device behind the fd) */
	F.rc = 0x0001;
	F.fail_errno = ENOTTY;
	CHECK(uv_attest(7, &rq, user, 64, &out) == -ENOTTY && out.len == 0);
	F.fail_errno = 0;
	/* arguments, checked before the device is touched */
	int calls = F.calls;
	uint8_t big[257] = { 0 };
	CHECK(uv_attest(7, &rq, big, sizeof big, &out) == -EINVAL);
	CHECK(uv_attest(7, &rq, user, 0, &out) == -EINVAL);
	CHECK(uv_attest(7, NULL, user, 64, &out) == -EINVAL);
	rq.meas_len = SE_MAX_MEAS + 1;
	CHECK(uv_attest(7, &rq, user, 64, &out) == -EINVAL);
	CHECK(F.calls == calls);
	buf_free(&out);
}

/* ---- the endpoint, with a HAL on the fake device ---- */

static int prot = 1;
static uint8_t hal_req[0x40 + ARCB_LEN];

static int t_protected(void)
{
	return prot;
}

static int t_attest(const uint8_t *user, size_t ulen, struct buf *out)
{
	struct uv_request rq;
	int rc = uv_parse_request(hal_req, sizeof hal_req, &rq);

	return rc < 0 ? rc : uv_attest(9, &rq, user, ulen, out);
}

static const struct hal thal = { .name = "test", .protected_guest = t_protected,
				 .attest = t_attest };

/* Runs the handler; returns the HTTP status, *j the parsed body. */
static int call(const char *target, json **j)
{
	struct srv_reply r;
	int st;

	memset(&r, 0, sizeof r);
	*j = NULL;
	api_attest(target, &thal, &r);
	st = r.status;
	if (json_parse((const char *)r.body.data, r.body.len, j, NULL) < 0)
		st = -1;
	buf_free(&r.body);
	return st;
}

static void test_endpoint(void)
{
	char dir[] = "/tmp/sbs-test-uv-XXXXXX", keys[64], pem[512], want[2 * 36 + 1];
	uint8_t der[512], h[32], ev[4096];
	size_t dlen = 0, plen = 0, elen = 0;
	const char *e;
	json *j;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(keys, sizeof keys, "%s/keys", dir);
	CHECK(keeper_open(keys, util_rng, NULL) == 0);
	CHECK(keeper_pubkey_pem(KEEPER_TLS, pem, sizeof pem, &plen) == 0);
	{       /* the SPKI DER from the PEM, not from the keeper's DER answer */
		char b64[512];
		size_t bn = 0;
		const char *q = strchr(pem, '\n'), *end = strstr(pem, "-----END");
		for (; q && end && q < end && bn + 1 < sizeof b64; q++)
			if (*q != '\n')
				b64[bn++] = *q;
		CHECK(cry_b64_decode(b64, bn, der, sizeof der, &dlen) == 0);
		uint8_t der2[512];
		size_t d2 = 0;
		CHECK(keeper_pubkey_der(KEEPER_TLS, der2, sizeof der2, &d2) == 0);
		CHECK(d2 == dlen && memcmp(der, der2, dlen) == 0);
	}
	cry_sha256(der, dlen, h);
	cry_hex(h, 32, want);
	snprintf(want + 64, sizeof want - 64, "00c0ffee");
	make_request(hal_req, MEAS_LEN, 0);
	F.rc = 0x0001;

	CHECK(call("/attestation?nonce=00C0FFEE", &j) == 200);
	CHECK(json_bool(json_get(j, "protected")) == 1);
	CHECK((e = json_get_str(j, "nonce")) && !strcmp(e, "00c0ffee"));
	CHECK((e = json_get_str(j, "spki_sha256")) && !strncmp(e, want, 64) && strlen(e) == 64);
	CHECK((e = json_get_str(j, "user_data")) && !strcmp(e, want));
	CHECK(F.ulen == 36 && !memcmp(F.user, h, 32) && F.user[32] == 0x00 && F.user[35] == 0xee);
	e = json_get_str(j, "evidence");
	CHECK(e && cry_b64_decode(e, strlen(e), ev, sizeof ev, &elen) == 0);
	CHECK(elen == 0x40 + ARCB_LEN + MEAS_LEN + 36 + 16 && !memcmp(ev, "pvattest", 8));
	CHECK(elen > 0x40 && be32(ev + 48) == 36 && be32(ev + 52) + 36 <= elen &&
	      !memcmp(ev + be32(ev + 52), F.user, 36));
	json_free(j);

	CHECK(call("/attestation?nonce=0", &j) == 400);
	json_free(j);
	CHECK(call("/attestation", &j) == 400);
	json_free(j);
	/* the Ultravisor refuses: 500, the reason is on the console only */
	F.rc = 0x0106;
	CHECK(call("/attestation?nonce=01", &j) == 500);
	CHECK(json_get_str(j, "evidence") == NULL);
	json_free(j);
	/* not a protected guest: the plain statement, before any device access */
	prot = 0;
	int calls = F.calls;
	CHECK(call("/attestation?nonce=01", &j) == 503);
	CHECK(json_bool(json_get(j, "protected")) == 0);
	CHECK((e = json_get_str(j, "error")) && !strcmp(e, API_ATTEST_NOT_PROTECTED));
	CHECK(F.calls == calls);
	json_free(j);
	keeper_close();
	snprintf(pem, sizeof pem, "rm -rf '%s'", dir);
	CHECK(system(pem) == 0);
}

int main(void)
{
	log_quiet = 1;
	test_parse();
	test_attest();
	test_endpoint();
	return tu_done("test_uv");
}
