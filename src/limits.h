/* SPDX-License-Identifier: MIT */
/*
 * Every size and count limit of sbs, in one place. Each is checked before memory
 * is touched; input over a limit gets a specific error, never truncation.
 */
#ifndef SBS_LIMITS_H
#define SBS_LIMITS_H

/* HTTP (src/http.c). The request line plus all header lines: build.py sends
 * about 300 bytes; 8 KiB is what nginx allows by default. */
#define HTTP_MAX_HEAD        8192
#define HTTP_MAX_TARGET      1024   /* request-target, bytes */
#define HTTP_MAX_HEADERS     64     /* header lines per request */
/* A request body: init carries GITHUB_KEY and BASE_REPO_PUBLIC_KEY (a few KiB);
 * post-state-image carries a state image (tens of KiB). */
#define HTTP_MAX_BODY        (1u << 20)
#define HTTP_MAX_CHUNK_LINE  64     /* "<hex size>[;ext]\r\n" */
/* A response body the client accepts (manifests are larger than requests). */
#define HTTP_MAX_RESP_BODY   (64u << 20)

/* JSON (src/json.c): our documents are at most a few levels deep. */
#define JSON_MAX_DEPTH       64

/* Server (src/server.c). */
#define SRV_MAX_CONN         4096   /* open connections; more are refused at accept */
#define SRV_HANDSHAKE_MS     20000  /* a TLS handshake must finish in this time */
#define SRV_IDLE_MS          120000 /* keep-alive connection idle timeout */
#define SRV_MAX_OUT          (96u << 20) /* queued response bytes per connection */

/* Parameters (src/params.c): init/update body. */
#define PARAM_MAX_KEYS       96
#define PARAM_MAX_VALUE      (256u << 10)  /* one value, bytes */
#define PARAM_MAX_TOTAL      (HTTP_MAX_BODY)

/* Files in the data directory. */
#define STORE_MAX_FILE       (64u << 20)
#define PATH_MAX_SBS         512

/* State image (src/state.c). */
#define STATE_MAX_PLAIN      (512u << 10)  /* its base64 must fit in HTTP_MAX_BODY */
#define STATE_MAX_B64        (((STATE_MAX_PLAIN + 64u) / 3u + 1u) * 4u)

/* Keys (src/keeper.c): PEM of an RSA-2048 private key is ~1.7 KiB. */
#define KEY_MAX_PEM          4096
#define CERT_MAX_PEM         8192
#define SIG_MAX              512

/* Build log kept for GET /log/build. */
#define LOG_MAX_BUILD        (4u << 20)

/* Client (src/cli_*.c). */
#define CLI_MAX_CONFIG       (1u << 20)

/* Layers and manifest archives (src/arc.c, src/arc_write.c). A base image of a
 * full distribution has ~50,000 entries and a few GiB; the largest single file
 * seen in common images is well under 4 GiB, so an entry claiming 10 GB is
 * refused before a byte is written. Paths and link targets: PATH_MAX. */
#define ARC_MAX_ENTRIES      500000
#define ARC_MAX_TOTAL        (32ull << 30)  /* declared file bytes per layer */
#define ARC_MAX_FILE         (4ull << 30)   /* one regular file */
#define ARC_MAX_PATH         4096
#define ARC_MAX_LINK         4096
#define ARC_MAX_DEPTH        256            /* components of one name */
/* Tar bytes that are not file data (headers, pax records, padding) allowed
 * per entry, on top of ARC_META_BASE: bounds zero-block and pax-header bombs. */
#define ARC_META_PER_ENTRY   (8u << 10)
#define ARC_META_BASE        (8u << 20)
#define ARC_RM_DEPTH         1024           /* recursion of arc_remove_tree */
#define ARC_IO_BLOCK         (128u << 10)   /* read/write buffer */
#define ARC_GZIP_LEVEL       6              /* fixed: part of the layer digest */
/* The manifest .tbz: build.json, build.log (LOG_MAX_BUILD) and a git checkout. */
#define ARC_TBZ_MAX_ENTRIES  200000
#define ARC_TBZ_MAX_TOTAL    (1ull << 30)
#define ARC_TBZ_MAX_FILE     (256ull << 20)

