/* SPDX-License-Identifier: MIT */
/*
 * sigstore: cosign's simple-signing payload and the tag-attachment manifests
 * (sha256-<hex>.sig / .att) as ../shared/SIGSTORE.md describes them: the
 * payload builder and its strict checker, the strict parser of attachment
 * manifests, the (appending) manifest builder, and the push and verify of
 * the .sig attachment. Everything a registry sends is untrusted: sizes are
 * checked against SIG_* limits before parsing, field sets are exact where
 * containers/image makes them exact, and a signature is accepted only after
 * cry_verify_sha256 over SHA-256 of the payload bytes fetched by digest.
 * No secret passes through here (signing is the caller's callback).
 */
#include "sigstore.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "limits.h"
#include "util.h"

#ifndef SBS_VERSION
#define SBS_VERSION "0"
#endif

/* "sha256:" + 64 lower-case hex (own copy: the pure parts link without reg.c). */
static int digest_ok(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != REG_DIGEST_LEN)
		return 0;
	for (size_t i = 7; i < REG_DIGEST_LEN; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
			return 0;
	return 1;
}

static void digest_of(const uint8_t *p, size_t n, char out[static REG_DIGEST_LEN + 1])
{
	uint8_t h[32];

	cry_sha256(p, n, h);
	memcpy(out, "sha256:", 7);
	cry_hex(h, sizeof h, out + 7);
}

/* obj is an object whose members are exactly names[0..n). */
static int exact_keys(const json *obj, const char *const *names, size_t n)
{
	if (!json_is_obj(obj) || json_count(obj) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!json_get(obj, names[i]))
			return 0;
	return 1;
}

/* obj's members are all in names[0..n). */
static int known_keys(const json *obj, const char *const *names, size_t n)
{
	for (const json *m = json_child(obj); m; m = json_next(m)) {
		size_t i;

		for (i = 0; i < n && strcmp(json_key(m), names[i]) != 0; i++)
			;
		if (i == n)
			return 0;
	}
	return 1;
}

/* A JSON integer in [0, max] (doubles hold integers exactly below 2^53). */
static int int_ok(const json *j, double max, uint64_t *out)
{
	double d = json_num(j);

	if (!json_is_num(j) || d < 0 || d > max || d != (double)(uint64_t)d)
		return 0;
	if (out)
		*out = (uint64_t)d;
	return 1;
}

static int print_to(const json *j, struct buf *out)
{
	char *t = json_print(j);
	int rc;

	if (!t)
		return -ENOMEM;
	rc = buf_append(out, t, strlen(t));
	free(t);
	return rc;
}

/* ---- payload ---- */

int sig_payload(const char *docker_ref, const char *digest, int64_t ts, struct buf *out)
{
	json *root = json_new_obj(), *crit = json_new_obj(), *id = json_new_obj();
	json *img = json_new_obj(), *opt = json_new_obj();
	int rc = -ENOMEM;

	if (!docker_ref || !*docker_ref || strlen(docker_ref) > SIG_MAX_FIELD || !digest_ok(digest) ||
	    ts < 0) {
		rc = -EINVAL;
		goto out;
	}
	if (!root || !crit || !id || !img || !opt)
		goto out;
	if (json_set_str(id, "docker-reference", docker_ref) < 0 ||
	    json_set_str(img, "docker-manifest-digest", digest) < 0 ||
	    json_set_str(opt, "creator", "sbs " SBS_VERSION) < 0 ||
	    json_set_num(opt, "timestamp", (double)ts) < 0)
		goto out;
	rc = json_set(crit, "identity", id);
	id = NULL;
	if (rc == 0)
		rc = json_set(crit, "image", img);
	img = NULL;
	if (rc == 0)
		rc = json_set_str(crit, "type", SIG_TYPE_COSIGN);
	if (rc == 0)
		rc = json_set(root, "critical", crit);
	crit = NULL;
	if (rc == 0)
		rc = json_set(root, "optional", opt);
	opt = NULL;
	if (rc == 0)
		rc = print_to(root, out);
out:
	json_free(root);
	json_free(crit);
	json_free(id);
	json_free(img);
	json_free(opt);
	return rc;
}

/* The repository part of a docker reference: without "@digest" and without
 * a ":tag" after the last '/'. */
