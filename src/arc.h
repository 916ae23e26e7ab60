/* SPDX-License-Identifier: MIT */
/*
 * arc: tar archives, the image layers and the manifest .tbz. src/arc.c is the
 * only file that includes libarchive's headers (reading); src/arc_write.c
 * writes tar itself (byte-stable, locale-free) and compresses with zlib or
 * bzip2. docs/layers.md explains the rules below in prose.
 *
 * Reading (arc_unpack_*): an untrusted tar, plain or gzip or bzip2 (found by
 * magic), is placed below rootfd, an O_DIRECTORY (O_PATH is fine) fd of the
 * root. Names are normalised: leading "/" and "./" stripped, "." and empty
 * components dropped, ".." resolved lexically and refused if it would leave
 * the root. Every parent directory is opened with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS) where the kernel has it, else by
 * a walk of O_NOFOLLOW opens; either way a symlink in a parent is refused
 * ("symlink in path"), so nothing is ever written through a symlink, while a
 * symlink itself may point anywhere (it is only data). Regular files are
 * written under a temporary name and renamed into place (which replaces a
 * symlink, never follows it); hardlinks must name a regular file already in
 * the root; device nodes, FIFOs and sockets are refused. OCI whiteouts
 * (".wh.NAME", ".wh..wh..opq") act on what lower layers left in the root and
 * never on this layer's own entries, wherever the marker sits in the stream.
 * Every limit of struct arc_limits is checked before the entry touches the
 * disk. Directory modes and mtimes are applied when the archive ends.
 *
 * Errors: 0 or a negative errno; err (if errcap > 0) gets one line naming the
 * entry (index and sanitised name) and the reason. -EPERM refused entry
 * (escape, device, symlink in path: -ELOOP), -EFBIG/-E2BIG/-ENAMETOOLONG a
 * limit, -EBADMSG malformed archive, other -errno from the file system. On
 * error the entries before the failing one stay in place (the caller throws
 * the root away); no file is ever left half-written under its final name.
 *
 * Writing (arc_write_layer, arc_tbz_create): entries sorted bytewise by name
 * (parents first), mtimes clamped to the given epoch, uname/gname empty, no
 * atime/ctime/xattrs, ustar headers with a pax 'x' header only for what ustar
 * cannot hold, two zero blocks at the end; gzip with a fixed 10-byte header
 * (no name, mtime 0, OS 255), deflated in parallel in independent 128 KiB
 * blocks (src/arc_gz.c) whose bytes never depend on the thread count. The
 * output goes to an fd while SHA-256 of the tar (diff_id) and of the
 * compressed blob are computed; nothing is held in memory beyond a bounded
 * number of blocks and the sorted name list. No secrets here.
 */
#ifndef SBS_ARC_H
#define SBS_ARC_H

#include <stddef.h>
#include <stdint.h>

struct arc_limits {
	uint64_t max_entries;  /* tar entries (whiteouts and dirs included) */
	uint64_t max_total;    /* sum of declared regular-file sizes */
	uint64_t max_file;     /* declared size of one regular file */
	uint64_t max_path;     /* bytes of an entry name as stored */
	uint64_t max_link;     /* bytes of a symlink or hardlink target */
	uint64_t max_depth;    /* components of a normalised name */
};
/* Defaults from src/limits.h: ARC_MAX_* for layers, ARC_TBZ_MAX_* for manifests. */
void arc_limits_layer(struct arc_limits *l);
void arc_limits_tbz(struct arc_limits *l);

enum {
	ARC_U_KEEP_SETID  = 1, /* keep setuid/setgid bits (default: cleared) */
	ARC_U_CHOWN       = 2, /* chown to the archive's ids; only when euid is 0 */
	ARC_U_NO_WHITEOUT = 4, /* ".wh." names are plain names (manifests) */
};

enum arc_type {
	ARC_T_FILE = 1, ARC_T_DIR, ARC_T_SYMLINK, ARC_T_HARDLINK, ARC_T_WHITEOUT, ARC_T_OPAQUE
};

/* One entry as placed (for the caller's records, e.g. owners when unpacking
 * without privileges). Strings live until the callback returns. */
struct arc_entry_info {
	const char *path;      /* normalised; "" is the root; whiteout: the deleted path */
	enum arc_type type;
	uint32_t mode;         /* permission bits as applied */
	uint64_t uid, gid;     /* from the archive */
	int64_t mtime;
	uint64_t size;
	const char *link;      /* symlink or hardlink target (normalised), else NULL */
};
/* Return 0 to go on, a negative errno to stop the unpack with that code. */
typedef int (*arc_entry_fn)(void *ctx, const struct arc_entry_info *e);

struct arc_unpack_opts {
	const struct arc_limits *lim; /* NULL: arc_limits_layer() */
	unsigned flags;               /* ARC_U_* */
	arc_entry_fn on_entry;        /* optional */
	void *ctx;
};

struct arc_stats {
	uint64_t entries, files, dirs, symlinks, hardlinks, whiteouts, opaques;
	uint64_t bytes;                /* regular-file bytes written */
};

