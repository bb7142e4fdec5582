# -m 3584: RAM larger than the space below the 32-bit hole. vmm maps
# [0, 3 GiB) and the remaining 512 MiB from 4 GiB; the guest must boot, find
# more than 3 GiB in /proc/meminfo and a System RAM range above 4 GiB in
# /proc/iomem (so the e820 map really describes the high part).
# timeout: 300
. "$E2E_LIB/scenario.sh"
vmm_run g -m 3584 -k "$KERNEL_BZIMAGE" -i "$ASSETS/boot/initramfs.cpio.gz" -p "$GUEST_PARAMS"
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
kb=$(guest_value g memtotal_kb)
[ -n "$kb" ] && [ "$kb" -gt 3145728 ] || fail "guest MemTotal is '$kb' kB, want more than 3 GiB (3145728 kB)"
# e.g. "E2E-GUEST: ram=100000000-11fffffff": a range starting at or above 4 GiB.
grep -qE '^E2E-GUEST: ram=[0-9a-f]{9,}-' "$WORK/g.console" || fail "no System RAM range above 4 GiB in the guest's /proc/iomem"
