/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: git pack indexing and object access (src/git_pack.c,
 * src/git_obj.c). The input is a pack without its trailing SHA-1, which is
 * computed and appended here so that the fuzzer gets past the checksum (its
 * check has unit tests). Limits are lowered so that one input stays cheap.
 * Every object the store indexed must come back with an id that hashes
 * right; commits and trees are parsed as the checkout would parse them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "git.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk_tree(const uint8_t *p, size_t n)
{
	struct git_tree_entry e;
	size_t off = 0;

	while (git_tree_next(p, n, &off, &e) == 1)
		if (off > n || e.nlen > n)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct git_limits lim = { .max_pack = 1u << 20, .max_object = 1u << 20,
				  .max_objects = 4096, .max_depth = 16 };
	struct git_store *s = NULL;
	char err[256];
	uint8_t *pack;

	if (size > (1u << 20) - 20)
		return 0;
	pack = malloc(size + 20);
	if (!pack)
		return 0;
	memcpy(pack, data, size);
	cry_sha1(pack, size, pack + size);
	if (git_store_open(&s, pack, size + 20, &lim, err, sizeof err) == 0) {
		for (size_t i = 0; i < git_store_count(s); i++) {
			uint8_t oid[GIT_OID_LEN], sum[GIT_OID_LEN], *obj = NULL;
			enum git_type t;
			size_t len = 0;
			struct git_commit c;

			if (git_store_oid(s, i, oid) < 0)
				abort();        /* an opened store knows every id */
			if (git_store_get(s, oid, &t, &obj, &len) < 0)
				abort();
			git_obj_hash(t, obj, len, sum);
			if (memcmp(sum, oid, GIT_OID_LEN) != 0)
				abort();
			if (t == GIT_COMMIT)
				(void)git_commit_parse(obj, len, &c);
			else if (t == GIT_TREE)
				walk_tree(obj, len);
			free(obj);
		}
		git_store_free(s);
	}
	free(pack);
	return 0;
}
