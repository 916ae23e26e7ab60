/* SPDX-License-Identifier: MIT */
/*
 * cry_tls: TLS 1.2 engines of crypto/cry.h on mbedTLS. A conf is a shared,
 * reference-counted mbedtls_ssl_config plus what it points into (trust
 * anchors, own chain, own key, session-ticket keys); an engine is one
 * mbedtls_ssl_context whose bytes move through the caller's send/recv
 * callbacks, so this file does no I/O of its own.
 *
 * Server: client certificates are always required and verified against the
 * conf's CA; session tickets (AES-256-GCM, keys from the caller's RNG,
 * rotated by mbedTLS every 24 h) make repeat handshakes cheap. The server key
 * is borrowed: the conf holds a shallow mbedTLS view of it, never a copy;
 * or it is held by another process (cry_tls_server_conf_signer): the conf
 * then has only the certificate's public key, and mbedTLS's async private-key
 * hooks (MBEDTLS_SSL_ASYNC_PRIVATE) hand the ServerKeyExchange digest to the
 * caller's sign callback, answered at once (start) and copied out (resume).
 * Client: with a CA, the server certificate and host name are verified;
 * without one, nothing is (status --noverify).
 *
 * Errors are mapped to errno-style codes that keep the reason a user needs
 * (see tls_err); cry_tls_strerror() names them. Confs and engines are not
 * thread-safe: one event loop owns them.
 */
#include "cry_mbed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/ecp.h"
#include "mbedtls/net_sockets.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/ssl.h"
#include "mbedtls/ssl_ticket.h"
#include "mbedtls/x509_crt.h"

#define TICKET_LIFETIME 86400   /* seconds; the ticket key rotates as often */
#define IO_MAX (1u << 30)       /* one read/write call moves less (int result) */

struct cry_tls_conf {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;          /* trust anchors for the peer's certificate */
	mbedtls_x509_crt chain;       /* own certificate (+ intermediates) */
	mbedtls_pk_context key_view;  /* server: shallow view of the borrowed key */
	struct cry_key *own_key;      /* client: parsed from cert+key, owned */
	cry_sign_fn sign;             /* server with a remote key, else NULL */
	void *sctx;
	mbedtls_ssl_ticket_context tickets;
	int refs;
	int is_server;
	int verify;                   /* client: peer is verified, hostname needed */
};

#define SIG_MAX 512             /* an RSA-4096 signature; ECDSA P-256 is ~72 */

struct cry_tls {
	mbedtls_ssl_context ssl;      /* first: the async hooks get only &ssl */
	struct cry_tls_conf *conf;
	cry_send_fn snd;
	cry_recv_fn rcv;
	void *io;
	uint8_t sig[SIG_MAX];         /* the remote signature between start and resume */
	size_t siglen;
};

/* Fast AEAD suites first: AES-GCM (AES-NI on x86), ChaCha20 where AES is slow. */
static const int suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	0
};

static const mbedtls_ecp_group_id curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
	MBEDTLS_ECP_DP_NONE
};

/* ---- errors ---- */

/* Certificate failures keep their reason, from the verify flags. */
static int verify_err(uint32_t flags)
{
	if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE))
		return -EKEYEXPIRED;
	if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		return -EKEYREJECTED;
	if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
		return -EHOSTUNREACH;
	return -EBADMSG;
}

/* A fatal alert from the peer: did it refuse our certificate, or something else? */
static int alert_err(const mbedtls_ssl_context *ssl)
{
	if (ssl->in_msg && ssl->in_msgtype == MBEDTLS_SSL_MSG_ALERT && ssl->in_msglen >= 2) {
		switch (ssl->in_msg[1]) {
		case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
		case MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT:
		case MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED:
		case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED:
		case MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN:
		case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
		case MBEDTLS_SSL_ALERT_MSG_ACCESS_DENIED:
			return -EPERM;
		}
	}
	return -ECONNABORTED;
}

static int tls_err(const struct cry_tls *t, int rc)
{
	switch (rc) {
	case MBEDTLS_ERR_SSL_WANT_READ:
		return CRY_WANT_READ;
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		return CRY_WANT_WRITE;
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
	case MBEDTLS_ERR_SSL_CONN_EOF:
		return CRY_CLOSED;
	case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
		return -EACCES;
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
		return verify_err(mbedtls_ssl_get_verify_result(&t->ssl));
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		return alert_err(&t->ssl);
	case MBEDTLS_ERR_NET_SEND_FAILED:
	case MBEDTLS_ERR_NET_RECV_FAILED:
		return -EIO;
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
		return -ENOMEM;
	case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
	case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
		return -ENOPROTOOPT;
	}
	return cry_mb_err(rc, -EPROTO);
}

