#!/bin/sh
# Native tests of build/guest/init as PID 1 in fresh PID/mount/UTS/net/IPC
# namespaces over a scratch tmpfs root (see tests/native/init/lib.sh). The
# namespace's init ends by reboot(2): SIGINT (status 130) is power off,
# SIGHUP (129) is reboot (kernel/pid_namespace.c: reboot_pid_ns).
cd "$(dirname "$0")/../.." || exit 1
T_SUITE=native/init
. tests/native/init/lib.sh
init_can_run || exit 0

W=$(mktemp -d /tmp/appvm-init-native.XXXXXX) || exit 1
R=
# root_free only touches our own tmpfs mounts under $W (see lib.sh).
trap 'root_free; case "$W" in /tmp/appvm-init-native.*) rm -rf --one-file-system "$W" ;; esac' EXIT INT TERM
musl-gcc -static -O2 -o "$W/orphans" tests/native/init/orphans.c || { fail build-helpers "musl-gcc orphans.c"; exit 1; }
POWEROFF=130
REBOOT=129

# app SCRIPT: install /bin/app (a busybox sh script) in the current root.
app() {
	{ echo '#!/bin/sh'; cat; } >"$R/bin/app"
	chmod +x "$R/bin/app"
}

case_mounts() {
	root_new "$W/r" 'console=ttyS0 init.app=/bin/app'
	app <<'A'
cat /proc/mounts >/out/mounts
# Read the links before any redirection of this shell's own fds.
l0=$(readlink /proc/$$/fd/0) l1=$(readlink /proc/$$/fd/1) l2=$(readlink /proc/$$/fd/2)
printf '%s\n' "$l0" "$l1" "$l2" >/out/stdio
echo "$$ $(cut -d' ' -f6 /proc/self/stat)" >/out/session
A
	root_run 30
	m=$R/out/mounts
	ok=1 why=
	for want in "proc /proc proc" "sysfs /sys sysfs" "devpts /dev/pts devpts" \
		"tmpfs /dev/shm tmpfs" "tmpfs /run tmpfs" "tmpfs /tmp tmpfs" "cgroup2 /sys/fs/cgroup cgroup2"; do
		grep -q "^$want " "$m" || { ok=0; why="$why missing '$want';"; }
	done
	grep -q '^devpts /dev/pts devpts .*gid=5,mode=620,ptmxmode=666' "$m" || { ok=0; why="$why devpts options;"; }
	grep -q '^tmpfs /tmp tmpfs rw,nosuid,nodev' "$m" || { ok=0; why="$why /tmp flags;"; }
	[ "$(sort -u "$R/out/stdio")" = /dev/console ] || { ok=0; why="$why stdio is not /dev/console: $(tr '\n' ' ' <"$R/out/stdio");"; }
	set -- $(cat "$R/out/session")
	[ -n "$1" ] && [ "$1" = "$2" ] || { ok=0; why="$why app not a session leader ($*);"; }
	[ "$RC" = $POWEROFF ] || { ok=0; why="$why status $RC, want $POWEROFF;"; }
	[ "$(cat "$R/.printk_devkmsg")" = on ] || { ok=0; why="$why printk_devkmsg not set to on;"; }
	# Every mount made by init was undone at shutdown: the harness's view
	# of the shared tmpfs is unaffected, so check the log instead.
	log_has 'syncing and unmounting' || { ok=0; why="$why no unmount step logged;"; }
	if [ $ok = 1 ]; then pass mounts; else fail mounts "$why"; show; fi
	root_free
}

case_app_args_env_status() {
	root_new "$W/r" "init.app=/bin/app init.args=\"one 'two three' four\" init.env=\"GREETING=hello 'SPACED=a b'\" init.workdir=/tmp"
	app <<'A'
echo "argc=$# 1=[$1] 2=[$2] 3=[$3]"
echo "GREETING=[$GREETING] SPACED=[$SPACED] HOME=[$HOME]"
echo "cwd=[$(pwd)]"
echo "path=[$PATH]"
exit 42
A
	root_run 30
	c=$R.console ok=1 why=
	grep -q '^argc=3 1=\[one\] 2=\[two three\] 3=\[four\]$' "$c" || { ok=0; why="$why args;"; }
	grep -q '^GREETING=\[hello\] SPACED=\[a b\] HOME=\[/\]$' "$c" || { ok=0; why="$why env;"; }
	grep -q '^cwd=\[/tmp\]$' "$c" || { ok=0; why="$why workdir;"; }
	grep -q '^path=\[/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\]$' "$c" || { ok=0; why="$why PATH;"; }
	log_has 'app /bin/app \(pid [0-9]+\) exited with status 42' || { ok=0; why="$why status not logged;"; }
	log_has 'power off \(status 42\)' || { ok=0; why="$why final status not 42;"; }
	[ "$RC" = $POWEROFF ] || { ok=0; why="$why namespace status $RC, want $POWEROFF (power off);"; }
	if [ $ok = 1 ]; then pass app_args_env_status; else fail app_args_env_status "$why"; show; fi
	root_free
}

