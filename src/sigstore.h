/* SPDX-License-Identifier: MIT */
/*
 * sigstore: the signatures a registry holds next to an image, in cosign's
 * tag-attachment formats (../shared/SIGSTORE.md has the exact objects):
 *   sha256-<hex>.sig  an OCI manifest whose layer is the simple-signing
 *                     payload, with the ECDSA P-256 DER signature (base64) in
 *                     the annotation dev.cosignproject.cosign/signature;
 *   sha256-<hex>.att  an OCI manifest whose layer is a DSSE envelope
 *                     (application/vnd.dsse.envelope.v1+json) holding an
 *                     in-toto Statement v1 with an SLSA provenance v1
 *                     predicate, annotation predicateType.
 * Signing goes through a callback (the keeper signs digests; no private key
 * here). The payload and statement builders are pure and byte-stable.
 * Verification (for DOCKER_CONTENT_TRUST_BASE and `sbs verify`) fetches the
 * attachment, checks every field, the digest binding and the signature
 * against a given PEM public key.
 */
#ifndef SBS_SIGSTORE_H
#define SBS_SIGSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "reg.h"
#include "util.h"

/* Signs a SHA-256 digest with ECDSA P-256, DER output. */
typedef int (*sig_sign_fn)(void *ctx, const uint8_t hash[static 32], uint8_t *sig, size_t cap,
			   size_t *siglen);

/* The simple-signing payload, exact field set:
 * {"critical":{"identity":{"docker-reference":REF},"image":{"docker-manifest-digest":D},
 *  "type":"cosign container image signature"},"optional":{"creator":"sbs <version>","timestamp":TS}} */
int sig_payload(const char *docker_ref, const char *digest, int64_t ts, struct buf *out);
/* Checks a payload: exact field sets, type, digest == want_digest, and the
 * reference's repository == want_repo ("host/repo") when non-NULL. */
int sig_payload_check(const uint8_t *p, size_t n, const char *want_digest, const char *want_repo,
		      char *err, size_t errcap);

/* "sha256-<hex>.sig" / ".att" for an image digest. */
int sig_tag(const char *digest, const char *suffix, char *out, size_t cap);

/* Signs and pushes the .sig attachment for image digest in repo; ref is the
 * docker-reference written in the payload (host/repo:tag). */
int sig_push_signature(struct reg_client *c, const char *repo, const char *ref,
		       const char *digest, int64_t ts, sig_sign_fn sign, void *sctx,
		       char *err, size_t errcap);

/* Fetches and verifies the .sig attachment: at least one layer of the
 * simple-signing media type whose payload passes sig_payload_check and whose
 * signature verifies under pub. -EBADMSG (err says why) or -ENOENT. */
int sig_verify_signature(struct reg_client *c, const char *repo, const char *want_repo,
			 const char *digest, const uint8_t *pub, size_t publen,
			 char *err, size_t errcap);

/* ---- attachment manifests (shared by .sig and .att; added) ---- */

#define SIG_MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define SIG_MT_DSSE          "application/vnd.dsse.envelope.v1+json"
#define SIG_ANN_SIGNATURE    "dev.cosignproject.cosign/signature"
#define SIG_ANN_PREDICATE    "predicateType"
#define SIG_TYPE_COSIGN      "cosign container image signature"

/* One layer of a .sig/.att manifest as parsed (strings bounded, digest
 * checked); sig is the signature annotation ("" when absent). */
struct sig_layer {
	char media_type[REG_MAX_MEDIATYPE + 1];
	char digest[REG_DIGEST_LEN + 1];
	uint64_t size;
	char sig[SIG_MAX_B64SIG + 1];
};
/* Strict parse of an attachment manifest (untrusted): OCI image manifest
 * members only, schemaVersion 2, a config descriptor, at most SIG_MAX_LAYERS
 * layers, every descriptor with a string mediaType, a valid sha256 digest,
 * an integer size, string annotations. layers[] has room for SIG_MAX_LAYERS.
 * -EBADMSG (err says why), -E2BIG over SIG_MAX_ATT_MANIFEST. */
int sig_att_parse(const uint8_t *p, size_t n, struct sig_layer *layers, size_t *nlayers,
		  char *err, size_t errcap);
/* Pure: the config and manifest for an attachment tag holding the layers
 * of old (a manifest as fetched, or NULL) plus one new layer (media type mt,
 * blob digest/size, signature annotation sig_b64, and predicateType pred
 * when non-NULL). Existing layers are copied unchanged (cosign appends).
 * Returns 1 (and no output) if old already has a layer with this digest,
 * 0 with config/manifest filled, or <0. */
