# guest-init as the appliance's /sbin/init: the appliance kernel mounts the
# squashfs root (vmm -r adds root=/dev/vda ro) and starts our init, which
# mounts the system filesystems, starts the image's service, runs init.app=
# with init.args=/init.env= on the console in its own session, and on its
# exit powers off through the exit port, so vmm exits with the app's
# status. Then: init.on_app_exit=reboot ends the VM by reset (vmm status
# 0), and a missing app is reported as 127.
# arch: x86_64 aarch64
# timeout: 480
. "$E2E_LIB/scenario.sh"
vmm_run a -k "$KERNEL_BZIMAGE" -r "$ASSETS/init/root.sqfs" \
	-p "$GUEST_PARAMS init.app=/bin/app init.args=\"37 'two words' three\" init.env=GREETING=hi init.hostname=e2e-guest"
expect_line a '^E2E-GUEST: app=exiting'
expect_rc a 37
v() { guest_value a "$1"; }
[ "$(v pid1)" = init ] || fail "PID 1 is '$(v pid1)', want init"
[ "$(v pid1exe)" = /sbin/init ] || fail "PID 1 runs '$(v pid1exe)', want /sbin/init (ours)"
[ "$(v root)" = "/dev/root,squashfs,ro" ] || fail "/ is '$(v root)', want the read-only squashfs"
expect_line a '^E2E-GUEST: argc=3 args=37\|two_words\|three\|'
[ "$(v greeting)" = hi ] || fail "init.env: GREETING='$(v greeting)'"
for m in /proc /sys /dev /dev/pts /dev/shm /run /tmp /sys/fs/cgroup; do
	case ",$(v mounts)" in *",$m,"*) ;; *) fail "$m not mounted: $(v mounts)" ;; esac
done
[ "$(v session)" = leader ] || fail "the app is not a session leader"
[ "$(v stdout)" = /dev/console ] || fail "the app's stdout is '$(v stdout)', want /dev/console"
[ "$(v hostname)" = e2e-guest ] || fail "hostname '$(v hostname)', want e2e-guest (init.hostname=)"
[ "$(v lo)" != down ] || fail "lo is down"
[ "$(v service)" = svc-ok ] || fail "service hello.conf did not run (or without its env=): '$(v service)'"
expect_line a 'init: app /bin/app \(pid [0-9]+\) exited with status 37'
expect_line a 'init: power off \(status 37\)'

vmm_run b -k "$KERNEL_BZIMAGE" -r "$ASSETS/init/root.sqfs" \
	-p "$GUEST_PARAMS init.app=/bin/app init.args=5 init.on_app_exit=reboot"
expect_line b '^E2E-GUEST: app=exiting'
expect_line b 'init: reboot \(status 5\)'
expect_rc b 0

vmm_run c -k "$KERNEL_BZIMAGE" -r "$ASSETS/init/root.sqfs" -p "$GUEST_PARAMS init.app=/bin/nope init.bogus=1"
expect_line c 'init: unknown key init.bogus ignored'
expect_line c 'init: app /bin/nope: exec failed: No such file or directory'
expect_rc c 127
