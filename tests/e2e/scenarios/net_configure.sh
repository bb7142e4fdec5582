# A virtio-net device with no ip= word (--net tap=NAME: nothing configured
# at boot), configured after boot over RPC as concierge does
# (`vmm configure-network` -> Maitred.ConfigureNetwork): L1 pings the new
# address, and `vmm status` shows the device's rx/tx counters grow. Twice:
# the device in its jailed process (the default) and as a thread of vmm
# (--disable-sandbox), the two places the counters come from. Bad input
# to configure-network is one line with exit 2 (checked here), a request
# init refuses exit 1.
# timeout: 300
. "$E2E_LIB/scenario.sh"
. "$E2E_LIB/net.sh"
net_modules

# counters NAME TAP: "RX_PACKETS TX_PACKETS" of the device on TAP from
# `vmm status` (status.json keeps the last answer).
counters() {
	"$VMM" status "$WORK/$1.sock" >"$WORK/status.json" 2>&1 || fail "$1: vmm status: $(cat "$WORK/status.json")"
	sed -n 's/.*"net":\[.*{"name":"virtio-net '"$2"'","counters":{"rx_packets":\([0-9]*\),"rx_bytes":[0-9]*,"tx_packets":\([0-9]*\),.*/\1 \2/p' \
		"$WORK/status.json"
}

n=5
for vm in a b; do
	extra=
	[ $vm = b ] && extra=--disable-sandbox
	net_vm $vm --net tap=cn$n $extra
	ip addr add 172.30.$n.1/24 dev cn$n && ip link set cn$n up || fail "configuring cn$n in L1"
	gx $vm cat /proc/cmdline
	grep -q ' ip=' "$WORK/gx.out" && fail "$vm: an ip= word without --host-ip: $(cat "$WORK/gx.out")"
	gx $vm ip -4 addr show eth0
	grep -q inet "$WORK/gx.out" && fail "$vm: eth0 has an address before configure-network: $(cat "$WORK/gx.out")"

	"$VMM" configure-network "$WORK/$vm.sock" --addr 172.30.$n.2/24 --gateway 172.30.$n.1 \
		>"$WORK/cn.out" 2>&1 || fail "$vm: vmm configure-network: exit $?: $(cat "$WORK/cn.out")"
	gx $vm ip -4 addr show eth0
	grep -q "inet 172.30.$n.2/24" "$WORK/gx.out" || fail "$vm: eth0 not configured: $(cat "$WORK/gx.out")"
	gx $vm ip route
	grep -q "default via 172.30.$n.1" "$WORK/gx.out" || fail "$vm: no default route: $(cat "$WORK/gx.out")"

	before=$(counters $vm cn$n)
	[ -n "$before" ] || fail "$vm: no counters for cn$n in vmm status: $(cat "$WORK/status.json")"
	ping -c 3 -W 5 172.30.$n.2 >"$WORK/ping.out" 2>&1 || fail "$vm: L1 -> guest ping failed: $(cat "$WORK/ping.out")"
	grep -q '3 packets received' "$WORK/ping.out" || fail "$vm: L1 -> guest: $(tail -n 2 "$WORK/ping.out")"
	after=$(counters $vm cn$n)
	set -- $before $after
	# Three echo requests in (rx), three replies out (tx), at least.
	[ $(($3 - $1)) -ge 3 ] && [ $(($4 - $2)) -ge 3 ] ||
		fail "$vm: counters rx/tx $1/$2 -> $3/$4 after 3 pings: $(cat "$WORK/status.json")"
	grep -q '"drops":{"tx_short":0,' "$WORK/status.json" || fail "$vm: drops: $(cat "$WORK/status.json")"
	echo "$vm${extra:+ ($extra)}: configured 172.30.$n.2/24, ping ok, rx/tx packets $1/$2 -> $3/$4"
	n=$((n + 1))
done
echo "status: $(cat "$WORK/status.json")"

# Bad input: one line naming it, exit 2, nothing sent. A request the
# guest's init refuses (no such interface): its message, exit 1.
bad() {
	want=$1 code=$2; shift 2
	"$VMM" configure-network "$WORK/a.sock" "$@" >"$WORK/bad.out" 2>"$WORK/bad.err"
	rc=$?
	[ "$rc" = "$code" ] || fail "configure-network $*: exit $rc, want $code: $(cat "$WORK/bad.err")"
	[ "$(wc -l <"$WORK/bad.err")" = 1 ] || fail "configure-network $*: not one line: $(cat "$WORK/bad.err")"
	grep -qF -e "$want" "$WORK/bad.err" || fail "configure-network $*: '$(cat "$WORK/bad.err")' does not say '$want'"
	echo "configure-network $*: exit $rc: $(cat "$WORK/bad.err")"
}
bad "--addr 172.30.5.9: no prefix" 2 --addr 172.30.5.9
bad "--addr '172.30.5.300/24': not an IPv4 or IPv6 address" 2 --addr 172.30.5.300/24
bad "--netmask 255.0.255.0: not a netmask" 2 --addr 172.30.5.9 --netmask 255.0.255.0
bad "--gateway 10.1.1.1: outside 172.30.5.9/24" 2 --addr 172.30.5.9/24 --gateway 10.1.1.1
bad "no interface nosuch0" 1 --iface nosuch0 --addr 172.30.5.9/24
# The rejected requests changed nothing.
gx a ip -4 addr show eth0
grep -q 'inet 172.30.5.9' "$WORK/gx.out" && fail "a bad request configured eth0: $(cat "$WORK/gx.out")"
exit 0
