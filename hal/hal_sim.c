/* SPDX-License-Identifier: MIT */
/*
 * hal sim: sbsd on a developer's Linux host. The data directory is a plain
 * directory (created 0700). The appliance secret is a 32-byte file, by default
 * <data_dir>/../.sbs-appliance-secret (SBS_APPLIANCE_SECRET_FILE or
 * hal_cfg.secret_file override it), created 0600 on first use: the bytes go to
 * a private temp file which is then link(2)ed to the final name, so the file
 * appears whole or not at all, and when two sbsd start at once exactly one
 * link wins and both read the winner's secret. An existing file of any other
 * size, or one that is not a regular file, is an error and is never replaced:
 * replacing it would silently make every state image sealed so far unreadable.
 */
#include "hal.h"
#include "limits.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIM_SECRET_LEN 32
#define SIM_SECRET_NAME "/../.sbs-appliance-secret"

static char sim_dir[PATH_MAX_SBS];
static char sim_secret[PATH_MAX_SBS];

static int sim_open(const struct hal_cfg *cfg)
{
	const char *sf;
	size_t n;
	int rc;

	if (!cfg || !cfg->data_dir || !cfg->data_dir[0])
		return -EINVAL;
	n = strlen(cfg->data_dir);
	if (n >= sizeof sim_dir)
		return -ENAMETOOLONG;
	memcpy(sim_dir, cfg->data_dir, n + 1);
	sf = cfg->secret_file;
	if (!sf || !sf[0])
		sf = getenv("SBS_APPLIANCE_SECRET_FILE");
	if (sf && sf[0])
		rc = snprintf(sim_secret, sizeof sim_secret, "%s", sf);
	else
		rc = snprintf(sim_secret, sizeof sim_secret, "%s%s", sim_dir, SIM_SECRET_NAME);
	if (rc < 0 || (size_t)rc >= sizeof sim_secret)
		return -ENAMETOOLONG;
	return util_mkdirs(sim_dir, 0700);
}

static const char *sim_data_dir(void)
{
	return sim_dir;
}

/* Reads exactly SIM_SECRET_LEN bytes from an existing secret file. */
static int secret_read(const char *path, uint8_t out[static SIM_SECRET_LEN])
{
	struct stat st;
	size_t got = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size != SIM_SECRET_LEN) {
		log_err("hal sim: appliance secret file %s is not a %d-byte regular file; "
			"refusing to use or replace it", path, SIM_SECRET_LEN);
		rc = -EINVAL;
		goto out;
	}
	if (st.st_mode & 077)
		log_warn("hal sim: appliance secret file %s is readable by others", path);
	while (got < SIM_SECRET_LEN) {
		ssize_t r = read(fd, out + got, SIM_SECRET_LEN - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			goto out;
		}
		got += (size_t)r;
	}
out:
	if (rc < 0)
		wipe(out, SIM_SECRET_LEN);
	close(fd);
	return rc;
}

/* fsync of the directory holding path, so a new link survives a power cut. */
static int sync_parent(const char *path)
{
	char dir[PATH_MAX_SBS];
	char *slash;
	int fd, rc;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Creates the secret file unless it exists. Losing the link race is success. */
static int secret_create(const char *path)
{
	uint8_t s[SIM_SECRET_LEN], r[6];
	char tmp[PATH_MAX_SBS + 32];
	int fd = -1, rc, won = 0;

	rc = util_rng(NULL, r, sizeof r);
	if (rc < 0)
		return rc;
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%02x%02x%02x%02x%02x%02x", path, r[0],
			     r[1], r[2], r[3], r[4], r[5]) >= sizeof tmp)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = util_rng(NULL, s, sizeof s);
	if (rc == 0)
		rc = util_write_all(fd, s, sizeof s);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	wipe(s, sizeof s);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0) {
		if (link(tmp, path) == 0)
			won = 1;
		else if (errno != EEXIST)
			rc = -errno;
	}
	unlink(tmp);
	if (rc == 0)
		rc = sync_parent(path);
	if (rc == 0 && won)
		log_info("hal sim: created appliance secret file %s", path);
	return rc;
}

static int sim_appliance_secret(uint8_t out[static 32])
{
	int rc;

	if (!sim_secret[0])
		return -EINVAL;
	rc = secret_read(sim_secret, out);
	if (rc != -ENOENT)
		return rc;
	rc = secret_create(sim_secret);
	if (rc < 0)
		return rc;
	return secret_read(sim_secret, out);
}

static int sim_protected_guest(void)
{
	return 0;
}

static int sim_attest(const uint8_t *user, size_t ulen, struct buf *out)
{
	(void)user;
	(void)ulen;
	(void)out;
	return -ENOTSUP;
}

const struct hal hal_sim = {
	.name = "sim",
	.open = sim_open,
	.data_dir = sim_data_dir,
	.appliance_secret = sim_appliance_secret,
	.protected_guest = sim_protected_guest,
	.attest = sim_attest,
};
