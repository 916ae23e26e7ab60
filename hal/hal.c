/* SPDX-License-Identifier: MIT */
/*
 * hal front: maps a backend name to its table. Each backend lives in its own
 * hal_<name>.c and exports one `const struct hal`; this is the only place
 * that knows the list, so no other file needs a backend #ifdef.
 */
#include "hal.h"

#include <string.h>

extern const struct hal hal_sim;
extern const struct hal hal_se;
extern const struct hal hal_hpvs;

static const struct hal *const backends[] = {
	&hal_sim,
	&hal_se,
	&hal_hpvs,
};

const struct hal *hal_select(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}