const char *cry_tls_strerror(int err)
{
	switch (err) {
	case 0:             return "success";
	case CRY_WANT_READ: return "waiting to read";
	case CRY_WANT_WRITE: return "waiting to write";
	case CRY_CLOSED:    return "connection closed by peer";
	case -EACCES:       return "client certificate required";
	case -EKEYEXPIRED:  return "certificate expired or not yet valid";
	case -EKEYREJECTED: return "peer certificate not trusted";
	case -EHOSTUNREACH: return "certificate does not match the host name";
	case -EBADMSG:      return "certificate verification failed";
	case -EPERM:        return "peer rejected our certificate";
	case -ECONNABORTED: return "peer aborted the connection (fatal alert)";
	case -ENOPROTOOPT:  return "no cipher suite in common";
	case -EIO:          return "I/O error";
	case -ENOMEM:       return "out of memory";
	case -EINVAL:       return "invalid argument or configuration";
	case -ENOSPC:       return "buffer too small";
	case -EPROTO:       return "TLS protocol error";
	}
	return "TLS failure";
}

/* ---- confs ---- */

static struct cry_tls_conf *conf_alloc(int endpoint, cry_rng_fn rng, void *rctx)
{
	struct cry_tls_conf *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_x509_crt_init(&c->chain);
	mbedtls_pk_init(&c->key_view);
	mbedtls_ssl_ticket_init(&c->tickets);
	c->refs = 1;
	c->is_server = endpoint == MBEDTLS_SSL_IS_SERVER;
	if (mbedtls_ssl_config_defaults(&c->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT)) {
		cry_tls_conf_put(c);
		return NULL;
	}
	mbedtls_ssl_conf_rng(&c->conf, rng, rctx);
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(&c->conf, suites);
	mbedtls_ssl_conf_curves(&c->conf, curves);
	return c;
}

static int parse_certs(mbedtls_x509_crt *crt, const uint8_t *p, size_t len)
{
	unsigned char *z = NULL;
	size_t zlen = 0;
	int rc;

	if ((rc = cry_mb_zdup(p, len, &z, &zlen)))
		return rc;
	/* > 0 means some blocks failed: refuse a half-read trust store */
	rc = mbedtls_x509_crt_parse(crt, z, zlen) ? -EINVAL : 0;
	cry_mb_zfree(z, len + 1);
	return rc;
}

/* What both server configurations share: client certificates required and
 * checked against the CA, the chain with pk (the private key, or only the
 * public one when a signer does the signing), session tickets. */
static int server_finish(struct cry_tls_conf *c, mbedtls_pk_context *pk, cry_rng_fn rng,
			 void *rctx)
{
	int rc;

	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
	if ((rc = mbedtls_ssl_conf_own_cert(&c->conf, &c->chain, pk)) ||
	    (rc = mbedtls_ssl_ticket_setup(&c->tickets, rng, rctx, MBEDTLS_CIPHER_AES_256_GCM,
					   TICKET_LIFETIME)))
		return cry_mb_err(rc, -EIO);
	mbedtls_ssl_conf_session_tickets_cb(&c->conf, mbedtls_ssl_ticket_write,
					    mbedtls_ssl_ticket_parse, &c->tickets);
	return 0;
}

int cry_tls_server_conf(struct cry_tls_conf **out, const uint8_t *ca_pem, size_t ca_len,
			const uint8_t *chain_pem, size_t chain_len,
			const struct cry_key *key, cry_rng_fn rng, void *rctx)
{
	struct cry_tls_conf *c;
	int rc;

	*out = NULL;
	if (!ca_pem || !chain_pem || !key || !rng)
		return -EINVAL;
	if (!(c = conf_alloc(MBEDTLS_SSL_IS_SERVER, rng, rctx)))
		return -ENOMEM;
	if ((rc = parse_certs(&c->ca, ca_pem, ca_len)) ||
	    (rc = parse_certs(&c->chain, chain_pem, chain_len)))
		goto fail;
	cry_mb_key_view(key, &c->key_view);
	if (mbedtls_pk_check_pair(&c->chain.pk, &c->key_view)) {
		rc = -EINVAL;   /* certificate is not for this key */
		goto fail;
	}
	if ((rc = server_finish(c, &c->key_view, rng, rctx)))
		goto fail;
	*out = c;
	return 0;
fail:
	cry_tls_conf_put(c);
	return rc;
}

