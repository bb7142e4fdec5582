# Maitred's configuration and the reboot path: with init.rpc=0 init does not
# serve port 8888 even under vmm, so `vmm info` reports the guest service as
# not answering (exit 5) while the guest is up, and `vmm stop` ends it; with
# init.rpc_port=9000 the service moved away from the port vmm relays to (also
# exit 5); with the default, `vmm shutdown --reboot` reboots through init
# (the reset ends the VM) and vmm exits 0.
# timeout: 420
. "$E2E_LIB/scenario.sh"
S=$WORK/ctl.sock
vmm=
trap '[ -n "$vmm" ] && kill "$vmm" 2>/dev/null' EXIT

# boot NAME PARAMS: start vmm in the background, wait for /bin/marker's line.
boot() {
	rm -f "$S"
	"$VMM" -k "$KERNEL_BZIMAGE" -r "$ASSETS/rpc/root.sqfs" -s "$S" \
		-p "$GUEST_PARAMS init.app=/bin/marker $2" </dev/null >"$WORK/$1.console" 2>"$WORK/$1.err" &
	vmm=$!
	i=0
	until grep -q '^E2E-GUEST: app=up' "$WORK/$1.console"; do
		kill -0 "$vmm" 2>/dev/null || fail "$1: vmm exited before the guest came up"
		i=$((i + 1))
		[ $i -lt 300 ] || fail "$1: guest app not up within ~150 s"
		sleep 0.5
	done
}
# finish NAME: wait for vmm to end (60 s at most), status in RC.
finish() {
	i=0
	while kill -0 "$vmm" 2>/dev/null && [ $i -lt 120 ]; do sleep 0.5; i=$((i + 1)); done
	kill -0 "$vmm" 2>/dev/null && fail "$1: vmm still running after 60 s"
	wait "$vmm"
	RC=$?
	vmm=
}

for case in "off init.rpc=0" "port init.rpc_port=9000"; do
	set -- $case
	boot "$1" "$2"
	# The service would be up by the time the app runs (init starts it
	# first); give a slow machine a few more seconds anyway.
	sleep 3
	"$VMM" info "$S" -T 10 >"$WORK/$1.info" 2>&1
	rc=$?
	[ $rc = 5 ] || fail "$1 ($2): vmm info exit $rc, want 5 (guest service not answering): $(cat "$WORK/$1.info")"
	"$VMM" stop "$S" || fail "$1: vmm stop failed"
	finish "$1"
	expect_rc "$1" 0
done
grep -q 'maitred: serving' "$WORK/off.console" && fail "off: init.rpc=0 still started the service"
expect_line port 'maitred: serving on vsock port 9000'

boot reboot ""
expect_line reboot 'maitred: serving on vsock port 8888'
i=0
until "$VMM" info "$S" -T 10 >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 60 ] || fail "reboot: guest service did not answer"; sleep 0.5
done
"$VMM" shutdown "$S" --reboot || fail "vmm shutdown --reboot failed"
finish reboot
expect_line reboot 'maitred: reboot requested by the host'
expect_line reboot 'init: reboot \(status 0\)'
expect_rc reboot 0