/* Dockerfile parser (src/dockerfile.c) and .dockerignore (src/dockerignore.c).
 * Real Dockerfiles are a few KiB with tens of instructions; heredocs may embed
 * small scripts or config files. Every count is checked before it grows. */
#define DF_MAX_FILE          (1u << 20)   /* Dockerfile bytes */
#define DF_MAX_LINE          (256u << 10) /* one physical or joined logical line */
#define DF_MAX_INSTRUCTIONS  2048   /* more layers than any storage driver stacks */
#define DF_MAX_ARGS          1024   /* strings per instruction: words, JSON elements,
                                       keys and values (a pair counts two) */
#define DF_MAX_FLAGS         8      /* --flags on one instruction */
#define DF_MAX_STAGES        64     /* FROM instructions */
#define DF_MAX_HEREDOCS      16     /* <<EOF documents on one instruction */
#define DF_MAX_NOTES         64     /* warnings kept; later ones are counted only */
/* One df_expand() output, and all expansions of one instruction together (a
 * COPY heredoc body may be as large as the file). */
#define DF_MAX_EXPANSION     (1u << 20)
#define DF_MAX_EXPAND_DEPTH  16     /* ${a:-${b:-...}} nesting */
#define DF_MAX_VARS          1024   /* variables in one table (build args, ARGs, ENV) */
#define DF_MAX_VAR_BYTES     (1u << 20)   /* names and values in one variable table */
#define DF_MAX_NAME          256    /* stage name, heredoc delimiter */
#define DI_MAX_FILE          (1u << 20)   /* .dockerignore bytes */
#define DI_MAX_RULES         4096   /* patterns */
#define DI_MAX_PATTERN       4096   /* one pattern, bytes */
#define DI_MAX_PATH          4096   /* a context path handed to di_match (PATH_MAX) */

/* HTTP(S) client (src/hcl.c), used for git, registries and S3. */
#define HCL_MAX_URL          2048   /* a whole URL, bytes */
#define HCL_MAX_HOST         253    /* a DNS name (RFC 1035) */
#define HCL_MAX_CRED         1024   /* user or password (tokens are ~40-200 bytes) */
#define HCL_MAX_REQ_HEAD     16384  /* our request head, with every header */
#define HCL_MAX_REDIRECTS    5      /* as curl's and git's defaults are small too */
#define HCL_IO_TIMEOUT_MS    30000  /* one wait for the peer (connect, read, write) */
#define HCL_REQUEST_MS       900000 /* one whole request, redirects included */
#define HCL_MAX_ERR_BODY     65536  /* an error page kept when the body would stream */

/* git (src/git_*.c). Sizes as GitHub enforces them or below: a blob over
 * 100 MiB is refused by GitHub; a pack of a shallow fetch of a large project
 * is some hundreds of MiB. */
