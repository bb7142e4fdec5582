# The Debian cloud kernel, whose virtio_mmio module has no command-line
# devices, finds vmm's virtio-blk and virtio-rng windows through the ACPI
# DSDT, brings up both vCPUs from the MADT, and its reboot (ACPI reset
# register -> i8042) ends the VM with status 0.
# timeout: 480
. "$E2E_LIB/scenario.sh"
A=$ASSETS/acpi_cloud
cp "$A/disk.img" "$WORK/disk.img"
vmm_run g -k "$CLOUD_BZIMAGE" -i "$A/initramfs.cpio.gz" -c 2 -d "$WORK/disk.img" -p "$GUEST_PARAMS"
expect_line g '^E2E-GUEST: init=done'
expect_rc g 0
err=$(sed -n 's/^E2E-GUEST: error=//p' "$WORK/g.console" | head -n 3 | tr -d '\r')
[ -z "$err" ] || fail "guest: $err"
case $(guest_value g acpi) in *DSDT*FACP*|*FACP*DSDT*) ;; *) fail "guest sees ACPI tables '$(guest_value g acpi)'" ;; esac
[ "$(guest_value g cpus)" = 2 ] || fail "guest sees $(guest_value g cpus) CPUs, want 2"
[ "$(guest_value g lnro)" = 3 ] || fail "guest has $(guest_value g lnro) LNRO0005 platform devices, want 3 (blk, rng, vsock)"
[ "$(guest_value g sector0)" = appvm-acpi-disk ] || fail "sector 0 reads '$(guest_value g sector0)'"
case $(guest_value g hwrng) in virtio_rng*) ;; *) fail "hwrng is '$(guest_value g hwrng)'" ;; esac