struct sig_new_layer {
	const char *media_type;
	const char *digest;
	uint64_t size;
	const char *sig_b64;
	const char *predicate;
};
int sig_att_build(const uint8_t *old, size_t oldn, const struct sig_new_layer *l,
		  struct buf *config, struct buf *manifest, char *err, size_t errcap);
/* Pushes blob (media type mt) as a new layer of the attachment tag
 * sig_tag(digest, suffix): blob, config, then the manifest (appending to an
 * existing one, see sig_att_build). */
int sig_attach(struct reg_client *c, const char *repo, const char *digest, const char *suffix,
	       const char *mt, const uint8_t *blob, size_t n, const char *sig_b64,
	       const char *pred, char *err, size_t errcap);
/* Fetches and parses the attachment manifest (-ENOENT when there is none). */
int sig_att_fetch(struct reg_client *c, const char *repo, const char *digest, const char *suffix,
		  struct sig_layer *layers, size_t *nlayers, char *err, size_t errcap);

/* ---- provenance ---- */

struct prov_material { const char *uri; const char *digest; }; /* digest "sha256:.." or "sha1:.." */
/* A git submodule the build saw: url without credentials, path in the
 * checkout, commit 40 hex. */
struct prov_submodule { const char *url; const char *path; const char *commit; };
struct prov_info {
	const char *image_name;        /* host/repo, the subject name */
	const char *image_digest;      /* sha256:<hex> */
	const char *git_url;           /* without credentials */
	const char *git_commit;        /* 40 hex */
	const char *git_branch;
	const char *dockerfile_path;
	const char *dockerfile_digest; /* sha256:<hex> */
	const char *context_path;
	const char *const *arg_names;  /* build args: names and values, */
	const char *const *arg_values; /* secrets already removed by the caller */
	size_t nargs;
	const struct prov_material *bases;
	size_t nbases;
	const char *builder_id;        /* e.g. "https://sbs.local/sbsd@v0.x" */
	const char *builder_version;
	const char *invocation_id;     /* build_name */
	int64_t started, finished;     /* Unix seconds, printed RFC 3339 UTC */
	const char *ssh_host_key;      /* "SHA256:..." fingerprint pinned for the git host, or NULL */
	const struct prov_submodule *subs;   /* resolvedDependencies after the superproject: */
	size_t nsubs;                  /* {"uri":"git+<url>","digest":{"gitCommit"},"name":path} */
};
/* in-toto Statement v1 (_type https://in-toto.io/Statement/v1,
 * predicateType https://slsa.dev/provenance/v1), compact, fixed key order. */
int prov_statement(const struct prov_info *i, struct buf *out);
/* DSSE envelope over a statement: PAE("application/vnd.in-toto+json", body)
 * signed (SHA-256, ECDSA); {"payloadType","payload","signatures":[{"keyid":"","sig"}]}. */
int prov_envelope(const uint8_t *stmt, size_t n, sig_sign_fn sign, void *sctx, struct buf *out);
/* Verifies an envelope under pub and returns the statement (malloc'd). */
int prov_envelope_open(const uint8_t *env, size_t n, const uint8_t *pub, size_t publen,
		       uint8_t **stmt, size_t *slen, char *err, size_t errcap);
/* DSSE pre-authentication encoding: "DSSEv1 <len(type)> <type> <len(body)> <body>". */
int prov_pae(const char *type, const uint8_t *body, size_t n, struct buf *out);
/* What a verifier prints from a statement (strict check of the fields
 * prov_statement writes and prov_verify relies on): the subject's sha256
 * digest must equal want_digest ("sha256:<hex>") when non-NULL. Strings
 * are copied (truncation is an error); absent ones are "". */
struct prov_summary {
	char subject[REG_MAX_REPO + HCL_MAX_HOST + 16];
	char git_url[HCL_MAX_URL + 1];
	char git_commit[41];
	char git_ref[GIT_MAX_REFNAME + 1];
	char builder_id[SIG_MAX_FIELD + 1];
	char finished[32];
};
int prov_statement_check(const uint8_t *stmt, size_t n, const char *want_digest,
			 struct prov_summary *s, char *err, size_t errcap);
/* Pushes an envelope as the .att attachment of digest. */
int prov_push(struct reg_client *c, const char *repo, const char *digest, const uint8_t *env,
	      size_t n, char *err, size_t errcap);
/* Fetches the .att attachment, verifies it, checks the statement's subject
 * names digest; returns the statement (malloc'd). */
int prov_verify(struct reg_client *c, const char *repo, const char *digest, const uint8_t *pub,
		size_t publen, uint8_t **stmt, size_t *slen, char *err, size_t errcap);

#endif
