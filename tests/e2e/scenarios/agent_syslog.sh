# vm_syslog (guest-agents/vm_syslog) -> vmm's log endpoint (--syslog), with
# the appliance kernel booting the agent squashfs (/sbin/init = ours, which
# starts vm_syslog because vmm announced appvm.syslog=).
# A: --syslog file:PATH --name e2evm: `logger` in the guest -> a line tagged
#    with the VM name, the guest's timestamp, facility.severity and app;
#    the kernel's own boot messages (from /dev/kmsg) arrive as kern.*;
#    control characters arrive escaped; the file renamed (logrotate) ->
#    the next record goes to a new file at PATH.
# B: --syslog syslog to L1's busybox syslogd on /dev/log, guest buffer 64K:
#    syslogd stopped for 10 s while the guest logs 100 records (one per
#    0.1 s) -> after its restart every record is there, in order; stopped
#    again while the guest logs 3000 records at once -> the buffer overflows
#    and one "N records lost" record arrives with N = the records missing
#    (init.loglevel=3 keeps init's own "started ..." lines out of the
#    buffer: the notice counts every record dropped, not only ours).
# timeout: 600
. "$E2E_LIB/scenario.sh"
S=$WORK/ctl.sock
vmm=
syslogd_pid=
trap '[ -n "$vmm" ] && kill "$vmm" 2>/dev/null; [ -n "$syslogd_pid" ] && kill "$syslogd_pid" 2>/dev/null' EXIT

# wait_guest: until `vmm info` answers (the guest is up, init's RPC too).
wait_guest() {
	i=0
	until "$VMM" info "$S" -T 10 >"$WORK/info.out" 2>"$WORK/info.err"; do
		kill -0 "$vmm" 2>/dev/null || fail "vmm exited before the guest answered"
		i=$((i + 1))
		[ $i -lt 300 ] || fail "guest did not answer within ~150 s"
		sleep 0.5
	done
}
# until_grep FILE REGEX SECS: wait for a line in FILE.
until_grep() {
	i=0
	until grep -qE "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt $(($3 * 10)) ] || return 1
		sleep 0.1
	done
}
x() { "$VMM" exec "$S" -t 120 "$@" >"$WORK/x.out" 2>"$WORK/x.err" || fail "exec $*: $(cat "$WORK/x.err")"; }

# ---- A: file sink -------------------------------------------------------
L=$WORK/host.log
"$VMM" -k "$KERNEL_BZIMAGE" -r "$ASSETS/agent/root.sqfs" -s "$S" --name e2evm --syslog "file:$L" \
	-p "$GUEST_PARAMS init.app=/bin/marker" </dev/null >"$WORK/a.console" 2>"$WORK/a.err" &
vmm=$!
wait_guest
x -- logger -t e2etag -p local3.warning "hello from the guest"
until_grep "$L" '^20[0-9-]+T[0-9:.]+Z e2evm local3\.warning e2etag(\[[0-9]+\])?: hello from the guest$' 30 ||
	fail "no tagged logger line in the host file: $(tail -n 5 "$L")"
echo "logger line: $(grep 'hello from the guest' "$L")"
grep -qE '^20[0-9-]+T[0-9:.]+Z e2evm kern\.notice kernel: \[ +0\.0+\] Linux version ' "$L" ||
	fail "the kernel's boot message (Linux version) did not arrive: $(grep kernel "$L" | head -n 3)"
grep -qE 'e2evm [a-z]+\.[a-z]+ init: ' "$L" || fail "init's own /dev/kmsg lines did not arrive"
x -- sh -c 'logger -t esc "$(printf "a\033[2Jb\tc")"'
until_grep "$L" 'esc(\[[0-9]+\])?: a\\x1b\[2Jb\\tc' 30 || fail "control characters not escaped: $(grep 'esc' "$L")"
mv "$L" "$L.1"
x -- logger -t e2etag "after rotation"
until_grep "$L" 'e2etag(\[[0-9]+\])?: after rotation$' 30 || fail "after a rename no new file got the record"
grep -q 'after rotation' "$L.1" && fail "the record after rotation went to the old file"
"$VMM" shutdown "$S" >/dev/null 2>&1
wait "$vmm"
RC=$?
[ $RC = 0 ] || fail "vmm A exited $RC"
ls -d "${TMPDIR:-/tmp}/vmm-$vmm-"* >/dev/null 2>&1 && fail "vmm left its runtime directory behind"
vmm=

