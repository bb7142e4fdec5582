# Helpers for the virtio-net scenarios (tests/e2e/scenarios/net_*.sh),
# sourced after scenario.sh. Everything happens inside the nested L1
# machine, which has no NIC (-nodefaults): the TAPs and bridges made here
# are the only interfaces besides lo, so no test packet can leave it.

# net_modules: the tun driver and the bridge (the cloud kernel's modules,
# E2E_CLOUD_MODS in lib/l1.sh) and /dev/net/tun.
net_modules() {
	modprobe tun || fail "modprobe tun failed"
	modprobe bridge || fail "modprobe bridge failed"
	[ -c /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; } ||
		fail "cannot create /dev/net/tun"
}

# net_vm NAME VMM-ARGS...: boot the rpc appliance (busybox + our init with
# Maitred) under vmm with a control socket $WORK/NAME.sock and the extra
# arguments (the net options), in the background (its pid in NET_PID),
# and wait until the guest service answers (at most ~150 s).
net_vm() {
	_n=$1; shift
	# shellcheck disable=SC2086 # VMM_ON: vms_side_by_side (scenario.sh)
	$VMM_ON "$VMM" -k "$KERNEL_BZIMAGE" -r "$ASSETS/rpc/root.sqfs" -s "$WORK/$_n.sock" \
		-p "$GUEST_PARAMS init.app=/bin/marker" "$@" </dev/null >"$WORK/$_n.console" 2>"$WORK/$_n.err" &
	NET_PID=$!
	NET_PIDS="$NET_PIDS $NET_PID"
	_i=0
	until "$VMM" info "$WORK/$_n.sock" -T 10 >/dev/null 2>&1; do
		kill -0 "$NET_PID" 2>/dev/null || fail "$_n: vmm exited before the guest service answered"
		_i=$((_i + 1))
		[ $_i -lt 300 ] || fail "$_n: guest service did not answer within ~150 s"
		sleep 0.5
	done
}

# gx NAME CMD...: run CMD in guest NAME (vmm exec, 120 s at most); output
# in $WORK/gx.out/gx.err, status in GX.
gx() {
	_n=$1; shift
	"$VMM" exec "$WORK/$_n.sock" -t 120 -- "$@" >"$WORK/gx.out" 2>"$WORK/gx.err"
	GX=$?
}

# net_diag NAME PID: for a transfer that stalled, what each side still
# knows, into the scenario's output before fail prints the tails: vmm's
# threads and its state dump (vmm_diag: queues, held frame, counters into
# NAME.err), its status counters, L1's view of the TAPs and its TCP
# sockets, and the guest's interface counters and interrupts (if it still
# answers). Never fails.
net_diag() {
	echo "--- net_diag $1:"
	vmm_diag "$2"
	"$VMM" status "$WORK/$1.sock" 2>&1 | head -c 2000; echo
	ip -s link show 2>&1 | grep -A5 vmtap
	grep Tcp: /proc/net/snmp
	"$VMM" exec "$WORK/$1.sock" -t 20 -- sh -c 'cat /proc/net/dev; grep -i virtio /proc/interrupts; cat /proc/net/snmp | grep Tcp' 2>&1 | head -n 30
}

# net_stall_watch NAME PID &: while a transfer runs, sample NAME's byte
# counters (received + sent) every 10 s; when they grew by less than 64 KiB
# in 60 s (a stray ARP or retransmission must not hide a stall), say so and
# dump vmm's state once (vmm_diag) while the stall lasts -- by the time the
# transfer's own timeout fires, the guest may be gone. Says when vmm stops
# answering (its VM ended). Kill it afterwards.
net_stall_watch() {
	_n=$1 _p=$2 _t0=$(cut -d' ' -f1 /proc/uptime) _w=
	while sleep "${NET_WATCH_STEP:-10}"; do
		_at=$(awk "BEGIN{printf \"%.0f\", $(cut -d' ' -f1 /proc/uptime) - $_t0}")
		_b=$("$VMM" status "$WORK/$_n.sock" 2>/dev/null |
			sed -n 's/.*"rx_bytes":\([0-9]*\),"tx_packets":[0-9]*,"tx_bytes":\([0-9]*\).*/\1 \2/p')
		[ -n "$_b" ] || { echo "net_stall_watch: $_n: vmm stopped answering ${_at} s into the transfer"; return; }
		# The last 7 samples (60 s), oldest first.
		_w=$(echo $_w $_b | awk '{ s = $(NF - 1) + $NF; $(NF - 1) = ""; $NF = "" }
			{ n = split($0 " " s, v, " "); for (i = (n > 7 ? n - 6 : 1); i <= n; i++) printf "%s ", v[i] }')
		_grew=$(echo $_w | awk 'NF == 7 { print $7 - $1 }')
		if [ -n "$_grew" ] && [ "$_grew" -lt 65536 ]; then
			echo "net_stall_watch: $_n: $_grew bytes either way in the last 60 s, ${_at} s into the transfer"
			vmm_diag "$_p"
			return
		fi
	done
}

# net_bridge NAME: a fresh bridge NAME in L1, deleted again on exit. One
# left by an earlier run of the scenario (a run killed at its timeout gets
# no EXIT trap; a run after an L2 triple fault follows on the same L1) is
# deleted first.
net_bridge() {
	ip link del "$1" 2>/dev/null
	brctl addbr "$1" || fail "brctl addbr $1"
	NET_BRIDGES="$NET_BRIDGES $1"
}

# net_cleanup: stop every vmm net_vm started, delete the bridges (trap on
# EXIT).
net_cleanup() {
	for _p in $NET_PIDS; do kill "$_p" 2>/dev/null; done
	for _b in $NET_BRIDGES; do ip link del "$_b" 2>/dev/null; done
}
NET_PIDS= NET_BRIDGES=
trap net_cleanup EXIT
