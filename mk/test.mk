# SPDX-License-Identifier: MIT
# Tests. Unit tests: tests/test_<module>.c, one binary each, run under $(RUN)
# (qemu-s390x-static for TARGET=s390x). Integration: tests/it_*.sh against real
# sbsd/sbs processes on 127.0.0.1. Fuzz targets: tests/fuzz/fuzz_<name>.c, whose
# corpora tests/fuzz/corpus/<name>/ are replayed by `make check`.

UNIT_SRC := $(wildcard tests/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/%.c=$(B)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/tests/replay_%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/tests/%)

$(B)/tests/test_%: $(OBJ)/tests/test_%.o $(OBJ)/tests/tutil.o $(B)/libsbs.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(LINK)

# A fuzz target linked with a plain main() that feeds it every corpus file.
$(B)/tests/replay_fuzz_%: $(OBJ)/tests/fuzz/fuzz_%.o $(OBJ)/tests/fuzz/replay.o $(B)/libsbs.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(LINK)
# The same target linked with libFuzzer (TARGET=fuzz).
$(B)/tests/fuzz_%: $(OBJ)/tests/fuzz/fuzz_%.o $(B)/libsbs.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(LINK)

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "== $$t"; $(RUN) ./$$t || exit 1; done

replay: $(FUZZ_REPLAY)
	@for t in $(FUZZ_REPLAY); do n=$${t##*/replay_fuzz_}; \
	  echo "== replay $$n"; $(RUN) ./$$t tests/fuzz/corpus/$$n || exit 1; done

integration: $(B)/sbsd $(B)/sbs $(B)/tests/test_s3
	@for t in tests/it_*.sh; do echo "== $$t ($(TARGET))"; \
	  SBSD=$(CURDIR)/$(B)/sbsd SBS=$(CURDIR)/$(B)/sbs RUN="$(RUN)" TARGET=$(TARGET) \
	  timeout 600 bash $$t || exit 1; done

# Headers of a dependency may be included only by its adapter file.
check-adapters:
	@bad=$$(grep -rlE '#[[:space:]]*include[[:space:]]*[<"](mbedtls/|bearssl)' src hal tests --include='*.[ch]' | grep -v '^tests/fuzz/' ; \
	  grep -rlE '#[[:space:]]*include[[:space:]]*[<"]cJSON\.h' src hal crypto tests --include='*.[ch]' | grep -vx 'src/json.c'; \
	  grep -rlE '#[[:space:]]*include[[:space:]]*[<"]archive(_entry)?\.h' src hal crypto tests --include='*.[ch]' | grep -vx 'src/arc.c'; \
	  grep -rlE '#[[:space:]]*include[[:space:]]*[<"]libssh2' src hal crypto tests --include='*.[ch]' | grep -vx 'src/git_ssh.c'; \
	  grep -rlE '#[[:space:]]*include[[:space:]]*[<"]zlib\.h' src hal crypto tests --include='*.[ch]' | grep -vxE 'src/(arc_gz|git_pack)\.c'; \
	  grep -rlE '#[[:space:]]*include[[:space:]]*[<"]bzlib\.h' src hal crypto tests --include='*.[ch]' | grep -vx 'src/arc_gz.c'; \
	  grep -rlE '#[[:space:]]*include[[:space:]]*[<"]mbedtls/' crypto --include='*.[ch]' | grep -vxE 'crypto/(cry_(mbed|x509|tls|p256)\.c|mbedtls_config\.h)'; \
	  grep -rlE '#[[:space:]]*include[[:space:]]*[<"]bearssl' crypto --include='*.[ch]' | grep -vxE 'crypto/cry_(bear|p256)\.c'); \
	  if [ -n "$$bad" ]; then echo "dependency headers outside their adapter: $$bad" >&2; exit 1; fi; \
	  echo "adapters: ok"

# The full suite: host build, sanitizer build, s390x build under qemu-user,
# then the appliance booted under qemu-system-s390x (make e2e).
check: $(HOST_SETUP)
	$(MAKE) check-adapters
	$(MAKE) TARGET=x86_64 unit replay integration
	$(MAKE) TARGET=asan unit replay integration
	$(MAKE) TARGET=s390x unit replay s390x-smoke
	$(MAKE) e2e

s390x-smoke: $(B)/sbsd $(B)/sbs
	@echo "== s390x binaries under qemu-s390x-static"
	@file $(B)/sbsd | grep -q 'IBM S/390' || { echo "sbsd is not an s390x binary" >&2; exit 1; }
	SBSD=$(CURDIR)/$(B)/sbsd SBS=$(CURDIR)/$(B)/sbs RUN="$(RUN)" TARGET=$(TARGET) timeout 900 bash tests/it_api.sh
	@echo "== the HPVS image (make oci) and its workload: tests/hpvs_oci.sh"
	@$(MAKE) --no-print-directory TARGET=x86_64 build/x86_64/sbsd build/x86_64/sbs
	@$(MAKE) --no-print-directory oci
	OCI=$(CURDIR)/build/appliance/sbs-oci.tar COMPOSE=$(CURDIR)/build/appliance/hpvs/docker-compose.yml \
	  SBSD=$(CURDIR)/build/appliance/sbsd SBS=$(CURDIR)/build/x86_64/sbs SBS_VERSION=$(SBS_VERSION) \
	  timeout 600 bash tests/hpvs_oci.sh

fuzz:
	$(MAKE) TARGET=fuzz $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/tests/%)
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); n=$${n#fuzz_}; \
	  echo "== fuzz $$n ($${FUZZ_SECONDS:-60} s)"; mkdir -p build/fuzz/corpus/$$n; \
	  ./build/fuzz/tests/fuzz_$$n -max_total_time=$${FUZZ_SECONDS:-60} build/fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; done

.PHONY: unit replay integration check-adapters s390x-smoke

$(B)/bench/loadgen: $(OBJ)/bench/loadgen.o $(B)/libsbs.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(LINK)

bench: $(HOST_SETUP) $(B)/sbsd $(B)/bench/loadgen $(B)/tests/test_s3
	./bench/run.sh $(B)/sbsd $(B)/bench/loadgen
	./bench/s3.sh $(B)/tests/test_s3
	$(MAKE) --no-print-directory bench-build
	$(MAKE) --no-print-directory bench-boot

# bench/pack: our layer packer over a tree, next to tar | pigz | sha256sum (bench/build.sh).
$(B)/bench/pack: $(OBJ)/bench/pack.o $(B)/libsbs.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(LINK)

# Image builds by sbs (the engine through tests/test_image) next to buildah,
# and layer packing next to pigz (bench/build.sh; needs root).
bench-build: $(HOST_SETUP) $(B)/tests/test_image $(B)/bench/pack
	./bench/build.sh $(B)/tests/test_image $(B)/bench/pack
.PHONY: bench-build
