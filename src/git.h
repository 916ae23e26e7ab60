/* SPDX-License-Identifier: MIT */
/*
 * git: fetching one branch of a repository with git's smart protocol over
 * HTTP(S) (src/hcl.c) or SSH (src/git_ssh.c, libssh2) and checking its
 * commit out into an empty workspace, with no git binary. Files: git_fetch.c
 * (the whole fetch over either transport), git_proto.c (pkt-line, protocol
 * v2 ls-refs and fetch, v0/v1 fallback, side-band demultiplexing),
 * git_ssh.c (the SSH transport: the only file that includes libssh2.h),
 * git_sshkey.c (SSH URLs, host-key pins, the deploy key's form),
 * git_pack.c (packfile parsing and zlib; the only file that includes zlib.h),
 * git_obj.c (the object store: ids, delta resolution, commit and tree
 * parsing), git_checkout.c (tree -> files), git_submod.c (.gitmodules,
 * submodule URLs, the recursive checkout). docs/git.md has the protocol
 * subset.
 *
 * Trust: everything the server sends is untrusted. Every object's id is the
 * SHA-1 of its content, computed here (never taken from the pack), so a tree
 * or commit that names an id gets exactly the bytes that hash to it; the
 * wanted commit must hash to the id the server advertised; the pack's
 * trailing SHA-1 is checked. SHA-1 has known collision attacks and this code
 * (like BearSSL) has no collision detection: the commit id pins the content
 * only as strongly as SHA-1 does.
 *
 * Limits (src/limits.h): GIT_MAX_PKT, GIT_MAX_ADV, GIT_MAX_PACK (received
 * bytes; the endless stream stops there), GIT_MAX_OBJECT, GIT_MAX_OBJECTS,
 * GIT_MAX_DELTA_DEPTH, GIT_MAX_PATH, GIT_MAX_TREE_DEPTH, GIT_MAX_ENTRIES,
 * GIT_MAX_CHECKOUT, GIT_MAX_SUBMODULES, GIT_MAX_SUBMODULE_DEPTH,
 * GIT_MAX_GITMODULES, GIT_SUBMODULE_DEEPEN, GIT_SSH_*. struct git_limits may
 * lower the GIT_MAX_* sizes.
 *
 * Checkout rules: every write is an *at() call relative to a directory fd
 * this code opened with O_NOFOLLOW under the workspace fd; names ".", "..",
 * ".git" (any case), names with '/' or NUL, and empty names are refused; a
 * symlink is created as a symlink whatever its target says and is never
 * followed (a later entry under it fails, as its name already exists).
 *
 * Secrets: credentials (opts user/password or userinfo in the URL) go only
 * into an Authorization header; error messages carry the URL without them.
 * The SSH deploy key (opts ssh_key) goes only to libssh2's public-key
 * authentication; every copy made here or inside libssh2's session is wiped
 * before it is freed, and no message carries any part of it.
 *
 * SSH trust: the server's host key is pinned on first use in the file
 * opts known_hosts (one line "host:port <type> <base64 key>", written
 * atomically); a later different key for the same host:port is refused with
 * both SHA-256 fingerprints in the message. res host_key names the key used.
 *
 * Errors: negative errno codes; functions that take (err, errcap) write a
 * one-line reason there (server text sanitised and bounded by GIT_MAX_MSG).
 */
#ifndef SBS_GIT_H
#define SBS_GIT_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "util.h"

#define GIT_OID_LEN 20
#define GIT_HEX_LEN 40

enum git_type { GIT_COMMIT = 1, GIT_TREE = 2, GIT_BLOB = 3, GIT_TAG = 4,
		GIT_OFS_DELTA = 6, GIT_REF_DELTA = 7 };

/* Run-time limits, each at most its GIT_MAX_* (0 = that maximum). */
struct git_limits {
	uint64_t max_pack;
	size_t max_object;
	size_t max_objects;
	unsigned max_depth;         /* delta chain */
	size_t max_entries;         /* checkout: files, dirs and links (GIT_MAX_ENTRIES) */
	uint64_t max_checkout;      /* checkout: bytes written (GIT_MAX_CHECKOUT) */
};

