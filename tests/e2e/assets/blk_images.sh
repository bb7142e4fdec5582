# Host-side asset for the blk_* scenarios (virtio-blk and virtio-rng):
#   $ASSETS/blk/root.sqfs   squashfs appliance root: busybox, /sbin/init is
#                           busybox init, /etc/inittab runs /etc/rcS, which
#                           does what e2e.blk=MODE on the kernel command line
#                           asks and reports "E2E-GUEST: KEY=VALUE" lines,
#                           then resets the VM (reboot -f; reboot=k).
#   $ASSETS/blk/root.ext4   the same tree as a 16 MiB ext4 image (--rwroot)
#   $ASSETS/blk/marker      a random word also stored in the squashfs as
#                           /etc/e2e-marker: proves the guest's / is this image
#   $ASSETS/blk/data.img    16 MiB empty ext4 filesystem (label appvmdata)
#   $ASSETS/blk/loop.ko     the cloud kernel's loop driver, so the L1 machine
#                           can mount data.img and read the guest's files
# MODEs of /etc/rcS:
#   root        report PID 1, the root mount, the marker; try to write to /
#               and to /dev/vda (both must fail)
#   data        mount /dev/vdb (ext4), write hello.txt (e2e.word=WORD) and a
#               pattern file, sync, unmount, report the pattern's sha256
# Every mode also reports each /dev/vdX's size and read-only flag.
#   rwroot      write /e2e-rw.txt (e2e.word=WORD) on the writable root, sync,
#               remount / read-only
#   rng         read /dev/hwrng twice, report rng_current and the bytes
#   rules       the workload behind every device policy rule (policy_rules):
#               the data mode's writes + sync, a discard of /dev/vdb, two
#               /dev/hwrng reads; reports rules=ok when all worked
#   bench       16 MiB of O_DIRECT reads and writes on /dev/vdb at 4 KiB and
#               64 KiB blocks: bench_{read,write}_{4096,65536}=MiB/s
#               (scripts/bench/sandbox.sh)
#   busy        report busy=started, then read /dev/vda (page cache dropped
#               each round) and /dev/hwrng in a loop until the VM ends
# arch: x86_64 aarch64
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
command -v mksquashfs >/dev/null || { echo "blk_images: mksquashfs missing (squashfs-tools)" >&2; exit 1; }
command -v mkfs.ext4 >/dev/null || { echo "blk_images: mkfs.ext4 missing (e2fsprogs)" >&2; exit 1; }
out=$ASSETS/blk
root=$out/root
mkdir -p "$out"
guestfs_busybox "$root"
ln -s ../bin/busybox "$root/sbin/init"
marker=sqfs-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
echo "$marker" >"$out/marker"
echo "$marker" >"$root/etc/e2e-marker"
# Busybox init reads /etc/inittab; sysinit runs before anything else and
# init waits for it. rcS never returns (reboot -f).
printf '::sysinit:/etc/rcS\n' >"$root/etc/inittab"
cat >"$root/etc/rcS" <<'RCS'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
say() { echo "E2E-GUEST: $*"; }
mode= word=
for a in $(cat /proc/cmdline); do
	case $a in
	e2e.blk=*) mode=${a#e2e.blk=} ;;
	e2e.word=*) word=${a#e2e.word=} ;;
	esac
done
say "init=started"
say "pid1=$(cat /proc/1/comm)"
say "pid1exe=$(readlink /proc/1/exe)"
say "root=$(awk '$2 == "/" { print $1 "," $3 "," substr($4, 1, 2) }' /proc/mounts | tail -n 1)"
say "marker=$(cat /etc/e2e-marker)"
say "vda_ro=$(cat /sys/block/vda/ro 2>/dev/null)"
say "vda_sectors=$(cat /sys/block/vda/size 2>/dev/null)"
# Every disk, in name order: disk_vdX=SECTORS,RO
for d in /sys/block/vd*; do
	[ -e "$d/size" ] && say "disk_${d##*/}=$(cat "$d/size"),$(cat "$d/ro")"
done
case $mode in
root)
	# A write to the read-only root must fail with EROFS (or EIO).
	if touch /e2e-write-test 2>/tmp/err; then
		say "rootwrite=succeeded"
	else
		say "rootwrite=failed: $(sed 's/.*: //' /tmp/err)"
	fi
	# The raw device too: the kernel knows it is read-only (VIRTIO_BLK_F_RO).
	if dd if=/dev/zero of=/dev/vda bs=4096 count=1 conv=fsync 2>/tmp/err; then
		say "devwrite=succeeded"
	else
		say "devwrite=failed: $(tail -n 1 /tmp/err | sed 's/.*: //')"
	fi
	;;
data)
	say "vdb_ro=$(cat /sys/block/vdb/ro 2>/dev/null)"
	mkdir -p /tmp/data
	if mount -t ext4 /dev/vdb /tmp/data 2>/tmp/err; then
		echo "$word" >/tmp/data/hello.txt
		# 1 MiB: 256 data blocks, several requests' worth.
		yes "appvm e2e pattern $word" | head -c 1048576 >/tmp/data/pattern
		sync
		say "pattern_sha256=$(sha256sum </tmp/data/pattern | cut -d' ' -f1)"
		say "pattern_bytes=$(wc -c </tmp/data/pattern)"
		if umount /tmp/data; then say "umount=ok"; else say "umount=failed"; fi
	else
		say "mount=failed: $(cat /tmp/err)"
	fi
	;;
