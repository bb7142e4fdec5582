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
root=$assets/demo/root
guestfs_busybox "$root" || exit 1
# The appliance: a read-only squashfs whose /sbin/init is our guest-init,
# configured from the kernel command line; /bin/demo is its application.
mkdir -p "$root/sbin" "$root/etc/init/services" "$root/proc" "$root/sys" "$root/dev" \
	"$root/run" "$root/tmp"
cp "$O/guest/init" "$root/sbin/init" || exit 1
cat >"$root/etc/init/services/10-heartbeat.conf" <<'EOF'
# A service init starts before the application (services go in name order).
exec=/bin/sh
args=-c 'echo "heartbeat service: pid $$, started by init"'
EOF
cat >"$root/bin/demo" <<'EOF'
#!/bin/sh
echo
echo "================ appvm demo appliance ================"
echo "kernel    $(uname -s) $(uname -r) $(uname -m), $(uname -v)"
echo "init      PID 1 is $(tr '\0' ' ' </proc/1/cmdline); this app is pid $$ on host $(hostname)"
echo "root      $(awk '$2 == "/" { print $1, $3, $4 }' /proc/mounts | tail -n 1)"
echo "cpus      $(grep -c '^processor' /proc/cpuinfo) online: $(cat /sys/devices/system/cpu/online)"
echo "memory    $(awk '/^MemTotal/ { printf "%d MiB total", $2 / 1024 } /^MemFree/ { printf ", %d MiB free", $2 / 1024 }' /proc/meminfo)"
echo "clock     $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource), RTC says $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
devs=
for d in /sys/bus/virtio/devices/*; do
	[ -e "$d/device" ] || continue
	case $(cat "$d/device") in
	0x0001) n=net ;; 0x0002) n=block ;; 0x0003) n=console ;; 0x0004) n=rng ;;
	0x0005) n=balloon ;; 0x0009) n=9p ;; 0x0013) n=vsock ;; *) n="id $(cat "$d/device")" ;;
	esac
	devs="$devs${devs:+, }$n"
done
echo "virtio    ${devs:-none} (virtio-mmio)"
echo "entropy   $(head -c 8 /dev/hwrng 2>/dev/null | od -An -tx1 | tr -d ' \n') from /dev/hwrng"
echo "write /   $(touch /probe 2>&1 | sed 's/^touch: //')"
echo "cmdline   $(cat /proc/cmdline)"
echo "uptime    $(cut -d' ' -f1 /proc/uptime) s since the guest kernel started"
echo "======================================================"
echo "demo: the app exits 0; init powers off and vmm exits with the app's status"
EOF
chmod 755 "$root/bin/demo"
mksquashfs "$root" "$assets/demo/root.sqfs" -comp xz -noappend -all-root -quiet >/dev/null || exit 1
rm -rf "$root"

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
