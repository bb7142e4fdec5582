#!/bin/sh
# Jail escape suite: every attempt of issue 6 is its own case, run by the
# static helper tests/native/jail/escape.c inside a real jail built by
# build/jail (the library's jail_run()), and must fail. Controls run the
# same attempt without the defence that should stop it and must succeed,
# so a broken helper cannot pass by failing everything.
#
# Needs root (CI runs as root). Processes this script signals: only the
# sleeper and the listener it started itself, by their PIDs.
#
#   tests/native/jail.sh          (O=build, JAIL=$O/jail by default)
#
# ESCAPE=PATH uses a prebuilt static helper instead of compiling it (the
# e2e scenario jail_rootfs runs this suite in the nested L1 machine, which
# has no compiler and whose / is an initramfs); JAIL_STRICT=1 turns every
# SKIP into a FAIL there.
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
JAIL=${JAIL:-$O/jail}
S=native/jail
pass() { echo "PASS $S/$1"; }
fail() { echo "FAIL $S/$1: $2"; }
skip() { if [ "${JAIL_STRICT:-0}" = 1 ]; then fail "$1" "$2"; else echo "SKIP $S/$1: $2"; fi; }

[ "$(id -u)" -eq 0 ] || { skip all "needs root"; exit 0; }
[ -x "$JAIL" ] || { skip all "$JAIL is not built (run make)"; exit 0; }
[ -n "${ESCAPE:-}" ] || command -v musl-gcc >/dev/null || { skip all "musl-gcc missing (scripts/setup-deps.sh)"; exit 0; }

W=$(mktemp -d /tmp/appvm-jail-native.XXXXXX) || exit 1
SLEEPER= LISTENER=
cleanup() {
	# Our own children only, by PID.
	[ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
	wait 2>/dev/null
	# (busybox rm, in the nested L1, has no --one-file-system.)
	case "$W" in /tmp/appvm-jail-native.*) rm -rf --one-file-system "$W" 2>/dev/null || rm -rf "$W" ;; esac
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ -n "${ESCAPE:-}" ]; then
	cp "$ESCAPE" "$W/escape" || { fail build-helper "cannot copy $ESCAPE"; exit 1; }
elif ! musl-gcc -static -O2 -Wall -Wextra -o "$W/escape" tests/native/jail/escape.c 2>"$W/cc.err"; then
	fail build-helper "$(head -3 "$W/cc.err")"
	exit 1
fi
# With -U the jail's root is nobody outside, and bind sources are resolved
# with those credentials: the scratch tree must be reachable by nobody. The
# secret is world-readable on purpose, so only the jail can keep it away.
chmod 755 "$W"
mkdir -p "$W/ro" "$W/rw"
chmod 777 "$W/rw"
echo "host secret $$" >"$W/secret"
echo "bound file" >"$W/ro/file"

# --- What this machine supports (reported, and gates the cases). ---
probe() { # NAME why COMMAND...: PASS when it works, SKIP with the error
	name=$1 why=$2; shift 2
	if "$@" >"$W/probe.out" 2>&1; then
		pass "probe_$name"
		return 0
	fi
	skip "probe_$name" "$why: $(head -1 "$W/probe.out")"
	return 1
}
probe userns "user namespaces unavailable" "$JAIL" -U /bin/true || { skip all "no user namespaces"; exit 0; }
probe pidns "pid namespaces unavailable" "$JAIL" -U -p /bin/true || { skip all "no pid namespaces"; exit 0; }
probe pivot_root "tmpfs root + pivot_root unavailable" "$JAIL" -U -b "$W/escape,/escape" /escape fds ||
	{ skip all "no pivot_root into a tmpfs"; exit 0; }
HAVE_SECCOMP=1
printf 'execve: 1\narch_prctl: 1\nset_tid_address: 1\nexit_group: 1\nfcntl: 1\nwritev: 1\n' >"$W/min.policy"
probe seccomp "seccomp filters unavailable" "$JAIL" -S "$W/min.policy" "$W/escape" fds || HAVE_SECCOMP=0

# The jail every attempt runs in: the configuration a device gets.
NOFILE=64
BINDS="-b $W/escape,/escape -b $W/ro,/ro -b $W/rw,/rw,rw"
FULL="-U -p -v -e -l -N --uts=jail -R NOFILE,$NOFILE,$NOFILE"

# attempt CASE JAIL-OPTIONS -- MODE ARGS: the helper must print BLOCKED and
# exit 0 inside the jail.
attempt() {
	name=$1; shift
	opts=
	while [ "$1" != "--" ]; do opts="$opts $1"; shift; done
	shift
	# shellcheck disable=SC2086
	"$JAIL" $opts /escape "$@" >"$W/out" 2>"$W/err" </dev/null
	rc=$?
	if [ $rc -eq 0 ] && grep -q "^BLOCKED " "$W/out"; then
		pass "$name"
	else
		fail "$name" "rc $rc: $(cat "$W/out" "$W/err" | tr '\n' ' ' | cut -c1-300)"
	fi
}
# control CASE COMMAND...: the same attempt where it must work.
control() {
	name=$1; shift
	"$@" >"$W/out" 2>"$W/err" </dev/null
	rc=$?
	if [ $rc -eq 1 ] && grep -q "^ESCAPED " "$W/out"; then
		pass "$name"
	else
		fail "$name" "attempt did not work outside the jail (rc $rc): $(cat "$W/out" "$W/err" | tr '\n' ' ' | cut -c1-300)"
	fi
}