case_app_killed_by_signal() {
	root_new "$W/r" 'init.app=/bin/app'
	app <<'A'
kill -SEGV $$
A
	root_run 30
	if log_has 'killed by signal 11 \(status 139\)' && log_has 'power off \(status 139\)'; then
		pass app_killed_by_signal
	else
		fail app_killed_by_signal "signal death not reported as 139"; show
	fi
	root_free
}

case_app_missing() {
	root_new "$W/r" 'init.app=/bin/nosuchapp'
	root_run 30
	if log_has 'app /bin/nosuchapp: exec failed: No such file or directory' &&
	   log_has 'power off \(status 127\)' && [ "$RC" = $POWEROFF ]; then
		pass app_missing_is_127
	else
		fail app_missing_is_127 "RC=$RC"; show
	fi
	root_free
}

case_app_user() {
	root_new "$W/r" 'init.app=/bin/app init.user=daemon'
	app <<'A'
echo "uid=$(id -u) gid=$(id -g)"
A
	root_run 30
	if grep -q '^uid=2 gid=3$' "$R.console"; then pass app_user; else fail app_user "$(cat "$R.console")"; show; fi
	root_free
}

case_on_app_exit_reboot() {
	root_new "$W/r" 'init.app=/bin/true init.on_app_exit=reboot'
	root_run 30
	if [ "$RC" = $REBOOT ] && log_has 'reboot \(status 0\)'; then
		pass on_app_exit_reboot
	else
		fail on_app_exit_reboot "namespace status $RC, want $REBOOT (SIGHUP = restart)"; show
	fi
	root_free
}

case_on_app_exit_stay_and_signals() {
	root_new "$W/r" 'init.app=/bin/app init.on_app_exit=stay'
	app <<'A'
exit 3
A
	root_start
	ok=1 why=
	wait_for "$R.kmsg" 'keeping the system up' 10 || { ok=0; why="$why did not stay;"; }
	# Signals init does not act on must neither kill it nor stop it.
	ns_kill HUP; ns_kill USR1; ns_kill QUIT; ns_kill CHLD
	sleep 0.3
	kill -0 "$_unshare" 2>/dev/null || { ok=0; why="$why died on HUP/USR1/QUIT;"; }
	ns_kill TERM
	root_wait 20
	[ "$RC" = $POWEROFF ] || { ok=0; why="$why SIGTERM gave status $RC, want $POWEROFF;"; }
	log_has 'shutdown \(SIGTERM\)' || { ok=0; why="$why SIGTERM shutdown not logged;"; }
	log_has 'power off \(status 3\)' || { ok=0; why="$why app status not kept;"; }
	if [ $ok = 1 ]; then pass on_app_exit_stay_sigterm_poweroff; else fail on_app_exit_stay_sigterm_poweroff "$why"; show; fi
	root_free

	root_new "$W/r" 'init.on_app_exit=stay'
	root_start
	wait_for "$R.kmsg" 'running services only' 10
	ns_kill INT
	root_wait 20
	if [ "$RC" = $REBOOT ] && log_has 'shutdown \(SIGINT'; then
		pass sigint_reboots
	else
		fail sigint_reboots "status $RC, want $REBOOT"; show
	fi
	root_free
}

case_orphan_storm() {
	root_new "$W/r" 'init.app=/bin/app init.shutdown_timeout=30'
	cp "$W/orphans" "$R/bin/orphans"
	app <<'A'
/bin/orphans 10000 >/out/made
# Orphans are init's to reap; give it a bounded while, then count.
i=0
while [ $i -lt 100 ]; do
	z=$(cat /proc/[0-9]*/stat 2>/dev/null | grep -c ') Z ')
	[ "$z" = 0 ] && break
	sleep 0.1
	i=$((i + 1))
done
echo "$z" >/out/zombies
ls -d /proc/[0-9]* | wc -l >/out/procs
A
	# A bound, not a speed target: 10000 forks took over 120 s at load 20.
	root_run 400
	made=$(cat "$R/out/made" 2>/dev/null) z=$(cat "$R/out/zombies" 2>/dev/null)
	if [ "$made" = "orphans made: 10000" ] && [ "$z" = 0 ]; then
		pass orphan_storm_10000_no_zombies
	else
		fail orphan_storm_10000_no_zombies "made='$made' zombies='$z' procs=$(cat "$R/out/procs" 2>/dev/null)"; show
	fi
	root_free
}

