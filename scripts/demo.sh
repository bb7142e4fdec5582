#!/bin/sh
# `make demo`: boot a small appliance VM under our vmm and show its console.
#
# The guest is the appliance: `vmm -k vmlinux -r root.sqfs`, the appliance
# kernel (toolchain/kernel) with a read-only squashfs root whose /sbin/init is
# our guest-init. init mounts the system, starts a service, then runs the
# application /bin/demo (init.app=), which reports what it sees (kernel, CPUs,
# memory, virtio devices, entropy, the read-only root); when it exits init
# powers off and vmm exits with its status. On a host with vmx/svm, vmm runs right here. On
# a host without them (this project's PVM machines, see docs/E2E.md) it runs
# inside the nested L1 machine -- QEMU TCG with emulated SVM -- and the
# guest's console is streamed through L1's serial console to this terminal.
#
#   scripts/demo.sh            (O=build by default; make demo builds first)
# Exit status: vmm's, i.e. the demo application's (0).
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O=$SRC/$O ;; esac
. "$SRC/tests/e2e/lib/l1.sh"

[ -x "$O/vmm" ] || e2e_die "$O/vmm not built: run make first"
e2e_find_cloud
e2e_tools
e2e_kernel
e2e_rundir demo

assets=$E2E_RUN/assets
mkdir -p "$assets/demo"
E2E_TOOLS=$O/e2e
. "$SRC/tests/e2e/lib/guestfs.sh"
guestfs_demo "$assets/demo/root.sqfs" || exit 1

run_demo='"$VMM" -k "$KERNEL_VMLINUX" -r "$ASSETS/demo/root.sqfs" -c 2 -m 512 -p "init.app=/bin/demo init.hostname=demo"'

if e2e_have_hwvirt; then
	echo "demo: vmx/svm present: running vmm directly" >&2
	VMM=$O/vmm KERNEL_VMLINUX=$O/kernel/vmlinux ASSETS=$assets
	eval "$run_demo"
	exit
fi

img=$E2E_RUN/l1
l1_image "$img" || exit 1
cp -r "$assets" "$img/e2e/assets"
cat >"$img/e2e/main.sh" <<EOF
echo "demo: nested L1 machine is up; starting: vmm -k vmlinux -r root.sqfs -c 2 -m 512 -p init.app=/bin/demo"
$run_demo </dev/null
rc=\$?
echo "demo: vmm exited with status \$rc"
exit \$rc
EOF
echo stream >"$img/e2e/mode"
nonce=$(cat "$img/e2e/nonce")
echo "demo: no vmx/svm on this host: booting vmm inside the nested L1 machine (QEMU TCG + emulated SVM); about 20 s" >&2
status=$E2E_RUN/status
# Stream L1's console, turning its marker lines into short notes; what L1
# prints after vmm has exited (its own power-off) is not the demo's.
l1_boot "$img" 900 </dev/null | while IFS= read -r line; do
	case "$line" in
	*"@E2E:$nonce: BOOTED "*) echo "demo: L1 reached its /init after ${line##* } s" ;;
	*"@E2E:$nonce: EXIT "*) echo "${line##* }" | tr -d '\r' >"$status" ;;
	*"@E2E:$nonce: "*) ;;
	*) [ -f "$status" ] || printf '%s\n' "$line" ;;
	esac
done
[ -f "$status" ] || { echo "demo: the nested machine ended before vmm finished" >&2; exit 1; }
exit "$(cat "$status")"