# Read a host file outside the binds.
attempt read_host_file $FULL $BINDS -- read "$W/secret"
attempt read_host_etc $FULL $BINDS -- read /etc/passwd
control control_read_host_file "$W/escape" read "$W/secret"

# Write to a read-only bind; nothing may appear on the host.
attempt write_ro_bind $FULL $BINDS -- write_ro /ro
if [ -n "$(find "$W/ro" -name 'escape-*')" ]; then fail write_ro_bind_host "a file appeared in $W/ro"; fi
# Control: the same write into the writable bind works (and is cleaned up).
"$JAIL" $FULL $BINDS /escape write_ro /rw >"$W/out" 2>&1 </dev/null
if [ $? -eq 1 ] && grep -q "^ESCAPED " "$W/out"; then pass control_write_rw_bind; else
	fail control_write_rw_bind "$(tr '\n' ' ' <"$W/out" | cut -c1-300)"; fi

# Mount anything, or unmount a bind.
attempt mount $FULL $BINDS -- mount /ro

# Unshare again (user + mount namespace) to regain capabilities.
attempt unshare_regain_caps $FULL $BINDS -- unshare /ro

# ptrace or kill a process outside: a sleeper this script started, by PID.
sleep 600 &
SLEEPER=$!
case "$SLEEPER" in ''|*[!0-9]*) fail kill_outside "no sleeper pid"; SLEEPER= ;; esac
if [ -n "$SLEEPER" ] && [ "$SLEEPER" -gt 1 ]; then
	attempt kill_outside $FULL $BINDS -- kill "$SLEEPER"
	attempt kill_outside_no_pidns -U -v -e $BINDS -- kill "$SLEEPER"
	attempt ptrace_outside $FULL $BINDS -- ptrace "$SLEEPER"
	attempt ptrace_outside_no_pidns -U -v -e $BINDS -- ptrace "$SLEEPER"
	if kill -0 "$SLEEPER" 2>/dev/null; then pass sleeper_alive; else fail sleeper_alive "the host sleeper died"; fi
	grep -q '^TracerPid:[[:space:]]*0$' "/proc/$SLEEPER/status" && pass sleeper_untraced ||
		fail sleeper_untraced "the host sleeper is traced"
	kill "$SLEEPER" 2>/dev/null
	wait "$SLEEPER" 2>/dev/null
	SLEEPER=
fi

# Open a socket to the host network from a net-namespaced jail: a listener
# on 0.0.0.0, tried at 127.0.0.1 and every host address.
"$W/escape" listen "$W/port" >/dev/null 2>&1 &
LISTENER=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$W/port" ] && break; sleep 0.2; done
PORT=$(cat "$W/port" 2>/dev/null)
if [ -n "$PORT" ]; then
	IPS="127.0.0.1 $(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' | tr '\n' ' ')"
	# shellcheck disable=SC2086
	attempt net_host_socket $FULL $BINDS -- connect $IPS "$PORT"
	# shellcheck disable=SC2086
	control control_net_host_socket "$JAIL" -U -p $BINDS /escape connect 127.0.0.1 "$PORT"
else
	fail net_host_socket "the host listener did not start"
fi
kill "$LISTENER" 2>/dev/null
wait "$LISTENER" 2>/dev/null
LISTENER=

# Nothing left to regain from: capability sets, bounding, ambient.
attempt capabilities_dropped $FULL $BINDS -- caps
attempt capabilities_dropped_no_userns -p -v -e $BINDS -- caps

# Load a kernel module; change the time.
attempt load_module $FULL $BINDS -- module
attempt change_time $FULL $BINDS -- time

# Raise an rlimit above the jail's hard limit.
attempt raise_rlimit $FULL $BINDS -- rlimit $NOFILE $NOFILE

# Keep an fd not on the keep-list: fd 7 (a host file) is open here, fd 8 is
# on the keep-list.
exec 7<"$W/secret" 8<"$W/ro/file"
attempt fd_not_kept $FULL $BINDS -k 8 -- fds 8
control control_fd_not_kept "$W/escape" fds 8
exec 7<&- 8<&-

# chroot walk-out and device nodes (capabilities dropped).
attempt chroot_walk $FULL $BINDS -- chroot
attempt mknod_device $FULL $BINDS -- mknod /rw

# A syscall outside the policy: SIGSYS, and build/jail names it.
if [ $HAVE_SECCOMP -eq 1 ]; then
	# shellcheck disable=SC2086
	"$JAIL" $FULL $BINDS -S tests/native/jail/escape.policy /escape syscall >"$W/out" 2>"$W/err" </dev/null
	rc=$?
	if [ $rc -eq $((128 + 31)) ] && grep -q "^calling uname" "$W/out" && ! grep -q ESCAPED "$W/out" &&
		grep -q "killed by seccomp: syscall uname (" "$W/err"; then
		pass syscall_not_in_policy
	else
		fail syscall_not_in_policy "rc $rc (want 159): $(cat "$W/out" "$W/err" | tr '\n' ' ' | cut -c1-300)"
	fi
else
	skip syscall_not_in_policy "no seccomp"
fi
exit 0
