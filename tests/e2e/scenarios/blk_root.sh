# `vmm -k vmlinux -r root.sqfs`: the appliance kernel mounts the read-only
# squashfs root from /dev/vda (root=/dev/vda ro, added by -r) and runs its
# /sbin/init (busybox init -> /etc/rcS). A write to / fails with EROFS (or
# EIO), so does a raw write to /dev/vda, and the image on the host (here:
# L1) is unchanged byte for byte. Then the same with an ext4 image as -r.
# timeout: 240
. "$E2E_LIB/scenario.sh"
cp "$ASSETS/blk/root.sqfs" "$WORK/root.sqfs"
before=$(sha256sum <"$WORK/root.sqfs" | cut -d' ' -f1)
vmm_run g -k "$KERNEL_VMLINUX" -r "$WORK/root.sqfs" -p "$GUEST_PARAMS e2e.blk=root"
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
expect_line g 'root=/dev/vda ro'
[ "$(guest_value g pid1)" = init ] || fail "PID 1 is '$(guest_value g pid1)', want busybox init"
[ "$(guest_value g pid1exe)" = /bin/busybox ] || fail "PID 1 runs '$(guest_value g pid1exe)', want /bin/busybox (the squashfs's /sbin/init)"
[ "$(guest_value g root)" = "/dev/root,squashfs,ro" ] ||
	fail "the guest's / is '$(guest_value g root)', want /dev/root,squashfs,ro"
[ "$(guest_value g marker)" = "$(cat "$ASSETS/blk/marker")" ] ||
	fail "/etc/e2e-marker in the guest is '$(guest_value g marker)', not this image's"
[ "$(guest_value g vda_ro)" = 1 ] || fail "the guest does not see /dev/vda as read-only (VIRTIO_BLK_F_RO)"
# Capacity in 512-byte sectors, rounded up as the device announces it.
size=$(wc -c <"$WORK/root.sqfs")
[ "$(guest_value g vda_sectors)" = $(( (size + 511) / 512 )) ] ||
	fail "guest sees $(guest_value g vda_sectors) sectors, image has $size bytes"
w=$(sed -n 's/^E2E-GUEST: rootwrite=//p' "$WORK/g.console" | tr -d '\r')
case $w in
"failed: Read-only file system"|"failed: I/O error"|"failed: Input/output error") ;;
*) fail "a write to / in the guest gave '$w', want EROFS or EIO" ;;
esac
d=$(sed -n 's/^E2E-GUEST: devwrite=//p' "$WORK/g.console" | tr -d '\r')
case $d in
failed:*) echo "raw write to /dev/vda in the guest: $d" ;;
*) fail "a raw write to /dev/vda in the guest gave '$d', want a failure" ;;
esac
after=$(sha256sum <"$WORK/root.sqfs" | cut -d' ' -f1)
[ "$before" = "$after" ] || fail "root.sqfs changed on the host: sha256 $before -> $after"
cmp "$ASSETS/blk/root.sqfs" "$WORK/root.sqfs" || fail "root.sqfs differs from the original after the run"
echo "root image unchanged: sha256 $after"

# -r with an ext4 image: the kernel detects the filesystem; it stays
# read-only and untouched too.
cp "$ASSETS/blk/root.ext4" "$WORK/root.ext4"
vmm_run e -k "$KERNEL_VMLINUX" -r "$WORK/root.ext4" -p "$GUEST_PARAMS e2e.blk=root"
expect_line e '^E2E-GUEST: init=done'
expect_rc e 0
[ "$(guest_value e root)" = "/dev/root,ext4,ro" ] || fail "-r root.ext4: the guest's / is '$(guest_value e root)', want /dev/root,ext4,ro"
w=$(sed -n 's/^E2E-GUEST: rootwrite=//p' "$WORK/e.console" | tr -d '\r')
case $w in
"failed: Read-only file system"|"failed: I/O error"|"failed: Input/output error") ;;
*) fail "-r root.ext4: a write to / gave '$w', want EROFS or EIO" ;;
esac
cmp "$ASSETS/blk/root.ext4" "$WORK/root.ext4" || fail "root.ext4 changed on the host although it was the read-only root"
echo "ext4 root image unchanged"
