/* SPDX-License-Identifier: MIT */
/*
 * image_oci: the OCI side of the build engine (contract in image.h): the
 * image config of a stage as we print it (compact, a fixed key order, maps
 * with sorted keys, as Go's encoding/json prints them), the manifest, the
 * parsing of a base image's config (an untrusted blob, but one whose digest
 * the manifest fixed), and base pulls: manifest resolved to the platform,
 * optional cosign verification, every layer downloaded into
 * <workdir>/blobs/sha256/ (verified by reg) and unpacked in order with the
 * hostile-layer rules of src/arc.h.
 */
#include "image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cry.h"
#include "sigstore.h"
#include "util.h"

/* ---- config of a stage ---- */

void img_cfg_free(struct img_cfg *c)
{
	df_vartab_free(&c->env);
	free(c->user);
	free(c->workdir);
	free(c->stopsignal);
	json_free(c->entrypoint);
	json_free(c->cmd);
	json_free(c->shell);
	json_free(c->healthcheck);
	json_free(c->ports);
	json_free(c->volumes);
	json_free(c->labels);
	memset(c, 0, sizeof *c);
}

static int dup_str(char **dst, const char *s)
{
	*dst = NULL;
	if (!s)
		return 0;
	return (*dst = strdup(s)) ? 0 : -ENOMEM;
}

static int dup_json(json **dst, const json *j)
{
	*dst = NULL;
	if (!j)
		return 0;
	return (*dst = json_dup(j)) ? 0 : -ENOMEM;
}

int img_cfg_copy(struct img_cfg *d, const struct img_cfg *s)
{
	int rc = 0;

	memset(d, 0, sizeof *d);
	for (size_t i = 0; i < s->env.n && rc == 0; i++)
		rc = df_vartab_set(&d->env, s->env.v[i].name, s->env.v[i].value);
	if (rc == 0)
		rc = dup_str(&d->user, s->user);
	if (rc == 0)
		rc = dup_str(&d->workdir, s->workdir);
	if (rc == 0)
		rc = dup_str(&d->stopsignal, s->stopsignal);
	if (rc == 0)
		rc = dup_json(&d->entrypoint, s->entrypoint);
	if (rc == 0)
		rc = dup_json(&d->cmd, s->cmd);
	if (rc == 0)
		rc = dup_json(&d->shell, s->shell);
	if (rc == 0)
		rc = dup_json(&d->healthcheck, s->healthcheck);
	if (rc == 0)
		rc = dup_json(&d->ports, s->ports);
	if (rc == 0)
		rc = dup_json(&d->volumes, s->volumes);
	if (rc == 0)
		rc = dup_json(&d->labels, s->labels);
	if (rc < 0)
		img_cfg_free(d);
	return rc;
}

/* An array of strings, or NULL/null: copied; anything else -EBADMSG. */
static int take_strarr(const json *j, json **out)
{
	*out = NULL;
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_arr(j))
		return -EBADMSG;
	for (json *e = json_child(j); e; e = json_next(e))
		if (!json_is_str(e))
			return -EBADMSG;
	return dup_json(out, j);
}

/* An object (ports, volumes: values ignored; labels: string values). */
static int take_obj(const json *j, int strvals, json **out)
{
	*out = NULL;
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_obj(j))
		return -EBADMSG;
	if (!(*out = json_new_obj()))
		return -ENOMEM;
	for (json *e = json_child(j); e; e = json_next(e)) {
		int rc;
		if (strvals && !json_is_str(e))
			return -EBADMSG;
		rc = strvals ? json_set_str(*out, json_key(e), json_str(e))
			     : json_set(*out, json_key(e), json_new_obj());
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int take_str(const json *obj, const char *key, char **out)
{
	const json *j = json_get(obj, key);

	*out = NULL;
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_str(j))
		return -EBADMSG;
	return dup_str(out, json_str(j));
}