case_crash_loop_capped() {
	root_new "$W/r" 'init.on_app_exit=stay'
	cat >"$R/etc/init/services/crash.conf" <<'C'
# dies at once, every time
exec=/bin/sh
args=-c 'echo crash >>/out/crash.log; exit 3'
respawn=yes
C
	root_start
	ok=1 why=
	wait_for "$R.kmsg" 'service crash: 10 restarts within 30 s, giving up' 40 || { ok=0; why="$why never gave up;"; }
	n1=$(wc -l <"$R/out/crash.log")
	sleep 1.5
	n2=$(wc -l <"$R/out/crash.log")
	ns_kill TERM
	root_wait 20
	# First start plus 10 restarts, then nothing more.
	[ "$n1" = 11 ] && [ "$n2" = 11 ] || { ok=0; why="$why ran $n1 then $n2 times, want 11;"; }
	[ "$(grep -c 'service crash (pid [0-9]*) exited with status 3' "$R.kmsg")" = 11 ] || { ok=0; why="$why exit lines;"; }
	if [ $ok = 1 ]; then pass crash_loop_capped; else fail crash_loop_capped "$why"; show; fi
	root_free
}

case_services() {
	root_new "$W/r" 'init.app=/bin/app'
	chmod 1777 "$R/out"
	S=$R/etc/init/services
	printf 'exec=/bin/sh\nargs=-c "echo a-started >>/out/order; id -u >/out/a_uid; echo \\"$WHO\\" >/out/a_env"\nenv=WHO=svc-a\nuser=daemon\nafter=zz-b\n' >"$S/a.conf"
	printf 'exec=/bin/sh\nargs=-c "echo b-started >>/out/order"\n' >"$S/zz-b.conf"
	printf 'exec=/bin/sh\nargs=-c "echo c-started >>/out/order; sleep 0.3; exit 0"\nrespawn=no\n' >"$S/c.conf"
	printf 'exec=relative\n' >"$S/broken.conf"
	echo 'not a service' >"$S/README"
	app <<'A'
sleep 1
A
	root_run 30
	ok=1 why=
	log_order 'service zz-b: started' 'service a: started' || { ok=0; why="$why after= not honoured;"; }
	log_order 'service c: started' 'service zz-b: started' || { ok=0; why="$why not in name order;"; }
	[ "$(cat "$R/out/a_uid" 2>/dev/null)" = 2 ] || { ok=0; why="$why user=daemon not applied;"; }
	[ "$(cat "$R/out/a_env" 2>/dev/null)" = svc-a ] || { ok=0; why="$why env= not applied;"; }
	log_has 'broken.conf: exec= missing or not an absolute path' || { ok=0; why="$why bad service not reported;"; }
	log_has 'service c \(pid [0-9]+\) exited with status 0' || { ok=0; why="$why exit of c not logged;"; }
	[ "$(grep -c c-started "$R/out/order")" = 1 ] || { ok=0; why="$why non-respawn service restarted;"; }
	if [ $ok = 1 ]; then pass services_order_user_env; else fail services_order_user_env "$why"; show; fi
	root_free
}

