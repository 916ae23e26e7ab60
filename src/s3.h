/* SPDX-License-Identifier: MIT */
/*
 * s3: a small client for the S3 object API (IBM Cloud Object Storage and any
 * S3-compatible store): AWS Signature Version 4 (src/s3_sig.c, pure), PUT
 * object, multipart create / upload-part / complete / abort, GET object, and
 * the few XML replies those return, read by a bounded parser of its own.
 *
 * Addressing: path style, <endpoint>/<bucket>/<key> (IBM COS and every
 * S3-compatible store accept it; virtual-host style needs wildcard DNS and
 * certificates). The key is percent-encoded here (RFC 3986 unreserved kept,
 * '/' kept); the bucket must be a DNS-compatible S3 bucket name.
 *
 * Authentication, one of:
 *   - IBM IAM: api_key (SECRET) is exchanged at auth_endpoint for a bearer
 *     token (src/iam.c, cached until IAM_REFRESH_S before it expires) and
 *     each request carries "Authorization: Bearer <token>" and
 *     "ibm-service-instance-id: <resource_crn>" (when a CRN is given);
 *   - HMAC keys: access_key / secret_key (SECRET), SigV4 with region
 *     (default "us-east-1", which IBM COS, MinIO and Ceph accept for any of
 *     their locations) and service "s3".
 * Every request carries x-amz-date and x-amz-content-sha256 (the hex SHA-256
 * of its body), which a store checks against the body under SigV4.
 *
 * Integrity: every PUT and part also carries Content-MD5 and the returned
 * ETag must be its MD5 (a multipart object's ETag must be the MD5 of the
 * part MD5s, "-<parts>"); a mismatch is an error and the object or upload is
 * removed. A failed multipart upload is aborted (DELETE ?uploadId), so no
 * half object and no pending parts stay behind.
 *
 * Retries: transport errors, timeouts, 5xx and 429 are retried S3_RETRIES
 * times with exponential backoff from S3_BACKOFF_MS; a 4xx is final.
 *
 * Errors: 0 or a negative errno-style code: -EINVAL bad configuration,
 * -EACCES credentials refused (401/403, IAM or store), -ENOENT no such
 * bucket or key, -EBADMSG integrity check failed, -EPROTO bad reply, -E2BIG
 * an object over the caller's cap, -EIO other HTTP failure, transport codes
 * of hcl.h. err then holds one line naming the operation, the bucket, the
 * key and the HTTP status with the store's error code, never a credential.
 */
#ifndef SBS_S3_H
#define SBS_S3_H

#include <stddef.h>
#include <stdint.h>

#include "hcl.h"
#include "limits.h"

/* ---- AWS Signature Version 4 (s3_sig.c; pure: the caller passes the time) ---- */

struct s3_sig_in {
	const char *method;
	const char *path;              /* the request path exactly as sent (already encoded) */
	const char *query;             /* the query as sent, without '?'; "" or NULL for none */
	const struct hcl_hdr *hdrs;    /* every header to sign, Host and X-Amz-Date among them */
	size_t nhdrs;
	const char *payload_hash;      /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
	const char *access_key;
	const char *secret_key;        /* SECRET */
	const char *region;
	const char *service;
	const char *amz_date;          /* "YYYYMMDDTHHMMSSZ" */
};

/* The canonical request (SigV4 task 1) into out: its length or -ENOSPC /
 * -EINVAL. Header names are lower-cased and sorted, values trimmed with inner
 * runs of spaces folded, repeated headers joined with ','; query parameters
 * are decoded, re-encoded (unreserved kept) and sorted by name then value. */
int s3_sig_canonical(const struct s3_sig_in *in, char *out, size_t cap);
/* The string to sign (task 2) and the Authorization header value (task 3-4):
 * "AWS4-HMAC-SHA256 Credential=<ak>/<date>/<region>/<service>/aws4_request,
 * SignedHeaders=<...>, Signature=<64 hex>". sts may be NULL. 0 or -ENOSPC /
 * -EINVAL. The signing key is derived on the stack and wiped. */
int s3_sig_sign(const struct s3_sig_in *in, char *auth, size_t auth_cap, char *sts, size_t sts_cap);
/* "YYYYMMDDTHHMMSSZ" for a Unix time. */
void s3_amz_date(int64_t t, char out[static 17]);

/* ---- XML replies (s3.c; untrusted input, bounded) ---- */

/* The text of the first element called name (no namespace prefix, at most
 * S3_MAX_XML_DEPTH deep, entities &amp; &lt; &gt; &quot; &apos; decoded) in
 * an XML document of at most S3_MAX_XML bytes, into out (cap with the NUL):
 * its length, -ENOENT absent, -E2BIG longer than cap, -EPROTO malformed
 * (bad nesting, unterminated markup, a NUL, another entity). */
int s3_xml_text(const uint8_t *p, size_t n, const char *name, char *out, size_t cap);

/* ---- the client ---- */

struct s3_cfg {
	const char *endpoint;          /* "https://s3.us-south.cloud-object-storage.appdomain.cloud" */
	const char *bucket;
	/* IBM IAM */
	const char *api_key;           /* SECRET; NULL or "" = use the HMAC keys */
	const char *auth_endpoint;     /* "https://iam.cloud.ibm.com/identity/token" */
	const char *resource_crn;      /* ibm-service-instance-id; may be NULL */
	/* HMAC (SigV4) */
	const char *access_key;
	const char *secret_key;        /* SECRET */
	const char *region;            /* NULL or "" = "us-east-1" */
	const uint8_t *ca_pem;         /* trust anchors for https (endpoint and IAM) */
	size_t ca_len;
	size_t part_size;              /* 0 = S3_PART_SIZE (or env SBS_S3_PART_SIZE, tests) */
	unsigned retries;              /* 0 = S3_RETRIES */
	unsigned backoff_ms;           /* 0 = S3_BACKOFF_MS */
	int log_fd;                    /* -1 or an fd for one line per request step (no secrets) */
};

/* Checks the configuration (endpoint URL, bucket name, one complete set of
 * credentials): 0 or -EINVAL with err naming what is missing. */
int s3_check(const struct s3_cfg *c, char *err, size_t errcap);
/* Uploads size bytes read from fd (from offset 0, with pread) or, when fd is
 * -1, from mem, as object key: one PUT up to the part size, else a multipart
 * upload (aborted on failure). */
int s3_put(const struct s3_cfg *c, const char *key, int fd, const uint8_t *mem, uint64_t size,
	   char *err, size_t errcap);
/* Downloads object key into *out (malloc'd, NUL after *len), at most max bytes. */
int s3_get(const struct s3_cfg *c, const char *key, size_t max, uint8_t **out, size_t *len,
	   char *err, size_t errcap);

#endif
