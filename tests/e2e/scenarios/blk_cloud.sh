# The Debian cloud kernel (virtio_mmio and virtio_blk as modules, loaded by
# the initramfs's /init) reads a virtio-blk disk: the whole of it, through
# the distro's own drivers. The image is 4 MiB + 100 bytes, so the last
# sector is partial: the guest must see it zero-padded (capacity rounded up)
# and never be able to grow the file.
# The cloud kernel lacks VIRTIO_MMIO_CMDLINE_DEVICES; the initramfs declares
# the windows vmm announces with a small helper module (see
# tests/e2e/assets/blk_cloud.sh).
# timeout: 480
. "$E2E_LIB/scenario.sh"
A=$ASSETS/blk_cloud
cp "$A/disk.img" "$WORK/disk.img"
word=$(cat "$A/word")
size=$(wc -c <"$WORK/disk.img")
vmm_run g -k "$CLOUD_BZIMAGE" -i "$A/initramfs.cpio.gz" -d "$WORK/disk.img" -p "$GUEST_PARAMS"
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
err=$(sed -n 's/^E2E-GUEST: error=//p' "$WORK/g.console" | head -n 3 | tr -d '\r')
[ -z "$err" ] || fail "guest: $err"
ver=$(basename "$CLOUD_MODDIR")
[ "$(guest_value g kernel)" = "$ver" ] || fail "guest runs kernel '$(guest_value g kernel)', want the cloud kernel $ver"
case $(guest_value g modules) in
*virtio_blk*virtio_mmio*|*virtio_mmio*virtio_blk*) ;;
*) fail "virtio_mmio and virtio_blk are not both loaded: $(guest_value g modules)" ;;
esac
grep -q "disk.img.*not a multiple of 512" "$WORK/g.err" || fail "vmm did not warn that disk.img's size is not a multiple of 512"
[ "$(guest_value g vda_sectors)" = $(( (size + 511) / 512 )) ] ||
	fail "guest sees $(guest_value g vda_sectors) sectors, want $(( (size + 511) / 512 )) for $size bytes"
[ "$(guest_value g vda_ro)" = 0 ] || fail "a writable -d disk is read-only in the guest"
[ "$(guest_value g sector0)" = "appvm-cloud-disk-$word" ] || fail "sector 0 reads '$(guest_value g sector0)'"
[ "$(guest_value g last_bytes)" = 512 ] || fail "the partial last sector read $(guest_value g last_bytes) bytes, want 512"
[ "$(guest_value g last_nonzero)" = 100 ] || fail "the partial last sector has $(guest_value g last_nonzero) non-zero bytes, want the image's 100"
case $(guest_value g last_text) in
"tail-$word"t*) ;;
*) fail "the partial last sector reads '$(guest_value g last_text)'" ;;
esac
want=$({ cat "$WORK/disk.img"; head -c $(( (512 - size % 512) % 512 )) /dev/zero; } | sha256sum | cut -d' ' -f1)
[ "$(guest_value g vda_sha256)" = "$want" ] ||
	fail "the guest's sha256 of /dev/vda is $(guest_value g vda_sha256), the zero-padded image's is $want"
cmp -s "$A/disk.img" "$WORK/disk.img" || fail "disk.img changed although the guest only read it"
case $(guest_value g rng_current) in
virtio_rng.*) ;;
*) fail "the cloud kernel's hw_random source is '$(guest_value g rng_current)', want virtio_rng.N" ;;
esac
echo "cloud kernel $ver read all $(guest_value g vda_sectors) sectors: sha256 $want"