case_shutdown_order() {
	root_new "$W/r" 'init.app=/bin/app init.shutdown_timeout=1'
	app <<'A'
# Ignores SIGTERM (the sleeps inherit the ignored disposition).
sh -c 'trap "" TERM; echo ignorer-up >/out/ignorer; while :; do sleep 1; done' &
# Handles SIGTERM and leaves a mark.
sh -c 'trap "echo got-term >/out/handler; exit 0" TERM; echo handler-up >/out/h_up; while :; do sleep 0.1; done' &
while [ ! -e /out/ignorer ] || [ ! -e /out/h_up ]; do sleep 0.05; done
exit 0
A
	root_run 60
	ok=1 why=
	log_order 'sending SIGTERM to all processes' 'processes still running after 1000 ms: sending SIGKILL' || { ok=0; why="$why TERM then KILL not in order;"; }
	log_order 'sending SIGKILL' 'all processes gone' || { ok=0; why="$why KILL did not finish the job;"; }
	log_order 'all processes gone' 'power off \(status 0\)' || { ok=0; why="$why sync/unmount before power off;"; }
	[ "$(cat "$R/out/handler" 2>/dev/null)" = got-term ] || { ok=0; why="$why TERM handler never ran;"; }
	[ "$RC" = $POWEROFF ] || { ok=0; why="$why status $RC;"; }
	if [ $ok = 1 ]; then pass shutdown_term_timeout_kill; else fail shutdown_term_timeout_kill "$why"; show; fi
	root_free

	# Everything leaves on SIGTERM: no SIGKILL round, no waiting it out.
	root_new "$W/r" 'init.app=/bin/app init.shutdown_timeout=60'
	app <<'A'
sleep 1000 &
exit 0
A
	root_run 50
	if [ "$RC" = $POWEROFF ] && ! log_has 'SIGKILL' && log_has 'all processes gone'; then
		pass shutdown_no_kill_when_all_exit
	else
		fail shutdown_no_kill_when_all_exit "RC=$RC"; show
	fi
	root_free
}

case_modules() {
	rel=$(uname -r)
	root_new "$W/r" "init.app=/bin/true init.modules=appvmfake_blk,appvmfake_missing,appvmfake_orphan appvmfake_ring.depth=3 appvmfake_blk.x=1"
	d=$R/lib/modules/$rel
	mkdir -p "$d/kernel/drivers"
	cat >"$d/modules.dep" <<'D'
kernel/drivers/appvmfake_blk.ko: kernel/drivers/appvmfake_virtio.ko kernel/drivers/appvmfake_ring.ko
kernel/drivers/appvmfake_virtio.ko: kernel/drivers/appvmfake_ring.ko
kernel/drivers/appvmfake_ring.ko:
kernel/drivers/appvmfake_orphan.ko: kernel/drivers/appvmfake_gone.ko
D
	for m in blk virtio ring orphan; do echo "not an ELF file" >"$d/kernel/drivers/appvmfake_$m.ko"; done
	root_run 30
	ok=1 why=
	# The deepest dependency goes first, with its command-line parameter.
	first=$(grep -m1 'module .*: loading' "$R.kmsg")
	case "$first" in
	*"module appvmfake_ring: loading /lib/modules/$rel/kernel/drivers/appvmfake_ring.ko depth=3") ;;
	*) ok=0; why="$why first load was '$first';" ;;
	esac
	# The fake .ko is rejected by the kernel (or modules are not built in):
	# a clear error naming it, its dependents are not attempted.
	log_has 'module appvmfake_ring: load /lib/modules/.*/appvmfake_ring.ko failed: ' || { ok=0; why="$why load failure not named;"; }
	log_has 'module appvmfake_blk: loading' && { ok=0; why="$why dependent loaded after its dependency failed;"; }
	log_has "module appvmfake_missing: not found in /lib/modules/$rel/modules.dep" || { ok=0; why="$why missing module not named;"; }
	log_has 'module appvmfake_orphan: dependency kernel/drivers/appvmfake_gone.ko not found' || { ok=0; why="$why missing dependency not named;"; }
	log_has 'app /bin/true .* exited with status 0' || { ok=0; why="$why boot did not continue;"; }
	if [ $ok = 1 ]; then pass modules_dep_order_and_errors; else fail modules_dep_order_and_errors "$why"; show; fi
	root_free
}

