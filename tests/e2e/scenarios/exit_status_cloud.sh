# The exit port with a distro kernel: Debian's cloud kernel guest writes 201
# to the port announced as appvm.exit_port=; vmm exits with 201.
# timeout: 480
. "$E2E_LIB/scenario.sh"
vmm_run g -k "$CLOUD_BZIMAGE" -i "$ASSETS/boot/initramfs.cpio.gz" -p "$GUEST_PARAMS e2e.exit=201"
expect_line g '^E2E-GUEST: exit=201 port=0x510'
grep -q '^E2E-GUEST: init=done' "$WORK/g.console" && fail "guest kept running after writing the exit port"
expect_rc g 201
