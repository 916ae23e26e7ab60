/* SPDX-License-Identifier: MIT */
/*
 * cos: HPSB parameter names to struct s3_cfg (contract in cos.h).
 */
#include <stdio.h>
#include <string.h>

#include "cos.h"
#include "limits.h"

static const char *get(const json *p, const char *prefix, const char *name)
{
	char k[64];
	const char *v;

	snprintf(k, sizeof k, "%s%s", prefix, name);
	v = json_get_str(p, k);
	return v && *v ? v : NULL;
}

void cos_cfg(const json *params, const char *prefix, const char *bucket, struct s3_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->bucket = bucket ? bucket : get(params, prefix, "BUCKET_NAME");
	c->endpoint = get(params, prefix, "COS_ENDPOINT");
	c->api_key = get(params, prefix, "COS_API_KEY_ID");
	c->auth_endpoint = get(params, prefix, "COS_AUTH_ENDPOINT");
	c->resource_crn = get(params, prefix, "COS_RESOURCE_CRN");
	c->access_key = get(params, prefix, "COS_HMAC_ACCESS_KEY_ID");
	c->secret_key = get(params, prefix, "COS_HMAC_SECRET_ACCESS_KEY");
	c->region = get(params, prefix, "COS_REGION");
	c->log_fd = -1;
}

int cos_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > MFST_MAX_NAME || s[0] == '.')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}
