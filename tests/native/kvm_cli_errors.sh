#!/bin/sh
# Native tests of vmm's handling of bad kernels and bad command lines with
# real files: each must end with exactly one error line on stderr that names
# the input at fault, exit code 2 (the user's input is wrong: docs/DEVELOPING.md
# exit codes), no guest output, and no hang.
# Runs on every host, /dev/kvm or not: vmm validates its whole command line
# and loads the kernel and initrd before it opens /dev/kvm, so each of these
# inputs is rejected with the same line everywhere (a vmm that opened
# /dev/kvm first would fail here with an error about /dev/kvm instead).
#
#   tests/native/kvm_cli_errors.sh      (O=build, VMM=$O/vmm by default)
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
VMM=${VMM:-$O/vmm}
G=$O/guests
S=kvm_cli_errors
T=60

if [ ! -x "$VMM" ]; then
	echo "FAIL $S/build_guests: $VMM is not built (run make)"
	exit 1
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM
if ! make -s -f tests/guests/build.mk O="$O" test-guests >"$W/build.log" 2>&1; then
	cat "$W/build.log"
	echo "FAIL $S/build_guests: the test guests did not build"
	exit 1
fi

# check CASE NEEDLE WANT_RCS ARGS...: run vmm, expect exit in WANT_RCS (a
# space-separated list), exactly one stderr line containing NEEDLE.
check() {
	c=$1 needle=$2 want=$3
	shift 3
	timeout --foreground -k 5 "$T" "$VMM" "$@" </dev/null >"$W/out" 2>"$W/err"
	rc=$?
	lines=$(grep -c '' "$W/err")
	first=$(head -1 "$W/err")
	case " $want " in
	*" $rc "*) ;;
	*)
		echo "FAIL $S/$c: exit code $rc, want one of: $want (stderr: '$first')"
		return ;;
	esac
	if [ "$lines" -ne 1 ]; then
		echo "FAIL $S/$c: want exactly one error line on stderr, got $lines:"
		sed 's/^/    err> /' "$W/err" | head -10
	elif ! grep -qF -- "$needle" "$W/err"; then
		echo "FAIL $S/$c: error line does not name '$needle': '$first'"
	elif [ -s "$W/out" ]; then
		echo "FAIL $S/$c: unexpected output on stdout: '$(head -c 200 "$W/out")'"
	else
		echo "PASS $S/$c"
	fi
}

check missing_kernel "$W/no-such-kernel" "2" -k "$W/no-such-kernel"
mkdir "$W/kdir"
check kernel_is_directory "$W/kdir" "2" -k "$W/kdir"
: >"$W/empty"
check empty_kernel "$W/empty" "2" -k "$W/empty"
# Text: neither an ELF vmlinux nor a bzImage. Long enough to cover a setup
# header's offsets, so the loader must look at magic numbers, not just size.
i=0
while [ $i -lt 200 ]; do echo "this is not a kernel, just text line $i"; i=$((i + 1)); done >"$W/text"
check not_a_kernel "$W/text" "2" -k "$W/text"
# An ELF cut inside its header.
head -c 40 "$G/hello.elf" >"$W/trunc-hdr.elf"
check truncated_elf_header "$W/trunc-hdr.elf" "2" -k "$W/trunc-hdr.elf"
# An ELF whose headers are intact but whose PT_LOAD data is cut short.
off=$(readelf -lW "$G/hello.elf" | awk '$1 == "LOAD" { print $2; exit }')
[ -n "$off" ] && off=$(printf '%d' "$off")
if [ -z "$off" ] || [ "$off" -le 64 ]; then
	echo "FAIL $S/truncated_elf_segment: cannot find the PT_LOAD offset of $G/hello.elf"
else
	head -c $((off + 16)) "$G/hello.elf" >"$W/trunc-seg.elf"
	check truncated_elf_segment "$W/trunc-seg.elf" "2" -k "$W/trunc-seg.elf"
fi
# hello-high.elf loads at 256 MiB: it cannot fit in 64 MiB of RAM.
check mem_too_small "$G/hello-high.elf" "2" -k "$G/hello-high.elf" -m 64
check missing_initrd "$W/no-such-initrd" "2" -k "$G/hello.elf" -i "$W/no-such-initrd"
# Usage errors: exit 2 and the line names the bad value or option.
check bad_mem_value "lots" "2" -k "$G/hello.elf" -m lots
check mem_below_minimum "-m" "2" -k "$G/hello.elf" -m 1
check bad_vcpus "-c '0'" "2" -k "$G/hello.elf" -c 0
check unknown_option "no-such-option" "2" -k "$G/hello.elf" --no-such-option
check no_kernel "-k" "2" -m 64
exit 0
