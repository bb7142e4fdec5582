# vsh (docs/AGENTS.md "vsh"): `vmm sh` through vmm's control socket to the
# guest's vshd, which our init starts under vmm because the image has
# /sbin/vshd. Checked:
# - a real terminal (ptydrive, a PTY in L1 driving `vmm sh`): the login
#   shell's prompt (from /etc/profile, read only by a login shell), a
#   command's output, TERM passed through, the initial window size and a
#   resize seen by `stty size`, ^C interrupting `sleep 100` (the prompt is
#   back long before 100 s and the rest of the line did not run), `exit 7`
#   -> vmm exits 7, and the local terminal back in canonical mode with echo
#   after `vmm sh` returned;
# - pipes: stdout and stderr apart, stdin passed and its EOF forwarded,
#   100000 bytes of output whole, a missing command -> 127, SIGTERM to vmm
#   forwarded -> 143;
# - a guest process connecting to vshd itself (vsock loopback) is refused.
# arch: x86_64 aarch64
# timeout: 480
. "$E2E_LIB/scenario.sh"
S=$WORK/ctl.sock
vmm=
trap '[ -n "$vmm" ] && kill "$vmm" 2>/dev/null' EXIT
"$VMM" -k "$KERNEL_BZIMAGE" -r "$ASSETS/vsh/root.sqfs" -s "$S" \
	-p "$GUEST_PARAMS init.app=/bin/sleep init.args=100000" </dev/null >"$WORK/a.console" 2>"$WORK/a.err" &
vmm=$!

# vshd is up once a trivial command runs (3/4/5 while vmm, the guest or
# vshd are still starting).
t0=$(cut -d' ' -f1 /proc/uptime)
i=0
until e2e-timeout 30 "$VMM" sh "$S" -- true </dev/null >"$WORK/up.out" 2>"$WORK/up.err"; do
	rc=$?
	kill -0 "$vmm" 2>/dev/null || fail "vmm exited before vshd answered"
	i=$((i + 1))
	[ $i -lt 300 ] || fail "vshd did not answer within ~150 s (last vmm sh exit $rc: $(cat "$WORK/up.err"))"
	sleep 0.5
done
echo "vshd answered after $(awk "BEGIN{print $(cut -d' ' -f1 /proc/uptime) - $t0}") s"
grep -q 'vshd: listening on vsock port 9005' "$WORK/a.console" || fail "vshd did not log its port"

# ---- a real terminal ----
ptydrive -t 60 -r 30 -c 90 -l "$WORK/pty.log" \
	'expect:vsh-e2e# ' \
	'send:stty size; echo T=$TERM; echo 0=$0\r' 'expect:30 90' 'expect:T=xterm-e2e' 'expect:0=-sh' \
	'expect:vsh-e2e# ' \
	'resize:40x100' 'send:stty size\r' 'expect:40 100' 'expect:vsh-e2e# ' \
	'send:sleep 100; echo aft""er-sleep\r' 'sleep:2000' 'send:\x03' 'expect:vsh-e2e# ' \
	'send:echo still-here\r' 'expect:still-here' \
	'send:exit 7\r' 'exit:7' \
	-- env TERM=xterm-e2e "$VMM" sh "$S" >"$WORK/pty.out" 2>&1 || {
	cat "$WORK/pty.out"
	fail "interactive vmm sh: a step failed (above)"
}
grep -q 'after-sleep' "$WORK/pty.log" && fail "^C did not interrupt the command line: after-sleep ran"
echo "interactive session ok"

# Raw mode is undone when vmm sh ends (a command's status, no shell).
ptydrive -t 60 -l "$WORK/restore.log" 'expect:rc=3' 'expect:END' 'exit:0' -- \
	sh -c "\"$VMM\" sh \"$S\" -- sh -c 'exit 3'; echo rc=\$?; stty -a; echo END" >"$WORK/restore.out" 2>&1 || {
	cat "$WORK/restore.out"
	fail "vmm sh -- sh -c 'exit 3' on a terminal: a step failed"
}
grep -Eq '(^|[ ;])icanon' "$WORK/restore.log" && grep -Eq '(^|[ ;])echo( |$|;)' "$WORK/restore.log" ||
	{ cat "$WORK/restore.log"; fail "terminal not restored to canonical mode with echo after vmm sh"; }

# ---- pipes ----
echo piped-input | "$VMM" sh "$S" -- sh -c 'cat; echo to-err >&2; exit 3' >"$WORK/p.out" 2>"$WORK/p.err"
rc=$?
[ $rc = 3 ] || fail "pipe mode: exit $rc, want 3 ($(cat "$WORK/p.err"))"
[ "$(cat "$WORK/p.out")" = piped-input ] || fail "pipe mode stdout: '$(cat "$WORK/p.out")'"
[ "$(cat "$WORK/p.err")" = to-err ] || fail "pipe mode stderr: '$(cat "$WORK/p.err")'"
# stdin EOF forwarded: cat and wc end by themselves.
e2e-timeout 60 "$VMM" sh "$S" -- cat </dev/null >"$WORK/e.out" 2>&1
rc=$?
[ $rc = 0 ] && [ ! -s "$WORK/e.out" ] || fail "vmm sh -- cat </dev/null: exit $rc, output '$(cat "$WORK/e.out")'"
n=$(head -c 100000 /dev/zero | e2e-timeout 60 "$VMM" sh "$S" -- wc -c)
[ "$n" = 100000 ] || fail "100000 bytes through stdin: wc -c says '$n'"
n=$(e2e-timeout 60 "$VMM" sh "$S" -- sh -c 'head -c 100000 /dev/zero' </dev/null | wc -c)
[ "$n" = 100000 ] || fail "100000 bytes of output: got $n"
"$VMM" sh "$S" -- no-such-command-anywhere </dev/null >"$WORK/nf.out" 2>"$WORK/nf.err"
rc=$?
[ $rc = 127 ] || fail "missing command: exit $rc, want 127"
grep -q 'no-such-command-anywhere' "$WORK/nf.err" || fail "missing command not named: $(cat "$WORK/nf.err")"
"$VMM" sh "$S" -- sleep 100 </dev/null >"$WORK/t.out" 2>&1 &
sh_pid=$!
sleep 3
kill -TERM $sh_pid
i=0
while kill -0 $sh_pid 2>/dev/null && [ $i -lt 40 ]; do sleep 0.25; i=$((i + 1)); done
kill -0 $sh_pid 2>/dev/null && { kill -KILL $sh_pid; fail "vmm sh still running 10 s after SIGTERM"; }
wait $sh_pid
rc=$?
[ $rc = 143 ] || fail "vmm sh -- sleep 100 after SIGTERM: exit $rc, want 143 ($(cat "$WORK/t.out"))"

# ---- only the host ----
"$VMM" exec "$S" -- /bin/vsock_selfconnect 9005 >"$WORK/self.out" 2>&1
cat "$WORK/self.out"
grep -q 'vshd: refused a connection from CID 1 ' "$WORK/a.console" || fail "vshd did not refuse a loopback connection"

"$VMM" stop "$S" >/dev/null 2>&1
wait "$vmm"
vmm=
echo "vsh ok"
