# SPDX-License-Identifier: MIT
# libssh2, the SSH transport of git (src/git_ssh.c, its only user), built from
# Debian 12's source package with its mbedTLS crypto backend against OUR
# mbedTLS ($(D)/include, $(D)/lib; config crypto/mbedtls_config.h). Included
# by the Makefile right after mk/deps.mk; it adds itself to DEP_LIBS and to
# the deps stamp, so nothing else has to name it.
#
# Source: 1.10.0-3+deb12u1 (bookworm-security). Its .dsc is missing from the
# security mirror (404), but apt-get source still fetches the .orig and
# .debian tarballs, verified against the suite's signed Sources index; they
# are unpacked and debian/patches/series applied exactly as dpkg-source's
# "3.0 (quilt)" format does. The hashes below pin both files.
#
# We compile only what an exec-channel client needs (no sftp, scp, agent,
# knownhost or publickey-subsystem code) with a small config header of our
# own. Two renames, on the command line, in libssh2's mbedTLS glue:
#  - mbedtls_entropy_func -> sbs_ssh2_entropy (src/git_ssh.c): our mbedTLS is
#    built with MBEDTLS_NO_PLATFORM_ENTROPY, so libssh2's own entropy context
#    has no source and its CTR-DRBG seed would fail (and libssh2 would carry
#    on with an unseeded generator). sbs_ssh2_entropy reads getrandom(2) and
#    git_ssh.c refuses to connect if it ever failed.
#  - mbedtls_pk_load_file / mbedtls_pk_parse_keyfile (MBEDTLS_FS_IO, not in
#    our config): libssh2's key-from-file paths, which we never use, fail.

SSH2_DEB_VER   := 1.10.0-3+deb12u1
SSH2_ORIG      := libssh2_1.10.0.orig.tar.gz
SSH2_ORIG_SHA  := 2d64e90f3ded394b91d3a2e774ca203a4179f69aebee03003e5a6fa621e41d51
SSH2_DEBIAN    := libssh2_$(SSH2_DEB_VER).debian.tar.xz
SSH2_DEBIAN_SHA := e4da32facae7fea48f1ba73ba1a17214ee88863143517bf7e4d58a6149deb792
SSH2_SRC       := $(SRC)/libssh2
SSH2_LIB       := $(D)/lib/libssh2.a
SSH2_STAMP     := $(D)/.libssh2
SSH2_OBJ       := $(D)/obj/libssh2
SSH2_FILES     := channel comp crypt global hostkey keepalive kex mac mbedtls misc packet pem \
                  session transport userauth version bcrypt_pbkdf blowfish
# mbedTLS config libssh2 is compiled with: ours (a copy may be swapped in for
# a local experiment with SSH2_MBED_CONFIG_DIR=...).
SSH2_MBED_CONFIG_DIR ?= $(TOP)/crypto

# libssh2_config.h: what musl and glibc both have (the cmake names).
SSH2_HAVE := UNISTD_H INTTYPES_H STDLIB_H SYS_SELECT_H SYS_UIO_H SYS_SOCKET_H SYS_IOCTL_H \
             SYS_TIME_H SYS_UN_H LONGLONG GETTIMEOFDAY INET_ADDR POLL SELECT SOCKET STRTOLL \
             SNPRINTF O_NONBLOCK
SSH2_DEFS := -DMBEDTLS_CONFIG_FILE='<mbedtls_config.h>' \
  -Dmbedtls_entropy_func=sbs_ssh2_entropy \
  '-Dmbedtls_pk_load_file(f,d,l)=((void)(f), *(d) = NULL, *(l) = 0, -1)' \
  '-Dmbedtls_pk_parse_keyfile(k,f,p)=((void)(k), (void)(f), (void)(p), -1)'