static int parse_env(const json *j, struct df_vartab *env)
{
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_arr(j))
		return -EBADMSG;
	for (json *e = json_child(j); e; e = json_next(e)) {
		const char *s = json_str(e), *eq;
		char name[1024];
		int rc;
		if (!s || !(eq = strchr(s, '=')) || eq == s || (size_t)(eq - s) >= sizeof name)
			return -EBADMSG;
		memcpy(name, s, (size_t)(eq - s));
		name[eq - s] = 0;
		if ((rc = df_vartab_set(env, name, eq + 1)) < 0)
			return rc;
	}
	return 0;
}

static int parse_inner(const json *c, struct img_cfg *cfg)
{
	int rc;

	if (!c || json_is_null(c))
		return 0;
	if (!json_is_obj(c))
		return -EBADMSG;
	if ((rc = parse_env(json_get(c, "Env"), &cfg->env)) < 0 ||
	    (rc = take_str(c, "User", &cfg->user)) < 0 ||
	    (rc = take_str(c, "WorkingDir", &cfg->workdir)) < 0 ||
	    (rc = take_str(c, "StopSignal", &cfg->stopsignal)) < 0 ||
	    (rc = take_strarr(json_get(c, "Entrypoint"), &cfg->entrypoint)) < 0 ||
	    (rc = take_strarr(json_get(c, "Cmd"), &cfg->cmd)) < 0 ||
	    (rc = take_strarr(json_get(c, "Shell"), &cfg->shell)) < 0 ||
	    (rc = take_obj(json_get(c, "ExposedPorts"), 0, &cfg->ports)) < 0 ||
	    (rc = take_obj(json_get(c, "Volumes"), 0, &cfg->volumes)) < 0 ||
	    (rc = take_obj(json_get(c, "Labels"), 1, &cfg->labels)) < 0)
		return rc;
	if (json_get(c, "Healthcheck") && !json_is_null(json_get(c, "Healthcheck"))) {
		if (!json_is_obj(json_get(c, "Healthcheck")))
			return -EBADMSG;
		return dup_json(&cfg->healthcheck, json_get(c, "Healthcheck"));
	}
	return 0;
}

int img_cfg_parse(struct img_ctx *x, const uint8_t *p, size_t n, struct img_stage *s,
		  char (**diff_ids)[REG_DIGEST_LEN + 1], size_t *ndiff)
{
	const char *jerr = NULL;
	json *root = NULL, *h, *ids;
	int rc;

	*diff_ids = NULL;
	*ndiff = 0;
	if ((rc = json_parse((const char *)p, n, &root, &jerr)) < 0)
		return img_fail(x, -EBADMSG, "base image config: %s", jerr ? jerr : "bad JSON");
	if (!json_is_obj(root) || (rc = parse_inner(json_get(root, "config"), &s->cfg)) < 0) {
		rc = img_fail(x, -EBADMSG, "base image config: malformed \"config\"");
		goto out;
	}
	if (json_is_arr(json_get(json_get(root, "config"), "OnBuild")) &&
	    json_count(json_get(json_get(root, "config"), "OnBuild")))
		img_log(x, " ---> warning: the base image's ONBUILD triggers are not run\n");
	if ((json_get_str(root, "architecture") && strcmp(json_get_str(root, "architecture"), s->arch)) ||
	    (json_get_str(root, "os") && strcmp(json_get_str(root, "os"), s->os)))
		img_log(x, " ---> warning: the base image is %.31s/%.31s, the build is for %s/%s\n",
			json_get_str(root, "os") ? json_get_str(root, "os") : "?",
			json_get_str(root, "architecture") ? json_get_str(root, "architecture") : "?",
			s->os, s->arch);
	h = json_get(root, "history");
	if (h && json_is_arr(h)) {
		json_free(s->history);
		if (!(s->history = json_dup(h))) {
			rc = -ENOMEM;
			goto out;
		}
	}
	ids = json_get(json_get(root, "rootfs"), "diff_ids");
	if (!ids || !json_is_arr(ids) || json_count(ids) > REG_MAX_LAYERS) {
		rc = img_fail(x, -EBADMSG, "base image config: no rootfs.diff_ids");
		goto out;
	}
	if (!(*diff_ids = calloc(json_count(ids) + 1, sizeof **diff_ids))) {
		rc = -ENOMEM;
		goto out;
	}
	for (json *e = json_child(ids); e; e = json_next(e)) {
		const char *d = json_str(e);
		if (!d || !reg_digest_valid(d)) {
			rc = img_fail(x, -EBADMSG, "base image config: bad diff_id");
			goto out;
		}
		memcpy((*diff_ids)[(*ndiff)++], d, REG_DIGEST_LEN + 1);
	}
	rc = 0;
out:
	if (rc < 0) {
		free(*diff_ids);
		*diff_ids = NULL;
		*ndiff = 0;
	}
	json_free(root);
	return rc;
}

