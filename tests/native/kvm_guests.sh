#!/bin/sh
# Native KVM tests: run the tiny test guests (tests/guests/) under vmm on this
# host's /dev/kvm and check what they print and how vmm exits.
#
#   tests/native/kvm_guests.sh          (O=build, VMM=$O/vmm by default)
# tests/native/kvm_probe.sh runs the same cases against the bare probe
# (bench/probe), which proves the guests themselves right: KVM_GUESTS_BASIC=1
# leaves out the vmm-only cases (--serial, -c) and KVM_SUITE names the suite.
# One PASS/FAIL line per case. Without a working /dev/kvm the suite runs in
# the nested L1 machine (tests/native/lib/kvm.sh).
# timeout: 600
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
VMM=${VMM:-$O/vmm}
G=$O/guests
S=${KVM_SUITE:-kvm_guests}
BASIC=${KVM_GUESTS_BASIC:-0}
T=${KVM_GUEST_TIMEOUT:-60}
. tests/native/lib/kvm.sh
native_kvm_enter "$S"
if [ ! -x "$VMM" ]; then
	echo "FAIL $S/build_guests: $VMM is not built (run make)"
	exit 1
fi

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM

pass() { echo "PASS $S/$1"; }
# fail CASE WHY: the case fails; show what vmm printed.
fail() {
	echo "FAIL $S/$1: $2"
	for f in "$W/out" "$W/err"; do
		[ -s "$f" ] && tail -5 "$f" | sed "s|^|    $(basename "$f")> |"
	done
	return 0
}

native_build "$S" build_guests tests/guests/build.mk $(for g in hello i8042 exitport boottime \
	triplefault uart echo halt smp; do echo "$G/$g.elf"; done) || exit 1

# run ARGS...: vmm in the foreground, serial on stdout -> $W/out, log -> $W/err,
# exit code -> $rc (124 = our timeout).
run() {
	native_timeout "$T" "$VMM" "$@" </dev/null >"$W/out" 2>"$W/err"
	rc=$?
}

# expect_rc CASE WANT: true if rc == WANT, else the case fails.
expect_rc() {
	[ "$rc" -eq "$2" ] && return 0
	if [ "$rc" -eq 124 ]; then
		fail "$1" "vmm did not exit within ${T}s (want exit $2)"
	else
		fail "$1" "vmm exited $rc, want $2"
	fi
	return 1
}

# --- serial hello: greeting on COM1, i8042 reset -> exit 0 -----------------
token="kvmtest.token=t$$"
run -k "$G/hello.elf" -p "$token"
if expect_rc serial_hello 0; then
	if grep -qx 'hello from appvm test guest' "$W/out"; then
		pass serial_hello
	else
		fail serial_hello "greeting line missing from the serial output"
	fi
	# The guest echoes the command line it found through the zero page.
	line=$(grep '^cmdline: ' "$W/out")
	case " ${line#cmdline: } " in
	*" $token "*)
		case " ${line#cmdline: } " in
		*" appvm.exit_port=0x510 "*) pass cmdline ;;
		*) fail cmdline "appvm.exit_port=0x510 not on the guest command line: '$line'" ;;
		esac ;;
	*) fail cmdline "-p word '$token' not on the guest command line: '$line'" ;;
	esac
else
	fail cmdline "hello guest did not run"
fi

# --- serial to a file / nowhere ------------------------------------------
# (--serial is vmm-only: not a case of the probe suite.)
if [ "$BASIC" != 1 ]; then
run -k "$G/hello.elf" --serial "file:$W/serial.txt"
if expect_rc serial_file 0; then
	if ! grep -qx 'hello from appvm test guest' "$W/serial.txt" 2>/dev/null; then
		fail serial_file "greeting missing from the --serial file"
	elif grep -q 'hello from appvm' "$W/out"; then
		fail serial_file "guest output also went to stdout"
	else
		pass serial_file
	fi
fi
run -k "$G/hello.elf" --serial none
if expect_rc serial_none 0; then
	if grep -q 'hello from appvm' "$W/out" "$W/err"; then
		fail serial_none "guest output appeared with --serial none"
	else
		pass serial_none
	fi
fi
fi

# --- i8042: status, CTR, self-test 0xAA -> 0x55, OBF clear, reset ----------
run -k "$G/i8042.elf"
if expect_rc i8042 0; then
	line=$(grep '^i8042: ' "$W/out")
	if echo "$line" | grep -Eqx 'i8042: status=[0-9a-f]{2} ctr=[0-9a-f]{2} selftest=55 obf-after=0'; then
		pass i8042
	else
		fail i8042 "want self-test answer 55 and OBF clear after reading it, guest saw: '${line:-nothing}'"
	fi
fi

# --- exit port: the status the guest writes becomes vmm's exit code --------
for v in 0 3 42 200 255; do
	run -k "$G/exitport.elf" -p "exitport.status=$v"
	if expect_rc "exitport_$v" "$v"; then
		if grep -qx "exitport: writing status $v" "$W/out"; then
			pass "exitport_$v"
		else
			fail "exitport_$v" "exit code right but the guest's line is missing"
		fi
	fi
done

