/* SPDX-License-Identifier: MIT */
/*
 * reg: a client of the OCI distribution API (registry v2) over src/hcl.c, for
 * pulling base images and pushing what the builder made. src/reg.c holds the
 * network side, src/reg_json.c the parsers of what a registry sends
 * (manifests, indexes, token responses, WWW-Authenticate challenges), which
 * are pure and fuzzed (tests/fuzz/fuzz_regjson.c).
 *
 * Servers: "host[:port]" means https; "http://host[:port]" is a plain-HTTP
 * ("insecure") registry, for loopback tests and the host seen from QEMU;
 * "https://host[:port]" is explicit https. "docker.io" (and
 * "index.docker.io") talk to registry-1.docker.io. Certificates are matched
 * by DNS name (mbedTLS 2.28 ignores IP SANs). Details: docs/registry.md.
 *
 * Auth: anonymous first; on 401 the WWW-Authenticate challenge decides:
 * Basic -> the credentials as Basic auth; Bearer realm/service/scope -> a
 * token from the realm (GET, with the credentials as Basic auth when given),
 * cached per scope until shortly before expires_in. Credentials (SECRET)
 * are borrowed, never logged, never in reg_err().
 *
 * Trust: every blob and every manifest fetched by digest is hashed as it
 * arrives and must match; a manifest fetched by tag is returned with the
 * digest of its exact bytes. Sizes are bounded (REG_MAX_* in limits.h).
 *
 * A token realm over plain http is refused unless the registry is plain
 * http itself. A 3xx of a GET (a blob on a storage backend) is followed
 * without credentials or token on a separate session; other requests take
 * a 3xx as an error; upload Locations must stay on the registry's origin.
 *
 * Retries: 5xx, 429 and timeouts/connection failures are retried up to
 * opts.retries times (0 = REG_RETRIES) with exponential backoff starting at
 * opts.backoff_ms (0 = REG_BACKOFF_MS, capped at REG_MAX_BACKOFF_MS); 4xx
 * other than 401/429 are final, and so are TLS failures. Each retry is one
 * line on opts.log_fd. A streamed blob GET restarts (the fd is truncated
 * back); an upload resumes where the registry's Range says it stands.
 *
 * Errors: 0 or a negative errno; reg_err() then gives one line naming the
 * operation, the repository and digest or tag, and the HTTP status or the
 * transport error, never a credential. -EACCES 401/403 after auth, -ENOENT
 * 404, -EBADMSG digest mismatch or malformed JSON, -E2BIG over a limit,
 * -EIO other HTTP errors, transport errors as hcl returns them.
 */
#ifndef SBS_REG_H
#define SBS_REG_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

#define REG_DIGEST_LEN 71          /* "sha256:" + 64 hex */

/* ---- references ---- */

/* An image reference as a user writes it: [host[:port]/]repo[:tag][@digest].
 * With no host part, default_host (NULL = "docker.io") is used; on docker.io
 * a one-component repo gets "library/". The first component is a host when
 * it has a '.' or ':' or is "localhost" (Docker's rule). No tag and no
 * digest = "latest". */
struct reg_ref {
	char host[HCL_MAX_HOST + 8];   /* as written (with port), or default_host */
	char repo[REG_MAX_REPO + 1];   /* lower-case path components */
	char tag[REG_MAX_TAG + 1];     /* "" when only a digest was given */
	char digest[REG_DIGEST_LEN + 1];
};
int reg_ref_parse(const char *s, const char *default_host, struct reg_ref *r,
		  char *err, size_t errcap);
/* "host/repo:tag", "host/repo@digest" or "host/repo:tag@digest". */
int reg_ref_format(const struct reg_ref *r, char *out, size_t cap);
/* Checks "sha256:" + 64 lower-case hex. */
int reg_digest_valid(const char *d);
/* 1 if a repository path is valid (lower-case [a-z0-9] components joined by
 * '.', '_', '__' or dashes, '/'-separated, at most REG_MAX_REPO), else 0. */
int reg_repo_valid(const char *repo);
/* 1 if a tag is [A-Za-z0-9_][A-Za-z0-9._-]{0,127}, else 0. */
int reg_tag_valid(const char *tag);

/* ---- what a registry sends (reg_json.c; pure) ---- */

struct reg_desc {
	char media_type[REG_MAX_MEDIATYPE + 1];
	char digest[REG_DIGEST_LEN + 1];
	uint64_t size;
	/* index entries only */
	char os[32], arch[32], variant[32];
};
#define REG_MT_OCI_MANIFEST  "application/vnd.oci.image.manifest.v1+json"
#define REG_MT_OCI_INDEX     "application/vnd.oci.image.index.v1+json"
#define REG_MT_OCI_CONFIG    "application/vnd.oci.image.config.v1+json"
#define REG_MT_OCI_LAYER_GZ  "application/vnd.oci.image.layer.v1.tar+gzip"
#define REG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REG_MT_DOCKER_LIST   "application/vnd.docker.distribution.manifest.list.v2+json"
#define REG_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define REG_MT_DOCKER_LAYER  "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* An image manifest (OCI or Docker schema 2). layers malloc'd. Refused:
 * schemaVersion != 2, a missing config, a bad digest, more than
 * REG_MAX_LAYERS layers, a layer media type that is not a (gzip or
 * uncompressed) tar layer (foreign/non-distributable layers included). */
