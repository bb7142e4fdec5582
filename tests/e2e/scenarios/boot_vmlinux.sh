# The appliance kernel as an ELF vmlinux (PT_LOAD segments, 64-bit entry)
# with an initramfs: the guest's /init runs, prints its marker and resets the
# VM through the i8042 (reboot=k); vmm exits 0.
# timeout: 240
. "$E2E_LIB/scenario.sh"
vmm_run g -k "$KERNEL_VMLINUX" -i "$ASSETS/boot/initramfs.cpio.gz" -p "$GUEST_PARAMS"
expect_line g '^E2E-GUEST: init=started'
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