#define GIT_MAX_PKT          65520  /* pkt-line, length prefix included (gitprotocol-common) */
#define GIT_MAX_ADV          (64u << 20)   /* info/refs and ls-refs responses */
#define GIT_MAX_PACK         (1ull << 31)  /* packfile bytes received */
#define GIT_MAX_OBJECT       (256u << 20)  /* one object, inflated (and one delta) */
#define GIT_MAX_OBJECTS      (1u << 21)    /* objects in one pack (index: ~56 bytes each) */
#define GIT_MAX_DELTA_DEPTH  64     /* delta chain length; git repacks with --depth=50 */
#define GIT_CACHE_BYTES      (64u << 20)   /* resolved delta bases kept in memory */
#define GIT_MAX_DEPTH        1000   /* commits asked for with "deepen" */
#define GIT_MAX_REFNAME      1024   /* a ref name in an advertisement */
#define GIT_MAX_PATH         4096   /* a path in the checkout, bytes */
#define GIT_MAX_TREE_DEPTH   256    /* directories nested in the checkout */
#define GIT_MAX_ENTRIES      (1u << 22)    /* files, dirs and links written by a checkout */
#define GIT_MAX_CHECKOUT     (8ull << 30)  /* bytes written by a checkout */
#define GIT_MAX_SUBMODULES   1024   /* gitlinks recorded */
#define GIT_MAX_MSG          256    /* server text (ERR, band 3) kept for an error */
/* git over SSH (src/git_ssh.c). A deploy key is one PEM or OpenSSH text
 * (ECDSA: ~0.5 KiB; RSA 4096, read and then refused: ~3.3 KiB); a host key
 * blob is ~100 bytes (ECDSA; RSA 8192 would be ~1 KiB). The session deadline
 * bounds a server that trickles bytes just inside the per-wait timeout, as
 * HCL_REQUEST_MS does for HTTP. */
#define GIT_SSH_IO_MS        30000  /* one wait for the server (connect, read, write) */
#define GIT_SSH_SESSION_MS   900000 /* one whole SSH fetch */
#define GIT_SSH_MAX_KEY      16384  /* the deploy key text (GITHUB_KEY) */
#define GIT_SSH_MAX_HOSTKEY  2048   /* the server's host key blob */
#define GIT_SSH_MAX_PINS     (256u << 10)  /* the known-hosts pin file */
#define GIT_SSH_MAX_USER     64     /* the user name in an SSH URL ("git") */
#define GIT_SSH_HOSTKEY_LEN  128    /* "<type> SHA256:<b64>" (git_result.host_key) */

/* Appliance init (src/init.c) and hal se (hal/hal_se.c). Waits are bounded
 * so a missing device or a stuck server ends in a clear console message and a
 * power-off, never a hang. Under QEMU TCG the kernel RNG is ready within
 * about a second; virtio-rng makes it immediate. */
#define INIT_RNG_WAIT_MS     30000  /* kernel RNG initialisation */
#define INIT_DEV_WAIT_MS     10000  /* eth0 and /dev/vda to appear */
#define INIT_STOP_MS         10000  /* server stop on power-off, then SIGKILL */
#define INIT_POLL_MS         10
#define INIT_MAX_CMDLINE     4096   /* /proc/cmdline (COMMAND_LINE_SIZE on s390x) */
#define INIT_MAX_ENV         (64u << 10) /* /etc/sbs/env: a few certificates */
#define INIT_RSS_WAIT_MS     60000  /* sbs.rss=1: wait for the server to listen */
#define INIT_MAX_DNS         3      /* sbs.dns= name servers (musl's MAXNS) */
#define SE_MKFS_WAIT_MS      120000 /* mke2fs of a fresh volume under TCG */
#define SE_MAX_SEED          256    /* one volume seed (SBS_WORKLOAD_SEED, SBS_ENV_SEED); ours are 64 hex */
/* Attestation (hal/uv.c). The ARCB comes from the deploy-time env, the nonce
 * from a client: both bounded before anything is allocated. */
#define SE_MAX_NONCE         64     /* bytes of nonce in the user data (after the 32-byte SPKI hash) */
#define SE_MAX_ARCB          (1u << 20)   /* attestation request CB (the kernel's UVIO_ATT_ARCB_MAX_LEN) */
#define SE_MAX_MEAS          0x8000 /* measurement (UVIO_ATT_MEASUREMENT_MAX_LEN) */
#define SE_MAX_ADD           0x8000 /* additional data (UVIO_ATT_ADDITIONAL_MAX_LEN) */
#define SE_MAX_EVIDENCE      (SE_MAX_ARCB + SE_MAX_MEAS + SE_MAX_ADD + 0x200) /* exchange file */

