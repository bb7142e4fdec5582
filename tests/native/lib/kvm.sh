# Shared by the native suites that need KVM (tests/native/kvm_guests.sh,
# kvm_probe.sh, kvm_virtio.sh, vmm_control.sh); sourced, POSIX sh, after the
# suite has cd'ed to the repository root and set O.
#
# Where such a suite runs:
# - directly, when this host's /dev/kvm works (open, API 12, KVM_CREATE_VM,
#   KVM_CREATE_VCPU: tests/e2e/l1/kvmcheck.c), including PVM hosts, where tiny
#   guests run fine;
# - otherwise inside the nested L1 machine of tests/e2e/run (docs/E2E.md),
#   which runs the suite as "native:NAME" with NATIVE_L1=1 and relays its
#   PASS/FAIL lines unchanged. tests/run-all hands all of them to one L1 boot.
# NATIVE_KVM=direct or NATIVE_KVM=nested forces the choice; tests/run-all
# exports NATIVE_KVM=direct after checking once. A suite never SKIPs for lack
# of KVM: inside L1 a /dev/kvm that does not work fails the suite.

# native_script NAME: the script run for an e2e runner entry: "native:X" is
# tests/native/X.sh, "bench:X" the benchmark scripts/bench/X.sh (whose KVM
# part runs in L1 the same way); relative to the repository root.
native_script() {
	case "$1" in
	native:*) echo "tests/native/${1#native:}.sh" ;;
	bench:*) echo "scripts/bench/${1#bench:}.sh" ;;
	esac
}

# native_kvm_mode: prints "direct", or "nested: WHY" when /dev/kvm does not
# work here. Builds kvmcheck (with the other e2e helpers) into $O/e2e.
native_kvm_mode() {
	case "${NATIVE_KVM:-}" in
	direct) echo direct; return ;;
	nested) echo "nested: NATIVE_KVM=nested"; return ;;
	esac
	if [ ! -c /dev/kvm ]; then
		echo "nested: /dev/kvm does not exist"
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "nested: /dev/kvm is not readable and writable by uid $(id -u)"
	else
		_src=$(pwd)
		_why=$(SRC=$_src O=$(cd "$O" 2>/dev/null && pwd || echo "$_src/$O") sh -c '
			. "$SRC/tests/e2e/lib/l1.sh" && e2e_tools && "$O/e2e/kvmcheck"' 2>&1)
		if [ $? -eq 0 ]; then echo direct; else echo "nested: /dev/kvm does not work: $_why"; fi
	fi
}

# native_kvm_enter SUITE: returns when the suite should run here (directly or
# already inside L1); otherwise replaces the shell with tests/e2e/run, which
# runs the suite in the nested machine with the same output lines.
native_kvm_enter() {
	[ "${NATIVE_L1:-0}" = 1 ] && return 0
	_mode=$(native_kvm_mode)
	[ "$_mode" = direct ] && return 0
	echo "native: $1: ${_mode#nested: }: running it in the nested L1 machine (tests/e2e/run)" >&2
	exec tests/e2e/run "native:$1"
}

# native_build SUITE CASE MAKEFILE FILE...: build test binaries on the host
# with make (the FILEs are its targets); inside L1 they were built on the
# host and copied in, so only check that they exist. PASS SUITE/CASE, or
# FAIL it and return 1.
native_build() {
	_s=$1 _c=$2 _mk=$3
	shift 3
	if [ "${NATIVE_L1:-0}" = 1 ]; then
		for _t in "$@"; do
			[ -f "$_t" ] && continue
			echo "FAIL $_s/$_c: $_t was not copied into the nested machine"
			return 1
		done
	else
		_log=$(mktemp)
		if ! make -s -f "$_mk" O="$O" "$@" >"$_log" 2>&1; then
			tail -20 "$_log" | sed 's/^/    build> /'
			rm -f "$_log"
			echo "FAIL $_s/$_c: $* did not build"
			return 1
		fi
		rm -f "$_log"
	fi
	echo "PASS $_s/$_c"
}

# native_wait_line FILE REGEX PID SECS: wait until a line of FILE matches
# REGEX (grep), process PID has ended, or SECS have passed; polls every 0.1 s.
native_wait_line() {
	_i=0
	while ! grep -q "$2" "$1" && kill -0 "$3" 2>/dev/null && [ $_i -lt $(($4 * 10)) ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

# native_kill_vmm PID: SIGKILL vmm PID, reap it, and wait (at most 10 s
# each) until its device processes are gone too. They die of PDEATHSIG only
# after vmm, asynchronously, and they share vmm's open image files and so
# its image locks: a vmm started on the same image right after the kill
# would otherwise find it "in use by another process".
native_kill_vmm() {
	_kids=$(cat /proc/"$1"/task/*/children 2>/dev/null)
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	for _k in $_kids; do
		_i=0
		while [ -d "/proc/$_k" ] && [ $_i -lt 100 ] &&
			[ "$(sed 's/.*) //' "/proc/$_k/stat" 2>/dev/null | cut -c1)" != Z ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
	done
}

# native_timeout SECS CMD...: CMD with a time limit, status 124 when it was
# killed. On the host GNU timeout signals only CMD's PID (--foreground: vmm
# starts no children); busybox (inside L1) has no --foreground, and the e2e
# helper e2e-timeout kills CMD's whole session instead.
native_timeout() {
	if [ "${NATIVE_L1:-0}" = 1 ]; then
		e2e-timeout "$@"
	else
		_t=$1
		shift
		timeout --foreground -k 5 "$_t" "$@"
	fi
}