/* ---- printing ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of obj with its members in bytewise key order (Go's map order). */
static json *sorted(const json *obj)
{
	size_t n = json_count(obj), i = 0;
	const char **keys = calloc(n + 1, sizeof *keys);
	json *o = json_new_obj();

	if (!keys || !o)
		goto fail;
	for (json *e = json_child(obj); e; e = json_next(e))
		keys[i++] = json_key(e);
	qsort(keys, n, sizeof *keys, cmp_str);
	for (i = 0; i < n; i++) {
		json *v = json_dup(json_get(obj, keys[i]));
		if (!v || json_set(o, keys[i], v) < 0)
			goto fail;
	}
	free(keys);
	return o;
fail:
	free(keys);
	json_free(o);
	return NULL;
}

static int put_dup(json *o, const char *key, const json *v, int sort)
{
	json *d;

	if (!v || (json_count(v) == 0 && (json_is_arr(v) || json_is_obj(v)) && sort))
		return 0;
	d = sort ? sorted(v) : json_dup(v);
	if (!d)
		return -ENOMEM;
	return json_set(o, key, d);
}

static int put_str(json *o, const char *key, const char *v)
{
	return v && *v ? json_set_str(o, key, v) : 0;
}

static json *inner_json(const struct img_cfg *c)
{
	json *o = json_new_obj(), *env = NULL;
	int rc;

	if (!o)
		return NULL;
	if ((rc = put_str(o, "User", c->user)) < 0 || (rc = put_dup(o, "ExposedPorts", c->ports, 1)) < 0)
		goto fail;
	if (c->env.n) {
		if (!(env = json_new_arr()) || (rc = json_set(o, "Env", env)) < 0) {
			json_free(env);
			goto fail;
		}
		for (size_t i = 0; i < c->env.n; i++) {
			char *kv;
			if (asprintf(&kv, "%s=%s", c->env.v[i].name,
				     c->env.v[i].value ? c->env.v[i].value : "") < 0)
				goto fail;
			rc = json_arr_add_str(env, kv);
			free(kv);
			if (rc < 0)
				goto fail;
		}
	}
	if ((rc = put_dup(o, "Entrypoint", c->entrypoint, 0)) < 0 ||
	    (rc = put_dup(o, "Cmd", c->cmd, 0)) < 0 ||
	    (rc = put_dup(o, "Volumes", c->volumes, 1)) < 0 ||
	    (rc = put_str(o, "WorkingDir", c->workdir)) < 0 ||
	    (rc = put_dup(o, "Labels", c->labels, 1)) < 0 ||
	    (rc = put_str(o, "StopSignal", c->stopsignal)) < 0 ||
	    (rc = put_dup(o, "Healthcheck", c->healthcheck, 0)) < 0 ||
	    (rc = put_dup(o, "Shell", c->shell, 0)) < 0)
		goto fail;
	return o;
fail:
	json_free(o);
	return NULL;
}

static int finish(json *root, size_t max, uint8_t **out, size_t *len)
{
	char *s = json_print(root);

	json_free(root);
	if (!s)
		return -ENOMEM;
	*len = strlen(s);
	if (*len > max) {
		free(s);
		return -E2BIG;
	}
	*out = (uint8_t *)s;
	return 0;
}

