# 256 MiB each way over TCP between L1 and the guest through virtio-net
# (offloads negotiated: 64 KiB GSO frames both ways), MD5 of what arrived
# compared with what was sent. The data is one random MiB repeated 256
# times, so both ends can produce it without storing 256 MiB.
# timeout: 900
. "$E2E_LIB/scenario.sh"
. "$E2E_LIB/net.sh"
net_modules
net_vm a --host-ip 172.30.1.1 --netmask 30
mkdir -p "$WORK/www"
head -c 1048576 /dev/urandom >"$WORK/www/blk"
httpd -f -p 172.30.1.1:8080 -h "$WORK/www" &
NET_PIDS="$NET_PIDS $!"
gx a sh -c 'for i in 1 2 3 4 5; do wget -q -O /tmp/blk http://172.30.1.1:8080/blk && exit 0; sleep 1; done; exit 1'
[ $GX = 0 ] || fail "guest wget of the block: exit $GX: $(cat "$WORK/gx.err")"
mv "$WORK/www/blk" "$WORK/blk"
want=$(for i in $(seq 256); do cat "$WORK/blk"; done | md5sum | cut -d' ' -f1)

now() { cut -d' ' -f1 /proc/uptime; }
# guest -> L1
timeout 400 nc -l -p 5000 >"$WORK/g2h.raw.md5" 2>"$WORK/g2h.err" </dev/null &
lpid=$!
sleep 1
t0=$(now)
gx a sh -c 'for i in $(seq 256); do cat /tmp/blk; done | nc 172.30.1.1 5000'
wait $lpid
t1=$(now)
[ $GX = 0 ] || fail "guest -> L1 sender: exit $GX: $(cat "$WORK/gx.err")"
got=$(md5sum <"$WORK/g2h.raw.md5" | cut -d' ' -f1)
size=$(wc -c <"$WORK/g2h.raw.md5")
rm -f "$WORK/g2h.raw.md5"
[ "$size" = 268435456 ] || fail "guest -> L1: $size bytes arrived, want 268435456"
[ "$got" = "$want" ] || fail "guest -> L1: md5 $got, want $want"
echo "guest -> L1: 256 MiB intact in $(awk "BEGIN{print $t1 - $t0}") s"

# L1 -> guest: the guest's nc listens and hashes what it reads.
"$VMM" exec "$WORK/a.sock" -t 400 -- sh -c 'nc -l -p 5001 | md5sum' >"$WORK/h2g.md5" 2>"$WORK/h2g.err" &
gpid=$!
sent=
for i in $(seq 30); do
	sleep 1
	t0=$(now)
	if for j in $(seq 256); do cat "$WORK/blk"; done | timeout 400 nc 172.30.1.2 5001 2>"$WORK/h2g.nc.err"; then
		sent=1
		break
	fi
done
[ -n "$sent" ] || fail "L1 -> guest: could not connect: $(cat "$WORK/h2g.nc.err")"
wait $gpid || fail "L1 -> guest receiver: exit $?: $(cat "$WORK/h2g.err")"
t1=$(now)
got=$(cut -d' ' -f1 "$WORK/h2g.md5")
[ "$got" = "$want" ] || fail "L1 -> guest: md5 '$got', want $want"
echo "L1 -> guest: 256 MiB intact in $(awk "BEGIN{print $t1 - $t0}") s"
gx a cat /sys/class/net/eth0/statistics/rx_bytes
echo "guest eth0 rx_bytes $(cat "$WORK/gx.out")"
exit 0
