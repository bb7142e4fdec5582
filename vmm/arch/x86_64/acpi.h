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

#define ACPI_MAX_DEVS 32

struct acpi_mmio_dev {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

/* Build the tables at gpa (16-byte aligned, inside [0xe0000, 0x100000) so
 * Linux's RSDP scan finds them). Returns the bytes used, or -ENOMEM (not
 * RAM or does not fit in max bytes), -EINVAL (bad arguments). */
int acpi_write(const struct gm *gm, uint64_t gpa, size_t max, unsigned ncpus,
	       const struct acpi_mmio_dev *devs, unsigned ndevs);

/* AML for the DSDT body (\_SB scope with one device per window), for tests.
 * Returns the length or -ENOSPC. */
int acpi_dsdt_aml(uint8_t *out, size_t cap, const struct acpi_mmio_dev *devs, unsigned ndevs);
#endif
