# guest-agents: the guest's service programs talking to vmm over vsock
# (docs/AGENTS.md). Static musl binaries in $(O)/guest/.
#
#   guest-agents/common/     agent.h: command line, endpoints, connect with
#                            backoff, privilege drop (links jail/)
#   guest-agents/<name>/     one agent; its build.mk calls agent_bin and, for
#                            unit tests and fuzzers, component
#
# An agent's build.mk:
#   VM_FOO_SRCS := $(wildcard guest-agents/foo/*.c)
#   $(eval $(call agent_bin,foo,$(VM_FOO_SRCS)))
#   $(eval $(call component,agent_foo,$(filter-out guest-agents/foo/main.c,$(VM_FOO_SRCS))))
# agent_bin links the sources with the common library, proto's framing and
# generated messages, jail/ and Debian's static nanopb runtime.

AGENT_COMMON_SRCS := $(wildcard guest-agents/common/*.c)
# proto/ and jail/ build.mk files are read after this one (wildcard order), so
# their object lists are still empty here: name the same objects as they do.
# The policy compiler (seccomp-bpf/) is linked by jail.c but dropped by
# --gc-sections as long as an agent never calls jail_seccomp_policy().
AGENT_LINK_OBJS := $(call rel_objs,$(AGENT_COMMON_SRCS) \
	$(wildcard proto/*.c) \
	$(patsubst proto/%.proto,$(O)/gen/proto/%.pb.c,$(wildcard proto/*.proto)) \
	$(filter-out jail/main.c,$(wildcard jail/*.c)) \
	$(filter-out seccomp-bpf/main.c,$(wildcard seccomp-bpf/*.c)))

# $(eval $(call agent_bin,NAME,SOURCES)): $(O)/guest/NAME.
define agent_bin
$(O)/guest/$(1): $(call rel_objs,$(2)) $(AGENT_LINK_OBJS)
	$$(call msg,LD,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(MUSL_CC) $$(REL_CFLAGS) $$(REL_LDFLAGS) -o $$@ $$^ $$(PROTO_LDLIBS)
BINS += $(O)/guest/$(1)
endef

$(eval $(call component,agentcommon,$(AGENT_COMMON_SRCS)))

include $(sort $(wildcard guest-agents/*/build.mk))

# Benchmark of the vm_syslog -> log endpoint pipeline (scripts/bench/agents.sh),
# built like the release binaries; not part of `make bins`. The vmm objects
# it needs (vmm/services, vmm/log.c) are named here: vmm/build.mk is read later.
$(O)/bench/syslog_bench: $(call rel_objs,bench/agents/syslog_bench.c \
	$(filter-out guest-agents/vm_syslog/main.c,$(wildcard guest-agents/vm_syslog/*.c)) \
	$(wildcard vmm/services/*.c) vmm/log.c) $(AGENT_LINK_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^ -lpthread $(PROTO_LDLIBS)
