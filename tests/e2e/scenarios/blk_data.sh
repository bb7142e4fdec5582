# A writable ext4 data disk: `vmm -k vmlinux -r root.sqfs -d data.img`; the
# guest mounts /dev/vdb, writes two files, syncs and unmounts. After vmm
# exits, the host (here: L1) mounts data.img itself and finds both files with
# the contents the guest reported.
# arch: x86_64 aarch64
# timeout: 240
. "$E2E_LIB/scenario.sh"
cp "$ASSETS/blk/data.img" "$WORK/data.img"
# A third, read-only disk: -d disks follow the root in order (vdb, vdc).
head -c 1048576 /dev/zero >"$WORK/extra.img"
word=w$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
vmm_run g -k "$KERNEL_VMLINUX" -r "$ASSETS/blk/root.sqfs" -d "$WORK/data.img" -d "$WORK/extra.img,ro" \
	-p "$GUEST_PARAMS e2e.blk=data e2e.word=$word"
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
[ "$(guest_value g disk_vda)" = "$(( ($(wc -c <"$ASSETS/blk/root.sqfs") + 511) / 512 )),1" ] ||
	fail "vda is '$(guest_value g disk_vda)' (sectors,ro), want the read-only root"
[ "$(guest_value g disk_vdb)" = "32768,0" ] || fail "vdb is '$(guest_value g disk_vdb)' (sectors,ro), want data.img: 32768,0"
[ "$(guest_value g disk_vdc)" = "2048,1" ] || fail "vdc is '$(guest_value g disk_vdc)' (sectors,ro), want extra.img,ro: 2048,1"
[ "$(guest_value g vdb_ro)" = 0 ] || fail "the guest sees /dev/vdb as read-only ('$(guest_value g vdb_ro)')"
[ "$(guest_value g umount)" = ok ] || fail "the guest did not mount, write and unmount /dev/vdb"
sum=$(guest_value g pattern_sha256)
[ "$(guest_value g pattern_bytes)" = 1048576 ] || fail "the guest wrote $(guest_value g pattern_bytes) pattern bytes, want 1048576"

# Host side: the raw image holds the word (hello.txt's data block) ...
grep -q "$word" "$WORK/data.img" || fail "data.img on the host does not contain the word the guest wrote"
# ... and mounts as ext4 with both files intact.
if ! grep -q '^loop ' /proc/modules && [ ! -e /dev/loop-control ]; then
	[ -f "$ASSETS/blk/loop.ko" ] || fail "no loop driver on the host to check data.img"
	insmod "$ASSETS/blk/loop.ko" || fail "insmod loop.ko failed"
fi
mkdir -p "$WORK/mnt"
mount -t ext4 -o loop,ro "$WORK/data.img" "$WORK/mnt" || fail "the host cannot mount data.img as ext4"
got_word=$(cat "$WORK/mnt/hello.txt")
got_sum=$(sha256sum <"$WORK/mnt/pattern" | cut -d' ' -f1)
umount "$WORK/mnt"
[ "$got_word" = "$word" ] || fail "hello.txt on the host holds '$got_word', want '$word'"
[ "$got_sum" = "$sum" ] || fail "pattern on the host has sha256 $got_sum, the guest wrote $sum"
echo "data.img on the host: hello.txt=$got_word, pattern sha256 $got_sum"