static size_t ref_repo_len(const char *ref)
{
	const char *at = strchr(ref, '@'), *slash, *colon;
	size_t n = at ? (size_t)(at - ref) : strlen(ref);

	slash = memrchr(ref, '/', n);
	colon = memrchr(slash ? slash : ref, ':', n - (size_t)((slash ? slash : ref) - ref));
	if (colon && slash)
		n = (size_t)(colon - ref);
	return n;
}

/* The reference's repository is want ("host/repo"); Docker Hub's two
 * host names are one registry (cosign writes index.docker.io/...). */
static int same_repo(const char *ref, const char *want)
{
	static const char hub[] = "docker.io/", ihub[] = "index.docker.io/";
	size_t n = ref_repo_len(ref);

	if (strncmp(ref, ihub, sizeof ihub - 1) == 0 && strncmp(want, hub, sizeof hub - 1) == 0) {
		ref += sizeof ihub - sizeof hub;
		n -= sizeof ihub - sizeof hub;
	} else if (strncmp(ref, hub, sizeof hub - 1) == 0 && strncmp(want, ihub, sizeof ihub - 1) == 0) {
		want += sizeof ihub - sizeof hub;
	}
	return n == strlen(want) && strncmp(ref, want, n) == 0;
}

static int check_optional(const json *opt, char *err, size_t errcap)
{
	const json *cr = json_get(opt, "creator"), *ts = json_get(opt, "timestamp");

	if (json_is_null(opt))
		return 0;
	if (!json_is_obj(opt))
		return util_err(err, errcap, -EBADMSG, "payload: optional is not an object or null");
	if (cr && !json_is_str(cr))
		return util_err(err, errcap, -EBADMSG, "payload: optional.creator is not a string");
	if (ts && !int_ok(ts, 9007199254740991.0, NULL))
		return util_err(err, errcap, -EBADMSG, "payload: optional.timestamp is not an integer");
	return 0;
}

static int check_critical(const json *crit, const char *want_digest, const char *want_repo,
			  char *err, size_t errcap)
{
	static const char *const ck[] = { "type", "image", "identity" };
	static const char *const ik[] = { "docker-manifest-digest" };
	static const char *const dk[] = { "docker-reference" };
	const json *img = json_get(crit, "image"), *id = json_get(crit, "identity");
	const char *type = json_get_str(crit, "type"), *d, *ref;

	if (!exact_keys(crit, ck, 3))
		return util_err(err, errcap, -EBADMSG, "payload: critical must have exactly type, image, identity");
	if (!type || strcmp(type, SIG_TYPE_COSIGN) != 0)
		return util_err(err, errcap, -EBADMSG, "payload: critical.type is not \"%s\"", SIG_TYPE_COSIGN);
	if (!exact_keys(img, ik, 1) || !(d = json_get_str(img, ik[0])))
		return util_err(err, errcap, -EBADMSG, "payload: critical.image must be exactly {docker-manifest-digest: string}");
	if (!exact_keys(id, dk, 1) || !(ref = json_get_str(id, dk[0])))
		return util_err(err, errcap, -EBADMSG, "payload: critical.identity must be exactly {docker-reference: string}");
	if (!digest_ok(d))
		return util_err(err, errcap, -EBADMSG, "payload: docker-manifest-digest is not sha256:<64 hex>");
	if (want_digest && strcmp(d, want_digest) != 0)
		return util_err(err, errcap, -EBADMSG, "payload signs %s, not the image %s", d, want_digest);
	if (want_repo && !same_repo(ref, want_repo))
		return util_err(err, errcap, -EBADMSG, "payload names %.300s, not the repository %.300s",
			    ref, want_repo);
	return 0;
}

int sig_payload_check(const uint8_t *p, size_t n, const char *want_digest, const char *want_repo,
		      char *err, size_t errcap)
{
	static const char *const rk[] = { "critical", "optional" };
	const char *jerr = NULL;
	json *root = NULL;
	int rc;

	if (!p || n > SIG_MAX_PAYLOAD)
		return util_err(err, errcap, -EBADMSG, "payload: over %u bytes", SIG_MAX_PAYLOAD);
	if (json_parse((const char *)p, n, &root, &jerr) < 0)
		return util_err(err, errcap, -EBADMSG, "payload: not JSON (%s)", jerr ? jerr : "too deep");
	if (!exact_keys(root, rk, 2))
		rc = util_err(err, errcap, -EBADMSG, "payload: must have exactly critical and optional");
	else
		rc = check_critical(json_get(root, "critical"), want_digest, want_repo, err, errcap);
	if (rc == 0)
		rc = check_optional(json_get(root, "optional"), err, errcap);
	json_free(root);
	return rc;
}

