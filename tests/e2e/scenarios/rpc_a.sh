# Maitred in our init (guest-init/maitred.c) through vmm's control socket:
# the appliance kernel boots the rpc squashfs (/sbin/init = ours) under
# `vmm -s SOCK`; init serves vsock port 8888 because vmm announced itself.
# Checked: `vmm info` (kernel release = the booted kernel's), `vmm exec`
# (uname -r output and status 0, a failing command's status, 127 for a
# missing command, 126 for a non-executable file, stdin, output bound,
# timeout -> 137), a guest process connecting to port 8888 itself through
# vsock loopback is refused (no answer), `vmm set-time`, `vmm mount`, and
# `vmm shutdown`: init powers off cleanly and vmm exits 0.
# arch: x86_64 aarch64
# timeout: 420
. "$E2E_LIB/scenario.sh"
S=$WORK/ctl.sock
vmm=
trap '[ -n "$vmm" ] && kill "$vmm" 2>/dev/null' EXIT
t0=$(cut -d' ' -f1 /proc/uptime)
"$VMM" -k "$KERNEL_BZIMAGE" -r "$ASSETS/rpc/root.sqfs" -s "$S" \
	-p "$GUEST_PARAMS init.app=/bin/marker" </dev/null >"$WORK/a.console" 2>"$WORK/a.err" &
vmm=$!

# The service is up once `vmm info` answers (exit 3/4/5 while vmm or the
# guest is still starting).
i=0
until "$VMM" info "$S" -T 10 >"$WORK/info.out" 2>"$WORK/info.err"; do
	rc=$?
	kill -0 "$vmm" 2>/dev/null || fail "vmm exited before the guest service answered"
	i=$((i + 1))
	[ $i -lt 300 ] || fail "guest service did not answer within ~150 s (last vmm info exit $rc: $(cat "$WORK/info.err"))"
	sleep 0.5
done
echo "guest service answered after $(awk "BEGIN{print $(cut -d' ' -f1 /proc/uptime) - $t0}") s"
cat "$WORK/info.out"
rel=$(sed -n 's/^kernel_release: //p' "$WORK/info.out")
[ -n "$rel" ] || fail "vmm info: no kernel_release"
grep -q "Linux version $rel " "$WORK/a.console" || fail "vmm info: release '$rel' is not the booted kernel's"
grep -q '^init_version: appvm-init ' "$WORK/info.out" || fail "vmm info: init_version missing"
mt=$(sed -n 's/^mem_total_kib: //p' "$WORK/info.out")
[ "${mt:-0}" -gt 100000 ] || fail "vmm info: mem_total_kib '$mt' for a 256 MiB guest"

