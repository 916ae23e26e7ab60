/* SPDX-License-Identifier: MIT */
/*
 * cli: internals of the sbs client (src/sbs.c and src/cli_*.c), a C
 * reimplementation of IBM Hyper Protect Secure Build's build.py v0.221.
 *
 * One struct cli carries a run: the parsed command line, the config file as
 * read (key order kept, so it can be rewritten like Python's json.dump), and
 * `params`, build.py's internal dictionary: every config key lower-cased, then
 * the COS fallbacks, then every non-empty command-line value flag (flags beat
 * the config). Paths of the local certificate files are derived once.
 *
 * Secrets: SECRET, passwords, GITHUB_KEY, private keys. The config trees are
 * freed with json_free_secret(); buffers that held a secret are wiped. Nothing
 * here logs a parameter value; -vv prints request bodies with every secret
 * member replaced by "********" (cli_mask()).
 *
 * Errors: functions return 0 or a negative errno and have already told the
 * user what went wrong and what to do next (stderr). main() turns any failure
 * into exit status 255, like build.py's sys.exit(-1).
 */
#ifndef SBS_CLI_H
#define SBS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include "json.h"
#include "limits.h"

/* Network timeout for connect, handshake and every read/write wait; the
 * environment's SBS_TIMEOUT (seconds, 1..CLI_MAX_TIMEOUT_S) replaces it. */
#define CLI_TIMEOUT_MS 30000
#define CLI_MAX_TIMEOUT_S 3600
/* log --follow polls the server this often. */
#define CLI_FOLLOW_MS 1000

struct cli {
	const char *cmd;          /* command name (argv) */
	const char *env_path;     /* --env FILE */
	int verbose;              /* -v count */
	int noverify, new_secret, verify_manifest, verify_test, isv_secrets;
	int rsa, follow;          /* sbs extensions: --rsa, --follow */
	json *over;               /* value flags: lower-case name -> string */

	json *conf;               /* config file as read (owned, secret) */
	json *params;             /* lower-cased view, see above (owned, secret) */

	char hostname[256];
	char port[16];
	char crt_key[PATH_MAX_SBS];   /* client certificate + key file */
	char certdir[PATH_MAX_SBS];   /* ./<crt_key>.d or dirname(CERTPATH) */
	char capath[PATH_MAX_SBS];
	char cakeypath[PATH_MAX_SBS];
	char csrpath[PATH_MAX_SBS];
	char certpath[PATH_MAX_SBS];
	int own_keys;                 /* CERTPATH given */
};

/* ---- cli_conf.c: configuration ---- */
/* Reads --env, checks HOSTNAME, fills RUNTIME_TYPE/UUID/SECRET (rewriting the
 * file with a timestamped backup), builds params and the paths. */
int cli_conf_load(struct cli *c);
/* Rewrites the config file after setting key=val (a string, may be secret):
 * backup "<file>.<UTC ts>", then 4-space JSON. Used by update --new-secret. */
int cli_conf_set(struct cli *c, const char *key, const char *val);
void cli_free(struct cli *c);

/* params lookups (name is lower-case). */
const json *cli_param(const struct cli *c, const char *name);
/* The value if it is a string; NULL when absent or of another type. */
const char *cli_param_str(const struct cli *c, const char *name);
/* Like cli_param_str, but NULL for "" too (Python truthiness). */
const char *cli_param_nonempty(const struct cli *c, const char *name);

/* ---- helpers (cli_conf.c) ---- */
const char *cli_version(void);    /* "0.1.0" */
/* "~/x" -> "$HOME/x"; -ENAMETOOLONG. */
int cli_expand(const char *path, char *out, size_t cap);
int cli_exists(const char *path);
/* Reads a whole file; on error tells the user, naming what it is for. */
int cli_read(const char *path, size_t max, const char *what, uint8_t **out, size_t *len);
/* Writes a file atomically with mode; on error tells the user. */
int cli_write(const char *path, const void *p, size_t len, unsigned mode);
/* A name the server chose, safe as a file name in the current directory:
 * not empty, no '/', no control characters, not starting with '.'. */
int cli_safe_name(const char *name);
/* Standard base64 of p into a malloc'd NUL-terminated string (NULL: -ENOMEM). */
char *cli_b64(const uint8_t *p, size_t len);
/* A fresh SECRET: base64 of 128 random bytes (172 characters + NUL). */
int cli_new_secret(char out[176]);
/* Copy of j with every secret-looking member shown as "********". */
json *cli_mask(const json *j);

/* ---- cli_net.c: one HTTPS request ---- */
/* Reads SBS_TIMEOUT (see CLI_TIMEOUT_MS); -EINVAL with a message if malformed. */
int cli_timeout_init(void);
struct cli_resp {
	int status;       /* HTTP status */
	uint8_t *body;    /* NUL-terminated, may be NULL when empty */
	size_t len;
	json *j;          /* parsed body, NULL if not JSON */
};
/* method "GET" etc.; body NULL sends the JSON string "" like build.py.
 * verify 0 skips the server certificate check. */
int cli_request(struct cli *c, const char *method, const char *path, const char *body,
		int verify, struct cli_resp *r);
/* Same with a JSON body (serialised like Python json.dumps). */
int cli_request_json(struct cli *c, const char *method, const char *path, const json *body,
		     int verify, struct cli_resp *r);
void cli_resp_free(struct cli_resp *r);
/* Logs the status and (at most 512 bytes of) the body, control characters
 * replaced: for error replies. */
void cli_log_body(const char *api, const struct cli_resp *r);
/* Prints the response as build.py would log it: pretty JSON (indent 4) on
 * stdout; a non-JSON body is an error. Fails on HTTP >= 400 too. */
int cli_print_resp(const char *api, const struct cli_resp *r);

/* ---- commands: 0 or -errno ---- */
int cli_cmd_create_client_cert(struct cli *c);
int cli_cmd_create_server_cert(struct cli *c);
int cli_cmd_delete_certificates(struct cli *c);
int cli_cmd_sign_csr(struct cli *c);
int cli_cmd_instance_env(struct cli *c);
/* cli_appliance.c: the appliance env cpio (--out FILE) */
int cli_cmd_appliance_env(struct cli *c);
/* cli_attest.c: GET /attestation, evidence to --out FILE */
int cli_cmd_attest(struct cli *c);

int cli_cmd_status(struct cli *c);
int cli_cmd_init(struct cli *c);
int cli_cmd_update(struct cli *c);
int cli_cmd_build(struct cli *c);
int cli_cmd_clean(struct cli *c);
int cli_cmd_log(struct cli *c);

int cli_cmd_get_digest(struct cli *c);
int cli_cmd_get_publickey(struct cli *c);
int cli_cmd_get_signed_image_publickey(struct cli *c);
int cli_cmd_get_manifest(struct cli *c);
int cli_cmd_get_state_image(struct cli *c);
int cli_cmd_post_state_image(struct cli *c);
int cli_cmd_get_config_json(struct cli *c);
int cli_cmd_get_config_python(struct cli *c);
int cli_cmd_get_server_csr(struct cli *c);
int cli_cmd_post_server_cert(struct cli *c);

/* cli_verify.c: `sbs verify IMAGE --key PUB [--att]`, its own argv (no
 * config); returns the exit status (0 verified, 1 invalid, 255 error). */
int cli_verify_main(int argc, char **argv);

#endif
