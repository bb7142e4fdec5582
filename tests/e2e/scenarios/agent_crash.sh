# crash_collector (guest-agents/crash_collector) -> vmm's crash endpoint
# (--crash-dir): the appliance kernel boots the agent squashfs (init points
# core_pattern at /sbin/crash_collector; vmm announced appvm.crash=).
# A segfaulting and an aborting program (tests/e2e/guest/crashme.c) ->
# <vm>-<time>-crashme.dmp and .json in the crash directory with the right
# signal, si_code, fault address, exe, and the exe's module with its GNU
# build-id; the minidump read by Breakpad's minidump_stackwalk and
# minidump_dump (independent reader, from the assets) agrees: crash reason,
# crash address, the crashme module and its identifier. A crash of an agent
# (vm_syslog, SIGSEGV from outside) gives no report (it is not dumpable
# after its privilege drop) and init restarts it; the per-exe
# rate limit keeps 3 crashme reports of 5 within a minute.
# timeout: 600
. "$E2E_LIB/scenario.sh"
S=$WORK/ctl.sock
D=$WORK/crash
BP=$ASSETS/agent/breakpad
mkdir -p "$D"
vmm=
trap '[ -n "$vmm" ] && kill "$vmm" 2>/dev/null' EXIT
[ -x "$BP/minidump_stackwalk" ] ||
	fail "no independent minidump reader in the assets: run scripts/setup-deps.sh (it unpacks the npm package minidump into ~/.cache/appvm) or set E2E_BREAKPAD_DIR (docs/AGENTS.md)"
stackwalk() { "$BP/ld-linux-x86-64.so.2" --library-path "$BP" "$BP/minidump_stackwalk" "$@"; }
mddump() { "$BP/ld-linux-x86-64.so.2" --library-path "$BP" "$BP/minidump_dump" "$@"; }
want_id=$(cat "$ASSETS/agent/crashme.build-id")
[ -n "$want_id" ] || fail "crashme has no build-id (assets)"

"$VMM" -k "$KERNEL_BZIMAGE" -r "$ASSETS/agent/root.sqfs" -s "$S" --name e2evm --crash-dir "$D" \
	--syslog "file:$WORK/guest.log" \
	-p "$GUEST_PARAMS init.app=/bin/marker" </dev/null >"$WORK/a.console" 2>"$WORK/a.err" &
vmm=$!
i=0
until "$VMM" info "$S" -T 10 >/dev/null 2>&1; do
	kill -0 "$vmm" 2>/dev/null || fail "vmm exited before the guest answered"
	i=$((i + 1))
	[ $i -lt 300 ] || fail "guest did not answer within ~150 s"
	sleep 0.5
done
echo "guest up"

