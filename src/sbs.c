/* SPDX-License-Identifier: MIT */
/*
 * sbs: the client CLI. Parses build.py's command line (`sbs <command> --env
 * sbs-config.json [options]`, PROTOCOL §2), prints help, loads the config and
 * runs one command. Exit status 0 on success and 255 on any failure (build.py's
 * sys.exit(-1)). Stricter than build.py where that only turns a crash or a
 * silent no-op into a clear error: unknown commands and options fail.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define EXIT_FAIL 255

struct command {
	const char *name;
	int (*fn)(struct cli *c);
	int net;              /* talks to the server */
	const char *summary;
	const char *help;     /* what it does, keys, flags, files */
};

static const struct command commands[] = {
	{ "create-client-cert", cli_cmd_create_client_cert, 0,
	  "create the client CA and the client certificate (local)",
	  "Creates a private CA (CN=Client CA, 2 years) and a client certificate (CN=Client,\n"
	  "1 year, EKU clientAuth+serverAuth) signed by it. Keys are ECDSA P-256, or RSA-2048\n"
	  "with --rsa. If the cert+key file, CAPATH and CAKEYPATH all exist they are reused and\n"
	  "nothing is generated; a partial set is refused.\n"
	  "Config: HOSTNAME, CONTAINER_NAME, UUID, CLIENT_CRT_KEY, CAPATH, CAKEYPATH.\n"
	  "Flags: --rsa, --container-name, --client-crt-key, --capath, --cakeypath.\n"
	  "Writes: ./.<CONTAINER_NAME>-<UUID> (client certificate + key) and in\n"
	  "./.<CONTAINER_NAME>-<UUID>.d/: client-ca.pem, client-ca-key.pem, client-csr.pem,\n"
	  "client-cert-key.pem, client-cert.pem, client-cert-bundle.pem.\n" },
	{ "create-server-cert", cli_cmd_create_server_cert, 0,
	  "create the server key and certificate for HOSTNAME (local)",
	  "Creates the server key, CSR and certificate (CN=Server, SAN DNS:<HOSTNAME>, EKU\n"
	  "serverAuth, 1 year) signed by the client CA, for deploying the server (see\n"
	  "instance-env). Nothing is regenerated when server-cert.pem already names HOSTNAME.\n"
	  "Needs create-client-cert first. Keys are ECDSA P-256, or RSA-2048 with --rsa.\n"
	  "Config: HOSTNAME, CONTAINER_NAME, UUID, CLIENT_CRT_KEY, CAPATH, CAKEYPATH, CERTPATH.\n"
	  "Flags: --rsa, --capath, --cakeypath, --certpath.\n"
	  "Writes: server-cert-key.pem, server-csr.pem, server-cert.pem in the certificate\n"
	  "directory (./.<CONTAINER_NAME>-<UUID>.d, or the directory of CERTPATH).\n" },
	{ "delete-certificates", cli_cmd_delete_certificates, 0,
	  "delete the default client certificate file and its .d directory (local)",
	  "Deletes ./.<CONTAINER_NAME>-<UUID> and the certificate files sbs writes in\n"
	  "./.<CONTAINER_NAME>-<UUID>.d/, then the directory if it is empty. Does nothing\n"
	  "when CLIENT_CRT_KEY is set (your own files are never deleted).\n"
	  "Config: CONTAINER_NAME, UUID, CLIENT_CRT_KEY.\n" },
	{ "instance-env", cli_cmd_instance_env, 0,
	  "print the server's deploy-time environment (CLIENT_CRT, CLIENT_CA, ...)",
	  "Prints ROOT_SSH_KEY (if ROOT_SSH_KEY_FILE is set), CLIENT_CRT, CLIENT_CA, SERVER_CRT\n"
	  "and SERVER_KEY, each the base64 of the PEM file, for the contract's env section:\n"
	  "NAME: \"value\" lines (vpc, on-prem) or -e NAME=value (classic). SERVER_KEY is the\n"
	  "plain server private key (it cannot be encrypted to IBM's HPVS key): keep the output\n"
	  "secret, or deploy without SERVER_CRT/SERVER_KEY and use the CSR flow (get-server-csr,\n"
	  "sign-csr, post-server-cert).\n"
	  "Config: RUNTIME_TYPE, ROOT_SSH_KEY_FILE, CLIENT_CRT_KEY, CAPATH, CERTPATH.\n"
	  "Writes: nothing (stdout only).\n" },
	{ "appliance-env", cli_cmd_appliance_env, 0,
	  "write the s390x appliance's deploy-time env as a cpio (local)",
	  "Writes etc/sbs/env (CLIENT_CA, CLIENT_CRT, SERVER_CRT/SERVER_KEY when both exist in\n"
	  "the certificate directory, SBS_HOSTNAME, SBS_PORT=443, the volume seeds and the\n"
	  "appliance secret) as an uncompressed newc cpio, mode 0600, to put in front of the\n"
	  "appliance initramfs. The seeds (APPLIANCE_WORKLOAD_SEED, APPLIANCE_ENV_SEED,\n"
	  "APPLIANCE_SECRET) are generated and saved in the config on first use; they are\n"
	  "secret and never printed. See docs/appliance.md.\n"
	  "With ATTEST_REQUEST_FILE (or --attest-request-file) the env also carries that\n"
	  "`pvattest create` request as SBS_ATTEST_REQUEST (docs/attestation.md).\n"
	  "Config: HOSTNAME, CAPATH, CLIENT_CRT_KEY, CERTPATH, ATTEST_REQUEST_FILE.\n"
	  "Flags: --out FILE, --attest-request-file FILE.\n"
	  "Writes: FILE (default ./sbs-appliance-env.cpio), the config (seeds, once).\n" },
	{ "attest", cli_cmd_attest, 1,
	  "save Secure Execution attestation evidence (GET /attestation)",
	  "Asks the appliance for evidence binding SHA-256 of its TLS public key and a nonce,\n"
	  "checks that binding, and saves the pvattest exchange file for `pvattest verify`.\n"
	  "Outside Secure Execution (QEMU) the server says \"not protected\" and nothing is\n"
	  "written. See docs/attestation.md.\n"
	  "Config: HOSTNAME, CICD_PORT, CERTPATH. Flags: --nonce HEX (default: 32 random bytes),\n"
	  "--out FILE, --noverify.\n"
	  "Writes: FILE (default ./sbs-attestation.bin).\n" },
	{ "get-server-csr", cli_cmd_get_server_csr, 1,
	  "fetch the server's CSR (GET /csr/<HOSTNAME>, server not verified)",
	  "Asks a server deployed without SERVER_CRT/SERVER_KEY for its certificate signing\n"
	  "request. The server certificate is not checked (it has none from your CA yet).\n"
	  "Next: sign-csr, then post-server-cert.\n"
	  "Config: HOSTNAME, CICD_PORT, CSRPATH. Flags: --csrpath.\n"
	  "Writes: CSRPATH (default ./.<CONTAINER_NAME>-<UUID>.d/server-csr.pem).\n" },
	{ "sign-csr", cli_cmd_sign_csr, 0,
	  "sign the server CSR with the client CA (local)",
	  "Signs CSRPATH with the client CA: CN=Server, 1 year, EKU clientAuth+serverAuth,\n"
	  "KU digitalSignature, the CSR's subjectAltName DNS name copied over.\n"
	  "Config: CAPATH, CAKEYPATH, CSRPATH, CERTPATH. Flags: --capath, --cakeypath,\n"
	  "--csrpath, --certpath.\n"
	  "Writes: CERTPATH (default ./.<CONTAINER_NAME>-<UUID>.d/server-cert.pem).\n" },
	{ "post-server-cert", cli_cmd_post_server_cert, 1,
	  "upload the signed server certificate (POST /certificate)",
	  "Sends CERTPATH to the server, which installs it; the server is not verified during\n"
	  "this request. Afterwards `status` verifies it normally.\n"
	  "Config: HOSTNAME, CICD_PORT, CERTPATH. Flags: --certpath. Writes: nothing.\n" },
	{ "status", cli_cmd_status, 1,
	  "print the server status (GET /image)",
	  "Prints the status JSON: status, build_image_tag, build_name, image_tag, ...\n"
	  "Flags: --noverify (do not check the server certificate). Writes: nothing.\n" },
	{ "init", cli_cmd_init, 1,
	  "send the build parameters to the server (POST /image)",
	  "Sends the build parameters and prints the reply ({\"status\": \"OK\"}).\n"
	  "Required config: RUNTIME_TYPE (vpc|classic|on-prem), DOCKER_REPO, DOCKER_USER,\n"
	  "DOCKER_PASSWORD, GITHUB_URL, SECRET, IMAGE_TAG (sent as BUILD_IMAGE_TAG; may be \"\"),\n"
	  "REPO_ID for classic only. GITHUB_KEY_FILE and ICR_BASE_REPO_PUBLIC_KEY are read and\n"
	  "their contents sent. Optional: GITHUB_BRANCH, IMAGE_TAG_PREFIX, DOCKERFILE_PATH,\n"
	  "DOCKER_BUILD_PATH, ARG, ENV_WHITELIST, DOCKER_*, ICR_BASE_REPO, MANIFEST_*, STATE_*,\n"
	  "COS_* (fallbacks), ISV_SECRET, ... (see PROTOCOL §9). Object storage: with\n"
	  "MANIFEST_BUCKET_NAME set every build uploads its manifest there; credentials are\n"
	  "*_COS_API_KEY_ID (IBM IAM) or *_COS_HMAC_ACCESS_KEY_ID + *_COS_HMAC_SECRET_ACCESS_KEY\n"
	  "(S3 HMAC keys, sbs extension; *_COS_REGION, default us-east-1).\n"
	  "Flags: --github-key-file, --secret.\n"
	  "Writes: sbsRuntime_Type in the certificate directory.\n" },
	{ "update", cli_cmd_update, 1,
	  "send changed build parameters (PATCH /image)",
	  "Like init, for a server already initialised; RUNTIME_TYPE cannot change.\n"
	  "With --new-secret a new SECRET is generated and sent as NEW_SECRET; when the server\n"
	  "answers OK the config file is rewritten with it (the old file is kept as\n"
	  "<file>.<timestamp>). Old state images need the old SECRET.\n"
	  "Config and flags: as init, plus --new-secret. Writes: sbsRuntime_Type, the config.\n" },
	{ "build", cli_cmd_build, 1,
	  "start a build (PUT /image)",
	  "Starts an asynchronous build; follow it with `status` or `log --log build --follow`.\n"
	  "Writes: nothing.\n" },
	{ "clean", cli_cmd_clean, 1,
	  "stop and clean up a build (DELETE /image)",
	  "Stops the build and cleans the build environment. Writes: nothing.\n" },
	{ "log", cli_cmd_log, 1,
	  "print a server log (GET /log/<NAME>), --log build",
	  "Prints the log named by --log (e.g. build). With --follow it polls every second,\n"
	  "prints new lines and stops when the build status is \"success\", \"exiting due to"
	  " ...\"\nor \"restarted cicd\"; it then exits 0 only if the build succeeded.\n"
	  "Flags: --log NAME (required), --follow. Writes: nothing.\n" },
	{ "get-digest", cli_cmd_get_digest, 1,
	  "print the digest of the built image (GET /imagedigest)",
	  "Prints \"Digest value of the built image: <registry>/<repo>@sha256:...\".\n"
	  "Writes: nothing.\n" },
	{ "get-publickey", cli_cmd_get_publickey, 1,
	  "save the manifest signing public key (GET /publickey)",
	  "Config: BUILD_NAME. Flags: --build-name (a non-latest build).\n"
	  "Writes: ./manifest.<build_name>-public.pem.\n" },
	{ "get-signed-image-publickey", cli_cmd_get_signed_image_publickey, 1,
	  "save the image signing public key (GET /config-json)",
	  "Saves the key that verifies the pushed image's signature, for the contract's\n"
	  "images section; base64-encoded when DOCKER_PUSH_SERVER is not docker.io.\n"
	  "Config: DOCKER_PUSH_SERVER (default docker.io), RUNTIME_TYPE.\n"
	  "Writes: ./<repository name with '/' -> '-'>-public.key.\n" },
	{ "get-manifest", cli_cmd_get_manifest, 1,
	  "save the signed build manifest (GET /manifest)",
	  "Config: BUILD_NAME. Flags: --build-name (a non-latest build), --verify-manifest\n"
	  "(also get-publickey, extract the two members and check the RSA signature over\n"
	  "SHA-256 of the .tbz: prints verify=OK or Invalid Signature), --verify-test\n"
	  "(tamper on purpose: verification must fail, \"verify=intentionally failed\").\n"
	  "Writes: ./<manifest_name>.sig.tbz; with --verify-manifest also\n"
	  "./manifest.<build_name>-public.pem, ./<manifest_name>.tbz, ./<manifest_name>.sig.\n" },
	{ "get-state-image", cli_cmd_get_state_image, 1,
	  "save the encrypted server state (GET /state-image)",
	  "Saves the state image (signing keys and parameters, encrypted with SECRET and a\n"
	  "server secret). With a bucket the server uploads it to COS (object <name>, the\n"
	  "same JSON a local save holds) and answers its metadata (name, export_tag).\n"
	  "The server uses the STATE_COS_* keys given to init: an IAM API key, or HMAC keys.\n"
	  "Config: STATE_BUCKET_NAME. Flags: --state-bucket-name.\n"
	  "Writes: ./<name> (the whole JSON reply; with a bucket, the metadata).\n" },
	{ "post-state-image", cli_cmd_post_state_image, 1,
	  "restore a state image (POST /state-image)",
	  "Sends SECRET with --state-image FILE (a file saved by get-state-image), or with\n"
	  "STATE_BUCKET_NAME and --name to restore from COS (not both; the server fetches\n"
	  "object <name> from the bucket with the STATE_COS_* keys given to init).\n"
	  "Config: SECRET, STATE_BUCKET_NAME, NAME. Flags: --state-image, --state-bucket-name,\n"
	  "--name, --secret. Writes: nothing.\n" },
	{ "get-config-json", cli_cmd_get_config_json, 1,
	  "classic registration file (not supported by sbs)",
	  "build.py encrypts the classic registration file with GnuPG to IBM's key; sbs does\n"
	  "not. Use the VPC runtime.\n" },
	{ "get-config-python", cli_cmd_get_config_python, 1,
	  "classic runtime: save the python config (GET /config-python)",
	  "Config: RUNTIME_TYPE (must be classic), REPO_ID.\n"
	  "Writes: ./<REPO_ID or repo_regfile>.py.\n" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

enum { F_VAL, F_COUNT };
struct flag {
	const char *name;     /* without "--" */
	int kind;
	size_t off;           /* F_COUNT: int field of struct cli */
	const char *arg;      /* F_VAL: what the value is */
	const char *help;
};

static const struct flag flags[] = {
	{ "env", F_VAL, 0, "FILE", "the config JSON (required)" },
	{ "verbose", F_COUNT, offsetof(struct cli, verbose), NULL, "log requests (-vv: also bodies, secrets masked)" },
	{ "github-key-file", F_VAL, 0, "FILE", "overrides GITHUB_KEY_FILE" },
	{ "log", F_VAL, 0, "NAME", "log name for `log` (build)" },
	{ "follow", F_COUNT, offsetof(struct cli, follow), NULL, "`log`: keep printing until the build ends" },
	{ "loglevel", F_VAL, 0, "LEVEL", "accepted for compatibility, ignored" },
	{ "verify-manifest", F_COUNT, offsetof(struct cli, verify_manifest), NULL, "`get-manifest`: verify the manifest signature" },
	{ "verify-test", F_COUNT, offsetof(struct cli, verify_test), NULL, "with --verify-manifest: self-test" },
	{ "client-crt-key", F_VAL, 0, "FILE", "client certificate + key file (CLIENT_CRT_KEY)" },
	{ "build-name", F_VAL, 0, "NAME", "non-latest build for get-manifest/get-publickey" },
	{ "container-name", F_VAL, 0, "NAME", "overrides CONTAINER_NAME" },
	{ "new-secret", F_COUNT, offsetof(struct cli, new_secret), NULL, "`update`: rotate SECRET" },
	{ "state-image", F_VAL, 0, "FILE", "`post-state-image`: state file" },
	{ "secret", F_VAL, 0, "S", "overrides SECRET" },
	{ "noverify", F_COUNT, offsetof(struct cli, noverify), NULL, "`status`: do not verify the server" },
	{ "capath", F_VAL, 0, "FILE", "CA certificate (CAPATH)" },
	{ "cakeypath", F_VAL, 0, "FILE", "CA key (CAKEYPATH)" },
	{ "csrpath", F_VAL, 0, "FILE", "server CSR (CSRPATH)" },
	{ "certpath", F_VAL, 0, "FILE", "server certificate (CERTPATH)" },
	{ "cloud", F_COUNT, 0, NULL, "accepted for compatibility (always on)" },
	{ "state-bucket-name", F_VAL, 0, "B", "COS bucket for state images" },
	{ "name", F_VAL, 0, "NAME", "state image name in COS" },
	{ "config-json-path", F_VAL, 0, "FILE", "accepted for compatibility, unused" },
	{ "rd-path", F_VAL, 0, "FILE", "accepted for compatibility, unused" },
	{ "key-id", F_VAL, 0, "ID", "accepted for compatibility, unused" },
	{ "email", F_VAL, 0, "ADDR", "accepted for compatibility, unused" },
	{ "isv-secrets", F_COUNT, offsetof(struct cli, isv_secrets), NULL, "accepted for compatibility, unused" },
	{ "out", F_VAL, 0, "FILE", "`appliance-env`, `attest`: output file" },
	{ "attest-request-file", F_VAL, 0, "FILE", "`appliance-env`: pvattest request for SBS_ATTEST_REQUEST" },
	{ "nonce", F_VAL, 0, "HEX", "`attest`: nonce (1 to 64 bytes in hex)" },
	{ "rsa", F_COUNT, offsetof(struct cli, rsa), NULL, "create-*-cert: RSA-2048 keys instead of ECDSA P-256" },
};
#define NFLAGS (sizeof flags / sizeof flags[0])

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void help_all(void)
{
	printf("usage: sbs <command> --env sbs-config.json [options]\n\n"
	       "A client for the sbs secure build server, compatible with IBM Hyper Protect\n"
	       "Secure Build's build.py v0.221.\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-27s %s\n", commands[i].name, commands[i].summary);
	printf("  %-27s %s\n", "verify", "check an image's cosign signature and provenance in its "
	       "registry (no --env; `sbs verify --help`)");
	printf("\noptions:\n  -h, --help                  this help; `sbs CMD --help` for one command\n"
	       "  --version                   print the version\n");
	for (size_t i = 0; i < NFLAGS; i++) {
		char opt[48];

		snprintf(opt, sizeof opt, "%s--%s%s%s", strcmp(flags[i].name, "verbose") ? "" : "-v, ",
			 flags[i].name, flags[i].arg ? " " : "", flags[i].arg ? flags[i].arg : "");
		printf("  %-27s %s\n", opt, flags[i].help);
	}
	printf("\nCommand-line options override the same keys in the config file.\n"
	       "Environment: SBS_TIMEOUT=SECONDS, how long one wait for the server may take\n"
	       "(connect, handshake, each read; default %d, at most %d): raise it for a slow\n"
	       "server such as the appliance under emulation.\n", CLI_TIMEOUT_MS / 1000,
	       CLI_MAX_TIMEOUT_S);
}

static void help_command(const struct command *cmd)
{
	printf("usage: sbs %s --env sbs-config.json [options]\n\n%s: %s.\n\n%s", cmd->name,
	       cmd->name, cmd->summary, cmd->help);
	if (cmd->net)
		printf("\nConnection: https://HOSTNAME:CICD_PORT (default 443), mutual TLS with the\n"
		       "client certificate + key file ./.<CONTAINER_NAME>-<UUID> (or CLIENT_CRT_KEY),\n"
		       "the server verified against CAPATH (default\n"
		       "./.<CONTAINER_NAME>-<UUID>.d/client-ca.pem) and HOSTNAME. -v logs requests.\n");
	printf("Every run adds RUNTIME_TYPE, UUID and SECRET to the config file if missing\n"
	       "(keeping a copy of the old file as <file>.<timestamp>).\n");
}

struct args {
	int help, version;
	const char *pos[2];
	int npos;
};

static int set_flag(struct cli *c, const struct flag *f, const char *val)
{
	char key[64];
	size_t i;

	if (f->kind == F_COUNT) {
		if (f->off)
			(*(int *)(void *)((char *)c + f->off))++;
		return 0;
	}
	if (strcmp(f->name, "env") == 0) {
		c->env_path = val;
		return 0;
	}
	if (!*val)          /* build.py ignores empty (falsy) values */
		return 0;
	for (i = 0; f->name[i] && i + 1 < sizeof key; i++)
		key[i] = f->name[i] == '-' ? '_' : f->name[i];
	key[i] = 0;
	if (!c->over)
		c->over = json_new_obj();
	if (!c->over || json_set_str(c->over, key, val) < 0) {
		log_err("out of memory");
		return -1;
	}
	return 0;
}

static int parse_long(struct cli *c, struct args *a, int argc, char **argv, int *i)
{
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct flag *f = NULL;

	if (n == 4 && strncmp(arg, "help", 4) == 0 && !eq)
		return a->help = 1, 0;
	if (n == 7 && strncmp(arg, "version", 7) == 0 && !eq)
		return a->version = 1, 0;
	for (size_t k = 0; k < NFLAGS; k++)
		if (strlen(flags[k].name) == n && strncmp(flags[k].name, arg, n) == 0)
			f = &flags[k];
	if (!f) {
		log_err("unknown option --%.*s; run `sbs --help` for the options", (int)n, arg);
		return -1;
	}
	if (f->kind == F_COUNT && eq) {
		log_err("option --%s takes no value", f->name);
		return -1;
	}
	if (f->kind == F_VAL && !eq && *i + 1 >= argc) {
		log_err("option --%s needs a value", f->name);
		return -1;
	}
	return set_flag(c, f, f->kind == F_COUNT ? NULL : eq ? eq + 1 : argv[++*i]);
}

static int parse_args(struct cli *c, struct args *a, int argc, char **argv)
{
	int only_pos = 0;

	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!only_pos && strcmp(s, "--") == 0) {
			only_pos = 1;
		} else if (!only_pos && strncmp(s, "--", 2) == 0) {
			if (parse_long(c, a, argc, argv, &i) < 0)
				return -1;
		} else if (!only_pos && s[0] == '-' && s[1]) {
			if (strcmp(s, "-h") == 0) {
				a->help = 1;
				continue;
			}
			if (strspn(s + 1, "v") != strlen(s + 1)) {
				log_err("unknown option %s; run `sbs --help` for the options", s);
				return -1;
			}
			c->verbose += (int)strlen(s + 1);
		} else if (a->npos < 2) {
			a->pos[a->npos++] = s;
		} else {
			log_err("unexpected argument '%s'; run `sbs --help`", s);
			return -1;
		}
	}
	return 0;
}