/* ---- the whole fetch (git_proto.c) ---- */
struct git_submodule {
	char path[GIT_MAX_PATH];    /* from the workspace's root (nested ones too) */
	char oid[GIT_HEX_LEN + 1];  /* the gitlink's commit */
	/* filled by git_submodules_checkout (git_submod.c): */
	char name[GIT_MAX_SUBMODULE_NAME + 1];  /* the [submodule "name"] */
	char url[HCL_MAX_URL + 1];  /* resolved, without credentials */
	unsigned depth;             /* 1 = a submodule of the superproject */
	int fetched;                /* 1 once checked out at oid */
	int searched;               /* the server refused the id: found in the branch's history */
	int protocol;
	uint64_t pack_bytes;
};

struct git_fetch_opts {
	const char *url;            /* https://[user[:token]@]host[:port]/path, http://,
				       ssh://[user@]host[:port]/path or [user@]host:path */
	const char *branch;         /* NULL or "" = the remote HEAD */
	const uint8_t *ca_pem;      /* trust anchors, required for https */
	size_t ca_len;
	const char *user;           /* basic auth (SECRET); NULL = from the URL, if any */
	const char *password;       /* SECRET */
	unsigned depth;             /* commits of history; 0 = 1 (shallow) */
	int force_v0;               /* do not ask for protocol v2 */
	const char *tmp_dir;        /* the pack's temp file; NULL = $TMPDIR or /tmp */
	struct git_limits lim;
	int timeout_ms;             /* per wait; 0 = HCL_IO_TIMEOUT_MS (GIT_SSH_IO_MS for SSH) */
	const uint8_t *ssh_key;     /* SSH: the deploy key, PEM or OpenSSH text (SECRET) */
	size_t ssh_key_len;
	const char *known_hosts;    /* SSH: the host-key pin file (required for SSH) */
	const char *commit;         /* NULL, or 40 lower-case hex: check out exactly this
				       commit (a gitlink's) instead of the branch's tip; see
				       git_fetch_checkout */
};

struct git_result {
	char commit[GIT_HEX_LEN + 1];
	char tree[GIT_HEX_LEN + 1];
	uint64_t commit_time;       /* committer time: SOURCE_DATE_EPOCH */
	uint64_t author_time;
	char author[256];           /* "Name <email>", truncated */
	char committer[256];
	unsigned nparents;
	int protocol;               /* 2 or 0 (v1 counts as 0) */
	uint64_t pack_bytes;
	size_t nobjects;
	size_t entries;             /* written by the checkout */
	uint64_t checkout_bytes;
	struct git_submodule *subs; /* malloc'd, nsubs entries */
	size_t nsubs;
	char host_key[GIT_SSH_HOSTKEY_LEN];   /* SSH: "<type> SHA256:<b64>" of the server's key */
	uint8_t *gitmodules;        /* malloc'd copy of the root's .gitmodules blob, or NULL */
	size_t gitmodules_len;
	int gitmodules_err;         /* -ELOOP: a symlink; -EFBIG: over GIT_MAX_GITMODULES */
	int searched;               /* opts.commit refused by id, found in the branch's history */
};

/* Fetches opts->branch and checks its commit out into dirfd, which must be
 * an empty directory. On failure the workspace may hold a partial checkout
 * (the caller discards it) but nothing outside it was touched.
 * With opts->commit: that commit is wanted directly (protocol v2 servers
 * give any object they have; v0 over HTTP any commit reachable from a ref);
 * if the server refuses (ERR), the transport is opened again and the tip of
 * opts->branch (or HEAD) is fetched with GIT_SUBMODULE_DEEPEN commits of
 * history, and the commit must be in that pack. Either way the checked-out
 * commit is the object that hashes to opts->commit, or the call fails. */
