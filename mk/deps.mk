# SPDX-License-Identifier: MIT
# Third-party libraries, built from their Debian source packages for one target
# into $(D) = build/<target>/deps/{include,lib}. Sources are fetched once with
# `apt-get source` into build/src and shared by every target. Each library is
# cached by a stamp that depends on this file (and, for mbedTLS, on our config).

DEB_PKGS := mbedtls bearssl cjson libarchive zlib bzip2
SRC      := build/src
D        := build/$(TARGET)/deps
DEPS_STAMPS := $(D)/.mbedtls $(D)/.bearssl $(D)/.cjson $(D)/.zlib $(D)/.bzip2 $(D)/.libarchive
DEP_LIBS := $(D)/lib/libarchive.a $(D)/lib/libbz2.a $(D)/lib/libz.a \
            $(D)/lib/libmbedtls.a $(D)/lib/libmbedx509.a $(D)/lib/libmbedcrypto.a \
            $(D)/lib/libbearssl.a $(D)/lib/libcjson.a
TOP      := $(CURDIR)

deps: $(D)/.all

# Several makes (targets, parallel sessions) may find the deps stale at once:
# the rebuild runs under a lock, and the locked make re-checks every stamp.
$(D)/.all: crypto/mbedtls_config.h mk/deps.mk $(D)/.flags
	@mkdir -p build
	flock build/.deps.lock $(MAKE) --no-print-directory deps-locked TARGET=$(TARGET)
deps-locked: $(DEPS_STAMPS)
	touch $(D)/.all

# Fetch and unpack (with Debian's patches applied) every source package once.
$(SRC)/.fetched: mk/deps.mk mk/fetch-src.sh | $(HOST_SETUP)
	@echo "deps: fetching Debian sources: $(DEB_PKGS)"
	rm -rf $(SRC) && mkdir -p $(SRC)/dl
	./mk/fetch-src.sh $(SRC)/dl $(DEB_PKGS)
	cd $(SRC) && for p in $(DEB_PKGS); do \
	  dsc=$$(ls dl/$${p}_*.dsc | head -n1); [ -n "$$dsc" ] || { echo "deps: no source for $$p" >&2; exit 1; }; \
	  dpkg-source -q -x --no-check "$$dsc" "$$p" >/dev/null || exit 1; done
	touch $@

$(D)/.dirs:
	mkdir -p $(D)/include $(D)/lib $(D)/obj && touch $@

# The compiler and flags the deps were built with: rewritten only when they
# change, so a flags change rebuilds the deps and nothing else does.
DEP_FLAGS_LINE := $(DEP_CC) $(DEP_CFLAGS)
$(D)/.flags: FORCE
	@mkdir -p $(D)
	@echo '$(DEP_FLAGS_LINE)' | cmp -s - $@ 2>/dev/null || echo '$(DEP_FLAGS_LINE)' >$@
FORCE:

MBED_FLAGS := $(DEP_CFLAGS) -I$(TOP)/crypto -DMBEDTLS_CONFIG_FILE='<mbedtls_config.h>'
$(D)/.mbedtls: $(SRC)/.fetched $(D)/.dirs crypto/mbedtls_config.h mk/deps.mk $(D)/.flags
	rm -rf $(D)/obj/mbedtls && cp -a $(SRC)/mbedtls $(D)/obj/mbedtls
	$(MAKE) -s -C $(D)/obj/mbedtls/library CC="$(DEP_CC)" AR="$(AR)" \
	  CFLAGS="$(MBED_FLAGS)" LDFLAGS= static >/dev/null
	cp $(D)/obj/mbedtls/library/libmbed*.a $(D)/lib/
	rm -rf $(D)/include/mbedtls && cp -a $(D)/obj/mbedtls/include/mbedtls $(D)/include/
	cp crypto/mbedtls_config.h $(D)/include/
	touch $@

