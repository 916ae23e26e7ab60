/* SPDX-License-Identifier: MIT */
/*
 * sbs appliance-env: writes the deploy-time env of the s390x appliance as a
 * cpio archive (newc, uncompressed) holding one file, etc/sbs/env, to be
 * concatenated with the appliance initramfs, in front of it: the kernel
 * unpacks concatenated archives, but refuses a plain cpio after a gzip
 * member ("invalid magic at start of compressed archive"). QEMU's -initrd
 * takes the concatenation; genprotimg/pvimg encrypt it into the SE image.
 * The file has NAME=value lines:
 *
 *   CLIENT_CA    base64 PEM of CAPATH (required)
 *   CLIENT_CRT   base64 PEM of the client certificate (when it exists)
 *   SERVER_CRT, SERVER_KEY  base64 PEM, only when both server-cert.pem and
 *                server-cert-key.pem are in the certificate directory;
 *                otherwise the appliance starts in CSR-bootstrap mode
 *   SBS_HOSTNAME HOSTNAME; SBS_PORT 443 (the guest port; CICD_PORT is the
 *                port the client uses, e.g. a QEMU hostfwd)
 *   SBS_WORKLOAD_SEED, SBS_ENV_SEED  the volume seeds (HPVS style: the LUKS
 *                passphrase is hex SHA-256 of workload seed || env seed)
 *   SBS_APPLIANCE_SECRET  64 hex digits, the appliance half of the state
 *                image key under QEMU (under SE it is sealed in the image)
 *   SBS_ATTEST_REQUEST  base64 of the `pvattest create` request file, when
 *                ATTEST_REQUEST_FILE (config) or --attest-request-file names
 *                one (docs/attestation.md); it is encrypted to the host key
 *                and not secret, but the env must be rebuilt for a new one
 *
 * The seeds and the appliance secret are kept in the config file
 * (APPLIANCE_WORKLOAD_SEED, APPLIANCE_ENV_SEED, APPLIANCE_SECRET), generated
 * on first use (64 hex digits of fresh randomness each, the config rewritten
 * once with a backup): the same config always yields the same env, and the
 * seeds are what `cryptsetup open` needs to recover a volume on the host.
 * They are secret: never printed or logged; the output file is mode 0600 and
 * every buffer that held them is wiped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define APP_ENV_DEFAULT_OUT "sbs-appliance-env.cpio"
#define APP_SEED_HEX 64

struct app_seed {
	const char *conf_key;   /* in sbs-config.json */
	const char *env_name;   /* in /etc/sbs/env */
};

static const struct app_seed seeds[] = {
	{ "APPLIANCE_WORKLOAD_SEED", "SBS_WORKLOAD_SEED" },
	{ "APPLIANCE_ENV_SEED", "SBS_ENV_SEED" },
	{ "APPLIANCE_SECRET", "SBS_APPLIANCE_SECRET" },
};
#define NSEEDS (sizeof seeds / sizeof seeds[0])

static int is_hex64(const char *s)
{
	return s && strlen(s) == APP_SEED_HEX &&
	       strspn(s, "0123456789abcdefABCDEF") == APP_SEED_HEX;
}

static int hex_random(char out[APP_SEED_HEX + 1])
{
	static const char hx[] = "0123456789abcdef";
	uint8_t r[APP_SEED_HEX / 2];
	int rc = util_rng(NULL, r, sizeof r);

	for (size_t i = 0; rc == 0 && i < sizeof r; i++) {
		out[2 * i] = hx[r[i] >> 4];
		out[2 * i + 1] = hx[r[i] & 15];
	}
	out[APP_SEED_HEX] = 0;
	wipe(r, sizeof r);
	return rc;
}

/* Seeds from the config, generating (and saving) the missing ones. */
static int get_seeds(struct cli *c, char val[NSEEDS][APP_SEED_HEX + 1])
{
	int missing = 0, rc = 0;

	for (size_t i = 0; i < NSEEDS; i++) {
		const char *v = json_get_str(c->conf, seeds[i].conf_key);

		if (v && !is_hex64(v)) {
			log_err("%s in %s must be 64 hex digits (delete it to have one generated)",
				seeds[i].conf_key, c->env_path);
			return -EINVAL;
		}
		if (v) {
			memcpy(val[i], v, APP_SEED_HEX + 1);
			continue;
		}
		if ((rc = hex_random(val[i])) < 0 ||
		    (rc = json_set_str(c->conf, seeds[i].conf_key, val[i])) < 0)
			return rc;
		missing = 1;
	}
	if (missing) {
		/* rewrites the file once with everything set above (and a backup) */
		rc = cli_conf_set(c, seeds[0].conf_key, val[0]);
		if (rc == 0)
			log_info("generated the appliance seeds and secret and saved them in %s "
				 "(keep it secret: they unlock the data volume)", c->env_path);
	}
	return rc;
}