case_network() {
	# eth0 + its veth peer inside the test's network namespace.
	NS_PRE='ip link add eth0 type veth peer name peer0'
	root_new "$W/r" 'init.app=/bin/app ip=10.11.12.13::10.11.12.1:255.255.255.0:guest-ip:eth0:off'
	app <<'A'
ip -4 addr show dev eth0 >/out/addr
ip link show dev eth0 >/out/link
ip link show dev lo >/out/lo
ip route >/out/route
hostname >/out/hostname
A
	root_run 30
	NS_PRE=
	ok=1 why=
	grep -q 'inet 10.11.12.13/24' "$R/out/addr" || { ok=0; why="$why address: $(tr '\n' ' ' <"$R/out/addr");"; }
	grep -q '<.*UP.*>' "$R/out/link" || { ok=0; why="$why eth0 not up;"; }
	grep -q '<LOOPBACK,UP' "$R/out/lo" || { ok=0; why="$why lo not up;"; }
	grep -q '^default via 10.11.12.1 dev eth0' "$R/out/route" || { ok=0; why="$why route: $(tr '\n' ' ' <"$R/out/route");"; }
	[ "$(cat "$R/out/hostname")" = guest-ip ] || { ok=0; why="$why hostname $(cat "$R/out/hostname");"; }
	if [ $ok = 1 ]; then pass ip_static_named_device; else fail ip_static_named_device "$why"; show; fi
	root_free

	# No device named: the first ethernet interface (lowest ifindex);
	# init.hostname wins over ip='s hostname; no gateway, no route.
	NS_PRE='ip link add ethA type veth peer name ethB'
	root_new "$W/r" 'init.app=/bin/app ip=192.168.50.2:::255.255.0.0:from-ip init.hostname=from-key'
	app <<'A'
best=; bi=99999
for d in /sys/class/net/*; do
	[ "$(cat $d/type)" = 1 ] || continue
	i=$(cat $d/ifindex); [ "$i" -lt "$bi" ] && { bi=$i; best=${d##*/}; }
done
echo "$best" >/out/first
ip -4 addr show dev "$best" >/out/addr
ip route >/out/route
hostname >/out/hostname
A
	root_run 30
	NS_PRE=
	ok=1 why=
	grep -q 'inet 192.168.50.2/16' "$R/out/addr" || { ok=0; why="$why not on first ether $(cat "$R/out/first");"; }
	grep -q '^default' "$R/out/route" && { ok=0; why="$why unexpected default route;"; }
	[ "$(cat "$R/out/hostname")" = from-key ] || { ok=0; why="$why hostname $(cat "$R/out/hostname");"; }
	if [ $ok = 1 ]; then pass ip_first_ether_hostname_key; else fail ip_first_ether_hostname_key "$why"; show; fi
	root_free

	# A bad ip= is a warning naming it; the boot goes on unconfigured.
	root_new "$W/r" 'init.app=/bin/true ip=10.0.0.2::10.9.9.9:255.255.255.0::eth0:off'
	root_run 30
	if log_has 'ip=10.0.0.2::10.9.9.9:255.255.255.0::eth0:off: gw-ip is outside client-ip.s subnet; using default' &&
	   log_has 'exited with status 0'; then
		pass ip_bad_value_warns
	else
		fail ip_bad_value_warns "no warning"; show
	fi
	root_free
}

case_user_mounts() {
	root_new "$W/r" 'init.app=/bin/app init.mount=tmpfs:/data:tmpfs:size=1m,mode=0700,nosuid init.mount=/dev/nonexistent:/opt/x:ext4:nofail'
	app <<'A'
grep ' /data ' /proc/mounts >/out/data
stat -c %a /data >/out/mode
A
	root_run 30
	ok=1 why=
	grep -q '^tmpfs /data tmpfs rw,nosuid,relatime,size=1024k,mode=700' "$R/out/data" || { ok=0; why="$why /data: $(cat "$R/out/data");"; }
	log_has 'init.mount /dev/nonexistent:/opt/x failed: .*\(nofail, continuing\)' || { ok=0; why="$why nofail not a warning;"; }
	log_has 'exited with status 0' || { ok=0; why="$why app did not run;"; }
	if [ $ok = 1 ]; then pass init_mount_and_nofail; else fail init_mount_and_nofail "$why"; show; fi
	root_free

	# A required mount that fails is fatal: power off before the app.
	root_new "$W/r" 'init.app=/bin/app init.mount=/dev/nonexistent:/data:ext4'
	app <<'A'
echo app-ran >/out/ran
A
	root_run 30
	if [ "$RC" = $POWEROFF ] && log_has 'fatal: init.mount failed' && [ ! -e "$R/out/ran" ]; then
		pass required_mount_failure_fatal
	else
		fail required_mount_failure_fatal "RC=$RC"; show
	fi
	root_free
}

