# guest-init as the initramfs's /init with Debian's cloud kernel (drivers as
# modules). init.modules= loads them from /lib/modules/$(uname -r),
# dependencies first as modules.dep says (virtio_ring, virtio, then
# virtio_mmio and virtio_blk), passing NAME.param= words from the command
# line; init waits for root=, mounts the squashfs read-only, switch_roots and
# runs the app there; vmm exits with the app's status.
#  1. root=/dev/vda (vmm -r). Debian's kernel is built without
#     VIRTIO_MMIO_CMDLINE_DEVICES: its virtio_mmio driver finds vmm's
#     windows in the ACPI DSDT (--no-rng: fewer devices to probe).
#  2. root=/root.sqfs: an image inside the initramfs, attached to a loop
#     device (the loop module), no disk at all.
# timeout: 600
. "$E2E_LIB/scenario.sh"
vmm_run v -k "$CLOUD_BZIMAGE" -i "$ASSETS/init/initramfs.cpio.gz" -r "$ASSETS/init/root.sqfs" --no-rng \
	-p "$GUEST_PARAMS init.modules=virtio_mmio,virtio_blk,squashfs init.app=/bin/app init.args=42"
c=$WORK/v.console
expect_line v 'virtio_mmio.device=4K@0xd0000000:5'
expect_line v 'init: module virtio_ring: loading /lib/modules/[^ ]*/kernel/drivers/virtio/virtio_ring.ko'
expect_line v 'init: module virtio_blk: loading'
expect_line v 'init: module squashfs: loading'
# Dependencies first: virtio_ring, then virtio, then virtio_mmio.
ring=$(grep -n 'init: module virtio_ring: loading' "$c" | head -n 1 | cut -d: -f1)
vio=$(grep -n 'init: module virtio: loading' "$c" | head -n 1 | cut -d: -f1)
mmio=$(grep -n 'init: module virtio_mmio: loading' "$c" | head -n 1 | cut -d: -f1)
[ -n "$ring" ] && [ -n "$vio" ] && [ -n "$mmio" ] && [ "$ring" -lt "$vio" ] && [ "$vio" -lt "$mmio" ] ||
	fail "modules not loaded dependencies first (virtio_ring line $ring, virtio $vio, virtio_mmio $mmio)"
grep -q 'init: module .* failed' "$c" && fail "a module failed to load"
expect_line v 'init: root /dev/vda \(squashfs\) mounted read-only, switching to it'
expect_line v '^E2E-GUEST: app=exiting'
expect_rc v 42
ver=$(basename "$CLOUD_MODDIR")
[ "$(guest_value v kernel)" = "$ver" ] || fail "guest runs kernel '$(guest_value v kernel)', want $ver"
[ "$(guest_value v root)" = "/dev/vda,squashfs,ro" ] || fail "/ is '$(guest_value v root)', want /dev/vda,squashfs,ro"
[ "$(guest_value v pid1exe)" = /sbin/init ] || fail "PID 1 runs '$(guest_value v pid1exe)' after the switch"
for m in virtio_mmio virtio_blk virtio_ring virtio squashfs; do
	case ",$(guest_value v modules)" in *",$m,"*) ;; *) fail "module $m not loaded: $(guest_value v modules)" ;; esac
done

vmm_run l -k "$CLOUD_BZIMAGE" -i "$ASSETS/init/initramfs.cpio.gz" \
	-p "$GUEST_PARAMS init.modules=loop,squashfs root=/root.sqfs init.app=/bin/app init.args=43"
expect_line l 'init: module loop: loading'
expect_line l 'init: root=/root.sqfs attached to /dev/loop[0-9]+ \(read-only\)'
expect_line l 'init: root /dev/loop[0-9]+ \(squashfs\) mounted read-only, switching to it'
expect_line l '^E2E-GUEST: app=exiting'
expect_rc l 43
case "$(guest_value l root)" in /dev/loop*,squashfs,ro) ;; *) fail "/ is '$(guest_value l root)', want the loop-mounted squashfs" ;; esac
