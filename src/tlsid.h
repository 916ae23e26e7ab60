/* SPDX-License-Identifier: MIT */
/*
 * tlsid: which certificate sbsd presents, and the CSR bootstrap.
 *
 * At start-up, in this order:
 *  1. SERVER_CRT + SERVER_KEY given at deploy time (PEM): the key went to the
 *     keeper when it started (keeper_cfg.tls_key_b64), the certificate is
 *     served if it carries the keeper's TLS public key.
 *  2. A certificate posted earlier (POST /certificate), stored in
 *     <data>/tls-cert.pem, whose key is the keeper's TLS key.
 *  3. Otherwise a temporary self-signed certificate for the keeper's TLS key
 *     (made at start, never stored): "bootstrap mode". Clients still need a
 *     valid client certificate; they fetch GET /csr/<host>, sign it with their
 *     CA and post it back.
 * Client certificates are always required and verified against CLIENT_CA.
 * The TLS private key never enters this process: handshakes sign through
 * keeper_sign(KEEPER_TLS) (cry_tls_server_conf_signer).
 */
#ifndef SBS_TLSID_H
#define SBS_TLSID_H

#include <stddef.h>
#include <stdint.h>

struct tlsid_cfg {
	const char *hostname;
	const uint8_t *client_ca; size_t client_ca_len;
	const uint8_t *server_crt; size_t server_crt_len;   /* optional */
	const char *data_dir;
};

/* Builds the first TLS conf and hands it to the server (srv_set_conf). */
int tlsid_init(const struct tlsid_cfg *cfg);
/* POST /certificate: the PEM must verify against CLIENT_CA, carry the
 * keeper's TLS public key and be currently valid. Stored atomically, then
 * served to every new connection. On failure *msg says why (static text). */
int tlsid_install(const uint8_t *pem, size_t len, const char **msg);
/* 1 while serving the temporary self-signed certificate. */
int tlsid_bootstrap(void);
const char *tlsid_hostname(void);

#endif
