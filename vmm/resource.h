/* What a device occupies, as the firmware tables must describe it: devices
 * publish these records (struct dev_env publish) where they claim the
 * resource, and the architecture renders them (x86: ACPI DSDT devices,
 * MADT interrupt source overrides and the FADT reset register; arm64: FDT
 * nodes). So no port, window or IRQ number is written twice. */
#ifndef VMM_RESOURCE_H
#define VMM_RESOURCE_H
#include <stdint.h>

#define RES_MAX 48
#define RES_MAX_PORTS 2

enum res_kind {
	RES_ISA,           /* legacy device on ports with an ISA IRQ (a PnP device) */
	RES_VIRTIO_MMIO,   /* a virtio-mmio window and its GSI */
	RES_PRIMECELL,     /* an ARM PrimeCell (AMBA) device: MMIO window, level GSI, compatible */
};

/* EISA-compressed id of "PNPxxxx" as stored in memory (ACPI 6.4 §19.3.4
 * EISAID: bytes 41 d0 hh ll for PNPhhll). */
#define RES_PNP(hi, lo) (0x0000d041U | ((uint32_t)(hi) << 16) | ((uint32_t)(lo) << 24))

struct dev_resource {
	enum res_kind kind;
	char name[5];                     /* RES_ISA: 4-character ACPI name ("COM1") */
	uint32_t pnp;                     /* RES_ISA: RES_PNP id of its _HID */
	unsigned nports;
	uint16_t port[RES_MAX_PORTS];
	uint8_t port_len[RES_MAX_PORTS];
	uint64_t base, size;              /* RES_VIRTIO_MMIO, RES_PRIMECELL */
	char compat[16];                  /* RES_PRIMECELL: its own compatible ("arm,pl031") */
	int irq;                          /* ISA IRQ or GSI; -1: none */
	/* A port whose write of reset_value resets the machine (the FADT's
	 * RESET_REG), or -1. */
	int reset_port;
	uint8_t reset_value;
};
#endif
