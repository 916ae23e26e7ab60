/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: what the object-storage client reads from untrusted peers:
 * S3 XML replies (s3_xml_text, src/s3.c) and IBM IAM token replies
 * (iam_parse, src/iam.c). The first byte picks the reader (mod 4): the
 * elements UploadId, Code and ETag of an S3 reply (into a buffer sized by
 * the second byte), or an IAM reply. Beyond not crashing: a text found
 * fits its buffer and is NUL-terminated at the length returned (no NUL
 * inside); an accepted token is visible ASCII, fits its buffer, and its
 * expiry lies within (now, now + IAM_MAX_TTL]. Any violation aborts.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iam.h"
#include "limits.h"
#include "s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_xml(const char *name, const uint8_t *p, size_t n, size_t cap)
{
	char out[512];
	int rc;

	memset(out, 'x', sizeof out);
	rc = s3_xml_text(p, n, name, out, cap);
	if (rc >= 0) {
		if ((size_t)rc >= cap || out[rc] != 0 || strlen(out) != (size_t)rc)
			abort();
	} else if (rc != -ENOENT && rc != -E2BIG && rc != -EPROTO) {
		abort();
	}
	if (out[cap] != 'x' && cap < sizeof out)
		abort();                      /* wrote past cap */
}

static void fuzz_iam(const uint8_t *p, size_t n)
{
	char tok[IAM_MAX_TOKEN + 1];
	const int64_t now = 1700000000;
	int64_t exp = 0;

	if (iam_parse(p, n, now, tok, sizeof tok, &exp) < 0)
		return;
	if (exp <= now || exp > now + IAM_MAX_TTL || !tok[0] || strlen(tok) > IAM_MAX_TOKEN)
		abort();
	for (const char *c = tok; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "UploadId", "Code", "ETag" };
	size_t cap;

	if (size < 2)
		return 0;
	cap = (size_t)data[1] % 300 + 1;
	switch (data[0] % 4) {
	case 3:
		fuzz_iam(data + 2, size - 2);
		break;
	default:
		fuzz_xml(names[data[0] % 4], data + 2, size - 2, cap);
		break;
	}
	return 0;
}
