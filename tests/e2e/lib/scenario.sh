# Helpers for scenarios (tests/e2e/scenarios/*.sh), sourced:
#   . "$E2E_LIB/scenario.sh"
#
# GUEST_PARAMS: the kernel command line every scenario passes explicitly
# (serial console, reset through the i8042 on reboot, reboot at once on panic).
GUEST_PARAMS="console=ttyS0 reboot=k panic=-1"

# vms_side_by_side: call before starting VMs that run at the same time. In
# the nested L1 (E2E_NESTED=1) it pins them all to L1's CPU 0: L2 guests
# running at once on L1's two TCG vCPUs triple-fault about one VM in five,
# pinned ones about one in 36 (2026-12-03, docs/E2E.md). On a vmx/svm host
# nothing changes.
VMM_ON=
vms_side_by_side() {
	[ "${E2E_NESTED:-0}" = 1 ] && VMM_ON="taskset -c 0"
	:
}

# vmm_run NAME [VMM ARGS...]: run $VMM with stdin from /dev/null, the guest
# console (stdout) in $WORK/NAME.console and stderr in $WORK/NAME.err; its
# exit status in RC. Never fails by itself.
vmm_run() {
	_n=$1; shift
	_t0=$(cut -d' ' -f1 /proc/uptime)
	# shellcheck disable=SC2086 # VMM_ON is empty or a command with its arguments
	$VMM_ON "$VMM" "$@" </dev/null >"$WORK/$_n.console" 2>"$WORK/$_n.err"
	RC=$?
	echo "vmm $*: exit $RC after $(awk "BEGIN{print $(cut -d' ' -f1 /proc/uptime) - $_t0}") s"
}

# fail MESSAGE: print it with the tail of every console and stderr capture
# of this scenario, and exit 1.
fail() {
	echo "$*"
	for _f in "$WORK"/*.console "$WORK"/*.err; do
		[ -s "$_f" ] || continue
		echo "--- tail of ${_f##*/}:"
		tail -n 30 "$_f"
	done
	exit 1
}

# vmm_diag PID: for a vmm that seems stuck, print each of its threads'
# scheduler state and wait channel (a vCPU thread blocked in vmm rather than
# running KVM_RUN shows here), then ask it for its state dump (SIGUSR2:
# devices, queues, vsock connections, vCPU registers, into its stderr, which
# fail prints). Never fails.
vmm_diag() {
	for _t in /proc/"$1"/task/*; do
		[ -r "$_t/stat" ] || continue
		echo "vmm thread ${_t##*/} ($(cat "$_t/comm" 2>/dev/null)): state $(cut -d' ' -f3 "$_t/stat")," \
			"wchan $(cat "$_t/wchan" 2>/dev/null), syscall $(cut -d' ' -f1 "$_t/syscall" 2>/dev/null)"
	done
	kill -USR2 "$1" 2>/dev/null
	sleep 2
}

# expect_rc NAME WANT: the last vmm_run NAME exited with WANT.
expect_rc() { [ "$RC" = "$2" ] || fail "$1: vmm exited with $RC, want $2"; }

# expect_line NAME REGEX: NAME's console has a line matching REGEX (grep -E).
expect_line() {
	grep -qE "$2" "$WORK/$1.console" || fail "$1: no console line matching '$2'"
}

# guest_value NAME KEY: VALUE from the guest's "E2E-GUEST: KEY=VALUE" line.
guest_value() {
	sed -n "s/^E2E-GUEST: $2=\\([^[:space:]]*\\).*/\\1/p" "$WORK/$1.console" | tr -d '\r' | head -n 1
}
