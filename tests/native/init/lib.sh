# Helpers for tests/native/init*.sh: run the real build/guest/init as PID 1
# in new PID, mount, UTS, network and IPC namespaces over a scratch tmpfs
# root, with a prepared kernel command line bind-mounted over /proc/cmdline.
#
# The scratch root never contains bind mounts of host directories: init
# remounts busy device-backed filesystems read-only at shutdown, which must
# only ever reach our own tmpfs. /dev is a tmpfs the harness prepares (so
# init leaves it alone) with /dev/kmsg a plain file (init's log) and
# /dev/console a FIFO read into $R.console. /proc/sys/kernel/core_pattern is
# covered by a file so init never changes the host's.

: "${O:=build}"
# Suites cd to the repository root before sourcing this file.
case "$O" in /*) INIT_BIN=$O/guest/init ;; *) INIT_BIN=$(pwd)/$O/guest/init ;; esac
BUSYBOX=${BUSYBOX:-/bin/busybox}
T_SUITE=${T_SUITE:-native/init}
T_FAILED=0

pass() { echo "PASS $T_SUITE/$1"; }
fail() { echo "FAIL $T_SUITE/$1: $2"; T_FAILED=1; }
skip() { echo "SKIP $T_SUITE/$1: $2"; }

# Can this host run the suite at all?
init_can_run() {
	[ "$(id -u)" -eq 0 ] || { skip all "needs root"; return 1; }
	[ -x "$INIT_BIN" ] || { skip all "$INIT_BIN not built (make $O/guest/init)"; return 1; }
	[ -x "$BUSYBOX" ] || { skip all "no static busybox at $BUSYBOX"; return 1; }
	unshare --pid --mount --uts --net --ipc --fork true 2>/dev/null ||
		{ skip all "cannot create namespaces"; return 1; }
	return 0
}

# root_new DIR CMDLINE: a fresh scratch root at DIR.
root_new() {
	R=$1
	mkdir -p "$R"
	mount -t tmpfs -o size=256m,mode=0755 appvm-init-test "$R" || return 1
	mkdir -p "$R/bin" "$R/sbin" "$R/etc/init/services" "$R/proc" "$R/sys" "$R/dev" \
		"$R/run" "$R/tmp" "$R/out" "$R/lib"
	cp "$BUSYBOX" "$R/bin/busybox"
	for a in sh ash sleep cat echo ip ls grep wc kill mkdir touch true false sed head \
		tr printf test seq env id hostname rm ps mount umount stat; do
		ln -s busybox "$R/bin/$a"
	done
	cp "$INIT_BIN" "$R/sbin/init"
	echo "root:x:0:0:root:/:/bin/sh" >"$R/etc/passwd"
	echo "daemon:x:2:3:daemon:/:/bin/false" >>"$R/etc/passwd"
	mount -t tmpfs -o size=16m,mode=0755 appvm-init-dev "$R/dev" || return 1
	mknod -m 666 "$R/dev/null" c 1 3
	mknod -m 666 "$R/dev/zero" c 1 5
	mkfifo -m 600 "$R/dev/console"
	: >"$R/dev/kmsg"
	printf '%s\n' "$2" >"$R/.cmdline"
	: >"$R/.core_pattern"
}

# root_free: undo root_new (everything lives in our own tmpfs mounts).
root_free() {
	umount -l "$R/dev" 2>/dev/null
	umount -l "$R" 2>/dev/null
	rmdir "$R" 2>/dev/null
}

# root_run TIMEOUT: run init as PID 1; sets RC to the status of the
# namespace's init as the shell reports it (129 = SIGHUP = reboot,
# 130 = SIGINT = power off; 137 = killed by our timeout). The console goes
# to $R.console, init's log stays in $R/dev/kmsg.
root_run() {
	: >"$R.console"
	# O_RDWR on the FIFO: the reader never sees EOF between writers.
	cat 0<>"$R/dev/console" >"$R.console" &
	_reader=$!
	timeout -s KILL "$1" unshare --pid --mount --uts --net --ipc --fork --kill-child \
		sh -c 'mount -t proc proc "$1/proc" &&
		       mount --bind "$1/.cmdline" "$1/proc/cmdline" &&
		       mount --bind "$1/.core_pattern" "$1/proc/sys/kernel/core_pattern" &&
		       exec chroot "$1" /sbin/init' sh "$R" ${2:+"$2"}
	RC=$?
	kill "$_reader" 2>/dev/null
	wait "$_reader" 2>/dev/null
	return 0
}

# root_start: like root_run but in the background; sets NS_PID to the host
# pid of the namespace's init once it is running.
root_start() {
	: >"$R.console"
	cat 0<>"$R/dev/console" >"$R.console" &
	_reader=$!
	unshare --pid --mount --uts --net --ipc --fork --kill-child \
		sh -c 'mount -t proc proc "$1/proc" &&
		       mount --bind "$1/.cmdline" "$1/proc/cmdline" &&
		       mount --bind "$1/.core_pattern" "$1/proc/sys/kernel/core_pattern" &&
		       exec chroot "$1" /sbin/init' sh "$R" &
	_unshare=$!
	NS_PID=
	for _i in $(seq 200); do
		NS_PID=$(cat "/proc/$_unshare/task/$_unshare/children" 2>/dev/null | tr -d ' ')
		[ -n "$NS_PID" ] && [ "$(cat "/proc/$NS_PID/comm" 2>/dev/null)" = init ] && break
		sleep 0.05
	done
}

# root_wait TIMEOUT: wait for a root_start'ed namespace; sets RC.
root_wait() {
	_n=0
	while kill -0 "$_unshare" 2>/dev/null && [ $_n -lt $(($1 * 10)) ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	if kill -0 "$_unshare" 2>/dev/null; then
		kill -KILL "$_unshare"
	fi
	wait "$_unshare"
	RC=$?
	kill "$_reader" 2>/dev/null
	wait "$_reader" 2>/dev/null
}

# wait_for FILE PATTERN SECONDS: poll until FILE contains PATTERN.
wait_for() {
	_n=0
	while [ $_n -lt $(($3 * 10)) ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		_n=$((_n + 1))
	done
	return 1
}

# log_has PATTERN: init's log contains PATTERN (grep -E).
log_has() { grep -Eq -- "$1" "$R/dev/kmsg"; }

# log_order A B: the first line matching A comes before the first matching B.
log_order() {
	_a=$(grep -nE -- "$1" "$R/dev/kmsg" | head -1 | cut -d: -f1)
	_b=$(grep -nE -- "$2" "$R/dev/kmsg" | head -1 | cut -d: -f1)
	[ -n "$_a" ] && [ -n "$_b" ] && [ "$_a" -lt "$_b" ]
}

# show: diagnostics for a failed case.
show() {
	echo "    --- init log ($R/dev/kmsg):"
	sed 's/^/    | /' "$R/dev/kmsg" | tail -40
	echo "    --- console:"
	sed 's/^/    | /' "$R.console" | tail -20
}
