/* ACPI tables for kernels that find devices through ACPI only: distro
 * kernels (Debian's cloud kernel) build virtio_mmio without
 * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, so virtio_mmio.device= does not reach
 * them; a DSDT naming each window as an "LNRO0005" device does
 * (drivers/virtio/virtio_mmio.c's ACPI match table).
 *
 * Hardware-reduced ACPI (ACPI 6.4 §4.1): no PM1/GPE blocks to emulate, no
 * SCI. RSDP -> XSDT -> FADT (-> DSDT) and MADT (LAPICs + IOAPIC). Kernels
 * without ACPI (the appliance kernel) ignore all of it and use the MP table. */
#ifndef VMM_X86_ACPI_H
#define VMM_X86_ACPI_H
#include <stddef.h>
#include <stdint.h>

#include "vmm/gm.h"
#include "vmm/resource.h"

/* Build the tables at gpa (16-byte aligned, inside [0xe0000, 0x100000) so
 * Linux's RSDP scan finds them) from the devices' resource records: a DSDT
 * device per PnP ISA device and per virtio-mmio window, an interrupt source
 * override per ISA IRQ, the reset register from the record that has one.
 * Returns the bytes used, or -ENOMEM (not RAM or does not fit in max
 * bytes), -EINVAL (bad arguments). */
int acpi_write(const struct gm *gm, uint64_t gpa, size_t max, unsigned ncpus,
	       const struct dev_resource *res, unsigned nres);

/* AML for the DSDT body (\_SB scope with one device per record), for
 * tests. Returns the length or -ENOSPC. */
int acpi_dsdt_aml(uint8_t *out, size_t cap, const struct dev_resource *res, unsigned nres);
#endif