int sig_tag(const char *digest, const char *suffix, char *out, size_t cap)
{
	int k;

	if (!digest_ok(digest) || !suffix)
		return -EINVAL;
	k = snprintf(out, cap, "sha256-%s%s", digest + 7, suffix);
	return k < 0 || (size_t)k >= cap ? -ENOSPC : 0;
}

/* ---- attachment manifests ---- */

static int copy_str(char *dst, size_t cap, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!s || n >= cap)
		return 0;
	memcpy(dst, s, n + 1);
	return 1;
}

/* A descriptor: known members only, typed; annotations all strings. */
static int desc_parse(const json *d, struct sig_layer *l, char *err, size_t errcap)
{
	static const char *const dk[] = { "mediaType", "digest", "size", "annotations", "urls",
					   "data", "artifactType", "platform" };
	const json *ann = json_get(d, "annotations");

	if (!json_is_obj(d) || !known_keys(d, dk, sizeof dk / sizeof dk[0]))
		return util_err(err, errcap, -EBADMSG, "descriptor: not an object of descriptor members");
	if (!copy_str(l->media_type, sizeof l->media_type, json_get_str(d, "mediaType")))
		return util_err(err, errcap, -EBADMSG, "descriptor: bad mediaType");
	if (!digest_ok(json_get_str(d, "digest")))
		return util_err(err, errcap, -EBADMSG, "descriptor: digest is not sha256:<64 hex>");
	strcpy(l->digest, json_get_str(d, "digest"));
	if (!int_ok(json_get(d, "size"), 9007199254740991.0, &l->size))
		return util_err(err, errcap, -EBADMSG, "descriptor: size is not a non-negative integer");
	l->sig[0] = 0;
	if (ann && !json_is_obj(ann))
		return util_err(err, errcap, -EBADMSG, "descriptor: annotations is not an object");
	for (const json *a = json_child(ann); a; a = json_next(a))
		if (!json_is_str(a))
			return util_err(err, errcap, -EBADMSG, "descriptor: annotation %.64s is not a string",
				    json_key(a));
	if (ann && json_get(ann, SIG_ANN_SIGNATURE) &&
	    !copy_str(l->sig, sizeof l->sig, json_get_str(ann, SIG_ANN_SIGNATURE)))
		return util_err(err, errcap, -EBADMSG, "descriptor: signature annotation over %u bytes",
			    SIG_MAX_B64SIG);
	return 0;
}

/* Parses and checks; *root owns the tree on success. */
static int att_tree(const uint8_t *p, size_t n, json **root, char *err, size_t errcap)
{
	static const char *const mk[] = { "schemaVersion", "mediaType", "artifactType", "config",
					   "layers", "subject", "annotations" };
	const char *jerr = NULL, *mt;
	const json *layers;
	uint64_t v = 0;

	*root = NULL;
	if (n > SIG_MAX_ATT_MANIFEST)
		return util_err(err, errcap, -E2BIG, "attachment manifest over %u bytes", SIG_MAX_ATT_MANIFEST);
	if (json_parse((const char *)p, n, root, &jerr) < 0)
		return util_err(err, errcap, -EBADMSG, "attachment manifest: not JSON (%s)",
			    jerr ? jerr : "too deep");
	mt = json_get_str(*root, "mediaType");
	layers = json_get(*root, "layers");
	if (!json_is_obj(*root) || !known_keys(*root, mk, sizeof mk / sizeof mk[0]))
		return util_err(err, errcap, -EBADMSG, "attachment manifest: unknown members");
	if (!int_ok(json_get(*root, "schemaVersion"), 2, &v) || v != 2)
		return util_err(err, errcap, -EBADMSG, "attachment manifest: schemaVersion is not 2");
	if (json_get(*root, "mediaType") && (!mt || strcmp(mt, REG_MT_OCI_MANIFEST) != 0))
		return util_err(err, errcap, -EBADMSG, "attachment manifest: not an OCI image manifest");
	if (!json_is_arr(layers) || json_count(layers) > SIG_MAX_LAYERS)
		return util_err(err, errcap, -EBADMSG, "attachment manifest: layers missing or over %u",
			    SIG_MAX_LAYERS);
	return 0;
}