int img_config_json(const struct img_stage *s, int64_t epoch, uint8_t **out, size_t *len)
{
	json *root = json_new_obj(), *rf = NULL, *ids = NULL, *in;
	char t[32];

	if (!root)
		return -ENOMEM;
	img_rfc3339(epoch, t);
	if (json_set_str(root, "architecture", s->arch) < 0 || json_set_str(root, "os", s->os) < 0 ||
	    (s->variant[0] && json_set_str(root, "variant", s->variant) < 0))
		goto fail;
	if (!(in = inner_json(&s->cfg)) || json_set(root, "config", in) < 0)
		goto fail;
	if (!(rf = json_new_obj()) || json_set(root, "rootfs", rf) < 0) {
		json_free(rf);
		goto fail;
	}
	if (json_set_str(rf, "type", "layers") < 0 || !(ids = json_new_arr()) ||
	    json_set(rf, "diff_ids", ids) < 0) {
		json_free(ids);
		goto fail;
	}
	for (size_t i = 0; i < s->nlayers; i++)
		if (json_arr_add_str(ids, s->diff_ids[i]) < 0)
			goto fail;
	if (json_set(root, "history", s->history ? json_dup(s->history) : json_new_arr()) < 0 ||
	    json_set_str(root, "created", t) < 0)
		goto fail;
	return finish(root, IMG_MAX_CONFIG_JSON, out, len);
fail:
	json_free(root);
	return -ENOMEM;
}

