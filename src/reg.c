/* SPDX-License-Identifier: MIT */
/*
 * reg: the network side of the registry client (contract in reg.h): image
 * references, one hcl session per registry, authentication (anonymous, then
 * Basic or a Bearer token per the 401 challenge, tokens cached per scope),
 * retries with exponential backoff, and the distribution API calls. Every
 * byte that comes back is bounded by a REG_MAX_* limit and every blob or
 * manifest fetched by digest is hashed as it arrives. Bearer tokens and the
 * credentials are SECRET: the token lives in the cache (wiped on replace and
 * on close) and in one header buffer wiped after each request; neither is
 * logged nor put in reg_err().
 */
#include "reg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cry.h"
#include "hcl.h"
#include "json.h"
#include "util.h"

enum { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct reg_token {
	char scope[REG_MAX_REPO + 32];
	char tok[REG_MAX_BEARER + 1];  /* SECRET */
	uint64_t until_ms;
};

struct reg_client {
	struct reg_opts o;
	char base[HCL_MAX_HOST + 32];  /* "https://host:port", no trailing '/' */
	struct hcl_sess sess;          /* the registry */
	struct hcl_sess bare;          /* redirects of blob GETs to other hosts: no credentials */
	int auth;
	char realm[HCL_MAX_URL + 1];
	char service[256];
	struct reg_token tok[REG_TOKEN_SLOTS];
	int tls_fail;                  /* the last failure was the TLS handshake */
	char err[512];
};

/* One request as the retry and auth layers see it. */
struct rq {
	const char *what;              /* "GET manifest", for errors and logs */
	const char *repo;
	const char *name;              /* tag or digest in errors */
	const char *method;
	const char *url;
	int push;                      /* scope pull,push */
	const struct hcl_hdr *hdrs;
	size_t nhdrs;
	const uint8_t *body;
	size_t body_len;
	uint64_t max;
	hcl_sink_fn sink;
	void *ctx;
	int (*rewind)(void *ctx);      /* before a retry of a streamed GET */
	int bare_redirect;             /* follow a 3xx ourselves, without credentials (GETs);
					* any other request takes a 3xx as an error */
	int once;                      /* no retry here: the caller resumes (uploads) */
};

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int seterr(struct reg_client *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int seterr(struct reg_client *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return rc;
}

const char *reg_err(const struct reg_client *c)
{
	return c ? c->err : "no registry client";
}

static void hex_digest(const uint8_t h[32], char out[static REG_DIGEST_LEN + 1])
{
	memcpy(out, "sha256:", 7);
	cry_hex(h, 32, out + 7);
}

/* ---- client ---------------------------------------------------------------- */

int reg_open(struct reg_client **out, const struct reg_opts *o)
{
	struct reg_client *c;
	struct hcl_url u;
	const char *s = o ? o->server : NULL;
	int plain = 0, rc;
	size_t n;

	*out = NULL;
	if (!s || !s[0])
		return -EINVAL;
	if (strncmp(s, "http://", 7) == 0)
		plain = 1, s += 7;
	else if (strncmp(s, "https://", 8) == 0)
		s += 8;
	if (strcmp(s, "docker.io") == 0 || strcmp(s, "index.docker.io") == 0)
		s = "registry-1.docker.io";
	n = strcspn(s, "/");
	if (!n || n > HCL_MAX_HOST + 6 || (s[n] && strcmp(s + n, "/") != 0) || strchr(s, '@'))
		return -EINVAL;
	if (!(c = calloc(1, sizeof *c)))
		return -ENOMEM;
	snprintf(c->base, sizeof c->base, "%s://%.*s", plain ? "http" : "https", (int)n, s);
	rc = hcl_url_parse(c->base, &u);
	hcl_url_wipe(&u);
	if (rc < 0) {
		free(c);
		return -EINVAL;
	}
	c->o = *o;
	if (c->o.user && !c->o.pass)
		c->o.pass = "";
	hcl_sess_init(&c->sess);
	hcl_sess_init(&c->bare);
	c->sess.ca_pem = c->bare.ca_pem = o->ca_pem;
	c->sess.ca_len = c->bare.ca_len = o->ca_len;
	c->sess.io_timeout_ms = c->bare.io_timeout_ms = o->timeout_ms;
	if (!c->o.retries)
		c->o.retries = REG_RETRIES;
	if (!c->o.backoff_ms)
		c->o.backoff_ms = REG_BACKOFF_MS;
	*out = c;
	return 0;
}

void reg_close(struct reg_client *c)
{
	if (!c)
		return;
	hcl_sess_close(&c->sess);
	hcl_sess_close(&c->bare);
	wipe_free(c, sizeof *c);
}

/* ---- tokens ---------------------------------------------------------------- */

static void scope_of(const struct rq *q, char *out, size_t cap)
{
	snprintf(out, cap, "repository:%s:%s", q->repo, q->push ? "pull,push" : "pull");
}

static struct reg_token *tok_find(struct reg_client *c, const char *scope)
{
	for (int i = 0; i < REG_TOKEN_SLOTS; i++)
		if (c->tok[i].tok[0] && strcmp(c->tok[i].scope, scope) == 0)
			return &c->tok[i];
	return NULL;
}

/* Appends "&key=<percent-encoded v>" (or "?key=" when first). */
static int url_param(char *url, size_t cap, const char *key, const char *v)
{
	size_t o = strlen(url);
	int n = snprintf(url + o, cap - o, "%c%s=", strchr(url, '?') ? '&' : '?', key);

	if (n < 0 || (o += (size_t)n) >= cap)
		return -E2BIG;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (o + 4 >= cap)
			return -E2BIG;
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p))
			url[o++] = (char)*p;
		else
			o += (size_t)snprintf(url + o, cap - o, "%%%02X", *p);
	}
	url[o] = 0;
	return 0;
}

