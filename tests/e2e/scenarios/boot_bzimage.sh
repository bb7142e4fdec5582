# The appliance kernel as a bzImage (setup header, protected-mode code at
# its load address, 64-bit entry; its xz payload unpacked by vmm) with an
# initramfs: /init runs, prints its marker and resets the VM; vmm exits 0.
# Its timer is the LAPIC in TSC-deadline mode: vmm has no PIT by default.
# timeout: 240
. "$E2E_LIB/scenario.sh"
vmm_run g -k "$KERNEL_BZIMAGE" -i "$ASSETS/boot/initramfs.cpio.gz" -p "$GUEST_PARAMS"
expect_line g '^E2E-GUEST: init=started'
expect_line g '^E2E-GUEST: init=done'
ce=$(guest_value g clockevent)
[ "$ce" = lapic-deadline ] || fail "guest clock event device '$ce', expected lapic-deadline (TSC-deadline timer, no PIT)"
expect_rc g 0
