/* SPDX-License-Identifier: MIT */
/*
 * reg_json: the pure half of the registry client (contract in reg.h): image
 * references, manifests, indexes / manifest lists, token responses and
 * WWW-Authenticate challenges. Everything here reads bytes a registry (or whoever sits in
 * front of it) chose, so every string is length-checked before it is copied,
 * every number is checked to be a non-negative integer a double holds
 * exactly, and every count is bounded (REG_MAX_* in limits.h). No I/O; fuzzed
 * by tests/fuzz/fuzz_regjson.c.
 */
#include "reg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "util.h"

/* 2^53: the largest integer range a JSON number read as a double keeps. */
#define REG_JSON_MAX_INT 9007199254740992.0
/* The token lifetime when a response names none (distribution's spec). */
#define REG_TOKEN_DEFAULT_TTL 60u

static int seterr(char *err, size_t cap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int seterr(char *err, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int reg_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != REG_DIGEST_LEN)
		return 0;
	for (const char *c = d + 7; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return 0;
	return 1;
}

/* Copies a string member of at most cap-1 bytes; absent -> "" when
 * optional. -EBADMSG wrong type or missing, -E2BIG too long. */
static int get_str(const json *o, const char *key, char *out, size_t cap, int optional)
{
	const json *v = json_get(o, key);
	const char *s = json_str(v);
	size_t n;

	out[0] = 0;
	if (!v)
		return optional ? 0 : -EBADMSG;
	if (!s)
		return -EBADMSG;
	if ((n = strlen(s)) >= cap)
		return -E2BIG;
	memcpy(out, s, n + 1);
	return 0;
}

/* A non-negative integer member. */
static int get_uint(const json *o, const char *key, uint64_t *out)
{
	const json *v = json_get(o, key);
	double d;

	if (!json_is_num(v))
		return -EBADMSG;
	d = json_num(v);
	if (!(d >= 0) || d > REG_JSON_MAX_INT || d != (double)(uint64_t)d)
		return -EBADMSG;
	*out = (uint64_t)d;
	return 0;
}

/* A descriptor: mediaType, digest (sha256 only), size; with platform when
 * an index entry. what names it in errors. */
static int desc_parse(const json *o, struct reg_desc *d, int platform, const char *what,
		      char *err, size_t cap)
{
	const json *p;
	int rc;

	memset(d, 0, sizeof *d);
	if (!json_is_obj(o))
		return seterr(err, cap, -EBADMSG, "%s is not an object", what);
	if ((rc = get_str(o, "mediaType", d->media_type, sizeof d->media_type, 0)) < 0)
		return seterr(err, cap, rc, "%s: %s mediaType", what,
			      rc == -E2BIG ? "over-long" : "missing or bad");
	if ((rc = get_str(o, "digest", d->digest, sizeof d->digest, 0)) < 0 ||
	    !reg_digest_valid(d->digest))
		return seterr(err, cap, -EBADMSG, "%s: missing or bad digest (sha256 expected)", what);
	if (get_uint(o, "size", &d->size) < 0)
		return seterr(err, cap, -EBADMSG, "%s: missing or bad size", what);
	if (!platform || !(p = json_get(o, "platform")))
		return 0;
	if (!json_is_obj(p))
		return seterr(err, cap, -EBADMSG, "%s: platform is not an object", what);
	if ((rc = get_str(p, "os", d->os, sizeof d->os, 1)) < 0 ||
	    (rc = get_str(p, "architecture", d->arch, sizeof d->arch, 1)) < 0 ||
	    (rc = get_str(p, "variant", d->variant, sizeof d->variant, 1)) < 0)
		return seterr(err, cap, rc, "%s: %s platform field", what,
			      rc == -E2BIG ? "over-long" : "bad");
	return 0;
}

/* json_parse of a registry document of at most max bytes. */
static int parse_doc(const uint8_t *p, size_t n, size_t max, json **j, char *err, size_t cap)
{
	const char *why = NULL;
	int rc;

	*j = NULL;
	if (n > max)
		return seterr(err, cap, -E2BIG, "document of %zu bytes (limit %zu)", n, max);
	if ((rc = json_parse((const char *)p, n, j, &why)) < 0)
		return seterr(err, cap, rc == -E2BIG ? -E2BIG : -EBADMSG, "bad JSON: %s",
			      why ? why : "too deep");
	if (!json_is_obj(*j)) {
		json_free(*j);
		*j = NULL;
		return seterr(err, cap, -EBADMSG, "not a JSON object");
	}
	return 0;
}

static int schema2(const json *j)
{
	uint64_t v;

	return get_uint(j, "schemaVersion", &v) == 0 && v == 2;
}

static int is_index_mt(const char *mt)
{
	return strcmp(mt, REG_MT_OCI_INDEX) == 0 || strcmp(mt, REG_MT_DOCKER_LIST) == 0;
}

static int layer_type_ok(const char *mt)
{
	static const char *const ok[] = {
		"application/vnd.oci.image.layer.v1.tar",
		REG_MT_OCI_LAYER_GZ,
		"application/vnd.docker.image.rootfs.diff.tar",
		REG_MT_DOCKER_LAYER,
	};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(mt, ok[i]) == 0)
			return 1;
	return 0;
}

