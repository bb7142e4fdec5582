# virtio-vsock streaming through the vmm's own device (no vhost): 64 MiB
# host->guest and 64 MiB guest->host over a host-initiated connection
# (--vsock PATH, "CONNECT 5000\n"), and 64 MiB over a guest-initiated one
# (to host port 6000 = the unix socket PATH_6000), each arriving with the
# same FNV-1a checksum; a guest connect to a host port nobody serves (6001)
# is reset; the guest ends on request and vmm exits 0.
# timeout: 900
. "$E2E_LIB/scenario.sh"
S=$BIN/e2e/vsock_stream
V=$WORK/v.sock
N=67108864
vmm= sink=
trap 'kill $vmm $sink 2>/dev/null' EXIT
"$S" hsink "${V}_6000" "$N" >"$WORK/hsink.out" 2>&1 &
sink=$!
t0=$(cut -d' ' -f1 /proc/uptime)
"$VMM" -k "$KERNEL_BZIMAGE" -i "$ASSETS/vsock/initramfs.cpio.gz" -m 512 --vsock "$V" \
	-p "$GUEST_PARAMS vsock_e2e.refuse=6001 vsock_e2e.send=6000:$N" \
	</dev/null >"$WORK/g.console" 2>"$WORK/g.err" &
vmm=$!
"$S" hsend "$V" 5000 "$N" || fail "host->guest stream failed"
"$S" hrecv "$V" 5000 "$N" || fail "guest->host stream failed"
i=0
while kill -0 "$sink" 2>/dev/null && [ $i -lt 600 ]; do sleep 1; i=$((i + 1)); done
cat "$WORK/hsink.out"
wait "$sink" || fail "guest-initiated stream to PATH_6000 failed"
sink=
expect_line g '^E2E-GUEST: gsend=ok'
expect_line g '^E2E-GUEST: gconnect=refused'
"$S" hquit "$V" 5000 || fail "could not ask the guest to end"
wait "$vmm"
RC=$?
vmm=
echo "vmm exit $RC after $(awk "BEGIN{print $(cut -d' ' -f1 /proc/uptime) - $t0}") s"
expect_rc g 0
[ -e "$V" ] && fail "vmm left its --vsock socket $V behind"
exit 0
