/* SPDX-License-Identifier: MIT */
/*
 * tlsid: choose, build and replace the API server's TLS identity (tlsid.h).
 */
#include "tlsid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cry.h"
#include "keeper.h"
#include "limits.h"
#include "server.h"
#include "util.h"

static struct {
	char hostname[256];
	uint8_t *ca;
	size_t ca_len;
	char cert_path[PATH_MAX_SBS];
	int bootstrap;
} T;

/* The handshake's ServerKeyExchange, signed by the keeper. */
static int tls_sign(void *ctx, const uint8_t hash[static 32], uint8_t *sig, size_t cap,
		    size_t *siglen)
{
	(void)ctx;
	return keeper_sign(KEEPER_TLS, hash, sig, cap, siglen);
}

static int make_conf(const uint8_t *cert, size_t len)
{
	struct cry_tls_conf *conf;
	int rc = cry_tls_server_conf_signer(&conf, T.ca, T.ca_len, cert, len, tls_sign, NULL,
					    util_rng, NULL);
	if (rc < 0)
		return rc;
	srv_set_conf(conf);
	return 0;
}

/* 1 if the certificate (PEM) carries the keeper's TLS public key. */
static int cert_is_ours(const uint8_t *pem, size_t len)
{
	struct cry_cert_info info;
	char pub[sizeof info.pub_pem];
	size_t n;

	if (cry_cert_info(pem, len, &info) < 0 ||
	    keeper_pubkey_pem(KEEPER_TLS, pub, sizeof pub, &n) < 0)
		return 0;
	return strcmp(pub, info.pub_pem) == 0;
}

static int self_signed(void)
{
	char pem[CERT_MAX_PEM];
	time_t now = time(NULL);
	uint64_t serial;
	int rc;

	if ((rc = util_rng(NULL, (uint8_t *)&serial, sizeof serial)) < 0)
		return rc;
	serial = (serial >> 2) | 1;
	rc = keeper_tls_selfsigned(T.hostname, serial, now - 60, now + 30 * 86400, pem, sizeof pem);
	if (rc < 0)
		return rc;
	T.bootstrap = 1;
	return make_conf((const uint8_t *)pem, strlen(pem));
}

int tlsid_init(const struct tlsid_cfg *cfg)
{
	uint8_t *posted = NULL;
	size_t plen;
	int rc;

	snprintf(T.hostname, sizeof T.hostname, "%s", cfg->hostname);
	snprintf(T.cert_path, sizeof T.cert_path, "%s/tls-cert.pem", cfg->data_dir);
	T.ca = malloc(cfg->client_ca_len + 1);
	if (!T.ca)
		return -ENOMEM;
	memcpy(T.ca, cfg->client_ca, cfg->client_ca_len);
	T.ca[cfg->client_ca_len] = 0;
	T.ca_len = cfg->client_ca_len;

	if (cfg->server_crt) {
		/* SERVER_KEY went to the keeper at its start (keeper_cfg) */
		if (!cert_is_ours(cfg->server_crt, cfg->server_crt_len)) {
			log_err("SERVER_CRT does not match SERVER_KEY");
			return -EINVAL;
		}
		log_info("serving the deploy-time server certificate (SERVER_CRT)");
		return make_conf(cfg->server_crt, cfg->server_crt_len);
	}
	char pub[1024];
	size_t publen;
	rc = keeper_pubkey_pem(KEEPER_TLS, pub, sizeof pub, &publen); /* generate on first need */
	if (rc < 0) {
		log_err("cannot create the TLS key");
		return rc < 0 ? rc : -EIO;
	}
	if (util_read_file(T.cert_path, CERT_MAX_PEM, &posted, &plen) == 0) {
		if (cert_is_ours(posted, plen) &&
		    make_conf(posted, plen) == 0) {
			log_info("serving the certificate posted to /certificate");
			free(posted);
			return 0;
		}
		log_warn("stored server certificate does not fit the TLS key; back to bootstrap");
		free(posted);
	}
	log_info("no server certificate yet: serving a temporary self-signed one "
		 "(bootstrap: GET /csr/<host>, sign it, POST /certificate)");
	return self_signed();
}

int tlsid_install(const uint8_t *pem, size_t len, const char **msg)
{
	struct cry_cert_info info;
	time_t now = time(NULL);
	int rc;

	if (len == 0 || len > CERT_MAX_PEM || cry_cert_info(pem, len, &info) < 0) {
		*msg = "certificate is not a PEM X.509 certificate";
		return -EINVAL;
	}
	if (cry_cert_verify(pem, len, T.ca, T.ca_len, now) < 0) {
		*msg = "certificate is not signed by the client CA (CLIENT_CA) or is not valid now";
		return -EINVAL;
	}
	if (!cert_is_ours(pem, len)) {
		*msg = "certificate is not for this server's key: sign the CSR from GET /csr/<host>";
		return -EINVAL;
	}
	rc = util_write_atomic(T.cert_path, pem, len, 0644);
	if (rc < 0) {
		*msg = "cannot store the certificate";
		return rc;
	}
	rc = make_conf(pem, len);
	if (rc < 0) {
		*msg = "certificate cannot be used for TLS";
		return rc;
	}
	T.bootstrap = 0;
	log_info("installed a new server certificate (subject %s)", info.subject);
	return 0;
}

int tlsid_bootstrap(void)
{
	return T.bootstrap;
}

const char *tlsid_hostname(void)
{
	return T.hostname;
}
