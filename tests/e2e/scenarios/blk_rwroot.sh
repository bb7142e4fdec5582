# --rwroot: a writable ext4 root (root=/dev/vda rw). The guest boots into
# its /sbin/init, writes a file on /, syncs and remounts read-only; after
# vmm exits the host (here: L1) mounts the image and finds the file.
# timeout: 240
. "$E2E_LIB/scenario.sh"
cp "$ASSETS/blk/root.ext4" "$WORK/root.ext4"
word=rw$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
vmm_run g -k "$KERNEL_VMLINUX" --rwroot "$WORK/root.ext4" -p "$GUEST_PARAMS e2e.blk=rwroot e2e.word=$word"
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
expect_line g 'root=/dev/vda rw'
[ "$(guest_value g pid1exe)" = /bin/busybox ] || fail "PID 1 runs '$(guest_value g pid1exe)', want /bin/busybox"
[ "$(guest_value g root)" = "/dev/root,ext4,rw" ] || fail "the guest's / is '$(guest_value g root)', want /dev/root,ext4,rw"
[ "$(guest_value g disk_vda)" = "32768,0" ] || fail "vda is '$(guest_value g disk_vda)' (sectors,ro), want 32768,0"
[ "$(guest_value g rwwrite)" = ok ] || fail "writing to / failed: $(sed -n 's/^E2E-GUEST: rwwrite=//p' "$WORK/g.console")"
[ "$(guest_value g remount)" = ok ] || fail "remounting / read-only failed"
if ! grep -q '^loop ' /proc/modules && [ ! -e /dev/loop-control ]; then
	[ -f "$ASSETS/blk/loop.ko" ] || fail "no loop driver on the host to check root.ext4"
	insmod "$ASSETS/blk/loop.ko" || fail "insmod loop.ko failed"
fi
mkdir -p "$WORK/mnt"
mount -t ext4 -o loop,ro "$WORK/root.ext4" "$WORK/mnt" || fail "the host cannot mount root.ext4"
got=$(cat "$WORK/mnt/e2e-rw.txt" 2>/dev/null)
umount "$WORK/mnt"
[ "$got" = "$word" ] || fail "/e2e-rw.txt in root.ext4 on the host holds '$got', want '$word'"
echo "root.ext4 on the host: /e2e-rw.txt=$got"
