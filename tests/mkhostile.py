#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes hostile and valid tar layers with Python's tarfile (an implementation
independent of sbs) for tests/it_arc.sh.

usage: mkhostile.py OUTDIR CANARY_DIR

CANARY_DIR is the absolute path of a directory outside the extraction root
that no archive may change. OUTDIR/cases.txt gets one line per case:
    name|archive|expect|words|options
expect is "ok" or "refused"; words must appear in the refusal; options are
extra arguments for `test_arc unpack` (limits). Archives are written at test
time and never committed.
"""
import gzip
import io
import os
import sys
import tarfile

MTIME = 1600000000


def info(name, kind=tarfile.REGTYPE, size=0, link="", mode=0o644):
    t = tarfile.TarInfo(name)
    t.type = kind
    t.size = size
    t.linkname = link
    t.mode = mode
    t.mtime = MTIME
    return t


def reg(name, data=b"x", mode=0o644):
    return (info(name, size=len(data), mode=mode), data)


def sym(name, target):
    return (info(name, tarfile.SYMTYPE, link=target, mode=0o777), None)


def hard(name, target):
    return (info(name, tarfile.LNKTYPE, link=target), None)


def dirent(name, mode=0o755):
    return (info(name, tarfile.DIRTYPE, mode=mode), None)


def write(path, members, fmt=tarfile.PAX_FORMAT, gz=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for ti, data in members:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    if gz:
        raw = gzip.compress(raw, mtime=0)
    with open(path, "wb") as f:
        f.write(raw)


def write_huge(path, fmt):
    """A header claiming 10 GB followed by a few bytes: the file stays small."""
    t = info("huge.bin", size=10 * 1000 * 1000 * 1000)
    with open(path, "wb") as f:
        f.write(t.tobuf(format=fmt, encoding="utf-8", errors="surrogateescape"))
        f.write(b"only a few bytes" + b"\0" * 496)


def main():
    out, canary = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    secret = os.path.join(canary, "secret")
    cases = []

    def case(name, members, expect, words="", opts="", **kw):
        ext = ".tar.gz" if kw.get("gz") else ".tar"
        path = os.path.join(out, name + ext)
        write(path, members, **kw)
        cases.append((name, path, expect, words, opts))

    case("traversal", [reg("../../etc/x")], "refused", "escapes the root")
    case("traversal-mid", [dirent("a/"), reg("a/../../x")], "refused", "escapes the root")
    case("traversal-gnu", [reg("../canary/secret", b"pwned")], "refused", "escapes the root",
         fmt=tarfile.GNU_FORMAT)
    case("absolute", [reg("/etc/abs-x", b"inside")], "ok")
    case("abs-symlink-escape", [sym("s", "/etc"), reg("s/passwd")], "refused", "symlink in path")
    case("abs-symlink-canary", [sym("s", canary), reg("s/secret", b"pwned")], "refused",
         "symlink in path", gz=True)
    case("rel-symlink-escape", [sym("s", "../../"), reg("s/passwd")], "refused",
         "symlink in path")
    case("symlink-chain", [sym("a", "b"), sym("b", canary), reg("a/secret", b"pwned")],
         "refused", "symlink in path")
    case("symlink-then-write", [sym("link", secret), reg("link", b"replaced")], "ok")
    case("rel-symlink-then-write", [sym("link", "../canary/secret"), reg("link", b"new")], "ok")
    case("symlink-dir-then-file", [sym("dir", "../canary"), reg("dir/file", b"pwned")],
         "refused", "symlink in path")
    case("hardlink-abs", [hard("h", "/etc/passwd")], "refused", "hardlink target not found")
    case("hardlink-rel", [hard("h", "../x")], "refused", "hardlink target escapes")
    case("hardlink-canary", [hard("h", "../canary/secret")], "refused",
         "hardlink target escapes")
    case("hardlink-via-symlink", [sym("l", secret), hard("h", "l")], "refused",
         "not a regular file")
    case("hardlink-through-dir-symlink", [sym("d", canary), hard("h", "d/secret")],
         "refused", "symlink in path")
    chr_ = info("dev/null", tarfile.CHRTYPE)
    chr_.devmajor, chr_.devminor = 1, 3
    case("char-device", [(chr_, None)], "refused", "character device node refused")
    blk = info("dev/sda", tarfile.BLKTYPE)
    blk.devmajor, blk.devminor = 8, 0
    case("block-device", [(blk, None)], "refused", "block device node refused")
    case("fifo", [(info("p", tarfile.FIFOTYPE), None)], "refused", "fifo refused")
    for fmt, fname in ((tarfile.GNU_FORMAT, "gnu"), (tarfile.PAX_FORMAT, "pax")):
        path = os.path.join(out, "huge-%s.tar" % fname)
        write_huge(path, fmt)
        cases.append(("huge-" + fname, path, "refused", "layer entry too large", ""))
    case("too-many-entries", [reg("f%05d" % i, b"") for i in range(1500)], "refused",
         "too many entries", "-e 1000")
    long_path = "/".join(["p" * 200] * 25)  # 5024 bytes
    case("path-too-long", [reg(long_path)], "refused", "path too long")
    case("path-too-deep", [reg("/".join(["d"] * 300))], "refused", "path too deep")
    case("truncated", [reg("ok", b"fine")], "refused", "malformed")
    with open(os.path.join(out, "truncated.tar"), "r+b") as f:   # cut inside the data
        f.truncate(600)
    case("garbage", [], "refused", "not a tar archive")
    with open(os.path.join(out, "garbage.tar"), "wb") as f:
        f.write(b"this is not a tar archive at all\n" * 40)

    # valid layers: a lower one, then whiteouts and an opaque directory
    case("lower", [dirent("a/"), reg("a/x"), dirent("a/sub/"), reg("a/sub/z"),
                   dirent("b/"), reg("b/keep"), reg("b/stay"), dirent("c/"), reg("c/f"),
                   sym("c/link", "f"), dirent("gone/"), reg("gone/f")], "layer")
    case("upper", [dirent("a/"), reg("a/.wh..wh..opq", b""), reg("a/new", b"n"),
                   reg("b/.wh.keep", b""), reg(".wh.gone", b""), reg("c/.wh.link", b""),
                   dirent("c/d/"), reg("c/d/f2"), hard("c/hl", "c/f")], "layer", gz=True)
    # the opaque marker after the layer's own entries still keeps them
    case("upper-late-opq", [reg("a/late", b"l"), reg("a/.wh..wh..opq", b"")], "layer")

    with open(os.path.join(out, "cases.txt"), "w") as f:
        for c in cases:
            f.write("|".join(c) + "\n")


if __name__ == "__main__":
    main()