int sig_att_parse(const uint8_t *p, size_t n, struct sig_layer *layers, size_t *nlayers,
		  char *err, size_t errcap)
{
	struct sig_layer cfg;
	json *root = NULL;
	size_t k = 0;
	int rc = att_tree(p, n, &root, err, errcap);

	if (rc == 0)
		rc = desc_parse(json_get(root, "config"), &cfg, err, errcap);
	for (const json *l = json_child(json_get(root, "layers")); rc == 0 && l; l = json_next(l))
		rc = desc_parse(l, &layers[k++], err, errcap);
	*nlayers = rc == 0 ? k : 0;
	json_free(root);
	return rc;
}

static int config_json(const json *layers, const char *extra, struct buf *out)
{
	static const char zero[] = "0001-01-01T00:00:00Z";
	json *c = json_new_obj(), *hist = json_new_arr(), *rootfs = json_new_obj();
	json *ids = json_new_arr(), *h;
	int rc = (c && hist && rootfs && ids) ? 0 : -ENOMEM;

	for (const json *l = json_child(layers); rc == 0 && l; l = json_next(l)) {
		rc = json_arr_add_str(ids, json_get_str(l, "digest"));
		if (rc == 0 && (h = json_new_obj()) == NULL)
			rc = -ENOMEM;
		if (rc == 0 && (rc = json_arr_add(hist, h)) == 0)
			rc = json_set_str(h, "created", zero);
	}
	if (rc == 0 && extra) {
		rc = json_arr_add_str(ids, extra);
		if (rc == 0 && (h = json_new_obj()) == NULL)
			rc = -ENOMEM;
		if (rc == 0 && (rc = json_arr_add(hist, h)) == 0)
			rc = json_set_str(h, "created", zero);
	}
	if (rc == 0 && (rc = json_set_str(c, "architecture", "")) == 0 &&
	    (rc = json_set_str(c, "created", zero)) == 0) {
		rc = json_set(c, "history", hist);
		hist = NULL;
	}
	if (rc == 0 && (rc = json_set_str(c, "os", "")) == 0 &&
	    (rc = json_set_str(rootfs, "type", "layers")) == 0) {
		rc = json_set(rootfs, "diff_ids", ids);
		ids = NULL;
		if (rc == 0) {
			rc = json_set(c, "rootfs", rootfs);
			rootfs = NULL;
		}
	}
	if (rc == 0)
		rc = json_set(c, "config", json_new_obj());
	if (rc == 0)
		rc = print_to(c, out);
	json_free(c);
	json_free(hist);
	json_free(rootfs);
	json_free(ids);
	return rc;
}

static json *desc_new(const char *mt, const char *digest, uint64_t size)
{
	json *d = json_new_obj();

	if (d && (json_set_str(d, "mediaType", mt) < 0 || json_set_num(d, "size", (double)size) < 0 ||
		  json_set_str(d, "digest", digest) < 0)) {
		json_free(d);
		d = NULL;
	}
	return d;
}

static json *layer_new(const struct sig_new_layer *l)
{
	json *d = desc_new(l->media_type, l->digest, l->size), *ann = json_new_obj();

	if (!d || !ann || json_set_str(ann, SIG_ANN_SIGNATURE, l->sig_b64 ? l->sig_b64 : "") < 0 ||
	    (l->predicate && json_set_str(ann, SIG_ANN_PREDICATE, l->predicate) < 0)) {
		json_free(d);
		json_free(ann);
		return NULL;
	}
	if (json_set(d, "annotations", ann) < 0) {
		json_free(d);
		return NULL;
	}
	return d;
}

/* The manifest: schemaVersion, mediaType, config, layers (old ones as they were). */
static int manifest_json(const json *old_layers, json *newl, const struct buf *config,
			 struct buf *out)
{
	char cd[REG_DIGEST_LEN + 1];
	json *m = json_new_obj(), *arr = json_new_arr(), *cfg;
	int rc = m && arr ? 0 : -ENOMEM;

