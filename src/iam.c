/* SPDX-License-Identifier: MIT */
/*
 * iam: the IBM Cloud IAM API-key-to-token exchange and its one-slot cache
 * (contract in iam.h). The API key only ever sits in the wiped form body;
 * the cache holds the token and a digest of (endpoint, key).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cry.h"
#include "hcl.h"
#include "iam.h"
#include "json.h"
#include "limits.h"
#include "util.h"

static struct {
	char tok[IAM_MAX_TOKEN + 1];       /* SECRET */
	uint8_t id[32];                    /* SHA-256 of endpoint NUL api_key */
	int64_t exp;
	int set;
} C;

void iam_forget(void)
{
	wipe(&C, sizeof C);
}

static int token_ok(const char *t)
{
	if (!*t)
		return 0;
	for (; *t; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return 0;
	return 1;
}

int iam_parse(const uint8_t *p, size_t n, int64_t now, char *tok, size_t cap, int64_t *exp)
{
	json *j = NULL;
	const json *e, *in;
	const char *t;
	double life = 0;
	int rc = -EPROTO;

	if (n > IAM_MAX_REPLY || json_parse((const char *)p, n, &j, NULL) < 0)
		return -EPROTO;
	t = json_get_str(j, "access_token");
	e = json_get(j, "expiration");
	in = json_get(j, "expires_in");
	if (json_is_num(e) && json_num(e) > (double)now && json_num(e) < 1e15)
		life = json_num(e) - (double)now;
	else if (json_is_num(in) && json_num(in) >= 1 && json_num(in) < 1e15)
		life = json_num(in);
	if (!t || !token_ok(t) || life < 1)
		goto out;
	rc = -E2BIG;
	if (strlen(t) >= cap)
		goto out;
	memcpy(tok, t, strlen(t) + 1);
	*exp = now + (life > IAM_MAX_TTL ? IAM_MAX_TTL : (int64_t)life);
	rc = 0;
out:
	json_free_secret(j);
	return rc;
}

/* IAM's errorCode ("BXNIM0415E"), letters and digits only, or "". */
static void iam_code(const struct hcl_resp *r, char *out, size_t cap)
{
	json *j = NULL;
	const char *c;
	size_t o = 0;

	out[0] = 0;
	if (!r->body || json_parse((const char *)r->body, r->body_len, &j, NULL) < 0)
		return;
	c = json_get_str(j, "errorCode");
	for (; c && *c && o + 1 < cap && o < 24; c++)
		if ((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))
			out[o++] = *c;
	out[o] = 0;
	json_free(j);
}

/* The form body: grant_type=...&apikey=<percent-encoded key>. SECRET. */
static int form(const char *key, char *out, size_t cap)
{
	static const char hx[] = "0123456789ABCDEF";
	int n = snprintf(out, cap, "grant_type=urn%%3Aibm%%3Aparams%%3Aoauth%%3Agrant-type%%3Aapikey&apikey=");
	size_t o = (size_t)n;

	for (; *key; key++) {
		unsigned char c = (unsigned char)*key;
		if (o + 4 > cap)
			return -E2BIG;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hx[c >> 4];
			out[o++] = hx[c & 15];
		}
	}
	out[o] = 0;
	return (int)o;
}

static int exchange(const char *url, const char *key, const uint8_t *ca, size_t ca_len,
		    int64_t now, int64_t *exp, char *err, size_t errcap)
{
	static const struct hcl_hdr h[] = {
		{ "Content-Type", "application/x-www-form-urlencoded" },
		{ "Accept", "application/json" },
	};
	char body[128 + 3 * IAM_MAX_APIKEY], host[HCL_MAX_HOST + 3], code[32];
	struct hcl_sess s;
	struct hcl_resp resp = { 0 };
	struct hcl_url u;
	struct hcl_req rq = { .sess = &s, .method = "POST", .url = url, .hdrs = h, .nhdrs = 2,
			      .max_body = IAM_MAX_REPLY, .no_redirect = 1 };
	int n, rc;

	if (hcl_url_parse(url, &u) < 0 || u.has_userinfo) {
		hcl_url_wipe(&u);
		return util_err(err, errcap, -EINVAL, "IAM auth endpoint is not a valid URL");
	}
	snprintf(host, sizeof host, "%s", u.host);
	hcl_url_wipe(&u);
	if (strlen(key) > IAM_MAX_APIKEY || (n = form(key, body, sizeof body)) < 0)
		return util_err(err, errcap, -EINVAL, "IAM API key is longer than %d bytes",
				IAM_MAX_APIKEY);
	hcl_sess_init(&s);
	s.ca_pem = ca;
	s.ca_len = ca_len;
	rq.body = (const uint8_t *)body;
	rq.body_len = (size_t)n;
	rc = hcl_request(&rq, &resp);
	wipe(body, sizeof body);
	if (rc < 0) {
		util_err(err, errcap, rc, "IAM token request to %s failed: %s", host, s.err);
	} else if (resp.status == 200) {
		rc = iam_parse(resp.body, resp.body_len, now, C.tok, sizeof C.tok, exp);
		if (rc < 0)
			util_err(err, errcap, rc, "IAM token reply from %s has no usable access_token",
				 host);
	} else {
		iam_code(&resp, code, sizeof code);
		rc = resp.status == 400 || resp.status == 401 || resp.status == 403 ? -EACCES : -EIO;
		util_err(err, errcap, rc, "IAM token request to %s: HTTP %d%s%s%s", host, resp.status,
			 *code ? " " : "", code, rc == -EACCES ? " (API key refused)" : "");
	}
	if (resp.body)
		wipe(resp.body, resp.body_len);
	hcl_resp_free(&resp);
	hcl_sess_close(&s);
	return rc;
}

int iam_token(const char *endpoint, const char *api_key, const uint8_t *ca_pem, size_t ca_len,
	      int log_fd, char *tok, size_t cap, char *err, size_t errcap)
{
	char url[HCL_MAX_URL + 1];
	struct cry_sha256 h;
	uint8_t id[32];
	int64_t now = (int64_t)time(NULL), exp = 0;
	const char *p;
	int rc;

	if (!endpoint || !*endpoint || !api_key || !*api_key)
		return util_err(err, errcap, -EINVAL, "IAM needs an auth endpoint and an API key");
	p = strstr(endpoint, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	if ((size_t)snprintf(url, sizeof url, "%s%s", endpoint,
			     !p || strcmp(p, "/") == 0 ? (p ? "identity/token" : "/identity/token")
						      : "") >= sizeof url)
		return util_err(err, errcap, -EINVAL, "IAM auth endpoint is too long");
	cry_sha256_init(&h);
	cry_sha256_update(&h, url, strlen(url) + 1);
	cry_sha256_update(&h, api_key, strlen(api_key));
	cry_sha256_final(&h, id);
	if (!C.set || !cry_ct_eq(id, C.id, 32) || now >= C.exp - IAM_REFRESH_S) {
		iam_forget();
		rc = exchange(url, api_key, ca_pem, ca_len, now, &exp, err, errcap);
		if (rc < 0) {
			iam_forget();
			return rc;
		}
		memcpy(C.id, id, 32);
		C.exp = exp;
		C.set = 1;
		if (log_fd >= 0)
			dprintf(log_fd, "iam: new token, valid for %lld s\n", (long long)(exp - now));
	}
	if (strlen(C.tok) >= cap)
		return util_err(err, errcap, -E2BIG, "IAM token is too long");
	memcpy(tok, C.tok, strlen(C.tok) + 1);
	return 0;
}
