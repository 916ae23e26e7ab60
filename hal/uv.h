/* SPDX-License-Identifier: MIT */
/*
 * uv: Secure Execution attestation through the Ultravisor device /dev/uv
 * (Linux CONFIG_S390_UV_UAPI, ioctl UVIO_IOCTL_ATT), and the pvattest
 * "exchange format" that carries a request to the guest and the evidence
 * back to a verifier (docs/attestation.md).
 *
 * The flow: a verifier runs `pvattest create` on a trusted machine; the
 * resulting request file (an exchange file holding the encrypted ARCB and
 * the measurement and additional-data sizes it needs) reaches the guest in
 * the deploy-time env (SBS_ATTEST_REQUEST, base64). uv_attest() hands the
 * ARCB and up to UV_USER_MAX bytes of user data to the Ultravisor and
 * writes the answer as an exchange file (ARCB, measurement, additional data,
 * user data, config UID), which is what `pvattest verify --input` reads.
 *
 * Exchange format v1 (big-endian): magic "pvattest" (8 bytes), version
 * u32 0x0100, size u32 (whole file), 8 reserved bytes, then five entries
 * {u32 size, u32 offset}: ARCB, measurement, additional data, user data,
 * config UID; header 0x40 bytes, blobs follow in that order. In a request
 * the measurement and additional-data entries carry only the size needed
 * (offset 0).
 *
 * Kernel UAPI (arch/s390/include/uapi/asm/uvdevice.h), restated in uv.c
 * because no libc ships it: struct uvio_ioctl_cb (0x40 bytes: flags u32,
 * uv_rc u16, uv_rrc u16, argument_addr u64, argument_len u32, reserved)
 * and struct uvio_attest (0x138 bytes: arcb/meas/add_data addresses,
 * 256-byte user data, 16-byte config UID, lengths). The ioctl returns 0 when
 * the Ultravisor call ran; uv_rc 0x0001 means it succeeded.
 *
 * Nothing here is secret: the ARCB is encrypted for the machine's host key,
 * the measurement is a MAC only the verifier can check.
 *
 * Errors (negative errno): -EINVAL a malformed request or argument (bad
 * magic, version, offsets outside the file, sizes over SE_MAX_ARCB,
 * SE_MAX_MEAS, SE_MAX_ADD, user data over UV_USER_MAX); -EIO the Ultravisor
 * refused (uv_rc != 1; rc and rrc are logged); -ENOMEM; otherwise the
 * ioctl's errno.
 */
#ifndef SBS_UV_H
#define SBS_UV_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define UV_USER_MAX   256        /* UVIO_ATT_USER_DATA_LEN */
#define UV_UID_LEN    16         /* UVIO_ATT_UID_LEN */
#define UV_XHDR_LEN   0x40       /* exchange-format header */
#define UV_DEVICE     "/dev/uv"

/* A request, parsed in place (arcb points into the caller's bytes). */
struct uv_request {
	const uint8_t *arcb;
	size_t arcb_len;
	uint32_t meas_len;     /* measurement size the ARCB asks for (> 0) */
	uint32_t add_len;      /* additional data size (0 = none) */
};

int uv_parse_request(const uint8_t *p, size_t len, struct uv_request *rq);

/* The ioctl used by uv_attest; tests point it at a fake device. */
typedef int (*uv_ioctl_fn)(int fd, unsigned long req, void *arg);
extern uv_ioctl_fn uv_ioctl;
/* UVIO_IOCTL_ATT: _IOWR('u', 1, struct uvio_ioctl_cb) = 0xc0407501. */
#define UV_IOCTL_ATT  0xc0407501ul

/* Attests on fd (an open /dev/uv) and appends the response exchange file to
 * out. ulen: 1..UV_USER_MAX. */
int uv_attest(int fd, const struct uv_request *rq, const uint8_t *user, size_t ulen,
	      struct buf *out);

#endif
