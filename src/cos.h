/* SPDX-License-Identifier: MIT */
/*
 * cos: the HPSB object-storage parameters (PROTOCOL.md section 9) as an S3
 * client configuration. For prefix "MANIFEST_" or "STATE_":
 *   <prefix>BUCKET_NAME            the bucket (the state image takes it from
 *                                  the request's state_bucket_name instead)
 *   <prefix>COS_ENDPOINT           https://s3.<region>.cloud-object-storage...
 *   <prefix>COS_API_KEY_ID         IBM IAM API key (SECRET)
 *   <prefix>COS_AUTH_ENDPOINT      IAM token URL
 *   <prefix>COS_RESOURCE_CRN       sent as ibm-service-instance-id
 * and the sbs extensions for HMAC credentials (IBM's cos_hmac_keys, or any
 * S3 store's access keys), used when no API key is set:
 *   <prefix>COS_HMAC_ACCESS_KEY_ID
 *   <prefix>COS_HMAC_SECRET_ACCESS_KEY (SECRET)
 *   <prefix>COS_REGION             SigV4 region, default us-east-1
 * The strings are borrowed from params (which must outlive the cfg); the
 * trust anchors are the caller's.
 */
#ifndef SBS_COS_H
#define SBS_COS_H

#include "json.h"
#include "s3.h"

void cos_cfg(const json *params, const char *prefix, const char *bucket, struct s3_cfg *c);
/* 1 if s is a name we store an object under and read one back from:
 * 1..MFST_MAX_NAME of [A-Za-z0-9._-], not starting with '.'. */
int cos_name_ok(const char *s);

#endif
