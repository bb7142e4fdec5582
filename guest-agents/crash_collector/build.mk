# crash_collector: core dump -> JSON report + minidump -> vmm's crash
# endpoint ($(O)/guest/crash_collector, docs/AGENTS.md). Everything but
# main.c is a library for unit tests and the fuzzer.
CC_SRCS := $(wildcard guest-agents/crash_collector/*.c)
$(eval $(call agent_bin,crash_collector,$(CC_SRCS)))
$(eval $(call component,crash_collector,$(filter-out guest-agents/crash_collector/main.c,$(CC_SRCS))))
