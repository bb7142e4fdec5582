# The appliance kernel as a bzImage (setup header, protected-mode code at
# its load address, 64-bit entry) with an initramfs: /init runs, prints its
# marker and resets the VM; vmm exits 0.
# timeout: 240
. "$E2E_LIB/scenario.sh"
vmm_run g -k "$KERNEL_BZIMAGE" -i "$ASSETS/boot/initramfs.cpio.gz" -p "$GUEST_PARAMS"
expect_line g '^E2E-GUEST: init=started'
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
