# virtio-net on a TAP vmm creates (--host-ip/--netmask, crosvm's flow):
# the guest's init configures eth0 from the ip= word vmm adds; ping works
# both ways; busybox httpd in the guest serves a page L1 fetches; the
# device's bad-input errors are one line with exit 2.
# timeout: 400
. "$E2E_LIB/scenario.sh"
. "$E2E_LIB/net.sh"
net_modules
net_vm a --host-ip 172.30.0.1 --netmask 255.255.255.252 --tap vnt0 --mac 52:54:00:12:34:56
gx a cat /proc/cmdline
grep -q 'ip=172.30.0.2::172.30.0.1:255.255.255.252:::off' "$WORK/gx.out" ||
	fail "no ip= word on the guest command line: $(cat "$WORK/gx.out")"
ip addr show vnt0 | grep -q 'inet 172.30.0.1/30' || fail "vnt0 has no host address: $(ip addr show vnt0)"
gx a cat /sys/class/net/eth0/address
[ "$(cat "$WORK/gx.out")" = 52:54:00:12:34:56 ] || fail "guest MAC '$(cat "$WORK/gx.out")'"
gx a ip -4 addr show eth0
grep -q 'inet 172.30.0.2/30' "$WORK/gx.out" || fail "guest eth0 not configured: $(cat "$WORK/gx.out")"

ping -c 3 -W 5 172.30.0.2 >"$WORK/ping.out" 2>&1 || fail "L1 -> guest ping failed: $(cat "$WORK/ping.out")"
grep -q '3 packets received' "$WORK/ping.out" || fail "L1 -> guest: $(tail -n 2 "$WORK/ping.out")"
gx a ping -c 3 -W 5 172.30.0.1
[ $GX = 0 ] || fail "guest -> L1 ping: exit $GX: $(cat "$WORK/gx.out" "$WORK/gx.err")"
grep -q '3 packets received' "$WORK/gx.out" || fail "guest -> L1: $(cat "$WORK/gx.out")"
echo "ping both ways: ok ($(grep 'round-trip' "$WORK/ping.out"))"

# A 300 KiB page (several 64 KiB GSO segments each way): the guest fetches
# it from an httpd in L1, serves it with its own busybox httpd, and L1
# fetches it back; compared byte for byte.
mkdir -p "$WORK/www"
head -c 307200 /dev/urandom >"$WORK/www/page"
httpd -f -p 172.30.0.1:8080 -h "$WORK/www" &
NET_PIDS="$NET_PIDS $!"
gx a sh -c 'mkdir -p /tmp/www && for i in 1 2 3 4 5; do wget -q -O /tmp/www/page http://172.30.0.1:8080/page && exit 0; sleep 1; done; exit 1'
[ $GX = 0 ] || fail "guest wget from L1: exit $GX: $(cat "$WORK/gx.err")"
gx a httpd -p 80 -h /tmp/www
[ $GX = 0 ] || fail "guest httpd: exit $GX: $(cat "$WORK/gx.err")"
ok=
for i in 1 2 3 4 5 6 7 8 9 10; do
	if timeout 60 wget -q -O "$WORK/got" http://172.30.0.2/page 2>"$WORK/wget.err"; then ok=1; break; fi
	sleep 1
done
[ -n "$ok" ] || fail "wget from the guest's httpd failed: $(cat "$WORK/wget.err")"
cmp -s "$WORK/www/page" "$WORK/got" || fail "the page fetched differs from the one served"
echo "httpd: 307200 bytes L1 -> guest -> L1 intact"

# The counters the device keeps show in its SIGUSR2 dump.
kill -USR2 "$NET_PID"
sleep 1
grep -q 'virtio-net vnt0: active 1 link up .*"rx_packets":[1-9]' "$WORK/a.err" ||
	fail "no virtio-net state in the dump: $(grep virtio-net "$WORK/a.err")"
# And in `vmm status` (from the jailed device's shared page): the 300 KiB
# page came in (rx) as well.
"$VMM" status "$WORK/a.sock" >"$WORK/status.json" || fail "vmm status failed"
grep -q '"net":\[{"name":"virtio-net vnt0","counters":{"rx_packets":[1-9][0-9]*,"rx_bytes":[1-9][0-9]\{5,\}' \
	"$WORK/status.json" || fail "no net counters in vmm status: $(cat "$WORK/status.json")"

# Bad input: one line naming it, exit 2 (checked once the VM is up, so
# a KVM in working order is not what fails).
bad() {
	want=$1; shift
	vmm_run bad -k "$KERNEL_BZIMAGE" -p "$GUEST_PARAMS" "$@"
	[ "$RC" = 2 ] || fail "vmm $*: exit $RC, want 2"
	[ "$(wc -l <"$WORK/bad.err")" = 1 ] || fail "vmm $*: not one line: $(cat "$WORK/bad.err")"
	grep -qF -e "$want" "$WORK/bad.err" || fail "vmm $*: '$(cat "$WORK/bad.err")' does not say '$want'"
	echo "vmm $*: $(cat "$WORK/bad.err")"
}
bad "--host-ip without --netmask: give both" --host-ip 172.31.0.1
bad "--guest-ip 10.0.0.9: not in the host's subnet" --host-ip 172.31.0.1 --netmask 30 --guest-ip 10.0.0.9
bad "--netmask 255.0.255.0: not a netmask" --host-ip 172.31.0.1 --netmask 255.0.255.0
bad "--mac 01:02:03:04:05:06: not a unicast MAC" --mac 01:02:03:04:05:06
bad "tap vnt0: in use" --tap vnt0
bad "tap lo: the name is taken by a device that is not a TAP" --tap lo
bad "--tap-fd 77: not an open file descriptor" --tap-fd 77
bad "--tap 0123456789abcdefg: interface names are 1..15 characters" --tap 0123456789abcdefg
bad "unknown key 'speed'" --net tap=x,speed=1
exit 0