/* GET a token for scope from the realm (credentials as Basic when given). */
static int token_fetch(struct reg_client *c, const char *scope)
{
	struct hcl_sess ts;
	struct hcl_req req = { .method = "GET", .max_body = REG_MAX_TOKEN };
	struct hcl_resp resp = { 0 };
	struct reg_token *t = tok_find(c, scope);
	char url[HCL_MAX_URL + 1];
	unsigned ttl = 0;
	int rc;

	if (strncmp(c->realm, "https://", 8) != 0 &&
	    !(strncmp(c->realm, "http://", 7) == 0 && strncmp(c->base, "http://", 7) == 0))
		return seterr(c, -EACCES, "token realm is not https (refused)");
	snprintf(url, sizeof url, "%s", c->realm);
	if ((c->service[0] && url_param(url, sizeof url, "service", c->service) < 0) ||
	    url_param(url, sizeof url, "scope", scope) < 0)
		return seterr(c, -E2BIG, "token URL too long");
	if (!t) {
		t = &c->tok[0];
		for (int i = 1; i < REG_TOKEN_SLOTS; i++)
			if (c->tok[i].until_ms < t->until_ms)
				t = &c->tok[i];
	}
	wipe(t, sizeof *t);
	hcl_sess_init(&ts);
	ts.ca_pem = c->o.ca_pem;
	ts.ca_len = c->o.ca_len;
	ts.io_timeout_ms = c->o.timeout_ms;
	ts.user = c->o.user;
	ts.pass = c->o.pass;
	req.sess = &ts;
	req.url = url;
	rc = hcl_request(&req, &resp);
	c->tls_fail = rc < 0 && strncmp(ts.err, "TLS ", 4) == 0;
	if (rc < 0)
		rc = seterr(c, rc, "token request: %s", ts.err);
	else if (resp.status == 401 || resp.status == 403)
		rc = seterr(c, -EACCES, "token service refused%s (HTTP %d)",
			    c->o.user ? " the credentials" : " anonymous access", resp.status);
	else if (resp.status >= 500 || resp.status == 429)
		rc = seterr(c, -EAGAIN, "token service: HTTP %d", resp.status);
	else if (resp.status != 200)
		rc = seterr(c, -EACCES, "token service: HTTP %d", resp.status);
	else if ((rc = reg_token_parse(resp.body, resp.body_len, t->tok, sizeof t->tok, &ttl)) < 0)
		rc = seterr(c, rc, "token service: unusable token response");
	if (rc == 0) {
		snprintf(t->scope, sizeof t->scope, "%s", scope);
		/* renew a little before the server's end: half of a short life, 10 s of a long one */
		t->until_ms = now_ms() + 1000u * (uint64_t)(ttl - (ttl >= 20 ? 10 : ttl / 2));
	}
	if (resp.body)
		wipe(resp.body, resp.body_len);
	hcl_resp_free(&resp);
	hcl_sess_close(&ts);
	wipe(&ts, sizeof ts);
	return rc;
}

/* The Bearer token for q's scope: cached and fresh, or fetched now
 * (*fetched set). */
static int bearer(struct reg_client *c, const struct rq *q, struct reg_token **out, int *fetched)
{
	char scope[REG_MAX_REPO + 32];
	struct reg_token *t;
	int rc;

	scope_of(q, scope, sizeof scope);
	t = tok_find(c, scope);
	if (!t || now_ms() >= t->until_ms) {
		if ((rc = token_fetch(c, scope)) < 0)
			return rc;
		*fetched = 1;
		t = tok_find(c, scope);
	}
	*out = t;
	return t ? 0 : -EACCES;
}

/* A 401: decides how to authenticate from here on. 1 = try again (something
 * changed), 0 = final. fetched: this request already got a fresh token. */
