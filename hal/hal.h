/* SPDX-License-Identifier: MIT */
/*
 * hal: what differs between where sbsd runs. One small table of functions,
 * chosen once at start-up (hal_select); no backend #ifdefs elsewhere.
 *
 *   sim   a developer's Linux host: the data directory is a plain directory,
 *         the appliance secret is a 32-byte file created on first use (0600)
 *         outside the data directory (<data_dir>/../.sbs-appliance-secret
 *         unless SBS_APPLIANCE_SECRET_FILE says otherwise).
 *   se    sbsd as PID 1 of the s390x appliance (hal_se.c): LUKS2 volume on
 *         /dev/vda, secret from the SE image's env, attestation via /dev/uv.
 *   hpvs  sbsd as an HPVS container workload (hal_hpvs.c): the runtime
 *         mounted the (LUKS) volume, the env comes from the contract, the
 *         appliance secret is SBS_APPLIANCE_SECRET of the contract's env.
 *
 * The appliance secret is one half of the state-image key (the other is the
 * client's SECRET); it is secret and never leaves sbsd.
 */
#ifndef SBS_HAL_H
#define SBS_HAL_H

#include <stddef.h>
#include <stdint.h>

struct buf;

struct hal_cfg {
	const char *data_dir;        /* from SBS_DATA_DIR */
	const char *secret_file;     /* sim only; NULL = default */
};

struct hal {
	const char *name;
	/* Prepares the data directory (sim: mkdir -p, mode 0700). 0 or -errno. */
	int (*open)(const struct hal_cfg *cfg);
	/* The data directory path, valid after open. */
	const char *(*data_dir)(void);
	/* Copies the 32-byte appliance secret. 0 or -errno. */
	int (*appliance_secret)(uint8_t out[static 32]);
	/* 1 when running as a Secure Execution guest, else 0. */
	int (*protected_guest)(void);
	/* Attestation evidence binding user (1..256 bytes): appends a pvattest
	 * exchange file (hal/uv.h) to out. -ENOTSUP when not a protected guest,
	 * -ENOKEY when no attestation request was deployed, -ENODEV when protected
	 * but the device is not available (hpvs: no /dev/uv in the container),
	 * else -errno. */
	int (*attest)(const uint8_t *user, size_t ulen, struct buf *out);
	/* SBS_DATA_DIR when it is unset; NULL = sbsd's "./sbs-data". */
	const char *default_data_dir;
};

/* "sim", "se" or "hpvs"; NULL if unknown. */
const struct hal *hal_select(const char *name);

#endif
