/* SPDX-License-Identifier: MIT */
/*
 * image_cache: new layers and the layer cache (contract in image.h). A
 * filesystem step's changes are written by arc_write_layer() to a temporary
 * blob in <workdir>/blobs/sha256/ and renamed to their digest. With a cache
 * directory, each step's result is also recorded under its key:
 *   <cache>/<keyhex>.json  {"blob":"sha256:..","diff_id":"sha256:..","size":N}
 *                          or {"empty_layer":true} for a step that changed nothing
 *   <cache>/blobs/sha256/<hex>
 * both written atomically (temp + rename). A hit re-hashes the cached blob
 * (a mismatch is a miss, logged), links or copies it into the work
 * directory and adds it to the stage; it is unpacked into the stage's rootfs,
 * exactly as a base layer, only when a later step needs the rootfs
 * (img_stage_sync): a build whose remaining steps all hit unpacks nothing.
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
#include "util.h"

#define IMG_CACHE_ENTRY_MAX 1024

void img_cache_key(const struct img_stage *s, const struct img_opts *o, const char *what,
		   const uint8_t *extra, size_t elen, struct img_key *key)
{
	struct cry_sha256 h;
	char hdr[160];
	int n;

	cry_sha256_init(&h);
	n = snprintf(hdr, sizeof hdr, "sbs-img-cache-v1\n%s/%s/%s\n%lld\n", s->os, s->arch,
		     s->variant, (long long)o->epoch);
	cry_sha256_update(&h, hdr, (size_t)n);
	for (size_t i = 0; i < s->nlayers; i++) {
		cry_sha256_update(&h, s->diff_ids[i], strlen(s->diff_ids[i]));
		cry_sha256_update(&h, "\n", 1);
	}
	cry_sha256_update(&h, what, strlen(what) + 1);
	if (extra)
		cry_sha256_update(&h, extra, elen);
	cry_sha256_final(&h, key->k);
}

static int hash_file(const char *path, char digest[REG_DIGEST_LEN + 1], uint64_t *size)
{
	struct cry_sha256 h;
	uint8_t buf[64 << 10], d[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	cry_sha256_init(&h);
	*size = 0;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		cry_sha256_update(&h, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	close(fd);
	if (n < 0)
		return -EIO;
	cry_sha256_final(&h, d);
	memcpy(digest, "sha256:", 7);
	cry_hex(d, 32, digest + 7);
	return 0;
}

/* Hardlink src to dst, or copy it (other file system); dst appears atomically. */
static int place_file(const char *src, const char *dst)
{
	char tmp[IMG_PATH_MAX + 32];
	uint8_t buf[64 << 10];
	ssize_t n;
	int in, out, rc = 0;

	if (link(src, dst) == 0 || errno == EEXIST)
		return 0;
	snprintf(tmp, sizeof tmp, "%s.tmp-%d", dst, (int)getpid());
	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while (rc == 0 && (n = read(in, buf, sizeof buf)) != 0)
		rc = n < 0 ? -errno : util_write_all(out, buf, (size_t)n);
	if (close(out) < 0 && rc == 0)
		rc = -errno;
	close(in);
	if (rc == 0 && rename(tmp, dst) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static int entry_path(const struct img_opts *o, const struct img_key *k, char *out, size_t cap)
{
	char hex[65];

	cry_hex(k->k, 32, hex);
	return snprintf(out, cap, "%s/%s.json", o->cache_dir, hex) >= (int)cap ? -ENAMETOOLONG : 0;
}

static int hit(struct img_ctx *x, struct img_stage *s, const char *created_by, const char *blob,
	       const char *diff_id)
{
	struct reg_desc d = { .media_type = REG_MT_OCI_LAYER_GZ };
	char cpath[IMG_PATH_MAX], wpath[IMG_PATH_MAX], got[REG_DIGEST_LEN + 1];
	int rc;

	if (!reg_digest_valid(blob) || !reg_digest_valid(diff_id))
		return 0;
	if (img_blob_path(x->o->cache_dir, blob, cpath, sizeof cpath) < 0 ||
	    img_blob_path(x->o->workdir, blob, wpath, sizeof wpath) < 0)
		return 0;
	if (hash_file(cpath, got, &d.size) < 0 || strcmp(got, blob)) {
		img_log(x, " ---> cache blob %.19s is damaged: step runs again\n", blob);
		unlink(cpath); /* so that the step's result can take its place */
		return 0;
	}
	snprintf(d.digest, sizeof d.digest, "%s", blob);
	if ((rc = place_file(cpath, wpath)) < 0)
		return img_fail(x, rc, "cache: %s: %s", wpath, strerror(-rc));
	/* unpacked only when something needs the rootfs (img_stage_sync) */
	if ((rc = img_stage_add_layer(s, &d, diff_id)) < 0 ||
	    (rc = img_add_history(s, x->o->epoch, created_by, 0)) < 0)
		return rc;
	s->lazy++;
	return 1;
}

int img_cache_apply(struct img_ctx *x, struct img_stage *s, const struct img_key *key,
		    const char *created_by)
{
	char path[IMG_PATH_MAX];
	uint8_t *p = NULL;
	size_t n;
	json *j = NULL;
	const char *jerr;
	int rc;

	if (!x->o->cache_dir)
		return 0;
	if (entry_path(x->o, key, path, sizeof path) < 0 ||
	    util_read_file(path, IMG_CACHE_ENTRY_MAX, &p, &n) < 0)
		return 0;
	rc = 0;
	if (json_parse((const char *)p, n, &j, &jerr) < 0 || !json_is_obj(j))
		goto out;
	if (json_bool(json_get(j, "empty_layer"))) {
		rc = img_add_history(s, x->o->epoch, created_by, 1);
		rc = rc < 0 ? rc : 1;
	} else if (json_get_str(j, "blob") && json_get_str(j, "diff_id")) {
		rc = hit(x, s, created_by, json_get_str(j, "blob"), json_get_str(j, "diff_id"));
	}
	if (rc == 1) {
		x->r->cached++;
		img_log(x, " ---> Using cache\n");
	}
out:
	json_free(j);
	free(p);
	return rc;
}

static int cache_store(struct img_ctx *x, const struct img_key *key, const struct reg_desc *d,
		       const char *diff_id)
{
	const struct img_opts *o = x->o;
	char path[IMG_PATH_MAX], cpath[IMG_PATH_MAX], wpath[IMG_PATH_MAX], *s;
	json *j = json_new_obj();
	int rc = -ENOMEM;

	if (!j)
		return -ENOMEM;
	if (d) {
		snprintf(path, sizeof path, "%s/blobs/sha256", o->cache_dir);
		if ((rc = util_mkdirs(path, 0755)) < 0 ||
		    (rc = img_blob_path(o->cache_dir, d->digest, cpath, sizeof cpath)) < 0 ||
		    (rc = img_blob_path(o->workdir, d->digest, wpath, sizeof wpath)) < 0 ||
		    (rc = place_file(wpath, cpath)) < 0)
			goto out;
		if (json_set_str(j, "blob", d->digest) < 0 || json_set_str(j, "diff_id", diff_id) < 0 ||
		    json_set_num(j, "size", (double)d->size) < 0)
			goto out;
	} else if (json_set_bool(j, "empty_layer", 1) < 0) {
		goto out;
	}
	if ((rc = entry_path(o, key, path, sizeof path)) < 0)
		goto out;
	if (!(s = json_print(j))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = util_write_atomic(path, s, strlen(s), 0644);
	free(s);
out:
	json_free(j);
	if (rc < 0)
		img_log(x, " ---> cache: cannot store this step: %s\n", strerror(-rc));
	return 0; /* a cache that cannot be written does not fail the build */
}

static int write_layer(struct img_ctx *x, struct img_stage *s, const struct arc_change *ch,
		       size_t n, struct reg_desc *d, char diff_id[REG_DIGEST_LEN + 1])
{
	struct arc_write_opts wo = { .epoch = x->o->epoch };
	struct arc_digests dg;
	char tmp[IMG_PATH_MAX], path[IMG_PATH_MAX], aerr[400] = "";
	int fd, rc;

	snprintf(tmp, sizeof tmp, "%s/blobs/sha256/.tmp-layer-%u", x->o->workdir, x->seq++);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		return img_fail(x, -errno, "layer: %s", strerror(errno));
	rc = arc_write_layer(s->rootfd, ch, n, &wo, fd, &dg, aerr, sizeof aerr);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return img_fail(x, rc, "writing the layer: %s", aerr[0] ? aerr : strerror(-rc));
	}
	memset(d, 0, sizeof *d);
	snprintf(d->media_type, sizeof d->media_type, "%s", REG_MT_OCI_LAYER_GZ);
	memcpy(d->digest, "sha256:", 7);
	cry_hex(dg.blob, 32, d->digest + 7);
	d->size = dg.blob_size;
	memcpy(diff_id, "sha256:", 7);
	cry_hex(dg.diff_id, 32, diff_id + 7);
	img_blob_path(x->o->workdir, d->digest, path, sizeof path);
	if (rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
		return img_fail(x, rc, "layer: %s", strerror(-rc));
	}
	return 0;
}

int img_commit(struct img_ctx *x, struct img_stage *s, const struct arc_change *ch, size_t n,
	       const char *created_by, const struct img_key *key)
{
	struct reg_desc d;
	char diff_id[REG_DIGEST_LEN + 1];
	int rc;

	if (n == 0) {
		if ((rc = img_add_history(s, x->o->epoch, created_by, 1)) < 0)
			return rc;
		img_log(x, " ---> no changes: no layer\n");
		return key && x->o->cache_dir ? cache_store(x, key, NULL, NULL) : 0;
	}
	if ((rc = write_layer(x, s, ch, n, &d, diff_id)) < 0)
		return rc;
	if ((rc = img_stage_add_layer(s, &d, diff_id)) < 0)
		return rc == -E2BIG ? img_fail(x, rc, "more than %d layers", REG_MAX_LAYERS)
				    : img_fail(x, rc, "out of memory");
	if ((rc = img_add_history(s, x->o->epoch, created_by, 0)) < 0)
		return rc;
	img_log(x, " ---> layer %.19s (%llu bytes)\n", d.digest, (unsigned long long)d.size);
	return key && x->o->cache_dir ? cache_store(x, key, &d, diff_id) : 0;
}