# The sanitizer profiles instrument libssh2 too (ASan only: UBSan would report
# the library's own unaligned reads, which are not ours to fix here).
SSH2_SAN := $(if $(filter asan fuzz,$(TARGET)),-fsanitize=address -fno-omit-frame-pointer)
SSH2_CFLAGS := $(DEP_CFLAGS) $(SSH2_SAN) -I$(TOP)/$(SSH2_OBJ) -I$(SSH2_MBED_CONFIG_DIR) \
  -I$(TOP)/$(SSH2_SRC)/include -I$(TOP)/$(D)/include $(SSH2_DEFS)

DEP_LIBS := $(SSH2_LIB) $(DEP_LIBS)
deps-locked: $(SSH2_STAMP)
# (a local build with `make -f Makefile -f mk/ssh2.mk SSH2_DEV=1` leaves the
# shared deps stamp alone, so other builds in the tree are not invalidated)
ifndef SSH2_DEV
$(D)/.all: mk/ssh2.mk
endif

$(SRC)/.libssh2: mk/ssh2.mk $(SRC)/.fetched | $(HOST_SETUP)
	@echo "deps: fetching Debian source libssh2 $(SSH2_DEB_VER)"
	rm -rf $(SSH2_SRC) $(SRC)/dl-libssh2 && mkdir -p $(SRC)/dl-libssh2
	cd $(SRC)/dl-libssh2 && { apt-get source -qq --download-only libssh2=$(SSH2_DEB_VER) 2>&1 | \
	  grep -v -e '^W: Download is performed unsandboxed' -e '\.dsc  404' -e '^E: Failed to fetch some' || true; }
	cd $(SRC)/dl-libssh2 && printf '%s  %s\n%s  %s\n' $(SSH2_ORIG_SHA) $(SSH2_ORIG) \
	  $(SSH2_DEBIAN_SHA) $(SSH2_DEBIAN) | sha256sum -c --quiet - || \
	  { echo "deps: libssh2 $(SSH2_DEB_VER) source missing or not the pinned one" >&2; exit 1; }
	mkdir -p $(SSH2_SRC) && tar -xzf $(SRC)/dl-libssh2/$(SSH2_ORIG) -C $(SSH2_SRC) --strip-components=1
	tar -xJf $(SRC)/dl-libssh2/$(SSH2_DEBIAN) -C $(SSH2_SRC)
	cd $(SSH2_SRC) && while read -r p; do case "$$p" in ''|'#'*) continue;; esac; \
	  patch -p1 -s --no-backup-if-mismatch <debian/patches/$$p || exit 1; done <debian/patches/series
	touch $@

$(SSH2_STAMP): $(SRC)/.libssh2 $(D)/.mbedtls $(D)/.dirs mk/ssh2.mk $(D)/.flags \
               $(SSH2_MBED_CONFIG_DIR)/mbedtls_config.h
	@grep -q '^#define MBEDTLS_CIPHER_MODE_CTR' $(SSH2_MBED_CONFIG_DIR)/mbedtls_config.h || \
	  echo "deps: warning: mbedtls_config.h has no MBEDTLS_CIPHER_MODE_CTR: libssh2 will have no cipher (aes*-ctr) and every SSH fetch fails" >&2
	rm -rf $(SSH2_OBJ) && mkdir -p $(SSH2_OBJ)
	for h in $(SSH2_HAVE); do echo "#define HAVE_$$h 1"; done >$(SSH2_OBJ)/libssh2_config.h
	printf '#define LIBSSH2_MBEDTLS 1\n#define LIBSSH2_CLEAR_MEMORY 1\n' >>$(SSH2_OBJ)/libssh2_config.h
	echo $(SSH2_FILES) | tr ' ' '\n' | xargs -P$(JOBS) -I{} \
	  $(DEP_CC) $(SSH2_CFLAGS) -c $(SSH2_SRC)/src/{}.c -o $(SSH2_OBJ)/{}.o
	rm -f $(SSH2_LIB) && $(AR) rcs $(SSH2_LIB) $(SSH2_FILES:%=$(SSH2_OBJ)/%.o)
	cp $(SSH2_SRC)/include/libssh2.h $(D)/include/
	touch $@