static int on_401(struct reg_client *c, const struct rq *q, const struct hcl_resp *resp,
		  int fetched)
{
	struct reg_challenge ch;
	char v[HCL_MAX_URL + 1024];
	char scope[REG_MAX_REPO + 32];
	struct reg_token *t;

	if (hcl_resp_header(resp, "WWW-Authenticate", v, sizeof v) < 0 ||
	    reg_challenge_parse(v, &ch) < 0)
		return 0;
	if (strcmp(ch.scheme, "Basic") == 0) {
		if (!c->o.user || c->auth == AUTH_BASIC)
			return 0;
		c->auth = AUTH_BASIC;
		c->sess.user = c->o.user;
		c->sess.pass = c->o.pass;
		return 1;
	}
	if (!ch.realm[0] || (c->auth == AUTH_BEARER && fetched))
		return 0;
	c->auth = AUTH_BEARER;
	c->sess.user = c->sess.pass = NULL;
	snprintf(c->realm, sizeof c->realm, "%s", ch.realm);
	snprintf(c->service, sizeof c->service, "%s", ch.service);
	scope_of(q, scope, sizeof scope);
	if ((t = tok_find(c, scope)))
		t->until_ms = 0;        /* refused or expired: fetch anew */
	return 1;
}

/* ---- requests: auth, redirects, retries --------------------------------------- */

#define REG_MAX_HDRS 6

/* A 3xx of a GET: fetched from its Location without our credentials (a
 * storage backend's signed URL carries its own), so neither a Bearer token
 * nor Basic credentials reach another host. */
static int bare_follow(struct reg_client *c, const struct rq *q, struct hcl_resp *resp)
{
	char loc[HCL_MAX_URL + 1];
	struct hcl_req req = { .sess = &c->bare, .method = "GET", .url = loc, .max_body = q->max,
			       .sink = q->sink, .sink_ctx = q->ctx, .keep_head = 1 };

	size_t bl = strlen(c->base);

	if (hcl_resp_header(resp, "Location", loc, sizeof loc) <= 0)
		return seterr(c, -EPROTO, "%s %s: redirect without a Location", q->what, q->repo);
	if (loc[0] == '/' && loc[1] != '/' && bl + strlen(loc) <= HCL_MAX_URL) {
		memmove(loc + bl, loc, strlen(loc) + 1);
		memcpy(loc, c->base, bl);
	}
	if (strncmp(loc, "https://", 8) != 0 && strncmp(loc, "http://", 7) != 0)
		return seterr(c, -EPROTO, "%s %s: bad redirect Location", q->what, q->repo);
	if (strncmp(loc, c->base, 5) != 0)
		return seterr(c, -EPERM, "%s %s: redirect to another scheme refused", q->what, q->repo);
	hcl_resp_free(resp);
	c->bare.user = c->bare.pass = NULL;
	return hcl_request(&req, resp);
}

/* One try: headers (with the Bearer token when that is the mode), the
 * request, a bare redirect. */
static int send_once(struct reg_client *c, const struct rq *q, struct hcl_resp *resp,
		     int *fetched)
{
	struct hcl_hdr h[REG_MAX_HDRS + 1];
	char auth[REG_MAX_BEARER + 16];
	struct hcl_req req = { .sess = &c->sess, .method = q->method, .url = q->url, .hdrs = h,
			       .nhdrs = q->nhdrs, .body = q->body, .body_len = q->body_len,
			       .max_body = q->max, .sink = q->sink, .sink_ctx = q->ctx,
			       .no_redirect = 1, .keep_head = 1 };
	struct reg_token *t;
	int rc;

	memset(resp, 0, sizeof *resp);
	if (q->nhdrs > REG_MAX_HDRS)
		return -EINVAL;
	if (q->nhdrs)
		memcpy(h, q->hdrs, q->nhdrs * sizeof *h);
	auth[0] = 0;
	if (c->auth == AUTH_BEARER) {
		if ((rc = bearer(c, q, &t, fetched)) < 0)
			return rc;
		snprintf(auth, sizeof auth, "Bearer %s", t->tok);
		h[req.nhdrs++] = (struct hcl_hdr){ "Authorization", auth };
	}
	rc = hcl_request(&req, resp);
	wipe(auth, sizeof auth);
	/* cry reports a certificate name mismatch as -EHOSTUNREACH too: never transient */
	c->tls_fail = rc < 0 && strncmp(c->sess.err, "TLS ", 4) == 0;
	if (rc < 0)
		return seterr(c, rc, "%s %s%s%s: %s", q->what, q->repo, q->name ? " " : "",
			      q->name ? q->name : "", c->sess.err);
	if (q->bare_redirect && resp->status >= 300 && resp->status < 400 &&
	    (rc = bare_follow(c, q, resp)) < 0)
		return seterr(c, rc, "%s %s: %s", q->what, q->repo, c->bare.err[0] ? c->bare.err : c->err);
	return 0;
}

/* One try with authentication: a 401 that changes how we authenticate is
 * tried again at once (at most twice). */
static int send_auth(struct reg_client *c, const struct rq *q, struct hcl_resp *resp)
{
	int rc, fetched = 0;

	for (int round = 0;; round++) {
		rc = send_once(c, q, resp, &fetched);
		if (rc < 0 || resp->status != 401 || round == 2 || !on_401(c, q, resp, fetched))
			return rc;
		hcl_resp_free(resp);
	}
}

static int transient(int rc)
{
	return rc == -ETIMEDOUT || rc == -EHOSTUNREACH || rc == -EPROTO || rc == -ECONNRESET ||
	       rc == -ECONNREFUSED || rc == -EPIPE || rc == -EAGAIN;
}