case_config_keys_effects() {
	# loglevel 7 shows debug lines, 3 hides info; unknown keys warn.
	root_new "$W/r" 'init.app=/bin/true init.loglevel=7 init.bogus=1 init.shutdown_timeout=never'
	root_run 30
	ok=1 why=
	log_has '^<7>init: ' || { ok=0; why="$why no debug lines at loglevel 7;"; }
	log_has '^<4>init: unknown key init.bogus ignored' || { ok=0; why="$why unknown key not warned;"; }
	log_has 'init.shutdown_timeout=never: expected seconds .*using default 10' || { ok=0; why="$why bad value not warned;"; }
	log_has 'exited with status 0' || { ok=0; why="$why boot stopped;"; }
	if [ $ok = 1 ]; then pass loglevel_debug_and_warnings; else fail loglevel_debug_and_warnings "$why"; show; fi
	root_free

	root_new "$W/r" 'init.app=/bin/true init.loglevel=3'
	root_run 30
	if ! grep -q '^<[4-7]>' "$R.kmsg" && [ "$RC" = $POWEROFF ]; then
		pass loglevel_quiet
	else
		fail loglevel_quiet "lines above 3 logged"; show
	fi
	root_free

	# init.services= moves the directory; init.crash_collector= sets core_pattern.
	root_new "$W/r" 'init.app=/bin/app init.services=/etc/other init.crash_collector=/sbin/cc'
	mkdir -p "$R/etc/other"
	printf 'exec=/bin/sh\nargs=-c "echo other >/out/other"\n' >"$R/etc/other/o.conf"
	printf 'exec=/bin/sh\nargs=-c "echo default >/out/default"\n' >"$R/etc/init/services/d.conf"
	printf '#!/bin/sh\nexit 0\n' >"$R/sbin/cc"; chmod +x "$R/sbin/cc"
	app <<'A'
sleep 0.5
A
	root_run 30
	ok=1 why=
	[ -e "$R/out/other" ] && [ ! -e "$R/out/default" ] || { ok=0; why="$why services dir not honoured;"; }
	[ "$(cat "$R/.core_pattern")" = '|/sbin/cc %P %s %e' ] || { ok=0; why="$why core_pattern '$(cat "$R/.core_pattern")';"; }
	if [ $ok = 1 ]; then pass services_dir_and_crash_collector; else fail services_dir_and_crash_collector "$why"; show; fi
	root_free

	# No collector in the image: core_pattern untouched.
	root_new "$W/r" 'init.app=/bin/true'
	root_run 30
	if [ ! -s "$R/.core_pattern" ]; then pass no_crash_collector_untouched; else fail no_crash_collector_untouched "written"; fi
	root_free
}

# sqroot DIR: a minimal root tree (busybox, our init, /bin/app) at DIR.
sqroot() {
	rm -rf "$1"
	mkdir -p "$1/bin" "$1/sbin" "$1/proc" "$1/sys" "$1/dev" "$1/run" "$1/tmp" "$1/etc" "$1/lib"
	cp "$BUSYBOX" "$1/bin/busybox"
	for a in sh cat echo grep ls; do ln -s busybox "$1/bin/$a"; done
	cp "$INIT_BIN" "$1/sbin/init"
	printf '#!/bin/sh\necho "hello from the real root"\ngrep " / " /proc/mounts\nexit 5\n' >"$1/bin/app"
	chmod +x "$1/bin/app"
}

# switch_case NAME IMAGE EXTRA_CMDLINE FSTYPE: boot from an initramfs (our
# scratch tmpfs) into IMAGE on a loop device.
switch_case() {
	loop=$(losetup -f --show -r "$2") || { fail "$1" "losetup"; return; }
	root_new "$W/r" "root=$loop init.app=/bin/app $3"
	set -- "$1" "$2" "$3" "$4" $(stat -L -c '%t %T' "$loop")
	mknod "$R$loop" b $((0x$5)) $((0x$6))
	root_run 60
	losetup -d "$loop"
	ok=1 why=
	log_has "root $loop \\($4\\) mounted read-only, switching to it" || { ok=0; why="$why no switch;"; }
	grep -q "^hello from the real root" "$R.console" || { ok=0; why="$why app did not run in the new root;"; }
	grep -q "^$loop / $4 ro" "$R.console" || { ok=0; why="$why / is not $4 read-only;"; }
	log_has 'power off \(status 5\)' || { ok=0; why="$why app status lost;"; }
	[ "$RC" = $POWEROFF ] || { ok=0; why="$why status $RC;"; }
	# The initramfs was emptied (only mount points may stay).
	[ ! -e "$R/bin/busybox" ] && [ ! -e "$R/sbin/init" ] && [ ! -e "$R/.cmdline" ] || { ok=0; why="$why initramfs not emptied;"; }
	if [ $ok = 1 ]; then pass "$1"; else fail "$1" "$why"; show; fi
	root_free
}

