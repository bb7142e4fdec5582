# 256 MiB each way over TCP between L1 and the guest through virtio-net
# (offloads negotiated: 64 KiB GSO frames both ways), MD5 of what arrived
# compared with what was sent. The data is one random MiB repeated 256
# times, so both ends can produce it without storing 256 MiB; the streams
# are tests/e2e/guest/tcpbench (the guest fetches it and the block from an
# httpd in L1), which also prints the rates (information, not a check).
# timeout: 900
. "$E2E_LIB/scenario.sh"
. "$E2E_LIB/net.sh"
net_modules
net_vm a --host-ip 172.30.1.1 --netmask 30
vmm_a=$NET_PID
mkdir -p "$WORK/www"
head -c 1048576 /dev/urandom >"$WORK/www/blk"
cp "$(command -v tcpbench)" "$WORK/www/tcpbench" || fail "tcpbench missing in L1"
httpd -f -p 172.30.1.1:8080 -h "$WORK/www" &
NET_PIDS="$NET_PIDS $!"
gx a sh -c 'cd /tmp && for f in blk tcpbench; do
	for i in 1 2 3 4 5; do wget -q -O $f http://172.30.1.1:8080/$f && break; sleep 1; done
done && chmod 755 tcpbench && [ -s blk ] && [ -x tcpbench ]'
[ $GX = 0 ] || fail "guest wget of the block and tcpbench: exit $GX: $(cat "$WORK/gx.err")"
blocks() { for i in $(seq 256); do cat "$1"; done; }
want=$(blocks "$WORK/www/blk" | md5sum | cut -d' ' -f1)

net_stall_watch a "$vmm_a" &
NET_PIDS="$NET_PIDS $!"
# guest -> L1: L1 hashes what it receives.
(e2e-timeout 400 tcpbench recv 5000 - 2>"$WORK/g2h.rate" | md5sum >"$WORK/g2h.md5") &
lpid=$!
# As long as the receiver waits (gx's 120 s were too short once in CI: the
# sender was killed, the receiver waited out its 400 s).
"$VMM" exec "$WORK/a.sock" -t 400 -- sh -c 'for i in $(seq 256); do cat /tmp/blk; done | /tmp/tcpbench send 172.30.1.1 5000 -' \
	>"$WORK/gx.out" 2>"$WORK/gx.err"
GX=$?
# A failed sender (the VM gone) leaves the receiver to the scenario's end,
# not to its 400 s: a crash costs one rerun's time, not two.
[ $GX = 0 ] || { net_diag a "$vmm_a"; fail "guest -> L1 sender: exit $GX: $(cat "$WORK/gx.out" "$WORK/gx.err")"; }
wait $lpid
grep -q 'bytes=268435456 ' "$WORK/g2h.rate" || fail "guest -> L1: $(cat "$WORK/g2h.rate"), want 268435456 bytes"
got=$(cut -d' ' -f1 "$WORK/g2h.md5")
[ "$got" = "$want" ] || fail "guest -> L1: md5 $got, want $want"
echo "guest -> L1: 256 MiB intact, $(cat "$WORK/g2h.rate")"

# L1 -> guest: the guest hashes what it receives.
"$VMM" exec "$WORK/a.sock" -t 400 -- sh -c '/tmp/tcpbench recv 5001 - 2>/tmp/h2g.rate | md5sum' \
	>"$WORK/h2g.md5" 2>"$WORK/h2g.err" &
gpid=$!
blocks "$WORK/www/blk" | e2e-timeout 400 tcpbench send 172.30.1.2 5001 - >"$WORK/h2g.rate" 2>&1 ||
	{ net_diag a "$vmm_a"; fail "L1 -> guest sender: $(cat "$WORK/h2g.rate")"; }
wait $gpid
rc=$?
[ $rc = 0 ] || { net_diag a "$vmm_a"; fail "L1 -> guest receiver: exit $rc: $(cat "$WORK/h2g.err")"; }
got=$(cut -d' ' -f1 "$WORK/h2g.md5")
[ "$got" = "$want" ] || fail "L1 -> guest: md5 '$got', want $want"
grep -q 'bytes=268435456 ' "$WORK/h2g.rate" || fail "L1 -> guest: $(cat "$WORK/h2g.rate")"
echo "L1 -> guest: 256 MiB intact, $(cat "$WORK/h2g.rate")"
exit 0
