# The image shrinks under a running VM (another host process truncates it):
# virtio-blk serves a page's repeated requests from its mapping of the image
# (docs/VIRTIO.md, Host I/O), where the lost pages raise SIGBUS. The jailed
# device process, whose policy has no signal syscalls, must answer IOERR for
# those requests (vmm/mapio.c) and go on serving the rest: the guest sees
# EIO for block 16, block 0 still reads, vmm exits 0, no device died.
# arch: x86_64
# timeout: 300
. "$E2E_LIB/scenario.sh"
head -c 1048576 /dev/urandom >"$WORK/extra.img"
vmm=
trap 'kill $vmm 2>/dev/null' EXIT
# shellcheck disable=SC2086 # VMM_ON is empty or a command with its arguments
$VMM_ON "$VMM" -k "$KERNEL_VMLINUX" -r "$ASSETS/blk/root.sqfs" -d "$WORK/extra.img,ro" \
	-p "$GUEST_PARAMS e2e.blk=shrink" </dev/null >"$WORK/s.console" 2>"$WORK/s.err" &
vmm=$!
i=0
until grep -q '^E2E-GUEST: shrink=' "$WORK/s.console" 2>/dev/null; do
	kill -0 "$vmm" 2>/dev/null && [ $i -lt 900 ] || fail "the guest never got to read vdb twice"
	sleep 0.2
	i=$((i + 1))
done
[ "$(guest_value s shrink)" = ready ] || fail "the guest could not read vdb: shrink=$(guest_value s shrink)"
truncate -s 4096 "$WORK/extra.img"
wait "$vmm"
RC=$?
vmm=
expect_line s '^E2E-GUEST: init=done'
expect_rc s 0
[ "$(guest_value s shrink_tail)" = eio ] ||
	fail "block 16 of the shrunk image: shrink_tail=$(guest_value s shrink_tail), want eio"
[ "$(guest_value s shrink_head)" = ok ] ||
	fail "block 0 after the shrink: shrink_head=$(guest_value s shrink_head), want ok"
grep -q 'SIGBUS from the mapped image' "$WORK/s.err" || fail "vmm did not log the SIGBUS it turned into IOERR"
! grep -q 'died: ' "$WORK/s.err" || fail "a device process died: $(grep 'died: ' "$WORK/s.err")"
echo "shrunk under the VM: $(grep -c 'SIGBUS from the mapped image' "$WORK/s.err") IOERR line(s), guest: tail eio, head ok"
