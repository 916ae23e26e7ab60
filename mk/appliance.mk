# SPDX-License-Identifier: MIT
# The s390x appliance: `make kernel` (linux-source-6.1 + kernel-config/sbs.fragment,
# cached by a stamp), `make initramfs` (reproducible cpio.gz of rootfs/files.list),
# `make appliance` (both), `make e2e` (boot under qemu-system-s390x and drive the
# API from the host, a real s390x build in the guest, then the power-cut
# rounds; `make e2e-build` and `make powercut` alone),
# `make bench-boot` (boot timings, bench/boot.sh), `make oci` and
# `make se-image` (packaging). Everything lands in build/appliance; the kernel
# tree lives in build/kernel.

APP      := build/appliance
KSRC_TAR := /usr/src/linux-source-6.1.tar.xz
KDIR     := build/kernel/linux-source-6.1
KMAKE    := $(MAKE) -s -C $(KDIR) ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- KBUILD_BUILD_USER=sbs \
            KBUILD_BUILD_HOST=sbs KBUILD_BUILD_TIMESTAMP=@0
KFRAG    := kernel-config/sbs.fragment
KCONFIG_SAVED := kernel-config/config-6.1-s390x

.PHONY: kernel initramfs appliance e2e e2e-build powercut bench-boot oci se-image

kernel: $(APP)/vmlinuz

$(KDIR)/.extracted: | $(HOST_SETUP)
	@echo "kernel: extracting $(KSRC_TAR)"
	rm -rf $(KDIR) && mkdir -p build/kernel
	tar -C build/kernel -xf $(KSRC_TAR)
	touch $@