/* Checks that need no config; 1 = handled (help/version), 0 = run, -1 = error. */
static int check_args(struct cli *c, struct args *a, const struct command **cmd)
{
	const char *name = a->npos ? a->pos[0] : NULL;

	if (a->version) {
		printf("sbs %s (build.py v0.221 compatible)\n", cli_version());
		return 1;
	}
	if (name && strcmp(name, "help") == 0) {
		name = a->npos > 1 ? a->pos[1] : NULL;
		a->help = 1;
	} else if (a->npos > 1) {
		log_err("unexpected argument '%s'; run `sbs --help`", a->pos[1]);
		return -1;
	}
	if (!name && a->help) {
		help_all();
		return 1;
	}
	if (!name) {
		log_err("no command given; run `sbs --help` for the list of commands");
		return -1;
	}
	*cmd = find_command(name);
	if (!*cmd) {
		log_err("unknown command: %s; run `sbs --help` for the list of commands", name);
		return -1;
	}
	if (a->help) {
		help_command(*cmd);
		return 1;
	}
	if (!c->env_path || !*c->env_path) {
		log_err("the --env FILE option is required: it names your sbs-config.json, "
			"e.g. `sbs %s --env sbs-config.json`", name);
		return -1;
	}
	if (c->new_secret && strcmp(name, "update") != 0) {
		log_err("--new-secret is only for `update` (rotates SECRET on an initialised "
			"server)");
		return -1;
	}
	c->cmd = name;
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c;
	struct args a;
	const struct command *cmd = NULL;
	int rc;

	if (argc > 1 && strcmp(argv[1], "verify") == 0)   /* no config: its own options */
		return cli_verify_main(argc - 1, argv + 1);
	memset(&c, 0, sizeof c);
	memset(&a, 0, sizeof a);
	rc = parse_args(&c, &a, argc, argv);
	if (rc == 0)
		rc = check_args(&c, &a, &cmd);
	if (rc == 0)
		rc = cli_timeout_init();
	if (rc == 0)
		rc = cli_conf_load(&c);
	if (rc == 0)
		rc = cmd->fn(&c);
	cli_free(&c);
	fflush(stdout);
	return rc < 0 ? EXIT_FAIL : 0;
}