/* One newc entry: header, name (NUL, padded to 4), data (padded to 4). */
static int cpio_entry(struct buf *b, unsigned ino, unsigned mode, const char *name,
		      const uint8_t *data, size_t len)
{
	static const uint8_t zero[4];
	size_t nl = strlen(name) + 1;
	int rc;

	rc = buf_printf(b, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ino,
			mode, 0u, 0u, (mode & 0170000) == 0040000 ? 2u : 1u, 0u, len, 0u, 0u, 0u,
			0u, nl, 0u);
	if (rc == 0)
		rc = buf_append(b, name, nl);
	if (rc == 0)
		rc = buf_append(b, zero, (4 - b->len % 4) % 4);
	if (rc == 0 && len)
		rc = buf_append(b, data, len);
	if (rc == 0)
		rc = buf_append(b, zero, (4 - b->len % 4) % 4);
	return rc;
}

/* Appends NAME=base64(file of at most max bytes) when the file exists (or
 * must exist). */
static int env_file(struct buf *env, const char *name, const char *path, int required,
		    size_t max, size_t cut_after_cert)
{
	uint8_t *p = NULL;
	size_t len = 0;
	char *b64;
	int rc;

	if (!required && !cli_exists(path))
		return 0;
	if ((rc = cli_read(path, max, name, &p, &len)) < 0)
		return rc;
	if (cut_after_cert) {
		static const char end[] = "-----END CERTIFICATE-----\n";
		char *e = strstr((char *)p, end);

		if (e)
			len = (size_t)(e - (char *)p) + sizeof end - 1;
	}
	b64 = cli_b64(p, len);
	wipe_free(p, len);
	if (!b64)
		return -ENOMEM;
	rc = buf_printf(env, "%s=%s\n", name, b64);
	wipe_free(b64, strlen(b64));
	return rc;
}

static int env_pem(struct buf *env, const char *name, const char *path, int required,
		   size_t cut_after_cert)
{
	return env_file(env, name, path, required, CERT_MAX_PEM + KEY_MAX_PEM, cut_after_cert);
}

static int env_build(struct cli *c, struct buf *env)
{
	const char *req = cli_param_nonempty(c, "attest_request_file");
	char val[NSEEDS][APP_SEED_HEX + 1], crt[PATH_MAX_SBS], key[PATH_MAX_SBS];
	int rc;

	if ((rc = env_pem(env, "CLIENT_CA", c->capath, 1, 0)) < 0 ||
	    (rc = env_pem(env, "CLIENT_CRT", c->crt_key, 0, 1)) < 0)
		return rc;
	if ((size_t)snprintf(crt, sizeof crt, "%s/server-cert.pem", c->certdir) >= sizeof crt ||
	    (size_t)snprintf(key, sizeof key, "%s/server-cert-key.pem", c->certdir) >= sizeof key)
		return -ENAMETOOLONG;
	if (cli_exists(crt) && cli_exists(key)) {
		if ((rc = env_pem(env, "SERVER_CRT", crt, 1, 0)) < 0 ||
		    (rc = env_pem(env, "SERVER_KEY", key, 1, 0)) < 0)
			return rc;
		log_info("the env carries SERVER_CRT and SERVER_KEY from %s", c->certdir);
	} else {
		log_info("no server key in %s: the appliance starts in CSR mode (get-server-csr, "
			 "sign-csr, post-server-cert)", c->certdir);
	}
	rc = buf_printf(env, "SBS_HOSTNAME=%s\nSBS_PORT=443\n", c->hostname);
	if (rc == 0)
		rc = get_seeds(c, val);
	for (size_t i = 0; rc == 0 && i < NSEEDS; i++)
		rc = buf_printf(env, "%s=%s\n", seeds[i].env_name, val[i]);
	wipe(val, sizeof val);
	/* base64 grows it by 4/3: a file over 3/4 of the env cannot fit */
	if (rc == 0 && req)
		rc = env_file(env, "SBS_ATTEST_REQUEST", req, 1, INIT_MAX_ENV / 4 * 3, 0);
	return rc;
}

int cli_cmd_appliance_env(struct cli *c)
{
	struct buf env = { .max = INIT_MAX_ENV, .secret = 1 };
	struct buf cpio = { .max = INIT_MAX_ENV + 1024, .secret = 1 };
	const char *out = cli_param_nonempty(c, "out");
	int rc;

	if (!out)
		out = APP_ENV_DEFAULT_OUT;
	rc = env_build(c, &env);
	if (rc == -E2BIG)
		log_err("the env is larger than %u bytes", INIT_MAX_ENV);
	if (rc == 0)
		rc = cpio_entry(&cpio, 1, 0040755, "etc", NULL, 0);
	if (rc == 0)
		rc = cpio_entry(&cpio, 2, 0040755, "etc/sbs", NULL, 0);
	if (rc == 0)
		rc = cpio_entry(&cpio, 3, 0100600, "etc/sbs/env", env.data, env.len);
	if (rc == 0)
		rc = cpio_entry(&cpio, 0, 0, "TRAILER!!!", NULL, 0);
	if (rc == 0)
		rc = cli_write(out, cpio.data, cpio.len, 0600);
	if (rc == 0)
		log_info("wrote %s (%zu bytes): put it in front of the appliance initramfs, e.g. "
			 "cat %s initramfs.cpio.gz > initrd", out, cpio.len, out);
	buf_free(&env);
	buf_free(&cpio);
	return rc;
}
