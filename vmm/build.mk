# vmm: the host VMM. Library sources are everything but main.c, so unit tests
# and fuzz targets can link any module.
VMM_SRCS := $(wildcard vmm/*.c vmm/devices/*.c vmm/services/*.c vmm/arch/$(ARCH)/*.c)
VMM_LIB_SRCS := $(filter-out vmm/main.c,$(VMM_SRCS))

# virtio-9p serves shares with the p9/ library (P9_REL_OBJS).
# The control socket speaks proto/'s framed RPC (nanopb, static).
# sandbox.c jails device processes with jail/ (JAIL_REL_OBJS, which brings
# the policy compiler for --seccomp-policy-dir).
# The main thread's event loop is evloop/'s (EVLOOP_REL_OBJS).
$(O)/vmm: $(call rel_objs,$(VMM_SRCS)) $(EVLOOP_REL_OBJS) $(PROTO_REL_OBJS) $(JAIL_REL_OBJS) $(P9_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^ -lpthread $(PROTO_LDLIBS) $(LZMA_LIB) $(VMM_LDLIBS)

BINS += $(O)/vmm
$(eval $(call component,vmm,$(VMM_LIB_SRCS)))

# Seccomp policies of the device processes and the VMM's own threads,
# compiled at build time and embedded by vmm/sandbox.c (one file per
# policy; common_device.policy is only @include'd).
VMM_POLICIES := $(filter-out %/common_device.policy,$(wildcard vmm/devices/policy/$(ARCH)/*.policy))
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
# (x86_64 only: its attacks use x86's legacy syscalls, open/fork/poll.)
ifeq ($(ARCH),x86_64)
BINS += $(O)/e2e/sandbox-escape
endif

# Benchmark helper for scripts/bench/jail.sh (not part of `make bins`).
$(O)/bench/sandbox-bench: $(call rel_objs,tests/native/sandbox_bench.c vmm/sandbox.c vmm/log.c) $(JAIL_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^

# A bzImage's xz payload is unpacked on the host (vmm/arch/x86_64/payload.c)
# with Debian's static liblzma (liblzma-dev). musl-gcc does not search
# /usr/include: its two headers are exposed through links, as for nanopb.
LZMA_LIB := $(if $(filter x86_64,$(ARCH)),/usr/lib/x86_64-linux-gnu/liblzma.a)
LZMA_INC := $(O)/lzma-include
REL_CFLAGS += -isystem $(LZMA_INC)
SAN_EXTRA_LDLIBS += -llzma
$(LZMA_INC)/.stamp:
	$(call msg,LZMA,$(LZMA_INC))
	$(Q)mkdir -p $(LZMA_INC)
	$(Q)ln -sfn /usr/include/lzma.h $(LZMA_INC)/lzma.h && ln -sfn /usr/include/lzma $(LZMA_INC)/lzma
	$(Q)touch $@
$(O)/obj/vmm/arch/x86_64/payload.o: $(LZMA_INC)/.stamp

# arm64 boots from a device tree built with Debian's static libfdt
# (libfdt-dev:arm64 for the release build; the host's for the unit tests of
# the x86_64 build, which cover vmm/arch/aarch64's image and devtree code).
# musl-gcc does not search /usr/include: libfdt's three headers are exposed
# through links.
ifeq ($(ARCH),aarch64)
# (scripts/setup-deps.sh unpacks it there: see the note on libfdt-dev.)
FDT_ARM64_LIB ?= $(or $(APPVM_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/appvm)/arm64/usr/lib/aarch64-linux-gnu/libfdt.a
FDT_INC := $(O)/fdt-include
REL_CFLAGS += -isystem $(FDT_INC)
VMM_LDLIBS += $(FDT_ARM64_LIB)
$(FDT_INC)/.stamp:
	$(call msg,FDT,$(FDT_INC))
	$(Q)mkdir -p $(FDT_INC)
	$(Q)for h in libfdt.h fdt.h libfdt_env.h; do ln -sfn /usr/include/$$h $(FDT_INC)/$$h || exit 1; done
	$(Q)touch $@
$(call rel_objs,$(wildcard vmm/arch/aarch64/*.c)): $(FDT_INC)/.stamp
else
$(eval $(call component,arch_aarch64,vmm/arch/aarch64/image.c vmm/arch/aarch64/devtree.c))
SAN_EXTRA_LDLIBS += -lfdt
endif
