/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: uv_parse_request (hal/uv.c), the pvattest request file that
 * reaches the guest in the deploy-time env. An accepted request must point
 * inside the input and respect the SE_MAX_* bounds; it is then run through
 * uv_attest against a fake /dev/uv (no kernel), and the exchange file that
 * comes back must parse again with the same ARCB and measurement size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "util.h"
#include "uv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	(void)fd;
	(void)req;
	((uint16_t *)arg)[2] = 1;   /* uv_rc at 0x04: success; outputs stay zero */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uv_request rq, back;
	struct buf out = { .max = SE_MAX_EVIDENCE };
	static const uint8_t user[40] = { 1, 2, 3 };

	log_quiet = 1;
	uv_ioctl = fake_ioctl;
	if (uv_parse_request(data, size, &rq) < 0)
		return 0;
	if (rq.arcb < data || rq.arcb + rq.arcb_len > data + size || !rq.arcb_len ||
	    rq.arcb_len > SE_MAX_ARCB || !rq.meas_len || rq.meas_len > SE_MAX_MEAS ||
	    rq.add_len > SE_MAX_ADD)
		abort();
	if (uv_attest(3, &rq, user, sizeof user, &out) < 0)
		abort();
	if (uv_parse_request(out.data, out.len, &back) < 0 || back.arcb_len != rq.arcb_len ||
	    memcmp(back.arcb, rq.arcb, rq.arcb_len) || back.meas_len != rq.meas_len ||
	    back.add_len != rq.add_len)
		abort();
	buf_free(&out);
	return 0;
}
