# Two VMs on a bridge in L1 (--net tap=NAME: TAPs vmm creates, the bridge
# is the user's), addresses set in the guests: they ping each other and the
# bridge's address. Then the host takes one TAP down: the guest sees its
# carrier go (STATUS without LINK_UP, configuration change interrupt,
# virtio 1.2 §5.1.4), traffic stops; back up, carrier and ping return.
# timeout: 500
. "$E2E_LIB/scenario.sh"
. "$E2E_LIB/net.sh"
net_modules
vms_side_by_side
net_bridge br0
ip addr add 10.77.0.1/24 dev br0 && ip link set br0 up || fail "configuring br0"
for n in 1 2; do
	net_vm v$n --net tap=bt$n
	brctl addif br0 bt$n || fail "brctl addif br0 bt$n"
	ip link set bt$n up || fail "ip link set bt$n up"
	gx v$n sh -c "ip addr add 10.77.0.1$n/24 dev eth0 && ip link set eth0 up"
	[ $GX = 0 ] || fail "v$n: configuring eth0: $(cat "$WORK/gx.err")"
done
carrier() {
	for i in $(seq 40); do
		gx v1 cat /sys/class/net/eth0/carrier
		[ "$(cat "$WORK/gx.out")" = "$1" ] && return 0
		sleep 0.5
	done
	fail "v1: carrier '$(cat "$WORK/gx.out")', want $1 $2"
}
carrier 1 "with bt1 up"
gx v1 ping -c 3 -W 5 10.77.0.12
[ $GX = 0 ] || fail "v1 -> v2 ping: $(cat "$WORK/gx.out" "$WORK/gx.err")"
gx v2 ping -c 3 -W 5 10.77.0.11
[ $GX = 0 ] || fail "v2 -> v1 ping: $(cat "$WORK/gx.out" "$WORK/gx.err")"
ping -c 2 -W 5 10.77.0.11 >/dev/null && ping -c 2 -W 5 10.77.0.12 >/dev/null || fail "L1 -> guests over br0"
echo "two VMs on br0: ping both ways and from the bridge"

ip link set bt1 down
carrier 0 "after ip link set bt1 down"
gx v1 ping -c 2 -W 2 10.77.0.12
[ $GX != 0 ] || fail "v1 -> v2 ping succeeded with bt1 down"
ip link set bt1 up
carrier 1 "after ip link set bt1 up"
gx v1 ping -c 3 -W 5 10.77.0.12
[ $GX = 0 ] || fail "v1 -> v2 ping after link up: $(cat "$WORK/gx.out" "$WORK/gx.err")"
grep -q 'virtio-net bt1: link down' "$WORK/v1.err" && grep -q 'virtio-net bt1: link up' "$WORK/v1.err" ||
	fail "vmm did not log the link changes: $(grep virtio-net "$WORK/v1.err")"
echo "link down/up: carrier followed, traffic stopped and resumed"
exit 0
