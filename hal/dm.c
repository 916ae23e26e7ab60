/* SPDX-License-Identifier: MIT */
/*
 * dm: raw device-mapper ioctls for one crypt target (see dm.h). Sequence:
 * DM_VERSION (major must be 4), DM_DEV_CREATE (the name; the kernel answers
 * with the new dev_t), DM_TABLE_LOAD (one "crypt" target spec followed by its
 * parameter string, DM_SECURE_DATA_FLAG), DM_DEV_SUSPEND without
 * DM_SUSPEND_FLAG (= resume: the table goes live). The node is devtmpfs's
 * /dev/dm-<minor>.
 *
 * musl's headers (musl-gcc hides /usr/include) carry no linux/dm-ioctl.h, so
 * the two structs and the command numbers are restated here from the kernel
 * UAPI (include/uapi/linux/dm-ioctl.h, interface version 4; the layout has
 * been stable since Linux 2.6); the static asserts pin their sizes.
 */
#include "dm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cry.h"
#include "limits.h"
#include "util.h"

/* struct dm_ioctl (UAPI). */
struct dmi {
	uint32_t version[3];
	uint32_t data_size;     /* whole buffer, this header included */
	uint32_t data_start;    /* payload offset from the start of the header */
	uint32_t target_count;
	int32_t open_count;
	uint32_t flags;
	uint32_t event_nr;
	uint32_t padding;
	uint64_t dev;           /* huge_encode_dev() of the mapped device */
	char name[128];         /* DM_NAME_LEN */
	char uuid[129];         /* DM_UUID_LEN */
	char data[7];
};

/* struct dm_target_spec (UAPI); the parameter string follows it. */
struct dmt {
	uint64_t sector_start;
	uint64_t length;
	int32_t status;
	uint32_t next;
	char target_type[16];   /* DM_MAX_TYPE_NAME */
};

_Static_assert(sizeof(struct dmi) == 312, "struct dm_ioctl is 312 bytes");
_Static_assert(sizeof(struct dmt) == 40, "struct dm_target_spec is 40 bytes");
_Static_assert(DM_MAX_NAME < sizeof(((struct dmi *)0)->name), "name fits");

#define DMI_TYPE        0xfd
#define DMI_VERSION     _IOWR(DMI_TYPE, 0, struct dmi)
#define DMI_DEV_CREATE  _IOWR(DMI_TYPE, 3, struct dmi)
#define DMI_DEV_REMOVE  _IOWR(DMI_TYPE, 4, struct dmi)
#define DMI_DEV_SUSPEND _IOWR(DMI_TYPE, 6, struct dmi)
#define DMI_TABLE_LOAD  _IOWR(DMI_TYPE, 9, struct dmi)
#define DMI_SECURE_DATA (1u << 15)   /* DM_SECURE_DATA_FLAG: kernel wipes its copy */
#define DMI_MAJOR       4

/* One ioctl buffer: the header, one target spec and its parameters. */
struct dmbuf {
	struct dmi h;
	struct dmt t;
	char params[DM_MAX_TABLE];
};

