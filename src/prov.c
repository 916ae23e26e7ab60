/* SPDX-License-Identifier: MIT */
/*
 * prov: SLSA v1 build provenance as an in-toto Statement v1, wrapped in a
 * DSSE envelope signed with the image key (ECDSA P-256 over SHA-256 of the
 * DSSE pre-authentication encoding), and pushed as cosign's .att attachment
 * (layer application/vnd.dsse.envelope.v1+json, annotation predicateType).
 * The statement is compact JSON with a fixed key order, so equal inputs give
 * equal bytes. Build-arg values arrive with secrets already removed; a git
 * URL's password or token (userinfo of an http(s) URL) is dropped here too,
 * as a second line of defence. Envelopes and statements read back from a
 * registry are untrusted: exact member sets, types and SIG_* sizes are
 * checked before anything is used.
 */
#include "sigstore.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cry.h"
#include "limits.h"
#include "util.h"

#define PROV_STATEMENT_TYPE  "https://in-toto.io/Statement/v1"
#define PROV_PREDICATE_TYPE  "https://slsa.dev/provenance/v1"
#define PROV_PAYLOAD_TYPE    "application/vnd.in-toto+json"
#define PROV_BUILD_TYPE      "https://sbs.local/buildtypes/dockerfile@v1"
#define PROV_MAX_SUBJECTS    16