rwroot)
	# --rwroot: / is the writable ext4 image. Write, sync, and leave it
	# clean (read-only remount) so the host can mount it afterwards.
	if echo "$word" >/e2e-rw.txt 2>/tmp/err && sync; then
		say "rwwrite=ok"
	else
		say "rwwrite=failed: $(cat /tmp/err)"
	fi
	# (/tmp/err is on the tmpfs: nothing on / stays open for writing.)
	if mount -o remount,ro / 2>/tmp/err; then say "remount=ok"; else say "remount=failed: $(cat /tmp/err)"; fi
	;;
rng)
	say "rng_current=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
	say "rng_available=$(cat /sys/class/misc/hw_random/rng_available 2>/dev/null | tr ' ' ',')"
	a=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
	b=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
	say "rng1=${a:-none}"
	say "rng2=${b:-none}"
	;;
rules)
	ok=ok
	mkdir -p /tmp/data
	if mount -t ext4 /dev/vdb /tmp/data 2>/tmp/err; then
		yes "appvm rules $word" | head -c 1048576 >/tmp/data/pattern
		sync
		cmp -s /tmp/data/pattern /dev/null && ok=write
		umount /tmp/data || ok=umount
	else
		ok=mount
	fi
	# One block no request has touched yet (the device's first request
	# on a page takes pwrite64, later ones its mapping of the image):
	# the last of vdb's 4096, written alone.
	dd if=/dev/zero of=/dev/vdb bs=4096 count=1 seek=4095 oflag=direct 2>/dev/null || ok=rawwrite
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/vda of=/dev/null bs=65536 2>/dev/null || ok=read
	blkdiscard /dev/vdb 2>/tmp/err || ok=discard
	a=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
	[ ${#a} -eq 64 ] || ok=hwrng
	say "rules=$ok"
	;;
bench)
	up() { cut -d' ' -f1 /proc/uptime; }
	for bs in 4096 65536; do
		n=$((16777216 / bs))
		t0=$(up)
		dd if=/dev/vdb of=/dev/null bs=$bs count=$n iflag=direct 2>/dev/null
		t1=$(up)
		dd if=/dev/zero of=/dev/vdb bs=$bs count=$n oflag=direct 2>/dev/null
		t2=$(up)
		say "bench_read_$bs=$(awk "BEGIN{d = $t1 - $t0; if (d < 0.01) d = 0.01; printf \"%.1f\", 16 / d}")"
		say "bench_write_$bs=$(awk "BEGIN{d = $t2 - $t1; if (d < 0.01) d = 0.01; printf \"%.1f\", 16 / d}")"
	done
	;;
shrink)
	# vdb (1 MiB) read whole twice with O_DIRECT: every 4 KiB block
	# reaches the device twice, the second time served from its mapping
	# of the image. Then the host shrinks the image to 4 KiB under the
	# running VM: block 16 must fail with EIO, block 0 still read.
	if dd if=/dev/vdb of=/dev/null bs=4096 iflag=direct 2>/dev/null &&
	   dd if=/dev/vdb of=/dev/null bs=4096 iflag=direct 2>/dev/null; then
		say "shrink=ready"
		i=0
		while [ $i -lt 120 ] && dd if=/dev/vdb of=/dev/null bs=4096 skip=16 count=1 iflag=direct 2>/dev/null; do
			sleep 1
			i=$((i + 1))
		done
		if [ $i -lt 120 ]; then say "shrink_tail=eio"; else say "shrink_tail=still_read"; fi
		if dd if=/dev/vdb of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null; then
			say "shrink_head=ok"
		else
			say "shrink_head=failed"
		fi
	else
		say "shrink=readfail"
	fi
	;;
busy)
	say "busy=started"
	while :; do
		dd if=/dev/vda of=/dev/null bs=65536 2>/dev/null
		echo 3 >/proc/sys/vm/drop_caches
		dd if=/dev/hwrng of=/dev/null bs=512 count=8 2>/dev/null
	done
	;;
*)
	say "error=unknown e2e.blk mode '$mode'"
	;;
esac
say "init=done"
reboot -f
RCS
chmod 755 "$root/etc/rcS"
rm -f "$out/root.sqfs"
mksquashfs "$root" "$out/root.sqfs" -comp xz -all-root -noappend -quiet >/dev/null
# The same tree as a writable ext4 root for --rwroot.
rm -f "$out/root.ext4"
truncate -s 16M "$out/root.ext4"
mkfs.ext4 -q -F -L appvmroot -d "$root" "$out/root.ext4"
rm -rf "$root"

rm -f "$out/data.img"
truncate -s 16M "$out/data.img"
mkfs.ext4 -q -F -L appvmdata "$out/data.img"

if [ -n "${CLOUD_MODDIR:-}" ] && [ -f "$CLOUD_MODDIR/kernel/drivers/block/loop.ko" ]; then
	cp "$CLOUD_MODDIR/kernel/drivers/block/loop.ko" "$out/loop.ko"
fi
