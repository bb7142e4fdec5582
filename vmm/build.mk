# vmm: the host VMM. Library sources are everything but main.c, so unit tests
# and fuzz targets can link any module.
VMM_SRCS := $(wildcard vmm/*.c vmm/devices/*.c vmm/services/*.c vmm/arch/x86_64/*.c)
VMM_LIB_SRCS := $(filter-out vmm/main.c,$(VMM_SRCS))

# virtio-9p serves shares with the p9/ library (P9_REL_OBJS).
# The control socket speaks proto/'s framed RPC (nanopb, static).
# sandbox.c jails device processes with jail/ (JAIL_REL_OBJS, which brings
# the policy compiler for --seccomp-policy-dir).
$(O)/vmm: $(call rel_objs,$(VMM_SRCS)) $(PROTO_REL_OBJS) $(JAIL_REL_OBJS) $(P9_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^ -lpthread $(PROTO_LDLIBS) $(LZMA_LIB)

BINS += $(O)/vmm
$(eval $(call component,vmm,$(VMM_LIB_SRCS)))

# Seccomp policies of the device processes and the VMM's own threads,
# compiled at build time and embedded by vmm/sandbox.c (one file per
# policy; common_device.policy is only @include'd).
VMM_POLICIES := $(filter-out %/common_device.policy,$(wildcard vmm/devices/policy/x86_64/*.policy))
$(foreach p,$(VMM_POLICIES),$(eval $(call scbpf_embed,vmm/sandbox.c,$(p))))

# Test-only (APPVM_TEST): the escape suite from inside real device
# processes, tests/native/sandbox_escape.c. Static, in $(O)/e2e/ so the
# nested L1 machine gets it too (tests/e2e/lib/l1.sh copies $(O)/e2e/*).
SANDBOX_ESCAPE_OBJ := $(call rel_objs,tests/native/sandbox_escape.c)
$(SANDBOX_ESCAPE_OBJ): REL_CFLAGS += -DAPPVM_TEST=1
$(O)/e2e/sandbox-escape: $(SANDBOX_ESCAPE_OBJ) $(call rel_objs,vmm/sandbox.c vmm/log.c) $(JAIL_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^
BINS += $(O)/e2e/sandbox-escape

# Benchmark helper for scripts/bench/jail.sh (not part of `make bins`).
$(O)/bench/sandbox-bench: $(call rel_objs,tests/native/sandbox_bench.c vmm/sandbox.c vmm/log.c) $(JAIL_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^

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
