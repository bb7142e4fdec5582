# Bad --share input: vmm exits 2 before booting, with one stderr line that
# names the option value and what is wrong. No KVM needed past parsing, but
# the missing directory is found by the device's open() in the VMM.
# timeout: 60
. "$E2E_LIB/scenario.sh"
mkdir -p "$WORK/d"
: >"$WORK/file"
t() {
	name=$1 want=$2; shift 2
	vmm_run "$name" -k "$KERNEL_BZIMAGE" "$@"
	expect_rc "$name" 2
	[ "$(wc -l <"$WORK/$name.err")" = 1 ] || fail "$name: stderr is not one line: $(cat "$WORK/$name.err")"
	grep -q -- "$want" "$WORK/$name.err" || fail "$name: stderr '$(cat "$WORK/$name.err")' lacks '$want'"
}
t notag "--share '$WORK/d': expected HOSTDIR:TAG" --share "$WORK/d"
t badtag "bad tag 'a/b'" --share "$WORK/d:a/b"
t dup "tag 'x' already used" --share "$WORK/d:x" --share "$WORK/d:x"
t flag "unknown flag 'rw'" --share "$WORK/d:x,rw"
t missing "--share $WORK/nope:x: No such file or directory" --share "$WORK/nope:x"
t notdir "--share $WORK/file:x: not a directory" --share "$WORK/file:x"
echo "bad --share values: exit 2, one line each"
