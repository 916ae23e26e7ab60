# SPDX-License-Identifier: MIT
# sbs: the only build entry. `make` builds static musl sbsd and sbs for the host;
# `make TARGET=s390x` cross-builds them; `make check` runs every test;
# `make demo` walks the client through the API against a local sbsd.
#
# Targets (profiles): x86_64 (musl, static, shipped), s390x (musl, static,
# shipped; run under qemu-s390x-static here), asan (glibc + ASan/UBSan, tests
# only), fuzz (clang + libFuzzer, `make fuzz`).

TARGET  ?= x86_64
JOBS    ?= 2
B       := build/$(TARGET)$(SUFFIX)
HOST_SETUP := build/.host-setup

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wcast-qual -Wformat=2 -Wno-unused-parameter -Wvla
WERROR  ?= -Werror

ifeq ($(TARGET),x86_64)
  CC      := musl-gcc
  AR      := ar
  RANLIB  := ranlib
  DEP_CC  := musl-gcc
  DEP_CFLAGS := -O2 -ffunction-sections -fdata-sections -fPIC
  CFLAGS  := -Os -g -ffunction-sections -fdata-sections -fstack-protector-strong -D_FORTIFY_SOURCE=0
  LDFLAGS := -static -Wl,--gc-sections -s
  CHOST   := x86_64-linux-musl
  LA_HOST :=
  RUN     :=
else ifeq ($(TARGET),s390x)
  CC      := s390x-linux-gnu-gcc -specs /usr/lib/s390x-linux-musl/musl-gcc.specs
  AR      := s390x-linux-gnu-ar
  RANLIB  := s390x-linux-gnu-ranlib
  DEP_CC  := $(CC)
  DEP_CFLAGS := -Os -ffunction-sections -fdata-sections
  CFLAGS  := -Os -g -ffunction-sections -fdata-sections
  LDFLAGS := -static -Wl,--gc-sections -s
  CHOST   := s390x-linux-musl
  LA_HOST := --host=s390x-linux-musl
  RUN     := qemu-s390x-static
else ifeq ($(TARGET),asan)
  CC      := gcc
  AR      := ar
  RANLIB  := ranlib
  DEP_CC  := gcc
  DEP_CFLAGS := -O1 -g -fPIC
  CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS := -fsanitize=address,undefined
  CHOST   :=
  LA_HOST :=
  RUN     :=
else ifeq ($(TARGET),fuzz)
  CC      := clang
  AR      := ar
  RANLIB  := ranlib
  DEP_CC  := clang
  DEP_CFLAGS := -O1 -g -fPIC
  CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
  LDFLAGS := -fsanitize=fuzzer,address,undefined
  CHOST   :=
  LA_HOST :=
  RUN     :=
else
  $(error TARGET must be x86_64, s390x, asan or fuzz)
endif

all: $(HOST_SETUP) $(B)/sbsd $(B)/sbs

# Checked on every top-level make (about half a second when nothing is
# missing), so a package removed since the last run is installed again.
$(HOST_SETUP): mk/setup-host.sh FORCE
	@mkdir -p build
	@./mk/setup-host.sh
	@touch $@
setup:
	./mk/setup-host.sh

include mk/deps.mk
include mk/ssh2.mk
include mk/build.mk
include mk/test.mk
-include mk/appliance.mk

.PHONY: all setup deps check demo bench fuzz clean distclean
# keep objects make considers intermediate (test and fuzz objects)
.SECONDARY:
clean:
	rm -rf build/x86_64/obj build/s390x/obj build/asan/obj build/fuzz/obj \
	       $(foreach t,x86_64 s390x asan fuzz,build/$(t)/sbsd build/$(t)/sbs build/$(t)/tests)
distclean:
	rm -rf build

demo: $(HOST_SETUP) $(B)/sbsd $(B)/sbs
	./mk/demo.sh $(B)/sbsd $(B)/sbs build/demo
