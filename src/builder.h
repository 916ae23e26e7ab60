/* SPDX-License-Identifier: MIT */
/*
 * builder: one process per build, forked from the API process. It holds no
 * key (they live in the keeper process, whose channel the child closes at
 * once: keeper_forget) and talks to the API
 * process over a SOCK_SEQPACKET socketpair, one message per packet:
 *
 *   builder -> api   "status <text>"            the status string (§10)
 *                    "set <key> <value>"        build_name, image_tag, image_digest
 *                    "sign image <64 hex>"      ECDSA P-256 over that SHA-256
 *                    "sign manifest <64 hex>"   RSA PKCS#1 v1.5 over that SHA-256
 *   api -> builder   "sig <hex DER or RSA>" | "err <reason>"
 *
 * The API answers sign requests from the keeper within a per-build budget
 * (BUILD_SIGN_IMAGE image signatures: the cosign .sig and the provenance
 * envelope; BUILD_SIGN_MANIFEST manifest signatures), so a builder taken over
 * by a RUN step that escaped its sandbox can get at most that many digests of
 * its choice signed, never a key.
 *
 * The pipeline (docs/build.md): workspace -> "cleaned up"; git fetch and
 * checkout -> "github cloned"; Dockerfile build -> "image built"; push ->
 * "image pushed"; cosign signature, provenance (.att), manifest .sig.tbz in
 * <data>/manifests -> "success". The exit code names the failed step
 * (builder_failed_cmd), which the API turns into "exiting due to a non-zero
 * return value: N, cmd: <step>"; the reason is in the build log. No secret
 * reaches the log, the status or a message.
 */
#ifndef SBS_BUILDER_H
#define SBS_BUILDER_H

#include <sys/types.h>
#include "json.h"

#define BUILD_SIGN_IMAGE     2
#define BUILD_SIGN_MANIFEST  1
#define BUILD_MSG_MAX        1024

struct builder_cfg {
	const char *data_dir;   /* workspace, cache, manifests, known_hosts live below it */
	const char *log_path;   /* truncated and written by the builder */
	const char *ca_path;    /* trust anchors for git and registries (PEM); NULL = none */
};

struct builder_run {
	pid_t pid;
	int fd;                 /* the API's end of the channel (non-blocking) */
	unsigned signed_image, signed_manifest;
};

/* Forks the builder with a copy of params. */
int builder_start(const json *params, const struct builder_cfg *cfg, struct builder_run *out);
/* The command line named in the failure status for exit code rc. */
const char *builder_failed_cmd(int rc);

#endif
