/* SPDX-License-Identifier: MIT */
/*
 * sbsd: the secure build server. Reads the deploy-time configuration (from
 * the environment, or an env file as an HPVS contract's env section would
 * set it), opens the HAL, the keeper and the parameter store, picks its TLS
 * identity and serves the HPSB REST protocol over mutual TLS.
 *
 * Processes (docs/processes.md): right after the HAL has opened the data
 * directory, sbsd forks the keeper (keeper_spawn), which alone decodes
 * SERVER_KEY, reads the appliance secret and holds the keys; this process
 * then wipes those variables from its environment, narrows its capability
 * bounding set to what it and its builders need, and becomes the API.
 *
 * Deploy-time variables (base64 of PEM, as build.py's instance-env prints):
 *   CLIENT_CA   required: the CA that signs client (and posted server) certs
 *   CLIENT_CRT  optional: accepted for compatibility, must verify against CLIENT_CA
 *   SERVER_CRT, SERVER_KEY  optional pair; without them the CSR bootstrap runs
 * Plain variables: SBS_HOSTNAME (default localhost), SBS_PORT (443),
 * SBS_LISTEN (0.0.0.0), SBS_DATA_DIR (./sbs-data; the HAL may name another),
 * SBS_HAL (sim; se as PID 1 when unset; hpvs in a container), SBS_CA_BUNDLE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "cry.h"
#include "hal.h"
#include "init.h"
#include "keeper.h"
#include "limits.h"
#include "params.h"
#include "server.h"
#include "tlsid.h"
#include "util.h"

#define ENV_MAX_VARS 32
static struct { char *name, *value; } envf[ENV_MAX_VARS];
static size_t nenvf;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sbsd [--env-file FILE] [--help] [--version]\n"
		"\n"
		"The sbs secure build server: the HPSB REST API over mutual TLS.\n"
		"\n"
		"Configuration comes from the environment; --env-file adds NAME=value or\n"
		"NAME: \"value\" lines (an HPVS contract env section), the environment wins.\n"
		"  CLIENT_CA     base64 PEM of the client CA (required)\n"
		"  CLIENT_CRT    base64 PEM of the client certificate (optional)\n"
		"  SERVER_CRT    base64 PEM server certificate   } optional pair; without\n"
		"  SERVER_KEY    base64 PEM server private key   } them: CSR bootstrap\n"
		"  SBS_HOSTNAME  DNS name of this server (default localhost)\n"
		"  SBS_PORT      TCP port (default 443)\n"
		"  SBS_LISTEN    listen address (default 0.0.0.0)\n"
		"  SBS_DATA_DIR  data directory (default ./sbs-data; hpvs: /data, which must\n"
		"                be the volume the runtime mounted)\n"
		"  SBS_CA_BUNDLE trust anchors (PEM) for git and registries over https\n"
		"                (default /etc/ssl/certs/ca-certificates.crt)\n"
		"  SBS_HAL       hardware abstraction: sim (default, a developer's host),\n"
		"                se (the s390x appliance; the default when sbsd is PID 1 and\n"
		"                SBS_HAL is unset), hpvs (an IBM Hyper Protect Virtual Servers\n"
		"                container workload: no PID-1 duties, SBS_APPLIANCE_SECRET\n"
		"                from the contract env)\n");
}

/* Parses one env-file line in place: NAME=value or NAME: "value". */
static int env_line(char *line, int lineno, const char *path)
{
	char *p = line, *name, *val;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#' || *p == 0)
		return 0;
	name = p;
	p += strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
	if (p == name || (*p != '=' && *p != ':'))
		goto bad;
	*p++ = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	val = p;
	n = strlen(val);
	while (n && (val[n - 1] == ' ' || val[n - 1] == '\t' || val[n - 1] == '\r'))
		val[--n] = 0;
	if (n >= 2 && ((val[0] == '"' && val[n - 1] == '"') || (val[0] == '\'' && val[n - 1] == '\''))) {
		val[n - 1] = 0;
		val++;
	}
	if (nenvf >= ENV_MAX_VARS) {
		fprintf(stderr, "sbsd: %s: more than %d variables\n", path, ENV_MAX_VARS);
		return -E2BIG;
	}
	envf[nenvf].name = strdup(name);
	envf[nenvf].value = strdup(val);
	nenvf++;
	return 0;
bad:
	fprintf(stderr, "sbsd: %s:%d: expected NAME=value or NAME: \"value\"\n", path, lineno);
	return -EINVAL;
}

