# The exit port: vmm announces appvm.exit_port=0x510 on the guest command
# line; a guest that writes 37 there ends the VM and vmm exits with 37.
# The guest is the appliance kernel (what guest-init runs on), whose user
# space reaches the port through ioperm(2).
# arch: x86_64 aarch64
# timeout: 240
. "$E2E_LIB/scenario.sh"
vmm_run g -k "$KERNEL_BZIMAGE" -i "$ASSETS/boot/initramfs.cpio.gz" -p "$GUEST_PARAMS e2e.exit=37"
expect_line g '^E2E-GUEST: exit=37 port=0x510'
grep -q 'CONFIG_X86_IOPL_IOPERM' "$WORK/g.console" &&
	fail "the appliance kernel has no ioperm(2) (CONFIG_X86_IOPL_IOPERM=y missing in toolchain/kernel/appliance.config): guest user space cannot reach the exit port"
grep -q '^E2E-GUEST: init=done' "$WORK/g.console" && fail "guest kept running after writing the exit port"
expect_rc g 37
