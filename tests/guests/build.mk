# Tiny hand-written test guests: small static ELF64 "vmlinux" images that run
# natively on /dev/kvm (tests/native/kvm_guests.sh, scripts/bench/vmm.sh).
#
# Works both included from the top-level Makefile and standalone:
#   make -f tests/guests/build.mk O=build test-guests
# Output: $(O)/guests/NAME.elf. Built with the host gcc (freestanding; no libc
# is linked, so musl or glibc does not matter), no SSE, no red zone.

O ?= build
HOST_CC ?= gcc
Q ?= @

GUEST_OUT := $(O)/guests
GUEST_NAMES := hello i8042 exitport boottime halt triplefault bench uart echo smp
# virtio_blk: drives virtio-blk through the ring by hand (tests/native/kvm_virtio.sh).
GUEST_NAMES += virtio_blk
# crashrec: checksummed records + FLUSH, for tests/native/crash_consistency.sh.
GUEST_NAMES += crashrec
# hostile: one attack on vmm's devices per boot, for tests/native/hostile.sh.
GUEST_NAMES += hostile
HOSTILE_OBJS := hostile hostile_ring hostile_mmio hostile_blk hostile_vsock hostile_legacy hostile_net
# hello-high: the hello guest loaded at 256 MiB, for "-m too small" tests.
GUEST_ELFS := $(patsubst %,$(GUEST_OUT)/%.elf,$(GUEST_NAMES)) $(GUEST_OUT)/hello-high.elf
GUEST_CFLAGS := -std=gnu11 -Os -Wall -Wextra -Wno-unused-parameter -Wstrict-prototypes \
	-Wmissing-prototypes -ffreestanding -fno-builtin -fno-pic -fno-pie -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fcf-protection=none -fno-jump-tables
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,tests/guests/guest.ld -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -Wl,-z,noexecstack

.PHONY: test-guests
test-guests: $(GUEST_ELFS)

$(GUEST_OUT)/obj/%.o: tests/guests/%.c tests/guests/lib.h tests/guests/vblk.h tests/guests/hostile.h \
		tests/guests/hostile_target.h tests/guests/hostile_cases.h
	$(call msg,GUESTCC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/obj/smp_tramp.o: tests/guests/smp_tramp.S tests/guests/smp.h
	$(call msg,GUESTAS,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) -c $< -o $@

$(GUEST_OUT)/obj/smp.o: tests/guests/smp.h

$(GUEST_OUT)/obj/start.o: tests/guests/start.S
	$(call msg,GUESTAS,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) -c $< -o $@

$(GUEST_OUT)/obj/start-marker.o: tests/guests/start.S
	$(call msg,GUESTAS,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) -DBOOT_MARKER_FIRST -c $< -o $@

# guest_link OUT START OBJS BASE: OBJS are names in $(GUEST_OUT)/obj/.
define guest_link
$(1): $(GUEST_OUT)/obj/$(2).o $(patsubst %,$(GUEST_OUT)/obj/%.o,$(3)) $(GUEST_OUT)/obj/lib.o tests/guests/guest.ld
	$$(call msg,GUESTLD,$$@)
	$$(Q)$(HOST_CC) $(GUEST_LDFLAGS) -Wl,--defsym=GUEST_BASE=$(4) -o $$@ \
		$(GUEST_OUT)/obj/$(2).o $(patsubst %,$(GUEST_OUT)/obj/%.o,$(3)) $(GUEST_OUT)/obj/lib.o
endef
$(foreach g,hello i8042 exitport halt triplefault uart echo,\
	$(eval $(call guest_link,$(GUEST_OUT)/$(g).elf,start,$(g),0x200000)))
$(foreach g,boottime bench,\
	$(eval $(call guest_link,$(GUEST_OUT)/$(g).elf,start-marker,$(g),0x200000)))
$(eval $(call guest_link,$(GUEST_OUT)/smp.elf,start,smp smp_tramp,0x200000))
$(eval $(call guest_link,$(GUEST_OUT)/hello-high.elf,start,hello,0x10000000))
$(eval $(call guest_link,$(GUEST_OUT)/virtio_blk.elf,start,virtio_blk vblk,0x200000))
$(eval $(call guest_link,$(GUEST_OUT)/crashrec.elf,start,crashrec vblk,0x200000))
$(eval $(call guest_link,$(GUEST_OUT)/hostile.elf,start,$(HOSTILE_OBJS),0x200000))