static void pause_ms(unsigned ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* The path of a URL, without its query (upload states), for log lines. */
static void url_path(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");

	p = p ? strchr(p + 3, '/') : NULL;
	snprintf(out, cap, "%.*s", p ? (int)strcspn(p, "?") : 1, p ? p : "/");
}

/* send_auth, retried on transport errors, 5xx and 429 with backoff. */
static int send_retry(struct reg_client *c, const struct rq *q, struct hcl_resp *resp)
{
	unsigned delay = c->o.backoff_ms;
	char path[160];
	int rc;

	for (unsigned a = 0;; a++) {
		if (a && q->rewind && (rc = q->rewind(q->ctx)) < 0)
			return seterr(c, rc, "%s %s: cannot restart after a failure", q->what, q->repo);
		rc = send_auth(c, q, resp);
		if (!(rc < 0 ? transient(rc) && !c->tls_fail : (resp->status >= 500 || resp->status == 429)) ||
		    a == c->o.retries || q->once)
			return rc;
		if (c->o.log_fd >= 0) {
			char why[sizeof c->err];

			url_path(q->url, path, sizeof path);
			if (rc < 0)
				snprintf(why, sizeof why, "%s", c->err);
			else
				snprintf(why, sizeof why, "%s %s: HTTP %d", q->method, path, resp->status);
			dprintf(c->o.log_fd, "reg: %s; retry %u/%u in %u ms\n", why, a + 1,
				c->o.retries, delay);
		}
		hcl_resp_free(resp);
		pause_ms(delay);
		delay = delay * 2 > REG_MAX_BACKOFF_MS ? REG_MAX_BACKOFF_MS : delay * 2;
	}
}

/* The registry's first error code ({"errors":[{"code":"..."}]}), letters
 * and '_' only, or "". */
static void reg_code(const struct hcl_resp *r, char *out, size_t cap)
{
	json *j = NULL;
	const char *code = NULL;
	size_t o = 0;

	out[0] = 0;
	if (!r->body || json_parse((const char *)r->body, r->body_len, &j, NULL) < 0)
		return;
	code = json_get_str(json_child(json_get(j, "errors")), "code");
	for (; code && *code && o + 1 < cap && o < 40; code++)
		if ((*code >= 'A' && *code <= 'Z') || *code == '_')
			out[o++] = *code;
	out[o] = 0;
	json_free(j);
}

/* send_retry and the status check: 0 when the status is want (or any 2xx
 * when want is 0); otherwise the errno for it and reg_err says why. */
static int call(struct reg_client *c, const struct rq *q, struct hcl_resp *resp, int want)
{
	char code[48];
	int rc = send_retry(c, q, resp), st;

	if (rc < 0) {
		if (rc == -E2BIG && !strstr(c->err, "limit"))
			seterr(c, rc, "%s %s%s%s: response over the limit of %llu bytes", q->what,
			       q->repo, q->name ? " " : "", q->name ? q->name : "",
			       (unsigned long long)q->max);
		return rc;
	}
	st = resp->status;
	if (want ? st == want : (st >= 200 && st < 300))
		return 0;
	reg_code(resp, code, sizeof code);
	rc = st == 401 || st == 403 ? -EACCES : st == 404 ? -ENOENT : -EIO;
	return seterr(c, rc, "%s %s%s%s: HTTP %d%s%s%s", q->what, q->repo, q->name ? " " : "",
		      q->name ? q->name : "", st, code[0] ? " (" : "", code, code[0] ? ")" : "");
}

static int v2_url(struct reg_client *c, char *out, size_t cap, const char *repo, const char *kind,
		  const char *ref)
{
	int n = snprintf(out, cap, "%s/v2/%s/%s/%s", c->base, repo, kind, ref);

	return n < 0 || (size_t)n >= cap ? seterr(c, -E2BIG, "URL too long") : 0;
}

/* ---- manifests --------------------------------------------------------------- */

static const char accept_mt[] = REG_MT_OCI_MANIFEST ", " REG_MT_OCI_INDEX ", "
	REG_MT_DOCKER_MANIFEST ", " REG_MT_DOCKER_LIST;

/* The media type of a manifest: its mediaType member; else Content-Type
 * when that is one of the four we asked for; else OCI's by shape. */
static int manifest_mt(const struct hcl_resp *r, char mt[static REG_MAX_MEDIATYPE + 1])
{
	static const char *const known[] = { REG_MT_OCI_MANIFEST, REG_MT_OCI_INDEX,
					     REG_MT_DOCKER_MANIFEST, REG_MT_DOCKER_LIST };
	json *j = NULL;
	const char *m = NULL;
	size_t ctl = strcspn(r->content_type, "; \t");
	int rc;

	if (json_parse((const char *)r->body, r->body_len, &j, NULL) == 0)
		m = json_get_str(j, "mediaType");
	for (size_t i = 0; !m && i < sizeof known / sizeof known[0]; i++)
		if (strlen(known[i]) == ctl && strncmp(r->content_type, known[i], ctl) == 0)
			m = known[i];
	if (!m)
		m = json_get(j, "manifests") ? REG_MT_OCI_INDEX : REG_MT_OCI_MANIFEST;
	rc = strlen(m) > REG_MAX_MEDIATYPE ? -E2BIG : 0;
	if (rc == 0)
		memcpy(mt, m, strlen(m) + 1);
	json_free(j);
	return rc;
}

/* GET one manifest by tag or digest; the digest of its bytes is checked
 * against ref (a digest) and Docker-Content-Digest (when sent). */
static int manifest_fetch(struct reg_client *c, const char *repo, const char *ref,
			  uint8_t **body, size_t *len, char digest[static REG_DIGEST_LEN + 1],
			  char mtype[static REG_MAX_MEDIATYPE + 1])
{
	char url[HCL_MAX_URL + 1], dcd[REG_DIGEST_LEN + 8];
	const struct hcl_hdr h[] = { { "Accept", accept_mt } };
	struct rq q = { .what = "GET manifest", .repo = repo, .name = ref, .method = "GET",
			.url = url, .hdrs = h, .nhdrs = 1, .max = REG_MAX_MANIFEST, .bare_redirect = 1 };
	struct hcl_resp resp = { 0 };
	uint8_t hash[32];
	int rc;

	if ((rc = v2_url(c, url, sizeof url, repo, "manifests", ref)) < 0)
		return rc;
	if ((rc = call(c, &q, &resp, 200)) < 0)
		goto out;
	cry_sha256(resp.body, resp.body_len, hash);
	hex_digest(hash, digest);
	rc = seterr(c, -EBADMSG, "GET manifest %s %s: digest mismatch (got %s)", repo, ref, digest);
	if (reg_digest_valid(ref) && strcmp(ref, digest) != 0)
		goto out;
	if (hcl_resp_header(&resp, "Docker-Content-Digest", dcd, sizeof dcd) > 0 &&
	    strncmp(dcd, "sha256:", 7) == 0 && strcmp(dcd, digest) != 0)
		goto out;
	if (manifest_mt(&resp, mtype) < 0) {
		rc = seterr(c, -EBADMSG, "GET manifest %s %s: over-long mediaType", repo, ref);
		goto out;
	}
	*body = resp.body;
	*len = resp.body_len;
	resp.body = NULL;
	c->err[0] = 0;
	rc = 0;
out:
	hcl_resp_free(&resp);
	return rc;
}

int reg_get_manifest(struct reg_client *c, const char *repo, const char *ref,
		     const char *os, const char *arch, uint8_t **body, size_t *len,
		     char digest[static REG_DIGEST_LEN + 1], char mtype[static REG_MAX_MEDIATYPE + 1])
{
	struct reg_desc d;
	char why[256];
	uint8_t *b = NULL;
	size_t n = 0;
	int rc;

	*body = NULL;
	*len = 0;
	if (!reg_repo_valid(repo) || !ref || !(reg_digest_valid(ref) || reg_tag_valid(ref)))
		return seterr(c, -EINVAL, "GET manifest: bad repository or reference");
	if ((rc = manifest_fetch(c, repo, ref, &b, &n, digest, mtype)) < 0)
		return rc;
	if (!os || reg_is_index(b, n) != 1)
		goto done;
	rc = reg_index_pick(b, n, os, arch ? arch : "", NULL, &d, why, sizeof why);
	free(b);
	b = NULL;
	if (rc < 0)
		return seterr(c, rc, "GET manifest %s %s: %s", repo, ref, why);
	if ((rc = manifest_fetch(c, repo, d.digest, &b, &n, digest, mtype)) < 0)
		return rc;
	if (n != d.size || reg_is_index(b, n) != 0) {
		free(b);
		return seterr(c, -EBADMSG, "GET manifest %s %s: the index entry's size or type does not match",
			      repo, d.digest);
	}
done:
	*body = b;
	*len = n;
	return 0;
}

int reg_put_manifest(struct reg_client *c, const char *repo, const char *ref, const char *mtype,
		     const uint8_t *p, size_t n, char *digest_out)
{
	char url[HCL_MAX_URL + 1], dcd[REG_DIGEST_LEN + 8], dig[REG_DIGEST_LEN + 1];
	const struct hcl_hdr h[] = { { "Content-Type", mtype } };
	struct rq q = { .what = "PUT manifest", .repo = repo, .name = ref, .method = "PUT",
			.url = url, .push = 1, .hdrs = h, .nhdrs = 1, .body = p, .body_len = n,
			.max = HCL_MAX_ERR_BODY };
	struct hcl_resp resp = { 0 };
	uint8_t hash[32];
	int rc;

	if (!reg_repo_valid(repo) || !ref || !(reg_digest_valid(ref) || reg_tag_valid(ref)) || !mtype)
		return seterr(c, -EINVAL, "PUT manifest: bad repository, reference or type");
	if (n > REG_MAX_MANIFEST)
		return seterr(c, -E2BIG, "PUT manifest %s %s: %zu bytes (limit %u)", repo, ref, n,
			      REG_MAX_MANIFEST);
	cry_sha256(p, n, hash);
	hex_digest(hash, dig);
	if (reg_digest_valid(ref) && strcmp(ref, dig) != 0)
		return seterr(c, -EBADMSG, "PUT manifest %s: bytes do not match %s", repo, ref);
	if ((rc = v2_url(c, url, sizeof url, repo, "manifests", ref)) < 0 ||
	    (rc = call(c, &q, &resp, 201)) < 0)
		goto out;
	if (hcl_resp_header(&resp, "Docker-Content-Digest", dcd, sizeof dcd) > 0 &&
	    strcmp(dcd, dig) != 0) {
		rc = seterr(c, -EBADMSG, "PUT manifest %s %s: registry says %s, we sent %s", repo, ref,
			    dcd, dig);
		goto out;
	}
	if (digest_out)
		memcpy(digest_out, dig, sizeof dig);
	c->err[0] = 0;
out:
	hcl_resp_free(&resp);
	return rc;
}

/* ---- blobs: download --------------------------------------------------------- */

struct bsink {
	int fd;
	off_t start;
	int seekable;
	struct cry_sha256 h;
	uint64_t n;
};

static int bsink_write(void *ctx, const uint8_t *p, size_t n)
{
	struct bsink *b = ctx;
	int rc;

	cry_sha256_update(&b->h, p, n);
	b->n += n;
	if ((rc = util_write_all(b->fd, p, n)) < 0)
		return rc == -EIO ? -ENOSPC : rc;  /* a local failure: not retried */
	return 0;
}

static int bsink_rewind(void *ctx)
{
	struct bsink *b = ctx;

	if (b->n && (!b->seekable || ftruncate(b->fd, b->start) < 0 ||
		     lseek(b->fd, b->start, SEEK_SET) < 0))
		return -ESPIPE;
	cry_sha256_init(&b->h);
	b->n = 0;
	return 0;
}

static int blob_check(struct reg_client *c, const char *repo, const char *digest)
{
	if (!reg_repo_valid(repo) || !reg_digest_valid(digest))
		return seterr(c, -EINVAL, "blob: bad repository or digest");
	return 0;
}

int reg_get_blob(struct reg_client *c, const char *repo, const char *digest, uint64_t max, int fd)
{
	char url[HCL_MAX_URL + 1], got[REG_DIGEST_LEN + 1];
	struct bsink b = { .fd = fd };
	struct rq q = { .what = "GET blob", .repo = repo, .name = digest, .method = "GET",
			.url = url, .max = max ? max : REG_MAX_BLOB, .sink = bsink_write, .ctx = &b,
			.rewind = bsink_rewind, .bare_redirect = 1 };
	struct hcl_resp resp = { 0 };
	uint8_t hash[32];
	int rc;

	if ((rc = blob_check(c, repo, digest)) < 0 ||
	    (rc = v2_url(c, url, sizeof url, repo, "blobs", digest)) < 0)
		return rc;
	b.start = lseek(fd, 0, SEEK_CUR);
	b.seekable = b.start >= 0;
	cry_sha256_init(&b.h);
	if ((rc = call(c, &q, &resp, 200)) < 0)
		goto out;
	cry_sha256_final(&b.h, hash);
	hex_digest(hash, got);
	if (strcmp(got, digest) != 0) {
		rc = seterr(c, -EBADMSG, "GET blob %s %s: digest mismatch (%llu bytes hash to %s)", repo,
			    digest, (unsigned long long)b.n, got);
		goto out;
	}
	c->err[0] = 0;
out:
	hcl_resp_free(&resp);
	return rc;
}

int reg_get_blob_mem(struct reg_client *c, const char *repo, const char *digest, size_t max,
		     uint8_t **out, size_t *len)
{
	char url[HCL_MAX_URL + 1], got[REG_DIGEST_LEN + 1];
	struct rq q = { .what = "GET blob", .repo = repo, .name = digest, .method = "GET",
			.url = url, .max = max, .bare_redirect = 1 };
	struct hcl_resp resp = { 0 };
	uint8_t hash[32];
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = blob_check(c, repo, digest)) < 0 ||
	    (rc = v2_url(c, url, sizeof url, repo, "blobs", digest)) < 0)
		return rc;
	if (!max)
		return seterr(c, -EINVAL, "GET blob: no size limit given");
	if ((rc = call(c, &q, &resp, 200)) < 0)
		goto out;
	cry_sha256(resp.body, resp.body_len, hash);
	hex_digest(hash, got);
	if (strcmp(got, digest) != 0) {
		rc = seterr(c, -EBADMSG, "GET blob %s %s: digest mismatch (got %s)", repo, digest, got);
		goto out;
	}
	*out = resp.body;
	*len = resp.body_len;
	resp.body = NULL;
	c->err[0] = 0;
