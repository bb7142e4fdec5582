# jail: namespace sandbox library (jail.h) and the standalone build/jail
# command. The library uses the policy compiler at run time for -S POLICY /
# jail_seccomp_policy(), so it links seccomp-bpf's library sources too.
JAIL_SRCS := $(wildcard jail/*.c)
JAIL_LIB_SRCS := $(filter-out jail/main.c,$(JAIL_SRCS))
# seccomp-bpf/build.mk is included after this file: name its sources here.
JAIL_SCBPF_SRCS := $(filter-out seccomp-bpf/main.c,$(wildcard seccomp-bpf/*.c))

# Release objects another binary (the vmm, for jail_fork() of its devices)
# links to use the library: $(JAIL_REL_OBJS).
JAIL_REL_OBJS := $(call rel_objs,$(JAIL_LIB_SRCS) $(JAIL_SCBPF_SRCS))

$(O)/jail: $(call rel_objs,jail/main.c) $(JAIL_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^

BINS += $(O)/jail
$(eval $(call component,jail,$(JAIL_LIB_SRCS)))

# Benchmark helper for scripts/bench/jail.sh (not part of `make bins`).
$(O)/bench/jail-bench: $(call rel_objs,tests/native/jail/bench.c) $(JAIL_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^
