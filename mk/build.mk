# SPDX-License-Identifier: MIT
# Our own code: every .c under crypto/, hal/ and src/ except the two mains goes
# into libsbs.a; sbsd, sbs and every tests/test_*.c link against it.

LIB_SRC  := $(filter-out src/sbs.c src/sbsd.c,$(wildcard src/*.c)) $(wildcard crypto/*.c hal/*.c)
OBJ      := $(B)/obj
LIB_OBJ  := $(LIB_SRC:%.c=$(OBJ)/%.o)
INC      := -iquote src -iquote crypto -iquote hal -iquote tests -I$(D)/include
SBS_VERSION ?= 0.1.0
DEFS     := -D_GNU_SOURCE -DMBEDTLS_CONFIG_FILE='"mbedtls_config.h"' -DSBS_VERSION='"$(SBS_VERSION)"'
ALL_CFLAGS = -std=c11 $(CFLAGS) $(WARN) $(WERROR) $(DEFS) $(INC) -MMD -MP
LIBS     := $(DEP_LIBS)
# mbedTLS calls back into libsbs.a (the ALT hooks in crypto/cry_p256.c), so
# the static libraries are searched as one group until nothing is undefined.
LINK      = $(filter-out %.a,$^) -Wl,--start-group $(filter %.a,$^) $(LIBS) -Wl,--end-group

# V=1 shows whole command lines.
Q := $(if $(V),,@)

$(OBJ)/%.o: %.c $(D)/.all
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $(TARGET) $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libsbs.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/sbsd: $(OBJ)/src/sbsd.o $(B)/libsbs.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(LINK)
$(B)/sbs: $(OBJ)/src/sbs.o $(B)/libsbs.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(LINK)

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