static int layers_parse(const json *arr, struct reg_manifest *m, char *err, size_t cap)
{
	size_t n = json_count(arr), i = 0;
	char what[32];
	int rc;

	if (!json_is_arr(arr))
		return seterr(err, cap, -EBADMSG, "layers is not an array");
	if (n > REG_MAX_LAYERS)
		return seterr(err, cap, -E2BIG, "%zu layers (limit %d)", n, REG_MAX_LAYERS);
	if (n && !(m->layers = calloc(n, sizeof *m->layers)))
		return seterr(err, cap, -ENOMEM, "out of memory");
	for (const json *l = json_child(arr); l; l = json_next(l), i++) {
		snprintf(what, sizeof what, "layer %zu", i);
		if ((rc = desc_parse(l, &m->layers[i], 0, what, err, cap)) < 0)
			return rc;
		if (!layer_type_ok(m->layers[i].media_type))
			return seterr(err, cap, -EBADMSG, "layer %zu: media type %s is not a tar layer",
				      i, m->layers[i].media_type);
	}
	m->nlayers = n;
	return 0;
}

int reg_manifest_parse(const uint8_t *p, size_t n, struct reg_manifest *m, char *err, size_t errcap)
{
	json *j = NULL;
	int rc;

	memset(m, 0, sizeof *m);
	if ((rc = parse_doc(p, n, REG_MAX_MANIFEST, &j, err, errcap)) < 0)
		return rc;
	rc = -EBADMSG;
	if (!schema2(j)) {
		seterr(err, errcap, rc, "schemaVersion is not 2");
		goto out;
	}
	if ((rc = get_str(j, "mediaType", m->media_type, sizeof m->media_type, 1)) < 0) {
		seterr(err, errcap, -EBADMSG, "bad mediaType");
		rc = -EBADMSG;
		goto out;
	}
	if (!m->media_type[0])
		strcpy(m->media_type, REG_MT_OCI_MANIFEST);     /* OCI allows it absent */
	rc = -EBADMSG;
	if (strcmp(m->media_type, REG_MT_OCI_MANIFEST) != 0 &&
	    strcmp(m->media_type, REG_MT_DOCKER_MANIFEST) != 0) {
		seterr(err, errcap, rc, "not an image manifest: %s", m->media_type);
		goto out;
	}
	if (!json_get(j, "config")) {
		seterr(err, errcap, rc, "no config");
		goto out;
	}
	if ((rc = desc_parse(json_get(j, "config"), &m->config, 0, "config", err, errcap)) < 0)
		goto out;
	if (!json_get(j, "layers")) {
		rc = seterr(err, errcap, -EBADMSG, "no layers");
		goto out;
	}
	rc = layers_parse(json_get(j, "layers"), m, err, errcap);
out:
	json_free(j);
	if (rc < 0)
		reg_manifest_free(m);
	return rc;
}

void reg_manifest_free(struct reg_manifest *m)
{
	free(m->layers);
	m->layers = NULL;
	m->nlayers = 0;
}

