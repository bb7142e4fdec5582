#!/bin/sh
# The hostile-guest suite (docs/HOSTILE.md): every scenario of
# tests/guests/hostile_cases.h boots the hostile guest (tests/guests/
# hostile.c) in a fresh VM under an ASan+UBSan vmm (tests/native/hostile.mk)
# and gets one verdict:
#   PASS    handled per spec (served, or refused with an error status)
#   REJECT  the device went to DEVICE_NEEDS_RESET and worked after a reset
#   WEDGED  vmm did not answer `vmm status` within 5 s, or did not exit
#           within 10 s of `vmm stop`
#   FAIL    vmm crashed or exited on its own, a sanitizer report, the disk
#           changed when it must not, the guest saw data the device must
#           never return, or the verdict is not the table's class
# A scenario passes when its verdict is its class (ANY: PASS or REJECT;
# STORM: vmm stays responsive while the guest attacks). Any WEDGED or FAIL
# fails the suite. One line per scenario, a summary with the counts.
#
#   tests/native/hostile.sh       (O=build; HOSTILE_ONLY=REGEX selects
#                                  scenarios by name, grep -E)
# Runs on /dev/kvm or in the nested L1 machine (tests/native/lib/kvm.sh).
# timeout: 1500
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
S=hostile
G=$O/guests/hostile.elf
VMM=${VMM:-$O/vmm}                       # the control client
HVMM=${HOSTILE_VMM:-$O/native/hostile/vmm}  # the VMM under attack
PEER=$O/e2e/vsockpeer
HNET=$O/native/hostile/hostile-net     # net scenarios: namespace, flood
ONLY=${HOSTILE_ONLY:-.}
. tests/native/lib/kvm.sh
native_kvm_enter "$S"
if [ ! -x "$VMM" ]; then
	echo "FAIL $S/build: $VMM is not built (run make)"
	exit 1
fi
native_build "$S" build_guest tests/guests/build.mk "$G" || exit 1
native_build "$S" build_asan_vmm tests/native/hostile.mk "$HVMM" "$O/native/hostile/root/.stamp" \
	"$O/native/hostile/cases.list" "$HNET" || exit 1
if [ "${NATIVE_L1:-0}" != 1 ]; then
	SRC=$(pwd) . tests/e2e/lib/l1.sh && e2e_tools
fi
[ -x "$PEER" ] || { echo "FAIL $S/build: $PEER is not built"; exit 1; }
# The net scenarios' TAP: in the nested L1 (and on a host that has not used
# one yet) tun is a module nobody has loaded.
if [ ! -e /dev/net/tun ]; then
	modprobe tun 2>/dev/null
	[ -e /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; } 2>/dev/null
fi

T=$(mktemp -d)
pid= peer= client= flood=
cleanup() {
	for p in $pid $peer $client $flood; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
# LeakSanitizer's exit-time check stops the process's threads with ptrace
# from a helper it clones: under vmm's own seccomp filters (a jailed run,
# HOSTILE_VMM_ARGS without --disable-sandbox) those calls are refused, so
# it is off there.
case " ${HOSTILE_VMM_ARGS---disable-sandbox} " in
*" --disable-sandbox "*) leaks=1 ;;
*) leaks=0 ;;
esac
export ASAN_OPTIONS=detect_leaks=$leaks:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# 64 sectors: the marker the guest's health check reads, then a pattern.
mkimg() {
	{ printf 'HOSTILE-DISK-SECTOR-0'; head -c $((32768 - 21)) /dev/zero | tr '\0' 'd'; } >"$1"
}

# storm_target NAME: the device a STORM scenario serves chains or kicks to
# (empty for the notify storm on queues that do not exist: no worker wakes).
storm_target() {
	case "$1" in
	*_badq) ;;
	*_blk|b_*) echo virtio-blk ;;
	*_rng|r_*) echo virtio-rng ;;
	*_vsock|v_*) echo virtio-vsock ;;
	*_net|n_*) echo virtio-net ;;
	esac
}

