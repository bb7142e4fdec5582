# The escape suite from inside real device processes (sandbox_spawn with
# the virtio_blk policy, tests/native/sandbox_escape.c) where / is rootfs:
# the jail takes its move-mount + chroot path here. Every attempt must be
# blocked, every control must work outside the sandbox, and the device's
# own disk I/O must work inside it.
# timeout: 120
grep -qE '^[^ ]+ / rootfs ' /proc/mounts || { echo "/ is not rootfs here:"; cat /proc/mounts; exit 1; }
"$BIN/e2e/sandbox-escape" >"$WORK/out" 2>"$WORK/err"
rc=$?
cat "$WORK/out"
tail -5 "$WORK/err"
[ $rc -eq 0 ] || { echo "sandbox-escape exited $rc"; exit 1; }
grep -qE '^(FAIL|SKIP) ' "$WORK/out" && exit 1
n=$(grep -c '^PASS native/sandbox_escape/[a-z_0-9]*: blocked' "$WORK/out")
[ "$n" -ge 25 ] || { echo "only $n attempts blocked, want >= 25"; exit 1; }
grep -q '^PASS native/sandbox_escape/device_disk_io' "$WORK/out" || exit 1
exit 0
