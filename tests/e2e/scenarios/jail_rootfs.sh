# The jail where the host's / is an initramfs (rootfs), as in this L1
# machine: pivot_root(2) refuses rootfs with EINVAL, so build/jail takes
# its move-mount + chroot path (docs/SANDBOX.md). The whole native escape
# suite (tests/native/jail.sh with tests/native/jail/escape.c) runs here
# against build/jail, every probe and attempt must PASS (no SKIP), and the
# jail's root must really be its own empty tmpfs.
# timeout: 180
grep -qE '^[^ ]+ / rootfs ' /proc/mounts || { echo "/ is not rootfs here:"; cat /proc/mounts; exit 1; }
# The jailed shell sees only its binds: a read-only tmpfs root holding them.
out=$("$BIN/jail" -U -p -v -e -l -N -b /bin /bin/sh -c 'ls / ; touch /x 2>&1; ls /e2e 2>&1' 2>&1)
echo "$out"
[ "$(echo "$out" | head -2 | tr '\n' ' ')" = "bin proc " ] || { echo "jail root is not empty + binds"; exit 1; }
echo "$out" | grep -q "Read-only file system" || { echo "jail root is writable"; exit 1; }
echo "$out" | grep -q "No such file" || { echo "host /e2e visible in the jail"; exit 1; }
# The suite's network control connects to a listener on 127.0.0.1.
ip link set lo up || exit 1
JAIL_STRICT=1 ESCAPE=$ASSETS/jail_rootfs/escape JAIL=$BIN/jail \
	sh "$ASSETS/jail_rootfs/tests/native/jail.sh" >"$WORK/suite.out" 2>&1
rc=$?
cat "$WORK/suite.out"
[ $rc -eq 0 ] || { echo "suite exited $rc"; exit 1; }
grep -q '^FAIL ' "$WORK/suite.out" && exit 1
grep -q '^SKIP ' "$WORK/suite.out" && exit 1
n=$(grep -c '^PASS ' "$WORK/suite.out")
[ "$n" -ge 29 ] || { echo "only $n cases passed, want >= 29"; exit 1; }
exit 0