/* ---- a server key in another process ---- */

static const int sha256_only[] = { MBEDTLS_MD_SHA256, MBEDTLS_MD_NONE };

static int remote_sign_start(mbedtls_ssl_context *ssl, mbedtls_x509_crt *cert,
			     mbedtls_md_type_t md, const unsigned char *hash, size_t hlen)
{
	struct cry_tls *t = (struct cry_tls *)(void *)ssl;
	struct cry_tls_conf *c = t->conf;

	(void)cert;
	if (md != MBEDTLS_MD_SHA256 || hlen != 32 || !c->sign)
		return MBEDTLS_ERR_SSL_HW_ACCEL_FAILED;
	t->siglen = 0;
	if (c->sign(c->sctx, hash, t->sig, sizeof t->sig, &t->siglen) < 0 ||
	    t->siglen == 0 || t->siglen > sizeof t->sig)
		return MBEDTLS_ERR_SSL_HW_ACCEL_FAILED;
	return 0;                     /* done: mbedTLS calls resume at once */
}

static int remote_sign_resume(mbedtls_ssl_context *ssl, unsigned char *out, size_t *olen,
			      size_t cap)
{
	struct cry_tls *t = (struct cry_tls *)(void *)ssl;

	if (t->siglen > cap)
		return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
	memcpy(out, t->sig, t->siglen);
	*olen = t->siglen;
	t->siglen = 0;
	return 0;
}

static void remote_sign_cancel(mbedtls_ssl_context *ssl)
{
	((struct cry_tls *)(void *)ssl)->siglen = 0;
}

int cry_tls_server_conf_signer(struct cry_tls_conf **out, const uint8_t *ca_pem, size_t ca_len,
			       const uint8_t *chain_pem, size_t chain_len,
			       cry_sign_fn sign, void *sctx, cry_rng_fn rng, void *rctx)
{
	struct cry_tls_conf *c;
	int rc;

	*out = NULL;
	if (!ca_pem || !chain_pem || !sign || !rng)
		return -EINVAL;
	if (!(c = conf_alloc(MBEDTLS_SSL_IS_SERVER, rng, rctx)))
		return -ENOMEM;
	if ((rc = parse_certs(&c->ca, ca_pem, ca_len)) ||
	    (rc = parse_certs(&c->chain, chain_pem, chain_len)))
		goto fail;
	c->sign = sign;
	c->sctx = sctx;
	mbedtls_ssl_conf_sig_hashes(&c->conf, sha256_only);
	mbedtls_ssl_conf_async_private_cb(&c->conf, remote_sign_start, NULL, remote_sign_resume,
					  remote_sign_cancel, NULL);
	/* the "key" is the certificate's public key: only the hooks sign */
	if ((rc = server_finish(c, &c->chain.pk, rng, rctx)))
		goto fail;
	*out = c;
	return 0;
fail:
	cry_tls_conf_put(c);
	return rc;
}

