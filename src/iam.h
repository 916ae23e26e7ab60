/* SPDX-License-Identifier: MIT */
/*
 * iam: IBM Cloud IAM access tokens for Cloud Object Storage. An API key
 * (SECRET) is exchanged at the auth endpoint (COS_AUTH_ENDPOINT, e.g.
 * "https://iam.cloud.ibm.com/identity/token"; a URL without a path gets
 * "/identity/token") with a POST of the form
 *   grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=<key>
 * and the JSON reply's access_token (SECRET) is used as a bearer token.
 *
 * Cache: one token per process, kept in memory (never on disk) for the
 * endpoint and API key it was issued for (told apart by a SHA-256 of both,
 * so the key itself is not kept), until IAM_REFRESH_S seconds before it
 * expires ("expiration", else now + "expires_in", at most IAM_MAX_TTL).
 * iam_forget() drops it (after the store refused it). Replaced and dropped
 * tokens are wiped.
 *
 * Errors: 0 or -EINVAL bad argument or endpoint, -EACCES the key was
 * refused (400/401/403), -EPROTO a reply without a usable token, -EIO other
 * HTTP status, transport codes of hcl.h. err names the endpoint host and the
 * status with IAM's errorCode, never the key or a token.
 */
#ifndef SBS_IAM_H
#define SBS_IAM_H

#include <stddef.h>
#include <stdint.h>

/* A token reply (untrusted, at most IAM_MAX_REPLY bytes): access_token into
 * tok (cap with the NUL; SECRET), its expiry as Unix seconds into *exp (now
 * + the lifetime it states, capped to IAM_MAX_TTL; 0 or negative lifetimes
 * are refused). 0, -EPROTO (not a usable reply), -E2BIG (token over cap). */
int iam_parse(const uint8_t *p, size_t n, int64_t now, char *tok, size_t cap, int64_t *exp);

/* A valid token for (endpoint, api_key) into tok, from the cache or a new
 * exchange. ca_pem: trust anchors for https. log_fd -1 or an fd for one line
 * per exchange (no secrets). */
int iam_token(const char *endpoint, const char *api_key, const uint8_t *ca_pem, size_t ca_len,
	      int log_fd, char *tok, size_t cap, char *err, size_t errcap);
void iam_forget(void);

#endif