# tinyconfig + fragment, then olddefconfig; every fragment line must survive.
$(KDIR)/.config-stamp: $(KDIR)/.extracted $(KFRAG)
	$(KMAKE) tinyconfig >/dev/null
	cd $(KDIR) && ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- \
	  ./scripts/kconfig/merge_config.sh -m .config $(CURDIR)/$(KFRAG) >/dev/null
	$(KMAKE) olddefconfig >/dev/null
	@bad=0; grep -E '^CONFIG_[A-Z0-9_]+=' $(KFRAG) | while IFS= read -r l; do \
	  s=$${l%%=*}; v=$${l#*=}; \
	  if [ "$$v" = n ]; then grep -qx "$$s=y" $(KDIR)/.config && echo "kernel: WARNING $$s=n not honoured"; \
	  else grep -qx "$$l" $(KDIR)/.config || echo "kernel: WARNING $$l not in the final config"; fi; \
	done; true
	cp $(KDIR)/.config $(KCONFIG_SAVED)
	touch $@

$(APP)/vmlinuz: $(KDIR)/.config-stamp
	@echo "kernel: building bzImage (a few minutes)"
	@mkdir -p $(APP)
	$(KMAKE) -j$(JOBS) bzImage
	cp $(KDIR)/arch/s390/boot/bzImage $@
	@echo "kernel: $@ $$(stat -c %s $@) bytes"

# ---- static mke2fs for s390x (e2fsprogs' Debian source, musl) ----
E2SRC    := build/src-e2fs
E2OBJ    := $(APP)/obj/e2fsprogs
S390_CC  := s390x-linux-gnu-gcc -specs /usr/lib/s390x-linux-musl/musl-gcc.specs
MKE2FS   := $(APP)/mke2fs

$(E2SRC)/.fetched: mk/fetch-src.sh | $(HOST_SETUP)
	rm -rf $(E2SRC) && mkdir -p $(E2SRC)/dl
	./mk/fetch-src.sh $(E2SRC)/dl e2fsprogs
	cd $(E2SRC) && dpkg-source -q -x --no-check $$(ls dl/e2fsprogs_*.dsc | head -n1) e2fsprogs >/dev/null
	touch $@

$(MKE2FS): $(E2SRC)/.fetched mk/appliance.mk
	@echo "mke2fs: configuring and building e2fsprogs for s390x (static, musl)"
	rm -rf $(E2OBJ) && mkdir -p $(E2OBJ)
	cd $(E2OBJ) && $(CURDIR)/$(E2SRC)/e2fsprogs/configure --host=s390x-linux-gnu \
	  CC="$(S390_CC)" CFLAGS="-Os -ffunction-sections -fdata-sections" LDFLAGS="-static -Wl,--gc-sections" \
	  --disable-nls --disable-elf-shlibs --disable-bsd-shlibs --disable-fuse2fs --disable-defrag \
	  --disable-imager --disable-resizer --disable-debugfs --disable-e2initrd-helper \
	  --disable-uuidd --enable-libuuid --enable-libblkid --disable-tdb --disable-mmp \
	  --without-libarchive --disable-fsck --disable-testio-debug >configure.out 2>&1 \
	  || { tail -30 $(E2OBJ)/configure.out; exit 1; }
	$(MAKE) -s -C $(E2OBJ) -j$(JOBS) libs >$(E2OBJ)/make-libs.out 2>&1 || { tail -30 $(E2OBJ)/make-libs.out; exit 1; }
	$(MAKE) -s -C $(E2OBJ)/misc -j$(JOBS) mke2fs >$(E2OBJ)/make-mke2fs.out 2>&1 || { tail -30 $(E2OBJ)/make-mke2fs.out; exit 1; }
	s390x-linux-gnu-strip -o $@ $(E2OBJ)/misc/mke2fs
	@echo "mke2fs: $@ $$(stat -c %s $@) bytes"

# ---- initramfs ----
# The s390x sbsd is built by a sub-make (APP_SBSD_ARGS lets a developer point
# at a private build dir while the tree is mid-change); the stripped copy is
# replaced only when it changed, so the initramfs is rebuilt only then.
APP_SBSD      ?= build/s390x/sbsd
APP_SBSD_ARGS ?=
E2E_SBS       ?= build/x86_64/sbs
E2E_SBS_ARGS  ?=

.PHONY: app-force
app-force:

$(APP)/sbsd: app-force
	@$(MAKE) --no-print-directory TARGET=s390x $(APP_SBSD_ARGS) $(APP_SBSD)
	@mkdir -p $(APP)
	@s390x-linux-gnu-strip -o $@.tmp $(APP_SBSD)
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

INITRAMFS_IN := $(APP)/sbsd $(MKE2FS) rootfs/files.list rootfs/etc/mke2fs.conf rootfs/mkinitramfs.sh
$(APP)/initramfs.cpio.gz: $(INITRAMFS_IN)
	rootfs/mkinitramfs.sh rootfs/files.list $@ SBSD=$(APP)/sbsd MKE2FS=$(MKE2FS)
	@echo "initramfs: $@ $$(stat -c %s $@) bytes (gzip)"

initramfs: $(APP)/initramfs.cpio.gz

# Both artefacts, plus the reproducibility check: a second build of the
# initramfs from the same inputs must give the same sha256.
appliance: $(APP)/vmlinuz $(APP)/initramfs.cpio.gz
	@rootfs/mkinitramfs.sh rootfs/files.list $(APP)/initramfs.check.cpio.gz SBSD=$(APP)/sbsd MKE2FS=$(MKE2FS)
	@a=$$(sha256sum < $(APP)/initramfs.cpio.gz | cut -d' ' -f1); \
	 b=$$(sha256sum < $(APP)/initramfs.check.cpio.gz | cut -d' ' -f1); rm -f $(APP)/initramfs.check.cpio.gz; \
	 if [ "$$a" = "$$b" ]; then echo "appliance: initramfs sha256 $$a (reproducible: a second build is identical)"; \
	 else echo "appliance: initramfs NOT reproducible: $$a vs $$b" >&2; exit 1; fi
	@echo "appliance: kernel $(APP)/vmlinuz $$(stat -c %s $(APP)/vmlinuz) bytes, initramfs $$(stat -c %s $(APP)/initramfs.cpio.gz) bytes, sbsd $$(stat -c %s $(APP)/sbsd) bytes, mke2fs $$(stat -c %s $(MKE2FS)) bytes"

# ---- the s390x busybox of the in-guest build (qemu/e2e-build.sh) ----
# Debian's busybox-static:s390x, fetched once with apt-get download (the
# host has s390x as a foreign architecture, mk/setup-host.sh) and unpacked
# with dpkg-deb; the base image made from it is an s390x OCI image.
BB_S390X := $(APP)/busybox-s390x
$(BB_S390X): | $(HOST_SETUP)
	rm -rf $(APP)/dl-busybox && mkdir -p $(APP)/dl-busybox
	cd $(APP)/dl-busybox && apt-get download -q busybox-static:s390x >/dev/null 2>&1
	dpkg-deb -x $$(ls $(APP)/dl-busybox/busybox-static_*_s390x.deb | head -n1) $(APP)/dl-busybox/x
	readelf -h $(APP)/dl-busybox/x/bin/busybox | grep -q 'Machine:.*S/390'
	cp $(APP)/dl-busybox/x/bin/busybox $@.tmp && mv $@.tmp $@
	rm -rf $(APP)/dl-busybox/x
	@echo "busybox: $@ $$(stat -c %s $@) bytes, from $$(ls $(APP)/dl-busybox)"

# ---- end-to-end under qemu-system-s390x ----
# e2e also runs the power-cut rounds (qemu/powercut.sh, ~1.5 min): make check
# runs make e2e, so both are judged there. POWERCUT_SEED fixes the random
# moments (the seed is printed either way).
POWERCUT_ROUNDS ?= 10
POWERCUT_SEED   ?=
e2e: appliance $(BB_S390X)
	@$(MAKE) --no-print-directory TARGET=x86_64 $(E2E_SBS_ARGS) $(E2E_SBS)
	qemu/e2e.sh $(APP) $(E2E_SBS)
	qemu/e2e-build.sh $(APP) $(E2E_SBS) $(BB_S390X)
	qemu/powercut.sh $(APP) $(E2E_SBS) $(POWERCUT_ROUNDS) $(POWERCUT_SEED)

# Only the build inside the guest (part of make e2e).
e2e-build: appliance $(BB_S390X)
	@$(MAKE) --no-print-directory TARGET=x86_64 $(E2E_SBS_ARGS) $(E2E_SBS)
	qemu/e2e-build.sh $(APP) $(E2E_SBS) $(BB_S390X)

# Boot figures next to their floor (a trivial PID 1 on the same kernel), the
# initramfs size and sbsd's memory after boot; `make bench` should call it.
BENCH_BOOT_RUNS ?= 5
bench-boot: appliance
	@$(MAKE) --no-print-directory TARGET=x86_64 $(E2E_SBS_ARGS) $(E2E_SBS)
	bench/boot.sh $(APP) $(E2E_SBS) $(BENCH_BOOT_RUNS)

powercut: appliance
	@$(MAKE) --no-print-directory TARGET=x86_64 $(E2E_SBS_ARGS) $(E2E_SBS)
	qemu/powercut.sh $(APP) $(E2E_SBS) $(POWERCUT_ROUNDS) $(POWERCUT_SEED)

# ---- packaging ----
# se-image: wraps kernel, initramfs (+ env cpio, SE_ENV) and the command line
# into a Secure Execution image with pvimg (s390-tools >= 2.34) or genprotimg.
# Debian 12's s390-tools (2.16, s390x only) ships neither, so on this host it
# says exactly what is missing and fails.
SE_HOSTKEYS ?= $(wildcard se/hostkeys/*.crt)
SE_ENV      ?= $(APP)/env.cpio
SE_CMDLINE  ?= console=ttysclp0 quiet panic=-1 sbs.ip=10.0.2.15/24 sbs.gw=10.0.2.2
se-image: appliance
	@tool=$$(command -v pvimg || command -v genprotimg || true); missing=; \
	 [ -n "$$tool" ] || missing="$$missing\n  - pvimg or genprotimg (s390-tools >= 2.34 has pvimg; Debian 12's s390-tools 2.16 has neither)"; \
	 [ -n "$(SE_HOSTKEYS)" ] || missing="$$missing\n  - host-key documents: put the IBM-signed host key certificates of the target machines in se/hostkeys/*.crt (or SE_HOSTKEYS=...), plus the IBM signing key and CA certificates to verify them"; \
	 [ -f "$(SE_ENV)" ] || missing="$$missing\n  - the env cpio $(SE_ENV): sbs appliance-env --env sbs-config.json --out $(SE_ENV)"; \
	 if [ -n "$$missing" ]; then printf "se-image: cannot build the Secure Execution image; missing:$$missing\n" >&2; exit 1; fi; \
	 cat $(SE_ENV) $(APP)/initramfs.cpio.gz > $(APP)/se-initrd; \
	 echo "$(SE_CMDLINE)" > $(APP)/se-cmdline; \
	 case $$tool in *pvimg) set -- $$tool create ;; *) set -- $$tool ;; esac; \
	 "$$@" -i $(APP)/vmlinuz -r $(APP)/se-initrd -p $(APP)/se-cmdline \
	   $(foreach k,$(SE_HOSTKEYS),-k $(k)) -o $(APP)/sbs-se.img && echo "se-image: $(APP)/sbs-se.img"

# oci: sbsd as an HPVS container workload (docs/hpvs.md). The OCI image
# archive (linux/s390x, FROM scratch: the stripped static sbsd, a CA bundle,
# /data, /tmp; Entrypoint /sbsd, Env SBS_HAL=hpvs), a second build that must
# be byte-identical, then build/appliance/hpvs/: docker-compose.yml with the
# image pinned by digest (OCI_REPO@sha256:...), compose.tgz (reproducible)
# and compose.b64, the value of the contract's workload.compose.archive.
OCI_TAR   := $(APP)/sbs-oci.tar
OCI_CA    ?= /etc/ssl/certs/ca-certificates.crt
OCI_REPO  ?= us.icr.io/YOUR-NAMESPACE/sbs
OCI_IN    := $(APP)/sbsd rootfs/hpvs/mkoci.sh $(OCI_CA)
$(OCI_TAR): $(OCI_IN)
	rootfs/hpvs/mkoci.sh $@ $(APP)/sbsd $(SBS_VERSION) $(OCI_CA)

oci: $(OCI_TAR) rootfs/hpvs/docker-compose.yml
	@rootfs/hpvs/mkoci.sh $(APP)/sbs-oci.check.tar $(APP)/sbsd $(SBS_VERSION) $(OCI_CA)
	@a=$$(sha256sum < $(OCI_TAR) | cut -d' ' -f1); \
	 b=$$(sha256sum < $(APP)/sbs-oci.check.tar | cut -d' ' -f1); rm -f $(APP)/sbs-oci.check.tar; \
	 if [ "$$a" = "$$b" ]; then echo "oci: $(OCI_TAR) sha256 $$a (reproducible: a second build is identical)"; \
	 else echo "oci: $(OCI_TAR) NOT reproducible: $$a vs $$b" >&2; exit 1; fi
	@mkdir -p $(APP)/hpvs
	@d=$$(tar -xOf $(OCI_TAR) index.json | jq -r '.manifests[0].digest'); \
	 sed "s|@SBS_IMAGE@|$(OCI_REPO)@$$d|" rootfs/hpvs/docker-compose.yml > $(APP)/hpvs/docker-compose.yml; \
	 echo "oci: image manifest $$d ($(OCI_REPO)@$$d in $(APP)/hpvs/docker-compose.yml)"
	@tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=ustar \
	   -C $(APP)/hpvs -cf - docker-compose.yml | gzip -n -9 > $(APP)/hpvs/compose.tgz
	@base64 -w0 $(APP)/hpvs/compose.tgz > $(APP)/hpvs/compose.b64
	@echo "oci: $(APP)/hpvs/compose.b64: the contract's workload.compose.archive ($$(stat -c %s $(APP)/hpvs/compose.b64) bytes)"
	@echo "oci: $(OCI_TAR) $$(stat -c %s $(OCI_TAR)) bytes (sbsd $$(stat -c %s $(APP)/sbsd) bytes); push: skopeo copy oci-archive:$(OCI_TAR) docker://$(OCI_REPO):$(SBS_VERSION)"
