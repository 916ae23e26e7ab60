/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the JSON request decoding of sbsd's API. The input is a
 * request body as a client would send it; it goes through json_parse and then
 * through the decoders that act on it: init/update parameter validation
 * (params_check) and the state-image request fields. Nothing is stored.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json *j = NULL;
	const char *err = NULL, *msg = NULL;
	char buf[256];

	if (json_parse((const char *)data, size, &j, &err) < 0)
		return 0;
	for (int init = 0; init <= 1; init++) {
		msg = NULL;
		if (params_check(j, init, buf, sizeof buf, &msg) < 0 && !msg)
			abort();             /* every refusal must say why */
		if (msg && strlen(msg) >= sizeof buf + 200)
			abort();
	}
	(void)json_get_str(j, "secret");
	(void)json_get_str(j, "state");
	(void)json_get_str(j, "state_bucket_name");
	(void)json_get_str(j, "certificate");
	json_free_secret(j);
	return 0;
}
