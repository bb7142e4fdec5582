# Helpers for tests/native/init*.sh: run the real build/guest/init as PID 1
# in new PID, mount, UTS, network, IPC and cgroup namespaces over a scratch
# tmpfs root, with a prepared kernel command line bind-mounted over
# /proc/cmdline. (The cgroup namespace matters: a cgroup2 mount made in the
# initial cgroup namespace re-applies its options to the host's cgroup2 root,
# kernel/cgroup/cgroup.c apply_cgroup_root_flags.)
#
# The scratch root never contains bind mounts of host directories: init
# remounts busy device-backed filesystems read-only at shutdown, which must
# only ever reach our own tmpfs. /dev is a tmpfs the harness prepares (so
# init leaves it alone) with /dev/kmsg and /dev/console FIFOs read into
# $R.kmsg (init's log) and $R.console: the readers keep them open, so the
# logs survive an initramfs switch that empties (and detaches) the scratch
# /dev. /proc/sys/kernel/core_pattern is
# covered by a file so init never changes the host's; so is
# /proc/sys/kernel/printk_devkmsg.

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
	unshare --pid --mount --uts --net --ipc --cgroup --fork true 2>/dev/null ||
		{ skip all "cannot create namespaces"; return 1; }
	return 0
}

# root_new DIR CMDLINE: a fresh scratch root at DIR, which must lie under a
# /tmp/appvm-init-* directory (root_free relies on it).
root_new() {
	case "$1" in
	/tmp/appvm-init-*/*) ;;
	*) echo "root_new: '$1' is not under /tmp/appvm-init-*" >&2; return 1 ;;
	esac
	R=$1
	mkdir -p "$R"
	mount -t tmpfs -o size=256m,mode=0755 appvm-init-test "$R" || return 1
	mkdir -p "$R/bin" "$R/sbin" "$R/etc/init/services" "$R/proc" "$R/sys" "$R/dev" \
		"$R/run" "$R/tmp" "$R/out" "$R/lib"
	cp "$BUSYBOX" "$R/bin/busybox"
	for a in sh ash sleep cat echo ip ls grep wc kill mkdir touch true false sed head \
		tr printf test seq env id hostname rm ps mount umount stat awk pwd readlink cut; do
		ln -s busybox "$R/bin/$a"
	done
	cp "$INIT_BIN" "$R/sbin/init"
	echo "root:x:0:0:root:/:/bin/sh" >"$R/etc/passwd"
	echo "daemon:x:2:3:daemon:/:/bin/false" >>"$R/etc/passwd"
	mount -t tmpfs -o size=16m,mode=0755 appvm-init-dev "$R/dev" || return 1
	mknod -m 666 "$R/dev/null" c 1 3
	mknod -m 666 "$R/dev/zero" c 1 5
	mkfifo -m 600 "$R/dev/console"
	mkfifo -m 600 "$R/dev/kmsg"
	printf '%s\n' "$2" >"$R/.cmdline"
	: >"$R/.core_pattern"
	: >"$R/.printk_devkmsg"
}

# root_free: undo root_new (everything lives in our own tmpfs mounts).
# Only ever unmounts the two tmpfs mounts root_new made, identified by their
# source names: an empty or stale $R must never reach the host's /dev or /.
root_free() {
	case "$R" in
	/tmp/appvm-init-*/*) ;;
	*) R=; return 0 ;;
	esac
	if grep -q "^appvm-init-dev $R/dev tmpfs " /proc/self/mounts; then
		umount "$R/dev" || umount -l "$R/dev"
	fi
	if grep -q "^appvm-init-test $R tmpfs " /proc/self/mounts; then
		umount "$R" || umount -l "$R"
	fi
	rmdir "$R" 2>/dev/null
	R=
}

