#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes tests/vectors/luks2_kat.txt (known answers for tests/test_luks2.c).
# Facts, not code, are taken from elsewhere, and every answer is recomputed by
# another implementation before it is written:
#  - XTS-AES: IEEE P1619/D16 (IEEE 1619-2007 Annex B) vectors 2, 4, 10, 11,
#    14, whose hex is listed in mbedTLS 2.28's tests/suites/test_suite_aes.xts.data
#    (build/src/mbedtls); each ciphertext is recomputed with the Python
#    "cryptography" package (OpenSSL's XTS; `openssl enc` has no XTS) and
#    must match.
#  - PBKDF2-HMAC-SHA256: RFC 7914 section 11 (both vectors), and the
#    RFC 6070 inputs run with SHA-256 (the values Python's test suite and
#    mbedTLS list); each is recomputed with Python's hashlib.pbkdf2_hmac and
#    `openssl kdf PBKDF2`, and must match.
# Usage: python3 tests/vectors/luks2_gen.py build/src/mbedtls > tests/vectors/luks2_kat.txt
import hashlib, re, subprocess, sys

src = sys.argv[1] + "/tests/suites/test_suite_aes.xts.data"
text = open(src).read()
out = ["# Known answers for tests/test_luks2.c, written by luks2_gen.py (origin there).",
       "# pbkdf2 <password hex> <salt hex> <iterations> <derived key hex>",
       "# xts <key hex (K1||K2)> <data unit number, decimal> <plaintext hex> <ciphertext hex>"]

def ossl_xts(key, tweak, pt):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    e = Cipher(algorithms.AES(bytes.fromhex(key)), modes.XTS(bytes.fromhex(tweak))).encryptor()
    return (e.update(bytes.fromhex(pt)) + e.finalize()).hex()

for n in (2, 4, 10, 11, 14):
    m = re.search(r"AES-\d+-XTS Encrypt IEEE P1619/D16 Vector %d\naes_encrypt_xts:"
                  r'"(\w+)":"(\w+)":"(\w+)":"(\w+)"' % n, text)
    key, tweak, pt, ct = m.groups()
    assert ossl_xts(key, tweak, pt) == ct, n
    dus = int.from_bytes(bytes.fromhex(tweak), "little")
    out.append("# IEEE P1619/D16 vector %d (checked with OpenSSL via Python cryptography)" % n)
    out.append("xts %s %d %s %s" % (key, dus, pt, ct))

def ossl_pbkdf2(pw, salt, it, n):
    r = subprocess.run(["openssl", "kdf", "-keylen", str(n), "-kdfopt", "digest:SHA256",
                        "-kdfopt", "hexpass:" + pw.hex(), "-kdfopt", "hexsalt:" + salt.hex(),
                        "-kdfopt", "iter:%d" % it, "PBKDF2"],
                       capture_output=True, check=True, text=True)
    return r.stdout.strip().replace(":", "").lower()

pb = [
    ("RFC 7914 11 vector 1", b"passwd", b"salt", 1, 64,
     "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
     "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"),
    ("RFC 7914 11 vector 2", b"Password", b"NaCl", 80000, 64,
     "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
     "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"),
    ("RFC 6070 inputs, SHA-256, c=1", b"password", b"salt", 1, 20,
     "120fb6cffcf8b32c43e7225256c4f837a86548c9"),
    ("RFC 6070 inputs, SHA-256, c=2", b"password", b"salt", 2, 20,
     "ae4d0c95af6b46d32d0adff928f06dd02a303f8e"),
    ("RFC 6070 inputs, SHA-256, c=4096", b"password", b"salt", 4096, 32, None),
    ("RFC 6070 inputs, SHA-256, long", b"passwordPASSWORDpassword",
     b"saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 40, None),
    ("RFC 6070 inputs, SHA-256, NUL bytes", b"pass\0word", b"sa\0lt", 4096, 16, None),
]
for name, pw, salt, it, n, want in pb:
    got = hashlib.pbkdf2_hmac("sha256", pw, salt, it, n).hex()
    assert got == ossl_pbkdf2(pw, salt, it, n), name
    assert want is None or got == want, name
    out.append("# %s (checked with Python hashlib and OpenSSL)" % name)
    out.append("pbkdf2 %s %s %d %s" % (pw.hex(), salt.hex(), it, got))
print("\n".join(out))
