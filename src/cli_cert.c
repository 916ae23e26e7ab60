/* SPDX-License-Identifier: MIT */
/*
 * sbs client, local certificate commands (PROTOCOL §4-§6): create-client-cert
 * (a private CA and a client certificate), create-server-cert (server key and
 * certificate for HOSTNAME, signed by that CA), sign-csr (the CSR flow, where
 * the server keeps its own key), delete-certificates and instance-env (the
 * base64 values the server is deployed with). Subjects, validity and extensions
 * follow build.py; keys are ECDSA P-256 unless --rsa asks for RSA-2048. Private
 * keys exist only in the files written here (mode 0600) and in wiped buffers.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cry.h"
#include "util.h"

#define DN_BASE "C=US,ST=NY,L=Armonk,O=IBM,OU=Digital Assets,CN="
#define DAY 86400
#define PUB_MAX 1024

struct ca {
	struct cry_key *key;
	uint8_t *cert;
	size_t cert_len;
};

/* build.py: a random serial in [50,000,000, 100,000,000]. */
static uint64_t serial(void)
{
	uint8_t b[8];
	uint64_t v = 0;

	util_rng(NULL, b, sizeof b);
	for (size_t i = 0; i < sizeof b; i++)
		v = v << 8 | b[i];
	return 50000000u + v % 50000001u;
}