# x: run vmm exec ARGS, stdout in $WORK/x.out, stderr in $WORK/x.err, status in XRC.
x() { "$VMM" exec "$S" "$@" >"$WORK/x.out" 2>"$WORK/x.err"; XRC=$?; }
x -- uname -r
[ $XRC = 0 ] || fail "exec uname -r: exit $XRC ($(cat "$WORK/x.err"))"
[ "$(cat "$WORK/x.out")" = "$rel" ] || fail "exec uname -r printed '$(cat "$WORK/x.out")', want '$rel'"
x -- sh -c 'echo to-out; echo to-err >&2; exit 42'
[ $XRC = 42 ] || fail "exec exit 42: got $XRC"
[ "$(cat "$WORK/x.out")" = to-out ] || fail "exec stdout '$(cat "$WORK/x.out")'"
grep -q '^to-err$' "$WORK/x.err" || fail "exec stderr: $(cat "$WORK/x.err")"
x -- no-such-command-anywhere
[ $XRC = 127 ] || fail "exec of a missing command: exit $XRC, want 127"
grep -q 'not found' "$WORK/x.err" || fail "exec 127 without 'not found': $(cat "$WORK/x.err")"
x -- /etc/not-executable
[ $XRC = 126 ] || fail "exec of a non-executable file: exit $XRC, want 126"
echo "stdin-bytes" | "$VMM" exec "$S" -i -- cat >"$WORK/x.out" 2>"$WORK/x.err"
[ "$(cat "$WORK/x.out")" = stdin-bytes ] || fail "exec -i cat: '$(cat "$WORK/x.out")'"
x -e GREETING=hello -C /tmp -- sh -c 'echo $GREETING $(pwd) $$ $(cut -d" " -f6 /proc/$$/stat)'
set -- $(cat "$WORK/x.out")
[ "$1 $2" = "hello /tmp" ] || fail "exec -e/-C: '$(cat "$WORK/x.out")'"
[ "$3" = "$4" ] || fail "exec: the command is not a session leader ($3 vs session $4)"
x -- sh -c 'head -c 100000 /dev/zero; exit 3'
[ $XRC = 3 ] || fail "exec with 100000 bytes of output: exit $XRC"
[ "$(wc -c <"$WORK/x.out")" -eq 32000 ] || fail "exec output not bounded to 32000: $(wc -c <"$WORK/x.out")"
grep -q truncated "$WORK/x.err" || fail "exec: truncation not reported"
x -t 1 -- sleep 30
[ $XRC = 137 ] || fail "exec -t 1 sleep 30: exit $XRC, want 137 (SIGKILL)"
grep -q 'timeout' "$WORK/x.err" || fail "exec timeout not reported: $(cat "$WORK/x.err")"

# A process in the guest connecting to port 8888 itself: refused.
x -- /bin/vsock_selfconnect
cat "$WORK/x.out"
grep -q '^E2E-GUEST: loopback=ok' "$WORK/x.out" || fail "vsock loopback does not work in the guest (control connection failed)"
grep -q '^E2E-GUEST: local=refused' "$WORK/x.out" || fail "guest connection to CID 1 port 8888 was not refused"
grep -q '^E2E-GUEST: own=refused' "$WORK/x.out" || fail "guest connection to its own CID port 8888 was not refused"
[ $XRC = 0 ] || fail "vsock_selfconnect exit $XRC"
grep -q 'maitred: refused a connection from CID 1 ' "$WORK/a.console" || fail "init did not log the refusal"

"$VMM" set-time "$S" 2000000000 || fail "vmm set-time 2000000000 failed"
x -- date +%s
t=$(cat "$WORK/x.out")
[ "$t" -ge 2000000000 ] && [ "$t" -lt 2000000300 ] || fail "guest clock after set-time: '$t'"
"$VMM" set-time "$S" || fail "vmm set-time (host clock) failed"
x -- date +%s
d=$(( $(cat "$WORK/x.out") - $(date +%s) ))
[ $d -gt -30 ] && [ $d -lt 30 ] || fail "guest clock differs from the host's by $d s after set-time"

"$VMM" mount "$S" -p tmpfs /run/rpc/mnt tmpfs || fail "vmm mount tmpfs failed"
x -- grep -q ' /run/rpc/mnt tmpfs ' /proc/mounts
[ $XRC = 0 ] || fail "tmpfs not mounted on /run/rpc/mnt in the guest"
"$VMM" mount "$S" /dev/nosuchdisk /mnt/x ext4 2>"$WORK/m.err"
rc=$?
[ $rc = 1 ] || fail "vmm mount of a missing device: exit $rc, want 1"
grep -q NOT_FOUND "$WORK/m.err" || fail "vmm mount error: $(cat "$WORK/m.err")"

"$VMM" shutdown "$S" || fail "vmm shutdown failed"
i=0
while kill -0 "$vmm" 2>/dev/null && [ $i -lt 120 ]; do sleep 0.5; i=$((i + 1)); done
kill -0 "$vmm" 2>/dev/null && fail "vmm still running 60 s after vmm shutdown"
wait "$vmm"
RC=$?
vmm=
expect_line a 'maitred: power off requested by the host'
expect_line a 'init: shutdown \(power off requested by the host \(maitred\)\)'
expect_line a 'init: power off \(status 0\)'
expect_rc a 0
