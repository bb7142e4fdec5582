# appvm top-level Makefile. Do not edit: override variables in config.mk or on
# the command line. Each component adds itself through its own build.mk.
#
#   make            static musl binaries into $(O)/
#   make check      unit + native KVM + nested e2e tests, ends "N passed, N failed"
#   make unit       unit tests only (host clang, ASan/UBSan, no KVM)
#   make fuzz       libFuzzer targets (short runs over the in-tree corpus)
#   make demo       boot the demo appliance
#   make bench      benchmarks (numbers go to docs/BENCHMARKS.md by hand)
#   V=1             verbose

include config.mk

# Debian's multiarch directory of the target (headers, static libraries);
# TARGET_CFLAGS tell code built for the host (the policy compiler tool) the
# target.
ifeq ($(ARCH),x86_64)
MULTIARCH := x86_64-linux-gnu
TARGET_CFLAGS :=
else ifeq ($(ARCH),aarch64)
MULTIARCH := aarch64-linux-gnu
TARGET_CFLAGS := -DSCBPF_TARGET_AARCH64=1
else
$(error ARCH=$(ARCH): unknown architecture (x86_64 or aarch64))
endif
# Tests run on the host: the x86_64 build's unit and fuzz suites cover the
# aarch64 code that needs no KVM (image parsing, the device tree); arm64
# guests run in the nested arm64 machine (E2E_ARCH=aarch64 tests/e2e/run).
ifneq ($(ARCH),x86_64)
ifneq ($(filter unit unit-build check check-build fuzz,$(MAKECMDGOALS)),)
$(error ARCH=$(ARCH): $(filter unit unit-build check check-build fuzz,$(MAKECMDGOALS)) runs on the host: use the x86_64 build)
endif
endif

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2)
endif

UAPI := $(O)/uapi
COMMON_CFLAGS := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -D_GNU_SOURCE -I. -I$(O)/gen $(TARGET_CFLAGS)
REL_CFLAGS := $(COMMON_CFLAGS) -Os -ffunction-sections -fdata-sections -fstack-protector-strong \
	-isystem $(UAPI) $(CFLAGS)
REL_LDFLAGS := -static -Wl,--gc-sections -Wl,-z,relro -Wl,-z,now $(LDFLAGS)
SAN_CFLAGS := $(COMMON_CFLAGS) -g -O1 $(SAN_FLAGS) -DAPPVM_TEST=1 $(CFLAGS)
HOST_CFLAGS := $(COMMON_CFLAGS) -O2 $(CFLAGS)

# Filled by the components' build.mk files.
BINS :=
HOST_TOOLS :=
SAN_LIBS :=
FUZZERS :=
FUZZ_LIBS :=
SAN_EXTRA_LDLIBS :=
GEN :=

all: bins

# musl-gcc leaves /usr/include out of its search path on purpose; expose only
# the kernel UAPI headers (linux/, asm/, asm-generic/) through a directory of
# links so musl's own headers are never shadowed by glibc's. (video/ is
# there for asm/bootparam.h's edid include.)
$(UAPI)/.stamp:
	$(call msg,UAPI,$(UAPI))
	$(Q)mkdir -p $(UAPI)
	$(Q)ln -sfn /usr/include/linux $(UAPI)/linux
	$(Q)ln -sfn /usr/include/$(MULTIARCH)/asm $(UAPI)/asm
	$(Q)ln -sfn /usr/include/asm-generic $(UAPI)/asm-generic
	$(Q)ln -sfn /usr/include/video $(UAPI)/video
	$(Q)touch $@

# Release objects: static musl.
$(O)/obj/%.o: %.c $(UAPI)/.stamp | gen
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@

# Sanitizer objects for unit tests (host clang + glibc).
$(O)/san/obj/%.o: %.c | gen
	$(call msg,SANCC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

# Plain host objects for build-time tools.
$(O)/hostobj/%.o: %.c | gen
	$(call msg,HOSTCC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

# Fuzz objects.
$(O)/fuzzobj/%.o: %.c | gen
	$(call msg,FUZZCC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(SAN_CC) $(COMMON_CFLAGS) -g -O1 $(FUZZ_FLAGS) -DAPPVM_TEST=1 -DAPPVM_FUZZ=1 -MMD -MP -c $< -o $@

# objs DIR-relative source list -> object list for a flavour prefix.
rel_objs = $(patsubst %.c,$(O)/obj/%.o,$(1))
san_objs = $(patsubst %.c,$(O)/san/obj/%.o,$(1))
host_objs = $(patsubst %.c,$(O)/hostobj/%.o,$(1))
fuzz_objs = $(patsubst %.c,$(O)/fuzzobj/%.o,$(1))

# $(eval $(call component,NAME,SOURCES)): a component's library sources (no
# main()) become $(O)/san/libNAME.a for unit tests and $(O)/fuzzlib/libNAME.a
# for fuzz targets.
define component
$(O)/san/lib$(1).a: $(call san_objs,$(2))
	$$(call msg,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
$(O)/fuzzlib/lib$(1).a: $(call fuzz_objs,$(2))
	$$(call msg,AR,$$@)
	$$(Q)mkdir -p $$(@D) && rm -f $$@ && ar rcs $$@ $$^
SAN_LIBS += $(O)/san/lib$(1).a
FUZZ_LIBS += $(O)/fuzzlib/lib$(1).a
endef

include $(sort $(wildcard */build.mk))

# Unit tests: tests/unit/<module>_test.c, linked against every sanitizer
# library (archives, so only what a test uses is pulled in).
UNIT_SRCS := $(wildcard tests/unit/*_test.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(O)/san/tests/%,$(UNIT_SRCS))
$(O)/san/tests/%: $(O)/san/obj/tests/unit/%.o $(O)/san/obj/tests/unit/t.o $(SAN_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) -o $@ $< $(O)/san/obj/tests/unit/t.o -Wl,--start-group $(SAN_LIBS) -Wl,--end-group -lpthread $(SAN_EXTRA_LDLIBS)

# Fuzz targets: tests/fuzz/fuzz_<x>.c, corpus in tests/fuzz/corpus/<x>/.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS += $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,$(FUZZ_SRCS))
$(O)/fuzz/%: $(O)/fuzzobj/tests/fuzz/%.o $(FUZZ_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(SAN_CC) $(FUZZ_FLAGS) -o $@ $< -Wl,--start-group $(FUZZ_LIBS) -Wl,--end-group -lpthread $(SAN_EXTRA_LDLIBS)

# Keep every built file: no "rm <intermediates>" after the last recipe, so
# `make check` really ends with the test summary line.
.SECONDARY:

.PHONY: all bins gen unit-build unit check check-build fuzz demo bench clean kernel
gen: $(GEN)
bins: $(BINS) $(HOST_TOOLS)
unit-build: $(UNIT_TESTS)
unit: unit-build
	$(Q)O=$(O) tests/run-all --only unit
fuzz: $(FUZZERS)
	$(Q)O=$(O) tests/fuzz/run
kernel:
	$(Q)toolchain/kernel/build.sh $(O)/kernel $(ARCH)
check-build: bins unit-build $(FUZZERS) kernel
check: check-build
	$(Q)O=$(O) tests/run-all
demo: bins kernel
	$(Q)O=$(O) scripts/demo.sh
bench: bins
	$(Q)O=$(O) scripts/bench.sh
clean:
	rm -rf $(O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