int git_fetch_checkout(const struct git_fetch_opts *o, int dirfd, struct git_result *res,
		       char *err, size_t errcap);
void git_result_free(struct git_result *r);

/* ---- submodules (git_submod.c) ---- */
/* One entry of .gitmodules. */
struct git_gm_entry {
	char name[GIT_MAX_SUBMODULE_NAME + 1];
	char path[GIT_MAX_PATH];
	char url[HCL_MAX_URL + 1];
	char branch[GIT_MAX_REFNAME + 1];   /* "" if not given */
};
/* Parses .gitmodules text (git's config format: [submodule "name"]
 * sections, "key = value" lines, '#'/';' comments, quoted values with \
 * \" \n \t escapes, line continuations). Keys path, url and branch of
 * submodule sections are kept, other keys and sections are skipped; entries
 * without a path are dropped (nothing can match them). Refused (-EBADMSG,
 * err names the line or the submodule): a malformed line or section header,
 * a value over its limit, a NUL, a name with a ".." component or a control
 * byte, a path that is absolute, starts with '-' or has an empty, ".", ".."
 * or ".git" component, two entries with one path, more than
 * GIT_MAX_SUBMODULES entries; -EFBIG over GIT_MAX_GITMODULES bytes. *out
 * malloc'd (NULL and 0 on failure). */
int git_gitmodules_parse(const uint8_t *p, size_t n, struct git_gm_entry **out, size_t *count,
			 char *err, size_t errcap);
/* A submodule URL resolved as git does: absolute https://, http://,
 * ssh:// or scp-like [user@]host:path as it is; "./x" and "../x" relative
 * to base (the superproject's URL, without credentials; its last path
 * component is replaced by "../", one more per further "../"; climbing
 * above the host is refused). Refused (-EINVAL): file://, other schemes
 * (ext::, git://...), local paths, a URL starting with '-', control
 * bytes, whitespace. */
int git_submodule_url(const char *base, const char *url, char *out, size_t cap, char *err,
		      size_t errcap);
/* 1 if a and b (after credentials are removed) have the same scheme, host
 * and port (for SSH: the same host): credentials of one apply to the other. */
int git_same_origin(const char *a, const char *b);

/* Called for each submodule once it is checked out (s->fetched) or about
 * to be fetched (!s->fetched), for the build log. */
typedef void (*git_sub_log_fn)(void *ctx, const struct git_submodule *s);
/* After git_fetch_checkout of super into wsfd: checks out every gitlink of
 * res->subs at its commit into its (empty) directory, recursively up to
 * GIT_MAX_SUBMODULE_DEPTH, nested ones appended to res->subs with paths from
 * the root. URLs come from each (super)project's .gitmodules
 * (git_gitmodules_parse, git_submodule_url). super's user/password (or the
 * URL's userinfo) go only to a submodule on the same origin, its SSH deploy
 * key only to the same SSH host; the known_hosts file is shared; the pack
 * bytes of all fetches together stay under super->lim.max_pack. Every
 * directory is opened component by component with O_NOFOLLOW. */
int git_submodules_checkout(const struct git_fetch_opts *super, int wsfd, struct git_result *res,
			    git_sub_log_fn log, void *ctx, char *err, size_t errcap);

