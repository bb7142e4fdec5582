# Every device policy rule is needed (docs/SANDBOX.md, Firecracker's way of
# testing filters both ways): for each "syscall: ..." line of
# common_device.policy, virtio_blk, virtio_rng and virtio_vsock, vmm runs
# with --seccomp-policy-dir pointing at the policies minus that one line,
# and the device workloads that need it must fail -- the evidence printed
# is vmm's "died: seccomp violation: SYSCALL" line. The workloads: a guest
# that writes, syncs, writes one untouched block raw, reads and discards on
# virtio-blk and reads
# /dev/hwrng (e2e.blk=rules), and 1 MiB each way over virtio-vsock on a
# host-initiated and a guest-initiated connection plus a refused one, with
# debug logging (the device process logs the refusal). With
# the full policies both must succeed first. A workload fails when vmm
# fails or logs any device process's death (exit_group is only needed to
# leave cleanly at shutdown). Any rule whose removal breaks nothing fails
# the scenario (delete it from the policy) unless it is on the KEPT list
# below: calls on paths these workloads cannot reach, each with its reason
# (first run, 2026-12-02: exactly these were not reached).
#
# Sourced by the scenarios policy_rules_a and policy_rules_b after they set
# SHARD (0 or 1): each checks the full policies and every second rule (rule
# number N with N % 2 = SHARD), so that an L1 machine that wedges in one
# (tests/e2e/run retries the scenario on a fresh L1) costs half the run.
. "$E2E_LIB/scenario.sh"
P=$ASSETS/policy
S=$BIN/e2e/vsock_stream
N=1048576
vmm= sink=
trap 'kill $vmm $sink 2>/dev/null' EXIT

# blk_rng DIR: 0 when the blk+rng workload works under DIR's policies.
blk_rng() {
	cp "$ASSETS/blk/data.img" "$WORK/data.img"
	vmm_run br -k "$KERNEL_VMLINUX" -r "$ASSETS/blk/root.sqfs" -d "$WORK/data.img" \
		--seccomp-policy-dir "$1" -p "$GUEST_PARAMS e2e.blk=rules e2e.word=rules" >/dev/null
	[ "$RC" = 0 ] && [ "$(guest_value br rules)" = ok ] && ! grep -q 'died: ' "$WORK/br.err"
}

# vsock DIR: 0 when the vsock workload works under DIR's policies.
vsock() {
	_v=$WORK/v.sock
	rm -f "$_v" "${_v}_6000"
	"$S" hsink "${_v}_6000" "$N" >"$WORK/sink.out" 2>&1 &
	sink=$!
	"$VMM" -v -v -k "$KERNEL_BZIMAGE" -i "$ASSETS/vsock/initramfs.cpio.gz" -m 512 --vsock "$_v" \
		--seccomp-policy-dir "$1" -p "$GUEST_PARAMS vsock_e2e.refuse=6001 vsock_e2e.send=6000:$N" \
		</dev/null >"$WORK/vs.console" 2>"$WORK/vs.err" &
	vmm=$!
	_ok=1
	# The guest is up, or vmm already died (a device process killed).
	_i=0
	while ! grep -q '^E2E-GUEST: init=ready' "$WORK/vs.console" 2>/dev/null; do
		kill -0 "$vmm" 2>/dev/null && [ $_i -lt 600 ] || { _ok=0; break; }
		sleep 0.2
		_i=$((_i + 1))
	done
	[ $_ok = 1 ] && { e2e-timeout 60 "$S" hsend "$_v" 5000 "$N" >/dev/null 2>&1 || _ok=0; }
	[ $_ok = 1 ] && { e2e-timeout 60 "$S" hrecv "$_v" 5000 "$N" >/dev/null 2>&1 || _ok=0; }
	_i=0
	while [ $_ok = 1 ] && kill -0 "$sink" 2>/dev/null && [ $_i -lt 60 ]; do sleep 1; _i=$((_i + 1)); done
	kill "$sink" 2>/dev/null
	wait "$sink" 2>/dev/null || _ok=0
	sink=
	[ $_ok = 1 ] && { grep -q '^E2E-GUEST: gconnect=refused' "$WORK/vs.console" || _ok=0; }
	[ $_ok = 1 ] && { e2e-timeout 30 "$S" hquit "$_v" 5000 >/dev/null 2>&1 || _ok=0; }
	_i=0
	while kill -0 "$vmm" 2>/dev/null && [ $_i -lt 30 ]; do sleep 1; _i=$((_i + 1)); done
	kill "$vmm" 2>/dev/null
	wait "$vmm"
	RC=$?
	vmm=
	[ $_ok = 1 ] && [ "$RC" = 0 ] && ! grep -q 'died: ' "$WORK/vs.err"
}

# Rules the workloads do not reach, kept on purpose. Every allocation a
# device makes at run time is malloc's (mmap/munmap/mremap/brk/madvise/
# mprotect): vsock's 256 KiB output ring of a connection the host reads
# slower than the guest writes; these workloads allocate nothing after the
# fork. readv: vsock reads a host socket into a guest buffer of several
# segments (Linux posts one-page rx buffers). fcntl: vsock makes a stream
# the control socket hands over (vmm exec/vsh) non-blocking.
KEPT="common_device:mmap common_device:munmap common_device:mremap common_device:brk common_device:madvise
common_device:mprotect virtio_vsock:readv virtio_vsock:fcntl"

# evidence: vmm's line naming the device process's death, from the last run.
evidence() {
	grep -h 'died: ' "$WORK"/br.err "$WORK"/vs.err 2>/dev/null | head -n 1
}

blk_rng "$P/full" || fail "the blk+rng workload fails with the full policies (rules=$(guest_value br rules), exit $RC)"
vsock "$P/full" || fail "the vsock workload fails with the full policies (exit $RC)"
echo "full policies: both workloads pass"
unneeded=
while read -r n policy name; do
	[ $((n % 2)) = "$SHARD" ] || continue
	rm -f "$WORK"/br.err "$WORK"/vs.err
	case $policy in
	virtio_blk|virtio_rng) blk_rng "$P/$n" && ok=1 || ok=0 ;;
	virtio_vsock) vsock "$P/$n" && ok=1 || ok=0 ;;
	*) if blk_rng "$P/$n"; then vsock "$P/$n" && ok=1 || ok=0; else ok=0; fi ;;
	esac
	if [ $ok = 1 ]; then
		case " $(echo $KEPT) " in
		*" $policy:$name "*) echo "RULE $policy $name: kept, not reached by these workloads (see KEPT)" ;;
		*) echo "RULE $policy $name: NOT NEEDED (both workloads pass without it)"
		   unneeded="$unneeded $policy:$name" ;;
		esac
	else
		echo "RULE $policy $name: needed: $(evidence || true)"
	fi
done <"$P/rules"
[ -z "$unneeded" ] || fail "rules no workload needs:$unneeded"
exit 0
