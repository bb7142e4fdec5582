# The PL031 RTC (vmm/devices/pl031.c, docs/ARM64.md) on arm64: Linux's amba
# bus probes it from the device tree (PrimeCell ids, the apb_pclk clock),
# rtc-pl031 registers rtc0, and the kernel sets the guest's clock from it at
# boot (RTC_HCTOSYS). Checked against L1's clock (the host vmm runs on):
# rtc0 and the guest's `date` at /init lie within the wall-clock interval
# the vmm run took (give or take 2 s). Then the guest sets the RTC to
# 2100-01-01 (`date -s` + `hwclock -w`: the driver's load register) and
# reads it back from the counter.
# arch: aarch64
# timeout: 300
. "$E2E_LIB/scenario.sh"
set_to=4102444800  # 2100-01-01T00:00:00Z, inside the 32-bit counter
t0=$(date +%s)
vmm_run g -k "$KERNEL_BZIMAGE" -i "$ASSETS/boot/initramfs.cpio.gz" -p "$GUEST_PARAMS e2e.rtcset=$set_to"
t1=$(date +%s)
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
expect_line g 'rtc-pl031 9010000\.pl031: registered as rtc0'
expect_line g 'rtc-pl031 9010000\.pl031: setting system clock to '
case $(guest_value g rtc_name) in
rtc-pl031*) ;;
*) fail "guest rtc0 is '$(guest_value g rtc_name)', want rtc-pl031" ;;
esac
[ "$(guest_value g rtc_hctosys)" = 1 ] || fail "rtc0 did not set the system clock at boot (hctosys '$(guest_value g rtc_hctosys)')"
for k in rtc_epoch date_epoch; do
	v=$(guest_value g $k)
	case $v in '' | *[!0-9]*) fail "guest $k '$v' is not a number" ;; esac
	[ "$v" -ge $((t0 - 2)) ] && [ "$v" -le $((t1 + 2)) ] ||
		fail "guest $k $v is outside L1's clock during the run [$t0, $t1]"
	echo "guest $k $v, L1 clock $t0..$t1"
done
v=$(guest_value g rtc_after_set)
case $v in '' | *[!0-9]*) fail "rtc0 after hwclock -w: '$v' ($(guest_value g error))" ;; esac
[ "$v" -ge $set_to ] && [ "$v" -le $((set_to + 5)) ] || fail "rtc0 read $v after being set to $set_to"
echo "rtc0 set to $set_to, read back $v"
