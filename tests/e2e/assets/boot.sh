# Host-side asset for the boot_*, smp2, mem3584, cloud_kernel, exit_status
# and rtc_arm64 scenarios: $ASSETS/boot/initramfs.cpio.gz, a busybox guest
# whose /init reports what the guest sees as "E2E-GUEST: KEY=VALUE" lines,
# optionally sets the RTC to the time given as e2e.rtcset=EPOCH (`hwclock
# -w`) and reports what it reads back, optionally writes the status given as
# e2e.exit=N on the command line to the exit port vmm announced
# (appvm.exit_port=), and resets the VM with reboot -f.
# arch: x86_64 aarch64
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
root=$ASSETS/boot/root
guestfs_busybox "$root"
cat >"$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "E2E-GUEST: init=started"
echo "E2E-GUEST: cpus=$(grep -c '^processor' /proc/cpuinfo)"
echo "E2E-GUEST: online=$(cat /sys/devices/system/cpu/online)"
echo "E2E-GUEST: memtotal_kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
echo "E2E-GUEST: kernel=$(uname -r)"
# The timer the kernel chose: lapic-deadline when the vCPU has the
# TSC-deadline timer and kvmclock (no PIT needed; README "Timers").
echo "E2E-GUEST: clockevent=$(cat /sys/devices/system/clockevents/clockevent0/current_device 2>/dev/null)"
# The RTC (x86: the CMOS RTC; arm64: the PL031) and the system clock the
# kernel set from it at boot (RTC_HCTOSYS), in seconds since the epoch.
echo "E2E-GUEST: rtc_name=$(cat /sys/class/rtc/rtc0/name 2>/dev/null)"
echo "E2E-GUEST: rtc_hctosys=$(cat /sys/class/rtc/rtc0/hctosys 2>/dev/null)"
echo "E2E-GUEST: rtc_epoch=$(cat /sys/class/rtc/rtc0/since_epoch 2>/dev/null)"
echo "E2E-GUEST: date_epoch=$(date +%s)"
grep 'System RAM' /proc/iomem | sed 's/^ */E2E-GUEST: ram=/; s/ : System RAM//'
want= port= rtcset=
for a in $(cat /proc/cmdline); do
	case $a in
	e2e.rtcset=*) rtcset=${a#e2e.rtcset=} ;;
	e2e.exit=*) want=${a#e2e.exit=} ;;
	appvm.exit_port=*) port=${a#appvm.exit_port=} ;;
	esac
done
if [ -n "$rtcset" ]; then
	# Through the driver's set_time (the PL031's load register), then read
	# back by the device's counter. /dev/rtc0 needs devtmpfs (an initramfs
	# gets no automatic devtmpfs mount).
	mount -t devtmpfs dev /dev 2>/dev/null
	if date -u -s "@$rtcset" >/dev/null && hwclock -w -u -f /dev/rtc0; then
		echo "E2E-GUEST: rtc_after_set=$(cat /sys/class/rtc/rtc0/since_epoch 2>/dev/null)"
	else
		echo "E2E-GUEST: error=date -s / hwclock -w failed"
	fi
fi
if [ -n "$want" ]; then
	if [ -z "$port" ]; then
		echo "E2E-GUEST: error=no appvm.exit_port= on the kernel command line: $(cat /proc/cmdline)"
	else
		echo "E2E-GUEST: exit=$want port=$port"
		if portw "$port" "$want"; then
			echo "E2E-GUEST: error=still running after writing the exit port"
		else
			echo "E2E-GUEST: error=portw could not write the exit port"
		fi
	fi
fi
echo "E2E-GUEST: init=done"
reboot -f
INIT
chmod 755 "$root/init"
"$SRC/scripts/mkinitramfs.sh" "$root" "$ASSETS/boot/initramfs.cpio.gz"
rm -rf "$root"
