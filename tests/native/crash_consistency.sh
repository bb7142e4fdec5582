#!/bin/sh
# Crash consistency of virtio-blk across SIGKILL (docs/VIRTIO.md,
# "Durability"): the tiny guest tests/guests/crashrec.c appends checksummed,
# sequence-numbered records to a -d disk, FLUSHes after each and prints
# "ACK n" once the FLUSH completed; this script SIGKILLs vmm at a random
# moment, CRASH_ITERS times (default 40), and every next boot of the guest
# checks the image: every acknowledged record whole (prefix >= last ACK
# seen), nothing but zeros after the one slot a killed write may have torn
# (stray=0), and no record that the checksum accepts with wrong contents
# (wrong=0). The image is reused across kills (a reboot after a crash) and
# zeroed when the guest filled it. Runs on /dev/kvm or in the nested L1
# machine (tests/native/lib/kvm.sh).
#
#   tests/native/crash_consistency.sh     (O=build, VMM=$O/vmm, CRASH_ITERS)
# timeout: 900
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
VMM=${VMM:-$O/vmm}
G=$O/guests
S=crash_consistency
ITERS=${CRASH_ITERS:-40}
# 64 records of 4 KiB: the guest reads all of them on every boot.
IMG_KIB=256
. tests/native/lib/kvm.sh
native_kvm_enter "$S"
if [ ! -x "$VMM" ]; then
	echo "FAIL $S/build_guest: $VMM is not built (run make)"
	exit 1
fi
native_build "$S" build_guest tests/guests/build.mk "$G/crashrec.elf" || exit 1

W=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null; rm -rf "$W"' EXIT INT TERM
IMG=$W/disk.img

fail() {
	echo "FAIL $S/$1: $2"
	for f in "$W/out" "$W/err"; do
		[ -s "$f" ] && tail -6 "$f" | sed "s|^|    $(basename "$f")> |"
	done
	exit 1
}

# rand N: a number in 0..N-1 from /dev/urandom.
rand() {
	echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1 ))
}

# nap SECONDS USECONDS: a short sleep where sleep takes fractions, else
# usleep, else a whole second.
nap() {
	sleep "$1" 2>/dev/null || usleep "$2" 2>/dev/null || sleep 1
}

# boot: start vmm on the image in the background; wait (at most 60 s by the
# clock) for the guest's CHECK line or for vmm to end. Sets pid; returns 1
# when there is no CHECK line.
boot() {
	"$VMM" -k "$G/crashrec.elf" -d "$IMG" --no-rng </dev/null >"$W/out" 2>"$W/err" &
	pid=$!
	end=$(( $(date +%s) + 60 ))
	while [ "$(date +%s)" -lt $end ] && ! grep -q '^CHECK ' "$W/out"; do
		kill -0 "$pid" 2>/dev/null || break
		nap 0.05 50000
	done
	grep -q '^CHECK ' "$W/out" && return 0
	why="no CHECK line from the guest within 60 s"
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		why="vmm exited with status $? before the guest's CHECK line"
		pid=
	fi
	return 1
}

# judge WHAT: the CHECK line against the last acknowledged record.
judge() {
	set -- $(sed -n 's/^CHECK prefix=\([0-9]*\) torn=\([0-9]*\) stray=\([0-9]*\) wrong=\([0-9]*\)$/\1 \2 \3 \4/p' "$W/out")
	[ $# -eq 4 ] || fail kill_$i "malformed CHECK line: $(grep '^CHECK' "$W/out")"
	[ "$1" -ge "$ack" ] || fail kill_$i "record $ack was acknowledged before the kill, but the image holds only $1 whole records"
	[ "$3" -eq 0 ] || fail kill_$i "$3 non-zero slots after the first missing record (prefix $1)"
	[ "$4" -eq 0 ] || fail kill_$i "$4 records pass the checksum with wrong contents"
	torn=$((torn + $2))
	lost=$((lost + $1 - ack))
}

head -c $((IMG_KIB * 1024)) /dev/zero >"$IMG"
ack=0 torn=0 lost=0 fulls=0 kills=0 acks=0
i=0
while [ $i -le "$ITERS" ]; do
	if ! boot; then
		# Once per run in the nested L1: a guest triple fault before the
		# CHECK line, when the same image then boots and checks fine, is the
		# nested TCG-SVM stack's (seen in CI right before that L1 hung for
		# good, docs/E2E.md), not the image's: the image is the only input
		# a reboot shares with the killed run. A second one fails.
		if [ "${NATIVE_L1:-0}" = 1 ] && [ -z "${spurious:-}" ] && grep -q 'guest triple fault' "$W/err"; then
			spurious=$i
			echo "$S: kill_$i: guest triple fault before the CHECK line; booting the same image again"
			boot || fail kill_$i "$why (twice: a triple fault, then this)"
		else
			fail kill_$i "$why"
		fi
	fi
	judge
	[ $i -eq "$ITERS" ] && break
	# A random moment while the guest appends (or right after it booted).
	r=$(rand 150)
	nap "0.$(printf '%03d' "$r")" $((r * 1000))
	native_kill_vmm "$pid"
	pid=
	if grep -q '^FULL' "$W/out"; then
		# The guest filled the image before the kill: start over.
		fulls=$((fulls + 1))
		head -c $((IMG_KIB * 1024)) /dev/zero >"$IMG"
		ack=0
	else
		kills=$((kills + 1))
		a=$(sed -n 's/^ACK \([0-9]*\)$/\1/p' "$W/out" | tail -n 1)
		if [ -n "$a" ]; then
			acks=$((acks + a - ack))
			ack=$a
		fi
	fi
	i=$((i + 1))
	# A line now and then: the e2e runner's watchdog takes 300 s without
	# one for a hung L1 (CRASH_ITERS=1000 runs for many minutes).
	[ $((i % 100)) -ne 0 ] || echo "$S: $i of $ITERS kills done"
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
echo "$S: $kills kills, $fulls full images, $acks records acknowledged, $torn torn (unacknowledged) slots, $lost whole unacknowledged records"
# Kills that all landed before the first ACK would prove nothing.
[ "$acks" -gt 0 ] || fail records_acknowledged "no record was acknowledged in $ITERS boots"
echo "PASS $S/acknowledged_records_survive_sigkill"
