/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: state_open, the parser of state images a client posts. The
 * input is the base64 "state" string; it must never open (the key is fixed
 * here, and a forgery would need to break Poly1305), so success aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "state.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t app[32] = { 1, 2, 3 };
	uint8_t *plain = NULL;
	size_t plen = 0;

	if (state_open((const char *)data, size, (const uint8_t *)"secret", 6, app, &plain, &plen) == 0)
		abort();
	wipe_free(plain, plen);
	return 0;
}