/* 1 index, 0 not, of a parsed document. */
static int doc_is_index(const json *j)
{
	const char *mt = json_get_str(j, "mediaType");

	if (mt)
		return is_index_mt(mt);
	return json_get(j, "mediaType") ? -EBADMSG : json_is_arr(json_get(j, "manifests"));
}

int reg_is_index(const uint8_t *p, size_t n)
{
	json *j = NULL;
	int rc;

	if ((rc = parse_doc(p, n, REG_MAX_MANIFEST, &j, NULL, 0)) < 0)
		return rc;
	rc = doc_is_index(j);
	json_free(j);
	return rc;
}

/* How well an entry fits: 0 not at all, 1 os/arch fit (variant not asked,
 * entry has one), 2 exact. arm64's "v8" is its default variant. */
static int fit(const struct reg_desc *d, const char *os, const char *arch, const char *variant)
{
	const char *v = d->variant;

	if (strcmp(d->os, os) != 0 || strcmp(d->arch, arch) != 0)
		return 0;
	if (strcmp(arch, "arm64") == 0) {
		if (strcmp(v, "v8") == 0)
			v = "";
		if (variant && strcmp(variant, "v8") == 0)
			variant = "";
	}
	if (variant && variant[0])
		return strcmp(v, variant) == 0 ? 2 : 0;
	return v[0] ? 1 : 2;
}

/* Appends "os/arch[/variant]" to the list of platforms in err. */
static void list_add(char *err, size_t cap, const struct reg_desc *d, int *first)
{
	size_t l;

	if (!err || !cap || (l = strlen(err)) + 1 >= cap)
		return;
	snprintf(err + l, cap - l, "%s%s/%s%s%s", *first ? "" : ", ", d->os[0] ? d->os : "?",
		 d->arch[0] ? d->arch : "?", d->variant[0] ? "/" : "", d->variant);
	*first = 0;
}

int reg_index_pick(const uint8_t *p, size_t n, const char *os, const char *arch,
		   const char *variant, struct reg_desc *out, char *err, size_t errcap)
{
	const json *arr;
	json *j = NULL;
	struct reg_desc d;
	int rc, best = 0, first = 1;
	size_t i = 0;
	char what[40];

	memset(out, 0, sizeof *out);
	if (!os || !arch)
		return seterr(err, errcap, -EINVAL, "no platform asked for");
	if ((rc = parse_doc(p, n, REG_MAX_MANIFEST, &j, err, errcap)) < 0)
		return rc;
	rc = -EBADMSG;
	if (doc_is_index(j) != 1 || !schema2(j)) {
		seterr(err, errcap, rc, "not an index with schemaVersion 2");
		goto out;
	}
	arr = json_get(j, "manifests");
	if (!json_is_arr(arr)) {
		seterr(err, errcap, rc, "manifests is not an array");
		goto out;
	}
	if (json_count(arr) > REG_MAX_INDEX) {
		rc = seterr(err, errcap, -E2BIG, "%zu index entries (limit %d)", json_count(arr),
			    REG_MAX_INDEX);
		goto out;
	}
	for (const json *e = json_child(arr); e; e = json_next(e), i++) {
		int f;

		snprintf(what, sizeof what, "index entry %zu", i);
		if ((rc = desc_parse(e, &d, 1, what, err, errcap)) < 0)
			goto out;
		/* only image manifests; attestations say "unknown/unknown" */
		if (is_index_mt(d.media_type) || strcmp(d.os, "unknown") == 0)
			continue;
		if ((f = fit(&d, os, arch, variant)) > best) {
			best = f;
			*out = d;
		}
	}
	rc = 0;
	if (best)
		goto out;
	rc = seterr(err, errcap, -ENOENT, "no %s/%s%s%s in the index; it has: ", os, arch,
		    variant && variant[0] ? "/" : "", variant ? variant : "");
	for (const json *e = json_child(arr); e; e = json_next(e))
		if (desc_parse(e, &d, 1, "", NULL, 0) == 0 && !is_index_mt(d.media_type) &&
		    strcmp(d.os, "unknown") != 0)
			list_add(err, errcap, &d, &first);
	if (first && err && errcap)
		seterr(err + strlen(err), errcap - strlen(err), 0, "no image manifest");
out:
	json_free(j);
	return rc;
}

