# vmm: the host VMM. Library sources are everything but main.c, so unit tests
# and fuzz targets can link any module.
VMM_SRCS := $(wildcard vmm/*.c vmm/devices/*.c vmm/services/*.c vmm/arch/x86_64/*.c)
VMM_LIB_SRCS := $(filter-out vmm/main.c,$(VMM_SRCS))

# The control socket speaks proto/'s framed RPC (nanopb, static).
$(O)/vmm: $(call rel_objs,$(VMM_SRCS)) $(PROTO_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^ -lpthread $(PROTO_LDLIBS)

BINS += $(O)/vmm
$(eval $(call component,vmm,$(VMM_LIB_SRCS)))