# ---- B: host syslog restarted, overflow -----------------------------------
H=$WORK/syslogd.out
start_syslogd() { syslogd -n -O "$H" & syslogd_pid=$!; until [ -S /dev/log ]; do sleep 0.1; done; }
stop_syslogd() { kill "$syslogd_pid"; wait "$syslogd_pid" 2>/dev/null; syslogd_pid=; rm -f /dev/log; }
rm -f /dev/log
start_syslogd
"$VMM" -k "$KERNEL_BZIMAGE" -r "$ASSETS/agent/root.sqfs" -s "$S" --name e2evm --syslog syslog \
	-p "$GUEST_PARAMS init.app=/bin/marker init.syslog_buffer=64K init.loglevel=3" </dev/null >"$WORK/b.console" 2>"$WORK/b.err" &
vmm=$!
wait_guest
x -- logger -t seq "before outage"
until_grep "$H" 'seq.*before outage' 30 || fail "syslog mode: first record missing: $(tail -n 3 "$H")"
stop_syslogd
t0=$(cut -d' ' -f1 /proc/uptime)
x -- sh -c 'i=0; while [ $i -lt 100 ]; do logger -t seq "out-$i"; i=$((i + 1)); sleep 0.1; done'
t1=$(cut -d' ' -f1 /proc/uptime)
echo "guest logged 100 records in $(awk "BEGIN{print $t1 - $t0}") s with syslogd stopped"
sleep 2
start_syslogd
until_grep "$H" 'seq.*out-99$' 60 || fail "after the restart not every record arrived: $(grep -c 'seq.*out-' "$H") of 100"
got=$(grep -o 'seq.*out-[0-9]*' "$H" | sed 's/.*out-//' | tr '\n' ' ')
want=$(seq 0 99 | tr '\n' ' ')
[ "$got" = "$want" ] || fail "records out of order or missing: $got"
echo "all 100 records arrived in order after syslogd came back"
stop_syslogd
x -- sh -c 'i=0; while [ $i -lt 3000 ]; do echo "burst-$i"; i=$((i + 1)); done | logger -t burst'
sleep 1
start_syslogd
until_grep "$H" 'burst.*burst-2999$' 60 || fail "overflow: the newest record did not arrive"
n_got=$(grep -c 'burst.*burst-[0-9]*$' "$H")
lost=$(sed -n 's/.*vm_syslog.* \([0-9][0-9]*\) records lost.*/\1/p' "$H" | awk '{s += $1} END {print s + 0}')
echo "overflow: $n_got of 3000 arrived, lost notices say $lost"
grep 'records lost' "$H"
dups=$(grep -o 'burst-[0-9]*$' "$H" | sort | uniq -d | head -n 5 | tr '\n' ' ')
[ -z "$dups" ] || fail "overflow: records arrived twice: $dups"

[ "$lost" -gt 0 ] || fail "overflow: no 'N records lost' record"
[ $((n_got + lost)) = 3000 ] || fail "overflow: $n_got arrived + $lost reported lost != 3000"
grep -o 'burst-[0-9]*$' "$H" | sed 's/burst-//' | awk 'NR > 1 && $1 <= p { bad = 1 } { p = $1 } END { exit bad }' ||
	fail "overflow: surviving records out of order"
"$VMM" shutdown "$S" >/dev/null 2>&1
wait "$vmm"
RC=$?
vmm=
[ $RC = 0 ] || fail "vmm B exited $RC"