# BearSSL: compile its src/ tree directly (no shared library, no tools).
$(D)/.bearssl: $(SRC)/.fetched $(D)/.dirs mk/deps.mk $(D)/.flags
	rm -rf $(D)/obj/bearssl && mkdir -p $(D)/obj/bearssl
	cd $(SRC)/bearssl && find src -name '*.c' | sort | \
	  xargs -P$(JOBS) -I{} sh -c 'o=$(TOP)/$(D)/obj/bearssl/$$(echo {} | tr / _).o; \
	    $(DEP_CC) $(DEP_CFLAGS) -Iinc -Isrc -c {} -o $$o' 
	rm -f $(D)/lib/libbearssl.a && $(AR) rcs $(D)/lib/libbearssl.a $(D)/obj/bearssl/*.o
	cp $(SRC)/bearssl/inc/*.h $(D)/include/
	touch $@

# cJSON: one file. The nesting limit is enforced inside the parser as well as
# by our adapter's pre-scan (src/limits.h JSON_MAX_DEPTH).
$(D)/.cjson: $(SRC)/.fetched $(D)/.dirs mk/deps.mk $(D)/.flags
	$(DEP_CC) $(DEP_CFLAGS) -DCJSON_NESTING_LIMIT=64 -c $(SRC)/cjson/cJSON.c -o $(D)/obj/cJSON.o
	rm -f $(D)/lib/libcjson.a && $(AR) rcs $(D)/lib/libcjson.a $(D)/obj/cJSON.o
	cp $(SRC)/cjson/cJSON.h $(D)/include/
	touch $@

$(D)/.zlib: $(SRC)/.fetched $(D)/.dirs mk/deps.mk $(D)/.flags
	rm -rf $(D)/obj/zlib && cp -a $(SRC)/zlib $(D)/obj/zlib
	cd $(D)/obj/zlib && CC="$(DEP_CC)" AR="$(AR)" CFLAGS="$(DEP_CFLAGS)" CHOST=$(CHOST) \
	  ./configure --static --prefix=$(TOP)/$(D) >/dev/null && \
	  $(MAKE) -s libz.a >/dev/null && cp libz.a $(TOP)/$(D)/lib/ && cp zlib.h zconf.h $(TOP)/$(D)/include/
	touch $@

$(D)/.bzip2: $(SRC)/.fetched $(D)/.dirs mk/deps.mk $(D)/.flags
	rm -rf $(D)/obj/bzip2 && cp -a $(SRC)/bzip2 $(D)/obj/bzip2
	$(MAKE) -s -C $(D)/obj/bzip2 libbz2.a CC="$(DEP_CC)" AR="$(AR)" RANLIB="$(RANLIB)" \
	  CFLAGS="$(DEP_CFLAGS) -D_FILE_OFFSET_BITS=64" >/dev/null
	cp $(D)/obj/bzip2/libbz2.a $(D)/lib/ && cp $(D)/obj/bzip2/bzlib.h $(D)/include/
	touch $@

# libarchive: tar + gzip + bzip2 only; every other codec, crypto and ACL/xattr
# support is switched off so nothing from the host leaks in.
LA_OFF := --disable-shared --enable-static --disable-maintainer-mode \
  --disable-bsdtar --disable-bsdcat --disable-bsdcpio --disable-acl --disable-xattr \
  --without-zstd --without-lz4 --without-lzma --without-lzo2 --without-xml2 \
  --without-expat --without-openssl --without-nettle --without-mbedtls \
  --without-cng --without-libb2 --without-iconv --disable-rpath
$(D)/.libarchive: $(SRC)/.fetched $(D)/.zlib $(D)/.bzip2 mk/deps.mk $(D)/.flags
	rm -rf $(D)/obj/libarchive && mkdir -p $(D)/obj/libarchive
	cd $(D)/obj/libarchive && CC="$(DEP_CC)" AR="$(AR)" CFLAGS="$(DEP_CFLAGS)" \
	  CPPFLAGS="-I$(TOP)/$(D)/include" LDFLAGS="-L$(TOP)/$(D)/lib" \
	  $(TOP)/$(SRC)/libarchive/configure $(LA_HOST) $(LA_OFF) --with-zlib --with-bz2lib \
	  --prefix=$(TOP)/$(D) >configure.out 2>&1 || { tail -20 configure.out; exit 1; }
	$(MAKE) -s -C $(D)/obj/libarchive -j$(JOBS) libarchive.la >/dev/null 2>&1 || \
	  $(MAKE) -C $(D)/obj/libarchive libarchive.la
	cp $(D)/obj/libarchive/.libs/libarchive.a $(D)/lib/
	cp $(SRC)/libarchive/libarchive/archive.h $(SRC)/libarchive/libarchive/archive_entry.h $(D)/include/
	touch $@