/* LUKS2 data volume (hal/luks2.c, hal/dm.c). The header is read from a disk
 * the host controls, so every count and size in it is bounded here. */
#define LUKS2_MAX_HDR_SIZE   (4u << 20)  /* one header copy: cryptsetup's largest metadata size */
#define LUKS2_MAX_KEYSLOTS   32     /* keyslots tried (cryptsetup's LUKS2_KEYSLOTS_MAX) */
#define LUKS2_MAX_DIGESTS    8      /* digests considered (cryptsetup's LUKS2_DIGEST_MAX) */
#define LUKS2_MAX_SALT       64     /* KDF and digest salt, bytes (cryptsetup writes 32) */
#define LUKS2_MAX_PASSPHRASE 1024   /* ours is 64 hex characters */
/* PBKDF2 iterations accepted from a header, keyslot or digest: bounds what a
 * forged header can make an unlock cost (2 s of cryptsetup's benchmark on a
 * fast host is a few million). */
#define LUKS2_MAX_KDF_ITER   16000000u
#define DM_MAX_NAME          127    /* device-mapper name (DM_NAME_LEN - 1) */
#define DM_MAX_TABLE         512    /* one crypt target line: hex key + devices */

/* Registry client (src/reg.c, src/reg_json.c). A registry is untrusted: every
 * size it declares or sends is bounded before it is used. */
#define REG_MAX_REPO         255    /* repository path (distribution's limit) */
#define REG_MAX_TAG          128    /* tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}) */
#define REG_MAX_MEDIATYPE    127
#define REG_MAX_MANIFEST     (4u << 20)    /* a manifest or index (distribution: 4 MiB) */
#define REG_MAX_CONFIG       (8u << 20)    /* an image config blob */
#define REG_MAX_LAYERS       256    /* layers of one image */
#define REG_MAX_INDEX        1024   /* entries of one index */
#define REG_MAX_TOKEN        (64u << 10)   /* a token response body */
#define REG_MAX_BLOB         (16ull << 30) /* one layer blob */
#define REG_RETRIES          4      /* retries after the first try (5 tries) */
#define REG_BACKOFF_MS       500    /* first retry delay; doubles */
#define REG_CHUNK            (8u << 20)    /* PATCH chunk of a blob upload */
#define REG_TOKEN_MAX_TTL    86400  /* s; a longer token lifetime is taken as a day */
#define REG_MAX_BACKOFF_MS   30000  /* one retry delay never exceeds this */
#define REG_MAX_BEARER       8192   /* one Bearer token (JWTs of Docker Hub, GHCR: ~1-2 KiB) */
#define REG_TOKEN_SLOTS      4      /* scopes with a cached token (a base pull, a push, signatures) */

/* RUN sandbox (src/sandbox.c) and snapshots (src/snap.c). */
#define SBX_MAX_ARGS         4096
#define SBX_MAX_ENV          4096
#define SBX_TIMEOUT_S        3600   /* one RUN step */
#define SBX_MAX_ARG_BYTES    (1u << 20)  /* argv + envp bytes (the kernel's own cap is ARG_MAX-ish) */
#define SBX_MAX_USER         256    /* bytes of a USER value */
#define SBX_MAX_GROUPS       64     /* supplementary groups of a USER (docker: from /etc/group) */
#define SBX_MAX_PATH         4096   /* a path the sandbox builds (rootfs, workdir, PATH entry) */
#define SBX_MAX_IDFILE       (1u << 20)  /* an image's /etc/passwd or /etc/group */
#define SBX_DEV_BYTES        (16u << 20) /* the tmpfs at /dev of a step */
#define SBX_SHM_BYTES        (64u << 20) /* the tmpfs at /dev/shm (docker's default) */
/* cgroup v2 limits of a RUN step (the appliance only, src/sandbox_cg.c) */
#define SBX_CG_MEM_RESERVE   (96ull << 20) /* RAM kept from a step for sbsd, its buffers and the kernel */
#define SBX_CG_MEM_MIN       (64ull << 20) /* memory.max never below this on a tiny machine */
#define SBX_CG_PIDS_MAX      4096   /* tasks of one step (a fork bomb stops here) */
#define SBX_CG_RMDIR_TRIES   200    /* removing the step's group after it died ... */
#define SBX_CG_RMDIR_POLL_MS 10     /* ... every 10 ms: at most 2 s */
#define SNAP_MAX_ENTRIES     2000000 /* paths recorded in one snapshot */