static int load_env_file(const char *path)
{
	uint8_t *text;
	size_t len;
	int rc = util_read_file(path, 1u << 20, &text, &len), lineno = 0;
	char *save = NULL, *line;

	if (rc < 0) {
		fprintf(stderr, "sbsd: cannot read env file %s: %s\n", path, strerror(-rc));
		return rc;
	}
	for (line = strtok_r((char *)text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if ((rc = env_line(line, ++lineno, path)) < 0)
			break;
	}
	wipe_free(text, len);
	return rc < 0 ? rc : 0;
}

static const char *cfg(const char *name, const char *def)
{
	const char *v = getenv(name);
	if (v)
		return v;
	for (size_t i = 0; i < nenvf; i++)
		if (strcmp(envf[i].name, name) == 0)
			return envf[i].value;
	return def;
}

/* base64 PEM variable -> bytes; NULL when unset. */
static uint8_t *pem_var(const char *name, size_t *len, int *bad)
{
	const char *b64 = cfg(name, NULL);
	size_t n, cap;
	uint8_t *out;

	*len = 0;
	if (!b64 || !*b64)
		return NULL;
	n = strlen(b64);
	cap = n / 4 * 3 + 4;
	out = malloc(cap);
	if (!out || cry_b64_decode(b64, n, out, cap - 1, len) < 0) {
		fprintf(stderr, "sbsd: %s is not valid base64 (expected base64 of a PEM file)\n", name);
		free(out);
		*bad = 1;
		return NULL;
	}
	out[*len] = 0;
	return out;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < SRV_MAX_CONN + 64) {
		rl.rlim_cur = rl.rlim_max < SRV_MAX_CONN + 64 ? rl.rlim_max : SRV_MAX_CONN + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The secret a variable holds, wiped where the environment and the env
 * file keep it (the keeper has its own copy), then the variable removed. */
static void scrub_env(const char *name)
{
	char *v = getenv(name);

	if (v)
		wipe(v, strlen(v));
	unsetenv(name);
	for (size_t i = 0; i < nenvf; i++)
		if (strcmp(envf[i].name, name) == 0 && envf[i].value)
			wipe(envf[i].value, strlen(envf[i].value));
}

/* Capabilities neither the API nor a builder's sandbox ever uses leave the
 * bounding, permitted and effective sets: among them CAP_SYS_PTRACE (so the
 * API cannot read the keeper's memory) and CAP_DAC_READ_SEARCH (file
 * handles). A process without capabilities (a developer's host) has nothing
 * to drop. The rest stays for the builder (docs/processes.md). Then
 * no_new_privs. */
#define CAPB(n) (1ull << (n))
static const uint64_t api_caps =
	CAPB(0) /* CHOWN */ | CAPB(1) /* DAC_OVERRIDE */ | CAPB(3) /* FOWNER */ |
	CAPB(4) /* FSETID */ | CAPB(5) /* KILL */ | CAPB(6) /* SETGID */ | CAPB(7) /* SETUID */ |
	CAPB(8) /* SETPCAP */ | CAPB(10) /* NET_BIND_SERVICE */ | CAPB(12) /* NET_ADMIN */ |
	CAPB(18) /* SYS_CHROOT */ | CAPB(21) /* SYS_ADMIN */ | CAPB(24) /* SYS_RESOURCE */ |
	CAPB(27) /* MKNOD */ | CAPB(31) /* SETFCAP */;

static int narrow_api(void)
{
	struct { uint32_t version; int pid; } h = { 0x20080522, 0 };   /* _LINUX_CAPABILITY_VERSION_3 */
	struct { uint32_t effective, permitted, inheritable; } d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	if (!(d[0].permitted & CAPB(8)))         /* no CAP_SETPCAP: not privileged */
		return 0;
	for (unsigned long cap = 0; cap < 64; cap++)
		if (!(api_caps & CAPB(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return -errno;
	for (int i = 0; i < 2; i++) {
		uint32_t keep = (uint32_t)(api_caps >> (32 * i));
		d[i].effective &= keep;
		d[i].permitted &= keep;
		d[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	/* nothing this process or a builder execs gains privileges (RUN steps
	 * run with no_new_privs already: docs/sandbox.md) */
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

static int start_keeper(const struct hal *hal, const char *data_dir)
{
	char keydir[PATH_MAX_SBS];
	const char *skey = cfg("SERVER_KEY", NULL);
	struct keeper_cfg kc = { .dir = keydir, .rng = util_rng,
				 .tls_key_b64 = skey && *skey ? skey : NULL,
				 .appliance_secret = hal->appliance_secret, .drop_privileges = 1 };
	int rc;

	snprintf(keydir, sizeof keydir, "%s/keys", data_dir);
	util_sweep_tmp(keydir);
	rc = keeper_spawn(&kc);
	if (rc == -ENOKEY)
		log_err("SERVER_KEY is not a usable private key (expected base64 of a PEM key)");
	else if (rc < 0)
		log_err("cannot start the keeper on %s: %s", keydir, strerror(-rc));
	scrub_env("SERVER_KEY");
	scrub_env("SBS_APPLIANCE_SECRET");
	if (rc == 0 && (rc = narrow_api()) < 0)
		log_err("cannot narrow the API process's capabilities: %s", strerror(-rc));
	return rc;
}

static int serve(void)
{
	const struct hal *hal = hal_select(cfg("SBS_HAL", "sim"));
	const char *ddef = hal && hal->default_data_dir ? hal->default_data_dir : "./sbs-data";
	struct hal_cfg hc = { .data_dir = cfg("SBS_DATA_DIR", ddef),
			      .secret_file = cfg("SBS_APPLIANCE_SECRET_FILE", NULL) };
	struct tlsid_cfg tc = { .hostname = cfg("SBS_HOSTNAME", "localhost") };
	struct srv_cfg sc = { .listen = cfg("SBS_LISTEN", "0.0.0.0"), .handler = api_handle,
			      .tick = api_tick };
	uint64_t port;
	int bad = 0, rc;
	uint8_t *ca, *crt, *ccrt;
	const char *skey;
	size_t crt_len, ccrt_len;

	const char *ps = cfg("SBS_PORT", "443");
	if (util_parse_u64(ps, strlen(ps), 65535, &port) < 0) {
		fprintf(stderr, "sbsd: SBS_PORT must be a port number (0-65535)\n");
		return 2;
	}
	sc.port = (uint16_t)port;
	ca = pem_var("CLIENT_CA", &tc.client_ca_len, &bad);
	crt = pem_var("SERVER_CRT", &crt_len, &bad);
	skey = cfg("SERVER_KEY", NULL);   /* decoded in the keeper only */
	if (skey && !*skey)
		skey = NULL;
	ccrt = pem_var("CLIENT_CRT", &ccrt_len, &bad);
	if (bad)
		return 2;
	if (!ca) {
		fprintf(stderr, "sbsd: CLIENT_CA is required (base64 of the client CA PEM; "
				"`sbs instance-env` prints it)\n");
		return 2;
	}
	if (ccrt && cry_cert_verify(ccrt, ccrt_len, ca, tc.client_ca_len, time(NULL)) < 0) {
		fprintf(stderr, "sbsd: CLIENT_CRT is not a valid certificate signed by CLIENT_CA\n");
		return 2;
	}
	free(ccrt);
	if (!crt != !skey) {
		fprintf(stderr, "sbsd: SERVER_CRT and SERVER_KEY go together; give both or neither\n");
		return 2;
	}
	if (!hal) {
		fprintf(stderr, "sbsd: unknown SBS_HAL (known: sim, se, hpvs)\n");
		return 2;
	}
	tc.client_ca = ca;
	tc.server_crt = crt;
	tc.server_crt_len = crt_len;
	if ((rc = hal->open(&hc)) < 0) {
		log_err("hal %s: cannot start: %s", hal->name, strerror(-rc));
		return 1;
	}
	tc.data_dir = hal->data_dir();
	if (start_keeper(hal, tc.data_dir) < 0)
		return 1;
	if ((rc = params_open(tc.data_dir)) < 0 || (rc = api_open(tc.data_dir, hal,
					cfg("SBS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))) < 0) {
		log_err("cannot open the data directory %s: %s", tc.data_dir, strerror(-rc));
		return 1;
	}
	raise_nofile();
	if ((rc = srv_open(&sc, NULL)) < 0)
		return 1;
	if ((rc = tlsid_init(&tc)) < 0) {
		log_err("cannot set up TLS: %s", strerror(-rc));
		return 1;
	}
	free(crt);          /* parsed into the TLS configuration by tlsid_init */
	log_info("sbsd %s listening on %s:%u (hal %s, data %s)", SBS_VERSION, sc.listen,
		 srv_port(), hal->name, tc.data_dir);
	srv_run();
	log_info("sbsd stopping");
	keeper_close();
	params_close();
	return 0;
}

/* PID 1 of the appliance: init_pid1() returns only in the server child,
 * which reads the deploy-time env file, exports it (hal se reads its seeds
 * from the environment), configures the network and serves with hal se. */
static int appliance(void)
{
	if (init_pid1() < 0 || load_env_file(INIT_ENV_FILE) < 0)
		return 1;
	for (size_t i = 0; i < nenvf; i++)
		setenv(envf[i].name, envf[i].value, 0);
	setenv("SBS_HAL", "se", 0);
	if (init_net() < 0)
		return 1;
	return serve();
}

/* PID 1 is the appliance's init unless SBS_HAL names another backend: a
 * container runtime starts its entrypoint as PID 1 too (hal hpvs), and there
 * sbsd must not mount, configure the network or power off; the server reaps
 * every child (api_tick), which is all a container's PID 1 owes. */
int main(int argc, char **argv)
{
	const char *h = getenv("SBS_HAL");

	if (getpid() == 1 && (!h || !*h || !strcmp(h, "se")))
		return appliance();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("sbsd %s\n", SBS_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--env-file") && i + 1 < argc) {
			if (load_env_file(argv[++i]) < 0)
				return 2;
		} else {
			fprintf(stderr, "sbsd: unknown argument '%s' (try --help)\n", argv[i]);
			return 2;
		}
	}
	/* The HALs read theirs (hpvs: SBS_APPLIANCE_SECRET, SBS_ATTEST_REQUEST)
	 * from the environment: an env file's lines join it, as under PID 1;
	 * the environment still wins. */
	for (size_t i = 0; i < nenvf; i++)
		setenv(envf[i].name, envf[i].value, 0);
	return serve();
}