/* ---- references ------------------------------------------------------------ */

static int is_alnum_lc(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* distribution's path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static int component_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t r = i;

		while (i < n && is_alnum_lc(s[i]))
			i++;
		if (i == r)
			return 0;
		if (i == n)
			return 1;
		r = i;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		else
			while (i < n && s[i] == '-')
				i++;
		if (i == r || i == n)
			return 0;
	}
	return n > 0;
}

int reg_repo_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > REG_MAX_REPO)
		return 0;
	for (const char *p = s, *e; p <= s + n; p = e + 1) {
		e = strchr(p, '/');
		if (!e)
			e = s + n;
		if (!component_ok(p, (size_t)(e - p)))
			return 0;
	}
	return 1;
}

static int tag_okn(const char *s, size_t n)
{
	if (!n || n > REG_MAX_TAG)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];

		if (!(is_alnum_lc(ch) || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
		      (i && (ch == '.' || ch == '-'))))
			return 0;
	}
	return 1;
}

static int host_ok(const char *s, size_t n)
{
	if (!n || n > HCL_MAX_HOST + 6)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(is_alnum_lc(s[i]) || (s[i] >= 'A' && s[i] <= 'Z') || strchr(".-:[]", s[i])))
			return 0;
	return 1;
}

static int ref_fail(char *err, size_t cap, const char *why)
{
	if (err && cap)
		snprintf(err, cap, "bad image reference: %s", why);
	return -EINVAL;
}

int reg_tag_valid(const char *s)
{
	return s && tag_okn(s, strlen(s));
}

int reg_ref_parse(const char *s, const char *default_host, struct reg_ref *r, char *err,
		  size_t errcap)
{
	const char *at, *slash, *name, *colon;
	size_t n;

	memset(r, 0, sizeof *r);
	if (!s || !(n = strlen(s)) || n > sizeof r->host + REG_MAX_REPO + REG_MAX_TAG + REG_DIGEST_LEN + 3)
		return ref_fail(err, errcap, "empty or too long");
	if ((at = strchr(s, '@'))) {
		if (!reg_digest_valid(at + 1))
			return ref_fail(err, errcap, "digest is not sha256:<64 hex>");
		memcpy(r->digest, at + 1, REG_DIGEST_LEN + 1);
		n = (size_t)(at - s);
	}
	name = s;
	slash = memchr(s, '/', n);
	if (slash && (memchr(s, '.', (size_t)(slash - s)) || memchr(s, ':', (size_t)(slash - s)) ||
		      ((size_t)(slash - s) == 9 && strncmp(s, "localhost", 9) == 0))) {
		if (!host_ok(s, (size_t)(slash - s)))
			return ref_fail(err, errcap, "bad registry host");
		memcpy(r->host, s, (size_t)(slash - s));
		name = slash + 1;
		n -= (size_t)(name - s);
	} else {
		snprintf(r->host, sizeof r->host, "%s", default_host ? default_host : "docker.io");
	}
	colon = memchr(name, ':', n);
	if (colon && !memchr(colon, '/', n - (size_t)(colon - name))) {
		if (!tag_okn(colon + 1, n - (size_t)(colon - name) - 1))
			return ref_fail(err, errcap, "bad tag");
		memcpy(r->tag, colon + 1, n - (size_t)(colon - name) - 1);
		n = (size_t)(colon - name);
	}
	if ((strcmp(r->host, "docker.io") == 0 || strcmp(r->host, "index.docker.io") == 0) &&
	    !memchr(name, '/', n) && n + 8 <= REG_MAX_REPO)
		snprintf(r->repo, sizeof r->repo, "library/%.*s", (int)n, name);
	else if (n <= REG_MAX_REPO)
		memcpy(r->repo, name, n);
	if (!reg_repo_valid(r->repo))
		return ref_fail(err, errcap, "bad repository name (lower-case a-z0-9 ._- components)");
	if (!r->tag[0] && !r->digest[0])
		strcpy(r->tag, "latest");
	return 0;
}

int reg_ref_format(const struct reg_ref *r, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s%s%s%s%s", r->host, r->repo, r->tag[0] ? ":" : "", r->tag,
			 r->digest[0] ? "@" : "", r->digest);

	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