/* Image build (src/image.c). */
#define IMG_MAX_STAGES       DF_MAX_STAGES
#define IMG_MAX_COPY_FILES   1000000 /* files one COPY/ADD may place */
#define IMG_MAX_CONFIG_JSON  (1u << 20) /* the image config we write */
#define IMG_MAX_PORTS        4096   /* EXPOSE ports of one image (ranges expanded) */
#define IMG_MAX_COPY_DEPTH   256    /* directory depth of one COPY source tree */

/* The builder process (src/builder.c). */
#define BUILD_SIGN_WAIT_MS   30000  /* the API's answer to a sign request */
#define BUILD_MAX_CA         (4u << 20)    /* a CA bundle (Debian's is ~200 KiB) */
#define API_MAX_MANIFEST     (48u << 20)   /* a .sig.tbz served by GET /manifest: its
					    * base64 stays under the client's 64 MiB */

/* Signatures, provenance, manifests (src/sigstore.c, src/prov.c, src/mfst.c).
 * A registry and a manifest file are untrusted: every size is bounded here. */
#define SIG_MAX_PAYLOAD      (64u << 10)   /* a cosign simple-signing payload */
#define SIG_MAX_ENVELOPE     (4u << 20)    /* a DSSE envelope */
#define SIG_MAX_STATEMENT    (3u << 20)    /* the statement inside (3/4 of its base64) */
#define SIG_MAX_LAYERS       64     /* signatures in one .sig/.att manifest (cosign appends) */
#define SIG_MAX_ENV_SIGS     16     /* signatures in one DSSE envelope */
#define SIG_MAX_B64SIG       1024   /* base64 of one signature (SIG_MAX bytes of DER) */
#define SIG_MAX_ATT_MANIFEST (256u << 10)  /* a .sig/.att manifest: 64 layers of ~1 KiB */
#define SIG_MAX_FIELD        1024   /* a docker-reference, creator or keyid string */
#define SIG_MAX_CA_FILE      (4u << 20)    /* `sbs verify --ca`: a CA bundle (Debian's ~200 KiB) */
#define MFST_MAX_LOG         (64u << 20)   /* build.log put into a manifest */
#define MFST_MAX_SIZE        (256u << 20)  /* one .sig.tbz */
#define MFST_MAX_NAME        255    /* "manifest.<build_name>" (a file name) */

/* Object storage: S3 API client (src/s3.c) and IBM IAM tokens (src/iam.c).
 * A store and an IAM endpoint are untrusted peers: every reply is bounded. */
#define S3_PART_SIZE         (8u << 20)    /* multipart part; objects up to this go in one PUT */
#define S3_MIN_PART_SIZE     (5u << 20)    /* S3's smallest non-last part (SBS_S3_PART_SIZE, a
					    * test-only override, may go below it) */