struct reg_manifest {
	char media_type[REG_MAX_MEDIATYPE + 1];
	struct reg_desc config;
	struct reg_desc *layers;
	size_t nlayers;
};
int reg_manifest_parse(const uint8_t *p, size_t n, struct reg_manifest *m, char *err, size_t errcap);
void reg_manifest_free(struct reg_manifest *m);
/* 1 if the bytes are an index / manifest list (by mediaType, or by a
 * "manifests" member when mediaType is absent), 0 if not, -EBADMSG. */
int reg_is_index(const uint8_t *p, size_t n);
/* Picks the entry for os/arch (and variant if given) of an index; copies it
 * to *out. -ENOENT (err lists the platforms there are) if none. */
int reg_index_pick(const uint8_t *p, size_t n, const char *os, const char *arch,
		   const char *variant, struct reg_desc *out, char *err, size_t errcap);
/* A WWW-Authenticate header value. scheme "Basic" or "Bearer"; realm,
 * service, scope as given ("" if absent). */
struct reg_challenge {
	char scheme[16];
	char realm[HCL_MAX_URL + 1];
	char service[256];
	char scope[512];
};
int reg_challenge_parse(const char *v, struct reg_challenge *c);
/* A token response: "token" or "access_token" (SECRET), expires_in
 * (default 60 s). */
int reg_token_parse(const uint8_t *p, size_t n, char *tok, size_t cap, unsigned *expires_in);

/* ---- the client (reg.c) ---- */

struct reg_opts {
	const char *server;        /* see above */
	const char *user;          /* SECRET, borrowed; NULL = anonymous */
	const char *pass;          /* SECRET, borrowed */
	const uint8_t *ca_pem;     /* trust anchors for https */
	size_t ca_len;
	int timeout_ms;            /* per wait; 0 = HCL_IO_TIMEOUT_MS */
	unsigned retries;          /* 0 = REG_RETRIES */
	unsigned backoff_ms;       /* 0 = REG_BACKOFF_MS */
	int log_fd;                /* -1 or an fd for one line per retry (no secrets) */
};
struct reg_client;
int reg_open(struct reg_client **out, const struct reg_opts *o);
void reg_close(struct reg_client *c);
const char *reg_err(const struct reg_client *c);

/* GET /v2/<repo>/manifests/<ref> (ref a tag or a digest), accepting OCI
 * and Docker manifests and indexes; an index is resolved to os/arch (if os
 * is NULL the index itself is returned). *body malloc'd (the exact bytes of
 * the image manifest finally chosen), digest = its sha256 (checked against
 * ref or the index entry when those name one), mtype its media type. */
int reg_get_manifest(struct reg_client *c, const char *repo, const char *ref,
		     const char *os, const char *arch, uint8_t **body, size_t *len,
		     char digest[static REG_DIGEST_LEN + 1], char mtype[static REG_MAX_MEDIATYPE + 1]);
/* GET a blob into fd (written from its current offset), at most max bytes,
 * hashed as it arrives: -EBADMSG if the digest does not match (the caller
 * discards what was written). */
int reg_get_blob(struct reg_client *c, const char *repo, const char *digest, uint64_t max, int fd);
/* GET a small blob (config, signature payload) into memory, verified. */
int reg_get_blob_mem(struct reg_client *c, const char *repo, const char *digest, size_t max,
		     uint8_t **out, size_t *len);
/* HEAD: 1 present, 0 absent, <0 error. */
int reg_blob_exists(struct reg_client *c, const char *repo, const char *digest);
/* Uploads size bytes read from fd at offset 0 (pread) as blob digest,
 * unless the registry has it already: POST an upload session, PATCH chunks
 * of REG_CHUNK bytes, PUT ?digest=. A failed chunk is retried (the session
 * restarts from the offset the registry reports, or from 0). *skipped (may
 * be NULL) says it was already there. */
int reg_push_blob(struct reg_client *c, const char *repo, int fd, uint64_t size,
		  const char *digest, int *skipped);
int reg_push_blob_mem(struct reg_client *c, const char *repo, const uint8_t *p, size_t n,
		      char digest_out[static REG_DIGEST_LEN + 1]);
/* PUT /v2/<repo>/manifests/<ref> with Content-Type mtype; digest_out (may
 * be NULL) = sha256 of p, checked against the Docker-Content-Digest the
 * registry answers with when it sends one. */
int reg_put_manifest(struct reg_client *c, const char *repo, const char *ref, const char *mtype,
		     const uint8_t *p, size_t n, char *digest_out);

#endif