# crash KIND WANT_STATUS: run crashme KIND in the guest, wait for its files.
crash() {
	n0=$(ls "$D"/*-crashme.dmp "$D"/*-crashme.*.dmp 2>/dev/null | wc -l)
	echo "running crashme $1"
	"$VMM" exec "$S" -t 120 -- /bin/crashme "$1" >"$WORK/x.out" 2>"$WORK/x.err"
	rc=$?
	[ $rc = "$2" ] || fail "crashme $1: exit $rc, want $2 ($(cat "$WORK/x.err"))"
	i=0
	while [ "$(ls "$D"/*-crashme.dmp "$D"/*-crashme.*.dmp 2>/dev/null | wc -l)" -le "$n0" ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail "crashme $1: no .dmp in $D after 60 s: $(ls "$D")"
		sleep 0.1
	done
	DMP=$(ls -t "$D"/*crashme*.dmp | head -n 1)
	JSON=${DMP%.dmp}.json
	[ -s "$JSON" ] || fail "crashme $1: $DMP without $JSON"
	case "$(basename "$DMP")" in
	e2evm-20[0-9][0-9][01][0-9][0-3][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z-crashme*.dmp) ;;
	*) fail "crash file name $(basename "$DMP") is not <vm>-<time>-<exe>.dmp" ;;
	esac
	echo "crashme $1: $(basename "$DMP") ($(wc -c <"$DMP") bytes), $(cat "$JSON")"
}
jhas() { grep -q "$2" "$JSON" || fail "$1: report lacks $2: $(cat "$JSON")"; }

crash segv 139
jhas segv '"signal":11,"signal_name":"SIGSEGV","si_code":1,'
jhas segv '"fault_address":"0x10"'
jhas segv '"exe":"/bin/crashme"'
jhas segv "{\"path\":\"/bin/crashme\",\"base\":\"0x[0-9a-f]*\",\"size\":[0-9]*,\"build_id\":\"$want_id\"}"
jhas segv '"rip":"0x4[0-9a-f]*"'
stackwalk "$DMP" >"$WORK/sw.out" 2>"$WORK/sw.err" || fail "minidump_stackwalk failed: $(tail -n 5 "$WORK/sw.err")"
grep -q 'Crash reason:  SIGSEGV /SEGV_MAPERR' "$WORK/sw.out" || fail "stackwalk: crash reason: $(head -n 20 "$WORK/sw.out")"
grep -q 'Crash address: 0x10$' "$WORK/sw.out" || fail "stackwalk: crash address: $(grep 'Crash address' "$WORK/sw.out")"
grep -q '^ 0  crashme + 0x' "$WORK/sw.out" || fail "stackwalk: frame 0 not in crashme: $(sed -n '/crashed/,+3p' "$WORK/sw.out")"
stackwalk -m "$DMP" >"$WORK/swm.out" 2>/dev/null
grep -q "^Module|crashme||crashme|[0-9A-F]*0|0x[0-9a-f]*|" "$WORK/swm.out" ||
	fail "stackwalk -m: no crashme module with a build-id identifier: $(grep '^Module' "$WORK/swm.out")"
mddump "$DMP" >"$WORK/dump.out" 2>"$WORK/dump.err" || true
grep -q "(cv_record).build_id            = $want_id" "$WORK/dump.out" ||
	fail "minidump_dump: no CodeView build-id $want_id: $(grep build_id "$WORK/dump.out")"
grep -q 'MD_LINUX_MAPS' "$WORK/dump.out" && grep -q '/bin/crashme$' "$WORK/dump.out" ||
	fail "minidump_dump: no maps stream naming /bin/crashme"
grep -q 'MD_LINUX_AUXV' "$WORK/dump.out" || fail "minidump_dump: no auxv stream"
grep -E 'ERROR' "$WORK/dump.err" | grep -v 'GetMiscInfo\|GetMemoryInfoList\|GetAssertion\|GetBreakpadInfo' &&
	fail "minidump_dump reported errors"

crash abort 134
jhas abort '"signal":6,"signal_name":"SIGABRT"'
stackwalk "$DMP" >"$WORK/sw.out" 2>/dev/null
grep -q 'Crash reason:  SIGABRT' "$WORK/sw.out" || fail "stackwalk (abort): $(grep 'Crash reason' "$WORK/sw.out")"

# An agent crashing: vm_syslog runs as its own uid after agent_jail, so the
# kernel does not dump it (suid_dumpable 0): no report, nothing to loop on;
# init starts it again.
"$VMM" exec "$S" -t 30 -- sh -c 'kill -SEGV $(pidof vm_syslog)' >/dev/null 2>&1
i=0
until grep -q 'service vm_syslog: started /sbin/vm_syslog' "$WORK/a.console" &&
	[ "$(grep -c 'service vm_syslog: started' "$WORK/a.console")" -ge 2 ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "vm_syslog was not restarted after its crash"
	sleep 0.1
done
sleep 3
ls "$D"/*vm_syslog* >/dev/null 2>&1 && fail "a report for the jailed agent: $(ls "$D")"
[ "$(ls "$D"/*.dmp | wc -l)" = 2 ] || fail "unexpected reports after the agent crash: $(ls "$D")"

# Rate limit: segv and abort made 2 crashme reports; 3 more crashes within
# the minute -> only 1 more stored (3 per exe per 60 s).
for k in 1 2 3; do
	"$VMM" exec "$S" -t 120 -- /bin/crashme segv >/dev/null 2>&1
done
sleep 5
n=$(ls "$D"/*crashme*.dmp | wc -l)
[ "$n" = 3 ] || fail "rate limit: $n crashme reports stored, want 3: $(ls "$D")"
grep -q 'crashme: more than 3 crashes' "$WORK/a.err" || fail "rate limit not logged by vmm"
"$VMM" shutdown "$S" >/dev/null 2>&1
wait "$vmm"
RC=$?
vmm=
[ $RC = 0 ] || fail "vmm exited $RC"
ls "$D"/*.part >/dev/null 2>&1 && fail "partial files left: $(ls "$D")"
exit 0
