# -c 2: both vCPUs come up (MP table, APIC IDs): the guest sees 2 processors
# in /proc/cpuinfo and CPUs 0-1 online.
# arch: x86_64 aarch64
# timeout: 300
. "$E2E_LIB/scenario.sh"
vmm_run g -c 2 -k "$KERNEL_BZIMAGE" -i "$ASSETS/boot/initramfs.cpio.gz" -p "$GUEST_PARAMS"
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
cpus=$(guest_value g cpus)
[ "$cpus" = 2 ] || fail "guest sees '$cpus' processors in /proc/cpuinfo, want 2"
online=$(guest_value g online)
[ "$online" = 0-1 ] || fail "guest has CPUs '$online' online, want 0-1"