static int dir_file(const struct cli *c, const char *name, char out[PATH_MAX_SBS])
{
	if ((size_t)snprintf(out, PATH_MAX_SBS, "%s/%s", c->certdir, name) >= PATH_MAX_SBS) {
		log_err("path too long: %s/%s", c->certdir, name);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int gen_key(const struct cli *c, struct cry_key **k, char *pem, size_t *len)
{
	int rc = cry_key_gen(k, c->rsa ? CRY_KEY_RSA : CRY_KEY_EC_P256, util_rng, NULL);

	if (rc == 0)
		rc = cry_key_priv_pem(*k, pem, KEY_MAX_PEM, len);
	if (rc < 0)
		log_err("cannot generate a %s key: %s", c->rsa ? "RSA-2048" : "ECDSA P-256",
			strerror(-rc));
	return rc;
}

static void ca_free(struct ca *ca)
{
	cry_key_free(ca->key);
	free(ca->cert);
	memset(ca, 0, sizeof *ca);
}

static int ca_load(const struct cli *c, struct ca *ca)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	struct cry_cert_info info;
	int rc;

	memset(ca, 0, sizeof *ca);
	rc = cli_read(c->capath, CERT_MAX_PEM, "CA certificate (CAPATH)", &ca->cert, &ca->cert_len);
	if (rc == 0)
		rc = cli_read(c->cakeypath, KEY_MAX_PEM, "CA key (CAKEYPATH)", &pem, &len);
	if (rc == -ENOENT)
		log_err("create the client CA first: sbs create-client-cert --env %s", c->env_path);
	if (rc < 0)
		goto out;
	rc = cry_key_parse(&ca->key, pem, len);
	if (rc < 0) {
		log_err("cannot parse the CA key %s", c->cakeypath);
		goto out;
	}
	rc = cry_cert_info(ca->cert, ca->cert_len, &info);
	if (rc == 0 && (!info.is_ca || !cry_cert_matches_key(ca->cert, ca->cert_len, ca->key)))
		rc = -EINVAL;
	if (rc < 0)
		log_err("%s is not a CA certificate matching the key %s", c->capath, c->cakeypath);
out:
	wipe_free(pem, len);
	if (rc < 0)
		ca_free(ca);
	return rc;
}

/* Certificates start this many seconds in the past, so that a peer whose
 * clock runs a little behind ours (a freshly booted guest) accepts them. */
#define CLOCK_SKEW 300

/* A leaf certificate for a public key, signed by the CA, valid one year. */
static int issue(const struct ca *ca, const char *cn, const char *pub, unsigned eku,
		 const char *san, char *out)
{
	char dn[96];
	time_t now = time(NULL);
	struct cry_cert_req r = {
		.subject = dn, .subject_pub = (const uint8_t *)pub, .subject_pub_len = strlen(pub),
		.issuer_key = ca->key, .issuer_cert = ca->cert, .issuer_cert_len = ca->cert_len,
		.serial = serial(), .not_before = now - CLOCK_SKEW, .not_after = now + 365 * DAY,
		.key_usage = CRY_KU_DIGSIG, .ext_key_usage = eku, .san_dns = san,
	};
	int rc;

	snprintf(dn, sizeof dn, DN_BASE "%s", cn);
	rc = cry_cert_make(&r, out, CERT_MAX_PEM, util_rng, NULL);
	if (rc < 0)
		log_err("cannot make the %s certificate: %s", cn, strerror(-rc));
	return rc;
}

/* CSR for key k (kept on disk like build.py), then the certificate from it. */
static int csr_and_cert(const struct ca *ca, const struct cry_key *k, const char *cn,
			unsigned eku, const char *san, char *csr, char *cert)
{
	char dn[96], pub[PUB_MAX], csr_san[256];
	int rc;

	snprintf(dn, sizeof dn, DN_BASE "%s", cn);
	rc = cry_csr_make(k, dn, san, csr, CERT_MAX_PEM, util_rng, NULL);
	if (rc == 0)
		rc = cry_csr_info((const uint8_t *)csr, strlen(csr), pub, sizeof pub, csr_san,
				  sizeof csr_san);
	if (rc < 0) {
		log_err("cannot make the %s CSR: %s", cn, strerror(-rc));
		return rc;
	}
	return issue(ca, cn, pub, eku, san, cert);
}

/* ---- create-client-cert ---- */

static int make_ca(struct ca *ca, char *key_pem, size_t *key_len, const struct cli *c)
{
	time_t now = time(NULL);
	struct cry_cert_req r = {
		.subject = DN_BASE "Client CA", .serial = serial(), .not_before = now - CLOCK_SKEW,
		.not_after = now + 2 * 365 * DAY, .is_ca = 1,
		.key_usage = CRY_KU_CERTSIGN | CRY_KU_CRLSIGN,
		.ext_key_usage = CRY_EKU_CLIENT | CRY_EKU_SERVER,
	};
	int rc = gen_key(c, &ca->key, key_pem, key_len);

	if (rc < 0)
		return rc;
	ca->cert = malloc(CERT_MAX_PEM);
	if (!ca->cert)
		return -ENOMEM;
	r.subject_key = ca->key;
	r.issuer_key = ca->key;
	rc = cry_cert_make(&r, (char *)ca->cert, CERT_MAX_PEM, util_rng, NULL);
	if (rc < 0) {
		log_err("cannot make the CA certificate: %s", strerror(-rc));
		return rc;
	}
	ca->cert_len = strlen((char *)ca->cert);
	return 0;
}

static int refuse_existing(const struct cli *c)
{
	static const char *const names[] = { "client-csr.pem", "client-cert-key.pem",
					     "client-cert.pem" };
	char p[PATH_MAX_SBS];
	int found = 0;

	for (size_t i = 0; i < 5; i++) {
		const char *f = i == 0 ? c->capath : i == 1 ? c->cakeypath : p;

		if (i >= 2 && dir_file(c, names[i - 2], p) < 0)
			return -ENAMETOOLONG;
		if (cli_exists(f)) {
			log_err("client_certificate: %s already exists", f);
			found = 1;
		}
	}
	if (cli_exists(c->crt_key)) {
		log_err("client_certificate: the client certificate file %s already exists",
			c->crt_key);
		found = 1;
	}
	if (found)
		log_err("client_certificate: set CLIENT_CRT_KEY, CAPATH and CAKEYPATH to a complete "
			"existing set, or remove the files (sbs delete-certificates --env %s)",
			c->env_path);
	return found ? -EEXIST : 0;
}

struct client_out {
	char ca_key[KEY_MAX_PEM], key[KEY_MAX_PEM * 2 + CERT_MAX_PEM];
	char csr[CERT_MAX_PEM], cert[CERT_MAX_PEM], bundle[CERT_MAX_PEM * 2];
	size_t ca_key_len, key_len;
};

static int write_client(const struct cli *c, const struct ca *ca, struct client_out *o)
{
	char p[PATH_MAX_SBS];
	size_t cl = strlen(o->cert);
	int rc;

	rc = cli_write(c->capath, ca->cert, ca->cert_len, 0644);
	if (rc == 0)
		rc = cli_write(c->cakeypath, o->ca_key, o->ca_key_len, 0600);
	if (rc == 0 && (rc = dir_file(c, "client-csr.pem", p)) == 0)
		rc = cli_write(p, o->csr, strlen(o->csr), 0644);
	if (rc == 0 && (rc = dir_file(c, "client-cert-key.pem", p)) == 0)
		rc = cli_write(p, o->key, o->key_len, 0600);
	if (rc == 0 && (rc = dir_file(c, "client-cert.pem", p)) == 0)
		rc = cli_write(p, o->cert, cl, 0644);
	if (rc == 0 && (rc = dir_file(c, "client-cert-bundle.pem", p)) == 0) {
		snprintf(o->bundle, sizeof o->bundle, "%s%s", o->cert, (const char *)ca->cert);
		rc = cli_write(p, o->bundle, strlen(o->bundle), 0644);
	}
	if (rc == 0) {
		/* the cert+key file last: its presence means the set is complete */
		memmove(o->key + cl, o->key, o->key_len);
		memcpy(o->key, o->cert, cl);
		rc = cli_write(c->crt_key, o->key, cl + o->key_len, 0600);
		wipe(o->key, cl + o->key_len);
	}
	return rc;
}

int cli_cmd_create_client_cert(struct cli *c)
{
	struct ca ca = { 0 };
	struct cry_key *k = NULL;
	struct client_out *o = NULL;
	int rc;

	if (cli_exists(c->crt_key) && cli_exists(c->capath) && cli_exists(c->cakeypath)) {
		log_info("client_certificate: using existing files client_crt_key=%s capath=%s "
			 "cakeypath=%s", c->crt_key, c->capath, c->cakeypath);
		return 0;
	}
	rc = refuse_existing(c);
	if (rc < 0)
		return rc;
	rc = util_mkdirs(c->certdir, 0700);
	if (rc < 0) {
		log_err("cannot create %s: %s", c->certdir, strerror(-rc));
		return rc;
	}
	log_info("client_certificate: generating client CA and certificate (%s)",
		 c->rsa ? "RSA-2048" : "ECDSA P-256");
	o = calloc(1, sizeof *o);
	rc = o ? make_ca(&ca, o->ca_key, &o->ca_key_len, c) : -ENOMEM;
	if (rc == 0)
		rc = gen_key(c, &k, o->key, &o->key_len);
	if (rc == 0)
		rc = csr_and_cert(&ca, k, "Client", CRY_EKU_CLIENT | CRY_EKU_SERVER, NULL, o->csr,
				  o->cert);
	if (rc == 0)
		rc = write_client(c, &ca, o);
	if (rc == 0)
		log_info("client_certificate: wrote %s and %s/", c->crt_key, c->certdir);
	if (rc == -ENOMEM)
		log_err("out of memory");
	cry_key_free(k);
	ca_free(&ca);
	wipe_free(o, o ? sizeof *o : 0);
	return rc;
}

/* ---- create-server-cert ---- */

/* 1 if an existing server certificate already names HOSTNAME. */
static int server_cert_current(const struct cli *c, const char *cert_path)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	struct cry_cert_info info;
	int ok = 0;

	if (!cli_exists(cert_path) || util_read_file(cert_path, CERT_MAX_PEM, &pem, &len) < 0)
		return 0;
	if (cry_cert_info(pem, len, &info) == 0) {
		ok = strcmp(info.san_dns, c->hostname) == 0;
		if (!ok)
			log_warn("server_certificate: regenerating the server certificate: its SAN is "
				 "DNS:%s, HOSTNAME in the config is %s", info.san_dns, c->hostname);
	}
	free(pem);
	return ok;
}