out:
	hcl_resp_free(&resp);
	return rc;
}

static int blob_head(struct reg_client *c, const char *repo, const char *digest, int push)
{
	char url[HCL_MAX_URL + 1];
	struct rq q = { .what = "HEAD blob", .repo = repo, .name = digest, .method = "HEAD",
			.url = url, .push = push, .max = HCL_MAX_ERR_BODY };
	struct hcl_resp resp = { 0 };
	int rc;

	if ((rc = blob_check(c, repo, digest)) < 0 ||
	    (rc = v2_url(c, url, sizeof url, repo, "blobs", digest)) < 0)
		return rc;
	rc = call(c, &q, &resp, 200);
	hcl_resp_free(&resp);
	if (rc == -ENOENT)
		return 0;
	if (rc == 0)
		c->err[0] = 0;
	return rc < 0 ? rc : 1;
}

int reg_blob_exists(struct reg_client *c, const char *repo, const char *digest)
{
	return blob_head(c, repo, digest, 0);
}

/* ---- blobs: upload ------------------------------------------------------------ */

struct upload {
	struct reg_client *c;
	const char *repo, *digest;
	int fd;                        /* pread source, or -1 with mem */
	const uint8_t *mem;
	uint64_t size, off;
	uint8_t *buf;                  /* one chunk of an fd source */
	char loc[HCL_MAX_URL + 1];     /* the upload session's current URL */
	unsigned tries, delay;
};

