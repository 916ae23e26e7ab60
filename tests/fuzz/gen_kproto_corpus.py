#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus of fuzz_kproto: one well-formed request of every op
# (header + payload as docs/processes.md and src/kproto.h describe them) and
# a few near misses. Deterministic.
import os, struct, sys

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "kproto")
os.makedirs(out, exist_ok=True)

def msg(op, arg, payload, length=None):
    n = len(payload) if length is None else length
    return struct.pack("<HHIiI", 1, op, arg, 0, n) + payload

def field(b):
    return struct.pack("<I", len(b)) + b

host = b"build.example.com"
seeds = {
    "has": msg(1, 1, b""),
    "pubkey-pem": msg(2, 2, b""),
    "pubkey-der": msg(3, 2, b""),
    "sign": msg(4, 0, bytes(range(32))),
    "csr": msg(5, 0, host),
    "selfsigned": msg(6, 0, struct.pack("<Qqq", 9, 1700000000, 1702592000) + host),
    "set-tls": msg(7, 0, b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"),
    "seal": msg(8, 0, field(b"s3cr3t") + field(b"2026-01-01_00-00-00.000000") + b'{"SECRET":"s3cr3t"}'),
    "open": msg(9, 0, field(b"s3cr3t") + b"U0JTVAE="),
    "bad-op": msg(42, 0, b""),
    "bad-key": msg(4, 9, bytes(32)),
    "short-hash": msg(4, 0, bytes(31)),
    "host-nul": msg(5, 0, b"a\x00b"),
    "seal-long-secret": msg(8, 0, struct.pack("<I", 0xffffffff) + b"x"),
    "len-mismatch": msg(5, 0, host, length=3),
    "version-2": struct.pack("<HHIiI", 2, 1, 0, 0, 0),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {out}", file=sys.stderr)
