/* SPDX-License-Identifier: MIT */
/*
 * image: the Dockerfile build engine. img_build() takes a parsed-to-be
 * Dockerfile and a build context and makes an OCI image in a work directory:
 * base images pulled with src/reg.h (every blob verified) and unpacked with
 * arc_unpack_layer (the hostile-layer rules of src/arc.h), one rootfs per
 * stage, instructions evaluated with src/dockerfile.h (ARG scoping, ENV,
 * expansion), RUN in the sandbox (src/sandbox.h), COPY/ADD from the context
 * (.dockerignore applied, --chown/--chmod, ADD's local tar auto-extraction
 * through arc_unpack_layer, COPY --from=<stage|image>), every filesystem step
 * snapshotted (src/snap.h) into a gzip layer (arc_write_layer), metadata
 * instructions into the image config. Reproducible: SOURCE_DATE_EPOCH
 * (o->epoch) is every "created" time, layer mtimes are clamped to it, the
 * config and manifest are printed compactly with a fixed key order; the same
 * inputs give the same manifest digest.
 *
 * Layer cache (o->cache_dir, optional): key = SHA-256 over the parent
 * layer's chain (diff_ids so far), the evaluated instruction, the RUN
 * environment and, for COPY/ADD, the content hashes (names, modes, bytes) of
 * the sources. A hit re-verifies the cached blob's digest, then unpacks it
 * into the rootfs instead of running the step. Entries are written atomically.
 *
 * Blobs: every blob of the result (base layers as pulled, new layers, the
 * config) is in <o->workdir>/blobs/sha256/<hex>, ready for img_push().
 *
 * Errors: 0 or a negative errno; err gets one line "<Dockerfile>:<line>:
 * <reason>" for instruction failures (a RUN that exits non-zero names its
 * exit code), or the pull/unpack reason. Nothing is written outside
 * o->workdir and o->cache_dir. No secret is ever logged: build args are
 * logged by name only.
 */
#ifndef SBS_IMAGE_H
#define SBS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "reg.h"

struct img_opts {
	const uint8_t *dockerfile;     /* bytes of the Dockerfile */
	size_t dockerfile_len;
	const char *dockerfile_name;   /* for messages, e.g. "Dockerfile" */
	const char *context;           /* absolute path of the build context directory */
	const char *const *build_args; /* "NAME=value" pairs (ARG); NULL-terminated or NULL */
	const char *workdir;           /* absolute path of an empty directory of this build */
	const char *cache_dir;         /* absolute path; NULL = no cache */
	/* pulls */
	const char *default_host;      /* registry of unqualified FROM names (NULL = docker.io) */
	const char *base_server;       /* DOCKER_BASE_SERVER: its host gets base_user/base_pass */
	const char *base_user;         /* SECRET, borrowed */
	const char *base_pass;         /* SECRET, borrowed */
	const uint8_t *ca_pem;         /* trust anchors for https registries */
	size_t ca_len;
	const uint8_t *base_pubkey;    /* non-NULL: every base must carry a valid cosign
					* signature under this PEM key (DOCKER_CONTENT_TRUST_BASE) */
	size_t base_pubkey_len;
	/* the build */
	const char *os, *arch;         /* target platform: "linux", "amd64" / "s390x" */
	int64_t epoch;                 /* SOURCE_DATE_EPOCH */
	int network;                   /* RUN default: 1 network, 0 none (RUN --network=none
					* always turns it off for that step) */
	int log_fd;                    /* progress ("Step 3/9 : RUN ...") and RUN output */
};

struct img_base {
	char ref[512];                 /* as resolved: host/repo:tag */
	char digest[REG_DIGEST_LEN + 1];
};

struct img_result {
	char digest[REG_DIGEST_LEN + 1];        /* of the manifest bytes */
	uint8_t *manifest;                      /* OCI image manifest, malloc'd */
	size_t manifest_len;
	uint8_t *config;                        /* OCI image config, malloc'd */
	size_t config_len;
	char config_digest[REG_DIGEST_LEN + 1];
	struct reg_desc *layers;                /* every layer, base first; malloc'd */
	size_t nlayers;
	struct img_base bases[IMG_MAX_STAGES];  /* FROM images (and COPY --from images) pulled */
	size_t nbases;
	char dockerfile_digest[REG_DIGEST_LEN + 1];
	unsigned steps, cached;                 /* steps run, steps taken from the cache */
};

int img_build(const struct img_opts *o, struct img_result *r, char *err, size_t errcap);
void img_result_free(struct img_result *r);

/* Pushes every layer blob, the config and the manifest (under tag) from
 * <workdir>/blobs to repo; blobs the registry has are skipped. */
int img_push(const struct img_result *r, const char *workdir, struct reg_client *c,
	     const char *repo, const char *tag, char *err, size_t errcap);

#endif