/* The Location of an upload response as an absolute URL on our origin. */
static int take_location(struct upload *u, const struct hcl_resp *r)
{
	struct reg_client *c = u->c;
	char l[HCL_MAX_URL + 1];
	size_t bl = strlen(c->base);

	if (hcl_resp_header(r, "Location", l, sizeof l) <= 0)
		return seterr(c, -EPROTO, "upload %s: no Location from the registry", u->repo);
	if (l[0] == '/' && l[1] != '/') {
		if (bl + strlen(l) > HCL_MAX_URL)
			return seterr(c, -EPROTO, "upload %s: Location too long", u->repo);
		memcpy(u->loc, c->base, bl);
		memcpy(u->loc + bl, l, strlen(l) + 1);
	} else if (strncmp(l, c->base, bl) == 0 && l[bl] == '/') {
		memcpy(u->loc, l, strlen(l) + 1);
	} else {
		return seterr(c, -EPROTO, "upload %s: Location on another origin refused", u->repo);
	}
	return 0;
}

static int retryable(const struct reg_client *c, int rc, const struct hcl_resp *r)
{
	return rc < 0 && (r->status >= 500 || r->status == 429 ||
			  (!r->status && transient(rc) && !c->tls_fail));
}

/* One upload step's failure: 1 = try again after a pause, or the error. */
static int upload_failed(struct upload *u, int rc, const struct hcl_resp *r, const char *step)
{
	struct reg_client *c = u->c;

	if (!retryable(c, rc, r) || u->tries >= c->o.retries)
		return rc;
	u->tries++;
	if (c->o.log_fd >= 0)
		dprintf(c->o.log_fd, "reg: upload %s %s: %s failed (%s%d), retry %u/%u in %u ms\n",
			u->repo, u->digest, step, r->status ? "HTTP " : "", r->status ? r->status : rc,
			u->tries, c->o.retries, u->delay);
	pause_ms(u->delay);
	u->delay = u->delay * 2 > REG_MAX_BACKOFF_MS ? REG_MAX_BACKOFF_MS : u->delay * 2;
	return 1;
}