/* Streaming input: fill buf[0..cap); return bytes (> 0), 0 at end, or -errno. */
typedef long (*arc_read_fn)(void *ctx, uint8_t *buf, size_t cap);

int arc_unpack_layer(const uint8_t *p, size_t len, int rootfd, const struct arc_unpack_opts *o,
		     struct arc_stats *st, char *err, size_t errcap);
int arc_unpack_layer_cb(arc_read_fn rd, void *rctx, int rootfd, const struct arc_unpack_opts *o,
			struct arc_stats *st, char *err, size_t errcap);

/* ---- helpers shared with the writer and useful to the builder ---- */

/* Normalises an archive name as above into out (NUL-terminated, "" = root).
 * Returns the number of components, -EPERM if ".." leaves the root,
 * -ENAMETOOLONG if out is too small or a component is over 259 bytes
 * (NAME_MAX plus ".wh."),
 * -EMLINK over max_depth components. */
int arc_path_norm(const char *in, char *out, size_t cap, uint64_t max_depth);
/* Opens directory dir (normalised, "" = root) below rootfd as O_PATH, never
 * following a symlink (-ELOOP); create: missing components are made (0755).
 * Returns the fd or -errno (-ENOTDIR if a component is not a directory). */
int arc_open_dir(int rootfd, const char *dir, int create);
/* Opens the parent of path (normalised, not "") like arc_open_dir; *base
 * points into path at the last component. */
int arc_open_parent(int rootfd, const char *path, int create, const char **base);
/* rm -rf of name in dirfd: never follows a symlink, makes owner-unwritable
 * directories writable to empty them, bounded depth (-ELOOP). ENOENT is 0. */
int arc_remove_tree(int dirfd, const char *name);

/* ---- writing ---- */

enum arc_change_kind {
	ARC_ADD = 1,     /* the path itself (file, dir, symlink) as it is in the tree */
	ARC_ADD_TREE,    /* the path and everything below it ("" = the whole tree) */
	ARC_WHITEOUT,    /* the path was deleted: ".wh.<name>" */
	ARC_OPAQUE       /* the directory replaces the lower one: dir + ".wh..wh..opq" */
};
struct arc_change {
	const char *path;      /* relative to the root, normalised by arc_path_norm */
	enum arc_change_kind kind;
};

struct arc_write_opts {
	int64_t epoch;                /* SOURCE_DATE_EPOCH: mtime = min(mtime, epoch) */
	int level;                    /* gzip level 1..9; 0 = ARC_GZIP_LEVEL */
	const struct arc_limits *lim; /* NULL: arc_limits_layer() */
	int threads;                  /* gzip worker threads; 0 = from the CPU count
				       * (capped by ARC_GZ_MAX_THREADS); never
				       * changes the output bytes */
};

struct arc_digests {
	uint8_t blob[32];      /* SHA-256 of the compressed output (layer digest) */
	uint8_t diff_id[32];   /* SHA-256 of the uncompressed tar */
	uint64_t blob_size, tar_size, entries;
};

/* Writes a gzip'd layer of the changes (any order; duplicates merged; missing
 * parent directories added from the tree) to outfd. Owners are the numeric
 * ids of the files; the same inode met twice becomes a hardlink entry to the
 * first name. Sockets are skipped; FIFOs and devices refused (-EPERM); a file
 * that changes size while read gives -EAGAIN. */
int arc_write_layer(int rootfd, const struct arc_change *ch, size_t n,
		    const struct arc_write_opts *o, int outfd, struct arc_digests *out,
		    char *err, size_t errcap);

/* A member given as bytes (manifest files, the .sig). mode 0 = 0644. */
struct arc_mem_file {
	const char *name;
	const uint8_t *p;
	size_t len;
	uint32_t mode;
};
/* Writes a tar.bz2 of the files plus, if treefd >= 0, the whole tree below
 * treefd under tree_prefix (e.g. "git"). Owners 0, mtimes: mtime for the
 * files and directories made up, min(file's, mtime) for the tree. */
int arc_tbz_create(const struct arc_mem_file *files, size_t nfiles, int treefd,
		   const char *tree_prefix, int64_t mtime, int outfd, struct arc_digests *out,
		   char *err, size_t errcap);

/* Reading a .tbz (bounded by arc_limits_tbz unless lim is given). list calls
 * fn for every entry without writing anything; get copies one regular member
 * (by normalised name) into a malloc'd buffer (+ NUL), -ENOENT if absent,
 * -EFBIG over max; extract is arc_unpack_layer with ARC_U_NO_WHITEOUT. */
int arc_tbz_list(const uint8_t *p, size_t len, const struct arc_limits *lim,
		 arc_entry_fn fn, void *ctx, char *err, size_t errcap);
int arc_tbz_get(const uint8_t *p, size_t len, const char *name, size_t max,
		uint8_t **out, size_t *olen, char *err, size_t errcap);
int arc_tbz_extract(const uint8_t *p, size_t len, int rootfd, const struct arc_limits *lim,
		    struct arc_stats *st, char *err, size_t errcap);

#endif
