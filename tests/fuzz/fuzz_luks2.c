/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: luks2_open_dev, the reader of a LUKS2 header on a disk the host
 * controls. The input is the start of a device whose remainder reads as
 * zeros, so a header cut short (the seed corpus holds the first 32 KiB of
 * real images, trailing zeros dropped) still has its keyslot area and data
 * segment: every path up to the KDF, AF merge and digest check runs. A
 * mutation almost always breaks the header's SHA-256, which would stop the
 * fuzzer at the checksum; so for inputs of even length the checksums of the
 * two 16 KiB copies at 0 and 16384 are recomputed first, and the JSON,
 * keyslot and digest code is fuzzed too (odd lengths keep the checksum path).
 * PBKDF2 counts are capped at FUZZ_MAX_ITER so one input stays cheap. Success
 * would need a forged PBKDF2 digest; it is not asserted, only memory safety.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "luks2.h"
#include "util.h"

#define FUZZ_DEV_SIZE  ((uint64_t)LUKS2_DATA_OFFSET + (1u << 20))
#define FUZZ_MAX_ITER  2000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct zdev { const uint8_t *p; size_t len; uint64_t size; };

/* Reads inside the input copy bytes, past it zeros; past size fails. */
static int zread(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct zdev *z = ctx;
	size_t have = 0;

	if (off > z->size || len > z->size - off)
		return -5;
	if (off < z->len)
		have = z->len - (size_t)off < len ? z->len - (size_t)off : len;
	if (have)
		memcpy(buf, z->p + off, have);
	memset(buf + have, 0, len - have);
	return 0;
}

/* Sets the SHA-256 of the 16 KiB copy at off (checksum field at 448..511). */
static void fix_sum(uint8_t *p, size_t off)
{
	memset(p + off + 448, 0, 64);
	cry_sha256(p + off, LUKS2_HDR_SIZE, p + off + 448);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t blen = size > 2 * LUKS2_HDR_SIZE ? size : 2 * LUKS2_HDR_SIZE;
	uint8_t *buf = calloc(1, blen), vk[LUKS2_VK_LEN];
	struct zdev z = { buf, blen, blen > FUZZ_DEV_SIZE ? blen : FUZZ_DEV_SIZE };
	struct luks2_dev d = { zread, &z, z.size, FUZZ_MAX_ITER };
	struct luks2_info info;

	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	if (size % 2 == 0) {
		fix_sum(buf, 0);
		fix_sum(buf, LUKS2_HDR_SIZE);
	}
	luks2_open_dev(&d, (const uint8_t *)"fuzz", 4, vk, &info);
	wipe(vk, sizeof vk);
	free(buf);
	return 0;
}