case_initramfs() {
	if ! command -v mksquashfs >/dev/null || ! losetup -f >/dev/null 2>&1; then
		skip initramfs_switch_root "needs mksquashfs and a free loop device"
		return
	fi
	sqroot "$W/sq"
	mksquashfs "$W/sq" "$W/root.sqfs" -noappend -quiet -all-root >/dev/null ||
		{ fail initramfs_switch_root_squashfs "mksquashfs"; return; }
	switch_case initramfs_switch_root_squashfs "$W/root.sqfs" "" squashfs
	if command -v mkfs.ext4 >/dev/null; then
		rm -f "$W/root.ext4"
		mkfs.ext4 -q -d "$W/sq" "$W/root.ext4" 16M >/dev/null && \
			switch_case initramfs_switch_root_ext4_detected "$W/root.ext4" "rootflags=noatime" ext4
	else
		skip initramfs_switch_root_ext4_detected "no mkfs.ext4"
	fi

	# root= naming an image file inside the initramfs: attached to a loop
	# device (read-only, autoclear), then the same switch.
	root_new "$W/r" "root=/root.sqfs init.app=/bin/app"
	cp "$W/root.sqfs" "$R/root.sqfs"
	root_run 60
	ok=1 why=
	dev=$(sed -n 's/.*root=\/root.sqfs attached to \(\/dev\/loop[0-9]*\) (read-only).*/\1/p' "$R.kmsg" | head -1)
	[ -n "$dev" ] || { ok=0; why="$why not attached to a loop device;"; }
	log_has "root $dev \\(squashfs\\) mounted read-only, switching to it" || { ok=0; why="$why no switch;"; }
	grep -q "^hello from the real root" "$R.console" || { ok=0; why="$why app did not run in the new root;"; }
	grep -q "^$dev / squashfs ro" "$R.console" || { ok=0; why="$why / is not the loop device;"; }
	log_has 'power off \(status 5\)' || { ok=0; why="$why app status lost;"; }
	[ ! -e "$R/root.sqfs" ] && [ ! -e "$R/bin/busybox" ] || { ok=0; why="$why initramfs not emptied;"; }
	# Autoclear: the loop device was released with the namespace's mounts.
	if [ -n "$dev" ]; then
		_n=0
		while [ -e "/sys/block/${dev#/dev/}/loop/backing_file" ] && [ $_n -lt 50 ]; do sleep 0.1; _n=$((_n + 1)); done
		[ ! -e "/sys/block/${dev#/dev/}/loop/backing_file" ] || { ok=0; why="$why $dev still attached;"; }
	fi
	if [ $ok = 1 ]; then pass initramfs_root_image_file_loop; else fail initramfs_root_image_file_loop "$why"; show; fi
	root_free

	# init= names the program to exec in the new root; a missing one is a
	# clear fatal error before anything is switched or wiped.
	root_new "$W/r" "root=/root.sqfs init=/sbin/nope init.app=/bin/app"
	cp "$W/root.sqfs" "$R/root.sqfs"
	root_run 60
	if log_has 'root=/root.sqfs has no executable /sbin/nope' && log_has 'fatal: switch to root=' &&
	   [ "$RC" = $POWEROFF ] && [ -e "$R/bin/busybox" ]; then
		pass initramfs_init_key_missing_fatal
	else
		fail initramfs_init_key_missing_fatal "RC=$RC"; show
	fi
	root_free

	# Explicit rootfstype= is used as given (wrong here: mount fails, fatal).
	loop=$(losetup -f --show -r "$W/root.sqfs")
	root_new "$W/r" "root=$loop rootfstype=ext4 init.app=/bin/app"
	set -- $(stat -L -c '%t %T' "$loop")
	mknod "$R$loop" b $((0x$1)) $((0x$2))
	root_run 30
	losetup -d "$loop"
	if log_has "mount root=$loop \\(ext4\\) on /sysroot: " && log_has 'fatal: switch to root=' &&
	   [ "$RC" = $POWEROFF ] && [ -e "$R/bin/busybox" ]; then
		pass rootfstype_used_and_failure_fatal
	else
		fail rootfstype_used_and_failure_fatal "RC=$RC"; show
	fi
	root_free

	# The root device never appears: bounded wait, then fatal power off.
	root_new "$W/r" "root=/dev/vdz init.root_timeout=300ms init.app=/bin/app"
	root_run 30
	if log_has 'root=/dev/vdz: device did not appear within 300 ms' && [ "$RC" = $POWEROFF ]; then
		pass root_wait_bounded
	else
		fail root_wait_bounded "RC=$RC"; show
	fi
	root_free
}

