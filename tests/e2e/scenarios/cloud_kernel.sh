# A distro kernel must boot too: Debian's cloud kernel bzImage (built-in
# 8250 console, everything else as modules) with the busybox initramfs.
# It needs ~60 s of guest time to reach /init in the nested machine.
# timeout: 480
. "$E2E_LIB/scenario.sh"
vmm_run g -k "$CLOUD_BZIMAGE" -i "$ASSETS/boot/initramfs.cpio.gz" -p "$GUEST_PARAMS"
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
ver=$(basename "$CLOUD_MODDIR")
k=$(guest_value g kernel)
[ "$k" = "$ver" ] || fail "guest runs kernel '$k', want the cloud kernel $ver"