int cli_cmd_create_server_cert(struct cli *c)
{
	char cert_path[PATH_MAX_SBS], key_path[PATH_MAX_SBS], csr_path[PATH_MAX_SBS];
	char key[KEY_MAX_PEM], csr[CERT_MAX_PEM], cert[CERT_MAX_PEM];
	size_t key_len = 0;
	struct ca ca = { 0 };
	struct cry_key *k = NULL;
	int rc;

	if (dir_file(c, "server-cert.pem", cert_path) < 0 ||
	    dir_file(c, "server-cert-key.pem", key_path) < 0 ||
	    dir_file(c, "server-csr.pem", csr_path) < 0)
		return -ENAMETOOLONG;
	if (server_cert_current(c, cert_path) && cli_exists(key_path)) {
		log_info("server_certificate: %s already has SAN DNS:%s; nothing to do", cert_path,
			 c->hostname);
		return 0;
	}
	if (!cli_exists(c->crt_key)) {
		log_err("create the CA and the client certificate first (sbs create-client-cert "
			"--env %s), then retry create-server-cert", c->env_path);
		return -ENOENT;
	}
	rc = ca_load(c, &ca);
	if (rc == 0)
		rc = util_mkdirs(c->certdir, 0700);
	if (rc == 0)
		rc = gen_key(c, &k, key, &key_len);
	if (rc == 0)
		rc = csr_and_cert(&ca, k, "Server", CRY_EKU_SERVER, c->hostname, csr, cert);
	if (rc == 0)
		rc = cli_write(key_path, key, key_len, 0600);
	if (rc == 0)
		rc = cli_write(csr_path, csr, strlen(csr), 0644);
	if (rc == 0)
		rc = cli_write(cert_path, cert, strlen(cert), 0644);
	if (rc == 0)
		log_info("server_certificate: wrote %s (SAN DNS:%s) and its key; next: sbs "
			 "instance-env --env %s", cert_path, c->hostname, c->env_path);
	wipe(key, sizeof key);
	cry_key_free(k);
	ca_free(&ca);
	return rc;
}

