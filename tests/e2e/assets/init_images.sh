# Host-side assets for the init_* scenarios (guest-init, docs/INIT.md):
#   $ASSETS/init/root.sqfs        squashfs appliance root: busybox, our
#                                 build/guest/init as /sbin/init, /bin/app
#                                 (below), a service, /etc/passwd
#   $ASSETS/init/initramfs.cpio.gz  our init as /init, the cloud kernel's
#                                 virtio_mmio, virtio_blk, squashfs and loop
#                                 modules (+ dependencies, depmod'ed), and
#                                 root.sqfs as /root.sqfs
# /bin/app reports what it sees as "E2E-GUEST: KEY=VALUE" lines, then exits
# with the status given as its first argument.
# arch: x86_64 aarch64
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
command -v mksquashfs >/dev/null || { echo "init_images: mksquashfs missing (squashfs-tools)" >&2; exit 1; }
command -v depmod >/dev/null || { echo "init_images: depmod missing (kmod)" >&2; exit 1; }
[ -x "$O/guest/init" ] || { echo "init_images: $O/guest/init not built (make $O/guest/init)" >&2; exit 1; }
out=$ASSETS/init
mkdir -p "$out"

root=$out/root
guestfs_busybox "$root"
cp "$O/guest/init" "$root/sbin/init"
mkdir -p "$root/etc/init/services"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
echo "daemon:x:2:3:daemon:/:/bin/false" >>"$root/etc/passwd"
cat >"$root/bin/app" <<'APP'
#!/bin/sh
say() { echo "E2E-GUEST: $*"; }
say "app=started"
say "pid1=$(cat /proc/1/comm)"
say "pid1exe=$(readlink /proc/1/exe)"
say "argc=$# args=$(printf '%s|' "$@" | tr ' ' '_')"
say "greeting=$GREETING"
say "root=$(awk '$2 == "/" { r = $1 "," $3 "," substr($4, 1, 2) } END { print r }' /proc/mounts)"
say "kernel=$(uname -r)"
say "mounts=$(awk '{ printf "%s,", $2 }' /proc/mounts)"
say "session=$([ "$(cut -d' ' -f6 /proc/$$/stat)" = $$ ] && echo leader || echo no)"
say "stdout=$(readlink /proc/$$/fd/1)"
say "hostname=$(hostname)"
say "uid=$(id -u)"
say "lo=$(cat /sys/class/net/lo/operstate)"
say "modules=$(cut -d' ' -f1 /proc/modules 2>/dev/null | sort | tr '\n' ',')"
# The service started before the app; give it a moment to report.
i=0
while [ ! -e /run/svc-ran ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
say "service=$(cat /run/svc-ran 2>/dev/null)"
say "app=exiting"
exit "${1:-0}"
APP
chmod 755 "$root/bin/app"
printf 'exec=/bin/sh\nargs=-c "echo \\"$WHO\\" >/run/svc-ran"\nenv=WHO=svc-ok\n' \
	>"$root/etc/init/services/hello.conf"
# xz: both the appliance kernel (SQUASHFS_XZ) and Debian's have it.
mksquashfs "$root" "$out/root.sqfs" -noappend -quiet -all-root -comp xz >/dev/null
rm -rf "$root"

# The cloud-kernel initramfs is for the x86 cloud scenarios only.
[ "${E2E_ARCH:-x86_64}" = x86_64 ] || exit 0
ird=$out/initramfs
rm -rf "$ird"
mkdir -p "$ird/proc" "$ird/sys" "$ird/dev" "$ird/run" "$ird/tmp"
cp "$O/guest/init" "$ird/init"
cp "$out/root.sqfs" "$ird/root.sqfs"
kver=$(basename "$CLOUD_MODDIR")
md=$ird/lib/modules/$kver
mkdir -p "$md"
# One module per modprobe call: further names would be taken as parameters.
for p in $(for m in virtio_mmio virtio_blk squashfs loop; do modprobe -S "$kver" --show-depends "$m"; done |
		awk '$1 == "insmod" { print $2 }' | sort -u); do
	rel=${p#"$CLOUD_MODDIR"/}
	mkdir -p "$md/$(dirname "$rel")"
	cp "$p" "$md/$rel"
done
cp "$CLOUD_MODDIR/modules.order" "$CLOUD_MODDIR/modules.builtin" \
	"$CLOUD_MODDIR/modules.builtin.modinfo" "$md/" 2>/dev/null || true
# Debian's kernel lacks VIRTIO_MMIO_CMDLINE_DEVICES: its virtio_mmio driver
# finds vmm's windows through the ACPI DSDT (LNRO0005 devices).
depmod -b "$ird" "$kver"
for m in virtio_mmio virtio_blk squashfs loop; do
	grep -q "/$m.ko:" "$md/modules.dep" || { echo "init_images: $m missing from the initramfs modules.dep" >&2; exit 1; }
done
"$SRC/scripts/mkinitramfs.sh" "$ird" "$out/initramfs.cpio.gz"
rm -rf "$ird"
