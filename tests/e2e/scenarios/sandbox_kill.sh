# Device process death (docs/SANDBOX.md): each virtio device runs in its own
# jailed process. SIGKILL one while the guest does I/O on it -- virtio-blk
# and virtio-rng under a guest reading /dev/vda and /dev/hwrng in a loop,
# virtio-vsock under a 1 GiB host->guest stream -- and vmm must log
# "device NAME (pid N) died: killed by signal 9 (Killed)" and exit 1 within
# 1 s. SIGKILL vmm itself: no device process (nor its reaper) may be left,
# checked by pid.
# timeout: 600
. "$E2E_LIB/scenario.sh"
S=$BIN/e2e/vsock_stream
vmm= sender=
trap 'kill $vmm $sender 2>/dev/null' EXIT
now() { cut -d' ' -f1 /proc/uptime; }

# start NAME VMM-ARGS...: vmm in the background with debug logging (which
# names each device process's pid), console and stderr in $WORK/NAME.*.
start() {
	_n=$1; shift
	"$VMM" -v -v "$@" </dev/null >"$WORK/$_n.console" 2>"$WORK/$_n.err" &
	vmm=$!
}

# wait_line NAME REGEX SECS: NAME's console shows REGEX within SECS.
wait_line() {
	_i=0
	while ! grep -qE "$2" "$WORK/$1.console" 2>/dev/null; do
		kill -0 "$vmm" 2>/dev/null || fail "$1: vmm exited before '$2'"
		[ $_i -ge $(($3 * 10)) ] && fail "$1: no console line '$2' within $3 s"
		sleep 0.1
		_i=$((_i + 1))
	done
}

# dev_pid NAME DEVICE: the device process's pid from "device DEVICE: pid N (reaper R)".
dev_pid() { sed -n "s/^vmm: device $2: pid \\([0-9]*\\) (reaper [0-9]*)\$/\\1/p" "$WORK/$1.err" | head -n 1; }
reaper_pid() { sed -n "s/^vmm: device $2: pid [0-9]* (reaper \\([0-9]*\\))\$/\\1/p" "$WORK/$1.err" | head -n 1; }

# alive PID: the process exists and is not a zombie.
alive() { [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# kill_device NAME DEVICE: SIGKILL DEVICE's process; vmm must exit 1 within
# 1 s, naming it.
kill_device() {
	_pid=$(dev_pid "$1" "$2")
	[ -n "$_pid" ] || fail "$1: vmm logged no pid for device $2"
	alive "$_pid" || fail "$1: device $2 (pid $_pid) is not running"
	_t0=$(now)
	kill -9 "$_pid"
	wait "$vmm"
	RC=$?
	_dt=$(awk "BEGIN{print $(now) - $_t0}")
	vmm=
	echo "$2 (pid $_pid) killed: vmm exit $RC after $_dt s"
	expect_rc "$1" 1
	grep -qF "vmm: device $2 (pid $_pid) died: killed by signal 9 (Killed)" "$WORK/$1.err" ||
		fail "$1: vmm did not log 'device $2 (pid $_pid) died: killed by signal 9 (Killed)'"
	awk "BEGIN{exit !($_dt < 1.0)}" || fail "$1: vmm took $_dt s to end after $2 died, want < 1 s"
}

for dev in "virtio-blk vda" virtio-rng; do
	n=$(echo "$dev" | tr -c 'a-z\n' _)
	start "$n" -k "$KERNEL_VMLINUX" -r "$ASSETS/blk/root.sqfs" -p "$GUEST_PARAMS e2e.blk=busy"
	wait_line "$n" '^E2E-GUEST: busy=started' 120
	sleep 1
	kill_device "$n" "$dev"
done

V=$WORK/v.sock
start vsock -k "$KERNEL_BZIMAGE" -i "$ASSETS/vsock/initramfs.cpio.gz" -m 512 --vsock "$V" \
	-p "$GUEST_PARAMS"
wait_line vsock '^E2E-GUEST: init=ready' 120
"$S" hsend "$V" 5000 1073741824 >"$WORK/hsend.out" 2>&1 &
sender=$!
sleep 2
kill -0 "$sender" 2>/dev/null || fail "vsock: the host->guest stream ended before the kill: $(cat "$WORK/hsend.out")"
kill_device vsock virtio-vsock
wait "$sender" 2>/dev/null
sender=

# SIGKILL vmm: every device process and reaper goes with it (the reapers'
# PDEATHSIG, the devices traced with PTRACE_O_EXITKILL).
start all -k "$KERNEL_VMLINUX" -r "$ASSETS/blk/root.sqfs" -p "$GUEST_PARAMS e2e.blk=busy"
wait_line all '^E2E-GUEST: busy=started' 120
pids=
for dev in "virtio-blk vda" virtio-rng; do
	p=$(dev_pid all "$dev") r=$(reaper_pid all "$dev")
	[ -n "$p" ] && [ -n "$r" ] || fail "all: vmm logged no pids for $dev"
	alive "$p" && alive "$r" || fail "all: $dev (pid $p, reaper $r) is not running"
	pids="$pids $p $r"
done
kill -9 "$vmm"
wait "$vmm" 2>/dev/null
vmm=
i=0
while :; do
	left=
	for p in $pids; do alive "$p" && left="$left $p"; done
	[ -z "$left" ] && break
	[ $i -ge 20 ] && fail "all: processes$left outlived vmm's SIGKILL by 2 s"
	sleep 0.1
	i=$((i + 1))
done
echo "vmm SIGKILLed: none of$pids is left"
exit 0
