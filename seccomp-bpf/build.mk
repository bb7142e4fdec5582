# seccomp-bpf: policy compiler. Library sources are linked into unit tests,
# fuzzers, build/jail (runtime -S POLICY) and the host tool
# build/host/seccomp-bpfc used to embed compiled policies into binaries.
SCBPF_SRCS := $(wildcard seccomp-bpf/*.c)
SCBPF_LIB_SRCS := $(filter-out seccomp-bpf/main.c,$(SCBPF_SRCS))

# The compiler, the tool and the library all target $(ARCH): its syscall
# table, its constants and its AUDIT_ARCH (scbpf.h, SCBPF_TARGET_AARCH64).
ifeq ($(ARCH),x86_64)
# Syscall names and numbers straight from the toolchain's <asm/unistd_64.h>,
# sorted by name in byte order (scbpf_tables.c bisects with strcmp).
$(O)/gen/scbpf_syscalls.h: seccomp-bpf/build.mk
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)echo '#include <asm/unistd_64.h>' | $(HOST_CC) -E -dM -x c - | \
		sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$$/SCBPF_SYSCALL(\1, \2)/p' | \
		LC_ALL=C sort >$@.tmp
	$(Q)test -s $@.tmp || { echo "seccomp-bpf: no __NR_ macros in <asm/unistd_64.h>" >&2; exit 1; }
	$(Q)mv $@.tmp $@
SCBPF_CONSTS_CC := $(HOST_CC)
SCBPF_CONSTS_RUN :=
else
# arm64 numbers its calls through asm-generic/unistd.h, where some names are
# aliases (__NR_fcntl is __NR3264_fcntl): collect the names, then let the
# target's preprocessor expand each to its number.
$(O)/gen/scbpf_syscalls.h: seccomp-bpf/build.mk $(UAPI)/.stamp
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q){ echo '#include <asm/unistd.h>'; \
		echo '#include <asm/unistd.h>' | $(MUSL_CC) -isystem $(UAPI) -E -dM -x c - | \
		sed -n 's/^#define __NR_\([a-z][a-z0-9_]*\) .*/SCBPF_SYSCALL(\1, __NR_\1)/p'; } | \
		$(MUSL_CC) -isystem $(UAPI) -E -P -x c - | grep '^SCBPF_SYSCALL([a-z0-9_]*, [0-9][0-9]*)$$' | \
		LC_ALL=C sort >$@.tmp
	$(Q)test -s $@.tmp || { echo "seccomp-bpf: no __NR_ macros in <asm/unistd.h>" >&2; exit 1; }
	$(Q)mv $@.tmp $@
# Constants computed by a static arm64 program run under qemu-user.
SCBPF_CONSTS_CC := $(MUSL_CC) -static -isystem $(UAPI)
SCBPF_CONSTS_RUN := qemu-aarch64-static
endif

# Named constants (O_*, PROT_*, AF_*, KVM_*, errno, ...) computed by the
# compiler from the headers listed in consts_headers.h.
$(O)/gen/scbpf_consts.h: seccomp-bpf/gen-consts.sh seccomp-bpf/consts_headers.h $(UAPI)/.stamp
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sh seccomp-bpf/gen-consts.sh "$(SCBPF_CONSTS_CC)" $@ $(SCBPF_CONSTS_RUN)

GEN += $(O)/gen/scbpf_syscalls.h $(O)/gen/scbpf_consts.h

$(O)/host/seccomp-bpfc: $(call host_objs,$(SCBPF_SRCS))
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -o $@ $^

HOST_TOOLS += $(O)/host/seccomp-bpfc
$(eval $(call component,seccompbpf,$(SCBPF_LIB_SRCS)))

# Embedding compiled policies: for any DIR/NAME.policy in the tree,
#   $(O)/gen/policy/DIR/NAME.policy.h
# defines
#   static const struct sock_filter DIR_NAME_policy[];   (/ . - become _)
#   static const unsigned short DIR_NAME_policy_len;
# e.g. vmm/devices/block.policy -> #include "policy/vmm/devices/block.policy.h"
# gives vmm_devices_block_policy[] / vmm_devices_block_policy_len. The C file
# that includes it declares the dependency in its component's build.mk
# (included after this one) for every object flavour with
#   $(eval $(call scbpf_embed,vmm/devices/block.c,vmm/devices/block.policy))
# Not through GEN: every object, the host tool's included, waits for GEN, and
# the header needs the host tool first.
# @include'd files are tracked through the .d file the rule writes.
scbpf_sym = $(subst /,_,$(subst .,_,$(subst -,_,$(1))))_policy
$(O)/gen/policy/%.policy.h: %.policy $(O)/host/seccomp-bpfc
	$(call msg,BPFC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(O)/host/seccomp-bpfc --c-name $(call scbpf_sym,$*) --deps $@.d $< -o $@

define scbpf_embed
$(call rel_objs,$(1)) $(call san_objs,$(1)) $(call fuzz_objs,$(1)): $(O)/gen/policy/$(2).h
endef

# Differential test against libseccomp (Debian libseccomp-dev, test-only):
# its own link line, since -lseccomp must not reach any other binary. It
# uses only this component's library.
$(O)/san/tests/seccomp_diff_test: $(O)/san/obj/tests/unit/seccomp_diff_test.o $(O)/san/obj/tests/unit/t.o \
	$(O)/san/libseccompbpf.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) -o $@ $^ -lpthread -lseccomp $(SAN_EXTRA_LDLIBS)

# The embedding rule's own test: golden policies compiled at build time must
# equal the same policies compiled at run time (tests/unit/seccomp_embed_test.c).
$(eval $(call scbpf_embed,tests/unit/seccomp_embed_test.c,tests/golden/seccomp/allow_list.policy))
$(eval $(call scbpf_embed,tests/unit/seccomp_embed_test.c,tests/golden/seccomp/kvm_ioctls.policy))
