# Host-side asset for the blk_cloud scenario: the Debian cloud kernel reads
# a virtio-blk disk through its own virtio_mmio and virtio_blk modules.
#   $ASSETS/blk_cloud/initramfs.cpio.gz  busybox and the cloud kernel's virtio
#       modules (+ deps, in load order); /init loads them, waits for /dev/vda and reports what
#       it reads as "E2E-GUEST: KEY=VALUE" lines, then resets the VM
#   $ASSETS/blk_cloud/disk.img  4 MiB + 100 bytes: a marker in sector 0, a
#       100-byte tail marker in the partial last sector, random data between
# The cloud kernel has no VIRTIO_MMIO_CMDLINE_DEVICES: its virtio_mmio driver
# finds vmm's windows through the ACPI DSDT (LNRO0005 devices).
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
out=$ASSETS/blk_cloud
root=$out/root
mkdir -p "$out"
guestfs_busybox "$root"
# The distro modules in dependency order.
guestfs_cloud_modules "$root" virtio_mmio virtio_blk virtio_rng || exit 1

cat >"$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "E2E-GUEST: $*"; }
say "init=started"
say "kernel=$(uname -r)"
devs=
for a in $(cat /proc/cmdline); do
	case $a in virtio_mmio.device=*) devs="$devs,${a#virtio_mmio.device=}" ;; esac
done
devs=${devs#,}
say "devices=$devs"
for m in $(cat /lib/modules/order); do
	insmod "/lib/modules/$m" || say "error=insmod $m failed"
done
say "modules=$(cut -d' ' -f1 /proc/modules | sort | tr '\n' ',')"
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
if [ -b /dev/vda ]; then
	n=$(cat /sys/block/vda/size)
	say "vda_sectors=$n"
	say "vda_ro=$(cat /sys/block/vda/ro)"
	say "sector0=$(dd if=/dev/vda bs=512 count=1 2>/dev/null | tr -d '\000' | head -c 64)"
	say "last_bytes=$(dd if=/dev/vda bs=512 skip=$((n - 1)) count=1 2>/dev/null | wc -c)"
	say "last_nonzero=$(dd if=/dev/vda bs=512 skip=$((n - 1)) count=1 2>/dev/null | tr -d '\000' | wc -c)"
	say "last_text=$(dd if=/dev/vda bs=512 skip=$((n - 1)) count=1 2>/dev/null | tr -d '\000' | head -c 64)"
	say "vda_sha256=$(sha256sum </dev/vda | cut -d' ' -f1)"
else
	say "error=no /dev/vda after 20 s"
	dmesg | grep -iE 'virtio|appvm|vda' | tail -n 20 | sed 's/^/E2E-GUEST: dmesg=/'
fi
say "rng_current=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
say "init=done"
reboot -f
INIT
chmod 755 "$root/init"
"$SRC/scripts/mkinitramfs.sh" "$root" "$out/initramfs.cpio.gz"
rm -rf "$root"

# The disk: text markers at both ends, random data between.
word=cloud-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
echo "$word" >"$out/word"
{
	printf 'appvm-cloud-disk-%s' "$word" | head -c 512
	head -c $((512 - 17 - ${#word})) /dev/zero
	head -c $((4 * 1024 * 1024 - 512)) /dev/urandom
	printf 'tail-%s' "$word"
	head -c $((100 - 5 - ${#word})) /dev/zero | tr '\0' 't'
} >"$out/disk.img"
