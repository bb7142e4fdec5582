# The arm64 appliance Image boots under vmm to /init from the device tree
# vmm built (vmm/arch/aarch64/devtree.c): the kernel finds RAM at
# 0x80000000, the GICv3, the architected timer (its clock event device),
# PSCI through hvc, and the 16550 of the port window as its console (ttyS0);
# the guest's `reboot -f` (PSCI SYSTEM_RESET, KVM_EXIT_SYSTEM_EVENT) ends vmm
# with status 0. Prints the guest's time from its first instruction to
# `Run /init` and vmm's wall time (docs/ARM64.md).
# arch: aarch64
# timeout: 300
. "$E2E_LIB/scenario.sh"
vmm_run g -k "$KERNEL_BZIMAGE" -i "$ASSETS/boot/initramfs.cpio.gz" -p "$GUEST_PARAMS"
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
case $(guest_value g ram) in
80000000-*) ;;
*) fail "guest RAM '$(guest_value g ram)', want it from 0x80000000" ;;
esac
expect_line g 'GICv3: '
expect_line g 'psci: PSCIv[0-9.]+ detected'
expect_line g 'arch_timer: cp15 timer'
expect_line g 'ttyS0 at MMIO 0x3f8'
ce=$(guest_value g clockevent)
[ "$ce" = arch_sys_timer ] || fail "guest clock event device '$ce', want arch_sys_timer"
t=$(sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' "$WORK/g.console" | head -n 1)
[ -n "$t" ] || fail "no 'Run /init' line on the console"
echo "arm64 L2: exec -> Run /init at $t s of guest time"
