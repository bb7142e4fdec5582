#!/bin/sh
# build/jail as a command: exit codes and the one-line messages for bad
# input and failed setup, the jailed program's status passed through, and a
# seccomp kill named by syscall. Needs root (CI runs as root).
#
#   tests/native/jail_cli.sh          (O=build, JAIL=$O/jail by default)
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
JAIL=${JAIL:-$O/jail}
S=native/jail_cli
pass() { echo "PASS $S/$1"; }
fail() { echo "FAIL $S/$1: $2"; }

[ "$(id -u)" -eq 0 ] || { echo "SKIP $S/all: needs root"; exit 0; }
[ -x "$JAIL" ] || { echo "SKIP $S/all: $JAIL is not built (run make)"; exit 0; }
W=$(mktemp -d /tmp/appvm-jail-cli.XXXXXX) || exit 1
trap 'case "$W" in /tmp/appvm-jail-cli.*) rm -rf "$W" ;; esac' EXIT

# expect CASE RC STDERR-LINE -- JAIL-ARGS: exact exit status and exactly
# one line on stderr.
expect() {
	name=$1 want_rc=$2 want_err=$3; shift 4
	"$JAIL" "$@" >"$W/out" 2>"$W/err" </dev/null
	rc=$?
	got=$(cat "$W/err")
	lines=$(wc -l <"$W/err")
	if [ "$rc" -eq "$want_rc" ] && [ "$got" = "$want_err" ] && [ "$lines" -le 1 ]; then
		pass "$name"
	else
		fail "$name" "rc $rc (want $want_rc), stderr '$got' (want '$want_err')"
	fi
}

expect usage_unknown_option 125 "jail: unknown option '-Q' (jail -h for usage)" -- -Q /bin/true
expect usage_missing_prog 125 "jail: missing PROG (jail -h for usage)" -- -U
expect usage_bad_uid 125 "jail: -u 'root': expected a number 0..4294967294 (jail -h for usage)" -- -u root /bin/true
expect usage_bad_bind 125 "jail: -b 'lib': source must be an absolute path (jail -h for usage)" -- -b lib /bin/true
expect usage_bad_rlimit 125 "jail: -R 'NOFILE,9,2': soft limit above hard limit (jail -h for usage)" -- -R NOFILE,9,2 /bin/true

printf 'read: 1\nwrite: arg0 =! 1\n' >"$W/bad.policy"
expect policy_syntax 124 "jail: $W/bad.policy:2:13: invalid operator '='" -- -S "$W/bad.policy" /bin/true
printf 'read: 1\n@include missing.policy\n' >"$W/inc.policy"
expect policy_include 124 "jail: $W/inc.policy:2:1: cannot read '$W/missing.policy': No such file or directory" -- \
	-S "$W/inc.policy" /bin/true
expect policy_missing 124 "jail: -S $W/none.policy: No such file or directory" -- -S "$W/none.policy" /bin/true

expect setup_bind_missing 123 "jail: bind /nonexistent/src: No such file or directory" -- -U -b /nonexistent/src /bin/true
expect setup_keep_fd 123 "jail: keep fd 77: Bad file descriptor" -- -U -k 77 /bin/true
expect exec_not_found 127 "jail: execve /no/such/prog: No such file or directory" -- -U -p /no/such/prog
expect exec_not_executable 126 "jail: execve $W/bad.policy: Permission denied" -- -U "$W/bad.policy"

# The program's own status and death by signal pass through.
expect status_exit 42 "" -- -U -p -e /bin/sh -c 'exit 42'
expect status_signal 137 "" -- -U -e /bin/sh -c 'kill -KILL $$'
expect help 0 "" -- -h

# Signals reach the program; pid 1 of a pid namespace ignores SIGTERM
# without a handler, so the second one is a SIGKILL. Only our own child
# ($!, checked to be a pid > 1) is signalled.
"$JAIL" -U -p /bin/sleep 60 </dev/null >/dev/null 2>&1 &
JP=$!
case "$JP" in ''|*[!0-9]*) JP=0 ;; esac
if [ "$JP" -gt 1 ]; then
	sleep 0.5
	kill -TERM "$JP"
	sleep 0.3
	if kill -0 "$JP" 2>/dev/null; then first=alive; else first=gone; fi
	kill -TERM "$JP" 2>/dev/null
	wait "$JP"
	rc=$?
	if [ $first = alive ] && [ $rc -eq 137 ]; then pass signal_forward; else
		fail signal_forward "after one TERM: $first (want alive), status $rc (want 137)"; fi
else
	fail signal_forward "no pid for the background jail"
fi
# A program with a handler gets the first signal itself.
"$JAIL" -U -p /bin/sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done' </dev/null >/dev/null 2>&1 &
JP=$!
case "$JP" in ''|*[!0-9]*) JP=0 ;; esac
if [ "$JP" -gt 1 ]; then
	sleep 0.5
	kill -TERM "$JP"
	wait "$JP"
	rc=$?
	if [ $rc -eq 3 ]; then pass signal_forward_handler; else fail signal_forward_handler "status $rc (want 3)"; fi
fi

# A bind-only root: only the binds (and -d's /dev) are there, read-only.
"$JAIL" -U -p -d -b /bin -b /lib -b /lib64 -b /usr /bin/sh -c \
	'ls / /dev; touch /bin/x 2>/dev/null && echo WROTE; echo x >/dev/null || echo NONULL' >"$W/out" 2>&1
if [ "$(tr '\n' ' ' <"$W/out")" = "/: bin dev lib lib64 proc usr  /dev: full null random urandom zero " ]; then
	pass root_contents
else
	fail root_contents "$(tr '\n' ' ' <"$W/out")"; fi
exit 0
