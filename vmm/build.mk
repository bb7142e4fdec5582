# vmm: the host VMM. Library sources are everything but main.c, so unit tests
# and fuzz targets can link any module.
VMM_SRCS := $(wildcard vmm/*.c vmm/devices/*.c vmm/arch/x86_64/*.c)
VMM_LIB_SRCS := $(filter-out vmm/main.c,$(VMM_SRCS))

# The control socket speaks proto/'s framed RPC (nanopb, static).
$(O)/vmm: $(call rel_objs,$(VMM_SRCS)) $(PROTO_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^ -lpthread $(PROTO_LDLIBS) $(LZMA_LIB)

BINS += $(O)/vmm
$(eval $(call component,vmm,$(VMM_LIB_SRCS)))

# A bzImage's xz payload is unpacked on the host (vmm/arch/x86_64/payload.c)
# with Debian's static liblzma (liblzma-dev). musl-gcc does not search
# /usr/include: its two headers are exposed through links, as for nanopb.
LZMA_LIB := /usr/lib/x86_64-linux-gnu/liblzma.a
LZMA_INC := $(O)/lzma-include
REL_CFLAGS += -isystem $(LZMA_INC)
SAN_EXTRA_LDLIBS += -llzma
$(LZMA_INC)/.stamp:
	$(call msg,LZMA,$(LZMA_INC))
	$(Q)mkdir -p $(LZMA_INC)
	$(Q)ln -sfn /usr/include/lzma.h $(LZMA_INC)/lzma.h && ln -sfn /usr/include/lzma $(LZMA_INC)/lzma
	$(Q)touch $@
$(O)/obj/vmm/arch/x86_64/payload.o: $(LZMA_INC)/.stamp
