# guest-init as the initramfs's /init with the appliance kernel: it sees
# root=/dev/vda (vmm -r), waits for the virtio disk, mounts the squashfs
# read-only, empties the initramfs, switch_roots and execs itself as the
# real PID 1, which runs the app; vmm exits with the app's status.
# timeout: 300
. "$E2E_LIB/scenario.sh"
vmm_run g -k "$KERNEL_BZIMAGE" -i "$ASSETS/init/initramfs.cpio.gz" -r "$ASSETS/init/root.sqfs" \
	-p "$GUEST_PARAMS init.app=/bin/app init.args=23"
expect_line g 'init: root /dev/vda \(squashfs\) mounted read-only, switching to it'
expect_line g '^E2E-GUEST: app=exiting'
expect_rc g 23
[ "$(guest_value g pid1exe)" = /sbin/init ] || fail "PID 1 runs '$(guest_value g pid1exe)' after the switch, want /sbin/init"
[ "$(guest_value g root)" = "/dev/vda,squashfs,ro" ] || fail "/ is '$(guest_value g root)', want /dev/vda,squashfs,ro"
expect_line g 'init: power off \(status 23\)'
