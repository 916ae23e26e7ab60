/* SPDX-License-Identifier: MIT */
/*
 * mfst: the build manifest of PROTOCOL.md §12. <name>.sig.tbz is a tar.bz2
 * of two members: <name>.tbz (a tar.bz2 of data/build.json, data/build.log,
 * data/provenance.json when given, and git/ = the checked-out tree) and
 * <name>.sig (lower-case hex of an RSA-2048 PKCS#1 v1.5 SHA-256 signature
 * whose message is the 32-byte SHA-256 of <name>.tbz, i.e. the value inside
 * PKCS#1 is SHA-256(SHA-256(tbz))), no newline. Byte-stable for equal
 * inputs (mtime = SOURCE_DATE_EPOCH).
 */
#ifndef SBS_MFST_H
#define SBS_MFST_H

#include <stddef.h>
#include <stdint.h>

#include "sigstore.h"

struct mfst_in {
	const char *name;              /* "manifest.<build_name>" */
	const uint8_t *build_json;     /* data/build.json */
	size_t build_json_len;
	const uint8_t *build_log;      /* data/build.log */
	size_t build_log_len;
	const uint8_t *provenance;     /* data/provenance.json (DSSE envelope) or NULL */
	size_t provenance_len;
	int gitfd;                     /* the checkout's directory, -1 = none */
	int64_t mtime;
};
/* Writes <name>.sig.tbz to outfd. sign is the manifest key's RSA signer
 * (PKCS#1 v1.5 over a given SHA-256 hash, e.g. keeper_sign(KEEPER_MANIFEST)):
 * mfst_create passes it SHA-256(SHA-256(tbz)), per §12. */
int mfst_create(const struct mfst_in *in, sig_sign_fn sign, void *sctx, int outfd,
		char *err, size_t errcap);
/* Verifies a .sig.tbz in memory against an RSA public key PEM: finds the
 * .tbz and .sig members, checks the hex signature over SHA-256(tbz).
 * 0 valid, -EBADMSG invalid (err says why), -EINVAL malformed. */
int mfst_verify(const uint8_t *sigtbz, size_t n, const uint8_t *pub, size_t publen,
		char *err, size_t errcap);

/* ---- the pieces, for the client (added) ---- */

/* Splits a .sig.tbz (untrusted, at most MFST_MAX_SIZE): exactly the two
 * top-level regular files <name>.tbz and <name>.sig (directory "" allowed),
 * name copied out (at most MFST_MAX_NAME). *tbz and *sig malloc'd.
 * -EINVAL malformed (err says why). */
int mfst_split(const uint8_t *sigtbz, size_t n, char *name, size_t namecap, uint8_t **tbz,
	       size_t *tlen, uint8_t **sig, size_t *slen, char *err, size_t errcap);
/* Verifies hex sig (either case; one trailing newline tolerated, as
 * Python's bytes.fromhex would) over SHA-256(tbz) under an RSA public key
 * PEM. 0, -EBADMSG (signature), -EINVAL (bad hex or key). */
int mfst_verify_tbz(const uint8_t *tbz, size_t tlen, const uint8_t *sig, size_t slen,
		    const uint8_t *pub, size_t publen, char *err, size_t errcap);
/* build.py's --verify-test: unpacks tbz below a fresh directory in tmpdir,
 * adds git/fake and repacks only git/ into out, which therefore no longer
 * matches the signature. The directory is removed again. */
int mfst_tamper(const uint8_t *tbz, size_t n, const char *tmpdir, struct buf *out,
		char *err, size_t errcap);

#endif
