# Host-side asset for acpi_cloud: an initramfs for the Debian cloud kernel
# that loads only the distro's own virtio modules (no helper module, no
# virtio_mmio.device= support in that kernel): the virtio-mmio windows must
# be found through vmm's ACPI DSDT ("LNRO0005" devices).
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
out=$ASSETS/acpi_cloud
root=$out/root
mkdir -p "$out"
guestfs_busybox "$root"
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
say "cpus=$(grep -c '^processor' /proc/cpuinfo)"
say "acpi=$(ls /sys/firmware/acpi/tables 2>/dev/null | tr '\n' ',')"
for m in $(cat /lib/modules/order); do
	insmod "/lib/modules/$m" || say "error=insmod $m failed"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
if [ -b /dev/vda ]; then
	say "sector0=$(dd if=/dev/vda bs=512 count=1 2>/dev/null | tr -d '\000' | head -c 64)"
else
	say "error=no /dev/vda"
fi
say "lnro=$(ls /sys/bus/platform/devices | grep -c LNRO0005)"
say "hwrng=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
say "init=done"
reboot -f
INIT
chmod +x "$root/init"
printf 'appvm-acpi-disk' | dd of="$out/disk.img" bs=1M count=1 conv=sync 2>/dev/null
"$SRC/scripts/mkinitramfs.sh" "$root" "$out/initramfs.cpio.gz"
rm -rf "$root"
