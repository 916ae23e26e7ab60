#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The reference build contexts of `make bench` (bench/build.sh), made
# deterministically from a seed:
#   mkctx.py copy DIR SEED   2,000 files, ~200 MB: 1,000 copies of regular
#                            files from /usr (picked by the seeded RNG from the
#                            sorted list of files of 16 KiB..1 MiB, so the set
#                            depends only on the seed and the host's /usr) and
#                            1,000 files of seeded pseudo-random bytes, ~120 KB
#                            each, in 20 directories; Dockerfile: FROM busybox,
#                            COPY . /data/.
#   mkctx.py run DIR SEED    a Dockerfile of 30 RUN steps on busybox, each
#                            writing 100 small files and one 1 MiB file and
#                            deleting half of what the step before wrote.
import os
import random
import shutil
import sys


def copy_ctx(d, seed):
    rng = random.Random(seed)
    cands = []
    for top, dirs, files in os.walk("/usr"):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(top, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if os.path.isfile(p) and not os.path.islink(p) and 16384 <= st.st_size <= 1 << 20 \
                    and os.access(p, os.R_OK):
                cands.append((p, st.st_size))
    rng.shuffle(cands)
    want, got, n = 100 * 1000 * 1000, 0, 0
    for p, size in cands:
        if n == 1000:
            break
        if got + size > want * 1.1 and n < 1000:
            continue
        sub = os.path.join(d, "usr%02d" % (n % 20))
        os.makedirs(sub, exist_ok=True)
        shutil.copyfile(p, os.path.join(sub, "%04d-%s" % (n, os.path.basename(p))))
        got += size
        n += 1
    if n < 1000:
        sys.exit("mkctx: only %d files of 16 KiB..1 MiB under /usr" % n)
    for i in range(1000):
        sub = os.path.join(d, "rnd%02d" % (i % 20))
        os.makedirs(sub, exist_ok=True)
        size = rng.randint(80000, 160000)
        with open(os.path.join(sub, "%04d.bin" % i), "wb") as f:
            f.write(rng.randbytes(size))
    with open(os.path.join(d, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nCOPY . /data/\n")


def run_ctx(d, seed):
    os.makedirs(d, exist_ok=True)
    lines = ["FROM busybox", "RUN mkdir -p /w"]
    for i in range(1, 30):
        prev = "rm -f /w/s%d/*[02468]; " % (i - 1) if i > 1 else ""
        lines.append(
            "RUN %smkdir -p /w/s%d && i=0; while [ $i -lt 100 ]; do "
            "echo \"step %d file $i seed %d\" > /w/s%d/f$i; i=$((i+1)); done; "
            "head -c 1048576 /dev/zero | tr '\\0' '%c' > /w/s%d/big"
            % (prev, i, i, seed, i, chr(ord('a') + i % 26), i))
    with open(os.path.join(d, "Dockerfile"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("copy", "run"):
        sys.exit("usage: mkctx.py copy|run DIR SEED")
    d, seed = sys.argv[2], int(sys.argv[3])
    os.makedirs(d, exist_ok=True)
    (copy_ctx if sys.argv[1] == "copy" else run_ctx)(d, seed)


main()