static json *desc_json(const struct reg_desc *d)
{
	json *o = json_new_obj();

	if (!o || json_set_str(o, "mediaType", d->media_type) < 0 ||
	    json_set_str(o, "digest", d->digest) < 0 || json_set_num(o, "size", (double)d->size) < 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

int img_manifest_json(const struct reg_desc *config, const struct reg_desc *layers, size_t n,
		      uint8_t **out, size_t *len)
{
	json *root = json_new_obj(), *arr = NULL, *c;

	if (!root)
		return -ENOMEM;
	if (json_set_num(root, "schemaVersion", 2) < 0 ||
	    json_set_str(root, "mediaType", REG_MT_OCI_MANIFEST) < 0 ||
	    !(c = desc_json(config)) || json_set(root, "config", c) < 0 ||
	    !(arr = json_new_arr()) || json_set(root, "layers", arr) < 0) {
		json_free(arr);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		json *d = desc_json(&layers[i]);
		if (!d || json_arr_add(arr, d) < 0)
			goto fail;
	}
	return finish(root, REG_MAX_MANIFEST, out, len);
fail:
	json_free(root);
	return -ENOMEM;
}

/* ---- blobs ---- */

int img_blob_path(const char *dir, const char *digest, char *out, size_t cap)
{
	int n;

	if (!reg_digest_valid(digest))
		return -EINVAL;
	n = snprintf(out, cap, "%s/blobs/sha256/%s", dir, digest + 7);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int img_put_blob(const char *dir, const uint8_t *p, size_t n, char digest[REG_DIGEST_LEN + 1])
{
	uint8_t h[32];
	char path[IMG_PATH_MAX];
	int rc;

	cry_sha256(p, n, h);
	memcpy(digest, "sha256:", 7);
	cry_hex(h, 32, digest + 7);
	if ((rc = img_blob_path(dir, digest, path, sizeof path)) < 0)
		return rc;
	return util_write_atomic(path, p, n, 0644);
}

struct fd_reader {
	int fd;
};

static long read_fd(void *ctx, uint8_t *buf, size_t cap)
{
	struct fd_reader *r = ctx;
	ssize_t n;

	do
		n = read(r->fd, buf, cap);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : (long)n;
}

int img_unpack_blob(struct img_ctx *x, const char *digest, int rootfd, unsigned flags)
{
	struct arc_unpack_opts uo = { .flags = flags | (geteuid() == 0 ? ARC_U_CHOWN : 0) };
	struct fd_reader rd;
	struct arc_stats st;
	char path[IMG_PATH_MAX], aerr[400];
	int rc;

	if ((rc = img_blob_path(x->o->workdir, digest, path, sizeof path)) < 0)
		return rc;
	if ((rd.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return img_fail(x, -errno, "layer %.19s: %s", digest, strerror(errno));
	aerr[0] = 0;
	rc = arc_unpack_layer_cb(read_fd, &rd, rootfd, &uo, &st, aerr, sizeof aerr);
	close(rd.fd);
	if (rc < 0)
		return img_fail(x, rc, "layer %.19s: %s", digest, aerr[0] ? aerr : strerror(-rc));
	return 0;
}

/* ---- pulls ---- */

/* The host of a server string ("http://h:p/" -> "h:p"). */
static void server_host(const char *s, char *out, size_t cap)
{
	if (!strncmp(s, "http://", 7))
		s += 7;
	else if (!strncmp(s, "https://", 8))
		s += 8;
	snprintf(out, cap, "%.*s", (int)strcspn(s, "/"), s);
}

static int is_hub(const char *h)
{
	return !strcmp(h, "docker.io") || !strcmp(h, "index.docker.io") ||
	       !strcmp(h, "registry-1.docker.io");
}

static int client_for(struct img_ctx *x, const char *host, struct reg_client **out)
{
	const struct img_opts *o = x->o;
	struct reg_opts ro = { .server = host, .ca_pem = o->ca_pem, .ca_len = o->ca_len,
			       .log_fd = o->log_fd };
	char bh[300] = "";
	int rc;

	for (size_t i = 0; i < x->ncl; i++)
		if (!strcmp(x->cl[i].host, host)) {
			*out = x->cl[i].c;
			return 0;
		}
	if (x->ncl == IMG_MAX_CLIENTS)
		return img_fail(x, -E2BIG, "more than %d registries", IMG_MAX_CLIENTS);
	if (o->base_server) {
		server_host(o->base_server, bh, sizeof bh);
		if (!strcmp(bh, host) || (is_hub(bh) && is_hub(host))) {
			ro.server = o->base_server;
			ro.user = o->base_user;
			ro.pass = o->base_pass;
		}
	}
	if ((rc = reg_open(&x->cl[x->ncl].c, &ro)) < 0)
		return img_fail(x, rc, "registry %s: cannot open a client", host);
	snprintf(x->cl[x->ncl].host, sizeof x->cl[x->ncl].host, "%s", host);
	*out = x->cl[x->ncl++].c;
	return 0;
}

void img_close_clients(struct img_ctx *x)
{
	for (size_t i = 0; i < x->ncl; i++)
		reg_close(x->cl[i].c);
	x->ncl = 0;
}

static int fetch_blob(struct img_ctx *x, struct reg_client *c, const char *repo,
		      const struct reg_desc *d)
{
	char path[IMG_PATH_MAX], tmp[IMG_PATH_MAX + 32];
	struct stat sb;
	int fd, rc;

	if ((rc = img_blob_path(x->o->workdir, d->digest, path, sizeof path)) < 0)
		return img_fail(x, rc, "bad layer digest");
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
		return 0; /* written by an earlier pull of this build, verified then */
	snprintf(tmp, sizeof tmp, "%s.tmp-%u", path, x->seq++);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		return img_fail(x, -errno, "%s: %s", tmp, strerror(errno));
	rc = reg_get_blob(c, repo, d->digest, REG_MAX_BLOB, fd);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return img_fail(x, rc, "layer %s: %s", d->digest, reg_err(c));
	}
	return 0;
}

/* cosign signs the digest a reference names: for a multi-platform base
 * that is the index. The signature may be on the index (what the tag points
 * to) or on the platform's manifest; either verifying under the key is
 * enough, anything else stops the build. */
static int verify_sig(struct img_ctx *x, struct reg_client *c, const struct reg_ref *rr,
		      const char *name, const char *digest)
{
	char want[HCL_MAX_HOST + REG_MAX_REPO + 16], serr[256] = "", e2[256] = "";
	char top[REG_DIGEST_LEN + 1] = "", mt[REG_MAX_MEDIATYPE + 1];
	uint8_t *body = NULL;
	size_t len;
	int rc;

	snprintf(want, sizeof want, "%s/%s", rr->host, rr->repo);
	if (!rr->digest[0] && reg_get_manifest(c, rr->repo, rr->tag, NULL, NULL, &body, &len,
					       top, mt) == 0 && strcmp(top, digest)) {
		rc = sig_verify_signature(c, rr->repo, want, top, x->o->base_pubkey,
					  x->o->base_pubkey_len, serr, sizeof serr);
		free(body);
		if (rc == 0) {
			img_log(x, " ---> signature of %s (index %.19s) verified\n", name, top);
			return 0;
		}
	} else {
		free(body);
	}
	rc = sig_verify_signature(c, rr->repo, want, digest, x->o->base_pubkey,
				  x->o->base_pubkey_len, e2, sizeof e2);
	if (rc < 0)
		return img_fail(x, rc, "base image %s: signature verification failed: %s", name,
				e2[0] ? e2 : serr[0] ? serr : strerror(-rc));
	img_log(x, " ---> signature of %s verified\n", name);
	return 0;
}

static int pull_layers(struct img_ctx *x, struct reg_client *c, const struct reg_ref *rr,
		       const char *name, const struct reg_manifest *m, struct img_stage *s,
		       char (*ids)[REG_DIGEST_LEN + 1])
{
	int rc;

	for (size_t i = 0; i < m->nlayers; i++) {
		if ((rc = fetch_blob(x, c, rr->repo, &m->layers[i])) < 0)
			return rc;
		unsigned line = x->line;
		x->line = 0; /* the prefix comes once, below */
		rc = img_unpack_blob(x, m->layers[i].digest, s->rootfd, 0);
		x->line = line;
		if (rc < 0) {
			char e[512];
			snprintf(e, sizeof e, "%s", x->err);
			return img_fail(x, rc, "base image %s: %s", name, e);
		}
		if ((rc = img_stage_add_layer(s, &m->layers[i], ids[i])) < 0)
			return rc;
	}
	return 0;
}

int img_pull(struct img_ctx *x, const char *ref, const char *os, const char *arch,
	     struct img_stage *s, char *resolved, size_t rcap, char digest[REG_DIGEST_LEN + 1])
{
	struct reg_ref rr;
	struct reg_manifest m = { 0 };
	struct reg_client *c = NULL;
	char (*ids)[REG_DIGEST_LEN + 1] = NULL;
	char mt[REG_MAX_MEDIATYPE + 1], rerr[256] = "", dh[300];
	uint8_t *body = NULL, *cfg = NULL;
	size_t blen, clen, nids = 0;
	int rc;

	/* a default host given as a server string ("http://h:p") is its host */
	if (x->o->default_host)
		server_host(x->o->default_host, dh, sizeof dh);
	if ((rc = reg_ref_parse(ref, x->o->default_host ? dh : NULL, &rr, rerr, sizeof rerr)) < 0)
		return img_fail(x, rc, "base image %s: %s", ref, rerr);
	reg_ref_format(&rr, resolved, rcap);
	if ((rc = client_for(x, rr.host, &c)) < 0)
		return rc;
	img_log(x, " ---> pulling %s for %s/%s\n", resolved, os, arch);
	rc = reg_get_manifest(c, rr.repo, rr.digest[0] ? rr.digest : rr.tag, os, arch, &body,
			      &blen, digest, mt);
	if (rc < 0)
		return img_fail(x, rc, "base image %s: %s", resolved, reg_err(c));
	if (x->o->base_pubkey && (rc = verify_sig(x, c, &rr, resolved, digest)) < 0)
		goto out;
	if ((rc = reg_manifest_parse(body, blen, &m, rerr, sizeof rerr)) < 0) {
		rc = img_fail(x, rc, "base image %s: manifest: %s", resolved, rerr);
		goto out;
	}
	if ((rc = reg_get_blob_mem(c, rr.repo, m.config.digest, REG_MAX_CONFIG, &cfg, &clen)) < 0) {
		rc = img_fail(x, rc, "base image %s: config: %s", resolved, reg_err(c));
		goto out;
	}
	if ((rc = img_cfg_parse(x, cfg, clen, s, &ids, &nids)) < 0)
		goto out;
	if (nids != m.nlayers) {
		rc = img_fail(x, -EBADMSG, "base image %s: %zu layers but %zu diff_ids", resolved,
			      m.nlayers, nids);
		goto out;
	}
	rc = pull_layers(x, c, &rr, resolved, &m, s, ids);
out:
	free(ids);
	free(cfg);
	free(body);
	reg_manifest_free(&m);
	return rc;
}