int cry_tls_client_conf(struct cry_tls_conf **out, const uint8_t *ca_pem, size_t ca_len,
			const uint8_t *cert_key_pem, size_t ck_len,
			cry_rng_fn rng, void *rctx)
{
	struct cry_tls_conf *c;
	mbedtls_pk_context v;
	int rc;

	*out = NULL;
	if (!rng)
		return -EINVAL;
	if (!(c = conf_alloc(MBEDTLS_SSL_IS_CLIENT, rng, rctx)))
		return -ENOMEM;
	if (ca_pem) {
		if ((rc = parse_certs(&c->ca, ca_pem, ca_len)))
			goto fail;
		mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		c->verify = 1;
	} else {
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
	}
	if (cert_key_pem) {
		/* one buffer: the certificate block(s) and the key block; each
		 * parser finds its own PEM blocks and skips the others */
		if ((rc = parse_certs(&c->chain, cert_key_pem, ck_len)) ||
		    (rc = cry_key_parse(&c->own_key, cert_key_pem, ck_len)))
			goto fail;
		cry_mb_key_view(c->own_key, &v);
		if (mbedtls_pk_check_pair(&c->chain.pk, &v)) {
			rc = -EINVAL;
			goto fail;
		}
		c->key_view = v;
		if ((rc = mbedtls_ssl_conf_own_cert(&c->conf, &c->chain, &c->key_view))) {
			rc = cry_mb_err(rc, -EIO);
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	cry_tls_conf_put(c);
	return rc;
}

void cry_tls_conf_put(struct cry_tls_conf *c)
{
	if (!c || --c->refs > 0)
		return;
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_ssl_ticket_free(&c->tickets);   /* wipes the ticket keys */
	mbedtls_x509_crt_free(&c->chain);
	mbedtls_x509_crt_free(&c->ca);
	/* key_view is borrowed (server) or a view of own_key: never pk_free it */
	cry_key_free(c->own_key);
	mbedtls_platform_zeroize(c, sizeof *c);
	free(c);
}

/* ---- engines ---- */

static int bio_send(void *ctx, const unsigned char *p, size_t n)
{
	struct cry_tls *t = ctx;
	int rc = t->snd(t->io, p, n);

	if (rc > 0)
		return rc;
	if (rc == CRY_WANT_WRITE || rc == CRY_WANT_READ)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *p, size_t n)
{
	struct cry_tls *t = ctx;
	int rc = t->rcv(t->io, p, n);

	if (rc >= 0)
		return rc;   /* 0 = EOF, which mbedTLS reports as CONN_EOF */
	if (rc == CRY_WANT_READ || rc == CRY_WANT_WRITE)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

int cry_tls_new(struct cry_tls **out, struct cry_tls_conf *c, const char *hostname,
		cry_send_fn snd, cry_recv_fn rcv, void *io_ctx)
{
	struct cry_tls *t;
	int rc;

	*out = NULL;
	/* a verifying client without a name to check would accept any
	 * certificate the CA ever issued */
	if (!c || !snd || !rcv || (c->is_server && hostname) ||
	    (!c->is_server && c->verify && (!hostname || !*hostname)))
		return -EINVAL;
	_Static_assert(offsetof(struct cry_tls, ssl) == 0, "the async hooks cast &ssl back");
	if (!(t = calloc(1, sizeof *t)))
		return -ENOMEM;
	mbedtls_ssl_init(&t->ssl);
	t->snd = snd;
	t->rcv = rcv;
	t->io = io_ctx;
	if ((rc = mbedtls_ssl_setup(&t->ssl, &c->conf)) ||
	    (hostname && (rc = mbedtls_ssl_set_hostname(&t->ssl, hostname)))) {
		mbedtls_ssl_free(&t->ssl);
		free(t);
		return cry_mb_err(rc, -EINVAL);
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	c->refs++;
	t->conf = c;
	*out = t;
	return 0;
}

int cry_tls_handshake(struct cry_tls *t)
{
	int rc = mbedtls_ssl_handshake(&t->ssl);

	/* mbedTLS 2.28 fails silently when a client sends no certificate; tell
	 * the client (RFC 5246 7.4.6) instead of leaving it waiting. Best effort. */
	if (rc == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE)
		(void)mbedtls_ssl_send_alert_message(&t->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
					MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
	return rc ? tls_err(t, rc) : 0;
}

int cry_tls_read(struct cry_tls *t, uint8_t *p, size_t n)
{
	int rc;

	if (n == 0)
		return -EINVAL;
	rc = mbedtls_ssl_read(&t->ssl, p, n > IO_MAX ? IO_MAX : n);
	if (rc > 0)
		return rc;
	return rc == 0 ? CRY_CLOSED : tls_err(t, rc);
}

int cry_tls_write(struct cry_tls *t, const uint8_t *p, size_t n)
{
	int rc;

	if (n == 0)
		return -EINVAL;
	rc = mbedtls_ssl_write(&t->ssl, p, n > IO_MAX ? IO_MAX : n);
	return rc > 0 ? rc : tls_err(t, rc);
}

size_t cry_tls_pending(const struct cry_tls *t)
{
	return mbedtls_ssl_get_bytes_avail(&t->ssl);
}

int cry_tls_close_notify(struct cry_tls *t)
{
	int rc = mbedtls_ssl_close_notify(&t->ssl);

	return rc ? tls_err(t, rc) : 0;
}

void cry_tls_free(struct cry_tls *t)
{
	if (!t)
		return;
	mbedtls_ssl_free(&t->ssl);   /* wipes session keys and buffers */
	cry_tls_conf_put(t->conf);
	mbedtls_platform_zeroize(t, sizeof *t);
	free(t);
}
