#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes the crypto_ossl_* vectors for tests/test_crypto.c with the openssl
# CLI, an implementation independent of mbedTLS: test-only keys in the
# encodings cry_key_parse/cry_verify_sha256 accept, and signatures over
# SHA-256("sbs signature vector") made by openssl.  Run from tests/vectors/.
set -eu
openssl version | sed 's/^/# /' > crypto_ossl_sigs.txt
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out crypto_ossl_rsa.key  # PKCS#8
openssl rsa -in crypto_ossl_rsa.key -RSAPublicKey_out -out crypto_ossl_rsa_pkcs1.pub 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out crypto_ossl_ec.key  # PKCS#8
openssl ec -in crypto_ossl_ec.key -out crypto_ossl_ec_sec1.key 2>/dev/null            # SEC1
openssl pkey -in crypto_ossl_ec.key -pubout -out crypto_ossl_ec.pub
printf 'sbs signature vector' > /tmp/cry_msg.$$
for k in rsa ec; do
	openssl dgst -sha256 -sign crypto_ossl_$k.key -out /tmp/cry_sig.$$ /tmp/cry_msg.$$
	echo "$k $(od -An -v -tx1 /tmp/cry_sig.$$ | tr -d ' \n')" >> crypto_ossl_sigs.txt
done
rm -f /tmp/cry_msg.$$ /tmp/cry_sig.$$
# A CSR from openssl with two DNS names (cry_csr_info reads the first).
openssl req -new -key crypto_ossl_ec.key -subj "/C=US/O=sbs test/CN=ossl csr" \
	-addext "subjectAltName=DNS:first.example.com,DNS:second.example.com" \
	-addext "keyUsage=critical,digitalSignature" -out crypto_ossl.csr
