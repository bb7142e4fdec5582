# virtio-rng, on by default: the guest's hw_random core picks virtio_rng.0
# and /dev/hwrng yields bytes, different on every read. With --no-rng there
# is no virtio-rng device.
# arch: x86_64 aarch64
# timeout: 240
. "$E2E_LIB/scenario.sh"
vmm_run g -k "$KERNEL_VMLINUX" -r "$ASSETS/blk/root.sqfs" -p "$GUEST_PARAMS e2e.blk=rng"
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
case $(guest_value g rng_current) in
virtio_rng.*) ;;
*) fail "hw_random current source is '$(guest_value g rng_current)', want virtio_rng.N" ;;
esac
a=$(guest_value g rng1) b=$(guest_value g rng2)
[ ${#a} -eq 64 ] || fail "first 32-byte read of /dev/hwrng gave '$a'"
[ ${#b} -eq 64 ] || fail "second 32-byte read of /dev/hwrng gave '$b'"
[ "$a" != "$b" ] || fail "two reads of /dev/hwrng returned the same bytes $a"
[ "$a" != 0000000000000000000000000000000000000000000000000000000000000000 ] || fail "/dev/hwrng returned zeros"
echo "hwrng: $a"

vmm_run n -k "$KERNEL_VMLINUX" -r "$ASSETS/blk/root.sqfs" --no-rng -p "$GUEST_PARAMS e2e.blk=rng"
expect_line n '^E2E-GUEST: init=done'
expect_rc n 0
case $(guest_value n rng_available) in
*virtio_rng*) fail "--no-rng: the guest still has a virtio_rng source" ;;
esac