	digest_of(config->data, config->len, cd);
	for (const json *l = json_child(old_layers); rc == 0 && l; l = json_next(l))
		rc = json_arr_add(arr, json_dup(l));
	if (rc == 0)
		rc = json_arr_add(arr, newl);
	else
		json_free(newl);
	if (rc == 0 && (rc = json_set_num(m, "schemaVersion", 2)) == 0)
		rc = json_set_str(m, "mediaType", REG_MT_OCI_MANIFEST);
	if (rc == 0 && !(cfg = desc_new(REG_MT_OCI_CONFIG, cd, config->len)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = json_set(m, "config", cfg);
	if (rc == 0) {
		rc = json_set(m, "layers", arr);
		arr = NULL;
	}
	if (rc == 0)
		rc = print_to(m, out);
	json_free(m);
	json_free(arr);
	return rc;
}

int sig_att_build(const uint8_t *old, size_t oldn, const struct sig_new_layer *l,
		  struct buf *config, struct buf *manifest, char *err, size_t errcap)
{
	json *root = NULL, *newl;
	const json *layers = NULL;
	int rc = 0;

	if (!l || !l->media_type || !digest_ok(l->digest))
		return -EINVAL;
	if (old) {
		struct sig_layer tmp;

		rc = att_tree(old, oldn, &root, err, errcap);
		layers = json_get(root, "layers");
		for (const json *x = json_child(layers); rc == 0 && x; x = json_next(x)) {
			rc = desc_parse(x, &tmp, err, errcap);
			if (rc == 0 && strcmp(tmp.digest, l->digest) == 0) {
				json_free(root);
				return 1;
			}
		}
		if (rc == 0 && json_count(layers) >= SIG_MAX_LAYERS)
			rc = util_err(err, errcap, -E2BIG, "attachment already has %u layers",
				  SIG_MAX_LAYERS);
	}
	if (rc == 0)
		rc = config_json(layers, l->digest, config);
	if (rc == 0)
		rc = (newl = layer_new(l)) ? manifest_json(layers, newl, config, manifest) : -ENOMEM;
	json_free(root);
	return rc;
}

/* ---- registry side ---- */

int sig_att_fetch(struct reg_client *c, const char *repo, const char *digest, const char *suffix,
		  struct sig_layer *layers, size_t *nlayers, char *err, size_t errcap)
{
	char tag[REG_MAX_TAG + 1], d[REG_DIGEST_LEN + 1], mt[REG_MAX_MEDIATYPE + 1];
	uint8_t *body = NULL;
	size_t len = 0;
	int rc = sig_tag(digest, suffix, tag, sizeof tag);

	*nlayers = 0;
	if (rc < 0)
		return util_err(err, errcap, -EINVAL, "not an image digest: %.80s", digest);
	rc = reg_get_manifest(c, repo, tag, NULL, NULL, &body, &len, d, mt);
	if (rc == -ENOENT)
		return util_err(err, errcap, rc, "no %s attachment for %s in %.255s", suffix, digest, repo);
	if (rc < 0)
		return util_err(err, errcap, rc, "%s", reg_err(c));
	rc = sig_att_parse(body, len, layers, nlayers, err, errcap);
	free(body);
	return rc;
}

int sig_attach(struct reg_client *c, const char *repo, const char *digest, const char *suffix,
	       const char *mt, const uint8_t *blob, size_t n, const char *sig_b64,
	       const char *pred, char *err, size_t errcap)
{
	char tag[REG_MAX_TAG + 1], bd[REG_DIGEST_LEN + 1], cd[REG_DIGEST_LEN + 1];
	char od[REG_DIGEST_LEN + 1], omt[REG_MAX_MEDIATYPE + 1];
	struct buf cfg = { .max = SIG_MAX_ATT_MANIFEST }, man = { .max = SIG_MAX_ATT_MANIFEST };
	struct sig_new_layer l = { mt, bd, n, sig_b64, pred };
	uint8_t *old = NULL;
	size_t oldn = 0;
	int rc = sig_tag(digest, suffix, tag, sizeof tag);

	if (rc < 0)
		return util_err(err, errcap, -EINVAL, "not an image digest: %.80s", digest);
	digest_of(blob, n, bd);
	rc = reg_get_manifest(c, repo, tag, NULL, NULL, &old, &oldn, od, omt);
	if (rc == -ENOENT) {
		old = NULL;
		rc = 0;
	} else if (rc < 0) {
		return util_err(err, errcap, rc, "%s", reg_err(c));
	}
	rc = sig_att_build(old, oldn, &l, &cfg, &man, err, errcap);
	if (rc == 1) {
		rc = 0;     /* this very layer is there already */
		goto out;
	}
	if (rc == 0 && (rc = reg_push_blob_mem(c, repo, blob, n, bd)) == 0 &&
	    (rc = reg_push_blob_mem(c, repo, cfg.data, cfg.len, cd)) == 0)
		rc = reg_put_manifest(c, repo, tag, REG_MT_OCI_MANIFEST, man.data, man.len, NULL);
	if (rc < 0 && rc != -EBADMSG && rc != -E2BIG)
		util_err(err, errcap, rc, "%s", reg_err(c));
out:
	free(old);
	buf_free(&cfg);
	buf_free(&man);
	return rc;
}

int sig_push_signature(struct reg_client *c, const char *repo, const char *ref,
		       const char *digest, int64_t ts, sig_sign_fn sign, void *sctx,
		       char *err, size_t errcap)
{
	struct buf pl = { .max = SIG_MAX_PAYLOAD };
	uint8_t h[32], sig[SIG_MAX];
	char b64[SIG_MAX_B64SIG + 1];
	size_t siglen = 0, blen = 0;
	int rc = sig_payload(ref, digest, ts, &pl);

	if (rc < 0) {
		util_err(err, errcap, rc, "cannot make the signature payload");
		goto out;
	}
	cry_sha256(pl.data, pl.len, h);
	rc = sign(sctx, h, sig, sizeof sig, &siglen);
	if (rc < 0) {
		util_err(err, errcap, rc, "signing the image payload failed");
		goto out;
	}
	rc = cry_b64_encode(sig, siglen, b64, sizeof b64, &blen);
	if (rc == 0)
		rc = sig_attach(c, repo, digest, ".sig", SIG_MT_SIMPLESIGNING, pl.data, pl.len, b64,
				NULL, err, errcap);
out:
	buf_free(&pl);
	return rc;
}

/* One simple-signing layer: payload by digest, checked, signature verified. */
static int verify_layer(struct reg_client *c, const char *repo, const struct sig_layer *l,
			const char *want_repo, const char *digest, const uint8_t *pub,
			size_t publen, char *err, size_t errcap)
{
	uint8_t *pl = NULL, sig[SIG_MAX], h[32];
	size_t n = 0, siglen = 0;
	int rc;

	if (l->size > SIG_MAX_PAYLOAD)
		return util_err(err, errcap, -EBADMSG, "payload %s declares %llu bytes", l->digest,
			    (unsigned long long)l->size);
	if (cry_b64_decode(l->sig, strlen(l->sig), sig, sizeof sig, &siglen) < 0 || siglen == 0)
		return util_err(err, errcap, -EBADMSG, "layer %s: signature annotation is not base64",
			    l->digest);
	rc = reg_get_blob_mem(c, repo, l->digest, SIG_MAX_PAYLOAD, &pl, &n);
	if (rc < 0)
		return util_err(err, errcap, rc == -ENOENT ? -EBADMSG : rc, "%s", reg_err(c));
	rc = sig_payload_check(pl, n, digest, want_repo, err, errcap);
	if (rc == 0) {
		cry_sha256(pl, n, h);
		rc = cry_verify_sha256(pub, publen, h, sig, siglen);
		if (rc == -EINVAL)
			util_err(err, errcap, rc, "the public key is not a PEM public key");
		else if (rc < 0)
			rc = util_err(err, errcap, -EBADMSG, "signature of payload %s does not verify "
				  "under the given key", l->digest);
	}
	free(pl);
	return rc;
}

int sig_verify_signature(struct reg_client *c, const char *repo, const char *want_repo,
			 const char *digest, const uint8_t *pub, size_t publen,
			 char *err, size_t errcap)
{
	struct sig_layer *ls = calloc(SIG_MAX_LAYERS, sizeof *ls);
	size_t n = 0, tried = 0;
	int rc;

	if (!ls)
		return -ENOMEM;
	rc = sig_att_fetch(c, repo, digest, ".sig", ls, &n, err, errcap);
	if (rc < 0)
		goto out;
	rc = -EBADMSG;              /* err keeps the last layer's reason */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ls[i].media_type, SIG_MT_SIMPLESIGNING) != 0)
			continue;
		tried++;
		rc = verify_layer(c, repo, &ls[i], want_repo, digest, pub, publen, err, errcap);
		if (rc != -EBADMSG)
			break;      /* accepted, or an error that is not about this layer */
	}
	if (!tried)
		util_err(err, errcap, rc, "the .sig attachment has no %s layer", SIG_MT_SIMPLESIGNING);
out:
	free(ls);
	return rc;
}
