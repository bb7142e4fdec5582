#!/bin/sh
# `make demo`: boot a small appliance VM under our vmm and show its console.
#
# The guest is the appliance kernel (toolchain/kernel) with a busybox
# initramfs whose /init reports what it sees (kernel, CPUs, memory, virtio
# devices, uptime) and resets the VM. On a host with vmx/svm, vmm runs right here. On
# a host without them (this project's PVM machines, see docs/E2E.md) it runs
# inside the nested L1 machine -- QEMU TCG with emulated SVM -- and the
# guest's console is streamed through L1's serial console to this terminal.
#
#   scripts/demo.sh            (O=build by default; make demo builds first)
# Exit status: vmm's (0 when the guest reset itself after its report).
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
cat >"$root/init" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo
echo "================ appvm demo appliance ================"
echo "kernel    $(uname -s) $(uname -r) $(uname -m), $(uname -v)"
echo "cpus      $(grep -c '^processor' /proc/cpuinfo) online: $(cat /sys/devices/system/cpu/online)"
echo "model     $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
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
echo "cmdline   $(cat /proc/cmdline)"
echo "uptime    $(cut -d' ' -f1 /proc/uptime) s since the guest kernel started"
echo "======================================================"
echo "demo: resetting the VM (reboot -f -> i8042 reset -> vmm exits 0)"
reboot -f
EOF
chmod 755 "$root/init"
"$SRC/scripts/mkinitramfs.sh" "$root" "$assets/demo/initramfs.cpio.gz" || exit 1
rm -rf "$root"

run_demo='"$VMM" -k "$KERNEL_BZIMAGE" -i "$ASSETS/demo/initramfs.cpio.gz" -c 2 -m 512 -p "console=ttyS0 reboot=k panic=-1"'

if e2e_have_hwvirt; then
	echo "demo: vmx/svm present: running vmm directly" >&2
	VMM=$O/vmm KERNEL_BZIMAGE=$O/kernel/bzImage ASSETS=$assets
	eval "$run_demo"
	exit
fi

img=$E2E_RUN/l1
l1_image "$img" || exit 1
cp -r "$assets" "$img/e2e/assets"
cat >"$img/e2e/main.sh" <<EOF
echo "demo: nested L1 machine is up; starting: vmm -k bzImage -i demo initramfs -c 2 -m 512"
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
