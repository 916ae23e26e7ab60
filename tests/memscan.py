#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# memscan.py PID HEX... : searches every readable mapping of a process
# (/proc/PID/maps, read through /proc/PID/mem; needs root or ptrace rights)
# for each needle given as hex, in that byte order and reversed (mbedTLS
# keeps big numbers as little-endian limbs). Prints one line per needle:
# "<hex prefix> found" or "<hex prefix> absent". Exit 2 if nothing was read.
# Mappings over 2 GiB are skipped: only ASan's shadow is that large, and it
# holds no data (reading it would fault in terabytes of zero pages).
import re, sys

pid, needles = sys.argv[1], [bytes.fromhex(h) for h in sys.argv[2:]]
found = [False] * len(needles)
total = 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if not m or m.group(3)[0] != "r" or "[vsyscall]" in line or "[vvar" in line:
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        if hi - lo > (2 << 30):
            continue
        try:
            mem.seek(lo)
            data = mem.read(hi - lo)
        except (OSError, ValueError, OverflowError):
            continue
        total += len(data)
        for i, n in enumerate(needles):
            if not found[i] and (n in data or n[::-1] in data):
                found[i] = True
if total == 0:
    sys.exit(2)
for n, f in zip(needles, found):
    print(n.hex()[:16], "found" if f else "absent")