static int upload_start(struct upload *u)
{
	char url[HCL_MAX_URL + 1];
	struct rq q = { .what = "POST upload", .repo = u->repo, .name = u->digest, .method = "POST",
			.url = url, .push = 1, .max = HCL_MAX_ERR_BODY };
	struct hcl_resp resp = { 0 };
	int rc;

	if ((rc = v2_url(u->c, url, sizeof url, u->repo, "blobs", "uploads/")) == 0 &&
	    (rc = call(u->c, &q, &resp, 202)) == 0)
		rc = take_location(u, &resp);
	u->off = 0;
	hcl_resp_free(&resp);
	return rc;
}

/* Where the registry's copy of the session ends ("Range: 0-<last>"). */
static int upload_status(struct upload *u)
{
	struct rq q = { .what = "GET upload", .repo = u->repo, .name = u->digest, .method = "GET",
			.url = u->loc, .push = 1, .max = HCL_MAX_ERR_BODY, .once = 1 };
	struct hcl_resp resp = { 0 };
	char range[64];
	uint64_t last = 0;
	int rc = call(u->c, &q, &resp, 204);

	if (rc == 0 && (rc = hcl_resp_header(&resp, "Range", range, sizeof range)) > 0) {
		const char *r = strncmp(range, "bytes=", 6) == 0 ? range + 6 : range;

		rc = (r[0] == '0' && r[1] == '-' &&
		      util_parse_u64(r + 2, strlen(r + 2), u->size, &last) == 0) ? 0 : -EPROTO;
	}
	/* distribution says "0-0" for an empty session too: trust it only as far as we know */
	if (rc == 0 && (last || u->off))
		rc = last + 1 < u->off || last + 1 > u->size ? -EPROTO : 0;
	if (rc == 0 && (rc = take_location(u, &resp)) == 0 && (last || u->off))
		u->off = last + 1;
	hcl_resp_free(&resp);
	return rc < 0 ? rc : 0;
}

