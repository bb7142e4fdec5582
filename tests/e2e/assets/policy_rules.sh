# Host-side asset for the policy_rules scenario: every rule of the device
# policies, removed one at a time.
#   $ASSETS/policy/full/       every policy as built (vmm_main and vmm_vcpu
#                              too: --seccomp-policy-dir replaces them all)
#   $ASSETS/policy/rules       one line per rule: "N POLICY SYSCALL"
#   $ASSETS/policy/N/          full/ with that one rule's line deleted
# Rules are the "syscall: ..." lines of common_device, virtio_blk,
# virtio_rng and virtio_vsock (one line each: no continuations there).
set -eu
src=$SRC/vmm/devices/policy/x86_64
out=$ASSETS/policy
mkdir -p "$out/full"
cp "$src"/*.policy "$out/full/"
: >"$out/rules"
n=0
for f in common_device virtio_blk virtio_rng virtio_vsock; do
	grep -n '^[a-z_0-9]*:' "$src/$f.policy" >"$out/lines.tmp"
	while IFS=: read -r line name _; do
		n=$((n + 1))
		mkdir -p "$out/$n"
		cp "$out"/full/*.policy "$out/$n/"
		sed -i "${line}d" "$out/$n/$f.policy"
		echo "$n $f $name" >>"$out/rules"
	done <"$out/lines.tmp"
done
rm -f "$out/lines.tmp"