# counter NAME: a virtio-net counter in the vmm status JSON on stdin
# ("net":[{"name":...,"counters":{"rx_packets":N,...,"drops":{...}}}]).
counter() {
	tr ',{' '\n\n' | sed -n "s/^\"$1\":\([0-9]*\).*/\1/p" | head -n 1
}

# counts_ok: every "HOSTILE COUNT NAME N" (exactly N) or "... N+" (at
# least N) line of the guest against $W/status; prints what differs.
counts_ok() {
	sed -n 's/^HOSTILE COUNT \([a-z_]*\) \([0-9]*+*\).*/\1 \2/p' "$W/out" | tr -d '\r' >"$W/counts"
	while read -r cn cv; do
		got=$(counter "$cn" <"$W/status")
		case "$cv" in
		*+) [ -n "$got" ] && [ "$got" -ge "${cv%+}" ] && continue ;;
		*) [ "$got" = "$cv" ] && continue ;;
		esac
		echo "vmm status shows $cn '${got}', the guest expected $cv"
		return 1
	done <"$W/counts"
}

# rounds DEVICE: that device's worker wake-ups in the vmm status JSON on
# stdin ("virtio":[{"name":"virtio-blk vda","pid":N,"rounds":R},...]).
rounds() {
	tr '{' '\n' | sed -n "s/^\"name\":\"$1[^\"]*\",\"pid\":[0-9]*,\"rounds\":\([0-9]*\)}.*/\1/p" | head -n 1
}

# alive PID: the process exists and is not a zombie.
alive() {
	kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# wait_gone PID TENTHS: true when PID ended within TENTHS/10 s (reaped).
wait_gone() {
	_i=0
	while alive "$1" && [ $_i -lt "$2" ]; do sleep 0.1; _i=$((_i + 1)); done
	! alive "$1"
}

counts_pass=0 counts_reject=0 counts_wedged=0 counts_fail=0 n=0 bad=0
t0=$(date +%s)

# class_ok CLASS VERDICT: the verdict is what the table wants.
class_ok() {
	case "$1:$2" in
	PASS:PASS|REJECT:REJECT|ANY:PASS|ANY:REJECT|STORM:PASS) return 0 ;;
	esac
	return 1
}

# verdict NAME VERDICT CLASS WHY: one line, counted.
verdict() {
	case "$2" in
	PASS) counts_pass=$((counts_pass + 1)) ;;
	REJECT) counts_reject=$((counts_reject + 1)) ;;
	WEDGED) counts_wedged=$((counts_wedged + 1)) ;;
	*) counts_fail=$((counts_fail + 1)) ;;
	esac
	if class_ok "$3" "$2"; then
		echo "PASS $S/$1: $2"
	else
		bad=$((bad + 1))
		echo "FAIL $S/$1: $2 (class $3)${4:+: $4}"
		for f in out err; do
			[ -s "$W/$f" ] && tail -n 8 "$W/$f" | sed "s|^|    $f> |"
		done
	fi
}