/* ---- WWW-Authenticate ------------------------------------------------------ */

static int is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* One auth-param value (token or quoted-string) at *s into out; -E2BIG when
 * it does not fit, -EBADMSG on bad syntax. Advances *s. */
static int param_value(const char **s, char *out, size_t cap)
{
	const char *c = *s;
	size_t o = 0;

	if (*c == '"') {
		for (c++; *c != '"'; c++) {
			if (!*c || (unsigned char)*c < 0x20 || *c == 0x7f)
				return -EBADMSG;
			if (*c == '\\' && !*++c)
				return -EBADMSG;
			if (o + 1 >= cap)
				return -E2BIG;
			out[o++] = *c;
		}
		c++;
	} else {
		for (; is_tchar(*c) || *c == '/' || *c == ':' || *c == '='; c++) {
			if (o + 1 >= cap)
				return -E2BIG;
			out[o++] = *c;
		}
		if (!o)
			return -EBADMSG;
	}
	out[o] = 0;
	*s = c;
	return 0;
}

int reg_challenge_parse(const char *v, struct reg_challenge *c)
{
	const char *s = v;
	char name[32], junk[HCL_MAX_URL + 1];
	size_t n = 0;
	int rc;

	memset(c, 0, sizeof *c);
	while (*s == ' ' || *s == '\t')
		s++;
	while (is_tchar(s[n]))
		n++;
	if (n == 5 && strncasecmp(s, "Basic", 5) == 0)
		strcpy(c->scheme, "Basic");
	else if (n == 6 && strncasecmp(s, "Bearer", 6) == 0)
		strcpy(c->scheme, "Bearer");
	else
		return -ENOTSUP;
	for (s += n;;) {
		char *dst = junk;
		size_t cap = sizeof junk;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (!*s)
			return 0;
		for (n = 0; is_tchar(s[n]); n++)
			;
		if (!n || n >= sizeof name)
			return -EBADMSG;
		memcpy(name, s, n);
		name[n] = 0;
		for (s += n; *s == ' ' || *s == '\t'; s++)
			;
		if (*s != '=')
			return 0;       /* the next challenge begins: ours is complete */
		for (s++; *s == ' ' || *s == '\t'; s++)
			;
		if (strcasecmp(name, "realm") == 0)
			dst = c->realm, cap = sizeof c->realm;
		else if (strcasecmp(name, "service") == 0)
			dst = c->service, cap = sizeof c->service;
		else if (strcasecmp(name, "scope") == 0)
			dst = c->scope, cap = sizeof c->scope;
		if ((rc = param_value(&s, dst, cap)) < 0)
			return rc;
		if (*s && *s != ',' && *s != ' ' && *s != '\t')
			return -EBADMSG;
	}
}

/* ---- token responses ------------------------------------------------------- */

int reg_token_parse(const uint8_t *p, size_t n, char *tok, size_t cap, unsigned *expires_in)
{
	json *j = NULL;
	const json *e;
	const char *t;
	size_t tl;
	uint64_t ttl = REG_TOKEN_DEFAULT_TTL;
	int rc;

	if (cap)
		tok[0] = 0;
	*expires_in = 0;
	if ((rc = parse_doc(p, n, REG_MAX_TOKEN, &j, NULL, 0)) < 0)
		goto out;
	rc = -EBADMSG;
	t = json_get_str(j, "token");
	if (!t || !t[0])
		t = json_get_str(j, "access_token");
	if (!t || !(tl = strlen(t)))
		goto out;
	/* it goes into a header: visible ASCII only */
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			goto out;
	if ((e = json_get(j, "expires_in")) && get_uint(j, "expires_in", &ttl) < 0)
		goto out;
	if (ttl == 0)
		ttl = REG_TOKEN_DEFAULT_TTL;
	if (tl >= cap) {
		rc = -E2BIG;
		goto out;
	}
	memcpy(tok, t, tl + 1);
	*expires_in = ttl > REG_TOKEN_MAX_TTL ? REG_TOKEN_MAX_TTL : (unsigned)ttl;
	rc = 0;
out:
	json_free_secret(j);
	return rc;
}
