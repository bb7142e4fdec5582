# virtio-vsock streaming through the vmm's own device (no vhost): 64 MiB
# host->guest and 64 MiB guest->host over a host-initiated connection
# (--vsock PATH, "CONNECT 5000\n"), and 64 MiB over a guest-initiated one
# (to host port 6000 = the unix socket PATH_6000), each arriving with the
# same FNV-1a checksum; a guest connect to a host port nobody serves (6001)
# is reset; the guest ends on request and vmm exits 0.
# Each step has its own time limit, well inside the scenario's: a stalled or
# failed stream makes vmm dump its state (vmm_diag: thread states, SIGUSR2)
# before the failure prints it, and the stream programs report STALL lines
# meanwhile.
# timeout: 900
. "$E2E_LIB/scenario.sh"
S=$BIN/e2e/vsock_stream
V=$WORK/v.sock
N=67108864
vmm= sink=
trap 'kill $vmm $sink 2>/dev/null' EXIT
# stalled WHAT: dump vmm's threads and state, then fail with every log's tail.
stalled() {
	vmm_diag "$vmm"
	fail "$*"
}
"$S" hsink "${V}_6000" "$N" 2>&1 &
sink=$!
t0=$(cut -d' ' -f1 /proc/uptime)
"$VMM" -k "$KERNEL_BZIMAGE" -i "$ASSETS/vsock/initramfs.cpio.gz" -m 512 --vsock "$V" \
	-p "$GUEST_PARAMS vsock_e2e.refuse=6001 vsock_e2e.send=6000:$N" \
	</dev/null >"$WORK/g.console" 2>"$WORK/g.err" &
vmm=$!
e2e-timeout 300 "$S" hsend "$V" 5000 "$N"
rc=$?
[ $rc = 124 ] && stalled "host->guest stream: no result within 300 s"
[ $rc = 0 ] || stalled "host->guest stream failed"
e2e-timeout 300 "$S" hrecv "$V" 5000 "$N"
rc=$?
[ $rc = 124 ] && stalled "guest->host stream: no result within 300 s"
[ $rc = 0 ] || stalled "guest->host stream failed"
i=0
while kill -0 "$sink" 2>/dev/null && [ $i -lt 200 ]; do sleep 1; i=$((i + 1)); done
kill -0 "$sink" 2>/dev/null && stalled "guest-initiated stream to PATH_6000: no result within 200 s"
wait "$sink" || fail "guest-initiated stream to PATH_6000 failed"
sink=
expect_line g '^E2E-GUEST: gsend=ok'
expect_line g '^E2E-GUEST: gconnect=refused'
e2e-timeout 60 "$S" hquit "$V" 5000 || fail "could not ask the guest to end"
i=0
while kill -0 "$vmm" 2>/dev/null && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
kill -0 "$vmm" 2>/dev/null && stalled "vmm still running 60 s after the guest was asked to end"
wait "$vmm"
RC=$?
vmm=
echo "vmm exit $RC after $(awk "BEGIN{print $(cut -d' ' -f1 /proc/uptime) - $t0}") s"
expect_rc g 0
[ -e "$V" ] && fail "vmm left its --vsock socket $V behind"
exit 0