/* Writes "fmt..." into err (if errcap) and returns rc. */
int git_seterr(char *err, size_t errcap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Server text made printable (control bytes -> '?'), at most GIT_MAX_MSG. */
void git_sanitize(const uint8_t *p, size_t n, char *out, size_t cap);
void git_hex(const uint8_t oid[static GIT_OID_LEN], char out[static GIT_HEX_LEN + 1]);
int git_unhex(const char *hex, size_t n, uint8_t oid[static GIT_OID_LEN]);   /* lower-case only */

/* ---- pkt-line (git_proto.c) ---- */
enum git_pkt_kind { GIT_PKT_DATA = 0, GIT_PKT_FLUSH, GIT_PKT_DELIM, GIT_PKT_END };

int git_pkt_write(struct buf *b, const void *p, size_t n);      /* data pkt; -E2BIG if too long */
int git_pkt_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int git_pkt_special(struct buf *b, enum git_pkt_kind k);        /* "0000" "0001" "0002" */

/* Streaming reader: feed bytes as they come; one pkt at a time. */
struct git_pktr {
	uint8_t hdr[4];
	size_t hlen;
	size_t need, have;          /* payload bytes expected / held */
	uint8_t pl[GIT_MAX_PKT];
};
void git_pktr_init(struct git_pktr *r);
/* Consumes from p[0..n) (*used says how much). Returns 1 with *kind (and for
 * data, *pl and *pll pointing into r, valid until the next call) when a pkt is
 * whole, 0 when it needs more input, -EBADMSG on a bad length prefix. */
int git_pktr_next(struct git_pktr *r, const uint8_t *p, size_t n, size_t *used,
		  enum git_pkt_kind *kind, const uint8_t **pl, size_t *pll);
/* 1 if the reader holds a partial pkt (input ended inside one). */
int git_pktr_partial(const struct git_pktr *r);

/* Ref advertisement / capabilities (the info/refs body). */
struct git_adv {
	int version;                /* 2, or 0 (v0/v1 ref list) */
	char caps[4096];            /* v0: the capability list; v2: lines joined by '\n' */
	int have_oid;               /* v0: the wanted ref was listed */
	uint8_t oid[GIT_OID_LEN];
	char head_target[GIT_MAX_REFNAME + 1];   /* v0: symref=HEAD:<target>, if advertised */
	uint8_t head_oid[GIT_OID_LEN];
	int have_head;
	size_t nrefs;
};
/* Parses an info/refs body; ref is the full ref name wanted ("refs/heads/x")
 * or "HEAD". -EBADMSG with err on malformed input, -EPROTONOSUPPORT on an
 * unknown version. */
int git_adv_parse(const uint8_t *p, size_t n, const char *ref, struct git_adv *a,
		  char *err, size_t errcap);
/* v0 capability or v2 capability line lookup: 1 if present; *val (may be
 * NULL) points at the text after "name=" (up to a space or newline). */
int git_cap(const struct git_adv *a, const char *name, const char **val, size_t *vlen);
/* Parses a v2 ls-refs body for ref (exact name); 1 found, 0 not, -EBADMSG. */
int git_lsrefs_parse(const uint8_t *p, size_t n, const char *ref, uint8_t oid[static GIT_OID_LEN],
		     char *symref, size_t symcap, char *err, size_t errcap);

/* Fetch response (v0 or v2): shallow lines, NAK/ACK, sections and side-band
 * packets in, pack bytes out to a sink. */
typedef int (*git_sink_fn)(void *ctx, const uint8_t *p, size_t n);
struct git_rx {
	int v2;
	int sideband;               /* v0: 0 = raw pack after NAK */
	int state;
	uint64_t pack_bytes, max_pack;
	git_sink_fn sink;
	void *sink_ctx;
	char *err;
	size_t errcap;
	struct git_pktr r;
};
void git_rx_init(struct git_rx *x, int v2, int sideband, uint64_t max_pack, git_sink_fn sink,
		 void *ctx, char *err, size_t errcap);
int git_rx_feed(struct git_rx *x, const uint8_t *p, size_t n);   /* 0 or -errno */
/* At the end of the response: 0 if the pack ended properly, else -EPIPE. */
int git_rx_end(struct git_rx *x);
/* 1 once the response is complete (the flush after the pack): on a stream
 * (SSH) nothing more is to be read. */
int git_rx_done(const struct git_rx *x);

/* ---- the SSH transport (git_sshkey.c: URLs, pins; git_ssh.c: the session) ---- */
/* The repository's place, from ssh://[user@]host[:port]/path or the scp-like
 * [user@]host:path (a ':' before any '/'; git's rule). user defaults to
 * "git", port to 22. Refused (-EINVAL): a path that is empty, starts with
 * '-', or holds a quote, backslash, '`', '$', '!' or control byte (the path
 * goes into the remote command line "git-upload-pack '<path>'"). */
struct git_ssh_url {
	char user[GIT_SSH_MAX_USER + 1];
	char host[HCL_MAX_HOST + 1];
	unsigned port;
	char path[GIT_MAX_PATH];
};
int git_ssh_is_url(const char *url);     /* 1 for an SSH form, 0 for http(s):// and others */
int git_ssh_parse_url(const char *url, struct git_ssh_url *u, char *err, size_t errcap);

/* Host-key pinning. name is "host:port" ("[v6]:port"), blob the key as the
 * server sent it. 0 if the file pins this key (or pinned it now: the line
 * is added atomically), -EKEYREJECTED if it pins another key for name (err
 * names both fingerprints), -errno on file errors or a malformed line for
 * name. Other hosts' lines are kept as they are. */
int git_ssh_pin(const char *file, const char *name, const uint8_t *blob, size_t len,
		char *err, size_t errcap);
/* "<type> SHA256:<b64, no padding>" of a key blob (OpenSSH's fingerprint);
 * -EBADMSG if the blob does not start with a type name. */
int git_ssh_fingerprint(const uint8_t *blob, size_t len, char out[static GIT_SSH_HOSTKEY_LEN]);

/* ---- internal, between git_ssh.c and git_sshkey.c ---- */
#define GIT_SSH_MAX_TYPE 64     /* a key type name ("ecdsa-sha2-nistp256") */
/* "host:port" ("[v6]:port"): the pin file's name for the server. */
void git_ssh_pin_name(const struct git_ssh_url *u, char *out, size_t cap);
/* The key type pinned for name ("" if none or the file is unreadable). */
void git_ssh_pin_type(const char *file, const char *name, char t[static GIT_SSH_MAX_TYPE + 1]);
/* Checks the deploy key's form (PEM P-256 or OpenSSH ECDSA P-256/P-384,
 * unencrypted, no NUL) and gives its public half as "type base64" in *pub
 * (malloc'd, not secret). -EINVAL / -ENOTSUP / -E2BIG with err naming the
 * key type and what to use instead. */
int git_ssh_key_prepare(const uint8_t *k, size_t n, char **pub, size_t *publen, char *err,
			size_t errcap);

/* One exec channel running git-upload-pack on the server (git_ssh.c). */
struct git_ssh;
/* Connects (bounded by o->timeout_ms per wait and GIT_SSH_SESSION_MS in
 * all), checks the host key (git_ssh_pin), authenticates with o->ssh_key
 * and starts "git-upload-pack '<path>'", asking for protocol v2 with the
 * GIT_PROTOCOL=version=2 env request unless o->force_v0 (a server may ignore
 * it: the advertisement says which version runs). host_key gets the key's
 * fingerprint as soon as it is known. */
int git_ssh_open(struct git_ssh **out, const struct git_fetch_opts *o,
		 char host_key[static GIT_SSH_HOSTKEY_LEN], char *err, size_t errcap);
/* "ssh://user@host:port/path" for messages (no secret in it). */
const char *git_ssh_name(const struct git_ssh *s);
int git_ssh_write(struct git_ssh *s, const void *p, size_t n);   /* 0 or -errno */
/* Waits for stdout bytes: >0 read, 0 at the end of the stream, -ETIMEDOUT,
 * -ECONNRESET, -EIO. The server's stderr is drained meanwhile (its start is
 * kept, see git_ssh_stderr). */
long git_ssh_read(struct git_ssh *s, void *p, size_t cap);
/* The server's stderr so far, sanitised (at most GIT_MAX_MSG); "" if none. */
const char *git_ssh_stderr(const struct git_ssh *s);
void git_ssh_close(struct git_ssh *s);

/* ---- pack and objects (git_pack.c, git_obj.c) ---- */
struct git_store;
/* Indexes pack[0..len) (borrowed; must outlive the store): checks the
 * header and trailing SHA-1, inflates every entry, resolves every delta and
 * computes every object's id. */
int git_store_open(struct git_store **out, const uint8_t *pack, size_t len,
		   const struct git_limits *lim, char *err, size_t errcap);
void git_store_free(struct git_store *s);
size_t git_store_count(const struct git_store *s);
/* The object with this id: *data malloc'd (caller frees; NUL after len), its
 * SHA-1 checked again. -ENOENT if absent. */
int git_store_get(struct git_store *s, const uint8_t oid[static GIT_OID_LEN], enum git_type *t,
		  uint8_t **data, size_t *len);
/* The limits the store was opened with (fixed: no zeros). */
const struct git_limits *git_store_limits(const struct git_store *s);
/* The i-th object's id (0 <= i < count), for tests and fuzzing. */
int git_store_oid(const struct git_store *s, size_t i, uint8_t oid[static GIT_OID_LEN]);

/* Applies a git delta to base; *out malloc'd. -EBADMSG on a malformed delta
 * (copy out of bounds, size mismatch, opcode 0), -EFBIG over max_out. */
int git_delta_apply(const uint8_t *base, size_t blen, const uint8_t *delta, size_t dlen,
		    size_t max_out, uint8_t **out, size_t *olen);
/* SHA-1 of "<type> <len>\0" || data. */
void git_obj_hash(enum git_type t, const uint8_t *data, size_t len, uint8_t oid[static GIT_OID_LEN]);
const char *git_type_name(enum git_type t);

struct git_commit {
	uint8_t tree[GIT_OID_LEN];
	unsigned nparents;
	uint8_t parent0[GIT_OID_LEN];
	char author[256], committer[256];
	uint64_t author_time, commit_time;
};
int git_commit_parse(const uint8_t *p, size_t n, struct git_commit *c);

struct git_tree_entry {
	unsigned mode;              /* 040000 100644 100755 120000 160000 */
	const char *name;           /* NOT NUL-terminated: name[0..nlen) */
	size_t nlen;
	const uint8_t *oid;
};
/* Next entry of a tree at *off; 1 got one, 0 end, -EBADMSG malformed. */
int git_tree_next(const uint8_t *p, size_t n, size_t *off, struct git_tree_entry *e);

/* ---- internal, between git_pack.c and git_obj.c ---- */
struct git_pent {
	uint64_t off;               /* entry header in the pack */
	uint64_t data_off;          /* its zlib stream */
	uint64_t size;              /* inflated entry data (the delta itself for deltas) */
	uint64_t osize;             /* object size, once known */
	uint32_t base;              /* delta base entry (OFS always; REF once resolved) */
	uint8_t type;               /* pack type: 1-4, 6, 7 */
	uint8_t otype;              /* object type once known */
	uint8_t known;              /* oid is this object's id */
	uint8_t has_base;
	uint8_t chain;              /* delta chain length once known (0: whole object) */
	uint8_t oid[GIT_OID_LEN];   /* REF delta before resolution: its base's id */
};
/* Checks the header and trailer, walks every entry (inflating each to find
 * its end) and computes the ids of whole (non-delta) objects. */
int git_pack_scan(const uint8_t *p, size_t len, const struct git_limits *lim,
		  struct git_pent **ents, size_t *n, char *err, size_t errcap);
/* Inflates entry e: exactly e->size bytes, *out malloc'd with a NUL after. */
int git_pack_inflate(const uint8_t *p, size_t len, const struct git_pent *e, uint8_t **out);
/* Limits with zeros and over-maximum values replaced by the maxima. */
void git_limits_fix(const struct git_limits *in, struct git_limits *out);

/* ---- checkout (git_checkout.c) ---- */
/* Writes the commit's tree into dirfd (must be empty). Gitlinks are recorded
 * in res->subs and left as empty directories. */
int git_checkout(struct git_store *s, const uint8_t commit[static GIT_OID_LEN], int dirfd,
		 struct git_result *res, char *err, size_t errcap);

#endif
