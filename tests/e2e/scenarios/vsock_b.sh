# virtio-vsock under many connections: 100 host-initiated connections open
# at once through --vsock PATH, each echoing 64 KiB of its own pattern
# through the guest concurrently; every byte comes back in order.
# timeout: 600
. "$E2E_LIB/scenario.sh"
S=$BIN/e2e/vsock_stream
V=$WORK/v.sock
vmm=
trap 'kill $vmm 2>/dev/null' EXIT
"$VMM" -k "$KERNEL_BZIMAGE" -i "$ASSETS/vsock/initramfs.cpio.gz" -m 512 --vsock "$V" \
	-p "$GUEST_PARAMS" </dev/null >"$WORK/g.console" 2>"$WORK/g.err" &
vmm=$!
"$S" hmany "$V" 5000 100 65536 || fail "100 concurrent connections: not all echoed"
"$S" hquit "$V" 5000 || fail "could not ask the guest to end"
wait "$vmm"
RC=$?
vmm=
expect_rc g 0
exit 0