# run_case NAME CLASS FLAGS
run_case() {
	name=$1 class=$2 flags=$3
	W=$T/$name
	mkdir -p "$W"
	mkimg "$W/disk.img"
	sum=$(md5sum <"$W/disk.img")
	disk=$W/disk.img
	[ "$flags" = ro ] && disk="$disk,ro"
	# Flags n, nf: a virtio-net device on a TAP vmm creates in a network
	# namespace of its own (hostile-net ns; the TAP goes with vmm).
	ns= net=
	case "$flags" in
	n|nf) ns="$HNET ns" net="--tap hn0 --host-ip 10.77.0.1 --netmask 30" ;;
	esac
	"$PEER" serve "$W/v" 2>"$W/peer.err" &
	peer=$!
	client=
	[ "$flags" = c ] && { "$PEER" connect "$W/v" 1234 2>/dev/null & client=$!; }
	# HOSTILE_VMM_ARGS: "" runs the ASan vmm jailed as shipped; the default
	# runs the devices as threads inside the ASan process, where a
	# sanitizer report is whole (a jailed device process cannot run the
	# symbolizer, and leak checking is off there: docs/HOSTILE.md).
	# shellcheck disable=SC2086
	$ns "$HVMM" ${HOSTILE_VMM_ARGS---disable-sandbox} -k "$G" -m 64 -s "$W/ctl" --vsock "$W/v" -d "$disk" \
		$net -p "hostile.case=$name" </dev/null >"$W/out" 2>"$W/err" &
	pid=$!
	# The attack ends (END), or runs for ever (STORM), or vmm exits.
	# Flag nf: the flood starts when the guest asks (FLOOD) or storms:
	# at most 1,000,000 frames in 5 s, into vmm's own namespace only.
	end=$(( $(date +%s) + ${HOSTILE_CASE_SECS:-90} ))
	flood=
	while alive "$pid" && [ "$(date +%s)" -lt $end ] && ! grep -qE '^HOSTILE (END|STORM)' "$W/out"; do
		if [ "$flags" = nf ] && [ -z "$flood" ] && grep -q '^HOSTILE FLOOD' "$W/out"; then
			"$HNET" flood "$pid" hn0 1000000 5 1514 2>"$W/flood" &
			flood=$!
		fi
		sleep 0.1
	done
	if [ "$flags" = nf ] && [ -z "$flood" ] && grep -q '^HOSTILE STORM' "$W/out"; then
		"$HNET" flood "$pid" hn0 1000000 5 1514 2>"$W/flood" &
		flood=$!
	fi
	v= why=
	case "$flags" in
	x*)
		want=${flags#x}
		if wait_gone "$pid" 200; then
			wait "$pid"; rc=$?
			[ "$rc" = "$want" ] && v=PASS || { v=FAIL; why="vmm exited $rc, want $want"; }
		else
			v=WEDGED; why="the guest ended the VM but vmm did not exit within 20 s"
		fi ;;
	*)
		if ! alive "$pid"; then
			wait "$pid"; rc=$?
			v=FAIL; why="vmm exited on its own with status $rc"
		elif ! grep -qE '^HOSTILE (END|STORM)' "$W/out"; then
			v=FAIL; why="the guest did not finish its attack within ${HOSTILE_CASE_SECS:-90} s"
		fi
		# A storm is judged while it rages.
		grep -q '^HOSTILE STORM' "$W/out" && sleep 1
		if [ -z "$v" ] && ! native_timeout 5 "$VMM" status "$W/ctl" >"$W/status" 2>&1; then
			alive "$pid" && { v=WEDGED; why="vmm status did not answer within 5 s"; } ||
				{ v=FAIL; why="vmm died during vmm status"; }
		fi
		# And the attacked device's own worker keeps coming back to its
		# loop (its "rounds" in vmm status grow): a queue served without a
		# per-notification budget holds it inside one notification while
		# vmm itself, and so `vmm status`, stays responsive.
		dev=$(storm_target "$name")
		if [ -z "$v" ] && [ "$class" = STORM ] && [ -n "$dev" ]; then
			r1=$(rounds "$dev" <"$W/status")
			sleep 2
			native_timeout 5 "$VMM" status "$W/ctl" >"$W/status2" 2>&1
			r2=$(rounds "$dev" <"$W/status2")
			[ -n "$r1" ] && [ -n "$r2" ] && [ "$r2" -gt "$r1" ] ||
				{ v=WEDGED; why="$dev's worker did not come back to its loop in 2 s of the storm (rounds '$r1' -> '$r2')"; }
		fi
		if alive "$pid"; then
			native_timeout 10 "$VMM" stop "$W/ctl" >/dev/null 2>&1
			if ! wait_gone "$pid" 100; then
				[ -n "$v" ] || { v=WEDGED; why="vmm did not exit within 10 s of vmm stop"; }
			else
				wait "$pid"; rc=$?
				[ -n "$v" ] || [ "$rc" = 0 ] || { v=FAIL; why="vmm exited $rc after vmm stop"; }
			fi
		fi ;;
	esac
	# A net storm's guest may judge a bystander device while it storms.
	if [ -z "$v" ] && [ "$class" = STORM ] && grep -q '^HOSTILE RESULT' "$W/out"; then
		v=FAIL; why="guest: $(sed -n 's/^HOSTILE RESULT //p' "$W/out" | head -n 1 | tr -d '\r')"
	fi
	if [ -z "$v" ] && [ -s "$W/status" ] && ! why=$(counts_ok); then
		v=FAIL
	fi
	kill -KILL $pid $peer $client $flood 2>/dev/null
	wait $pid $peer $client $flood 2>/dev/null
	pid= peer= client= flood=
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer' "$W/err"; then
		v=FAIL; why="sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error' "$W/err")"
	fi
	if [ -z "$v" ] && [ "$flags" != w ] && [ "$(md5sum <"$W/disk.img")" != "$sum" ]; then
		v=FAIL; why="the disk changed"
	fi
	if [ -z "$v" ] && [ "$class" = STORM ]; then
		v=PASS
	elif [ -z "$v" ]; then
		r=$(sed -n 's/^HOSTILE RESULT //p' "$W/out" | head -n 1 | tr -d '\r')
		case "$r" in
		PASS|REJECT) v=$r ;;
		*) v=FAIL; why="guest: ${r:-no result line}" ;;
		esac
	fi
	# In the nested L1 an L2 guest triple-faults now and then whatever it
	# runs (QEMU 7.2's TCG SVM, docs/E2E.md; seen here in
	# n_rx_flood_small with the tiny guest and no exception handler): a
	# case that missed its class that way runs once more and that result
	# stands. Never on a real /dev/kvm, where a triple fault is ours.
	if ! class_ok "$class" "$v" && [ "${NATIVE_L1:-0}" = 1 ] && [ -z "${again:-}" ] &&
		[ "${flags#x}" = "$flags" ] && grep -q 'guest triple fault' "$W/err"; then
		echo "hostile: warning: $name: the L2 guest triple-faulted ($v${why:+: $why}); running it again"
		grep -m 3 'vcpu0' "$W/err" | sed 's/^/    err> /'
		echo "$name" >>"$T/again"
		rm -rf "$W"
		again=1
		run_case "$name" "$class" "$flags"
		again=
		return
	fi
	verdict "$name" "$v" "$class" "$why"
	rm -rf "$W"
}