static int name_ok(const char *n)
{
	size_t len;

	if (!n)
		return 0;
	len = strnlen(n, DM_MAX_NAME + 1);
	if (!len || len > DM_MAX_NAME || !strcmp(n, ".") || !strcmp(n, ".."))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = n[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

static int crypt_ok(const struct dm_crypt *c)
{
	uint32_t ss = c ? c->sector_size : 0;

	return c && name_ok(c->name) && c->backing && c->key &&
	       (c->key_len == 32 || c->key_len == 64) && c->sectors &&
	       ss >= 512 && ss <= 4096 && !(ss & (ss - 1)) &&
	       !(c->sectors % (ss / 512)) && !(c->offset % (ss / 512));
}

int dm_crypt_params(char *out, size_t cap, const struct dm_crypt *c,
		    unsigned major, unsigned minor)
{
	char hex[2 * 64 + 1];
	int n;

	if (!out || !crypt_ok(c))
		return -EINVAL;
	cry_hex(c->key, c->key_len, hex);
	if (c->sector_size == 512)
		n = snprintf(out, cap, "aes-xts-plain64 %s %llu %u:%u %llu", hex,
			     (unsigned long long)c->iv_offset, major, minor,
			     (unsigned long long)c->offset);
	else
		n = snprintf(out, cap, "aes-xts-plain64 %s %llu %u:%u %llu 1 sector_size:%u",
			     hex, (unsigned long long)c->iv_offset, major, minor,
			     (unsigned long long)c->offset, c->sector_size);
	wipe(hex, sizeof hex);
	if (n < 0 || (size_t)n >= cap) {
		wipe(out, cap);
		return -ENOSPC;
	}
	return 0;
}

static void dmi_init(struct dmi *h, size_t size, const char *name)
{
	memset(h, 0, sizeof *h);
	h->version[0] = DMI_MAJOR;
	h->data_size = (uint32_t)size;
	h->data_start = sizeof *h;
	if (name)
		memcpy(h->name, name, strlen(name));
}

/* One command that carries only the header (and a name). */
static int dm_simple(int ctl, unsigned long req, const char *name, struct dmi *h)
{
	dmi_init(h, sizeof *h, name);
	return ioctl(ctl, req, h) < 0 ? -errno : 0;
}

static int dm_control(void)
{
	struct dmi h;
	int ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);

	if (ctl < 0)
		return -errno;
	if (dm_simple(ctl, DMI_VERSION, NULL, &h) < 0 || h.version[0] != DMI_MAJOR) {
		close(ctl);
		return -EPROTO;
	}
	return ctl;
}

/* DM_TABLE_LOAD of one crypt target; the buffer is wiped whatever happens. */
static int dm_load(int ctl, const struct dm_crypt *c, unsigned major, unsigned minor)
{
	struct dmbuf b;
	size_t plen;
	int rc;

	memset(&b, 0, sizeof b);
	rc = dm_crypt_params(b.params, sizeof b.params, c, major, minor);
	if (!rc) {
		plen = (strlen(b.params) + 1 + 7) & ~(size_t)7;   /* keep 8-byte alignment */
		dmi_init(&b.h, sizeof b.h + sizeof b.t + plen, c->name);
		b.h.target_count = 1;
		b.h.flags = DMI_SECURE_DATA;
		b.t.sector_start = 0;
		b.t.length = c->sectors;
		b.t.next = (uint32_t)(sizeof b.t + plen);
		memcpy(b.t.target_type, "crypt", 5);
		rc = ioctl(ctl, DMI_TABLE_LOAD, &b) < 0 ? -errno : 0;
	}
	wipe(&b, sizeof b);
	return rc;
}

/* The minor number of a huge_encode_dev()'d device number. */
static unsigned dev_minor(uint64_t d)
{
	return (unsigned)((d & 0xff) | ((d >> 12) & 0xffffff00u));
}

int dm_crypt_create(const struct dm_crypt *c, char *path, size_t cap)
{
	struct stat st;
	struct dmi h;
	int ctl, rc, n;
	unsigned mn;

	if (!crypt_ok(c) || !path || !cap)
		return -EINVAL;
	if (stat(c->backing, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	ctl = dm_control();
	if (ctl < 0)
		return ctl;
	rc = dm_simple(ctl, DMI_DEV_CREATE, c->name, &h);
	if (rc)
		goto out;
	mn = dev_minor(h.dev);
	rc = dm_load(ctl, c, major(st.st_rdev), minor(st.st_rdev));
	if (!rc)
		rc = dm_simple(ctl, DMI_DEV_SUSPEND, c->name, &h);   /* no SUSPEND flag: resume */
	if (!rc) {
		n = snprintf(path, cap, "/dev/dm-%u", mn);
		rc = n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
	}
	if (rc)
		dm_simple(ctl, DMI_DEV_REMOVE, c->name, &h);
out:
	close(ctl);
	return rc;
}

int dm_remove(const char *name)
{
	struct dmi h;
	int ctl, rc;

	if (!name_ok(name))
		return -EINVAL;
	ctl = dm_control();
	if (ctl < 0)
		return ctl;
	rc = dm_simple(ctl, DMI_DEV_REMOVE, name, &h);
	close(ctl);
	return rc;
}