/* ---- sign-csr ---- */

int cli_cmd_sign_csr(struct cli *c)
{
	uint8_t *csr = NULL;
	size_t len = 0;
	char pub[PUB_MAX], san[256], cert[CERT_MAX_PEM];
	struct ca ca = { 0 };
	int rc;

	rc = cli_read(c->csrpath, CERT_MAX_PEM, "server CSR (CSRPATH)", &csr, &len);
	if (rc == -ENOENT)
		log_err("fetch it first: sbs get-server-csr --env %s", c->env_path);
	if (rc < 0)
		return rc;
	rc = cry_csr_info(csr, len, pub, sizeof pub, san, sizeof san);
	if (rc < 0)
		log_err("%s is not a valid CSR (bad format or self-signature)", c->csrpath);
	if (rc == 0 && !*san)
		log_warn("the CSR has no DNS subjectAltName: clients will not accept the "
			 "certificate for HOSTNAME %s", c->hostname);
	else if (rc == 0 && strcmp(san, c->hostname) != 0)
		log_warn("the CSR names DNS:%s but HOSTNAME is %s", san, c->hostname);
	if (rc == 0)
		rc = ca_load(c, &ca);
	if (rc == 0)
		rc = issue(&ca, "Server", pub, CRY_EKU_SERVER | CRY_EKU_CLIENT, san, cert);
	if (rc == 0)
		rc = cli_write(c->certpath, cert, strlen(cert), 0644);
	if (rc == 0)
		log_info("sign-csr: wrote %s; next: sbs post-server-cert --env %s", c->certpath,
			 c->env_path);
	ca_free(&ca);
	free(csr);
	return rc;
}

/* ---- delete-certificates ---- */

int cli_cmd_delete_certificates(struct cli *c)
{
	static const char *const names[] = {
		"client-ca.pem", "client-ca-key.pem", "client-csr.pem", "client-cert-key.pem",
		"client-cert.pem", "client-cert-bundle.pem", "server-csr.pem",
		"server-cert-key.pem", "server-cert.pem", "sbsRuntime_Type",
	};
	char dir[PATH_MAX_SBS], p[PATH_MAX_SBS + 32];

	if (cli_param_nonempty(c, "client_crt_key")) {
		log_info("delete-certificates: CLIENT_CRT_KEY is set; your own files are left alone");
		return 0;
	}
	if (unlink(c->crt_key) == 0)
		log_info("client_crt %s has been deleted", c->crt_key);
	if ((size_t)snprintf(dir, sizeof dir, "%s.d", c->crt_key) >= sizeof dir)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		if (unlink(p) < 0 && errno != ENOENT)
			log_warn("cannot delete %s: %s", p, strerror(errno));
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		log_warn("%s was not removed: %s", dir, strerror(errno));
	return 0;
}

/* ---- instance-env ---- */

struct env_var {
	const char *name;
	char *b64;
};

