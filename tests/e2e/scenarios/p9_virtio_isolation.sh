# Two VMs at once, each with its own directory under the same tag: each
# guest sees its own files and never the other's (one p9 server per device,
# each beneath its own directory fd). Checked in the guests' listings and
# on the host.
# timeout: 240
. "$E2E_LIB/scenario.sh"
mkdir -p "$WORK/a" "$WORK/b"
vms_side_by_side
echo a >"$WORK/a/only_a"
echo b >"$WORK/b/only_b"
M="init.mount=data:/mnt/data:9p:trans=virtio,version=9p2000.L,cache=none init.app=/bin/p9app"
vmm_run a -k "$KERNEL_BZIMAGE" -r "$ASSETS/p9v/root.sqfs" --share "$WORK/a:data" -p "$GUEST_PARAMS $M init.args=\"marker wa\"" &
pa=$!
vmm_run b -k "$KERNEL_BZIMAGE" -r "$ASSETS/p9v/root.sqfs" --share "$WORK/b:data" -p "$GUEST_PARAMS $M init.args=\"marker wb\"" &
pb=$!
wait $pa; wait $pb
expect_line a '^E2E-GUEST: app=done'
expect_line b '^E2E-GUEST: app=done'
[ "$(guest_value a listing)" = "only_a,wa," ] || fail "VM a lists '$(guest_value a listing)', want only_a,wa,"
[ "$(guest_value b listing)" = "only_b,wb," ] || fail "VM b lists '$(guest_value b listing)', want only_b,wb,"
[ "$(ls "$WORK/a" | tr '\n' ' ')" = "only_a wa " ] || fail "host a/: $(ls "$WORK/a" | tr '\n' ' ')"
[ "$(ls "$WORK/b" | tr '\n' ' ')" = "only_b wb " ] || fail "host b/: $(ls "$WORK/b" | tr '\n' ' ')"
echo "each VM saw only its own share"