#define S3_MAX_PARTS         10000  /* S3's limit on parts of one upload */
#define S3_MAX_KEY           1024   /* an object key, bytes (S3's limit) */
#define S3_MAX_BUCKET        63     /* a bucket name (S3 and IBM COS: 3-63) */
#define S3_MAX_REGION        64     /* a SigV4 region name */
#define S3_MAX_XML           (64u << 10)   /* one XML reply (error, initiate, complete) */
#define S3_MAX_XML_DEPTH     16     /* element nesting the XML reader follows */
#define S3_MAX_UPLOAD_ID     1024   /* an UploadId (AWS: ~130 bytes) */
#define S3_MAX_ETAG          128    /* an ETag value ("<32 hex>-<parts>" with quotes) */
#define S3_MAX_OBJECT        (256u << 20)  /* one object fetched into memory (a state image) */
#define S3_RETRIES           4      /* retries after the first try of one request (5 tries) */
#define S3_BACKOFF_MS        500    /* first retry delay; doubles up to S3_MAX_BACKOFF_MS */
#define S3_MAX_BACKOFF_MS    8000   /* one retry delay */
#define S3_MAX_SECRET        256    /* an HMAC access key id or secret access key */
#define IAM_MAX_REPLY        (64u << 10)   /* an IAM token response (JWT ~1-2 KiB, refresh token) */
#define IAM_MAX_TOKEN        8192   /* one access_token (an IAM JWT is ~1.5 KiB) */
#define IAM_MAX_APIKEY       256    /* an IBM Cloud API key (44 characters) */
#define IAM_REFRESH_S        60     /* a cached token is replaced this long before it expires */
#define IAM_MAX_TTL          86400  /* a longer lifetime is taken as a day */

/* The keeper channel (src/kproto.c): the API process and the keeper process
 * exchange one header packet and then the payload in packets of at most
 * KEEPER_CHUNK bytes over a SOCK_SEQPACKET socketpair. The largest request is
 * a state image to open (its base64 plus SECRET), the largest answer a sealed
 * state image: KEEPER_MAX_MSG bounds both, checked from the header before
 * anything is allocated. */
#define KEEPER_CHUNK         (32u << 10)   /* fits a socket's default send buffer */
#define KEEPER_MAX_MSG       (STATE_MAX_B64 + PARAM_MAX_VALUE + 256u)
#define KEEPER_MAX_HOST      253    /* a DNS name in a CSR or self-signed certificate */
#define KEEPER_MAX_TS        40     /* the "created" time stamp of a state image */
#define KEEPER_WAIT_MS       180000 /* one answer: RSA-2048 generation takes ~1 s on hardware,
				      * over 30 s in an emulated s390x guest on a loaded host */

/* git submodules (src/git_submod.c, GITHUB_RECURSE_SUBMODULES). */
#define GIT_MAX_SUBMODULE_DEPTH 8   /* nesting: a submodule's submodule is depth 2 */
#define GIT_MAX_GITMODULES   (1u << 20)    /* a .gitmodules blob (real ones are < 10 KiB) */
#define GIT_MAX_SUBMODULE_NAME 1024 /* a [submodule "name"] */
#define GIT_SUBMODULE_DEEPEN 200    /* history fetched when a server refuses a commit by id */

/* Parallel gzip of layers (src/arc_gz.c). The input is cut into blocks of
 * ARC_GZ_BLOCK bytes, each deflated on its own (primed with the 32 KiB before
 * it) and ended on a byte boundary: the block size is part of the layer
 * digest, the thread count is not. ARC_GZ_SLOTS blocks per thread are in
 * flight at most (memory: ~2.3 * ARC_GZ_BLOCK per slot plus ~300 KiB of zlib
 * state per thread, ~5 MiB at the cap). */
#define ARC_GZ_BLOCK         (128u << 10)
#define ARC_GZ_MAX_THREADS   8              /* compressor threads at most */
#define ARC_GZ_SLOTS         2              /* blocks in flight per thread */
/* A block is stored (not deflated) when at least ARC_GZ_RAND_MIN of its 16
 * probes of ARC_GZ_PROBE bytes look like random bytes: a byte histogram whose
 * sum of squared counts is within 10% of a uniform one's (order-2 entropy
 * >= ~7.86 bits/byte). Deflate would gain < 1% there at ~30 MB/s. */
#define ARC_GZ_PROBE         (8u << 10)
#define ARC_GZ_RAND_MIN      14

_Static_assert(STATE_MAX_B64 + 128 <= HTTP_MAX_BODY, "a state image must fit in a request");

#endif
