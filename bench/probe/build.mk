# The bare KVM probe and the start-up timer used by scripts/bench/vmm.sh.
# Static musl like vmm, so the comparison is like for like. Works included
# from the top-level Makefile or standalone:
#   make -f bench/probe/build.mk O=build bench-probe
# Output: $(O)/bench/probe, $(O)/bench/benchrun.

O ?= build
MUSL_CC ?= musl-gcc
Q ?= @

PROBE_OUT := $(O)/bench
# musl-gcc does not search /usr/include; expose only the kernel UAPI headers
# (same scheme as the top-level $(O)/uapi, kept separate so this file also
# works standalone).
PROBE_UAPI := $(PROBE_OUT)/uapi
PROBE_CFLAGS := -std=gnu11 -Os -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -D_GNU_SOURCE -ffunction-sections -fdata-sections \
	-fstack-protector-strong -isystem $(PROBE_UAPI)
PROBE_LDFLAGS := -static -Wl,--gc-sections -Wl,-z,relro -Wl,-z,now

.PHONY: bench-probe
bench-probe: $(PROBE_OUT)/probe $(PROBE_OUT)/benchrun

$(PROBE_UAPI)/.stamp:
	$(Q)mkdir -p $(PROBE_UAPI)
	$(Q)ln -sfn /usr/include/linux $(PROBE_UAPI)/linux
	$(Q)ln -sfn /usr/include/x86_64-linux-gnu/asm $(PROBE_UAPI)/asm
	$(Q)ln -sfn /usr/include/asm-generic $(PROBE_UAPI)/asm-generic
	$(Q)touch $@

$(PROBE_OUT)/probe $(PROBE_OUT)/benchrun: $(PROBE_OUT)/%: bench/probe/%.c $(PROBE_UAPI)/.stamp
	$(call msg,CC,$@)
	$(Q)$(MUSL_CC) $(PROBE_CFLAGS) $(PROBE_LDFLAGS) -o $@ $<
