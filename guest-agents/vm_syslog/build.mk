# vm_syslog: the guest's log agent ($(O)/guest/vm_syslog, docs/AGENTS.md).
# Everything but main.c is a library for unit tests and the fuzzer.
VSL_SRCS := $(wildcard guest-agents/vm_syslog/*.c)
$(eval $(call agent_bin,vm_syslog,$(VSL_SRCS)))
$(eval $(call component,vm_syslog,$(filter-out guest-agents/vm_syslog/main.c,$(VSL_SRCS))))
