/* SPDX-License-Identifier: MIT */
/*
 * mbedTLS 2.28 build configuration for sbs. Everything not listed is compiled
 * out. sbs needs: a TLS 1.2 server with mandatory client certificates, a TLS 1.2
 * client (sbs, later registries and git hosts), X.509 parse/write (certs, CSRs),
 * RSA-2048 and ECDSA P-256 keys and signatures, PEM/base64. No file system, no
 * sockets, no threads inside mbedTLS: sbs does its own I/O (crypto/ is pure).
 */
#ifndef SBS_MBEDTLS_CONFIG_H
#define SBS_MBEDTLS_CONFIG_H

/* system */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_NO_PLATFORM_ENTROPY   /* entropy comes from the caller's RNG */
#define MBEDTLS_DEPRECATED_REMOVED

/* speed-ups the issue asks for */
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 1
#define MBEDTLS_ECP_WINDOW_SIZE 6
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_TICKET_C
/* P-256 ECDSA and ECDH on BearSSL's constant-time p256_m31 code, 3-4x faster
 * than mbedTLS's generic ecp arithmetic for verify and shared secret (TLS
 * handshakes are bound by these). crypto/cry_p256.c defines the functions;
 * other curves take the same generic path the library would. */
#define MBEDTLS_ECDSA_SIGN_ALT
#define MBEDTLS_ECDSA_VERIFY_ALT
#define MBEDTLS_ECDH_GEN_PUBLIC_ALT
#define MBEDTLS_ECDH_COMPUTE_SHARED_ALT

/* primitives */
#define MBEDTLS_AES_C
#define MBEDTLS_CIPHER_MODE_CTR      /* libssh2: aes*-ctr, its only SSH ciphers with mbedTLS */
#define MBEDTLS_AESNI_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C        /* X.509 key identifiers only */
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA512_C      /* SHA-384 suites and certificates */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_GENPRIME
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_HMAC_DRBG_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_HKDF_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_ERROR_C

/* X.509 */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CSR_PARSE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C
#define MBEDTLS_X509_CSR_WRITE_C
#define MBEDTLS_X509_CHECK_KEY_USAGE
#define MBEDTLS_X509_CHECK_EXTENDED_KEY_USAGE

/* TLS 1.2 only, ECDHE key exchange only */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
/* The server's private key stays in the keeper process: ServerKeyExchange is
 * signed through the async private-key callbacks (crypto/cry_tls.c). */
#define MBEDTLS_SSL_ASYNC_PRIVATE
/* Incoming records can be full size; our own records stay small so that
 * a thousand idle sessions cost little memory. */
#define MBEDTLS_SSL_IN_CONTENT_LEN  16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096

#include "mbedtls/check_config.h"
#endif