# root_run TIMEOUT: run init as PID 1 (after $NS_PRE, if set, runs inside the
# namespaces before the chroot); sets RC to the status of the
# namespace's init as the shell reports it (129 = SIGHUP = reboot,
# 130 = SIGINT = power off; 137 = killed by our timeout). The console goes
# to $R.console, init's log to $R.kmsg.
root_run() {
	readers_start
	timeout -s KILL "$1" unshare --pid --mount --uts --net --ipc --cgroup --fork --kill-child \
		sh -c 'mount -t proc proc "$1/proc" &&
		       mount --bind "$1/.cmdline" "$1/proc/cmdline" &&
		       mount --bind "$1/.core_pattern" "$1/proc/sys/kernel/core_pattern" &&
		       mount --bind "$1/.printk_devkmsg" "$1/proc/sys/kernel/printk_devkmsg" &&
		       eval "$2" && exec chroot "$1" /sbin/init' sh "$R" "${NS_PRE:-true}"
	RC=$?
	readers_stop
	return 0
}

# readers_start: copy the console and kmsg FIFOs to $R.console and $R.kmsg.
# O_RDWR on a FIFO: the reader never sees EOF between writers.
readers_start() {
	: >"$R.console"
	: >"$R.kmsg"
	cat 0<>"$R/dev/console" >"$R.console" &
	_reader=$!
	cat 0<>"$R/dev/kmsg" >"$R.kmsg" &
	_kreader=$!
}

# reader_drain PID FILE: write an end marker into the FIFO reader PID holds
# (through /proc: the path may be gone), wait until it has copied everything
# up to the marker, then stop it and drop the marker.
reader_drain() {
	[ -n "$1" ] || return 0
	if echo "appvm-test-end-of-fifo" 2>/dev/null 1<>"/proc/$1/fd/0"; then
		_n=0
		while [ $_n -lt 50 ] && ! grep -q '^appvm-test-end-of-fifo$' "$2"; do
			sleep 0.1
			_n=$((_n + 1))
		done
	fi
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	sed -i '/^appvm-test-end-of-fifo$/d' "$2"
}

readers_stop() {
	reader_drain "$_reader" "$R.console"
	reader_drain "$_kreader" "$R.kmsg"
	_reader= _kreader=
}

# root_start: like root_run but in the background; sets NS_PID to the host
# pid of the namespace's init once it is running.
root_start() {
	readers_start
	unshare --pid --mount --uts --net --ipc --cgroup --fork --kill-child \
		sh -c 'mount -t proc proc "$1/proc" &&
		       mount --bind "$1/.cmdline" "$1/proc/cmdline" &&
		       mount --bind "$1/.core_pattern" "$1/proc/sys/kernel/core_pattern" &&
		       mount --bind "$1/.printk_devkmsg" "$1/proc/sys/kernel/printk_devkmsg" &&
		       eval "$2" && exec chroot "$1" /sbin/init' sh "$R" "${NS_PRE:-true}" &
	_unshare=$!
	NS_PID=
	for _i in $(seq 200); do
		NS_PID=$(cat "/proc/$_unshare/task/$_unshare/children" 2>/dev/null | tr -d ' ')
		[ -n "$NS_PID" ] && [ "$(cat "/proc/$NS_PID/comm" 2>/dev/null)" = init ] && break
		sleep 0.05
	done
}

# ns_kill SIGNAL: signal the root_start'ed namespace's init, and nothing
# else: NS_PID must be a number above 1 whose parent is our unshare.
ns_kill() {
	case "$NS_PID" in ''|*[!0-9]*) echo "ns_kill: no namespace init pid" >&2; return 1 ;; esac
	[ "$NS_PID" -gt 1 ] || return 1
	[ "$(awk '$1 == "PPid:" { print $2 }' "/proc/$NS_PID/status" 2>/dev/null)" = "$_unshare" ] ||
		{ echo "ns_kill: pid $NS_PID is not our namespace's init" >&2; return 1; }
	kill "-$1" "$NS_PID"
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
	readers_stop
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
log_has() { grep -Eq -- "$1" "$R.kmsg"; }

# log_order A B: the first line matching A comes before the first matching B.
log_order() {
	_a=$(grep -nE -- "$1" "$R.kmsg" | head -1 | cut -d: -f1)
	_b=$(grep -nE -- "$2" "$R.kmsg" | head -1 | cut -d: -f1)
	[ -n "$_a" ] && [ -n "$_b" ] && [ "$_a" -lt "$_b" ]
}

# show: diagnostics for a failed case.
show() {
	echo "    --- init log ($R.kmsg):"
	sed 's/^/    | /' "$R.kmsg" | tail -40
	echo "    --- console:"
	sed 's/^/    | /' "$R.console" | tail -20
}