static int env_file(struct env_var *v, const char *name, const char *path, const char *what,
		    size_t cut_after_cert)
{
	uint8_t *p = NULL;
	size_t len = 0;
	int rc = cli_read(path, CERT_MAX_PEM + KEY_MAX_PEM, what, &p, &len);

	if (rc < 0)
		return rc;
	if (cut_after_cert) {
		/* CLIENT_CRT: the cert+key file up to the end of the certificate */
		static const char end[] = "-----END CERTIFICATE-----\n";
		char *e = strstr((char *)p, end);

		if (!e) {
			log_err("%s holds no certificate", path);
			wipe_free(p, len);
			return -EINVAL;
		}
		wipe((uint8_t *)e + sizeof end - 1, len - (size_t)((uint8_t *)e + sizeof end - 1 - p));
		len = (size_t)((uint8_t *)e - p) + sizeof end - 1;
	}
	v->name = name;
	v->b64 = cli_b64(p, len);
	wipe_free(p, len);
	return v->b64 ? 0 : -ENOMEM;
}

static void env_print(const struct cli *c, const struct env_var *v, size_t n)
{
	const char *rt = cli_param_str(c, "runtime_type");
	int classic = rt && strcmp(rt, "classic") == 0;

	if (classic)
		log_info(" ****** Copy below environment variables and use in instance-create "
			 "command. ****** ");
	else
		log_info(" ****** Copy below environment variables and use in env contract as "
			 "environment variables. ****** ");
	for (size_t i = 0; i < n; i++) {
		if (classic)
			printf("%s-e %s=%s", i ? " " : "", v[i].name, v[i].b64);
		else
			printf("%s: \"%s\"\n", v[i].name, v[i].b64);
	}
	printf("\n");
}

static int env_collect(const struct cli *c, struct env_var *v, size_t *n)
{
	char path[PATH_MAX_SBS], key[PATH_MAX_SBS];
	const char *ssh = cli_param_nonempty(c, "root_ssh_key_file");
	int rc = 0;

	if (ssh && (rc = cli_expand(ssh, path, sizeof path)) == 0)
		rc = env_file(&v[(*n)++], "ROOT_SSH_KEY", path, "ROOT_SSH_KEY_FILE", 0);
	if (rc == 0 && !cli_exists(c->crt_key)) {
		log_err("no client certificate %s: run sbs create-client-cert --env %s first",
			c->crt_key, c->env_path);
		return -ENOENT;
	}
	if (rc == 0)
		rc = env_file(&v[(*n)++], "CLIENT_CRT", c->crt_key, "client certificate", 1);
	if (rc == 0)
		rc = env_file(&v[(*n)++], "CLIENT_CA", c->capath, "CA certificate (CAPATH)", 0);
	if (rc < 0 || dir_file(c, "server-cert.pem", path) < 0 ||
	    dir_file(c, "server-cert-key.pem", key) < 0)
		return rc < 0 ? rc : -ENAMETOOLONG;
	if (!cli_exists(path) && !cli_exists(key)) {
		log_warn("no server certificate in %s: printing the client values only. Run "
			 "sbs create-server-cert --env %s, or deploy like this and use the CSR flow "
			 "(get-server-csr, sign-csr, post-server-cert)", c->certdir, c->env_path);
		return 0;
	}
	rc = env_file(&v[(*n)++], "SERVER_CRT", path, "server certificate", 0);
	if (rc == 0)
		rc = env_file(&v[(*n)++], "SERVER_KEY", key, "server key", 0);
	if (rc == 0)
		log_warn("SERVER_KEY is the base64 of the PLAIN server private key, not a PGP "
			 "message: sbs cannot encrypt it to IBM's HPVS key (expired 2026-11-15). "
			 "Anyone who reads the contract can read the key. Prefer the CSR flow: deploy "
			 "without SERVER_CRT/SERVER_KEY, then get-server-csr, sign-csr, "
			 "post-server-cert");
	return rc;
}

int cli_cmd_instance_env(struct cli *c)
{
	struct env_var v[5];
	size_t n = 0;
	int rc;

	memset(v, 0, sizeof v);
	rc = env_collect(c, v, &n);
	if (rc == -ENOMEM)
		log_err("out of memory");
	if (rc == 0)
		env_print(c, v, n);
	for (size_t i = 0; i < n; i++)
		if (v[i].b64)
			wipe_free(v[i].b64, strlen(v[i].b64));
	return rc;
}