static int hex_ok(const char *s, size_t n)
{
	if (!s || strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* {"<alg>": "<hex>"} from "sha256:<hex>" / "sha1:<hex>". */
static json *digest_set(const char *d)
{
	const char *c = d ? strchr(d, ':') : NULL;
	char alg[8];
	json *o;

	if (!c || (size_t)(c - d) >= sizeof alg)
		return NULL;
	memcpy(alg, d, (size_t)(c - d));
	alg[c - d] = 0;
	if (!((strcmp(alg, "sha256") == 0 && hex_ok(c + 1, 64)) ||
	      (strcmp(alg, "sha1") == 0 && hex_ok(c + 1, 40))))
		return NULL;
	o = json_new_obj();
	if (o && json_set_str(o, alg, c + 1) < 0) {
		json_free(o);
		o = NULL;
	}
	return o;
}

static int digest_ok_any(const char *d)
{
	json *o = digest_set(d);

	json_free(o);
	return o != NULL;
}

/* A URL without its userinfo when it could carry a secret: http(s) always,
 * other schemes when it has a ':' (user:password). scp-like git@host:path
 * and ssh://git@host are kept. */
static int url_clean(const char *url, char *out, size_t cap)
{
	const char *sch = strstr(url, "://"), *host, *at, *end;
	size_t k;

	if (strlen(url) >= cap)
		return -ENAMETOOLONG;
	if (!sch) {
		strcpy(out, url);
		return 0;
	}
	host = sch + 3;
	end = host + strcspn(host, "/?#");
	at = memrchr(host, '@', (size_t)(end - host));
	if (!at || (strncmp(url, "http", 4) != 0 && !memchr(host, ':', (size_t)(at - host)))) {
		strcpy(out, url);
		return 0;
	}
	k = (size_t)(host - url);
	memcpy(out, url, k);
	strcpy(out + k, at + 1);
	return 0;
}

static void rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		strcpy(out, "1970-01-01T00:00:00Z");
}

/* Adds key: a string (skipped when NULL). */
static int put_s(json *o, const char *key, const char *v)
{
	return v ? json_set_str(o, key, v) : 0;
}

/* json_set that also frees val when obj is NULL. */
static int put_o(json *o, const char *key, json *val)
{
	if (!val)
		return -ENOMEM;
	if (!o) {
		json_free(val);
		return -ENOMEM;
	}
	return json_set(o, key, val);
}

static json *external_params(const struct prov_info *i, const char *url)
{
	json *e = json_new_obj(), *src = json_new_obj(), *args = json_new_obj();
	char ref[GIT_MAX_REFNAME + 16];
	int rc = e && src && args ? 0 : -ENOMEM;

	if (i->git_branch)
		snprintf(ref, sizeof ref, "refs/heads/%s", i->git_branch);
	if (rc == 0 && (rc = put_s(src, "uri", url)) == 0)
		rc = put_s(src, "ref", i->git_branch ? ref : NULL);
	for (size_t k = 0; rc == 0 && k < i->nargs; k++)
		rc = json_set_str(args, i->arg_names[k], i->arg_values[k] ? i->arg_values[k] : "");
	if (rc == 0) {
		rc = put_o(e, "source", src);
		src = NULL;
	}
	if (rc == 0 && (rc = put_s(e, "dockerfile", i->dockerfile_path)) == 0 &&
	    (rc = put_s(e, "context", i->context_path)) == 0) {
		rc = put_o(e, "buildArgs", args);
		args = NULL;
	}
	json_free(src);
	json_free(args);
	if (rc < 0) {
		json_free(e);
		e = NULL;
	}
	return e;
}

static json *res_desc(const char *uri, const char *name, const char *digest)
{
	json *d = json_new_obj(), *ds = digest_set(digest);

	if (d && ds && put_s(d, "uri", uri) == 0 && put_s(d, "name", name) == 0) {
		if (json_set(d, "digest", ds) == 0)
			return d;
		ds = NULL;          /* json_set freed it */
	}
	json_free(ds);
	json_free(d);
	return NULL;
}

/* One submodule: its URL (credentials removed again), commit and path. */
static int sub_dep(json *a, const struct prov_submodule *sm)
{
	char url[HCL_MAX_URL + 1], uri[HCL_MAX_URL + 8];
	json *d = json_new_obj(), *ds = json_new_obj();
	int rc = d && ds ? 0 : -ENOMEM;

	if (rc == 0 && url_clean(sm->url, url, sizeof url) < 0)
		rc = -EINVAL;
	if (rc == 0) {
		snprintf(uri, sizeof uri, "git+%s", url);
		rc = json_set_str(ds, "gitCommit", sm->commit);
	}
	if (rc == 0 && (rc = json_set_str(d, "uri", uri)) == 0) {
		rc = json_set(d, "digest", ds);
		ds = NULL;
	}
	if (rc == 0)
		rc = json_set_str(d, "name", sm->path);
	if (rc == 0) {
		rc = json_arr_add(a, d);
		d = NULL;
	}
	json_free(d);
	json_free(ds);
	return rc;
}

static json *resolved_deps(const struct prov_info *i, const char *url)
{
	json *a = json_new_arr();
	char uri[HCL_MAX_URL + GIT_MAX_REFNAME + 32];
	int rc = a ? 0 : -ENOMEM;

	if (rc == 0 && i->git_commit) {
		json *d = json_new_obj(), *ds = json_new_obj();

		snprintf(uri, sizeof uri, "git+%s%s%s", url ? url : "", i->git_branch ? "@refs/heads/" : "",
			 i->git_branch ? i->git_branch : "");
		/* gitCommit: in-toto's digest name for a git commit id */
		rc = d && ds ? json_set_str(ds, "gitCommit", i->git_commit) : -ENOMEM;
		if (rc == 0 && (rc = json_set_str(d, "uri", uri)) == 0) {
			rc = json_set(d, "digest", ds);
			ds = NULL;
		}
		if (rc == 0) {
			rc = json_arr_add(a, d);
			d = NULL;
		}
		json_free(d);
		json_free(ds);
	}
	for (size_t k = 0; rc == 0 && k < i->nsubs; k++)
		rc = sub_dep(a, &i->subs[k]);
	if (rc == 0 && i->dockerfile_digest) {
		json *d = res_desc(NULL, i->dockerfile_path ? i->dockerfile_path : "Dockerfile",
				   i->dockerfile_digest);
		rc = d ? json_arr_add(a, d) : -EINVAL;
	}
	for (size_t k = 0; rc == 0 && k < i->nbases; k++) {
		json *d = res_desc(i->bases[k].uri, NULL, i->bases[k].digest);
		rc = d ? json_arr_add(a, d) : -EINVAL;
	}
	if (rc < 0) {
		json_free(a);
		a = NULL;
	}
	return a;
}

static json *run_details(const struct prov_info *i)
{
	json *r = json_new_obj(), *b = json_new_obj(), *v = json_new_obj(), *m = json_new_obj();
	char t0[32], t1[32];
	int rc = r && b && v && m ? 0 : -ENOMEM;

	rfc3339(i->started, t0);
	rfc3339(i->finished, t1);
	if (rc == 0 && (rc = json_set_str(b, "id", i->builder_id)) == 0 &&
	    (rc = put_s(v, "sbsd", i->builder_version)) == 0) {
		rc = json_set(b, "version", v);
		v = NULL;
	}
	if (rc == 0 && (rc = put_s(m, "invocationId", i->invocation_id)) == 0 &&
	    (rc = json_set_str(m, "startedOn", t0)) == 0)
		rc = json_set_str(m, "finishedOn", t1);
	if (rc == 0) {
		rc = json_set(r, "builder", b);
		b = NULL;
	}
	if (rc == 0) {
		rc = json_set(r, "metadata", m);
		m = NULL;
	}
	json_free(b);
	json_free(v);
	json_free(m);
	if (rc < 0) {
		json_free(r);
		r = NULL;
	}
	return r;
}

static json *predicate(const struct prov_info *i, const char *url)
{
	json *p = json_new_obj(), *bd = json_new_obj(), *ip = json_new_obj();
	int rc = p && bd && ip ? 0 : -ENOMEM;

	if (rc == 0 && (rc = json_set_str(bd, "buildType", PROV_BUILD_TYPE)) == 0)
		rc = put_o(bd, "externalParameters", external_params(i, url));
	if (rc == 0 && (rc = put_s(ip, "sshHostKey", i->ssh_host_key)) == 0) {
		rc = json_set(bd, "internalParameters", ip);
		ip = NULL;
	}
	if (rc == 0)
		rc = put_o(bd, "resolvedDependencies", resolved_deps(i, url));
	if (rc == 0) {
		rc = json_set(p, "buildDefinition", bd);
		bd = NULL;
	}
	if (rc == 0)
		rc = put_o(p, "runDetails", run_details(i));
	json_free(bd);
	json_free(ip);
	if (rc < 0) {
		json_free(p);
		p = NULL;
	}
	return p;
}

int prov_statement(const struct prov_info *i, struct buf *out)
{
	char url[HCL_MAX_URL + 1];
	json *st = NULL, *subj = NULL, *s = NULL, *ds = NULL;
	char *txt = NULL;
	int rc = -EINVAL;

	if (!i || !i->image_name || !*i->image_name || !i->builder_id ||
	    (i->git_commit && !hex_ok(i->git_commit, 40)) || (i->nargs && (!i->arg_names || !i->arg_values)) ||
	    (i->nbases && !i->bases))
		return -EINVAL;
	if (i->git_url && url_clean(i->git_url, url, sizeof url) < 0)
		return -EINVAL;
	for (size_t k = 0; k < i->nbases; k++)
		if (!digest_ok_any(i->bases[k].digest))
			return -EINVAL;
	if (i->nsubs && !i->subs)
		return -EINVAL;
	for (size_t k = 0; k < i->nsubs; k++)
		if (!i->subs[k].url || !i->subs[k].path || !i->subs[k].commit ||
		    !hex_ok(i->subs[k].commit, 40))
			return -EINVAL;
	if ((i->dockerfile_digest && !digest_ok_any(i->dockerfile_digest)) ||
	    strncmp(i->image_digest ? i->image_digest : "", "sha256:", 7) != 0 ||
	    !(ds = digest_set(i->image_digest)))
		goto out;
	rc = -ENOMEM;
	if (!(st = json_new_obj()) || !(subj = json_new_arr()) || !(s = json_new_obj()))
		goto out;
	if ((rc = json_set_str(st, "_type", PROV_STATEMENT_TYPE)) < 0 ||
	    (rc = json_set_str(s, "name", i->image_name)) < 0)
		goto out;
	rc = json_set(s, "digest", ds);
	ds = NULL;
	if (rc < 0)
		goto out;
	rc = json_arr_add(subj, s);
	s = NULL;
	if (rc == 0)
		rc = json_set(st, "subject", subj);
	subj = NULL;
	if (rc == 0 && (rc = json_set_str(st, "predicateType", PROV_PREDICATE_TYPE)) == 0)
		rc = put_o(st, "predicate", predicate(i, i->git_url ? url : NULL));
	if (rc == 0)
		rc = (txt = json_print(st)) ? buf_append(out, txt, strlen(txt)) : -ENOMEM;
out:
	free(txt);
	json_free(st);
	json_free(subj);
	json_free(s);
	json_free(ds);
	return rc;
}

/* ---- DSSE ---- */

int prov_pae(const char *type, const uint8_t *body, size_t n, struct buf *out)
{
	int rc = buf_printf(out, "DSSEv1 %zu %s %zu ", strlen(type), type, n);

	return rc < 0 ? rc : buf_append(out, body, n);
}

static int pae_hash(const uint8_t *body, size_t n, uint8_t h[static 32])
{
	struct buf b = { 0 };
	int rc = prov_pae(PROV_PAYLOAD_TYPE, body, n, &b);

	if (rc == 0)
		cry_sha256(b.data, b.len, h);
	buf_free(&b);
	return rc;
}

int prov_envelope(const uint8_t *stmt, size_t n, sig_sign_fn sign, void *sctx, struct buf *out)
{
	uint8_t h[32], sig[SIG_MAX];
	char sb64[SIG_MAX_B64SIG + 1], *pb64 = NULL;
	size_t siglen = 0, k = 0, cap;
	json *env = NULL, *sigs = NULL, *one = NULL;
	int rc;

	if (!stmt || n > SIG_MAX_STATEMENT || !sign)
		return -EINVAL;
	if ((rc = pae_hash(stmt, n, h)) < 0 || (rc = sign(sctx, h, sig, sizeof sig, &siglen)) < 0)
		return rc;
	cap = cry_b64_encoded_len(n);
	rc = -ENOMEM;
	if (!(pb64 = malloc(cap)) || !(env = json_new_obj()) || !(sigs = json_new_arr()) ||
	    !(one = json_new_obj()))
		goto out;
	if ((rc = cry_b64_encode(stmt, n, pb64, cap, &k)) < 0 ||
	    (rc = cry_b64_encode(sig, siglen, sb64, sizeof sb64, &k)) < 0)
		goto out;
	if ((rc = json_set_str(env, "payloadType", PROV_PAYLOAD_TYPE)) < 0 ||
	    (rc = json_set_str(env, "payload", pb64)) < 0 || (rc = json_set_str(one, "keyid", "")) < 0 ||
	    (rc = json_set_str(one, "sig", sb64)) < 0)
		goto out;
	rc = json_arr_add(sigs, one);
	one = NULL;
	if (rc == 0)
		rc = json_set(env, "signatures", sigs);
	sigs = NULL;
	if (rc == 0) {
		char *t = json_print(env);

		rc = t ? buf_append(out, t, strlen(t)) : -ENOMEM;
		free(t);
	}
out:
	free(pb64);
	json_free(env);
	json_free(sigs);
	json_free(one);
	return rc;
}

/* Tries every signature of the envelope on the PAE hash. */
static int env_sigs(const json *sigs, const uint8_t h[static 32], const uint8_t *pub, size_t publen,
		    char *err, size_t errcap)
{
	uint8_t sig[SIG_MAX];
	size_t siglen;
	int rc = -EBADMSG;

	if (!json_is_arr(sigs) || json_count(sigs) < 1 || json_count(sigs) > SIG_MAX_ENV_SIGS)
		return util_err(err, errcap, -EBADMSG, "envelope: signatures must be an array of 1..%u",
			    SIG_MAX_ENV_SIGS);
	for (const json *s = json_child(sigs); s; s = json_next(s)) {
		const char *b = json_get_str(s, "sig"), *kid = json_get_str(s, "keyid");
		size_t nk = json_count(s);

		if (!json_is_obj(s) || !b || nk != (json_get(s, "keyid") ? 2u : 1u) ||
		    (json_get(s, "keyid") && (!kid || strlen(kid) > SIG_MAX_FIELD)))
			return util_err(err, errcap, -EBADMSG, "envelope: a signature must be {keyid?, sig} strings");
		if (strlen(b) > SIG_MAX_B64SIG ||
		    cry_b64_decode(b, strlen(b), sig, sizeof sig, &siglen) < 0 || siglen == 0)
			return util_err(err, errcap, -EBADMSG, "envelope: a sig is not base64 of at most %u bytes",
				    SIG_MAX);
		rc = cry_verify_sha256(pub, publen, h, sig, siglen);
		if (rc == 0)
			return 0;
		if (rc == -EINVAL)
			return util_err(err, errcap, rc, "the public key is not a PEM public key");
	}
	return util_err(err, errcap, -EBADMSG, "envelope: no signature verifies under the given key");
}

int prov_envelope_open(const uint8_t *env, size_t n, const uint8_t *pub, size_t publen,
		       uint8_t **stmt, size_t *slen, char *err, size_t errcap)
{
	static const char *const ek[] = { "payloadType", "payload", "signatures" };
	const char *jerr = NULL, *pt, *pl;
	uint8_t *body = NULL, h[32];
	size_t blen = 0, plen;
	json *root = NULL;
	int rc = -EBADMSG;

	*stmt = NULL;
	*slen = 0;
	if (!env || n > SIG_MAX_ENVELOPE)
		return util_err(err, errcap, -EBADMSG, "envelope: over %u bytes", SIG_MAX_ENVELOPE);
	if (json_parse((const char *)env, n, &root, &jerr) < 0)
		return util_err(err, errcap, -EBADMSG, "envelope: not JSON (%s)", jerr ? jerr : "too deep");
	pt = json_get_str(root, "payloadType");
	pl = json_get_str(root, "payload");
	if (!json_is_obj(root) || json_count(root) != 3 || !pt || !pl || !json_get(root, "signatures")) {
		rc = util_err(err, errcap, -EBADMSG, "envelope: must be exactly {%s, %s, %s}", ek[0], ek[1], ek[2]);
		goto out;
	}
	if (strcmp(pt, PROV_PAYLOAD_TYPE) != 0) {
		rc = util_err(err, errcap, -EBADMSG, "envelope: payloadType is not %s", PROV_PAYLOAD_TYPE);
		goto out;
	}
	plen = strlen(pl);
	if (plen / 4 * 3 > SIG_MAX_STATEMENT + 3 || !(body = malloc(plen / 4 * 3 + 4))) {
		rc = util_err(err, errcap, -EBADMSG, "envelope: payload over %u bytes", SIG_MAX_STATEMENT);
		goto out;
	}
	if (cry_b64_decode(pl, plen, body, plen / 4 * 3 + 4, &blen) < 0 || blen > SIG_MAX_STATEMENT) {
		rc = util_err(err, errcap, -EBADMSG, "envelope: payload is not base64 (of at most %u bytes)",
			  SIG_MAX_STATEMENT);
		goto out;
	}
	if ((rc = pae_hash(body, blen, h)) == 0)
		rc = env_sigs(json_get(root, "signatures"), h, pub, publen, err, errcap);
	if (rc == 0) {
		*stmt = body;
		*slen = blen;
		body = NULL;
	}
out:
	free(body);
	json_free(root);
	return rc;
}

/* ---- statement check ---- */

static int cp(char *dst, size_t cap, const json *j)
{
	const char *s = json_str(j);

	if (!j) {
		dst[0] = 0;
		return 0;
	}
	if (!s || strlen(s) >= cap)
		return -EBADMSG;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int check_subjects(const json *subj, const char *want, struct prov_summary *s,
			  char *err, size_t errcap)
{
	int found = !want;

	if (!json_is_arr(subj) || json_count(subj) < 1 || json_count(subj) > PROV_MAX_SUBJECTS)
		return util_err(err, errcap, -EBADMSG, "statement: subject must be an array of 1..%u",
			    PROV_MAX_SUBJECTS);
	for (const json *x = json_child(subj); x; x = json_next(x)) {
		const json *d = json_get(x, "digest");
		const char *h = json_get_str(d, "sha256");

		if (!json_is_obj(x) || json_count(x) != 2 || !json_get_str(x, "name") || !json_is_obj(d))
			return util_err(err, errcap, -EBADMSG, "statement: a subject must be {name, digest}");
		for (const json *a = json_child(d); a; a = json_next(a))
			if (!json_is_str(a))
				return util_err(err, errcap, -EBADMSG, "statement: digest values must be strings");
		if (want && h && strcmp(h, want + 7) == 0 && !found) {
			found = 1;
			if (cp(s->subject, sizeof s->subject, json_get(x, "name")) < 0)
				return util_err(err, errcap, -EBADMSG, "statement: subject name too long");
		}
	}
	if (!found)
		return util_err(err, errcap, -EBADMSG, "statement: no subject has the digest %s", want);
	return 0;
}

/* git URL, ref and commit as prov_statement writes them; other producers'
 * statements simply give "". */
static int git_facts(const json *bd, struct prov_summary *s)
{
	const json *src = json_get(json_get(bd, "externalParameters"), "source");
	const json *deps = json_get(bd, "resolvedDependencies");

	if (cp(s->git_url, sizeof s->git_url, json_get(src, "uri")) < 0 ||
	    cp(s->git_ref, sizeof s->git_ref, json_get(src, "ref")) < 0)
		return -EBADMSG;
	if (deps && !json_is_arr(deps))
		return -EBADMSG;
	for (const json *d = json_child(deps); d; d = json_next(d)) {
		const char *uri = json_get_str(d, "uri");
		const json *c = json_get(json_get(d, "digest"), "gitCommit");

		if (uri && strncmp(uri, "git+", 4) == 0 && c) {
			if (!hex_ok(json_str(c), 40))
				return -EBADMSG;
			return cp(s->git_commit, sizeof s->git_commit, c);
		}
	}
	return 0;
}

int prov_statement_check(const uint8_t *stmt, size_t n, const char *want_digest,
			 struct prov_summary *s, char *err, size_t errcap)
{
	const char *jerr = NULL, *t, *pt;
	const json *pred, *bd, *rd;
	json *root = NULL;
	int rc = -EBADMSG;

	memset(s, 0, sizeof *s);
	if (want_digest && (strncmp(want_digest, "sha256:", 7) != 0 || !hex_ok(want_digest + 7, 64)))
		return -EINVAL;
	if (n > SIG_MAX_STATEMENT || json_parse((const char *)stmt, n, &root, &jerr) < 0)
		return util_err(err, errcap, -EBADMSG, "statement: not JSON of at most %u bytes",
			    SIG_MAX_STATEMENT);
	t = json_get_str(root, "_type");
	pt = json_get_str(root, "predicateType");
	pred = json_get(root, "predicate");
	bd = json_get(pred, "buildDefinition");
	rd = json_get(pred, "runDetails");
	if (!json_is_obj(root) || json_count(root) != 4 || !t || !pt || !json_is_obj(pred))
		rc = util_err(err, errcap, -EBADMSG, "statement: must be exactly {_type, subject, predicateType, predicate}");
	else if (strcmp(t, PROV_STATEMENT_TYPE) != 0 || strcmp(pt, PROV_PREDICATE_TYPE) != 0)
		rc = util_err(err, errcap, -EBADMSG, "statement: not an in-toto v1 SLSA provenance v1 statement");
	else if (!json_is_obj(bd) || !json_get_str(bd, "buildType") || !json_is_obj(rd) ||
		 !json_get_str(json_get(rd, "builder"), "id"))
		rc = util_err(err, errcap, -EBADMSG, "statement: predicate lacks buildDefinition.buildType or runDetails.builder.id");
	else
		rc = check_subjects(json_get(root, "subject"), want_digest, s, err, errcap);
	if (rc == 0 && (git_facts(bd, s) < 0 ||
			cp(s->builder_id, sizeof s->builder_id, json_get(json_get(rd, "builder"), "id")) < 0 ||
			cp(s->finished, sizeof s->finished, json_get(json_get(rd, "metadata"), "finishedOn")) < 0))
		rc = util_err(err, errcap, -EBADMSG, "statement: a source, builder or time field has the wrong type or size");
	json_free(root);
	return rc;
}

/* ---- registry side ---- */

int prov_push(struct reg_client *c, const char *repo, const char *digest, const uint8_t *env,
	      size_t n, char *err, size_t errcap)
{
	if (!env || n > SIG_MAX_ENVELOPE)
		return -EINVAL;
	return sig_attach(c, repo, digest, ".att", SIG_MT_DSSE, env, n, "", PROV_PREDICATE_TYPE,
			  err, errcap);
}

static int verify_att_layer(struct reg_client *c, const char *repo, const struct sig_layer *l,
			    const char *digest, const uint8_t *pub, size_t publen, uint8_t **stmt,
			    size_t *slen, char *err, size_t errcap)
{
	struct prov_summary sum;
	uint8_t *env = NULL;
	size_t n = 0;
	int rc;

	if (l->size > SIG_MAX_ENVELOPE)
		return util_err(err, errcap, -EBADMSG, "envelope %s declares %llu bytes", l->digest,
			    (unsigned long long)l->size);
	rc = reg_get_blob_mem(c, repo, l->digest, SIG_MAX_ENVELOPE, &env, &n);
	if (rc < 0)
		return util_err(err, errcap, rc == -ENOENT ? -EBADMSG : rc, "%s", reg_err(c));
	rc = prov_envelope_open(env, n, pub, publen, stmt, slen, err, errcap);
	if (rc == 0)
		rc = prov_statement_check(*stmt, *slen, digest, &sum, err, errcap);
	if (rc < 0) {
		free(*stmt);
		*stmt = NULL;
		*slen = 0;
	}
	free(env);
	return rc;
}

int prov_verify(struct reg_client *c, const char *repo, const char *digest, const uint8_t *pub,
		size_t publen, uint8_t **stmt, size_t *slen, char *err, size_t errcap)
{
	struct sig_layer *ls = calloc(SIG_MAX_LAYERS, sizeof *ls);
	size_t n = 0, tried = 0;
	int rc;

	*stmt = NULL;
	*slen = 0;
	if (!ls)
		return -ENOMEM;
	rc = sig_att_fetch(c, repo, digest, ".att", ls, &n, err, errcap);
	if (rc < 0)
		goto out;
	rc = -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ls[i].media_type, SIG_MT_DSSE) != 0)
			continue;
		tried++;
		rc = verify_att_layer(c, repo, &ls[i], digest, pub, publen, stmt, slen, err, errcap);
		if (rc != -EBADMSG)
			break;
	}
	if (!tried)
		util_err(err, errcap, rc, "the .att attachment has no %s layer", SIG_MT_DSSE);
out:
	free(ls);
	return rc;
}