static int read_at(struct upload *u, uint64_t off, size_t n, const uint8_t **p)
{
	size_t got = 0;

	if (u->mem) {
		*p = u->mem + off;
		return 0;
	}
	while (got < n) {
		ssize_t r = pread(u->fd, u->buf + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return seterr(u->c, r < 0 ? -errno : -EIO, "upload %s %s: reading the blob at %llu",
				      u->repo, u->digest, (unsigned long long)(off + got));
		got += (size_t)r;
	}
	*p = u->buf;
	return 0;
}

static int upload_patch(struct upload *u, struct hcl_resp *resp)
{
	size_t n = u->size - u->off > REG_CHUNK ? REG_CHUNK : (size_t)(u->size - u->off);
	char range[48];
	const struct hcl_hdr h[] = { { "Content-Type", "application/octet-stream" },
				     { "Content-Range", range } };
	struct rq q = { .what = "PATCH upload", .repo = u->repo, .name = u->digest,
			.method = "PATCH", .url = u->loc, .push = 1, .hdrs = h, .nhdrs = 2,
			.body_len = n, .max = HCL_MAX_ERR_BODY, .once = 1 };
	int rc;

	snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)u->off,
		 (unsigned long long)(u->off + n - 1));
	if ((rc = read_at(u, u->off, n, &q.body)) < 0)
		return rc;
	if ((rc = call(u->c, &q, resp, 202)) == 0 && (rc = take_location(u, resp)) == 0)
		u->off += n;
	return rc;
}

static int upload_put(struct upload *u, struct hcl_resp *resp)
{
	char url[HCL_MAX_URL + 1];
	struct rq q = { .what = "PUT upload", .repo = u->repo, .name = u->digest, .method = "PUT",
			.url = url, .push = 1, .max = HCL_MAX_ERR_BODY, .once = 1 };
	int n = snprintf(url, sizeof url, "%s%cdigest=%s", u->loc, strchr(u->loc, '?') ? '&' : '?',
			 u->digest);

	if (n < 0 || (size_t)n >= sizeof url)
		return seterr(u->c, -E2BIG, "upload %s: URL too long", u->repo);
	return call(u->c, &q, resp, 201);
}

/* POST, PATCH..., PUT; a failed step resumes where the registry says the
 * session is, or starts a new session. */
static int upload_run(struct upload *u)
{
	struct hcl_resp resp;
	int rc, restart = 1, put;

	for (;;) {
		memset(&resp, 0, sizeof resp);
		if (restart && (rc = upload_start(u)) < 0)
			return rc;
		restart = 0;
		put = u->off == u->size;
		rc = put ? upload_put(u, &resp) : upload_patch(u, &resp);
		if (rc == 0) {
			hcl_resp_free(&resp);
			if (put)
				return 0;
			continue;
		}
		rc = upload_failed(u, rc, &resp, put ? "PUT" : "PATCH");
		hcl_resp_free(&resp);
		if (rc != 1)
			return rc;
		if (put && blob_head(u->c, u->repo, u->digest, 1) == 1)
			return 0;       /* the PUT went through; only its answer was lost */
		restart = upload_status(u) < 0;
	}
}

static int push(struct reg_client *c, struct upload *u, int *skipped)
{
	int rc;

	if (skipped)
		*skipped = 0;
	if ((rc = blob_check(c, u->repo, u->digest)) < 0)
		return rc;
	if (u->size > REG_MAX_BLOB)
		return seterr(c, -E2BIG, "upload %s %s: %llu bytes (limit %llu)", u->repo, u->digest,
			      (unsigned long long)u->size, (unsigned long long)REG_MAX_BLOB);
	if ((rc = blob_head(c, u->repo, u->digest, 1)) != 0) {
		if (rc == 1 && skipped)
			*skipped = 1;
		return rc < 0 ? rc : 0;
	}
	u->c = c;
	u->delay = c->o.backoff_ms;
	if (!u->mem && u->size && !(u->buf = malloc(u->size < REG_CHUNK ? (size_t)u->size : REG_CHUNK)))
		return seterr(c, -ENOMEM, "upload: out of memory");
	rc = upload_run(u);
	free(u->buf);
	u->buf = NULL;
	if (rc == 0)
		c->err[0] = 0;
	return rc;
}

int reg_push_blob(struct reg_client *c, const char *repo, int fd, uint64_t size,
		  const char *digest, int *skipped)
{
	struct upload u = { .repo = repo, .digest = digest, .fd = fd, .size = size };

	return push(c, &u, skipped);
}

int reg_push_blob_mem(struct reg_client *c, const char *repo, const uint8_t *p, size_t n,
		      char digest_out[static REG_DIGEST_LEN + 1])
{
	struct upload u = { .repo = repo, .digest = digest_out, .fd = -1, .mem = p, .size = n };
	uint8_t hash[32];

	cry_sha256(p, n, hash);
	hex_digest(hash, digest_out);
	return push(c, &u, NULL);
}