grep -E "^($ONLY)" "$O/native/hostile/cases.list" >"$T/sel"
[ -s "$T/sel" ] || { echo "FAIL $S/select: no scenario matches '$ONLY'"; exit 1; }
# NATIVE_DONE (set in the nested L1 when an earlier L1 ended during this
# suite, tests/e2e/run): the result lines it got out; those cases are not
# run again (an L1 crash in case 200 must not cost cases 1-199).
skipped=0
while read -r name class flags; do
	if [ -n "${NATIVE_DONE:-}" ] && grep -q "^[A-Z]* $S/$name:" "$NATIVE_DONE"; then
		skipped=$((skipped + 1))
		continue
	fi
	run_case "$name" "$class" "$flags"
	n=$((n + 1))
done <"$T/sel"
[ $skipped -eq 0 ] || echo "$S: $skipped scenarios have their results from the run an earlier L1 did not finish"
cats=
for c in t m b r v l n; do cats="$cats $(echo $c | tr a-z A-Z)=$(grep -c "^${c}_" "$T/sel")"; done
[ -s "$T/again" ] && echo "$S: warning: ran again after an L2 guest triple fault: $(tr '\n' ' ' <"$T/again")"
echo "$S: $n scenarios ($cats ) in $(( $(date +%s) - t0 )) s: PASS $counts_pass, REJECT $counts_reject, WEDGED $counts_wedged, FAIL $counts_fail; $bad not as the table says"
[ $bad -eq 0 ]