# The extension API (guest-init/pid1.h), driven by tests/native/init/ext.c
# linked with init's own sources: spawn with captured output and an exit
# callback, an fd in init's loop, a mount, and a shutdown request from inside
# a callback, carried out after it returns (a reboot: status 129).
case_extension_api() {
	# init's core: every source but main.c and the RPC service (the files
	# that need proto/ and nanopb, which the test extension replaces), and
	# the event loop library it runs (evloop/).
	srcs=$(echo evloop/*.c)
	for f in guest-init/*.c; do
		case "$f" in */main.c|*/maitred*.c) continue ;; esac
		grep -q '"proto/' "$f" || srcs="$srcs $f"
	done
	if ! ${MUSL_CC:-musl-gcc} -std=gnu11 -D_GNU_SOURCE -Os -static -I. -isystem "$O/uapi" \
		-o "$W/ext" tests/native/init/ext.c $srcs 2>"$W/ext.log"; then
		fail extension_api "building ext.c: $(head -5 "$W/ext.log")"
		return
	fi
	root_new "$W/r" 'init.app=/bin/app'
	cp "$W/ext" "$R/sbin/init"
	# Still running at the shutdown: the extension's status (9) is reported.
	app <<'A'
exec sleep 1000
A
	root_run 30
	e=$R/out/ext ok=1 why=
	grep -q '^app=/bin/app loglevel=6$' "$e" || { ok=0; why="$why config not visible;"; }
	pid=$(sed -n 's/^spawned=\/bin\/sh pid=\([0-9]*\)$/\1/p' "$e")
	[ -n "$pid" ] || { ok=0; why="$why no spawn;"; }
	grep -q '^bad spawn stage=exec r=-2$' "$e" || { ok=0; why="$why failed spawn not reported as exec ENOENT;"; }
	# Output captured through the pipe, stdout and stderr, in its own session.
	grep -q "^captured=out sid=$pid pid=$pid|err| status=7\$" "$e" ||
		{ ok=0; why="$why capture/status: $(tr '\n' ' ' <"$e");"; }
	grep -q '^mount=/ext-mnt r=0$' "$e" || { ok=0; why="$why mount failed;"; }
	grep -q '^requested shutdown, still in the callback r=0$' "$e" || { ok=0; why="$why request did not return;"; }
	log_has 'shutdown \(test extension\): sending SIGTERM' || { ok=0; why="$why no shutdown;"; }
	log_has 'app /bin/app \(pid [0-9]+\) killed by signal 15' || { ok=0; why="$why app not stopped by the shutdown;"; }
	log_has 'reboot \(status 9\)' || { ok=0; why="$why not a reboot with the requested status;"; }
	[ "$RC" = $REBOOT ] || { ok=0; why="$why status $RC, want $REBOOT;"; }
	if [ $ok = 1 ]; then pass extension_api; else fail extension_api "$why"; show; cat "$e"; fi
	root_free
}

case_print_config_golden() {
	g=tests/native/init/golden
	ok=1 why=
	for c in "$g"/*.cmdline; do
		n=${c%.cmdline}
		"$INIT_BIN" --print-config "$c" >"$W/out" 2>"$W/err"
		diff -u "$n.out" "$W/out" >"$W/diff" || { ok=0; why="$why $(basename "$n").out differs;"; cat "$W/diff"; }
		diff -u "$n.err" "$W/err" >"$W/diff" || { ok=0; why="$why $(basename "$n").err differs;"; cat "$W/diff"; }
	done
	if [ $ok = 1 ]; then pass print_config_golden; else fail print_config_golden "$why"; fi
	"$INIT_BIN" >/dev/null 2>"$W/err"
	rc=$?
	if [ $rc = 100 ] && grep -q usage "$W/err"; then pass not_pid1_usage_exit_100; else fail not_pid1_usage_exit_100 "rc=$rc"; fi
	"$INIT_BIN" --print-config /nonexistent/file >/dev/null 2>"$W/err"
	rc=$?
	if [ $rc = 111 ] && grep -q '/nonexistent/file' "$W/err"; then pass print_config_missing_file; else fail print_config_missing_file "rc=$rc"; fi
}

case_mounts
case_app_args_env_status
case_app_killed_by_signal
case_app_missing
case_app_user
case_on_app_exit_reboot
case_on_app_exit_stay_and_signals
case_orphan_storm
case_crash_loop_capped
case_services
case_shutdown_order
case_modules
case_network
case_user_mounts
case_config_keys_effects
case_initramfs
case_extension_api
case_print_config_golden
exit $T_FAILED
