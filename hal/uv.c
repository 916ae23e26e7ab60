/* SPDX-License-Identifier: MIT */
/*
 * uv: the attestation ioctl on /dev/uv and the pvattest exchange format
 * (see uv.h). The two kernel structs are restated from their documented
 * layout; the static asserts pin every offset the Ultravisor reads.
 */
#include "uv.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "limits.h"

struct uv_cb {                    /* struct uvio_ioctl_cb */
	uint32_t flags;           /* must be 0 */
	uint16_t uv_rc;           /* out: Ultravisor return code */
	uint16_t uv_rrc;          /* out: reason code */
	uint64_t argument_addr;   /* user address of struct uv_att */
	uint32_t argument_len;
	uint8_t reserved14[0x40 - 0x14];
};

struct uv_att {                   /* struct uvio_attest */
	uint64_t arcb_addr;
	uint64_t meas_addr;
	uint64_t add_data_addr;
	uint8_t user_data[UV_USER_MAX];
	uint8_t config_uid[UV_UID_LEN];   /* out */
	uint32_t arcb_len;
	uint32_t meas_len;
	uint32_t add_data_len;
	uint16_t user_data_len;
	uint16_t reserved136;
};

_Static_assert(sizeof(struct uv_cb) == 0x40, "uvio_ioctl_cb is 0x40 bytes");
_Static_assert(offsetof(struct uv_cb, argument_addr) == 0x08, "argument_addr at 0x08");
_Static_assert(offsetof(struct uv_cb, argument_len) == 0x10, "argument_len at 0x10");
_Static_assert(sizeof(struct uv_att) == 0x138, "uvio_attest is 0x138 bytes");
_Static_assert(offsetof(struct uv_att, user_data) == 0x18, "user_data at 0x18");
_Static_assert(offsetof(struct uv_att, config_uid) == 0x118, "config_uid at 0x118");
_Static_assert(offsetof(struct uv_att, arcb_len) == 0x128, "arcb_len at 0x128");
_Static_assert(offsetof(struct uv_att, user_data_len) == 0x134, "user_data_len at 0x134");

#define UV_RC_OK      0x0001
#define XCH_VERSION   0x0100u
#define XCH_NENTRIES  5           /* ARCB, measurement, additional, user data, config UID */

static const uint8_t xch_magic[8] = { 'p', 'v', 'a', 't', 't', 'e', 's', 't' };

static int sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

uv_ioctl_fn uv_ioctl = sys_ioctl;

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint64_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

int uv_parse_request(const uint8_t *p, size_t len, struct uv_request *rq)
{
	uint32_t size, aoff, alen;

	memset(rq, 0, sizeof *rq);
	if (!p || len < UV_XHDR_LEN || memcmp(p, xch_magic, sizeof xch_magic) ||
	    be32(p + 8) != XCH_VERSION)
		return -EINVAL;
	size = be32(p + 12);
	alen = be32(p + 24);
	aoff = be32(p + 28);
	rq->meas_len = be32(p + 32);
	rq->add_len = be32(p + 40);
	if (size < UV_XHDR_LEN || size > len || aoff < UV_XHDR_LEN || aoff > size ||
	    alen == 0 || alen > SE_MAX_ARCB || alen > size - aoff || rq->meas_len == 0 ||
	    rq->meas_len > SE_MAX_MEAS || rq->add_len > SE_MAX_ADD)
		return -EINVAL;
	rq->arcb = p + aoff;
	rq->arcb_len = alen;
	return 0;
}

/* Appends one blob after the header and records {size, offset} in entry i. */
static int xch_add(struct buf *out, size_t start, int i, const void *p, size_t n)
{
	size_t off = out->len - start;

	if (!n)
		return 0;
	put_be32(out->data + start + 24 + 8 * i, n);
	put_be32(out->data + start + 28 + 8 * i, off);
	return buf_append(out, p, n);
}

/* The response exchange file: header, then the five blobs in order. */
static int xch_write(struct buf *out, const struct uv_request *rq, const uint8_t *meas,
		     const uint8_t *add, const struct uv_att *a)
{
	uint8_t hdr[UV_XHDR_LEN] = { 0 };
	size_t start = out->len;
	int rc;

	memcpy(hdr, xch_magic, sizeof xch_magic);
	put_be32(hdr + 8, XCH_VERSION);
	if ((rc = buf_append(out, hdr, sizeof hdr)) < 0 ||
	    (rc = xch_add(out, start, 0, rq->arcb, rq->arcb_len)) < 0 ||
	    (rc = xch_add(out, start, 1, meas, rq->meas_len)) < 0 ||
	    (rc = xch_add(out, start, 2, add, rq->add_len)) < 0 ||
	    (rc = xch_add(out, start, 3, a->user_data, a->user_data_len)) < 0 ||
	    (rc = xch_add(out, start, 4, a->config_uid, UV_UID_LEN)) < 0)
		return rc;
	put_be32(out->data + start + 12, out->len - start);
	return 0;
}

int uv_attest(int fd, const struct uv_request *rq, const uint8_t *user, size_t ulen,
	      struct buf *out)
{
	struct uv_att a;
	struct uv_cb cb;
	uint8_t *meas = NULL, *add = NULL;
	int rc;

	if (!rq || !rq->arcb || !rq->arcb_len || rq->arcb_len > SE_MAX_ARCB || !rq->meas_len ||
	    rq->meas_len > SE_MAX_MEAS || rq->add_len > SE_MAX_ADD || !user || !ulen ||
	    ulen > UV_USER_MAX || !out)
		return -EINVAL;
	meas = calloc(1, rq->meas_len);
	add = rq->add_len ? calloc(1, rq->add_len) : NULL;
	if (!meas || (rq->add_len && !add)) {
		rc = -ENOMEM;
		goto out;
	}
	memset(&a, 0, sizeof a);
	a.arcb_addr = (uint64_t)(uintptr_t)rq->arcb;
	a.arcb_len = (uint32_t)rq->arcb_len;
	a.meas_addr = (uint64_t)(uintptr_t)meas;
	a.meas_len = rq->meas_len;
	a.add_data_addr = add ? (uint64_t)(uintptr_t)add : 0;
	a.add_data_len = rq->add_len;
	memcpy(a.user_data, user, ulen);
	a.user_data_len = (uint16_t)ulen;
	memset(&cb, 0, sizeof cb);
	cb.argument_addr = (uint64_t)(uintptr_t)&a;
	cb.argument_len = sizeof a;
	if (uv_ioctl(fd, UV_IOCTL_ATT, &cb) < 0) {
		rc = -errno;
		log_err("uv: attestation ioctl on %s: %s", UV_DEVICE, strerror(-rc));
		goto out;
	}
	if (cb.uv_rc != UV_RC_OK) {
		log_err("uv: the Ultravisor refused the attestation request (rc 0x%04x, rrc "
			"0x%04x)", cb.uv_rc, cb.uv_rrc);
		rc = -EIO;
		goto out;
	}
	rc = xch_write(out, rq, meas, add, &a);
out:
	free(meas);
	free(add);
	return rc;
}