# --- boot-time port: vmm logs "boot-time: <ms> ms since exec" ---------------
run -k "$G/boottime.elf"
if expect_rc boottime 0; then
	ms=$(sed -nE 's/.*boot-time: ([0-9]+(\.[0-9]+)?) ms since exec.*/\1/p' "$W/err" | head -1)
	if [ -z "$ms" ]; then
		fail boottime "no 'boot-time: <ms> ms since exec' line on stderr"
	elif [ "$(grep -c 'boot-time:' "$W/err")" -ne 1 ]; then
		fail boottime "want exactly one boot-time line for one marker"
	elif ! awk -v m="$ms" -v t="$T" 'BEGIN { exit !(m > 0 && m < t * 1000) }'; then
		fail boottime "implausible boot time $ms ms"
	elif ! grep -qx 'boottime: marker written' "$W/out"; then
		fail boottime "guest line after the marker missing"
	else
		pass boottime
	fi
fi

# --- triple fault = reset -> exit 0 -------------------------------------------
run -k "$G/triplefault.elf"
if expect_rc triplefault 0; then
	if ! grep -q '^triplefault: empty IDT' "$W/out"; then
		fail triplefault "guest did not run up to the fault"
	elif grep -q 'still running' "$W/out"; then
		fail triplefault "guest survived a triple fault"
	else
		pass triplefault
	fi
fi

# --- 16550 registers as Linux's 8250 driver uses them -------------------------
# --- serial input: a line longer than a 16550 FIFO, written before the guest
# reads, arrives complete and in order ----------------------------------------
# (Not cases of the probe suite: the probe models only THR and LSR and has
# no serial input.)
if [ "$BASIC" != 1 ]; then
	run -k "$G/uart.elf"
	if expect_rc uart_registers 0; then
		summary=$(grep '^uart: [0-9]* checks' "$W/out")
		if grep -q ' BAD$' "$W/out"; then
			fail uart_registers "$(grep ' BAD$' "$W/out" | tr '\n' ';')"
		elif [ "$summary" != "uart: 15 checks, 0 bad" ]; then
			fail uart_registers "want 'uart: 15 checks, 0 bad', got '$summary'"
		else
			pass uart_registers
		fi
	fi
	input="serial-input-$$-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789abcdefghijklmnopqrstuvwxyz"
	# Through a pipe that holds the whole line before vmm starts.
	printf '%s\n' "$input" | native_timeout "$T" "$VMM" -k "$G/echo.elf" >"$W/out" 2>"$W/err"
	rc=$?
	if expect_rc serial_input 0; then
		if grep -qx "echo: $input" "$W/out"; then
			pass serial_input
		else
			fail serial_input "want 'echo: $input', guest got '$(grep '^echo: ' "$W/out" | tail -1)'"
		fi
	fi
fi

# --- a halted guest ends on SIGTERM / SIGINT with exit 0 --------------------
# halt_signal CASE SIG
halt_signal() {
	: >"$W/out"
	"$VMM" -k "$G/halt.elf" </dev/null >"$W/out" 2>"$W/err" &
	pid=$!
	native_wait_line "$W/out" '^halt: halting' "$pid" "$T"
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		fail "$1" "vmm exited ($?) before the signal"
		return
	fi
	if ! grep -q '^halt: halting' "$W/out"; then
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		fail "$1" "guest never reached its halt"
		return
	fi
	kill "-$2" "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		fail "$1" "vmm still running 20s after SIG$2"
		return
	fi
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] && pass "$1" || fail "$1" "vmm exited $rc after SIG$2, want 0"
}
halt_signal halt_sigterm TERM
halt_signal halt_sigint INT

# --- -c 2: the second vCPU waits for a SIPI that never comes; the reset from
# vCPU 0 must still end the whole VM ----------------------------------------
# (-c is vmm-only: the probe suite ends here.)
[ "$BASIC" = 1 ] && exit 0
run -k "$G/hello.elf" -c 2
if expect_rc hello_2vcpus 0; then
	if grep -qx 'hello from appvm test guest' "$W/out"; then
		pass hello_2vcpus
	else
		fail hello_2vcpus "greeting missing with -c 2"
	fi
fi

# --- -c N: the MP table lists N enabled CPUs with this one as BSP, and every
# AP starts through INIT-SIPI-SIPI into the guest's trampoline ---------------
for n in 1 2 4 16; do
	run -k "$G/smp.elf" -c "$n"
	expect_rc "smp_$n" 0 || continue
	bits=$(printf '%064x' $(((1 << n) - 2)))
	if ! grep -qx "smp: mptable cpus=$n bsp=0" "$W/out"; then
		fail "smp_$n" "want 'smp: mptable cpus=$n bsp=0', guest said '$(grep '^smp: ' "$W/out" | head -1)'"
	elif ! grep -qx "smp: aps started=$((n - 1)) of $((n - 1)) apic-ids=$bits" "$W/out"; then
		fail "smp_$n" "want all $((n - 1)) APs up with APIC IDs 1..$((n - 1)), guest said '$(grep '^smp: aps' "$W/out")'"
	else
		pass "smp_$n"
	fi
done
exit 0
