/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the JSON adapter (src/json.c). Whatever json_parse accepts
 * must print (compact, Python one-line, Python indent=2) and read back: each
 * printed form re-parses to a tree whose compact print is byte-identical to
 * the first one, and json_dup prints the same. A refusal must give a reason.
 * Any mismatch aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses text, prints it compactly and compares with want. */
static void reparse(const char *text, const char *want)
{
	json *j = NULL;
	const char *err = NULL;
	char *again;

	if (json_parse(text, strlen(text), &j, &err) < 0)
		abort();
	again = json_print(j);
	if (!again || strcmp(again, want) != 0)
		abort();
	free(again);
	json_free_secret(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json *j = NULL, *d;
	const char *err = NULL;
	char *compact, *py, *ind, *dup;

	if (json_parse((const char *)data, size, &j, &err) < 0) {
		if (!err || j)
			abort();
		return 0;
	}
	compact = json_print(j);
	py = json_print_py(j, 0);
	ind = json_print_py(j, 2);
	d = json_dup(j);
	dup = json_print(d);
	if (!compact || !py || !ind || !dup || strcmp(compact, dup) != 0)
		abort();
	reparse(compact, compact);
	reparse(py, compact);
	reparse(ind, compact);
	/* the getters walk every member without surprises */
	for (json *c = json_child(j); c; c = json_next(c))
		if (json_is_obj(j) && json_get(j, json_key(c)) != c)
			abort();
	free(compact);
	free(py);
	free(ind);
	free(dup);
	json_free(d);
	json_free_secret(j);
	return 0;
}
